/*
 * flvwriter.c: RTMP media messages as FLV tags.
 * See flvwriter.h for the contract.
 */
#include <string.h>

#include "chunk.h"
#include "flvwriter.h"
#include "rtmp.h"

void
flvwriter_init(struct flvwriter *w)
{
	memset(w, 0, sizeof(*w));
	timeline_init(&w->timeline);
}

void
flvwriter_rebase(struct flvwriter *w)
{
	timeline_rebase(&w->timeline);
}

size_t
flvwriter_tag_size(const struct flvwriter_tag *t)
{
	return t->head_len + t->len + sizeof(t->trailer);
}

/* Only metadata belongs in the file, not |RtmpSampleAccess or onStatus. */
static int
flvwriter_script_wanted(const uint8_t *p, size_t len, size_t *duration_offset)
{
	struct flv_metadata	 md;

	*duration_offset = 0;
	if (len < 3 || p[0] != 2 || p[3] == '|' ||
	    (len >= 11 && memcmp(p + 3, "onStatus", 8) == 0))
		return 0;
	if (flv_parse_metadata(p, len, &md) == 0)
		*duration_offset = md.duration_offset;
	return 1;
}

int
flvwriter_tag(struct flvwriter *w, uint8_t type, uint32_t timestamp,
    const uint8_t *payload, size_t len, struct flvwriter_tag *tag)
{
	size_t		 skip, at = 0;
	uint64_t	 ts;

	memset(tag, 0, sizeof(*tag));
	if (type == RTMP_MSG_DATA_AMF3) {
		/* A format byte, then AMF0. */
		if (len < 1)
			return 0;
		payload++;
		len--;
		type = FLV_TAG_SCRIPT;
	}
	if (type == FLV_TAG_SCRIPT) {
		skip = rtmp_data_frame_offset(payload, len);
		payload += skip;
		len -= skip;
		if (!flvwriter_script_wanted(payload, len, &tag->duration_offset))
			return 0;
	} else if (type != FLV_TAG_AUDIO && type != FLV_TAG_VIDEO)
		return 0;
	if (len == 0 || len > FLV_MAX_TAG_SIZE)
		return 0;
	if (type == FLV_TAG_SCRIPT)
		ts = timeline_script(&w->timeline);
	else {
		ts = timeline_media(&w->timeline, timestamp);
		tag->spliced = timeline_spliced(&w->timeline);
	}
	if (!w->header_written) {
		flv_write_header(tag->head, 1, 1);
		at = FLV_HEADER_SIZE + FLV_PREVIOUS_SIZE;
		w->header_written = 1;
	}
	flv_write_tag_header(tag->head + at, type, (uint32_t)len, (uint32_t)ts);
	tag->head_len = at + FLV_TAG_HEADER_SIZE;
	tag->payload = payload;
	tag->len = len;
	flv_write_previous_size(tag->trailer, (uint32_t)len + FLV_TAG_HEADER_SIZE);
	tag->type = type;
	tag->timestamp = ts;
	w->tags++;
	return 1;
}
