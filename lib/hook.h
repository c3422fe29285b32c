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
 * hook_spawn() forks; the child unblocks the loop's signals, restores
 * SIGPIPE, takes `in` as its stdin and `out` (unless -1) as its stdout,
 * and execs.  Every other descriptor rtmpkit opens is close-on-exec, so a
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

struct hooks	*hooks_new(struct loop *);	/* NULL when out of memory */
/* Kills what is still running (SIGKILL); `done` is not called. */
void	 hooks_free(struct hooks *);
/* After waitpid(): 1 if pid was one of hook_ask()'s (done called), else 0. */
int	 hook_reaped(struct hooks *, pid_t pid, int status);

typedef void (*hook_done_cb)(void *arg, int allowed, const char *why);
/* NULL with errno when the command cannot be started. */
struct hook_ask	*hook_ask(struct hooks *, const char *command, const struct hook_env *,
		    uint32_t timeout_ms, hook_done_cb, void *arg);
void	 hook_forget(struct hook_ask *);

/* 1 allowed, 0 denied with *why, RTMP_ESYS (errno) if the file cannot be read. */
int	 hook_keys_allow(const char *file, const char *path, const char *key,
	    const char **why);
/* 1 if a and b are equal; the time taken depends on a's length only. */
int	 hook_key_equal(const char *a, const char *b);

#endif
