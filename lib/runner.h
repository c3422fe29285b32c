/*
 * runner.h: the frame the client programs share.
 *
 * One loop, one URL, TLS made from the command line's -C and -k, one
 * client connection at a time (client.h), reconnects with backoff, a
 * progress line on a terminal, SIGINT/SIGTERM, and the exit status.  The
 * program keeps the policy: it supplies the client_events, decides in its
 * `closed` callback whether a drop is worth runner_retry(), and says what
 * the progress line counts.
 *
 * Lifetime: runner_init() sets everything up (URL, TLS context, loop,
 * signals) and returns 0 or the exit status to leave with (usage 2, TLS 4,
 * failure 1) after printing why.  runner_run() connects, runs the loop
 * until runner_stop(), and returns the exit status; runner_free() then
 * releases everything.  runner_connect() replaces the client: call it only
 * from a timer or the loop's top level, never from inside a callback of
 * the client it replaces (runner_retry() arms such a timer).
 *
 * Messages go to stderr in warnx(3) form, "rtmp-dump: host:port: reason",
 * or with name_url "rtmp-dump: rtmp://host:port/app/stream: reason" (the
 * URL without its query, which may hold a key): a program run from cron
 * for many streams says which one failed.
 */
#ifndef RTMPKIT_RUNNER_H
#define RTMPKIT_RUNNER_H

#include <stdint.h>

#include "client.h"
#include "url.h"

struct runner_options {
	const char	*progname;	/* for -V */
	void		(*usage)(void);
	int		 verbose;	/* -v, counted */
	const char	*url;		/* as given on the command line */
	int		 publish;
	const char	*ca_file;	/* -C */
	int		 insecure;	/* -k */
	int		 retries;	/* -r */
	uint32_t	 timeout_s;	/* -t */
	int		 quiet;		/* -q: no progress line even on a terminal */
	int		 name_url;	/* messages name the URL, not host:port */
};

struct runner {
	struct loop		*loop;
	struct url		 url;
	struct tls_context	*tls;
	struct client_config	 config;
	struct client		*client;
	struct backoff		 backoff;
	uint64_t		 reconnect_timer;
	uint64_t		 start_ms;
	int			 progress;	/* a progress line is shown */
	int			 retries_spent;	/* a drop found no reconnect attempt left */
	int			 exit_status;	/* -1 while running */
	char			 name[2048];	/* name_url: tc_url "/" stream, no query */
	const struct client_events *events;
	void			*arg;
	/* What the progress line counts: media time and bytes so far. */
	void			(*count)(struct runner *, uint64_t *media_ms, uint64_t *bytes);
};

int	 runner_init(struct runner *r, const struct runner_options *o,
	    const struct client_events *events, void *arg);
int	 runner_run(struct runner *r);
void	 runner_free(struct runner *r);
/* A new client for the URL; a failure to start reaches events->closed. */
void	 runner_connect(struct runner *r);
/*
 * After a drop with this error: 1 if a reconnect is scheduled (it says so
 * on stderr with the reason), 0 if not: no attempts left, already
 * stopping, or an error a retry cannot fix (the server refused us or has
 * no such stream: asking again would get the same answer).
 */
int	 runner_retry(struct runner *r, int error, const char *reason);
/*
 * After a drop that is not retried: says why on stderr and stops with the
 * exit status for the error, or 1 if the reconnect attempts ran out (a
 * stream that kept dropping failed, whatever the last drop was).
 */
void	 runner_fail(struct runner *r, int error, const char *reason);
/* Stop the loop with this exit status; the first status given wins. */
void	 runner_stop(struct runner *r, int status);
int	 runner_stopped(const struct runner *r);
/* What messages name: host:port, or the URL without its query (name_url). */
const char *runner_peer(const struct runner *r);
/*
 * Every field cleared, then the defaults both client programs document:
 * 10 reconnect attempts (-r), a 30 s timeout (-t).
 */
void	 runner_options_init(struct runner_options *o, const char *progname,
	    void (*usage)(void));
/*
 * The options every client program shares: -C -h -k -q -r -t -V -v.
 * Call it from getopt's default case, after runner_options_init().  It
 * never exits (lib/ does not): RUNNER_OPTION_TAKEN, RUNNER_OPTION_UNKNOWN
 * (not one of them), RUNNER_OPTION_ANSWERED (-h printed the usage or -V
 * the version: exit 0), RUNNER_OPTION_BAD (a bad value, said on stderr:
 * print the usage and exit 2).
 */
#define RUNNER_OPTION_UNKNOWN	0
#define RUNNER_OPTION_TAKEN	1
#define RUNNER_OPTION_ANSWERED	2
#define RUNNER_OPTION_BAD	3
int	 runner_option(struct runner_options *o, int ch, const char *arg);
#define RUNNER_OPTIONS	"C:hkqr:t:Vv"

/*
 * strtonum(3) for an option argument: 0 with *value, or -1 after printing
 * "what arg: reason".
 */
int	 runner_number(const char *arg, long long min, long long max, const char *what,
	    long long *value);

#endif
