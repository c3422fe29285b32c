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
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "chunk.h"
#include "error.h"
#include "fanout.h"
#include "flv.h"
#include "flvreader.h"
#include "flvwriter.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "media.h"
#include "outq.h"
#include "peer.h"
#include "server.h"
#include "tls.h"
#include "upstream.h"
#include "version.h"

#define RELAY_OPTIONS		SERVER_OPTIONS "A:f:Gkl:n:o:r:S:w:"
#define RELAY_UPSTREAMS_MAX	16
#define RELAY_READ		(64 * 1024)
#define RELAY_READS_PER_WAKEUP	16	/* then let the players' writes in */
#define RELAY_WAIT_MS		20	/* default latency budget */
#define RELAY_GATHER_BYTES	(64 * 1024)	/* per player: write without waiting longer */
#define RELAY_END_MS		3000	/* destinations and stdout after the players */
#define RELAY_IOV		64

struct relay {
	struct server		*server;
	struct loop		*loop;
	struct fanout		*fanout;
	const char		*only;		/* -n app/stream: the one stream served */
	uint32_t		 wait_ms;	/* -w */
	uint64_t		 pending_since;
	uint64_t		 flush_timer;
	int			 ending;
	int			 status;
	/* input */
	const char		*in_name;
	int			 in_fd;
	int			 in_flags;	/* to restore on stdin */
	int			 in_watched;
	uint64_t		 in_timer;	/* a regular file is read from a timer */
	struct listener		*in_listener;	/* unix:PATH: one writer */
	struct buf		 in;
	struct flvreader	 reader;
	uint64_t		 in_bytes;
	/* -o - */
	int			 out_fd;
	int			 out_flags;
	int			 out_watched;
	struct outq		 out;
	struct flvwriter	 writer;
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
	fprintf(stderr, "usage: rtmp-relay [-GhkVv] [-A cafile] [-C cert] [-c bytes] "
	    "[-f input]\n"
	    "\t[-i seconds] [-K key] [-L logfile] [-l address] [-M bytes] "
	    "[-m clients]\n"
	    "\t[-n app/stream] [-o -] [-Q ms] [-q bytes] [-r retries] [-S skips]\n"
	    "\t[-s unix:path] [-t seconds] [-w ms] [url ...]\n");
}

/* --- output: -o - ------------------------------------------------------- */

static void	relay_output_write(struct relay *);

static void
relay_output_writable(struct loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	relay_output_write(arg);
}

static void
relay_output_close(struct relay *r)
{
	if (r->out_watched)
		loop_remove(r->loop, r->out_fd);
	r->out_watched = 0;
	fcntl(r->out_fd, F_SETFL, r->out_flags);
	r->out_fd = -1;
	outq_free(&r->out);
}

static void
relay_output_write(struct relay *r)
{
	struct iovec	 iov[RELAY_IOV];
	ssize_t		 n;
	int		 cnt;

	while (r->out_fd >= 0 && r->out.bytes > 0) {
		cnt = outq_iov(&r->out, iov, RELAY_IOV);
		if ((n = writev(r->out_fd, iov, cnt)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* A regular file never says EAGAIN: only pipes get here. */
				if (!r->out_watched && loop_add(r->loop, r->out_fd, LOOP_WRITE,
				    relay_output_writable, r) == 0)
					r->out_watched = 1;
				return;
			}
			if (errno == EPIPE)
				log_info("output: the reader went away; players go on");
			else
				log_warn("output");
			relay_output_close(r);
			return;
		}
		outq_consume(&r->out, (size_t)n);
	}
	if (r->out_watched) {
		loop_remove(r->loop, r->out_fd);
		r->out_watched = 0;
	}
}

