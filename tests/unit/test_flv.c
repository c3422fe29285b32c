/*
 * FLV: the four sample files counted against tests/data/media/README.md,
 * every cut of their first 2 KB, a corrupted PreviousTagSize, the writer
 * round trip, onMetaData (plain and behind @setDataFrame), and hand-made
 * legacy and Enhanced RTMP headers including hostile ModEx/Multitrack.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "flv.h"
#include "guard.h"
#include "unit.h"

static struct guard g;

struct counts {
	int	 tags, video, keyframes, audio, video_seq, audio_seq, seq_end;
	int	 script, unknown, bad_prev, inspect_errors, ts_backwards;
	int	 cts_nonzero, coded_x, commands;
	int	 vcodec, acodec;
	uint32_t last_ts;
	size_t	 consumed;
	const uint8_t *script_data;
	size_t	 script_size;
};

/*
 * Read buf as a stream: header, then tags until "need more".  Returns the
 * last parser result (0 when it stopped for more input).
 */
static int
scan(const uint8_t *buf, size_t len, struct counts *c)
{
	struct flv_header	 h;
	struct flv_tag		 t;
	struct flv_media_info	 m;
	size_t			 off;
	int			 r;

	memset(c, 0, sizeof(*c));
	memset(&m, 0, sizeof(m));
	if ((r = flv_parse_header(buf, len, &h)) <= 0)
		return r;
	off = (size_t)r;
	while ((r = flv_parse_tag(buf + off, len - off, FLV_MAX_TAG_SIZE,
	    &t)) > 0) {
		off += (size_t)r;
		c->tags++;
		if (!t.previous_size_ok)
			c->bad_prev++;
		switch (t.type) {
		case FLV_TAG_VIDEO:
			if (flv_inspect_video(t.data, t.size, &m) != 0) {
				c->inspect_errors++;
				break;
			}
			if (m.header_size > t.size)
				c->inspect_errors++;
			c->vcodec = m.codec;
			if (m.sequence_header)
				c->video_seq++;
			else if (m.sequence_end)
				c->seq_end++;
			else if (m.command)
				c->commands++;
			else {
				c->video++;
				c->keyframes += m.keyframe;
				c->cts_nonzero += m.composition_time != 0;
				c->coded_x += m.enhanced &&
				    m.packet_type == FLV_VIDEO_CODED_FRAMES_X;
			}
			break;
		case FLV_TAG_AUDIO:
			if (flv_inspect_audio(t.data, t.size, &m) != 0) {
				c->inspect_errors++;
				break;
			}
			if (m.header_size > t.size)
				c->inspect_errors++;
			c->acodec = m.codec;
			if (m.sequence_header)
				c->audio_seq++;
			else if (m.sequence_end)
				c->seq_end++;
			else
				c->audio++;
			break;
		case FLV_TAG_SCRIPT:
			if (c->script++ == 0) {
				c->script_data = t.data;
				c->script_size = t.size;
			}
			break;
		default:
			c->unknown++;
		}
		/* ffmpeg stamps its closing AVC end of sequence a bit early. */
		if (t.type != FLV_TAG_VIDEO || !m.sequence_end) {
			if (t.timestamp < c->last_ts)
				c->ts_backwards++;
			c->last_ts = t.timestamp;
		}
	}
	c->consumed = off;
	return r;
}

struct sample {
	const char	*file;
	int		 vcodec, acodec;
	int		 video, keyframes, audio;
	double		 videocodecid, audiocodecid;
};

static const struct sample samples[] = {
	{ "h264-aac.flv", FLV_CODEC_H264, FLV_CODEC_AAC, 180, 6, 283, 7, 10 },
	{ "hevc-aac-ertmp.flv", FLV_CODEC_HEVC, FLV_CODEC_AAC, 180, 6, 283,
	    1752589105, 10 },
	{ "av1-opus-ertmp.flv", FLV_CODEC_AV1, FLV_CODEC_OPUS, 180, 6, 301,
	    1635135537, 1332770163 },
	{ "vp9-opus-ertmp.flv", FLV_CODEC_VP9, FLV_CODEC_OPUS, 180, 6, 301,
	    1987063865, 1332770163 },
};

