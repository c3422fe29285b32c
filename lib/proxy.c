#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "proxy.h"

static const uint8_t	 v1_sig[6] = "PROXY ";
static const uint8_t	 v2_sig[12] = "\r\n\r\n\0\r\nQUIT\n";

/* Does buf[0..len) match the start of sig? */
static int
proxy_prefix_of(const uint8_t *buf, size_t len, const uint8_t *sig, size_t siglen)
{
	return memcmp(buf, sig, len < siglen ? len : siglen) == 0;
}

/* Decimal port without sign or leading zeros. */
static int
proxy_parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
proxy_parse_ip(int family, const char *s, size_t n, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 tmp[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sslen = sizeof(*sin);
		return inet_pton(AF_INET, tmp, &sin->sin_addr) == 1 ? 0 : -1;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	*sslen = sizeof(*sin6);
	return inet_pton(AF_INET6, tmp, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/* "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n" */
static int
proxy_parse_v1(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	const char	*line = (const char *)buf, *f[6];
	size_t		 i, n, start, end = 0, nf = 0, flen[6];
	uint16_t	 sport, dport;
	int		 family;

	/* The CR must leave room for its LF within PROXY_V1_MAX. */
	n = len < PROXY_V1_MAX - 1 ? len : PROXY_V1_MAX - 1;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return 0;
			if (buf[i + 1] != '\n')
				return RTMP_EPROTO;
			end = i;
			break;
		}
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return RTMP_EPROTO;
	}
	if (end == 0)
		return len >= PROXY_V1_MAX - 1 ? RTMP_EPROTO : 0;
	memset(out, 0, sizeof(*out));
	out->version = 1;
	/* "UNKNOWN" may be followed by anything up to the CRLF. */
	if (end >= 13 && memcmp(line + 6, "UNKNOWN", 7) == 0 &&
	    (end == 13 || line[13] == ' ')) {
		out->local = 1;
		return (int)(end + 2);
	}
	/* Six fields separated by exactly one space (empty ones fail below). */
	for (i = 0, start = 0; i <= end; i++) {
		if (i < end && line[i] != ' ')
			continue;
		if (nf == 6)
			return RTMP_EPROTO;
		f[nf] = line + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	if (nf != 6 || flen[1] != 4)
		return RTMP_EPROTO;
	if (memcmp(f[1], "TCP4", 4) == 0)
		family = AF_INET;
	else if (memcmp(f[1], "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return RTMP_EPROTO;
	if (proxy_parse_port(f[4], flen[4], &sport) < 0 ||
	    proxy_parse_port(f[5], flen[5], &dport) < 0 ||
	    proxy_parse_ip(family, f[2], flen[2], sport, &out->src, &out->srclen) < 0 ||
	    proxy_parse_ip(family, f[3], flen[3], dport, &out->dst, &out->dstlen) < 0)
		return RTMP_EPROTO;
	return (int)(end + 2);
}

static void
proxy_v2_unix(const uint8_t *p, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	size_t			 n;

	memset(ss, 0, sizeof(*ss));
	sun->sun_family = AF_UNIX;
	n = strnlen((const char *)p, 108);
	if (n >= sizeof(sun->sun_path))
		n = sizeof(sun->sun_path) - 1;
	memcpy(sun->sun_path, p, n);
	*sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static int
proxy_parse_v2(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	const uint8_t		*a = buf + 16;
	size_t			 total, need;
	int			 cmd, fam;

	if (len < 16)
		return 0;
	total = 16 + ((size_t)buf[14] << 8 | buf[15]);
	if ((buf[12] >> 4) != 2)
		return RTMP_EPROTO;
	cmd = buf[12] & 0x0f;
	fam = buf[13];
	if (cmd > 1)
		return RTMP_EPROTO;
	switch (fam >> 4) {
	case 0:
		need = 0;
		break;
	case 1:
		need = 12;
		break;
	case 2:
		need = 36;
		break;
	case 3:
		need = 216;
		break;
	default:
		return RTMP_EPROTO;
	}
	if ((fam & 0x0f) > 2 || ((fam >> 4) == 0) != ((fam & 0x0f) == 0))
		return RTMP_EPROTO;
	if (total > PROXY_V2_MAX)
		return RTMP_ELIMIT;
	if (total - 16 < need)
		return RTMP_EPROTO;
	if (len < total)
		return 0;
	memset(out, 0, sizeof(*out));
	out->version = 2;
	if (cmd == 0 || need == 0) {
		out->local = 1;
		return (int)total;
	}
	switch (fam >> 4) {
	case 1:
		sin = (struct sockaddr_in *)&out->src;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, a + 8, 2);
		sin = (struct sockaddr_in *)&out->dst;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a + 4, 4);
		memcpy(&sin->sin_port, a + 10, 2);
		out->srclen = out->dstlen = sizeof(*sin);
		break;
	case 2:
		sin6 = (struct sockaddr_in6 *)&out->src;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, a + 32, 2);
		sin6 = (struct sockaddr_in6 *)&out->dst;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a + 16, 16);
		memcpy(&sin6->sin6_port, a + 34, 2);
		out->srclen = out->dstlen = sizeof(*sin6);
		break;
	case 3:
		proxy_v2_unix(a, &out->src, &out->srclen);
		proxy_v2_unix(a + 108, &out->dst, &out->dstlen);
		break;
	}
	return (int)total;
}

int
proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	if (len == 0)
		return 0;
	if (proxy_prefix_of(buf, len, v1_sig, sizeof(v1_sig))) {
		if (len < sizeof(v1_sig))
			return 0;
		return proxy_parse_v1(buf, len, out);
	}
	if (proxy_prefix_of(buf, len, v2_sig, sizeof(v2_sig))) {
		if (len < sizeof(v2_sig))
			return 0;
		return proxy_parse_v2(buf, len, out);
	}
	return RTMP_EPROTO;
}

