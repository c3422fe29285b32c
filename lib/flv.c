/*
 * FLV tags in and out, and codec inspection of tag bodies (= RTMP audio
 * and video payloads), legacy and Enhanced RTMP v2.  See flv.h.
 */
#include <math.h>
#include <string.h>

#include "amf0.h"
#include "bytes.h"
#include "error.h"
#include "flv.h"

static int32_t
flv_getsi24(const uint8_t *p)
{
	/* Sign-extend 24 bits without an implementation-defined cast. */
	return (int32_t)(bytes_get24(p) ^ 0x800000) - 0x800000;
}

int
flv_parse_header(const uint8_t *buf, size_t len, struct flv_header *h)
{
	static const uint8_t	 sig[] = { 'F', 'L', 'V', 1 };
	size_t			 n;
	uint32_t		 off;

	/* Refuse a wrong signature as soon as its bytes are in. */
	n = len < sizeof(sig) ? len : sizeof(sig);
	if (n > 0 && memcmp(buf, sig, n) != 0)
		return RTMP_EPROTO;
	if (len < FLV_HEADER_SIZE)
		return 0;
	off = bytes_get32(buf + 5);
	if (off < FLV_HEADER_SIZE || off > FLV_MAX_DATA_OFFSET)
		return RTMP_EPROTO;
	if (len < (size_t)off + FLV_PREVIOUS_SIZE)
		return 0;
	h->has_audio = (buf[4] & 0x04) != 0;
	h->has_video = (buf[4] & 0x01) != 0;
	h->data_offset = off;
	return (int)off + FLV_PREVIOUS_SIZE;
}

int
flv_parse_tag(const uint8_t *buf, size_t len, uint32_t max_size,
    struct flv_tag *t)
{
	uint32_t	 size;

	if (len < FLV_TAG_HEADER_SIZE)
		return 0;
	/* Two reserved bits: set means we are not looking at a tag header. */
	if (buf[0] & 0xc0)
		return RTMP_EPROTO;
	size = bytes_get24(buf + 1);
	if (size > max_size)
		return RTMP_ELIMIT;
	if (len - FLV_TAG_HEADER_SIZE < (size_t)size + FLV_PREVIOUS_SIZE)
		return 0;
	t->type = buf[0] & 0x1f;
	t->filter = (buf[0] >> 5) & 1;
	t->size = size;
	t->timestamp = bytes_get24(buf + 4) | (uint32_t)buf[7] << 24;
	t->stream_id = bytes_get24(buf + 8);
	t->data = buf + FLV_TAG_HEADER_SIZE;
	t->previous_size = bytes_get32(buf + FLV_TAG_HEADER_SIZE + size);
	t->previous_size_ok = t->previous_size == size + FLV_TAG_HEADER_SIZE;
	return (int)(FLV_TAG_HEADER_SIZE + size + FLV_PREVIOUS_SIZE);
}

void
flv_write_header(uint8_t out[FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE],
    int has_audio, int has_video)
{
	out[0] = 'F';
	out[1] = 'L';
	out[2] = 'V';
	out[3] = 1;
	out[4] = (has_audio ? 0x04 : 0) | (has_video ? 0x01 : 0);
	bytes_put32(out + 5, FLV_HEADER_SIZE);
	bytes_put32(out + 9, 0);
}

void
flv_write_tag_header(uint8_t out[FLV_TAG_HEADER_SIZE], uint8_t type,
    uint32_t size, uint32_t timestamp)
{
	out[0] = type & 0x1f;
	bytes_put24(out + 1, size);
	bytes_put24(out + 4, timestamp & 0xffffff);
	out[7] = timestamp >> 24;
	bytes_put24(out + 8, 0);
}

void
flv_write_previous_size(uint8_t out[FLV_PREVIOUS_SIZE], uint32_t size)
{
	bytes_put32(out, size);
}

static int
flv_video_fourcc_codec(uint32_t fourcc)
{
	switch (fourcc) {
	case FLV_FOURCC('a', 'v', 'c', '1'):	return FLV_CODEC_H264;
	case FLV_FOURCC('h', 'v', 'c', '1'):	return FLV_CODEC_HEVC;
	case FLV_FOURCC('a', 'v', '0', '1'):	return FLV_CODEC_AV1;
	case FLV_FOURCC('v', 'p', '0', '9'):	return FLV_CODEC_VP9;
	case FLV_FOURCC('v', 'p', '0', '8'):	return FLV_CODEC_VP8;
	case FLV_FOURCC('v', 'v', 'c', '1'):	return FLV_CODEC_VVC;
	}
	return FLV_CODEC_OTHER_VIDEO;
}

