/*
 * client.c: an RTMP client connection on the event loop.
 * See client.h for the contract.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "conn.h"
#include "error.h"
#include "loop.h"
#include "net.h"
#include "peer.h"
#include "tls.h"

#define CLIENT_RBUF_LIMIT	(1024 * 1024)
#define CLIENT_LINGER_MS	2000	/* wait for the server to close after a finish */

enum client_state {
	CLIENT_IDLE,
	CLIENT_CONNECTING,
	CLIENT_RUNNING,
	CLIENT_FINISHING,	/* unpublished: flush, then wait for the close */
	CLIENT_CLOSED,
};

/*
 * Connecting (resolve, connect(2), the next address after a refusal) is
 * the client's own; once connected, the connection is a peer (peer.h):
 * read pump, ordered output, the one teardown path.
 */
struct client {
	struct loop		*loop;
	struct client_config	 config;
	struct url		 url;
	struct client_events	 events;
	void			*arg;
	char			 peer_name[300];
	enum client_state	 state;
	struct net_addrs	 addrs;
	int			 have_addrs;
	int			 fd;		/* while connecting */
	int			 registered;
	struct peer		*peer;
	int			 ready;
	int			 starved;	/* the program was told to wait: owe it a drained */
	uint64_t		 timer;
	uint64_t		 last_progress;	/* last media read (play) */
	uint64_t		 bytes_in, bytes_out;
};

static void	client_connecting(struct loop *, int, int, void *);

static struct rtmp_session *
client_session(const struct client *c)
{
	return c->peer != NULL ? peer_session(c->peer) : NULL;
}

static void
client_teardown(struct client *c)
{
	if (c->timer != 0) {
		loop_timer_cancel(c->loop, c->timer);
		c->timer = 0;
	}
	if (c->registered) {
		loop_remove(c->loop, c->fd);
		c->registered = 0;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->peer != NULL) {
		c->bytes_in = peer_bytes_in(c->peer);
		c->bytes_out = peer_bytes_out(c->peer);
		peer_free(c->peer);
		c->peer = NULL;
	}
	if (c->have_addrs) {
		net_addrs_free(&c->addrs);
		c->have_addrs = 0;
	}
}

static void
client_fail(struct client *c, int error, const char *reason)
{
	char	 line[512];

	if (c->state == CLIENT_CLOSED)
		return;
	/* Messages read "peer: connection refused", whatever strerror's case. */
	strlcpy(line, reason, sizeof(line));
	if (line[0] >= 'A' && line[0] <= 'Z' && (line[1] < 'A' || line[1] > 'Z'))
		line[0] += 'a' - 'A';
	client_teardown(c);
	c->state = CLIENT_CLOSED;
	if (c->events.closed != NULL)
		c->events.closed(c, error, line, c->arg);
}

static uint64_t
client_deadline(struct loop *loop, uint64_t id, void *arg)
{
	struct client	*c = arg;
	uint64_t	 now = loop_now(loop), idle, last;
	char		 reason[128];

	(void)id;
	if (c->ready) {
		last = c->last_progress;
		if (c->config.publish && c->peer != NULL) {
			/* A publisher with nothing queued and room to send is quiet, not stalled. */
			if (peer_queued(c->peer) == 0 &&
			    rtmp_session_window_open(client_session(c)))
				last = now;
			else if (peer_last_output(c->peer) > last)
				last = peer_last_output(c->peer);
		}
		idle = now - last;
		if (idle < c->config.timeout_ms) {
			c->last_progress = last;
			return c->config.timeout_ms - idle;
		}
		snprintf(reason, sizeof(reason), "no %s for %u s",
		    c->config.publish ? "progress sending" : "media",
		    c->config.timeout_ms / 1000);
	} else
		snprintf(reason, sizeof(reason), "no answer within %u s",
		    c->config.timeout_ms / 1000);
	c->timer = 0;
	client_fail(c, RTMP_ETIMEOUT, reason);
	return LOOP_TIMER_STOP;
}

