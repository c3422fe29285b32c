/*
 * backend.c: the balancer's backend set, its picks and its file.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "server.h"
#include "error.h"
#include "net.h"
#include "url.h"

/* Parsing. */

static int
backend_number(const char *word, const char *value, uint32_t min, uint32_t max,
    uint32_t *out, char *err, size_t errsize)
{
	const char	*errstr;

	if (value == NULL) {
		snprintf(err, errsize, "%s: a number must follow", word);
		return RTMP_EINVAL;
	}
	*out = (uint32_t)strtonum(value, min, max, &errstr);
	if (errstr != NULL) {
		snprintf(err, errsize, "%s %s: %s", word, value, errstr);
		return RTMP_EINVAL;
	}
	return 0;
}

/* "v1" or "v2", HAProxy's send-proxy and send-proxy-v2, as -P names them. */
static int
backend_proxy(const char *value, int *out, char *err, size_t errsize)
{
	if (value == NULL) {
		snprintf(err, errsize, "proxy: v1 or v2 must follow");
		return RTMP_EINVAL;
	}
	if (strcmp(value, "v1") == 0)
		*out = 1;
	else if (strcmp(value, "v2") == 0)
		*out = 2;
	else {
		snprintf(err, errsize, "proxy %.64s: not v1 or v2", value);
		return RTMP_EINVAL;
	}
	return 0;
}

int
backend_parse_line(const char *line, struct backend_spec *s, char *err,
    size_t errsize)
{
	char	 copy[BACKEND_LINE_MAX + 1], *p, *word, *words[12];
	size_t	 n = 0, i, len = strlen(line);
	int	 rc;

	memset(s, 0, sizeof(*s));
	if (len > BACKEND_LINE_MAX) {
		snprintf(err, errsize, "longer than %d bytes", BACKEND_LINE_MAX);
		return RTMP_EINVAL;
	}
	memcpy(copy, line, len + 1);
	if ((p = strchr(copy, '#')) != NULL)
		*p = '\0';
	for (p = copy; (word = strsep(&p, " \t\r\n")) != NULL;) {
		if (*word == '\0')
			continue;
		if (n == sizeof(words) / sizeof(words[0])) {
			snprintf(err, errsize, "too many words");
			return RTMP_EINVAL;
		}
		words[n++] = word;
	}
	if (n == 0)
		return 0;
	if (url_parse_listen(words[0], &s->addr) < 0 || (!s->addr.family_unix &&
	    (s->addr.host[0] == '\0' || s->addr.port == 0))) {
		snprintf(err, errsize, "%.64s: not host:port, [v6]:port or unix:/path",
		    words[0]);
		return RTMP_EINVAL;
	}
	if (strlcpy(s->name, words[0], sizeof(s->name)) >= sizeof(s->name)) {
		snprintf(err, errsize, "%.64s...: too long", words[0]);
		return RTMP_EINVAL;
	}
	s->weight = 1;
	len = strlen(s->addr.path);
	s->directory = s->addr.family_unix && len > 0 && s->addr.path[len - 1] == '/';
	for (i = 1; i < n; i += 2) {
		if (strcmp(words[i], "publish") == 0 || strcmp(words[i], "play") == 0) {
			if (s->role != BACKEND_ROLE_ANY) {
				snprintf(err, errsize, "%s: one of publish or play, or neither "
				    "for both", words[i]);
				return RTMP_EINVAL;
			}
			s->role = words[i][1] == 'u' ? BACKEND_ROLE_PUBLISH : BACKEND_ROLE_PLAY;
			i--;
			continue;
		}
		if (strcmp(words[i], "tls") == 0) {
			/* A word alone: the next one is a setting again. */
			s->tls = 1;
			i--;
			continue;
		}
		if (strcmp(words[i], "weight") == 0)
			rc = backend_number("weight", i + 1 < n ? words[i + 1] : NULL, 1,
			    BACKEND_WEIGHT_MAX, &s->weight, err, errsize);
		else if (strcmp(words[i], "maxconn") == 0)
			rc = backend_number("maxconn", i + 1 < n ? words[i + 1] : NULL, 0,
			    BACKEND_MAXCONN_MAX, &s->maxconn, err, errsize);
		else if (strcmp(words[i], "proxy") == 0)
			rc = backend_proxy(i + 1 < n ? words[i + 1] : NULL, &s->proxy,
			    err, errsize);
		else {
			snprintf(err, errsize, "%.64s: not weight, maxconn, tls, proxy, "
			    "publish or play", words[i]);
			rc = RTMP_EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	snprintf(s->label, sizeof(s->label), "%s%s", s->name, s->role ==
	    BACKEND_ROLE_PUBLISH ? " publish" : s->role == BACKEND_ROLE_PLAY ? " play" : "");
	return 1;
}

int
backend_parse_text(const char *text, size_t len, struct backend_spec *specs,
    size_t max, size_t *np, char *err, size_t errsize)
{
	struct backend_spec spare;
	char		 line[BACKEND_LINE_MAX + 1], why[256];
	const char	*p = text, *end = text + len, *nl;
	size_t		 n = 0, lineno = 0, l;
	int		 rc;

	*np = 0;
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		l = (size_t)(nl - p);
		if (l > BACKEND_LINE_MAX) {
			snprintf(err, errsize, "line %zu: longer than %d bytes", lineno,
			    BACKEND_LINE_MAX);
			return RTMP_EINVAL;
		}
		if (memchr(p, '\0', l) != NULL) {
			snprintf(err, errsize, "line %zu: a NUL byte", lineno);
			return RTMP_EINVAL;
		}
		memcpy(line, p, l);
		line[l] = '\0';
		p = nl + 1;
		/* Into a spare first: the caller's array may be full already. */
		if ((rc = backend_parse_line(line, &spare, why, sizeof(why))) < 0) {
			snprintf(err, errsize, "line %zu: %s", lineno, why);
			return rc;
		}
		if (rc == 0)
			continue;
		if (n == max) {
			snprintf(err, errsize, "line %zu: more than %zu backends", lineno, max);
			return RTMP_EINVAL;
		}
		specs[n++] = spare;
	}
	*np = n;
	return 0;
}

int
backend_read_file(const char *path, struct backend_spec *specs, size_t max,
    size_t *n, char *err, size_t errsize)
{
	char	*text;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd, rc;

	*n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return RTMP_ESYS;
	}
	if ((text = malloc(BACKEND_FILE_MAX + 1)) == NULL) {
		close(fd);
		snprintf(err, errsize, "out of memory");
		return RTMP_ENOMEM;
	}
	/* One byte more than allowed tells a file that is too long. */
	while (len <= BACKEND_FILE_MAX &&
	    (r = read(fd, text + len, BACKEND_FILE_MAX + 1 - len)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return RTMP_ESYS;
		}
		len += (size_t)r;
	}
	close(fd);
	if (len > BACKEND_FILE_MAX) {
		snprintf(err, errsize, "%s: larger than %d bytes", path, BACKEND_FILE_MAX);
		free(text);
		return RTMP_EINVAL;
	}
	rc = backend_parse_text(text, len, specs, max, n, err, errsize);
	free(text);
	if (rc < 0) {
		char	 why[256];

		strlcpy(why, err, sizeof(why));
		snprintf(err, errsize, "%s: %s", path, why);
	}
	return rc;
}

