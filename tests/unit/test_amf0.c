/*
 * AMF0: round trips of every type, accessors on a real connect command,
 * every truncation against a guard page, and the hostile inputs of
 * tests/hostile/HOSTILE.md (nesting bombs, lying counts and lengths).
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"
#include "error.h"
#include "guard.h"
#include "unit.h"

#define NVAL	256

static struct guard g;

/* Decode a copy of buf[0..len) placed flush against the guard page. */
static int
decode_guarded(const uint8_t *buf, size_t len, struct amf0_value *v,
    size_t *n, unsigned depth)
{
	const uint8_t	*p = guard_put(&g, buf, len);

	if (p == NULL)
		return INT_MIN;
	return amf0_decode(p, len, v, n, depth);
}

/* Every value type, with a nested object, built by the encoders. */
static uint8_t *
build_all(uint8_t *p, uint8_t *end, const char *longstr, size_t longlen)
{
	p = amf0_put_number(p, end, 1.5);
	p = amf0_put_number(p, end, -0.0);
	p = amf0_put_boolean(p, end, 1);
	p = amf0_put_boolean(p, end, 0);
	p = amf0_put_cstring(p, end, "connect");
	p = amf0_put_cstring(p, end, "");
	p = amf0_put_string(p, end, longstr, longlen);
	p = amf0_put_null(p, end);
	p = amf0_put_undefined(p, end);
	p = amf0_put_date(p, end, 1700000000000.0, -120);
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "app", "live");
	p = amf0_put_prop_number(p, end, "audioCodecs", 3575);
	p = amf0_put_prop_boolean(p, end, "fpad", 0);
	p = amf0_put_key(p, end, "inner");
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "k", "v");
	p = amf0_put_key(p, end, "empty");
	p = amf0_put_object_start(p, end);
	p = amf0_put_object_end(p, end);
	p = amf0_put_object_end(p, end);
	p = amf0_put_key(p, end, "n");
	p = amf0_put_null(p, end);
	p = amf0_put_object_end(p, end);
	p = amf0_put_ecma_array_start(p, end, 2);
	p = amf0_put_prop_number(p, end, "duration", 6);
	p = amf0_put_prop_string(p, end, "encoder", "Lavf");
	p = amf0_put_object_end(p, end);
	p = amf0_put_strict_array_start(p, end, 3);
	p = amf0_put_number(p, end, 1);
	p = amf0_put_cstring(p, end, "two");
	p = amf0_put_strict_array_start(p, end, 0);
	p = amf0_put_ecma_array_start(p, end, 0);
	p = amf0_put_object_end(p, end);
	return p;
}

/* Types with no encoder of their own, written by hand. */
static const uint8_t handmade[] = {
	0x10, 0x00, 0x03, 'c', 'l', 's',		/* typed object "cls" */
	0x00, 0x01, 'x', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,	/* x: 1 */
	0x00, 0x00, 0x09,
	0x0f, 0x00, 0x00, 0x00, 0x03, '<', 'a', '>',	/* XML "<a>" */
	0x0d,						/* unsupported */
	0x0c, 0x00, 0x00, 0x00, 0x02, 'h', 'i',		/* long string, short */
	0x03, 0x00, 0x00, 0x02, 0x00, 0x01, 'e',	/* object { "": "e" } */
	0x00, 0x00, 0x09,
};

/* Re-encode each top-level value and compare with the input. */
static int
reencode_equal(const uint8_t *buf, size_t len, const struct amf0_value *v,
    size_t n)
{
	uint8_t	*out, *p, *end;
	int	 i, k, ok;

	if ((out = malloc(len + 16)) == NULL)
		return 0;
	p = out;
	end = out + len + 16;
	for (k = 0; (i = amf0_top(v, n, k)) >= 0; k++)
		p = amf0_put_value(p, end, v, n, i);
	ok = p != NULL && (size_t)(p - out) == len && memcmp(out, buf,
	    len) == 0;
	free(out);
	return ok;
}

