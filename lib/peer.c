/*
 * peer.c: one RTMP connection on the event loop.
 * See peer.h for the contract.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"
#include "loop.h"
#include "peer.h"
#include "tls.h"

#define PEER_IOV	64	/* iovecs per writev: blocks plus the session's bytes */

enum peer_state {
	PEER_OPEN,
	PEER_FINISHING,		/* flushing, then waiting for the other side to hang up */
	PEER_CLOSED,		/* torn down; `closed` not yet delivered */
};

struct peer {
	struct loop		*loop;
	size_t			 low_water;	/* the config's; the rest serves peer_new() only */
	struct peer_events	 events;
	void			*arg;
	struct conn		 conn;
	int			 fd;
	struct rtmp_session	*session;
	struct outq		 queue;
	enum peer_state		 state;
	int			 registered;
	int			 paused;
	int			 starved;	/* `drained` is owed */
	int			 write_shut;
	int			 busy;		/* the peer's own code is on the stack */
	int			 freed;		/* peer_free() came while busy */
	int			 error;
	char			*reason;	/* peer_close()'s, for `closed` */
	uint64_t		 deadline_timer, notify_timer, linger_timer;
	uint64_t		 last_input, last_output;
	uint64_t		 bytes_in, bytes_out;
	struct buf		 record;		/* config.record: every byte read */
	size_t			 record_limit;
};

static void	peer_io(struct loop *, int, int, void *);
static void	peer_update_interest(struct peer *);

/* The peer's memory, its close reason with it (made only at the end). */
static void
peer_destroy(struct peer *p)
{
	free(p->reason);
	free(p);
}

static void
peer_enter(struct peer *p)
{
	p->busy++;
}

/* 1 if the peer is gone (freed here, or closed): the caller must not touch it. */
static int
peer_leave(struct peer *p)
{
	if (--p->busy == 0 && p->freed) {
		peer_destroy(p);
		return 1;
	}
	return 0;
}

static void
peer_cancel(struct peer *p, uint64_t *timer)
{
	if (*timer != 0) {
		loop_timer_cancel(p->loop, *timer);
		*timer = 0;
	}
}

static void
peer_teardown(struct peer *p)
{
	peer_cancel(p, &p->deadline_timer);
	peer_cancel(p, &p->linger_timer);
	if (p->registered) {
		loop_remove(p->loop, p->fd);
		p->registered = 0;
	}
	if (p->session != NULL) {
		p->bytes_in = rtmp_session_bytes_in(p->session);
		p->bytes_out = rtmp_session_bytes_out(p->session);
		rtmp_session_free(p->session);
		p->session = NULL;
	}
	if (p->fd >= 0) {
		conn_close(&p->conn);
		p->fd = -1;
	}
	outq_free(&p->queue);
	buf_free(&p->record);
}

static uint64_t
peer_notify(struct loop *loop, uint64_t id, void *arg)
{
	struct peer	*p = arg;

	(void)loop;
	(void)id;
	p->notify_timer = 0;
	peer_enter(p);
	if (p->events.closed != NULL)
		p->events.closed(p, p->error, p->reason != NULL ? p->reason :
		    rtmp_strerror(p->error), p->arg);
	peer_leave(p);
	return LOOP_TIMER_STOP;
}

void
peer_close(struct peer *p, int error, const char *reason)
{
	if (p->state == PEER_CLOSED)
		return;
	p->state = PEER_CLOSED;
	p->error = error;
	/* Reasons read "peer: connection reset by peer", whatever strerror's case. */
	if ((p->reason = strdup(reason)) != NULL && p->reason[0] >= 'A' &&
	    p->reason[0] <= 'Z' && (p->reason[1] < 'A' || p->reason[1] > 'Z'))
		p->reason[0] += 'a' - 'A';
	peer_teardown(p);
	/* From the loop, never from inside the owner's own call. */
	p->notify_timer = loop_timer(p->loop, 0, peer_notify, p);
}

static void
peer_fail(struct peer *p, int rc)
{
	char	 reason[300];

	snprintf(reason, sizeof(reason), "%s%s", rc == RTMP_ETLS ? "tls: " : "",
	    conn_strerror(&p->conn, rc));
	peer_close(p, rc, reason);
}

