#!/usr/bin/env bats
# The Debian package (issue 11).  dpkg-buildpackage builds it from a copy of
# the repository's tracked files (what a fresh clone has), dpkg-deb and
# lintian check it; then apt-get installs it into a minimal Debian 12 root
# (debootstrap --variant=minbase, which has no libssl3: apt must fetch it
# through the package's Depends), the installed programs make an RTMPS round
# trip there, and apt-get purge must leave nothing of rtmpkit behind.
#
# debootstrap takes a while and the suite runs twice in CI, so the fresh
# root is kept as a tarball in $RTMPKIT_CACHE (default
# /var/tmp/rtmpkit-cache; remade after 30 days, or delete it) and each run
# unpacks its own copy.  Needs root (chroot, mount) and the network (apt).

# Before helpers, which would set 120 s: a cold cache means a debootstrap.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-1200}

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CACHE=${RTMPKIT_CACHE:-/var/tmp/rtmpkit-cache}
MIRROR=${RTMPKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_TAR=$CACHE/bookworm-minbase.tar
# What the root's file lists leave out: apt's and dpkg's own state, logs,
# the kernel's file systems and scratch space (the test's files are in /tmp).
IGNORED='^/(proc|dev|tmp|var/cache/apt|var/lib/apt|var/lib/dpkg|var/log)(/|$)'

setup_file() {
	require git tar dpkg-buildpackage dpkg-deb dh lintian debootstrap \
		chroot mount umount findmnt flock ffmpeg ffprobe openssl python3 ss ||
		return 1
	[ "$(id -u)" -eq 0 ] ||
		fail "package.bats needs root: debootstrap, chroot and mount" ||
		return 1
	export PKG=$BATS_FILE_TMPDIR/pkg
	mkdir -p "$PKG"
	reap_roots
}

teardown_file() {
	local rc=0
	stop_all || rc=1
	if [ -f "$BATS_FILE_TMPDIR/rootdir" ]; then
		drop_root "$(cat "$BATS_FILE_TMPDIR/rootdir")" || rc=1
	fi
	return $rc
}

# drop_root DIR: unmount what is mounted under DIR (bounded; lazily if it
# is busy), then remove DIR, never across a mount point: rm -rf into a
# mounted /proc or /dev would reach the host's.
drop_root() {
	local d=$1 m
	for m in $(findmnt -rn -o TARGET | grep -F "$d/" | sort -r); do
		timeout 30 umount "$m" 2>/dev/null || timeout 30 umount -l "$m" ||
			echo "# cannot unmount $m"
	done
	if findmnt -rn -o TARGET | grep -qF "$d/"; then
		fail "still mounted under $d: left in place"
		return 1
	fi
	timeout 120 rm -rf --one-file-system "$d"
}

# reap_roots: a run killed before its teardown_file leaves its root (and
# /proc mounted in it) under $CACHE/roots; remove those whose bats is gone.
reap_roots() {
	local d pid
	for d in "$CACHE"/roots/*; do
		[ -f "$d/owner" ] || continue
		pid=$(cat "$d/owner")
		kill -0 "$pid" 2>/dev/null && continue
		drop_root "$d" || :
	done
}

# make_base: the cached minbase tarball, made once under a lock (the plain
# and SANITIZE=1 runs may meet) and again when older than 30 days.
make_base() {
	mkdir -p "$CACHE"
	(
		flock -w 1200 9 || { echo "# cannot lock $CACHE/.lock"; exit 1; }
		if [ -s "$BASE_TAR" ] && [ -z "$(find "$BASE_TAR" -mtime +30)" ]; then
			exit 0
		fi
		tmp=$(mktemp -d "$CACHE/new.XXXXXX") || exit 1
		echo "# debootstrap --variant=minbase bookworm (cached in $BASE_TAR)"
		if ! timeout 1000 debootstrap --variant=minbase bookworm \
		    "$tmp/root" "$MIRROR" >"$BATS_FILE_TMPDIR/debootstrap.log" 2>&1; then
			tail -n 20 "$BATS_FILE_TMPDIR/debootstrap.log" | sed 's/^/#   /'
			drop_root "$tmp"
			exit 1
		fi
		# the .debs it installed are only weight
		rm -f "$tmp"/root/var/cache/apt/archives/*.deb
		timeout 300 tar --numeric-owner -C "$tmp/root" -cf "$tmp/base.tar" . &&
			mv "$tmp/base.tar" "$BASE_TAR"
		rc=$?
		drop_root "$tmp"
		exit $rc
	) 9>"$CACHE/.lock"
}

# root_ready: R, this file's own root unpacked from the cache, with the
# host's resolv.conf and /proc; made by the first test that needs it.
root_ready() {
	local d
	[ -n "${R:-}" ] && [ -d "$R/etc" ] && return 0
	if [ -f "$BATS_FILE_TMPDIR/rootdir" ]; then
		R=$(cat "$BATS_FILE_TMPDIR/rootdir")/root
		[ -d "$R/etc" ] && return 0
	fi
	make_base || fail "no minbase root: debootstrap failed" || return 1
	mkdir -p "$CACHE/roots"
	d=$(mktemp -d "$CACHE/roots/run.XXXXXX") || return 1
	echo "$BATS_ROOT_PID" >"$d/owner"
	echo "$d" >"$BATS_FILE_TMPDIR/rootdir"
	R=$d/root
	mkdir "$R"
	timeout 300 tar --numeric-owner -xpf "$BASE_TAR" -C "$R" ||
		fail "cannot unpack $BASE_TAR" || return 1
	rm -f "$R/etc/resolv.conf"
	cp -L /etc/resolv.conf "$R/etc/resolv.conf" || return 1
	# apt's log wants a pty otherwise, and the root has no /dev/pts
	echo 'Dpkg::Use-Pty "0";' >"$R/etc/apt/apt.conf.d/90rtmpkit-test"
	timeout 30 mount -t proc proc "$R/proc" || fail "cannot mount $R/proc" ||
		return 1
}

# in_root CMD...: CMD in the root, with a clean environment;
# in_root_for SECONDS CMD...: the same, bounded.
ROOT_ENV=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
	LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
in_root() {
	chroot "$R" "${ROOT_ENV[@]}" "$@"
}
in_root_for() {
	local t=$1
	shift
	timeout "$t" chroot "$R" "${ROOT_ENV[@]}" "$@"
}

# root_files: every path in the root but the IGNORED ones, sorted.
root_files() {
	(cd "$R" && find . -xdev -print) | sed 's|^\.||; /^$/d' |
		grep -Ev "$IGNORED" | LC_ALL=C sort
}

root_packages() {
	in_root dpkg-query -W -f '${Package}\n' | LC_ALL=C sort
}

# the_deb: the package the first test built.
the_deb() {
	for DEB in "$PKG"/rtmpkit_*.deb; do break; done
	[ -f "$DEB" ] || fail "no package: the build test failed"
}

@test "package: dpkg-buildpackage builds it from the tracked files; contents, Depends, lintian" {
	local src=$BATS_FILE_TMPDIR/src/rtmpkit version arch deb f want missing=
	mkdir -p "$src"
	# The tracked files only: a fresh clone has no others.
	git -C "$ROOT" ls-files -z |
		tar -C "$ROOT" --null -T - --ignore-failed-read -cf - |
		tar -C "$src" -xf -
	[ -f "$src/debian/rules" ] || fail "no debian/rules among the tracked files"
	# Not the suite's build: no SANITIZE=1 or CC from make check's command
	# line (MAKEFLAGS) in the package.
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u CC \
		-u CFLAGS -u CPPFLAGS -u LDFLAGS DEB_BUILD_OPTIONS=noddebs \
		sh -c "cd '$src' && exec timeout 900 dpkg-buildpackage -us -uc -b \
		    >'$BATS_FILE_TMPDIR/build.log' 2>&1"
	[ "$status" -eq 0 ] || {
		tail -n 40 "$BATS_FILE_TMPDIR/build.log"
		fail "dpkg-buildpackage failed ($status)"
	}
	version=$(sed -n 's/^#define RTMPKIT_VERSION "\(.*\)"$/\1/p' "$src/lib/version.h")
	arch=$(dpkg --print-architecture)
	deb=$BATS_FILE_TMPDIR/src/rtmpkit_${version}_$arch.deb
	[ -f "$deb" ] || fail "no $deb (version $version from lib/version.h)"
	[ "$(dpkg-deb -f "$deb" Version)" = "$version" ]

	# Everything make install puts in place, from the tree's own lists.
	dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }' >"$BATS_FILE_TMPDIR/contents"
	want=$(
		cd "$src" || exit 1
		for f in cmd/rtmp-*.c; do f=${f#cmd/}; echo "/usr/bin/${f%.c}"; done
		for f in man/*.[1-9]; do echo "/usr/share/man/man${f##*.}/${f#man/}.gz"; done
		for f in dist/systemd/*.service dist/systemd/*.socket; do
			[ -f "$f" ] && echo "/lib/systemd/system/${f##*/}"
		done
		for f in dist/default/rtmp-*; do [ -f "$f" ] && echo "/etc/default/${f##*/}"; done
		echo /etc/logrotate.d/rtmpkit
	)
	for f in $want; do
		grep -qxF "$f" "$BATS_FILE_TMPDIR/contents" || missing="$missing $f"
	done
	[ -z "$missing" ] || fail "not in the package:$missing"
	grep -qE '^/lib/systemd/system/.*\.service$' "$BATS_FILE_TMPDIR/contents" ||
		fail "no systemd unit in the package (dist/systemd)"
	grep -qE '^/etc/default/rtmp-' "$BATS_FILE_TMPDIR/contents" ||
		fail "no /etc/default file in the package (dist/default)"
	# make install's @BINDIR@-style placeholders all substituted
	dpkg-deb -x "$deb" "$BATS_FILE_TMPDIR/x"
	run grep -rlE '@[A-Z][A-Z_]*@' "$BATS_FILE_TMPDIR/x/etc" \
		"$BATS_FILE_TMPDIR/x/lib/systemd"
	[ -z "$output" ] ||
		fail "placeholders left in:" "${output//$BATS_FILE_TMPDIR\/x/}"
	# the files under /etc are conffiles
	dpkg-deb -e "$deb" "$BATS_FILE_TMPDIR/control"
	for f in $(grep '^/etc/' <<<"$want"); do
		grep -qxF "$f" "$BATS_FILE_TMPDIR/control/conffiles" ||
			fail "$f is not a conffile"
	done

	run dpkg-deb -f "$deb" Depends
	echo "Depends: $output"
	[[ "$output" == *libssl3* ]] || fail "Depends names no libssl3"
	[[ "$output" == *libbsd0* ]] || fail "Depends names no libbsd0"

	run timeout 300 lintian "$deb"
	echo "$output"
	[ "$status" -ne 124 ] || fail "lintian timed out"
	! grep -q '^E: ' <<<"$output" || fail "lintian reports errors"
	cp "$deb" "$PKG/"
}

