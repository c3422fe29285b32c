/*
 * test_join.c: a client's session answered by a front, carried over to a
 * backend session by join.c; what the client reads must be what the
 * backend wrote, less what the front already answered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"
#include "buf.h"
#include "chunk.h"
#include "error.h"
#include "handshake.h"
#include "join.h"
#include "rtmp.h"
#include "unit.h"

#define HANDSHAKE_BYTES	(1 + 2 * HANDSHAKE_PACKET_SIZE)

struct side {
	struct rtmp_session	*s;
	int			 front;		/* stops at publish/play without a verdict */
	int			 reject_connect;
	int			 connect, publish, play, connected, ready, errors, stopped;
	int			 audio, video;
	uint32_t		 last_ts;
	int			 ts_wrong;
	size_t			 media_bytes;
};

/* Feed in to a side's session; 0 or the session's error. */
static int
side_feed(struct side *d, const uint8_t *in, size_t len)
{
	struct rtmp_event	 ev;
	size_t			 used = 0, n;
	int			 rc;

	while (!d->stopped) {
		rc = rtmp_session_feed(d->s, in + used, len - used, 0, &n, &ev);
		used += n;
		if (rc < 0)
			return rc;
		if (rc == RTMP_EVENT_NONE)
			return 0;
		switch (rc) {
		case RTMP_EVENT_CONNECT:
			d->connect++;
			if (d->reject_connect)
				rtmp_server_reject(d->s, "go away");
			else
				rtmp_server_accept_connect(d->s);
			break;
		case RTMP_EVENT_PUBLISH:
		case RTMP_EVENT_PLAY:
			if (rc == RTMP_EVENT_PUBLISH)
				d->publish++;
			else
				d->play++;
			if (d->front)
				d->stopped = 1;
			else if (rc == RTMP_EVENT_PUBLISH)
				rtmp_server_accept_publish(d->s);
			else
				rtmp_server_accept_play(d->s);
			break;
		case RTMP_EVENT_CONNECTED:
			d->connected++;
			break;
		case RTMP_EVENT_READY:
			d->ready++;
			break;
		case RTMP_EVENT_STATUS:
			if (ev.error)
				d->errors++;
			break;
		case RTMP_EVENT_MEDIA:
			if (ev.message_type == RTMP_MSG_AUDIO)
				d->audio++;
			else if (ev.message_type == RTMP_MSG_VIDEO)
				d->video++;
			else
				break;
			/* Media goes out at 40 ms steps from 0x00fffff0: the extended field's edge. */
			if (d->audio + d->video > 1 && ev.timestamp != d->last_ts + 40)
				d->ts_wrong++;
			d->last_ts = ev.timestamp;
			d->media_bytes += ev.length;
			break;
		}
	}
	return 0;
}

/* The session's output, taken: a copy in out. */
static void
side_take(struct side *d, struct buf *out)
{
	const uint8_t	*p;
	size_t		 len;

	p = rtmp_session_output(d->s, &len);
	buf_append(out, p, len);
	rtmp_session_sent(d->s, len);
}

static void
side_new(struct side *d, enum rtmp_role role, int publish, uint32_t chunk_size)
{
	struct rtmp_config	 c;

	memset(d, 0, sizeof(*d));
	rtmp_config_default(&c, role);
	if (role == RTMP_ROLE_CLIENT) {
		c.app = "live";
		c.tc_url = "rtmp://127.0.0.1/live";
		c.stream = "cam";
		c.publish = publish;
	}
	c.chunk_size = chunk_size;
	d->s = rtmp_session_new(&c);
}

struct run {
	struct side	 client, front, backend;
	struct join	*join;
	int		 error;
	int		 join_error;
};

