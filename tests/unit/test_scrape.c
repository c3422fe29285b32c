#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "scrape.h"
#include "unit.h"

static struct guard	 g;

/*
 * The answer to the whole request, each strict prefix asking for more
 * (or, for garbage, already the answer), every input flush against a
 * guard page.
 */
static void
parse(const char *req, int want, int want_head, int prefix_more)
{
	size_t	 len = strlen(req), i;
	int	 head, rc, more = 1;
	char	 shown[48];

	/* The request in the test's name without its line ends. */
	for (i = 0; i < len && i < sizeof(shown) - 1; i++)
		shown[i] = req[i] >= 0x20 && req[i] < 0x7f ? req[i] : '.';
	shown[i] = '\0';

	for (i = 0; i < len && prefix_more; i++)
		if (scrape_parse(guard_put(&g, req, i), i, &head) != 0)
			more = 0;
	rc = scrape_parse(guard_put(&g, req, len), len, &head);
	CHECK(rc == want && (rc != 200 || head == want_head) && more,
	    "%d for \"%s\" (got %d%s)", want, shown, rc,
	    more ? "" : ", a prefix did not ask for more");
}

static void
test_answers(void)
{
	parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, 0, 1);
	parse("GET /metrics HTTP/1.0\r\n\r\n", 200, 0, 1);
	parse("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1, 1);
	parse("GET /metrics?name[]=a HTTP/1.1\r\n\r\n", 200, 0, 1);
	parse("GET /metrics HTTP/1.1\nHost: x\n\n", 200, 0, 1);
	parse("GET /metrics HTTP/1.1\r\nUser-Agent: Prometheus/2.42.0\r\n"
	    "Accept: application/openmetrics-text;version=1.0.0,text/plain;"
	    "version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n", 200, 0, 1);
	parse("GET / HTTP/1.1\r\n\r\n", 404, 0, 1);
	parse("GET /metricsx HTTP/1.1\r\n\r\n", 404, 0, 1);
	parse("GET /metric HTTP/1.1\r\n\r\n", 404, 0, 1);
	parse("HEAD /x HTTP/1.1\r\n\r\n", 404, 0, 1);
	parse("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, 0, 1);
	parse("DELETE /metrics?x HTTP/1.1\r\n\r\n", 405, 0, 1);
	parse("get /metrics HTTP/1.1\r\n\r\n", 405, 0, 1);
	/* Answered at the end of the request line already. */
	parse("GET /metrics HTTP/2.0\r\n\r\n", 505, 0, 0);
	parse("GET /metrics HTTP/0.9\r\n\r\n", 505, 0, 0);
}

static void
test_garbage(void)
{
	static const char	*bad[] = {
		"\x16\x03\x01\x02\x00",			/* a TLS ClientHello */
		"\x03\x00\x00\x00",			/* an RTMP C0+C1 */
		" GET /metrics HTTP/1.1\r\n\r\n",	/* leading space */
		"GET  /metrics HTTP/1.1\r\n\r\n",	/* two spaces */
		"GET metrics HTTP/1.1\r\n\r\n",		/* not origin-form */
		"GET * HTTP/1.1\r\n\r\n",
		"GET /me\001trics HTTP/1.1\r\n\r\n",	/* a control byte */
		"GET /metrics\r\n\r\n",			/* HTTP/0.9 style */
		"GET /metrics HTTP/1.1x\r\n\r\n",
		"GET /metrics HTTQ/1.1\r\n\r\n",
		"GET /metrics HTTP/a.1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",	/* no colon */
		"GET /metrics HTTP/1.1\r\n: x\r\n\r\n",		/* no name */
		"GET /metrics HTTP/1.1\r\nHo st: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\001b\r\n\r\n",
		"GETGETGETGETGETGETGET /metrics HTTP/1.1\r\n\r\n",	/* no such method */
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",	/* the HTTP/2 preface */
	};
	size_t	 i;
	int	 head;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse(bad[i], 400, 0, 0);
	/* Garbage is answered at its first bad byte, not at the end of a head. */
	CHECK_EQ(scrape_parse(guard_put(&g, "\x16", 1), 1, &head), 400,
	    "one byte of TLS is enough");
	CHECK_EQ(scrape_parse(guard_put(&g, "GET /a\001", 7), 7, &head), 400,
	    "a control byte in the target is enough");
	CHECK_EQ(scrape_parse(guard_put(&g, "GET /metrics HTTX", 17), 17, &head), 400,
	    "a wrong version byte is enough");
	CHECK_EQ(scrape_parse(guard_put(&g, "", 0), 0, &head), 0, "nothing yet: more");
}

static void
test_size(void)
{
	static char	 req[SCRAPE_HEAD_MAX + 64];
	int		 head;
	size_t		 n;

	/* A head that is not complete within the cap: 431. */
	n = (size_t)snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nX: ");
	memset(req + n, 'a', SCRAPE_HEAD_MAX - n);
	CHECK_EQ(scrape_parse(guard_put(&g, req, SCRAPE_HEAD_MAX), SCRAPE_HEAD_MAX, &head),
	    431, "a field that never ends");
	CHECK_EQ(scrape_parse(guard_put(&g, req, SCRAPE_HEAD_MAX - 1),
	    SCRAPE_HEAD_MAX - 1, &head), 0, "one byte short of the cap: more");
	/* a target that fills the cap */
	n = (size_t)snprintf(req, sizeof(req), "GET /");
	memset(req + n, 'a', SCRAPE_HEAD_MAX - n);
	CHECK_EQ(scrape_parse(guard_put(&g, req, SCRAPE_HEAD_MAX), SCRAPE_HEAD_MAX, &head),
	    431, "a target that never ends");
	/* many short fields */
	n = (size_t)snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\n");
	while (n + 6 <= SCRAPE_HEAD_MAX) {
		memcpy(req + n, "A: b\r\n", 6);
		n += 6;
	}
	memcpy(req + n, "A:b\r\n", SCRAPE_HEAD_MAX - n);
	CHECK_EQ(scrape_parse(guard_put(&g, req, SCRAPE_HEAD_MAX), SCRAPE_HEAD_MAX, &head),
	    431, "fields up to the cap with no end");
	/* a complete head just under it is answered */
	n = (size_t)snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nX: ");
	memset(req + n, 'a', SCRAPE_HEAD_MAX - n - 4);
	memcpy(req + SCRAPE_HEAD_MAX - 4, "\r\n\r\n", 4);
	CHECK_EQ(scrape_parse(guard_put(&g, req, SCRAPE_HEAD_MAX), SCRAPE_HEAD_MAX, &head),
	    200, "a head of exactly SCRAPE_HEAD_MAX bytes");
}

int
main(void)
{
	if (guard_new(&g, SCRAPE_HEAD_MAX + 64) < 0) {
		printf("not ok 1 - guard page\n1..1\n");
		return 1;
	}
	test_answers();
	test_garbage();
	test_size();
	return unit_done();
}
