#!/usr/bin/env bats
# rtmp-balance against real peers on loopback: three nginx-rtmp backends,
# ffmpeg publishers and ffprobe players through the balancer, each
# placement counted twice, by the balancer's stats socket and by each
# nginx's own log.

load helpers

BAL=$RTMPKIT_BIN/rtmp-balance

setup() {
	require_programs
	require ffmpeg ffprobe python3 ss nginx
	[ -x "$BAL" ] || fail "$BAL is not built (make)"
	T=$BATS_TEST_TMPDIR
}

# start_backends N: N nginx-rtmp on free ports; sets PORTS (an array) and
# NPIDS (their pids, by index).
start_backends() {
	local i
	PORTS=() NPIDS=()
	for ((i = 0; i < $1; i++)); do
		PORTS[i]=$(free_port) || return 1
		start_nginx "${PORTS[i]}" || return 1
		NPIDS[i]=$NGINX_PID
	done
}

# start_balance OPTION... [BACKEND...]: rtmp-balance on a free port with a
# stats socket; its log is balance.log.  Sets BPORT, BAL_PID, STATS.
start_balance() {
	BPORT=$(free_port) || return 1
	STATS=$T/stats.sock
	spawn balance "$BAL" -l "127.0.0.1:$BPORT" -s "unix:$STATS" "$@"
	BAL_PID=$SPAWNED
	wait_port "$BPORT" 10
}

# bstats EXPR: python EXPR over the stats document d.
bstats() {
	server_stats "$STATS" "$1"
}

# backend_total I: the balancer's count of clients sent to backend I.
backend_total() {
	bstats "[b['total'] for b in d['backends'] if b['address'] == '127.0.0.1:${PORTS[$1]}'][0]"
}

# nginx_count I WHAT: publish or play commands nginx I has logged.
nginx_count() {
	grep -c "$2: name=" "$(_scope)/nginx-${PORTS[$1]}/error.log" || :
}

# publish NAME [SECONDS]: ffmpeg publishes the clip in real time through
# the balancer (looping, or for SECONDS); sets SPAWNED.
publish() {
	if [ -n "${2:-}" ]; then
		spawn "pub-$1" ffmpeg -nostdin -v error -re -t "$2" -i "$CLIP" -c copy \
			-f flv "rtmp://127.0.0.1:$BPORT/live/$1"
	else
		spawn "pub-$1" ffmpeg -nostdin -v error -re -stream_loop -1 -i "$CLIP" \
			-c copy -f flv "rtmp://127.0.0.1:$BPORT/live/$1"
	fi
}

# wait_backend_log I WHAT NAME [COUNT]: nginx I logged COUNT WHATs of NAME.
wait_backend_log() {
	wait_log "$(_scope)/nginx-${PORTS[$1]}/error.log" "$2: name='$3'" 15 "${4:-1}"
}

