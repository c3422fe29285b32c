/*
 * client.h: one RTMP client connection run by the event loop.
 *
 * It strings the modules together for the two client programs (and later
 * the relay's upstream pushes): resolve and connect (net.h), TLS for
 * rtmps (tls.h), then the protocol session (rtmp.h) up to a started play
 * or publish, and then media in either direction.  The program supplies
 * policy through callbacks and never sees a socket.
 *
 * Lifetime: client_new() allocates; client_start() begins connecting; the
 * `closed` callback fires exactly once when the connection ends for any
 * reason (the client is then inert and the program calls client_free(),
 * but never from inside one of its own callbacks).  client_free() on a live client
 * closes it without calling `closed`.
 *
 * Deadlines: config.timeout_ms bounds connect + TLS + handshake + the
 * command exchange up to READY as one absolute deadline, and afterwards
 * bounds how long the connection may stay without input (RTMP_ETIMEOUT).
 *
 * Publishing: client_send_media() and client_send_metadata() queue bytes
 * in the session (copied once into chunks); the program keeps the queue
 * short by checking client_can_send() and waiting for `drained`.
 */
#ifndef RTMPKIT_CLIENT_H
#define RTMPKIT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp.h"
#include "url.h"

struct loop;
struct tls_context;
struct client;

struct client_config {
	const struct url	*url;
	int			 publish;
	struct tls_context	*tls;		/* required for rtmps:// */
	uint32_t		 timeout_ms;	/* default 30000 */
	size_t			 low_water;	/* default CLIENT_LOW_WATER */
};

#define CLIENT_LOW_WATER	(256 * 1024)

struct client_events {
	/* Play or publish started. */
	void	(*ready)(struct client *, void *arg);
	/* A media message (play); views valid during the call only. */
	void	(*media)(struct client *, const struct rtmp_event *, void *arg);
	/* Non-error onStatus, Stream Begin/EOF/IsRecorded: ev->type tells which. */
	void	(*status)(struct client *, const struct rtmp_event *, void *arg);
	/* The output queue fell below low_water. */
	void	(*drained)(struct client *, void *arg);
	/*
	 * The connection ended: error is RTMP_ECLOSED for a clean close by
	 * the peer, or another RTMP_E*; reason is a short phrase for a log
	 * line ("connection refused", "tls: certificate verify failed: ...",
	 * "stream not found").
	 */
	void	(*closed)(struct client *, int error, const char *reason, void *arg);
};

struct client	*client_new(struct loop *loop, const struct client_config *config,
		    const struct client_events *events, void *arg);
/* Starts connecting.  RTMP_ERESOLVE or RTMP_ESYS at once; later failures via closed. */
int		 client_start(struct client *c);
void		 client_free(struct client *c);

int		 client_send_media(struct client *c, uint8_t type, uint32_t timestamp,
		    const uint8_t *payload, size_t len);
int		 client_send_metadata(struct client *c, uint32_t timestamp,
		    const uint8_t *payload, size_t len);
/* Polite end of a publish: FCUnpublish + deleteStream, then close when flushed. */
int		 client_finish(struct client *c);
size_t		 client_queued(const struct client *c);
/*
 * 1 while more media may be queued: below low water and the peer's window
 * open.  After it said 0, `drained` fires once when it would say 1 again.
 */
int		 client_can_send(struct client *c);
/* "host:port" as given in the URL, for messages. */
const char	*client_peer(const struct client *c);
/*
 * The protocol session a connection of this config runs, limits and all:
 * what fuzz_rtmp runs too.  The strings point into config->url.
 */
void		 client_session_config(const struct client_config *config,
		    struct rtmp_config *rc);
uint64_t	 client_bytes_in(const struct client *c);
uint64_t	 client_bytes_out(const struct client *c);

/*
 * Policy shared by the client programs.
 *
 * Exit status documented in rtmp-dump(1) and rtmp-pushflv(1): 0 success,
 * 1 failure, 2 usage, 3 refused or not found, 4 TLS, 5 timeout.
 */
#define CLIENT_EXIT_OK		0
#define CLIENT_EXIT_FAILURE	1
#define CLIENT_EXIT_USAGE	2
#define CLIENT_EXIT_REFUSED	3
#define CLIENT_EXIT_TLS		4
#define CLIENT_EXIT_TIMEOUT	5
int		 client_exit_status(int error);

/* Reconnect backoff: 1 s doubling to 30 s; attempts 0 means never retry. */
struct backoff {
	int		 attempts;	/* allowed in a row */
	int		 used;
	uint32_t	 delay_ms;
};
void		 backoff_init(struct backoff *b, int attempts);
/* Next delay in ms, or -1 when the attempts are used up. */
int64_t		 backoff_next(struct backoff *b);
/* A connection got going again: start over. */
void		 backoff_reset(struct backoff *b);

/* "12.3 s  4.1 MB  2630 kbit/s" into out. */
void		 client_progress(char *out, size_t outsize, uint64_t media_ms, uint64_t bytes,
		    uint64_t elapsed_ms);

#endif
