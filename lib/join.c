/*
 * join.c: the backend's chunk stream made to read, for the client, as if
 * it had been the backend's from the start (join.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"
#include "buf.h"
#include "bytes.h"
#include "chunk.h"
#include "error.h"
#include "handshake.h"
#include "join.h"
#include "rtmp.h"

/* A header never needs more: basic 3 + message 11 + extended 4. */
#define JOIN_STAGE		(2 * CHUNK_MAX_HEADER + 4)
#define JOIN_AMF_VALUES		64
#define JOIN_AMF_DEPTH		8

enum join_phase {
	JOIN_HANDSHAKE,		/* waiting for S0 S1 S2 */
	JOIN_DROPPING,		/* the backend answers what we answered already */
	JOIN_PASSING,
};

enum join_mode {
	JOIN_PASS,		/* headers as the backend wrote them */
	JOIN_REWRITE,		/* a type 0 header of ours, then our type 3s */
	JOIN_DROP,
};

/* How far the client's view of a chunk stream agrees with the backend's. */
enum join_agreement {
	JOIN_AGREE_NONE,	/* only a type 0 header reads the same */
	JOIN_AGREE_BUT_DELTA,	/* all but a type 3 header starting a message */
	JOIN_AGREE_ALL,
};

struct join_stream {
	uint32_t	 id;
	/* The backend's last header, as its decoder holds it. */
	uint32_t	 timestamp, delta, length, stream_id;
	uint32_t	 extended_value;
	uint8_t		 type;
	uint8_t		 extended;	/* the last type 0-2 header had the extended field */
	uint32_t	 left;		/* of the current message; 0 between messages */
	/* The current message. */
	uint8_t		 mode;
	uint8_t		 head[4];	/* its first body bytes: Set Chunk Size, Abort */
	uint8_t		 headlen;
	uint8_t		 our_extended;	/* our type 0 had the extended field ... */
	uint32_t	 our_timestamp;	/* ... with this value, repeated on our type 3s */
	uint8_t		 agreement;
};

struct join_answer {
	double		 transaction_id;
	uint32_t	 stream_id;	/* createStream's answer; 0 for connect */
	int		 answered;
};

struct join {
	enum join_phase		 phase;
	struct handshake	*handshake;
	struct buf		 backend;	/* to the backend */
	uint8_t			*replay;
	size_t			 replaylen;
	struct join_answer	 answers[JOIN_ANSWERS_MAX];
	size_t			 nanswers, unanswered;
	uint32_t		 backend_chunk_size, client_chunk_size;
	struct join_stream	*streams;
	size_t			 nstreams, nalloc;
	struct join_stream	*current;	/* whose chunk body is being read */
	size_t			 collector;	/* streams[collector - 1]'s command goes into `command`; 0 none */
	uint32_t		 body_left;
	uint8_t			 stage[JOIN_STAGE];	/* a header cut by the end of input */
	size_t			 stagelen;
	struct buf		 command;
	int			 open;
	char			 reason[160];
};

/* A command's name and transaction id, and the value after its command object. */
static int
join_command(const uint8_t *p, size_t len, struct amf0_view *name, double *tid,
    struct amf0_value *third, struct amf0_value *fourth)
{
	struct amf0_value	 v[JOIN_AMF_VALUES];
	size_t			 n, off = 0;
	int			 i, rc;

	third->type = fourth->type = AMF0_UNDEFINED;
	for (i = 0; i < 4 && off < len; i++) {
		n = JOIN_AMF_VALUES;
		if ((rc = amf0_decode_one(p + off, len - off, v, &n, JOIN_AMF_DEPTH)) < 0)
			return i >= 2 ? 0 : rc;
		off += (size_t)rc;
		if (i == 0) {
			if (v[0].type != AMF0_STRING)
				return RTMP_EPROTO;
			*name = v[0].u.string;
		} else if (i == 1) {
			if (v[0].type != AMF0_NUMBER)
				return RTMP_EPROTO;
			*tid = v[0].u.number;
		} else if (i == 2)
			*third = v[0];
		else
			*fourth = v[0];
	}
	return i >= 2 ? 0 : RTMP_EPROTO;
}