/* An inet address as family, address bytes and port; 0 if it is none. */
static int
proxy_inet(const struct sockaddr *sa, socklen_t len, uint8_t addr[16],
    uint16_t *port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(*sin)) {
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6 || len < (socklen_t)sizeof(*sin6))
		return 0;
	*port = ntohs(sin6->sin6_port);
	/* A dual-stack listener's IPv4 client is an IPv4 client. */
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(addr, sin6->sin6_addr.s6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(addr, &sin6->sin6_addr, 16);
	return AF_INET6;
}

int
proxy_write(uint8_t *buf, size_t size, int version, const struct sockaddr *src,
    socklen_t srclen, const struct sockaddr *dst, socklen_t dstlen)
{
	uint8_t		 sa[16], da[16], out[PROXY_WRITE_MAX];
	char		 s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	uint16_t	 sport = 0, dport = 0;
	size_t		 alen, n;
	int		 fam, dfam;

	if (version != 1 && version != 2)
		return RTMP_EINVAL;
	fam = proxy_inet(src, srclen, sa, &sport);
	dfam = proxy_inet(dst, dstlen, da, &dport);
	if (fam != dfam)
		fam = 0;
	alen = fam == AF_INET ? 4 : 16;
	if (version == 1 && fam == 0) {
		n = strlcpy((char *)out, "PROXY UNKNOWN\r\n", sizeof(out));
	} else if (version == 1) {
		inet_ntop(fam, sa, s, sizeof(s));
		inet_ntop(fam, da, d, sizeof(d));
		n = (size_t)snprintf((char *)out, sizeof(out), "PROXY %s %s %s %u %u\r\n",
		    fam == AF_INET ? "TCP4" : "TCP6", s, d, sport, dport);
	} else {
		memcpy(out, v2_sig, sizeof(v2_sig));
		/* Version 2; LOCAL (0) with no addresses, else PROXY (1) over TCP. */
		out[12] = fam == 0 ? 0x20 : 0x21;
		out[13] = fam == 0 ? 0x00 : fam == AF_INET ? 0x11 : 0x21;
		n = fam == 0 ? 0 : 2 * alen + 4;
		out[14] = 0;
		out[15] = (uint8_t)n;
		if (fam != 0) {
			memcpy(out + 16, sa, alen);
			memcpy(out + 16 + alen, da, alen);
			out[16 + 2 * alen] = (uint8_t)(sport >> 8);
			out[17 + 2 * alen] = (uint8_t)sport;
			out[18 + 2 * alen] = (uint8_t)(dport >> 8);
			out[19 + 2 * alen] = (uint8_t)dport;
		}
		n += 16;
	}
	if (n > size)
		return RTMP_ESPACE;
	memcpy(buf, out, n);
	return (int)n;
}
