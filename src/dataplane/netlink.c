// SPDX-License-Identifier: MIT
/*
 * Kernel backend: Linux WireGuard over the generic netlink family
 * "wireguard" (<linux/wireguard.h>), through libmnl.
 *
 * The kernel answers WG_CMD_GET_DEVICE only as a dump. The first message
 * carries the device attributes and the first peers; later messages carry
 * only WGDEVICE_A_PEERS. A peer whose allowed IPs overflow a message is
 * repeated at the head of the next one with just its public key and the
 * remaining allowed IPs, so we coalesce adjacent records with equal keys.
 * If the peer list changes during a dump the kernel flags the messages
 * NLM_F_DUMP_INTR; we drain that dump and start again.
 *
 * Writes are in netlink-set.c. Secrets: the private key (and the preshared
 * keys, which we never keep) arrive in dump messages, and without
 * NETLINK_CAP_ACK every error ack would carry back the whole request it
 * answers, preshared keys included. So the socket sets NETLINK_CAP_ACK
 * (acks carry only the request's header) and every receive, dump, ack or
 * control reply, is wiped once it is read.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include "dataplane/netlink.h"
/* After keys.h: <linux/wireguard.h> defines WG_KEY_LEN as a macro. */
#include <linux/wireguard.h>

enum { DUMP_RETRIES = 8 }; /* restarts after NLM_F_DUMP_INTR */

/* ---- socket plumbing -------------------------------------------------- */

int netlink_sock_reopen(struct nl_state *st)
{
	struct mnl_socket *s;
	int one = 1;

	if (st->sock) {
		mnl_socket_close(st->sock);
		st->sock = NULL;
	}
	s = mnl_socket_open(NETLINK_GENERIC);
	if (!s)
		return -errno;
	/* Kernels since 4.3 have it, and WireGuard needs 5.6: no fallback. */
	if (mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(s);
		return err;
	}
	st->sock = s;
	st->portid = mnl_socket_get_portid(s);
	return 0;
}

int netlink_sock_send(struct nl_state *st, const struct nlmsghdr *nlh)
{
	ssize_t n;
	int ret;

	/* A failed re-open earlier leaves no socket: try again here. */
	if (!st->sock && (ret = netlink_sock_reopen(st)))
		return ret;
	do
		n = mnl_socket_sendto(st->sock, nlh, nlh->nlmsg_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == nlh->nlmsg_len ? 0 : -EIO;
}

/*
 * mnl_nlmsg_ok() compares (int)nlmsg_len: a length of 2^31 or more passes,
 * and mnl_nlmsg_next() then steps by its aligned value, which wraps to 0,
 * forever (found by tests/fuzz/fuzz_netlink.c). Ours compares unsigned.
 */
static bool msg_ok(const struct nlmsghdr *m, int left)
{
	return left >= (int)sizeof(*m) && m->nlmsg_len >= sizeof(*m) &&
	       m->nlmsg_len <= (unsigned int)left;
}

ssize_t netlink_recv(struct mnl_socket *sock, void *buf, size_t len)
{
	ssize_t n;

	do
		n = mnl_socket_recvfrom(sock, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * Waits for the acknowledgement of request seq. Messages for other
 * sequence numbers (leftovers of an abandoned exchange) are skipped.
 */
int netlink_wait_ack(struct nl_state *st, uint32_t seq)
{
	int ret = 1; /* not found yet */

	while (ret > 0) {
		ssize_t len = netlink_recv(st->sock, st->rx, NL_RX_BUF_LEN);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)st->rx;
		int left;

		if (len < 0)
			return -errno;
		left = (int)len;
		for (; msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != st->portid)
				continue;
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
				ret = -EBADMSG;
				break;
			}
			e = mnl_nlmsg_get_payload(nlh);
			ret = e->error > 0 ? -EBADMSG : e->error;
			break;
		}
		explicit_bzero(st->rx, (size_t)len);
	}
	return ret;
}

