/*
 * place.c: pick, connect, pass over a refusal, bounded.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "loop.h"
#include "net.h"
#include "place.h"

#define PLACE_KEY_MAX	(NET_ADDRSTRLEN + 2 * 256)

struct place {
	struct loop		*loop;
	struct backend_set	*set;
	struct place_config	 cfg;
	struct place_events	 events;
	void			*arg;
	char			 key[PLACE_KEY_MAX];
	size_t			 keylen;
	struct backend		*b;		/* being connected to */
	int			 fd;		/* -1: none */
	uint64_t		 skip;
	uint32_t		 tries;
	uint64_t		 timer;		/* the connect's deadline, or the next try */
	const char		*why;		/* the outcome, for a deferred done */
};

static void	place_try(struct place *);

static void
place_stop_connect(struct place *p)
{
	if (p->timer != 0)
		loop_timer_cancel(p->loop, p->timer);
	p->timer = 0;
	if (p->fd != -1) {
		loop_remove(p->loop, p->fd);
		close(p->fd);
		p->fd = -1;
	}
}

static void
place_done(struct place *p, int fd, struct backend *b, const char *why)
{
	p->events.done(p, fd, b, why, p->arg);
	free(p);
}

/* Deferred: place_start()'s caller must have its pointer before `done`. */
static uint64_t
place_next(struct loop *loop, uint64_t id, void *arg)
{
	struct place	*p = arg;

	(void)loop;
	(void)id;
	p->timer = 0;
	if (p->why != NULL)
		place_done(p, -1, NULL, p->why);
	else
		place_try(p);
	return LOOP_TIMER_STOP;
}

static void
place_later(struct place *p, const char *why)
{
	p->why = why;
	if ((p->timer = loop_timer(p->loop, 0, place_next, p)) == 0)
		place_done(p, -1, NULL, "out of memory");
}

/* b did not take the connection: count it, skip it, try the next. */
static void
place_refused(struct place *p, const char *why)
{
	struct backend	*b = p->b;
	size_t		 i;

	place_stop_connect(p);
	b->refused++;
	backend_detach(b);
	if ((i = backend_index(p->set, b)) < BACKEND_MAX)
		p->skip |= 1ULL << i;
	p->b = NULL;
	if (p->events.refused != NULL)
		p->events.refused(p, b, why, p->arg);
	if (p->tries > p->cfg.retries)
		place_done(p, -1, NULL, "no backend answered");
	else
		place_try(p);
}

static void
place_connected(struct loop *loop, int fd, int events, void *arg)
{
	struct place	*p = arg;
	char		 why[128];

	(void)loop;
	(void)events;
	if (net_connect_result(fd) < 0) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		place_refused(p, why);
		return;
	}
	loop_remove(p->loop, fd);
	p->fd = -1;
	place_stop_connect(p);
	(void)net_set_nodelay(fd);
	place_done(p, fd, p->b, NULL);
}

static uint64_t
place_timeout(struct loop *loop, uint64_t id, void *arg)
{
	struct place	*p = arg;

	(void)loop;
	(void)id;
	p->timer = 0;
	place_refused(p, "connect: timed out");
	return LOOP_TIMER_STOP;
}

static void
place_try(struct place *p)
{
	struct backend	*b;
	char		 why[128];

	if ((b = backend_pick(p->set, p->cfg.algo, p->key, p->keylen, p->skip)) == NULL) {
		place_later(p, p->tries == 0 ? "no backend can take it" :
		    "no other backend can take it");
		return;
	}
	p->tries++;
	p->b = b;
	backend_attach(b);
	if (backend_connect(b, p->key, p->keylen, &p->fd) < 0) {
		p->fd = -1;
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		place_refused(p, why);
		return;
	}
	if (loop_add(p->loop, p->fd, LOOP_WRITE, place_connected, p) < 0 ||
	    (p->timer = loop_timer(p->loop, p->cfg.connect_ms, place_timeout, p)) == 0)
		place_refused(p, "out of memory");
}

struct place *
place_start(struct loop *loop, struct backend_set *set, const struct place_config *cfg,
    const void *key, size_t keylen, uint64_t skip, const struct place_events *events,
    void *arg)
{
	struct place	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = loop;
	p->set = set;
	p->cfg = *cfg;
	if (p->cfg.connect_ms == 0)
		p->cfg.connect_ms = PLACE_CONNECT_MS;
	p->events = *events;
	p->arg = arg;
	p->fd = -1;
	p->skip = skip;
	p->keylen = keylen < sizeof(p->key) ? keylen : sizeof(p->key);
	memcpy(p->key, key, p->keylen);
	/* The first try from the loop too: an immediate refusal must not call back here. */
	if ((p->timer = loop_timer(loop, 0, place_next, p)) == 0) {
		free(p);
		return NULL;
	}
	return p;
}

void
place_cancel(struct place *p)
{
	if (p == NULL)
		return;
	place_stop_connect(p);
	if (p->b != NULL)
		backend_detach(p->b);
	free(p);
}

struct backend *
place_backend(const struct place *p)
{
	return p->b;
}
