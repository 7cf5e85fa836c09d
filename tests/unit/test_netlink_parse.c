// SPDX-License-Identifier: MIT
/*
 * The kernel backend's dump reader (netlink.c) on replies built here with
 * libmnl the way drivers/net/wireguard/netlink.c lays them out: device
 * attributes, peers split across messages, errors, interrupted dumps and
 * malformed attributes. The real kernel is tests/kernel/netlink.sh.
 *
 * With JITWG_NETLINK_CORPUS=DIR set, every reply is also written to DIR in
 * the fuzz_netlink input format (the seed corpus of tests/fuzz/).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "dataplane/dataplane.h"
#include "dataplane/netlink.h"
#include <linux/wireguard.h>

/* Must match tests/fuzz/fuzz_netlink.c. */
enum { FAMILY = 0x1c, SEQ = 0x1234, PORTID = 0x4321 };

struct reply {
	uint8_t buf[16384];
	size_t len;
	size_t cuts[32];        /* datagram boundaries, for the corpus */
	size_t n_cuts;
};

static struct nlmsghdr *msg_begin(struct reply *r, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf + r->len);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	nlh->nlmsg_seq = SEQ;
	nlh->nlmsg_pid = PORTID;
	if (type == FAMILY) {
		struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

		g->cmd = WG_CMD_GET_DEVICE;
		g->version = WG_GENL_VERSION;
	}
	return nlh;
}

static void msg_end(struct reply *r, struct nlmsghdr *nlh)
{
	r->len += MNL_ALIGN(nlh->nlmsg_len);
	assert_true(r->len <= sizeof(r->buf));
	if (r->n_cuts < 32)
		r->cuts[r->n_cuts++] = r->len;
}

static void put_end(struct reply *r, uint16_t type, int32_t code)
{
	struct nlmsghdr *nlh = msg_begin(r, type, 0);
	int32_t *p = mnl_nlmsg_put_extra_header(nlh, type == NLMSG_ERROR ?
						sizeof(struct nlmsgerr) : sizeof(code));

	*p = code;
	msg_end(r, nlh);
}

static void key_fill(uint8_t k[WG_KEY_LEN], uint8_t v)
{
	memset(k, v, WG_KEY_LEN);
}

static void put_device(struct nlmsghdr *nlh, uint8_t priv, uint8_t pub, uint16_t port)
{
	uint8_t k[WG_KEY_LEN];

	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	key_fill(k, priv);
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, k);
	key_fill(k, pub);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, k);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, port);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0);
}

static void put_aip(struct nlmsghdr *nlh, const char *addr, uint8_t cidr)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	uint8_t a[16];
	bool v6 = strchr(addr, ':') != NULL;

	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, addr, a), 1);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, v6 ? AF_INET6 : AF_INET);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, v6 ? 16 : 4, a);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, n);
}

struct peer_spec {
	uint8_t key;            /* public key: 32 bytes of this value */
	const char *ep;         /* "1.2.3.4" or "2001:db8::1", NULL: none */
	uint16_t port;
	int64_t hs_sec;
	uint64_t rx, tx;
	uint16_t keepalive;
	const char *aips[4];    /* "addr/cidr" */
	bool only_key;          /* a continuation: key + allowed IPs only */
};

static void put_peer(struct nlmsghdr *nlh, const struct peer_spec *s)
{
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0), *aips;
	uint8_t k[WG_KEY_LEN];

	key_fill(k, s->key);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
	if (!s->only_key) {
		struct { int64_t sec, nsec; } ts = { s->hs_sec, 5 };

		key_fill(k, 0xee);
		mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, k);
		if (s->ep && strchr(s->ep, ':')) {
			struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(s->port) };

			assert_int_equal(inet_pton(AF_INET6, s->ep, &a6.sin6_addr), 1);
			mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(a6), &a6);
		} else if (s->ep) {
			struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(s->port) };

			assert_int_equal(inet_pton(AF_INET, s->ep, &a4.sin_addr), 1);
			mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(a4), &a4);
		}
		mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, s->keepalive);
		mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
		mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, s->rx);
		mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, s->tx);
		mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	}
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	for (size_t i = 0; i < 4 && s->aips[i]; i++) {
		char addr[64];
		char *slash;

		snprintf(addr, sizeof(addr), "%s", s->aips[i]);
		slash = strchr(addr, '/');
		assert_non_null(slash);
		*slash = 0;
		put_aip(nlh, addr, (uint8_t)atoi(slash + 1));
	}
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
}

