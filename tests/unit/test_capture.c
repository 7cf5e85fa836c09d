// SPDX-License-Identifier: MIT
/*
 * Capture: the BPF program and the user-space re-check, on real packet
 * sockets. The test moves itself into a fresh network namespace (it runs as
 * root), so its loopback, veth and tun devices vanish with the process.
 * Each case sends its packets followed by a valid "end" marker and reads
 * until the marker arrives, so negatives cost no waiting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <cmocka.h>

#include "capture/bpf.h"
#include "capture/capture.h"
#include "wire/keyfile.h"
#include "noise/noise.h"
#include "wire/keys.h"
#include "wire/udpip.h"

enum { PORT = 51820, PL = CAPTURE_PAYLOAD_LEN, END = 0xffff };

static struct capture *cap;
static uint32_t end_seq;

static void if_up(const char *name)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static int group_setup(void **state)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		print_message("test_capture: needs root for a private network namespace\n");
		return -1;
	}
	if_up("lo");
	cap = capture_open(PORT);
	return cap ? 0 : -1;
}

static int group_teardown(void **state)
{
	capture_free(cap);
	return 0;
}

/* An initiation-shaped payload: type, reserved, marker in the sender index. */
static void payload(uint8_t *p, size_t len, uint8_t type, uint8_t res, uint32_t marker)
{
	memset(p, 0xab, len);
	p[0] = type;
	p[1] = 0;
	p[2] = res;
	p[3] = 0;
	memcpy(p + 4, &marker, 4);
}

static void send_udp(int family, uint16_t port, const uint8_t *p, size_t len, const void *opts,
		     socklen_t optlen)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(family, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	if (opts)
		assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opts, optlen), 0);
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s6.sin6_addr = in6addr_loopback;
	if (family == AF_INET)
		assert_int_equal(sendto(fd, p, len, 0, (struct sockaddr *)&s4, sizeof(s4)), (ssize_t)len);
	else
		assert_int_equal(sendto(fd, p, len, 0, (struct sockaddr *)&s6, sizeof(s6)), (ssize_t)len);
	close(fd);
}

static void send_marker(int family, uint32_t marker)
{
	uint8_t p[PL];

	payload(p, PL, 1, 0, marker);
	send_udp(family, PORT, p, PL, NULL, 0);
}

/*
 * Reads until the end marker (sent last) arrives; returns how many other
 * packets came out (in the marker's read too) and stores their markers.
 */
static size_t collect(uint32_t end, uint32_t *seen, size_t cap_seen, uint64_t *malformed)
{
	struct capture_pkt pkts[32];
	struct pollfd pfd = { .fd = capture_fd(cap), .events = POLLIN };
	size_t n = 0;
	int i, r, k;

	for (i = 0; i < 200; i++) { /* bounded: 200 x 10 ms */
		bool done = false;

		r = poll(&pfd, 1, 10);
		assert_true(r >= 0);
		r = capture_read(cap, pkts, 32, malformed);
		assert_true(r >= 0);
		/* the whole batch: one read may take another socket's packets after the marker */
		for (k = 0; k < r; k++) {
			uint32_t m;

			memcpy(&m, pkts[k].payload + 4, 4);
			if (m == end) {
				done = true;
				continue;
			}
			if (n < cap_seen)
				seen[n] = m;
			n++;
		}
		if (done)
			return n;
	}
	fail_msg("end marker %u never captured", end);
	return n;
}

static uint32_t next_end(void)
{
	return ((uint32_t)END << 16) | ++end_seq;
}

static void test_bpf_build(void **state)
{
	struct sock_filter prog[BPF_INITIATION_FILTER_MAX];
	int n = bpf_build_initiation_filter(prog, BPF_INITIATION_FILTER_MAX, PORT);

	assert_true(n > 10);
	assert_int_equal(prog[n - 1].code, BPF_RET | BPF_K);
	assert_int_equal(prog[n - 1].k, 0);
	assert_int_equal(bpf_build_initiation_filter(prog, (size_t)n - 1, PORT), -ENOSPC);
	assert_int_equal(bpf_build_initiation_filter(prog, BPF_INITIATION_FILTER_MAX, 0), -EINVAL);
}

/* Real sockets over 127.0.0.1 and ::1: only the exact shape comes out. */
static void run_udp_cases(int family)
{
	uint8_t p[PL + 1];
	uint32_t seen[16], end = next_end();
	uint64_t malformed = 0;
	size_t n;

	payload(p, PL, 1, 0, 1);
	send_udp(family, PORT, p, PL, NULL, 0);         /* match */
	send_udp(family, PORT, p, PL, NULL, 0);         /* match again: once each */
	send_udp(family, PORT + 1, p, PL, NULL, 0);     /* wrong port */
	payload(p, PL - 1, 1, 0, 3);
	send_udp(family, PORT, p, PL - 1, NULL, 0);     /* 147 bytes */
	payload(p, PL + 1, 1, 0, 4);
	send_udp(family, PORT, p, PL + 1, NULL, 0);     /* 149 bytes */
	payload(p, PL, 2, 0, 5);
	send_udp(family, PORT, p, PL, NULL, 0);         /* type 2 */
	payload(p, PL, 1, 7, 6);
	send_udp(family, PORT, p, PL, NULL, 0);         /* reserved byte set */
	payload(p, PL, 0x81, 0, 7);
	send_udp(family, PORT, p, PL, NULL, 0);         /* high bit on the type */
	send_marker(family, end);
	n = collect(end, seen, 16, &malformed);
	assert_int_equal(malformed, 0); /* all rejected in the kernel already */
	assert_int_equal(n, 2);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 1);
}