struct nlmsghdr *netlink_msg_start(struct nl_state *st, uint8_t *buf, uint8_t cmd,
				       uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = st->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++st->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = WG_GENL_VERSION;
	return nlh;
}

/* ---- open: family, interface ------------------------------------------ */

static int resolve_family_cb(const struct nlattr *a, void *data)
{
	uint16_t *family = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		*family = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int resolve_family_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), resolve_family_cb, data);
}

struct nlmsghdr *netlink_getfamily_msg(struct nl_state *st, uint8_t *buf, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++st->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	return nlh;
}

/* The family is absent when wireguard.ko is neither built in nor loadable. */
static int resolve_family(struct nl_state *st)
{
	struct nlmsghdr *nlh = netlink_getfamily_msg(st, st->tx, WG_GENL_NAME);
	uint16_t family = 0;
	ssize_t len;
	int ret;

	ret = netlink_sock_send(st, nlh);
	if (ret)
		return ret;
	do {
		len = netlink_recv(st->sock, st->rx, NL_RX_BUF_LEN);
		if (len < 0)
			return -errno;
		ret = mnl_cb_run(st->rx, len, st->seq, st->portid, resolve_family_msg, &family);
		explicit_bzero(st->rx, (size_t)len);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return errno == ENOENT ? -EPROTONOSUPPORT : -errno;
	if (!family)
		return -EPROTONOSUPPORT;
	st->family = family;
	return 0;
}

static void nl_close(void *state)
{
	struct nl_state *st = state;

	if (!st)
		return;
	if (st->sock)
		mnl_socket_close(st->sock);
	if (st->rx) {
		explicit_bzero(st->rx, NL_RX_BUF_LEN);
		free(st->rx);
	}
	if (st->tx) {
		explicit_bzero(st->tx, NL_SET_MSG_LEN);
		free(st->tx);
	}
	free(st);
}

/*
 * Fails with -EPROTONOSUPPORT when the kernel has no WireGuard family,
 * -ENODEV when ifname does not exist and -EOPNOTSUPP when it is not a
 * WireGuard interface, so the dispatcher can tell the operator which.
 */
static int nl_open(const char *ifname, void **state)
{
	struct nl_state *st = NULL;
	int ret;

	*state = NULL;
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->rx = malloc(NL_RX_BUF_LEN);
	st->tx = malloc(NL_SET_MSG_LEN);
	if (!st->rx || !st->tx) {
		ret = -ENOMEM;
		goto out;
	}
	strcpy(st->ifname, ifname);
	st->seq = (uint32_t)time(NULL);
	ret = netlink_sock_reopen(st);
	if (ret)
		goto out;
	ret = resolve_family(st);
	if (ret)
		goto out;
	ret = netlink_check_link(ifname);
	if (ret)
		goto out;
	*state = st;
	st = NULL;
out:
	nl_close(st);
	return ret;
}

/* ---- reading: the device dump ------------------------------------------ */

/*
 * The reader below is fed datagrams by dump_once() and, in tests and the
 * fuzzer, by netlink_dump_parse(): the bytes take the same path either way.
 */

void netlink_dump_init(struct nl_dump *d, enum nl_dump_mode mode, struct dp_device *dev,
		       uint16_t family, uint32_t seq, uint32_t portid)
{
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->dev = dev;
	d->family = family;
	d->seq = seq;
	d->portid = portid;
}

void netlink_dump_uninit(struct nl_dump *d)
{
	free(d->peers);
	free(d->aip_first);
	free(d->aips);
	memset(d, 0, sizeof(*d));
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			return -ENOMEM;
		c *= 2;
	}
	np = realloc(*p, c * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = c;
	return 0;
}

/*
 * libmnl's iterators stop quietly at an attribute that overruns its
 * container; anything but alignment padding left behind is a truncated
 * attribute, and the message is rejected rather than half-read.
 */
static bool attrs_end(const struct nlattr *a, const void *end)
{
	return (const char *)end - (const char *)a < (ptrdiff_t)MNL_ATTR_HDRLEN;
}

static const void *nest_end(const struct nlattr *nest)
{
	return (const char *)mnl_attr_get_payload(nest) + mnl_attr_get_payload_len(nest);
}

static int parse_allowedip(const struct nlattr *nest, struct dp_allowedip *out)
{
	const struct nlattr *a;
	bool fam = false, addr = false, cidr = false;
	uint16_t alen = 0;

	memset(out, 0, sizeof(*out));
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case WGALLOWEDIP_A_FAMILY:
			if (mnl_attr_validate(a, MNL_TYPE_U16))
				return -EBADMSG;
			out->family = mnl_attr_get_u16(a);
			fam = true;
			break;
		case WGALLOWEDIP_A_IPADDR:
			alen = mnl_attr_get_payload_len(a);
			if (alen == sizeof(out->ip4))
				memcpy(&out->ip4, mnl_attr_get_payload(a), alen);
			else if (alen == sizeof(out->ip6))
				memcpy(&out->ip6, mnl_attr_get_payload(a), alen);
			else
				return -EBADMSG;
			addr = true;
			break;
		case WGALLOWEDIP_A_CIDR_MASK:
			if (mnl_attr_validate(a, MNL_TYPE_U8))
				return -EBADMSG;
			out->cidr = mnl_attr_get_u8(a);
			cidr = true;
			break;
		}
	}
	if (!attrs_end(a, nest_end(nest)) || !fam || !addr || !cidr)
		return -EBADMSG;
	if (out->family == AF_INET && alen == sizeof(out->ip4) && out->cidr <= 32)
		return 0;
	if (out->family == AF_INET6 && alen == sizeof(out->ip6) && out->cidr <= 128)
		return 0;
	return -EBADMSG;
}

