/*
 * AMF0 decoder and re-encoder.  Whatever decodes must re-encode, decode
 * again to the same shape, and re-encode to the same bytes the second
 * time (wire counts and boolean bytes are normalised by the first pass).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"
#include "error.h"

#define NVAL	512

static size_t
reencode(const struct amf0_value *v, size_t n, uint8_t *out, size_t size)
{
	uint8_t	*p = out;
	int	 i, k;

	for (k = 0; (i = amf0_top(v, n, k)) >= 0; k++)
		p = amf0_put_value(p, out + size, v, n, i);
	if (p == NULL)
		abort();
	return (size_t)(p - out);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct amf0_value v[NVAL], w[NVAL];
	static uint8_t		 out1[1 << 17], out2[1 << 17];
	struct amf0_view	 s;
	size_t			 n = NVAL, m = NVAL, len1, len2;
	double			 d;
	int			 r, b, i, k;

	if (size > 65536)
		return 0;
	r = amf0_decode_one(data, size, v, &n, AMF0_DEFAULT_MAX_DEPTH);
	if (r > 0 && ((size_t)r > size || n == 0))
		abort();

	n = NVAL;
	r = amf0_decode(data, size, v, &n, AMF0_DEFAULT_MAX_DEPTH);
	if (r < 0) {
		if (r != RTMP_EPROTO && r != RTMP_ELIMIT)
			abort();
		if (n != 0)
			abort();
		return 0;
	}
	if ((size_t)r != size)
		abort();

	/* Accessors on whatever came out. */
	for (k = 0; (i = amf0_top(v, n, k)) >= 0; k++) {
		(void)amf0_get_number(v, n, i, &d);
		(void)amf0_get_string(v, n, i, &s);
		(void)amf0_get_boolean(v, n, i, &b);
		(void)amf0_find(v, n, i, "app");
		(void)amf0_find(v, n, i, "");
	}

	/* Growth on re-encoding is bounded: counts and booleans keep size. */
	len1 = reencode(v, n, out1, sizeof(out1));
	if (len1 != size)
		abort();
	r = amf0_decode(out1, len1, w, &m, AMF0_DEFAULT_MAX_DEPTH);
	if (r != (int)len1 || m != n)
		abort();
	len2 = reencode(w, m, out2, sizeof(out2));
	if (len2 != len1 || memcmp(out1, out2, len1) != 0)
		abort();
	return 0;
}
