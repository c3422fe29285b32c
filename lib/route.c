/*
 * route.c: one balancer connection's path, accept to close (route.h).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "forward.h"
#include "intake.h"
#include "join.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "place.h"
#include "proxy.h"
#include "route.h"
#include "server.h"
#include "tls.h"

struct route {
	struct route_table	*table;
	struct route		*prev, *next;
	int			 cfd;		/* -1 while the intake has it */
	int			 fd;		/* the client's, whoever holds it */
	struct tls		*ctls;
	char			 address[NET_ADDRSTRLEN];	/* the real client's with -p */
	struct proxy_info	*front;		/* -p: the front's header, copied */
	struct intake		*intake;	/* stream mode: until it is placed */
	char			*path;		/* stream mode: app/stream; else "" */
	int			 role;		/* stream mode: BACKEND_ROLE_PUBLISH or _PLAY */
	struct place		*place;		/* until a backend took it */
	struct backend		*backend;
	struct forward		*fw;
	uint64_t		 timer;		/* the first byte */
	uint64_t		 started;
};

/* " stream app/stream" in log lines, once known. */
static const char *
route_stream_word(const struct route *r)
{
	return r->path[0] != '\0' ? " stream " : "";
}

static char	route_no_path[] = "";

static void
route_forget(struct route *r)
{
	if (r->path != route_no_path)
		free(r->path);
	free(r->front);
	free(r);
}

static void
route_free(struct route *r, struct backend *b)
{
	struct route_table	*t = r->table;

	if (r->timer != 0)
		loop_timer_cancel(t->loop, r->timer);
	place_cancel(r->place);
	intake_free(r->intake);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		t->first = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	route_forget(r);
	if (t->closed != NULL)
		t->closed(t, b, t->arg);
}

/* Before the forward: the client's socket is still ours to close; why NULL: quietly. */
static void
route_unplaced(struct route *r, const char *why)
{
	if (why != NULL) {
		r->table->unplaced++;
		log_warnx("peer %s%s%s: %s: closed", r->address, route_stream_word(r), r->path,
		    why);
	}
	tls_free(r->ctls);
	if (r->cfd != -1)
		close(r->cfd);
	route_free(r, NULL);
}

