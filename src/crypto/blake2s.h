/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CRYPTO_BLAKE2S_H
#define JITWG_CRYPTO_BLAKE2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * BLAKE2s (RFC 7693), written here rather than called through OpenSSL: the
 * handshake hashes 32 to 116 bytes at a time, where EVP's per-call fetch,
 * context and provider dispatch cost more than the compression itself
 * (measurements in docs/ARCHITECTURE.md). Pure, no allocation, no globals;
 * every function is safe to call from any thread on its own state.
 */

enum {
	BLAKE2S_BLOCK_LEN = 64,
	BLAKE2S_HASH_LEN = 32,
	BLAKE2S_KEY_LEN = 32,
};

struct blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f0;
	uint8_t buf[BLAKE2S_BLOCK_LEN];
	size_t buflen;
	size_t outlen;
};

/*
 * Starts an unkeyed (keylen 0) or keyed hash with a digest of outlen bytes.
 * outlen must be 1..32 and keylen 0..32; other values are clamped so the
 * functions never fail (callers pass constants). key may be NULL if keylen 0.
 */
void blake2s_init(struct blake2s_state *s, size_t outlen);
void blake2s_init_key(struct blake2s_state *s, size_t outlen, const void *key, size_t keylen);
void blake2s_update(struct blake2s_state *s, const void *in, size_t len);
/* Writes s->outlen bytes to out and wipes the state. */
void blake2s_final(struct blake2s_state *s, uint8_t *out);

/*
 * Compresses a full pending block now, as a non-final block. Only for
 * precomputed states (a key block, an HMAC pad): the caller promises that
 * at least one more byte will be absorbed before blake2s_final().
 */
void blake2s_flush_pending(struct blake2s_state *s);
/* Both at once (the same promise for each); SIMD-paired where the CPU can. */
void blake2s_flush_pending2(struct blake2s_state *a, struct blake2s_state *b);

/*
 * Pins the compression function for tests and benchmarks: every
 * implementation must give the same digests. Returns false if the CPU
 * lacks it. Process-wide and not synchronised: call it only while no other
 * thread hashes. The default, AUTO, picks the fastest the CPU has.
 */
enum blake2s_impl {
	BLAKE2S_IMPL_AUTO = 0,
	BLAKE2S_IMPL_GENERIC,
	BLAKE2S_IMPL_SSSE3,
	BLAKE2S_IMPL_AVX512VL,
};
bool blake2s_use_impl(enum blake2s_impl impl);

/* One-shot hash; keylen 0 for unkeyed. */
void blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen, const void *key,
	     size_t keylen);

#endif
