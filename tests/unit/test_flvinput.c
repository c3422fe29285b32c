/*
 * test_flvinput: a live FLV read on the loop from a pipe (in pieces, tags
 * split anywhere), a regular file (read from a timer), and the first writer
 * on a unix socket; the end comes once with 0, and not-FLV and a tag over
 * the limit end it with RTMP_EPROTO and RTMP_ELIMIT.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "flv.h"
#include "flvinput.h"
#include "loop.h"
#include "unit.h"

struct seen {
	int	 tags, ends, error, writers;
	uint32_t last_ts;
	size_t	 bytes;
};

static void
on_tag(struct flvinput *in, const struct flv_tag *t, void *arg)
{
	struct seen	*s = arg;

	(void)in;
	s->tags++;
	s->last_ts = t->timestamp;
	s->bytes += t->size;
}

static void
on_end(struct flvinput *in, int error, const char *reason, void *arg)
{
	struct seen	*s = arg;

	(void)in;
	(void)reason;
	s->ends++;
	s->error = error;
}

static void
on_writer(struct flvinput *in, const char *address, void *arg)
{
	(void)in;
	(void)address;
	((struct seen *)arg)->writers++;
}

static const struct flvinput_events events = { on_tag, on_end, on_writer };

/* An FLV of n video tags of size bytes, 40 ms apart. */
static size_t
make_flv(uint8_t *out, int n, uint32_t size)
{
	size_t	 off;
	int	 i;

	flv_write_header(out, 1, 1);
	off = FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE;
	for (i = 0; i < n; i++) {
		flv_write_tag_header(out + off, FLV_TAG_VIDEO, size, (uint32_t)i * 40);
		off += FLV_TAG_HEADER_SIZE;
		memset(out + off, 0x27, size);
		off += size;
		flv_write_previous_size(out + off, size + FLV_TAG_HEADER_SIZE);
		off += FLV_PREVIOUS_SIZE;
	}
	return off;
}

static void
run(struct loop *loop, struct seen *s, int turns)
{
	while (s->ends == 0 && turns-- > 0)
		loop_once(loop, 10);
}

int
main(void)
{
	static uint8_t	 flv[200000];
	struct loop	*loop = loop_new();
	struct flvinput	*in;
	struct seen	 s;
	char		 err[256], path[64], sock[80];
	size_t		 len, off, step;
	int		 p[2], fd, i;

	signal(SIGPIPE, SIG_IGN);
	len = make_flv(flv, 100, 1500);

	/* A pipe, written in odd pieces. */
	memset(&s, 0, sizeof(s));
	if (pipe(p) < 0)
		return 1;
	snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
	in = flvinput_open(loop, path, 0, &events, &s, err, sizeof(err));
	CHECK(in != NULL, "a pipe opens: %s", in != NULL ? "" : err);
	for (off = 0, step = 7; off < len; off += step, step = step * 3 % 4096 + 1) {
		if (step > len - off)
			step = len - off;
		CHECK_EQ(write(p[1], flv + off, step), (long long)step, "piece at %zu", off);
		loop_once(loop, 0);
	}
	close(p[1]);
	run(loop, &s, 100);
	CHECK_EQ(s.tags, 100, "every tag, whatever the pieces");
	CHECK_EQ(s.last_ts, 99 * 40, "in order");
	CHECK(s.ends == 1 && s.error == 0, "a clean end once");
	CHECK_EQ(flvinput_tags(in), 100, "counted");
	CHECK_EQ(flvinput_bytes(in), len, "every byte");
	flvinput_free(in);
	close(p[0]);

	/* A regular file: epoll cannot watch it, a timer reads it. */
	memset(&s, 0, sizeof(s));
	snprintf(path, sizeof(path), "/tmp/test_flvinput.%d", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK_EQ(write(fd, flv, len), (long long)len, "file written");
	close(fd);
	in = flvinput_open(loop, path, 0, &events, &s, err, sizeof(err));
	run(loop, &s, 100);
	CHECK(s.tags == 100 && s.ends == 1 && s.error == 0, "a regular file is read whole");
	flvinput_free(in);

	/* A tag larger than the limit ends it from the header alone. */
	memset(&s, 0, sizeof(s));
	in = flvinput_open(loop, path, 1000, &events, &s, err, sizeof(err));
	run(loop, &s, 100);
	CHECK(s.tags == 0 && s.ends == 1 && s.error == RTMP_ELIMIT, "a tag over the limit");
	flvinput_free(in);

	/* Not FLV. */
	memset(&s, 0, sizeof(s));
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK_EQ(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18, "junk written");
	close(fd);
	in = flvinput_open(loop, path, 0, &events, &s, err, sizeof(err));
	run(loop, &s, 100);
	CHECK(s.ends == 1 && s.error == RTMP_EPROTO, "not FLV");
	flvinput_free(in);
	unlink(path);

	/* A missing file is an error at once. */
	in = flvinput_open(loop, "/nonexistent/x.flv", 0, &events, &s, err, sizeof(err));
	CHECK(in == NULL && strstr(err, "No such file") != NULL, "missing: %s", err);

	/* unix:PATH: the first writer is the input. */
	memset(&s, 0, sizeof(s));
	snprintf(sock, sizeof(sock), "unix:/tmp/test_flvinput.%d.sock", (int)getpid());
	in = flvinput_open(loop, sock, 0, &events, &s, err, sizeof(err));
	CHECK(in != NULL, "a unix socket listens: %s", in != NULL ? "" : err);
	{
		struct sockaddr_un	 sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strlcpy(sun.sun_path, sock + 5, sizeof(sun.sun_path));
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK_EQ(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0, "a writer connects");
		for (i = 0; i < 20; i++)
			loop_once(loop, 10);
		for (off = 0; off < len; off += (size_t)i) {
			if ((i = (int)write(fd, flv + off, len - off > 8192 ? 8192 : len - off)) <= 0)
				break;
			loop_once(loop, 0);
		}
		close(fd);
	}
	run(loop, &s, 200);
	CHECK_EQ(s.writers, 1, "its writer announced");
	CHECK(s.tags == 100 && s.ends == 1 && s.error == 0, "the writer's stream read whole");
	flvinput_free(in);
	unlink(sock + 5);
	loop_free(loop);
	return unit_done();
}
