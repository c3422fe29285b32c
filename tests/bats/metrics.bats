#!/usr/bin/env bats
# -M: the servers' Prometheus metrics over HTTP.  rtmp-listen | rtmp-relay
# with rtmp-balance in front, ffmpeg publishing, rtmp-dump playing; each
# document checked by promtool and scraped by a real Prometheus server;
# then hostile HTTP clients, which must end only their own connection.

load helpers

LISTEN=$RTMPKIT_BIN/rtmp-listen
RELAY=$RTMPKIT_BIN/rtmp-relay
BAL=$RTMPKIT_BIN/rtmp-balance

setup() {
	require_programs
	local p
	for p in "$LISTEN" "$RELAY" "$BAL"; do
		[ -x "$p" ] || fail "$p is not built (make)" || return 1
	done
	require ffmpeg python3 ss curl promtool prometheus
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

# scrape PORT [PATH]: the document at 127.0.0.1:PORT/metrics (bounded).
scrape() {
	curl -sS --max-time 5 "http://127.0.0.1:$1${2:-/metrics}"
}

# value FILE SAMPLE: the value of the sample line "SAMPLE value" in FILE,
# empty if there is none.
value() {
	awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $NF; exit }' "$1"
}

# check_value FILE SAMPLE OP N: the sample is there and its value OP N
# (awk's comparison: ==, >, >=).
check_value() {
	local v
	v=$(value "$1" "$2")
	[ -n "$v" ] || fail "$1: no sample $2" || return 1
	awk -v v="$v" -v n="$4" "BEGIN { exit !(v + 0 $3 n + 0) }" ||
		fail "$1: $2 is $v, want $3 $4"
}

# lint FILE: promtool finds nothing to say about the document, errors
# and lint warnings alike.
lint() {
	local out
	out=$(promtool check metrics <"$1" 2>&1) ||
		fail "promtool check metrics $1: $out" || return 1
	[ -z "$out" ] || fail "promtool check metrics $1: $out"
}

# wait_value PORT SAMPLE OP N [SECONDS]: until a scrape of PORT has the
# sample with its value OP N.
wait_value() {
	local i f=$T/wait.$1
	for ((i = 0; i < ${5:-15} * 5; i++)); do
		scrape "$1" >"$f" 2>/dev/null && check_value "$f" "$2" "$3" "$4" 2>/dev/null &&
			return 0
		sleep 0.2
	done
	cat "$f"
	fail "port $1: $2 not $3 $4 after ${5:-15} s"
}

# start_chain: rtmp-listen | rtmp-relay, rtmp-balance in front of the
# relay, each with -M; ffmpeg publishes live/x into rtmp-listen, one
# rtmp-dump plays from the relay, one through the balancer.  Sets the
# ports LPORT RPORT BPORT (RTMP) and LM RM BM (metrics).  With an
# argument, the relay also restreams to a second rtmp-listen on UPORT.
start_chain() {
	LPORT=$(free_port) RPORT=$(free_port) BPORT=$(free_port)
	LM=$(free_port) RM=$(free_port) BM=$(free_port)
	local dest=
	if [ -n "${1:-}" ]; then
		UPORT=$(free_port)
		spawn ingest "$LISTEN" -e 'exec cat >/dev/null' "127.0.0.1:$UPORT"
		wait_port "$UPORT" || return 1
		dest="rtmp://127.0.0.1:$UPORT/live/secretkey"
	fi
	spawn_sh pipeline "exec '$LISTEN' -M 127.0.0.1:$LM 127.0.0.1:$LPORT |
		exec '$RELAY' -M 127.0.0.1:$RM -l 127.0.0.1:$RPORT $dest"
	spawn balance "$BAL" -i 500 -M "127.0.0.1:$BM" -l "127.0.0.1:$BPORT" \
		"127.0.0.1:$RPORT"
	local p
	for p in "$LPORT" "$RPORT" "$BPORT" "$LM" "$RM" "$BM"; do
		wait_port "$p" 10 || return 1
	done
	publish_loop_ffmpeg "rtmp://127.0.0.1:$LPORT/live/x"
	wait_value "$RM" rtmpkit_input_live == 1 || return 1
	spawn play-direct "$DUMP" -q -o "$T/direct.flv" "rtmp://127.0.0.1:$RPORT/live/x"
	DIRECT_PID=$SPAWNED
	spawn play-balanced "$DUMP" -q -o "$T/balanced.flv" "rtmp://127.0.0.1:$BPORT/live/x"
	wait_value "$RM" 'rtmpkit_players{stream="live/x"}' == 2
}

