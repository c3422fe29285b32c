/*
 * The -M request head parser (scrape_parse()).  Whatever the bytes, the
 * answer is "need more" or one of the statuses scrape.h lists; at the
 * head's cap it is never "need more"; and once a prefix has decided, more
 * bytes after it do not change the decision (the server answers on the
 * prefix it has).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scrape.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_status_known(int s)
{
	return s == 0 || s == 200 || s == 400 || s == 404 || s == 405 ||
	    s == 431 || s == 505;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*p;
	size_t	 k;
	int	 head, whole, part;

	if (size > SCRAPE_HEAD_MAX)
		size = SCRAPE_HEAD_MAX;
	/* A copy of just the bytes, so ASan sees any read past them. */
	if ((p = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(p, data, size);
	whole = scrape_parse(p, size, &head);
	if (!fuzz_status_known(whole) || (size == SCRAPE_HEAD_MAX && whole == 0))
		abort();
	for (k = 0; k < size; k += 1 + k / 8) {
		part = scrape_parse(p, k, &head);
		if (!fuzz_status_known(part) || (part != 0 && part != whole))
			abort();
	}
	free(p);
	return 0;
}
