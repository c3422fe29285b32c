/*
 * test_chunk: encoder/decoder round trips with interleaved chunk streams
 * fed in every piece size, replays of the nine recorded sessions checked
 * against Wireshark's transcripts, and the chunk rows of HOSTILE.md.
 */
#include <stdint.h>
#include <string.h>

#ifdef __has_feature
#if __has_feature(address_sanitizer)
#define UNIT_ASAN 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#define UNIT_ASAN 1
#endif
#ifdef UNIT_ASAN
/* From <sanitizer/allocator_interface.h>, which gcc does not install. */
size_t	__sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#include "chunk.h"
#include "error.h"
#include "unit.h"

/*
 * unit.h's CHECK_EQ is a bare `a || b` expression that gcc's
 * -Wunused-value rejects under -Werror; cast it to void here.
 */
#undef CHECK_EQ
#define CHECK_EQ(a, b, ...)	((void)(unit_check((long long)(a) == (long long)(b), \
	__FILE__, __LINE__, __VA_ARGS__) || \
	printf("#   got %lld, want %lld\n", (long long)(a), (long long)(b))))

#define HANDSHAKE_BYTES	3073

/* Bytes the heap holds now: how the tests see that nothing big was allocated. */
static size_t
heap_in_use(void)
{
#ifdef UNIT_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* A fixed-seed xorshift64*: the same cases on every run. */
static uint64_t	 rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Uniform-enough in lo..hi inclusive. */
static uint32_t
rnd_in(uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(((uint64_t)rnd() * ((uint64_t)hi - lo + 1)) >> 32);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A growable byte vector for building streams. */
struct bytes {
	uint8_t	*p;
	size_t	 len, cap;
};

static void
bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Raw chunk headers, written by hand for the hostile cases. */
static size_t
put_basic(uint8_t *p, unsigned fmt, uint32_t csid)
{
	if (csid < 64) {
		p[0] = fmt << 6 | csid;
		return 1;
	}
	if (csid < 320) {
		p[0] = fmt << 6;
		p[1] = csid - 64;
		return 2;
	}
	p[0] = fmt << 6 | 1;
	p[1] = (csid - 64) & 0xff;
	p[2] = (csid - 64) >> 8;
	return 3;
}

/* A chunk header of any type; ts is the timestamp or delta field value. */
static size_t
put_header(uint8_t *p, unsigned fmt, uint32_t csid, uint32_t ts, uint32_t len,
    uint8_t type, uint32_t sid)
{
	size_t	 n = put_basic(p, fmt, csid);
	uint32_t field = ts >= 0xffffff ? 0xffffff : ts;

	if (fmt <= 2) {
		p[n++] = field >> 16;
		p[n++] = field >> 8;
		p[n++] = field;
	}
	if (fmt <= 1) {
		p[n++] = len >> 16;
		p[n++] = len >> 8;
		p[n++] = len;
		p[n++] = type;
	}
	if (fmt == 0) {
		p[n++] = sid;
		p[n++] = sid >> 8;
		p[n++] = sid >> 16;
		p[n++] = sid >> 24;
	}
	if (fmt <= 2 && field == 0xffffff) {
		p[n++] = ts >> 24;
		p[n++] = ts >> 16;
		p[n++] = ts >> 8;
		p[n++] = ts;
	}
	return n;
}

static void
add_header(struct bytes *b, unsigned fmt, uint32_t csid, uint32_t ts, uint32_t len,
    uint8_t type, uint32_t sid)
{
	uint8_t	 h[CHUNK_MAX_HEADER];

	bytes_add(b, h, put_header(h, fmt, csid, ts, len, type, sid));
}

static void
add_fill(struct bytes *b, uint8_t c, size_t n)
{
	while (n-- > 0)
		bytes_add(b, &c, 1);
}

/* One decoded message, copied out of the decoder's view. */
struct got {
	uint32_t	 csid, sid, ts, len;
	uint8_t		 type;
	uint8_t		*payload;
};

struct gots {
	struct got	*v;
	size_t		 n, cap;
	int		 rc;		/* the last feed's result */
	size_t		 used;		/* bytes consumed in all */
};

static void
gots_add(struct gots *g, const struct rtmp_message *m)
{
	struct got	*x;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		if ((g->v = realloc(g->v, g->cap * sizeof(*g->v))) == NULL)
			abort();
	}
	x = &g->v[g->n++];
	x->csid = m->chunk_stream_id;
	x->sid = m->stream_id;
	x->ts = m->timestamp;
	x->len = m->length;
	x->type = m->type;
	if ((x->payload = malloc(m->length ? m->length : 1)) == NULL)
		abort();
	if (m->length > 0)
		memcpy(x->payload, m->payload, m->length);
}

static void
gots_free(struct gots *g)
{
	size_t	 i;

	for (i = 0; i < g->n; i++)
		free(g->v[i].payload);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

/*
 * Decode in pieces: step 0 is all at once, 1 byte at a time, otherwise
 * random pieces of 1..step bytes.  With control set, Set Chunk Size and
 * Abort are applied as a session does.  Stops at the first error.
 */
static void
decode_all(struct chunk_decoder *d, const uint8_t *p, size_t len, size_t step,
    int control, struct gots *g)
{
	struct rtmp_message	 m;
	size_t			 off = 0, end, n;
	int			 rc;

	g->rc = CHUNK_NEED_MORE;
	while (off < len) {
		if (step == 0)
			end = len;
		else if (step == 1)
			end = off + 1;
		else
			end = off + rnd_in(1, (uint32_t)step);
		if (end > len)
			end = len;
		/* Feed [off, end) until it is used up. */
		while (off < end) {
			rc = chunk_decoder_feed(d, p + off, end - off, &n, &m);
			g->rc = rc;
			off += n;
			g->used += n;
			if (rc < 0)
				return;
			if (rc == CHUNK_NEED_MORE) {
				if (off != end) {
					g->rc = -100;	/* need-more must use everything */
					return;
				}
				break;
			}
			gots_add(g, &m);
			if (control && m.length >= 4 && m.type == RTMP_MSG_SET_CHUNK_SIZE &&
			    (rc = chunk_decoder_set_chunk_size(d, be32(m.payload))) < 0) {
				g->rc = rc;
				return;
			}
			if (control && m.length >= 4 && m.type == RTMP_MSG_ABORT)
				chunk_decoder_abort(d, be32(m.payload));
		}
	}
	/* Input that ended right after a message: the decoder now wants more. */
	if (g->rc == CHUNK_MESSAGE)
		g->rc = chunk_decoder_feed(d, p + len, 0, &n, &m);
}

/* Round trips. */

struct inflight {
	struct got	 m;		/* what went in */
	uint8_t		*enc;		/* its encoding */
	size_t		 enc_len, off;
	size_t		 basic, ext;	/* continuation header: basic + 4 if extended */
	size_t		 body_off;	/* body bytes already emitted */
	int		 active;
};

static const uint32_t	 csid_pool[] = { 2, 3, 4, 5, 6, 7, 63, 64, 65, 319, 320, 1000, 65599 };
#define NPOOL	(sizeof(csid_pool) / sizeof(csid_pool[0]))

static uint32_t
next_length(uint32_t cs)
{
	uint32_t	 cap = 3 * cs + 10;

	if (cap > 20000)
		cap = 20000;
	switch (rnd_in(0, 9)) {
	case 0:
		return 0;
	case 1:
		return cs <= 70000 ? cs : 1;
	case 2:
		return 2 * cs <= 140000 ? 2 * cs : 2;
	case 3:
		return rnd_in(1, 8);
	default:
		return rnd_in(1, cap);
	}
}

static uint32_t
next_timestamp(uint32_t ts)
{
	switch (rnd_in(0, 11)) {
	case 0:
		return ts;				/* same time */
	case 1:
		return ts + 0xffffff + rnd_in(0, 1000);	/* extended delta */
	case 2:
		return ts - rnd_in(1, 500);		/* backwards */
	case 3:
		return 0xffffffffu - rnd_in(0, 50);	/* about to wrap */
	case 4:
		return rnd();				/* anywhere */
	case 5:
		return 0xffffff;			/* exactly the marker */
	default:
		return ts + rnd_in(0, 100);		/* wraps past 2^32 too */
	}
}

/*
 * Emit one chunk of f: the first unit is the whole header and the first
 * body piece; later ones a continuation header (its extended field dropped
 * when strip is set, as librtmp 2.4 sends) and the next body piece.
 */
static int
emit_unit(struct inflight *f, uint32_t cs, int strip, struct bytes *out)
{
	size_t	 body, head;

	body = f->m.len - f->body_off;
	if (body > cs)
		body = cs;
	if (f->off == 0) {
		head = f->enc_len - f->m.len;
		if (f->m.len > 0)
			head -= ((f->m.len + cs - 1) / cs - 1) * (f->basic + f->ext);
		bytes_add(out, f->enc, head + body);
		f->off = head + body;
	} else {
		bytes_add(out, f->enc + f->off, f->basic);
		if (!strip)
			bytes_add(out, f->enc + f->off + f->basic, f->ext);
		f->off += f->basic + f->ext;
		bytes_add(out, f->enc + f->off, body);
		f->off += body;
	}
	f->body_off += body;
	return f->body_off == f->m.len;
}

static void
roundtrip(int id, uint32_t cs, size_t step, int strip)
{
	struct chunk_encoder	 e;
	struct chunk_decoder	 d;
	struct inflight		 fl[NPOOL];
	struct gots		 want = { 0 }, got = { 0 };
	struct bytes		 stream = { 0 };
	struct rtmp_message	 m;
	uint32_t		 ts[NPOOL], nstreams, nmsgs, made = 0;
	size_t			 i, j, k, active = 0, bad = 0, sizebad = 0;
	int			 rc;

	memset(fl, 0, sizeof(fl));
	for (i = 0; i < NPOOL; i++)
		ts[i] = rnd_in(0, 3) == 0 ? rnd() : rnd_in(0, 1000);
	nstreams = rnd_in(1, 10);
	nmsgs = cs <= 4 ? 40 : 120;
	chunk_encoder_init(&e);
	chunk_encoder_set_chunk_size(&e, cs);
	while (made < nmsgs || active > 0) {
		if (made < nmsgs && active < nstreams && (active == 0 || rnd_in(0, 2) == 0)) {
			/* Start a message on a chunk stream with none in flight. */
			do
				i = rnd_in(0, nstreams - 1) % NPOOL;
			while (fl[i].active);
			memset(&fl[i], 0, sizeof(fl[i]));
			fl[i].m.csid = csid_pool[i];
			fl[i].m.sid = rnd_in(0, 3) == 0 ? rnd_in(0, 2) : 1;
			fl[i].m.type = rnd_in(0, 3) == 0 ? (uint8_t)rnd() : 8 + rnd_in(0, 1);
			fl[i].m.ts = ts[i] = next_timestamp(ts[i]);
			fl[i].m.len = next_length(cs);
			fl[i].m.payload = malloc(fl[i].m.len + 1);
			for (k = 0; k < fl[i].m.len; k++)
				fl[i].m.payload[k] = (uint8_t)rnd();
			m.chunk_stream_id = fl[i].m.csid;
			m.stream_id = fl[i].m.sid;
			m.type = fl[i].m.type;
			m.timestamp = fl[i].m.ts;
			m.length = fl[i].m.len;
			m.payload = fl[i].m.payload;
			fl[i].enc_len = chunk_encoded_size(&e, &m);
			fl[i].enc = malloc(fl[i].enc_len + 1);
			rc = chunk_encode(&e, &m, fl[i].enc, fl[i].enc_len);
			if (rc < 0 || (size_t)rc != fl[i].enc_len)
				sizebad++;
			fl[i].basic = fl[i].m.csid < 64 ? 1 : fl[i].m.csid < 320 ? 2 : 3;
			fl[i].ext = (fl[i].enc[fl[i].basic] & fl[i].enc[fl[i].basic + 1] &
			    fl[i].enc[fl[i].basic + 2]) == 0xff ? 4 : 0;
			fl[i].active = 1;
			active++;
			made++;
			continue;
		}
		/* Send the next chunk of a random message in flight. */
		k = rnd_in(0, (uint32_t)active - 1);
		for (i = 0; i < NPOOL; i++)
			if (fl[i].active && k-- == 0)
				break;
		if (emit_unit(&fl[i], cs, strip, &stream)) {
			/* Complete: it is the next message the decoder must give. */
			if (want.n == want.cap) {
				want.cap = want.cap ? want.cap * 2 : 64;
				want.v = realloc(want.v, want.cap * sizeof(*want.v));
			}
			want.v[want.n++] = fl[i].m;
			free(fl[i].enc);
			fl[i].active = 0;
			active--;
		}
	}
	/* A last message, so a peek at the very end has 4 bytes to look at. */
	m.chunk_stream_id = 3;
	m.stream_id = 0;
	m.type = 20;
	m.timestamp = 0;
	m.length = 0;
	m.payload = NULL;
	{
		uint8_t	 last[CHUNK_MAX_HEADER];
		struct got	 w = { 3, 0, 0, 0, 20, malloc(1) };

		rc = chunk_encode(&e, &m, last, sizeof(last));
		if (rc <= 0)
			sizebad++;
		else
			bytes_add(&stream, last, (size_t)rc);
		if (want.n == want.cap) {
			want.cap = want.cap ? want.cap * 2 : 64;
			want.v = realloc(want.v, want.cap * sizeof(*want.v));
		}
		want.v[want.n++] = w;
	}

	CHECK_EQ(sizebad, 0, "round trip %d: chunk_encoded_size exact", id);

	if (chunk_decoder_init(&d, NULL) < 0 || chunk_decoder_set_chunk_size(&d, cs) < 0) {
		CHECK(0, "round trip %d: decoder set up", id);
		return;
	}
	decode_all(&d, stream.p, stream.len, step, 0, &got);
	CHECK(got.rc == CHUNK_NEED_MORE && got.used == stream.len && d.bytes_in == stream.len,
	    "round trip %d (chunk size %u, pieces %zu%s): all %zu bytes used, no error (rc %d)",
	    id, cs, step, strip ? ", extended not repeated" : "", stream.len, got.rc);
	for (j = 0; j < want.n; j++) {
		if (j >= got.n || got.v[j].csid != want.v[j].csid ||
		    got.v[j].sid != want.v[j].sid || got.v[j].ts != want.v[j].ts ||
		    got.v[j].type != want.v[j].type || got.v[j].len != want.v[j].len ||
		    memcmp(got.v[j].payload, want.v[j].payload, want.v[j].len) != 0) {
			if (bad++ == 0 && j < got.n)
				printf("# message %zu: got csid %u ts %u len %u, want csid %u ts %u len %u\n",
				    j, got.v[j].csid, got.v[j].ts, got.v[j].len,
				    want.v[j].csid, want.v[j].ts, want.v[j].len);
		}
	}
	CHECK(bad == 0 && got.n == want.n, "round trip %d: %zu messages identical (got %zu, %zu differ)",
	    id, want.n, got.n, bad);
	chunk_decoder_free(&d);
	gots_free(&got);
	gots_free(&want);
	free(stream.p);
}

/* Replays of the recorded sessions. */

/* The command name of an AMF0 command or data message, "" if none. */
static void
amf_name(const struct got *g, char *name, size_t size)
{
	size_t	 n;

	name[0] = '\0';
	if (g->len < 3 || g->payload[0] != 0x02)
		return;
	n = (size_t)g->payload[1] << 8 | g->payload[2];
	if (n > g->len - 3 || n >= size)
		return;
	memcpy(name, g->payload + 3, n);
	name[n] = '\0';
}

/* How Wireshark's transcript names a message. */
static void
describe(const struct got *g, char *s, size_t size)
{
	char		 name[128];
	const uint8_t	*p = g->payload;

	switch (g->type) {
	case RTMP_MSG_SET_CHUNK_SIZE:
		snprintf(s, size, "Set Chunk Size %u", g->len >= 4 ? be32(p) : 0);
		break;
	case RTMP_MSG_ACK:
		snprintf(s, size, "Acknowledgement %u", g->len >= 4 ? be32(p) : 0);
		break;
	case RTMP_MSG_WINDOW_ACK_SIZE:
		snprintf(s, size, "Window Acknowledgement Size %u", g->len >= 4 ? be32(p) : 0);
		break;
	case RTMP_MSG_SET_PEER_BANDWIDTH:
		snprintf(s, size, "Set Peer Bandwidth %u,", g->len >= 4 ? be32(p) : 0);
		break;
	case RTMP_MSG_USER_CONTROL:
		if (g->len >= 6 && p[0] == 0 && p[1] == 0)
			snprintf(s, size, "Stream Begin %u", be32(p + 2));
		else if (g->len >= 6 && p[0] == 0 && p[1] == 1)
			snprintf(s, size, "Stream EOF %u", be32(p + 2));
		else if (g->len >= 10 && p[0] == 0 && p[1] == 3)
			snprintf(s, size, "Set Buffer Length %u,%ums", be32(p + 2), be32(p + 6));
		else
			snprintf(s, size, "User Control");
		break;
	case RTMP_MSG_AUDIO:
		snprintf(s, size, "Audio Data");
		break;
	case RTMP_MSG_VIDEO:
		snprintf(s, size, "Video Data");
		break;
	case RTMP_MSG_DATA_AMF0:
	case RTMP_MSG_COMMAND_AMF0:
		amf_name(g, name, sizeof(name));
		snprintf(s, size, "%s(", name);
		break;
	default:
		snprintf(s, size, "type %u", g->type);
		break;
	}
}

/* The transcript's messages in one direction, in order, handshake left out. */
static char **
transcript(const char *name, const char *dir, size_t *count)
{
	char		 rel[256], *text, *line, *next, *tok, *p, **v = NULL;
	const char	*mark = strcmp(dir, "c2s") == 0 ? " C>S " : " S>C ";
	size_t		 len, n = 0, cap = 0;
	int		 bar = 0;

	*count = 0;
	snprintf(rel, sizeof(rel), "captures/%s.txt", name);
	if ((text = (char *)unit_read_data(rel, &len)) == NULL)
		return NULL;
	text = realloc(text, len + 1);
	text[len] = '\0';
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((p = strstr(line, mark)) == NULL)
			continue;
		p += strlen(mark);
		if (strncmp(p, "Handshake", 9) == 0)
			continue;
		/* "a||b" is a then "|b": a name that starts with a bar. */
		for (tok = p; tok != NULL; tok = p) {
			if ((p = strchr(tok, '|')) != NULL)
				*p++ = '\0';
			if (*tok == '\0') {
				bar = 1;
				continue;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				v = realloc(v, cap * sizeof(*v));
			}
			v[n] = malloc(strlen(tok) + 2);
			sprintf(v[n++], "%s%s", bar ? "|" : "", tok);
			bar = 0;
		}
	}
	free(text);
	*count = n;
	return v;
}

struct replay {
	struct gots	 g;
	int		 ok;
};

static void
replay_one(const char *name, const char *dir, struct replay *r, size_t step)
{
	struct chunk_decoder	 d;
	unsigned char		*data;
	char			 rel[256];
	size_t			 len;

	memset(r, 0, sizeof(*r));
	snprintf(rel, sizeof(rel), "captures/%s.%s.bin", name, dir);
	if ((data = unit_read_data(rel, &len)) == NULL || len <= HANDSHAKE_BYTES ||
	    chunk_decoder_init(&d, NULL) < 0) {
		free(data);
		return;
	}
	decode_all(&d, data + HANDSHAKE_BYTES, len - HANDSHAKE_BYTES, step, 1, &r->g);
	r->ok = r->g.rc == CHUNK_NEED_MORE && r->g.used == len - HANDSHAKE_BYTES;
	chunk_decoder_free(&d);
	free(data);
}

static int
has_type(const struct gots *g, uint8_t type)
{
	size_t	 i;

	for (i = 0; i < g->n; i++)
		if (g->v[i].type == type)
			return 1;
	return 0;
}

/* Index of the first AMF0 message named name at or after from, or -1. */
static long
find_command(const struct gots *g, const char *name, size_t from)
{
	char	 s[128];
	size_t	 i;

	for (i = from; i < g->n; i++) {
		if (g->v[i].type != RTMP_MSG_COMMAND_AMF0 && g->v[i].type != RTMP_MSG_DATA_AMF0)
			continue;
		amf_name(&g->v[i], s, sizeof(s));
		if (strcmp(s, name) == 0)
			return (long)i;
	}
	return -1;
}

static const char *const captures[] = {
	"ffmpeg-play", "ffmpeg-publish", "ffprobe-probe", "gstreamer-play",
	"gstreamer-publish", "librtmp-publish", "nginx-push", "rtmpdump-play",
	"vlc-play",
};
static const char *const players[] = {
	"ffmpeg-play", "ffprobe-probe", "gstreamer-play", "rtmpdump-play", "vlc-play",
};
static const char *const publishers[] = {
	"ffmpeg-publish", "gstreamer-publish", "librtmp-publish", "nginx-push",
};

static void
replay_session(const char *name, const char *dir)
{
	struct replay	 a, b;
	char		 desc[256], **tr;
	size_t		 i, ntr, mismatch = 0, diff = 0;

	replay_one(name, dir, &a, 0);
	CHECK(a.ok, "%s %s: %zu messages, ends asking for more at the 64 KiB cut (rc %d)",
	    name, dir, a.g.n, a.g.rc);
	/* Random pieces and single bytes decode to the same messages. */
	for (i = 0; i < 2; i++) {
		replay_one(name, dir, &b, i == 0 ? 1 : 700);
		if (b.g.n != a.g.n || !b.ok)
			diff++;
		else {
			size_t	 j;

			for (j = 0; j < a.g.n; j++)
				if (a.g.v[j].ts != b.g.v[j].ts || a.g.v[j].len != b.g.v[j].len ||
				    a.g.v[j].type != b.g.v[j].type ||
				    memcmp(a.g.v[j].payload, b.g.v[j].payload, a.g.v[j].len) != 0)
					diff++;
		}
		gots_free(&b.g);
	}
	CHECK_EQ(diff, 0, "%s %s: byte-at-a-time and random pieces decode the same", name, dir);

	/* The same messages as Wireshark's transcript, in order. */
	tr = transcript(name, dir, &ntr);
	for (i = 0; i < a.g.n; i++) {
		describe(&a.g.v[i], desc, sizeof(desc));
		if (i >= ntr || strncmp(tr[i], desc, strlen(desc)) != 0) {
			if (mismatch++ == 0)
				printf("# %s %s message %zu: decoded \"%s\", transcript \"%s\"\n",
				    name, dir, i, desc, i < ntr ? tr[i] : "(none)");
		}
	}
	CHECK(tr != NULL && mismatch == 0 && a.g.n > 0,
	    "%s %s: all %zu decoded messages match the transcript", name, dir, a.g.n);
	for (i = 0; i < ntr; i++)
		free(tr[i]);
	free(tr);
	gots_free(&a.g);
}

static void
replays(void)
{
	struct replay	 r;
	char		 s[64];
	uint32_t	 last[2];
	size_t		 i, j, k, back;
	long		 at;
	int		 seen, ok;
	static const char *const librtmp_seq[] = {
		"connect", "releaseStream", "FCPublish", "createStream", "publish",
	};

	for (i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		replay_session(captures[i], "c2s");
		replay_session(captures[i], "s2c");
	}

	replay_one("ffmpeg-publish", "c2s", &r, 0);
	amf_name(&r.g.v[0], s, sizeof(s));
	CHECK(r.g.n > 0 && r.g.v[0].type == RTMP_MSG_COMMAND_AMF0 && strcmp(s, "connect") == 0,
	    "ffmpeg-publish: first message is the AMF0 command connect");
	CHECK(has_type(&r.g, RTMP_MSG_AUDIO) && has_type(&r.g, RTMP_MSG_VIDEO),
	    "ffmpeg-publish: audio and video messages");
	at = find_command(&r.g, "@setDataFrame", 0);
	CHECK(at >= 0 && r.g.v[at].type == RTMP_MSG_DATA_AMF0,
	    "ffmpeg-publish: @setDataFrame data message (type 18)");
	/* ffmpeg raises its chunk size to 4096 before publishing. */
	for (seen = 0, j = 0; j < r.g.n; j++)
		if (r.g.v[j].type == RTMP_MSG_SET_CHUNK_SIZE && be32(r.g.v[j].payload) == 4096)
			seen = 1;
	CHECK(seen, "ffmpeg-publish: Set Chunk Size 4096 applied");
	gots_free(&r.g);

	replay_one("librtmp-publish", "c2s", &r, 0);
	for (ok = 1, k = 0, j = 0; j < sizeof(librtmp_seq) / sizeof(librtmp_seq[0]); j++) {
		at = find_command(&r.g, librtmp_seq[j], k);
		if (at < 0 || r.g.v[at].type != RTMP_MSG_COMMAND_AMF0) {
			ok = 0;
			break;
		}
		k = (size_t)at + 1;
	}
	CHECK(ok, "librtmp-publish: connect, releaseStream, FCPublish, createStream, publish in order");
	for (seen = 0, j = 0; j < r.g.n; j++)
		if (r.g.v[j].type == RTMP_MSG_COMMAND_AMF0)
			seen++;
	CHECK_EQ(seen, 5, "librtmp-publish: exactly those five commands before media");
	gots_free(&r.g);

	for (i = 0; i < sizeof(publishers) / sizeof(publishers[0]); i++) {
		replay_one(publishers[i], "c2s", &r, 0);
		for (j = 0; j < r.g.n && r.g.v[j].type != RTMP_MSG_COMMAND_AMF0; j++)
			continue;
		CHECK(find_command(&r.g, "connect", 0) == (long)j &&
		    find_command(&r.g, "publish", 0) > (long)j &&
		    has_type(&r.g, RTMP_MSG_AUDIO) && has_type(&r.g, RTMP_MSG_VIDEO),
		    "%s: connect is the first command, then publish, audio and video", publishers[i]);
		gots_free(&r.g);
	}

	for (i = 0; i < sizeof(players) / sizeof(players[0]); i++) {
		replay_one(players[i], "s2c", &r, 0);
		last[0] = last[1] = 0;
		for (back = 0, seen = 0, j = 0; j < r.g.n; j++) {
			const struct got	*g = &r.g.v[j];

			if (g->type == RTMP_MSG_SET_CHUNK_SIZE && g->len == 4 && be32(g->payload) == 4096)
				seen = 1;
			if (g->type != RTMP_MSG_AUDIO && g->type != RTMP_MSG_VIDEO)
				continue;
			k = g->type == RTMP_MSG_AUDIO ? 0 : 1;
			if (g->ts < last[k])
				back++;
			last[k] = g->ts;
		}
		CHECK(has_type(&r.g, RTMP_MSG_AUDIO) && has_type(&r.g, RTMP_MSG_VIDEO),
		    "%s s2c: audio and video messages", players[i]);
		CHECK_EQ(back, 0, "%s s2c: timestamps non-decreasing per type", players[i]);
		CHECK(seen, "%s s2c: Set Chunk Size 4096 from nginx", players[i]);
		gots_free(&r.g);
	}
}

/* Hostile and hand-made input. */

/* Feed all of b in one call; the result, *consumed and *m. */
static int
feed(struct chunk_decoder *d, const struct bytes *b, size_t *consumed, struct rtmp_message *m)
{
	return chunk_decoder_feed(d, b->p, b->len, consumed, m);
}

/* Decode b in one go and in every two-piece split; all must give want. */
static int
decodes_as(const struct bytes *b, const struct got *want, size_t nwant, uint32_t cs)
{
	struct chunk_decoder	 d;
	struct gots		 g;
	size_t			 split, i, step;
	int			 ok = 1;

	for (split = 0; split <= b->len + 1 && ok; split++) {
		memset(&g, 0, sizeof(g));
		chunk_decoder_init(&d, NULL);
		chunk_decoder_set_chunk_size(&d, cs);
		if (split == b->len + 1) {
			step = 1;
			decode_all(&d, b->p, b->len, step, 0, &g);
		} else {
			decode_all(&d, b->p, split, 0, 0, &g);
			if (g.rc >= 0)
				decode_all(&d, b->p + split, b->len - split, 0, 0, &g);
		}
		ok = g.rc == CHUNK_NEED_MORE && g.n == nwant;
		for (i = 0; ok && i < nwant; i++)
			ok = g.v[i].csid == want[i].csid && g.v[i].ts == want[i].ts &&
			    g.v[i].len == want[i].len && g.v[i].type == want[i].type &&
			    g.v[i].sid == want[i].sid &&
			    memcmp(g.v[i].payload, want[i].payload, want[i].len) == 0;
		if (!ok)
			printf("# split at %zu: rc %d, %zu messages\n", split, g.rc, g.n);
		chunk_decoder_free(&d);
		gots_free(&g);
	}
	return ok;
}

static void
hostile_chunk_size(void)
{
	struct chunk_decoder	 d;
	struct chunk_limits	 l;
	struct rtmp_message	 m;
	struct bytes		 b = { 0 };
	size_t			 heap, used;
	uint8_t			 v[4] = { 0x7f, 0xff, 0xff, 0xff };
	int			 rc;

	chunk_limits_default(&l);
	CHECK(l.max_message_size == 16 * 1024 * 1024 && l.max_chunk_streams == 64 &&
	    l.max_chunk_size == 16 * 1024 * 1024 && l.min_chunk_size == 1, "default limits");
	chunk_decoder_init(&d, NULL);
	CHECK_EQ(d.chunk_size, 128, "decoder starts at chunk size 128");
	heap = heap_in_use();
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 0x7fffffff), RTMP_ELIMIT,
	    "Set Chunk Size 0x7fffffff: RTMP_ELIMIT");
	CHECK(heap_in_use() - heap < 4096, "Set Chunk Size 0x7fffffff allocates nothing");
	CHECK_EQ(d.chunk_size, 128, "refused size leaves the chunk size alone");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 0), RTMP_EPROTO, "Set Chunk Size 0: RTMP_EPROTO");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 0x80000000u), RTMP_EPROTO,
	    "Set Chunk Size with the top bit: RTMP_EPROTO");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 0xffffffffu), RTMP_EPROTO,
	    "Set Chunk Size -1: RTMP_EPROTO");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 16 * 1024 * 1024 + 1), RTMP_ELIMIT,
	    "Set Chunk Size above max_chunk_size: RTMP_ELIMIT");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 16 * 1024 * 1024), 0,
	    "Set Chunk Size of max_chunk_size accepted");
	/* At the largest chunk size a small message still costs little. */
	heap = heap_in_use();
	add_header(&b, 0, 3, 0, 100, 8, 1);
	add_fill(&b, 0xaa, 50);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_NEED_MORE && heap_in_use() - heap < 4096,
	    "16 MiB chunks: a partial 100-byte message holds < 4 KiB");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 1), 0, "Set Chunk Size 1 (the spec minimum) accepted");
	chunk_decoder_free(&d);

	l.min_chunk_size = 128;
	chunk_decoder_init(&d, &l);
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 127), RTMP_ELIMIT,
	    "Set Chunk Size below min_chunk_size: RTMP_ELIMIT");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 128), 0, "Set Chunk Size of min_chunk_size accepted");
	chunk_decoder_free(&d);

	/* As the session sees it: a Set Chunk Size message, then the refusal. */
	b.len = 0;
	add_header(&b, 0, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0);
	bytes_add(&b, v, 4);
	chunk_decoder_init(&d, NULL);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && m.type == RTMP_MSG_SET_CHUNK_SIZE && m.length == 4 &&
	    chunk_decoder_set_chunk_size(&d, be32(m.payload)) == RTMP_ELIMIT,
	    "decoded Set Chunk Size 0x7fffffff is refused by the decoder");
	chunk_decoder_free(&d);
	free(b.p);
}