@test "package: apt-get installs it into a minbase bookworm; RTMPS round trip with the installed programs" {
	local p1 p2 pipe v a
	the_deb
	root_ready
	run in_root_for 300 apt-get update
	[ "$status" -eq 0 ] || { echo "$output"; fail "apt-get update failed"; }
	refute in_root dpkg-query -W libssl3
	root_files >"$BATS_FILE_TMPDIR/files.before"
	root_packages >"$BATS_FILE_TMPDIR/packages.before"

	mkdir -p "$R/tmp/pkg" "$R/tmp/rt"
	cp "$DEB" "$R/tmp/pkg/"
	chmod -R a+rX "$R/tmp/pkg"
	run in_root_for 600 sh -c 'cd /tmp/pkg && apt-get install -y ./rtmpkit_*.deb'
	echo "$output" | tail -n 30
	[ "$status" -eq 0 ] || fail "apt-get install failed ($status)"
	in_root dpkg-query -W libssl3 libbsd0 rtmpkit
	in_root dpkg -L rtmpkit >"$BATS_FILE_TMPDIR/rtmpkit.files"
	root_packages >"$BATS_FILE_TMPDIR/packages.installed"
	# neither enabled nor started: no unit of ours linked anywhere
	run find "$R/etc/systemd" -name 'rtmp-*'
	[ -z "$output" ] || fail "enabled on install: $output"

	make_tls "$BATS_FILE_TMPDIR/tls"
	cp "$BATS_FILE_TMPDIR/tls/server.pem" "$CLIP" "$R/tmp/rt/"
	p1=$(free_port)
	p2=$(free_port)
	pipe="rtmp-listen -C /tmp/rt/server.pem 127.0.0.1:$p1 |
		rtmp-relay -C /tmp/rt/server.pem -l 127.0.0.1:$p2"
	spawn pipeline in_root sh -c "$pipe"
	wait_port "$p1"
	wait_port "$p2"
	spawn push in_root rtmp-pushflv -k -l "rtmps://127.0.0.1:$p1/live/x" \
		"/tmp/rt/${CLIP##*/}"
	run in_root_for 60 rtmp-dump -k -d 3 -o /tmp/rt/out.flv \
		"rtmps://127.0.0.1:$p2/live/x"
	echo "$output"
	[ "$status" -eq 0 ] || fail "rtmp-dump in the root exited $status"
	valid_av "$R/tmp/rt/out.flv"
	read -r v a <<<"$(packet_counts "$R/tmp/rt/out.flv")"
	echo "video $v audio $a packets"
	[ "$v" -gt 0 ] && [ "$a" -gt 0 ]
}

