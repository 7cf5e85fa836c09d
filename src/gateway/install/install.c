// SPDX-License-Identifier: MIT
/*
 * The install stage: its queue, the installs themselves and the thread's
 * timer. Eviction work is in evict-run.c, the endpoint guard in guard.c,
 * the status document's builder in status.c.
 */
#include "gateway/install/install.h"
#include "gateway/install/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

uint64_t installer_revalidate_interval_ms(unsigned int every)
{
	uint64_t ms = (uint64_t)every * 1000 / 4;

	return ms < 1000 ? 1000 : ms;
}

void installer_key_str(char out[WG_KEY_B64_LEN + 1], const uint8_t key[WG_KEY_LEN])
{
	key_to_base64(out, key);
}

void installer_endpoint_str(char *out, size_t len, const union dp_endpoint *ep)
{
	char a[INET6_ADDRSTRLEN];

	if (ep->addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr4.sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(ep->addr4.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr6.sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(ep->addr6.sin6_port));
	} else {
		snprintf(out, len, "(none)");
	}
}

void installer_update_gauges(struct installer *ins)
{
	metrics_gauge_set(&ins->m->peers_installed, (int64_t)peertab_count(ins->tab));
	ins->status_dirty = true;
}

static void item_clear(struct install_item *it)
{
	free(it->allowed_ips);
	explicit_bzero(it, sizeof(*it));
}

/* ---- the queue's producers (any thread) ----------------------------------------- */

/* Fills the item's record fields (not the endpoint) from rec. 0 or -ENOMEM (nothing to free then). */
static int item_from_record(struct install_item *it, const struct peer_record *rec)
{
	size_t i;

	memcpy(it->key, rec->public_key, WG_KEY_LEN);
	if (rec->n_allowed_ips) {
		it->allowed_ips = calloc(rec->n_allowed_ips, sizeof(*it->allowed_ips));
		if (!it->allowed_ips)
			return -ENOMEM;
	}
	for (i = 0; i < rec->n_allowed_ips; ++i) {
		const struct cidr *c = &rec->allowed_ips[i];
		struct dp_allowedip *a = &it->allowed_ips[it->n_allowed_ips];
		a->family = c->family;
		a->cidr = c->prefix;
		if (c->family == AF_INET)
			memcpy(&a->ip4, c->addr, 4);
		else if (c->family == AF_INET6)
			memcpy(&a->ip6, c->addr, 16);
		else
			continue;
		it->n_allowed_ips++;
	}
	it->has_psk = rec->has_preshared_key;
	if (it->has_psk)
		memcpy(it->psk, rec->preshared_key, WG_KEY_LEN);
	it->keepalive = rec->persistent_keepalive;
	it->expires_at = rec->expires_at;
	return 0;
}

/* Queues a record as an install (ev: the initiation) or, with ev NULL, as a feed update. */
static int queue_record(struct installer *ins, const struct lookup_event *ev, const struct peer_record *rec)
{
	struct install_item it;
	int ret;

	memset(&it, 0, sizeof(it));
	it.kind = ev ? ITEM_INSTALL : ITEM_UPDATE;
	ret = item_from_record(&it, rec);
	if (ret)
		return ret;
	if (ev) {
		/* The endpoint is the initiation's source: the one fact an attacker can't
		 * choose for someone else's key, since ev passed noise + replay guard. */
		if (ev->src.sa.sa_family == AF_INET)
			it.endpoint.addr4 = ev->src.sin;
		else if (ev->src.sa.sa_family == AF_INET6)
			it.endpoint.addr6 = ev->src.sin6;
		if (ev->local.sa.sa_family == AF_INET)
			it.local.addr4 = ev->local.sin;
		else if (ev->local.sa.sa_family == AF_INET6)
			it.local.addr6 = ev->local.sin6;
		memcpy(it.initiation, ev->initiation, sizeof(it.initiation));
		it.first_seen = ev->first_seen;
		it.source = ev->source;
		it.owner_checked = ev->owner_checked;
	}
	ret = stage_push_if(ins->st, &it, 0, true, NULL, NULL);
	if (ret)
		free(it.allowed_ips);
	explicit_bzero(&it, sizeof(it));
	return ret;
}

