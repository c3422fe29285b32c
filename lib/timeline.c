/*
 * timeline.c: the splice rule of timeline.h.
 */
#include <string.h>

#include "media.h"
#include "timeline.h"

void
timeline_init(struct timeline *t)
{
	memset(t, 0, sizeof(*t));
}

void
timeline_rebase(struct timeline *t)
{
	t->rebase = 1;
}

uint64_t
timeline_media(struct timeline *t, uint32_t ts)
{
	int64_t	 out;

	t->spliced = 0;
	if (!t->started) {
		t->started = 1;
		t->rebase = 0;
		t->offset = -(int64_t)ts;
		t->last_in = ts;
		t->last_out = 0;
		return 0;
	}
	/* Within a segment a wrap is time going on; a new segment is not. */
	if (!t->rebase && media_timestamp_wrapped(t->last_in, ts))
		t->offset += (int64_t)UINT32_MAX + 1;
	t->last_in = ts;
	out = (int64_t)ts + t->offset;
	if (t->rebase || out + TIMELINE_BACKWARD_MS < (int64_t)t->last_out) {
		t->offset = (int64_t)t->last_out - ts;
		out = (int64_t)t->last_out;
		t->spliced = 1;
	}
	t->rebase = 0;
	if (out < (int64_t)t->last_out)
		out = (int64_t)t->last_out;
	t->last_out = (uint64_t)out;
	return t->last_out;
}

uint64_t
timeline_script(const struct timeline *t)
{
	return t->last_out;
}

int
timeline_spliced(const struct timeline *t)
{
	return t->spliced;
}
