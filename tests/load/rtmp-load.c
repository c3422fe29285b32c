/*
 * rtmp-load: open N players to one RTMP(S) URL and say what each got:
 * bytes, video and audio frames, whether its first video frame was a
 * keyframe, the time from connecting to that first keyframe, and the time
 * from connecting to the first media byte.  For the relay's load and GOP
 * cache tests, and for make bench:
 *
 *	rtmp-load [-kv] [-C cafile] [-d seconds] [-i ms] [-n players]
 *	    [-p publish-url -f file.flv [-w ms] [-S pid,...]] url
 *
 * -n players (default 10) are started -i ms apart (default 0: all at
 * once) and each plays for -d seconds (default 5) from its own start.
 * The summary line on stdout:
 *
 *	players 200 played 200 keyfirst 200 first_key_ms min 3 median 9
 *	p95 40 max 61 video 30000 audio 47000 bytes 123456789 kbit/s 700
 *	first_media_ms min 0.6 median 0.9 p95 1.8 max 4.2
 *
 * "played": players that got media; "keyfirst": players whose first
 * video frame was a keyframe (sequence headers do not count as frames).
 * "first_media_ms": from the start of a player's TCP connect to its first
 * audio or video message (a sequence header counts: it is media on the
 * wire), to the microsecond, over the players that got one; what a proxy
 * in the path adds to a player's start.  With -v, one line per player
 * first.
 *
 * With -p, rtmp-load is also the stream's one publisher: it publishes
 * -f file (H.264/AAC FLV, looped, timestamps going on) to publish-url,
 * paced in real time, and starts the players -w ms (default 3300, inside
 * a GOP) after the publish began.  Every player then plays until the same
 * end: the last one's start, 2 s to settle, and -d seconds of measurement
 * window.  A second line says what the window measured:
 *
 *	measure window_s 10 src_kbit_s 2630 player_kbit_s_min 2600
 *	player_kbit_s_median 2629 within5 1000 latency_ms_median 21
 *	latency_ms_p95 48 latency_samples 300000 unmatched 0 stalls 0
 *	stalled_players 0 closed 0 cpu_pct 14.1 cpu_s_per_gbit 0.054
 *	rss_base_kb 3000 rss_peak_kb 23000 rss_per_player_kb 20.0
 *	rss_window_kb 9000 rss_window_per_player_kb 6.0
 *
 * Latency: a video frame's arrival at a player minus the moment the
 * publisher handed it to its socket, both read from this process's
 * monotonic clock; frames are matched by a hash of their payload, so a
 * server that rewrites timestamps is measured the same way ("unmatched":
 * frames whose payload was not one the publisher sent).  A stall: a player
 * that received no media for 500 ms or more while the publisher was
 * sending.  cpu_pct, cpu_s_per_gbit, rss_*: the server processes named by
 * -S (their threads too, /proc/PID/stat and status): CPU in the window as a
 * share of one core and per Gbit delivered to the players; VmRSS when the
 * players start, the largest VmHWM at the end, and their difference per
 * player; VmRSS at the window's end, every player still connected, and its
 * rise over the first per player (what a connection holds once settled).
 *
 * Exit 0 when every player played, 1 otherwise, 2 for bad usage.
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "flv.h"
#include "flvreader.h"
#include "loop.h"
#include "tls.h"
#include "url.h"

#define LOAD_STALL_US		500000
#define LOAD_SETTLE_MS		2000
#define LOAD_LATENCY_MAX_MS	10000	/* histogram; beyond counts in the last bucket */
#define LOAD_MAX_PIDS		8

struct load;

struct player {
	struct load	*load;
	struct client	*client;
	int		 index;
	int		 started, done;
	uint64_t	 start_ms, stop_ms, first_key_ms;
	uint64_t	 connect_us, first_media_us;
	int		 got_video, key_first, got_key, got_media;
	uint64_t	 video, audio, bytes;
	uint64_t	 window_bytes, last_media_us;
	uint32_t	 stalls;
	int		 error;
	char		 reason[128];
};

