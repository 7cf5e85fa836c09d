// SPDX-License-Identifier: MIT
/*
 * How a new peer's client is answered (installer_answer_for), and
 * --reinject's side of the install stage (internal.h): the copies handed
 * to the pacer (reinject.h) and sent from it, and the follow-up after a
 * copy, when the data plane never consumed it: the copy once more, then
 * role inversion.
 *
 * Why the follow-up: a data plane "under load" (its handshake queue past its mark, for a
 * second after) demands mac2 of every handshake message and answers the
 * rest with a cookie reply. The copy is the client's own initiation, sent
 * before it had a cookie, so it carries no mac2 and is refused, and the
 * client would wait 5 s for its retransmit. A refused copy whose cookie
 * reply the capture sees goes again at once with the cookie's mac2
 * (reinject-cookie.c); the follow-up is for the rest: copies whose reply
 * was not seen (no egress tap open), and copies the data plane dropped
 * unread at a full handshake queue, which draw no reply at all. The data
 * plane's own initiation needs no cookie, and the client's response to it
 * carries the mac2 of the cookie it got, if it got one.
 *
 * When: FOLLOWUP_MS after the copy went out, the data plane is listed once
 * for every follow-up due. A peer with no handshake since and rx_bytes 0
 * has consumed nothing (both implementations count a consumed initiation
 * in rx_bytes). A peer that received anything is left alone.
 *
 * Consumed nothing may mean refused, or not yet: a starved data plane's
 * handshake queue may still hold the copy, and an initiation of ours then
 * crosses it when it is consumed, which costs both handshakes. The queue is
 * drained in order (wireguard-go: one channel read by a worker per CPU;
 * the kernel: one ring, a worker per CPU), so a copy sent well after ours
 * (FOLLOWUP_ORDER_MARGIN later) that was consumed says ours was handled,
 * hence refused or dropped. Without that sign, it waits for it until
 * FOLLOWUP_LATE_MS after the copy: a data plane that still holds a copy
 * that long is one under load (which refuses it) or badly starved (at
 * 500 ms about 1 % crossed in 2 of 15 reboots, at 1 s none in 45). Either
 * way the copy is sent once more as it was (FOLLOWUP_RESENDS): a replay
 * the data plane drops if it did take the first, so nothing crosses, and a
 * second chance for one dropped at a full queue, which also draws the
 * cookie reply the first never did. Only a copy sent twice in vain makes
 * the data plane initiate (its first initiation, so REKEY_TIMEOUT does not
 * apply): initiating at the first sign, while the data plane was still
 * under load, lost a 5 s round for clients with no cookie to put on their
 * response. The client's own retry is due at 5 s. Listings are spaced at
 * least ten listing durations apart, as install confirmation's are, and
 * FOLLOWUP_RECHECK_MS while copies wait.
 *
 * Keepalive: a new peer is installed without the record's persistent
 * keepalive, since turning it on makes the data plane initiate, which would
 * cross the copy. The follow-up that sees the copy consumed sets it; one
 * that initiates sets it in the same call. A copy that was never followed
 * up (the table full, expired in the pacer, or not sent) leaves its peer
 * without one until the next sweep (installer_keepalive_sweep()).
 */
#include "gateway/install/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

static int raw_send(void *ctx, const struct reinject_pkt *pkts, size_t n, bool *ok)
{
	return reinject_send(ctx, pkts, n, ok);
}

/* Opens the raw sockets at the first install that wants them; once per (re)configuration. */
static void reinject_open(struct installer *ins)
{
	atomic_store(&ins->rj_tried, true);
	ins->rj = reinject_new();
	if (!ins->rj) {
		log_warn("--reinject: cannot open raw sockets (%s): the data plane initiates instead",
			 strerror(errno));
		return;
	}
	ins->rio = (struct reinject_io){ .send = raw_send, .ctx = ins->rj };
	if (!reinject_marked(ins->rj))
		log_warn("--reinject: copies cannot be marked (no CAP_NET_ADMIN): each is captured "
			 "again and dropped as a replay");
}

