#!/usr/bin/env bats
# Enhanced RTMP end to end: the HEVC, AV1 and VP9 (+ Opus) samples of
# tests/data/media, played by rtmp-dump and published by rtmp-pushflv, reach
# the other side with every audio and video payload unchanged.  Debian's
# nginx-rtmp serves such files as VOD untouched, but its live application
# drops their video (it knows the classic codec ids only), and Debian's
# ffmpeg 5.1 predates E-RTMP; so the publishing side is checked against
# tests/hostile/server.py's one well-behaved mode, which records what a
# publisher sends.

load helpers

SAMPLES="hevc-aac-ertmp av1-opus-ertmp vp9-opus-ertmp"
SERVER=$BATS_TEST_DIRNAME/../hostile/server.py

setup() {
	require_programs
	require nginx python3
	local s
	for s in $SAMPLES; do
		require_data "$DATA/media/$s.flv"
	done
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

# recorded_payloads FILE: the same lines from server.py's record file.
recorded_payloads() {
	python3 - "$1" <<-'EOF'
		import hashlib, sys
		b = open(sys.argv[1], "rb").read()
		off = 0
		while off + 5 <= len(b):
		    p = b[off + 5:off + 5 + int.from_bytes(b[off + 1:off + 5], "big")]
		    print(b[off], hashlib.sha1(p).hexdigest(), p[:1].hex())
		    off += 5 + len(p)
	EOF
}

@test "ertmp: rtmp-dump plays HEVC, AV1 and VP9 samples from nginx-rtmp with every payload unchanged" {
	local port vod s n
	vod=$T/vod
	mkdir -p "$vod"
	for s in $SAMPLES; do
		cp "$DATA/media/$s.flv" "$vod/"
	done
	chmod -R a+rX "$vod"
	port=$(free_port)
	start_nginx "$port" "application vod { play $vod; }"
	for s in $SAMPLES; do
		run timeout 30 "$DUMP" -q -o "$T/$s.flv" "rtmp://127.0.0.1:$port/vod/$s.flv"
		echo "$s: dump exit $status: $output"
		[ "$status" -eq 0 ]
		flv_payloads "$DATA/media/$s.flv" >"$T/$s.want"
		flv_payloads "$T/$s.flv" >"$T/$s.got"
		n=$(grep -c '^9 ' "$T/$s.want")
		echo "$s: $(wc -l <"$T/$s.want") tags in the source ($n video), $(wc -l <"$T/$s.got") received"
		[ "$n" -gt 100 ]
		diff "$T/$s.want" "$T/$s.got"
		# The first video tag is the sequence start of a keyframe:
		# IsExHeader, FrameType 1, PacketType 0.
		[ "$(awk '$1 == 9 { print $3; exit }' "$T/$s.got")" = 90 ]
		flv_check "$T/$s.flv"
	done
}

@test "ertmp: rtmp-pushflv publishes HEVC, AV1 and VP9 samples with every payload unchanged" {
	local s pf i
	for s in $SAMPLES; do
		pf=$T/port-$s
		spawn "server-$s" python3 "$SERVER" --port-file "$pf" --publish \
			--record "$T/$s.rec" record
		for ((i = 0; i < 100; i++)); do
			[ -s "$pf" ] && break
			sleep 0.05
		done
		[ -s "$pf" ] || fail "server.py did not start"
		run timeout 30 "$PUSH" -n -q -r 0 "rtmp://127.0.0.1:$(cat "$pf")/live/$s" \
			"$DATA/media/$s.flv"
		echo "$s: pushflv exit $status: $output"
		[ "$status" -eq 0 ]
		wait_exit "$SPAWNED" 10
		flv_payloads "$DATA/media/$s.flv" >"$T/$s.want"
		recorded_payloads "$T/$s.rec" >"$T/$s.got"
		echo "$s: $(wc -l <"$T/$s.want") tags in the source, $(wc -l <"$T/$s.got") recorded"
		[ "$(grep -c '^9 ' "$T/$s.want")" -gt 100 ]
		diff "$T/$s.want" "$T/$s.got"
	done
}
