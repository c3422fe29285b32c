/*
 * rusage: run a command and report what it cost, for tests/bench/run.
 *
 *	rusage [-t seconds] -o file command [arg ...]
 *
 * Writes one line to file: user and system CPU seconds and wall seconds
 * (microsecond resolution, where GNU time(1) rounds to 10 ms, too coarse
 * for programs that spend 50 ms), peak RSS in KB, and the exit status.
 * The command is our direct child, so the figures are its own.  After
 * -t seconds it gets SIGTERM, and SIGKILL 2 s later.  Exits with the
 * command's status, 128 + the signal that ended it, or 124 (as timeout(1)
 * does) when it had to be stopped, whatever status it then exited with.
 */
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarmed;

static void
onalarm(int sig)
{
	(void)sig;
	alarmed++;
}

static double
tv2s(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static void
usage(void)
{
	fprintf(stderr, "usage: rusage [-t seconds] -o file command [arg ...]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	struct rusage ru;
	struct timespec t0, t1;
	const char *out = NULL;
	FILE *fp;
	pid_t pid;
	long secs = 0;
	int ch, status, rc;

	while ((ch = getopt(argc, argv, "+o:t:")) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 't':
			secs = strtol(optarg, NULL, 10);
			if (secs < 0 || secs > 86400)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (out == NULL || argc == 0)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onalarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		err(1, "sigaction");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		warn("%s", argv[0]);
		_exit(127);
	}
	if (secs > 0)
		alarm(secs);
	/* First alarm: ask it to stop; second, 2 s later: make it. */
	while (wait4(pid, &status, 0, &ru) == -1) {
		if (errno != EINTR)
			err(1, "wait4");
		if (alarmed == 1) {
			kill(pid, SIGTERM);
			alarm(2);
		} else if (alarmed > 1)
			kill(pid, SIGKILL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		rc = 128 + WTERMSIG(status);
	if (alarmed)
		rc = 124;
	if ((fp = fopen(out, "w")) == NULL)
		err(1, "%s", out);
	fprintf(fp, "%.6f %.6f %ld %.6f %d\n", tv2s(ru.ru_utime),
	    tv2s(ru.ru_stime), ru.ru_maxrss,
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, rc);
	if (fclose(fp) == EOF)
		err(1, "%s", out);
	return rc;
}