/*
 * How the client whose initiation made this install gets its answer. A
 * peer already installed had its initiation answered by the data plane
 * itself, unless the admission filter dropped it because it came from an
 * endpoint not in the set (roamed). A new peer's initiation was dropped by
 * the data plane (no such peer yet): the data plane initiates (role
 * inversion), or with reinject the initiation is handed back (reinject.h).
 */
enum answer installer_answer_for(struct installer *ins, const struct install_item *it, const struct install_mode *md,
				 int64_t now)
{
	struct peer_state *p = peertab_find(ins->tab, it->key);
	bool live = p && p->last_handshake && now - p->last_handshake < SESSION_LIVE_SEC;
	bool roamed = ins->admit && p && p->admitted.addr.sa_family &&
		      !dataplane_endpoint_equal(&p->admitted, &it->endpoint);
	int ret;

	if (md->no_initiate)
		return ANSWER_NONE;
	if (md->reinject && !ins->rio.send && !atomic_load(&ins->rj_tried))
		reinject_open(ins);
	if (ins->rio.send && md->reinject)
		return !p || roamed ? ANSWER_REINJECT : ANSWER_NONE;
	/*
	 * Role inversion. A roamed peer object with a session, or one that
	 * initiated less than REKEY_TIMEOUT ago, sends nothing on the keepalive
	 * edge: remove it first, always. Whether it has a session cannot be
	 * told from here (p->last_handshake is the last sweep's reading, up to
	 * idle-timeout/4 old), and the session is the client's old one anyway.
	 */
	if (roamed) {
		ret = dataplane_remove_peers(ins->dp, (const uint8_t (*)[WG_KEY_LEN])it->key, 1);
		if (ret)
			log_ratelimited_debug("roamed peer: removal before initiating failed: %s", strerror(-ret));
		return ANSWER_INITIATE;
	}
	/* A live session answers the client itself; only a cold peer needs us to initiate. */
	return live ? ANSWER_NONE : ANSWER_INITIATE;
}

unsigned int installer_reinject_rate(const struct installer_config *cfg)
{
	return cfg->reinject_rate ? cfg->reinject_rate : REINJECT_RATE_DEFAULT;
}

/* Sends what pacing allows now (at the rate last configured); the counts into the metrics. */
void installer_reinject_run(struct installer *ins)
{
	struct reinject_counts k = { 0 };

	reinject_pacer_set_rate(ins->pacer, atomic_load(&ins->rj_rate));
	reinject_pacer_run(ins->pacer, &ins->rio, clock_mono_ns(), &k, installer_cookie_first, installer_followup_add,
			   ins);
	metrics_add(&ins->m->reinjected, k.sent);
	metrics_add(&ins->m->reinject_failed, k.failed + k.expired);
	metrics_add(&ins->m->reinject_held, k.held);
	if (k.failed)
		log_ratelimited_debug("re-injection: %" PRIu64 " copies could not be sent", k.failed);
}

/*
 * Hands the initiations of the installed peers in want[] back to the data
 * plane, paced (reinject.h), after the admission set is written: the filter
 * must let them through. A peer whose copy finds the pacing queue full is
 * made to initiate instead, so it never waits for the client's retry.
 */
void installer_reinject_batch(struct installer *ins, struct install_item *its, const size_t *want, size_t n,
			      const struct install_mode *md, int64_t now)
{
	uint64_t now_ns = clock_mono_ns();
	struct reinject_pkt pk = { 0 };
	size_t i;

	for (i = 0; i < n; ++i) {
		const struct install_item *it = &its[want[i]];

		memcpy(pk.key, it->key, WG_KEY_LEN);
		pk.from = it->endpoint;
		pk.to = it->local;
		pk.msg = it->initiation;
		/* Relay hand-offs carry no local address: the relay forwards to loopback. */
		if (!pk.to.addr.sa_family && it->endpoint.addr.sa_family == AF_INET) {
			pk.to.addr4.sin_family = AF_INET;
			pk.to.addr4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			pk.to.addr4.sin_port = htons(ins->listen_port);
		} else if (!pk.to.addr.sa_family) {
			pk.to.addr6.sin6_family = AF_INET6;
			pk.to.addr6.sin6_addr = in6addr_loopback;
			pk.to.addr6.sin6_port = htons(ins->listen_port);
		}
		if (!reinject_pacer_push(ins->pacer, &pk, now_ns)) {
			metrics_inc(&ins->m->reinject_failed);
			installer_initiate_one(ins, it, md, now);
		}
	}
	if (n)
		installer_reinject_run(ins);
}

