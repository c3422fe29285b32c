/*
 * lib/server's pure parts: option parsing with its ranges, listen
 * addresses, the name rule, stream?query splitting, query values, the
 * log escaper and the JSON string escaper.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "flv.h"
#include "server.h"
#include "unit.h"

static void
test_options(void)
{
	struct server_options	 o;
	char			 err[256];

	server_options_init(&o);
	CHECK_EQ(o.chunk_size, 4096, "default chunk size");
	CHECK_EQ(o.max_clients, 1024, "default max clients");
	CHECK_EQ(o.handshake_timeout_ms, 10000, "default handshake timeout");
	CHECK_EQ(o.idle_timeout_ms, 30000, "default idle timeout");
	CHECK_EQ(o.queue_bytes, 4u << 20, "default queue bytes");
	CHECK_EQ(o.max_message, 16u << 20, "default max message");
	CHECK(o.log_file == NULL && o.stats_path == NULL, "stderr, no stats by default");

	CHECK_EQ(server_option(&o, 'c', "128", err, sizeof(err)), 1, "-c 128");
	CHECK_EQ(o.chunk_size, 128, "chunk size set");
	CHECK_EQ(server_option(&o, 'c', "127", err, sizeof(err)), RTMP_EINVAL, "-c 127 too small");
	CHECK(strstr(err, "chunk size 127") != NULL, "error names the option: %s", err);
	CHECK_EQ(server_option(&o, 'c', "65537", err, sizeof(err)), RTMP_EINVAL, "-c 65537 too large");
	CHECK_EQ(server_option(&o, 'm', "0", err, sizeof(err)), RTMP_EINVAL, "-m 0");
	CHECK_EQ(server_option(&o, 'm', "x", err, sizeof(err)), RTMP_EINVAL, "-m x");
	CHECK_EQ(server_option(&o, 'm', "300", err, sizeof(err)), 1, "-m 300");
	CHECK_EQ(o.max_clients, 300, "max clients set");
	CHECK_EQ(server_option(&o, 't', "2", err, sizeof(err)), 1, "-t 2");
	CHECK_EQ(o.handshake_timeout_ms, 2000, "-t is seconds");
	CHECK_EQ(server_option(&o, 't', "3601", err, sizeof(err)), RTMP_EINVAL, "-t 3601");
	CHECK_EQ(server_option(&o, 'I', "5", err, sizeof(err)), 1, "-I 5");
	CHECK_EQ(o.idle_timeout_ms, 5000, "-I is seconds");
	CHECK_EQ(server_option(&o, 'i', "5", err, sizeof(err)), 0,
	    "-i is not a server option (rtmp-relay's input)");
	CHECK_EQ(server_option(&o, 'q', "65535", err, sizeof(err)), RTMP_EINVAL, "-q below 64 KiB");
	CHECK_EQ(server_option(&o, 'q', "1048576", err, sizeof(err)), 1, "-q 1 MiB");
	CHECK_EQ(server_option(&o, 'Q', "600001", err, sizeof(err)), RTMP_EINVAL, "-Q too long");
	CHECK_EQ(server_option(&o, 'Q', "2000", err, sizeof(err)), 1, "-Q 2000");
	CHECK_EQ(server_option(&o, 'x', "4095", err, sizeof(err)), RTMP_EINVAL, "-x too small");
	CHECK_EQ(server_option(&o, 'x', "4096", err, sizeof(err)), 1, "-x 4096");
	CHECK_EQ(o.max_message, 4096, "-x sets the largest message");
	CHECK_EQ(server_option(&o, 'P', "/run/x.pid", err, sizeof(err)), 1, "-P");
	CHECK(o.pid_file != NULL && strcmp(o.pid_file, "/run/x.pid") == 0, "-P: the pidfile");
	CHECK_EQ(server_option(&o, 's', "/tmp/x", err, sizeof(err)), RTMP_EINVAL, "-s needs unix:");
	CHECK_EQ(server_option(&o, 's', "unix:", err, sizeof(err)), RTMP_EINVAL, "-s unix: empty");
	CHECK_EQ(server_option(&o, 's', "unix:/tmp/s", err, sizeof(err)), 1, "-s unix:/tmp/s");
	CHECK(strcmp(o.stats_path, "/tmp/s") == 0, "stats path without the prefix");
	CHECK_EQ(server_option(&o, 'h', NULL, err, sizeof(err)), SERVER_OPTION_HELP, "-h");
	CHECK_EQ(server_option(&o, 'V', NULL, err, sizeof(err)), SERVER_OPTION_VERSION, "-V");
	CHECK_EQ(server_option(&o, 'e', "x", err, sizeof(err)), 0, "-e is not a server option");
	CHECK(!o.proxy, "no PROXY header expected by default");
	CHECK_EQ(server_option(&o, 'p', NULL, err, sizeof(err)), 1, "-p");
	CHECK(o.proxy, "-p: a PROXY header first");
	CHECK(strchr(SERVER_OPTIONS, 'p') != NULL && strchr(SERVER_OPTIONS, 'P') != NULL,
	    "-p (PROXY in) and -P (pidfile) are the frame's");
	CHECK_EQ(server_option(&o, 'v', NULL, err, sizeof(err)), 1, "-v");
	CHECK_EQ(server_option(&o, 'v', NULL, err, sizeof(err)), 1, "-v again");
	CHECK_EQ(o.verbose, 2, "-v counts");

	CHECK_EQ(server_option(&o, 'K', "k.pem", err, sizeof(err)), 1, "-K");
	CHECK_EQ(server_options_check(&o, err, sizeof(err)), RTMP_EINVAL, "-K without -C");
	CHECK_EQ(server_option(&o, 'C', "c.pem", err, sizeof(err)), 1, "-C");
	CHECK_EQ(server_options_check(&o, err, sizeof(err)), 0, "-C with -K");
}

static int	test_usage_calls;

static void
test_usage(void)
{
	test_usage_calls++;
}

/* -V prints to stdout, the TAP stream: cli.bats checks it instead. */
static void
test_option_status(void)
{
	CHECK_EQ(server_option_status(1, "x", "", test_usage), -1, "taken: go on");
	CHECK_EQ(test_usage_calls, 0, "no usage for a taken option");
	CHECK_EQ(server_option_status(SERVER_OPTION_HELP, "x", "", test_usage), 0, "-h: 0");
	CHECK_EQ(test_usage_calls, 1, "-h prints usage");
	CHECK_EQ(server_option_status(0, "x", "", test_usage), 2, "unknown letter: 2");
	CHECK_EQ(test_usage_calls, 2, "an unknown letter prints usage");
	CHECK_EQ(server_option_status(RTMP_EINVAL, "x", "bad value", test_usage), 2,
	    "bad value: 2");
	CHECK_EQ(test_usage_calls, 3, "a bad value prints usage");
}

