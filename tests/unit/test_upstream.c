/*
 * test_upstream: one restreaming destination against an in-process
 * server (a listener and server-role peers on loopback).  It publishes;
 * the server gets the metadata and headers first, then media from the
 * first keyframe; a server that drops it is reconnected after the backoff
 * and gets the headers again, stamped with the stream's time; a server
 * that stops reading makes it skip to keyframes instead of queueing; the
 * finish unpublishes and says `finished` once.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "listener.h"
#include "loop.h"
#include "peer.h"
#include "rtmp.h"
#include "unit.h"
#include "upstream.h"
#include "url.h"

static const uint8_t metadata[] = {
	2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a',
	8, 0, 0, 0, 0, 0, 0, 9
};
static const uint8_t avc_header[] = { 0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f };
static uint8_t key[20000] = { 0x17, 1 }, inter[4000] = { 0x27, 1 };

struct server {
	struct loop	*loop;
	struct peer	*peer;
	int		 publishes, media, data, first_type, first_video_key, closed;
	uint32_t	 header_ts;
	int		 pause;
};

struct dest {
	int		 ups, downs, finished;
	int64_t		 retry_ms;
};

static void
srv_event(struct peer *p, const struct rtmp_event *ev, void *arg)
{
	struct server	*s = arg;

	switch (ev->type) {
	case RTMP_EVENT_CONNECT:
		rtmp_server_accept_connect(peer_session(p));
		break;
	case RTMP_EVENT_PUBLISH:
		s->publishes++;
		s->media = s->data = 0;
		s->first_type = s->first_video_key = -1;
		rtmp_server_accept_publish(peer_session(p));
		if (s->pause)
			peer_pause_input(p, 1);
		break;
	case RTMP_EVENT_MEDIA:
		if (s->media == 0 && s->data == 0)
			s->first_type = ev->message_type;
		if (ev->message_type == RTMP_MSG_DATA_AMF0) {
			s->data++;
			break;
		}
		if (ev->message_type == RTMP_MSG_VIDEO && ev->length == sizeof(avc_header))
			s->header_ts = ev->timestamp;
		else if (ev->message_type == RTMP_MSG_VIDEO && s->first_video_key < 0)
			s->first_video_key = ev->payload[0] == 0x17;
		s->media++;
		break;
	default:
		break;
	}
}

static void
srv_closed(struct peer *p, int error, const char *reason, void *arg)
{
	struct server	*s = arg;

	(void)error;
	(void)reason;
	s->closed++;
	if (s->peer == p)
		s->peer = NULL;
	peer_free(p);
}

static const struct peer_events srv_events = { .event = srv_event, .closed = srv_closed };

static void
srv_accept(struct listener *l, int fd, struct tls *tls, const char *address, void *arg)
{
	struct server		*s = arg;
	struct peer_config	 pc;

	(void)l;
	(void)address;
	memset(&pc, 0, sizeof(pc));
	rtmp_config_default(&pc.rtmp, RTMP_ROLE_SERVER);
	s->peer = peer_new(s->loop, fd, tls, &pc, &srv_events, s);
}

static void
on_up(struct upstream *u, void *arg)
{
	(void)u;
	((struct dest *)arg)->ups++;
}

static void
on_down(struct upstream *u, int error, const char *reason, int64_t retry_ms, void *arg)
{
	struct dest	*d = arg;

	(void)u;
	(void)error;
	(void)reason;
	d->downs++;
	d->retry_ms = retry_ms;
}

static void
on_finished(struct upstream *u, void *arg)
{
	(void)u;
	((struct dest *)arg)->finished++;
}

static const struct upstream_events events = { on_up, on_down, on_finished };

static void
spin(struct loop *loop, int *flag, int want, int turns)
{
	while (*flag < want && turns-- > 0)
		loop_once(loop, 10);
}

/* One second of stream from ts: a keyframe, then inter frames. */
static void
second(struct loop *loop, struct upstream *u, uint32_t ts, int pump)
{
	int	 i;

	upstream_message(u, 9, ts, key, sizeof(key));
	for (i = 1; i < 30; i++) {
		upstream_message(u, 9, ts + (uint32_t)i * 33, inter, sizeof(inter));
		if (pump)
			loop_once(loop, 0);
	}
}

