/*
 * place.h: find a client its backend: pick one (backend.h), connect to
 * it without blocking, and pass over one that refuses or does not answer
 * in time, a bounded number of times.
 *
 * place_start() picks with the algorithm and key given (the client's
 * address for BACKEND_SOURCE, "app/stream" for BACKEND_STREAM), among
 * the backends not in skip (backend_role_skip(): the client's role), counts
 * the pick on the backend (backend_attach(): leastconn sees connections
 * still being made) and starts the connect.  A connect refused, reset or
 * still in progress after connect_ms counts on the backend (b->refused),
 * puts it in the skip mask and frees its count, and the next pick is
 * tried, up to `retries` more times.
 *
 * The outcome comes once, through `done`, never from inside
 * place_start(): an fd connected to b (non-blocking, TCP_NODELAY; b's
 * count stays, the caller backend_detach()es it when the connection
 * ends), or fd -1 and b NULL with why ("no backend can take it", "no
 * backend answered").  `refused` reports each backend passed over, for
 * a log line.  The struct is freed after `done` returns; place_cancel()
 * frees it earlier, with no callback, closing a connect in progress.
 *
 * Backends must outlive the places that picked them: the set frees a
 * removed backend only when its count is zero (backend_set_compact()).
 */
#ifndef RTMPKIT_PLACE_H
#define RTMPKIT_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define PLACE_CONNECT_MS	3000
#define PLACE_RETRIES		3

struct loop;
struct place;

struct place_config {
	enum backend_algo	 algo;
	uint32_t		 connect_ms;	/* 0: PLACE_CONNECT_MS */
	uint32_t		 retries;	/* other backends after the first */
};

struct place_events {
	void	(*done)(struct place *, int fd, struct backend *, const char *why,
		    void *arg);
	void	(*refused)(struct place *, struct backend *, const char *why,
		    void *arg);
};

/* NULL when out of memory (nothing was picked). */
struct place	*place_start(struct loop *, struct backend_set *,
		    const struct place_config *, const void *key, size_t keylen,
		    uint64_t skip, const struct place_events *, void *arg);
void		 place_cancel(struct place *);
/* The backend being connected to now, or NULL between tries. */
struct backend	*place_backend(const struct place *);

#endif
