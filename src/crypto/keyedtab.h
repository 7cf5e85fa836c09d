/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CRYPTO_KEYEDTAB_H
#define JITWG_CRYPTO_KEYEDTAB_H

/*
 * A fixed-size set-associative table indexed by input a remote party
 * chooses (initiator keys, source addresses). The set is SipHash-2-4 of the
 * key under a random per-table key, so nobody can aim many keys at one set
 * and keep evicting a victim's entry. Users: the admission buckets
 * (gateway/admit/admit.c), the replay guard (gateway/lookup/replay.c) and
 * the ss cache (noise/sscache.c); each decides what it evicts.
 *
 * An entry is entry_size bytes and starts with its key_len-byte key; the
 * table only tracks which ways are in use, the rest of the entry is the
 * caller's. Keys are compared with memcmp: they must not be secrets (the
 * values may be; keyedtab_wipe() and keyedtab_uninit() wipe them). No
 * allocation after keyedtab_init(), no locking: the caller serialises.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/siphash.h"

struct keyedtab {
	unsigned char *slots;        /* nsets * ways entries of entry_size bytes */
	bool *used;                  /* one per slot */
	size_t nsets;                /* power of two */
	size_t ways, entry_size, key_len;
	struct siphash_key hkey;
};

/*
 * Allocates zeroed room for at least min_entries entries: nsets is the
 * smallest power of two with nsets * ways >= min_entries. key_len must be at
 * most entry_size. Returns 0, -EINVAL, -ENOMEM or -EIO (no random key).
 */
int keyedtab_init(struct keyedtab *t, size_t min_entries, size_t ways, size_t entry_size, size_t key_len);

/* Wipes and frees the entries; the struct may be initialised again. Zeroed or uninit'd: a no-op. */
void keyedtab_uninit(struct keyedtab *t);

/* Wipes every entry and marks every way free. */
void keyedtab_wipe(struct keyedtab *t);

/* The set key belongs to, 0..nsets-1. */
size_t keyedtab_set(const struct keyedtab *t, const void *key);

/* Entry way of set (used or not). */
void *keyedtab_slot(const struct keyedtab *t, size_t set, size_t way);

/* The in-use entry of set whose key equals key, or NULL. */
void *keyedtab_find(const struct keyedtab *t, size_t set, const void *key);

/*
 * A way of set for key: the first free one, else (rank given) the in-use
 * one with the lowest rank(entry, ctx), first of equals, which is evicted
 * (*evicted = true); without rank a full set gives NULL. The returned entry
 * is marked in use and holds key; the rest is left as it was, so an evicted
 * entry's fields can still be read. evicted may be NULL.
 */
void *keyedtab_claim(struct keyedtab *t, size_t set, const void *key,
		     uint64_t (*rank)(const void *entry, void *ctx), void *ctx, bool *evicted);

/* Wipes entry (one keyedtab_find() or keyedtab_claim() returned) and frees its way. */
void keyedtab_release(struct keyedtab *t, void *entry);

#endif
