/*
 * The balancer's backend file.  What parses is within its bounds, and
 * each backend's address, written back as a line with its settings,
 * parses to the same backend.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct backend_spec	 specs[BACKEND_MAX];
	struct backend_spec		 again;
	char				 err[512], line[BACKEND_LINE_MAX + 64];
	size_t				 n, i;

	if (size > BACKEND_FILE_MAX)
		return 0;
	if (backend_parse_text((const char *)data, size, specs, BACKEND_MAX, &n, err,
	    sizeof(err)) < 0) {
		if (strncmp(err, "line ", 5) != 0)
			abort();
		return 0;
	}
	if (n > BACKEND_MAX)
		abort();
	for (i = 0; i < n; i++) {
		if (specs[i].weight < 1 || specs[i].weight > BACKEND_WEIGHT_MAX ||
		    specs[i].maxconn > BACKEND_MAXCONN_MAX ||
		    memchr(specs[i].name, '\0', sizeof(specs[i].name)) == NULL)
			abort();
		if (specs[i].proxy < 0 || specs[i].proxy > 2)
			abort();
		snprintf(line, sizeof(line), "%s weight %u maxconn %u%s%s", specs[i].name,
		    specs[i].weight, specs[i].maxconn, specs[i].tls ? " tls" : "",
		    specs[i].proxy == 1 ? " proxy v1" : specs[i].proxy == 2 ?
		    " proxy v2" : "");
		if (backend_parse_line(line, &again, err, sizeof(err)) != 1 ||
		    memcmp(&again.addr, &specs[i].addr, sizeof(again.addr)) != 0 ||
		    again.weight != specs[i].weight || again.maxconn != specs[i].maxconn ||
		    again.tls != specs[i].tls || again.proxy != specs[i].proxy)
			abort();
	}
	return 0;
}
