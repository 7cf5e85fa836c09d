// SPDX-License-Identifier: MIT
/* Placeholder so the archive builds; replaced by its module. */
int pcap_placeholder(void);
int pcap_placeholder(void) { return 0; }
