#!/usr/bin/env python3
"""A deliberately hostile RTMP server, one misbehaviour per run.

    server.py --port-file FILE [--publish] [--record FILE] MODE

binds 127.0.0.1:0, writes its port to FILE (the caller's readiness
signal: the file appears, by rename, only once the socket listens),
accepts one connection, does a plain RTMP handshake (unless MODE attacks
the handshake itself), follows the client's commands as far as MODE needs
(--publish: the client publishes rather than plays) and then sends MODE's
hostile answer.  Each mode is a row of tests/hostile/HOSTILE.md.

On stderr it logs "server: striking: WHAT" just before the hostile bytes,
so a test can tell a client that survived the attack from one that failed
before it.  It waits for the client to hang up, ends by itself within
~20 s whatever the client does, and prints "client-bytes N" on stdout:
every byte the client sent, which is how the ack-window test sees an ack
storm.

Mode "record" is the one well-behaved mode: it takes a publisher's stream
and writes every audio and video message to --record FILE as it arrived
(type byte, 4-byte length, payload), so a test can compare the payloads a
client sent with its source where no real server understands them (the
Enhanced RTMP codecs: Debian's nginx-rtmp drops their video).

Python stdlib only; no third-party RTMP code, so the bytes on the wire are
exactly the ones written here.
"""

import argparse
import os
import signal
import socket
import struct
import sys
import time

HARD_LIMIT = 20		# seconds: the process ends by then, no matter what
PACKET = 1536

MODES = (
	"nested-result", "string-past-end", "array-count", "chunk-size-huge",
	"chunk-size-16m", "chunk-size-zero", "csid-sweep", "partial-flood",
	"message-flood", "type1-unseen", "bad-s0", "stall-handshake", "dribble",
	"ack-window-1", "close-mid-message",
	# Regressions from a review of the client path (the servers that
	# the review reproduced its bugs with).
	"aggregate-tail", "agg-small", "agg-uaf", "window-stall", "ping-flood",
	"not-found", "no-play-start", "silent",
	# Not hostile: a publisher's audio and video payloads, recorded.
	"record",
)

received = 0		# bytes from the client, for the report


def report():
	sys.stdout.write("client-bytes %d\n" % received)
	sys.stdout.flush()


def on_signal(signo, frame):
	if signo == signal.SIGALRM:
		sys.stderr.write("server: hard limit of %d s reached\n" % HARD_LIMIT)
	else:
		sys.stderr.write("server: stopped by signal %d\n" % signo)
	report()
	os._exit(0)


class Gone(Exception):
	"""The client closed or reset the connection."""


# ---- AMF0 encoding -------------------------------------------------------

def amf_str(s):
	b = s.encode()
	return b"\x02" + struct.pack(">H", len(b)) + b


def amf_num(x):
	return b"\x00" + struct.pack(">d", x)


AMF_NULL = b"\x05"
OBJ_END = b"\x00\x00\x09"


def amf_obj(pairs):
	out = b"\x03"
	for k, v in pairs:
		kb = k.encode()
		out += struct.pack(">H", len(kb)) + kb + v
	return out + OBJ_END


# ---- connection ------------------------------------------------------------

