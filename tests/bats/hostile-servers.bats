#!/usr/bin/env bats
# Hostile clients against the two servers.  tests/hostile/client.py
# misbehaves in one way per connection, each a row of
# tests/hostile/HOSTILE.md, against rtmp-listen (as a publisher) and
# rtmp-relay (as a player).  For every row the hostile connection is
# either ended with a logged reason or, where the safe behaviour is to
# accept (both forms of the extended timestamp, a partial that survives a
# new chunk size, Abort), the session goes on: a command sent afterwards is
# answered.  The process survives every row, a real publisher or player
# still works afterwards, and memory does not follow what clients declare
# or pile up over hundreds of hostile connections.  The suite also runs
# the SANITIZE=1 build: a sanitizer report fails the test (helpers.bash).

load helpers

LISTEN=$RTMPKIT_BIN/rtmp-listen
RELAY=$RTMPKIT_BIN/rtmp-relay
CLIENT=$BATS_TEST_DIRNAME/../hostile/client.py
# How the server logs a session the client ended itself.
BYE='connection closed by peer|connection closed in the middle of a message'
PYTHON=python3

setup() {
	require_programs
	[ -x "$LISTEN" ] || fail "$LISTEN is not built (make)"
	[ -x "$RELAY" ] || fail "$RELAY is not built (make)"
	require ffmpeg ffprobe python3 ss
	T=$BATS_TEST_TMPDIR
	PORT=$(free_port)
}

teardown() {
	stop_all
}

# sanitized PROGRAM: 0 if PROGRAM is an ASan build.
sanitized() {
	grep -aq __asan_init "$1"
}

# start_listen OPTION...: rtmp-listen -v OPTIONs on 127.0.0.1:$PORT, each
# stream's FLV into $T/streams/NAME.flv (-e; names reach the command only
# through its environment), the log in $T/listen.log.  ASan's quarantine
# is off, so freed memory is reused as without it and RSS means the same.
# Sets SERVER_PID (rtmp-listen itself) and LOG.
start_listen() {
	mkdir -p "$T/streams"
	export STREAMS=$T/streams
	spawn listen env ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0" \
		"$LISTEN" -v -e 'exec cat >"$STREAMS/$RTMP_STREAM.flv"' "$@" \
		"127.0.0.1:$PORT"
	SERVER_PID=$SPAWNED
	LOG=$T/listen.log
	wait_port "$PORT"
}

# start_relay OPTION...: ffmpeg sends the clip in real time, looping, into
# rtmp-relay -v OPTIONs -l 127.0.0.1:$PORT on its stdin; the log is
# $T/relay.log.  RATE (default: real time, -re) is ffmpeg's -readrate.
# Sets SERVER_PID (rtmp-relay itself, not the pipeline's shell) and LOG.
start_relay() {
	local sh i rate=(-re)
	[ -n "${RATE:-}" ] && rate=(-readrate "$RATE")
	spawn relay sh -c 'clip=$1 relay=$2 port=$3; shift 3
		ffmpeg -nostdin -v error '"${rate[*]}"' -stream_loop -1 -i "$clip" -c copy -f flv - |
		ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0 \
		exec "$relay" -v -l "127.0.0.1:$port" "$@"' sh "$CLIP" "$RELAY" "$PORT" "$@"
	sh=$SPAWNED
	LOG=$T/relay.log
	wait_port "$PORT"
	SERVER_PID=
	for ((i = 0; i < 50; i++)); do
		for p in $(descendants "$sh"); do
			if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = rtmp-relay ]; then
				SERVER_PID=$p
			fi
		done
		[ -n "$SERVER_PID" ] && break
		sleep 0.1
	done
	[ -n "$SERVER_PID" ] || fail "no rtmp-relay process under the pipeline"
}

