/*
 * chunk.h: the RTMP chunk stream, both directions, without I/O.
 *
 * Decoder.  chunk_decoder_feed() takes bytes the caller read and returns
 * at most one complete message per call:
 *   CHUNK_MESSAGE (1)  *msg holds a message; *consumed bytes were used
 *   CHUNK_NEED_MORE (0)  all len bytes were used (*consumed == len; a
 *                        partial chunk header is kept inside), no message
 *   < 0                  RTMP_EPROTO, RTMP_ELIMIT or RTMP_ENOMEM: end the
 *                        connection; the decoder is not usable afterwards
 * Call again with the unconsumed rest.  msg->payload is a view that stays
 * valid until the next chunk_decoder_feed() or chunk_decoder_free(); it
 * points either into the caller's input (a single-chunk message that was
 * whole in the input) or into the decoder's own reassembly buffer.  A
 * zero-length message comes out with length 0 (payload non-NULL, not to be
 * read); callers may ignore it.
 *
 * Partial messages are kept per chunk stream in a table of at most
 * limits.max_chunk_streams entries (a new chunk stream beyond it is
 * RTMP_ELIMIT), grown as chunk streams appear, so that a connection
 * using two holds room for a few; their buffers grow as bytes arrive,
 * never by the declared length, and a header declaring more than
 * limits.max_message_size is RTMP_ELIMIT before any byte of its body is
 * stored.  chunk_decoder_init() allocates nothing.
 *
 * Header rules.  A chunk stream must start with a type 0 header (types
 * 1-3 on a never-seen id are RTMP_EPROTO).  While a chunk stream holds a
 * partial message only a type 3 header may continue it: types 0, 1 and 2
 * there are RTMP_EPROTO (a new header inside a message is how length-change
 * overflows happened).  Timestamps come out absolute: type 0 sets it, types
 * 1 and 2 add their delta, wrapping at 2^32.  A type 3 header that starts
 * a new message adds the previous delta again; after a type 0 header that
 * delta is the type 0 timestamp itself (the RTMP spec, ffmpeg and librtmp
 * agree; nginx-rtmp adds 0).  The encoder never relies on this.
 *
 * Extended timestamps.  After a type 0-2 header carrying 0xffffff, peers
 * disagree on whether type 3 chunks repeat the 4-byte extended field
 * (spec, ffmpeg, nginx-rtmp, newer librtmp) or not (librtmp 2.3/2.4).  The
 * decoder peeks: if the 4 bytes after a type 3 basic header equal the last
 * extended value of that chunk stream they are taken as the repeat,
 * otherwise as body.  A body that happens to start with those 4 bytes from
 * a non-repeating peer is misread; no better rule exists.  The peek waits
 * for 4 bytes, so such a chunk is only decoded once 4 bytes follow it.
 *
 * The decoder does not act on control messages: the session layer (rtmp.h)
 * reads Set Chunk Size and Abort and calls chunk_decoder_set_chunk_size()
 * and chunk_decoder_abort().  It only counts bytes fed, for acknowledgements.
 *
 * Encoder.  chunk_encode() writes one message, split into chunks of the
 * encoder's chunk size with compressed headers, into the caller's buffer.
 * chunk_encoded_size() gives the exact size first.  New messages use
 * header types 0, 1 or 2; type 3 is used only for continuation chunks,
 * because peers disagree on what a type-3 header starting a message means.
 */
#ifndef RTMPKIT_CHUNK_H
#define RTMPKIT_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CHUNK_NEED_MORE	0
#define CHUNK_MESSAGE	1

#define CHUNK_DEFAULT_SIZE		128
#define CHUNK_MAX_BASIC_HEADER		3
#define CHUNK_MAX_HEADER		18	/* basic 3 + message 11 + extended 4 */

/* RTMP message types. */
enum rtmp_message_type {
	RTMP_MSG_SET_CHUNK_SIZE = 1,
	RTMP_MSG_ABORT = 2,
	RTMP_MSG_ACK = 3,
	RTMP_MSG_USER_CONTROL = 4,
	RTMP_MSG_WINDOW_ACK_SIZE = 5,
	RTMP_MSG_SET_PEER_BANDWIDTH = 6,
	RTMP_MSG_AUDIO = 8,
	RTMP_MSG_VIDEO = 9,
	RTMP_MSG_DATA_AMF3 = 15,
	RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
	RTMP_MSG_COMMAND_AMF3 = 17,
	RTMP_MSG_DATA_AMF0 = 18,
	RTMP_MSG_SHARED_OBJECT_AMF0 = 19,
	RTMP_MSG_COMMAND_AMF0 = 20,
	RTMP_MSG_AGGREGATE = 22,
};

struct rtmp_message {
	uint32_t	 chunk_stream_id;
	uint8_t		 type;
	uint32_t	 stream_id;
	uint32_t	 timestamp;	/* absolute, ms */
	uint32_t	 length;
	const uint8_t	*payload;
};

struct chunk_limits {
	uint32_t	max_message_size;	/* default 16 MiB: large keyframes at high bitrates */
	uint32_t	max_chunk_streams;	/* default 64 */
	uint32_t	max_chunk_size;		/* largest Set Chunk Size accepted: default 16 MiB */
	uint32_t	min_chunk_size;		/* smallest accepted: default 1 (spec minimum) */
	/*
	 * Most reassembly bytes held across all chunk streams together: 0
	 * means max_message_size + 4 MiB.  Buffers of delivered messages are
	 * given back first; past it the peer is refused with RTMP_ELIMIT.
	 */
	uint32_t	max_buffered;
};

