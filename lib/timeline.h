/*
 * timeline.h: one continuous output clock for media that arrives in
 * segments (reconnects, a publisher that restarts at 0, a server that
 * replays), shared by rtmp-dump, rtmp-listen and rtmp-relay.
 *
 * The rule, which test_timeline checks as properties over random input:
 * - output timestamps start at 0 with the first audio or video message and
 *   never step back;
 * - from one audio/video message to the next the step of the input is
 *   kept, except at a splice: after timeline_rebase() (the caller knows a
 *   new segment begins), or a step back of more than TIMELINE_BACKWARD_MS
 *   (a new publisher that starts again), where the output goes on from the
 *   last timestamp given out.  A small step back (audio and video
 *   interleaved a little out of order) is held at the last timestamp;
 * - RTMP's 32-bit milliseconds wrap after 49.7 days
 *   (media_timestamp_wrapped()): there time goes on, nothing is spliced;
 * - script data (metadata, which servers re-send at 0 whenever they like)
 *   never drives a splice and never moves media: it is stamped with the
 *   last media timestamp given out, or 0 before any media.
 *
 * Output is 64-bit so that a caller can tell a wrap of its own output;
 * callers writing FLV or RTMP take the low 32 bits, which wrap as the
 * formats define.  Pure: no I/O, no clock, no allocation.
 */
#ifndef RTMPKIT_TIMELINE_H
#define RTMPKIT_TIMELINE_H

#include <stdint.h>

/* A step back by more than this is a new segment, not reordering. */
#define TIMELINE_BACKWARD_MS	1000

struct timeline {
	int		 started;	/* an audio/video message was seen */
	int		 rebase;	/* the next one starts a new segment */
	int		 spliced;	/* the last call spliced */
	int64_t		 offset;	/* output = input (64-bit) + offset */
	uint32_t	 last_in;	/* last audio/video input timestamp */
	uint64_t	 last_out;	/* last audio/video output timestamp */
};

void		 timeline_init(struct timeline *);
/* The next audio/video message starts a new segment (reconnect, new publisher). */
void		 timeline_rebase(struct timeline *);
/* The output timestamp of an audio or video message stamped ts. */
uint64_t	 timeline_media(struct timeline *, uint32_t ts);
/* The output timestamp of a script data message; changes nothing. */
uint64_t	 timeline_script(const struct timeline *);
/* 1 if the last timeline_media() call spliced (for a log line). */
int		 timeline_spliced(const struct timeline *);

#endif
