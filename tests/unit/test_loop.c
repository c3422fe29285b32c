#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "error.h"
#include "loop.h"
#include "unit.h"

/* Run iterations until *flag reaches want or max_ms pass. */
static void
run_until(struct loop *l, const int *flag, int want, uint64_t max_ms)
{
	uint64_t	 end = loop_now(l) + max_ms;

	while (*flag < want && loop_now(l) < end)
		loop_once(l, 50);
}

struct rec {
	int		 n;
	int		 order[16];
	uint64_t	 at[16];
	uint64_t	 start;
};

struct tag {
	struct rec	*rec;
	int		 name;
	uint64_t	 repeat;	/* returned delay */
	int		 left;		/* fires left before STOP */
	uint64_t	 cancel;	/* id to cancel when fired */
	int		 cancel_self;
};

static uint64_t
on_timer(struct loop *l, uint64_t id, void *arg)
{
	struct tag	*t = arg;
	struct rec	*r = t->rec;

	if (r->n < 16) {
		r->order[r->n] = t->name;
		r->at[r->n] = loop_now(l) - r->start;
	}
	r->n++;
	if (t->cancel != 0)
		loop_timer_cancel(l, t->cancel);
	if (t->cancel_self)
		loop_timer_cancel(l, id);
	if (t->left > 0 && --t->left == 0)
		return LOOP_TIMER_STOP;
	return t->repeat;
}

static void
test_timer_order(void)
{
	struct loop	*l = loop_new();
	struct rec	 r = { 0 };
	struct tag	 a = { &r, 30, 0, 0, 0, 0 }, b = { &r, 10, 0, 0, 0, 0 },
			 c = { &r, 20, 0, 0, 0, 0 };
	int		 i;

	r.start = loop_now(l);
	CHECK(loop_timer(l, 30, on_timer, &a) != 0, "timer id is non-zero");
	loop_timer(l, 10, on_timer, &b);
	loop_timer(l, 20, on_timer, &c);
	run_until(l, &r.n, 3, 2000);
	CHECK_EQ(r.n, 3, "three timers fired");
	CHECK(r.order[0] == 10 && r.order[1] == 20 && r.order[2] == 30,
	    "timers fire in deadline order");
	for (i = 0; i < 3; i++)
		CHECK(r.at[i] >= (uint64_t)r.order[i] &&
		    r.at[i] < (uint64_t)r.order[i] + 500,
		    "timer %d fired after %llu ms", r.order[i],
		    (unsigned long long)r.at[i]);
	loop_free(l);
}

static void
test_timer_repeat_cancel(void)
{
	struct loop	*l = loop_new();
	struct rec	 r = { 0 }, s = { 0 }, u = { 0 };
	struct tag	 rep = { &r, 1, 5, 3, 0, 0 };
	struct tag	 self = { &s, 2, 5, 0, 0, 1 };
	struct tag	 victim = { &u, 3, 0, 0, 0, 0 };
	struct tag	 killer = { &u, 4, 0, 0, 0, 0 };
	uint64_t	 id, end;

	id = loop_timer(l, 5, on_timer, &rep);
	loop_timer(l, 1, on_timer, &self);
	/* Both due in the same iteration; the first armed cancels the other. */
	loop_timer(l, 0, on_timer, &killer);
	killer.cancel = loop_timer(l, 0, on_timer, &victim);
	CHECK(killer.cancel != 0 && killer.cancel != id, "distinct ids");
	end = loop_now(l) + 200;
	while (loop_now(l) < end)
		loop_once(l, 20);
	CHECK_EQ(r.n, 3, "repeating timer fired 3 times then stopped");
	CHECK(r.at[1] >= r.at[0] + 5 && r.at[2] >= r.at[1] + 5,
	    "repeat delays honoured");
	CHECK_EQ(s.n, 1, "self-cancelled timer fired once");
	CHECK_EQ(u.n, 1, "timer cancelled by another in the same iteration "
	    "did not fire");
	CHECK_EQ(u.order[0], 4, "the cancelling timer fired");
	loop_timer_cancel(l, id);	/* stale: no effect, no crash */
	loop_timer_cancel(l, 12345);
	loop_timer_cancel(l, 0);
	loop_free(l);
}

static int	 zero_fired;

static uint64_t
on_zero(struct loop *l, uint64_t id, void *arg)
{
	(void)id;
	(void)arg;
	zero_fired++;
	/* Re-arming at zero must not starve the loop in this iteration. */
	if (zero_fired < 3) {
		loop_timer(l, 0, on_zero, NULL);
	}
	return LOOP_TIMER_STOP;
}

static void
test_timer_zero(void)
{
	struct loop	*l = loop_new();
	int		 n;

	loop_timer(l, 0, on_zero, NULL);
	n = loop_once(l, 0);
	CHECK_EQ(n, 1, "one timer per iteration when a callback re-arms at 0");
	loop_once(l, 0);
	loop_once(l, 0);
	CHECK_EQ(zero_fired, 3, "re-armed zero timers fire in later iterations");
	loop_free(l);
}

