#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "loop.h"

#define LOOP_EVENTS	256	/* level-triggered: the rest come next time */

struct loop_fd {
	loop_fd_cb	 cb;
	void		*arg;
	uint32_t	 gen;		/* 0: not registered */
	int		 events;
	int		 in_epoll;
};

enum { TIMER_FREE, TIMER_ARMED, TIMER_RUNNING, TIMER_CANCELLED };

/* Slots are addressed by index: callbacks may grow the array. */
struct loop_tslot {
	uint64_t	 when;
	uint64_t	 seq;		/* arming order breaks ties */
	loop_timer_cb	 cb;
	void		*arg;
	uint32_t	 gen;		/* high half of the id */
	uint32_t	 pos;		/* index in heap while armed */
	uint32_t	 state;
	uint32_t	 next_free;
};

struct loop {
	int			 epfd;
	int			 stop;
	uint64_t		 now;
	struct loop_fd		*fds;
	size_t			 nfds;
	uint32_t		 fdgen;
	struct loop_tslot	*slots;
	uint32_t		 nslots;
	uint32_t		 free_slot;	/* UINT32_MAX: none */
	uint32_t		*heap;		/* as large as slots */
	uint32_t		 nheap;
	uint64_t		 seq;
	loop_sleep_cb		 sleep_cb;
	void			*sleep_arg;
	int			 sigfd;
	sigset_t		 sigmask;	/* signals we handle */
	sigset_t		 sigours;	/* those we blocked ourselves */
	loop_signal_cb		 sigcb[NSIG];
	void			*sigarg[NSIG];
	struct epoll_event	 events[LOOP_EVENTS];
};

static uint64_t
loop_clock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *
loop_new(void)
{
	struct loop	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(l);
		return NULL;
	}
	l->sigfd = -1;
	l->free_slot = UINT32_MAX;
	sigemptyset(&l->sigmask);
	sigemptyset(&l->sigours);
	l->now = loop_clock();
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	loop_unblock_signals(l);
	if (l->sigfd != -1)
		close(l->sigfd);
	close(l->epfd);
	free(l->fds);
	free(l->slots);
	free(l->heap);
	free(l);
}

static int
loop_ctl(struct loop *l, int fd, int events)
{
	struct loop_fd		*f = &l->fds[fd];
	struct epoll_event	 ev;

	if (events == 0) {
		if (f->in_epoll &&
		    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) == -1 &&
		    errno != EBADF && errno != ENOENT)
			return RTMP_ESYS;
		f->in_epoll = 0;
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = ((events & LOOP_READ) ? EPOLLIN : 0) |
	    ((events & LOOP_WRITE) ? EPOLLOUT : 0);
	ev.data.u64 = (uint64_t)f->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(l->epfd, f->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    fd, &ev) == -1)
		return RTMP_ESYS;
	f->in_epoll = 1;
	return 0;
}

int
loop_add(struct loop *l, int fd, int events, loop_fd_cb cb, void *arg)
{
	struct loop_fd	*p;
	size_t		 n;
	int		 rc;

	if (fd < 0 || cb == NULL ||
	    ((size_t)fd < l->nfds && l->fds[fd].gen != 0))
		return RTMP_EINVAL;
	if ((size_t)fd >= l->nfds) {
		n = l->nfds ? l->nfds * 2 : 64;
		if (n <= (size_t)fd)
			n = (size_t)fd + 1;
		if ((p = reallocarray(l->fds, n, sizeof(*p))) == NULL)
			return RTMP_ENOMEM;
		memset(p + l->nfds, 0, (n - l->nfds) * sizeof(*p));
		l->fds = p;
		l->nfds = n;
	}
	if (++l->fdgen == 0)
		l->fdgen = 1;
	p = &l->fds[fd];
	p->gen = l->fdgen;
	p->in_epoll = 0;
	if ((rc = loop_ctl(l, fd, events & (LOOP_READ | LOOP_WRITE))) < 0) {
		p->gen = 0;
		return rc;
	}
	p->cb = cb;
	p->arg = arg;
	p->events = events & (LOOP_READ | LOOP_WRITE);
	return 0;
}

int
loop_modify(struct loop *l, int fd, int events)
{
	int	 rc;

	if (fd < 0 || (size_t)fd >= l->nfds || l->fds[fd].gen == 0)
		return RTMP_EINVAL;
	events &= LOOP_READ | LOOP_WRITE;
	if (events == l->fds[fd].events)
		return 0;
	if ((rc = loop_ctl(l, fd, events)) < 0)
		return rc;
	l->fds[fd].events = events;
	return 0;
}

