/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CAPTURE_BPF_H
#define JITWG_CAPTURE_BPF_H

#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

enum { BPF_INITIATION_FILTER_MAX = 64 }; /* enough room for the program */

/*
 * The socket mark (SO_MARK) of the initiations jitwgd re-injects into its
 * data plane after an install (gateway/install/reinject.h): the program
 * drops packets carrying it, so a re-injected initiation is not captured,
 * identified and rejected as a replay a second time. "jw" + 1.
 */
#define BPF_REINJECT_MARK 0x6a770001u

/*
 * What the program keeps of a session's first message: the IP header (at
 * most 60 bytes), UDP's 8 and the message's 16-byte header.
 */
enum { BPF_SESSION_SNAP = 96 };

/*
 * Builds the classic BPF program that accepts exactly: a packet received
 * for this host (PACKET_HOST), seen from the network header on (a
 * SOCK_DGRAM packet socket strips Ethernet; tun has no link header), not
 * marked BPF_REINJECT_MARK, IPv4
 * without fragments or IPv6 with UDP as next header, destination port ==
 * port, UDP length == 8 + 148, payload[0] == 1 and payload[1..3] == 0.
 * Also the first transport message of every session (type 4, counter 0,
 * UDP length >= 8 + 32), cut to BPF_SESSION_SNAP bytes: the initiator
 * sends it right after the handshake, so it says that the data plane
 * answered an initiation from that address and port (capture.h).
 * Everything else returns 0. Writes at most cap instructions; returns the
 * count, -ENOSPC, or -EINVAL for port 0.
 */
int bpf_build_initiation_filter(struct sock_filter *prog, size_t cap, uint16_t port);

/*
 * The same program, which also drops IPv4 initiations whose source address
 * satisfies (saddr & mask) == net (host order). With jitwg-relay on this
 * host, initiations from its loopback sockets reach jitwgd through the hook
 * (src/wire/hook.h) and must not be captured a second time on lo.
 * mask 0 excludes nothing.
 */
int bpf_build_initiation_filter_skip_v4(struct sock_filter *prog, size_t cap, uint16_t port,
					uint32_t net, uint32_t mask);

/*
 * The program of the egress tap (capture.h, capture_egress()): accepts
 * exactly a packet this host sends (PACKET_OUTGOING), IPv4 without
 * fragments or IPv6 with UDP as next header, UDP source port == port, UDP
 * length == 8 + 64, payload word 0 == 03 00 00 00: the data plane's cookie
 * reply. Same returns as above.
 */
int bpf_build_cookie_filter(struct sock_filter *prog, size_t cap, uint16_t port);

#endif
