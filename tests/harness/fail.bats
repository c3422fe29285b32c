#!/usr/bin/env bats
# Fixture for tests/bats/harness.bats, not part of the suite: one passes,
# one fails.

@test "fixture: passes" {
	true
}

@test "fixture: fails" {
	false
}