int
loop_remove(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || l->fds[fd].gen == 0)
		return RTMP_EINVAL;
	(void)loop_ctl(l, fd, 0);
	memset(&l->fds[fd], 0, sizeof(l->fds[fd]));
	return 0;
}

static int
loop_timer_before(const struct loop *l, uint32_t a, uint32_t b)
{
	const struct loop_tslot	*x = &l->slots[a], *y = &l->slots[b];

	return x->when < y->when || (x->when == y->when && x->seq < y->seq);
}

static void
loop_heap_set(struct loop *l, uint32_t pos, uint32_t slot)
{
	l->heap[pos] = slot;
	l->slots[slot].pos = pos;
}

static void
loop_heap_up(struct loop *l, uint32_t pos)
{
	uint32_t	 slot = l->heap[pos], parent;

	while (pos > 0) {
		parent = (pos - 1) / 2;
		if (!loop_timer_before(l, slot, l->heap[parent]))
			break;
		loop_heap_set(l, pos, l->heap[parent]);
		pos = parent;
	}
	loop_heap_set(l, pos, slot);
}

static void
loop_heap_down(struct loop *l, uint32_t pos)
{
	uint32_t	 slot = l->heap[pos], child;

	for (;;) {
		child = 2 * pos + 1;
		if (child >= l->nheap)
			break;
		if (child + 1 < l->nheap &&
		    loop_timer_before(l, l->heap[child + 1], l->heap[child]))
			child++;
		if (!loop_timer_before(l, l->heap[child], slot))
			break;
		loop_heap_set(l, pos, l->heap[child]);
		pos = child;
	}
	loop_heap_set(l, pos, slot);
}

static void
loop_heap_remove(struct loop *l, uint32_t pos)
{
	uint32_t	 last = l->heap[--l->nheap];

	if (pos == l->nheap)
		return;
	loop_heap_set(l, pos, last);
	loop_heap_up(l, pos);
	loop_heap_down(l, l->slots[last].pos);
}

/* The heap never outgrows the slot array, so arming never fails. */
static void
loop_timer_arm(struct loop *l, uint32_t slot, uint64_t delay)
{
	struct loop_tslot	*t = &l->slots[slot];

	t->when = delay > UINT64_MAX - l->now ? UINT64_MAX : l->now + delay;
	t->seq = ++l->seq;
	t->state = TIMER_ARMED;
	l->heap[l->nheap] = slot;
	loop_heap_up(l, l->nheap++);
}

static void
loop_timer_release(struct loop *l, uint32_t slot)
{
	l->slots[slot].state = TIMER_FREE;
	l->slots[slot].next_free = l->free_slot;
	l->free_slot = slot;
}

uint64_t
loop_timer(struct loop *l, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
	struct loop_tslot	*t;
	uint32_t		*h, slot, n;

	if (cb == NULL)
		return 0;
	if (l->free_slot == UINT32_MAX) {
		if (l->nslots >= UINT32_MAX / 2)
			return 0;
		n = l->nslots ? l->nslots * 2 : 64;
		if ((h = reallocarray(l->heap, n, sizeof(*h))) == NULL)
			return 0;
		l->heap = h;
		if ((t = reallocarray(l->slots, n, sizeof(*t))) == NULL)
			return 0;
		memset(t + l->nslots, 0, (n - l->nslots) * sizeof(*t));
		l->slots = t;
		for (slot = n; slot > l->nslots; )
			loop_timer_release(l, --slot);
		l->nslots = n;
	}
	slot = l->free_slot;
	t = &l->slots[slot];
	l->free_slot = t->next_free;
	if (++t->gen == 0)
		t->gen = 1;
	t->cb = cb;
	t->arg = arg;
	loop_timer_arm(l, slot, delay_ms);
	return (uint64_t)t->gen << 32 | slot;
}

void
loop_timer_cancel(struct loop *l, uint64_t id)
{
	uint32_t		 slot = (uint32_t)id;
	struct loop_tslot	*t;

	if (id == 0 || slot >= l->nslots)
		return;
	t = &l->slots[slot];
	if (t->gen != (uint32_t)(id >> 32))
		return;
	if (t->state == TIMER_ARMED) {
		loop_heap_remove(l, t->pos);
		loop_timer_release(l, slot);
	} else if (t->state == TIMER_RUNNING)
		t->state = TIMER_CANCELLED;
}