static void
hostile_csid(void)
{
	struct chunk_decoder	 d;
	struct chunk_limits	 l;
	struct rtmp_message	 m;
	uint8_t			 h[CHUNK_MAX_HEADER + 1];
	size_t			 n, used, heap;
	uint32_t		 csid, ok = 0;
	int			 rc = 0;

	/* The spec's whole id range, through all three basic header forms. */
	chunk_limits_default(&l);
	l.max_chunk_streams = 1000000;
	chunk_decoder_init(&d, &l);
	for (csid = 2; csid <= 65599; csid++) {
		n = put_header(h, 0, csid, csid, 1, 8, 1);
		h[n++] = (uint8_t)csid;
		rc = chunk_decoder_feed(&d, h, n, &used, &m);
		if (rc == CHUNK_MESSAGE && used == n && m.chunk_stream_id == csid &&
		    m.timestamp == csid && m.length == 1 && m.payload[0] == (uint8_t)csid)
			ok++;
	}
	CHECK_EQ(ok, 65598, "every chunk stream id 2..65599 decodes (table clamped to 65598)");
	chunk_decoder_free(&d);

	/* A sweep against the default table of 64. */
	chunk_decoder_init(&d, NULL);
	heap = heap_in_use();
	ok = 0;
	for (csid = 3; csid <= 65599; csid++) {
		n = put_header(h, 0, csid, 0, 1, 8, 1);
		h[n++] = 0;
		rc = chunk_decoder_feed(&d, h, n, &used, &m);
		if (rc != CHUNK_MESSAGE)
			break;
		ok++;
	}
	CHECK(ok == 64 && rc == RTMP_ELIMIT && csid == 67,
	    "csid sweep: RTMP_ELIMIT at the 65th chunk stream (csid %u, rc %d)", csid, rc);
	CHECK(heap_in_use() - heap < 64 * 1024, "csid sweep: memory bounded (%zu bytes)",
	    heap_in_use() - heap);
	/* Known ids still work after the refusal. */
	n = put_header(h, 1, 3, 10, 1, 9, 0);
	h[n++] = 7;
	rc = chunk_decoder_feed(&d, h, n, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && m.timestamp == 10 && m.type == 9,
	    "a known chunk stream decodes after the table filled");
	chunk_decoder_free(&d);
}

