/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CAPTURE_CAPTURE_H
#define JITWG_CAPTURE_CAPTURE_H

/*
 * Catching handshake initiations: an AF_PACKET socket in the caller's
 * network namespace with a classic BPF program (bpf.h) that passes only
 * UDP to the WireGuard listen port whose payload is a 148-byte type-1
 * message with zero reserved bytes, over IPv4 or IPv6. The kernel keeps
 * delivering the packet to WireGuard as usual; we only get a copy.
 *
 * It also passes the first transport message of every session (type 4,
 * counter 0) to the listen port, cut to its header: an initiator sends it
 * at once when the handshake's response arrives (a keepalive if it has
 * nothing queued), so it says that the data plane answered an initiation
 * from that source address and port, without asking the data plane. Later
 * messages (counter > 0) never leave the kernel: one packet per session.
 *
 * On demand, an egress tap (capture_egress()) also passes the cookie
 * replies the data plane sends from the listen port: under load it answers
 * initiations, jitwgd's re-injected copies among them, with a cookie
 * instead of a response. The tap is a third packet socket, bound to
 * ETH_P_ALL because only those see outgoing packets, and the kernel clones
 * every packet the host sends for such a socket before its filter runs:
 * the caller opens it only while that matters (a burst) and closes it after.
 *
 * Not thread-safe: one reader thread per struct capture.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netinet/in.h>

enum { CAPTURE_PAYLOAD_LEN = 148, CAPTURE_SESSION_HEAD_LEN = 16, CAPTURE_COOKIE_LEN = 64 };

enum capture_kind {
	CAPTURE_INITIATION = 0,  /* payload: the whole 148-byte initiation */
	CAPTURE_SESSION,         /* payload: the first 16 bytes of a session's first message, the rest 0 */
	CAPTURE_COOKIE,          /* sent by us: payload the 64-byte cookie reply, the rest 0 */
};

struct capture_pkt {
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} src;                                 /* source address and port of the datagram (a cookie: ours) */
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} dst;                                 /* where it was sent: ours (a cookie: the peer's) */
	struct timespec ts;                    /* CLOCK_MONOTONIC when read */
	enum capture_kind kind;
	uint8_t payload[CAPTURE_PAYLOAD_LEN];  /* see kind */
};

struct capture;

/*
 * Opens the sockets (one per IP version, bound to ETH_P_IP / ETH_P_IPV6 so
 * the kernel never clones outgoing traffic for us) with the filter attached
 * before they are bound, on all interfaces of the current namespace.
 * Returns NULL with errno set (EPERM without CAP_NET_RAW, EINVAL for port 0).
 */
struct capture *capture_open(uint16_t listen_port);
/*
 * Same, but never captures IPv4 initiations from (saddr & mask) == net
 * (host order): jitwgd with --hook skips 127.0.0.0/8, whose initiations
 * jitwg-relay hands over itself (bpf.h).
 */
struct capture *capture_open_skip_v4(uint16_t listen_port, uint32_t net, uint32_t mask);
void capture_free(struct capture *c);
/* Pollable descriptor (an epoll set of both sockets): readable when
 * capture_read() has packets. Level-triggered. */
int capture_fd(const struct capture *c);

/*
 * Reads up to max packets in as few syscalls as possible without blocking.
 * Returns the count (0 if none are pending) or -errno. Packets the filter let
 * through but which fail the exact re-check in user space are dropped and
 * added to *malformed when it is not NULL (incremented, never reset).
 */
int capture_read(struct capture *c, struct capture_pkt *pkts, size_t max, uint64_t *malformed);

/*
 * Opens (on) or closes the egress tap; idempotent. Its packets come out of
 * capture_read() as CAPTURE_COOKIE. Returns 0 or -errno (the tap stays
 * closed).
 */
int capture_egress(struct capture *c, bool on);
bool capture_egress_open(const struct capture *c);

/* Kernel-side drop count since the last call (PACKET_STATISTICS). */
uint64_t capture_kernel_drops(struct capture *c);

/*
 * The user-space re-check on one packet from its IP header on (as a
 * SOCK_DGRAM packet socket or a raw-IP pcap record gives it): fills
 * out->src, out->dst, out->kind and out->payload (not ts) and returns 0 when
 * the packet is exactly an unfragmented initiation to port, or the head of
 * a session's first message to port (its IP and UDP lengths agree; the
 * bytes past its 16-byte header may be cut), with a usable source address
 * and port, or exactly a cookie reply from port to a usable address and
 * port; -EINVAL otherwise. Which direction a packet went is the caller's
 * to check (the packet type of the socket it came from). ifindex becomes the scope of a link-local
 * IPv6 source. Pure; safe on any bytes.
 */
int capture_parse_packet(const uint8_t *pkt, size_t len, uint16_t port, int ifindex,
			 struct capture_pkt *out);

#endif