struct peer *
peer_new(struct loop *loop, int fd, struct tls *tls, const struct peer_config *config,
    const struct peer_events *events, void *arg)
{
	struct peer_config	 c = *config;
	struct peer		*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		tls_free(tls);
		close(fd);
		return NULL;
	}
	p->loop = loop;
	if (c.read_limit == 0)
		c.read_limit = 1u << 20;
	if (c.queue_bytes == 0)
		c.queue_bytes = 4u << 20;
	if (c.queue_hard_bytes == 0)
		c.queue_hard_bytes = 2 * c.queue_bytes;
	p->low_water = c.low_water != 0 ? c.low_water : 256 * 1024;
	p->events = *events;
	p->arg = arg;
	p->fd = fd;
	buf_init(&p->record, c.record);
	p->record_limit = c.record;
	conn_init(&p->conn, fd, tls, c.read_limit);
	outq_init(&p->queue, c.queue_bytes, c.queue_ms, c.queue_hard_bytes);
	p->last_input = p->last_output = loop_now(loop);
	if ((p->session = rtmp_session_new(&c.rtmp)) == NULL ||
	    loop_add(loop, fd, LOOP_READ, peer_io, p) < 0) {
		peer_teardown(p);
		peer_destroy(p);
		return NULL;
	}
	p->registered = 1;
	/* A client's C0+C1, TLS's first flight: watch for writes if needed. */
	peer_update_interest(p);
	return p;
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	peer_teardown(p);
	peer_cancel(p, &p->notify_timer);
	p->state = PEER_CLOSED;
	if (p->busy > 0)
		p->freed = 1;
	else
		peer_destroy(p);
}

int
peer_detach(struct peer *p, int *fd, struct tls **tls, struct buf *record)
{
	if (p->state == PEER_CLOSED || peer_queued(p) > 0 || p->conn.sealed > 0)
		return RTMP_ESTATE;
	*fd = p->fd;
	*tls = p->conn.tls;
	*record = p->record;
	buf_init(&p->record, 0);
	if (p->registered) {
		loop_remove(p->loop, p->fd);
		p->registered = 0;
	}
	/* The fd and TLS are the new owner's: teardown must not close them. */
	p->conn.tls = NULL;
	buf_free(&p->conn.rbuf);
	p->fd = -1;
	peer_free(p);
	return 0;
}

struct rtmp_session *
peer_session(struct peer *p)
{
	return p->session;
}

size_t
peer_queued(const struct peer *p)
{
	size_t	 len = 0;

	if (p->session != NULL)
		rtmp_session_output(p->session, &len);
	return p->queue.bytes + len;
}

const struct outq *
peer_queue(const struct peer *p)
{
	return &p->queue;
}

int
peer_closing(const struct peer *p)
{
	return p->state != PEER_OPEN;
}

uint64_t
peer_last_input(const struct peer *p)
{
	return p->last_input;
}

uint64_t
peer_last_output(const struct peer *p)
{
	return p->last_output;
}

uint64_t
peer_bytes_in(const struct peer *p)
{
	return p->session != NULL ? rtmp_session_bytes_in(p->session) : p->bytes_in;
}

uint64_t
peer_bytes_out(const struct peer *p)
{
	return p->session != NULL ? rtmp_session_bytes_out(p->session) : p->bytes_out;
}

int
peer_fd(const struct peer *p)
{
	return p->fd;
}

int
peer_tls(const struct peer *p)
{
	return p->fd >= 0 && p->conn.tls != NULL;
}

/* Register what the connection and the queue want now. */
static void
peer_update_interest(struct peer *p)
{
	int	 want;

	if (p->state == PEER_CLOSED)
		return;
	want = conn_wants(&p->conn);
	/* Paused, read only when TLS needs a read to finish a write. */
	if (p->paused && p->conn.wwant != LOOP_READ &&
	    (p->conn.tls == NULL || tls_handshake_done(p->conn.tls)))
		want &= ~LOOP_READ;
	/*
	 * Queued output makes a plain socket worth watching for writes; with
	 * TLS only when the handshake is done and no write waits for input,
	 * or a writable socket would wake the loop for nothing, again and again.
	 */
	if (peer_queued(p) > 0 && (p->conn.tls == NULL ||
	    (tls_handshake_done(p->conn.tls) && p->conn.wwant != LOOP_READ)))
		want |= LOOP_WRITE;
	loop_modify(p->loop, p->fd, want);
}

