// SPDX-License-Identifier: MIT
/*
 * A copy the data plane refused with a cookie reply, sent again with the
 * cookie's mac2.
 *
 * Under load (its handshake queue past its mark, and for a second after) a
 * data plane demands a valid mac2 of every handshake message and answers
 * the rest with a cookie reply: the cookie, MAC(its secret, the sender's
 * address and port), sealed with XChaCha20-Poly1305 under
 * HASH("cookie--" || its public key), with the refused message's mac1 as
 * associated data. A copy is the client's own initiation, made before the
 * client had a cookie, so it is refused, and the reply goes to the client,
 * who keeps the cookie for its retransmit 5 s later. The capture's egress
 * tap sees the reply leave (capture.h); its key depends only on the data
 * plane's public key, so jitwgd opens it as the client would, writes the
 * copy's mac2 with the cookie and sends the copy again, from the address
 * and port the cookie is bound to. The data plane takes that one even
 * under load (within its per-address rate limit: wireguard-go and the
 * kernel allow 20 handshake messages a second, burst 5).
 *
 * Safe whatever became of the first copy: the second carries the same
 * timestamp, so a data plane that consumed the first (or the client's
 * original, late) drops it as a replay, and nothing can cross. A copy goes
 * again once per cookie: the new follow-up's copy carries that cookie's
 * mac2, and a reply refusing it too gives the same mac2.
 *
 * A reply is matched to a follow-up by its receiver index (the copy's
 * sender index) and destination (the copy's source), and proven by
 * opening it (the copy's mac1).
 *
 * The jar. Without the admission filter the clients' originals reach the
 * data plane first, and a burst of them is what puts it under load: it
 * refuses them with cookie replies before their peers are even installed.
 * Such a reply also fits the copy, which is the same message from the same
 * address, so it is kept (set-associative, keyed by destination and
 * receiver index; oldest evicted) and the copy goes out with its mac2 the
 * first time, instead of being refused and sent again: that halves what a
 * reboot's burst hands the data plane through the pacer. The jar is looked
 * in as the pacer sends the copy, not as it queues it: a copy waits there
 * while the replies to the originals arrive. A kept reply is
 * used once, and not after COOKIE_JAR_MS (a client's retransmit is a new
 * message; the data plane's secret changes every 2 minutes).
 */
#include "gateway/install/internal.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "crypto/blake2s.h"

enum {
	COOKIE_JAR_MIN = 4096,       /* replies kept, at least: a burst's worth */
	COOKIE_JAR_WAYS = 4,
	COOKIE_JAR_MS = 5000,
};

/* What a reply is matched on: its destination and receiver index (no padding: compared whole). */
struct cookie_id {
	struct ep_key k;
	uint32_t receiver;
};
_Static_assert(sizeof(struct cookie_id) == sizeof(struct ep_key) + 4, "cookie_id has no padding");

/* A reply in a batch. */
struct cookie_ref {
	struct cookie_id id;
	size_t idx;                  /* into the batch */
	bool used;                   /* a follow-up took it */
};

/* A reply in the jar; the id first (keyedtab's key). */
struct jar_entry {
	struct cookie_id id;
	uint8_t reply[WG_MSG_COOKIE_LEN];
	uint64_t at_ms;
};

static int cookie_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct cookie_ref *)a)->id, &((const struct cookie_ref *)b)->id,
		      sizeof(struct cookie_id));
}

/* Bytes 4-7, little-endian: an initiation's sender index, a cookie reply's receiver index. */
static uint32_t index_at(const uint8_t *msg)
{
	uint32_t v;

	memcpy(&v, msg + 4, sizeof(v));
	return le32toh(v);
}

static void cookie_id(struct cookie_id *id, const union dp_endpoint *ep, uint32_t receiver)
{
	memset(id, 0, sizeof(*id));
	installer_ep_key(&id->k, ep);
	id->receiver = receiver;
}

/*
 * Writes copy with the mac2 of the cookie in reply to out. False when the
 * reply does not open with the copy's mac1, or the copy already carries
 * that mac2.
 */
static bool with_cookie(const struct installer *ins, const uint8_t *copy, const uint8_t *reply,
			uint8_t out[static WG_MSG_INITIATION_LEN])
{
	struct noise_handshake hs;
	struct noise_cookie c;
	bool ok = false;

	memset(&hs, 0, sizeof(hs));
	memset(&c, 0, sizeof(c));
	hs.local_index = index_at(copy);
	memcpy(hs.last_mac1, copy + WG_INITIATION_MAC1_OFF, WG_MAC_LEN);
	if (noise_cookie_consume(&c, &hs, reply, WG_MSG_COOKIE_LEN, &ins->dp_self, 0))
		goto out;
	memcpy(out, copy, WG_MSG_INITIATION_LEN);
	blake2s(out + WG_INITIATION_MAC2_OFF, WG_MAC_LEN, out, WG_INITIATION_MAC2_OFF, c.cookie, NOISE_COOKIE_LEN);
	/* both are sent in the clear: no secret in comparing them */
	ok = memcmp(out + WG_INITIATION_MAC2_OFF, copy + WG_INITIATION_MAC2_OFF, WG_MAC_LEN) != 0;
out:
	explicit_bzero(&c, sizeof(c));
	return ok;
}

