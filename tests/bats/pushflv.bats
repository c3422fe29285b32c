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
	# well short of the clip's 6 s: nothing waited for the clock
	within "$took" 0 4.5
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
	# one and a half passes (9 s) recorded: well past the wrap, which
	# comes 6 s in; waited for, not slept, so that a slow machine still
	# gets there
	wait_file "$T/wrap.flv" 40 $(($(stat -c %s "$T/late.flv") * 3 / 2))
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

@test "pushflv: reconnects wait 1, 2, 4 s, again 1 s after 64 KiB went through; -r used up: exit 1" {
	# 2 s of the clip, two drops, 1.5 s more (over 100 KB), then only drops
	start_flaky --publish take:2000 drop drop take:1500 drop
	run timeout 90 "$PUSH" -r 3 "rtmp://127.0.0.1:$FLAKY_PORT/live/x" "$CLIP"
	echo "$status: $output"
	[ "$status" -eq 1 ]
	check_retries rtmp-pushflv
}

@test "pushflv: reconnects that time out use up -r: exit 1, not the timeout's 5" {
	start_flaky --publish take:1000 silent
	run timeout 60 "$PUSH" -r 2 -t 2 "rtmp://127.0.0.1:$FLAKY_PORT/live/x" "$CLIP"
	echo "$status: $output"
	[ "$status" -eq 1 ]
	[ "$(tail -n 1 <<<"$output")" = \
	    "rtmp-pushflv: 127.0.0.1:$FLAKY_PORT: no answer within 2 s; gave up after 2 reconnect attempts" ]
	[ "$(grep -c ' accept ' "$FLAKY_LOG")" -eq 3 ]
}

# resumed LOG: flaky.py's LOG of a publish of the clip over connections 1
# and 3 shows what rtmp-pushflv(1) promises after a reconnect: the
# sequence headers again before any media, then the file from where it
# left off (video from the next keyframe) to its end, timestamps going on.
resumed() {
	python3 - "$1" "$CLIP" <<-'EOF'
		import hashlib, sys
		log, clip = sys.argv[1], open(sys.argv[2], "rb").read()
		video = []		# the clip's video frames: (sha1, keyframe)
		off = int.from_bytes(clip[5:9], "big") + 4
		while off + 11 <= len(clip):
		    size = int.from_bytes(clip[off + 1:off + 4], "big")
		    p = clip[off + 11:off + 11 + size]
		    if clip[off] & 0x1f == 9 and p[1:2] != b"\x00":
		        video.append((hashlib.sha1(p).hexdigest(), p[0] >> 4 == 1))
		    off += 15 + size
		conns = {}
		for line in open(log):
		    w = line.split()
		    if len(w) == 7 and w[1] == "media":
		        conns.setdefault(w[2], []).append((int(w[3]), int(w[4]), w[5], w[6] == "1"))
		first, again = conns["1"], conns["3"]
		def die(msg):
		    print("# " + msg)
		    sys.exit(1)
		# headers first on the new connection, both of them
		n = 0
		while n < len(again) and again[n][3]:
		    n += 1
		if sorted(m[0] for m in again[:n]) != [8, 9]:
		    die("connection 3 opens with %s, not the two sequence headers" % again[:n + 1])
		if any(m[3] for m in again[n:]):
		    die("a sequence header among the media")
		shas = [v[0] for v in video]
		v1 = [m[2] for m in first if m[0] == 9 and not m[3]]
		v3 = [m[2] for m in again if m[0] == 9 and not m[3]]
		if v1 != shas[:len(v1)]:
		    die("connection 1 did not get the clip's first %d frames" % len(v1))
		k = shas.index(v3[0])
		print("# connection 1: frames 0-%d, up to %d ms; connection 3: frames %d-%d, from %d ms"
		    % (len(v1) - 1, first[-1][1], k, k + len(v3) - 1, again[n][1]))
		if k < len(v1):
		    die("connection 3 starts again at frame %d, before frame %d" % (k, len(v1)))
		# what was in flight when the server hung up is lost, and the
		# frames up to the next keyframe (every 30) are skipped
		if k > len(v1) + 75:
		    die("connection 3 skips frames %d-%d" % (len(v1), k - 1))
		if not video[k][1]:
		    die("connection 3 starts at frame %d, not a keyframe" % k)
		if v3 != shas[k:]:
		    die("connection 3 does not carry the rest of the clip, in order")
		# timestamps go on from where they were, never from 0
		if not first[-1][1] <= again[0][1] <= again[n][1] <= first[-1][1] + 2500:
		    die("timestamps %d, then %d on connection 3" % (first[-1][1], again[n][1]))
	EOF
}

