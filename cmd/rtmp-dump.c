/*
 * rtmp-dump: play an RTMP(S) stream and write it as one FLV file.
 *
 * Policy lives here: when to reconnect, how timestamps stay monotonic
 * across drops, when to stop, and with -p when a stream counts as up (the
 * rule itself is probe.h's).  The protocol and I/O are the library's.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "error.h"
#include "flv.h"
#include "flvwriter.h"
#include "loop.h"
#include "media.h"
#include "probe.h"
#include "runner.h"

#define OUTPUT_FLUSH	(64 * 1024)
#define OUTPUT_DIRECT	(16 * 1024)
/* How long after Play.Stop a live stream may take to come back. */
#define END_GRACE_MS	2000

struct dump {
	struct runner		 run;
	int			 out;		/* output fd */
	int			 out_seekable;	/* a regular file: patch the duration at the end */
	off_t			 duration_at;	/* file offset of onMetaData's duration, 0 = none */
	const char		*out_name;
	struct buf		 pending;	/* FLV bytes not yet written */
	int			 played;	/* reached READY at least once */
	int			 await_media;	/* reset the backoff on the next media */
	uint64_t		 end_timer;	/* Play.Stop seen: the end unless media comes back */
	int			 eof_seen;	/* Stream EOF or UnpublishNotify, no media since */
	int			 recorded;	/* the server said StreamIsRecorded */
	struct flvwriter	 writer;	/* what goes in the file, on one clock */
	uint64_t		 limit_ms;	/* -d, 0 = none */
	uint64_t		 bytes_written;
	int			 verbose;
	uint32_t		 probe_s;	/* -p, 0 = not probing */
	struct probe		 probe;
	char			 drop[128];	/* -p -r: why the last connection ended */
};

static void	dump_not_ended(struct dump *);
static void	dump_ended(struct dump *);

static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-dump [-hkqVv] [-C cafile] [-d seconds] [-o file] "
	    "[-p seconds] [-r retries] [-t seconds] url\n");
}

static void
dump_stop(struct dump *d, int status)
{
	runner_stop(&d->run, status);
}

