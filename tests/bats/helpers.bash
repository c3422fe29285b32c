# shellcheck shell=bash
# shellcheck disable=SC2034  # the globals set here are read by the .bats files
# Helpers for the bats tests of rtmpkit's programs.  Every test talks to real
# peers (nginx-rtmp, haproxy, ffmpeg, rtmpdump, GStreamer) on loopback, on
# ports picked at random, and stops them again whatever happened.
#
# Background processes go through spawn, which records their pid in the pid
# file of the current scope: the test (BATS_TEST_TMPDIR, cleaned by stop_all
# in teardown) or, from setup_file, the file (BATS_FILE_TMPDIR, cleaned by
# stop_all in teardown_file).  Never spawn inside `run`: the process would
# belong to run's subshell.  Every wait is bounded.

# nginx and haproxy live in /usr/sbin, which a normal user's PATH on
# Debian leaves out.
PATH=$PATH:/usr/sbin:/sbin
RTMPKIT_BIN=${RTMPKIT_BIN:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/cmd}
# Everything a test reads: tests/data (its README says where each file is from).
DATA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)
DUMP=$RTMPKIT_BIN/rtmp-dump
PUSH=$RTMPKIT_BIN/rtmp-pushflv
# 6 s, 640x360, H.264 + AAC, keyframe every second (media/README.md).
CLIP=$DATA/media/h264-aac.flv
NGINX_RTMP_MODULE=${NGINX_RTMP_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}
# A hung test is killed after this many seconds; teardown still runs.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-120}

# fail MESSAGE...: end the test with a message on its output.
fail() {
	printf '# %s\n' "$@" >&2
	return 1
}

# require CMD...: a missing peer is a failure, never a skip.
require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null ||
			fail "$c is not installed (make deps)" || return 1
	done
}

# require_programs: the programs under test must be built.
require_programs() {
	local p
	for p in "$DUMP" "$PUSH"; do
		[ -x "$p" ] || fail "$p is not built (make)" || return 1
	done
	require_data "$CLIP"
}

# require_data FILE...: test data must be there; a missing file is named.
require_data() {
	local f
	for f in "$@"; do
		[ -r "$f" ] || fail "missing test data: $f" || return 1
	done
}

_scope() {
	if [ -n "${BATS_TEST_TMPDIR:-}" ] && [ -d "$BATS_TEST_TMPDIR" ]; then
		echo "$BATS_TEST_TMPDIR"
	else
		echo "$BATS_FILE_TMPDIR"
	fi
}

# A sanitizer report (make check SANITIZE=1) goes to a file of the scope,
# sanitizer.PID, and stop_all fails the test or file over it: the exit
# status alone (86, tests/run) passes a test that expects any failure.
# Options already set are kept; the last log_path wins.  (bats also
# reads this file where it has made no directory yet.)
if [ -n "${BATS_TEST_TMPDIR:-}${BATS_FILE_TMPDIR:-}" ]; then
	SANITIZER_LOG=$(_scope)/sanitizer
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_LOG
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SANITIZER_LOG
fi

# spawn NAME CMD...: runs CMD in the background with stdin from /dev/null
# and stdout+stderr in $(_scope)/NAME.log; sets SPAWNED to its pid.  fd 3 is
# closed or bats would wait for the process at the end of the test.
spawn() {
	local name=$1 dir
	shift
	dir=$(_scope)
	"$@" </dev/null >"$dir/$name.log" 2>&1 3>&- &
	SPAWNED=$!
	echo "$SPAWNED $name" >>"$dir/pids"
}

# spawn_sh NAME SCRIPT: spawn for a shell pipeline (sh -c SCRIPT).
spawn_sh() {
	spawn "$1" sh -c "$2"
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# descendants PID: every descendant pid, children first.
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		descendants "$c"
		echo "$c"
	done
}

