/*
 * hook.h: the operator's commands a server runs for a stream (rtmp-listen's
 * -e and -a): started with /bin/sh -c, the stream described only in the
 * environment, and publish authorisation by key file or by a command's
 * exit status.
 *
 * Environment: RTMP_APP, RTMP_STREAM, RTMP_QUERY, RTMP_ADDR and, when
 * given, RTMP_KEY.  Names reach the shell only as variables, never inside
 * the command string, so a name crafted as shell syntax is data.
 *
 * hook_spawn() starts /bin/sh -c COMMAND with posix_spawn(3): the child
 * has no signal blocked, the default SIGPIPE, `in` as its stdin and `out`
 * (unless -1) as its stdout; no library code runs in it.  Every other descriptor rtmpkit opens is close-on-exec, so a
 * command's stdin reaches its end when the server closes its side.  The
 * parent reaps on SIGCHLD (loop_signal()) and hands each status to
 * hook_reaped().
 *
 * Authorisation: hook_ask() runs a command and calls `done` once with
 * allowed 1 (exit status 0) or 0 and a reason ("auth command exited 1",
 * "auth command timed out": killed after timeout_ms).  The loop goes on
 * meanwhile.  hook_forget() says the asker went away: `done` is not
 * called, the child is still reaped.
 *
 * Feeds: hook_feed_start() runs a command with an FLV on its stdin
 * (flvout.h: bounded, back pressure through `drained`).  `ended` says,
 * once, that the command exited or its stdin failed (EPIPE: it stopped
 * reading); the feed is then unusable and the owner calls
 * hook_feed_close().  hook_feed_close() is the owner's end: stdin closes
 * once what is buffered is written, and the record goes once the command
 * has been reaped; no callback of the feed follows.  Every reaped feed's
 * exit is reported to hooks_new()'s `exited`, with the label it started
 * with, for the log.  hooks_drain() writes out what every feed holds, at
 * exit, for a bounded time.
 *
 * Key files: lines "app/stream key", blank lines and '#' comments
 * ignored; hook_keys_allow() reads the file at every call, so edits apply
 * at once, and compares keys in constant time.
 */
#ifndef RTMPKIT_HOOK_H
#define RTMPKIT_HOOK_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define HOOK_KEYLINE_MAX	1024

struct loop;
struct hooks;
struct hook_ask;

struct hook_env {
	const char	*app;
	const char	*stream;
	const char	*query;
	const char	*addr;
	const char	*key;		/* NULL: RTMP_KEY is not set */
};

/* The child's pid, or -1 with errno. */
pid_t	 hook_spawn(struct loop *, const char *command, int in, int out,
	    const struct hook_env *);

struct hook_feed;

typedef void (*hook_exited_cb)(const char *label, pid_t pid, int status, void *arg);

/* NULL when out of memory.  exited may be NULL. */
struct hooks	*hooks_new(struct loop *, hook_exited_cb exited, void *arg);
/* Kills what is still running (SIGKILL); `done` is not called. */
void	 hooks_free(struct hooks *);
/* After waitpid(): 1 if pid was a hook_ask() or a feed (callbacks called), else 0. */
int	 hook_reaped(struct hooks *, pid_t pid, int status);

typedef void (*hook_done_cb)(void *arg, int allowed, const char *why);
/* NULL with errno when the command cannot be started. */
struct hook_ask	*hook_ask(struct hooks *, const char *command, const struct hook_env *,
		    uint32_t timeout_ms, hook_done_cb, void *arg);
void	 hook_forget(struct hook_ask *);

struct hook_feed_events {
	void	(*drained)(struct hook_feed *, void *arg);
	/* status: waitpid()'s, or -1 when stdin failed (errno set). */
	void	(*ended)(struct hook_feed *, int status, void *arg);
};

/* NULL with errno.  buffer: flvout's high water (0: its default). */
struct hook_feed *hook_feed_start(struct hooks *, const char *command,
		    const struct hook_env *, const char *label, size_t buffer,
		    const struct hook_feed_events *, void *arg);
struct flvout	*hook_feed_flv(struct hook_feed *);
pid_t		 hook_feed_pid(const struct hook_feed *);
/* A new owner (a publisher replacing another) takes the callbacks. */
void		 hook_feed_set_arg(struct hook_feed *, void *arg);
void		 hook_feed_close(struct hook_feed *);
void		 hooks_drain(struct hooks *, int timeout_ms);

/* 1 allowed, 0 denied with *why, RTMP_ESYS (errno) if the file cannot be read. */
int	 hook_keys_allow(const char *file, const char *path, const char *key,
	    const char **why);
/* 1 if a and b are equal; the time taken depends on a's length only. */
int	 hook_key_equal(const char *a, const char *b);

#endif