/* One message: optionally the device, then the peers. */
static void put_msg(struct reply *r, uint16_t flags, bool device, const struct peer_spec *peers,
		    size_t n)
{
	struct nlmsghdr *nlh = msg_begin(r, FAMILY, flags);

	if (device)
		put_device(nlh, 0x11, 0x22, 51820);
	if (n) {
		struct nlattr *list = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);

		for (size_t i = 0; i < n; i++)
			put_peer(nlh, &peers[i]);
		mnl_attr_nest_end(nlh, list);
	}
	msg_end(r, nlh);
}

/* fuzz_netlink's format: a mode byte, then per datagram a LE16 length and the bytes. */
static void corpus_write(const struct reply *r, const char *name, uint8_t mode)
{
	const char *dir = getenv("JITWG_NETLINK_CORPUS");
	char path[4096];
	size_t start = 0;
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputc(mode, f);
	for (size_t i = 0; i <= r->n_cuts; i++) {
		size_t end = i < r->n_cuts ? r->cuts[i] : r->len;
		uint8_t le[2] = { (uint8_t)(end - start), (uint8_t)((end - start) >> 8) };

		if (end == start)
			continue;
		fwrite(le, 1, 2, f);
		fwrite(r->buf + start, 1, end - start, f);
		start = end;
	}
	assert_int_equal(fclose(f), 0);
}

static int parse(struct reply *r, const char *name, struct dp_device *dev,
		 struct dp_peer **peers, size_t *n)
{
	corpus_write(r, name, NL_DUMP_PEERS);
	memset(dev, 0, sizeof(*dev));
	return netlink_dump_parse(r->buf, r->len, FAMILY, SEQ, PORTID, dev, peers, n);
}

static void assert_key(const uint8_t k[WG_KEY_LEN], uint8_t v)
{
	for (size_t i = 0; i < WG_KEY_LEN; i++)
		assert_int_equal(k[i], v);
}

