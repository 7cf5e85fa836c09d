// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the UAPI "get=1" reply parser: a misbehaving or
 * hostile userspace implementation must never crash jitwgd. The input is
 * split at '\n' and fed line by line as uapi.c does; whatever the parser
 * accepts must come out internally consistent and be freed cleanly.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/dataplane.h"
#include "dataplane/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uapi_get g;
	struct dp_device dev;
	struct dp_peer *peers = NULL;
	size_t n = 0, start = 0, i;
	int ret = 0;

	/* The first byte decides whether peers are stored, as get_device skips them. */
	uapi_get_init(&g, size > 0 && (data[0] & 1));
	for (i = 0; i < size && ret == 0; ++i) {
		if (data[i] != '\n')
			continue;
		ret = uapi_get_line(&g, (const char *)data + start, i - start);
		start = i + 1;
	}
	if (ret) {
		uapi_get_uninit(&g);
		return 0;
	}
	if (uapi_get_finish(&g, &dev, &peers, &n) == 0) {
		for (i = 0; i < n; ++i) {
			int fam = peers[i].endpoint.addr.sa_family;

			assert(fam == 0 || fam == AF_INET || fam == AF_INET6);
			assert(peers[i].n_allowed_ips == 0 || peers[i].allowed_ips);
		}
		dataplane_peers_free(peers, n);
		dataplane_device_wipe(&dev);
	}
	return 0;
}
