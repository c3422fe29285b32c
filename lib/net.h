/*
 * net.h: non-blocking sockets for the event loop.
 *
 * Every descriptor these functions return is non-blocking and close-on-
 * exec; the caller owns it and closes it.  Functions return 0 or a
 * negative RTMP_E*; for RTMP_ESYS the cause is in errno.  Nothing here
 * logs: callers name the peer with net_format_address() in their messages.
 *
 * Connecting: name resolution uses getaddrinfo(3), which blocks.  That is
 * acceptable for clients (rtmp-dump, rtmp-pushflv) and for the balancer
 * resolving its backends at startup, not on a busy server's hot path.
 * net_connect() starts a connection to the first address that accepts a
 * connect(2) and returns 0 with *fd in progress: wait for LOOP_WRITE, then
 * net_connect_result(fd) says 0 (connected) or RTMP_ESYS with errno (say
 * ECONNREFUSED).  A caller that wants to fall back to the next address
 * ("localhost" is ::1 and 127.0.0.1, only one of them listening; without
 * an answer from the resolver it is 127.0.0.1, RFC 6761) uses
 * net_resolve() and calls net_connect_next() again after each failure.
 *
 * Listening: net_listen() binds a struct listen_address from url.h.  A
 * TCP host of "", "*" or "::" listens on every address, IPv6 and IPv4 at
 * once where the system has IPv6 (a dual-stack socket; IPv4 peers show
 * as plain IPv4 in net_format_address()); "0.0.0.0" listens on IPv4 only.
 * A host name binds the first address it resolves to.  TCP listeners set
 * SO_REUSEADDR.  A unix socket path whose old socket file is left over is
 * unlinked only when nothing accepts connections on it; any other file at
 * that path is never removed.  Port 0 picks a free port:
 * net_local_port() tells which.
 *
 * Writing to a peer that went away raises SIGPIPE with write(2) and with
 * OpenSSL: programs ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) at startup.
 */
#ifndef RTMPKIT_NET_H
#define RTMPKIT_NET_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#include "url.h"

/* net_accept(): nothing to accept now, or a connection died in the queue. */
#define NET_AGAIN		1

/* Room for any net_format_address() result, NUL included. */
#define NET_ADDRSTRLEN		128

#define NET_LISTEN_FDS_MAX	64	/* most fds taken from systemd */

struct net_addrs {
	struct addrinfo	*list;
	struct addrinfo	*next;		/* next to try */
	struct addrinfo	*cur;		/* the one net_connect_next() started */
};

/* RTMP_ERESOLVE when the name does not resolve, RTMP_ESYS, RTMP_ENOMEM. */
int	 net_resolve(const char *host, uint16_t port, struct net_addrs *a);
/*
 * Start a connection to the next address; 0 with *fd in progress.  When
 * no address is left, RTMP_ESYS with errno untouched, so the error of the
 * last attempt stands.
 */
int	 net_connect_next(struct net_addrs *a, int *fd);
void	 net_addrs_free(struct net_addrs *a);
/* net_resolve() and net_connect_next() once: the first address only. */
int	 net_connect(const char *host, uint16_t port, int *fd);
/* Connect to a unix socket; 0 with *fd connected or in progress. */
int	 net_connect_unix(const char *path, int *fd);
/* After LOOP_WRITE on a connecting fd: 0, or RTMP_ESYS with errno. */
int	 net_connect_result(int fd);

int	 net_listen(const struct listen_address *a, int backlog, int *fd);
/*
 * 0 with *fd, or NET_AGAIN (nothing pending; a connection aborted in the
 * queue), or RTMP_ESYS.  On EMFILE/ENFILE the listener stays readable:
 * stop watching it for a while (loop_modify to 0 and a timer) rather than
 * spin.  peer and peerlen may be NULL; *peerlen is set to the peer's size.
 */
int	 net_accept(int lfd, int *fd, struct sockaddr_storage *peer,
	    socklen_t *peerlen);

/* TCP_NODELAY; a no-op returning 0 on unix sockets. */
int	 net_set_nodelay(int fd);
int	 net_set_nonblock(int fd);
int	 net_local_port(int fd, uint16_t *port);

/* "127.0.0.1:5000", "[::1]:5000", "unix:/path"; "?" if unknown. */
void	 net_format_address(const struct sockaddr *sa, socklen_t len,
	    char *out, size_t outsize);
/* The numeric host (an IPv4-mapped IPv6 address as IPv4) and the port. */
int	 net_address_split(const struct sockaddr *sa, socklen_t len,
	    char *host, size_t hostsize, uint16_t *port);

/*
 * systemd socket activation.  If LISTEN_PID is this process, takes fds
 * 3 .. 3+LISTEN_FDS-1, makes them close-on-exec and non-blocking, and
 * returns them in *fds (caller frees) with their count in *n; LISTEN_PID,
 * LISTEN_FDS and LISTEN_FDNAMES are unset in every case so children do not
 * see them.  Not activated: 0 with *n 0.  RTMP_EINVAL for malformed
 * variables or more than NET_LISTEN_FDS_MAX, RTMP_ESYS if an fd is not
 * open.  The fds are whatever systemd passed: check they are sockets.
 */
int	 net_listen_fds(int **fds, size_t *n);

#endif
