/*
 * metrics.h: counters as Prometheus text (exposition format 0.0.4), for
 * the servers' -M address (scrape.h serves it).
 *
 * A document is families in order, each one `# HELP` and one `# TYPE`
 * line (metrics_family()) followed by its samples (metrics_sample()):
 *
 *	# HELP rtmpkit_players Players connected now, by stream.
 *	# TYPE rtmpkit_players gauge
 *	rtmpkit_players{stream="live/cam"} 3
 *
 * Names: a metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*, a label name
 * [a-zA-Z_][a-zA-Z0-9_]* (not starting "__", Prometheus's own), and a
 * counter's name must end in "_total"; anything else is the caller's bug,
 * RTMP_EINVAL.  Units are base units (bytes, seconds), named in the name.
 * Label values may be any bytes: '\\', '"' and newline are escaped as
 * the format says, other control bytes and bytes that are not UTF-8 (a
 * scrape with one is refused whole) become '?'.  HELP text has '\\' and
 * newline escaped.  Values are unsigned integers.
 *
 * Bounds: the document lives in the caller's struct buf, whose limit caps
 * it.  `reserve` bytes under the limit are kept for what the caller writes
 * last: a line that would eat into them is left out, and so is every line
 * after it (the samples counted in `dropped`), so a server with very many
 * streams still answers, its document cut between two lines, never inside
 * one.  metrics_reserve(m, 0) gives the room back and lets lines in again,
 * for the caller's last family (how many were dropped).
 *
 * Errors are sticky: after the first (RTMP_ENOMEM, RTMP_EINVAL) every
 * call does nothing and returns it, so a caller may write a run of calls
 * and look at metrics_error() once.  Dropped lines are no error.
 */
#ifndef RTMPKIT_METRICS_H
#define RTMPKIT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define METRICS_NAME_MAX	128	/* metric and label names, bytes */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
};

struct metrics_label {
	const char	*name;
	const char	*value;
};

struct metrics {
	struct buf		*out;
	size_t			 reserve;	/* kept free under out->limit */
	int			 error;		/* first RTMP_E*, sticky */
	int			 full;		/* a line was left out: the rest too */
	uint64_t		 dropped;	/* samples left out */
	char			 family[METRICS_NAME_MAX + 1];	/* the current one */
};

void	 metrics_init(struct metrics *, struct buf *out, size_t reserve);
void	 metrics_reserve(struct metrics *, size_t reserve);
/* The family the next samples belong to: 0 or the sticky error. */
int	 metrics_family(struct metrics *, const char *name, enum metrics_type,
	    const char *help);
/* One sample of the current family: name{labels} value. */
int	 metrics_sample(struct metrics *, const struct metrics_label *, size_t n,
	    uint64_t value);
/* The same with one label. */
int	 metrics_sample1(struct metrics *, const char *label, const char *value,
	    uint64_t v);
/*
 * A restreaming destination's sample, by its position n (1..) in the
 * list, since two may share a URL: {upstream="n",url="url"}.
 */
int	 metrics_sample_upstream(struct metrics *, size_t n, const char *url,
	    uint64_t v);
/* A family of one sample without labels. */
int	 metrics_counter(struct metrics *, const char *name, const char *help,
	    uint64_t v);
int	 metrics_gauge(struct metrics *, const char *name, const char *help,
	    uint64_t v);
int	 metrics_error(const struct metrics *);

/* Pure helpers, tested by test_metrics. */
int	 metrics_name_valid(const char *name, int label);

#endif