/* The table of chunk streams is grown as they appear, partial messages and all. */
static void
table_growth(void)
{
	struct chunk_decoder	 d;
	struct rtmp_message	 m;
	uint8_t			 in[256], body[200];
	size_t			 n, used, i;
	uint32_t		 csid;
	int			 rc, ok = 1;

	CHECK_EQ(chunk_decoder_init(&d, NULL), 0, "init");
	CHECK(d.streams == NULL && d.nalloc == 0, "a fresh decoder holds no table");
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7);
	/* The first 128 bytes of a 200-byte message on chunk stream 3. */
	n = put_header(in, 0, 3, 1000, sizeof(body), 9, 1);
	memcpy(in + n, body, 64);
	n += 64;
	rc = chunk_decoder_feed(&d, in, n, &used, &m);
	rc |= chunk_decoder_feed(&d, body + 64, 64, &used, &m);
	CHECK(rc == CHUNK_NEED_MORE && d.nstreams == 1 && d.nalloc > 0 && d.nalloc <= 4,
	    "one chunk stream: a table of a few (%u)", d.nalloc);
	/* Messages on eight more chunk streams grow the table under it. */
	for (csid = 4; csid < 12; csid++) {
		n = put_header(in, 0, csid, csid, 1, 8, 1);
		in[n++] = (uint8_t)csid;
		rc = chunk_decoder_feed(&d, in, n, &used, &m);
		if (rc != CHUNK_MESSAGE || used != n || m.chunk_stream_id != csid ||
		    m.payload[0] != (uint8_t)csid)
			ok = 0;
	}
	CHECK(ok && d.nstreams == 9 && d.nalloc >= 9 && d.nalloc <= 16,
	    "eight more chunk streams decode, the table grew to %u", d.nalloc);
	/* The rest of the partial message, after the table moved. */
	n = put_basic(in, 3, 3);
	memcpy(in + n, body + 128, sizeof(body) - 128);
	n += sizeof(body) - 128;
	rc = chunk_decoder_feed(&d, in, n, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && used == n && m.chunk_stream_id == 3 &&
	    m.timestamp == 1000 && m.length == sizeof(body) &&
	    memcmp(m.payload, body, sizeof(body)) == 0,
	    "a partial message survives the table growing");
	CHECK(d.buffered > 0 && chunk_decoder_feed(&d, NULL, 0, &used, &m) == CHUNK_NEED_MORE &&
	    d.buffered == 0, "a small message's buffer goes back at the next feed");
	chunk_decoder_free(&d);
}