/* One tag of the publisher's file. */
struct load_frame {
	uint8_t		 type;
	uint32_t	 timestamp;
	const uint8_t	*data;
	uint32_t	 size;
	int		 sequence_header, sequence_end;
};

/* Send time of each distinct video payload, by load_payload_key(). */
struct load_sent {
	uint64_t	 key;
	uint64_t	 sent_us;
};

struct publisher {
	struct load		*load;
	struct url		 url;
	struct client_config	 config;
	struct client		*client;
	uint8_t			*file;
	struct load_frame	*frames;
	size_t			 nframes, next;
	uint32_t		 first_ts, span_ms, pass;
	uint64_t		 start_ms;
	uint64_t		 timer;
	int			 closed;
	uint64_t		 window_bytes;
	struct load_sent	*sent;
	size_t			 sent_mask;
	char			 reason[128];
};

struct load {
	struct loop		*loop;
	struct url		 url;
	struct client_config	 config;
	struct player		*players;
	int			 n, started, finished;
	uint32_t		 interval_ms, duration_ms, warmup_ms;
	int			 verbose;
	/* measuring (-p) */
	struct publisher	*pub;
	uint64_t		 end_ms;		/* every player stops then */
	uint64_t		 window_start_us, window_end_us;
	uint64_t		 latency[LOAD_LATENCY_MAX_MS + 1];
	uint64_t		 latency_samples, unmatched;
	int			 pids[LOAD_MAX_PIDS], npids;
	uint64_t		 cpu_start_ticks, cpu_end_ticks;
	uint64_t		 rss_base_kb, rss_peak_kb, rss_window_kb;
};

static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-load [-kv] [-C cafile] [-d seconds] [-i ms] "
	    "[-n players]\n\t[-p publish-url -f file.flv [-w ms] [-S pid,...]] url\n");
	exit(2);
}

static uint64_t
load_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * A video payload's identity: its length and its first and last 32 bytes
 * (slice headers and entropy-coded data differ frame to frame), so a
 * player need not hash megabytes a second.
 */
static uint64_t
load_payload_key(const uint8_t *p, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL ^ len;
	size_t		 i, head = len < 32 ? len : 32;

	for (i = 0; i < head; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	for (i = len > 64 ? len - 32 : head; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h | 1;	/* 0 marks an empty slot */
}

static struct load_sent *
load_sent_slot(struct publisher *pub, uint64_t key)
{
	size_t	 i = (size_t)(key ^ (key >> 29)) & pub->sent_mask;

	while (pub->sent[i].key != 0 && pub->sent[i].key != key)
		i = (i + 1) & pub->sent_mask;
	return &pub->sent[i];
}

/* --- server processes (-S) ------------------------------------------------ */

static uint64_t
load_proc_ticks(int pid)
{
	char		 path[64], line[1024], *p;
	unsigned long long utime, stime;
	FILE		*f;
	int		 ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* The command name may hold spaces: fields count from its ')'. */
	if (!ok || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &utime, &stime) != 2)
		return 0;
	return utime + stime;
}

static uint64_t
load_proc_kb(int pid, const char *field)
{
	char		 path[64], line[256];
	unsigned long long kb = 0;
	size_t		 n = strlen(field);
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0) {
			sscanf(line + n, "%llu", &kb);
			break;
		}
	fclose(f);
	return kb;
}

static uint64_t
load_servers_ticks(const struct load *l)
{
	uint64_t	 t = 0;
	int		 i;

	for (i = 0; i < l->npids; i++)
		t += load_proc_ticks(l->pids[i]);
	return t;
}

static uint64_t
load_servers_kb(const struct load *l, const char *field)
{
	uint64_t	 kb = 0;
	int		 i;

	for (i = 0; i < l->npids; i++)
		kb += load_proc_kb(l->pids[i], field);
	return kb;
}

