#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "net.h"
#include "proxy.h"
#include "unit.h"

static const uint8_t	 v2sig[12] = "\r\n\r\n\0\r\nQUIT\n";

/* Every strict prefix asks for more; the whole parses to its length. */
static int
prefixes_need_more(const uint8_t *p, size_t n)
{
	struct proxy_info	 pi;
	size_t			 i;

	for (i = 0; i < n; i++)
		if (proxy_parse(p, i, &pi) != 0)
			return 0;
	return 1;
}

static void
addr(const struct sockaddr_storage *ss, socklen_t len, char *out)
{
	net_format_address((const struct sockaddr *)ss, len, out,
	    NET_ADDRSTRLEN);
}

static void
test_v1(void)
{
	struct proxy_info	 pi;
	char			 s[NET_ADDRSTRLEN], d[NET_ADDRSTRLEN];
	char			 line[256];
	const char		*h;
	size_t			 i;
	static const char	*bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n",		/* a field short */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 x\r\n",	/* one too many */
		"PROXY TCP4  1.2.3.4 5.6.7.8 1111 2222\r\n",	/* double space */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 \r\n",	/* trailing space */
		"PROXY TCP4 1.2.3.256 5.6.7.8 1111 2222\r\n",	/* bad address */
		"PROXY TCP4 ::1 ::1 1111 2222\r\n",		/* v6 in TCP4 */
		"PROXY TCP6 1.2.3.4 5.6.7.8 1111 2222\r\n",	/* v4 in TCP6 */
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2222\r\n",	/* port range */
		"PROXY TCP4 1.2.3.4 5.6.7.8 01111 2222\r\n",	/* leading zero */
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2222\r\n",		/* sign */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\n",		/* LF alone */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\rX",	/* CR alone */
		"PROXY UDP4 1.2.3.4 5.6.7.8 1111 2222\r\n",	/* protocol */
		"PROXY TCP4 1.2.3.4\t5.6.7.8 1111 2222\r\n",	/* control byte */
		"PROXY \r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY\r\n",
		"GET / HTTP/1.0\r\n",
		"\x03\x00\x00\x00",					/* RTMP C0+C1 */
	};

	h = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 1935\r\nRTMP";
	CHECK_EQ(proxy_parse((const uint8_t *)h, strlen(h), &pi), strlen(h) - 4,
	    "v1 TCP4: consumes the line, not what follows");
	addr(&pi.src, pi.srclen, s);
	addr(&pi.dst, pi.dstlen, d);
	CHECK(pi.version == 1 && !pi.local && strcmp(s, "192.168.0.1:56324") == 0 &&
	    strcmp(d, "10.0.0.2:1935") == 0, "v1 TCP4 addresses %s %s", s, d);
	CHECK(prefixes_need_more((const uint8_t *)h, strlen(h) - 4),
	    "v1 TCP4: every truncation needs more");

	h = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
	CHECK_EQ(proxy_parse((const uint8_t *)h, strlen(h), &pi), strlen(h), "v1 TCP6");
	addr(&pi.src, pi.srclen, s);
	addr(&pi.dst, pi.dstlen, d);
	CHECK(strcmp(s, "[2001:db8::1]:65535") == 0 && strcmp(d, "[::1]:0") == 0,
	    "v1 TCP6 addresses %s %s", s, d);

	h = "PROXY UNKNOWN\r\n";
	CHECK_EQ(proxy_parse((const uint8_t *)h, strlen(h), &pi), strlen(h),
	    "v1 UNKNOWN");
	CHECK(pi.local && pi.srclen == 0, "v1 UNKNOWN has no addresses");
	h = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	CHECK_EQ(proxy_parse((const uint8_t *)h, strlen(h), &pi), strlen(h),
	    "v1 UNKNOWN with ignored fields");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(proxy_parse((const uint8_t *)bad[i], strlen(bad[i]), &pi),
		    RTMP_EPROTO, "v1 malformed %zu refused", i);
	CHECK_EQ(proxy_parse((const uint8_t *)"G", 1, &pi), RTMP_EPROTO,
	    "a non-PROXY first byte fails at once");
	CHECK_EQ(proxy_parse((const uint8_t *)"PROXY", 5, &pi), 0,
	    "signature prefix needs more");

	/* The longest legal line is 107 bytes; a CR any later is refused. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 105, "\r\n", 2);
	CHECK_EQ(proxy_parse((uint8_t *)line, 107, &pi), 107, "107-byte line ok");
	memcpy(line + 105, "x\r\n", 3);
	CHECK_EQ(proxy_parse((uint8_t *)line, 105, &pi), 0, "105 bytes, no CR: more");
	CHECK_EQ(proxy_parse((uint8_t *)line, 106, &pi), RTMP_EPROTO,
	    "106 bytes without CR: too long");
	CHECK_EQ(proxy_parse((uint8_t *)line, 108, &pi), RTMP_EPROTO,
	    "108-byte line refused");
}

static size_t
v2_header(uint8_t *p, uint8_t vercmd, uint8_t fam, const uint8_t *body,
    size_t bodylen)
{
	memcpy(p, v2sig, 12);
	p[12] = vercmd;
	p[13] = fam;
	p[14] = (uint8_t)(bodylen >> 8);
	p[15] = (uint8_t)bodylen;
	memcpy(p + 16, body, bodylen);
	return 16 + bodylen;
}

static void
test_v2(void)
{
	struct proxy_info	 pi;
	uint8_t			 p[PROXY_V2_MAX + 64], body[300];
	char			 s[NET_ADDRSTRLEN], d[NET_ADDRSTRLEN];
	size_t			 n;

	/* TCP4 with a TLV after the addresses, and RTMP bytes after that. */
	memcpy(body, "\xc0\xa8\x00\x01\x0a\x00\x00\x02\xdc\x04\x07\x8f", 12);
	memcpy(body + 12, "\x04\x00\x02hi", 5);		/* a NOOP TLV */
	n = v2_header(p, 0x21, 0x11, body, 17);
	p[n] = 0x03;
	CHECK_EQ(proxy_parse(p, n + 1, &pi), n, "v2 TCP4 with TLV");
	addr(&pi.src, pi.srclen, s);
	addr(&pi.dst, pi.dstlen, d);
	CHECK(pi.version == 2 && !pi.local && strcmp(s, "192.168.0.1:56324") == 0 &&
	    strcmp(d, "10.0.0.2:1935") == 0, "v2 TCP4 addresses %s %s", s, d);
	CHECK(prefixes_need_more(p, n), "v2: every truncation needs more");

	memset(body, 0, 36);
	body[15] = 1;				/* ::1 */
	body[16] = 0x20; body[17] = 0x01;	/* 2001:: */
	body[32] = 0x13; body[33] = 0x88;	/* 5000 */
	body[34] = 0x07; body[35] = 0x8f;	/* 1935 */
	n = v2_header(p, 0x21, 0x21, body, 36);
	CHECK_EQ(proxy_parse(p, n, &pi), n, "v2 TCP6");
	addr(&pi.src, pi.srclen, s);
	addr(&pi.dst, pi.dstlen, d);
	CHECK(strcmp(s, "[::1]:5000") == 0 && strcmp(d, "[2001::]:1935") == 0,
	    "v2 TCP6 addresses %s %s", s, d);

	memset(body, 0, 216);
	strlcpy((char *)body, "/run/client", 108);
	strlcpy((char *)body + 108, "/run/rtmp.sock", 108);
	n = v2_header(p, 0x21, 0x31, body, 216);
	CHECK_EQ(proxy_parse(p, n, &pi), n, "v2 UNIX");
	addr(&pi.src, pi.srclen, s);
	addr(&pi.dst, pi.dstlen, d);
	CHECK(strcmp(s, "unix:/run/client") == 0 &&
	    strcmp(d, "unix:/run/rtmp.sock") == 0, "v2 UNIX %s %s", s, d);
	memset(body, 'a', 216);			/* unterminated paths */
	n = v2_header(p, 0x21, 0x31, body, 216);
	CHECK_EQ(proxy_parse(p, n, &pi), n, "v2 UNIX unterminated paths bounded");

	n = v2_header(p, 0x20, 0x00, body, 0);
	CHECK_EQ(proxy_parse(p, n, &pi), 16, "v2 LOCAL");
	CHECK(pi.local && pi.srclen == 0, "v2 LOCAL has no addresses");
	n = v2_header(p, 0x20, 0x11, body, 12);
	CHECK_EQ(proxy_parse(p, n, &pi), n, "v2 LOCAL with addresses ignored");
	CHECK(pi.local, "v2 LOCAL: local");

	n = v2_header(p, 0x11, 0x11, body, 12);
	CHECK_EQ(proxy_parse(p, n, &pi), RTMP_EPROTO, "v2 version 1 refused");
	n = v2_header(p, 0x22, 0x11, body, 12);
	CHECK_EQ(proxy_parse(p, n, &pi), RTMP_EPROTO, "v2 command 2 refused");
	n = v2_header(p, 0x21, 0x41, body, 12);
	CHECK_EQ(proxy_parse(p, n, &pi), RTMP_EPROTO, "v2 family 4 refused");
	n = v2_header(p, 0x21, 0x13, body, 12);
	CHECK_EQ(proxy_parse(p, n, &pi), RTMP_EPROTO, "v2 transport 3 refused");
	n = v2_header(p, 0x21, 0x21, body, 12);
	CHECK_EQ(proxy_parse(p, 16, &pi), RTMP_EPROTO,
	    "v2 address block too short for TCP6, known from 16 bytes");
	memset(body, 0, sizeof(body));
	v2_header(p, 0x21, 0x11, body, 12);
	p[14] = 0xff;
	p[15] = 0xff;
	CHECK_EQ(proxy_parse(p, 16, &pi), RTMP_ELIMIT,
	    "v2 length past PROXY_V2_MAX refused from 16 bytes");
	n = PROXY_V2_MAX - 16;
	p[14] = (uint8_t)(n >> 8);
	p[15] = (uint8_t)n;
	memset(p + 16, 0, n);
	CHECK_EQ(proxy_parse(p, PROXY_V2_MAX, &pi), PROXY_V2_MAX,
	    "v2 header of exactly PROXY_V2_MAX accepted");
	CHECK_EQ(proxy_parse(v2sig, 5, &pi), 0, "v2 signature prefix needs more");
	CHECK_EQ(proxy_parse((const uint8_t *)"\r\n\r\nX", 5, &pi), RTMP_EPROTO,
	    "broken v2 signature refused");
}

