/*
 * health.h: the balancer's health checks, a TCP connect to every backend
 * on an interval (relayd's check_tcp, HAProxy's fall and rise), or a
 * whole RTMP connect.
 *
 * Every interval_ms each backend of the set that a reload has not removed
 * gets one probe: a non-blocking connect (backend_connect()).  It
 * succeeds when the connection is established (then closed at once), or
 * with config->rtmp when the backend has also taken an RTMP client
 * through the handshake and connect: the handshake done, a connect to
 * config->app (tcUrl "rtmp://ADDRESS/APP") answered with _result, the
 * server there and serving that application, not only its socket (an
 * nginx-rtmp without the application closes the connection instead).
 * The probe ends at that answer, before createStream; a backend spoken
 * to in TLS is checked by its connect only.  It fails when it is refused
 * or reset, when the answer is no RTMP ("rtmp handshake: not RTMP"), when
 * connect is answered with _error (the code: "rtmp connect:
 * NetConnection.Connect.Rejected") or by a close, or when it is still in
 * progress as the next check is due (a timeout of one interval, also
 * for a server that completes the handshake and never answers connect).
 * health_result() keeps
 * the counts: fall failures in a row take an up backend down, rise
 * successes in a row bring a down one back; `changed` is called on each
 * change, after the backend's state was set, so a log line can say why
 * (b->last_result: "ok", "timeout", "connect: Connection refused").
 * Backends start up: clients flow before the first check, and a backend
 * that is down from the start is found out within fall intervals.
 *
 * The set is the caller's and may change (a reload): a backend is probed
 * through its pointer, so before backend_set_compact() frees one, call
 * health_forget() for it (the `gone` callback).  health_result() is pure
 * and tested on its own.
 */
#ifndef RTMPKIT_HEALTH_H
#define RTMPKIT_HEALTH_H

#include <stdint.h>

#include "backend.h"

#define HEALTH_INTERVAL_MS	2000
#define HEALTH_FALL		3
#define HEALTH_RISE		2
#define HEALTH_APP		"live"
/* As long as an rtmp:// URL's app (url.h). */
#define HEALTH_APP_MAX		256

struct loop;
struct health;

struct health_config {
	uint32_t	 interval_ms;	/* 0: HEALTH_INTERVAL_MS */
	uint32_t	 fall;		/* 0: HEALTH_FALL */
	uint32_t	 rise;		/* 0: HEALTH_RISE */
	int		 rtmp;		/* 1: an RTMP handshake and connect */
	/* rtmp: the application to connect to; "" is HEALTH_APP. */
	char		 app[HEALTH_APP_MAX];
};

struct health_events {
	void	(*changed)(struct backend *, int up, void *arg);
};

/*
 * NULL when out of memory; the first checks start at once.  The config
 * is copied (app cut to HEALTH_APP_MAX - 1 bytes).
 */
struct health	*health_new(struct loop *, struct backend_set *,
		    const struct health_config *, const struct health_events *,
		    void *arg);
void		 health_free(struct health *);
/* b is about to be freed: drop its probe. */
void		 health_forget(struct health *, struct backend *);
/* Count one result (what: why, for b->last_result); 1 if b's state changed. */
int		 health_result(struct backend *, int ok, const char *what,
		    uint32_t fall, uint32_t rise);

#endif