int installer_submit(struct installer *ins, const struct lookup_event *ev, const struct peer_record *rec)
{
	return queue_record(ins, ev, rec);
}

int installer_update(struct installer *ins, const struct peer_record *rec)
{
	return queue_record(ins, NULL, rec);
}

static int guard_check(void *arg, void *slot)
{
	struct install_item *it = slot;

	return installer_guard_admit(arg, it->notice.key);
}

size_t installer_notify(void *ctx, const struct notice *n, size_t count)
{
	struct installer *ins = ctx;
	struct install_item it;
	size_t i, done = 0;
	int ret;

	for (i = 0; i < count; ++i) {
		memset(&it, 0, sizeof(it));
		it.kind = ITEM_NOTICE;
		it.notice = n[i];
		if (n[i].type == NOTICE_REPLAY_SEEN) {
			/*
			 * In order with installs, never ahead, and only in the upper half of
			 * the queue, one per key: a flood of replays (from spoofed sources,
			 * each a valid initiation) can neither starve nor crowd out installs.
			 */
			ret = stage_push_if(ins->st, &it, ins->queue_cap / 2, false, guard_check, ins);
			if (ret == -EALREADY)
				ret = 0;
		} else if (n[i].type == NOTICE_GONE) {
			ret = stage_push_if(ins->st, &it, 0, true, NULL, NULL);
		} else {
			ret = -EINVAL;
		}
		if (!ret)
			done++;
	}
	return done;
}

void install_lookup_cb(void *ctx, const struct lookup_event *ev, const struct peer_record *rec)
{
	struct installer *ins = ctx;
	char k[WG_KEY_B64_LEN + 1];
	int ret = installer_submit(ins, ev, rec);

	if (ret && ret != -ESHUTDOWN) {
		metrics_inc(&ins->m->install_errors);
		installer_key_str(k, rec->public_key);
		log_warn("install of %s dropped: %s", k, strerror(-ret));
	}
}

void install_gone_cb(void *ctx, const uint8_t key[WG_KEY_LEN])
{
	struct notice n = { .type = NOTICE_GONE };

	memcpy(n.key, key, WG_KEY_LEN);
	installer_notify(ctx, &n, 1);
}

void install_replayed_cb(void *ctx, const struct lookup_event *ev)
{
	struct notice n = { .type = NOTICE_REPLAY_SEEN };

	memcpy(n.key, ev->key, WG_KEY_LEN);
	memcpy(&n.src, &ev->src, sizeof(n.src));
	installer_notify(ctx, &n, 1);
}

void installer_set_revalidate(struct installer *ins, const struct notice_inbox *to)
{
	if (to)
		ins->revalidate_box = *to;
	atomic_store(&ins->revalidate_to, to ? &ins->revalidate_box : NULL);
}

void installer_reconfigure(struct installer *ins, const struct installer_config *cfg)
{
	uint64_t now = clock_mono_ms();

	pthread_mutex_lock(&ins->cfg_mu);
	ins->cfg.idle_timeout = cfg->idle_timeout;
	ins->cfg.grace = cfg->grace;
	ins->cfg.revalidate = cfg->revalidate;
	ins->cfg.no_initiate = cfg->no_initiate;
	ins->cfg.reinject = cfg->reinject;
	atomic_store(&ins->rj_tried, false); /* a failed open is tried again (on the stage thread) */
	ins->cfg.initiate_delay_ms = cfg->initiate_delay_ms;
	atomic_store(&ins->rj_rate, installer_reinject_rate(cfg)); /* the stage thread applies it */
	/* Sweep soon under the new timeout rather than at the old interval's end. */
	ins->next_sweep_ms = now + evict_interval_ms(cfg->idle_timeout);
	ins->next_reval_ms = now + installer_revalidate_interval_ms(cfg->revalidate);
	pthread_mutex_unlock(&ins->cfg_mu);
	if (ins->cfg.status)
		status_board_set_config(ins->cfg.status, cfg->idle_timeout, !cfg->no_initiate);
	if (ins->admit)
		atomic_store(&ins->admit_resync, true);
	stage_wake(ins->st);
}

