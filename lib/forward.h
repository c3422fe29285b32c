/*
 * forward.h: the bytes of one proxied connection, both ways, between a
 * client and the backend the balancer picked, on the loop.
 *
 * forward_new() takes both sockets (and a struct tls for either side
 * that speaks TLS, whose handshake runs inside the first reads and
 * writes, conn.h).  When neither side has TLS the bytes never enter user
 * space: splice(2) moves them from one socket into a pipe and from the
 * pipe into the other, one pipe per direction.  Otherwise, or when no
 * pipe can be made (out of descriptors), each side is a struct conn and
 * the bytes go through its read buffer.
 *
 * Back pressure: each direction holds at most config->buffer bytes (the
 * pipe's size for splice), and its source is not read while they wait to
 * be written, so a slow reader slows its writer instead of growing a
 * buffer.
 *
 * Half-close: when one side ends (EOF, TLS close_notify), what it sent is
 * written out, then the other side's write half is shut down
 * (shutdown(2) SHUT_WR, after close_notify for TLS); the other direction
 * goes on until it ends too.  Both ended: `closed` with error 0,
 * "finished".
 *
 * Prefix: config->prefix (a PROXY header, proxy.h) is written to the
 * backend first, raw on its socket, before any byte of the client's and
 * before a TLS handshake with the backend; the client is not read until
 * it is out.  It is copied (at most FORWARD_PREFIX_MAX bytes) and not
 * counted in forward_bytes().  Then the splice path goes on as without.
 *
 * Join: with config->join (join.h; forward takes it) the backend is
 * spoken to as stream mode needs: the join's bytes (C0+C1, then C2 and
 * the client's replay) go to the backend first, after the prefix, and
 * the client is not read until they are out; what the backend sends
 * goes through the join to the client until join_raw() says the rest
 * may pass as it is, then the join is freed.  No splice with a join.  A
 * join's failure ends the connection with its reason.
 *
 * Deadline: nothing moved in either direction for config->idle_ms closes
 * it (RTMP_ETIMEOUT, "idle"); 0 means none.
 *
 * Teardown: one path.  An error on either side (reset, TLS failure) or
 * forward_close() removes both fds from the loop, closes them and the
 * pipes, calls `closed` once (error 0 or RTMP_E*, a reason for the log
 * line) and frees the struct when it returns.  `closed` is never called
 * from inside forward_new(); forward_close() calls it before it returns.
 *
 * Counters: forward_bytes() gives the bytes written each way so far
 * (client to backend, backend to client), valid in `closed` too.
 */
#ifndef RTMPKIT_FORWARD_H
#define RTMPKIT_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#define FORWARD_BUFFER		(64 * 1024)	/* default per direction */
#define FORWARD_BUFFER_MIN	4096
#define FORWARD_PREFIX_MAX	512

struct loop;
struct tls;
struct forward;

struct forward_config {
	size_t		 buffer;	/* per direction; 0: FORWARD_BUFFER */
	uint32_t	 idle_ms;	/* 0: no idle deadline */
	int		 no_splice;	/* 1: the buffered path even for plain sockets */
	const uint8_t	*prefix;	/* sent to the backend first; NULL: none */
	size_t		 prefixlen;	/* at most FORWARD_PREFIX_MAX */
	struct join	*join;		/* stream mode: taken, even on failure */
};

struct forward_events {
	void	(*closed)(struct forward *, int error, const char *reason, void *arg);
};

/*
 * Takes cfd, bfd and both tls (either may be NULL).  NULL when out of
 * memory (or a prefix past FORWARD_PREFIX_MAX): then nothing was taken
 * but the join (freed), the caller still owns and closes the rest.
 */
struct forward	*forward_new(struct loop *, int cfd, struct tls *ctls, int bfd,
		    struct tls *btls, const struct forward_config *,
		    const struct forward_events *, void *arg);
/* End it now: `closed` is called before this returns. */
void		 forward_close(struct forward *, int error, const char *reason);
/* Bytes written to the backend (in) and to the client (out). */
void		 forward_bytes(const struct forward *, uint64_t *in, uint64_t *out);
/* 1 if the bytes go by splice(2). */
int		 forward_spliced(const struct forward *);
/* 1 while a join still reads the backend's bytes. */
int		 forward_joining(const struct forward *);
/* 1 while a join waits for the backend's answers to the replayed session. */
int		 forward_waiting(const struct forward *);
uint64_t	 forward_last_active(const struct forward *);

#endif
