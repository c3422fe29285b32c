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

struct client {
	struct loop		*loop;
	struct client_config	 config;
	struct url		 url;
	struct client_events	 events;
	void			*arg;
	char			 peer[300];
	enum client_state	 state;
	struct net_addrs	 addrs;
	int			 have_addrs;
	int			 fd;
	int			 registered;
	int			 conn_open;
	struct conn		 conn;
	struct rtmp_session	*session;
	int			 ready;
	int			 starved;	/* the program was told to wait: owe it a drained */
	int			 write_shut;
	uint64_t		 timer;
	uint64_t		 last_progress;	/* last read (play) or write (publish) */
	uint64_t		 bytes_in, bytes_out;
};

static void	client_io(struct loop *, int, int, void *);

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
	if (c->session != NULL) {
		c->bytes_in = rtmp_session_bytes_in(c->session);
		c->bytes_out = rtmp_session_bytes_out(c->session);
	}
	if (c->conn_open) {
		conn_close(&c->conn);
		c->conn_open = 0;
	} else if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->have_addrs) {
		net_addrs_free(&c->addrs);
		c->have_addrs = 0;
	}
	rtmp_session_free(c->session);
	c->session = NULL;
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
	uint64_t	 now = loop_now(loop), idle;
	char		 reason[128];

	(void)id;
	if (c->state == CLIENT_FINISHING) {
		c->timer = 0;
		client_fail(c, RTMP_OK, "finished");
		return LOOP_TIMER_STOP;
	}
	if (c->ready) {
		/* A publisher with nothing queued and room to send is quiet, not stalled. */
		if (c->config.publish && c->session != NULL &&
		    !rtmp_session_wants_write(c->session) &&
		    rtmp_session_window_open(c->session))
			c->last_progress = now;
		idle = now - c->last_progress;
		if (idle < c->config.timeout_ms)
			return c->config.timeout_ms - idle;
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
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", c->url.host, c->url.port);
	else
		snprintf(c->peer, sizeof(c->peer), "%s:%u", c->url.host, c->url.port);
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
	return c->peer;
}

uint64_t
client_bytes_in(const struct client *c)
{
	return c->session != NULL ? rtmp_session_bytes_in(c->session) : c->bytes_in;
}

uint64_t
client_bytes_out(const struct client *c)
{
	return c->session != NULL ? rtmp_session_bytes_out(c->session) : c->bytes_out;
}

size_t
client_queued(const struct client *c)
{
	size_t	 len = 0;

	if (c->session != NULL)
		rtmp_session_output(c->session, &len);
	return len;
}

static int
client_open(const struct client *c)
{
	return c->state == CLIENT_RUNNING && c->ready &&
	    client_queued(c) < c->config.low_water &&
	    rtmp_session_window_open(c->session);
}

int
client_can_send(struct client *c)
{
	if (client_open(c))
		return 1;
	c->starved = 1;
	return 0;
}