/* ---- the admission set (stage thread) ---------------------------------------------- */

/*
 * Elements outlive the idle timeout twice over: an active peer's is put
 * again every half of that (nftset_sync_end), and a jitwgd that died
 * leaves a set that empties itself. At least a minute, so short test
 * timeouts do not turn every sweep into a rewrite.
 */
static uint64_t admit_timeout_ms(struct installer *ins)
{
	uint64_t ms;

	pthread_mutex_lock(&ins->cfg_mu);
	ms = (uint64_t)ins->cfg.idle_timeout * 2000;
	pthread_mutex_unlock(&ins->cfg_mu);
	return ms < 60000 ? 60000 : ms;
}

void installer_admit_follow(struct installer *ins, struct peer_state *p)
{
	if (!ins->admit || dataplane_endpoint_equal(&p->admitted, &p->endpoint))
		return;
	if (p->admitted.addr.sa_family)
		nftset_release(ins->admit, &p->admitted);
	if (p->endpoint.addr.sa_family)
		nftset_hold(ins->admit, &p->endpoint);
	p->admitted = p->endpoint;
}

void installer_admit_drop(struct installer *ins, struct peer_state *p)
{
	if (!ins->admit || !p || !p->admitted.addr.sa_family)
		return;
	nftset_release(ins->admit, &p->admitted);
	memset(&p->admitted, 0, sizeof(p->admitted));
}

static bool sync_one(struct peer_state *p, void *arg)
{
	struct nftset *s = arg;

	nftset_sync_hold(s, &p->endpoint);
	p->admitted = p->endpoint;
	return true;
}

void installer_admit_sync(struct installer *ins)
{
	if (!ins->admit)
		return;
	nftset_sync_begin(ins->admit);
	peertab_each(ins->tab, sync_one, ins->admit);
	nftset_sync_end(ins->admit, clock_mono_ms(), admit_timeout_ms(ins));
}

void installer_admit_commit(struct installer *ins)
{
	if (ins->admit)
		(void)nftset_commit(ins->admit, clock_mono_ms(), admit_timeout_ms(ins)); /* counted, logged inside */
}

/* ---- installs (stage thread) ------------------------------------------------------ */

/*
 * Crossed handshakes: the data plane reads the client's initiation from its
 * own socket at the moment we capture it, and normally drops it at once (no
 * peer yet). If it is slow and consumes it after our install, it answers the
 * client while we make it initiate too; each side's second handshake then
 * overwrites the state the other side's answer refers to, and both wait for
 * the client's retry 5 s later (docs/ARCHITECTURE.md, "Cold connect").
 * Install confirmation (install/confirm.c) repairs that; creating the peer no
 * sooner than --initiate-delay-ms (default 0) after the capture only makes
 * it rarer, at a cost to every connect. Blocking the install thread that long
 * is bounded by 1 s. All of the initiate-delay logic is here.
 */
