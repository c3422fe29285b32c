#!/usr/bin/env python3
"""record.py LISTEN_PORT TARGET_PORT PCAP: a TCP proxy on 127.0.0.1 that
records every byte it forwards, in both directions and in the order it
forwarded them, as a pcap file of synthetic IPv4/TCP packets (handshake,
data with consistent sequence numbers, FIN), so that Wireshark can judge
what went over the wire without the privileges a live capture needs.  A
normal user runs it: tests must pass as one (README).  Stops on SIGTERM,
closing every connection; prints "listening" once it accepts."""

import os, select, signal, socket, struct, sys, time

listen_port, target_port, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = open(path, "wb")
# LINKTYPE_RAW (101): packets start at the IP header.
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))

def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def packet(sport, dport, seq, ack, flags, data=b""):
    src = dst = socket.inet_aton("127.0.0.1")
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(data))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + data)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(data), 0, 0x4000,
                     64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    frame = ip + tcp + data
    now = time.time()
    out.write(struct.pack("<IIII", int(now), int((now % 1) * 1e6), len(frame), len(frame)))
    out.write(frame)

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01

class Flow:
    """One proxied connection: the client's port, both sides' next seq."""
    def __init__(self, client, server, cport):
        self.client, self.server, self.cport = client, server, cport
        self.cseq, self.sseq = 1000, 5000
        packet(cport, listen_port, self.cseq, 0, SYN)
        packet(listen_port, cport, self.sseq, self.cseq + 1, SYN | ACK)
        self.cseq += 1
        self.sseq += 1
        packet(cport, listen_port, self.cseq, self.sseq, ACK)

    def record(self, from_client, data):
        for i in range(0, len(data), 16000):
            piece = data[i:i + 16000]
            if from_client:
                packet(self.cport, listen_port, self.cseq, self.sseq, PSH | ACK, piece)
                self.cseq += len(piece)
            else:
                packet(listen_port, self.cport, self.sseq, self.cseq, PSH | ACK, piece)
                self.sseq += len(piece)
        out.flush()

    def close(self):
        packet(self.cport, listen_port, self.cseq, self.sseq, FIN | ACK)
        packet(listen_port, self.cport, self.sseq, self.cseq + 1, FIN | ACK)
        packet(self.cport, listen_port, self.cseq + 1, self.sseq + 1, ACK)
        out.flush()
        self.client.close()
        self.server.close()

running = True
def stop(signo, frame):
    global running
    running = False
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", listen_port))
lsock.listen(64)
print("listening", flush=True)
flows = {}
while running:
    socks = [lsock] + [s for f in set(flows.values()) for s in (f.client, f.server)]
    try:
        ready, _, _ = select.select(socks, [], [], 0.2)
    except InterruptedError:
        continue
    for s in ready:
        if s is lsock:
            c, addr = lsock.accept()
            try:
                t = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            except OSError:
                c.close()
                continue
            f = Flow(c, t, addr[1])
            flows[c] = flows[t] = f
            continue
        f = flows.get(s)
        if f is None:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            del flows[f.client], flows[f.server]
            f.close()
            continue
        # Forward first, then record: what is recorded went out.
        other = f.server if s is f.client else f.client
        try:
            other.sendall(data)
        except OSError:
            del flows[f.client], flows[f.server]
            f.close()
            continue
        f.record(s is f.client, data)
for f in set(flows.values()):
    f.close()
out.close()
