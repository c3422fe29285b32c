/*
 * rtmp[s]:// URLs and listen addresses.  See url.h for the grammar.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "url.h"

/* Copy a counted string into a fixed field; -1 rather than truncate. */
static int
url_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static int
url_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* Spaces, control characters and DEL are never part of an address. */
static int
url_clean(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
url_valid_name(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!url_is_alnum(s[i]) && s[i] != '-' && s[i] != '.' &&
		    s[i] != '_')
			return 0;
	return 1;
}

/* An IPv6 literal, loosely: getaddrinfo() has the last word. */
static int
url_valid_v6(const char *s, size_t len)
{
	size_t	 i;
	int	 colon = 0, zone = 0;	/* zone: 1 after '%', 2 once named */

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && zone == 0 && colon)
			zone = 1;
		else if (s[i] == ':' && zone == 0)
			colon = 1;
		else if (zone ? !url_is_alnum(s[i]) && s[i] != '-' &&
		    s[i] != '.' && s[i] != '_' :
		    !url_is_alnum(s[i]) && s[i] != '.')
			return 0;
		else if (zone)
			zone = 2;
	}
	return colon && zone != 1;
}

static int
url_parse_port(const char *s, size_t len, int allow_zero, uint16_t *port)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535 || (v == 0 && !allow_zero))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * host [":" port] or "[" v6 "]" [":" port] from s[0..len).  The host may
 * come out empty; *has_port says whether a port was written.
 */
static int
url_parse_hostport(const char *s, size_t len, char *host, size_t hostsize,
    uint16_t *port, int *has_port, int allow_zero)
{
	const char	*h, *rest, *p;
	size_t		 hlen, rlen;

	*has_port = 0;
	if (len > 0 && s[0] == '[') {
		if ((p = memchr(s, ']', len)) == NULL)
			return -1;
		h = s + 1;
		hlen = (size_t)(p - h);
		if (hlen == 0 || !url_valid_v6(h, hlen))
			return -1;
		rest = p + 1;
	} else {
		p = memchr(s, ':', len);
		h = s;
		hlen = p != NULL ? (size_t)(p - s) : len;
		if (!url_valid_name(h, hlen))
			return -1;
		rest = s + hlen;
	}
	rlen = len - (size_t)(rest - s);
	if (rlen > 0) {
		if (rest[0] != ':' ||
		    url_parse_port(rest + 1, rlen - 1, allow_zero, port) == -1)
			return -1;
		*has_port = 1;
	}
	return url_field(host, hostsize, h, hlen);
}

static int
url_parse_rtmp(const char *s, struct url *u)
{
	const char	*auth, *path, *end, *q, *slash;
	size_t		 len, alen, plen;
	int		 has_port, n;

	if (s == NULL)
		return -1;
	len = strlen(s);
	end = s + len;
	if (!url_clean(s, len))
		return -1;

	if (len > 8 && strncasecmp(s, "rtmps://", 8) == 0) {
		u->tls = 1;
		auth = s + 8;
	} else if (len > 7 && strncasecmp(s, "rtmp://", 7) == 0)
		auth = s + 7;
	else
		return -1;

	path = memchr(auth, '/', (size_t)(end - auth));
	if (path == NULL)
		path = end;
	alen = (size_t)(path - auth);
	/* Userinfo is not supported; say so rather than misparse it. */
	if (memchr(auth, '@', alen) != NULL)
		return -1;
	if (url_parse_hostport(auth, alen, u->host, sizeof(u->host), &u->port,
	    &has_port, 0) == -1 || u->host[0] == '\0')
		return -1;
	if (!has_port)
		u->port = u->tls ? URL_DEFAULT_TLS_PORT : URL_DEFAULT_PORT;

	if (path < end) {
		path++;
		plen = (size_t)(end - path);
		/* Split before the query: a stream key may hold '/'. */
		q = memchr(path, '?', plen);
		slash = memrchr(path, '/', (size_t)((q ? q : end) - path));
		if (slash == NULL) {
			if (url_field(u->app, sizeof(u->app), path, plen) == -1)
				return -1;
		} else if (url_field(u->app, sizeof(u->app), path,
		    (size_t)(slash - path)) == -1 ||
		    url_field(u->stream, sizeof(u->stream), slash + 1,
		    (size_t)(end - slash - 1)) == -1)
			return -1;
	}

	n = snprintf(u->tc_url, sizeof(u->tc_url), "%s://%.*s/%s",
	    u->tls ? "rtmps" : "rtmp", (int)alen, auth, u->app);
	if (n < 0 || (size_t)n >= sizeof(u->tc_url))
		return -1;
	return 0;
}

int
url_parse(const char *s, struct url *u)
{
	memset(u, 0, sizeof(*u));
	if (url_parse_rtmp(s, u) == -1) {
		memset(u, 0, sizeof(*u));
		return RTMP_EINVAL;
	}
	return 0;
}

int
url_parse_listen(const char *s, struct listen_address *a)
{
	size_t	 len;
	int	 has_port;

	memset(a, 0, sizeof(*a));
	if (s == NULL)
		return RTMP_EINVAL;
	len = strlen(s);
	if (!url_clean(s, len))
		return RTMP_EINVAL;
	if (strncmp(s, "unix:", 5) == 0) {
		if (len == 5 ||
		    url_field(a->path, sizeof(a->path), s + 5, len - 5) == -1)
			goto bad;
		a->family_unix = 1;
		return 0;
	}
	if (url_parse_hostport(s, len, a->host, sizeof(a->host), &a->port,
	    &has_port, 1) == -1 || !has_port)
		goto bad;
	return 0;
bad:
	memset(a, 0, sizeof(*a));
	return RTMP_EINVAL;
}

int
url_format(const struct url *u, char *out, size_t outsize)
{
	char		 port[8] = "";
	int		 v6, n;

	if (u->port != (u->tls ? URL_DEFAULT_TLS_PORT : URL_DEFAULT_PORT))
		snprintf(port, sizeof(port), ":%u", (unsigned)u->port);
	v6 = strchr(u->host, ':') != NULL;
	n = snprintf(out, outsize, "%s://%s%s%s%s/%s%s%s",
	    u->tls ? "rtmps" : "rtmp", v6 ? "[" : "", u->host, v6 ? "]" : "",
	    port, u->app, u->stream[0] != '\0' ? "/" : "", u->stream);
	if (n < 0 || (size_t)n >= outsize) {
		if (outsize > 0)
			out[0] = '\0';
		return RTMP_ESPACE;
	}
	return n;
}