static void install_settle(const struct timespec *first_seen, unsigned int delay_ms)
{
	struct timespec until = *first_seen;

	if (!delay_ms)
		return;
	timespec_add_ms(&until, delay_ms);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

/* Whether p already has exactly these allowed IPs (in this order, as the registry lists them). */
static bool allowed_ips_same(const struct peer_state *p, const struct install_item *it)
{
	size_t i;

	if (!p || p->n_allowed_ips != it->n_allowed_ips)
		return false;
	for (i = 0; i < it->n_allowed_ips; ++i) {
		const struct dp_allowedip *a = &p->allowed_ips[i], *b = &it->allowed_ips[i];

		if (a->family != b->family || a->cidr != b->cidr ||
		    memcmp(&a->ip6, &b->ip6, a->family == AF_INET ? 4 : 16))
			return false;
	}
	return true;
}

/*
 * The peer as the data plane must have it. Allowed IPs that did not change
 * are added again, not replaced: replacing removes the old list before
 * adding the new one, and a packet that arrives in between is dropped.
 * Adding is idempotent, and still right when the peer was removed behind
 * our back (had is the peer table's view, up to a sweep old).
 */
static void fill_peer(struct dp_peer *p, const struct install_item *it, const struct peer_state *had)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, it->key, WG_KEY_LEN);
	p->flags = DP_PEER_HAS_ENDPOINT | DP_PEER_HAS_PRESHARED_KEY | DP_PEER_HAS_KEEPALIVE;
	if (!allowed_ips_same(had, it))
		p->flags |= DP_PEER_REPLACE_ALLOWEDIPS;
	p->endpoint = it->endpoint;
	if (it->has_psk)
		memcpy(p->preshared_key, it->psk, WG_KEY_LEN);
	p->allowed_ips = it->allowed_ips;
	p->n_allowed_ips = it->n_allowed_ips;
	p->persistent_keepalive = it->keepalive;
}

/* Books one install that landed and logs it at once (a crash must not lose the line). */
static void landed(struct installer *ins, const struct install_item *it, bool initiated, int64_t now,
		   uint64_t now_ms)
{
	char k[WG_KEY_B64_LEN + 1], ep[INET6_ADDRSTRLEN + 10];
	struct timespec t = clock_timespec(CLOCK_MONOTONIC);
	double secs = (double)(t.tv_sec - it->first_seen.tv_sec) +
		      (double)(t.tv_nsec - it->first_seen.tv_nsec) / 1e9;
	bool created = false;
	struct peer_state *p = peertab_get(ins->tab, it->key, &created);

	if (p) {
		if (created)
			p->revalidated_mono_ms = now_ms;
		p->installed_at = now;
		p->installed_mono_ms = now_ms;
		p->adopted = false;
		p->endpoint = it->endpoint;
		p->trusted = it->endpoint;
		installer_admit_follow(ins, p);
		p->keepalive = it->keepalive;
		p->expires_at = it->expires_at;
		installer_expiry_note(ins, it->expires_at);
		p->sweep_mark = ins->gen;
		(void)peertab_set_allowed_ips(p, it->allowed_ips, it->n_allowed_ips);
	}
	metrics_inc(&ins->m->installs);
	if (initiated)
		metrics_inc(&ins->m->initiations_sent);
	metrics_observe_install(ins->m, secs);
	installer_key_str(k, it->key);
	installer_endpoint_str(ep, sizeof(ep), &it->endpoint);
	log_info("%s peer %s endpoint %s in %.1f ms%s%s", created ? "installed" : "updated", k, ep,
		 secs * 1e3, initiated ? ", initiating" : "",
		 it->source == INGEST_CAPTURE ? "" : it->source == INGEST_RELAY ? " (relay)" : " (?)");
}

static void failed(struct installer *ins, const struct install_item *it, int err)
{
	char k[WG_KEY_B64_LEN + 1];

	metrics_inc(&ins->m->install_errors);
	installer_key_str(k, it->key);
	log_err("install of %s failed: %s", k, strerror(-err));
}

