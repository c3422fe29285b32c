#!/usr/bin/env bats
# Issue 11, rtmpkit from cron: dist/logrotate/rtmpkit rotating a running
# server's -L file (the server reopens it on SIGHUP).

load helpers

LOGROTATE_CONF=$BATS_TEST_DIRNAME/../../dist/logrotate/rtmpkit
LISTEN=$RTMPKIT_BIN/rtmp-listen

setup() {
	require_programs
	[ -x "$LISTEN" ] || fail "$LISTEN is not built (make)"
	require_data "$LOGROTATE_CONF"
	T=$BATS_TEST_TMPDIR
}

# postrotate FILE: the lines between postrotate and endscript.
postrotate() {
	sed -n '/^[[:space:]]*postrotate$/,/^[[:space:]]*endscript$/p' "$1" | sed '1d;$d'
}

@test "cron: dist/logrotate/rtmpkit rotates a running rtmp-listen's -L file, which SIGHUP moves to a new one" {
	local port pid size i
	require logrotate pgrep
	# the real postrotate: sh syntax, and its pattern names our server
	# (pgrep for pkill -HUP: other tests' servers on this machine must not
	# get the signal)
	postrotate "$LOGROTATE_CONF" >"$T/postrotate.sh"
	cat "$T/postrotate.sh"
	grep -q 'pkill -HUP -x ' "$T/postrotate.sh"
	sh -n "$T/postrotate.sh"
	mkdir "$T/log"
	port=$(free_port)
	spawn listen "$LISTEN" -L "$T/log/rtmp-listen.log" "127.0.0.1:$port"
	pid=$SPAWNED
	wait_log "$T/log/rtmp-listen.log" 'listening on'
	sed 's/pkill -HUP/pgrep/' "$T/postrotate.sh" >"$T/pgrep.sh"
	sh "$T/pgrep.sh" | grep -qx "$pid" || fail "the postrotate's pattern misses rtmp-listen"
	# the copy under test: the log directory, and the signal to our pid
	sed -e "s|/var/log/rtmpkit/|$T/log/|" -e "s|pkill -HUP .*|kill -HUP $pid|" \
		"$LOGROTATE_CONF" >"$T/rtmpkit.conf"
	diff "$LOGROTATE_CONF" "$T/rtmpkit.conf" || :
	[ "$(diff "$LOGROTATE_CONF" "$T/rtmpkit.conf" | grep -c '^>')" -eq 2 ]
	for i in 1 2; do
		run timeout 30 logrotate -f -s "$T/state" "$T/rtmpkit.conf"
		echo "logrotate $i: $status"
		echo "$output"
		[ "$status" -eq 0 ]
		# the server reopened: a new file, and what it logs goes there
		[ -f "$T/log/rtmp-listen.log.1" ]
		size=$(stat -c %s "$T/log/rtmp-listen.log.1")
		kill -USR1 "$pid"
		wait_log "$T/log/rtmp-listen.log" '^[^ ]+ rtmp-listen: stats \{'
		sleep 0.5
		[ "$(stat -c %s "$T/log/rtmp-listen.log.1")" -eq "$size" ] ||
			fail "the rotated log still grows"
	done
	# delaycompress: the first rotation's file compressed on the second
	ls -l "$T/log"
	zcat "$T/log/rtmp-listen.log.2.gz" | grep -q 'listening on'
	grep -q 'rtmp-listen: stats' "$T/log/rtmp-listen.log.1"
	refute grep -q 'listening on' "$T/log/rtmp-listen.log.1"
	alive "$pid"
}