/* Write iov whole; a reader that went away ends us quietly. */
static int
dump_writev(struct dump *d, struct iovec *iov, int iovcnt)
{
	ssize_t	 n;

	/* A probe without -o writes nothing. */
	if (d->out < 0)
		return 0;
	while (iovcnt > 0) {
		n = writev(d->out, iov, iovcnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EPIPE)
				warn("%s", d->out_name);
			dump_stop(d, errno == EPIPE ? CLIENT_EXIT_OK : CLIENT_EXIT_FAILURE);
			return -1;
		}
		d->bytes_written += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int
dump_flush(struct dump *d)
{
	struct iovec	 iov;
	int		 rc;

	if (d->pending.len == 0)
		return 0;
	iov.iov_base = (void *)buf_data(&d->pending);
	iov.iov_len = d->pending.len;
	rc = dump_writev(d, &iov, 1);
	buf_consume(&d->pending, d->pending.len);
	return rc;
}

/* A live stream's metadata says 0 or the source's length: say what we recorded. */
static void
dump_patch_duration(struct dump *d)
{
	uint8_t		 b[8];
	double		 seconds = d->writer.timeline.last_out / 1000.0;
	uint64_t	 bits;
	int		 i;

	if (d->duration_at == 0)
		return;
	memcpy(&bits, &seconds, sizeof(bits));
	for (i = 7; i >= 0; i--, bits >>= 8)
		b[i] = bits & 0xff;
	if (pwrite(d->out, b, sizeof(b), d->duration_at) != (ssize_t)sizeof(b))
		warn("%s: cannot record the duration", d->out_name);
}

static void
dump_before_sleep(struct loop *loop, void *arg)
{
	struct dump	*d = arg;

	(void)loop;
	dump_flush(d);
}

static void
on_media(struct client *c, const struct rtmp_event *ev, void *arg)
{
	struct dump		*d = arg;
	struct flvwriter_tag	 t;
	int			 rc, key;

	(void)c;
	if (runner_stopped(&d->run))
		return;
	key = d->probe_s > 0 && probe_media(&d->probe, ev->message_type, ev->payload,
	    ev->length);
	if (key && d->verbose)
		warnx("%s: keyframe after %llu ms", runner_peer(&d->run),
		    (unsigned long long)(loop_now(d->run.loop) - d->run.start_ms));
	if (ev->message_type == RTMP_MSG_AUDIO || ev->message_type == RTMP_MSG_VIDEO) {
		dump_not_ended(d);
		if (d->await_media) {
			d->await_media = 0;
			backoff_reset(&d->run.backoff);
		}
	}
	if (flvwriter_tag(&d->writer, ev->message_type, ev->timestamp, ev->payload,
	    ev->length, &t) == 0)
		return;
	if (t.spliced && d->verbose > 1)
		warnx("%s: timestamps continue at %llu ms", d->run.url.tc_url,
		    (unsigned long long)t.timestamp);
	if (t.duration_offset > 0 && d->out_seekable && d->duration_at == 0)
		d->duration_at = (off_t)(d->bytes_written + d->pending.len + t.head_len +
		    t.duration_offset);
	/*
	 * Small tags gather in one buffer, written once per loop iteration;
	 * a large one goes out as it is, uncopied, in the same writev as what
	 * was gathered before it.
	 */
	if (t.len >= OUTPUT_DIRECT) {
		struct iovec	 iov[4] = {
			{ (void *)buf_data(&d->pending), d->pending.len },
			{ t.head, t.head_len },
			{ (void *)t.payload, t.len },
			{ t.trailer, sizeof(t.trailer) },
		};
		int		 gathered = d->pending.len > 0;

		rc = dump_writev(d, iov + !gathered, 3 + gathered);
		buf_consume(&d->pending, d->pending.len);
		if (rc < 0)
			return;
	} else if (d->pending.len + flvwriter_tag_size(&t) > OUTPUT_FLUSH &&
	    dump_flush(d) < 0) {
		return;
	} else if (buf_append(&d->pending, t.head, t.head_len) < 0 ||
	    buf_append(&d->pending, t.payload, t.len) < 0 ||
	    buf_append(&d->pending, t.trailer, sizeof(t.trailer)) < 0) {
		warnx("out of memory");
		dump_stop(d, CLIENT_EXIT_FAILURE);
		return;
	}
	/* A probe's file ends with the keyframe that passed it. */
	if ((d->limit_ms > 0 && t.timestamp >= d->limit_ms) || key) {
		dump_flush(d);
		dump_stop(d, CLIENT_EXIT_OK);
	}
}

static void
on_ready(struct client *c, void *arg)
{
	struct dump	*d = arg;

	(void)c;
	if (d->played)
		warnx("%s: playing %s again", runner_peer(&d->run), d->run.url.stream);
	else if (d->verbose)
		warnx("%s: playing %s", runner_peer(&d->run), d->run.url.stream);
	d->played = 1;
	flvwriter_rebase(&d->writer);
	/* Only media proves the stream is back: a server that accepts and sends nothing must use up the retries. */
	d->await_media = 1;
}

static uint64_t
end_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct dump	*d = arg;

	(void)loop;
	(void)id;
	d->end_timer = 0;
	dump_ended(d);
	return LOOP_TIMER_STOP;
}

/* The server ended the stream: done, or for a probe, no keyframe came. */
static void
dump_ended(struct dump *d)
{
	dump_flush(d);
	if (d->probe_s > 0) {
		warnx("%s: stream ended before a keyframe", runner_peer(&d->run));
		dump_stop(d, CLIENT_EXIT_FAILURE);
		return;
	}
	if (d->verbose)
		warnx("%s: stream ended", runner_peer(&d->run));
	dump_stop(d, CLIENT_EXIT_OK);
}

