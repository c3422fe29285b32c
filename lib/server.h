/*
 * server.h: the frame the server programs share (rtmp-listen, rtmp-relay),
 * as runner.h is the clients'.
 *
 * Options: server_options_init() sets the defaults below;
 * server_option() takes one getopt(3) letter of SERVER_OPTIONS from the
 * program's own loop; server_options_check() checks the whole after
 * parsing.  None of them prints or exits: they return a status and write
 * why into err, and the program decides (usage, exit 2).
 *
 *	-C cert -K key	RTMPS on every listen address (PEM; key may be in cert)
 *	-c bytes	chunk size we send, 128..65536, default 4096
 *	-I seconds	idle timeout: nothing read or written, 1..86400, default 30
 *	-L file		log file (reopened on SIGHUP), default stderr
 *	-M address	metrics over HTTP (scrape.h): GET /metrics, see Metrics
 *	-m count	most connections at once, 1..65536, default 1024
 *	-P file		pidfile (service.h): refused when another process holds it
 *	-p		every connection starts with a PROXY v1/v2 header (a
 *			balancer in front): see PROXY below
 *	-Q ms		per-player queue bound in media time, 0 (none)..600000, default 0
 *	-q bytes	per-player queue bound, 65536..1073741824, default 4 MiB
 *	-s unix:PATH	stats socket: one JSON document per connection
 *	-t seconds	handshake timeout: connect and publish/play must come
 *			within it, 1..3600, default 10
 *	-v		more log lines (counted)
 *	-x bytes	largest message a peer may send, 4096..67108864, default 16 MiB
 *	-h, -V		usage, version (server_option() says which; the
 *			program prints)
 * Listen addresses are the program's operands (url.h's listen syntax,
 * up to SERVER_ADDRESSES_MAX): server_add_address().  With none given and
 * systemd's sockets passed (net_listen_fds()), those are used instead.
 * With neither, server_init() fails (RTMP_EINVAL, "no listen address"),
 * unless the program set listeners_optional: then the server runs with no
 * listener at all (rtmp-relay restreaming only), server_listeners() says
 * 0, and the program decides whether that makes sense.
 *
 * Running: server_init() makes the loop, the TLS context, the listeners,
 * the stats socket and the signal handlers, and returns 0 or a negative
 * RTMP_E* with the reason in err.  server_run() runs the loop until the
 * server stops; it returns the status given to server_stop() (0 after
 * SIGTERM/SIGINT).  server_free() releases everything.
 *
 * Service manager: with -P, server_init() takes the pidfile before it
 * binds (a second instance fails there, "already running as pid N") and
 * writes it when start-up is done; server_free() removes it.
 * server_run() sends systemd READY=1 (notify.h) once the listeners
 * accept, server_stop() STOPPING=1.  The process title (service.h; the
 * program calls service_title_init() first in main) follows the sessions
 * with publish or play accepted, or events->title.
 *
 * Sessions: every accepted connection is a struct server_session wrapping
 * a peer (peer.h, server role).  The frame answers connect itself after
 * checking the app name, and checks the stream name of publish and play
 * (server_name_valid()); a name that fails is refused (BadName /
 * StreamNotFound), logged escaped, and never reaches the program.  Every
 * other session event goes to events->event; on PUBLISH and PLAY the
 * session's app, stream and query are already filled in, and the program
 * gives its verdict with server_session_accept() or server_session_reject()
 * then or later (an asynchronous authorisation hook): until a verdict the
 * session is still under the handshake deadline.
 *
 * PROXY: with -p every accepted connection must first send a PROXY
 * header (proxy.h), read by proxyread.h within the handshake timeout
 * before anything else (TLS included); it counts against max clients
 * meanwhile.  The session's address (logs, stats, server_session_address())
 * is then the client the header names; LOCAL and UNKNOWN (a balancer's
 * own check) keep the socket's.  A connection without a valid header is
 * closed with a log line "peer ADDRESS: PROXY header: REASON: closed"
 * (one that hangs up at once only with -v).  Raw connections get the
 * header's proxy_info in events->accept.
 *
 * Deadlines: a connection that has not had a publish or play accepted
 * within the handshake timeout is closed ("handshake timeout").  After
 * that a session with nothing read and nothing written for the idle
 * timeout is closed ("idle").  At max clients the listeners pause (new
 * connections wait in the kernel's backlog) and resume below it.
 *
 * Signals: SIGTERM and SIGINT stop accepting: the listening sockets are
 * closed (connections still in the backlog are refused rather than reset
 * at exit, and a replacement can bind the port while the sessions drain;
 * server_listeners() is 0 from then on), connections still sending their
 * PROXY header are closed.  Then events->stopping is called so the
 * program can end its own work, and every session finished (peer_finish());
 * when the last one (raw connections included) is gone, or
 * SERVER_STOP_GRACE_MS (o->stop_grace_ms) later, server_run() returns 0.
 * SIGHUP reopens the log, loads -C/-K again (connections accepted from
 * then on get the renewed certificate, those before keep theirs; a pair
 * that does not load is logged and the old one stays), then calls
 * events->hangup.  SIGUSR1 logs
 * events->stats's JSON (see Stats: in pieces when it is longer than a log
 * line).  SIGCHLD and others are the program's (loop_signal()).
 *
 * Stats: -s unix:PATH answers each connection with the JSON document
 * events->stats appends to a buffer capped at SERVER_STATS_MAX, then
 * closes.  SIGUSR1 logs the same document, built under SERVER_STATS_LOG_MAX,
 * as one line "stats {...}" when it fits LOG_LINE_MAX, else as lines
 * "stats N/M ..." whose texts, joined in order, are the document.
 * server_json_string() appends a quoted, escaped JSON string.
 * server_json_input() appends "uptime_seconds" and the "input" object of
 * a struct server_input the program feeds every tag it takes in
 * (server_input_tag(): codecs from the tag headers, E-RTMP FourCC
 * included; the bitrate over the last SERVER_RATE_SECONDS; the state:
 * "waiting" before the first tag, "live", "paused" after
 * SERVER_INPUT_PAUSED_MS without one, "ended" after server_input_end()).
 * server_json_client() appends one element of a "players" or "publishers"
 * array; a document that would outgrow its cap ends its list early
 * (RTMP_ESPACE from server_json_client(): say so in the document) rather
 * than fail whole.
 *
 * Metrics: -M ADDRESS (url.h's listen syntax) serves the Prometheus text
 * document (metrics.h) over HTTP (scrape.h), built at every scrape under
 * SCRAPE_DOCUMENT_MAX: first the families every server has, the same in
 * every program so that one dashboard serves them all:
 *	rtmpkit_build_info{program,version}	gauge, 1
 *	process_start_time_seconds		gauge, the Unix time at start
 *	rtmpkit_connections			gauge, what counts against -m:
 *						sessions, raw connections, PROXY
 *						headers being read
 *	rtmpkit_connections_accepted_total	counter
 *	rtmpkit_received_bytes_total		counter, from clients: every session
 *	rtmpkit_sent_bytes_total		counter, to them; ended sessions' kept,
 *						events->raw_bytes's added
 *	rtmpkit_player_skips_total		counter, players' queues skipped ahead
 *	rtmpkit_players_dropped_total		counter, players closed over a limit
 *						(RTMP_ELIMIT: the slow-player policy)
 *	rtmpkit_players{stream}			gauge, players now by "app/stream"
 *	rtmpkit_publishers{stream}		gauge, publishers now
 * then events->metrics's, then rtmpkit_metrics_dropped_samples (gauge:
 * samples of this document left out under its cap, metrics.h).
 * server_metrics_input() writes a struct server_input's families.  The
 * -M listener closes with the others at SIGTERM.
 *
 * Names: server_name_valid() is the rule both servers apply to app and
 * stream names: 1..SERVER_NAME_MAX bytes of letters, digits and "-_.",
 * not starting with '.'.  server_escape() shows hostile bytes safely in a
 * log line: quoted, with '"', '\\', controls and non-ASCII bytes as \xNN.
 *
 * Memory: sessions belong to the frame; the program may hang its own
 * state on server_session_set_arg() and must drop it in events->closed,
 * after which the session is freed.  Strings returned are valid while the
 * session lives.
 */
