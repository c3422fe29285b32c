/*
 * fanout.c: one live stream to many players.
 * See fanout.h for the contract.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "error.h"
#include "fanout.h"
#include "flv.h"
#include "peer.h"
#include "rtmp.h"

TAILQ_HEAD(fanout_players, fanout_player);

struct fanout_lane {
	int			 used;
	uint32_t		 stream_id;
	struct gop		 gop;
	struct fanout_players	 players;
};

struct fanout_player {
	TAILQ_ENTRY(fanout_player) entry;	/* in its lane */
	TAILQ_ENTRY(fanout_player) dirty_entry;
	struct fanout_lane	*lane;
	struct peer		*peer;
	int			 dirty;
	int			 need_keyframe;	/* video from the next keyframe on */
	uint64_t		 skips_base;	/* q->skips when the queue last ran empty */
};

struct fanout {
	struct fanout_config	 config;
	struct fanout_lane	 lanes[FANOUT_LANES];
	struct fanout_players	 dirty;
	size_t			 pending;
	/* Payloads (not blocks) to start a new lane and for publishers' reconnects. */
	struct media		*metadata, *video_header, *audio_header;
	struct media		**start;	/* scratch for gop_start() */
	size_t			 start_cap;
	struct fanout_stats	 stats;
};

static void
fanout_lane_init(struct fanout *f, struct fanout_lane *l, uint32_t stream_id, int cache)
{
	l->used = 1;
	l->stream_id = stream_id;
	gop_init(&l->gop, cache, f->config.gop_messages, f->config.gop_bytes);
	TAILQ_INIT(&l->players);
}

struct fanout *
fanout_new(const struct fanout_config *config)
{
	struct fanout	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->config = *config;
	if (f->config.chunk_size == 0)
		f->config.chunk_size = 4096;
	if (f->config.gop_messages == 0)
		f->config.gop_messages = 4096;
	if (f->config.gop_bytes == 0)
		f->config.gop_bytes = 16u << 20;
	if (f->config.max_skips == 0)
		f->config.max_skips = 5;
	TAILQ_INIT(&f->dirty);
	fanout_lane_init(f, &f->lanes[0], 1, f->config.gop_cache);
	return f;
}

void
fanout_free(struct fanout *f)
{
	struct fanout_player	*p;
	size_t			 i;

	if (f == NULL)
		return;
	for (i = 0; i < FANOUT_LANES; i++) {
		if (!f->lanes[i].used)
			continue;
		while ((p = TAILQ_FIRST(&f->lanes[i].players)) != NULL)
			fanout_leave(f, p);
		gop_free(&f->lanes[i].gop);
	}
	media_unref(f->metadata);
	media_unref(f->video_header);
	media_unref(f->audio_header);
	free(f->start);
	free(f);
}

static void
fanout_mark(struct fanout *f, struct fanout_player *p, size_t len)
{
	f->pending += len;
	if (!p->dirty) {
		p->dirty = 1;
		TAILQ_INSERT_TAIL(&f->dirty, p, dirty_entry);
	}
}

/* Queue one block to one player, and judge whether it keeps up. */
static void
fanout_push(struct fanout *f, struct fanout_player *p, struct media *block)
{
	const struct outq	*q = peer_queue(p->peer);
	uint64_t		 skips = q->skips;
	char			 reason[128];
	int			 rc;

	if (peer_closing(p->peer))
		return;
	/* Caught up: all written, and not left empty by a skip waiting for a keyframe. */
	if (peer_queued(p->peer) == 0 && !q->skipping)
		p->skips_base = q->skips;
	f->stats.pushes++;
	rc = peer_push(p->peer, block);
	if (rc < 0)
		return;		/* the peer closes itself; `closed` follows */
	fanout_mark(f, p, block->len);
	if (rc == 1)
		f->stats.dropped++;
	/* A skip may keep the pushed block (a keyframe starts the queue afresh). */
	if (q->skips != skips && q->skips - p->skips_base >= f->config.max_skips) {
		snprintf(reason, sizeof(reason),
		    "too slow: skipped ahead %llu times without catching up",
		    (unsigned long long)(q->skips - p->skips_base));
		f->stats.too_slow++;
		peer_close(p->peer, RTMP_ELIMIT, reason);
	}
}

