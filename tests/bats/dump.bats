#!/usr/bin/env bats
# rtmp-dump against real servers on loopback: nginx-rtmp fed by ffmpeg or
# rtmp-pushflv, live and recorded (VOD) streams, drops and restarts.

load helpers

setup() {
	require_programs
	require ffmpeg ffprobe nginx python3 ss
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

# has_progress FILE: FILE holds a progress line (media time, bytes,
# bitrate): some digits and a bitrate unit.
has_progress() {
	grep -qaiE '[0-9].*(b/s|bit/s|bps)' "$1"
}

@test "dump: records -d 4 s of a live stream ffmpeg publishes to nginx-rtmp" {
	local port
	port=$(free_port)
	start_nginx "$port"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/x"
	wait_publishing "$port" x
	# join a stream whose timestamps are well past -d: -d counts the media
	# recorded, not the stream's clock
	sleep 5
	run timeout 30 "$DUMP" -d 4 -o "$T/out.flv" "rtmp://127.0.0.1:$port/live/x"
	echo "$output"
	[ "$status" -eq 0 ]
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 2.5 5.5
}

@test "dump: rtmpdump plays what rtmp-pushflv publishes through nginx-rtmp" {
	local port url
	require rtmpdump
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/interop
	spawn push "$PUSH" -l "$url" "$CLIP"
	wait_publishing "$port" interop
	# rtmpdump records until stopped; SIGTERM ends its file cleanly
	run timeout 5 rtmpdump -q -r "$url" -o "$T/rtmpdump.flv"
	echo "rtmpdump: $status $output"
	alive "$SPAWNED"
	[ "$(probe_codecs "$T/rtmpdump.flv")" = "h264 aac" ]
	check_monotonic "$T/rtmpdump.flv"
	check_decodes "$T/rtmpdump.flv"
	within "$(probe_duration "$T/rtmpdump.flv")" 2 5.5
}

@test "dump: writes the FLV to stdout, by default and with -o -" {
	local port url
	port=$(free_port)
	start_nginx "$port"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/x"
	wait_publishing "$port" x
	url=rtmp://127.0.0.1:$port/live/x
	run timeout 30 sh -c '"$1" -d 3 "$2" >"$3"' sh "$DUMP" "$url" "$T/stdout.flv"
	echo "$output"
	[ "$status" -eq 0 ]
	valid_av "$T/stdout.flv"
	within "$(probe_duration "$T/stdout.flv")" 1.5 4.5
	run timeout 30 sh -c '"$1" -d 3 -o - "$2" | ffprobe -v error \
		-show_entries stream=codec_name -of csv=p=0 -' sh "$DUMP" "$url"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *h264* ]]
	[[ "$output" == *aac* ]]
	# a reader that goes away ends the recording at once
	run timeout 10 bash -c '"$1" "$2" | head -c 1000 >/dev/null
		exit "${PIPESTATUS[0]}"' bash "$DUMP" "$url"
	echo "closed pipe: $status $output"
	[ "$status" -ne 124 ]
	# a query (stream key) stays part of the stream name
	run timeout 30 "$DUMP" -d 1 -o "$T/key.flv" "$url?key=s3cret"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "play: name='x' args='key=s3cret'" "$NGINX_DIR/error.log"
	valid_av "$T/key.flv"
}

@test "dump: a live stream nobody publishes times out with -t: exit 5" {
	local port start took
	port=$(free_port)
	start_nginx "$port"
	start=$(now)
	run timeout 20 "$DUMP" -t 2 -o "$T/none.flv" "rtmp://127.0.0.1:$port/live/nobody"
	took=$(elapsed_since "$start")
	echo "$status after $took s: $output"
	[ "$status" -eq 5 ]
	within "$took" 1.5 4.5
}

@test "dump: with -r 0, a stream nobody publishes times out: exit 5" {
	local port start took
	port=$(free_port)
	start_nginx "$port"
	start=$(now)
	run timeout 20 "$DUMP" -r 0 -t 2 -o "$T/none.flv" "rtmp://127.0.0.1:$port/live/nobody"
	took=$(elapsed_since "$start")
	echo "$status after $took s: $output"
	[ "$status" -eq 5 ]
	within "$took" 1.5 4.5
}

@test "dump: reconnects that bring no media use up the retries (-r 2)" {
	local port start took
	port=$(free_port)
	start_nginx "$port"
	start=$(now)
	# at most 3 x 2 s of waiting plus 1 + 2 s of backoff
	run timeout 30 "$DUMP" -r 2 -t 2 -o "$T/none.flv" "rtmp://127.0.0.1:$port/live/nobody"
	took=$(elapsed_since "$start")
	echo "$status after $took s: $output"
	[ "$status" -eq 5 ] || [ "$status" -eq 1 ]
	within "$took" 1.5 12
}

@test "dump: a missing recorded stream is not found: exit 3" {
	local port
	port=$(free_port)
	start_nginx "$port" "application vod { play $T; }"
	run timeout 20 "$DUMP" -o "$T/nope-out.flv" "rtmp://127.0.0.1:$port/vod/nope.flv"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"not found"* ]]
	[[ "$output" == *nope.flv* ]]
}