/* -p: the deadline passed without a keyframe; say what came instead. */
static uint64_t
probe_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct dump	*d = arg;
	const char	*why;

	(void)loop;
	(void)id;
	if (runner_stopped(&d->run))
		return LOOP_TIMER_STOP;
	if (d->run.reconnect_timer != 0 || (!d->played && d->drop[0] != '\0'))
		why = d->drop;
	else if (!d->played)
		why = "the play did not start";
	else
		why = probe_missing(&d->probe);
	warnx("%s: no keyframe within %u s: %s", runner_peer(&d->run), d->probe_s, why);
	dump_flush(d);
	dump_stop(d, CLIENT_EXIT_TIMEOUT);
	return LOOP_TIMER_STOP;
}

/* The stream goes on after all (a live publisher came back). */
static void
dump_not_ended(struct dump *d)
{
	d->eof_seen = 0;
	if (d->end_timer != 0) {
		loop_timer_cancel(d->run.loop, d->end_timer);
		d->end_timer = 0;
	}
}

static void
on_status(struct client *c, const struct rtmp_event *ev, void *arg)
{
	struct dump	*d = arg;

	(void)c;
	if (d->verbose > 1 && ev->code.len > 0)
		warnx("%s: status %.*s", runner_peer(&d->run), (int)ev->code.len, ev->code.ptr);
	if (ev->type == RTMP_EVENT_STREAM_RECORDED)
		d->recorded = 1;
	if (amf0_view_eq(ev->code, "NetStream.Play.Complete") ||
	    (d->recorded && amf0_view_eq(ev->code, "NetStream.Play.Stop"))) {
		end_fire(d->run.loop, 0, d);
		return;
	}
	/*
	 * Play.Stop ends a recorded stream (the server said StreamIsRecorded),
	 * but nginx-rtmp with play_restart also sends it when a live publisher
	 * stops: wait a little for the stream to come back before calling it
	 * the end.
	 */
	if (amf0_view_eq(ev->code, "NetStream.Play.Stop")) {
		if (d->end_timer == 0)
			d->end_timer = loop_timer(d->run.loop, END_GRACE_MS, end_fire, d);
		flvwriter_rebase(&d->writer);
		return;
	}
	if (ev->type == RTMP_EVENT_STREAM_EOF || ev->type == RTMP_EVENT_STREAM_BEGIN ||
	    amf0_view_eq(ev->code, "NetStream.Play.PublishNotify") ||
	    amf0_view_eq(ev->code, "NetStream.Play.Start")) {
		if (ev->type != RTMP_EVENT_STREAM_EOF)
			dump_not_ended(d);
		else
			d->eof_seen = 1;
		flvwriter_rebase(&d->writer);
	}
}

static void
on_closed(struct client *c, int error, const char *reason, void *arg)
{
	struct dump	*d = arg;

	(void)c;
	dump_flush(d);
	if (runner_stopped(&d->run))
		return;
	/*
	 * A server that said the stream ended and then hung up cleanly (a
	 * relay whose input ended, or told to stop) is no drop to retry.
	 */
	if (d->eof_seen && error == RTMP_ECLOSED) {
		dump_ended(d);
		return;
	}
	/*
	 * Only a stream that gave media once is worth waiting for again; a
	 * probe retries only when -r says so, and then anything a retry can
	 * fix, until its deadline.
	 */
	if ((d->writer.timeline.started || d->probe_s > 0) &&
	    runner_retry(&d->run, error, reason)) {
		strlcpy(d->drop, reason, sizeof(d->drop));
		flvwriter_rebase(&d->writer);
		return;
	}
	runner_fail(&d->run, error, reason);
}

static const struct client_events dump_events = {
	.ready = on_ready,
	.media = on_media,
	.status = on_status,
	.closed = on_closed,
};

static void
dump_count(struct runner *r, uint64_t *media_ms, uint64_t *bytes)
{
	struct dump	*d = r->arg;

	*media_ms = d->writer.timeline.last_out;
	*bytes = d->bytes_written + d->pending.len;
}