static void
hostile_lengths(void)
{
	struct chunk_decoder	 d;
	struct chunk_limits	 l;
	struct rtmp_message	 m;
	struct bytes		 b = { 0 };
	size_t			 heap, used, i;
	uint32_t		 csid;
	int			 rc = 0, ok;

	/* 64 chunk streams each declaring 16 MiB and sending one chunk. */
	chunk_decoder_init(&d, NULL);
	heap = heap_in_use();
	for (csid = 3; csid < 3 + 64; csid++) {
		add_header(&b, 0, csid, 0, 0xffffff, 9, 1);
		add_fill(&b, 0x55, 128);
	}
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_NEED_MORE && used == b.len,
	    "64 x 0xffffff-byte messages, bodies held back: waiting");
	CHECK(heap_in_use() - heap < 256 * 1024,
	    "... and holding %zu bytes, not 1 GiB", heap_in_use() - heap);
	chunk_decoder_free(&d);

	/* With a small max_message_size the header alone is refused. */
	chunk_limits_default(&l);
	l.max_message_size = 1024 * 1024;
	chunk_decoder_init(&d, &l);
	b.len = 0;
	add_header(&b, 0, 3, 0, 1024 * 1024 + 1, 9, 1);
	for (ok = 1, i = 0; i + 1 < b.len; i++) {
		rc = chunk_decoder_feed(&d, b.p + i, 1, &used, &m);
		if (rc != CHUNK_NEED_MORE || used != 1)
			ok = 0;
	}
	rc = chunk_decoder_feed(&d, b.p + i, 1, &used, &m);
	CHECK(ok && rc == RTMP_ELIMIT, "length over max_message_size: RTMP_ELIMIT at the header's last byte");
	chunk_decoder_free(&d);
	chunk_decoder_init(&d, &l);
	b.len = 0;
	add_header(&b, 0, 3, 0, 1024 * 1024, 9, 1);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_NEED_MORE, "length of exactly max_message_size accepted");
	b.len = 0;
	add_header(&b, 1, 4, 0, 0, 9, 1);
	chunk_decoder_free(&d);

	/* A type 1 header over a 100-byte partial on a fresh decoder. */
	chunk_decoder_init(&d, &l);
	b.len = 0;
	add_header(&b, 0, 3, 0, 10, 9, 1);
	add_fill(&b, 1, 10);
	add_header(&b, 1, 3, 0, 2 * 1024 * 1024, 9, 0);
	rc = feed(&d, &b, &used, &m);
	rc = chunk_decoder_feed(&d, b.p + used, b.len - used, &used, &m);
	CHECK_EQ(rc, RTMP_ELIMIT, "type 1 header over max_message_size: RTMP_ELIMIT");
	chunk_decoder_free(&d);
	free(b.p);
}

