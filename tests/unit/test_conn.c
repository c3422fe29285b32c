#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "error.h"
#include "loop.h"
#include "tls.h"
#include "unit.h"
#include "certs.h"

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1) {
		perror("socketpair");
		exit(1);
	}
}

static unsigned char
pattern(size_t i)
{
	return (unsigned char)((i * 131 + (i >> 9)) & 0xff);
}

static void
test_plain(void)
{
	struct conn	 a, b, c, d;
	struct iovec	 iov[3], many[3000];
	unsigned char	*big, ten[10];
	size_t		 sent = 0, got = 0, total = 4 * 1024 * 1024, i;
	ssize_t		 n, most = 0;
	int		 sv[2], sv2[2], bad = 0, rounds = 0, pfd[2], fd;

	pair(sv);
	conn_init(&a, sv[0], NULL, 1024 * 1024);
	conn_init(&b, sv[1], NULL, 0);
	CHECK_EQ(conn_handshake(&a), 0, "plain handshake is a no-op");
	CHECK_EQ(conn_wants(&a), LOOP_READ, "a fresh conn wants to read");
	CHECK_EQ(conn_read(&a), 0, "nothing to read is 0");

	iov[0].iov_base = "hello ";
	iov[0].iov_len = 6;
	iov[1].iov_base = "rtmp ";
	iov[1].iov_len = 5;
	iov[2].iov_base = "world";
	iov[2].iov_len = 5;
	CHECK_EQ(conn_writev(&b, iov, 3), 16, "writev 3 iovecs");
	CHECK_EQ(conn_wants(&b), LOOP_READ, "complete write wants no LOOP_WRITE");
	CHECK_EQ(conn_read(&a), 16, "read them");
	CHECK(a.rbuf.len == 16 && memcmp(buf_data(&a.rbuf), "hello rtmp world",
	    16) == 0, "bytes land in rbuf");
	buf_consume(&a.rbuf, 16);
	CHECK_EQ(conn_read_done(&a), 0, "read done");
	CHECK(a.rbuf.cap == 0 && a.rbuf.data == NULL,
	    "a peer with nothing unconsumed holds no buffer (%zu)", a.rbuf.cap);

	/* Bytes left unconsumed move into a small buffer of the conn's own. */
	CHECK_EQ(conn_writev(&b, iov, 3), 16, "writev again");
	CHECK_EQ(conn_read(&a), 16, "read them again");
	buf_consume(&a.rbuf, 6);
	CHECK_EQ(conn_read_done(&a), 0, "read done with 10 left");
	CHECK(a.rbuf.len == 10 && memcmp(buf_data(&a.rbuf), "rtmp world", 10) == 0 &&
	    a.rbuf.cap <= 256, "the 10 bytes kept (%zu allocated)", a.rbuf.cap);
	/* Meanwhile another connection borrows and keeps the shared buffer. */
	pair(sv2);
	conn_init(&c, sv2[0], NULL, 0);
	conn_init(&d, sv2[1], NULL, 0);
	CHECK_EQ(conn_write(&d, "xyz", 3), 3, "write to a second conn");
	CHECK_EQ(conn_read(&c), 3, "the second conn reads");
	CHECK_EQ(conn_write(&b, "!", 1), 1, "one more byte to the first");
	CHECK_EQ(conn_read(&a), 1, "the first reads behind its 10");
	CHECK(a.rbuf.len == 11 && memcmp(buf_data(&a.rbuf), "rtmp world!", 11) == 0,
	    "in its own buffer, in order");
	CHECK(c.rbuf.len == 3 && memcmp(buf_data(&c.rbuf), "xyz", 3) == 0,
	    "the second conn's bytes untouched");
	buf_consume(&a.rbuf, 11);
	CHECK_EQ(conn_read_done(&a), 0, "read done, all consumed");
	CHECK_EQ(conn_write(&d, "uvw", 3), 3, "more to the second");
	CHECK_EQ(conn_read(&c), 3, "read without read done in between");
	CHECK(c.rbuf.len == 6 && memcmp(buf_data(&c.rbuf), "xyzuvw", 6) == 0,
	    "appended to what it left");
	/* Closing a conn that holds the shared buffer leaves it for others. */
	buf_consume(&c.rbuf, 6);
	CHECK_EQ(conn_write(&d, "q", 1), 1, "a last byte to the second");
	CHECK_EQ(conn_read(&c), 1, "read into the shared buffer");
	conn_close(&c);
	conn_close(&d);
	CHECK_EQ(conn_write(&b, "again", 5), 5, "write to the first");
	CHECK_EQ(conn_read(&a), 5, "the first reads into the shared buffer");
	CHECK(a.rbuf.len == 5 && memcmp(buf_data(&a.rbuf), "again", 5) == 0,
	    "after the other conn closed");
	buf_consume(&a.rbuf, 5);
	CHECK_EQ(conn_read_done(&a), 0, "read done");

	/* 4 MB through a socketpair: partial writes, bounded reads. */
	big = malloc(total);
	for (i = 0; i < total; i++)
		big[i] = pattern(i);
	while (got < total && rounds++ < 10000) {
		if (sent < total) {
			n = conn_write(&b, big + sent, total - sent);
			if (n < 0)
				break;
			sent += (size_t)n;
			if (sent < total && !(conn_wants(&b) & LOOP_WRITE))
				bad++;
		}
		n = conn_read(&a);
		if (n < 0)
			break;
		if (n > most)
			most = n;
		if (memcmp(buf_data(&a.rbuf), big + got, a.rbuf.len) != 0)
			bad++;
		got += a.rbuf.len;
		buf_consume(&a.rbuf, a.rbuf.len);
	}
	CHECK(got == total && bad == 0, "4 MB intact through partial writes");
	CHECK(most <= CONN_READ_BUDGET + CONN_READ_CHUNK,
	    "one conn_read stays within its budget (%zd)", most);
	n = conn_write(&b, big, total);
	CHECK(n >= 0 && (size_t)n < total && (conn_wants(&b) & LOOP_WRITE),
	    "a blocked write wants LOOP_WRITE");
	CHECK_EQ(conn_writev(&b, NULL, 0), 0, "writev of nothing");
	CHECK_EQ(conn_wants(&b), LOOP_READ, "and clears LOOP_WRITE");
	while (conn_read(&a) > 0)
		buf_consume(&a.rbuf, a.rbuf.len);

	/* More iovecs than IOV_MAX. */
	memset(ten, 'x', sizeof(ten));
	for (i = 0; i < 3000; i++) {
		many[i].iov_base = ten;
		many[i].iov_len = sizeof(ten);
	}
	CHECK_EQ(conn_writev(&b, many, 3000), 30000, "3000 iovecs written");
	got = 0;
	while ((n = conn_read(&a)) > 0) {
		got += (size_t)n;
		buf_consume(&a.rbuf, (size_t)n);
	}
	CHECK_EQ(got, 30000, "and read");

	/* End of stream: bytes first, then RTMP_ECLOSED. */
	conn_write(&b, "bye", 3);
	conn_close(&b);
	CHECK_EQ(conn_read(&a), 3, "bytes before the close");
	CHECK_EQ(conn_read(&a), RTMP_ECLOSED, "then RTMP_ECLOSED");
	CHECK_EQ(conn_wants(&a) & LOOP_READ, 0, "a closed conn wants no reading");
	CHECK(strcmp(conn_strerror(&a, RTMP_ECLOSED),
	    "connection closed by peer") == 0, "closed: %s",
	    conn_strerror(&a, RTMP_ECLOSED));
	/* Writing to it: EPIPE without SIGPIPE (not ignored here). */
	CHECK_EQ(conn_write(&a, "x", 1), RTMP_ECLOSED, "write after the peer left");
	CHECK(strstr(conn_strerror(&a, RTMP_ECLOSED), "pipe") != NULL ||
	    strstr(conn_strerror(&a, RTMP_ECLOSED), "reset") != NULL,
	    "write error: %s", conn_strerror(&a, RTMP_ECLOSED));
	fd = a.fd;
	conn_close(&a);
	CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF, "conn_close closes");

	/* A peer that sends more than the limit without it being consumed. */
	pair(sv);
	conn_init(&a, sv[0], NULL, 1000);
	conn_init(&b, sv[1], NULL, 0);
	conn_write(&b, big, 3000);
	CHECK_EQ(conn_read(&a), 1000, "read up to the limit");
	CHECK_EQ(conn_read(&a), RTMP_ELIMIT, "then RTMP_ELIMIT");
	conn_close(&a);
	conn_close(&b);

	/* A pipe, as to a child's stdin: writev instead of sendmsg. */
	if (pipe2(pfd, O_NONBLOCK) == 0) {
		char	 out[32];

		conn_init(&b, pfd[1], NULL, 0);
		CHECK_EQ(conn_writev(&b, iov, 3), 16, "writev to a pipe");
		CHECK(read(pfd[0], out, sizeof(out)) == 16 &&
		    memcmp(out, "hello rtmp world", 16) == 0, "pipe bytes");
		conn_close(&b);
		close(pfd[0]);
	}
	free(big);
}

