#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "health.h"
#include "loop.h"
#include "net.h"
#include "rtmp.h"
#include "unit.h"

struct seen {
	int	 changes;
	int	 up;
};

static void
changed(struct backend *b, int up, void *arg)
{
	struct seen	*s = arg;

	(void)b;
	s->changes++;
	s->up = up;
}

static const struct health_events events = { .changed = changed };

static void
test_counts(void)
{
	struct backend	 b;

	memset(&b, 0, sizeof(b));
	b.up = 1;
	CHECK_EQ(health_result(&b, 0, "connect: refused", 3, 2), 0, "one failure: still up");
	CHECK_EQ(health_result(&b, 1, "ok", 3, 2), 0, "a success resets the failures");
	CHECK_EQ(health_result(&b, 0, "x", 3, 2), 0, "fail 1");
	CHECK_EQ(health_result(&b, 0, "x", 3, 2), 0, "fail 2");
	CHECK_EQ(health_result(&b, 0, "timeout", 3, 2), 1, "fail 3: down");
	CHECK(!b.up && strcmp(b.last_result, "timeout") == 0 && b.checks == 5,
	    "down, the last result kept");
	CHECK_EQ(health_result(&b, 0, "x", 3, 2), 0, "more failures change nothing");
	CHECK_EQ(health_result(&b, 1, "ok", 3, 2), 0, "rise 1");
	CHECK_EQ(health_result(&b, 0, "x", 3, 2), 0, "a failure resets the rise");
	CHECK_EQ(health_result(&b, 1, "ok", 3, 2), 0, "rise 1 again");
	CHECK_EQ(health_result(&b, 1, "ok", 3, 2), 1, "rise 2: up");
	CHECK(b.up && b.last_ok == 1, "up");
}

/* Run the loop until cond or about ms milliseconds. */
#define RUN_UNTIL(l, cond, ms) do {					\
	uint64_t t0_ = loop_now(l);					\
	while (!(cond) && loop_now(l) - t0_ < (ms))			\
		loop_once((l), 5);					\
} while (0)

static int
listen_on(uint16_t port, uint16_t *bound)
{
	struct listen_address	 a;
	int			 fd;

	memset(&a, 0, sizeof(a));
	strlcpy(a.host, "127.0.0.1", sizeof(a.host));
	a.port = port;
	if (net_listen(&a, 8, &fd) < 0)
		return -1;
	net_local_port(fd, bound);
	return fd;
}

static void
test_live(void)
{
	struct loop		*l = loop_new();
	struct backend_set	 set;
	struct backend_spec	 s;
	struct health_config	 cfg = { .interval_ms = 20, .fall = 3, .rise = 2 };
	struct health		*h;
	struct seen		 seen = { 0, 1 };
	char			 line[64], err[128];
	uint16_t		 port;
	int			 fd;
	uint64_t		 t0;

	fd = listen_on(0, &port);
	if (!CHECK(fd >= 0, "a listening socket"))
		return;
	backend_set_init(&set);
	snprintf(line, sizeof(line), "127.0.0.1:%u", port);
	backend_parse_line(line, &s, err, sizeof(err));
	backend_set_add(&set, &s);
	backend_parse_line("unix:/nonexistent/rtmp.sock", &s, err, sizeof(err));
	backend_set_add(&set, &s);
	CHECK_EQ(backend_resolve(set.b[0], err, sizeof(err)), 0, "resolved");
	h = health_new(l, &set, &cfg, &events, &seen);
	RUN_UNTIL(l, set.b[0]->checks >= 3, 1000);
	CHECK(set.b[0]->up && set.b[0]->last_ok == 1 && set.b[0]->checks >= 3,
	    "a listening backend stays up (%llu checks)",
	    (unsigned long long)set.b[0]->checks);
	CHECK(!set.b[1]->up && strstr(set.b[1]->last_result, "No such file") != NULL,
	    "a missing unix socket goes down: %s", set.b[1]->last_result);
	CHECK_EQ(seen.changes, 1, "one change so far");
	close(fd);
	t0 = loop_now(l);
	RUN_UNTIL(l, !set.b[0]->up, 1000);
	CHECK(!set.b[0]->up && seen.changes == 2 && seen.up == 0,
	    "closed: down after %llu ms (%s)", (unsigned long long)(loop_now(l) - t0),
	    set.b[0]->last_result);
	CHECK(loop_now(l) - t0 <= 3 * 20 + 40, "within fall x interval");
	fd = listen_on(port, &port);
	CHECK(fd >= 0, "listening again");
	RUN_UNTIL(l, set.b[0]->up, 1000);
	CHECK(set.b[0]->up && seen.changes == 3 && seen.up == 1, "back up after rise");
	health_forget(h, set.b[1]);
	health_forget(h, set.b[0]);
	health_free(h);
	backend_set_free(&set);
	close(fd);
	loop_free(l);
}

