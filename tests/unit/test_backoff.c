/*
 * The reconnect backoff both client programs document in -r: 1 s doubling
 * to 30 s, as many attempts as -r allows, and a fresh start once a
 * connection works again.  The bats tests see the first waits on the
 * wire; the 30 s cap would take minutes to see there.
 */
#include <stdint.h>

#include "client.h"
#include "unit.h"

int
main(void)
{
	static const int64_t	 want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
	struct backoff		 b;
	size_t			 i;

	backoff_init(&b, 8);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ(backoff_next(&b), want[i], "attempt %zu waits %lld ms", i + 1,
		    (long long)want[i]);
	CHECK_EQ(b.used, 8, "eight attempts counted");
	CHECK_EQ(backoff_next(&b), -1, "a ninth is refused");
	CHECK_EQ(backoff_next(&b), -1, "and stays refused");

	backoff_reset(&b);
	CHECK_EQ(b.used, 0, "reset: no attempts used");
	CHECK_EQ(backoff_next(&b), 1000, "reset: 1 s again");
	CHECK_EQ(backoff_next(&b), 2000, "reset: then 2 s");

	/* A reset part way: the doubling starts over, not where it was. */
	backoff_init(&b, 10);
	for (i = 0; i < 5; i++)
		backoff_next(&b);
	backoff_reset(&b);
	CHECK_EQ(backoff_next(&b), 1000, "reset after 16 s: 1 s");

	/* -r 0 never reconnects. */
	backoff_init(&b, 0);
	CHECK_EQ(backoff_next(&b), -1, "-r 0: no attempt");

	/* The cap holds however long it goes on (-r allows a million). */
	backoff_init(&b, 1000000);
	for (i = 0; i < 999999; i++)
		if (backoff_next(&b) > 30000)
			break;
	CHECK_EQ(i, 999999, "no wait above 30 s in 999999 attempts");
	CHECK_EQ(backoff_next(&b), 30000, "the millionth waits 30 s");
	CHECK_EQ(backoff_next(&b), -1, "and there is no more");
	return unit_done();
}
