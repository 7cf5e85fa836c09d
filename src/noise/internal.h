/* SPDX-License-Identifier: MIT */
#ifndef JITWG_NOISE_INTERNAL_H
#define JITWG_NOISE_INTERNAL_H

/* Shared by the files of src/noise only; the rest of the tree uses noise.h. */

#include <stdbool.h>
#include <stdint.h>
#include "crypto/keyedtab.h"
#include "noise/noise.h"

struct x25519_ctx;
struct aead_ctx;

/*
 * The protocol's opening, which depends only on the responder's public key:
 * ck = HASH(CONSTRUCTION), h = HASH(HASH(ck || IDENTIFIER) || S_r), and the
 * mac1 key HASH(LABEL_MAC1 || S_r).
 */
void noise_initial_state(uint8_t ck[static 32], uint8_t h[static 32],
			 const uint8_t responder_public[static 32]);
void noise_mac1_key(uint8_t key[static 32], const uint8_t responder_public[static 32]);
/* h = HASH(h || in). */
void noise_mix_hash(uint8_t h[static 32], const uint8_t *in, size_t len);

/*
 * One worker thread's state: the ss cache and the OpenSSL contexts bound to
 * one responder key (bound_pub). sscache.c owns the table; initiation.c
 * binds the contexts.
 */
struct noise_sscache {
	struct keyedtab tab;    /* struct sscache_entry (sscache.c) */
	uint32_t clock;         /* LRU stamp source */
	uint64_t hits, misses, inserts;
	bool bound;
	uint8_t bound_pub[32];
	struct x25519_ctx *dh;
	struct aead_ctx *aead;
};

/* Copies the cached ss for pub into ss and returns true, or returns false. */
bool sscache_lookup(struct noise_sscache *c, const uint8_t pub[static 32], uint8_t ss[static 32]);
/* Inserts or refreshes pub -> ss, evicting (and wiping) the set's oldest. */
void sscache_insert(struct noise_sscache *c, const uint8_t pub[static 32], const uint8_t ss[static 32]);
/* Wipes every entry (the responder key changed). */
void sscache_flush(struct noise_sscache *c);

#endif