/* The commands the balancer answered in the backend's place, from the replay. */
static int
join_read_replay(struct join *j)
{
	struct chunk_decoder	 d;
	struct chunk_limits	 limits;
	struct rtmp_message	 m;
	struct amf0_value	 third, fourth;
	struct amf0_view	 name;
	const uint8_t		*p = j->replay;
	size_t			 len = j->replaylen, used, skip;
	uint32_t		 created = 0;
	double			 tid;
	int			 rc, connected = 0;

	memset(&limits, 0, sizeof(limits));
	chunk_limits_default(&limits);
	limits.max_message_size = JOIN_REPLAY_MAX;
	if ((rc = chunk_decoder_init(&d, &limits)) < 0)
		return rc;
	while (len > 0) {
		if ((rc = chunk_decoder_feed(&d, p, len, &used, &m)) < 0)
			break;
		p += used;
		len -= used;
		if (rc == CHUNK_NEED_MORE)
			break;
		if (m.type == RTMP_MSG_SET_CHUNK_SIZE && m.length >= 4) {
			if ((rc = chunk_decoder_set_chunk_size(&d,
			    bytes_get32(m.payload) & 0x7fffffff)) < 0)
				break;
			continue;
		}
		if (m.type != RTMP_MSG_COMMAND_AMF0 && m.type != RTMP_MSG_COMMAND_AMF3)
			continue;
		skip = m.type == RTMP_MSG_COMMAND_AMF3 && m.length > 0;
		if (join_command(m.payload + skip, m.length - skip, &name, &tid, &third,
		    &fourth) < 0)
			continue;
		if (amf0_view_eq(name, "play") || amf0_view_eq(name, "publish"))
			break;
		if (j->nanswers == JOIN_ANSWERS_MAX)
			continue;
		if (amf0_view_eq(name, "connect") && !connected) {
			connected = 1;
			j->answers[j->nanswers++] = (struct join_answer){ tid, 0, 0 };
		} else if (amf0_view_eq(name, "createStream") && connected)
			j->answers[j->nanswers++] = (struct join_answer){ tid, ++created, 0 };
	}
	chunk_decoder_free(&d);
	if (rc < 0 || !connected)
		return RTMP_EINVAL;
	j->unanswered = j->nanswers;
	return 0;
}

