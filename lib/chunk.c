/*
 * The RTMP chunk stream: a decoder that reassembles messages from
 * interleaved chunks, and an encoder that splits them.
 *
 * The decoder's hot path is one header parse and one memcpy per chunk; a
 * single-chunk message whole in the input is handed out as a view into it
 * without any copy.  Header bytes split across reads are gathered in
 * d->header; all checks happen before any state changes, so an error
 * leaves the table as it was.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "chunk.h"
#include "error.h"
#include "media.h"

#define EXTENDED		0xffffffu
#define MAX_CHUNK_STREAM_ID	65599u
#define CHUNK_STREAM_IDS	(MAX_CHUNK_STREAM_ID - 1)	/* ids 2..65599 */
#define CHUNK_STREAMS_FIRST	4	/* a player's 2 and 3, a publisher's few more */

struct chunk_stream_state {
	uint32_t	 csid;
	uint32_t	 timestamp;	/* absolute, of the current or last message */
	uint32_t	 delta;		/* what a type 3 header starting a message adds */
	uint32_t	 ext_value;	/* last extended field, when ext */
	uint32_t	 length;
	uint32_t	 stream_id;
	uint32_t	 received;	/* body bytes of the current message so far */
	uint8_t		 type;
	uint8_t		 ext;		/* the last type 0-2 header had 0xffffff */
	uint8_t		 partial;	/* a message is being reassembled */
	uint8_t		*data;
	size_t		 cap;
};

/* What chunk_parse_header() found. */
#define HDR_NEED	0	/* the header is not whole yet */
#define HDR_CHUNK	1	/* a chunk body follows: d->current, d->body_left */
#define HDR_EMPTY	2	/* a zero-length message, whole: d->current */

static const uint8_t	 message_header_size[4] = { 11, 7, 3, 0 };
static const uint8_t	 empty_payload[1];

void
chunk_limits_default(struct chunk_limits *limits)
{
	limits->max_message_size = 16 * 1024 * 1024;
	limits->max_chunk_streams = 64;
	limits->max_chunk_size = 16 * 1024 * 1024;
	limits->min_chunk_size = 1;
}

int
chunk_decoder_init(struct chunk_decoder *d, const struct chunk_limits *limits)
{
	memset(d, 0, sizeof(*d));
	if (limits != NULL)
		d->limits = *limits;
	else
		chunk_limits_default(&d->limits);
	if (d->limits.max_chunk_streams == 0)
		return RTMP_EINVAL;
	/* More entries than there are chunk stream ids is never needed. */
	if (d->limits.max_chunk_streams > CHUNK_STREAM_IDS)
		d->limits.max_chunk_streams = CHUNK_STREAM_IDS;
	if (d->limits.min_chunk_size == 0)
		d->limits.min_chunk_size = 1;
	if (d->limits.max_buffered == 0)
		d->limits.max_buffered = d->limits.max_message_size > UINT32_MAX - (4u << 20) ?
		    UINT32_MAX : d->limits.max_message_size + (4u << 20);
	d->chunk_size = CHUNK_DEFAULT_SIZE;
	return 0;
}

void
chunk_decoder_free(struct chunk_decoder *d)
{
	uint32_t	 i;

	if (d->streams != NULL) {
		for (i = 0; i < d->nstreams; i++)
			free(d->streams[i].data);
		free(d->streams);
	}
	d->streams = NULL;
	d->nstreams = 0;
	d->nalloc = 0;
	d->current = NULL;
	d->delivered = NULL;
	d->header_len = 0;
	d->body_left = 0;
}

/*
 * Sessions use a handful of chunk streams, so a scan of the table is
 * cheaper than any index; the table is bounded by max_chunk_streams.
 */
static inline struct chunk_stream_state *
chunk_find_stream(const struct chunk_decoder *d, uint32_t csid)
{
	struct chunk_stream_state	*st = d->streams, *end;

	/* No table yet: NULL + 0 is undefined behaviour, UBSan says so. */
	if (d->nstreams == 0)
		return NULL;
	for (end = st + d->nstreams; st < end; st++)
		if (st->csid == csid)
			return st;
	return NULL;
}

/*
 * Room for one more chunk stream: the table starts with CHUNK_STREAMS_FIRST
 * entries at the first one and doubles, up to max_chunk_streams, which the
 * caller checked.  Only called between chunks (d->current is NULL); the
 * delivered message's stream moves with the table.
 */
