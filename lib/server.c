/*
 * server.c: the frame of a server program.  See server.h.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "flv.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "net.h"
#include "notify.h"
#include "outq.h"
#include "peer.h"
#include "proxyread.h"
#include "scrape.h"
#include "server.h"
#include "service.h"
#include "tls.h"
#include "url.h"
#include "version.h"

#define SERVER_LINGER_MS	1000
#define SERVER_STATS_TIMEOUT_MS	5000

struct server_session {
	struct server		*server;
	struct peer		*peer;
	struct server_session	*prev, *next;
	void			*arg;
	enum server_role	 role;
	int			 pending;	/* PUBLISH/PLAY awaits the program */
	int			 pending_publish;
	int			 paused;	/* input paused by the program */
	uint64_t		 started;
	char			 address[NET_ADDRSTRLEN];
	char			 app[SERVER_NAME_MAX + 1];
	char			 stream[SERVER_NAME_MAX + 1];
	char			 query[SERVER_QUERY_MAX + 1];
	char			 path[2 * SERVER_NAME_MAX + 2];
};

/* -p: an accepted connection until its PROXY header is read. */
struct server_proxied {
	struct server		*server;
	LIST_ENTRY(server_proxied) entry;
	struct proxyread	*pr;
	struct tls		*tls;
	int			 fd;
	char			 address[NET_ADDRSTRLEN];	/* the socket's */
};

struct server_stats_conn {
	struct server		*server;
	struct server_stats_conn *next;
	int			 fd;
	uint64_t		 timer;
	struct buf		 out;
};

struct server {
	struct server_options	 o;
	struct loop		*loop;
	struct tls_context	*tls;
	struct listener		*listeners[SERVER_ADDRESSES_MAX + NET_LISTEN_FDS_MAX];
	size_t			 nlisteners;
	int			 paused;
	struct listener		*stats_listener;
	struct server_stats_conn *stats_conns;
	int			 stats_bound;
	struct server_session	*sessions;
	size_t			 nsessions;
	size_t			 nraw;		/* events.accept's, still open */
	LIST_HEAD(, server_proxied) proxied;	/* -p: headers being read */
	size_t			 nproxied;
	uint64_t		 accepted;
	struct peer_config	 peer_config;
	struct server_events	 events;
	void			*arg;
	int			 stopping;
	int			 status;
	uint64_t		 grace_timer;
	uint64_t		 started;	/* loop_now() at server_init() */
	uint64_t		 title_timer;	/* a new process title is due */
	int			 pidfile;	/* ours, removed at exit */
	/* -M */
	struct scrape		*scrape;
	time_t			 start_time;	/* the Unix time at server_init() */
	uint64_t		 ended_in, ended_out, ended_skips;	/* of ended sessions */
	uint64_t		 players_dropped;	/* over a queue's limits */
};

static void	server_session_free(struct server_session *);
static int	server_json_input_object(struct buf *, const struct server *,
		    const struct server_input *);

/* Options. */

void
server_options_init(struct server_options *o)
{
	memset(o, 0, sizeof(*o));
	o->chunk_size = 4096;
	o->idle_timeout_ms = 30 * 1000;
	o->max_message = 16u << 20;
	o->max_clients = 1024;
	o->queue_ms = 0;
	o->queue_bytes = 4u << 20;
	o->handshake_timeout_ms = 10 * 1000;
}

static int
server_number(const char *arg, long long min, long long max, const char *what,
    long long *v, char *err, size_t errsize)
{
	const char	*errstr;

	*v = strtonum(arg, min, max, &errstr);
	if (errstr != NULL) {
		snprintf(err, errsize, "%s %s: %s (%lld..%lld)", what, arg, errstr,
		    min, max);
		return RTMP_EINVAL;
	}
	return 0;
}

int
server_option(struct server_options *o, int ch, const char *arg, char *err,
    size_t errsize)
{
	struct listen_address	 a;
	long long		 v;

	switch (ch) {
	case 'C':
		o->cert_file = arg;
		return 1;
	case 'K':
		o->key_file = arg;
		return 1;
	case 'L':
		o->log_file = arg;
		return 1;
	case 'M':
		if (url_parse_listen(arg, &a) < 0) {
			snprintf(err, errsize, "metrics address %s: not a listen address "
			    "(:9102, 127.0.0.1:9102, [::1]:9102, unix:/path)", arg);
			return RTMP_EINVAL;
		}
		o->metrics_address = arg;
		return 1;
	case 'P':
		o->pid_file = arg;
		return 1;
	case 'p':
		o->proxy = 1;
		return 1;
	case 'h':
		return SERVER_OPTION_HELP;
	case 'V':
		return SERVER_OPTION_VERSION;
	case 'v':
		o->verbose++;
		return 1;
	case 's':
		if (strncmp(arg, "unix:", 5) != 0 || arg[5] == '\0' ||
		    strlen(arg + 5) >= sizeof(((struct listen_address *)0)->path)) {
			snprintf(err, errsize, "stats socket %s: not unix:PATH", arg);
			return RTMP_EINVAL;
		}
		o->stats_path = arg + 5;
		return 1;
	}
	switch (ch) {
	case 'c':
		if (server_number(arg, 128, 65536, "chunk size", &v, err, errsize) < 0)
			return RTMP_EINVAL;
		o->chunk_size = (uint32_t)v;
		return 1;
	case 'I':
		if (server_number(arg, 1, 86400, "idle timeout", &v, err, errsize) < 0)
			return RTMP_EINVAL;
		o->idle_timeout_ms = (uint32_t)v * 1000;
		return 1;
	case 'x':
		if (server_number(arg, 4096, 64 << 20, "max message size", &v, err,
		    errsize) < 0)
			return RTMP_EINVAL;
		o->max_message = (uint32_t)v;
		return 1;
	case 'm':
		if (server_number(arg, 1, 65536, "max clients", &v, err, errsize) < 0)
			return RTMP_EINVAL;
		o->max_clients = (uint32_t)v;
		return 1;
	case 'Q':
		if (server_number(arg, 0, 600000, "queue ms", &v, err, errsize) < 0)
			return RTMP_EINVAL;
		o->queue_ms = (uint32_t)v;
		return 1;
	case 'q':
		if (server_number(arg, 65536, 1 << 30, "queue bytes", &v, err,
		    errsize) < 0)
			return RTMP_EINVAL;
		o->queue_bytes = (size_t)v;
		return 1;
	case 't':
		if (server_number(arg, 1, 3600, "handshake timeout", &v, err,
		    errsize) < 0)
			return RTMP_EINVAL;
		o->handshake_timeout_ms = (uint32_t)v * 1000;
		return 1;
	}
	return 0;
}