static uint64_t
peer_linger_over(struct loop *loop, uint64_t id, void *arg)
{
	struct peer	*p = arg;

	(void)loop;
	(void)id;
	p->linger_timer = 0;
	peer_close(p, RTMP_OK, "finished");
	return LOOP_TIMER_STOP;
}

/* Write what the socket takes; the queue's blocks first, then the session's bytes. */
static void
peer_write(struct peer *p)
{
	struct iovec	 iov[PEER_IOV + 1];
	const uint8_t	*own;
	size_t		 ownlen, fromq;
	ssize_t		 n;
	int		 cnt;

	cnt = outq_iov(&p->queue, iov, PEER_IOV);
	own = rtmp_session_output(p->session, &ownlen);
	/* The session's bytes come after every block, and only when all blocks fit. */
	if (ownlen > 0 && (size_t)cnt == p->queue.count) {
		iov[cnt].iov_base = (void *)own;
		iov[cnt].iov_len = ownlen;
		cnt++;
	}
	n = conn_writev(&p->conn, iov, cnt);
	if (n < 0) {
		peer_fail(p, (int)n);
		return;
	}
	if (n > 0) {
		fromq = (size_t)n < p->queue.bytes ? (size_t)n : p->queue.bytes;
		outq_consume(&p->queue, fromq);
		rtmp_session_count_sent(p->session, fromq);
		rtmp_session_sent(p->session, (size_t)n - fromq);
		p->last_output = loop_now(p->loop);
	}
	outq_pin(&p->queue, p->conn.sealed);
	if (p->state == PEER_FINISHING && peer_queued(p) == 0 && !p->write_shut) {
		/*
		 * All sent: half-close (after TLS's close_notify) and let the
		 * other side hang up, so nothing in flight is cut by a reset.
		 */
		p->write_shut = 1;
		if (p->conn.tls != NULL)
			tls_shutdown(p->conn.tls);
		shutdown(p->fd, SHUT_WR);
	}
}

static void
peer_read(struct peer *p)
{
	struct rtmp_event	 ev;
	size_t			 used;
	ssize_t			 n;
	int			 rc;

	do {
		n = conn_read(&p->conn);
		if (n < 0) {
			if (n == RTMP_ECLOSED && p->state == PEER_FINISHING)
				peer_close(p, RTMP_OK, "finished");
			/*
			 * Not a connection that sent no byte at all (a balancer's
			 * TCP health check): that is a plain close, which the
			 * servers do not log.
			 */
			else if (n == RTMP_ECLOSED && rtmp_session_partial(p->session) &&
			    (peer_bytes_in(p) > 0 || p->conn.rbuf.len > 0))
				peer_close(p, RTMP_EPROTO,
				    "connection closed in the middle of a message");
			else
				peer_fail(p, (int)n);
			return;
		}
		if (n > 0)
			p->last_input = loop_now(p->loop);
		if (n > 0 && p->record_limit > 0 &&
		    buf_append(&p->record, buf_data(&p->conn.rbuf) + p->conn.rbuf.len - (size_t)n,
		    (size_t)n) < 0) {
			peer_close(p, RTMP_ELIMIT, "too much before the hand-over");
			return;
		}
		if (p->state == PEER_FINISHING) {
			/* A rejected or finished peer has nothing more to say. */
			buf_consume(&p->conn.rbuf, p->conn.rbuf.len);
			continue;
		}
		/*
		 * Feed until the session wants more, even with the buffer empty:
		 * an aggregate's sub-messages come out of calls that use no input.
		 */
		for (;;) {
			rc = rtmp_session_feed(p->session, buf_data(&p->conn.rbuf),
			    p->conn.rbuf.len, loop_now(p->loop), &used, &ev);
			buf_consume(&p->conn.rbuf, used);
			if (rc < 0) {
				peer_close(p, rc, rtmp_strerror(rc));
				return;
			}
			if (rc == RTMP_EVENT_NONE)
				break;
			if (p->events.event != NULL)
				p->events.event(p, &ev, p->arg);
			if (p->state == PEER_CLOSED)
				return;
			if (p->state == PEER_FINISHING)
				break;
		}
		/* Bytes that came with the other side's close were handed over first: now the close. */
	} while (conn_pending(&p->conn) || p->conn.eof);
	/* Back to the loop: the read buffer goes back to conn (conn.h). */
	if ((rc = conn_read_done(&p->conn)) < 0)
		peer_fail(p, rc);
}