static int parse_endpoint(const struct nlattr *a, union dp_endpoint *ep)
{
	uint16_t len = mnl_attr_get_payload_len(a);
	sa_family_t fam;

	if (len < sizeof(fam))
		return -EBADMSG;
	memcpy(&fam, mnl_attr_get_payload(a), sizeof(fam));
	if ((fam == AF_INET && len == sizeof(ep->addr4)) ||
	    (fam == AF_INET6 && len == sizeof(ep->addr6))) {
		memcpy(ep, mnl_attr_get_payload(a), len);
		return 0;
	}
	return -EBADMSG;
}

/* Parses one peer record, appending it or coalescing it with the last one. */
static int parse_peer(struct nl_dump *d, const struct nlattr *nest)
{
	const struct nlattr *a, *aips = NULL;
	struct dp_peer p;
	struct dp_peer *cur;
	bool have_key = false;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case WGPEER_A_PUBLIC_KEY:
			if (mnl_attr_get_payload_len(a) != WG_KEY_LEN)
				return -EBADMSG;
			memcpy(p.public_key, mnl_attr_get_payload(a), WG_KEY_LEN);
			have_key = true;
			break;
		case WGPEER_A_ENDPOINT:
			ret = parse_endpoint(a, &p.endpoint);
			if (ret)
				return ret;
			break;
		case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
			if (mnl_attr_validate(a, MNL_TYPE_U16))
				return -EBADMSG;
			p.persistent_keepalive = mnl_attr_get_u16(a);
			break;
		case WGPEER_A_LAST_HANDSHAKE_TIME: {
			struct { int64_t sec, nsec; } ts;

			if (mnl_attr_get_payload_len(a) != sizeof(ts))
				return -EBADMSG;
			memcpy(&ts, mnl_attr_get_payload(a), sizeof(ts));
			p.last_handshake_sec = ts.sec;
			break;
		}
		case WGPEER_A_RX_BYTES:
			if (mnl_attr_validate(a, MNL_TYPE_U64))
				return -EBADMSG;
			p.rx_bytes = mnl_attr_get_u64(a);
			break;
		case WGPEER_A_TX_BYTES:
			if (mnl_attr_validate(a, MNL_TYPE_U64))
				return -EBADMSG;
			p.tx_bytes = mnl_attr_get_u64(a);
			break;
		case WGPEER_A_ALLOWEDIPS:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED))
				return -EBADMSG;
			aips = a;
			break;
		/* WGPEER_A_PRESHARED_KEY is deliberately not kept. */
		}
	}
	if (!attrs_end(a, nest_end(nest)) || !have_key)
		return -EBADMSG;

	/* A continuation repeats the last peer's key with more allowed IPs. */
	if (d->n > 0 && memcmp(d->peers[d->n - 1].public_key, p.public_key, WG_KEY_LEN) == 0) {
		cur = &d->peers[d->n - 1];
	} else {
		if (d->n == d->cap) {
			size_t cap = d->cap, cap2 = d->cap;

			if (grow((void **)&d->peers, &cap, d->n + 1, sizeof(*d->peers)) ||
			    grow((void **)&d->aip_first, &cap2, d->n + 1, sizeof(*d->aip_first)))
				return -ENOMEM;
			d->cap = cap < cap2 ? cap : cap2;
		}
		d->aip_first[d->n] = d->n_aips;
		d->peers[d->n] = p;
		cur = &d->peers[d->n++];
	}
	if (!aips || d->mode == NL_DUMP_KEYS)
		return 0;
	mnl_attr_for_each_nested(a, aips) {
		if (grow((void **)&d->aips, &d->cap_aips, d->n_aips + 1, sizeof(*d->aips)))
			return -ENOMEM;
		ret = parse_allowedip(a, &d->aips[d->n_aips]);
		if (ret)
			return ret;
		d->n_aips++;
		cur->n_allowed_ips++;
	}
	return attrs_end(a, nest_end(aips)) ? 0 : -EBADMSG;
}