void
client_session_config(const struct client_config *config, struct rtmp_config *rc)
{
	rtmp_config_default(rc, RTMP_ROLE_CLIENT);
	rc->publish = config->publish;
	rc->app = config->url->app;
	rc->tc_url = config->url->tc_url;
	rc->stream = config->url->stream;
	/*
	 * A player asks for a long buffer, as rtmpdump does: servers pace
	 * recorded streams to the buffer length, and live ones ignore it.
	 */
	rc->buffer_ms = 36000000;
	/*
	 * A player queues only control answers: a server that floods pings
	 * and never reads must not grow it far.  A publisher queues up to
	 * low water plus one tag.
	 */
	rc->output_limit = config->publish ? (config->low_water != 0 ?
	    config->low_water : CLIENT_LOW_WATER) + (17u << 20) : 1u << 20;
}

struct client *
client_new(struct loop *loop, const struct client_config *config,
    const struct client_events *events, void *arg)
{
	struct client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->config = *config;
	c->url = *config->url;
	c->config.url = &c->url;
	if (c->config.timeout_ms == 0)
		c->config.timeout_ms = 30000;
	if (c->config.low_water == 0)
		c->config.low_water = CLIENT_LOW_WATER;
	c->events = *events;
	c->arg = arg;
	c->fd = -1;
	if (strchr(c->url.host, ':') != NULL)
		snprintf(c->peer_name, sizeof(c->peer_name), "[%s]:%u", c->url.host,
		    c->url.port);
	else
		snprintf(c->peer_name, sizeof(c->peer_name), "%s:%u", c->url.host,
		    c->url.port);
	return c;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	client_teardown(c);
	free(c);
}

const char *
client_peer(const struct client *c)
{
	return c->peer_name;
}

uint64_t
client_bytes_in(const struct client *c)
{
	return c->peer != NULL ? peer_bytes_in(c->peer) : c->bytes_in;
}

uint64_t
client_bytes_out(const struct client *c)
{
	return c->peer != NULL ? peer_bytes_out(c->peer) : c->bytes_out;
}

size_t
client_queued(const struct client *c)
{
	return c->peer != NULL ? peer_queued(c->peer) : 0;
}

int
client_can_send(struct client *c)
{
	if (c->state == CLIENT_RUNNING && c->ready && peer_can_send(c->peer))
		return 1;
	c->starved = 1;
	return 0;
}

static void
client_connect_next(struct client *c)
{
	int	 rc, saved;

	for (;;) {
		rc = net_connect_next(&c->addrs, &c->fd);
		if (rc < 0) {
			saved = errno;
			client_fail(c, RTMP_ESYS, strerror(saved));
			return;
		}
		if (loop_add(c->loop, c->fd, LOOP_WRITE, client_connecting, c) == 0) {
			c->registered = 1;
			return;
		}
		close(c->fd);
		c->fd = -1;
	}
}

int
client_start(struct client *c)
{
	int	 rc;

	if (c->state != CLIENT_IDLE)
		return RTMP_ESTATE;
	if (c->url.tls && c->config.tls == NULL)
		return RTMP_EINVAL;
	if ((rc = net_resolve(c->url.host, c->url.port, &c->addrs)) < 0)
		return rc;
	c->have_addrs = 1;
	c->state = CLIENT_CONNECTING;
	c->timer = loop_timer(c->loop, c->config.timeout_ms, client_deadline, c);
	client_connect_next(c);
	return 0;
}

static void	client_peer_event(struct peer *, const struct rtmp_event *, void *);
static void	client_peer_drained(struct peer *, void *);
static void	client_peer_closed(struct peer *, int, const char *, void *);

static const struct peer_events client_peer_events = {
	client_peer_event, client_peer_drained, NULL, client_peer_closed
};

