/*
 * rtmp-pushflv: publish FLV from a file or stdin to an RTMP(S) URL,
 * paced by the tag timestamps.
 *
 * Policy lives here: pacing, looping with monotonic timestamps, what to
 * resend after a reconnect (metadata and sequence headers, then video from
 * the next keyframe).  Protocol and I/O are the library's.
 */
#include <sys/stat.h>

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
#include "flvreader.h"
#include "loop.h"
#include "media.h"
#include "runner.h"

#define INPUT_READ	(256 * 1024)
#define MAX_TAG		(16u * 1024 * 1024)
#define DEFAULT_FRAME_MS 33
#define PROGRESS_BYTES	(64 * 1024)

struct push {
	struct runner		 run;
	int			 in;
	const char		*in_name;
	int			 in_regular;	/* a file we can read without waiting, and rewind */
	int			 in_watched;	/* registered with the loop for readability */
	int			 loop_file;
	int			 pace;
	int			 verbose;
	struct buf		 input;
	int			 input_eof;
	struct flvreader	 reader;	/* header, then tags */
	int			 have_tag;
	struct flv_tag		 tag;
	size_t			 tag_bytes;	/* bytes of input the tag spans */
	unsigned		 passes;	/* completed loops over the file */
	int64_t			 ts_offset;	/* added to file timestamps on later loops */
	uint32_t		 first_file_ts;
	uint32_t		 input_last_ts;	/* last audio/video time read */
	int			 input_ts_seen;
	int			 first_file_ts_set;
	/*
	 * The timeline is kept in 64 bits: a looped file outlives RTMP's 32-bit
	 * milliseconds (49.7 days), and on the wire they wrap, as RTMP says.
	 */
	uint64_t		 last_ts;	/* highest timestamp sent */
	uint64_t		 track_ts[3];	/* last sent per track: audio, video, data */
	int			 track_sent[3];
	unsigned		 pass_media;	/* audio and video tags sent in this pass */
	uint64_t		 last_video_ts;
	uint32_t		 frame_ms;
	int			 sent_any;
	struct media		*metadata, *video_header, *audio_header;
	int			 ready;
	int			 await_progress;	/* reset the backoff once media flows again */
	int			 wait_keyframe;
	int			 finishing;
	int			 anchored;
	uint64_t		 anchor_ms;
	uint64_t		 anchor_ts;
	uint64_t		 pace_timer;
	uint64_t		 media_start_ts;
};

static void	push_pump(struct push *);

static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-pushflv [-hklnqVv] [-C cafile] [-r retries] "
	    "[-t seconds] url [file]\n");
}

static void
push_stop(struct push *p, int status)
{
	runner_stop(&p->run, status);
}

static void
input_readable(struct loop *loop, int fd, int events, void *arg)
{
	struct push	*p = arg;

	(void)events;
	loop_remove(loop, fd);
	p->in_watched = 0;
	push_pump(p);
}

/* Read more input: 1 got some, 0 must wait for the loop, -1 end of input, -2 error. */
static int
input_fill(struct push *p)
{
	uint8_t		*space;
	size_t		 avail;
	ssize_t		 n;

	if (p->input_eof)
		return -1;
	buf_compact(&p->input);
	if (buf_reserve(&p->input, INPUT_READ) < 0) {
		warnx("%s: tag too large", p->in_name);
		return -2;
	}
	space = buf_space(&p->input, &avail);
	for (;;) {
		n = read(p->in, space, avail);
		if (n > 0) {
			buf_commit(&p->input, (size_t)n);
			return 1;
		}
		if (n == 0) {
			p->input_eof = 1;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			if (!p->in_watched && loop_add(p->run.loop, p->in, LOOP_READ,
			    input_readable, p) == 0)
				p->in_watched = 1;
			return 0;
		}
		warn("%s", p->in_name);
		return -2;
	}
}

