/*
 * rtmp.h: one RTMP connection's protocol session, both roles, without I/O.
 *
 * A session owns the handshake, the chunk decoder and encoder, and a queue
 * of bytes for the peer.  The caller moves bytes; the session decides what
 * they mean and what to answer:
 *
 *	rc = rtmp_session_feed(s, in, len, now_ms, &consumed, &ev);
 *
 * consumes input up to and including the next event and returns its type
 * (RTMP_EVENT_NONE when all input was used and more is needed) or a
 * negative RTMP_E* status, after which the connection must end: the
 * session never tries to recover from a peer's violation.  Call feed again
 * with the unconsumed rest until it returns RTMP_EVENT_NONE.  Views in the
 * event (payload, names) stay valid until the next feed call.
 *
 * Control messages (Set Chunk Size, Abort, Acknowledgement, Window
 * Acknowledgement Size, Set Peer Bandwidth, User Control Ping) are handled
 * inside and never surface.  Acknowledgements are queued as the byte count
 * crosses half the window the peer announced (floored so that a window of
 * 0 or 1 cannot cause a storm); a Set Peer Bandwidth that differs from the
 * window we announced is answered with a Window Acknowledgement Size.
 *
 * Bytes for the peer accumulate in the session's output queue (bounded by
 * config.output_limit, RTMP_ELIMIT past it): rtmp_session_output() shows
 * them, rtmp_session_sent() drops what was written.  rtmp_session_wants()
 * says whether there is anything to write.
 *
 * Client role: after the handshake the session sends connect, then
 * createStream (publish: releaseStream and FCPublish first, as OBS and
 * ffmpeg do), then play or publish, and reports RTMP_EVENT_CONNECTED and
 * RTMP_EVENT_READY on the way.  An _error or an onStatus of level "error"
 * comes out as RTMP_EVENT_STATUS with ev.error set; rtmp_status_error()
 * maps it to RTMP_ENOTFOUND or RTMP_EREFUSED.
 *
 * Server role: connect, publish and play are reported as events and wait
 * for the caller's verdict (rtmp_server_accept_* / rtmp_server_reject);
 * createStream, releaseStream, FCPublish and Ping are answered inside.
 *
 * Aggregate messages (type 22) are split and reported as their sub-messages;
 * a sub-message running past its aggregate ends the aggregate, not the
 * connection.
 */
#ifndef RTMPKIT_RTMP_H
#define RTMPKIT_RTMP_H

#include <stddef.h>
#include <stdint.h>

#include "amf0.h"
#include "buf.h"
#include "chunk.h"
#include "handshake.h"

/*
 * Chunk stream ids.  The session sends its own messages on 2-6 with
 * compressed (type 1/2) headers.  Shared blocks (chunk_encode_block(),
 * outq.h) always start with a type 0 header and use ids the session never
 * uses, so no player reads a block's header against a session message's.
 */
#define RTMP_CSID_CONTROL	2
#define RTMP_CSID_COMMAND	3
#define RTMP_CSID_AUDIO		4
#define RTMP_CSID_DATA		5
#define RTMP_CSID_VIDEO		6
#define RTMP_CSID_BLOCK_DATA	7
#define RTMP_CSID_BLOCK_AUDIO	8
#define RTMP_CSID_BLOCK_VIDEO	9

enum rtmp_role {
	RTMP_ROLE_CLIENT,
	RTMP_ROLE_SERVER,
};

enum rtmp_event_type {
	RTMP_EVENT_NONE = 0,		/* all input used; feed more */
	RTMP_EVENT_HANDSHAKE_DONE,
	RTMP_EVENT_CONNECTED,		/* client: connect answered _result */
	RTMP_EVENT_READY,		/* client: Publish.Start / Play.Start: media may flow */
	RTMP_EVENT_STATUS,		/* onStatus or _error not handled above (ev.code, ev.error) */
	RTMP_EVENT_MEDIA,		/* audio (8), video (9) or AMF0 data (18) message */
	RTMP_EVENT_STREAM_EOF,		/* Stream EOF, Play.Stop/Complete, UnpublishNotify */
	RTMP_EVENT_STREAM_BEGIN,	/* user control Stream Begin */
	RTMP_EVENT_CONNECT,		/* server: connect (ev.app, ev.tc_url); give a verdict */
	RTMP_EVENT_PUBLISH,		/* server: publish (ev.stream, ev.publish_type); give a verdict */
	RTMP_EVENT_PLAY,		/* server: play (ev.stream, ev.start); give a verdict */
	RTMP_EVENT_UNPUBLISH,		/* server: FCUnpublish/deleteStream/closeStream of a published stream */
	RTMP_EVENT_COMMAND,		/* any other command (ev.name, ev.values) */
	RTMP_EVENT_CLOSE,		/* peer asked to close the connection */
	RTMP_EVENT_PLAY_STOP,		/* server: the player closed or deleted its stream */
	RTMP_EVENT_STREAM_RECORDED,	/* user control StreamIsRecorded: not live */
};

struct rtmp_event {
	int		 type;
	uint32_t	 stream_id;
	/* MEDIA */
	uint8_t		 message_type;
	uint32_t	 timestamp;
	uint32_t	 length;
	const uint8_t	*payload;
	/* commands and statuses; views valid until the next feed */
	struct amf0_view name;		/* command name */
	double		 transaction_id;
	struct amf0_view code, level, description;
	int		 error;		/* level "error", or an _error answer */
	struct amf0_view app, tc_url;	/* CONNECT */
	struct amf0_view stream;	/* PUBLISH, PLAY: stream name with any query */
	struct amf0_view publish_type;	/* PUBLISH: live, record, append */
	double		 start;		/* PLAY: start argument (-2 default) */
	const struct amf0_value *values;	/* COMMAND: all decoded values */
	size_t		 nvalues;
};

