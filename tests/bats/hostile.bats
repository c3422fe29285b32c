#!/usr/bin/env bats
# Hostile servers against the two client programs.  tests/hostile/server.py
# misbehaves in one way per run, each a row of tests/hostile/HOSTILE.md
# (rtmpdump 2.4, for one, segfaults on the nested _result).  Whatever the
# server does, the program must end that one connection promptly, with a
# reason on stderr that names the peer, and with the exit status cli.md
# documents: 1 for a protocol error, 5 for a deadline.  Never a hang
# (timeout's 124), never a signal (>= 128), no sanitizer report (the suite
# also runs the SANITIZE=1 build), and memory that does not follow what
# the server declares or piles up.

load helpers

SERVER=$BATS_TEST_DIRNAME/../hostile/server.py
# Peak RSS allowed, KiB.  The programs run at 2-4 MB, ASan builds near 20 MB.
RSS_LIMIT_KB=65536
# Address space of the plain build (it runs in ~3 MB): a buffer sized by a
# length the server declares fails here even where RSS would not show it,
# because untouched pages are not resident.  ASan reserves terabytes of
# shadow, so the sanitized build gets an allocation size limit instead.
AS_LIMIT=$((256 * 1024 * 1024))
HOSTILE_ASAN_OPTIONS=max_allocation_size_mb=64:quarantine_size_mb=8

setup_file() {
	# The interpreter itself, not a version manager's shim that costs a
	# few hundred ms per start.
	PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
		PYTHON=python3
	export PYTHON
}

setup() {
	require_programs
	require python3 prlimit
	[ -x /usr/bin/time ] || fail "/usr/bin/time is missing (Debian package time)"
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_all
}

# hostile PROGRAM MODE [OPTION...]: runs PROGRAM (dump or push) with
# OPTIONs (default -t 3 -r 0) against a fresh server.py in MODE, at
# $HOSTILE_SCHEME://127.0.0.1:PORT/$HOSTILE_PATH (rtmp, live/x); push
# publishes $HOSTILE_INPUT (the clip).  Prefix a call with these to change
# them.  Sets STATUS, TOOK (seconds), RSS (peak, KiB), CPU (user + system
# seconds), PORT, ERR (the program's stderr file), SRV (the server's log
# file) and, for dump, OUT (the FLV it wrote).
hostile() {
	local prog=$1 mode=$2 pf i start url
	local -a cmd=() limit=() publish=() opts=(-t 3 -r 0)
	shift 2
	[ $# -gt 0 ] && opts=("$@")
	pf=$T/port-$prog-$mode
	rm -f "$pf"
	[ "$prog" = push ] && publish=(--publish)
	spawn "server-$prog-$mode" "$PYTHON" "$SERVER" --port-file "$pf" \
		"${publish[@]}" "$mode"
	SERVER_PID=$SPAWNED
	SRV=$T/server-$prog-$mode.log
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		alive "$SERVER_PID" || break
		sleep 0.05
	done
	[ -s "$pf" ] || fail "server.py $mode did not start: $(cat "$SRV")"
	PORT=$(cat "$pf")
	url=${HOSTILE_SCHEME:-rtmp}://127.0.0.1:$PORT/${HOSTILE_PATH:-live/x}
	ERR=$T/$prog-$mode.err
	OUT=$T/$prog-$mode.flv
	rm -f "$OUT"
	if [ "$prog" = push ]; then
		cmd=("$PUSH" "${opts[@]}" "$url" "${HOSTILE_INPUT:-$CLIP}")
	else
		cmd=("$DUMP" "${opts[@]}" -o "$OUT" "$url")
	fi
	if grep -aq __asan_init "${cmd[0]}"; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}$HOSTILE_ASAN_OPTIONS
	else
		limit=(prlimit --as="$AS_LIMIT" --)
	fi
	start=$(now)
	STATUS=0
	/usr/bin/time -f '%M %U %S' -o "$T/rss-$prog-$mode" \
		timeout 30 "${limit[@]}" "${cmd[@]}" </dev/null >"$T/$prog-$mode.out" \
		2>"$ERR" || STATUS=$?
	TOOK=$(elapsed_since "$start")
	RSS=$(tail -n 1 "$T/rss-$prog-$mode" | cut -d' ' -f1)
	CPU=$(tail -n 1 "$T/rss-$prog-$mode" | awk '{ printf "%.2f\n", $2 + $3 }')
	# The server ends once the client hung up; one still waiting (for a
	# client that never came, say) is not what is under test.
	wait_exit "$SERVER_PID" 5 || stop "$SERVER_PID"
	echo "# $prog vs $mode: exit $STATUS after $TOOK s, peak RSS $RSS KiB, CPU $CPU s"
	sed 's/^/# stderr: /' "$ERR"
	sed 's/^/# server: /' "$SRV"
}

