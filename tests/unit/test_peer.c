/*
 * test_peer: the connection driver, both roles, over a socketpair in one
 * loop.  A client-role peer plays from a server-role peer; the server
 * queues shared media blocks behind its own answers and ends the play:
 * the client must read them in exactly that order.  A rejected play is
 * flushed, then closed; `closed` never fires inside the owner's call; a
 * peer freed from inside its own callback does not crash (ASan).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "error.h"
#include "loop.h"
#include "media.h"
#include "peer.h"
#include "rtmp.h"
#include "unit.h"

#define FRAMES	200

struct side {
	struct peer	*peer;
	int		 connect, play, ready, media, eof_after_media, eof_early, errors;
	int		 closed, closed_error, in_push;
	int		 reject, free_on_play;
	uint32_t	 last_ts;
	int		 out_of_order;
	char		 reason[256];
};

static struct side	 server, client;

static void
on_event(struct peer *p, const struct rtmp_event *ev, void *arg)
{
	struct side		*s = arg;
	struct rtmp_session	*session = peer_session(p);

	switch (ev->type) {
	case RTMP_EVENT_CONNECT:
		s->connect++;
		rtmp_server_accept_connect(session);
		break;
	case RTMP_EVENT_PLAY:
		s->play++;
		if (s->free_on_play) {
			peer_free(p);
			s->peer = NULL;
			return;
		}
		if (s->reject) {
			rtmp_server_reject(session, "no such stream");
			peer_finish(p, 2000);
		} else
			rtmp_server_accept_play(session);
		break;
	case RTMP_EVENT_READY:
		s->ready++;
		break;
	case RTMP_EVENT_MEDIA:
		if (ev->message_type != RTMP_MSG_VIDEO)
			break;
		if (s->media > 0 && ev->timestamp != s->last_ts + 40)
			s->out_of_order++;
		s->last_ts = ev->timestamp;
		s->media++;
		break;
	case RTMP_EVENT_STREAM_EOF:
		if (s->media == FRAMES)
			s->eof_after_media++;
		else
			s->eof_early++;
		break;
	case RTMP_EVENT_STATUS:
		if (ev->error)
			s->errors++;
		break;
	}
}

static void
on_closed(struct peer *p, int error, const char *reason, void *arg)
{
	struct side	*s = arg;

	(void)p;
	s->closed++;
	s->closed_error = error;
	if (s->in_push)
		s->closed = -1000;	/* fired inside the owner's call */
	strlcpy(s->reason, reason, sizeof(s->reason));
}

static const struct peer_events	 events = { on_event, NULL, NULL, on_closed };

static void
setup(struct loop *loop, struct side *srv, struct side *cli, size_t hard_bytes)
{
	struct peer_config	 sc, cc;
	int			 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	memset(&sc, 0, sizeof(sc));
	rtmp_config_default(&sc.rtmp, RTMP_ROLE_SERVER);
	sc.queue_hard_bytes = hard_bytes;
	sc.queue_bytes = hard_bytes / 2;
	memset(&cc, 0, sizeof(cc));
	rtmp_config_default(&cc.rtmp, RTMP_ROLE_CLIENT);
	cc.rtmp.app = "live";
	cc.rtmp.tc_url = "rtmp://127.0.0.1/live";
	cc.rtmp.stream = "cam";
	srv->peer = peer_new(loop, sv[0], NULL, &sc, &events, srv);
	cli->peer = peer_new(loop, sv[1], NULL, &cc, &events, cli);
}

static void
run_until(struct loop *loop, int *flag, int want)
{
	int	 i;

	for (i = 0; i < 2000 && *flag < want; i++)
		loop_once(loop, 10);
}

