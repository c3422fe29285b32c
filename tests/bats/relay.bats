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
	for o in G h k p V v; do
		[[ "$flags" == *"$o"* ]] || fail "usage lacks -$o: $output"
	done
	for o in -A -C -c -I -i -K -L -l -m -n -o -P -Q -q -r -S -s -t -w -x; do
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
	# the input is -i, the idle timeout -I; the old -f is gone
	run "$RELAY" -f "$CLIP" -l 127.0.0.1:1
	[ "$status" -eq 2 ]
	run "$RELAY" -I 0 -l 127.0.0.1:1
	[ "$status" -eq 2 ]
	[[ "$output" == *"idle timeout 0"* ]]
	# no player, no URL, no -o -: nothing to do
	run "$RELAY" -i "$CLIP"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"nowhere to send the stream"* ]]
}

@test "relay: without -l it restreams only: to nginx-rtmp, and with -o - alone to stdout" {
	local n relay
	require nginx
	n=$(free_port)
	start_nginx "$n"
	spawn relay sh -c 'ffmpeg -nostdin -v error -re -stream_loop -1 -i "$1" -c copy \
		-f flv - | exec "$2" "rtmp://127.0.0.1:$3/live/r"' sh "$CLIP" "$RELAY" "$n"
	relay=$SPAWNED
	wait_publishing "$n" r 15
	run timeout 30 "$DUMP" -q -d 2 -o "$T/r.flv" "rtmp://127.0.0.1:$n/live/r"
	echo "dump from nginx: $status $output"
	[ "$status" -eq 0 ]
	valid_av "$T/r.flv"
	run timeout 20 ffprobe -v error -show_entries stream=codec_name -of csv=p=0 \
		"rtmp://127.0.0.1:$n/live/r"
	[ "$(sort <<<"$output" | paste -sd ' ')" = "aac h264" ]
	alive "$relay"
	cat "$T/relay.log"
	grep -q 'no listen address: restreaming only' "$T/relay.log"
	refute grep -q 'listening on' "$T/relay.log"
	stop "$relay"

	# -o - and nothing else: every payload to stdout, exit 0 at the end
	mkfifo "$T/in"
	spawn copy sh -c 'exec "$1" -i "$2" -o - >"$3"' sh "$RELAY" "$T/in" "$T/out.flv"
	relay=$SPAWNED
	cat "$CLIP" >"$T/in"
	wait_status "$relay" 15 || fail "the relay did not end"
	cat "$T/copy.log"
	[ "$STATUS" -eq 0 ]
	refute grep -q 'listening on' "$T/copy.log"
	diff <(flv_payloads "$CLIP") <(flv_payloads "$T/out.flv")
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
	spawn relay "$RELAY" -v -i "$T/in" -l "127.0.0.1:$port"
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

# proc_field PID FIELD: a VmRSS-style field of /proc/PID/status, in kB.
proc_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# cpu_ticks PID: user + system clock ticks the process used so far.
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

@test "relay: a player that stops reading is dropped, memory stays bounded, the others keep full speed" {
	local port url pid rss0 hwm out kbit
	require rtmpdump
	port=$(free_port)
	# sixteen times real time, so the stalled player's kernel buffers fill
	# fast; under ASan freed memory is reused at once, as without it, or
	# its quarantine would count as growth
	spawn relay sh -c 'ffmpeg -nostdin -v error -readrate 16 -stream_loop -1 -i "$1" \
		-c copy -f flv - | ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0 \
		exec "$2" -l "127.0.0.1:$3" -q 262144 -S 3' sh "$CLIP" "$RELAY" "$port"
	RELAY_PID=$SPAWNED
	wait_port "$port"
	url=rtmp://127.0.0.1:$port/live/x
	pid=$(relay_pid)
	sleep 1
	rss0=$(proc_field "$pid" VmRSS)
	spawn stalled rtmpdump -q -r "$url" -o /dev/null
	local stalled=$SPAWNED
	wait_log "$T/relay.log" 'play' 10
	kill -STOP "$stalled"
	out=$(timeout 60 "$LOAD" -n 3 -d 10 "$url")
	echo "$out"
	kill -CONT "$stalled"
	cat "$T/relay.log"
	grep -q 'closed: too slow: skipped ahead 3 times' "$T/relay.log"
	[ "$(load_field "$out" played)" -eq 3 ]
	# the clip is about 700 kbit/s: sixteen times that, less start-up
	kbit=$(load_field "$out" kbit/s)
	echo "fast players: $kbit kbit/s each"
	[ "$kbit" -gt 7000 ]
	hwm=$(proc_field "$pid" VmHWM)
	echo "relay RSS at start ${rss0} kB, peak ${hwm} kB"
	[ $((hwm - rss0)) -lt 12000 ]
}

@test "relay: restreams to two nginx-rtmp; one restarted mid-stream gets it again, the other never stalls" {
	local a b steps
	require nginx
	a=$(free_port)
	b=$(free_port)
	start_nginx "$a"
	start_nginx "$b"
	local nginx_b=$NGINX_PID
	port=$(free_port)
	feed_relay "$port" "rtmp://127.0.0.1:$a/live/a" "rtmp://127.0.0.1:$b/live/b?key=secret"
	wait_publishing "$a" a 15
	wait_publishing "$b" b 15
	record_ffmpeg "rtmp://127.0.0.1:$a/live/a" "$T/a.flv" 12
	local rec=$RECORDER_PID
	sleep 2
	stop "$nginx_b"
	sleep 3
	start_nginx "$b"
	wait_publishing "$b" b 30 2
	run timeout 30 "$DUMP" -q -d 2 -o "$T/b.flv" "rtmp://127.0.0.1:$b/live/b"
	echo "dump from the restarted one: $status $output"
	[ "$status" -eq 0 ]
	valid_av "$T/b.flv"
	wait_status "$rec" 30 || fail "the recording from the other did not end"
	valid_av "$T/a.flv"
	steps=$(video_steps "$T/a.flv")
	echo "the other's video: $steps (frames span min max)"
	within "$(probe_duration "$T/a.flv")" 10 13
	# no gap: never more than 300 ms between frames
	[ "$(awk '{ print $4 }' <<<"$steps")" -lt 300 ]
	cat "$T/relay.log"
	grep -q 'upstream 2 rtmp://127.0.0.1:'"$b"'/live: .*reconnecting' "$T/relay.log"
	refute grep -q secret "$T/relay.log"
}

@test "relay: chains with -o -: origin to edge, both serve a valid stream" {
	local a b
	a=$(free_port)
	b=$(free_port)
	spawn relay sh -c 'ffmpeg -nostdin -v error -re -stream_loop -1 -i "$1" -c copy \
		-f flv - | "$2" -l "127.0.0.1:$3" -o - | "$2" -l "127.0.0.1:$4"' sh \
		"$CLIP" "$RELAY" "$a" "$b"
	wait_port "$a"
	wait_port "$b"
	sleep 1
	run timeout 30 "$DUMP" -q -d 3 -o "$T/edge.flv" "rtmp://127.0.0.1:$b/live/x"
	[ "$status" -eq 0 ]
	valid_av "$T/edge.flv"
	run timeout 30 "$DUMP" -q -d 2 -o "$T/origin.flv" "rtmp://127.0.0.1:$a/live/x"
	[ "$status" -eq 0 ]
	valid_av "$T/origin.flv"
}

@test "relay: -o - copies the input's every payload to stdout" {
	mkfifo "$T/in"
	spawn relay sh -c 'exec "$1" -i "$2" -o - -l "127.0.0.1:$3" >"$4"' sh "$RELAY" \
		"$T/in" "$(free_port)" "$T/out.flv"
	local relay=$SPAWNED
	cat "$CLIP" >"$T/in"
	wait_status "$relay" 15 || fail "the relay did not end"
	[ "$STATUS" -eq 0 ]
	flv_check "$T/out.flv"
	diff <(flv_payloads "$CLIP") <(flv_payloads "$T/out.flv")
}

@test "relay: RTMPS players: rtmp-dump verifies the certificate, ffprobe and the load client play" {
	local port out
	make_tls "$T/tls"
	port=$(free_port)
	feed_relay "$port" -C "$T/tls/server.pem"
	run timeout 30 "$DUMP" -q -C "$T/tls/ca.pem" -d 2 -o "$T/tls.flv" \
		"rtmps://localhost:$port/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 0 ]
	valid_av "$T/tls.flv"
	run timeout 20 ffprobe -v error -show_entries stream=codec_name -of csv=p=0 \
		"rtmps://127.0.0.1:$port/live/x"
	echo "ffprobe: $status $output"
	[ "$(sort <<<"$output" | paste -sd ' ')" = "aac h264" ]
	out=$(timeout 30 "$LOAD" -C "$T/tls/ca.pem" -n 20 -d 2 "rtmps://localhost:$port/live/x")
	echo "$out"
	[ "$(load_field "$out" played)" -eq 20 ]
	[ "$(load_field "$out" keyfirst)" -eq 20 ]
	# a plain player on the RTMPS port gets nowhere
	run timeout 10 "$DUMP" -q -r 0 -t 3 -d 1 -o "$T/plain.flv" "rtmp://127.0.0.1:$port/live/x"
	[ "$status" -ne 0 ]
}

@test "relay: Enhanced RTMP samples reach rtmp-dump payload-exact, and late players start on a keyframe" {
	local s port out
	for s in $ERTMP; do
		require_data "$DATA/media/$s.flv"
		port=$(free_port)
		rm -f "$T/in"
		mkfifo "$T/in"
		spawn "relay-$s" "$RELAY" -i "$T/in" -l "127.0.0.1:$port"
		local relay=$SPAWNED
		wait_port "$port"
		spawn "dump-$s" "$DUMP" -r 0 -o "$T/$s.flv" "rtmp://127.0.0.1:$port/live/x"
		wait_log "$T/relay-$s.log" 'play'
		cat "$DATA/media/$s.flv" >"$T/in"
		wait_status "$relay" 15 || fail "$s: the relay did not end"
		[ "$STATUS" -eq 0 ]
		wait_exit "$SPAWNED" 10
		flv_payloads "$DATA/media/$s.flv" >"$T/$s.want"
		flv_payloads "$T/$s.flv" >"$T/$s.got"
		echo "$s: $(wc -l <"$T/$s.want") tags, $(wc -l <"$T/$s.got") received"
		diff "$T/$s.want" "$T/$s.got"

		port=$(free_port)
		spawn "live-$s" sh -c '"$1" -l 0 "$2" | exec "$3" -l "127.0.0.1:$4"' sh \
			"$PACE" "$DATA/media/$s.flv" "$RELAY" "$port"
		wait_port "$port"
		sleep 2.5
		out=$(timeout 30 "$LOAD" -n 4 -i 300 -d 2 "rtmp://127.0.0.1:$port/live/x")
		echo "$s: $out"
		[ "$(load_field "$out" played)" -eq 4 ]
		[ "$(load_field "$out" keyfirst)" -eq 4 ]
		[ "$(load_field "$out" max)" -lt 200 ]
		stop "$SPAWNED"
	done
}

@test "relay: GStreamer rtmp2src and VLC play both tracks" {
	local port url out
	require gst-launch-1.0 cvlc runuser
	port=$(free_port)
	feed_relay "$port"
	url=rtmp://127.0.0.1:$port/live/x
	run timeout -s INT -k 5 5 gst-launch-1.0 -q -e \
		rtmp2src location="$url" ! filesink location="$T/gst.flv"
	echo "gst-launch: $status $output"
	[ "$(probe_codecs "$T/gst.flv")" = "h264 aac" ]
	check_decodes "$T/gst.flv"
	within "$(probe_duration "$T/gst.flv")" 2 6.5
	# VLC refuses to run as root: root runs it as nobody
	local -a as=()
	[ "$(id -u)" -ne 0 ] || as=(runuser -u nobody --)
	out=$(mktemp -d)
	VLC_DIR=$out
	chmod 777 "$out"
	run timeout -k 5 20 "${as[@]}" cvlc -q "$url" \
		--sout "#std{access=file,mux=ts,dst=$out/vlc.ts}" --run-time=5 vlc://quit
	echo "vlc: $status $output"
	[ -s "$out/vlc.ts" ]
	[ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$out/vlc.ts" |
		grep . | sort -u | paste -sd ' ')" = "aac h264" ]
	alive "$RELAY_PID"
}

@test "relay: 200 players at once all get the stream, each starting on a keyframe" {
	local port out pid t0 t1 rss
	port=$(free_port)
	feed_relay "$port"
	pid=$(relay_pid)
	sleep 2
	t0=$(cpu_ticks "$pid")
	out=$(timeout 60 "$LOAD" -n 200 -d 8 "rtmp://127.0.0.1:$port/live/x")
	t1=$(cpu_ticks "$pid")
	rss=$(proc_field "$pid" VmHWM)
	echo "$out"
	echo "relay: $(( (t1 - t0) * 100 / $(getconf CLK_TCK) )) cs of CPU for 200 players over 8 s; peak RSS $rss kB"
	[ "$(load_field "$out" played)" -eq 200 ]
	[ "$(load_field "$out" keyfirst)" -eq 200 ]
	# every player gets the clip's ~700 kbit/s
	[ "$(load_field "$out" kbit/s)" -gt 550 ]
}

@test "relay: -n serves one stream name; others are not found, and publishing is refused" {
	local port
	port=$(free_port)
	feed_relay "$port" -n live/main
	run timeout 20 "$DUMP" -q -d 1 -o "$T/main.flv" "rtmp://127.0.0.1:$port/live/main"
	[ "$status" -eq 0 ]
	run timeout 20 "$DUMP" -q -r 0 -d 1 -o "$T/other.flv" "rtmp://127.0.0.1:$port/live/other"
	echo "$output"
	[ "$status" -eq 3 ]
	run timeout 20 "$PUSH" -r 0 "rtmp://127.0.0.1:$port/live/main" "$CLIP"
	echo "$output"
	[ "$status" -eq 3 ]
	alive "$RELAY_PID"
}

@test "relay: -i unix:PATH takes a writer; -s answers JSON, SIGUSR1 logs it; SIGTERM ends players, exit 0" {
	local port relay stats
	port=$(free_port)
	spawn relay "$RELAY" -i "unix:$T/in.sock" -s "unix:$T/stats.sock" -l "127.0.0.1:$port"
	relay=$SPAWNED
	wait_port "$port"
	spawn feed sh -c '"$1" -l 0 "$2" | python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    s.sendall(b)
" "$3"' sh "$PACE" "$CLIP" "$T/in.sock"
	wait_log "$T/relay.log" 'writer .* connected'
	spawn dump "$DUMP" -vv -r 0 -o "$T/x.flv" "rtmp://127.0.0.1:$port/live/x"
	local dump=$SPAWNED
	wait_log "$T/relay.log" 'stream live/x: play'
	sleep 2
	stats=$(server_stats "$T/stats.sock" \
		'" ".join(map(str, [d["player_count"], d["input"]["tags"], d["joined"], d["flushes"] > 0]))')
	echo "stats: $stats"
	[ "$(awk '{ print $1, $3, $4 }' <<<"$stats")" = "1 1 True" ]
	[ "$(awk '{ print $2 }' <<<"$stats")" -gt 50 ]
	kill -USR1 "$relay"
	wait_log "$T/relay.log" 'stats \{"program":"rtmp-relay".*"players":\[\{"address"'
	kill -TERM "$relay"
	wait_status "$relay" 10 || fail "the relay did not stop"
	cat "$T/relay.log"
	[ "$STATUS" -eq 0 ]
	wait_log "$T/dump.log" 'NetStream.Play.UnpublishNotify'
	stop "$dump"
	flv_check "$T/x.flv"
}

@test "relay: restreams over RTMPS, verifying the destination with -A" {
	local n tlsport port
	require nginx haproxy
	make_tls "$T/tls"
	n=$(free_port)
	tlsport=$(free_port)
	start_nginx "$n"
	start_haproxy_tls "$tlsport" "$n" "$T/tls/server.pem"
	port=$(free_port)
	feed_relay "$port" -A "$T/tls/ca.pem" "rtmps://localhost:$tlsport/live/s"
	wait_publishing "$n" s 15
	run timeout 30 "$DUMP" -q -d 2 -o "$T/s.flv" "rtmp://127.0.0.1:$n/live/s"
	[ "$status" -eq 0 ]
	valid_av "$T/s.flv"
	grep -q "upstream 1 rtmps://localhost:$tlsport/live: publishing" "$T/relay.log"
	stop "$RELAY_PID"

	# without -A the test CA is not trusted: the destination is refused, players go on
	port=$(free_port)
	feed_relay "$port" "rtmps://localhost:$tlsport/live/t"
	wait_log "$T/relay.log" 'upstream 1 .*certificate verify failed.*reconnecting' 15
	run timeout 30 "$DUMP" -q -d 1 -o "$T/p.flv" "rtmp://127.0.0.1:$port/live/x"
	[ "$status" -eq 0 ]
}

@test "relay: rtmp-listen :A | rtmp-relay -l :B serves what rtmp-pushflv publishes" {
	local a b
	[ -x "$RTMPKIT_BIN/rtmp-listen" ] || fail "rtmp-listen is not built"
	a=$(free_port)
	b=$(free_port)
	spawn chain sh -c '"$1" "127.0.0.1:$3" | "$2" -l "127.0.0.1:$4"' sh \
		"$RTMPKIT_BIN/rtmp-listen" "$RELAY" "$a" "$b"
	wait_port "$a"
	wait_port "$b"
	spawn push "$PUSH" -l "rtmp://127.0.0.1:$a/live/in" "$CLIP"
	sleep 1
	run timeout 30 "$DUMP" -q -d 3 -o "$T/out.flv" "rtmp://127.0.0.1:$b/live/out"
	echo "dump: $status $output"
	[ "$status" -eq 0 ]
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 2.5 4.5
}

@test "relay: a pause longer than the idle timeout: pings keep ffmpeg, rtmpdump and rtmp-dump connected" {
	local port url
	require rtmpdump
	port=$(free_port)
	spawn relay sh -c '"$1" -p 2000:7000 "$2" | "$3" -I 3 -l "127.0.0.1:$4"' sh \
		"$PACE" "$CLIP" "$RELAY" "$port"
	local relay=$SPAWNED
	wait_port "$port"
	url=rtmp://127.0.0.1:$port/live/x
	spawn dump "$DUMP" -r 0 -o "$T/dump.flv" "$url"
	spawn rtmpdump rtmpdump -q -r "$url" -o "$T/rtmpdump.flv"
	spawn rec ffmpeg -nostdin -v error -rw_timeout 20000000 -i "$url" -c copy \
		-f flv "$T/ffmpeg.flv"
	wait_status "$relay" 25 || fail "the relay did not end"
	cat "$T/relay.log"
	[ "$(grep -c ': play' "$T/relay.log")" -eq 3 ]
	refute grep -q 'closed: idle' "$T/relay.log"
	local f
	for f in dump rtmpdump ffmpeg; do
		# tags from the clip's last second came after the pause, to every
		# player (rtmpdump leaves out the final end-of-sequence tag)
		grep -qxF "$(flv_payloads "$CLIP" | tail -n 5 | head -n 1)" \
			<(flv_payloads "$T/$f.flv") || fail "$f did not get the end of the stream"
	done
}

# relay_stats EXPR: server_stats on $T/stats.sock.
relay_stats() {
	server_stats "$T/stats.sock" "$1"
}

# wait_state STATE [SECONDS]: until the stats say the input is in STATE.
wait_state() {
	local i
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		[ "$(relay_stats 'd["input"]["state"]' 2>/dev/null)" = "$1" ] && return 0
		sleep 0.1
	done
	fail "input not $1 after ${2:-10} s: $(relay_stats 'd["input"]')"
}

@test "relay: -s stats: input waiting, live, paused, ended; codecs, bitrate, uptime; each player's stream, bytes, queue, skips" {
	local port relay out a b
	port=$(free_port)
	mkfifo "$T/in"
	# stdout's reader never reads: after the end of the input the relay
	# waits for it (a bounded time), still answering its stats socket
	spawn relay sh -c '"$1" -i "$2" -s "unix:$3" -l "127.0.0.1:$4" -o - | sleep 60' sh \
		"$RELAY" "$T/in" "$T/stats.sock" "$port"
	relay=$SPAWNED
	wait_port "$port"
	out=$(relay_stats '" ".join(map(str, [d["input"]["state"], d["input"]["video"], d["input"]["audio"], d["input"]["kbit_s"], d["players"], d["player_count"], d["uptime_seconds"] >= 0]))')
	echo "before the input: $out"
	[ "$out" = "waiting None None 0 [] 0 True" ]
	spawn dump-x "$DUMP" -r 0 -o "$T/x.flv" "rtmp://127.0.0.1:$port/live/x"
	spawn dump-y "$DUMP" -r 0 -o "$T/y.flv" "rtmp://127.0.0.1:$port/other/y.1"
	wait_log "$T/relay.log" ': play' 10 2
	# 4 s of the clip, 5 s of nothing, then the rest
	spawn feed sh -c 'exec "$1" -p 4000:5000 "$2" >"$3"' sh "$PACE" "$CLIP" "$T/in"
	wait_state live
	sleep 1
	out=$(relay_stats '" ".join(map(str, [d["input"]["video"], d["input"]["audio"], d["player_count"], len(d["players"]), sorted(p["app"] + "/" + p["stream"] for p in d["players"]), d["players_truncated"]]))')
	echo "live: $out"
	[ "$out" = "h264 aac 2 2 ['live/x', 'other/y.1'] False" ]
	# the clip is about 700 kbit/s
	out=$(relay_stats 'd["input"]["kbit_s"]')
	echo "kbit/s: $out"
	[ "$out" -gt 300 ] && [ "$out" -lt 1500 ]
	a=$(relay_stats '" ".join("%s=%d" % (p["address"], p["bytes"]) for p in sorted(d["players"], key=lambda p: p["address"]))')
	sleep 0.5
	b=$(relay_stats '" ".join("%s=%d" % (p["address"], p["bytes"]) for p in sorted(d["players"], key=lambda p: p["address"]))')
	echo "bytes: $a, then $b"
	python3 -c 'import sys
a = dict(x.split("=") for x in sys.argv[1].split())
b = dict(x.split("=") for x in sys.argv[2].split())
assert a.keys() == b.keys() and len(a) == 2, (a, b)
assert all(int(b[k]) > int(a[k]) > 10000 for k in a), (a, b)' "$a" "$b"
	out=$(relay_stats 'all(p["outq"] >= 0 and p["skips"] == 0 and p["address"].startswith("127.0.0.1:") for p in d["players"])')
	[ "$out" = True ]
	wait_state paused 8
	# paused, the players stay
	[ "$(relay_stats 'd["player_count"]')" -eq 2 ]
	wait_state live 8
	wait_log "$T/relay.log" 'end of input' 15
	out=$(relay_stats '" ".join(map(str, [d["input"]["state"], d["input"]["ended"], d["input"]["video"], d["uptime_seconds"] >= 8]))')
	echo "at the end: $out"
	[ "$out" = "ended True h264 True" ]
}

@test "relay: stats name E-RTMP codecs by FourCC; SIGUSR1 logs a long document in pieces that join into it" {
	local s want port n log
	# the last one keeps running for the rest
	for s in "hevc-aac-ertmp:hevc aac" "av1-opus-ertmp:av1 opus"; do
		want=${s#*:}
		s=${s%%:*}
		require_data "$DATA/media/$s.flv"
		[ -z "${port:-}" ] || stop "$SPAWNED"
		port=$(free_port)
		spawn "relay-$s" sh -c '"$1" -l 0 "$2" | exec "$3" -s "unix:$4" -l "127.0.0.1:$5"' \
			sh "$PACE" "$DATA/media/$s.flv" "$RELAY" "$T/stats.sock" "$port"
		wait_port "$port"
		wait_state live
		sleep 0.5
		[ "$(relay_stats 'd["input"]["video"] + " " + d["input"]["audio"]')" = "$want" ]
	done
	# eight players make the document longer than a log line
	spawn load "$LOAD" -n 8 -d 20 "rtmp://127.0.0.1:$port/live/many"
	for ((n = 0; n < 100; n++)); do
		[ "$(relay_stats 'd["player_count"]')" -eq 8 ] && break
		sleep 0.1
	done
	kill -USR1 "$(relay_pid)"
	log=$T/relay-av1-opus-ertmp.log
	wait_log "$log" 'stats [0-9]+/[0-9]+ ' 10
	sleep 0.5
	cat "$log"
	n=$(sed -n 's/^.*stats \([0-9]*\)\/\([0-9]*\) .*$/\2/p' "$log" | head -n 1)
	[ "$n" -ge 2 ]
	[ "$(grep -c 'stats [0-9]*/'"$n"' ' "$log")" -eq "$n" ]
	# each piece after "stats I/N "; joined, they are the JSON document
	sed -n 's/^.*stats [0-9]*\/[0-9]* //p' "$log" | tr -d '\n' |
		python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d["program"] == "rtmp-relay" and len(d["players"]) == 8, d
assert {p["stream"] for p in d["players"]} == {"many"}, d
assert d["input"]["video"] == "av1" and d["input"]["audio"] == "opus", d'
}

@test "relay: -p logs the client a PROXY header names: through socat, HAProxy and rtmp-balance -S v1; by hand (v2)" {
	local rport bport hport sport seen
	require haproxy socat
	rport=$(free_port)
	feed_relay "$rport" -p -t 2 -s "unix:$T/stats.sock"
	# The player connects from 127.0.0.2 through socat: its address is not
	# the 127.0.0.1 of every hop after it.  HAProxy sends PROXY v2 to
	# rtmp-balance, which sends PROXY v1 to the relay.
	bport=$(free_port)
	spawn balance "$RTMPKIT_BIN/rtmp-balance" -p -S v1 -v -i 0 -l "127.0.0.1:$bport" \
		"127.0.0.1:$rport"
	wait_port "$bport"
	hport=$(free_port)
	start_haproxy_send_proxy "$hport" "127.0.0.1:$bport" v2
	sport=$(free_port)
	spawn socat socat "TCP-LISTEN:$sport,bind=127.0.0.1,reuseaddr,fork" \
		"TCP:127.0.0.1:$hport,bind=127.0.0.2"
	wait_port "$sport"
	spawn dump "$DUMP" -r 0 -o "$T/x.flv" "rtmp://127.0.0.1:$sport/live/x"
	wait_log "$T/relay.log" 'peer 127\.0\.0\.2:[0-9]+ stream live/x: play' 15
	# the same client, port and all, at the balancer and at the relay
	seen=$(sed -n 's/.*peer \(127\.0\.0\.2:[0-9]*\) backend.*: connected/\1/p' "$T/balance.log")
	[ -n "$seen" ] || fail "the balancer did not see 127.0.0.2: $(cat "$T/balance.log")"
	grep -q "peer $seen stream live/x: play" "$T/relay.log" ||
		fail "the relay saw another client than $seen: $(cat "$T/relay.log")"
	[ "$(server_stats "$T/stats.sock" 'd["players"][0]["address"]')" = "$seen" ] ||
		fail "stats: $(server_stats "$T/stats.sock" d)"
	# v2 by hand, straight to the relay, then nothing: the handshake
	# deadline closes it under the client the header names
	run timeout 10 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c" + bytes([192, 0, 2, 7, 127, 0, 0, 1, 0x15, 0xb3, 0x07, 0x8f]))
s.settimeout(8)
print("eof" if s.recv(10) == b"" else "data")' "$rport"
	[ "$output" = eof ] || fail "not closed: $output"
	wait_log "$T/relay.log" 'peer 192\.0\.2\.7:5555: closed: handshake timeout' 5
}

@test "relay: -p: a player without a PROXY header is closed with a logged reason" {
	local port
	port=$(free_port)
	feed_relay "$port" -p
	run timeout 20 "$DUMP" -r 0 -o "$T/none.flv" "rtmp://127.0.0.1:$port/live/x"
	[ "$status" -ne 0 ] || fail "played without a header: $output"
	wait_log "$T/relay.log" 'peer 127\.0\.0\.1:[0-9]+: PROXY header: .*: closed' 5
	[ ! -s "$T/none.flv" ]
}
