/*
 * rtmp-relay: one live FLV stream in (stdin, a file, a FIFO or a unix
 * socket), out to any number of RTMP(S) players, to restreaming
 * destinations and to stdout.
 *
 * Policy lives here: which stream players may ask for, how long messages
 * may gather before they are written (the latency budget, -w), what ends
 * the relay.  The frame (accepting, deadlines, shared options, signals,
 * stats) is server.h's, the players' fan-out fanout.h's, the destinations
 * upstream.h's.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "chunk.h"
#include "error.h"
#include "fanout.h"
#include "flv.h"
#include "flvcopy.h"
#include "flvinput.h"
#include "log.h"
#include "loop.h"
#include "media.h"
#include "metrics.h"
#include "server.h"
#include "service.h"
#include "tls.h"
#include "upstream.h"
#include "version.h"

#define RELAY_OPTIONS		SERVER_OPTIONS "A:Gi:kl:n:o:r:S:w:"
#define RELAY_UPSTREAMS_MAX	16
#define RELAY_WAIT_MS		100	/* default latency budget: 32 KB writes at 2.5 Mbit/s */
#define RELAY_GATHER_BYTES	(64 * 1024)	/* per player: write without waiting longer */
#define RELAY_END_MS		3000	/* destinations and stdout after the players */

struct relay {
	struct server		*server;
	struct loop		*loop;
	struct fanout		*fanout;
	const char		*only;		/* -n app/stream: the one stream served */
	uint32_t		 wait_ms;	/* -w */
	uint64_t		 pending_since;
	uint64_t		 flush_timer;
	uint64_t		 last_tag_ms;	/* loop_now() of the latest input tag */
	uint32_t		 keepalive_ms;	/* a third of the idle timeout */
	int			 ending;
	int			 status;
	struct flvinput		*input;
	struct server_input	 input_stats;
	struct flvcopy		*copy;		/* -o - */
	/* destinations */
	struct url		 urls[RELAY_UPSTREAMS_MAX];
	struct upstream		*up[RELAY_UPSTREAMS_MAX];
	size_t			 nup;
	size_t			 up_finished;
	struct tls_context	*client_tls;
};

static void	relay_end(struct relay *, int status, const char *why);

static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-relay [-GhkpVv] [-A cafile] [-C cert] [-c bytes] "
	    "[-I seconds]\n"
	    "\t[-i input] [-K key] [-L logfile] [-l address] [-M address] [-m clients]\n"
	    "\t[-n app/stream] [-o -] [-P pidfile] [-Q ms] [-q bytes] [-r retries]\n"
	    "\t[-S skips] [-s unix:path] [-t seconds] [-w ms] [-x bytes] [url ...]\n");
}

/* --- input ------------------------------------------------------------- */

static void
relay_tag(struct flvinput *in, const struct flv_tag *tag, void *arg)
{
	struct relay	*r = arg;
	size_t		 i;

	(void)in;
	if (tag->type != FLV_TAG_AUDIO && tag->type != FLV_TAG_VIDEO &&
	    tag->type != FLV_TAG_SCRIPT)
		return;
	r->last_tag_ms = loop_now(r->loop);
	server_input_tag(&r->input_stats, r->last_tag_ms, tag->type, tag->data, tag->size);
	if (fanout_message(r->fanout, tag->type, tag->timestamp, tag->data, tag->size) < 0)
		log_warnx("input: out of memory: a message was lost");
	for (i = 0; i < r->nup; i++)
		upstream_message(r->up[i], tag->type, tag->timestamp, tag->data, tag->size);
	if (r->copy != NULL)
		flvcopy_message(r->copy, tag->type, tag->timestamp, tag->data, tag->size);
}

static void
relay_input_end(struct flvinput *in, int error, const char *reason, void *arg)
{
	(void)in;
	relay_end(arg, error == 0 ? 0 : 1, reason);
}

static void
relay_input_writer(struct flvinput *in, const char *address, void *arg)
{
	(void)arg;
	log_info("input %s: writer %s connected", flvinput_name(in), address);
}