static int parse_device_msg(struct nl_dump *d, const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *p;
	int ret;

	/*
	 * mnl_attr_for_each() walks to the aligned end of the message, which
	 * for an unaligned length lies past the datagram; the kernel always
	 * pads, so such a length is malformed.
	 */
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)) ||
	    nlh->nlmsg_len != MNL_ALIGN(nlh->nlmsg_len))
		return -EBADMSG;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		uint16_t type = mnl_attr_get_type(a);

		if (d->dev && !d->have_device) {
			switch (type) {
			case WGDEVICE_A_PRIVATE_KEY:
				if (mnl_attr_get_payload_len(a) != WG_KEY_LEN)
					return -EBADMSG;
				memcpy(d->dev->private_key, mnl_attr_get_payload(a), WG_KEY_LEN);
				d->dev->has_private_key = true;
				break;
			case WGDEVICE_A_PUBLIC_KEY:
				if (mnl_attr_get_payload_len(a) != WG_KEY_LEN)
					return -EBADMSG;
				memcpy(d->dev->public_key, mnl_attr_get_payload(a), WG_KEY_LEN);
				break;
			case WGDEVICE_A_LISTEN_PORT:
				if (mnl_attr_validate(a, MNL_TYPE_U16))
					return -EBADMSG;
				d->dev->listen_port = mnl_attr_get_u16(a);
				break;
			}
		}
		if (type != WGDEVICE_A_PEERS || d->mode == NL_DUMP_DEVICE)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_NESTED))
			return -EBADMSG;
		mnl_attr_for_each_nested(p, a) {
			ret = parse_peer(d, p);
			if (ret)
				return ret;
		}
		if (!attrs_end(p, nest_end(a)))
			return -EBADMSG;
	}
	if (!attrs_end(a, (const char *)nlh + nlh->nlmsg_len))
		return -EBADMSG;
	d->have_device = true;
	return 0;
}

