/*
 * rtmp-balance: an RTMP(S) load balancer.  Each client connection goes to
 * one backend, picked before a byte is read (roundrobin, leastconn,
 * source), and its bytes are forwarded both ways unparsed; or, with
 * -a stream, picked by its app/stream once intake.h has read its publish
 * or play, its session then carried over to the backend by join.h.
 *
 * Policy lives here: which backend, how many others after a refusal,
 * how long a connect and a silent client may take, what a reload keeps.
 * The frame (listeners, TLS in front, max clients, stats socket, signals)
 * is server.h's in its raw mode; the set and the picks are backend.h's,
 * the checks health.h's, the bytes forward.h's.
 */

#include <sys/resource.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "error.h"
#include "forward.h"
#include "health.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "net.h"
#include "place.h"
#include "route.h"
#include "proxy.h"
#include "server.h"
#include "service.h"
#include "tls.h"
#include "version.h"

/* The frame's options that mean something here, then ours. */
#define BALANCE_OPTIONS		"C:hI:K:L:M:m:P:ps:t:Vv" "A:a:d:F:f:H:i:kl:R:r:S:T:"
#define BALANCE_DRAIN_S		10

struct balance {
	struct server		*server;
	struct loop		*loop;
	struct backend_set	 set;
	const char		*file;		/* -f */
	char			**operands;	/* backends on the command line */
	int			 noperands;
	struct health		*health;
	struct health_config	 hc;
	struct route_table	 routes;	/* the connections and their settings */
	struct tls_config	 btc;		/* -A, -k: RTMPS to backends */
	uint64_t		 reloads;
	uint64_t		 gone_in, gone_out;	/* bytes of backends forgotten */
};


static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-balance [-hkpVv] [-A cafile] [-a algorithm] "
	    "[-C cert] [-d seconds]\n"
	    "\t[-F fall] [-f file] [-H check] [-I seconds] [-i ms] [-K key]\n"
	    "\t[-L logfile] [-l address] [-M address] [-m clients] [-P pidfile]\n"
	    "\t[-R rise] [-r retries] [-S v1|v2] [-s unix:path] [-T ms] [-t seconds]\n"
	    "\t[backend ...]\n");
}

static void
balance_usage_error(const char *msg)
{
	fprintf(stderr, "rtmp-balance: %s\n", msg);
	usage();
	exit(2);
}

static long long
balance_number(const char *arg, long long min, long long max, const char *what)
{
	const char	*errstr;
	long long	 v;
	char		 msg[256];

	v = strtonum(arg, min, max, &errstr);
	if (errstr != NULL) {
		snprintf(msg, sizeof(msg), "%s %s: %s", what, arg, errstr);
		balance_usage_error(msg);
	}
	return v;
}

/* --- connections -------------------------------------------------------- */

static void	balance_forget(struct backend *, void *);

static void
balance_accept(struct server *sv, int fd, struct tls *tls, const char *address,
    const struct proxy_info *proxy, void *arg)
{
	struct balance	*bal = arg;

	(void)sv;
	route_accept(&bal->routes, fd, tls, address, proxy);
}

/* A connection is gone: the frame's count, and a removed backend's memory. */
static void
balance_route_closed(struct route_table *t, struct backend *b, void *arg)
{
	struct balance	*bal = arg;

	(void)t;
	server_raw_closed(bal->server);
	if (b != NULL && b->removed && b->active == 0)
		backend_set_compact(&bal->set, balance_forget, bal);
}

/* --- backends ----------------------------------------------------------- */

/* The client context for RTMPS backends, made when the first one appears. */
static int
balance_backend_tls(struct balance *bal, char *err, size_t errsize)
{
	size_t	 i;

	for (i = 0; i < bal->set.n && bal->routes.backend_tls == NULL; i++)
		if (bal->set.b[i]->spec.tls && (bal->routes.backend_tls = tls_context_new(&bal->btc, err,
		    errsize)) == NULL)
			return RTMP_ETLS;
	return 0;
}