@test "metrics: listen | relay and balance: promtool finds nothing, the families hold what runs" {
	start_chain restream
	sleep 1
	scrape "$LM" >"$T/listen.prom"
	scrape "$RM" >"$T/relay.prom"
	scrape "$BM" >"$T/balance.prom"
	local f
	for f in listen relay balance; do
		lint "$T/$f.prom"
		check_value "$T/$f.prom" "rtmpkit_build_info{program=\"rtmp-$f\",version=\"$("$LISTEN" -V | cut -d' ' -f2)\"}" == 1
		check_value "$T/$f.prom" process_start_time_seconds '>' $(($(date +%s) - 120))
		check_value "$T/$f.prom" rtmpkit_connections_accepted_total '>=' 1
		check_value "$T/$f.prom" rtmpkit_received_bytes_total '>' 0
		check_value "$T/$f.prom" rtmpkit_metrics_dropped_samples == 0
		# one HELP and one TYPE line per family, every family once
		[ "$(grep -c '^# HELP ' "$T/$f.prom")" -eq "$(grep -c '^# TYPE ' "$T/$f.prom")" ]
		[ -z "$(grep '^# TYPE ' "$T/$f.prom" | cut -d' ' -f3 | sort | uniq -d)" ]
	done
	# rtmp-listen: one publisher, media in and out to the relay
	check_value "$T/listen.prom" 'rtmpkit_publishers{stream="live/x"}' == 1
	check_value "$T/listen.prom" rtmpkit_connections == 1
	check_value "$T/listen.prom" rtmpkit_publishes_accepted_total == 1
	check_value "$T/listen.prom" rtmpkit_publishes_denied_total == 0
	check_value "$T/listen.prom" rtmpkit_publishers_replaced_total == 0
	check_value "$T/listen.prom" rtmpkit_input_tags_total '>' 10
	check_value "$T/listen.prom" rtmpkit_input_live == 1
	check_value "$T/listen.prom" rtmpkit_output_bytes_total '>' 10000
	check_value "$T/listen.prom" rtmpkit_output_buffered_bytes '>=' 0
	# rtmp-relay: two players (one through the balancer), bytes out
	check_value "$T/relay.prom" 'rtmpkit_players{stream="live/x"}' == 2
	# 2, and the balancer's health check now and then
	check_value "$T/relay.prom" rtmpkit_connections '>=' 2
	check_value "$T/relay.prom" rtmpkit_sent_bytes_total '>' 10000
	check_value "$T/relay.prom" rtmpkit_input_bytes_total '>' 10000
	check_value "$T/relay.prom" rtmpkit_player_skips_total '>=' 0
	check_value "$T/relay.prom" rtmpkit_players_dropped_total == 0
	# its destination, named without the stream key
	local u="{upstream=\"1\",url=\"rtmp://127.0.0.1:$UPORT/live\"}"
	check_value "$T/relay.prom" "rtmpkit_upstream_publishing$u" == 1
	check_value "$T/relay.prom" "rtmpkit_upstream_connects_total$u" == 1
	refute grep -q secretkey "$T/relay.prom"
	# rtmp-balance: its backend up, one client on it, bytes both ways
	local b="{backend=\"127.0.0.1:$RPORT\"}"
	check_value "$T/balance.prom" "rtmpkit_backend_up$b" == 1
	check_value "$T/balance.prom" "rtmpkit_backend_connections$b" == 1
	check_value "$T/balance.prom" "rtmpkit_backend_connections_total$b" == 1
	check_value "$T/balance.prom" "rtmpkit_backend_refused_total$b" == 0
	check_value "$T/balance.prom" "rtmpkit_backend_received_bytes_total$b" '>' 10000
	check_value "$T/balance.prom" "rtmpkit_backend_sent_bytes_total$b" '>' 1000
	check_value "$T/balance.prom" "rtmpkit_backend_checks_total$b" '>=' 1
	check_value "$T/balance.prom" rtmpkit_connections == 1
	check_value "$T/balance.prom" rtmpkit_sent_bytes_total '>' 10000
	check_value "$T/balance.prom" rtmpkit_clients_unplaced_total == 0
	check_value "$T/balance.prom" rtmpkit_reloads_total == 0
	# counters grow while the stream runs
	local before
	before=$(value "$T/relay.prom" rtmpkit_sent_bytes_total)
	sleep 2
	scrape "$RM" >"$T/relay2.prom"
	check_value "$T/relay2.prom" rtmpkit_sent_bytes_total '>' "$before"
	# HEAD: the length only
	run curl -sS --max-time 5 -I "http://127.0.0.1:$LM/metrics"
	[[ "$output" == "HTTP/1.1 200 OK"* ]]
	[[ "$output" == *"Content-Type: text/plain; version=0.0.4; charset=utf-8"* ]]
	[[ "$output" == *"Connection: close"* ]]
}

