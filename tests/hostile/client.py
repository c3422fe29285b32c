#!/usr/bin/env python3
"""A deliberately hostile RTMP client, one misbehaviour per connection.

    client.py [--host H] --port P [--play] [--app A] [--stream S]
              [--timeout SEC] [--hold SEC] [--chunk N] MODE...

connects to a server (rtmp-listen, rtmp-relay), misbehaves as MODE says
(each a row of tests/hostile/HOSTILE.md) and prints one line per MODE:

    MODE VERDICT ADDR SECONDS [DETAIL]

ADDR is the client's own address (host:port), the one the server logs;
SECONDS how long the verdict took.  VERDICT is
    closed    the server closed the connection (EOF or reset) and sent
              nothing the mode did not ask for first
    alive     the session goes on: a normal command sent after the
              hostile bytes was answered (_result)
    refused   the server answered the command with _error or an error
              onStatus (DETAIL: its code), whether it closed or not
    answered  (handshake modes) the server answered bytes it must not
    open      nothing happened within --timeout: neither answer nor close
--play makes the session a player (createStream, play) rather than a
publisher (createStream, publish) where a mode gets that far.  Mode
"cycle:N" runs N connections over every fast mode in turn and prints a
count per verdict; "stalled:N" holds N connections that never finish
the handshake and counts how many the server closed; "feed:FLV" writes
hostile FLV tags and then FLV, in real time, to stdout (rtmp-relay's
input).  The exit status is 0 unless the client itself failed
(bad usage, no connection: 2).

Python stdlib only; the handshake (the simple one: C0 = 3, C1 of 1536
bytes, S0 S1 S2, C2) and the chunk framing are built here, so the bytes on
the wire are exactly the ones written below.
"""

import argparse
import os
import socket
import struct
import sys
import time

PACKET = 1536


# The wire format shared with the hostile server: AMF0 encoding, basic
# headers, and its chunk decoder for what the other side sends (it follows
# Set Chunk Size); its Gone is raised on a close or a reset.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server as wire						# noqa: E402
from server import AMF_NULL, OBJ_END, Gone, amf_num, amf_obj, amf_str, basic_header	# noqa: E402,F401


def amf_read(b, i):
	"""One AMF0 value at b[i:]: (value, next offset); objects as dicts."""
	t = b[i]
	i += 1
	if t == 0:
		return struct.unpack(">d", b[i:i + 8])[0], i + 8
	if t == 1:
		return bool(b[i]), i + 1
	if t == 2:
		n = struct.unpack(">H", b[i:i + 2])[0]
		return b[i + 2:i + 2 + n].decode("latin-1"), i + 2 + n
	if t in (5, 6):
		return None, i
	if t in (3, 8):
		if t == 8:
			i += 4
		d = {}
		while True:
			n = struct.unpack(">H", b[i:i + 2])[0]
			k = b[i + 2:i + 2 + n].decode("latin-1")
			i += 2 + n
			if b[i] == 9:
				return d, i + 1
			d[k], i = amf_read(b, i)
	raise ValueError("AMF0 type %d" % t)


def amf_all(b):
	out, i = [], 0
	try:
		while i < len(b):
			v, i = amf_read(b, i)
			out.append(v)
	except (ValueError, IndexError, struct.error):
		pass
	return out


def header0(csid, mtype, sid, length, ts=0):
	"""A type 0 chunk header (extended timestamp when TS needs it)."""
	ext = ts >= 0xffffff
	return basic_header(0, csid) + \
	    (0xffffff if ext else ts).to_bytes(3, "big") + \
	    length.to_bytes(3, "big") + bytes([mtype]) + struct.pack("<I", sid) + \
	    (struct.pack(">I", ts) if ext else b"")


# ---- connection ---------------------------------------------------------

