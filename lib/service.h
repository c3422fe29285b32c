/*
 * service.h: what an operator's tools see of a server process besides its
 * sockets: the pidfile and the process title (ps, top).  Both are
 * process-wide, as the process is; readiness for systemd is notify.h's.
 *
 * Title: service_title_init() must run first in main, before getopt(3):
 * libbsd's setproctitle_init() moves the environment and copies argv[1..]
 * out of the area a title overwrites, so strings taken from argv stay
 * valid.  service_title() then shows "COMMAND LINE: text", the command
 * line as it was given (so `pgrep -f` patterns on its start still match)
 * followed by what the process serves now.  libbsd cuts a title to the
 * area argv and the environment had; with a small environment that cuts
 * the text, and can cut the command line's last bytes, so tools should
 * find a server by its name (pgrep -x, /proc/PID/comm is never changed),
 * its pidfile or its sockets, not by the end of its command line.
 *
 * Pidfile: libbsd's pidfile(3).  service_pidfile_open() creates and locks
 * the file, failing with "already running as pid N" when another process
 * holds it; service_pidfile_write() writes our pid once start-up is done;
 * service_pidfile_remove() unlinks it at exit.  A pidfile is never
 * inherited: the commands a server starts do not hold its lock.  All
 * return 0 or RTMP_E* with the reason in err.
 */
#ifndef RTMPKIT_SERVICE_H
#define RTMPKIT_SERVICE_H

#include <stddef.h>

#define SERVICE_TITLE_MAX	512	/* the text after the command line */

void	 service_title_init(int argc, char *argv[]);
void	 service_title(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));

int	 service_pidfile_open(const char *path, char *err, size_t errsize);
int	 service_pidfile_write(char *err, size_t errsize);
void	 service_pidfile_remove(void);

#endif