static void assert_aip(const struct dp_allowedip *a, const char *addr, uint8_t cidr)
{
	char buf[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(a->family, &a->ip6, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(a->cidr, cidr);
}

static void test_device(void **state)
{
	struct reply r = { 0 };
	struct dp_device dev;
	struct dp_peer *peers;
	size_t n;

	(void)state;
	put_msg(&r, 0, true, NULL, 0);
	put_end(&r, NLMSG_DONE, 0);
	assert_int_equal(parse(&r, "device", &dev, &peers, &n), 0);
	assert_true(dev.has_private_key);
	assert_key(dev.private_key, 0x11);
	assert_key(dev.public_key, 0x22);
	assert_int_equal(dev.listen_port, 51820);
	assert_int_equal(n, 0);
	dataplane_peers_free(peers, n);
	dataplane_device_wipe(&dev);
}

static void test_peers(void **state)
{
	const struct peer_spec ps[] = {
		{ .key = 0xa1, .ep = "192.0.2.7", .port = 51000, .hs_sec = 1700000000,
		  .rx = 1ULL << 40, .tx = 12345, .keepalive = 25,
		  .aips = { "10.0.0.2/32", "fd00::2/128" } },
		{ .key = 0xa2, .ep = "2001:db8::9", .port = 443, .hs_sec = 0, .rx = 0, .tx = 7,
		  .aips = { "10.1.0.0/16" } },
		{ .key = 0xa3 },
	};
	struct reply r = { 0 };
	struct dp_device dev;
	struct dp_peer *peers;
	size_t n;

	(void)state;
	put_msg(&r, 0, true, ps, 3);
	put_end(&r, NLMSG_DONE, 0);
	assert_int_equal(parse(&r, "peers", &dev, &peers, &n), 0);
	assert_int_equal(n, 3);
	assert_key(peers[0].public_key, 0xa1);
	assert_key(peers[0].preshared_key, 0); /* never kept */
	assert_int_equal(peers[0].endpoint.addr.sa_family, AF_INET);
	assert_int_equal(ntohs(peers[0].endpoint.addr4.sin_port), 51000);
	assert_int_equal(ntohl(peers[0].endpoint.addr4.sin_addr.s_addr), 0xc0000207);
	assert_int_equal(peers[0].last_handshake_sec, 1700000000);
	assert_int_equal(peers[0].rx_bytes, 1ULL << 40);
	assert_int_equal(peers[0].tx_bytes, 12345);
	assert_int_equal(peers[0].persistent_keepalive, 25);
	assert_int_equal(peers[0].n_allowed_ips, 2);
	assert_aip(&peers[0].allowed_ips[0], "10.0.0.2", 32);
	assert_aip(&peers[0].allowed_ips[1], "fd00::2", 128);
	assert_int_equal(peers[1].endpoint.addr.sa_family, AF_INET6);
	assert_int_equal(ntohs(peers[1].endpoint.addr6.sin6_port), 443);
	assert_int_equal(peers[1].endpoint.addr6.sin6_addr.s6_addr[15], 9);
	assert_int_equal(peers[1].tx_bytes, 7);
	assert_int_equal(peers[1].n_allowed_ips, 1);
	assert_aip(&peers[1].allowed_ips[0], "10.1.0.0", 16);
	assert_int_equal(peers[2].endpoint.addr.sa_family, 0);
	assert_int_equal(peers[2].n_allowed_ips, 0);
	assert_null(peers[2].allowed_ips);
	dataplane_peers_free(peers, n);
	dataplane_device_wipe(&dev);
}

/* The kernel's split: message 2 repeats peer a1's key with the rest of its IPs. */
static void build_split(struct reply *r)
{
	const struct peer_spec m1[] = {
		{ .key = 0xa0, .ep = "198.51.100.1", .port = 1, .aips = { "10.9.0.0/24" } },
		{ .key = 0xa1, .ep = "198.51.100.2", .port = 2, .rx = 9,
		  .aips = { "10.0.0.0/24", "10.0.1.0/24" } },
	};
	const struct peer_spec m2[] = {
		{ .key = 0xa1, .only_key = true, .aips = { "fd00:1::/64", "10.0.2.0/24" } },
		{ .key = 0xa2, .ep = "198.51.100.3", .port = 3 },
	};
	const struct peer_spec m3[] = {
		{ .key = 0xa2, .only_key = true, .aips = { "10.2.0.0/16" } },
	};

	put_msg(r, 0, true, m1, 2);
	put_msg(r, 0, false, m2, 2);
	put_msg(r, 0, false, m3, 1);
	put_end(r, NLMSG_DONE, 0);
}

static void check_split(struct dp_peer *peers, size_t n)
{
	assert_int_equal(n, 3);
	assert_key(peers[0].public_key, 0xa0);
	assert_int_equal(peers[0].n_allowed_ips, 1);
	assert_key(peers[1].public_key, 0xa1);
	assert_int_equal(peers[1].rx_bytes, 9);
	assert_int_equal(ntohs(peers[1].endpoint.addr4.sin_port), 2);
	assert_int_equal(peers[1].n_allowed_ips, 4);
	assert_aip(&peers[1].allowed_ips[0], "10.0.0.0", 24);
	assert_aip(&peers[1].allowed_ips[1], "10.0.1.0", 24);
	assert_aip(&peers[1].allowed_ips[2], "fd00:1::", 64);
	assert_aip(&peers[1].allowed_ips[3], "10.0.2.0", 24);
	assert_key(peers[2].public_key, 0xa2);
	assert_int_equal(peers[2].n_allowed_ips, 1);
	assert_aip(&peers[2].allowed_ips[0], "10.2.0.0", 16);
}

static void test_split_peer(void **state)
{
	struct reply r = { 0 };
	struct dp_device dev;
	struct dp_peer *peers;
	size_t n;

	(void)state;
	build_split(&r);
	assert_int_equal(parse(&r, "split", &dev, &peers, &n), 0);
	assert_key(dev.public_key, 0x22);
	check_split(peers, n);
	dataplane_peers_free(peers, n);
	dataplane_device_wipe(&dev);
}

/* The same reply one datagram per message, as the socket delivers it. */
static void test_split_datagrams(void **state)
{
	struct reply r = { 0 };
	struct dp_device dev = { 0 };
	struct nl_dump d;
	struct dp_peer *peers;
	size_t n, start = 0;

	(void)state;
	build_split(&r);
	netlink_dump_init(&d, NL_DUMP_PEERS, &dev, FAMILY, SEQ, PORTID);
	for (size_t i = 0; i < r.n_cuts; i++) {
		bool last = i + 1 == r.n_cuts;

		assert_int_equal(netlink_dump_feed(&d, r.buf + start, r.cuts[i] - start), last);
		if (!last)
			assert_int_equal(netlink_dump_finish(&d), -ENODATA);
		start = r.cuts[i];
	}
	assert_int_equal(netlink_dump_finish(&d), 0);
	assert_int_equal(netlink_dump_take_peers(&d, &peers, &n), 0);
	netlink_dump_uninit(&d);
	check_split(peers, n);
	dataplane_peers_free(peers, n);
	dataplane_device_wipe(&dev);
}

/* Device mode ends after the first message; keys mode keeps no allowed IPs. */
static void test_modes(void **state)
{
	struct reply r = { 0 };
	struct dp_device dev = { 0 };
	struct nl_dump d;

	(void)state;
	build_split(&r);
	netlink_dump_init(&d, NL_DUMP_DEVICE, &dev, FAMILY, SEQ, PORTID);
	assert_true(netlink_dump_feed(&d, r.buf, r.cuts[0]));
	assert_int_equal(netlink_dump_finish(&d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(dev.listen_port, 51820);
	netlink_dump_uninit(&d);
	dataplane_device_wipe(&dev);

	netlink_dump_init(&d, NL_DUMP_KEYS, NULL, FAMILY, SEQ, PORTID);
	assert_true(netlink_dump_feed(&d, r.buf, r.len));
	assert_int_equal(netlink_dump_finish(&d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.n_aips, 0);
	netlink_dump_uninit(&d);

	/* A device dump that ends without a device message is malformed. */
	memset(&r, 0, sizeof(r));
	put_end(&r, NLMSG_DONE, 0);
	netlink_dump_init(&d, NL_DUMP_DEVICE, &dev, FAMILY, SEQ, PORTID);
	assert_true(netlink_dump_feed(&d, r.buf, r.len));
	assert_int_equal(netlink_dump_finish(&d), -EBADMSG);
	netlink_dump_uninit(&d);
}

static void test_unknown_ignored(void **state)
{
	struct reply r = { 0 };
	struct nlmsghdr *nlh;
	struct nlattr *list, *peer, *aips, *aip;
	struct dp_device dev;
	struct dp_peer *peers;
	uint8_t k[WG_KEY_LEN];
	size_t n;

	(void)state;
	nlh = msg_begin(&r, FAMILY, 0);
	put_device(nlh, 0x11, 0x22, 1);
	mnl_attr_put_u32(nlh, 200, 0xdeadbeef);
	list = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_strz(nlh, 99, "from a newer kernel");
	key_fill(k, 0xb0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	aip = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 8);
	mnl_attr_put_u64(nlh, 77, 1);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_put_u32(nlh, WGALLOWEDIP_A_IPADDR, htonl(0x0a000000));
	mnl_attr_nest_end(nlh, aip);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, list);
	msg_end(&r, nlh);
	/* Messages of another request, or of another type, are skipped. */
	nlh = msg_begin(&r, FAMILY, 0);
	nlh->nlmsg_seq = SEQ + 1;
	put_device(nlh, 0x33, 0x33, 2);
	msg_end(&r, nlh);
	nlh = msg_begin(&r, NLMSG_NOOP, 0);
	msg_end(&r, nlh);
	put_end(&r, NLMSG_DONE, 0);
	assert_int_equal(parse(&r, "unknown", &dev, &peers, &n), 0);
	assert_int_equal(dev.listen_port, 1);
	assert_key(dev.private_key, 0x11);
	assert_int_equal(n, 1);
	assert_key(peers[0].public_key, 0xb0);
	assert_int_equal(peers[0].n_allowed_ips, 1);
	assert_aip(&peers[0].allowed_ips[0], "10.0.0.0", 8);
	dataplane_peers_free(peers, n);
	dataplane_device_wipe(&dev);
}

static void test_errors(void **state)
{
	const struct peer_spec p = { .key = 0xa1, .aips = { "10.0.0.1/32" } };
	struct reply r = { 0 };
	struct dp_device dev;
	struct dp_peer *peers;
	size_t n;

	(void)state;
	/* No such device: the kernel answers with NLMSG_ERROR. */
	put_end(&r, NLMSG_ERROR, -ENODEV);
	assert_int_equal(parse(&r, "enodev", &dev, &peers, &n), -ENODEV);
	assert_null(peers);
	assert_int_equal(n, 0);

	/* A dump that failed half way reports its error in NLMSG_DONE. */
	memset(&r, 0, sizeof(r));
	put_msg(&r, 0, true, &p, 1);
	put_end(&r, NLMSG_DONE, -EMSGSIZE);
	assert_int_equal(parse(&r, "done_err", &dev, &peers, &n), -EMSGSIZE);
	assert_null(peers);
	assert_key(dev.private_key, 0); /* wiped on failure */

	/* The peer list changed under the dump: restart it. */
	memset(&r, 0, sizeof(r));
	put_msg(&r, 0, true, &p, 1);
	put_msg(&r, NLM_F_DUMP_INTR, false, NULL, 0);
	put_end(&r, NLMSG_DONE, 0);
	assert_int_equal(parse(&r, "intr", &dev, &peers, &n), -EAGAIN);
	assert_null(peers);

	/* The reply stops before NLMSG_DONE. */
	memset(&r, 0, sizeof(r));
	put_msg(&r, 0, true, &p, 1);
	assert_int_equal(parse(&r, "no_done", &dev, &peers, &n), -ENODATA);

	/* An error message too short for its code, or a code that is no errno. */
	memset(&r, 0, sizeof(r));
	{
		struct nlmsghdr *nlh = msg_begin(&r, NLMSG_ERROR, 0);

		msg_end(&r, nlh);
	}
	assert_int_equal(parse(&r, "short_error", &dev, &peers, &n), -EBADMSG);
	memset(&r, 0, sizeof(r));
	put_end(&r, NLMSG_ERROR, 5);
	assert_int_equal(parse(&r, "positive_error", &dev, &peers, &n), -EBADMSG);
}

/* Builds a one-peer reply with attribute type bad_type given bad_len bytes. */
static int parse_bad_peer_attr(uint16_t bad_type, size_t bad_len)
{
	struct reply r = { 0 };
	struct nlmsghdr *nlh = msg_begin(&r, FAMILY, 0);
	struct nlattr *list, *peer;
	struct dp_device dev;
	struct dp_peer *peers;
	uint8_t junk[64];
	size_t n;
	int ret;

	memset(junk, 0x5a, sizeof(junk));
	junk[0] = AF_INET; /* a plausible sa_family, little endian */
	junk[1] = 0;
	put_device(nlh, 1, 2, 3);
	list = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	if (bad_type != WGPEER_A_PUBLIC_KEY) {
		uint8_t k[WG_KEY_LEN];

		key_fill(k, 0xc0);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
	}
	mnl_attr_put(nlh, bad_type, bad_len, junk);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, list);
	msg_end(&r, nlh);
	put_end(&r, NLMSG_DONE, 0);
	ret = parse(&r, "bad_len", &dev, &peers, &n);
	if (ret == 0)
		dataplane_peers_free(peers, n);
	dataplane_device_wipe(&dev);
	return ret;
}

static void test_wrong_lengths(void **state)
{
	(void)state;
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_PUBLIC_KEY, 31), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_PUBLIC_KEY, 33), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_ENDPOINT, 3), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_ENDPOINT, 1), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_ENDPOINT, 17), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_ENDPOINT, sizeof(struct sockaddr_in)), 0);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_LAST_HANDSHAKE_TIME, 8), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_RX_BYTES, 4), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_TX_BYTES, 9), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 1), -EBADMSG);
	assert_int_equal(parse_bad_peer_attr(WGPEER_A_ALLOWEDIPS, 2), -EBADMSG);
}

