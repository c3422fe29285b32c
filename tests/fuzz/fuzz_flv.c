/*
 * FLV stream reader, two ways that must agree.  Whole: the header, then
 * flv_parse_tag() in a loop over the input at once, with codec inspection
 * of every audio/video tag and metadata parsing of script tags.  In
 * pieces: as rtmp-pushflv reads a pipe, each piece appended to a struct
 * buf (compacted, reserved, committed), the header and then each tag
 * parsed from what has arrived, "need more" answered with the next piece,
 * a parsed tag consumed.  Both must see the same tags, byte for byte, and
 * end the same way, at the same offset; the buffer's free space is
 * poisoned, so reading past what arrived is an ASan report.  The whole
 * input is also inspected as one bare RTMP media payload.
 *
 * Tags may be as large as FLV allows (FLV_MAX_TAG_SIZE): rtmp-pushflv's
 * limit, 16 MiB, is above what the 24-bit size field can say.
 *
 * Piece sizes come from the last byte of the input (which stays part of
 * the stream): 0 the whole input as one piece, n pieces of 1..16n bytes.
 */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "flv.h"
#include "flvreader.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	size_t		 off;		/* of the tag's data in the input */
	uint32_t	 size, timestamp, previous_size;
	uint8_t		 type;
};

static void
inspect(int type, const uint8_t *p, size_t len)
{
	struct flv_media_info	 m;
	struct flv_metadata	 md;
	int			 r = 0;

	switch (type) {
	case FLV_TAG_VIDEO:
		r = flv_inspect_video(p, len, &m);
		break;
	case FLV_TAG_AUDIO:
		r = flv_inspect_audio(p, len, &m);
		break;
	case FLV_TAG_SCRIPT:
		r = flv_parse_metadata(p, len, &md);
		if (r >= 0 && md.offset > len)
			abort();
		return;
	default:
		return;
	}
	if (r == 0 && m.header_size > len)
		abort();
	if (r != 0 && r != RTMP_EPROTO)
		abort();
	(void)flv_codec_name(r == 0 ? m.codec : -1);
}

/* Poison (or before the buffer changes, unpoison) its free space. */
static void
guard(struct buf *b, int poison)
{
	uint8_t	*space;
	size_t	 avail;

	if (b->data == NULL)
		return;
	space = buf_space(b, &avail);
	if (poison)
		ASAN_POISON_MEMORY_REGION(space, avail);
	else
		ASAN_UNPOISON_MEMORY_REGION(space, avail);
}

/*
 * The input in pieces through flvreader, as rtmp-pushflv and rtmp-relay
 * (flvinput) read a pipe; the same header result
 * hr, the same ntags tags and the same end (result end at offset endoff)
 * as the whole pass, or abort.
 */
static void
pieces(const uint8_t *data, size_t size, int hr, const struct seen *tags,
    size_t ntags, int end, size_t endoff)
{
	struct flvreader	 reader;
	struct flv_tag		 t;
	struct buf		 in;
	uint8_t			*space;
	size_t			 fed = 0, used = 0, n = 0, piece, avail;
	uint32_t		 seed = (uint32_t)size;
	uint8_t			 step = data[size - 1];
	int			 header_done = 0, r, got;

	buf_init(&in, 0);
	flvreader_init(&reader, FLV_MAX_TAG_SIZE);
	for (;;) {
		r = flvreader_next(&reader, buf_data(&in), in.len, &t, &got);
		if (r > 0 && !got) {
			if (header_done || r != hr)
				abort();
			header_done = 1;
		} else if (r > 0) {
			if (!header_done || n >= ntags || t.type != tags[n].type ||
			    t.size != tags[n].size ||
			    t.timestamp != tags[n].timestamp ||
			    t.previous_size != tags[n].previous_size ||
			    memcmp(t.data, data + tags[n].off, t.size) != 0)
				abort();
			n++;
		}
		if (r > 0) {
			guard(&in, 0);
			buf_consume(&in, (size_t)r);
			guard(&in, 1);
			used += (size_t)r;
			continue;
		}
		if (r < 0 || fed == size)
			break;
		/* Need more: the next piece, as a read() of a pipe gives it. */
		seed = seed * 1103515245u + 12345u;
		piece = step == 0 ? size : 1 + (seed >> 16) % (16u * step);
		if (piece > size - fed)
			piece = size - fed;
		guard(&in, 0);
		buf_compact(&in);
		if (buf_reserve(&in, piece) < 0)
			abort();
		space = buf_space(&in, &avail);
		memcpy(space, data + fed, piece);
		buf_commit(&in, piece);
		fed += piece;
		guard(&in, 1);
	}
	/* The same end: the header's verdict, or the tags' and where. */
	if (!header_done ? r != hr : n != ntags || r != end || used != endoff)
		abort();
	guard(&in, 0);
	buf_free(&in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flv_header	 h;
	struct flv_tag		 t;
	struct seen		*tags;
	size_t			 off, ntags = 0;
	int			 hr, r;

	inspect(FLV_TAG_VIDEO, data, size);
	inspect(FLV_TAG_AUDIO, data, size);
	inspect(FLV_TAG_SCRIPT, data, size);
	if (size == 0)
		return 0;

	/* Every tag is at least 15 bytes (header and PreviousTagSize). */
	if ((tags = calloc(size / 15 + 1, sizeof(*tags))) == NULL)
		return 0;
	if ((hr = flv_parse_header(data, size, &h)) <= 0) {
		pieces(data, size, hr, tags, 0, 0, 0);
		free(tags);
		return 0;
	}
	if ((size_t)hr > size)
		abort();
	off = (size_t)hr;
	while ((r = flv_parse_tag(data + off, size - off, FLV_MAX_TAG_SIZE,
	    &t)) > 0) {
		if ((size_t)r > size - off || t.data + t.size > data + size ||
		    (size_t)r != FLV_TAG_HEADER_SIZE + t.size + FLV_PREVIOUS_SIZE)
			abort();
		tags[ntags].off = (size_t)(t.data - data);
		tags[ntags].size = t.size;
		tags[ntags].timestamp = t.timestamp;
		tags[ntags].previous_size = t.previous_size;
		tags[ntags].type = t.type;
		ntags++;
		off += (size_t)r;
		inspect(t.type, t.data, t.size);
	}
	if (r != 0 && r != RTMP_EPROTO)
		abort();
	pieces(data, size, hr, tags, ntags, r, off);
	free(tags);
	return 0;
}
