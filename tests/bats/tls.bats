#!/usr/bin/env bats
# RTMPS: haproxy terminates TLS in front of nginx-rtmp (PEERS.md), with a
# test CA made here; rtmp-pushflv publishes and rtmp-dump plays through it.

load helpers

setup_file() {
	make_tls "$BATS_FILE_TMPDIR/tls"
}

teardown_file() {
	stop_all
}

setup() {
	require_programs
	require ffmpeg ffprobe nginx haproxy openssl python3 ss
	T=$BATS_TEST_TMPDIR
	TLS=$BATS_FILE_TMPDIR/tls
	[ -s "$TLS/server.pem" ] || fail "setup_file made no certificates"
}

teardown() {
	stop_all
}

# rtmps_front CERT: nginx on PORT behind haproxy on TLSPORT serving CERT,
# with ffmpeg publishing live/x on nginx directly.
rtmps_front() {
	PORT=$(free_port)
	TLSPORT=$(free_port)
	start_nginx "$PORT"
	start_haproxy_tls "$TLSPORT" "$PORT" "$TLS/$1"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT/live/x"
	wait_publishing "$PORT" x
}

@test "tls: pushflv publishes and dump records over rtmps://localhost with -C" {
	local port tlsport
	port=$(free_port)
	tlsport=$(free_port)
	start_nginx "$port"
	start_haproxy_tls "$tlsport" "$port" "$TLS/server.pem"
	spawn push "$PUSH" -l -C "$TLS/ca.pem" "rtmps://localhost:$tlsport/live/x" "$CLIP"
	wait_publishing "$port" x
	run timeout 30 "$DUMP" -C "$TLS/ca.pem" -d 3 -o "$T/out.flv" \
		"rtmps://localhost:$tlsport/live/x"
	echo "$output"
	[ "$status" -eq 0 ]
	valid_av "$T/out.flv"
	within "$(probe_duration "$T/out.flv")" 1.5 4.5
	alive "$SPAWNED"
	# and a player that is not ours sees what pushflv sent
	run timeout 20 ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$port/live/x" \
		-c copy -t 2 -f flv "$T/ffmpeg.flv"
	[ "$status" -eq 0 ]
	valid_av "$T/ffmpeg.flv"
}

@test "tls: rtmps://127.0.0.1 verifies against the certificate's IP address" {
	rtmps_front server.pem
	run timeout 30 "$DUMP" -C "$TLS/ca.pem" -d 2 -o "$T/ip.flv" \
		"rtmps://127.0.0.1:$TLSPORT/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 0 ]
	valid_av "$T/ip.flv"
	run timeout 30 "$PUSH" -n -C "$TLS/ca.pem" \
		"rtmps://127.0.0.1:$TLSPORT/live/ip" "$CLIP"
	echo "pushflv: $status $output"
	[ "$status" -eq 0 ]
}

@test "tls: a self-signed certificate fails verification: exit 4, -k works" {
	rtmps_front wrong.pem
	run timeout 20 "$DUMP" -C "$TLS/ca.pem" -d 2 -o "$T/a.flv" \
		"rtmps://localhost:$TLSPORT/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 4 ]
	[[ "${output,,}" == *certificate* ]]
	run timeout 20 "$PUSH" -C "$TLS/ca.pem" "rtmps://localhost:$TLSPORT/live/y" "$CLIP"
	echo "pushflv: $status $output"
	[ "$status" -eq 4 ]
	[[ "${output,,}" == *certificate* ]]
	run timeout 30 "$DUMP" -k -d 2 -o "$T/k.flv" "rtmps://localhost:$TLSPORT/live/x"
	echo "dump -k: $status $output"
	[ "$status" -eq 0 ]
	valid_av "$T/k.flv"
	run timeout 30 "$PUSH" -k -n "rtmps://localhost:$TLSPORT/live/y" "$CLIP"
	echo "pushflv -k: $status $output"
	[ "$status" -eq 0 ]
}

@test "tls: without -C the test CA is not trusted: exit 4" {
	rtmps_front server.pem
	run timeout 20 "$DUMP" -d 2 -o "$T/a.flv" "rtmps://localhost:$TLSPORT/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 4 ]
	[[ "${output,,}" == *certificate* ]]
	run timeout 20 "$PUSH" "rtmps://localhost:$TLSPORT/live/y" "$CLIP"
	echo "pushflv: $status $output"
	[ "$status" -eq 4 ]
	[[ "${output,,}" == *certificate* ]]
}

