/*
 * scrape.c: GET /metrics over HTTP/1.x.  See scrape.h.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "net.h"
#include "scrape.h"
#include "tls.h"
#include "url.h"

#define SCRAPE_METHOD_MAX	16	/* longer is no method we know */

enum scrape_state {
	SCRAPE_READING,		/* the request head */
	SCRAPE_WRITING,		/* the answer */
	SCRAPE_LINGERING,	/* answered: read until the client closes */
};

struct scrape_conn {
	struct scrape		*s;
	TAILQ_ENTRY(scrape_conn) entry;	/* oldest first */
	int			 fd;
	enum scrape_state	 state;
	uint64_t		 timer;
	char			 head[256];	/* the answer's status line and fields */
	size_t			 headlen, headoff;
	struct buf		 body;
	char			 address[NET_ADDRSTRLEN];
	size_t			 inlen;
	uint8_t			 in[SCRAPE_HEAD_MAX];
};

struct scrape {
	struct loop		*loop;
	struct listener		*listener;
	scrape_document_cb	 document;
	void			*arg;
	TAILQ_HEAD(, scrape_conn) conns;
	size_t			 nconns, nwriting;
	int			 paused;
	char			 path[sizeof(((struct listen_address *)0)->path)];
};

/* Request parsing (pure). */

/* RFC 9110 tchar: the bytes of a method or a field name. */
static int
scrape_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A complete field line: name ":" value, no controls but HT in the value. */
static int
scrape_field_valid(const uint8_t *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len && scrape_tchar(p[i]); i++)
		continue;
	if (i == 0 || i == len || p[i] != ':')
		return 0;
	for (i++; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return 0;
	return 1;
}

/* The answer once the head is complete: method and target decide. */
static int
scrape_route(const uint8_t *m, size_t mlen, const uint8_t *t, size_t tlen,
    int *head_only)
{
	static const char	 path[] = "/metrics";
	size_t			 plen = sizeof(path) - 1;

	*head_only = mlen == 4 && memcmp(m, "HEAD", 4) == 0;
	if (tlen < plen || memcmp(t, path, plen) != 0 || (tlen > plen && t[plen] != '?'))
		return 404;
	if (!*head_only && !(mlen == 3 && memcmp(m, "GET", 3) == 0))
		return 405;
	return 200;
}