static void
balance_forget(struct backend *b, void *arg)
{
	struct balance	*bal = arg;

	health_forget(bal->health, b);
	/* The byte totals never go back: a backend's stay when it goes. */
	bal->gone_in += b->bytes_in;
	bal->gone_out += b->bytes_out;
	log_info("backend %s: removed", b->spec.label);
}

/* SIGHUP: the file again; live sessions stay where they are. */
static void
balance_hangup(struct server *sv, void *arg)
{
	struct balance	*bal = arg;
	char		 err[512];
	size_t		 n, added;
	int		 rc;

	(void)sv;
	rc = backend_set_load(&bal->set, bal->file, bal->operands, (size_t)bal->noperands,
	    &n, &added, balance_forget, bal, err, sizeof(err));
	if (rc < 0 && n == 0) {
		log_warnx("reload: %s; the backends stay as they were", err);
		return;
	}
	if (rc < 0 || balance_backend_tls(bal, err, sizeof(err)) < 0)
		log_warnx("reload: %s", err);
	bal->reloads++;
	log_info("reload: %zu backends, %zu new", n, added);
	server_title_changed(sv);
}

static void
balance_changed(struct backend *b, int up, void *arg)
{
	struct balance	*bal = arg;

	server_title_changed(bal->server);
	if (up)
		log_info("backend %s: up after %u checks passed", b->spec.label, b->oks);
	else
		log_warnx("backend %s: down after %u checks failed: %s", b->spec.label,
		    b->fails, b->last_result);
}

static const struct health_events balance_health_events = {
	.changed = balance_changed,
};

/* The process title: what ps shows an operator at a glance. */
static void
balance_title(struct server *sv, char *text, size_t size, void *arg)
{
	struct balance	*bal = arg;
	size_t		 i, up = 0, live = 0;

	for (i = 0; i < bal->set.n; i++) {
		if (bal->set.b[i]->removed)
			continue;
		live++;
		up += bal->set.b[i]->up;
	}
	snprintf(text, size, "%zu client%s, %zu of %zu backends up", server_raw(sv),
	    server_raw(sv) == 1 ? "" : "s", up, live);
}

/* --- stats -------------------------------------------------------------- */

static int
balance_stats_backend(struct balance *bal, struct buf *out, struct backend *b, int first)
{
	uint64_t		 in, outb;
	char			 line[512];
	int			 rc = 0;

	/* The live connections' bytes so far, not only the ended ones'. */
	route_table_bytes(&bal->routes, b, &in, &outb);
	in += b->bytes_in;
	outb += b->bytes_out;
	rc |= buf_append(out, first ? "{\"address\":" : ",{\"address\":", first ? 11 : 12);
	rc |= server_json_string(out, b->spec.label);
	snprintf(line, sizeof(line), ",\"state\":\"%s\",\"weight\":%u,\"maxconn\":%u,"
	    "\"active\":%u,\"total\":%llu,\"refused\":%llu,\"bytes_in\":%llu,"
	    "\"bytes_out\":%llu,\"checks\":%llu,\"check_ok\":%s,\"check\":",
	    b->removed ? "removed" : b->up ? "up" : "down", b->spec.weight,
	    b->spec.maxconn, b->active, (unsigned long long)b->total,
	    (unsigned long long)b->refused, (unsigned long long)in,
	    (unsigned long long)outb, (unsigned long long)b->checks,
	    b->last_ok < 0 ? "null" : b->last_ok ? "true" : "false");
	rc |= buf_append(out, line, strlen(line));
	rc |= b->last_ok < 0 ? buf_append(out, "null", 4) :
	    server_json_string(out, b->last_result);
	rc |= buf_append(out, "}", 1);
	return rc;
}

