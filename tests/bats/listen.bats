#!/usr/bin/env bats
# rtmp-listen, the ingest server, against real publishers on loopback:
# ffmpeg, rtmp-pushflv, GStreamer's rtmp2sink and librtmp (GStreamer's
# rtmpsink), over rtmp:// and rtmps://; stdout as one FLV across encoder
# reconnects, -e commands, authorisation, the handshake deadline, stats.

load helpers

LISTEN=$RTMPKIT_BIN/rtmp-listen

setup() {
	require_programs
	[ -x "$LISTEN" ] || fail "$LISTEN is not built (make)"
	require ffmpeg ffprobe python3 ss
	T=$BATS_TEST_TMPDIR
	PORT=$(free_port)
}

teardown() {
	stop_all
}

# start_listen OUT ARGS...: rtmp-listen ARGS 127.0.0.1:$PORT with stdout to
# OUT and stderr to $T/listen.log; waits for the port.  Sets LISTEN_PID.
start_listen() {
	local out=$1
	shift
	spawn listen sh -c 'out=$1; shift; exec "$@" >"$out"' sh "$out" \
		"$LISTEN" "$@" "127.0.0.1:$PORT"
	LISTEN_PID=$SPAWNED
	wait_port "$PORT"
}

# publish NAME URL [SECONDS]: ffmpeg publishes the clip once in real time
# (or its first SECONDS).  Sets PUB_PID.
publish() {
	spawn "$1" ffmpeg -nostdin -v error -re ${3:+-t "$3"} -i "$CLIP" -c copy \
		-f flv "$2"
	PUB_PID=$SPAWNED
}

# stop_listen: SIGTERM, which must give status 0.
stop_listen() {
	kill -TERM "$LISTEN_PID"
	wait_status "$LISTEN_PID" 10 || fail "rtmp-listen did not stop on SIGTERM"
	[ "$STATUS" -eq 0 ] || fail "rtmp-listen exited $STATUS after SIGTERM"
}

@test "listen: ffmpeg publishes H.264+AAC; stdout is one FLV ffprobe reads with both tracks" {
	start_listen "$T/out.flv"
	publish ffmpeg "rtmp://127.0.0.1:$PORT/live/x"
	wait_status "$PUB_PID" 30 || fail "ffmpeg did not finish"
	[ "$STATUS" -eq 0 ]
	wait_log "$T/listen.log" 'stream live/x: publish end'
	stop_listen
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 5 7
	grep -q 'peer 127.0.0.1:[0-9]* stream live/x: publish start' "$T/listen.log"
}

@test "listen: rtmp-pushflv publishes into it" {
	start_listen "$T/out.flv"
	run timeout 30 "$PUSH" "rtmp://127.0.0.1:$PORT/live/push" "$CLIP"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_log "$T/listen.log" 'stream live/push: publish end|stream live/push: closed'
	stop_listen
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 5 7
}

@test "listen: GStreamer rtmp2sink publishes into it" {
	require gst-launch-1.0
	start_listen "$T/out.flv"
	run timeout 60 gst-launch-1.0 -q filesrc location="$CLIP" ! flvdemux name=d \
		flvmux name=m streamable=true ! \
		rtmp2sink location="rtmp://127.0.0.1:$PORT/live/gst" \
		d.video ! queue ! h264parse ! m. d.audio ! queue ! aacparse ! m.
	echo "$output"
	[ "$status" -eq 0 ]
	wait_log "$T/listen.log" 'stream live/gst: publish start'
	wait_log "$T/listen.log" 'stream live/gst: (publish end|closed)'
	stop_listen
	flv_check "$T/out.flv"
	[ "$(probe_codecs "$T/out.flv")" = "h264 aac" ]
	check_monotonic "$T/out.flv"
}

@test "listen: librtmp publishes as OBS does (GStreamer rtmpsink: releaseStream, FCPublish, publish)" {
	require gst-launch-1.0
	gst-inspect-1.0 rtmpsink >/dev/null 2>&1 ||
		fail "GStreamer's rtmpsink (librtmp, gstreamer1.0-plugins-bad) is missing"
	start_listen "$T/out.flv"
	run timeout 60 gst-launch-1.0 -q filesrc location="$CLIP" ! \
		rtmpsink location="rtmp://127.0.0.1:$PORT/live/librtmp live=1"
	echo "$output"
	wait_log "$T/listen.log" 'stream live/librtmp: publish start'
	wait_log "$T/listen.log" 'stream live/librtmp: (publish end|closed)' 20
	stop_listen
	flv_check "$T/out.flv"
	[ "$(probe_codecs "$T/out.flv")" = "h264 aac" ]
	check_monotonic "$T/out.flv"
}

