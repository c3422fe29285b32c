/*
 * runner.c: the frame of a client program.  See runner.h.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "loop.h"
#include "runner.h"
#include "tls.h"
#include "version.h"

#define RUNNER_PROGRESS_MS	500

static void
runner_signal(struct loop *loop, int signo, void *arg)
{
	struct runner	*r = arg;

	(void)loop;
	(void)signo;
	/* A deliberate stop is not a failure, media or not: status 0. */
	runner_stop(r, CLIENT_EXIT_OK);
}

static uint64_t
runner_progress(struct loop *loop, uint64_t id, void *arg)
{
	struct runner	*r = arg;
	uint64_t	 media_ms = 0, bytes = 0;
	char		 line[128];

	(void)id;
	if (r->count != NULL)
		r->count(r, &media_ms, &bytes);
	client_progress(line, sizeof(line), media_ms, bytes, loop_now(loop) - r->start_ms);
	fprintf(stderr, "\r%s ", line);
	return RUNNER_PROGRESS_MS;
}

int
runner_init(struct runner *r, const struct runner_options *o,
    const struct client_events *events, void *arg)
{
	struct tls_config	 tc;
	char			 errbuf[256];

	memset(r, 0, sizeof(*r));
	r->exit_status = -1;
	r->events = events;
	r->arg = arg;
	if (url_parse(o->url, &r->url) < 0) {
		warnx("%s: not an rtmp:// or rtmps:// URL", o->url);
		return CLIENT_EXIT_USAGE;
	}
	if (r->url.stream[0] == '\0') {
		warnx("%s: the URL names no stream (rtmp://host/app/stream)", o->url);
		return CLIENT_EXIT_USAGE;
	}
	if (o->name_url)
		snprintf(r->name, sizeof(r->name), "%s/%.*s", r->url.tc_url,
		    (int)strcspn(r->url.stream, "?"), r->url.stream);
	/* OpenSSL writes with write(2): a peer gone away must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (r->url.tls) {
		memset(&tc, 0, sizeof(tc));
		tc.noverify = o->insecure;
		tc.ca_file = o->ca_file;
		tc.server_name = r->url.host;
		if ((r->tls = tls_context_new(&tc, errbuf, sizeof(errbuf))) == NULL) {
			warnx("tls: %s", errbuf);
			return CLIENT_EXIT_TLS;
		}
	}
	if ((r->loop = loop_new()) == NULL) {
		warnx("cannot create the event loop");
		return CLIENT_EXIT_FAILURE;
	}
	r->config.url = &r->url;
	r->config.publish = o->publish;
	r->config.tls = r->tls;
	r->config.timeout_ms = o->timeout_s * 1000;
	backoff_init(&r->backoff, o->retries);
	if (loop_signal(r->loop, SIGINT, runner_signal, r) < 0 ||
	    loop_signal(r->loop, SIGTERM, runner_signal, r) < 0) {
		warnx("cannot watch signals");
		return CLIENT_EXIT_FAILURE;
	}
	r->start_ms = loop_now(r->loop);
	r->progress = !o->quiet && isatty(STDERR_FILENO);
	if (r->progress)
		loop_timer(r->loop, RUNNER_PROGRESS_MS, runner_progress, r);
	return 0;
}

void
runner_connect(struct runner *r)
{
	int	 rc;

	client_free(r->client);
	if ((r->client = client_new(r->loop, &r->config, r->events, r->arg)) == NULL) {
		warnx("out of memory");
		runner_stop(r, CLIENT_EXIT_FAILURE);
		return;
	}
	if ((rc = client_start(r->client)) < 0 && r->events->closed != NULL)
		r->events->closed(r->client, rc, rc == RTMP_ERESOLVE ? "host not found" :
		    rc == RTMP_ESYS ? strerror(errno) : rtmp_strerror(rc), r->arg);
}

static uint64_t
runner_reconnect(struct loop *loop, uint64_t id, void *arg)
{
	struct runner	*r = arg;

	(void)loop;
	(void)id;
	r->reconnect_timer = 0;
	runner_connect(r);
	return LOOP_TIMER_STOP;
}

int
runner_retry(struct runner *r, int error, const char *reason)
{
	int64_t	 delay;

	if (error == RTMP_EREFUSED || error == RTMP_ENOTFOUND)
		return 0;
	if (runner_stopped(r))
		return 0;
	if ((delay = backoff_next(&r->backoff)) < 0) {
		/* -r 0 never reconnects: nothing was spent, the drop speaks for itself. */
		r->retries_spent = r->backoff.attempts > 0;
		return 0;
	}
	warnx("%s: %s; reconnecting in %lld ms (attempt %d of %d)", runner_peer(r),
	    reason, (long long)delay, r->backoff.used, r->backoff.attempts);
	r->reconnect_timer = loop_timer(r->loop, (uint64_t)delay, runner_reconnect, r);
	return 1;
}