/* One tag as one block of FLV bytes; the slow-reader policy is outq's. */
static void
relay_output_tag(struct relay *r, const struct flv_tag *tag)
{
	struct flvwriter_tag	 t;
	struct flv_media_info	 info;
	struct media		*m;
	uint8_t			*p;
	int			 header = 0;

	if (r->out_fd < 0 || !flvwriter_tag(&r->writer, tag->type, tag->timestamp,
	    tag->data, tag->size, &t))
		return;
	if ((m = media_new(t.type, (uint32_t)t.timestamp, NULL, flvwriter_tag_size(&t))) == NULL)
		return;
	p = m->data;
	memcpy(p, t.head, t.head_len);
	memcpy(p + t.head_len, t.payload, t.len);
	memcpy(p + t.head_len + t.len, t.trailer, sizeof(t.trailer));
	if (t.type == FLV_TAG_VIDEO && flv_inspect_video(t.payload, t.len, &info) == 0) {
		header = info.sequence_header;
		if (info.keyframe && !header)
			m->flags = MEDIA_KEYFRAME;
	} else if (t.type == FLV_TAG_AUDIO && flv_inspect_audio(t.payload, t.len, &info) == 0)
		header = info.sequence_header;
	/* The file header, metadata and decoder configuration are never dropped. */
	if (header || t.head_len > FLV_TAG_HEADER_SIZE)
		m->type = 0;
	if (outq_push(&r->out, m) < 0)
		log_warnx("output: the reader is too slow for even the headers");
	media_unref(m);
}

/* --- input -------------------------------------------------------------- */

static void
relay_tag(struct relay *r, const struct flv_tag *tag)
{
	size_t	 i;

	if (tag->type != FLV_TAG_AUDIO && tag->type != FLV_TAG_VIDEO &&
	    tag->type != FLV_TAG_SCRIPT)
		return;
	if (fanout_message(r->fanout, tag->type, tag->timestamp, tag->data, tag->size) < 0)
		log_warnx("input: out of memory: a message was lost");
	for (i = 0; i < r->nup; i++)
		upstream_message(r->up[i], tag->type, tag->timestamp, tag->data, tag->size);
	relay_output_tag(r, tag);
}

/* Every whole tag in the buffer: 0, or -1 when the input is not FLV. */
static int
relay_parse(struct relay *r)
{
	struct flv_tag	 tag;
	int		 rc, got;

	for (;;) {
		rc = flvreader_next(&r->reader, buf_data(&r->in), r->in.len, &tag, &got);
		if (rc == 0)
			break;
		if (rc < 0) {
			relay_end(r, 1, rc == RTMP_ELIMIT ? "a tag larger than -M" :
			    "not FLV, or the stream lost sync");
			return -1;
		}
		if (got)
			relay_tag(r, &tag);
		buf_consume(&r->in, (size_t)rc);
	}
	buf_compact(&r->in);
	return 0;
}

static void
relay_input_stop(struct relay *r)
{
	if (r->in_watched)
		loop_remove(r->loop, r->in_fd);
	r->in_watched = 0;
	if (r->in_timer != 0)
		loop_timer_cancel(r->loop, r->in_timer);
	r->in_timer = 0;
}

static void
relay_input_read(struct relay *r)
{
	uint8_t	*space;
	size_t	 avail;
	ssize_t	 n;
	int	 i;

	for (i = 0; i < RELAY_READS_PER_WAKEUP && !r->ending; i++) {
		if (buf_reserve(&r->in, RELAY_READ) < 0) {
			relay_end(r, 1, "input buffer full");
			return;
		}
		space = buf_space(&r->in, &avail);
		n = read(r->in_fd, space, avail);
		if (n > 0) {
			buf_commit(&r->in, (size_t)n);
			r->in_bytes += (uint64_t)n;
			if (relay_parse(r) < 0)
				return;
			continue;
		}
		if (n == 0) {
			if (flvreader_truncated(&r->reader, r->in.len))
				log_warnx("input %s: the last tag was cut off", r->in_name);
			relay_end(r, r->reader.header_done ? 0 : 1,
			    r->reader.header_done ? "end of input" : "no FLV on the input");
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return;
		log_warn("input %s", r->in_name);
		relay_end(r, 1, "input error");
		return;
	}
}

static void
relay_input_readable(struct loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	relay_input_read(arg);
}

static uint64_t
relay_input_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct relay	*r = arg;

	(void)loop;
	(void)id;
	relay_input_read(r);
	/* epoll cannot watch a regular file: it is always readable. */
	return r->ending || r->in_timer == 0 ? LOOP_TIMER_STOP : 1;
}

