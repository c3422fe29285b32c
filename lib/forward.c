/*
 * forward.c: a proxied connection's bytes, both ways: splice(2) through a
 * pipe per direction for plain sockets, conn's buffers for TLS.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "error.h"
#include "forward.h"
#include "join.h"
#include "loop.h"
#include "tls.h"

/* Moves per direction per wakeup: a fast pair cannot starve the others. */
#define FORWARD_ROUNDS		16
#define FORWARD_SPLICE_FLAGS	(SPLICE_F_NONBLOCK | SPLICE_F_MOVE)

/* One side; direction d carries what s[d] sends to s[1 - d]. */
struct forward_side {
	struct conn	 c;		/* the splice path uses c.fd only */
	int		 eof;		/* nothing more comes from this side */
	int		 shut;		/* our write half is shut */
	int		 pipe[2];	/* splice: what this side sent, not yet written */
	size_t		 piped;
	int		 pipe_full;	/* a splice into the pipe would block */
	uint64_t	 bytes;		/* written from this side to the other */
	int		 added;		/* on the loop */
};

struct forward {
	struct loop		*loop;
	struct forward_side	 s[2];		/* 0 client, 1 backend */
	int			 splice;
	size_t			 buffer;
	uint32_t		 idle_ms;
	uint64_t		 last;		/* loop_now() when bytes last moved */
	uint64_t		 timer;
	struct forward_events	 events;
	void			*arg;
	uint8_t			*prefix;	/* still to go to the backend; NULL: gone */
	size_t			 prefixlen, prefixoff;
	struct join		*join;
	struct buf		 joined;	/* the join's output, for the client */
	char			 reason[128];
};

static const char *forward_names[2] = { "client", "backend" };

/* A side's failure as a status, with the reason kept for the log line. */
static int
forward_fail(struct forward *f, int side, int rc, int err)
{
	if (err == ECONNRESET || err == EPIPE)
		rc = RTMP_ECLOSED;
	if (rc == RTMP_ETLS && f->s[side].c.tls != NULL)
		snprintf(f->reason, sizeof(f->reason), "%s: %s", forward_names[side],
		    tls_error(f->s[side].c.tls));
	else if (err != 0)
		snprintf(f->reason, sizeof(f->reason), "%s: %s", forward_names[side],
		    strerror(err));
	else
		snprintf(f->reason, sizeof(f->reason), "%s: %s", forward_names[side],
		    rtmp_strerror(rc));
	return rc;
}

/* What one side sent has all been written: end the other's write half. */
static void
forward_half_close(struct forward *f, int d)
{
	struct forward_side	*src = &f->s[d], *dst = &f->s[1 - d];
	size_t			 pending = f->splice ? src->piped : src->c.rbuf.len, n;

	if (d == 1)
		pending += f->joined.len;
	if (d == 0 && f->join != NULL) {
		(void)join_to_backend(f->join, &n);
		pending += n;
	}

	if (!src->eof || pending > 0 || dst->shut)
		return;
	dst->shut = 1;
	if (dst->c.tls != NULL && !dst->c.dead)
		(void)tls_shutdown(dst->c.tls);
	(void)shutdown(dst->c.fd, SHUT_WR);
}