/* Byte offsets where top-level values end, from amf0_decode_one(). */
static size_t
boundaries(const uint8_t *buf, size_t len, size_t *at, size_t max)
{
	struct amf0_value	 v[NVAL];
	size_t			 off = 0, nb = 0, n;
	int			 r;

	while (off < len && nb < max) {
		n = NVAL;
		r = amf0_decode_one(buf + off, len - off, v, &n, 32);
		if (r <= 0)
			break;
		off += (size_t)r;
		at[nb++] = off;
	}
	return nb;
}

/* Every proper prefix fails, except those ending at a value boundary. */
static void
check_truncations(const char *what, const uint8_t *buf, size_t len)
{
	struct amf0_value	 v[NVAL];
	size_t			 at[64], nb, cut, n, b;
	int			 r, bad = 0, boundary;

	nb = boundaries(buf, len, at, 64);
	CHECK(nb > 0 && at[nb - 1] == len, "%s: boundaries found", what);
	for (cut = 0; cut < len; cut++) {
		boundary = cut == 0;
		for (b = 0; b < nb; b++)
			if (at[b] == cut)
				boundary = 1;
		n = NVAL;
		r = decode_guarded(buf, cut, v, &n, 32);
		if (boundary ? r != (int)cut : r >= 0 || n != 0) {
			if (bad++ < 5)
				printf("# %s: cut %zu gave %d\n", what, cut, r);
		}
	}
	CHECK_EQ(bad, 0, "%s: all %zu truncations fail cleanly", what,
	    len);
}

