// SPDX-License-Identifier: MIT
/*
 * The classic BPF program behind capture.c, assembled here rather than
 * compiled from a pcap expression: libpcap's "udp[8] = 1" only follows
 * IPv4, and we want the whole shape of an initiation checked in the kernel
 * so that ordinary traffic never wakes the daemon.
 *
 * The program runs on a SOCK_DGRAM packet socket, where the kernel has
 * already stripped any link-layer header, so offset 0 is the IP header on
 * Ethernet, veth, loopback and tun alike. The IP version comes from the
 * first nibble, not from the link layer.
 *
 * Accepted, and nothing else:
 *   pkttype == PACKET_HOST (no outgoing copies, broadcast or multicast)
 *   IPv4: IHL >= 5, protocol UDP, MF clear and fragment offset 0,
 *         IHL-relative UDP dport == port, and then
 *         - an initiation: payload word 0 == 01 00 00 00, source outside the
 *           skipped range, UDP length == 156, total length == IHL*4 + 156;
 *         - a session's first message: payload word 0 == 04 00 00 00,
 *           counter (payload bytes 8-15) 0, UDP length >= 40; only its
 *           first BPF_SESSION_SNAP bytes are kept.
 *   IPv6: next header UDP directly after the fixed header (extension
 *         headers are not walked: WireGuard peers do not send them),
 *         dport == port, and the same two shapes (an initiation's payload
 *         length == UDP length == 156).
 * Loads past the end of the packet make classic BPF return 0, so short
 * packets are dropped without explicit length checks.
 *
 * The egress tap's program (bpf_build_cookie_filter) is the same walk for
 * the other direction: outgoing, UDP from the port, a 64-byte type-3
 * message.
 */
#include <errno.h>
#include <string.h>
#include <linux/if_packet.h>

#include "capture/bpf.h"

enum {
	IP4_PROTO_OFF = 9,
	IP4_SADDR_OFF = 12,
	IP4_FRAG_OFF = 6,
	IP4_TOTLEN_OFF = 2,
	IP6_PLEN_OFF = 4,
	IP6_NEXTHDR_OFF = 6,
	IP6_HDR_LEN = 40,
	UDP_DPORT_OFF = 2,
	UDP_LEN_OFF = 4,
	UDP_HDR_LEN = 8,
	WG_UDP_LEN = UDP_HDR_LEN + 148,
	WG_INIT_WORD = 0x01000000, /* type 1, reserved 0,0,0, read big-endian */
	WG_DATA_WORD = 0x04000000, /* type 4: transport data */
	WG_COUNTER_OFF = 8,        /* after type, reserved and the receiver index */
	WG_DATA_UDP_MIN = UDP_HDR_LEN + 32, /* header 16 + an empty payload's tag 16 */
	WG_COOKIE_WORD = 0x03000000, /* type 3: cookie reply */
	WG_COOKIE_UDP_LEN = UDP_HDR_LEN + 64,
	UDP_SPORT_OFF = 0,
	SNAP_LEN = 0x40000,
};

/* Jump targets, resolved after the program is laid out. */
enum label {
	L_NONE = 0, /* fall through to the next instruction */
	L_V4,
	L_V4_INIT,
	L_V6,
	L_V6_INIT,
	L_ACCEPT,
	L_SESSION,
	L_DROP,
	L_COUNT,
};

struct ins {
	uint16_t code;
	uint32_t k;
	enum label jt, jf;
	enum label here; /* label defined at this instruction */
};

#define STMT(c, kk) { .code = (c), .k = (kk) }
#define JUMP(c, kk, t, f) { .code = (c), .k = (kk), .jt = (t), .jf = (f) }
#define AT(l, c, kk) { .code = (c), .k = (kk), .here = (l) }

/* Both programs: the IP version from the first nibble, to L_V4 or L_V6. */
#define IP_VERSION_SPLIT                                                      \
	STMT(BPF_LD | BPF_B | BPF_ABS, 0),                                    \
	STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0),                                \
	JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40, L_V4, L_NONE),                  \
	JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x60, L_V6, L_DROP)

/* Both programs at L_V4: UDP, no fragment (a later one has no UDP header), X = IHL * 4 >= 20. */
#define IP4_UDP_HEADER                                                        \
	AT(L_V4, BPF_LD | BPF_B | BPF_ABS, IP4_PROTO_OFF),                    \
	JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, L_NONE, L_DROP),                  \
	STMT(BPF_LD | BPF_H | BPF_ABS, IP4_FRAG_OFF),                         \
	JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, L_DROP, L_NONE),             \
	STMT(BPF_LDX | BPF_B | BPF_MSH, 0),                                   \
	STMT(BPF_MISC | BPF_TXA, 0),                                          \
	JUMP(BPF_JMP | BPF_JGE | BPF_K, 20, L_NONE, L_DROP)