/*
 * The code of NLMSG_DONE (the dump's own error, 0 when it went well) or
 * NLMSG_ERROR. A truncated error message, or a code that is no errno, is
 * a malformed reply rather than success.
 */
static int end_code(const struct nlmsghdr *m)
{
	int32_t code = 0;

	if (mnl_nlmsg_get_payload_len(m) >= sizeof(code))
		memcpy(&code, mnl_nlmsg_get_payload(m), sizeof(code));
	else if (m->nlmsg_type == NLMSG_ERROR)
		return -EBADMSG;
	if (code > 0 || code < -4095)
		return -EBADMSG;
	return code;
}

bool netlink_dump_feed(struct nl_dump *d, const void *buf, size_t len)
{
	const struct nlmsghdr *m = buf;
	int left;

	if (d->done)
		return true;
	if (len > INT_MAX) {
		d->err = d->err ? d->err : -EMSGSIZE;
		d->done = true;
		return true;
	}
	left = (int)len;
	for (; msg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
		/* Leftovers of an abandoned exchange carry other numbers. */
		if (m->nlmsg_seq != d->seq || m->nlmsg_pid != d->portid)
			continue;
		if (m->nlmsg_flags & NLM_F_DUMP_INTR)
			d->interrupted = true;
		if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
			int code = end_code(m);

			if (code < 0 && !d->err)
				d->err = code;
			d->done = true;
			break;
		}
		/* After an error keep reading to NLMSG_DONE, but parse no more. */
		if (m->nlmsg_type != d->family || d->err)
			continue;
		d->err = parse_device_msg(d, m);
		if (d->mode == NL_DUMP_DEVICE && d->have_device) {
			d->done = true;
			break;
		}
	}
	return d->done;
}

int netlink_dump_finish(const struct nl_dump *d)
{
	if (d->interrupted)
		return -EAGAIN;
	if (d->err)
		return d->err;
	if (!d->done)
		return -ENODATA;
	if (d->mode == NL_DUMP_DEVICE && !d->have_device)
		return -EBADMSG;
	return 0;
}

/*
 * The seam's shape: one peer array, each peer's allowed IPs in an
 * allocation of its own (dataplane_peers_free()).
 */
int netlink_dump_take_peers(struct nl_dump *d, struct dp_peer **peers, size_t *n)
{
	size_t i;
	int ret = 0;

	*peers = NULL;
	*n = 0;
	for (i = 0; i < d->n; i++) {
		struct dp_peer *p = &d->peers[i];

		if (!p->n_allowed_ips)
			continue;
		p->allowed_ips = malloc(p->n_allowed_ips * sizeof(*p->allowed_ips));
		if (!p->allowed_ips) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(p->allowed_ips, d->aips + d->aip_first[i],
		       p->n_allowed_ips * sizeof(*p->allowed_ips));
	}
	*peers = d->peers;
	*n = d->n;
	d->peers = NULL;
	d->n = d->cap = 0;
out:
	if (d->peers)
		while (i > 0)
			free(d->peers[--i].allowed_ips);
	return ret;
}

int netlink_dump_parse(const void *buf, size_t len, uint16_t family, uint32_t seq,
		       uint32_t portid, struct dp_device *dev, struct dp_peer **peers, size_t *n)
{
	struct nl_dump d;
	int ret;

	*peers = NULL;
	*n = 0;
	netlink_dump_init(&d, NL_DUMP_PEERS, dev, family, seq, portid);
	netlink_dump_feed(&d, buf, len);
	ret = netlink_dump_finish(&d);
	if (!ret)
		ret = netlink_dump_take_peers(&d, peers, n);
	netlink_dump_uninit(&d);
	if (ret && dev)
		explicit_bzero(dev, sizeof(*dev));
	return ret;
}

/*
 * Runs one WG_CMD_GET_DEVICE dump into d. Always reads the dump to its
 * NLMSG_DONE (so the socket stays in step) unless the mode is
 * NL_DUMP_DEVICE, where it stops after the first message and replaces the
 * socket instead: that keeps reading the key O(1) however many peers are
 * installed.
 */