# wait_stats EXPR [SECONDS]: until the stats make EXPR True.
wait_stats() {
	local i n=$(((${2:-10}) * 10))
	for ((i = 0; i < n; i++)); do
		[ "$(bstats "$1" 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	fail "stats: '$1' still not true after ${2:-10} s: $(bstats d 2>&1)"
}

@test "balance: -h lists every option, bad usage exits 2, a bad file 1 with its line" {
	local o
	run "$BAL" -h
	[ "$status" -eq 0 ]
	for o in h k p V v; do
		[[ "$output" == "usage: rtmp-balance [-"*"$o"*"]"* ]] || fail "usage lacks -$o"
	done
	for o in -A -a -C -d -F -f -H -I -i -K -L -l -m -P -R -r -S -s -T -t; do
		[[ "$output" == *"[$o "* ]] || fail "usage lacks $o: $output"
	done
	run "$BAL" -V
	[ "$status" -eq 0 ]
	[[ "$output" == "rtmp-balance "* ]]
	run "$BAL" -l 127.0.0.1:1
	[ "$status" -eq 2 ]
	[[ "$output" == *"no backend"* ]]
	run "$BAL" -a random -l 127.0.0.1:1 127.0.0.1:2
	[ "$status" -eq 2 ]
	run "$BAL" -l 127.0.0.1:1 '127.0.0.1:2 weight 0'
	[ "$status" -eq 2 ]
	[[ "$output" == *"weight 0: too small"* ]]
	run "$BAL" -l 127.0.0.1:1 '127.0.0.1:2 proxy v3'
	[ "$status" -eq 2 ]
	[[ "$output" == *"proxy v3: not v1 or v2"* ]]
	run "$BAL" -i -1 -l 127.0.0.1:1 127.0.0.1:2
	[ "$status" -eq 2 ]
	run "$BAL" -H http -l 127.0.0.1:1 127.0.0.1:2
	[ "$status" -eq 2 ]
	run "$BAL" -S v3 -l 127.0.0.1:1 127.0.0.1:2
	[ "$status" -eq 2 ]
	[[ "$output" == *"-S takes v1 or v2"* ]]
	printf '127.0.0.1:2\n# ok\n127.0.0.1 maxconn 3\n' >"$T/backends"
	run "$BAL" -f "$T/backends" -l 127.0.0.1:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/backends: line 3: 127.0.0.1: not host:port"* ]] ||
		fail "no line number: $output"
	run "$BAL" -f "$T/none" -l 127.0.0.1:1
	[ "$status" -eq 1 ]
}

@test "balance: roundrobin spreads publishers and players evenly over three nginx" {
	local i j pids=()
	start_backends 3
	start_balance -a roundrobin "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" \
		"127.0.0.1:${PORTS[2]}"
	# One publisher after the other: backend i gets stream s<i>.
	for i in 0 1 2; do
		publish "s$i"
		wait_backend_log "$i" publish "s$i" || return 1
	done
	# Six players in turn: backend i gets two, both of its own stream.
	for j in 0 1 2 3 4 5; do
		spawn "play-$j" timeout 30 ffprobe -v error -show_entries stream=codec_name \
			-of csv=p=0 "rtmp://127.0.0.1:$BPORT/live/s$((j % 3))"
		pids+=("$SPAWNED")
		sleep 0.5
	done
	for j in 0 1 2 3 4 5; do
		wait_status "${pids[j]}" 40 || fail "player $j still running"
		[ "$STATUS" -eq 0 ] || fail "player $j: $(cat "$T/play-$j.log")"
		[ "$(sort "$T/play-$j.log" | xargs)" = "aac h264" ] ||
			fail "player $j got '$(cat "$T/play-$j.log")'"
	done
	for i in 0 1 2; do
		[ "$(nginx_count "$i" publish)" -eq 1 ] || fail "nginx $i: not one publisher"
		[ "$(nginx_count "$i" play)" -eq 2 ] ||
			fail "nginx $i: $(nginx_count "$i" play) players, want 2"
		[ "$(backend_total "$i")" -eq 3 ] || fail "stats $i: $(backend_total "$i")"
	done
	wait_stats "d['clients'] == 3 and all(b['active'] == 1 for b in d['backends'])"
	bstats "all(b['bytes_in'] > 100000 and b['state'] == 'up' and b['check'] == 'ok' for b in d['backends'])" | grep -qx True ||
		fail "stats: $(bstats d)"
}

@test "balance: leastconn sends a new client to the emptiest backend, ties by order" {
	local p1
	start_backends 3
	start_balance -a leastconn "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" \
		"127.0.0.1:${PORTS[2]}"
	publish a
	wait_backend_log 0 publish a
	publish b
	p1=$SPAWNED
	wait_backend_log 1 publish b
	publish c
	wait_backend_log 2 publish c
	# The one on backend 1 goes: the next new client goes there.
	stop "$p1"
	wait_stats "d['backends'][1]['active'] == 0"
	publish d
	wait_backend_log 1 publish d
	# All at one: the first named wins the tie.
	publish e
	wait_backend_log 0 publish e
	[ "$(nginx_count 2 publish)" -eq 1 ] || fail "backend 2 got more than c"
	wait_stats "[b['active'] for b in d['backends']] == [2, 1, 1]"
}

@test "balance: a stopped backend is down within fall x interval, new clients go elsewhere, back after rise" {
	local i
	start_backends 3
	start_balance -H rtmp -i 200 -F 2 -R 2 "127.0.0.1:${PORTS[0]}" \
		"127.0.0.1:${PORTS[1]}" "127.0.0.1:${PORTS[2]}"
	wait_stats "all(b['check'] == 'ok' for b in d['backends'])"
	stop "${NPIDS[1]}"
	wait_log "$T/balance.log" "backend 127.0.0.1:${PORTS[1]}: down after 2 checks failed: connect: Connection refused" 2
	wait_stats "d['backends'][1]['state'] == 'down'" 1
	for i in 1 2 3 4; do
		publish "x$i" 2
		sleep 0.3
	done
	wait_backend_log 0 publish 'x[0-9]' 2
	wait_backend_log 2 publish 'x[0-9]' 2
	wait_stats "d['backends'][1]['total'] == 0 and d['unplaced'] == 0"
	start_nginx "${PORTS[1]}"
	wait_log "$T/balance.log" "backend 127.0.0.1:${PORTS[1]}: up after 2 checks passed" 3
	wait_stats "d['backends'][1]['state'] == 'up'" 1
	for i in 5 6 7; do
		publish "x$i" 2
		sleep 0.3
	done
	wait_backend_log 1 publish 'x[0-9]'
}

@test "balance: -H rtmp connects to app live: a server without it is down, its clients go to the one with it" {
	local other
	start_backends 1
	other=$(free_port)
	start_nginx "$other" "" vod
	start_balance -H rtmp -i 200 -F 2 -R 2 "127.0.0.1:$other" "127.0.0.1:${PORTS[0]}"
	# The handshake alone passes: nginx closes only at connect.
	wait_log "$T/balance.log" "backend 127.0.0.1:$other: down after 2 checks failed: rtmp connect: closed" 5
	wait_log "$(_scope)/nginx-$other/error.log" "connect: application not found: 'live'" 2
	wait_stats "[(b['state'], b['check']) for b in d['backends']] == [('down', 'rtmp connect: closed'), ('up', 'ok')]"
	publish a 2
	wait_backend_log 0 publish a
	wait_stats "d['backends'][0]['total'] == 0 and d['unplaced'] == 0"
}

@test "balance: SIGHUP adds a backend from the file without cutting a live publisher" {
	local pub before i
	start_backends 3
	printf '127.0.0.1:%s\n127.0.0.1:%s # two\n' "${PORTS[0]}" "${PORTS[1]}" >"$T/backends"
	start_balance -f "$T/backends"
	publish live0
	pub=$SPAWNED
	wait_backend_log 0 publish live0
	before=$(bstats "d['backends'][0]['bytes_in']")
	printf '127.0.0.1:%s weight 5\n' "${PORTS[2]}" >>"$T/backends"
	kill -HUP "$BAL_PID"
	wait_log "$T/balance.log" "reload: 3 backends, 1 new" 5
	wait_stats "len(d['backends']) == 3 and d['backends'][2]['weight'] == 5"
	publish new1 2
	wait_backend_log 2 publish new1
	sleep 1
	alive "$pub" || fail "the publisher was cut"
	wait_stats "d['backends'][0]['bytes_in'] > $before and d['backends'][0]['active'] == 1"
	# A file that does not parse changes nothing.
	echo 'nonsense' >>"$T/backends"
	kill -HUP "$BAL_PID"
	wait_log "$T/balance.log" "reload: .*line 4: .*the backends stay as they were" 5
	wait_stats "len(d['backends']) == 3"
	alive "$pub" || fail "the publisher was cut by a bad reload"
	# Dropped from the file: the idle one goes, the publisher's stays until it ends.
	printf '127.0.0.1:%s\n' "${PORTS[2]}" >"$T/backends"
	kill -HUP "$BAL_PID"
	wait_log "$T/balance.log" "backend 127.0.0.1:${PORTS[1]}: removed" 5
	wait_stats "[(b['state'], b['active']) for b in d['backends']] == [('removed', 1), ('up', 0)]"
	sleep 1
	alive "$pub" || fail "the publisher was cut when its backend left the file"
	stop "$pub"
	wait_log "$T/balance.log" "backend 127.0.0.1:${PORTS[0]}: removed" 5
	wait_stats "len(d['backends']) == 1"
}

@test "balance: SIGTERM closes the listener; a second balancer binds the port while a publisher finishes" {
	local pub first second
	start_backends 1
	start_balance -d 30 "127.0.0.1:${PORTS[0]}"
	first=$BAL_PID
	# long enough to outlast the steps below on a loaded machine
	publish short 8
	pub=$SPAWNED
	wait_backend_log 0 publish short
	kill -TERM "$first"
	wait_log "$T/balance.log" "stop: draining 1 connections" 5
	# Closed, not paused: a client is refused at once, not reset at exit.
	wait_port_closed "$BPORT" 2 || fail "still listening after SIGTERM"
	run timeout 10 python3 -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    print("connected")
except ConnectionRefusedError:
    print("refused")' "$BPORT"
	[ "$output" = refused ] || fail "not refused: $output"
	# A replacement binds the same port while the first still drains.
	spawn balance2 "$BAL" -l "127.0.0.1:$BPORT" "127.0.0.1:${PORTS[0]}"
	second=$SPAWNED
	wait_port "$BPORT" 10 || fail "the second balancer could not bind: $(cat "$T/balance2.log")"
	alive "$first" || fail "the first balancer did not wait for its publisher"
	publish late 2
	wait_backend_log 0 publish late
	wait_log "$T/balance2.log" "peer .* backend 127.0.0.1:${PORTS[0]}: closed: finished" 20
	wait_status "$pub" 20 || fail "the publisher did not finish"
	[ "$STATUS" -eq 0 ] || fail "the publisher failed: $(cat "$T/pub-short.log")"
	wait_status "$first" 10 || fail "the balancer did not exit after the drain"
	[ "$STATUS" -eq 0 ]
	grep -q "peer .* backend 127.0.0.1:${PORTS[0]}: closed: finished" "$T/balance.log" ||
		fail "no closed line: $(cat "$T/balance.log")"
	alive "$second" || fail "the second balancer is gone"
}

@test "balance: a silent client, a stalled one and garbage are closed; a publisher is not" {
	local pub
	start_backends 1
	start_balance -t 1 -I 2 "127.0.0.1:${PORTS[0]}"
	publish steady
	pub=$SPAWNED
	wait_backend_log 0 publish steady
	# silent: connects and sends nothing; stalled: half a handshake; garbage.
	spawn silent timeout 20 python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
print("eof" if s.recv(10) == b"" else "data", round(time.time() - t, 1))' "$BPORT"
	local silent=$SPAWNED
	spawn stalled timeout 20 python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x03" + bytes(700))
t = time.time()
while s.recv(4096):
    pass
print("eof", round(time.time() - t, 1))' "$BPORT"
	local stalled=$SPAWNED
	spawn garbage timeout 20 python3 -c 'import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
try:
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(5000))
    while s.recv(4096):
        pass
except OSError:
    pass
print("closed")' "$BPORT"
	local garbage=$SPAWNED
	for p in "$silent" "$stalled" "$garbage"; do
		wait_status "$p" 15 || fail "a hostile client was not closed"
	done
	grep -q '^eof' "$T/silent.log" || fail "silent: $(cat "$T/silent.log")"
	grep -q '^eof' "$T/stalled.log" || fail "stalled: $(cat "$T/stalled.log")"
	grep -q '^closed' "$T/garbage.log" || fail "garbage: $(cat "$T/garbage.log")"
	grep -q 'closed: handshake timeout: nothing sent' "$T/balance.log" ||
		fail "no handshake timeout line"
	grep -q 'closed: idle' "$T/balance.log" || fail "no idle line"
	alive "$pub" || fail "the publisher was cut"
	wait_stats "d['clients'] == 1 and d['backends'][0]['active'] == 1"
}

