/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CRYPTO_SIPHASH_H
#define JITWG_CRYPTO_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * SipHash-2-4 (Aumasson and Bernstein): a keyed PRF for hash-table indexes
 * whose inputs a remote party chooses (initiator keys, source addresses).
 * Without the key nobody can aim many inputs at one bucket. Not a MAC for
 * anything that leaves the process.
 */
struct siphash_key {
	uint64_t k[2];
};

/* Fills k from getrandom(). Returns 0 or -errno (the key is then zero). */
int siphash_key_random(struct siphash_key *k);

/* SipHash-2-4 of len bytes at in under k. Pure; any length, any alignment. */
uint64_t siphash24(const struct siphash_key *k, const void *in, size_t len);

#endif