/*
 * A server on lfd, one connection at a time, a server-role RTMP session
 * that answers connect as told, or HTTP to anything.
 */
enum answer {
	ANSWER_ACCEPT,		/* _result */
	ANSWER_REJECT,		/* _error, NetConnection.Connect.Rejected */
	ANSWER_SILENT,		/* the handshake, then nothing */
	ANSWER_HTTP,		/* no RTMP at all */
};

struct answerer {
	int			 lfd, fd;
	enum answer		 mode;
	struct rtmp_session	*rs;
	int			 connects;	/* connect commands seen */
	char			 app[64], tc_url[128];	/* the last one's */
};

static void
answerer_close(struct answerer *a)
{
	rtmp_session_free(a->rs);
	a->rs = NULL;
	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
}

static void
answerer_run(struct answerer *a)
{
	struct rtmp_config	 rc;
	struct rtmp_event	 ev;
	uint8_t			 in[4096];
	const uint8_t		*out;
	size_t			 len, off, used;
	ssize_t			 n;
	int			 rv;

	if (a->fd == -1) {
		if (net_accept(a->lfd, &a->fd, NULL, NULL) != 0)
			return;
		rtmp_config_default(&rc, RTMP_ROLE_SERVER);
		if ((a->rs = rtmp_session_new(&rc)) == NULL) {
			answerer_close(a);
			return;
		}
	}
	if ((n = read(a->fd, in, sizeof(in))) == 0 || (n < 0 && errno != EAGAIN)) {
		answerer_close(a);
		return;
	}
	if (n <= 0)
		return;
	if (a->mode == ANSWER_HTTP) {
		write(a->fd, "HTTP/1.0 400 Bad Request\r\n\r\n", 28);
		return;
	}
	for (off = 0; (rv = rtmp_session_feed(a->rs, in + off, (size_t)n - off, 0,
	    &used, &ev)) > 0; off += used) {
		if (rv != RTMP_EVENT_CONNECT)
			continue;
		a->connects++;
		snprintf(a->app, sizeof(a->app), "%.*s", (int)ev.app.len,
		    (const char *)ev.app.ptr);
		snprintf(a->tc_url, sizeof(a->tc_url), "%.*s", (int)ev.tc_url.len,
		    (const char *)ev.tc_url.ptr);
		if (a->mode == ANSWER_ACCEPT)
			rtmp_server_accept_connect(a->rs);
		else if (a->mode == ANSWER_REJECT)
			rtmp_server_reject(a->rs, "no such application");
	}
	if (rv < 0) {
		answerer_close(a);
		return;
	}
	if ((out = rtmp_session_output(a->rs, &len)) != NULL && len > 0 &&
	    (n = write(a->fd, out, len)) > 0)
		rtmp_session_sent(a->rs, (size_t)n);
}