/* A transport message's payload: type 4, receiver index marker, counter ctr, then 0xcd. */
static void transport(uint8_t *p, size_t len, uint32_t marker, uint64_t ctr)
{
	memset(p, 0xcd, len);
	p[0] = 4;
	p[1] = p[2] = p[3] = 0;
	memcpy(p + 4, &marker, 4);
	memcpy(p + 8, &ctr, 8);
}

/*
 * A session's first message (counter 0, any length from an empty payload's
 * 32 bytes up) comes out as CAPTURE_SESSION, once; later messages, short
 * ones and other ports never leave the kernel.
 */
static void run_session_cases(int family)
{
	uint8_t p[1400];
	struct capture_pkt pkts[8];
	struct pollfd pfd = { .fd = capture_fd(cap), .events = POLLIN };
	uint32_t m, seen[2], end = next_end();
	uint64_t malformed = 0;
	bool done = false;
	size_t n = 0;
	int i, r, k;

	transport(p, 32, 11, 0);
	send_udp(family, PORT, p, 32, NULL, 0);         /* a keepalive: match */
	transport(p, 1400, 12, 0);
	send_udp(family, PORT, p, 1400, NULL, 0);       /* data: match, cut */
	transport(p, 32, 13, 1);
	send_udp(family, PORT, p, 32, NULL, 0);         /* counter 1 */
	transport(p, 32, 14, (uint64_t)1 << 40);
	send_udp(family, PORT, p, 32, NULL, 0);         /* counter's high word */
	transport(p, 31, 15, 0);
	send_udp(family, PORT, p, 31, NULL, 0);         /* shorter than a tag */
	transport(p, 32, 16, 0);
	send_udp(family, PORT + 1, p, 32, NULL, 0);     /* wrong port */
	send_marker(family, end);
	for (i = 0; i < 200 && !done; i++) { /* bounded: 200 x 10 ms */
		assert_true(poll(&pfd, 1, 10) >= 0);
		r = capture_read(cap, pkts, 8, &malformed);
		assert_true(r >= 0);
		for (k = 0; k < r; k++) {
			memcpy(&m, pkts[k].payload + 4, 4);
			if (m == end) {
				done = true;
				break;
			}
			assert_int_equal(pkts[k].kind, CAPTURE_SESSION);
			assert_true(n < 2);
			seen[n++] = m;
			/* the head only; the rest of the payload is not kept */
			assert_int_equal(pkts[k].payload[16], 0);
			assert_int_equal(pkts[k].src.sa.sa_family, family);
		}
	}
	assert_true(done);
	assert_int_equal(malformed, 0);
	assert_int_equal(n, 2);
	assert_int_equal(seen[0], 11);
	assert_int_equal(seen[1], 12);
}

static void test_session_ipv4(void **state)
{
	run_session_cases(AF_INET);
}

static void test_session_ipv6(void **state)
{
	run_session_cases(AF_INET6);
}

static uint32_t bpf_pkttype = PACKET_HOST; /* what bpf_run() says the packet's type is */
static uint32_t bpf_run(const struct sock_filter *prog, int n, const uint8_t *pkt, size_t len);

/*
 * The relay's loopback range is skipped for initiations only: a session
 * that started through the relay still says the data plane answered.
 */
static void test_session_skip(void **state)
{
	struct sock_filter prog[BPF_INITIATION_FILTER_MAX];
	int n = bpf_build_initiation_filter_skip_v4(prog, BPF_INITIATION_FILTER_MAX, PORT, 0x7f000000u, 0xff000000u);
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(40001) }, d4 = s4;
	uint8_t pl[1400], b[UDPIP_HDR_MAX + sizeof(pl)];
	struct capture_pkt out;
	int len;

	assert_true(n > 0);
	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	d4.sin_addr = s4.sin_addr;
	d4.sin_port = htons(PORT);
	payload(pl, PL, 1, 0, 21);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, PL);
	assert_int_equal(bpf_run(prog, n, b, (size_t)len), 0);
	transport(pl, sizeof(pl), 22, 0);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, sizeof(pl));
	assert_int_equal(bpf_run(prog, n, b, (size_t)len), BPF_SESSION_SNAP);
	/* what the snap leaves is enough for the re-check */
	assert_int_equal(capture_parse_packet(b, BPF_SESSION_SNAP, PORT, 1, &out), 0);
	assert_int_equal(out.kind, CAPTURE_SESSION);
	assert_int_equal(out.src.sin.sin_port, s4.sin_port);
	/* but not less than the message's header */
	assert_int_equal(capture_parse_packet(b, 20 + 8 + 15, PORT, 1, &out), -EINVAL);
	/* an IP length that disagrees with UDP's */
	b[25] ^= 1;
	assert_int_equal(capture_parse_packet(b, BPF_SESSION_SNAP, PORT, 1, &out), -EINVAL);
}

/* A cookie reply's payload: type 3, receiver index marker, then 0xee. */
static void cookie_reply(uint8_t *p, size_t len, uint32_t marker)
{
	memset(p, 0xee, len);
	p[0] = 3;
	p[1] = p[2] = p[3] = 0;
	memcpy(p + 4, &marker, 4);
}

/*
 * The egress tap's program and re-check: only a 64-byte type-3 message
 * sent from the port, to an address that can be answered, and only in
 * that direction.
 */