int
main(int argc, char *argv[])
{
	struct dump		 d;
	struct runner_options	 o;
	long long		 seconds;
	struct stat		 st;
	const char		*output = NULL;
	int			 ch, status, given_r = 0, given_t = 0;

	memset(&d, 0, sizeof(d));
	flvwriter_init(&d.writer);
	runner_options_init(&o, "rtmp-dump", usage);
	while ((ch = getopt(argc, argv, RUNNER_OPTIONS "d:o:p:")) != -1) {
		switch (ch) {
		case 'd':
			if (runner_number(optarg, 1, 100000000, "duration", &seconds) < 0) {
				usage();
				return CLIENT_EXIT_USAGE;
			}
			d.limit_ms = (uint64_t)seconds * 1000;
			break;
		case 'o':
			output = optarg;
			break;
		case 'p':
			if (runner_number(optarg, 1, 86400, "probe deadline", &seconds) < 0) {
				usage();
				return CLIENT_EXIT_USAGE;
			}
			d.probe_s = (uint32_t)seconds;
			break;
		default:
			given_r |= ch == 'r';
			given_t |= ch == 't';
			switch (runner_option(&o, ch, optarg)) {
			case RUNNER_OPTION_TAKEN:
				continue;
			case RUNNER_OPTION_ANSWERED:
				return CLIENT_EXIT_OK;
			}
			usage();
			return CLIENT_EXIT_USAGE;
		}
	}
	d.verbose = o.verbose;
	argc -= optind;
	argv += optind;
	if (d.probe_s > 0 && d.limit_ms > 0)
		warnx("-p ends at the first keyframe: it takes no -d");
	if (argc != 1 || (d.probe_s > 0 && d.limit_ms > 0)) {
		usage();
		return CLIENT_EXIT_USAGE;
	}
	if (d.probe_s > 0) {
		/* A health check answers for now: a retry only when asked for. */
		if (!given_r)
			o.retries = 0;
		/* The deadline says how long to wait; the probe's message is the better one. */
		if (!given_t)
			o.timeout_s = d.probe_s + 1;
		/* From cron, for many streams: say which one is down. */
		o.name_url = 1;
	}
	o.url = argv[0];
	if ((status = runner_init(&d.run, &o, &dump_events, &d)) != 0)
		return status;
	d.run.count = dump_count;

	if (output == NULL && d.probe_s > 0) {
		d.out = -1;
		d.out_name = "nothing";
	} else if (output == NULL || strcmp(output, "-") == 0) {
		d.out = STDOUT_FILENO;
		d.out_name = "stdout";
	} else {
		if ((d.out = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
			warn("%s", output);
			runner_free(&d.run);
			return CLIENT_EXIT_FAILURE;
		}
		d.out_name = output;
	}
	d.out_seekable = fstat(d.out, &st) == 0 && S_ISREG(st.st_mode) &&
	    lseek(d.out, 0, SEEK_CUR) == 0;
	buf_init(&d.pending, 0);
	loop_before_sleep(d.run.loop, dump_before_sleep, &d);
	if (d.probe_s > 0)
		loop_timer(d.run.loop, (uint64_t)d.probe_s * 1000, probe_fire, &d);

	status = runner_run(&d.run);
	/* A signal or a closed pipe is no answer: the stream was not seen up. */
	if (d.probe_s > 0 && status == CLIENT_EXIT_OK && !d.probe.keyframe) {
		warnx("%s: stopped before a keyframe", runner_peer(&d.run));
		status = CLIENT_EXIT_FAILURE;
	}
	dump_flush(&d);
	dump_patch_duration(&d);
	if (d.out >= 0 && d.out != STDOUT_FILENO && close(d.out) < 0 &&
	    status == CLIENT_EXIT_OK) {
		warn("%s", output);
		status = CLIENT_EXIT_FAILURE;
	}
	runner_free(&d.run);
	buf_free(&d.pending);
	return status;
}
