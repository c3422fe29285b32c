/*
 * flv.h: FLV files and streams in and out, and what a media payload holds.
 *
 * Pure functions over the caller's bytes: no allocation, no I/O, no state
 * kept between calls.  A reader that gets "need more" appends input and
 * calls again on the same unconsumed bytes.  Results that point into the
 * input (tag data) are views valid as long as that buffer is.
 *
 * Reading: flv_parse_header() once, then flv_parse_tag() in a loop.  Both
 * return the bytes consumed (> 0), 0 for "need more bytes" (never an
 * error: a stream cut anywhere just waits), or a negative RTMP_E* value:
 * RTMP_EPROTO for bytes that are not FLV (bad signature, reserved bits set
 * in a tag header, the stream lost sync), RTMP_ELIMIT for a tag larger
 * than the caller's max_size, decided from the 11-byte tag header alone so
 * a reader never buffers an oversized tag.  A tag's trailing PreviousTagSize
 * is consumed with it; when it disagrees, previous_size_ok is 0 and the
 * caller decides (warn and go on, as players do).  A tag of size 0 and tags
 * of unknown types parse normally: callers skip them.  An RTMP aggregate
 * message (type 22) is a run of such tags without the file header: parse
 * its payload the same way, and a 0 with bytes left over means a sub-tag
 * runs past the message's end; drop the rest.
 *
 * Writing: fixed-size headers into caller arrays; a tag on the wire is
 * tag header, body, then flv_write_previous_size(FLV_TAG_HEADER_SIZE + size).
 *
 * Inspection: flv_inspect_video() and flv_inspect_audio() read the tag
 * body, which is byte for byte an RTMP video or audio message payload:
 * legacy FLV headers (codec id / SoundFormat) and Enhanced RTMP v2
 * (ExVideoTagHeader / ExAudioTagHeader with FourCC, ModEx, Multitrack).
 * They return 0 or RTMP_EPROTO (truncated header, reserved packet type,
 * ModEx data running past the body) and never read past len.  For a
 * multitrack message the first track is described.  Sequence headers are
 * the configuration a late-joining player needs first: AVC/HEVC/AAC
 * packet type 0, enhanced SequenceStart and MPEG2TSSequenceStart, and
 * enhanced audio MultichannelConfig.  `keyframe` reflects the frame type
 * alone (1 key or 4 generated key); a sequence header usually has it set
 * too, and callers counting frames test sequence_header first.  An empty
 * audio message (the "silence" message) inspects as codec UNKNOWN with
 * header_size 0.
 *
 * Script data: flv_parse_metadata() reads "onMetaData", bare (an FLV file,
 * or RTMP from a server) or behind "@setDataFrame" (RTMP from a
 * publisher), and reports where "onMetaData" starts so a relay can strip
 * "@setDataFrame" before writing a file or sending to players.
 */
#ifndef RTMPKIT_FLV_H
#define RTMPKIT_FLV_H

#include <stddef.h>
#include <stdint.h>

#define FLV_HEADER_SIZE		9
#define FLV_TAG_HEADER_SIZE	11
#define FLV_PREVIOUS_SIZE	4
#define FLV_MAX_TAG_SIZE	0xffffff	/* 24-bit size field */
/* A header claiming a larger DataOffset is refused; real files say 9. */
#define FLV_MAX_DATA_OFFSET	1024

enum flv_tag_type {
	FLV_TAG_AUDIO = 8,
	FLV_TAG_VIDEO = 9,
	FLV_TAG_SCRIPT = 18,
};

struct flv_header {
	int		 has_audio, has_video;
	uint32_t	 data_offset;	/* 9 in every real file */
};

/*
 * Signature "FLV", version 1, flags, DataOffset, then PreviousTagSize0.
 * Returns data_offset + 4 (13 for real files), 0 need more, RTMP_EPROTO.
 */
int	flv_parse_header(const uint8_t *buf, size_t len, struct flv_header *h);

struct flv_tag {
	uint8_t		 type;		/* enum flv_tag_type, or unknown */
	uint8_t		 filter;	/* 1: body encrypted (FLV 10.1) */
	uint32_t	 timestamp;	/* ms: 24 bits + extended upper byte */
	uint32_t	 stream_id;	/* always 0 in practice */
	const uint8_t	*data;		/* view into buf */
	uint32_t	 size;
	uint32_t	 previous_size;	/* the trailing field as read */
	int		 previous_size_ok; /* previous_size == 11 + size */
};

/*
 * One tag with its trailing PreviousTagSize.  Returns 11 + size + 4, 0 need
 * more, RTMP_EPROTO (reserved bits of the type byte set), RTMP_ELIMIT
 * (size > max_size).
 */
int	flv_parse_tag(const uint8_t *buf, size_t len, uint32_t max_size,
	    struct flv_tag *t);

/* 9-byte header plus PreviousTagSize0: the first 13 bytes of a file. */
void	flv_write_header(uint8_t out[FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE],
	    int has_audio, int has_video);
