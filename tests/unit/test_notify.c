/*
 * test_notify: systemd's notify datagram to a path and to an abstract
 * name, the variable taken out of the environment, and the pidfile lock.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "notify.h"
#include "service.h"
#include "unit.h"

static char	 dir[] = "/tmp/rtmpkit-notify-XXXXXX";

/* A datagram socket bound at name ('@' abstract), 1 s receive timeout. */
static int
bound(const char *name)
{
	struct sockaddr_un	 sa;
	struct timeval		 tv = { 1, 0 };
	socklen_t		 len;
	int			 fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strlcpy(sa.sun_path, name, sizeof(sa.sun_path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name) +
	    (name[0] != '@'));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, len) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
received(int fd, const char *want, const char *what)
{
	char	 b[256];
	ssize_t	 n = recv(fd, b, sizeof(b) - 1, 0);

	b[n < 0 ? 0 : n] = '\0';
	CHECK(n > 0 && strcmp(b, want) == 0, "%s: got \"%s\"", what, b);
}

static void
test_path(void)
{
	char	 path[128];
	int	 fd;

	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bound(path);
	CHECK(fd >= 0, "bound %s", path);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ(notify_init(), 1, "a path is an address");
	CHECK(getenv("NOTIFY_SOCKET") == NULL, "taken out of the environment");
	CHECK_EQ(notify_send("READY=1"), 0, "READY=1 sent");
	received(fd, "READY=1", "path: READY=1");
	CHECK_EQ(notify_send("STOPPING=1"), 0, "STOPPING=1 sent");
	received(fd, "STOPPING=1", "path: STOPPING=1");
	close(fd);
	unlink(path);
	/* The manager went away: reported, not fatal. */
	CHECK_EQ(notify_send("READY=1"), RTMP_ESYS, "no listener: RTMP_ESYS");
}

static void
test_abstract(void)
{
	char	 name[64];
	int	 fd;

	snprintf(name, sizeof(name), "@rtmpkit-test-notify-%ld", (long)getpid());
	fd = bound(name);
	CHECK(fd >= 0, "bound %s", name);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_EQ(notify_init(), 1, "an abstract name is an address");
	CHECK_EQ(notify_send("READY=1"), 0, "READY=1 sent");
	received(fd, "READY=1", "abstract: READY=1");
	close(fd);
}

static void
test_none(void)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ(notify_init(), 0, "no NOTIFY_SOCKET: 0");
	CHECK_EQ(notify_send("READY=1"), 0, "and nothing to send");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_EQ(notify_init(), RTMP_EINVAL, "a relative path is no address");
	CHECK(getenv("NOTIFY_SOCKET") == NULL, "taken out all the same");
	CHECK_EQ(notify_send("READY=1"), 0, "nothing sent");
	setenv("NOTIFY_SOCKET", "@", 1);
	CHECK_EQ(notify_init(), RTMP_EINVAL, "\"@\" alone is no address");
}

static void
test_pidfile(void)
{
	char	 path[128], err[256], b[32];
	FILE	*f;
	pid_t	 child;
	int	 status;

	snprintf(path, sizeof(path), "%s/x.pid", dir);
	CHECK_EQ(service_pidfile_open(path, err, sizeof(err)), 0, "pidfile opened");
	CHECK_EQ(service_pidfile_write(err, sizeof(err)), 0, "pidfile written");
	f = fopen(path, "r");
	b[0] = '\0';
	if (f != NULL) {
		if (fgets(b, sizeof(b), f) == NULL)
			b[0] = '\0';
		fclose(f);
	}
	CHECK_EQ(strtol(b, NULL, 10), getpid(), "it holds our pid");
	/* Another process is refused while we hold it, and told by whom. */
	if ((child = fork()) == 0) {
		char	 e[256], want[64];

		snprintf(want, sizeof(want), "already running as pid %ld",
		    (long)getppid());
		_exit(service_pidfile_open(path, e, sizeof(e)) < 0 &&
		    strstr(e, want) != NULL ? 0 : 1);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a second process: already running as our pid");
	service_pidfile_remove();
	CHECK(access(path, F_OK) < 0, "removed at exit");
	snprintf(path, sizeof(path), "%s/no/such/dir/x.pid", dir);
	CHECK(service_pidfile_open(path, err, sizeof(err)) < 0 &&
	    strstr(err, path) != NULL, "a pidfile that cannot be made: %s", err);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_path();
	test_abstract();
	test_none();
	test_pidfile();
	rmdir(dir);
	return unit_done();
}