#ifndef RTMPKIT_SERVER_H
#define RTMPKIT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rtmp.h"

#define SERVER_OPTIONS		"C:c:hI:K:L:M:m:P:pQ:q:s:t:Vvx:"
#define SERVER_ADDRESSES_MAX	16
#define SERVER_NAME_MAX		128
#define SERVER_QUERY_MAX	512
/* server_escape() output for any input, quotes and "..." included. */
#define SERVER_ESCAPED_MAX	(4 * 64 + 8)
#define SERVER_STOP_GRACE_MS	3000
#define SERVER_STATS_MAX	(1u << 20)	/* largest stats document */
#define SERVER_STATS_LOG_MAX	(64u << 10)	/* the same, logged on SIGUSR1 */
#define SERVER_JSON_CLIENT_MAX	2560	/* one server_json_client() element, at most */
#define SERVER_JSON_TAIL	1024	/* room kept for what follows a list */
#define SERVER_INPUT_PAUSED_MS	2000	/* no tag for this long: "paused" */
#define SERVER_RATE_SECONDS	5	/* kbit_s: bytes of the last seconds */
#define SERVER_METRICS_TAIL	4096	/* room kept for the last families */

/* server_option() results besides 0 (not ours), 1 (taken) and RTMP_EINVAL. */
#define SERVER_OPTION_HELP	2
#define SERVER_OPTION_VERSION	3