/* A follow-up found by key: its index in ins->followups. */
struct fu_ref {
	uint8_t key[WG_KEY_LEN];
	size_t idx;
};

static int fu_cmp(const void *a, const void *b)
{
	/* public keys only: ordering them leaks nothing */
	return memcmp(((const struct fu_ref *)a)->key, ((const struct fu_ref *)b)->key, WG_KEY_LEN);
}

/* When a follow-up's copy is first looked at. */
static uint64_t fu_due(const struct followup *f)
{
	return f->sent_ms + FOLLOWUP_MS;
}

void installer_followup_add(void *arg, const struct reinject_pkt *pk, uint64_t sent_ns)
{
	struct installer *ins = arg;
	const struct peer_state *p;
	struct followup *f;

	if (ins->n_followups == FOLLOWUP_MAX) {
		metrics_inc(&ins->m->reinject_unfollowed);
		return;
	}
	f = &ins->followups[ins->n_followups++];
	memset(f, 0, sizeof(*f));
	memcpy(f->key, pk->key, WG_KEY_LEN);
	f->from = pk->from;
	f->to = pk->to;
	memcpy(f->msg, pk->msg, sizeof(f->msg));
	f->tries = pk->tries;
	f->seq = ++ins->followup_seq;
	f->sent_ms = sent_ns / 1000000;
	f->sent_real = time(NULL);
	p = peertab_find(ins->tab, pk->key);
	f->since_ms = p && p->installed_mono_ms < f->sent_ms ? p->installed_mono_ms : f->sent_ms;
}

void installer_ep_key(struct ep_key *k, const union dp_endpoint *ep)
{
	memset(k, 0, sizeof(*k));
	k->b[0] = (uint8_t)ep->addr.sa_family;
	if (ep->addr.sa_family == AF_INET) {
		memcpy(k->b + 2, &ep->addr4.sin_port, 2);
		memcpy(k->b + 4, &ep->addr4.sin_addr, 4);
	} else if (ep->addr.sa_family == AF_INET6) {
		memcpy(k->b + 2, &ep->addr6.sin6_port, 2);
		memcpy(k->b + 4, &ep->addr6.sin6_addr, 16);
	}
}

struct seen_ref {
	struct ep_key k;
	uint64_t at_ms;              /* CLOCK_MONOTONIC, when the session's first message was read */
};

static int seen_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct seen_ref *)a)->k, &((const struct seen_ref *)b)->k, sizeof(struct ep_key));
}

size_t installer_push_seen(struct installer *ins, enum item_kind kind, const union dp_endpoint *ep,
			   const struct timespec *at, const uint8_t (*msg)[WG_MSG_COOKIE_LEN], size_t n)
{
	struct install_item it;
	size_t i, done = 0;

	for (i = 0; i < n; ++i) {
		memset(&it, 0, sizeof(it));
		it.kind = kind;
		it.endpoint = ep[i];
		if (at)
			it.first_seen = *at;
		if (msg)
			memcpy(it.initiation, msg[i], WG_MSG_COOKIE_LEN);
		/* Never ahead of installs: a session refused here is settled by a listing, a cookie goes without */
		if (!stage_push_if(ins->st, &it, ins->queue_cap / 2, false, NULL, NULL))
			done++;
	}
	return done;
}

size_t installer_sessions_seen(struct installer *ins, const union dp_endpoint *from,
			       const struct timespec *at, size_t n)
{
	/* Most sessions are rekeys of peers long installed: no copy waits for them. */
	if (!atomic_load_explicit(&ins->followups_wait, memory_order_relaxed))
		return 0;
	return installer_push_seen(ins, ITEM_SESSION, from, at, NULL, n);
}

