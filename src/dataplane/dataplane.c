// SPDX-License-Identifier: MIT
/*
 * The seam's dispatcher: picks a backend, then forwards every call through
 * struct dataplane_ops. Backend choice is the only policy here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataplane/dataplane.h"

struct dataplane {
	const struct dataplane_ops *ops;
	void *state;
};

static __thread char errbuf[320];

static const char *say(const char *fmt, const char *ifname, int err)
{
	snprintf(errbuf, sizeof(errbuf), fmt, ifname, strerror(err));
	return errbuf;
}

static bool no_kernel_support(int err)
{
	/* genl resolves an unknown family with ENOENT; the placeholder says EPROTONOSUPPORT. */
	return err == EPROTONOSUPPORT || err == ENOENT || err == EAFNOSUPPORT;
}

/*
 * wireguard-go's UAPI sockets are root's, mode 0700 (and a host may make
 * /var/run/wireguard itself 0700, hiding the socket from stat): a daemon
 * without CAP_DAC_OVERRIDE cannot connect. The packaged fix is named.
 */
#define USERSPACE_DROPIN                                                                                  \
	"wireguard-go's socket is root's only: give jitwgd CAP_DAC_OVERRIDE (under systemd, "                \
	"the drop-in /usr/share/doc/jitwgd/examples/jitwgd-userspace.conf in /etc/systemd/system/jitwgd.service.d/)"

/* True when the UAPI socket's directory refuses this process a look (EACCES). */
static bool uapi_denied(const char *ifname)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", ifname);
	return stat(path, &st) < 0 && errno == EACCES;
}

static const char *explain(enum dp_backend asked, const struct dataplane_ops *ops,
			   const char *ifname, int err)
{
	if (err == EACCES || (asked == DP_BACKEND_AUTO && uapi_denied(ifname)))
		return say("permission denied on the UAPI socket /var/run/wireguard/%s.sock: " USERSPACE_DROPIN
			   " (%s)", ifname, EACCES);
	if (ops == &dataplane_uapi_ops) {
		if (err == ENOENT)
			return say("no UAPI socket /var/run/wireguard/%s.sock (%s)", ifname, err);
		if (err == ECONNREFUSED)
			return say("UAPI socket /var/run/wireguard/%s.sock refuses connections: "
				   "stale socket, is the WireGuard daemon running? (%s)", ifname, err);
		return say("cannot use the UAPI socket for %s: %s", ifname, err);
	}
	if (no_kernel_support(err))
		return say(asked == DP_BACKEND_AUTO
				   ? "kernel has no WireGuard support and no UAPI socket for %s"
				   : "kernel has no WireGuard support (needed for %s: %s)",
			   ifname, err);
	if (err == ENODEV)
		return say(asked == DP_BACKEND_AUTO
				   ? "no kernel WireGuard interface %s and no UAPI socket for it (%s)"
				   : "no kernel WireGuard interface %s (%s)",
			   ifname, err);
	return say("kernel WireGuard backend for %s: %s", ifname, err);
}

struct dataplane *dataplane_open(const char *ifname, enum dp_backend backend, const char **errmsg)
{
	const struct dataplane_ops *ops;
	struct dataplane *dp = NULL;
	void *state = NULL;
	int ret;

	if (errmsg)
		*errmsg = NULL;
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) {
		if (errmsg)
			*errmsg = "invalid interface name";
		errno = EINVAL;
		return NULL;
	}
	switch (backend) {
	case DP_BACKEND_AUTO:
		ops = dataplane_uapi_available(ifname) ? &dataplane_uapi_ops : &dataplane_netlink_ops;
		break;
	case DP_BACKEND_KERNEL:
		ops = &dataplane_netlink_ops;
		break;
	case DP_BACKEND_USERSPACE:
		ops = &dataplane_uapi_ops;
		break;
	default:
		if (errmsg)
			*errmsg = "unknown data-plane backend";
		errno = EINVAL;
		return NULL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		if (errmsg)
			*errmsg = "out of memory";
		errno = ENOMEM;
		return NULL;
	}
	ret = ops->open(ifname, &state);
	if (ret < 0) {
		if (errmsg)
			*errmsg = explain(backend, ops, ifname, -ret);
		free(dp);
		errno = -ret;
		return NULL;
	}
	dp->ops = ops;
	dp->state = state;
	return dp;
}

struct dataplane *dataplane_new_with_ops(const struct dataplane_ops *ops, void *state)
{
	struct dataplane *dp;