@test "listen: a second publisher gets NetStream.Publish.BadName while the first is live" {
	start_listen "$T/out.flv"
	publish first "rtmp://127.0.0.1:$PORT/live/x"
	wait_log "$T/listen.log" 'stream live/x: publish start'
	run timeout 20 ffmpeg -nostdin -v error -re -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/y"
	echo "second: $status $output"
	[ "$status" -ne 0 ]
	grep -q 'stream live/y: publish refused: already publishing' "$T/listen.log"
	alive "$PUB_PID"
	wait_status "$PUB_PID" 30
	[ "$STATUS" -eq 0 ]
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: bad names are refused and logged escaped, never used" {
	local name
	rm -f /tmp/pwned
	start_listen "$T/out.flv"
	for name in '../x' 'a b' '$(touch /tmp/pwned)' '.hidden' 'a"b;`id`'; do
		run timeout 20 ffmpeg -nostdin -v error -t 1 -i "$CLIP" -c copy -f flv \
			-rtmp_app live -rtmp_playpath "$name" "rtmp://127.0.0.1:$PORT/live"
		echo "$name: $status $output"
		[ "$status" -ne 0 ]
	done
	run timeout 20 ffmpeg -nostdin -v error -t 1 -i "$CLIP" -c copy -f flv \
		-rtmp_app 'li ve' -rtmp_playpath x "rtmp://127.0.0.1:$PORT/live"
	[ "$status" -ne 0 ]
	cat "$T/listen.log"
	grep -qF 'stream "../x" refused: not a valid name' "$T/listen.log"
	grep -qF 'stream "a b" refused' "$T/listen.log"
	grep -qF 'stream "$(touch /tmp/pwned)" refused' "$T/listen.log"
	grep -qF 'stream ".hidden" refused' "$T/listen.log"
	grep -qF 'stream "a\x22b;`id`" refused' "$T/listen.log"
	grep -qF 'app "li ve" refused' "$T/listen.log"
	refute grep -q 'publish start' "$T/listen.log"
	[ ! -e /tmp/pwned ]
	stop_listen
	[ ! -s "$T/out.flv" ]
}

@test "listen: an encoder that drops and comes back: stdout stays one FLV with monotonic timestamps" {
	local counts
	start_listen "$T/out.flv"
	publish first "rtmp://127.0.0.1:$PORT/live/x"
	wait_log "$T/listen.log" 'stream live/x: publish start'
	sleep 3
	kill -KILL "$PUB_PID"
	wait_log "$T/listen.log" 'stream live/x: publish end'
	publish second "rtmp://127.0.0.1:$PORT/live/x"
	wait_log "$T/listen.log" 'stream live/x: publish start' 10 2
	wait_status "$PUB_PID" 30
	[ "$STATUS" -eq 0 ]
	wait_log "$T/listen.log" 'stream live/x: publish end' 10 2
	stop_listen
	counts=$(flv_check "$T/out.flv")
	echo "$counts"
	valid_av "$T/out.flv"
	# about 3 s of the first encoder, then the whole 6 s of the second
	within "$(probe_duration "$T/out.flv")" 7.5 10
	# the same encoder settings: the sequence headers are written once
	[ "$(flv_payloads "$T/out.flv" | grep -c '^9 .* 17$')" -ge 1 ]
	python3 - "$T/out.flv" <<-'EOF'
		import sys
		d = open(sys.argv[1], "rb").read()
		off, seq = 13, {8: 0, 9: 0}
		while off + 11 <= len(d):
		    t, size = d[off] & 0x1f, int.from_bytes(d[off + 1:off + 4], "big")
		    p = d[off + 11:off + 11 + size]
		    if (t == 9 and p[:2] == b"\x17\x00") or (t == 8 and p[:1] == b"\xaf" and p[1:2] == b"\x00"):
		        seq[t] += 1
		    off += 15 + size
		print("sequence headers:", seq)
		sys.exit(0 if seq == {8: 1, 9: 1} else 1)
	EOF
}

