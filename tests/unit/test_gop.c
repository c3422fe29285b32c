/*
 * test_gop: the GOP cache's start sequence (metadata, headers, then the
 * frames from the latest keyframe), its bounds, sequence header changes,
 * the disabled cache, and that it holds references, never copies.
 */
#include <stdint.h>
#include <string.h>

#include "gop.h"
#include "media.h"
#include "unit.h"

static struct media *
mk(uint8_t type, uint8_t flags, uint32_t ts, size_t len)
{
	static uint8_t	 zero[8192];
	struct media	*m = media_new(type, ts, zero, len);

	m->flags = flags;
	return m;
}

/* Offer a new message and drop the caller's reference, as a relay does. */
static void
add(struct gop *g, uint8_t type, uint8_t flags, uint32_t ts, size_t len)
{
	struct media	*m = mk(type, flags, ts, len);

	gop_add(g, m);
	media_unref(m);
}

int
main(void)
{
	struct gop	 g;
	struct media	*out[64], *meta, *vh, *key;
	size_t		 n, i;
	int		 ok;

	gop_init(&g, 1, 1000, 1 << 20);
	CHECK_EQ(gop_start(&g, out, 64), 0, "an empty cache starts with nothing");
	add(&g, 9, MEDIA_KEYFRAME, 0, 100);
	add(&g, 8, 0, 0, 10);
	CHECK_EQ(gop_start(&g, out, 64), 2, "a keyframe starts caching, before any header");

	gop_free(&g);
	gop_init(&g, 1, 1000, 1 << 20);
	add(&g, 8, 0, 0, 10);
	add(&g, 9, 0, 0, 100);
	CHECK_EQ(gop_start(&g, out, 64), 0, "nothing before the first keyframe is cached");

	meta = mk(18, 0, 0, 50);
	gop_set_metadata(&g, meta);
	vh = mk(9, MEDIA_SEQUENCE_HEADER | MEDIA_KEYFRAME, 0, 40);
	gop_add(&g, vh);
	add(&g, 8, MEDIA_SEQUENCE_HEADER, 0, 7);
	key = mk(9, MEDIA_KEYFRAME, 40, 1000);
	gop_add(&g, key);
	for (i = 1; i <= 10; i++) {
		add(&g, 8, 0, 40 + i * 20, 10);
		add(&g, 9, 0, 40 + i * 40, 100);
	}
	n = gop_start(&g, out, 64);
	CHECK_EQ(n, 3 + 1 + 20, "metadata, two headers, the keyframe and 20 messages after it");
	CHECK(out[0] == meta && out[1] == vh && out[2]->type == 8 &&
	    (out[2]->flags & MEDIA_SEQUENCE_HEADER), "metadata, then video header, then audio header");
	CHECK(out[3] == key, "the first cached frame is the keyframe itself, not a copy");
	CHECK(meta->refs == 2 && key->refs == 2, "the cache holds one reference of its own");
	ok = 1;
	for (i = 4; i < n; i++)
		if (out[i]->timestamp < out[i - 1]->timestamp && out[i]->type == out[i - 1]->type)
			ok = 0;
	CHECK(ok, "cached frames come out in arrival order");
	CHECK_EQ(gop_start(&g, out, 2), n, "a short array still learns the full count");

	/* The next keyframe restarts the GOP. */
	add(&g, 9, MEDIA_KEYFRAME, 1000, 900);
	n = gop_start(&g, out, 64);
	CHECK(n == 4 && out[3]->timestamp == 1000, "a new keyframe drops the old GOP");
	CHECK_EQ(key->refs, 1, "the old GOP's references are given back");
	CHECK_EQ(g.bytes, 900, "bytes count what is cached");

	/* A new sequence header: frames of the old configuration go. */
	add(&g, 9, MEDIA_SEQUENCE_HEADER, 1040, 44);
	add(&g, 9, 0, 1080, 100);
	n = gop_start(&g, out, 64);
	CHECK(n == 3 && out[1]->len == 44 && vh->refs == 1,
	    "a new video header replaces the old and empties the frames until a keyframe");
	add(&g, 9, MEDIA_KEYFRAME, 1120, 100);
	CHECK_EQ(gop_start(&g, out, 64), 4, "caching resumes at the keyframe after it");

	/* Bounds: a GOP past max_bytes is dropped until the next keyframe. */
	gop_free(&g);
	gop_init(&g, 1, 1000, 1000);
	add(&g, 9, MEDIA_KEYFRAME, 0, 400);
	add(&g, 9, 0, 40, 400);
	CHECK_EQ(gop_start(&g, out, 64), 2, "800 bytes fit a 1000-byte cache");
	add(&g, 9, 0, 80, 400);
	CHECK(gop_start(&g, out, 64) == 0 && g.overflows == 1,
	    "the GOP that outgrows max_bytes is dropped whole and counted");
	add(&g, 9, 0, 120, 10);
	CHECK_EQ(gop_start(&g, out, 64), 0, "and nothing is cached until the next keyframe");
	add(&g, 9, MEDIA_KEYFRAME, 160, 10);
	CHECK_EQ(gop_start(&g, out, 64), 1, "which starts caching again");
	add(&g, 9, MEDIA_KEYFRAME, 200, 5000);
	CHECK_EQ(gop_start(&g, out, 64), 0, "a keyframe larger than the cache is not kept");

	gop_free(&g);
	gop_init(&g, 1, 3, 1 << 20);
	add(&g, 9, MEDIA_KEYFRAME, 0, 1);
	add(&g, 9, 0, 40, 1);
	add(&g, 9, 0, 80, 1);
	CHECK_EQ(gop_start(&g, out, 64), 3, "max_messages messages fit");
	add(&g, 9, 0, 120, 1);
	CHECK_EQ(gop_start(&g, out, 64), 0, "one more drops the GOP");

	/* Disabled: headers and metadata only. */
	gop_free(&g);
	gop_init(&g, 0, 1000, 1 << 20);
	gop_set_metadata(&g, meta);
	add(&g, 9, MEDIA_SEQUENCE_HEADER, 0, 40);
	add(&g, 8, MEDIA_SEQUENCE_HEADER, 0, 7);
	add(&g, 9, MEDIA_KEYFRAME, 0, 1000);
	add(&g, 8, 0, 20, 10);
	CHECK_EQ(gop_start(&g, out, 64), 3, "a disabled cache keeps metadata and headers only");
	add(&g, 20, 0, 0, 10);
	CHECK_EQ(gop_start(&g, out, 64), 3, "commands are not cached");
	gop_set_metadata(&g, NULL);
	CHECK_EQ(gop_start(&g, out, 64), 2, "metadata can be cleared");

	gop_clear_frames(&g);
	gop_free(&g);
	CHECK(meta->refs == 1 && vh->refs == 1 && key->refs == 1,
	    "gop_free gives back every reference");
	media_unref(meta);
	media_unref(vh);
	media_unref(key);
	return unit_done();
}
