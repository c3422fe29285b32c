/*
 * rtmp-balance: an RTMP(S) load balancer.  Each client connection goes to
 * one backend, picked before a byte is read (roundrobin, leastconn,
 * source), and its bytes are forwarded both ways unparsed.
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
#include "net.h"
#include "place.h"
#include "proxy.h"
#include "server.h"
#include "tls.h"
#include "version.h"

/* The frame's options that mean something here, then ours. */
#define BALANCE_OPTIONS		"C:hI:K:L:m:ps:t:Vv" "A:a:d:F:f:H:i:kl:P:R:r:T:"
#define BALANCE_DRAIN_S		10

struct balance_session;

struct balance {
	struct server		*server;
	struct loop		*loop;
	struct backend_set	 set;
	const char		*file;		/* -f */
	char			**operands;	/* backends on the command line */
	int			 noperands;
	struct health		*health;
	struct health_config	 hc;
	struct place_config	 pc;
	struct forward_config	 fc;
	uint32_t		 first_byte_ms;	/* -t: a client must speak first */
	int			 send_proxy;	/* -P: PROXY version to the backends, 0 none */
	struct tls_config	 btc;		/* -A, -k: RTMPS to backends */
	struct tls_context	*btls;		/* made for the first tls backend */
	struct balance_session	*sessions;
	uint64_t		 unplaced;
	uint64_t		 reloads;
};

struct balance_session {
	struct balance		*bal;
	struct balance_session	*prev, *next;
	int			 cfd;
	struct tls		*ctls;
	char			 address[NET_ADDRSTRLEN];	/* the real client's with -p */
	uint8_t			 proxy[PROXY_WRITE_MAX];	/* -P: the header to send */
	size_t			 proxylen;
	struct place		*place;		/* until a backend took it */
	struct backend		*backend;
	struct forward		*fw;
	uint64_t		 timer;		/* the first byte */
	uint64_t		 started;
};

static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-balance [-hkpVv] [-A cafile] [-a algorithm] "
	    "[-C cert] [-d seconds]\n"
	    "\t[-F fall] [-f file] [-H check] [-I seconds] [-i ms] [-K key]\n"
	    "\t[-L logfile] [-l address] [-m clients] [-P v1|v2] [-R rise]\n"
	    "\t[-r retries] [-s unix:path] [-T ms] [-t seconds] [backend ...]\n");
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

/* --- sessions ----------------------------------------------------------- */

static void	balance_forget(struct backend *, void *);

static void
balance_session_free(struct balance_session *s)
{
	struct balance	*bal = s->bal;

	if (s->timer != 0)
		loop_timer_cancel(bal->loop, s->timer);
	place_cancel(s->place);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		bal->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	free(s);
	server_raw_closed(bal->server);
}

/* Before the forward: the client's socket is still ours to close; why NULL: quietly. */
static void
balance_unplaced(struct balance_session *s, const char *why)
{
	if (why != NULL) {
		s->bal->unplaced++;
		log_warnx("peer %s: %s: closed", s->address, why);
	}
	tls_free(s->ctls);
	close(s->cfd);
	balance_session_free(s);
}

static void
balance_closed(struct forward *fw, int error, const char *reason, void *arg)
{
	struct balance_session	*s = arg;
	struct balance		*bal = s->bal;
	struct backend		*b = s->backend;
	uint64_t		 in, out, ms = loop_now(bal->loop) - s->started;

	(void)error;
	forward_bytes(fw, &in, &out);
	b->bytes_in += in;
	b->bytes_out += out;
	backend_detach(b);
	log_info("peer %s backend %s: closed: %s, %llu bytes in, %llu out, %llu.%03llu s",
	    s->address, b->spec.name, reason, (unsigned long long)in,
	    (unsigned long long)out, (unsigned long long)(ms / 1000),
	    (unsigned long long)(ms % 1000));
	s->fw = NULL;
	balance_session_free(s);
	if (b->removed && b->active == 0)
		backend_set_compact(&bal->set, balance_forget, bal);
}

static const struct forward_events balance_forward_events = {
	.closed = balance_closed,
};

/* -t: an RTMP client speaks first (C0+C1); one that does not is closed. */
static uint64_t
balance_first_byte(struct loop *loop, uint64_t id, void *arg)
{
	struct balance_session	*s = arg;
	uint64_t		 in, out;

	(void)loop;
	(void)id;
	s->timer = 0;
	forward_bytes(s->fw, &in, &out);
	if (in == 0)
		forward_close(s->fw, RTMP_ETIMEOUT, "handshake timeout: nothing sent");
	return LOOP_TIMER_STOP;
}