static int
input_rewind(struct push *p)
{
	/* A pass that had no audio or video would loop without end. */
	if (!p->loop_file || !p->in_regular || p->pass_media == 0 ||
	    lseek(p->in, 0, SEEK_SET) < 0)
		return -1;
	p->pass_media = 0;
	buf_consume(&p->input, p->input.len);
	p->input_eof = 0;
	flvreader_restart(&p->reader);
	p->passes++;
	p->input_ts_seen = 0;
	/* The next pass starts one frame after the last tag we sent. */
	p->ts_offset = (int64_t)p->last_ts + p->frame_ms - p->first_file_ts;
	return 0;
}

/*
 * FLV's milliseconds are 32-bit too: a long pipe on stdin wraps after
 * 49.7 days, and the timeline goes on; other steps back are a bad file,
 * which push_pump() holds at the track's last time.  Script data may say
 * 0 at any time, so only audio and video count.
 */
static void
input_unwrap(struct push *p)
{
	uint32_t	 ts = p->tag.timestamp;

	if (p->tag.type != FLV_TAG_AUDIO && p->tag.type != FLV_TAG_VIDEO)
		return;
	if (p->input_ts_seen && media_timestamp_wrapped(p->input_last_ts, ts))
		p->ts_offset += (int64_t)UINT32_MAX + 1;
	p->input_last_ts = ts;
	p->input_ts_seen = 1;
}

/* 1 a tag is ready in p->tag, 0 wait, -1 end of input, -2 error. */
static int
next_tag(struct push *p)
{
	int	 rc, got;

	for (;;) {
		rc = flvreader_next(&p->reader, buf_data(&p->input), p->input.len, &p->tag,
		    &got);
		if (rc == RTMP_EPROTO && !p->reader.header_done) {
			warnx("%s: not an FLV file", p->in_name);
			return -2;
		}
		if (rc < 0) {
			warnx("%s: broken FLV tag: %s", p->in_name, rtmp_strerror(rc));
			return -2;
		}
		if (rc > 0 && got) {
			p->tag_bytes = (size_t)rc;
			return 1;
		}
		if (rc > 0) {
			buf_consume(&p->input, (size_t)rc);
			continue;
		}
		rc = input_fill(p);
		if (rc == -1 && p->input.len > 0 && p->reader.header_done)
			warnx("%s: ignoring a truncated last tag", p->in_name);
		if (rc == -1 && !p->reader.header_done && p->passes == 0 && p->input.len < 9) {
			warnx("%s: not an FLV file", p->in_name);
			return -2;
		}
		if (rc <= 0)
			return rc;
	}
}

static void
remember(struct media **slot, const struct flv_tag *t, uint32_t ts)
{
	media_unref(*slot);
	*slot = media_new(t->type, ts, t->data, t->size);
}

/* Send the tag in p->tag: 0 sent or dropped, <0 error. */
static int
send_tag(struct push *p, uint64_t ts)
{
	struct flv_media_info	 info = { 0 };
	const struct flv_tag	*t = &p->tag;
	int			 rc = 0, keyframe = 0, header = 0;

	switch (t->type) {
	case FLV_TAG_SCRIPT: {
		struct flv_metadata	 md;

		if (t->size == 0)
			return 0;
		/* Cue points and text go out as they are, every pass. */
		if (flv_parse_metadata(t->data, t->size, &md) != 0)
			break;
		/* onMetaData goes out once, as @setDataFrame, and again after reconnects. */
		if (p->passes > 0)
			return 0;
		remember(&p->metadata, t, 0);
		return client_send_metadata(p->run.client, (uint32_t)ts, t->data, t->size);
	}
	case FLV_TAG_VIDEO:
		if (flv_inspect_video(t->data, t->size, &info) == 0) {
			keyframe = info.keyframe;
			header = info.sequence_header;
		}
		if (header)
			remember(&p->video_header, t, (uint32_t)ts);
		/* A looped file goes on: its end-of-sequence would reset decoders. */
		if (info.sequence_end && p->loop_file)
			return 0;
		if (p->wait_keyframe && !header) {
			if (!keyframe)
				return 0;
			p->wait_keyframe = 0;
		}
		if (!header && t->size > 0) {
			if (p->last_video_ts != 0 && ts > p->last_video_ts &&
			    ts - p->last_video_ts < 1000)
				p->frame_ms = (uint32_t)(ts - p->last_video_ts);
			p->last_video_ts = ts;
		}
		break;
	case FLV_TAG_AUDIO:
		if (flv_inspect_audio(t->data, t->size, &info) == 0 && info.sequence_header)
			remember(&p->audio_header, t, (uint32_t)ts);
		break;
	default:
		return 0;	/* unknown tag types are skipped */
	}
	if (t->size == 0)
		return 0;
	rc = client_send_media(p->run.client, t->type, (uint32_t)ts, t->data, t->size);
	return rc;
}

