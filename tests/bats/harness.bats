#!/usr/bin/env bats
# The test runner itself: tests/run on the fixtures in tests/harness (which
# the suite does not run) must count what happened, no more.  A skip is not
# a pass; a run cut short, a plan not met, a non-zero exit nobody explained
# or a sanitizer report is a failure with a "not ok - why" line; the last
# line is always "N passed, N failed", after "# N skipped".

load helpers

RUN=$BATS_TEST_DIRNAME/../run

setup() {
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

# harness FIXTURE [NAME=VALUE...]: tests/run on tests/harness/FIXTURE.bats
# (after the fake unit binary if HARNESS_UNIT is given), in a clean
# environment plus NAME=VALUEs.  Sets status and output; prints both.
harness() {
	local f=$1 unit='' path
	shift
	case " $* " in
	*" HARNESS_UNIT="*) unit=tests/harness/unit ;;
	esac
	# Our bats put its libexec first: "bats" there is not the command.
	path=:$PATH:
	path=${path//:$BATS_LIBEXEC:/:}
	path=${path#:}
	run timeout 60 env -i PATH="${path%:}" HOME="$HOME" TMPDIR="$T" \
		RTMPKIT_UNIT="$unit" RTMPKIT_BATS="tests/harness/$f.bats" "$@" "$RUN"
	echo "status $status"
	echo "$output"
}

# ends SKIPPED SUMMARY: the last two lines of the output.
ends() {
	[ "${lines[-2]}" = "# $1 skipped" ] ||
		fail "next to last line '${lines[-2]}', want '# $1 skipped'" || return 1
	[ "${lines[-1]}" = "$2" ] || fail "last line '${lines[-1]}', want '$2'"
}

# says LINE: one line of the output is exactly LINE.
says() {
	printf '%s\n' "$output" | grep -qxF -- "$1" || fail "no line '$1'"
}

@test "harness: all passing is N passed, 0 failed and exit 0" {
	harness pass
	[ "$status" -eq 0 ]
	ends 0 "2 passed, 0 failed"
}

@test "harness: a skip is counted as skipped, not passed" {
	harness skip
	[ "$status" -eq 0 ]
	ends 1 "1 passed, 0 failed"
}

@test "harness: a failing test fails the run, counted once" {
	harness fail
	[ "$status" -eq 1 ]
	ends 0 "1 passed, 1 failed"
	refute says "not ok - bats exited with status 1"
}

@test "harness: bats killed by the timeout is a failure, not a short pass" {
	local start
	start=$(now)
	harness hang RTMPKIT_BATS_TIMEOUT=3
	within "$(elapsed_since "$start")" 0 20
	[ "$status" -eq 1 ]
	says "not ok - bats cut short by the 3 s timeout (1 of 3 results)"
	ends 0 "1 passed, 1 failed"
}

@test "harness: a bats run that reports fewer results than its plan fails" {
	harness short
	[ "$status" -eq 1 ]
	says "not ok - bats reported 2 of 3 planned results, exit status 1"
	ends 0 "2 passed, 1 failed"
}

@test "harness: bats that prints no plan (a missing file) fails" {
	harness missing
	[ "$status" -eq 1 ]
	says "not ok - bats printed no plan (1..N), exit status 1"
	ends 0 "0 passed, 1 failed"
}

@test "harness: a unit binary's plan, exit status and death count" {
	harness pass HARNESS_UNIT=ok
	[ "$status" -eq 0 ]
	ends 0 "4 passed, 0 failed"
	harness pass HARNESS_UNIT=short
	[ "$status" -eq 1 ]
	says "not ok - tests/harness/unit reported 1 of 2 planned results, exit status 0"
	ends 0 "3 passed, 1 failed"
	harness pass HARNESS_UNIT=died
	[ "$status" -eq 1 ]
	says "not ok - tests/harness/unit printed no plan (1..N), exit status 137"
	ends 0 "3 passed, 1 failed"
	harness pass HARNESS_UNIT=status
	[ "$status" -eq 1 ]
	says "not ok - tests/harness/unit exited with status 3"
	ends 0 "3 passed, 1 failed"
}

@test "harness: a unit binary's sanitizer report fails it" {
	harness pass HARNESS_UNIT=sanitizer
	[ "$status" -eq 1 ]
	says "not ok - tests/harness/unit printed a sanitizer report"
	ends 0 "3 passed, 1 failed"
}

@test "harness: sanitizers exit 86, after the options already set" {
	harness pass HARNESS_UNIT=env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=
	[ "$status" -eq 0 ]
	says "# ASAN_OPTIONS=detect_leaks=1:exitcode=86:log_path=stderr"
	says "# UBSAN_OPTIONS=exitcode=86:log_path=stderr"
}

@test "harness: a sanitizer report of a program a bats test ran fails that test" {
	require cc
	harness sanitizer
	[ "$status" -eq 1 ]
	says "not ok 1 fixture: an ASan report fails the test that ran the program"
	says "not ok 2 fixture: a UBSan report of a spawned program fails the test"
	says "ok 3 fixture: a clean run passes"
	[[ "$output" == *"ERROR: AddressSanitizer: heap-buffer-overflow"* ]]
	[[ "$output" == *"runtime error: shift exponent"* ]]
	ends 0 "1 passed, 2 failed"
}