/* The tags a cut stream yields must be the first tags of the whole. */
static void
test_cuts(const char *name, const uint8_t *buf, size_t len,
    const struct counts *whole)
{
	struct counts	 c;
	size_t		 cut, extra[6], i;
	int		 r, bad = 0;

	for (cut = 0; cut <= 2048 && cut <= len; cut++) {
		r = scan(guard_put(&g, buf, cut), cut, &c);
		if (r != 0 || c.consumed > cut || c.inspect_errors ||
		    c.bad_prev || c.tags > whole->tags) {
			if (bad++ < 5)
				printf("# %s: cut %zu gave %d\n", name, cut, r);
		}
	}
	CHECK_EQ(bad, 0, "%s: every cut of the first 2 KB asks for more",
	    name);

	extra[0] = len / 3;
	extra[1] = len / 2;
	extra[2] = len - 1;
	extra[3] = len - 4;
	extra[4] = len - 5;
	extra[5] = len;
	bad = 0;
	for (i = 0; i < 6; i++) {
		r = scan(guard_put(&g, buf, extra[i]), extra[i], &c);
		if (r != 0 || c.inspect_errors || c.bad_prev ||
		    (extra[i] == len ? c.tags != whole->tags :
		    c.tags >= whole->tags))
			bad++;
	}
	CHECK_EQ(bad, 0, "%s: later cuts ask for more", name);
}

static void
test_samples(void)
{
	struct counts		 c;
	struct flv_metadata	 md;
	uint8_t			*buf;
	size_t			 len, i;
	char			 path[128];
	int			 r;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];

		snprintf(path, sizeof(path), "media/%s", s->file);
		buf = unit_read_data(path, &len);
		if (!CHECK(buf != NULL, "read %s", path))
			continue;
		r = scan(buf, len, &c);
		CHECK(r == 0 && c.consumed == len, "%s: read to the end",
		    s->file);
		CHECK_EQ(c.inspect_errors, 0, "%s: every tag inspects",
		    s->file);
		CHECK_EQ(c.bad_prev, 0, "%s: PreviousTagSize all right",
		    s->file);
		CHECK_EQ(c.ts_backwards, 0, "%s: timestamps in order",
		    s->file);
		CHECK_EQ(c.vcodec, s->vcodec, "%s: video codec %s",
		    s->file,
		    flv_codec_name(s->vcodec));
		CHECK_EQ(c.acodec, s->acodec, "%s: audio codec %s",
		    s->file,
		    flv_codec_name(s->acodec));
		CHECK_EQ(c.video, s->video, "%s: video frames", s->file);
		CHECK_EQ(c.keyframes, s->keyframes, "%s: keyframes",
		    s->file);
		CHECK_EQ(c.audio, s->audio, "%s: audio frames", s->file);
		CHECK(c.video_seq == 1 && c.audio_seq == 1,
		    "%s: one video and one audio sequence header", s->file);
		CHECK_EQ(c.seq_end, 1, "%s: one sequence end", s->file);
		CHECK(c.script == 1 && c.unknown == 0 && c.commands == 0,
		    "%s: one script tag, nothing else", s->file);
		CHECK_EQ(c.tags, 1 + 2 + s->video + s->audio + 1,
		    "%s: tag count", s->file);

		r = flv_parse_metadata(c.script_data, c.script_size, &md);
		CHECK(r == 0 && !md.set_data_frame && md.offset == 0,
		    "%s: onMetaData", s->file);
		CHECK(fabs(md.duration - 6) < 0.1, "%s: duration %.3f", s->file,
		    md.duration);
		{
			/* The offset points at the same double, big-endian. */
			const uint8_t	*q = c.script_data + md.duration_offset;
			uint64_t	 bits = 0;
			double		 d;
			int		 k;

			for (k = 0; k < 8; k++)
				bits = bits << 8 | q[k];
			memcpy(&d, &bits, sizeof(d));
			CHECK(md.duration_offset > 0 && md.duration_offset + 8 <=
			    c.script_size && d == md.duration,
			    "%s: duration offset %zu", s->file, md.duration_offset);
		}
		CHECK(md.width == 640 && md.height == 360,
		    "%s: 640x360", s->file);
		CHECK(fabs(md.framerate - 30) < 0.01, "%s: 30 fps", s->file);
		CHECK(md.videocodecid == s->videocodecid,
		    "%s: videocodecid %.0f", s->file, md.videocodecid);
		CHECK(md.audiocodecid == s->audiocodecid,
		    "%s: audiocodecid %.0f", s->file, md.audiocodecid);

		if (s->vcodec == FLV_CODEC_HEVC)
			CHECK(c.cts_nonzero > 0 && c.coded_x > 0,
			    "%s: B-frame offsets and CodedFramesX", s->file);
		if (s->vcodec == FLV_CODEC_AV1 || s->vcodec == FLV_CODEC_VP9)
			CHECK_EQ(c.cts_nonzero, 0, "%s: no offsets",
			    s->file);

		test_cuts(s->file, buf, len, &c);
		free(buf);
	}
}

