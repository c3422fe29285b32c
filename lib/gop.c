#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "error.h"
#include "gop.h"

void
gop_init(struct gop *g, int enabled, size_t max_messages, size_t max_bytes)
{
	memset(g, 0, sizeof(*g));
	g->enabled = enabled;
	g->max_messages = max_messages;
	g->max_bytes = max_bytes;
	g->waiting = 1;
}

void
gop_clear_frames(struct gop *g)
{
	size_t	 i;

	for (i = 0; i < g->count; i++)
		media_unref(g->frames[i]);
	g->count = 0;
	g->bytes = 0;
	g->waiting = 1;
}

void
gop_free(struct gop *g)
{
	gop_clear_frames(g);
	free(g->frames);
	media_unref(g->metadata);
	media_unref(g->video_header);
	media_unref(g->audio_header);
	gop_init(g, g->enabled, g->max_messages, g->max_bytes);
}

static void
gop_replace(struct media **slot, struct media *m)
{
	struct media	*old = *slot;

	*slot = m != NULL ? media_ref(m) : NULL;
	media_unref(old);
}

void
gop_set_metadata(struct gop *g, struct media *m)
{
	gop_replace(&g->metadata, m);
}

static int
gop_append(struct gop *g, struct media *m)
{
	struct media	**frames;
	size_t		  cap;

	if (g->count == g->max_messages || m->len > g->max_bytes - g->bytes) {
		gop_clear_frames(g);
		g->overflows++;
		return 0;
	}
	if (g->count == g->cap) {
		cap = g->cap ? g->cap * 2 : 64;
		if (cap > g->max_messages)
			cap = g->max_messages;
		if ((frames = reallocarray(g->frames, cap, sizeof(*frames))) == NULL) {
			gop_clear_frames(g);
			return RTMP_ENOMEM;
		}
		g->frames = frames;
		g->cap = cap;
	}
	g->frames[g->count++] = media_ref(m);
	g->bytes += m->len;
	return 0;
}

int
gop_add(struct gop *g, struct media *m)
{
	if (m->type != RTMP_MSG_AUDIO && m->type != RTMP_MSG_VIDEO)
		return 0;
	if (m->flags & MEDIA_SEQUENCE_HEADER) {
		gop_replace(m->type == RTMP_MSG_VIDEO ? &g->video_header : &g->audio_header, m);
		/* Frames cached so far belong to the old configuration. */
		gop_clear_frames(g);
		return 0;
	}
	if (!g->enabled)
		return 0;
	if (m->type == RTMP_MSG_VIDEO && (m->flags & MEDIA_KEYFRAME)) {
		gop_clear_frames(g);
		g->waiting = 0;
	}
	if (g->waiting)
		return 0;
	return gop_append(g, m);
}

size_t
gop_start(const struct gop *g, struct media **out, size_t max)
{
	size_t	 n = 0, i;

#define PUT(m) do { if (n < max) out[n] = (m); n++; } while (0)
	if (g->metadata != NULL)
		PUT(g->metadata);
	if (g->video_header != NULL)
		PUT(g->video_header);
	if (g->audio_header != NULL)
		PUT(g->audio_header);
	for (i = 0; i < g->count; i++)
		PUT(g->frames[i]);
#undef PUT
	return n;
}