static int
balance_stats(struct server *sv, struct buf *out, void *arg)
{
	struct balance	*bal = arg;
	char		 line[512];
	size_t		 i;
	int		 rc = 0;

	snprintf(line, sizeof(line), "{\"program\":\"rtmp-balance\",\"version\":\"%s\","
	    "\"uptime_seconds\":%llu,\"algorithm\":\"%s\",\"clients\":%zu,"
	    "\"accepted\":%llu,\"unplaced\":%llu,\"reloads\":%llu,\"stopping\":%s,"
	    "\"backends\":[", RTMPKIT_VERSION,
	    (unsigned long long)(server_uptime_ms(sv) / 1000), backend_algo_name(bal->routes.place.algo),
	    server_raw(sv), (unsigned long long)server_accepted(sv),
	    (unsigned long long)bal->routes.unplaced, (unsigned long long)bal->reloads,
	    server_stopping(sv) ? "true" : "false");
	rc |= buf_append(out, line, strlen(line));
	for (i = 0; i < bal->set.n; i++)
		rc |= balance_stats_backend(bal, out, bal->set.b[i], i == 0);
	rc |= buf_append(out, "]}", 2);
	return rc < 0 ? RTMP_ENOMEM : 0;
}

/* -M: the bytes of every client, for the frame's totals. */
static void
balance_raw_bytes(struct server *sv, uint64_t *in, uint64_t *out, void *arg)
{
	struct balance	*bal = arg;
	uint64_t	 i, o;
	size_t		 k;

	(void)sv;
	*in = bal->gone_in;
	*out = bal->gone_out;
	for (k = 0; k < bal->set.n; k++) {
		route_table_bytes(&bal->routes, bal->set.b[k], &i, &o);
		*in += bal->set.b[k]->bytes_in + i;
		*out += bal->set.b[k]->bytes_out + o;
	}
}

enum balance_metric { BALANCE_M_UP, BALANCE_M_ACTIVE, BALANCE_M_TOTAL, BALANCE_M_REFUSED,
	BALANCE_M_SENT, BALANCE_M_RECEIVED, BALANCE_M_CHECKS, BALANCE_M_N };

/* One family of a value per backend, labelled by its name. */
static void
balance_metrics_backends(struct balance *bal, struct metrics *m, const char *name,
    enum metrics_type type, const char *help, enum balance_metric what)
{
	struct backend	*b;
	uint64_t	 v[BALANCE_M_N], in = 0, out = 0;
	size_t		 k;

	metrics_family(m, name, type, help);
	for (k = 0; k < bal->set.n; k++) {
		b = bal->set.b[k];
		/* The live connections' bytes so far, not only the ended ones'. */
		if (what == BALANCE_M_SENT || what == BALANCE_M_RECEIVED)
			route_table_bytes(&bal->routes, b, &in, &out);
		v[BALANCE_M_UP] = b->up && !b->removed;
		v[BALANCE_M_ACTIVE] = b->active;
		v[BALANCE_M_TOTAL] = b->total;
		v[BALANCE_M_REFUSED] = b->refused;
		v[BALANCE_M_SENT] = b->bytes_in + in;
		v[BALANCE_M_RECEIVED] = b->bytes_out + out;
		v[BALANCE_M_CHECKS] = b->checks;
		metrics_sample1(m, "backend", b->spec.label, v[what]);
	}
}