static void
test_round_trip(void)
{
	struct amf0_value	 v[NVAL];
	uint8_t			 buf[90000], *p;
	char			*longstr;
	size_t			 longlen = 70000, n, len;
	struct amf0_view	 s;
	double			 d;
	int			 r, i, b, obj, inner;

	longstr = malloc(longlen);
	memset(longstr, 'x', longlen);
	p = build_all(buf, buf + sizeof(buf), longstr, longlen);
	CHECK(p != NULL, "build every type");
	len = (size_t)(p - buf);

	n = NVAL;
	r = amf0_decode(buf, len, v, &n, AMF0_DEFAULT_MAX_DEPTH);
	CHECK_EQ(r, (long long)len, "decode every type");
	CHECK(reencode_equal(buf, len, v, n), "re-encode is byte-identical");

	CHECK(amf0_get_number(v, n, amf0_top(v, n, 0), &d) && d == 1.5,
	    "number 1.5");
	CHECK(amf0_get_number(v, n, amf0_top(v, n, 1), &d) && d == 0 &&
	    signbit(d), "number -0 keeps its sign");
	CHECK(amf0_get_boolean(v, n, amf0_top(v, n, 2), &b) && b == 1, "true");
	CHECK(amf0_get_boolean(v, n, amf0_top(v, n, 3), &b) && b == 0, "false");
	CHECK(amf0_get_string(v, n, amf0_top(v, n, 4), &s) &&
	    amf0_view_eq(s, "connect"), "string");
	CHECK(amf0_get_string(v, n, amf0_top(v, n, 5), &s) && s.len == 0,
	    "empty string");
	i = amf0_top(v, n, 6);
	CHECK(i >= 0 && v[i].type == AMF0_LONG_STRING &&
	    v[i].u.string.len == longlen, "70000 bytes become a long string");
	CHECK(amf0_get_string(v, n, i, &s), "long string via accessor");
	CHECK_EQ(v[amf0_top(v, n, 7)].type, AMF0_NULL, "null");
	CHECK_EQ(v[amf0_top(v, n, 8)].type, AMF0_UNDEFINED, "undefined");
	i = amf0_top(v, n, 9);
	CHECK(v[i].type == AMF0_DATE && v[i].u.number == 1700000000000.0 &&
	    v[i].timezone == -120, "date with negative timezone");

	obj = amf0_top(v, n, 10);
	CHECK(obj >= 0 && v[obj].type == AMF0_OBJECT && v[obj].count == 5,
	    "object with 5 properties");
	CHECK(amf0_get_string(v, n, amf0_find(v, n, obj, "app"), &s) &&
	    amf0_view_eq(s, "live"), "find app");
	CHECK(amf0_get_number(v, n, amf0_find(v, n, obj, "audioCodecs"), &d) &&
	    d == 3575, "find audioCodecs");
	CHECK(amf0_get_boolean(v, n, amf0_find(v, n, obj, "fpad"), &b) &&
	    b == 0, "find fpad");
	CHECK(!amf0_get_number(v, n, amf0_find(v, n, obj, "app"), &d),
	    "wrong type gives 0");
	CHECK_EQ(amf0_find(v, n, obj, "k"), -1,
	    "find does not descend into children");
	inner = amf0_find(v, n, obj, "inner");
	CHECK(inner >= 0 && v[inner].type == AMF0_OBJECT &&
	    v[inner].count == 2, "nested object");
	CHECK(amf0_get_string(v, n, amf0_find(v, n, inner, "k"), &s) &&
	    amf0_view_eq(s, "v"), "nested property");
	i = amf0_find(v, n, inner, "empty");
	CHECK(i >= 0 && v[i].count == 0 && v[i].end == (uint32_t)i + 1,
	    "empty nested object");
	CHECK_EQ(v[amf0_find(v, n, obj, "n")].type, AMF0_NULL,
	    "null property after nested objects");
	CHECK_EQ(amf0_find(v, n, obj, "missing"), -1, "missing key");
	CHECK(!amf0_get_number(v, n, -1, &d), "index -1 gives 0");
	CHECK_EQ(amf0_find(v, n, amf0_top(v, n, 0), "x"), -1,
	    "find in a number gives -1");

	i = amf0_top(v, n, 11);
	CHECK(v[i].type == AMF0_ECMA_ARRAY && v[i].count == 2,
	    "ECMA array");
	CHECK(amf0_get_number(v, n, amf0_find(v, n, i, "duration"), &d) &&
	    d == 6, "find in ECMA array");
	i = amf0_top(v, n, 12);
	CHECK(v[i].type == AMF0_STRICT_ARRAY && v[i].count == 3 &&
	    v[i + 1].key.len == 0 && v[i + 3].type == AMF0_STRICT_ARRAY &&
	    v[i + 3].count == 0, "strict array holding an empty one");
	CHECK_EQ(amf0_find(v, n, i, ""), -1,
	    "find in a strict array gives -1");
	CHECK_EQ(amf0_top(v, n, 14), -1, "no 15th value");

	/* The same message with a short string, for every truncation. */
	p = build_all(buf, buf + sizeof(buf), longstr, 10);
	check_truncations("every type", buf, (size_t)(p - buf));
	free(longstr);

	n = NVAL;
	r = amf0_decode(handmade, sizeof(handmade), v, &n, 32);
	CHECK_EQ(r, (long long)sizeof(handmade), "decode handmade types");
	CHECK(v[0].type == AMF0_TYPED_OBJECT &&
	    amf0_view_eq(v[0].u.string, "cls") && v[0].count == 1 &&
	    amf0_find(v, n, 0, "x") == 1, "typed object");
	i = amf0_top(v, n, 1);
	CHECK(v[i].type == AMF0_XML_DOCUMENT &&
	    amf0_view_eq(v[i].u.string, "<a>"), "XML document");
	CHECK_EQ(v[amf0_top(v, n, 2)].type, AMF0_UNSUPPORTED,
	    "unsupported");
	i = amf0_top(v, n, 3);
	CHECK(v[i].type == AMF0_LONG_STRING && amf0_view_eq(v[i].u.string,
	    "hi"),
	    "short long string");
	i = amf0_top(v, n, 4);
	CHECK(v[i].count == 1 && amf0_find(v, n, i, "") == i + 1,
	    "property with an empty name");
	CHECK(reencode_equal(handmade, sizeof(handmade), v, n),
	    "handmade types re-encode byte-identical");
	check_truncations("handmade", handmade, sizeof(handmade));
}