static int
loop_timers(struct loop *l)
{
	struct loop_tslot	*t;
	uint64_t		 start = l->seq, next, id;
	uint32_t		 slot;
	int			 ran = 0;

	while (l->nheap > 0) {
		slot = l->heap[0];
		t = &l->slots[slot];
		if (t->when > l->now || t->seq > start)
			break;
		loop_heap_remove(l, 0);
		t->state = TIMER_RUNNING;
		id = (uint64_t)t->gen << 32 | slot;
		next = t->cb(l, id, t->arg);
		ran++;
		if (l->slots[slot].state == TIMER_CANCELLED ||
		    next == LOOP_TIMER_STOP)
			loop_timer_release(l, slot);
		else
			loop_timer_arm(l, slot, next);
	}
	return ran;
}

void
loop_before_sleep(struct loop *l, loop_sleep_cb cb, void *arg)
{
	l->sleep_cb = cb;
	l->sleep_arg = arg;
}

static void
loop_signal_read(struct loop *l, int fd, int events, void *arg)
{
	struct signalfd_siginfo	 si;
	uint32_t		 signo;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		signo = si.ssi_signo;
		if (signo < NSIG && l->sigcb[signo] != NULL)
			l->sigcb[signo](l, (int)signo, l->sigarg[signo]);
	}
}

int
loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	sigset_t	 one, cur;
	int		 fd;

	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
		return RTMP_EINVAL;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (cb == NULL) {
		sigdelset(&l->sigmask, signo);
		l->sigcb[signo] = NULL;
		if (l->sigfd != -1)
			(void)signalfd(l->sigfd, &l->sigmask, 0);
		if (sigismember(&l->sigours, signo)) {
			sigdelset(&l->sigours, signo);
			sigprocmask(SIG_UNBLOCK, &one, NULL);
		}
		return 0;
	}
	if (sigprocmask(SIG_BLOCK, &one, &cur) == -1)
		return RTMP_ESYS;
	if (!sigismember(&cur, signo))
		sigaddset(&l->sigours, signo);
	sigaddset(&l->sigmask, signo);
	if ((fd = signalfd(l->sigfd, &l->sigmask,
	    SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return RTMP_ESYS;
	if (l->sigfd == -1) {
		l->sigfd = fd;
		if (loop_add(l, fd, LOOP_READ, loop_signal_read, NULL) < 0)
			return RTMP_ESYS;
	}
	l->sigcb[signo] = cb;
	l->sigarg[signo] = arg;
	return 0;
}

void
loop_unblock_signals(struct loop *l)
{
	sigprocmask(SIG_UNBLOCK, &l->sigours, NULL);
}

uint64_t
loop_now(struct loop *l)
{
	return l->now;
}

static int
loop_dispatch(struct loop *l, int n)
{
	struct loop_fd	*f;
	uint32_t	 e, gen;
	int		 i, fd, ready, ran = 0;

	for (i = 0; i < n; i++) {
		fd = (int)(uint32_t)l->events[i].data.u64;
		gen = (uint32_t)(l->events[i].data.u64 >> 32);
		/* Removed, or removed and re-added, since epoll_wait. */
		if ((size_t)fd >= l->nfds || l->fds[fd].gen != gen)
			continue;
		f = &l->fds[fd];
		e = l->events[i].events;
		ready = ((e & EPOLLIN) ? LOOP_READ : 0) |
		    ((e & EPOLLOUT) ? LOOP_WRITE : 0);
		if (e & (EPOLLERR | EPOLLHUP))
			ready |= LOOP_READ | LOOP_WRITE;
		ready &= f->events;
		if (ready == 0)
			continue;
		if (e & (EPOLLERR | EPOLLHUP))
			ready |= LOOP_ERROR;
		f->cb(l, fd, ready, f->arg);
		ran++;
	}
	return ran;
}

int
loop_once(struct loop *l, int max_wait_ms)
{
	uint64_t	 when, now;
	int		 timeout = max_wait_ms, n, ran;

	if (l->sleep_cb != NULL)
		l->sleep_cb(l, l->sleep_arg);
	if (l->nheap > 0) {
		when = l->slots[l->heap[0]].when;
		now = loop_clock();
		if (when <= now)
			timeout = 0;
		else if (when - now < (uint64_t)INT_MAX &&
		    (timeout < 0 || when - now < (uint64_t)timeout))
			timeout = (int)(when - now);
	}
	if (l->stop)
		timeout = 0;
	n = epoll_wait(l->epfd, l->events, LOOP_EVENTS, timeout);
	l->now = loop_clock();
	if (n == -1) {
		if (errno != EINTR)
			return RTMP_ESYS;
		n = 0;
	}
	ran = loop_dispatch(l, n);
	return ran + loop_timers(l);
}

int
loop_run(struct loop *l)
{
	int	 rc = 0;

	while (!l->stop)
		if ((rc = loop_once(l, -1)) < 0)
			break;
	l->stop = 0;
	return rc < 0 ? rc : 0;
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}