# play_tls_both URL: rtmp-dump (verifying against the test CA) and ffmpeg
# each play two seconds of URL through TLS, both tracks whole.
play_tls_both() {
	run timeout 30 "$DUMP" -C "$T/tls/ca.pem" -d 2 -o "$T/dump.flv" "$1"
	echo "$output"
	[ "$status" -eq 0 ] || fail "rtmp-dump $1: exit $status" || return 1
	valid_av "$T/dump.flv" || return 1
	run timeout 30 ffmpeg -nostdin -v error -i "$1" -c copy -t 2 -f flv "$T/ffmpeg.flv"
	echo "$output"
	[ "$status" -eq 0 ] || fail "ffmpeg $1: exit $status" || return 1
	valid_av "$T/ffmpeg.flv"
}

@test "balance: RTMPS in front: rtmp-dump and ffmpeg play through TLS termination" {
	make_tls "$T/tls"
	start_backends 2
	start_balance -C "$T/tls/server.pem" "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}"
	# the stream on both backends, so that a player finds it on either
	publish_loop_ffmpeg "rtmp://127.0.0.1:${PORTS[0]}/live/x"
	publish_loop_ffmpeg "rtmp://127.0.0.1:${PORTS[1]}/live/x"
	wait_publishing "${PORTS[0]}" x
	wait_publishing "${PORTS[1]}" x
	play_tls_both "rtmps://localhost:$BPORT/live/x"
	[ "$(nginx_count 0 play)" -eq 1 ] && [ "$(nginx_count 1 play)" -eq 1 ] ||
		fail "plays: $(nginx_count 0 play) and $(nginx_count 1 play), want one each"
	wait_stats "sum(b['bytes_out'] for b in d['backends']) > 200000"
}