@test "metrics: a player that leaves is counted out, its bytes stay in the totals" {
	start_chain
	scrape "$RM" >"$T/a.prom"
	stop "$DIRECT_PID"
	wait_value "$RM" 'rtmpkit_players{stream="live/x"}' == 1
	scrape "$RM" >"$T/b.prom"
	check_value "$T/b.prom" rtmpkit_sent_bytes_total '>=' "$(value "$T/a.prom" rtmpkit_sent_bytes_total)"
	# the balancer's health checks are connections too
	check_value "$T/b.prom" rtmpkit_connections_accepted_total '>=' \
		"$(value "$T/a.prom" rtmpkit_connections_accepted_total)"
}

@test "metrics: Prometheus scrapes all three: up == 1 for each, counters grow" {
	start_chain
	local pp dir=$T/prometheus
	pp=$(free_port)
	mkdir -p "$dir/data"
	cat >"$dir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		scrape_configs:
		  - job_name: rtmp-listen
		    static_configs: [{ targets: ['127.0.0.1:$LM'] }]
		  - job_name: rtmp-relay
		    static_configs: [{ targets: ['127.0.0.1:$RM'] }]
		  - job_name: rtmp-balance
		    static_configs: [{ targets: ['127.0.0.1:$BM'] }]
	EOF
	promtool check config "$dir/prometheus.yml"
	spawn prometheus prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$pp"
	wait_port "$pp" 30
	# query EXPR: the result vector as "job value" lines
	query() {
		curl -sS --max-time 5 -G "http://127.0.0.1:$pp/api/v1/query" \
			--data-urlencode "query=$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
for r in d["data"]["result"]:
    print(r["metric"].get("job", "-"), r["value"][1])'
	}
	# wait_query EXPR [WANT]: until EXPR gives WANT, or anything if none
	wait_query() {
		local j got=
		for ((j = 0; j < 60; j++)); do
			got=$(query "$1" 2>/dev/null) || got=
			if [ -n "${2:-}" ]; then [ "$got" = "$2" ] && return 0
			else [ -n "$got" ] && return 0; fi
			sleep 0.5
		done
		fail "Prometheus: $1 gave '$got' for 30 s, want '${2:-anything}'"
	}
	local i up=
	for ((i = 0; i < 60; i++)); do
		up=$(query 'up == 1' 2>/dev/null | cut -d' ' -f1 | sort | xargs)
		[ "$up" = "rtmp-balance rtmp-listen rtmp-relay" ] && break
		sleep 0.5
	done
	[ "$up" = "rtmp-balance rtmp-listen rtmp-relay" ] ||
		fail "targets up: '$up'; $(curl -sS "http://127.0.0.1:$pp/api/v1/targets")"
	# what Prometheus stored matches what runs
	wait_query 'rtmpkit_players{job="rtmp-relay",stream="live/x"}' "rtmp-relay 2"
	wait_query 'rtmpkit_publishers{job="rtmp-listen",stream="live/x"}' "rtmp-listen 1"
	wait_query "rtmpkit_backend_up{backend=\"127.0.0.1:$RPORT\"}" "rtmp-balance 1"
	wait_query 'count(rtmpkit_build_info)' "- 3"
	# counters grew between scrapes, as Prometheus saw them
	wait_query 'increase(rtmpkit_sent_bytes_total{job="rtmp-relay"}[10s]) > 0'
	wait_query 'increase(rtmpkit_sent_bytes_total{job="rtmp-balance"}[10s]) > 0'
	wait_query 'increase(rtmpkit_input_tags_total{job="rtmp-listen"}[10s]) > 0'
	# every sample of every scrape was taken, none cut
	[ "$(query 'max(rtmpkit_metrics_dropped_samples)')" = "- 0" ]
	[ "$(query 'min(scrape_samples_scraped) > 10')" != "" ]
}