/* Role inversion for one peer (dataplane.h: dataplane_peer_initiate()), watched by install confirmation. */
void installer_initiate_one(struct installer *ins, const struct install_item *it, const struct install_mode *md,
			    int64_t now)
{
	struct dp_peer one;
	int ret;

	install_settle(&it->first_seen, md->delay_ms);
	fill_peer(&one, it, peertab_find(ins->tab, it->key));
	ret = dataplane_peer_initiate(ins->dp, &one);
	/* Without memory for the watch the install stands, unconfirmed. */
	if (!ret && ins->confirm && install_confirm_watch(ins->confirm, &one, clock_mono_ms(), time(NULL)))
		log_ratelimited_debug("install confirmation: no memory to watch a peer");
	explicit_bzero(&one, sizeof(one));
	if (ret)
		failed(ins, it, ret);
	else
		landed(ins, it, true, now, clock_mono_ms());
}

/*
 * Role inversion for the peers in init[] (indexes into its): one
 * dataplane_peers_initiate() for all of them, one data-plane transaction
 * instead of one per peer. With a settle delay, or if the batch fails,
 * peer by peer (a peer the failed batch did initiate sends nothing more
 * within REKEY_TIMEOUT, so nothing is sent twice).
 */
static void initiate_batch(struct installer *ins, struct install_item *its, const size_t *init, size_t n,
			   const struct install_mode *md, int64_t now)
{
	struct dp_peer peers[BATCH_MAX];
	uint64_t now_ms;
	size_t i;
	int ret = -EAGAIN;

	if (n > 1 && !md->delay_ms) {
		for (i = 0; i < n; ++i)
			fill_peer(&peers[i], &its[init[i]], peertab_find(ins->tab, its[init[i]].key));
		ret = dataplane_peers_initiate(ins->dp, peers, n);
		now_ms = clock_mono_ms();
		for (i = 0; !ret && i < n; ++i) {
			if (ins->confirm && install_confirm_watch(ins->confirm, &peers[i], now_ms, time(NULL)))
				log_ratelimited_debug("install confirmation: no memory to watch a peer");
			landed(ins, &its[init[i]], true, now, now_ms);
		}
		explicit_bzero(peers, n * sizeof(peers[0]));
		if (ret)
			log_warn("batch initiation of %zu peers failed (%s); one by one", n, strerror(-ret));
	}
	for (i = 0; ret && i < n; ++i)
		installer_initiate_one(ins, &its[init[i]], md, now);
}

/* Writes the peers in plain[] as one batch (one by one if the batch fails); books those that landed. */
static void set_batch(struct installer *ins, struct install_item *its, struct dp_peer *plain, const size_t *idx,
		      size_t n, bool *done, int64_t now, uint64_t now_ms)
{
	size_t i;
	int batch, ret;

	if (!n)
		return;
	batch = dataplane_set_peers(ins->dp, plain, n);
	if (batch)
		log_warn("batch install of %zu peers failed (%s); retrying one by one", n, strerror(-batch));
	for (i = 0; i < n; ++i) {
		/* one bad peer must not sink the rest */
		ret = batch ? dataplane_set_peers(ins->dp, &plain[i], 1) : 0;
		done[i] = !ret;
		if (ret)
			failed(ins, &its[idx[i]], ret);
		else
			landed(ins, &its[idx[i]], false, now, batch ? clock_mono_ms() : now_ms);
	}
	explicit_bzero(plain, sizeof(plain[0]) * n);
}

/*
 * Installs a batch: the peers to initiate as one data-plane transaction,
 * those that need no initiation (re-injected or answered already) as
 * another, then the re-injections, paced.
 * Role inversion: a peer whose persistent keepalive goes from 0 to
 * non-zero while the interface is up makes WireGuard (kernel and
 * wireguard-go alike) send a keepalive at once, and with no session that
 * means a handshake initiation to the endpoint we just set; the registry's
 * keepalive is put back in the same call (dataplane_peer_initiate()).
 */
