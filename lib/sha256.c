/*
 * SHA-256 and HMAC-SHA256, written from FIPS 180-4 and RFC 2104.
 *
 * Words are read and written big-endian one byte at a time, so the code
 * neither depends on the host's byte order nor makes unaligned loads.
 * Rotations are by 2..25 bits only, never by 0 or 32.
 */
#include <string.h>

#include "sha256.h"

/* FIPS 180-4 4.2.2: the first 32 bits of the cube roots of the first 64 primes. */
static const uint32_t k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 5.3.3: the first 32 bits of the square roots of the first 8 primes. */
static const uint32_t h256[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z)	(((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z)	(((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x)	(ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x)	(ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x)	(ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x)	(ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static uint32_t
sha256_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
sha256_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2: fold one 64-byte block into the state. */
static void
sha256_compress(uint32_t h[8], const uint8_t *block)
{
	uint32_t	 w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int		 i;

	for (i = 0; i < 16; i++)
		w[i] = sha256_load_be32(block + 4 * i);
	for (; i < 64; i++)
		w[i] = SSIG1(w[i - 2]) + w[i - 7] + SSIG0(w[i - 15]) + w[i - 16];

	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + BSIG1(e) + CH(e, f, g) + k256[i] + w[i];
		t2 = BSIG0(a) + MAJ(a, b, c);
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

void
sha256_init(struct sha256_ctx *c)
{
	memcpy(c->h, h256, sizeof(c->h));
	c->len = 0;
}

void
sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 fill = c->len % SHA256_BLOCK_LEN, n;

	if (len == 0)
		return;		/* data may be NULL; memcpy must not see it */
	c->len += len;
	if (fill > 0) {
		n = SHA256_BLOCK_LEN - fill;
		if (n > len)
			n = len;
		memcpy(c->block + fill, p, n);
		p += n;
		len -= n;
		if (fill + n < SHA256_BLOCK_LEN)
			return;
		sha256_compress(c->h, c->block);
	}
	/* Whole blocks straight from the caller's memory, no copy. */
	for (; len >= SHA256_BLOCK_LEN; p += SHA256_BLOCK_LEN, len -= SHA256_BLOCK_LEN)
		sha256_compress(c->h, p);
	if (len > 0)
		memcpy(c->block, p, len);
}

void
sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN])
{
	uint64_t	 bits = c->len << 3;
	size_t		 fill = c->len % SHA256_BLOCK_LEN;
	int		 i;

	/* FIPS 180-4 5.1.1: a 1 bit, zeros, then the bit length in 64 bits. */
	c->block[fill++] = 0x80;
	if (fill > SHA256_BLOCK_LEN - 8) {
		memset(c->block + fill, 0, SHA256_BLOCK_LEN - fill);
		sha256_compress(c->h, c->block);
		fill = 0;
	}
	memset(c->block + fill, 0, SHA256_BLOCK_LEN - 8 - fill);
	sha256_store_be32(c->block + 56, (uint32_t)(bits >> 32));
	sha256_store_be32(c->block + 60, (uint32_t)bits);
	sha256_compress(c->h, c->block);
	for (i = 0; i < 8; i++)
		sha256_store_be32(out + 4 * i, c->h[i]);
	explicit_bzero(c, sizeof(*c));
}

void
sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN])
{
	struct sha256_ctx	 c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

void
hmac_sha256_init(struct hmac_sha256_ctx *c, const void *key, size_t keylen)
{
	uint8_t	 k[SHA256_BLOCK_LEN], pad[SHA256_BLOCK_LEN];
	size_t	 i;

	/* RFC 2104 2: K is the key zero-padded to B bytes, or its hash if longer. */
	memset(k, 0, sizeof(k));
	if (keylen > SHA256_BLOCK_LEN)
		sha256(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);

	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&c->inner);
	sha256_update(&c->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&c->outer);
	sha256_update(&c->outer, pad, sizeof(pad));

	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
}

void
hmac_sha256_update(struct hmac_sha256_ctx *c, const void *data, size_t len)
{
	sha256_update(&c->inner, data, len);
}

void
hmac_sha256_final(struct hmac_sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN])
{
	uint8_t	 inner[SHA256_DIGEST_LEN];

	sha256_final(&c->inner, inner);
	sha256_update(&c->outer, inner, sizeof(inner));
	sha256_final(&c->outer, out);
	explicit_bzero(inner, sizeof(inner));
	explicit_bzero(c, sizeof(*c));
}

void
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    uint8_t out[SHA256_DIGEST_LEN])
{
	struct hmac_sha256_ctx	 c;

	hmac_sha256_init(&c, key, keylen);
	hmac_sha256_update(&c, data, len);
	hmac_sha256_final(&c, out);
}
