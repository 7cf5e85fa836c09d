/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_LOOKUP_REGCHECK_H
#define JITWG_GATEWAY_LOOKUP_REGCHECK_H

#include "gateway/core/metrics.h"

/*
 * The start-up check of the registry jitwgd is given: reachable (GET
 * /healthz), token accepted and API v1 spoken (GET /v1/peers?since=0&limit=1,
 * the change feed a gateway token may read). It never stops the daemon (its
 * cache may carry it through a registry outage): it logs one info line when
 * all is well, or one warning that says what to fix (--registry, the
 * --token-file, the token's scope, a /v1 path in the URL), and sets the gauge
 * jitwg_registry_check_ok to 1 or 0.
 */
struct regcheck_config {
	const char *registry_url; /* --registry, copied */
	const char *token;        /* bearer token or NULL, copied (wiped on free) */
	const char *gateway;      /* --gateway NAME or NULL, copied */
	unsigned int timeout_ms;  /* per request */
	struct metrics *metrics;  /* registry_check_ok; outlives the check */
};

struct regcheck;

/* Runs one check on a thread of its own. NULL with errno set if it cannot start. */
struct regcheck *regcheck_start(const struct regcheck_config *cfg);
/* Waits for the check (at most two request timeouts) and frees it. NULL is a no-op. */
void regcheck_free(struct regcheck *rc);

#endif