/* Client and front up to publish/play; then the join to the backend. */
static void
run_start(struct run *r, int publish, uint32_t backend_chunk_size, int reject)
{
	struct buf	 t, record;
	int		 i;

	memset(r, 0, sizeof(*r));
	side_new(&r->client, RTMP_ROLE_CLIENT, publish, 4096);
	side_new(&r->front, RTMP_ROLE_SERVER, 0, 4096);
	side_new(&r->backend, RTMP_ROLE_SERVER, 0, backend_chunk_size);
	r->front.front = 1;
	r->backend.reject_connect = reject;
	buf_init(&t, 0);
	buf_init(&record, 0);
	for (i = 0; i < 100 && !r->front.stopped; i++) {
		side_take(&r->client, &t);
		buf_append(&record, buf_data(&t), t.len);
		side_feed(&r->front, buf_data(&t), t.len);
		buf_consume(&t, t.len);
		side_take(&r->front, &t);
		side_feed(&r->client, buf_data(&t), t.len);
		buf_consume(&t, t.len);
	}
	CHECK(r->front.stopped && r->client.connected == 1, "front answered up to %s",
	    publish ? "publish" : "play");
	r->join = join_new(buf_data(&record) + HANDSHAKE_BYTES,
	    record.len - HANDSHAKE_BYTES, 4096, &r->join_error);
	CHECK(r->join != NULL, "join made from %zu replay bytes (%d)",
	    record.len - HANDSHAKE_BYTES, r->join_error);
	buf_free(&t);
	buf_free(&record);
}

/* Move bytes every way until nothing moves; 0 or the first error. */
static int
run_pump(struct run *r)
{
	struct buf	 t, toclient;
	const uint8_t	*p;
	size_t		 len;
	int		 i, rc = 0, moved = 1;

	buf_init(&t, 0);
	buf_init(&toclient, 0);
	for (i = 0; i < 1000 && moved && rc == 0; i++) {
		moved = 0;
		p = join_to_backend(r->join, &len);
		if (len > 0) {
			buf_append(&t, p, len);
			join_backend_sent(r->join, len);
		}
		if (len == 0 && join_open(r->join))
			side_take(&r->client, &t);
		if (t.len > 0) {
			moved = 1;
			/* A backend that refused connect errs on what follows: it would hang up. */
			if ((rc = side_feed(&r->backend, buf_data(&t), t.len)) < 0 &&
			    !r->backend.reject_connect)
				break;
			rc = 0;
			buf_consume(&t, t.len);
		}
		side_take(&r->backend, &t);
		if (t.len > 0) {
			moved = 1;
			/* Byte by byte now and then: every cut of a header. */
			if (i % 3 == 1) {
				for (len = 0; len < t.len && rc == 0; len++)
					rc = join_from_backend(r->join, buf_data(&t) + len, 1,
					    &toclient);
			} else
				rc = join_from_backend(r->join, buf_data(&t), t.len, &toclient);
			buf_consume(&t, t.len);
			if (rc < 0)
				break;
		}
		if (toclient.len > 0) {
			if ((rc = side_feed(&r->client, buf_data(&toclient), toclient.len)) < 0)
				break;
			buf_consume(&toclient, toclient.len);
		}
	}
	buf_free(&t);
	buf_free(&toclient);
	return rc;
}

static void
run_free(struct run *r)
{
	join_free(r->join);
	rtmp_session_free(r->client.s);
	rtmp_session_free(r->front.s);
	rtmp_session_free(r->backend.s);
}

static void
test_session(int publish, uint32_t backend_chunk_size)
{
	static uint8_t	 frame[9000];
	struct run	 r;
	struct side	*from, *to;
	int		 i, rc;

	run_start(&r, publish, backend_chunk_size, 0);
	rc = run_pump(&r);
	CHECK_EQ(rc, 0, "%s, backend chunk size %u: joined", publish ? "publish" : "play",
	    backend_chunk_size);
	CHECK(r.backend.connect == 1 && (publish ? r.backend.publish : r.backend.play) == 1,
	    "the backend saw the client's connect and %s", publish ? "publish" : "play");
	CHECK(r.client.connected == 1 && r.client.ready == 1 && r.client.errors == 0,
	    "the client: one connect answer, ready once (%d %d %d)", r.client.connected,
	    r.client.ready, r.client.errors);
	from = publish ? &r.client : &r.backend;
	to = publish ? &r.backend : &r.client;
	for (i = 0; i < 60; i++) {
		memset(frame, i, sizeof(frame));
		rtmp_session_send_media(from->s, i % 2 ? RTMP_MSG_VIDEO : RTMP_MSG_AUDIO,
		    0x00fffff0u + 40u * (uint32_t)i, frame, sizeof(frame) - (size_t)i * 100);
		if (i % 7 == 0 && (rc = run_pump(&r)) < 0)
			break;
	}
	if (rc == 0)
		rc = run_pump(&r);
	CHECK_EQ(rc, 0, "media carried");
	CHECK(to->audio == 30 && to->video == 30 && to->ts_wrong == 0,
	    "every message, timestamps as sent past 2^24 (a %d v %d wrong %d)", to->audio,
	    to->video, to->ts_wrong);
	if (!publish)
		CHECK(join_raw(r.join) == 0 || join_raw(r.join) == 1, "join_raw answers");
	run_free(&r);
}

