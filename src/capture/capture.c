// SPDX-License-Identifier: MIT
/*
 * Catching handshake initiations, and the first message of each session,
 * with packet sockets.
 *
 * Two SOCK_DGRAM packet sockets, bound to ETH_P_IP and ETH_P_IPV6 on every
 * interface. Binding to a protocol rather than ETH_P_ALL puts us on the
 * receive path only: ETH_P_ALL taps would also see (and clone) every packet
 * the host sends, which on a busy gateway is most of its traffic. SOCK_DGRAM
 * hands us the packet from the network header on, whatever the link layer
 * (Ethernet, veth, loopback, tun), so one filter fits all interfaces.
 *
 * Reading is recvmmsg(): one syscall per batch, with no ring-block timeout
 * between a packet's arrival and our wake-up (TPACKET_V3 delivers a block
 * only when it fills or its timer expires, which would add milliseconds to
 * every cold connect). An epoll set joins the two sockets behind one fd.
 *
 * The BPF program is an optimisation; capture_parse_packet() re-checks
 * every field before a packet is handed out.
 *
 * The egress tap (capture.h) is a third socket, bound to ETH_P_ALL and
 * opened only on demand, in the same epoll set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "capture/bpf.h"
#include "capture/capture.h"
#include "common/clock.h"
#include "common/log.h"

enum {
	CAP_BATCH = 64,
	/*
	 * Longest packet that can match: 60-byte IPv4 header + 156. A larger
	 * one is truncated (MSG_TRUNC) and rejected.
	 */
	CAP_BUF = 256,
	CAP_RCVBUF = 4 << 20, /* absorbs a burst of ~10k initiations */
	CAP_ROUNDS = 4,       /* recvmmsg calls per capture_read, at most */
	IP4_HDR_MIN = 20,
	IP6_HDR_LEN = 40,
	UDP_HDR_LEN = 8,
	WG_UDP_LEN = UDP_HDR_LEN + CAPTURE_PAYLOAD_LEN,
	WG_DATA_UDP_MIN = UDP_HDR_LEN + 32, /* a transport message's header and an empty payload's tag */
	WG_COOKIE_UDP_LEN = UDP_HDR_LEN + CAPTURE_COOKIE_LEN,
	EGRESS = 2,           /* fd[EGRESS]: the egress tap, -1 while closed */
};

struct capture {
	int fd[3]; /* [0] IPv4, [1] IPv6, [EGRESS] the egress tap */
	int epfd;
	uint16_t port;
	unsigned next; /* socket to read first: alternates so neither starves */
	uint8_t buf[CAP_BATCH][CAP_BUF];
	struct sockaddr_ll from[CAP_BATCH];
	struct iovec iov[CAP_BATCH];
	struct mmsghdr msg[CAP_BATCH];
};

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return ntohs(v);
}

/* RFC 1071 checksum over an IPv4 header; 0 when it verifies. */
static uint16_t ip4_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP header at udp says: from a port we can answer, to ours. */
static bool ports_ok(const uint8_t *udp, uint16_t port)
{
	return get16(udp) != 0 && get16(udp + 2) == port;
}

static bool initiation_ok(const uint8_t *udp, uint16_t port)
{
	const uint8_t *pl = udp + UDP_HDR_LEN;

	return ports_ok(udp, port) && get16(udp + 4) == WG_UDP_LEN &&
	       pl[0] == 1 && pl[1] == 0 && pl[2] == 0 && pl[3] == 0;
}

/* A session's first message: type 4, counter 0; udp_len from the IP header. */
static bool session_ok(const uint8_t *udp, size_t udp_len, uint16_t port)
{
	static const uint8_t zero[8];
	const uint8_t *pl = udp + UDP_HDR_LEN;

	return ports_ok(udp, port) && udp_len >= WG_DATA_UDP_MIN && get16(udp + 4) == udp_len &&
	       pl[0] == 4 && pl[1] == 0 && pl[2] == 0 && pl[3] == 0 && !memcmp(pl + 8, zero, 8);
}

