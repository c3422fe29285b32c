#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "tls.h"
#include "unit.h"
#include "certs.h"

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
wait_for(int fd1, int want1, int fd2, int want2)
{
	struct pollfd	 p[2];

	p[0].fd = fd1;
	p[0].events = want1 == TLS_WANT_WRITE ? POLLOUT : POLLIN;
	p[1].fd = fd2;
	p[1].events = want2 == TLS_WANT_WRITE ? POLLOUT : POLLIN;
	poll(p, 2, 20);
}

static int
is_want(int rc)
{
	return rc == TLS_WANT_READ || rc == TLS_WANT_WRITE;
}

struct pair {
	int			 fd[2];	/* client, server */
	struct tls		*c, *s;
	int			 crc, src;
};

/*
 * Drive both handshakes until the client is done or failed and the
 * server is done or failed (or the client failed: the server may wait).
 */
static void
handshake(struct pair *p)
{
	uint64_t	 end = now_ms() + 5000;

	p->crc = p->src = TLS_WANT_READ;
	while (now_ms() < end) {
		if (is_want(p->crc))
			p->crc = tls_handshake(p->c);
		if (is_want(p->src))
			p->src = tls_handshake(p->s);
		if (!is_want(p->crc) && (!is_want(p->src) || p->crc < 0))
			break;
		wait_for(p->fd[0], p->crc, p->fd[1], p->src);
	}
}

static int
pair_open(struct pair *p, struct tls_context *cctx, struct tls_context *sctx)
{
	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd) == -1)
		return 0;
	p->c = tls_new(cctx, p->fd[0], 0);
	p->s = tls_new(sctx, p->fd[1], 1);
	return p->c != NULL && p->s != NULL;
}

static void
pair_close(struct pair *p)
{
	tls_free(p->c);
	tls_free(p->s);
	close(p->fd[0]);
	close(p->fd[1]);
}

static struct tls_context *
client_ctx(int noverify, const char *ca, const char *name)
{
	struct tls_config	 cfg;
	char			 err[256];
	struct tls_context	*c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.noverify = noverify;
	cfg.ca_file = ca;
	cfg.server_name = name;
	if ((c = tls_context_new(&cfg, err, sizeof(err))) == NULL)
		printf("# client context: %s\n", err);
	return c;
}

#define MB	(1024 * 1024)

static unsigned char
pattern(size_t i, int side)
{
	return (unsigned char)((i * 7 + (i >> 11) + (size_t)side * 101) & 0xff);
}

/* Client writes 1 MB with writev in 1000-byte pieces, server with write. */
static int
round_trip(struct pair *p)
{
	unsigned char	*out[2], *in[2];
	struct iovec	 iov[32];
	size_t		 sent[2] = { 0, 0 }, got[2] = { 0, 0 }, i, off;
	int		 side, n, want[2] = { 0, 0 }, ok = 1;
	ssize_t		 r = 0;
	uint64_t	 end = now_ms() + 20000;

	for (side = 0; side < 2; side++) {
		out[side] = malloc(MB);
		in[side] = malloc(MB);
		for (i = 0; i < MB; i++)
			out[side][i] = pattern(i, side);
	}
	while ((sent[0] < MB || sent[1] < MB || got[0] < MB || got[1] < MB) &&
	    now_ms() < end) {
		for (side = 0; side < 2; side++) {
			struct tls	*t = side == 0 ? p->c : p->s;

			want[side] = 0;
			r = 0;
			while (sent[side] < MB) {
				if (side == 0) {
					for (n = 0, off = sent[0]; n < 32 &&
					    off < MB; n++, off += 1000) {
						iov[n].iov_base = out[0] + off;
						iov[n].iov_len = MB - off < 1000 ?
						    MB - off : 1000;
					}
					r = tls_writev(t, iov, n);
				} else
					r = tls_write(t, out[1] + sent[1],
					    MB - sent[1]);
				if (r <= 0)
					break;
				sent[side] += (size_t)r;
			}
			if (r < 0 && !is_want((int)r)) {
				printf("# write: %s\n", tls_error(t));
				ok = 0;
				goto done;
			}
			if (sent[side] < MB)
				want[side] = (int)r;
			while (got[side] < MB) {
				r = tls_read(t, in[side] + got[side],
				    MB - got[side]);
				if (r <= 0)
					break;
				got[side] += (size_t)r;
			}
			if (r <= 0 && got[side] < MB && !is_want((int)r)) {
				printf("# read: %zd %s\n", r, tls_error(t));
				ok = 0;
				goto done;
			}
			if (want[side] == 0)
				want[side] = TLS_WANT_READ;
		}
		wait_for(p->fd[0], want[0], p->fd[1], want[1]);
	}
	ok = got[0] == MB && got[1] == MB &&
	    memcmp(in[0], out[1], MB) == 0 && memcmp(in[1], out[0], MB) == 0;
done:
	for (side = 0; side < 2; side++) {
		free(out[side]);
		free(in[side]);
	}
	return ok;
}

