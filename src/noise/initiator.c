// SPDX-License-Identifier: MIT
/*
 * The initiator's message 1, written from the protocol description rather
 * than derived from the responder code, so that the tests which feed these
 * messages to the responder check one reading of the spec against another
 * (the committed wireguard-go captures check both against the real thing).
 */
#include "noise/noise.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/hmac.h"
#include "crypto/x25519.h"
#include "noise/internal.h"
#include "wire/messages.h"

void noise_initiation_set_mac1(uint8_t msg[static 148], const uint8_t responder_public[static WG_KEY_LEN])
{
	uint8_t key[WG_HASH_LEN];

	noise_mac1_key(key, responder_public);
	blake2s(msg + WG_INITIATION_MAC1_OFF, WG_MAC_LEN, msg, WG_INITIATION_MAC1_OFF, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
}

static void mix_hash(uint8_t h[static WG_HASH_LEN], const uint8_t *in, size_t len)
{
	struct blake2s_state s;

	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, h, WG_HASH_LEN);
	blake2s_update(&s, in, len);
	blake2s_final(&s, h);
}

int noise_initiation_create(uint8_t out[static 148], const uint8_t initiator_private[static WG_KEY_LEN],
			    const uint8_t responder_public[static WG_KEY_LEN], uint32_t sender_index,
			    const uint8_t timestamp[static 12], const uint8_t *ephemeral)
{
	struct message_handshake_initiation msg;
	struct aead_ctx *aead = aead_ctx_new();
	uint8_t ck[WG_HASH_LEN], hash[WG_HASH_LEN], key[WG_HASH_LEN], dh[WG_KEY_LEN];
	uint8_t e_priv[WG_KEY_LEN], s_pub[WG_KEY_LEN];
	uint32_t le = htole32(sender_index);
	int ret = 0;

	memset(&msg, 0, sizeof(msg));
	memset(out, 0, WG_MSG_INITIATION_LEN);
	if (!aead) {
		ret = -ENOMEM;
		goto out;
	}
	if (ephemeral)
		memcpy(e_priv, ephemeral, WG_KEY_LEN);
	else if ((ret = x25519_generate(e_priv)))
		goto out;
	msg.header.type = MESSAGE_HANDSHAKE_INITIATION;
	memcpy(msg.sender_index, &le, sizeof(le));
	noise_initial_state(ck, hash, responder_public);

	/* e */
	if ((ret = x25519_public_from_private(msg.unencrypted_ephemeral, e_priv)))
		goto out;
	kdf(ck, NULL, NULL, ck, msg.unencrypted_ephemeral, WG_KEY_LEN);
	mix_hash(hash, msg.unencrypted_ephemeral, WG_KEY_LEN);
	/* es */
	if ((ret = x25519(dh, e_priv, responder_public)))
		goto out;
	kdf(ck, key, NULL, ck, dh, WG_KEY_LEN);
	/* s */
	if ((ret = x25519_public_from_private(s_pub, initiator_private)))
		goto out;
	if ((ret = aead_encrypt(aead, msg.encrypted_static, s_pub, WG_KEY_LEN, 0, hash, WG_HASH_LEN, key)))
		goto out;
	mix_hash(hash, msg.encrypted_static, sizeof(msg.encrypted_static));
	/* ss */
	if ((ret = x25519(dh, initiator_private, responder_public)))
		goto out;
	kdf(ck, key, NULL, ck, dh, WG_KEY_LEN);
	/* {t} */
	if ((ret = aead_encrypt(aead, msg.encrypted_timestamp, timestamp, WG_TAI64N_LEN, 0, hash,
				WG_HASH_LEN, key)))
		goto out;
	memcpy(out, &msg, sizeof(msg));
	noise_initiation_set_mac1(out, responder_public);
out:
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(dh, sizeof(dh));
	OPENSSL_cleanse(e_priv, sizeof(e_priv));
	aead_ctx_free(aead);
	return ret;
}