# rows ROLE LINE...: each LINE is "MODE VERDICT [REASON]"; client.py runs
# every MODE in turn against 127.0.0.1:$PORT as a publisher (ROLE publish)
# or a player (play), with CLIENT_OPTS.  Each MODE must end in VERDICT
# (closed, alive, refused), and the server's log must say for that
# connection "closed: " and REASON (an extended regex) when one is given.
rows() {
	local role=$1 line m v r got gv addr
	local -a modes=() opts=()
	shift
	[ "$role" = play ] && opts=(--play)
	for line in "$@"; do
		modes+=("${line%% *}")
	done
	run timeout 120 "$PYTHON" "$CLIENT" --port "$PORT" "${opts[@]}" \
		${CLIENT_OPTS:-} "${modes[@]}"
	echo "$output"
	[ "$status" -eq 0 ] || fail "client.py exited $status" || return 1
	for line in "$@"; do
		read -r m v r <<<"$line"
		got=$(awk -v m="$m" '$1 == m' <<<"$output")
		read -r _ gv addr _ <<<"$got"
		[ "$gv" = "$v" ] || fail "$m: '$gv', want '$v' ($got)" || return 1
		if [ -n "$r" ]; then
			wait_log "$LOG" "peer ${addr//./\\.}( stream [^:]*)?: closed: ($r)\$" 5 ||
				return 1
		fi
	done
	alive "$SERVER_PID" || fail "the server died" || return 1
}

# took MODE: the seconds client.py's MODE took (after rows).
took() {
	awk -v m="$1" '$1 == m { print $4 }' <<<"$output"
}

# real_publisher NAME: ffmpeg publishes one second of the clip as live/NAME
# and rtmp-listen writes it, a valid FLV with both tracks, whole.
real_publisher() {
	run timeout 30 ffmpeg -nostdin -v error -re -t 1 -i "$CLIP" -c copy -f flv \
		"rtmp://127.0.0.1:$PORT/live/$1"
	echo "publisher: $status $output"
	[ "$status" -eq 0 ] || fail "the real publisher failed" || return 1
	wait_log "$LOG" "stream live/$1: command exited 0" 10 || return 1
	valid_av "$T/streams/$1.flv"
}

# real_player: rtmp-dump plays two seconds from the relay: a valid FLV
# with both tracks.
real_player() {
	run timeout 30 "$DUMP" -q -t 5 -d 2 -o "$T/play.flv" "rtmp://127.0.0.1:$PORT/live/x"
	echo "player: $status $output"
	[ "$status" -eq 0 ] || fail "the real player failed" || return 1
	valid_av "$T/play.flv"
}

# proc_kb PID FIELD: a /proc/PID/status field (VmRSS, VmHWM, VmPeak), KiB.
proc_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# ---- the rows, against both servers ------------------------------------------

# handshake_rows ROLE
handshake_rows() {
	rows "$1" \
		"bad-c0 closed handshake failed" \
		"http closed handshake failed" \
		"digest-offset alive $BYE"
}

chunk_rows() {
	rows "$1" \
		"chunk-size-huge closed limit exceeded" \
		"chunk-size-zero closed protocol violation" \
		"chunk-size-negative closed protocol violation" \
		"chunk-size-one alive $BYE" \
		"chunk-size-mid-partial alive $BYE" \
		"type1-length-change closed protocol violation" \
		"type0-over-partial closed protocol violation" \
		"type1-unseen closed protocol violation" \
		"type2-unseen closed protocol violation" \
		"type3-unseen closed protocol violation" \
		"csid-65599 alive $BYE" \
		"csid-sweep closed limit exceeded" \
		"many-huge alive $BYE" \
		"zero-length alive $BYE" \
		"zero-length-command closed protocol violation" \
		"ext-ts-repeat alive $BYE" \
		"ext-ts-norepeat alive $BYE" \
		"abort-unknown alive $BYE" \
		"abort-partial alive $BYE"
}

control_rows() {
	local hwm0 hwm1 sent
	rows "$1" \
		"window-ack-0 alive $BYE" \
		"window-ack-1 alive $BYE" \
		"short-control alive $BYE" \
		"createstream-flood closed limit exceeded" \
		"publish-twice closed protocol violation" || return 1
	# 200 messages after Window Ack Size 1: an acknowledgement per message
	# would be 200 x 16 bytes; one per window the server chose, a few.
	sent=$(awk '$1 == "window-ack-1" { sub(/server-bytes=/, "", $5); print $5 }' <<<"$output")
	echo "# the server sent $sent bytes after connect"
	[ -n "$sent" ] && [ "$sent" -lt 1000 ] || fail "an ack storm: $sent bytes" || return 1
	# Pings flooded for 2 s while never reading the pongs: the server
	# stops reading or ends the session at its output limit; its memory
	# does not follow the pongs (it once grew by 64 MiB a connection).
	hwm0=$(proc_kb "$SERVER_PID" VmHWM)
	CLIENT_OPTS="--hold 2 --timeout 15" rows "$1" \
		"ping-flood closed limit exceeded|handshake timeout" || return 1
	hwm1=$(proc_kb "$SERVER_PID" VmHWM)
	echo "# peak RSS $hwm0 kB before the ping flood, $hwm1 kB after"
	[ $((hwm1 - hwm0)) -lt 8192 ] || fail "peak RSS grew by $((hwm1 - hwm0)) kB"
}

