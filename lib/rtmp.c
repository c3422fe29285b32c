/*
 * rtmp.c: the command and control layer over the chunk stream.
 * See rtmp.h for the contract.
 */
#include <sys/mman.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"
#include "bytes.h"
#include "error.h"
#include "rtmp.h"

#define RTMP_MAX_VALUES		512
#define RTMP_COMMAND_MAX	8192
#define RTMP_ACK_FLOOR		4096	/* a window of 0 or 1 must not ack every message */
#define RTMP_MAX_STREAMS	64	/* createStream answers per connection */
#define RTMP_OUT_KEEP		(16 * 1024)	/* an emptied output buffer up to it is freed */


/* User control event types. */
#define UC_STREAM_BEGIN		0
#define UC_STREAM_EOF		1
#define UC_SET_BUFFER_LENGTH	3
#define UC_STREAM_IS_RECORDED	4
#define UC_PING_REQUEST		6
#define UC_PING_RESPONSE	7

enum client_state {
	CLIENT_HANDSHAKE,
	CLIENT_CONNECTING,	/* connect sent */
	CLIENT_CREATING,	/* createStream sent */
	CLIENT_STARTING,	/* play or publish sent */
	CLIENT_READY,
};

enum server_pending {
	PENDING_NONE,
	PENDING_CONNECT,
	PENDING_PUBLISH,
	PENDING_PLAY,
};

struct rtmp_session {
	struct rtmp_config	 config;
	char			*app, *tc_url, *stream, *flash_version;
	struct handshake	*handshake;	/* freed once done: 6.2 KB a connection */
	int			 handshake_mapped;	/* handshake is in pages of its own */
	int			 handshake_done;
	struct chunk_decoder	 decoder;
	struct chunk_encoder	 encoder;
	struct buf		 out;
	uint64_t		 bytes_in, bytes_out;
	uint64_t		 acked_in;	/* bytes_in when we last acknowledged */
	uint32_t		 peer_window;	/* the peer's Window Acknowledgement Size */
	uint32_t		 our_window;	/* what we announced */
	uint32_t		 peer_bandwidth;
	uint32_t		 peer_ack;	/* sequence in the peer's last Acknowledgement */
	int			 peer_acks;	/* the peer has acknowledged at least once */
	uint64_t		 last_input_ms;

	/* client */
	enum client_state	 state;
	double			 next_transaction;
	double			 create_stream_transaction;
	uint32_t		 stream_id;

	/* server */
	enum server_pending	 pending;
	double			 pending_transaction;
	uint32_t		 pending_stream;
	uint32_t		 streams_created;
	int			 connected;
	uint32_t		 publish_stream;	/* 0: not publishing */
	uint32_t		 play_stream;		/* 0: not playing */

	/*
	 * An aggregate message being split, in the session's own copy: its
	 * sub-messages come out over several feed calls, and the caller's
	 * input (where a single-chunk message's view points) is gone by then.
	 */
	struct buf		 aggregate_copy;
	const uint8_t		*aggregate;
	size_t			 aggregate_len;
	uint32_t		 aggregate_delta;
	uint32_t		 aggregate_stream;
	int			 aggregate_first;

	size_t			 nvalues;	/* in rtmp_values */
};

/*
 * The decoded values of the command being handled: one array for every
 * session of the process (28 KB), since a command is decoded and acted on
 * within one feed call, and a server holds thousands of sessions.
 * Single-threaded, as the whole library.
 */
static struct amf0_value	 rtmp_values[RTMP_MAX_VALUES];

static int	rtmp_pull_handshake_output(struct rtmp_session *);

/*
 * The handshake state gets pages of its own, given back to the system the
 * moment the handshake ends.  From the heap, a burst of connections left a
 * 6 KB hole per connection between the sessions' long-lived allocations,
 * and a server's RSS where the burst had taken it (1000 players: +4 KB
 * each).  The heap only when the system has no mapping to spare.
 */
static int
rtmp_handshake_alloc(struct rtmp_session *s)
{
	void	*p;

	p = mmap(NULL, sizeof(*s->handshake), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		s->handshake = p;
		s->handshake_mapped = 1;
		return 0;
	}
	if ((s->handshake = malloc(sizeof(*s->handshake))) == NULL)
		return RTMP_ENOMEM;
	return 0;
}

static void
rtmp_handshake_release(struct rtmp_session *s)
{
	if (s->handshake_mapped)
		(void)munmap(s->handshake, sizeof(*s->handshake));
	else
		free(s->handshake);
	s->handshake = NULL;
	s->handshake_mapped = 0;
}

void
rtmp_config_default(struct rtmp_config *c, enum rtmp_role role)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	chunk_limits_default(&c->limits);
	c->amf_max_depth = AMF0_DEFAULT_MAX_DEPTH;
	c->chunk_size = 4096;
	c->window_ack_size = 2500000;
	/*
	 * A server's session queues only its own answers (media leaves in
	 * the caller's shared blocks), so a peer that floods Ping Requests
	 * or FCPublish and never reads the answers meets a small bound, as
	 * a player's session does (client_session_config), not 64 MiB a
	 * connection.
	 */
	c->output_limit = role == RTMP_ROLE_SERVER ? RTMP_SERVER_OUTPUT_LIMIT : 64u << 20;
	c->play_start = -2;
	c->buffer_ms = 3000;
}

