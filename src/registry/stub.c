// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int registry_placeholder(void);
int registry_placeholder(void) { return 0; }