amf_rows() {
	rows "$1" \
		"amf-nested closed limit exceeded" \
		"amf-nested-array closed limit exceeded" \
		"amf-ecma-count closed protocol violation" \
		"amf-strict-count closed protocol violation" \
		"amf-string-past closed protocol violation" \
		"amf-long-string-past closed protocol violation" \
		"amf-bad-marker closed protocol violation" \
		"amf-truncated-number closed protocol violation" \
		"connect-number closed protocol violation" \
		"connect-app-number refused finished" \
		"connect-missing closed protocol violation" \
		"name-number closed protocol violation" \
		"command-unknown alive $BYE" || return 1
	grep -q 'app "" refused: not a valid name' "$LOG"
}

name_rows() {
	rm -f /tmp/rtmpkit-hostile*
	rows "$1" \
		"name-long alive $BYE" \
		"name-dotdot alive $BYE" \
		"name-shell alive $BYE" \
		"name-control alive $BYE" \
		"app-bad refused finished" || return 1
	# refused before any use, logged quoted and escaped, cut short
	grep -qF 'stream "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"... refused: not a valid name' "$LOG"
	grep -qF 'stream "../../../../tmp/rtmpkit-hostile" refused: not a valid name' "$LOG"
	grep -qF "stream \"x;touch /tmp/rtmpkit-hostile-\$(id -u)\`id\`|\\x22'\\x0a\" refused: not a valid name" "$LOG"
	grep -qF 'stream "a\x00b\x1b[31m\xc3\xbf" refused: not a valid name' "$LOG"
	grep -qE 'app "\.\./a+"\.\.\. refused: not a valid name' "$LOG"
	refute grep -q $'\x1b' "$LOG"
	# nothing was created by any of the names
	[ -z "$(ls /tmp/rtmpkit-hostile* 2>/dev/null)" ] || fail "a name reached a path or a shell"
}

media_rows() {
	rows "$1" \
		"media-before-publish alive $BYE" \
		"video-no-seqhdr alive $BYE" \
		"audio-only alive $BYE" \
		"aggregate-overrun alive $BYE" \
		"flv-tag-size-0 alive $BYE" \
		"modex-overrun alive $BYE" \
		"metadata-hostile alive $BYE"
}

@test "hostile listen: C0 other than 3, an HTTP request, a digest offset past C1; a dribbled C0C1 meets the -t deadline" {
	start_listen -t 2
	CLIENT_OPTS="--timeout 8" handshake_rows publish
	CLIENT_OPTS="--timeout 8" rows publish "dribble closed handshake timeout"
	# an absolute deadline: a byte every 50 ms would keep an idle timer
	within "$(took dribble)" 1.5 5
	real_publisher real
}

@test "hostile relay: C0 other than 3, an HTTP request, a digest offset past C1; a dribbled C0C1 meets the -t deadline" {
	start_relay -t 2
	CLIENT_OPTS="--timeout 8" handshake_rows play
	CLIENT_OPTS="--timeout 8" rows play "dribble closed handshake timeout"
	within "$(took dribble)" 1.5 5
	real_player
}

@test "hostile listen: chunk stream abuse: sizes, header types, ids, lengths, extended timestamps, Abort" {
	start_listen
	chunk_rows publish
	real_publisher real
}

@test "hostile relay: chunk stream abuse: sizes, header types, ids, lengths, extended timestamps, Abort" {
	start_relay
	chunk_rows play
	real_player
}

@test "hostile listen: Window Ack Size 0 and 1 cause no ack storm; short control messages are ignored; floods are bounded" {
	start_listen
	control_rows publish
	real_publisher real
}