static int
chunk_grow_streams(struct chunk_decoder *d)
{
	struct chunk_stream_state	*t;
	uint32_t			 n;

	n = d->nalloc == 0 ? CHUNK_STREAMS_FIRST : d->nalloc * 2;
	if (n > d->limits.max_chunk_streams)
		n = d->limits.max_chunk_streams;
	if ((t = reallocarray(d->streams, n, sizeof(*t))) == NULL)
		return RTMP_ENOMEM;
	if (d->delivered != NULL)
		d->delivered = t + (d->delivered - d->streams);
	d->streams = t;
	d->nalloc = n;
	return 0;
}

int
chunk_decoder_set_chunk_size(struct chunk_decoder *d, uint32_t size)
{
	if (size == 0 || (size & 0x80000000u) != 0)
		return RTMP_EPROTO;
	if (size > d->limits.max_chunk_size || size < d->limits.min_chunk_size)
		return RTMP_ELIMIT;
	d->chunk_size = size;
	return 0;
}

int
chunk_decoder_partial(const struct chunk_decoder *d)
{
	uint32_t	 i;

	if (d->header_len > 0 || d->current != NULL)
		return 1;
	for (i = 0; i < d->nstreams; i++)
		if (d->streams[i].partial)
			return 1;
	return 0;
}

void
chunk_decoder_abort(struct chunk_decoder *d, uint32_t chunk_stream_id)
{
	struct chunk_stream_state	*st;

	if ((st = chunk_find_stream(d, chunk_stream_id)) == NULL || !st->partial)
		return;
	/* In the middle of this stream's chunk body the bytes must still be read. */
	if (d->current == st)
		return;
	st->partial = 0;
	st->received = 0;
}

/*
 * Parse one chunk header from p[0..have).  On HDR_CHUNK or HDR_EMPTY the
 * header was *hlen bytes and the stream state is updated; on HDR_NEED or an
 * error nothing changed.
 */
static int
chunk_parse_header(struct chunk_decoder *d, const uint8_t *p, size_t have, size_t *hlen)
{
	struct chunk_stream_state	*st;
	const uint8_t			*q;
	uint32_t			 csid, field, value, length = 0;
	size_t				 bh, need;
	unsigned int			 fmt;
	int				 rc;

	if (have == 0)
		return HDR_NEED;
	fmt = p[0] >> 6;
	csid = p[0] & 0x3f;
	bh = 1;
	if (csid == 0) {
		if (have < 2)
			return HDR_NEED;
		csid = 64 + (uint32_t)p[1];
		bh = 2;
	} else if (csid == 1) {
		if (have < 3)
			return HDR_NEED;
		csid = 64 + (uint32_t)p[1] + ((uint32_t)p[2] << 8);
		bh = 3;
	}
	need = bh + message_header_size[fmt];
	if (have < need)
		return HDR_NEED;
	st = chunk_find_stream(d, csid);
	if (st == NULL) {
		if (fmt != 0)
			return RTMP_EPROTO;
	} else if (st->partial && fmt != 3)
		return RTMP_EPROTO;

	if (fmt == 3) {
		if (st->ext) {
			if (have < bh + 4)
				return HDR_NEED;
			if (bytes_get32(p + bh) == st->ext_value)
				need = bh + 4;
		}
		*hlen = need;
		d->current = st;
		if (st->partial) {
			d->body_left = st->length - st->received;
			if (d->body_left > d->chunk_size)
				d->body_left = d->chunk_size;
			return HDR_CHUNK;
		}
		st->timestamp += st->delta;
		goto new_message;
	}

	q = p + bh;
	field = bytes_get24(q);
	value = field;
	if (field == EXTENDED) {
		need += 4;
		if (have < need)
			return HDR_NEED;
		value = bytes_get32(p + need - 4);
	}
	if (fmt <= 1) {
		length = bytes_get24(q + 3);
		if (length > d->limits.max_message_size)
			return RTMP_ELIMIT;
	}
	if (st == NULL) {
		if (d->nstreams >= d->limits.max_chunk_streams)
			return RTMP_ELIMIT;
		if (d->nstreams == d->nalloc && (rc = chunk_grow_streams(d)) < 0)
			return rc;
		st = &d->streams[d->nstreams++];
		memset(st, 0, sizeof(*st));
		st->csid = csid;
	}
	*hlen = need;
	d->current = st;
	switch (fmt) {
	case 0:
		st->timestamp = value;
		st->delta = value;
		st->length = length;
		st->type = q[6];
		st->stream_id = bytes_get32le(q + 7);
		break;
	case 1:
		st->timestamp += value;
		st->delta = value;
		st->length = length;
		st->type = q[6];
		break;
	default:
		st->timestamp += value;
		st->delta = value;
		break;
	}
	st->ext = field == EXTENDED;
	st->ext_value = value;
new_message:
	st->received = 0;
	if (st->length == 0) {
		st->partial = 0;
		return HDR_EMPTY;
	}
	st->partial = 1;
	d->body_left = st->length < d->chunk_size ? st->length : d->chunk_size;
	return HDR_CHUNK;
}