/* A cookie reply we send: from our port to one that can be answered; udp_len from the IP header. */
static bool cookie_ok(const uint8_t *udp, size_t udp_len, uint16_t port)
{
	const uint8_t *pl = udp + UDP_HDR_LEN;

	return get16(udp) == port && get16(udp + 2) != 0 && udp_len == WG_COOKIE_UDP_LEN &&
	       get16(udp + 4) == udp_len && pl[0] == 3 && pl[1] == 0 && pl[2] == 0 && pl[3] == 0;
}

static void set_kind(struct capture_pkt *out, enum capture_kind kind, const uint8_t *payload)
{
	size_t keep = kind == CAPTURE_INITIATION ? CAPTURE_PAYLOAD_LEN :
		      kind == CAPTURE_COOKIE ? CAPTURE_COOKIE_LEN : CAPTURE_SESSION_HEAD_LEN;

	out->kind = kind;
	memcpy(out->payload, payload, keep);
	memset(out->payload + keep, 0, CAPTURE_PAYLOAD_LEN - keep);
}

static int parse4(const uint8_t *p, size_t len, uint16_t port, struct capture_pkt *out)
{
	enum capture_kind kind;
	size_t ihl, tot;
	uint32_t peer;

	if (len < IP4_HDR_MIN || (p[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(p[0] & 0xf) * 4;
	tot = get16(p + 2);
	if (ihl < IP4_HDR_MIN || tot < ihl + WG_DATA_UDP_MIN || len < ihl + UDP_HDR_LEN + CAPTURE_SESSION_HEAD_LEN)
		return -EINVAL;
	if ((get16(p + 6) & 0x3fff) || p[9] != IPPROTO_UDP || ip4_checksum(p, ihl) != 0)
		return -EINVAL;
	/*
	 * Trailing bytes beyond the IP length are link padding; allowed. A
	 * session's first message is cut by the filter: its header is enough.
	 */
	if (tot == ihl + WG_UDP_LEN && tot <= len && initiation_ok(p + ihl, port))
		kind = CAPTURE_INITIATION;
	else if (session_ok(p + ihl, tot - ihl, port))
		kind = CAPTURE_SESSION;
	else if (tot <= len && cookie_ok(p + ihl, tot - ihl, port))
		kind = CAPTURE_COOKIE;
	else
		return -EINVAL;
	/* Not an address anyone can be answered at: the sender's, or a cookie's receiver. */
	memcpy(&peer, p + (kind == CAPTURE_COOKIE ? 16 : 12), 4);
	if (peer == htonl(INADDR_ANY) || peer == htonl(INADDR_BROADCAST) || IN_MULTICAST(ntohl(peer)))
		return -EINVAL;
	memset(&out->src, 0, sizeof(out->src));
	out->src.sin.sin_family = AF_INET;
	memcpy(&out->src.sin.sin_addr, p + 12, 4);
	memcpy(&out->src.sin.sin_port, p + ihl, 2);
	memset(&out->dst, 0, sizeof(out->dst));
	out->dst.sin.sin_family = AF_INET;
	memcpy(&out->dst.sin.sin_addr, p + 16, 4);
	memcpy(&out->dst.sin.sin_port, p + ihl + 2, 2);
	set_kind(out, kind, p + ihl + UDP_HDR_LEN);
	return 0;
}

static int parse6(const uint8_t *p, size_t len, uint16_t port, int ifindex,
		  struct capture_pkt *out)
{
	enum capture_kind kind;
	struct in6_addr peer;
	size_t plen;

	if (len < IP6_HDR_LEN + UDP_HDR_LEN + CAPTURE_SESSION_HEAD_LEN || (p[0] >> 4) != 6 ||
	    p[6] != IPPROTO_UDP)
		return -EINVAL;
	plen = get16(p + 4);
	/*
	 * A zero UDP checksum is illegal over IPv6; the stack would drop it. (Not
	 * checked on what we send: the tap may see it before the checksum is done.)
	 */
	if (plen == WG_COOKIE_UDP_LEN && len >= IP6_HDR_LEN + plen && cookie_ok(p + IP6_HDR_LEN, plen, port))
		kind = CAPTURE_COOKIE;
	else if (get16(p + IP6_HDR_LEN + 6) == 0)
		return -EINVAL;
	else if (plen == WG_UDP_LEN && len >= IP6_HDR_LEN + WG_UDP_LEN && initiation_ok(p + IP6_HDR_LEN, port))
		kind = CAPTURE_INITIATION;
	else if (session_ok(p + IP6_HDR_LEN, plen, port))
		kind = CAPTURE_SESSION;
	else
		return -EINVAL;
	memcpy(&peer, p + (kind == CAPTURE_COOKIE ? 24 : 8), sizeof(peer));
	if (IN6_IS_ADDR_UNSPECIFIED(&peer) || IN6_IS_ADDR_MULTICAST(&peer))
		return -EINVAL;
	memset(&out->src, 0, sizeof(out->src));
	out->src.sin6.sin6_family = AF_INET6;
	memcpy(&out->src.sin6.sin6_addr, p + 8, 16);
	memcpy(&out->src.sin6.sin6_port, p + IP6_HDR_LEN, 2);
	memset(&out->dst, 0, sizeof(out->dst));
	out->dst.sin6.sin6_family = AF_INET6;
	memcpy(&out->dst.sin6.sin6_addr, p + 24, 16);
	memcpy(&out->dst.sin6.sin6_port, p + IP6_HDR_LEN + 2, 2);
	if (IN6_IS_ADDR_LINKLOCAL(&out->src.sin6.sin6_addr))
		out->src.sin6.sin6_scope_id = ifindex > 0 ? (uint32_t)ifindex : 0;
	if (IN6_IS_ADDR_LINKLOCAL(&out->dst.sin6.sin6_addr))
		out->dst.sin6.sin6_scope_id = ifindex > 0 ? (uint32_t)ifindex : 0;
	set_kind(out, kind, p + IP6_HDR_LEN + UDP_HDR_LEN);
	return 0;
}

int capture_parse_packet(const uint8_t *pkt, size_t len, uint16_t port, int ifindex,
			 struct capture_pkt *out)
{
	if (!pkt || !out || len == 0 || port == 0)
		return -EINVAL;
	switch (pkt[0] >> 4) {
	case 4:
		return parse4(pkt, len, port, out);
	case 6:
		return parse6(pkt, len, port, ifindex, out);
	default:
		return -EINVAL;
	}
}

/*
 * The filter goes on before bind(): a packet socket created with protocol
 * 0 receives nothing, so no unfiltered packet can sit in the queue.
 */
static int open_one(uint16_t proto, const struct sock_fprog *fprog)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto) };
	int fd, ret, rcvbuf = CAP_RCVBUF;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, sizeof(*fprog)) < 0)
		goto fail;
	/* FORCE needs CAP_NET_ADMIN, which jitwgd has; else the sysctl cap applies. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

struct capture *capture_open(uint16_t listen_port)
{
	return capture_open_skip_v4(listen_port, 0, 0);
}

struct capture *capture_open_skip_v4(uint16_t listen_port, uint32_t net, uint32_t mask)
{
	struct sock_filter insns[BPF_INITIATION_FILTER_MAX];
	struct sock_fprog fprog;
	struct capture *c;
	int n, i, err = 0;

	if (listen_port == 0) {
		errno = EINVAL;
		return NULL;
	}
	n = bpf_build_initiation_filter_skip_v4(insns, BPF_INITIATION_FILTER_MAX, listen_port, net, mask);
	if (n < 0) {
		errno = -n;
		return NULL;
	}
	fprog.len = (unsigned short)n;
	fprog.filter = insns;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd[0] = c->fd[1] = c->fd[EGRESS] = c->epfd = -1;
	c->port = listen_port;
	for (i = 0; i < CAP_BATCH; i++) {
		c->iov[i].iov_base = c->buf[i];
		c->iov[i].iov_len = CAP_BUF;
	}
	c->fd[0] = open_one(ETH_P_IP, &fprog);
	if (c->fd[0] < 0) {
		err = -c->fd[0];
		goto fail;
	}
	c->fd[1] = open_one(ETH_P_IPV6, &fprog);
	if (c->fd[1] < 0) {
		err = -c->fd[1];
		goto fail;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		err = errno;
		goto fail;
	}
	for (i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fd[i], &ev) < 0) {
			err = errno;
			goto fail;
		}
	}
	return c;
fail:
	capture_free(c);
	errno = err;
	return NULL;
}

void capture_free(struct capture *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < 3; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}

int capture_fd(const struct capture *c)
{
	return c->epfd;
}

int capture_egress(struct capture *c, bool on)
{
	struct sock_filter insns[BPF_INITIATION_FILTER_MAX];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EGRESS };
	struct sock_fprog fprog = { .filter = insns };
	int n, fd;

	if (!on || c->fd[EGRESS] >= 0) {
		if (!on && c->fd[EGRESS] >= 0) {
			(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd[EGRESS], NULL);
			close(c->fd[EGRESS]);
			c->fd[EGRESS] = -1;
		}
		return 0;
	}
	n = bpf_build_cookie_filter(insns, BPF_INITIATION_FILTER_MAX, c->port);
	if (n < 0)
		return n;
	fprog.len = (unsigned short)n;
	fd = open_one(ETH_P_ALL, &fprog);
	if (fd < 0)
		return fd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	c->fd[EGRESS] = fd;
	return 0;
}

bool capture_egress_open(const struct capture *c)
{
	return c->fd[EGRESS] >= 0;
}

/* One recvmmsg on socket s; appends good packets to pkts. */
static int read_batch(struct capture *c, int s, struct capture_pkt *pkts, size_t max,
		      size_t *got, uint64_t *malformed, bool *more)
{
	struct timespec now;
	unsigned want = max > CAP_BATCH ? CAP_BATCH : (unsigned)max;
	unsigned i;
	int r;

	*more = false;
	for (i = 0; i < want; i++) {
		memset(&c->msg[i].msg_hdr, 0, sizeof(c->msg[i].msg_hdr));
		c->msg[i].msg_hdr.msg_name = &c->from[i];
		c->msg[i].msg_hdr.msg_namelen = sizeof(c->from[i]);
		c->msg[i].msg_hdr.msg_iov = &c->iov[i];
		c->msg[i].msg_hdr.msg_iovlen = 1;
	}
	do
		r = recvmmsg(c->fd[s], c->msg, want, MSG_DONTWAIT, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	*more = (unsigned)r == want;
	now = clock_timespec(CLOCK_MONOTONIC);
	for (i = 0; i < (unsigned)r; i++) {
		struct capture_pkt *out = &pkts[*got];

		if ((c->msg[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    c->from[i].sll_pkttype != (s == EGRESS ? PACKET_OUTGOING : PACKET_HOST) ||
		    capture_parse_packet(c->buf[i], c->msg[i].msg_len, c->port,
					 c->from[i].sll_ifindex, out) < 0 ||
		    (out->kind == CAPTURE_COOKIE) != (s == EGRESS)) {
			if (malformed)
				(*malformed)++;
			log_ratelimited_debug("capture: dropped a packet that failed the re-check");
			continue;
		}
		out->ts = now;
		(*got)++;
	}
	return 0;
}

int capture_read(struct capture *c, struct capture_pkt *pkts, size_t max, uint64_t *malformed)
{
	size_t got = 0;
	bool more[3] = { true, true, c->fd[EGRESS] >= 0 };
	int round, k, ret;

	/*
	 * Rotate which socket goes first so that a flood on one cannot starve
	 * the others; stop after a few rounds so a caller's loop stays
	 * responsive even when every packet fails the re-check.
	 */
	for (round = 0; round < CAP_ROUNDS && got < max && (more[0] || more[1] || more[2]); round++) {
		for (k = 0; k < 3 && got < max; k++) {
			int s = (int)((c->next + (unsigned)k) % 3);

			if (!more[s])
				continue;
			ret = read_batch(c, s, pkts, max - got, &got, malformed, &more[s]);
			/* the tap is an extra: an error there closes it, never the capture */
			if (ret < 0 && s == EGRESS) {
				log_ratelimited_debug("capture: egress tap: %s; closed", strerror(-ret));
				(void)capture_egress(c, false);
				more[s] = false;
			} else if (ret < 0) {
				return ret;
			}
		}
	}
	c->next = (c->next + 1) % 3;
	return (int)got;
}

uint64_t capture_kernel_drops(struct capture *c)
{
	struct tpacket_stats st;
	socklen_t len;
	uint64_t drops = 0;
	int i;

	for (i = 0; i < 3; i++) {
		len = sizeof(st);
		if (c->fd[i] >= 0 && getsockopt(c->fd[i], SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
			drops += st.tp_drops;
	}
	return drops;
}
