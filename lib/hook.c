/*
 * hook.c: operator commands per stream, and publish authorisation.
 * See hook.h.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "flvout.h"
#include "hook.h"
#include "loop.h"

extern char **environ;

struct hook_ask {
	struct hooks	*hooks;
	struct hook_ask	*next;
	pid_t		 pid;
	uint64_t	 timer;
	int		 timed_out;
	hook_done_cb	 done;		/* NULL once forgotten */
	void		*arg;
};

struct hook_feed {
	struct hooks	*hooks;
	struct hook_feed *next;
	struct flvout	 flv;
	int		 fd;		/* our end of the command's stdin, -1 closed */
	pid_t		 pid;		/* 0 once reaped */
	int		 closed;	/* the owner is done */
	int		 ended;		/* `ended` was called */
	struct hook_feed_events events;
	void		*arg;
	char		 label[256];
};

struct hooks {
	struct loop	*loop;
	struct hook_ask	*asks;
	struct hook_feed *feeds;
	hook_exited_cb	 exited;
	void		*arg;
};

/* The environment's entries, less those named in ours, then ours: NULL on ENOMEM. */
static char **
hook_environment(char *own[5], size_t nown)
{
	char		**envp;
	size_t		  n = 0, i, k;

	while (environ[n] != NULL)
		n++;
	if ((envp = calloc(n + nown + 1, sizeof(*envp))) == NULL)
		return NULL;
	for (i = 0, k = 0; i < n; i++)
		if (strncmp(environ[i], "RTMP_", 5) != 0)
			envp[k++] = environ[i];
	for (i = 0; i < nown; i++)
		envp[k++] = own[i];
	envp[k] = NULL;
	return envp;
}

/*
 * posix_spawn(3), not fork and exec: nothing of ours runs in the child, so
 * no code path of the library ends a process.  The child gets no blocked
 * signals (the loop blocks the ones it reads from a signalfd) and the
 * default SIGPIPE (the servers ignore it), the stream only in its
 * environment, never in the command line.
 */
pid_t
hook_spawn(struct loop *loop, const char *command, int in, int out,
    const struct hook_env *env)
{
	posix_spawn_file_actions_t	 actions;
	posix_spawnattr_t		 attr;
	sigset_t			 none, pipe;
	char				*own[5], **envp = NULL;
	char				*argv[] = { "sh", "-c", (char *)command, NULL };
	size_t				 nown = 0, i;
	pid_t				 pid = -1;
	int				 rc;

	(void)loop;
	if (asprintf(&own[nown++], "RTMP_APP=%s", env->app) < 0 ||
	    asprintf(&own[nown++], "RTMP_STREAM=%s", env->stream) < 0 ||
	    asprintf(&own[nown++], "RTMP_QUERY=%s", env->query) < 0 ||
	    asprintf(&own[nown++], "RTMP_ADDR=%s", env->addr) < 0 ||
	    (env->key != NULL && asprintf(&own[nown++], "RTMP_KEY=%s", env->key) < 0)) {
		nown--;		/* the one that failed holds nothing */
		goto out;
	}
	if ((envp = hook_environment(own, nown)) == NULL)
		goto out;
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
	if (out >= 0)
		posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &pipe);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		pid = -1;
	}
out:
	for (i = 0; i < nown; i++)
		free(own[i]);
	free(envp);
	return pid;
}

struct hooks *
hooks_new(struct loop *loop, hook_exited_cb exited, void *arg)
{
	struct hooks	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	h->exited = exited;
	h->arg = arg;
	return h;
}

/* Closes stdin once written out; frees once reaped too. */
static void
hook_feed_release(struct hook_feed *f)
{
	struct hook_feed **pp;

	if (f->fd >= 0) {
		if (flvout_pending(&f->flv) > 0 && !f->flv.failed) {
			f->flv.notify_empty = 1;
			return;
		}
		flvout_free(&f->flv);
		close(f->fd);
		f->fd = -1;
	}
	if (f->pid != 0)
		return;
	for (pp = &f->hooks->feeds; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	free(f);
}

static void
hook_feed_end(struct hook_feed *f, int status)
{
	if (f->closed || f->ended)
		return;
	f->ended = 1;
	if (f->events.ended != NULL)
		f->events.ended(f, status, f->arg);
}

static void
hook_feed_drained(struct flvout *o, void *arg)
{
	struct hook_feed *f = arg;

	(void)o;
	if (f->closed) {
		hook_feed_release(f);
		return;
	}
	if (f->events.drained != NULL)
		f->events.drained(f, f->arg);
}

static void
hook_feed_failed(struct flvout *o, void *arg)
{
	struct hook_feed *f = arg;

	errno = o->failed;
	if (f->closed) {
		hook_feed_release(f);
		return;
	}
	hook_feed_end(f, -1);
}

struct hook_feed *
hook_feed_start(struct hooks *h, const char *command, const struct hook_env *env,
    const char *label, size_t buffer, const struct hook_feed_events *events, void *arg)
{
	struct hook_feed *f;
	int		 p[2], saved;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(f);
		return NULL;
	}
	if ((f->pid = hook_spawn(h->loop, command, p[0], -1, env)) < 0) {
		saved = errno;
		close(p[0]);
		close(p[1]);
		free(f);
		errno = saved;
		return NULL;
	}
	close(p[0]);
	/* Only our end: the command reads its stdin as it likes. */
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	f->hooks = h;
	f->fd = p[1];
	f->events = *events;
	f->arg = arg;
	strlcpy(f->label, label, sizeof(f->label));
	flvout_init(&f->flv, h->loop, f->fd, buffer, hook_feed_drained, hook_feed_failed, f);
	f->next = h->feeds;
	h->feeds = f;
	return f;
}