static void
hostile_headers(void)
{
	static const struct {
		unsigned	 fmt;
		uint32_t	 len;
		const char	*what;
	} mid[] = {
		{ 1, 100, "type 1 changing the length mid-message" },
		{ 1, 300, "type 1 keeping the length mid-message" },
		{ 2, 0, "type 2 mid-message" },
		{ 0, 300, "type 0 over a partial message" },
	};
	struct chunk_decoder	 d;
	struct rtmp_message	 m;
	struct bytes		 b = { 0 };
	size_t			 used, i;
	unsigned		 fmt;
	int			 rc;

	for (i = 0; i < sizeof(mid) / sizeof(mid[0]); i++) {
		chunk_decoder_init(&d, NULL);
		b.len = 0;
		add_header(&b, 0, 4, 0, 300, 9, 1);
		add_fill(&b, 1, 128);
		add_header(&b, mid[i].fmt, 4, 0, mid[i].len, 9, 1);
		add_fill(&b, 2, 128);
		rc = feed(&d, &b, &used, &m);
		CHECK_EQ(rc, RTMP_EPROTO, "%s: RTMP_EPROTO", mid[i].what);
		CHECK_EQ(used, 128 + 12, "... refused at that header");
		chunk_decoder_free(&d);
	}
	for (fmt = 1; fmt <= 3; fmt++) {
		chunk_decoder_init(&d, NULL);
		b.len = 0;
		add_header(&b, 0, 3, 0, 1, 9, 1);
		add_fill(&b, 1, 1);
		add_header(&b, fmt, 5, 0, 1, 9, 1);
		add_fill(&b, 1, 1);
		rc = feed(&d, &b, &used, &m);
		rc = chunk_decoder_feed(&d, b.p + used, b.len - used, &used, &m);
		CHECK_EQ(rc, RTMP_EPROTO, "type %u on a never-seen chunk stream: RTMP_EPROTO", fmt);
		chunk_decoder_free(&d);
	}
	free(b.p);
}

