#!/usr/bin/env bats
# Fixture for tests/bats/harness.bats, not part of the suite: the second
# test hangs until tests/run's timeout (RTMPKIT_BATS_TIMEOUT) kills bats,
# so the third never runs.

@test "fixture: passes" {
	true
}

@test "fixture: hangs" {
	sleep 30
}

@test "fixture: never runs" {
	true
}
