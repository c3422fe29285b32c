/*
 * guard.h: place test input flush against a PROT_NONE page.
 *
 * A parser that reads even one byte past the length it was given faults
 * at once instead of reading stale memory (picohttpparser's trick).
 * guard_new(max) maps room for inputs of up to max bytes; guard_put()
 * copies len bytes so that the last one sits just before the guard page
 * and returns the copy; guard_end() is the first protected byte, handy as
 * the end of an output buffer that must not be overrun.
 */
#ifndef RTMPKIT_GUARD_H
#define RTMPKIT_GUARD_H

#include <sys/mman.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

struct guard {
	uint8_t	*base;
	size_t	 size;		/* usable bytes before the guard page */
	size_t	 map;		/* whole mapping */
};

static inline int
guard_new(struct guard *g, size_t max)
{
	size_t	 page = (size_t)sysconf(_SC_PAGESIZE);
	void	*p;

	g->size = (max + page - 1) / page * page;
	if (g->size == 0)
		g->size = page;
	g->map = g->size + page;
	p = mmap(NULL, g->map, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	g->base = p;
	if (mprotect(g->base + g->size, page, PROT_NONE) == -1) {
		munmap(p, g->map);
		return -1;
	}
	return 0;
}

static inline uint8_t *
guard_end(const struct guard *g)
{
	return g->base + g->size;
}

static inline uint8_t *
guard_put(struct guard *g, const void *src, size_t len)
{
	uint8_t	*dst;

	if (len > g->size)
		return NULL;
	dst = guard_end(g) - len;
	if (len > 0)
		memcpy(dst, src, len);
	return dst;
}

static inline void
guard_free(struct guard *g)
{
	munmap(g->base, g->map);
	g->base = NULL;
}

#endif