/*
 * A delivered message's buffer is kept for the next message on its chunk
 * stream only between these sizes: a publisher's media, reassembled again
 * and again.  Past the top it is a rare big one; up to the bottom it is a
 * command or an audio frame, cheap to gather again, and a player's
 * connect would otherwise sit in memory for the whole connection.
 */
#define CHUNK_KEEP_MIN		4096
#define CHUNK_KEEP_BUFFER	(256 * 1024)

static void
chunk_release(struct chunk_decoder *d, struct chunk_stream_state *st)
{
	d->buffered -= st->cap;
	free(st->data);
	st->data = NULL;
	st->cap = 0;
}

/*
 * Give back the buffers of streams that hold no partial message.  Called
 * inside a feed, when no earlier message's view is valid any more.
 */
static void
chunk_release_idle(struct chunk_decoder *d, struct chunk_stream_state *keep)
{
	uint32_t	 i;

	for (i = 0; i < d->nstreams; i++)
		if (&d->streams[i] != keep && !d->streams[i].partial &&
		    d->streams[i].data != NULL)
			chunk_release(d, &d->streams[i]);
}

/* Copy body bytes into the stream's buffer, growing it by what arrived. */
static int
chunk_append(struct chunk_decoder *d, struct chunk_stream_state *st, const uint8_t *p, size_t n)
{
	size_t	 need = (size_t)st->received + n, cap;
	uint8_t	*data;

	if (n == 0)		/* st->data may still be NULL: no NULL + 0 */
		return 0;
	if (need > st->cap) {
		cap = st->cap < 256 ? 256 : st->cap;
		while (cap < need)
			cap *= 2;
		if (cap > st->length)
			cap = st->length;
		if (d->buffered - st->cap + cap > d->limits.max_buffered) {
			chunk_release_idle(d, st);
			if (d->buffered - st->cap + cap > d->limits.max_buffered)
				return RTMP_ELIMIT;
		}
		if ((data = realloc(st->data, cap)) == NULL)
			return RTMP_ENOMEM;
		d->buffered += cap - st->cap;
		st->data = data;
		st->cap = cap;
	}
	memcpy(st->data + st->received, p, n);
	st->received += (uint32_t)n;
	return 0;
}

static void
chunk_fill_message(const struct chunk_stream_state *st, const uint8_t *payload,
    struct rtmp_message *msg)
{
	msg->chunk_stream_id = st->csid;
	msg->type = st->type;
	msg->stream_id = st->stream_id;
	msg->timestamp = st->timestamp;
	msg->length = st->length;
	msg->payload = payload;
}