static struct media *
fanout_block(struct fanout *f, const struct fanout_lane *l, uint8_t type, uint32_t ts,
    const uint8_t *payload, size_t len, uint8_t flags)
{
	struct rtmp_message	 msg;
	struct media		*b;

	memset(&msg, 0, sizeof(msg));
	msg.chunk_stream_id = type == RTMP_MSG_AUDIO ? RTMP_CSID_BLOCK_AUDIO :
	    type == RTMP_MSG_VIDEO ? RTMP_CSID_BLOCK_VIDEO : RTMP_CSID_BLOCK_DATA;
	msg.type = type;
	msg.stream_id = l->stream_id;
	msg.timestamp = ts;
	msg.length = (uint32_t)len;
	msg.payload = payload;
	if ((b = chunk_encode_block(&msg, f->config.chunk_size)) != NULL) {
		b->flags = flags;
		f->stats.blocks++;
	}
	return b;
}

static void
fanout_remember(struct media **slot, uint8_t type, uint32_t ts, const uint8_t *p,
    size_t len, uint8_t flags)
{
	struct media	*m;

	if ((m = media_new(type, ts, p, len)) == NULL)
		return;
	m->flags = flags;
	media_unref(*slot);
	*slot = m;
}

/* What the message is for the caches: 1 metadata, 2 header, 0 a frame. */
static int
fanout_classify(uint8_t type, const uint8_t **payload, size_t *len, uint8_t *flags)
{
	struct flv_media_info	 info;
	struct flv_metadata	 md;

	*flags = 0;
	switch (type) {
	case RTMP_MSG_VIDEO:
		if (flv_inspect_video(*payload, *len, &info) < 0)
			return 0;
		if (info.sequence_header) {
			*flags = MEDIA_SEQUENCE_HEADER;
			return 2;
		}
		if (info.keyframe && !info.command)
			*flags = MEDIA_KEYFRAME;
		return 0;
	case RTMP_MSG_AUDIO:
		if (flv_inspect_audio(*payload, *len, &info) == 0 && info.sequence_header) {
			*flags = MEDIA_SEQUENCE_HEADER;
			return 2;
		}
		return 0;
	default:
		/* Players get metadata bare, as a file holds it. */
		if (flv_parse_metadata(*payload, *len, &md) == 0) {
			*payload += md.offset;
			*len -= md.offset;
			return 1;
		}
		return 0;
	}
}

/* The lane's caches take the block; a header or metadata becomes a control block. */
static void
fanout_cache(struct fanout_lane *l, struct media *b, int kind)
{
	if (kind == 1)
		gop_set_metadata(&l->gop, b);
	else
		gop_add(&l->gop, b);
	if (kind != 0)
		b->type = 0;
}

/*
 * A new GOP: the lane's start gets the sequence headers stamped with its
 * keyframe's time, or a player's clock (rtmp-dump -d, a recorder) would see
 * the whole stream so far pass between the headers and the first frame.
 * The cached frames are dropped by the keyframe anyway.  Metadata keeps
 * its time: ffmpeg takes script data stamped later than 0 for a data
 * stream of its own, and no clock counts it.
 */
static void
fanout_restamp(struct fanout *f, struct fanout_lane *l, uint32_t ts)
{
	struct media	*seed[2] = { f->video_header, f->audio_header }, *b;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		if (seed[i] == NULL)
			continue;
		if ((b = fanout_block(f, l, seed[i]->type, ts, seed[i]->data, seed[i]->len,
		    seed[i]->flags)) == NULL)
			continue;
		f->stats.blocks--;	/* not a message */
		fanout_cache(l, b, 2);
		media_unref(b);
	}
}