static void test_cookie_parse(void **state)
{
	struct sock_filter prog[BPF_INITIATION_FILTER_MAX];
	int n = bpf_build_cookie_filter(prog, BPF_INITIATION_FILTER_MAX, PORT);
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(PORT) }, d6 = s6;
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(PORT) }, d4 = s4;
	uint8_t pl[80], b[UDPIP_HDR_MAX + sizeof(pl)];
	struct capture_pkt out;
	int len;

	assert_true(n > 10);
	assert_int_equal(bpf_build_cookie_filter(prog, (size_t)n - 1, PORT), -ENOSPC);
	assert_int_equal(bpf_build_cookie_filter(prog, BPF_INITIATION_FILTER_MAX, 0), -EINVAL);
	inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr);
	inet_pton(AF_INET, "198.51.100.7", &d4.sin_addr);
	d4.sin_port = htons(40002);
	cookie_reply(pl, CAPTURE_COOKIE_LEN, 31);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, CAPTURE_COOKIE_LEN);
	bpf_pkttype = PACKET_OUTGOING;
	assert_true(bpf_run(prog, n, b, (size_t)len) > 0);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), 0);
	assert_int_equal(out.kind, CAPTURE_COOKIE);
	assert_int_equal(out.src.sin.sin_port, htons(PORT));
	assert_int_equal(out.dst.sin.sin_addr.s_addr, d4.sin_addr.s_addr);
	assert_int_equal(out.dst.sin.sin_port, d4.sin_port);
	assert_memory_equal(out.payload, pl, CAPTURE_COOKIE_LEN);
	assert_int_equal(out.payload[CAPTURE_COOKIE_LEN], 0);
	/* one received, or by the initiations' program: not ours */
	bpf_pkttype = PACKET_HOST;
	assert_int_equal(bpf_run(prog, n, b, (size_t)len), 0);
	bpf_pkttype = PACKET_OUTGOING;
	/* cut short */
	assert_int_equal(capture_parse_packet(b, (size_t)len - 1, PORT, 1, &out), -EINVAL);
	/* 65 bytes, or type 2 */
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, CAPTURE_COOKIE_LEN + 1);
	assert_int_equal(bpf_run(prog, n, b, (size_t)len), 0);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), -EINVAL);
	pl[0] = 2;
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, CAPTURE_COOKIE_LEN);
	assert_int_equal(bpf_run(prog, n, b, (size_t)len), 0);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), -EINVAL);
	/* to the port instead of from it */
	cookie_reply(pl, CAPTURE_COOKIE_LEN, 32);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&d4, (struct sockaddr *)&s4, pl, CAPTURE_COOKIE_LEN);
	assert_int_equal(bpf_run(prog, n, b, (size_t)len), 0);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), -EINVAL);
	/* to nobody */
	d4.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, CAPTURE_COOKIE_LEN);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), -EINVAL);
	/* IPv6 */
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::2", &d6.sin6_addr);
	d6.sin6_port = htons(40003);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s6, (struct sockaddr *)&d6, pl, CAPTURE_COOKIE_LEN);
	assert_true(bpf_run(prog, n, b, (size_t)len) > 0);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), 0);
	assert_int_equal(out.kind, CAPTURE_COOKIE);
	assert_memory_equal(&out.dst.sin6.sin6_addr, &d6.sin6_addr, 16);
	assert_int_equal(out.dst.sin6.sin6_port, d6.sin6_port);
	inet_pton(AF_INET6, "ff02::1", &d6.sin6_addr);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s6, (struct sockaddr *)&d6, pl, CAPTURE_COOKIE_LEN);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), -EINVAL);
	bpf_pkttype = PACKET_HOST;
}

/* Sends len bytes from PORT on the loopback address to port to (a cookie reply leaving the data plane). */
static void send_from_port(int family, uint16_t to, const uint8_t *p, size_t len)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(PORT), .sin6_addr = in6addr_loopback };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int fd = socket(family, SOCK_DGRAM, 0), one = 1;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (family == AF_INET) {
		assert_int_equal(bind(fd, (struct sockaddr *)&s4, sizeof(s4)), 0);
		s4.sin_port = htons(to);
		assert_int_equal(sendto(fd, p, len, 0, (struct sockaddr *)&s4, sizeof(s4)), (ssize_t)len);
	} else {
		assert_int_equal(bind(fd, (struct sockaddr *)&s6, sizeof(s6)), 0);
		s6.sin6_port = htons(to);
		assert_int_equal(sendto(fd, p, len, 0, (struct sockaddr *)&s6, sizeof(s6)), (ssize_t)len);
	}
	close(fd);
}

/*
 * Reads until the end marker and one more empty read, bounded; returns the
 * cookie replies' markers in seen[] (at most 4) and how many came.
 */
static size_t collect_cookies(uint32_t end, uint32_t *seen, uint64_t *malformed)
{
	struct capture_pkt pkts[8];
	struct pollfd pfd = { .fd = capture_fd(cap), .events = POLLIN };
	bool done = false;
	size_t n = 0;
	int i, r, k;

	for (i = 0; i < 200; i++) { /* bounded: 200 x 10 ms */
		assert_true(poll(&pfd, 1, 10) >= 0);
		r = capture_read(cap, pkts, 8, malformed);
		assert_true(r >= 0);
		if (done && r == 0)
			return n;
		for (k = 0; k < r; k++) {
			uint32_t m;

			memcpy(&m, pkts[k].payload + 4, 4);
			if (pkts[k].kind == CAPTURE_INITIATION && m == end) {
				done = true;
				continue;
			}
			assert_int_equal(pkts[k].kind, CAPTURE_COOKIE);
			assert_int_equal(pkts[k].dst.sa.sa_family, pkts[k].src.sa.sa_family);
			if (n < 4)
				seen[n] = m;
			n++;
		}
	}
	fail_msg("end marker %u never captured", end);
	return n;
}

/*
 * The egress tap on real sockets: while open, a cookie reply sent from the
 * port comes out once as CAPTURE_COOKIE; the wrong length, type or port
 * stay in the kernel; closed, nothing comes.
 */