# kill_tree PID [SIGNAL]: signal a process and all its descendants.
kill_tree() {
	local sig=${2:-TERM} p
	for p in $(descendants "$1") "$1"; do
		kill -s "$sig" "$p" 2>/dev/null || :
	done
	return 0
}

# wait_exit PID [SECONDS]: wait (bounded) until PID has gone; 1 on timeout.
wait_exit() {
	local i n=$(((${2:-10}) * 10))
	for ((i = 0; i < n; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# wait_status PID [SECONDS]: wait for our child PID (bounded); sets STATUS
# to its exit status, or returns 1 if it is still running after SECONDS.
wait_status() {
	wait_exit "$1" "${2:-10}" || return 1
	STATUS=0
	wait "$1" || STATUS=$?
}

# stop PID [SECONDS]: TERM (twice: ffmpeg blocked in a read ignores the
# first), then KILL, the whole tree; bounded.
stop() {
	local pid=$1 t=${2:-5}
	alive "$pid" || return 0
	kill_tree "$pid" TERM
	wait_exit "$pid" "$t" && return 0
	kill_tree "$pid" TERM
	wait_exit "$pid" 2 && return 0
	kill_tree "$pid" KILL
	wait_exit "$pid" 2 || fail "pid $pid survived SIGKILL"
}

# stop_all: teardown and teardown_file.  Kills every process recorded in the
# scope's pid file, newest first, then on failure shows the logs; a
# sanitizer report of the scope fails it (sanitizer_reports).
stop_all() {
	local dir pids pid name
	dir=$(_scope)
	if [ -f "$dir/pids" ]; then
		pids=$(tac "$dir/pids" | cut -d' ' -f1)
		for pid in $pids; do
			if alive "$pid"; then kill_tree "$pid" TERM; fi
		done
		for pid in $pids; do
			wait_exit "$pid" 3 || kill_tree "$pid" TERM
		done
		for pid in $pids; do
			wait_exit "$pid" 2 || kill_tree "$pid" KILL
		done
		for pid in $pids; do
			wait_exit "$pid" 2 || echo "# pid $pid survived SIGKILL"
		done
	fi
	if [ -n "${BATS_TEST_TMPDIR:-}" ] && [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		show_logs "$dir"
	fi
	sanitizer_reports "$dir"
}

# sanitizer_reports DIR: 1, and the reports shown, if a program of the
# scope wrote one: a log_path file, or (GCC's UBSan next to ASan ignores
# log_path) a line on a spawned process's stderr.
sanitizer_reports() {
	local f found=
	for f in "$1"/sanitizer.* "$1"/*.log; do
		[ -f "$f" ] || continue
		case $f in
		*.log) grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" ||
			continue ;;
		esac
		echo "# ---- sanitizer report: $f"
		# the report without ASan's shadow-byte map
		sed '/Shadow bytes around/,$d' "$f" | head -n 60 | sed 's/^/#   /'
		found=1
	done
	[ -z "$found" ]
}

# Files without a teardown of their own still get stop_all's checks.
teardown() {
	stop_all
}
teardown_file() {
	stop_all
}

# show_logs DIR: the tail of every log of the scope (on failure).
show_logs() {
	local f
	for f in "$1"/*.log "$1"/*/error.log; do
		[ -s "$f" ] || continue
		echo "# ---- $f"
		tail -n 25 "$f" | sed 's/^/#   /'
	done
}

# free_port: a free TCP port on 127.0.0.1 below the ephemeral range (so no
# outgoing connection takes it before our server binds), not handed out
# before in this test file.
free_port() {
	local i p used=$BATS_FILE_TMPDIR/ports
	touch "$used"
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 12000))
		grep -qx "$p" "$used" && continue
		if python3 -c 'import socket,sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null &&
			[ -z "$(ss -Hltn "sport = :$p")" ]; then
			echo "$p" >>"$used"
			echo "$p"
			return 0
		fi
	done
	fail "no free port found"
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_port() {
	local i n=$(((${2:-10}) * 10))
	for ((i = 0; i < n; i++)); do
		[ -n "$(ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1 after ${2:-10} s"
}

# wait_port_closed PORT [SECONDS]
wait_port_closed() {
	local i n=$(((${2:-10}) * 10))
	for ((i = 0; i < n; i++)); do
		[ -z "$(ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	fail "port $1 still listening after ${2:-10} s"
}

# wait_file FILE [SECONDS] [BYTES]: until FILE holds at least BYTES (1).
wait_file() {
	local i n=$(((${2:-10}) * 10)) min=${3:-1} sz
	for ((i = 0; i < n; i++)); do
		sz=$(stat -c %s "$1" 2>/dev/null || echo 0)
		[ "$sz" -ge "$min" ] && return 0
		sleep 0.1
	done
	fail "$1 has fewer than $min bytes after ${2:-10} s"
}

# wait_log FILE REGEX [SECONDS] [COUNT]: until COUNT (1) lines of FILE
# match REGEX.
wait_log() {
	local i n=$(((${3:-10}) * 10)) c
	for ((i = 0; i < n; i++)); do
		c=$(grep -cE "$2" "$1" 2>/dev/null || :)
		[ "${c:-0}" -ge "${4:-1}" ] && return 0
		sleep 0.1
	done
	fail "fewer than ${4:-1} lines matching '$2' in $1 after ${3:-10} s"
}

# start_nginx PORT [EXTRA] [APP]: nginx-rtmp on 127.0.0.1:PORT with
# application APP ("live", live on) plus EXTRA inside the server block.  One process
# (master_process off) so that killing its pid really stops the server, and
# no user switch, so it reads our files as root.  Sets NGINX_PID, NGINX_DIR.
# Starting it again on the same port reuses the directory (its logs grow).
start_nginx() {
	local port=$1 extra=${2:-} app=${3:-live} dir
	require nginx || return 1
	[ -f "$NGINX_RTMP_MODULE" ] ||
		fail "$NGINX_RTMP_MODULE missing (libnginx-mod-rtmp)" || return 1
	dir=$(_scope)/nginx-$port
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<-EOF
		load_module $NGINX_RTMP_MODULE;
		worker_processes 1;
		master_process off;
		daemon off;
		error_log $dir/error.log info;
		pid $dir/nginx.pid;
		events { worker_connections 1024; }
		rtmp {
		    access_log $dir/access.log;
		    server {
		        listen 127.0.0.1:$port;
		        chunk_size 4096;
		        application $app { live on; }
		        $extra
		    }
		}
	EOF
	spawn "nginx-$port" nginx -c "$dir/nginx.conf" -p "$dir"
	NGINX_PID=$SPAWNED
	NGINX_DIR=$dir
	wait_port "$port" 10 || { cat "$dir/error.log" "$(_scope)/nginx-$port.log"; return 1; }
}

# make_clip FILE SECONDS [SIZE]: an H.264 + AAC FLV test clip with a
# keyframe every second.
make_clip() {
	require ffmpeg || return 1
	timeout 120 ffmpeg -nostdin -v error -y \
		-f lavfi -i "testsrc2=size=${3:-640x360}:rate=30" \
		-f lavfi -i sine=frequency=440:sample_rate=48000 \
		-t "$2" -c:v libx264 -preset ultrafast -tune zerolatency \
		-b:v 800k -g 30 -pix_fmt yuv420p -c:a aac -b:a 96k \
		-f flv "$1"
}

# make_tls DIR: a test CA (ca.pem), a server certificate it signed for
# localhost and 127.0.0.1 (server.pem: cert + key, the form haproxy wants),
# one it signed for another name only (othername.pem), and a self-signed
# certificate with the right names that no CA vouches for (wrong.pem).
make_tls() {
	local d=$1
	require openssl || return 1
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		ossl() { timeout 30 openssl "$@" 2>>openssl.log; }
		ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout ca.key -out ca.pem -days 2 \
			-subj '/CN=rtmpkit test CA' \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign
		for n in server othername; do
			if [ "$n" = server ]; then
				san='subjectAltName=DNS:localhost,IP:127.0.0.1'
			else
				san='subjectAltName=DNS:rtmp.invalid'
			fi
			ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-nodes -keyout $n.key -out $n.csr -subj "/CN=$n"
			printf '%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
				"$san" >$n.ext
			ossl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key \
				-CAcreateserial -days 2 -extfile $n.ext -out $n.crt
			cat $n.crt $n.key >$n.pem
		done
		ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout wrong.key -out wrong.crt -days 2 \
			-subj '/CN=localhost' \
			-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'
		cat wrong.crt wrong.key >wrong.pem
	) || { cat "$d/openssl.log"; return 1; }
}

# _haproxy NAME PORT: haproxy in TCP mode, with the tests' timeouts, running
# the sections read on stdin; its config is $(_scope)/NAME/haproxy.cfg,
# its output NAME.log.  Waits until PORT listens.  Sets HAPROXY_PID.
_haproxy() {
	local name=$1 port=$2 dir
	require haproxy || return 1
	dir=$(_scope)/$name
	mkdir -p "$dir"
	{
		cat <<-EOF
			global
			    log stdout format raw local0
			defaults
			    mode tcp
			    timeout connect 5s
			    timeout client 60s
			    timeout server 60s
		EOF
		cat
	} >"$dir/haproxy.cfg"
	spawn "$name" haproxy -f "$dir/haproxy.cfg" -db
	HAPROXY_PID=$SPAWNED
	wait_port "$port" 10
}

# start_haproxy_tls TLSPORT BACKENDPORT CERTPEM: haproxy terminating TLS on
# 127.0.0.1:TLSPORT in front of the plain RTMP server on BACKENDPORT.
# Sets HAPROXY_PID.
start_haproxy_tls() {
	local tls=$1 back=$2 pem=$3
	_haproxy "haproxy-$tls" "$tls" <<-EOF
		frontend rtmps
		    bind 127.0.0.1:$tls ssl crt $pem
		    default_backend rtmp
		backend rtmp
		    server a 127.0.0.1:$back
	EOF
}

# start_haproxy_send_proxy PORT BACKEND v1|v2 [SOURCE]: haproxy on
# 127.0.0.1:PORT in front of BACKEND (host:port), sending it a PROXY
# header of that version first (send-proxy, send-proxy-v2) that names the
# client.  With SOURCE the client named is SOURCE, not 127.0.0.1: a first
# hop in the same haproxy connects from that address to the one that
# sends the header (ffmpeg cannot choose its source address).  Sets
# HAPROXY_PID.
start_haproxy_send_proxy() {
	local port=$1 back=$2 send inner
	case $3 in
	v1) send='send-proxy' ;;
	v2) send='send-proxy-v2' ;;
	*) fail "start_haproxy_send_proxy: $3 is not v1 or v2"; return 1 ;;
	esac
	if [ -z "${4:-}" ]; then
		_haproxy "haproxy-$port" "$port" <<-EOF
			listen front
			    bind 127.0.0.1:$port
			    server b $back $send
		EOF
		return
	fi
	inner=$(free_port) || return 1
	_haproxy "haproxy-$port" "$port" <<-EOF
		listen hop
		    bind 127.0.0.1:$port
		    server front 127.0.0.1:$inner source $4
		listen front
		    bind 127.0.0.1:$inner
		    server b $back $send
	EOF
}

# publish_loop_ffmpeg URL [FILE]: ffmpeg publishes FILE (the clip) in real
# time, looping, until stopped.  Sets PUBLISHER_PID.
publish_loop_ffmpeg() {
	require ffmpeg || return 1
	spawn "ffmpeg-pub-$RANDOM" ffmpeg -nostdin -v error -re -stream_loop -1 \
		-i "${2:-$CLIP}" -c copy -f flv "$1"
	PUBLISHER_PID=$SPAWNED
}

# record_ffmpeg URL OUT [SECONDS]: ffmpeg plays URL into OUT in the
# background; it ends by itself SECONDS of media later, or 3 s after the
# media stops.  Sets RECORDER_PID.
record_ffmpeg() {
	local t=()
	require ffmpeg || return 1
	[ -n "${3:-}" ] && t=(-t "$3")
	spawn "ffmpeg-rec-$RANDOM" ffmpeg -nostdin -v error -rw_timeout 3000000 \
		-i "$1" -c copy "${t[@]}" -f flv "$2"
	RECORDER_PID=$SPAWNED
}

# stream_count FILE TYPE: how many streams of TYPE (video, audio) ffprobe sees.
stream_count() {
	ffprobe -v error -select_streams "${2:0:1}" -show_entries stream=index \
		-of csv=p=0 "$1" 2>/dev/null | grep -c .
}

# probe_codecs FILE: "VIDEO AUDIO" codec names as ffprobe sees them, e.g.
# "h264 aac"; only streams that have packets count.
probe_codecs() {
	local v a
	v=$(ffprobe -v error -select_streams v -count_packets \
		-show_entries stream=codec_name,nb_read_packets -of csv=p=0 "$1" |
		awk -F, '$2 > 0 { print $1 }' | tr '\n' ' ')
	a=$(ffprobe -v error -select_streams a -count_packets \
		-show_entries stream=codec_name,nb_read_packets -of csv=p=0 "$1" |
		awk -F, '$2 > 0 { print $1 }' | tr '\n' ' ')
	echo "${v}${a% }" | sed 's/ *$//'
}

# probe_duration FILE: seconds covered by the packets (the last packet's
# end minus the first one's start), not what the metadata claims.
probe_duration() {
	ffprobe -v error -show_entries packet=dts_time,duration_time \
		-of csv=p=0 "$1" | awk -F, '
		$1 != "N/A" {
			t = $1 + 0; d = ($2 == "N/A" ? 0 : $2 + 0)
			if (n == 0 || t < lo) lo = t
			if (n == 0 || t + d > hi) hi = t + d
			n++
		}
		END { if (n == 0) exit 1; printf "%.3f\n", hi - lo }'
}

# within VALUE LOW HIGH: LOW <= VALUE <= HIGH (decimals), with a message.
within() {
	awk -v v="$1" -v lo="$2" -v hi="$3" \
		'BEGIN { exit !(v != "" && v + 0 >= lo + 0 && v + 0 <= hi + 0) }' ||
		fail "$1 is not within [$2, $3]"
}

# check_monotonic FILE: per stream, packet dts never goes back; at least
# one packet.
check_monotonic() {
	ffprobe -v error -show_entries packet=stream_index,dts -of csv=p=0 "$1" |
		awk -F, '
		$2 != "N/A" {
			n++
			if (($1 in last) && $2 + 0 < last[$1]) {
				printf "# stream %s: dts %s after %s\n", $1, $2, last[$1]
				bad++
			}
			last[$1] = $2 + 0
		}
		END { if (n == 0) { print "# no packets"; exit 1 }; exit bad > 0 }'
}

# check_decodes FILE [SECONDS]: ffmpeg decodes every stream without an error.  The
# null muxer's complaints about frame timestamps are left out: where two
# streams are spliced (reconnect, publisher restart) the B-frame
# presentation times of one may overlap the next although the tag
# timestamps (dts) are monotonic, which check_monotonic checks.
check_decodes() {
	local err
	local -a limit=()
	# SECONDS: decode only that much, for a recording its tool cut off
	# mid-packet when it stopped (VLC's --run-time).
	[ -n "${2:-}" ] && limit=(-t "$2")
	err=$(timeout 60 ffmpeg -nostdin -v error "${limit[@]}" -i "$1" -f null - 2>&1) ||
		fail "ffmpeg failed to decode $1: $err" || return 1
	err=$(printf '%s\n' "$err" | grep -v \
		-e 'non monotonically increasing dts to muxer' \
		-e 'Last message repeated' || :)
	[ -z "$err" ] || fail "decoding $1: $err"
}

# flv_check FILE: walks the FLV tag by tag; it must be exactly one header
# at offset 0, then whole tags (audio, video, script) each followed by the
# right PreviousTagSize, up to the end of the file, with audio and video
# timestamps never going back.  Prints "headers=H video=V audio=A script=S".
flv_check() {
	python3 - "$1" <<-'EOF'
		import re, struct, sys
		data = open(sys.argv[1], "rb").read()
		hdr = re.compile(rb"FLV\x01[\x00-\x0f]\x00\x00\x00\x09", re.S)
		heads = len(hdr.findall(data))
		def die(msg):
		    print("# %s: %s (headers=%d)" % (sys.argv[1], msg, heads))
		    sys.exit(1)
		if len(data) < 13 or not hdr.match(data):
		    die("no FLV header at offset 0")
		if struct.unpack(">I", data[9:13])[0] != 0:
		    die("PreviousTagSize0 is not 0")
		off, n, last = 13, {8: 0, 9: 0, 18: 0}, {}
		while off < len(data):
		    if off + 11 > len(data):
		        die("truncated tag header at %d" % off)
		    t = data[off] & 0x1f
		    size = int.from_bytes(data[off + 1:off + 4], "big")
		    ts = int.from_bytes(data[off + 4:off + 7], "big") | data[off + 7] << 24
		    if t not in n:
		        die("tag type %d at offset %d" % (data[off], off))
		    end = off + 11 + size
		    if end + 4 > len(data):
		        die("truncated tag at %d" % off)
		    if struct.unpack(">I", data[end:end + 4])[0] != 11 + size:
		        die("bad PreviousTagSize at %d" % end)
		    if t != 18:
		        if t in last and ts < last[t]:
		            die("type %d timestamp %d after %d" % (t, ts, last[t]))
		        last[t] = ts
		    n[t] += 1
		    off = end + 4
		if heads != 1:
		    die("%d FLV headers" % heads)
		print("headers=%d video=%d audio=%d script=%d" % (heads, n[9], n[8], n[18]))
	EOF
}

# shift_clip IN OUT END_MS: IN with every tag's timestamp moved so the last
# one is at END_MS: a stream that has run for weeks.  Past 2^32 - 1 the
# timestamps wrap, as FLV's 32 bits do.
shift_clip() {
	python3 - "$1" "$2" "$3" <<-'EOF'
		import sys
		b = bytearray(open(sys.argv[1], "rb").read())
		off, tags = int.from_bytes(b[5:9], "big") + 4, []
		while off + 11 <= len(b):
		    tags.append(off)
		    off += 11 + int.from_bytes(b[off + 1:off + 4], "big") + 4
		ts = lambda o: int.from_bytes(b[o + 4:o + 7], "big") | b[o + 7] << 24
		shift = int(sys.argv[3]) - max(ts(o) for o in tags)
		for o in tags:
		    t = (ts(o) + shift) % 2**32
		    b[o + 4:o + 7] = (t & 0xffffff).to_bytes(3, "big")
		    b[o + 7] = t >> 24
		open(sys.argv[2], "wb").write(b)
	EOF
}

# video_steps FILE: "N SPAN MIN MAX" of the FLV's video frames (sequence
# headers left out): how many, first to last ms, smallest and largest step.
video_steps() {
	python3 - "$1" <<-'EOF'
		import sys
		b = open(sys.argv[1], "rb").read()
		off, video = 13, []
		while off + 11 <= len(b):
		    size = int.from_bytes(b[off + 1:off + 4], "big")
		    # frames, not AVC sequence headers (they share the next frame's time)
		    if b[off] & 0x1f == 9 and size > 5 and b[off + 12] != 0:
		        video.append(int.from_bytes(b[off + 4:off + 7], "big") | b[off + 7] << 24)
		    off += 11 + size + 4
		steps = [y - x for x, y in zip(video, video[1:])] or [0]
		print(len(video), video[-1] - video[0] if video else 0, min(steps), max(steps))
	EOF
}

# flv_payloads FILE: one line per audio/video tag, in order: "TYPE SHA1
# FIRST-BYTE" (the first byte in hex says codec and frame type).
flv_payloads() {
	python3 - "$1" <<-'EOF'
		import hashlib, sys
		b = open(sys.argv[1], "rb").read()
		off = int.from_bytes(b[5:9], "big") + 4
		while off + 11 <= len(b):
		    t = b[off] & 0x1f
		    p = b[off + 11:off + 11 + int.from_bytes(b[off + 1:off + 4], "big")]
		    if t in (8, 9):
		        print(t, hashlib.sha1(p).hexdigest(), p[:1].hex())
		    off += 11 + len(p) + 4
	EOF
}

# count_flv_headers FILE: how many FLV file headers the bytes contain.
count_flv_headers() {
	python3 -c 'import re, sys
print(len(re.findall(rb"FLV\x01[\x00-\x0f]\x00\x00\x00\x09", open(sys.argv[1], "rb").read())))' "$1"
}

# valid_av FILE: a valid single FLV that ffprobe reads as H.264 + AAC with
# monotonic timestamps and which decodes without an error.
valid_av() {
	local c
	[ -s "$1" ] || fail "$1 is empty or missing" || return 1
	flv_check "$1" || return 1
	c=$(probe_codecs "$1")
	[ "$c" = "h264 aac" ] || fail "$1: codecs '$c', want 'h264 aac'" || return 1
	check_monotonic "$1" || return 1
	check_decodes "$1"
}

# elapsed_since START: seconds (decimal) since START=$(now).
now() {
	date +%s.%N
}
elapsed_since() {
	awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", e - s }'
}

# packet_counts FILE: "VIDEO AUDIO", the number of packets ffprobe reads.
packet_counts() {
	local v a
	v=$(ffprobe -v error -select_streams v -count_packets \
		-show_entries stream=nb_read_packets -of csv=p=0 "$1" | head -n 1)
	a=$(ffprobe -v error -select_streams a -count_packets \
		-show_entries stream=nb_read_packets -of csv=p=0 "$1" | head -n 1)
	echo "${v:-0} ${a:-0}"
}

# wait_publishing PORT NAME [SECONDS] [COUNT]: nginx on PORT has seen
# COUNT (1) publish commands for NAME (its error.log logs at level info and
# survives restarts on the same port).
wait_publishing() {
	wait_log "$(_scope)/nginx-$1/error.log" "publish: name='$2'" \
		"${3:-10}" "${4:-1}"
}

# wait_playing PORT NAME [SECONDS] [COUNT]: the same for play commands.
wait_playing() {
	wait_log "$(_scope)/nginx-$1/error.log" "play: name='$2'" \
		"${3:-10}" "${4:-1}"
}

# refute CMD...: CMD must fail.  (`! CMD` does not fail a bats test.)
refute() {
	if "$@"; then
		fail "unexpectedly succeeded: $*"
	fi
}

# start_plain_answerer PORT: a server on 127.0.0.1:PORT that answers every
# connection at once with an RTMP S0+S1 (version 3, 1536 bytes), as a plain
# RTMP server answers C0+C1: what a TLS client meets on a plain port when
# the server speaks first.  Sets SPAWNED.
start_plain_answerer() {
	spawn "answerer-$1" python3 -c '
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
def serve(c):
    try:
        c.sendall(b"\x03" + bytes(1536))
        time.sleep(10)
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$1"
	wait_port "$1" 10
}

# start_flaky [--publish] ACTION...: tests/hostile/flaky.py, a server that
# serves each connection with the next ACTION (drop, silent, idle, play:MS,
# take:MS; the last repeats) and logs "TIME accept|close|media N ..." to
# $FLAKY_LOG.  Sets FLAKY_PORT.
start_flaky() {
	local pf i
	pf=$(_scope)/flaky.port
	FLAKY_LOG=$(_scope)/flaky.log
	spawn flaky python3 "$BATS_TEST_DIRNAME/../hostile/flaky.py" --port-file "$pf" "$@"
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		sleep 0.1
	done
	[ -s "$pf" ] || fail "flaky.py did not start: $(cat "$FLAKY_LOG")" || return 1
	FLAKY_PORT=$(cat "$pf")
}

# check_backoff EXPECTED...: the waits flaky.py saw, from each close to
# the next accept, follow EXPECTED (seconds), with tolerances a loaded
# machine under ASan keeps: each at least 0.8 of its own, one more than
# 1.5 times the one before where EXPECTED grows, less than 0.6 times it
# where EXPECTED falls back.  As many waits as EXPECTED.
check_backoff() {
	awk -v want="$*" '
		$2 == "close" { closed[$3] = $1 }
		$2 == "accept" && ($3 - 1) in closed { got[++n] = $1 - closed[$3 - 1] }
		END {
			k = split(want, e, " ")
			for (i = 1; i <= n; i++) printf "# wait %d: %.2f s, want %s s\n", i, got[i], e[i]
			if (n != k) { printf "# %d waits, want %d\n", n, k; exit 1 }
			for (i = 1; i <= k; i++) {
				if (got[i] < 0.8 * e[i]) bad = bad " " i ": too short"
				if (i > 1 && e[i] > e[i - 1] && got[i] <= 1.5 * got[i - 1])
					bad = bad " " i ": did not grow"
				if (i > 1 && e[i] < e[i - 1] && got[i] >= 0.6 * got[i - 1])
					bad = bad " " i ": did not start again"
			}
			if (bad != "") { print "# waits" bad; exit 1 }
		}' "$FLAKY_LOG"
}

# server_stats SOCKET EXPR: one JSON document from a server's stats socket
# (-s unix:PATH), and EXPR (python, d the document) printed.
server_stats() {
	timeout 10 python3 -c 'import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
d = json.loads(data)
print(eval(sys.argv[2]))' "$1" "$2"
}

# check_retries PROGRAM: after `run` against start_flaky's script (media,
# two drops, media, drops; -r 3), PROGRAM announced the waits "ms:attempt"
# exactly, 1, 2, 4 s twice, gave up after 3 attempts, and the server saw
# the first connection and 3 + 3 reconnects, waited for as announced.
check_retries() {
	local want="1000:1 2000:2 4000:3 1000:1 2000:2 4000:3" got
	got=$(sed -n 's/.*; reconnecting in \([0-9]*\) ms (attempt \([0-9]*\) of 3)$/\1:\2/p' \
		<<<"$output" | xargs)
	[ "$got" = "$want" ] || fail "announced waits '$got', want '$want'" || return 1
	[[ "$(tail -n 1 <<<"$output")" == \
	    "$1: 127.0.0.1:$FLAKY_PORT: "*"; gave up after 3 reconnect attempts" ]] ||
		fail "no 'gave up after 3 reconnect attempts' last" || return 1
	[ "$(grep -c ' accept ' "$FLAKY_LOG")" -eq 7 ] ||
		fail "$(grep -c ' accept ' "$FLAKY_LOG") connections, want 7" || return 1
	check_backoff 1 2 4 1 2 4
}