@test "dump: a recorded stream (nginx-rtmp play DIR) is dumped whole and ends by itself" {
	local port
	port=$(free_port)
	mkdir "$T/vod"
	cp "$CLIP" "$T/vod/clip.flv"
	start_nginx "$port" "application vod { play $T/vod; }"
	run timeout 30 "$DUMP" -o "$T/vod.flv" "rtmp://127.0.0.1:$port/vod/clip.flv"
	echo "$output"
	[ "$status" -eq 0 ]
	valid_av "$T/vod.flv"
	within "$(probe_duration "$T/vod.flv")" 5.5 6.7
	[ "$(packet_counts "$T/vod.flv")" = "$(packet_counts "$CLIP")" ]
}

@test "dump: connection refused exits 1 naming the address" {
	local port
	port=$(free_port)
	run timeout 20 "$DUMP" -o "$T/x.flv" "rtmp://127.0.0.1:$port/live/x"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"127.0.0.1:$port"* ]]
	[[ "$output" == *refused* ]]
}

@test "dump: usage errors exit 2, -h exits 0" {
	local u
	for u in rtmp://127.0.0.1:1935/live http://127.0.0.1/live/x \
	    rtmpt://127.0.0.1/live/x rtmp://user@127.0.0.1/live/x \
	    rtmp:///live/x not-a-url; do
		run timeout 10 "$DUMP" -o "$T/x.flv" "$u"
		echo "$u: $status $output"
		[ "$status" -eq 2 ]
	done
	run timeout 10 "$DUMP"
	echo "no url: $status $output"
	[ "$status" -eq 2 ]
	run timeout 10 "$DUMP" -Z rtmp://127.0.0.1/live/x
	echo "-Z: $status $output"
	[ "$status" -eq 2 ]
	[[ "$output" == *usage* ]]
	run timeout 10 "$DUMP" -d soon rtmp://127.0.0.1/live/x
	echo "-d soon: $status $output"
	[ "$status" -eq 2 ]
	run timeout 10 "$DUMP" -h
	echo "-h: $status $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *usage* ]]
}

@test "dump: an output file that cannot be written exits 1" {
	local port
	port=$(free_port)
	start_nginx "$port"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/x"
	wait_publishing "$port" x
	run timeout 20 "$DUMP" -d 2 -o "$T/no/such/dir/out.flv" "rtmp://127.0.0.1:$port/live/x"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *out.flv* ]]
}

@test "dump: SIGTERM and SIGINT end the recording with a complete FLV, exit 0" {
	local port sig dump
	port=$(free_port)
	start_nginx "$port"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/x"
	wait_publishing "$port" x
	for sig in TERM INT; do
		# a background job starts with SIGINT ignored; a terminal's
		# user would not
		spawn "dump-$sig" env --default-signal=INT \
			"$DUMP" -o "$T/$sig.flv" "rtmp://127.0.0.1:$port/live/x"
		dump=$SPAWNED
		wait_file "$T/$sig.flv" 10 200000
		sleep 1
		kill -s "$sig" "$dump"
		wait_status "$dump" 10
		echo "SIG$sig: status $STATUS"
		[ "$STATUS" -eq 0 ]
		valid_av "$T/$sig.flv"
	done
}

@test "dump: a publisher restart mid-stream stays in one monotonic FLV" {
	local port url dump
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	publish_loop_ffmpeg "$url"
	local first=$PUBLISHER_PID
	wait_publishing "$port" x
	spawn dump "$DUMP" -t 3 -r 5 -d 7 -o "$T/out.flv" "$url"
	dump=$SPAWNED
	wait_file "$T/out.flv" 10 1000
	sleep 3
	stop "$first"
	sleep 1
	alive "$dump"
	publish_loop_ffmpeg "$url"
	wait_publishing "$port" x 10 2
	# -d 7 is reached only with the second publisher's media: the first
	# published about 3.5 s of it
	wait_status "$dump" 25
	[ "$STATUS" -eq 0 ]
	valid_av "$T/out.flv"
	[ "$(count_flv_headers "$T/out.flv")" -eq 1 ]
	within "$(probe_duration "$T/out.flv")" 5.5 8.5
}

@test "dump: a publisher restarting after 35 days of stream time is spliced, not a jump of weeks" {
	local port url dump n span min max
	# 3e9 ms is past half of RTMP's 32-bit range: a step back from there
	# to 0 must not be taken for the wrap (a jump forward of ~15 days).
	shift_clip "$CLIP" "$T/late.flv" 3000000000
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	spawn dump "$DUMP" -v -v -r 0 -t 20 -o "$T/out.flv" "$url"
	dump=$SPAWNED
	wait_playing "$port" x
	run timeout 20 "$PUSH" -q "$url" "$T/late.flv"
	[ "$status" -eq 0 ]
	run timeout 20 "$PUSH" -q "$url" "$CLIP"
	[ "$status" -eq 0 ]
	kill -TERM "$dump"
	wait_status "$dump" 10
	[ "$STATUS" -eq 0 ]
	flv_check "$T/out.flv"
	grep "timestamps continue" "$T/dump.log"
	read -r n span min max < <(video_steps "$T/out.flv")
	echo "video frames $n, span $span ms, steps $min..$max ms"
	[ "$span" -ge 10000 ] && [ "$span" -le 16000 ] && [ "$max" -le 2000 ]
}

