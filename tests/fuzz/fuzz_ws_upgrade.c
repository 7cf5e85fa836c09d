// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the relay's upgrade parser (both directions). An
 * accepted request must have a 24-character key, a head length within the
 * input, and every shorter prefix of its head must ask for more bytes; a
 * refusal carries an HTTP status. The response parser gets the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/upgrade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_upgrade_req req;
	char out[512];
	int n, status;

	n = ws_upgrade_parse_request(&req, (const char *)data, size);
	if (n > 0) {
		if ((size_t)n > size || strlen(req.key) != WS_KEY_LEN)
			abort();
		if (ws_upgrade_response(out, sizeof(out), &req) <= 0)
			abort();
		if (ws_upgrade_parse_request(&req, (const char *)data, (size_t)n - 1) != 0)
			abort();
	} else if (n < 0 && (req.status < 400 || req.status > 599)) {
		abort();
	}
	n = ws_upgrade_parse_response((const char *)data, size, "dGhlIHNhbXBsZSBub25jZQ==", &status);
	if (n > 0 && ((size_t)n > size || status != 101))
		abort();
	return 0;
}