class Conn(wire.Conn):
	"""The hostile server's connection, turned round: it decodes what the
	server sends; the rest is the client's side."""

	def __init__(self, host, port, timeout, rcvbuf=0):
		sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		if rcvbuf:
			# before connect, so the window the kernel offers follows it
			sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
		sock.settimeout(5)
		sock.connect((host, port))
		wire.Conn.__init__(self, sock)
		self.timeout = timeout
		self.addr = "%s:%d" % self.sock.getsockname()[:2]
		self.txn = 1
		self.stream_id = 0

	@property
	def got(self):
		"""Bytes from the server so far (server.py counts them all)."""
		return wire.received

	def recv_some(self, timeout):
		# a timeout of 0 would make the socket non-blocking
		return wire.Conn.recv_some(self, max(timeout, 0.001))

	def fill(self, deadline):
		"""One read into inbuf; TimeoutError once DEADLINE has passed."""
		left = deadline - time.monotonic()
		if left <= 0:
			raise TimeoutError()
		b = self.recv_some(left)
		if b is not None:
			self.inbuf += b

	def read_exact(self, n, deadline):
		while len(self.inbuf) < n:
			self.fill(deadline)
		out, self.inbuf = self.inbuf[:n], self.inbuf[n:]
		return out

	def handshake(self, c1=None):
		deadline = time.monotonic() + self.timeout
		if c1 is None:
			c1 = struct.pack(">II", 0, 0) + os.urandom(PACKET - 8)
		self.send(b"\x03" + c1)
		s0s1 = self.read_exact(1 + PACKET, deadline)
		self.read_exact(PACKET, deadline)	# S2
		self.send(s0s1[1:])			# C2 echoes S1

	# -- chunk encoding of what we send --

	def chunks(self, csid, mtype, sid, payload, ts=0, chunk=None):
		chunk = chunk or self.out_chunk
		out = [header0(csid, mtype, sid, len(payload), ts)]
		ext = struct.pack(">I", ts) if ts >= 0xffffff else b""
		for off in range(0, max(len(payload), 1), chunk):
			if off:
				out.append(basic_header(3, csid) + ext)
			out.append(payload[off:off + chunk])
		return b"".join(out)

	def command(self, name, *args, sid=0, csid=3):
		"""Sends command NAME with the next transaction id; returns it."""
		self.txn += 1
		self.send_msg(csid, 20, sid, amf_str(name) + amf_num(self.txn) + b"".join(args))
		return self.txn

	def wait(self, want, timeout=None):
		"""Reads messages until WANT(type, sid, payload) gives a value."""
		deadline = time.monotonic() + (timeout or self.timeout)
		while True:
			for m in self.messages():
				r = want(*m)
				if r is not None:
					return r
			self.fill(deadline)

	def answer(self, txn, timeout=None):
		"""The verdict on command TXN: ("alive", result) or ("refused", code)."""
		def want(mtype, sid, payload):
			if mtype != 20:
				return None
			v = amf_all(payload)
			if len(v) < 2:
				return None
			if v[0] == "_result" and (txn is None or v[1] == txn):
				return ("alive", v)
			if v[0] == "_error" and (txn is None or v[1] == txn):
				code = next((x.get("code") for x in v[2:] if isinstance(x, dict)), "")
				return ("refused", code)
			if v[0] == "onStatus":
				info = next((x for x in v[2:] if isinstance(x, dict)), {})
				if info.get("level") == "error" or "Failed" in str(info.get("code")) \
				    or "BadName" in str(info.get("code")) or "Rejected" in str(info.get("code")):
					return ("refused", info.get("code"))
			return None
		return self.wait(want, timeout)

	def status(self, prefix, timeout=None):
		"""Waits for an onStatus whose code starts with PREFIX."""
		def want(mtype, sid, payload):
			if mtype != 20:
				return None
			v = amf_all(payload)
			if not v or v[0] != "onStatus":
				return None
			info = next((x for x in v[2:] if isinstance(x, dict)), {})
			code = str(info.get("code"))
			if code.startswith(prefix):
				return ("alive", code)
			if info.get("level") == "error" or "BadName" in code or "NotFound" in code:
				return ("refused", code)
			return None
		return self.wait(want, timeout)

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass


class Verdict(Exception):
	def __init__(self, what, detail=""):
		Exception.__init__(self, what)
		self.what, self.detail = what, detail


# ---- the good parts --------------------------------------------------------

def connect_args(app, extra=()):
	return amf_obj([("app", amf_str(app)), ("type", amf_str("nonprivate")),
	    ("flashVer", amf_str("FMLE/3.0 (compatible; hostile)")),
	    ("tcUrl", amf_str("rtmp://127.0.0.1/" + app))] + list(extra))


def do_connect(c, opt, args=None):
	txn = c.command("connect", args if args is not None else connect_args(opt.app))
	what, detail = c.answer(txn)
	if what != "alive":
		raise Verdict(what, detail)


def do_stream(c, opt, name=None, publish=None):
	"""createStream, then publish or play NAME; raises a refusal."""
	name = opt.stream if name is None else name
	publish = (not opt.play) if publish is None else publish
	txn = c.command("createStream", AMF_NULL)
	what, v = c.answer(txn)
	if what != "alive":
		raise Verdict(what, v)
	c.stream_id = int(v[3]) if len(v) > 3 and isinstance(v[3], float) else 1
	if publish:
		c.command("publish", AMF_NULL, amf_str(name), amf_str("live"),
		    sid=c.stream_id, csid=5)
		what, code = c.status("NetStream.Publish.Start")
	else:
		c.send_msg(2, 4, 0, struct.pack(">HII", 3, c.stream_id, 1000))	# buffer length
		c.command("play", AMF_NULL, amf_str(name), amf_num(-2000),
		    sid=c.stream_id, csid=5)
		what, code = c.status("NetStream.Play.Start")
	if what != "alive":
		raise Verdict(what, code)


