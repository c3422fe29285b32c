#!/usr/bin/env python3
"""An RTMP server that drops its clients on a script, for reconnect tests.

    flaky.py --port-file FILE [--publish] ACTION...

binds 127.0.0.1:0, writes its port to FILE (by rename, once it listens,
as server.py does) and serves one connection after another, each with the
next ACTION; the last one repeats:

    drop        close the connection as soon as it is accepted
    silent      say nothing, not even the handshake, until the client
                hangs up
    idle        (a player) handshake and Play.Start, then no media until
                the client hangs up
    play:MS     (a player) handshake, Play.Start, then MS ms of 25 fps
                video in real time, then FIN
    take:MS     (--publish) handshake, Publish.Start, then read what the
                publisher sends until its media timestamps span MS ms,
                then close

On stdout, one line per event, the time first (time.monotonic(), seconds)
so that a test measures the reconnect backoff from the server's side:

    T accept N
    T close N
    T media N TYPE TIMESTAMP SHA1 SEQ    (take: each audio/video message;
                                          SEQ 1 for a sequence header)

It ends by itself after HARD_LIMIT seconds.  Python stdlib only; the
protocol pieces are server.py's.
"""

import argparse
import hashlib
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server as rtmp	# noqa: E402  (after the path is set)

HARD_LIMIT = 110	# seconds; bats kills a test after 120


lock = threading.Lock()


def log(*words):
	with lock:
		sys.stdout.write("%.3f %s\n" % (time.monotonic(),
		    " ".join(str(w) for w in words)))
		sys.stdout.flush()


def sequence_header(mtype, payload):
	if len(payload) < 2:
		return 0
	if mtype == 8:
		return int(payload[0] >> 4 == 10 and payload[1] == 0)		# AAC
	if payload[0] & 0x80:
		return int(payload[0] & 0x0f == 0)		# Enhanced RTMP SequenceStart
	return int(payload[0] & 0x0f == 7 and payload[1] == 0)		# AVC


def play(c, n, ms):
	rtmp.plain_handshake(c)
	rtmp.until_started(c, False)
	c.send_msg(6, 9, 1, rtmp.SEQ_HEADER)
	for i in range(ms // 40):
		c.send_msg(6, 9, 1, rtmp.video(i % 25 == 0), ts=i * 40)
		time.sleep(0.04)
	# A FIN, not close(): the last frames must not be lost to a reset.
	c.sock.shutdown(socket.SHUT_WR)
	log("close", n)
	c.drain(2)


def take(c, n, ms):
	rtmp.plain_handshake(c)
	rtmp.until_started(c, True)
	first = None
	while True:
		m = c._parse_one()
		if m is False:
			b = c.recv_some(10)
			if b is not None:
				c.inbuf += b
			continue
		if m is None or m[0] not in (8, 9):
			continue
		mtype, _, payload = m
		ts = c.last_ts
		log("media", n, mtype, ts, hashlib.sha1(payload).hexdigest(),
		    sequence_header(mtype, payload))
		if first is None:
			first = ts
		if ts - first >= ms:
			log("close", n)
			return


def serve(sock, n, action):
	what, _, ms = action.partition(":")
	c = rtmp.Conn(sock)
	try:
		if what == "play":
			play(c, n, int(ms))
		elif what == "silent":
			c.drain(HARD_LIMIT)
			log("close", n)
		elif what == "idle":
			rtmp.plain_handshake(c)
			rtmp.until_started(c, False)
			c.drain(HARD_LIMIT)
			log("close", n)
		elif what == "take":
			take(c, n, int(ms))
		else:
			log("close", n)
	except rtmp.Gone:
		log("close", n)
	sock.close()


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--port-file", required=True)
	ap.add_argument("--publish", action="store_true")
	ap.add_argument("action", nargs="+")
	args = ap.parse_args()

	signal.signal(signal.SIGALRM, lambda s, f: os._exit(0))
	signal.alarm(HARD_LIMIT)
	signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))

	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("127.0.0.1", 0))
	ls.listen(8)
	tmp = args.port_file + ".tmp"
	with open(tmp, "w") as f:
		f.write("%d\n" % ls.getsockname()[1])
	os.rename(tmp, args.port_file)

	# A thread per connection, so that every accept is logged at once.
	n = 0
	while True:
		sock, _ = ls.accept()
		n += 1
		log("accept", n)
		threading.Thread(target=serve, daemon=True,
		    args=(sock, n, args.action[min(n, len(args.action)) - 1])).start()


if __name__ == "__main__":
	sys.exit(main())
