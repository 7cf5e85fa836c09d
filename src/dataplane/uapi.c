// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int uapi_placeholder(void);
int uapi_placeholder(void) { return 0; }
