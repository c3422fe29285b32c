#!/usr/bin/env bats
# rtmp-pushflv against real servers on loopback: nginx-rtmp, ffmpeg -listen,
# and what players (ffmpeg, GStreamer) receive from them.

load helpers

setup() {
	require_programs
	require ffmpeg ffprobe nginx python3 ss
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

# clip_bounds: the clip's duration -10 % and +10 % ("LOW HIGH").
clip_bounds() {
	local d
	d=$(probe_duration "$CLIP")
	awk -v d="$d" 'BEGIN { printf "%.3f %.3f\n", d * 0.9, d * 1.1 }'
}

@test "pushflv: nginx-rtmp relays all of the clip to a player, at its duration" {
	local port url
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	# nginx holds a player until the publisher comes: it sees every frame.
	record_ffmpeg "$url" "$T/rec.flv"
	wait_playing "$port" x
	run timeout 30 "$PUSH" "$url" "$CLIP"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_status "$RECORDER_PID" 15
	valid_av "$T/rec.flv"
	within "$(probe_duration "$T/rec.flv")" $(clip_bounds)
	[ "$(packet_counts "$T/rec.flv")" = "$(packet_counts "$CLIP")" ]
}

@test "pushflv: GStreamer rtmp2src plays the stream through nginx-rtmp" {
	local port url
	require gst-launch-1.0
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/g
	spawn push "$PUSH" -l "$url" "$CLIP"
	wait_publishing "$port" g
	# -e: on SIGINT GStreamer ends the file cleanly.
	run timeout -s INT -k 5 5 gst-launch-1.0 -q -e \
		rtmp2src location="$url" ! filesink location="$T/gst.flv"
	echo "gst-launch: $status $output"
	alive "$SPAWNED"
	[ "$(probe_codecs "$T/gst.flv")" = "h264 aac" ]
	check_decodes "$T/gst.flv"
	within "$(probe_duration "$T/gst.flv")" 2 6
}

@test "pushflv: ffmpeg -listen as the server receives the whole clip" {
	local port url
	port=$(free_port)
	url=rtmp://127.0.0.1:$port/live/x
	spawn listen ffmpeg -nostdin -v error -listen 1 -i "$url" -c copy \
		-f flv "$T/listen.flv"
	wait_port "$port"
	run timeout 30 "$PUSH" "$url" "$CLIP"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_status "$SPAWNED" 15
	valid_av "$T/listen.flv"
	within "$(probe_duration "$T/listen.flv")" $(clip_bounds)
	[ "$(packet_counts "$T/listen.flv")" = "$(packet_counts "$CLIP")" ]
}

@test "pushflv: paced in real time by default, as fast as possible with -n" {
	local port start took
	port=$(free_port)
	start_nginx "$port"
	start=$(now)
	run timeout 30 "$PUSH" "rtmp://127.0.0.1:$port/live/paced" "$CLIP"
	took=$(elapsed_since "$start")
	echo "paced: status $status, $took s: $output"
	[ "$status" -eq 0 ]
	within "$took" 5 12
	start=$(now)
	run timeout 30 "$PUSH" -n "rtmp://127.0.0.1:$port/live/fast" "$CLIP"
	took=$(elapsed_since "$start")
	echo "-n: status $status, $took s: $output"
	[ "$status" -eq 0 ]
	within "$took" 0 3
}

@test "pushflv: -l loops the clip with timestamps monotonic across the loop point" {
	local port url
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/loop
	record_ffmpeg "$url" "$T/rec.flv" 9
	wait_playing "$port" loop
	spawn push "$PUSH" -l "$url" "$CLIP"
	local push=$SPAWNED
	wait_status "$RECORDER_PID" 25
	[ "$STATUS" -eq 0 ]
	# still publishing after more than one pass over the 6 s clip
	alive "$push"
	kill -TERM "$push"
	wait_status "$push" 10
	[ "$STATUS" -eq 0 ]
	valid_av "$T/rec.flv"
	within "$(probe_duration "$T/rec.flv")" 8 9.5
}

@test "pushflv: -l carries time across RTMP's 32-bit wrap; rtmp-dump's FLV stays continuous" {
	local port url
	# The clip moved in time to end 200 ms before 2^32 ms (49.7 days): the
	# second pass crosses the wrap.  Timestamps that stuck at the top
	# would stop pacing and time; the dump must go on at frame pace.
	shift_clip "$CLIP" "$T/late.flv" $((2**32 - 200))
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/wrap
	spawn dump "$DUMP" -v -v -r 0 -t 20 -o "$T/wrap.flv" "$url"
	local dump=$SPAWNED
	wait_playing "$port" wrap
	spawn push "$PUSH" -l "$url" "$T/late.flv"
	local push=$SPAWNED
	sleep 9
	alive "$push"
	kill -TERM "$push" "$dump"
	wait_status "$dump" 10
	[ "$STATUS" -eq 0 ]
	wait_status "$push" 10
	[ "$STATUS" -eq 0 ]
	flv_check "$T/wrap.flv"
	# The wrap is time going on, not a new publisher to splice in.
	refute grep "timestamps continue" "$T/dump.log"
	local n span min max
	read -r n span min max < <(video_steps "$T/wrap.flv")
	echo "video frames $n, span $span ms, steps $min..$max ms"
	[ "$span" -ge 7000 ] && [ "$min" -gt 0 ] && [ "$max" -le 200 ]
}

@test "pushflv: FLV on stdin whose timestamps wrap at 2^32 ms plays on at frame pace" {
	local port url dump n span min max
	# A pipe that has run 49.7 days: its FLV timestamps wrap mid-clip.
	shift_clip "$CLIP" "$T/wrapping.flv" $((2**32 + 3000))
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/w
	spawn dump "$DUMP" -q -r 0 -t 20 -o "$T/out.flv" "$url"
	dump=$SPAWNED
	wait_playing "$port" w
	run timeout 20 sh -c 'cat "$1" | "$2" -q "$3"' sh "$T/wrapping.flv" "$PUSH" "$url"
	echo "$output"
	[ "$status" -eq 0 ]
	kill -TERM "$dump"
	wait_status "$dump" 10
	[ "$STATUS" -eq 0 ]
	flv_check "$T/out.flv"
	read -r n span min max < <(video_steps "$T/out.flv")
	echo "video frames $n, span $span ms, steps $min..$max ms"
	[ "$n" -ge 140 ] && [ "$span" -ge 5500 ] && [ "$min" -gt 0 ] && [ "$max" -le 200 ]
}

@test "pushflv: reads FLV from a pipe on stdin and from -" {
	local port url
	port=$(free_port)
	url=rtmp://127.0.0.1:$port/live/x
	spawn listen ffmpeg -nostdin -v error -listen 1 -i "$url" -c copy \
		-f flv "$T/pipe.flv"
	local listener=$SPAWNED
	wait_port "$port"
	run timeout 30 sh -c 'cat "$1" | "$2" -n "$3"' sh "$CLIP" "$PUSH" "$url"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_status "$listener" 15
	valid_av "$T/pipe.flv"
	[ "$(packet_counts "$T/pipe.flv")" = "$(packet_counts "$CLIP")" ]

	port=$(free_port)
	url=rtmp://127.0.0.1:$port/live/x
	spawn listen2 ffmpeg -nostdin -v error -listen 1 -i "$url" -c copy \
		-f flv "$T/dash.flv"
	listener=$SPAWNED
	wait_port "$port"
	run timeout 30 sh -c '"$2" -n "$3" - <"$1"' sh "$CLIP" "$PUSH" "$url"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_status "$listener" 15
	valid_av "$T/dash.flv"
	[ "$(packet_counts "$T/dash.flv")" = "$(packet_counts "$CLIP")" ]
}

@test "pushflv: connection refused exits 1 naming the address" {
	local port
	port=$(free_port)
	run timeout 20 "$PUSH" "rtmp://127.0.0.1:$port/live/x" "$CLIP"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"127.0.0.1:$port"* ]]
	[[ "$output" == *refused* ]]
}

