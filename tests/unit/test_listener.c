/*
 * test_listener: accepting on TCP and unix sockets, pausing at a limit,
 * and the errors an operator sees for a bad or busy address.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "loop.h"
#include "net.h"
#include "unit.h"

static int	 accepted;
static char	 last_peer[NET_ADDRSTRLEN];

static void
on_accept(struct listener *l, int fd, struct tls *tls, const char *peer, void *arg)
{
	(void)l;
	(void)arg;
	accepted += tls == NULL && (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
	    (fcntl(fd, F_GETFD) & FD_CLOEXEC);
	strlcpy(last_peer, peer, sizeof(last_peer));
	close(fd);
}

static void
spin(struct loop *loop, int want)
{
	int	 i;

	for (i = 0; i < 200 && accepted < want; i++)
		loop_once(loop, 10);
}

int
main(void)
{
	struct loop	*loop = loop_new();
	struct listener	*l, *busy;
	char		 err[256], path[64], addr[80];
	int		 fds[3], i, fd, sv[2];

	l = listener_new(loop, "127.0.0.1:0", NULL, on_accept, NULL, err, sizeof(err));
	if (!CHECK(l != NULL && listener_port(l) != 0, "listen on 127.0.0.1:0 (%s)",
	    l == NULL ? err : "ok"))
		return unit_done();
	for (i = 0; i < 3; i++)
		net_connect("127.0.0.1", listener_port(l), &fds[i]);
	spin(loop, 3);
	CHECK_EQ(accepted, 3, "three connections accepted, non-blocking and close-on-exec");
	CHECK(strncmp(last_peer, "127.0.0.1:", 10) == 0, "the peer's address (%s)", last_peer);
	listener_pause(l, 1);
	net_connect("127.0.0.1", listener_port(l), &fd);
	for (i = 0; i < 20; i++)
		loop_once(loop, 10);
	CHECK_EQ(accepted, 3, "paused, nothing is accepted");
	listener_pause(l, 0);
	spin(loop, 4);
	CHECK_EQ(accepted, 4, "resumed, the waiting connection is accepted");
	CHECK_EQ(listener_accepted(l), 4, "the count");
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", listener_port(l));
	busy = listener_new(loop, addr, NULL, on_accept, NULL, err, sizeof(err));
	CHECK(busy == NULL && strstr(err, "Address already in use") != NULL &&
	    strstr(err, addr) != NULL, "a busy address names itself and the cause (%s)", err);
	busy = listener_new(loop, "nonsense", NULL, on_accept, NULL, err, sizeof(err));
	CHECK(busy == NULL && strstr(err, "not a listen address") != NULL,
	    "a bad address says what the syntax is (%s)", err);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	close(fd);
	listener_free(l);

	snprintf(path, sizeof(path), "/tmp/test_listener.%d.sock", (int)getpid());
	snprintf(addr, sizeof(addr), "unix:%s", path);
	l = listener_new(loop, addr, NULL, on_accept, NULL, err, sizeof(err));
	CHECK(l != NULL, "listen on %s", addr);
	if (l != NULL) {
		net_connect_unix(path, &fd);
		spin(loop, 5);
		CHECK_EQ(accepted, 5, "a unix socket connection accepted");
		close(fd);
		listener_free(l);
	}
	unlink(path);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	l = listener_adopt(loop, sv[0], NULL, on_accept, NULL, err, sizeof(err));
	CHECK(l == NULL && strstr(err, "not a listening") != NULL,
	    "a passed fd that is not listening is refused (%s)", err);
	close(sv[1]);
	loop_free(loop);
	return unit_done();
}
