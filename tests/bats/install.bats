#!/usr/bin/env bats
# make install / make uninstall into a scratch DESTDIR.

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	DEST=$BATS_TEST_TMPDIR/dest
}

@test "install: programs and man pages land under DESTDIR/PREFIX, uninstall removes them" {
	run timeout 300 make -s -C "$ROOT" install PREFIX=/opt/rk DESTDIR="$DEST"
	echo "$output"
	[ "$status" -eq 0 ]
	for f in bin/rtmp-dump bin/rtmp-pushflv share/man/man1/rtmp-dump.1 \
	    share/man/man1/rtmp-pushflv.1 share/man/man7/rtmpkit.7; do
		[ -f "$DEST/opt/rk/$f" ] || { echo "missing $f"; return 1; }
	done
	[ -x "$DEST/opt/rk/bin/rtmp-dump" ]
	# every wait bounded: a program that hangs fails the test, not the run
	run timeout 10 "$DEST/opt/rk/bin/rtmp-dump" -V
	echo "-V: $status $output"
	[ "$status" -eq 0 ]
	[[ "$output" == "rtmp-dump "[0-9]* ]]
	run timeout 60 make -s -C "$ROOT" uninstall PREFIX=/opt/rk DESTDIR="$DEST"
	[ "$status" -eq 0 ]
	run timeout 30 find "$DEST" -type f
	echo "left: $output"
	[ -z "$output" ]
}