static int
balance_metrics(struct server *sv, struct metrics *m, void *arg)
{
	struct balance	*bal = arg;

	(void)sv;
	balance_metrics_backends(bal, m, "rtmpkit_backend_up", METRICS_GAUGE, "1 while "
	    "the backend takes clients (its checks pass, not removed).", BALANCE_M_UP);
	balance_metrics_backends(bal, m, "rtmpkit_backend_connections", METRICS_GAUGE,
	    "Connections to the backend now.", BALANCE_M_ACTIVE);
	balance_metrics_backends(bal, m, "rtmpkit_backend_connections_total",
	    METRICS_COUNTER, "Connections made to the backend.", BALANCE_M_TOTAL);
	balance_metrics_backends(bal, m, "rtmpkit_backend_refused_total",
	    METRICS_COUNTER, "Connects to the backend that failed.", BALANCE_M_REFUSED);
	balance_metrics_backends(bal, m, "rtmpkit_backend_sent_bytes_total",
	    METRICS_COUNTER, "Bytes from clients sent to the backend.", BALANCE_M_SENT);
	balance_metrics_backends(bal, m, "rtmpkit_backend_received_bytes_total",
	    METRICS_COUNTER, "Bytes from the backend sent on to clients.",
	    BALANCE_M_RECEIVED);
	balance_metrics_backends(bal, m, "rtmpkit_backend_checks_total",
	    METRICS_COUNTER, "Health checks of the backend.", BALANCE_M_CHECKS);
	metrics_counter(m, "rtmpkit_clients_unplaced_total", "Clients no backend "
	    "took.", bal->routes.unplaced);
	return metrics_counter(m, "rtmpkit_reloads_total", "Reloads of the backends "
	    "(SIGHUP).", bal->reloads);
}

static void
balance_stopping(struct server *sv, void *arg)
{
	struct balance	*bal = arg;

	(void)bal;
	log_info("stop: draining %zu connections for up to %u s", server_raw(sv),
	    server_get_options(sv)->stop_grace_ms / 1000);
}

static const struct server_events balance_server_events = {
	.accept = balance_accept,
	.hangup = balance_hangup,
	.stats = balance_stats,
	.stopping = balance_stopping,
	.title = balance_title,
	.metrics = balance_metrics,
	.raw_bytes = balance_raw_bytes,
};

/* --- set-up ------------------------------------------------------------- */

/*
 * A spliced connection holds six descriptors (two sockets, two pipes):
 * the usual soft limit of 1024 would end splicing near 170 clients.
 */
static void
balance_raise_nofile(uint32_t clients)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)clients * 6 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want :
	    rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int