class Conn:
	def __init__(self, sock):
		self.sock = sock
		self.inbuf = b""
		self.in_chunk = 128		# the client's chunk size
		# csid -> [type, sid, length, partial, extended, timestamp, delta]
		self.streams = {}
		self.out_chunk = 128
		self.last_ts = 0		# the last whole message's timestamp

	def recv_some(self, timeout):
		global received
		self.sock.settimeout(timeout)
		try:
			b = self.sock.recv(65536)
		except socket.timeout:
			return None
		except OSError:
			raise Gone()
		if not b:
			raise Gone()
		received += len(b)
		return b

	def read_exact(self, n, deadline):
		while len(self.inbuf) < n:
			left = deadline - time.monotonic()
			if left <= 0:
				raise Gone()
			b = self.recv_some(left)
			if b is not None:
				self.inbuf += b
		out, self.inbuf = self.inbuf[:n], self.inbuf[n:]
		return out

	def send(self, data):
		try:
			self.sock.sendall(data)
		except OSError:
			raise Gone()

	# -- chunk decoding of what the client sends, enough to follow it --

	def _parse_one(self):
		"""One chunk from inbuf: a whole message, None, or False (need more)."""
		b = self.inbuf
		if not b:
			return False
		fmt, csid, i = b[0] >> 6, b[0] & 0x3f, 1
		if csid == 0:
			if len(b) < 2:
				return False
			csid, i = 64 + b[1], 2
		elif csid == 1:
			if len(b) < 3:
				return False
			csid, i = 64 + b[1] + 256 * b[2], 3
		hlen = (11, 7, 3, 0)[fmt]
		if len(b) < i + hlen:
			return False
		st = self.streams.setdefault(csid, [0, 0, 0, b"", 0, 0, 0])
		ts = None
		if fmt <= 2:
			ts = int.from_bytes(b[i:i + 3], "big")
		if fmt <= 1:
			st[2] = int.from_bytes(b[i + 3:i + 6], "big")
			st[0] = b[i + 6]
		if fmt == 0:
			st[1] = struct.unpack("<I", b[i + 7:i + 11])[0]
		i += hlen
		extended = ts == 0xffffff or (fmt == 3 and st[4])
		if extended:
			if len(b) < i + 4:
				return False
			if ts == 0xffffff:
				ts = int.from_bytes(b[i:i + 4], "big")
			i += 4
		if fmt <= 2:
			st[4] = extended
		n = min(self.in_chunk, st[2] - len(st[3]))
		if len(b) < i + n:
			return False
		if not st[3]:
			# A message's first chunk: type 0 says the time, 1 and 2
			# a delta, 3 the same delta again.
			if fmt == 0:
				st[5] = st[6] = ts
			elif fmt <= 2:
				st[6] = ts
				st[5] += ts
			else:
				st[5] += st[6]
		st[3] += b[i:i + n]
		self.inbuf = b[i + n:]
		if len(st[3]) < st[2]:
			return None
		msg, st[3] = (st[0], st[1], st[3]), b""
		self.last_ts = st[5] & 0xffffffff
		if msg[0] == 1 and len(msg[2]) >= 4:
			self.in_chunk = struct.unpack(">I", msg[2][:4])[0] & 0x7fffffff
		return msg

	def messages(self):
		out = []
		while True:
			m = self._parse_one()
			if m is False:
				return out
			if m is not None:
				out.append(m)

	def wait_command(self, name, timeout=5.0):
		"""Read until the client sends command NAME; its transaction id."""
		deadline = time.monotonic() + timeout
		while True:
			for mtype, sid, payload in self.messages():
				if mtype != 20:
					continue
				got = command_name(payload)
				if got is not None and got[0] == name:
					return got[1]
			left = deadline - time.monotonic()
			if left <= 0:
				raise Gone()
			b = self.recv_some(left)
			if b is not None:
				self.inbuf += b

	# -- chunk encoding of what we send ---------------------------------

	def chunks(self, csid, mtype, sid, payload, ts=0):
		"""A message as a type 0 chunk then type 3 continuations (csid < 64)."""
		out = [bytes([csid]) + ts.to_bytes(3, "big") +
		    len(payload).to_bytes(3, "big") + bytes([mtype]) + struct.pack("<I", sid)]
		for off in range(0, max(len(payload), 1), self.out_chunk):
			if off:
				out.append(bytes([0xc0 | csid]))
			out.append(payload[off:off + self.out_chunk])
		return b"".join(out)

	def send_msg(self, csid, mtype, sid, payload, ts=0):
		self.send(self.chunks(csid, mtype, sid, payload, ts))

	def drain(self, timeout):
		"""Count what the client still sends until it closes or TIMEOUT."""
		deadline = time.monotonic() + timeout
		try:
			while time.monotonic() < deadline:
				self.recv_some(deadline - time.monotonic())
		except Gone:
			pass


