/*
 * test_flvcopy: a live stream copied to a pipe as one FLV (header,
 * metadata bare, tags, trailers); a reader that stops reading never grows
 * the queue past its bound and skips to a keyframe, the headers kept; a
 * reader that goes away fails the copy once with EPIPE, and the copy
 * takes nothing more.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flv.h"
#include "flvcopy.h"
#include "loop.h"
#include "unit.h"

static const uint8_t set_data_frame[] = {
	2, 0, 13, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a', 'm', 'e',
	2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a',
	8, 0, 0, 0, 0, 0, 0, 9
};
static const uint8_t avc_header[] = { 0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f };
static uint8_t key[5000] = { 0x17, 1 }, inter[1000] = { 0x27, 1 };

static int	 failures, fail_errno;

static void
on_failed(struct flvcopy *c, void *arg)
{
	(void)c;
	(void)arg;
	failures++;
	fail_errno = errno;
}

static const struct flvcopy_events events = { on_failed };

int
main(void)
{
	static uint8_t	 got[1 << 20];
	struct loop	*loop = loop_new();
	struct flvcopy	*c;
	struct flv_tag	 t;
	size_t		 n = 0, off;
	ssize_t		 r;
	int		 p[2], i, rc, tags = 0, video = 0;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) < 0)
		return 1;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	c = flvcopy_new(loop, p[1], 65536, 0, &events, NULL);
	flvcopy_message(c, 18, 0, set_data_frame, sizeof(set_data_frame));
	flvcopy_message(c, 9, 0, avc_header, sizeof(avc_header));
	flvcopy_message(c, 9, 0, key, sizeof(key));
	for (i = 1; i <= 10; i++)
		flvcopy_message(c, 9, (uint32_t)i * 33, inter, sizeof(inter));
	flvcopy_flush(c);
	CHECK_EQ(flvcopy_queued(c), 0, "all written");
	while ((r = read(p[0], got + n, sizeof(got) - n)) > 0)
		n += (size_t)r;
	CHECK(n > 13 && memcmp(got, "FLV\x01", 4) == 0, "an FLV header first");
	for (off = 13; (rc = flv_parse_tag(got + off, n - off, 1 << 20, &t)) > 0; off += (size_t)rc) {
		CHECK(t.previous_size_ok, "tag %d trailer right", tags);
		if (tags == 0)
			CHECK(t.type == 18 && t.data[3] == 'o', "metadata bare, without @setDataFrame");
		tags++;
		video += t.type == 9;
	}
	CHECK_EQ(off, n, "whole tags to the end");
	CHECK_EQ(tags, 13, "every message");
	CHECK_EQ(video, 12, "12 video tags");

	/* Nobody reads: the queue stays bounded and skips to keyframes. */
	for (i = 0; i < 2000; i++) {
		flvcopy_message(c, 9, 1000 + (uint32_t)i * 33, i % 30 == 0 ? key : inter,
		    i % 30 == 0 ? sizeof(key) : sizeof(inter));
		flvcopy_flush(c);
		CHECK(flvcopy_queued(c) <= 2 * 65536, "bounded at %d: %zu", i,
		    flvcopy_queued(c));
	}
	CHECK(flvcopy_skips(c) > 0, "skipped ahead %llu times",
	    (unsigned long long)flvcopy_skips(c));
	CHECK_EQ(failures, 0, "a slow reader is no failure");

	/* The reader goes away. */
	close(p[0]);
	flvcopy_message(c, 9, 100000, key, sizeof(key));
	flvcopy_flush(c);
	for (i = 0; i < 10; i++)
		loop_once(loop, 10);
	CHECK(failures == 1 && fail_errno == EPIPE, "failed once with EPIPE");
	CHECK(flvcopy_failed(c) && flvcopy_queued(c) == 0, "and dropped everything");
	flvcopy_message(c, 9, 100033, inter, sizeof(inter));
	CHECK_EQ(flvcopy_queued(c), 0, "nothing more is taken");
	flvcopy_free(c);
	close(p[1]);
	loop_free(loop);
	return unit_done();
}
