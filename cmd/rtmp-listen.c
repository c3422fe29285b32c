/*
 * rtmp-listen: an RTMP(S) ingest server.  Publishers' streams go to
 * stdout as one continuous FLV, or with -e to one command per stream.
 *
 * Policy lives here: who may publish (-f keys, -a hook), where a stream
 * goes, what a reader that goes away means.  Accepting, deadlines and the
 * name rule are lib/server's; the FLV out is lib/flvout's.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "flvout.h"
#include "hook.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "peer.h"
#include "server.h"
#include "service.h"
#include "version.h"

#define LISTEN_OPTIONS		SERVER_OPTIONS "A:a:b:e:f:"
#define EXIT_FAILURE_LISTEN	1
#define EXIT_USAGE		2
#define EXIT_OUTPUT_GONE	3	/* stdout's reader went away */
#define LISTEN_KEY_MAX		256
#define LISTEN_FINAL_FLUSH_MS	2000
#define LISTEN_STALE_MS		3000	/* a silent publisher a new one replaces */

struct listen;

struct publisher {
	struct listen		*l;
	struct server_session	*ss;
	struct flvout		*flv;		/* where its FLV goes, NULL none */
	struct hook_feed	*feed;		/* -e: its command */
	struct hook_ask		*ask;		/* -a hook running */
	int			 live;		/* publish accepted */
	struct server_input	 input;		/* its stream, for the stats */
};

struct listen {
	struct server		*server;
	struct loop		*loop;
	struct server_options	 so;
	const char		*exec_cmd;	/* -e */
	const char		*auth_cmd;	/* -a */
	uint32_t		 auth_timeout_ms;	/* -A */
	const char		*keys_file;	/* -f */
	size_t			 output_bytes;	/* -b */
	int			 to_stdout;	/* no -e */
	struct flvout		 stdout_flv;
	struct publisher	*stdout_pub;	/* feeding stdout now */
	struct hooks		*hooks;
	struct server_input	 input;		/* every publisher's media */
	uint64_t		 published;
	uint64_t		 denied;
	uint64_t		 replaced;	/* silent publishers a new one replaced */
	uint64_t		 feed_bytes;	/* -e: FLV bytes of the ended commands */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rtmp-listen [-hpVv] [-A seconds] [-a command] [-b bytes] [-C cert]\n"
	    "                   [-c chunksize] [-e command] [-f keyfile] [-I seconds]\n"
	    "                   [-K key] [-L logfile] [-M address] [-m clients]\n"
	    "                   [-P pidfile] [-Q ms] [-q bytes] [-s unix:path]\n"
	    "                   [-t seconds] [-x bytes] [address ...]\n");
}

static struct publisher *
publisher_of(struct server_session *ss)
{
	return server_session_arg(ss);
}

/* The stream as the commands' environment describes it. */
static void
listen_env(struct server_session *ss, const char *key, struct hook_env *env)
{
	env->app = server_session_app(ss);
	env->stream = server_session_stream(ss);
	env->query = server_session_query(ss);
	env->addr = server_session_address(ss);
	env->key = key;
}

/* Outputs: stdout, or each stream's -e command. */

static void
stdout_drained(struct flvout *f, void *arg)
{
	struct listen	*l = arg;

	(void)f;
	if (l->stdout_pub != NULL)
		server_session_pause_input(l->stdout_pub->ss, 0);
}

/* The reader went away: the publisher is ended, and the program with it. */
static void
stdout_failed(struct flvout *f, void *arg)
{
	struct listen	*l = arg;

	if (server_stopping(l->server))
		return;
	log_warnx("stdout: %s: ending the publisher and exiting",
	    f->failed == EPIPE ? "the reader went away" : strerror(f->failed));
	server_input_end(&l->input);
	/* The encoder is told why (ffmpeg prints it), then the session ends. */
	if (l->stdout_pub != NULL) {
		rtmp_server_publish_status(peer_session(server_session_peer(
		    l->stdout_pub->ss)), "error", "NetStream.Publish.Failed",
		    "the server's output closed");
		server_session_finish(l->stdout_pub->ss);
	}
	server_stop(l->server, EXIT_OUTPUT_GONE);
}