def command_name(payload):
	"""(name, transaction id) of an AMF0 command, or None."""
	if len(payload) < 3 or payload[0] != 2:
		return None
	n = struct.unpack(">H", payload[1:3])[0]
	name = payload[3:3 + n].decode("latin-1")
	rest = payload[3 + n:]
	txn = 0.0
	if len(rest) >= 9 and rest[0] == 0:
		txn = struct.unpack(">d", rest[1:9])[0]
	return name, txn


# ---- the good parts, up to where MODE strikes -----------------------------

def plain_handshake(c):
	deadline = time.monotonic() + 5
	c0c1 = c.read_exact(1 + PACKET, deadline)
	s1 = struct.pack(">II", int(time.time()) & 0xffffffff, 0) + os.urandom(PACKET - 8)
	c.send(b"\x03" + s1 + c0c1[1:])
	c.read_exact(PACKET, deadline)


def connect_result():
	return amf_str("_result") + amf_num(1) + \
	    amf_obj([("fmsVer", amf_str("FMS/3,0,1,123")), ("capabilities", amf_num(31))]) + \
	    amf_obj([("level", amf_str("status")),
	    ("code", amf_str("NetConnection.Connect.Success")),
	    ("description", amf_str("Connection succeeded.")),
	    ("objectEncoding", amf_num(0))])


def on_status(code, level="status"):
	return amf_str("onStatus") + amf_num(0) + AMF_NULL + \
	    amf_obj([("level", amf_str(level)), ("code", amf_str(code)),
	    ("description", amf_str(code))])


def until_started(c, publish, window=2500000):
	"""A well-behaved server up to Play.Start / Publish.Start on stream 1."""
	c.wait_command("connect")
	c.send_msg(2, 5, 0, struct.pack(">I", window))		# Window Ack Size
	c.send_msg(2, 6, 0, struct.pack(">IB", 2500000, 2))	# Set Peer Bandwidth
	c.send_msg(3, 20, 0, connect_result())
	txn = c.wait_command("createStream")
	c.send_msg(3, 20, 0, amf_str("_result") + amf_num(txn) + AMF_NULL + amf_num(1))
	c.wait_command("publish" if publish else "play")
	c.send_msg(2, 4, 0, struct.pack(">HI", 0, 1))		# Stream Begin 1
	c.send_msg(5, 20, 1, on_status("NetStream.Publish.Start" if publish
	    else "NetStream.Play.Start"))


# ---- the modes ----------------------------------------------------------
#
# Each takes the connection and whether the client publishes, and calls
# strike() just before the hostile bytes: the test checks for that line, so
# a client that failed earlier (say, in the handshake) cannot pass for one
# that survived the attack.

def strike(c, what):
	sys.stderr.write("server: striking: %s\n" % what)
	sys.stderr.flush()


def after_connect(c):
	plain_handshake(c)
	c.wait_command("connect")


def nested_object(depth):
	# {a:{a:{...}}}: each level opens with key "a" and an object marker.
	return b"\x03" + b"\x00\x01a\x03" * (depth - 1) + OBJ_END * depth


def mode_nested_result(c, publish):
	after_connect(c)
	strike(c, "_result with objects nested 100000 deep")
	c.send_msg(3, 20, 0, amf_str("_result") + amf_num(1) + nested_object(100000))


def mode_string_past_end(c, publish):
	after_connect(c)
	strike(c, "_result whose string runs past the message")
	# fmsVer claims 65535 bytes; the message ends 5 bytes later.
	c.send_msg(3, 20, 0, amf_str("_result") + amf_num(1) +
	    b"\x03\x00\x06fmsVer\x02\xff\xffFMS/3")


def mode_array_count(c, publish):
	after_connect(c)
	strike(c, "_result with an ECMA array of 0xffffffff entries in 3 bytes")
	c.send_msg(3, 20, 0, amf_str("_result") + amf_num(1) +
	    b"\x08\xff\xff\xff\xff\x00\x01a")