@test "pushflv: usage errors exit 2, -h exits 0" {
	run timeout 10 "$PUSH" rtmp://127.0.0.1:1935/live "$CLIP"
	echo "no stream: $status $output"
	[ "$status" -eq 2 ]
	run timeout 10 "$PUSH" http://127.0.0.1:1935/live/x "$CLIP"
	echo "http: $status $output"
	[ "$status" -eq 2 ]
	run timeout 10 "$PUSH"
	echo "no url: $status $output"
	[ "$status" -eq 2 ]
	run timeout 10 "$PUSH" -Z rtmp://127.0.0.1:1935/live/x "$CLIP"
	echo "-Z: $status $output"
	[ "$status" -eq 2 ]
	[[ "$output" == *usage* ]]
	run timeout 10 "$PUSH" -r many rtmp://127.0.0.1:1935/live/x "$CLIP"
	echo "-r many: $status $output"
	[ "$status" -eq 2 ]
	run timeout 10 "$PUSH" -h
	echo "-h: $status $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *usage* ]]
}

@test "pushflv: input that is not FLV exits 1 with a clear message" {
	local port url
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	printf 'this is not a flash video file, just some text\n%.0s' \
		$(seq 1 200) >"$T/garbage.flv"
	run timeout 20 "$PUSH" "$url" "$T/garbage.flv"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "${output,,}" == *flv* ]]
	run timeout 20 sh -c '"$1" "$2" <"$3"' sh "$PUSH" "$url" "$T/garbage.flv"
	echo "stdin: $output"
	[ "$status" -eq 1 ]
	[[ "${output,,}" == *flv* ]]
	run timeout 20 "$PUSH" "$url" "$T/does-not-exist.flv"
	echo "missing: $output"
	[ "$status" -eq 1 ]
	[[ "$output" == *does-not-exist.flv* ]]
}

