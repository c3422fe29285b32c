/*
 * health.c: checks of the backends (a TCP connect, or an RTMP handshake
 * and connect), fall and rise.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "health.h"
#include "loop.h"
#include "net.h"
#include "rtmp.h"

struct health_probe {
	struct health	*h;
	struct backend	*b;
	int		 fd;		/* -1: none in flight */
	struct rtmp_session *rs;	/* config rtmp, once connected */
	int		 shaken;	/* rs's handshake is done, connect sent */
};

struct health {
	struct loop		*loop;
	struct backend_set	*set;
	struct health_config	 cfg;
	struct health_events	 events;
	void			*arg;
	uint64_t		 timer;
	struct health_probe	 probes[BACKEND_MAX];
	size_t			 nprobes;
};

int
health_result(struct backend *b, int ok, const char *what, uint32_t fall, uint32_t rise)
{
	b->checks++;
	b->last_ok = ok;
	strlcpy(b->last_result, what, sizeof(b->last_result));
	if (ok) {
		b->oks++;
		b->fails = 0;
		if (!b->up && b->oks >= rise) {
			b->up = 1;
			return 1;
		}
		return 0;
	}
	b->fails++;
	b->oks = 0;
	if (b->up && b->fails >= fall) {
		b->up = 0;
		return 1;
	}
	return 0;
}

static void
health_report(struct health *h, struct backend *b, int ok, const char *what)
{
	if (health_result(b, ok, what, h->cfg.fall, h->cfg.rise) &&
	    h->events.changed != NULL)
		h->events.changed(b, b->up, h->arg);
}

static void
health_end_probe(struct health_probe *p)
{
	rtmp_session_free(p->rs);
	p->rs = NULL;
	p->shaken = 0;
	if (p->fd == -1)
		return;
	loop_remove(p->h->loop, p->fd);
	close(p->fd);
	p->fd = -1;
}

static void
health_done(struct health_probe *p, int ok, const char *what)
{
	health_end_probe(p);
	health_report(p->h, p->b, ok, what);
}

