#!/usr/bin/env bats
# Issue 11, the systemd units: dist/systemd and dist/default as make
# install puts them into a scratch root, checked by systemd-analyze
# (verify, security), and the servers run the way the units run them:
# each unit's ExecStart, with the unit's Environment= defaults and its
# default file, expanded as systemd expands it (unit_exec below: no
# systemd runs as PID 1 here), its paths moved into temporary
# directories, under systemd-socket-activate or on loopback ports of
# their own, with real peers: ffmpeg, ffprobe, rtmpdump's rtmp-dump, nginx-rtmp.

load helpers

SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
LISTEN=$RTMPKIT_BIN/rtmp-listen
RELAY=$RTMPKIT_BIN/rtmp-relay
BALANCE=$RTMPKIT_BIN/rtmp-balance

setup_file() {
	local r
	require systemd-analyze systemd-socket-activate python3 ffmpeg ffprobe socat
	# make install into a scratch root, the Debian package's layout, of
	# the programs under test (built already, -o all: make builds nothing
	# here; .san/cmd's under SANITIZE=1).
	R=$BATS_FILE_TMPDIR/root
	export R
	r=$(cd "$SRC" && timeout 120 make -s -o all install PREFIX=/usr DESTDIR="$R" \
		SYSTEMDDIR=/lib/systemd/system BINS="$(echo "$RTMPKIT_BIN"/rtmp-*)" 2>&1) ||
		fail "make install into $R failed: $r" || return 1
	# What the units name besides our files, from this machine: systemd's
	# own units (sysinit.target, sockets.target ...) and the commands of
	# ExecStart=/ExecReload= outside the package, so that verify checks
	# ours against real ones.
	mkdir -p "$R/usr/lib/systemd" "$R/bin"
	cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
	cp /bin/kill /bin/bash "$R/bin/"
	UNITDIR=$R/lib/systemd/system
	export UNITDIR
	# unit_exec's python, written once for the file
	_unit_exec_py >"$BATS_FILE_TMPDIR/unit_exec.py"
}

setup() {
	require_programs
	local p
	for p in "$LISTEN" "$RELAY" "$BALANCE"; do
		[ -x "$p" ] || fail "$p is not built (make)" || return 1
	done
	T=$BATS_TEST_TMPDIR
	# The units' directories, short (Unix socket paths stop at 108 bytes).
	D=$(mktemp -d /tmp/rtmpkit-svc.XXXXXX)
	mkdir -p "$D/run" "$D/log" "$D/state" "$D/etc"
	echo "$D" >"$T/svcdir"
}

teardown() {
	stop_all
	[ -n "${D:-}" ] && [ -d "$D" ] && rm -rf "$D"
	return 0
}

