// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int netlink_placeholder(void);
int netlink_placeholder(void) { return 0; }
