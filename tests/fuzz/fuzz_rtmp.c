/*
 * fuzz_rtmp: fuzzer bytes as the chunk stream of a whole session, after a
 * plain handshake, into the command layer in both roles.  The first byte
 * picks the role (even: server, odd: client); a server grants every
 * connect, publish and play so that the fuzzer reaches the media paths.
 * The session must end with an error or want more, never crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "handshake.h"
#include "rtmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
feed(struct rtmp_session *s, const uint8_t *in, size_t len)
{
	struct rtmp_event	 ev;
	size_t			 used = 0, n, outlen;
	int			 rc;

	while (used < len) {
		rc = rtmp_session_feed(s, in + used, len - used, 0, &n, &ev);
		used += n;
		rtmp_session_output(s, &outlen);
		rtmp_session_sent(s, outlen);
		if (rc < 0)
			return rc;
		switch (rc) {
		case RTMP_EVENT_CONNECT:
			rtmp_server_accept_connect(s);
			break;
		case RTMP_EVENT_PUBLISH:
			rtmp_server_accept_publish(s);
			break;
		case RTMP_EVENT_PLAY:
			if (ev.stream.len % 2)
				rtmp_server_reject(s, "no");
			else
				rtmp_server_accept_play(s);
			break;
		case RTMP_EVENT_MEDIA:
			/* Touch every byte of the view. */
			if (ev.length > 0 && ev.payload[0] == ev.payload[ev.length - 1])
				rtmp_data_frame_offset(ev.payload, ev.length);
			break;
		case RTMP_EVENT_NONE:
			if (n == 0)
				return 0;
			break;
		}
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 handshake[1 + 2 * HANDSHAKE_PACKET_SIZE];
	struct rtmp_config	 c;
	struct rtmp_session	*s;
	int			 client;

	if (size < 1)
		return 0;
	client = data[0] & 1;
	rtmp_config_default(&c, client ? RTMP_ROLE_CLIENT : RTMP_ROLE_SERVER);
	c.limits.max_message_size = 1 << 20;
	c.limits.max_chunk_streams = 16;
	c.output_limit = 1 << 20;
	c.app = "live";
	c.tc_url = "rtmp://127.0.0.1/live";
	c.stream = "cam";
	c.publish = (data[0] >> 1) & 1;
	c.handshake_plain = 1;
	if ((s = rtmp_session_new(&c)) == NULL)
		return 0;
	/* A plain handshake either way: C0 C1 C2 or S0 S1 S2, version 0. */
	handshake[0] = 3;
	if (feed(s, handshake, sizeof(handshake)) == 0)
		feed(s, data + 1, size - 1);
	rtmp_session_free(s);
	return 0;
}