static void
feed_drained(struct hook_feed *feed, void *arg)
{
	struct publisher	*p = arg;

	(void)feed;
	server_session_pause_input(p->ss, 0);
}

static void	publish_end(struct publisher *, const char *why);

/* The command exited or stopped reading: its publisher's session ends. */
static void
feed_ended(struct hook_feed *feed, int status, void *arg)
{
	struct publisher	*p = arg;

	(void)feed;
	if (status == -1)
		log_warnx("stream %s: command's stdin: %s", server_session_path(p->ss),
		    strerror(errno));
	publish_end(p, "command ended");
	server_session_finish(p->ss);
}

static const struct hook_feed_events feed_events = {
	.drained = feed_drained,
	.ended = feed_ended,
};

static void
listen_exited(const char *label, pid_t pid, int status, void *arg)
{
	(void)arg;
	log_info("stream %s: command exited %d (pid %ld)", label,
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), (long)pid);
}

/* Publishing. */

/* One publisher per stream; stdout carries one stream at a time. */
static struct publisher *
publish_taken(struct listen *l, struct publisher *self)
{
	struct server_session	*ss;
	struct publisher	*p;

	for (ss = server_first(l->server); ss != NULL; ss = server_next(ss)) {
		if ((p = publisher_of(ss)) == NULL || p == self || !p->live)
			continue;
		if (l->to_stdout ||
		    strcmp(server_session_path(ss), server_session_path(self->ss)) == 0)
			return p;
	}
	return NULL;
}

/*
 * An encoder that lost its network reconnects before its old connection
 * looks dead: a live publisher of the same stream that has sent nothing
 * for LISTEN_STALE_MS, unless we paused it, gives way to the new one.
 */
static int
publish_replaceable(const struct publisher *old, const struct publisher *p)
{
	struct peer	*peer = server_session_peer(old->ss);

	return strcmp(server_session_path(old->ss), server_session_path(p->ss)) == 0 &&
	    loop_now(p->l->loop) - peer_last_input(peer) >= LISTEN_STALE_MS &&
	    (old->flv == NULL || !flvout_full(old->flv));
}

static int
publish_spawn(struct publisher *p)
{
	struct hook_env	 env;

	listen_env(p->ss, NULL, &env);
	if ((p->feed = hook_feed_start(p->l->hooks, p->l->exec_cmd, &env,
	    server_session_path(p->ss), p->l->output_bytes, &feed_events, p)) == NULL) {
		log_warn("stream %s: cannot start the command", server_session_path(p->ss));
		return -1;
	}
	p->flv = hook_feed_flv(p->feed);
	log_info("stream %s: command started, pid %ld", server_session_path(p->ss),
	    (long)hook_feed_pid(p->feed));
	return 0;
}

static void
publish_deny(struct publisher *p, const char *why)
{
	p->l->denied++;
	log_warnx("peer %s stream %s: publish denied: %s",
	    server_session_address(p->ss), server_session_path(p->ss), why);
	server_session_reject(p->ss, "publish not authorised");
	server_session_finish(p->ss);
}

static void
publish_start(struct publisher *p)
{
	struct listen		*l = p->l;
	struct publisher	*old;

	if ((old = publish_taken(l, p)) != NULL) {
		if (!publish_replaceable(old, p)) {
			log_warnx("peer %s stream %s: publish refused: already publishing",
			    server_session_address(p->ss), server_session_path(p->ss));
			server_session_reject(p->ss, "stream is already being published");
			server_session_finish(p->ss);
			return;
		}
		log_info("peer %s stream %s: publish replaces peer %s, silent for %llu ms",
		    server_session_address(p->ss), server_session_path(p->ss),
		    server_session_address(old->ss), (unsigned long long)(loop_now(l->loop) -
		    peer_last_input(server_session_peer(old->ss))));
		/* The new publisher carries on in the old one's output. */
		p->flv = old->flv;
		if ((p->feed = old->feed) != NULL)
			hook_feed_set_arg(p->feed, p);
		old->flv = NULL;
		old->feed = NULL;
		old->live = 0;
		l->replaced++;
		server_session_close(old->ss, RTMP_ETIMEOUT, "replaced by a new publisher");
	}
	if (p->flv == NULL && l->to_stdout)
		p->flv = &l->stdout_flv;
	if (p->flv != NULL)
		flvout_segment(p->flv);
	else if (publish_spawn(p) < 0) {
		server_session_reject(p->ss, "cannot start the stream's command");
		server_session_finish(p->ss);
		return;
	}
	if (l->to_stdout)
		l->stdout_pub = p;
	if (server_session_accept(p->ss) < 0) {
		server_session_close(p->ss, RTMP_ENOMEM, "cannot accept publish");
		return;
	}
	p->live = 1;
	l->published++;
	log_info("peer %s stream %s: publish start", server_session_address(p->ss),
	    server_session_path(p->ss));
}

