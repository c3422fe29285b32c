/*
 * The RTMP handshake, both roles, as a byte-driven state machine.
 *
 * Digest handshake (Flash Player 9): C1/S1 carry an HMAC-SHA256 of the
 * packet minus its own 32 digest bytes, keyed with the 30-byte player key
 * (C1) or the 36-byte server key (S1).  Its offset comes from four bytes
 * of the packet: scheme 0 sums bytes 8..11 (offset % 728 + 12), scheme 1
 * sums bytes 772..775 (offset % 728 + 776); both keep all 32 bytes inside
 * the packet whatever the four bytes are.  The answer (S2 or C2) is 1504
 * filler bytes and an HMAC of them keyed with HMAC(full 68/62-byte key,
 * the peer's digest).
 *
 * Leniencies, chosen to match what real peers send:
 *  - a server does not check C2 (ffmpeg publishing echoes S1, playing
 *    signs it; nginx-rtmp checks neither);
 *  - a plain client (config.digest unset) accepts any S2, as librtmp does;
 *  - a digest client takes S2 as an echo when bytes 8..1535 equal its C1:
 *    the spec lets the peer put its own time in bytes 4..7.
 * Our server answers a digest C1 in the scheme the client used.
 *
 * SHA-256 is libmd's (<sha2.h>, which libbsd brings), with RFC 2104's HMAC
 * on top.  OpenSSL's HMAC() would make every plain rtmp:// session pay for
 * OpenSSL's initialisation, its config file, a provider and a fetch:
 * 5.5 M instructions and 4 MB of RSS on a 2 s play, where this costs 40 k.
 */
#include <stdlib.h>
#include <string.h>

#include <sha2.h>

#include "bytes.h"
#include "error.h"
#include "handshake.h"

#define DIGEST_LEN		32
#define SIGNED_LEN		(HANDSHAKE_PACKET_SIZE - DIGEST_LEN)
#define CLIENT_KEY_OPEN		30	/* "Genuine Adobe Flash Player 001" */
#define SERVER_KEY_OPEN		36	/* "Genuine Adobe Flash Media Server 001" */

enum {
	HS_WANT_0,		/* peer's C0/S0 */
	HS_WANT_1,		/* peer's C1/S1 */
	HS_WANT_2,		/* peer's C2/S2 */
	HS_DONE,
	HS_FAILED,
};

static const uint8_t key_tail[32] = {
	0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8,
	0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
	0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
	0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
};

/* Flash Player 9.0.124.2, what ffmpeg claims; 13.14.10.13 as nginx-rtmp. */
static const uint8_t handshake_client_version[4] = { 9, 0, 124, 2 };
static const uint8_t server_version[4] = { 13, 14, 10, 13 };

static void
handshake_make_key(uint8_t *key, int client)
{
	static const char	 player[] = "Genuine Adobe Flash Player 001";
	static const char	 server[] = "Genuine Adobe Flash Media Server 001";

	if (client) {
		memcpy(key, player, CLIENT_KEY_OPEN);
		memcpy(key + CLIENT_KEY_OPEN, key_tail, sizeof(key_tail));
	} else {
		memcpy(key, server, SERVER_KEY_OPEN);
		memcpy(key + SERVER_KEY_OPEN, key_tail, sizeof(key_tail));
	}
}

static size_t
handshake_digest_offset(const uint8_t *p, int scheme)
{
	size_t	 base = scheme == 0 ? 8 : 772;

	return ((size_t)p[base] + p[base + 1] + p[base + 2] + p[base + 3]) %
	    728 + base + 4;
}

/*
 * HMAC-SHA256 of data then more (morelen may be 0) into out, which is
 * written only at the end: it may lie inside either input.
 */
static void
handshake_hmac(const uint8_t *key, size_t keylen, const uint8_t *data,
    size_t len, const uint8_t *more, size_t morelen, uint8_t out[DIGEST_LEN])
{
	SHA2_CTX	 c;
	uint8_t		 k[SHA256_BLOCK_LENGTH], pad[SHA256_BLOCK_LENGTH];
	uint8_t		 inner[SHA256_DIGEST_LENGTH];
	size_t		 i;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k)) {
		/* The full Flash keys are 62 and 68 bytes: one is hashed first. */
		SHA256Init(&c);
		SHA256Update(&c, key, keylen);
		SHA256Final(k, &c);
	} else
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	SHA256Init(&c);
	SHA256Update(&c, pad, sizeof(pad));
	SHA256Update(&c, data, len);
	if (morelen > 0)
		SHA256Update(&c, more, morelen);
	SHA256Final(inner, &c);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256Init(&c);
	SHA256Update(&c, pad, sizeof(pad));
	SHA256Update(&c, inner, sizeof(inner));
	SHA256Final(out, &c);
}

