/*
 * test_fanout: one stream to several players over socketpairs.  A player
 * joining mid-GOP reads metadata, headers, then the cached keyframe first;
 * every player's queue holds the same block, never a copy; a player on
 * another stream id gets its own lane (that id in every header) and starts
 * at the next keyframe, as does every player with the cache off; the
 * pending count and one flush for all; a player that keeps skipping is
 * closed; the end of the stream finishes everyone.
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
#include "fanout.h"
#include "loop.h"
#include "media.h"
#include "peer.h"
#include "rtmp.h"
#include "unit.h"

#define CHUNK	4096

static const uint8_t metadata[] = {
	2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a',
	8, 0, 0, 0, 0, 0, 0, 9
};
static const uint8_t avc_header[] = { 0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f };
static const uint8_t aac_header[] = { 0xaf, 0, 0x11, 0x90 };
static uint8_t key[3000] = { 0x17, 1 }, inter[700] = { 0x27, 1 }, aac[200] = { 0xaf, 1 };

struct player {
	struct peer		*peer;
	int			 fd;		/* the player's end */
	struct chunk_decoder	 dec;
	struct rtmp_message	 got[64];
	uint8_t			 first[64];	/* first payload byte of each */
	int			 n;
	int			 closed;
	char			 reason[256];
};

static void
on_closed(struct peer *p, int error, const char *reason, void *arg)
{
	struct player	*pl = arg;

	(void)p;
	(void)error;
	pl->closed++;
	strlcpy(pl->reason, reason, sizeof(pl->reason));
}

static const struct peer_events events = { .closed = on_closed };

static void
player_open(struct loop *loop, struct player *pl, size_t queue_bytes)
{
	struct peer_config	 pc;
	struct chunk_limits	 lim;
	int			 sv[2];

	memset(pl, 0, sizeof(*pl));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	memset(&pc, 0, sizeof(pc));
	rtmp_config_default(&pc.rtmp, RTMP_ROLE_SERVER);
	pc.rtmp.chunk_size = CHUNK;
	pc.queue_bytes = queue_bytes;
	pl->peer = peer_new(loop, sv[0], NULL, &pc, &events, pl);
	pl->fd = sv[1];
	chunk_limits_default(&lim);
	chunk_decoder_init(&pl->dec, &lim);
	chunk_decoder_set_chunk_size(&pl->dec, CHUNK);
}

/* Read and decode what the peer wrote: messages' headers and first bytes. */
static void
player_read(struct player *pl)
{
	uint8_t			 b[65536];
	struct rtmp_message	 m;
	size_t			 used, off;
	ssize_t			 n;

	while ((n = read(pl->fd, b, sizeof(b))) > 0) {
		for (off = 0; off < (size_t)n; off += used) {
			if (chunk_decoder_feed(&pl->dec, b + off, (size_t)n - off, &used, &m) ==
			    CHUNK_MESSAGE && pl->n < 64) {
				pl->first[pl->n] = m.length > 0 ? m.payload[0] : 0;
				m.payload = NULL;
				pl->got[pl->n++] = m;
			}
		}
	}
}

static void
player_close(struct player *pl)
{
	peer_free(pl->peer);
	close(pl->fd);
	chunk_decoder_free(&pl->dec);
}

static void
offer(struct fanout *f, uint8_t type, uint32_t ts, const uint8_t *p, size_t len)
{
	CHECK_EQ(fanout_message(f, type, ts, p, len), 0, "message type %u at %u offered",
	    type, ts);
}

/* A GOP: a keyframe at ts, then an audio frame and n inter frames. */
static void
gop(struct fanout *f, uint32_t ts, int n)
{
	int	 i;

	offer(f, RTMP_MSG_VIDEO, ts, key, sizeof(key));
	for (i = 1; i <= n; i++) {
		offer(f, RTMP_MSG_AUDIO, ts + i * 33, aac, sizeof(aac));
		offer(f, RTMP_MSG_VIDEO, ts + i * 33, inter, sizeof(inter));
	}
}

