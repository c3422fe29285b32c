/*
 * route.h: the balancer's client connections, each from accept to close:
 * for -a stream first an intake (intake.h) to learn its app/stream, then
 * a backend picked and connected (place.h), then its bytes both ways
 * (forward.h, with the session carried over by a join in stream mode),
 * and one log line when it ends: client, backend, stream, bytes,
 * duration, and why.
 *
 * The table holds what the connections share: the backend set (the
 * program's, reloaded under it), the settings, and the list of live
 * connections.  route_accept() takes a connection the server frame gave
 * in its raw mode (server.h) and never calls back from inside; `closed`
 * fires once per connection when it is gone, for the frame's count
 * (server_raw_closed()), with the backend it had, if any (already
 * detached: compact the set if it was removed).
 *
 * A client that sends nothing within first_byte_ms is closed; in stream
 * mode, one whose backend has not answered the replayed session by then.
 * A client no backend can take is closed with a log line, or, in stream
 * mode, refused with the status RTMP gives for it (StreamNotFound,
 * BadName).  The PROXY header to a backend (its proxy word, else
 * send_proxy) names the client the front's header named, else the
 * socket's peer.
 */
#ifndef RTMPKIT_ROUTE_H
#define RTMPKIT_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "forward.h"
#include "intake.h"
#include "place.h"

struct loop;
struct tls;
struct tls_context;
struct proxy_info;
struct route;

struct route_table {
	struct loop		*loop;
	struct backend_set	*set;
	struct place_config	 place;		/* place.algo BACKEND_STREAM: intake first */
	struct forward_config	 forward;	/* idle_ms; the rest per connection */
	struct intake_config	 intake;
	uint32_t		 first_byte_ms;	/* a client must speak within; 0 none */
	int			 send_proxy;	/* PROXY version to every backend, 0 none */
	struct tls_context	*backend_tls;	/* for the tls backends */
	int			 verbose;	/* log connects too */
	void			(*closed)(struct route_table *, struct backend *, void *);
	void			*arg;
	/* The module's own from here. */
	struct route		*first;
	uint64_t		 unplaced;	/* clients no backend took */
};

/* Takes fd and tls; address names the client in log lines. */
void	 route_accept(struct route_table *, int fd, struct tls *, const char *address,
	    const struct proxy_info *proxy);
/* The bytes the live connections to b moved so far: client to backend, back. */
void	 route_table_bytes(const struct route_table *, const struct backend *b,
	    uint64_t *in, uint64_t *out);
/* End every connection now (a drain that ran out), each with reason. */
void	 route_table_close(struct route_table *, const char *reason);

#endif
