/*
 * lib/hook: key files and constant-time key comparison, and hook_ask()
 * on a real loop: exit 0 allows, another status denies, a command that
 * hangs is killed at its timeout, the environment carries the stream.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "flv.h"
#include "flvout.h"
#include "hook.h"
#include "loop.h"
#include "unit.h"

static void
test_keys(void)
{
	char		 path[] = "/tmp/test_hook.XXXXXX";
	const char	*why = NULL;
	FILE		*f;
	int		 fd;

	CHECK(hook_key_equal("abc", "abc"), "equal keys");
	CHECK(!hook_key_equal("abc", "abd"), "one byte differs");
	CHECK(!hook_key_equal("abc", "ab"), "shorter");
	CHECK(!hook_key_equal("ab", "abc"), "longer");
	CHECK(!hook_key_equal("", "x"), "empty against a key");
	CHECK(hook_key_equal("", ""), "empty against empty");

	fd = mkstemp(path);
	CHECK(fd >= 0, "temporary key file");
	f = fdopen(fd, "w");
	fputs("# comment live/cam nope\n\n  live/cam   s3cret  \nlive/two\tk2\nlive/nokey\n", f);
	fclose(f);
	CHECK_EQ(hook_keys_allow(path, "live/cam", "s3cret", &why), 1, "right key");
	CHECK_EQ(hook_keys_allow(path, "live/cam", "nope", &why), 0, "wrong key");
	CHECK(strcmp(why, "wrong key") == 0, "says wrong key");
	CHECK_EQ(hook_keys_allow(path, "live/two", "k2", &why), 1, "tab separated");
	CHECK_EQ(hook_keys_allow(path, "live/other", "s3cret", &why), 0, "other stream");
	CHECK(strcmp(why, "no key for this stream") == 0, "says no key");
	CHECK_EQ(hook_keys_allow(path, "live/nokey", "", &why), 0, "a line without a key allows nothing");
	CHECK_EQ(hook_keys_allow(path, "#", "comment", &why), 0, "comments are not entries");
	unlink(path);
	CHECK_EQ(hook_keys_allow(path, "live/cam", "s3cret", &why), RTMP_ESYS, "missing file");
}

struct result {
	int	 calls;
	int	 allowed;
	char	 why[64];
};

static struct hooks *hooks;
static int pending;

static void
done(void *arg, int allowed, const char *why)
{
	struct result	*r = arg;

	r->calls++;
	r->allowed = allowed;
	snprintf(r->why, sizeof(r->why), "%s", why);
	pending--;
}

static void
reap(struct loop *loop, int signo, void *arg)
{
	pid_t	 pid;
	int	 status;

	(void)signo;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		hook_reaped(hooks, pid, status);
	if (pending == 0)
		loop_stop(loop);
}

static uint64_t
give_up(struct loop *loop, uint64_t id, void *arg)
{
	(void)id;
	(void)arg;
	loop_stop(loop);
	return LOOP_TIMER_STOP;
}

static void
test_ask(void)
{
	struct loop	*loop = loop_new();
	struct hook_env	 env = { "live", "cam", "key=k", "127.0.0.1:5000", "k" };
	struct result	 yes = { 0 }, no = { 0 }, slow = { 0 }, gone = { 0 }, envr = { 0 };
	struct hook_ask	*a;

	CHECK(loop != NULL, "loop");
	hooks = hooks_new(loop, NULL, NULL);
	loop_signal(loop, SIGCHLD, reap, NULL);
	CHECK(hook_ask(hooks, "exit 0", &env, 5000, done, &yes) != NULL, "ask: exit 0");
	CHECK(hook_ask(hooks, "exit 3", &env, 5000, done, &no) != NULL, "ask: exit 3");
	CHECK(hook_ask(hooks, "exec sleep 10", &env, 200, done, &slow) != NULL, "ask: hangs");
	CHECK(hook_ask(hooks, "[ \"$RTMP_APP/$RTMP_STREAM $RTMP_QUERY $RTMP_ADDR $RTMP_KEY\" = "
	    "'live/cam key=k 127.0.0.1:5000 k' ]", &env, 5000, done, &envr) != NULL, "ask: env");
	a = hook_ask(hooks, "exit 0", &env, 5000, done, &gone);
	CHECK(a != NULL, "ask: forgotten");
	hook_forget(a);
	pending = 4;
	loop_timer(loop, 5000, give_up, NULL);
	loop_run(loop);
	CHECK(yes.calls == 1 && yes.allowed, "exit 0 allows");
	CHECK(no.calls == 1 && !no.allowed, "exit 3 denies");
	CHECK(strcmp(no.why, "auth command exited 3") == 0, "reason: %s", no.why);
	CHECK(slow.calls == 1 && !slow.allowed, "a hung command is denied");
	CHECK(strcmp(slow.why, "auth command timed out") == 0, "reason: %s", slow.why);
	CHECK(envr.calls == 1 && envr.allowed, "the environment describes the stream");
	CHECK_EQ(gone.calls, 0, "a forgotten ask never calls back");
	hooks_free(hooks);
	loop_free(loop);
}

static int exits, ended_status = -2;
static char exited_label[64];

static void
on_exited(const char *label, pid_t pid, int status, void *arg)
{
	(void)pid;
	(void)arg;
	exits++;
	(void)status;
	snprintf(exited_label, sizeof(exited_label), "%s", label);
}

static void
on_ended(struct hook_feed *f, int status, void *arg)
{
	(void)arg;
	ended_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	hook_feed_close(f);
}

static void
reap_feeds(struct loop *loop, int signo, void *arg)
{
	pid_t	 pid;
	int	 status;

	(void)signo;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		hook_reaped(hooks, pid, status);
	if (exits >= pending)
		loop_stop(loop);
}

static void
test_feed(void)
{
	static const uint8_t	 key[] = { 0x17, 0x01, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88 };
	static const struct hook_feed_events events = { NULL, on_ended };
	struct loop		*loop = loop_new();
	struct hook_env		 env = { "live", "cam", "", "127.0.0.1:5000", NULL };
	struct hook_feed	*f;
	char			 path[] = "/tmp/test_hook_feed.XXXXXX", cmd[128];
	FILE			*in;
	long			 size;
	int			 fd;

	fd = mkstemp(path);
	close(fd);
	hooks = hooks_new(loop, on_exited, NULL);
	loop_signal(loop, SIGCHLD, reap_feeds, NULL);
	snprintf(cmd, sizeof(cmd), "cat >%s", path);
	f = hook_feed_start(hooks, cmd, &env, "live/cam", 0, &events, NULL);
	CHECK(f != NULL && hook_feed_pid(f) > 0, "feed started");
	CHECK_EQ(flvout_message(hook_feed_flv(f), 9, 0, key, sizeof(key)), 0, "a tag fed");
	hook_feed_close(f);
	exits = 0;
	pending = 1;
	loop_timer(loop, 5000, give_up, NULL);
	loop_run(loop);
	CHECK_EQ(exits, 1, "the command saw its EOF and exited");
	CHECK(strcmp(exited_label, "live/cam") == 0, "exit reported with the label");
	CHECK_EQ(ended_status, -2, "no `ended` after the owner closed");
	in = fopen(path, "r");
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	fclose(in);
	CHECK_EQ(size, FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE + FLV_TAG_HEADER_SIZE + sizeof(key) +
	    FLV_PREVIOUS_SIZE, "header and one tag reached the command");
	unlink(path);

	f = hook_feed_start(hooks, "exit 3", &env, "live/quit", 0, &events, NULL);
	CHECK(f != NULL, "a command that exits at once");
	exits = 0;
	pending = 1;
	loop_run(loop);
	CHECK_EQ(ended_status, 3, "`ended` with its status");
	hooks_free(hooks);
	loop_free(loop);
}

int
main(void)
{
	test_keys();
	test_ask();
	test_feed();
	return unit_done();
}