static void run_cookie_cases(int family)
{
	uint8_t p[CAPTURE_COOKIE_LEN + 1];
	uint32_t seen[4], end = next_end();
	uint64_t malformed = 0;

	assert_false(capture_egress_open(cap));
	assert_int_equal(capture_egress(cap, true), 0);
	assert_int_equal(capture_egress(cap, true), 0); /* idempotent */
	assert_true(capture_egress_open(cap));
	cookie_reply(p, CAPTURE_COOKIE_LEN, 41);
	send_from_port(family, 40004, p, CAPTURE_COOKIE_LEN);         /* match */
	cookie_reply(p, CAPTURE_COOKIE_LEN + 1, 42);
	send_from_port(family, 40004, p, CAPTURE_COOKIE_LEN + 1);     /* 65 bytes */
	payload(p, CAPTURE_COOKIE_LEN, 2, 0, 43);
	send_from_port(family, 40004, p, CAPTURE_COOKIE_LEN);         /* type 2 */
	cookie_reply(p, CAPTURE_COOKIE_LEN, 44);
	send_udp(family, PORT + 2, p, CAPTURE_COOKIE_LEN, NULL, 0);   /* not from the port */
	send_marker(family, end);
	assert_int_equal(collect_cookies(end, seen, &malformed), 1);
	assert_int_equal(seen[0], 41);
	assert_int_equal(malformed, 0);
	assert_int_equal(capture_egress(cap, false), 0);
	assert_false(capture_egress_open(cap));
	end = next_end();
	cookie_reply(p, CAPTURE_COOKIE_LEN, 45);
	send_from_port(family, 40004, p, CAPTURE_COOKIE_LEN);         /* closed: not seen */
	send_marker(family, end);
	assert_int_equal(collect_cookies(end, seen, &malformed), 0);
}

static void test_cookie_ipv4(void **state)
{
	run_cookie_cases(AF_INET);
}

static void test_cookie_ipv6(void **state)
{
	run_cookie_cases(AF_INET6);
}

static void test_udp_ipv4(void **state)
{
	run_udp_cases(AF_INET);
}

static void test_udp_ipv6(void **state)
{
	run_udp_cases(AF_INET6);
}

/* The source address and port we report are the datagram's. */
static void test_source(void **state)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(PORT) };
	struct sockaddr_in6 me6;
	socklen_t len = sizeof(me6);
	struct capture_pkt pkts[4];
	struct pollfd pfd = { .fd = capture_fd(cap), .events = POLLIN };
	uint8_t p[PL];
	int fd, r = 0, i;

	s6.sin6_addr = in6addr_loopback;
	payload(p, PL, 1, 0, 77);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(sendto(fd, p, PL, 0, (struct sockaddr *)&s6, sizeof(s6)), PL);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me6, &len), 0);
	for (i = 0; i < 100 && r == 0; i++) {
		poll(&pfd, 1, 10);
		r = capture_read(cap, pkts, 4, NULL);
	}
	close(fd);
	assert_int_equal(r, 1);
	assert_int_equal(pkts[0].src.sa.sa_family, AF_INET6);
	assert_int_equal(pkts[0].src.sin6.sin6_port, me6.sin6_port);
	assert_memory_equal(&pkts[0].src.sin6.sin6_addr, &in6addr_loopback, 16);
	assert_memory_equal(pkts[0].payload, p, PL);
	assert_true(pkts[0].ts.tv_sec > 0 || pkts[0].ts.tv_nsec > 0);
}

/* IPv4 options move the UDP header: the filter must follow IHL. */
static void test_ip_options(void **state)
{
	/* Record route with room for two addresses, then end of list: IHL 8. */
	const uint8_t opts[12] = { IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, IPOPT_END };
	uint8_t p[PL];
	uint32_t seen[8], end = next_end();
	uint64_t malformed = 0;
	size_t n;

	payload(p, PL, 1, 0, 11);
	send_udp(AF_INET, PORT, p, PL, opts, sizeof(opts));
	payload(p, PL, 2, 0, 12);
	send_udp(AF_INET, PORT, p, PL, opts, sizeof(opts));
	send_udp(AF_INET, PORT + 1, p, PL, opts, sizeof(opts));
	send_marker(AF_INET, end);
	n = collect(end, seen, 8, &malformed);
	assert_int_equal(malformed, 0);
	assert_int_equal(n, 1);
	assert_int_equal(seen[0], 11);
}

/* ---- crafted packets, injected through a packet socket ---------------- */

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct v4opt {
	uint16_t frag;     /* flags + offset field */
	int extra_tot;     /* added to the total length field */
	bool bad_csum;
	uint32_t saddr;    /* host order; 0 means 10.1.0.1 */
	size_t plen;       /* UDP payload length, PL by default */
};

static size_t build4(uint8_t *b, uint32_t marker, const struct v4opt *o)
{
	size_t plen = o->plen ? o->plen : PL;
	uint32_t saddr = htonl(o->saddr ? o->saddr : 0x0a010001), daddr = htonl(0x7f000001);
	uint16_t tot = (uint16_t)(20 + 8 + plen + o->extra_tot), sum;

	memset(b, 0, 20 + 8 + plen);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[6] = (uint8_t)(o->frag >> 8);
	b[7] = (uint8_t)o->frag;
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	memcpy(b + 12, &saddr, 4);
	memcpy(b + 16, &daddr, 4);
	sum = csum(b, 20);
	if (o->bad_csum)
		sum ^= 0x0101;
	b[10] = (uint8_t)(sum >> 8);
	b[11] = (uint8_t)sum;
	b[20] = 0x30;
	b[21] = 0x39; /* sport 12345 */
	b[22] = PORT >> 8;
	b[23] = PORT & 0xff;
	b[24] = (uint8_t)((8 + plen) >> 8);
	b[25] = (uint8_t)(8 + plen);
	payload(b + 28, plen, 1, 0, marker);
	return 20 + 8 + plen;
}