static void
abort_and_resize(void)
{
	struct chunk_decoder	 d;
	struct rtmp_message	 m;
	struct bytes		 b = { 0 };
	uint8_t			 body4[300], body5[5000];
	size_t			 used, i;
	int			 rc;

	for (i = 0; i < sizeof(body4); i++)
		body4[i] = (uint8_t)(i * 7);
	for (i = 0; i < sizeof(body5); i++)
		body5[i] = (uint8_t)(i * 13 + 1);

	/* Chunk size changes while two chunk streams hold partial messages. */
	chunk_decoder_init(&d, NULL);
	add_header(&b, 0, 4, 100, 300, 9, 1);
	bytes_add(&b, body4, 128);
	add_header(&b, 0, 5, 200, 5000, 8, 1);
	bytes_add(&b, body5, 128);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_NEED_MORE && used == b.len, "two partial messages held");
	CHECK_EQ(chunk_decoder_set_chunk_size(&d, 4096), 0, "chunk size raised to 4096");
	b.len = 0;
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, body4 + 128, 172);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && used == b.len && m.chunk_stream_id == 4 && m.length == 300 &&
	    m.timestamp == 100 && memcmp(m.payload, body4, 300) == 0,
	    "partial from before the change completes intact");
	b.len = 0;
	add_header(&b, 3, 5, 0, 0, 0, 0);
	bytes_add(&b, body5 + 128, 4096);
	add_header(&b, 3, 5, 0, 0, 0, 0);
	bytes_add(&b, body5 + 128 + 4096, 5000 - 128 - 4096);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && used == b.len && m.chunk_stream_id == 5 && m.length == 5000 &&
	    m.timestamp == 200 && memcmp(m.payload, body5, 5000) == 0,
	    "the other partial continues in 4096-byte chunks, intact");
	chunk_decoder_free(&d);

	/* Abort drops only the partial it names. */
	chunk_decoder_init(&d, NULL);
	b.len = 0;
	add_header(&b, 0, 4, 100, 300, 9, 1);
	bytes_add(&b, body4, 128);
	add_header(&b, 0, 5, 200, 200, 8, 1);
	bytes_add(&b, body5, 128);
	rc = feed(&d, &b, &used, &m);
	chunk_decoder_abort(&d, 77);
	chunk_decoder_abort(&d, 65599);
	chunk_decoder_abort(&d, 4);
	b.len = 0;
	add_header(&b, 3, 5, 0, 0, 0, 0);
	bytes_add(&b, body5 + 128, 72);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && m.chunk_stream_id == 5 && m.length == 200 &&
	    memcmp(m.payload, body5, 200) == 0, "Abort of 4 (and of unknown 77, 65599) leaves 5 intact");
	b.len = 0;
	add_header(&b, 0, 4, 500, 3, 9, 1);
	bytes_add(&b, "abc", 3);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && m.chunk_stream_id == 4 && m.length == 3 && m.timestamp == 500 &&
	    memcmp(m.payload, "abc", 3) == 0, "after Abort a type 0 header starts afresh on 4");
	b.len = 0;
	add_header(&b, 2, 4, 20, 0, 0, 0);
	bytes_add(&b, "def", 3);
	rc = feed(&d, &b, &used, &m);
	CHECK(rc == CHUNK_MESSAGE && m.length == 3 && m.timestamp == 520 &&
	    memcmp(m.payload, "def", 3) == 0, "... and its header state carries on");
	chunk_decoder_free(&d);
	free(b.p);
}