static void
test_refused(void)
{
	struct run	 r;
	int		 rc;

	run_start(&r, 0, 4096, 1);
	rc = run_pump(&r);
	CHECK_EQ(rc, RTMP_EREFUSED, "a backend's _error to connect ends the join");
	CHECK(strstr(join_reason(r.join), "connect") != NULL, "reason: %s",
	    join_reason(r.join));
	CHECK_EQ(r.client.errors, 0, "the client was told nothing wrong");
	run_free(&r);
}

/* A connect command's message, chunked by a fresh encoder. */
static size_t
connect_replay(uint8_t *out, size_t size, double tid, int create)
{
	struct chunk_encoder	 e;
	struct rtmp_message	 m = { .chunk_stream_id = 3, .type = RTMP_MSG_COMMAND_AMF0 };
	uint8_t			 body[256], *p, *end = body + sizeof(body);
	size_t			 n;
	int			 rc;

	chunk_encoder_init(&e);
	p = amf0_put_cstring(body, end, "connect");
	p = amf0_put_number(p, end, tid);
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "app", "live");
	p = amf0_put_object_end(p, end);
	m.payload = body;
	m.length = (uint32_t)(p - body);
	rc = chunk_encode(&e, &m, out, size);
	n = rc > 0 ? (size_t)rc : 0;
	if (create) {
		p = amf0_put_cstring(body, end, "createStream");
		p = amf0_put_number(p, end, tid + 1);
		p = amf0_put_null(p, end);
		m.length = (uint32_t)(p - body);
		rc = chunk_encode(&e, &m, out + n, size - n);
		n += rc > 0 ? (size_t)rc : 0;
	}
	return n;
}

/* A backend that did the handshake: S0 S1 S2 for the join's C0 C1. */
static void
handshake_backend(struct join *j)
{
	struct handshake_config	 hc = { .role = HANDSHAKE_SERVER };
	static struct handshake	 h;
	struct buf		 junk;
	const uint8_t		*p;
	size_t			 len, used;

	buf_init(&junk, 0);
	handshake_init(&h, &hc);
	p = join_to_backend(j, &len);
	handshake_feed(&h, p, len, &used);
	join_backend_sent(j, len);
	p = handshake_output(&h, &len);
	CHECK_EQ(join_from_backend(j, p, len, &junk), 0, "S0 S1 S2 taken");
	CHECK(join_open(j), "open after the handshake");
	CHECK_EQ(junk.len, 0, "nothing for the client yet");
	buf_free(&junk);
}

static size_t
put_header(uint8_t *p, unsigned fmt, unsigned csid, uint32_t field, uint32_t len,
    uint8_t type, uint32_t msid)
{
	size_t	 n = 0;

	p[n++] = (uint8_t)(fmt << 6 | csid);
	if (fmt == 3)
		return n;
	p[n++] = (uint8_t)((field >= 0xffffff ? 0xffffff : field) >> 16);
	p[n++] = (uint8_t)((field >= 0xffffff ? 0xffffff : field) >> 8);
	p[n++] = (uint8_t)(field >= 0xffffff ? 0xffffff : field);
	if (fmt <= 1) {
		p[n++] = (uint8_t)(len >> 16);
		p[n++] = (uint8_t)(len >> 8);
		p[n++] = (uint8_t)len;
		p[n++] = type;
	}
	if (fmt == 0) {
		p[n++] = (uint8_t)msid;
		p[n++] = (uint8_t)(msid >> 8);
		p[n++] = (uint8_t)(msid >> 16);
		p[n++] = (uint8_t)(msid >> 24);
	}
	if (field >= 0xffffff) {
		p[n++] = (uint8_t)(field >> 24);
		p[n++] = (uint8_t)(field >> 16);
		p[n++] = (uint8_t)(field >> 8);
		p[n++] = (uint8_t)field;
	}
	return n;
}

