/*
 * health.c: TCP connect checks of the backends, fall and rise.
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
#include "handshake.h"
#include "health.h"
#include "loop.h"
#include "net.h"

struct health_probe {
	struct health	*h;
	struct backend	*b;
	int		 fd;		/* -1: none in flight */
	struct handshake *hs;		/* config rtmp, once connected */
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
	free(p->hs);
	p->hs = NULL;
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

/* The RTMP handshake: write what it has, read S0+S1+S2; 1 done, 0 more, -1 failed. */
static int
health_handshake(struct health_probe *p, const char **why)
{
	uint8_t		 in[2 * HANDSHAKE_PACKET_SIZE + 1];
	const uint8_t	*out;
	size_t		 len, used;
	ssize_t		 n;
	int		 rc;

	while ((out = handshake_output(p->hs, &len)) != NULL && len > 0) {
		if ((n = send(p->fd, out, len, MSG_NOSIGNAL)) > 0) {
			handshake_output_sent(p->hs, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		*why = "rtmp handshake: write failed";
		return -1;
	}
	if ((n = recv(p->fd, in, sizeof(in), 0)) == 0) {
		*why = "rtmp handshake: closed";
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		*why = "rtmp handshake: reset";
		return -1;
	}
	if ((rc = handshake_feed(p->hs, in, (size_t)n, &used)) == HANDSHAKE_DONE)
		return 1;
	if (rc < 0) {
		*why = "rtmp handshake: not RTMP";
		return -1;
	}
	return 0;
}

static void
health_io(struct loop *loop, int fd, int events, void *arg)
{
	struct health_probe		*p = arg;
	struct handshake_config		 hc;
	char				 what[64];
	const char			*why = NULL;
	size_t				 len;
	int				 rc;

	(void)loop;
	(void)events;
	if (p->hs == NULL) {
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
		if ((p->hs = malloc(sizeof(*p->hs))) == NULL) {
			health_done(p, 0, "out of memory");
			return;
		}
		memset(&hc, 0, sizeof(hc));
		hc.role = HANDSHAKE_CLIENT;
		handshake_init(p->hs, &hc);
	}
	if ((rc = health_handshake(p, &why)) != 0) {
		health_done(p, rc > 0, rc > 0 ? "ok" : why);
		return;
	}
	(void)handshake_output(p->hs, &len);
	loop_modify(p->h->loop, fd, len > 0 ? LOOP_READ | LOOP_WRITE : LOOP_READ);
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
	if (backend_connect(b, &p->fd) < 0) {
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
	for (i = 0; i < h->set->n; i++)
		if (!h->set->b[i]->removed)
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
