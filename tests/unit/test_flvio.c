/*
 * test_flvio: flvreader reads the sample file in pieces of every size and
 * finds every tag; flvwriter turns those tags, sent as a publisher sends
 * them (metadata behind @setDataFrame, plus |RtmpSampleAccess and onStatus
 * data that do not belong in a file), into one FLV with the same payloads,
 * and keeps its clock when metadata comes again at 0 mid-stream.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "flv.h"
#include "flvreader.h"
#include "flvwriter.h"
#include "unit.h"

/* Every tag of buf read in pieces of `step` bytes; -1 on an error. */
static long
read_in_pieces(const uint8_t *buf, size_t len, size_t step)
{
	struct flvreader	 r;
	struct flv_tag		 t;
	size_t			 have = 0, used = 0;
	long			 tags = 0;
	int			 rc, got;

	flvreader_init(&r, 0);
	while (used < len) {
		if (have < len)
			have = have + step < len ? have + step : len;
		rc = flvreader_next(&r, buf + used, have - used, &t, &got);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (have == len)
				break;
			continue;
		}
		used += (size_t)rc;
		tags += got;
	}
	return used == len ? tags : -1;
}

static void
reader(const uint8_t *buf, size_t len)
{
	static const size_t	 steps[] = { 1, 7, 11, 15, 4096, 65536, 1 << 24 };
	struct flvreader	 r;
	struct flv_tag		 t;
	size_t			 i;
	int			 bad = 0, got;
	uint8_t			 notflv[13] = "FLX";

	/* 1 onMetaData, 182 video and 284 audio tags (tests/data/media/README.md). */
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		bad += read_in_pieces(buf, len, steps[i]) != 467;
	CHECK_EQ(bad, 0, "all 467 tags, read in pieces of 1 byte to the whole file");
	flvreader_init(&r, 0);
	CHECK(flvreader_next(&r, notflv, sizeof(notflv), &t, &got) == RTMP_EPROTO,
	    "not FLV is RTMP_EPROTO");
	flvreader_init(&r, 0);
	CHECK(flvreader_next(&r, buf, len, &t, &got) == 13 && !got,
	    "the header is consumed without a tag");
	flvreader_init(&r, 10);
	flvreader_next(&r, buf, len, &t, &got);
	CHECK(flvreader_next(&r, buf + 13, 11, &t, &got) == RTMP_ELIMIT,
	    "a tag over max_tag is refused from its header alone");
}

struct out {
	uint8_t	*p;
	size_t	 len;
};

static void
put(struct out *o, const struct flvwriter_tag *t)
{
	memcpy(o->p + o->len, t->head, t->head_len);
	memcpy(o->p + o->len + t->head_len, t->payload, t->len);
	memcpy(o->p + o->len + t->head_len + t->len, t->trailer, 4);
	o->len += flvwriter_tag_size(t);
}

static void
writer(const uint8_t *buf, size_t len)
{
	static const uint8_t	 sample_access[] = { 2, 0, 17, '|', 'R', 't', 'm', 'p',
		'S', 'a', 'm', 'p', 'l', 'e', 'A', 'c', 'c', 'e', 's', 's', 1, 1, 1, 1 };
	static const uint8_t	 on_status[] = { 2, 0, 8, 'o', 'n', 'S', 't', 'a', 't',
		'u', 's', 5 };
	struct flvwriter	 w;
	struct flvwriter_tag	 wt;
	struct flvreader	 r;
	struct flv_tag		 t, u;
	struct out		 o;
	uint8_t			*wrapped;
	size_t			 used = 13, back = 13;
	int			 got, n = 0, same = 0, skipped = 0, headers = 0, rc;
	uint32_t		 last_video = 0, last_out = 0, expect;

	o.p = malloc(len * 2);
	o.len = 0;
	wrapped = malloc(len);
	flvwriter_init(&w);
	while (used < len) {
		flv_parse_tag(buf + used, len - used, FLV_MAX_TAG_SIZE, &t);
		used += 15 + t.size;
		if (t.type == FLV_TAG_SCRIPT) {
			/* As a publisher sends it: behind @setDataFrame, then noise. */
			memcpy(wrapped, "\x02\x00\x0d@setDataFrame", 16);
			memcpy(wrapped + 16, t.data, t.size);
			rc = flvwriter_tag(&w, 18, t.timestamp, wrapped, 16 + t.size, &wt);
			CHECK(rc == 1 && wt.len == t.size && wt.duration_offset > 0,
			    "@setDataFrame is stripped; duration found");
			put(&o, &wt);
			skipped += flvwriter_tag(&w, 18, 0, sample_access,
			    sizeof(sample_access), &wt) == 0;
			skipped += flvwriter_tag(&w, 18, 0, on_status, sizeof(on_status), &wt) == 0;
			continue;
		}
		if (flvwriter_tag(&w, t.type, t.timestamp, t.data, t.size, &wt) == 1)
			put(&o, &wt);
		n++;
		/* Metadata again at 0 half way, as nginx-rtmp re-sends it. */
		if (n == 200) {
			memcpy(wrapped, "\x02\x00\x0aonMetaData\x05", 14);
			CHECK_EQ(flvwriter_tag(&w, 18, 0, wrapped, 14, &wt), 1,
			    "bare metadata mid-stream is kept");
			CHECK(wt.timestamp >= 2000, "and stamped with the current time (%llu)",
			    (unsigned long long)wt.timestamp);
			put(&o, &wt);
		}
	}
	CHECK_EQ(skipped, 2, "|RtmpSampleAccess and onStatus stay out of the file");
	CHECK_EQ(flvwriter_tag(&w, 20, 0, buf, 10, &wt), 0, "a command is not a tag");
	/* The output has the source's audio/video payloads, one header, no splice. */
	flvreader_init(&r, 0);
	for (used = 0; used < o.len;) {
		rc = flvreader_next(&r, o.p + used, o.len - used, &u, &got);
		if (rc <= 0)
			break;
		used += (size_t)rc;
		if (!got || u.type == FLV_TAG_SCRIPT)
			continue;
		do {
			flv_parse_tag(buf + back, len - back, FLV_MAX_TAG_SIZE, &t);
			back += 15 + t.size;
		} while (t.type == FLV_TAG_SCRIPT);
		/* A step back (the end of sequence after later audio) is held. */
		expect = t.timestamp > last_out ? t.timestamp : last_out;
		last_out = u.timestamp;
		if (t.size == u.size && memcmp(t.data, u.data, t.size) == 0 &&
		    u.timestamp == expect)
			same++;
		else
			printf("# differs: type %u ts %u -> %u size %u -> %u\n", t.type,
			    t.timestamp, u.timestamp, t.size, u.size);
		if (u.type == FLV_TAG_VIDEO) {
			if (u.timestamp < last_video)
				same = -10000;
			last_video = u.timestamp;
		}
	}
	CHECK(used == o.len && same == n, "every payload and timestamp unchanged, steps back held (%d of %d)",
	    same, n);
	headers = memcmp(o.p, "FLV", 3) == 0 && memmem(o.p + 3, o.len - 3, "FLV\x01", 4) == NULL;
	CHECK(headers, "one FLV header, at the start");
	free(o.p);
	free(wrapped);
}

int
main(void)
{
	uint8_t	*buf;
	size_t	 len;

	if ((buf = unit_read_data("media/h264-aac.flv", &len)) == NULL)
		return unit_done();
	reader(buf, len);
	writer(buf, len);
	free(buf);
	return unit_done();
}
