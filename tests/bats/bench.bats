#!/usr/bin/env bats
# make bench-servers on a small scale, so the benchmark cannot rot between
# the runs that measure: rtmp-load publishes and plays through
# rtmp-listen | rtmp-relay and nginx-rtmp, and the report carries every
# figure and ratio.  No figure is judged here (the machine is shared);
# only that each was measured and the stream arrived whole.
# Node-Media-Server needs npm's registry, so it stays out of this test.
# make bench-balance likewise: rtmp-balance and HAProxy in front of the same
# rtmp-relay backends, 10 players, every row and verdict printed.

load helpers

setup() {
	require_programs
	require taskset
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

@test "bench: bench-servers measures rtmp-listen | rtmp-relay beside nginx-rtmp and prints the ratios" {
	require nginx
	local bench=$BATS_TEST_DIRNAME/../bench/servers row
	run timeout 120 env RTMPKIT_BIN="$RTMPKIT_BIN" BENCH_SERVERS="relay nginx" \
	    BENCH_PLAYERS=20 BENCH_WINDOW=3 BENCH_CACHE="$T/cache" BENCH_CLIP="$CLIP" \
	    bash "$bench"
	echo "$output"
	[ "$status" -eq 0 ]
	for row in "rtmp-listen | rtmp-relay" "nginx-rtmp"; do
		# N, CPU %, CPU s/Gbit, RSS, KB/player, kbit/s, 20/20 within 5 %,
		# no stall, first keyframe and latency measured.
		grep -E "^20 +$row.* [0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+/[0-9]+ +20/20 +0 +[0-9]+/[0-9]+ +[0-9]+/[0-9]+$" \
		    <<<"$output" || fail "no full row for $row"
	done
	grep -E '^20 +ratio relay / nginx +CPU [0-9.]+x  CPU/Gbit [0-9.]+x  RSS [0-9.]+x' <<<"$output"
	# Every frame a player got was one the publisher sent.
	grep -F 'frames without a match: relay 0, nginx 0' <<<"$output"
	grep -E '^targets: [0-9]+ met, [0-9]+ missed$' <<<"$output"
	# The relay started each player on a keyframe from its GOP cache.
	grep -E '^  first keyframe median <= 20 ms +[0-9]+ vs 20 +PASS$' <<<"$output"
}

@test "bench: bench-balance measures rtmp-balance beside haproxy in TCP mode and prints the ratios" {
	require haproxy
	local bench=$BATS_TEST_DIRNAME/../bench/balance row num='[0-9]+(\.[0-9]+)?'
	run timeout 110 env RTMPKIT_BIN="$RTMPKIT_BIN" BENCH_BALANCE_PLAYERS=10 \
	    BENCH_WINDOW=2 BENCH_BALANCE_RAMP=500 BENCH_CACHE="$T/cache" BENCH_CLIP="$CLIP" \
	    sh "$bench"
	echo "$output"
	[ "$status" -eq 0 ]
	# N, CPU %, CPU s/Gbit, peak RSS, KB per connection, within 5 %,
	# stalls, first media byte median/p95, and (but direct) its rise.
	for row in 'direct \(the backends\)' 'rtmp-balance roundrobin' \
	    "haproxy $num(\.[0-9]+)* mode tcp"; do
		grep -E "^10 +$row +$num +$num +$num +$num +[0-9]+/10 +[0-9]+ +$num/$num +([-+]$num|-)$" \
		    <<<"$output" || fail "no full row for $row"
	done
	# Stream mode measured, or said to be missing from this build.
	grep -E "^10 +(rtmp-balance stream +$num +$num .* [-+]$num|stream: not available in this build)$" \
	    <<<"$output"
	# A ratio is "-" only where HAProxy's own figure rounded to 0.
	grep -E "^10 +ratio roundrobin / haproxy +CPU/Gbit ($num|-)x  KB/conn ($num|-)x  1st byte added [-+]$num vs [-+]$num ms$" \
	    <<<"$output"
	grep -E 'frames without a match: direct 0 roundrobin 0 haproxy 0( stream 0)?$' <<<"$output"
	for row in "roundrobin: CPU s/Gbit <= 0.8 x haproxy" \
	    "roundrobin: first byte median <= direct \+ 2 ms" \
	    "roundrobin: KB per proxied connection <= haproxy"; do
		grep -E "^  N = 10, $row +$num vs $num +(PASS|MISS)$" <<<"$output" ||
		    fail "no verdict for $row"
	done
	grep -E '^targets: [0-9]+ met, [0-9]+ missed, [0-9]+ not measured$' <<<"$output"
}
