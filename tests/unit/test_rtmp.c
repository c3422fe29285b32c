/*
 * test_rtmp.c: the session layer against real clients' recorded bytes,
 * and client and server sessions talking to each other in memory.
 */
#include <stdint.h>
#include <string.h>

#include "client.h"
#include "error.h"
#include "rtmp.h"
#include "unit.h"
#include "url.h"

struct tally;
static int	feed_all(struct rtmp_session *, const uint8_t *, size_t, struct tally *, int);

struct tally {
	int	 handshake, connect, publish, play, connected, ready, unpublish, play_stop;
	int	 audio, video, data, eof, status, errors;
	char	 app[64], stream[64];
	uint32_t last_video_ts;
	int	 video_ts_backwards;
};

static void
copy_view(char *dst, size_t size, struct amf0_view v)
{
	size_t	 n = v.len < size - 1 ? v.len : size - 1;

	memcpy(dst, v.ptr, n);
	dst[n] = '\0';
}

/* Drive one session over in[0..len) as the peer's bytes; servers accept everything. */
static int
replay(struct rtmp_session *s, const uint8_t *in, size_t len, struct tally *t)
{
	return feed_all(s, in, len, t, 1);
}

/* Feed everything; discard: drop the session's answers (nobody to send them to). */
static int
feed_all(struct rtmp_session *s, const uint8_t *in, size_t len, struct tally *t, int discard)
{
	struct rtmp_event	 ev;
	size_t			 used = 0, n, outlen;
	int			 rc;

	for (;;) {
		rc = rtmp_session_feed(s, in + used, len - used, 0, &n, &ev);
		used += n;
		if (discard) {
			rtmp_session_output(s, &outlen);
			rtmp_session_sent(s, outlen);
		}
		if (rc < 0)
			return rc;
		switch (rc) {
		case RTMP_EVENT_NONE:
			if (used == len)
				return 0;
			break;
		case RTMP_EVENT_HANDSHAKE_DONE:
			t->handshake++;
			break;
		case RTMP_EVENT_CONNECT:
			t->connect++;
			copy_view(t->app, sizeof(t->app), ev.app);
			if (rtmp_server_accept_connect(s) < 0)
				return -100;
			break;
		case RTMP_EVENT_PUBLISH:
			t->publish++;
			copy_view(t->stream, sizeof(t->stream), ev.stream);
			if (rtmp_server_accept_publish(s) < 0)
				return -101;
			break;
		case RTMP_EVENT_PLAY:
			t->play++;
			copy_view(t->stream, sizeof(t->stream), ev.stream);
			if (rtmp_server_accept_play(s) < 0)
				return -102;
			break;
		case RTMP_EVENT_CONNECTED:
			t->connected++;
			break;
		case RTMP_EVENT_READY:
			t->ready++;
			break;
		case RTMP_EVENT_UNPUBLISH:
			t->unpublish++;
			break;
		case RTMP_EVENT_PLAY_STOP:
			t->play_stop++;
			break;
		case RTMP_EVENT_STREAM_EOF:
			t->eof++;
			break;
		case RTMP_EVENT_STATUS:
			t->status++;
			if (ev.error)
				t->errors++;
			break;
		case RTMP_EVENT_MEDIA:
			if (ev.message_type == RTMP_MSG_AUDIO)
				t->audio++;
			else if (ev.message_type == RTMP_MSG_VIDEO) {
				if (t->video > 0 && ev.timestamp < t->last_video_ts)
					t->video_ts_backwards++;
				t->last_video_ts = ev.timestamp;
				t->video++;
			} else
				t->data++;
			break;
		}
	}
}

static const char *const publishers[] = {
	"ffmpeg-publish", "librtmp-publish", "gstreamer-publish", "nginx-push"
};
static const char *const publisher_streams[] = { "ffpub", "obspub", "gstpub", "nginxpush" };
static const char *const players[] = {
	"ffmpeg-play", "ffprobe-probe", "rtmpdump-play", "gstreamer-play", "vlc-play"
};