int
chunk_decoder_feed(struct chunk_decoder *d, const uint8_t *buf, size_t len,
    size_t *consumed, struct rtmp_message *msg)
{
	struct chunk_stream_state	*st;
	uint8_t				 tmp[CHUNK_MAX_HEADER];
	size_t				 pos = 0, hlen = 0, n, old;
	int				 rc;

	/* No arithmetic on a null pointer, even for an empty feed. */
	if (buf == NULL)
		buf = empty_payload;
	/* The last message's view is dead now: a big buffer it lived in goes back. */
	if (d->delivered != NULL && !d->delivered->partial &&
	    (d->delivered->cap > CHUNK_KEEP_BUFFER || d->delivered->cap <= CHUNK_KEEP_MIN))
		chunk_release(d, d->delivered);
	d->delivered = NULL;
	for (;;) {
		if (d->current == NULL) {
			if (d->header_len == 0) {
				rc = chunk_parse_header(d, buf + pos, len - pos, &hlen);
				if (rc == HDR_NEED) {
					/* Shorter than the longest header: it fits. */
					memcpy(d->header, buf + pos, len - pos);
					d->header_len = len - pos;
					pos = len;
					rc = CHUNK_NEED_MORE;
					goto out;
				}
				if (rc < 0)
					goto out;
				pos += hlen;
			} else {
				old = d->header_len;
				n = sizeof(tmp) - old;
				if (n > len - pos)
					n = len - pos;
				memcpy(tmp, d->header, old);
				memcpy(tmp + old, buf + pos, n);
				rc = chunk_parse_header(d, tmp, old + n, &hlen);
				if (rc == HDR_NEED) {
					memcpy(d->header + old, buf + pos, n);
					d->header_len += n;
					pos += n;
					rc = CHUNK_NEED_MORE;
					goto out;
				}
				if (rc < 0)
					goto out;
				if (hlen >= old) {
					pos += hlen - old;
					d->header_len = 0;
				} else {
					/* The peek kept body bytes: they are read first. */
					memmove(d->header, d->header + hlen, old - hlen);
					d->header_len = old - hlen;
				}
			}
			if (rc == HDR_EMPTY) {
				chunk_fill_message(d->current, empty_payload, msg);
				d->current = NULL;
				rc = CHUNK_MESSAGE;
				goto out;
			}
		}

		st = d->current;
		if (d->header_len > 0) {
			n = d->header_len < d->body_left ? d->header_len : d->body_left;
			if ((rc = chunk_append(d, st, d->header, n)) < 0)
				goto out;
			memmove(d->header, d->header + n, d->header_len - n);
			d->header_len -= n;
		} else {
			n = len - pos;
			if (n == 0) {
				rc = CHUNK_NEED_MORE;
				goto out;
			}
			if (st->received == 0 && d->body_left == st->length &&
			    n >= d->body_left) {
				/* A whole single-chunk message: no copy. */
				chunk_fill_message(st, buf + pos, msg);
				pos += d->body_left;
				d->body_left = 0;
				d->current = NULL;
				st->partial = 0;
				rc = CHUNK_MESSAGE;
				goto out;
			}
			if (n > d->body_left)
				n = d->body_left;
			if ((rc = chunk_append(d, st, buf + pos, n)) < 0)
				goto out;
			pos += n;
		}
		d->body_left -= n;
		if (d->body_left > 0)
			continue;
		d->current = NULL;
		if (st->received == st->length) {
			st->partial = 0;
			chunk_fill_message(st, st->data, msg);
			d->delivered = st;
			rc = CHUNK_MESSAGE;
			goto out;
		}
	}
out:
	*consumed = pos;
	d->bytes_in += pos;
	return rc;
}

/* Encoder. */

void
chunk_encoder_init(struct chunk_encoder *e)
{
	memset(e, 0, sizeof(*e));
	e->chunk_size = CHUNK_DEFAULT_SIZE;
}

void
chunk_encoder_set_chunk_size(struct chunk_encoder *e, uint32_t size)
{
	if (size >= 1 && size <= 0x7fffffffu)
		e->chunk_size = size;
}

struct plan {
	size_t				 slot;	/* index in e->streams */
	unsigned int			 fmt;
	uint32_t			 value;	/* timestamp or delta */
	size_t				 basic;	/* basic header bytes */
	size_t				 ext;	/* 4 with an extended field, else 0 */
	size_t				 size;	/* everything chunk_encode() writes */
};

static int
chunk_plan_message(const struct chunk_encoder *e, const struct rtmp_message *m,
    struct plan *pl)
{
	const struct chunk_encoder_stream	*s, *slot = NULL;
	size_t					 i, chunks, free_slot = SIZE_MAX;
	uint32_t				 csid = m->chunk_stream_id;

