#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

static struct {
	char	 name[64];
	char	*path;		/* NULL: stderr */
	int	 fd;		/* -1: stderr */
	int	 level;
} logger = { "", NULL, -1, LOG_LEVEL_INFO };

static void	log_vwrite(int, const char *, va_list)
		    __attribute__((__format__(__printf__, 2, 0)));

static int
log_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int
log_init(const char *progname, int level, const char *path)
{
	int	 fd = -1, saved;

	if (progname == NULL)
		progname = getprogname();
	strlcpy(logger.name, progname != NULL ? progname : "rtmpkit",
	    sizeof(logger.name));
	logger.level = level;
	if (logger.fd != -1)
		close(logger.fd);
	logger.fd = -1;
	free(logger.path);
	logger.path = NULL;
	if (path == NULL)
		return 0;
	if ((fd = log_open(path)) == -1)
		return RTMP_ESYS;
	if ((logger.path = strdup(path)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return RTMP_ESYS;
	}
	logger.fd = fd;
	return 0;
}

int
log_reopen(void)
{
	int	 fd;

	if (logger.path == NULL)
		return 0;
	if ((fd = log_open(logger.path)) == -1)
		return RTMP_ESYS;
	close(logger.fd);
	logger.fd = fd;
	return 0;
}

void
log_setlevel(int level)
{
	logger.level = level;
}

int
log_getlevel(void)
{
	return logger.level;
}

/* Append s to line[*n], escaping control bytes; keep room for "...\n". */
static void
log_append(char *line, size_t *n, const char *s, int escape)
{
	static const char	 hex[] = "0123456789abcdef";
	const size_t		 room = LOG_LINE_MAX - 4;
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (escape && (c < 0x20 || c == 0x7f)) {
			if (*n + 4 > room)
				goto cut;
			line[(*n)++] = '\\';
			line[(*n)++] = 'x';
			line[(*n)++] = hex[c >> 4];
			line[(*n)++] = hex[c & 0xf];
			continue;
		}
		if (*n + 1 > room)
			goto cut;
		line[(*n)++] = (char)c;
	}
	return;
cut:
	memcpy(line + *n, "...", 3);
	*n += 3;
}

static void
log_vwrite(int with_errno, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX], msg[LOG_LINE_MAX], stamp[48];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n = 0;
	ssize_t		 w;
	int		 saved = errno, fd;

	if (logger.name[0] == '\0') {
		const char	*p = getprogname();

		strlcpy(logger.name, p != NULL ? p : "rtmpkit",
		    sizeof(logger.name));
	}
	if (logger.fd != -1) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp),
		    ".%03ldZ ", ts.tv_nsec / 1000000);
		log_append(line, &n, stamp, 0);
	}
	log_append(line, &n, logger.name, 1);
	log_append(line, &n, ": ", 0);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_append(line, &n, msg, 1);
	if (with_errno) {
		log_append(line, &n, ": ", 0);
		log_append(line, &n, strerror(saved), 1);
	}
	line[n++] = '\n';
	fd = logger.fd != -1 ? logger.fd : STDERR_FILENO;
	do
		w = write(fd, line, n);
	while (w == -1 && errno == EINTR);
	errno = saved;
}

#define LOG_FUNC(name, lvl, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
								\
	if (logger.level < (lvl))				\
		return;						\
	va_start(ap, fmt);					\
	log_vwrite((with_errno), fmt, ap);			\
	va_end(ap);						\
}

LOG_FUNC(log_errorx, LOG_LEVEL_ERROR, 0)
LOG_FUNC(log_error, LOG_LEVEL_ERROR, 1)
LOG_FUNC(log_warn, LOG_LEVEL_WARN, 1)
LOG_FUNC(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FUNC(log_info, LOG_LEVEL_INFO, 0)
LOG_FUNC(log_debug, LOG_LEVEL_DEBUG, 0)