/* IPv6 to ::1 from fd00::1 (or fe80::1); hbh inserts a hop-by-hop header. */
static size_t build6(uint8_t *b, uint32_t marker, bool hbh, bool linklocal, bool zero_csum)
{
	size_t off = 40 + (hbh ? 8 : 0);
	uint16_t plen = (uint16_t)(off - 40 + 8 + PL);

	memset(b, 0, off + 8 + PL);
	b[0] = 0x60;
	b[4] = (uint8_t)(plen >> 8);
	b[5] = (uint8_t)plen;
	b[6] = hbh ? 0 : IPPROTO_UDP;
	b[7] = 64;
	b[8] = linklocal ? 0xfe : 0xfd;
	b[9] = linklocal ? 0x80 : 0x00;
	b[23] = 1;
	b[39] = 1; /* ::1 */
	if (hbh) {
		b[40] = IPPROTO_UDP; /* next header */
		b[41] = 0;           /* 8 bytes */
		b[42] = 1;           /* PadN */
		b[43] = 4;
	}
	b[off] = 0x30;
	b[off + 1] = 0x39;
	b[off + 2] = PORT >> 8;
	b[off + 3] = PORT & 0xff;
	b[off + 4] = (8 + PL) >> 8;
	b[off + 5] = (8 + PL) & 0xff;
	b[off + 6] = zero_csum ? 0 : 0x12;
	b[off + 7] = zero_csum ? 0 : 0x34;
	payload(b + off + 8, PL, 1, 0, marker);
	return off + 8 + PL;
}

static void inject(const char *ifname, uint16_t proto, const uint8_t *b, size_t len,
		   const uint8_t mac[6])
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto),
				   .sll_halen = 6 };
	int fd = socket(AF_PACKET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	memcpy(sll.sll_addr, mac, 6);
	assert_int_equal(sendto(fd, b, len, 0, (struct sockaddr *)&sll, sizeof(sll)), (ssize_t)len);
	close(fd);
}

static const uint8_t zero_mac[6];

static void test_crafted(void **state)
{
	uint8_t b[512];
	uint32_t seen[16], end = next_end(), end6;
	uint64_t malformed = 0;
	size_t n, len;

	len = build4(b, 21, &(struct v4opt){ 0 });
	inject("lo", ETH_P_IP, b, len, zero_mac);                       /* match */
	len = build4(b, 22, &(struct v4opt){ .frag = 0x2000 });
	inject("lo", ETH_P_IP, b, len, zero_mac);                       /* first fragment, MF */
	len = build4(b, 23, &(struct v4opt){ .frag = 0x0001 });
	inject("lo", ETH_P_IP, b, len, zero_mac);                       /* non-first fragment */
	len = build4(b, 24, &(struct v4opt){ .frag = 0x4000 });
	inject("lo", ETH_P_IP, b, len, zero_mac);                       /* DF is fine: match */
	len = build4(b, 25, &(struct v4opt){ .extra_tot = 4 });
	inject("lo", ETH_P_IP, b, len + 4, zero_mac);                   /* IP length != IHL+156 */
	len = build4(b, 26, &(struct v4opt){ .bad_csum = true });
	inject("lo", ETH_P_IP, b, len, zero_mac);                       /* filter passes, re-check drops */
	len = build4(b, 27, &(struct v4opt){ .saddr = 0xe0000001 });
	inject("lo", ETH_P_IP, b, len, zero_mac);                       /* multicast source */
	len = build4(b, 28, &(struct v4opt){ .plen = PL + 4 });
	inject("lo", ETH_P_IP, b, len, zero_mac);                       /* 152-byte payload */
	send_marker(AF_INET, end);
	n = collect(end, seen, 16, &malformed);
	assert_int_equal(n, 2);
	assert_int_equal(seen[0], 21);
	assert_int_equal(seen[1], 24);
	assert_int_equal(malformed, 2);

	end6 = next_end();
	malformed = 0;
	len = build6(b, 31, false, false, false);
	inject("lo", ETH_P_IPV6, b, len, zero_mac);                     /* match */
	len = build6(b, 32, true, false, false);
	inject("lo", ETH_P_IPV6, b, len, zero_mac);                     /* hop-by-hop: not walked */
	len = build6(b, 33, false, false, true);
	inject("lo", ETH_P_IPV6, b, len, zero_mac);                     /* zero UDP checksum */
	len = build6(b, 34, false, true, false);
	inject("lo", ETH_P_IPV6, b, len, zero_mac);                     /* link-local source: match */
	send_marker(AF_INET6, end6);
	n = collect(end6, seen, 16, &malformed);
	assert_int_equal(n, 2);
	assert_int_equal(seen[0], 31);
	assert_int_equal(seen[1], 34);
	assert_int_equal(malformed, 1);
}

static void get_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/*
 * Ethernet framing on veth: a frame for the other end's MAC is PACKET_HOST
 * there and comes out once (the sending end's outgoing copy never does);
 * frames for another MAC or broadcast do not.
 */
