/*
 * peer.h: one RTMP connection on the event loop, either role: the read
 * pump, write interest, a deadline and the single teardown path, for
 * connections a server accepted and for the client's (client.c builds on
 * it once connected).
 *
 * The peer owns the fd (and TLS), the conn, the protocol session and the
 * connection's output queue.  Everything for the peer goes out in the
 * order it was queued: the session's own bytes (answers, control,
 * acknowledgements, media the session chunked) and shared blocks pushed
 * with peer_push() (media chunked once for every player, outq.h).  The
 * session's bytes wait in the session until a block is pushed behind them;
 * then they move into the queue as a block of their own, in front of it.
 * A client that pushes no blocks never copies its output.
 *
 * Writing: peer_flush() writes what is queued now (one writev), and when
 * the socket is full waits for it to drain by itself.  A server calls it
 * for each player it pushed to from loop_before_sleep(), so the messages
 * of one iteration leave in one write.  The peer also flushes after
 * handling input (answers should not wait).
 *
 * Events: every session event (rtmp.h) goes to events->event, with views
 * valid during the call only.  The callback may give verdicts through
 * peer_session(), push, finish, close or free the peer.  `closed` fires
 * exactly once when the connection ends for any reason other than
 * peer_free(): error is RTMP_OK after peer_finish() completed, RTMP_ECLOSED
 * when the other side hung up, else the RTMP_E* that ended it, and reason
 * a short phrase for a log line.  It never fires from inside a call the
 * owner made (peer_push, peer_flush, peer_close...): a failure found there
 * is reported from the loop a moment later, so a server may walk its list
 * of players and push to each without the list changing under it.
 *
 * Deadline: peer_deadline(p, ms) arms one timer; when it fires,
 * events->timeout decides (arm again, close).  peer_last_input() and
 * peer_last_output() are loop_now() of the last bytes read and written,
 * for idle rules.
 *
 * Memory: peer_free() may be called anywhere, inside the peer's own
 * callbacks too; the memory goes when the peer's code has returned.
 */
#ifndef RTMPKIT_PEER_H
#define RTMPKIT_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "media.h"
#include "outq.h"
#include "rtmp.h"

struct loop;
struct tls;
struct peer;

struct peer_config {
	struct rtmp_config	 rtmp;
	size_t			 read_limit;	/* read buffer bound; default 1 MiB */
	/* Output queue bounds (outq.h); default 4 MiB, no time bound, 8 MiB. */
	size_t			 queue_bytes;
	uint32_t		 queue_ms;
	size_t			 queue_hard_bytes;
	size_t			 low_water;	/* `drained` below it; default 256 KiB */
	/*
	 * Keep a copy of every byte read, at most this many (0: none); past
	 * it the peer closes, "too much before the hand-over": see peer_detach().
	 */
	size_t			 record;
};

struct peer_events {
	void	(*event)(struct peer *, const struct rtmp_event *, void *arg);
	/* Queued output fell below low water after peer_can_send() said 0. */
	void	(*drained)(struct peer *, void *arg);
	void	(*timeout)(struct peer *, void *arg);
	void	(*closed)(struct peer *, int error, const char *reason, void *arg);
};

/* NULL when out of memory (fd and tls are then closed and freed). */
struct peer	*peer_new(struct loop *, int fd, struct tls *tls,
		    const struct peer_config *, const struct peer_events *, void *arg);
/* Closes without calling `closed`. */
void		 peer_free(struct peer *);

struct rtmp_session *peer_session(struct peer *);
/*
 * Queue a shared block (the queue takes its own reference).  0 queued,
 * 1 dropped by the slow-player policy, RTMP_ELIMIT when the player is
 * hopeless (the peer closes and `closed` follows), RTMP_ENOMEM.
 */
int		 peer_push(struct peer *, struct media *block);
/* Write what is queued; 0 or, when the connection failed, its error. */
int		 peer_flush(struct peer *);
/*
 * Write what is queued once the loop finds the socket writable.  A
 * producer that queues message after message (a publisher) lets the queue
 * fill to low water and returns to the loop, which also reads what the
 * other side sent meanwhile (acknowledgements); writing at once instead,
 * it might never return to the loop while the socket keeps taking bytes.
 */
void		 peer_flush_later(struct peer *);
/* 1 while below low water (and the peer's window open); else 0, and `drained` is owed. */
int		 peer_can_send(struct peer *);
size_t		 peer_queued(const struct peer *);
const struct outq *peer_queue(const struct peer *);
/*
 * Write what is queued, half-close, and close when the other side hangs up
 * or after linger_ms; `closed` then says RTMP_OK.  Input is read and dropped.
 */
void		 peer_finish(struct peer *, uint32_t linger_ms);
/* End now: `closed` follows with error and reason. */
void		 peer_close(struct peer *, int error, const char *reason);
/* 1 once finishing or closed: nothing more should be queued. */
int		 peer_closing(const struct peer *);
/* Stop or resume reading (back pressure); the deadline goes on. */
void		 peer_pause_input(struct peer *, int paused);
void		 peer_deadline(struct peer *, uint32_t ms);
/*
 * Give the connection to another owner, from inside an event callback
 * too: its fd and TLS, and what was recorded (config.record) moved into
 * *record (an empty buf without it).  The peer is freed as by peer_free()
 * and `closed` never fires.  RTMP_ESTATE while anything is left to
 * write (wait for peer_queued() to be 0): the new owner could not tell
 * where the TLS record being written ends.  Bytes TLS decrypted but
 * nobody read yet stay in the struct tls for its next read.
 */
int		 peer_detach(struct peer *, int *fd, struct tls **tls, struct buf *record);
uint64_t	 peer_last_input(const struct peer *);
uint64_t	 peer_last_output(const struct peer *);
uint64_t	 peer_bytes_in(const struct peer *);
uint64_t	 peer_bytes_out(const struct peer *);
int		 peer_fd(const struct peer *);
int		 peer_tls(const struct peer *);

#endif
