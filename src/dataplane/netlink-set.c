// SPDX-License-Identifier: MIT
/*
 * Kernel backend, write half: WG_CMD_SET_DEVICE messages built from
 * struct dp_peer, split to fit (see netlink.c for the reading half).
 *
 * A message holds at most NL_SET_MSG_LEN bytes; nested attribute lengths are
 * 16 bits, so one message could never carry more than 64 KiB of peers
 * anyway. A peer that does not fit moves to the next message; a peer whose
 * allowed IPs do not fit is split, and its later fragments drop
 * WGPEER_F_REPLACE_ALLOWEDIPS so that they append. Preshared keys pass
 * through the send buffer, which is wiped after every message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include "dataplane/netlink.h"
/* After keys.h: <linux/wireguard.h> defines WG_KEY_LEN as a macro. */
#include <linux/wireguard.h>

/* ---- writing: WG_CMD_SET_DEVICE ------------------------------------------ */

static bool endpoint_valid(const union dp_endpoint *ep)
{
	return ep->addr.sa_family == AF_INET || ep->addr.sa_family == AF_INET6;
}

static int validate_peer(const struct dp_peer *p)
{
	if ((p->flags & DP_PEER_HAS_ENDPOINT) && !endpoint_valid(&p->endpoint))
		return -EAFNOSUPPORT;
	if (p->n_allowed_ips && !p->allowed_ips)
		return -EINVAL;
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		const struct dp_allowedip *a = &p->allowed_ips[i];

		if (!((a->family == AF_INET && a->cidr <= 32) ||
		      (a->family == AF_INET6 && a->cidr <= 128)))
			return -EINVAL;
	}
	return 0;
}

enum put_result { PUT_NONE, PUT_PARTIAL, PUT_ALL };

static bool put_allowedip(struct nlmsghdr *nlh, const struct dp_allowedip *a)
{
	struct nlattr *n = mnl_attr_nest_start_check(nlh, NL_SET_MSG_LEN, 0);
	bool ok;

	if (!n)
		return false;
	ok = mnl_attr_put_u16_check(nlh, NL_SET_MSG_LEN, WGALLOWEDIP_A_FAMILY, a->family) &&
	     (a->family == AF_INET
		      ? mnl_attr_put_check(nlh, NL_SET_MSG_LEN, WGALLOWEDIP_A_IPADDR, sizeof(a->ip4), &a->ip4)
		      : mnl_attr_put_check(nlh, NL_SET_MSG_LEN, WGALLOWEDIP_A_IPADDR, sizeof(a->ip6), &a->ip6)) &&
	     mnl_attr_put_u8_check(nlh, NL_SET_MSG_LEN, WGALLOWEDIP_A_CIDR_MASK, a->cidr);
	if (!ok) {
		mnl_attr_nest_cancel(nlh, n);
		return false;
	}
	mnl_attr_nest_end(nlh, n);
	return true;
}

/*
 * Appends one peer (or, when *aip > 0, a continuation fragment carrying
 * more of its allowed IPs) to the message. Returns how much fit and
 * advances *aip past the allowed IPs written.
 */
static enum put_result put_peer(struct nlmsghdr *nlh, const struct dp_peer *p, size_t *aip,
				bool remove)
{
	struct nlattr *pn = mnl_attr_nest_start_check(nlh, NL_SET_MSG_LEN, 0), *an;
	bool first = *aip == 0;
	uint32_t flags = 0;
	size_t written = 0;

	if (!pn)
		return PUT_NONE;
	if (remove)
		flags = WGPEER_F_REMOVE_ME;
	else {
		if ((p->flags & DP_PEER_REPLACE_ALLOWEDIPS) && first)
			flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
		/* Kept on every fragment so that no fragment creates the peer. */
		if (p->flags & (DP_PEER_UPDATE_ONLY | DP_PEER_UPDATE_QUIET))
			flags |= WGPEER_F_UPDATE_ONLY;
	}
	if (!mnl_attr_put_check(nlh, NL_SET_MSG_LEN, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key) ||
	    !mnl_attr_put_u32_check(nlh, NL_SET_MSG_LEN, WGPEER_A_FLAGS, flags))
		goto none;
	if (remove) {
		mnl_attr_nest_end(nlh, pn);
		return PUT_ALL;
	}
	if (first) {
		if ((p->flags & DP_PEER_HAS_PRESHARED_KEY) &&
		    !mnl_attr_put_check(nlh, NL_SET_MSG_LEN, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN,
					p->preshared_key))
			goto none;
		if ((p->flags & DP_PEER_HAS_ENDPOINT) &&
		    !mnl_attr_put_check(nlh, NL_SET_MSG_LEN, WGPEER_A_ENDPOINT,
					p->endpoint.addr.sa_family == AF_INET
						? sizeof(p->endpoint.addr4)
						: sizeof(p->endpoint.addr6),
					&p->endpoint))
			goto none;
		if ((p->flags & DP_PEER_HAS_KEEPALIVE) &&
		    !mnl_attr_put_u16_check(nlh, NL_SET_MSG_LEN, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
					    p->persistent_keepalive))
			goto none;
	}
	if (*aip < p->n_allowed_ips) {
		an = mnl_attr_nest_start_check(nlh, NL_SET_MSG_LEN, WGPEER_A_ALLOWEDIPS);
		if (an) {
			while (*aip < p->n_allowed_ips && put_allowedip(nlh, &p->allowed_ips[*aip])) {
				(*aip)++;
				written++;
			}
			if (written)
				mnl_attr_nest_end(nlh, an);
			else
				mnl_attr_nest_cancel(nlh, an);
		}
		/* A fragment must make progress: settings on the first, an IP later. */
		if (!first && !written)
			goto none;
	}
	mnl_attr_nest_end(nlh, pn);
	return *aip < p->n_allowed_ips ? PUT_PARTIAL : PUT_ALL;
none:
	mnl_attr_nest_cancel(nlh, pn);
	return PUT_NONE;
}

