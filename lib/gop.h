/*
 * gop.h: what a player joining a live stream needs first, kept ready.
 *
 * The cache holds, as shared references (media_ref, never a copy), the
 * stream's metadata, its latest video and audio sequence headers, and the
 * audio and video messages since the latest video keyframe.  gop_start()
 * lists them in the order a new player must get them: metadata, video
 * header, audio header, then the cached messages in arrival order, so the
 * player's first video frame is a keyframe it decodes at once instead of
 * waiting up to a GOP for the next one (nginx-rtmp's behaviour).
 *
 * The cache looks only at m->type (8 audio, 9 video) and m->flags
 * (MEDIA_KEYFRAME, MEDIA_SEQUENCE_HEADER), which the caller sets from
 * flv_inspect_video()/flv_inspect_audio(), so Enhanced RTMP codecs count
 * the same as H.264/AAC.  It never reads the bytes: a relay may cache the
 * messages already chunked, as its players receive them.
 *
 * Bounds, checked before anything is kept: a GOP longer than max_messages
 * or max_bytes is dropped whole, and caching resumes at the next keyframe
 * (a player joining in between waits for it, as without a cache).  Audio
 * before the first video keyframe is not cached: an audio-only stream
 * needs no start point.  A new sequence header empties the cached frames,
 * which belong to the old decoder configuration.  Disabled (enabled 0),
 * only metadata and sequence headers are kept: every player needs those.
 *
 * Single-threaded, no I/O; gop_free() gives back every reference.
 */
#ifndef RTMPKIT_GOP_H
#define RTMPKIT_GOP_H

#include <stddef.h>

#include "media.h"

struct gop {
	struct media	*metadata;
	struct media	*video_header;
	struct media	*audio_header;
	struct media	**frames;	/* since the latest keyframe, in order */
	size_t		 count;
	size_t		 cap;
	size_t		 bytes;		/* sum of frames' len */
	size_t		 max_messages;
	size_t		 max_bytes;
	int		 enabled;
	int		 waiting;	/* no keyframe yet, or the GOP overflowed */
	unsigned long	 overflows;	/* GOPs dropped for size, for stats */
};

void	gop_init(struct gop *g, int enabled, size_t max_messages, size_t max_bytes);
void	gop_free(struct gop *g);
/*
 * Offer one audio or video message; the cache takes its own reference if
 * it keeps it.  Other types are ignored.  0, or RTMP_ENOMEM (the cache is
 * then emptied and waits for a keyframe: still consistent).
 */
int	gop_add(struct gop *g, struct media *m);
/* Replace the metadata (NULL clears it); takes its own reference. */
void	gop_set_metadata(struct gop *g, struct media *m);
/* Drop the cached frames, keep metadata and headers (a publisher left). */
void	gop_clear_frames(struct gop *g);
/*
 * The start sequence, borrowed: up to max pointers into out, valid until
 * the next call that changes the cache (take media_ref on what you keep).
 * Returns how many there are in all; more than max means out was short.
 */
size_t	gop_start(const struct gop *g, struct media **out, size_t max);

#endif