int
server_add_address(struct server_options *o, const char *address, char *err,
    size_t errsize)
{
	struct listen_address	 a;

	if (url_parse_listen(address, &a) < 0) {
		snprintf(err, errsize, "%s: not a listen address (:1935, "
		    "127.0.0.1:1935, [::]:1935, unix:/path)", address);
		return RTMP_EINVAL;
	}
	if (o->naddresses == SERVER_ADDRESSES_MAX) {
		snprintf(err, errsize, "%s: more than %d listen addresses", address,
		    SERVER_ADDRESSES_MAX);
		return RTMP_EINVAL;
	}
	o->addresses[o->naddresses++] = address;
	return 0;
}

int
server_option_status(int rc, const char *name, const char *err, void (*usage)(void))
{
	switch (rc) {
	case 1:
		return -1;
	case SERVER_OPTION_HELP:
		usage();
		return 0;
	case SERVER_OPTION_VERSION:
		printf("%s %s\n", name, RTMPKIT_VERSION);
		return 0;
	case RTMP_EINVAL:
		fprintf(stderr, "%s: %s\n", name, err);
		break;
	}
	usage();
	return 2;
}

int
server_options_check(const struct server_options *o, char *err, size_t errsize)
{
	if (o->key_file != NULL && o->cert_file == NULL) {
		snprintf(err, errsize, "-K needs -C: a key without a certificate");
		return RTMP_EINVAL;
	}
	return 0;
}

/* Names. */