struct join *
join_new(const uint8_t *replay, size_t len, uint32_t client_chunk_size, int *error)
{
	struct handshake_config	 hc = { .role = HANDSHAKE_CLIENT };
	struct join		*j;
	const uint8_t		*out;
	size_t			 outlen;

	*error = RTMP_ENOMEM;
	if (len > JOIN_REPLAY_MAX || client_chunk_size == 0) {
		*error = RTMP_EINVAL;
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	buf_init(&j->backend, 0);
	buf_init(&j->command, JOIN_COMMAND_MAX);
	j->backend_chunk_size = CHUNK_DEFAULT_SIZE;
	j->client_chunk_size = client_chunk_size;
	if ((j->replay = malloc(len > 0 ? len : 1)) == NULL ||
	    (j->handshake = malloc(sizeof(*j->handshake))) == NULL)
		goto fail;
	memcpy(j->replay, replay, len);
	j->replaylen = len;
	if ((*error = join_read_replay(j)) < 0)
		goto fail;
	handshake_init(j->handshake, &hc);
	out = handshake_output(j->handshake, &outlen);
	if (buf_append(&j->backend, out, outlen) < 0) {
		*error = RTMP_ENOMEM;
		goto fail;
	}
	handshake_output_sent(j->handshake, outlen);
	return j;
fail:
	join_free(j);
	return NULL;
}

void
join_free(struct join *j)
{
	if (j == NULL)
		return;
	free(j->handshake);
	free(j->replay);
	free(j->streams);
	buf_free(&j->backend);
	buf_free(&j->command);
	free(j);
}

static struct join_stream *
join_stream(struct join *j, uint32_t id, int create)
{
	struct join_stream	*st;
	size_t			 i, n;

	for (i = 0; i < j->nstreams; i++)
		if (j->streams[i].id == id)
			return &j->streams[i];
	if (!create || j->nstreams == JOIN_CHUNK_STREAMS)
		return NULL;
	if (j->nstreams == j->nalloc) {
		n = j->nalloc == 0 ? 4 : 2 * j->nalloc;
		if (n > JOIN_CHUNK_STREAMS)
			n = JOIN_CHUNK_STREAMS;
		if ((st = reallocarray(j->streams, n, sizeof(*st))) == NULL)
			return NULL;
		/* current points into the table; it is NULL whenever a stream is made. */
		j->streams = st;
		j->nalloc = n;
	}
	st = &j->streams[j->nstreams++];
	memset(st, 0, sizeof(*st));
	st->id = id;
	return st;
}

/* A basic header: 1-3 bytes for fmt and id. */
static size_t
join_put_basic(uint8_t *p, unsigned fmt, uint32_t id)
{
	if (id < 64) {
		p[0] = fmt << 6 | id;
		return 1;
	}
	if (id < 320) {
		p[0] = fmt << 6;
		p[1] = id - 64;
		return 2;
	}
	p[0] = fmt << 6 | 1;
	p[1] = (id - 64) & 0xff;
	p[2] = (id - 64) >> 8;
	return 3;
}

/* The chunk size the backend uses, told to the client before anything else passes. */
static int
join_announce_chunk_size(struct join *j, struct buf *client)
{
	uint8_t			 m[1 + 11 + 4];
	struct join_stream	*st;

	if (j->backend_chunk_size == j->client_chunk_size)
		return 0;
	m[0] = RTMP_CSID_CONTROL;
	memset(m + 1, 0, 11);
	bytes_put24(m + 4, 4);
	m[7] = RTMP_MSG_SET_CHUNK_SIZE;
	bytes_put32(m + 12, j->backend_chunk_size);
	if (buf_append(client, m, sizeof(m)) < 0)
		return RTMP_ENOMEM;
	j->client_chunk_size = j->backend_chunk_size;
	if ((st = join_stream(j, RTMP_CSID_CONTROL, 0)) != NULL)
		st->agreement = JOIN_AGREE_NONE;
	return 0;
}

/* One of the answers we gave already, from the backend: check it, drop it. */
static int
join_answer(struct join *j, const uint8_t *p, size_t len, struct buf *client)
{
	struct amf0_value	 third, fourth;
	struct amf0_view	 name;
	struct join_answer	*a;
	double			 tid;
	size_t			 i;
	int			 error;

	if (join_command(p, len, &name, &tid, &third, &fourth) < 0)
		return 0;
	if ((error = amf0_view_eq(name, "_error")) == 0 && !amf0_view_eq(name, "_result"))
		return 0;
	for (i = 0; i < j->nanswers; i++)
		if (!j->answers[i].answered && j->answers[i].transaction_id == tid)
			break;
	if (i == j->nanswers)
		return 0;
	a = &j->answers[i];
	if (error) {
		snprintf(j->reason, sizeof(j->reason), "backend refused %s",
		    a->stream_id == 0 ? "connect" : "createStream");
		return RTMP_EREFUSED;
	}
	if (a->stream_id != 0 && (fourth.type != AMF0_NUMBER ||
	    fourth.u.number != (double)a->stream_id)) {
		snprintf(j->reason, sizeof(j->reason),
		    "backend gave stream id %.0f, the client has %u",
		    fourth.type == AMF0_NUMBER ? fourth.u.number : -1.0, a->stream_id);
		return RTMP_EREFUSED;
	}
	a->answered = 1;
	if (--j->unanswered == 0) {
		/* Nothing more is read in full. */
		buf_free(&j->command);
		j->phase = JOIN_PASSING;
		return join_announce_chunk_size(j, client);
	}
	return 0;
}

/* A message of the backend's is complete: act on what we read of it. */
static int
join_message_done(struct join *j, struct join_stream *st, struct buf *client)
{
	const uint8_t		*p = buf_data(&j->command);
	size_t			 len = j->command.len, skip;
	struct join_stream	*aborted;
	uint32_t		 v;
	int			 rc = 0;

	if (st->type == RTMP_MSG_SET_CHUNK_SIZE && st->headlen == 4) {
		if ((v = bytes_get32(st->head) & 0x7fffffff) == 0) {
			snprintf(j->reason, sizeof(j->reason), "backend set chunk size 0");
			return RTMP_EPROTO;
		}
		j->backend_chunk_size = v;
		if (st->mode != JOIN_DROP)
			j->client_chunk_size = v;
	} else if (st->type == RTMP_MSG_ABORT && st->headlen == 4) {
		/* Dropped, the client would wait for the rest: no way to say it. */
		if (st->mode == JOIN_DROP) {
			snprintf(j->reason, sizeof(j->reason), "backend aborted a message");
			return RTMP_EPROTO;
		}
		if ((aborted = join_stream(j, bytes_get32(st->head), 0)) != NULL)
			aborted->left = 0;
	} else if (j->collector == (size_t)(st - j->streams) + 1) {
		j->collector = 0;
		skip = st->type == RTMP_MSG_COMMAND_AMF3 && len > 0;
		/* A command too long to keep is not one of our answers. */
		if (len == st->length)
			rc = join_answer(j, p + skip, len - skip, client);
		buf_consume(&j->command, j->command.len);
	}
	return rc;
}

/* The client's copy of a header the backend wrote, or one of ours in its place. */
static int
join_write_header(struct join *j, struct join_stream *st, const uint8_t *raw, size_t rawlen,
    int starts, struct buf *client)
{
	uint8_t		 h[CHUNK_MAX_HEADER], *p;
	size_t		 n;

	(void)j;
	if (st->mode == JOIN_DROP)
		return 0;
	if (st->mode == JOIN_PASS)
		return buf_append(client, raw, rawlen);
	if (!starts) {
		n = join_put_basic(h, 3, st->id);
		if (st->our_extended) {
			bytes_put32(h + n, st->our_timestamp);
			n += 4;
		}
		return buf_append(client, h, n);
	}
	n = join_put_basic(h, 0, st->id);
	p = h + n;
	st->our_timestamp = st->timestamp;
	st->our_extended = st->timestamp >= 0xffffff;
	bytes_put24(p, st->our_extended ? 0xffffff : st->timestamp);
	bytes_put24(p + 3, st->length);
	p[6] = st->type;
	/* The message stream id is the one little-endian field. */
	bytes_put32le(p + 7, st->stream_id);
	n += 11;
	if (st->our_extended) {
		bytes_put32(h + n, st->timestamp);
		n += 4;
	}
	return buf_append(client, h, n);
}

/* The header that starts a message: the backend's view moves, then the client's. */
static void
join_start_message(struct join *j, struct join_stream *st, unsigned fmt,
    const uint8_t *m, uint32_t field)
{
	switch (fmt) {
	case 0:
		st->timestamp = field;
		/* The spec, ffmpeg and librtmp: a type 3 after it adds this again. */
		st->delta = field;
		break;
	case 1:
	case 2:
		st->delta = field;
		st->timestamp += field;
		break;
	default:
		st->timestamp += st->delta;
		break;
	}
	if (fmt <= 1) {
		st->length = bytes_get24(m + 3);
		st->type = m[6];
	}
	if (fmt == 0)
		st->stream_id = (uint32_t)m[7] | (uint32_t)m[8] << 8 |
		    (uint32_t)m[9] << 16 | (uint32_t)m[10] << 24;
	st->left = st->length;
	st->headlen = 0;
	/* One command read at a time: interleaved ones are not how servers answer. */
	if (j->phase == JOIN_DROPPING && j->collector == 0 &&
	    (st->type == RTMP_MSG_COMMAND_AMF0 || st->type == RTMP_MSG_COMMAND_AMF3))
		j->collector = (size_t)(st - j->streams) + 1;
	if (j->phase != JOIN_PASSING) {
		st->mode = JOIN_DROP;
		st->agreement = JOIN_AGREE_NONE;
	} else if (fmt == 0 || st->agreement == JOIN_AGREE_ALL ||
	    (st->agreement == JOIN_AGREE_BUT_DELTA && fmt != 3)) {
		st->mode = JOIN_PASS;
		if (fmt != 3)
			st->agreement = JOIN_AGREE_ALL;
	} else {
		st->mode = JOIN_REWRITE;
		st->agreement = JOIN_AGREE_BUT_DELTA;
	}
}

/*
 * One header at p, if all of it is there: *used its bytes (0: more
 * needed), or an error.
 */
static int
join_header(struct join *j, const uint8_t *p, size_t n, size_t *used, struct buf *client)
{
	static const size_t	 sizes[4] = { 11, 7, 3, 0 };
	struct join_stream	*st;
	unsigned		 fmt = p[0] >> 6;
	size_t			 basic, hl;
	uint32_t		 id, field = 0;
	int			 starts, rc;

	*used = 0;
	basic = (p[0] & 0x3f) == 0 ? 2 : (p[0] & 0x3f) == 1 ? 3 : 1;
	if (n < basic)
		return 0;
	id = basic == 1 ? p[0] & 0x3fu : basic == 2 ? 64u + p[1] :
	    64u + p[1] + 256u * p[2];
	hl = basic + sizes[fmt];
	if (n < hl)
		return 0;
	st = join_stream(j, id, 0);
	if (fmt == 3 && st != NULL && st->extended) {
		/* chunk.h: a repeated extended field is taken when it matches. */
		if (n < hl + 4)
			return 0;
		if (bytes_get32(p + hl) == st->extended_value)
			hl += 4;
	} else if (fmt < 3 && (field = bytes_get24(p + basic)) == 0xffffff) {
		if (n < hl + 4)
			return 0;
		field = bytes_get32(p + hl);
		hl += 4;
	}
	if (st == NULL) {
		if (fmt != 0) {
			snprintf(j->reason, sizeof(j->reason),
			    "backend: type %u header on new chunk stream %u", fmt, id);
			return RTMP_EPROTO;
		}
		if ((st = join_stream(j, id, 1)) == NULL) {
			snprintf(j->reason, sizeof(j->reason), "backend: too many chunk streams");
			return RTMP_ELIMIT;
		}
	}
	starts = st->left == 0;
	if (!starts && fmt != 3) {
		snprintf(j->reason, sizeof(j->reason),
		    "backend: type %u header inside a message on chunk stream %u", fmt, id);
		return RTMP_EPROTO;
	}
	if (fmt < 3) {
		/* chunk.h: the 3-byte field's 0xffffff, whatever the extended value. */
		st->extended = hl > basic + sizes[fmt];
		st->extended_value = field;
	}
	if (starts)
		join_start_message(j, st, fmt, p + basic, field);
	if ((rc = join_write_header(j, st, p, hl, starts, client)) < 0)
		return RTMP_ENOMEM;
	j->current = st;
	j->body_left = st->left < j->backend_chunk_size ? st->left : j->backend_chunk_size;
	*used = hl;
	return 0;
}

/* Chunks from p: *used is all of it but a header cut by the end. */
static int
join_chunks(struct join *j, const uint8_t *p, size_t n, size_t *used, struct buf *client)
{
	struct join_stream	*st;
	size_t			 off = 0, take, hl, i;
	int			 rc;

	while (off < n) {
		if (j->current == NULL) {
			if ((rc = join_header(j, p + off, n - off, &hl, client)) < 0)
				return rc;
			if (hl == 0)
				break;
			off += hl;
		}
		st = j->current;
		take = n - off < j->body_left ? n - off : j->body_left;
		if (take > 0 && st->mode != JOIN_DROP && buf_append(client, p + off, take) < 0)
			return RTMP_ENOMEM;
		for (i = 0; i < take && st->headlen < sizeof(st->head); i++)
			st->head[st->headlen++] = p[off + i];
		/* Past JOIN_COMMAND_MAX the append fails and the command is not read. */
		if (take > 0 && j->collector == (size_t)(st - j->streams) + 1)
			(void)buf_append(&j->command, p + off, take);
		off += take;
		j->body_left -= take;
		st->left -= take;
		if (j->body_left > 0)
			break;
		j->current = NULL;
		if (st->left == 0 && (rc = join_message_done(j, st, client)) < 0)
			return rc;
	}
	*used = off;
	return 0;
}

/* S0 S1 S2 in, C2 and the replay out. */
static int
join_handshake(struct join *j, const uint8_t *in, size_t len, size_t *used)
{
	const uint8_t	*out;
	size_t		 outlen;
	int		 rc;

	if ((rc = handshake_feed(j->handshake, in, len, used)) < 0) {
		snprintf(j->reason, sizeof(j->reason), "backend: bad handshake");
		return rc;
	}
	if (rc != HANDSHAKE_DONE)
		return 0;
	out = handshake_output(j->handshake, &outlen);
	if (buf_append(&j->backend, out, outlen) < 0 ||
	    buf_append(&j->backend, j->replay, j->replaylen) < 0)
		return RTMP_ENOMEM;
	free(j->handshake);
	j->handshake = NULL;
	free(j->replay);
	j->replay = NULL;
	j->open = 1;
	/* join_read_replay() made sure of a connect to wait for. */
	j->phase = JOIN_DROPPING;
	return 0;
}

int
join_from_backend(struct join *j, const uint8_t *in, size_t len, struct buf *client)
{
	size_t	 used, n;
	int	 rc;

	while (len > 0 && j->phase == JOIN_HANDSHAKE) {
		if ((rc = join_handshake(j, in, len, &used)) < 0)
			return rc;
		in += used;
		len -= used;
		if (used == 0)
			break;
	}
	while (len > 0) {
		if (j->stagelen == 0) {
			if ((rc = join_chunks(j, in, len, &used, client)) < 0)
				return rc;
			in += used;
			len -= used;
			/* A header cut by the end of input waits here for the rest. */
			memcpy(j->stage, in, len);
			j->stagelen = len;
			return 0;
		}
		n = sizeof(j->stage) - j->stagelen;
		if (n > len)
			n = len;
		memcpy(j->stage + j->stagelen, in, n);
		j->stagelen += n;
		in += n;
		len -= n;
		if ((rc = join_chunks(j, j->stage, j->stagelen, &used, client)) < 0)
			return rc;
		memmove(j->stage, j->stage + used, j->stagelen - used);
		j->stagelen -= used;
	}
	return 0;
}

const uint8_t *
join_to_backend(const struct join *j, size_t *len)
{
	*len = j->backend.len;
	return buf_data(&j->backend);
}

void
join_backend_sent(struct join *j, size_t n)
{
	buf_consume(&j->backend, n);
	if (j->backend.len == 0)
		buf_free(&j->backend);
}

int
join_open(const struct join *j)
{
	return j->open;
}

int
join_answered(const struct join *j)
{
	return j->phase == JOIN_PASSING;
}

int
join_raw(const struct join *j)
{
	size_t	 i;

	if (j->phase != JOIN_PASSING || j->current != NULL || j->stagelen > 0 ||
	    j->client_chunk_size != j->backend_chunk_size)
		return 0;
	for (i = 0; i < j->nstreams; i++)
		if (j->streams[i].agreement != JOIN_AGREE_ALL)
			return 0;
	return 1;
}

const char *
join_reason(const struct join *j)
{
	return j->reason[0] != '\0' ? j->reason : "backend";
}