int
backend_load(const char *file, char *const *operands, size_t noperands,
    struct backend_spec *specs, size_t max, size_t *np, char *err, size_t errsize)
{
	char	 why[256];
	size_t	 n = 0, i;
	int	 rc;

	*np = 0;
	if (file != NULL && (rc = backend_read_file(file, specs, max, &n, err,
	    errsize)) < 0)
		return rc;
	for (i = 0; i < noperands; i++) {
		if (n == max) {
			snprintf(err, errsize, "more than %zu backends", max);
			return RTMP_EINVAL;
		}
		if ((rc = backend_parse_line(operands[i], &specs[n], why, sizeof(why))) < 0) {
			snprintf(err, errsize, "backend %s: %s", operands[i], why);
			return rc;
		}
		n += (size_t)rc;
	}
	*np = n;
	return 0;
}

static const char *backend_algos[] = {
	[BACKEND_ROUNDROBIN] = "roundrobin",
	[BACKEND_LEASTCONN] = "leastconn",
	[BACKEND_SOURCE] = "source",
	[BACKEND_STREAM] = "stream",
};

int
backend_algo_parse(const char *s, enum backend_algo *a)
{
	size_t	 i;

	for (i = 0; i < sizeof(backend_algos) / sizeof(backend_algos[0]); i++)
		if (strcmp(s, backend_algos[i]) == 0) {
			*a = (enum backend_algo)i;
			return 0;
		}
	return RTMP_EINVAL;
}

const char *
backend_algo_name(enum backend_algo a)
{
	return (size_t)a < sizeof(backend_algos) / sizeof(backend_algos[0]) ?
	    backend_algos[a] : "?";
}

/* The set. */

void
backend_set_init(struct backend_set *set)
{
	memset(set, 0, sizeof(*set));
}