@test "listen: -e runs one command per stream with its environment, names never reach the shell" {
	local a b
	rm -f /tmp/pwned
	mkdir "$T/streams"
	export STREAMS=$T/streams
	start_listen "$T/out.flv" -e 'env | grep "^RTMP_" | sort >"$STREAMS/$RTMP_STREAM.env"; cat >"$STREAMS/$RTMP_STREAM.flv"'
	publish a "rtmp://127.0.0.1:$PORT/live/one?key=k1" 3
	a=$PUB_PID
	publish b "rtmp://127.0.0.1:$PORT/live/two" 3
	b=$PUB_PID
	run timeout 20 ffmpeg -nostdin -v error -t 1 -i "$CLIP" -c copy -f flv \
		-rtmp_app live -rtmp_playpath 'x;touch /tmp/pwned' "rtmp://127.0.0.1:$PORT/live"
	[ "$status" -ne 0 ]
	wait_status "$a" 30
	[ "$STATUS" -eq 0 ]
	wait_status "$b" 30
	[ "$STATUS" -eq 0 ]
	wait_log "$T/listen.log" 'stream live/one: command exited 0'
	wait_log "$T/listen.log" 'stream live/two: command exited 0'
	cat "$T/streams/one.env" "$T/streams/two.env"
	grep -qx 'RTMP_APP=live' "$T/streams/one.env"
	grep -qx 'RTMP_STREAM=one' "$T/streams/one.env"
	grep -qx 'RTMP_QUERY=key=k1' "$T/streams/one.env"
	grep -qx 'RTMP_ADDR=127.0.0.1:[0-9]*' "$T/streams/one.env"
	grep -qx 'RTMP_STREAM=two' "$T/streams/two.env"
	grep -qx 'RTMP_QUERY=' "$T/streams/two.env"
	valid_av "$T/streams/one.flv"
	valid_av "$T/streams/two.flv"
	within "$(probe_duration "$T/streams/one.flv")" 2 3.5
	[ ! -e /tmp/pwned ]
	[ "$(ls "$T/streams" | wc -l)" -eq 4 ]
	stop_listen
	[ ! -s "$T/out.flv" ]
}

@test "listen: -e: a command that exits ends its publisher's session" {
	start_listen "$T/out.flv" -e 'head -c 100000 >/dev/null'
	publish a "rtmp://127.0.0.1:$PORT/live/short"
	wait_log "$T/listen.log" 'stream live/short: command exited 0'
	wait_log "$T/listen.log" 'stream live/short: closed'
	wait_status "$PUB_PID" 10 || fail "ffmpeg still publishing after its command left"
	stop_listen
}

@test "listen: -f key file allows the right key and denies others; nothing denied reaches stdout" {
	printf '# app/stream key\nlive/cam s3cret\n' >"$T/keys"
	start_listen "$T/out.flv" -f "$T/keys"
	run timeout 20 ffmpeg -nostdin -v error -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/cam?key=wrong"
	echo "wrong key: $status $output"
	[ "$status" -ne 0 ]
	run timeout 20 ffmpeg -nostdin -v error -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/other?key=s3cret"
	[ "$status" -ne 0 ]
	run timeout 20 ffmpeg -nostdin -v error -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/cam"
	[ "$status" -ne 0 ]
	grep -q 'stream live/cam: publish denied: wrong key' "$T/listen.log"
	grep -q 'stream live/other: publish denied: no key for this stream' "$T/listen.log"
	[ ! -s "$T/out.flv" ]
	run timeout 20 ffmpeg -nostdin -v error -re -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/cam?key=s3cret"
	echo "right key: $status $output"
	[ "$status" -eq 0 ]
	stop_listen
	valid_av "$T/out.flv"
	refute grep -q s3cret "$T/listen.log"
}