@test "hostile relay: Window Ack Size 0 and 1 cause no ack storm; short control messages are ignored; floods are bounded" {
	start_relay
	control_rows play
	real_player
}

@test "hostile listen: AMF0 nested 100000 deep, huge counts, strings past the end, wrong types in connect and publish" {
	start_listen
	amf_rows publish
	real_publisher real
}

@test "hostile relay: AMF0 nested 100000 deep, huge counts, strings past the end, wrong types in connect and play" {
	start_relay
	amf_rows play
	real_player
}

@test "hostile listen: long, ../ and shell-metacharacter names are refused, logged escaped, never used" {
	start_listen
	name_rows publish
	[ -z "$(ls "$T/streams")" ] || fail "a stream command ran: $(ls "$T/streams")"
	real_publisher real
}

@test "hostile relay: long, ../ and shell-metacharacter names are refused, logged escaped, never used" {
	start_relay
	name_rows play
	real_player
}

@test "hostile listen: media before publish, no sequence header, bad aggregates, tag size 0, ModEx past the tag, bad metadata" {
	start_listen
	media_rows publish
	# what the hostile publishers got through is whole tags, nothing torn
	wait_log "$LOG" 'stream live/hostile: command exited 0' 10 5
	flv_check "$T/streams/hostile.flv"
	real_publisher real
}

@test "hostile relay: a player sending media, bad aggregates and ModEx is ignored, not served" {
	start_relay
	media_rows play
	real_player
}

@test "hostile relay input: tags of size 0, ModEx past the tag, short E-RTMP headers, bad metadata on stdin do not stop it" {
	local relay
	spawn relay sh -c '"$1" "$2" "feed:$3" |
		exec "$4" -v -l "127.0.0.1:$5"' sh "$PYTHON" "$CLIENT" "$CLIP" "$RELAY" "$PORT"
	relay=$SPAWNED
	LOG=$T/relay.log
	wait_port "$PORT"
	# Past the hostile tags, which the relay passes on unchanged like any
	# payload (a player that came at once would start on the random key
	# frame among them): the clip's first keyframe starts the GOP.
	sleep 1
	real_player
	# the whole clip went through, and the end of the input ends it well
	wait_status "$relay" 20 || fail "rtmp-relay did not end with its input"
	cat "$LOG"
	[ "$STATUS" -eq 0 ] || fail "rtmp-relay exited $STATUS"
	grep -q 'input stdin: end of input after [0-9]* tags' "$LOG"
}

# ---- resources ------------------------------------------------------------

@test "hostile relay: 300 stalled handshakes are closed by the -t deadline while a real player gets in" {
	start_relay -t 2
	# 150 send nothing, 150 send C0 only; each must see EOF by the deadline
	spawn stalled "$PYTHON" "$CLIENT" --port "$PORT" --timeout 8 stalled:300
	wait_log "$T/stalled.log" '^open 300'
	real_player
	wait_log "$T/stalled.log" '^closed' 15
	cat "$T/stalled.log"
	grep -q '^closed 300 ' "$T/stalled.log"
	[ "$(grep -c 'closed: handshake timeout' "$LOG")" -eq 300 ]
	alive "$SERVER_PID"
}