static void
balance_placed(struct place *pl, int bfd, struct backend *b, const char *why, void *arg)
{
	struct balance_session	*s = arg;
	struct balance		*bal = s->bal;
	struct forward_config	 fc = bal->fc;
	struct tls		*btls = NULL;

	(void)pl;
	fc.prefix = s->proxy;
	fc.prefixlen = s->proxylen;
	s->place = NULL;
	if (bfd == -1) {
		balance_unplaced(s, why);
		return;
	}
	s->backend = b;
	/* RTMPS to it: verified against its host name or address (-A, -k). */
	if (b->spec.tls && ((btls = tls_new(bal->btls, bfd, 0)) == NULL ||
	    (!b->spec.addr.family_unix && tls_set_server_name(btls,
	    b->spec.addr.host) < 0))) {
		tls_free(btls);
		btls = NULL;
	}
	if ((b->spec.tls && btls == NULL) || (s->fw = forward_new(bal->loop, s->cfd,
	    s->ctls, bfd, btls, &fc, &balance_forward_events, s)) == NULL) {
		tls_free(btls);
		close(bfd);
		backend_detach(b);
		balance_unplaced(s, "out of memory");
		return;
	}
	if (server_get_options(bal->server)->verbose > 0)
		log_info("peer %s backend %s: connected", s->address, b->spec.name);
	if (bal->first_byte_ms != 0)
		s->timer = loop_timer(bal->loop, bal->first_byte_ms, balance_first_byte, s);
}

static void
balance_refused(struct place *pl, struct backend *b, const char *why, void *arg)
{
	struct balance_session	*s = arg;

	(void)pl;
	log_warnx("peer %s backend %s: %s", s->address, b->spec.name, why);
}

static const struct place_events balance_place_events = {
	.done = balance_placed,
	.refused = balance_refused,
};

/* The client's host without the port: the key of -a source. */
static size_t
balance_source_key(const char *address)
{
	const char	*colon = strrchr(address, ':');

	if (strncmp(address, "unix:", 5) == 0 || colon == NULL)
		return strlen(address);
	return (size_t)(colon - address);
}

static void
balance_place(struct balance_session *s)
{
	struct balance	*bal = s->bal;

	if ((s->place = place_start(bal->loop, &bal->set, &bal->pc, s->address,
	    balance_source_key(s->address), &balance_place_events, s)) == NULL)
		balance_unplaced(s, "out of memory");
}

/*
 * -P: the header for the backend, naming the client: the one a PROXY
 * header named (-p), else the socket's peer; a front balancer's check
 * (LOCAL) or a unix client goes as LOCAL/UNKNOWN.
 */
static void
balance_proxy_header(struct balance_session *s, const struct proxy_info *proxy)
{
	struct sockaddr_storage	 src, dst;
	const struct sockaddr	*sp = NULL, *dp = NULL;
	socklen_t		 slen = sizeof(src), dlen = sizeof(dst);
	int			 n;

	if (proxy != NULL && !proxy->local) {
		sp = (const struct sockaddr *)&proxy->src;
		dp = (const struct sockaddr *)&proxy->dst;
		slen = proxy->srclen;
		dlen = proxy->dstlen;
	} else if (proxy == NULL && getpeername(s->cfd, (struct sockaddr *)&src,
	    &slen) == 0 && getsockname(s->cfd, (struct sockaddr *)&dst, &dlen) == 0) {
		sp = (const struct sockaddr *)&src;
		dp = (const struct sockaddr *)&dst;
	}
	n = proxy_write(s->proxy, sizeof(s->proxy), s->bal->send_proxy, sp, slen, dp,
	    dlen);
	s->proxylen = n > 0 ? (size_t)n : 0;
}

static void
balance_accept(struct server *sv, int fd, struct tls *tls, const char *address,
    const struct proxy_info *proxy, void *arg)
{
	struct balance		*bal = arg;
	struct balance_session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warnx("peer %s: out of memory: closed", address);
		tls_free(tls);
		close(fd);
		server_raw_closed(sv);
		return;
	}
	s->bal = bal;
	s->cfd = fd;
	s->ctls = tls;
	s->started = loop_now(bal->loop);
	strlcpy(s->address, address, sizeof(s->address));
	s->next = bal->sessions;
	if (bal->sessions != NULL)
		bal->sessions->prev = s;
	bal->sessions = s;
	if (bal->send_proxy != 0)
		balance_proxy_header(s, proxy);
	balance_place(s);
}

/* --- backends ----------------------------------------------------------- */

/* The client context for RTMPS backends, made when the first one appears. */
static int
balance_backend_tls(struct balance *bal, char *err, size_t errsize)
{
	size_t	 i;

	for (i = 0; i < bal->set.n && bal->btls == NULL; i++)
		if (bal->set.b[i]->spec.tls && (bal->btls = tls_context_new(&bal->btc, err,
		    errsize)) == NULL)
			return RTMP_ETLS;
	return 0;
}

static void
balance_forget(struct backend *b, void *arg)
{
	struct balance	*bal = arg;

	health_forget(bal->health, b);
	log_info("backend %s: removed", b->spec.name);
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
}

static void
balance_changed(struct backend *b, int up, void *arg)
{
	(void)arg;
	if (up)
		log_info("backend %s: up after %u checks passed", b->spec.name, b->oks);
	else
		log_warnx("backend %s: down after %u checks failed: %s", b->spec.name,
		    b->fails, b->last_result);
}

