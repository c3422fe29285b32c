/*
 * probe.c: a stream judged by what it played.  See probe.h.
 */
#include <string.h>

#include "chunk.h"
#include "flv.h"
#include "probe.h"

void
probe_init(struct probe *p)
{
	memset(p, 0, sizeof(*p));
}

int
probe_media(struct probe *p, uint8_t type, const uint8_t *payload, size_t len)
{
	struct flv_media_info	 m;

	if (type == RTMP_MSG_AUDIO) {
		p->audio++;
		return 0;
	}
	if (type != RTMP_MSG_VIDEO)
		return 0;
	p->video++;
	/* The configuration alone shows nothing: a picture must follow it. */
	if (flv_inspect_video(payload, len, &m) < 0 || !m.keyframe ||
	    m.sequence_header || m.sequence_end || m.command)
		return 0;
	p->keyframe = 1;
	return 1;
}

const char *
probe_missing(const struct probe *p)
{
	if (p->keyframe)
		return NULL;
	if (p->video > 0)
		return "video but no keyframe";
	if (p->audio > 0)
		return "audio only, no video";
	return "no media";
}
