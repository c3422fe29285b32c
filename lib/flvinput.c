/*
 * flvinput.c: a live FLV stream read on the loop.
 * See flvinput.h for the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "flvinput.h"
#include "flvreader.h"
#include "listener.h"
#include "loop.h"

struct flvinput {
	struct loop		*loop;
	struct flvinput_events	 events;
	void			*arg;
	char			 name[256];
	int			 fd;
	int			 is_stdin;
	int			 stdin_flags;
	int			 watched;
	uint64_t		 timer;		/* a regular file is read from a timer */
	struct listener		*listener;	/* unix:PATH */
	struct buf		 in;
	struct flvreader	 reader;
	uint64_t		 bytes;
	int			 stopped;
	int			 busy;
};

void
flvinput_stop(struct flvinput *fi)
{
	fi->stopped = 1;
	if (fi->watched)
		loop_remove(fi->loop, fi->fd);
	fi->watched = 0;
	if (fi->timer != 0)
		loop_timer_cancel(fi->loop, fi->timer);
	fi->timer = 0;
	if (fi->listener != NULL)
		listener_pause(fi->listener, 1);
}

static void
flvinput_end(struct flvinput *fi, int error, const char *reason)
{
	if (fi->stopped)
		return;
	flvinput_stop(fi);
	if (fi->events.end != NULL)
		fi->events.end(fi, error, reason, fi->arg);
}

/* Every whole tag in the buffer: 0, or -1 when the input ended. */
static int
flvinput_parse(struct flvinput *fi)
{
	struct flv_tag	 tag;
	int		 rc, got;

	while (!fi->stopped) {
		rc = flvreader_next(&fi->reader, buf_data(&fi->in), fi->in.len, &tag, &got);
		if (rc == 0)
			break;
		if (rc < 0) {
			flvinput_end(fi, rc, rc == RTMP_ELIMIT ? "a tag larger than the limit" :
			    "not FLV, or the stream lost sync");
			return -1;
		}
		if (got && fi->events.tag != NULL)
			fi->events.tag(fi, &tag, fi->arg);
		buf_consume(&fi->in, (size_t)rc);
	}
	buf_compact(&fi->in);
	return fi->stopped ? -1 : 0;
}

static void
flvinput_read(struct flvinput *fi)
{
	uint8_t	*space;
	size_t	 avail;
	ssize_t	 n;
	int	 i;

	for (i = 0; i < FLVINPUT_READS && !fi->stopped; i++) {
		if (buf_reserve(&fi->in, FLVINPUT_READ) < 0) {
			flvinput_end(fi, RTMP_ELIMIT, "input buffer full");
			return;
		}
		space = buf_space(&fi->in, &avail);
		n = read(fi->fd, space, avail);
		if (n > 0) {
			buf_commit(&fi->in, (size_t)n);
			fi->bytes += (uint64_t)n;
			if (flvinput_parse(fi) < 0)
				return;
			continue;
		}
		if (n == 0) {
			if (!fi->reader.header_done)
				flvinput_end(fi, RTMP_EPROTO, "no FLV header before the end");
			else
				flvinput_end(fi, 0, flvreader_truncated(&fi->reader, fi->in.len) ?
				    "end of input, the last tag cut off" : "end of input");
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			flvinput_end(fi, RTMP_ESYS, strerror(errno));
		return;
	}
}

static void
flvinput_readable(struct loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	flvinput_read(arg);
}

static uint64_t
flvinput_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct flvinput	*fi = arg;

	(void)loop;
	(void)id;
	flvinput_read(fi);
	if (fi->stopped || fi->timer == 0) {
		fi->timer = 0;
		return LOOP_TIMER_STOP;
	}
	/* Always readable: the next turn of the loop reads on. */
	return 1;
}

static int
flvinput_watch(struct flvinput *fi, int fd)
{
	fi->fd = fd;
	if (loop_add(fi->loop, fd, LOOP_READ, flvinput_readable, fi) == 0) {
		fi->watched = 1;
		return 0;
	}
	/* epoll refuses regular files (EPERM): they never block anyway. */
	if (errno != EPERM)
		return -1;
	fi->timer = loop_timer(fi->loop, 0, flvinput_fire, fi);
	return fi->timer != 0 ? 0 : -1;
}

static void
flvinput_accept(struct listener *l, int fd, struct tls *tls, const char *address,
    void *arg)
{
	struct flvinput	*fi = arg;

	(void)tls;
	if (fi->fd >= 0 || fi->stopped) {
		close(fd);
		return;
	}
	listener_pause(l, 1);
	if (fi->events.writer != NULL)
		fi->events.writer(fi, address, fi->arg);
	if (flvinput_watch(fi, fd) < 0) {
		close(fd);
		fi->fd = -1;
		flvinput_end(fi, RTMP_ESYS, "cannot watch the writer");
	}
}

struct flvinput *
flvinput_open(struct loop *loop, const char *path, uint32_t max_tag,
    const struct flvinput_events *events, void *arg, char *err, size_t errsize)
{
	struct flvinput	*fi;
	int		 fd;

	if ((fi = calloc(1, sizeof(*fi))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	fi->loop = loop;
	fi->events = *events;
	fi->arg = arg;
	fi->fd = -1;
	flvreader_init(&fi->reader, max_tag);
	buf_init(&fi->in, (size_t)fi->reader.max_tag + FLV_TAG_HEADER_SIZE +
	    FLV_PREVIOUS_SIZE + 2 * FLVINPUT_READ);
	if (path == NULL || strcmp(path, "-") == 0) {
		strlcpy(fi->name, "stdin", sizeof(fi->name));
		fi->is_stdin = 1;
		if ((fi->stdin_flags = fcntl(STDIN_FILENO, F_GETFL)) >= 0)
			fcntl(STDIN_FILENO, F_SETFL, fi->stdin_flags | O_NONBLOCK);
		if (flvinput_watch(fi, STDIN_FILENO) == 0)
			return fi;
		snprintf(err, errsize, "stdin: cannot watch it");
	} else if (strncmp(path, "unix:", 5) == 0) {
		strlcpy(fi->name, path, sizeof(fi->name));
		if ((fi->listener = listener_new(loop, path, NULL, flvinput_accept, fi, err,
		    errsize)) != NULL)
			return fi;
	} else {
		strlcpy(fi->name, path, sizeof(fi->name));
		if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
		else if (flvinput_watch(fi, fd) == 0)
			return fi;
		else {
			snprintf(err, errsize, "%s: cannot watch it", path);
			close(fd);
			fi->fd = -1;
		}
	}
	flvinput_free(fi);
	return NULL;
}

void
flvinput_free(struct flvinput *fi)
{
	if (fi == NULL)
		return;
	flvinput_stop(fi);
	if (fi->is_stdin) {
		/* The descriptor may be shared with a shell: leave it as it was. */
		if (fi->stdin_flags >= 0)
			fcntl(STDIN_FILENO, F_SETFL, fi->stdin_flags);
	} else if (fi->fd >= 0)
		close(fi->fd);
	listener_free(fi->listener);
	buf_free(&fi->in);
	free(fi);
}

const char *
flvinput_name(const struct flvinput *fi)
{
	return fi->name;
}

uint64_t
flvinput_tags(const struct flvinput *fi)
{
	return fi->reader.tags;
}

uint64_t
flvinput_bytes(const struct flvinput *fi)
{
	return fi->bytes;
}
