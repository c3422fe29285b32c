#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "error.h"
#include "loop.h"
#include "tls.h"

#define CONN_TLS_IOV	64	/* iovecs offered to one TLS record */

/*
 * The read buffer lent to the connection whose own buffer is empty: most
 * reads are wholly consumed, so an idle peer holds no buffer at all and a
 * busy one reads into memory that is already there.  Single-threaded, as
 * the whole library; one connection borrows it at a time.
 */
static uint8_t		 conn_scratch[CONN_READ_BUDGET];
static struct conn	*conn_lender;	/* the connection rbuf lends it to */

void
conn_init(struct conn *c, int fd, struct tls *tls, size_t rlimit)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->tls = tls;
	buf_init(&c->rbuf, rlimit);
	c->hwant = tls != NULL ? LOOP_READ | LOOP_WRITE : 0;
	c->rwant = LOOP_READ;
}

void
conn_close(struct conn *c)
{
	if (c->tls != NULL) {
		if (!c->dead && !c->eof)
			(void)tls_shutdown(c->tls);
		tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	if (conn_lender == c) {
		conn_lender = NULL;
		buf_init(&c->rbuf, c->rbuf.limit);
	}
	buf_free(&c->rbuf);
}

/* Record why the connection ended; err is an errno value or 0. */
static int
conn_fail(struct conn *c, int rc, int err)
{
	c->err = err;
	if (rc == RTMP_ECLOSED)
		c->eof = 1;
	else
		c->dead = 1;
	return rc;
}

/* Map a TLS want to the loop event it waits for; 0 if not a want. */
static int
conn_tls_want(ssize_t rc)
{
	if (rc == TLS_WANT_READ)
		return LOOP_READ;
	if (rc == TLS_WANT_WRITE)
		return LOOP_WRITE;
	return 0;
}

int
conn_handshake(struct conn *c)
{
	int	 rc;

	if (c->tls == NULL || tls_handshake_done(c->tls)) {
		c->hwant = 0;
		return 0;
	}
	errno = 0;
	rc = tls_handshake(c->tls);
	if (rc == 0) {
		c->hwant = 0;
		return 0;
	}
	if ((c->hwant = conn_tls_want(rc)) != 0)
		return CONN_AGAIN;
	return conn_fail(c, rc, rc == RTMP_ESYS ? errno : 0);
}

/* The system's errors that mean the peer went away. */
static int
conn_sys(struct conn *c)
{
	if (errno == ECONNRESET || errno == EPIPE)
		return conn_fail(c, RTMP_ECLOSED, errno);
	return conn_fail(c, RTMP_ESYS, errno);
}

/* Lend the scratch buffer to a connection with nothing unconsumed. */
static int
conn_borrow(struct conn *c)
{
	size_t	 limit = c->rbuf.limit;

	if (conn_lender != NULL || c->rbuf.len != 0)
		return 0;
	buf_free(&c->rbuf);
	c->rbuf.data = conn_scratch;
	c->rbuf.cap = limit != 0 && limit < sizeof(conn_scratch) ?
	    limit : sizeof(conn_scratch);
	conn_lender = c;
	return 1;
}

int
conn_read_done(struct conn *c)
{
	struct buf	 own;
	int		 rc;

	if (conn_lender != c)
		return 0;
	conn_lender = NULL;
	/* What the caller left unconsumed moves into a buffer of its own. */
	buf_init(&own, c->rbuf.limit);
	rc = buf_append(&own, buf_data(&c->rbuf), c->rbuf.len);
	c->rbuf = own;
	return rc < 0 ? conn_fail(c, rc, 0) : 0;
}

ssize_t
conn_read(struct conn *c)
{
	size_t	 total = 0, avail, room;
	ssize_t	 n;
	uint8_t	*p;
	int	 rc, lent;

	if (c->eof)
		return RTMP_ECLOSED;
	if (c->dead)
		return RTMP_ESTATE;
	if ((rc = conn_handshake(c)) != 0)
		return rc == CONN_AGAIN ? 0 : rc;
	if ((rc = conn_read_done(c)) < 0)
		return rc;
	lent = conn_borrow(c);
	c->rwant = LOOP_READ;
	while (total < CONN_READ_BUDGET || conn_pending(c)) {
		room = CONN_READ_MIN;
		if (c->rbuf.limit != 0 && c->rbuf.limit - c->rbuf.len < room)
			room = c->rbuf.limit - c->rbuf.len;
		if (room == 0) {
			if (total > 0)
				break;
			return conn_fail(c, RTMP_ELIMIT, 0);
		}
		/* The scratch is full (TLS's records): the rest next call. */
		if (lent && c->rbuf.cap - c->rbuf.len < room)
			break;
		if (!lent && (rc = buf_reserve(&c->rbuf, room)) < 0)
			return conn_fail(c, rc, 0);
		p = buf_space(&c->rbuf, &avail);
		if (avail > CONN_READ_CHUNK)
			avail = CONN_READ_CHUNK;
		if (c->tls != NULL) {
			errno = 0;
			n = tls_read(c->tls, p, avail);
			if (n > 0) {
				buf_commit(&c->rbuf, (size_t)n);
				total += (size_t)n;
				continue;
			}
			if (n == 0) {
				c->eof = 1;
				break;
			}
			if ((c->rwant = conn_tls_want(n)) != 0)
				break;
			c->rwant = LOOP_READ;
			return conn_fail(c, (int)n, n == RTMP_ESYS ? errno : 0);
		}
		n = read(c->fd, p, avail);
		if (n > 0) {
			buf_commit(&c->rbuf, (size_t)n);
			total += (size_t)n;
			/* A short read drained the socket: spare a syscall. */
			if ((size_t)n < avail)
				break;
			continue;
		}
		if (n == 0) {
			c->eof = 1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return conn_sys(c);
	}
	if (total > 0)
		return (ssize_t)total;
	if (lent)
		(void)conn_read_done(c);	/* nothing to move: cannot fail */
	return c->eof ? conn_fail(c, RTMP_ECLOSED, 0) : 0;
}

static ssize_t
conn_writev_tls(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct iovec	 v[CONN_TLS_IOV];
	size_t		 total = 0, skip, off = 0;
	ssize_t		 n;
	int		 i = 0, k;

	for (;;) {
		/* Window of iovecs starting at the first unwritten byte. */
		while (i < iovcnt && off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			i++;
		}
		if (i == iovcnt)
			break;
		for (k = 0; k < CONN_TLS_IOV && i + k < iovcnt; k++)
			v[k] = iov[i + k];
		skip = off;
		v[0].iov_base = (uint8_t *)v[0].iov_base + skip;
		v[0].iov_len -= skip;
		errno = 0;
		n = tls_writev(c->tls, v, k);
		if (n > 0) {
			total += (size_t)n;
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if ((c->wwant = conn_tls_want(n)) != 0) {
			size_t	 offered = 0;

			while (k-- > 0)
				offered += v[k].iov_len;
			c->sealed = offered < TLS_RECORD_MAX ? offered : TLS_RECORD_MAX;
			return (ssize_t)total;
		}
		return conn_fail(c, (int)n, n == RTMP_ESYS ? errno : 0);
	}
	c->wwant = 0;
	c->sealed = 0;
	return (ssize_t)total;
}

ssize_t
conn_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr	 msg;
	size_t		 total = 0, want;
	ssize_t		 n;
	int		 i, batch, rc;

	if (c->dead)
		return RTMP_ESTATE;
	if ((rc = conn_handshake(c)) != 0)
		return rc == CONN_AGAIN ? 0 : rc;
	if (c->tls != NULL)
		return conn_writev_tls(c, iov, iovcnt);
	while (iovcnt > 0) {
		batch = iovcnt < IOV_MAX ? iovcnt : IOV_MAX;
		for (i = 0, want = 0; i < batch; i++)
			want += iov[i].iov_len;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = (struct iovec *)iov;
		msg.msg_iovlen = (size_t)batch;
		if (!c->notsock) {
			n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
			if (n == -1 && errno == ENOTSOCK) {
				c->notsock = 1;
				continue;
			}
		} else
			n = writev(c->fd, iov, batch);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->wwant = LOOP_WRITE;
				return (ssize_t)total;
			}
			return conn_sys(c);
		}
		total += (size_t)n;
		if ((size_t)n < want) {
			/* The socket buffer is full. */
			c->wwant = LOOP_WRITE;
			return (ssize_t)total;
		}
		iov += batch;
		iovcnt -= batch;
	}
	c->wwant = 0;
	return (ssize_t)total;
}

ssize_t
conn_write(struct conn *c, const void *p, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)p;
	iov.iov_len = len;
	return conn_writev(c, &iov, 1);
}

int
conn_wants(const struct conn *c)
{
	if (c->tls != NULL && !tls_handshake_done(c->tls))
		return c->hwant;
	return (c->eof ? 0 : c->rwant) | c->wwant;
}

int
conn_pending(const struct conn *c)
{
	return c->tls != NULL && !c->dead && tls_pending(c->tls) > 0;
}

const char *
conn_strerror(const struct conn *c, int rc)
{
	if (c->tls != NULL && rc == RTMP_ETLS)
		return tls_error(c->tls);
	if ((rc == RTMP_ESYS || rc == RTMP_ECLOSED) && c->err != 0)
		return strerror(c->err);
	return rtmp_strerror(rc);
}