@test "balance: a refusing backend is passed over, a full one too; a client none can take is closed" {
	local dead
	start_backends 1
	dead=$(free_port)
	start_balance -i 0 "127.0.0.1:$dead" "127.0.0.1:${PORTS[0]} maxconn 1"
	publish one
	wait_backend_log 0 publish one
	grep -q "backend 127.0.0.1:$dead: connect: Connection refused" "$T/balance.log" ||
		fail "no refusal logged: $(cat "$T/balance.log")"
	# the next: refused by the dead one, the other is at its maxconn
	run timeout 10 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
print("eof" if s.recv(10) == b"" else "data")' "$BPORT"
	[ "$output" = eof ] || fail "not closed: $output"
	wait_log "$T/balance.log" "peer 127.0.0.1:[0-9]*: no other backend can take it: closed" 5
	wait_stats "d['unplaced'] == 1 and d['backends'][0]['refused'] == 2 and d['backends'][1]['active'] == 1"
	[ "$(nginx_count 0 publish)" -eq 1 ]
}

@test "balance: -p takes the client from a PROXY header: by hand (v1) and from HAProxy (v2)" {
	local hport
	require haproxy
	start_backends 1
	start_balance -p -t 2 -v "127.0.0.1:${PORTS[0]}"
	# v1 by hand, then nothing: logged under the client it names
	run timeout 10 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 1935\r\n")
s.settimeout(8)
print("eof" if s.recv(10) == b"" else "data")' "$BPORT"
	[ "$output" = eof ] || fail "not closed: $output"
	wait_log "$T/balance.log" "peer 192.0.2.7:5555 backend 127.0.0.1:${PORTS[0]}: closed: handshake timeout" 5
	# no header: refused
	run timeout 10 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x03" + bytes(1536))
s.settimeout(8)
try:
    print("eof" if s.recv(10) == b"" else "data")
except ConnectionResetError:
    print("eof")  # closed with our bytes unread: a reset' "$BPORT"
	[ "$output" = eof ] || fail "not closed: $output"
	wait_log "$T/balance.log" "peer 127.0.0.1:[0-9]*: PROXY header: .*: closed" 5
	# HAProxy in front with send-proxy-v2: ffmpeg publishes through both
	hport=$(free_port)
	start_haproxy_send_proxy "$hport" "127.0.0.1:$BPORT" v2
	spawn pub-h ffmpeg -nostdin -v error -re -t 3 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$hport/live/viaproxy"
	wait_backend_log 0 publish viaproxy
	wait_log "$T/balance.log" "peer 127.0.0.1:[0-9]* backend 127.0.0.1:${PORTS[0]}: connected" 5
	# the port HAProxy saw (ffmpeg's), not HAProxy's own outgoing one
	local seen
	seen=$(sed -n "s/.*peer 127.0.0.1:\([0-9]*\) backend.*: connected/\1/p" "$T/balance.log" | tail -n 1)
	ss -Htn "sport = :$hport" | grep -q ":$seen\b" ||
		fail "port $seen is not a client of HAProxy: $(ss -Htn "sport = :$hport")"
}