static void
test_ok(struct tls_context *sctx)
{
	struct tls_context	*cctx;
	struct pair		 p;
	struct iovec		 iov[20];
	char			 small[100], buf[4096];
	ssize_t			 r;
	int			 i;
	uint64_t		 end;

	cctx = client_ctx(0, ca_crt, "localhost");
	CHECK(pair_open(&p, cctx, sctx), "tls_new client and server");
	CHECK_EQ(tls_handshake_done(p.c), 0, "not done before the handshake");
	handshake(&p);
	CHECK_EQ(p.crc, 0, "handshake with test CA and name localhost: client");
	if (p.crc != 0)
		printf("# client: %s\n", tls_error(p.c));
	CHECK_EQ(p.src, 0, "handshake: server");
	CHECK(tls_handshake_done(p.c) && tls_handshake_done(p.s),
	    "both report done");
	CHECK(round_trip(&p), "1 MB each way, writev and write, intact");

	/* Twenty small iovecs go out as one record in one call. */
	memset(small, 'z', sizeof(small));
	for (i = 0; i < 20; i++) {
		iov[i].iov_base = small;
		iov[i].iov_len = sizeof(small);
	}
	CHECK_EQ(tls_writev(p.c, iov, 20), 2000, "writev gathers small iovecs");
	end = now_ms() + 2000;
	while ((r = tls_read(p.s, buf, 10)) == TLS_WANT_READ && now_ms() < end)
		wait_for(p.fd[1], TLS_WANT_READ, p.fd[1], TLS_WANT_READ);
	CHECK_EQ(r, 10, "read part of a record");
	CHECK_EQ(tls_pending(p.s), 1990, "the rest is pending inside TLS");
	CHECK_EQ(tls_read(p.s, buf, sizeof(buf)), 1990, "read the rest");

	/* close_notify reads as a clean close. */
	CHECK_EQ(tls_shutdown(p.c), 0, "shutdown");
	end = now_ms() + 2000;
	while ((r = tls_read(p.s, buf, sizeof(buf))) == TLS_WANT_READ &&
	    now_ms() < end)
		wait_for(p.fd[1], TLS_WANT_READ, p.fd[1], TLS_WANT_READ);
	CHECK_EQ(r, 0, "close_notify reads as 0");
	pair_close(&p);

	/* An IP literal is checked against the certificate's IP addresses. */
	tls_context_free(cctx);
	cctx = client_ctx(0, ca_crt, "127.0.0.1");
	pair_open(&p, cctx, sctx);
	handshake(&p);
	CHECK_EQ(p.crc, 0, "handshake with name 127.0.0.1 (IP SAN)");
	/* A hang-up without close_notify is a clean close too. */
	close(p.fd[1]);
	p.fd[1] = -1;
	r = tls_read(p.c, buf, sizeof(buf));
	CHECK_EQ(r, 0, "eof without close_notify reads as 0");
	pair_close(&p);
	tls_context_free(cctx);
}

static void
expect_fail(struct tls_context *cctx, struct tls_context *sctx,
    const char *what, const char *needle)
{
	struct pair	 p;
	const char	*msg;

	if (!pair_open(&p, cctx, sctx)) {
		CHECK(0, "%s: tls_new", what);
		return;
	}
	handshake(&p);
	msg = tls_error(p.c);
	CHECK_EQ(p.crc, RTMP_ETLS, "%s: client handshake fails", what);
	CHECK(strstr(msg, needle) != NULL, "%s: error says \"%s\"", what, msg);
	pair_close(&p);
}

