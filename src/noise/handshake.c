// SPDX-License-Identifier: MIT
/*
 * Noise_IKpsk2 in both roles for one local key and one remote (session.h).
 * Each step is commented with its token. Written from the protocol
 * description (WireGuard paper section 5.4); the known-answer tests check
 * it against packets captured from wireguard-go (tests/data/session-*).
 * Every secret on the stack is wiped at the function's single exit; the
 * handshake state's secrets are wiped as soon as the keys are derived.
 */
#include "noise/session.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <openssl/rand.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/hmac.h"
#include "crypto/x25519.h"
#include "noise/internal.h"

void noise_remote_init(struct noise_remote *r, const uint8_t public_key[static WG_KEY_LEN],
		       const uint8_t *psk)
{
	struct blake2s_state s;

	memset(r, 0, sizeof(*r));
	memcpy(r->public_key, public_key, WG_KEY_LEN);
	if (psk)
		memcpy(r->psk, psk, WG_KEY_LEN);
	noise_mac1_key(r->mac1_key, public_key);
	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, WG_LABEL_COOKIE, sizeof(WG_LABEL_COOKIE) - 1);
	blake2s_update(&s, public_key, WG_KEY_LEN);
	blake2s_final(&s, r->cookie_key);
	noise_initial_state(r->ck0, r->h0, public_key);
}

/* DH with a key pair whose public half we hold: no public-key derivation. */
static int dh_pair(uint8_t out[static WG_KEY_LEN], const uint8_t priv[static WG_KEY_LEN],
		   const uint8_t pub[static WG_KEY_LEN], const uint8_t peer[static WG_KEY_LEN])
{
	struct x25519_key *k = x25519_key_new_pair(priv, pub);
	struct x25519_ctx *c = k ? x25519_ctx_new(k) : NULL;
	int ret = c ? x25519_ctx_derive(c, out, peer) : -EIO;

	x25519_ctx_free(c);
	x25519_key_free(k);
	return ret;
}

int noise_local_init(struct noise_local *l, const uint8_t private_key[static WG_KEY_LEN],
		     const struct noise_remote *r)
{
	int ret;

	memcpy(l->private_key, private_key, WG_KEY_LEN);
	ret = x25519_public_from_private(l->public_key, private_key);
	if (!ret)
		ret = dh_pair(l->ss, private_key, l->public_key, r->public_key);
	if (ret)
		noise_local_wipe(l);
	return ret;
}

void noise_local_wipe(struct noise_local *l)
{
	explicit_bzero(l, sizeof(*l));
}

void noise_handshake_wipe(struct noise_handshake *hs)
{
	explicit_bzero(hs, sizeof(*hs));
}

void noise_keypair_wipe(struct noise_keypair *kp)
{
	explicit_bzero(kp, sizeof(*kp));
}

void noise_tai64n(uint8_t out[static WG_TAI64N_LEN], int64_t realtime_ns)
{
	/* TAI64 label 2^62 + seconds, plus the 10 s TAI-UTC offset of 1972
	 * that wireguard-go adds too; nanoseconds whitened to 2^24 ns steps as
	 * wireguard-go and the kernel do (no fine clock leaks to the peer). */
	uint64_t secs = htobe64(0x400000000000000aULL + (uint64_t)(realtime_ns / 1000000000));
	uint32_t nano = htobe32((uint32_t)(realtime_ns % 1000000000) & ~0xffffffU);

	memcpy(out, &secs, 8);
	memcpy(out + 8, &nano, 4);
}

static void cookie_mac(uint8_t out[static WG_MAC_LEN], const struct noise_cookie *c, const uint8_t *msg,
		       size_t len)
{
	blake2s(out, WG_MAC_LEN, msg, len, c->cookie, NOISE_COOKIE_LEN);
}

void noise_message_set_macs(uint8_t *msg, size_t len, const uint8_t mac1_key[static WG_HASH_LEN],
			    const struct noise_cookie *cookie, int64_t now_ns)
{
	size_t off = len - 2 * WG_MAC_LEN;

	blake2s(msg + off, WG_MAC_LEN, msg, off, mac1_key, WG_HASH_LEN);
	if (cookie && cookie->valid && now_ns - cookie->received_ns < NOISE_COOKIE_SECRET_MAX_AGE_NS)
		cookie_mac(msg + off + WG_MAC_LEN, cookie, msg, off + WG_MAC_LEN);
	else
		memset(msg + off + WG_MAC_LEN, 0, WG_MAC_LEN);
}