/*
 * A session that began from a copy's source after its peer was installed
 * says the data plane answered the copy (capture.h: the initiator's first
 * message follows the response at once), or the client's original, which
 * it consumed late, once the peer was in (the copy is then a replay it
 * drops): either way nothing is left to do but the keepalive. Such a
 * session is queued behind the install, so the copy's follow-up exists
 * when it is handled, unless pacing still held the copy: that one is
 * settled by a listing. n is at most the stage's batch: sorting is cheap.
 */
void installer_followups_answered(struct installer *ins, const struct install_item *its, size_t n)
{
	struct seen_ref seen[BATCH_MAX], want, *r;
	size_t i, m = 0;

	for (i = 0; i < n && m < BATCH_MAX; ++i) {
		installer_ep_key(&seen[m].k, &its[i].endpoint);
		seen[m++].at_ms = (uint64_t)its[i].first_seen.tv_sec * 1000 +
				  (uint64_t)its[i].first_seen.tv_nsec / 1000000;
	}
	qsort(seen, m, sizeof(seen[0]), seen_cmp);
	for (i = 0; i < ins->n_followups; ++i) {
		struct followup *f = &ins->followups[i];

		if (f->answered)
			continue;
		installer_ep_key(&want.k, &f->from);
		r = bsearch(&want, seen, m, sizeof(seen[0]), seen_cmp);
		/* equal endpoints sort together: any of them after the copy will do */
		while (r && r > seen && !seen_cmp(r - 1, &want))
			--r;
		for (; r && r < seen + m && !seen_cmp(r, &want); ++r) {
			if (r->at_ms >= f->since_ms) {
				f->answered = true;
				ins->n_answered++;
				break;
			}
		}
	}
}

/*
 * Answered copies are settled at once, without a listing. The data plane
 * is listed only for a copy with no answer yet that looks lost: one
 * FOLLOWUP_ORDER_MARGIN copies later was consumed, or FOLLOWUP_LATE_MS
 * passed. A listing holds up the installs queued behind it (wireguard-go
 * serialises it with every set: 4 ms for 1,000 peers when idle, 50-200 ms
 * for 11,000 in a 500/s burst), so listings are also spaced by their own
 * cost. In the order sent, the first unanswered copy is the most suspect.
 */
uint64_t installer_followups_next(const struct installer *ins, uint64_t now)
{
	const struct followup *first = &ins->followups[0];
	uint64_t due;

	/* answered ones are settled first, so otherwise none is marked */
	if (ins->n_answered)
		return now;
	if (!ins->n_followups)
		return UINT64_MAX;
	if (ins->followup_passed_seq >= first->seq + FOLLOWUP_ORDER_MARGIN)
		due = fu_due(first);
	else
		due = first->sent_ms + FOLLOWUP_LATE_MS;
	return due > ins->followup_not_before_ms ? due : ins->followup_not_before_ms;
}

/* Sends f's copy again (paced); its new follow-up replaces f. False when the pacer is full. */
static bool resend(struct installer *ins, const struct followup *f, uint64_t now_ns)
{
	struct reinject_pkt pk = { .from = f->from, .to = f->to, .msg = f->msg, .tries = f->tries + 1 };

	memcpy(pk.key, f->key, WG_KEY_LEN);
	return reinject_pacer_push(ins->pacer, &pk, now_ns);
}

/* Makes the peer initiate without touching anything else; a peer gone meanwhile is skipped. */
static void initiate_quiet(struct installer *ins, const struct dp_peer *listed)
{
	struct peer_state *p = peertab_find(ins->tab, listed->public_key);
	struct dp_peer one;
	int ret;

	memset(&one, 0, sizeof(one));
	memcpy(one.public_key, listed->public_key, WG_KEY_LEN);
	one.flags = DP_PEER_UPDATE_QUIET | DP_PEER_HAS_KEEPALIVE;
	one.persistent_keepalive = p ? p->keepalive : listed->persistent_keepalive;
	ret = dataplane_peer_initiate(ins->dp, &one);
	if (ret) {
		log_ratelimited_debug("re-injection follow-up: initiating failed: %s", strerror(-ret));
		return;
	}
	metrics_inc(&ins->m->initiations_sent);
	metrics_inc(&ins->m->reinject_unanswered);
}

