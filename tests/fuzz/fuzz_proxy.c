/*
 * fuzz_proxy: PROXY v1/v2 headers.  Checks that the parser never reads
 * past its input, never claims more than it was given or than the limits,
 * and answers the same for its own header alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net.h"
#include "proxy.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info	 pi, again;
	char			 s[NET_ADDRSTRLEN];
	uint8_t			*copy;
	int			 rc;

	/* An exact-size copy so ASan sees any over-read. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	rc = proxy_parse(copy, size, &pi);
	if (rc > 0) {
		if ((size_t)rc > size || (pi.version == 1 && rc > PROXY_V1_MAX) ||
		    rc > PROXY_V2_MAX)
			abort();
		if (proxy_parse(copy, (size_t)rc, &again) != rc)
			abort();
		if (!pi.local) {
			net_format_address((struct sockaddr *)&pi.src,
			    pi.srclen, s, sizeof(s));
			net_format_address((struct sockaddr *)&pi.dst,
			    pi.dstlen, s, sizeof(s));
		}
	} else if (rc != 0 && rc != RTMP_EPROTO && rc != RTMP_ELIMIT)
		abort();
	free(copy);
	return 0;
}
