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
	# a reader that goes away ends the recording quietly: status 0 and
	# not a word on stderr
	run timeout 30 bash -c '"$1" "$2" 2>"$3" | head -c 1000 >/dev/null
		exit "${PIPESTATUS[0]}"' bash "$DUMP" "$url" "$T/pipe.err"
	echo "closed pipe: $status $output"
	cat -A "$T/pipe.err"
	[ "$status" -eq 0 ]
	[ ! -s "$T/pipe.err" ]
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
	[[ "$output" == *"127.0.0.1:$port: no media for 2 s"* ]]
	# not before -t, and well before the default 30 s
	within "$took" 1.5 15
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
	[[ "$output" == *"127.0.0.1:$port: no media for 2 s"* ]]
	# not before -t, and well before the default 30 s
	within "$took" 1.5 15
}

@test "dump: a stream that never delivered media is not retried, whatever -r says: exit 5" {
	local port start took
	port=$(free_port)
	start_nginx "$port"
	start=$(now)
	run timeout 30 "$DUMP" -r 2 -t 2 -o "$T/none.flv" "rtmp://127.0.0.1:$port/live/nobody"
	took=$(elapsed_since "$start")
	echo "$status after $took s: $output"
	[ "$status" -eq 5 ]
	[ "$output" = "rtmp-dump: 127.0.0.1:$port: no media for 2 s" ]
	# one play, no reconnect: -r is for a stream that once played
	[ "$(grep -c "play: name='nobody'" "$NGINX_DIR/error.log")" -eq 1 ]
	within "$took" 1.5 15
}

@test "dump: reconnects wait 1, 2, 4 s, again 1 s once media flows; -r used up: exit 1" {
	# play, two drops, play again, then only drops
	start_flaky play:1000 drop drop play:1000 drop
	run timeout 90 "$DUMP" -r 3 -o "$T/out.flv" "rtmp://127.0.0.1:$FLAKY_PORT/live/x"
	echo "$status: $output"
	[ "$status" -eq 1 ]
	check_retries rtmp-dump
	# both plays' video, in one file
	flv_check "$T/out.flv"
}

