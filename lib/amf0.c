/*
 * AMF0 decoding into a caller-given value array and encoding into a
 * caller-given buffer.  See amf0.h for the contract.
 */
#include <limits.h>
#include <string.h>

#include "amf0.h"
#include "bytes.h"
#include "error.h"

static double
amf0_getdouble(const uint8_t *p)
{
	uint64_t	 u = 0;
	double		 d;
	int		 i;

	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint8_t *
amf0_putdouble(uint8_t *p, double d)
{
	uint64_t	 u;
	int		 i;

	memcpy(&u, &d, sizeof(u));
	for (i = 7; i >= 0; i--) {
		p[i] = u & 0xff;
		u >>= 8;
	}
	return p + 8;
}

/* 1 if [p, end) has room for n more bytes; NULL p means an earlier failure. */
static int
amf0_room(const uint8_t *p, const uint8_t *end, size_t n)
{
	return p != NULL && end != NULL && p <= end && (size_t)(end - p) >= n;
}

static int
amf0_is_keyed(enum amf0_type t)
{
	return t == AMF0_OBJECT || t == AMF0_ECMA_ARRAY ||
	    t == AMF0_TYPED_OBJECT;
}

static int
amf0_is_container(enum amf0_type t)
{
	return amf0_is_keyed(t) || t == AMF0_STRICT_ARRAY;
}

/*
 * While a container is open its `end` field holds the index + 1 of the
 * enclosing open container (0 at top level) and, for a strict array, its
 * union holds the number of elements still to read.  That makes the value
 * array itself the stack, so depth costs no memory of our own.  Closing
 * restores both fields to their documented meaning.
 */
static uint32_t
amf0_close_container(struct amf0_value *values, uint32_t open, size_t n)
{
	struct amf0_value	*c = &values[open - 1];
	uint32_t		 up = c->end;

	c->end = (uint32_t)n;
	if (c->type == AMF0_STRICT_ARRAY)
		memset(&c->u, 0, sizeof(c->u));
	return up;
}

/*
 * Decode values until the input ends (one == 0) or until one complete
 * top-level value has been read (one == 1).
 */
static int
amf0_decode_value(const uint8_t *buf, size_t len, struct amf0_value *values,
    size_t *nvalues, unsigned max_depth, int one)
{
	const uint8_t		*p = buf, *end = buf + len;
	struct amf0_value	*v, *parent;
	struct amf0_view	 key;
	size_t			 cap = *nvalues, n = 0, slen;
	uint32_t		 open = 0, count = 0;
	unsigned		 depth = 0;
	uint8_t			 marker;

	*nvalues = 0;
	if (len > INT_MAX)
		return RTMP_ELIMIT;
	/* Indices must fit `end` and the int that amf0_find() returns. */
	if (cap > INT_MAX - 1)
		cap = INT_MAX - 1;

	for (;;) {
		parent = open ? &values[open - 1] : NULL;
		key.ptr = NULL;
		key.len = 0;
		if (parent == NULL) {
			if (one ? n > 0 : p == end)
				break;
		} else if (parent->type == AMF0_STRICT_ARRAY) {
			if (parent->u.string.len == 0) {
				open = amf0_close_container(values, open, n);
				depth--;
				continue;
			}
			parent->u.string.len--;
		} else {
			if (end - p < 2)
				return RTMP_EPROTO;
			slen = bytes_get16(p);
			if (slen == 0 && end - p >= 3 &&
			    p[2] == AMF0_OBJECT_END) {
				p += 3;
				open = amf0_close_container(values, open, n);
				depth--;
				continue;
			}
			p += 2;
			if ((size_t)(end - p) < slen)
				return RTMP_EPROTO;
			key.ptr = p;
			key.len = slen;
			p += slen;
		}

		if (p == end)
			return RTMP_EPROTO;
		marker = *p++;
		if (n >= cap)
			return RTMP_ELIMIT;
		v = &values[n];
		memset(v, 0, sizeof(*v));
		v->type = marker;
		v->key = key;
		v->end = (uint32_t)n + 1;

		switch (marker) {
		case AMF0_NUMBER:
			if (end - p < 8)
				return RTMP_EPROTO;
			v->u.number = amf0_getdouble(p);
			p += 8;
			break;
		case AMF0_BOOLEAN:
			if (end - p < 1)
				return RTMP_EPROTO;
			v->u.boolean = *p++ != 0;
			break;
		case AMF0_STRING:
			if (end - p < 2)
				return RTMP_EPROTO;
			slen = bytes_get16(p);
			p += 2;
			goto string;
		case AMF0_LONG_STRING:
		case AMF0_XML_DOCUMENT:
			if (end - p < 4)
				return RTMP_EPROTO;
			slen = bytes_get32(p);
			p += 4;
		string:
			if ((size_t)(end - p) < slen)
				return RTMP_EPROTO;
			v->u.string.ptr = p;
			v->u.string.len = slen;
			p += slen;
			break;
		case AMF0_NULL:
		case AMF0_UNDEFINED:
		case AMF0_UNSUPPORTED:
			break;
		case AMF0_DATE:
			if (end - p < 10)
				return RTMP_EPROTO;
			v->u.number = amf0_getdouble(p);
			v->timezone = (int16_t)bytes_get16(p + 8);
			p += 10;
			break;
		case AMF0_OBJECT:
			break;
		case AMF0_TYPED_OBJECT:
			if (end - p < 2)
				return RTMP_EPROTO;
			slen = bytes_get16(p);
			p += 2;
			if ((size_t)(end - p) < slen)
				return RTMP_EPROTO;
			v->u.string.ptr = p;
			v->u.string.len = slen;
			p += slen;
			break;
		case AMF0_ECMA_ARRAY:
			/* The count is a hint; the end marker decides. */
			if (end - p < 4)
				return RTMP_EPROTO;
			p += 4;
			break;
		case AMF0_STRICT_ARRAY:
			if (end - p < 4)
				return RTMP_EPROTO;
			count = bytes_get32(p);
			p += 4;
			/* Every element takes at least its marker byte. */
			if (count > (size_t)(end - p))
				return RTMP_EPROTO;
			break;
		default:
			/* Movie clip, reference, record set, AMF3, stray end */
			return RTMP_EPROTO;
		}

		if (parent != NULL)
			parent->count++;
		n++;
		if (amf0_is_container(v->type)) {
			if (depth >= max_depth)
				return RTMP_ELIMIT;
			depth++;
			if (v->type == AMF0_STRICT_ARRAY) {
				v->u.string.ptr = NULL;
				v->u.string.len = count;
			}
			v->end = open;
			open = (uint32_t)n;
		}
	}
	*nvalues = n;
	return (int)(p - buf);
}

int
amf0_decode(const uint8_t *buf, size_t len, struct amf0_value *values,
    size_t *nvalues, unsigned max_depth)
{
	return amf0_decode_value(buf, len, values, nvalues, max_depth, 0);
}

int
amf0_decode_one(const uint8_t *buf, size_t len, struct amf0_value *values,
    size_t *nvalues, unsigned max_depth)
{
	return amf0_decode_value(buf, len, values, nvalues, max_depth, 1);
}

int
amf0_view_eq(struct amf0_view v, const char *s)
{
	size_t	 n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return v.len == n && (n == 0 || memcmp(v.ptr, s, n) == 0);
}

int
amf0_top(const struct amf0_value *values, size_t nvalues, unsigned n)
{
	size_t	 i = 0;

	if (nvalues > INT_MAX)
		nvalues = INT_MAX;
	while (i < nvalues) {
		if (n == 0)
			return (int)i;
		n--;
		if (values[i].end <= i)
			return -1;
		i = values[i].end;
	}
	return -1;
}

int
amf0_find(const struct amf0_value *values, size_t nvalues, int parent,
    const char *key)
{
	size_t	 i, end;

	if (parent < 0 || (size_t)parent >= nvalues || nvalues > INT_MAX ||
	    !amf0_is_keyed(values[parent].type))
		return -1;
	end = values[parent].end;
	if (end > nvalues)
		end = nvalues;
	i = (size_t)parent + 1;
	while (i < end) {
		if (amf0_view_eq(values[i].key, key))
			return (int)i;
		if (values[i].end <= i)
			return -1;
		i = values[i].end;
	}
	return -1;
}

static const struct amf0_value *
amf0_get(const struct amf0_value *values, size_t nvalues, int index)
{
	if (values == NULL || index < 0 || (size_t)index >= nvalues)
		return NULL;
	return &values[index];
}

int
amf0_get_number(const struct amf0_value *values, size_t nvalues, int index,
    double *out)
{
	const struct amf0_value	*v = amf0_get(values, nvalues, index);

	if (v == NULL || v->type != AMF0_NUMBER)
		return 0;
	*out = v->u.number;
	return 1;
}

int
amf0_get_string(const struct amf0_value *values, size_t nvalues, int index,
    struct amf0_view *out)
{
	const struct amf0_value	*v = amf0_get(values, nvalues, index);

	if (v == NULL ||
	    (v->type != AMF0_STRING && v->type != AMF0_LONG_STRING))
		return 0;
	*out = v->u.string;
	return 1;
}

int
amf0_get_boolean(const struct amf0_value *values, size_t nvalues, int index,
    int *out)
{
	const struct amf0_value	*v = amf0_get(values, nvalues, index);

	if (v == NULL || v->type != AMF0_BOOLEAN)
		return 0;
	*out = v->u.boolean;
	return 1;
}

uint8_t *
amf0_put_number(uint8_t *p, uint8_t *end, double v)
{
	if (!amf0_room(p, end, 9))
		return NULL;
	*p++ = AMF0_NUMBER;
	return amf0_putdouble(p, v);
}

uint8_t *
amf0_put_boolean(uint8_t *p, uint8_t *end, int v)
{
	if (!amf0_room(p, end, 2))
		return NULL;
	*p++ = AMF0_BOOLEAN;
	*p++ = v != 0;
	return p;
}

static uint8_t *
amf0_put_bytes(uint8_t *p, const void *s, size_t len)
{
	if (len > 0)
		memcpy(p, s, len);
	return p + len;
}

/* A string body with a 16- or 32-bit length, as `marker` requires. */
static uint8_t *
amf0_put_string_as(uint8_t *p, uint8_t *end, uint8_t marker, const void *s,
    size_t len)
{
	if (len > 0 && s == NULL)
		return NULL;
	if (marker == AMF0_STRING) {
		if (len > 0xffff || !amf0_room(p, end, 3) ||
		    (size_t)(end - p) - 3 < len)
			return NULL;
		*p++ = marker;
		p = bytes_put16(p, (uint16_t)len);
	} else {
		if (len > 0xffffffffUL || !amf0_room(p, end, 5) ||
		    (size_t)(end - p) - 5 < len)
			return NULL;
		*p++ = marker;
		p = bytes_put32(p, (uint32_t)len);
	}
	return amf0_put_bytes(p, s, len);
}

uint8_t *
amf0_put_string(uint8_t *p, uint8_t *end, const char *s, size_t len)
{
	return amf0_put_string_as(p, end,
	    len <= 0xffff ? AMF0_STRING : AMF0_LONG_STRING, s, len);
}

uint8_t *
amf0_put_cstring(uint8_t *p, uint8_t *end, const char *s)
{
	if (s == NULL)
		return NULL;
	return amf0_put_string(p, end, s, strlen(s));
}

static uint8_t *
amf0_put_marker(uint8_t *p, uint8_t *end, uint8_t marker)
{
	if (!amf0_room(p, end, 1))
		return NULL;
	*p++ = marker;
	return p;
}

uint8_t *
amf0_put_null(uint8_t *p, uint8_t *end)
{
	return amf0_put_marker(p, end, AMF0_NULL);
}

uint8_t *
amf0_put_undefined(uint8_t *p, uint8_t *end)
{
	return amf0_put_marker(p, end, AMF0_UNDEFINED);
}

uint8_t *
amf0_put_date(uint8_t *p, uint8_t *end, double ms, int16_t timezone)
{
	if (!amf0_room(p, end, 11))
		return NULL;
	*p++ = AMF0_DATE;
	p = amf0_putdouble(p, ms);
	return bytes_put16(p, (uint16_t)timezone);
}

uint8_t *
amf0_put_object_start(uint8_t *p, uint8_t *end)
{
	return amf0_put_marker(p, end, AMF0_OBJECT);
}

static uint8_t *
amf0_put_counted(uint8_t *p, uint8_t *end, uint8_t marker, uint32_t count)
{
	if (!amf0_room(p, end, 5))
		return NULL;
	*p++ = marker;
	return bytes_put32(p, count);
}

uint8_t *
amf0_put_ecma_array_start(uint8_t *p, uint8_t *end, uint32_t count)
{
	return amf0_put_counted(p, end, AMF0_ECMA_ARRAY, count);
}

uint8_t *
amf0_put_strict_array_start(uint8_t *p, uint8_t *end, uint32_t count)
{
	return amf0_put_counted(p, end, AMF0_STRICT_ARRAY, count);
}

static uint8_t *
amf0_put_key_bytes(uint8_t *p, uint8_t *end, const void *key, size_t len)
{
	if (len > 0xffff || (len > 0 && key == NULL) || !amf0_room(p, end, 2) ||
	    (size_t)(end - p) - 2 < len)
		return NULL;
	p = bytes_put16(p, (uint16_t)len);
	return amf0_put_bytes(p, key, len);
}

uint8_t *
amf0_put_key(uint8_t *p, uint8_t *end, const char *key)
{
	if (key == NULL)
		return NULL;
	return amf0_put_key_bytes(p, end, key, strlen(key));
}

uint8_t *
amf0_put_object_end(uint8_t *p, uint8_t *end)
{
	if (!amf0_room(p, end, 3))
		return NULL;
	*p++ = 0;
	*p++ = 0;
	*p++ = AMF0_OBJECT_END;
	return p;
}

uint8_t *
amf0_put_prop_number(uint8_t *p, uint8_t *end, const char *key, double v)
{
	return amf0_put_number(amf0_put_key(p, end, key), end, v);
}

uint8_t *
amf0_put_prop_boolean(uint8_t *p, uint8_t *end, const char *key, int v)
{
	return amf0_put_boolean(amf0_put_key(p, end, key), end, v);
}

uint8_t *
amf0_put_prop_string(uint8_t *p, uint8_t *end, const char *key,
    const char *s)
{
	return amf0_put_cstring(amf0_put_key(p, end, key), end, s);
}

/* One value's marker and scalar body; containers only their opening. */
static uint8_t *
amf0_put_one(uint8_t *p, uint8_t *end, const struct amf0_value *v)
{
	switch (v->type) {
	case AMF0_NUMBER:
		return amf0_put_number(p, end, v->u.number);
	case AMF0_BOOLEAN:
		return amf0_put_boolean(p, end, v->u.boolean);
	case AMF0_STRING:
	case AMF0_LONG_STRING:
	case AMF0_XML_DOCUMENT:
		return amf0_put_string_as(p, end, v->type, v->u.string.ptr,
		    v->u.string.len);
	case AMF0_NULL:
	case AMF0_UNDEFINED:
	case AMF0_UNSUPPORTED:
	case AMF0_OBJECT:
		return amf0_put_marker(p, end, v->type);
	case AMF0_DATE:
		return amf0_put_date(p, end, v->u.number, v->timezone);
	case AMF0_ECMA_ARRAY:
	case AMF0_STRICT_ARRAY:
		return amf0_put_counted(p, end, v->type, v->count);
	case AMF0_TYPED_OBJECT:
		p = amf0_put_marker(p, end, v->type);
		return amf0_put_key_bytes(p, end, v->u.string.ptr, v->u.string.len);
	default:
		return NULL;
	}
}

uint8_t *
amf0_put_value(uint8_t *p, uint8_t *end, const struct amf0_value *values,
    size_t nvalues, int index)
{
	uint32_t	 stack[AMF0_PUT_MAX_DEPTH];
	const struct amf0_value *v, *top;
	size_t		 i, stop, limit;
	unsigned	 sp = 0;

	if (p == NULL || values == NULL || index < 0 ||
	    (size_t)index >= nvalues)
		return NULL;
	stop = values[index].end;
	if (stop <= (size_t)index || stop > nvalues)
		return NULL;

	for (i = (size_t)index; i < stop; i++) {
		/* Close every container whose subtree ends here. */
		while (sp > 0 && values[stack[sp - 1]].end == i) {
			if (amf0_is_keyed(values[stack[sp - 1]].type))
				p = amf0_put_object_end(p, end);
			sp--;
		}
		top = sp > 0 ? &values[stack[sp - 1]] : NULL;
		limit = top != NULL ? top->end : stop;
		v = &values[i];
		/* The array is the caller's: check its shape as we go. */
		if (amf0_is_container(v->type) ? v->end <= i || v->end > limit :
		    v->end != i + 1)
			return NULL;
		if (top != NULL && amf0_is_keyed(top->type))
			p = amf0_put_key_bytes(p, end, v->key.ptr, v->key.len);
		p = amf0_put_one(p, end, v);
		if (p == NULL)
			return NULL;
		if (amf0_is_container(v->type)) {
			if (sp == AMF0_PUT_MAX_DEPTH)
				return NULL;
			stack[sp++] = (uint32_t)i;
		}
	}
	while (sp > 0) {
		if (amf0_is_keyed(values[stack[sp - 1]].type))
			p = amf0_put_object_end(p, end);
		sp--;
	}
	return p;
}