static char *
rtmp_dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct rtmp_session *
rtmp_session_new(const struct rtmp_config *config)
{
	struct rtmp_session	*s;
	struct handshake_config	 hc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->config = *config;
	if (s->config.amf_max_depth == 0)
		s->config.amf_max_depth = AMF0_DEFAULT_MAX_DEPTH;
	if (s->config.chunk_size == 0)
		s->config.chunk_size = 4096;
	if (s->config.window_ack_size == 0)
		s->config.window_ack_size = 2500000;
	s->app = rtmp_dup_or_empty(config->app);
	s->tc_url = rtmp_dup_or_empty(config->tc_url);
	s->stream = rtmp_dup_or_empty(config->stream);
	s->flash_version = rtmp_dup_or_empty(config->flash_version != NULL ?
	    config->flash_version : config->publish ?
	    "FMLE/3.0 (compatible; rtmpkit)" : "LNX 9,0,124,2");
	s->config.app = s->config.tc_url = s->config.stream = NULL;
	s->config.flash_version = NULL;
	if (s->app == NULL || s->tc_url == NULL || s->stream == NULL ||
	    s->flash_version == NULL ||
	    chunk_decoder_init(&s->decoder, &config->limits) < 0) {
		rtmp_session_free(s);
		return NULL;
	}
	chunk_encoder_init(&s->encoder);
	buf_init(&s->out, s->config.output_limit);
	buf_init(&s->aggregate_copy, 0);
	s->our_window = s->config.window_ack_size;
	s->next_transaction = 1;

	memset(&hc, 0, sizeof(hc));
	hc.role = config->role == RTMP_ROLE_CLIENT ? HANDSHAKE_CLIENT : HANDSHAKE_SERVER;
	hc.digest = !config->handshake_plain;
	hc.packet = config->handshake_packet;
	if (rtmp_handshake_alloc(s) < 0) {
		rtmp_session_free(s);
		return NULL;
	}
	/* The client's C0+C1 is ready before any input arrives. */
	handshake_init(s->handshake, &hc);
	return s;
}

void
rtmp_session_free(struct rtmp_session *s)
{
	if (s == NULL)
		return;
	if (s->handshake != NULL)
		rtmp_handshake_release(s);
	chunk_decoder_free(&s->decoder);
	buf_free(&s->out);
	buf_free(&s->aggregate_copy);
	free(s->app);
	free(s->tc_url);
	free(s->stream);
	free(s->flash_version);
	free(s);
}

/*
 * Until the handshake ends its output is shown where it lies, in the
 * handshake's storage, and nothing else is queued; what is left of it
 * then moves into s->out (feed_handshake).
 */
const uint8_t *
rtmp_session_output(const struct rtmp_session *s, size_t *len)
{
	if (s->handshake != NULL)
		return handshake_output(s->handshake, len);
	*len = s->out.len;
	return buf_data(&s->out);
}

/*
 * Drop n bytes of output.  An emptied buffer is freed unless it grew past
 * RTMP_OUT_KEEP, as a publishing client's does (kept for the next media):
 * a server session's handshake and answers leave it holding nothing.
 */
static size_t
rtmp_output_drop(struct rtmp_session *s, size_t n)
{
	size_t	 len;

	if (s->handshake != NULL) {
		(void)handshake_output(s->handshake, &len);
		if (n > len)
			n = len;
		handshake_output_sent(s->handshake, n);
		return n;
	}
	if (n > s->out.len)
		n = s->out.len;
	buf_consume(&s->out, n);
	if (s->out.len == 0 && s->out.cap <= RTMP_OUT_KEEP)
		buf_free(&s->out);
	return n;
}

void
rtmp_session_sent(struct rtmp_session *s, size_t n)
{
	s->bytes_out += rtmp_output_drop(s, n);
}

void
rtmp_session_output_taken(struct rtmp_session *s, size_t n)
{
	(void)rtmp_output_drop(s, n);
}

void
rtmp_session_count_sent(struct rtmp_session *s, size_t n)
{
	s->bytes_out += n;
}

int
rtmp_session_wants_write(const struct rtmp_session *s)
{
	size_t	 len;

	(void)rtmp_session_output(s, &len);
	return len > 0;
}

uint64_t
rtmp_session_bytes_in(const struct rtmp_session *s)
{
	return s->bytes_in;
}

uint64_t
rtmp_session_bytes_out(const struct rtmp_session *s)
{
	return s->bytes_out;
}

int
rtmp_session_partial(const struct rtmp_session *s)
{
	return !s->handshake_done || s->aggregate_len > 0 ||
	    chunk_decoder_partial(&s->decoder);
}

uint32_t
rtmp_session_stream_id(const struct rtmp_session *s)
{
	return s->stream_id;
}

int
rtmp_session_window_open(const struct rtmp_session *s)
{
	uint32_t	 unacked;

	if (!s->peer_acks || s->peer_bandwidth == 0)
		return 1;
	unacked = (uint32_t)(s->bytes_out + s->out.len) - s->peer_ack;
	return unacked / 2 <= s->peer_bandwidth;
}

/* --- sending ----------------------------------------------------------- */

static int
rtmp_send_message(struct rtmp_session *s, uint32_t csid, uint8_t type, uint32_t stream_id,
    uint32_t timestamp, const uint8_t *payload, size_t len)
{
	struct rtmp_message	 m;
	int			 rc;

	if (len > 0xffffff)
		return RTMP_EINVAL;
	m.chunk_stream_id = csid;
	m.type = type;
	m.stream_id = stream_id;
	m.timestamp = timestamp;
	m.length = (uint32_t)len;
	m.payload = payload;
	rc = chunk_encode_buf(&s->encoder, &m, &s->out);
	return rc < 0 ? rc : 0;
}

static int
rtmp_send_control_u32(struct rtmp_session *s, uint8_t type, uint32_t v)
{
	uint8_t	 b[4];

	bytes_put32(b, v);
	return rtmp_send_message(s, RTMP_CSID_CONTROL, type, 0, 0, b, sizeof(b));
}