/* The backend's headers of every kind against a client that saw none of them. */
static void
test_vectors(void)
{
	uint8_t			 replay[512], in[40000], body[300];
	struct rtmp_message	 got[16];
	struct chunk_decoder	 d;
	struct rtmp_message	 m;
	struct join		*j;
	struct buf		 out;
	size_t			 n = 0, rl, used, off;
	uint8_t			*p, *end = body + sizeof(body);
	const uint8_t		*o;
	int			 rc = 0, err, count = 0, i;

	rl = connect_replay(replay, sizeof(replay), 1, 0);
	j = join_new(replay, rl, 128, &err);
	CHECK(j != NULL, "join from a bare connect");
	handshake_backend(j);
	buf_init(&out, 0);
	/* Dropped: chunk size 4096 on csid 2, _result(1) on csid 3 at ts 1000. */
	n += put_header(in + n, 0, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0);
	memcpy(in + n, "\0\0\x10\0", 4);
	n += 4;
	p = amf0_put_cstring(body, end, "_result");
	p = amf0_put_number(p, end, 1);
	p = amf0_put_null(p, end);
	p = amf0_put_null(p, end);
	n += put_header(in + n, 0, 3, 1000, (uint32_t)(p - body), RTMP_MSG_COMMAND_AMF0, 0);
	memcpy(in + n, body, (size_t)(p - body));
	n += (size_t)(p - body);
	/* Type 1 on csid 3 (delta 10 from the dropped 1000): 1010, rewritten. */
	n += put_header(in + n, 1, 3, 10, 20, RTMP_MSG_DATA_AMF0, 0);
	memset(in + n, 'a', 20);
	n += 20;
	/* Type 3 starting a message: +10 again = 1020, rewritten (delta unknown to the client). */
	n += put_header(in + n, 3, 3, 0, 0, 0, 0);
	memset(in + n, 'b', 20);
	n += 20;
	/* Type 2, delta 5: 1025, passes as it is. */
	n += put_header(in + n, 2, 3, 5, 0, 0, 0);
	memset(in + n, 'c', 20);
	n += 20;
	/* Type 3 starting a message, delta 5 again: 1030, now the same for both. */
	n += put_header(in + n, 3, 3, 0, 0, 0, 0);
	memset(in + n, 'd', 20);
	n += 20;
	/* Video past 2^24 on csid 6, 5000 bytes in chunks of 4096, the extended field repeated. */
	n += put_header(in + n, 0, 6, 0x01000000, 5000, RTMP_MSG_VIDEO, 1);
	memset(in + n, 'e', 4096);
	n += 4096;
	n += put_header(in + n, 3, 6, 0, 0, 0, 0);
	memcpy(in + n, "\x01\0\0\0", 4);
	n += 4;
	memset(in + n, 'f', 904);
	n += 904;
	/* Type 1 on csid 6: +40. */
	n += put_header(in + n, 1, 6, 40, 10, RTMP_MSG_VIDEO, 0);
	memset(in + n, 'g', 10);
	n += 10;
	for (off = 0; off < n; off += 7) {
		rc = join_from_backend(j, in + off, n - off < 7 ? n - off : 7, &out);
		if (rc < 0)
			break;
	}
	CHECK_EQ(rc, 0, "the backend's bytes in pieces of 7");
	chunk_decoder_init(&d, NULL);
	o = buf_data(&out);
	off = 0;
	while (off < out.len && count < 16) {
		rc = chunk_decoder_feed(&d, o + off, out.len - off, &used, &m);
		off += used;
		if (rc != CHUNK_MESSAGE)
			break;
		if (m.type == RTMP_MSG_SET_CHUNK_SIZE)
			chunk_decoder_set_chunk_size(&d, (uint32_t)m.payload[0] << 24 |
			    (uint32_t)m.payload[1] << 16 | (uint32_t)m.payload[2] << 8 | m.payload[3]);
		got[count] = m;
		got[count].payload = NULL;
		count++;
	}
	CHECK_EQ(count, 7, "the client decodes 7 messages");
	CHECK(count > 0 && got[0].type == RTMP_MSG_SET_CHUNK_SIZE && got[0].chunk_stream_id == 2,
	    "first our own Set Chunk Size");
	{
		static const uint32_t	 want[6] = { 1010, 1020, 1025, 1030, 0x01000000,
					    0x01000028 };

		for (i = 1; i < count && i <= 6; i++)
			CHECK_EQ(got[i].timestamp, want[i - 1], "message %d's timestamp", i);
	}
	CHECK(count == 7 && got[5].length == 5000 && got[5].stream_id == 1 &&
	    got[6].length == 10 && got[6].stream_id == 1, "the video messages whole");
	CHECK(!join_raw(j), "csid 2 carried our Set Chunk Size: not raw yet");
	/* An acknowledgement with a type 0 header on csid 2 brings it in line. */
	n = put_header(in, 0, 2, 0, 4, RTMP_MSG_ACK, 0);
	memset(in + n, 0, 4);
	CHECK_EQ(join_from_backend(j, in, n + 4, &out), 0, "an acknowledgement");
	CHECK(join_raw(j), "every chunk stream agrees now: raw from here");
	/*
	 * The 3-byte field says "extended" and the extended value is small:
	 * the continuation still repeats it (chunk.h), and must not be read
	 * as body.
	 */
	n = put_header(in, 0, 7, 0, 4200, RTMP_MSG_AUDIO, 1);
	in[1] = in[2] = in[3] = 0xff;
	memcpy(in + n, "\0\0\0\x05", 4);
	n += 4;
	memset(in + n, 'h', 4096);
	n += 4096;
	n += put_header(in + n, 3, 7, 0, 0, 0, 0);
	memcpy(in + n, "\0\0\0\x05", 4);
	n += 4;
	memset(in + n, 'i', 104);
	n += 104;
	n += put_header(in + n, 1, 7, 20, 3, RTMP_MSG_AUDIO, 0);
	memset(in + n, 'j', 3);
	n += 3;
	CHECK_EQ(join_from_backend(j, in, n, &out), 0, "a small extended value, repeated");
	/* From where the decoder stopped: the acknowledgement, then these. */
	o = buf_data(&out);
	count = 0;
	while (off < out.len && count < 4) {
		rc = chunk_decoder_feed(&d, o + off, out.len - off, &used, &m);
		off += used;
		if (rc != CHUNK_MESSAGE)
			break;
		got[count++] = m;
	}
	CHECK(count == 3 && got[0].type == RTMP_MSG_ACK && got[1].length == 4200 &&
	    got[1].timestamp == 5 && got[2].length == 3 && got[2].timestamp == 25,
	    "both messages whole, at 5 and 25 ms (%d)", count);
	chunk_decoder_free(&d);
	buf_free(&out);
	join_free(j);
}

