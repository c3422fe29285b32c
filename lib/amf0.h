/*
 * amf0.h: AMF0 decode and encode, without allocation.
 *
 * Decoding fills a caller-given array of struct amf0_value in pre-order:
 * a container (object, ECMA array, strict array) is followed by its
 * children, and its `end` field is the index just past its last
 * descendant, so a reader can skip a subtree in O(1).  Strings are views
 * into the input buffer: they stay valid as long as that buffer does.
 * The array's capacity bounds the number of values and `max_depth` bounds
 * nesting, so hostile input can neither recurse nor allocate without bound.
 * Array counts from the wire are never trusted for sizing: decoding stops
 * with RTMP_EPROTO when bytes run out, whatever the count said.
 *
 * Encoding writes into [p, end) and returns the new write position, or
 * NULL if the value did not fit.  Every encoder accepts p == NULL and
 * returns NULL, so a message can be built as a chain and checked once.
 *
 * AMF3 (type 0x11 "avmplus") is not decoded: amf0_decode() stops with
 * RTMP_EPROTO on it; command code that meets AMF3 data messages passes them
 * through as bytes.
 *
 * Decoding details.  Depth counts open containers (object, ECMA array,
 * strict array, typed object): a top-level object is depth 1, and opening
 * one more than max_depth gives RTMP_ELIMIT, so max_depth 0 admits scalars
 * only.  Objects, typed objects and ECMA arrays end with the marker
 * 00 00 09 (required for ECMA arrays too, as every real encoder writes it;
 * their wire count is ignored).  A property with an empty name is kept
 * unless 0x09 follows.  A strict array holds exactly its count of values,
 * and a count larger than the bytes left is RTMP_EPROTO at once.
 * References (0x07), movie clips, record sets, AMF3 and an end marker
 * where a value belongs are RTMP_EPROTO.  On any error *nvalues is 0 and
 * the array's contents are unspecified.  Decoding uses no stack beyond a
 * few locals: open containers are chained through the value array itself.
 */
#ifndef RTMPKIT_AMF0_H
#define RTMPKIT_AMF0_H

#include <stddef.h>
#include <stdint.h>

enum amf0_type {
	AMF0_NUMBER = 0x00,
	AMF0_BOOLEAN = 0x01,
	AMF0_STRING = 0x02,
	AMF0_OBJECT = 0x03,
	AMF0_NULL = 0x05,
	AMF0_UNDEFINED = 0x06,
	AMF0_ECMA_ARRAY = 0x08,
	AMF0_OBJECT_END = 0x09,	/* marker only; never stored as a value */
	AMF0_STRICT_ARRAY = 0x0a,
	AMF0_DATE = 0x0b,
	AMF0_LONG_STRING = 0x0c,
	AMF0_UNSUPPORTED = 0x0d,
	AMF0_XML_DOCUMENT = 0x0f,	/* decoded like a long string */
	AMF0_TYPED_OBJECT = 0x10,	/* class name in .string, then properties */
	AMF0_AVMPLUS = 0x11,
};

struct amf0_view {
	const uint8_t	*ptr;
	size_t		 len;
};

struct amf0_value {
	enum amf0_type	 type;
	struct amf0_view key;	/* property name inside an object or ECMA array; else len 0 */
	uint32_t	 end;	/* index just past this value's subtree */
	uint32_t	 count;	/* containers: direct children decoded */
	union {
		double	 number;	/* NUMBER; DATE: ms since the epoch */
		int	 boolean;
		struct amf0_view string;	/* STRING, LONG_STRING, XML_DOCUMENT, TYPED_OBJECT class */
	} u;
	int16_t		 timezone;	/* DATE only */
};

#define AMF0_DEFAULT_MAX_DEPTH	32

