/*
 * test_intake.c: a client session against intake on a socketpair: ready
 * with the request, the connection and a join taken over; a bad name
 * refused; a client that never gets to play closed at the deadline.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "intake.h"
#include "join.h"
#include "loop.h"
#include "rtmp.h"
#include "unit.h"

struct watch {
	int			 ready, closed, error;
	char			 reason[128];
	struct intake_request	 request;
};

static void
watch_ready(struct intake *in, const struct intake_request *r, void *arg)
{
	struct watch	*w = arg;

	(void)in;
	w->ready++;
	w->request = *r;
}

static void
watch_closed(struct intake *in, int error, const char *reason, void *arg)
{
	struct watch	*w = arg;

	(void)in;
	w->closed++;
	w->error = error;
	strlcpy(w->reason, reason, sizeof(w->reason));
}

static const struct intake_events events = {
	.ready = watch_ready,
	.closed = watch_closed,
};

/* The client's side, by hand: its bytes out, the intake's in; errors counted. */
struct client {
	struct rtmp_session	*s;
	int			 fd;
	int			 connected, errors;
};

static void
client_step(struct client *c)
{
	struct rtmp_event	 ev;
	const uint8_t		*p;
	uint8_t			 in[65536];
	size_t			 len, used, off = 0;
	ssize_t			 n;
	int			 rc;

	p = rtmp_session_output(c->s, &len);
	if (len > 0 && (n = write(c->fd, p, len)) > 0)
		rtmp_session_sent(c->s, (size_t)n);
	if ((n = read(c->fd, in, sizeof(in))) <= 0)
		return;
	while ((size_t)off < (size_t)n) {
		rc = rtmp_session_feed(c->s, in + off, (size_t)n - off, 0, &used, &ev);
		off += used;
		if (rc < 0) {
			c->errors++;
			return;
		}
		if (rc == RTMP_EVENT_CONNECTED)
			c->connected++;
		if (rc == RTMP_EVENT_STATUS && ev.error)
			c->errors++;
		if (rc == RTMP_EVENT_NONE)
			break;
	}
}

static struct intake *
start(struct loop *l, struct client *c, struct watch *w, const char *stream,
    uint32_t deadline_ms)
{
	struct intake_config	 ic = { .deadline_ms = deadline_ms };
	struct rtmp_config	 cc;
	int			 sv[2];

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
	memset(w, 0, sizeof(*w));
	memset(c, 0, sizeof(*c));
	rtmp_config_default(&cc, RTMP_ROLE_CLIENT);
	cc.app = "live";
	cc.tc_url = "rtmp://127.0.0.1/live";
	cc.stream = stream;
	c->s = rtmp_session_new(&cc);
	c->fd = sv[0];
	return intake_new(l, sv[1], NULL, &ic, &events, w);
}

static void
run(struct loop *l, struct client *c, struct watch *w, int until_ready)
{
	int	 i;

	for (i = 0; i < 400 && !w->closed && !(until_ready && w->ready); i++) {
		client_step(c);
		loop_once(l, 5);
	}
}

static void
stop(struct client *c)
{
	rtmp_session_free(c->s);
	close(c->fd);
}

int
main(void)
{
	struct loop	*l = loop_new();
	struct client	 c;
	struct watch	 w;
	struct intake	*in;
	struct join	*j = NULL;
	struct tls	*tls = (struct tls *)1;
	const uint8_t	*p;
	size_t		 len;
	int		 fd = -1, i;

	in = start(l, &c, &w, "cam?key=1", 0);
	run(l, &c, &w, 1);
	CHECK(w.ready == 1 && w.closed == 0, "ready (%d), not closed (%d: %s)", w.ready,
	    w.closed, w.reason);
	CHECK(!w.request.publish && strcmp(w.request.app, "live") == 0 &&
	    strcmp(w.request.stream, "cam") == 0 && strcmp(w.request.query, "key=1") == 0,
	    "the request: play live/cam, query key=1");
	CHECK_EQ(c.connected, 1, "the client had its connect answered");
	CHECK_EQ(intake_take(in, &fd, &tls, &j), 0, "taken");
	CHECK(fd >= 0 && tls == NULL && j != NULL, "the fd, no TLS, a join");
	p = join_to_backend(j, &len);
	CHECK(p != NULL && len == 1 + 1536 && p[0] == 3, "the join starts with C0+C1");
	for (i = 0; i < 20; i++)
		loop_once(l, 2);
	CHECK_EQ(w.closed, 0, "no callback after the hand-over");
	join_free(j);
	close(fd);
	stop(&c);

	in = start(l, &c, &w, "../etc", 0);
	run(l, &c, &w, 0);
	CHECK(w.ready == 0 && w.closed == 1 && w.error == RTMP_EREFUSED &&
	    strcmp(w.reason, "refused: bad stream name") == 0, "a traversal name: %s",
	    w.reason);
	CHECK(c.errors >= 1, "the client was told");
	stop(&c);

	in = start(l, &c, &w, "cam", 0);
	run(l, &c, &w, 1);
	intake_refuse(in, "no backend can take it");
	run(l, &c, &w, 0);
	CHECK(w.closed == 1 && w.error == RTMP_OK, "refused after ready: closed, %s", w.reason);
	CHECK(c.errors >= 1, "the client heard StreamNotFound");
	stop(&c);

	/* A client that stops after the handshake: the deadline. */
	in = start(l, &c, &w, "cam", 100);
	for (i = 0; i < 400 && !w.closed; i++) {
		if (i < 3)
			client_step(&c);
		loop_once(l, 5);
	}
	CHECK(w.closed == 1 && w.error == RTMP_ETIMEOUT, "the deadline: %s", w.reason);
	stop(&c);

	in = start(l, &c, &w, "cam", 0);
	intake_free(in);
	stop(&c);
	loop_free(l);
	return unit_done();
}