# wait_exists PATH [SECONDS]: until PATH exists (a socket, a file).
wait_exists() {
	local i n=$(((${2:-10}) * 10))
	for ((i = 0; i < n; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "no $1 after ${2:-10} s"
}

# wait_title PID TEXT: until ps shows TEXT in the process title (10 s).
wait_title() {
	local i title
	for ((i = 0; i < 50; i++)); do
		title=$(ps -o args= -p "$1")
		[[ "$title" == *"$2"* ]] && { echo "# title: $title"; return 0; }
		sleep 0.2
	done
	fail "title of $1 is '$title', want '$2' in it"
}

units() {
	(cd "$UNITDIR" && ls rtmp-*.service rtmp-*.socket)
}

# unit_exec UNIT [VAR=VALUE...] [-- PREFIX...]: run the unit's ExecStart
# as systemd would: its Environment= lines, then its EnvironmentFile=s
# (the installed /etc/default files, from $R), then the VAR=VALUE given
# (an operator's edit of the default file; VAR+=VALUE appends), specifiers (%i %t %n %p %%)
# and $VAR / ${VAR} / $$ expanded as systemd.service(5) says.  The unit's
# paths are moved: /usr/bin/rtmp-* to $RTMPKIT_BIN, /run/rtmpkit,
# /var/log/rtmpkit, /var/lib/rtmpkit, /etc/rtmpkit to $D/run, log, state,
# etc, the first three of which the
# command also finds as RUNTIME_DIRECTORY, LOGS_DIRECTORY, STATE_DIRECTORY.
# With -- PREFIX the command line is PREFIX ARGV; with PREFIX
# systemd-socket-activate the unit's environment goes in as -E options
# (it passes on nothing else).  The process execs into it: run it with
# spawn, its pid is the server's.
unit_exec() {
	SVC_BIN=$RTMPKIT_BIN SVC_DIR=$D SVC_ROOT=$R \
		exec python3 "$BATS_FILE_TMPDIR/unit_exec.py" "$UNITDIR/$1" "${@:2}"
}

# unit_argv UNIT [VAR=VALUE...]: the expanded command line, one word a line.
unit_argv() {
	SVC_BIN=$RTMPKIT_BIN SVC_DIR=$D SVC_ROOT=$R SVC_PRINT=1 \
		python3 "$BATS_FILE_TMPDIR/unit_exec.py" "$UNITDIR/$1" "${@:2}"
}

# unit_reload UNIT PID: run the unit's ExecReload= with MAINPID=PID.
unit_reload() {
	SVC_BIN=$RTMPKIT_BIN SVC_DIR=$D SVC_ROOT=$R SVC_RELOAD=$2 \
		timeout 10 python3 "$BATS_FILE_TMPDIR/unit_exec.py" "$UNITDIR/$1"
}

_unit_exec_py() {
	cat <<-'EOF'
		import os, re, shlex, sys
		path, args = sys.argv[1], sys.argv[2:]
		over, prefix = [], []
		if "--" in args:
		    i = args.index("--")
		    over, prefix = args[:i], args[i + 1:]
		else:
		    over = args
		name = os.path.basename(path)
		base, _, kind = name.rpartition(".")
		pre, at, inst = base.partition("@")
		if at and not inst:
		    inst = os.environ.get("SVC_INSTANCE", "test")
		    name = "%s@%s.%s" % (pre, inst, kind)
		spec = {"i": inst, "I": inst, "n": name, "N": name.rpartition(".")[0],
		        "p": pre, "t": "/run", "S": "/var/lib", "L": "/var/log", "%": "%"}
		def specifiers(s):
		    def one(m):
		        if m.group(1) not in spec:
		            sys.exit("unit_exec: specifier %%%s not emulated" % m.group(1))
		        return spec[m.group(1)]
		    return re.sub(r"%(.)", one, s)
		# [Service] lines, continuations joined
		lines, sect, cur = [], None, ""
		for raw in open(path):
		    raw = raw.rstrip("\n")
		    if cur:
		        raw = cur + raw
		        cur = ""
		    if raw.endswith("\\"):
		        cur = raw[:-1] + " "
		        continue
		    s = raw.strip()
		    if not s or s[0] in "#;":
		        continue
		    if s.startswith("["):
		        sect = s
		        continue
		    if sect == "[Service]" and "=" in s:
		        k, v = s.split("=", 1)
		        lines.append((k.strip(), v.strip()))
		def envfile_value(v):
		    v = v.strip()
		    if len(v) >= 2 and v[0] == "'" and v[-1] == "'":
		        return v[1:-1]
		    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
		        return re.sub(r'\\(["\\$`])', r"\1", v[1:-1])
		    return re.sub(r"\\(.)", r"\1", v)
		env, execstart = {}, None
		for k, v in lines:
		    if k == "Environment":
		        for w in shlex.split(specifiers(v)):
		            a, _, b = w.partition("=")
		            env[a] = b
		    elif k == "EnvironmentFile" and not os.environ.get("SVC_NOFILES"):
		        v = specifiers(v)
		        opt = v.startswith("-")
		        f = os.environ["SVC_ROOT"] + v.lstrip("-")
		        if not os.path.exists(f):
		            if opt:
		                continue
		            sys.exit("unit_exec: no %s" % f)
		        for l in open(f):
		            l = l.strip()
		            if not l or l[0] in "#;" or "=" not in l:
		                continue
		            a, _, b = l.partition("=")
		            env[a.strip()] = envfile_value(b)
		    elif k == ("ExecReload" if os.environ.get("SVC_RELOAD") else "ExecStart"):
		        execstart = specifiers(v)
		for o in over:
		    a, _, b = o.partition("=")
		    if a.endswith("+"):
		        a = a[:-1]
		        b = env.get(a, "") + " " + b
		    env[a] = b
		d = os.environ["SVC_DIR"]
		moves = [("/usr/bin/rtmp-", os.environ["SVC_BIN"] + "/rtmp-"),
		         ("/run/rtmpkit", d + "/run"), ("/var/log/rtmpkit", d + "/log"),
		         ("/var/lib/rtmpkit", d + "/state"), ("/etc/rtmpkit", d + "/etc")]
		def move(s):
		    for a, b in moves:
		        s = s.replace(a, b)
		    return s
		env = {k: move(v) for k, v in env.items()}
		env.update(RUNTIME_DIRECTORY=d + "/run", LOGS_DIRECTORY=d + "/log",
		           STATE_DIRECTORY=d + "/state")
		if os.environ.get("SVC_RELOAD"):
		    env["MAINPID"] = os.environ["SVC_RELOAD"]
		if execstart is None:
		    sys.exit("unit_exec: no ExecStart in " + path)
		while execstart[:1] in "-@:+!":
		    execstart = execstart[1:]
		argv = []
		for w in shlex.split(execstart):
		    m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
		    if m:
		        argv += shlex.split(env.get(m.group(1), ""))
		        continue
		    out, i = "", 0
		    while i < len(w):
		        if w.startswith("$$", i):
		            out += "$"; i += 2
		        elif w.startswith("${", i) and "}" in w[i:]:
		            j = w.index("}", i)
		            out += env.get(w[i + 2:j], ""); i = j + 1
		        else:
		            out += w[i]; i += 1
		    argv.append(out)
		argv = [move(a) for a in argv]
		if os.environ.get("SVC_PRINT"):
		    print("\n".join(argv))
		    sys.exit(0)
		full = dict(os.environ)
		full.update(env)
		for k in ("SVC_BIN", "SVC_DIR", "SVC_ROOT", "SVC_PRINT", "SVC_RELOAD", "SVC_NOFILES"):
		    full.pop(k, None)
		# systemd starts every service in a session of its own
		try:
		    os.setsid()
		except OSError:
		    pass
		if prefix and os.path.basename(prefix[0]) == "systemd-socket-activate":
		    pass_on = dict(env)
		    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
		        if k in os.environ:
		            pass_on[k] = os.environ[k]
		    prefix = prefix + ["-E%s=%s" % kv for kv in sorted(pass_on.items())]
		cmd = prefix + argv
		os.execvpe(cmd[0], cmd, full)
	EOF
}

# activate NAME UNIT PORT [VAR=VALUE...]: the unit's ExecStart under
# systemd-socket-activate on 127.0.0.1:PORT, as its .socket would start it
# (at the first connection; LISTEN_PID is the server's own, no shell
# between).  Sets SERVER_PID.
activate() {
	local name=$1 unit=$2 port=$3
	shift 3
	spawn "$name" unit_exec "$unit" "$@" -- systemd-socket-activate -l "127.0.0.1:$port"
	SERVER_PID=$SPAWNED
	wait_port "$port" 10
}

# ffprobe_play URL: ffprobe reads the live stream; prints "VIDEO AUDIO" codecs.
ffprobe_play() {
	timeout 30 ffprobe -v error -rw_timeout 10000000 -show_entries stream=codec_name \
		-of csv=p=0 "$1" | sort -u | tr '\n' ' ' | sed 's/ *$//'
}

# has_av CODECS: ffprobe_play's answer names h264 and aac.
has_av() {
	[[ " $1 " == *" h264 "* && " $1 " == *" aac "* ]] ||
		fail "ffprobe saw '$1', want h264 and aac"
}

# notify_run PORT_TAKEN|free -- CMD...: a python3 NOTIFY_SOCKET listener
# runs CMD with NOTIFY_SOCKET set; prints each datagram it gets as
# "notify: TEXT"; right after READY=1 connects to $NOTIFY_PORT and prints
# "connect: ok" or "connect: refused"; then SIGTERM, the datagrams until
# the exit, and "exit: STATUS".  With "taken" the port is bound by the
# listener first: CMD must exit by itself.
notify_run() {
	local mode=$1
	shift 2
	timeout 40 python3 - "$mode" "$NOTIFY_PORT" "$T/notify.sock" "$@" <<-'EOF'
		import os, select, signal, socket, subprocess, sys, time
		mode, port, path, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
		n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		n.bind(path)
		if mode == "taken":
		    taken = socket.socket()
		    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    taken.bind(("127.0.0.1", port))
		    taken.listen(1)
		p = subprocess.Popen(cmd, env=dict(os.environ, NOTIFY_SOCKET=path),
		                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
		def drain(t):
		    got = []
		    r, _, _ = select.select([n], [], [], t)
		    while r:
		        got.append(n.recv(4096).decode().replace("\n", " ").strip())
		        r, _, _ = select.select([n], [], [], 0)
		    for d in got:
		        print("notify: " + d, flush=True)
		    return got
		deadline, ready = time.time() + 10, False
		while time.time() < deadline and not ready:
		    exited = p.poll() is not None
		    ready = any("READY=1" in d.split() for d in drain(0.2 if exited else 0.01))
		    if exited:
		        break
		if ready:
		    c = socket.socket()
		    try:
		        c.connect(("127.0.0.1", port))
		        print("connect: ok", flush=True)
		    except OSError as e:
		        print("connect: refused (%s)" % e, flush=True)
		    c.close()
		    p.send_signal(signal.SIGTERM)
		    deadline = time.time() + 10
		    while time.time() < deadline and p.poll() is None:
		        drain(0.05)
		try:
		    rc = p.wait(10)
		except subprocess.TimeoutExpired:
		    p.kill()
		    rc = "timeout"
		drain(0.2)
		print("exit: %s" % rc)
	EOF
}

@test "service: systemd-analyze verify passes every unit, installed, without a warning" {
	local u out bad=
	for u in $(units); do
		out=$(cd "$R" && MANPATH=$R/usr/share/man timeout 120 \
			systemd-analyze verify --root="$R" "/lib/systemd/system/$u" 2>&1)
		rc=$?
		echo "# $u: verify exit $rc${out:+: $out}"
		# any line about one of ours is a finding (rtmp-x@i for templates)
		if [ "$rc" -ne 0 ] || grep -q 'rtmp-' <<<"$out"; then
			bad="$bad $u"
		fi
	done
	[ -z "$bad" ] || fail "systemd-analyze verify complains about:$bad"
	# the check has teeth: a unit naming a missing program or man page fails
	sed -e 's|/usr/bin/rtmp-listen |/usr/bin/rtmp-nosuch |' \
		"$UNITDIR/rtmp-listen.service" >"$UNITDIR/rtmp-broken.service"
	run bash -c "cd '$R' && MANPATH='$R/usr/share/man' timeout 120 \
		systemd-analyze verify --root='$R' /lib/systemd/system/rtmp-broken.service 2>&1"
	rm -f "$UNITDIR/rtmp-broken.service"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"rtmp-nosuch is not executable"* ]]
	# every server has its .service and .socket, the templates theirs
	for u in rtmp-listen.service rtmp-listen.socket rtmp-relay.service rtmp-relay.socket \
	    rtmp-balance.service rtmp-balance.socket rtmp-relay@.service rtmp-relay@.socket \
	    rtmp-balance@.service rtmp-ingest.service rtmp-streams.service rtmp-record.service; do
		[ -f "$UNITDIR/$u" ] || fail "$u is not installed" || return 1
	done
	grep -qx 'Conflicts=rtmp-listen.socket rtmp-listen.service' "$UNITDIR/rtmp-balance.socket"
	# without /etc/default/rtmp-* a unit runs what the shipped file says
	for u in $(cd "$UNITDIR" && ls rtmp-*.service); do
		[ "$(SVC_NOFILES=1 unit_argv "$u")" = "$(unit_argv "$u")" ] ||
			fail "$u: its Environment= defaults differ from its default file" || return 1
	done
	! grep -q '@BINDIR@\|@SYSCONFDIR@' "$UNITDIR"/* "$R"/etc/default/rtmp-*
}

@test "service: systemd-analyze security --offline=true rates every .service below 3.0" {
	local u out score bad=
	for u in $(cd "$UNITDIR" && ls rtmp-*.service); do
		out=$(cd "$R" && timeout 120 systemd-analyze security --offline=true \
			--root="$R" "/lib/systemd/system/$u" 2>&1)
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
		echo "# $u: ${score:-no score}"
		[ -n "$score" ] || { echo "$out" | tail -n 5; bad="$bad $u(none)"; continue; }
		awk -v s="$score" 'BEGIN { exit !(s < 3.0) }' || bad="$bad $u($score)"
	done
	[ -z "$bad" ] || fail "exposure 3.0 or more:$bad"
}

@test "service: rtmp-listen.service socket-activated takes an ffmpeg publish into a relay of its own" {
	local port play
	require rtmpdump
	port=$(free_port)
	play=$(free_port)
	# the unit's own command line, as systemd would run it
	unit_argv rtmp-listen.service
	activate listen rtmp-listen.service "$port"
	# the first connection starts it: the publisher
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/cam"
	wait_exists "$D/run/cam.sock" 15 || { ls -l "$D/run"; return 1; }
	[ -S "$D/run/cam.sock" ]
	alive "$SERVER_PID"
	# the server is the process systemd-socket-activate exec'd
	grep -q '^rtmp-listen\|/rtmp-listen ' <(ps -o args= -p "$SERVER_PID")
	wait_log "$D/log/rtmp-listen.log" 'stream live/cam: publish start' 10
	[ -S "$D/run/rtmp-listen.stats" ]
	[ "$(server_stats "$D/run/rtmp-listen.stats" 'len(d["publishers"])')" = 1 ]
	# a player reaches that relay through a balancer on the directory
	spawn balance "$BALANCE" -a stream -l "127.0.0.1:$play" "unix:$D/run/"
	wait_port "$play"
	has_av "$(ffprobe_play "rtmp://127.0.0.1:$play/live/cam")"
	kill -TERM "$SERVER_PID"
	wait_exit "$SERVER_PID" 10
}

@test "service: rtmp-relay.service socket-activated serves its Unix socket input to ffprobe" {
	local port
	port=$(free_port)
	unit_argv rtmp-relay.service
	activate relay rtmp-relay.service "$port"
	# a player starts it; it waits for the writer on its input socket
	spawn starter python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(30)' "$port"
	wait_exists "$D/run/rtmp-relay.flv" 10
	[ -S "$D/run/rtmp-relay.flv" ]
	spawn_sh feed "exec ffmpeg -nostdin -v error -re -stream_loop -1 -i '$CLIP' -c copy -f flv - |
		socat -u - 'UNIX-CONNECT:$D/run/rtmp-relay.flv'"
	has_av "$(ffprobe_play "rtmp://127.0.0.1:$port/live/show")"
	[ "$(server_stats "$D/run/rtmp-relay.stats" 'd["input"]["state"]')" = live ]
	kill -TERM "$SERVER_PID"
	wait_exit "$SERVER_PID" 10
}

@test "service: rtmp-balance.service socket-activated passes an ffmpeg publish and an ffprobe play to nginx-rtmp" {
	local port ng
	port=$(free_port)
	ng=$(free_port)
	start_nginx "$ng"
	# the default file's options (-a stream), the backends edited to
	# nginx, which takes both roles (the role words' form, one address
	# twice, is balance.bats' "named twice").
	unit_argv rtmp-balance.service RTMP_BALANCE_BACKENDS=127.0.0.1:$ng
	activate balance rtmp-balance.service "$port" RTMP_BALANCE_BACKENDS=127.0.0.1:$ng
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/cam"
	wait_publishing "$ng" cam 15
	has_av "$(ffprobe_play "rtmp://127.0.0.1:$port/live/cam")"
	wait_playing "$ng" cam 5
	grep -q 'live/cam' "$D/log/rtmp-balance.log"
	[ "$(server_stats "$D/run/rtmp-balance.stats" 'd["algorithm"]')" = stream ]
	kill -TERM "$SERVER_PID"
	wait_exit "$SERVER_PID" 15
}

@test "service: READY=1 only once the port accepts, none when the port is taken, STOPPING=1 on SIGTERM" {
	local unit extra prog
	for unit in rtmp-listen rtmp-relay rtmp-balance; do
		NOTIFY_PORT=$(free_port)
		case $unit in
		rtmp-listen) extra=("127.0.0.1:$NOTIFY_PORT") ;;
		rtmp-relay) extra=(-l "127.0.0.1:$NOTIFY_PORT") ;;
		rtmp-balance) extra=(-l "127.0.0.1:$NOTIFY_PORT" 127.0.0.1:9) ;;
		esac
		# the unit's command line, relay input on stdin (a pipe that
		# stays open), a listen address of its own
		mapfile -t prog < <(unit_argv "$unit.service" RTMP_RELAY_INPUT=-)
		rm -f "$T/notify.sock"
		run notify_run free -- "${prog[@]}" "${extra[@]}"
		echo "# $unit: $output"
		[ "$status" -eq 0 ]
		grep -q '^notify: .*READY=1' <<<"$output" || fail "$unit: no READY=1"
		# the listener connects at once after READY=1, and only then
		grep -qx 'connect: ok' <<<"$output" || fail "$unit: READY=1 before the port accepted"
		grep -qx 'notify: STOPPING=1' <<<"$output" || fail "$unit: no STOPPING=1"
		[ "${lines[-1]}" = "exit: 0" ] || fail "$unit: SIGTERM did not end it with 0"
		# the port taken: exit 1, and never READY=1
		rm -f "$T/notify.sock"
		run notify_run taken -- "${prog[@]}" "${extra[@]}"
		echo "# $unit, port taken: $output"
		[ "$status" -eq 0 ]
		! grep -q 'READY=1' <<<"$output" || fail "$unit: READY=1 although it could not bind"
		[ "${lines[-1]}" = "exit: 1" ] || fail "$unit: exit ${lines[-1]}, want 1"
	done
}

@test "service: SIGHUP (systemctl reload) reopens rtmp-relay's log; SIGTERM ends it 0, its player 0" {
	local port pid before n
	port=$(free_port)
	spawn_sh relay "ffmpeg -nostdin -v error -re -stream_loop -1 -i '$CLIP' -c copy -f flv - |
		exec '$RELAY' -L '$D/log/x.log' -P '$D/run/relay.pid' -l 127.0.0.1:$port"
	local sh=$SPAWNED
	wait_port "$port"
	wait_file "$D/run/relay.pid" 5
	pid=$(cat "$D/run/relay.pid")
	# ffmpeg as the first player: it ends at the relay's end of stream
	# (rtmp-dump takes a connection closed after UnpublishNotify for a drop
	# and reconnects)
	record_ffmpeg "rtmp://127.0.0.1:$port/live/x" "$T/one.flv"
	local p1=$RECORDER_PID
	wait_file "$T/one.flv" 15 100000
	wait_log "$D/log/x.log" 'play' 5
	mv "$D/log/x.log" "$D/log/x.log.1"
	before=$(wc -l <"$D/log/x.log.1")
	kill -HUP "$pid"
	wait_exists "$D/log/x.log" 5
	# something to log: a second player, and the stats on SIGUSR1
	run timeout 30 "$DUMP" -d 2 -o "$T/two.flv" "rtmp://127.0.0.1:$port/live/x"
	[ "$status" -eq 0 ]
	kill -USR1 "$pid"
	wait_log "$D/log/x.log" 'stats' 5
	wait_log "$D/log/x.log" 'play' 5
	[ "$(wc -l <"$D/log/x.log.1")" -eq "$before" ] || fail "the moved log still grows"
	# the first player never noticed
	n=$(stat -c %s "$T/one.flv")
	sleep 1
	[ "$(stat -c %s "$T/one.flv")" -gt "$n" ] || fail "player 1 stopped getting media"
	alive "$p1"
	kill -TERM "$pid"
	wait_status "$sh" 15 || fail "relay did not end on SIGTERM"
	[ "$STATUS" -eq 0 ] || fail "relay exited $STATUS after SIGTERM"
	wait_status "$p1" 15 || fail "player 1 did not end"
	[ "$STATUS" -eq 0 ] || fail "player 1 (ffmpeg) exited $STATUS at the end of the stream"
	valid_av "$T/one.flv"
	[ ! -e "$D/run/relay.pid" ]
}

@test "service: -P pidfile holds the pid, refuses a second server, goes at exit; process titles" {
	local port port2 pid ng
	port=$(free_port)
	port2=$(free_port)
	spawn listen "$LISTEN" -P "$D/run/listen.pid" -e 'exec cat >/dev/null' "127.0.0.1:$port"
	pid=$SPAWNED
	wait_port "$port"
	wait_file "$D/run/listen.pid" 5
	[ "$(cat "$D/run/listen.pid")" = "$pid" ]
	# a second one: exit 1 before it binds its (free) address
	run timeout 10 "$LISTEN" -P "$D/run/listen.pid" -e 'exec cat >/dev/null' "127.0.0.1:$port2"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already running as pid $pid"* ]]
	[ -z "$(ss -Hltn "sport = :$port2")" ]
	# the title names what is served
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/cam"
	wait_title "$pid" "1 publisher, 0 players: live/cam"
	kill -TERM "$pid"
	wait_exit "$pid" 10
	[ ! -e "$D/run/listen.pid" ]
	# rtmp-balance: clients and backends up, one of two (the second dead)
	ng=$(free_port)
	start_nginx "$ng"
	spawn balance "$BALANCE" -i 200 -F 1 -R 1 -P "$D/run/balance.pid" \
		-l "127.0.0.1:$port" "127.0.0.1:$ng" 127.0.0.1:9
	pid=$SPAWNED
	wait_port "$port"
	wait_title "$pid" "0 clients, 1 of 2 backends up"
	[ "$(cat "$D/run/balance.pid")" = "$pid" ]
	run timeout 10 "$BALANCE" -P "$D/run/balance.pid" -l "127.0.0.1:$port2" "127.0.0.1:$ng"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already running as pid $pid"* ]]
	kill -TERM "$pid"
	wait_exit "$pid" 15
	[ ! -e "$D/run/balance.pid" ]
}

@test "service: rtmp-ingest.service's pipeline serves ffprobe what ffmpeg publishes" {
	local in out
	in=$(free_port)
	out=$(free_port)
	unit_argv rtmp-ingest.service RTMP_INGEST_LISTEN=127.0.0.1:$in RTMP_INGEST_PLAY=127.0.0.1:$out
	spawn ingest unit_exec rtmp-ingest.service \
		RTMP_INGEST_LISTEN=127.0.0.1:$in RTMP_INGEST_PLAY=127.0.0.1:$out
	SERVER_PID=$SPAWNED
	wait_port "$in"
	wait_port "$out"
	# the relay is the main process, rtmp-listen its child
	grep -q 'rtmp-relay' <(ps -o args= -p "$SERVER_PID")
	publish_loop_ffmpeg "rtmp://127.0.0.1:$in/live/cam"
	has_av "$(ffprobe_play "rtmp://127.0.0.1:$out/live/cam")"
	run timeout 30 "$DUMP" -d 3 -o "$T/out.flv" "rtmp://127.0.0.1:$out/live/cam"
	[ "$status" -eq 0 ]
	valid_av "$T/out.flv"
	[ -s "$D/log/ingest-listen.log" ]
	[ -S "$D/run/ingest-relay.stats" ]
	# ExecReload's signal to the process group reaches both
	mv "$D/log/ingest-listen.log" "$D/log/ingest-listen.log.1"
	mv "$D/log/ingest-relay.log" "$D/log/ingest-relay.log.1"
	[ "$(ps -o pgid= -p "$SERVER_PID" | tr -d ' ')" = "$SERVER_PID" ]
	grep -qx 'ExecReload=/bin/kill -HUP -- -${MAINPID}' "$UNITDIR/rtmp-ingest.service"
	unit_reload rtmp-ingest.service "$SERVER_PID"
	wait_exists "$D/log/ingest-relay.log" 5
	wait_exists "$D/log/ingest-listen.log" 5
	alive "$SERVER_PID"
}

@test "service: rtmp-streams.service behind rtmp-balance.service: two streams, each its own relay socket, played through the balancer" {
	local port wa wb
	port=$(free_port)
	make_clip "$T/small.flv" 6 320x240
	unit_argv rtmp-streams.service
	spawn streams unit_exec rtmp-streams.service
	local streams=$SPAWNED
	wait_exists "$D/run/rtmp-streams.ingest" 10
	unit_argv rtmp-balance.service
	activate balance rtmp-balance.service "$port"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/a"
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/b" "$T/small.flv"
	wait_exists "$D/run/a.sock" 15
	wait_exists "$D/run/b.sock" 15
	[ -S "$D/run/a.sock" ] && [ -S "$D/run/b.sock" ]
	[ "$(server_stats "$D/run/rtmp-streams.stats" 'len(d["publishers"])')" = 2 ]
	run timeout 30 "$DUMP" -d 3 -o "$T/a.flv" "rtmp://127.0.0.1:$port/live/a"
	[ "$status" -eq 0 ]
	run timeout 30 "$DUMP" -d 3 -o "$T/b.flv" "rtmp://127.0.0.1:$port/live/b"
	[ "$status" -eq 0 ]
	valid_av "$T/a.flv"
	valid_av "$T/b.flv"
	wa=$(ffprobe -v error -select_streams v -show_entries stream=width -of csv=p=0 "$T/a.flv")
	wb=$(ffprobe -v error -select_streams v -show_entries stream=width -of csv=p=0 "$T/b.flv")
	echo "# widths: a $wa, b $wb"
	[ "$wa" = 640 ] && [ "$wb" = 320 ]
	# a stream nobody publishes is not found
	run timeout 20 "$DUMP" -d 1 -o "$T/none.flv" "rtmp://127.0.0.1:$port/live/none"
	[ "$status" -eq 3 ]
	kill -TERM "$SERVER_PID" "$streams"
	wait_exit "$streams" 10
	wait_exit "$SERVER_PID" 15
}

@test "service: rtmp-record.service writes each publish into a dated FLV in its StateDirectory" {
	local port f
	port=$(free_port)
	unit_argv rtmp-record.service RTMP_RECORD_ADDRESSES=127.0.0.1:$port
	spawn record unit_exec rtmp-record.service RTMP_RECORD_ADDRESSES=127.0.0.1:$port
	SERVER_PID=$SPAWNED
	wait_port "$port"
	run timeout 60 ffmpeg -nostdin -v error -re -i "$CLIP" -t 4 -c copy -f flv \
		"rtmp://127.0.0.1:$port/live/show"
	[ "$status" -eq 0 ]
	wait_log "$D/log/rtmp-record.log" 'publish start' 5
	sleep 1
	ls -l "$D/state"
	f=$(ls "$D/state" | grep -E '^live-show-[0-9]{8}-[0-9]{6}\.flv$')
	[ -n "$f" ] || fail "no live-show-YYYYmmdd-HHMMSS.flv in the state directory"
	[[ "$f" == "live-show-$(date +%Y%m%d)-"* ]]
	valid_av "$D/state/$f"
	within "$(probe_duration "$D/state/$f")" 3 5
	kill -TERM "$SERVER_PID"
	wait_exit "$SERVER_PID" 10
}

# syscall_set FILTER...: the system calls systemd's groups name, one a
# line, nested groups expanded (systemd-analyze syscall-filter).
syscall_set() {
	python3 - "$@" <<-'EOF2'
		import subprocess, sys
		seen, calls = set(), set()
		def expand(g):
		    if g in seen:
		        return
		    seen.add(g)
		    out = subprocess.run(["systemd-analyze", "syscall-filter", g],
		                         capture_output=True, text=True, timeout=60).stdout
		    for l in out.splitlines()[1:]:
		        l = l.strip()
		        if not l or l.startswith("#"):
		            continue
		        (expand if l.startswith("@") else calls.add)(l)
		for g in sys.argv[1:]:
		    expand(g)
		print("\n".join(sorted(calls)))
	EOF2
}

# trace_check TRACE ALLOWED DENIED: every system call in strace -f's
# TRACE is in ALLOWED and not in DENIED (files, one a line); every socket
# is AF_INET, AF_INET6 or AF_UNIX; every file opened for writing, made,
# removed or renamed is under $D or /dev.
trace_check() {
	python3 - "$@" "$D" <<-'EOF2'
		import re, sys
		trace, allowed, denied, d = sys.argv[1:5]
		allowed = set(open(allowed).read().split())
		denied = set(open(denied).read().split())
		calls, bad, writes, families = {}, [], set(), set()
		# A sanitizer build's runtime makes its log's directory and logs
		# there (ASAN_OPTIONS' log_path, helpers.bash): the test's doing,
		# not the program's.
		import os
		logs = re.findall(r"log_path=([^:]*)", os.environ.get("ASAN_OPTIONS", ""))
		san = logs[-1] if logs else ""
		san_dirs = set()
		q = os.path.dirname(san)
		while san and q not in ("", "/"):
		    san_dirs.add(q)
		    q = os.path.dirname(q)
		for l in open(trace, errors="replace"):
		    m = re.match(r"\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()", l)
		    if not m:
		        continue
		    c = m.group(1) or m.group(2)
		    calls[c] = calls.get(c, 0) + 1
		    f = re.match(r"\d+\s+socket(?:pair)?\((AF_\w+)", l)
		    if f and f.group(1) not in ("AF_INET", "AF_INET6", "AF_UNIX"):
		        families.add(f.group(1))
		    if c in ("openat", "open", "creat") and re.search(r"O_WRONLY|O_RDWR|O_CREAT", l) \
		            or c in ("mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2"):
		        for p in re.findall(r'"(/[^"]*)"', l):
		            if not (p.startswith(d + "/") or p.startswith("/dev/") or
		                    p in san_dirs or (san and p.startswith(san))):
		                writes.add(p)
		for c in sorted(calls):
		    if c not in allowed or c in denied:
		        bad.append(c)
		print("# %d calls, %d kinds: %s" % (sum(calls.values()), len(calls), " ".join(sorted(calls))))
		if bad:
		    print("# not allowed by SystemCallFilter=@system-service ~@privileged: " + " ".join(bad))
		if writes:
		    print("# writes outside the units' directories: " + " ".join(sorted(writes)))
		if families:
		    print("# address families RestrictAddressFamilies= refuses: " + " ".join(sorted(families)))
		sys.exit(1 if bad or writes or families else 0)
	EOF2
}

# no_wx PID...: no mapping of these processes is writable and executable
# at once (MemoryDenyWriteExecute=yes would refuse it).
no_wx() {
	local p
	for p in "$@"; do
		[ -r "/proc/$p/maps" ] || fail "no process $p" || return 1
		! grep -E '^[^ ]+ rwx' "/proc/$p/maps" || fail "pid $p maps memory W+X" || return 1
	done
}

# listener_pid ADDRESS: the pid of the process listening on ADDRESS, a
# Unix socket path or a TCP port on 127.0.0.1 (what ss shows; bounded).
listener_pid() {
	local i out
	for ((i = 0; i < 100; i++)); do
		if [ "${1#/}" != "$1" ]; then
			out=$(ss -Hxlp "src $1" 2>/dev/null)
		else
			out=$(ss -Htlnp "sport = :$1" 2>/dev/null)
		fi
		out=$(echo "$out" | grep -o 'pid=[0-9]*' | head -n 1)
		[ -n "$out" ] && { echo "${out#pid=}"; return 0; }
		sleep 0.1
	done
	fail "nothing listens on $1"
}

# traced_child PID: the process strace (PID) runs.
traced_child() {
	local i c
	for ((i = 0; i < 50; i++)); do
		c=$(ps -o pid= --ppid "$1" | head -n 1 | tr -d ' ')
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	fail "strace $1 runs nothing"
}

@test "service: the sandbox lets the servers work: their system calls pass SystemCallFilter and RestrictAddressFamilies, no W+X memory, writes only in the units' directories" {
	local port rec u listen relay balance recorder c
	require strace rtmpdump
	for u in $(cd "$UNITDIR" && ls rtmp-*.service); do
		grep -qx 'SystemCallFilter=@system-service' "$UNITDIR/$u"
		grep -qx 'SystemCallFilter=~@privileged' "$UNITDIR/$u"
		grep -qx 'MemoryDenyWriteExecute=yes' "$UNITDIR/$u"
		grep -qx 'ProtectSystem=strict' "$UNITDIR/$u"
	done
	syscall_set @system-service >"$T/allowed"
	syscall_set @privileged >"$T/denied"
	[ "$(wc -l <"$T/allowed")" -gt 100 ]
	grep -qx execve "$T/allowed"
	port=$(free_port)
	rec=$(free_port)
	# the multi-stream server and its balancer (a relay per stream, by
	# sh -c) and the recorder (sh, date, cat), each under strace -f
	local st=(strace -f -qq -s 256)
	# LeakSanitizer cannot run under ptrace (it says so and fails the
	# program): a sanitizer build here is checked by ASan and UBSan only.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	spawn streams unit_exec rtmp-streams.service -- "${st[@]}" -o "$T/streams.trace"
	listen=$(traced_child "$SPAWNED")
	spawn balance unit_exec rtmp-balance.service "RTMP_BALANCE_OPTIONS+=-l 127.0.0.1:$port" \
		-- "${st[@]}" -o "$T/balance.trace"
	balance=$(traced_child "$SPAWNED")
	spawn record unit_exec rtmp-record.service RTMP_RECORD_ADDRESSES=127.0.0.1:$rec \
		-- "${st[@]}" -o "$T/record.trace"
	recorder=$(traced_child "$SPAWNED")
	wait_port "$port" 20
	wait_port "$rec" 20
	wait_exists "$D/run/rtmp-streams.ingest" 20
	publish_loop_ffmpeg "rtmp://127.0.0.1:$port/live/a"
	wait_exists "$D/run/a.sock" 20
	# The programs themselves, by name and what their command lines hold.
	listen=$(listener_pid "$D/run/rtmp-streams.ingest")
	relay=$(listener_pid "$D/run/a.sock")
	balance=$(listener_pid "$port")
	recorder=$(listener_pid "$rec")
	no_wx "$listen" "$relay" "$balance" "$recorder"
	run timeout 60 "$DUMP" -d 2 -o "$T/a.flv" "rtmp://127.0.0.1:$port/live/a"
	[ "$status" -eq 0 ]
	valid_av "$T/a.flv"
	run timeout 60 ffmpeg -nostdin -v error -re -i "$CLIP" -t 2 -c copy -f flv \
		"rtmp://127.0.0.1:$rec/live/r"
	[ "$status" -eq 0 ]
	# reload (SIGHUP), stats (SIGUSR1), stop (SIGTERM)
	for u in rtmp-streams:$listen rtmp-balance:$balance rtmp-record:$recorder; do
		unit_reload "${u%%:*}.service" "${u#*:}"
		kill -USR1 "${u#*:}"
	done
	wait_log "$D/log/rtmp-balance.log" 'reload' 10 || :
	kill -TERM "$listen" "$balance" "$recorder"
	for c in "$listen" "$balance" "$recorder" "$relay"; do
		wait_exit "$c" 15 || fail "pid $c did not stop" || return 1
	done
	stop "$PUBLISHER_PID"
	sleep 0.5
	ls "$D/state" | grep -qE '^live-r-[0-9]{8}-[0-9]{6}\.flv$'
	for c in streams balance record; do
		echo "# $c:"
		trace_check "$T/$c.trace" "$T/allowed" "$T/denied"
	done
	# the relay and the recorder's shell really ran under the traces
	grep -q 'execve(".*/rtmp-relay"' "$T/streams.trace"
	grep -q 'execve("/bin/sh"' "$T/record.trace"
}

@test "service: the default files' commented-out alternatives are accepted: each server starts with them, -M serves /metrics" {
	local unit extra m prog over
	require curl
	printf '127.0.0.1:9\n' >"$D/etc/balance.backends"
	for unit in rtmp-listen rtmp-relay rtmp-balance; do
		# the first commented-out value of each variable, uncommented as an
		# operator would, its metrics port a free one
		m=$(free_port)
		mapfile -t over < <(python3 - "$R/etc/default/$unit" "$m" <<-'EOF2'
			import re, sys
			seen = set()
			for l in open(sys.argv[1]):
			    m = re.match(r"#(RTMP_[A-Z_]+)=(.*)$", l.rstrip("\n"))
			    if m and m.group(1) not in seen:
			        seen.add(m.group(1))
			        v = m.group(2)
			        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
			            v = v[1:-1]
			        print("%s=%s" % (m.group(1), re.sub(r"127\.0\.0\.1:910[0-9]", "127.0.0.1:" + sys.argv[2], v)))
		EOF2
		)
		[ "${#over[@]}" -gt 0 ] || fail "no commented-out alternative in /etc/default/$unit" || return 1
		printf '# %s\n' "${over[@]}"
		NOTIFY_PORT=$(free_port)
		case $unit in
		rtmp-listen) extra=("127.0.0.1:$NOTIFY_PORT") ;;
		*) extra=(-l "127.0.0.1:$NOTIFY_PORT") ;;
		esac
		mapfile -t prog < <(unit_argv "$unit.service" "${over[@]}" "RTMP_RELAY_INPUT=unix:$D/run/alt.flv")
		printf '%s\n' "${prog[@]}" | grep -qx -- -M
		spawn "$unit" env "RUNTIME_DIRECTORY=$D/run" "STATE_DIRECTORY=$D/state" \
			"${prog[@]}" "${extra[@]}"
		wait_port "$NOTIFY_PORT" 10 && wait_port "$m" 10 ||
			{ cat "$D/log/$unit.log"; return 1; }
		run timeout 10 curl -fsS "http://127.0.0.1:$m/metrics"
		[ "$status" -eq 0 ] || fail "$unit: GET /metrics failed: $output"
		grep -q '^# TYPE ' <<<"$output"
		if [ "$unit" = rtmp-listen ]; then
			# its other command: a dated recording
			run timeout 60 ffmpeg -nostdin -v error -re -i "$CLIP" -t 2 -c copy -f flv \
				"rtmp://127.0.0.1:$NOTIFY_PORT/live/alt"
			[ "$status" -eq 0 ]
			sleep 0.5
			ls "$D/state" | grep -qE '^alt-[0-9]{8}-[0-9]{6}\.flv$'
		fi
		kill -TERM "$SPAWNED"
		wait_exit "$SPAWNED" 15
	done
}
