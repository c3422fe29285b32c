/*
 * handshake.h: the RTMP handshake, both roles, without I/O.
 *
 * Client: handshake_init() queues C0+C1; feed S0+S1+S2; it queues C2 and
 * returns HANDSHAKE_DONE.  Server: feed C0+C1; it queues S0+S1+S2; feed C2;
 * it returns HANDSHAKE_DONE.  handshake_feed() consumes only handshake
 * bytes: anything after C2 (or S2) is left unconsumed for the chunk decoder.
 *
 * Two flavours.  A C1/S1 whose version field (bytes 4..7) is zero is the
 * plain handshake (librtmp, GStreamer): S2/C2 echo the peer's packet.  A
 * non-zero version means the Flash Player 9 digest handshake (ffmpeg,
 * VLC, nginx-rtmp): an HMAC-SHA256 digest sits at an offset derived from
 * four bytes of the packet, in one of two schemes.  The server looks for a
 * valid client digest in both schemes; if it finds one it answers with a
 * digest S1 and an S2 signed by the client's digest, and if it finds none
 * it falls back to the plain answer (offsets are bounded, never trusted).
 * The client sends a digest C1 when config.digest is set, and then
 * requires a valid digest in a non-zero-version S1 and an S2 that is either
 * signed with its own digest or an echo of C1; a zero-version S1 is
 * accepted plainly.  Failure is RTMP_EHANDSHAKE; a C0/S0 other than 3
 * (RTMPE, or an HTTP request) fails at the first byte.
 *
 * The output is a view into the handshake's own storage, valid until the
 * next call; the caller marks what it wrote with handshake_output_sent().
 * Deadlines are the caller's: a peer that dribbles bytes is the event
 * loop's business, not this module's.
 */
#ifndef RTMPKIT_HANDSHAKE_H
#define RTMPKIT_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define HANDSHAKE_PACKET_SIZE	1536
#define HANDSHAKE_NEED_MORE	0
#define HANDSHAKE_DONE		1

enum handshake_role {
	HANDSHAKE_CLIENT,
	HANDSHAKE_SERVER,
};

struct handshake_config {
	enum handshake_role role;
	int		 digest;	/* client: send a Flash Player 9 digest C1 */
	uint32_t	 epoch;		/* our time field; 0 is fine */
	/*
	 * Our C1/S1 template: NULL draws random bytes.  Tests pass a recorded
	 * C1 here: with the same version and digest position it reproduces
	 * that C1 byte for byte.
	 */
	const uint8_t	*packet;
};

struct handshake {
	enum handshake_role role;
	int		 state;
	int		 digest;		/* our C1/S1 carries a digest */
	int		 peer_digest;		/* peer's C1/S1 digest was found valid */
	uint32_t	 peer_version;		/* bytes 4..7 of the peer's C1/S1, big-endian */
	uint32_t	 peer_epoch;
	uint8_t		 own[HANDSHAKE_PACKET_SIZE];	/* our C1 or S1 */
	uint8_t		 own_digest[32];		/* digest inside own, when digest */
	uint8_t		 peer[HANDSHAKE_PACKET_SIZE];	/* peer's C1 or S1 as received */
	size_t		 peer_len;		/* bytes of the current expected input so far */
	uint8_t		 out[1 + 2 * HANDSHAKE_PACKET_SIZE];
	size_t		 out_off, out_len;
};

void		 handshake_init(struct handshake *h, const struct handshake_config *config);
/* HANDSHAKE_NEED_MORE, HANDSHAKE_DONE or RTMP_EHANDSHAKE. */
int		 handshake_feed(struct handshake *h, const uint8_t *in, size_t len, size_t *consumed);
/* Bytes to send now (len 0 when none). */
const uint8_t	*handshake_output(const struct handshake *h, size_t *len);
void		 handshake_output_sent(struct handshake *h, size_t n);

/*
 * Helpers exposed for tests and fuzzing.  Find the digest of a C1
 * (client=1) or S1 (client=0) packet in either scheme: returns the offset
 * of the 32-byte digest, or -1 if neither scheme validates.
 */
int		 handshake_find_digest(const uint8_t packet[HANDSHAKE_PACKET_SIZE], int client);
/*
 * The signature in the last 32 bytes of a signed C2 (client=1) or S2
 * (client=0): HMAC-SHA256 of packet[0..1504) keyed with HMAC-SHA256 of
 * peer_digest under the full (62- or 68-byte) Flash key.
 */
void		 handshake_sign(const uint8_t packet[HANDSHAKE_PACKET_SIZE],
		    const uint8_t peer_digest[32], int client, uint8_t sig[32]);

#endif
