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

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/hmac.h"
#include "crypto/x25519.h"
#include "noise/internal.h"
#include "noise/session.h"
#include "wire/messages.h"

void noise_initiation_set_mac1(uint8_t msg[static 148], const uint8_t responder_public[static WG_KEY_LEN])
{
	uint8_t key[WG_HASH_LEN];

	noise_mac1_key(key, responder_public);
	blake2s(msg + WG_INITIATION_MAC1_OFF, WG_MAC_LEN, msg, WG_INITIATION_MAC1_OFF, key, sizeof(key));
	explicit_bzero(key, sizeof(key));
}

/*
 * One implementation of message 1 serves the tests and the load generator:
 * this wraps the session code's (handshake.c) and forgets the state.
 */
int noise_initiation_create(uint8_t out[static 148], const uint8_t initiator_private[static WG_KEY_LEN],
			    const uint8_t responder_public[static WG_KEY_LEN], uint32_t sender_index,
			    const uint8_t timestamp[static 12], const uint8_t *ephemeral)
{
	struct noise_remote r;
	struct noise_local l;
	struct noise_handshake hs;
	int ret;

	memset(out, 0, WG_MSG_INITIATION_LEN);
	noise_remote_init(&r, responder_public, NULL);
	ret = noise_local_init(&l, initiator_private, &r);
	if (!ret)
		ret = noise_handshake_create_initiation(&hs, out, &l, &r, sender_index, timestamp,
							ephemeral, NULL, 0);
	noise_handshake_wipe(&hs);
	noise_local_wipe(&l);
	explicit_bzero(&r, sizeof(r));
	return ret;
}

void noise_mix_hash(uint8_t h[static WG_HASH_LEN], const uint8_t *in, size_t len)
{
	struct blake2s_state s;

	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, h, WG_HASH_LEN);
	blake2s_update(&s, in, len);
	blake2s_final(&s, h);
}
