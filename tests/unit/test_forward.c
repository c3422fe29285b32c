#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "error.h"
#include "forward.h"
#include "loop.h"
#include "tls.h"
#include "unit.h"
#include "certs.h"

/* The test's own ends: what the client and the backend see. */
struct end {
	struct conn	 c;
	size_t		 sent, got;
	int		 bad;
};

struct result {
	int		 closed;
	int		 error;
	char		 reason[128];
	uint64_t	 in, out;
};

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("socketpair");
		exit(1);
	}
}

static uint8_t
pattern(size_t i, int dir)
{
	return (uint8_t)((i * 131 + (i >> 9) + dir * 7) & 0xff);
}

static void
closed(struct forward *f, int error, const char *reason, void *arg)
{
	struct result	*r = arg;

	r->closed++;
	r->error = error;
	strlcpy(r->reason, reason, sizeof(r->reason));
	forward_bytes(f, &r->in, &r->out);
}

static const struct forward_events events = { .closed = closed };

/* Send up to total more bytes from e (dir for the pattern); 0 or an error. */
static int
end_send(struct end *e, size_t total, int dir)
{
	uint8_t	 chunk[8192];
	size_t	 n, i;
	ssize_t	 w;

	while (e->sent < total) {
		n = total - e->sent < sizeof(chunk) ? total - e->sent : sizeof(chunk);
		for (i = 0; i < n; i++)
			chunk[i] = pattern(e->sent + i, dir);
		if ((w = conn_write(&e->c, chunk, n)) < 0)
			return (int)w;
		e->sent += (size_t)w;
		if ((size_t)w < n)
			break;
	}
	return 0;
}

/* Read what arrived at e and check it against the pattern of dir. */
static ssize_t
end_recv(struct end *e, int dir)
{
	ssize_t	 n = conn_read(&e->c);
	size_t	 i;

	if (n <= 0)
		return n;
	for (i = 0; i < e->c.rbuf.len; i++)
		if (buf_data(&e->c.rbuf)[i] != pattern(e->got + i, dir))
			e->bad++;
	e->got += e->c.rbuf.len;
	buf_consume(&e->c.rbuf, e->c.rbuf.len);
	return n;
}

/*
 * total bytes each way at once through a forward, then both half-close:
 * `closed` says "finished" with the counts.
 */
static void
test_both_ways(const char *what, int no_splice, struct tls_context *sctx,
    struct tls_context *cctx)
{
	struct loop		*l = loop_new();
	struct forward_config	 cfg = { .no_splice = no_splice };
	struct result		 r;
	struct end		 client, backend;
	struct forward		*f;
	int			 a[2], b[2], i, shut = 0;
	size_t			 total = 2 * 1024 * 1024;

	memset(&r, 0, sizeof(r));
	pair(a);
	pair(b);
	conn_init(&client.c, a[0], cctx != NULL ? tls_new(cctx, a[0], 0) : NULL, 0);
	conn_init(&backend.c, b[0], NULL, 0);
	client.sent = client.got = backend.sent = backend.got = 0;
	client.bad = backend.bad = 0;
	f = forward_new(l, a[1], sctx != NULL ? tls_new(sctx, a[1], 1) : NULL, b[1], NULL,
	    &cfg, &events, &r);
	if (!CHECK(f != NULL, "%s: made", what))
		return;
	CHECK_EQ(forward_spliced(f), sctx == NULL && !no_splice, "%s: spliced or not", what);
	for (i = 0; i < 20000 && !r.closed; i++) {
		if (end_send(&client, total, 0) < 0 || end_send(&backend, total, 1) < 0)
			break;
		(void)end_recv(&client, 1);
		(void)end_recv(&backend, 0);
		if (!shut && client.sent == total && backend.got == total &&
		    backend.sent == total && client.got == total) {
			/* Each side ends its sending: both directions close in turn. */
			shutdown(a[0], SHUT_WR);
			shut = 1;
		}
		if (shut == 1 && backend.c.eof) {
			shutdown(b[0], SHUT_WR);
			shut = 2;
		}
		loop_once(l, 5);
	}
	CHECK(client.got == total && backend.got == total && !client.bad && !backend.bad,
	    "%s: %zu bytes intact each way (%zu, %zu)", what, total, backend.got, client.got);
	CHECK(shut == 2, "%s: the backend saw the client's EOF", what);
	CHECK(r.closed == 1 && r.error == 0 && strcmp(r.reason, "finished") == 0,
	    "%s: closed once, finished (%d %s)", what, r.error, r.reason);
	CHECK(r.in == total && r.out == total, "%s: counted %llu in, %llu out", what,
	    (unsigned long long)r.in, (unsigned long long)r.out);
	conn_close(&client.c);
	conn_close(&backend.c);
	loop_free(l);
}