static int
rtmp_send_set_chunk_size(struct rtmp_session *s, uint32_t size)
{
	int	 rc;

	if ((rc = rtmp_send_control_u32(s, RTMP_MSG_SET_CHUNK_SIZE, size)) < 0)
		return rc;
	chunk_encoder_set_chunk_size(&s->encoder, size);
	return 0;
}

static int
rtmp_send_peer_bandwidth(struct rtmp_session *s, uint32_t window, uint8_t limit_type)
{
	uint8_t	 b[5];

	bytes_put32(b, window);
	b[4] = limit_type;
	return rtmp_send_message(s, RTMP_CSID_CONTROL, RTMP_MSG_SET_PEER_BANDWIDTH, 0, 0, b,
	    sizeof(b));
}

static int
rtmp_send_user_control(struct rtmp_session *s, uint16_t event, uint32_t a, int has_b, uint32_t b)
{
	uint8_t	 p[10];

	p[0] = event >> 8;
	p[1] = event;
	bytes_put32(p + 2, a);
	if (has_b)
		bytes_put32(p + 6, b);
	return rtmp_send_message(s, RTMP_CSID_CONTROL, RTMP_MSG_USER_CONTROL, 0, 0, p,
	    has_b ? 10 : 6);
}

static int
rtmp_send_command(struct rtmp_session *s, uint32_t stream_id, const uint8_t *start,
    const uint8_t *end)
{
	if (end == NULL)
		return RTMP_ESPACE;
	return rtmp_send_message(s, RTMP_CSID_COMMAND, RTMP_MSG_COMMAND_AMF0, stream_id, 0, start,
	    (size_t)(end - start));
}

/* An info object: {level, code, description}; the caller closes it. */
static uint8_t *
rtmp_put_status_object(uint8_t *p, uint8_t *end, const char *level, const char *code,
    const char *description)
{
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "level", level);
	p = amf0_put_prop_string(p, end, "code", code);
	p = amf0_put_prop_string(p, end, "description", description);
	return p;
}

static int
rtmp_send_on_status(struct rtmp_session *s, uint32_t stream_id, const char *level,
    const char *code, const char *description)
{
	uint8_t	 b[RTMP_COMMAND_MAX], *end = b + sizeof(b), *p;

	p = amf0_put_cstring(b, end, "onStatus");
	p = amf0_put_number(p, end, 0);
	p = amf0_put_null(p, end);
	p = rtmp_put_status_object(p, end, level, code, description);
	p = amf0_put_object_end(p, end);
	return rtmp_send_command(s, stream_id, b, p);
}

/* name(transaction, null, string) as releaseStream, FCPublish, FCUnpublish use. */
static int
rtmp_send_stream_command(struct rtmp_session *s, const char *name, uint32_t stream_id,
    const char *arg)
{
	uint8_t	 b[RTMP_COMMAND_MAX], *end = b + sizeof(b), *p;

	p = amf0_put_cstring(b, end, name);
	p = amf0_put_number(p, end, s->next_transaction++);
	p = amf0_put_null(p, end);
	if (arg != NULL)
		p = amf0_put_cstring(p, end, arg);
	return rtmp_send_command(s, stream_id, b, p);
}

static int
rtmp_client_send_connect(struct rtmp_session *s)
{
	static const char *const fourccs[] = { "av01", "vp09", "hvc1", "avc1" };
	uint8_t		 b[RTMP_COMMAND_MAX], *end = b + sizeof(b), *p;
	size_t		 i;

	p = amf0_put_cstring(b, end, "connect");
	p = amf0_put_number(p, end, s->next_transaction++);
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "app", s->app);
	if (s->config.publish)
		p = amf0_put_prop_string(p, end, "type", "nonprivate");
	p = amf0_put_prop_string(p, end, "flashVer", s->flash_version);
	p = amf0_put_prop_string(p, end, "tcUrl", s->tc_url);
	if (!s->config.publish) {
		p = amf0_put_prop_boolean(p, end, "fpad", 0);
		p = amf0_put_prop_number(p, end, "capabilities", 15);
		p = amf0_put_prop_number(p, end, "audioCodecs", 4071);
		p = amf0_put_prop_number(p, end, "videoCodecs", 252);
		p = amf0_put_prop_number(p, end, "videoFunction", 1);
	}
	/* Enhanced RTMP: say which FourCC codecs we carry. */
	p = amf0_put_key(p, end, "fourCcList");
	p = amf0_put_strict_array_start(p, end, sizeof(fourccs) / sizeof(fourccs[0]));
	for (i = 0; i < sizeof(fourccs) / sizeof(fourccs[0]); i++)
		p = amf0_put_cstring(p, end, fourccs[i]);
	p = amf0_put_object_end(p, end);
	s->state = CLIENT_CONNECTING;
	return rtmp_send_command(s, 0, b, p);
}

static int
rtmp_client_after_connect(struct rtmp_session *s)
{
	int	 rc;

	if ((rc = rtmp_send_control_u32(s, RTMP_MSG_WINDOW_ACK_SIZE, s->our_window)) < 0 ||
	    (rc = rtmp_send_set_chunk_size(s, s->config.chunk_size)) < 0)
		return rc;
	if (s->config.publish) {
		if ((rc = rtmp_send_stream_command(s, "releaseStream", 0, s->stream)) < 0 ||
		    (rc = rtmp_send_stream_command(s, "FCPublish", 0, s->stream)) < 0)
			return rc;
	}
	s->create_stream_transaction = s->next_transaction;
	s->state = CLIENT_CREATING;
	return rtmp_send_stream_command(s, "createStream", 0, NULL);
}