static void
test_corrupt_previous_size(void)
{
	struct flv_header	 h;
	struct flv_tag		 t;
	struct counts		 c;
	uint8_t			*buf;
	size_t			 len, off, at = 0;
	int			 r, n, flagged = 0, other = 0;

	buf = unit_read_data("media/h264-aac.flv", &len);
	if (!CHECK(buf != NULL, "read h264-aac.flv"))
		return;
	off = (size_t)flv_parse_header(buf, len, &h);
	/* Corrupt the PreviousTagSize after the third tag. */
	for (n = 0; n < 3; n++) {
		r = flv_parse_tag(buf + off, len - off, FLV_MAX_TAG_SIZE, &t);
		off += (size_t)r;
		at = off - 4;
	}
	buf[at + 3] ^= 0x01;
	off = (size_t)flv_parse_header(buf, len, &h);
	for (n = 0; (r = flv_parse_tag(buf + off, len - off, FLV_MAX_TAG_SIZE,
	    &t)) > 0; n++) {
		off += (size_t)r;
		if (!t.previous_size_ok) {
			if (n == 2 && t.previous_size == t.size + 11 + 1)
				flagged++;
			else
				other++;
		}
	}
	CHECK(flagged == 1 && other == 0 && off == len,
	    "corrupted PreviousTagSize flagged on that tag only");
	r = scan(buf, len, &c);
	CHECK(r == 0 && c.bad_prev == 1 && c.consumed == len,
	    "a reader goes on past it");
	free(buf);
}

/* Rewrite a whole file from its parsed tags: identical bytes. */
static void
test_writer(void)
{
	struct flv_header	 h;
	struct flv_tag		 t;
	uint8_t			*buf, *out, *p, tag[64];
	size_t			 len, off;
	int			 r;

	buf = unit_read_data("media/hevc-aac-ertmp.flv", &len);
	out = malloc(len + 64);
	if (!CHECK(buf != NULL && out != NULL, "read hevc-aac-ertmp.flv"))
		return;
	r = flv_parse_header(buf, len, &h);
	CHECK(r == 13 && h.has_audio && h.has_video && h.data_offset == 9,
	    "header: audio and video, offset 9");
	p = out;
	flv_write_header(p, h.has_audio, h.has_video);
	p += FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE;
	off = (size_t)r;
	while ((r = flv_parse_tag(buf + off, len - off, FLV_MAX_TAG_SIZE,
	    &t)) > 0) {
		off += (size_t)r;
		flv_write_tag_header(p, t.type, t.size, t.timestamp);
		p += FLV_TAG_HEADER_SIZE;
		memcpy(p, t.data, t.size);
		p += t.size;
		flv_write_previous_size(p, FLV_TAG_HEADER_SIZE + t.size);
		p += FLV_PREVIOUS_SIZE;
	}
	CHECK((size_t)(p - out) == len && memcmp(out, buf, len) == 0,
	    "writer reproduces the file byte for byte");
	free(out);
	free(buf);

	/* Extended timestamp, size 0, audio-only header. */
	flv_write_header(tag, 1, 0);
	CHECK(flv_parse_header(tag, 13, &h) == 13 && h.has_audio &&
	    !h.has_video, "audio-only header");
	flv_write_tag_header(tag + 13, FLV_TAG_VIDEO, 0, 0x87654321);
	flv_write_previous_size(tag + 24, 11);
	r = flv_parse_tag(tag + 13, 15, 0, &t);
	CHECK(r == 15 && t.type == FLV_TAG_VIDEO && t.size == 0 &&
	    t.timestamp == 0x87654321 && t.previous_size_ok && t.stream_id == 0,
	    "size-0 tag with an extended timestamp");
	tag[13] = 0x2f;		/* filter bit, unknown type 15 */
	r = flv_parse_tag(tag + 13, 15, 0, &t);
	CHECK(r == 15 && t.type == 15 && t.filter == 1,
	    "unknown type and filter bit returned as-is");
	tag[13] = 0x49;		/* reserved bit */
	CHECK_EQ(flv_parse_tag(tag + 13, 15, 0, &t), RTMP_EPROTO,
	    "reserved bits set: RTMP_EPROTO");
	flv_write_tag_header(tag + 13, FLV_TAG_AUDIO, 1000, 0);
	CHECK_EQ(flv_parse_tag(tag + 13, 11, 999, &t), RTMP_ELIMIT,
	    "size over max_size: RTMP_ELIMIT from the header alone");
	CHECK_EQ(flv_parse_tag(tag + 13, 11, 1000, &t), 0,
	    "size at max_size: need more");
	flv_write_tag_header(tag + 13, FLV_TAG_AUDIO, FLV_MAX_TAG_SIZE, 0);
	CHECK_EQ(flv_parse_tag(tag + 13, 11, FLV_MAX_TAG_SIZE, &t), 0,
	    "largest tag: need more");
}

