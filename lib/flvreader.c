/*
 * flvreader.c: FLV read incrementally.
 * See flvreader.h for the contract.
 */
#include <string.h>

#include "error.h"
#include "flvreader.h"

void
flvreader_init(struct flvreader *r, uint32_t max_tag)
{
	memset(r, 0, sizeof(*r));
	r->max_tag = max_tag != 0 ? max_tag : FLV_MAX_TAG_SIZE;
}

void
flvreader_restart(struct flvreader *r)
{
	r->header_done = 0;
}

int
flvreader_next(struct flvreader *r, const uint8_t *buf, size_t len, struct flv_tag *tag,
    int *got_tag)
{
	int	 rc;

	*got_tag = 0;
	if (!r->header_done) {
		if ((rc = flv_parse_header(buf, len, &r->header)) > 0)
			r->header_done = 1;
		return rc;
	}
	if ((rc = flv_parse_tag(buf, len, r->max_tag, tag)) > 0) {
		*got_tag = 1;
		r->tags++;
		if (!tag->previous_size_ok)
			r->bad_previous_sizes++;
	}
	return rc;
}

int
flvreader_truncated(const struct flvreader *r, size_t left)
{
	(void)r;
	return left > 0;
}