static const struct health_events balance_health_events = {
	.changed = balance_changed,
};

/* --- stats -------------------------------------------------------------- */

static int
balance_stats_backend(struct balance *bal, struct buf *out, struct backend *b, int first)
{
	struct balance_session	*s;
	uint64_t		 in = b->bytes_in, outb = b->bytes_out, i, o;
	char			 line[512];
	int			 rc = 0;

	/* The live sessions' bytes so far, not only the ended ones'. */
	for (s = bal->sessions; s != NULL; s = s->next)
		if (s->backend == b && s->fw != NULL) {
			forward_bytes(s->fw, &i, &o);
			in += i;
			outb += o;
		}
	rc |= buf_append(out, first ? "{\"address\":" : ",{\"address\":", first ? 11 : 12);
	rc |= server_json_string(out, b->spec.name);
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
	    (unsigned long long)(server_uptime_ms(sv) / 1000), backend_algo_name(bal->pc.algo),
	    server_raw(sv), (unsigned long long)server_accepted(sv),
	    (unsigned long long)bal->unplaced, (unsigned long long)bal->reloads,
	    server_stopping(sv) ? "true" : "false");
	rc |= buf_append(out, line, strlen(line));
	for (i = 0; i < bal->set.n; i++)
		rc |= balance_stats_backend(bal, out, bal->set.b[i], i == 0);
	rc |= buf_append(out, "]}", 2);
	return rc < 0 ? RTMP_ENOMEM : 0;
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
	size_t			 n, added;
	int			 ch, rc;

	memset(&bal, 0, sizeof(bal));
	backend_set_init(&bal.set);
	bal.pc.connect_ms = PLACE_CONNECT_MS;
	bal.pc.retries = PLACE_RETRIES;
	bal.hc.interval_ms = HEALTH_INTERVAL_MS;
	server_options_init(&so);
	so.stop_grace_ms = BALANCE_DRAIN_S * 1000;
	while ((ch = getopt(argc, argv, BALANCE_OPTIONS)) != -1) {
		switch (ch) {
		case 'A':
			bal.btc.ca_file = optarg;
			break;
		case 'a':
			if (backend_algo_parse(optarg, &bal.pc.algo) < 0)
				balance_usage_error("-a takes roundrobin, leastconn or source");
			if (bal.pc.algo == BACKEND_STREAM)
				balance_usage_error("-a stream: not implemented yet (BUGS in "
				    "rtmp-balance(1))");
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
			if (strcmp(optarg, "tcp") != 0 && strcmp(optarg, "rtmp") != 0)
				balance_usage_error("-H takes tcp or rtmp");
			bal.hc.rtmp = strcmp(optarg, "rtmp") == 0;
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
		case 'P':
			if (strcmp(optarg, "v1") != 0 && strcmp(optarg, "v2") != 0)
				balance_usage_error("-P takes v1 or v2");
			bal.send_proxy = optarg[1] - '0';
			break;
		case 'R':
			bal.hc.rise = (uint32_t)balance_number(optarg, 1, 100, "rise");
			break;
		case 'r':
			bal.pc.retries = (uint32_t)balance_number(optarg, 0, BACKEND_MAX, "retries");
			break;
		case 'T':
			bal.pc.connect_ms = (uint32_t)balance_number(optarg, 10, 600000,
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
	free(specs);
	if (server_options_check(&so, err, sizeof(err)) < 0)
		balance_usage_error(err);
	balance_raise_nofile(so.max_clients);
	bal.first_byte_ms = so.handshake_timeout_ms;
	bal.fc.idle_ms = so.idle_timeout_ms;
	if (backend_set_load(&bal.set, bal.file, bal.operands, (size_t)bal.noperands,
	    &n, &added, NULL, NULL, err, sizeof(err)) < 0 ||
	    balance_backend_tls(&bal, err, sizeof(err)) < 0)
		errx(1, "%s", err);
	if ((rc = server_init(&bal.server, &so, &balance_server_events, &bal, err,
	    sizeof(err))) < 0) {
		log_errorx("%s", err);
		server_free(bal.server);
		return 1;
	}
	bal.loop = server_loop(bal.server);
	if (bal.hc.interval_ms != 0 && (bal.health = health_new(bal.loop, &bal.set,
	    &bal.hc, &balance_health_events, &bal)) == NULL) {
		log_errorx("out of memory");
		return 1;
	}
	log_info("%zu backends, %s, %s", bal.set.n, backend_algo_name(bal.pc.algo),
	    bal.health == NULL ? "no health checks" : bal.hc.rtmp ?
	    "checked by an RTMP handshake" : "checked by a TCP connect");
	rc = server_run(bal.server);
	/* The drain is over: whatever is left ends now. */
	while (bal.sessions != NULL) {
		if (bal.sessions->fw != NULL)
			forward_close(bal.sessions->fw, 0, "stopped");
		else
			balance_unplaced(bal.sessions, "stopped");
	}
	health_free(bal.health);
	server_free(bal.server);
	backend_set_free(&bal.set);
	tls_context_free(bal.btls);
	return rc;
}
