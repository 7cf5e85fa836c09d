// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the initiation decoder. The first input byte picks
 * the mode: even -> the rest is the UDP payload as sent; odd -> the rest is
 * re-signed with a correct mac1 first (when it is 148 bytes), so mutations
 * reach e, es, s, ss and {t} instead of dying at mac1. The responder key is
 * the one that made the seed corpus (tests/data/gateway.key). Each input is
 * decoded with and without the ss cache; both must agree and the result
 * must be internally consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "noise/noise.h"
#include "wire/keys.h"
#include "wire/messages.h"

#include "responder.h"

static struct noise_responder *responder;
static struct noise_sscache *cache;
static uint8_t responder_pub[WG_KEY_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_responder_setup(&responder, &cache);
	noise_responder_public_key(responder, responder_pub);
	return 0;
}

static void check(const struct noise_result *res)
{
	switch (res->verdict) {
	case NOISE_OK:
		if (!res->has_timestamp || !res->has_static || !res->has_sender_index)
			abort();
		break;
	case NOISE_BAD_TIMESTAMP:
		if (res->has_timestamp || !res->has_static || !res->has_sender_index)
			abort();
		break;
	case NOISE_BAD_STATIC:
	case NOISE_BAD_MAC1:
		if (res->has_timestamp || res->has_static || !res->has_sender_index)
			abort();
		break;
	case NOISE_BAD_FORMAT:
		if (res->has_timestamp || res->has_static || res->has_sender_index)
			abort();
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct noise_result a, b;
	uint8_t msg[WG_MSG_INITIATION_LEN];
	const uint8_t *p;
	size_t len;

	if (size < 1)
		return 0;
	p = data + 1;
	len = size - 1;
	if ((data[0] & 1) && len == WG_MSG_INITIATION_LEN) {
		memcpy(msg, p, len);
		noise_initiation_set_mac1(msg, responder_pub);
		p = msg;
	}
	if (noise_consume_initiation(responder, cache, p, len, &a) ||
	    noise_consume_initiation(responder, NULL, p, len, &b))
		abort();
	check(&a);
	if (memcmp(&a, &b, sizeof(a)))
		abort();
	return 0;
}
