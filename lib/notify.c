/*
 * notify.c: sd_notify(3)'s datagram, without libsystemd.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "notify.h"

static struct sockaddr_un	notify_address;
static socklen_t		notify_address_len;

int
notify_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 len;
	int		 rc = RTMP_EINVAL;

	notify_address_len = 0;
	if (path == NULL)
		return 0;
	len = strlen(path);
	/* Not "@" alone, and room for the terminating NUL of a path. */
	if ((path[0] == '/' || (path[0] == '@' && len > 1)) &&
	    len < sizeof(notify_address.sun_path)) {
		memset(&notify_address, 0, sizeof(notify_address));
		notify_address.sun_family = AF_UNIX;
		memcpy(notify_address.sun_path, path, len);
		/* An abstract name starts with a NUL and has no terminator. */
		if (path[0] == '@')
			notify_address.sun_path[0] = '\0';
		notify_address_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    len + (path[0] == '/'));
		rc = 1;
	}
	unsetenv("NOTIFY_SOCKET");
	return rc;
}

int
notify_send(const char *state)
{
	ssize_t	 n;
	int	 fd, saved;

	if (notify_address_len == 0)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return RTMP_ESYS;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_address, notify_address_len);
	saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? RTMP_ESYS : 0;
}