static void
route_closed(struct forward *fw, int error, const char *reason, void *arg)
{
	struct route	*r = arg;
	struct backend	*b = r->backend;
	uint64_t	 in, out, ms = loop_now(r->table->loop) - r->started;

	(void)error;
	forward_bytes(fw, &in, &out);
	b->bytes_in += in;
	b->bytes_out += out;
	backend_detach(b);
	log_info("peer %s backend %s%s%s: closed: %s, %llu bytes in, %llu out, "
	    "%llu.%03llu s", r->address, b->spec.label, route_stream_word(r), r->path, reason,
	    (unsigned long long)in, (unsigned long long)out,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
	r->fw = NULL;
	route_free(r, b);
}

static const struct forward_events route_forward_events = {
	.closed = route_closed,
};

/* An RTMP client speaks first (C0+C1); one that does not is closed. */
static uint64_t
route_first_byte(struct loop *loop, uint64_t id, void *arg)
{
	struct route	*r = arg;
	uint64_t	 in, out;

	(void)loop;
	(void)id;
	r->timer = 0;
	forward_bytes(r->fw, &in, &out);
	if (in == 0)
		forward_close(r->fw, RTMP_ETIMEOUT, "handshake timeout: nothing sent");
	return LOOP_TIMER_STOP;
}

/* Stream mode: a backend that took the connection must answer the session in time. */
static uint64_t
route_answer_due(struct loop *loop, uint64_t id, void *arg)
{
	struct route	*r = arg;

	(void)loop;
	(void)id;
	r->timer = 0;
	if (forward_waiting(r->fw))
		forward_close(r->fw, RTMP_ETIMEOUT, "backend: no answer to the session");
	return LOOP_TIMER_STOP;
}

/*
 * The header for the backend (its proxy word, else the table's), into
 * buf, naming the client: the front's header (-p), else the socket's
 * ends; a unix client or a front's LOCAL goes as LOCAL/UNKNOWN.
 */
static size_t
route_proxy_header(const struct route *r, const struct backend *b, uint8_t *buf,
    size_t size)
{
	struct sockaddr_storage	 src, dst;
	socklen_t		 srclen = sizeof(src), dstlen = sizeof(dst);
	const struct sockaddr	*sp = NULL, *dp = NULL;
	int			 version, n;

	version = b->spec.proxy != 0 ? b->spec.proxy : r->table->send_proxy;
	if (version == 0)
		return 0;
	if (r->front != NULL && !r->front->local) {
		sp = (const struct sockaddr *)&r->front->src;
		dp = (const struct sockaddr *)&r->front->dst;
		srclen = r->front->srclen;
		dstlen = r->front->dstlen;
	} else if (r->front == NULL && getpeername(r->fd, (struct sockaddr *)&src,
	    &srclen) == 0 && getsockname(r->fd, (struct sockaddr *)&dst, &dstlen) == 0) {
		sp = (const struct sockaddr *)&src;
		dp = (const struct sockaddr *)&dst;
	}
	n = proxy_write(buf, size, version, sp, srclen, dp, dstlen);
	return n > 0 ? (size_t)n : 0;
}

static void
route_placed(struct place *pl, int bfd, struct backend *b, const char *why, void *arg)
{
	struct route		*r = arg;
	struct route_table	*t = r->table;
	struct forward_config	 fc = t->forward;
	struct tls		*btls = NULL;
	uint8_t			 header[PROXY_WRITE_MAX];
	int			 rc;

	(void)pl;
	r->place = NULL;
	if (bfd == -1 && r->intake != NULL) {
		t->unplaced++;
		log_warnx("peer %s stream %s: %s: refused", r->address, r->path, why);
		intake_refuse(r->intake, why);
		return;
	}
	if (bfd == -1) {
		route_unplaced(r, why);
		return;
	}
	if (r->intake != NULL && (rc = intake_take(r->intake, &r->cfd, &r->ctls,
	    &fc.join)) < 0) {
		r->intake = NULL;
		close(bfd);
		backend_detach(b);
		route_unplaced(r, rtmp_strerror(rc));
		return;
	}
	r->intake = NULL;
	fc.prefix = header;
	fc.prefixlen = route_proxy_header(r, b, header, sizeof(header));
	r->backend = b;
	/* RTMPS to it: verified against its host name or address. */
	if (b->spec.tls && ((btls = tls_new(t->backend_tls, bfd, 0)) == NULL ||
	    (!b->spec.addr.family_unix && tls_set_server_name(btls,
	    b->spec.addr.host) < 0))) {
		tls_free(btls);
		btls = NULL;
	}
	if (b->spec.tls && btls == NULL) {
		join_free(fc.join);
		fc.join = NULL;
	}
	if ((b->spec.tls && btls == NULL) || (r->fw = forward_new(t->loop, r->cfd,
	    r->ctls, bfd, btls, &fc, &route_forward_events, r)) == NULL) {
		tls_free(btls);
		close(bfd);
		backend_detach(b);
		route_unplaced(r, "out of memory");
		return;
	}
	if (t->verbose > 0)
		log_info("peer %s backend %s%s%s: connected", r->address, b->spec.label,
		    route_stream_word(r), r->path);
	if (t->first_byte_ms != 0)
		r->timer = loop_timer(t->loop, t->first_byte_ms, r->path[0] == '\0' ?
		    route_first_byte : route_answer_due, r);
}

static void
route_refused(struct place *pl, struct backend *b, const char *why, void *arg)
{
	struct route	*r = arg;

	(void)pl;
	log_warnx("peer %s backend %s%s%s: %s", r->address, b->spec.label,
	    route_stream_word(r), r->path, why);
}

static const struct place_events route_place_events = {
	.done = route_placed,
	.refused = route_refused,
};

/* The client's host without the port: the key of -a source. */
static size_t
route_source_key(const char *address)
{
	const char	*colon = strrchr(address, ':');

	if (strncmp(address, "unix:", 5) == 0 || colon == NULL)
		return strlen(address);
	return (size_t)(colon - address);
}

static void
route_place(struct route *r)
{
	struct route_table	*t = r->table;
	const char		*key = r->path[0] != '\0' ? r->path : r->address;
	size_t			 keylen = r->path[0] != '\0' ? strlen(r->path) :
				    route_source_key(r->address);

	if ((r->place = place_start(t->loop, t->set, &t->place, key, keylen,
	    backend_role_skip(t->set, r->role), &route_place_events, r)) == NULL)
		route_unplaced(r, "out of memory");
}

/* Stream mode: the client said what it wants; the stream's backend can take it. */
static void
route_intake_ready(struct intake *in, const struct intake_request *req, void *arg)
{
	struct route	*r = arg;

	(void)in;
	if (asprintf(&r->path, "%s/%s", req->app, req->stream) == -1) {
		r->path = route_no_path;
		intake_refuse(r->intake, "out of memory");
		return;
	}
	r->role = req->publish ? BACKEND_ROLE_PUBLISH : BACKEND_ROLE_PLAY;
	route_place(r);
}

static void
route_intake_closed(struct intake *in, int error, const char *reason, void *arg)
{
	struct route	*r = arg;

	(void)in;
	r->intake = NULL;
	route_unplaced(r, error == 0 ? NULL : reason);
}

static const struct intake_events route_intake_events = {
	.ready = route_intake_ready,
	.closed = route_intake_closed,
};

void
route_accept(struct route_table *t, int fd, struct tls *tls, const char *address,
    const struct proxy_info *proxy)
{
	struct route	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warnx("peer %s: out of memory: closed", address);
		tls_free(tls);
		close(fd);
		if (t->closed != NULL)
			t->closed(t, NULL, t->arg);
		return;
	}
	r->table = t;
	r->path = route_no_path;
	r->cfd = r->fd = fd;
	r->ctls = tls;
	r->started = loop_now(t->loop);
	strlcpy(r->address, address, sizeof(r->address));
	r->next = t->first;
	if (t->first != NULL)
		t->first->prev = r;
	t->first = r;
	if (proxy != NULL && (r->front = malloc(sizeof(*r->front))) != NULL)
		*r->front = *proxy;
	if (t->place.algo != BACKEND_STREAM) {
		route_place(r);
		return;
	}
	r->cfd = -1;
	r->ctls = NULL;
	if ((r->intake = intake_new(t->loop, fd, tls, &t->intake, &route_intake_events,
	    r)) == NULL)
		route_unplaced(r, "out of memory");
}

void
route_table_bytes(const struct route_table *t, const struct backend *b, uint64_t *in,
    uint64_t *out)
{
	const struct route	*r;
	uint64_t		 i, o;

	*in = *out = 0;
	for (r = t->first; r != NULL; r = r->next)
		if (r->backend == b && r->fw != NULL) {
			forward_bytes(r->fw, &i, &o);
			*in += i;
			*out += o;
		}
}

void
route_table_close(struct route_table *t, const char *reason)
{
	while (t->first != NULL) {
		if (t->first->fw != NULL)
			forward_close(t->first->fw, 0, reason);
		else {
			intake_free(t->first->intake);
			t->first->intake = NULL;
			route_unplaced(t->first, reason);
		}
	}
}