static void test_veth(void **state)
{
	const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x99 }, bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct capture_pkt pkts[8];
	struct pollfd pfd = { .fd = capture_fd(cap), .events = POLLIN };
	uint8_t mac[6], b[512];
	size_t len;
	int i, r, total = 0, got41 = 0;

	if (system("ip link add jtcapA type veth peer name jtcapB && "
		   "ip link set jtcapA up && ip link set jtcapB up") != 0)
		skip();
	get_mac("jtcapB", mac);
	len = build4(b, 42, &(struct v4opt){ 0 });
	inject("jtcapA", ETH_P_IP, b, len, other);
	len = build4(b, 43, &(struct v4opt){ 0 });
	inject("jtcapA", ETH_P_IP, b, len, bcast);
	len = build4(b, 41, &(struct v4opt){ 0 });
	inject("jtcapA", ETH_P_IP, b, len, mac);
	for (i = 0; i < 100 && !got41; i++) {
		poll(&pfd, 1, 10);
		r = capture_read(cap, pkts, 8, NULL);
		for (int k = 0; k < r; k++) {
			uint32_t m;

			memcpy(&m, pkts[k].payload + 4, 4);
			total++;
			got41 += m == 41;
			assert_int_equal(m, 41);
		}
	}
	/* Anything stray would have arrived before 41: same queue, in order. */
	assert_int_equal(total, 1);
	assert_int_equal(got41, 1);
	assert_int_equal(pkts[0].src.sin.sin_addr.s_addr, htonl(0x0a010001));
	assert_int_equal(pkts[0].src.sin.sin_port, htons(12345));
}

/* tun: no link header at all. Both families through one device. */
static void test_tun(void **state)
{
	struct ifreq ifr;
	uint8_t b[512];
	uint32_t seen[8], end = next_end();
	size_t n, len;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip();
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "jtcaptun");
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	if_up("jtcaptun");
	len = build4(b, 51, &(struct v4opt){ 0 });
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	len = build4(b, 52, &(struct v4opt){ .frag = 0x0010 });
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	len = build6(b, 53, false, true, false);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	/* Markers on lo; v4 and v6 queues are separate, so wait for both. */
	send_marker(AF_INET, end);
	n = collect(end, seen, 8, NULL);
	assert_true(n >= 1);
	{
		struct capture_pkt pkts[8];
		struct pollfd pfd = { .fd = capture_fd(cap), .events = POLLIN };
		int i, r, found = 0;

		for (int k = 0; k < (int)n; k++)
			found += seen[k] == 53 || seen[k] == 51 ? 1 : 100;
		for (i = 0; i < 100 && found < 2; i++) {
			poll(&pfd, 1, 10);
			r = capture_read(cap, pkts, 8, NULL);
			for (int k = 0; k < r; k++) {
				uint32_t m;

				memcpy(&m, pkts[k].payload + 4, 4);
				assert_true(m == 53 || m == 51);
				if (m == 53)
					assert_int_equal(pkts[k].src.sin6.sin6_scope_id,
							 if_nametoindex("jtcaptun"));
				found++;
			}
		}
		assert_int_equal(found, 2);
	}
	close(fd);
}

/* A burst comes out complete, in batches. */
static void test_burst(void **state)
{
	enum { N = 500 };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct capture_pkt pkts[128];
	struct pollfd pfd = { .fd = capture_fd(cap), .events = POLLIN };
	uint8_t p[PL];
	int fd, i, r, got = 0, calls = 0;

	capture_kernel_drops(cap); /* reset */
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	for (i = 0; i < N; i++) {
		payload(p, PL, 1, 0, 1000 + (uint32_t)i);
		assert_int_equal(sendto(fd, p, PL, 0, (struct sockaddr *)&s4, sizeof(s4)), PL);
	}
	close(fd);
	for (i = 0; i < 500 && got < N; i++) {
		poll(&pfd, 1, 10);
		r = capture_read(cap, pkts, 128, NULL);
		assert_true(r >= 0);
		for (int k = 0; k < r; k++) {
			uint32_t m;

			memcpy(&m, pkts[k].payload + 4, 4);
			assert_int_equal(m, 1000 + (uint32_t)(got + k)); /* in order */
		}
		got += r;
		calls += r > 0;
	}
	assert_int_equal(got, N);
	assert_true(calls <= N / 32);
	assert_int_equal(capture_kernel_drops(cap), 0);
}

/* The re-check alone, on every truncation of a good packet. */
static void test_parse(void **state)
{
	uint8_t b[512];
	struct capture_pkt out;
	size_t len, cut;

	len = build4(b, 61, &(struct v4opt){ 0 });
	assert_int_equal(capture_parse_packet(b, len, PORT, 1, &out), 0);
	assert_int_equal(capture_parse_packet(b, len, PORT + 1, 1, &out), -EINVAL);
	for (cut = 0; cut < len; cut++)
		assert_int_equal(capture_parse_packet(b, cut, PORT, 1, &out), -EINVAL);
	len = build6(b, 62, false, true, false);
	assert_int_equal(capture_parse_packet(b, len, PORT, 7, &out), 0);
	assert_int_equal(out.src.sin6.sin6_scope_id, 7);
	for (cut = 0; cut < len; cut++)
		assert_int_equal(capture_parse_packet(b, cut, PORT, 1, &out), -EINVAL);
	len = build6(b, 63, false, false, false);
	assert_int_equal(capture_parse_packet(b, len, PORT, 7, &out), 0);
	assert_int_equal(out.src.sin6.sin6_scope_id, 0);
	b[0] = 0x50;
	assert_int_equal(capture_parse_packet(b, len, PORT, 7, &out), -EINVAL);
}

/*
 * A small classic-BPF interpreter for the opcodes bpf.c emits, so the
 * program can be compared with the user-space re-check on many mutated
 * packets without a socket. Loads past the end return 0, as in the kernel.
 */
