/*
 * flvinput.h: a live FLV stream read on the event loop, for rtmp-relay:
 * the standard input, a file, a FIFO, or the first writer to connect to a
 * unix socket.
 *
 * flvinput_open() takes "-" (or NULL) for the standard input, made
 * non-blocking until flvinput_free() puts its flags back; "unix:PATH"
 * listens there and reads the first connection (later ones are turned
 * away); any other path is opened at once, a FIFO too: the stream starts
 * when a writer comes (epoll reports nothing before).  A regular file,
 * which epoll cannot watch, is read from a timer, as fast as it goes.
 *
 * Reading is bounded: at most FLVINPUT_READS reads per wakeup, so the
 * loop's other work goes on, and a buffer of max_tag plus two reads: a
 * tag larger than max_tag is refused from its header alone
 * (flvreader.h).  Each tag goes to events->tag with its data a view valid
 * during the call.
 *
 * The end comes once through events->end: error 0 for a clean end of
 * input after a whole FLV header, else RTMP_EPROTO (not FLV, or a tag
 * header that lost sync), RTMP_ELIMIT (a tag larger than max_tag) or
 * RTMP_ESYS (the read failed; errno set), with a reason for a log line.
 * Nothing is read after it.  The callbacks may call flvinput_stop() but
 * not flvinput_free().
 */
#ifndef RTMPKIT_FLVINPUT_H
#define RTMPKIT_FLVINPUT_H

#include <stddef.h>
#include <stdint.h>

#include "flv.h"

#define FLVINPUT_READ	(64 * 1024)
#define FLVINPUT_READS	16

struct loop;
struct flvinput;

struct flvinput_events {
	void	(*tag)(struct flvinput *, const struct flv_tag *, void *arg);
	void	(*end)(struct flvinput *, int error, const char *reason, void *arg);
	/* unix:PATH: a writer connected (address for a log line); may be NULL. */
	void	(*writer)(struct flvinput *, const char *address, void *arg);
};

/* NULL with the reason in err. */
struct flvinput	*flvinput_open(struct loop *, const char *path, uint32_t max_tag,
		    const struct flvinput_events *, void *arg, char *err, size_t errsize);
/* Read nothing more (no `end` follows). */
void		 flvinput_stop(struct flvinput *);
void		 flvinput_free(struct flvinput *);
/* "stdin" or the path, for log lines. */
const char	*flvinput_name(const struct flvinput *);
uint64_t	 flvinput_tags(const struct flvinput *);
uint64_t	 flvinput_bytes(const struct flvinput *);

#endif