void	chunk_limits_default(struct chunk_limits *limits);

struct chunk_stream_state;

struct chunk_decoder {
	struct chunk_limits	 limits;
	uint32_t		 chunk_size;
	uint64_t		 bytes_in;	/* every byte consumed, for acknowledgements */
	struct chunk_stream_state *streams;	/* grown on demand to max_chunk_streams */
	uint32_t		 nstreams;
	uint32_t		 nalloc;	/* entries allocated in streams */
	/*
	 * Private below.  header[] holds a partially read chunk header, or
	 * (while current is set) up to 3 body bytes a type 3 header's peek
	 * took for an extended timestamp that was not repeated.
	 */
	uint8_t			 header[CHUNK_MAX_HEADER];
	size_t			 header_len;
	struct chunk_stream_state *current;	/* stream whose chunk body is being read */
	size_t			 body_left;	/* bytes of the current chunk's body still to read */
	size_t			 buffered;	/* capacity of every stream's buffer */
	struct chunk_stream_state *delivered;	/* buffer the last message's view points into */
};

int	chunk_decoder_init(struct chunk_decoder *d, const struct chunk_limits *limits);
void	chunk_decoder_free(struct chunk_decoder *d);
int	chunk_decoder_feed(struct chunk_decoder *d, const uint8_t *buf, size_t len,
	    size_t *consumed, struct rtmp_message *msg);
/*
 * RTMP_EPROTO for 0 or a value with the top bit set; RTMP_ELIMIT outside
 * the limits.  Applies from the next chunk on; partial messages on every
 * chunk stream survive it.
 */
int	chunk_decoder_set_chunk_size(struct chunk_decoder *d, uint32_t size);
/*
 * Drop the partial message on one chunk stream; unknown ids and streams
 * without a partial are ignored.  Call it between messages, as the session
 * does after decoding an Abort; the stream's header state stays, so its
 * next message may use a type 1-3 header.
 */
void	chunk_decoder_abort(struct chunk_decoder *d, uint32_t chunk_stream_id);
/* 1 if a header or a message is half read: input ending now would cut it. */
int	chunk_decoder_partial(const struct chunk_decoder *d);

struct chunk_encoder_stream {
	uint32_t	chunk_stream_id;
	uint32_t	stream_id;
	uint32_t	timestamp;
	uint32_t	length;
	uint8_t		type;
	uint8_t		used;
};

#define CHUNK_ENCODER_STREAMS	8

struct chunk_encoder {
	uint32_t			chunk_size;
	struct chunk_encoder_stream	streams[CHUNK_ENCODER_STREAMS];	/* last header per chunk stream */
};

/*
 * Encoder state: the last header sent on up to CHUNK_ENCODER_STREAMS chunk
 * streams.  A chunk stream beyond them takes over a slot (the one at
 * id % CHUNK_ENCODER_STREAMS when all are used) and its message goes out
 * with a type 0 header.  A message gets type 0 on a new chunk stream, a
 * changed message stream id or a timestamp lower than the last one;
 * otherwise type 2 (same length and type) or type 1, with the delta.  A
 * timestamp or delta of 0xffffff or more goes in the 4-byte extended
 * field, repeated on every continuation chunk as Flash, ffmpeg and
 * nginx-rtmp do.
 */
void	chunk_encoder_init(struct chunk_encoder *e);
/*
 * Change the size used from the next message on (send Set Chunk Size
 * first).  Sizes outside 1..0x7fffffff are ignored.
 */
void	chunk_encoder_set_chunk_size(struct chunk_encoder *e, uint32_t size);
/*
 * Exact bytes chunk_encode() will write for msg in the encoder's current
 * state; 0 for a message chunk_encode() would refuse with RTMP_EINVAL.
 */
size_t	chunk_encoded_size(const struct chunk_encoder *e, const struct rtmp_message *msg);
/*
 * Write msg (msg->payload, msg->length) as chunks into out[0..outsize).
 * Returns bytes written or RTMP_ESPACE (nothing written, state unchanged),
 * RTMP_EINVAL for a chunk stream id outside 2..65599 or a length above
 * 0xffffff (the header's 24 bits).
 */
int	chunk_encode(struct chunk_encoder *e, const struct rtmp_message *msg,
	    uint8_t *out, size_t outsize);
/* chunk_encode() appended to a buf. */
int	chunk_encode_buf(struct chunk_encoder *e, const struct rtmp_message *msg, struct buf *out);
/*
 * Chunk msg on its own into a new block for many connections to share
 * (media.h): a type 0 header, then type 3 continuations, as a fresh
 * encoder writes it.  The bytes depend only on msg and chunk_size, so one
 * block is right for every connection that uses chunk_size and sends
 * nothing else on msg's chunk stream id (not one the session's own
 * encoder uses: its type 1/2 headers would be read against the block's); a relay chunks each media
 * message once this way and queues the block to all its players
 * (outq.h).  The block's type and timestamp are msg's, flags 0, one
 * reference for the caller.  NULL for an invalid msg or out of memory.
 */
struct media	*chunk_encode_block(const struct rtmp_message *msg, uint32_t chunk_size);

#endif