static void
sockaddr_of(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, host, &sin6->sin6_addr);
	*len = sizeof(*sin6);
}

/* What proxy_write() says, proxy_parse() reads back, in both versions. */
static void
test_write(void)
{
	static const struct {
		const char	*src, *dst, *want_src, *want_dst, *v1;
	} rt[] = {
		{ "192.0.2.7", "127.0.0.1", "192.0.2.7:5555", "127.0.0.1:1935",
		    "PROXY TCP4 192.0.2.7 127.0.0.1 5555 1935\r\n" },
		{ "2001:db8::7", "::1", "[2001:db8::7]:5555", "[::1]:1935",
		    "PROXY TCP6 2001:db8::7 ::1 5555 1935\r\n" },
		/* a dual-stack listener's IPv4 client */
		{ "::ffff:192.0.2.7", "::ffff:127.0.0.1", "192.0.2.7:5555",
		    "127.0.0.1:1935", "PROXY TCP4 192.0.2.7 127.0.0.1 5555 1935\r\n" },
	};
	struct sockaddr_storage	 src, dst;
	struct sockaddr_un	 sun;
	struct proxy_info	 pi;
	socklen_t		 slen, dlen;
	uint8_t			 h[PROXY_WRITE_MAX];
	char			 s[NET_ADDRSTRLEN], d[NET_ADDRSTRLEN];
	size_t			 i;
	int			 v, n;

	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		sockaddr_of(rt[i].src, 5555, &src, &slen);
		sockaddr_of(rt[i].dst, 1935, &dst, &dlen);
		for (v = 1; v <= 2; v++) {
			n = proxy_write(h, sizeof(h), v, (struct sockaddr *)&src, slen,
			    (struct sockaddr *)&dst, dlen);
			CHECK(n > 0, "write v%d %s: %d bytes", v, rt[i].src, n);
			if (v == 1)
				CHECK(n == (int)strlen(rt[i].v1) &&
				    memcmp(h, rt[i].v1, (size_t)n) == 0,
				    "write v1 %s: %.*s", rt[i].src, n > 2 ? n - 2 : 0, h);
			CHECK(prefixes_need_more(h, (size_t)n),
			    "write v%d %s: every prefix needs more", v, rt[i].src);
			CHECK_EQ(proxy_parse(h, (size_t)n, &pi), n,
			    "write v%d %s: parses to its length", v, rt[i].src);
			addr(&pi.src, pi.srclen, s);
			addr(&pi.dst, pi.dstlen, d);
			CHECK(pi.version == v && !pi.local && strcmp(s, rt[i].want_src) == 0 &&
			    strcmp(d, rt[i].want_dst) == 0, "write v%d %s: read back %s %s",
			    v, rt[i].src, s, d);
		}
	}
	CHECK_EQ(proxy_write(h, sizeof(h), 2, (struct sockaddr *)&src, slen,
	    (struct sockaddr *)&dst, dlen), 28, "write v2 TCP4: 16 + 12 bytes");

	/* No inet client: UNKNOWN and LOCAL, the backend keeps its socket's. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, "/run/rtmp.sock", sizeof(sun.sun_path));
	sockaddr_of("127.0.0.1", 1935, &dst, &dlen);
	n = proxy_write(h, sizeof(h), 1, (struct sockaddr *)&sun, sizeof(sun),
	    (struct sockaddr *)&dst, dlen);
	CHECK(n == 15 && memcmp(h, "PROXY UNKNOWN\r\n", 15) == 0, "write v1 unix: UNKNOWN");
	CHECK(proxy_parse(h, (size_t)n, &pi) == n && pi.local, "write v1 UNKNOWN: local");
	n = proxy_write(h, sizeof(h), 2, NULL, 0, NULL, 0);
	CHECK_EQ(n, 16, "write v2 no address: LOCAL, 16 bytes");
	CHECK(proxy_parse(h, (size_t)n, &pi) == n && pi.local && pi.version == 2,
	    "write v2 LOCAL: local");
	sockaddr_of("2001:db8::7", 5555, &src, &slen);
	n = proxy_write(h, sizeof(h), 1, (struct sockaddr *)&src, slen,
	    (struct sockaddr *)&dst, dlen);
	CHECK(n == 15, "write v1 IPv6 client to an IPv4 address: UNKNOWN");
	CHECK_EQ(proxy_write(h, 10, 1, NULL, 0, NULL, 0), RTMP_ESPACE,
	    "write: short buffer");
	CHECK_EQ(proxy_write(h, sizeof(h), 3, NULL, 0, NULL, 0), RTMP_EINVAL,
	    "write: version 3");
}

int
main(void)
{
	test_v1();
	test_v2();
	test_write();
	return unit_done();
}
