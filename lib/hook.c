/*
 * hook.c: operator commands per stream, and publish authorisation.
 * See hook.h.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "hook.h"
#include "loop.h"

struct hook_ask {
	struct hooks	*hooks;
	struct hook_ask	*next;
	pid_t		 pid;
	uint64_t	 timer;
	int		 timed_out;
	hook_done_cb	 done;		/* NULL once forgotten */
	void		*arg;
};

struct hooks {
	struct loop	*loop;
	struct hook_ask	*asks;
};

pid_t
hook_spawn(struct loop *loop, const char *command, int in, int out,
    const struct hook_env *env)
{
	pid_t	 pid;

	if ((pid = fork()) != 0)
		return pid;
	/* The child: the loop's mask and the servers' SIGPIPE policy are not its. */
	loop_unblock_signals(loop);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, STDIN_FILENO) < 0 || (out >= 0 && dup2(out, STDOUT_FILENO) < 0))
		_exit(126);
	if (setenv("RTMP_APP", env->app, 1) < 0 ||
	    setenv("RTMP_STREAM", env->stream, 1) < 0 ||
	    setenv("RTMP_QUERY", env->query, 1) < 0 ||
	    setenv("RTMP_ADDR", env->addr, 1) < 0 ||
	    (env->key != NULL && setenv("RTMP_KEY", env->key, 1) < 0))
		_exit(126);
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	_exit(127);
}

struct hooks *
hooks_new(struct loop *loop)
{
	struct hooks	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	return h;
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

	if (h == NULL)
		return;
	while ((a = h->asks) != NULL) {
		kill(a->pid, SIGKILL);
		hook_unlink(a);
		free(a);
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
	char		 why[64];

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
