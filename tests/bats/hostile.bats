#!/usr/bin/env bats
# Hostile servers against the two client programs.  tests/hostile/server.py
# misbehaves in one way per run, each a row of /work/shared/HOSTILE.md
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

# hostile PROGRAM MODE: runs PROGRAM (dump or push) with -t 3 -r 0 against
# a fresh server.py in MODE.  Sets STATUS, TOOK (seconds), RSS (peak, KiB),
# PORT, ERR (the program's stderr file), SRV (the server's log file) and,
# for dump, OUT (the FLV it wrote).
hostile() {
	local prog=$1 mode=$2 pf i start url
	local -a cmd=() limit=() publish=()
	pf=$T/port-$prog-$mode
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
	url=rtmp://127.0.0.1:$PORT/live/x
	ERR=$T/$prog-$mode.err
	OUT=$T/$prog-$mode.flv
	if [ "$prog" = push ]; then
		cmd=("$PUSH" -t 3 -r 0 "$url" "$CLIP")
	else
		cmd=("$DUMP" -t 3 -r 0 -o "$OUT" "$url")
	fi
	if grep -aq __asan_init "${cmd[0]}"; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}$HOSTILE_ASAN_OPTIONS
	else
		limit=(prlimit --as="$AS_LIMIT" --)
	fi
	start=$(now)
	STATUS=0
	/usr/bin/time -f %M -o "$T/rss-$prog-$mode" \
		timeout 30 "${limit[@]}" "${cmd[@]}" </dev/null >"$T/$prog-$mode.out" \
		2>"$ERR" || STATUS=$?
	TOOK=$(elapsed_since "$start")
	RSS=$(tail -n 1 "$T/rss-$prog-$mode")
	# The server ends once the client hung up; one still waiting (for a
	# client that never came, say) is not what is under test.
	wait_exit "$SERVER_PID" 5 || stop "$SERVER_PID"
	echo "# $prog vs $mode: exit $STATUS after $TOOK s, peak RSS $RSS KiB"
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
