/*
 * flvreader.h: an FLV stream read incrementally (a file, a pipe, a
 * socket), shared by rtmp-pushflv and rtmp-relay.
 *
 * Pure: the caller reads bytes into a buffer of its own and offers the
 * unconsumed ones to flvreader_next() again and again.  It returns the
 * bytes it consumed and sets *tag when they were a tag (the file header is
 * consumed without one), 0 when it needs more, or a negative RTMP_E*:
 * RTMP_EPROTO (not FLV, or a tag header that lost sync), RTMP_ELIMIT (a
 * tag larger than max_tag, decided from its header alone, so the caller
 * never has to hold it).  The tag's data is a view into the caller's
 * buffer, valid until the caller consumes or moves it.
 *
 * At the end of input, flvreader_truncated() says whether bytes of a
 * header or tag were left over (the writer was cut off mid-tag).
 */
#ifndef RTMPKIT_FLVREADER_H
#define RTMPKIT_FLVREADER_H

#include <stddef.h>
#include <stdint.h>

#include "flv.h"

struct flvreader {
	uint32_t		 max_tag;
	int			 header_done;
	struct flv_header	 header;
	uint64_t		 tags;
	uint64_t		 bad_previous_sizes;	/* trailers that disagreed (warn, go on) */
};

/* max_tag 0: FLV_MAX_TAG_SIZE. */
void	flvreader_init(struct flvreader *, uint32_t max_tag);
/* Start again at a file header (a file read again from the start). */
void	flvreader_restart(struct flvreader *);
int	flvreader_next(struct flvreader *, const uint8_t *buf, size_t len,
	    struct flv_tag *tag, int *got_tag);
/* Given the bytes left unconsumed at the end of input: 1 if they were cut. */
int	flvreader_truncated(const struct flvreader *, size_t left);

#endif
