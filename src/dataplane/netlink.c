// SPDX-License-Identifier: MIT
/* Placeholder kernel backend until the netlink module lands: reports no support. */
#include <errno.h>
#include "dataplane/dataplane.h"

static int nl_open(const char *ifname, void **state)
{
	return -EPROTONOSUPPORT;
}

const struct dataplane_ops dataplane_netlink_ops = {
	.name = "kernel",
	.open = nl_open,
};