static void
test_order(void)
{
	struct loop		*loop = loop_new();
	struct rtmp_message	 m;
	struct media		*block;
	uint8_t			 frame[3000];
	int			 i, dropped = 0;

	memset(&server, 0, sizeof(server));
	memset(&client, 0, sizeof(client));
	setup(loop, &server, &client, 64u << 20);
	run_until(loop, &client.ready, 1);
	CHECK(server.connect == 1 && server.play == 1 && client.ready == 1,
	    "a client-role peer plays from a server-role peer");
	memset(frame, 0x17, sizeof(frame));
	memset(&m, 0, sizeof(m));
	m.chunk_stream_id = RTMP_CSID_BLOCK_VIDEO;
	m.type = RTMP_MSG_VIDEO;
	m.stream_id = 1;
	m.payload = frame;
	for (i = 0; i < FRAMES; i++) {
		m.timestamp = (uint32_t)i * 40;
		m.length = (uint32_t)(sizeof(frame) - (size_t)i);
		block = chunk_encode_block(&m, 4096);
		server.in_push = 1;
		if (peer_push(server.peer, block) != 0)
			dropped++;
		server.in_push = 0;
		media_unref(block);
		/* The session's own bytes queue between the blocks. */
		if (i == FRAMES - 1)
			rtmp_server_end_play(peer_session(server.peer));
		if (i % 10 == 0)
			peer_flush(server.peer);
	}
	peer_flush(server.peer);
	CHECK_EQ(dropped, 0, "every block queued");
	run_until(loop, &client.eof_after_media, 1);
	CHECK_EQ(client.media, FRAMES, "the client got every frame");
	CHECK_EQ(client.out_of_order, 0, "in order");
	CHECK(client.eof_after_media >= 1 && client.eof_early == 0,
	    "the end of the play came after the last frame, not before");
	CHECK(peer_bytes_out(server.peer) > (uint64_t)FRAMES * 2800,
	    "the session counts the blocks' bytes as sent (%llu)",
	    (unsigned long long)peer_bytes_out(server.peer));
	CHECK_EQ(peer_bytes_out(server.peer), peer_bytes_in(client.peer),
	    "what the server counts sent is what the client read");
	peer_free(server.peer);
	run_until(loop, &client.closed, 1);
	CHECK(client.closed == 1 && client.closed_error == RTMP_ECLOSED,
	    "the other side hanging up is RTMP_ECLOSED (%d: %s)", client.closed_error,
	    client.reason);
	CHECK_EQ(server.closed, 0, "peer_free() does not call closed");
	peer_free(client.peer);
	loop_free(loop);
}

static void
test_reject(void)
{
	struct loop	*loop = loop_new();

	memset(&server, 0, sizeof(server));
	memset(&client, 0, sizeof(client));
	server.reject = 1;
	setup(loop, &server, &client, 1u << 20);
	run_until(loop, &server.closed, 1);
	run_until(loop, &client.closed, 1);
	CHECK(server.play == 1 && client.errors == 1,
	    "a rejected play reaches the client as an error status");
	CHECK(server.closed == 1 && server.closed_error == RTMP_OK &&
	    strcmp(server.reason, "finished") == 0,
	    "the server's finish ends with RTMP_OK once the client hangs up (%s)",
	    server.reason);
	peer_free(server.peer);
	peer_free(client.peer);
	loop_free(loop);
}

static void
test_hopeless_and_free(void)
{
	struct loop		*loop = loop_new();
	struct rtmp_message	 m;
	struct media		*block;
	uint8_t			 frame[10000];
	int			 i, rc = 0;

	/* A player that reads nothing: control blocks pile up past the hard bound. */
	memset(&server, 0, sizeof(server));
	memset(&client, 0, sizeof(client));
	setup(loop, &server, &client, 256 * 1024);
	run_until(loop, &client.ready, 1);
	peer_pause_input(client.peer, 1);
	memset(frame, 0, sizeof(frame));
	memset(&m, 0, sizeof(m));
	m.chunk_stream_id = RTMP_CSID_BLOCK_DATA;
	m.type = RTMP_MSG_DATA_AMF0;
	m.stream_id = 1;
	m.payload = frame;
	m.length = sizeof(frame);
	for (i = 0; i < 2000 && rc >= 0; i++) {
		block = chunk_encode_block(&m, 4096);
		server.in_push = 1;
		rc = peer_push(server.peer, block);
		peer_flush(server.peer);
		server.in_push = 0;
		media_unref(block);
	}
	CHECK_EQ(rc, RTMP_ELIMIT, "a peer that never reads is refused past the hard bound");
	CHECK_EQ(server.closed, 0, "closed does not fire inside peer_push");
	run_until(loop, &server.closed, 1);
	CHECK(server.closed == 1 && server.closed_error == RTMP_ELIMIT,
	    "it fires from the loop, with the limit (%s)", server.reason);
	CHECK(peer_push(server.peer, block = chunk_encode_block(&m, 4096)) == RTMP_ESTATE,
	    "a closed peer takes nothing");
	media_unref(block);
	peer_free(server.peer);
	peer_free(client.peer);

	/* Freed from inside its own event callback. */
	memset(&server, 0, sizeof(server));
	memset(&client, 0, sizeof(client));
	server.free_on_play = 1;
	setup(loop, &server, &client, 1u << 20);
	run_until(loop, &client.closed, 1);
	CHECK(server.play == 1 && server.peer == NULL && client.closed == 1,
	    "a peer freed in its own callback is gone, and its client sees the close");
	peer_free(client.peer);
	loop_free(loop);
}

int
main(void)
{
	test_order();
	test_reject();
	test_hopeless_and_free();
	return unit_done();
}