static int
rtmp_client_start_stream(struct rtmp_session *s)
{
	uint8_t	 b[RTMP_COMMAND_MAX], *end = b + sizeof(b), *p;
	int	 rc;

	s->state = CLIENT_STARTING;
	p = amf0_put_cstring(b, end, s->config.publish ? "publish" : "play");
	p = amf0_put_number(p, end, s->next_transaction++);
	p = amf0_put_null(p, end);
	p = amf0_put_cstring(p, end, s->stream);
	if (s->config.publish)
		p = amf0_put_cstring(p, end, "live");
	else
		p = amf0_put_number(p, end, s->config.play_start);
	if ((rc = rtmp_send_command(s, s->stream_id, b, p)) < 0)
		return rc;
	if (!s->config.publish)
		return rtmp_send_user_control(s, UC_SET_BUFFER_LENGTH, s->stream_id, 1,
		    s->config.buffer_ms);
	return 0;
}

int
rtmp_session_send_media(struct rtmp_session *s, uint8_t type, uint32_t timestamp,
    const uint8_t *payload, size_t len)
{
	uint32_t	 stream, csid;

	if (s->config.role == RTMP_ROLE_CLIENT) {
		if (s->state != CLIENT_READY || !s->config.publish)
			return RTMP_ESTATE;
		stream = s->stream_id;
	} else {
		if (s->play_stream == 0)
			return RTMP_ESTATE;
		stream = s->play_stream;
	}
	switch (type) {
	case RTMP_MSG_AUDIO:
		csid = RTMP_CSID_AUDIO;
		break;
	case RTMP_MSG_VIDEO:
		csid = RTMP_CSID_VIDEO;
		break;
	case RTMP_MSG_DATA_AMF0:
	case RTMP_MSG_DATA_AMF3:
		csid = RTMP_CSID_DATA;
		break;
	default:
		return RTMP_EINVAL;
	}
	return rtmp_send_message(s, csid, type, stream, timestamp, payload, len);
}

int
rtmp_session_send_metadata(struct rtmp_session *s, uint32_t timestamp,
    const uint8_t *payload, size_t len)
{
	static const uint8_t set_data_frame[16] = {
		AMF0_STRING, 0, 13, '@', 's', 'e', 't', 'D', 'a', 't', 'a',
		'F', 'r', 'a', 'm', 'e'
	};
	uint8_t		*b;
	int		 rc;

	if (rtmp_data_frame_offset(payload, len) > 0)
		return rtmp_session_send_media(s, RTMP_MSG_DATA_AMF0, timestamp, payload, len);
	if (len > 0xffffff - sizeof(set_data_frame))
		return RTMP_EINVAL;
	if ((b = malloc(sizeof(set_data_frame) + len)) == NULL)
		return RTMP_ENOMEM;
	memcpy(b, set_data_frame, sizeof(set_data_frame));
	memcpy(b + sizeof(set_data_frame), payload, len);
	rc = rtmp_session_send_media(s, RTMP_MSG_DATA_AMF0, timestamp, b,
	    sizeof(set_data_frame) + len);
	free(b);
	return rc;
}

int
rtmp_session_close_stream(struct rtmp_session *s)
{
	uint8_t	 b[64], *end = b + sizeof(b), *p;
	int	 rc;

	if (s->config.role != RTMP_ROLE_CLIENT || s->stream_id == 0)
		return RTMP_ESTATE;
	if (s->config.publish &&
	    (rc = rtmp_send_stream_command(s, "FCUnpublish", 0, s->stream)) < 0)
		return rc;
	p = amf0_put_cstring(b, end, "deleteStream");
	p = amf0_put_number(p, end, s->next_transaction++);
	p = amf0_put_null(p, end);
	p = amf0_put_number(p, end, s->stream_id);
	if ((rc = rtmp_send_command(s, 0, b, p)) < 0)
		return rc;
	s->state = CLIENT_CREATING;
	s->stream_id = 0;
	return 0;
}

/* --- server verdicts ---------------------------------------------------- */

int
rtmp_server_accept_connect(struct rtmp_session *s)
{
	uint8_t	 b[RTMP_COMMAND_MAX], *end = b + sizeof(b), *p;
	int	 rc;

	if (s->config.role != RTMP_ROLE_SERVER || s->pending != PENDING_CONNECT)
		return RTMP_ESTATE;
	s->pending = PENDING_NONE;
	if ((rc = rtmp_send_control_u32(s, RTMP_MSG_WINDOW_ACK_SIZE, s->our_window)) < 0 ||
	    (rc = rtmp_send_peer_bandwidth(s, s->our_window, 2)) < 0 ||
	    (rc = rtmp_send_set_chunk_size(s, s->config.chunk_size)) < 0)
		return rc;
	p = amf0_put_cstring(b, end, "_result");
	p = amf0_put_number(p, end, s->pending_transaction);
	p = amf0_put_object_start(p, end);
	p = amf0_put_prop_string(p, end, "fmsVer", "FMS/3,0,1,123");
	p = amf0_put_prop_number(p, end, "capabilities", 31);
	p = amf0_put_object_end(p, end);
	p = rtmp_put_status_object(p, end, "status", "NetConnection.Connect.Success",
	    "Connection succeeded.");
	p = amf0_put_prop_number(p, end, "objectEncoding", 0);
	p = amf0_put_object_end(p, end);
	if ((rc = rtmp_send_command(s, 0, b, p)) < 0)
		return rc;
	s->connected = 1;
	return 0;
}

