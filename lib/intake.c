/*
 * intake.c: a stream-mode client read up to its publish or play, then
 * handed over with its replay (intake.h).
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "handshake.h"
#include "intake.h"
#include "join.h"
#include "loop.h"
#include "peer.h"
#include "rtmp.h"
#include "server.h"
#include "tls.h"

/* What the client sent before its first chunk: C0, C1, C2. */
#define INTAKE_HANDSHAKE_BYTES	(1 + 2 * HANDSHAKE_PACKET_SIZE)
#define INTAKE_WAIT_MS		5

struct intake {
	struct loop		*loop;
	struct peer		*peer;
	struct intake_events	 events;
	void			*arg;
	struct intake_request	 request;
	uint32_t		 chunk_size;
	int			 held;		/* publish/play read, no verdict yet */
	const char		*refusal;	/* why we refused it ourselves, for `closed` */
	uint64_t		 timer;		/* ready once the answers are out */
};

static void
intake_cancel(struct intake *in)
{
	if (in->timer != 0)
		loop_timer_cancel(in->loop, in->timer);
	in->timer = 0;
}

static uint64_t
intake_written(struct loop *loop, uint64_t id, void *arg)
{
	struct intake	*in = arg;

	(void)loop;
	(void)id;
	if (peer_queued(in->peer) > 0)
		return INTAKE_WAIT_MS;
	in->timer = 0;
	in->events.ready(in, &in->request, in->arg);
	return LOOP_TIMER_STOP;
}

static void
intake_event(struct peer *p, const struct rtmp_event *ev, void *arg)
{
	struct intake	*in = arg;
	struct rtmp_session *s = peer_session(p);
	size_t		 n;

	switch (ev->type) {
	case RTMP_EVENT_CONNECT:
		n = ev->app.len;
		/* "live" and "live/" alike: the app, as a name, without a trailing '/'. */
		if (n > 0 && ev->app.ptr[n - 1] == '/')
			n--;
		if (!server_name_valid((const char *)ev->app.ptr, n)) {
			in->refusal = "refused: bad app name";
			rtmp_server_reject(s, "bad app name");
			peer_finish(p, 1000);
			return;
		}
		memcpy(in->request.app, ev->app.ptr, n);
		in->request.app[n] = '\0';
		rtmp_server_accept_connect(s);
		break;
	case RTMP_EVENT_PUBLISH:
	case RTMP_EVENT_PLAY:
		if (in->held)
			break;
		in->request.publish = ev->type == RTMP_EVENT_PUBLISH;
		if (server_stream_split(ev->stream.ptr, ev->stream.len, in->request.stream,
		    sizeof(in->request.stream), in->request.query,
		    sizeof(in->request.query)) < 0) {
			in->refusal = "refused: bad stream name";
			rtmp_server_reject(s, "bad stream name");
			peer_finish(p, 1000);
			return;
		}
		in->held = 1;
		/* What follows is the backend's to read, from the replay. */
		peer_pause_input(p, 1);
		in->timer = loop_timer(in->loop, 0, intake_written, in);
		break;
	default:
		break;
	}
}

static void
intake_timeout(struct peer *p, void *arg)
{
	(void)arg;
	peer_close(p, RTMP_ETIMEOUT, "handshake timeout: no publish or play");
}

static void
intake_closed(struct peer *p, int error, const char *reason, void *arg)
{
	struct intake	*in = arg;

	/* peer.h: the owner frees a peer that closed. */
	peer_free(p);
	in->peer = NULL;
	intake_cancel(in);
	if (error == RTMP_OK && in->refusal != NULL) {
		error = RTMP_EREFUSED;
		reason = in->refusal;
	}
	in->events.closed(in, error, reason, in->arg);
	free(in);
}

static const struct peer_events intake_peer_events = {
	.event = intake_event,
	.timeout = intake_timeout,
	.closed = intake_closed,
};

struct intake *
intake_new(struct loop *loop, int fd, struct tls *tls, const struct intake_config *config,
    const struct intake_events *events, void *arg)
{
	struct peer_config	 pc;
	struct intake		*in;

	if ((in = calloc(1, sizeof(*in))) == NULL) {
		tls_free(tls);
		close(fd);
		return NULL;
	}
	memset(&pc, 0, sizeof(pc));
	rtmp_config_default(&pc.rtmp, RTMP_ROLE_SERVER);
	if (config->chunk_size != 0)
		pc.rtmp.chunk_size = config->chunk_size;
	pc.rtmp.limits.max_message_size = JOIN_REPLAY_MAX;
	pc.read_limit = JOIN_REPLAY_MAX + INTAKE_HANDSHAKE_BYTES;
	pc.record = JOIN_REPLAY_MAX + INTAKE_HANDSHAKE_BYTES;
	in->loop = loop;
	in->events = *events;
	in->arg = arg;
	in->chunk_size = pc.rtmp.chunk_size;
	if ((in->peer = peer_new(loop, fd, tls, &pc, &intake_peer_events, in)) == NULL) {
		free(in);
		return NULL;
	}
	peer_deadline(in->peer, config->deadline_ms != 0 ? config->deadline_ms :
	    INTAKE_DEADLINE_MS);
	return in;
}

void
intake_free(struct intake *in)
{
	if (in == NULL)
		return;
	intake_cancel(in);
	peer_free(in->peer);
	free(in);
}

void
intake_refuse(struct intake *in, const char *description)
{
	rtmp_server_reject(peer_session(in->peer), description);
	peer_finish(in->peer, 1000);
}

int
intake_take(struct intake *in, int *fd, struct tls **tls, struct join **join)
{
	struct buf	 record;
	int		 rc;

	if (!in->held || in->timer != 0)
		return RTMP_ESTATE;
	if ((rc = peer_detach(in->peer, fd, tls, &record)) < 0)
		return rc;
	in->peer = NULL;
	if (record.len < INTAKE_HANDSHAKE_BYTES)
		rc = RTMP_EINVAL;
	else if ((*join = join_new(buf_data(&record) + INTAKE_HANDSHAKE_BYTES,
	    record.len - INTAKE_HANDSHAKE_BYTES, in->chunk_size, &rc)) != NULL)
		rc = 0;
	buf_free(&record);
	if (rc < 0) {
		/* The connection changed hands already: close it here. */
		tls_free(*tls);
		close(*fd);
		*fd = -1;
		*tls = NULL;
		free(in);
		return rc;
	}
	free(in);
	return 0;
}
