// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int capture_placeholder(void);
int capture_placeholder(void) { return 0; }