# survived: the checks every run must pass, whatever the mode.
survived() {
	[ "$STATUS" -ne 124 ] || fail "hung: timeout killed it after $TOOK s"
	[ "$STATUS" -lt 128 ] || fail "killed by signal $((STATUS - 128)): a crash"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$ERR"; then
		fail "sanitizer report on stderr"
	fi
	within "$TOOK" 0 10
	[[ "$RSS" =~ ^[0-9]+$ ]] || fail "no peak RSS measured: '$RSS'"
	[ "$RSS" -lt "$RSS_LIMIT_KB" ] ||
		fail "peak RSS $RSS KiB, limit $RSS_LIMIT_KB KiB"
	grep -q '^server: striking' "$SRV" ||
		fail "the client never got as far as the hostile answer"
	# A dump that failed leaves an empty file or whole tags, never garbage.
	if [ -s "$OUT" ]; then
		flv_check "$OUT"
	fi
}

# ended STATUS REASON: exit status STATUS, and one stderr line naming the
# peer and saying (extended regex REASON) what was wrong.
ended() {
	survived
	[ "$STATUS" -eq "$1" ] || fail "exit status $STATUS, want $1"
	grep -F "127.0.0.1:$PORT: " "$ERR" | grep -qE "$2" ||
		fail "no stderr line names 127.0.0.1:$PORT with '$2'"
}

# ---- rtmp-dump ---------------------------------------------------------

@test "hostile dump: _result nested 100000 deep ends with 'limit exceeded', exit 1" {
	hostile dump nested-result
	ended 1 'limit exceeded'
}

@test "hostile dump: AMF0 string past the message is a protocol violation, exit 1" {
	hostile dump string-past-end
	ended 1 'protocol violation'
}

@test "hostile dump: ECMA array count 0xffffffff in 3 bytes is a protocol violation, exit 1" {
	hostile dump array-count
	ended 1 'protocol violation'
}

@test "hostile dump: Set Chunk Size 0x7fffffff is refused, exit 1, small RSS" {
	hostile dump chunk-size-huge
	ended 1 'limit exceeded'
}

@test "hostile dump: a 16 MiB chunk size and a message that never comes: exit 5, small RSS" {
	hostile dump chunk-size-16m
	ended 5 'no answer within 3 s'
}

@test "hostile dump: Set Chunk Size 0 is a protocol violation, exit 1" {
	hostile dump chunk-size-zero
	ended 1 'protocol violation'
}

@test "hostile dump: a sweep over chunk stream ids hits the table limit, exit 1, small RSS" {
	hostile dump csid-sweep
	ended 1 'limit exceeded'
}

@test "hostile dump: 64 partial messages of 2 MiB do not pile up in memory" {
	hostile dump partial-flood
	ended 1 'limit exceeded'
}

@test "hostile dump: buffers of 60 delivered 2 MiB messages are not all kept" {
	hostile dump message-flood
	ended 5 'no answer within 3 s'
}

@test "hostile dump: a type 1 header on a never-seen chunk stream is a protocol violation, exit 1" {
	hostile dump type1-unseen
	ended 1 'protocol violation'
}

@test "hostile dump: S0 = 6 fails the handshake, exit 1" {
	hostile dump bad-s0
	ended 1 'handshake failed'
}

@test "hostile dump: a server silent after C0+C1 times out at -t, exit 5" {
	hostile dump stall-handshake
	ended 5 'no answer within 3 s'
	within "$TOOK" 2.5 6
}