/* Device keys and allowed IPs with wrong lengths or values. */
static void test_wrong_device_and_aip(void **state)
{
	struct reply r;
	struct nlmsghdr *nlh;
	struct nlattr *list, *peer, *aips, *aip;
	struct dp_device dev;
	struct dp_peer *peers;
	uint8_t k[WG_KEY_LEN] = { 0 };
	size_t n;

	(void)state;
	memset(&r, 0, sizeof(r));
	nlh = msg_begin(&r, FAMILY, 0);
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 31, k);
	msg_end(&r, nlh);
	put_end(&r, NLMSG_DONE, 0);
	assert_int_equal(parse(&r, "dev_key31", &dev, &peers, &n), -EBADMSG);

	memset(&r, 0, sizeof(r));
	nlh = msg_begin(&r, FAMILY, 0);
	mnl_attr_put_u8(nlh, WGDEVICE_A_LISTEN_PORT, 1);
	msg_end(&r, nlh);
	put_end(&r, NLMSG_DONE, 0);
	assert_int_equal(parse(&r, "dev_port1", &dev, &peers, &n), -EBADMSG);

	/* An IPv4 family with a 16-byte address, then a /33. */
	for (int v = 0; v < 2; v++) {
		uint8_t a[16] = { 10 };

		memset(&r, 0, sizeof(r));
		nlh = msg_begin(&r, FAMILY, 0);
		list = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		peer = mnl_attr_nest_start(nlh, 0);
		key_fill(k, 0xd0);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
		aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		aip = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, v ? 4 : 16, a);
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, v ? 33 : 8);
		mnl_attr_nest_end(nlh, aip);
		mnl_attr_nest_end(nlh, aips);
		mnl_attr_nest_end(nlh, peer);
		mnl_attr_nest_end(nlh, list);
		msg_end(&r, nlh);
		put_end(&r, NLMSG_DONE, 0);
		assert_int_equal(parse(&r, v ? "aip_cidr33" : "aip_v4_16", &dev, &peers, &n),
				 -EBADMSG);
	}
}