/*
 * HMAC of the packet without the 32 bytes at off, keyed with the open key.
 * out may be p + off: it is written only after both halves are hashed.
 */
static void
handshake_packet_digest(const uint8_t *p, size_t off, int client, uint8_t out[DIGEST_LEN])
{
	uint8_t	 key[SERVER_KEY_OPEN + 32];

	handshake_make_key(key, client);
	handshake_hmac(key, client ? CLIENT_KEY_OPEN : SERVER_KEY_OPEN, p, off,
	    p + off + DIGEST_LEN, HANDSHAKE_PACKET_SIZE - off - DIGEST_LEN, out);
}

int
handshake_find_digest(const uint8_t packet[HANDSHAKE_PACKET_SIZE], int client)
{
	uint8_t	 d[DIGEST_LEN];
	size_t	 off;
	int	 scheme;

	for (scheme = 0; scheme < 2; scheme++) {
		off = handshake_digest_offset(packet, scheme);
		handshake_packet_digest(packet, off, client, d);
		if (memcmp(d, packet + off, DIGEST_LEN) == 0)
			return (int)off;
	}
	return -1;
}

void
handshake_sign(const uint8_t packet[HANDSHAKE_PACKET_SIZE],
    const uint8_t peer_digest[32], int client, uint8_t sig[32])
{
	uint8_t	 key[SERVER_KEY_OPEN + 32], k[DIGEST_LEN];

	handshake_make_key(key, client);
	handshake_hmac(key, client ? CLIENT_KEY_OPEN + 32 : SERVER_KEY_OPEN + 32,
	    peer_digest, DIGEST_LEN, NULL, 0, k);
	handshake_hmac(k, sizeof(k), packet, SIGNED_LEN, NULL, 0, sig);
}

/* Time, version and, when digest, the digest of our C1/S1 in own[]. */
static void
handshake_build_own(struct handshake *h, uint32_t epoch, int scheme)
{
	uint8_t	*p = h->own;
	size_t	 off;
	int	 client = h->role == HANDSHAKE_CLIENT;

	bytes_put32(p, epoch);
	if (!h->digest) {
		memset(p + 4, 0, 4);
		return;
	}
	/* A template's own non-zero version is kept: it reproduces that packet. */
	if (p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] == 0)
		memcpy(p + 4, client ? handshake_client_version : server_version, 4);
	off = handshake_digest_offset(p, scheme);
	handshake_packet_digest(p, off, client, p + off);
	memcpy(h->own_digest, p + off, DIGEST_LEN);
}

void
handshake_init(struct handshake *h, const struct handshake_config *config)
{
	memset(h, 0, sizeof(*h));
	h->role = config->role;
	h->state = HS_WANT_0;
	if (config->packet != NULL)
		memcpy(h->own, config->packet, HANDSHAKE_PACKET_SIZE);
	else {
		arc4random_buf(h->own, HANDSHAKE_PACKET_SIZE);
		memset(h->own + 4, 0, 4);	/* handshake_build_own() picks the version */
	}
	/* The server keeps the epoch in own[] until it knows C1's flavour. */
	bytes_put32(h->own, config->epoch);
	if (h->role != HANDSHAKE_CLIENT)
		return;
	h->digest = config->digest != 0;
	handshake_build_own(h, config->epoch, 0);
	h->out[0] = 3;
	memcpy(h->out + 1, h->own, HANDSHAKE_PACKET_SIZE);
	h->out_len = 1 + HANDSHAKE_PACKET_SIZE;
}

/* A signed answer: fresh filler and its signature with the peer's digest. */
static void
handshake_make_signed(uint8_t *out, const uint8_t peer_digest[DIGEST_LEN], int client)
{
	arc4random_buf(out, SIGNED_LEN);
	handshake_sign(out, peer_digest, client, out + SIGNED_LEN);
}

/* Server: C1 is whole in peer[]; queue S0+S1+S2. */
static void
handshake_server_answer(struct handshake *h)
{
	uint32_t	 epoch = bytes_get32(h->own);
	uint8_t		*s2 = h->out + 1 + HANDSHAKE_PACKET_SIZE;
	int		 off = -1, scheme = 0;

	if (h->peer_version != 0)
		off = handshake_find_digest(h->peer, 1);
	if (off >= 0) {
		h->peer_digest = 1;
		h->digest = 1;
		scheme = (size_t)off == handshake_digest_offset(h->peer, 0) ? 0 : 1;
	}
	handshake_build_own(h, epoch, scheme);
	h->out[0] = 3;
	memcpy(h->out + 1, h->own, HANDSHAKE_PACKET_SIZE);
	if (h->peer_digest)
		handshake_make_signed(s2, h->peer + off, 0);
	else
		memcpy(s2, h->peer, HANDSHAKE_PACKET_SIZE);
	h->out_off = 0;
	h->out_len = 1 + 2 * HANDSHAKE_PACKET_SIZE;
}

