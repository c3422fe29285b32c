/*
 * sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), in memory.
 *
 * Small and dependency-free, so that the RTMP digest handshake does not
 * load OpenSSL (whose provider set-up alone doubles a small program's
 * peak RSS).  No branch or table index depends on the key or data, but it
 * is portable C, about a fifth of OpenSSL's speed: fine for handshakes,
 * not meant for bulk hashing.
 *
 * The contexts are plain structs the caller owns, on the stack or
 * embedded; nothing is allocated and nothing can fail.  init, then any
 * number of update calls (of any length, including 0, in any split), then
 * final, which writes the 32-byte digest and wipes the context with
 * explicit_bzero(); init it again to reuse it.  A message may be up to
 * 2^61 - 1 bytes.  Keys of any length are accepted; keys longer than the
 * 64-byte block are hashed first, as RFC 2104 says.  The one-shot forms
 * may be given out == data (the digest is written last).
 */
#ifndef RTMPKIT_SHA256_H
#define RTMPKIT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN	32
#define SHA256_BLOCK_LEN	64

struct sha256_ctx {
	uint32_t	 h[8];			/* chaining state */
	uint64_t	 len;			/* bytes hashed so far */
	uint8_t		 block[SHA256_BLOCK_LEN];	/* len % 64 bytes pending */
};

struct hmac_sha256_ctx {
	struct sha256_ctx inner;		/* H((K ^ ipad) || text) */
	struct sha256_ctx outer;		/* primed with K ^ opad */
};

void	sha256_init(struct sha256_ctx *c);
void	sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void	sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);
void	sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

void	hmac_sha256_init(struct hmac_sha256_ctx *c, const void *key, size_t keylen);
void	hmac_sha256_update(struct hmac_sha256_ctx *c, const void *data, size_t len);
void	hmac_sha256_final(struct hmac_sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);
void	hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
	    uint8_t out[SHA256_DIGEST_LEN]);

#endif
