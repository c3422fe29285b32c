#!/usr/bin/env bats
# rtmp-relay against real peers on loopback: ffmpeg feeds it FLV on stdin
# (or our own pacer, for the Enhanced RTMP samples Debian's ffmpeg cannot
# read), and ffprobe, ffmpeg, rtmpdump, GStreamer, VLC, rtmp-dump and the
# load client tests/load/rtmp-load play what it serves; nginx-rtmp
# receives what it restreams.

load helpers

RELAY=$RTMPKIT_BIN/rtmp-relay
LOAD=$RTMPKIT_BIN/../tests/load/rtmp-load
# pace-flv [-l loops] [-p AT_MS:PAUSE_MS] FILE: FLV to stdout in real time.
PACE=$BATS_TEST_DIRNAME/../load/pace-flv
ERTMP="hevc-aac-ertmp av1-opus-ertmp vp9-opus-ertmp"

setup() {
	require_programs
	require ffmpeg ffprobe python3 ss
	[ -x "$RELAY" ] || fail "$RELAY is not built (make)"
	[ -x "$LOAD" ] || fail "$LOAD is not built (make check builds it)"
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
	[ -z "${VLC_DIR:-}" ] || rm -rf "$VLC_DIR"
}

# feed_relay PORT [RELAY OPTION...]: ffmpeg sends the clip in real time,
# looping, into rtmp-relay -l 127.0.0.1:PORT; its log is relay.log.  Sets
# RELAY_PID (the pipeline's shell).
feed_relay() {
	local port=$1
	shift
	spawn relay sh -c 'clip=$1 relay=$2 port=$3; shift 3
		ffmpeg -nostdin -v error -re -stream_loop -1 -i "$clip" -c copy -f flv - |
		exec "$relay" -l "127.0.0.1:$port" "$@"' sh "$CLIP" "$RELAY" "$port" "$@"
	RELAY_PID=$SPAWNED
	wait_port "$port" 10
}

# relay_pid: the rtmp-relay process itself (for /proc), not its shell.
relay_pid() {
	pgrep -n -f "^$RELAY " || fail "rtmp-relay is not running"
}

# load_field LINE NAME: the number after NAME in rtmp-load's summary.
load_field() {
	awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"
}

@test "relay: -h lists every option, -V the version, bad usage exits 2" {
	run "$RELAY" -h
	[ "$status" -eq 0 ]
	local o flags
	# the flags without an argument come in one cluster, [-GhkVv]
	flags=$(grep -o '^usage: rtmp-relay \[-[A-Za-z]*\]' <<<"$output")
	for o in G h k V v; do
		[[ "$flags" == *"$o"* ]] || fail "usage lacks -$o: $output"
	done
	for o in -A -C -c -f -i -K -L -l -M -m -n -o -Q -q -r -S -s -t -w; do
		[[ "$output" == *"[$o "* ]] || fail "usage lacks $o: $output"
	done
	run "$RELAY" -V
	[ "$status" -eq 0 ]
	[[ "$output" == "rtmp-relay "* ]]
	run "$RELAY" -w 5000 -l 127.0.0.1:1
	[ "$status" -eq 2 ]
	run "$RELAY" -o file.flv -l 127.0.0.1:1
	[ "$status" -eq 2 ]
	run "$RELAY" -l nonsense::: 
	[ "$status" -eq 2 ]
	run "$RELAY" -l 127.0.0.1:1 http://example.com/x
	[ "$status" -eq 2 ]
	run "$RELAY" -Z
	[ "$status" -eq 2 ]
}

@test "relay: ffprobe, ffmpeg and rtmpdump play both tracks of what it serves from stdin" {
	local port url
	require rtmpdump
	port=$(free_port)
	feed_relay "$port"
	url=rtmp://127.0.0.1:$port/live/x
	run timeout 20 ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$url"
	echo "ffprobe: $status $output"
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output" | paste -sd ' ')" = "aac h264" ]
	run timeout 30 ffmpeg -nostdin -v error -i "$url" -c copy -t 3 -f flv "$T/ffmpeg.flv"
	echo "ffmpeg: $status $output"
	[ "$status" -eq 0 ]
	valid_av "$T/ffmpeg.flv"
	within "$(probe_duration "$T/ffmpeg.flv")" 2 4
	run timeout 5 rtmpdump -q -r "$url" -o "$T/rtmpdump.flv"
	echo "rtmpdump: $status $output"
	[ "$(probe_codecs "$T/rtmpdump.flv")" = "h264 aac" ]
	check_decodes "$T/rtmpdump.flv"
	within "$(probe_duration "$T/rtmpdump.flv")" 2.5 6.5
	alive "$RELAY_PID"
}

