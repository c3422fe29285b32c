/*
 * fuzz_handshake: the same bytes into a server and a client handshake, in
 * pieces whose sizes come from the input.
 *
 * Input: one control byte, then (when bit 2 is set) a 1536-byte template
 * used as our C1/S1, then the peer's bytes.  Bit 0 makes the client send a
 * digest C1; the other bits seed the piece sizes.  With a recorded C1 as
 * template and nginx's recorded answer the client's digest path completes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "handshake.h"

#define PS	HANDSHAKE_PACKET_SIZE

static void
run(enum handshake_role role, int digest, const uint8_t *tmpl, uint32_t seed,
    const uint8_t *in, size_t len)
{
	struct handshake_config	 cfg;
	struct handshake	 h;
	const uint8_t		*out;
	size_t			 off = 0, piece, used, total = 0, n;
	int			 rc = HANDSHAKE_NEED_MORE;

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.digest = digest;
	/* A template's own time keeps a recorded C1 byte for byte. */
	cfg.epoch = tmpl != NULL ? (uint32_t)tmpl[0] << 24 | (uint32_t)tmpl[1] << 16 |
	    (uint32_t)tmpl[2] << 8 | tmpl[3] : seed;
	cfg.packet = tmpl;
	handshake_init(&h, &cfg);
	while (off < len) {
		seed = seed * 1103515245u + 12345u;
		piece = 1 + (seed >> 16) % 1600;
		if (piece > len - off)
			piece = len - off;
		rc = handshake_feed(&h, in + off, piece, &used);
		if (used > piece)
			abort();
		off += used;
		total += used;
		if (rc != HANDSHAKE_NEED_MORE && rc != HANDSHAKE_DONE && rc != RTMP_EHANDSHAKE)
			abort();
		/* Drain part of the output now and then, as a slow socket would. */
		out = handshake_output(&h, &n);
		if (n > 1 + 2 * PS || (n > 0 && (out < h.out || out + n > h.out + sizeof(h.out))))
			abort();
		if (n > 0 && (seed & 0x100))
			handshake_output_sent(&h, (seed >> 9) % (n + 1));
		if (rc != HANDSHAKE_NEED_MORE)
			break;
		if (used < piece)
			abort();	/* need-more takes everything offered */
	}
	if (rc == HANDSHAKE_DONE) {
		/* Done means exactly C0..C2 or S0..S2 were taken. */
		if (total != 1 + 2 * PS)
			abort();
		if (role == HANDSHAKE_SERVER && h.peer_digest &&
		    handshake_find_digest(h.own, 0) < 0)
			abort();
		rc = handshake_feed(&h, in, len, &used);
		if (rc != HANDSHAKE_DONE || used != 0)
			abort();
	}
	if (rc == RTMP_EHANDSHAKE && handshake_feed(&h, in, len, &used) != RTMP_EHANDSHAKE)
		abort();
	out = handshake_output(&h, &n);
	handshake_output_sent(&h, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*tmpl = NULL;
	uint8_t		 ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	if (ctl & 4) {
		if (size < PS)
			return 0;
		tmpl = data;
		data += PS;
		size -= PS;
	}
	run(HANDSHAKE_SERVER, 0, tmpl, ctl >> 3, data, size);
	run(HANDSHAKE_CLIENT, ctl & 1, tmpl, ctl >> 3, data, size);
	return 0;
}
