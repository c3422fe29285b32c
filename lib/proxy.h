/*
 * proxy.h: the PROXY protocol header that HAProxy's send-proxy (text,
 * version 1) and send-proxy-v2 (binary) put before a proxied connection's
 * first byte, naming the real client.  Pure: bytes in, addresses out.
 *
 * proxy_parse() looks at the first bytes a server read from a connection
 * it accepted behind a balancer and returns the length of the header (the
 * caller drops that many bytes and hands the rest to the RTMP handshake),
 * 0 when it needs more bytes, or RTMP_EPROTO when the bytes are not a
 * valid PROXY header.  Bytes that cannot start a header fail at once, so a
 * client talking RTMP directly is refused without waiting.  Bounds: a v1
 * line is at most PROXY_V1_MAX bytes with its CRLF; a v2 header with its
 * TLVs at most PROXY_V2_MAX bytes (RTMP_ELIMIT past that, decided from the
 * first 16 bytes).  TLVs are skipped.  The caller's deadline bounds how
 * long a peer may take.
 *
 * out->local is set for "PROXY UNKNOWN" and for the v2 LOCAL command (a
 * balancer's own health check) or an unspecified family: no addresses,
 * use the socket's.  Otherwise src is the client and dst the address it
 * connected to, as sockaddrs ready for net_format_address().
 *
 * proxy_write() is the other end, for a balancer sending the header to
 * its backends: version 1 or 2, naming src (the client) and dst (the
 * address it connected to).  IPv4 and IPv6 (an IPv4-mapped IPv6 address,
 * a dual-stack listener's, counts as IPv4) give TCP4/TCP6 (v1) or
 * PROXY over AF_INET/AF_INET6 (v2); anything else (a unix socket client,
 * NULL, two families) gives "PROXY UNKNOWN" (v1) or the LOCAL command
 * (v2): the backend then uses its socket's address.  It returns the
 * header's length, at most PROXY_WRITE_MAX, or RTMP_ESPACE when size is
 * short of it, RTMP_EINVAL for another version.
 */
#ifndef RTMPKIT_PROXY_H
#define RTMPKIT_PROXY_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define PROXY_V1_MAX	107
#define PROXY_V2_MAX	4096
#define PROXY_WRITE_MAX	PROXY_V1_MAX	/* v2 with IPv6 is 52 bytes */

struct proxy_info {
	int			 version;	/* 1 or 2 */
	int			 local;		/* no addresses given */
	struct sockaddr_storage	 src;
	struct sockaddr_storage	 dst;
	socklen_t		 srclen;	/* 0 when local */
	socklen_t		 dstlen;
};

int	 proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out);
int	 proxy_write(uint8_t *buf, size_t size, int version,
	    const struct sockaddr *src, socklen_t srclen,
	    const struct sockaddr *dst, socklen_t dstlen);

#endif