/* Connected: the connection becomes a peer, which owns the fd from here. */
static int
client_session_start(struct client *c)
{
	struct peer_config	 pc;
	struct tls		*tls = NULL;
	int			 fd = c->fd;

	loop_remove(c->loop, fd);
	c->registered = 0;
	c->fd = -1;
	net_set_nodelay(fd);
	if (c->url.tls) {
		if ((tls = tls_new(c->config.tls, fd, 0)) == NULL ||
		    tls_set_server_name(tls, c->url.host) < 0) {
			tls_free(tls);
			close(fd);
			return RTMP_ENOMEM;
		}
	}
	memset(&pc, 0, sizeof(pc));
	client_session_config(&c->config, &pc.rtmp);
	pc.read_limit = CLIENT_RBUF_LIMIT;
	pc.low_water = c->config.low_water;
	if ((c->peer = peer_new(c->loop, fd, tls, &pc, &client_peer_events, c)) == NULL)
		return RTMP_ENOMEM;
	net_addrs_free(&c->addrs);
	c->have_addrs = 0;
	c->state = CLIENT_RUNNING;
	return 0;
}

static void
client_status_reason(const struct rtmp_event *ev, const char *app, const char *stream, char *out,
    size_t size)
{
	/* app/stream as the user knows it, without a ?key= that logs must not show. */
	if (rtmp_status_error(ev) == RTMP_ENOTFOUND)
		snprintf(out, size, "stream not found: %.200s/%.*s", app,
		    (int)strcspn(stream, "?"), stream);
	else if (ev->description.len > 0)
		snprintf(out, size, "refused: %.*s: %.*s", (int)ev->code.len,
		    (const char *)ev->code.ptr, (int)ev->description.len,
		    (const char *)ev->description.ptr);
	else
		snprintf(out, size, "refused: %.*s", (int)ev->code.len,
		    (const char *)ev->code.ptr);
}

static void
client_became_ready(struct client *c)
{
	c->ready = 1;
	c->last_progress = loop_now(c->loop);
	/* From here the deadline is an idle timer. */
	if (c->timer != 0)
		loop_timer_cancel(c->loop, c->timer);
	c->timer = loop_timer(c->loop, c->config.timeout_ms, client_deadline, c);
	if (c->events.ready != NULL)
		c->events.ready(c, c->arg);
}

/* One session event, from the peer. */
static void
client_peer_event(struct peer *p, const struct rtmp_event *ev, void *arg)
{
	struct client	*c = arg;
	char		 reason[512];

	(void)p;
	if (c->state != CLIENT_RUNNING)
		return;
	switch (ev->type) {
	case RTMP_EVENT_READY:
		if (!c->ready)
			client_became_ready(c);
		break;
	case RTMP_EVENT_MEDIA:
		/*
		 * Some servers never say Play.Start: media is the proof, as
		 * for librtmp.  Only audio and video count, not data.
		 */
		if (!c->ready && !c->config.publish &&
		    (ev->message_type == RTMP_MSG_AUDIO || ev->message_type == RTMP_MSG_VIDEO)) {
			client_became_ready(c);
			if (c->state != CLIENT_RUNNING)
				return;
		}
		if (ev->message_type == RTMP_MSG_AUDIO || ev->message_type == RTMP_MSG_VIDEO)
			c->last_progress = loop_now(c->loop);
		if (c->events.media != NULL)
			c->events.media(c, ev, c->arg);
		break;
	case RTMP_EVENT_STATUS:
		if (ev->error) {
			client_status_reason(ev, c->url.app, c->url.stream, reason,
			    sizeof(reason));
			client_fail(c, rtmp_status_error(ev), reason);
			return;
		}
		/* FALLTHROUGH */
	case RTMP_EVENT_STREAM_EOF:
	case RTMP_EVENT_STREAM_BEGIN:
	case RTMP_EVENT_STREAM_RECORDED:
		if (c->events.status != NULL)
			c->events.status(c, ev, c->arg);
		break;
	case RTMP_EVENT_CLOSE:
		client_fail(c, RTMP_ECLOSED, "server closed the connection");
		return;
	default:
		break;
	}
}