/* Client: S1 is whole in peer[]; check it. */
static int
handshake_client_check_s1(struct handshake *h)
{
	if (!h->digest || h->peer_version == 0)
		return 0;
	if (handshake_find_digest(h->peer, 0) < 0)
		return RTMP_EHANDSHAKE;
	h->peer_digest = 1;
	return 0;
}

/*
 * Client: S2 is whole in the scratch half of out[]; check it, then put C2
 * there, right after whatever of C0+C1 is still unsent.
 */
static int
handshake_client_finish(struct handshake *h)
{
	uint8_t	*scratch = h->out + 1 + HANDSHAKE_PACKET_SIZE;
	uint8_t	 sig[DIGEST_LEN];
	int	 off;

	if (h->digest) {
		handshake_sign(scratch, h->own_digest, 0, sig);
		if (memcmp(sig, scratch + SIGNED_LEN, DIGEST_LEN) != 0 &&
		    memcmp(scratch + 8, h->own + 8, HANDSHAKE_PACKET_SIZE - 8) != 0)
			return RTMP_EHANDSHAKE;
	}
	if (h->peer_digest) {
		off = handshake_find_digest(h->peer, 0);
		handshake_make_signed(scratch, h->peer + off, 1);
	} else
		memcpy(scratch, h->peer, HANDSHAKE_PACKET_SIZE);
	h->out_len += HANDSHAKE_PACKET_SIZE;
	return 0;
}

int
handshake_feed(struct handshake *h, const uint8_t *in, size_t len, size_t *consumed)
{
	uint8_t	*dst;
	size_t	 used = 0, n;
	int	 client = h->role == HANDSHAKE_CLIENT;

	*consumed = 0;
	while (h->state != HS_DONE) {
		if (h->state == HS_FAILED)
			return RTMP_EHANDSHAKE;
		if (used == len)
			return HANDSHAKE_NEED_MORE;
		if (h->state == HS_WANT_0) {
			if (in[used] != 3) {
				h->state = HS_FAILED;
				return RTMP_EHANDSHAKE;
			}
			used++;
			*consumed = used;
			h->state = HS_WANT_1;
			h->peer_len = 0;
			continue;
		}
		n = HANDSHAKE_PACKET_SIZE - h->peer_len;
		if (n > len - used)
			n = len - used;
		/* A client keeps S2 in out[]'s second half, where C2 will go. */
		if (h->state == HS_WANT_1)
			dst = h->peer;
		else if (client)
			dst = h->out + 1 + HANDSHAKE_PACKET_SIZE;
		else
			dst = NULL;	/* C2 is not checked, only counted */
		if (dst != NULL)
			memcpy(dst + h->peer_len, in + used, n);
		h->peer_len += n;
		used += n;
		*consumed = used;
		if (h->peer_len < HANDSHAKE_PACKET_SIZE)
			return HANDSHAKE_NEED_MORE;
		h->peer_len = 0;
		if (h->state == HS_WANT_1) {
			h->peer_epoch = bytes_get32(h->peer);
			h->peer_version = bytes_get32(h->peer + 4);
			if (client) {
				if (handshake_client_check_s1(h) < 0) {
					h->state = HS_FAILED;
					return RTMP_EHANDSHAKE;
				}
			} else
				handshake_server_answer(h);
			h->state = HS_WANT_2;
		} else {
			if (client && handshake_client_finish(h) < 0) {
				h->state = HS_FAILED;
				return RTMP_EHANDSHAKE;
			}
			h->state = HS_DONE;
		}
	}
	return HANDSHAKE_DONE;
}

const uint8_t *
handshake_output(const struct handshake *h, size_t *len)
{
	*len = h->out_len;
	return h->out + h->out_off;
}

void
handshake_output_sent(struct handshake *h, size_t n)
{
	if (n > h->out_len)
		n = h->out_len;
	/*
	 * out_off is never rewound: a client's C2 goes right after the end
	 * of C0+C1, so the unsent bytes stay contiguous.
	 */
	h->out_off += n;
	h->out_len -= n;
}
