/*
 * proxyread.h: the PROXY protocol header (proxy.h) read on the loop from
 * a socket just accepted behind a balancer (HAProxy's send-proxy and
 * send-proxy-v2), taking the header's bytes and not one more.
 *
 * The socket is peeked (recv(2) MSG_PEEK) and only bytes known to belong
 * to the header are taken: all of a peek that holds no complete header
 * yet (so level-triggered readiness cannot spin on it), then exactly the
 * rest of the header once proxy_parse() finds its end.  Whatever follows,
 * a TLS ClientHello or an RTMP C0+C1, stays in the socket for the next
 * reader, who needs no buffer handed over.
 *
 * The outcome comes once through the callback, never from inside
 * proxyread_start(): error 0 with the header's proxy_info (info->local:
 * no addresses, use the socket's), or RTMP_EPROTO (not a PROXY header),
 * RTMP_ELIMIT (longer than PROXY_V2_MAX), RTMP_ECLOSED (the peer went
 * away), RTMP_ETIMEOUT (no whole header within timeout_ms), RTMP_ESYS.
 * The struct is freed after the callback returns; proxyread_cancel()
 * frees it earlier with no callback.  The fd is the caller's all along:
 * registered on the loop while reading, removed before the callback.
 */
#ifndef RTMPKIT_PROXYREAD_H
#define RTMPKIT_PROXYREAD_H

#include <stdint.h>

#include "proxy.h"

struct loop;
struct proxyread;

typedef void	(*proxyread_cb)(struct proxyread *, int fd, int error,
		    const struct proxy_info *, void *arg);

/* NULL when out of memory, or the fd could not be watched. */
struct proxyread	*proxyread_start(struct loop *, int fd, uint32_t timeout_ms,
			    proxyread_cb, void *arg);
void			 proxyread_cancel(struct proxyread *);

#endif
