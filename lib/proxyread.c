/*
 * proxyread.c: a PROXY header peeked and taken from a socket, exactly.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "loop.h"
#include "proxy.h"
#include "proxyread.h"

struct proxyread {
	struct loop	*loop;
	int		 fd;
	proxyread_cb	 cb;
	void		*arg;
	uint64_t	 timer;
	size_t		 len;			/* header bytes taken so far */
	uint8_t		 buf[PROXY_V2_MAX];
};

static void
proxyread_end(struct proxyread *pr, int error, const struct proxy_info *info)
{
	loop_remove(pr->loop, pr->fd);
	if (pr->timer != 0)
		loop_timer_cancel(pr->loop, pr->timer);
	pr->timer = 0;
	pr->cb(pr, pr->fd, error, info, pr->arg);
	free(pr);
}

/* Take n bytes already peeked: 0, or an error. */
static int
proxyread_take(struct proxyread *pr, size_t n)
{
	uint8_t		 sink[PROXY_V2_MAX];
	ssize_t		 r;

	while ((r = recv(pr->fd, sink, n, 0)) == -1 && errno == EINTR)
		;
	/* Peeked bytes are there: anything short is the system's failure. */
	return r == (ssize_t)n ? 0 : RTMP_ESYS;
}

static void
proxyread_readable(struct loop *loop, int fd, int events, void *arg)
{
	struct proxyread	*pr = arg;
	struct proxy_info	 info;
	ssize_t			 n;
	int			 rc;

	(void)loop;
	(void)events;
	n = recv(fd, pr->buf + pr->len, sizeof(pr->buf) - pr->len, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		proxyread_end(pr, n == 0 || errno == ECONNRESET ? RTMP_ECLOSED : RTMP_ESYS,
		    NULL);
		return;
	}
	rc = proxy_parse(pr->buf, pr->len + (size_t)n, &info);
	if (rc > 0) {
		rc = proxyread_take(pr, (size_t)rc - pr->len);
		proxyread_end(pr, rc, rc == 0 ? &info : NULL);
		return;
	}
	if (rc < 0) {
		proxyread_end(pr, rc, NULL);
		return;
	}
	/* No whole header in what is there: all of it is header. */
	if ((rc = proxyread_take(pr, (size_t)n)) < 0) {
		proxyread_end(pr, rc, NULL);
		return;
	}
	pr->len += (size_t)n;
	if (pr->len == sizeof(pr->buf))
		proxyread_end(pr, RTMP_ELIMIT, NULL);
}

static uint64_t
proxyread_timeout(struct loop *loop, uint64_t id, void *arg)
{
	struct proxyread	*pr = arg;

	(void)loop;
	(void)id;
	pr->timer = 0;
	proxyread_end(pr, RTMP_ETIMEOUT, NULL);
	return LOOP_TIMER_STOP;
}

struct proxyread *
proxyread_start(struct loop *loop, int fd, uint32_t timeout_ms, proxyread_cb cb,
    void *arg)
{
	struct proxyread	*pr;

	if ((pr = malloc(sizeof(*pr))) == NULL)
		return NULL;
	pr->loop = loop;
	pr->fd = fd;
	pr->cb = cb;
	pr->arg = arg;
	pr->len = 0;
	if ((pr->timer = loop_timer(loop, timeout_ms, proxyread_timeout, pr)) == 0) {
		free(pr);
		return NULL;
	}
	if (loop_add(loop, fd, LOOP_READ, proxyread_readable, pr) < 0) {
		loop_timer_cancel(loop, pr->timer);
		free(pr);
		return NULL;
	}
	return pr;
}

void
proxyread_cancel(struct proxyread *pr)
{
	if (pr == NULL)
		return;
	loop_remove(pr->loop, pr->fd);
	if (pr->timer != 0)
		loop_timer_cancel(pr->loop, pr->timer);
	free(pr);
}