static void self_mac1_key(uint8_t key[static WG_HASH_LEN], const struct noise_local *l)
{
	noise_mac1_key(key, l->public_key);
}

/* The transport keys: KDF2(ck, empty); the initiator sends with the first. */
static void derive_keys(struct noise_keypair *kp, const struct noise_handshake *hs)
{
	uint8_t first[WG_HASH_LEN], second[WG_HASH_LEN];

	memset(kp, 0, sizeof(*kp));
	kdf(first, second, NULL, hs->ck, NULL, 0);
	memcpy(hs->initiator ? kp->send_key : kp->recv_key, first, WG_KEY_LEN);
	memcpy(hs->initiator ? kp->recv_key : kp->send_key, second, WG_KEY_LEN);
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	kp->initiator = hs->initiator;
	explicit_bzero(first, sizeof(first));
	explicit_bzero(second, sizeof(second));
}

/*
 * Our ephemeral (given or fresh), its public key, and the DHs of it with
 * peer1 and (if not NULL) peer2: one key import serves them all, where
 * separate calls would import it, and derive its public key, each time.
 */
static int make_ephemeral(uint8_t priv[static WG_KEY_LEN], uint8_t pub[static WG_KEY_LEN],
			  const uint8_t *given, uint8_t dh1[static WG_KEY_LEN],
			  const uint8_t peer1[static WG_KEY_LEN], uint8_t *dh2, const uint8_t *peer2)
{
	struct x25519_key *k = NULL;
	struct x25519_ctx *c = NULL;
	int ret = 0;

	if (given)
		memcpy(priv, given, WG_KEY_LEN);
	else if ((ret = x25519_generate(priv)))
		return ret;
	k = x25519_key_new(priv);
	c = k ? x25519_ctx_new(k) : NULL;
	if (!c) {
		ret = errno == ENOMEM ? -ENOMEM : -EIO;
		goto out;
	}
	x25519_key_public(k, pub);
	ret = x25519_ctx_derive(c, dh1, peer1);
	if (!ret && dh2)
		ret = x25519_ctx_derive(c, dh2, peer2);
out:
	x25519_ctx_free(c);
	x25519_key_free(k);
	return ret;
}

int noise_handshake_create_initiation(struct noise_handshake *hs, uint8_t out[static WG_MSG_INITIATION_LEN],
				      const struct noise_local *l, const struct noise_remote *r,
				      uint32_t local_index, const uint8_t timestamp[static WG_TAI64N_LEN],
				      const uint8_t *ephemeral, const struct noise_cookie *cookie,
				      int64_t now_ns)
{
	struct message_handshake_initiation msg;
	uint8_t key[WG_HASH_LEN], dh[WG_KEY_LEN];
	uint32_t le = htole32(local_index);
	int ret;

	memset(&msg, 0, sizeof(msg));
	memset(hs, 0, sizeof(*hs));
	hs->initiator = true;
	hs->local_index = local_index;
	msg.header.type = MESSAGE_HANDSHAKE_INITIATION;
	memcpy(msg.sender_index, &le, sizeof(le));
	memcpy(hs->ck, r->ck0, WG_HASH_LEN);
	memcpy(hs->h, r->h0, WG_HASH_LEN);

	/* e (and the DH of es with it) */
	if ((ret = make_ephemeral(hs->e_priv, msg.unencrypted_ephemeral, ephemeral, dh, r->public_key,
				  NULL, NULL)))
		goto out;
	memcpy(hs->e_pub, msg.unencrypted_ephemeral, WG_KEY_LEN);
	kdf(hs->ck, NULL, NULL, hs->ck, msg.unencrypted_ephemeral, WG_KEY_LEN);
	noise_mix_hash(hs->h, msg.unencrypted_ephemeral, WG_KEY_LEN);
	/* es */
	kdf(hs->ck, key, NULL, hs->ck, dh, WG_KEY_LEN);
	/* s */
	aead_encrypt(NULL, msg.encrypted_static, l->public_key, WG_KEY_LEN, 0, hs->h, WG_HASH_LEN, key);
	noise_mix_hash(hs->h, msg.encrypted_static, sizeof(msg.encrypted_static));
	/* ss (precomputed per local key) */
	kdf(hs->ck, key, NULL, hs->ck, l->ss, WG_KEY_LEN);
	/* {t} */
	aead_encrypt(NULL, msg.encrypted_timestamp, timestamp, WG_TAI64N_LEN, 0, hs->h, WG_HASH_LEN, key);
	noise_mix_hash(hs->h, msg.encrypted_timestamp, sizeof(msg.encrypted_timestamp));

	memcpy(out, &msg, sizeof(msg));
	noise_message_set_macs(out, WG_MSG_INITIATION_LEN, r->mac1_key, cookie, now_ns);
	memcpy(hs->last_mac1, out + WG_INITIATION_MAC1_OFF, WG_MAC_LEN);
out:
	if (ret)
		noise_handshake_wipe(hs);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(dh, sizeof(dh));
	return ret;
}