int
fanout_message(struct fanout *f, uint8_t type, uint32_t timestamp, const uint8_t *payload,
    size_t len)
{
	struct fanout_player	*p;
	struct fanout_lane	*l;
	struct media		*b;
	uint8_t			 flags;
	size_t			 i;
	int			 kind, rc = 0;

	if ((type != RTMP_MSG_AUDIO && type != RTMP_MSG_VIDEO && type != RTMP_MSG_DATA_AMF0) ||
	    len == 0 || len > 0xffffff)
		return 0;
	f->stats.messages++;
	kind = fanout_classify(type, &payload, &len, &flags);
	if (flags & MEDIA_KEYFRAME)
		f->stats.keyframes++;
	if (kind == 1)
		fanout_remember(&f->metadata, type, timestamp, payload, len, flags);
	else if (kind == 2)
		fanout_remember(type == RTMP_MSG_VIDEO ? &f->video_header : &f->audio_header,
		    type, timestamp, payload, len, flags);
	for (i = 0; i < FANOUT_LANES; i++) {
		l = &f->lanes[i];
		if (!l->used)
			continue;
		if (flags & MEDIA_KEYFRAME)
			fanout_restamp(f, l, timestamp);
		if ((b = fanout_block(f, l, type, timestamp, payload, len, flags)) == NULL) {
			rc = RTMP_ENOMEM;
			/* A lost frame would break the cached GOP: start it again. */
			gop_clear_frames(&l->gop);
			continue;
		}
		fanout_cache(l, b, kind);
		TAILQ_FOREACH(p, &l->players, entry) {
			if (p->need_keyframe && type == RTMP_MSG_VIDEO && kind == 0) {
				if (!(flags & MEDIA_KEYFRAME))
					continue;
				p->need_keyframe = 0;
			}
			fanout_push(f, p, b);
		}
		media_unref(b);
	}
	return rc;
}

/* A lane of its own for a player on another stream id, seeded with the headers. */
static struct fanout_lane *
fanout_lane(struct fanout *f, uint32_t stream_id)
{
	struct fanout_lane	*l, *free_lane = NULL;
	struct media		*seed[3], *b;
	size_t			 i;

	for (i = 0; i < FANOUT_LANES; i++) {
		l = &f->lanes[i];
		if (l->used && l->stream_id == stream_id)
			return l;
		if (!l->used && free_lane == NULL)
			free_lane = l;
	}
	if ((l = free_lane) == NULL)
		return NULL;
	fanout_lane_init(f, l, stream_id, 0);
	seed[0] = f->metadata;
	seed[1] = f->video_header;
	seed[2] = f->audio_header;
	for (i = 0; i < 3; i++) {
		if (seed[i] == NULL)
			continue;
		b = fanout_block(f, l, seed[i]->type, seed[i]->timestamp, seed[i]->data,
		    seed[i]->len, seed[i]->flags);
		if (b == NULL)
			continue;
		fanout_cache(l, b, i == 0 ? 1 : 2);
		media_unref(b);
	}
	return l;
}