/*
 * A backend that reads nothing: the client's writes block after a bounded
 * amount (socket buffers and one buffer), never all of it.  Then the
 * client half-closes and still gets the backend's answer; the backend's
 * reset ends it with an error.
 */
static void
test_pressure(const char *what, int no_splice)
{
	struct loop		*l = loop_new();
	struct forward_config	 cfg = { .no_splice = no_splice, .buffer = 65536 };
	struct result		 r;
	struct end		 client;
	struct forward		*f;
	int			 a[2], b[2], i, sndbuf = 65536;
	size_t			 total = 32 * 1024 * 1024;
	char			 answer[16];
	ssize_t			 n = 0;

	memset(&r, 0, sizeof(r));
	memset(&client, 0, sizeof(client));
	pair(a);
	pair(b);
	setsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(b[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	conn_init(&client.c, a[0], NULL, 0);
	f = forward_new(l, a[1], NULL, b[1], NULL, &cfg, &events, &r);
	for (i = 0; i < 400; i++) {
		end_send(&client, total, 0);
		loop_once(l, 2);
	}
	CHECK(client.sent < 4 * 1024 * 1024, "%s: a backend that does not read stops the "
	    "client after %zu bytes", what, client.sent);
	CHECK(r.closed == 0, "%s: still open", what);
	shutdown(a[0], SHUT_WR);
	write(b[0], "answer", 6);
	for (i = 0; i < 200 && n <= 0; i++) {
		loop_once(l, 2);
		n = read(a[0], answer, sizeof(answer));
	}
	CHECK(n == 6 && memcmp(answer, "answer", 6) == 0, "%s: half-closed, the client "
	    "still reads the answer", what);
	close(b[0]);
	for (i = 0; i < 200 && !r.closed; i++)
		loop_once(l, 2);
	CHECK(r.closed == 1 && r.error == RTMP_ECLOSED,
	    "%s: the backend's reset ends it: %s", what, r.reason);
	(void)f;
	conn_close(&client.c);
	loop_free(l);
}

static void
test_idle(void)
{
	struct loop		*l = loop_new();
	struct forward_config	 cfg = { .idle_ms = 50 };
	struct result		 r;
	int			 a[2], b[2], i;
	uint64_t		 t0 = loop_now(l);

	memset(&r, 0, sizeof(r));
	pair(a);
	pair(b);
	forward_new(l, a[1], NULL, b[1], NULL, &cfg, &events, &r);
	for (i = 0; i < 100 && !r.closed; i++)
		loop_once(l, 10);
	CHECK(r.closed == 1 && r.error == RTMP_ETIMEOUT && strcmp(r.reason, "idle") == 0,
	    "silent both ways: closed as idle");
	CHECK(loop_now(l) - t0 >= 50, "not before its time");
	memset(&r, 0, sizeof(r));
	close(a[0]);
	close(b[0]);
	pair(a);
	pair(b);
	cfg.idle_ms = 0;
	forward_close(forward_new(l, a[1], NULL, b[1], NULL, &cfg, &events, &r), 0,
	    "stopping");
	CHECK(r.closed == 1 && strcmp(r.reason, "stopping") == 0, "forward_close reports");
	CHECK(write(a[0], "x", 1) == -1 && errno == EPIPE, "and closed the sockets");
	close(a[0]);
	close(b[0]);
	loop_free(l);
}

/* No descriptor left for the pipes: the bytes take the buffered path. */
static void
test_no_pipes(void)
{
	struct loop		*l = loop_new();
	struct forward_config	 cfg = { 0 };
	struct result		 r;
	struct rlimit		 was, low;
	struct forward		*f;
	int			 a[2], b[2], i, next;
	char			 got[8];
	ssize_t			 n = 0;

	memset(&r, 0, sizeof(r));
	pair(a);
	pair(b);
	next = dup(0);
	close(next);
	getrlimit(RLIMIT_NOFILE, &was);
	low = was;
	low.rlim_cur = (rlim_t)next;
	setrlimit(RLIMIT_NOFILE, &low);
	f = forward_new(l, a[1], NULL, b[1], NULL, &cfg, &events, &r);
	setrlimit(RLIMIT_NOFILE, &was);
	if (!CHECK(f != NULL, "made without pipes"))
		return;
	CHECK_EQ(forward_spliced(f), 0, "not spliced");
	write(a[0], "through", 7);
	for (i = 0; i < 100 && n <= 0; i++) {
		loop_once(l, 2);
		n = read(b[0], got, sizeof(got));
	}
	CHECK(n == 7 && memcmp(got, "through", 7) == 0, "the bytes still go through");
	forward_close(f, 0, "done");
	close(a[0]);
	close(b[0]);
	loop_free(l);
}

/*
 * A prefix (the PROXY header) reaches the backend before the client's
 * bytes, even those sent before the forward began; it is not counted.
 */
static void
test_prefix(const char *what, int no_splice)
{
	static const char	 hdr[] = "PROXY TCP4 192.0.2.7 127.0.0.1 5555 1935\r\n";
	struct loop		*l = loop_new();
	struct forward_config	 cfg = { .no_splice = no_splice };
	struct result		 r;
	struct forward		*f;
	char			 got[256];
	size_t			 n = 0, want = sizeof(hdr) - 1 + 5;
	ssize_t			 k;
	int			 a[2], b[2], i;

	memset(&r, 0, sizeof(r));
	pair(a);
	pair(b);
	cfg.prefix = (const uint8_t *)hdr;
	cfg.prefixlen = sizeof(hdr) - 1;
	CHECK(write(a[0], "hello", 5) == 5, "%s: the client speaks first", what);
	f = forward_new(l, a[1], NULL, b[1], NULL, &cfg, &events, &r);
	if (!CHECK(f != NULL, "%s: made with a prefix", what))
		return;
	CHECK_EQ(forward_spliced(f), !no_splice, "%s: spliced after the prefix or not", what);
	for (i = 0; i < 200 && n < want; i++) {
		loop_once(l, 5);
		if ((k = read(b[0], got + n, sizeof(got) - n)) > 0)
			n += (size_t)k;
	}
	CHECK(n == want && memcmp(got, hdr, sizeof(hdr) - 1) == 0 &&
	    memcmp(got + sizeof(hdr) - 1, "hello", 5) == 0,
	    "%s: the backend read the prefix, then the client's bytes (%zu)", what, n);
	forward_close(f, 0, "done");
	CHECK(r.closed == 1 && r.in == 5, "%s: the prefix is not counted (%llu)", what,
	    (unsigned long long)r.in);
	cfg.prefixlen = FORWARD_PREFIX_MAX + 1;
	CHECK(forward_new(l, a[0], NULL, b[0], NULL, &cfg, &events, &r) == NULL,
	    "%s: a prefix too long is refused, nothing taken", what);
	close(a[0]);
	close(b[0]);
	loop_free(l);
}

int
main(void)
{
	struct tls_config	 cfg;
	struct tls_context	*sctx, *cctx;
	char			 err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	test_both_ways("splice", 0, NULL, NULL);
	test_both_ways("buffered", 1, NULL, NULL);
	test_pressure("splice", 0);
	test_pressure("buffered", 1);
	test_idle();
	test_no_pipes();
	test_prefix("splice", 0);
	test_prefix("buffered", 1);
	if (CHECK(certs_make(), "test certificates")) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.cert_file = srv_crt;
		cfg.key_file = srv_key;
		sctx = tls_context_new(&cfg, err, sizeof(err));
		memset(&cfg, 0, sizeof(cfg));
		cfg.ca_file = ca_crt;
		cfg.server_name = "localhost";
		cctx = tls_context_new(&cfg, err, sizeof(err));
		if (CHECK(sctx != NULL && cctx != NULL, "tls contexts: %s", err))
			test_both_ways("tls in front", 0, sctx, cctx);
		tls_context_free(sctx);
		tls_context_free(cctx);
		certs_remove();
	}
	return unit_done();
}