struct server_options {
	const char	*addresses[SERVER_ADDRESSES_MAX];
	size_t		 naddresses;
	const char	*cert_file;		/* -C */
	const char	*key_file;		/* -K */
	uint32_t	 chunk_size;		/* -c */
	uint32_t	 idle_timeout_ms;	/* -I, given in seconds */
	const char	*log_file;		/* -L; NULL: stderr */
	const char	*metrics_address;	/* -M */
	uint32_t	 max_message;		/* -x */
	uint32_t	 max_clients;		/* -m */
	const char	*pid_file;		/* -P */
	int		 proxy;			/* -p: a PROXY header first */
	uint32_t	 queue_ms;		/* -Q */
	size_t		 queue_bytes;		/* -q */
	const char	*stats_path;		/* -s, without "unix:" */
	uint32_t	 handshake_timeout_ms;	/* -t, given in seconds */
	int		 verbose;		/* -v */
	/* Set by the program: no address and no systemd socket is no error. */
	int		 listeners_optional;
	/* Set by the program: how long SIGTERM waits; 0 SERVER_STOP_GRACE_MS. */
	uint32_t	 stop_grace_ms;
};

struct metrics;
struct proxy_info;
struct server;
struct server_session;
struct tls;

/* The stream a server takes in, for its stats (server_input_*). */
struct server_input {
	uint64_t	 first_ms;	/* loop_now() of the first tag, 0 none yet */
	uint64_t	 last_ms;	/* of the latest tag */
	uint64_t	 tags;		/* audio, video and data */
	uint64_t	 bytes;		/* their payloads */
	int		 ended;
	int		 video;		/* enum flv_codec of the latest, 0 none */
	int		 audio;
	/* Bytes per second of the clock, a ring of the last seconds. */
	uint64_t	 second[SERVER_RATE_SECONDS];
	uint64_t	 second_bytes[SERVER_RATE_SECONDS];
};

/* What server_json_client() shows of a player or publisher besides the session's. */
struct server_client_stats {
	uint64_t	 bytes;		/* media bytes: out to a player, in from a publisher */
	uint64_t	 outq;		/* bytes queued for it (player) or from it (publisher) */
	uint64_t	 skips;		/* times it was skipped ahead to a keyframe */
	const struct server_input *input;	/* a publisher's stream; NULL: none shown */
};

enum server_role {
	SERVER_ROLE_NONE = 0,		/* no publish or play accepted yet */
	SERVER_ROLE_PUBLISHER,
	SERVER_ROLE_PLAYER,
};