@test "metrics: rtmp-listen counts a publish denied and a silent publisher replaced" {
	local port mport
	port=$(free_port) mport=$(free_port)
	echo 'live/r good' >"$T/keys"
	spawn listen "$LISTEN" -f "$T/keys" -e 'exec cat >/dev/null' -M "127.0.0.1:$mport" \
		"127.0.0.1:$port"
	wait_port "$port" && wait_port "$mport"
	run timeout 30 "$PUSH" "rtmp://127.0.0.1:$port/live/r?key=bad" "$CLIP"
	[ "$status" -ne 0 ]
	wait_value "$mport" rtmpkit_publishes_denied_total == 1
	# an encoder that lost its network: silent, its connection still open
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/r?key=good"
	wait_value "$mport" 'rtmpkit_publishers{stream="live/r"}' == 1
	kill -STOP "$PUBLISHER_PID"
	sleep 3.5
	spawn push "$PUSH" "rtmp://127.0.0.1:$port/live/r?key=good" "$CLIP"
	wait_value "$mport" rtmpkit_publishers_replaced_total == 1
	kill -CONT "$PUBLISHER_PID"
	scrape "$mport" >"$T/doc.prom"
	lint "$T/doc.prom"
	check_value "$T/doc.prom" rtmpkit_publishes_accepted_total == 2
	check_value "$T/doc.prom" 'rtmpkit_publishers{stream="live/r"}' == 1
	check_value "$T/doc.prom" rtmpkit_output_bytes_total '>' 10000
}

@test "metrics: rtmp-balance after a reload: reloads counted, a removed backend's series gone" {
	start_chain
	local dead
	dead=$(free_port)
	printf '127.0.0.1:%s\n127.0.0.1:%s\n' "$RPORT" "$dead" >"$T/backends"
	local port mport
	port=$(free_port) mport=$(free_port)
	spawn bal2 "$BAL" -i 300 -f "$T/backends" -M "127.0.0.1:$mport" -l "127.0.0.1:$port"
	local pid=$SPAWNED
	wait_port "$port" && wait_port "$mport"
	# the dead one fails its checks and is marked down
	wait_value "$mport" "rtmpkit_backend_up{backend=\"127.0.0.1:$dead\"}" == 0
	check_value "$T/wait.$mport" "rtmpkit_backend_up{backend=\"127.0.0.1:$RPORT\"}" == 1
	printf '127.0.0.1:%s\n' "$RPORT" >"$T/backends"
	kill -HUP "$pid"
	wait_value "$mport" rtmpkit_reloads_total == 1
	refute grep -q "backend=\"127.0.0.1:$dead\"" "$T/wait.$mport"
	lint "$T/wait.$mport"
}

# http PORT BYTES [WAIT]: BYTES (printf's format) sent to 127.0.0.1:PORT,
# then the answer's status line, or "closed" if none came; WAIT seconds
# at most.
http() {
	timeout 20 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(float(sys.argv[3]))
try:
    s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
except OSError:
    pass
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except socket.timeout:
    print("timeout")
    sys.exit(0)
print(data.split(b"\r\n")[0].decode() if data else "closed")' "$1" "$2" "${3:-10}"
}

# start_listen_publishing: rtmp-listen -M with ffmpeg publishing live/h
# (each stream to a command of its own that throws it away).  Sets PORT,
# MPORT, LISTEN_LOG.
start_listen_publishing() {
	PORT=$(free_port) MPORT=$(free_port)
	spawn listen "$LISTEN" -e 'exec cat >/dev/null' -M "127.0.0.1:$MPORT" \
		"127.0.0.1:$PORT"
	LISTEN_LOG=$T/listen.log
	wait_port "$PORT" && wait_port "$MPORT" || return 1
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT/live/h"
	wait_value "$MPORT" 'rtmpkit_publishers{stream="live/h"}' == 1 &&
		wait_value "$MPORT" rtmpkit_input_live == 1
}

