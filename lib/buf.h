/*
 * buf.h: a growable byte buffer with a read offset.
 *
 * Bytes live in data[off .. off+len).  The buffer owns data; buf_free()
 * releases it.  Pointers returned by buf_space() and views of buf_data()
 * are valid until the next call that may grow or compact the buffer
 * (buf_reserve, buf_append, buf_compact).  A cap (0 = none) bounds growth:
 * buf_reserve fails with RTMP_ELIMIT rather than grow past it, so a peer
 * cannot make a buffer allocate without bound.
 */
#ifndef RTMPKIT_BUF_H
#define RTMPKIT_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;
	size_t	 off;		/* first unread byte */
	size_t	 len;		/* unread bytes */
	size_t	 cap;		/* allocated size of data */
	size_t	 limit;		/* most bytes it may hold; 0 means no limit */
};

void	 buf_init(struct buf *b, size_t limit);
void	 buf_free(struct buf *b);
/* Make room for at least n more bytes after the unread ones. */
int	 buf_reserve(struct buf *b, size_t n);
/* Free space after the unread bytes; call buf_reserve first. */
uint8_t	*buf_space(struct buf *b, size_t *avail);
/* Count n bytes written into buf_space() as unread. */
void	 buf_commit(struct buf *b, size_t n);
int	 buf_append(struct buf *b, const void *p, size_t n);
/*
 * Never NULL: an empty buffer that never allocated gives a pointer to an
 * empty literal, so callers may do arithmetic on it without the undefined
 * NULL + 0.
 */
static inline const uint8_t *
buf_data(const struct buf *b)
{
	return b->data != NULL ? b->data + b->off : (const uint8_t *)"";
}
/* Drop n bytes from the front. */
void	 buf_consume(struct buf *b, size_t n);
/* Move the unread bytes to the front of the allocation. */
void	 buf_compact(struct buf *b);

#endif
