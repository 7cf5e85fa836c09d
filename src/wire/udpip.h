/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_UDPIP_H
#define JITWG_WIRE_UDPIP_H

/*
 * One UDP datagram with its IP header, as a raw IPPROTO_RAW socket sends
 * it (and as a SOCK_DGRAM packet socket reads it): IPv4 (20-byte header,
 * DF, TTL 64, header checksum filled in) or IPv6 (hop limit 64), and the
 * UDP checksum over the pseudo-header in both. Pure.
 */

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

enum { UDPIP_HDR_MAX = 40 + 8 };

/*
 * Writes the datagram from -> to (same family, AF_INET or AF_INET6; ports
 * in network order as in the sockaddrs) carrying len bytes of payload into
 * out. Returns its length, or -EINVAL (families) / -ENOSPC (cap, or over
 * 65,535 bytes).
 */
int udpip_build(uint8_t *out, size_t cap, const struct sockaddr *from, const struct sockaddr *to,
		const uint8_t *payload, size_t len);

/* RFC 1071: the ones' complement sum of p, to be folded with udpip_csum_fold(). */
uint32_t udpip_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t udpip_csum_fold(uint32_t sum);

#endif
