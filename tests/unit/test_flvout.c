/*
 * lib/flvout on a real pipe: one FLV header, a new segment's identical
 * sequence headers left out and changed ones kept, back pressure (full,
 * then `drained` once the reader took it), EPIPE reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "flv.h"
#include "flvout.h"
#include "loop.h"
#include "unit.h"

static const uint8_t avc_seq[] = { 0x17, 0x00, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff };
static const uint8_t avc_seq2[] = { 0x17, 0x00, 0, 0, 0, 1, 0x4d, 0, 0x1f, 0xff };
static const uint8_t aac_seq[] = { 0xaf, 0x00, 0x11, 0x90 };
static const uint8_t key[] = { 0x17, 0x01, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88 };

static int drained, failed;

static void
on_drained(struct flvout *o, void *arg)
{
	(void)o;
	(void)arg;
	drained++;
}

static void
on_fail(struct flvout *o, void *arg)
{
	(void)o;
	(void)arg;
	failed++;
}

static size_t
drain(int fd, uint8_t *b, size_t size)
{
	ssize_t	 n;
	size_t	 got = 0;

	while (got < size && (n = read(fd, b + got, size - got)) > 0)
		got += (size_t)n;
	return got;
}

static size_t
count(const uint8_t *b, size_t len, const uint8_t *needle, size_t nlen)
{
	size_t	 i, c = 0;

	for (i = 0; i + nlen <= len; i++)
		c += memcmp(b + i, needle, nlen) == 0;
	return c;
}

int
main(void)
{
	struct loop	*loop = loop_new();
	struct flvout	 o;
	static uint8_t	 got[1 << 20], big[60000];
	int		 p[2], i, rc;
	size_t		 n;

	signal(SIGPIPE, SIG_IGN);
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe");
	flvout_init(&o, loop, p[1], 100000, on_drained, on_fail, NULL);
	CHECK_EQ(flvout_message(&o, 9, 0, avc_seq, sizeof(avc_seq)), 0, "video sequence header");
	CHECK_EQ(flvout_message(&o, 8, 0, aac_seq, sizeof(aac_seq)), 0, "audio sequence header");
	CHECK_EQ(flvout_message(&o, 9, 0, key, sizeof(key)), 0, "keyframe");
	flvout_segment(&o);
	CHECK_EQ(flvout_message(&o, 9, 0, avc_seq, sizeof(avc_seq)), 0, "same video header again");
	CHECK_EQ(flvout_message(&o, 8, 0, aac_seq, sizeof(aac_seq)), 0, "same audio header again");
	CHECK_EQ(flvout_message(&o, 9, 40, key, sizeof(key)), 0, "keyframe of the new segment");
	flvout_segment(&o);
	CHECK_EQ(flvout_message(&o, 9, 0, avc_seq2, sizeof(avc_seq2)), 0, "changed video header");
	n = drain(p[0], got, sizeof(got));
	CHECK_EQ(count(got, n, (const uint8_t *)"FLV\x01", 4), 1, "one FLV header");
	CHECK_EQ(count(got, n, avc_seq, sizeof(avc_seq)), 1, "same video header written once");
	CHECK_EQ(count(got, n, aac_seq, sizeof(aac_seq)), 1, "same audio header written once");
	CHECK_EQ(count(got, n, avc_seq2, sizeof(avc_seq2)), 1, "changed video header written");
	CHECK_EQ(count(got, n, key, sizeof(key)), 2, "both keyframes written");
	CHECK_EQ(o.bytes, n, "bytes counted");

	/* The pipe holds 64 KiB: the rest waits, then the producer is told to stop. */
	memset(big, 0x27, sizeof(big));
	big[0] = 0x27;
	big[1] = 0x01;
	for (i = 0; i < 5 && !flvout_full(&o); i++)
		CHECK_EQ(flvout_message(&o, 9, 100 + i, big, sizeof(big)), 0, "big frame %d", i);
	CHECK(flvout_full(&o), "full past 100000 bytes");
	CHECK(flvout_pending(&o) > 0, "bytes wait for the reader");
	for (i = 0; i < 20 && drained == 0; i++) {
		drain(p[0], got, sizeof(got));
		loop_once(loop, 100);
	}
	CHECK_EQ(drained, 1, "drained once the reader took it");
	CHECK(!flvout_full(&o), "no longer full");

	/* At the end: a stuck reader costs the timeout, a reading one nothing. */
	for (i = 0; i < 3; i++)
		flvout_message(&o, 9, 150 + i, big, sizeof(big));
	CHECK_EQ(flvout_drain(&o, 200), RTMP_ETIMEOUT, "drain gives up on a stuck reader");
	for (i = 0, rc = -1; i < 20 && rc != 0; i++) {
		drain(p[0], got, sizeof(got));
		rc = flvout_drain(&o, 100);
	}
	CHECK_EQ(rc, 0, "drain with a reader");
	CHECK_EQ(flvout_pending(&o), 0, "nothing left");

	/* The reader goes away. */
	close(p[0]);
	rc = flvout_message(&o, 9, 200, key, sizeof(key));
	CHECK(rc == RTMP_ESYS && errno == EPIPE, "EPIPE when the reader left");
	CHECK_EQ(flvout_message(&o, 9, 240, key, sizeof(key)), RTMP_ESYS, "and after");
	CHECK_EQ(failed, 0, "direct writes report by status, not callback");
	flvout_free(&o);
	close(p[1]);
	loop_free(loop);
	return unit_done();
}