	if (csid < 2 || csid > MAX_CHUNK_STREAM_ID || m->length > EXTENDED ||
	    (m->length > 0 && m->payload == NULL))
		return RTMP_EINVAL;
	for (i = 0; i < CHUNK_ENCODER_STREAMS; i++) {
		s = &e->streams[i];
		if (s->used && s->chunk_stream_id == csid) {
			slot = s;
			break;
		}
		if (!s->used && free_slot == SIZE_MAX)
			free_slot = i;
	}
	pl->fmt = 0;
	pl->value = m->timestamp;
	if (slot != NULL && slot->stream_id == m->stream_id &&
	    m->timestamp >= slot->timestamp) {
		pl->value = m->timestamp - slot->timestamp;
		pl->fmt = slot->length == m->length && slot->type == m->type ? 2 : 1;
	}
	if (slot != NULL)
		pl->slot = (size_t)(slot - e->streams);
	else if (free_slot != SIZE_MAX)
		pl->slot = free_slot;
	else
		pl->slot = csid % CHUNK_ENCODER_STREAMS;
	pl->basic = csid < 64 ? 1 : csid < 320 ? 2 : 3;
	pl->ext = pl->value >= EXTENDED ? 4 : 0;
	chunks = m->length == 0 ? 1 : (m->length + (size_t)e->chunk_size - 1) / e->chunk_size;
	pl->size = pl->basic + message_header_size[pl->fmt] + pl->ext + m->length +
	    (chunks - 1) * (pl->basic + pl->ext);
	return 0;
}

size_t
chunk_encoded_size(const struct chunk_encoder *e, const struct rtmp_message *msg)
{
	struct plan	 pl;

	if (chunk_plan_message(e, msg, &pl) < 0)
		return 0;
	return pl.size;
}

static inline uint8_t *
chunk_put_basic(uint8_t *p, unsigned int fmt, uint32_t csid)
{
	if (csid < 64) {
		*p++ = fmt << 6 | csid;
	} else if (csid < 320) {
		*p++ = fmt << 6;
		*p++ = csid - 64;
	} else {
		*p++ = fmt << 6 | 1;
		*p++ = (csid - 64) & 0xff;
		*p++ = (csid - 64) >> 8;
	}
	return p;
}

int
chunk_encode(struct chunk_encoder *e, const struct rtmp_message *msg,
    uint8_t *out, size_t outsize)
{
	struct chunk_encoder_stream	*s;
	struct plan			 pl;
	uint8_t				*p = out;
	size_t				 off, n;
	uint32_t			 csid = msg->chunk_stream_id;
	int				 rc;

	if ((rc = chunk_plan_message(e, msg, &pl)) < 0)
		return rc;
	if (pl.size > outsize)
		return RTMP_ESPACE;
	if (pl.size > INT_MAX)
		return RTMP_EINVAL;
	p = chunk_put_basic(p, pl.fmt, csid);
	if (pl.fmt <= 2)
		p = bytes_put24(p, pl.ext ? EXTENDED : pl.value);
	if (pl.fmt <= 1) {
		p = bytes_put24(p, msg->length);
		*p++ = msg->type;
	}
	if (pl.fmt == 0) {
		p = bytes_put32le(p, msg->stream_id);
	}
	if (pl.ext)
		p = bytes_put32(p, pl.value);
	for (off = 0;;) {
		n = msg->length - off;
		if (n > e->chunk_size)
			n = e->chunk_size;
		if (n > 0)
			memcpy(p, msg->payload + off, n);
		p += n;
		off += n;
		if (off >= msg->length)
			break;
		p = chunk_put_basic(p, 3, csid);
		if (pl.ext)
			p = bytes_put32(p, pl.value);
	}
	s = &e->streams[pl.slot];
	s->chunk_stream_id = csid;
	s->stream_id = msg->stream_id;
	s->timestamp = msg->timestamp;
	s->length = msg->length;
	s->type = msg->type;
	s->used = 1;
	return (int)(p - out);
}

int
chunk_encode_buf(struct chunk_encoder *e, const struct rtmp_message *msg, struct buf *out)
{
	uint8_t	*p;
	size_t	 size, avail;
	int	 rc;

	if ((size = chunk_encoded_size(e, msg)) == 0)
		return RTMP_EINVAL;
	if ((rc = buf_reserve(out, size)) < 0)
		return rc;
	p = buf_space(out, &avail);
	if ((rc = chunk_encode(e, msg, p, avail)) > 0)
		buf_commit(out, (size_t)rc);
	return rc;
}

struct media *
chunk_encode_block(const struct rtmp_message *msg, uint32_t chunk_size)
{
	struct chunk_encoder	 e;
	struct media		*m;
	size_t			 size;

	chunk_encoder_init(&e);
	chunk_encoder_set_chunk_size(&e, chunk_size);
	if ((size = chunk_encoded_size(&e, msg)) == 0 ||
	    (m = media_new(msg->type, msg->timestamp, NULL, size)) == NULL)
		return NULL;
	if (chunk_encode(&e, msg, m->data, size) != (int)size) {
		media_unref(m);
		return NULL;
	}
	return m;
}
