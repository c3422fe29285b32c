#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "unit.h"

static char	 dir[] = "/tmp/rtmpkit-log-XXXXXX";
static char	 path[128];

static char *
slurp(const char *p)
{
	size_t		 len;
	unsigned char	*b = unit_read_file(p, &len), *s;

	if (b == NULL)
		return strdup("");
	s = realloc(b, len + 1);
	s[len] = '\0';
	return (char *)s;
}

static int
matches(const char *s, const char *re)
{
	regex_t	 r;
	int	 ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void
test_file(void)
{
	char	*s, big[3000], rotated[160];
	int	 e;

	snprintf(path, sizeof(path), "%s/test.log", dir);
	CHECK(log_init("rtmp-test", LOG_LEVEL_INFO, path) == 0, "log_init");
	log_info("peer %s stream %s: publish start", "127.0.0.1:5000",
	    "live/cam");
	s = slurp(path);
	if (!CHECK(matches(s, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}Z rtmp-test: peer 127\\.0\\.0\\.1:5000 "
	    "stream live/cam: publish start\n$"), "file line format"))
		printf("# %s", s);
	free(s);

	truncate(path, 0);
	log_debug("hidden");
	log_setlevel(LOG_LEVEL_DEBUG);
	log_debug("shown");
	CHECK(log_getlevel() == LOG_LEVEL_DEBUG, "log_getlevel");
	s = slurp(path);
	CHECK(strstr(s, "hidden") == NULL && strstr(s, "shown") != NULL,
	    "levels filter");
	free(s);

	truncate(path, 0);
	errno = ENOENT;
	log_warn("open %s", "x.flv");
	e = errno;
	s = slurp(path);
	if (!CHECK(matches(s, "rtmp-test: open x\\.flv: No such file or "
	    "directory\n$"), "log_warn appends strerror"))
		printf("# %s", s);
	CHECK(e == ENOENT, "errno preserved");
	free(s);

	truncate(path, 0);
	log_warnx("stream %s: bad", "a\nb\x1b[31m");
	s = slurp(path);
	if (!CHECK(matches(s, "stream a\\\\x0ab\\\\x1b\\[31m: bad\n$") &&
	    strchr(s, '\n') == s + strlen(s) - 1,
	    "control bytes escaped, one line"))
		printf("# %s", s);
	free(s);

	truncate(path, 0);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	s = slurp(path);
	CHECK(strlen(s) <= LOG_LINE_MAX && matches(s, "y\\.\\.\\.\n$"),
	    "long line cut to %zu bytes with ...", strlen(s));
	free(s);

	truncate(path, 0);
	log_setlevel(LOG_LEVEL_ERROR);
	log_warnx("not at error level");
	log_errorx("fatal: %d", 42);
	s = slurp(path);
	CHECK(strstr(s, "not at") == NULL && strstr(s, "fatal: 42\n") != NULL,
	    "errors pass at LOG_LEVEL_ERROR, warnings do not");
	free(s);
	log_setlevel(LOG_LEVEL_INFO);

	/* logrotate: move the file away, SIGHUP, reopen. */
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	rename(path, rotated);
	log_info("before reopen");
	CHECK(log_reopen() == 0, "log_reopen");
	log_info("after reopen");
	s = slurp(rotated);
	CHECK(strstr(s, "before reopen") && !strstr(s, "after reopen"),
	    "old file has the old lines");
	free(s);
	s = slurp(path);
	CHECK(strstr(s, "after reopen") && !strstr(s, "before reopen"),
	    "new file has the new lines");
	free(s);
	unlink(rotated);
}

/* Two processes, one file: every line arrives whole. */
static void
test_interleave(void)
{
	char	*s, *line, *save = NULL, pad[200];
	pid_t	 pid[2];
	int	 i, k, lines = 0, bad = 0;

	truncate(path, 0);
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (k = 0; k < 2; k++) {
		fflush(stdout);
		if ((pid[k] = fork()) == 0) {
			for (i = 0; i < 2000; i++)
				log_info("child %d line %d %s end", k, i, pad);
			_exit(0);
		}
	}
	for (k = 0; k < 2; k++)
		waitpid(pid[k], NULL, 0);
	s = slurp(path);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lines++;
		if (!matches(line, "^[0-9T:.Z-]+ rtmp-test: child [01] line "
		    "[0-9]+ p+ end$"))
			bad++;
	}
	CHECK(lines == 4000 && bad == 0, "4000 lines from 2 processes, "
	    "%d malformed", bad);
	free(s);
}

static void
test_stderr(void)
{
	char	 buf[256];
	int	 p[2], saved;
	ssize_t	 n;

	if (pipe(p) == -1)
		return;
	saved = dup(2);
	dup2(p[1], 2);
	log_init("rtmp-test", LOG_LEVEL_INFO, NULL);
	log_warnx("peer %s: handshake timeout", "[::1]:5000");
	dup2(saved, 2);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(p[0]);
	if (!CHECK(strcmp(buf, "rtmp-test: peer [::1]:5000: handshake timeout\n")
	    == 0, "stderr line without a timestamp"))
		printf("# %s", buf);
	CHECK(log_init("rtmp-test", LOG_LEVEL_INFO, "/nonexistent/dir/x.log")
	    == RTMP_ESYS, "unwritable log file is RTMP_ESYS");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return unit_done();
	}
	test_file();
	test_interleave();
	test_stderr();
	unlink(path);
	rmdir(dir);
	return unit_done();
}