int
rtmp_server_accept_publish(struct rtmp_session *s)
{
	if (s->config.role != RTMP_ROLE_SERVER || s->pending != PENDING_PUBLISH)
		return RTMP_ESTATE;
	s->pending = PENDING_NONE;
	s->publish_stream = s->pending_stream;
	return rtmp_send_on_status(s, s->publish_stream, "status", "NetStream.Publish.Start",
	    "Start publishing");
}

int
rtmp_server_accept_play(struct rtmp_session *s)
{
	static const uint8_t sample_access[] = {
		AMF0_STRING, 0, 17, '|', 'R', 't', 'm', 'p', 'S', 'a', 'm', 'p', 'l',
		'e', 'A', 'c', 'c', 'e', 's', 's', AMF0_BOOLEAN, 1, AMF0_BOOLEAN, 1
	};
	uint32_t	 id;
	int		 rc;

	if (s->config.role != RTMP_ROLE_SERVER || s->pending != PENDING_PLAY)
		return RTMP_ESTATE;
	s->pending = PENDING_NONE;
	id = s->pending_stream;
	if ((rc = rtmp_send_user_control(s, UC_STREAM_BEGIN, id, 0, 0)) < 0 ||
	    (rc = rtmp_send_on_status(s, id, "status", "NetStream.Play.Reset",
	    "Playing and resetting stream.")) < 0 ||
	    (rc = rtmp_send_on_status(s, id, "status", "NetStream.Play.Start",
	    "Started playing stream.")) < 0 ||
	    (rc = rtmp_send_message(s, RTMP_CSID_DATA, RTMP_MSG_DATA_AMF0, id, 0, sample_access,
	    sizeof(sample_access))) < 0)
		return rc;
	s->play_stream = id;
	return 0;
}

int
rtmp_server_reject(struct rtmp_session *s, const char *description)
{
	uint8_t		 b[RTMP_COMMAND_MAX], *end = b + sizeof(b), *p;
	enum server_pending pending = s->pending;

	if (s->config.role != RTMP_ROLE_SERVER || pending == PENDING_NONE)
		return RTMP_ESTATE;
	s->pending = PENDING_NONE;
	switch (pending) {
	case PENDING_CONNECT:
		p = amf0_put_cstring(b, end, "_error");
		p = amf0_put_number(p, end, s->pending_transaction);
		p = amf0_put_null(p, end);
		p = rtmp_put_status_object(p, end, "error", "NetConnection.Connect.Rejected",
		    description);
		p = amf0_put_object_end(p, end);
		return rtmp_send_command(s, 0, b, p);
	case PENDING_PUBLISH:
		return rtmp_send_on_status(s, s->pending_stream, "error",
		    "NetStream.Publish.BadName", description);
	case PENDING_PLAY:
		return rtmp_send_on_status(s, s->pending_stream, "error",
		    "NetStream.Play.StreamNotFound", description);
	default:
		return RTMP_ESTATE;
	}
}

int
rtmp_server_publish_status(struct rtmp_session *s, const char *level, const char *code,
    const char *description)
{
	if (s->config.role != RTMP_ROLE_SERVER || s->publish_stream == 0)
		return RTMP_ESTATE;
	return rtmp_send_on_status(s, s->publish_stream, level, code, description);
}

int
rtmp_server_end_play(struct rtmp_session *s)
{
	int	 rc;

	if (s->config.role != RTMP_ROLE_SERVER || s->play_stream == 0)
		return RTMP_ESTATE;
	if ((rc = rtmp_send_user_control(s, UC_STREAM_EOF, s->play_stream, 0, 0)) < 0)
		return rc;
	return rtmp_send_on_status(s, s->play_stream, "status",
	    "NetStream.Play.UnpublishNotify", "Stream ended.");
}

/* --- receiving ---------------------------------------------------------- */

int
rtmp_status_error(const struct rtmp_event *ev)
{
	if (amf0_view_eq(ev->code, "NetStream.Play.StreamNotFound"))
		return RTMP_ENOTFOUND;
	return RTMP_EREFUSED;
}

size_t
rtmp_data_frame_offset(const uint8_t *payload, size_t len)
{
	if (len >= 16 && payload[0] == AMF0_STRING && payload[1] == 0 &&
	    payload[2] == 13 && memcmp(payload + 3, "@setDataFrame", 13) == 0)
		return 16;
	return 0;
}

static int
rtmp_handle_control(struct rtmp_session *s, const struct rtmp_message *m, struct rtmp_event *ev)
{
	const uint8_t	*p = m->payload;
	uint32_t	 v;
	uint16_t	 event;
	int		 rc;

	/* Short control messages are ignored, as real stacks do (SRS #730). */
	switch (m->type) {
	case RTMP_MSG_SET_CHUNK_SIZE:
		if (m->length < 4)
			return 0;
		return chunk_decoder_set_chunk_size(&s->decoder, bytes_get32(p));
	case RTMP_MSG_ABORT:
		if (m->length >= 4)
			chunk_decoder_abort(&s->decoder, bytes_get32(p));
		return 0;
	case RTMP_MSG_ACK:
		/* An ack for bytes we never sent would shut the window for good. */
		if (m->length >= 4 &&
		    (uint32_t)((uint32_t)s->bytes_out - bytes_get32(p)) < 0x80000000u) {
			s->peer_ack = bytes_get32(p);
			s->peer_acks = 1;
		}
		return 0;
	case RTMP_MSG_WINDOW_ACK_SIZE:
		if (m->length >= 4)
			s->peer_window = bytes_get32(p);
		return 0;
	case RTMP_MSG_SET_PEER_BANDWIDTH:
		if (m->length < 5)
			return 0;
		v = bytes_get32(p);
		/* Limit type 1 (soft) only ever lowers the window. */
		if (p[4] == 1 && s->peer_bandwidth != 0 && v > s->peer_bandwidth)
			return 0;
		s->peer_bandwidth = v;
		if (v != s->our_window && v != 0) {
			s->our_window = v;
			return rtmp_send_control_u32(s, RTMP_MSG_WINDOW_ACK_SIZE, v);
		}
		return 0;
	case RTMP_MSG_USER_CONTROL:
		if (m->length < 6)
			return 0;
		event = (uint16_t)(p[0] << 8 | p[1]);
		v = bytes_get32(p + 2);
		switch (event) {
		case UC_PING_REQUEST:
			rc = rtmp_send_user_control(s, UC_PING_RESPONSE, v, 0, 0);
			return rc;
		case UC_STREAM_BEGIN:
			ev->stream_id = v;
			return RTMP_EVENT_STREAM_BEGIN;
		case UC_STREAM_EOF:
			ev->stream_id = v;
			return RTMP_EVENT_STREAM_EOF;
		case UC_STREAM_IS_RECORDED:
			ev->stream_id = v;
			return RTMP_EVENT_STREAM_RECORDED;
		default:
			return 0;
		}
	}
	return 0;
}

