/*
 * upstream.c: one restreaming destination.
 * See upstream.h for the contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "client.h"
#include "error.h"
#include "flv.h"
#include "loop.h"
#include "media.h"
#include "metrics.h"
#include "server.h"
#include "upstream.h"

struct upstream {
	struct loop		*loop;
	struct upstream_config	 config;
	struct url		 url;
	struct upstream_events	 events;
	void			*arg;
	char			 name[1600];
	struct client		*client;
	struct client		*dead;		/* closed client, freed from the loop */
	struct backoff		 backoff;
	uint64_t		 retry_timer, reap_timer;
	int			 publishing;
	int			 wait_keyframe;
	int			 finishing, finished;
	uint32_t		 last_ts;	/* of the latest audio or video offered */
	struct media		*metadata, *video_header, *audio_header;
	struct upstream_stats	 stats;
};

static void	upstream_connect(struct upstream *);

const char *
upstream_name(const struct upstream *u)
{
	return u->name;
}

void
upstream_stats(const struct upstream *u, struct upstream_stats *s)
{
	*s = u->stats;
	s->publishing = u->publishing;
	s->bytes_out = u->client != NULL ? client_bytes_out(u->client) : 0;
}

struct upstream *
upstream_new(struct loop *loop, const struct upstream_config *config,
    const struct upstream_events *events, void *arg)
{
	struct upstream	*u;
	int		 v6;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->loop = loop;
	u->config = *config;
	u->url = *config->url;
	u->config.url = &u->url;
	if (u->config.timeout_ms == 0)
		u->config.timeout_ms = 10000;
	u->events = *events;
	u->arg = arg;
	/* Platforms take the stream key as the stream name: never in a log line. */
	v6 = strchr(u->url.host, ':') != NULL;
	snprintf(u->name, sizeof(u->name), "%s://%s%s%s:%u/%s", u->url.tls ? "rtmps" : "rtmp",
	    v6 ? "[" : "", u->url.host, v6 ? "]" : "", u->url.port, u->url.app);
	backoff_init(&u->backoff, u->config.attempts < 0 ? 0x7fffffff : u->config.attempts);
	return u;
}

static void
upstream_cancel(struct upstream *u, uint64_t *timer)
{
	if (*timer != 0) {
		loop_timer_cancel(u->loop, *timer);
		*timer = 0;
	}
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	upstream_cancel(u, &u->retry_timer);
	upstream_cancel(u, &u->reap_timer);
	client_free(u->client);
	client_free(u->dead);
	media_unref(u->metadata);
	media_unref(u->video_header);
	media_unref(u->audio_header);
	free(u);
}

static uint64_t
upstream_retry_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct upstream	*u = arg;

	(void)loop;
	(void)id;
	u->retry_timer = 0;
	upstream_connect(u);
	return LOOP_TIMER_STOP;
}

/* A closed client is freed from the loop, never inside its own callback. */
static uint64_t
upstream_reap(struct loop *loop, uint64_t id, void *arg)
{
	struct upstream	*u = arg;

	(void)loop;
	(void)id;
	u->reap_timer = 0;
	client_free(u->dead);
	u->dead = NULL;
	return LOOP_TIMER_STOP;
}

static void
upstream_bury(struct upstream *u)
{
	client_free(u->dead);
	u->dead = u->client;
	u->client = NULL;
	if (u->reap_timer == 0)
		u->reap_timer = loop_timer(u->loop, 0, upstream_reap, u);
}

static void
upstream_down(struct upstream *u, int error, const char *reason)
{
	int64_t	 delay;

	u->publishing = 0;
	if (u->finishing) {
		if (!u->finished) {
			u->finished = 1;
			if (u->events.finished != NULL)
				u->events.finished(u, u->arg);
		}
		return;
	}
	delay = backoff_next(&u->backoff);
	if (delay >= 0)
		u->retry_timer = loop_timer(u->loop, (uint64_t)delay, upstream_retry_fire, u);
	if (u->events.down != NULL)
		u->events.down(u, error, reason, delay, u->arg);
}

static void
upstream_send(struct upstream *u, uint8_t type, uint32_t ts, const uint8_t *p, size_t len)
{
	int	 rc;

	if (type == RTMP_MSG_DATA_AMF0)
		rc = client_send_metadata(u->client, ts, p, len);
	else
		rc = client_send_media(u->client, type, ts, p, len);
	if (rc == 0)
		u->stats.sent++;
}

static void
upstream_on_ready(struct client *c, void *arg)
{
	struct upstream	*u = arg;
	struct media	*start[3] = { u->metadata, u->video_header, u->audio_header };
	size_t		 i;

	(void)c;
	u->publishing = 1;
	u->stats.connects++;
	/*
	 * Stamped now, not when they first came: a destination's clock (a
	 * recorder's -d, say) would otherwise see the whole stream so far
	 * pass between the headers and the first frame.
	 */
	for (i = 0; i < 3; i++)
		if (start[i] != NULL)
			upstream_send(u, start[i]->type, u->last_ts, start[i]->data,
			    start[i]->len);
	u->wait_keyframe = 1;
	if (u->events.up != NULL)
		u->events.up(u, u->arg);
}

static void
upstream_on_closed(struct client *c, int error, const char *reason, void *arg)
{
	struct upstream	*u = arg;

	(void)c;
	upstream_bury(u);
	upstream_down(u, error, reason);
}

static const struct client_events upstream_client_events = {
	.ready = upstream_on_ready,
	.closed = upstream_on_closed,
};