/* size must be <= FLV_MAX_TAG_SIZE; stream id 0. */
void	flv_write_tag_header(uint8_t out[FLV_TAG_HEADER_SIZE], uint8_t type,
	    uint32_t size, uint32_t timestamp);
void	flv_write_previous_size(uint8_t out[FLV_PREVIOUS_SIZE], uint32_t size);

enum flv_codec {
	FLV_CODEC_UNKNOWN = 0,
	FLV_CODEC_H264,
	FLV_CODEC_HEVC,
	FLV_CODEC_AV1,
	FLV_CODEC_VP9,
	FLV_CODEC_VP8,
	FLV_CODEC_VVC,
	FLV_CODEC_AAC,
	FLV_CODEC_MP3,
	FLV_CODEC_OPUS,
	FLV_CODEC_AC3,
	FLV_CODEC_EAC3,
	FLV_CODEC_FLAC,
	FLV_CODEC_OTHER_VIDEO,	/* a legacy codec id or FourCC we do not name */
	FLV_CODEC_OTHER_AUDIO,
};

/* Enhanced RTMP packet types, after any ModEx and Multitrack wrapping. */
enum flv_video_packet {
	FLV_VIDEO_SEQUENCE_START = 0,
	FLV_VIDEO_CODED_FRAMES = 1,
	FLV_VIDEO_SEQUENCE_END = 2,
	FLV_VIDEO_CODED_FRAMES_X = 3,
	FLV_VIDEO_METADATA = 4,
	FLV_VIDEO_MPEG2TS_SEQUENCE_START = 5,
	FLV_VIDEO_MULTITRACK = 6,
	FLV_VIDEO_MODEX = 7,
};

enum flv_audio_packet {
	FLV_AUDIO_SEQUENCE_START = 0,
	FLV_AUDIO_CODED_FRAMES = 1,
	FLV_AUDIO_SEQUENCE_END = 2,
	FLV_AUDIO_MULTICHANNEL_CONFIG = 4,
	FLV_AUDIO_MULTITRACK = 5,
	FLV_AUDIO_MODEX = 7,
};

#define FLV_FOURCC(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
	(uint32_t)(c) << 8 | (uint32_t)(d))

struct flv_media_info {
	int		 codec;		/* enum flv_codec */
	uint32_t	 fourcc;	/* enhanced only, else 0 */
	int		 legacy_id;	/* CodecID/SoundFormat; -1: enhanced */
	int		 enhanced;	/* ExHeader */
	int		 frame_type;	/* video: 1 key, 2 inter, 5 command */
	int		 packet_type;	/* enhanced, or legacy AVC/HEVC/AAC
					   packet type; else -1 */
	int		 keyframe;
	int		 sequence_header;
	int		 sequence_end;
	int		 command;	/* video command frame: no picture */
	int		 multitrack;
	int32_t		 composition_time;	/* ms, signed */
	uint32_t	 nano_offset;	/* ModEx TimestampOffsetNano, else 0 */
	size_t		 header_size;	/* bytes before the codec payload */
};

int	flv_inspect_video(const uint8_t *p, size_t len,
	    struct flv_media_info *m);
int	flv_inspect_audio(const uint8_t *p, size_t len,
	    struct flv_media_info *m);
/* Short lower-case name for logs: "h264", "opus", "other video"... */
const char *flv_codec_name(int codec);

/*
 * Most AMF0 values flv_parse_metadata() decodes for the metadata object,
 * in an array on its stack (about 28 KB).
 */
#define FLV_METADATA_MAX_VALUES	512

struct flv_metadata {
	/* NaN when absent or not a number. */
	double		 duration;	/* s */
	double		 width, height, framerate;
	double		 videocodecid, audiocodecid;	/* E-RTMP: FourCC */
	double		 videodatarate, audiodatarate;	/* kbit/s */
	int		 set_data_frame;	/* wrapped in "@setDataFrame" */
	size_t		 offset;	/* where "onMetaData" starts */
	/*
	 * Where duration's 8-byte big-endian double sits in p, 0 when there
	 * is none: a recorder patches it once it knows how long it recorded.
	 */
	size_t		 duration_offset;
};

#define FLV_NOT_METADATA	1

/*
 * Read a script data tag body or RTMP data message.  Returns 0 (onMetaData
 * with its object or ECMA array read), FLV_NOT_METADATA (well-formed names
 * but another handler, e.g. "onCuePoint"), RTMP_EPROTO (malformed AMF0, or
 * not starting with a string), RTMP_ELIMIT (more than
 * FLV_METADATA_MAX_VALUES values, e.g. a large keyframe index).
 * set_data_frame and offset are valid whenever the result is not
 * RTMP_EPROTO: p + offset, len - offset is the message without
 * "@setDataFrame".  A codec id given as a 4-character string (some
 * encoders write "avc1") is reported as its FourCC number.
 */
int	flv_parse_metadata(const uint8_t *p, size_t len,
	    struct flv_metadata *md);

#endif