static void
rtmp_status_fields(struct rtmp_session *s, int info, struct rtmp_event *ev)
{
	struct amf0_value	*v = rtmp_values;
	size_t			 n = s->nvalues;
	struct amf0_view	 level;

	if (info < 0 || (v[info].type != AMF0_OBJECT && v[info].type != AMF0_ECMA_ARRAY))
		return;
	amf0_get_string(v, n, amf0_find(v, n, info, "code"), &ev->code);
	amf0_get_string(v, n, amf0_find(v, n, info, "description"), &ev->description);
	if (amf0_get_string(v, n, amf0_find(v, n, info, "level"), &level)) {
		ev->level = level;
		if (amf0_view_eq(level, "error"))
			ev->error = 1;
	}
}

static int
rtmp_client_command(struct rtmp_session *s, const struct rtmp_message *m, struct rtmp_event *ev)
{
	struct amf0_value	*v = rtmp_values;
	size_t			 n = s->nvalues;
	double			 id;
	int			 rc;

	if (amf0_view_eq(ev->name, "_result") || amf0_view_eq(ev->name, "_error")) {
		int	 is_error = amf0_view_eq(ev->name, "_error");

		if (s->state == CLIENT_CONNECTING && ev->transaction_id == 1) {
			if (is_error) {
				rtmp_status_fields(s, amf0_top(v, n, 3), ev);
				ev->error = 1;
				return RTMP_EVENT_STATUS;
			}
			if ((rc = rtmp_client_after_connect(s)) < 0)
				return rc;
			return RTMP_EVENT_CONNECTED;
		}
		if (s->state == CLIENT_CREATING &&
		    ev->transaction_id == s->create_stream_transaction) {
			if (is_error || !amf0_get_number(v, n, amf0_top(v, n, 3), &id) ||
			    !(id >= 1 && id <= 0xffffff)) {
				rtmp_status_fields(s, amf0_top(v, n, 3), ev);
				ev->error = 1;
				return RTMP_EVENT_STATUS;
			}
			s->stream_id = (uint32_t)id;
			if ((rc = rtmp_client_start_stream(s)) < 0)
				return rc;
			return 0;
		}
		/* Answers to releaseStream, FCPublish and the like. */
		return 0;
	}
	if (amf0_view_eq(ev->name, "onStatus")) {
		rtmp_status_fields(s, amf0_top(v, n, 3), ev);
		ev->stream_id = m->stream_id;
		if (ev->error)
			return RTMP_EVENT_STATUS;
		if (s->state == CLIENT_STARTING &&
		    amf0_view_eq(ev->code, s->config.publish ?
		    "NetStream.Publish.Start" : "NetStream.Play.Start")) {
			s->state = CLIENT_READY;
			return RTMP_EVENT_READY;
		}
		if (amf0_view_eq(ev->code, "NetStream.Play.Stop") ||
		    amf0_view_eq(ev->code, "NetStream.Play.Complete") ||
		    amf0_view_eq(ev->code, "NetStream.Play.UnpublishNotify"))
			return RTMP_EVENT_STREAM_EOF;
		return RTMP_EVENT_STATUS;
	}
	if (amf0_view_eq(ev->name, "close"))
		return RTMP_EVENT_CLOSE;
	ev->values = v;
	ev->nvalues = n;
	return RTMP_EVENT_COMMAND;
}