static void
test_headers(void)
{
	struct flv_header	 h;
	uint8_t			 b[32];

	flv_write_header(b, 1, 1);
	CHECK_EQ(flv_parse_header(b, 0, &h), 0, "empty: need more");
	CHECK_EQ(flv_parse_header(b, 12, &h), 0, "12 bytes: need more");
	CHECK_EQ(flv_parse_header((const uint8_t *)"GET / HTTP", 3, &h),
	    RTMP_EPROTO, "wrong signature refused at once");
	CHECK_EQ(flv_parse_header((const uint8_t *)"FLX", 3, &h),
	    RTMP_EPROTO, "wrong third byte");
	b[3] = 2;
	CHECK_EQ(flv_parse_header(b, 13, &h), RTMP_EPROTO, "version 2");
	flv_write_header(b, 1, 1);
	b[8] = 8;
	CHECK_EQ(flv_parse_header(b, 13, &h), RTMP_EPROTO,
	    "data offset 8");
	b[5] = 0xff;
	b[8] = 9;
	CHECK_EQ(flv_parse_header(b, 13, &h), RTMP_EPROTO,
	    "data offset 0xff000009");
	b[5] = 0;
	b[8] = 12;
	CHECK_EQ(flv_parse_header(b, 15, &h), 0,
	    "data offset 12: need more");
	memset(b + 13, 0, 4);
	CHECK(flv_parse_header(b, 17, &h) == 16 && h.data_offset == 12,
	    "data offset 12 skips 3 bytes");
}