static int
relay_input_watch(struct relay *r, int fd)
{
	r->in_fd = fd;
	if (loop_add(r->loop, fd, LOOP_READ, relay_input_readable, r) == 0) {
		r->in_watched = 1;
		return 0;
	}
	if (errno != EPERM)
		return -1;
	r->in_timer = loop_timer(r->loop, 0, relay_input_fire, r);
	return r->in_timer != 0 ? 0 : -1;
}

/* unix:PATH: the first writer to connect is the input; later ones are turned away. */
static void
relay_input_accept(struct listener *l, int fd, struct tls *tls, const char *address,
    void *arg)
{
	struct relay	*r = arg;

	(void)tls;
	if (r->in_fd >= 0 || r->ending) {
		close(fd);
		return;
	}
	log_info("input %s: writer %s connected", r->in_name, address);
	listener_pause(l, 1);
	if (relay_input_watch(r, fd) < 0) {
		close(fd);
		r->in_fd = -1;
		relay_end(r, 1, "cannot watch the input");
	}
}

static int
relay_input_open(struct relay *r, const char *path, char *err, size_t errsize)
{
	int	 fd;

	if (path == NULL || strcmp(path, "-") == 0) {
		r->in_name = "stdin";
		r->in_flags = fcntl(STDIN_FILENO, F_GETFL);
		if (r->in_flags >= 0)
			fcntl(STDIN_FILENO, F_SETFL, r->in_flags | O_NONBLOCK);
		return relay_input_watch(r, STDIN_FILENO);
	}
	r->in_name = path;
	if (strncmp(path, "unix:", 5) == 0) {
		r->in_listener = listener_new(r->loop, path, NULL, relay_input_accept, r, err,
		    errsize);
		return r->in_listener != NULL ? 0 : -1;
	}
	/* A FIFO opens at once; epoll says nothing until a writer has come. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (relay_input_watch(r, fd) < 0) {
		snprintf(err, errsize, "%s: cannot watch it", path);
		close(fd);
		r->in_fd = -1;
		return -1;
	}
	return 0;
}

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
	relay_input_stop(r);
	fanout_stats(r->fanout, &fs);
	if (status == 0)
		log_info("input %s: %s after %llu tags; ending %zu players", r->in_name, why,
		    (unsigned long long)r->reader.tags, fs.players);
	else
		log_warnx("input %s: %s; ending %zu players", r->in_name, why, fs.players);
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

	if (r->out_fd >= 0 && r->out.bytes > 0 && !r->out_watched)
		relay_output_write(r);
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
relay_stats(struct server *sv, struct buf *out, void *arg)
{
	struct relay		*r = arg;
	struct fanout_stats	 fs;
	struct upstream_stats	 us;
	char			 line[512];
	size_t			 i;
	int			 rc;

	(void)sv;
	fanout_stats(r->fanout, &fs);
	snprintf(line, sizeof(line), "{\"input\":{\"tags\":%llu,\"bytes\":%llu,\"ended\":%s},"
	    "\"players\":%zu,\"joined\":%llu,\"messages\":%llu,\"keyframes\":%llu,"
	    "\"pushes\":%llu,\"dropped\":%llu,\"too_slow\":%llu,\"flushes\":%llu,"
	    "\"output_queued\":%zu,\"upstreams\":[",
	    (unsigned long long)r->reader.tags, (unsigned long long)r->in_bytes,
	    r->ending ? "true" : "false", fs.players, (unsigned long long)fs.joined,
	    (unsigned long long)fs.messages, (unsigned long long)fs.keyframes,
	    (unsigned long long)fs.pushes, (unsigned long long)fs.dropped,
	    (unsigned long long)fs.too_slow, (unsigned long long)fs.flushes, r->out.bytes);
	if ((rc = buf_append(out, line, strlen(line))) < 0)
		return rc;
	for (i = 0; i < r->nup; i++) {
		upstream_stats(r->up[i], &us);
		if ((rc = buf_append(out, i > 0 ? ",{\"url\":" : "{\"url\":", i > 0 ? 8 : 7)) < 0 ||
		    (rc = server_json_string(out, upstream_name(r->up[i]))) < 0)
			return rc;
		snprintf(line, sizeof(line), ",\"publishing\":%s,\"connects\":%llu,"
		    "\"sent\":%llu,\"dropped\":%llu,\"skips\":%llu}",
		    us.publishing ? "true" : "false", (unsigned long long)us.connects,
		    (unsigned long long)us.sent, (unsigned long long)us.dropped,
		    (unsigned long long)us.skips);
		if ((rc = buf_append(out, line, strlen(line))) < 0)
			return rc;
	}
	return buf_append(out, "]}", 2);
}

static const struct server_events relay_server_events = {
	.event = relay_event,
	.closed = relay_closed,
	.stats = relay_stats,
	.stopping = relay_stopping,
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

	while (loop_now(r->loop) < deadline &&
	    (r->up_finished < r->nup || (r->out_fd >= 0 && r->out.bytes > 0))) {
		if (r->out_fd >= 0 && r->out.bytes > 0 && !r->out_watched)
			relay_output_write(r);
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

	memset(&r, 0, sizeof(r));
	memset(&fc, 0, sizeof(fc));
	r.in_fd = r.out_fd = -1;
	r.wait_ms = RELAY_WAIT_MS;
	fc.gop_cache = 1;
	server_options_init(&so);
	while ((ch = getopt(argc, argv, RELAY_OPTIONS)) != -1) {
		switch (ch) {
		case 'A':
			ca_file = optarg;
			break;
		case 'f':
			input = optarg;
			break;
		case 'G':
			fc.gop_cache = 0;
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
			rc = server_option(&so, ch, optarg, err, sizeof(err));
			if (rc == SERVER_OPTION_HELP) {
				usage();
				return 0;
			}
			if (rc == SERVER_OPTION_VERSION) {
				printf("rtmp-relay %s\n", RTMPKIT_VERSION);
				return 0;
			}
			if (rc == RTMP_EINVAL)
				relay_usage_error(err);
			if (rc == 0) {
				usage();
				return 2;
			}
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
	if ((rc = server_init(&r.server, &so, &relay_server_events, &r, err,
	    sizeof(err))) < 0) {
		log_errorx("%s", err);
		server_free(r.server);
		return 1;
	}
	r.loop = server_loop(r.server);
	flvreader_init(&r.reader, so.max_message < FLV_MAX_TAG_SIZE ? so.max_message :
	    FLV_MAX_TAG_SIZE);
	buf_init(&r.in, (size_t)r.reader.max_tag + FLV_TAG_HEADER_SIZE + FLV_PREVIOUS_SIZE +
	    2 * RELAY_READ);
	if ((r.fanout = fanout_new(&fc)) == NULL) {
		log_errorx("out of memory");
		return 1;
	}
	if (stdout_copy) {
		r.out_fd = STDOUT_FILENO;
		r.out_flags = fcntl(STDOUT_FILENO, F_GETFL);
		fcntl(STDOUT_FILENO, F_SETFL, r.out_flags | O_NONBLOCK);
		outq_init(&r.out, so.queue_bytes, so.queue_ms, 2 * so.queue_bytes);
		flvwriter_init(&r.writer);
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
	if (relay_input_open(&r, input, err, sizeof(err)) < 0) {
		log_errorx("input %s", err);
		return 1;
	}
	loop_before_sleep(r.loop, relay_before_sleep, &r);
	rc = server_run(r.server);
	relay_drain(&r);
	loop_before_sleep(r.loop, NULL, NULL);
	if (r.out_fd >= 0)
		relay_output_close(&r);
	relay_input_stop(&r);
	if (r.in_fd == STDIN_FILENO && r.in_flags >= 0)
		fcntl(STDIN_FILENO, F_SETFL, r.in_flags);
	else if (r.in_fd >= 0)
		close(r.in_fd);
	for (i = 0; i < r.nup; i++)
		upstream_free(r.up[i]);
	listener_free(r.in_listener);
	server_free(r.server);
	fanout_free(r.fanout);
	tls_context_free(r.client_tls);
	buf_free(&r.in);
	return rc != 0 ? rc : r.status;
}