static int
flv_audio_fourcc_codec(uint32_t fourcc)
{
	switch (fourcc) {
	case FLV_FOURCC('m', 'p', '4', 'a'):	return FLV_CODEC_AAC;
	case FLV_FOURCC('.', 'm', 'p', '3'):	return FLV_CODEC_MP3;
	case FLV_FOURCC('O', 'p', 'u', 's'):	return FLV_CODEC_OPUS;
	case FLV_FOURCC('a', 'c', '-', '3'):	return FLV_CODEC_AC3;
	case FLV_FOURCC('e', 'c', '-', '3'):	return FLV_CODEC_EAC3;
	case FLV_FOURCC('f', 'L', 'a', 'C'):	return FLV_CODEC_FLAC;
	}
	return FLV_CODEC_OTHER_AUDIO;
}

/*
 * ModEx wrappers of an enhanced header (the same for audio and video):
 * each holds 1 to 65536 bytes of data and then the next packet type.
 * Every round takes at least 3 bytes, so the loop ends with the input.
 */
static int
flv_modex(const uint8_t *p, size_t len, size_t *offp, int *ptp,
    struct flv_media_info *m)
{
	size_t		 off = *offp, size;
	int		 pt = *ptp;

	while (pt == FLV_VIDEO_MODEX) {
		if (off >= len)
			return RTMP_EPROTO;
		size = (size_t)p[off++] + 1;
		if (size == 256) {
			if (len - off < 2)
				return RTMP_EPROTO;
			size = ((size_t)p[off] << 8 | p[off + 1]) + 1;
			off += 2;
		}
		/* The data and the byte after it must fit in the body. */
		if (size >= len - off)
			return RTMP_EPROTO;
		/* ModEx type 0 is TimestampOffsetNano, in the first 3 bytes. */
		if ((p[off + size] >> 4) == 0 && size >= 3)
			m->nano_offset = bytes_get24(p + off);
		off += size;
		pt = p[off] & 0x0f;
		off++;
	}
	m->packet_type = pt;
	*ptp = pt;
	*offp = off;
	return 0;
}

/*
 * After a Multitrack packet type: the multitrack type and the tracks'
 * packet type, then the FourCC (shared, or the first track's own), the
 * first track's id and, with several tracks, its size.
 */
static int
flv_multitrack(const uint8_t *p, size_t len, size_t *offp, int *ptp,
    int multitrack_type, struct flv_media_info *m)
{
	size_t		 off = *offp, size;
	int		 mt, pt;

	if (off >= len)
		return RTMP_EPROTO;
	mt = p[off] >> 4;
	pt = p[off] & 0x0f;
	off++;
	/* OneTrack 0, ManyTracks 1, ManyTracksManyCodecs 2; others reserved. */
	if (mt > 2 || pt == multitrack_type || pt == FLV_VIDEO_MODEX)
		return RTMP_EPROTO;
	m->multitrack = 1;
	m->packet_type = pt;
	if (len - off < 5)
		return RTMP_EPROTO;
	m->fourcc = bytes_get32(p + off);
	off += 5;			/* FourCC and track id */
	if (mt != 0) {
		if (len - off < 3)
			return RTMP_EPROTO;
		size = bytes_get24(p + off);
		off += 3;
		if (size > len - off)
			return RTMP_EPROTO;
	}
	*ptp = pt;
	*offp = off;
	return 0;
}

static int
flv_fourcc(const uint8_t *p, size_t len, size_t *offp, struct flv_media_info *m)
{
	if (len - *offp < 4)
		return RTMP_EPROTO;
	m->fourcc = bytes_get32(p + *offp);
	*offp += 4;
	return 0;
}