@test "dump: -r reconnects when nginx is killed and restarted, in one monotonic FLV" {
	local port url dump
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	publish_loop_ffmpeg "$url"
	wait_publishing "$port" x
	spawn dump "$DUMP" -t 3 -r 5 -d 7 -o "$T/out.flv" "$url"
	dump=$SPAWNED
	wait_file "$T/out.flv" 10 1000
	sleep 3
	kill -KILL "$NGINX_PID"
	wait_exit "$NGINX_PID" 5
	stop "$PUBLISHER_PID"
	wait_port_closed "$port" 5
	sleep 1
	alive "$dump"
	start_nginx "$port"
	publish_loop_ffmpeg "$url"
	wait_publishing "$port" x 10 2
	wait_status "$dump" 30
	[ "$STATUS" -eq 0 ]
	wait_playing "$port" x 1 2
	valid_av "$T/out.flv"
	[ "$(count_flv_headers "$T/out.flv")" -eq 1 ]
	within "$(probe_duration "$T/out.flv")" 5.5 8.5
}

@test "dump: progress only on a terminal, and not with -q" {
	local port url
	require script
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	publish_loop_ffmpeg "$url"
	wait_publishing "$port" x
	run timeout 30 sh -c '"$1" -d 2 -o "$2" "$3" 2>"$4"' sh \
		"$DUMP" "$T/plain.flv" "$url" "$T/plain.err"
	[ "$status" -eq 0 ]
	cat -A "$T/plain.err"
	refute has_progress "$T/plain.err"
	refute grep -q $'\r' "$T/plain.err"
	# under a pseudo-terminal (script(1)) the same run shows progress
	run timeout 30 script -qfec "'$DUMP' -d 3 -o '$T/tty.flv' '$url'" /dev/null
	echo "tty: $status"
	printf '%s\n' "$output" | cat -A
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/tty.out"
	has_progress "$T/tty.out"
	valid_av "$T/tty.flv"
	run timeout 30 script -qfec "'$DUMP' -q -d 2 -o '$T/q.flv' '$url'" /dev/null
	echo "tty -q: $status"
	printf '%s\n' "$output" | cat -A
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/q.out"
	refute has_progress "$T/q.out"
}

# nginx-rtmp with play_restart sends Play.Stop to its players whenever the
# publisher stops, and Play.Start when one comes back.
PLAY_RESTART='application restart { live on; play_restart on; }'

@test "dump: Play.Stop followed by a new publisher within 2 s is not the end (play_restart)" {
	local port url dump
	port=$(free_port)
	start_nginx "$port" "$PLAY_RESTART"
	url=rtmp://127.0.0.1:$port/restart/x
	spawn dump "$DUMP" -v -t 5 -r 2 -d 9 -o "$T/out.flv" "$url"
	dump=$SPAWNED
	wait_playing "$port" x
	# -n: as fast as nginx takes it; each run is 6 s of media
	run timeout 20 "$PUSH" -n "$url" "$CLIP"
	echo "first: $status $output"
	[ "$status" -eq 0 ]
	sleep 0.5
	alive "$dump" || fail "rtmp-dump ended at the first publisher's Play.Stop"
	run timeout 20 "$PUSH" -n "$url" "$CLIP"
	echo "second: $status $output"
	[ "$status" -eq 0 ]
	# -d 9 is reached only with the second publisher's media
	wait_status "$dump" 10 || fail "rtmp-dump did not reach -d 9"
	sed 's/^/# dump: /' "$T/dump.log"
	[ "$STATUS" -eq 0 ]
	wait_publishing "$port" x 1 2
	[ "$(count_flv_headers "$T/out.flv")" -eq 1 ]
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 7.5 9.5
}

@test "dump: Play.Stop with no publisher back ends the recording 2 s later, exit 0" {
	local port url dump start took
	port=$(free_port)
	start_nginx "$port" "$PLAY_RESTART"
	url=rtmp://127.0.0.1:$port/restart/x
	spawn dump "$DUMP" -v -t 10 -r 2 -o "$T/out.flv" "$url"
	dump=$SPAWNED
	wait_playing "$port" x
	run timeout 20 "$PUSH" -n "$url" "$CLIP"
	echo "publisher: $status $output"
	[ "$status" -eq 0 ]
	start=$(now)
	wait_status "$dump" 8 || fail "rtmp-dump still running 8 s after the publisher left"
	took=$(elapsed_since "$start")
	sed 's/^/# dump: /' "$T/dump.log"
	echo "# rtmp-dump ended $took s after the publisher"
	[ "$STATUS" -eq 0 ]
	grep -q 'stream ended' "$T/dump.log"
	within "$took" 1.5 4
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 5 6.5
}
