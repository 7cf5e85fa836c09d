// SPDX-License-Identifier: MIT
/*
 * ChaCha20-Poly1305 through EVP. The cipher object is fetched once when the
 * context is made and the EVP_CIPHER_CTX is re-keyed for each message
 * (EVP_CipherInit_ex2 with a NULL cipher), never reallocated.
 */
#include "crypto/aead.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

struct aead_ctx {
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
};

struct aead_ctx *aead_ctx_new(void)
{
	struct aead_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->cipher || !c->ctx || EVP_CipherInit_ex2(c->ctx, c->cipher, NULL, NULL, 0, NULL) != 1) {
		aead_ctx_free(c);
		errno = EIO;
		return NULL;
	}
	return c;
}

void aead_ctx_free(struct aead_ctx *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->ctx);
	EVP_CIPHER_free(c->cipher);
	free(c);
}

static void make_nonce(uint8_t nonce[12], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &le, 8);
}

int aead_encrypt(struct aead_ctx *c, uint8_t *out, const uint8_t *in, size_t inlen,
		 uint64_t counter, const uint8_t *ad, size_t adlen,
		 const uint8_t key[static AEAD_KEY_LEN])
{
	uint8_t nonce[12];
	int n, ret = -EIO;

	if (inlen > INT_MAX - AEAD_TAG_LEN || adlen > INT_MAX)
		return -EMSGSIZE;
	make_nonce(nonce, counter);
	if (EVP_CipherInit_ex2(c->ctx, NULL, key, nonce, 1, NULL) != 1)
		goto out;
	if (adlen && EVP_CipherUpdate(c->ctx, NULL, &n, ad, (int)adlen) != 1)
		goto out;
	if (inlen && EVP_CipherUpdate(c->ctx, out, &n, in, (int)inlen) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c->ctx, out + inlen, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, out + inlen) != 1)
		goto out;
	ret = 0;
out:
	if (ret)
		ERR_clear_error();
	return ret;
}

int aead_decrypt(struct aead_ctx *c, uint8_t *out, const uint8_t *in, size_t inlen,
		 uint64_t counter, const uint8_t *ad, size_t adlen,
		 const uint8_t key[static AEAD_KEY_LEN])
{
	uint8_t nonce[12], tag[AEAD_TAG_LEN];
	size_t ctlen;
	int n, ret = -EBADMSG;

	if (inlen < AEAD_TAG_LEN)
		return -EBADMSG;
	ctlen = inlen - AEAD_TAG_LEN;
	if (ctlen > INT_MAX || adlen > INT_MAX)
		return -EMSGSIZE;
	make_nonce(nonce, counter);
	memcpy(tag, in + ctlen, AEAD_TAG_LEN);
	if (EVP_CipherInit_ex2(c->ctx, NULL, key, nonce, 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1)
		goto out;
	if (adlen && EVP_CipherUpdate(c->ctx, NULL, &n, ad, (int)adlen) != 1)
		goto out;
	if (ctlen && EVP_CipherUpdate(c->ctx, out, &n, in, (int)ctlen) != 1)
		goto out;
	/* Final compares the tag in constant time inside the provider. */
	if (EVP_CipherFinal_ex(c->ctx, out + ctlen, &n) != 1)
		goto out;
	ret = 0;
out:
	if (ret) {
		OPENSSL_cleanse(out, ctlen);
		ERR_clear_error();
	}
	return ret;
}
