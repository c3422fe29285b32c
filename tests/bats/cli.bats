#!/usr/bin/env bats
# Command lines and manual pages of the programs, no peers.

load helpers

MAN=$BATS_TEST_DIRNAME/../../man

setup() {
	require_programs
}

# options_of PROGRAM: the option letters the CLI spec gives it.
options_of() {
	case $1 in
	rtmp-dump) echo C d h k o p q r t V v ;;
	rtmp-pushflv) echo C h k l n q r t V v ;;
	rtmp-listen) echo A a b C c e f h I K L M m P p Q q s t V v x ;;
	rtmp-relay) echo A C c G h I i K k L l M m n o P p Q q r S s t V v w x ;;
	rtmp-balance) echo A a C d F f H h I i K k L l M m P p R r S s T t V v ;;
	esac
}

PROGRAMS="rtmp-dump rtmp-pushflv rtmp-listen rtmp-relay rtmp-balance"

@test "cli: -h prints usage with every option and exits 0" {
	local p o letters
	for p in $PROGRAMS; do
		run timeout 10 "$RTMPKIT_BIN/$p" -h
		echo "$p -h: $status $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"usage: $p"* ]]
		# the letters of every "[-..." group: [-hkqVv] [-C cafile] ...
		letters=$(printf '%s\n' "$output" | grep -oE '\[-[A-Za-z]+' |
			tr -d '[\n-')
		for o in $(options_of "$p"); do
			[[ "$letters" == *"$o"* ]] ||
				fail "$p usage lacks -$o" || return 1
		done
	done
}

@test "cli: -V prints the version and exits 0" {
	local p
	for p in $PROGRAMS; do
		run timeout 10 "$RTMPKIT_BIN/$p" -V
		echo "$p -V: $status $output"
		[ "$status" -eq 0 ]
		[[ "$output" =~ [0-9]+\.[0-9]+ ]]
	done
}

@test "cli: an unknown option or a missing URL is a usage error: exit 2" {
	local p
	for p in $PROGRAMS; do
		run timeout 10 "$RTMPKIT_BIN/$p" -Z rtmp://127.0.0.1/live/x
		echo "$p -Z: $status $output"
		[ "$status" -eq 2 ]
		[[ "$output" == *usage* ]]
		run timeout 10 "$RTMPKIT_BIN/$p" -t -3 rtmp://127.0.0.1/live/x
		echo "$p -t -3: $status $output"
		[ "$status" -eq 2 ]
	done
	# The clients need a URL.  rtmp-listen may get its sockets from
	# systemd, so none given and none passed is a failure it explains;
	# rtmp-relay may run for its outputs alone (URLs, -o -), so with no
	# listener and no output either it has nothing to do: usage.
	for p in rtmp-dump rtmp-pushflv; do
		run timeout 10 "$RTMPKIT_BIN/$p"
		echo "$p: $status $output"
		[ "$status" -eq 2 ]
	done
	run timeout 10 "$RTMPKIT_BIN/rtmp-listen" </dev/null
	echo "rtmp-listen: $status $output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no listen address"* ]]
	run timeout 10 "$RTMPKIT_BIN/rtmp-relay" </dev/null
	echo "rtmp-relay: $status $output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"nowhere to send the stream"* ]]
	[[ "$output" == *usage* ]]
}

@test "cli: every program has a manual page documenting its options" {
	local b p o page
	for b in "$RTMPKIT_BIN"/rtmp-*; do
		[ -x "$b" ] || continue
		p=${b##*/}
		page=$MAN/$p.1
		[ -f "$page" ] || fail "$p has no manual page $page" || return 1
		grep -q '^\.Sh EXIT STATUS' "$page" || fail "$page: no EXIT STATUS"
		for o in $(options_of "$p"); do
			grep -qE "^\.It Fl $o( |$)" "$page" ||
				fail "$page does not document -$o" || return 1
		done
	done
}

@test "cli: manual pages are mandoc -Tlint clean" {
	local pages
	require mandoc
	pages=$(ls "$MAN"/*.1 "$MAN"/*.7 2>/dev/null)
	[ -n "$pages" ] || fail "no manual pages in $MAN"
	# shellcheck disable=SC2086
	run timeout 30 mandoc -Tlint -W warning $pages
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
