/*
 * URLs and listen addresses: a table of good and bad inputs, every prefix
 * of the good ones against a guard page, overlong fields, url_format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "guard.h"
#include "unit.h"
#include "url.h"

static struct guard g;

/* s with control characters shown as '?', so TAP lines stay one line. */
static const char *
shown(const char *s)
{
	static char	 buf[256];
	size_t		 i;

	for (i = 0; s[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* A copy of s whose NUL is the last byte before the guard page. */
static const char *
guarded(const char *s, size_t len)
{
	char	*p = (char *)guard_end(&g) - len - 1;

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

struct good {
	const char	*in;
	int		 tls;
	const char	*host;
	unsigned	 port;
	const char	*app, *stream, *tc_url, *canon;
};

static const struct good goods[] = {
	{ "rtmp://example.com/live/cam", 0, "example.com", 1935, "live", "cam",
	    "rtmp://example.com/live", "rtmp://example.com/live/cam" },
	{ "rtmps://example.com/live/cam", 1, "example.com", 443, "live", "cam",
	    "rtmps://example.com/live", "rtmps://example.com/live/cam" },
	{ "RTMP://Host.Example:1936/live/cam", 0, "Host.Example", 1936, "live",
	    "cam", "rtmp://Host.Example:1936/live",
	    "rtmp://Host.Example:1936/live/cam" },
	{ "RtMpS://h:1935/a/b", 1, "h", 1935, "a", "b", "rtmps://h:1935/a",
	    "rtmps://h:1935/a/b" },
	{ "rtmp://127.0.0.1:1935/live/ffpub", 0, "127.0.0.1", 1935, "live",
	    "ffpub", "rtmp://127.0.0.1:1935/live",
	    "rtmp://127.0.0.1/live/ffpub" },
	{ "rtmp://[::1]:1936/live/cam", 0, "::1", 1936, "live", "cam",
	    "rtmp://[::1]:1936/live", "rtmp://[::1]:1936/live/cam" },
	{ "rtmp://[fe80::1%eth0]/live/cam", 0, "fe80::1%eth0", 1935, "live",
	    "cam", "rtmp://[fe80::1%eth0]/live",
	    "rtmp://[fe80::1%eth0]/live/cam" },
	{ "rtmp://h/app/inst/cam", 0, "h", 1935, "app/inst", "cam",
	    "rtmp://h/app/inst", "rtmp://h/app/inst/cam" },
	{ "rtmp://h/live/cam?key=abc/def&x=1", 0, "h", 1935, "live",
	    "cam?key=abc/def&x=1", "rtmp://h/live",
	    "rtmp://h/live/cam?key=abc/def&x=1" },
	{ "rtmp://h/live", 0, "h", 1935, "live", "", "rtmp://h/live",
	    "rtmp://h/live" },
	{ "rtmp://h/live/", 0, "h", 1935, "live", "", "rtmp://h/live",
	    "rtmp://h/live" },
	{ "rtmp://h/live?token=1", 0, "h", 1935, "live?token=1", "",
	    "rtmp://h/live?token=1", "rtmp://h/live?token=1" },
	{ "rtmp://h", 0, "h", 1935, "", "", "rtmp://h/", "rtmp://h/" },
	{ "rtmp://h/", 0, "h", 1935, "", "", "rtmp://h/", "rtmp://h/" },
	{ "rtmp://h//cam", 0, "h", 1935, "", "cam", "rtmp://h/",
	    "rtmp://h//cam" },
	{ "rtmp://h:65535/a/b", 0, "h", 65535, "a", "b", "rtmp://h:65535/a",
	    "rtmp://h:65535/a/b" },
	{ "rtmp://h:00001/a/b", 0, "h", 1, "a", "b", "rtmp://h:00001/a",
	    "rtmp://h:1/a/b" },
	{ "rtmps://h:1935/a/b", 1, "h", 1935, "a", "b", "rtmps://h:1935/a",
	    "rtmps://h:1935/a/b" },
	{ "rtmp://h/../../etc/passwd", 0, "h", 1935, "../../etc", "passwd",
	    "rtmp://h/../../etc", "rtmp://h/../../etc/passwd" },
	{ "rtmp://h/live/$(reboot);`id`|x", 0, "h", 1935, "live",
	    "$(reboot);`id`|x", "rtmp://h/live",
	    "rtmp://h/live/$(reboot);`id`|x" },
	{ "rtmp://h/live/caf\xc3\xa9#frag", 0, "h", 1935, "live",
	    "caf\xc3\xa9#frag", "rtmp://h/live",
	    "rtmp://h/live/caf\xc3\xa9#frag" },
	{ "rtmp://my_host-1.local/a/b", 0, "my_host-1.local", 1935, "a", "b",
	    "rtmp://my_host-1.local/a", "rtmp://my_host-1.local/a/b" },
};

static const char *bads[] = {
	"",
	"rtmp",
	"rtmp:",
	"rtmp:/",
	"rtmp://",
	"rtmp:///live/cam",
	"rtmp://:1935/live",
	"http://h/live/cam",
	"rtmpt://h/live/cam",
	"rtmpe://h/live/cam",
	"rtmp:/h/live",
	" rtmp://h/live",
	"rtmp://h /live",
	"rtmp://h/live cam",
	"rtmp://h/live/cam\n",
	"rtmp://h/live/\tcam",
	"rtmp://h/live/c\x7f",
	"rtmp://h/live/c\x01",
	"rtmp://user@h/live",
	"rtmp://user:pass@h/live",
	"rtmp://h:0/live",
	"rtmp://h:65536/live",
	"rtmp://h:99999/live",
	"rtmp://h:123456/live",
	"rtmp://h:-1/live",
	"rtmp://h:+80/live",
	"rtmp://h:80a/live",
	"rtmp://h:/live",
	"rtmp://h:1935:1936/live",
	"rtmp://[::1/live",
	"rtmp://[]/live",
	"rtmp://[::1]x/live",
	"rtmp://[::1]:/live",
	"rtmp://[1.2.3.4]/live",
	"rtmp://[::1%]/live",
	"rtmp://::1/live",
	"rtmp://h?x=1",
	"rtmp://h#x",
	"rtmp://h\\x/live",
	"rtmp://h\xc3\xa9/live",
};

static void
test_good(void)
{
	struct url	 u;
	char		 out[4096];
	size_t		 i, k, len;
	int		 r, bad;

	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *t = &goods[i];

		len = strlen(t->in);
		r = url_parse(guarded(t->in, len), &u);
		CHECK(r == 0 && u.tls == t->tls &&
		    strcmp(u.host, t->host) == 0 &&
		    u.port == t->port && strcmp(u.app, t->app) == 0 &&
		    strcmp(u.stream, t->stream) == 0 &&
		    strcmp(u.tc_url, t->tc_url) == 0, "parse %s", t->in);
		if (r != 0 || strcmp(u.tc_url, t->tc_url) != 0)
			printf("#   got %d host '%s' port %u app '%s' "
			    "stream '%s' tc_url '%s'\n", r, u.host, u.port,
			    u.app, u.stream, u.tc_url);
		r = url_format(&u, out, sizeof(out));
		CHECK(r == (int)strlen(t->canon) && strcmp(out, t->canon) == 0,
		    "format %s", t->in);
		if (strcmp(out, t->canon) != 0)
			printf("#   got '%s'\n", out);

		/* Every prefix: parsed or refused, never an over-read. */
		bad = 0;
		for (k = 0; k < len; k++) {
			r = url_parse(guarded(t->in, k), &u);
			if (r != 0 && (r != RTMP_EINVAL || u.host[0] != '\0' ||
			    u.port != 0 || u.tc_url[0] != '\0'))
				bad++;
		}
		CHECK_EQ(bad, 0, "every prefix of %s", t->in);
	}
}

static void
test_bad(void)
{
	struct url	 u;
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		memset(&u, 0xa5, sizeof(u));
		r = url_parse(guarded(bads[i], strlen(bads[i])), &u);
		CHECK(r == RTMP_EINVAL && u.host[0] == '\0' &&
		    u.app[0] == '\0' &&
		    u.port == 0 && u.tls == 0 && u.tc_url[0] == '\0',
		    "refuse '%s'", shown(bads[i]));
	}
	memset(&u, 0xa5, sizeof(u));
	CHECK(url_parse(NULL, &u) == RTMP_EINVAL && u.host[0] == '\0',
	    "refuse NULL");
}

/* Fields at, and one past, their size: never truncated silently. */
static void
test_lengths(void)
{
	struct url	 u;
	char		 s[4096], name[2048];
	char		 out[8];
	int		 r;

	memset(name, 'a', sizeof(name));

	/* host: 255 bytes fit, 256 do not */
	snprintf(s, sizeof(s), "rtmp://%.255s/live/cam", name);
	r = url_parse(s, &u);
	CHECK(r == 0 && strlen(u.host) == 255, "255-byte host");
	snprintf(s, sizeof(s), "rtmp://%.256s/live/cam", name);
	CHECK_EQ(url_parse(s, &u), RTMP_EINVAL, "256-byte host refused");

	snprintf(s, sizeof(s), "rtmp://h/%.255s/cam", name);
	r = url_parse(s, &u);
	CHECK(r == 0 && strlen(u.app) == 255 &&
	    strlen(u.tc_url) == strlen("rtmp://h/") + 255, "255-byte app");
	snprintf(s, sizeof(s), "rtmp://h/%.300s/cam", name);
	CHECK_EQ(url_parse(s, &u), RTMP_EINVAL, "300-byte app refused");
	snprintf(s, sizeof(s), "rtmp://h/%.300s", name);
	CHECK_EQ(url_parse(s, &u), RTMP_EINVAL,
	    "300-byte lone app refused");

	snprintf(s, sizeof(s), "rtmp://h/live/%.1023s", name);
	r = url_parse(s, &u);
	CHECK(r == 0 && strlen(u.stream) == 1023, "1023-byte stream");
	snprintf(s, sizeof(s), "rtmp://h/live/%.1024s", name);
	CHECK_EQ(url_parse(s, &u), RTMP_EINVAL,
	    "1024-byte stream refused");

	/* The largest tc_url: [255-byte v6 literal]:65535/255-byte app */
	snprintf(s, sizeof(s), "rtmps://[1:%.253s]:65535/%.255s/%.1023s",
	    name, name, name);
	r = url_parse(s, &u);
	CHECK(r == 0 && strlen(u.host) == 255 && strlen(u.app) == 255 &&
	    strlen(u.stream) == 1023 &&
	    strlen(u.tc_url) == 8 + 257 + 6 + 1 + 255, "every field full");
	CHECK(url_format(&u, s, sizeof(s)) > 0 && url_parse(s, &u) == 0 &&
	    strlen(u.stream) == 1023, "full URL formats and parses back");

	r = url_parse("rtmp://h/live/cam", &u);
	CHECK_EQ(url_format(&u, out, sizeof(out)), RTMP_ESPACE,
	    "format into a short buffer");
	CHECK_EQ(out[0], '\0', "short buffer left empty");
	CHECK_EQ(url_format(&u, NULL, 0), RTMP_ESPACE,
	    "format into nothing");
}

struct good_listen {
	const char	*in;
	int		 unix_;
	const char	*host;
	unsigned	 port;
	const char	*path;
};

static const struct good_listen listens[] = {
	{ "127.0.0.1:1935", 0, "127.0.0.1", 1935, "" },
	{ ":1935", 0, "", 1935, "" },
	{ ":0", 0, "", 0, "" },
	{ "localhost:0", 0, "localhost", 0, "" },
	{ "[::1]:19350", 0, "::1", 19350, "" },
	{ "[::]:1935", 0, "::", 1935, "" },
	{ "0.0.0.0:65535", 0, "0.0.0.0", 65535, "" },
	{ "unix:/run/rtmp.sock", 1, "", 0, "/run/rtmp.sock" },
	{ "unix:rel.sock", 1, "", 0, "rel.sock" },
};

static const char *bad_listens[] = {
	"", "1935", "localhost", "h:", ":", ":65536", ":-1", "[::1]",
	    "[::1]1935",
	"::1:1935", "h:19 35", " h:1935", "h:1935\n", "unix:", "unix:/a\tb",
	"user@h:1935", "[::1:1935", "h:x",
};

static void
test_listen(void)
{
	struct listen_address	 a;
	char			 s[256], name[200];
	size_t			 i, k, len;
	int			 r, bad;

	for (i = 0; i < sizeof(listens) / sizeof(listens[0]); i++) {
		const struct good_listen *t = &listens[i];

		len = strlen(t->in);
		r = url_parse_listen(guarded(t->in, len), &a);
		CHECK(r == 0 && a.family_unix == t->unix_ &&
		    strcmp(a.host, t->host) == 0 && a.port == t->port &&
		    strcmp(a.path, t->path) == 0, "listen %s", t->in);
		bad = 0;
		for (k = 0; k < len; k++) {
			r = url_parse_listen(guarded(t->in, k), &a);
			if (r != 0 && (r != RTMP_EINVAL || a.host[0] != '\0' ||
			    a.path[0] != '\0' || a.port != 0))
				bad++;
		}
		CHECK_EQ(bad, 0, "every prefix of listen %s", t->in);
	}
	for (i = 0; i < sizeof(bad_listens) / sizeof(bad_listens[0]); i++) {
		memset(&a, 0xa5, sizeof(a));
		r = url_parse_listen(guarded(bad_listens[i],
		    strlen(bad_listens[i])), &a);
		CHECK(r == RTMP_EINVAL && a.host[0] == '\0' &&
		    a.path[0] == '\0' &&
		    a.port == 0 && a.family_unix == 0,
		    "refuse listen '%s'", shown(bad_listens[i]));
	}
	memset(name, 'p', sizeof(name));
	snprintf(s, sizeof(s), "unix:/%.106s", name);
	CHECK(url_parse_listen(s, &a) == 0 && strlen(a.path) == 107,
	    "107-byte socket path");
	snprintf(s, sizeof(s), "unix:/%.107s", name);
	CHECK_EQ(url_parse_listen(s, &a), RTMP_EINVAL,
	    "108-byte socket path refused");
}

int
main(void)
{
	if (guard_new(&g, 8192) == -1) {
		CHECK(0, "guard page");
		return unit_done();
	}
	test_good();
	test_bad();
	test_lengths();
	test_listen();
	guard_free(&g);
	return unit_done();
}
