/*
 * join.h: a client's RTMP session, answered up to publish or play by the
 * balancer, carried over to the backend it picked; without I/O.
 *
 * Stream mode must read the stream name before it can pick, so it answers
 * the client's connect and createStream itself.  join_new() is then given
 * every byte the client sent after its handshake (the replay) and the
 * chunk size we announced to it.  Towards the backend the join is a
 * client: C0+C1 (plain), then, once S0+S1+S2 are in, C2 and the replay,
 * so the backend reads the client's own session from its first chunk.
 * join_to_backend() shows those bytes; once they are all out
 * (join_backend_sent()) and join_open() says 1, the client's further
 * bytes go to the backend unchanged.
 *
 * The other way needs care: the client saw our answers, not the
 * backend's.  join_from_backend() reads what the backend sends:
 *  - S0 S1 S2;
 *  - until the backend has answered the connect and every createStream
 *    of the replay, everything it sends is dropped (its window, bandwidth,
 *    _result, onBWDone, onFCPublish): the client has had ours.  An _error
 *    or a different stream id there ends the join (RTMP_EREFUSED,
 *    join_reason() says why);
 *  - then every chunk goes to the client as it arrives, never reassembled.
 *
 * Chunk headers.  A type 1-3 header means "as my last header on this
 * chunk stream, except ...", and the client may never have seen the
 * backend's last header there (it was dropped, or the chunk stream
 * carried our answers).  So the join keeps both views of every chunk
 * stream and passes a header unchanged only when the client would read
 * it as the backend meant it; otherwise the chunk that starts a message
 * is given a type 0 header with the values the backend's header stands
 * for, and that message's continuations type 3 headers of our own.  A
 * type 0 header from the backend brings both views together again.
 * When every chunk stream the backend has used agrees, no header or
 * message is half through and the chunk sizes match, join_raw() says 1:
 * from there on the backend's bytes may go to the client unparsed.
 *
 * Chunk size: before the first message passes, a chunk size the backend
 * set that differs from the client's is announced to the client with a
 * Set Chunk Size of our own.  Later ones pass like any message.
 *
 * Limits: at most JOIN_REPLAY_MAX replay bytes, JOIN_CHUNK_STREAMS chunk
 * streams from the backend, and the commands read while dropping are
 * read only up to JOIN_COMMAND_MAX bytes each.  A backend that breaks
 * the chunk stream's rules (a type 1-3 header on a new chunk stream, a
 * new header inside a message, a bad chunk size) is RTMP_EPROTO.
 *
 * Output for the client is appended to the caller's buf; the bytes to
 * the backend live in the join until sent.  join_free() frees all.
 */
#ifndef RTMPKIT_JOIN_H
#define RTMPKIT_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JOIN_REPLAY_MAX		(64 * 1024)
#define JOIN_CHUNK_STREAMS	64
#define JOIN_COMMAND_MAX	(16 * 1024)
#define JOIN_ANSWERS_MAX	8

struct join;

/*
 * NULL when out of memory or when the replay cannot be read as the
 * session a server accepted (RTMP_EINVAL in *error: longer than
 * JOIN_REPLAY_MAX, no connect, a chunk stream error).
 */
struct join	*join_new(const uint8_t *replay, size_t len, uint32_t client_chunk_size,
		    int *error);
void		 join_free(struct join *);

/*
 * Read the backend's bytes: 0 (all used, *consumed == len) or RTMP_E*
 * (RTMP_EHANDSHAKE, RTMP_EPROTO, RTMP_EREFUSED, RTMP_ENOMEM).  Bytes
 * for the client are appended to `client`; it may grow by a little more
 * than len (rewritten headers), so bound what you pass in.
 */
int		 join_from_backend(struct join *, const uint8_t *in, size_t len,
		    struct buf *client);
/* The bytes for the backend now, and how many of them were written. */
const uint8_t	*join_to_backend(const struct join *, size_t *len);
void		 join_backend_sent(struct join *, size_t n);
/* 1 once the replay is queued for the backend: the client's own bytes may follow it. */
int		 join_open(const struct join *);
/* 1 once the backend answered what we answered: its bytes reach the client. */
int		 join_answered(const struct join *);
/* 1 once the client's view and the backend's agree: raw from here on. */
int		 join_raw(const struct join *);
/* Why the backend was refused, for the log line. */
const char	*join_reason(const struct join *);

#endif