@test "pushflv: after a reconnect, headers again, then the file from where it left off" {
	# 2 s of the clip, a drop, then all that is left
	start_flaky --publish take:2000 drop take:60000
	run timeout 60 "$PUSH" -r 2 "rtmp://127.0.0.1:$FLAKY_PORT/live/x" "$CLIP"
	echo "$status: $output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' accept ' "$FLAKY_LOG")" -eq 3 ]
	resumed "$FLAKY_LOG"
}

# progress_lines FILE: how many progress lines ("12.3 s  0.4 MB  896
# kbit/s") FILE holds, each after a carriage return.
progress_lines() {
	grep -aoE $'\r'' *[0-9]+\.[0-9] s +[0-9]+\.[0-9] MB +[0-9]+ kbit/s' "$1" | wc -l
}

@test "pushflv: a progress line on a terminal, not with -q nor off one; SIGINT ends it: exit 0" {
	local port url tty push p
	require script
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/x
	# off a terminal: not a byte on stderr
	run timeout 30 sh -c '"$1" -n "$2" "$3" 2>"$4"' sh "$PUSH" "$url" "$CLIP" "$T/plain.err"
	[ "$status" -eq 0 ]
	cat -A "$T/plain.err"
	[ ! -s "$T/plain.err" ]
	# -q on a terminal: nothing either, over the clip's 6 s in real time
	run timeout 60 script -qfec "'$PUSH' -q '$url' '$CLIP'" /dev/null
	echo "tty -q: $status"
	printf '%s' "$output" | cat -A
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# on a terminal: progress, rewritten in place; a regular file on
	# stdin can be looped.  SIGINT (not ignored, as in a background job)
	# ends it with status 0.
	spawn tty script -qfec \
		"exec env --default-signal=INT '$PUSH' -l '$url' - <'$CLIP'" /dev/null
	tty=$SPAWNED
	wait_log "$T/tty.log" $'\r'' *[1-9][0-9]*\.[0-9] s +[0-9]+\.[0-9] MB +[0-9]+ kbit/s' 20
	for p in $(descendants "$tty"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = rtmp-pushflv ] && push=$p
	done
	[ -n "$push" ] || fail "no rtmp-pushflv under script(1)"
	kill -INT "$push"
	wait_status "$tty" 10
	echo "SIGINT: status $STATUS"
	cat -A "$T/tty.log" | tail -c 400
	[ "$STATUS" -eq 0 ]
	[ "$(progress_lines "$T/tty.log")" -ge 2 ]
	# nothing else was said, and the line was ended
	[ -z "$(tr '\r' '\n' <"$T/tty.log" | grep -avE '^ *$| kbit/s $')" ]
	[ "$(tail -c 2 "$T/tty.log" | od -An -c | tr -d ' ')" = '\r\n' ]
}

@test "pushflv: -l with a pipe on stdin is a usage error: exit 2, before connecting" {
	local f
	for f in "" -; do
		# port 1: a connection attempt would fail with status 1
		run timeout 10 sh -c 'cat "$1" | "$2" -l rtmp://127.0.0.1:1/live/x $3 2>"$4"' \
			sh "$CLIP" "$PUSH" "$f" "$T/err"
		echo "-l ${f:-(no file)}: $status"
		cat "$T/err"
		[ "$status" -eq 2 ]
		[ "$(cat "$T/err")" = "rtmp-pushflv: stdin: -l needs a regular file to rewind" ]
	done
}

@test "pushflv: SIGINT or SIGTERM before the first tag ends it quietly with status 0" {
	local port sig push
	port=$(free_port)
	start_nginx "$port"
	for sig in INT TERM; do
		# a pipe that stays open and empty: publishing, nothing to send
		mkfifo "$T/in-$sig"
		spawn "writer-$sig" sh -c 'exec sleep 60 >"$1"' sh "$T/in-$sig"
		spawn "push-$sig" env --default-signal=INT \
			"$PUSH" "rtmp://127.0.0.1:$port/live/none$sig" "$T/in-$sig"
		push=$SPAWNED
		wait_publishing "$port" "none$sig"
		kill -s "$sig" "$push"
		wait_status "$push" 10
		echo "SIG$sig: status $STATUS"
		cat -A "$T/push-$sig.log"
		[ "$STATUS" -eq 0 ]
		[ ! -s "$T/push-$sig.log" ]
	done
}