/* After a reconnect the new server needs the headers again before media. */
static int
send_headers(struct push *p)
{
	int	 rc = 0;

	if (p->metadata != NULL)
		rc = client_send_metadata(p->run.client, (uint32_t)p->last_ts, p->metadata->data,
		    p->metadata->len);
	if (rc == 0 && p->video_header != NULL)
		rc = client_send_media(p->run.client, FLV_TAG_VIDEO, (uint32_t)p->last_ts,
		    p->video_header->data, p->video_header->len);
	if (rc == 0 && p->audio_header != NULL)
		rc = client_send_media(p->run.client, FLV_TAG_AUDIO, (uint32_t)p->last_ts,
		    p->audio_header->data, p->audio_header->len);
	return rc;
}

static uint64_t
pace_fire(struct loop *loop, uint64_t id, void *arg)
{
	struct push	*p = arg;

	(void)loop;
	(void)id;
	p->pace_timer = 0;
	push_pump(p);
	return LOOP_TIMER_STOP;
}

static void
push_finish(struct push *p)
{
	if (p->finishing)
		return;
	p->finishing = 1;
	if (p->verbose)
		warnx("%s: end of input, unpublishing", client_peer(p->run.client));
	if (client_finish(p->run.client) < 0)
		push_stop(p, CLIENT_EXIT_OK);
}

static void
push_pump(struct push *p)
{
	uint64_t	 now, due, ts;
	int64_t		 ts64;
	int		 rc, track;

	if (!p->ready || p->finishing || p->pace_timer != 0)
		return;
	while (client_can_send(p->run.client)) {
		if (!p->have_tag) {
			rc = next_tag(p);
			if (rc == -1 && input_rewind(p) == 0)
				continue;
			if (rc == -1) {
				push_finish(p);
				return;
			}
			if (rc == -2) {
				push_stop(p, CLIENT_EXIT_FAILURE);
				return;
			}
			if (rc == 0)
				return;
			p->have_tag = 1;
			if (!p->first_file_ts_set) {
				p->first_file_ts = p->tag.timestamp;
				p->first_file_ts_set = 1;
			}
			input_unwrap(p);
		}
		ts64 = (int64_t)p->tag.timestamp + p->ts_offset;
		ts = ts64 < 0 ? 0 : (uint64_t)ts64;
		/* A track never steps back, even in a bad file; tracks may interleave. */
		track = p->tag.type == FLV_TAG_AUDIO ? 0 : p->tag.type == FLV_TAG_VIDEO ? 1 : 2;
		if (p->track_sent[track] && ts < p->track_ts[track])
			ts = p->track_ts[track];
		now = loop_now(p->run.loop);
		if (!p->anchored) {
			p->anchored = 1;
			p->anchor_ms = now;
			p->anchor_ts = ts;
		}
		if (p->pace && ts > p->anchor_ts) {
			due = p->anchor_ms + (ts - p->anchor_ts);
			if (due > now) {
				p->pace_timer = loop_timer(p->run.loop, due - now, pace_fire, p);
				return;
			}
		}
		if ((rc = send_tag(p, ts)) < 0) {
			warnx("%s: cannot send: %s", client_peer(p->run.client), rtmp_strerror(rc));
			push_stop(p, CLIENT_EXIT_FAILURE);
			return;
		}
		/* The server took real data: this connection works, retries start over. */
		if (p->await_progress && client_bytes_out(p->run.client) >= PROGRESS_BYTES) {
			p->await_progress = 0;
			backoff_reset(&p->run.backoff);
		}
		if (!p->sent_any)
			p->media_start_ts = ts;
		if (!p->sent_any || ts > p->last_ts)
			p->last_ts = ts;
		p->sent_any = 1;
		p->track_ts[track] = ts;
		p->track_sent[track] = 1;
		if (track < 2)
			p->pass_media++;
		buf_consume(&p->input, p->tag_bytes);
		p->have_tag = 0;
	}
}