struct server_events {
	/* A session event (rtmp.h) past the frame's checks; views as in peer.h. */
	void	(*event)(struct server_session *, const struct rtmp_event *, void *arg);
	/* peer.h's `drained`: a paused fan-out may go on. */
	void	(*drained)(struct server_session *, void *arg);
	/* The session ended; it is freed when this returns. */
	void	(*closed)(struct server_session *, int error, const char *reason,
		    void *arg);
	/* Append one JSON document (an object) to out: 0 or RTMP_E*. */
	int	(*stats)(struct server *, struct buf *out, void *arg);
	/* SIGTERM/SIGINT: sessions are about to be finished. */
	void	(*stopping)(struct server *, void *arg);
	/*
	 * Raw connections (rtmp-balance forwards bytes it does not parse):
	 * when set, every accepted connection goes here instead of becoming a
	 * session, its fd and struct tls (NULL: plain) the program's from then
	 * on.  It counts against max clients, and SIGTERM waits for it, until
	 * the program calls server_raw_closed() (from here too, if it gives up
	 * at once).  With -p, address is the one the PROXY header named and
	 * proxy the header (valid during the call); NULL without -p.  Never
	 * call server_stop() from here: the listener is inside its accept.
	 */
	void	(*accept)(struct server *, int fd, struct tls *, const char *address,
		    const struct proxy_info *proxy, void *arg);
	/* SIGHUP, after the log was reopened (re-read the program's files). */
	void	(*hangup)(struct server *, void *arg);
	/*
	 * The process title's text after the command line; NULL: the frame's
	 * "N publishers, N players: app/stream ...".  Called at most every
	 * SERVER_TITLE_DELAY_MS after server_title_changed().
	 */
	void	(*title)(struct server *, char *text, size_t size, void *arg);
	/* -M: the program's own metric families (metrics.h): 0 or RTMP_E*. */
	int	(*metrics)(struct server *, struct metrics *, void *arg);
	/*
	 * -M: the raw connections' bytes so far, from the clients (in) and
	 * to them (out), ended ones included: the frame cannot see them.
	 */
	void	(*raw_bytes)(struct server *, uint64_t *in, uint64_t *out, void *arg);
};

void	 server_options_init(struct server_options *);
/* 0 not a server option, 1 taken, SERVER_OPTION_HELP/_VERSION, RTMP_EINVAL. */
int	 server_option(struct server_options *, int ch, const char *arg,
	    char *err, size_t errsize);
/*
 * What a program's getopt loop makes of server_option()'s result rc for
 * a letter it does not take itself, the same in every server: -1 taken,
 * go on; else the exit status: 0 after -h (usage()) or -V ("NAME
 * VERSION" on stdout), 2 after a bad value ("NAME: err" on stderr, then
 * usage()) or a letter nobody takes (usage()).
 */
int	 server_option_status(int rc, const char *name, const char *err,
	    void (*usage)(void));
/* A listen address operand: 0, or RTMP_EINVAL (bad syntax, too many). */
int	 server_add_address(struct server_options *, const char *address,
	    char *err, size_t errsize);
/* After parsing: -C without -K and the like.  0 or RTMP_EINVAL. */
int	 server_options_check(const struct server_options *, char *err,
	    size_t errsize);

/* o is copied (its strings must outlive the server). */
int	 server_init(struct server **, const struct server_options *o,
	    const struct server_events *, void *arg, char *err, size_t errsize);
int	 server_run(struct server *);
void	 server_free(struct server *);
/* Stop accepting, finish every session, return status from server_run(). */
void	 server_stop(struct server *, int status);
int	 server_stopping(const struct server *);
struct loop *server_loop(struct server *);
const struct server_options *server_get_options(const struct server *);
size_t	 server_sessions(const struct server *);
uint64_t server_accepted(const struct server *);
/* How many listeners there are (addresses or systemd's sockets). */
size_t	 server_listeners(const struct server *);
/* The TCP port of the n-th listener (0 for unix), for tests and logs. */
uint16_t server_port(const struct server *, size_t n);
/* What the process title shows has changed (the frame sees its own sessions). */
void	 server_title_changed(struct server *);
/* A raw connection given to events->accept has ended. */
void	 server_raw_closed(struct server *);
/* Raw connections open now. */
size_t	 server_raw(const struct server *);
/* Walk the sessions: first, then next until NULL (stats). */
struct server_session *server_first(struct server *);
struct server_session *server_next(struct server_session *);

/* Verdicts on a PUBLISH or PLAY the program was given; 0 or RTMP_E*. */
int	 server_session_accept(struct server_session *);
int	 server_session_reject(struct server_session *, const char *description);
/*
 * Stop or resume reading from the session (back pressure, peer.h): a
 * session the program paused is never closed as idle, since its silence
 * is ours.
 */
