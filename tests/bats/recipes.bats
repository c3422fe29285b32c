#!/usr/bin/env bats
# The recipes of rtmpkit(7), taken from the page and run on loopback.
# tests/recipes/recipe extracts a recipe and makes its addresses local
# (free ports, the operator's directories under the test's); what runs is
# otherwise the page's text, so a recipe that stops working fails here.

load helpers

PAGE=$BATS_TEST_DIRNAME/../../man/rtmpkit.7
RECIPE=$BATS_TEST_DIRNAME/../recipes/recipe

setup() {
	require_programs
	require ffmpeg
	T=$BATS_TEST_TMPDIR
}

# recipe_ports NAME [KEY=PORT ...]: make the recipe local under $T/NAME
# and set its ports in the shell's variables (PORT_local_1935=...), for
# the peers a test starts before it.
recipe_ports() {
	local name=$1 dir=$T/$1
	shift
	mkdir -p "$dir"
	"$RECIPE" local "$PAGE" "$name" "$dir" "$@" || fail "recipe $name" || return 1
	# shellcheck disable=SC1090
	. "$dir/$name.env"
}

# recipe_start NAME [KEY=PORT ...]: the recipe, made local under $T/NAME
# (on the ports recipe_ports gave it, if it ran), running in the background
# with our programs first on PATH.  Sets RECIPE_PID.
recipe_start() {
	local name=$1 dir=$T/$1
	shift
	mkdir -p "$dir"
	[ -f "$dir/$name.env" ] && set -- $(cat "$dir/$name.env") "$@"
	"$RECIPE" local "$PAGE" "$name" "$dir" "$@" || fail "recipe $name" || return 1
	echo "# recipe $name, made local:" >&3
	sed 's/^/#   /' "$dir/$name.sh" >&3
	# shellcheck disable=SC1090
	. "$dir/$name.env"
	spawn "recipe-$name" env PATH="$RTMPKIT_BIN:$PATH" bash "$dir/$name.sh"
	RECIPE_PID=$SPAWNED
}

# wait_socket PATH [SECONDS]: until PATH is a socket.
wait_socket() {
	local i n=$(((${2:-10}) * 10))
	for ((i = 0; i < n; i++)); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	fail "no socket $1 after ${2:-10} s"
}

# play_check URL OUT: three seconds of URL into OUT, H.264 + AAC, whole.
play_check() {
	record_ffmpeg "$1" "$2" 3
	wait_status "$RECORDER_PID" 20 || fail "ffmpeg still playing $1"
	[ "$STATUS" -eq 0 ] || fail "ffmpeg playing $1 exited $STATUS"
	valid_av "$2"
}

@test "recipes: every recipe in rtmpkit(7) is run by a test" {
	local name n=0
	for name in $("$RECIPE" names "$PAGE"); do
		n=$((n + 1))
		grep -qE "recipe[a-z_]* $name( |\)|$)" "$BATS_TEST_DIRNAME"/*.bats ||
			fail "recipe $name: no test runs it" || return 1
	done
	echo "$n recipes"
	[ "$n" -ge 9 ]
}

@test "recipe single-server: ffmpeg publishes on 1935, a player plays on 1936" {
	recipe_start single-server
	wait_port "$PORT_local_1935"
	wait_port "$PORT_local_1936"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT_local_1935/live/show"
	play_check "rtmp://127.0.0.1:$PORT_local_1936/live/show" "$T/play.flv"
}

@test "recipe ingest-record: players play while a dated file records the stream" {
	local files
	recipe_start ingest-record
	wait_port "$PORT_local_1935"
	wait_port "$PORT_local_1936"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT_local_1935/live/show"
	play_check "rtmp://127.0.0.1:$PORT_local_1936/live/show" "$T/play.flv"
	stop "$PUBLISHER_PID"
	stop "$RECIPE_PID"
	files=$(ls "$T"/ingest-record/state/live-*.flv)
	[ "$(echo "$files" | wc -l)" -eq 1 ] || fail "want one recording: $files"
	[[ "${files##*/}" =~ ^live-[0-9]{8}-[0-9]{6}\.flv$ ]] || fail "not dated: $files"
	valid_av "$files"
	within "$(probe_duration "$files")" 2.5 1000
}

@test "recipe multi-stream: two streams, each its own relay behind the balancer" {
	local s
	recipe_start multi-stream
	wait_port "$PORT_local_1935"
	wait_port "$PORT_local_1936"
	for s in one two; do
		publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT_local_1935/live/$s"
	done
	for s in one two; do
		wait_socket "$T/multi-stream/run/$s.sock" 15
	done
	for s in one two; do
		play_check "rtmp://127.0.0.1:$PORT_local_1936/live/$s" "$T/$s.flv"
	done
	# Each is its own stream: a name nobody publishes is not found.
	run timeout 20 "$DUMP" -q -r 0 -t 5 -o "$T/none.flv" \
		"rtmp://127.0.0.1:$PORT_local_1936/live/three"
	echo "$output"
	[ "$status" -eq 3 ]
}