/*
 * A consumed copy's peer, installed without its keepalive (do_installs()),
 * gets the record's now: with a session the 0 -> on edge sends a keepalive
 * on it, not an initiation. p is the peer's entry in the peer table (NULL:
 * none); listed its entry in a listing, NULL for an answered copy (no
 * listing: setting the value it has already is a no-op). Fills *out and
 * returns true when one is due.
 */
static bool keepalive_due(const struct peer_state *p, const struct dp_peer *listed, struct dp_peer *out)
{
	if (!p || p->adopted || !p->keepalive || (listed && listed->persistent_keepalive == p->keepalive))
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out->public_key, p->key, WG_KEY_LEN);
	out->flags = DP_PEER_UPDATE_QUIET | DP_PEER_HAS_KEEPALIVE;
	out->persistent_keepalive = p->keepalive;
	return true;
}

/* Drops the answered follow-ups (their copies were consumed) and sets their peers' keepalives. */
static void settle_answered(struct installer *ins)
{
	struct dp_peer *ka = malloc(ins->n_answered * sizeof(*ka));
	size_t i, kept = 0, nka = 0;
	int ret;

	for (i = 0; i < ins->n_followups; ++i) {
		struct followup *f = &ins->followups[i];

		if (!f->answered) {
			ins->followups[kept++] = *f;
			continue;
		}
		if (f->seq > ins->followup_passed_seq)
			ins->followup_passed_seq = f->seq;
		if (ka && nka < ins->n_answered)
			nka += keepalive_due(peertab_find(ins->tab, f->key), NULL, &ka[nka]);
	}
	metrics_add(&ins->m->reinject_answered, ins->n_answered);
	ins->n_followups = kept;
	ins->n_answered = 0;
	if (nka && (ret = dataplane_set_peers(ins->dp, ka, nka)))
		log_ratelimited_debug("re-injection follow-up: setting %zu keepalives failed: %s", nka, strerror(-ret));
	free(ka);
}

/* What one listing says of a follow-up's copy, and where its peer is in the listing. */
enum fu_state { FU_GONE = 0, FU_CONSUMED, FU_WAITING };
struct fu_seen {
	enum fu_state state;
	size_t peer;
};

