/*
 * test_sha256: the FIPS 180-2 and RFC 4231 vectors, every split of an
 * incremental update, and random messages and keys against OpenSSL (the
 * test may use OpenSSL; lib/sha256.c must not).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "unit.h"

/* Parse 2*n hex digits; the vectors below are well-formed. */
static void
unhex(const char *s, uint8_t *out, size_t n)
{
	size_t	 i;
	char	 b[3] = { 0 };

	for (i = 0; i < n; i++) {
		b[0] = s[2 * i];
		b[1] = s[2 * i + 1];
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
}

/* Does the digest equal the hex string (which may be a truncation)? */
static int
same(const uint8_t *d, const char *hex)
{
	uint8_t	 want[SHA256_DIGEST_LEN];
	size_t	 n = strlen(hex) / 2;

	unhex(hex, want, n);
	return memcmp(d, want, n) == 0;
}

/* splitmix64: a fixed sequence on every platform, unlike rand(). */
static uint64_t
next_rand(uint64_t *s)
{
	uint64_t	 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
fill_rand(uint64_t *s, uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand(s);
}

static void
ref_hmac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
    uint8_t out[SHA256_DIGEST_LEN])
{
	unsigned int	 n = SHA256_DIGEST_LEN;

	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL)
		memset(out, 0, SHA256_DIGEST_LEN);
}

