/*
 * outq.h: one player's queue of bytes to send, made of shared blocks.
 *
 * A relay chunks each media message once into a block (a struct media
 * holding the chunked bytes: a type 0 header on a chunk stream of its own,
 * so the same bytes are right for every player) and pushes a reference
 * onto each player's queue; per-player messages (command answers, control)
 * are blocks with one reference.  outq_iov() gathers the unsent bytes for
 * one writev(2), outq_consume() counts what the kernel took.  Nothing is
 * copied, and a block is freed when the last queue lets go of it.
 *
 * Blocks keep the message's type (8 audio, 9 video, else control),
 * m->flags (MEDIA_KEYFRAME) and m->timestamp (stream ms).  Only audio and
 * video that have not started going out may be dropped: a control block
 * is never dropped, and a block once begun is always finished, so the
 * player's chunk stream stays intact.
 *
 * Slow players.  The queue is bounded in bytes (max_bytes) and in stream
 * time (max_ms between the oldest and newest queued media).  When a push
 * goes past either bound, every queued media block not yet begun is
 * dropped (the pushed one too, unless it is a video keyframe, which then
 * starts the queue afresh), and audio and video are dropped on arrival
 * until the next video keyframe: the player skips ahead to a picture it
 * can decode.  Each such skip counts in q->skips; the caller decides when
 * a player skips too often and should be disconnected.  Control blocks
 * alone past hard_bytes (a player that reads nothing at all while
 * commands pile up) make outq_push() fail with RTMP_ELIMIT.
 *
 * Over TLS a short write has already sealed the first bytes it was
 * offered into a record (conn.h): outq_pin() marks that many unsent bytes
 * at the front as begun, so the skip never drops a block they reach into.
 *
 * No I/O, no clock: time is the stream's own timestamps.
 */
#ifndef RTMPKIT_OUTQ_H
#define RTMPKIT_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "media.h"

struct outq {
	struct media	**ring;
	size_t		  cap;		/* a power of two, or 0 */
	size_t		  head;		/* index of the oldest block */
	size_t		  count;
	size_t		  head_sent;	/* bytes of the oldest block already sent */
	size_t		  bytes;	/* unsent bytes queued */
	size_t		  max_bytes;
	size_t		  hard_bytes;
	uint32_t	  max_ms;
	size_t		  pinned;	/* unsent bytes at the front that must go out as they are */
	int		  skipping;	/* dropping media until a video keyframe */
	uint64_t	  skips;	/* times the player was skipped ahead */
	uint64_t	  dropped;	/* media blocks dropped */
	uint64_t	  dropped_bytes;
};

/* max_ms 0: no time bound.  hard_bytes should exceed max_bytes. */
void	outq_init(struct outq *q, size_t max_bytes, uint32_t max_ms, size_t hard_bytes);
void	outq_free(struct outq *q);
/*
 * Queue a block; the queue takes its own reference when it keeps it.
 * 0 queued, 1 dropped by the slow-player policy, RTMP_ELIMIT (past
 * hard_bytes: disconnect the player) or RTMP_ENOMEM.
 */
int	outq_push(struct outq *q, struct media *m);
/*
 * The unsent bytes, oldest first, as up to max iovecs pointing into the
 * blocks; valid until the next push or consume.  Returns the count used.
 */
int	outq_iov(const struct outq *q, struct iovec *iov, int max);
/* n bytes went out (n at most q->bytes); finished blocks are released. */
void	outq_consume(struct outq *q, size_t n);
/* The first n unsent bytes must go out unchanged (TLS sealed them). */
void	outq_pin(struct outq *q, size_t n);

#endif
