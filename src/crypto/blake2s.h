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
 * Low level, for hand-scheduled code that has two independent hashes:
 * compresses one block into each state at once (SIMD-paired where the CPU
 * can). The caller builds the blocks (zero-padded), passes the bytes each
 * adds to its counter (64, or the final block's length) and whether it is
 * the final block, and ignores the states' buffers (buflen must be 0).
 * After a final block, blake2s_digest() writes s->outlen bytes; the caller
 * wipes the state.
 */
void blake2s_compress_pair(struct blake2s_state *a, const uint8_t a_block[static BLAKE2S_BLOCK_LEN],
			   uint32_t a_len, bool a_last, struct blake2s_state *b,
			   const uint8_t b_block[static BLAKE2S_BLOCK_LEN], uint32_t b_len, bool b_last);
void blake2s_digest(const struct blake2s_state *s, uint8_t *out);

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
