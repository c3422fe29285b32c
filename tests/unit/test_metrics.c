#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "metrics.h"
#include "unit.h"

/* The document so far equals want, byte for byte. */
static int
same(const struct buf *b, const char *want)
{
	if (b->len == strlen(want) && memcmp(buf_data(b), want, b->len) == 0)
		return 1;
	printf("# got:\n%.*s# want:\n%s", (int)b->len, (const char *)buf_data(b), want);
	return 0;
}

static void
test_document(void)
{
	struct buf		 b;
	struct metrics		 m;
	struct metrics_label	 l[2] = { { "program", "rtmp-relay" }, { "version", "1.0" } };

	buf_init(&b, 0);
	metrics_init(&m, &b, 0);
	metrics_family(&m, "rtmpkit_build_info", METRICS_GAUGE, "The program.");
	metrics_sample(&m, l, 2, 1);
	metrics_counter(&m, "rtmpkit_sent_bytes_total", "Bytes sent.", 18446744073709551615ull);
	metrics_family(&m, "rtmpkit_players", METRICS_GAUGE, "Players, by stream.");
	metrics_sample1(&m, "stream", "live/a", 3);
	metrics_sample1(&m, "stream", "live/b", 0);
	metrics_family(&m, "rtmpkit_upstream_connects_total", METRICS_COUNTER, "Connects.");
	metrics_sample_upstream(&m, 1, "rtmp://a/live", 2);
	metrics_sample_upstream(&m, 2, "rtmp://a/live", 0);
	CHECK_EQ(metrics_error(&m), 0, "a document without errors");
	CHECK(same(&b,
	    "# HELP rtmpkit_build_info The program.\n"
	    "# TYPE rtmpkit_build_info gauge\n"
	    "rtmpkit_build_info{program=\"rtmp-relay\",version=\"1.0\"} 1\n"
	    "# HELP rtmpkit_sent_bytes_total Bytes sent.\n"
	    "# TYPE rtmpkit_sent_bytes_total counter\n"
	    "rtmpkit_sent_bytes_total 18446744073709551615\n"
	    "# HELP rtmpkit_players Players, by stream.\n"
	    "# TYPE rtmpkit_players gauge\n"
	    "rtmpkit_players{stream=\"live/a\"} 3\n"
	    "rtmpkit_players{stream=\"live/b\"} 0\n"
	    "# HELP rtmpkit_upstream_connects_total Connects.\n"
	    "# TYPE rtmpkit_upstream_connects_total counter\n"
	    "rtmpkit_upstream_connects_total{upstream=\"1\",url=\"rtmp://a/live\"} 2\n"
	    "rtmpkit_upstream_connects_total{upstream=\"2\",url=\"rtmp://a/live\"} 0\n"),
	    "families, samples, labels, exactly");
	buf_free(&b);
}

static void
test_escape(void)
{
	struct buf	 b;
	struct metrics	 m;

	buf_init(&b, 0);
	metrics_init(&m, &b, 0);
	metrics_gauge(&m, "a", "back\\slash \"quoted\"\nnext line", 1);
	metrics_family(&m, "rtmpkit_backend_up", METRICS_GAUGE, "h");
	metrics_sample1(&m, "backend", "a\\b\"c\nd", 1);
	/* a control byte, a lone continuation byte, an overlong '/', a surrogate */
	metrics_sample1(&m, "backend", "x\ty\001\x80/\xc0\xaf/\xed\xa0\x80", 1);
	/* good UTF-8 stays as it is: 2, 3 and 4 bytes */
	metrics_sample1(&m, "backend", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 1);
	/* truncated sequences at the end of the string */
	metrics_sample1(&m, "backend", "z\xe2\x82", 1);
	CHECK(same(&b,
	    "# HELP a back\\\\slash \"quoted\"\\nnext line\n"
	    "# TYPE a gauge\n"
	    "a 1\n"
	    "# HELP rtmpkit_backend_up h\n"
	    "# TYPE rtmpkit_backend_up gauge\n"
	    "rtmpkit_backend_up{backend=\"a\\\\b\\\"c\\nd\"} 1\n"
	    "rtmpkit_backend_up{backend=\"x?y\?\?/\?\?/\?\?\?\"} 1\n"
	    "rtmpkit_backend_up{backend=\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"} 1\n"
	    "rtmpkit_backend_up{backend=\"z\?\?\"} 1\n"), "escapes in HELP and label values");
	buf_free(&b);
}

