/*
 * chunk.h: the RTMP chunk stream, both directions, without I/O.
 *
 * Decoder.  chunk_decoder_feed() takes bytes the caller read and returns
 * at most one complete message per call:
 *   CHUNK_MESSAGE (1)  *msg holds a message; *consumed bytes were used
 *   CHUNK_NEED_MORE (0)  all *consumed bytes were used, none left a message
 *   < 0                  RTMP_EPROTO or RTMP_ELIMIT: end the connection
 * Call again with the unconsumed rest.  msg->payload is a view that stays
 * valid until the next chunk_decoder_feed() or chunk_decoder_free(); it
 * points either into the caller's input (a single-chunk message that was
 * whole in the input) or into the decoder's own reassembly buffer.
 *
 * Partial messages are kept per chunk stream in a table of at most
 * limits.max_chunk_streams entries; their buffers grow as bytes arrive,
 * never by the declared length, and no message may exceed
 * limits.max_message_size.  Timestamps come out absolute (deltas summed,
 * wrapping at 2^32).  Extended timestamps on fmt-3 continuation chunks are
 * accepted both repeated and not repeated.
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
};

void	chunk_limits_default(struct chunk_limits *limits);

struct chunk_stream_state;

struct chunk_decoder {
	struct chunk_limits	 limits;
	uint32_t		 chunk_size;
	uint64_t		 bytes_in;	/* every byte consumed, for acknowledgements */
	struct chunk_stream_state *streams;	/* table of limits.max_chunk_streams */
	uint32_t		 nstreams;
	/* private below: a partially read chunk header */
	uint8_t			 header[CHUNK_MAX_HEADER];
	size_t			 header_len;
	struct chunk_stream_state *current;	/* stream whose chunk body is being read */
	size_t			 body_left;	/* bytes of the current chunk's body still to read */
	int			 last_returned;	/* stream whose buffer the last message used, or -1 */
};

int	chunk_decoder_init(struct chunk_decoder *d, const struct chunk_limits *limits);
void	chunk_decoder_free(struct chunk_decoder *d);
int	chunk_decoder_feed(struct chunk_decoder *d, const uint8_t *buf, size_t len,
	    size_t *consumed, struct rtmp_message *msg);
/* RTMP_EPROTO for 0 or a value with the top bit set; RTMP_ELIMIT outside the limits. */
int	chunk_decoder_set_chunk_size(struct chunk_decoder *d, uint32_t size);
/* Drop the partial message on one chunk stream; unknown ids are ignored. */
void	chunk_decoder_abort(struct chunk_decoder *d, uint32_t chunk_stream_id);

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

void	chunk_encoder_init(struct chunk_encoder *e);
/* Change the size used from the next message on (send Set Chunk Size first). */
void	chunk_encoder_set_chunk_size(struct chunk_encoder *e, uint32_t size);
/* Exact bytes chunk_encode() will write for msg in the encoder's current state. */
size_t	chunk_encoded_size(const struct chunk_encoder *e, const struct rtmp_message *msg);
/*
 * Write msg (msg->payload, msg->length) as chunks into out[0..outsize).
 * Returns bytes written or RTMP_ESPACE (nothing written, state unchanged),
 * RTMP_EINVAL for a chunk stream id outside 2..65599.
 */
int	chunk_encode(struct chunk_encoder *e, const struct rtmp_message *msg,
	    uint8_t *out, size_t outsize);
/* chunk_encode() appended to a buf. */
int	chunk_encode_buf(struct chunk_encoder *e, const struct rtmp_message *msg, struct buf *out);

#endif
