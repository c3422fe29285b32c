#!/usr/bin/env bats
# VLC, the player operators reach for first, against what our programs
# publish, and rtmp-dump recording a payload-exact copy of a recorded file.

load helpers

setup() {
	require_programs
	require ffmpeg ffprobe nginx python3 ss cvlc runuser
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
	[ -z "${VLC_DIR:-}" ] || rm -rf "$VLC_DIR"
}

@test "interop: plays what rtmp-pushflv publishes through nginx-rtmp" {
	local port url out
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/v
	spawn push "$PUSH" -l "$url" "$CLIP"
	wait_publishing "$port" v
	# VLC refuses to run as root: it runs as nobody into a folder of its own.
	out=$(mktemp -d)
	VLC_DIR=$out
	chmod 777 "$out"
	run timeout -k 5 20 runuser -u nobody -- cvlc -q "$url" \
		--sout "#std{access=file,mux=ts,dst=$out/vlc.ts}" --run-time=5 vlc://quit
	echo "vlc: $status $output"
	alive "$SPAWNED"
	[ -s "$out/vlc.ts" ]
	# MPEG-TS lists its streams in its own order.
	[ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$out/vlc.ts" |
		grep . | sort -u | paste -sd ' ')" = "aac h264" ]
	# VLC stops at --run-time wherever it is: its last packets may be cut,
	# so the last second is not decoded.
	local seconds
	seconds=$(probe_duration "$out/vlc.ts")
	within "$seconds" 3 6
	check_decodes "$out/vlc.ts" "$(awk -v s="$seconds" 'BEGIN { print s - 1 }')"
}

@test "interop: rtmp-dump of a recorded stream keeps every audio and video payload byte for byte" {
	local port vod
	vod=$T/vod
	mkdir -p "$vod"
	cp "$DATA/media/h264-aac.flv" "$vod/clip.flv"
	chmod -R a+rX "$vod"
	port=$(free_port)
	start_nginx "$port" "application vod { play $vod; }"
	local t0 took
	t0=$(date +%s%N)
	run timeout 30 "$DUMP" -o "$T/copy.flv" "rtmp://127.0.0.1:$port/vod/clip.flv"
	took=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "dump: $status after $took ms: $output"
	[ "$status" -eq 0 ]
	# The server marks the stream recorded: its Play.Stop is the end at once,
	# without the grace a live stream gets (2 s).
	[ "$took" -lt 1800 ]
	flv_payloads "$vod/clip.flv" >"$T/want"
	flv_payloads "$T/copy.flv" >"$T/got"
	echo "source tags $(wc -l <"$T/want"), copy tags $(wc -l <"$T/got")"
	[ "$(wc -l <"$T/want")" -gt 400 ]
	diff "$T/want" "$T/got"
}