	if (!ops || !ops->name) {
		errno = EINVAL;
		return NULL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	dp->ops = ops;
	dp->state = state;
	return dp;
}

void dataplane_free(struct dataplane *dp)
{
	if (!dp)
		return;
	if (dp->ops->close)
		dp->ops->close(dp->state);
	free(dp);
}

const char *dataplane_backend_name(const struct dataplane *dp)
{
	return dp->ops->name;
}

int dataplane_get_device(struct dataplane *dp, struct dp_device *dev)
{
	memset(dev, 0, sizeof(*dev));
	if (!dp->ops->get_device)
		return -EOPNOTSUPP;
	return dp->ops->get_device(dp->state, dev);
}

void dataplane_device_wipe(struct dp_device *dev)
{
	if (dev)
		explicit_bzero(dev, sizeof(*dev));
}

bool dataplane_endpoint_equal(const union dp_endpoint *a, const union dp_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr;
	if (a->addr.sa_family == AF_INET6)
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       !memcmp(&a->addr6.sin6_addr, &b->addr6.sin6_addr, sizeof(a->addr6.sin6_addr));
	return true;
}

int dataplane_list_peers(struct dataplane *dp, struct dp_peer **peers, size_t *n)
{
	*peers = NULL;
	*n = 0;
	if (!dp->ops->list_peers)
		return -EOPNOTSUPP;
	return dp->ops->list_peers(dp->state, peers, n);
}

void dataplane_peers_free(struct dp_peer *peers, size_t n)
{
	size_t i;

	if (!peers)
		return;
	for (i = 0; i < n; i++)
		free(peers[i].allowed_ips);
	free(peers);
}

int dataplane_set_peers(struct dataplane *dp, const struct dp_peer *peers, size_t n)
{
	if (n == 0)
		return 0;
	if (!dp->ops->set_peers)
		return -EOPNOTSUPP;
	return dp->ops->set_peers(dp->state, peers, n);
}

int dataplane_remove_peers(struct dataplane *dp, const uint8_t (*keys)[WG_KEY_LEN], size_t n)
{
	if (n == 0)
		return 0;
	if (!dp->ops->remove_peers)
		return -EOPNOTSUPP;
	return dp->ops->remove_peers(dp->state, keys, n);
}

/*
 * Both wireguard-go and the kernel send a keepalive, and with no session a
 * handshake initiation, when a peer's persistent keepalive goes from 0 to
 * non-zero on a running interface. So one call carries, for the same key
 * and applied in order: the full config with keepalive 0 (so the next step
 * is always a 0 -> on edge, even for a peer that had one), then the switch
 * on, which is already the configured value when the peer has a keepalive:
 * two entries. A peer configured without one gets a third entry restoring
 * 0; the initiation is already under way when it lands, so that does not
 * cancel it. Returns the count (2 or 3); e has room for 3.
 */
static size_t initiate_entries(struct dp_peer *e, const struct dp_peer *p)
{
	uint16_t want = (p->flags & DP_PEER_HAS_KEEPALIVE) ? p->persistent_keepalive : 0;
	uint32_t keep = p->flags & DP_PEER_UPDATE_ONLY;
	size_t n = 2;

	memset(e, 0, 3 * sizeof(*e));
	e[0] = *p;
	e[0].flags |= DP_PEER_HAS_KEEPALIVE;
	e[0].persistent_keepalive = 0;
	memcpy(e[1].public_key, p->public_key, WG_KEY_LEN);
	e[1].flags = DP_PEER_HAS_KEEPALIVE | keep;
	e[1].persistent_keepalive = want ? want : 1;
	if (!want) {
		memcpy(e[2].public_key, p->public_key, WG_KEY_LEN);
		e[2].flags = DP_PEER_HAS_KEEPALIVE | keep;
		e[2].persistent_keepalive = 0;
		n = 3;
	}
	return n;
}

int dataplane_peers_initiate(struct dataplane *dp, const struct dp_peer *peers, size_t n)
{
	struct dp_peer *e;
	size_t i, m = 0;
	int ret;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / (3 * sizeof(*e)))
		return -ENOMEM;
	e = malloc(3 * n * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		m += initiate_entries(&e[m], &peers[i]);
	ret = dataplane_set_peers(dp, e, m);
	explicit_bzero(e, 3 * n * sizeof(*e));
	free(e);
	return ret;
}

int dataplane_peer_initiate(struct dataplane *dp, const struct dp_peer *p)
{
	struct dp_peer e[3];
	size_t n = initiate_entries(e, p);
	int ret;

	ret = dataplane_set_peers(dp, e, n);
	explicit_bzero(e, sizeof(e));
	return ret;
}
