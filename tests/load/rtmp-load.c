/*
 * rtmp-load: open N players to one RTMP(S) URL at once (lib/client, play)
 * and say what each got: bytes, video and audio frames, whether its first
 * video frame was a keyframe, and the time from connecting to that first
 * keyframe.  For the relay's load and GOP cache tests, and by hand:
 *
 *	rtmp-load [-kv] [-C cafile] [-d seconds] [-i ms] [-n players] url
 *
 * -n players (default 10) are started -i ms apart (default 0: all at
 * once) and each plays for -d seconds (default 5) from its own start.
 * The summary line on stdout:
 *
 *	players 200 played 200 keyfirst 200 first_key_ms min 3 median 9
 *	p95 40 max 61 video 30000 audio 47000 bytes 123456789 kbit/s 700
 *
 * "played": players that got media; "keyfirst": players whose first
 * video frame was a keyframe (sequence headers do not count as frames).
 * With -v, one line per player first.  Exit 0 when every player played,
 * 1 otherwise, 2 for bad usage.
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "flv.h"
#include "loop.h"
#include "tls.h"
#include "url.h"

struct load;

struct player {
	struct load	*load;
	struct client	*client;
	int		 index;
	int		 started, done;
	uint64_t	 start_ms, stop_ms, first_key_ms;
	int		 got_video, key_first, got_key;
	uint64_t	 video, audio, bytes;
	int		 error;
	char		 reason[128];
};

struct load {
	struct loop		*loop;
	struct url		 url;
	struct client_config	 config;
	struct player		*players;
	int			 n, started, finished;
	uint32_t		 interval_ms, duration_ms;
	int			 verbose;
};

static void
usage(void)
{
	fprintf(stderr, "usage: rtmp-load [-kv] [-C cafile] [-d seconds] [-i ms] "
	    "[-n players] url\n");
	exit(2);
}

static void
load_player_done(struct player *p)
{
	struct load	*l = p->load;

	if (p->done)
		return;
	p->done = 1;
	p->stop_ms = loop_now(l->loop);
	if (++l->finished == l->n)
		loop_stop(l->loop);
}

static void
on_media(struct client *c, const struct rtmp_event *ev, void *arg)
{
	struct player		*p = arg;
	struct flv_media_info	 info;
	struct load		*l = p->load;

	(void)c;
	p->bytes += ev->length;
	if (ev->message_type == FLV_TAG_AUDIO) {
		p->audio++;
		return;
	}
	if (ev->message_type != FLV_TAG_VIDEO ||
	    flv_inspect_video(ev->payload, ev->length, &info) < 0 || info.sequence_header)
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
load_start_next(struct loop *loop, uint64_t id, void *arg)
{
	struct load	*l = arg;
	struct player	*p;
	int		 rc;

	(void)id;
	while (l->started < l->n) {
		p = &l->players[l->started++];
		p->started = 1;
		p->start_ms = loop_now(loop);
		if ((p->client = client_new(loop, &l->config, &load_events, p)) == NULL)
			errx(1, "out of memory");
		if ((rc = client_start(p->client)) < 0) {
			p->error = rc;
			strlcpy(p->reason, rtmp_strerror(rc), sizeof(p->reason));
			load_player_done(p);
		} else
			loop_timer(loop, l->duration_ms, load_stop_player, p);
		if (l->interval_ms > 0)
			return l->started < l->n ? l->interval_ms : LOOP_TIMER_STOP;
	}
	return LOOP_TIMER_STOP;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	struct load	 l;
	struct tls_config tc;
	struct tls_context *tls = NULL;
	const char	*errstr, *ca_file = NULL;
	char		 errbuf[256];
	uint64_t	*keys, video = 0, audio = 0, bytes = 0, span = 0;
	int		 ch, i, played = 0, keyfirst = 0, nkeys = 0, insecure = 0;

	memset(&l, 0, sizeof(l));
	l.n = 10;
	l.duration_ms = 5000;
	while ((ch = getopt(argc, argv, "C:d:i:kn:v")) != -1) {
		switch (ch) {
		case 'C':
			ca_file = optarg;
			break;
		case 'd':
			l.duration_ms = (uint32_t)strtonum(optarg, 1, 3600, &errstr) * 1000;
			if (errstr != NULL)
				usage();
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
		case 'v':
			l.verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || url_parse(argv[optind], &l.url) < 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (l.url.tls) {
		memset(&tc, 0, sizeof(tc));
		tc.ca_file = ca_file;
		tc.noverify = insecure;
		tc.server_name = l.url.host;
		if ((tls = tls_context_new(&tc, errbuf, sizeof(errbuf))) == NULL)
			errx(1, "tls: %s", errbuf);
	}
	if ((l.loop = loop_new()) == NULL ||
	    (l.players = calloc((size_t)l.n, sizeof(*l.players))) == NULL ||
	    (keys = calloc((size_t)l.n, sizeof(*keys))) == NULL)
		errx(1, "out of memory");
	l.config.url = &l.url;
	l.config.tls = tls;
	l.config.timeout_ms = 10000;
	for (i = 0; i < l.n; i++) {
		l.players[i].load = &l;
		l.players[i].index = i;
	}
	loop_timer(l.loop, 0, load_start_next, &l);
	loop_run(l.loop);
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
		video += p->video;
		audio += p->audio;
		bytes += p->bytes;
		span += p->stop_ms - p->start_ms;
		if (l.verbose)
			printf("player %d video %llu audio %llu bytes %llu keyfirst %d "
			    "first_key_ms %lld%s%s\n", i, (unsigned long long)p->video,
			    (unsigned long long)p->audio, (unsigned long long)p->bytes,
			    p->got_video && p->key_first,
			    p->got_key ? (long long)p->first_key_ms : -1LL,
			    p->reason[0] != '\0' ? " closed: " : "", p->reason);
		client_free(p->client);
	}
	qsort(keys, (size_t)nkeys, sizeof(*keys), cmp_u64);
	printf("players %d played %d keyfirst %d first_key_ms min %lld median %lld "
	    "p95 %lld max %lld video %llu audio %llu bytes %llu kbit/s %llu\n", l.n, played,
	    keyfirst, nkeys ? (long long)keys[0] : -1LL,
	    nkeys ? (long long)keys[nkeys / 2] : -1LL,
	    nkeys ? (long long)keys[(nkeys * 95) / 100 < nkeys ? (nkeys * 95) / 100 :
	    nkeys - 1] : -1LL, nkeys ? (long long)keys[nkeys - 1] : -1LL,
	    (unsigned long long)video, (unsigned long long)audio,
	    (unsigned long long)bytes,
	    span > 0 ? (unsigned long long)(bytes * 8 / span) : 0ULL);
	free(keys);
	free(l.players);
	loop_free(l.loop);
	tls_context_free(tls);
	return played == l.n ? 0 : 1;
}
