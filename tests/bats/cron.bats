#!/usr/bin/env bats
# Issue 11, rtmpkit from cron: dist/logrotate/rtmpkit rotating a running
# server's -L file (the server reopens it on SIGHUP), and the crontab
# recipes of rtmpkit(7), taken from the page by their `.\" recipe:`
# markers and run as cron would run them, against ffmpeg publishing
# through nginx-rtmp.

load helpers

LOGROTATE_CONF=$BATS_TEST_DIRNAME/../../dist/logrotate/rtmpkit
MAN7=$BATS_TEST_DIRNAME/../../man/rtmpkit.7
LISTEN=$RTMPKIT_BIN/rtmp-listen

setup() {
	require_programs
	[ -x "$LISTEN" ] || fail "$LISTEN is not built (make)"
	require_data "$LOGROTATE_CONF" "$MAN7"
	T=$BATS_TEST_TMPDIR
}

# recipe NAME: the line after `.\" recipe: NAME` and the `.Bd -literal`
# that follows it in rtmpkit(7), mdoc's \e made a backslash again.
recipe() {
	local line
	line=$(awk -v name="$1" '
		$0 == ".\\\" recipe: " name { found = 1; next }
		found && /^\.Bd -literal/ { getline; print; exit }
	' "$MAN7" | sed 's/\\e/\\/g')
	[ -n "$line" ] || fail "no recipe $1 in $MAN7" || return 1
	printf '%s\n' "$line"
}

# cron_command LINE: the command cron runs for the crontab LINE
# (crontab(5)): what follows the five time fields, \% made %.  A bare %
# would end the command there, the rest its standard input: a mistake in
# these recipes, so a failure.
cron_command() {
	local cmd
	cmd=$(sed -E 's/^([^ ]+ +){5}//' <<<"$1")
	if sed 's/\\%//g' <<<"$cmd" | grep -q %; then
		fail "a bare % in the crontab line: $1"
		return 1
	fi
	sed 's/\\%/%/g' <<<"$cmd"
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

@test "cron: the crontab recipes of rtmpkit(7): a dated recording with audio and video; the probe passes, then logs the stream down" {
	local port url line cmd day
	require ffmpeg ffprobe nginx
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/show
	publish_loop_ffmpeg "$url"
	wait_publishing "$port" show
	# cron finds the programs in its PATH, and logger(1) is a stub that
	# writes what it would log
	mkdir -p "$T/bin" "$T/rec"
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\n' "$T/logger.out" >"$T/bin/logger"
	chmod +x "$T/bin/logger"
	export PATH=$T/bin:$RTMPKIT_BIN:$PATH
	# The recording: the page's server and directory are the test's, and
	# an hour of media (-d 3600) is 3 seconds of it.
	line=$(recipe crontab-record)
	echo "recipe: $line"
	cmd=$(cron_command "$line")
	cmd=$(sed -e "s|rtmp://live.example.com/live/show|$url|" \
		-e "s|/var/lib/rtmpkit/|$T/rec/|" -e 's/-d 3600/-d 3/' <<<"$cmd")
	echo "runs: $cmd"
	day=$(date +%F)
	run timeout 60 sh -c "$cmd"
	echo "$status: $output"
	[ "$status" -eq 0 ]
	ls -l "$T/rec"
	valid_av "$T/rec/show-$day.flv"
	within "$(probe_duration "$T/rec/show-$day.flv")" 2 4.5
	# The probe: the test's server, a deadline of 3 s, not 10.
	line=$(recipe crontab-probe)
	echo "recipe: $line"
	cmd=$(cron_command "$line")
	cmd=$(sed -e "s|rtmp://live.example.com/live/show|$url|" -e 's/-p 10/-p 3/' <<<"$cmd")
	echo "runs: $cmd"
	run timeout 30 sh -c "$cmd"
	echo "up: $status: $output"
	# up: nothing said, nothing logged, nothing for cron to mail
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$T/logger.out" ]
	# the command before its "||" is the probe alone: its exit status
	run timeout 30 sh -c "${cmd%% || *}"
	[ "$status" -eq 0 ]
	stop "$PUBLISHER_PID"
	run timeout 30 sh -c "${cmd%% || *}"
	echo "down, the probe alone: $status: $output"
	[ "$status" -eq 5 ]
	run timeout 30 sh -c "$cmd"
	echo "down: $status: $output"
	cat "$T/logger.out"
	[ -z "$output" ]
	[ "$(cat "$T/logger.out")" = \
	    "-t rtmpkit rtmp-dump: $url: no keyframe within 3 s: no media" ]
}