/* An echo server and a client driving it through the loop. */
struct side {
	struct conn	 c;
	struct buf	 out;
	int		 server;
	size_t		 got;
	int		 bad;
	int		 failed;
	char		 why[256];
};

static size_t		 echo_total = 512 * 1024;
static struct side	*client_side;

static void
side_flush(struct side *s)
{
	ssize_t	 n;

	if (s->out.len == 0 && !(s->c.wwant))
		return;
	n = conn_write(&s->c, buf_data(&s->out), s->out.len);
	if (n < 0) {
		s->failed = (int)n;
		snprintf(s->why, sizeof(s->why), "%s",
		    conn_strerror(&s->c, (int)n));
		return;
	}
	buf_consume(&s->out, (size_t)n);
}

static void
on_side(struct loop *l, int fd, int events, void *arg)
{
	struct side	*s = arg;
	ssize_t		 n;

	(void)events;
	side_flush(s);
	do {
		if (s->failed)
			break;
		n = conn_read(&s->c);
		if (n < 0) {
			s->failed = (int)n;
			snprintf(s->why, sizeof(s->why), "%s",
			    conn_strerror(&s->c, (int)n));
			break;
		}
		if (s->server) {
			buf_append(&s->out, buf_data(&s->c.rbuf), s->c.rbuf.len);
			side_flush(s);
		} else {
			size_t	 i;

			for (i = 0; i < s->c.rbuf.len; i++)
				if (buf_data(&s->c.rbuf)[i] !=
				    pattern(s->got + i))
					s->bad++;
			s->got += s->c.rbuf.len;
		}
		buf_consume(&s->c.rbuf, s->c.rbuf.len);
	} while (n > 0 && conn_pending(&s->c));
	if (s->failed) {
		loop_remove(l, fd);
		return;
	}
	loop_modify(l, fd, conn_wants(&s->c));
}