/* The connect command of a real ffmpeg publish, de-chunked by hand. */
static void
test_connect_capture(void)
{
	struct amf0_value	 v[NVAL];
	uint8_t			*cap, msg[512];
	size_t			 caplen, off, len, mlen, n, chunk;
	struct amf0_view	 s;
	double			 d;
	int			 r, obj;

	cap = unit_read_data("captures/ffmpeg-publish.c2s.bin", &caplen);
	if (!CHECK(cap != NULL && caplen > 3073 + 12,
	    "read ffmpeg-publish.c2s.bin"))
		return;
	off = 3073;
	CHECK_EQ(cap[off], 0x03, "fmt 0 on chunk stream 3");
	mlen = (size_t)cap[off + 4] << 16 | cap[off + 5] << 8 | cap[off + 6];
	CHECK_EQ(cap[off + 7], 20, "message type 20 (AMF0 command)");
	CHECK(mlen > 0 && mlen < sizeof(msg), "message length %zu", mlen);
	off += 12;
	/* Chunk size 128: a 0xc3 basic header before each further 128 bytes. */
	for (len = 0; len < mlen && off < caplen; len += chunk) {
		if (len > 0) {
			CHECK_EQ(cap[off], 0xc3, "continuation header");
			off++;
		}
		chunk = mlen - len < 128 ? mlen - len : 128;
		if (off + chunk > caplen)
			break;
		memcpy(msg + len, cap + off, chunk);
		off += chunk;
	}
	free(cap);
	if (!CHECK(len == mlen, "reassembled the connect command"))
		return;

	n = NVAL;
	r = decode_guarded(msg, len, v, &n, AMF0_DEFAULT_MAX_DEPTH);
	CHECK_EQ(r, (long long)len, "decode connect");
	CHECK(amf0_get_string(v, n, amf0_top(v, n, 0), &s) &&
	    amf0_view_eq(s, "connect"), "command name connect");
	CHECK(amf0_get_number(v, n, amf0_top(v, n, 1), &d) && d == 1,
	    "transaction id 1");
	obj = amf0_top(v, n, 2);
	CHECK(obj >= 0 && v[obj].type == AMF0_OBJECT, "command object");
	CHECK(amf0_get_string(v, n, amf0_find(v, n, obj, "app"), &s) &&
	    amf0_view_eq(s, "live"), "app live");
	CHECK(amf0_get_string(v, n, amf0_find(v, n, obj, "tcUrl"), &s) &&
	    s.len > 7 && memcmp(s.ptr, "rtmp://", 7) == 0,
	    "tcUrl starts rtmp://");
	CHECK(amf0_get_string(v, n, amf0_find(v, n, obj, "flashVer"), &s) &&
	    s.len > 4 && memcmp(s.ptr, "FMLE", 4) == 0, "flashVer FMLE/...");
	CHECK(amf0_get_string(v, n, amf0_find(v, n, obj, "type"), &s) &&
	    amf0_view_eq(s, "nonprivate"), "type nonprivate");
	CHECK(reencode_equal(msg, len, v, n), "connect re-encodes identically");
	check_truncations("connect", msg, len);

	n = NVAL;
	r = amf0_decode_one(msg, len, v, &n, 32);
	CHECK(r == 10 && n == 1, "decode_one reads only the name");
	n = 3;
	CHECK_EQ(amf0_decode(msg, len, v, &n, 32), RTMP_ELIMIT,
	    "too few values: RTMP_ELIMIT");
	CHECK_EQ(n, 0, "nvalues 0 on error");
	n = NVAL;
	CHECK_EQ(amf0_decode(msg, len, v, &n, 0), RTMP_ELIMIT,
	    "max_depth 0 refuses the object");
}