def huge_message_start():
	# Video on chunk stream 6 declaring 16 MiB - 1, with only 5 bytes.
	return bytes([6]) + b"\x00\x00\x00" + b"\xff\xff\xff" + b"\x09" + \
	    struct.pack("<I", 1) + b"\x17\x00\x00\x00\x00"


def mode_chunk_size_huge(c, publish):
	after_connect(c)
	strike(c, "Set Chunk Size 0x7fffffff, then 5 bytes of a 16 MiB message")
	c.send_msg(2, 1, 0, struct.pack(">I", 0x7fffffff))
	c.send(huge_message_start())


def mode_chunk_size_16m(c, publish):
	after_connect(c)
	# The largest chunk size rtmpkit accepts, then the start of a message
	# that never comes: a buffer sized by its declaration would be 16 MiB.
	strike(c, "Set Chunk Size 16 MiB, then 5 bytes of a 16 MiB message, then silence")
	c.send_msg(2, 1, 0, struct.pack(">I", 16 * 1024 * 1024))
	c.send(huge_message_start())


def mode_chunk_size_zero(c, publish):
	after_connect(c)
	strike(c, "Set Chunk Size 0")
	c.send_msg(2, 1, 0, struct.pack(">I", 0))
	c.send_msg(3, 20, 0, connect_result())


def basic_header(fmt, csid):
	if csid < 64:
		return bytes([fmt << 6 | csid])
	if csid < 320:
		return bytes([fmt << 6, csid - 64])
	return bytes([fmt << 6 | 1, (csid - 64) & 0xff, (csid - 64) >> 8])


def mode_csid_sweep(c, publish):
	after_connect(c)
	strike(c, "type 0 chunks on chunk streams 3..65599, 16 MiB - 1 declared each")
	# One whole first chunk (the default 128 bytes) per chunk stream, so
	# that each opens a partial message.
	body = b"\x17" + bytes(127)
	batch = []
	for csid in range(3, 65600):
		batch.append(basic_header(0, csid) + b"\x00\x00\x00\xff\xff\xff\x09" +
		    struct.pack("<I", 1) + body)
		if len(batch) == 1024:
			c.send(b"".join(batch))
			batch = []
	c.send(b"".join(batch))


def mode_partial_flood(c, publish):
	after_connect(c)
	# Within every per-message limit (chunk size, 16 MiB messages, 64
	# chunk streams) yet 160 MiB of partial messages if the client keeps
	# them all: the memory exhaustion HOSTILE.md saw in Node-Media-Server.
	strike(c, "2 MiB bodies of 16 MiB - 1 messages on 80 chunk streams")
	# The chunk size equals the body sent, so each is one whole chunk.
	c.send_msg(2, 1, 0, struct.pack(">I", 2 * 1024 * 1024))
	body = bytes(2 * 1024 * 1024)
	for csid in range(8, 88):
		c.send(basic_header(0, csid) + b"\x00\x00\x00\xff\xff\xff\x09" +
		    struct.pack("<I", 1) + body)


def mode_message_flood(c, publish):
	after_connect(c)
	# Whole messages this time, each within every limit, one per chunk
	# stream: a decoder that keeps each stream's reassembly buffer after
	# delivering its message ends up holding all of them.
	strike(c, "one whole 2 MiB message on each of 60 chunk streams, then silence")
	# Two 1 MiB chunks each, so that the message is reassembled.
	half = 1024 * 1024
	c.send_msg(2, 1, 0, struct.pack(">I", half))
	body = bytes(2 * half)
	for csid in range(8, 68):
		c.send(basic_header(0, csid) + b"\x00\x00\x00" + len(body).to_bytes(3, "big") +
		    b"\x09" + struct.pack("<I", 1) + body[:half])
		c.send(basic_header(3, csid) + body[half:])


def mode_type1_unseen(c, publish):
	after_connect(c)
	strike(c, "type 1 header on never-seen chunk stream 9")
	body = connect_result()[:100]
	c.send(bytes([0x40 | 9]) + b"\x00\x00\x00" + len(body).to_bytes(3, "big") +
	    b"\x14" + body)