static const struct flvinput_events relay_input_events = {
	.tag = relay_tag,
	.end = relay_input_end,
	.writer = relay_input_writer,
};

static void
relay_copy_failed(struct flvcopy *c, void *arg)
{
	(void)c;
	(void)arg;
	if (errno == EPIPE)
		log_info("output: the reader went away; players go on");
	else
		log_warn("output");
}

static const struct flvcopy_events relay_copy_events = {
	.failed = relay_copy_failed,
};

/* --- the end ------------------------------------------------------------ */

static void
relay_end(struct relay *r, int status, const char *why)
{
	struct fanout_stats	 fs;
	size_t			 i;

	if (r->ending)
		return;
	r->ending = 1;
	r->status = status;
	flvinput_stop(r->input);
	server_input_end(&r->input_stats);
	fanout_stats(r->fanout, &fs);
	if (status == 0)
		log_info("input %s: %s after %llu tags; ending %zu players",
		    flvinput_name(r->input), why,
		    (unsigned long long)flvinput_tags(r->input), fs.players);
	else
		log_warnx("input %s: %s; ending %zu players", flvinput_name(r->input), why,
		    fs.players);
	fanout_flush(r->fanout);
	fanout_end(r->fanout);
	for (i = 0; i < r->nup; i++)
		upstream_finish(r->up[i]);
	server_stop(r->server, status);
}

static void
relay_stopping(struct server *sv, void *arg)
{
	struct relay	*r = arg;

	(void)sv;
	/* SIGTERM: the players hear the stream ended, as at the end of the input. */
	if (!r->ending)
		relay_end(r, 0, "stopped by a signal");
}

/* --- players ------------------------------------------------------------ */

static void
relay_event(struct server_session *ss, const struct rtmp_event *ev, void *arg)
{
	struct relay		*r = arg;
	struct fanout_player	*fp;
	int			 error;

	switch (ev->type) {
	case RTMP_EVENT_PLAY:
		if (r->ending || (r->only != NULL &&
		    strcmp(server_session_path(ss), r->only) != 0)) {
			log_info("peer %s stream %s: play refused: not served here",
			    server_session_address(ss), server_session_path(ss));
			server_session_reject(ss, "no such stream");
			server_session_finish(ss);
			return;
		}
		if (server_session_arg(ss) != NULL || server_session_accept(ss) < 0) {
			server_session_close(ss, RTMP_ENOMEM, "cannot answer play");
			return;
		}
		if ((fp = fanout_join(r->fanout, server_session_peer(ss), ev->stream_id,
		    &error)) == NULL) {
			server_session_close(ss, error, error == RTMP_ELIMIT ?
			    "too many stream ids in use" : "out of memory");
			return;
		}
		server_session_set_arg(ss, fp);
		log_info("peer %s stream %s: play", server_session_address(ss),
		    server_session_path(ss));
		return;
	case RTMP_EVENT_PUBLISH:
		log_info("peer %s stream %s: publish refused: the relay's stream is its input",
		    server_session_address(ss), server_session_path(ss));
		server_session_reject(ss, "publishing is not accepted here");
		server_session_finish(ss);
		return;
	case RTMP_EVENT_PLAY_STOP:
		fanout_leave(r->fanout, server_session_arg(ss));
		server_session_set_arg(ss, NULL);
		return;
	case RTMP_EVENT_CLOSE:
		server_session_finish(ss);
		return;
	default:
		return;
	}
}

static void
relay_closed(struct server_session *ss, int error, const char *reason, void *arg)
{
	struct relay	*r = arg;

	(void)error;
	(void)reason;
	fanout_leave(r->fanout, server_session_arg(ss));
	server_session_set_arg(ss, NULL);
}

/* --- writing: the latency budget ---------------------------------------- */

static uint64_t
relay_flush_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct relay	*r = arg;

	(void)loop;
	(void)id;
	/* Only a wake-up: the before-sleep hook that follows writes. */
	r->flush_timer = 0;
	return LOOP_TIMER_STOP;
}

