// SPDX-License-Identifier: MIT
#include "wire/udpip.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum { IP4_HDR = 20, IP6_HDR = 40, UDP_HDR = 8, TTL = 64 };

uint32_t udpip_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

uint16_t udpip_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int udpip_build(uint8_t *out, size_t cap, const struct sockaddr *from, const struct sockaddr *to,
		const uint8_t *payload, size_t len)
{
	bool v4 = from->sa_family == AF_INET;
	size_t hl = v4 ? IP4_HDR : IP6_HDR, ulen = UDP_HDR + len;
	uint8_t *u = out + hl;
	uint32_t sum;
	uint16_t c;

	if (from->sa_family != to->sa_family || (!v4 && from->sa_family != AF_INET6))
		return -EINVAL;
	if (hl + ulen > cap || hl + ulen > 65535)
		return -ENOSPC;
	memset(out, 0, hl + UDP_HDR);
	if (v4) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)from, *d = (const struct sockaddr_in *)to;

		out[0] = 0x45;
		put16(out + 2, (uint16_t)(hl + ulen));
		put16(out + 6, 0x4000); /* DF */
		out[8] = TTL;
		out[9] = IPPROTO_UDP;
		memcpy(out + 12, &s->sin_addr, 4);
		memcpy(out + 16, &d->sin_addr, 4);
		put16(out + 10, udpip_csum_fold(udpip_csum_add(0, out, IP4_HDR)));
		memcpy(u, &s->sin_port, 2);
		memcpy(u + 2, &d->sin_port, 2);
		sum = udpip_csum_add(0, out + 12, 8);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)from,
					  *d = (const struct sockaddr_in6 *)to;

		out[0] = 0x60;
		put16(out + 4, (uint16_t)ulen);
		out[6] = IPPROTO_UDP;
		out[7] = TTL;
		memcpy(out + 8, &s->sin6_addr, 16);
		memcpy(out + 24, &d->sin6_addr, 16);
		memcpy(u, &s->sin6_port, 2);
		memcpy(u + 2, &d->sin6_port, 2);
		sum = udpip_csum_add(0, out + 8, 32);
	}
	put16(u + 4, (uint16_t)ulen);
	memcpy(u + UDP_HDR, payload, len);
	/* pseudo-header: addresses (above), protocol, UDP length; then the datagram */
	sum += IPPROTO_UDP + (uint32_t)ulen;
	c = udpip_csum_fold(udpip_csum_add(sum, u, ulen));
	put16(u + 6, c ? c : 0xffff);
	return (int)(hl + ulen);
}
