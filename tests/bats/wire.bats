#!/usr/bin/env bats
# Wireshark's RTMP dissector as an independent judge of the bytes our
# programs put on the wire: nothing malformed, no expert errors.  The bytes
# are recorded by tests/wire/record.py, a proxy that writes what it
# forwards as a pcap: a live capture needs privileges a normal user running
# the suite does not have.

load helpers

setup() {
	require_programs
	require ffmpeg nginx tshark python3
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

# wire_check PCAP PORT: Wireshark finds nothing malformed in PCAP, whose
# RTMP server is on PORT, and prints what its dissector understood.
wire_check() {
	run sh -c 'timeout 60 tshark -r "$1" -d "tcp.port==$2,rtmpt" \
		-Y "_ws.malformed || _ws.expert.severity >= error" 2>/dev/null' \
		sh "$1" "$2"
	echo "malformed: $status $output"
	[ "$status" -eq 0 ] || return 1
	[ -z "$output" ] || return 1
	run sh -c 'timeout 60 tshark -r "$1" -d "tcp.port==$2,rtmpt" \
		-Y rtmpt -T fields -e _ws.col.Info 2>/dev/null' \
		sh "$1" "$2"
	[ "$status" -eq 0 ]
}

# start_recorder PORT TARGET PCAP: the recording proxy; sets RECORDER.
start_recorder() {
	spawn recorder python3 "$BATS_TEST_DIRNAME/../wire/record.py" "$1" "$2" "$3"
	RECORDER=$SPAWNED
	wait_log "$T/recorder.log" '^listening' 10
}

@test "wire: Wireshark decodes rtmp-pushflv and rtmp-dump sessions cleanly" {
	local port proxy
	port=$(free_port)
	proxy=$(free_port)
	start_nginx "$port"
	start_recorder "$proxy" "$port" "$T/s.pcap"
	run timeout 20 "$PUSH" -n "rtmp://127.0.0.1:$proxy/live/pushed" "$CLIP"
	echo "pushflv: $status $output"
	[ "$status" -eq 0 ]
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/x"
	wait_publishing "$port" x
	run timeout 20 "$DUMP" -d 2 -o "$T/out.flv" "rtmp://127.0.0.1:$proxy/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 0 ]
	stop "$RECORDER"
	wire_check "$T/s.pcap" "$proxy"
	[[ "$output" == *"publish("* ]]
	[[ "$output" == *"play("* ]]
	[[ "$output" == *"Video Data"* ]]
}

@test "wire: the recorder itself is judged: a session nginx-rtmp and ffmpeg speak decodes cleanly" {
	local port proxy
	port=$(free_port)
	proxy=$(free_port)
	start_nginx "$port"
	start_recorder "$proxy" "$port" "$T/s.pcap"
	run timeout 30 ffmpeg -nostdin -v error -t 2 -re -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$proxy/live/peer"
	[ "$status" -eq 0 ]
	stop "$RECORDER"
	wire_check "$T/s.pcap" "$proxy"
	[[ "$output" == *"publish("* ]]
	[[ "$output" == *"Audio Data"* ]]
}

@test "wire: both sides of rtmp-listen | rtmp-relay decode cleanly: ffmpeg publishing, ffmpeg playing" {
	local in out pin pout
	in=$(free_port)
	out=$(free_port)
	pin=$(free_port)
	pout=$(free_port)
	spawn_sh servers "exec '$RTMPKIT_BIN/rtmp-listen' 127.0.0.1:$in | exec '$RTMPKIT_BIN/rtmp-relay' -l 127.0.0.1:$out"
	wait_port "$in"
	wait_port "$out"
	start_recorder "$pin" "$in" "$T/in.pcap"
	spawn recorder2 python3 "$BATS_TEST_DIRNAME/../wire/record.py" "$pout" "$out" "$T/out.pcap"
	local recorder2=$SPAWNED
	wait_log "$T/recorder2.log" '^listening' 10
	spawn publisher ffmpeg -nostdin -v error -re -stream_loop 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$pin/live/w"
	wait_log "$T/servers.log" 'publish start' 20
	run timeout 30 ffmpeg -nostdin -v error -t 3 -i "rtmp://127.0.0.1:$pout/live/w" \
		-c copy -f flv "$T/play.flv"
	echo "player: $status $output"
	[ "$status" -eq 0 ]
	stop "$RECORDER"
	stop "$recorder2"
	wire_check "$T/in.pcap" "$pin"
	[[ "$output" == *"publish("* ]]
	[[ "$output" == *"Video Data"* ]]
	wire_check "$T/out.pcap" "$pout"
	[[ "$output" == *"play("* ]]
	[[ "$output" == *"Video Data"* ]]
	[[ "$output" == *"Audio Data"* ]]
	[ "$(probe_codecs "$T/play.flv")" = "h264 aac" ]
}