main(int argc, char *argv[])
{
	struct balance		 bal;
	struct server_options	 so;
	struct backend_spec	*specs;
	char			 err[512];
	size_t			 n, added, i;
	int			 ch, rc;

	service_title_init(argc, argv);
	memset(&bal, 0, sizeof(bal));
	backend_set_init(&bal.set);
	bal.routes.place.connect_ms = PLACE_CONNECT_MS;
	bal.routes.place.retries = PLACE_RETRIES;
	bal.hc.interval_ms = HEALTH_INTERVAL_MS;
	server_options_init(&so);
	so.stop_grace_ms = BALANCE_DRAIN_S * 1000;
	while ((ch = getopt(argc, argv, BALANCE_OPTIONS)) != -1) {
		switch (ch) {
		case 'A':
			bal.btc.ca_file = optarg;
			break;
		case 'a':
			if (backend_algo_parse(optarg, &bal.routes.place.algo) < 0)
				balance_usage_error("-a takes roundrobin, leastconn, source or "
				    "stream");
			break;
		case 'd':
			so.stop_grace_ms = (uint32_t)balance_number(optarg, 1, 86400,
			    "drain seconds") * 1000;
			break;
		case 'F':
			bal.hc.fall = (uint32_t)balance_number(optarg, 1, 100, "fall");
			break;
		case 'f':
			bal.file = optarg;
			break;
		case 'H':
			/* tcp, rtmp, or rtmp/APP: the app the check connects to. */
			bal.hc.rtmp = strncmp(optarg, "rtmp", 4) == 0 &&
			    (optarg[4] == '\0' || optarg[4] == '/');
			if (!bal.hc.rtmp && strcmp(optarg, "tcp") != 0)
				balance_usage_error("-H takes tcp, rtmp or rtmp/APP");
			if (bal.hc.rtmp && optarg[4] == '/' && (optarg[5] == '\0' ||
			    strlcpy(bal.hc.app, optarg + 5, sizeof(bal.hc.app)) >=
			    sizeof(bal.hc.app)))
				balance_usage_error("-H rtmp/APP: an app name, shorter");
			break;
		case 'i':
			bal.hc.interval_ms = (uint32_t)balance_number(optarg, 0, 3600000,
			    "check interval ms");
			break;
		case 'k':
			bal.btc.noverify = 1;
			break;
		case 'l':
			if (server_add_address(&so, optarg, err, sizeof(err)) < 0)
				balance_usage_error(err);
			break;
		case 'S':
			if (strcmp(optarg, "v1") != 0 && strcmp(optarg, "v2") != 0)
				balance_usage_error("-S takes v1 or v2");
			bal.routes.send_proxy = optarg[1] - '0';
			break;
		case 'R':
			bal.hc.rise = (uint32_t)balance_number(optarg, 1, 100, "rise");
			break;
		case 'r':
			bal.routes.place.retries = (uint32_t)balance_number(optarg, 0, BACKEND_MAX, "retries");
			break;
		case 'T':
			bal.routes.place.connect_ms = (uint32_t)balance_number(optarg, 10, 600000,
			    "connect timeout ms");
			break;
		default:
			rc = server_option_status(server_option(&so, ch, optarg, err,
			    sizeof(err)), "rtmp-balance", err, usage);
			if (rc >= 0)
				return rc;
			break;
		}
	}
	bal.operands = argv + optind;
	bal.noperands = argc - optind;
	if (bal.file == NULL && bal.noperands == 0)
		balance_usage_error("no backend: give them as operands or in -f file");
	/* A bad operand is a usage error; a bad file is not. */
	if ((specs = calloc(BACKEND_MAX, sizeof(*specs))) == NULL)
		errx(1, "out of memory");
	if (backend_load(NULL, bal.operands, (size_t)bal.noperands, specs, BACKEND_MAX,
	    &n, err, sizeof(err)) < 0)
		balance_usage_error(err);
	if (server_options_check(&so, err, sizeof(err)) < 0)
		balance_usage_error(err);
	for (i = 0; i < n; i++)
		if (specs[i].directory && bal.routes.place.algo != BACKEND_STREAM)
			balance_usage_error("a directory backend (unix:DIR/) needs -a stream");
	free(specs);
	balance_raise_nofile(so.max_clients);
	bal.routes.first_byte_ms = so.handshake_timeout_ms;
	bal.routes.intake.deadline_ms = so.handshake_timeout_ms;
	bal.routes.intake.chunk_size = so.chunk_size;
	bal.routes.forward.idle_ms = so.idle_timeout_ms;
	bal.routes.verbose = so.verbose;
	bal.routes.set = &bal.set;
	bal.routes.closed = balance_route_closed;
	bal.routes.arg = &bal;
	if (backend_set_load(&bal.set, bal.file, bal.operands, (size_t)bal.noperands,
	    &n, &added, NULL, NULL, err, sizeof(err)) < 0 ||
	    balance_backend_tls(&bal, err, sizeof(err)) < 0)
		errx(1, "%s", err);
	if ((rc = server_init(&bal.server, &so, &balance_server_events, &bal, err,
	    sizeof(err))) < 0) {
		log_errorx("%s", err);
		server_free(bal.server);
		backend_set_free(&bal.set);
		tls_context_free(bal.routes.backend_tls);
		return 1;
	}
	bal.loop = bal.routes.loop = server_loop(bal.server);
	if (bal.hc.interval_ms != 0 && (bal.health = health_new(bal.loop, &bal.set,
	    &bal.hc, &balance_health_events, &bal)) == NULL) {
		log_errorx("out of memory");
		return 1;
	}
	log_info("%zu backends, %s, %s", bal.set.n, backend_algo_name(bal.routes.place.algo),
	    bal.health == NULL ? "no health checks" : bal.hc.rtmp ?
	    "checked by an RTMP connect" : "checked by a TCP connect");
	rc = server_run(bal.server);
	/* The drain is over: whatever is left ends now. */
	route_table_close(&bal.routes, "stopped");
	health_free(bal.health);
	server_free(bal.server);
	backend_set_free(&bal.set);
	tls_context_free(bal.routes.backend_tls);
	return rc;
}