/* The publisher left or unpublished: its command's stdin closes. */
static void
publish_end(struct publisher *p, const char *why)
{
	if (p->live)
		log_info("peer %s stream %s: publish end: %s",
		    server_session_address(p->ss), server_session_path(p->ss), why);
	p->live = 0;
	if (p->feed != NULL) {
		p->l->feed_bytes += p->flv->bytes;
		hook_feed_close(p->feed);
	}
	if (p->l->stdout_pub == p)
		p->l->stdout_pub = NULL;
	p->feed = NULL;
	p->flv = NULL;
}

static void
auth_done(void *arg, int allowed, const char *why)
{
	struct publisher	*p = arg;

	p->ask = NULL;
	if (allowed && server_stopping(p->l->server))
		publish_deny(p, "server shutting down");
	else if (allowed)
		publish_start(p);
	else
		publish_deny(p, why);
}

static void
publish_request(struct listen *l, struct server_session *ss)
{
	struct publisher	*p, *old;
	struct hook_env		 env;
	char			 key[LISTEN_KEY_MAX];
	const char		*why;
	int			 rc;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		server_session_close(ss, RTMP_ENOMEM, "out of memory");
		return;
	}
	p->l = l;
	p->ss = ss;
	server_session_set_arg(ss, p);
	rc = server_query_value(server_session_query(ss), "key", key, sizeof(key));
	if (rc < 0) {
		publish_deny(p, "key too long");
		return;
	}
	if (rc == 0)
		key[0] = '\0';
	if (l->keys_file != NULL &&
	    (rc = hook_keys_allow(l->keys_file, server_session_path(ss), key, &why)) != 1) {
		if (rc < 0)
			log_warn("key file %s", l->keys_file);
		publish_deny(p, why);
		return;
	}
	/* A second publisher is refused before anyone is asked. */
	if (l->auth_cmd != NULL && ((old = publish_taken(l, p)) == NULL ||
	    publish_replaceable(old, p))) {
		listen_env(ss, key, &env);
		if ((p->ask = hook_ask(l->hooks, l->auth_cmd, &env, l->auth_timeout_ms,
		    auth_done, p)) == NULL) {
			log_warn("auth command");
			publish_deny(p, "cannot run the auth command");
		}
		return;
	}
	publish_start(p);
}

/* Server events. */

static void
listen_event(struct server_session *ss, const struct rtmp_event *ev, void *arg)
{
	struct listen		*l = arg;
	struct publisher	*p = publisher_of(ss);
	int			 rc;

	switch (ev->type) {
	case RTMP_EVENT_PUBLISH:
		if (p != NULL) {
			server_session_reject(ss, "one publish per connection");
			return;
		}
		publish_request(l, ss);
		return;
	case RTMP_EVENT_PLAY:
		log_info("peer %s stream %s: play refused: rtmp-listen takes publishers",
		    server_session_address(ss), server_session_path(ss));
		server_session_reject(ss, "rtmp-listen takes publishers only");
		server_session_finish(ss);
		return;
	case RTMP_EVENT_MEDIA:
		if (p == NULL || !p->live || p->flv == NULL)
			return;
		server_input_tag(&p->input, loop_now(l->loop), ev->message_type,
		    ev->payload, ev->length);
		server_input_tag(&l->input, loop_now(l->loop), ev->message_type,
		    ev->payload, ev->length);
		rc = flvout_message(p->flv, ev->message_type, ev->timestamp,
		    ev->payload, ev->length);
		if (rc == RTMP_ESYS && p->feed != NULL)
			feed_ended(p->feed, -1, p);
		else if (rc == RTMP_ESYS)
			stdout_failed(p->flv, l);
		else if (rc < 0)
			server_session_close(ss, rc, "output buffer");
		else if (flvout_full(p->flv))
			server_session_pause_input(ss, 1);
		return;
	case RTMP_EVENT_UNPUBLISH:
		/* The encoder closes by itself; rtmp2sink counts our close as an error. */
		if (p != NULL)
			publish_end(p, "unpublished");
		return;
	default:
		return;
	}
}

