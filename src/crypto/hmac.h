/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CRYPTO_HMAC_H
#define JITWG_CRYPTO_HMAC_H

#include <stddef.h>
#include <stdint.h>
#include "crypto/blake2s.h"

/*
 * HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256) and the HKDF-style KDF of the
 * WireGuard paper, section 5.4. Pure; no allocation; no globals.
 */

/*
 * A keyed HMAC state: the inner and outer pads already absorbed, so a key
 * used many times (the constant first chaining key, tau0 inside one KDF)
 * costs its two pad compressions once. Wipe with hmac_blake2s_key_wipe().
 */
struct hmac_blake2s_key {
	struct blake2s_state inner, outer;
};

void hmac_blake2s_key_init(struct hmac_blake2s_key *k, const void *key, size_t keylen);
void hmac_blake2s_key_wipe(struct hmac_blake2s_key *k);

/*
 * out = HMAC(k, in1 || in2); in2 may be NULL with len2 0. k is not changed.
 * len1 + len2 must be at least 1 (the inner pad is already compressed as a
 * non-final block); use hmac_blake2s() for an empty message.
 */
void hmac_blake2s_keyed(uint8_t out[static BLAKE2S_HASH_LEN], const struct hmac_blake2s_key *k,
			const void *in1, size_t len1, const void *in2, size_t len2);
void hmac_blake2s(uint8_t out[static BLAKE2S_HASH_LEN], const void *key, size_t keylen,
		  const void *in, size_t inlen);

/*
 * The KDF: tau0 = HMAC(ck, in); tau_i = HMAC(tau0, tau_{i-1} || i). Writes
 * tau1, tau2, tau3 to the non-NULL outputs (each 32 bytes); an output may be
 * NULL only if every later one is NULL too. kdf_keyed takes ck precomputed
 * and needs inlen >= 1; kdf also takes the empty input (transport keys).
 * Outputs may alias ck's bytes (kdf only) because ck is absorbed first.
 */
void kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[static BLAKE2S_HASH_LEN],
	 const void *in, size_t inlen);
void kdf_keyed(uint8_t *t1, uint8_t *t2, uint8_t *t3, const struct hmac_blake2s_key *ck,
	       const void *in, size_t inlen);

#endif