static void
backend_free(struct backend *b)
{
	if (b->resolved)
		net_addrs_free(&b->addrs);
	free(b);
}

void
backend_set_free(struct backend_set *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		backend_free(set->b[i]);
	set->n = 0;
}

int
backend_set_add(struct backend_set *set, const struct backend_spec *s)
{
	struct backend	*b;

	if (set->n == BACKEND_MAX)
		return RTMP_ELIMIT;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return RTMP_ENOMEM;
	b->spec = *s;
	b->up = 1;
	b->last_ok = -1;
	set->b[set->n++] = b;
	return 0;
}

struct backend *
backend_find(const struct backend_set *set, const char *label)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->b[i]->spec.label, label) == 0)
			return set->b[i];
	return NULL;
}

int
backend_set_merge(struct backend_set *set, const struct backend_spec *specs,
    size_t n, size_t *added)
{
	struct backend	*b;
	size_t		 i, fresh = 0;

	*added = 0;
	/* Check the room first, so a failure leaves the set as it was. */
	for (i = 0; i < n; i++)
		if (backend_find(set, specs[i].label) == NULL)
			fresh++;
	if (set->n + fresh > BACKEND_MAX)
		return RTMP_ELIMIT;
	for (i = 0; i < set->n; i++)
		set->b[i]->removed = 1;
	for (i = 0; i < n; i++) {
		if ((b = backend_find(set, specs[i].label)) != NULL) {
			b->removed = 0;
			b->spec.weight = specs[i].weight;
			b->spec.maxconn = specs[i].maxconn;
			b->spec.tls = specs[i].tls;
			b->spec.proxy = specs[i].proxy;
			continue;
		}
		if (backend_set_add(set, &specs[i]) < 0) {
			/* Out of memory: keep what was there. */
			for (i = 0; i < set->n; i++)
				set->b[i]->removed = 0;
			return RTMP_ENOMEM;
		}
		(*added)++;
	}
	return 0;
}

void
backend_set_compact(struct backend_set *set, void (*gone)(struct backend *, void *),
    void *arg)
{
	size_t	 i, j;

	for (i = j = 0; i < set->n; i++) {
		if (set->b[i]->removed && set->b[i]->active == 0) {
			if (gone != NULL)
				gone(set->b[i], arg);
			backend_free(set->b[i]);
			continue;
		}
		set->b[j++] = set->b[i];
	}
	set->n = j;
}

int
backend_set_load(struct backend_set *set, const char *file, char *const *operands,
    size_t noperands, size_t *n, size_t *added, void (*gone)(struct backend *, void *),
    void *arg, char *err, size_t errsize)
{
	struct backend_spec	*specs;
	size_t			 i;
	int			 rc;

	*n = *added = 0;
	if ((specs = calloc(BACKEND_MAX, sizeof(*specs))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return RTMP_ENOMEM;
	}
	if ((rc = backend_load(file, operands, noperands, specs, BACKEND_MAX, n, err,
	    errsize)) == 0 && *n == 0) {
		snprintf(err, errsize, "%s: no backend", file != NULL ? file : "");
		rc = RTMP_EINVAL;
	}
	if (rc == 0 && (rc = backend_set_merge(set, specs, *n, added)) < 0)
		snprintf(err, errsize, "%s", rtmp_strerror(rc));
	free(specs);
	if (rc < 0) {
		*n = *added = 0;
		return rc;
	}
	backend_set_compact(set, gone, arg);
	for (i = 0; i < set->n; i++)
		if (!set->b[i]->resolved && !set->b[i]->removed &&
		    (rc = backend_resolve(set->b[i], err, errsize)) < 0)
			return rc;
	return 0;
}

size_t
backend_index(const struct backend_set *set, const struct backend *b)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (set->b[i] == b)
			return i;
	return BACKEND_MAX;
}

/* Picking. */

int
backend_available(const struct backend *b)
{
	return b->up && !b->removed &&
	    (b->spec.maxconn == 0 || b->active < b->spec.maxconn);
}

void
backend_attach(struct backend *b)
{
	b->active++;
	b->total++;
}

void
backend_detach(struct backend *b)
{
	if (b->active > 0)
		b->active--;
}

