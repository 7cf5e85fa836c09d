/* SPDX-License-Identifier: MIT */
#ifndef JITWG_NOISE_SESSION_H
#define JITWG_NOISE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/keys.h"
#include "wire/messages.h"

/*
 * A WireGuard endpoint's side of a whole session with one remote peer, as a
 * client speaks it: both handshake roles (initiator: message 1 out, message
 * 2 in; responder: message 1 in, message 2 out), the cookie reply and mac2,
 * and transport data. Pure: no I/O, no clock (callers pass times), no
 * globals. Small enough per client for a load generator holding 100,000.
 *
 * The gateway's hot path keeps its own allocation-free initiation consumer
 * (noise.h); this file serves jitwg loadgen, the tests and the KATs.
 * Threads: every struct here belongs to one thread at a time, except a
 * struct noise_remote, which is read-only after noise_remote_init().
 * Errors: 0 or -errno; -EBADMSG for any message that fails a check (length,
 * type, index, mac1, AEAD, replay): callers drop it and count it.
 */

enum {
	NOISE_COOKIE_LEN = 16,
	WG_RESPONSE_MAC1_OFF = 60,
	WG_RESPONSE_MAC2_OFF = 76,
	WG_DATA_HEADER_LEN = 16,
};

struct message_handshake_response {
	struct message_header header;
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t unencrypted_ephemeral[WG_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[WG_AEAD_TAG_LEN];
	struct message_macs macs;
};

struct message_handshake_cookie {
	struct message_header header;
	uint8_t receiver_index[4];
	uint8_t nonce[24];
	uint8_t encrypted_cookie[NOISE_COOKIE_LEN + WG_AEAD_TAG_LEN];
};

/* The protocol's timers (WireGuard paper section 6.1), in ns. */
#define NOISE_REKEY_TIMEOUT_NS 5000000000LL
#define NOISE_REKEY_JITTER_MAX_NS 333000000LL
#define NOISE_REKEY_ATTEMPT_TIME_NS 90000000000LL
#define NOISE_COOKIE_SECRET_MAX_AGE_NS 120000000000LL
#define NOISE_KEEPALIVE_TIMEOUT_NS 10000000000LL

_Static_assert(sizeof(struct message_handshake_response) == WG_MSG_RESPONSE_LEN, "response layout");
_Static_assert(sizeof(struct message_handshake_cookie) == WG_MSG_COOKIE_LEN, "cookie layout");

/*
 * What depends only on the remote's public key (and the preshared key, zero
 * when not used): shared by every client talking to one gateway.
 */
struct noise_remote {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t psk[WG_KEY_LEN];
	uint8_t mac1_key[WG_HASH_LEN];    /* HASH(LABEL_MAC1 || S_remote): our messages to it */
	uint8_t cookie_key[WG_HASH_LEN];  /* HASH(LABEL_COOKIE || S_remote): its cookie replies */
	uint8_t ck0[WG_HASH_LEN];         /* HASH(CONSTRUCTION) */
	uint8_t h0[WG_HASH_LEN];          /* initiator's h after mixing S_remote */
};

/* psk may be NULL (no preshared key). Never fails. */
void noise_remote_init(struct noise_remote *r, const uint8_t public_key[static WG_KEY_LEN],
		       const uint8_t *psk);

/* One local static key and the static-static DH with one remote. */
struct noise_local {
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];
	uint8_t ss[WG_KEY_LEN];
};

/* Returns 0, or -EINVAL when ss comes out zero (small-order remote), -EIO. */
int noise_local_init(struct noise_local *l, const uint8_t private_key[static WG_KEY_LEN],
		     const struct noise_remote *r);
void noise_local_wipe(struct noise_local *l);

/* A cookie received in a cookie reply; mac2 is sent while it is fresh. */
struct noise_cookie {
	uint8_t cookie[NOISE_COOKIE_LEN];
	int64_t received_ns;
	bool valid;
};

/* One handshake in flight, either role. */
struct noise_handshake {
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN];
	uint8_t e_priv[WG_KEY_LEN];   /* our ephemeral */
	uint8_t e_pub[WG_KEY_LEN];
	uint8_t remote_e[WG_KEY_LEN]; /* responder role: the initiator's */
	uint8_t last_mac1[WG_MAC_LEN]; /* of the last handshake message we sent (cookie AD) */
	uint32_t local_index, remote_index;
	uint8_t remote_timestamp[WG_TAI64N_LEN];
	bool initiator;
};

/* The transport keys of one confirmed-or-not session. */
struct noise_keypair {
	uint8_t send_key[WG_KEY_LEN], recv_key[WG_KEY_LEN];
	uint64_t send_counter;
	uint64_t recv_max;    /* highest counter + 1 seen; 0 = none */
	uint64_t recv_window; /* bit i: counter recv_max - 1 - i was seen */
	uint32_t local_index, remote_index;
	bool initiator;
};

void noise_handshake_wipe(struct noise_handshake *hs);
void noise_keypair_wipe(struct noise_keypair *kp);