/*
 * Messages gather for up to wait_ms before they are written, so that each
 * player gets several in one writev: the write count, not the bytes, sets
 * the kernel's cost (tests/bench/PERFORMANCE.md).  A player with
 * RELAY_GATHER_BYTES waiting is written at once: more would not save a
 * write.
 */
static void
relay_before_sleep(struct loop *loop, void *arg)
{
	struct relay		*r = arg;
	struct fanout_stats	 fs;
	uint64_t		 now = loop_now(loop);
	size_t			 pending;

	if (r->copy != NULL)
		flvcopy_flush(r->copy);
	if ((pending = fanout_pending(r->fanout)) == 0)
		return;
	if (r->pending_since == 0)
		r->pending_since = now;
	fanout_stats(r->fanout, &fs);
	if (r->wait_ms == 0 || r->ending || now - r->pending_since >= r->wait_ms ||
	    pending >= RELAY_GATHER_BYTES * (fs.players ? fs.players : 1)) {
		fanout_flush(r->fanout);
		r->pending_since = 0;
		return;
	}
	if (r->flush_timer == 0)
		r->flush_timer = loop_timer(loop, r->wait_ms - (now - r->pending_since),
		    relay_flush_fire, r);
}

/*
 * The input paused: ping the players, whose answers keep them from the
 * idle timeout, so they are still there when the stream resumes.
 */
static uint64_t
relay_keepalive(struct loop *loop, uint64_t id, void *arg)
{
	struct relay	*r = arg;
	uint64_t	 now = loop_now(loop);

	(void)id;
	if (r->ending)
		return LOOP_TIMER_STOP;
	if (now - r->last_tag_ms >= r->keepalive_ms &&
	    fanout_ping(r->fanout, (uint32_t)now) < 0)
		log_warnx("players: out of memory for a ping");
	return r->keepalive_ms;
}

/* --- destinations ------------------------------------------------------- */

/* Destinations are named by position and host: the stream name is a key. */
static size_t
relay_up_index(const struct relay *r, const struct upstream *u)
{
	size_t	 i;

	for (i = 0; i < r->nup && r->up[i] != u; i++)
		;
	return i + 1;
}

static void
relay_up(struct upstream *u, void *arg)
{
	log_info("upstream %zu %s: publishing", relay_up_index(arg, u), upstream_name(u));
}

static void
relay_down(struct upstream *u, int error, const char *reason, int64_t retry_ms, void *arg)
{
	(void)error;
	if (retry_ms >= 0)
		log_warnx("upstream %zu %s: %s; reconnecting in %lld ms", relay_up_index(arg, u),
		    upstream_name(u), reason, (long long)retry_ms);
	else
		log_warnx("upstream %zu %s: %s; giving up", relay_up_index(arg, u),
		    upstream_name(u), reason);
}

static void
relay_up_finished(struct upstream *u, void *arg)
{
	struct relay	*r = arg;

	(void)u;
	r->up_finished++;
}

static const struct upstream_events relay_upstream_events = {
	.up = relay_up,
	.down = relay_down,
	.finished = relay_up_finished,
};

/* --- stats -------------------------------------------------------------- */

static int
relay_stats_player(struct server_session *ss, struct server_client_stats *c, void *arg)
{
	struct fanout_player_stats	 ps;

	(void)arg;
	if (server_session_arg(ss) == NULL)
		return 0;
	fanout_player_stats(server_session_arg(ss), &ps);
	c->bytes = ps.bytes;
	c->outq = ps.queued;
	c->skips = ps.skips;
	return 1;
}