static uint32_t bpf_run(const struct sock_filter *prog, int n, const uint8_t *pkt, size_t len)
{
	uint32_t A = 0, X = 0;
	int pc;

	for (pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t k = f->k, off;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (k == (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)) {
				A = bpf_pkttype;
				break;
			}
			if (k == (uint32_t)(SKF_AD_OFF + SKF_AD_MARK)) {
				A = 0;
				break;
			}
			/* fall through */
		case BPF_LD | BPF_W | BPF_IND:
			off = BPF_MODE(f->code) == BPF_IND ? X + k : k;
			if (off + 4 > len)
				return 0;
			A = (uint32_t)pkt[off] << 24 | (uint32_t)pkt[off + 1] << 16 |
			    (uint32_t)pkt[off + 2] << 8 | pkt[off + 3];
			break;
		case BPF_LD | BPF_H | BPF_ABS:
		case BPF_LD | BPF_H | BPF_IND:
			off = BPF_MODE(f->code) == BPF_IND ? X + k : k;
			if (off + 2 > len)
				return 0;
			A = (uint32_t)pkt[off] << 8 | pkt[off + 1];
			break;
		case BPF_LD | BPF_B | BPF_ABS:
			if (k >= len)
				return 0;
			A = pkt[k];
			break;
		case BPF_LDX | BPF_B | BPF_MSH:
			if (k >= len)
				return 0;
			X = (uint32_t)(pkt[k] & 0xf) * 4;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			A &= k;
			break;
		case BPF_ALU | BPF_SUB | BPF_X:
			A -= X;
			break;
		case BPF_MISC | BPF_TXA:
			A = X;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += A == k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += A >= k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (A & k) ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			return k;
		default:
			fail_msg("opcode 0x%x not interpreted", f->code);
		}
	}
	fail_msg("program fell off its end");
	return 0;
}

/*
 * wire/udpip.c builds what jitwgd re-injects: the re-check must read it back
 * exactly (source, destination, payload, both checksums), and so must the
 * kernel program (which then drops it only by its mark).
 */
static void test_udpip_roundtrip(void **state)
{
	struct sock_filter prog[BPF_INITIATION_FILTER_MAX];
	int n = bpf_build_initiation_filter(prog, BPF_INITIATION_FILTER_MAX, PORT);
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(40001) }, d4 = s4;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(40002) }, d6 = s6;
	uint8_t pl[PL], b[UDPIP_HDR_MAX + PL];
	struct capture_pkt out;
	int len;

	memset(pl, 0x5a, sizeof(pl));
	pl[0] = 1;
	pl[1] = pl[2] = pl[3] = 0;
	inet_pton(AF_INET, "198.51.100.7", &s4.sin_addr);
	inet_pton(AF_INET, "192.0.2.1", &d4.sin_addr);
	d4.sin_port = htons(PORT);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, PL);
	assert_int_equal(len, 20 + 8 + PL);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), 0);
	assert_int_not_equal(bpf_run(prog, n, b, (size_t)len), 0);
	assert_memory_equal(&out.src.sin.sin_addr, &s4.sin_addr, 4);
	assert_int_equal(out.src.sin.sin_port, s4.sin_port);
	assert_memory_equal(&out.dst.sin.sin_addr, &d4.sin_addr, 4);
	assert_int_equal(out.dst.sin.sin_port, d4.sin_port);
	assert_memory_equal(out.payload, pl, PL);
	/* the UDP checksum verifies: the sum over pseudo-header and datagram folds to 0 */
	assert_int_equal(udpip_csum_fold(udpip_csum_add(udpip_csum_add(0, b + 12, 8) + IPPROTO_UDP + 8 + PL,
							b + 20, 8 + PL)), 0);

	inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::1", &d6.sin6_addr);
	d6.sin6_port = htons(PORT);
	len = udpip_build(b, sizeof(b), (struct sockaddr *)&s6, (struct sockaddr *)&d6, pl, PL);
	assert_int_equal(len, 40 + 8 + PL);
	assert_int_equal(capture_parse_packet(b, (size_t)len, PORT, 1, &out), 0);
	assert_int_not_equal(bpf_run(prog, n, b, (size_t)len), 0);
	assert_memory_equal(&out.src.sin6.sin6_addr, &s6.sin6_addr, 16);
	assert_memory_equal(&out.dst.sin6.sin6_addr, &d6.sin6_addr, 16);
	assert_int_equal(out.dst.sin6.sin6_port, d6.sin6_port);
	assert_int_equal(udpip_csum_fold(udpip_csum_add(udpip_csum_add(0, b + 8, 32) + IPPROTO_UDP + 8 + PL,
							b + 40, 8 + PL)), 0);

	assert_int_equal(udpip_build(b, sizeof(b), (struct sockaddr *)&s4, (struct sockaddr *)&d6, pl, PL), -EINVAL);
	assert_int_equal(udpip_build(b, 100, (struct sockaddr *)&s4, (struct sockaddr *)&d4, pl, PL), -ENOSPC);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/*
 * Differential: whatever the re-check accepts the kernel program must
 * accept too (else we would miss real initiations), on good packets with
 * random header bytes changed and random truncations. The reverse may
 * differ only by what the program cannot see (checksums, addresses).
 */
