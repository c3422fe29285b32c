/*
 * flvcopy.c: a live stream copied as FLV to a descriptor.
 * See flvcopy.h for the contract.
 */
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flv.h"
#include "flvcopy.h"
#include "flvwriter.h"
#include "loop.h"
#include "media.h"
#include "outq.h"

#define FLVCOPY_IOV	64

struct flvcopy {
	struct loop		*loop;
	int			 fd;
	int			 flags;		/* to put back */
	int			 watched;
	int			 failed;
	int			 saved_errno;
	struct outq		 queue;
	struct flvwriter	 writer;
	struct flvcopy_events	 events;
	void			*arg;
};

struct flvcopy *
flvcopy_new(struct loop *loop, int fd, size_t max_bytes, uint32_t max_ms,
    const struct flvcopy_events *events, void *arg)
{
	struct flvcopy	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->fd = fd;
	c->events = *events;
	c->arg = arg;
	if ((c->flags = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, c->flags | O_NONBLOCK);
	outq_init(&c->queue, max_bytes, max_ms, 2 * max_bytes);
	flvwriter_init(&c->writer);
	return c;
}

static void
flvcopy_unwatch(struct flvcopy *c)
{
	if (c->watched)
		loop_remove(c->loop, c->fd);
	c->watched = 0;
}

void
flvcopy_free(struct flvcopy *c)
{
	if (c == NULL)
		return;
	flvcopy_unwatch(c);
	if (c->flags >= 0)
		fcntl(c->fd, F_SETFL, c->flags);
	outq_free(&c->queue);
	free(c);
}

static void
flvcopy_fail(struct flvcopy *c)
{
	c->failed = 1;
	c->saved_errno = errno;
	flvcopy_unwatch(c);
	outq_free(&c->queue);
	if (c->events.failed != NULL) {
		errno = c->saved_errno;
		c->events.failed(c, c->arg);
	}
}

static void
flvcopy_writable(struct loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	flvcopy_flush(arg);
}

void
flvcopy_flush(struct flvcopy *c)
{
	struct iovec	 iov[FLVCOPY_IOV];
	ssize_t		 n;
	int		 cnt;

	while (!c->failed && c->queue.bytes > 0) {
		cnt = outq_iov(&c->queue, iov, FLVCOPY_IOV);
		if ((n = writev(c->fd, iov, cnt)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				flvcopy_fail(c);
				return;
			}
			/* A regular file never says EAGAIN: only pipes and sockets get here. */
			if (!c->watched && loop_add(c->loop, c->fd, LOOP_WRITE,
			    flvcopy_writable, c) == 0)
				c->watched = 1;
			return;
		}
		outq_consume(&c->queue, (size_t)n);
	}
	flvcopy_unwatch(c);
}

void
flvcopy_message(struct flvcopy *c, uint8_t type, uint32_t timestamp,
    const uint8_t *payload, size_t len)
{
	struct flvwriter_tag	 t;
	struct flv_media_info	 info;
	struct media		*m;
	int			 header = 0;

	if (c->failed || !flvwriter_tag(&c->writer, type, timestamp, payload, len, &t))
		return;
	if ((m = media_new(t.type, (uint32_t)t.timestamp, NULL, flvwriter_tag_size(&t))) == NULL)
		return;
	memcpy(m->data, t.head, t.head_len);
	memcpy(m->data + t.head_len, t.payload, t.len);
	memcpy(m->data + t.head_len + t.len, t.trailer, sizeof(t.trailer));
	if (t.type == FLV_TAG_VIDEO && flv_inspect_video(t.payload, t.len, &info) == 0) {
		header = info.sequence_header;
		if (info.keyframe && !header && !info.command)
			m->flags = MEDIA_KEYFRAME;
	} else if (t.type == FLV_TAG_AUDIO && flv_inspect_audio(t.payload, t.len, &info) == 0)
		header = info.sequence_header;
	/* The file header, metadata and decoder configuration are never dropped (type 0). */
	if (header || t.head_len > FLV_TAG_HEADER_SIZE)
		m->type = 0;
	outq_push(&c->queue, m);
	media_unref(m);
}

size_t
flvcopy_queued(const struct flvcopy *c)
{
	return c->queue.bytes;
}

int
flvcopy_failed(const struct flvcopy *c)
{
	return c->failed;
}

uint64_t
flvcopy_skips(const struct flvcopy *c)
{
	return c->queue.skips;
}