static void
upstream_connect(struct upstream *u)
{
	struct client_config	 cc;
	int			 rc;

	memset(&cc, 0, sizeof(cc));
	cc.url = &u->url;
	cc.publish = 1;
	cc.tls = u->config.tls;
	cc.timeout_ms = u->config.timeout_ms;
	if ((u->client = client_new(u->loop, &cc, &upstream_client_events, u)) == NULL) {
		upstream_down(u, RTMP_ENOMEM, "out of memory");
		return;
	}
	if ((rc = client_start(u->client)) < 0) {
		upstream_bury(u);
		upstream_down(u, rc, rc == RTMP_ERESOLVE ? "host not found" : rtmp_strerror(rc));
	}
}

void
upstream_start(struct upstream *u)
{
	if (u->client == NULL && u->retry_timer == 0 && !u->finishing)
		upstream_connect(u);
}

static void
upstream_remember(struct media **slot, uint8_t type, uint32_t ts, const uint8_t *p,
    size_t len)
{
	struct media	*m;

	if ((m = media_new(type, ts, p, len)) == NULL)
		return;
	media_unref(*slot);
	*slot = m;
}

void
upstream_message(struct upstream *u, uint8_t type, uint32_t ts, const uint8_t *p,
    size_t len)
{
	struct flv_media_info	 info;
	struct flv_metadata	 md;
	int			 header = 0, keyframe = 0;

	if (len == 0)
		return;
	if (type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO)
		u->last_ts = ts;
	if (type == RTMP_MSG_VIDEO && flv_inspect_video(p, len, &info) == 0) {
		header = info.sequence_header;
		keyframe = info.keyframe && !header && !info.command;
	} else if (type == RTMP_MSG_AUDIO && flv_inspect_audio(p, len, &info) == 0)
		header = info.sequence_header;
	else if (type == RTMP_MSG_DATA_AMF0) {
		/* Only metadata goes out: kept for the next connection too. */
		if (flv_parse_metadata(p, len, &md) != 0)
			return;
		p += md.offset;
		len -= md.offset;
		upstream_remember(&u->metadata, type, ts, p, len);
		header = 1;
	} else if (type != RTMP_MSG_AUDIO && type != RTMP_MSG_VIDEO)
		return;
	if (header && type != RTMP_MSG_DATA_AMF0)
		upstream_remember(type == RTMP_MSG_VIDEO ? &u->video_header : &u->audio_header,
		    type, ts, p, len);
	if (!u->publishing || u->finishing) {
		u->stats.dropped++;
		return;
	}
	/* Configuration always goes out: what follows cannot be decoded without it. */
	if (header) {
		upstream_send(u, type, ts, p, len);
		return;
	}
	if (u->wait_keyframe && !keyframe) {
		u->stats.dropped++;
		return;
	}
	if (!client_can_send(u->client)) {
		/* Behind: skip to the next picture rather than queue. */
		if (!u->wait_keyframe)
			u->stats.skips++;
		u->wait_keyframe = 1;
		u->stats.dropped++;
		return;
	}
	if (keyframe) {
		if (u->wait_keyframe)
			backoff_reset(&u->backoff);
		u->wait_keyframe = 0;
	}
	upstream_send(u, type, ts, p, len);
}

void
upstream_finish(struct upstream *u)
{
	if (u->finishing)
		return;
	u->finishing = 1;
	upstream_cancel(u, &u->retry_timer);
	if (u->client != NULL && u->publishing && client_finish(u->client) == 0)
		return;
	/* Not publishing: nothing to say goodbye on. */
	if (u->client != NULL)
		upstream_bury(u);
	u->publishing = 0;
	u->finished = 1;
	if (u->events.finished != NULL)
		u->events.finished(u, u->arg);
}

/* By position (1 first), as logged: two destinations may share a URL. */
void
upstream_metrics(struct metrics *m, struct upstream *const *up, size_t n)
{
	struct upstream_stats	 us;
	size_t			 i;

	metrics_family(m, "rtmpkit_upstream_publishing", METRICS_GAUGE,
	    "1 while publishing.");
	for (i = 0; i < n; i++) {
		upstream_stats(up[i], &us);
		metrics_sample_upstream(m, i + 1, upstream_name(up[i]), us.publishing);
	}
	metrics_family(m, "rtmpkit_upstream_connects_total", METRICS_COUNTER,
	    "Connections that reached publishing.");
	for (i = 0; i < n; i++) {
		upstream_stats(up[i], &us);
		metrics_sample_upstream(m, i + 1, upstream_name(up[i]), us.connects);
	}
}

int
upstream_json(struct buf *out, struct upstream *const *up, size_t n)
{
	struct upstream_stats	 us;
	char			 line[256];
	size_t			 i;
	int			 rc = 0;

	rc |= buf_append(out, "[", 1);
	for (i = 0; i < n; i++) {
		upstream_stats(up[i], &us);
		rc |= buf_append(out, i > 0 ? ",{\"url\":" : "{\"url\":", i > 0 ? 8 : 7);
		rc |= server_json_string(out, upstream_name(up[i]));
		snprintf(line, sizeof(line), ",\"publishing\":%s,\"connects\":%llu,"
		    "\"sent\":%llu,\"dropped\":%llu,\"skips\":%llu}",
		    us.publishing ? "true" : "false", (unsigned long long)us.connects,
		    (unsigned long long)us.sent, (unsigned long long)us.dropped,
		    (unsigned long long)us.skips);
		rc |= buf_append(out, line, strlen(line));
	}
	rc |= buf_append(out, "]", 1);
	return rc < 0 ? RTMP_ENOMEM : 0;
}
