/*
 * intake.h: a client of the balancer's stream mode, taken in before it
 * is placed: a server-role peer (peer.h) does the handshake and answers
 * connect and createStream, then holds the first publish or play without
 * a verdict, because the backend it goes to will give that.  Every byte
 * the client sent is recorded, to be replayed to the backend (join.h).
 *
 * events->ready gives the request: publish or play, the app, the stream
 * name checked by server_name_valid() (a name that fails is refused
 * here, BadName or StreamNotFound, and never reaches ready: `closed`
 * says RTMP_EREFUSED, "refused: bad stream name") and its query.  It comes once the answers sent so far are written, so the
 * connection can change hands.  The owner then, from the callback or
 * later, either refuses it (intake_refuse(): the client reads the status,
 * then `closed`) or takes it (intake_take(): the fd, its TLS and a join
 * made from the replay; the intake is gone and `closed` never fires).
 *
 * A client that hangs up, breaks the protocol, sends more than
 * JOIN_REPLAY_MAX bytes before publish/play, or is not there within
 * config->deadline_ms: `closed` with a reason for the log.  `closed`
 * never fires from inside the owner's own calls; the intake is freed
 * after it returns.
 */
#ifndef RTMPKIT_INTAKE_H
#define RTMPKIT_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define INTAKE_DEADLINE_MS	10000

struct loop;
struct tls;
struct join;
struct intake;

struct intake_config {
	uint32_t	 chunk_size;	/* announced to the client; 0: 4096 */
	uint32_t	 deadline_ms;	/* to publish or play; 0: INTAKE_DEADLINE_MS */
};

struct intake_request {
	int		 publish;	/* 1 publish, 0 play */
	char		 app[SERVER_NAME_MAX + 1];
	char		 stream[SERVER_NAME_MAX + 1];	/* without the query */
	char		 query[SERVER_QUERY_MAX + 1];
};

struct intake_events {
	void	(*ready)(struct intake *, const struct intake_request *, void *arg);
	void	(*closed)(struct intake *, int error, const char *reason, void *arg);
};

/* Takes fd and tls (closed on failure too); NULL when out of memory. */
struct intake	*intake_new(struct loop *, int fd, struct tls *, const struct intake_config *,
		    const struct intake_events *, void *arg);
/* No callback; closes the connection. */
void		 intake_free(struct intake *);
/*
 * After ready: the status the request gets when no backend takes it
 * (StreamNotFound for play, BadName for publish) with description; the
 * client reads it, then `closed` (error 0).
 */
void		 intake_refuse(struct intake *, const char *description);
/*
 * After ready: the connection, a join (join.h) for the backend, and the
 * intake freed.  On RTMP_ENOMEM or RTMP_EINVAL (a replay the join cannot
 * read) the connection is closed and the intake freed too, with no
 * callback: log it and forget it.
 */
int		 intake_take(struct intake *, int *fd, struct tls **tls, struct join **join);

#endif