struct flvout *
hook_feed_flv(struct hook_feed *f)
{
	return &f->flv;
}

pid_t
hook_feed_pid(const struct hook_feed *f)
{
	return f->pid;
}

void
hook_feed_set_arg(struct hook_feed *f, void *arg)
{
	f->arg = arg;
}

void
hook_feed_close(struct hook_feed *f)
{
	if (f->closed)
		return;
	f->closed = 1;
	if (f->fd >= 0)
		flvout_flush(&f->flv);
	hook_feed_release(f);
}

void
hooks_drain(struct hooks *h, int timeout_ms)
{
	struct hook_feed *f;
	int		 waited, left;

	for (waited = 0; waited < timeout_ms; waited += 50) {
		left = 0;
		for (f = h->feeds; f != NULL; f = f->next)
			if (f->fd >= 0 && flvout_flush(&f->flv) == 0 &&
			    flvout_pending(&f->flv) > 0)
				left = 1;
		if (!left)
			break;
		poll(NULL, 0, 50);
	}
}

static void
hook_unlink(struct hook_ask *a)
{
	struct hook_ask	**pp;

	for (pp = &a->hooks->asks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	if (a->timer != 0)
		loop_timer_cancel(a->hooks->loop, a->timer);
}

void
hooks_free(struct hooks *h)
{
	struct hook_ask	*a;
	struct hook_feed *f;

	if (h == NULL)
		return;
	while ((a = h->asks) != NULL) {
		kill(a->pid, SIGKILL);
		hook_unlink(a);
		free(a);
	}
	/* Commands go on by themselves, reading to their EOF. */
	while ((f = h->feeds) != NULL) {
		h->feeds = f->next;
		if (f->fd >= 0) {
			flvout_free(&f->flv);
			close(f->fd);
		}
		free(f);
	}
	free(h);
}

static uint64_t
hook_timeout(struct loop *loop, uint64_t id, void *arg)
{
	struct hook_ask	*a = arg;

	(void)loop;
	(void)id;
	a->timer = 0;
	a->timed_out = 1;
	kill(a->pid, SIGKILL);
	return LOOP_TIMER_STOP;
}

struct hook_ask *
hook_ask(struct hooks *h, const char *command, const struct hook_env *env,
    uint32_t timeout_ms, hook_done_cb done, void *arg)
{
	struct hook_ask	*a;
	int		 null, saved;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	/* Its stdout must not mix into ours, which may be the FLV. */
	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
	    (a->pid = hook_spawn(h->loop, command, null, STDERR_FILENO, env)) < 0) {
		saved = errno;
		if (null >= 0)
			close(null);
		free(a);
		errno = saved;
		return NULL;
	}
	close(null);
	a->hooks = h;
	a->done = done;
	a->arg = arg;
	a->timer = loop_timer(h->loop, timeout_ms, hook_timeout, a);
	a->next = h->asks;
	h->asks = a;
	return a;
}

void
hook_forget(struct hook_ask *a)
{
	a->done = NULL;
}

int
hook_reaped(struct hooks *h, pid_t pid, int status)
{
	struct hook_ask	*a;
	struct hook_feed *f;
	char		 why[64];

	for (f = h->feeds; f != NULL && f->pid != pid; f = f->next)
		;
	if (f != NULL) {
		f->pid = 0;
		if (h->exited != NULL)
			h->exited(f->label, pid, status, h->arg);
		/* Closed already: it waited for this.  Else its owner closes it. */
		if (f->closed)
			hook_feed_release(f);
		else
			hook_feed_end(f, status);
		return 1;
	}
	for (a = h->asks; a != NULL && a->pid != pid; a = a->next)
		;
	if (a == NULL)
		return 0;
	hook_unlink(a);
	if (a->timed_out)
		snprintf(why, sizeof(why), "auth command timed out");
	else if (WIFEXITED(status))
		snprintf(why, sizeof(why), "auth command exited %d", WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "auth command killed by signal %d",
		    WTERMSIG(status));
	if (a->done != NULL)
		a->done(a->arg, !a->timed_out && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0, why);
	free(a);
	return 1;
}

int
hook_key_equal(const char *a, const char *b)
{
	size_t		 i, n = strlen(a), m = strlen(b);
	unsigned	 d = n != m;

	/* b is read cyclically, so the loop runs over a whatever b is. */
	for (i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i % (m + 1)];
	return d == 0;
}

int
hook_keys_allow(const char *file, const char *path, const char *key, const char **why)
{
	FILE	*f;
	char	 line[HOOK_KEYLINE_MAX], *name, *value, *save;
	int	 found = 0, ok = 0;

	if ((f = fopen(file, "re")) == NULL) {
		*why = "key file unreadable";
		return RTMP_ESYS;
	}
	while (!ok && fgets(line, sizeof(line), f) != NULL) {
		if ((name = strtok_r(line, " \t\r\n", &save)) == NULL || name[0] == '#')
			continue;
		if (strcmp(name, path) != 0)
			continue;
		found = 1;
		value = strtok_r(NULL, " \t\r\n", &save);
		ok = value != NULL && hook_key_equal(value, key);
	}
	fclose(f);
	*why = found ? "wrong key" : "no key for this stream";
	return ok;
}