def mode_bad_s0(c, publish):
	c.read_exact(1 + PACKET, time.monotonic() + 5)
	strike(c, "S0 = 6 (RTMPE)")
	c.send(b"\x06" + os.urandom(2 * PACKET))


def mode_stall_handshake(c, publish):
	c.read_exact(1 + PACKET, time.monotonic() + 5)
	strike(c, "silence after C0+C1")


def mode_dribble(c, publish):
	c0c1 = c.read_exact(1 + PACKET, time.monotonic() + 5)
	strike(c, "S0+S1+S2 one byte every 50 ms")
	s1 = struct.pack(">II", int(time.time()) & 0xffffffff, 0) + os.urandom(PACKET - 8)
	data = b"\x03" + s1 + c0c1[1:]
	for i in range(len(data)):
		c.send(data[i:i + 1])
		# A client that gave up shows as a readable EOF (Gone).
		c.recv_some(0.05)


def mode_ack_window_1(c, publish):
	plain_handshake(c)
	strike(c, "Window Ack Size 1, then 4 MiB of small valid messages")
	until_started(c, publish, window=1)
	# 50000 messages of 33 and 134 bytes: acknowledging each would send
	# 400-800 KB back (8- to 16-byte acks).
	a = c.chunks(5, 20, 1, on_status("NetStream.Play.PublishNotify"))
	b = c.chunks(3, 20, 0, amf_str("_result") + amf_num(0) + AMF_NULL + AMF_NULL)
	unit = (a + b) * 64
	sent = 0
	while sent < 4 * 1024 * 1024:
		c.send(unit)
		sent += len(unit)
	sys.stderr.write("server: sent %d bytes of status messages\n" % sent)
	c.sock.shutdown(socket.SHUT_WR)


def mode_close_mid_message(c, publish):
	plain_handshake(c)
	until_started(c, publish)
	# Two whole video messages the client may keep, then a torn one.
	c.send_msg(6, 9, 1, b"\x17\x00\x00\x00\x00" + b"\x01\x64\x00\x1f\xff\xe1\x00\x04abcd")
	c.send_msg(6, 9, 1, b"\x17\x01\x00\x00\x00" + os.urandom(300), ts=40)
	strike(c, "5000 bytes of a 100000-byte video message, then FIN")
	header = bytes([6]) + (80).to_bytes(3, "big") + (100000).to_bytes(3, "big") + \
	    b"\x09" + struct.pack("<I", 1)
	body = b"\x27\x01\x00\x00\x00" + os.urandom(100000 - 5)
	out = [header]
	for off in range(0, 5000, c.out_chunk):
		if off:
			out.append(bytes([0xc0 | 6]))
		out.append(body[off:off + c.out_chunk])
	c.send(b"".join(out))
	# A FIN, not close(): closing with unread input would reset the
	# connection and could discard what the client has not read yet.
	c.sock.shutdown(socket.SHUT_WR)


# ---- regressions from a review of the client path ------------------------
#
# Not attacks on a limit but servers that behave oddly, even legally, and
# that rtmpkit's clients once mishandled: each mode's comment names what
# went wrong.

SEQ_HEADER = b"\x17\x00\x00\x00\x00" + b"\x01\x64\x00\x1f\xff\xe1\x00\x04abcd"


def video(key, n=300):
	return bytes([0x17 if key else 0x27, 1, 0, 0, 0]) + os.urandom(n)


def aggregate(subs):
	"""An aggregate body (type 22): FLV tags, each with its back pointer."""
	out = b""
	for ts, payload in subs:
		out += bytes([9]) + len(payload).to_bytes(3, "big") + \
		    (ts & 0xffffff).to_bytes(3, "big") + bytes([ts >> 24 & 0xff]) + \
		    b"\x00\x00\x00" + payload + struct.pack(">I", 11 + len(payload))
	return out


def marked(key, letter, n=15):
	# A video tag whose body says which one it is: the test reads it back.
	return bytes([0x17 if key else 0x27, 1, 0, 0, 0]) + letter * n


SMALL_AGGREGATE = ((0, marked(True, b"A")), (40, marked(False, b"B")),
    (80, marked(False, b"C")))


