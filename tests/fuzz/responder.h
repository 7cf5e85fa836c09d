/* SPDX-License-Identifier: MIT */
#ifndef JITWG_TESTS_FUZZ_RESPONDER_H
#define JITWG_TESTS_FUZZ_RESPONDER_H

/*
 * The gateway side the initiation-decoding harnesses (fuzz_initiation,
 * fuzz_pcap) run as. A header, not a .c: make fuzz links each harness from
 * its one tests/fuzz/fuzz_NAME.c.
 */

#include <stdlib.h>

#include "wire/keyfile.h"
#include "noise/noise.h"
#include "wire/keys.h"

/*
 * Makes the responder and a 64-entry ss cache from the key in
 * $JITWG_FUZZ_KEY, else tests/data/gateway.key (the seeds' key, found when
 * run from the tree's root as tests/run.sh does), else a fixed key. Any key
 * works for the outer checks; only the seeds' own reaches the inner ones.
 * Aborts on failure: a harness has no caller to report to.
 */
static void fuzz_responder_setup(struct noise_responder **responder, struct noise_sscache **cache)
{
	static const char fallback_key[] = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
	const char *path = getenv("JITWG_FUZZ_KEY");
	uint8_t key[WG_KEY_LEN];

	if (keyfile_read(key, path ? path : "tests/data/gateway.key", NULL) &&
	    key_from_base64(key, fallback_key))
		abort();
	*responder = noise_responder_new(key);
	*cache = noise_sscache_new(64);
	if (!*responder || !*cache)
		abort();
}

#endif