@test "recipe restream: the stream reaches two nginx-rtmp platforms under their keys" {
	recipe_ports restream
	start_nginx "$PORT_a_example_com" "" live
	start_nginx "$PORT_b_example_com" "" app
	recipe_start restream
	wait_port "$PORT_local_1935"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT_local_1935/live/show"
	wait_publishing "$PORT_a_example_com" KEY-A 20
	wait_publishing "$PORT_b_example_com" KEY-B 20
	play_check "rtmp://127.0.0.1:$PORT_a_example_com/live/KEY-A" "$T/a.flv"
	play_check "rtmp://127.0.0.1:$PORT_b_example_com/app/KEY-B" "$T/b.flv"
}

@test "recipe edge: an edge pulls from the single-server origin and serves its own players" {
	local origin
	recipe_start single-server
	origin=$PORT_local_1936
	wait_port "$PORT_local_1935"
	wait_port "$origin"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT_local_1935/live/show"
	recipe_start edge "PORT_origin_example_com_1936=$origin"
	[ "$PORT_local_1936" != "$origin" ]
	wait_port "$PORT_local_1936" 15
	play_check "rtmp://127.0.0.1:$PORT_local_1936/live/show" "$T/edge.flv"
}

@test "recipe balanced-edges: players spread over two edges, each checked by an RTMP connect" {
	local e p pids=() i
	recipe_ports balanced-edges
	for e in 1 2; do
		p=$(eval echo "\$PORT_edge${e}_example_com_1937")
		spawn_sh "edge$e" "ffmpeg -nostdin -v error -re -stream_loop -1 -i '$CLIP' \
			-c copy -f flv - | '$RTMPKIT_BIN/rtmp-relay' -l 127.0.0.1:$p"
		wait_port "$p"
	done
	recipe_start balanced-edges
	wait_port "$PORT_local_1935"
	wait_log "$T/recipe-balanced-edges.log" "2 backends" 10
	for i in 1 2 3 4; do
		record_ffmpeg "rtmp://127.0.0.1:$PORT_local_1935/live/show" "$T/p$i.flv" 3
		pids+=("$RECORDER_PID")
	done
	for i in 1 2 3 4; do
		wait_status "${pids[$((i - 1))]}" 30 || fail "player $i still playing"
		valid_av "$T/p$i.flv"
	done
	for e in 1 2; do
		grep -qE "stream live/show: play$" "$T/edge$e.log" || fail "edge $e served no player"
	done
}

@test "recipe rtmps-front: RTMPS in front of nginx-rtmp: ffmpeg publishes, rtmp-dump plays" {
	make_tls "$T/tls"
	mkdir -p "$T/rtmps-front/etc"
	cp "$T/tls/server.crt" "$T/rtmps-front/etc/cert.pem"
	cp "$T/tls/server.key" "$T/rtmps-front/etc/key.pem"
	recipe_ports rtmps-front
	start_nginx "$PORT_local_1935"
	recipe_start rtmps-front
	wait_port "$PORT_local_443"
	publish_loop_ffmpeg "rtmps://127.0.0.1:$PORT_local_443/live/show"
	wait_publishing "$PORT_local_1935" show 20
	run timeout 30 "$DUMP" -q -C "$T/tls/ca.pem" -d 3 -o "$T/dump.flv" \
		"rtmps://localhost:$PORT_local_443/live/show"
	echo "$output"
	[ "$status" -eq 0 ]
	valid_av "$T/dump.flv"
}

@test "recipe metrics: both servers answer /metrics; recipe metrics-scrape is a config promtool accepts" {
	local m
	require promtool
	recipe_start metrics
	wait_port "$PORT_local_1935"
	wait_port "$PORT_local_1936"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$PORT_local_1935/live/show"
	record_ffmpeg "rtmp://127.0.0.1:$PORT_local_1936/live/show" "$T/play.flv" 6
	for m in 9102 9103; do
		wait_port "$(eval echo "\$PORT_local_$m")"
	done
	# The player counted by the relay, the publisher by the listener.
	for ((m = 0; m < 100; m++)); do
		curl -fsS "http://127.0.0.1:$PORT_local_9103/metrics" >"$T/relay.prom" &&
			grep -qx 'rtmpkit_players{stream="live/show"} 1' "$T/relay.prom" && break
		sleep 0.1
	done
	grep -qx 'rtmpkit_players{stream="live/show"} 1' "$T/relay.prom" ||
		fail "relay: $(cat "$T/relay.prom")"
	curl -fsS "http://127.0.0.1:$PORT_local_9102/metrics" >"$T/listen.prom"
	grep -qx 'rtmpkit_publishers{stream="live/show"} 1' "$T/listen.prom" ||
		fail "listen: $(cat "$T/listen.prom")"
	promtool check metrics <"$T/relay.prom"
	# The scrape config, on the ports the servers above got.
	recipe_ports metrics-scrape $(cat "$T/metrics/metrics.env")
	cp "$T/metrics-scrape/metrics-scrape.sh" "$T/prometheus.yml"
	grep -q "127.0.0.1:$PORT_local_9103" "$T/prometheus.yml"
	run promtool check config "$T/prometheus.yml"
	echo "$output"
	[ "$status" -eq 0 ]
}