static void do_installs(struct installer *ins, struct install_item *its, size_t n)
{
	struct dp_peer plain[BATCH_MAX];
	size_t idx[BATCH_MAX], want[BATCH_MAX], init[BATCH_MAX], nplain = 0, nwant = 0, ninit = 0, i;
	bool reinject[BATCH_MAX], done[BATCH_MAX];
	uint64_t now_ms = clock_mono_ms();
	int64_t now = time(NULL);
	struct install_mode md;

	ins->installed_at_ms = now_ms;
	pthread_mutex_lock(&ins->cfg_mu);
	md.no_initiate = ins->cfg.no_initiate;
	md.reinject = ins->cfg.reinject;
	md.delay_ms = ins->cfg.initiate_delay_ms;
	pthread_mutex_unlock(&ins->cfg_mu);

	for (i = 0; i < n; ++i) {
		struct install_item *it = &its[i];
		struct peer_state *holder, *had;
		enum answer a;

		/* Queued before it expired (or served from the cache at the second): never installed. */
		if (it->expires_at && it->expires_at <= now) {
			installer_remove(ins, it->key, REMOVE_EXPIRED);
			continue;
		}
		/*
		 * Address ownership (owner.c): another installed peer holds some of
		 * these addresses. Unless the registry was just asked about both,
		 * ask it first; the client's retry finds the answer. Once asked, its
		 * answer wins and the holder goes.
		 */
		if (it->owner_checked) {
			installer_remove_holders(ins, it->key, it->allowed_ips, it->n_allowed_ips);
		} else if ((holder = installer_holder(ins, it->key, it->allowed_ips, it->n_allowed_ips))) {
			if (!installer_ask_owner(ins, it, holder))
				log_ratelimited_debug("address check: lookup queue busy, the client's retry asks again");
			continue;
		}
		a = installer_answer_for(ins, it, &md, now); /* after the removals above, which may have been this key */

		if (a == ANSWER_INITIATE) {
			init[ninit++] = i;
			continue;
		}
		had = peertab_find(ins->tab, its[i].key);
		fill_peer(&plain[nplain], &its[i], had);
		reinject[nplain] = a == ANSWER_REINJECT;
		/*
		 * Keepalive 0 -> on makes the data plane initiate (above), which
		 * would cross the copy: a new peer goes in without it, and the
		 * follow-up sets the record's once the copy is consumed.
		 */
		if (reinject[nplain] && !had)
			plain[nplain].persistent_keepalive = 0;
		idx[nplain++] = i;
	}
	initiate_batch(ins, its, init, ninit, &md, now);
	/*
	 * Before the set: a data plane may consume the client's original as
	 * soon as the peer is in, and the session it starts answers the copy
	 * to come (installer_sessions_seen()).
	 */
	if (md.reinject && nplain)
		atomic_store_explicit(&ins->followups_wait, true, memory_order_relaxed);
	set_batch(ins, its, plain, idx, nplain, done, now, now_ms);
	installer_update_gauges(ins);
	installer_admit_commit(ins);
	for (i = 0; i < nplain; ++i)
		if (done[i] && reinject[i])
			want[nwant++] = idx[i];
	installer_reinject_batch(ins, its, want, nwant, &md, now);
}

/* ---- the stage's hooks --------------------------------------------------------------- */

