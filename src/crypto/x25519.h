/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CRYPTO_X25519_H
#define JITWG_CRYPTO_X25519_H

#include <stddef.h>
#include <stdint.h>

/*
 * X25519 (RFC 7748) over OpenSSL 3's EVP. A responder does every DH with
 * one private key, so the key is imported once (struct x25519_key) and each
 * thread keeps a derive context with a reusable peer key object (struct
 * x25519_ctx): a DH then costs one EVP_PKEY_derive() and no allocation.
 * Why this path and what the alternatives cost: docs/ARCHITECTURE.md.
 */

enum { X25519_KEY_LEN = 32 };

/* A private key imported into OpenSSL. Read-only after creation: may be
 * shared by threads. Constructors return NULL with errno set (ENOMEM, EIO). */
struct x25519_key;
struct x25519_key *x25519_key_new(const uint8_t priv[static X25519_KEY_LEN]);
/* With its public key known (must be priv's: not checked): no scalar multiplication. */
struct x25519_key *x25519_key_new_pair(const uint8_t priv[static X25519_KEY_LEN],
				       const uint8_t pub[static X25519_KEY_LEN]);
void x25519_key_free(struct x25519_key *k);
void x25519_key_public(const struct x25519_key *k, uint8_t pub[static X25519_KEY_LEN]);

/* One thread's DH state for one private key; holds a reference to k. */
struct x25519_ctx;
struct x25519_ctx *x25519_ctx_new(const struct x25519_key *k);
void x25519_ctx_free(struct x25519_ctx *c);

/*
 * out = X25519(priv, pub). Returns 0, or -EINVAL when no shared secret
 * comes out: the result would be all zero (pub of small order, RFC 7748
 * section 6.1; OpenSSL refuses those itself and this checks again) or
 * OpenSSL rejected the call. On error out is zeroed and OpenSSL's error
 * queue is cleared. Not thread-safe on one ctx.
 */
int x25519_ctx_derive(struct x25519_ctx *c, uint8_t out[static X25519_KEY_LEN],
		      const uint8_t pub[static X25519_KEY_LEN]);

/*
 * Convenience paths for tests, benchmarks and key tools (they allocate per
 * call): the public key of priv, a DH with an arbitrary private key, and a
 * fresh private key from OpenSSL's RNG. Return 0 or -errno as above.
 */
int x25519_public_from_private(uint8_t pub[static X25519_KEY_LEN],
			       const uint8_t priv[static X25519_KEY_LEN]);
int x25519(uint8_t out[static X25519_KEY_LEN], const uint8_t priv[static X25519_KEY_LEN],
	   const uint8_t pub[static X25519_KEY_LEN]);
int x25519_generate(uint8_t priv[static X25519_KEY_LEN]);

#endif