static uint64_t
on_deadline(struct loop *l, uint64_t id, void *arg)
{
	(void)id;
	(void)arg;
	loop_stop(l);
	return LOOP_TIMER_STOP;
}

static void
on_check(struct loop *l, void *arg)
{
	(void)arg;
	if (client_side->got >= echo_total || client_side->failed)
		loop_stop(l);
}

/* Echo echo_total bytes; returns the client side's failure or 0. */
static int
echo_run(struct tls_context *cctx, struct tls_context *sctx,
    struct side *cs, struct side *ss)
{
	struct loop	*l = loop_new();
	size_t		 i;
	int		 sv[2];

	pair(sv);
	memset(cs, 0, sizeof(*cs));
	memset(ss, 0, sizeof(*ss));
	conn_init(&cs->c, sv[0], cctx ? tls_new(cctx, sv[0], 0) : NULL,
	    1024 * 1024);
	conn_init(&ss->c, sv[1], sctx ? tls_new(sctx, sv[1], 1) : NULL,
	    1024 * 1024);
	ss->server = 1;
	buf_init(&cs->out, 0);
	buf_init(&ss->out, 0);
	for (i = 0; i < echo_total; i++) {
		unsigned char	 b = pattern(i);

		buf_append(&cs->out, &b, 1);
	}
	client_side = cs;
	loop_add(l, sv[0], LOOP_READ | LOOP_WRITE, on_side, cs);
	loop_add(l, sv[1], conn_wants(&ss->c) | LOOP_READ, on_side, ss);
	loop_before_sleep(l, on_check, NULL);
	loop_timer(l, 20000, on_deadline, NULL);
	loop_run(l);
	loop_free(l);
	conn_close(&cs->c);
	conn_close(&ss->c);
	buf_free(&cs->out);
	buf_free(&ss->out);
	return cs->failed;
}

static void
test_loop_echo(int with_tls)
{
	struct tls_config	 cfg;
	struct tls_context	*cctx = NULL, *sctx = NULL, *badctx = NULL;
	struct side		 cs, ss;
	char			 err[256];
	const char		*what = with_tls ? "tls" : "plain";

	if (with_tls) {
		/* OpenSSL writes with write(2): programs ignore SIGPIPE. */
		signal(SIGPIPE, SIG_IGN);
		memset(&cfg, 0, sizeof(cfg));
		cfg.cert_file = srv_crt;
		cfg.key_file = srv_key;
		sctx = tls_context_new(&cfg, err, sizeof(err));
		memset(&cfg, 0, sizeof(cfg));
		cfg.ca_file = ca_crt;
		cfg.server_name = "localhost";
		cctx = tls_context_new(&cfg, err, sizeof(err));
		cfg.server_name = "example.com";
		badctx = tls_context_new(&cfg, err, sizeof(err));
		if (!CHECK(sctx && cctx && badctx, "tls contexts"))
			return;
	}
	CHECK_EQ(echo_run(cctx, sctx, &cs, &ss), 0, "%s: echo through the loop "
	    "without error", what);
	if (cs.failed)
		printf("# client: %s\n", cs.why);
	CHECK(cs.got == echo_total && cs.bad == 0,
	    "%s: %zu bytes echoed intact", what, echo_total);
	if (with_tls) {
		echo_run(badctx, sctx, &cs, &ss);
		CHECK_EQ(cs.failed, RTMP_ETLS, "tls: a failed verification ends the "
		    "conn with RTMP_ETLS");
		CHECK(strstr(cs.why, "certificate") != NULL, "tls: reason %s",
		    cs.why);
	}
	tls_context_free(cctx);
	tls_context_free(sctx);
	tls_context_free(badctx);
}

int
main(void)
{
	test_plain();
	test_loop_echo(0);
	if (CHECK(certs_make(), "test certificates")) {
		test_loop_echo(1);
		certs_remove();
	}
	return unit_done();
}