/* Exact length, type, zero reserved bytes and mac1 under key (constant time). */
static bool header_and_mac1_ok(const uint8_t *msg, size_t len, size_t want_len, uint8_t type,
			       const uint8_t mac1_key[static WG_HASH_LEN])
{
	uint8_t mac[WG_MAC_LEN];
	size_t off = want_len - 2 * WG_MAC_LEN;
	bool ok;

	if (!msg || len != want_len || msg[0] != type || (msg[1] | msg[2] | msg[3]))
		return false;
	blake2s(mac, WG_MAC_LEN, msg, off, mac1_key, WG_HASH_LEN);
	ok = ct_equal(mac, msg + off, WG_MAC_LEN);
	explicit_bzero(mac, sizeof(mac));
	return ok;
}

/*
 * The psk token and the empty AEAD that close message 2, shared by both
 * roles: (ck, tau, key) = KDF3(ck, psk); h = HASH(h || tau); then the
 * responder seals (enc NULL -> writes into sealed) or the initiator opens.
 */
static int psk_and_empty(struct noise_handshake *hs, const struct noise_remote *r, uint8_t sealed[static WG_AEAD_TAG_LEN],
			 bool seal)
{
	uint8_t tau[WG_HASH_LEN], key[WG_HASH_LEN];
	int ret = 0;

	kdf(hs->ck, tau, key, hs->ck, r->psk, WG_KEY_LEN);
	noise_mix_hash(hs->h, tau, WG_HASH_LEN);
	if (seal)
		aead_encrypt(NULL, sealed, NULL, 0, 0, hs->h, WG_HASH_LEN, key);
	else if (aead_decrypt(NULL, NULL, sealed, WG_AEAD_TAG_LEN, 0, hs->h, WG_HASH_LEN, key))
		ret = -EBADMSG;
	if (!ret)
		noise_mix_hash(hs->h, sealed, WG_AEAD_TAG_LEN);
	explicit_bzero(tau, sizeof(tau));
	explicit_bzero(key, sizeof(key));
	return ret;
}

int noise_handshake_consume_response(struct noise_handshake *hs, struct noise_keypair *kp,
				     const uint8_t *msg, size_t len, const struct noise_local *l,
				     const struct noise_remote *r)
{
	struct message_handshake_response m;
	struct noise_handshake next;
	uint8_t mac1_key[WG_HASH_LEN], dh[WG_KEY_LEN];
	uint32_t idx;
	int ret = -EBADMSG;

	/* Work on a copy: a forged response must not spoil the real one's state. */
	next = *hs;
	self_mac1_key(mac1_key, l);
	if (!hs->initiator || !header_and_mac1_ok(msg, len, WG_MSG_RESPONSE_LEN,
						  MESSAGE_HANDSHAKE_RESPONSE, mac1_key))
		goto out;
	memcpy(&m, msg, sizeof(m));
	memcpy(&idx, m.receiver_index, 4);
	if (le32toh(idx) != hs->local_index)
		goto out;
	memcpy(&idx, m.sender_index, 4);
	next.remote_index = le32toh(idx);

	/* e */
	kdf(next.ck, NULL, NULL, next.ck, m.unencrypted_ephemeral, WG_KEY_LEN);
	noise_mix_hash(next.h, m.unencrypted_ephemeral, WG_KEY_LEN);
	/* ee */
	if (dh_pair(dh, next.e_priv, next.e_pub, m.unencrypted_ephemeral))
		goto out;
	kdf(next.ck, NULL, NULL, next.ck, dh, WG_KEY_LEN);
	/* se */
	if (dh_pair(dh, l->private_key, l->public_key, m.unencrypted_ephemeral))
		goto out;
	kdf(next.ck, NULL, NULL, next.ck, dh, WG_KEY_LEN);
	/* psk, {} */
	if (psk_and_empty(&next, r, m.encrypted_nothing, false))
		goto out;
	derive_keys(kp, &next);
	noise_handshake_wipe(hs);
	ret = 0;
out:
	noise_handshake_wipe(&next);
	explicit_bzero(mac1_key, sizeof(mac1_key));
	explicit_bzero(dh, sizeof(dh));
	return ret;
}

