/*
 * service.c: pidfile and process title, both libbsd's.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libutil.h>

#include "error.h"
#include "service.h"

extern char	**environ;

static char		*service_command;	/* the command line as given */
static struct pidfh	*service_pidfh;
static char		 service_pidpath[4096];

void
service_title_init(int argc, char *argv[])
{
	size_t	 len = 0;
	int	 i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((service_command = malloc(len + 1)) == NULL)
		return;
	service_command[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strlcat(service_command, " ", len + 1);
		strlcat(service_command, argv[i], len + 1);
	}
	setproctitle_init(argc, argv, environ);
}

void
service_title(const char *fmt, ...)
{
	char	 text[SERVICE_TITLE_MAX];
	va_list	 ap;

	if (service_command == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* "-": no program name in front, the command line has it. */
	setproctitle("-%s: %s", service_command, text);
}

int
service_pidfile_open(const char *path, char *err, size_t errsize)
{
	pid_t	 other = -1;

	if (strlcpy(service_pidpath, path, sizeof(service_pidpath)) >=
	    sizeof(service_pidpath)) {
		snprintf(err, errsize, "pidfile %s: path too long", path);
		return RTMP_EINVAL;
	}
	if ((service_pidfh = pidfile_open(path, 0644, &other)) == NULL) {
		if (errno == EEXIST && other > 0)
			snprintf(err, errsize, "pidfile %s: already running as pid %ld",
			    path, (long)other);
		else if (errno == EEXIST)
			snprintf(err, errsize, "pidfile %s: locked by another process",
			    path);
		else
			snprintf(err, errsize, "pidfile %s: %s", path, strerror(errno));
		return RTMP_ESYS;
	}
	/* Whatever pidfile(3) opens with: the commands we start hold no lock. */
	fcntl(pidfile_fileno(service_pidfh), F_SETFD, FD_CLOEXEC);
	return 0;
}

int
service_pidfile_write(char *err, size_t errsize)
{
	if (service_pidfh == NULL)
		return 0;
	if (pidfile_write(service_pidfh) < 0) {
		snprintf(err, errsize, "pidfile %s: %s", service_pidpath,
		    strerror(errno));
		return RTMP_ESYS;
	}
	return 0;
}

void
service_pidfile_remove(void)
{
	if (service_pidfh == NULL)
		return;
	pidfile_remove(service_pidfh);
	service_pidfh = NULL;
}
