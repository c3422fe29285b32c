/*
 * loop.h: an epoll event loop with a timer heap, before-sleep hook and
 * signals through signalfd (the shape of redis ae).
 *
 * File descriptors: one registration per fd, level-triggered.  The
 * callback gets the ready bits: LOOP_READ and/or LOOP_WRITE among those
 * registered; an error or hang-up arrives as LOOP_ERROR together with every
 * registered direction, so the handler meets the error in read(2) or
 * write(2).  Registering an fd with no events keeps its registration but
 * takes it out of epoll, so a hung-up peer cannot spin the loop while the
 * program is not interested.  A callback may add, modify or remove any
 * fd, its own included: an event already collected for an fd that was
 * removed (or removed and re-added) during this iteration is dropped.
 * Call loop_remove() before close(2).  The loop never closes fds.
 *
 * Timers: loop_timer() returns a non-zero id; the callback returns the
 * next delay in ms (the same id stays valid) or LOOP_TIMER_STOP.  Timers
 * due at the same time fire in the order they were armed.  A callback may
 * cancel itself or any other timer; a cancelled timer never fires again,
 * even if it was due in the same iteration.  Cancelling an id that already
 * fired its last time (or was never issued) does nothing.  A timer armed
 * from a callback fires in a later iteration at the earliest, so a zero
 * delay cannot starve the fds.  Delays count from loop_now().
 *
 * Time: loop_now() is CLOCK_MONOTONIC in ms, read once per iteration after
 * epoll_wait(2) returns, so every callback of one iteration sees the same
 * value.
 *
 * Signals: loop_signal() blocks the signal with sigprocmask(2) and reads it
 * from a signalfd, so the callback runs as a plain callback (log, reopen,
 * waitpid) rather than in a signal handler.  Signals coalesce: on SIGCHLD,
 * reap with waitpid(-1, ..., WNOHANG) until it returns 0.  The mask is
 * inherited through fork and exec: a child must call loop_unblock_signals()
 * (or set its own mask) before exec.  Single-threaded only.
 *
 * Errors: functions return 0 or RTMP_ENOMEM / RTMP_EINVAL / RTMP_ESYS.
 */
#ifndef RTMPKIT_LOOP_H
#define RTMPKIT_LOOP_H

#include <stdint.h>

#define LOOP_READ	0x01
#define LOOP_WRITE	0x02
#define LOOP_ERROR	0x04	/* only in ready bits given to callbacks */

#define LOOP_TIMER_STOP	0

struct loop;

typedef void	 (*loop_fd_cb)(struct loop *, int fd, int events, void *arg);
typedef uint64_t (*loop_timer_cb)(struct loop *, uint64_t id, void *arg);
typedef void	 (*loop_signal_cb)(struct loop *, int signo, void *arg);
typedef void	 (*loop_sleep_cb)(struct loop *, void *arg);

struct loop	*loop_new(void);		/* NULL when out of memory or fds */
/* Closes the loop's own fds, restores the signal mask; not others' fds. */
void		 loop_free(struct loop *);

/* RTMP_EINVAL if fd is negative or already registered. */
int		 loop_add(struct loop *, int fd, int events, loop_fd_cb cb,
		    void *arg);
int		 loop_modify(struct loop *, int fd, int events);
/* RTMP_EINVAL if fd is not registered. */
int		 loop_remove(struct loop *, int fd);

/* 0 only when out of memory. */
uint64_t	 loop_timer(struct loop *, uint64_t delay_ms, loop_timer_cb cb,
		    void *arg);
void		 loop_timer_cancel(struct loop *, uint64_t id);

/* One hook, called before every wait (NULL clears it); replaces the old. */
void		 loop_before_sleep(struct loop *, loop_sleep_cb cb, void *arg);

/* cb NULL stops handling signo and unblocks it. */
int		 loop_signal(struct loop *, int signo, loop_signal_cb cb,
		    void *arg);
/* Unblock the loop's signals, for a child between fork and exec. */
void		 loop_unblock_signals(struct loop *);

uint64_t	 loop_now(struct loop *);

/* Run until loop_stop(); 0, or RTMP_ESYS if epoll_wait(2) failed. */
int		 loop_run(struct loop *);
/*
 * One iteration: before-sleep hook, wait at most max_wait_ms (-1: until
 * an fd or a timer), fd callbacks, due timers.  Returns the number of
 * callbacks run, or RTMP_ESYS.
 */
int		 loop_once(struct loop *, int max_wait_ms);
void		 loop_stop(struct loop *);

#endif