static void
test_server_replay(void)
{
	struct rtmp_config	 c;
	struct rtmp_session	*s;
	struct tally		 t;
	char			 path[128];
	uint8_t			*in;
	size_t			 len, i;
	int			 rc;

	rtmp_config_default(&c, RTMP_ROLE_SERVER);
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "captures/%s.c2s.bin", publishers[i]);
		in = unit_read_data(path, &len);
		if (!CHECK(in != NULL, "read %s", path))
			continue;
		memset(&t, 0, sizeof(t));
		s = rtmp_session_new(&c);
		rc = replay(s, in, len, &t);
		CHECK_EQ(rc, 0, "%s: server replay ends asking for more", publishers[i]);
		CHECK(t.handshake == 1 && t.connect == 1 && t.publish == 1,
		    "%s: handshake, connect, publish seen", publishers[i]);
		CHECK(strcmp(t.app, "live") == 0, "%s: app is live (%s)", publishers[i], t.app);
		CHECK(strcmp(t.stream, publisher_streams[i]) == 0, "%s: stream %s",
		    publishers[i], t.stream);
		CHECK(t.audio > 10 && t.video > 10 && t.data >= 1,
		    "%s: media arrives (a %d v %d d %d)", publishers[i], t.audio, t.video, t.data);
		CHECK_EQ(t.video_ts_backwards, 0, "%s: video timestamps monotonic", publishers[i]);
		rtmp_session_free(s);
		free(in);
	}
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "captures/%s.c2s.bin", players[i]);
		in = unit_read_data(path, &len);
		if (!CHECK(in != NULL, "read %s", path))
			continue;
		memset(&t, 0, sizeof(t));
		s = rtmp_session_new(&c);
		rc = replay(s, in, len, &t);
		CHECK_EQ(rc, 0, "%s: server replay ends cleanly", players[i]);
		CHECK(t.connect == 1 && t.play == 1 && strcmp(t.stream, "cam") == 0,
		    "%s: connect and play cam", players[i]);
		rtmp_session_free(s);
		free(in);
	}
}

static void
test_client_replay(void)
{
	struct rtmp_config	 c;
	struct rtmp_session	*s;
	struct tally		 t;
	char			 path[128];
	uint8_t			*in, *c2s;
	size_t			 len, c2slen, i;
	int			 rc;

	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "captures/%s.c2s.bin", players[i]);
		c2s = unit_read_data(path, &c2slen);
		snprintf(path, sizeof(path), "captures/%s.s2c.bin", players[i]);
		in = unit_read_data(path, &len);
		if (!CHECK(in != NULL && c2s != NULL && c2slen > 1537, "read %s", path))
			continue;
		rtmp_config_default(&c, RTMP_ROLE_CLIENT);
		c.app = "live";
		c.tc_url = "rtmp://127.0.0.1/live";
		c.stream = "cam";
		c.handshake_packet = c2s + 1;
		/* Version bytes zero: the client used the plain handshake. */
		c.handshake_plain = memcmp(c2s + 5, "\0\0\0\0", 4) == 0;
		memset(&t, 0, sizeof(t));
		s = rtmp_session_new(&c);
		rc = replay(s, in, len, &t);
		CHECK_EQ(rc, 0, "%s: client replay of nginx's answers ends cleanly", players[i]);
		CHECK(t.handshake == 1 && t.connected == 1 && t.ready == 1,
		    "%s: handshake, connected, play started", players[i]);
		CHECK(t.audio > 10 && t.data >= 1, "%s: media received (a %d v %d d %d)",
		    players[i], t.audio, t.video, t.data);
		CHECK_EQ(t.errors, 0, "%s: no error status", players[i]);
		rtmp_session_free(s);
		free(in);
		free(c2s);
	}
}

/* Shuttle bytes between two sessions until neither has output. */
static int
pump(struct rtmp_session *a, struct tally *ta, struct rtmp_session *b, struct tally *tb)
{
	const uint8_t	*p;
	size_t		 len;
	int		 rounds, moved, rc;

	for (rounds = 0; rounds < 1000; rounds++) {
		moved = 0;
		p = rtmp_session_output(a, &len);
		if (len > 0) {
			uint8_t	*copy = malloc(len);

			memcpy(copy, p, len);
			rtmp_session_sent(a, len);
			rc = feed_all(b, copy, len, tb, 0);
			free(copy);
			if (rc < 0)
				return rc;
			moved = 1;
		}
		p = rtmp_session_output(b, &len);
		if (len > 0) {
			uint8_t	*copy = malloc(len);

			memcpy(copy, p, len);
			rtmp_session_sent(b, len);
			rc = feed_all(a, copy, len, ta, 0);
			free(copy);
			if (rc < 0)
				return rc;
			moved = 1;
		}
		if (!moved)
			return 0;
	}
	return -200;
}