/* Write what the session has queued: 0, or -1 when the socket failed. */
static int
health_rtmp_write(struct health_probe *p)
{
	const uint8_t	*out;
	size_t		 len;
	ssize_t		 n;

	while ((out = rtmp_session_output(p->rs, &len)) != NULL && len > 0) {
		if ((n = send(p->fd, out, len, MSG_NOSIGNAL)) > 0) {
			rtmp_session_sent(p->rs, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	return 0;
}

/*
 * The session's bytes out, the backend's in, up to the answer to connect:
 * 1 on its _result, 0 for more, -1 failed with why in what.
 */
static int
health_rtmp(struct health_probe *p, char *what, size_t whatsize)
{
	uint8_t			 in[4096];
	struct rtmp_event	 ev;
	size_t			 off, used;
	ssize_t			 n;
	int			 rc;

	if (health_rtmp_write(p) < 0)
		goto write_failed;
	if ((n = recv(p->fd, in, sizeof(in), 0)) == 0) {
		snprintf(what, whatsize, "%s: closed",
		    p->shaken ? "rtmp connect" : "rtmp handshake");
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		snprintf(what, whatsize, "%s: reset",
		    p->shaken ? "rtmp connect" : "rtmp handshake");
		return -1;
	}
	for (off = 0;; off += used) {
		rc = rtmp_session_feed(p->rs, in + off, (size_t)n - off,
		    loop_now(p->h->loop), &used, &ev);
		if (rc == RTMP_EVENT_NONE)
			break;
		if (rc < 0) {
			if (p->shaken)
				snprintf(what, whatsize, "rtmp connect: %s",
				    rtmp_strerror(rc));
			else
				strlcpy(what, "rtmp handshake: not RTMP", whatsize);
			return -1;
		}
		switch (rc) {
		case RTMP_EVENT_HANDSHAKE_DONE:
			p->shaken = 1;
			break;
		case RTMP_EVENT_CONNECTED:
			return 1;
		case RTMP_EVENT_STATUS:
			if (!ev.error)
				break;
			/* _error: the code says why (NetConnection.Connect.Rejected). */
			if (ev.code.len > 0)
				snprintf(what, whatsize, "rtmp connect: %.*s",
				    (int)ev.code.len, (const char *)ev.code.ptr);
			else
				strlcpy(what, "rtmp connect: _error", whatsize);
			return -1;
		case RTMP_EVENT_CLOSE:
			strlcpy(what, "rtmp connect: closed", whatsize);
			return -1;
		default:
			break;
		}
	}
	/* The handshake just ended: C2 and connect are queued. */
	if (health_rtmp_write(p) < 0)
		goto write_failed;
	return 0;

write_failed:
	snprintf(what, whatsize, "%s: write failed",
	    p->shaken ? "rtmp connect" : "rtmp handshake");
	return -1;
}

/* A client session that connects to the configured app, as a player would. */
static struct rtmp_session *
health_session(const struct health *h, const struct backend *b)
{
	struct rtmp_config	 rc;
	char			 tc_url[sizeof("rtmp:///") + BACKEND_NAME_MAX +
				    HEALTH_APP_MAX];

	/* A unix backend has no host to name: servers read tcUrl's app only. */
	snprintf(tc_url, sizeof(tc_url), "rtmp://%s/%s",
	    b->spec.addr.family_unix ? "localhost" : b->spec.name, h->cfg.app);
	rtmp_config_default(&rc, RTMP_ROLE_CLIENT);
	rc.app = h->cfg.app;
	rc.tc_url = tc_url;
	return rtmp_session_new(&rc);
}

static void
health_io(struct loop *loop, int fd, int events, void *arg)
{
	struct health_probe	*p = arg;
	char			 what[64];
	int			 rc;

	(void)loop;
	(void)events;
	if (p->rs == NULL) {
		if (net_connect_result(fd) < 0) {
			snprintf(what, sizeof(what), "connect: %s", strerror(errno));
			health_done(p, 0, what);
			return;
		}
		/* A TLS backend's handshake would need TLS first: its connect is the check. */
		if (!p->h->cfg.rtmp || p->b->spec.tls) {
			health_done(p, 1, "ok");
			return;
		}
		if ((p->rs = health_session(p->h, p->b)) == NULL) {
			health_done(p, 0, "out of memory");
			return;
		}
	}
	if ((rc = health_rtmp(p, what, sizeof(what))) != 0) {
		health_done(p, rc > 0, rc > 0 ? "ok" : what);
		return;
	}
	loop_modify(p->h->loop, fd, rtmp_session_wants_write(p->rs) ?
	    LOOP_READ | LOOP_WRITE : LOOP_READ);
}

/* The probe of b, made if it has none yet; NULL if the table is full. */
static struct health_probe *
health_probe_of(struct health *h, struct backend *b)
{
	size_t	 i;

	for (i = 0; i < h->nprobes; i++)
		if (h->probes[i].b == b)
			return &h->probes[i];
	if (h->nprobes == BACKEND_MAX)
		return NULL;
	h->probes[h->nprobes].h = h;
	h->probes[h->nprobes].b = b;
	h->probes[h->nprobes].fd = -1;
	return &h->probes[h->nprobes++];
}

static void
health_start(struct health *h, struct backend *b)
{
	struct health_probe	*p;
	char			 what[64];

	if ((p = health_probe_of(h, b)) == NULL)
		return;
	if (p->fd != -1) {
		/* The last one is still connecting: a whole interval is too long. */
		health_end_probe(p);
		health_report(h, b, 0, "timeout");
	}
	if (backend_connect(b, NULL, 0, &p->fd) < 0) {
		p->fd = -1;
		snprintf(what, sizeof(what), "connect: %s", strerror(errno));
		health_report(h, b, 0, what);
		return;
	}
	if (loop_add(h->loop, p->fd, LOOP_WRITE, health_io, p) < 0) {
		close(p->fd);
		p->fd = -1;
	}
}

static uint64_t
health_tick(struct loop *loop, uint64_t id, void *arg)
{
	struct health	*h = arg;
	size_t		 i;

	(void)loop;
	(void)id;
	/* A directory has no one socket to check: each stream's is tried when asked for. */
	for (i = 0; i < h->set->n; i++)
		if (!h->set->b[i]->removed && !h->set->b[i]->spec.directory)
			health_start(h, h->set->b[i]);
	return h->cfg.interval_ms;
}

struct health *
health_new(struct loop *loop, struct backend_set *set, const struct health_config *cfg,
    const struct health_events *events, void *arg)
{
	struct health	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	h->set = set;
	h->cfg = *cfg;
	if (h->cfg.interval_ms == 0)
		h->cfg.interval_ms = HEALTH_INTERVAL_MS;
	if (h->cfg.fall == 0)
		h->cfg.fall = HEALTH_FALL;
	if (h->cfg.rise == 0)
		h->cfg.rise = HEALTH_RISE;
	h->cfg.app[sizeof(h->cfg.app) - 1] = '\0';
	if (h->cfg.app[0] == '\0')
		strlcpy(h->cfg.app, HEALTH_APP, sizeof(h->cfg.app));
	h->events = *events;
	h->arg = arg;
	if ((h->timer = loop_timer(loop, 0, health_tick, h)) == 0) {
		free(h);
		return NULL;
	}
	return h;
}

void
health_forget(struct health *h, struct backend *b)
{
	size_t	 i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nprobes; i++)
		if (h->probes[i].b == b) {
			health_end_probe(&h->probes[i]);
			/* The last one moves here: fix its fd's callback argument. */
			h->probes[i] = h->probes[--h->nprobes];
			if (i < h->nprobes && h->probes[i].fd != -1) {
				loop_remove(h->loop, h->probes[i].fd);
				loop_add(h->loop, h->probes[i].fd, LOOP_WRITE, health_io,
				    &h->probes[i]);
			}
			return;
		}
}

void
health_free(struct health *h)
{
	size_t	 i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nprobes; i++)
		health_end_probe(&h->probes[i]);
	loop_timer_cancel(h->loop, h->timer);
	free(h);
}
