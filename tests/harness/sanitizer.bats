#!/usr/bin/env bats
# Fixture for tests/bats/harness.bats, not part of the suite: a sanitizer
# report from a program a test ran fails the test, whatever the test
# checked.  No teardown here: helpers.bash's default one runs stop_all.

load ../bats/helpers

setup_file() {
	timeout 60 cc -O0 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-o "$BATS_FILE_TMPDIR/bug" "$BATS_TEST_DIRNAME/bug.c"
}

@test "fixture: an ASan report fails the test that ran the program" {
	run timeout 10 "$BATS_FILE_TMPDIR/bug" overflow
	# the sanitizers' own exit status (tests/run), not a plain failure's 1
	[ "$status" -eq 86 ]
}

@test "fixture: a UBSan report of a spawned program fails the test" {
	spawn bug "$BATS_FILE_TMPDIR/bug" shift
	wait_status "$SPAWNED" 10
	[ "$STATUS" -eq 86 ]
}

@test "fixture: a clean run passes" {
	run timeout 10 "$BATS_FILE_TMPDIR/bug" none
	[ "$status" -eq 0 ]
}