/* Register what the connection and the session want now. */
static void
client_update_interest(struct client *c)
{
	int	 want;

	if (c->state != CLIENT_RUNNING && c->state != CLIENT_FINISHING)
		return;
	want = conn_wants(&c->conn);
	/*
	 * Queued output makes a plain socket worth watching for writes; with
	 * TLS only when the handshake is done and no write waits for input,
	 * or a writable socket would wake the loop for nothing, again and again.
	 */
	if (rtmp_session_wants_write(c->session) && (c->conn.tls == NULL ||
	    (tls_handshake_done(c->conn.tls) && c->conn.wwant != LOOP_READ)))
		want |= LOOP_WRITE;
	loop_modify(c->loop, c->fd, want);
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
		if (loop_add(c->loop, c->fd, LOOP_WRITE, client_io, c) == 0) {
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

static int
client_session_start(struct client *c)
{
	struct rtmp_config	 rc;
	struct tls		*tls = NULL;

	net_set_nodelay(c->fd);
	if (c->url.tls) {
		if ((tls = tls_new(c->config.tls, c->fd, 0)) == NULL ||
		    tls_set_server_name(tls, c->url.host) < 0) {
			tls_free(tls);
			return RTMP_ENOMEM;
		}
	}
	conn_init(&c->conn, c->fd, tls, CLIENT_RBUF_LIMIT);
	c->conn_open = 1;
	client_session_config(&c->config, &rc);
	if ((c->session = rtmp_session_new(&rc)) == NULL)
		return RTMP_ENOMEM;
	net_addrs_free(&c->addrs);
	c->have_addrs = 0;
	c->state = CLIENT_RUNNING;
	return 0;
}

static void
status_reason(const struct rtmp_event *ev, const char *app, const char *stream, char *out,
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

/* Act on one session event; -1 if the client closed meanwhile. */
static int
client_event(struct client *c, struct rtmp_event *ev)
{
	char	 reason[512];

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
			if (c->state == CLIENT_CLOSED)
				return -1;
		}
		if (ev->message_type == RTMP_MSG_AUDIO || ev->message_type == RTMP_MSG_VIDEO)
			c->last_progress = loop_now(c->loop);
		if (c->events.media != NULL)
			c->events.media(c, ev, c->arg);
		break;
	case RTMP_EVENT_STATUS:
		if (ev->error) {
			status_reason(ev, c->url.app, c->url.stream, reason, sizeof(reason));
			client_fail(c, rtmp_status_error(ev), reason);
			return -1;
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
		return -1;
	default:
		break;
	}
	return c->state == CLIENT_CLOSED ? -1 : 0;
}

static void
client_read(struct client *c)
{
	struct rtmp_event	 ev;
	size_t			 used;
	ssize_t			 n;
	int			 rc;
	char			 reason[300];

	do {
		n = conn_read(&c->conn);
		if (n < 0) {
			if (n == RTMP_ECLOSED && c->state == CLIENT_FINISHING) {
				client_fail(c, RTMP_OK, "finished");
				return;
			}
			if (n == RTMP_ECLOSED && rtmp_session_partial(c->session)) {
				client_fail(c, RTMP_EPROTO,
				    "connection closed in the middle of a message");
				return;
			}
			if (n == RTMP_ETLS)
				snprintf(reason, sizeof(reason), "tls: %s",
				    conn_strerror(&c->conn, (int)n));
			else
				snprintf(reason, sizeof(reason), "%s",
				    conn_strerror(&c->conn, (int)n));
			client_fail(c, (int)n, reason);
			return;
		}
		/* Feed until the session wants more, even with rbuf empty: an
		 * aggregate's sub-messages come out of calls that use no input. */
		for (;;) {
			rc = rtmp_session_feed(c->session, buf_data(&c->conn.rbuf),
			    c->conn.rbuf.len, loop_now(c->loop), &used, &ev);
			buf_consume(&c->conn.rbuf, used);
			if (rc < 0) {
				snprintf(reason, sizeof(reason), "%s",
				    rtmp_strerror(rc));
				client_fail(c, rc, reason);
				return;
			}
			if (rc == RTMP_EVENT_NONE)
				break;
			if (client_event(c, &ev) < 0)
				return;
		}
		/* Bytes that came with the peer's close were handed over first: now the close. */
	} while (conn_pending(&c->conn) || c->conn.eof);
}

static void
client_write(struct client *c)
{
	const uint8_t	*p;
	size_t		 len;
	ssize_t		 n;
	char		 reason[300];

	p = rtmp_session_output(c->session, &len);
	n = conn_write(&c->conn, p, len);
	if (n < 0) {
		snprintf(reason, sizeof(reason), "%s%s", n == RTMP_ETLS ? "tls: " : "",
		    conn_strerror(&c->conn, (int)n));
		client_fail(c, (int)n, reason);
		return;
	}
	if (n > 0) {
		rtmp_session_sent(c->session, (size_t)n);
		c->last_progress = loop_now(c->loop);
	}
	if (c->state == CLIENT_FINISHING && !rtmp_session_wants_write(c->session) &&
	    !c->write_shut) {
		/*
		 * All sent: half-close (after TLS's close_notify) and let the
		 * server hang up, so nothing in flight is cut by a reset.
		 */
		c->write_shut = 1;
		if (c->conn.tls != NULL)
			tls_shutdown(c->conn.tls);
		shutdown(c->fd, SHUT_WR);
	}
}

/*
 * The queue drains on writes, the peer's window reopens on reads: either
 * way, a program that was told to wait hears about it once.
 */
static void
client_maybe_drained(struct client *c)
{
	if (!c->starved || !client_open(c))
		return;
	c->starved = 0;
	if (c->events.drained != NULL)
		c->events.drained(c, c->arg);
}

static void
client_io(struct loop *loop, int fd, int events, void *arg)
{
	struct client	*c = arg;
	int		 rc;

	(void)loop;
	(void)fd;
	if (c->state == CLIENT_CONNECTING) {
		if (net_connect_result(c->fd) < 0) {
			loop_remove(c->loop, c->fd);
			c->registered = 0;
			close(c->fd);
			c->fd = -1;
			client_connect_next(c);
			return;
		}
		if ((rc = client_session_start(c)) < 0) {
			client_fail(c, rc, rtmp_strerror(rc));
			return;
		}
		events = LOOP_WRITE | LOOP_READ;
	}
	if (events & (LOOP_READ | LOOP_ERROR)) {
		client_read(c);
		if (c->state == CLIENT_CLOSED)
			return;
	}
	/* A write with nothing queued only clears a stale write interest. */
	if ((events & LOOP_WRITE) || rtmp_session_wants_write(c->session)) {
		client_write(c);
		if (c->state == CLIENT_CLOSED)
			return;
	}
	client_maybe_drained(c);
	if (c->state == CLIENT_CLOSED)
		return;
	client_update_interest(c);
}

/* Queue work and make sure the loop will write it. */
static int
client_queued_more(struct client *c, int rc)
{
	if (rc < 0)
		return rc;
	client_update_interest(c);
	return 0;
}

int
client_send_media(struct client *c, uint8_t type, uint32_t timestamp,
    const uint8_t *payload, size_t len)
{
	if (c->state != CLIENT_RUNNING)
		return RTMP_ESTATE;
	return client_queued_more(c, rtmp_session_send_media(c->session, type, timestamp,
	    payload, len));
}

int
client_send_metadata(struct client *c, uint32_t timestamp, const uint8_t *payload,
    size_t len)
{
	if (c->state != CLIENT_RUNNING)
		return RTMP_ESTATE;
	return client_queued_more(c, rtmp_session_send_metadata(c->session, timestamp,
	    payload, len));
}

int
client_finish(struct client *c)
{
	int	 rc;

	if (c->state != CLIENT_RUNNING)
		return RTMP_ESTATE;
	if ((rc = rtmp_session_close_stream(c->session)) < 0)
		return rc;
	c->state = CLIENT_FINISHING;
	if (c->timer != 0)
		loop_timer_cancel(c->loop, c->timer);
	c->timer = loop_timer(c->loop, CLIENT_LINGER_MS + c->config.timeout_ms,
	    client_deadline, c);
	client_update_interest(c);
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
