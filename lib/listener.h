/*
 * listener.h: the sockets a server accepts on, for rtmp-listen,
 * rtmp-relay and rtmp-balance.
 *
 * A listener is one listening socket on the loop: an address of url.h's
 * listen syntax (":1935", "127.0.0.1:1935", "[::]:1935", "unix:/path"), or
 * a socket systemd passed (net_listen_fds()).  Readable, it accepts up to
 * LISTENER_BURST connections per wakeup and hands each to the callback as
 * a non-blocking, close-on-exec fd with TCP_NODELAY, the peer's address
 * for log lines, and, when the listener has a TLS context, a struct tls in
 * server mode whose handshake runs inside the first reads and writes
 * (conn.h).  The callback owns both from then on.
 *
 * Out of descriptors (EMFILE, ENFILE), the listener stops watching its
 * socket for LISTENER_BACKOFF_MS instead of spinning on a readable socket
 * it cannot serve.  listener_pause() stops accepting (a server at its
 * connection limit), leaving new connections in the kernel's backlog.
 *
 * Errors: listener_new() returns NULL and writes why into err ("listen
 * 127.0.0.1:1935: Address already in use").
 */
#ifndef RTMPKIT_LISTENER_H
#define RTMPKIT_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#define LISTENER_BURST		64
#define LISTENER_BACKOFF_MS	1000
#define LISTENER_BACKLOG	511

struct loop;
struct tls;
struct tls_context;
struct listener;

typedef void	(*listener_accept_cb)(struct listener *, int fd, struct tls *,
		    const char *peer_address, void *arg);

struct listener	*listener_new(struct loop *, const char *address,
		    struct tls_context *, listener_accept_cb, void *arg,
		    char *err, size_t errsize);
/* Takes fd (a listening socket, say from systemd). */
struct listener	*listener_adopt(struct loop *, int fd, struct tls_context *,
		    listener_accept_cb, void *arg, char *err, size_t errsize);
void		 listener_free(struct listener *);
void		 listener_pause(struct listener *, int paused);
/*
 * Connections accepted from now on use this TLS context (NULL: plain);
 * the caller keeps it alive as long as the listener.  Connections
 * already accepted keep theirs: OpenSSL holds a reference for them.
 */
void		 listener_set_tls(struct listener *, struct tls_context *);
/* The address as given, or what the socket is bound to: for log lines. */
const char	*listener_address(const struct listener *);
/* The TCP port bound (port 0 given: the one the system picked); 0 for unix. */
uint16_t	 listener_port(const struct listener *);
uint64_t	 listener_accepted(const struct listener *);

#endif
