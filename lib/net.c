#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "net.h"

#define SOCK_FLAGS	(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)

static void
net_close_keep_errno(int fd)
{
	int	 saved = errno;

	close(fd);
	errno = saved;
}

static int
net_is_localhost(const char *host)
{
	size_t	 len = strlen(host);

	if (len > 0 && host[len - 1] == '.')
		len--;		/* the fully qualified "localhost." */
	return (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (len > 10 && strncasecmp(host + len - 10, ".localhost", 10) == 0);
}

int
net_resolve(const char *host, uint16_t port, struct net_addrs *a)
{
	struct addrinfo	 hints;
	char		 name[256], serv[8];
	size_t		 len = strlen(host);
	int		 rc;

	memset(a, 0, sizeof(*a));
	/* Accept "[::1]" as well as "::1". */
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		if (len - 2 >= sizeof(name))
			return RTMP_EINVAL;
		memcpy(name, host + 1, len - 2);
		name[len - 2] = '\0';
		host = name;
	}
	snprintf(serv, sizeof(serv), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, serv, &hints, &a->list);
	/*
	 * "localhost" is the loopback whatever the resolver says (RFC 6761
	 * 6.3): a minimal system or container may have no /etc/hosts, and
	 * asking DNS for it would fail or, worse, answer.
	 */
	if ((rc == EAI_NONAME || rc == EAI_AGAIN || rc == EAI_FAIL) &&
	    net_is_localhost(host)) {
		hints.ai_flags |= AI_NUMERICHOST;
		rc = getaddrinfo("127.0.0.1", serv, &hints, &a->list);
	}
	switch (rc) {
	case 0:
		a->next = a->list;
		return 0;
	case EAI_MEMORY:
		return RTMP_ENOMEM;
	case EAI_SYSTEM:
		return RTMP_ESYS;
	default:
		return RTMP_ERESOLVE;
	}
}

int
net_connect_next(struct net_addrs *a, int *fd)
{
	struct addrinfo	*ai;
	int		 s, tried = 0, err = 0;

	while ((ai = a->next) != NULL) {
		a->next = ai->ai_next;
		tried = 1;
		if ((s = socket(ai->ai_family, SOCK_FLAGS, 0)) == -1) {
			err = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			a->cur = ai;
			*fd = s;
			return 0;
		}
		err = errno;
		close(s);
	}
	if (tried)
		errno = err;
	return RTMP_ESYS;
}

void
net_addrs_free(struct net_addrs *a)
{
	if (a->list != NULL)
		freeaddrinfo(a->list);
	memset(a, 0, sizeof(*a));
}

int
net_connect(const char *host, uint16_t port, int *fd)
{
	struct net_addrs	 a;
	int			 rc;

	if ((rc = net_resolve(host, port, &a)) < 0)
		return rc;
	rc = net_connect_next(&a, fd);
	net_addrs_free(&a);
	return rc;
}

static int
net_unix_address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (path[0] == '\0') {
		errno = EINVAL;
		return RTMP_EINVAL;
	}
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return RTMP_EINVAL;
	}
	return 0;
}

int
net_connect_unix(const char *path, int *fd)
{
	struct sockaddr_un	 sun;
	int			 s;

	if (net_unix_address(path, &sun) < 0)
		return RTMP_EINVAL;
	if ((s = socket(AF_UNIX, SOCK_FLAGS, 0)) == -1)
		return RTMP_ESYS;
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		net_close_keep_errno(s);
		return RTMP_ESYS;
	}
	*fd = s;
	return 0;
}

int
net_connect_result(int fd)
{
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return RTMP_ESYS;
	if (err != 0) {
		errno = err;
		return RTMP_ESYS;
	}
	return 0;
}