def probe(c, opt, connected=True):
	"""After the hostile bytes: is the session still going?"""
	if connected:
		txn = c.command("createStream", AMF_NULL)
	else:
		txn = c.command("connect", connect_args(opt.app))
	what, detail = c.answer(txn)
	raise Verdict(what, detail)


def until_connected(c, opt):
	c.handshake()
	do_connect(c, opt)


def until_started(c, opt):
	until_connected(c, opt)
	do_stream(c, opt)


def nested(depth, inner=b"\x03", key=b"\x00\x01a"):
	return inner + (key + inner) * (depth - 1) + OBJ_END * depth


def avc_seq():
	# AVCDecoderConfigurationRecord: baseline 3.0, one tiny SPS and PPS
	sps = b"\x67\x42\xc0\x1e\xd9\x00\xa0\x47\xfe\xc8"
	pps = b"\x68\xce\x3c\x80"
	rec = b"\x01\x42\xc0\x1e\xff\xe1" + struct.pack(">H", len(sps)) + sps + \
	    b"\x01" + struct.pack(">H", len(pps)) + pps
	return b"\x17\x00\x00\x00\x00" + rec


def avc_frame(key, n=200):
	nal = (b"\x65" if key else b"\x41") + os.urandom(n)
	return (b"\x17" if key else b"\x27") + b"\x01\x00\x00\x00" + \
	    struct.pack(">I", len(nal)) + nal


def flv_tag(mtype, ts, payload, size=None):
	size = len(payload) if size is None else size
	return bytes([mtype]) + size.to_bytes(3, "big") + \
	    (ts & 0xffffff).to_bytes(3, "big") + bytes([ts >> 24 & 0xff]) + \
	    b"\x00\x00\x00" + payload + struct.pack(">I", 11 + len(payload))


# ---- the modes --------------------------------------------------------------
#
# Each takes the connection and the options and ends by raising Verdict
# (most through probe()).  A Gone or a timeout is turned into "closed" or
# "open" by the caller.

MODES = {}


def mode(name, slow=False):
	def register(f):
		MODES[name] = (f, slow)
		return f
	return register


def expect_close(c):
	"""Waits for EOF, counting what the server sends first."""
	deadline = time.monotonic() + c.timeout
	before = c.got
	try:
		while time.monotonic() < deadline:
			c.recv_some(deadline - time.monotonic())
	except Gone:
		if c.got > before:
			raise Verdict("answered", "%d bytes" % (c.got - before))
		raise
	raise TimeoutError()


# -- handshake --

@mode("bad-c0")
def m_bad_c0(c, opt):
	c.send(b"\x06" + os.urandom(PACKET))		# RTMPE
	expect_close(c)


@mode("http")
def m_http(c, opt):
	c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	expect_close(c)


@mode("digest-offset")
def m_digest_offset(c, opt):
	# A C1 in the digest scheme's shape (version bytes non-zero) whose
	# offset bytes (8-11 and 772-775) are all 0xff: an offset sum that a
	# parser without the modulus reads far past the 1536 bytes.
	c1 = bytearray(os.urandom(PACKET))
	c1[0:8] = b"\x00\x00\x00\x00\x80\x00\x07\x02"
	c1[8:12] = b"\xff\xff\xff\xff"
	c1[772:776] = b"\xff\xff\xff\xff"
	c.handshake(bytes(c1))
	probe(c, opt, connected=False)


@mode("dribble", slow=True)
def m_dribble(c, opt):
	# C0 and C1 a byte every 50 ms: 77 s for the whole, so only an
	# absolute deadline ends it (an idle timer is reset by every byte).
	c.send(b"\x03")
	data = os.urandom(PACKET)
	deadline = time.monotonic() + c.timeout
	for i in range(PACKET):
		if time.monotonic() > deadline:
			raise TimeoutError()
		c.send(data[i:i + 1])
		try:
			c.recv_some(0.05)
		except Gone:
			raise
	raise TimeoutError()


# -- chunk --

def set_chunk_size(c, value):
	c.send_msg(2, 1, 0, struct.pack(">I", value & 0xffffffff))


@mode("chunk-size-huge")
def m_chunk_size_huge(c, opt):
	until_connected(c, opt)
	set_chunk_size(c, 0x7fffffff)
	# then the start of a big message, as if a chunk of that size followed
	c.send(header0(6, 9, 0, 0xffffff) + b"\x17\x00\x00\x00\x00")
	expect_close(c)


@mode("chunk-size-zero")
def m_chunk_size_zero(c, opt):
	until_connected(c, opt)
	set_chunk_size(c, 0)
	probe(c, opt)


@mode("chunk-size-negative")
def m_chunk_size_negative(c, opt):
	until_connected(c, opt)
	set_chunk_size(c, 0xffffffff)		# -1, and the top bit set
	probe(c, opt)