/* The queue drained or the server's window reopened: a program told to wait hears once. */
static void
client_peer_drained(struct peer *p, void *arg)
{
	struct client	*c = arg;

	(void)p;
	if (!c->starved || c->state != CLIENT_RUNNING || !c->ready)
		return;
	c->starved = 0;
	if (c->events.drained != NULL)
		c->events.drained(c, c->arg);
}

static void
client_peer_closed(struct peer *p, int error, const char *reason, void *arg)
{
	struct client	*c = arg;

	(void)p;
	client_fail(c, error, reason);
}

static void
client_connecting(struct loop *loop, int fd, int events, void *arg)
{
	struct client	*c = arg;
	int		 rc;

	(void)loop;
	(void)fd;
	(void)events;
	if (net_connect_result(c->fd) < 0) {
		loop_remove(c->loop, c->fd);
		c->registered = 0;
		close(c->fd);
		c->fd = -1;
		client_connect_next(c);
		return;
	}
	if ((rc = client_session_start(c)) < 0)
		client_fail(c, rc, rtmp_strerror(rc));
}

/*
 * The session queued bytes: the loop writes them.  Not at once: a program
 * sending as fast as it can must fill the queue to low water and go back
 * to the loop, which reads the server's acknowledgements; otherwise a
 * server that reads without acknowledging is flooded (hostile.bats).
 */
static int
client_queued_more(struct client *c, int rc)
{
	if (rc < 0)
		return rc;
	peer_flush_later(c->peer);
	return 0;
}

int
client_send_media(struct client *c, uint8_t type, uint32_t timestamp,
    const uint8_t *payload, size_t len)
{
	if (c->state != CLIENT_RUNNING)
		return RTMP_ESTATE;
	return client_queued_more(c, rtmp_session_send_media(client_session(c), type,
	    timestamp, payload, len));
}

int
client_send_metadata(struct client *c, uint32_t timestamp, const uint8_t *payload,
    size_t len)
{
	if (c->state != CLIENT_RUNNING)
		return RTMP_ESTATE;
	return client_queued_more(c, rtmp_session_send_metadata(client_session(c), timestamp,
	    payload, len));
}

int
client_finish(struct client *c)
{
	int	 rc;

	if (c->state != CLIENT_RUNNING)
		return RTMP_ESTATE;
	if ((rc = rtmp_session_close_stream(client_session(c))) < 0)
		return rc;
	c->state = CLIENT_FINISHING;
	if (c->timer != 0)
		loop_timer_cancel(c->loop, c->timer);
	c->timer = 0;
	/* The peer flushes, half-closes and waits for the server to hang up. */
	peer_finish(c->peer, CLIENT_LINGER_MS + c->config.timeout_ms);
	return 0;
}

int
client_exit_status(int error)
{
	switch (error) {
	case RTMP_OK:
		return CLIENT_EXIT_OK;
	case RTMP_ENOTFOUND:
	case RTMP_EREFUSED:
		return CLIENT_EXIT_REFUSED;
	case RTMP_ETLS:
		return CLIENT_EXIT_TLS;
	case RTMP_ETIMEOUT:
		return CLIENT_EXIT_TIMEOUT;
	default:
		return CLIENT_EXIT_FAILURE;
	}
}

void
backoff_init(struct backoff *b, int attempts)
{
	b->attempts = attempts;
	backoff_reset(b);
}

void
backoff_reset(struct backoff *b)
{
	b->used = 0;
	b->delay_ms = 1000;
}

int64_t
backoff_next(struct backoff *b)
{
	uint32_t	 d;

	if (b->used >= b->attempts)
		return -1;
	b->used++;
	d = b->delay_ms;
	b->delay_ms = d >= 15000 ? 30000 : d * 2;
	return d;
}

void
client_progress(char *out, size_t outsize, uint64_t media_ms, uint64_t bytes,
    uint64_t elapsed_ms)
{
	snprintf(out, outsize, "%7.1f s  %8.1f MB  %6llu kbit/s", media_ms / 1000.0,
	    bytes / 1e6, elapsed_ms > 0 ? (unsigned long long)(bytes * 8 / elapsed_ms) : 0ULL);
}