/* A socket file nobody accepts on is left over from a dead server. */
static int
net_unix_stale(const struct sockaddr_un *sun)
{
	struct stat	 st;
	int		 s, rc, err;

	if (lstat(sun->sun_path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;
	if ((s = socket(AF_UNIX, SOCK_FLAGS, 0)) == -1)
		return 0;
	rc = connect(s, (const struct sockaddr *)sun, sizeof(*sun));
	err = errno;
	close(s);
	return rc == -1 && err == ECONNREFUSED;
}

static int
net_listen_unix(const char *path, int backlog, int *fd)
{
	struct sockaddr_un	 sun;
	int			 s, rc;

	if (net_unix_address(path, &sun) < 0)
		return RTMP_EINVAL;
	if ((s = socket(AF_UNIX, SOCK_FLAGS, 0)) == -1)
		return RTMP_ESYS;
	rc = bind(s, (struct sockaddr *)&sun, sizeof(sun));
	if (rc == -1 && errno == EADDRINUSE && net_unix_stale(&sun)) {
		(void)unlink(sun.sun_path);
		rc = bind(s, (struct sockaddr *)&sun, sizeof(sun));
	}
	if (rc == -1 || listen(s, backlog) == -1) {
		net_close_keep_errno(s);
		return RTMP_ESYS;
	}
	*fd = s;
	return 0;
}

static int
net_listen_ai(const struct addrinfo *ai, int backlog)
{
	const struct sockaddr_in6	*sin6;
	int				 s, on = 1, v6only;

	if ((s = socket(ai->ai_family, SOCK_FLAGS, 0)) == -1)
		return -1;
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (ai->ai_family == AF_INET6) {
		/* Only the wildcard serves both families. */
		sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
		v6only = !IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
		if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only)) == -1)
			goto fail;
	}
	if (bind(s, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(s, backlog) == -1)
		goto fail;
	return s;
fail:
	net_close_keep_errno(s);
	return -1;
}

static int
net_listen_tcp(const char *host, uint16_t port, int backlog, int *fd)
{
	struct addrinfo	 hints, *res, *ai;
	char		 serv[8];
	int		 s = -1, rc;

	snprintf(serv, sizeof(serv), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0)
		return rc == EAI_SYSTEM ? RTMP_ESYS : RTMP_ERESOLVE;
	errno = EADDRNOTAVAIL;
	for (ai = res; ai != NULL && s == -1; ai = ai->ai_next)
		s = net_listen_ai(ai, backlog);
	freeaddrinfo(res);
	if (s == -1)
		return RTMP_ESYS;
	*fd = s;
	return 0;
}

int
net_listen(const struct listen_address *a, int backlog, int *fd)
{
	char	 host[256];
	size_t	 len;
	int	 rc;

	if (a->family_unix)
		return net_listen_unix(a->path, backlog, fd);
	len = strnlen(a->host, sizeof(a->host));
	if (len >= sizeof(host))
		return RTMP_EINVAL;
	if (len >= 2 && a->host[0] == '[' && a->host[len - 1] == ']') {
		memcpy(host, a->host + 1, len - 2);
		host[len - 2] = '\0';
	} else
		memcpy(host, a->host, len + 1);
	if (host[0] != '\0' && strcmp(host, "*") != 0)
		return net_listen_tcp(host, a->port, backlog, fd);
	/* Everything: dual stack where there is IPv6, else IPv4. */
	rc = net_listen_tcp("::", a->port, backlog, fd);
	if (rc == RTMP_ESYS && (errno == EAFNOSUPPORT ||
	    errno == EADDRNOTAVAIL))
		rc = net_listen_tcp("0.0.0.0", a->port, backlog, fd);
	return rc;
}

int
net_accept(int lfd, int *fd, struct sockaddr_storage *peer,
    socklen_t *peerlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 s;

	s = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s == -1) {
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
		case EINTR:
		case ECONNABORTED:
		/* Linux passes pending network errors of the new socket. */
		case EPROTO:
		case ENETDOWN:
		case ENOPROTOOPT:
		case EHOSTDOWN:
		case ENONET:
		case EHOSTUNREACH:
		case ENETUNREACH:
			return NET_AGAIN;
		}
		return RTMP_ESYS;
	}
	if (peer != NULL) {
		if (len > sizeof(*peer))
			len = sizeof(*peer);
		memcpy(peer, &ss, len);
	}
	if (peerlen != NULL)
		*peerlen = len;
	*fd = s;
	return 0;
}

int
net_set_nodelay(int fd)
{
	int	 on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1) {
		if (errno == EOPNOTSUPP || errno == ENOPROTOOPT)
			return 0;
		return RTMP_ESYS;
	}
	return 0;
}

int
net_set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return RTMP_ESYS;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return RTMP_ESYS;
	return 0;
}