static void
test_rtmp(void)
{
	struct loop		*l = loop_new();
	struct backend_set	 set;
	struct backend_spec	 s;
	struct health_config	 cfg = { .interval_ms = 30, .fall = 1, .rise = 1, .rtmp = 1 };
	struct health		*h;
	struct seen		 seen = { 0, 1 };
	struct answerer		 a = { .fd = -1 };
	char			 line[64], err[128];
	uint16_t		 port;
	int			 connects;

	a.lfd = listen_on(0, &port);
	backend_set_init(&set);
	snprintf(line, sizeof(line), "127.0.0.1:%u", port);
	backend_parse_line(line, &s, err, sizeof(err));
	backend_set_add(&set, &s);
	backend_resolve(set.b[0], err, sizeof(err));
	h = health_new(l, &set, &cfg, &events, &seen);
	RUN_UNTIL(l, (answerer_run(&a), set.b[0]->checks >= 3), 2000);
	CHECK(set.b[0]->up && set.b[0]->last_ok == 1 && a.connects >= 3,
	    "rtmp: a server that answers connect with _result is up (%llu checks, "
	    "%d connects, %s)", (unsigned long long)set.b[0]->checks, a.connects,
	    set.b[0]->last_result);
	CHECK(strcmp(a.app, HEALTH_APP) == 0, "the connect names app %s: %s",
	    HEALTH_APP, a.app);
	snprintf(line, sizeof(line), "rtmp://127.0.0.1:%u/live", port);
	CHECK(strcmp(a.tc_url, line) == 0, "tcUrl: %s", a.tc_url);

	a.mode = ANSWER_REJECT;
	connects = a.connects;
	RUN_UNTIL(l, (answerer_run(&a), !set.b[0]->up), 2000);
	CHECK(!set.b[0]->up && a.connects > connects &&
	    strcmp(set.b[0]->last_result, "rtmp connect: NetConnection.Connect.Rejected") == 0,
	    "rtmp: connect answered with _error is down: %s", set.b[0]->last_result);

	a.mode = ANSWER_ACCEPT;
	RUN_UNTIL(l, (answerer_run(&a), set.b[0]->up), 2000);
	CHECK(set.b[0]->up, "rtmp: up again on _result");
	a.mode = ANSWER_SILENT;
	connects = a.connects;
	RUN_UNTIL(l, (answerer_run(&a), !set.b[0]->up), 2000);
	CHECK(!set.b[0]->up && a.connects > connects &&
	    strcmp(set.b[0]->last_result, "timeout") == 0,
	    "rtmp: the handshake done and connect never answered times out: %s",
	    set.b[0]->last_result);

	a.mode = ANSWER_HTTP;
	RUN_UNTIL(l, (answerer_run(&a), strcmp(set.b[0]->last_result, "timeout") != 0), 2000);
	CHECK(!set.b[0]->up && strcmp(set.b[0]->last_result, "rtmp handshake: not RTMP") == 0,
	    "rtmp: one that answers HTTP is down: %s", set.b[0]->last_result);
	answerer_close(&a);
	RUN_UNTIL(l, (set.b[0]->checks > 20), 2000);
	CHECK(!set.b[0]->up && strcmp(set.b[0]->last_result, "timeout") == 0,
	    "rtmp: one that accepts and says nothing times out: %s", set.b[0]->last_result);
	health_forget(h, set.b[0]);
	health_free(h);

	/* Another application, named in the config. */
	strlcpy(cfg.app, "backup/inst", sizeof(cfg.app));
	a.mode = ANSWER_ACCEPT;
	connects = a.connects;
	seen.changes = 0;
	h = health_new(l, &set, &cfg, &events, &seen);
	RUN_UNTIL(l, (answerer_run(&a), set.b[0]->up), 2000);
	CHECK(set.b[0]->up && a.connects > connects && strcmp(a.app, "backup/inst") == 0,
	    "rtmp: config app: the connect names it: %s", a.app);
	health_forget(h, set.b[0]);
	health_free(h);
	backend_set_free(&set);
	answerer_close(&a);
	close(a.lfd);
	loop_free(l);
}

int
main(void)
{
	test_counts();
	test_live();
	test_rtmp();
	return unit_done();
}