static int
rtmp_server_command(struct rtmp_session *s, const struct rtmp_message *m, struct rtmp_event *ev)
{
	struct amf0_value	*v = rtmp_values;
	size_t			 n = s->nvalues;
	uint8_t			 b[256], *end = b + sizeof(b), *p;
	double			 id;
	int			 obj;

	if (amf0_view_eq(ev->name, "connect")) {
		if (s->connected || s->pending != PENDING_NONE)
			return RTMP_EPROTO;
		obj = amf0_top(v, n, 2);
		if (obj < 0 || v[obj].type != AMF0_OBJECT)
			return RTMP_EPROTO;
		amf0_get_string(v, n, amf0_find(v, n, obj, "app"), &ev->app);
		amf0_get_string(v, n, amf0_find(v, n, obj, "tcUrl"), &ev->tc_url);
		s->pending = PENDING_CONNECT;
		s->pending_transaction = ev->transaction_id;
		return RTMP_EVENT_CONNECT;
	}
	if (!s->connected) {
		/* Commands before connect: nothing to answer them with. */
		return RTMP_EPROTO;
	}
	if (amf0_view_eq(ev->name, "createStream")) {
		if (s->streams_created >= RTMP_MAX_STREAMS)
			return RTMP_ELIMIT;
		s->streams_created++;
		p = amf0_put_cstring(b, end, "_result");
		p = amf0_put_number(p, end, ev->transaction_id);
		p = amf0_put_null(p, end);
		p = amf0_put_number(p, end, s->streams_created);
		return rtmp_send_command(s, 0, b, p);
	}
	if (amf0_view_eq(ev->name, "publish") || amf0_view_eq(ev->name, "play")) {
		int	 publish = amf0_view_eq(ev->name, "publish");

		if (s->pending != PENDING_NONE || s->publish_stream != 0 || s->play_stream != 0)
			return RTMP_EPROTO;
		/* Stream 0 is the connection itself, and 0 means "none" here. */
		if (m->stream_id == 0 || m->stream_id > s->streams_created)
			return RTMP_EPROTO;
		if (!amf0_get_string(v, n, amf0_top(v, n, 3), &ev->stream))
			return RTMP_EPROTO;
		ev->stream_id = m->stream_id;
		s->pending_stream = m->stream_id;
		s->pending_transaction = ev->transaction_id;
		if (publish) {
			if (!amf0_get_string(v, n, amf0_top(v, n, 4), &ev->publish_type))
				ev->publish_type = (struct amf0_view){ (const uint8_t *)"live", 4 };
			s->pending = PENDING_PUBLISH;
			return RTMP_EVENT_PUBLISH;
		}
		ev->start = -2;
		amf0_get_number(v, n, amf0_top(v, n, 4), &ev->start);
		s->pending = PENDING_PLAY;
		return RTMP_EVENT_PLAY;
	}
	if (amf0_view_eq(ev->name, "FCUnpublish") || amf0_view_eq(ev->name, "deleteStream") ||
	    amf0_view_eq(ev->name, "closeStream")) {
		id = m->stream_id;
		if (amf0_view_eq(ev->name, "deleteStream"))
			amf0_get_number(v, n, amf0_top(v, n, 3), &id);
		if (s->publish_stream != 0 && (amf0_view_eq(ev->name, "FCUnpublish") ||
		    id == s->publish_stream)) {
			ev->stream_id = s->publish_stream;
			s->publish_stream = 0;
			return RTMP_EVENT_UNPUBLISH;
		}
		if (s->play_stream != 0 && id == s->play_stream) {
			ev->stream_id = s->play_stream;
			s->play_stream = 0;
			return RTMP_EVENT_PLAY_STOP;
		}
		return 0;
	}
	if (amf0_view_eq(ev->name, "FCPublish")) {
		/* FMS answers it, and some encoders wait for the answer. */
		p = amf0_put_cstring(b, end, "onFCPublish");
		p = amf0_put_number(p, end, 0);
		p = amf0_put_null(p, end);
		p = rtmp_put_status_object(p, end, "status", "NetStream.Publish.Start",
		    "FCPublish");
		p = amf0_put_object_end(p, end);
		return rtmp_send_command(s, 0, b, p);
	}
	if (amf0_view_eq(ev->name, "releaseStream") ||
	    amf0_view_eq(ev->name, "getStreamLength") || amf0_view_eq(ev->name, "FCSubscribe") ||
	    amf0_view_eq(ev->name, "_checkbw") || amf0_view_eq(ev->name, "_result"))
		return 0;	/* nginx-rtmp answers none of these, and clients do not wait */
	ev->values = v;
	ev->nvalues = n;
	return RTMP_EVENT_COMMAND;
}

static int
rtmp_handle_command(struct rtmp_session *s, const struct rtmp_message *m, struct rtmp_event *ev)
{
	const uint8_t	*p = m->payload;
	size_t		 len = m->length;
	int		 rc;

	if (m->type == RTMP_MSG_COMMAND_AMF3) {
		/* An AMF3 command starts with a format byte, then AMF0. */
		if (len < 1)
			return RTMP_EPROTO;
		p++;
		len--;
	}
	s->nvalues = RTMP_MAX_VALUES;
	rc = amf0_decode(p, len, rtmp_values, &s->nvalues, s->config.amf_max_depth);
	if (rc < 0)
		return rc;
	if (!amf0_get_string(rtmp_values, s->nvalues, amf0_top(rtmp_values, s->nvalues, 0),
	    &ev->name))
		return RTMP_EPROTO;
	amf0_get_number(rtmp_values, s->nvalues, amf0_top(rtmp_values, s->nvalues, 1),
	    &ev->transaction_id);
	ev->stream_id = m->stream_id;
	if (s->config.role == RTMP_ROLE_CLIENT)
		return rtmp_client_command(s, m, ev);
	return rtmp_server_command(s, m, ev);
}

static int
rtmp_media_allowed(const struct rtmp_session *s, const struct rtmp_message *m)
{
	if (s->config.role == RTMP_ROLE_SERVER)
		return s->publish_stream != 0 && m->stream_id == s->publish_stream;
	return s->state >= CLIENT_STARTING;
}