@test "pushflv: -r reconnects when nginx is killed and restarted mid-publish" {
	local port url push
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/re
	spawn push "$PUSH" -l -r 5 "$url" "$CLIP"
	push=$SPAWNED
	wait_publishing "$port" re
	sleep 2
	kill -KILL "$NGINX_PID"
	wait_exit "$NGINX_PID" 5
	wait_port_closed "$port" 5
	sleep 1
	alive "$push"
	start_nginx "$port"
	# the new nginx gets a second publish, then a player gets media with
	# the sequence headers sent again
	wait_publishing "$port" re 20 2
	record_ffmpeg "$url" "$T/after.flv" 3
	wait_status "$RECORDER_PID" 20
	[ "$STATUS" -eq 0 ]
	valid_av "$T/after.flv"
	within "$(probe_duration "$T/after.flv")" 2 3.5
	alive "$push"
	kill -TERM "$push"
	wait_status "$push" 10
	[ "$STATUS" -eq 0 ]
}

@test "pushflv: a second publisher of the same stream is refused: exit 3" {
	local port url
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/busy
	publish_loop_ffmpeg "$url"
	wait_publishing "$port" busy
	run timeout 20 "$PUSH" "$url" "$CLIP"
	echo "$output"
	grep 'already publishing' "$NGINX_DIR/error.log"
	[ "$status" -eq 3 ]
	alive "$PUBLISHER_PID"
}

@test "pushflv: -l on a file without audio or video ends by itself, exit 0" {
	local port url f rc cpu took start
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/empty
	# an FLV header and nothing else; the header and the clip's onMetaData
	printf 'FLV\x01\x05\0\0\0\x09\0\0\0\0' >"$T/header.flv"
	python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
assert d[13] == 18, "the clip does not open with a script tag"
size = int.from_bytes(d[14:17], "big")
open(sys.argv[2], "wb").write(d[:13 + 11 + size + 4])' "$CLIP" "$T/meta.flv"
	for f in header meta; do
		# A pass with nothing to send used to loop at once, forever, at
		# 100 % CPU: timeout's SIGTERM after 6 s bounds that, its
		# SIGKILL 3 s later one that ignores SIGTERM too.
		start=$(now)
		rc=0
		/usr/bin/time -f '%U %S' -o "$T/cpu-$f" \
			timeout -k 3 6 "$PUSH" -l -t 3 -r 0 "$url" "$T/$f.flv" \
			</dev/null >"$T/push-$f.log" 2>&1 || rc=$?
		took=$(elapsed_since "$start")
		cpu=$(tail -n 1 "$T/cpu-$f" | awk '{ printf "%.2f\n", $1 + $2 }')
		echo "# $f.flv: exit $rc after $took s, CPU $cpu s"
		sed 's/^/# /' "$T/push-$f.log"
		[ "$rc" -ne 137 ] || fail "$f.flv: did not end, and ignored SIGTERM"
		[ "$rc" -ne 124 ] || fail "$f.flv: did not end by itself in 6 s"
		[ "$rc" -eq 0 ] || fail "$f.flv: exit status $rc, want 0"
		within "$took" 0 4
		within "$cpu" 0 0.5
	done
}
