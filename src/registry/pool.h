/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_POOL_H
#define JITWG_REGISTRY_POOL_H

/*
 * The registry's address pool (--pool CIDR[,CIDR6]) and the address
 * arithmetic the store uses for overlap checks and allocation. Addresses are
 * big-endian byte strings of 4 (IPv4) or 16 (IPv6) bytes, so memcmp orders
 * them and a database can index them as blobs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/cidr.h"

enum { POOL_V4 = 0, POOL_V6 = 1, POOL_FAMILIES = 2 };

struct pool {
	bool has[POOL_FAMILIES];
	struct cidr net[POOL_FAMILIES];
};

/*
 * Parses "10.8.0.0/16", "fd00::/64" or "10.8.0.0/16,fd00::/64" (at most one
 * prefix per family). An IPv4 pool needs at least 4 addresses (/30), an IPv6
 * pool at least /126. Returns 0 or -EINVAL; *why names the problem.
 */
int pool_parse(struct pool *out, const char *spec, const char **why);

/* 4 or 16. */
size_t pool_addr_len(uint16_t family);

/* The first and last address of a prefix. */
void pool_cidr_bounds(const struct cidr *c, uint8_t lo[static 16], uint8_t hi[static 16]);

/*
 * The allocatable range of one pool family: the network address and the
 * first host (reserved for the gateway's own interface) are skipped, and for
 * IPv4 the broadcast address too.
 */
void pool_bounds(const struct pool *p, int fam, uint8_t first[static 16], uint8_t last[static 16]);

/* a += 1 over len bytes; returns false when it wrapped past all-ones. */
bool pool_addr_inc(uint8_t *a, size_t len);

#endif
