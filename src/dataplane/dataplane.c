// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int dataplane_placeholder(void);
int dataplane_placeholder(void) { return 0; }
