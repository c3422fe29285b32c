/*
 * listener.c: accepting connections on the loop.
 * See listener.h for the contract.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "listener.h"
#include "loop.h"
#include "net.h"
#include "tls.h"
#include "url.h"

struct listener {
	struct loop		*loop;
	int			 fd;
	struct tls_context	*tls;
	listener_accept_cb	 cb;
	void			*arg;
	int			 paused;
	uint64_t		 backoff_timer;
	uint64_t		 accepted;
	uint16_t		 port;
	char			 address[NET_ADDRSTRLEN];
};

static void
listener_watch(struct listener *l)
{
	loop_modify(l->loop, l->fd, l->paused || l->backoff_timer != 0 ? 0 : LOOP_READ);
}

static uint64_t
listener_backoff_over(struct loop *loop, uint64_t id, void *arg)
{
	struct listener	*l = arg;

	(void)loop;
	(void)id;
	l->backoff_timer = 0;
	listener_watch(l);
	return LOOP_TIMER_STOP;
}

static void
listener_readable(struct loop *loop, int fd, int events, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct tls		*tls;
	char			 peer[NET_ADDRSTRLEN];
	int			 i, s, rc;

	(void)fd;
	(void)events;
	for (i = 0; i < LISTENER_BURST && !l->paused; i++) {
		len = sizeof(ss);
		rc = net_accept(l->fd, &s, &ss, &len);
		if (rc == NET_AGAIN) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			continue;	/* a connection died in the queue */
		}
		if (rc < 0) {
			/* Out of fds, or worse: wait rather than spin. */
			if (l->backoff_timer == 0)
				l->backoff_timer = loop_timer(loop, LISTENER_BACKOFF_MS,
				    listener_backoff_over, l);
			listener_watch(l);
			return;
		}
		net_set_nodelay(s);
		net_format_address((struct sockaddr *)&ss, len, peer, sizeof(peer));
		tls = NULL;
		if (l->tls != NULL && (tls = tls_new(l->tls, s, 1)) == NULL) {
			close(s);
			continue;
		}
		l->accepted++;
		l->cb(l, s, tls, peer, l->arg);
	}
}

static struct listener *
listener_start(struct loop *loop, int fd, const char *address, struct tls_context *tls,
    listener_accept_cb cb, void *arg, char *err, size_t errsize)
{
	struct listener		*l;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errsize, "%s: out of memory", address);
		close(fd);
		return NULL;
	}
	l->loop = loop;
	l->fd = fd;
	l->tls = tls;
	l->cb = cb;
	l->arg = arg;
	net_local_port(fd, &l->port);
	if (address != NULL)
		strlcpy(l->address, address, sizeof(l->address));
	else if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		net_format_address((struct sockaddr *)&ss, len, l->address,
		    sizeof(l->address));
	if (loop_add(loop, fd, LOOP_READ, listener_readable, l) < 0) {
		snprintf(err, errsize, "%s: cannot watch the socket", l->address);
		close(fd);
		free(l);
		return NULL;
	}
	return l;
}

struct listener *
listener_new(struct loop *loop, const char *address, struct tls_context *tls,
    listener_accept_cb cb, void *arg, char *err, size_t errsize)
{
	struct listen_address	 a;
	int			 fd;

	if (url_parse_listen(address, &a) < 0) {
		snprintf(err, errsize, "%s: not a listen address (:port, host:port, "
		    "[v6]:port, unix:/path)", address);
		return NULL;
	}
	if (net_listen(&a, LISTENER_BACKLOG, &fd) < 0) {
		snprintf(err, errsize, "listen %s: %s", address, strerror(errno));
		return NULL;
	}
	return listener_start(loop, fd, address, tls, cb, arg, err, errsize);
}

struct listener *
listener_adopt(struct loop *loop, int fd, struct tls_context *tls, listener_accept_cb cb,
    void *arg, char *err, size_t errsize)
{
	int		 type = 0, listening = 0;
	socklen_t	 len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    (len = sizeof(listening), getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &listening, &len)) < 0 || !listening) {
		snprintf(err, errsize, "fd %d: not a listening stream socket", fd);
		close(fd);
		return NULL;
	}
	return listener_start(loop, fd, NULL, tls, cb, arg, err, errsize);
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->backoff_timer != 0)
		loop_timer_cancel(l->loop, l->backoff_timer);
	loop_remove(l->loop, l->fd);
	close(l->fd);
	free(l);
}

void
listener_set_tls(struct listener *l, struct tls_context *tls)
{
	l->tls = tls;
}

void
listener_pause(struct listener *l, int paused)
{
	if (l->paused == paused)
		return;
	l->paused = paused;
	listener_watch(l);
}

const char *
listener_address(const struct listener *l)
{
	return l->address;
}

uint16_t
listener_port(const struct listener *l)
{
	return l->port;
}

uint64_t
listener_accepted(const struct listener *l)
{
	return l->accepted;
}