struct heaprec {
	uint64_t	*delay;
	int		*fired;
	int		 n;
	int		 bad;
	uint64_t	 last;
	uint64_t	 start;
	struct loop	*l;
};

static struct heaprec	 hr;

static uint64_t
on_heap(struct loop *l, uint64_t id, void *arg)
{
	int	 i = (int)(intptr_t)arg;

	(void)id;
	if (hr.delay[i] < hr.last)
		hr.bad++;
	if (loop_now(l) - hr.start < hr.delay[i])
		hr.bad++;
	hr.last = hr.delay[i];
	hr.fired[i]++;
	hr.n++;
	return LOOP_TIMER_STOP;
}

static void
test_timer_heap(void)
{
	struct loop	*l = loop_new();
	uint64_t	*ids;
	uint32_t	 x = 12345;
	int		 i, want = 0, wrong = 0, N = 10000;

	hr.delay = calloc(N, sizeof(*hr.delay));
	hr.fired = calloc(N, sizeof(*hr.fired));
	ids = calloc(N, sizeof(*ids));
	hr.start = loop_now(l);
	for (i = 0; i < N; i++) {
		x = x * 1103515245 + 12345;
		hr.delay[i] = (x >> 16) % 150;
		ids[i] = loop_timer(l, hr.delay[i], on_heap,
		    (void *)(intptr_t)i);
	}
	for (i = 0; i < N; i += 3)
		loop_timer_cancel(l, ids[i]);
	for (i = 0; i < N; i++)
		if (i % 3 != 0)
			want++;
	run_until(l, &hr.n, want, 3000);
	CHECK_EQ(hr.n, want, "10000 timers: every uncancelled one fired");
	CHECK_EQ(hr.bad, 0, "10000 timers fired in deadline order, none early");
	for (i = 0; i < N; i++)
		if (hr.fired[i] != (i % 3 != 0))
			wrong++;
	CHECK_EQ(wrong, 0, "cancelled timers never fired, others once");
	free(hr.delay);
	free(hr.fired);
	free(ids);
	loop_free(l);
}

struct fdrec {
	int	 calls;
	int	 events;
	int	 fd;
	int	 other;
	int	*others_fd;	/* removed by the first callback */
	int	 reopen;
};

static void
on_fd(struct loop *l, int fd, int events, void *arg)
{
	struct fdrec	*r = arg;
	char		 c;

	(void)l;
	r->calls++;
	r->events = events;
	r->fd = fd;
	if (events & LOOP_READ)
		(void)read(fd, &c, 1);
}

static struct fdrec	 shared;
static int		 sp_a[2], sp_b[2], sp_c[2];

static int		 first_fd;

static void
on_fd_remove_other(struct loop *l, int fd, int events, void *arg)
{
	char	 c;

	(void)events;
	(void)arg;
	(void)read(fd, &c, 1);
	shared.calls++;
	shared.fd = first_fd = fd;
	if (fd == sp_a[0]) {
		loop_remove(l, sp_b[0]);
		if (shared.reopen) {
			/* The number comes back for a new socket. */
			close(sp_b[0]);
			close(sp_b[1]);
			socketpair(AF_UNIX, SOCK_STREAM, 0, sp_c);
			loop_add(l, sp_c[0], LOOP_READ | LOOP_WRITE,
			    on_fd, &shared);
		}
	} else {
		loop_remove(l, sp_a[0]);
		if (shared.reopen) {
			close(sp_a[0]);
			close(sp_a[1]);
			socketpair(AF_UNIX, SOCK_STREAM, 0, sp_c);
			loop_add(l, sp_c[0], LOOP_READ | LOOP_WRITE,
			    on_fd, &shared);
		}
	}
}

static void
test_fds(void)
{
	struct loop	*l = loop_new();
	struct fdrec	 r = { 0 };
	int		 sv[2], n;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	CHECK_EQ(loop_add(l, sv[0], LOOP_READ, on_fd, &r), 0, "loop_add");
	CHECK_EQ(loop_add(l, sv[0], LOOP_READ, on_fd, &r), RTMP_EINVAL,
	    "adding an fd twice is refused");
	CHECK_EQ(loop_remove(l, 1000), RTMP_EINVAL, "removing unknown fd");
	loop_once(l, 0);
	CHECK_EQ(r.calls, 0, "no callback without data");
	write(sv[1], "x", 1);
	loop_once(l, 100);
	CHECK(r.calls == 1 && r.events == LOOP_READ && r.fd == sv[0],
	    "readable fd reported LOOP_READ");
	loop_once(l, 0);
	CHECK_EQ(r.calls, 1, "drained fd not reported again");
	CHECK_EQ(loop_modify(l, sv[0], LOOP_READ | LOOP_WRITE), 0,
	    "loop_modify");
	loop_once(l, 0);
	CHECK(r.calls == 2 && r.events == LOOP_WRITE, "writable fd reported");
	/* Not interested: a hang-up must not spin the loop. */
	loop_modify(l, sv[0], 0);
	close(sv[1]);
	n = loop_once(l, 0);
	CHECK(n == 0 && r.calls == 2, "no events while registered with none");
	loop_modify(l, sv[0], LOOP_READ);
	loop_once(l, 100);
	CHECK(r.calls == 3 && (r.events & LOOP_READ),
	    "hang-up reported readable");
	CHECK(!(r.events & LOOP_WRITE), "only registered directions reported");
	CHECK_EQ(loop_remove(l, sv[0]), 0, "loop_remove");
	close(sv[0]);
	loop_free(l);
}