int
scrape_parse(const uint8_t *p, size_t len, int *head_only)
{
	static const char	 version[] = "HTTP/d.d";
	const uint8_t		*lf, *t;
	size_t			 i, k, mlen, tlen, n;
	int			 major;

	*head_only = 0;
	/* The request line, judged byte by byte: garbage is answered at once. */
	for (i = 0; i < len && i <= SCRAPE_METHOD_MAX && scrape_tchar(p[i]); i++)
		continue;
	if (i > SCRAPE_METHOD_MAX)
		return 400;
	if (i == len)
		return 0;
	if (i == 0 || p[i] != ' ')
		return 400;
	mlen = i++;
	t = p + i;
	for (; i < len && p[i] > 0x20 && p[i] < 0x7f; i++)
		continue;
	if (i == len)
		return len >= SCRAPE_HEAD_MAX ? 431 : 0;
	if (p[i] != ' ' || p + i == t || t[0] != '/')
		return 400;
	tlen = (size_t)(p + i - t);
	for (i++, k = 0; k < sizeof(version) - 1 && i < len; i++, k++)
		if (version[k] == 'd' ? p[i] < '0' || p[i] > '9' : p[i] != version[k])
			return 400;
	if (k < sizeof(version) - 1)
		return 0;
	major = p[i - 3] - '0';
	if (i < len && p[i] == '\r')
		i++;
	if (i == len)
		return 0;
	if (p[i++] != '\n')
		return 400;
	if (major != 1)
		return 505;
	/* Header fields up to the empty line; none is needed, each must parse. */
	for (;;) {
		if ((lf = memchr(p + i, '\n', len - i)) == NULL)
			return len >= SCRAPE_HEAD_MAX ? 431 : 0;
		n = (size_t)(lf - (p + i));
		if (n > 0 && p[i + n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		/* No obsolete line folding (RFC 9112 5.2): a line starts a field. */
		if (!scrape_field_valid(p + i, n))
			return 400;
		i = (size_t)(lf - p) + 1;
	}
	return scrape_route(p, mlen, t, tlen, head_only);
}

/* Connections. */

static const char *
scrape_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

/* Paused while every slot is writing: no connection could give way. */
static void
scrape_update_pause(struct scrape *s)
{
	int	 paused = s->nwriting >= SCRAPE_CONNS_MAX;

	if (paused != s->paused && s->listener != NULL)
		listener_pause(s->listener, paused);
	s->paused = paused;
}

/* The one teardown: why is for the log, at debug level when routine. */
static void
scrape_close(struct scrape_conn *c, int routine, const char *why)
{
	struct scrape	*s = c->s;

	if (why != NULL && routine)
		log_debug("metrics %s: %s: closed", c->address, why);
	else if (why != NULL)
		log_warnx("metrics %s: %s: closed", c->address, why);
	TAILQ_REMOVE(&s->conns, c, entry);
	s->nconns--;
	if (c->state == SCRAPE_WRITING)
		s->nwriting--;
	loop_timer_cancel(s->loop, c->timer);
	loop_remove(s->loop, c->fd);
	close(c->fd);
	buf_free(&c->body);
	free(c);
	scrape_update_pause(s);
}

static uint64_t
scrape_timeout(struct loop *loop, uint64_t id, void *arg);

static void
scrape_linger(struct scrape_conn *c)
{
	c->state = SCRAPE_LINGERING;
	c->s->nwriting--;
	scrape_update_pause(c->s);
	/* Unread bytes at close(2) would reset the answer away: wait for EOF. */
	shutdown(c->fd, SHUT_WR);
	loop_timer_cancel(c->s->loop, c->timer);
	c->timer = loop_timer(c->s->loop, SCRAPE_LINGER_MS, scrape_timeout, c);
	loop_modify(c->s->loop, c->fd, LOOP_READ);
}

/* 0, or -1 when c was closed (freed). */
static int
scrape_write(struct scrape_conn *c)
{
	struct iovec	 iov[2];
	ssize_t		 n;
	size_t		 h;

	while (c->headoff < c->headlen || c->body.len > 0) {
		iov[0].iov_base = c->head + c->headoff;
		iov[0].iov_len = c->headlen - c->headoff;
		iov[1].iov_base = (void *)buf_data(&c->body);
		iov[1].iov_len = c->body.len;
		n = writev(c->fd, iov, 2);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			scrape_close(c, 1, n == 0 ? "write returned 0" : strerror(errno));
			return -1;
		}
		h = (size_t)n < iov[0].iov_len ? (size_t)n : iov[0].iov_len;
		c->headoff += h;
		buf_consume(&c->body, (size_t)n - h);
	}
	scrape_linger(c);
	return 0;
}

/* The answer to status: the document for 200, a line of text otherwise. */
static int
scrape_answer(struct scrape_conn *c, int status, int head_only)
{
	struct scrape	*s = c->s;
	const char	*type = "text/plain; charset=utf-8";
	char		 text[64];
	int		 rc;

	c->state = SCRAPE_WRITING;
	s->nwriting++;
	scrape_update_pause(s);
	buf_init(&c->body, SCRAPE_DOCUMENT_MAX);
	if (status == 200 && (rc = s->document(&c->body, s->arg)) < 0) {
		log_warnx("metrics %s: cannot build the document: %s", c->address,
		    rtmp_strerror(rc));
		buf_free(&c->body);
		buf_init(&c->body, SCRAPE_DOCUMENT_MAX);
		status = 500;
	}
	if (status == 200) {
		type = METRICS_CONTENT_TYPE;
	} else {
		snprintf(text, sizeof(text), "%d %s\n", status, scrape_reason(status));
		if (buf_append(&c->body, text, strlen(text)) < 0)
			c->body.len = 0;
		log_debug("metrics %s: answered %d", c->address, status);
	}
	c->headlen = (size_t)snprintf(c->head, sizeof(c->head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
	    status, scrape_reason(status), type, c->body.len,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (head_only)
		buf_free(&c->body);
	loop_timer_cancel(s->loop, c->timer);
	c->timer = loop_timer(s->loop, SCRAPE_ANSWER_MS, scrape_timeout, c);
	loop_modify(s->loop, c->fd, LOOP_WRITE);
	return scrape_write(c);
}

/* 0, or -1 when c was closed (freed). */
static int
scrape_read(struct scrape_conn *c)
{
	uint8_t		 discard[4096];
	ssize_t		 n = -1;
	int		 status, head_only, i;

	if (c->state == SCRAPE_LINGERING) {
		/* A few reads a wakeup: a client that never stops must not hold the loop. */
		for (i = 0; i < 4 && (n = read(c->fd, discard, sizeof(discard))) > 0; i++)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			scrape_close(c, 1, NULL);
			return -1;
		}
		return 0;
	}
	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		scrape_close(c, 1, n == 0 ? "hung up before a request" : strerror(errno));
		return -1;
	}
	c->inlen += (size_t)n;
	if ((status = scrape_parse(c->in, c->inlen, &head_only)) != 0)
		return scrape_answer(c, status, head_only);
	return 0;
}

static void
scrape_ready(struct loop *loop, int fd, int events, void *arg)
{
	struct scrape_conn	*c = arg;

	(void)loop;
	(void)fd;
	if (c->state == SCRAPE_WRITING && (events & LOOP_WRITE))
		(void)scrape_write(c);
	else if (c->state != SCRAPE_WRITING && (events & LOOP_READ))
		(void)scrape_read(c);
}

static uint64_t
scrape_timeout(struct loop *loop, uint64_t id, void *arg)
{
	struct scrape_conn	*c = arg;

	(void)loop;
	(void)id;
	c->timer = 0;
	if (c->state == SCRAPE_READING && c->inlen > 0)
		(void)scrape_answer(c, 408, 0);
	else
		scrape_close(c, 1, c->state == SCRAPE_READING ? "no request in time" :
		    c->state == SCRAPE_WRITING ? "answer not taken in time" : NULL);
	return LOOP_TIMER_STOP;
}

/*
 * Who gives way to a new connection: the oldest still reading its head
 * (idle or slow), else the oldest answered already (waiting for the
 * client's close); NULL if every one is being written to.
 */
static struct scrape_conn *
scrape_victim(struct scrape *s)
{
	struct scrape_conn	*c, *done = NULL;

	TAILQ_FOREACH(c, &s->conns, entry) {
		if (c->state == SCRAPE_READING)
			return c;
		if (c->state == SCRAPE_LINGERING && done == NULL)
			done = c;
	}
	return done;
}

static void
scrape_accept(struct listener *l, int fd, struct tls *tls, const char *address,
    void *arg)
{
	static const char	 busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct scrape		*s = arg;
	struct scrape_conn	*c;
	ssize_t			 n;

	(void)l;
	tls_free(tls);
	while (s->nconns >= SCRAPE_CONNS_MAX) {
		if ((c = scrape_victim(s)) == NULL) {
			/* Every slot writing: accepted in the burst before the pause. */
			n = write(fd, busy, sizeof(busy) - 1);
			(void)n;
			close(fd);
			log_debug("metrics %s: busy: closed", address);
			return;
		}
		/* A burst of real scrapes is answered, not pushed out. */
		if (c->state == SCRAPE_READING && scrape_read(c) < 0)
			continue;
		if (c->state != SCRAPE_WRITING)
			scrape_close(c, 1, c->state == SCRAPE_READING ?
			    "pushed out by a newer connection" : NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("metrics %s: out of memory", address);
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	strlcpy(c->address, address, sizeof(c->address));
	if (loop_add(s->loop, fd, LOOP_READ, scrape_ready, c) < 0 ||
	    (c->timer = loop_timer(s->loop, SCRAPE_HEAD_MS, scrape_timeout, c)) == 0) {
		log_warnx("metrics %s: cannot watch the connection", address);
		loop_remove(s->loop, fd);
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
}

struct scrape *
scrape_new(struct loop *loop, const char *address, scrape_document_cb document,
    void *arg, char *err, size_t errsize)
{
	struct scrape		*s;
	struct listen_address	 a;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errsize, "metrics %s: out of memory", address);
		return NULL;
	}
	s->loop = loop;
	s->document = document;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	if ((s->listener = listener_new(loop, address, NULL, scrape_accept, s, err,
	    errsize)) == NULL) {
		free(s);
		return NULL;
	}
	if (url_parse_listen(address, &a) == 0 && a.family_unix)
		strlcpy(s->path, a.path, sizeof(s->path));
	return s;
}

void
scrape_free(struct scrape *s)
{
	if (s == NULL)
		return;
	while (!TAILQ_EMPTY(&s->conns))
		scrape_close(TAILQ_FIRST(&s->conns), 1, NULL);
	listener_free(s->listener);
	if (s->path[0] != '\0')
		unlink(s->path);
	free(s);
}

const char *
scrape_address(const struct scrape *s)
{
	return listener_address(s->listener);
}

uint16_t
scrape_port(const struct scrape *s)
{
	return listener_port(s->listener);
}
