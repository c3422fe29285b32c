/*
 * flvout.c: an FLV stream to a non-blocking descriptor.  See flvout.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "flv.h"
#include "flvout.h"
#include "loop.h"

#define FLVOUT_HIGH_DEFAULT	(1u << 20)

void
flvout_init(struct flvout *o, struct loop *loop, int fd, size_t high,
    void (*drained)(struct flvout *, void *), void (*fail)(struct flvout *, void *),
    void *arg)
{
	memset(o, 0, sizeof(*o));
	o->loop = loop;
	o->fd = fd;
	o->high = high != 0 ? high : FLVOUT_HIGH_DEFAULT;
	o->drained = drained;
	o->fail = fail;
	o->arg = arg;
	flvwriter_init(&o->writer);
	buf_init(&o->pending, 0);
}

void
flvout_free(struct flvout *o)
{
	if (o->watching)
		loop_remove(o->loop, o->fd);
	o->watching = 0;
	buf_free(&o->pending);
	free(o->sequence[0]);
	free(o->sequence[1]);
	o->sequence[0] = o->sequence[1] = NULL;
}

void
flvout_segment(struct flvout *o)
{
	flvwriter_rebase(&o->writer);
}

static void	flvout_writable(struct loop *, int, int, void *);

static void
flvout_watch(struct flvout *o, int on)
{
	if (on == o->watching)
		return;
	if (on && loop_add(o->loop, o->fd, LOOP_WRITE, flvout_writable, o) < 0)
		return;
	if (!on)
		loop_remove(o->loop, o->fd);
	o->watching = on;
}

int
flvout_flush(struct flvout *o)
{
	ssize_t	 n;

	if (o->failed) {
		errno = o->failed;
		return RTMP_ESYS;
	}
	while (o->pending.len > 0) {
		n = write(o->fd, buf_data(&o->pending), o->pending.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			o->failed = errno;
			buf_consume(&o->pending, o->pending.len);
			flvout_watch(o, 0);
			return RTMP_ESYS;
		}
		o->bytes += (uint64_t)n;
		buf_consume(&o->pending, (size_t)n);
	}
	if (o->pending.len == 0)
		buf_compact(&o->pending);
	flvout_watch(o, o->pending.len > 0);
	return 0;
}

int
flvout_drain(struct flvout *o, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = o->fd, .events = POLLOUT };
	int		 rc, waited = 0;

	while ((rc = flvout_flush(o)) == 0 && o->pending.len > 0 && waited < timeout_ms) {
		if (poll(&pfd, 1, 100) == 0)
			waited += 100;
	}
	if (rc == 0 && o->pending.len > 0) {
		errno = ETIMEDOUT;
		return RTMP_ETIMEOUT;
	}
	return rc;
}

static void
flvout_writable(struct loop *loop, int fd, int events, void *arg)
{
	struct flvout	*o = arg;

	(void)loop;
	(void)fd;
	(void)events;
	if (flvout_flush(o) < 0) {
		if (o->fail != NULL)
			o->fail(o, o->arg);
		return;
	}
	if ((o->full && o->pending.len < o->high / 4) ||
	    (o->notify_empty && o->pending.len == 0)) {
		o->full = 0;
		o->notify_empty = 0;
		if (o->drained != NULL)
			o->drained(o, o->arg);
	}
}

/* 1 if payload is a sequence header equal to the last one of its track. */
static int
flvout_repeated(struct flvout *o, uint8_t type, const uint8_t *p, size_t len)
{
	struct flv_media_info	 m;
	int			 track = type == FLV_TAG_VIDEO;
	uint8_t			*copy;

	if (type != FLV_TAG_AUDIO && type != FLV_TAG_VIDEO)
		return 0;
	if ((type == FLV_TAG_VIDEO ? flv_inspect_video(p, len, &m) :
	    flv_inspect_audio(p, len, &m)) < 0 || !m.sequence_header)
		return 0;
	if (o->sequence[track] != NULL && o->sequence_len[track] == len &&
	    memcmp(o->sequence[track], p, len) == 0)
		return 1;
	/* Out of memory only costs a repeat later. */
	if ((copy = malloc(len)) != NULL) {
		memcpy(copy, p, len);
		free(o->sequence[track]);
		o->sequence[track] = copy;
		o->sequence_len[track] = len;
	}
	return 0;
}

int
flvout_message(struct flvout *o, uint8_t type, uint32_t timestamp,
    const uint8_t *payload, size_t len)
{
	struct flvwriter_tag	 t;
	int			 rc;

	if (o->failed) {
		errno = o->failed;
		return RTMP_ESYS;
	}
	if (flvout_repeated(o, type, payload, len))
		return 0;
	if (flvwriter_tag(&o->writer, type, timestamp, payload, len, &t) == 0)
		return 0;
	if ((rc = buf_append(&o->pending, t.head, t.head_len)) < 0 ||
	    (rc = buf_append(&o->pending, t.payload, t.len)) < 0 ||
	    (rc = buf_append(&o->pending, t.trailer, sizeof(t.trailer))) < 0)
		return rc;
	if (!o->watching && (rc = flvout_flush(o)) < 0)
		return rc;
	if (o->pending.len >= o->high)
		o->full = 1;
	return 0;
}

int
flvout_full(const struct flvout *o)
{
	return o->pending.len >= o->high;
}

size_t
flvout_pending(const struct flvout *o)
{
	return o->pending.len;
}
