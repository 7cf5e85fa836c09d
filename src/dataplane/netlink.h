/* SPDX-License-Identifier: MIT */
#ifndef JITWG_DATAPLANE_NETLINK_H
#define JITWG_DATAPLANE_NETLINK_H

/*
 * Internal to the kernel backend (netlink.c, netlink-set.c); the rest of
 * the tree sees only dataplane_netlink_ops. Single-threaded like the seam.
 */

#include <stdint.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include "dataplane/dataplane.h"

enum {
	NL_RX_BUF_LEN = 65536,  /* > the kernel's 32 KiB cap on one dump skb */
	NL_SET_MSG_LEN = 32768, /* one WG_CMD_SET_DEVICE message */
};

struct nl_state {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;        /* generic netlink id of "wireguard" */
	char ifname[IFNAMSIZ];
	uint8_t *rx;            /* NL_RX_BUF_LEN, wiped after each use */
	uint8_t *tx;            /* NL_SET_MSG_LEN, wiped after each use */
};

/* Starts a wireguard genl request in buf with the next sequence number. */
struct nlmsghdr *netlink_msg_start(struct nl_state *st, uint8_t *buf, uint8_t cmd, uint16_t flags);
/* Sends one message; 0 or -errno. */
int netlink_sock_send(struct nl_state *st, const struct nlmsghdr *nlh);
/* Waits for the NLMSG_ERROR answering seq: its error (0 = ack) or -errno. */
int netlink_wait_ack(struct nl_state *st, uint32_t seq);

/*
 * Dumps the public keys of every installed peer, sorted with memcmp order
 * (for bsearch). *keys is malloc'd, caller frees; 0 or -errno.
 */
int netlink_dump_keys(struct nl_state *st, uint8_t (**keys)[WG_KEY_LEN], size_t *n);

/* The write half of dataplane_netlink_ops (netlink-set.c). */
int netlink_set_peers(void *state, const struct dp_peer *peers, size_t n);
int netlink_remove_peers(void *state, const uint8_t (*keys)[WG_KEY_LEN], size_t n);

#endif
