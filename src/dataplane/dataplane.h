/* SPDX-License-Identifier: MIT */
#ifndef JITWG_DATAPLANE_DATAPLANE_H
#define JITWG_DATAPLANE_DATAPLANE_H

/*
 * The data-plane seam: everything jitwgd asks of a WireGuard implementation.
 * Two backends sit behind it: the cross-platform UAPI text protocol
 * (uapi.c: wireguard-go, boringtun) and Linux generic netlink (netlink.c).
 * Nothing outside src/dataplane/ knows which one is in use.
 *
 * All functions return 0 or -errno. A struct dataplane is not thread-safe:
 * callers serialise (jitwgd has one installer thread).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include "wire/keys.h"

enum dp_backend {
	DP_BACKEND_AUTO = 0, /* UAPI socket present -> userspace, else kernel */
	DP_BACKEND_KERNEL,
	DP_BACKEND_USERSPACE,
};

struct dp_allowedip {
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

union dp_endpoint {
	struct sockaddr addr;     /* addr.sa_family == 0: no endpoint */
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

enum dp_peer_flags {
	DP_PEER_REPLACE_ALLOWEDIPS = 1U << 0, /* allowed_ips replaces the peer's list */
	DP_PEER_UPDATE_ONLY        = 1U << 1, /* fail with -ENOENT instead of creating */
	DP_PEER_HAS_PRESHARED_KEY  = 1U << 2, /* set preshared_key (all-zero removes it) */
	DP_PEER_HAS_KEEPALIVE      = 1U << 3, /* set persistent_keepalive */
	DP_PEER_HAS_ENDPOINT       = 1U << 4, /* set endpoint */
	/*
	 * Update only, and a peer that is missing is skipped silently: no
	 * existence check (which costs the kernel backend a key dump) and no
	 * -ENOENT. For writes that must never create a peer but run often.
	 */
	DP_PEER_UPDATE_QUIET       = 1U << 5,
};

struct dp_peer {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];
	union dp_endpoint endpoint;
	uint16_t persistent_keepalive;      /* seconds, 0 = off */
	uint32_t flags;                     /* enum dp_peer_flags, for set only */
	/* Read-only state, filled by dataplane_list_peers(): */
	int64_t last_handshake_sec;         /* unix time, 0 = never */
	uint64_t rx_bytes, tx_bytes;
	struct dp_allowedip *allowed_ips;   /* owned by the peer array */
	size_t n_allowed_ips;
};

struct dp_device {
	char name[IFNAMSIZ];
	uint8_t private_key[WG_KEY_LEN];    /* caller wipes (dataplane_device_wipe) */
	uint8_t public_key[WG_KEY_LEN];
	bool has_private_key;
	uint16_t listen_port;
};

struct dataplane;
struct dataplane_ops;

/*
 * Opens interface ifname with the chosen backend. On failure returns NULL
 * with errno set and, when errmsg is not NULL, a human reason such as
 * "kernel has no WireGuard support and no UAPI socket for wg0". The reason
 * lives in thread-local storage: valid until this thread's next call.
 */
struct dataplane *dataplane_open(const char *ifname, enum dp_backend backend, const char **errmsg);
void dataplane_free(struct dataplane *dp);

/*
 * Wraps an ops table the caller provides (a test's fake data plane): every
 * dataplane_*() call goes to ops with state. ops must outlive the handle;
 * dataplane_free() calls ops->close(state) when it is set. Returns NULL with
 * errno set.
 */
struct dataplane *dataplane_new_with_ops(const struct dataplane_ops *ops, void *state);
/* "kernel" or "userspace". */
const char *dataplane_backend_name(const struct dataplane *dp);

int dataplane_get_device(struct dataplane *dp, struct dp_device *dev);
void dataplane_device_wipe(struct dp_device *dev);

/*
 * True when a and b are the same address and port (IPv6 flow info and scope
 * id are not compared), or share a family that is neither AF_INET nor
 * AF_INET6 (0: both without an endpoint). Pure; any thread.
 */
bool dataplane_endpoint_equal(const union dp_endpoint *a, const union dp_endpoint *b);

/*
 * Lists every peer. *peers is one array the caller releases with
 * dataplane_peers_free(); preshared keys are not returned (zeroed).
 * Backends allocate each peer's allowed_ips with malloc() on its own (or
 * leave it NULL); dataplane_peers_free() frees them and the array.
 */
int dataplane_list_peers(struct dataplane *dp, struct dp_peer **peers, size_t *n);
void dataplane_peers_free(struct dp_peer *peers, size_t n);

/*
 * Adds or updates n peers, honouring each peer's flags. Backends may split
 * the change across several messages; on error some peers may have been
 * applied (each peer's change is atomic on its own).
 */
int dataplane_set_peers(struct dataplane *dp, const struct dp_peer *peers, size_t n);
/* Removes n peers by public key; keys that are not installed are ignored. */
int dataplane_remove_peers(struct dataplane *dp, const uint8_t (*keys)[WG_KEY_LEN], size_t n);

/*
 * Installs or updates p like dataplane_set_peers() and makes the data plane
 * send its own handshake initiation to p->endpoint at once (the initiator
 * role): in one call, persistent keepalive goes 0 -> on, which WireGuard
 * answers with an immediate keepalive and so a handshake, then back to the
 * configured value (p->persistent_keepalive when DP_PEER_HAS_KEEPALIVE,
 * else 0). Returns 0 or -errno; -ENOENT with DP_PEER_UPDATE_ONLY when p is
 * not installed. A peer sends at most one initiation per 5 s (Rekey-Timeout):
 * to re-initiate a cold peer sooner (new endpoint), remove it first. See
 * docs/ARCHITECTURE.md for the measured behaviour.
 */
int dataplane_peer_initiate(struct dataplane *dp, const struct dp_peer *p);
/* The same for n peers in one dataplane_set_peers() call (one transaction). */
int dataplane_peers_initiate(struct dataplane *dp, const struct dp_peer *peers, size_t n);

/* Backend vtable: what uapi.c and netlink.c implement, and what a test's fake does. */
struct dataplane_ops {
	const char *name;
	int (*open)(const char *ifname, void **state);
	void (*close)(void *state);
	int (*get_device)(void *state, struct dp_device *dev);
	int (*list_peers)(void *state, struct dp_peer **peers, size_t *n);
	int (*set_peers)(void *state, const struct dp_peer *peers, size_t n);
	int (*remove_peers)(void *state, const uint8_t (*keys)[WG_KEY_LEN], size_t n);
};

extern const struct dataplane_ops dataplane_uapi_ops;
extern const struct dataplane_ops dataplane_netlink_ops;

/* True when the UAPI socket for ifname exists (used by DP_BACKEND_AUTO). */
bool dataplane_uapi_available(const char *ifname);

#endif
