/*
 * metrics.c: Prometheus text exposition.  See metrics.h.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "metrics.h"

void
metrics_init(struct metrics *m, struct buf *out, size_t reserve)
{
	memset(m, 0, sizeof(*m));
	m->out = out;
	m->reserve = reserve;
}

void
metrics_reserve(struct metrics *m, size_t reserve)
{
	m->reserve = reserve;
	m->full = 0;
}

int
metrics_error(const struct metrics *m)
{
	return m->error;
}

int
metrics_name_valid(const char *name, int label)
{
	size_t	 i;
	char	 c;

	if (name[0] == '\0' || strlen(name) > METRICS_NAME_MAX)
		return 0;
	/* "__" starts the names Prometheus keeps for itself. */
	if (label && name[0] == '_' && name[1] == '_')
		return 0;
	for (i = 0; (c = name[i]) != '\0'; i++)
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    (c == ':' && !label) || (c >= '0' && c <= '9' && i > 0)))
			return 0;
	return 1;
}

/* buf_append() unless an append before failed: the first error is kept. */
static int
metrics_put(int rc, struct buf *b, const void *p, size_t n)
{
	return rc < 0 ? rc : buf_append(b, p, n);
}

/* The length of the UTF-8 sequence at s, 0 if there is none (RFC 3629). */
static size_t
metrics_utf8(const unsigned char *s)
{
	unsigned char	 lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (s[0] == 0xe0 || s[0] == 0xf0)
		lo = s[0] == 0xe0 ? 0xa0 : 0x90;
	if (s[0] == 0xed || s[0] == 0xf4)
		hi = s[0] == 0xed ? 0x9f : 0x8f;
	if (s[0] >= 0xe0 && s[0] <= 0xef)
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	if (s[0] >= 0xf0 && s[0] <= 0xf4)
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		    (s[3] & 0xc0) == 0x80 ? 4 : 0;
	return 0;
}

/*
 * s escaped: '\\' and newline always, '"' in a label value.  Elsewhere a
 * control byte or a byte outside UTF-8 would make the scraper refuse the
 * whole document, so it becomes '?'.
 */
static int
metrics_escape(struct buf *b, const char *s, int value)
{
	const unsigned char	*p = (const unsigned char *)s, *run = p;
	const char		*e;
	size_t			 n;
	int			 rc = 0;

	while (*p != '\0') {
		e = NULL;
		n = 1;
		if (*p == '\\')
			e = "\\\\";
		else if (*p == '\n')
			e = "\\n";
		else if (*p == '"' && value)
			e = "\\\"";
		else if (*p < 0x20 || *p == 0x7f || (n = metrics_utf8(p)) == 0)
			e = "?";
		if (e == NULL) {
			p += n;
			continue;
		}
		rc = metrics_put(rc, b, run, (size_t)(p - run));
		rc = metrics_put(rc, b, e, strlen(e));
		run = ++p;
	}
	rc = metrics_put(rc, b, run, (size_t)(p - run));
	return rc;
}

/*
 * The line appended since `from` stays if it fits; else it goes, and so
 * does every line after it.
 */
static int
metrics_line_end(struct metrics *m, size_t from, int rc, int sample)
{
	struct buf	*b = m->out;

	if (rc == 0 && (b->limit == 0 || b->len + m->reserve <= b->limit))
		return 0;
	b->len = from;
	if (rc != 0 && rc != RTMP_ELIMIT)
		return m->error = RTMP_ENOMEM;
	m->full = 1;
	m->dropped += sample;
	return 0;
}

/* Nothing more goes in: an error, or a line that was left out. */
static int
metrics_closed(struct metrics *m, int sample)
{
	if (m->full && m->error == 0)
		m->dropped += sample;
	return m->error != 0 || m->full;
}

int
metrics_family(struct metrics *m, const char *name, enum metrics_type type,
    const char *help)
{
	size_t	 from = m->out->len, n = strlen(name);
	int	 rc = 0;

	if (m->error != 0)
		return m->error;
	if (!metrics_name_valid(name, 0) ||
	    (type == METRICS_COUNTER && (n < 6 || strcmp(name + n - 6, "_total") != 0)))
		return m->error = RTMP_EINVAL;
	/* Its samples must not land under the family before it. */
	memcpy(m->family, name, n + 1);
	if (metrics_closed(m, 0))
		return m->error;
	rc = metrics_put(rc, m->out, "# HELP ", 7);
	rc = metrics_put(rc, m->out, name, n);
	rc = metrics_put(rc, m->out, " ", 1);
	rc = rc < 0 ? rc : metrics_escape(m->out, help, 0);
	rc = metrics_put(rc, m->out, "\n# TYPE ", 8);
	rc = metrics_put(rc, m->out, name, n);
	rc = type == METRICS_COUNTER ? metrics_put(rc, m->out, " counter\n", 9) :
	    metrics_put(rc, m->out, " gauge\n", 7);
	return metrics_line_end(m, from, rc, 0);
}

int
metrics_sample(struct metrics *m, const struct metrics_label *l, size_t n,
    uint64_t value)
{
	size_t	 from = m->out->len, i;
	char	 v[32];
	int	 rc = 0;

	if (m->error != 0)
		return m->error;
	if (m->family[0] == '\0')
		return m->error = RTMP_EINVAL;
	for (i = 0; i < n; i++)
		if (!metrics_name_valid(l[i].name, 1))
			return m->error = RTMP_EINVAL;
	if (metrics_closed(m, 1))
		return m->error;
	rc = metrics_put(rc, m->out, m->family, strlen(m->family));
	for (i = 0; i < n; i++) {
		rc = metrics_put(rc, m->out, i == 0 ? "{" : ",", 1);
		rc = metrics_put(rc, m->out, l[i].name, strlen(l[i].name));
		rc = metrics_put(rc, m->out, "=\"", 2);
		rc = rc < 0 ? rc : metrics_escape(m->out, l[i].value, 1);
		rc = metrics_put(rc, m->out, "\"", 1);
	}
	snprintf(v, sizeof(v), "%s %llu\n", n > 0 ? "}" : "", (unsigned long long)value);
	rc = metrics_put(rc, m->out, v, strlen(v));
	return metrics_line_end(m, from, rc, 1);
}

int
metrics_sample1(struct metrics *m, const char *label, const char *value, uint64_t v)
{
	struct metrics_label	 l = { label, value };

	return metrics_sample(m, &l, 1, v);
}

int
metrics_sample_upstream(struct metrics *m, size_t n, const char *url, uint64_t v)
{
	struct metrics_label	 l[2] = { { "upstream", NULL }, { "url", url } };
	char			 nth[24];

	snprintf(nth, sizeof(nth), "%zu", n);
	l[0].value = nth;
	return metrics_sample(m, l, 2, v);
}

int
metrics_counter(struct metrics *m, const char *name, const char *help, uint64_t v)
{
	metrics_family(m, name, METRICS_COUNTER, help);
	return metrics_sample(m, NULL, 0, v);
}

int
metrics_gauge(struct metrics *m, const char *name, const char *help, uint64_t v)
{
	metrics_family(m, name, METRICS_GAUGE, help);
	return metrics_sample(m, NULL, 0, v);
}