/* The next sub-message of an aggregate, or 0 when it is used up. */
static int
rtmp_next_aggregate(struct rtmp_session *s, struct rtmp_event *ev)
{
	const uint8_t	*p = s->aggregate;
	uint32_t	 size, ts;

	while (s->aggregate_len > 0) {
		if (s->aggregate_len < 11 ||
		    (size = (uint32_t)p[1] << 16 | p[2] << 8 | p[3]) > s->aggregate_len - 11 ||
		    s->aggregate_len - 11 - size < 4) {
			s->aggregate_len = 0;	/* runs past its end: drop the rest */
			break;
		}
		ts = (uint32_t)p[4] << 16 | p[5] << 8 | p[6] | (uint32_t)p[7] << 24;
		if (s->aggregate_first) {
			s->aggregate_delta -= ts;
			s->aggregate_first = 0;
		}
		s->aggregate = p + 11 + size + 4;
		s->aggregate_len -= 11 + size + 4;
		if (p[0] != RTMP_MSG_AUDIO && p[0] != RTMP_MSG_VIDEO &&
		    p[0] != RTMP_MSG_DATA_AMF0) {
			p = s->aggregate;
			continue;
		}
		memset(ev, 0, sizeof(*ev));
		ev->type = RTMP_EVENT_MEDIA;
		ev->message_type = p[0];
		ev->stream_id = s->aggregate_stream;
		ev->timestamp = ts + s->aggregate_delta;
		ev->payload = p + 11;
		ev->length = size;
		return RTMP_EVENT_MEDIA;
	}
	return 0;
}

static int
rtmp_handle_message(struct rtmp_session *s, const struct rtmp_message *m, struct rtmp_event *ev)
{
	switch (m->type) {
	case RTMP_MSG_SET_CHUNK_SIZE:
	case RTMP_MSG_ABORT:
	case RTMP_MSG_ACK:
	case RTMP_MSG_WINDOW_ACK_SIZE:
	case RTMP_MSG_SET_PEER_BANDWIDTH:
	case RTMP_MSG_USER_CONTROL:
		return rtmp_handle_control(s, m, ev);
	case RTMP_MSG_COMMAND_AMF0:
	case RTMP_MSG_COMMAND_AMF3:
		return rtmp_handle_command(s, m, ev);
	case RTMP_MSG_AUDIO:
	case RTMP_MSG_VIDEO:
	case RTMP_MSG_DATA_AMF0:
	case RTMP_MSG_DATA_AMF3:
		if (!rtmp_media_allowed(s, m) || m->length == 0)
			return 0;	/* media before publish or play: dropped */
		ev->message_type = m->type;
		ev->stream_id = m->stream_id;
		ev->timestamp = m->timestamp;
		ev->payload = m->payload;
		ev->length = m->length;
		return RTMP_EVENT_MEDIA;
	case RTMP_MSG_AGGREGATE:
		if (!rtmp_media_allowed(s, m))
			return 0;
		buf_consume(&s->aggregate_copy, s->aggregate_copy.len);
		if (buf_append(&s->aggregate_copy, m->payload, m->length) < 0)
			return RTMP_ENOMEM;
		s->aggregate = buf_data(&s->aggregate_copy);
		s->aggregate_len = m->length;
		s->aggregate_delta = m->timestamp;
		s->aggregate_stream = m->stream_id;
		s->aggregate_first = 1;
		return rtmp_next_aggregate(s, ev);
	default:
		return 0;	/* shared objects and unknown types: ignored */
	}
}

static int
rtmp_maybe_acknowledge(struct rtmp_session *s)
{
	uint64_t	 step;

	if (s->peer_window == 0)
		return 0;
	step = s->peer_window / 2;
	if (step < RTMP_ACK_FLOOR)
		step = RTMP_ACK_FLOOR;
	if (s->bytes_in - s->acked_in < step)
		return 0;
	s->acked_in = s->bytes_in;
	return rtmp_send_control_u32(s, RTMP_MSG_ACK, (uint32_t)s->bytes_in);
}

static int
rtmp_pull_handshake_output(struct rtmp_session *s)
{
	const uint8_t	*out;
	size_t		 n;
	int		 rc;

	out = handshake_output(s->handshake, &n);
	if (n == 0)
		return 0;
	if ((rc = buf_append(&s->out, out, n)) < 0)
		return rc;
	handshake_output_sent(s->handshake, n);
	return 0;
}

static int
rtmp_feed_handshake(struct rtmp_session *s, const uint8_t *in, size_t len, size_t *consumed)
{
	int		 rc;

	rc = handshake_feed(s->handshake, in, len, consumed);
	s->bytes_in += *consumed;
	if (rc != HANDSHAKE_DONE)
		return rc;
	/* A client's C2 not written yet goes first in s->out. */
	if ((rc = rtmp_pull_handshake_output(s)) < 0)
		return rc;
	s->handshake_done = 1;
	rtmp_handshake_release(s);
	if (s->config.role == RTMP_ROLE_CLIENT && (rc = rtmp_client_send_connect(s)) < 0)
		return rc;
	return RTMP_EVENT_HANDSHAKE_DONE;
}

int
rtmp_session_feed(struct rtmp_session *s, const uint8_t *in, size_t len, uint64_t now_ms,
    size_t *consumed, struct rtmp_event *ev)
{
	struct rtmp_message	 m;
	size_t			 used = 0, n;
	int			 rc, decoded;

	memset(ev, 0, sizeof(*ev));
	*consumed = 0;
	if (len > 0)
		s->last_input_ms = now_ms;
	if (s->aggregate_len > 0 && (rc = rtmp_next_aggregate(s, ev)) != 0)
		return rc;
	if (!s->handshake_done) {
		rc = rtmp_feed_handshake(s, in, len, consumed);
		ev->type = rc > 0 ? rc : 0;
		return rc;
	}
	for (;;) {
		decoded = chunk_decoder_feed(&s->decoder, in + used, len - used, &n, &m);
		used += n;
		s->bytes_in += n;
		*consumed = used;
		if (decoded < 0)
			return decoded;
		if ((rc = rtmp_maybe_acknowledge(s)) < 0)
			return rc;
		if (decoded == CHUNK_NEED_MORE)
			return RTMP_EVENT_NONE;
		if ((rc = rtmp_handle_message(s, &m, ev)) != 0) {
			if (rc > 0)
				ev->type = rc;
			return rc;
		}
	}
}
