// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int bpf_placeholder(void);
int bpf_placeholder(void) { return 0; }