@test "metrics: hostile HTTP: 404, 405, 400, 431, 505 each end their connection only" {
	start_listen_publishing
	[ "$(http "$MPORT" 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 404 Not Found" ]
	[ "$(http "$MPORT" 'GET /metricsx HTTP/1.1\r\n\r\n')" = "HTTP/1.1 404 Not Found" ]
	[ "$(http "$MPORT" 'POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc')" = \
		"HTTP/1.1 405 Method Not Allowed" ]
	run curl -sS --max-time 5 -i -X DELETE "http://127.0.0.1:$MPORT/metrics"
	[[ "$output" == *"Allow: GET, HEAD"* ]]
	[ "$(http "$MPORT" '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')" = "HTTP/1.1 400 Bad Request" ]
	[ "$(http "$MPORT" '\x03\x00\x00\x00\x00\x00\x00\x00\x00')" = "HTTP/1.1 400 Bad Request" ]
	[ "$(http "$MPORT" 'GET /metrics HTTP/1.1\r\nHost x\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
	[ "$(http "$MPORT" 'GET /metrics HTTP/2.0\r\n\r\n')" = "HTTP/1.1 505 HTTP Version Not Supported" ]
	[ "$(http "$MPORT" "GET /metrics HTTP/1.1\\r\\nX: $(head -c 8000 /dev/zero | tr '\0' a)\\r\\n\\r\\n")" = \
		"HTTP/1.1 431 Request Header Fields Too Large" ]
	[ "$(http "$MPORT" 'GET /metrics?x=1 HTTP/1.0\r\n\r\n')" = "HTTP/1.1 200 OK" ]
	# the publisher never noticed, and the log stayed quiet (no -v)
	wait_value "$MPORT" rtmpkit_input_live == 1
	wait_value "$MPORT" 'rtmpkit_publishers{stream="live/h"}' == 1
	wait_value "$MPORT" rtmpkit_connections_accepted_total == 1
	refute grep -q 'metrics 127.0.0.1' "$LISTEN_LOG"
	refute grep -q 'closed' "$LISTEN_LOG"
	refute grep -q 'command exited' "$LISTEN_LOG"
}

@test "metrics: a slow client is closed at the 5 s deadline, 408 if it sent part of a head" {
	start_listen_publishing
	local t0 took
	t0=$(now)
	[ "$(http "$MPORT" 'GET /metr' 15)" = "HTTP/1.1 408 Request Timeout" ]
	took=$(elapsed_since "$t0")
	within "$took" 4.5 8
	t0=$(now)
	[ "$(http "$MPORT" '' 15)" = "closed" ]
	within "$(elapsed_since "$t0")" 4.5 8
	# a slowloris feeding a byte a second is held to the same deadline
	t0=$(now)
	run timeout 20 python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
try:
    for c in b"GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa":
        s.send(bytes([c]))
        time.sleep(1)
except OSError:
    pass
print(s.recv(100).split(b"\r\n")[0].decode())' "$MPORT"
	echo "$output"
	[ "$output" = "HTTP/1.1 408 Request Timeout" ]
	within "$(elapsed_since "$t0")" 4.5 9
	wait_value "$MPORT" 'rtmpkit_publishers{stream="live/h"}' == 1 &&
		wait_value "$MPORT" rtmpkit_input_live == 1
}

@test "metrics: 50 idle connections do not keep a real scrape out, nor the RTMP port" {
	start_listen_publishing
	spawn idle python3 -c 'import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(50)]
print("open", len(conns), flush=True)
time.sleep(60)' "$MPORT"
	wait_log "$T/idle.log" '^open 50' 10
	local t0
	t0=$(now)
	scrape "$MPORT" >"$T/doc.prom"
	within "$(elapsed_since "$t0")" 0 2
	lint "$T/doc.prom"
	check_value "$T/doc.prom" 'rtmpkit_publishers{stream="live/h"}' == 1
	# again, with the idle ones still there
	scrape "$MPORT" >"$T/doc2.prom"
	check_value "$T/doc2.prom" rtmpkit_input_tags_total '>' "$(value "$T/doc.prom" rtmpkit_input_tags_total)"
	# A burst of 40 real scrapes at once, past the 16 slots, beside the 50
	# idle ones: every one ends in time, none with another answer than 200
	# (a slow server may push out one whose request it has not read yet:
	# no answer), and at least the slots' worth are answered.
	run timeout 30 bash -c 'for i in $(seq 40); do
		curl -s -o /dev/null -w "%{http_code}\n" --max-time 10 "$1" &
	done; wait' sh "http://127.0.0.1:$MPORT/metrics"
	[ "$status" -eq 0 ] || fail "burst: not over in 30 s"
	[ "$(grep -c . <<<"$output")" -eq 40 ] || fail "burst: $output"
	[ -z "$(grep -vxE '200|000' <<<"$output")" ] || fail "burst: $output"
	[ "$(grep -cx 200 <<<"$output")" -ge 16 ] || fail "burst: $output"
	# RTMP is a port of its own: a second stream publishes meanwhile
	run timeout 30 "$PUSH" "rtmp://127.0.0.1:$PORT/live/other" "$CLIP"
	[ "$status" -eq 0 ]
	scrape "$MPORT" >"$T/doc3.prom"
	check_value "$T/doc3.prom" rtmpkit_publishes_accepted_total == 2
}

@test "metrics: -M takes :port, [::1]:port and unix:PATH; a bad one is a usage error" {
	local port mport sock=$T/metrics.sock
	port=$(free_port) mport=$(free_port)
	# the relay ends with its input: one that stays open and silent
	spawn_sh relay1 "sleep 120 | exec '$RELAY' -M :$mport -l 127.0.0.1:$port"
	wait_port "$mport"
	scrape "$mport" >"$T/any.prom"
	lint "$T/any.prom"
	run curl -sS --max-time 5 -g "http://[::1]:$mport/metrics"
	[ "$status" -eq 0 ]
	[[ "$output" == *rtmpkit_build_info* ]]
	port=$(free_port) mport=$(free_port)
	spawn_sh relay2 "sleep 120 | exec '$RELAY' -M [::1]:$mport -l 127.0.0.1:$port"
	wait_port "$port"
	run curl -sS --max-time 5 -g "http://[::1]:$mport/metrics"
	[ "$status" -eq 0 ]
	[[ "$output" == *'rtmpkit_build_info{program="rtmp-relay"'* ]]
	port=$(free_port)
	spawn bal "$BAL" -M "unix:$sock" -l "127.0.0.1:$port" 127.0.0.1:1
	wait_port "$port"
	run curl -sS --max-time 5 --unix-socket "$sock" http://localhost/metrics
	[ "$status" -eq 0 ]
	[[ "$output" == *'rtmpkit_backend_up{backend="127.0.0.1:1"}'* ]]
	stop "$SPAWNED"
	[ ! -e "$sock" ] || fail "$sock is still there after rtmp-balance stopped"
	for p in "$LISTEN" "$RELAY" "$BAL"; do
		run "$p" -M nonsense 127.0.0.1:1
		[ "$status" -eq 2 ]
		[[ "$output" == *"metrics address nonsense: not a listen address"* ]]
	done
}

@test "metrics: -h lists -M, and each man page documents it and its METRICS" {
	local p m
	for p in rtmp-listen rtmp-relay rtmp-balance; do
		run "$RTMPKIT_BIN/$p" -h
		[[ "$output" == *"[-M address]"* ]] || fail "$p -h lacks -M"
		m=$BATS_TEST_DIRNAME/../../man/$p.1
		grep -q '^\.It Fl M Ar address$' "$m" || fail "$p(1) does not document -M"
		grep -q '^\.Sh METRICS$' "$m" || fail "$p(1) has no METRICS section"
		for f in rtmpkit_build_info rtmpkit_connections rtmpkit_sent_bytes_total \
			rtmpkit_players rtmpkit_metrics_dropped_samples; do
			grep -q "$f" "$m" || fail "$p(1) does not name $f"
		done
	done
}
