/*
 * url.h: rtmp:// and rtmps:// URLs, and listen addresses.
 *
 * url_parse() fills a struct url whose fields are the caller's own,
 * fixed-size and NUL-terminated, so they can go straight to getaddrinfo(3),
 * the connect command and logs; nothing points back into the input.  On
 * any error it returns RTMP_EINVAL and leaves the struct zeroed: no half
 * parsed fields.  A field that does not fit is an error, never truncated.
 *
 * Grammar: scheme "://" host [":" port] ["/" path].
 *   scheme	rtmp or rtmps, any case (rtmpt, rtmpe and others are refused);
 *   host	a name or IPv4 address of letters, digits, '-', '.', '_', or an
 *		IPv6 literal in brackets (stored without them; a "%zone" is
 *		kept); required;
 *   port	1 to 65535, decimal, at most 5 digits; default 1935 for rtmp,
 *		443 for rtmps;
 *   path	split at its last '/' before any '?': the last component is the
 *		stream, query string included (stream keys are carried as
 *		"?key=..."), everything before it the app, so "/app/inst/cam"
 *		is app "app/inst", stream "cam".  A single component is the app
 *		alone ("/live": app "live", stream ""); callers that need a
 *		stream name report its absence.  The app may be empty too.
 * Userinfo ("user:pass@host") is not supported and is refused, as are
 * spaces, control characters and DEL anywhere; a fragment '#' has no
 * special meaning.  Nothing is percent-decoded: RTMP peers send app and
 * stream names as the bytes the user typed.
 *
 * App and stream are bytes from the user (or, on a server, the peer): they
 * may hold "../", '/', shell metacharacters or non-ASCII bytes.  The parser
 * accepts them; callers validate names before using them in a file path,
 * a log line or a command's environment.
 *
 * tc_url is scheme://host[:port]/app with host and port as the user wrote
 * them (IPv6 brackets kept, an explicit default port kept), the value the
 * connect command's tcUrl carries.
 *
 * url_format() writes the canonical form: lower-case scheme, brackets
 * around IPv6, the port only when not the default, then "/app/stream" (or
 * "/app" with no stream).  Note that it includes the stream's query string,
 * which may hold a key: redact before logging where that matters.
 *
 * Listen addresses (url_parse_listen): "host:port", ":port" (any address;
 * host empty), "[v6addr]:port", or "unix:PATH" for a Unix socket.  Port 0
 * is allowed here (an ephemeral port).  The same RTMP_EINVAL-and-zeroed
 * contract applies.
 */
#ifndef RTMPKIT_URL_H
#define RTMPKIT_URL_H

#include <stddef.h>
#include <stdint.h>

#define URL_DEFAULT_PORT	1935
#define URL_DEFAULT_TLS_PORT	443

struct url {
	int		 tls;		/* 1 for rtmps */
	char		 host[256];	/* no brackets around IPv6 */
	uint16_t	 port;
	char		 app[256];
	char		 stream[1024];	/* with any "?query" */
	char		 tc_url[1024];
};

struct listen_address {
	int		 family_unix;	/* 1: path set; host, port not */
	char		 host[256];	/* empty: any address */
	uint16_t	 port;
	char		 path[108];	/* sun_path, NUL included */
};

/* 0, or RTMP_EINVAL with *u zeroed. */
int	url_parse(const char *s, struct url *u);
/* 0, or RTMP_EINVAL with *a zeroed. */
int	url_parse_listen(const char *s, struct listen_address *a);
/*
 * Canonical URL into out[0..outsize), NUL-terminated.  Returns its length,
 * or RTMP_ESPACE if it did not fit (out then holds an empty string when
 * outsize > 0).
 */
int	url_format(const struct url *u, char *out, size_t outsize);

#endif