@mode("chunk-size-one")
def m_chunk_size_one(c, opt):
	# A chunk size of 1 is legal but costs a header per byte: the server
	# may refuse it or accept it, as long as it does not spin.
	until_connected(c, opt)
	set_chunk_size(c, 1)
	c.out_chunk = 1
	probe(c, opt)


def framed_connect(c, opt, frame):
	"""A connect of several chunks, framed by FRAME(body) in a legal but
	unusual way: it must be answered, and the session go on."""
	c.handshake()
	c.txn += 1
	body = amf_str("connect") + amf_num(c.txn) + connect_args(opt.app,
	    [("padding", amf_str("p" * 400))])
	frame(body)
	what, detail = c.answer(c.txn)
	if what != "alive":
		raise Verdict(what, detail)
	probe(c, opt)


@mode("chunk-size-mid-partial")
def m_chunk_size_mid_partial(c, opt):
	# connect's first 128 bytes, then Set Chunk Size 4096 on chunk
	# stream 2, then the rest of connect as one chunk of the new size:
	# the partial must survive.
	def frame(body):
		c.send(header0(3, 20, 0, len(body)) + body[:128])
		set_chunk_size(c, 4096)
		c.out_chunk = 4096
		c.send(basic_header(3, 3) + body[128:])
	framed_connect(c, opt, frame)


@mode("type1-length-change")
def m_type1_length_change(c, opt):
	until_connected(c, opt)
	body = amf_str("createStream") + amf_num(9) + AMF_NULL + amf_str("x" * 300)
	c.send(header0(3, 20, 0, len(body)) + body[:128])
	# type 1 on the same chunk stream, mid-message, declaring 4000 bytes
	c.send(basic_header(1, 3) + b"\x00\x00\x00" + (4000).to_bytes(3, "big") +
	    b"\x14" + os.urandom(128))
	expect_close(c)


@mode("type0-over-partial")
def m_type0_over_partial(c, opt):
	until_connected(c, opt)
	c.send(header0(4, 8, 1, 1000) + os.urandom(128))
	c.send(header0(4, 8, 1, 50) + os.urandom(50))
	expect_close(c)


def unseen(c, opt, fmt):
	until_connected(c, opt)
	hdr = basic_header(fmt, 40)
	if fmt == 1:
		hdr += b"\x00\x00\x00\x00\x00\x20\x09"
	elif fmt == 2:
		hdr += b"\x00\x00\x00"
	c.send(hdr + os.urandom(32))
	expect_close(c)


for _fmt in (1, 2, 3):
	MODES["type%d-unseen" % _fmt] = (lambda c, opt, fmt=_fmt: unseen(c, opt, fmt), False)


@mode("csid-65599")
def m_csid_65599(c, opt):
	# The largest chunk stream id (a 3-byte basic header) carries connect.
	framed_connect(c, opt, lambda body: c.send(c.chunks(65599, 20, 0, body)))


@mode("csid-sweep")
def m_csid_sweep(c, opt):
	# A partial message on every chunk stream id, 3 to 65599: the table
	# is bounded, so this ends with a limit, not 65597 entries.
	until_connected(c, opt)
	batch = []
	try:
		for csid in range(3, 65600):
			batch.append(header0(csid, 9, 1, 0xffffff) + b"\x17" + bytes(127))
			if len(batch) == 512:
				c.send(b"".join(batch))
				batch = []
		c.send(b"".join(batch))
	except Gone:
		raise
	expect_close(c)


@mode("many-huge")
def m_many_huge(c, opt):
	# 0xffffff declared on 50 chunk streams (under the table limit of 64),
	# the first 128 bytes of each sent, the rest held back; then --hold
	# seconds of silence.  Declared lengths must not be allocated.
	until_connected(c, opt)
	c.send(b"".join(header0(csid, 9, 1, 0xffffff) + b"\x17" + bytes(127)
	    for csid in range(10, 60)))
	time.sleep(opt.hold)
	probe(c, opt)