/* --- players ---------------------------------------------------------------- */

static void
load_player_done(struct player *p)
{
	struct load	*l = p->load;

	if (p->done)
		return;
	p->done = 1;
	p->stop_ms = loop_now(l->loop);
	if (++l->finished == l->n) {
		if (l->pub != NULL && l->pub->client != NULL && !l->pub->closed)
			client_finish(l->pub->client);
		loop_stop(l->loop);
	}
}

static void
load_measure_frame(struct player *p, const struct rtmp_event *ev, uint64_t now_us)
{
	struct load		*l = p->load;
	struct load_sent	*s;
	uint64_t		 ms;

	if (now_us < l->window_start_us || now_us >= l->window_end_us)
		return;
	p->window_bytes += ev->length;
	if (p->last_media_us != 0 && now_us - p->last_media_us >= LOAD_STALL_US)
		p->stalls++;
	if (ev->message_type != FLV_TAG_VIDEO)
		return;
	s = load_sent_slot(l->pub, load_payload_key(ev->payload, ev->length));
	if (s->key == 0) {
		l->unmatched++;
		return;
	}
	ms = now_us > s->sent_us ? (now_us - s->sent_us) / 1000 : 0;
	l->latency[ms < LOAD_LATENCY_MAX_MS ? ms : LOAD_LATENCY_MAX_MS]++;
	l->latency_samples++;
}

static void
on_media(struct client *c, const struct rtmp_event *ev, void *arg)
{
	struct player		*p = arg;
	struct flv_media_info	 info;
	struct load		*l = p->load;
	uint64_t		 now_us = 0;
	int			 frame;

	(void)c;
	if (!p->got_media && (ev->message_type == FLV_TAG_AUDIO ||
	    ev->message_type == FLV_TAG_VIDEO)) {
		p->got_media = 1;
		p->first_media_us = load_now_us() - p->connect_us;
	}
	p->bytes += ev->length;
	frame = ev->message_type == FLV_TAG_AUDIO ||
	    (ev->message_type == FLV_TAG_VIDEO &&
	    flv_inspect_video(ev->payload, ev->length, &info) == 0 && !info.sequence_header);
	if (l->pub != NULL && frame) {
		now_us = load_now_us();
		load_measure_frame(p, ev, now_us);
		p->last_media_us = now_us;
	}
	if (ev->message_type == FLV_TAG_AUDIO) {
		p->audio++;
		return;
	}
	if (!frame)
		return;
	p->video++;
	if (!p->got_video) {
		p->got_video = 1;
		p->key_first = info.keyframe;
	}
	if (info.keyframe && !p->got_key) {
		p->got_key = 1;
		p->first_key_ms = loop_now(l->loop) - p->start_ms;
	}
}

static void
on_closed(struct client *c, int error, const char *reason, void *arg)
{
	struct player	*p = arg;

	(void)c;
	p->error = error;
	strlcpy(p->reason, reason, sizeof(p->reason));
	load_player_done(p);
}

static const struct client_events load_events = {
	.media = on_media,
	.closed = on_closed,
};

static uint64_t
load_stop_player(struct loop *loop, uint64_t id, void *arg)
{
	struct player	*p = arg;

	(void)loop;
	(void)id;
	load_player_done(p);
	return LOOP_TIMER_STOP;
}

static uint64_t
load_window_begin(struct loop *loop, uint64_t id, void *arg)
{
	struct load	*l = arg;

	(void)loop;
	(void)id;
	l->cpu_start_ticks = load_servers_ticks(l);
	return LOOP_TIMER_STOP;
}

