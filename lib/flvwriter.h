/*
 * flvwriter.h: RTMP media messages in, one continuous FLV out, shared by
 * rtmp-dump (a file), rtmp-listen (stdout) and rtmp-relay (-o -).
 *
 * The writer decides what belongs in the file and stamps it; it writes
 * nothing itself.  flvwriter_tag() describes one tag as three pieces for
 * the caller to write in order, with writev(2) or into a buffer: head
 * (the FLV file header before the first tag, then the tag header), the
 * payload (a view of the caller's message, never copied) and the 4-byte
 * trailer.  Pure: no I/O, no allocation.
 *
 * What goes in: audio and video; data messages that are onMetaData (bare,
 * or behind "@setDataFrame", which is stripped; AMF3 data loses its format
 * byte).  Other data (|RtmpSampleAccess, onStatus, cue points) and empty
 * or oversized messages are left out (result 0).
 *
 * Timestamps: a timeline (timeline.h) keeps the file's clock continuous
 * across reconnects and publisher restarts; flvwriter_rebase() says the
 * next message starts a new segment.  Script data never moves it.
 *
 * Duration: metadata_offset in the result is where onMetaData's duration
 * double sits in the payload (0: none), so a recorder writing a seekable
 * file can patch it at the end.
 */
#ifndef RTMPKIT_FLVWRITER_H
#define RTMPKIT_FLVWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "flv.h"
#include "timeline.h"

struct flvwriter {
	struct timeline	 timeline;
	int		 header_written;
	uint64_t	 tags;
};

struct flvwriter_tag {
	uint8_t		 head[FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE + FLV_TAG_HEADER_SIZE];
	size_t		 head_len;
	const uint8_t	*payload;
	size_t		 len;
	uint8_t		 trailer[FLV_PREVIOUS_SIZE];
	uint8_t		 type;		/* FLV_TAG_AUDIO, _VIDEO, _SCRIPT */
	uint64_t	 timestamp;	/* output ms (the tag holds the low 32 bits) */
	int		 spliced;	/* the timeline spliced at this tag */
	size_t		 duration_offset;	/* script: duration's place in payload, 0 none */
};

void	flvwriter_init(struct flvwriter *);
void	flvwriter_rebase(struct flvwriter *);
/*
 * One RTMP message (type 8, 9, 18 or 15) as a tag.  1: *tag describes
 * it; 0: it does not belong in the file.
 */
int	flvwriter_tag(struct flvwriter *, uint8_t type, uint32_t timestamp,
	    const uint8_t *payload, size_t len, struct flvwriter_tag *tag);
/* Bytes of the whole tag (head + payload + trailer). */
size_t	flvwriter_tag_size(const struct flvwriter_tag *);

#endif
