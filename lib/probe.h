/*
 * probe.h: is a live stream up?  What one play showed, judged.
 *
 * rtmp-dump -p plays a stream and calls it up at the first video
 * keyframe: a picture a player could start showing, legacy FLV or
 * Enhanced RTMP (FourCC, ModEx, the first track of a multitrack message)
 * alike.  A sequence header, a sequence end, a command frame or an
 * E-RTMP metadata packet carries no picture and does not count, nor does
 * audio: an audio-only stream never passes, which probe_missing() says.
 *
 * Pure: the caller feeds every audio and video message it plays, across
 * reconnects if it makes any, and asks probe_missing() for the reason
 * once its deadline has passed without a keyframe.  No allocation; the
 * struct is the whole state, zeroed by probe_init().
 */
#ifndef RTMPKIT_PROBE_H
#define RTMPKIT_PROBE_H

#include <stddef.h>
#include <stdint.h>

struct probe {
	uint64_t	 audio;		/* audio messages seen */
	uint64_t	 video;		/* video messages seen */
	int		 keyframe;	/* a keyframe picture came */
};

void	probe_init(struct probe *p);
/*
 * One message as played (type RTMP_MSG_AUDIO, RTMP_MSG_VIDEO, or another
 * type, ignored).  1 if it is a video keyframe picture (every one, not
 * only the first), else 0.  A video payload that does not inspect (too
 * short, a reserved packet type) counts as video that is no keyframe.
 */
int	probe_media(struct probe *p, uint8_t type, const uint8_t *payload,
	    size_t len);
/*
 * Why no keyframe came, as a short phrase for a message: "no media",
 * "audio only, no video", "video but no keyframe"; NULL once one came.
 * A static string.
 */
const char *probe_missing(const struct probe *p);

#endif