@test "tls: a certificate for another host name fails verification: exit 4" {
	rtmps_front othername.pem
	run timeout 20 "$DUMP" -C "$TLS/ca.pem" -d 2 -o "$T/a.flv" \
		"rtmps://localhost:$TLSPORT/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 4 ]
	[[ "${output,,}" == *certificate* ]]
	run timeout 20 "$PUSH" -C "$TLS/ca.pem" "rtmps://127.0.0.1:$TLSPORT/live/y" "$CLIP"
	echo "pushflv: $status $output"
	[ "$status" -eq 4 ]
	[[ "${output,,}" == *certificate* ]]
}

@test "tls: rtmps to a plain RTMP server that answers: exit 4" {
	local port
	port=$(free_port)
	start_plain_answerer "$port"
	run timeout 20 "$DUMP" -k -t 5 -r 0 -o "$T/a.flv" "rtmps://127.0.0.1:$port/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 4 ]
	run timeout 20 "$PUSH" -k -t 5 -r 0 "rtmps://127.0.0.1:$port/live/x" "$CLIP"
	echo "pushflv: $status $output"
	[ "$status" -eq 4 ]
}

@test "tls: rtmps to nginx-rtmp's plain port gets no answer: exit 5 after -t" {
	local port start took
	port=$(free_port)
	start_nginx "$port"
	start=$(now)
	run timeout 20 "$DUMP" -k -t 2 -r 0 -o "$T/a.flv" "rtmps://127.0.0.1:$port/live/x"
	took=$(elapsed_since "$start")
	echo "dump: $status after $took s: $output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"127.0.0.1:$port: no answer within 2 s"* ]]
	# not before -t, and well before the default 30 s
	within "$took" 1.5 15
	start=$(now)
	run timeout 20 "$PUSH" -k -t 2 -r 0 "rtmps://127.0.0.1:$port/live/x" "$CLIP"
	took=$(elapsed_since "$start")
	echo "pushflv: $status after $took s: $output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"127.0.0.1:$port: no answer within 2 s"* ]]
	# not before -t, and well before the default 30 s
	within "$took" 1.5 15
}

# subject PORT: the CN of the certificate 127.0.0.1:PORT presents.
subject() {
	timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost \
		</dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null |
		sed -n 's/.*CN *= *//p'
}

@test "tls: SIGHUP loads a renewed certificate for new connections; the live publisher stays; a bad one keeps the old" {
	local port pid
	port=$(free_port)
	cp "$TLS/server.pem" "$T/cert.pem"
	spawn listen "$RTMPKIT_BIN/rtmp-listen" -C "$T/cert.pem" -e "exec cat >$T/in.flv" \
		"127.0.0.1:$port"
	pid=$SPAWNED
	wait_port "$port"
	[ "$(subject "$port")" = server ] || fail "first: $(subject "$port")"
	publish_loop_ffmpeg "rtmps://127.0.0.1:$port/live/x"
	wait_log "$T/listen.log" "publish start" 15
	# The renewal: the same path, another certificate (another name).
	cp "$TLS/othername.pem" "$T/cert.pem"
	kill -HUP "$pid"
	wait_log "$T/listen.log" "reload: certificate $T/cert.pem" 10
	[ "$(subject "$port")" = othername ] || fail "after SIGHUP: $(subject "$port")"
	# A file that does not load changes nothing.
	echo garbage >"$T/cert.pem"
	kill -HUP "$pid"
	wait_log "$T/listen.log" "reload: .*keeping the certificate loaded before" 10
	[ "$(subject "$port")" = othername ] || fail "after a bad file: $(subject "$port")"
	# The publisher that came in before the first reload is still there.
	alive "$PUBLISHER_PID" || fail "the publisher was cut"
	refute grep -q "publish end" "$T/listen.log"
	local before after
	before=$(stat -c %s "$T/in.flv")
	sleep 1
	after=$(stat -c %s "$T/in.flv")
	[ "$after" -gt "$before" ] || fail "no media after the reloads: $before, $after"
}