static void
timestamps(void)
{
	struct bytes	 b = { 0 };
	struct got	 w[8];
	uint8_t		 body[300];
	size_t		 i;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i + 3);

	/* Type 3 starting a message adds the last delta; after type 0, its timestamp. */
	add_header(&b, 0, 6, 1000, 2, 8, 1);
	bytes_add(&b, "aa", 2);
	add_header(&b, 3, 6, 0, 0, 0, 0);
	bytes_add(&b, "bb", 2);
	add_header(&b, 2, 6, 40, 0, 0, 0);
	bytes_add(&b, "cc", 2);
	add_header(&b, 3, 6, 0, 0, 0, 0);
	bytes_add(&b, "dd", 2);
	add_header(&b, 1, 6, 10, 3, 9, 0);
	bytes_add(&b, "eee", 3);
	add_header(&b, 3, 6, 0, 0, 0, 0);
	bytes_add(&b, "fff", 3);
	w[0] = (struct got){ 6, 1, 1000, 2, 8, (uint8_t *)"aa" };
	w[1] = (struct got){ 6, 1, 2000, 2, 8, (uint8_t *)"bb" };
	w[2] = (struct got){ 6, 1, 2040, 2, 8, (uint8_t *)"cc" };
	w[3] = (struct got){ 6, 1, 2080, 2, 8, (uint8_t *)"dd" };
	w[4] = (struct got){ 6, 1, 2090, 3, 9, (uint8_t *)"eee" };
	w[5] = (struct got){ 6, 1, 2100, 3, 9, (uint8_t *)"fff" };
	CHECK(decodes_as(&b, w, 6, 128), "type 3 new messages: delta after type 0 is its timestamp");

	/* Extended timestamp, repeated on continuation chunks. */
	b.len = 0;
	add_header(&b, 0, 4, 0x01000000, 300, 9, 1);
	bytes_add(&b, body, 128);
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, "\x01\x00\x00\x00", 4);
	bytes_add(&b, body + 128, 128);
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, "\x01\x00\x00\x00", 4);
	bytes_add(&b, body + 256, 44);
	w[0] = (struct got){ 4, 1, 0x01000000, 300, 9, body };
	/* A type 3 new message repeats the field too; its delta is 0x01000000. */
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, "\x01\x00\x00\x00", 4);
	bytes_add(&b, body, 128);
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, "\x01\x00\x00\x00", 4);
	bytes_add(&b, body + 128, 128);
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, "\x01\x00\x00\x00", 4);
	bytes_add(&b, body + 256, 44);
	w[1] = (struct got){ 4, 1, 0x02000000, 300, 9, body };
	add_header(&b, 0, 5, 0, 1, 8, 1);
	bytes_add(&b, "z", 1);
	w[2] = (struct got){ 5, 1, 0, 1, 8, (uint8_t *)"z" };
	CHECK(decodes_as(&b, w, 3, 128), "extended timestamp repeated on type 3 chunks");

	/* ... and not repeated (librtmp 2.4), the last chunk shorter than 4 bytes. */
	b.len = 0;
	add_header(&b, 0, 4, 0x01000000, 258, 9, 1);
	bytes_add(&b, body, 128);
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, body + 128, 128);
	add_header(&b, 3, 4, 0, 0, 0, 0);
	bytes_add(&b, body + 256, 2);
	w[0] = (struct got){ 4, 1, 0x01000000, 258, 9, body };
	add_header(&b, 0, 5, 0, 1, 8, 1);
	bytes_add(&b, "z", 1);
	w[1] = (struct got){ 5, 1, 0, 1, 8, (uint8_t *)"z" };
	add_header(&b, 2, 5, 7, 0, 0, 0);
	bytes_add(&b, "y", 1);
	w[2] = (struct got){ 5, 1, 7, 1, 8, (uint8_t *)"y" };
	CHECK(decodes_as(&b, w, 3, 128), "extended timestamp not repeated on type 3 chunks");

	/* An extended delta on type 1 and type 2, and the wrap at 2^32. */
	b.len = 0;
	add_header(&b, 0, 7, 5, 1, 8, 2);
	bytes_add(&b, "a", 1);
	add_header(&b, 1, 7, 0x01000005, 2, 9, 0);
	bytes_add(&b, "bb", 2);
	add_header(&b, 2, 7, 0xffffff, 0, 0, 0);
	bytes_add(&b, "cc", 2);
	add_header(&b, 0, 8, 0xfffffff0u, 1, 8, 2);
	bytes_add(&b, "d", 1);
	add_header(&b, 2, 8, 0x20, 0, 0, 0);
	bytes_add(&b, "e", 1);
	w[0] = (struct got){ 7, 2, 5, 1, 8, (uint8_t *)"a" };
	w[1] = (struct got){ 7, 2, 0x0100000a, 2, 9, (uint8_t *)"bb" };
	w[2] = (struct got){ 7, 2, 0x0100000a + 0xffffff, 2, 9, (uint8_t *)"cc" };
	w[3] = (struct got){ 8, 2, 0xfffffff0u, 1, 8, (uint8_t *)"d" };
	w[4] = (struct got){ 8, 2, 0x10, 1, 8, (uint8_t *)"e" };
	CHECK(decodes_as(&b, w, 5, 128), "extended deltas on types 1 and 2; timestamps wrap at 2^32");

	/* Zero-length messages come out, and the decoder moves on. */
	b.len = 0;
	add_header(&b, 0, 3, 9, 0, 20, 0);
	add_header(&b, 2, 3, 5, 0, 0, 0);
	add_header(&b, 1, 3, 1, 3, 20, 0);
	bytes_add(&b, "xyz", 3);
	add_header(&b, 3, 3, 0, 0, 0, 0);
	bytes_add(&b, "uvw", 3);
	w[0] = (struct got){ 3, 0, 9, 0, 20, (uint8_t *)"" };
	w[1] = (struct got){ 3, 0, 14, 0, 20, (uint8_t *)"" };
	w[2] = (struct got){ 3, 0, 15, 3, 20, (uint8_t *)"xyz" };
	w[3] = (struct got){ 3, 0, 16, 3, 20, (uint8_t *)"uvw" };
	CHECK(decodes_as(&b, w, 4, 128), "zero-length messages returned with length 0");

	/* The basic header forms at their edges, chunk size 1. */
	b.len = 0;
	add_header(&b, 0, 63, 1, 2, 8, 0);
	bytes_add(&b, "a", 1);
	add_header(&b, 3, 63, 0, 0, 0, 0);
	bytes_add(&b, "b", 1);
	add_header(&b, 0, 319, 2, 2, 8, 0);
	bytes_add(&b, "c", 1);
	add_header(&b, 0, 320, 3, 1, 8, 0);
	bytes_add(&b, "e", 1);
	add_header(&b, 3, 319, 0, 0, 0, 0);
	bytes_add(&b, "d", 1);
	w[0] = (struct got){ 63, 0, 1, 2, 8, (uint8_t *)"ab" };
	w[1] = (struct got){ 320, 0, 3, 1, 8, (uint8_t *)"e" };
	w[2] = (struct got){ 319, 0, 2, 2, 8, (uint8_t *)"cd" };
	CHECK(decodes_as(&b, w, 3, 1), "csid 63/319/320 headers interleaved at chunk size 1");
	free(b.p);
}

static void
views(void)
{
	struct chunk_decoder	 d;
	struct rtmp_message	 m;
	struct bytes		 b = { 0 };
	uint8_t			 body[300] = { 0 };
	size_t			 used, total = 0;
	int			 rc;

	chunk_decoder_init(&d, NULL);
	add_header(&b, 0, 3, 0, 100, 9, 1);
	bytes_add(&b, body, 100);
	rc = feed(&d, &b, &used, &m);
	total += used;
	CHECK(rc == CHUNK_MESSAGE && m.payload == b.p + 12,
	    "a whole single-chunk message is a view into the input");
	b.len = 0;
	add_header(&b, 0, 3, 0, 300, 9, 1);
	bytes_add(&b, body, 128);
	add_header(&b, 3, 3, 0, 0, 0, 0);
	bytes_add(&b, body, 128);
	add_header(&b, 3, 3, 0, 0, 0, 0);
	bytes_add(&b, body, 44);
	rc = feed(&d, &b, &used, &m);
	total += used;
	CHECK(rc == CHUNK_MESSAGE && (m.payload < b.p || m.payload >= b.p + b.len),
	    "a multi-chunk message comes from the decoder's buffer");
	CHECK_EQ(d.bytes_in, total, "bytes_in counts what was consumed");
	chunk_decoder_free(&d);
	free(b.p);
}