/* Attributes cut short by their container's length. */
static void test_truncated(void **state)
{
	const struct peer_spec p = { .key = 0xa1, .ep = "192.0.2.1", .port = 9,
				     .aips = { "10.0.0.1/32", "fd00::1/128" } };
	struct reply r = { 0 };
	struct dp_device dev;
	struct dp_peer *peers;
	struct nlmsghdr *nlh;
	struct nlattr *list;
	size_t n, len, peers_len;
	int ret;

	(void)state;
	put_msg(&r, 0, true, &p, 1);
	len = r.len;
	nlh = (struct nlmsghdr *)r.buf;
	peers_len = 0;
	mnl_attr_for_each(list, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(list) == WGDEVICE_A_PEERS)
			peers_len = MNL_ALIGN(list->nla_len);
	assert_true(peers_len > 64);

	/* The peer list is last: every cut inside it leaves a truncated attribute. */
	for (size_t cut = 4; cut < peers_len; cut += 4) {
		struct reply t = { 0 };

		memcpy(t.buf, r.buf, len);
		((struct nlmsghdr *)t.buf)->nlmsg_len = (uint32_t)(len - cut);
		t.len = len - cut;
		t.cuts[t.n_cuts++] = t.len;
		put_end(&t, NLMSG_DONE, 0);
		ret = parse(&t, "truncated", &dev, &peers, &n);
		assert_int_equal(ret, -EBADMSG);
	}

	/* An inner length that overruns its nest. */
	{
		struct reply t = { 0 };
		struct nlattr *a;

		memcpy(t.buf, r.buf, len);
		t.len = len;
		t.cuts[t.n_cuts++] = len;
		nlh = (struct nlmsghdr *)t.buf;
		mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
			if (mnl_attr_get_type(a) == WGDEVICE_A_PEERS) {
				struct nlattr *peer = mnl_attr_get_payload(a);

				peer->nla_len += 8;
			}
		}
		put_end(&t, NLMSG_DONE, 0);
		assert_int_equal(parse(&t, "overrun", &dev, &peers, &n), -EBADMSG);
	}

	/* A message length that is not a multiple of 4. */
	{
		struct reply t = { 0 };

		memcpy(t.buf, r.buf, len);
		((struct nlmsghdr *)t.buf)->nlmsg_len -= 1;
		t.len = len;
		put_end(&t, NLMSG_DONE, 0);
		assert_int_equal(parse(&t, "unaligned", &dev, &peers, &n), -EBADMSG);
	}
}