int installer_cookies_init(struct installer *ins, const uint8_t public_key[WG_KEY_LEN])
{
	int ret = keyedtab_init(&ins->jar, COOKIE_JAR_MIN, COOKIE_JAR_WAYS, sizeof(struct jar_entry),
				sizeof(struct cookie_id));

	if (ret)
		return ret;
	noise_remote_init(&ins->dp_self, public_key, NULL);
	ins->has_dp_self = true;
	return 0;
}

void installer_cookies_free(struct installer *ins)
{
	keyedtab_uninit(&ins->jar);
}

size_t installer_cookies_seen(struct installer *ins, const union dp_endpoint *to,
			      const uint8_t (*msg)[WG_MSG_COOKIE_LEN], size_t n)
{
	/* not only while copies wait: the jar keeps replies for copies to come */
	return ins->has_dp_self ? installer_push_seen(ins, ITEM_COOKIE, to, NULL, msg, n) : 0;
}

/* Oldest first out of a full set. */
static uint64_t jar_rank(const void *entry, void *ctx)
{
	(void)ctx;
	return ((const struct jar_entry *)entry)->at_ms;
}

static void jar_keep(struct installer *ins, const struct cookie_id *id, const uint8_t *reply, uint64_t now_ms)
{
	struct jar_entry *e = keyedtab_claim(&ins->jar, keyedtab_set(&ins->jar, id), id, jar_rank, NULL, NULL);

	if (!e)
		return;
	memcpy(e->reply, reply, WG_MSG_COOKIE_LEN);
	e->at_ms = now_ms;
}

void installer_cookie_first(void *arg, struct reinject_pkt *pk, uint8_t *msg)
{
	struct installer *ins = arg;
	uint8_t buf[WG_MSG_INITIATION_LEN];
	struct cookie_id id;
	struct jar_entry *e;

	if (!ins->has_dp_self)
		return;
	cookie_id(&id, &pk->from, index_at(msg));
	e = keyedtab_find(&ins->jar, keyedtab_set(&ins->jar, &id), &id);
	if (!e)
		return;
	if (clock_mono_ms() - e->at_ms < COOKIE_JAR_MS && with_cookie(ins, msg, e->reply, buf)) {
		memcpy(msg, buf, sizeof(buf));
		metrics_inc(&ins->m->reinject_cookied);
	}
	keyedtab_release(&ins->jar, e);
}

void installer_followups_cookied(struct installer *ins, const struct install_item *its, size_t n)
{
	struct cookie_ref refs[BATCH_MAX], want;
	struct cookie_ref *r;
	uint8_t msg[WG_MSG_INITIATION_LEN];
	struct reinject_pkt pk = { 0 };
	size_t i, m = 0, kept = 0, again = 0;
	uint64_t now_ns = clock_mono_ns();

	if (!ins->has_dp_self)
		return;
	for (i = 0; i < n && m < BATCH_MAX; ++i) {
		cookie_id(&refs[m].id, &its[i].endpoint, index_at(its[i].initiation));
		refs[m].used = false;
		refs[m++].idx = i;
	}
	qsort(refs, m, sizeof(refs[0]), cookie_cmp);
	for (i = 0; i < ins->n_followups; ++i) {
		struct followup *f = &ins->followups[i];

		if (f->answered)
			continue;
		cookie_id(&want.id, &f->from, index_at(f->msg));
		r = bsearch(&want, refs, m, sizeof(refs[0]), cookie_cmp);
		if (!r)
			continue;
		r->used = true;
		if (!with_cookie(ins, f->msg, its[r->idx].initiation, msg))
			continue;
		memcpy(pk.key, f->key, WG_KEY_LEN);
		pk.from = f->from;
		pk.to = f->to;
		pk.msg = msg;
		pk.tries = f->tries;
		/* the pacer's sent() files a new follow-up for it (installer_followup_add) */
		if (reinject_pacer_push(ins->pacer, &pk, now_ns)) {
			f->cookied = true;
			again++;
		}
	}
	for (i = 0; i < m; ++i)
		if (!refs[i].used)
			jar_keep(ins, &refs[i].id, its[refs[i].idx].initiation, now_ns / 1000000);
	if (!again)
		return;
	for (i = 0; i < ins->n_followups; ++i)
		if (!ins->followups[i].cookied)
			ins->followups[kept++] = ins->followups[i];
	ins->n_followups = kept;
	metrics_add(&ins->m->reinject_cookied, again);
	installer_reinject_run(ins);
}
