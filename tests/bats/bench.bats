#!/usr/bin/env bats
# make bench-servers on a small scale, so the benchmark cannot rot between
# the runs that measure: rtmp-load publishes and plays through
# rtmp-listen | rtmp-relay and nginx-rtmp, and the report carries every
# figure and ratio.  No figure is judged here (the machine is shared);
# only that each was measured and the stream arrived whole.
# Node-Media-Server needs npm's registry, so it stays out of this test.

load helpers

setup() {
	require_programs
	require nginx
	require taskset
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

@test "bench: bench-servers measures rtmp-listen | rtmp-relay beside nginx-rtmp and prints the ratios" {
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
