/*
 * scrape.h: the HTTP side of a server's -M address: Prometheus scrapes
 * GET /metrics and gets the document the owner builds (metrics.h's text).
 *
 * One listener on the loop (url.h's listen syntax: ":9102",
 * "127.0.0.1:9102", "[::1]:9102", "unix:PATH").  Per connection: the
 * request head is read up to SCRAPE_HEAD_MAX bytes within SCRAPE_HEAD_MS,
 * answered once, and the connection closed (Connection: close, no
 * keep-alive: Prometheus opens a connection per scrape as readily).
 *
 *	GET or HEAD /metrics[?...]	200, the document (HEAD: its length only),
 *					Content-Type METRICS_CONTENT_TYPE
 *	another path			404
 *	another method on /metrics	405, Allow: GET, HEAD
 *	not HTTP/1.x			400 (505 for another HTTP version)
 *	no complete head within
 *	SCRAPE_HEAD_MAX bytes		431
 *	too slow			408 if it sent anything, else closed
 *	the document failed		500
 *
 * Bounds: SCRAPE_CONNS_MAX connections at once.  One more arriving when
 * all are taken pushes out the oldest still reading its head, after one
 * last read (a burst of real scrapes is answered, not pushed out), or
 * else the oldest answered already; so idle or slow connections
 * (slowloris) cannot keep a real scrape out.  While every one is being
 * written to, the listener pauses and new ones wait in the backlog.  The document is built under SCRAPE_DOCUMENT_MAX bytes (the
 * owner's builder sees a struct buf with that limit), and the answer
 * must be written, and the client's close awaited, within SCRAPE_ANSWER_MS.
 * A garbage request line is answered as soon as its first bad byte comes.
 *
 * Logging: a connection closed for the client's doing (an error status,
 * a timeout, pushed out, hung up) is logged at debug level only (-v), so a
 * port scanner cannot flood the log; a failure of ours is a warning.  The
 * scrape never touches anything but its own connections.
 *
 * Errors: scrape_new() returns NULL with why in err ("listen ...: ...").
 * A unix socket is removed again by scrape_free().
 */
#ifndef RTMPKIT_SCRAPE_H
#define RTMPKIT_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SCRAPE_HEAD_MAX		4096
#define SCRAPE_HEAD_MS		5000
#define SCRAPE_ANSWER_MS	10000
#define SCRAPE_LINGER_MS	1000	/* after the answer: wait for the client's close */
#define SCRAPE_CONNS_MAX	16
#define SCRAPE_DOCUMENT_MAX	(1u << 20)

struct loop;
struct scrape;

/* Append the document to out: 0 or RTMP_E* (a 500). */
typedef int	(*scrape_document_cb)(struct buf *out, void *arg);

struct scrape	*scrape_new(struct loop *, const char *address, scrape_document_cb,
		    void *arg, char *err, size_t errsize);
void		 scrape_free(struct scrape *);
/* The address as given, and the TCP port bound (0 for unix). */
const char	*scrape_address(const struct scrape *);
uint16_t	 scrape_port(const struct scrape *);

/*
 * Pure, tested by test_scrape: the request head in p[0..len) (what was
 * read so far, at most SCRAPE_HEAD_MAX bytes).  0: need more; else the
 * HTTP status to answer, *head_only set for HEAD.
 */
int		 scrape_parse(const uint8_t *p, size_t len, int *head_only);

#endif