static void
test_bad(void)
{
	uint8_t		 replay[512], in[300];
	struct buf	 out;
	struct join	*j;
	size_t		 n, rl;
	int		 err;

	CHECK(join_new((const uint8_t *)"\x03garbage", 8, 4096, &err) == NULL &&
	    err == RTMP_EINVAL, "a replay without a connect");
	rl = connect_replay(replay, sizeof(replay), 1, 1);
	j = join_new(replay, rl, 4096, &err);
	handshake_backend(j);
	buf_init(&out, 0);
	n = put_header(in, 1, 5, 10, 4, RTMP_MSG_AUDIO, 0);
	CHECK_EQ(join_from_backend(j, in, n, &out), RTMP_EPROTO, "type 1 on a new chunk stream");
	join_free(j);
	j = join_new(replay, rl, 4096, &err);
	handshake_backend(j);
	n = put_header(in, 0, 5, 10, 200, RTMP_MSG_AUDIO, 1);
	n += 128;
	n += put_header(in + n, 0, 5, 10, 100, RTMP_MSG_AUDIO, 1);
	CHECK_EQ(join_from_backend(j, in, n, &out), RTMP_EPROTO, "a new header inside a message");
	join_free(j);
	j = join_new(replay, rl, 4096, &err);
	handshake_backend(j);
	memset(in, 0, sizeof(in));
	n = put_header(in, 0, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0);
	n += 4;
	CHECK_EQ(join_from_backend(j, in, n, &out), RTMP_EPROTO, "chunk size 0");
	CHECK_EQ(out.len, 0, "nothing reached the client while dropping");
	join_free(j);
	buf_free(&out);
}

int
main(void)
{
	test_session(0, 4096);
	test_session(0, 128);
	test_session(1, 4096);
	test_session(1, 1000);
	test_refused();
	test_vectors();
	test_bad();
	return unit_done();
}
