/*
 * test_probe: what counts as the keyframe that proves a stream is up,
 * on hand-made legacy and Enhanced RTMP payloads and on the real clips of
 * tests/data/media, and the reason given when none came.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chunk.h"
#include "flv.h"
#include "probe.h"
#include "unit.h"

struct payload {
	const char	*what;
	uint8_t		 bytes[16];
	size_t		 len;
	int		 keyframe;
};

static const struct payload payloads[] = {
	{ "AVC sequence header", { 0x17, 0, 0, 0, 0, 1, 0x64 }, 7, 0 },
	{ "AVC keyframe", { 0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65 }, 10, 1 },
	{ "AVC inter frame", { 0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41 }, 10, 0 },
	{ "AVC end of sequence", { 0x17, 2, 0, 0, 0 }, 5, 0 },
	{ "AVC generated keyframe", { 0x47, 1, 0, 0, 0, 0x65 }, 6, 1 },
	{ "command frame", { 0x57, 0 }, 2, 0 },
	{ "VP6 keyframe (legacy id 4)", { 0x14, 0, 0x80 }, 3, 1 },
	{ "truncated AVC header", { 0x17, 1 }, 2, 0 },
	{ "empty video", { 0 }, 0, 0 },
	{ "E-RTMP HEVC keyframe", { 0x91, 'h', 'v', 'c', '1', 0, 0, 0, 0x26 }, 9, 1 },
	{ "E-RTMP AV1 keyframe, CodedFramesX", { 0x93, 'a', 'v', '0', '1', 0x12 }, 6, 1 },
	{ "E-RTMP AV1 SequenceStart", { 0x90, 'a', 'v', '0', '1', 0x81 }, 6, 0 },
	{ "E-RTMP HEVC inter frame", { 0xa1, 'h', 'v', 'c', '1', 0, 0, 0, 0x02 }, 9, 0 },
	{ "E-RTMP metadata packet", { 0x94, 'h', 'v', 'c', '1', 2 }, 6, 0 },
	{ "E-RTMP SequenceEnd", { 0x92, 'v', 'p', '0', '9' }, 5, 0 },
	{ "E-RTMP command frame", { 0xd0, 0 }, 2, 0 },
};

static void
test_payloads(void)
{
	struct probe	 p;
	size_t		 i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		probe_init(&p);
		CHECK_EQ(probe_media(&p, RTMP_MSG_VIDEO, payloads[i].bytes,
		    payloads[i].len), payloads[i].keyframe, "%s: %s", payloads[i].what,
		    payloads[i].keyframe ? "a keyframe" : "no keyframe");
		CHECK(payloads[i].keyframe ? probe_missing(&p) == NULL :
		    strcmp(probe_missing(&p), "video but no keyframe") == 0,
		    "%s: missing %s", payloads[i].what,
		    probe_missing(&p) ? probe_missing(&p) : "nothing");
	}
}

static void
test_missing(void)
{
	struct probe	 p;
	const uint8_t	 aac[] = { 0xaf, 1, 0x21 };
	const uint8_t	 key[] = { 0x17, 1, 0, 0, 0, 0x65 };
	const uint8_t	 meta[] = { 2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a' };

	probe_init(&p);
	CHECK(strcmp(probe_missing(&p), "no media") == 0, "nothing played: no media");
	CHECK_EQ(probe_media(&p, RTMP_MSG_DATA_AMF0, meta, sizeof(meta)), 0,
	    "script data is not media");
	CHECK(strcmp(probe_missing(&p), "no media") == 0, "metadata alone: no media");
	CHECK_EQ(probe_media(&p, RTMP_MSG_AUDIO, aac, sizeof(aac)), 0, "audio is no keyframe");
	CHECK(strcmp(probe_missing(&p), "audio only, no video") == 0,
	    "audio alone: audio only, no video");
	CHECK_EQ(probe_media(&p, RTMP_MSG_VIDEO, key, sizeof(key)), 1, "then a keyframe");
	CHECK(probe_missing(&p) == NULL, "nothing missing after the keyframe");
	CHECK_EQ(probe_media(&p, RTMP_MSG_AUDIO, aac, sizeof(aac)), 0,
	    "audio after it is still no keyframe");
	CHECK(probe_missing(&p) == NULL, "and the keyframe is not forgotten");
	CHECK_EQ(p.audio, 2, "two audio messages counted");
	CHECK_EQ(p.video, 1, "one video message counted");
}

/*
 * clip FILE: the first tag probe_media() calls a keyframe is the first
 * video tag after the sequence header, a keyframe by its frame type; with
 * the video left out, the same clip is "audio only, no video".
 */
static void
test_clip(const char *file)
{
	struct probe	 p, audio;
	struct flv_header h;
	struct flv_tag	 t;
	struct flv_media_info m;
	unsigned char	*b;
	size_t		 len, off;
	int		 n, first = -1, want = -1, tag = 0;

	if ((b = unit_read_data(file, &len)) == NULL)
		return;
	probe_init(&p);
	probe_init(&audio);
	if ((n = flv_parse_header(b, len, &h)) <= 0) {
		CHECK(0, "%s: FLV header", file);
		free(b);
		return;
	}
	for (off = (size_t)n; (n = flv_parse_tag(b + off, len - off, FLV_MAX_TAG_SIZE,
	    &t)) > 0; off += (size_t)n, tag++) {
		if (t.type == FLV_TAG_VIDEO && want < 0 &&
		    flv_inspect_video(t.data, t.size, &m) == 0 && m.keyframe &&
		    !m.sequence_header)
			want = tag;
		if (probe_media(&p, t.type, t.data, t.size) && first < 0)
			first = tag;
		if (t.type == FLV_TAG_AUDIO)
			probe_media(&audio, t.type, t.data, t.size);
	}
	CHECK(want >= 0, "%s: has a keyframe picture", file);
	CHECK_EQ(first, want, "%s: the first keyframe is found", file);
	CHECK(p.audio > 0 && p.video > 0, "%s: audio and video counted", file);
	CHECK(audio.audio > 0 && strcmp(probe_missing(&audio), "audio only, no video") == 0,
	    "%s: its audio alone is audio only", file);
	free(b);
}

int
main(void)
{
	test_payloads();
	test_missing();
	test_clip("media/h264-aac.flv");
	test_clip("media/hevc-aac-ertmp.flv");
	test_clip("media/av1-opus-ertmp.flv");
	test_clip("media/vp9-opus-ertmp.flv");
	return unit_done();
}
