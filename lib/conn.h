/*
 * conn.h: one peer connection, plain or TLS, as every program holds it:
 * the fd, the read buffer the parsers read from, and a gathering write.
 *
 * Reading lends the connection's buffer to the parser: conn_read()
 * appends what the socket has to c->rbuf; the caller feeds
 * buf_data(&c->rbuf) and c->rbuf.len to its decoder and buf_consume()s
 * what the decoder took (nothing else may change c->rbuf), then calls
 * conn_read_done() before it returns to the loop.  One call reads at most
 * CONN_READ_BUDGET bytes so one fast peer cannot starve the others; the
 * loop is level-triggered and wakes the caller again for the rest.
 *
 * Memory: a connection with nothing unconsumed holds no buffer.  Its read
 * lands in one buffer of the process that conn lends to one connection at
 * a time; conn_read_done() takes it back and moves what the caller left
 * unconsumed, if anything, into a buffer of the connection's own, which
 * grows only while unconsumed bytes need room, up to the rlimit given to
 * conn_init() (0: none), and is freed by the read that finds them
 * consumed.  So a player that only sends acks holds no read buffer, and a
 * publisher's burst is read 64 KiB per read(2) with no copy.  A caller that skips
 * conn_read_done() only costs memory: the next conn_read() takes the
 * buffer back first, and meanwhile other connections read into their own.
 * Views of buf_data(&c->rbuf) are valid until the next conn_read(),
 * conn_read_done() or conn_close() of that connection.
 *
 * Writing: conn_writev() writes as much of the iovecs as the socket takes
 * in one sendmsg(2) (MSG_NOSIGNAL) or, with TLS, in records of up to
 * 16 KiB, and returns the byte count: partial writes are normal, the
 * caller keeps the rest queued and offers it again, from the first
 * unwritten byte, when conn_wants() says LOOP_WRITE is ready.  Call
 * conn_writev() on LOOP_WRITE even with nothing left (iovcnt 0): that
 * clears the write interest so a writable socket does not spin the loop.
 * With TLS, a write that came back short has already sealed up to 16 KiB
 * of what it was offered: keep those bytes at the front, unchanged, until
 * a later call reports them written (drop whole messages only behind them).
 * c->sealed says how many bytes from the first unwritten one that is (0
 * for plain sockets and after a write that took everything).
 *
 * The TLS handshake runs by itself inside conn_read()/conn_writev()
 * (they return 0 until it is done) or explicitly with conn_handshake().
 * After every call, register conn_wants(c) with loop_modify(): TLS may
 * need the socket writable to read or readable to write.  If
 * conn_pending(c) after reading, TLS holds plaintext the socket will not
 * signal: read again without waiting.
 *
 * Results: byte counts, 0 for "nothing now" (never end of stream), and
 * RTMP_ECLOSED (peer closed or reset; bytes read before that were returned
 * by an earlier call), RTMP_ELIMIT (rbuf full: the caller consumed nothing
 * and the peer sent more than rlimit), RTMP_ESYS, RTMP_ETLS, RTMP_ENOMEM.
 * conn_strerror() names the cause for a log line.  After an error, only
 * conn_strerror() and conn_close() are useful.
 *
 * Ownership: conn_init() takes the fd and the struct tls (may be NULL);
 * conn_close() sends TLS close_notify if it can without waiting, frees
 * the TLS state, closes the fd and frees the buffer.  loop_remove() the fd
 * first.  struct conn can be embedded in a program's own per-peer struct.
 */
#ifndef RTMPKIT_CONN_H
#define RTMPKIT_CONN_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>

#include "buf.h"
#include "tls.h"

#define CONN_READ_MIN		4096		/* room asked for per read(2) */
#define CONN_READ_CHUNK		(64 * 1024)	/* most bytes per read(2) */
#define CONN_READ_BUDGET	(64 * 1024)	/* most bytes per conn_read() */

#define CONN_AGAIN		1	/* conn_handshake(): in progress */

struct conn {
	int		 fd;
	struct tls	*tls;		/* NULL: plain */
	struct buf	 rbuf;		/* read, not yet consumed */
	int		 hwant;		/* handshake: LOOP_READ/LOOP_WRITE */
	int		 rwant;		/* what reading waits for */
	int		 wwant;		/* what a blocked write waits for; 0 */
	int		 eof;		/* the peer closed */
	int		 dead;		/* a fatal error happened */
	int		 notsock;	/* fd is a pipe: writev, not sendmsg */
	int		 err;		/* errno of the last failure */
	size_t		 sealed;	/* TLS: unwritten bytes already in a record */
};

void		 conn_init(struct conn *c, int fd, struct tls *tls,
		    size_t rlimit);
void		 conn_close(struct conn *c);
/* 0 when done (always for plain), CONN_AGAIN, or an error. */
int		 conn_handshake(struct conn *c);
ssize_t		 conn_read(struct conn *c);
/* 0, or RTMP_ENOMEM when unconsumed bytes found no memory (conn_read()). */
int		 conn_read_done(struct conn *c);
ssize_t		 conn_writev(struct conn *c, const struct iovec *iov,
		    int iovcnt);
ssize_t		 conn_write(struct conn *c, const void *p, size_t len);
/* LOOP_READ | LOOP_WRITE bits to register now. */
int		 conn_wants(const struct conn *c);
int		 conn_pending(const struct conn *c);
const char	*conn_strerror(const struct conn *c, int rc);

#endif