@test "balance: 500 proxied connections cost under 3.4 KB each (HAProxy's), and all close" {
	local before after per
	start_backends 1
	start_balance -i 0 -I 60 -t 60 "127.0.0.1:${PORTS[0]}"
	before=$(awk '/^VmRSS/ { print $2 }' "/proc/$BAL_PID/status")
	# each sends C0+C1 and reads S0+S1+S2: forwarded both ways, then held open
	spawn clients timeout 60 python3 -c 'import socket, sys, time
ss = []
for i in range(500):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"\x03" + bytes(1536))
    ss.append(s)
for s in ss:
    got = b""
    while len(got) < 3073:
        b = s.recv(4096)
        if not b:
            break
        got += b
print("answered", sum(1 for s in ss), flush=True)
time.sleep(30)' "$BPORT"
	local clients=$SPAWNED
	wait_log "$T/clients.log" "answered 500" 30
	wait_stats "d['clients'] == 500 and d['backends'][0]['active'] == 500"
	after=$(awk '/^VmRSS/ { print $2 }' "/proc/$BAL_PID/status")
	per=$(((after - before) * 1024 / 500))
	echo "# rss $before kB -> $after kB: $per bytes per connection" >&3
	if ! grep -aq __asan_init "$BAL"; then
		[ "$per" -lt 3400 ] || fail "$per bytes per proxied connection"
	fi
	stop "$clients"
	wait_stats "d['clients'] == 0 and d['backends'][0]['active'] == 0" 20
}

@test "balance: a tls backend gets RTMPS, verified with -A; a wrong CA refuses it" {
	local tport
	require haproxy
	make_tls "$T/tls"
	start_backends 1
	tport=$(free_port)
	# HAProxy terminates TLS in front of nginx: an RTMPS backend
	start_haproxy_tls "$tport" "${PORTS[0]}" "$T/tls/server.pem"
	start_balance -A "$T/tls/ca.pem" "127.0.0.1:$tport tls"
	spawn pub-tls ffmpeg -nostdin -v error -re -stream_loop -1 -i "$CLIP" -c copy \
		-f flv "rtmp://127.0.0.1:$BPORT/live/overtls"
	wait_backend_log 0 publish overtls
	run timeout 30 ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$BPORT/live/overtls" \
		-c copy -t 2 -f flv "$T/overtls.flv"
	[ "$status" -eq 0 ] || fail "play: $output"
	valid_av "$T/overtls.flv"
	# without the CA the certificate does not verify: the client is closed
	stop "$BAL_PID"
	rm -f "$STATS"
	start_balance "127.0.0.1:$tport tls"
	run timeout 20 ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$BPORT/live/overtls" \
		-c copy -t 2 -f flv "$T/refused.flv"
	[ "$status" -ne 0 ]
	wait_log "$T/balance.log" "backend 127.0.0.1:$tport: closed: backend: .*certificate verify failed" 10
}

@test "balance: source keeps a client's address on one backend" {
	local i total
	start_backends 3
	start_balance -a source "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" \
		"127.0.0.1:${PORTS[2]}"
	for i in 1 2 3 4; do
		publish "src$i" 2
	done
	wait_stats "sum(b['total'] for b in d['backends']) == 4"
	# every connection from 127.0.0.1 on the same one, and nginx saw them there
	bstats "sorted(b['total'] for b in d['backends']) == [0, 0, 4]" | grep -qx True ||
		fail "spread: $(bstats "[b['total'] for b in d['backends']]")"
	total=0
	for i in 0 1 2; do
		[ "$(backend_total "$i")" -eq 4 ] && wait_backend_log "$i" publish 'src[0-9]' 4
		total=$((total + $(nginx_count "$i" publish)))
	done
	[ "$total" -eq 4 ] || fail "nginx saw $total publishers"
}

# stream_backend NAME: the index of the nginx that logged NAME's publish.
stream_backend() {
	local i
	for i in "${!PORTS[@]}"; do
		grep -q "publish: name='$1'" "$(_scope)/nginx-${PORTS[i]}/error.log" &&
			echo "$i" && return 0
	done
	return 1
}

