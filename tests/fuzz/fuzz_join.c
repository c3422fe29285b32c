/*
 * fuzz_join: a backend's bytes after the handshake, through join.c on
 * their way to a client that saw the balancer's answers.  Checks that it
 * never reads past its input, that what it gives the client is bounded by
 * what it took (a rewritten header is at most CHUNK_MAX_HEADER bytes for
 * a one-byte one), and that a replay from the input is bounded too.
 *
 * Input: byte 0 picks the client's chunk size and how the bytes are cut;
 * with its top bit set, bytes 1-2 give a length of replay taken from the
 * input instead of the usual connect + createStream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"
#include "buf.h"
#include "chunk.h"
#include "error.h"
#include "handshake.h"
#include "join.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
fuzz_join_replay(uint8_t *out, size_t size)
{
	struct chunk_encoder	 e;
	struct rtmp_message	 m = { .chunk_stream_id = 3, .type = RTMP_MSG_COMMAND_AMF0 };
	uint8_t			 body[128], *p, *end = body + sizeof(body);
	size_t			 n;
	int			 rc;

	chunk_encoder_init(&e);
	p = amf0_put_cstring(body, end, "connect");
	p = amf0_put_number(p, end, 1);
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "app", "live");
	p = amf0_put_object_end(p, end);
	m.payload = body;
	m.length = (uint32_t)(p - body);
	if ((rc = chunk_encode(&e, &m, out, size)) < 0)
		return 0;
	n = (size_t)rc;
	p = amf0_put_cstring(body, end, "createStream");
	p = amf0_put_number(p, end, 2);
	p = amf0_put_null(p, end);
	m.length = (uint32_t)(p - body);
	if ((rc = chunk_encode(&e, &m, out + n, size - n)) < 0)
		return 0;
	return n + (size_t)rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t	 sizes[4] = { 128, 4096, 1, 60000 };
	struct handshake_config	 hc = { .role = HANDSHAKE_SERVER };
	static struct handshake	 h;
	uint8_t			 fixed[512], *copy;
	const uint8_t		*replay = fixed, *p;
	size_t			 replaylen, len, used, off, base, piece, before;
	struct join		*j;
	struct buf		 client;
	int			 err, rc = 0;

	if (size < 1)
		return 0;
	off = 1;
	if (data[0] & 0x80) {
		if (size < 3)
			return 0;
		replaylen = (size_t)data[1] << 8 | data[2];
		off = 3;
		if (replaylen > size - off)
			replaylen = size - off;
		replay = data + off;
		off += replaylen;
	} else
		replaylen = fuzz_join_replay(fixed, sizeof(fixed));
	if ((j = join_new(replay, replaylen, sizes[data[0] & 3], &err)) == NULL)
		return 0;
	handshake_init(&h, &hc);
	p = join_to_backend(j, &len);
	(void)handshake_feed(&h, p, len, &used);
	join_backend_sent(j, len);
	p = handshake_output(&h, &len);
	buf_init(&client, 0);
	if (join_from_backend(j, p, len, &client) < 0 || !join_open(j))
		abort();
	p = join_to_backend(j, &len);
	join_backend_sent(j, len);
	piece = ((data[0] >> 2) & 7) + 1;
	/* An exact-size copy so ASan sees any over-read. */
	if ((copy = malloc(size - off + 1)) == NULL)
		goto done;
	memcpy(copy, data + off, size - off);
	base = off;
	for (; off < size && rc == 0; off += len) {
		len = size - off < piece ? size - off : piece;
		before = client.len;
		rc = join_from_backend(j, copy + (off - base), len, &client);
		if (rc == 0 && client.len - before > CHUNK_MAX_HEADER * len + 16)
			abort();
		buf_consume(&client, client.len);
	}
	(void)join_raw(j);
	(void)join_reason(j);
	free(copy);
done:
	buf_free(&client);
	join_free(j);
	return 0;
}
