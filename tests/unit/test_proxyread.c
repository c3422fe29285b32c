#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "loop.h"
#include "net.h"
#include "proxy.h"
#include "proxyread.h"
#include "unit.h"

struct got {
	int	 calls;
	int	 error;
	int	 local;
	char	 src[NET_ADDRSTRLEN];
};

static void
done(struct proxyread *pr, int fd, int error, const struct proxy_info *info, void *arg)
{
	struct got	*g = arg;

	(void)pr;
	(void)fd;
	g->calls++;
	g->error = error;
	g->src[0] = '\0';
	if (info != NULL && !info->local)
		net_format_address((const struct sockaddr *)&info->src, info->srclen, g->src,
		    sizeof(g->src));
	if (info != NULL)
		g->local = info->local;
}

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1) {
		perror("socketpair");
		exit(1);
	}
}

/* Send pieces (NULL-ended, with their lengths) a few loop turns apart. */
static void
feed(struct loop *l, struct got *g, int fd, const char *const *pieces, const size_t *lens)
{
	int	 i, k;

	for (i = 0; pieces[i] != NULL; i++) {
		write(fd, pieces[i], lens[i]);
		for (k = 0; k < 5 && !g->calls; k++)
			loop_once(l, 2);
	}
	for (k = 0; k < 50 && !g->calls; k++)
		loop_once(l, 2);
}

int
main(void)
{
	struct loop	*l = loop_new();
	struct got	 g;
	int		 sv[2];
	char		 rest[16];
	ssize_t		 n;
	static const char v2[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"
	    "\xc0\x00\x02\x09" "\x7f\x00\x00\x01" "\x1f\x90" "\x07\x8f" "\x03";

	memset(&g, 0, sizeof(g));
	pair(sv);
	CHECK(proxyread_start(l, sv[1], 1000, done, &g) != NULL, "started");
	{
		const char	*p[] = { "PROXY TCP4 192.0.2.7 127.0.0.1 5555", " 1935\r\n\x03RTMP",
		    NULL };
		size_t		 len[] = { 35, 12 };

		feed(l, &g, sv[0], p, len);
	}
	CHECK(g.calls == 1 && g.error == 0 && strcmp(g.src, "192.0.2.7:5555") == 0,
	    "v1 in two pieces: %d %s", g.error, g.src);
	n = read(sv[1], rest, sizeof(rest));
	CHECK(n == 5 && memcmp(rest, "\x03RTMP", 5) == 0, "what follows stays in the socket");
	close(sv[0]);
	close(sv[1]);

	memset(&g, 0, sizeof(g));
	pair(sv);
	proxyread_start(l, sv[1], 1000, done, &g);
	{
		const char	*p[] = { v2, v2 + 10, NULL };
		size_t		 len[] = { 10, sizeof(v2) - 1 - 10 };

		feed(l, &g, sv[0], p, len);
	}
	CHECK(g.calls == 1 && g.error == 0 && strcmp(g.src, "192.0.2.9:8080") == 0,
	    "v2 in two pieces: %d %s", g.error, g.src);
	n = read(sv[1], rest, sizeof(rest));
	CHECK(n == 1 && rest[0] == 3, "C0 stays in the socket");
	close(sv[0]);
	close(sv[1]);

	memset(&g, 0, sizeof(g));
	pair(sv);
	proxyread_start(l, sv[1], 1000, done, &g);
	{
		const char	*p[] = { "\x03\x00\x00\x00", NULL };
		size_t		 len[] = { 4 };

		feed(l, &g, sv[0], p, len);
	}
	CHECK(g.calls == 1 && g.error == RTMP_EPROTO, "RTMP without a header: refused at once");
	close(sv[0]);
	close(sv[1]);

	memset(&g, 0, sizeof(g));
	pair(sv);
	proxyread_start(l, sv[1], 40, done, &g);
	CHECK(g.calls == 0, "no outcome from inside proxyread_start()");
	{
		const char	*p[] = { "PROXY TCP4 1.2.3.4", NULL };
		size_t		 len[] = { 18 };

		feed(l, &g, sv[0], p, len);
	}
	CHECK(g.calls == 1 && g.error == RTMP_ETIMEOUT, "half a header: timed out");
	close(sv[0]);
	close(sv[1]);

	memset(&g, 0, sizeof(g));
	pair(sv);
	proxyread_start(l, sv[1], 1000, done, &g);
	close(sv[0]);
	feed(l, &g, -1, (const char *[]){ NULL }, NULL);
	CHECK(g.calls == 1 && g.error == RTMP_ECLOSED, "the peer went away");
	close(sv[1]);

	memset(&g, 0, sizeof(g));
	pair(sv);
	proxyread_cancel(proxyread_start(l, sv[1], 10, done, &g));
	for (n = 0; n < 10; n++)
		loop_once(l, 2);
	CHECK(g.calls == 0, "cancelled: no callback");
	close(sv[0]);
	close(sv[1]);
	loop_free(l);
	return unit_done();
}