static void
encoder(void)
{
	struct chunk_encoder	 e, e2;
	struct rtmp_message	 m;
	struct buf		 out;
	uint8_t			 body[300], o[1024], o2[1024];
	int			 rc;
	size_t			 i;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)i;
	chunk_encoder_init(&e);
	CHECK_EQ(e.chunk_size, 128, "encoder starts at chunk size 128");
	m = (struct rtmp_message){ 0, 9, 1, 1000, 10, body };
	CHECK_EQ(chunk_encode(&e, &m, o, sizeof(o)), RTMP_EINVAL, "csid 0 refused");
	m.chunk_stream_id = 1;
	CHECK_EQ(chunk_encode(&e, &m, o, sizeof(o)), RTMP_EINVAL, "csid 1 refused");
	m.chunk_stream_id = 65600;
	CHECK_EQ(chunk_encode(&e, &m, o, sizeof(o)), RTMP_EINVAL, "csid 65600 refused");
	CHECK_EQ(chunk_encoded_size(&e, &m), 0, "chunk_encoded_size 0 for a refused message");
	m.chunk_stream_id = 4;
	m.length = 0x1000000;
	CHECK_EQ(chunk_encode(&e, &m, o, sizeof(o)), RTMP_EINVAL, "length above 0xffffff refused");

	m.length = 10;
	CHECK_EQ(chunk_encode(&e, &m, o, 21), RTMP_ESPACE, "a short buffer: RTMP_ESPACE");
	rc = chunk_encode(&e, &m, o, sizeof(o));
	CHECK(rc == 22 && o[0] == 0x04 && o[7] == 9 && o[8] == 1 && memcmp(o + 12, body, 10) == 0,
	    "first message on a chunk stream: type 0 (after a refusal, state unchanged)");
	m.timestamp = 1040;
	rc = chunk_encode(&e, &m, o, sizeof(o));
	CHECK(rc == 14 && o[0] == (0x80 | 4) && o[3] == 40, "same length and type: type 2 with delta 40");
	m.length = 11;
	m.timestamp = 1050;
	rc = chunk_encode(&e, &m, o, sizeof(o));
	CHECK(rc == 19 && o[0] == (0x40 | 4) && o[3] == 10 && o[6] == 11,
	    "new length: type 1 with delta 10");
	m.timestamp = 1049;
	rc = chunk_encode(&e, &m, o, sizeof(o));
	CHECK(rc == 23 && o[0] == 4, "timestamp going back: type 0");
	m.stream_id = 2;
	m.timestamp = 1100;
	rc = chunk_encode(&e, &m, o, sizeof(o));
	CHECK(rc == 23 && o[0] == 4 && o[8] == 2, "new message stream id: type 0");

	/* Extended timestamp, repeated on each continuation chunk. */
	chunk_encoder_init(&e);
	m = (struct rtmp_message){ 3, 8, 1, 0x12345678, 300, body };
	CHECK_EQ(chunk_encoded_size(&e, &m), 12 + 4 + 300 + 2 * 5, "extended size: 4 more per chunk");
	rc = chunk_encode(&e, &m, o, sizeof(o));
	CHECK(rc == 326 && o[1] == 0xff && o[2] == 0xff && o[3] == 0xff &&
	    memcmp(o + 12, "\x12\x34\x56\x78", 4) == 0 && o[16 + 128] == 0xc3 &&
	    memcmp(o + 17 + 128, "\x12\x34\x56\x78", 4) == 0 && o[21 + 256] == 0xc3,
	    "extended timestamp in the header and repeated after each type 3 header");

	/* More chunk streams than slots: still decodable, type 0 after eviction. */
	chunk_encoder_init(&e);
	chunk_encoder_set_chunk_size(&e, 0);
	CHECK_EQ(e.chunk_size, 128, "chunk size 0 ignored");
	chunk_encoder_set_chunk_size(&e, 4096);
	for (i = 0; i < 20; i++) {
		m = (struct rtmp_message){ (uint32_t)(3 + i), 8, 1, 5, 3, body };
		rc = chunk_encode(&e, &m, o, sizeof(o));
	}
	m = (struct rtmp_message){ 3, 8, 1, 5, 3, body };
	CHECK_EQ(chunk_encoded_size(&e, &m), 15, "an evicted chunk stream gets type 0 again");

	/* chunk_encode_buf appends; basic header sizes by id. */
	buf_init(&out, 0);
	chunk_encoder_init(&e);
	e2 = e;
	m = (struct rtmp_message){ 64, 8, 1, 5, 3, body };
	rc = chunk_encode_buf(&e, &m, &out);
	m.chunk_stream_id = 320;
	rc += chunk_encode_buf(&e, &m, &out);
	CHECK(rc == 16 + 17 && out.len == 33 && out.data[0] == 0 && out.data[1] == 0 &&
	    out.data[16] == 1 && out.data[17] == 0 && out.data[18] == 1,
	    "chunk_encode_buf: 2- and 3-byte basic headers appended");
	m.chunk_stream_id = 64;
	rc = chunk_encode(&e2, &m, o2, sizeof(o2));
	CHECK(rc == 16 && memcmp(o2, out.data, 16) == 0, "chunk_encode_buf writes what chunk_encode does");
	buf_free(&out);
}

/* One type-0 chunk on csid with a message of length declared, body bytes given. */
static size_t
put_chunk0(uint8_t *p, uint32_t csid, uint32_t declared, const uint8_t *body, size_t n)
{
	size_t	 k = 0;

	p[k++] = 0x00;	/* fmt 0, 2-byte basic header: csid 64..319 */
	p[k++] = (uint8_t)(csid - 64);
	memset(p + k, 0, 3);
	k += 3;
	p[k++] = declared >> 16;
	p[k++] = declared >> 8;
	p[k++] = declared;
	p[k++] = 9;
	memset(p + k, 0, 4);
	k += 4;
	memcpy(p + k, body, n);
	return k + n;
}

/*
 * HOSTILE.md: big bodies on many chunk streams.  The total held across
 * streams is bounded: partial messages past max_buffered are refused,
 * delivered ones give their buffers back instead.
 */
static void
buffered_total(void)
{
	struct chunk_limits	 l;
	struct chunk_decoder	 d;
	struct rtmp_message	 m;
	static uint8_t		 body[65536], wire[65536 + 32];
	size_t			 n, used, off;
	uint32_t		 csid;
	int			 rc = 0, messages = 0, refused_at = -1;

	chunk_limits_default(&l);
	l.max_message_size = 1 << 20;
	l.max_buffered = 256 << 10;
	chunk_decoder_init(&d, &l);
	chunk_decoder_set_chunk_size(&d, 65536);
	for (csid = 64; csid < 64 + 32 && refused_at < 0; csid++) {
		/* 64 KiB of a message declared at 1 MiB: held as a partial. */
		n = put_chunk0(wire, csid, 1 << 20, body, sizeof(body));
		rc = chunk_decoder_feed(&d, wire, n, &used, &m);
		if (rc < 0)
			refused_at = (int)(csid - 64);
	}
	CHECK_EQ(rc, RTMP_ELIMIT, "partials past max_buffered are refused");
	CHECK(refused_at >= 3 && refused_at <= 5, "after about 256 KiB (stream %d)", refused_at);
	CHECK(d.buffered <= l.max_buffered, "held %zu <= %u", d.buffered, l.max_buffered);
	chunk_decoder_free(&d);

	chunk_decoder_init(&d, &l);
	chunk_decoder_set_chunk_size(&d, 32768);
	for (csid = 64; csid < 64 + 60; csid++) {
		/* Whole 64 KiB messages in two chunks, each on its own stream. */
		n = put_chunk0(wire, csid, sizeof(body), body, 32768);
		wire[n++] = 0xc0;	/* fmt 3, 2-byte basic header */
		wire[n++] = (uint8_t)(csid - 64);
		memcpy(wire + n, body, 32768);
		n += 32768;
		for (off = 0; off < n; off += used) {
			rc = chunk_decoder_feed(&d, wire + off, n - off, &used, &m);
			if (rc < 0)
				break;
			if (rc == CHUNK_MESSAGE)
				messages++;
		}
		if (rc < 0)
			break;
	}
	CHECK(rc >= 0 && messages == 60, "60 whole messages on 60 streams pass (%d, rc %d)",
	    messages, rc);
	CHECK(d.buffered <= l.max_buffered, "delivered buffers given back: held %zu",
	    d.buffered);
	chunk_decoder_free(&d);
}

int
main(void)
{
	static const uint32_t	 sizes[] = { 1, 127, 128, 4096, 65536, 0, 0, 0 };
	static const size_t	 steps[] = { 0, 1, 300, 5000 };
	size_t			 i, j;
	int			 id = 0;
	uint32_t		 cs;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
			cs = sizes[i] ? sizes[i] : rnd_in(2, 65536);
			roundtrip(id++, cs, steps[j], 0);
		}
		cs = sizes[i] ? sizes[i] : rnd_in(2, 65536);
		roundtrip(id++, cs, 1 + 6 * (i % 2), 1);
	}
	replays();
	hostile_chunk_size();
	hostile_csid();
	table_growth();
	hostile_lengths();
	hostile_headers();
	abort_and_resize();
	timestamps();
	views();
	encoder();
	buffered_total();
	return unit_done();
}
