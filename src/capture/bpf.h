/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CAPTURE_BPF_H
#define JITWG_CAPTURE_BPF_H

#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

/*
 * Builds the classic BPF program that accepts exactly: Ethernet (or the
 * cooked/no-link-header variants capture.c uses) IPv4 without fragments or
 * IPv6 with UDP as next header, destination port == port, UDP length ==
 * 8 + 148, payload[0] == 1 and payload[1..3] == 0. Everything else returns 0.
 * Writes at most cap instructions; returns the count or -ENOSPC.
 */
int bpf_build_initiation_filter(struct sock_filter *prog, size_t cap, uint16_t port);

#endif