int
flv_inspect_video(const uint8_t *p, size_t len, struct flv_media_info *m)
{
	size_t		 off = 1;
	int		 b, pt, r;

	memset(m, 0, sizeof(*m));
	m->legacy_id = -1;
	m->packet_type = -1;
	if (len < 1)
		return RTMP_EPROTO;
	b = p[0];

	if ((b & 0x80) == 0) {
		m->frame_type = b >> 4;
		m->legacy_id = b & 0x0f;
		m->keyframe = m->frame_type == 1 || m->frame_type == 4;
		switch (m->legacy_id) {
		case 7:
			m->codec = FLV_CODEC_H264;
			break;
		case 12:	/* HEVC by the pre-E-RTMP convention */
			m->codec = FLV_CODEC_HEVC;
			break;
		default:
			m->codec = FLV_CODEC_OTHER_VIDEO;
			break;
		}
		if (m->frame_type == 5) {
			/* A command frame: a one-byte command, no picture. */
			if (len < 2)
				return RTMP_EPROTO;
			m->keyframe = 0;
			m->command = 1;
			m->header_size = 2;
			return 0;
		}
		if (m->codec == FLV_CODEC_OTHER_VIDEO) {
			/* VP6 adds a size adjustment byte, VP6 alpha 4 more. */
			m->header_size = m->legacy_id == 4 ? 2 :
			    m->legacy_id == 5 ? 5 : 1;
			return len < m->header_size ? RTMP_EPROTO : 0;
		}
		if (len < 5)
			return RTMP_EPROTO;
		m->packet_type = p[1];
		if (m->packet_type > 2)
			return RTMP_EPROTO;
		m->sequence_header = m->packet_type == 0;
		m->sequence_end = m->packet_type == 2;
		m->composition_time = flv_getsi24(p + 2);
		m->header_size = 5;
		return 0;
	}

	m->enhanced = 1;
	m->frame_type = (b >> 4) & 0x07;
	pt = b & 0x0f;
	if ((r = flv_modex(p, len, &off, &pt, m)) < 0)
		return r;
	if (pt != FLV_VIDEO_METADATA && m->frame_type == 5) {
		/* A command frame: one command byte, no FourCC, no picture. */
		if (off >= len)
			return RTMP_EPROTO;
		m->command = 1;
		m->header_size = off + 1;
		return 0;
	}
	if (pt == FLV_VIDEO_MULTITRACK)
		r = flv_multitrack(p, len, &off, &pt, FLV_VIDEO_MULTITRACK, m);
	else
		r = flv_fourcc(p, len, &off, m);
	if (r < 0)
		return r;
	m->codec = flv_video_fourcc_codec(m->fourcc);

	switch (pt) {
	case FLV_VIDEO_SEQUENCE_START:
	case FLV_VIDEO_MPEG2TS_SEQUENCE_START:
		m->sequence_header = 1;
		break;
	case FLV_VIDEO_CODED_FRAMES:
		/* NALU-based codecs carry a composition time offset here. */
		if (m->codec == FLV_CODEC_H264 || m->codec == FLV_CODEC_HEVC ||
		    m->codec == FLV_CODEC_VVC) {
			if (len - off < 3)
				return RTMP_EPROTO;
			m->composition_time = flv_getsi24(p + off);
			off += 3;
		}
		break;
	case FLV_VIDEO_SEQUENCE_END:
		m->sequence_end = 1;
		break;
	case FLV_VIDEO_CODED_FRAMES_X:
	case FLV_VIDEO_METADATA:
		break;
	default:
		return RTMP_EPROTO;
	}
	m->keyframe = pt != FLV_VIDEO_METADATA &&
	    (m->frame_type == 1 || m->frame_type == 4);
	m->header_size = off;
	return 0;
}

int
flv_inspect_audio(const uint8_t *p, size_t len, struct flv_media_info *m)
{
	size_t		 off = 1;
	int		 format, pt, r;

	memset(m, 0, sizeof(*m));
	m->legacy_id = -1;
	m->packet_type = -1;
	/* An empty message is the silence signal: nothing to describe. */
	if (len == 0)
		return 0;
	format = p[0] >> 4;

	if (format != 9) {
		m->legacy_id = format;
		m->header_size = 1;
		switch (format) {
		case 10:
			m->codec = FLV_CODEC_AAC;
			if (len < 2)
				return RTMP_EPROTO;
			m->packet_type = p[1];
			if (m->packet_type > 1)
				return RTMP_EPROTO;
			m->sequence_header = m->packet_type == 0;
			m->header_size = 2;
			break;
		case 2:
		case 14:	/* MP3 at 8 kHz */
			m->codec = FLV_CODEC_MP3;
			break;
		default:
			m->codec = FLV_CODEC_OTHER_AUDIO;
			break;
		}
		return 0;
	}

	m->enhanced = 1;
	pt = p[0] & 0x0f;
	if ((r = flv_modex(p, len, &off, &pt, m)) < 0)
		return r;
	if (pt == FLV_AUDIO_MULTITRACK)
		r = flv_multitrack(p, len, &off, &pt, FLV_AUDIO_MULTITRACK, m);
	else
		r = flv_fourcc(p, len, &off, m);
	if (r < 0)
		return r;
	m->codec = flv_audio_fourcc_codec(m->fourcc);

	switch (pt) {
	case FLV_AUDIO_SEQUENCE_START:
	case FLV_AUDIO_MULTICHANNEL_CONFIG:
		m->sequence_header = 1;
		break;
	case FLV_AUDIO_CODED_FRAMES:
		break;
	case FLV_AUDIO_SEQUENCE_END:
		m->sequence_end = 1;
		break;
	default:
		return RTMP_EPROTO;
	}
	m->header_size = off;
	return 0;
}

