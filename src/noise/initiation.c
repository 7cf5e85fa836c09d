// SPDX-License-Identifier: MIT
/*
 * The responder's consumption of a handshake initiation, Noise_IKpsk2
 * message 1: -> e, es, s, ss, {t}. Order of the checks, cheapest and least
 * trusting first: exact length, type and reserved bytes (nothing else is
 * read before these pass), then mac1 in constant time (a keyed BLAKE2s that
 * anyone who knows our public key can make, but that costs no DH), then the
 * ephemeral DH and the static key's AEAD, then the static-static DH (cached
 * per initiator) and the timestamp's AEAD. Only a timestamp that decrypts
 * proves the sender holds the static private key it names.
 *
 * Everything that depends only on the responder's key is computed once in
 * noise_responder_new(). Secrets (DH outputs, chaining keys, AEAD keys, the
 * handshake hash) live on the stack and are wiped at the single exit.
 */
#include "noise/noise.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/hmac.h"
#include "crypto/x25519.h"
#include "noise/internal.h"
#include "wire/messages.h"

/* The private key sits in its own pages, locked and left out of core dumps. */
struct responder_secret {
	uint8_t private_key[WG_KEY_LEN];
};

/*
 * Everything else is derived from the public key and needs no protection;
 * it stays on the heap so leak checkers, which do not scan anonymous
 * mappings, still see the OpenSSL objects it points to.
 */
struct noise_responder {
	struct responder_secret *secret;
	size_t secret_len;
	bool locked;
	uint8_t public_key[WG_KEY_LEN];
	uint8_t hash0[WG_HASH_LEN];           /* h after mixing in S_r */
	struct hmac_blake2s_key ck0;          /* HMAC key of the constant first ck */
	struct blake2s_state mac1;            /* keyed with HASH(LABEL_MAC1 || S_r), key block absorbed */
	struct x25519_key *dh;
};

const char *noise_verdict_name(enum noise_verdict v)
{
	static const char *const names[] = {
		[NOISE_OK] = "ok",
		[NOISE_BAD_FORMAT] = "bad-format",
		[NOISE_BAD_MAC1] = "bad-mac1",
		[NOISE_BAD_STATIC] = "bad-static",
		[NOISE_BAD_TIMESTAMP] = "bad-timestamp",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

void noise_initial_state(uint8_t ck[static 32], uint8_t h[static 32],
			 const uint8_t responder_public[static 32])
{
	struct blake2s_state s;

	blake2s(ck, WG_HASH_LEN, WG_CONSTRUCTION, sizeof(WG_CONSTRUCTION) - 1, NULL, 0);
	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, ck, WG_HASH_LEN);
	blake2s_update(&s, WG_IDENTIFIER, sizeof(WG_IDENTIFIER) - 1);
	blake2s_final(&s, h);
	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, h, WG_HASH_LEN);
	blake2s_update(&s, responder_public, WG_KEY_LEN);
	blake2s_final(&s, h);
}

void noise_mac1_key(uint8_t key[static 32], const uint8_t responder_public[static 32])
{
	struct blake2s_state s;

	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, WG_LABEL_MAC1, sizeof(WG_LABEL_MAC1) - 1);
	blake2s_update(&s, responder_public, WG_KEY_LEN);
	blake2s_final(&s, key);
}

/*
 * Locking is best effort (RLIMIT_MEMLOCK may forbid it); the responder works
 * either way and reports it through noise_responder_locked(). OpenSSL keeps
 * its own copy of the key inside the EVP_PKEY, in its secure heap when the
 * process has set one up with CRYPTO_secure_malloc_init().
 */
struct noise_responder *noise_responder_new(const uint8_t private_key[static WG_KEY_LEN])
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct noise_responder *r;
	uint8_t ck[WG_HASH_LEN], mac1_key[WG_HASH_LEN];
	void *map;
	int err = 0;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->secret_len = (sizeof(struct responder_secret) + page - 1) / page * page;
	map = mmap(NULL, r->secret_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		err = errno;
		free(r);
		errno = err;
		return NULL;
	}
	r->secret = map;
	r->locked = mlock(map, r->secret_len) == 0;
	(void)madvise(map, r->secret_len, MADV_DONTDUMP);
	memcpy(r->secret->private_key, private_key, WG_KEY_LEN);
	r->dh = x25519_key_new(r->secret->private_key);
	if (!r->dh) {
		err = errno;
		goto out;
	}
	x25519_key_public(r->dh, r->public_key);
	noise_initial_state(ck, r->hash0, r->public_key);
	hmac_blake2s_key_init(&r->ck0, ck, WG_HASH_LEN);
	noise_mac1_key(mac1_key, r->public_key);
	blake2s_init_key(&r->mac1, WG_MAC_LEN, mac1_key, sizeof(mac1_key));
	/* mac1 always covers 116 more bytes, so the key block can go now. */
	blake2s_flush_pending(&r->mac1);