/* The players last: a long list is cut there (server.h), the rest kept. */
static int
relay_stats(struct server *sv, struct buf *out, void *arg)
{
	struct relay		*r = arg;
	struct fanout_stats	 fs;
	char			 line[512];
	int			 rc = 0;

	fanout_stats(r->fanout, &fs);
	snprintf(line, sizeof(line), "{\"program\":\"rtmp-relay\",\"version\":\"%s\",",
	    RTMPKIT_VERSION);
	rc |= buf_append(out, line, strlen(line));
	rc |= server_json_input(out, sv, &r->input_stats);
	snprintf(line, sizeof(line), ",\"player_count\":%zu,\"joined\":%llu,"
	    "\"messages\":%llu,\"keyframes\":%llu,\"pushes\":%llu,\"dropped\":%llu,"
	    "\"too_slow\":%llu,\"flushes\":%llu,\"output_queued\":%zu",
	    fs.players, (unsigned long long)fs.joined,
	    (unsigned long long)fs.messages, (unsigned long long)fs.keyframes,
	    (unsigned long long)fs.pushes, (unsigned long long)fs.dropped,
	    (unsigned long long)fs.too_slow, (unsigned long long)fs.flushes,
	    r->copy != NULL ? flvcopy_queued(r->copy) : 0);
	rc |= buf_append(out, line, strlen(line));
	rc |= buf_append(out, ",\"upstreams\":", 13);
	rc |= upstream_json(out, r->up, r->nup);
	rc |= server_json_clients(out, sv, "players", relay_stats_player, r);
	rc |= buf_append(out, "}", 1);
	return rc < 0 ? RTMP_ENOMEM : 0;
}

/* -M: the frame's families and these; destinations by position, as logged. */
static int
relay_metrics(struct server *sv, struct metrics *m, void *arg)
{
	struct relay		*r = arg;

	server_metrics_input(m, sv, &r->input_stats);
	upstream_metrics(m, r->up, r->nup);
	return metrics_error(m);
}

static const struct server_events relay_server_events = {
	.event = relay_event,
	.closed = relay_closed,
	.stats = relay_stats,
	.stopping = relay_stopping,
	.metrics = relay_metrics,
};

/* --- set-up ------------------------------------------------------------- */

static long long
relay_number(const char *arg, long long min, long long max, const char *what)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(arg, min, max, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "rtmp-relay: %s %s: %s\n", what, arg, errstr);
		usage();
		exit(2);
	}
	return v;
}

static void
relay_usage_error(const char *msg)
{
	fprintf(stderr, "rtmp-relay: %s\n", msg);
	usage();
	exit(2);
}

/* After the players: destinations unpublish, stdout gets the rest; bounded. */
static void
relay_drain(struct relay *r)
{
	uint64_t	 deadline = loop_now(r->loop) + RELAY_END_MS;

	while (loop_now(r->loop) < deadline && (r->up_finished < r->nup ||
	    (r->copy != NULL && !flvcopy_failed(r->copy) && flvcopy_queued(r->copy) > 0))) {
		if (r->copy != NULL)
			flvcopy_flush(r->copy);
		if (loop_once(r->loop, 100) < 0)
			break;
	}
}