static void
test_nesting_bomb(void)
{
	struct amf0_value	*v;
	uint8_t			*buf, *p, *end, out[64];
	size_t			 depth = 100000, len, n, i;
	int			 r;

	len = 1 + (depth - 1) * 4 + 4 + depth * 3;
	buf = malloc(len);
	v = calloc(depth + 1, sizeof(*v));
	if (!CHECK(buf != NULL && v != NULL, "allocate the bomb"))
		return;
	p = buf;
	end = buf + len;
	p = amf0_put_object_start(p, end);
	for (i = 1; i < depth; i++) {
		p = amf0_put_key(p, end, "a");
		p = amf0_put_object_start(p, end);
	}
	/* An unterminated bomb first: what an attacker sends. */
	n = depth + 1;
	r = amf0_decode(buf, (size_t)(p - buf), v, &n, AMF0_DEFAULT_MAX_DEPTH);
	CHECK_EQ(r, RTMP_ELIMIT, "100000 nested objects: RTMP_ELIMIT");
	n = 64;
	r = amf0_decode(buf, (size_t)(p - buf), v, &n, UINT_MAX);
	CHECK_EQ(r, RTMP_ELIMIT,
	    "bomb against a small array: RTMP_ELIMIT");
	n = depth + 1;
	r = amf0_decode(buf, (size_t)(p - buf), v, &n, UINT_MAX);
	CHECK_EQ(r, RTMP_EPROTO,
	    "unterminated bomb, no limits: RTMP_EPROTO");

	/* Terminated and allowed: decoding must not recurse. */
	p = amf0_put_key(p, end, "z");
	p = amf0_put_null(p, end);
	for (i = 0; i < depth; i++)
		p = amf0_put_object_end(p, end);
	CHECK(p == end, "bomb built");
	n = depth + 1;
	r = amf0_decode(buf, len, v, &n, UINT_MAX);
	CHECK_EQ(r, (long long)len, "100000 deep decodes when allowed");
	CHECK(n == depth + 1 && v[0].end == depth + 1 &&
	    v[depth - 1].count == 1 && v[depth].type == AMF0_NULL,
	    "deep tree shape");
	CHECK(amf0_put_value(out, out + sizeof(out), v, n, 0) == NULL,
	    "re-encoding past AMF0_PUT_MAX_DEPTH gives NULL");
	n = depth + 1;
	CHECK_EQ(amf0_decode(buf, len, v, &n, (unsigned)depth - 1),
	    RTMP_ELIMIT,
	    "one level over max_depth: RTMP_ELIMIT");

	/* Strict arrays nest too. */
	p = buf;
	for (i = 0; i < 1000; i++)
		p = amf0_put_strict_array_start(p, end, 1);
	n = depth + 1;
	CHECK_EQ(amf0_decode(buf, (size_t)(p - buf), v, &n, 32),
	    RTMP_ELIMIT,
	    "nested strict arrays: RTMP_ELIMIT");
	free(buf);
	free(v);
}

struct bad {
	const char	*what;
	const uint8_t	*buf;
	size_t		 len;
	int		 want;
};

#define B(what, want, ...)	{ what, (const uint8_t[]){ __VA_ARGS__ }, \
	sizeof((const uint8_t[]){ __VA_ARGS__ }), want }