out:
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(mac1_key, sizeof(mac1_key));
	if (err) {
		noise_responder_free(r);
		errno = err;
		return NULL;
	}
	return r;
}

void noise_responder_free(struct noise_responder *r)
{
	if (!r)
		return;
	x25519_key_free(r->dh);
	if (r->secret) {
		explicit_bzero(r->secret, r->secret_len);
		munlock(r->secret, r->secret_len);
		munmap(r->secret, r->secret_len);
	}
	explicit_bzero(r, sizeof(*r));
	free(r);
}

void noise_responder_public_key(const struct noise_responder *r, uint8_t out[static WG_KEY_LEN])
{
	memcpy(out, r->public_key, WG_KEY_LEN);
}

bool noise_responder_locked(const struct noise_responder *r)
{
	return r->locked;
}

/* Makes (or re-makes, for another responder key) the thread's contexts. */
static int bind_cache(struct noise_sscache *c, const struct noise_responder *r)
{
	if (c->bound && key_equal(c->bound_pub, r->public_key) && c->dh && c->aead)
		return 0;
	sscache_flush(c);
	c->bound = false;
	x25519_ctx_free(c->dh);
	c->dh = x25519_ctx_new(r->dh);
	if (!c->aead)
		c->aead = aead_ctx_new();
	if (!c->dh || !c->aead)
		return errno == ENOMEM ? -ENOMEM : -EIO;
	memcpy(c->bound_pub, r->public_key, WG_KEY_LEN);
	c->bound = true;
	return 0;
}

/*
 * The steps that need only the message, not a DH: mac1; h1 = HASH(h0 || e)
 * and ck = KDF1(ck0, e) for the e token; h2 = HASH(h1 || enc_static) for the
 * s token. They are ten BLAKE2s blocks in five independent chains, so they
 * run as pairs (blake2s_compress_pair: one pair costs what one block does)
 * in six steps instead of ten. Nothing past the first two steps runs unless
 * mac1 matches. Returns whether it did; h1, h2 and ck are then filled.
 */
static bool opening(const struct noise_responder *r, const struct message_handshake_initiation *msg,
		    uint8_t h1[static WG_HASH_LEN], uint8_t h2[static WG_HASH_LEN], uint8_t ck[static WG_HASH_LEN])
{
	const uint8_t *m = (const uint8_t *)msg, *e = msg->unencrypted_ephemeral;
	struct blake2s_state mac1, hs, in, out;
	struct hmac_blake2s_key tau0_key;
	uint8_t a[BLAKE2S_BLOCK_LEN], b[BLAKE2S_BLOCK_LEN], tau0[WG_HASH_LEN], mac[WG_MAC_LEN];
	bool ok = false;

	memset(&tau0_key, 0, sizeof(tau0_key));
	/* 1: mac1 block 1 | h1 = HASH(h0 || e), one final block */
	mac1 = r->mac1;
	blake2s_init(&hs, WG_HASH_LEN);
	memcpy(b, r->hash0, WG_HASH_LEN);
	memcpy(b + WG_HASH_LEN, e, WG_KEY_LEN);
	blake2s_compress_pair(&mac1, m, BLAKE2S_BLOCK_LEN, false, &hs, b, BLAKE2S_BLOCK_LEN, true);
	blake2s_digest(&hs, h1);
	/* 2: mac1 final block (52 bytes) | HMAC(ck0, e) inner */
	memset(a, 0, sizeof(a));
	memcpy(a, m + BLAKE2S_BLOCK_LEN, WG_INITIATION_MAC1_OFF - BLAKE2S_BLOCK_LEN);
	in = r->ck0.inner;
	memset(b, 0, sizeof(b));
	memcpy(b, e, WG_KEY_LEN);
	blake2s_compress_pair(&mac1, a, WG_INITIATION_MAC1_OFF - BLAKE2S_BLOCK_LEN, true, &in, b,
			      WG_KEY_LEN, true);
	blake2s_digest(&mac1, mac);
	if (!ct_equal(mac, msg->macs.mac1, WG_MAC_LEN))
		goto out;
	/* 3: HMAC(ck0, e) outer -> tau0 | h2 block 1 (h1 || enc_static[0..32)) */
	out = r->ck0.outer;
	memset(a, 0, sizeof(a));
	blake2s_digest(&in, a);
	blake2s_init(&hs, WG_HASH_LEN);
	memcpy(b, h1, WG_HASH_LEN);
	memcpy(b + WG_HASH_LEN, msg->encrypted_static, 32);
	blake2s_compress_pair(&out, a, WG_HASH_LEN, true, &hs, b, BLAKE2S_BLOCK_LEN, false);
	blake2s_digest(&out, tau0);
	/* 4: tau0's two pads (paired inside) */
	hmac_blake2s_key_init(&tau0_key, tau0, sizeof(tau0));
	/* 5: ck = HMAC(tau0, 0x01) inner | h2 final block (enc_static[32..48)) */
	in = tau0_key.inner;
	memset(a, 0, sizeof(a));
	a[0] = 1;
	memset(b, 0, sizeof(b));
	memcpy(b, msg->encrypted_static + 32, sizeof(msg->encrypted_static) - 32);
	blake2s_compress_pair(&in, a, 1, true, &hs, b, sizeof(msg->encrypted_static) - 32, true);
	blake2s_digest(&hs, h2);
	/* 6: its outer hash */
	memset(a, 0, sizeof(a));
	blake2s_digest(&in, a);
	out = tau0_key.outer;
	blake2s_update(&out, a, WG_HASH_LEN);
	blake2s_final(&out, ck);
	ok = true;
out:
	explicit_bzero(&mac1, sizeof(mac1));
	explicit_bzero(&hs, sizeof(hs));
	explicit_bzero(&in, sizeof(in));
	explicit_bzero(&out, sizeof(out));
	hmac_blake2s_key_wipe(&tau0_key);
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	explicit_bzero(tau0, sizeof(tau0));
	explicit_bzero(mac, sizeof(mac));
	return ok;
}