static void install_handle(void *ctx, void *tls, void *items, size_t n)
{
	struct installer *ins = ctx;
	struct install_item *its = items;
	size_t i = 0, j;

	while (i < n) {
		if (its[i].kind == ITEM_INSTALL || its[i].kind == ITEM_SESSION || its[i].kind == ITEM_COOKIE) {
			/* Consecutive installs (sessions, cookies) are one batch; a notice is handled alone, in order. */
			for (j = i; j < n && j - i < BATCH_MAX && its[j].kind == its[i].kind; ++j)
				;
			if (its[i].kind == ITEM_INSTALL)
				do_installs(ins, &its[i], j - i);
			else if (its[i].kind == ITEM_SESSION)
				installer_followups_answered(ins, &its[i], j - i);
			else
				installer_followups_cookied(ins, &its[i], j - i);
			for (; i < j; ++i)
				item_clear(&its[i]);
			continue;
		}
		if (its[i].kind == ITEM_UPDATE)
			installer_apply_update(ins, &its[i]);
		else if (its[i].notice.type == NOTICE_GONE)
			installer_remove(ins, its[i].notice.key, REMOVE_GONE);
		else if (its[i].notice.type == NOTICE_REPLAY_SEEN)
			installer_guard_notice(ins, &its[i].notice);
		item_clear(&its[i]);
		i++;
	}
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* One install confirmation check (install/confirm.h), its counts into the metrics. */
static void confirm_run(struct installer *ins)
{
	struct confirm_counts k = { 0 };

	install_confirm_run(ins->confirm, ins->dp, &k);
	metrics_add(&ins->m->confirm_confirmed, k.confirmed);
	metrics_add(&ins->m->confirm_repaired, k.repaired);
	metrics_add(&ins->m->confirm_given_up, k.given_up);
}

/* Timer work between batches: one thing per call, so queued installs come first. */
static int install_tick(void *ctx, void *tls, bool stopping, bool *busy)
{
	struct installer *ins = ctx;
	uint64_t now = clock_mono_ms(), next, reval_due, sweep_due;
	unsigned int every, idle;

	if (stopping)
		return -1; /* drain the queue; timers stop with the stage */
	if (ins->plan.next < ins->plan.n_victims) {
		installer_remove_batch(ins);
		return 0;
	}
	if (ins->admit && atomic_exchange(&ins->admit_resync, false)) {
		nftset_resync(ins->admit);
		installer_admit_sync(ins);
		installer_admit_commit(ins);
	}
	if (ins->n_guards && installer_guards_next(ins) <= now)
		installer_guards_run(ins, now);
	if (reinject_pacer_due(ins->pacer) <= clock_mono_ns())
		installer_reinject_run(ins);
	if (installer_followups_next(ins, now) <= now)
		installer_followups_run(ins, now);
	if (installer_expiry_due_ms(ins, clock_real_ms()) == 0)
		installer_expiry_run(ins, clock_real_ms());
	if (ins->confirm && install_confirm_due(ins->confirm) <= now)
		confirm_run(ins);
	pthread_mutex_lock(&ins->cfg_mu);
	every = ins->cfg.revalidate;
	idle = ins->cfg.idle_timeout;
	reval_due = ins->next_reval_ms;
	sweep_due = ins->next_sweep_ms;
	if (now >= reval_due)
		ins->next_reval_ms = now + installer_revalidate_interval_ms(every);
	if (now >= sweep_due)
		ins->next_sweep_ms = now + evict_interval_ms(idle);
	next = min_u64(ins->next_reval_ms, ins->next_sweep_ms);
	pthread_mutex_unlock(&ins->cfg_mu);
	if (now >= reval_due)
		installer_revalidate(ins);
	if (now >= sweep_due)
		installer_sweep(ins);
	next = min_u64(next, installer_status_run(ins, now));
	if (ins->plan.next < ins->plan.n_victims)
		return 0;
	next = min_u64(next, installer_guards_next(ins));
	/* pacing is finer than the timer's ms: round up, the bucket's burst absorbs it */
	if (reinject_pacer_waiting(ins->pacer))
		next = min_u64(next, reinject_pacer_due(ins->pacer) / 1000000 + 1);
	next = min_u64(next, installer_followups_next(ins, now));
	if (ins->confirm)
		next = min_u64(next, install_confirm_due(ins->confirm));
	now = clock_mono_ms();
	{
		int64_t exp = installer_expiry_due_ms(ins, clock_real_ms());

		if (exp >= 0)
			next = min_u64(next, now + (uint64_t)exp);
	}
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

static const struct stage_ops install_ops = {
	.handle = install_handle,
	.tick = install_tick,
};

/*
 * Frees what installer_new() builds besides the stage, and ins itself; the
 * data plane stays the caller's (installer_new() takes it only on success).
 */
static void release(struct installer *ins)
{
	free(ins->followups);
	installer_cookies_free(ins);
	reinject_pacer_free(ins->pacer);
	reinject_free(ins->rj);
	install_confirm_free(ins->confirm);
	evict_plan_clear(&ins->plan);
	peertab_free(ins->tab);
	pthread_mutex_destroy(&ins->cfg_mu);
	pthread_mutex_destroy(&ins->guard_mu);
	free(ins);
}

struct installer *installer_new(struct dataplane *dp, const struct installer_config *cfg)
{
	struct installer *ins = calloc(1, sizeof(*ins));
	struct stage_config sc = {
		.name = "install",
		.item_size = sizeof(struct install_item),
		.batch = BATCH_MAX,
		.threads = 1,
		.ops = &install_ops,
		.dropped = &cfg->metrics->install_queue_dropped,
	};
	int e;

	if (!ins)
		return NULL;
	ins->tab = peertab_new();
	if (!ins->tab) {
		free(ins);
		errno = ENOMEM;
		return NULL;
	}
	ins->dp = dp;
	ins->m = cfg->metrics;
	ins->cfg = *cfg;
	ins->cfg.ifname = NULL;
	ins->admit = cfg->admit;
	snprintf(ins->ifname, sizeof(ins->ifname), "%s", cfg->ifname ? cfg->ifname : "");
	pthread_mutex_init(&ins->cfg_mu, NULL);
	pthread_mutex_init(&ins->guard_mu, NULL);
	if (cfg->status)
		status_board_set_config(cfg->status, cfg->idle_timeout, !cfg->no_initiate);

	if (cfg->confirm_ms && !(ins->confirm = install_confirm_new(&(struct confirm_config){
					 .wait_ms = cfg->confirm_ms, .max_repairs = 2 }))) {
		e = errno;
		goto fail;
	}
	ins->listen_port = cfg->listen_port;
	if (cfg->public_key && installer_cookies_init(ins, cfg->public_key))
		log_warn("no memory for the cookie jar: copies refused with a cookie wait for their follow-up");
	ins->cfg.reinject_io = NULL;
	atomic_store(&ins->rj_rate, installer_reinject_rate(cfg));
	ins->pacer = reinject_pacer_new(REINJECT_WAITING, atomic_load(&ins->rj_rate), REINJECT_BURST, REINJECT_MAX_AGE_NS);
	ins->followups = calloc(FOLLOWUP_MAX, sizeof(*ins->followups));
	if (!ins->pacer || !ins->followups) {
		e = errno;
		goto fail;
	}
	if (cfg->reinject_io)
		ins->rio = *cfg->reinject_io;
	/* Adopt what is installed now: the first sweep runs before the thread starts. */
	installer_sweep(ins);
	installer_status_publish(ins);
	ins->status_at_ms = clock_mono_ms();
	ins->status_every_ms = STATUS_EVERY_MS;
	ins->next_sweep_ms = clock_mono_ms() + evict_interval_ms(cfg->idle_timeout);
	ins->next_reval_ms = clock_mono_ms() + installer_revalidate_interval_ms(cfg->revalidate);

	ins->queue_cap = sc.capacity = cfg->queue_cap ? cfg->queue_cap : INSTALL_QUEUE;
	sc.ctx = ins;
	ins->st = stage_new(&sc);
	if (!ins->st) {
		e = errno;
		goto fail;
	}
	return ins;
fail:
	release(ins);
	errno = e;
	return NULL;
}

void installer_stop(struct installer *ins)
{
	if (ins)
		stage_stop(ins->st);
}

void installer_free(struct installer *ins)
{
	if (!ins)
		return;
	stage_free(ins->st);
	dataplane_free(ins->dp);
	release(ins);
}
