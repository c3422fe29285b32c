/*
 * fanout.h: one live stream served to many players, each message chunked
 * once and shared, for rtmp-relay (and rtmp-listen's players).
 *
 * The owner offers every audio, video and data message of the stream
 * with fanout_message().  The fanout inspects it (flv_inspect_video/audio:
 * keyframes and sequence headers, Enhanced RTMP FourCC codecs included),
 * chunks it once per message stream id in use with chunk_encode_block()
 * on RTMP_CSID_BLOCK_AUDIO/VIDEO/DATA, and pushes a reference to the
 * block onto every player's queue (peer_push); nothing is copied per
 * player.  The players' stream ids are lanes: lane 0 is stream id 1,
 * which every common player uses, and exists from the start so that its
 * GOP cache (gop.h) is warm when a player arrives; a player that played
 * on another id opens a lane of its own (at most FANOUT_LANES), which is
 * closed with its last player and has no frame cache: it starts on the
 * next keyframe.  Per lane the stream's metadata and sequence headers are
 * always kept, the headers stamped again at every keyframe with its time,
 * so that a player's first timestamps are the cached GOP's, not the
 * stream's start.
 *
 * Sequence headers and metadata go into the blocks as control blocks
 * (type 0 for outq.h): a player skipped ahead for being slow must still
 * get a decoder configuration that changes, and the time bound must not
 * count a header stamped long before the cached frames.
 *
 * Joining: fanout_join() pushes the lane's start (gop_start: metadata,
 * headers, the frames since the latest keyframe) and flushes it at once,
 * so the first video frame a player sees is a keyframe.  Without cached
 * frames (cache off, or overflowed) a new player gets video only from the
 * next keyframe on; audio flows meanwhile.
 *
 * Writing: pushes only mark players; fanout_flush() writes every marked
 * player with peer_flush() (one writev each).  The owner calls it from
 * loop_before_sleep() when its latency budget says so, fanout_pending()
 * telling how many bytes wait.
 *
 * Slow players: the queue bounds and the skip to the next keyframe are
 * outq.h's (peer_config).  A player that skipped max_skips times without
 * its queue once running empty in between is closed with the reason "too
 * slow: ..." (peer_close; its `closed` callback follows from the loop).
 *
 * Ending: fanout_end() sends every player Stream EOF and
 * Play.UnpublishNotify (rtmp_server_end_play) and peer_finish()es it.
 *
 * Stats: fanout_stats() counts for the stream, fanout_player_stats() for
 * one player (its bytes, queue, skips), so the owner's stats document
 * reads players through this header, not through their structs.
 *
 * Ownership: the fanout never frees a peer; the owner calls
 * fanout_leave() before peer_free() (from the peer's `closed` callback).
 * No logging, no clock: views and counters for the owner's log lines.
 */
#ifndef RTMPKIT_FANOUT_H
#define RTMPKIT_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "gop.h"
#include "media.h"

#define FANOUT_LANES		4
#define FANOUT_LINGER_MS	2000	/* fanout_end(): how long a player may take to hang up */

struct peer;
struct fanout;
struct fanout_player;

struct fanout_config {
	uint32_t	 chunk_size;	/* the players' chunk size (what they were told) */
	int		 gop_cache;	/* 1: cache frames since the last keyframe */
	size_t		 gop_messages;	/* 0: 4096 */
	size_t		 gop_bytes;	/* 0: 16 MiB */
	uint64_t	 max_skips;	/* 0: 5 */
};

struct fanout_stats {
	size_t		 players;
	uint64_t	 joined;
	uint64_t	 messages;	/* offered */
	uint64_t	 keyframes;
	uint64_t	 blocks;	/* chunked (messages times lanes) */
	uint64_t	 pushes;	/* block references queued */
	uint64_t	 dropped;	/* pushes the slow-player policy dropped */
	uint64_t	 too_slow;	/* players closed for skipping too often */
	uint64_t	 flushes;	/* peer_flush() calls */
};

/* One player as the owner's stats show it (fanout_player_stats). */
struct fanout_player_stats {
	uint64_t	 bytes;		/* written to it, all told (peer_bytes_out) */
	size_t		 queued;	/* bytes waiting in its queue */
	uint64_t	 skips;		/* times it was skipped ahead to a keyframe */
	uint64_t	 dropped_bytes;	/* what those skips left out */
	uint32_t	 stream_id;	/* its lane's message stream id */
};

/* NULL when out of memory. */
struct fanout	*fanout_new(const struct fanout_config *);
/* Leaves the peers alone (the owner frees them). */
void		 fanout_free(struct fanout *);

/*
 * One message of the stream: type 8, 9 or 18 (others are ignored, 0).
 * 0, or RTMP_ENOMEM (the message is lost for everybody; the caches
 * stay consistent).
 */
int		 fanout_message(struct fanout *, uint8_t type, uint32_t timestamp,
		    const uint8_t *payload, size_t len);
/*
 * A player whose play on stream_id was accepted: its start is pushed and
 * flushed.  NULL: RTMP_ELIMIT (no lane free) or RTMP_ENOMEM in *error.
 */
struct fanout_player *fanout_join(struct fanout *, struct peer *, uint32_t stream_id,
		    int *error);
void		 fanout_leave(struct fanout *, struct fanout_player *);
/* Write every player pushed to since the last flush. */
void		 fanout_flush(struct fanout *);
/* Bytes pushed since the last fanout_flush() (per player, summed). */
size_t		 fanout_pending(const struct fanout *);
/*
 * A User Control PingRequest to every player, one block for all: players
 * answer it, so a stream whose source pauses does not leave them idle
 * (server.h's idle rule).  0 or RTMP_ENOMEM.
 */
int		 fanout_ping(struct fanout *, uint32_t timestamp);
/* End of the stream for every player (see above). */
void		 fanout_end(struct fanout *);
void		 fanout_stats(const struct fanout *, struct fanout_stats *);
void		 fanout_player_stats(const struct fanout_player *,
		    struct fanout_player_stats *);
/* The latest metadata and sequence headers as payloads (NULL: none yet). */
const struct media *fanout_metadata(const struct fanout *);
const struct media *fanout_video_header(const struct fanout *);
const struct media *fanout_audio_header(const struct fanout *);

#endif
