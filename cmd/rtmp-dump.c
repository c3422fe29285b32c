/*
 * rtmp-dump: play an RTMP(S) stream and write it as one FLV file.
 *
 * Policy lives here: when to reconnect, how timestamps stay monotonic
 * across drops, when to stop.  The protocol and I/O are the library's.
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
#include "loop.h"
#include "media.h"
#include "runner.h"

#define OUTPUT_FLUSH	(64 * 1024)
#define OUTPUT_DIRECT	(16 * 1024)
/* How long after Play.Stop a live stream may take to come back. */
#define END_GRACE_MS	2000
/* A jump back by more than this is a new publisher, not reordering. */
#define REBASE_BACKWARD_MS	1000

struct dump {
	struct runner		 run;
	int			 out;		/* output fd */
	int			 out_seekable;	/* a regular file: patch the duration at the end */
	off_t			 duration_at;	/* file offset of onMetaData's duration, 0 = none */
	const char		*out_name;
	struct buf		 pending;	/* FLV bytes not yet written */
	int			 header_written;
	int			 played;	/* reached READY at least once */
	int			 await_media;	/* reset the backoff on the next media */
	uint64_t		 end_timer;	/* Play.Stop seen: the end unless media comes back */
	int			 recorded;	/* the server said StreamIsRecorded */
	int			 media_seen;
	int			 rebase;	/* next timestamp starts a new segment */
	int64_t			 offset;	/* added to incoming timestamps */
	uint32_t		 last_in;	/* last incoming audio/video timestamp */
	uint32_t		 last_out;	/* last timestamp written */
	uint64_t		 limit_ms;	/* -d, 0 = none */
	uint64_t		 bytes_written;
	int			 verbose;
};

static void	dump_not_ended(struct dump *);

static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-dump [-hkqVv] [-C cafile] [-d seconds] [-o file] "
	    "[-r retries] [-t seconds] url\n");
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
	double		 seconds = d->last_out / 1000.0;
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

/*
 * Output timestamps start at 0 with the first audio or video message and
 * never step back.  Metadata that comes before any media is stamped 0.  A
 * new segment (reconnect, new publisher, a jump back) continues from the
 * last timestamp written.
 */
static uint32_t
dump_timestamp(struct dump *d, uint32_t in, int media)
{
	int64_t	 ts;

	if (!d->media_seen) {
		if (!media)
			return 0;
		d->media_seen = 1;
		d->rebase = 0;
		d->offset = -(int64_t)in;
		d->last_in = in;
		return 0;
	}
	/*
	 * RTMP's milliseconds wrap after 49.7 days and time goes on; any other
	 * step back is a new publisher, spliced below.  Script data may say 0
	 * at any time, so only media counts.
	 */
	if (media) {
		if (!d->rebase && media_timestamp_wrapped(d->last_in, in))
			d->offset += (int64_t)UINT32_MAX + 1;
		d->last_in = in;
	}
	ts = (int64_t)in + d->offset;
	if (d->rebase || ts + REBASE_BACKWARD_MS < (int64_t)d->last_out) {
		d->offset = (int64_t)d->last_out - in;
		ts = d->last_out;
		if (d->verbose > 1)
			warnx("%s: timestamps continue at %u ms", d->run.url.tc_url,
			    d->last_out);
	}
	d->rebase = 0;
	if (ts < (int64_t)d->last_out)
		ts = d->last_out;
	if (ts > UINT32_MAX)
		ts = UINT32_MAX;
	return (uint32_t)ts;
}