/*
 * The server role's default output limit: its session queues only its own
 * answers, never media (see "How the servers fit together", lib/README).
 */
#define RTMP_SERVER_OUTPUT_LIMIT	(1u << 20)

struct rtmp_config {
	enum rtmp_role	 role;
	struct chunk_limits limits;
	unsigned	 amf_max_depth;		/* default AMF0_DEFAULT_MAX_DEPTH */
	uint32_t	 chunk_size;		/* what we send; default 4096 */
	uint32_t	 window_ack_size;	/* what we announce; default 2500000 */
	size_t		 output_limit;		/* default 64 MiB; server 1 MiB */
	/* client role */
	int		 publish;		/* 1 publish, 0 play */
	const char	*app;
	const char	*tc_url;
	const char	*stream;
	const char	*flash_version;		/* default per role: FMLE (publish) or LNX (play) */
	double		 play_start;		/* default -2: live, else recorded from the start */
	uint32_t	 buffer_ms;		/* Set Buffer Length sent with play; default 3000 */
	int		 handshake_plain;	/* client: send a plain C1 instead of a digest C1 */
	const uint8_t	*handshake_packet;	/* tests: our C1/S1 template (see handshake.h) */
};

/* Fill c with the defaults above for role; then set what differs. */
void	rtmp_config_default(struct rtmp_config *c, enum rtmp_role role);

struct rtmp_session;

/* NULL when out of memory.  The config's strings are copied. */
struct rtmp_session *rtmp_session_new(const struct rtmp_config *config);
void	 rtmp_session_free(struct rtmp_session *s);

int	 rtmp_session_feed(struct rtmp_session *s, const uint8_t *in, size_t len,
	    uint64_t now_ms, size_t *consumed, struct rtmp_event *ev);
const uint8_t *rtmp_session_output(const struct rtmp_session *s, size_t *len);
void	 rtmp_session_sent(struct rtmp_session *s, size_t n);
/*
 * A connection driver that sends the session's bytes from a queue of its
 * own (peer.h) takes them out with rtmp_session_output_taken(), which does
 * not count them, and counts every byte the socket took, the session's and
 * shared blocks' alike, with rtmp_session_count_sent(), so the bytes the
 * peer acknowledges are measured against what really went out.
 */
void	 rtmp_session_output_taken(struct rtmp_session *s, size_t n);
void	 rtmp_session_count_sent(struct rtmp_session *s, size_t n);
/* 1 when output is queued. */
int	 rtmp_session_wants_write(const struct rtmp_session *s);
/* Bytes the session consumed and queued so far (for progress lines). */
uint64_t rtmp_session_bytes_in(const struct rtmp_session *s);
uint64_t rtmp_session_bytes_out(const struct rtmp_session *s);
/*
 * 0 while the bytes we sent beyond the peer's last Acknowledgement exceed
 * twice the bandwidth it set: a publisher stops queueing media until the
 * peer catches up.  Always 1 if the peer never acknowledges.
 */
int	 rtmp_session_window_open(const struct rtmp_session *s);
/* 1 if the peer's bytes so far end inside the handshake, a header or a message. */
int	 rtmp_session_partial(const struct rtmp_session *s);
/* Message stream id of the play/publish stream (client) once known, else 0. */
uint32_t rtmp_session_stream_id(const struct rtmp_session *s);

/*
 * Queue an audio (8), video (9) or data (18) message on the session's
 * stream.  rtmp_session_send_metadata() takes an FLV script body
 * ("onMetaData" + ECMA array) and sends it as @setDataFrame, the form
 * servers keep and hand to later players.  RTMP_ESTATE before READY or
 * before the server accepted play.
 */
int	 rtmp_session_send_media(struct rtmp_session *s, uint8_t type, uint32_t timestamp,
	    const uint8_t *payload, size_t len);
int	 rtmp_session_send_metadata(struct rtmp_session *s, uint32_t timestamp,
	    const uint8_t *payload, size_t len);
/* Client: FCUnpublish + deleteStream, the polite end of a publish. */
int	 rtmp_session_close_stream(struct rtmp_session *s);

/* Server verdicts on the event just reported. */
int	 rtmp_server_accept_connect(struct rtmp_session *s);
int	 rtmp_server_accept_publish(struct rtmp_session *s);
int	 rtmp_server_accept_play(struct rtmp_session *s);
int	 rtmp_server_reject(struct rtmp_session *s, const char *description);
/*
 * Server: an onStatus on the publisher's stream, say level "error", code
 * "NetStream.Publish.Failed", when the server cannot take its stream any
 * more (ffmpeg prints the description and stops).  RTMP_ESTATE when the
 * peer is not publishing.
 */
int	 rtmp_server_publish_status(struct rtmp_session *s, const char *level,
	    const char *code, const char *description);
/* Server: tell a player the stream ended (Stream EOF + Play.UnpublishNotify). */
int	 rtmp_server_end_play(struct rtmp_session *s);

/* RTMP_ENOTFOUND for StreamNotFound, else RTMP_EREFUSED. */
int	 rtmp_status_error(const struct rtmp_event *ev);
/*
 * Bytes to skip at the start of a data message so that it reads as an FLV
 * script tag: 16 for a leading "@setDataFrame" string, else 0.
 */
size_t	 rtmp_data_frame_offset(const uint8_t *payload, size_t len);

#endif
