#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

void
buf_init(struct buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, cap;
	uint8_t	*p;

	if (n > SIZE_MAX / 2 - b->len)
		return RTMP_ELIMIT;
	need = b->len + n;
	if (b->limit != 0 && need > b->limit)
		return RTMP_ELIMIT;
	/* Allocates even for n == 0 so buf_space() never returns NULL + offset. */
	if (b->data != NULL && b->off + need <= b->cap)
		return 0;
	/* Sliding the unread bytes down is cheaper than growing when half is free. */
	if (b->data != NULL && need <= b->cap && b->off >= b->cap / 2) {
		buf_compact(b);
		return 0;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (b->limit != 0 && cap > b->limit)
		cap = b->limit;
	buf_compact(b);
	if ((p = realloc(b->data, cap)) == NULL)
		return RTMP_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

uint8_t *
buf_space(struct buf *b, size_t *avail)
{
	*avail = b->cap - b->off - b->len;
	return b->data + b->off + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int	 rc;

	if (n == 0)
		return 0;
	if ((rc = buf_reserve(b, n)) < 0)
		return rc;
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

void
buf_compact(struct buf *b)
{
	if (b->off == 0)
		return;
	if (b->len > 0)
		memmove(b->data, b->data + b->off, b->len);
	b->off = 0;
}