static void
test_fips(void)
{
	static const char	 m448[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct sha256_ctx	 c;
	uint8_t			 d[SHA256_DIGEST_LEN], a[1000];
	int			 i;

	sha256("abc", 3, d);
	CHECK(same(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	    "sha256(\"abc\")");
	sha256(m448, strlen(m448), d);
	CHECK(same(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	    "sha256 of the 448-bit message");
	sha256("", 0, d);
	CHECK(same(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    "sha256 of the empty string");
	sha256(NULL, 0, d);
	CHECK(same(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    "sha256(NULL, 0) is the empty string's hash");

	memset(a, 'a', sizeof(a));
	sha256_init(&c);
	for (i = 0; i < 1000; i++)
		sha256_update(&c, a, sizeof(a));
	sha256_final(&c, d);
	CHECK(same(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	    "sha256 of one million 'a' in 1000-byte updates");
	sha256_init(&c);
	for (i = 0; i < 1000000; i++)
		sha256_update(&c, "a", 1);
	sha256_final(&c, d);
	CHECK(same(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	    "sha256 of one million 'a' one byte at a time");
}

static void
test_rfc4231(void)
{
	static const struct {
		const char	*keystr;	/* NULL: keylen of keybyte */
		size_t		 keylen;
		int		 keybyte;	/* -1: 0x01, 0x02, ... */
		const char	*data;		/* NULL: datalen of databyte */
		size_t		 datalen;
		int		 databyte;
		const char	*mac;
	} tc[] = {
		{ NULL, 20, 0x0b, "Hi There", 0, 0,
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "Jefe", 4, 0, "what do ya want for nothing?", 0, 0,
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ NULL, 20, 0xaa, NULL, 50, 0xdd,
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ NULL, 25, -1, NULL, 50, 0xcd,
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ NULL, 20, 0x0c, "Test With Truncation", 0, 0,
		  "a3b6167473100ee06e0c796c2955552b" },
		{ NULL, 131, 0xaa, "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0,
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ NULL, 131, 0xaa, "This is a test using a larger than block-size key and a "
		  "larger than block-size data. The key needs to be hashed before "
		  "being used by the HMAC algorithm.", 0, 0,
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};
	struct hmac_sha256_ctx	 c;
	uint8_t			 key[131], data[200], d[SHA256_DIGEST_LEN];
	size_t			 i, j, len, half;

	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		if (tc[i].keystr != NULL)
			memcpy(key, tc[i].keystr, tc[i].keylen);
		else if (tc[i].keybyte < 0)
			for (j = 0; j < tc[i].keylen; j++)
				key[j] = (uint8_t)(j + 1);
		else
			memset(key, tc[i].keybyte, tc[i].keylen);
		if (tc[i].data != NULL) {
			len = strlen(tc[i].data);
			memcpy(data, tc[i].data, len);
		} else {
			len = tc[i].datalen;
			memset(data, tc[i].databyte, len);
		}
		hmac_sha256(key, tc[i].keylen, data, len, d);
		CHECK(same(d, tc[i].mac), "rfc 4231 test case %zu", i + 1);

		half = len / 2;
		hmac_sha256_init(&c, key, tc[i].keylen);
		hmac_sha256_update(&c, data, half);
		hmac_sha256_update(&c, data + half, len - half);
		hmac_sha256_final(&c, d);
		CHECK(same(d, tc[i].mac), "rfc 4231 test case %zu, in two updates", i + 1);
	}
}

/* Every split point of a 200-byte message, for both the hash and the HMAC. */
static void
test_splits(void)
{
	struct sha256_ctx	 c;
	struct hmac_sha256_ctx	 hc;
	uint64_t		 seed = 200;
	uint8_t			 msg[200], key[40], want[32], hwant[32], d[32];
	size_t			 i, j, bad = 0, hbad = 0;

	fill_rand(&seed, msg, sizeof(msg));
	fill_rand(&seed, key, sizeof(key));
	sha256(msg, sizeof(msg), want);
	hmac_sha256(key, sizeof(key), msg, sizeof(msg), hwant);

	for (i = 0; i <= sizeof(msg); i++) {
		sha256_init(&c);
		sha256_update(&c, msg, i);
		sha256_update(&c, msg + i, sizeof(msg) - i);
		sha256_final(&c, d);
		bad += memcmp(d, want, sizeof(d)) != 0;

		hmac_sha256_init(&hc, key, sizeof(key));
		hmac_sha256_update(&hc, msg, i);
		hmac_sha256_update(&hc, msg + i, sizeof(msg) - i);
		hmac_sha256_final(&hc, d);
		hbad += memcmp(d, hwant, sizeof(d)) != 0;

		/* Three pieces: a split at i and one 64 bytes further on. */
		j = i + 64 < sizeof(msg) ? i + 64 : sizeof(msg);
		sha256_init(&c);
		sha256_update(&c, msg, i);
		sha256_update(&c, msg + i, j - i);
		sha256_update(&c, msg + j, sizeof(msg) - j);
		sha256_final(&c, d);
		bad += memcmp(d, want, sizeof(d)) != 0;
	}
	CHECK_EQ(bad, 0, "sha256 split at each of 201 offsets equals the one-shot");
	CHECK_EQ(hbad, 0, "hmac_sha256 split at each of 201 offsets equals the one-shot");

	sha256_init(&c);
	for (i = 0; i < sizeof(msg); i++)
		sha256_update(&c, msg + i, 1);
	sha256_final(&c, d);
	CHECK(memcmp(d, want, sizeof(d)) == 0, "sha256 fed one byte at a time");

	/* The one-shot forms may hash a buffer into itself. */
	memcpy(d, msg, sizeof(d));
	sha256(d, sizeof(d), d);
	sha256(msg, sizeof(d), want);
	CHECK(memcmp(d, want, sizeof(d)) == 0, "sha256 with out == data");
	memcpy(d, msg, sizeof(d));
	hmac_sha256(key, sizeof(key), d, sizeof(d), d);
	hmac_sha256(key, sizeof(key), msg, sizeof(d), want);
	CHECK(memcmp(d, want, sizeof(d)) == 0, "hmac_sha256 with out == data");
}

static int
all_zero(const void *p, size_t n)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void
test_wipe(void)
{
	struct sha256_ctx	 c;
	struct hmac_sha256_ctx	 hc;
	uint8_t			 d[32];

	sha256_init(&c);
	sha256_update(&c, "secret", 6);
	sha256_final(&c, d);
	CHECK(all_zero(&c, sizeof(c)), "sha256_final wipes the context");
	hmac_sha256_init(&hc, "key", 3);
	hmac_sha256_update(&hc, "secret", 6);
	hmac_sha256_final(&hc, d);
	CHECK(all_zero(&hc, sizeof(hc)), "hmac_sha256_final wipes the context");
}

/* Random lengths 0..300 of key and message, and every boundary length, against OpenSSL. */
static void
test_openssl(void)
{
	struct hmac_sha256_ctx	 c;
	uint64_t		 seed = 0x5eed2026;
	uint8_t			 key[301], msg[301], d[32], want[32];
	size_t			 i, kl, ml, cut, bad = 0, sbad = 0, ibad = 0, lbad = 0;

	for (i = 0; i < 2000; i++) {
		kl = next_rand(&seed) % 301;
		ml = next_rand(&seed) % 301;
		cut = ml ? next_rand(&seed) % (ml + 1) : 0;
		fill_rand(&seed, key, kl);
		fill_rand(&seed, msg, ml);

		ref_hmac(key, kl, msg, ml, want);
		hmac_sha256(key, kl, msg, ml, d);
		bad += memcmp(d, want, sizeof(d)) != 0;

		hmac_sha256_init(&c, key, kl);
		hmac_sha256_update(&c, msg, cut);
		hmac_sha256_update(&c, msg + cut, ml - cut);
		hmac_sha256_final(&c, d);
		ibad += memcmp(d, want, sizeof(d)) != 0;

		SHA256(msg, ml, want);
		sha256(msg, ml, d);
		sbad += memcmp(d, want, sizeof(d)) != 0;
	}
	CHECK_EQ(bad, 0, "hmac_sha256 equals openssl on 2000 random keys and messages");
	CHECK_EQ(ibad, 0, "incremental hmac_sha256 equals openssl on the same 2000");
	CHECK_EQ(sbad, 0, "sha256 equals openssl on the same 2000 messages");

	/* Padding and key-hashing edges: every length 0..300 of each. */
	fill_rand(&seed, key, sizeof(key));
	fill_rand(&seed, msg, sizeof(msg));
	for (i = 0; i <= 300; i++) {
		ref_hmac(key, 20, msg, i, want);
		hmac_sha256(key, 20, msg, i, d);
		lbad += memcmp(d, want, sizeof(d)) != 0;
		ref_hmac(key, i, msg, 50, want);
		hmac_sha256(key, i, msg, 50, d);
		lbad += memcmp(d, want, sizeof(d)) != 0;
	}
	CHECK_EQ(lbad, 0, "hmac_sha256 equals openssl for every key and message length 0..300");
}

int
main(void)
{
	test_fips();
	test_rfc4231();
	test_splits();
	test_wipe();
	test_openssl();
	return unit_done();
}