@test "hostile dump: a handshake dribbled a byte per 50 ms hits the absolute deadline, exit 5" {
	hostile dump dribble
	ended 5 'no answer within 3 s'
	# An idle timer would never fire: a byte arrives every 50 ms.
	within "$TOOK" 2.5 6
}

@test "hostile dump: Window Ack Size 1 and 4 MiB of messages cause no ack storm" {
	local sent
	hostile dump ack-window-1
	survived
	# The server hung up without Play.Stop: a drop, and -r 0 allows no retry.
	[ "$STATUS" -eq 1 ] || fail "exit status $STATUS, want 1"
	grep -q 'connection closed by peer' "$ERR" || fail "no reason logged"
	grep -q '^server: sent [0-9]* bytes of status messages' "$SRV" ||
		fail "the server did not get its 4 MiB out"
	sent=$(sed -n 's/^client-bytes //p' "$SRV")
	echo "# the client sent $sent bytes in all"
	# An ack per message would be 400-800 KB; one per 4 KiB received ~16 KB.
	[ -n "$sent" ] && [ "$sent" -lt 100000 ] ||
		fail "the client sent $sent bytes back: an ack storm"
}

@test "hostile dump: a message torn by the close is not written: only whole tags" {
	hostile dump close-mid-message
	survived
	[ -s "$OUT" ] || fail "the two whole video messages were not written"
	run flv_check "$OUT"
	echo "# $output"
	[ "$status" -eq 0 ]
	[ "$output" = "headers=1 video=2 audio=0 script=0" ]
}

@test "hostile dump: a connection closed in the middle of a message is a drop: exit 1 with -r 0" {
	hostile dump close-mid-message
	ended 1 'clos'
}

# ---- rtmp-pushflv --------------------------------------------------------

@test "hostile pushflv: _result nested 100000 deep ends with 'limit exceeded', exit 1" {
	hostile push nested-result
	ended 1 'limit exceeded'
}

@test "hostile pushflv: S0 = 6 fails the handshake, exit 1" {
	hostile push bad-s0
	ended 1 'handshake failed'
}

@test "hostile pushflv: a server silent after C0+C1 times out at -t, exit 5" {
	hostile push stall-handshake
	ended 5 'no answer within 3 s'
	within "$TOOK" 2.5 6
}

@test "hostile pushflv: a handshake dribbled a byte per 50 ms hits the absolute deadline, exit 5" {
	hostile push dribble
	ended 5 'no answer within 3 s'
	within "$TOOK" 2.5 6
}

@test "hostile pushflv: AMF0 string past the message is a protocol violation, exit 1" {
	hostile push string-past-end
	ended 1 'protocol violation'
}

@test "hostile pushflv: a sweep over chunk stream ids hits the table limit, exit 1, small RSS" {
	hostile push csid-sweep
	ended 1 'limit exceeded'
}

@test "hostile pushflv: a connection closed in the middle of a message fails, exit 1" {
	hostile push close-mid-message
	ended 1 'clos'
}

# ---- regressions from a review of the client path -------------------------

# video_tags FILE: the video tags of the FLV FILE as "TS:WHAT", TS relative
# to the first one, WHAT "seq" for an AVC sequence header, the letter that
# fills the body of one of server.py's marked tags, or "?".
video_tags() {
	python3 - "$1" <<-'PYEOF'
		import sys
		data = open(sys.argv[1], "rb").read()
		off, out, first = 13, [], None
		while off + 11 <= len(data):
		    size = int.from_bytes(data[off + 1:off + 4], "big")
		    ts = int.from_bytes(data[off + 4:off + 7], "big") | data[off + 7] << 24
		    body = data[off + 11:off + 11 + size]
		    if data[off] & 0x1f == 9:
		        first = ts if first is None else first
		        what = "?"
		        if body[1:2] == b"\x00":
		            what = "seq"
		        elif len(body) > 5 and body[5:] == body[5:6] * (len(body) - 5) and \
		            body[5:6].isalpha():
		            what = body[5:6].decode()
		        out.append("%d:%s" % (ts - first, what))
		    off += 15 + size
		print(" ".join(out))
	PYEOF
}