int
main(int argc, char *argv[])
{
	struct relay		 r;
	struct server_options	 so;
	struct fanout_config	 fc;
	struct upstream_config	 uc;
	struct tls_config	 tc;
	const char		*input = NULL, *ca_file = NULL;
	char			 err[512];
	int			 ch, rc, insecure = 0, retries = -1, stdout_copy = 0, tls_up = 0;
	size_t			 i;

	service_title_init(argc, argv);
	memset(&r, 0, sizeof(r));
	memset(&fc, 0, sizeof(fc));
	r.wait_ms = RELAY_WAIT_MS;
	fc.gop_cache = 1;
	server_options_init(&so);
	while ((ch = getopt(argc, argv, RELAY_OPTIONS)) != -1) {
		switch (ch) {
		case 'A':
			ca_file = optarg;
			break;
		case 'G':
			fc.gop_cache = 0;
			break;
		case 'i':
			input = optarg;
			break;
		case 'k':
			insecure = 1;
			break;
		case 'l':
			if (server_add_address(&so, optarg, err, sizeof(err)) < 0)
				relay_usage_error(err);
			break;
		case 'n':
			if (strchr(optarg, '/') == NULL)
				relay_usage_error("-n wants app/stream");
			r.only = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "-") != 0)
				relay_usage_error("-o takes - (stdout) only");
			stdout_copy = 1;
			break;
		case 'r':
			retries = (int)relay_number(optarg, 0, 1000000, "retries");
			break;
		case 'S':
			fc.max_skips = (uint64_t)relay_number(optarg, 1, 1000000, "skips");
			break;
		case 'w':
			r.wait_ms = (uint32_t)relay_number(optarg, 0, 1000, "wait ms");
			break;
		default:
			rc = server_option_status(server_option(&so, ch, optarg, err,
			    sizeof(err)), "rtmp-relay", err, usage);
			if (rc >= 0)
				return rc;
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if ((size_t)argc > RELAY_UPSTREAMS_MAX)
		relay_usage_error("too many destination URLs");
	for (i = 0; i < (size_t)argc; i++) {
		if (url_parse(argv[i], &r.urls[i]) < 0 || r.urls[i].stream[0] == '\0') {
			snprintf(err, sizeof(err), "%s: not an rtmp[s]://host/app/stream URL",
			    argv[i]);
			relay_usage_error(err);
		}
		tls_up |= r.urls[i].tls;
	}
	if (server_options_check(&so, err, sizeof(err)) < 0)
		relay_usage_error(err);
	fc.chunk_size = so.chunk_size;
	/* Restreaming only (URLs, -o -) needs no player: whether systemd passed one is known here. */
	so.listeners_optional = 1;
	if ((rc = server_init(&r.server, &so, &relay_server_events, &r, err,
	    sizeof(err))) < 0) {
		log_errorx("%s", err);
		server_free(r.server);
		return 1;
	}
	if (server_listeners(r.server) == 0 && argc == 0 && !stdout_copy) {
		server_free(r.server);
		relay_usage_error("nowhere to send the stream: no -l address, no socket "
		    "from systemd, no -o - and no URL");
	}
	if (server_listeners(r.server) == 0)
		log_info("no listen address: restreaming only, no players");
	r.loop = server_loop(r.server);
	if ((r.fanout = fanout_new(&fc)) == NULL) {
		log_errorx("out of memory");
		return 1;
	}
	if (stdout_copy && (r.copy = flvcopy_new(r.loop, STDOUT_FILENO, so.queue_bytes,
	    so.queue_ms, &relay_copy_events, &r)) == NULL) {
		log_errorx("out of memory");
		return 1;
	}
	if (tls_up) {
		memset(&tc, 0, sizeof(tc));
		tc.ca_file = ca_file;
		tc.noverify = insecure;
		if ((r.client_tls = tls_context_new(&tc, err, sizeof(err))) == NULL) {
			log_errorx("tls: %s", err);
			return 1;
		}
	}
	for (i = 0; i < (size_t)argc; i++) {
		memset(&uc, 0, sizeof(uc));
		uc.url = &r.urls[i];
		uc.tls = r.client_tls;
		uc.attempts = retries;
		if ((r.up[i] = upstream_new(r.loop, &uc, &relay_upstream_events, &r)) == NULL) {
			log_errorx("out of memory");
			return 1;
		}
		r.nup++;
		upstream_start(r.up[i]);
	}
	if ((r.input = flvinput_open(r.loop, input, so.max_message < FLV_MAX_TAG_SIZE ?
	    so.max_message : FLV_MAX_TAG_SIZE, &relay_input_events, &r, err,
	    sizeof(err))) == NULL) {
		log_errorx("input %s", err);
		return 1;
	}
	loop_before_sleep(r.loop, relay_before_sleep, &r);
	r.last_tag_ms = loop_now(r.loop);
	r.keepalive_ms = so.idle_timeout_ms / 3 > 0 ? so.idle_timeout_ms / 3 : 1;
	loop_timer(r.loop, r.keepalive_ms, relay_keepalive, &r);
	rc = server_run(r.server);
	relay_drain(&r);
	loop_before_sleep(r.loop, NULL, NULL);
	flvcopy_free(r.copy);
	flvinput_free(r.input);
	for (i = 0; i < r.nup; i++)
		upstream_free(r.up[i]);
	server_free(r.server);
	fanout_free(r.fanout);
	tls_context_free(r.client_tls);
	return rc != 0 ? rc : r.status;
}