@test "balance: stream: a publisher and ten players of a stream meet on one backend, other streams by their hash" {
	local i j n pids=() where=()
	start_backends 3
	start_balance -a stream "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" \
		"127.0.0.1:${PORTS[2]}"
	for n in 0 1 2 3 4 5; do
		publish "cam$n"
	done
	for n in 0 1 2 3 4 5; do
		for ((i = 0; i < 150; i++)); do
			where[n]=$(stream_backend "cam$n") && break
			sleep 0.1
		done
		[ -n "${where[n]}" ] || fail "cam$n reached no nginx: $(cat "$T/balance.log")"
	done
	# Five streams on three backends by a hash: not all on one.
	[ "$(printf '%s\n' "${where[@]}" | sort -u | wc -l)" -ge 2 ] ||
		fail "every stream on one backend: ${where[*]}"
	for j in 0 1 2 3 4 5 6 7 8 9; do
		spawn "play-$j" timeout 30 ffprobe -v error -show_entries stream=codec_name \
			-of csv=p=0 "rtmp://127.0.0.1:$BPORT/live/cam0"
		pids+=("$SPAWNED")
	done
	for j in 0 1 2 3 4 5 6 7 8 9; do
		wait_status "${pids[j]}" 40 || fail "player $j still running"
		[ "$STATUS" -eq 0 ] || fail "player $j: $(cat "$T/play-$j.log")"
		[ "$(sort "$T/play-$j.log" | xargs)" = "aac h264" ] ||
			fail "player $j got '$(cat "$T/play-$j.log")'"
	done
	[ "$(nginx_count "${where[0]}" play)" -eq 10 ] ||
		fail "cam0's nginx saw $(nginx_count "${where[0]}" play) players, not 10"
	for i in 0 1 2; do
		[ "$i" -eq "${where[0]}" ] || [ "$(nginx_count "$i" play)" -eq 0 ] ||
			fail "nginx $i, not cam0's, got players"
	done
	[ "$(grep -c "backend 127.0.0.1:${PORTS[where[0]]} stream live/cam0: closed: " \
		"$T/balance.log")" -ge 10 ] ||
		fail "no log line per player with its stream: $(cat "$T/balance.log")"
}

@test "balance: stream: the multi-stream server from parts, rtmp-listen -e per stream behind a directory of sockets" {
	local lport dir=$T/rtmp i j pids=()
	require_programs
	mkdir -p "$dir"
	lport=$(free_port)
	# The recipe of rtmp-balance(1), with a scratch directory for /run/rtmp.
	spawn listen env PATH="$RTMPKIT_BIN:$PATH" "$RTMPKIT_BIN/rtmp-listen" \
		-e "exec rtmp-relay -l \"unix:$dir/\$RTMP_STREAM.sock\"" "127.0.0.1:$lport"
	wait_port "$lport" 10
	start_balance -a stream "unix:$dir/"
	for i in one two; do
		spawn "pub-$i" ffmpeg -nostdin -v error -re -stream_loop -1 -i "$CLIP" -c copy \
			-f flv "rtmp://127.0.0.1:$lport/live/$i"
	done
	for i in one two; do
		for ((j = 0; j < 100; j++)); do
			[ -S "$dir/$i.sock" ] && break
			sleep 0.1
		done
		[ -S "$dir/$i.sock" ] || fail "no $dir/$i.sock: $(cat "$T/listen.log")"
	done
	for j in 0 1 2 3; do
		i=$([ $((j % 2)) -eq 0 ] && echo one || echo two)
		spawn "play-$j" timeout 30 ffprobe -v error -show_entries stream=codec_name \
			-of csv=p=0 "rtmp://127.0.0.1:$BPORT/live/$i"
		pids+=("$SPAWNED")
	done
	for j in 0 1 2 3; do
		wait_status "${pids[j]}" 40 || fail "player $j still running"
		[ "$STATUS" -eq 0 ] || fail "player $j: $(cat "$T/play-$j.log")"
		[ "$(sort "$T/play-$j.log" | xargs)" = "aac h264" ] ||
			fail "player $j got '$(cat "$T/play-$j.log")'"
	done
	grep -q "backend unix:$dir/ stream live/one: closed" "$T/balance.log" ||
		fail "no log line for live/one: $(cat "$T/balance.log")"
	grep -q "backend unix:$dir/ stream live/two: closed" "$T/balance.log" ||
		fail "no log line for live/two"
	# No such stream, and names that would leave the directory: the client hears it.
	for i in nope .. ../one .hidden; do
		run timeout 20 "$DUMP" -q -r 0 -t 5 -o /dev/null "rtmp://127.0.0.1:$BPORT/live/$i"
		[ "$status" -eq 3 ] || fail "live/$i: status $status, not 3 (not found): $output"
	done
	grep -q "stream live/nope: .*refused" "$T/balance.log" ||
		fail "no refusal logged for nope: $(cat "$T/balance.log")"
	[ ! -e "$T/one.sock" ] || fail "something outside the directory"
}

@test "balance: stream: by role, publishers to an rtmp-listen | rtmp-relay pipeline's ingest, players to its relay, one port" {
	local iport rport j pids=()
	iport=$(free_port)
	rport=$(free_port)
	spawn_sh pipeline "exec '$RTMPKIT_BIN/rtmp-listen' 127.0.0.1:$iport | exec '$RTMPKIT_BIN/rtmp-relay' -l 127.0.0.1:$rport"
	wait_port "$iport" 10
	wait_port "$rport" 10
	start_balance -a stream "127.0.0.1:$iport publish" "127.0.0.1:$rport play"
	publish show
	for j in 0 1 2; do
		spawn "play-$j" timeout 30 ffprobe -v error -show_entries stream=codec_name \
			-of csv=p=0 "rtmp://127.0.0.1:$BPORT/live/show"
		pids+=("$SPAWNED")
		sleep 0.3
	done
	for j in 0 1 2; do
		wait_status "${pids[j]}" 40 || fail "player $j still running"
		[ "$STATUS" -eq 0 ] || fail "player $j: $(cat "$T/play-$j.log")"
		[ "$(sort "$T/play-$j.log" | xargs)" = "aac h264" ] ||
			fail "player $j got '$(cat "$T/play-$j.log")'"
	done
	[ "$(grep -c "backend 127.0.0.1:$rport play stream live/show: closed" "$T/balance.log")" -eq 3 ] ||
		fail "players not all at the relay: $(cat "$T/balance.log")"
	wait_stats "[b['active'] for b in d['backends']] == [1, 0]"
	bstats "d['backends'][1]['total'] == 3 and d['backends'][0]['total'] == 1" | grep -qx True ||
		fail "stats: $(bstats d)"
}