@test "listen: -a hook decides with RTMP_KEY in its environment, asynchronously, with a timeout" {
	cat >"$T/auth.sh" <<-EOF
		env | grep '^RTMP_' | sort >"$T/auth.\$RTMP_STREAM.env"
		[ "\$RTMP_STREAM" = slow ] && exec sleep 30
		[ "\$RTMP_KEY" = good ]
	EOF
	start_listen "$T/out.flv" -A 1 -a "sh $T/auth.sh"
	run timeout 20 ffmpeg -nostdin -v error -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/cam?key=bad"
	echo "denied: $status $output"
	[ "$status" -ne 0 ]
	grep -q 'stream live/cam: publish denied: auth command exited 1' "$T/listen.log"
	[ ! -s "$T/out.flv" ]
	grep -qx 'RTMP_KEY=bad' "$T/auth.cam.env"
	grep -qx 'RTMP_APP=live' "$T/auth.cam.env"
	grep -qx 'RTMP_ADDR=127.0.0.1:[0-9]*' "$T/auth.cam.env"
	# a hook that hangs is killed at -A; the loop serves others meanwhile
	publish slow "rtmp://127.0.0.1:$PORT/live/slow?key=good" 2
	sleep 0.3
	run timeout 20 ffmpeg -nostdin -v error -re -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/cam?key=good"
	echo "allowed: $status $output"
	[ "$status" -eq 0 ]
	wait_log "$T/listen.log" 'stream live/slow: publish denied: auth command timed out'
	wait_status "$PUB_PID" 10
	[ "$STATUS" -ne 0 ]
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: ffmpeg publishes over rtmps:// into -C cert -K key" {
	make_tls "$T/tls"
	start_listen "$T/out.flv" -C "$T/tls/server.crt" -K "$T/tls/server.key"
	grep -q 'listening on 127.0.0.1:[0-9]* (rtmps)' "$T/listen.log"
	run timeout 30 ffmpeg -nostdin -v error -re -t 3 -i "$CLIP" -c copy -f flv \
		-tls_verify 0 "rtmps://127.0.0.1:$PORT/live/tls"
	echo "$output"
	[ "$status" -eq 0 ]
	# a plain rtmp:// client on the rtmps port fails and the server goes on
	run timeout 10 ffmpeg -nostdin -v error -t 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/plain"
	[ "$status" -ne 0 ]
	alive "$LISTEN_PID"
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: stdout's reader goes away: the publisher is ended and rtmp-listen exits 3" {
	spawn listen bash -c '"$1" "127.0.0.1:$2" | head -c 200000 >/dev/null
		echo "exit ${PIPESTATUS[0]}" >"$3"' bash "$LISTEN" "$PORT" "$T/status"
	wait_port "$PORT"
	publish ffmpeg "rtmp://127.0.0.1:$PORT/live/x"
	wait_file "$T/status" 20
	cat "$T/status" "$T/listen.log"
	[ "$(cat "$T/status")" = "exit 3" ]
	grep -q 'stdout: the reader went away' "$T/listen.log"
	wait_status "$PUB_PID" 10 || fail "ffmpeg still running"
	[ "$STATUS" -ne 0 ]
	# The encoder was told why, not just cut off.
	cat "$T/ffmpeg.log"
	grep -q "the server's output closed" "$T/ffmpeg.log"
}

@test "listen: SIGTERM with a publisher live: the session ends cleanly, exit 0, the FLV is whole" {
	start_listen "$T/out.flv"
	publish ffmpeg "rtmp://127.0.0.1:$PORT/live/x"
	wait_log "$T/listen.log" 'stream live/x: publish start'
	sleep 2
	stop_listen
	valid_av "$T/out.flv"
	wait_exit "$PUB_PID" 10
}