int noise_consume_initiation(const struct noise_responder *r, struct noise_sscache *cache,
			     const uint8_t *payload, size_t len, struct noise_result *res)
{
	struct message_handshake_initiation msg;
	struct x25519_ctx *dh_ctx = NULL, *own_dh = NULL;
	struct aead_ctx *aead = NULL, *own_aead = NULL;
	uint8_t hash[WG_HASH_LEN], hash2[WG_HASH_LEN], ck[WG_HASH_LEN], key[WG_HASH_LEN];
	uint8_t dh[WG_KEY_LEN], stat[WG_KEY_LEN], ts[WG_TAI64N_LEN];
	uint32_t index;
	bool cached = false;
	int ret = 0;

	if (!r || !res || (!payload && len))
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->verdict = NOISE_BAD_FORMAT;

	if (cache) {
		ret = bind_cache(cache, r);
		dh_ctx = cache->dh;
		aead = cache->aead;
	} else {
		dh_ctx = own_dh = x25519_ctx_new(r->dh);
		aead = own_aead = aead_ctx_new();
		if (!own_dh || !own_aead)
			ret = errno == ENOMEM ? -ENOMEM : -EIO;
	}
	if (ret)
		goto out;

	if (len != WG_MSG_INITIATION_LEN)
		goto out;
	memcpy(&msg, payload, sizeof(msg));
	if (msg.header.type != MESSAGE_HANDSHAKE_INITIATION ||
	    (msg.header.reserved[0] | msg.header.reserved[1] | msg.header.reserved[2]))
		goto out;
	memcpy(&index, msg.sender_index, sizeof(index));
	res->sender_index = le32toh(index);
	res->has_sender_index = true;

	/* mac1 (and, alongside it, hashing of e), before any DH: an
	 * unauthenticated flood costs two BLAKE2s steps per packet. */
	res->verdict = NOISE_BAD_MAC1;
	if (!opening(r, &msg, hash, hash2, ck))
		goto out;

	/* es */
	res->verdict = NOISE_BAD_STATIC;
	if (x25519_ctx_derive(dh_ctx, dh, msg.unencrypted_ephemeral))
		goto out;
	kdf(ck, key, NULL, ck, dh, WG_KEY_LEN);

	/* s: the AEAD's associated data is h after e; h after s was hashed
	 * already, in the opening. */
	if (aead_decrypt(aead, stat, msg.encrypted_static, sizeof(msg.encrypted_static), 0, hash,
			 WG_HASH_LEN, key))
		goto out;
	memcpy(hash, hash2, WG_HASH_LEN);
	memcpy(res->initiator_static, stat, WG_KEY_LEN);
	res->has_static = true;

	/* ss: a returning initiator's is cached, as the kernel keeps it per peer. */
	res->verdict = NOISE_BAD_TIMESTAMP;
	cached = cache && sscache_lookup(cache, stat, dh);
	if (!cached && x25519_ctx_derive(dh_ctx, dh, stat))
		goto out;
	kdf(ck, key, NULL, ck, dh, WG_KEY_LEN);

	/* {t} */
	if (aead_decrypt(aead, ts, msg.encrypted_timestamp, sizeof(msg.encrypted_timestamp), 0,
			 hash, WG_HASH_LEN, key))
		goto out;
	memcpy(res->timestamp, ts, WG_TAI64N_LEN);
	res->has_timestamp = true;
	res->verdict = NOISE_OK;
	/* Only now is the static key proven, so only now may it take a slot. */
	if (cache && !cached)
		sscache_insert(cache, stat, dh);
out:
	if (ret) {
		memset(res, 0, sizeof(*res));
		res->verdict = NOISE_BAD_FORMAT;
	}
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(hash2, sizeof(hash2));
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(dh, sizeof(dh));
	explicit_bzero(stat, sizeof(stat));
	explicit_bzero(ts, sizeof(ts));
	x25519_ctx_free(own_dh);
	aead_ctx_free(own_aead);
	return ret;
}
