#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "loop.h"
#include "net.h"
#include "place.h"
#include "unit.h"

struct outcome {
	int		 done, refused;
	int		 fd;
	struct backend	*b;
	char		 why[128];
};

static void
done(struct place *p, int fd, struct backend *b, const char *why, void *arg)
{
	struct outcome	*o = arg;

	(void)p;
	o->done++;
	o->fd = fd;
	o->b = b;
	strlcpy(o->why, why != NULL ? why : "", sizeof(o->why));
}

static void
refused(struct place *p, struct backend *b, const char *why, void *arg)
{
	struct outcome	*o = arg;

	(void)p;
	(void)b;
	(void)why;
	o->refused++;
}

static const struct place_events events = { .done = done, .refused = refused };

/* A backend on a listening socket (*lfd), or on a port nothing listens on. */
static void
add(struct backend_set *set, int listening, int *lfd)
{
	struct listen_address	 a;
	struct backend_spec	 s;
	char			 line[64], err[128];
	uint16_t		 port;
	int			 fd;

	memset(&a, 0, sizeof(a));
	strlcpy(a.host, "127.0.0.1", sizeof(a.host));
	net_listen(&a, 8, &fd);
	net_local_port(fd, &port);
	if (listening)
		*lfd = fd;
	else
		close(fd);
	snprintf(line, sizeof(line), "127.0.0.1:%u", port);
	backend_parse_line(line, &s, err, sizeof(err));
	backend_set_add(set, &s);
	backend_resolve(set->b[set->n - 1], err, sizeof(err));
}

static void
run(struct loop *l, struct outcome *o)
{
	int	 i;

	for (i = 0; i < 200 && !o->done; i++)
		loop_once(l, 5);
}

int
main(void)
{
	struct loop		*l = loop_new();
	struct backend_set	 set;
	struct place_config	 cfg = { .algo = BACKEND_ROUNDROBIN, .retries = 1 };
	struct outcome		 o;
	struct place		*p;
	int			 lfd = -1, fd, i;

	backend_set_init(&set);
	add(&set, 0, NULL);
	add(&set, 1, &lfd);
	add(&set, 0, NULL);
	memset(&o, 0, sizeof(o));
	p = place_start(l, &set, &cfg, "k", 1, 0, &events, &o);
	CHECK(p != NULL && o.done == 0, "no outcome from inside place_start()");
	CHECK(place_backend(p) == NULL, "nothing picked yet");
	run(l, &o);
	CHECK(o.done == 1 && o.fd >= 0 && o.b == set.b[1], "the refusing one passed over: "
	    "connected to the listening one");
	CHECK(o.refused == 1 && set.b[0]->refused == 1 && set.b[0]->active == 0,
	    "the refusal counted, its pick given back");
	CHECK_EQ(set.b[1]->active, 1, "the connected one keeps its count");
	if ((fd = accept(lfd, NULL, NULL)) >= 0)
		close(fd);
	close(o.fd);
	backend_detach(set.b[1]);

	/* Only the dead ones left: two refusals spend retries 1. */
	set.b[1]->up = 0;
	memset(&o, 0, sizeof(o));
	place_start(l, &set, &cfg, "k", 1, 0, &events, &o);
	run(l, &o);
	CHECK(o.done == 1 && o.fd == -1 && o.b == NULL &&
	    strcmp(o.why, "no backend answered") == 0, "two refusals, retries 1: %s", o.why);
	CHECK_EQ(o.refused, 2, "both reported");
	for (i = 0; i < 3; i++)
		set.b[i]->up = 0;
	memset(&o, 0, sizeof(o));
	place_start(l, &set, &cfg, "k", 1, 0, &events, &o);
	CHECK(o.done == 0, "none up: still not from inside");
	run(l, &o);
	CHECK(o.done == 1 && strcmp(o.why, "no backend can take it") == 0, "none up: %s",
	    o.why);
	set.b[1]->up = 1;
	memset(&o, 0, sizeof(o));
	p = place_start(l, &set, &cfg, "k", 1, 0, &events, &o);
	loop_once(l, 0);
	CHECK(place_backend(p) == set.b[1] && set.b[1]->active == 1, "connecting");
	place_cancel(p);
	for (i = 0; i < 10; i++)
		loop_once(l, 2);
	CHECK(o.done == 0 && set.b[1]->active == 0, "cancelled: no outcome, count given back");
	backend_set_free(&set);
	close(lfd);
	loop_free(l);
	return unit_done();
}
