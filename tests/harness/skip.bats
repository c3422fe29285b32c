#!/usr/bin/env bats
# Fixture for tests/bats/harness.bats, not part of the suite: one passes,
# one skips.

@test "fixture: passes" {
	true
}

@test "fixture: skips" {
	skip "a skip is not a pass"
}
