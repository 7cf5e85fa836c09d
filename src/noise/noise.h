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
 * the static key it names.
 *
 * Threads: a struct noise_responder is read-only after noise_responder_init()
 * and may be shared; a struct noise_sscache is NOT thread-safe: give each
 * worker thread its own.
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

/* Opaque: the private key and values derived from it, in locked memory. */
struct noise_responder;

/*
 * Precomputes everything that depends only on the responder's static key.
 * Returns a new responder or NULL with errno set. The caller keeps ownership
 * of private_key (it is copied). noise_responder_free() wipes; NULL is a no-op.
 */
struct noise_responder *noise_responder_new(const uint8_t private_key[static WG_KEY_LEN]);
void noise_responder_free(struct noise_responder *r);
void noise_responder_public_key(const struct noise_responder *r, uint8_t out[static WG_KEY_LEN]);

/*
 * Per-thread cache of the static-static DH (ss) keyed by initiator static
 * key, as the kernel precomputes it per peer, so a returning initiator costs
 * one X25519. Bounded; eviction is approximate LRU. Wiped on free.
 */
struct noise_sscache;
struct noise_sscache *noise_sscache_new(size_t capacity);
void noise_sscache_free(struct noise_sscache *c);

/*
 * Consumes one UDP payload. Always fills *res (fields not obtained are
 * flagged absent) and returns 0; returns -EINVAL only for NULL arguments.
 * cache may be NULL (then ss is computed every time).
 */
int noise_consume_initiation(const struct noise_responder *r, struct noise_sscache *cache,
			     const uint8_t *payload, size_t len, struct noise_result *res);

#endif