static void
listen_closed(struct server_session *ss, int error, const char *reason, void *arg)
{
	struct publisher	*p = publisher_of(ss);

	(void)arg;
	if (p == NULL)
		return;
	publish_end(p, error == RTMP_OK ? "finished" : reason);
	if (p->ask != NULL)
		hook_forget(p->ask);
	server_session_set_arg(ss, NULL);
	free(p);
}

static void
listen_child(struct loop *loop, int signo, void *arg)
{
	struct listen	*l = arg;
	pid_t		 pid;
	int		 status;

	(void)loop;
	(void)signo;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		hook_reaped(l->hooks, pid, status);
}

static int
listen_stats_publisher(struct server_session *ss, struct server_client_stats *c,
    void *arg)
{
	struct publisher	*p = publisher_of(ss);

	(void)arg;
	if (p == NULL || !p->live)
		return 0;
	c->bytes = peer_bytes_in(server_session_peer(ss));
	c->outq = p->flv != NULL ? flvout_pending(p->flv) : 0;
	c->skips = peer_queue(server_session_peer(ss))->skips;
	c->input = &p->input;
	return 1;
}

/* The publishers last: a long list is cut there (server.h), the rest kept. */
static int
listen_stats(struct server *sv, struct buf *b, void *arg)
{
	struct listen	*l = arg;
	char		 n[256];
	int		 rc = 0;

	snprintf(n, sizeof(n), "{\"program\":\"rtmp-listen\",\"version\":\"%s\",",
	    RTMPKIT_VERSION);
	rc |= buf_append(b, n, strlen(n));
	rc |= server_json_input(b, sv, &l->input);
	snprintf(n, sizeof(n), ",\"connections\":%zu,\"accepted\":%llu,\"published\":%llu,"
	    "\"denied\":%llu,\"output_bytes\":%llu,\"output_buffered\":%zu",
	    server_sessions(sv), (unsigned long long)server_accepted(sv),
	    (unsigned long long)l->published, (unsigned long long)l->denied,
	    (unsigned long long)l->stdout_flv.bytes, flvout_pending(&l->stdout_flv));
	rc |= buf_append(b, n, strlen(n));
	rc |= server_json_clients(b, sv, "publishers", listen_stats_publisher, l);
	rc |= buf_append(b, "}", 1);
	return rc < 0 ? RTMP_ENOMEM : 0;
}

/* -M: the server's families are the frame's; these are rtmp-listen's. */
static int
listen_metrics(struct server *sv, struct metrics *m, void *arg)
{
	struct listen		*l = arg;
	struct server_session	*ss;
	struct publisher	*p;
	uint64_t		 written = l->stdout_flv.bytes + l->feed_bytes;
	uint64_t		 buffered = flvout_pending(&l->stdout_flv);

	for (ss = server_first(sv); ss != NULL; ss = server_next(ss))
		if ((p = publisher_of(ss)) != NULL && p->feed != NULL) {
			written += p->flv->bytes;
			buffered += flvout_pending(p->flv);
		}
	server_metrics_input(m, sv, &l->input);
	metrics_counter(m, "rtmpkit_publishes_accepted_total", "Publishes accepted.",
	    l->published);
	metrics_counter(m, "rtmpkit_publishes_denied_total", "Publishes refused by "
	    "the key file or the auth command.", l->denied);
	metrics_counter(m, "rtmpkit_publishers_replaced_total", "Silent publishers "
	    "a new publisher of their stream replaced (an encoder reconnecting).",
	    l->replaced);
	metrics_counter(m, "rtmpkit_output_bytes_total", "FLV bytes written to the "
	    "standard output or the commands.", written);
	return metrics_gauge(m, "rtmpkit_output_buffered_bytes", "FLV bytes waiting "
	    "to be written.", buffered);
}

