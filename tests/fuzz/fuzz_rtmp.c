/*
 * fuzz_rtmp: fuzzer bytes as the chunk stream of a whole session, after a
 * plain handshake, into the command layer in both roles, with the limits
 * the programs run with: a client session as rtmp-dump and rtmp-pushflv
 * configure it (client_session_config), a server with the library's
 * defaults (rtmp_config_default), which are rtmp-listen's.  A server
 * grants every connect, publish and play so that the fuzzer reaches the
 * media paths.  The session must end with an error or want more, never
 * crash, leak or queue more output than its limit.
 *
 * Input: one control byte, then the peer's bytes.  Bit 0 picks the role
 * (0 server, 1 client), bit 1 publish (client), bit 2 a peer that never
 * reads our output, so that the output limit can be reached.  With bits
 * 2-7 all set the peer's bytes are fed again and again, up to FEED_MAX in
 * all, as a peer flooding the same pings does: a few KB of input then fill
 * a player's 1 MiB of output (10 bytes of answer to 7 of ping).  A flood
 * goes on only while its rounds, answered at the rate of the last one,
 * would reach the output limit within FEED_MAX: it costs a thousand
 * ordinary runs, and a publisher's or a server's limit is out of reach.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "error.h"
#include "handshake.h"
#include "rtmp.h"
#include "url.h"

#define FEED_MAX	(1u << 20)
#define FLOOD		0xfc

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
feed(struct rtmp_session *s, size_t limit, int drain, const uint8_t *in,
    size_t len)
{
	struct rtmp_event	 ev;
	size_t			 used = 0, n, outlen;
	int			 rc;

	while (used < len) {
		rc = rtmp_session_feed(s, in + used, len - used, 0, &n, &ev);
		used += n;
		rtmp_session_output(s, &outlen);
		if (outlen > limit)
			abort();
		if (drain)
			rtmp_session_sent(s, outlen);
		if (rc < 0)
			return rc;
		/* A verdict that cannot be queued ends the session, as in a server. */
		switch (rc) {
		case RTMP_EVENT_CONNECT:
			rc = rtmp_server_accept_connect(s);
			break;
		case RTMP_EVENT_PUBLISH:
			rc = rtmp_server_accept_publish(s);
			break;
		case RTMP_EVENT_PLAY:
			if (ev.stream.len % 2)
				rc = rtmp_server_reject(s, "no");
			else
				rc = rtmp_server_accept_play(s);
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
		if (rc < 0)
			return rc;
	}
	return 0;
}

static size_t
queued(const struct rtmp_session *s)
{
	size_t	 n;

	rtmp_session_output(s, &n);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 handshake[1 + 2 * HANDSHAKE_PACKET_SIZE];
	struct client_config	 cc;
	struct rtmp_config	 c;
	struct rtmp_session	*s;
	struct url		 u;
	uint64_t		 grown;
	size_t			 before, fed = 0;
	int			 drain, flood, rc;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (url_parse("rtmp://127.0.0.1/live/cam", &u) != 0)
			abort();
		memset(&cc, 0, sizeof(cc));
		cc.url = &u;
		cc.publish = (data[0] >> 1) & 1;
		client_session_config(&cc, &c);
	} else
		rtmp_config_default(&c, RTMP_ROLE_SERVER);
	c.handshake_plain = 1;
	drain = !(data[0] & 4);
	flood = (data[0] & FLOOD) == FLOOD;
	if ((s = rtmp_session_new(&c)) == NULL)
		return 0;
	/* A plain handshake either way: C0 C1 C2 or S0 S1 S2, version 0. */
	handshake[0] = 3;
	if (feed(s, c.output_limit, drain, handshake, sizeof(handshake)) == 0) {
		do {
			before = queued(s);
			rc = feed(s, c.output_limit, drain, data + 1, size - 1);
			fed += size - 1;
			grown = queued(s) - before;
		} while (flood && rc == 0 && size > 1 && fed < FEED_MAX &&
		    grown > 0 && grown * ((FEED_MAX - fed) / (size - 1) + 1) >=
		    c.output_limit - queued(s));
	}
	rtmp_session_free(s);
	return 0;
}
