/*
 * fuzz_chunk: fuzzer bytes into a chunk decoder with the limits every
 * session runs with (chunk_limits_default: 16 MiB messages, 64 chunk
 * streams), acting on Set Chunk Size and Abort as the session does.  Every
 * message that comes out is encoded again and decoded by a second decoder,
 * which must give back the same message (a differential check of both
 * directions).
 *
 * Input: one control byte (0: all at once; n: pieces of 1..n bytes), then
 * the chunk stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chunk.h"
#include "error.h"

static void
roundtrip(struct chunk_encoder *e, struct chunk_decoder *d2, struct buf *b,
    const struct rtmp_message *m)
{
	struct rtmp_message	 r;
	size_t			 used;
	uint32_t		 cs;
	int			 rc;

	/* Vary the encoder's chunk size between messages, in step with d2. */
	cs = 1 + (m->timestamp ^ m->length) % 700;
	if (m->type & 1)
		cs = 4096;
	chunk_encoder_set_chunk_size(e, cs);
	if (chunk_decoder_set_chunk_size(d2, cs) < 0)
		abort();
	b->off = b->len = 0;
	rc = chunk_encode_buf(e, m, b);
	if (rc < 0 || (size_t)rc != b->len)
		abort();
	rc = chunk_decoder_feed(d2, buf_data(b), b->len, &used, &r);
	if (rc != CHUNK_MESSAGE || used != b->len)
		abort();
	if (r.chunk_stream_id != m->chunk_stream_id || r.type != m->type ||
	    r.stream_id != m->stream_id || r.timestamp != m->timestamp ||
	    r.length != m->length || memcmp(r.payload, m->payload, m->length) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk_limits	 l;
	struct chunk_decoder	 d, d2;
	struct chunk_encoder	 e;
	struct rtmp_message	 m;
	struct buf		 b;
	size_t			 off = 0, end, used;
	uint32_t		 seed = 1, sum = 0, v, i;
	uint8_t			 step;
	int			 rc = 0;

	if (size < 1)
		return 0;
	step = data[0];
	data++;
	size--;
	chunk_limits_default(&l);
	if (chunk_decoder_init(&d, &l) < 0 || chunk_decoder_init(&d2, NULL) < 0)
		abort();
	chunk_encoder_init(&e);
	buf_init(&b, 0);
	while (off < size && rc >= 0) {
		seed = seed * 1103515245u + 12345u;
		end = step == 0 ? size : off + 1 + (seed >> 16) % step;
		if (end > size)
			end = size;
		while (off < end) {
			rc = chunk_decoder_feed(&d, data + off, end - off, &used, &m);
			if (used > end - off)
				abort();
			off += used;
			if (rc < 0)
				break;
			if (rc == CHUNK_NEED_MORE) {
				if (off != end)
					abort();
				break;
			}
			if (m.length > l.max_message_size || m.payload == NULL)
				abort();
			for (i = 0; i < m.length; i++)	/* the view must be readable */
				sum += m.payload[i];
			roundtrip(&e, &d2, &b, &m);
			if (m.length >= 4 && (m.type == RTMP_MSG_SET_CHUNK_SIZE ||
			    m.type == RTMP_MSG_ABORT)) {
				v = (uint32_t)m.payload[0] << 24 | (uint32_t)m.payload[1] << 16 |
				    (uint32_t)m.payload[2] << 8 | m.payload[3];
				if (m.type == RTMP_MSG_ABORT)
					chunk_decoder_abort(&d, v);
				else if ((rc = chunk_decoder_set_chunk_size(&d, v)) < 0)
					break;
			}
		}
	}
	if (rc >= 0 && d.bytes_in != size)
		abort();
	chunk_decoder_free(&d);
	chunk_decoder_free(&d2);
	buf_free(&b);
	return (int)(sum & 0);
}
