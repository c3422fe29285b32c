#include <stdlib.h>
#include <string.h>

#include "media.h"

struct media *
media_new(uint8_t type, uint32_t timestamp, const void *data, size_t len)
{
	struct media	*m;

	if (len > SIZE_MAX - sizeof(*m))
		return NULL;
	if ((m = malloc(sizeof(*m) + len)) == NULL)
		return NULL;
	m->refs = 1;
	m->type = type;
	m->flags = 0;
	m->timestamp = timestamp;
	m->len = len;
	if (data != NULL && len > 0)
		memcpy(m->data, data, len);
	return m;
}

struct media *
media_ref(struct media *m)
{
	m->refs++;
	return m;
}

void
media_unref(struct media *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}
