/*
 * test_outq: a player's output queue of shared blocks.  Gathering and
 * partial writes, the ring growing while wrapped, the slow-player policy
 * (skip to the next keyframe, never a control block or a begun one, the
 * hard bound), and the point of it all: media chunked once with
 * chunk_encode_block() and queued to two players, interleaved with each
 * player's own control messages, decodes on both sides to the right
 * messages, although one player skipped ahead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "error.h"
#include "media.h"
#include "outq.h"
#include "unit.h"

static struct media *
block(uint8_t type, uint8_t flags, uint32_t ts, size_t len, uint8_t fill)
{
	struct media	*m = media_new(type, ts, NULL, len);

	memset(m->data, fill, len);
	m->flags = flags;
	return m;
}

/* Push a new block and drop the caller's reference; outq_push's result. */
static int
push(struct outq *q, uint8_t type, uint8_t flags, uint32_t ts, size_t len)
{
	struct media	*m = block(type, flags, ts, len, (uint8_t)ts);
	int		 rc = outq_push(q, m);

	media_unref(m);
	return rc;
}

/* Everything queued, as one byte string (what writev would send). */
static size_t
gather(const struct outq *q, uint8_t *out)
{
	struct iovec	 iov[1024];
	size_t		 n = 0;
	int		 i, cnt;

	cnt = outq_iov(q, iov, 1024);
	for (i = 0; i < cnt; i++) {
		memcpy(out + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	return n;
}

static void
basics(void)
{
	struct outq	 q;
	struct media	*a, *b;
	struct iovec	 iov[8];
	uint8_t		 out[1024];
	int		 ok, i;
	size_t		 n;

	outq_init(&q, 1000, 0, 4000);
	a = block(20, 0, 0, 10, 'a');
	b = block(9, MEDIA_KEYFRAME, 0, 20, 'b');
	CHECK_EQ(outq_push(&q, a), 0, "a control block is queued");
	CHECK_EQ(outq_push(&q, b), 0, "a video keyframe is queued");
	CHECK(a->refs == 2 && b->refs == 2, "the queue holds references, not copies");
	CHECK_EQ(q.bytes, 30, "bytes counts what is unsent");
	CHECK_EQ(outq_iov(&q, iov, 8), 2, "two blocks, two iovecs");
	CHECK(iov[0].iov_base == a->data && iov[1].iov_base == b->data,
	    "the iovecs point into the blocks");
	CHECK_EQ(outq_iov(&q, iov, 1), 1, "outq_iov stops at max");
	outq_consume(&q, 4);
	n = gather(&q, out);
	CHECK(n == 26 && out[0] == 'a' && out[6] == 'b', "a partial write leaves the rest of the head");
	outq_consume(&q, 6);
	CHECK(a->refs == 1 && q.count == 1, "a finished block is released");
	outq_consume(&q, 20);
	CHECK(b->refs == 1 && q.count == 0 && q.bytes == 0, "an empty queue holds nothing");
	CHECK_EQ(push(&q, 9, 0, 0, 0), 0, "an empty block is accepted and ignored");
	CHECK_EQ(q.count, 0, "and not queued");
	media_unref(a);
	media_unref(b);

	/* The ring grows while wrapped and keeps order. */
	ok = 1;
	for (i = 0; i < 200; i++) {
		push(&q, 20, 0, (uint32_t)i, 1);
		if (i % 3 == 0) {
			n = gather(&q, out);
			if (out[0] != (uint8_t)(i - q.count + 1))
				ok = 0;
			outq_consume(&q, 1);
		}
	}
	n = q.count;
	for (i = 0; (size_t)i < n; i++) {
		struct iovec	 v;

		outq_iov(&q, &v, 1);
		if (*(uint8_t *)v.iov_base != (uint8_t)(200 - n + (size_t)i))
			ok = 0;
		outq_consume(&q, 1);
	}
	CHECK(ok, "200 blocks through a growing, wrapping ring come out in order");
	outq_free(&q);
}

static void
slow_player(void)
{
	struct outq	 q;
	struct media	*ctl, *head;
	uint32_t	 ts;
	int		 rc, i;

	outq_init(&q, 1000, 0, 3000);
	CHECK_EQ(push(&q, 9, MEDIA_KEYFRAME, 0, 300), 0, "keyframe queued");
	head = block(9, 0, 40, 300, 1);
	outq_push(&q, head);
	ctl = block(20, 0, 40, 100, 2);
	outq_push(&q, ctl);
	CHECK_EQ(push(&q, 8, 0, 40, 200), 0, "audio queued: 900 bytes");
	outq_consume(&q, 350);	/* the keyframe went out, the next frame began */
	CHECK_EQ(q.bytes, 550, "550 bytes left");
	CHECK_EQ(push(&q, 9, 0, 80, 300), 0, "850: under the bound");
	rc = push(&q, 9, 0, 120, 300);
	CHECK_EQ(rc, 1, "a frame past max_bytes is dropped");
	CHECK_EQ(q.skips, 1, "the player skipped once");
	CHECK(q.count == 2 && head->refs == 2 && ctl->refs == 2,
	    "the begun frame and the control block stay, queued media goes");
	CHECK_EQ(q.bytes, 250 + 100, "what stays is the rest of the begun frame and the command");
	CHECK_EQ(q.dropped, 3, "three media blocks dropped: two queued, one arriving");
	CHECK_EQ(push(&q, 8, 0, 140, 10), 1, "audio is dropped while skipping");
	CHECK_EQ(push(&q, 9, 0, 160, 10), 1, "inter frames are dropped while skipping");
	CHECK_EQ(push(&q, 20, 0, 160, 10), 0, "commands still go through while skipping");
	CHECK_EQ(push(&q, 9, MEDIA_KEYFRAME, 200, 300), 0, "the next keyframe ends the skip");
	CHECK_EQ(push(&q, 8, 0, 200, 10), 0, "and audio flows again");
	CHECK_EQ(q.dropped, 5, "the dropped count includes the skipped arrivals");

	/* A keyframe that overflows starts the queue afresh. */
	for (i = 0; i < 10; i++)
		push(&q, 9, 0, 240 + 40 * (uint32_t)i, 20);
	rc = push(&q, 9, MEDIA_KEYFRAME, 1000, 600);
	CHECK_EQ(rc, 0, "an overflowing keyframe is kept");
	CHECK(q.skips == 2 && !q.skipping, "after skipping the queued frames, without waiting");

	/* Commands alone past the hard bound: the player is hopeless. */
	for (i = 0; i < 100; i++)
		if ((rc = push(&q, 20, 0, 0, 100)) != 0)
			break;
	CHECK_EQ(rc, RTMP_ELIMIT, "control blocks past hard_bytes fail with RTMP_ELIMIT");
	CHECK(q.bytes <= 3000, "the queue never holds more than hard_bytes");
	outq_free(&q);
	CHECK(head->refs == 1 && ctl->refs == 1, "outq_free gives back every reference");
	media_unref(head);
	media_unref(ctl);

	/* The time bound: stream time queued, not bytes. */
	outq_init(&q, 1 << 20, 500, 1 << 21);
	push(&q, 9, MEDIA_KEYFRAME, 1000, 10);
	for (ts = 1040; ts <= 1500; ts += 40)
		push(&q, 9, 0, ts, 10);
	CHECK_EQ(q.skips, 0, "480 ms queued is within a 500 ms bound");
	CHECK_EQ(push(&q, 9, 0, 1520, 10), 1, "520 ms is not: the frame is dropped");
	CHECK(q.count == 0 && q.skipping, "the queued frames went, waiting for a keyframe");
	outq_free(&q);
	outq_init(&q, 1 << 20, 500, 1 << 21);
	push(&q, 9, MEDIA_KEYFRAME, UINT32_MAX - 100, 10);
	CHECK_EQ(push(&q, 9, 0, 200, 10), 0, "stream time wraps at 2^32: 301 ms queued");
	outq_free(&q);
}

/* What a message decoded from the bytes a player was sent looks like. */
struct seen {
	uint8_t		 type;
	uint32_t	 csid;
	uint32_t	 ts;
	uint32_t	 len;
	uint8_t		 fill;		/* every payload byte is this */
};

/* Decode bytes fed in random pieces; the count, or -1 on a decode error. */
static long
decode_all(const uint8_t *bytes, size_t len, struct seen *seen, size_t max,
    uint32_t chunk_size, unsigned seed)
{
	struct chunk_decoder	 d;
	struct chunk_limits	 lim;
	struct rtmp_message	 msg;
	size_t			 off = 0, used, piece, got = 0;
	uint32_t		 i;
	int			 rc;

	chunk_limits_default(&lim);
	chunk_decoder_init(&d, &lim);
	chunk_decoder_set_chunk_size(&d, chunk_size);
	srand(seed);
	while (off < len) {
		piece = 1 + (size_t)rand() % 3000;
		if (piece > len - off)
			piece = len - off;
		while (piece > 0) {
			rc = chunk_decoder_feed(&d, bytes + off, piece, &used, &msg);
			off += used;
			piece -= used;
			if (rc < 0 || (rc == CHUNK_MESSAGE && got == max)) {
				chunk_decoder_free(&d);
				return -1;
			}
			if (rc != CHUNK_MESSAGE)
				break;
			seen[got] = (struct seen){ msg.type, msg.chunk_stream_id, msg.timestamp,
			    msg.length, msg.length ? msg.payload[0] : 0 };
			for (i = 0; i < msg.length; i++)
				if (msg.payload[i] != seen[got].fill)
					seen[got].len = 0;	/* corrupt: matches nothing */
			got++;
		}
	}
	chunk_decoder_free(&d);
	return (long)got;
}

static int
same(const struct seen *a, const struct seen *b)
{
	return a->type == b->type && a->csid == b->csid && a->ts == b->ts &&
	    a->len == b->len && a->fill == b->fill;
}

static void
shared_fanout(void)
{
	enum { CHUNK = 4096, FRAMES = 120 };
	struct outq		 fast, slow;
	struct chunk_encoder	 control[2];
	struct outq		*queues[2] = { &fast, &slow };
	struct rtmp_message	 msg;
	struct media		*m, *c, *shared_first = NULL;
	struct buf		 b;
	static uint8_t		 payload[60000], sent_fast[4 << 20], sent_slow[4 << 20];
	static struct seen	 sent[400], got_fast[400], got_slow[400];
	size_t			 nsent = 0, lfast = 0, lslow = 0, n, k;
	long			 nfast, nslow;
	uint32_t		 i, ts;
	struct iovec		 iov[64];
	int			 cnt, j, ok, commands, gap;

	outq_init(&fast, 1 << 22, 0, 1 << 23);
	outq_init(&slow, 60000, 0, 1 << 20);
	for (j = 0; j < 2; j++) {
		chunk_encoder_init(&control[j]);
		chunk_encoder_set_chunk_size(&control[j], CHUNK);
	}
	for (i = 0; i < FRAMES; i++) {
		int	 video = i % 3 != 2, key = video && i % 30 == 0;
		size_t	 len = key ? 40000 : video ? 3000 + i * 37 % 5000 : 300;

		ts = 0xfffff0 + i * 20;	/* crosses into extended timestamps */
		memset(payload, (int)(i & 0xff), len);
		msg = (struct rtmp_message){ video ? 10 : 9, video ? 9 : 8, 1, ts,
		    (uint32_t)len, payload };
		if ((m = chunk_encode_block(&msg, CHUNK)) == NULL)
			break;
		m->flags = key ? MEDIA_KEYFRAME : 0;
		if (i == 0)
			shared_first = media_ref(m);
		sent[nsent++] = (struct seen){ msg.type, msg.chunk_stream_id, ts, (uint32_t)len,
		    (uint8_t)i };
		outq_push(&fast, m);
		outq_push(&slow, m);
		media_unref(m);
		/* Each player's own command, from its own session encoder. */
		if (i % 10 == 5) {
			for (j = 0; j < 2; j++) {
				memset(payload, 0xc0 + j, 200);
				msg = (struct rtmp_message){ 3, 20, 0, i, 200, payload };
				buf_init(&b, 0);
				chunk_encode_buf(&control[j], &msg, &b);
				c = media_new(20, i, buf_data(&b), b.len);
				buf_free(&b);
				outq_push(queues[j], c);
				media_unref(c);
			}
		}
		/* The fast player drains everything; the slow one a little. */
		n = gather(&fast, sent_fast + lfast);
		lfast += n;
		outq_consume(&fast, n);
		cnt = outq_iov(&slow, iov, 64);
		if (cnt > 0 && i % 4 == 0) {
			n = iov[0].iov_len > 2500 ? 2500 : iov[0].iov_len;
			memcpy(sent_slow + lslow, iov[0].iov_base, n);
			lslow += n;
			outq_consume(&slow, n);
		}
	}
	n = gather(&slow, sent_slow + lslow);
	lslow += n;
	outq_consume(&slow, n);
	CHECK(shared_first != NULL && shared_first->refs == 1,
	    "a block both players sent is freed by the last of them");
	nfast = decode_all(sent_fast, lfast, got_fast, 400, CHUNK, 1);
	nslow = decode_all(sent_slow, lslow, got_slow, 400, CHUNK, 2);
	CHECK(nfast >= 0 && nslow >= 0, "both players' bytes decode: no torn chunk stream");

	/* The fast player: every media message in order, its 12 commands. */
	ok = 1;
	commands = 0;
	for (k = 0, n = 0; nfast > 0 && k < (size_t)nfast; k++) {
		if (got_fast[k].type == 20) {
			commands += got_fast[k].fill == 0xc0 && got_fast[k].len == 200;
			continue;
		}
		if (n >= nsent || !same(&got_fast[k], &sent[n++]))
			ok = 0;
	}
	CHECK(ok && n == nsent && commands == FRAMES / 10, "the fast player got all %zu media "
	    "messages and its own %d commands", nsent, commands);

	/* The slow player: an ordered subset; after a gap, video restarts on a keyframe. */
	ok = 1;
	commands = 0;
	gap = 0;
	for (k = 0, n = 0; nslow > 0 && k < (size_t)nslow; k++) {
		if (got_slow[k].type == 20) {
			commands += got_slow[k].fill == 0xc1 && got_slow[k].len == 200;
			continue;
		}
		while (n < nsent && !same(&got_slow[k], &sent[n])) {
			n++;
			gap = 1;
		}
		if (n == nsent) {
			ok = 0;
			break;
		}
		if (gap && got_slow[k].type == 9) {
			if (sent[n].len != 40000)
				ok = 0;
			gap = 0;
		}
		n++;
	}
	CHECK(slow.skips > 0 && nslow < nfast, "the slow player skipped ahead (%ld of %ld messages)",
	    nslow, nfast);
	CHECK(ok, "it got an in-order subset, each gap ending on a keyframe");
	CHECK_EQ(commands, FRAMES / 10, "and every one of its own commands");
	media_unref(shared_first);
	outq_free(&fast);
	outq_free(&slow);
}

/*
 * Over TLS a short write sealed up to 16 KiB of what it was offered: the
 * skip must leave every block those bytes reach into, or the record the
 * player decrypts would not match the queue.
 */
static void
pinned(void)
{
	struct outq	 q;
	uint8_t		 out[4096];
	size_t		 n;

	outq_init(&q, 1000, 0, 8000);
	push(&q, 9, MEDIA_KEYFRAME, 1, 300);
	push(&q, 8, 0, 2, 300);
	push(&q, 9, 0, 3, 300);
	outq_consume(&q, 100);
	/* The write was offered 700 bytes: 200 + 300 + 200 of the third. */
	outq_pin(&q, 700);
	CHECK_EQ(push(&q, 8, 0, 4, 300), 1, "past max_bytes: skipped");
	n = gather(&q, out);
	CHECK(n == 200 + 300 + 300 && out[0] == 1 && out[200] == 2 && out[500] == 3,
	    "the blocks the sealed bytes reach into stay whole (%zu bytes)", n);
	outq_consume(&q, 700);
	CHECK_EQ(q.pinned, 0, "written bytes unpin");
	push(&q, 9, MEDIA_KEYFRAME, 5, 300);
	n = gather(&q, out);
	CHECK(n == 400 && out[0] == 3 && out[100] == 5, "the queue goes on at the keyframe");
	outq_free(&q);

	/* Without a pin the same push drops the unbegun blocks. */
	outq_init(&q, 1000, 0, 8000);
	push(&q, 9, MEDIA_KEYFRAME, 1, 300);
	push(&q, 8, 0, 2, 300);
	push(&q, 9, 0, 3, 300);
	outq_consume(&q, 100);
	push(&q, 8, 0, 4, 300);
	CHECK_EQ(gather(&q, out), 200, "unpinned, only the begun head stays");
	outq_free(&q);
}

int
main(void)
{
	basics();
	slow_player();
	shared_fanout();
	pinned();
	return unit_done();
}
