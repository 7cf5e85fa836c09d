/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CRYPTO_AEAD_H
#define JITWG_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

/*
 * ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits then
 * the 64-bit counter, little-endian. Written here (aead.c says why); the
 * context is the seam for per-thread state and is one thread's.
 */

enum {
	AEAD_KEY_LEN = 32,
	AEAD_TAG_LEN = 16,
	XAEAD_NONCE_LEN = 24,
};

/* Returns a context or NULL with errno set. aead_ctx_free(NULL) is a no-op. */
struct aead_ctx;
struct aead_ctx *aead_ctx_new(void);
void aead_ctx_free(struct aead_ctx *c);

/*
 * aead_encrypt writes inlen + AEAD_TAG_LEN bytes: Enc(key, counter, in, ad)
 * || tag; returns 0 (or -EMSGSIZE past the cipher's 256 GiB limit).
 * aead_decrypt reads inlen >= AEAD_TAG_LEN bytes (ciphertext || tag), checks
 * the tag in constant time first, then writes inlen - AEAD_TAG_LEN bytes and
 * returns 0, or returns -EBADMSG and leaves out untouched. ad may be NULL
 * when adlen is 0. out may equal in.
 */
int aead_encrypt(struct aead_ctx *c, uint8_t *out, const uint8_t *in, size_t inlen,
		 uint64_t counter, const uint8_t *ad, size_t adlen,
		 const uint8_t key[static AEAD_KEY_LEN]);
int aead_decrypt(struct aead_ctx *c, uint8_t *out, const uint8_t *in, size_t inlen,
		 uint64_t counter, const uint8_t *ad, size_t adlen,
		 const uint8_t key[static AEAD_KEY_LEN]);

/*
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha), as WireGuard's cookie reply
 * uses it: a 24-byte nonce. Same contract as aead_encrypt/aead_decrypt; no
 * context (the construction holds no state). hchacha20() derives the subkey
 * from the key and the nonce's first 16 bytes.
 */
void hchacha20(uint8_t out[static AEAD_KEY_LEN], const uint8_t key[static AEAD_KEY_LEN],
	       const uint8_t nonce[static 16]);
int xaead_encrypt(uint8_t *out, const uint8_t *in, size_t inlen,
		  const uint8_t nonce[static XAEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
		  const uint8_t key[static AEAD_KEY_LEN]);
int xaead_decrypt(uint8_t *out, const uint8_t *in, size_t inlen,
		  const uint8_t nonce[static XAEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
		  const uint8_t key[static AEAD_KEY_LEN]);

#endif