static void
test_fail(struct tls_context *sctx, struct tls_context *selfsigned)
{
	struct tls_context	*cctx;
	struct pair		 p;

	cctx = client_ctx(0, NULL, "localhost");
	expect_fail(cctx, sctx, "system store, unknown CA", "certificate");
	expect_fail(cctx, selfsigned, "system store, self-signed", "self");
	tls_context_free(cctx);

	cctx = client_ctx(0, ca_crt, "example.com");
	expect_fail(cctx, sctx, "wrong host name", "hostname mismatch");
	tls_context_free(cctx);

	cctx = client_ctx(0, ca_crt, "127.0.0.2");
	expect_fail(cctx, sctx, "wrong IP", "mismatch");
	tls_context_free(cctx);

	cctx = client_ctx(0, ca_crt, NULL);
	expect_fail(cctx, sctx, "verify without a name", "server name");
	tls_context_free(cctx);

	cctx = client_ctx(1, NULL, "example.com");
	pair_open(&p, cctx, selfsigned);
	handshake(&p);
	CHECK_EQ(p.crc, 0, "verify off: self-signed, wrong name accepted");
	CHECK_EQ(p.src, 0, "verify off: server done");
	CHECK(round_trip(&p), "verify off: 1 MB each way");
	pair_close(&p);
	tls_context_free(cctx);

	/* A per-connection name replaces the context's. */
	cctx = client_ctx(0, ca_crt, "example.com");
	pair_open(&p, cctx, sctx);
	CHECK_EQ(tls_set_server_name(p.c, "localhost"), 0, "tls_set_server_name");
	handshake(&p);
	CHECK_EQ(p.crc, 0, "per-connection name verified");
	pair_close(&p);
	tls_context_free(cctx);
}

static void
test_config(void)
{
	struct tls_config	 cfg;
	struct tls_context	*c;
	char			 err[256] = "";

	memset(&cfg, 0, sizeof(cfg));
	cfg.cert_file = "/nonexistent/cert.pem";
	c = tls_context_new(&cfg, err, sizeof(err));
	CHECK(c == NULL && strstr(err, "/nonexistent/cert.pem") != NULL,
	    "missing cert file: %s", err);
	cfg.cert_file = srv_crt;
	cfg.key_file = ca_key;
	c = tls_context_new(&cfg, err, sizeof(err));
	CHECK(c == NULL && strstr(err, "key file") != NULL,
	    "key not matching the cert: %s", err);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ca_file = "/nonexistent/ca.pem";
	c = tls_context_new(&cfg, err, sizeof(err));
	CHECK(c == NULL && strstr(err, "ca file") != NULL,
	    "missing ca file: %s", err);
	memset(&cfg, 0, sizeof(cfg));
	c = tls_context_new(&cfg, err, sizeof(err));
	CHECK(c != NULL, "client context with the system store");
	CHECK(tls_new(c, 0, 1) == NULL, "no server without a certificate");
	tls_context_free(c);
}

int
main(void)
{
	struct tls_config	 cfg;
	struct tls_context	*sctx, *selfsigned;
	char			 err[256];

	signal(SIGPIPE, SIG_IGN);
	if (!CHECK(certs_make(), "generate a test CA and certificate with "
	    "openssl(1)"))
		return unit_done();
	memset(&cfg, 0, sizeof(cfg));
	cfg.cert_file = srv_crt;
	cfg.key_file = srv_key;
	sctx = tls_context_new(&cfg, err, sizeof(err));
	CHECK(sctx != NULL, "server context (%s)", sctx ? "ok" : err);
	cfg.cert_file = ca_crt;
	cfg.key_file = ca_key;
	selfsigned = tls_context_new(&cfg, err, sizeof(err));
	CHECK(selfsigned != NULL, "self-signed server context");
	if (sctx != NULL && selfsigned != NULL) {
		test_ok(sctx);
		test_fail(sctx, selfsigned);
		test_config();
	}
	tls_context_free(sctx);
	tls_context_free(selfsigned);
	certs_remove();
	return unit_done();
}
