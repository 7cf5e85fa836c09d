/* SPDX-License-Identifier: MIT */
#ifndef JITWG_NOISE_NOISE_H
#define JITWG_NOISE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/keys.h"

/*
 * The responder's consumption of a WireGuard handshake initiation
 * (Noise_IKpsk2 message 1): mac1, e, es, s, ss, {t}. Pure: no I/O, no global
 * state. A verdict of NOISE_OK proves the sender holds the private key of
 * the static key it names. It does not prove freshness (a replay is ok
 * again: compare timestamps) nor the sender index (outside the transcript;
 * anyone can rewrite it and recompute mac1).
 *
 * Threads: a struct noise_responder is read-only after noise_responder_new()
 * and may be shared; a struct noise_sscache is NOT thread-safe: give each
 * worker thread its own. The cache also holds that thread's reusable
 * OpenSSL contexts, so passing one is what makes the decoder allocation-free.
 */

enum noise_verdict {
	NOISE_OK = 0,
	NOISE_BAD_FORMAT,    /* length, type or reserved bytes */
	NOISE_BAD_MAC1,
	NOISE_BAD_STATIC,    /* es or AEAD over the static key failed */
	NOISE_BAD_TIMESTAMP, /* ss or AEAD over the timestamp failed */
};

/* "ok", "bad-format", ... as the identify CLI and metrics print them. */
const char *noise_verdict_name(enum noise_verdict v);

struct noise_result {
	enum noise_verdict verdict;
	bool has_sender_index;          /* false only for bad-format */
	uint32_t sender_index;          /* host order, decoded little-endian */
	bool has_static;                /* true from bad-timestamp on */
	uint8_t initiator_static[WG_KEY_LEN];
	bool has_timestamp;             /* true only for ok */
	uint8_t timestamp[12];          /* TAI64N, big-endian as on the wire */
};

/* Opaque: the private key (in locked pages) and values derived from it. */
struct noise_responder;

/*
 * Precomputes everything that depends only on the responder's static key.
 * Returns a new responder or NULL with errno set. The caller keeps ownership
 * of private_key (it is copied). noise_responder_free() wipes; NULL is a no-op.
 */
struct noise_responder *noise_responder_new(const uint8_t private_key[static WG_KEY_LEN]);
void noise_responder_free(struct noise_responder *r);
void noise_responder_public_key(const struct noise_responder *r, uint8_t out[static WG_KEY_LEN]);
/* Whether mlock() succeeded for the responder's pages (RLIMIT_MEMLOCK). */
bool noise_responder_locked(const struct noise_responder *r);

/*
 * Per-thread cache of the static-static DH (ss) keyed by initiator static
 * key, as the kernel precomputes it per peer, so a returning initiator costs
 * one X25519. Bounded, 8-way set-associative with LRU per set: size it at
 * about four times the initiators a worker sees. capacity 1..2^24; NULL
 * with errno EINVAL/ENOMEM. Wiped on free; NULL is a no-op.
 */
struct noise_sscache;
struct noise_sscache *noise_sscache_new(size_t capacity);
void noise_sscache_free(struct noise_sscache *c);
/*
 * Counters since creation: lookups that found ss, lookups that had to
 * compute it, and entries inserted (only after {t} authenticates, so forged
 * statics never displace proven peers). Any pointer may be NULL.
 */
void noise_sscache_stats(const struct noise_sscache *c, uint64_t *hits, uint64_t *misses,
			 uint64_t *inserts);

/*
 * Consumes one UDP payload. Always fills *res (fields not obtained are
 * flagged absent) and returns 0; returns -EINVAL only for NULL arguments.
 * cache may be NULL (then ss is computed every time).
 * With cache NULL, or on a cache's first use with r (it binds to r's key
 * then and re-binds, flushing, when it meets another key), the thread's
 * OpenSSL contexts are made: if that fails the return is -ENOMEM or -EIO and
 * *res is bad-format with nothing obtained.
 */
int noise_consume_initiation(const struct noise_responder *r, struct noise_sscache *cache,
			     const uint8_t *payload, size_t len, struct noise_result *res);

/*
 * The initiator's side, for tests, benchmarks and fuzz seeds (it allocates
 * per call; the gateway never initiates from here). Writes a 148-byte
 * initiation from the initiator's static private key to the responder's
 * public key, with the given sender index and TAI64N timestamp. ephemeral
 * is the ephemeral private key, or NULL for a fresh random one. mac2 is
 * zero (no cookie). Returns 0 or -errno (-EINVAL for a small-order key).
 */
int noise_initiation_create(uint8_t out[static 148], const uint8_t initiator_private[static WG_KEY_LEN],
			    const uint8_t responder_public[static WG_KEY_LEN], uint32_t sender_index,
			    const uint8_t timestamp[static 12], const uint8_t *ephemeral);

/*
 * Recomputes mac1 of a 148-byte initiation in place for the responder's
 * public key (tests re-sign tampered messages to reach the inner checks).
 */
void noise_initiation_set_mac1(uint8_t msg[static 148], const uint8_t responder_public[static WG_KEY_LEN]);

#endif
