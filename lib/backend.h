/*
 * backend.h: the servers a balancer sends clients to, and how it picks
 * one (rtmp-balance).
 *
 * A backend is an address ("host:port", "[v6]:port", "unix:/path") with
 * a weight (1..BACKEND_WEIGHT_MAX, default 1), a connection limit
 * (maxconn, 0 for none), whether it speaks TLS (RTMPS) and which PROXY
 * protocol header it is sent first (proxy: 0 none, 1 v1, 2 v2), its up/down
 * state (health.h sets it) and its counters.  A set holds up to BACKEND_MAX of them; each is allocated on
 * its own, so a pointer to one stays valid across backend_set_merge()
 * (a reload) until backend_set_compact() frees it.
 *
 * Picking: backend_pick() returns the backend a new client goes to, or
 * NULL when none can take it.  A backend can take one when it is up, not
 * removed by a reload, below its maxconn, and not in the caller's skip
 * mask (bit i for set->b[i]: those that refused this client already).
 *	BACKEND_ROUNDROBIN  smooth weighted round robin (nginx's): with
 *			    weights 5,1,1 the order is a a b a c a a, never
 *			    a burst of one backend's whole share.
 *	BACKEND_LEASTCONN   the fewest active connections per weight; ties
 *			    go to the first in the set.
 *	BACKEND_SOURCE	    the client's address (without the port) hashed:
 *			    one client always meets the same backend while
 *			    the set stands.
 *	BACKEND_STREAM	    "app/stream" hashed, for the stream mode.
 * Both hashes are rendezvous (highest random weight) hashing, weighted:
 * a key goes to the backend with the highest score of hash(key, name)
 * scaled by the weight.  Adding a backend to n moves only the keys the
 * new one wins, about 1/(n+1) of them; a backend going down moves only
 * its own.  The caller counts the pick: backend_attach() when the
 * connection is made, backend_detach() when it ends.
 *
 * Parsing: backend_parse_line() reads one line of the backend file or one
 * operand of the command line:
 *	ADDRESS [weight N] [maxconn N] [tls] [proxy v1|v2] [publish|play]
 * in any order after the address, and a '#' comment.  publish or play
 * limits a backend to that role (backend_role_skip()); without either it
 * takes both.  An ADDRESS "unix:DIR/" (ending in '/') is a directory of
 * sockets: a stream NAME is at DIR/NAME.sock (backend_connect()), for
 * the stream mode only.
 * Blank lines and comments are skipped.  backend_parse_text() reads a
 * whole file's bytes: at most BACKEND_MAX backends, BACKEND_LINE_MAX
 * bytes a line, no NUL; an error names the line ("line 3: weight 0:
 * too small").  backend_read_file() reads a file of at most
 * BACKEND_FILE_MAX bytes and parses it; backend_load() adds a command
 * line's operands.
 *
 * I/O: the set and the picks are pure.  backend_resolve() (getaddrinfo(3),
 * which blocks: at start-up and on a reload, never per client) and
 * backend_connect() (a non-blocking connect, net.h) are the only calls
 * that touch the system, besides backend_read_file().
 *
 * Errors: 0 or a negative RTMP_E*, with why in err where there is one.
 */
#ifndef RTMPKIT_BACKEND_H
#define RTMPKIT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "url.h"

#define BACKEND_MAX		64	/* fits the skip mask */
#define BACKEND_LINE_MAX	512
#define BACKEND_FILE_MAX	(BACKEND_MAX * BACKEND_LINE_MAX)
#define BACKEND_WEIGHT_MAX	1000
#define BACKEND_MAXCONN_MAX	1000000
/* Any address url_parse_listen() takes: a 255-byte host, brackets, a port. */
#define BACKEND_NAME_MAX	272

enum backend_algo {
	BACKEND_ROUNDROBIN = 0,
	BACKEND_LEASTCONN,
	BACKEND_SOURCE,
	BACKEND_STREAM,
};

#define BACKEND_ROLE_ANY	0
#define BACKEND_ROLE_PUBLISH	1
#define BACKEND_ROLE_PLAY	2

/* One parsed line. */
struct backend_spec {
	char			 name[BACKEND_NAME_MAX];	/* the address as written */
	/*
	 * name, then " publish" or " play" for a backend of one role: what
	 * tells two entries of one address apart (one nginx for both roles
	 * is two backends), in logs, stats and metrics and across reloads.
	 * The stream hash keys on name alone, so that a stream's publisher and
	 * players meet on the same server.
	 */
	char			 label[BACKEND_NAME_MAX + 8];
	struct listen_address	 addr;
	uint32_t		 weight;
	uint32_t		 maxconn;
	int			 tls;		/* RTMPS to it */
	int			 proxy;		/* PROXY header to it: 0 none, 1 v1, 2 v2 */
	int			 role;		/* BACKEND_ROLE_*: which clients it takes */
	int			 directory;	/* "unix:DIR/": a socket per stream */
};