@test "listen: 300 stalled handshakes are closed by the -t deadline while a real publisher gets in" {
	local start
	start_listen "$T/out.flv" -t 2
	start=$(now)
	# 150 send nothing, 150 send C0 only; each must see EOF by the deadline
	spawn stalled python3 -c 'import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(300):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.send(b"\x03")
    socks.append(s)
print("open", len(socks), flush=True)
t0 = time.time()
closed = 0
for s in socks:
    s.settimeout(max(0.1, 6 - (time.time() - t0)))
    try:
        if s.recv(4096) == b"" or True:
            while s.recv(4096):
                pass
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
print("closed", closed, "after %.1f s" % (time.time() - t0), flush=True)' "$PORT"
	wait_log "$T/stalled.log" '^open 300'
	run timeout 30 ffmpeg -nostdin -v error -re -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/real"
	echo "publisher: $status $output"
	[ "$status" -eq 0 ]
	wait_log "$T/stalled.log" '^closed' 15
	cat "$T/stalled.log"
	grep -q '^closed 300 ' "$T/stalled.log"
	[ "$(grep -c 'closed: handshake timeout' "$T/listen.log")" -eq 300 ]
	echo "elapsed $(elapsed_since "$start") s"
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: -s stats socket answers JSON with the publisher's address, stream and bytes; SIGUSR1 logs it" {
	local bytes
	start_listen "$T/out.flv" -s "unix:$T/stats.sock"
	publish ffmpeg "rtmp://127.0.0.1:$PORT/live/x"
	wait_log "$T/listen.log" 'stream live/x: publish start'
	sleep 2
	run server_stats "$T/stats.sock" '" ".join([d["publishers"][0]["stream"], d["publishers"][0]["app"], d["publishers"][0]["address"].split(":")[0]])'
	echo "$output"
	[ "$output" = "x live 127.0.0.1" ]
	bytes=$(server_stats "$T/stats.sock" 'd["publishers"][0]["bytes_in"]')
	[ "$bytes" -gt 10000 ]
	[ "$(server_stats "$T/stats.sock" 'd["output_bytes"] > 10000')" = True ]
	# the input, all publishers together, and each publisher's own
	run server_stats "$T/stats.sock" '" ".join(map(str, [d["input"]["state"], d["input"]["video"], d["input"]["audio"], 300 < d["input"]["kbit_s"] < 1500, d["uptime_seconds"] >= 2, d["publishers_truncated"]]))'
	echo "input: $output"
	[ "$output" = "live h264 aac True True False" ]
	run server_stats "$T/stats.sock" '" ".join(map(str, [(p["input"]["state"], p["input"]["video"], p["input"]["audio"], p["bytes"] > 10000, p["input"]["tags"] > 50, p["outq"] >= 0, p["skips"]) for p in d["publishers"]]))'
	echo "publisher: $output"
	[ "$output" = "('live', 'h264', 'aac', True, True, True, 0)" ]
	kill -USR1 "$LISTEN_PID"
	wait_log "$T/listen.log" 'stats \{"program":"rtmp-listen".*"stream":"x"'
	# the publisher gone, the input pauses and the list empties
	stop "$PUB_PID"
	wait_log "$T/listen.log" 'stream live/x: publish end'
	sleep 2
	run server_stats "$T/stats.sock" '" ".join(map(str, [d["input"]["state"], d["input"]["video"], d["publishers"]]))'
	echo "after: $output"
	[ "$output" = "paused h264 []" ]
	stop_listen
	[ ! -e "$T/stats.sock" ]
}

@test "listen: -s stats before any publisher: the input is waiting, no codec, no publisher" {
	start_listen "$T/out.flv" -s "unix:$T/stats.sock"
	run server_stats "$T/stats.sock" '" ".join(map(str, [d["input"]["state"], d["input"]["video"], d["input"]["audio"], d["input"]["kbit_s"], d["publishers"], d["connections"]]))'
	echo "$output"
	[ "$output" = "waiting None None 0 [] 0" ]
	stop_listen
}

@test "listen: -h lists every option, -V the version, bad usage exits 2" {
	local o
	run "$LISTEN" -h
	[ "$status" -eq 0 ]
	for o in -A -a -b -C -c -e -f -I -K -L -m -P -Q -q -s -t -x; do
		[[ "$output" == *"$o "* ]] || fail "usage lacks $o"
		grep -q "^\.It Fl ${o#-}\( \|$\)" "$BATS_TEST_DIRNAME/../../man/rtmp-listen.1" ||
			fail "rtmp-listen(1) does not document $o"
	done
	for o in h p V v; do
		grep -q "^\.It Fl $o\$" "$BATS_TEST_DIRNAME/../../man/rtmp-listen.1" ||
			fail "rtmp-listen(1) does not document -$o"
	done
	run "$LISTEN" -V
	[ "$status" -eq 0 ]
	[[ "$output" == "rtmp-listen "[0-9]* ]]
	run "$LISTEN" -Z :0
	[ "$status" -eq 2 ]
	# the idle timeout is -I in both servers; -i is rtmp-relay's input
	run "$LISTEN" -i 5 127.0.0.1:1
	[ "$status" -eq 2 ]
	run "$LISTEN" -c 50 :0
	[ "$status" -eq 2 ]
	[[ "$output" == *"chunk size 50"* ]]
	run "$LISTEN" -K k.pem :0
	[ "$status" -eq 2 ]
	run "$LISTEN" 1935
	[ "$status" -eq 2 ]
	run "$LISTEN" -s /tmp/x :0
	[ "$status" -eq 2 ]
}

