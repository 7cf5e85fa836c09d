/* SPDX-License-Identifier: MIT */
#ifndef JITWG_DATAPLANE_NETLINK_H
#define JITWG_DATAPLANE_NETLINK_H

/*
 * Internal to the kernel backend (netlink.c, netlink-set.c); the rest of
 * the tree sees only dataplane_netlink_ops. Single-threaded like the seam.
 */

#include <stdbool.h>
#include <stddef.h>
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
	uint8_t *rx;            /* NL_RX_BUF_LEN, wiped after every receive */
	uint8_t *tx;            /* NL_SET_MSG_LEN, wiped after each use */
};

/*
 * (Re)opens st->sock: a bound NETLINK_GENERIC socket with NETLINK_CAP_ACK
 * set, so error acks carry only the request's header, never its preshared
 * keys. Closes the old socket first. 0 or -errno (st->sock is then NULL).
 */
int netlink_sock_reopen(struct nl_state *st);
/* Builds in buf a generic netlink controller request (with NLM_F_ACK) for
 * family name, with the next sequence number. */
struct nlmsghdr *netlink_getfamily_msg(struct nl_state *st, uint8_t *buf, const char *name);
/* One datagram into buf; signals do not abort the exchange. Returns the
 * length or -1 with errno set. The caller wipes buf once it has read it. */
ssize_t netlink_recv(struct mnl_socket *sock, void *buf, size_t len);
/*
 * 0 when ifname exists in our namespace and is a WireGuard link (asked of
 * rtnetlink: cheaper than a WireGuard dump, which would list every peer),
 * -ENODEV when it does not exist, -EOPNOTSUPP when it is another kind, or
 * -errno (netlink-link.c).
 */
int netlink_check_link(const char *ifname);
/* Starts a wireguard genl request in buf with the next sequence number. */
struct nlmsghdr *netlink_msg_start(struct nl_state *st, uint8_t *buf, uint8_t cmd, uint16_t flags);
/* Sends one message; 0 or -errno. */
int netlink_sock_send(struct nl_state *st, const struct nlmsghdr *nlh);
/* Waits for the NLMSG_ERROR answering seq: its error (0 = ack) or -errno.
 * st->rx is wiped after every datagram it reads. */
int netlink_wait_ack(struct nl_state *st, uint32_t seq);

/*
 * Dumps the public keys of every installed peer, sorted with memcmp order
 * (for bsearch). *keys is malloc'd, caller frees; 0 or -errno.
 */
int netlink_dump_keys(struct nl_state *st, uint8_t (**keys)[WG_KEY_LEN], size_t *n);

/*
 * The WG_CMD_GET_DEVICE dump reader, apart from the socket so that tests
 * and the fuzzer feed it the bytes the kernel would send. One nl_dump
 * collects one dump; device attributes come from its first message.
 */
enum nl_dump_mode {
	NL_DUMP_DEVICE, /* device attributes only; the dump ends after its first message */
	NL_DUMP_PEERS,  /* device (if dev) and every peer with its allowed IPs */
	NL_DUMP_KEYS,   /* every peer's public key only */
};

struct nl_dump {
	enum nl_dump_mode mode;
	uint16_t family;        /* messages of other types are skipped */
	uint32_t seq, portid;   /* ... and so are those of other requests */
	struct dp_device *dev;  /* filled from the first message; NULL: ignored */
	struct dp_peer *peers;  /* allowed_ips unset until netlink_dump_take_peers() */
	size_t *aip_first;      /* parallel to peers: index into aips */
	size_t n, cap;
	struct dp_allowedip *aips;
	size_t n_aips, cap_aips;
	bool have_device;
	bool interrupted;       /* NLM_F_DUMP_INTR seen: the caller restarts */
	bool done;
	int err;                /* first parse, allocation or kernel error */
};

/* Arms d for the reply to request seq from portid; frees nothing. */
void netlink_dump_init(struct nl_dump *d, enum nl_dump_mode mode, struct dp_device *dev,
		       uint16_t family, uint32_t seq, uint32_t portid);
/*
 * Feeds one datagram (one or more messages). Returns true once the dump
 * has ended (NLMSG_DONE, NLMSG_ERROR, or the device read in
 * NL_DUMP_DEVICE); later calls are no-ops. Errors wait for finish.
 */
bool netlink_dump_feed(struct nl_dump *d, const void *buf, size_t len);
/*
 * 0 when the dump ended cleanly; -EAGAIN when it was interrupted (restart
 * it), the kernel's -errno, -EBADMSG for a malformed reply, -ENOMEM, or
 * -ENODATA when the dump has not ended yet.
 */
int netlink_dump_finish(const struct nl_dump *d);
/*
 * After finish returned 0: moves the peers out as one array for
 * dataplane_peers_free(). 0 or -ENOMEM (d keeps them then).
 */
int netlink_dump_take_peers(struct nl_dump *d, struct dp_peer **peers, size_t *n);
/* Frees what d holds and zeroes it; a zeroed d is fine. */
void netlink_dump_uninit(struct nl_dump *d);
/*
 * The whole reply in one buffer, NL_DUMP_PEERS: netlink_dump_finish()'s
 * codes; on 0 *peers is the caller's (dataplane_peers_free()) and dev (may
 * be NULL) holds the device, which is wiped on failure.
 */
int netlink_dump_parse(const void *buf, size_t len, uint16_t family, uint32_t seq,
		       uint32_t portid, struct dp_device *dev, struct dp_peer **peers, size_t *n);

/* The write half of dataplane_netlink_ops (netlink-set.c). */
int netlink_set_peers(void *state, const struct dp_peer *peers, size_t n);
int netlink_remove_peers(void *state, const uint8_t (*keys)[WG_KEY_LEN], size_t n);

#endif