# same_tags FILE EXPECTED: video_tags FILE is EXPECTED.
same_tags() {
	local got
	got=$(video_tags "$1")
	[ "$got" = "$2" ] || fail "video tags: '$got'" "want:       '$2'"
}

@test "hostile dump: every tag of an aggregate is written, though the close comes next" {
	hostile dump aggregate-tail
	# The server hung up without Play.Stop: a drop, and -r 0 allows no retry.
	ended 1 'closed by peer'
	same_tags "$OUT" "0:seq 0:A 40:B 80:C"
}

@test "hostile dump: a one-chunk aggregate is intact after the next read reuses the buffer" {
	hostile dump agg-small
	ended 1 'closed by peer'
	same_tags "$OUT" "0:seq 0:A 40:B 80:C 120:Z"
}

@test "hostile dump: a one-chunk aggregate is intact after the read buffer grows (no use after free)" {
	local want="0:seq 0:A 40:B 80:C" i
	hostile dump agg-uaf
	ended 1 'closed by peer'
	for ((i = 120; i < 180; i++)); do
		want="$want $i:D"
	done
	same_tags "$OUT" "$want"
}

@test "hostile dump: media without Play.Start is recorded: -d 4 reached, exit 0" {
	local n
	hostile dump no-play-start -t 3 -r 0 -d 4
	survived
	[ "$STATUS" -eq 0 ] || fail "exit status $STATUS, want 0"
	within "$TOOK" 3.5 8
	# 25 fps for 4 s, the sequence header first
	n=$(video_tags "$OUT" | wc -w)
	within "$n" 95 106
	video_tags "$OUT" | grep -q '^0:seq ' || fail "no sequence header first"
	within "$(video_tags "$OUT" | awk '{ sub(/:.*/, "", $NF); print $NF }')" 3900 4100
}

@test "hostile dump: a ping flood it cannot answer stays small: exit 1 or 5, no hang" {
	hostile dump ping-flood
	survived
	[ "$STATUS" -eq 1 ] || [ "$STATUS" -eq 5 ] || fail "exit status $STATUS, want 1 or 5"
	# The answers queue up to 1 MiB; the ASan build runs near 22 MB.
	[ "$RSS" -lt 32768 ] || fail "peak RSS $RSS KiB: the pongs piled up"
}

@test "hostile dump: stream not found names app/stream, never the ?key= query, exit 3" {
	local v
	for v in -q -vv; do
		HOSTILE_PATH='live/nope?key=s3cret' hostile dump not-found "$v" -t 3 -r 0
		ended 3 'stream not found: live/nope$'
		refute grep -q s3cret "$ERR"
	done
}

@test "hostile dump: rtmps to a silent server waits without spinning: exit 5 at -t" {
	HOSTILE_SCHEME=rtmps hostile dump silent -k -t 3 -r 0
	ended 5 'no answer within 3 s'
	within "$TOOK" 2.5 6
	within "$CPU" 0 0.5
}

@test "hostile pushflv: rtmps to a silent server waits without spinning: exit 5 at -t" {
	HOSTILE_SCHEME=rtmps hostile push silent -k -t 3 -r 0
	ended 5 'no answer within 3 s'
	within "$TOOK" 2.5 6
	within "$CPU" 0 0.5
}

@test "hostile pushflv: a server that stops acknowledging times out at -t: exit 5, no hang" {
	hostile push window-stall -n -l -t 3 -r 0
	ended 5 'no progress sending for 3 s'
	within "$TOOK" 2.5 8
	# It waited for acknowledgements: a few times the 100 kB bandwidth
	# went out, not gigabytes (a publisher that never went back to the
	# loop never read the server's Acknowledgement and flooded it).
	local sent
	sent=$(awk '/^client-bytes/ { print $2 }' "$BATS_TEST_TMPDIR/server-push-window-stall.log")
	echo "client sent $sent bytes"
	[ -n "$sent" ] && [ "$sent" -lt 2000000 ]
}