@test "balance: stream: a fourth backend takes about a quarter of 40 streams and moves no other" {
	local i n moved=0 before after
	start_backends 4
	printf '127.0.0.1:%s\n' "${PORTS[0]}" "${PORTS[1]}" "${PORTS[2]}" >"$T/backends"
	start_balance -a stream -f "$T/backends"
	# where NAME: the backend the balancer sent a player of NAME to.
	round() {
		local n pids=()
		for ((n = 0; n < 40; n++)); do
			spawn "probe-$1-$n" timeout 3 "$DUMP" -q -r 0 -t 1 -o /dev/null \
				"rtmp://127.0.0.1:$BPORT/live/s$n"
			pids+=("$SPAWNED")
		done
		for n in "${pids[@]}"; do
			wait_status "$n" 10 || return 1
		done
	}
	round a
	cp "$T/balance.log" "$T/before.log"
	printf '127.0.0.1:%s\n' "${PORTS[3]}" >>"$T/backends"
	kill -HUP "$BAL_PID"
	wait_log "$T/balance.log" "reload: 4 backends, 1 new" 10
	: >"$T/balance.log.mark"
	round b
	for ((n = 0; n < 40; n++)); do
		before=$(grep -o "backend [^ ]* stream live/s$n:" "$T/before.log" | head -n 1)
		after=$(grep -o "backend [^ ]* stream live/s$n:" "$T/balance.log" | tail -n 1)
		[ -n "$before" ] && [ -n "$after" ] || fail "s$n not placed: $(cat "$T/balance.log")"
		if [ "$before" != "$after" ]; then
			[ "$after" = "backend 127.0.0.1:${PORTS[3]} stream live/s$n:" ] ||
				fail "s$n moved between old backends: $before -> $after"
			moved=$((moved + 1))
		fi
	done
	# A quarter is 10; the hash of 40 names lands near it.
	[ "$moved" -ge 4 ] && [ "$moved" -le 18 ] || fail "$moved of 40 moved, not about 10"
}

@test "balance: stream: garbage, a stalled handshake, a huge connect and deep AMF0 are closed; a publisher is not" {
	local pub m v rss1 rss2
	start_backends 1
	start_balance -a stream -t 2 "127.0.0.1:${PORTS[0]}"
	publish steady
	pub=$SPAWNED
	wait_backend_log 0 publish steady
	rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$BAL_PID/status")
	run timeout 120 python3 "$BATS_TEST_DIRNAME/../hostile/client.py" --port "$BPORT" \
		--timeout 8 http bad-c0 dribble amf-nested amf-nested-array amf-ecma-count \
		many-huge connect-missing name-dotdot
	echo "$output"
	[ "$status" -eq 0 ] || fail "client.py exited $status"
	for m in http bad-c0 dribble amf-nested amf-nested-array amf-ecma-count many-huge \
		connect-missing; do
		v=$(awk -v m="$m" '$1 == m { print $2 }' <<<"$output")
		[ "$v" = closed ] || fail "$m: '$v', not closed"
	done
	v=$(awk '$1 == "name-dotdot" { print $2 }' <<<"$output")
	[ "$v" = refused ] || [ "$v" = closed ] || fail "name-dotdot: '$v'"
	# A connect message that claims 16 MB: refused before a byte of it is kept.
	run timeout 20 python3 -c 'import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x03" + bytes(1536))
got = b""
while len(got) < 3073:
    b = s.recv(65536)
    if not b:
        break
    got += b
s.sendall(got[1:1537] + b"\x03\0\0\0\xff\xff\xff\x14\0\0\0\0" + os.urandom(4096))
try:
    while s.recv(4096):
        pass
except OSError:
    pass
print("closed")' "$BPORT"
	[ "$output" = closed ] || fail "huge connect: $output"
	wait_log "$T/balance.log" ": limit exceeded: closed" 5 4
	wait_log "$T/balance.log" ": handshake timeout: no publish or play: closed" 5
	wait_log "$T/balance.log" ": refused: bad stream name: closed" 5
	alive "$pub" || fail "the publisher was cut"
	wait_stats "d['clients'] == 1"
	[ "$(nginx_count 0 publish)" -eq 1 ] || fail "hostile clients reached the backend"
	rss2=$(awk '/^VmRSS/ { print $2 }' "/proc/$BAL_PID/status")
	[ "$rss2" -lt $((rss1 + 2048)) ] || fail "memory grew from $rss1 to $rss2 KB"
}

