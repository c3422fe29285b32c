/*
 * media.h: a reference-counted media payload.
 *
 * One audio, video or data message is allocated once when it arrives and
 * shared by every consumer that queues it (the relay's players, a GOP
 * cache, an FLV writer); nobody copies it per consumer.  media_new()
 * returns a payload with one reference owned by the caller; each holder
 * takes its own with media_ref() and gives it back with media_unref(); the
 * last unref frees it.  The bytes are writable only while the creator holds
 * the sole reference.  Single-threaded: the count is not atomic.
 */
#ifndef RTMPKIT_MEDIA_H
#define RTMPKIT_MEDIA_H

#include <stddef.h>
#include <stdint.h>

struct media {
	uint32_t refs;
	uint8_t	 type;		/* RTMP message type: 8 audio, 9 video, 18 data */
	uint8_t	 flags;		/* MEDIA_KEYFRAME | MEDIA_SEQUENCE_HEADER */
	uint32_t timestamp;	/* ms */
	size_t	 len;
	uint8_t	 data[];
};

#define MEDIA_KEYFRAME		0x01
#define MEDIA_SEQUENCE_HEADER	0x02

/*
 * RTMP and FLV count milliseconds in 32 bits, which wrap after 49.7 days.
 * A step back that is a small step forward modulo 2^32 (at most a minute)
 * is that wrap: time goes on.  Any other step back is a discontinuity (a
 * new publisher, a bad file) for the caller to splice.
 */
#define MEDIA_WRAP_STEP_MS	60000
static inline int
media_timestamp_wrapped(uint32_t previous, uint32_t current)
{
	return current < previous && (uint32_t)(current - previous) <= MEDIA_WRAP_STEP_MS;
}

/* NULL when out of memory. */
struct media	*media_new(uint8_t type, uint32_t timestamp, const void *data, size_t len);
struct media	*media_ref(struct media *m);
void		 media_unref(struct media *m);

#endif