static void
test_metadata(void)
{
	struct flv_metadata	 md, md2;
	uint8_t			*cap, *msg;
	size_t			 caplen, mlen, i;
	int			 r;
	static const uint8_t	 cue[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'C',
	    'u', 'e', 'P', 'o', 'i', 'n', 't', 0x05 };
	static const uint8_t	 num[] = { 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t	 strid[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M',
	    'e', 't', 'a', 'D', 'a', 't', 'a', 0x03, 0x00, 0x0c, 'v', 'i',
	    'd', 'e', 'o', 'c', 'o', 'd', 'e', 'c', 'i', 'd', 0x02, 0x00,
	    0x04, 'a', 'v', 'c', '1', 0x00, 0x00, 0x09 };
	static const uint8_t	 notobj[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M',
	    'e', 't', 'a', 'D', 'a', 't', 'a', 0x05 };

	/* ffmpeg's @setDataFrame from a real publish (chunk size 4096). */
	cap = unit_read_data("captures/ffmpeg-publish.c2s.bin", &caplen);
	if (!CHECK(cap != NULL, "read ffmpeg-publish.c2s.bin"))
		return;
	msg = NULL;
	for (i = 3073; i + 16 < caplen; i++)
		if (memcmp(cap + i, "\x02\x00\x0d@setDataFrame", 16) == 0) {
			msg = cap + i;
			break;
		}
	/* Its type-0 chunk header sits just before it. */
	if (!CHECK(msg != NULL && cap[i - 5] == 18, "found @setDataFrame"))
		goto out;
	mlen = (size_t)cap[i - 8] << 16 | cap[i - 7] << 8 | cap[i - 6];
	r = flv_parse_metadata(msg, mlen, &md);
	CHECK(r == 0 && md.set_data_frame && md.offset == 16,
	    "@setDataFrame onMetaData recognised");
	CHECK(md.duration > 0 && md.width == 640 &&
	    md.height == 360 && md.videocodecid == 7 && md.audiocodecid == 10,
	    "its fields");
	CHECK(md.videodatarate > 0 && md.audiodatarate > 0, "data rates");
	r = flv_parse_metadata(msg + md.offset, mlen - md.offset, &md2);
	CHECK(r == 0 && !md2.set_data_frame && md2.width == 640,
	    "stripped at offset it reads as plain onMetaData");
	for (i = 0; i < mlen; i++)
		if (flv_parse_metadata(guard_put(&g, msg, i), i, &md2) == 0)
			break;
	CHECK_EQ(i, mlen, "no truncation of it parses");
out:
	free(cap);

	CHECK_EQ(flv_parse_metadata(cue, sizeof(cue), &md),
	    FLV_NOT_METADATA,
	    "onCuePoint is not metadata");
	CHECK_EQ(flv_parse_metadata(num, sizeof(num), &md), RTMP_EPROTO,
	    "a number first: RTMP_EPROTO");
	CHECK_EQ(flv_parse_metadata(notobj, sizeof(notobj), &md),
	    RTMP_EPROTO,
	    "onMetaData with null: RTMP_EPROTO");
	r = flv_parse_metadata(strid, sizeof(strid), &md);
	CHECK(r == 0 && md.videocodecid == 0x61766331 && isnan(md.duration) &&
	    isnan(md.audiocodecid), "codec id as a string; absent fields NaN");
}

struct vcase {
	const char	*what;
	const uint8_t	*p;
	size_t		 len;
	int		 want;		/* return */
	int		 codec, key, seq, end, cmd, pt, multi;
	int32_t		 cts;
	size_t		 hsize;
};

#define V(what, want, codec, key, seq, end, cmd, pt, multi, cts, hsize, ...) \
	{ what, (const uint8_t[]){ __VA_ARGS__ }, \
	    sizeof((const uint8_t[]){ __VA_ARGS__ }), want, codec, key, seq, \
	    end, cmd, pt, multi, cts, hsize }

static const struct vcase vcases[] = {
	V("avc keyframe, cts -1", 0, FLV_CODEC_H264, 1, 0, 0, 0, 1, 0, -1, 5,
	    0x17, 0x01, 0xff, 0xff, 0xff, 0x65),
	V("avc sequence header", 0, FLV_CODEC_H264, 1, 1, 0, 0, 0, 0, 0, 5,
	    0x17, 0x00, 0x00, 0x00, 0x00, 0x01),
	V("avc inter, cts 0x7fffff", 0, FLV_CODEC_H264, 0, 0, 0, 0, 1, 0,
	    0x7fffff, 5, 0x27, 0x01, 0x7f, 0xff, 0xff),
	V("avc end of sequence", 0, FLV_CODEC_H264, 1, 0, 1, 0, 2, 0, 0, 5,
	    0x17, 0x02, 0x00, 0x00, 0x00),
	V("avc packet type 3", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x17, 0x03, 0x00, 0x00, 0x00),
	V("avc cut short", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x17, 0x01, 0x00, 0x00),
	V("legacy hevc id 12", 0, FLV_CODEC_HEVC, 1, 1, 0, 0, 0, 0, 0, 5,
	    0x1c, 0x00, 0x00, 0x00, 0x00),
	V("legacy command frame", 0, FLV_CODEC_H264, 0, 0, 0, 1, -1, 0, 0, 2,
	    0x57, 0x00),
	V("legacy command without its byte", RTMP_EPROTO, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0x57),
	V("sorenson h263", 0, FLV_CODEC_OTHER_VIDEO, 1, 0, 0, 0, -1, 0, 0, 1,
	    0x12, 0x00),
	V("vp6 adjustment byte", 0, FLV_CODEC_OTHER_VIDEO, 0, 0, 0, 0, -1, 0,
	    0, 2, 0x24, 0x00),
	V("vp6 alpha cut", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x25, 0x00, 0x00),
	V("hvc1 coded frames, cts 66", 0, FLV_CODEC_HEVC, 0, 0, 0, 0, 1, 0,
	    66, 8, 0xa1, 'h', 'v', 'c', '1', 0x00, 0x00, 0x42, 0x00),
	V("hvc1 coded frames X", 0, FLV_CODEC_HEVC, 1, 0, 0, 0, 3, 0, 0, 5,
	    0x93, 'h', 'v', 'c', '1', 0x00),
	V("avc1 enhanced, cts -2", 0, FLV_CODEC_H264, 1, 0, 0, 0, 1, 0, -2, 8,
	    0x91, 'a', 'v', 'c', '1', 0xff, 0xff, 0xfe),
	V("hvc1 coded frames without cts", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xa1, 'h', 'v', 'c', '1', 0x00),
	V("av01 sequence start", 0, FLV_CODEC_AV1, 1, 1, 0, 0, 0, 0, 0, 5,
	    0x90, 'a', 'v', '0', '1', 0x81),
	V("vp09 coded frames, no cts", 0, FLV_CODEC_VP9, 1, 0, 0, 0, 1, 0, 0,
	    5, 0x91, 'v', 'p', '0', '9', 0x82),
	V("vp08", 0, FLV_CODEC_VP8, 0, 0, 0, 0, 1, 0, 0, 5,
	    0xa1, 'v', 'p', '0', '8'),
	V("unknown fourcc", 0, FLV_CODEC_OTHER_VIDEO, 0, 0, 0, 0, 3, 0, 0, 5,
	    0xa3, 'x', 'y', 'z', 'w'),
	V("sequence end", 0, FLV_CODEC_VP9, 1, 0, 1, 0, 2, 0, 0, 5,
	    0x92, 'v', 'p', '0', '9'),
	V("mpeg2ts sequence start", 0, FLV_CODEC_AV1, 1, 1, 0, 0, 5, 0, 0, 5,
	    0x95, 'a', 'v', '0', '1'),
	V("metadata ignores frame type", 0, FLV_CODEC_HEVC, 0, 0, 0, 0, 4, 0,
	    0, 5, 0x94, 'h', 'v', 'c', '1', 0x02),
	V("enhanced command frame", 0, FLV_CODEC_UNKNOWN, 0, 0, 0, 1, 1, 0, 0,
	    2, 0xd1, 0x01),
	V("enhanced command cut", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xd1),
	V("reserved packet type 8", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x98, 'a', 'v', '0', '1'),
	V("fourcc cut", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x91, 'a', 'v', '0'),
	V("modex nano offset then coded frames", 0, FLV_CODEC_HEVC, 1, 0, 0, 0,
	    1, 0, 5, 13, 0x97, 0x02, 0x01, 0x02, 0x03, 0x01, 'h', 'v', 'c',
	    '1', 0x00, 0x00, 0x05),
	V("modex with 16-bit size", 0, FLV_CODEC_AV1, 1, 0, 0, 0, 3, 0, 0, 10,
	    0x97, 0xff, 0x00, 0x00, 0x00, 0x03, 'a', 'v', '0', '1'),
	V("modex size = remaining", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x97, 0x02, 0xaa, 0xbb, 0xcc),
	V("modex size > remaining", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x97, 0xfe, 0xaa, 0xbb, 0xcc),
	V("modex 16-bit size > remaining", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0x97, 0xff, 0xff, 0xff, 0xaa),
	V("modex chain", 0, FLV_CODEC_VP9, 1, 0, 0, 0, 1, 0, 0, 11,
	    0x97, 0x00, 0xaa, 0x17, 0x00, 0xbb, 0x01, 'v', 'p', '0', '9'),
	V("modex then command", 0, FLV_CODEC_UNKNOWN, 0, 0, 0, 1, 1, 0, 0, 5,
	    0xd7, 0x00, 0xaa, 0x01, 0x00),
	V("multitrack one track", 0, FLV_CODEC_AV1, 1, 0, 0, 0, 1, 1, 0, 7,
	    0x96, 0x01, 'a', 'v', '0', '1', 0x00, 0xee),
	V("multitrack many tracks hvc1", 0, FLV_CODEC_HEVC, 0, 0, 0, 0, 1, 1,
	    -1, 13, 0xa6, 0x11, 'h', 'v', 'c', '1', 0x00, 0x00, 0x00, 0x04,
	    0xff, 0xff, 0xff, 0xee),
	V("multitrack many codecs", 0, FLV_CODEC_VP9, 1, 1, 0, 0, 0, 1, 0, 10,
	    0x96, 0x20, 'v', 'p', '0', '9', 0x01, 0x00, 0x00, 0x00),
	V("multitrack track size too big", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0x96, 0x10, 'v', 'p', '0', '9', 0x01, 0x00, 0x00, 0x09, 0x00),
	V("multitrack inside multitrack", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0x96, 0x06, 'v', 'p', '0', '9', 0x00),
	V("multitrack type 3", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x96, 0x31, 'v', 'p', '0', '9', 0x00),
	V("multitrack cut", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x96),
};

struct acase {
	const char	*what;
	const uint8_t	*p;
	size_t		 len;
	int		 want, codec, seq, end, pt, enhanced;
	uint32_t	 fourcc;
	size_t		 hsize;
};

#define A(what, want, codec, seq, end, pt, enh, fourcc, hsize, ...) \
	{ what, (const uint8_t[]){ __VA_ARGS__ }, \
	    sizeof((const uint8_t[]){ __VA_ARGS__ }), want, codec, seq, end, \
	    pt, enh, fourcc, hsize }

static const struct acase acases[] = {
	A("aac sequence header", 0, FLV_CODEC_AAC, 1, 0, 0, 0, 0, 2,
	    0xaf, 0x00, 0x11, 0x90),
	A("aac raw", 0, FLV_CODEC_AAC, 0, 0, 1, 0, 0, 2, 0xaf, 0x01, 0x21),
	A("aac without packet type", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0xaf),
	A("aac packet type 2", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0xaf, 0x02),
	A("mp3", 0, FLV_CODEC_MP3, 0, 0, -1, 0, 0, 1, 0x2f, 0xff, 0xfb),
	A("mp3 8 kHz", 0, FLV_CODEC_MP3, 0, 0, -1, 0, 0, 1, 0xe2, 0xff),
	A("speex", 0, FLV_CODEC_OTHER_AUDIO, 0, 0, -1, 0, 0, 1, 0xb6, 0x00),
	A("opus sequence start", 0, FLV_CODEC_OPUS, 1, 0, 0, 1,
	    FLV_FOURCC('O', 'p', 'u', 's'), 5, 0x90, 'O', 'p', 'u', 's', 'O'),
	A("opus coded frames", 0, FLV_CODEC_OPUS, 0, 0, 1, 1,
	    FLV_FOURCC('O', 'p', 'u', 's'), 5, 0x91, 'O', 'p', 'u', 's', 0xf8),
	A("flac", 0, FLV_CODEC_FLAC, 1, 0, 0, 1, FLV_FOURCC('f', 'L', 'a', 'C'),
	    5, 0x90, 'f', 'L', 'a', 'C'),
	A("ac-3", 0, FLV_CODEC_AC3, 0, 0, 1, 1, FLV_FOURCC('a', 'c', '-', '3'),
	    5, 0x91, 'a', 'c', '-', '3', 0x0b),
	A("ec-3", 0, FLV_CODEC_EAC3, 0, 0, 1, 1, FLV_FOURCC('e', 'c', '-', '3'),
	    5, 0x91, 'e', 'c', '-', '3', 0x0b),
	A(".mp3", 0, FLV_CODEC_MP3, 0, 0, 1, 1, FLV_FOURCC('.', 'm', 'p', '3'),
	    5, 0x91, '.', 'm', 'p', '3'),
	A("mp4a", 0, FLV_CODEC_AAC, 1, 0, 0, 1, FLV_FOURCC('m', 'p', '4', 'a'),
	    5, 0x90, 'm', 'p', '4', 'a', 0x11),
	A("sequence end", 0, FLV_CODEC_OPUS, 0, 1, 2, 1,
	    FLV_FOURCC('O', 'p', 'u', 's'), 5, 0x92, 'O', 'p', 'u', 's'),
	A("multichannel config", 0, FLV_CODEC_OPUS, 1, 0, 4, 1,
	    FLV_FOURCC('O', 'p', 'u', 's'), 5, 0x94, 'O', 'p', 'u', 's', 0x01,
	    0x02),
	A("reserved packet type 3", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0,
	    0x93, 'O', 'p', 'u', 's'),
	A("modex then opus", 0, FLV_CODEC_OPUS, 0, 0, 1, 1,
	    FLV_FOURCC('O', 'p', 'u', 's'), 10, 0x97, 0x02, 0x00, 0x01, 0x02,
	    0x01, 'O', 'p', 'u', 's'),
	A("modex size >= remaining", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0,
	    0x97, 0x03, 0x00, 0x01, 0x02, 0x01),
	A("multitrack one track", 0, FLV_CODEC_OPUS, 0, 0, 1, 1,
	    FLV_FOURCC('O', 'p', 'u', 's'), 7, 0x95, 0x01, 'O', 'p', 'u', 's',
	    0x00, 0xf8),
	A("multitrack in multitrack", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0,
	    0x95, 0x05, 'O', 'p', 'u', 's', 0x00),
	A("fourcc cut", RTMP_EPROTO, 0, 0, 0, 0, 0, 0, 0, 0x91, 'O', 'p'),
};

static void
test_inspect(void)
{
	struct flv_media_info	 m;
	const uint8_t		*p;
	size_t			 i, k;
	int			 r, bad;

	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *c = &vcases[i];

		r = flv_inspect_video(guard_put(&g, c->p, c->len), c->len, &m);
		if (c->want != 0)
			CHECK_EQ(r, c->want, "video: %s", c->what);
		else
			CHECK(r == 0 && m.codec == c->codec &&
			    m.keyframe == c->key &&
			    m.sequence_header == c->seq &&
			    m.sequence_end == c->end && m.command == c->cmd &&
			    m.packet_type == c->pt &&
			    m.multitrack == c->multi &&
			    m.composition_time == c->cts &&
			    m.header_size == c->hsize, "video: %s", c->what);
		if (r == 0 && (m.codec != c->codec ||
		    m.header_size != c->hsize ||
		    m.packet_type != c->pt || m.composition_time != c->cts))
			printf("#   codec %d pt %d cts %d header %zu\n",
			    m.codec, m.packet_type, m.composition_time,
			    m.header_size);
		/* Every prefix shorter than the header is refused. */
		bad = 0;
		for (k = 0; r == 0 && k < c->hsize; k++) {
			p = guard_put(&g, c->p, k);
			if (flv_inspect_video(p, k, &m) != RTMP_EPROTO)
				bad++;
		}
		if (r == 0)
			CHECK_EQ(bad, 0,
			    "video: %s, every cut header refused", c->what);
	}
	CHECK_EQ(flv_inspect_video(guard_end(&g), 0, &m), RTMP_EPROTO,
	    "empty video message");
	r = flv_inspect_video((const uint8_t *)"\x97\x00\xaa\x01" "av01", 8,
	    &m);
	CHECK(r == 0 && m.nano_offset == 0 && m.codec == FLV_CODEC_AV1,
	    "a 1-byte ModEx is too short for a nano offset");
	r = flv_inspect_video((const uint8_t *)"\x97\x02\x00\x01\x02\x01"
	    "av01", 10, &m);
	CHECK(r == 0 && m.nano_offset == 0x000102, "nano offset read");

	for (i = 0; i < sizeof(acases) / sizeof(acases[0]); i++) {
		const struct acase *c = &acases[i];

		r = flv_inspect_audio(guard_put(&g, c->p, c->len), c->len, &m);
		if (c->want != 0)
			CHECK_EQ(r, c->want, "audio: %s", c->what);
		else
			CHECK(r == 0 && m.codec == c->codec &&
			    m.sequence_header == c->seq &&
			    m.sequence_end == c->end &&
			    m.packet_type == c->pt &&
			    m.enhanced == c->enhanced &&
			    m.fourcc == c->fourcc &&
			    m.header_size == c->hsize && m.keyframe == 0,
			    "audio: %s", c->what);
		bad = 0;
		for (k = 1; r == 0 && k < c->hsize; k++) {
			p = guard_put(&g, c->p, k);
			if (flv_inspect_audio(p, k, &m) != RTMP_EPROTO)
				bad++;
		}
		if (r == 0)
			CHECK_EQ(bad, 0,
			    "audio: %s, every cut header refused",
			    c->what);
	}
	r = flv_inspect_audio(guard_end(&g), 0, &m);
	CHECK(r == 0 && m.codec == FLV_CODEC_UNKNOWN && m.header_size == 0,
	    "empty audio message: silence, no codec");

	CHECK(strcmp(flv_codec_name(FLV_CODEC_HEVC), "hevc") == 0 &&
	    strcmp(flv_codec_name(FLV_CODEC_OPUS), "opus") == 0 &&
	    strcmp(flv_codec_name(-1), "unknown") == 0, "codec names");
}

int
main(void)
{
	if (guard_new(&g, 1 << 20) == -1) {
		CHECK(0, "guard page");
		return unit_done();
	}
	test_samples();
	test_corrupt_previous_size();
	test_writer();
	test_headers();
	test_metadata();
	test_inspect();
	guard_free(&g);
	return unit_done();
}