int
server_name_valid(const char *name, size_t len)
{
	size_t	 i;
	char	 c;

	if (len == 0 || len > SERVER_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

int
server_stream_split(const uint8_t *name, size_t len, char *stream,
    size_t streamsize, char *query, size_t querysize)
{
	const uint8_t	*q;
	size_t		 slen, qlen = 0;

	if (streamsize > 0)
		stream[0] = '\0';
	if (querysize > 0)
		query[0] = '\0';
	q = memchr(name, '?', len);
	slen = q != NULL ? (size_t)(q - name) : len;
	if (q != NULL)
		qlen = len - slen - 1;
	if (!server_name_valid((const char *)name, slen) || slen >= streamsize ||
	    qlen >= querysize)
		return RTMP_EINVAL;
	/* The query goes to logs' neighbours and commands' environment: no NULs. */
	if (q != NULL && memchr(q + 1, '\0', qlen) != NULL)
		return RTMP_EINVAL;
	memcpy(stream, name, slen);
	stream[slen] = '\0';
	if (q != NULL)
		memcpy(query, q + 1, qlen);
	query[qlen] = '\0';
	return 0;
}

int
server_query_value(const char *query, const char *key, char *out, size_t outsize)
{
	size_t		 klen = strlen(key), vlen;
	const char	*p = query, *end;

	if (outsize > 0)
		out[0] = '\0';
	while (*p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			vlen = (size_t)(end - p) - klen - 1;
			if (vlen >= outsize)
				return RTMP_ESPACE;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return 0;
}

void
server_escape(const uint8_t *s, size_t len, char *out, size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, n = 0, shown = len > 64 ? 64 : len;
	uint8_t		 c;

	if (outsize < 8) {
		if (outsize > 0)
			out[0] = '\0';
		return;
	}
	out[n++] = '"';
	for (i = 0; i < shown && n + 4 + 5 < outsize; i++) {
		c = s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else
			out[n++] = (char)c;
	}
	out[n++] = '"';
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

int
server_json_string(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char		 e[6] = { '\\', 'u', '0', '0', 0, 0 };
	const char	*run = s;
	int		 rc;

	if ((rc = buf_append(b, "\"", 1)) < 0)
		return rc;
	for (; *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		if ((rc = buf_append(b, run, (size_t)(s - run))) < 0)
			return rc;
		if (c == '"' || c == '\\') {
			e[1] = (char)c;
			rc = buf_append(b, e, 2);
			e[1] = 'u';
		} else {
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			rc = buf_append(b, e, 6);
		}
		if (rc < 0)
			return rc;
		run = s + 1;
	}
	if ((rc = buf_append(b, run, (size_t)(s - run))) < 0)
		return rc;
	return buf_append(b, "\"", 1);
}

int
server_json_session(struct buf *b, const struct server_session *ss)
{
	char	 n[192];
	int	 rc = 0;

	rc |= buf_append(b, "\"address\":", 10);
	rc |= server_json_string(b, ss->address);
	rc |= buf_append(b, ",\"app\":", 7);
	rc |= server_json_string(b, ss->app);
	rc |= buf_append(b, ",\"stream\":", 10);
	rc |= server_json_string(b, ss->stream);
	snprintf(n, sizeof(n), ",\"bytes_in\":%llu,\"bytes_out\":%llu,\"seconds\":%llu,"
	    "\"tls\":%s", (unsigned long long)peer_bytes_in(ss->peer),
	    (unsigned long long)peer_bytes_out(ss->peer),
	    (unsigned long long)((loop_now(ss->server->loop) - ss->started) / 1000),
	    peer_tls(ss->peer) ? "true" : "false");
	rc |= buf_append(b, n, strlen(n));
	return rc < 0 ? RTMP_ENOMEM : 0;
}

int
server_json_client(struct buf *b, const struct server_session *ss,
    const struct server_client_stats *c, int first)
{
	char	 n[160];
	int	 rc = 0;

	/* A list that would crowd out the rest of the document stops here. */
	if (b->limit != 0 && b->len + SERVER_JSON_CLIENT_MAX + SERVER_JSON_TAIL > b->limit)
		return RTMP_ESPACE;
	rc |= buf_append(b, first ? "{" : ",{", first ? 1 : 2);
	rc |= server_json_session(b, ss);
	snprintf(n, sizeof(n), ",\"bytes\":%llu,\"outq\":%llu,\"skips\":%llu",
	    (unsigned long long)c->bytes, (unsigned long long)c->outq,
	    (unsigned long long)c->skips);
	rc |= buf_append(b, n, strlen(n));
	if (c->input != NULL) {
		rc |= buf_append(b, ",\"input\":", 9);
		rc |= server_json_input_object(b, ss->server, c->input);
	}
	rc |= buf_append(b, "}", 1);
	return rc < 0 ? RTMP_ENOMEM : 0;
}

int
server_json_clients(struct buf *b, struct server *sv, const char *name,
    int (*get)(struct server_session *, struct server_client_stats *, void *),
    void *arg)
{
	struct server_client_stats	 c;
	struct server_session		*ss;
	int				 rc = 0, first = 1, cut = 0;

	rc |= buf_append(b, ",", 1);
	rc |= server_json_string(b, name);
	rc |= buf_append(b, ":[", 2);
	for (ss = sv->sessions; ss != NULL && rc == 0 && !cut; ss = ss->next) {
		memset(&c, 0, sizeof(c));
		if (get(ss, &c, arg) != 1)
			continue;
		if ((rc = server_json_client(b, ss, &c, first)) == RTMP_ESPACE) {
			cut = 1;
			rc = 0;
		}
		first = 0;
	}
	rc |= buf_append(b, "],", 2);
	rc |= buf_append(b, "\"", 1);
	rc |= buf_append(b, name, strlen(name));
	rc |= buf_append(b, cut ? "_truncated\":true" : "_truncated\":false",
	    cut ? 16 : 17);
	return rc < 0 ? RTMP_ENOMEM : 0;
}

/* Input stats. */

void
server_input_tag(struct server_input *in, uint64_t now_ms, uint8_t type,
    const uint8_t *payload, size_t len)
{
	struct flv_media_info	 info;
	uint64_t		 sec = now_ms / 1000;
	size_t			 i = sec % SERVER_RATE_SECONDS;

	if (in->tags == 0)
		in->first_ms = now_ms;
	in->last_ms = now_ms;
	in->tags++;
	in->bytes += len;
	if (in->second[i] != sec) {
		in->second[i] = sec;
		in->second_bytes[i] = 0;
	}
	in->second_bytes[i] += len;
	/* Every tag names its codec: a publisher may change it mid-stream. */
	if (type == FLV_TAG_VIDEO && flv_inspect_video(payload, len, &info) == 0 &&
	    info.codec != FLV_CODEC_UNKNOWN)
		in->video = info.codec;
	else if (type == FLV_TAG_AUDIO && flv_inspect_audio(payload, len, &info) == 0 &&
	    info.codec != FLV_CODEC_UNKNOWN)
		in->audio = info.codec;
}

void
server_input_end(struct server_input *in)
{
	in->ended = 1;
}

const char *
server_input_state(const struct server_input *in, uint64_t now_ms)
{
	if (in->ended)
		return "ended";
	if (in->tags == 0)
		return "waiting";
	return now_ms - in->last_ms >= SERVER_INPUT_PAUSED_MS ? "paused" : "live";
}

uint64_t
server_input_kbit_s(const struct server_input *in, uint64_t now_ms)
{
	uint64_t	 sec = now_ms / 1000, from, bytes = 0, span;
	size_t		 i;

	if (in->tags == 0 || sec + 1 < SERVER_RATE_SECONDS)
		return 0;
	/* The window: the last seconds, the current one partly, not before the first tag. */
	from = (sec + 1 - SERVER_RATE_SECONDS) * 1000;
	if (from < in->first_ms)
		from = in->first_ms;
	for (i = 0; i < SERVER_RATE_SECONDS; i++)
		if (in->second[i] + SERVER_RATE_SECONDS > sec && in->second[i] <= sec)
			bytes += in->second_bytes[i];
	/* Under a second of stream says little: count it as a second. */
	span = now_ms - from < 1000 ? 1000 : now_ms - from;
	return bytes * 8 / span;
}

static int
server_json_codec(struct buf *b, const char *key, int codec)
{
	int	 rc;

	if ((rc = buf_append(b, key, strlen(key))) < 0)
		return rc;
	if (codec == FLV_CODEC_UNKNOWN)
		return buf_append(b, "null", 4);
	return server_json_string(b, flv_codec_name(codec));
}

static int
server_json_input_object(struct buf *b, const struct server *sv,
    const struct server_input *in)
{
	uint64_t	 now = loop_now(sv->loop);
	char		 n[160];
	int		 rc = 0;

	snprintf(n, sizeof(n), "{\"state\":\"%s\",\"kbit_s\":%llu",
	    server_input_state(in, now), (unsigned long long)server_input_kbit_s(in, now));
	rc |= buf_append(b, n, strlen(n));
	rc |= server_json_codec(b, ",\"video\":", in->video);
	rc |= server_json_codec(b, ",\"audio\":", in->audio);
	snprintf(n, sizeof(n), ",\"tags\":%llu,\"bytes\":%llu,\"ended\":%s}",
	    (unsigned long long)in->tags, (unsigned long long)in->bytes,
	    in->ended ? "true" : "false");
	rc |= buf_append(b, n, strlen(n));
	return rc < 0 ? RTMP_ENOMEM : 0;
}

int
server_json_input(struct buf *b, const struct server *sv, const struct server_input *in)
{
	char	 n[64];
	int	 rc;

	snprintf(n, sizeof(n), "\"uptime_seconds\":%llu,\"input\":",
	    (unsigned long long)(server_uptime_ms(sv) / 1000));
	if ((rc = buf_append(b, n, strlen(n))) < 0)
		return rc;
	return server_json_input_object(b, sv, in);
}

uint64_t
server_uptime_ms(const struct server *sv)
{
	return loop_now(sv->loop) - sv->started;
}

/* Sessions. */

/* Connections that count against max clients and that SIGTERM waits for. */
static size_t
server_count(const struct server *sv)
{
	return sv->nsessions + sv->nraw + sv->nproxied;
}

/* No room for one more: stopping, or at max clients. */
static int
server_full(const struct server *sv)
{
	return sv->stopping || server_count(sv) >= sv->o.max_clients;
}

static void
server_update_pause(struct server *sv)
{
	int	 paused = server_full(sv);
	size_t	 i;

	if (paused == sv->paused)
		return;
	sv->paused = paused;
	for (i = 0; i < sv->nlisteners; i++)
		listener_pause(sv->listeners[i], paused);
	if (!sv->stopping)
		log_info("%s connections at %zu of %u", paused ? "pause:" : "resume:",
		    server_count(sv), sv->o.max_clients);
}

static void
server_refuse(struct server_session *ss, const struct amf0_view *name,
    const char *what)
{
	char	 shown[SERVER_ESCAPED_MAX];

	server_escape(name->ptr, name->len, shown, sizeof(shown));
	log_warnx("peer %s: %s %s refused: not a valid name", ss->address, what, shown);
	rtmp_server_reject(peer_session(ss->peer), "invalid name");
}

static void
server_peer_event(struct peer *p, const struct rtmp_event *ev, void *arg)
{
	struct server_session	*ss = arg;
	struct server		*sv = ss->server;
	struct rtmp_session	*rs = peer_session(p);

	switch (ev->type) {
	case RTMP_EVENT_CONNECT:
		if (!server_name_valid((const char *)ev->app.ptr, ev->app.len)) {
			server_refuse(ss, &ev->app, "app");
			peer_finish(p, SERVER_LINGER_MS);
			return;
		}
		memcpy(ss->app, ev->app.ptr, ev->app.len);
		ss->app[ev->app.len] = '\0';
		if (rtmp_server_accept_connect(rs) < 0)
			peer_close(p, RTMP_ENOMEM, "cannot answer connect");
		return;
	case RTMP_EVENT_PUBLISH:
	case RTMP_EVENT_PLAY:
		if (sv->stopping) {
			rtmp_server_reject(rs, "server shutting down");
			return;
		}
		if (server_stream_split(ev->stream.ptr, ev->stream.len, ss->stream,
		    sizeof(ss->stream), ss->query, sizeof(ss->query)) < 0) {
			server_refuse(ss, &ev->stream, "stream");
			return;
		}
		snprintf(ss->path, sizeof(ss->path), "%s/%s", ss->app, ss->stream);
		ss->pending = 1;
		ss->pending_publish = ev->type == RTMP_EVENT_PUBLISH;
		break;
	default:
		break;
	}
	if (sv->events.event != NULL)
		sv->events.event(ss, ev, sv->arg);
}

static void
server_peer_drained(struct peer *p, void *arg)
{
	struct server_session	*ss = arg;

	(void)p;
	if (ss->server->events.drained != NULL)
		ss->server->events.drained(ss, ss->server->arg);
}

static void
server_peer_timeout(struct peer *p, void *arg)
{
	struct server_session	*ss = arg;
	struct server		*sv = ss->server;
	uint64_t		 now = loop_now(sv->loop), last;

	if (ss->role == SERVER_ROLE_NONE) {
		peer_close(p, RTMP_ETIMEOUT, "handshake timeout");
		return;
	}
	last = peer_last_input(p);
	if (peer_last_output(p) > last)
		last = peer_last_output(p);
	if (ss->paused)
		last = now;
	if (now - last >= sv->o.idle_timeout_ms) {
		peer_close(p, RTMP_ETIMEOUT, "idle");
		return;
	}
	peer_deadline(p, (uint32_t)(sv->o.idle_timeout_ms - (now - last)));
}

static void
server_peer_closed(struct peer *p, int error, const char *reason, void *arg)
{
	struct server_session	*ss = arg;
	struct server		*sv = ss->server;

	(void)p;
	/* A hang-up before publish or play (health checks, scanners) is noise. */
	if (ss->role != SERVER_ROLE_NONE || sv->o.verbose > 0 ||
	    (error != RTMP_OK && error != RTMP_ECLOSED))
		log_info("peer %s%s%s: closed: %s", ss->address,
		    ss->path[0] != '\0' ? " stream " : "", ss->path,
		    error == RTMP_OK ? "finished" : reason);
	/* The slow-player policy's verdict (outq.h, fanout.h), for -M. */
	if (ss->role == SERVER_ROLE_PLAYER && error == RTMP_ELIMIT)
		sv->players_dropped++;
	if (sv->events.closed != NULL)
		sv->events.closed(ss, error, reason, sv->arg);
	server_session_free(ss);
	server_update_pause(sv);
	if (sv->stopping && server_count(sv) == 0)
		loop_stop(sv->loop);
}

static const struct peer_events server_peer_events = {
	.event = server_peer_event,
	.drained = server_peer_drained,
	.timeout = server_peer_timeout,
	.closed = server_peer_closed,
};

/*
 * A connection, its address the client's: a raw one for the program, or
 * a session.  proxy is its PROXY header (-p), NULL without.
 */
static void
server_admit(struct server *sv, int fd, struct tls *tls, const char *address,
    const struct proxy_info *proxy)
{
	struct server_session	*ss = NULL;

	/* A burst may run past the limit before the pause takes effect. */
	if (server_full(sv) ||
	    (sv->events.accept == NULL && (ss = calloc(1, sizeof(*ss))) == NULL)) {
		tls_free(tls);
		close(fd);
		return;
	}
	if (sv->events.accept != NULL) {
		/* Counted first: the program may close it before returning. */
		sv->nraw++;
		server_title_changed(sv);
		sv->accepted++;
		server_update_pause(sv);
		sv->events.accept(sv, fd, tls, address, proxy, sv->arg);
		return;
	}
	ss->server = sv;
	ss->started = loop_now(sv->loop);
	strlcpy(ss->address, address, sizeof(ss->address));
	if ((ss->peer = peer_new(sv->loop, fd, tls, &sv->peer_config,
	    &server_peer_events, ss)) == NULL) {
		log_warnx("peer %s: out of memory", address);
		free(ss);
		return;
	}
	peer_deadline(ss->peer, sv->o.handshake_timeout_ms);
	ss->next = sv->sessions;
	if (sv->sessions != NULL)
		sv->sessions->prev = ss;
	sv->sessions = ss;
	sv->nsessions++;
	sv->accepted++;
	if (sv->o.verbose > 1)
		log_debug("peer %s: accepted", address);
	server_update_pause(sv);
}

static void
server_proxied_free(struct server_proxied *px)
{
	LIST_REMOVE(px, entry);
	px->server->nproxied--;
	proxyread_cancel(px->pr);
	free(px);
}

/* Closed before it became anything: the header failed, or we stop. */
static void
server_proxied_close(struct server_proxied *px)
{
	tls_free(px->tls);
	close(px->fd);
	server_proxied_free(px);
}

/* -p: the header names the client; the rest waits in the socket. */
static void
server_proxied(struct proxyread *pr, int fd, int error, const struct proxy_info *info,
    void *arg)
{
	struct server_proxied	*px = arg;
	struct server		*sv = px->server;
	struct tls		*tls = px->tls;
	char			 address[NET_ADDRSTRLEN];

	(void)pr;
	px->pr = NULL;
	if (error < 0) {
		/* A front balancer's own check connects and hangs up: no news. */
		if (error != RTMP_ECLOSED || sv->o.verbose > 0)
			log_warnx("peer %s: PROXY header: %s: closed", px->address,
			    rtmp_strerror(error));
		server_proxied_close(px);
	} else {
		/* LOCAL and UNKNOWN (health checks) keep the socket's address. */
		if (info->local)
			strlcpy(address, px->address, sizeof(address));
		else
			net_format_address((const struct sockaddr *)&info->src,
			    info->srclen, address, sizeof(address));
		if (sv->o.verbose > 1)
			log_debug("peer %s: PROXY v%d: %s", px->address, info->version,
			    address);
		server_proxied_free(px);
		server_admit(sv, fd, tls, address, info);
	}
	server_update_pause(sv);
	if (sv->stopping && server_count(sv) == 0)
		loop_stop(sv->loop);
}

static void
server_accept(struct listener *l, int fd, struct tls *tls, const char *address,
    void *arg)
{
	struct server		*sv = arg;
	struct server_proxied	*px;

	(void)l;
	if (!sv->o.proxy) {
		server_admit(sv, fd, tls, address, NULL);
		return;
	}
	/* The header under the handshake deadline, counted as a connection. */
	if (server_full(sv) || (px = calloc(1, sizeof(*px))) == NULL) {
		tls_free(tls);
		close(fd);
		return;
	}
	px->server = sv;
	px->fd = fd;
	px->tls = tls;
	strlcpy(px->address, address, sizeof(px->address));
	if ((px->pr = proxyread_start(sv->loop, fd, sv->o.handshake_timeout_ms,
	    server_proxied, px)) == NULL) {
		log_warnx("peer %s: out of memory", address);
		tls_free(tls);
		close(fd);
		free(px);
		return;
	}
	LIST_INSERT_HEAD(&sv->proxied, px, entry);
	sv->nproxied++;
	server_update_pause(sv);
}

static void
server_session_free(struct server_session *ss)
{
	struct server	*sv = ss->server;

	if (ss->prev != NULL)
		ss->prev->next = ss->next;
	else
		sv->sessions = ss->next;
	if (ss->next != NULL)
		ss->next->prev = ss->prev;
	sv->nsessions--;
	if (ss->role != SERVER_ROLE_NONE)
		server_title_changed(sv);
	/* -M's totals are over every session ever, not only the live ones. */
	sv->ended_in += peer_bytes_in(ss->peer);
	sv->ended_out += peer_bytes_out(ss->peer);
	sv->ended_skips += peer_queue(ss->peer)->skips;
	peer_free(ss->peer);
	free(ss);
}

int
server_session_accept(struct server_session *ss)
{
	struct rtmp_session	*rs = peer_session(ss->peer);
	int			 rc;

	if (!ss->pending)
		return RTMP_ESTATE;
	ss->pending = 0;
	rc = ss->pending_publish ? rtmp_server_accept_publish(rs) :
	    rtmp_server_accept_play(rs);
	if (rc < 0)
		return rc;
	ss->role = ss->pending_publish ? SERVER_ROLE_PUBLISHER : SERVER_ROLE_PLAYER;
	server_title_changed(ss->server);
	peer_deadline(ss->peer, ss->server->o.idle_timeout_ms);
	peer_flush(ss->peer);
	return 0;
}

int
server_session_reject(struct server_session *ss, const char *description)
{
	int	 rc;

	if (!ss->pending)
		return RTMP_ESTATE;
	ss->pending = 0;
	rc = rtmp_server_reject(peer_session(ss->peer), description);
	peer_flush(ss->peer);
	return rc;
}

void
server_session_pause_input(struct server_session *ss, int paused)
{
	/* Resumed, the idle clock starts again rather than count our pause. */
	if (ss->paused && !paused && ss->role != SERVER_ROLE_NONE)
		peer_deadline(ss->peer, ss->server->o.idle_timeout_ms);
	ss->paused = paused;
	peer_pause_input(ss->peer, paused);
}

void
server_session_finish(struct server_session *ss)
{
	peer_finish(ss->peer, SERVER_LINGER_MS);
}

void
server_session_close(struct server_session *ss, int error, const char *reason)
{
	peer_close(ss->peer, error, reason);
}

struct peer *
server_session_peer(struct server_session *ss)
{
	return ss->peer;
}

struct server *
server_session_server(struct server_session *ss)
{
	return ss->server;
}

void
server_session_set_arg(struct server_session *ss, void *arg)
{
	ss->arg = arg;
}

void *
server_session_arg(const struct server_session *ss)
{
	return ss->arg;
}

enum server_role
server_session_role(const struct server_session *ss)
{
	return ss->role;
}

int
server_session_pending(const struct server_session *ss)
{
	return ss->pending;
}

const char *
server_session_address(const struct server_session *ss)
{
	return ss->address;
}

const char *
server_session_app(const struct server_session *ss)
{
	return ss->app;
}

const char *
server_session_stream(const struct server_session *ss)
{
	return ss->stream;
}

const char *
server_session_query(const struct server_session *ss)
{
	return ss->query;
}

const char *
server_session_path(const struct server_session *ss)
{
	return ss->path;
}

uint64_t
server_session_started(const struct server_session *ss)
{
	return ss->started;
}

/* Stats socket. */

static void
server_stats_free(struct server_stats_conn *sc)
{
	struct server		*sv = sc->server;
	struct server_stats_conn **pp;

	for (pp = &sv->stats_conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == sc) {
			*pp = sc->next;
			break;
		}
	loop_timer_cancel(sv->loop, sc->timer);
	loop_remove(sv->loop, sc->fd);
	close(sc->fd);
	buf_free(&sc->out);
	free(sc);
}

static void
server_stats_write(struct loop *loop, int fd, int events, void *arg)
{
	struct server_stats_conn *sc = arg;
	ssize_t			 n;

	(void)loop;
	(void)events;
	while (sc->out.len > 0) {
		n = write(fd, buf_data(&sc->out), sc->out.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		buf_consume(&sc->out, (size_t)n);
	}
	server_stats_free(sc);
}

static uint64_t
server_stats_timeout(struct loop *loop, uint64_t id, void *arg)
{
	struct server_stats_conn *sc = arg;

	(void)loop;
	(void)id;
	sc->timer = 0;
	server_stats_free(sc);
	return LOOP_TIMER_STOP;
}

/* The program's document, or a minimal one when it has none. */
static int
server_stats_document(struct server *sv, struct buf *out)
{
	char	 line[128];

	if (sv->events.stats != NULL)
		return sv->events.stats(sv, out, sv->arg);
	snprintf(line, sizeof(line), "{\"sessions\":%zu,\"accepted\":%llu}",
	    sv->nsessions, (unsigned long long)sv->accepted);
	return buf_append(out, line, strlen(line));
}

static void
server_stats_accept(struct listener *l, int fd, struct tls *tls, const char *address,
    void *arg)
{
	struct server		*sv = arg;
	struct server_stats_conn *sc;

	(void)l;
	(void)address;
	tls_free(tls);
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		close(fd);
		return;
	}
	sc->server = sv;
	sc->fd = fd;
	buf_init(&sc->out, SERVER_STATS_MAX);
	if (server_stats_document(sv, &sc->out) < 0 ||
	    buf_append(&sc->out, "\n", 1) < 0 ||
	    loop_add(sv->loop, fd, LOOP_WRITE, server_stats_write, sc) < 0) {
		log_warnx("stats: cannot answer");
		buf_free(&sc->out);
		close(fd);
		free(sc);
		return;
	}
	sc->timer = loop_timer(sv->loop, SERVER_STATS_TIMEOUT_MS, server_stats_timeout, sc);
	sc->next = sv->stats_conns;
	sv->stats_conns = sc;
}

/* Metrics (-M). */

int
server_metrics_input(struct metrics *m, const struct server *sv,
    const struct server_input *in)
{
	metrics_counter(m, "rtmpkit_input_tags_total", "Audio, video and data tags "
	    "taken in.", in->tags);
	metrics_counter(m, "rtmpkit_input_bytes_total", "Payload bytes of the tags "
	    "taken in.", in->bytes);
	return metrics_gauge(m, "rtmpkit_input_live", "1 while tags arrive, 0 "
	    "waiting, paused or ended.", strcmp(server_input_state(in,
	    loop_now(sv->loop)), "live") == 0);
}

static int
server_metrics_path_cmp(const void *a, const void *b)
{
	return strcmp((*(struct server_session *const *)a)->path,
	    (*(struct server_session *const *)b)->path);
}

/* rtmpkit_players and rtmpkit_publishers: sessions sorted by stream, counted. */
static int
server_metrics_streams(struct server *sv, struct metrics *m)
{
	struct server_session	**v, *ss;
	size_t			 n = 0, i, j, count;
	int			 pass;

	if ((v = calloc(sv->nsessions + 1, sizeof(*v))) == NULL)
		return m->error = RTMP_ENOMEM;
	for (ss = sv->sessions; ss != NULL; ss = ss->next)
		if (ss->role != SERVER_ROLE_NONE)
			v[n++] = ss;
	qsort(v, n, sizeof(*v), server_metrics_path_cmp);
	for (pass = SERVER_ROLE_PLAYER; pass >= SERVER_ROLE_PUBLISHER; pass--) {
		metrics_family(m, pass == SERVER_ROLE_PLAYER ? "rtmpkit_players" :
		    "rtmpkit_publishers", METRICS_GAUGE, pass == SERVER_ROLE_PLAYER ?
		    "Players connected now, by app/stream." :
		    "Publishers connected now, by app/stream.");
		for (i = 0; i < n; i = j) {
			for (j = i, count = 0; j < n && strcmp(v[j]->path, v[i]->path) == 0; j++)
				count += v[j]->role == (enum server_role)pass;
			if (count > 0)
				metrics_sample1(m, "stream", v[i]->path, count);
		}
	}
	free(v);
	return metrics_error(m);
}

/* The document of a scrape: the frame's families, the program's, the cut. */
static int
server_metrics_document(struct buf *out, void *arg)
{
	struct server		*sv = arg;
	struct server_session	*ss;
	struct metrics		 m;
	struct metrics_label	 build[2] = {
		{ "program", getprogname() }, { "version", RTMPKIT_VERSION } };
	uint64_t		 in = sv->ended_in, sent = sv->ended_out;
	uint64_t		 skips = sv->ended_skips, raw_in = 0, raw_out = 0;

	for (ss = sv->sessions; ss != NULL; ss = ss->next) {
		in += peer_bytes_in(ss->peer);
		sent += peer_bytes_out(ss->peer);
		skips += peer_queue(ss->peer)->skips;
	}
	if (sv->events.raw_bytes != NULL)
		sv->events.raw_bytes(sv, &raw_in, &raw_out, sv->arg);
	metrics_init(&m, out, SERVER_METRICS_TAIL);
	metrics_family(&m, "rtmpkit_build_info", METRICS_GAUGE, "The program and its "
	    "version, always 1.");
	metrics_sample(&m, build, 2, 1);
	metrics_gauge(&m, "process_start_time_seconds", "Start time of the process "
	    "since the Unix epoch in seconds.", (uint64_t)sv->start_time);
	metrics_gauge(&m, "rtmpkit_connections", "Connections open now (those -m "
	    "limits).", server_count(sv));
	metrics_counter(&m, "rtmpkit_connections_accepted_total", "Connections "
	    "accepted.", sv->accepted);
	metrics_counter(&m, "rtmpkit_received_bytes_total", "Bytes received from "
	    "clients.", in + raw_in);
	metrics_counter(&m, "rtmpkit_sent_bytes_total", "Bytes sent to clients.",
	    sent + raw_out);
	metrics_counter(&m, "rtmpkit_player_skips_total", "Times a player's queue "
	    "was skipped ahead to a keyframe.", skips);
	metrics_counter(&m, "rtmpkit_players_dropped_total", "Players closed for "
	    "falling behind: skipped too often, or over the queue's hard bound.",
	    sv->players_dropped);
	server_metrics_streams(sv, &m);
	if (sv->events.metrics != NULL && metrics_error(&m) == 0)
		sv->events.metrics(sv, &m, sv->arg);
	metrics_reserve(&m, 0);
	metrics_gauge(&m, "rtmpkit_metrics_dropped_samples", "Samples left out of "
	    "this document to keep it under its size limit.", m.dropped);
	return metrics_error(&m);
}

uint16_t
server_metrics_port(const struct server *sv)
{
	return sv->scrape != NULL ? scrape_port(sv->scrape) : 0;
}

/* Signals. */

/* Room for the log's time stamp, the program's name and "stats N/M ". */
#define SERVER_STATS_PIECE	(LOG_LINE_MAX - 96)

/*
 * The document in one line if it fits, else in pieces that join back into
 * it: a log line is cut at LOG_LINE_MAX, and a cut document is no JSON.
 */
static void
server_stats_log(const struct buf *b)
{
	const char	*p = (const char *)buf_data(b);
	size_t		 n, i, pieces = (b->len + SERVER_STATS_PIECE - 1) / SERVER_STATS_PIECE;

	if (pieces <= 1) {
		log_info("stats %.*s", (int)b->len, p);
		return;
	}
	for (i = 0; i < pieces; i++) {
		n = b->len - i * SERVER_STATS_PIECE;
		if (n > SERVER_STATS_PIECE)
			n = SERVER_STATS_PIECE;
		log_info("stats %zu/%zu %.*s", i + 1, pieces, (int)n,
		    p + i * SERVER_STATS_PIECE);
	}
}

/*
 * SIGHUP: the certificate and key again (a renewed certificate), for the
 * connections accepted from now on.  One that does not load changes
 * nothing: the server goes on with the old pair.
 */
static void
server_reload_tls(struct server *sv)
{
	struct tls_context	*tls;
	struct tls_config	 tc;
	char			 err[256];
	size_t			 i;

	if (sv->tls == NULL)
		return;
	memset(&tc, 0, sizeof(tc));
	tc.cert_file = sv->o.cert_file;
	tc.key_file = sv->o.key_file;
	if ((tls = tls_context_new(&tc, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; keeping the certificate loaded before", err);
		return;
	}
	for (i = 0; i < sv->nlisteners; i++)
		listener_set_tls(sv->listeners[i], tls);
	tls_context_free(sv->tls);
	sv->tls = tls;
	log_info("reload: certificate %s", sv->o.cert_file);
}

static void
server_signal(struct loop *loop, int signo, void *arg)
{
	struct server	*sv = arg;
	struct buf	 b;

	(void)loop;
	switch (signo) {
	case SIGHUP:
		if (log_reopen() < 0)
			log_warn("log %s: cannot reopen", sv->o.log_file);
		server_reload_tls(sv);
		if (sv->events.hangup != NULL)
			sv->events.hangup(sv, sv->arg);
		break;
	case SIGUSR1:
		buf_init(&b, SERVER_STATS_LOG_MAX);
		if (server_stats_document(sv, &b) == 0)
			server_stats_log(&b);
		else
			log_warnx("stats: cannot build the document (%zu sessions)",
			    sv->nsessions);
		buf_free(&b);
		break;
	default:
		log_info("signal %d: stopping", signo);
		server_stop(sv, 0);
		break;
	}
}

static uint64_t
server_grace_over(struct loop *loop, uint64_t id, void *arg)
{
	struct server	*sv = arg;

	(void)id;
	sv->grace_timer = 0;
	if (server_count(sv) > 0)
		log_info("stop: %zu sessions did not finish in time", server_count(sv));
	loop_stop(loop);
	return LOOP_TIMER_STOP;
}

void
server_stop(struct server *sv, int status)
{
	struct server_session	*ss;
	size_t			 i;

	if (sv->stopping)
		return;
	sv->stopping = 1;
	sv->status = status;
	notify_send("STOPPING=1");
	service_title("stopping");
	/*
	 * Closed, not paused: a client still in the backlog is refused now
	 * rather than reset at exit, and a replacement can bind the port
	 * while the sessions drain.
	 */
	for (i = 0; i < sv->nlisteners; i++)
		listener_free(sv->listeners[i]);
	sv->nlisteners = 0;
	/* The scraper sees the target down, as the port is: no half answers. */
	scrape_free(sv->scrape);
	sv->scrape = NULL;
	/* Not a session yet: a front balancer tries again elsewhere. */
	while (!LIST_EMPTY(&sv->proxied))
		server_proxied_close(LIST_FIRST(&sv->proxied));
	if (sv->events.stopping != NULL)
		sv->events.stopping(sv, sv->arg);
	/* peer_finish() reports `closed` from the loop: the list holds. */
	for (ss = sv->sessions; ss != NULL; ss = ss->next)
		peer_finish(ss->peer, SERVER_LINGER_MS);
	if (server_count(sv) == 0)
		loop_stop(sv->loop);
	else
		sv->grace_timer = loop_timer(sv->loop, sv->o.stop_grace_ms != 0 ?
		    sv->o.stop_grace_ms : SERVER_STOP_GRACE_MS, server_grace_over, sv);
}

void
server_raw_closed(struct server *sv)
{
	if (sv->nraw == 0)
		return;
	sv->nraw--;
	server_title_changed(sv);
	server_update_pause(sv);
	if (sv->stopping && server_count(sv) == 0)
		loop_stop(sv->loop);
}

size_t
server_raw(const struct server *sv)
{
	return sv->nraw;
}

int
server_stopping(const struct server *sv)
{
	return sv->stopping;
}

/* The process title. */

#define SERVER_TITLE_STREAMS	8	/* streams named in the title, at most */
#define SERVER_TITLE_DELAY_MS	250	/* changes within it make one title */

/* "1 publisher, 12 players: live/a live/b", or the program's own text. */
static void
server_title_now(struct server *sv)
{
	const char		*paths[SERVER_TITLE_STREAMS];
	struct server_session	*ss;
	char			 text[SERVICE_TITLE_MAX];
	size_t			 publishers = 0, players = 0, npaths = 0, len, i;

	if (sv->stopping)
		return;
	if (sv->events.title != NULL) {
		text[0] = '\0';
		sv->events.title(sv, text, sizeof(text), sv->arg);
		service_title("%s", text);
		return;
	}
	for (ss = sv->sessions; ss != NULL; ss = ss->next) {
		if (ss->role == SERVER_ROLE_NONE)
			continue;
		if (ss->role == SERVER_ROLE_PUBLISHER)
			publishers++;
		else
			players++;
		for (i = 0; i < npaths && strcmp(paths[i], ss->path) != 0; i++)
			continue;
		if (i == npaths && npaths < SERVER_TITLE_STREAMS)
			paths[npaths++] = ss->path;
	}
	len = (size_t)snprintf(text, sizeof(text), "%zu publisher%s, %zu player%s",
	    publishers, publishers == 1 ? "" : "s", players, players == 1 ? "" : "s");
	for (i = 0; i < npaths && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
		    i == 0 ? ": " : " ", paths[i]);
	if (npaths == SERVER_TITLE_STREAMS && len < sizeof(text))
		snprintf(text + len, sizeof(text) - len, " ...");
	service_title("%s", text);
}

static uint64_t
server_title_due(struct loop *loop, uint64_t id, void *arg)
{
	struct server	*sv = arg;

	(void)loop;
	(void)id;
	sv->title_timer = 0;
	server_title_now(sv);
	return LOOP_TIMER_STOP;
}

void
server_title_changed(struct server *sv)
{
	if (sv->title_timer == 0 && !sv->stopping && sv->loop != NULL)
		sv->title_timer = loop_timer(sv->loop, SERVER_TITLE_DELAY_MS,
		    server_title_due, sv);
}

/* Set-up. */

static int
server_listen(struct server *sv, char *err, size_t errsize)
{
	struct listener	*l;
	int		*fds = NULL;
	size_t		 n = 0, i;
	int		 rc;

	for (i = 0; i < sv->o.naddresses; i++) {
		if ((l = listener_new(sv->loop, sv->o.addresses[i], sv->tls,
		    server_accept, sv, err, errsize)) == NULL)
			return RTMP_ESYS;
		sv->listeners[sv->nlisteners++] = l;
	}
	if (sv->o.naddresses > 0)
		return 0;
	if ((rc = net_listen_fds(&fds, &n)) < 0) {
		snprintf(err, errsize, "socket activation: %s", rtmp_strerror(rc));
		return rc;
	}
	for (i = 0; i < n; i++) {
		if ((l = listener_adopt(sv->loop, fds[i], sv->tls, server_accept, sv,
		    err, errsize)) == NULL) {
			for (i++; i < n; i++)
				close(fds[i]);
			free(fds);
			return RTMP_ESYS;
		}
		sv->listeners[sv->nlisteners++] = l;
	}
	free(fds);
	if (sv->nlisteners == 0 && !sv->o.listeners_optional) {
		snprintf(err, errsize, "no listen address given and no sockets "
		    "from systemd");
		return RTMP_EINVAL;
	}
	return 0;
}

int
server_init(struct server **svp, const struct server_options *o,
    const struct server_events *events, void *arg, char *err, size_t errsize)
{
	struct server		*sv;
	struct tls_config	 tc;
	char			 address[sizeof(((struct listen_address *)0)->path) + 8];
	int			 rc;

	*svp = NULL;
	if ((rc = server_options_check(o, err, errsize)) < 0)
		return rc;
	if ((sv = calloc(1, sizeof(*sv))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return RTMP_ENOMEM;
	}
	*svp = sv;
	LIST_INIT(&sv->proxied);
	sv->o = *o;
	sv->events = *events;
	sv->arg = arg;
	/* OpenSSL writes with write(2): a peer gone away must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* Before any command is started: they must not speak for us. */
	notify_init();
	if (log_init(getprogname(), LOG_LEVEL_INFO + (o->verbose > 0), o->log_file) < 0) {
		snprintf(err, errsize, "log %s: %s", o->log_file, strerror(errno));
		return RTMP_ESYS;
	}
	rtmp_config_default(&sv->peer_config.rtmp, RTMP_ROLE_SERVER);
	sv->peer_config.rtmp.chunk_size = o->chunk_size;
	sv->peer_config.rtmp.limits.max_message_size = o->max_message;
	sv->peer_config.queue_bytes = o->queue_bytes;
	sv->peer_config.queue_ms = o->queue_ms;
	sv->peer_config.queue_hard_bytes = 2 * o->queue_bytes;
	/* A message may be as large as allowed and still fit the read buffer. */
	sv->peer_config.read_limit = o->max_message + (1u << 16);
	if (o->cert_file != NULL) {
		memset(&tc, 0, sizeof(tc));
		tc.cert_file = o->cert_file;
		tc.key_file = o->key_file;
		if ((sv->tls = tls_context_new(&tc, err, errsize)) == NULL)
			return RTMP_ETLS;
	}
	if ((sv->loop = loop_new()) == NULL) {
		snprintf(err, errsize, "cannot create the event loop");
		return RTMP_ESYS;
	}
	sv->started = loop_now(sv->loop);
	sv->start_time = time(NULL);
	if (loop_signal(sv->loop, SIGINT, server_signal, sv) < 0 ||
	    loop_signal(sv->loop, SIGTERM, server_signal, sv) < 0 ||
	    loop_signal(sv->loop, SIGHUP, server_signal, sv) < 0 ||
	    loop_signal(sv->loop, SIGUSR1, server_signal, sv) < 0) {
		snprintf(err, errsize, "cannot watch signals");
		return RTMP_ESYS;
	}
	/* Before binding: a second instance must not take the first's port. */
	if (o->pid_file != NULL) {
		if ((rc = service_pidfile_open(o->pid_file, err, errsize)) < 0)
			return rc;
		sv->pidfile = 1;
	}
	if ((rc = server_listen(sv, err, errsize)) < 0)
		return rc;
	if (o->stats_path != NULL) {
		snprintf(address, sizeof(address), "unix:%s", o->stats_path);
		if ((sv->stats_listener = listener_new(sv->loop, address, NULL,
		    server_stats_accept, sv, err, errsize)) == NULL)
			return RTMP_ESYS;
		sv->stats_bound = 1;
	}
	if (o->metrics_address != NULL && (sv->scrape = scrape_new(sv->loop,
	    o->metrics_address, server_metrics_document, sv, err, errsize)) == NULL)
		return RTMP_ESYS;
	return service_pidfile_write(err, errsize);
}

int
server_run(struct server *sv)
{
	size_t	 i;

	for (i = 0; i < sv->nlisteners; i++)
		log_info("listening on %s%s", listener_address(sv->listeners[i]),
		    sv->tls != NULL ? " (rtmps)" : "");
	if (sv->scrape != NULL)
		log_info("metrics on http://%s/metrics", scrape_address(sv->scrape));
	server_title_now(sv);
	/* The sockets listen since server_init(): connections queue already. */
	notify_send("READY=1");
	if (loop_run(sv->loop) < 0) {
		log_error("event loop");
		return 1;
	}
	return sv->status;
}

void
server_free(struct server *sv)
{
	size_t	 i;

	if (sv == NULL)
		return;
	while (sv->sessions != NULL)
		server_session_free(sv->sessions);
	while (!LIST_EMPTY(&sv->proxied))
		server_proxied_close(LIST_FIRST(&sv->proxied));
	while (sv->stats_conns != NULL)
		server_stats_free(sv->stats_conns);
	scrape_free(sv->scrape);
	for (i = 0; i < sv->nlisteners; i++)
		listener_free(sv->listeners[i]);
	listener_free(sv->stats_listener);
	if (sv->stats_bound)
		unlink(sv->o.stats_path);
	if (sv->grace_timer != 0)
		loop_timer_cancel(sv->loop, sv->grace_timer);
	if (sv->title_timer != 0)
		loop_timer_cancel(sv->loop, sv->title_timer);
	if (sv->pidfile)
		service_pidfile_remove();
	if (sv->loop != NULL)
		loop_free(sv->loop);
	tls_context_free(sv->tls);
	free(sv);
}

struct loop *
server_loop(struct server *sv)
{
	return sv->loop;
}

const struct server_options *
server_get_options(const struct server *sv)
{
	return &sv->o;
}

size_t
server_sessions(const struct server *sv)
{
	return sv->nsessions;
}

uint64_t
server_accepted(const struct server *sv)
{
	return sv->accepted;
}

size_t
server_listeners(const struct server *sv)
{
	return sv->nlisteners;
}

uint16_t
server_port(const struct server *sv, size_t n)
{
	return n < sv->nlisteners ? listener_port(sv->listeners[n]) : 0;
}

struct server_session *
server_first(struct server *sv)
{
	return sv->sessions;
}

struct server_session *
server_next(struct server_session *ss)
{
	return ss->next;
}