const char *
flv_codec_name(int codec)
{
	switch (codec) {
	case FLV_CODEC_H264:		return "h264";
	case FLV_CODEC_HEVC:		return "hevc";
	case FLV_CODEC_AV1:		return "av1";
	case FLV_CODEC_VP9:		return "vp9";
	case FLV_CODEC_VP8:		return "vp8";
	case FLV_CODEC_VVC:		return "vvc";
	case FLV_CODEC_AAC:		return "aac";
	case FLV_CODEC_MP3:		return "mp3";
	case FLV_CODEC_OPUS:		return "opus";
	case FLV_CODEC_AC3:		return "ac3";
	case FLV_CODEC_EAC3:		return "eac3";
	case FLV_CODEC_FLAC:		return "flac";
	case FLV_CODEC_OTHER_VIDEO:	return "other video";
	case FLV_CODEC_OTHER_AUDIO:	return "other audio";
	}
	return "unknown";
}

/* A number, or a 4-character FourCC string as its number; else NaN. */
static double
flv_meta_number(const struct amf0_value *v, size_t n, int parent, const char *key,
    int fourcc)
{
	struct amf0_view s;
	double		 d;
	int		 i = amf0_find(v, n, parent, key);

	if (amf0_get_number(v, n, i, &d))
		return d;
	if (fourcc && amf0_get_string(v, n, i, &s) && s.len == 4)
		return (double)FLV_FOURCC(s.ptr[0], s.ptr[1], s.ptr[2],
		    s.ptr[3]);
	return NAN;
}

/* The string at p, or -1 (RTMP_EPROTO) if p holds something else. */
static int
flv_read_name(const uint8_t *p, size_t len, struct amf0_view *name)
{
	struct amf0_value v[1];
	size_t		 n = 1;
	int		 r;

	if ((r = amf0_decode_one(p, len, v, &n, 0)) < 0)
		return RTMP_EPROTO;
	if (!amf0_get_string(v, n, 0, name))
		return RTMP_EPROTO;
	return r;
}

int
flv_parse_metadata(const uint8_t *p, size_t len, struct flv_metadata *md)
{
	struct amf0_value v[FLV_METADATA_MAX_VALUES];
	struct amf0_view name;
	size_t		 off = 0, n = FLV_METADATA_MAX_VALUES;
	int		 r, i;

	md->duration_offset = 0;
	md->duration = md->width = md->height = md->framerate = NAN;
	md->videocodecid = md->audiocodecid = NAN;
	md->videodatarate = md->audiodatarate = NAN;
	md->set_data_frame = 0;
	md->offset = 0;

	if ((r = flv_read_name(p, len, &name)) < 0)
		return r;
	if (amf0_view_eq(name, "@setDataFrame")) {
		off = (size_t)r;
		if ((r = flv_read_name(p + off, len - off, &name)) < 0)
			return r;
		md->set_data_frame = 1;
		md->offset = off;
	}
	off += (size_t)r;
	if (!amf0_view_eq(name, "onMetaData"))
		return FLV_NOT_METADATA;

	r = amf0_decode_one(p + off, len - off, v, &n, AMF0_DEFAULT_MAX_DEPTH);
	if (r < 0)
		return r;
	if (v[0].type != AMF0_OBJECT && v[0].type != AMF0_ECMA_ARRAY)
		return RTMP_EPROTO;
	md->duration = flv_meta_number(v, n, 0, "duration", 0);
	md->duration_offset = 0;
	if ((i = amf0_find(v, n, 0, "duration")) >= 0 && v[i].type == AMF0_NUMBER)
		/* The key is a view into p; its number follows the key and a marker. */
		md->duration_offset = (size_t)(v[i].key.ptr - p) + v[i].key.len + 1;
	md->width = flv_meta_number(v, n, 0, "width", 0);
	md->height = flv_meta_number(v, n, 0, "height", 0);
	md->framerate = flv_meta_number(v, n, 0, "framerate", 0);
	md->videocodecid = flv_meta_number(v, n, 0, "videocodecid", 1);
	md->audiocodecid = flv_meta_number(v, n, 0, "audiocodecid", 1);
	md->videodatarate = flv_meta_number(v, n, 0, "videodatarate", 0);
	md->audiodatarate = flv_meta_number(v, n, 0, "audiodatarate", 0);
	return 0;
}
