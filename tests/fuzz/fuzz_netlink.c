// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the kernel backend's WG_CMD_GET_DEVICE dump reader
 * (netlink.c): a corrupt or hostile reply must never crash jitwgd. The
 * first byte picks the mode; the rest is a list of datagrams, each a
 * little-endian 16-bit length and its bytes (a short tail is the last
 * one), so that mutations keep message boundaries plausible. Each
 * datagram is copied into a buffer of its own size, so ASan sees any read
 * past it. Seeds: test_netlink_parse with JITWG_NETLINK_CORPUS set.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/dataplane.h"
#include "dataplane/netlink.h"

/* Must match tests/unit/test_netlink_parse.c. */
enum { FAMILY = 0x1c, SEQ = 0x1234, PORTID = 0x4321 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_peers(const struct dp_peer *peers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int fam = peers[i].endpoint.addr.sa_family;

		assert(fam == 0 || fam == AF_INET || fam == AF_INET6);
		assert((peers[i].n_allowed_ips == 0) == (peers[i].allowed_ips == NULL));
		for (size_t j = 0; j < peers[i].n_allowed_ips; j++) {
			const struct dp_allowedip *a = &peers[i].allowed_ips[j];

			assert((a->family == AF_INET && a->cidr <= 32) ||
			       (a->family == AF_INET6 && a->cidr <= 128));
		}
		/* A peer split across messages is coalesced, never repeated. */
		if (i > 0)
			assert(memcmp(peers[i - 1].public_key, peers[i].public_key, WG_KEY_LEN));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_device dev;
	struct dp_peer *peers = NULL;
	struct nl_dump d;
	size_t pos = 1, n = 0;
	bool done = false;
	int ret;

	if (size < 1)
		return 0;
	memset(&dev, 0, sizeof(dev));
	netlink_dump_init(&d, (enum nl_dump_mode)(data[0] % 3), &dev, FAMILY, SEQ, PORTID);
	while (pos < size && !done) {
		size_t len = size - pos;
		uint8_t *dgram;

		if (len >= 2) {
			size_t want = (size_t)data[pos] | (size_t)data[pos + 1] << 8;

			pos += 2;
			len = want < size - pos ? want : size - pos;
		}
		dgram = malloc(len ? len : 1);
		if (!dgram)
			break;
		memcpy(dgram, data + pos, len);
		done = netlink_dump_feed(&d, dgram, len);
		free(dgram);
		pos += len;
	}
	ret = netlink_dump_finish(&d);
	assert(ret <= 0 && ret >= -4095);
	if (ret == 0 && netlink_dump_take_peers(&d, &peers, &n) == 0) {
		if (d.mode != NL_DUMP_PEERS)
			for (size_t i = 0; i < n; i++)
				assert(peers[i].n_allowed_ips == 0);
		check_peers(peers, n);
		dataplane_peers_free(peers, n);
	}
	netlink_dump_uninit(&d);
	dataplane_device_wipe(&dev);
	return 0;
}
