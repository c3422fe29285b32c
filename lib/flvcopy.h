/*
 * flvcopy.h: a copy of a live stream as one FLV to a non-blocking
 * descriptor (rtmp-relay's -o -), which never holds the stream up.
 *
 * Unlike flvout.h, which stops its producer when the reader is slow (back
 * pressure, right for rtmp-listen's one publisher), a copy of a stream
 * that players and destinations share must not stall them: each tag
 * becomes one block of FLV bytes (flvwriter.h: file header, metadata,
 * @setDataFrame stripped) in an outq (outq.h), bounded in bytes and
 * stream time like a player's queue.  A reader that falls behind skips
 * to the next video keyframe; the file header, metadata and sequence
 * headers are never dropped.
 *
 * flvcopy_flush() writes what the descriptor takes and watches it on the
 * loop for the rest.  A write that fails (EPIPE: the reader went away)
 * ends the copy: everything queued is dropped, nothing more is taken, and
 * events->failed says so once, from the loop or from inside
 * flvcopy_flush(), with errno set.  The descriptor stays the caller's;
 * flvcopy_free() puts back its file status flags.
 */
#ifndef RTMPKIT_FLVCOPY_H
#define RTMPKIT_FLVCOPY_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct flvcopy;

struct flvcopy_events {
	void	(*failed)(struct flvcopy *, void *arg);
};

/* NULL when out of memory.  The descriptor is made non-blocking. */
struct flvcopy	*flvcopy_new(struct loop *, int fd, size_t max_bytes, uint32_t max_ms,
		    const struct flvcopy_events *, void *arg);
void		 flvcopy_free(struct flvcopy *);
/* One audio (8), video (9) or data (18) message of the stream. */
void		 flvcopy_message(struct flvcopy *, uint8_t type, uint32_t timestamp,
		    const uint8_t *payload, size_t len);
void		 flvcopy_flush(struct flvcopy *);
size_t		 flvcopy_queued(const struct flvcopy *);
/* 1 once a write failed. */
int		 flvcopy_failed(const struct flvcopy *);
uint64_t	 flvcopy_skips(const struct flvcopy *);

#endif