/* Sends peers (or removals of keys) in as few messages as fit. */
static int send_peers(struct nl_state *st, const struct dp_peer *peers, size_t n, bool remove)
{
	size_t i = 0, aip = 0;
	int ret = 0;

	while (i < n) {
		struct nlmsghdr *nlh = netlink_msg_start(st, st->tx, WG_CMD_SET_DEVICE, NLM_F_ACK);
		struct nlattr *nest;
		size_t in_msg = 0;

		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, st->ifname);
		nest = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		for (; i < n; i++, aip = 0) {
			enum put_result r = put_peer(nlh, &peers[i], &aip, remove);

			if (r == PUT_NONE)
				break;
			in_msg++;
			if (r == PUT_PARTIAL)
				break;
		}
		if (!in_msg) {
			ret = -EMSGSIZE;
			goto out;
		}
		mnl_attr_nest_end(nlh, nest);
		ret = netlink_sock_send(st, nlh);
		if (!ret)
			ret = netlink_wait_ack(st, nlh->nlmsg_seq);
		explicit_bzero(st->tx, nlh->nlmsg_len);
		if (ret)
			goto out;
	}
out:
	return ret;
}

/*
 * The kernel silently skips an WGPEER_F_UPDATE_ONLY peer that does not
 * exist; the seam promises -ENOENT, so look the keys up in a key-only dump
 * first. A peer removed between this check and the write is still not
 * recreated, because the flag goes out with the write too.
 */
static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, WG_KEY_LEN); /* public keys: ordering leaks nothing */
}

static int check_update_only(struct nl_state *st, const struct dp_peer *peers, size_t n)
{
	uint8_t (*made)[WG_KEY_LEN] = NULL, (*keys)[WG_KEY_LEN] = NULL;
	size_t n_made = 0, n_keys = 0, n_upd = 0;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		n_upd += !!(peers[i].flags & DP_PEER_UPDATE_ONLY);
	if (!n_upd)
		return 0;
	/*
	 * A peer created earlier in the same batch counts as existing: the
	 * dispatcher's initiate sequence sends "create, then update" at once.
	 */
	made = malloc((n - n_upd + 1) * sizeof(*made));
	if (!made)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(peers[i].flags & DP_PEER_UPDATE_ONLY))
			memcpy(made[n_made++], peers[i].public_key, WG_KEY_LEN);
	qsort(made, n_made, sizeof(*made), key_cmp);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = peers[i].public_key;

		if (!(peers[i].flags & DP_PEER_UPDATE_ONLY) || bsearch(k, made, n_made, WG_KEY_LEN, key_cmp))
			continue;
		if (!keys) {
			ret = netlink_dump_keys(st, &keys, &n_keys);
			if (ret)
				goto out;
		}
		if (!bsearch(k, keys, n_keys, WG_KEY_LEN, key_cmp)) {
			ret = -ENOENT;
			goto out;
		}
	}
out:
	free(made);
	free(keys);
	return ret;
}

int netlink_set_peers(void *state, const struct dp_peer *peers, size_t n)
{
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = validate_peer(&peers[i]);
		if (ret)
			return ret;
	}
	ret = check_update_only(state, peers, n);
	if (ret)
		return ret;
	return send_peers(state, peers, n, false);
}

enum { REMOVE_CHUNK = 1024 }; /* keys staged as struct dp_peer per round */

int netlink_remove_peers(void *state, const uint8_t (*keys)[WG_KEY_LEN], size_t n)
{
	struct dp_peer *chunk;
	int ret = 0;

	if (!n)
		return 0;
	chunk = calloc(n < REMOVE_CHUNK ? n : REMOVE_CHUNK, sizeof(*chunk));
	if (!chunk)
		return -ENOMEM;
	for (size_t i = 0; i < n && !ret; i += REMOVE_CHUNK) {
		size_t m = n - i < REMOVE_CHUNK ? n - i : REMOVE_CHUNK;

		for (size_t j = 0; j < m; j++)
			memcpy(chunk[j].public_key, keys[i + j], WG_KEY_LEN);
		ret = send_peers(state, chunk, m, true);
	}
	free(chunk);
	return ret;
}

