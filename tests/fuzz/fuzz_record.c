// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the registry's JSON request parsing
 * (peer_record_from_json: POST /v1/peers bodies and GET responses as the
 * gateway reads them). Whatever parses must serialise, parse again and
 * compare equal, and serialise to the same text: one spelling per record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer_record r, r2;
	const char *field = NULL;
	char *out, *out2;

	if (peer_record_from_json(&r, (const char *)data, size, &field)) {
		if (!field)
			abort(); /* every refusal names a field (an unknown one may be "") */
		return 0;
	}
	out = peer_record_to_json(&r);
	if (!out)
		abort();
	if (peer_record_from_json(&r2, out, strlen(out), &field))
		abort();
	if (!peer_record_equal(&r, &r2) || r.created_at != r2.created_at)
		abort();
	out2 = peer_record_to_json(&r2);
	if (!out2 || strcmp(out, out2))
		abort();
	free(out);
	free(out2);
	peer_record_clear(&r);
	peer_record_clear(&r2);
	return 0;
}