static int
peer_open_for_sending(const struct peer *p)
{
	return p->state == PEER_OPEN && peer_queued(p) < p->low_water &&
	    rtmp_session_window_open(p->session);
}

int
peer_can_send(struct peer *p)
{
	if (peer_open_for_sending(p))
		return 1;
	p->starved = 1;
	return 0;
}

static void
peer_maybe_drained(struct peer *p)
{
	if (!p->starved || !peer_open_for_sending(p))
		return;
	p->starved = 0;
	if (p->events.drained != NULL)
		p->events.drained(p, p->arg);
}

static void
peer_io(struct loop *loop, int fd, int events, void *arg)
{
	struct peer	*p = arg;

	(void)loop;
	(void)fd;
	peer_enter(p);
	if (events & (LOOP_READ | LOOP_ERROR))
		peer_read(p);
	/* Answers go out at once; a write with nothing queued clears a stale interest. */
	if (p->state != PEER_CLOSED && ((events & LOOP_WRITE) || peer_queued(p) > 0))
		peer_write(p);
	if (p->state != PEER_CLOSED)
		peer_maybe_drained(p);
	peer_update_interest(p);
	peer_leave(p);
}

/* The session's bytes so far become one block, so that what follows queues behind them. */
static int
peer_queue_session_output(struct peer *p)
{
	struct media	*m;
	const uint8_t	*own;
	size_t		 len;
	int		 rc;

	own = rtmp_session_output(p->session, &len);
	if (len == 0)
		return 0;
	if ((m = media_new(0, 0, own, len)) == NULL)
		return RTMP_ENOMEM;
	rc = outq_push(&p->queue, m);
	media_unref(m);
	if (rc < 0)
		return rc;
	rtmp_session_output_taken(p->session, len);
	return 0;
}

int
peer_push(struct peer *p, struct media *block)
{
	int	 rc;

	if (p->state != PEER_OPEN)
		return RTMP_ESTATE;
	if ((rc = peer_queue_session_output(p)) < 0 ||
	    (rc = outq_push(&p->queue, block)) < 0) {
		peer_close(p, rc, rc == RTMP_ELIMIT ? "output queue full" : rtmp_strerror(rc));
		return rc;
	}
	return rc;
}

int
peer_flush(struct peer *p)
{
	if (p->state == PEER_CLOSED)
		return p->error < 0 ? p->error : RTMP_ESTATE;
	peer_enter(p);
	if (peer_queued(p) > 0)
		peer_write(p);
	peer_update_interest(p);
	if (peer_leave(p))
		return RTMP_ESTATE;
	return p->state == PEER_CLOSED ? p->error : 0;
}

void
peer_flush_later(struct peer *p)
{
	peer_update_interest(p);
}

void
peer_finish(struct peer *p, uint32_t linger_ms)
{
	if (p->state != PEER_OPEN)
		return;
	p->state = PEER_FINISHING;
	peer_cancel(p, &p->deadline_timer);
	p->linger_timer = loop_timer(p->loop, linger_ms, peer_linger_over, p);
	peer_enter(p);
	peer_write(p);
	peer_update_interest(p);
	peer_leave(p);
}

void
peer_pause_input(struct peer *p, int paused)
{
	if (p->paused == paused)
		return;
	p->paused = paused;
	peer_update_interest(p);
}

static uint64_t
peer_deadline_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct peer	*p = arg;

	(void)loop;
	(void)id;
	p->deadline_timer = 0;
	peer_enter(p);
	if (p->events.timeout != NULL)
		p->events.timeout(p, p->arg);
	else
		peer_close(p, RTMP_ETIMEOUT, "timed out");
	peer_leave(p);
	return LOOP_TIMER_STOP;
}

void
peer_deadline(struct peer *p, uint32_t ms)
{
	if (p->state == PEER_CLOSED)
		return;
	peer_cancel(p, &p->deadline_timer);
	p->deadline_timer = loop_timer(p->loop, ms, peer_deadline_fire, p);
}