/* Lays src[0..n) out into prog, resolving the labels. */
static int assemble(struct sock_filter *prog, size_t cap, const struct ins *src, size_t n, uint16_t port)
{
	size_t pos[L_COUNT] = { 0 };
	size_t i;

	if (port == 0)
		return -EINVAL;
	if (cap < n)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		if (src[i].here != L_NONE)
			pos[src[i].here] = i;
	for (i = 0; i < n; i++) {
		size_t jt = src[i].jt == L_NONE ? i + 1 : pos[src[i].jt];
		size_t jf = src[i].jf == L_NONE ? i + 1 : pos[src[i].jf];

		prog[i] = (struct sock_filter){ .code = src[i].code, .k = src[i].k };
		if (BPF_CLASS(src[i].code) == BPF_JMP) {
			/* Classic BPF only jumps forward, by at most 255. */
			if (jt <= i || jf <= i || jt - i - 1 > 255 || jf - i - 1 > 255)
				return -EINVAL;
			prog[i].jt = (uint8_t)(jt - i - 1);
			prog[i].jf = (uint8_t)(jf - i - 1);
		}
	}
	return (int)n;
}

int bpf_build_initiation_filter(struct sock_filter *prog, size_t cap, uint16_t port)
{
	/* (saddr & 0) == 1 never holds: nothing is skipped */
	return bpf_build_initiation_filter_skip_v4(prog, cap, port, 1, 0);
}

int bpf_build_initiation_filter_skip_v4(struct sock_filter *prog, size_t cap, uint16_t port,
					uint32_t net, uint32_t mask)
{
	if (mask == 0)
		net = 1;
	const struct ins src[] = {
		STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, L_NONE, L_DROP),
		/* jitwgd's own re-injection of an initiation it already handled */
		STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_MARK)),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_REINJECT_MARK, L_DROP, L_NONE),
		IP_VERSION_SPLIT,

		IP4_UDP_HEADER,
		STMT(BPF_LD | BPF_H | BPF_IND, UDP_DPORT_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_W | BPF_IND, UDP_HDR_LEN),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_INIT_WORD, L_V4_INIT, L_NONE),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_DATA_WORD, L_NONE, L_DROP),
		/* a session's first message: counter 0 */
		STMT(BPF_LD | BPF_W | BPF_IND, UDP_HDR_LEN + WG_COUNTER_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_W | BPF_IND, UDP_HDR_LEN + WG_COUNTER_OFF + 4),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_IND, UDP_LEN_OFF),
		JUMP(BPF_JMP | BPF_JGE | BPF_K, WG_DATA_UDP_MIN, L_SESSION, L_DROP),
		/* a skipped source range (the relay's loopback sockets): initiations only */
		AT(L_V4_INIT, BPF_LD | BPF_W | BPF_ABS, IP4_SADDR_OFF),
		STMT(BPF_ALU | BPF_AND | BPF_K, mask),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, net, L_DROP, L_NONE),
		STMT(BPF_LD | BPF_H | BPF_IND, UDP_LEN_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_UDP_LEN, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_ABS, IP4_TOTLEN_OFF),
		STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_UDP_LEN, L_ACCEPT, L_DROP),

		AT(L_V6, BPF_LD | BPF_B | BPF_ABS, IP6_NEXTHDR_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_ABS, IP6_HDR_LEN + UDP_DPORT_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_W | BPF_ABS, IP6_HDR_LEN + UDP_HDR_LEN),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_INIT_WORD, L_V6_INIT, L_NONE),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_DATA_WORD, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_W | BPF_ABS, IP6_HDR_LEN + UDP_HDR_LEN + WG_COUNTER_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_W | BPF_ABS, IP6_HDR_LEN + UDP_HDR_LEN + WG_COUNTER_OFF + 4),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_ABS, IP6_HDR_LEN + UDP_LEN_OFF),
		JUMP(BPF_JMP | BPF_JGE | BPF_K, WG_DATA_UDP_MIN, L_SESSION, L_DROP),
		AT(L_V6_INIT, BPF_LD | BPF_H | BPF_ABS, IP6_PLEN_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_UDP_LEN, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_ABS, IP6_HDR_LEN + UDP_LEN_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_UDP_LEN, L_ACCEPT, L_DROP),

		AT(L_ACCEPT, BPF_RET | BPF_K, SNAP_LEN),
		AT(L_SESSION, BPF_RET | BPF_K, BPF_SESSION_SNAP),
		AT(L_DROP, BPF_RET | BPF_K, 0),
	};
	return assemble(prog, cap, src, sizeof(src) / sizeof(src[0]), port);
}

int bpf_build_cookie_filter(struct sock_filter *prog, size_t cap, uint16_t port)
{
	const struct ins src[] = {
		STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, L_NONE, L_DROP),
		IP_VERSION_SPLIT,

		IP4_UDP_HEADER,
		STMT(BPF_LD | BPF_H | BPF_IND, UDP_SPORT_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_IND, UDP_LEN_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_COOKIE_UDP_LEN, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_W | BPF_IND, UDP_HDR_LEN),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_COOKIE_WORD, L_ACCEPT, L_DROP),

		AT(L_V6, BPF_LD | BPF_B | BPF_ABS, IP6_NEXTHDR_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_ABS, IP6_HDR_LEN + UDP_SPORT_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_H | BPF_ABS, IP6_HDR_LEN + UDP_LEN_OFF),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_COOKIE_UDP_LEN, L_NONE, L_DROP),
		STMT(BPF_LD | BPF_W | BPF_ABS, IP6_HDR_LEN + UDP_HDR_LEN),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, WG_COOKIE_WORD, L_ACCEPT, L_DROP),

		AT(L_ACCEPT, BPF_RET | BPF_K, SNAP_LEN),
		AT(L_DROP, BPF_RET | BPF_K, 0),
	};

	return assemble(prog, cap, src, sizeof(src) / sizeof(src[0]), port);
}