/* FNV-1a over key, a NUL, then name; finished by splitmix64's mixer. */
uint64_t
backend_hash(const void *key, size_t keylen, const char *name)
{
	const uint8_t	*p = key;
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i;

	for (i = 0; i < keylen; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h *= 0x100000001b3ULL;
	for (; *name != '\0'; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/*
 * log2(x) for 1 <= x < 2^53, by the binary digits of the mantissa (no
 * libm): 24 bits of fraction are plenty to order scores.
 */
static double
backend_log2(uint64_t x)
{
	int	 e = 63 - __builtin_clzll(x), i;
	double	 m = (double)x / (double)(1ULL << e), r = e, bit = 1.0;

	for (i = 0; i < 24; i++) {
		m *= m;
		bit /= 2;
		if (m >= 2.0) {
			m /= 2;
			r += bit;
		}
	}
	return r;
}

/*
 * Weighted rendezvous: with u uniform in (0,1) from the hash, the score
 * weight / -ln(u) makes each backend win a share of keys proportional to
 * its weight (any logarithm base orders the same).
 */
static struct backend *
backend_pick_hash(struct backend_set *set, const void *key, size_t keylen,
    uint64_t skip)
{
	struct backend	*best = NULL;
	double		 score, top = 0;
	uint64_t	 x;
	size_t		 i;

	for (i = 0; i < set->n; i++) {
		if ((skip & (1ULL << i)) || !backend_available(set->b[i]))
			continue;
		x = (backend_hash(key, keylen, set->b[i]->spec.name) >> 11) | 1;
		score = set->b[i]->spec.weight / (53.0 - backend_log2(x));
		if (best == NULL || score > top) {
			best = set->b[i];
			top = score;
		}
	}
	return best;
}

struct backend *
backend_pick(struct backend_set *set, enum backend_algo algo, const void *key,
    size_t keylen, uint64_t skip)
{
	struct backend	*best = NULL, *b;
	int64_t		 total = 0;
	size_t		 i;

	if (algo == BACKEND_SOURCE || algo == BACKEND_STREAM)
		return backend_pick_hash(set, key, keylen, skip);
	for (i = 0; i < set->n; i++) {
		b = set->b[i];
		if ((skip & (1ULL << i)) || !backend_available(b))
			continue;
		if (algo == BACKEND_LEASTCONN) {
			/* a/wa < b/wb without division; the first wins a tie */
			if (best == NULL || (uint64_t)b->active * best->spec.weight <
			    (uint64_t)best->active * b->spec.weight)
				best = b;
			continue;
		}
		b->current += b->spec.weight;
		total += b->spec.weight;
		if (best == NULL || b->current > best->current)
			best = b;
	}
	if (best != NULL && algo == BACKEND_ROUNDROBIN)
		best->current -= total;
	return best;
}

/* I/O. */

int
backend_resolve(struct backend *b, char *err, size_t errsize)
{
	struct net_addrs	 a;
	int			 rc;

	if (b->spec.addr.family_unix)
		return 0;
	if ((rc = net_resolve(b->spec.addr.host, b->spec.addr.port, &a)) < 0) {
		snprintf(err, errsize, "backend %s: %s", b->spec.label,
		    rc == RTMP_ESYS ? strerror(errno) : rtmp_strerror(rc));
		return rc;
	}
	if (b->resolved)
		net_addrs_free(&b->addrs);
	b->addrs = a;
	b->resolved = 1;
	return 0;
}

uint64_t
backend_role_skip(const struct backend_set *set, int role)
{
	uint64_t	 skip = 0;
	size_t		 i;

	for (i = 0; i < set->n; i++)
		if (set->b[i]->spec.role != BACKEND_ROLE_ANY && set->b[i]->spec.role != role)
			skip |= 1ULL << i;
	return skip;
}

/* DIR/NAME.sock for the stream in key ("app/stream"). */
static int
backend_connect_directory(struct backend *b, const void *key, size_t keylen, int *fd)
{
	const char	*k = key, *name = k;
	char		 path[sizeof(b->spec.addr.path)];
	size_t		 i, len;

	for (i = 0; i < keylen; i++)
		if (k[i] == '/')
			name = k + i + 1;
	len = keylen - (size_t)(name - k);
	/* The servers' own name rule: no '/', no leading '.', no NUL or control. */
	if (!server_name_valid(name, len)) {
		errno = EINVAL;
		return RTMP_EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s%.*s.sock", b->spec.addr.path, (int)len,
	    name) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return RTMP_EINVAL;
	}
	return net_connect_unix(path, fd);
}

int
backend_connect(struct backend *b, const void *key, size_t keylen, int *fd)
{
	if (b->spec.directory)
		return backend_connect_directory(b, key, keylen, fd);
	if (b->spec.addr.family_unix)
		return net_connect_unix(b->spec.addr.path, fd);
	if (!b->resolved) {
		errno = EADDRNOTAVAIL;
		return RTMP_ESYS;
	}
	/* Every address again, in the resolver's order. */
	b->addrs.next = b->addrs.list;
	return net_connect_next(&b->addrs, fd);
}