@mode("zero-length")
def m_zero_length(c, opt):
	# Zero-length messages of every kind a peer sends: control, media,
	# data, command; ignored or refused, never an out-of-bounds read.
	until_connected(c, opt)
	for csid, mtype in ((2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (2, 6),
	    (4, 8), (6, 9), (5, 18), (5, 22), (5, 15)):
		c.send(header0(csid, mtype, 0, 0))
	probe(c, opt)


@mode("zero-length-command")
def m_zero_length_command(c, opt):
	# an AMF0 and an AMF3 command of no bytes: no name to read, refused
	until_connected(c, opt)
	c.send(header0(3, 20, 0, 0))
	c.send(header0(3, 17, 0, 0))
	probe(c, opt)


def extended(c, opt, repeat):
	# connect with timestamp 0x01020304 (extended), in chunks of 128:
	# its type 3 continuations carry the 4-byte field again or not.
	ts = 0x01020304

	def frame(body):
		out = [header0(3, 20, 0, len(body), ts)]
		for off in range(0, len(body), 128):
			if off:
				out.append(basic_header(3, 3) + (struct.pack(">I", ts) if repeat else b""))
			out.append(body[off:off + 128])
		c.send(b"".join(out))
	framed_connect(c, opt, frame)


MODES["ext-ts-repeat"] = (lambda c, opt: extended(c, opt, True), False)
MODES["ext-ts-norepeat"] = (lambda c, opt: extended(c, opt, False), False)


@mode("abort-unknown")
def m_abort_unknown(c, opt):
	until_connected(c, opt)
	for csid in (3, 50, 65599, 0, 0xffffffff):
		c.send_msg(2, 2, 0, struct.pack(">I", csid))
	probe(c, opt)


@mode("abort-partial")
def m_abort_partial(c, opt):
	# A partial message on chunk stream 4, Abort for it, then a new type 0
	# message there: legal only because the partial was dropped.
	until_connected(c, opt)
	c.send(header0(4, 8, 0, 1000) + os.urandom(128))
	c.send_msg(2, 2, 0, struct.pack(">I", 4))
	c.send(header0(4, 8, 0, 10) + os.urandom(10))
	probe(c, opt)


# -- control --

@mode("window-ack-0")
def m_window_ack_0(c, opt):
	until_connected(c, opt)
	c.send_msg(2, 5, 0, struct.pack(">I", 0))
	probe(c, opt)


@mode("window-ack-1")
def m_window_ack_1(c, opt):
	# Window Ack Size 1 before connect, then 200 messages: an ack per
	# message received would be a storm; DETAIL counts what came back.
	c.handshake()
	c.send_msg(2, 5, 0, struct.pack(">I", 1))
	do_connect(c, opt)
	before = c.got
	for i in range(200):
		c.send_msg(5, 18, 0, amf_str("onJunk") + amf_str("j" * 500))
	txn = c.command("createStream", AMF_NULL)
	what, detail = c.answer(txn)
	raise Verdict(what, "server-bytes=%d" % (c.got - before))


@mode("short-control")
def m_short_control(c, opt):
	# Set Chunk Size, Abort, Ack, User Control, Window Ack Size and Set
	# Peer Bandwidth of fewer bytes than their fields: ignored.
	until_connected(c, opt)
	for mtype, body in ((1, b"\x00\x10"), (2, b"\x00"), (3, b"\x01\x02\x03"),
	    (4, b"\x00"), (4, b"\x00\x06\x00"), (5, b"\x00\x00\x01"), (6, b"\x00\x00\x10")):
		c.send_msg(2, mtype, 0, body)
	probe(c, opt)


@mode("createstream-flood")
def m_createstream_flood(c, opt):
	# 5000 createStream without a publish or play: stream ids are not a
	# table that grows with them (or the session ends at a limit)
	until_connected(c, opt)
	c.send(b"".join(c.chunks(3, 20, 0, amf_str("createStream") + amf_num(100 + i) +
	    AMF_NULL) for i in range(5000)))
	probe(c, opt)


@mode("ping-flood", slow=True)
def m_ping_flood(c, opt):
	# Ping Requests (User Control 6) as fast as the server takes them for
	# --hold seconds, never reading: its pongs must not pile up (it stops
	# reading instead).  Then what it sent is read to the close, which
	# its handshake deadline brings (nothing was published).
	until_connected(c, opt)
	burst = c.chunks(2, 4, 0, struct.pack(">HI", 6, 12345)) * 1000
	sent, end = 0, time.monotonic() + opt.hold
	c.sock.settimeout(0.2)
	while time.monotonic() < end:
		try:
			sent += c.sock.send(burst)
		except socket.timeout:
			pass
		except OSError:
			raise Gone()
	try:
		expect_close(c)
	except Verdict:
		raise Verdict("closed", "sent=%d" % sent)
	except Gone:
		raise Verdict("closed", "sent=%d" % sent)


@mode("publish-twice")
def m_publish_twice(c, opt):
	# publish (or play) again on the stream already started, and on
	# stream ids never created
	until_started(c, opt)
	verb = "play" if opt.play else "publish"
	for sid in (c.stream_id, 7, 0, 0xffffffff):
		c.command(verb, AMF_NULL, amf_str(opt.stream), amf_str("live"), sid=sid, csid=5)
	c.command("deleteStream", AMF_NULL, amf_num(99))
	c.command("closeStream", sid=42)
	probe(c, opt)


# -- AMF0 --

def bad_connect(c, opt, payload):
	"""Sends PAYLOAD as connect: a refusal (_error) or a close are safe."""
	c.handshake()
	c.send_msg(3, 20, 0, payload)
	raise Verdict(*c.answer(None))


# connect commands that are not: each must be ended (a limit, a protocol
# violation) or refused, never followed
BAD_CONNECTS = {
	"amf-nested": amf_num(1) + nested(100000),
	# strict arrays of one element, 100000 deep
	"amf-nested-array": amf_num(1) + b"\x0a\x00\x00\x00\x01" * 100000 + AMF_NULL,
	"amf-ecma-count": amf_num(1) + b"\x08\xff\xff\xff\xff\x00\x01a\x00",
	"amf-strict-count": amf_num(1) + b"\x0a\xff\xff\xff\xff\x05\x05",
	"amf-string-past": amf_num(1) + b"\x03\x00\x03app\x02\xff\xfflive",
	"amf-long-string-past": amf_num(1) + b"\x03\x00\x03app\x0c\xff\xff\xff\xf0live",
	"amf-bad-marker": amf_num(1) + b"\x03\x00\x03app\x42\x00\x00\x09",
	"amf-truncated-number": b"\x00\x3f\xf0",
	# a number where connect's command object belongs
	"connect-number": amf_num(1) + amf_num(7),
	"connect-app-number": amf_num(1) + amf_obj([("app", amf_num(3)), ("tcUrl", amf_obj([]))]),
	"connect-missing": b"",
}
for _name, _args in BAD_CONNECTS.items():
	MODES[_name] = (lambda c, opt, args=_args: bad_connect(c, opt, amf_str("connect") + args), False)


@mode("name-number")
def m_name_number(c, opt):
	# publish or play with a number for the stream name, then an object
	until_connected(c, opt)
	txn = c.command("createStream", AMF_NULL)
	what, v = c.answer(txn)
	sid = int(v[3]) if what == "alive" and len(v) > 3 and isinstance(v[3], float) else 1
	verb = "play" if opt.play else "publish"
	c.command(verb, AMF_NULL, amf_num(12), amf_obj([]), sid=sid, csid=5)
	c.command(verb, AMF_NULL, amf_obj([("a", amf_num(1))]), sid=sid, csid=5)
	c.command(verb, sid=sid, csid=5)
	probe(c, opt)


@mode("command-unknown")
def m_command_unknown(c, opt):
	# commands nobody knows, with odd arguments: ignored or refused
	until_connected(c, opt)
	c.command("FCSubscribe", AMF_NULL, amf_num(1))
	c.command("\x00\xff", nested(20))
	c.command("deleteStream", AMF_NULL, amf_num(1e300))
	c.command("closeStream", amf_num(-1))
	c.command("receiveAudio", AMF_NULL, amf_str("yes"))
	probe(c, opt)


# -- names --

def bad_name(c, opt, name):
	until_connected(c, opt)
	try:
		do_stream(c, opt, name=name)
	except Verdict as v:
		if v.what != "refused":
			raise
		probe(c, opt)
	raise Verdict("accepted")


BAD_NAMES = {
	"name-long": "n" * 300,
	"name-dotdot": "../../../../tmp/rtmpkit-hostile",
	"name-shell": "x;touch /tmp/rtmpkit-hostile-$(id -u)`id`|\"'\n",
	"name-control": "a\x00b\x1b[31m\xff",
}
for _name, _stream in BAD_NAMES.items():
	MODES[_name] = (lambda c, opt, name=_stream: bad_name(c, opt, name), False)


@mode("app-bad")
def m_app_bad(c, opt):
	# app names with the same bytes, in connect: refused there or later
	c.handshake()
	c.txn += 1
	c.send_msg(3, 20, 0, amf_str("connect") + amf_num(c.txn) +
	    connect_args("../" + "a" * 300 + "$(id)"))
	what, detail = c.answer(c.txn)
	if what != "alive":
		raise Verdict(what, detail)
	try:
		do_stream(c, opt)
	except Verdict as v:
		if v.what != "refused":
			raise
		probe(c, opt)
	raise Verdict("accepted")


# -- media (a publisher) --

def publish_then(c, opt, messages, ts0=0):
	"""Publishes, sends MESSAGES ((type, payload), ...) and probes."""
	until_started(c, opt)
	ts = ts0
	for mtype, payload in messages:
		csid = 4 if mtype == 8 else 6
		c.send_msg(csid, mtype, c.stream_id, payload, ts)
		ts += 40
	probe(c, opt)


@mode("media-before-publish")
def m_media_before_publish(c, opt):
	until_connected(c, opt)
	for i in range(10):
		c.send_msg(6, 9, 1, avc_frame(i == 0), 40 * i)
		c.send_msg(4, 8, 1, b"\xaf\x01" + os.urandom(50), 40 * i)
	c.send_msg(5, 18, 1, amf_str("@setDataFrame") + amf_str("onMetaData") +
	    amf_obj([("width", amf_num(1))]))
	probe(c, opt)


@mode("video-no-seqhdr")
def m_video_no_seqhdr(c, opt):
	publish_then(c, opt, [(9, avc_frame(i % 10 == 0)) for i in range(30)])


@mode("audio-only")
def m_audio_only(c, opt):
	publish_then(c, opt, [(8, b"\xaf\x00\x12\x10")] +
	    [(8, b"\xaf\x01" + os.urandom(100)) for i in range(30)])


@mode("aggregate-overrun")
def m_aggregate_overrun(c, opt):
	# An aggregate (type 22) whose second sub-tag claims 64 KiB in a
	# message of a few hundred bytes, and one whose header is cut short.
	good = flv_tag(9, 0, avc_seq()) + flv_tag(9, 0, avc_frame(True))
	bad = flv_tag(9, 40, avc_frame(False), size=0xffff)
	short = flv_tag(9, 80, avc_frame(False))[:7]
	until_started(c, opt)
	c.send_msg(6, 22, c.stream_id, good + bad)
	c.send_msg(6, 22, c.stream_id, good + short, 80)
	c.send_msg(6, 22, c.stream_id, b"\x09\x00", 120)
	probe(c, opt)


@mode("flv-tag-size-0")
def m_flv_tag_size_0(c, opt):
	# aggregate sub-tags of size 0, then zero-length audio and video
	until_started(c, opt)
	c.send_msg(6, 22, c.stream_id, flv_tag(9, 0, b"") + flv_tag(8, 0, b"") +
	    flv_tag(18, 0, b""))
	c.send(header0(6, 9, c.stream_id, 0, 40))
	c.send(header0(4, 8, c.stream_id, 0, 40))
	c.send(header0(5, 18, c.stream_id, 0, 40))
	probe(c, opt)


@mode("modex-overrun")
def m_modex_overrun(c, opt):
	# Enhanced RTMP video: IsExHeader | key frame | ModEx (7), then a
	# ModEx size (1 byte, +1) as large as the tag or beyond it, in the
	# 1-byte and the 2-byte (0xff, then 16 bits) form; then no FourCC.
	msgs = [
		b"\x97\x05",				# size 6 in a 2-byte body
		b"\x97\x01\x00",			# size 2, one data byte left
		b"\x97\xff\xff\xff" + b"hvc1",		# size 65536 in 8 bytes
		b"\x97\xff\x00",			# 2-byte size cut short
		b"\x97",				# ModEx and nothing else
		b"\x97\x00\x00\x71" + b"hvc1",		# well formed: 1 byte, then type 1
		b"\x97" + b"\x00\x00\x07" * 50,		# ModEx after ModEx
	]
	publish_then(c, opt, [(9, m) for m in msgs] +
	    [(8, b"\x97\x05"), (8, b"\x97\xff\xff\xff")])


@mode("metadata-hostile")
def m_metadata_hostile(c, opt):
	# onMetaData (with and without @setDataFrame) that is nested 100000
	# deep, counts 0xffffffff entries, runs past its end, has the wrong
	# types for the fields a server reads (width, videocodecid), or no
	# value at all: stripped, passed or dropped, never followed.
	sdf = amf_str("@setDataFrame") + amf_str("onMetaData")
	bodies = [
		nested(100000), b"\x08\xff\xff\xff\xff\x00\x05width", b"\x08\x00\x00\x00\x01\x00\x05width\x02\xff\xff",
		amf_obj([("width", amf_str("wide")), ("videocodecid", amf_obj([])),
		    ("audiocodecid", amf_str("x" * 1000)), ("framerate", amf_num(float("nan"))),
		    ("videodatarate", amf_num(-1e308)), ("duration", amf_num(float("inf")))]),
		b"",
	]
	publish_then(c, opt, [(18, p + b) for b in bodies for p in (sdf, amf_str("onMetaData"))] +
	    [(18, amf_str("@setDataFrame")), (18, b"\x02\x00")])


# -- resources --

@mode("stop-reading", slow=True)
def m_stop_reading(c, opt):
	# A player that plays and then never reads: the server must bound its
	# queue and disconnect it.  The receive buffer is small (run_one sets
	# it before connecting), then we sleep --hold seconds and read what is
	# left, to its end.
	until_started(c, opt)
	time.sleep(opt.hold)
	deadline = time.monotonic() + c.timeout
	try:
		while time.monotonic() < deadline:
			c.recv_some(deadline - time.monotonic())
	except Gone:
		raise
	raise TimeoutError()


# ---- running ---------------------------------------------------------------

def run_one(name, opt):
	f, slow = MODES[name]
	start = time.monotonic()
	try:
		c = Conn(opt.host, opt.port, opt.timeout,
		    4096 if name in ("stop-reading", "ping-flood") else 0)
	except OSError as e:
		sys.stderr.write("client.py: %s: cannot connect: %s\n" % (name, e))
		sys.exit(2)
	what, detail = None, ""
	try:
		f(c, opt)
		what = "open"
	except Verdict as v:
		what, detail = v.what, v.detail
	except Gone:
		what = "closed"
	except TimeoutError:
		what = "open"
	took = time.monotonic() - start
	c.close()
	if isinstance(detail, (list, tuple)):
		detail = ""
	return what, c.addr, took, str(detail or "")


def feed(path):
	"""An FLV on stdout for rtmp-relay's stdin: tags HOSTILE.md's media
	and AMF0 rows describe (size 0, ModEx past the tag, E-RTMP headers cut
	short, a frame before any sequence header, metadata with a huge count
	or nested deep, an unknown tag type), then the FLV at PATH in real
	time by its timestamps, shifted to follow them."""
	out = sys.stdout.buffer
	clip = open(path, "rb").read()
	out.write(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00")
	for mtype, body in (
		(9, b""), (8, b""), (18, b""),
		(9, b"\x97\x05"), (9, b"\x97\xff\xff\xff"), (9, b"\x97"),
		(9, b"\x97" + b"\x00\x00\x07" * 30), (9, b"\x90hvc"), (9, b"\x91hvc1"),
		(9, b"\x96\x00hvc1"), (9, avc_frame(True)), (8, b"\xaf"), (8, b"\x9f\x05"),
		(18, amf_str("onMetaData") + b"\x08\xff\xff\xff\xff"),
		(18, amf_str("onMetaData") + nested(5000)),
		(18, b"\x02\xff\xff"), (7, b"junk"),
	):
		out.write(flv_tag(mtype, 0, body))
	out.flush()
	off = int.from_bytes(clip[5:9], "big") + 4
	start = time.monotonic()
	while off + 11 <= len(clip):
		size = int.from_bytes(clip[off + 1:off + 4], "big")
		ts = int.from_bytes(clip[off + 4:off + 7], "big") | clip[off + 7] << 24
		wait = start + ts / 1000.0 - time.monotonic()
		if wait > 0:
			out.flush()
			time.sleep(wait)
		out.write(clip[off:off + 15 + size])
		off += 15 + size
	out.flush()


def stalled(opt, n):
	"""N connections that never finish the handshake, half of them after
	C0 alone: "open N", then "closed K after S s", K of them ended by the
	server within --timeout."""
	socks = []
	for i in range(n):
		s = socket.create_connection((opt.host, opt.port))
		if i % 2:
			s.send(b"\x03")
		socks.append(s)
	print("open", len(socks), flush=True)
	t0 = time.monotonic()
	closed = 0
	for s in socks:
		s.settimeout(max(0.1, opt.timeout - (time.monotonic() - t0)))
		try:
			while s.recv(4096):
				pass
			closed += 1
		except socket.timeout:
			pass
		except OSError:
			closed += 1
		s.close()
	print("closed %d after %.1f s" % (closed, time.monotonic() - t0), flush=True)


def main():
	ap = argparse.ArgumentParser(description="a hostile RTMP client")
	ap.add_argument("--host", default="127.0.0.1")
	ap.add_argument("--port", type=int, default=0)
	ap.add_argument("--play", action="store_true", help="a player, not a publisher")
	ap.add_argument("--app", default="live")
	ap.add_argument("--stream", default="hostile")
	ap.add_argument("--timeout", type=float, default=5.0,
	    help="seconds to wait for an answer or a close")
	ap.add_argument("--hold", type=float, default=0.0,
	    help="seconds to hold a connection open (many-huge, stop-reading)")
	ap.add_argument("modes", nargs="+", metavar="MODE")
	opt = ap.parse_args()
	for name in opt.modes:
		if name.startswith("feed:"):
			feed(name[5:])
			continue
		if name.startswith("stalled:"):
			stalled(opt, int(name[8:]))
			continue
		if name.startswith("cycle:"):
			n = int(name[6:])
			fast = sorted(m for m, (f, slow) in MODES.items() if not slow)
			counts = {}
			for i in range(n):
				m = fast[i % len(fast)]
				what = run_one(m, opt)[0]
				counts[what] = counts.get(what, 0) + 1
			print("cycle %d %s" % (n, " ".join("%s=%d" % kv for kv in sorted(counts.items()))),
			    flush=True)
			continue
		if name not in MODES:
			sys.stderr.write("client.py: unknown mode %s; modes: %s\n" %
			    (name, " ".join(sorted(MODES))))
			sys.exit(2)
		what, addr, took, detail = run_one(name, opt)
		print(("%s %s %s %.2f %s" % (name, what, addr, took, detail)).rstrip(), flush=True)


if __name__ == "__main__":
	main()
