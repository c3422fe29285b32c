/*
 * bug: for tests/harness/sanitizer.bats, a program built with the
 * sanitizers that has the bug its argument names: "overflow" (a heap
 * write past the end, for ASan), "shift" (an undefined shift, for UBSan),
 * anything else none.
 */
#include <stdlib.h>
#include <string.h>

int
main(int argc, char *argv[])
{
	volatile char	*p;
	volatile int	 n = 4;

	if (argc < 2)
		return 0;
	if (strcmp(argv[1], "overflow") == 0) {
		p = malloc(n);
		p[n] = 1;
		free((void *)p);
	} else if (strcmp(argv[1], "shift") == 0)
		return 1 << (n * 10);
	return 0;
}