def mode_aggregate_tail(c, publish):
	plain_handshake(c)
	until_started(c, publish)
	c.send_msg(6, 9, 1, SEQ_HEADER)
	# The last media before the close: a client that splits aggregates
	# only while unread input remains kept its second and third tag until
	# the next read, which brought the close instead.
	strike(c, "an aggregate of 3 video tags, then 1 s of silence and FIN")
	c.send_msg(6, 22, 1, aggregate(((0, marked(True, b"A", 300)),
	    (40, marked(False, b"B", 300)), (80, marked(False, b"C", 300)))))
	time.sleep(1)
	c.sock.shutdown(socket.SHUT_WR)


def mode_agg_small(c, publish):
	plain_handshake(c)
	until_started(c, publish)
	c.send_msg(6, 9, 1, SEQ_HEADER)
	time.sleep(0.5)
	# 105 bytes: one chunk, so the decoder hands out a view into the
	# client's read buffer, which the next read (132 bytes, from the same
	# offset) overwrites with Z.
	strike(c, "a 3-tag aggregate in one chunk, 1 s later a video tag")
	c.send_msg(6, 22, 1, aggregate(SMALL_AGGREGATE))
	time.sleep(1)
	c.send_msg(6, 9, 1, marked(False, b"Z", 115), ts=120)
	time.sleep(1)
	c.sock.shutdown(socket.SHUT_WR)


def mode_agg_uaf(c, publish):
	plain_handshake(c)
	until_started(c, publish)
	c.send_msg(6, 9, 1, SEQ_HEADER)
	time.sleep(0.5)
	# As agg-small, but the next read is 180 KB: the read buffer grows
	# (moves), and a view into the old one is a use after free.
	strike(c, "a 3-tag aggregate in one chunk, 1 s later 60 video tags at once")
	c.send_msg(6, 22, 1, aggregate(SMALL_AGGREGATE))
	time.sleep(1)
	c.send(b"".join(c.chunks(6, 9, 1, marked(False, b"D", 3000), ts=120 + i)
	    for i in range(60)))
	time.sleep(1)
	c.sock.shutdown(socket.SHUT_WR)


def mode_window_stall(c, publish):
	plain_handshake(c)
	c.wait_command("connect")
	c.send_msg(2, 5, 0, struct.pack(">I", 2500000))
	c.send_msg(2, 6, 0, struct.pack(">IB", 100000, 2))	# peer bandwidth 100 kB
	c.send_msg(3, 20, 0, connect_result())
	txn = c.wait_command("createStream")
	c.send_msg(3, 20, 0, amf_str("_result") + amf_num(txn) + AMF_NULL + amf_num(1))
	c.wait_command("publish")
	# A publisher waits for acks once 100 kB are unacknowledged; with none
	# coming, nothing it could send counted as stalled and it hung.  The
	# Acknowledgement goes before Publish.Start: a client holds to the
	# window only once the server has acknowledged (many never do), and
	# sent after, it may find the client already megabytes into a burst.
	strike(c, "one Acknowledgement of 0, then reading without acking")
	c.send_msg(2, 3, 0, struct.pack(">I", 0))
	c.send_msg(5, 20, 1, on_status("NetStream.Publish.Start"))


def mode_ping_flood(c, publish):
	plain_handshake(c)
	until_started(c, publish)
	# Each ping wants a pong, which the client queues for a server that
	# never reads: an unbounded queue grew by ~100 MB a second.
	strike(c, "Ping Requests as fast as possible, never reading")
	unit = c.chunks(2, 4, 0, struct.pack(">HI", 6, 12345)) * 4096
	sent = 0
	t0 = time.monotonic()
	try:
		while sent < 200 * 1024 * 1024 and time.monotonic() - t0 < 12:
			c.send(unit)
			sent += len(unit)
	finally:
		sys.stderr.write("server: sent %d bytes of pings\n" % sent)