/* One move of direction d by splice: 1 moved, 0 nothing now, or an error. */
static int
forward_splice_round(struct forward *f, int d, int *may_read)
{
	struct forward_side	*src = &f->s[d], *dst = &f->s[1 - d];
	ssize_t			 n;
	int			 moved = 0;

	if (*may_read && !src->eof && src->piped < f->buffer) {
		n = splice(src->c.fd, NULL, src->pipe[1], NULL, f->buffer - src->piped,
		    FORWARD_SPLICE_FLAGS);
		if (n > 0) {
			src->piped += (size_t)n;
			moved = 1;
		} else if (n == 0) {
			src->eof = 1;
		} else if (errno == EAGAIN) {
			/* Empty, or the pipe's slots are full: wait for a write. */
			src->pipe_full = src->piped > 0;
			*may_read = 0;
		} else if (errno != EINTR)
			return forward_fail(f, d, RTMP_ESYS, errno);
	}
	if (src->piped > 0 && !dst->shut) {
		n = splice(src->pipe[0], NULL, dst->c.fd, NULL, src->piped,
		    FORWARD_SPLICE_FLAGS);
		if (n > 0) {
			src->piped -= (size_t)n;
			src->bytes += (size_t)n;
			src->pipe_full = 0;
			*may_read = 1;
			moved = 1;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return forward_fail(f, 1 - d, RTMP_ESYS, errno);
	}
	return moved;
}

/* The join's bytes for the backend: 1 some written, 0 none now, or an error. */
static int
forward_join_write(struct forward *f)
{
	const uint8_t	*p;
	size_t		 len;
	ssize_t		 n;

	p = join_to_backend(f->join, &len);
	if (len == 0 || f->s[1].shut)
		return 0;
	if ((n = conn_write(&f->s[1].c, p, len)) < 0)
		return forward_fail(f, 1, (int)n, f->s[1].c.err);
	join_backend_sent(f->join, (size_t)n);
	return n > 0;
}

/* The client may be read: no join, or its bytes before the client's are out. */
static int
forward_client_open(const struct forward *f)
{
	size_t	 len;

	if (f->join == NULL)
		return 1;
	(void)join_to_backend(f->join, &len);
	return join_open(f->join) && len == 0;
}

/* The backend's bytes through the join; it goes once the rest may pass raw. */
static int
forward_join_read(struct forward *f)
{
	struct conn	*c = &f->s[1].c;
	int		 rc;

	if (c->rbuf.len > 0 && f->joined.len < f->buffer) {
		if ((rc = join_from_backend(f->join, buf_data(&c->rbuf), c->rbuf.len,
		    &f->joined)) < 0) {
			snprintf(f->reason, sizeof(f->reason), "%s", join_reason(f->join));
			return rc;
		}
		buf_consume(&c->rbuf, c->rbuf.len);
	}
	if (join_raw(f->join) && forward_client_open(f)) {
		join_free(f->join);
		f->join = NULL;
	}
	return 0;
}

/* One move of direction d through the source's read buffer. */
static int
forward_buffer_round(struct forward *f, int d)
{
	struct forward_side	*src = &f->s[d], *dst = &f->s[1 - d];
	struct buf		*out = &src->c.rbuf;
	ssize_t			 n;
	int			 moved = 0, rc;

	if (d == 0 && f->join != NULL && (moved = forward_join_write(f)) < 0)
		return moved;
	if (!src->eof && src->c.rbuf.len < f->buffer && (d == 1 || forward_client_open(f))) {
		n = conn_read(&src->c);
		if (n > 0)
			moved = 1;
		else if (n == RTMP_ECLOSED && src->c.err == 0)
			src->eof = 1;
		else if (n < 0)
			return forward_fail(f, d, (int)n, src->c.err);
		if (src->c.eof)
			src->eof = 1;
	}
	if (d == 1 && f->join != NULL && (rc = forward_join_read(f)) < 0)
		return rc;
	/* What the join made goes first; after it, the backend's own bytes. */
	if (d == 1 && f->joined.len > 0)
		out = &f->joined;
	if (out->len > 0 && !dst->shut) {
		n = conn_write(&dst->c, buf_data(out), out->len);
		if (n > 0) {
			buf_consume(out, (size_t)n);
			src->bytes += (size_t)n;
			moved = 1;
		} else if (n < 0)
			return forward_fail(f, 1 - d, (int)n, dst->c.err);
	}
	/* Written out, its memory goes: hundreds of players must not each keep 64 KiB. */
	if (out == &f->joined && f->joined.len == 0)
		buf_free(&f->joined);
	return moved;
}

/* Move direction d while it moves, within FORWARD_ROUNDS; 0 or an error. */
static int
forward_step(struct forward *f, int d, int may_read)
{
	int	 round, rc;

	for (round = 0; round < FORWARD_ROUNDS; round++) {
		rc = f->splice ? forward_splice_round(f, d, &may_read) :
		    forward_buffer_round(f, d);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		f->last = loop_now(f->loop);
	}
	forward_half_close(f, d);
	return 0;
}

/* Bytes of the join's for the backend wait. */
static int
forward_join_pending(const struct forward *f)
{
	size_t	 len = 0;

	if (f->join != NULL)
		(void)join_to_backend(f->join, &len);
	return len > 0;
}

/* The events side i waits for now. */
static int
forward_wants(const struct forward *f, int i)
{
	const struct forward_side	*me = &f->s[i], *other = &f->s[1 - i];
	int				 w = 0;

	if (f->prefix != NULL)
		return i == 1 ? LOOP_WRITE : 0;
	if (f->splice) {
		if (!me->eof && me->piped < f->buffer && !me->pipe_full)
			w |= LOOP_READ;
		if (other->piped > 0 && !me->shut)
			w |= LOOP_WRITE;
		return w;
	}
	if (me->c.tls != NULL && !tls_handshake_done(me->c.tls))
		return me->c.hwant;
	if (!me->eof && me->c.rbuf.len < f->buffer && (i == 1 ? f->joined.len < f->buffer :
	    forward_client_open(f)))
		w |= me->c.rwant;
	if ((other->c.rbuf.len > 0 || (i == 0 && f->joined.len > 0) ||
	    (i == 1 && forward_join_pending(f))) && !me->shut)
		w |= me->c.wwant != 0 ? me->c.wwant : LOOP_WRITE;
	return w;
}

/* The prefix, raw on the backend's socket: 0 (all of it, or more later) or an error. */
static int
forward_prefix(struct forward *f)
{
	ssize_t	 n;

	while (f->prefixoff < f->prefixlen) {
		n = send(f->s[1].c.fd, f->prefix + f->prefixoff,
		    f->prefixlen - f->prefixoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return forward_fail(f, 1, RTMP_ESYS, errno);
		f->prefixoff += (size_t)n;
	}
	free(f->prefix);
	f->prefix = NULL;
	f->last = loop_now(f->loop);
	return 0;
}

static void
forward_teardown(struct forward *f, int error, const char *reason)
{
	int	 i;

	for (i = 0; i < 2; i++) {
		if (f->s[i].added)
			loop_remove(f->loop, f->s[i].c.fd);
		if (f->splice) {
			close(f->s[i].pipe[0]);
			close(f->s[i].pipe[1]);
		}
	}
	if (f->timer != 0)
		loop_timer_cancel(f->loop, f->timer);
	f->timer = 0;
	if (f->events.closed != NULL)
		f->events.closed(f, error, reason, f->arg);
	for (i = 0; i < 2; i++)
		conn_close(&f->s[i].c);
	join_free(f->join);
	buf_free(&f->joined);
	free(f->prefix);
	free(f);
}

static void
forward_event(struct loop *loop, int fd, int events, void *arg)
{
	struct forward	*f = arg;
	int		 i, rc = 0, side = fd == f->s[1].c.fd;

	(void)loop;
	if (f->prefix != NULL) {
		/* Either side's wakeup (a hang-up is reported unasked): the prefix first. */
		rc = forward_prefix(f);
	} else if (f->splice) {
		/* Only what the ready bits allow: a splice that would block is a syscall lost. */
		if (events & (LOOP_READ | LOOP_ERROR))
			rc = forward_step(f, side, 1);
		if (rc == 0 && (events & (LOOP_WRITE | LOOP_ERROR)))
			rc = forward_step(f, 1 - side, 0);
	} else {
		/* TLS reads may need writes and the other way round: both ways, always. */
		for (i = 0; i < 2 && rc == 0; i++)
			rc = forward_step(f, i, 1);
		/* conn.h: give the lent read buffer back before the loop waits. */
		for (i = 0; i < 2 && rc == 0; i++)
			if ((rc = conn_read_done(&f->s[i].c)) < 0)
				rc = forward_fail(f, i, rc, 0);
	}
	if (rc < 0) {
		forward_teardown(f, rc, f->reason);
		return;
	}
	if (f->s[0].eof && f->s[1].eof && f->s[0].shut && f->s[1].shut) {
		forward_teardown(f, 0, "finished");
		return;
	}
	for (i = 0; i < 2; i++)
		loop_modify(f->loop, f->s[i].c.fd, forward_wants(f, i));
}

static uint64_t
forward_idle(struct loop *loop, uint64_t id, void *arg)
{
	struct forward	*f = arg;
	uint64_t	 quiet = loop_now(loop) - f->last;

	(void)id;
	if (quiet >= f->idle_ms) {
		f->timer = 0;
		forward_teardown(f, RTMP_ETIMEOUT, "idle");
		return LOOP_TIMER_STOP;
	}
	return f->idle_ms - quiet;
}

/* A pipe per direction, as large as the buffer if the system lets us. */
static int
forward_pipes(struct forward *f)
{
	int	 i, size;

	for (i = 0; i < 2; i++) {
		if (pipe2(f->s[i].pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
			if (i == 1) {
				close(f->s[0].pipe[0]);
				close(f->s[0].pipe[1]);
			}
			return RTMP_ESYS;
		}
		(void)fcntl(f->s[i].pipe[1], F_SETPIPE_SZ, (int)f->buffer);
		if ((size = fcntl(f->s[i].pipe[1], F_GETPIPE_SZ)) > 0 &&
		    (size_t)size < f->buffer)
			f->buffer = (size_t)size;
	}
	return 0;
}

struct forward *
forward_new(struct loop *loop, int cfd, struct tls *ctls, int bfd, struct tls *btls,
    const struct forward_config *cfg, const struct forward_events *events, void *arg)
{
	struct forward	*f;
	int		 i, fds[2] = { cfd, bfd };
	struct tls	*tls[2] = { ctls, btls };

	if (cfg->prefixlen > FORWARD_PREFIX_MAX || (f = calloc(1, sizeof(*f))) == NULL) {
		join_free(cfg->join);
		return NULL;
	}
	f->join = cfg->join;
	if (cfg->prefixlen > 0) {
		if ((f->prefix = malloc(cfg->prefixlen)) == NULL) {
			join_free(f->join);
			free(f);
			return NULL;
		}
		memcpy(f->prefix, cfg->prefix, cfg->prefixlen);
		f->prefixlen = cfg->prefixlen;
	}
	f->loop = loop;
	f->events = *events;
	f->arg = arg;
	f->buffer = cfg->buffer != 0 ? cfg->buffer : FORWARD_BUFFER;
	if (f->buffer < FORWARD_BUFFER_MIN)
		f->buffer = FORWARD_BUFFER_MIN;
	f->idle_ms = cfg->idle_ms;
	f->last = loop_now(loop);
	f->splice = ctls == NULL && btls == NULL && !cfg->no_splice && f->join == NULL;
	/* Out of descriptors for pipes: the buffered path still works. */
	if (f->splice && forward_pipes(f) < 0)
		f->splice = 0;
	for (i = 0; i < 2; i++)
		conn_init(&f->s[i].c, fds[i], tls[i], f->buffer);
	for (i = 0; i < 2; i++) {
		if (loop_add(loop, fds[i], forward_wants(f, i), forward_event, f) < 0)
			goto fail;
		f->s[i].added = 1;
	}
	if (f->idle_ms != 0 && (f->timer = loop_timer(loop, f->idle_ms, forward_idle,
	    f)) == 0)
		goto fail;
	return f;
fail:
	/* Give everything back untouched: the caller still owns fds and tls. */
	for (i = 0; i < 2; i++) {
		if (f->s[i].added)
			loop_remove(loop, fds[i]);
		buf_free(&f->s[i].c.rbuf);
		if (f->splice) {
			close(f->s[i].pipe[0]);
			close(f->s[i].pipe[1]);
		}
	}
	join_free(f->join);
	free(f->prefix);
	free(f);
	return NULL;
}

void
forward_close(struct forward *f, int error, const char *reason)
{
	forward_teardown(f, error, reason);
}

void
forward_bytes(const struct forward *f, uint64_t *in, uint64_t *out)
{
	*in = f->s[0].bytes;
	*out = f->s[1].bytes;
}

int
forward_spliced(const struct forward *f)
{
	return f->splice;
}

int
forward_joining(const struct forward *f)
{
	return f->join != NULL;
}

int
forward_waiting(const struct forward *f)
{
	return f->join != NULL && !join_answered(f->join);
}

uint64_t
forward_last_active(const struct forward *f)
{
	return f->last;
}