static const struct bad bads[] = {
	B("strict array count 0xffffffff", RTMP_EPROTO,
	    0x0a, 0xff, 0xff, 0xff, 0xff, 0x05, 0x05),
	B("strict array count one too many", RTMP_EPROTO,
	    0x0a, 0x00, 0x00, 0x00, 0x03, 0x05, 0x05),
	B("ECMA count 0xffffffff, no end", RTMP_EPROTO,
	    0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 'a', 0x05),
	B("ECMA without end marker", RTMP_EPROTO,
	    0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'a', 0x05),
	B("string length past the message", RTMP_EPROTO,
	    0x02, 0xff, 0xff, 'a', 'b'),
	B("string length one past", RTMP_EPROTO, 0x02, 0x00, 0x03, 'a', 'b'),
	B("long string length past", RTMP_EPROTO,
	    0x0c, 0xff, 0xff, 0xff, 0xff, 'a'),
	B("XML length past", RTMP_EPROTO, 0x0f, 0x80, 0x00, 0x00, 0x00),
	B("key length past", RTMP_EPROTO, 0x03, 0xff, 0xff, 'a'),
	B("typed object class past", RTMP_EPROTO, 0x10, 0x00, 0x09, 'c'),
	B("truncated number", RTMP_EPROTO, 0x00, 0x3f, 0xf0, 0x00),
	B("truncated date", RTMP_EPROTO,
	    0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0x00),
	B("boolean without value", RTMP_EPROTO, 0x01),
	B("reference", RTMP_EPROTO, 0x07, 0x00, 0x01),
	B("movie clip", RTMP_EPROTO, 0x04),
	B("record set", RTMP_EPROTO, 0x0e),
	B("AMF3 switch", RTMP_EPROTO, 0x11, 0x01),
	B("object end at top level", RTMP_EPROTO, 0x09),
	B("end marker as a property value", RTMP_EPROTO,
	    0x03, 0x00, 0x01, 'a', 0x09, 0x00, 0x00, 0x09),
	B("end marker inside a strict array", RTMP_EPROTO,
	    0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x09),
	B("unknown marker 0x12", RTMP_EPROTO, 0x12),
	B("unknown marker 0xff", RTMP_EPROTO, 0xff),
	B("object missing its end", RTMP_EPROTO, 0x03, 0x00, 0x00),
	B("object end cut", RTMP_EPROTO, 0x03, 0x00, 0x00, 0x05),
};

static void
test_malformed(void)
{
	struct amf0_value	 v[NVAL];
	size_t			 i, n;
	uint8_t			 buf[32];
	int			 m, r, bad = 0;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		n = NVAL;
		r = decode_guarded(bads[i].buf, bads[i].len, v, &n, 32);
		CHECK_EQ(r, bads[i].want, "%s", bads[i].what);
	}

	/* Every marker, followed by zeros: unknown ones are refused. */
	for (m = 0; m < 256; m++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = (uint8_t)m;
		n = NVAL;
		r = amf0_decode_one(guard_put(&g, buf, sizeof(buf)),
		    sizeof(buf), v, &n, 32);
		switch (m) {
		case AMF0_OBJECT: case AMF0_ECMA_ARRAY: case AMF0_TYPED_OBJECT:
			/* Zeros never spell 00 00 09: bytes run out. */
			if (r != RTMP_EPROTO)
				bad++;
			break;
		case AMF0_NUMBER: case AMF0_BOOLEAN: case AMF0_STRING:
		case AMF0_NULL: case AMF0_UNDEFINED: case AMF0_STRICT_ARRAY:
		case AMF0_DATE: case AMF0_LONG_STRING: case AMF0_UNSUPPORTED:
		case AMF0_XML_DOCUMENT:
			if (r <= 0 || n != 1)
				bad++;
			break;
		default:
			if (r != RTMP_EPROTO || n != 0)
				bad++;
		}
	}
	CHECK_EQ(bad, 0, "unknown markers refused, known ones accepted");

	n = NVAL;
	r = decode_guarded((const uint8_t[]){ 0x08, 0xff, 0xff, 0xff, 0xff,
	    0x00, 0x00, 0x09 }, 8, v, &n, 32);
	CHECK(r == 8 && n == 1 && v[0].count == 0,
	    "ECMA count is only a hint");
	n = NVAL;
	CHECK_EQ(decode_guarded(buf, 0, v, &n, 32), 0,
	    "empty input: 0 values");
	CHECK_EQ(n, 0, "no values");
	n = NVAL;
	CHECK_EQ(amf0_decode_one(guard_end(&g), 0, v, &n, 32),
	    RTMP_EPROTO,
	    "decode_one on empty input");
}

