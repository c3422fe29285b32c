/*
 * test_timeline: the splice rule, as properties over random sequences of
 * media and script messages with any timestamps, against a model written
 * from timeline.h's words rather than from timeline.c, and the cases that
 * went wrong before (GStreamer's metadata re-sent at 0 through nginx-rtmp).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "media.h"
#include "timeline.h"
#include "unit.h"

#define OPS	400

struct op {
	int		 kind;		/* 0 media, 1 script, 2 rebase */
	uint32_t	 ts;
};

static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* A sequence mixing every kind of step a real input has. */
static void
make_ops(struct op *ops, size_t n)
{
	uint32_t	 ts = rng();
	size_t		 i;

	for (i = 0; i < n; i++) {
		switch (rng() % 16) {
		case 0:			/* a new publisher starting at 0 or anywhere */
			ts = rng() % 3 ? 0 : rng();
			break;
		case 1:			/* a small step back: interleaving */
			ts -= rng() % TIMELINE_BACKWARD_MS;
			break;
		case 2:			/* just past the 32-bit wrap */
			ts = UINT32_MAX - rng() % 2000;
			break;
		case 3:			/* a jump forward */
			ts += rng() % 100000;
			break;
		default:		/* a frame */
			ts += rng() % 60;
			break;
		}
		ops[i].ts = ts;
		ops[i].kind = rng() % 10 == 0 ? 1 : rng() % 40 == 0 ? 2 : 0;
		if (ops[i].kind == 1 && rng() % 2)
			ops[i].ts = 0;	/* metadata re-sent at 0 */
	}
}

/*
 * The model: within a segment the output is the segment's base plus the
 * running maximum of the unwrapped input since the segment began; a
 * segment begins at a rebase or where the input falls more than
 * TIMELINE_BACKWARD_MS behind that maximum, and its base is the last
 * output.  Script data is the last media output.
 */
struct model {
	int		 started, rebase;
	uint32_t	 prev;
	int64_t		 unwrapped, first, max, base;
	uint64_t	 last;
};

static uint64_t
model_media(struct model *m, uint32_t ts)
{
	int64_t	 step;

	if (!m->started) {
		memset(m, 0, sizeof(*m));
		m->started = 1;
		m->prev = ts;
		m->unwrapped = m->first = m->max = ts;
		return 0;
	}
	step = (int64_t)ts - m->prev;
	if (!m->rebase && ts < m->prev && (uint32_t)(ts - m->prev) <= MEDIA_WRAP_STEP_MS)
		step += (int64_t)UINT32_MAX + 1;
	m->prev = ts;
	m->unwrapped += step;
	if (m->rebase || m->base + (m->unwrapped - m->first) + TIMELINE_BACKWARD_MS <
	    (int64_t)m->last) {
		m->base = (int64_t)m->last;
		m->first = m->max = m->unwrapped;
	}
	m->rebase = 0;
	if (m->unwrapped > m->max)
		m->max = m->unwrapped;
	m->last = (uint64_t)(m->base + (m->max - m->first));
	return m->last;
}

static void
properties(void)
{
	static struct op	 ops[OPS];
	struct timeline		 t, bare;
	struct model		 m;
	uint64_t		 out, prev_out, bare_out;
	int			 round, bad_model = 0, bad_back = 0, bad_script = 0;
	int			 bad_moved = 0, bad_first = 0, kept = 0, steps = 0;
	size_t			 i;

	for (round = 0; round < 2000; round++) {
		make_ops(ops, OPS);
		timeline_init(&t);
		timeline_init(&bare);
		memset(&m, 0, sizeof(m));
		prev_out = 0;
		for (i = 0; i < OPS; i++) {
			if (ops[i].kind == 2) {
				timeline_rebase(&t);
				timeline_rebase(&bare);
				m.rebase = m.started;
				continue;
			}
			if (ops[i].kind == 1) {
				out = timeline_script(&t);
				if (out != (t.started ? t.last_out : 0))
					bad_script++;
			} else {
				int	 was = t.started;
				int64_t	 in_step = (int64_t)ops[i].ts - t.last_in;

				out = timeline_media(&t, ops[i].ts);
				/* The same input without its script data. */
				bare_out = timeline_media(&bare, ops[i].ts);
				if (bare_out != out)
					bad_moved++;
				if (model_media(&m, ops[i].ts) != out)
					bad_model++;
				if (!was && out != 0)
					bad_first++;
				/* A plain step forward is kept exactly. */
				if (was && !timeline_spliced(&t) && in_step >= 0 &&
				    in_step < 60 && out > prev_out) {
					steps++;
					kept += out - prev_out <= (uint64_t)in_step;
				}
			}
			if (out < prev_out)
				bad_back++;
			prev_out = out;
		}
	}
	CHECK_EQ(bad_first, 0, "the first media message is stamped 0");
	CHECK_EQ(bad_back, 0, "output timestamps never step back (2000 random sequences)");
	CHECK_EQ(bad_script, 0, "script data is stamped with the last media timestamp");
	CHECK_EQ(bad_moved, 0, "script data never moves media timestamps");
	CHECK_EQ(bad_model, 0, "media timestamps follow the model: segment base + running maximum");
	CHECK(steps > 1000 && kept == steps, "frame steps forward are kept (%d of %d)", kept, steps);
}

static void
cases(void)
{
	struct timeline	 t;
	uint64_t	 out;

	/* GStreamer through nginx-rtmp: onMetaData again at 0 mid-stream. */
	timeline_init(&t);
	CHECK_EQ(timeline_media(&t, 5000), 0, "first media at 0");
	timeline_media(&t, 8900);
	CHECK_EQ(timeline_script(&t), 3900, "metadata at 0 is stamped with the last media time");
	out = timeline_media(&t, 8933);
	CHECK(out == 3933 && !timeline_spliced(&t), "media after it goes on without a splice (%llu)",
	    (unsigned long long)out);

	/* A publisher restarting at 0 is spliced onto the last time. */
	out = timeline_media(&t, 0);
	CHECK(out == 3933 && timeline_spliced(&t), "a restart at 0 continues at 3933 (%llu)",
	    (unsigned long long)out);
	CHECK_EQ(timeline_media(&t, 40), 3973, "and keeps its steps");

	/* Interleaving: a little back is held, not spliced. */
	CHECK_EQ(timeline_media(&t, 20), 3973, "a small step back is held");
	CHECK(!timeline_spliced(&t), "and is not a splice");
	CHECK_EQ(timeline_media(&t, 80), 4013, "then the steps go on from the input");

	/* The 32-bit wrap is time going on. */
	timeline_init(&t);
	timeline_media(&t, UINT32_MAX - 100);
	out = timeline_media(&t, 50);
	CHECK(out == 151 && !timeline_spliced(&t), "across 2^32 ms time goes on (%llu)",
	    (unsigned long long)out);

	/* After a rebase even a forward step starts from the last output. */
	timeline_rebase(&t);
	out = timeline_media(&t, 900000);
	CHECK(out == 151 && timeline_spliced(&t), "a rebase continues at the last output (%llu)",
	    (unsigned long long)out);
	CHECK_EQ(timeline_media(&t, 900033), 184, "with the new segment's steps");

	/* Script data before any media is 0. */
	timeline_init(&t);
	CHECK_EQ(timeline_script(&t), 0, "metadata before media is stamped 0");
}

int
main(void)
{
	cases();
	properties();
	return unit_done();
}
