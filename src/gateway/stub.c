// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int gateway_placeholder(void);
int gateway_placeholder(void) { return 0; }