static int dump_once(struct nl_state *st, struct nl_dump *d, enum nl_dump_mode mode,
		     struct dp_device *dev)
{
	struct nlmsghdr *nlh = netlink_msg_start(st, st->tx, WG_CMD_GET_DEVICE, NLM_F_DUMP);
	int ret;

	netlink_dump_init(d, mode, dev, st->family, nlh->nlmsg_seq, st->portid);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, st->ifname);
	ret = netlink_sock_send(st, nlh);
	if (ret)
		return ret;
	for (bool done = false; !done;) {
		ssize_t len = netlink_recv(st->sock, st->rx, NL_RX_BUF_LEN);

		if (len < 0) {
			ret = -errno;
			/* The socket may hold the rest of a dump: start afresh. */
			netlink_sock_reopen(st);
			return ret;
		}
		done = netlink_dump_feed(d, st->rx, (size_t)len);
		explicit_bzero(st->rx, (size_t)len);
	}
	if (mode == NL_DUMP_DEVICE && (ret = netlink_sock_reopen(st)))
		return ret;
	return netlink_dump_finish(d);
}

/* d is freed by the caller (netlink_dump_uninit) whatever the outcome. */
static int dump_run(struct nl_state *st, struct nl_dump *d, enum nl_dump_mode mode,
		    struct dp_device *dev)
{
	int ret = -EAGAIN;

	for (int i = 0; i < DUMP_RETRIES; i++) {
		if (dev) {
			explicit_bzero(dev, sizeof(*dev));
			strcpy(dev->name, st->ifname);
		}
		netlink_dump_uninit(d);
		ret = dump_once(st, d, mode, dev);
		if (!d->interrupted)
			return ret;
		ret = -EAGAIN;
	}
	return ret;
}

static int nl_get_device(void *state, struct dp_device *dev)
{
	struct nl_dump d = { 0 };
	int ret = dump_run(state, &d, NL_DUMP_DEVICE, dev);

	netlink_dump_uninit(&d);
	if (ret)
		explicit_bzero(dev, sizeof(*dev));
	return ret;
}

static int nl_list_peers(void *state, struct dp_peer **peers, size_t *n)
{
	struct nl_dump d = { 0 };
	int ret;

	*peers = NULL;
	*n = 0;
	ret = dump_run(state, &d, NL_DUMP_PEERS, NULL);
	if (!ret)
		ret = netlink_dump_take_peers(&d, peers, n);
	netlink_dump_uninit(&d);
	return ret;
}

static int key_cmp(const void *a, const void *b)
{
	/* Public keys only: ordering them leaks nothing. */
	return memcmp(a, b, WG_KEY_LEN);
}

int netlink_dump_keys(struct nl_state *st, uint8_t (**keys)[WG_KEY_LEN], size_t *n)
{
	struct nl_dump d = { 0 };
	uint8_t (*out)[WG_KEY_LEN] = NULL;
	int ret;

	*keys = NULL;
	*n = 0;
	ret = dump_run(st, &d, NL_DUMP_KEYS, NULL);
	if (ret)
		goto out;
	out = malloc(d.n ? d.n * sizeof(*out) : 1);
	if (!out) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d.n; i++)
		memcpy(out[i], d.peers[i].public_key, WG_KEY_LEN);
	qsort(out, d.n, sizeof(*out), key_cmp);
	*keys = out;
	*n = d.n;
out:
	netlink_dump_uninit(&d);
	return ret;
}

const struct dataplane_ops dataplane_netlink_ops = {
	.name = "kernel",
	.open = nl_open,
	.close = nl_close,
	.get_device = nl_get_device,
	.list_peers = nl_list_peers,
	.set_peers = netlink_set_peers,
	.remove_peers = netlink_remove_peers,
};
