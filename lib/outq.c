#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "error.h"
#include "outq.h"

static int
outq_is_media(const struct media *m)
{
	return m->type == RTMP_MSG_AUDIO || m->type == RTMP_MSG_VIDEO;
}

static int
outq_is_keyframe(const struct media *m)
{
	return m->type == RTMP_MSG_VIDEO && (m->flags & MEDIA_KEYFRAME);
}

static struct media **
outq_slot(const struct outq *q, size_t k)
{
	return &q->ring[(q->head + k) & (q->cap - 1)];
}

void
outq_init(struct outq *q, size_t max_bytes, uint32_t max_ms, size_t hard_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_bytes = max_bytes;
	q->max_ms = max_ms;
	q->hard_bytes = hard_bytes;
}

void
outq_free(struct outq *q)
{
	size_t	 k;

	for (k = 0; k < q->count; k++)
		media_unref(*outq_slot(q, k));
	free(q->ring);
	outq_init(q, q->max_bytes, q->max_ms, q->hard_bytes);
}

/* The ring doubles, unwrapped into the new array, so indices stay masks. */
static int
outq_grow(struct outq *q)
{
	struct media	**ring;
	size_t		  cap = q->cap ? q->cap * 2 : 16, k;

	if (cap > SIZE_MAX / sizeof(*ring) || (ring = malloc(cap * sizeof(*ring))) == NULL)
		return RTMP_ENOMEM;
	for (k = 0; k < q->count; k++)
		ring[k] = *outq_slot(q, k);
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	return 0;
}

/*
 * A block is begun when part of it went out, or when it starts within the
 * pinned bytes (at: the unsent bytes queued before it).
 */
static int
outq_begun(const struct outq *q, size_t k, size_t at)
{
	return (k == 0 && q->head_sent > 0) || at < q->pinned;
}

static size_t
outq_unsent(const struct outq *q, size_t k)
{
	return (*outq_slot(q, k))->len - (k == 0 ? q->head_sent : 0);
}

/*
 * Stream time from the oldest media not yet begun to m, wrapping at 2^32.
 * A begun block is on its way out and cannot be dropped: counting it
 * would skip the player again at every push until it is gone.
 */
static int
outq_too_long(const struct outq *q, const struct media *m)
{
	size_t	 k, at = 0;

	if (q->max_ms == 0)
		return 0;
	for (k = 0; k < q->count; at += outq_unsent(q, k), k++)
		if (!outq_begun(q, k, at) && outq_is_media(*outq_slot(q, k)))
			return (uint32_t)(m->timestamp - (*outq_slot(q, k))->timestamp) >
			    q->max_ms;
	return 0;
}

/* Drop every media block not begun; control blocks and begun ones stay. */
static void
outq_purge(struct outq *q)
{
	struct media	*m;
	size_t		 k, kept = 0, at = 0, len;

	for (k = 0; k < q->count; k++, at += len) {
		m = *outq_slot(q, k);
		len = m->len - (k == 0 ? q->head_sent : 0);
		if (outq_begun(q, k, at) || !outq_is_media(m)) {
			*outq_slot(q, kept++) = m;
			continue;
		}
		q->bytes -= m->len;
		q->dropped++;
		q->dropped_bytes += m->len;
		media_unref(m);
	}
	q->count = kept;
}

static int
outq_drop(struct outq *q, const struct media *m)
{
	q->dropped++;
	q->dropped_bytes += m->len;
	return 1;
}

int
outq_push(struct outq *q, struct media *m)
{
	int	 rc;

	if (m->len == 0)
		return 0;
	if (outq_is_media(m)) {
		if (q->skipping && !outq_is_keyframe(m))
			return outq_drop(q, m);
		q->skipping = 0;
		if (q->bytes + m->len > q->max_bytes || outq_too_long(q, m)) {
			outq_purge(q);
			q->skips++;
			if (!outq_is_keyframe(m)) {
				q->skipping = 1;
				return outq_drop(q, m);
			}
		}
	}
	if (q->bytes + m->len > q->hard_bytes) {
		if (!outq_is_media(m))
			return RTMP_ELIMIT;
		q->skipping = 1;
		return outq_drop(q, m);
	}
	if (q->count == q->cap && (rc = outq_grow(q)) < 0)
		return rc;
	*outq_slot(q, q->count++) = media_ref(m);
	q->bytes += m->len;
	return 0;
}

int
outq_iov(const struct outq *q, struct iovec *iov, int max)
{
	const struct media	*m;
	size_t			 k, skip;
	int			 n = 0;

	for (k = 0; k < q->count && n < max; k++) {
		m = *outq_slot(q, k);
		skip = k == 0 ? q->head_sent : 0;
		iov[n].iov_base = (void *)(m->data + skip);
		iov[n].iov_len = m->len - skip;
		n++;
	}
	return n;
}

void
outq_pin(struct outq *q, size_t n)
{
	q->pinned = n < q->bytes ? n : q->bytes;
}

void
outq_consume(struct outq *q, size_t n)
{
	struct media	*m;
	size_t		 left;

	q->pinned = n < q->pinned ? q->pinned - n : 0;
	while (n > 0 && q->count > 0) {
		m = *outq_slot(q, 0);
		left = m->len - q->head_sent;
		if (n < left) {
			q->head_sent += n;
			q->bytes -= n;
			return;
		}
		n -= left;
		q->bytes -= left;
		media_unref(m);
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
		q->head_sent = 0;
	}
}