static void
on_ready(struct client *c, void *arg)
{
	struct push	*p = arg;

	if (p->verbose || p->sent_any)
		warnx("%s: publishing %s", client_peer(c), p->run.url.stream);
	p->ready = 1;
	p->await_progress = 1;
	if (p->sent_any) {
		if (send_headers(p) < 0) {
			push_stop(p, CLIENT_EXIT_FAILURE);
			return;
		}
		p->wait_keyframe = p->video_header != NULL;
		p->anchored = 0;
	}
	push_pump(p);
}

static void
on_drained(struct client *c, void *arg)
{
	(void)c;
	push_pump(arg);
}

static void
on_closed(struct client *c, int error, const char *reason, void *arg)
{
	struct push	*p = arg;

	(void)c;
	p->ready = 0;
	if (p->pace_timer != 0) {
		loop_timer_cancel(p->run.loop, p->pace_timer);
		p->pace_timer = 0;
	}
	if (runner_stopped(&p->run))
		return;
	if (p->finishing && (error == RTMP_OK || error == RTMP_ECLOSED)) {
		push_stop(p, CLIENT_EXIT_OK);
		return;
	}
	if (p->sent_any && !p->finishing && runner_retry(&p->run, error, reason))
		return;
	runner_fail(&p->run, error, reason);
}

static const struct client_events push_events = {
	.ready = on_ready,
	.drained = on_drained,
	.closed = on_closed,
};

static void
push_count(struct runner *r, uint64_t *media_ms, uint64_t *bytes)
{
	struct push	*p = r->arg;

	*media_ms = p->sent_any ? p->last_ts - p->media_start_ts : 0;
	*bytes = r->client != NULL ? client_bytes_out(r->client) : 0;
}

int
main(int argc, char *argv[])
{
	struct push		 p;
	struct runner_options	 o;
	struct stat		 st;
	int			 ch, status, in_flags;

	memset(&p, 0, sizeof(p));
	runner_options_init(&o, "rtmp-pushflv", usage);
	o.publish = 1;
	p.pace = 1;
	p.frame_ms = DEFAULT_FRAME_MS;
	while ((ch = getopt(argc, argv, RUNNER_OPTIONS "ln")) != -1) {
		switch (ch) {
		case 'l':
			p.loop_file = 1;
			break;
		case 'n':
			p.pace = 0;
			break;
		default:
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
	p.verbose = o.verbose;
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2) {
		usage();
		return CLIENT_EXIT_USAGE;
	}
	o.url = argv[0];
	if (argc == 1 || strcmp(argv[1], "-") == 0) {
		p.in = STDIN_FILENO;
		p.in_name = "stdin";
	} else {
		if ((p.in = open(argv[1], O_RDONLY | O_CLOEXEC)) < 0)
			err(CLIENT_EXIT_FAILURE, "%s", argv[1]);
		p.in_name = argv[1];
	}
	p.in_regular = fstat(p.in, &st) == 0 && S_ISREG(st.st_mode);
	if (p.loop_file && !p.in_regular) {
		warnx("%s: -l needs a regular file to rewind", p.in_name);
		return CLIENT_EXIT_USAGE;
	}
	in_flags = fcntl(p.in, F_GETFL);
	if (!p.in_regular && in_flags >= 0)
		fcntl(p.in, F_SETFL, in_flags | O_NONBLOCK);
	if ((status = runner_init(&p.run, &o, &push_events, &p)) != 0)
		return status;
	p.run.count = push_count;
	buf_init(&p.input, MAX_TAG + INPUT_READ);
	flvreader_init(&p.reader, MAX_TAG);

	status = runner_run(&p.run);
	/* The descriptor may be shared with a shell: leave it as we found it. */
	if (!p.in_regular && in_flags >= 0)
		fcntl(p.in, F_SETFL, in_flags);
	runner_free(&p.run);
	media_unref(p.metadata);
	media_unref(p.video_header);
	media_unref(p.audio_header);
	buf_free(&p.input);
	return status;
}