@test "package: apt-get purge leaves nothing of rtmpkit behind" {
	local f left=
	root_ready
	[ -s "$BATS_FILE_TMPDIR/rtmpkit.files" ] ||
		fail "not installed: the install test failed"
	run in_root_for 300 apt-get purge -y rtmpkit
	echo "$output" | tail -n 20
	[ "$status" -eq 0 ] || fail "apt-get purge failed ($status)"
	refute in_root dpkg-query -W -f '${Status}\n' rtmpkit
	root_files >"$BATS_FILE_TMPDIR/files.after"
	# New since before the install, less what the packages apt pulled in
	# (libssl3, libbsd0 and theirs) own: must be nothing.
	comm -13 "$BATS_FILE_TMPDIR/packages.before" \
		"$BATS_FILE_TMPDIR/packages.installed" | grep -vx rtmpkit |
		xargs -r chroot "$R" dpkg -L | LC_ALL=C sort -u >"$BATS_FILE_TMPDIR/deps.files"
	comm -13 "$BATS_FILE_TMPDIR/files.before" "$BATS_FILE_TMPDIR/files.after" |
		comm -23 - "$BATS_FILE_TMPDIR/deps.files" >"$BATS_FILE_TMPDIR/left"
	[ ! -s "$BATS_FILE_TMPDIR/left" ] || {
		cat "$BATS_FILE_TMPDIR/left"
		fail "left behind by the purge (above)"
	}
	# and every path the package had is gone unless it was there before,
	# each as the root resolves it (/lib is a link to usr/lib in bookworm)
	grep -vx '/\.' "$BATS_FILE_TMPDIR/rtmpkit.files" |
		in_root sh -c 'while read -r f; do readlink -m -- "$f"; done' \
		>"$BATS_FILE_TMPDIR/rtmpkit.real"
	while read -r f; do
		[ -e "$R$f" ] || [ -L "$R$f" ] || continue
		grep -qxF "$f" "$BATS_FILE_TMPDIR/files.before" || left="$left $f"
	done <"$BATS_FILE_TMPDIR/rtmpkit.real"
	[ -z "$left" ] || fail "still there after the purge:$left"
}