/* libmnl's own check passed nlmsg_len >= 2^31 and then never advanced (fuzz_netlink). */
static void test_huge_length(void **state)
{
	struct reply r = { 0 };
	struct dp_device dev;
	struct dp_peer *peers;
	struct nlmsghdr *nlh;
	size_t n;

	(void)state;
	put_msg(&r, 0, true, NULL, 0);
	put_end(&r, NLMSG_DONE, 0);
	nlh = (struct nlmsghdr *)r.buf;
	nlh->nlmsg_len = 0xffffffff;
	assert_int_equal(parse(&r, "huge_len", &dev, &peers, &n), -ENODATA);
	nlh->nlmsg_len = 0x80000000;
	assert_int_equal(parse(&r, "huge_len", &dev, &peers, &n), -ENODATA);
}

/*
 * A failed request on the live socket netlink.c opens (the host kernel's
 * generic netlink controller, no WireGuard and no root needed): the error
 * ack carries only the request's header, never its attributes (where a
 * WG_CMD_SET_DEVICE carries preshared keys), and netlink_wait_ack wipes
 * the receive buffer.
 */
static void test_error_ack_live(void **state)
{
	static const char marker[] = "jitwgSECRETpsk"; /* < GENL_NAMSIZ: an unknown family */
	enum { ACK_LEN = NLMSG_LENGTH(sizeof(struct nlmsgerr)) };
	struct nl_state st = { .seq = 100 };
	uint8_t tx[512], rx[4096];
	const struct nlmsghdr *ack = (const struct nlmsghdr *)rx;
	const struct nlmsgerr *e;
	struct nlmsghdr *nlh;
	socklen_t olen = sizeof(int);
	int one = 0, ret;
	ssize_t len;
	size_t i;

	ret = netlink_sock_reopen(&st);
	if (ret == -EAFNOSUPPORT || ret == -EPERM || ret == -EACCES)
		skip();
	assert_int_equal(ret, 0);
	assert_int_equal(getsockopt(mnl_socket_get_fd(st.sock), SOL_NETLINK, NETLINK_CAP_ACK, &one, &olen), 0);
	assert_int_equal(one, 1);

	/* The ack as it comes off the socket. */
	nlh = netlink_getfamily_msg(&st, tx, marker);
	assert_int_equal(netlink_sock_send(&st, nlh), 0);
	len = mnl_socket_recvfrom(st.sock, rx, sizeof(rx));
	assert_true(len >= ACK_LEN);
	assert_int_equal(ack->nlmsg_type, NLMSG_ERROR);
	e = mnl_nlmsg_get_payload(ack);
	assert_int_equal(e->error, -ENOENT);
	assert_int_equal(ack->nlmsg_len, ACK_LEN); /* header only: no attributes echoed */
	assert_null(memmem(rx, (size_t)len, marker, sizeof(marker) - 1));

	/* Through netlink_wait_ack: the buffer is wiped after the read. */
	st.rx = malloc(NL_RX_BUF_LEN);
	assert_non_null(st.rx);
	memset(st.rx, 0x5a, NL_RX_BUF_LEN);
	nlh = netlink_getfamily_msg(&st, tx, marker);
	assert_int_equal(netlink_sock_send(&st, nlh), 0);
	assert_int_equal(netlink_wait_ack(&st, nlh->nlmsg_seq), -ENOENT);
	for (i = 0; i < ACK_LEN; ++i)
		assert_int_equal(st.rx[i], 0);
	free(st.rx);
	mnl_socket_close(st.sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_split_peer),
		cmocka_unit_test(test_split_datagrams),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_unknown_ignored),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_wrong_lengths),
		cmocka_unit_test(test_wrong_device_and_aip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_huge_length),
		cmocka_unit_test(test_error_ack_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
