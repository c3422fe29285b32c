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

# ts_complete IN OUT: IN, an MPEG-TS file a recorder stopped anywhere,
# without the last PES packet of each stream, which may be cut.  A PES packet
# ends where the next one of its stream starts, so every one kept is whole,
# whatever VLC version wrote the file and wherever --run-time fell.
ts_complete() {
	python3 - "$1" "$2" <<-'EOF'
		import sys
		data = open(sys.argv[1], "rb").read()
		packets = [data[i:i + 188] for i in range(0, len(data) - 187, 188)
		           if data[i] == 0x47]
		def pid(p): return ((p[1] & 0x1f) << 8) | p[2]
		def payload(p):
		    control = (p[3] >> 4) & 3
		    return p[5 + p[4]:] if control in (2, 3) else p[4:]
		# The last start of a PES packet (00 00 01) per PID; tables (PAT,
		# PMT) repeat whole and are kept.
		last_start = {}
		for i, p in enumerate(packets):
		    if p[1] & 0x40 and payload(p)[:3] == b"\0\0\1":
		        last_start[pid(p)] = i
		out = [p for i, p in enumerate(packets)
		       if i < last_start.get(pid(p), len(packets))]
		open(sys.argv[2], "wb").write(b"".join(out))
		print("# %s: %d of %d TS packets kept" % (sys.argv[1], len(out), len(packets)))
	EOF
}

@test "interop: plays what rtmp-pushflv publishes through nginx-rtmp" {
	local port url out
	port=$(free_port)
	start_nginx "$port"
	url=rtmp://127.0.0.1:$port/live/v
	spawn push "$PUSH" -l "$url" "$CLIP"
	wait_publishing "$port" v
	# VLC refuses to run as root: root runs it as nobody into a folder of
	# its own; anyone else runs it as themselves.
	local -a as=()
	[ "$(id -u)" -ne 0 ] || as=(runuser -u nobody --)
	out=$(mktemp -d)
	VLC_DIR=$out
	chmod 777 "$out"
	run timeout -k 5 20 "${as[@]}" cvlc -q "$url" \
		--sout "#std{access=file,mux=ts,dst=$out/vlc.ts}" --run-time=5 vlc://quit
	echo "vlc: $status $output"
	alive "$SPAWNED"
	[ -s "$out/vlc.ts" ]
	# MPEG-TS lists its streams in its own order.
	[ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$out/vlc.ts" |
		grep . | sort -u | paste -sd ' ')" = "aac h264" ]
	# VLC stops at --run-time wherever it is, so its last packet of each
	# stream may be cut: everything before those must decode cleanly.
	local seconds
	ts_complete "$out/vlc.ts" "$T/whole.ts"
	seconds=$(probe_duration "$T/whole.ts")
	within "$seconds" 3 6
	check_decodes "$T/whole.ts"
}

@test "interop: rtmp-dump of a recorded stream keeps every audio and video payload byte for byte" {
	local port vod
	vod=$T/vod
	mkdir -p "$vod"
	cp "$DATA/media/h264-aac.flv" "$vod/clip.flv"
	chmod -R a+rX "$vod"
	port=$(free_port)
	start_nginx "$port" "application vod { play $vod; }"
	# Each line of the log is stamped as it comes, then the exit status.
	timeout 30 "$DUMP" -vv -o "$T/copy.flv" "rtmp://127.0.0.1:$port/vod/clip.flv" 2>&1 |
		while IFS= read -r line; do echo "$(date +%s%N) $line"; done >"$T/log"
	status=${PIPESTATUS[0]}
	echo "$(date +%s%N) exit" >>"$T/log"
	cat "$T/log"
	[ "$status" -eq 0 ]
	# The server marks the stream recorded: its Play.Stop is the end at once,
	# without the grace a live stream gets (2 s).  Measured from the status
	# to the exit, so a slow transfer (ASan, a loaded machine) cannot miss it.
	local stop_at end_at
	stop_at=$(awk '/status NetStream.Play.Stop/ { print $1; exit }' "$T/log")
	end_at=$(awk '$2 == "exit" { print $1 }' "$T/log")
	[ -n "$stop_at" ] || fail "no Play.Stop in the log"
	echo "Play.Stop to exit: $(( (end_at - stop_at) / 1000000 )) ms"
	[ $(( (end_at - stop_at) / 1000000 )) -lt 1000 ]
	flv_payloads "$vod/clip.flv" >"$T/want"
	flv_payloads "$T/copy.flv" >"$T/got"
	echo "source tags $(wc -l <"$T/want"), copy tags $(wc -l <"$T/got")"
	[ "$(wc -l <"$T/want")" -gt 400 ]
	diff "$T/want" "$T/got"
}