/* The chain every encoder test writes: one of each encoder. */
static uint8_t *
build_small(uint8_t *p, uint8_t *end)
{
	p = amf0_put_cstring(p, end, "_result");
	p = amf0_put_number(p, end, 1);
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "fmsVer", "FMS/3,0,1,123");
	p = amf0_put_prop_number(p, end, "capabilities", 31);
	p = amf0_put_prop_boolean(p, end, "ok", 1);
	p = amf0_put_key(p, end, "d");
	p = amf0_put_date(p, end, 0, 0);
	p = amf0_put_object_end(p, end);
	p = amf0_put_null(p, end);
	p = amf0_put_undefined(p, end);
	p = amf0_put_ecma_array_start(p, end, 0);
	p = amf0_put_object_end(p, end);
	p = amf0_put_strict_array_start(p, end, 1);
	p = amf0_put_boolean(p, end, 0);
	return p;
}

static void
test_encoder_overflow(void)
{
	struct amf0_value	 v[NVAL];
	uint8_t			 ref[512], *p, *out;
	size_t			 len, size, n;
	int			 bad = 0, badv = 0, i, k;

	p = build_small(ref, ref + sizeof(ref));
	if (!CHECK(p != NULL, "small message builds"))
		return;
	len = (size_t)(p - ref);
	for (size = 0; size <= len; size++) {
		/* The output ends at the guard page: an overrun faults. */
		out = guard_end(&g) - size;
		p = build_small(out, guard_end(&g));
		if (size < len ? p != NULL : p != out + len ||
		    memcmp(out, ref, len) != 0)
			bad++;
	}
	CHECK_EQ(bad, 0, "encoder gives NULL at each of %zu short sizes",
	    len);

	n = NVAL;
	CHECK_EQ(amf0_decode(ref, len, v, &n, 32), (long long)len,
	    "encoded message decodes");
	for (size = 0; size < len; size++) {
		out = guard_end(&g) - size;
		p = out;
		for (k = 0; (i = amf0_top(v, n, k)) >= 0; k++)
			p = amf0_put_value(p, guard_end(&g), v, n, i);
		if (p != NULL)
			badv++;
	}
	CHECK_EQ(badv, 0,
	    "amf0_put_value gives NULL at every short size");

	CHECK(amf0_put_number(NULL, ref + 16, 1) == NULL, "NULL p propagates");
	CHECK(amf0_put_cstring(ref, ref + 16, NULL) == NULL, "NULL string");
	CHECK(amf0_put_key(ref, ref + sizeof(ref), NULL) == NULL, "NULL key");
	CHECK(amf0_put_value(ref, ref + sizeof(ref), v, n, -1) == NULL,
	    "put_value index -1");
	CHECK(amf0_put_value(ref, ref + sizeof(ref), v, n, (int)n) == NULL,
	    "put_value index past the end");
	v[3].end = 99;
	CHECK(amf0_put_value(ref, ref + sizeof(ref), v, n, 2) == NULL,
	    "put_value refuses an inconsistent array");
}

static void
test_view_eq(void)
{
	struct amf0_view	 a = { (const uint8_t *)"live", 4 };
	struct amf0_view	 e = { NULL, 0 };

	CHECK(amf0_view_eq(a, "live"), "view equals");
	CHECK(!amf0_view_eq(a, "liv"), "shorter differs");
	CHECK(!amf0_view_eq(a, "lives"), "longer differs");
	CHECK(amf0_view_eq(e, ""), "empty view equals empty string");
	CHECK(!amf0_view_eq(a, NULL), "NULL string");
}

int
main(void)
{
	if (guard_new(&g, 1 << 17) == -1) {
		CHECK(0, "guard page");
		return unit_done();
	}
	test_round_trip();
	test_connect_capture();
	test_nesting_bomb();
	test_malformed();
	test_encoder_overflow();
	test_view_eq();
	guard_free(&g);
	return unit_done();
}