static uint64_t
load_window_end(struct loop *loop, uint64_t id, void *arg)
{
	struct load	*l = arg;
	uint64_t	 now_us;
	int		 i;

	(void)loop;
	(void)id;
	l->cpu_end_ticks = load_servers_ticks(l);
	l->rss_peak_kb = load_servers_kb(l, "VmHWM:");
	l->rss_window_kb = load_servers_kb(l, "VmRSS:");
	now_us = load_now_us();
	for (i = 0; i < l->n; i++) {
		struct player	*p = &l->players[i];

		/* One that went quiet for good stalled too. */
		if (!p->done && now_us - p->last_media_us >= LOAD_STALL_US)
			p->stalls++;
		load_player_done(p);
	}
	return LOOP_TIMER_STOP;
}

static uint64_t
load_start_next(struct loop *loop, uint64_t id, void *arg)
{
	struct load	*l = arg;
	struct player	*p;
	uint64_t	 ramp_ms, duration;
	int		 rc;

	(void)id;
	if (l->pub != NULL && l->started == 0) {
		/* The window: after the last player's start and a settling time. */
		ramp_ms = (uint64_t)l->interval_ms * (uint64_t)(l->n - 1);
		l->rss_base_kb = load_servers_kb(l, "VmRSS:");
		l->window_start_us = load_now_us() + (ramp_ms + LOAD_SETTLE_MS) * 1000;
		l->window_end_us = l->window_start_us + (uint64_t)l->duration_ms * 1000;
		l->end_ms = loop_now(loop) + ramp_ms + LOAD_SETTLE_MS + l->duration_ms;
		loop_timer(loop, ramp_ms + LOAD_SETTLE_MS, load_window_begin, l);
		loop_timer(loop, ramp_ms + LOAD_SETTLE_MS + l->duration_ms, load_window_end, l);
	}
	while (l->started < l->n) {
		p = &l->players[l->started++];
		p->started = 1;
		p->start_ms = loop_now(loop);
		p->connect_us = load_now_us();
		if ((p->client = client_new(loop, &l->config, &load_events, p)) == NULL)
			errx(1, "out of memory");
		if ((rc = client_start(p->client)) < 0) {
			p->error = rc;
			strlcpy(p->reason, rtmp_strerror(rc), sizeof(p->reason));
			load_player_done(p);
		} else if (l->pub == NULL)
			loop_timer(loop, l->duration_ms, load_stop_player, p);
		else {
			duration = l->end_ms > p->start_ms ? l->end_ms - p->start_ms : 1;
			loop_timer(loop, duration + 500, load_stop_player, p);
		}
		if (l->interval_ms > 0)
			return l->started < l->n ? l->interval_ms : LOOP_TIMER_STOP;
	}
	return LOOP_TIMER_STOP;
}

/* --- the publisher (-p) ------------------------------------------------------ */