/*
 * Decode every top-level value in buf[0..len).  *nvalues is the capacity
 * of values on entry and the number stored on return.  Returns the bytes
 * consumed (always len on success), or RTMP_EPROTO (malformed, truncated,
 * unknown marker, AMF3), or RTMP_ELIMIT (more values than capacity, or
 * nesting deeper than max_depth).
 */
int	amf0_decode(const uint8_t *buf, size_t len, struct amf0_value *values,
	    size_t *nvalues, unsigned max_depth);

/*
 * Decode exactly one top-level value from the start of buf[0..len), with
 * the same rules and limits, and leave the bytes after it alone.  Returns
 * the bytes that value took (> 0), or RTMP_EPROTO / RTMP_ELIMIT.  For
 * readers that look at a prefix: a command's name, a data message's
 * handler name before its (possibly large) body.
 */
int	amf0_decode_one(const uint8_t *buf, size_t len, struct amf0_value *values,
	    size_t *nvalues, unsigned max_depth);

/* Index of the top-level value number n (0-based), or -1. */
int	amf0_top(const struct amf0_value *values, size_t nvalues, unsigned n);
/* Index of the child of container `parent` whose key is `key`, or -1. */
int	amf0_find(const struct amf0_value *values, size_t nvalues, int parent, const char *key);

/* Typed accessors; index may be -1 (missing). Return 0 if absent or of another type. */
int	amf0_get_number(const struct amf0_value *values, size_t nvalues, int index, double *out);
int	amf0_get_string(const struct amf0_value *values, size_t nvalues, int index, struct amf0_view *out);
int	amf0_get_boolean(const struct amf0_value *values, size_t nvalues, int index, int *out);
/* 1 if the view equals the C string. */
int	amf0_view_eq(struct amf0_view v, const char *s);

uint8_t	*amf0_put_number(uint8_t *p, uint8_t *end, double v);
uint8_t	*amf0_put_boolean(uint8_t *p, uint8_t *end, int v);
/* STRING if len < 65536, else LONG_STRING. */
uint8_t	*amf0_put_string(uint8_t *p, uint8_t *end, const char *s, size_t len);
uint8_t	*amf0_put_cstring(uint8_t *p, uint8_t *end, const char *s);
uint8_t	*amf0_put_null(uint8_t *p, uint8_t *end);
uint8_t	*amf0_put_undefined(uint8_t *p, uint8_t *end);
uint8_t	*amf0_put_date(uint8_t *p, uint8_t *end, double ms, int16_t timezone);
uint8_t	*amf0_put_object_start(uint8_t *p, uint8_t *end);
uint8_t	*amf0_put_ecma_array_start(uint8_t *p, uint8_t *end, uint32_t count);
uint8_t	*amf0_put_strict_array_start(uint8_t *p, uint8_t *end, uint32_t count);
/* A property name inside an object or ECMA array (no type marker). */
uint8_t	*amf0_put_key(uint8_t *p, uint8_t *end, const char *key);
/* Closes an object or ECMA array: 00 00 09. */
uint8_t	*amf0_put_object_end(uint8_t *p, uint8_t *end);
/* Shorthands for a property: key then value. */
uint8_t	*amf0_put_prop_number(uint8_t *p, uint8_t *end, const char *key, double v);
uint8_t	*amf0_put_prop_boolean(uint8_t *p, uint8_t *end, const char *key, int v);
uint8_t	*amf0_put_prop_string(uint8_t *p, uint8_t *end, const char *key, const char *s);
/*
 * Re-encode a decoded subtree starting at values[index]; used by round trips.
 * Each value keeps its wire type (a short LONG_STRING stays long); ECMA and
 * strict array counts are written from `count`.  The array is checked for
 * a consistent shape as it is walked (NULL if not), and subtrees nested
 * deeper than AMF0_PUT_MAX_DEPTH give NULL.
 */
#define AMF0_PUT_MAX_DEPTH	256
uint8_t	*amf0_put_value(uint8_t *p, uint8_t *end, const struct amf0_value *values,
	    size_t nvalues, int index);

#endif