/* r NULL: any initiator, whose static key goes to any_static (ss computed). */
static int consume_initiation(struct noise_handshake *hs, const uint8_t *msg, size_t len,
			      const struct noise_local *l, const struct noise_remote *r,
			      uint8_t any_static[static WG_KEY_LEN])
{
	struct message_handshake_initiation m;
	struct noise_handshake next;
	uint8_t mac1_key[WG_HASH_LEN], key[WG_HASH_LEN], dh[WG_KEY_LEN], stat[WG_KEY_LEN];
	uint32_t idx;
	int ret = -EBADMSG;

	memset(&next, 0, sizeof(next));
	self_mac1_key(mac1_key, l);
	if (!header_and_mac1_ok(msg, len, WG_MSG_INITIATION_LEN, MESSAGE_HANDSHAKE_INITIATION, mac1_key))
		goto out;
	memcpy(&m, msg, sizeof(m));
	memcpy(&idx, m.sender_index, 4);
	next.remote_index = le32toh(idx);
	noise_initial_state(next.ck, next.h, l->public_key);

	/* e */
	memcpy(next.remote_e, m.unencrypted_ephemeral, WG_KEY_LEN);
	kdf(next.ck, NULL, NULL, next.ck, next.remote_e, WG_KEY_LEN);
	noise_mix_hash(next.h, next.remote_e, WG_KEY_LEN);
	/* es */
	if (dh_pair(dh, l->private_key, l->public_key, next.remote_e))
		goto out;
	kdf(next.ck, key, NULL, next.ck, dh, WG_KEY_LEN);
	/* s: must be the one remote we know, if we know one */
	if (aead_decrypt(NULL, stat, m.encrypted_static, sizeof(m.encrypted_static), 0, next.h,
			 WG_HASH_LEN, key) || (r && !key_equal(stat, r->public_key)))
		goto out;
	noise_mix_hash(next.h, m.encrypted_static, sizeof(m.encrypted_static));
	/* ss (precomputed for the known remote) */
	if (!r && dh_pair(dh, l->private_key, l->public_key, stat))
		goto out;
	kdf(next.ck, key, NULL, next.ck, r ? l->ss : dh, WG_KEY_LEN);
	/* {t} */
	if (aead_decrypt(NULL, next.remote_timestamp, m.encrypted_timestamp,
			 sizeof(m.encrypted_timestamp), 0, next.h, WG_HASH_LEN, key))
		goto out;
	noise_mix_hash(next.h, m.encrypted_timestamp, sizeof(m.encrypted_timestamp));
	*hs = next;
	if (!r)
		memcpy(any_static, stat, WG_KEY_LEN);
	ret = 0;
out:
	noise_handshake_wipe(&next);
	explicit_bzero(mac1_key, sizeof(mac1_key));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(dh, sizeof(dh));
	explicit_bzero(stat, sizeof(stat));
	return ret;
}

int noise_handshake_consume_initiation(struct noise_handshake *hs, const uint8_t *msg, size_t len,
				       const struct noise_local *l, const struct noise_remote *r)
{
	uint8_t unused[WG_KEY_LEN];

	return consume_initiation(hs, msg, len, l, r, unused);
}

int noise_handshake_consume_initiation_any(struct noise_handshake *hs, uint8_t initiator_static[static WG_KEY_LEN],
					   const uint8_t *msg, size_t len, const struct noise_local *l)
{
	return consume_initiation(hs, msg, len, l, NULL, initiator_static);
}