void	 server_session_pause_input(struct server_session *, int paused);
/* End the session: finish (polite, error 0) or close now. */
void	 server_session_finish(struct server_session *);
void	 server_session_close(struct server_session *, int error, const char *reason);

struct peer *server_session_peer(struct server_session *);
struct server *server_session_server(struct server_session *);
void	 server_session_set_arg(struct server_session *, void *);
void	*server_session_arg(const struct server_session *);
enum server_role server_session_role(const struct server_session *);
/* 1 while a PUBLISH or PLAY waits for the program's verdict. */
int	 server_session_pending(const struct server_session *);
const char *server_session_address(const struct server_session *);
const char *server_session_app(const struct server_session *);	/* "" before connect */
const char *server_session_stream(const struct server_session *);	/* "" before publish/play */
const char *server_session_query(const struct server_session *);	/* after '?', "" none */
/* "app/stream" for log lines and keys; "" before publish/play. */
const char *server_session_path(const struct server_session *);
uint64_t server_session_started(const struct server_session *);	/* loop_now() at accept */

/* Pure parts, tested by test_server. */
int	 server_name_valid(const char *name, size_t len);
/*
 * Split a publish/play name "stream?query" and check the stream part:
 * 0 with both NUL-terminated, RTMP_EINVAL if the name is invalid or does
 * not fit.
 */
int	 server_stream_split(const uint8_t *name, size_t len, char *stream,
	    size_t streamsize, char *query, size_t querysize);
/*
 * The value of key in a query string "a=1&key=abc": 1 with it copied
 * (NUL-terminated, not decoded), 0 if absent, RTMP_ESPACE if too long.
 */
int	 server_query_value(const char *query, const char *key, char *out,
	    size_t outsize);
/* Quoted, escaped, at most 64 input bytes then "..."; always NUL-terminated. */
void	 server_escape(const uint8_t *s, size_t len, char *out, size_t outsize);
/* Append "s" as a JSON string: 0 or RTMP_ENOMEM/RTMP_ELIMIT. */
int	 server_json_string(struct buf *, const char *s);
/*
 * Append a session's members for a stats object, without the braces:
 * "address", "app", "stream", "bytes_in", "bytes_out", "seconds", "tls".
 */
int	 server_json_session(struct buf *, const struct server_session *);
/*
 * One array element: "," unless first, then {server_json_session's
 * members, "bytes", "outq", "skips", and "input" when c->input is set}.
 * RTMP_ESPACE, with nothing appended, when the element might not leave
 * SERVER_JSON_TAIL bytes under the buffer's cap; else 0 or RTMP_E*.
 */
int	 server_json_client(struct buf *, const struct server_session *,
	    const struct server_client_stats *c, int first);
/*
 * Append "name":[...],"name_truncated":bool: an element for each session
 * get() fills in and returns 1 for (0: not listed), until the buffer's
 * cap would be too near (then the list is cut, truncated true).
 */
int	 server_json_clients(struct buf *, struct server *, const char *name,
	    int (*get)(struct server_session *, struct server_client_stats *, void *),
	    void *arg);
/*
 * Append "uptime_seconds":N,"input":{"state","kbit_s","video","audio",
 * "tags","bytes","ended"} (codecs as flv_codec_name(), null when none seen).
 */
int	 server_json_input(struct buf *, const struct server *,
	    const struct server_input *);
uint64_t server_uptime_ms(const struct server *);
/*
 * -M: rtmpkit_input_tags_total, rtmpkit_input_bytes_total (counters) and
 * rtmpkit_input_live (gauge, 1 while tags arrive) of in.  0 or RTMP_E*.
 */
int	 server_metrics_input(struct metrics *, const struct server *,
	    const struct server_input *);
/* The -M address's TCP port (0: none, or unix), for tests and logs. */
uint16_t server_metrics_port(const struct server *);

/* Input tracking for the stats: pure, the caller passes the time. */
void	 server_input_tag(struct server_input *, uint64_t now_ms, uint8_t type,
	    const uint8_t *payload, size_t len);
void	 server_input_end(struct server_input *);
/* "waiting", "live", "paused" or "ended". */
const char *server_input_state(const struct server_input *, uint64_t now_ms);
/* kbit/s over the last SERVER_RATE_SECONDS (or since the first tag). */
uint64_t server_input_kbit_s(const struct server_input *, uint64_t now_ms);

#endif
