/*
 * upstream.h: one destination a live stream is pushed to (restreaming to
 * a platform), for rtmp-relay: a publishing client (client.h) that keeps
 * coming back and never holds the stream up.
 *
 * The owner offers every message of the stream with upstream_message();
 * the upstream sends it while its connection is up and keeping up, and
 * otherwise drops it: media is never queued beyond the client's low water
 * (client_can_send()).  Once it had to drop, audio and video are dropped
 * until the next video keyframe, so the destination skips ahead to a
 * picture it can decode instead of growing a queue.  The upstream keeps
 * its own copies of the latest metadata and sequence headers (small) and
 * sends them first on every connection, then media from the next
 * keyframe on.
 *
 * Reconnects: a connection that fails or drops is tried again after the
 * backoff of client.h (1 s doubling to 30 s), attempts in a row at most
 * (then `down` says -1 and the upstream stays down); the count starts over
 * once a keyframe went out on a connection.  Destinations are independent:
 * each has its own client, timer and backoff, and one failing never
 * touches another or the caller.
 *
 * Events are for the owner's log lines and counters; the upstream itself
 * never logs.  upstream_finish() unpublishes politely (client_finish) and
 * `finished` fires once it is closed, whatever state it was in.
 *
 * Lifetime: upstream_free() may be called at any time except from inside
 * the upstream's own callbacks.
 */
#ifndef RTMPKIT_UPSTREAM_H
#define RTMPKIT_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "url.h"

struct loop;
struct tls_context;
struct buf;
struct upstream;

struct upstream_config {
	const struct url	*url;
	struct tls_context	*tls;		/* required for rtmps:// */
	int			 attempts;	/* reconnects in a row; < 0: without end */
	uint32_t		 timeout_ms;	/* client.h's; 0: 10 s */
};

struct upstream_events {
	/* Publishing started on a new connection. */
	void	(*up)(struct upstream *, void *arg);
	/* The connection failed or dropped; the next attempt in retry_ms, -1: none. */
	void	(*down)(struct upstream *, int error, const char *reason, int64_t retry_ms,
		    void *arg);
	/* After upstream_finish(): closed. */
	void	(*finished)(struct upstream *, void *arg);
};

struct upstream_stats {
	uint64_t	 connects;	/* connections that reached publishing */
	uint64_t	 sent;		/* messages handed to the client */
	uint64_t	 dropped;	/* messages dropped (down, behind, waiting for a keyframe) */
	uint64_t	 skips;		/* times it fell behind and skipped to a keyframe */
	uint64_t	 bytes_out;	/* of the current connection */
	int		 publishing;
};

/* NULL when out of memory.  The URL is copied. */
struct upstream	*upstream_new(struct loop *, const struct upstream_config *,
		    const struct upstream_events *, void *arg);
/* Connect now; failures arrive through `down`. */
void		 upstream_start(struct upstream *);
void		 upstream_free(struct upstream *);
/* One message of the stream: audio (8), video (9) or data (18). */
void		 upstream_message(struct upstream *, uint8_t type, uint32_t timestamp,
		    const uint8_t *payload, size_t len);
void		 upstream_finish(struct upstream *);
/* "rtmp://host:port/app" for log lines: the stream name is often a secret key. */
const char	*upstream_name(const struct upstream *);
void		 upstream_stats(const struct upstream *, struct upstream_stats *);
/*
 * Append the destinations as a JSON array for a stats document, in the
 * order given: url, publishing, connects, sent, dropped, skips.  0 or
 * RTMP_ENOMEM (or RTMP_ELIMIT from the buffer's cap).
 */
int		 upstream_json(struct buf *, struct upstream *const *, size_t n);
/* -M: rtmpkit_upstream_publishing and _connects_total of each (metrics.h). */
struct metrics;
void		 upstream_metrics(struct metrics *, struct upstream *const *, size_t n);

#endif
