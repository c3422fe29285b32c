/*
 * flvout.h: one continuous FLV written to a non-blocking descriptor (a
 * pipe to rtmp-relay, a command's stdin) on the event loop, for
 * rtmp-listen's stdout and its -e commands.
 *
 * Messages go through a flvwriter (flvwriter.h: what belongs in the file,
 * @setDataFrame stripped, one clock across segments) into a buffer that is
 * written as the descriptor takes it.  The buffer is bounded by back
 * pressure, not by dropping: once it holds `high` bytes flvout_full() says
 * 1 and the producer should stop reading (peer_pause_input()); when it has
 * drained below high / 4 the `drained` callback says it may go on.  A
 * caller about to close the descriptor sets notify_empty to hear from
 * `drained` once everything is written.
 *
 * Segments: flvout_segment() says the next message comes from a new
 * publisher: the clock splices, and a sequence header (AVC, HEVC, AAC...)
 * identical to the last one written for its track is left out, so a
 * reader sees the decoder's configuration again only when it changed.
 *
 * Errors: flvout_message() and flvout_flush() return 0 or RTMP_ESYS with
 * errno (EPIPE: the reader went away); a write failure found while
 * waiting on the loop reaches the `failed` callback with errno set.  After
 * a failure everything is dropped.  The descriptor stays the caller's.
 */
#ifndef RTMPKIT_FLVOUT_H
#define RTMPKIT_FLVOUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "flvwriter.h"

struct loop;

struct flvout {
	struct loop	*loop;
	int		 fd;
	struct flvwriter writer;
	struct buf	 pending;
	size_t		 high;
	int		 watching;	/* LOOP_WRITE registered */
	int		 full;		/* `drained` is owed */
	int		 notify_empty;	/* `drained` also once all is written */
	int		 failed;	/* errno of the failed write, else 0 */
	uint64_t	 bytes;		/* written to fd */
	uint8_t		*sequence[2];	/* last audio, video sequence header */
	size_t		 sequence_len[2];
	void		(*drained)(struct flvout *, void *arg);
	void		(*fail)(struct flvout *, void *arg);
	void		*arg;
};

/* fd must be non-blocking; high 0 means 1 MiB. */
void	flvout_init(struct flvout *, struct loop *, int fd, size_t high,
	    void (*drained)(struct flvout *, void *), void (*fail)(struct flvout *, void *),
	    void *arg);
void	flvout_free(struct flvout *);
void	flvout_segment(struct flvout *);
/* One RTMP message (8, 9, 15, 18); what does not belong is left out. */
int	flvout_message(struct flvout *, uint8_t type, uint32_t timestamp,
	    const uint8_t *payload, size_t len);
/* Write what the descriptor takes now. */
int	flvout_flush(struct flvout *);
/* At the end: wait up to timeout_ms for the reader to take the rest. */
int	flvout_drain(struct flvout *, int timeout_ms);
int	flvout_full(const struct flvout *);
size_t	flvout_pending(const struct flvout *);

#endif