int
net_local_port(int fd, uint16_t *port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return RTMP_ESYS;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return RTMP_EINVAL;
	return net_address_split((struct sockaddr *)&ss, len, host,
	    sizeof(host), port);
}

int
net_address_split(const struct sockaddr *sa, socklen_t len, char *host,
    size_t hostsize, uint16_t *port)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const struct sockaddr_un	*sun;
	struct in_addr			 v4;
	size_t				 n;

	*port = 0;
	if (hostsize == 0)
		return RTMP_ESPACE;
	host[0] = '\0';
	if (len < (socklen_t)sizeof(sa->sa_family))
		return RTMP_EINVAL;
	switch (sa->sa_family) {
	case AF_INET:
		if (len < (socklen_t)sizeof(*sin))
			return RTMP_EINVAL;
		sin = (const struct sockaddr_in *)sa;
		*port = ntohs(sin->sin_port);
		if (inet_ntop(AF_INET, &sin->sin_addr, host, hostsize) == NULL)
			return RTMP_ESPACE;
		return 0;
	case AF_INET6:
		if (len < (socklen_t)sizeof(*sin6))
			return RTMP_EINVAL;
		sin6 = (const struct sockaddr_in6 *)sa;
		*port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			if (inet_ntop(AF_INET, &v4, host, hostsize) == NULL)
				return RTMP_ESPACE;
		} else if (inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    hostsize) == NULL)
			return RTMP_ESPACE;
		return 0;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)sa;
		n = (size_t)len - offsetof(struct sockaddr_un, sun_path);
		if ((size_t)len < offsetof(struct sockaddr_un, sun_path))
			n = 0;
		if (n > sizeof(sun->sun_path))
			n = sizeof(sun->sun_path);
		/* An abstract name starts with NUL: show it as "@name". */
		if (n > 0 && sun->sun_path[0] == '\0') {
			if (n >= hostsize)
				return RTMP_ESPACE;
			host[0] = '@';
			memcpy(host + 1, sun->sun_path + 1, n - 1);
			host[n] = '\0';
			return 0;
		}
		n = strnlen(sun->sun_path, n);
		if (n >= hostsize)
			return RTMP_ESPACE;
		memcpy(host, sun->sun_path, n);
		host[n] = '\0';
		return 0;
	}
	return RTMP_EINVAL;
}

void
net_format_address(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outsize)
{
	char		 host[NET_ADDRSTRLEN];
	uint16_t	 port;

	if (outsize == 0)
		return;
	if (net_address_split(sa, len, host, sizeof(host), &port) < 0) {
		strlcpy(out, "?", outsize);
		return;
	}
	if (sa->sa_family == AF_UNIX)
		snprintf(out, outsize, "unix:%s", host);
	else if (strchr(host, ':') != NULL)
		snprintf(out, outsize, "[%s]:%u", host, port);
	else
		snprintf(out, outsize, "%s:%u", host, port);
}

static void
net_unset_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int
net_listen_fds(int **fds, size_t *n)
{
	const char	*spid, *sfds, *errstr;
	long long	 pid, count, i;
	int		*v, fd, fl;

	*fds = NULL;
	*n = 0;
	spid = getenv("LISTEN_PID");
	sfds = getenv("LISTEN_FDS");
	if (spid == NULL || sfds == NULL) {
		net_unset_listen_env();
		return 0;
	}
	pid = strtonum(spid, 1, INT_MAX, &errstr);
	if (errstr != NULL) {
		net_unset_listen_env();
		return RTMP_EINVAL;
	}
	if (pid != (long long)getpid()) {
		/* Meant for another process (our parent, say). */
		net_unset_listen_env();
		return 0;
	}
	count = strtonum(sfds, 0, NET_LISTEN_FDS_MAX, &errstr);
	net_unset_listen_env();
	if (errstr != NULL)
		return RTMP_EINVAL;
	if (count == 0)
		return 0;
	if ((v = calloc((size_t)count, sizeof(*v))) == NULL)
		return RTMP_ENOMEM;
	for (i = 0; i < count; i++) {
		fd = 3 + (int)i;
		if ((fl = fcntl(fd, F_GETFD)) == -1 ||
		    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1 ||
		    net_set_nonblock(fd) < 0) {
			free(v);
			return RTMP_ESYS;
		}
		v[i] = fd;
	}
	*fds = v;
	*n = (size_t)count;
	return 0;
}