void installer_followups_run(struct installer *ins, uint64_t now)
{
	struct dp_peer *peers = NULL, *ka = NULL;
	struct fu_ref *refs = NULL;
	struct fu_seen *seen = NULL;
	size_t n = 0, nf = ins->n_followups, i, kept = 0, nka = 0;
	uint64_t t0 = clock_mono_ms(), late = 0, again = 0;
	int ret;

	if (ins->n_answered)
		settle_answered(ins);
	nf = ins->n_followups;
	if (!nf || installer_followups_next(ins, now) > now)
		goto out;
	refs = malloc(nf * sizeof(*refs));
	seen = calloc(nf, sizeof(*seen));
	ka = malloc(nf * sizeof(*ka));
	if (!refs || !seen || !ka) {
		ins->followup_not_before_ms = now + FOLLOWUP_RECHECK_MS;
		goto out;
	}
	ret = dataplane_list_peers(ins->dp, &peers, &n);
	ins->followup_not_before_ms = clock_mono_ms() + FOLLOWUP_LIST_FACTOR * (clock_mono_ms() - t0);
	if (ret) {
		log_ratelimited_debug("re-injection follow-up: listing failed: %s", strerror(-ret));
		ins->followup_not_before_ms = clock_mono_ms() + FOLLOWUP_MS;
		goto out;
	}
	for (i = 0; i < nf; ++i) {
		memcpy(refs[i].key, ins->followups[i].key, WG_KEY_LEN);
		refs[i].idx = i;
	}
	qsort(refs, nf, sizeof(*refs), fu_cmp);
	for (i = 0; i < n; ++i) {
		const struct fu_ref *r = bsearch(peers[i].public_key, refs, nf, sizeof(*refs), fu_cmp);
		const struct followup *f;

		if (!r)
			continue;
		f = &ins->followups[r->idx];
		seen[r->idx].peer = i;
		if (peers[i].rx_bytes || (peers[i].last_handshake_sec && peers[i].last_handshake_sec >= f->sent_real)) {
			seen[r->idx].state = FU_CONSUMED;
			if (f->seq > ins->followup_passed_seq)
				ins->followup_passed_seq = f->seq;
			/*
			 * Consumed is not confirmed: until the client's first message the
			 * responder has no session to send a keepalive on, and turning it on
			 * makes the data plane initiate, across the client's handshake. The
			 * sweep gives it one once there is a handshake.
			 */
			if (peers[i].last_handshake_sec)
				nka += keepalive_due(peertab_find(ins->tab, peers[i].public_key), &peers[i], &ka[nka]);
		} else {
			seen[r->idx].state = FU_WAITING;
		}
	}
	/* In the order sent: send the refused again (or initiate), keep the undecided, drop the rest. */
	for (i = 0; i < nf; ++i) {
		struct followup *f = &ins->followups[i];
		bool due = fu_due(f) <= now;

		if (seen[i].state == FU_WAITING && due &&
		    (ins->followup_passed_seq >= f->seq + FOLLOWUP_ORDER_MARGIN || f->sent_ms + FOLLOWUP_LATE_MS <= now)) {
			if (f->tries < FOLLOWUP_RESENDS && resend(ins, f, clock_mono_ns())) {
				again++;
				continue;
			}
			initiate_quiet(ins, &peers[seen[i].peer]);
			late += ins->followup_passed_seq < f->seq + FOLLOWUP_ORDER_MARGIN;
			continue;
		}
		if (seen[i].state == FU_WAITING)
			ins->followups[kept++] = *f;
	}
	ins->n_followups = kept;
	if (nka && (ret = dataplane_set_peers(ins->dp, ka, nka)))
		log_ratelimited_debug("re-injection follow-up: setting %zu keepalives failed: %s", nka, strerror(-ret));
	if (kept && fu_due(&ins->followups[0]) <= now &&
	    ins->followup_not_before_ms < now + FOLLOWUP_RECHECK_MS)
		ins->followup_not_before_ms = now + FOLLOWUP_RECHECK_MS;
	metrics_add(&ins->m->reinject_followup_late, late);
	metrics_add(&ins->m->reinject_resent, again);
	if (again)
		installer_reinject_run(ins);
out:
	atomic_store_explicit(&ins->followups_wait, ins->n_followups > 0 || reinject_pacer_waiting(ins->pacer),
			      memory_order_relaxed);
	dataplane_peers_free(peers, n);
	free(refs);
	free(seen);
	free(ka);
}

/*
 * Past the pacer's longest hold and the follow-up's late mark, a copy's
 * follow-up has run, so what is still missing was never followed up.
 */
#define KEEPALIVE_SWEEP_AFTER_MS (REINJECT_MAX_AGE_NS / 1000000 + FOLLOWUP_LATE_MS)

void installer_keepalive_sweep(struct installer *ins, const struct dp_peer *peers, size_t n, uint64_t now_ms)
{
	struct dp_peer *ka = n ? malloc(n * sizeof(*ka)) : NULL;
	size_t nka = 0, i;
	int ret;

	if (!ka)
		return;
	for (i = 0; i < n; ++i) {
		const struct peer_state *p = peertab_find(ins->tab, peers[i].public_key);

		/* a session: the edge sends a keepalive on it, never an initiation */
		if (p && peers[i].last_handshake_sec && now_ms - p->installed_mono_ms > KEEPALIVE_SWEEP_AFTER_MS)
			nka += keepalive_due(p, &peers[i], &ka[nka]);
	}
	if (nka && (ret = dataplane_set_peers(ins->dp, ka, nka)))
		log_warn("sweep: setting %zu keepalives failed: %s", nka, strerror(-ret));
	else if (nka)
		log_info("sweep: %zu peers got their keepalive late (their copies were not followed up)", nka);
	free(ka);
}