struct backend {
	struct backend_spec	 spec;
	int			 up;
	int			 removed;	/* gone from the file: no new clients */
	uint32_t		 active;	/* connections now */
	uint64_t		 total;		/* connections made */
	uint64_t		 refused;	/* connects that failed */
	uint64_t		 bytes_in;	/* client to backend */
	uint64_t		 bytes_out;	/* backend to client */
	int64_t			 current;	/* smooth round robin */
	/* health.h's: consecutive results, the last one, its time. */
	uint32_t		 oks, fails;
	uint64_t		 checks;
	int			 last_ok;	/* -1 none yet */
	char			 last_result[64];
	/* resolved by backend_resolve() */
	struct net_addrs	 addrs;
	int			 resolved;
};

struct backend_set {
	struct backend		*b[BACKEND_MAX];
	size_t			 n;
};

/* 1 a backend, 0 a blank or comment line, RTMP_EINVAL with why in err. */
int	 backend_parse_line(const char *line, struct backend_spec *,
	    char *err, size_t errsize);
/* 0 with *n specs, or RTMP_EINVAL ("line N: ..."). */
int	 backend_parse_text(const char *text, size_t len, struct backend_spec *,
	    size_t max, size_t *n, char *err, size_t errsize);
int	 backend_read_file(const char *path, struct backend_spec *, size_t max,
	    size_t *n, char *err, size_t errsize);
/*
 * A file's backends (file NULL: none), then one per operand (a line each):
 * 0 with *n, or RTMP_E* with why in err ("FILE: line 3: ...", "backend
 * OPERAND: ...").
 */
int	 backend_load(const char *file, char *const *operands, size_t noperands,
	    struct backend_spec *, size_t max, size_t *n, char *err, size_t errsize);
/* "roundrobin", "leastconn", "source", "stream": 0 or RTMP_EINVAL. */
int	 backend_algo_parse(const char *, enum backend_algo *);
const char *backend_algo_name(enum backend_algo);

void	 backend_set_init(struct backend_set *);
void	 backend_set_free(struct backend_set *);
/* Append one (up, counters zero): 0, RTMP_ELIMIT (full), RTMP_ENOMEM. */
int	 backend_set_add(struct backend_set *, const struct backend_spec *);
/*
 * A reload: backends named in specs keep their state and take the new
 * weight, maxconn, tls and proxy (a removed one named again comes back); new names
 * are appended; the others are marked removed.  0, or RTMP_ELIMIT /
 * RTMP_ENOMEM with the set as it was.  *added says how many are new.
 */
int	 backend_set_merge(struct backend_set *, const struct backend_spec *,
	    size_t n, size_t *added);
/*
 * Free the removed backends with no connection left, calling gone(b) on
 * each first (the health checks forget it); the others move up.
 */
void	 backend_set_compact(struct backend_set *,
	    void (*gone)(struct backend *, void *), void *arg);
/* The backend of that label (spec.label), or NULL. */
struct backend *backend_find(const struct backend_set *, const char *label);
/*
 * The start-up and every reload in one: backend_load() (no backend at all
 * is an error), backend_set_merge(), backend_resolve() of those not yet
 * resolved, backend_set_compact() with gone.  0 with *n read and *added
 * new; RTMP_E* with why in err, *n 0 and the set as it was when reading
 * or merging failed; or, the set merged (*n set), the error of a name
 * that did not resolve (its connects fail until a reload resolves it).
 */
int	 backend_set_load(struct backend_set *, const char *file,
	    char *const *operands, size_t noperands, size_t *n, size_t *added,
	    void (*gone)(struct backend *, void *), void *arg, char *err,
	    size_t errsize);

/* 1 if b may take a new client now. */
int	 backend_available(const struct backend *);
struct backend *backend_pick(struct backend_set *, enum backend_algo,
	    const void *key, size_t keylen, uint64_t skip);
/* The skip mask of the backends that do not take role (BACKEND_ROLE_*). */
uint64_t backend_role_skip(const struct backend_set *, int role);
/* The index of b in the set (for the skip mask), or BACKEND_MAX. */
size_t	 backend_index(const struct backend_set *, const struct backend *);
void	 backend_attach(struct backend *);
void	 backend_detach(struct backend *);
/* The rendezvous score of key on b, for tests. */
uint64_t backend_hash(const void *key, size_t keylen, const char *name);

/* Resolve a TCP backend's host (blocking); unix ones need none. */
int	 backend_resolve(struct backend *, char *err, size_t errsize);
/*
 * Start a non-blocking connection to b: 0 with *fd in progress (wait for
 * LOOP_WRITE, then net_connect_result()), or RTMP_E* with errno set.  A
 * directory backend connects to NAME.sock in it, NAME being what follows
 * the key's last '/' (the stream of "app/stream"): a NAME that fails
 * server_name_valid() (empty, a leading '.', anything but letters, digits
 * and "-_.") is refused (EINVAL), so that no name reaches outside the
 * directory; no socket of that name is ENOENT.
 */
int	 backend_connect(struct backend *, const void *key, size_t keylen, int *fd);

#endif
