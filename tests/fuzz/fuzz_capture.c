// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the capture's user-space re-check, which sees raw
 * packets from the wire (IPv4 with options, IPv6, any length). Whatever it
 * accepts must be an initiation, or the head of a session's first message
 * (type 4, counter 0), to the port from a real source, or a cookie reply
 * (type 3, 64 bytes) from the port to a real destination.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "capture/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { PORT = 51820 };
	struct capture_pkt pkt;

	if (capture_parse_packet(data, size, PORT, 1, &pkt) == 0) {
		int fam = pkt.src.sa.sa_family;

		static const uint8_t zero[8];

		assert(fam == AF_INET || fam == AF_INET6);
		if (pkt.kind == CAPTURE_INITIATION) {
			assert(pkt.payload[0] == 1 && !pkt.payload[1] && !pkt.payload[2] && !pkt.payload[3]);
			assert(size >= 20 + 8 + CAPTURE_PAYLOAD_LEN);
		} else if (pkt.kind == CAPTURE_COOKIE) {
			assert(pkt.payload[0] == 3 && !pkt.payload[1] && !pkt.payload[2] && !pkt.payload[3]);
			assert(pkt.dst.sa.sa_family == fam);
			assert(fam == AF_INET ? ntohs(pkt.src.sin.sin_port) == PORT && pkt.dst.sin.sin_port
					      : ntohs(pkt.src.sin6.sin6_port) == PORT && pkt.dst.sin6.sin6_port);
			assert(size >= 20 + 8 + CAPTURE_COOKIE_LEN);
		} else {
			assert(pkt.kind == CAPTURE_SESSION);
			assert(pkt.payload[0] == 4 && !pkt.payload[1] && !pkt.payload[2] && !pkt.payload[3]);
			assert(!memcmp(pkt.payload + 8, zero, sizeof(zero)));
			assert(size >= 20 + 8 + CAPTURE_SESSION_HEAD_LEN);
		}
	}
	return 0;
}