static void
load_read_file(struct publisher *pub, const char *path)
{
	struct flvreader	 reader;
	struct flv_tag		 tag;
	struct flv_media_info	 info;
	struct load_frame	*f;
	size_t			 size, off = 0, cap = 0, videos = 0, slots;
	FILE			*fp;
	long			 end;
	int			 got, rc;

	if ((fp = fopen(path, "rb")) == NULL)
		err(1, "%s", path);
	if (fseek(fp, 0, SEEK_END) < 0 || (end = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0)
		err(1, "%s", path);
	size = (size_t)end;
	if ((pub->file = malloc(size + 1)) == NULL)
		errx(1, "out of memory");
	if (fread(pub->file, 1, size, fp) != size)
		errx(1, "%s: short read", path);
	fclose(fp);
	flvreader_init(&reader, 0);
	while (off < size) {
		if ((rc = flvreader_next(&reader, pub->file + off, size - off, &tag, &got)) < 0)
			errx(1, "%s: not a readable FLV (%s)", path, rtmp_strerror(rc));
		if (rc == 0)
			break;
		off += (size_t)rc;
		if (!got || tag.size == 0 ||
		    (tag.type != FLV_TAG_VIDEO && tag.type != FLV_TAG_AUDIO &&
		    tag.type != FLV_TAG_SCRIPT))
			continue;
		if (pub->nframes == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((pub->frames = reallocarray(pub->frames, cap, sizeof(*f))) == NULL)
				errx(1, "out of memory");
		}
		f = &pub->frames[pub->nframes++];
		memset(f, 0, sizeof(*f));
		f->type = tag.type;
		f->timestamp = tag.timestamp;
		f->data = tag.data;
		f->size = tag.size;
		if (tag.type == FLV_TAG_VIDEO &&
		    flv_inspect_video(tag.data, tag.size, &info) == 0) {
			f->sequence_header = info.sequence_header;
			f->sequence_end = info.sequence_end;
			videos++;
		} else if (tag.type == FLV_TAG_AUDIO &&
		    flv_inspect_audio(tag.data, tag.size, &info) == 0)
			f->sequence_header = info.sequence_header;
	}
	if (pub->nframes == 0 || videos == 0)
		errx(1, "%s: no video tags", path);
	pub->first_ts = pub->frames[0].timestamp;
	/* A pass lasts to its last tag and one frame more (30 fps). */
	pub->span_ms = pub->frames[pub->nframes - 1].timestamp - pub->first_ts + 33;
	for (slots = 64; slots < videos * 4; slots *= 2)
		;
	if ((pub->sent = calloc(slots, sizeof(*pub->sent))) == NULL)
		errx(1, "out of memory");
	pub->sent_mask = slots - 1;
}

static uint64_t	load_pace(struct loop *, uint64_t, void *);

/* Sends what is due; the delay until the next tag, or 0 to wait for drained. */
static uint64_t
load_publish_due(struct publisher *pub)
{
	struct load		*l = pub->load;
	const struct load_frame	*f;
	uint64_t		 now = loop_now(l->loop), due, now_us;
	uint32_t		 ts;
	int			 rc;

	for (;;) {
		if (pub->next == pub->nframes) {
			pub->next = 0;
			pub->pass++;
		}
		f = &pub->frames[pub->next];
		ts = f->timestamp - pub->first_ts + pub->pass * pub->span_ms;
		/* Later passes go on: no metadata, headers or end of sequence again. */
		if (pub->pass > 0 && (f->type == FLV_TAG_SCRIPT || f->sequence_header ||
		    f->sequence_end)) {
			pub->next++;
			continue;
		}
		due = pub->start_ms + ts;
		if (due > now)
			return due - now;
		if (!client_can_send(pub->client))
			return 0;
		now_us = load_now_us();
		if (f->type == FLV_TAG_SCRIPT)
			rc = client_send_metadata(pub->client, ts, f->data, f->size);
		else
			rc = client_send_media(pub->client, f->type, ts, f->data, f->size);
		if (rc < 0)
			errx(1, "publish %s: %s", client_peer(pub->client), rtmp_strerror(rc));
		if (f->type == FLV_TAG_VIDEO && !f->sequence_header) {
			uint64_t	 key = load_payload_key(f->data, f->size);
			struct load_sent *s = load_sent_slot(pub, key);

			s->key = key;
			s->sent_us = now_us;
		}
		if (f->type != FLV_TAG_SCRIPT && !f->sequence_header &&
		    now_us >= l->window_start_us && now_us < l->window_end_us)
			pub->window_bytes += f->size;
		pub->next++;
	}
}

static uint64_t
load_pace(struct loop *loop, uint64_t id, void *arg)
{
	struct publisher	*pub = arg;
	uint64_t		 delay;

	(void)loop;
	(void)id;
	if (pub->closed)
		return LOOP_TIMER_STOP;
	if ((delay = load_publish_due(pub)) == 0)
		pub->timer = 0;
	return delay;
}

static void
load_publisher_ready(struct client *c, void *arg)
{
	struct publisher	*pub = arg;
	struct load		*l = pub->load;

	(void)c;
	pub->start_ms = loop_now(l->loop);
	pub->timer = loop_timer(l->loop, 0, load_pace, pub);
	loop_timer(l->loop, l->warmup_ms, load_start_next, l);
}

static void
load_publisher_drained(struct client *c, void *arg)
{
	struct publisher	*pub = arg;

	(void)c;
	if (pub->timer == 0 && !pub->closed)
		pub->timer = loop_timer(pub->load->loop, 0, load_pace, pub);
}

static void
load_publisher_closed(struct client *c, int error, const char *reason, void *arg)
{
	struct publisher	*pub = arg;
	struct load		*l = pub->load;
	int			 i;

	(void)c;
	pub->closed = 1;
	if (l->finished == l->n)
		return;		/* our own client_finish() */
	snprintf(pub->reason, sizeof(pub->reason), "%s (%s)", reason, rtmp_strerror(error));
	warnx("publisher %s: closed: %s", pub->url.host, pub->reason);
	if (l->started == 0)
		loop_stop(l->loop);
	else
		for (i = 0; i < l->n; i++)
			load_player_done(&l->players[i]);
}

static const struct client_events load_publisher_events = {
	.ready = load_publisher_ready,
	.drained = load_publisher_drained,
	.closed = load_publisher_closed,
};

/* --- the report ---------------------------------------------------------------- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The value at percent of sorted v[n] (0: the least, 100: the largest); -1 if none. */
static long long
load_percentile(const uint64_t *v, int n, unsigned percent)
{
	int	 i = (int)(((long long)n * percent) / 100);

	if (n == 0)
		return -1;
	return (long long)v[i < n ? i : n - 1];
}

/* As load_percentile(), microseconds printed as milliseconds. */
static double
load_percentile_ms(const uint64_t *v, int n, unsigned percent)
{
	return n == 0 ? -1.0 : (double)load_percentile(v, n, percent) / 1000.0;
}

static long long
load_histogram_percentile(const struct load *l, unsigned percent)
{
	uint64_t	 want, seen = 0;
	size_t		 i;

	if (l->latency_samples == 0)
		return -1;
	want = (l->latency_samples * percent + 99) / 100;
	for (i = 0; i <= LOAD_LATENCY_MAX_MS; i++)
		if ((seen += l->latency[i]) >= want)
			return (long long)i;
	return LOAD_LATENCY_MAX_MS;
}

static void
load_report_window(const struct load *l)
{
	const struct publisher	*pub = l->pub;
	uint64_t		*rates, delivered = 0, ticks;
	double			 window_s = l->duration_ms / 1000.0, src, cpu_s;
	long			 hz = sysconf(_SC_CLK_TCK);
	int			 i, within = 0, stalled = 0, closed = 0;
	unsigned		 stalls = 0;

	if ((rates = calloc((size_t)l->n, sizeof(*rates))) == NULL)
		errx(1, "out of memory");
	src = (double)pub->window_bytes * 8 / 1000 / window_s;
	for (i = 0; i < l->n; i++) {
		const struct player *p = &l->players[i];

		rates[i] = (uint64_t)((double)p->window_bytes * 8 / 1000 / window_s);
		delivered += p->window_bytes;
		if (src > 0 && rates[i] >= src * 0.95 && rates[i] <= src * 1.05)
			within++;
		stalls += p->stalls;
		if (p->stalls > 0)
			stalled++;
		if (p->error != 0 && p->reason[0] != '\0')
			closed++;
	}
	qsort(rates, (size_t)l->n, sizeof(*rates), cmp_u64);
	ticks = l->cpu_end_ticks > l->cpu_start_ticks ? l->cpu_end_ticks - l->cpu_start_ticks : 0;
	cpu_s = hz > 0 ? (double)ticks / (double)hz : 0;
	printf("measure window_s %.0f src_kbit_s %.0f player_kbit_s_min %llu "
	    "player_kbit_s_median %llu within5 %d latency_ms_median %lld latency_ms_p95 %lld "
	    "latency_samples %llu unmatched %llu stalls %u stalled_players %d closed %d",
	    window_s, src, (unsigned long long)rates[0], (unsigned long long)rates[l->n / 2],
	    within, load_histogram_percentile(l, 50), load_histogram_percentile(l, 95),
	    (unsigned long long)l->latency_samples, (unsigned long long)l->unmatched,
	    stalls, stalled, closed);
	if (l->npids > 0)
		printf(" cpu_pct %.1f cpu_s_per_gbit %.3f rss_base_kb %llu rss_peak_kb %llu "
		    "rss_per_player_kb %.1f rss_window_kb %llu rss_window_per_player_kb %.1f",
		    cpu_s * 100 / window_s,
		    delivered > 0 ? cpu_s / ((double)delivered * 8 / 1e9) : 0.0,
		    (unsigned long long)l->rss_base_kb, (unsigned long long)l->rss_peak_kb,
		    l->rss_peak_kb > l->rss_base_kb ?
		    (double)(l->rss_peak_kb - l->rss_base_kb) / l->n : 0.0,
		    (unsigned long long)l->rss_window_kb, l->rss_window_kb > l->rss_base_kb ?
		    (double)(l->rss_window_kb - l->rss_base_kb) / l->n : 0.0);
	printf("\n");
	free(rates);
}

static void
load_parse_pids(struct load *l, char *arg)
{
	const char	*errstr;
	char		*s;

	while ((s = strsep(&arg, ",")) != NULL) {
		if (l->npids == LOAD_MAX_PIDS)
			usage();
		l->pids[l->npids++] = (int)strtonum(s, 1, 1 << 22, &errstr);
		if (errstr != NULL)
			usage();
	}
}

int
main(int argc, char *argv[])
{
	struct load	 l;
	struct publisher pub;
	struct tls_config tc;
	struct tls_context *tls = NULL;
	const char	*errstr, *ca_file = NULL, *publish_url = NULL, *file = NULL;
	char		 errbuf[256];
	uint64_t	*keys, *firsts, video = 0, audio = 0, bytes = 0, span = 0;
	int		 ch, i, played = 0, keyfirst = 0, nkeys = 0, nfirsts = 0, insecure = 0;

	memset(&l, 0, sizeof(l));
	memset(&pub, 0, sizeof(pub));
	l.n = 10;
	l.duration_ms = 5000;
	l.warmup_ms = 3300;
	while ((ch = getopt(argc, argv, "C:d:f:i:kn:p:S:vw:")) != -1) {
		switch (ch) {
		case 'C':
			ca_file = optarg;
			break;
		case 'd':
			l.duration_ms = (uint32_t)strtonum(optarg, 1, 3600, &errstr) * 1000;
			if (errstr != NULL)
				usage();
			break;
		case 'f':
			file = optarg;
			break;
		case 'i':
			l.interval_ms = (uint32_t)strtonum(optarg, 0, 60000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'k':
			insecure = 1;
			break;
		case 'n':
			l.n = (int)strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'p':
			publish_url = optarg;
			break;
		case 'S':
			load_parse_pids(&l, optarg);
			break;
		case 'v':
			l.verbose++;
			break;
		case 'w':
			l.warmup_ms = (uint32_t)strtonum(optarg, 0, 600000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || url_parse(argv[optind], &l.url) < 0 ||
	    (publish_url == NULL) != (file == NULL) ||
	    (publish_url != NULL && url_parse(publish_url, &pub.url) < 0))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (l.url.tls || (publish_url != NULL && pub.url.tls)) {
		memset(&tc, 0, sizeof(tc));
		tc.ca_file = ca_file;
		tc.noverify = insecure;
		tc.server_name = l.url.host;
		if ((tls = tls_context_new(&tc, errbuf, sizeof(errbuf))) == NULL)
			errx(1, "tls: %s", errbuf);
	}
	if ((l.loop = loop_new()) == NULL ||
	    (l.players = calloc((size_t)l.n, sizeof(*l.players))) == NULL ||
	    (keys = calloc((size_t)l.n, sizeof(*keys))) == NULL ||
	    (firsts = calloc((size_t)l.n, sizeof(*firsts))) == NULL)
		errx(1, "out of memory");
	l.config.url = &l.url;
	l.config.tls = tls;
	l.config.timeout_ms = 10000;
	for (i = 0; i < l.n; i++) {
		l.players[i].load = &l;
		l.players[i].index = i;
	}
	if (publish_url != NULL) {
		load_read_file(&pub, file);
		pub.load = &l;
		pub.config.url = &pub.url;
		pub.config.publish = 1;
		pub.config.tls = tls;
		pub.config.timeout_ms = 10000;
		l.pub = &pub;
		if ((pub.client = client_new(l.loop, &pub.config, &load_publisher_events,
		    &pub)) == NULL)
			errx(1, "out of memory");
		if (client_start(pub.client) < 0)
			errx(1, "publish %s: cannot connect", publish_url);
	} else
		loop_timer(l.loop, 0, load_start_next, &l);
	loop_run(l.loop);
	if (publish_url != NULL && l.started == 0)
		errx(1, "publish %s: %s", publish_url,
		    pub.reason[0] != '\0' ? pub.reason : "never started");
	for (i = 0; i < l.n; i++) {
		struct player	*p = &l.players[i];

		if (!p->done)
			p->stop_ms = loop_now(l.loop);
		if (p->video + p->audio > 0)
			played++;
		if (p->got_video && p->key_first)
			keyfirst++;
		if (p->got_key)
			keys[nkeys++] = p->first_key_ms;
		if (p->got_media)
			firsts[nfirsts++] = p->first_media_us;
		video += p->video;
		audio += p->audio;
		bytes += p->bytes;
		span += p->stop_ms - p->start_ms;
		if (l.verbose)
			printf("player %d video %llu audio %llu bytes %llu keyfirst %d "
			    "first_key_ms %lld stalls %u first_media_ms %.1f%s%s\n", i,
			    (unsigned long long)p->video, (unsigned long long)p->audio,
			    (unsigned long long)p->bytes, p->got_video && p->key_first,
			    p->got_key ? (long long)p->first_key_ms : -1LL, p->stalls,
			    p->got_media ? (double)p->first_media_us / 1000.0 : -1.0,
			    p->reason[0] != '\0' ? " closed: " : "", p->reason);
		client_free(p->client);
	}
	qsort(keys, (size_t)nkeys, sizeof(*keys), cmp_u64);
	qsort(firsts, (size_t)nfirsts, sizeof(*firsts), cmp_u64);
	printf("players %d played %d keyfirst %d first_key_ms min %lld median %lld "
	    "p95 %lld max %lld video %llu audio %llu bytes %llu kbit/s %llu "
	    "first_media_ms min %.1f median %.1f p95 %.1f max %.1f\n", l.n, played,
	    keyfirst, load_percentile(keys, nkeys, 0), load_percentile(keys, nkeys, 50),
	    load_percentile(keys, nkeys, 95), load_percentile(keys, nkeys, 100),
	    (unsigned long long)video, (unsigned long long)audio,
	    (unsigned long long)bytes,
	    span > 0 ? (unsigned long long)(bytes * 8 / span) : 0ULL,
	    load_percentile_ms(firsts, nfirsts, 0), load_percentile_ms(firsts, nfirsts, 50),
	    load_percentile_ms(firsts, nfirsts, 95), load_percentile_ms(firsts, nfirsts, 100));
	if (publish_url != NULL)
		load_report_window(&l);
	free(keys);
	free(firsts);
	free(l.players);
	client_free(pub.client);
	free(pub.frames);
	free(pub.sent);
	free(pub.file);
	loop_free(l.loop);
	tls_context_free(tls);
	return played == l.n ? 0 : 1;
}
