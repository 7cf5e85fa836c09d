// SPDX-License-Identifier: MIT
/*
 * Kernel backend, start-up check: is the interface there, in our namespace,
 * and a WireGuard link? Asked of rtnetlink (see netlink.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "dataplane/netlink.h"

struct link_kind {
	bool found;
	bool wireguard;
};

static int link_info_cb(const struct nlattr *a, void *data)
{
	struct link_kind *k = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		k->wireguard = strcmp(mnl_attr_get_str(a), "wireguard") == 0;
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_LINKINFO && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
		return mnl_attr_parse_nested(a, link_info_cb, data);
	return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_kind *k = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	k->found = true;
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, data);
}

/*
 * Asks rtnetlink whether ifname exists in our namespace and is a WireGuard
 * link: cheaper than a WireGuard dump, which would list every peer.
 */
int netlink_check_link(const char *ifname)
{
	uint8_t buf[8192];
	struct mnl_socket *s = mnl_socket_open(NETLINK_ROUTE);
	struct link_kind kind = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	uint32_t portid;
	ssize_t len;
	int ret;

	if (!s)
		return -errno;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(s);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		len = netlink_recv(s, buf, sizeof(buf));
		if (len < 0) {
			ret = -errno;
			goto out;
		}
		ret = mnl_cb_run(buf, len, 1, portid, link_msg_cb, &kind);
		explicit_bzero(buf, (size_t)len);
	} while (ret > MNL_CB_STOP && !kind.found);
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	ret = !kind.found ? -ENODEV : kind.wireguard ? 0 : -EOPNOTSUPP;
out:
	mnl_socket_close(s);
	return ret;
}

