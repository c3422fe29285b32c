/*
 * test_buf: the growable buffer's contract (never a NULL data pointer, the
 * limit, compaction keeps the unread bytes) and the media payload's
 * reference count.  A fresh buffer once gave NULL + 0 to a parser, which
 * UBSan reports as undefined; the first checks pin that down.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "media.h"
#include "unit.h"

int
main(void)
{
	struct buf	 b;
	struct media	*m, *r;
	uint8_t		*space;
	size_t		 avail, i;
	int		 ok;

	buf_init(&b, 0);
	CHECK(buf_data(&b) != NULL, "a fresh buffer's data is not NULL");
	CHECK_EQ(b.len, 0, "a fresh buffer is empty");
	CHECK_EQ(buf_reserve(&b, 0), 0, "reserve 0 on a fresh buffer");
	space = buf_space(&b, &avail);
	CHECK(space != NULL && avail > 0, "reserve 0 still gives space to write into");
	buf_free(&b);
	CHECK(buf_data(&b) != NULL, "a freed buffer's data is not NULL");

	buf_init(&b, 1000);
	CHECK_EQ(buf_append(&b, "", 0), 0, "appending nothing succeeds");
	for (i = 0; i < 100; i++)
		if (buf_append(&b, "0123456789", 10) != 0)
			break;
	CHECK_EQ(i, 100, "1000 bytes fit a 1000-byte limit");
	CHECK_EQ(buf_append(&b, "x", 1), RTMP_ELIMIT, "one more byte is refused with RTMP_ELIMIT");
	CHECK_EQ(b.len, 1000, "a refused append leaves the buffer as it was");
	buf_consume(&b, 995);
	CHECK(memcmp(buf_data(&b), "56789", 5) == 0, "consume drops from the front");
	CHECK_EQ(buf_append(&b, "abc", 3), 0, "appending after a consume reuses the freed front");
	CHECK(memcmp(buf_data(&b), "56789abc", 8) == 0, "compaction keeps the unread bytes in order");
	buf_consume(&b, 100);
	CHECK_EQ(b.len, 0, "consuming more than is there empties the buffer");
	CHECK_EQ(buf_reserve(&b, SIZE_MAX), RTMP_ELIMIT, "reserving SIZE_MAX fails without overflow");
	buf_free(&b);

	buf_init(&b, 0);
	ok = 1;
	for (i = 0; i < 5000; i++) {
		uint8_t c = (uint8_t)i;

		if (buf_append(&b, &c, 1) != 0)
			ok = 0;
		if (i % 3 == 0)
			buf_consume(&b, 1);
	}
	for (i = 0; i < b.len; i++)
		if (buf_data(&b)[i] != (uint8_t)(i + 5000 - b.len))
			ok = 0;
	CHECK(ok, "interleaved appends and consumes keep order while growing");
	buf_free(&b);

	m = media_new(9, 1234, "abcd", 4);
	CHECK(m != NULL && m->refs == 1, "media_new gives one reference");
	CHECK(m->len == 4 && memcmp(m->data, "abcd", 4) == 0 && m->timestamp == 1234 && m->type == 9,
	    "media_new copies the payload, type and timestamp");
	r = media_ref(m);
	CHECK(r == m && m->refs == 2, "media_ref shares the same payload");
	media_unref(r);
	CHECK_EQ(m->refs, 1, "media_unref gives one back");
	media_unref(m);
	m = media_new(8, 0, NULL, 0);
	CHECK(m != NULL && m->len == 0, "an empty payload is allowed");
	media_unref(m);

	CHECK(media_timestamp_wrapped(UINT32_MAX - 20, 13), "34 ms across 2^32 is the wrap");
	CHECK(media_timestamp_wrapped(UINT32_MAX - 59999, 0), "a minute across 2^32 is the wrap");
	CHECK(!media_timestamp_wrapped(UINT32_MAX - 60000, 0), "more than a minute is not");
	CHECK(!media_timestamp_wrapped(3000000000u, 0), "a restart at 0 after 35 days is not");
	CHECK(!media_timestamp_wrapped(5000, 4000), "a second back is not");
	CHECK(!media_timestamp_wrapped(4000, 5000), "forward is not");
	CHECK(!media_timestamp_wrapped(7, 7), "standing still is not");
	return unit_done();
}
