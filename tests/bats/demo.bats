#!/usr/bin/env bats
# make demo, the README's first command: rtmp-listen | rtmp-relay fed by
# rtmp-pushflv, checked by rtmp-dump, stopped by Ctrl-C with nothing left
# running.

load helpers

setup() {
	require_programs
	require ffprobe
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

@test "demo: the main job serves a playable stream and TERM stops everything it started" {
	local demo=$BATS_TEST_DIRNAME/../demo url left
	spawn demo env RTMPKIT_BIN="$RTMPKIT_BIN" bash "$demo"
	wait_log "$T/demo.log" '^Ctrl-C stops it' 30
	cat "$T/demo.log"
	grep -q '^check:   rtmp-dump played it' "$T/demo.log"
	url=$(awk '/^play:/ { print $2 }' "$T/demo.log")
	[ -n "$url" ]
	# A player of our own besides the demo's check: both tracks decode.
	run timeout 30 "$DUMP" -q -d 3 -o "$T/play.flv" "$url"
	[ "$status" -eq 0 ]
	[ "$(probe_codecs "$T/play.flv")" = "h264 aac" ]
	check_decodes "$T/play.flv"
	# In the background SIGINT is ignored (POSIX shells), so TERM, as a
	# service manager sends; Ctrl-C in a terminal takes the same path.
	kill -TERM "$SPAWNED"
	wait_status "$SPAWNED" 15
	echo "demo exit: $STATUS"
	[ "$STATUS" -eq 0 ]
	# Nothing it started is left: no rtmp-listen, rtmp-relay, rtmp-pushflv
	# of this demo (their command lines name its ports).
	left=$(pgrep -af "$RTMPKIT_BIN/rtmp-(listen|relay|pushflv)" | grep -F "${url%/live/demo}" || :)
	[ -z "$left" ] || fail "left running: $left"
}