@test "listen: -L writes a log file, reopened on SIGHUP" {
	start_listen "$T/out.flv" -L "$T/file.log"
	wait_log "$T/file.log" 'Z rtmp-listen: listening on 127.0.0.1:'
	mv "$T/file.log" "$T/file.log.1"
	kill -HUP "$LISTEN_PID"
	publish ffmpeg "rtmp://127.0.0.1:$PORT/live/x" 1
	wait_log "$T/file.log" 'peer 127.0.0.1:[0-9]* stream live/x: publish start'
	wait_status "$PUB_PID" 20
	stop_listen
	refute grep -q 'publish start' "$T/file.log.1"
}

@test "listen: -m 2: a third connection waits until one leaves" {
	start_listen "$T/out.flv" -m 2 -t 3
	spawn idle python3 -c 'import socket, sys, time
a = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
b = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(30)' "$PORT"
	wait_log "$T/listen.log" 'pause: connections at 2 of 2'
	run timeout 30 ffmpeg -nostdin -v error -re -t 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/x"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q 'resume: connections at' "$T/listen.log"
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: a slow stdout reader pauses the publisher (-b), memory stays bounded" {
	local buffered rss
	spawn listen sh -c '"$1" -b 65536 -s "unix:$2/stats.sock" "127.0.0.1:$3" |
		python3 -c "import sys, time
out = open(sys.argv[1], \"wb\")
while True:
    b = sys.stdin.buffer.read1(20000)
    if not b:
        break
    out.write(b)
    time.sleep(0.1)" "$2/out.flv"' sh "$LISTEN" "$T" "$PORT"
	wait_port "$PORT"
	# as fast as the connection takes it, looping: far more than 200 KB/s
	spawn push "$PUSH" -q -n -l "rtmp://127.0.0.1:$PORT/live/fast" "$CLIP"
	wait_log "$T/listen.log" 'stream live/fast: publish start'
	sleep 4
	buffered=$(server_stats "$T/stats.sock" 'd["output_buffered"]')
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(pgrep -f -n "^$LISTEN -b 65536")/status")
	echo "buffered $buffered bytes, rss $rss kB, read $(stat -c %s "$T/out.flv") bytes"
	# the buffer bound plus at most one read burst of the publisher
	[ "$buffered" -lt $((65536 + 1100000)) ]
	[ "$rss" -lt 30000 ]
	# the reader took about 200 KB/s, not what rtmp-pushflv could send
	[ "$(stat -c %s "$T/out.flv")" -lt 3000000 ]
	alive "$SPAWNED"
}

@test "listen: systemd socket activation: no address, the socket systemd passes" {
	require systemd-socket-activate
	spawn listen sh -c 'exec systemd-socket-activate -l "127.0.0.1:$2" "$1" >"$3"' \
		sh "$LISTEN" "$PORT" "$T/out.flv"
	LISTEN_PID=$SPAWNED
	wait_port "$PORT"
	run timeout 30 ffmpeg -nostdin -v error -re -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/sd"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_log "$T/listen.log" 'stream live/sd: publish start'
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: -i: a publisher that stops sending is closed as idle" {
	start_listen "$T/out.flv" -I 2
	publish ffmpeg "rtmp://127.0.0.1:$PORT/live/x"
	wait_log "$T/listen.log" 'stream live/x: publish start'
	sleep 1
	kill -STOP "$PUB_PID"
	wait_log "$T/listen.log" 'stream live/x: closed: idle' 8
	kill -CONT "$PUB_PID"
	wait_exit "$PUB_PID" 20
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: several addresses at once, IPv6 loopback among them" {
	local port2
	port2=$(free_port)
	spawn listen sh -c 'exec "$1" "127.0.0.1:$2" "[::1]:$3" >"$4"' \
		sh "$LISTEN" "$PORT" "$port2" "$T/out.flv"
	LISTEN_PID=$SPAWNED
	wait_port "$PORT"
	wait_log "$T/listen.log" "listening on \[::1\]:$port2"
	run timeout 30 ffmpeg -nostdin -v error -re -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://[::1]:$port2/live/v6"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q 'peer \[::1\]:[0-9]* stream live/v6: publish start' "$T/listen.log"
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: an encoder reconnecting before its old connection timed out replaces it after 3 s of silence" {
	local old
	start_listen "$T/out.flv"
	publish first "rtmp://127.0.0.1:$PORT/live/x"
	old=$PUB_PID
	wait_log "$T/listen.log" 'stream live/x: publish start'
	sleep 2
	# the old connection stays open but silent, as after a network loss
	kill -STOP "$old"
	run timeout 20 ffmpeg -nostdin -v error -t 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/x"
	[ "$status" -ne 0 ]
	grep -q 'publish refused: already publishing' "$T/listen.log"
	sleep 3
	run timeout 30 ffmpeg -nostdin -v error -re -t 3 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/x"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q 'stream live/x: publish replaces peer 127.0.0.1:[0-9]*, silent for [0-9]* ms' "$T/listen.log"
	grep -q 'closed: replaced by a new publisher' "$T/listen.log"
	kill -CONT "$old"
	stop_listen
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 4 6.5
}

@test "listen: -e: a reconnecting encoder carries on in the same command" {
	local old
	start_listen "$T/out.flv" -e "cat >$T/cmd-\$\$.flv"
	publish first "rtmp://127.0.0.1:$PORT/live/x"
	old=$PUB_PID
	wait_log "$T/listen.log" 'stream live/x: publish start'
	sleep 2
	kill -STOP "$old"
	sleep 3.5
	run timeout 30 ffmpeg -nostdin -v error -re -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/x"
	[ "$status" -eq 0 ]
	kill -CONT "$old"
	wait_log "$T/listen.log" 'stream live/x: command exited 0'
	[ "$(grep -c 'command started' "$T/listen.log")" -eq 1 ]
	stop_listen
	valid_av "$T"/cmd-*.flv
	within "$(probe_duration "$T"/cmd-*.flv)" 3 5
}

@test "listen: hostile bytes end that connection with a logged reason, never the process" {
	start_listen "$T/out.flv"
	run timeout 20 python3 -c 'import os, socket, sys, time
port = int(sys.argv[1])
def talk(data):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    s.settimeout(5)
    try:
        while s.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
talk(b"\x42" + os.urandom(1536))            # not RTMP version 3
talk(b"\x03" + bytes(1536) + bytes(1536) + os.urandom(4000))  # handshake, then garbage chunks
talk(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")   # a web client
print("done")' "$PORT"
	echo "$output"
	[ "$output" = done ]
	cat "$T/listen.log"
	[ "$(grep -cE 'peer 127.0.0.1:[0-9]+: closed: .+' "$T/listen.log")" -ge 3 ]
	alive "$LISTEN_PID"
	run timeout 30 ffmpeg -nostdin -v error -re -t 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/x"
	[ "$status" -eq 0 ]
	stop_listen
	valid_av "$T/out.flv"
}

@test "listen: -x: a message larger than allowed ends that publisher, logged" {
	start_listen "$T/out.flv" -x 4096
	run timeout 30 ffmpeg -nostdin -v error -re -t 2 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/big"
	echo "$output"
	[ "$status" -ne 0 ]
	wait_log "$T/listen.log" 'stream live/big: closed: .+'
	refute grep -q 'stream live/big: closed: finished' "$T/listen.log"
	alive "$LISTEN_PID"
	stop_listen
}

@test "listen: rtmp-listen :PORT | rtmp-relay -l :PORT2, the man page's first example" {
	local port2
	port2=$(free_port)
	[ -x "$RTMPKIT_BIN/rtmp-relay" ] || fail "rtmp-relay is not built (make)"
	spawn pipeline sh -c '"$1" "127.0.0.1:$2" 2>"$4" | "$5" -l "127.0.0.1:$3"' \
		sh "$LISTEN" "$PORT" "$port2" "$T/listen.log" "$RTMPKIT_BIN/rtmp-relay"
	wait_port "$PORT"
	wait_port "$port2"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT/live/x"
	wait_log "$T/listen.log" 'stream live/x: publish start'
	run timeout 30 "$DUMP" -q -d 3 -o "$T/played.flv" "rtmp://127.0.0.1:$port2/live/x"
	echo "$output"
	[ "$status" -eq 0 ]
	valid_av "$T/played.flv"
	within "$(probe_duration "$T/played.flv")" 2 4.5
}

@test "listen: a publisher paused by a stuck stdout reader is not closed as idle" {
	spawn listen sh -c '"$1" -I 1 -b 65536 "127.0.0.1:$3" | { sleep 4; cat >"$2/out.flv"; }' \
		sh "$LISTEN" "$T" "$PORT"
	wait_port "$PORT"
	spawn push "$PUSH" -q -n -l "rtmp://127.0.0.1:$PORT/live/stuck" "$CLIP"
	wait_log "$T/listen.log" 'stream live/stuck: publish start'
	wait_file "$T/out.flv" 10 1000000
	refute grep -q 'closed: idle' "$T/listen.log"
	grep -c 'publish start' "$T/listen.log"
	[ "$(grep -c 'publish start' "$T/listen.log")" -eq 1 ]
	alive "$SPAWNED"
}

@test "listen: SIGTERM with -e: each command gets its stream's buffered end, whole tags only" {
	start_listen "$T/out.flv" -b 65536 -e "{ sleep 2; cat; } >$T/cmd.flv"
	spawn push "$PUSH" -q -n -l "rtmp://127.0.0.1:$PORT/live/x" "$CLIP"
	wait_log "$T/listen.log" 'stream live/x: publish start'
	sleep 1
	stop_listen
	wait_file "$T/cmd.flv" 10 65536
	sleep 1
	flv_check "$T/cmd.flv"
}

@test "listen: -e with -P: a denied publish starts no command" {
	printf 'live/cam right\n' >"$T/keys"
	start_listen "$T/out.flv" -f "$T/keys" -e "cat >$T/cmd.flv"
	run timeout 20 ffmpeg -nostdin -v error -t 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/cam?key=wrong"
	[ "$status" -ne 0 ]
	grep -q 'stream live/cam: publish denied: wrong key' "$T/listen.log"
	refute grep -q 'command started' "$T/listen.log"
	[ ! -e "$T/cmd.flv" ]
	stop_listen
}

@test "listen: an address in use or an unreadable certificate: exit 1 with the reason" {
	start_listen "$T/out.flv"
	run timeout 10 sh -c '"$1" "127.0.0.1:$2" >/dev/null' sh "$LISTEN" "$PORT"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"127.0.0.1:$PORT"*"in use"* ]]
	run timeout 10 sh -c '"$1" -C "$2/nope.pem" 127.0.0.1:0 >/dev/null' sh "$LISTEN" "$T"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *nope.pem* ]]
	alive "$LISTEN_PID"
	stop_listen
}