static void test_bpf_vs_parse(void **state)
{
	struct sock_filter prog[BPF_INITIATION_FILTER_MAX];
	int n = bpf_build_initiation_filter(prog, BPF_INITIATION_FILTER_MAX, PORT);
	uint8_t good[3][512], b[512];
	size_t glen[3], len;
	unsigned both = 0, bpf_only = 0, i;
	struct capture_pkt out;

	assert_true(n > 0);
	glen[0] = build4(good[0], 1, &(struct v4opt){ 0 });
	glen[1] = build6(good[1], 2, false, false, false);
	/* IPv4 with 8 bytes of NOP options: IHL 7, checksum recomputed. */
	glen[2] = build4(b, 3, &(struct v4opt){ 0 });
	memcpy(good[2], b, 20);
	memset(good[2] + 20, IPOPT_NOP, 8);
	memcpy(good[2] + 28, b + 20, glen[0] - 20);
	glen[2] = glen[0] + 8;
	good[2][0] = 0x47;
	good[2][3] = (uint8_t)glen[2];
	good[2][10] = good[2][11] = 0;
	{
		uint16_t c = csum(good[2], 28);

		good[2][10] = (uint8_t)(c >> 8);
		good[2][11] = (uint8_t)c;
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(capture_parse_packet(good[i], glen[i], PORT, 1, &out), 0);
		assert_int_not_equal(bpf_run(prog, n, good[i], glen[i]), 0);
	}
	for (i = 0; i < 300000; i++) {
		unsigned which = rnd() % 3, flips = 1 + rnd() % 3, f;
		bool p_ok, b_ok;

		len = glen[which];
		memcpy(b, good[which], len);
		for (f = 0; f < flips; f++) {
			/* Mostly the headers: that is where the branches are. */
			size_t at = rnd() % 4 ? rnd() % 60 : rnd() % len;

			b[at] = (uint8_t)(rnd() % 3 ? rnd() : b[at] ^ (1U << (rnd() % 8)));
		}
		if (rnd() % 8 == 0)
			len = rnd() % (len + 8);
		p_ok = capture_parse_packet(b, len, PORT, 1, &out) == 0;
		b_ok = bpf_run(prog, n, b, len) != 0;
		if (p_ok) {
			assert_true(b_ok);
			assert_int_equal(out.payload[0], 1);
		}
		both += p_ok && b_ok;
		bpf_only += b_ok && !p_ok;
	}
	/* Not vacuous: many mutants survive (flips in payload or checksum). */
	assert_true(both > 1000);
	print_message("300000 mutants: %u accepted by both, %u by the program only\n", both, bpf_only);
}

/*
 * Live mode, for tests/integration/capture_wg.sh: in the caller's namespace,
 * wait for one initiation from a real wireguard-go client and prove it is
 * the client's by decoding it with the gateway's private key.
 *   JITWG_CAPTURE_PORT    listen port
 *   JITWG_CAPTURE_KEYFILE gateway private key file
 *   JITWG_CAPTURE_EXPECT  client public key (base64)
 *   JITWG_CAPTURE_SRC     expected source address
 *   JITWG_CAPTURE_READY   file created once the capture is open
 */
static int live_main(void)
{
	const char *src = getenv("JITWG_CAPTURE_SRC"), *ready = getenv("JITWG_CAPTURE_READY");
	uint8_t priv[WG_KEY_LEN], want[WG_KEY_LEN];
	struct noise_responder *r = NULL;
	struct capture_pkt pkts[16];
	struct capture *c;
	const char *why;
	uint64_t malformed = 0;
	int i, k, n, rc = 1;
	FILE *f;

	if (keyfile_read(priv, getenv("JITWG_CAPTURE_KEYFILE"), &why) < 0 ||
	    key_from_base64(want, getenv("JITWG_CAPTURE_EXPECT") ? getenv("JITWG_CAPTURE_EXPECT") : "") < 0 ||
	    !src) {
		fprintf(stderr, "live: bad environment\n");
		return 2;
	}
	r = noise_responder_new(priv);
	c = capture_open((uint16_t)atoi(getenv("JITWG_CAPTURE_PORT")));
	explicit_bzero(priv, sizeof(priv));
	if (!r || !c) {
		fprintf(stderr, "live: open: %s\n", strerror(errno));
		goto out;
	}
	if (ready && (f = fopen(ready, "w")))
		fclose(f);
	for (i = 0; i < 1000; i++) { /* 10 s */
		struct pollfd pfd = { .fd = capture_fd(c), .events = POLLIN };

		poll(&pfd, 1, 10);
		n = capture_read(c, pkts, 16, &malformed);
		for (k = 0; k < n; k++) {
			struct noise_result res;
			char addr[INET6_ADDRSTRLEN];
			const void *a = pkts[k].src.sa.sa_family == AF_INET
						? (const void *)&pkts[k].src.sin.sin_addr
						: (const void *)&pkts[k].src.sin6.sin6_addr;

			inet_ntop(pkts[k].src.sa.sa_family, a, addr, sizeof(addr));
			noise_consume_initiation(r, NULL, pkts[k].payload, CAPTURE_PAYLOAD_LEN, &res);
			printf("captured from %s port %u: %s\n", addr, ntohs(pkts[k].src.sin.sin_port),
			       noise_verdict_name(res.verdict));
			if (res.verdict == NOISE_OK && key_equal(res.initiator_static, want) &&
			    !strcmp(addr, src)) {
				rc = 0;
				goto out;
			}
		}
	}
	fprintf(stderr, "live: no initiation from the client within 10 s (malformed %llu)\n",
		(unsigned long long)malformed);
out:
	capture_free(c);
	noise_responder_free(r);
	return rc;
}

int main(void)
{
	if (getenv("JITWG_CAPTURE_PORT"))
		return live_main();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf_build),
		cmocka_unit_test(test_udpip_roundtrip),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bpf_vs_parse),
		cmocka_unit_test(test_session_skip),
		cmocka_unit_test(test_cookie_parse),
		cmocka_unit_test(test_cookie_ipv4),
		cmocka_unit_test(test_cookie_ipv6),
		cmocka_unit_test(test_udp_ipv4),
		cmocka_unit_test(test_udp_ipv6),
		cmocka_unit_test(test_session_ipv4),
		cmocka_unit_test(test_session_ipv6),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_veth),
		cmocka_unit_test(test_tun),
		cmocka_unit_test(test_burst),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