static void
on_media(struct client *c, const struct rtmp_event *ev, void *arg)
{
	struct dump	*d = arg;
	const uint8_t	*payload = ev->payload;
	size_t		 len = ev->length, skip;
	uint8_t		 header[FLV_TAG_HEADER_SIZE], trailer[FLV_PREVIOUS_SIZE];
	uint8_t		 type = ev->message_type;
	uint32_t	 ts;
	int		 rc;

	(void)c;
	if (runner_stopped(&d->run))
		return;
	if (type == FLV_TAG_AUDIO || type == FLV_TAG_VIDEO) {
		dump_not_ended(d);
		if (d->await_media) {
			d->await_media = 0;
			backoff_reset(&d->run.backoff);
		}
	}
	if (type == 15) {
		/* AMF3 data: a format byte, then AMF0. */
		if (len < 1)
			return;
		payload++;
		len--;
		type = FLV_TAG_SCRIPT;
	}
	if (type == FLV_TAG_SCRIPT) {
		skip = rtmp_data_frame_offset(payload, len);
		payload += skip;
		len -= skip;
		/* Only metadata belongs in the file, not |RtmpSampleAccess or onStatus. */
		if (len < 3 || payload[0] != 2 || payload[3] == '|' ||
		    (len >= 11 && memcmp(payload + 3, "onStatus", 8) == 0))
			return;
	}
	if (len == 0 || len > 0xffffff)
		return;
	if (!d->header_written) {
		uint8_t	 h[FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE];

		flv_write_header(h, 1, 1);
		buf_append(&d->pending, h, sizeof(h));
		d->header_written = 1;
	}
	ts = dump_timestamp(d, ev->timestamp, type != FLV_TAG_SCRIPT);
	d->last_out = ts;
	if (type == FLV_TAG_SCRIPT && d->out_seekable && d->duration_at == 0) {
		struct flv_metadata	 md;

		if (flv_parse_metadata(payload, len, &md) == 0 && md.duration_offset > 0)
			d->duration_at = (off_t)(d->bytes_written + d->pending.len +
			    FLV_TAG_HEADER_SIZE + md.duration_offset);
	}
	flv_write_tag_header(header, type, (uint32_t)len, ts);
	flv_write_previous_size(trailer, (uint32_t)len + FLV_TAG_HEADER_SIZE);
	/*
	 * Small tags gather in one buffer, written once per loop iteration;
	 * a large one goes out as it is, uncopied, in the same writev as what
	 * was gathered before it.
	 */
	if (len >= OUTPUT_DIRECT) {
		struct iovec	 iov[4] = {
			{ (void *)buf_data(&d->pending), d->pending.len },
			{ header, sizeof(header) },
			{ (void *)payload, len },
			{ trailer, sizeof(trailer) },
		};
		int		 gathered = d->pending.len > 0;

		rc = dump_writev(d, iov + !gathered, 3 + gathered);
		buf_consume(&d->pending, d->pending.len);
		if (rc < 0)
			return;
	} else if (d->pending.len + sizeof(header) + len + sizeof(trailer) > OUTPUT_FLUSH &&
	    dump_flush(d) < 0) {
		return;
	} else if (buf_append(&d->pending, header, sizeof(header)) < 0 ||
	    buf_append(&d->pending, payload, len) < 0 ||
	    buf_append(&d->pending, trailer, sizeof(trailer)) < 0) {
		warnx("out of memory");
		dump_stop(d, CLIENT_EXIT_FAILURE);
		return;
	}
	if (d->limit_ms > 0 && ts >= d->limit_ms) {
		dump_flush(d);
		dump_stop(d, CLIENT_EXIT_OK);
	}
}

static void
on_ready(struct client *c, void *arg)
{
	struct dump	*d = arg;

	if (d->played)
		warnx("%s: playing %s again", client_peer(c), d->run.url.stream);
	else if (d->verbose)
		warnx("%s: playing %s", client_peer(c), d->run.url.stream);
	d->played = 1;
	d->rebase = 1;
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
	if (d->verbose)
		warnx("%s: stream ended", client_peer(d->run.client));
	dump_flush(d);
	dump_stop(d, CLIENT_EXIT_OK);
	return LOOP_TIMER_STOP;
}

/* The stream goes on after all (a live publisher came back). */
static void
dump_not_ended(struct dump *d)
{
	if (d->end_timer != 0) {
		loop_timer_cancel(d->run.loop, d->end_timer);
		d->end_timer = 0;
	}
}

static void
on_status(struct client *c, const struct rtmp_event *ev, void *arg)
{
	struct dump	*d = arg;

	if (d->verbose > 1 && ev->code.len > 0)
		warnx("%s: status %.*s", client_peer(c), (int)ev->code.len, ev->code.ptr);
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
		d->rebase = 1;
		return;
	}
	if (ev->type == RTMP_EVENT_STREAM_EOF || ev->type == RTMP_EVENT_STREAM_BEGIN ||
	    amf0_view_eq(ev->code, "NetStream.Play.PublishNotify") ||
	    amf0_view_eq(ev->code, "NetStream.Play.Start")) {
		if (ev->type != RTMP_EVENT_STREAM_EOF)
			dump_not_ended(d);
		d->rebase = 1;
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
	/* Only a stream that gave media once is worth waiting for again. */
	if (d->media_seen && runner_retry(&d->run, error, reason)) {
		d->rebase = 1;
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

	*media_ms = d->last_out;
	*bytes = d->bytes_written + d->pending.len;
}

int
main(int argc, char *argv[])
{
	struct dump		 d;
	struct runner_options	 o;
	struct stat		 st;
	const char		*output = NULL;
	int			 ch, status;

	memset(&d, 0, sizeof(d));
	runner_options_init(&o, "rtmp-dump", usage);
	while ((ch = getopt(argc, argv, RUNNER_OPTIONS "d:o:")) != -1) {
		switch (ch) {
		case 'd':
			d.limit_ms = (uint64_t)runner_number(optarg, 1, 100000000, "duration",
			    usage) * 1000;
			break;
		case 'o':
			output = optarg;
			break;
		default:
			if (runner_option(&o, ch, optarg))
				break;
			usage();
			return CLIENT_EXIT_USAGE;
		}
	}
	d.verbose = o.verbose;
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		usage();
		return CLIENT_EXIT_USAGE;
	}
	o.url = argv[0];
	if ((status = runner_init(&d.run, &o, &dump_events, &d)) != 0)
		return status;
	d.run.count = dump_count;

	if (output == NULL || strcmp(output, "-") == 0) {
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

	status = runner_run(&d.run);
	dump_flush(&d);
	dump_patch_duration(&d);
	if (d.out != STDOUT_FILENO && close(d.out) < 0 && status == CLIENT_EXIT_OK) {
		warn("%s", output);
		status = CLIENT_EXIT_FAILURE;
	}
	runner_free(&d.run);
	buf_free(&d.pending);
	return status;
}