@test "dump: a server that plays but sends no media uses up -r: exit 1, not the timeout's 5" {
	local want
	start_flaky play:1000 idle
	run timeout 60 "$DUMP" -r 2 -t 2 -o "$T/out.flv" "rtmp://127.0.0.1:$FLAKY_PORT/live/x"
	echo "$status: $output"
	[ "$status" -eq 1 ]
	# Play.Start alone is no proof the stream is back: the backoff goes on
	want="1000:1 2000:2"
	[ "$(sed -n 's/.*; reconnecting in \([0-9]*\) ms (attempt \([0-9]*\) of 2)$/\1:\2/p' \
		<<<"$output" | xargs)" = "$want" ]
	[ "$(tail -n 1 <<<"$output")" = \
	    "rtmp-dump: 127.0.0.1:$FLAKY_PORT: no media for 2 s; gave up after 2 reconnect attempts" ]
	[ "$(grep -c ' accept ' "$FLAKY_LOG")" -eq 3 ]
	flv_check "$T/out.flv"
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

@test "dump: SIGINT or SIGTERM before any media ends it quietly with status 0" {
	local port sig dump
	port=$(free_port)
	start_nginx "$port"
	for sig in INT TERM; do
		# nobody publishes: the play is started and no media comes
		spawn "dump-$sig" env --default-signal=INT \
			"$DUMP" -o "$T/$sig.flv" "rtmp://127.0.0.1:$port/live/none$sig"
		dump=$SPAWNED
		wait_playing "$port" "none$sig"
		kill -s "$sig" "$dump"
		wait_status "$dump" 10
		echo "SIG$sig: status $STATUS"
		cat -A "$T/dump-$sig.log"
		# a deliberate stop is not a failure, and nothing to complain of
		[ "$STATUS" -eq 0 ]
		[ ! -s "$T/dump-$sig.log" ]
		# the file is empty, or whole tags if metadata came
		[ ! -s "$T/$sig.flv" ] || flv_check "$T/$sig.flv"
	done
}

# meta_duration FILE: "DURATION LAST WHAT": the first onMetaData's
# duration (seconds), the last tag's timestamp (ms), and WHAT "recorded"
# if the duration is exactly LAST / 1000, as rtmp-dump writes it, else
# "as-sent".
meta_duration() {
	python3 - "$1" <<-'EOF'
		import struct, sys
		b = open(sys.argv[1], "rb").read()
		off, dur, last = 13, None, None
		while off + 11 <= len(b):
		    size = int.from_bytes(b[off + 1:off + 4], "big")
		    body = b[off + 11:off + 11 + size]
		    if b[off] & 0x1f == 18 and dur is None and b"onMetaData" in body[:16]:
		        i = body.find(b"\x00\x08duration\x00")
		        if i >= 0:
		            dur = struct.unpack(">d", body[i + 11:i + 19])[0]
		    last = int.from_bytes(b[off + 4:off + 7], "big") | b[off + 7] << 24
		    off += 15 + size
		print(dur, last, "recorded" if dur == last / 1000.0 else "as-sent")
	EOF
}

@test "dump: a regular file's onMetaData says the recorded duration, a pipe's what the source said" {
	local port url dump dur last what
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	# the clip's metadata says 6 s, which -d 3 must correct
	spawn push "$PUSH" -l "$url" "$CLIP"
	wait_publishing "$port" x
	run timeout 30 "$DUMP" -d 3 -o "$T/file.flv" "$url"
	[ "$status" -eq 0 ]
	read -r dur last what < <(meta_duration "$T/file.flv")
	echo "-o file: duration $dur, last tag at $last ms: $what"
	[ "$what" = recorded ]
	within "$dur" 3 3.5
	# the standard output on a regular file is a regular file
	run timeout 30 sh -c '"$1" -d 3 "$2" >"$3"' sh "$DUMP" "$url" "$T/stdout.flv"
	[ "$status" -eq 0 ]
	read -r dur last what < <(meta_duration "$T/stdout.flv")
	echo ">file: duration $dur, last tag at $last ms: $what"
	[ "$what" = recorded ]
	# a pipe cannot be patched: the metadata stays as the source sent it
	run timeout 30 sh -c '"$1" -d 3 "$2" | cat >"$3"' sh "$DUMP" "$url" "$T/pipe.flv"
	[ "$status" -eq 0 ]
	read -r dur last what < <(meta_duration "$T/pipe.flv")
	echo "pipe: duration $dur, last tag at $last ms: $what"
	[ "$what" = as-sent ]
	# nginx-rtmp passes the clip's 6.067 s on in whole seconds
	[ "$dur" = 6.0 ]
	# SIGTERM ends a recording too: the duration is written at the end
	spawn dump "$DUMP" -o "$T/term.flv" "$url"
	dump=$SPAWNED
	wait_file "$T/term.flv" 10 200000
	kill -TERM "$dump"
	wait_status "$dump" 10
	[ "$STATUS" -eq 0 ]
	read -r dur last what < <(meta_duration "$T/term.flv")
	echo "SIGTERM: duration $dur, last tag at $last ms: $what"
	[ "$what" = recorded ]
	valid_av "$T/term.flv"
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
	# at once: the 2 s grace runs from the first publisher's Play.Stop
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
	# the grace, not -t 10 (that would be status 5 and no "stream ended")
	within "$took" 1.5 8
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 5 6.5
}

# nginx-rtmp re-sends a GStreamer publisher's onMetaData at timestamp 0 when
# a late player's video starts.  Only audio and video may drive a splice:
# taking that metadata for a new segment jumped the clock ~4 s and left
# about 1 s of audio and no video in a 4 s recording.
@test "dump: a late player of a GStreamer publisher through nginx-rtmp records both tracks without a splice" {
	require gst-launch-1.0 ffprobe
	local port frames
	make_clip "$T/clip.flv" 14
	port=$(free_port)
	start_nginx "$port"
	spawn gst gst-launch-1.0 -q filesrc location="$T/clip.flv" ! flvdemux name=d \
		flvmux name=m streamable=true ! \
		rtmp2sink location="rtmp://127.0.0.1:$port/live/g" \
		d.video ! queue ! h264parse ! clocksync ! m. \
		d.audio ! queue ! aacparse ! clocksync ! m.
	wait_publishing "$port" g 20
	# A late player: the publisher has been live for a while.
	sleep 3
	run timeout 30 "$DUMP" -vv -d 4 -o "$T/late.flv" "rtmp://127.0.0.1:$port/live/g"
	echo "dump: $status $output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"timestamps continue"* ]]
	[ "$(probe_codecs "$T/late.flv")" = "h264 aac" ]
	frames=$(ffprobe -v error -select_streams v -count_packets \
		-show_entries stream=nb_read_packets -of csv=p=0 "$T/late.flv")
	echo "video frames: $frames"
	# 4 s at 30 fps is 120; well under that is the old bug (none at all).
	[ "$frames" -ge 90 ]
	check_monotonic "$T/late.flv"
}

# -p, the health probe (issue 11): exit 0 at the first video keyframe,
# 5 with what came instead when the deadline passes, the server's refusal
# and connection failures at once; messages name the URL, not host:port.

# live_stream: nginx-rtmp with ffmpeg publishing the clip live as live/x;
# sets port and url.
live_stream() {
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	publish_loop_ffmpeg "$url"
	wait_publishing "$port" x
}

# run_probe ARG...: rtmp-dump ARG..., bounded and timed: sets status,
# output and took (seconds).
run_probe() {
	local start
	start=$(now)
	run timeout 20 "$DUMP" "$@"
	took=$(elapsed_since "$start")
	echo "rtmp-dump $*: $status after $took s: $output"
}

@test "dump: probe: a live stream through nginx-rtmp passes at its first keyframe, silent, writing nothing" {
	local port url start took
	live_stream
	start=$(now)
	# stdout and stderr apart: a probe from cron writes neither
	run timeout 20 sh -c '"$1" -p 10 "$2" >"$3" 2>"$4"' sh "$DUMP" "$url" \
		"$T/out" "$T/err"
	took=$(elapsed_since "$start")
	echo "$status after $took s"
	cat -A "$T/err"
	[ "$status" -eq 0 ]
	[ ! -s "$T/out" ] && [ ! -s "$T/err" ]
	# a keyframe a second: well under the 10 s deadline
	within "$took" 0 4
	# -v says when; the stream key stays out of the name
	run timeout 20 "$DUMP" -v -p 10 "$url?key=s3cret"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rtmp-dump: $url: keyframe after "*" ms"* ]]
	[[ "$output" != *"$url?key"* ]]
}

@test "dump: probe: an audio-only publisher fails at the deadline, exit 5, audio only" {
	local port url took
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/radio
	spawn radio ffmpeg -nostdin -v error -re -stream_loop -1 -i "$CLIP" -vn -c copy -f flv "$url"
	wait_publishing "$port" radio
	run_probe -p 3 "$url"
	[ "$status" -eq 5 ]
	[ "$output" = "rtmp-dump: $url: no keyframe within 3 s: audio only, no video" ]
	within "$took" 2.8 8
	# -d takes audio: the way to check an audio-only stream
	run timeout 20 "$DUMP" -q -r 0 -t 5 -d 1 -o /dev/null "$url"
	[ "$status" -eq 0 ]
}

@test "dump: probe: a stream nobody publishes fails at the deadline, exit 5, no media, one play" {
	local port url took
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/nobody
	# nginx-rtmp keeps the play of an absent live stream waiting
	run_probe -p 3 "$url"
	[ "$status" -eq 5 ]
	[ "$output" = "rtmp-dump: $url: no keyframe within 3 s: no media" ]
	within "$took" 2.8 8
	[ "$(grep -c "play: name='nobody'" "$NGINX_DIR/error.log")" -eq 1 ]
}

@test "dump: probe: rtmp-relay -n refuses another stream at once, exit 3; serves its own" {
	local port took
	port=$(free_port)
	spawn relay sh -c 'ffmpeg -nostdin -v error -re -stream_loop -1 -i "$1" -c copy -f flv - |
		exec "$2" -l "127.0.0.1:$3" -n live/main' sh "$CLIP" "$RTMPKIT_BIN/rtmp-relay" "$port"
	wait_port "$port" 10
	run_probe -p 10 "rtmp://127.0.0.1:$port/live/other"
	[ "$status" -eq 3 ]
	[ "$output" = "rtmp-dump: rtmp://127.0.0.1:$port/live/other: stream not found: live/other" ]
	within "$took" 0 3
	# the relay's GOP cache starts a player on a keyframe; wait for ffmpeg's first
	run timeout 20 "$DUMP" -p 10 "rtmp://127.0.0.1:$port/live/main"
	echo "main: $status $output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "dump: probe: connection refused exits 1 at once; with -r it is retried until the deadline: exit 5" {
	local port url took
	port=$(free_port)
	url=rtmp://127.0.0.1:$port/live/x
	run_probe -p 10 "$url"
	[ "$status" -eq 1 ]
	# one line, no reconnect: a probe retries only when -r says so
	[ "$output" = "rtmp-dump: $url: connection refused" ]
	within "$took" 0 3
	# refused at 0 s and 1 s; the deadline comes during the wait for 3 s
	run_probe -p 2 -r 5 "$url"
	[ "$status" -eq 5 ]
	[ "$(tail -n 1 <<<"$output")" = "rtmp-dump: $url: no keyframe within 2 s: connection refused" ]
	[ "$(grep -c 'reconnecting in' <<<"$output")" -eq 2 ]
	within "$took" 1.8 5
}

@test "dump: probe: with -o the FLV is written, ending with the keyframe" {
	local port url v
	live_stream
	run timeout 20 "$DUMP" -p 10 -o "$T/probe.flv" "$url"
	echo "$output"
	[ "$status" -eq 0 ]
	flv_check "$T/probe.flv"
	# metadata, sequence headers, any audio first, the keyframe last
	v=$(ffprobe -v error -select_streams v -count_packets -show_entries \
		stream=codec_name,nb_read_packets -of csv=p=0 "$T/probe.flv")
	echo "video: $v"
	[[ "$v" == h264,* ]]
	[ "$(flv_payloads "$T/probe.flv" | tail -n 1 | cut -d' ' -f1,3)" = "9 17" ]
	# the one picture a thumbnail is made of (rtmp-dump(1) EXAMPLES)
	timeout 30 ffmpeg -nostdin -v error -i "$T/probe.flv" -frames:v 1 "$T/k.png"
	[ -s "$T/k.png" ]
}

@test "dump: probe: E-RTMP HEVC, AV1 and VP9 keyframes pass (nginx-rtmp VOD)" {
	local port s vod=$T/vod
	mkdir -p "$vod"
	for s in hevc-aac-ertmp av1-opus-ertmp vp9-opus-ertmp; do
		cp "$DATA/media/$s.flv" "$vod/"
	done
	chmod -R a+rX "$vod"
	port=$(free_port)
	start_nginx "$port" "application vod { play $vod; }"
	for s in hevc-aac-ertmp av1-opus-ertmp vp9-opus-ertmp; do
		run timeout 20 "$DUMP" -v -p 5 -o "$T/$s.flv" "rtmp://127.0.0.1:$port/vod/$s.flv"
		echo "$s: $status $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"keyframe after"* ]]
		# the file's last tag is the keyframe, an E-RTMP one (0x9.)
		[[ "$(flv_payloads "$T/$s.flv" | tail -n 1)" == "9 "*" 9"[13] ]]
	done
}

@test "dump: probe: -p with -d, or a bad -p, is a usage error; SIGTERM before a keyframe is not a pass" {
	local port dump v
	run timeout 10 "$DUMP" -p 5 -d 5 rtmp://127.0.0.1/live/x
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-p ends at the first keyframe: it takes no -d"* ]]
	for v in 0 soon 86401; do
		run timeout 10 "$DUMP" -p "$v" rtmp://127.0.0.1/live/x
		echo "-p $v: $status $output"
		[ "$status" -eq 2 ]
	done
	port=$(free_port)
	start_nginx "$port"
	spawn probe "$DUMP" -p 20 "rtmp://127.0.0.1:$port/live/none"
	dump=$SPAWNED
	wait_playing "$port" none
	kill -TERM "$dump"
	wait_status "$dump" 10
	cat "$T/probe.log"
	[ "$STATUS" -eq 1 ]
	grep -qx "rtmp-dump: rtmp://127.0.0.1:$port/live/none: stopped before a keyframe" "$T/probe.log"
}

@test "dump: rtmp-relay's input ends: its Stream EOF and close end the recording, exit 0, no reconnect" {
	local port
	port=$(free_port)
	spawn_sh relay "ffmpeg -nostdin -v error -re -i '$CLIP' -c copy -t 4 -f flv - |
		exec '$RTMPKIT_BIN/rtmp-relay' -l 127.0.0.1:$port"
	wait_port "$port"
	spawn dump "$DUMP" -v -o "$T/out.flv" "rtmp://127.0.0.1:$port/live/x"
	wait_status "$SPAWNED" 20 || fail "rtmp-dump still running after the relay ended"
	cat "$T/dump.log"
	[ "$STATUS" -eq 0 ] || fail "rtmp-dump exited $STATUS"
	refute grep -q "reconnecting" "$T/dump.log"
	grep -q "stream ended" "$T/dump.log" || fail "no 'stream ended' line"
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 2 4.5
}