int noise_handshake_create_response(struct noise_handshake *hs, struct noise_keypair *kp,
				    uint8_t out[static WG_MSG_RESPONSE_LEN], const struct noise_local *l,
				    const struct noise_remote *r, uint32_t local_index,
				    const uint8_t *ephemeral, const struct noise_cookie *cookie,
				    int64_t now_ns)
{
	struct message_handshake_response m;
	uint8_t dh[WG_KEY_LEN], dh2[WG_KEY_LEN];
	uint32_t le;
	int ret;

	memset(&m, 0, sizeof(m));
	memset(out, 0, WG_MSG_RESPONSE_LEN);
	hs->initiator = false;
	hs->local_index = local_index;
	m.header.type = MESSAGE_HANDSHAKE_RESPONSE;
	le = htole32(local_index);
	memcpy(m.sender_index, &le, 4);
	le = htole32(hs->remote_index);
	memcpy(m.receiver_index, &le, 4);

	/* e (and the DHs of ee and se with it) */
	if ((ret = make_ephemeral(hs->e_priv, m.unencrypted_ephemeral, ephemeral, dh, hs->remote_e, dh2,
				  r->public_key)))
		goto out;
	kdf(hs->ck, NULL, NULL, hs->ck, m.unencrypted_ephemeral, WG_KEY_LEN);
	noise_mix_hash(hs->h, m.unencrypted_ephemeral, WG_KEY_LEN);
	/* ee */
	kdf(hs->ck, NULL, NULL, hs->ck, dh, WG_KEY_LEN);
	/* se */
	kdf(hs->ck, NULL, NULL, hs->ck, dh2, WG_KEY_LEN);
	/* psk, {} */
	psk_and_empty(hs, r, m.encrypted_nothing, true);
	memcpy(out, &m, sizeof(m));
	noise_message_set_macs(out, WG_MSG_RESPONSE_LEN, r->mac1_key, cookie, now_ns);
	derive_keys(kp, hs);
	memcpy(hs->last_mac1, out + WG_RESPONSE_MAC1_OFF, WG_MAC_LEN);
	/* Keep only what a cookie reply to this response needs. */
	explicit_bzero(hs->ck, sizeof(hs->ck));
	explicit_bzero(hs->h, sizeof(hs->h));
	explicit_bzero(hs->e_priv, sizeof(hs->e_priv));
out:
	explicit_bzero(dh, sizeof(dh));
	explicit_bzero(dh2, sizeof(dh2));
	return ret;
}

int noise_cookie_consume(struct noise_cookie *c, const struct noise_handshake *hs, const uint8_t *msg,
			 size_t len, const struct noise_remote *r, int64_t now_ns)
{
	struct message_handshake_cookie m;
	uint8_t cookie[NOISE_COOKIE_LEN];
	uint32_t idx;
	int ret = -EBADMSG;

	if (!msg || len != WG_MSG_COOKIE_LEN || msg[0] != MESSAGE_HANDSHAKE_COOKIE ||
	    (msg[1] | msg[2] | msg[3]))
		goto out;
	memcpy(&m, msg, sizeof(m));
	memcpy(&idx, m.receiver_index, 4);
	if (le32toh(idx) != hs->local_index)
		goto out;
	/* The AD is the mac1 of our message that drew the reply. */
	if (xaead_decrypt(cookie, m.encrypted_cookie, sizeof(m.encrypted_cookie), m.nonce, hs->last_mac1,
			  WG_MAC_LEN, r->cookie_key))
		goto out;
	memcpy(c->cookie, cookie, NOISE_COOKIE_LEN);
	c->received_ns = now_ns;
	c->valid = true;
	ret = 0;
out:
	explicit_bzero(cookie, sizeof(cookie));
	return ret;
}

int noise_cookie_create_reply(uint8_t out[static WG_MSG_COOKIE_LEN], uint32_t receiver_index,
			      const uint8_t mac1[static WG_MAC_LEN],
			      const uint8_t our_public[static WG_KEY_LEN],
			      const uint8_t cookie[static NOISE_COOKIE_LEN], const uint8_t *nonce)
{
	struct message_handshake_cookie m;
	struct noise_remote self;
	uint32_t le = htole32(receiver_index);
	int ret = 0;

	memset(&m, 0, sizeof(m));
	memset(&self, 0, sizeof(self));
	m.header.type = MESSAGE_HANDSHAKE_COOKIE;
	memcpy(m.receiver_index, &le, 4);
	if (nonce)
		memcpy(m.nonce, nonce, sizeof(m.nonce));
	else if (RAND_bytes(m.nonce, sizeof(m.nonce)) != 1) {
		ret = -EIO;
		goto out;
	}
	/* cookie_key = HASH(LABEL_COOKIE || our public key): what the
	 * receiver derives for us as its remote. */
	noise_remote_init(&self, our_public, NULL);
	ret = xaead_encrypt(m.encrypted_cookie, cookie, NOISE_COOKIE_LEN, m.nonce, mac1, WG_MAC_LEN,
			    self.cookie_key);
	memcpy(out, &m, sizeof(m));
out:
	explicit_bzero(&self, sizeof(self));
	return ret;
}

bool noise_message_receiver(const uint8_t *msg, size_t len, uint32_t *index)
{
	size_t off = 4;
	uint32_t v;

	if (len < 4)
		return false;
	if (msg[0] == MESSAGE_HANDSHAKE_RESPONSE)
		off = 8;
	if (len < off + 4)
		return false;
	memcpy(&v, msg + off, 4);
	*index = le32toh(v);
	return true;
}