static void
test_addresses(void)
{
	struct server_options	 o;
	char			 err[256];
	const char		*good[] = { ":1935", "[::]:1935", "127.0.0.1:0", "unix:/tmp/r.sock" };
	size_t			 i;

	server_options_init(&o);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(server_add_address(&o, good[i], err, sizeof(err)), 0, "address %s", good[i]);
	CHECK_EQ(o.naddresses, 4, "four addresses");
	CHECK_EQ(server_add_address(&o, "1935", err, sizeof(err)), RTMP_EINVAL, "bare port refused");
	CHECK_EQ(server_add_address(&o, "rtmp://x/", err, sizeof(err)), RTMP_EINVAL, "a URL refused");
	while (o.naddresses < SERVER_ADDRESSES_MAX)
		server_add_address(&o, ":1", err, sizeof(err));
	CHECK_EQ(server_add_address(&o, ":2", err, sizeof(err)), RTMP_EINVAL, "too many addresses");
}

static void
test_names(void)
{
	const char	*good[] = { "live", "a", "cam-1_b.x", "A9", "x..y" };
	const char	*bad[] = { "", ".hidden", "..", "../x", "a b", "a/b", "$(touch /tmp/pwned)",
	    "`id`", "a;b", "a\nb", "caf\xc3\xa9", "a?b", "a\"b" };
	char		 longname[SERVER_NAME_MAX + 2];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(server_name_valid(good[i], strlen(good[i])), "valid name %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!server_name_valid(bad[i], strlen(bad[i])), "invalid name #%zu", i);
	memset(longname, 'a', sizeof(longname));
	CHECK(server_name_valid(longname, SERVER_NAME_MAX), "128 bytes is the most");
	CHECK(!server_name_valid(longname, SERVER_NAME_MAX + 1), "129 bytes refused");
	CHECK(!server_name_valid("a\0b", 3), "an embedded NUL refused");
}

static void
test_split(void)
{
	char	 s[SERVER_NAME_MAX + 1], q[64], v[16];

	CHECK_EQ(server_stream_split((const uint8_t *)"cam", 3, s, sizeof(s), q, sizeof(q)), 0, "plain");
	CHECK(strcmp(s, "cam") == 0 && q[0] == '\0', "plain: stream, no query");
	CHECK_EQ(server_stream_split((const uint8_t *)"cam?key=a b", 11, s, sizeof(s), q, sizeof(q)), 0,
	    "with query");
	CHECK(strcmp(s, "cam") == 0 && strcmp(q, "key=a b") == 0, "query kept as sent");
	CHECK_EQ(server_stream_split((const uint8_t *)"?key=x", 6, s, sizeof(s), q, sizeof(q)),
	    RTMP_EINVAL, "empty stream");
	CHECK_EQ(server_stream_split((const uint8_t *)"../x?k", 6, s, sizeof(s), q, sizeof(q)),
	    RTMP_EINVAL, "bad stream");
	CHECK_EQ(server_stream_split((const uint8_t *)"x?a\0b", 5, s, sizeof(s), q, sizeof(q)),
	    RTMP_EINVAL, "NUL in query");
	CHECK_EQ(server_stream_split((const uint8_t *)"x?0123456789", 12, s, sizeof(s), q, 10),
	    RTMP_EINVAL, "query too long");

	CHECK_EQ(server_query_value("key=abc", "key", v, sizeof(v)), 1, "key alone");
	CHECK(strcmp(v, "abc") == 0, "key value");
	CHECK_EQ(server_query_value("a=1&key=xyz&b=2", "key", v, sizeof(v)), 1, "key in the middle");
	CHECK(strcmp(v, "xyz") == 0, "middle value");
	CHECK_EQ(server_query_value("keys=1&akey=2", "key", v, sizeof(v)), 0, "no false prefix match");
	CHECK_EQ(server_query_value("", "key", v, sizeof(v)), 0, "empty query");
	CHECK_EQ(server_query_value("key=", "key", v, sizeof(v)), 1, "empty value");
	CHECK(v[0] == '\0', "empty value is empty");
	CHECK_EQ(server_query_value("key=0123456789abcdef", "key", v, sizeof(v)), RTMP_ESPACE,
	    "value too long");
}

static void
test_escape(void)
{
	char		 out[SERVER_ESCAPED_MAX];
	uint8_t		 big[200];

	server_escape((const uint8_t *)"live", 4, out, sizeof(out));
	CHECK(strcmp(out, "\"live\"") == 0, "plain name quoted: %s", out);
	server_escape((const uint8_t *)"a\"b\\c\n\x01\xff", 8, out, sizeof(out));
	CHECK(strcmp(out, "\"a\\x22b\\x5cc\\x0a\\x01\\xff\"") == 0, "quotes, backslash, controls: %s", out);
	server_escape((const uint8_t *)"$(touch /tmp/pwned)", 19, out, sizeof(out));
	CHECK(strcmp(out, "\"$(touch /tmp/pwned)\"") == 0, "shell syntax inside quotes: %s", out);
	memset(big, 0xff, sizeof(big));
	server_escape(big, sizeof(big), out, sizeof(out));
	CHECK(strlen(out) < sizeof(out) && strcmp(out + strlen(out) - 3, "...") == 0,
	    "long input cut with ...");
	server_escape(big, sizeof(big), out, 10);
	CHECK(strlen(out) < 10, "small output never overflows");
}

static void
test_json(void)
{
	struct buf	 b;

	buf_init(&b, 0);
	CHECK_EQ(server_json_string(&b, "a\"b\\c\n\x01z"), 0, "json string");
	CHECK(b.len == strlen("\"a\\\"b\\\\c\\u000a\\u0001z\"") &&
	    memcmp(buf_data(&b), "\"a\\\"b\\\\c\\u000a\\u0001z\"", b.len) == 0, "json escapes");
	buf_free(&b);
	buf_init(&b, 0);
	CHECK_EQ(server_json_string(&b, ""), 0, "empty json string");
	CHECK(b.len == 2 && memcmp(buf_data(&b), "\"\"", 2) == 0, "empty is \"\"");
	buf_free(&b);
	buf_init(&b, 4);
	CHECK(server_json_string(&b, "toolong") < 0, "json past the buffer's cap fails");
	buf_free(&b);
}

static void
test_input(void)
{
	static const uint8_t	 avc[] = { 0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f };
	static const uint8_t	 aac[] = { 0xaf, 0, 0x11, 0x90 };
	/* E-RTMP: ExHeader, keyframe, SequenceStart, then the FourCC. */
	static const uint8_t	 hvc1[] = { 0x90, 'h', 'v', 'c', '1', 1, 2, 3 };
	static const uint8_t	 frame[1000] = { 0x27, 1 };
	struct server_input	 in;
	uint64_t		 t = 1000000, i;

	memset(&in, 0, sizeof(in));
	CHECK(strcmp(server_input_state(&in, t), "waiting") == 0, "no tag yet: waiting");
	CHECK_EQ(server_input_kbit_s(&in, t), 0, "no rate yet");
	CHECK(in.video == 0 && in.audio == 0, "no codec yet");
	server_input_tag(&in, t, 9, avc, sizeof(avc));
	server_input_tag(&in, t, 8, aac, sizeof(aac));
	CHECK(strcmp(server_input_state(&in, t), "live") == 0, "a tag: live");
	CHECK(strcmp(flv_codec_name(in.video), "h264") == 0 &&
	    strcmp(flv_codec_name(in.audio), "aac") == 0, "codecs from the headers");
	/* 1000 bytes every 10 ms for 10 s: 800 kbit/s. */
	for (i = 1; i <= 1000; i++)
		server_input_tag(&in, t + i * 10, 9, frame, sizeof(frame));
	t += 10000;
	CHECK(server_input_kbit_s(&in, t) >= 760 && server_input_kbit_s(&in, t) <= 840,
	    "800 kbit/s over the last seconds: %llu",
	    (unsigned long long)server_input_kbit_s(&in, t));
	CHECK_EQ(in.tags, 1002, "tags counted");
	CHECK_EQ(in.bytes, sizeof(avc) + sizeof(aac) + 1000 * sizeof(frame), "payload bytes");
	CHECK(strcmp(server_input_state(&in, t + SERVER_INPUT_PAUSED_MS - 1), "live") == 0,
	    "live until the pause is long enough");
	CHECK(strcmp(server_input_state(&in, t + SERVER_INPUT_PAUSED_MS), "paused") == 0,
	    "then paused");
	CHECK_EQ(server_input_kbit_s(&in, t + 1000 * SERVER_RATE_SECONDS), 0,
	    "the rate falls to 0 in a long pause");
	server_input_tag(&in, t + 20000, 9, hvc1, sizeof(hvc1));
	CHECK(strcmp(flv_codec_name(in.video), "hevc") == 0, "E-RTMP FourCC hvc1: hevc");
	CHECK_EQ(server_input_kbit_s(&in, t + 20000), sizeof(hvc1) * 8 / 1000,
	    "a lone tag after a pause: over one second, not a spike");
	server_input_end(&in);
	CHECK(strcmp(server_input_state(&in, t + 20000), "ended") == 0, "ended");
}

/* server_json_client() keeps the document under its cap before it looks at a session. */
static void
test_json_bound(void)
{
	struct server_client_stats	 c;
	struct buf			 b;

	memset(&c, 0, sizeof(c));
	buf_init(&b, SERVER_JSON_CLIENT_MAX + SERVER_JSON_TAIL - 1);
	CHECK_EQ(server_json_client(&b, NULL, &c, 1), RTMP_ESPACE,
	    "no room for an element: RTMP_ESPACE");
	CHECK_EQ(b.len, 0, "and nothing appended");
	buf_free(&b);
	CHECK(SERVER_STATS_LOG_MAX <= SERVER_STATS_MAX &&
	    SERVER_JSON_CLIENT_MAX > 6 * (2 * SERVER_NAME_MAX + 64) + 200,
	    "an element's bound covers two names and an address, escaped");
}

int
main(void)
{
	test_options();
	test_option_status();
	test_addresses();
	test_names();
	test_split();
	test_escape();
	test_json();
	test_json_bound();
	test_input();
	return unit_done();
}
