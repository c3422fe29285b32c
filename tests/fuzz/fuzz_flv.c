/*
 * FLV stream reader: the header, then flv_parse_tag() in a loop with codec
 * inspection of every audio/video tag and metadata parsing of script tags.
 * The whole input is also inspected as one bare RTMP media payload.
 */
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "flv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
inspect(int type, const uint8_t *p, size_t len)
{
	struct flv_media_info	 m;
	struct flv_metadata	 md;
	int			 r = 0;

	switch (type) {
	case FLV_TAG_VIDEO:
		r = flv_inspect_video(p, len, &m);
		break;
	case FLV_TAG_AUDIO:
		r = flv_inspect_audio(p, len, &m);
		break;
	case FLV_TAG_SCRIPT:
		r = flv_parse_metadata(p, len, &md);
		if (r >= 0 && md.offset > len)
			abort();
		return;
	default:
		return;
	}
	if (r == 0 && m.header_size > len)
		abort();
	if (r != 0 && r != RTMP_EPROTO)
		abort();
	(void)flv_codec_name(r == 0 ? m.codec : -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flv_header	 h;
	struct flv_tag		 t;
	size_t			 off;
	int			 r;

	inspect(FLV_TAG_VIDEO, data, size);
	inspect(FLV_TAG_AUDIO, data, size);
	inspect(FLV_TAG_SCRIPT, data, size);

	if ((r = flv_parse_header(data, size, &h)) <= 0)
		return 0;
	if ((size_t)r > size)
		abort();
	off = (size_t)r;
	while ((r = flv_parse_tag(data + off, size - off, 1 << 20, &t)) > 0) {
		if ((size_t)r > size - off || t.data + t.size > data + size)
			abort();
		off += (size_t)r;
		inspect(t.type, t.data, t.size);
	}
	if (r != 0 && r != RTMP_EPROTO && r != RTMP_ELIMIT)
		abort();
	return 0;
}