void
runner_fail(struct runner *r, int error, const char *reason)
{
	if (r->retries_spent) {
		warnx("%s: %s; gave up after %d reconnect attempt%s", runner_peer(r),
		    reason, r->backoff.attempts, r->backoff.attempts == 1 ? "" : "s");
		runner_stop(r, CLIENT_EXIT_FAILURE);
		return;
	}
	warnx("%s: %s", runner_peer(r), reason);
	runner_stop(r, client_exit_status(error));
}

void
runner_stop(struct runner *r, int status)
{
	if (r->exit_status < 0)
		r->exit_status = status;
	loop_stop(r->loop);
}

int
runner_stopped(const struct runner *r)
{
	return r->exit_status >= 0;
}

const char *
runner_peer(const struct runner *r)
{
	return r->name[0] != '\0' ? r->name : client_peer(r->client);
}

int
runner_run(struct runner *r)
{
	runner_connect(r);
	if (!runner_stopped(r))
		loop_run(r->loop);
	if (r->progress)
		fputc('\n', stderr);
	return r->exit_status < 0 ? CLIENT_EXIT_FAILURE : r->exit_status;
}

void
runner_free(struct runner *r)
{
	client_free(r->client);
	r->client = NULL;
	if (r->loop != NULL)
		loop_free(r->loop);
	r->loop = NULL;
	tls_context_free(r->tls);
	r->tls = NULL;
}

void
runner_options_init(struct runner_options *o, const char *progname, void (*usage)(void))
{
	memset(o, 0, sizeof(*o));
	o->progname = progname;
	o->usage = usage;
	o->retries = 10;
	o->timeout_s = 30;
}

int
runner_option(struct runner_options *o, int ch, const char *arg)
{
	long long	 v;

	switch (ch) {
	case 'C':
		o->ca_file = arg;
		return RUNNER_OPTION_TAKEN;
	case 'h':
		o->usage();
		return RUNNER_OPTION_ANSWERED;
	case 'k':
		o->insecure = 1;
		return RUNNER_OPTION_TAKEN;
	case 'q':
		o->quiet = 1;
		return RUNNER_OPTION_TAKEN;
	case 'r':
		if (runner_number(arg, 0, 1000000, "retries", &v) < 0)
			return RUNNER_OPTION_BAD;
		o->retries = (int)v;
		return RUNNER_OPTION_TAKEN;
	case 't':
		if (runner_number(arg, 1, 86400, "timeout", &v) < 0)
			return RUNNER_OPTION_BAD;
		o->timeout_s = (uint32_t)v;
		return RUNNER_OPTION_TAKEN;
	case 'V':
		printf("%s %s\n", o->progname, RTMPKIT_VERSION);
		return RUNNER_OPTION_ANSWERED;
	case 'v':
		o->verbose++;
		return RUNNER_OPTION_TAKEN;
	}
	return RUNNER_OPTION_UNKNOWN;
}

int
runner_number(const char *arg, long long min, long long max, const char *what,
    long long *value)
{
	const char	*errstr;

	*value = strtonum(arg, min, max, &errstr);
	if (errstr != NULL) {
		warnx("%s %s: %s", what, arg, errstr);
		return -1;
	}
	return 0;
}
