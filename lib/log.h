/*
 * log.h: one line per event, to a file or to stderr (relayd's log shape).
 *
 * A program calls log_init() once at startup and log_reopen() from its
 * SIGHUP handler (after logrotate moved the file).  Until log_init() is
 * called, messages go to stderr at LOG_LEVEL_INFO under getprogname().
 *
 * Format: to a file, "2026-11-25T09:00:00.123Z progname: message" (UTC,
 * milliseconds); to stderr, "progname: message" (journald and terminals
 * add their own time).  Each line is written with a single write(2) on an
 * O_APPEND descriptor, so lines from several processes sharing the file
 * never interleave.  A line longer than LOG_LINE_MAX is cut and ends in
 * "...".  Control bytes in the message (a peer's stream name holding a
 * newline, say) are written as \xNN so nobody can forge a line.
 *
 * Convention for callers: the message is lower case and starts with what
 * it is about, peer first, stream second, then what happened:
 *	log_info("peer %s stream %s: publish start", c->addr, name);
 *	  -> "peer 127.0.0.1:5000 stream live/cam: publish start"
 *	log_warn("peer %s: write", c->addr);
 *	  -> "peer 127.0.0.1:5000: write: Broken pipe"
 * log_warn() appends ": " and strerror(errno); the others do not.  No
 * function changes errno.  Levels filter: ERROR passes errors only, DEBUG
 * passes everything.  Not thread-safe (rtmpkit programs are single-threaded).
 */
#ifndef RTMPKIT_LOG_H
#define RTMPKIT_LOG_H

#define LOG_LEVEL_ERROR	0
#define LOG_LEVEL_WARN	1
#define LOG_LEVEL_INFO	2
#define LOG_LEVEL_DEBUG	3

#define LOG_LINE_MAX	1024	/* bytes of one line, newline included */

/*
 * path NULL logs to stderr.  If the file cannot be opened, logging falls
 * back to stderr and log_init() returns RTMP_ESYS (errno set), else 0.
 */
int	 log_init(const char *progname, int level, const char *path);
/* Reopen the file given to log_init(); 0, or RTMP_ESYS keeping the old one. */
int	 log_reopen(void);
void	 log_setlevel(int level);
int	 log_getlevel(void);

void	 log_errorx(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	 log_error(const char *fmt, ...)	/* with strerror(errno) */
	    __attribute__((__format__(__printf__, 1, 2)));
void	 log_warn(const char *fmt, ...)		/* with strerror(errno) */
	    __attribute__((__format__(__printf__, 1, 2)));
void	 log_warnx(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	 log_info(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	 log_debug(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));

#endif