def mode_not_found(c, publish):
	plain_handshake(c)
	c.wait_command("connect")
	c.send_msg(3, 20, 0, connect_result())
	txn = c.wait_command("createStream")
	c.send_msg(3, 20, 0, amf_str("_result") + amf_num(txn) + AMF_NULL + amf_num(1))
	c.wait_command("play")
	strike(c, "Play.StreamNotFound")
	c.send_msg(5, 20, 1, on_status("NetStream.Play.StreamNotFound", "error"))


def mode_no_play_start(c, publish):
	plain_handshake(c)
	c.wait_command("connect")
	c.send_msg(2, 5, 0, struct.pack(">I", 2500000))
	c.send_msg(2, 6, 0, struct.pack(">IB", 2500000, 2))
	c.send_msg(3, 20, 0, connect_result())
	txn = c.wait_command("createStream")
	c.send_msg(3, 20, 0, amf_str("_result") + amf_num(txn) + AMF_NULL + amf_num(1))
	c.wait_command("play")
	c.send_msg(2, 4, 0, struct.pack(">HI", 0, 1))
	# Play.Reset but never Play.Start, as some servers do: media is the
	# proof that the stream plays (librtmp takes it as such).
	strike(c, "Play.Reset only, then 8 s of video at 25 fps")
	c.send_msg(5, 20, 1, on_status("NetStream.Play.Reset"))
	c.send_msg(6, 9, 1, SEQ_HEADER)
	t0 = time.monotonic()
	i = 0
	while time.monotonic() - t0 < 8:
		c.send_msg(6, 9, 1, video(i % 25 == 0), ts=i * 40)
		i += 1
		time.sleep(0.04)
	c.sock.shutdown(socket.SHUT_WR)


def mode_silent(c, publish):
	# Accepts and never says a word: an rtmps client waits for the
	# ServerHello, and once looped on a writable socket while it did.
	strike(c, "silence from the start")


def mode_record(c, publish):
	plain_handshake(c)
	until_started(c, publish)
	strike(c, "none: recording the published audio and video")
	with open(ARGS.record, "wb") as out:
		try:
			while True:
				for mtype, sid, payload in c.messages():
					if mtype in (8, 9):
						out.write(bytes([mtype]) +
						    struct.pack(">I", len(payload)) + payload)
						out.flush()
				b = c.recv_some(HARD_LIMIT)
				if b is not None:
					c.inbuf += b
		except Gone:
			pass


ARGS = None


def main():
	global ARGS
	ap = argparse.ArgumentParser()
	ap.add_argument("--port-file", required=True)
	ap.add_argument("--publish", action="store_true",
	    help="expect the client to publish, not play")
	ap.add_argument("--record", help="where mode record writes what it got")
	ap.add_argument("mode", choices=MODES)
	args = ap.parse_args()
	ARGS = args
	if args.mode == "record" and not args.record:
		ap.error("mode record needs --record FILE")

	signal.signal(signal.SIGALRM, on_signal)
	signal.alarm(HARD_LIMIT)
	signal.signal(signal.SIGTERM, on_signal)

	ls = socket.socket()
	ls.bind(("127.0.0.1", 0))
	ls.listen(1)
	tmp = args.port_file + ".tmp"
	with open(tmp, "w") as f:
		f.write("%d\n" % ls.getsockname()[1])
	os.rename(tmp, args.port_file)

	ls.settimeout(HARD_LIMIT)
	try:
		sock, _ = ls.accept()
	except socket.timeout:
		sys.stderr.write("server: nobody connected\n")
		report()
		return 1
	ls.close()
	c = Conn(sock)
	name = args.mode.replace("-", "_")
	fn = globals()["mode_" + name]
	try:
		fn(c, args.publish)
		sys.stderr.write("server: %s sent\n" % args.mode)
		# Wait for the client to hang up: closing first with its bytes
		# unread would reset the connection under the hostile answer.
		c.drain(15)
	except Gone:
		sys.stderr.write("server: client went away during %s\n" % args.mode)
	try:
		sock.close()
	except OSError:
		pass
	report()
	return 0


if __name__ == "__main__":
	sys.exit(main())