static void
test_remove_in_callback(int reopen)
{
	struct loop	*l = loop_new();

	memset(&shared, 0, sizeof(shared));
	shared.reopen = reopen;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp_a);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp_b);
	write(sp_a[1], "x", 1);
	write(sp_b[1], "x", 1);
	loop_add(l, sp_a[0], LOOP_READ, on_fd_remove_other, NULL);
	loop_add(l, sp_b[0], LOOP_READ, on_fd_remove_other, NULL);
	loop_once(l, 100);
	CHECK_EQ(shared.calls, 1, "fd removed%s by an earlier callback in the "
	    "same iteration got no event", reopen ? ", closed and reused" : "");
	if (reopen) {
		CHECK(sp_c[0] == sp_a[0] || sp_c[0] == sp_b[0],
		    "the fd number was reused");
		loop_once(l, 100);
		CHECK(shared.calls == 2 && shared.fd == sp_c[0] &&
		    shared.events == LOOP_WRITE, "re-added fd gets its own events");
		loop_remove(l, sp_c[0]);
		loop_remove(l, first_fd);
		close(sp_c[0]);
		close(sp_c[1]);
		close(first_fd);
		close(first_fd == sp_a[0] ? sp_a[1] : sp_b[1]);
	}
	loop_free(l);
	if (!reopen) {
		close(sp_a[0]);
		close(sp_a[1]);
		close(sp_b[0]);
		close(sp_b[1]);
	}
}

static int	 sleeps;

static void
on_sleep(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	sleeps++;
}

static int	 got_signo, got_count;

static void
on_signal(struct loop *l, int signo, void *arg)
{
	(void)l;
	*(int *)arg += 1;
	got_signo = signo;
	got_count++;
}

static uint64_t
on_stop(struct loop *l, uint64_t id, void *arg)
{
	(void)id;
	(void)arg;
	loop_stop(l);
	return LOOP_TIMER_STOP;
}

static void
test_misc(void)
{
	struct loop	*l = loop_new();
	int		 i, calls = 0;
	sigset_t	 cur;

	loop_before_sleep(l, on_sleep, NULL);
	for (i = 0; i < 5; i++)
		loop_once(l, 0);
	CHECK_EQ(sleeps, 5, "before_sleep called every iteration");
	loop_before_sleep(l, NULL, NULL);
	loop_once(l, 0);
	CHECK_EQ(sleeps, 5, "before_sleep cleared");

	CHECK_EQ(loop_signal(l, SIGUSR1, on_signal, &calls), 0, "loop_signal");
	CHECK_EQ(loop_signal(l, SIGKILL, on_signal, &calls), RTMP_EINVAL,
	    "SIGKILL refused");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(sigismember(&cur, SIGUSR1), "SIGUSR1 blocked");
	raise(SIGUSR1);
	run_until(l, &got_count, 1, 1000);
	CHECK(calls == 1 && got_signo == SIGUSR1, "SIGUSR1 delivered through "
	    "the loop");
	CHECK_EQ(loop_signal(l, SIGUSR2, on_signal, &calls), 0,
	    "second signal");
	raise(SIGUSR2);
	raise(SIGUSR1);
	run_until(l, &got_count, 3, 1000);
	CHECK_EQ(calls, 3, "both signals delivered");
	loop_signal(l, SIGUSR2, NULL, NULL);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(!sigismember(&cur, SIGUSR2), "SIGUSR2 unblocked on removal");

	loop_timer(l, 10, on_stop, NULL);
	CHECK_EQ(loop_run(l), 0, "loop_run returns after loop_stop");
	loop_free(l);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(!sigismember(&cur, SIGUSR1), "loop_free restores the mask");
}

int
main(void)
{
	test_timer_order();
	test_timer_repeat_cancel();
	test_timer_zero();
	test_timer_heap();
	test_fds();
	test_remove_in_callback(0);
	test_remove_in_callback(1);
	test_misc();
	return unit_done();
}