struct fanout_player *
fanout_join(struct fanout *f, struct peer *peer, uint32_t stream_id, int *error)
{
	struct fanout_player	*p;
	struct fanout_lane	*l;
	struct media		**start;
	size_t			 n, i;

	if ((l = fanout_lane(f, stream_id)) == NULL) {
		*error = RTMP_ELIMIT;
		return NULL;
	}
	n = gop_start(&l->gop, f->start, f->start_cap);
	if (n > f->start_cap) {
		if ((start = reallocarray(f->start, n, sizeof(*start))) == NULL)
			goto nomem;
		f->start = start;
		f->start_cap = n;
		gop_start(&l->gop, f->start, f->start_cap);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto nomem;
	p->peer = peer;
	p->lane = l;
	/* No cached keyframe to start on: the next one is the start. */
	p->need_keyframe = l->gop.count == 0;
	TAILQ_INSERT_TAIL(&l->players, p, entry);
	f->stats.players++;
	f->stats.joined++;
	for (i = 0; i < n; i++)
		fanout_push(f, p, f->start[i]);
	/* A new player's picture should not wait for the latency budget. */
	peer_flush(peer);
	f->stats.flushes++;
	return p;
nomem:
	/* An empty extra lane goes again. */
	if (l != &f->lanes[0] && TAILQ_EMPTY(&l->players)) {
		gop_free(&l->gop);
		l->used = 0;
	}
	*error = RTMP_ENOMEM;
	return NULL;
}

void
fanout_leave(struct fanout *f, struct fanout_player *p)
{
	struct fanout_lane	*l;

	if (p == NULL)
		return;
	l = p->lane;
	if (p->dirty)
		TAILQ_REMOVE(&f->dirty, p, dirty_entry);
	TAILQ_REMOVE(&l->players, p, entry);
	f->stats.players--;
	free(p);
	if (l != &f->lanes[0] && TAILQ_EMPTY(&l->players)) {
		gop_free(&l->gop);
		l->used = 0;
	}
}

void
fanout_flush(struct fanout *f)
{
	struct fanout_player	*p;

	while ((p = TAILQ_FIRST(&f->dirty)) != NULL) {
		TAILQ_REMOVE(&f->dirty, p, dirty_entry);
		p->dirty = 0;
		peer_flush(p->peer);
		f->stats.flushes++;
	}
	f->pending = 0;
}

size_t
fanout_pending(const struct fanout *f)
{
	return f->pending;
}

int
fanout_ping(struct fanout *f, uint32_t timestamp)
{
	struct fanout_player	*p;
	struct rtmp_message	 msg;
	struct media		*b;
	uint8_t			 ping[6] = { 0, 6 };	/* event 6: PingRequest */
	size_t			 i;

	ping[2] = (uint8_t)(timestamp >> 24);
	ping[3] = (uint8_t)(timestamp >> 16);
	ping[4] = (uint8_t)(timestamp >> 8);
	ping[5] = (uint8_t)timestamp;
	memset(&msg, 0, sizeof(msg));
	/* Message stream 0 whatever the lane: one block fits every player. */
	msg.chunk_stream_id = RTMP_CSID_BLOCK_DATA;
	msg.type = RTMP_MSG_USER_CONTROL;
	msg.timestamp = timestamp;
	msg.length = sizeof(ping);
	msg.payload = ping;
	if ((b = chunk_encode_block(&msg, f->config.chunk_size)) == NULL)
		return RTMP_ENOMEM;
	for (i = 0; i < FANOUT_LANES; i++)
		if (f->lanes[i].used)
			TAILQ_FOREACH(p, &f->lanes[i].players, entry)
				fanout_push(f, p, b);
	media_unref(b);
	return 0;
}

void
fanout_end(struct fanout *f)
{
	struct fanout_player	*p;
	size_t			 i;

	for (i = 0; i < FANOUT_LANES; i++) {
		if (!f->lanes[i].used)
			continue;
		TAILQ_FOREACH(p, &f->lanes[i].players, entry) {
			if (peer_closing(p->peer))
				continue;
			rtmp_server_end_play(peer_session(p->peer));
			peer_finish(p->peer, FANOUT_LINGER_MS);
		}
	}
}

void
fanout_stats(const struct fanout *f, struct fanout_stats *s)
{
	*s = f->stats;
}

void
fanout_player_stats(const struct fanout_player *p, struct fanout_player_stats *s)
{
	const struct outq	*q = peer_queue(p->peer);

	s->bytes = peer_bytes_out(p->peer);
	s->queued = peer_queued(p->peer);
	s->skips = q->skips;
	s->dropped_bytes = q->dropped_bytes;
	s->stream_id = p->lane->stream_id;
}

const struct media *
fanout_metadata(const struct fanout *f)
{
	return f->metadata;
}

const struct media *
fanout_video_header(const struct fanout *f)
{
	return f->video_header;
}

const struct media *
fanout_audio_header(const struct fanout *f)
{
	return f->audio_header;
}