@test "listen: -p behind HAProxy (send-proxy-v2): the log, stats and RTMP_ADDR name the client" {
	local cport addr
	require haproxy
	mkdir "$T/streams"
	export STREAMS=$T/streams
	start_listen "$T/out.flv" -p -s "unix:$T/stats.sock" \
		-e 'printf "%s\n" "$RTMP_ADDR" >"$STREAMS/addr"; cat >/dev/null'
	# ffmpeg cannot choose its source address: HAProxy's first hop names
	# 127.0.0.2 to rtmp-listen
	cport=$(free_port)
	start_haproxy_send_proxy "$cport" "127.0.0.1:$PORT" v2 127.0.0.2
	publish px "rtmp://127.0.0.1:$cport/live/px"
	wait_log "$T/listen.log" 'peer 127\.0\.0\.2:[0-9]+ stream live/px: publish start' 15
	addr=$(sed -n 's/.*peer \(127\.0\.0\.2:[0-9]*\) stream live\/px: publish start.*/\1/p' \
		"$T/listen.log")
	wait_log "$T/streams/addr" "^$addr\$" 5
	[ "$(server_stats "$T/stats.sock" 'd["publishers"][0]["address"]')" = "$addr" ] ||
		fail "stats: $(server_stats "$T/stats.sock" d)"
	# straight to rtmp-listen, without the header: closed, the reason logged
	run timeout 20 ffmpeg -nostdin -v error -t 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/direct"
	[ "$status" -ne 0 ]
	wait_log "$T/listen.log" 'peer 127\.0\.0\.1:[0-9]+: PROXY header: .*: closed' 5
	stop "$PUB_PID"
	stop_listen
}

@test "listen: a connection that sends nothing (a TCP health check) is not logged; one cut in its handshake is" {
	start_listen "$T/out.flv"
	python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
for _ in range(3):
    s = socket.create_connection(("127.0.0.1", port)); s.close()
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"\x03" + b"\0" * 99)
time.sleep(0.3); s.close()
PY
	wait_log "$T/listen.log" "closed: connection closed in the middle of a message" 10
	[ "$(grep -c "closed" "$T/listen.log")" -eq 1 ] || fail "$(cat "$T/listen.log")"
}