@test "relay: rtmp-dump receives every tag payload unchanged, and the relay exits 0 at the input's end" {
	local port
	port=$(free_port)
	mkfifo "$T/in"
	spawn relay "$RELAY" -v -f "$T/in" -l "127.0.0.1:$port"
	local relay=$SPAWNED
	wait_port "$port"
	spawn dump "$DUMP" -vv -r 0 -o "$T/copy.flv" "rtmp://127.0.0.1:$port/live/x"
	local dump=$SPAWNED
	wait_log "$T/relay.log" 'stream live/x: play'
	# as fast as the pipe goes: nothing may be lost on the way
	cat "$CLIP" >"$T/in"
	wait_status "$relay" 15 || fail "the relay did not end with its input"
	cat "$T/relay.log"
	[ "$STATUS" -eq 0 ]
	grep -q 'end of input' "$T/relay.log"
	wait_exit "$dump" 10
	grep -q 'NetStream.Play.UnpublishNotify' "$T/dump.log"
	flv_payloads "$CLIP" >"$T/want"
	flv_payloads "$T/copy.flv" >"$T/got"
	echo "source tags $(wc -l <"$T/want"), copy tags $(wc -l <"$T/got")"
	[ "$(wc -l <"$T/want")" -gt 400 ]
	diff "$T/want" "$T/got"
}

@test "relay: a player joining mid-GOP starts on a keyframe within 200 ms; with -G it waits for the next" {
	local port out
	port=$(free_port)
	feed_relay "$port"
	sleep 2.5
	# five players 300 ms apart: they join at different points of the
	# clip's 1 s GOP
	out=$(timeout 30 "$LOAD" -v -n 5 -i 300 -d 2 "rtmp://127.0.0.1:$port/live/x")
	echo "$out"
	out=$(tail -n 1 <<<"$out")
	[ "$(load_field "$out" played)" -eq 5 ]
	[ "$(load_field "$out" keyfirst)" -eq 5 ]
	[ "$(load_field "$out" max)" -lt 200 ]
	stop "$RELAY_PID"

	port=$(free_port)
	feed_relay "$port" -G
	sleep 2.5
	out=$(timeout 30 "$LOAD" -v -n 5 -i 300 -d 3 "rtmp://127.0.0.1:$port/live/x")
	echo "$out"
	out=$(tail -n 1 <<<"$out")
	[ "$(load_field "$out" played)" -eq 5 ]
	# without the cache a player's video starts at the next keyframe: the
	# players spread over the GOP cannot all have one within 200 ms
	[ "$(load_field "$out" keyfirst)" -eq 5 ]
	[ "$(load_field "$out" max)" -gt 200 ]
}

@test "relay: at the end of stdin ffmpeg's recording ends by itself and the relay exits 0" {
	local port
	port=$(free_port)
	spawn relay sh -c 'ffmpeg -nostdin -v error -re -i "$1" -c copy -f flv - |
		"$2" -l "127.0.0.1:$3"; echo "relay exit $?"' sh "$CLIP" "$RELAY" "$port"
	local relay=$SPAWNED
	wait_port "$port"
	spawn rec ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$port/live/x" -c copy \
		-f flv "$T/rec.flv"
	local rec=$SPAWNED
	wait_status "$relay" 20 || fail "the relay did not end"
	cat "$T/relay.log"
	grep -q 'relay exit 0' "$T/relay.log"
	wait_status "$rec" 10 || fail "ffmpeg kept waiting after the end of the stream"
	valid_av "$T/rec.flv"
	within "$(probe_duration "$T/rec.flv")" 3 6.5
}

@test "relay: players stay connected across a pause of the input and get the rest" {
	local port
	port=$(free_port)
	spawn relay sh -c '"$1" -p 2000:3000 "$2" | "$3" -l "127.0.0.1:$4"' sh \
		"$PACE" "$CLIP" "$RELAY" "$port"
	local relay=$SPAWNED
	wait_port "$port"
	spawn dump "$DUMP" -r 0 -o "$T/paused.flv" "rtmp://127.0.0.1:$port/live/x"
	local dump=$SPAWNED
	wait_status "$relay" 20 || fail "the relay did not end"
	cat "$T/relay.log"
	# one play, one close at the end: nobody dropped during the pause
	[ "$(grep -c 'closed' "$T/relay.log")" -eq 1 ]
	wait_exit "$dump" 10
	flv_payloads "$T/paused.flv" >"$T/got"
	flv_payloads "$CLIP" | tail -n 20 >"$T/last"
	# the last tags of the clip came after the pause
	diff <(tail -n 20 "$T/got") "$T/last"
	within "$(probe_duration "$T/paused.flv")" 5 6.5
}
