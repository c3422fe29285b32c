#!/usr/bin/env bats
# Wireshark's RTMP dissector as an independent judge of the bytes our
# programs put on the wire (PEERS.md): nothing malformed, no expert errors.

load helpers

setup() {
	require_programs
	require ffmpeg nginx tshark python3 ss
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

@test "wire: Wireshark decodes rtmp-pushflv and rtmp-dump sessions cleanly" {
	local port tshark
	port=$(free_port)
	start_nginx "$port"
	spawn tshark tshark -q -i lo -f "tcp port $port" -w "$T/s.pcapng"
	tshark=$SPAWNED
	wait_log "$T/tshark.log" "Capturing on" 15
	run timeout 20 "$PUSH" -n "rtmp://127.0.0.1:$port/live/pushed" "$CLIP"
	echo "pushflv: $status $output"
	[ "$status" -eq 0 ]
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/x"
	wait_publishing "$port" x
	run timeout 20 "$DUMP" -d 2 -o "$T/out.flv" "rtmp://127.0.0.1:$port/live/x"
	echo "dump: $status $output"
	[ "$status" -eq 0 ]
	sleep 0.5
	stop "$tshark"
	# stderr only says that tshark runs as root
	run sh -c 'timeout 60 tshark -r "$1" -d "tcp.port==$2,rtmpt" \
		-Y "_ws.malformed || _ws.expert.severity >= error" 2>/dev/null' \
		sh "$T/s.pcapng" "$port"
	echo "malformed: $status $output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# the dissector did understand the sessions
	run sh -c 'timeout 60 tshark -r "$1" -d "tcp.port==$2,rtmpt" \
		-Y rtmpt -T fields -e _ws.col.Info 2>/dev/null' \
		sh "$T/s.pcapng" "$port"
	[ "$status" -eq 0 ]
	[[ "$output" == *"publish("* ]]
	[[ "$output" == *"play("* ]]
	[[ "$output" == *"Video Data"* ]]
}