int
main(void)
{
	struct loop		*loop = loop_new();
	struct fanout_config	 fc;
	struct fanout_stats	 st;
	struct fanout_player_stats ps;
	struct fanout		*f;
	struct fanout_player	*fp[4];
	struct player		 a, b, c, slow;
	const struct outq	*qa, *qb;
	int			 error, i;

	memset(&fc, 0, sizeof(fc));
	fc.chunk_size = CHUNK;
	fc.gop_cache = 1;
	fc.max_skips = 2;
	f = fanout_new(&fc);
	offer(f, RTMP_MSG_DATA_AMF0, 0, metadata, sizeof(metadata));
	offer(f, RTMP_MSG_VIDEO, 0, avc_header, sizeof(avc_header));
	offer(f, RTMP_MSG_AUDIO, 0, aac_header, sizeof(aac_header));
	gop(f, 0, 5);
	gop(f, 1000, 2);	/* the cache now holds this GOP only */
	CHECK(fanout_video_header(f) != NULL && fanout_audio_header(f) != NULL &&
	    fanout_metadata(f) != NULL, "metadata and headers kept as payloads");

	player_open(loop, &a, 0);
	fp[0] = fanout_join(f, a.peer, 1, &error);
	CHECK(fp[0] != NULL, "a player joins");
	player_read(&a);
	CHECK_EQ(a.n, 3 + 1 + 2 * 2, "metadata, two headers, the cached GOP (5 frames)");
	CHECK_EQ(a.got[0].type, RTMP_MSG_DATA_AMF0, "metadata first");
	CHECK_EQ(a.got[0].chunk_stream_id, RTMP_CSID_BLOCK_DATA, "on the data block id");
	CHECK(a.got[1].type == RTMP_MSG_VIDEO && a.first[1] == 0x17, "then the video header");
	CHECK(a.got[2].type == RTMP_MSG_AUDIO && a.first[2] == 0xaf, "then the audio header");
	CHECK(a.got[1].timestamp == 1000 && a.got[2].timestamp == 1000,
	    "the headers stamped with the cached keyframe's time");
	CHECK(a.got[3].type == RTMP_MSG_VIDEO && a.first[3] == 0x17 &&
	    a.got[3].timestamp == 1000, "then the latest keyframe");
	CHECK_EQ(a.got[3].chunk_stream_id, RTMP_CSID_BLOCK_VIDEO, "video on its block id");
	CHECK_EQ(a.got[3].length, sizeof(key), "whole");
	for (i = 0, error = 0; i < a.n; i++)
		error |= a.got[i].stream_id != 1;
	CHECK(!error, "every message on stream id 1");

	fanout_player_stats(fp[0], &ps);
	CHECK(ps.bytes == peer_bytes_out(a.peer) && ps.bytes > sizeof(key),
	    "a player's stats: the bytes written to it (%llu)", (unsigned long long)ps.bytes);
	CHECK(ps.queued == 0 && ps.skips == 0 && ps.stream_id == 1,
	    "nothing queued after its start, no skip, stream id 1");

	/* Two players: the same block in both queues. */
	player_open(loop, &b, 0);
	fp[1] = fanout_join(f, b.peer, 1, &error);
	player_read(&b);
	CHECK_EQ(b.n, a.n, "the second player gets the same start");
	offer(f, RTMP_MSG_VIDEO, 2000, key, sizeof(key));
	CHECK(fanout_pending(f) > 2 * sizeof(key), "pushed, pending for both: %zu",
	    fanout_pending(f));
	qa = peer_queue(a.peer);
	qb = peer_queue(b.peer);
	CHECK(qa->count == 1 && qb->count == 1 && qa->ring[qa->head] == qb->ring[qb->head],
	    "both queues point at one block");
	CHECK_EQ(qa->ring[qa->head]->refs, 3, "held by two queues and the cache, not copied");
	fanout_flush(f);
	CHECK_EQ(fanout_pending(f), 0, "one flush writes every player");
	player_read(&a);
	player_read(&b);
	CHECK(a.got[a.n - 1].timestamp == 2000 && b.got[b.n - 1].timestamp == 2000,
	    "both read the new keyframe");

	/* Another stream id: a lane of its own, from the next keyframe. */
	player_open(loop, &c, 0);
	fp[2] = fanout_join(f, c.peer, 2, &error);
	CHECK(fp[2] != NULL, "a player on stream id 2 joins");
	player_read(&c);
	CHECK_EQ(c.n, 3, "metadata and headers only: no cache on a new lane");
	CHECK_EQ(c.got[1].stream_id, 2, "on its stream id");
	offer(f, RTMP_MSG_VIDEO, 2033, inter, sizeof(inter));
	offer(f, RTMP_MSG_AUDIO, 2033, aac, sizeof(aac));
	offer(f, RTMP_MSG_VIDEO, 3000, key, sizeof(key));
	fanout_flush(f);
	player_read(&c);
	CHECK_EQ(c.n, 5, "the inter frame skipped, audio and the keyframe read");
	CHECK(c.got[3].type == RTMP_MSG_AUDIO && c.got[4].timestamp == 3000 &&
	    c.got[4].stream_id == 2, "video starts at the keyframe, on stream id 2");
	fanout_stats(f, &st);
	CHECK_EQ(st.players, 3, "three players");
	fanout_leave(f, fp[2]);
	player_close(&c);

	/* A slow player: a small queue that is never read skips, then is closed. */
	player_open(loop, &slow, 65536);
	fp[3] = fanout_join(f, slow.peer, 1, &error);
	memset(&ps, 0, sizeof(ps));
	for (i = 0; i < 40 && !peer_closing(slow.peer); i++) {
		gop(f, 4000 + i * 1000, 20);
		/* What the stats show of it while it is still there. */
		if (!peer_closing(slow.peer))
			fanout_player_stats(fp[3], &ps);
	}
	CHECK(peer_closing(slow.peer), "a player that keeps skipping is closed");
	CHECK(ps.skips >= 1 && ps.dropped_bytes > 0 && ps.queued > 0,
	    "its stats before: %llu skips, %llu bytes dropped, %zu queued",
	    (unsigned long long)ps.skips, (unsigned long long)ps.dropped_bytes, ps.queued);
	fanout_flush(f);
	player_read(&a);
	player_read(&b);
	for (i = 0; i < 20; i++)
		loop_once(loop, 10);
	CHECK_EQ(slow.closed, 1, "its closed callback came from the loop");
	CHECK(strncmp(slow.reason, "too slow", 8) == 0, "with the reason: %s", slow.reason);
	CHECK(!peer_closing(a.peer) && !peer_closing(b.peer), "the others go on");
	fanout_stats(f, &st);
	CHECK_EQ(st.too_slow, 1, "counted");
	fanout_leave(f, fp[3]);
	player_close(&slow);

	/* Read a's backlog first. */
	for (i = 0; i < 1000 && peer_queued(a.peer) > 0; i++) {
		player_read(&a);
		peer_flush(a.peer);
	}
	player_read(&a);
	CHECK_EQ(fanout_ping(f, 123456), 0, "a ping for everyone");
	fanout_flush(f);
	a.n = 0;
	player_read(&a);
	CHECK_EQ(a.n, 1, "one message");
	CHECK(a.got[a.n - 1].type == RTMP_MSG_USER_CONTROL && a.got[a.n - 1].stream_id == 0 &&
	    a.got[a.n - 1].length == 6 && a.first[a.n - 1] == 0, "a User Control ping on stream 0");

	fanout_end(f);
	CHECK(peer_closing(a.peer) && peer_closing(b.peer), "the end finishes every player");
	fanout_leave(f, fp[0]);
	fanout_leave(f, fp[1]);
	player_close(&a);
	player_close(&b);
	fanout_free(f);

	/* The cache off: a new player waits for the next keyframe. */
	fc.gop_cache = 0;
	f = fanout_new(&fc);
	offer(f, RTMP_MSG_VIDEO, 0, avc_header, sizeof(avc_header));
	gop(f, 0, 3);
	player_open(loop, &a, 0);
	fp[0] = fanout_join(f, a.peer, 1, &error);
	offer(f, RTMP_MSG_VIDEO, 200, inter, sizeof(inter));
	offer(f, RTMP_MSG_VIDEO, 1000, key, sizeof(key));
	fanout_flush(f);
	player_read(&a);
	CHECK(a.n == 2 && a.got[0].length == sizeof(avc_header) && a.got[1].timestamp == 1000,
	    "cache off: the header, then video from the next keyframe (%d messages)", a.n);
	fanout_free(f);		/* leaves the peer alone */
	player_close(&a);
	loop_free(loop);
	return unit_done();
}
