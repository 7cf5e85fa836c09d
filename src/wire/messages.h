/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_MESSAGES_H
#define JITWG_WIRE_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

/*
 * WireGuard's wire formats (the protocol's "messages.h"): every field is a
 * byte array so the structs have no padding and no alignment, and are only
 * ever filled with memcpy from a buffer whose length was checked first.
 * Multi-byte integers are little-endian on the wire: decode with le32toh.
 */

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

enum {
	WG_PUBLIC_KEY_LEN = 32,
	WG_AEAD_TAG_LEN = 16,
	WG_TAI64N_LEN = 12,
	WG_MAC_LEN = 16,
	WG_HASH_LEN = 32,
	WG_MSG_INITIATION_LEN = 148,
	WG_MSG_RESPONSE_LEN = 92,
	WG_MSG_COOKIE_LEN = 64,
	WG_MSG_DATA_MIN_LEN = 32,
	/* mac1 covers everything before it, mac2 everything before mac2. */
	WG_INITIATION_MAC1_OFF = 116,
	WG_INITIATION_MAC2_OFF = 132,
};

struct message_header {
	uint8_t type;
	uint8_t reserved[3];
};

struct message_macs {
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
};

struct message_handshake_initiation {
	struct message_header header;
	uint8_t sender_index[4];
	uint8_t unencrypted_ephemeral[WG_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[WG_PUBLIC_KEY_LEN + WG_AEAD_TAG_LEN];
	uint8_t encrypted_timestamp[WG_TAI64N_LEN + WG_AEAD_TAG_LEN];
	struct message_macs macs;
};

_Static_assert(sizeof(struct message_handshake_initiation) == WG_MSG_INITIATION_LEN,
	       "initiation layout");
_Static_assert(__builtin_offsetof(struct message_handshake_initiation, macs) ==
		       WG_INITIATION_MAC1_OFF,
	       "mac1 offset");

/*
 * Whether a UDP payload is an attempt at a handshake initiation, for readers
 * of arbitrary traffic (jitwg identify --pcap): type byte 1 and either the
 * exact length or zero reserved bytes. A 148-byte message of type 1 with bad
 * reserved bytes is a damaged initiation; a message with the header
 * 01 00 00 00 but the wrong length is a cut or padded one. Other payloads
 * that merely start with 0x01 (a DNS query id, say) are not WireGuard.
 */
static inline _Bool message_is_initiation_attempt(const uint8_t *p, size_t len)
{
	if (len < 1 || p[0] != MESSAGE_HANDSHAKE_INITIATION)
		return 0;
	return len == WG_MSG_INITIATION_LEN || (len >= 4 && (p[1] | p[2] | p[3]) == 0);
}

/* The protocol's constant strings (Noise_IKpsk2, WireGuard paper section 5.4). */
#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1 "mac1----"
#define WG_LABEL_COOKIE "cookie--"

#endif
