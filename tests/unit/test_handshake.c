/*
 * test_handshake: both roles against the nine recorded sessions in
 * tests/data/captures, then hostile and fragmented input, and known
 * answers for the digests computed outside OpenSSL (Python's hmac), since
 * write_digest() below and the module now share OpenSSL's HMAC.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "handshake.h"
#include "unit.h"

/*
 * unit.h's CHECK_EQ is a bare `a || b` expression that gcc's
 * -Wunused-value rejects under -Werror; cast it to void here.
 */
#undef CHECK_EQ
#define CHECK_EQ(a, b, ...)	((void)(unit_check((long long)(a) == (long long)(b), \
	__FILE__, __LINE__, __VA_ARGS__) || \
	printf("#   got %lld, want %lld\n", (long long)(a), (long long)(b))))

#define PS	HANDSHAKE_PACKET_SIZE

struct session {
	const char	*name;
	int		 digest;	/* client sent a digest C1 */
	int		 signed_c2;	/* client signed its C2 (else echoed S1) */
};

static const struct session sessions[] = {
	{ "ffmpeg-play", 1, 1 },
	{ "ffmpeg-publish", 1, 0 },
	{ "ffprobe-probe", 1, 1 },
	{ "vlc-play", 1, 1 },
	{ "nginx-push", 1, 1 },
	{ "gstreamer-play", 0, 0 },
	{ "gstreamer-publish", 0, 0 },
	{ "librtmp-publish", 0, 0 },
	{ "rtmpdump-play", 0, 0 },
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned char *
load(const char *name, const char *dir, size_t *len)
{
	char	 rel[256];

	snprintf(rel, sizeof(rel), "captures/%s.%s.bin", name, dir);
	return unit_read_data(rel, len);
}

/*
 * An independent digest writer (not the module's code): put a valid C1
 * digest in the given scheme, so the server's scheme-1 path is exercised.
 */
static int
write_digest(uint8_t *p, int scheme)
{
	static const char	 key[] = "Genuine Adobe Flash Player 001";
	uint8_t			 data[PS - 32];
	size_t			 base = scheme == 0 ? 8 : 772, off;
	unsigned int		 n = 32;

	off = ((size_t)p[base] + p[base + 1] + p[base + 2] + p[base + 3]) % 728 + base + 4;
	memcpy(data, p, off);
	memcpy(data + off, p + off + 32, PS - off - 32);
	HMAC(EVP_sha256(), key, 30, data, sizeof(data), p + off, &n);
	return (int)off;
}

/* Parse 2*n hex digits; the vectors below are well-formed. */
static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	char	 b[3] = { 0 };
	size_t	 i;

	for (i = 0; i < n; i++) {
		b[0] = hex[2 * i];
		b[1] = hex[2 * i + 1];
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
}

/*
 * Known answers on a fixed packet (byte i is 7i + 3) and peer digest
 * (0, 1, ... 31), from Python's hmac and hashlib: the S2 and C2 signatures
 * and a C1 digest in scheme 0 and an S1 digest in scheme 1.
 */
static void
known_answers(void)
{
	static const struct {
		int		 client, off;
		const char	*digest;
	} dg[] = {
		{ 1, 290, "36d27b365b84e5e55f376e2f24f3a7dd6b8b5e9b002f035f99366c07e43b8d41" },
		{ 0, 942, "01d1722f262d0920a2fd6c2cff614d034585bbacbc28b5c77a88ca2fc0c3b984" },
	};
	static const char	 s2sig[] =
	    "7fce027fd61c568e1d886d89070214fd2a2391e2c75bf93581cd361dab63b9fa";
	static const char	 c2sig[] =
	    "284c96e80458de5bca470ddda3f8a553d89856199073a49d480ad6b6805f425f";
	uint8_t			 p[PS], q[PS], peer[32], want[32], sig[32];
	size_t			 i;

	for (i = 0; i < PS; i++)
		p[i] = (uint8_t)(7 * i + 3);
	for (i = 0; i < sizeof(peer); i++)
		peer[i] = (uint8_t)i;
	unhex(s2sig, want, sizeof(want));
	handshake_sign(p, peer, 0, sig);
	CHECK(memcmp(sig, want, 32) == 0,
	    "known answer: S2 signature under the server key");
	unhex(c2sig, want, sizeof(want));
	handshake_sign(p, peer, 1, sig);
	CHECK(memcmp(sig, want, 32) == 0,
	    "known answer: C2 signature under the player key");
	for (i = 0; i < sizeof(dg) / sizeof(dg[0]); i++) {
		memcpy(q, p, PS);
		CHECK_EQ(handshake_find_digest(q, dg[i].client), -1,
		    "known answer: no %s digest before it is written",
		    dg[i].client ? "C1" : "S1");
		unhex(dg[i].digest, q + dg[i].off, 32);
		CHECK_EQ(handshake_find_digest(q, dg[i].client), dg[i].off,
		    "known answer: %s digest at %d (scheme %d) validates",
		    dg[i].client ? "C1" : "S1", dg[i].off, dg[i].client ? 0 : 1);
		q[dg[i].off + 31] ^= 1;
		CHECK_EQ(handshake_find_digest(q, dg[i].client), -1,
		    "known answer: %s digest with one bit flipped does not",
		    dg[i].client ? "C1" : "S1");
	}
}

/* Feed in pieces of `step` bytes (0 = all at once); total consumed in *used. */
static int
feed_steps(struct handshake *h, const uint8_t *in, size_t len, size_t step, size_t *used)
{
	size_t	 off = 0, n, c;
	int	 rc = HANDSHAKE_NEED_MORE;

	*used = 0;
	while (off < len) {
		n = step == 0 || step > len - off ? len - off : step;
		rc = handshake_feed(h, in + off, n, &c);
		off += c;
		*used += c;
		if (rc != HANDSHAKE_NEED_MORE || c < n)
			return rc;
	}
	return rc;
}

static void
server_role(const struct session *s)
{
	struct handshake_config	 cfg = { .role = HANDSHAKE_SERVER, .epoch = 0x01020304 };
	struct handshake	 h, cl;
	struct handshake_config	 ccfg;
	unsigned char		*c2s;
	const uint8_t		*out, *s1, *s2, *c1;
	uint8_t			 sig[32], s0s1s2[1 + 2 * PS];
	size_t			 len, n, used;
	int			 rc, off;

	if ((c2s = load(s->name, "c2s", &len)) == NULL || len < 2 * PS + 1 + 16) {
		CHECK(0, "%s: capture readable", s->name);
		free(c2s);
		return;
	}
	c1 = c2s + 1;
	handshake_init(&h, &cfg);
	out = handshake_output(&h, &n);
	CHECK_EQ(n, 0, "%s server: nothing to send before C0+C1", s->name);

	rc = handshake_feed(&h, c2s, 1 + PS, &used);
	CHECK_EQ(rc, HANDSHAKE_NEED_MORE, "%s server: C0+C1 accepted", s->name);
	CHECK_EQ(used, 1 + PS, "%s server: all of C0+C1 consumed", s->name);
	CHECK_EQ(h.peer_version, be32(c1 + 4), "%s server: peer version read", s->name);
	CHECK_EQ(h.peer_epoch, be32(c1), "%s server: peer epoch read", s->name);
	CHECK_EQ(h.peer_version != 0, s->digest, "%s server: version %s", s->name,
	    s->digest ? "non-zero" : "zero");
	CHECK_EQ(h.peer_digest, s->digest, "%s server: digest %s", s->name,
	    s->digest ? "found and valid" : "absent, plain accepted");
	off = handshake_find_digest(c1, 1);
	if (s->digest)
		CHECK(off >= 12 && off + 32 <= PS, "%s: client digest at %d is in the packet",
		    s->name, off);
	else
		CHECK_EQ(off, -1, "%s: plain C1 has no digest", s->name);

	out = handshake_output(&h, &n);
	CHECK_EQ(n, 1 + 2 * PS, "%s server: S0+S1+S2 is 3073 bytes", s->name);
	memcpy(s0s1s2, out, sizeof(s0s1s2));
	s1 = s0s1s2 + 1;
	s2 = s1 + PS;
	CHECK_EQ(s0s1s2[0], 3, "%s server: S0 is 3", s->name);
	CHECK_EQ(be32(s1), cfg.epoch, "%s server: S1 time is the epoch", s->name);
	if (s->digest) {
		CHECK_EQ(be32(s1 + 4), 0x0d0e0a0d, "%s server: S1 version 13.14.10.13", s->name);
		CHECK(handshake_find_digest(s1, 0) >= 0, "%s server: our S1 digest valid", s->name);
		handshake_sign(s2, c1 + off, 0, sig);
		CHECK(memcmp(sig, s2 + PS - 32, 32) == 0,
		    "%s server: our S2 signed with the client's digest", s->name);
		/* What a client checks, with our own client role holding that C1. */
		ccfg = (struct handshake_config){ .role = HANDSHAKE_CLIENT, .digest = 1,
		    .epoch = be32(c1), .packet = c1 };
		handshake_init(&cl, &ccfg);
		rc = handshake_feed(&cl, s0s1s2, sizeof(s0s1s2), &used);
		CHECK_EQ(rc, HANDSHAKE_DONE, "%s server: a digest client accepts our answer",
		    s->name);
		CHECK(cl.peer_digest, "%s server: client saw our S1 digest", s->name);
	} else {
		CHECK_EQ(be32(s1 + 4), 0, "%s server: plain S1 has version zero", s->name);
		CHECK(memcmp(s2, c1, PS) == 0, "%s server: plain S2 echoes C1", s->name);
	}
	handshake_output_sent(&h, n);
	handshake_output(&h, &n);
	CHECK_EQ(n, 0, "%s server: output drained", s->name);

	/* C2 and the client's first chunks in one call. */
	rc = handshake_feed(&h, c2s + 1 + PS, len - 1 - PS, &used);
	CHECK_EQ(rc, HANDSHAKE_DONE, "%s server: C2 completes the handshake", s->name);
	CHECK_EQ(used, PS, "%s server: only C2's 1536 bytes consumed", s->name);
	rc = handshake_feed(&h, c2s + 1 + 2 * PS, 16, &used);
	CHECK(rc == HANDSHAKE_DONE && used == 0, "%s server: nothing consumed after done",
	    s->name);
	free(c2s);
}

static void
client_role(const struct session *s)
{
	struct handshake_config	 cfg = { .role = HANDSHAKE_CLIENT };
	struct handshake	 h;
	unsigned char		*c2s, *s2c;
	const uint8_t		*out, *c1, *s1, *s2, *c2;
	uint8_t			 sig[32];
	size_t			 clen, slen, n, used;
	int			 rc, coff, soff;

	c2s = load(s->name, "c2s", &clen);
	s2c = load(s->name, "s2c", &slen);
	if (c2s == NULL || s2c == NULL || clen < 2 * PS + 1 || slen < 2 * PS + 1 + 16) {
		CHECK(0, "%s: captures readable", s->name);
		free(c2s);
		free(s2c);
		return;
	}
	c1 = c2s + 1;
	s1 = s2c + 1;
	s2 = s1 + PS;
	cfg.packet = c1;
	cfg.digest = be32(c1 + 4) != 0;
	cfg.epoch = be32(c1);
	handshake_init(&h, &cfg);
	out = handshake_output(&h, &n);
	CHECK_EQ(n, 1 + PS, "%s client: C0+C1 queued", s->name);
	CHECK(n == 1 + PS && memcmp(out, c2s, n) == 0,
	    "%s client: our C0+C1 equals the recorded one byte for byte", s->name);
	handshake_output_sent(&h, n);

	rc = handshake_feed(&h, s2c, slen, &used);
	CHECK_EQ(rc, HANDSHAKE_DONE, "%s client: nginx's S0+S1+S2 accepted", s->name);
	CHECK_EQ(used, 1 + 2 * PS, "%s client: only S0+S1+S2 consumed", s->name);
	CHECK_EQ(h.peer_digest, s->digest, "%s client: nginx's S1 digest %s", s->name,
	    s->digest ? "valid" : "not looked for");
	out = handshake_output(&h, &n);
	CHECK_EQ(n, PS, "%s client: C2 queued", s->name);
	if (n != PS)
		goto done;
	if (s->digest) {
		soff = handshake_find_digest(s1, 0);
		CHECK(soff >= 0, "%s: nginx's S1 digest found", s->name);
		handshake_sign(out, s1 + soff, 1, sig);
		CHECK(memcmp(sig, out + PS - 32, 32) == 0,
		    "%s client: our C2 signed with nginx's digest", s->name);
		/* nginx's S2 against the recorded C1's digest, independently. */
		coff = handshake_find_digest(c1, 1);
		handshake_sign(s2, c1 + coff, 0, sig);
		CHECK(memcmp(sig, s2 + PS - 32, 32) == 0, "%s: nginx's S2 signed", s->name);
		/* The recorded C2: the real client signed it the way we do. */
		c2 = c1 + PS;
		if (s->signed_c2) {
			handshake_sign(c2, s1 + soff, 1, sig);
			CHECK(memcmp(sig, c2 + PS - 32, 32) == 0,
			    "%s: recorded C2 has the signature we compute", s->name);
		} else
			CHECK(memcmp(c2, s1, PS) == 0, "%s: recorded C2 echoes S1", s->name);
	} else {
		CHECK(memcmp(out, s1, PS) == 0, "%s client: plain C2 echoes S1", s->name);
	}
	handshake_output_sent(&h, n);
	handshake_output(&h, &n);
	CHECK_EQ(n, 0, "%s client: output drained", s->name);
done:
	free(c2s);
	free(s2c);
}

/* Byte-at-a-time and odd piece sizes give the one-shot result. */
static void
fragmented(const struct session *s)
{
	static const size_t	 steps[] = { 1, 7, 1536, 1537 };
	struct handshake_config	 cfg;
	struct handshake	 a, b;
	unsigned char		*c2s, *s2c;
	const uint8_t		*oa, *ob;
	size_t			 clen, slen, na, nb, ua, ub, i;
	int			 ra, rb, ok;

	c2s = load(s->name, "c2s", &clen);
	s2c = load(s->name, "s2c", &slen);
	if (c2s == NULL || s2c == NULL) {
		CHECK(0, "%s: captures readable", s->name);
		free(c2s);
		free(s2c);
		return;
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		/* Server: S0+S1 are deterministic with a template. */
		cfg = (struct handshake_config){ .role = HANDSHAKE_SERVER, .epoch = 7,
		    .packet = s2c + 1 };
		handshake_init(&a, &cfg);
		handshake_init(&b, &cfg);
		ra = feed_steps(&a, c2s, 1 + 2 * PS + 100, 0, &ua);
		rb = feed_steps(&b, c2s, 1 + 2 * PS + 100, steps[i], &ub);
		oa = handshake_output(&a, &na);
		ob = handshake_output(&b, &nb);
		ok = ra == rb && ra == HANDSHAKE_DONE && ua == ub && ua == 1 + 2 * PS &&
		    na == nb && na == 1 + 2 * PS && memcmp(oa, ob, 1 + PS) == 0 &&
		    a.peer_digest == b.peer_digest;
		if (!s->digest)
			ok = ok && memcmp(oa, ob, na) == 0;
		CHECK(ok, "%s server: pieces of %zu give the one-shot result", s->name, steps[i]);

		cfg = (struct handshake_config){ .role = HANDSHAKE_CLIENT, .digest = s->digest,
		    .epoch = be32(c2s + 1), .packet = c2s + 1 };
		handshake_init(&a, &cfg);
		handshake_init(&b, &cfg);
		/* b sends half of C0+C1 before the answer arrives. */
		handshake_output_sent(&b, 700);
		ra = feed_steps(&a, s2c, 1 + 2 * PS + 100, 0, &ua);
		rb = feed_steps(&b, s2c, 1 + 2 * PS + 100, steps[i], &ub);
		oa = handshake_output(&a, &na);
		ob = handshake_output(&b, &nb);
		ok = ra == rb && ra == HANDSHAKE_DONE && ua == ub && ua == 1 + 2 * PS &&
		    na == 1 + 2 * PS && nb == na - 700 &&
		    memcmp(oa + 700, ob, 1 + PS - 700) == 0;
		if (!s->digest)
			ok = ok && memcmp(oa + 700, ob, nb) == 0;
		CHECK(ok, "%s client: pieces of %zu give the one-shot result", s->name, steps[i]);
	}
	free(c2s);
	free(s2c);
}

static void
hostile(void)
{
	struct handshake_config	 scfg = { .role = HANDSHAKE_SERVER };
	struct handshake_config	 ccfg;
	struct handshake	 h;
	unsigned char		*c2s, *s2c;
	uint8_t			 c0c1[1 + PS], s0s1s2[1 + 2 * PS];
	static const char	 http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	const uint8_t		*out;
	size_t			 clen, slen, used, n;
	int			 rc, off, off2;

	/* RTMPE and HTTP fail at the first byte, before any answer. */
	c0c1[0] = 6;
	handshake_init(&h, &scfg);
	rc = handshake_feed(&h, c0c1, 1, &used);
	CHECK_EQ(rc, RTMP_EHANDSHAKE, "C0 = 6 (RTMPE) refused at the first byte");
	handshake_output(&h, &n);
	CHECK_EQ(n, 0, "no S0/S1 after C0 = 6");
	rc = handshake_feed(&h, c0c1, 1, &used);
	CHECK_EQ(rc, RTMP_EHANDSHAKE, "failure is sticky");
	handshake_init(&h, &scfg);
	rc = handshake_feed(&h, (const uint8_t *)http, sizeof(http) - 1, &used);
	CHECK_EQ(rc, RTMP_EHANDSHAKE, "an HTTP request is refused at the first byte");
	handshake_output(&h, &n);
	CHECK_EQ(n, 0, "no S0/S1 after an HTTP request");

	ccfg = (struct handshake_config){ .role = HANDSHAKE_CLIENT, .digest = 1 };
	handshake_init(&h, &ccfg);
	rc = handshake_feed(&h, (const uint8_t *)http, 1, &used);
	CHECK_EQ(rc, RTMP_EHANDSHAKE, "client: S0 = 'G' refused at the first byte");

	c2s = load("ffmpeg-play", "c2s", &clen);
	s2c = load("ffmpeg-play", "s2c", &slen);
	if (c2s == NULL || s2c == NULL || clen < 1 + 2 * PS || slen < 1 + 2 * PS) {
		CHECK(0, "ffmpeg-play captures readable");
		free(c2s);
		free(s2c);
		return;
	}

	/* Offset bytes 0xff in both schemes: the digest is no longer where they point. */
	memcpy(c0c1, c2s, sizeof(c0c1));
	memset(c0c1 + 1 + 8, 0xff, 4);
	memset(c0c1 + 1 + 772, 0xff, 4);
	CHECK_EQ(handshake_find_digest(c0c1 + 1, 1), -1, "0xff offset bytes: no digest found");
	handshake_init(&h, &scfg);
	rc = handshake_feed(&h, c0c1, sizeof(c0c1), &used);
	out = handshake_output(&h, &n);
	CHECK(rc == HANDSHAKE_NEED_MORE && !h.peer_digest && n == 1 + 2 * PS &&
	    be32(out + 5) == 0 && memcmp(out + 1 + PS, c0c1 + 1, PS) == 0,
	    "digest C1 without a valid digest falls back to the plain answer");

	/* A valid digest at the largest offsets: 0xff * 4 % 728 in each scheme. */
	off = write_digest(c0c1 + 1, 0);
	CHECK_EQ(off, 1020 % 728 + 12, "scheme 0 offset from 0xff bytes");
	CHECK_EQ(handshake_find_digest(c0c1 + 1, 1), off, "scheme 0 digest found at %d", off);
	memcpy(c0c1, c2s, sizeof(c0c1));
	memset(c0c1 + 1 + 772, 0xff, 4);
	memset(c0c1 + 1 + 8, 0, 4);		/* scheme 0 would point elsewhere */
	off = write_digest(c0c1 + 1, 1);
	CHECK_EQ(off, 1020 % 728 + 776, "scheme 1 offset from 0xff bytes");
	CHECK_EQ(handshake_find_digest(c0c1 + 1, 1), off, "scheme 1 digest found at %d", off);
	/* The largest offset: 255 + 255 + 217 + 0 == 727. */
	c0c1[1 + 772] = 0xff;
	c0c1[1 + 773] = 0xff;
	c0c1[1 + 774] = 217;
	c0c1[1 + 775] = 0;
	off = write_digest(c0c1 + 1, 1);
	CHECK_EQ(off, 727 + 776, "maximal scheme 1 offset %d keeps the digest inside", off);
	handshake_init(&h, &scfg);
	rc = handshake_feed(&h, c0c1, sizeof(c0c1), &used);
	out = handshake_output(&h, &n);
	CHECK(rc == HANDSHAKE_NEED_MORE && h.peer_digest && n == 1 + 2 * PS,
	    "server accepts a scheme 1 digest");
	off2 = handshake_find_digest(out + 1, 0);
	CHECK(n == 1 + 2 * PS && off2 >= 776, "server answers in the client's scheme (S1 digest at %d)",
	    off2);

	/* Client: corrupted S1 digest with a non-zero version. */
	ccfg = (struct handshake_config){ .role = HANDSHAKE_CLIENT, .digest = 1,
	    .epoch = be32(c2s + 1), .packet = c2s + 1 };
	memcpy(s0s1s2, s2c, sizeof(s0s1s2));
	off = handshake_find_digest(s0s1s2 + 1, 0);
	CHECK(off >= 0, "nginx's S1 digest found");
	if (off >= 0)
		s0s1s2[1 + off] ^= 0x01;
	handshake_init(&h, &ccfg);
	rc = handshake_feed(&h, s0s1s2, sizeof(s0s1s2), &used);
	CHECK_EQ(rc, RTMP_EHANDSHAKE, "client: corrupted S1 digest refused");
	CHECK_EQ(used, 1 + PS, "client: refused as soon as S1 is whole");

	/* S2 neither an echo nor signed. */
	memcpy(s0s1s2, s2c, sizeof(s0s1s2));
	s0s1s2[1 + PS + 100] ^= 0x80;
	handshake_init(&h, &ccfg);
	rc = handshake_feed(&h, s0s1s2, sizeof(s0s1s2), &used);
	CHECK_EQ(rc, RTMP_EHANDSHAKE, "client: S2 neither echo nor signed refused");
	handshake_output_sent(&h, 1 + PS);
	handshake_output(&h, &n);
	CHECK_EQ(n, 0, "client: no C2 after a bad S2");

	/* Digest client, plain server echoing C1 with its own time2: accepted. */
	s0s1s2[0] = 3;
	memset(s0s1s2 + 1, 0x5a, PS);
	memset(s0s1s2 + 5, 0, 4);		/* S1 version zero */
	handshake_init(&h, &ccfg);
	memcpy(s0s1s2 + 1 + PS, h.own, PS);
	s0s1s2[1 + PS + 4] ^= 0xff;		/* time2 differs */
	rc = handshake_feed(&h, s0s1s2, sizeof(s0s1s2), &used);
	handshake_output_sent(&h, 1 + PS);
	out = handshake_output(&h, &n);
	CHECK(rc == HANDSHAKE_DONE && n == PS && memcmp(out, s0s1s2 + 1, PS) == 0,
	    "digest client: zero-version S1 and echoed S2 accepted, C2 echoes S1");
	/* ... but an echo that differs in the random part is not. */
	handshake_init(&h, &ccfg);
	memcpy(s0s1s2 + 1 + PS, h.own, PS);
	s0s1s2[1 + PS + 1000] ^= 1;
	rc = handshake_feed(&h, s0s1s2, sizeof(s0s1s2), &used);
	CHECK_EQ(rc, RTMP_EHANDSHAKE, "digest client: altered echo refused");

	/* Plain client takes any S2, as librtmp does. */
	ccfg.digest = 0;
	handshake_init(&h, &ccfg);
	CHECK_EQ(be32(h.own + 4), 0, "plain client: C1 version zero");
	rc = handshake_feed(&h, s0s1s2, sizeof(s0s1s2), &used);
	CHECK_EQ(rc, HANDSHAKE_DONE, "plain client: any S2 accepted");

	/* Random C1 (no template): a digest client and our server agree. */
	{
		struct handshake	 c, s;
		const uint8_t		*p;
		uint8_t			 buf[1 + 2 * PS];
		size_t			 k;

		ccfg = (struct handshake_config){ .role = HANDSHAKE_CLIENT, .digest = 1 };
		handshake_init(&c, &ccfg);
		handshake_init(&s, &scfg);
		p = handshake_output(&c, &k);
		CHECK(k == 1 + PS && be32(p + 5) == 0x09007c02,
		    "random digest C1 claims version 9.0.124.2");
		rc = handshake_feed(&s, p, k, &used);
		handshake_output_sent(&c, k);
		CHECK(rc == HANDSHAKE_NEED_MORE && s.peer_digest, "server validates our random C1");
		p = handshake_output(&s, &k);
		memcpy(buf, p, k);
		handshake_output_sent(&s, k);
		rc = handshake_feed(&c, buf, k, &used);
		CHECK(rc == HANDSHAKE_DONE && c.peer_digest, "client validates our S1 and S2");
		p = handshake_output(&c, &k);
		memcpy(buf, p, k);
		rc = handshake_feed(&s, buf, k, &used);
		CHECK(rc == HANDSHAKE_DONE && used == PS, "server done after our C2");
	}
	free(c2s);
	free(s2c);
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++) {
		server_role(&sessions[i]);
		client_role(&sessions[i]);
		fragmented(&sessions[i]);
	}
	hostile();
	known_answers();
	return unit_done();
}
