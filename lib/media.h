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

/* NULL when out of memory. */
struct media	*media_new(uint8_t type, uint32_t timestamp, const void *data, size_t len);
struct media	*media_ref(struct media *m);
void		 media_unref(struct media *m);

#endif