static const struct server_events listen_events = {
	.event = listen_event,
	.closed = listen_closed,
	.stats = listen_stats,
	.metrics = listen_metrics,
};

int
main(int argc, char *argv[])
{
	struct listen	 l;
	struct server_session *ss;
	char		 errbuf[512];
	const char	*errstr;
	int		 ch, rc, status;

	service_title_init(argc, argv);
	memset(&l, 0, sizeof(l));
	server_options_init(&l.so);
	l.auth_timeout_ms = 5000;
	l.output_bytes = 4u << 20;
	while ((ch = getopt(argc, argv, LISTEN_OPTIONS)) != -1) {
		switch (ch) {
		case 'A':
			l.auth_timeout_ms = (uint32_t)strtonum(optarg, 1, 60, &errstr) * 1000;
			if (errstr != NULL)
				errx(EXIT_USAGE, "auth timeout %s: %s (1..60)", optarg, errstr);
			continue;
		case 'a':
			l.auth_cmd = optarg;
			continue;
		case 'b':
			l.output_bytes = (size_t)strtonum(optarg, 65536, 1 << 30, &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "output bytes %s: %s (65536..1073741824)",
				    optarg, errstr);
			continue;
		case 'e':
			l.exec_cmd = optarg;
			continue;
		case 'f':
			l.keys_file = optarg;
			continue;
		}
		rc = server_option_status(server_option(&l.so, ch, optarg, errbuf,
		    sizeof(errbuf)), "rtmp-listen", errbuf, usage);
		if (rc >= 0)
			return rc;
	}
	argc -= optind;
	argv += optind;
	for (; argc > 0; argc--, argv++)
		if (server_add_address(&l.so, argv[0], errbuf, sizeof(errbuf)) < 0) {
			warnx("%s", errbuf);
			usage();
			return EXIT_USAGE;
		}
	if (server_options_check(&l.so, errbuf, sizeof(errbuf)) < 0) {
		warnx("%s", errbuf);
		usage();
		return EXIT_USAGE;
	}
	l.to_stdout = l.exec_cmd == NULL;
	if (l.to_stdout) {
		if (isatty(STDOUT_FILENO))
			errx(EXIT_USAGE, "stdout is a terminal: redirect it or use -e");
		if (fcntl(STDOUT_FILENO, F_SETFL,
		    fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK) < 0)
			err(EXIT_FAILURE_LISTEN, "stdout");
	}
	if (server_init(&l.server, &l.so, &listen_events, &l, errbuf, sizeof(errbuf)) < 0) {
		warnx("%s", errbuf);
		server_free(l.server);
		return EXIT_FAILURE_LISTEN;
	}
	l.loop = server_loop(l.server);
	if ((l.hooks = hooks_new(l.loop, listen_exited, &l)) == NULL)
		errx(EXIT_FAILURE_LISTEN, "out of memory");
	if (loop_signal(l.loop, SIGCHLD, listen_child, &l) < 0)
		errx(EXIT_FAILURE_LISTEN, "cannot watch SIGCHLD");
	if (l.to_stdout)
		flvout_init(&l.stdout_flv, l.loop, STDOUT_FILENO, l.output_bytes,
		    stdout_drained, stdout_failed, &l);
	status = server_run(l.server);
	/* server_free() ends sessions without `closed`: drop their publishers first. */
	for (ss = server_first(l.server); ss != NULL; ss = server_next(ss))
		if (publisher_of(ss) != NULL)
			listen_closed(ss, RTMP_OK, "stopped", &l);
	/* What is buffered goes out, for a bounded time: a reader may be stuck. */
	if (l.to_stdout) {
		flvout_drain(&l.stdout_flv, LISTEN_FINAL_FLUSH_MS);
		flvout_free(&l.stdout_flv);
	}
	hooks_drain(l.hooks, LISTEN_FINAL_FLUSH_MS);
	server_free(l.server);
	hooks_free(l.hooks);
	rc = status;
	return rc;
}
