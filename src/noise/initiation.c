// SPDX-License-Identifier: MIT
/* Placeholder: the real decoder replaces this file. */
#include <errno.h>
#include <string.h>
#include "noise/noise.h"

const char *noise_verdict_name(enum noise_verdict v)
{
	static const char *names[] = { "ok", "bad-format", "bad-mac1", "bad-static", "bad-timestamp" };
	return (unsigned)v < 5 ? names[v] : "?";
}

int noise_consume_initiation(const struct noise_responder *r, struct noise_sscache *cache,
			     const uint8_t *payload, size_t len, struct noise_result *res)
{
	if (!r || !payload || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->verdict = NOISE_BAD_FORMAT;
	return 0;
}
