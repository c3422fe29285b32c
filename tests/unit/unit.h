/*
 * unit.h: a TAP-emitting test harness for the C unit tests.
 *
 * Each CHECK prints "ok N - what" or "not ok N - what (file:line)"; a test
 * program ends with `return unit_done();`, which prints the plan and
 * returns non-zero if anything failed.  tests/run counts the lines.
 * unit_read_file() loads a file whole; unit_read_data() one of tests/data.
 */
#ifndef RTMPKIT_UNIT_H
#define RTMPKIT_UNIT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_count, unit_failed;

static inline int
unit_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	unit_count++;
	if (!ok)
		unit_failed++;
	printf("%sok %d - ", ok ? "" : "not ", unit_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf(" (%s:%d)", file, line);
	printf("\n");
	fflush(stdout);
	return ok;
}

#define CHECK(cond, ...)	unit_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ(a, b, ...)	unit_check_eq((long long)(a), (long long)(b), __FILE__, __LINE__, __VA_ARGS__)

static inline int
unit_check_eq(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;
	int	 ok = got == want;

	unit_count++;
	if (!ok)
		unit_failed++;
	printf("%sok %d - ", ok ? "" : "not ", unit_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf(" (%s:%d)\n#   got %lld, want %lld", file, line, got, want);
	printf("\n");
	fflush(stdout);
	return ok;
}

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_count);
	return unit_failed != 0;
}

/* Where the test data is: $RTMPKIT_DATA, else tests/data from the root. */
static inline const char *
unit_data_dir(void)
{
	const char	*s = getenv("RTMPKIT_DATA");

	return s != NULL ? s : "tests/data";
}

/* Read a whole file; NULL (and *len 0) if it cannot. Caller frees. */
static inline unsigned char *
unit_read_file(const char *path, size_t *len)
{
	FILE		*f;
	unsigned char	*p = NULL;
	long		 n;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc(n ? n : 1)) != NULL) {
		if (fread(p, 1, n, f) != (size_t)n) {
			free(p);
			p = NULL;
		} else
			*len = n;
	}
	fclose(f);
	return p;
}

/*
 * Read tests/data/<rel>.  A file that cannot be read is a failed check
 * that names it: a test never passes on data it did not see.
 */
static inline unsigned char *
unit_read_data(const char *rel, size_t *len)
{
	char		 path[1024];
	unsigned char	*p;

	snprintf(path, sizeof(path), "%s/%s", unit_data_dir(), rel);
	if ((p = unit_read_file(path, len)) == NULL)
		unit_check(0, __FILE__, __LINE__, "read test data %s: %s",
		    path, strerror(errno));
	return p;
}

#endif
