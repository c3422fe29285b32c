#!/usr/bin/env bats
# Fixture for tests/bats/harness.bats, not part of the suite: all pass.

@test "fixture: one" {
	true
}

@test "fixture: two" {
	true
}