static void
test_names(void)
{
	static const char *good[] = { "a", "_a", "a:b", ":a", "rtmpkit_x_total", "A9" };
	static const char *bad[] = { "", "9a", "a-b", "a b", "a.b", "\xc3\xa9" };
	struct buf	 b;
	struct metrics	 m;
	size_t		 i;
	char		 longname[METRICS_NAME_MAX + 2];

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(metrics_name_valid(good[i], 0), "metric name \"%s\" is valid", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!metrics_name_valid(bad[i], 0), "metric name \"%s\" is not", bad[i]);
		CHECK(!metrics_name_valid(bad[i], 1), "label name \"%s\" is not", bad[i]);
	}
	CHECK(!metrics_name_valid("a:b", 1), "a label name has no ':'");
	CHECK(!metrics_name_valid("__name__", 1), "\"__\" starts no label name");
	CHECK(metrics_name_valid("_a", 1), "one '_' may start one");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!metrics_name_valid(longname, 0), "a name past METRICS_NAME_MAX");
	longname[METRICS_NAME_MAX] = '\0';
	CHECK(metrics_name_valid(longname, 0), "one of METRICS_NAME_MAX bytes");

	buf_init(&b, 0);
	metrics_init(&m, &b, 0);
	CHECK_EQ(metrics_sample(&m, NULL, 0, 1), RTMP_EINVAL, "a sample before any family");
	metrics_init(&m, &b, 0);
	CHECK_EQ(metrics_counter(&m, "rtmpkit_sent_bytes", "h", 1), RTMP_EINVAL,
	    "a counter not ending in _total");
	CHECK_EQ(metrics_gauge(&m, "ok", "h", 1), RTMP_EINVAL, "errors are sticky");
	CHECK_EQ(b.len, 0, "and nothing was written");
	metrics_init(&m, &b, 0);
	metrics_family(&m, "f", METRICS_GAUGE, "h");
	CHECK_EQ(metrics_sample1(&m, "bad-label", "v", 1), RTMP_EINVAL, "a bad label name");
	buf_free(&b);
}

/* Under a cap: whole lines only, the rest counted, the reserve kept. */
static void
test_cap(void)
{
	struct buf	 b;
	struct metrics	 m;
	char		 v[16];
	int		 i, kept = 0;
	size_t		 before, k;

	buf_init(&b, 200);
	metrics_init(&m, &b, 40);
	metrics_family(&m, "f", METRICS_GAUGE, "A family that fills the document.");
	for (i = 10; i < 30; i++) {
		snprintf(v, sizeof(v), "%d", i);
		metrics_sample1(&m, "s", v, 1);
	}
	CHECK_EQ(metrics_error(&m), 0, "a full document is no error");
	CHECK(b.len <= 200 - 40, "the reserve was kept (%zu bytes)", b.len);
	CHECK(b.len > 0 && buf_data(&b)[b.len - 1] == '\n', "it ends with a whole line");
	for (k = 0; k + 1 < b.len; k++)
		kept += buf_data(&b)[k] == '\n' && buf_data(&b)[k + 1] == 'f';
	CHECK_EQ(m.dropped, 20 - kept, "every sample left out was counted");
	CHECK(m.dropped > 0, "some were (%llu)", (unsigned long long)m.dropped);
	before = b.len;
	metrics_gauge(&m, "g", "h", 1);
	CHECK_EQ(b.len, before, "nothing after the first left out");
	metrics_reserve(&m, 0);
	metrics_gauge(&m, "dropped", "h", m.dropped);
	CHECK(b.len > before && b.len <= 200, "the reserve takes the last family");
	CHECK(memcmp(buf_data(&b) + before, "# HELP dropped h\n", 17) == 0,
	    "which comes right after");
	buf_free(&b);

	/* A buffer with no room at all: dropped, never half a line. */
	buf_init(&b, 10);
	metrics_init(&m, &b, 0);
	CHECK_EQ(metrics_gauge(&m, "a_long_name", "h", 1), 0, "no room is no error");
	CHECK_EQ(b.len, 0, "and leaves no half line");
	CHECK_EQ(m.dropped, 1, "one sample dropped");
	buf_free(&b);
}

int
main(void)
{
	test_document();
	test_escape();
	test_names();
	test_cap();
	return unit_done();
}