int
main(void)
{
	struct server		 s;
	struct dest		 d;
	struct listener		*l;
	struct upstream		*u;
	struct upstream_config	 uc;
	struct upstream_stats	 st;
	struct url		 url;
	struct loop		*loop;
	char			 err[256], us[128];
	int			 i;

	signal(SIGPIPE, SIG_IGN);
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	loop = s.loop = loop_new();
	l = listener_new(loop, "127.0.0.1:0", NULL, srv_accept, &s, err, sizeof(err));
	CHECK(l != NULL, "a server listens: %s", l != NULL ? "" : err);
	snprintf(us, sizeof(us), "rtmp://127.0.0.1:%u/live/key123", listener_port(l));
	url_parse(us, &url);
	memset(&uc, 0, sizeof(uc));
	uc.url = &url;
	uc.attempts = -1;
	u = upstream_new(loop, &uc, &events, &d);
	CHECK(strstr(upstream_name(u), "key123") == NULL, "the name hides the stream key: %s",
	    upstream_name(u));
	/* Before it is up: kept, not sent. */
	upstream_message(u, 18, 0, metadata, sizeof(metadata));
	upstream_message(u, 9, 0, avc_header, sizeof(avc_header));
	upstream_start(u);
	spin(loop, &d.ups, 1, 300);
	CHECK_EQ(d.ups, 1, "publishing");
	spin(loop, &s.data, 1, 100);
	CHECK_EQ(s.first_type, RTMP_MSG_DATA_AMF0, "the metadata came first");
	upstream_message(u, 9, 5000, inter, sizeof(inter));	/* no keyframe yet: dropped */
	second(loop, u, 5033, 1);
	for (i = 0; i < 50; i++)
		loop_once(loop, 5);
	CHECK_EQ(s.first_video_key, 1, "the first frame the server got is a keyframe");
	CHECK_EQ(s.media, 1 + 30, "the header and one second of video");

	/* The server drops it: a reconnect after 1 s, headers again. */
	peer_close(s.peer, RTMP_ECLOSED, "test drop");
	spin(loop, &d.downs, 1, 100);
	CHECK(d.downs == 1 && d.retry_ms == 1000, "down, retrying in %lld ms",
	    (long long)d.retry_ms);
	upstream_message(u, 9, 6033, inter, sizeof(inter));
	spin(loop, &d.ups, 2, 300);
	CHECK_EQ(d.ups, 2, "publishing again");
	spin(loop, &s.data, 1, 100);
	CHECK(s.publishes == 2 && s.data == 1, "the metadata again on the new connection");
	spin(loop, &s.media, 1, 100);
	CHECK_EQ(s.header_ts, 6033, "the header stamped with the stream's time");

	/* The server stops reading: skips, never an unbounded queue. */
	s.pause = 1;
	peer_close(s.peer, RTMP_ECLOSED, "test drop");
	spin(loop, &d.ups, 3, 400);
	CHECK_EQ(d.ups, 3, "publishing to the stalled server");
	for (i = 0; i < 60; i++) {
		second(loop, u, 10000 + (uint32_t)i * 1000, 0);
		loop_once(loop, 0);
	}
	upstream_stats(u, &st);
	CHECK(st.skips > 0 && st.dropped > 0, "skipped %llu times, dropped %llu",
	    (unsigned long long)st.skips, (unsigned long long)st.dropped);
	CHECK(st.publishing, "still publishing: behind is not down");
	{
		struct buf	 json;
		char		 text[512];

		buf_init(&json, 4096);
		CHECK_EQ(upstream_json(&json, &u, 1), 0, "the destinations as JSON");
		snprintf(text, sizeof(text), "%.*s", (int)json.len, (const char *)json.data + json.off);
		CHECK(strncmp(text, "[{\"url\":\"rtmp://127.0.0.1:", 26) == 0 &&
		    strstr(text, "key123") == NULL && strstr(text, "\"publishing\":true") != NULL &&
		    strstr(text, "\"skips\":0}") == NULL && text[strlen(text) - 1] == ']',
		    "url without the key, publishing, the skips: %s", text);
		buf_free(&json);
		buf_init(&json, 4096);
		upstream_json(&json, NULL, 0);
		CHECK(json.len == 2 && memcmp(json.data + json.off, "[]", 2) == 0, "none: []");
		buf_free(&json);
	}

	/* It reads again; the finish unpublishes and closes. */
	if (s.peer != NULL)
		peer_pause_input(s.peer, 0);
	upstream_finish(u);
	spin(loop, &d.finished, 1, 400);
	CHECK_EQ(d.finished, 1, "finished once");
	upstream_free(u);
	if (s.peer != NULL)
		peer_free(s.peer);
	listener_free(l);
	loop_free(loop);
	return unit_done();
}