static void
test_loopback(int publish, int plain)
{
	struct rtmp_config	 cc, sc;
	struct rtmp_session	*client, *server;
	struct tally		 tc, ts;
	uint8_t			 frame[10000];
	uint8_t			 meta[] = { AMF0_STRING, 0, 10, 'o', 'n', 'M', 'e', 't', 'a',
				    'D', 'a', 't', 'a', AMF0_NULL };
	int			 i, rc;

	rtmp_config_default(&cc, RTMP_ROLE_CLIENT);
	cc.app = "live";
	cc.tc_url = "rtmp://127.0.0.1/live";
	cc.stream = "cam?key=s3cret";
	cc.publish = publish;
	cc.handshake_plain = plain;
	rtmp_config_default(&sc, RTMP_ROLE_SERVER);
	sc.chunk_size = 128;
	client = rtmp_session_new(&cc);
	server = rtmp_session_new(&sc);
	memset(&tc, 0, sizeof(tc));
	memset(&ts, 0, sizeof(ts));
	rc = pump(client, &tc, server, &ts);
	CHECK_EQ(rc, 0, "loopback %s%s: session set up", publish ? "publish" : "play",
	    plain ? " plain" : "");
	CHECK(tc.connected == 1 && tc.ready == 1, "client connected and ready");
	CHECK(ts.connect == 1 && (publish ? ts.publish : ts.play) == 1 &&
	    strcmp(ts.stream, "cam?key=s3cret") == 0, "server saw %s of %s",
	    publish ? "publish" : "play", ts.stream);
	CHECK(strcmp(ts.app, "live") == 0, "server saw app live");
	for (i = 0; i < (int)sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	for (i = 0; i < 50; i++) {
		struct rtmp_session *from = publish ? client : server;

		if (i == 0)
			rc = rtmp_session_send_metadata(from, 0, meta, sizeof(meta));
		else
			rc = rtmp_session_send_media(from, i % 2 ? RTMP_MSG_VIDEO :
			    RTMP_MSG_AUDIO, (uint32_t)i * 20, frame, sizeof(frame) - i);
		if (rc < 0)
			break;
	}
	CHECK_EQ(rc, 0, "media queued");
	rc = pump(client, &tc, server, &ts);
	CHECK_EQ(rc, 0, "media delivered");
	{
		struct tally *rx = publish ? &ts : &tc;

		CHECK(rx->video == 25 && rx->audio == 24 && rx->data >= 1,
		    "receiver got every message (a %d v %d d %d)", rx->audio, rx->video, rx->data);
	}
	if (publish) {
		CHECK_EQ(rtmp_session_close_stream(client), 0, "client closes the stream");
		pump(client, &tc, server, &ts);
		CHECK_EQ(ts.unpublish, 1, "server saw the unpublish");
	} else {
		CHECK_EQ(rtmp_server_end_play(server), 0, "server ends the play");
		pump(client, &tc, server, &ts);
		CHECK(tc.eof >= 1, "client saw the end of the stream");
		CHECK_EQ(rtmp_session_close_stream(client), 0, "client deletes its stream");
		pump(client, &tc, server, &ts);
		CHECK_EQ(ts.play_stop, 1, "server is told the player stopped");
	}
	rtmp_session_free(client);
	rtmp_session_free(server);
}

static void
test_reject(void)
{
	struct rtmp_config	 cc, sc;
	struct rtmp_session	*client, *server;
	struct rtmp_event	 ev;
	struct tally		 tc;
	const uint8_t		*p;
	uint8_t			*copy;
	size_t			 len, n, used;
	int			 rc, rejected = 0, rounds;

	rtmp_config_default(&cc, RTMP_ROLE_CLIENT);
	cc.app = "live";
	cc.tc_url = "rtmp://127.0.0.1/live";
	cc.stream = "missing";
	rtmp_config_default(&sc, RTMP_ROLE_SERVER);
	client = rtmp_session_new(&cc);
	server = rtmp_session_new(&sc);
	memset(&tc, 0, sizeof(tc));
	for (rounds = 0; rounds < 50 && tc.errors == 0; rounds++) {
		p = rtmp_session_output(client, &len);
		copy = malloc(len + 1);
		memcpy(copy, p, len);
		rtmp_session_sent(client, len);
		for (used = 0; used < len; used += n) {
			rc = rtmp_session_feed(server, copy + used, len - used, 0, &n, &ev);
			if (rc == RTMP_EVENT_CONNECT)
				rtmp_server_accept_connect(server);
			else if (rc == RTMP_EVENT_PLAY) {
				rtmp_server_reject(server, "no such stream");
				rejected++;
			} else if (rc <= 0)
				break;
		}
		free(copy);
		p = rtmp_session_output(server, &len);
		copy = malloc(len + 1);
		memcpy(copy, p, len);
		rtmp_session_sent(server, len);
		for (used = 0; used < len; used += n) {
			rc = rtmp_session_feed(client, copy + used, len - used, 0, &n, &ev);
			if (rc == RTMP_EVENT_STATUS && ev.error) {
				tc.errors++;
				CHECK_EQ(rtmp_status_error(&ev), RTMP_ENOTFOUND,
				    "StreamNotFound maps to RTMP_ENOTFOUND");
			}
			if (rc <= 0 && used + n >= len)
				break;
		}
		free(copy);
	}
	CHECK(rejected == 1 && tc.errors == 1, "a rejected play reaches the client as an error");
	rtmp_session_free(client);
	rtmp_session_free(server);
}

/* Nested AMF0 in connect ends that session with an error, not the process. */
static void
test_hostile_connect(void)
{
	struct rtmp_config	 c;
	struct rtmp_session	*s;
	struct tally		 t;
	uint8_t			*in, *p;
	size_t			 len, depth = 5000, i, body, off;
	int			 rc;

	in = unit_read_data("captures/librtmp-publish.c2s.bin", &len);
	if (!CHECK(in != NULL, "read librtmp capture"))
		return;
	/* Handshake from the capture, then one command with 5000 nested objects. */
	body = 3 + 7 + 9 + depth * 4;
	p = malloc(3073 + 12 + body + body / 128 + 16);
	memcpy(p, in, 3073);
	off = 3073;
	p[off++] = 0x03;
	memset(p + off, 0, 3);
	p[off + 3] = body >> 16;
	p[off + 4] = body >> 8;
	p[off + 5] = body;
	p[off + 6] = RTMP_MSG_COMMAND_AMF0;
	memset(p + off + 7, 0, 4);
	off += 11;
	{
		uint8_t	*cmd = malloc(body), *q = cmd;

		*q++ = AMF0_STRING; *q++ = 0; *q++ = 7; memcpy(q, "connect", 7); q += 7;
		*q++ = AMF0_NUMBER; memset(q, 0, 8); q += 8;
		for (i = 0; i < depth; i++) {
			/* object { "": object ... } */
			*q++ = AMF0_OBJECT; *q++ = 0; *q++ = 1; *q++ = 'a';
		}
		for (i = 0; (size_t)(q - cmd) < body; i++)
			*q++ = AMF0_NULL;
		for (i = 0; i < body; i += 128) {
			size_t	 n = body - i < 128 ? body - i : 128;

			if (i > 0)
				p[off++] = 0xc3;
			memcpy(p + off, cmd + i, n);
			off += n;
		}
		free(cmd);
	}
	rtmp_config_default(&c, RTMP_ROLE_SERVER);
	s = rtmp_session_new(&c);
	memset(&t, 0, sizeof(t));
	rc = replay(s, p, off, &t);
	CHECK(rc == RTMP_ELIMIT || rc == RTMP_EPROTO, "nesting bomb in connect refused (%d)", rc);
	CHECK_EQ(t.connect, 0, "no connect event for it");
	rtmp_session_free(s);
	free(p);
	free(in);
}

/*
 * The answers a publisher checks: connect's fmsVer, capabilities and
 * objectEncoding, and onFCPublish for librtmp's (OBS's) FCPublish.
 */
static void
test_publish_answers(void)
{
	struct rtmp_config	 c;
	struct rtmp_session	*s;
	struct tally		 t;
	const uint8_t		*out;
	uint8_t			*in;
	size_t			 len, outlen;
	int			 rc;

	in = unit_read_data("captures/librtmp-publish.c2s.bin", &len);
	if (in == NULL)
		return;
	rtmp_config_default(&c, RTMP_ROLE_SERVER);
	c.output_limit = 1u << 20;
	s = rtmp_session_new(&c);
	memset(&t, 0, sizeof(t));
	rc = feed_all(s, in, len, &t, 0);
	out = rtmp_session_output(s, &outlen);
	CHECK(rc == 0 && t.publish == 1, "librtmp publish accepted (%d)", rc);
	CHECK(memmem(out, outlen, "fmsVer", 6) != NULL &&
	    memmem(out, outlen, "capabilities", 12) != NULL &&
	    memmem(out, outlen, "objectEncoding", 14) != NULL,
	    "connect answered with fmsVer, capabilities, objectEncoding");
	CHECK(memmem(out, outlen, "onFCPublish", 11) != NULL,
	    "FCPublish answered with onFCPublish");
	CHECK(memmem(out, outlen, "NetStream.Publish.Start", 23) != NULL,
	    "publish answered with Publish.Start");
	rtmp_session_output_taken(s, outlen);
	CHECK_EQ(rtmp_server_publish_status(s, "error", "NetStream.Publish.Failed",
	    "the output closed"), 0, "a publisher can be told its stream failed");
	out = rtmp_session_output(s, &outlen);
	CHECK(memmem(out, outlen, "NetStream.Publish.Failed", 24) != NULL &&
	    memmem(out, outlen, "the output closed", 17) != NULL, "with code and description");
	rtmp_session_free(s);
	free(in);
}

/*
 * ping_flood: a plain handshake, then Ping Requests fed to s (up to a
 * million) while nothing reads its answers; the last feed's status, and
 * in *pings how many went in.
 */
static int
ping_flood(struct rtmp_session *s, size_t *pings)
{
	static uint8_t		 handshake[1 + 2 * HANDSHAKE_PACKET_SIZE];
	static const uint8_t	 first[] = {
		2, 0, 0, 0, 0, 0, 6, RTMP_MSG_USER_CONTROL, 0, 0, 0, 0,
		0, 6, 0, 0, 0, 1	/* Ping Request */
	};
	static const uint8_t	 next[] = { 0xc2, 0, 6, 0, 0, 0, 2 };
	struct tally		 t;
	int			 rc;

	memset(&t, 0, sizeof(t));
	handshake[0] = 3;
	*pings = 1;
	rc = feed_all(s, handshake, sizeof(handshake), &t, 0);
	CHECK_EQ(t.handshake, 1, "flood: handshake done");
	if (rc == 0)
		rc = feed_all(s, first, sizeof(first), &t, 0);
	while (rc == 0 && *pings < 1000000) {
		rc = feed_all(s, next, sizeof(next), &t, 0);
		(*pings)++;
	}
	return rc;
}

/*
 * A server that floods pings and never reads: the player's session, as
 * client_session_config sets it up for rtmp-dump, queues answers up to its
 * output limit and then ends with RTMP_ELIMIT, never past the limit.  (The
 * fuzzers reach this only rarely: it takes 700 KB of pings.)  A server's
 * session (rtmp-listen, rtmp-relay before play) has a default limit as
 * small: a client flooding pings once grew it to 64 MiB a connection
 * (tests/bats/hostile-servers.bats).
 */
static void
test_ping_flood(int server)
{
	struct client_config	 cc;
	struct rtmp_config	 c;
	struct rtmp_session	*s;
	struct url		 u;
	size_t			 outlen, pings;
	int			 rc;

	if (server) {
		rtmp_config_default(&c, RTMP_ROLE_SERVER);
		CHECK_EQ(c.output_limit, RTMP_SERVER_OUTPUT_LIMIT, "a server's output limit is 1 MiB");
	} else {
		memset(&cc, 0, sizeof(cc));
		if (!CHECK(url_parse("rtmp://127.0.0.1/live/x", &u) == 0, "flood: URL parses"))
			return;
		cc.url = &u;
		client_session_config(&cc, &c);
		c.handshake_plain = 1;
	}
	s = rtmp_session_new(&c);
	rc = ping_flood(s, &pings);
	rtmp_session_output(s, &outlen);
	CHECK_EQ(rc, RTMP_ELIMIT, "%s: a ping flood never read ends with RTMP_ELIMIT",
	    server ? "server" : "player");
	CHECK(outlen <= c.output_limit && outlen + 64 > c.output_limit,
	    "the queue stopped at the %s's %zu bytes (%zu queued)",
	    server ? "server" : "player", c.output_limit, outlen);
	CHECK(pings > c.output_limit / 16, "after %zu pings", pings);
	rtmp_session_free(s);
}

static void
test_data_frame_offset(void)
{
	uint8_t	 sdf[] = { 2, 0, 13, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a',
		    'm', 'e', 2, 0, 1, 'x' };

	CHECK_EQ(rtmp_data_frame_offset(sdf, sizeof(sdf)), 16, "@setDataFrame prefix found");
	CHECK_EQ(rtmp_data_frame_offset(sdf + 16, 4), 0, "no prefix, no offset");
	CHECK_EQ(rtmp_data_frame_offset(sdf, 15), 0, "short input");
}

int
main(void)
{
	test_server_replay();
	test_client_replay();
	test_loopback(1, 0);
	test_loopback(0, 0);
	test_loopback(1, 1);
	test_reject();
	test_hostile_connect();
	test_publish_answers();
	test_ping_flood(0);
	test_ping_flood(1);
	test_data_frame_offset();
	return unit_done();
}
