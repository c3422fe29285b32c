#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "net.h"
#include "unit.h"

static int
wait_fd(int fd, short events, int ms)
{
	struct pollfd	 p = { fd, events, 0 };

	return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

static int
fd_flags_ok(int fd)
{
	return (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
	    (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* Accept one connection from lfd within a second. */
static int
accept_one(int lfd, char *peer, size_t peersize)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd = -1, rc = NET_AGAIN;

	if (wait_fd(lfd, POLLIN, 1000) & POLLIN)
		rc = net_accept(lfd, &fd, &ss, &len);
	if (rc != 0)
		return -1;
	if (peer != NULL)
		net_format_address((struct sockaddr *)&ss, len, peer, peersize);
	return fd;
}

/* Write a few bytes each way between two connected fds. */
static int
exchange(int a, int b)
{
	char	 buf[16];

	if (write(a, "ping", 4) != 4 || !(wait_fd(b, POLLIN, 1000) & POLLIN) ||
	    read(b, buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4) != 0)
		return 0;
	if (write(b, "pong!", 5) != 5 || !(wait_fd(a, POLLIN, 1000) & POLLIN) ||
	    read(a, buf, sizeof(buf)) != 5 || memcmp(buf, "pong!", 5) != 0)
		return 0;
	return 1;
}

static void
test_tcp(void)
{
	struct listen_address	 la;
	char			 peer[NET_ADDRSTRLEN], want[NET_ADDRSTRLEN];
	uint16_t		 port = 0, cport = 0;
	int			 lfd = -1, cfd = -1, sfd, fd;

	memset(&la, 0, sizeof(la));
	strlcpy(la.host, "127.0.0.1", sizeof(la.host));
	CHECK_EQ(net_listen(&la, 16, &lfd), 0, "listen on 127.0.0.1:0");
	CHECK_EQ(net_local_port(lfd, &port), 0, "net_local_port");
	CHECK(port != 0, "port 0 got a real port (%u)", port);
	CHECK(fd_flags_ok(lfd), "listener non-blocking, close-on-exec");
	CHECK_EQ(net_accept(lfd, &fd, NULL, NULL), NET_AGAIN,
	    "accept with nothing pending is NET_AGAIN");

	CHECK_EQ(net_connect("127.0.0.1", port, &cfd), 0, "connect started");
	CHECK(fd_flags_ok(cfd), "client fd non-blocking, close-on-exec");
	CHECK(wait_fd(cfd, POLLOUT, 1000) & POLLOUT, "connect completes");
	CHECK_EQ(net_connect_result(cfd), 0, "connect result 0");
	CHECK_EQ(net_set_nodelay(cfd), 0, "nodelay");
	sfd = accept_one(lfd, peer, sizeof(peer));
	CHECK(sfd >= 0 && fd_flags_ok(sfd), "accepted, non-blocking");
	net_local_port(cfd, &cport);
	snprintf(want, sizeof(want), "127.0.0.1:%u", cport);
	CHECK(strcmp(peer, want) == 0, "peer formatted %s", peer);
	CHECK(exchange(cfd, sfd), "bytes both ways over TCP");
	close(cfd);
	close(sfd);

	/* A port nobody listens on: refused through net_connect_result. */
	close(lfd);
	errno = 0;
	if (net_connect("127.0.0.1", port, &cfd) == 0) {
		CHECK(wait_fd(cfd, POLLOUT, 1000) != 0, "refused connect wakes");
		CHECK_EQ(net_connect_result(cfd), RTMP_ESYS, "refused is RTMP_ESYS");
		close(cfd);
	} else
		CHECK(1, "refused at once");
	CHECK_EQ(errno, ECONNREFUSED, "errno ECONNREFUSED");
}

static void
test_fallback(void)
{
	struct listen_address	 la;
	struct net_addrs	 a;
	uint16_t		 port;
	int			 lfd, fd = -1, tries = 0, ok = 0, sfd;

	memset(&la, 0, sizeof(la));
	strlcpy(la.host, "127.0.0.1", sizeof(la.host));
	if (net_listen(&la, 16, &lfd) < 0 || net_local_port(lfd, &port) < 0) {
		CHECK(0, "listen for fallback");
		return;
	}
	/* Not in /etc/hosts, and no DNS may answer it: loopback (RFC 6761). */
	if (CHECK_EQ(net_resolve("rtmpkit-test.localhost", port, &a), 0,
	    "resolve a name under .localhost")) {
		CHECK(a.list->ai_family == AF_INET && ((struct sockaddr_in *)
		    (void *)a.list->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
		    "a name under .localhost is 127.0.0.1");
		net_addrs_free(&a);
	}
	CHECK_EQ(net_resolve("localhost", port, &a), 0, "resolve localhost");
	while (net_connect_next(&a, &fd) == 0) {
		tries++;
		wait_fd(fd, POLLOUT, 1000);
		if (net_connect_result(fd) == 0) {
			ok = 1;
			break;
		}
		close(fd);
	}
	CHECK(ok && a.cur != NULL && a.cur->ai_family == AF_INET,
	    "localhost reaches the IPv4 listener after %d tries", tries);
	net_addrs_free(&a);
	if (ok) {
		sfd = accept_one(lfd, NULL, 0);
		CHECK(sfd >= 0 && exchange(fd, sfd), "fallback connection works");
		close(sfd);
		close(fd);
	}
	close(lfd);
}

/* A refused first address falls through to the next one. */
static void
test_fallback_refused(void)
{
	struct listen_address	 la;
	struct net_addrs	 a, b;
	struct addrinfo		*last;
	uint16_t		 port, dead;
	int			 lfd, tmp, fd = -1, rc, tries = 0, ok = 0;

	memset(&la, 0, sizeof(la));
	strlcpy(la.host, "127.0.0.1", sizeof(la.host));
	if (net_listen(&la, 16, &tmp) < 0 || net_local_port(tmp, &dead) < 0 ||
	    net_listen(&la, 16, &lfd) < 0 || net_local_port(lfd, &port) < 0) {
		CHECK(0, "listen for refused fallback");
		return;
	}
	close(tmp);		/* nobody listens on dead any more */
	if (net_resolve("127.0.0.1", dead, &a) < 0 ||
	    net_resolve("127.0.0.1", port, &b) < 0) {
		CHECK(0, "resolve numeric addresses");
		return;
	}
	for (last = a.list; last->ai_next != NULL; last = last->ai_next)
		;
	last->ai_next = b.list;	/* one list: dead port first */
	while ((rc = net_connect_next(&a, &fd)) == 0) {
		tries++;
		wait_fd(fd, POLLOUT, 1000);
		if (net_connect_result(fd) == 0) {
			ok = 1;
			break;
		}
		CHECK_EQ(errno, ECONNREFUSED, "first address refused");
		close(fd);
	}
	CHECK(ok && tries == 2, "connected to the second address after a "
	    "refusal (%d tries)", tries);
	if (ok)
		close(fd);
	while (net_connect_next(&a, &fd) == 0)
		close(fd);
	errno = 12345;
	CHECK_EQ(net_connect_next(&a, &fd), RTMP_ESYS, "no address left");
	CHECK_EQ(errno, 12345, "and errno is left alone");
	net_addrs_free(&a);	/* frees b's nodes too */
	close(lfd);
}

static int
have_ipv6(void)
{
	struct sockaddr_in6	 sin6;
	int			 s, ok;

	if ((s = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(s, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(s);
	return ok;
}

static void
test_ipv6(void)
{
	struct listen_address	 la;
	char			 peer[NET_ADDRSTRLEN];
	uint16_t		 port;
	int			 lfd, cfd, sfd;

	if (!have_ipv6()) {
		printf("# no IPv6 here: dual-stack tests skipped\n");
		return;
	}
	memset(&la, 0, sizeof(la));	/* host "": every address */
	CHECK_EQ(net_listen(&la, 16, &lfd), 0, "listen on every address");
	net_local_port(lfd, &port);
	CHECK_EQ(net_connect("127.0.0.1", port, &cfd), 0, "connect over IPv4");
	wait_fd(cfd, POLLOUT, 1000);
	sfd = accept_one(lfd, peer, sizeof(peer));
	CHECK(sfd >= 0 && strncmp(peer, "127.0.0.1:", 10) == 0,
	    "dual stack: IPv4 peer shown as %s", peer);
	close(sfd);
	close(cfd);
	CHECK_EQ(net_connect("::1", port, &cfd), 0, "connect over IPv6");
	wait_fd(cfd, POLLOUT, 1000);
	sfd = accept_one(lfd, peer, sizeof(peer));
	CHECK(sfd >= 0 && strncmp(peer, "[::1]:", 6) == 0,
	    "IPv6 peer shown as %s", peer);
	CHECK(sfd >= 0 && exchange(cfd, sfd), "bytes over IPv6");
	close(sfd);
	close(cfd);
	close(lfd);
}

static void
test_unix(void)
{
	struct listen_address	 la;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 dir[] = "/tmp/rtmpkit-net-XXXXXX", want[256];
	char			 name[NET_ADDRSTRLEN];
	struct stat		 st;
	int			 lfd, lfd2, cfd, sfd, f;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	memset(&la, 0, sizeof(la));
	la.family_unix = 1;
	snprintf(la.path, sizeof(la.path), "%s/s", dir);
	CHECK_EQ(net_listen(&la, 16, &lfd), 0, "listen on a unix socket");
	getsockname(lfd, (struct sockaddr *)&ss, &len);
	net_format_address((struct sockaddr *)&ss, len, name, sizeof(name));
	snprintf(want, sizeof(want), "unix:%s", la.path);
	CHECK(strcmp(name, want) == 0, "unix address formatted %s", name);
	CHECK_EQ(net_connect_unix(la.path, &cfd), 0, "connect to unix socket");
	sfd = accept_one(lfd, NULL, 0);
	CHECK(sfd >= 0 && exchange(cfd, sfd), "bytes over a unix socket");
	CHECK_EQ(net_set_nodelay(sfd), 0, "nodelay is a no-op on unix sockets");
	close(cfd);
	close(sfd);

	errno = 0;
	CHECK_EQ(net_listen(&la, 16, &lfd2), RTMP_ESYS, "a live socket is not taken");
	CHECK_EQ(errno, EADDRINUSE, "EADDRINUSE");
	CHECK_EQ(net_connect_unix(la.path, &cfd), 0, "first listener still there");
	sfd = accept_one(lfd, NULL, 0);
	CHECK(sfd >= 0, "and still accepts");
	close(cfd);
	close(sfd);
	close(lfd);		/* the file stays: stale */
	CHECK_EQ(net_listen(&la, 16, &lfd), 0, "stale socket file replaced");
	close(lfd);
	unlink(la.path);

	f = open(la.path, O_WRONLY | O_CREAT, 0600);
	close(f);
	CHECK_EQ(net_listen(&la, 16, &lfd), RTMP_ESYS, "a regular file is in the way");
	CHECK(stat(la.path, &st) == 0 && S_ISREG(st.st_mode),
	    "and is not removed");
	unlink(la.path);
	rmdir(dir);
}

static void
test_format(void)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr_un	 sun;
	struct sockaddr		 bogus;
	char			 out[NET_ADDRSTRLEN], small[8], host[64];
	uint16_t		 port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5000);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	net_format_address((struct sockaddr *)&sin, sizeof(sin), out,
	    sizeof(out));
	CHECK(strcmp(out, "127.0.0.1:5000") == 0, "ipv4: %s", out);
	net_format_address((struct sockaddr *)&sin, sizeof(sin), small,
	    sizeof(small));
	CHECK(strcmp(small, "127.0.0") == 0, "truncated, NUL-terminated");
	net_format_address((struct sockaddr *)&sin, 4, out, sizeof(out));
	CHECK(strcmp(out, "?") == 0, "short length is ?");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(5000);
	sin6.sin6_addr = in6addr_loopback;
	net_format_address((struct sockaddr *)&sin6, sizeof(sin6), out,
	    sizeof(out));
	CHECK(strcmp(out, "[::1]:5000") == 0, "ipv6: %s", out);
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	net_format_address((struct sockaddr *)&sin6, sizeof(sin6), out,
	    sizeof(out));
	CHECK(strcmp(out, "10.1.2.3:5000") == 0, "v4-mapped: %s", out);
	CHECK_EQ(net_address_split((struct sockaddr *)&sin6, sizeof(sin6), host,
	    sizeof(host), &port), 0, "split");
	CHECK(strcmp(host, "10.1.2.3") == 0 && port == 5000, "split %s %u",
	    host, port);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, "/run/rtmp.sock", sizeof(sun.sun_path));
	net_format_address((struct sockaddr *)&sun, sizeof(sun), out,
	    sizeof(out));
	CHECK(strcmp(out, "unix:/run/rtmp.sock") == 0, "unix: %s", out);
	memset(sun.sun_path, 'a', sizeof(sun.sun_path));	/* no NUL */
	net_format_address((struct sockaddr *)&sun, sizeof(sun), out,
	    sizeof(out));
	CHECK(strlen(out) == 5 + sizeof(sun.sun_path), "unterminated path "
	    "bounded");
	net_format_address((struct sockaddr *)&sun, sizeof(sa_family_t), out,
	    sizeof(out));
	CHECK(strcmp(out, "unix:") == 0, "unnamed unix peer: %s", out);

	memset(&bogus, 0, sizeof(bogus));
	bogus.sa_family = AF_APPLETALK;
	net_format_address(&bogus, sizeof(bogus), out, sizeof(out));
	CHECK(strcmp(out, "?") == 0, "unknown family is ?");
}

enum {
	LF_RC = 1, LF_N = 2, LF_FD = 4, LF_FLAGS = 8, LF_ENV = 16,
	LF_ACCEPT = 32, LF_SETUP = 64
};

/* In a child: fd 3 is ours to take. */
static int
listen_fds_child(void)
{
	struct listen_address	 la;
	char			 pid[32];
	uint16_t		 port;
	size_t			 n = 0;
	int			*fds = NULL, s, c, a, bad = 0;

	memset(&la, 0, sizeof(la));
	strlcpy(la.host, "127.0.0.1", sizeof(la.host));
	if (net_listen(&la, 4, &s) < 0 || net_local_port(s, &port) < 0)
		return LF_SETUP;
	if (s != 3) {
		if (dup2(s, 3) == -1)
			return LF_SETUP;
		close(s);
	}
	/* As systemd passes them: blocking, inheritable. */
	fcntl(3, F_SETFD, 0);
	fcntl(3, F_SETFL, fcntl(3, F_GETFL) & ~O_NONBLOCK);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", "rtmp", 1);
	if (net_listen_fds(&fds, &n) != 0)
		bad |= LF_RC;
	if (n != 1)
		bad |= LF_N;
	if (n != 1 || fds == NULL || fds[0] != 3)
		return bad | LF_FD;
	if (!fd_flags_ok(3))
		bad |= LF_FLAGS;
	if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") ||
	    getenv("LISTEN_FDNAMES"))
		bad |= LF_ENV;
	if (net_connect("127.0.0.1", port, &c) < 0 ||
	    (a = accept_one(3, NULL, 0)) < 0 || !exchange(c, a))
		bad |= LF_ACCEPT;
	free(fds);
	return bad;
}

static void
test_listen_fds(void)
{
	int	*fds = (int *)1, status, bad;
	size_t	 n = 7;
	pid_t	 pid;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	CHECK_EQ(net_listen_fds(&fds, &n), 0, "not activated: 0");
	CHECK(n == 0 && fds == NULL, "not activated: no fds");

	setenv("LISTEN_PID", "1", 1);	/* somebody else's */
	setenv("LISTEN_FDS", "2", 1);
	CHECK_EQ(net_listen_fds(&fds, &n), 0, "other pid: 0");
	CHECK(n == 0 && getenv("LISTEN_FDS") == NULL,
	    "other pid: no fds, variables unset");

	setenv("LISTEN_PID", "12x", 1);
	setenv("LISTEN_FDS", "1", 1);
	CHECK_EQ(net_listen_fds(&fds, &n), RTMP_EINVAL, "bad LISTEN_PID");
	{
		char	 pid_s[32];

		snprintf(pid_s, sizeof(pid_s), "%ld", (long)getpid());
		setenv("LISTEN_PID", pid_s, 1);
		setenv("LISTEN_FDS", "100000", 1);
		CHECK_EQ(net_listen_fds(&fds, &n), RTMP_EINVAL,
		    "LISTEN_FDS past the cap");
		setenv("LISTEN_PID", pid_s, 1);
		setenv("LISTEN_FDS", "-1", 1);
		CHECK_EQ(net_listen_fds(&fds, &n), RTMP_EINVAL, "negative LISTEN_FDS");
	}

	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(listen_fds_child());
	waitpid(pid, &status, 0);
	bad = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
	CHECK(!(bad & LF_SETUP), "child set up fd 3");
	CHECK(!(bad & LF_RC) && !(bad & LF_N), "LISTEN_FDS=1 gives one fd");
	CHECK(!(bad & LF_FD), "the fd is 3");
	CHECK(!(bad & LF_FLAGS), "fd 3 made non-blocking, close-on-exec");
	CHECK(!(bad & LF_ENV), "LISTEN_* unset");
	CHECK(!(bad & LF_ACCEPT), "inherited listener accepts");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_tcp();
	test_fallback();
	test_fallback_refused();
	test_ipv6();
	test_unix();
	test_format();
	test_listen_fds();
	return unit_done();
}
