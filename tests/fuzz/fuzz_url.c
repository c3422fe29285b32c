/*
 * URL and listen-address parsers.  A parsed URL must format and parse
 * back to the same host, port and scheme, and, when it names a stream,
 * to the same app and stream and the same string.  (With no stream an app
 * "a/b/" formats as "a/b", which parses as app "a", stream "b".)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "url.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 out1[4096], out2[4096];
	struct url		 u, w;
	struct listen_address	 a;
	char			*s;
	int			 r;

	if (size > 8192 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	r = url_parse(s, &u);
	if (r == 0) {
		if (u.host[0] == '\0' || u.port == 0 ||
		    memchr(u.host, '\0', sizeof(u.host)) == NULL ||
		    memchr(u.app, '\0', sizeof(u.app)) == NULL ||
		    memchr(u.stream, '\0', sizeof(u.stream)) == NULL ||
		    memchr(u.tc_url, '\0', sizeof(u.tc_url)) == NULL)
			abort();
		if (url_format(&u, out1, sizeof(out1)) <= 0)
			abort();
		if (url_parse(out1, &w) != 0 || w.tls != u.tls ||
		    w.port != u.port || strcmp(w.host, u.host) != 0)
			abort();
		if (u.stream[0] != '\0' && (strcmp(w.app, u.app) != 0 ||
		    strcmp(w.stream, u.stream) != 0))
			abort();
		if (url_format(&w, out2, sizeof(out2)) <= 0 ||
		    (u.stream[0] != '\0' && strcmp(out1, out2) != 0))
			abort();
	} else if (r != RTMP_EINVAL || u.host[0] != '\0' || u.port != 0)
		abort();

	r = url_parse_listen(s, &a);
	if (r == 0) {
		if (a.family_unix ? a.path[0] == '\0' :
		    memchr(a.host, '\0', sizeof(a.host)) == NULL)
			abort();
	} else if (r != RTMP_EINVAL || a.host[0] != '\0' || a.path[0] != '\0')
		abort();
	free(s);
	return 0;
}