# huge_claims ROLE: 20 connections at once, each with 50 chunk streams that
# claim 0xffffff bytes and send 128, held 5 s; the server's RSS may not
# grow by what they claim (50 x 20 x 16 MiB), only by what they sent.
huge_claims() {
	local role=$1 rss0 rss1 hwm vm0 vm1 i
	local -a opts=()
	[ "$role" = play ] && opts=(--play)
	# warm up: one of each first, so the allocator's own start is not counted
	"$PYTHON" "$CLIENT" --port "$PORT" "${opts[@]}" many-huge
	sleep 0.5
	rss0=$(proc_kb "$SERVER_PID" VmRSS)
	vm0=$(proc_kb "$SERVER_PID" VmPeak)
	for ((i = 0; i < 20; i++)); do
		spawn "huge-$i" "$PYTHON" "$CLIENT" --port "$PORT" --hold 5 "${opts[@]}" many-huge
	done
	# all 20 connected (a loaded machine starts python slowly), and their
	# claims sent
	for ((i = 0; i < 100; i++)); do
		[ "$(ss -Htn state established "sport = :$PORT" | wc -l)" -ge 20 ] && break
		sleep 0.1
	done
	[ "$(ss -Htn state established "sport = :$PORT" | wc -l)" -ge 20 ] ||
		fail "the 20 clients did not all connect"
	sleep 1
	rss1=$(proc_kb "$SERVER_PID" VmRSS)
	vm1=$(proc_kb "$SERVER_PID" VmPeak)
	for ((i = 0; i < 20; i++)); do
		wait_log "$T/huge-$i.log" '^many-huge alive ' 15
	done
	hwm=$(proc_kb "$SERVER_PID" VmHWM)
	echo "# RSS $rss0 kB before, $rss1 kB with 20 x 50 claims of 16 MiB held, peak $hwm kB"
	echo "# VmPeak $vm0 kB before, $vm1 kB after"
	[ $((rss1 - rss0)) -lt 4096 ] || fail "RSS grew by $((rss1 - rss0)) kB"
	# Address space too, where no sanitizer reserves its own: a buffer
	# allocated by a claimed length shows there before it is touched.
	if ! sanitized "$LISTEN"; then
		[ $((vm1 - vm0)) -lt 65536 ] || fail "VmPeak grew by $((vm1 - vm0)) kB"
	fi
	alive "$SERVER_PID"
}

@test "hostile listen: 1000 chunk streams claiming 16 MiB each keep RSS and address space bounded" {
	start_listen
	huge_claims publish
	real_publisher real
}

@test "hostile relay: 1000 chunk streams claiming 16 MiB each keep RSS and address space bounded" {
	start_relay
	huge_claims play
	real_player
}

# flat ROLE: 200 hostile connections of every fast kind (client.py's
# cycle), after a first 50 that warm the allocator up; RSS may grow by a
# little, not by what 200 sessions leaked.
flat() {
	local role=$1 rss0 rss1 out
	local -a opts=()
	[ "$role" = play ] && opts=(--play)
	"$PYTHON" "$CLIENT" --port "$PORT" "${opts[@]}" cycle:50
	sleep 0.5
	rss0=$(proc_kb "$SERVER_PID" VmRSS)
	# two at a time, 100 each
	spawn cycle-a "$PYTHON" "$CLIENT" --port "$PORT" "${opts[@]}" cycle:100
	spawn cycle-b "$PYTHON" "$CLIENT" --port "$PORT" "${opts[@]}" cycle:100
	wait_log "$T/cycle-a.log" '^cycle 100 ' 60
	wait_log "$T/cycle-b.log" '^cycle 100 ' 60
	cat "$T/cycle-a.log" "$T/cycle-b.log"
	sleep 0.5
	rss1=$(proc_kb "$SERVER_PID" VmRSS)
	echo "# RSS $rss0 kB after 50 hostile connections, $rss1 kB after 200 more"
	# every connection got its verdict: none hung open
	refute grep -q 'open=' "$T/cycle-a.log" "$T/cycle-b.log"
	[ $((rss1 - rss0)) -lt 2048 ] || fail "RSS grew by $((rss1 - rss0)) kB"
	alive "$SERVER_PID"
}

@test "hostile listen: memory stays flat over 200 hostile connections of every kind" {
	start_listen
	flat publish
	real_publisher real
}

@test "hostile relay: memory stays flat over 200 hostile connections of every kind" {
	start_relay
	flat play
	real_player
}

@test "hostile relay: a player that stops reading is disconnected, memory bounded, a real player unaffected" {
	local rss0 hwm
	RATE=16 start_relay -q 65536 -S 2
	sleep 1
	rss0=$(proc_kb "$SERVER_PID" VmRSS)
	spawn stopped "$PYTHON" "$CLIENT" --port "$PORT" --play --hold 6 --timeout 10 stop-reading
	wait_log "$LOG" 'closed: too slow' 20
	real_player
	wait_log "$T/stopped.log" '^stop-reading closed ' 20
	hwm=$(proc_kb "$SERVER_PID" VmHWM)
	echo "# RSS $rss0 kB at start, peak $hwm kB"
	[ $((hwm - rss0)) -lt 12000 ]
	alive "$SERVER_PID"
}