/* TAI64N of a CLOCK_REALTIME instant, as wireguard-go writes it. */
void noise_tai64n(uint8_t out[static WG_TAI64N_LEN], int64_t realtime_ns);

/*
 * Initiator, message 1: writes 148 bytes with mac1 and, when cookie is
 * non-NULL and valid and younger than 120 s at now_ns, mac2. ephemeral is
 * the ephemeral private key or NULL for a fresh one. hs keeps what the
 * response needs.
 */
int noise_handshake_create_initiation(struct noise_handshake *hs, uint8_t out[static WG_MSG_INITIATION_LEN],
				      const struct noise_local *l, const struct noise_remote *r,
				      uint32_t local_index, const uint8_t timestamp[static WG_TAI64N_LEN],
				      const uint8_t *ephemeral, const struct noise_cookie *cookie,
				      int64_t now_ns);

/*
 * Initiator, message 2: checks length, type, receiver index (== hs's), mac1
 * (keyed with our public key; mac2 is not checked: we are not under load),
 * then e, ee, se, psk and the empty AEAD; on success fills kp (initiator
 * keys, remote index) and wipes hs's secrets. -EBADMSG leaves hs usable.
 */
int noise_handshake_consume_response(struct noise_handshake *hs, struct noise_keypair *kp,
				     const uint8_t *msg, size_t len, const struct noise_local *l,
				     const struct noise_remote *r);

/*
 * Responder, message 1 from the one remote we know: checks the message
 * like the gateway does and, in addition, that the static key inside is
 * r's. Fills hs (chaining state, the initiator's ephemeral, index and
 * timestamp); freshness against an earlier timestamp is the caller's.
 */
int noise_handshake_consume_initiation(struct noise_handshake *hs, const uint8_t *msg, size_t len,
				       const struct noise_local *l, const struct noise_remote *r);

/*
 * The same from any initiator (a test responder that accepts every key:
 * bench/loadgen's sink): ss is computed, not taken from l; the static key
 * found is written to initiator_static. Answer with a noise_remote made
 * from it.
 */
int noise_handshake_consume_initiation_any(struct noise_handshake *hs, uint8_t initiator_static[static WG_KEY_LEN],
					   const uint8_t *msg, size_t len, const struct noise_local *l);

/*
 * Responder, message 2: writes 92 bytes (mac1, mac2 as above) and fills kp
 * (responder keys: not to be used for sending until the initiator's first
 * data message arrived). ephemeral NULL for a fresh one. Wipes hs's secrets.
 */
int noise_handshake_create_response(struct noise_handshake *hs, struct noise_keypair *kp,
				    uint8_t out[static WG_MSG_RESPONSE_LEN], const struct noise_local *l,
				    const struct noise_remote *r, uint32_t local_index,
				    const uint8_t *ephemeral, const struct noise_cookie *cookie,
				    int64_t now_ns);

/*
 * Cookie reply (type 3) to the handshake message whose mac1 is hs->last_mac1
 * (receiver index must be hs->local_index): decrypts the cookie with
 * XChaCha20-Poly1305 under r->cookie_key and stores it with now_ns.
 */
int noise_cookie_consume(struct noise_cookie *c, const struct noise_handshake *hs, const uint8_t *msg,
			 size_t len, const struct noise_remote *r, int64_t now_ns);

/*
 * The sending side of a cookie reply, for tests and the bench's responder:
 * cookie = MAC(secret, source address bytes), sealed for the message whose
 * mac1 is given, under HASH(LABEL_COOKIE || our public key). nonce NULL for
 * a random one.
 */
int noise_cookie_create_reply(uint8_t out[static WG_MSG_COOKIE_LEN], uint32_t receiver_index,
			      const uint8_t mac1[static WG_MAC_LEN],
			      const uint8_t our_public[static WG_KEY_LEN],
			      const uint8_t cookie[static NOISE_COOKIE_LEN], const uint8_t *nonce);

/* mac1 and mac2 of a handshake message of len bytes (148 or 92). */
void noise_message_set_macs(uint8_t *msg, size_t len, const uint8_t mac1_key[static WG_HASH_LEN],
			    const struct noise_cookie *cookie, int64_t now_ns);

/*
 * Transport data. encrypt pads the payload to 16 bytes (a keepalive is the
 * empty payload) and writes WG_DATA_HEADER_LEN + padded + 16 bytes to out
 * (out_cap must hold them: else -EMSGSIZE), *out_len set. decrypt checks
 * type, receiver index, the replay window and the tag; writes the padded
 * plaintext (*out_len, 0 for a keepalive). out may not overlap msg.
 */
int noise_transport_encrypt(struct noise_keypair *kp, uint8_t *out, size_t out_cap, size_t *out_len,
			    const uint8_t *payload, size_t len);
int noise_transport_decrypt(struct noise_keypair *kp, uint8_t *out, size_t out_cap, size_t *out_len,
			    const uint8_t *msg, size_t len);

/* The receiver index of a type 2/3/4 message (little-endian at offset 4/4/4,
 * except the response: offset 8), or false for a too-short message. */
bool noise_message_receiver(const uint8_t *msg, size_t len, uint32_t *index);

#endif