@test "balance: stream: RTMPS in front, the session carried over from TLS to a plain backend; ffmpeg publishes through it" {
	local i where=
	make_tls "$T/tls"
	start_backends 3
	start_balance -a stream -C "$T/tls/server.pem" "127.0.0.1:${PORTS[0]}" \
		"127.0.0.1:${PORTS[1]}" "127.0.0.1:${PORTS[2]}"
	spawn pub-tls ffmpeg -nostdin -v error -re -stream_loop -1 -i "$CLIP" -c copy \
		-f flv "rtmps://localhost:$BPORT/live/secure"
	for ((i = 0; i < 150; i++)); do
		where=$(stream_backend secure) && break
		sleep 0.1
	done
	[ -n "$where" ] || fail "the publisher reached no nginx: $(cat "$T/balance.log")"
	play_tls_both "rtmps://localhost:$BPORT/live/secure"
	[ "$(nginx_count "$where" play)" -eq 2 ] || fail "the players did not meet the publisher"
}

@test "balance: stream: a backend that takes the connection and never answers is given up after -t" {
	local mport
	mport=$(free_port)
	spawn mute python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = []
while True:
    c, _ = s.accept()
    held.append(c)' "$mport"
	wait_port "$mport" 10
	start_balance -a stream -t 1 "127.0.0.1:$mport"
	SECONDS=0
	run timeout 20 "$DUMP" -q -r 0 -t 10 -o /dev/null "rtmp://127.0.0.1:$BPORT/live/x"
	[ "$status" -ne 0 ] || fail "rtmp-dump succeeded against a mute backend"
	[ "$SECONDS" -le 6 ] || fail "took $SECONDS s"
	wait_log "$T/balance.log" "stream live/x: closed: backend: no answer to the session" 5
}

@test "balance: stream: librtmp publishes (GStreamer rtmpsink, as OBS), rtmpdump and VLC play, all through it" {
	local i where= out
	require gst-launch-1.0 rtmpdump cvlc runuser
	start_backends 2
	start_balance -a stream "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}"
	run timeout 60 gst-launch-1.0 -q filesrc location="$CLIP" ! \
		rtmpsink location="rtmp://127.0.0.1:$BPORT/live/obs live=1"
	echo "$output"
	wait_log "$T/balance.log" "stream live/obs: closed: " 20
	out=$(grep -o "stream live/obs: closed: [^,]*, [0-9]* bytes in" "$T/balance.log")
	# rtmpsink sends what it sends straight to a server too (16 KB of this clip).
	[[ "$out" == *"closed: finished, "* ]] &&
		[ "$(sed 's/.*, \([0-9]*\) bytes in/\1/' <<<"$out")" -gt 10000 ] ||
		fail "librtmp's publish did not get through: $out"
	stream_backend obs >/dev/null || fail "no nginx saw the librtmp publisher"
	publish show
	for ((i = 0; i < 150; i++)); do
		where=$(stream_backend show) && break
		sleep 0.1
	done
	[ -n "$where" ] || fail "show reached no nginx"
	sleep 1
	run timeout 6 rtmpdump -q -v -r "rtmp://127.0.0.1:$BPORT/live/show" -o "$T/rtmpdump.flv"
	echo "rtmpdump: $status $output"
	[ "$(probe_codecs "$T/rtmpdump.flv")" = "h264 aac" ] ||
		fail "rtmpdump got: $(probe_codecs "$T/rtmpdump.flv")"
	local -a as=()
	[ "$(id -u)" -ne 0 ] || as=(runuser -u nobody --)
	out=$(mktemp -d)
	chmod 777 "$out"
	run timeout -k 5 20 "${as[@]}" cvlc -q "rtmp://127.0.0.1:$BPORT/live/show" \
		--sout "#std{access=file,mux=ts,dst=$out/vlc.ts}" --run-time=4 vlc://quit
	echo "vlc: $status $output"
	[ -s "$out/vlc.ts" ] || { rm -rf "$out"; fail "VLC wrote nothing"; }
	[ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$out/vlc.ts" |
		grep . | sort -u | paste -sd ' ')" = "aac h264" ] ||
		{ rm -rf "$out"; fail "VLC's file lacks a track"; }
	rm -rf "$out"
	[ "$(nginx_count "$where" play)" -eq 2 ] || fail "the players did not meet the publisher"
}

@test "balance: stream: one nginx named twice, once per role: publishers and players both reach it" {
	start_backends 1
	start_balance -a stream "127.0.0.1:${PORTS[0]} publish" "127.0.0.1:${PORTS[0]} play"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$BPORT/live/both"
	wait_publishing "${PORTS[0]}" both 15
	record_ffmpeg "rtmp://127.0.0.1:$BPORT/live/both" "$T/play.flv" 2
	wait_status "$RECORDER_PID" 20 || fail "the player is still playing"
	[ "$STATUS" -eq 0 ] || fail "ffmpeg playing exited $STATUS"
	valid_av "$T/play.flv"
	[ "$(nginx_count 0 play)" -eq 1 ] || fail "nginx saw $(nginx_count 0 play) plays"
	# Two backends in the stats, each by its role, one client placed on each.
	wait_stats "sorted(b['address'] for b in d['backends']) == \
['127.0.0.1:${PORTS[0]} play', '127.0.0.1:${PORTS[0]} publish'] and \
all(b['total'] == 1 for b in d['backends'])"
}
