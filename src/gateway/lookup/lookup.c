// SPDX-License-Identifier: MIT
/*
 * The lookup stage: replay guard -> cache -> registry fetch -> install.
 *
 * Submitters (identify threads) do only the in-memory replay check and a
 * queue push under the stage's mutex; everything that touches SQLite or the
 * network happens on the stage's one thread, which owns the cache
 * connection and sleeps in the registry client's poll. The queue (a struct
 * stage) is drained in batches, each batch one SQLite transaction, so a
 * cache or replay-mark row costs a row write, not a commit. Replay marks
 * are persisted only for keys the registry knows (see install()).
 *
 * Per key, at most one registry request is outstanding ("pending"); further
 * initiations for that key while it runs only replace the pending event, so
 * the install uses the newest initiation's source address. The fetch window
 * is measured from the last request's start and stored with the row, so it
 * also holds across restarts.
 */
#include "gateway/lookup/lookup.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/gcra.h"
#include "common/log.h"
#include "crypto/siphash.h"
#include "gateway/lookup/cache.h"
#include "gateway/lookup/regclient.h"
#include "gateway/lookup/replay.h"
#include "gateway/core/stage.h"

enum {
	BATCH = 256,
	PEND_BUCKETS = 256,
	PRUNE_EVERY_MS = 60 * 1000,
	DEFAULT_RETENTION = 30 * 24 * 3600,
};

enum qtype { Q_SUBMIT, Q_REVALIDATE, Q_CONFLICT };

struct qitem {
	enum qtype type;
	bool unverified;              /* replay mark must be compared with the store */
	struct lookup_event ev;       /* for Q_REVALIDATE only ev.key is set; Q_CONFLICT: key, src */
	uint8_t holder[WG_KEY_LEN];   /* Q_CONFLICT: the installed peer holding ev's addresses */
};

/* A key with a registry request outstanding. */
struct pending {
	struct pending *next;
	uint8_t key[WG_KEY_LEN];
	bool want_install;            /* an initiation (not only a revalidation) waits */
	bool spent;                   /* took a budget token (budget_refund on a record) */
	bool owner_checked;           /* asked after the holder of its addresses (Q_CONFLICT) */
	int64_t asked_at;             /* ms: when the request started (feed_deleted_since) */
	struct lookup_event ev;       /* the newest such initiation */
	/* This key holds addresses claimed by then_ev's key: ask about that key next. */
	bool has_then;
	struct lookup_event then_ev;
};

struct lookup {
	struct lookup_config cfg;
	lookup_install_fn install;
	lookup_gone_fn gone;
	void *ctx;
	struct metrics *m;
	struct metrics own_metrics;   /* when the caller gives none */

	struct cache *cache;          /* lookup thread only (after start) */
	struct replay *replay;        /* thread-safe */
	struct regclient *rc;         /* lookup thread only, except wakeup */
	struct stage *st;             /* the queue and its thread */

	/* lookup_flush(): items pushed / handled, and a cv the tick signals */
	atomic_uint_fast64_t submitted, processed;
	atomic_bool busy;             /* registry requests outstanding (as the thread last saw) */
	pthread_mutex_t mu;
	pthread_cond_t idle_cv;

	/* lookup thread only */
	struct pending *pend[PEND_BUCKETS];
	int64_t next_prune;
	struct siphash_key hkey;      /* pend[] buckets */
	struct gcra budget;           /* the registry budget (budget_take) */
	bool cancelled;
	atomic_bool stopping;
};

/* Wall-clock ms: cache rows and expiry times are stored as unix times. */
static int64_t now_ms(struct lookup *l)
{
	if (l->cfg.clock_ms)
		return l->cfg.clock_ms(l->cfg.clock_ctx);
	return clock_real_ms();
}

static int64_t regclient_clock(void *ctx)
{
	return now_ms(ctx);
}

/* ---- pending fetches ------------------------------------------------------- */

static size_t pend_slot(const struct lookup *l, const uint8_t key[static WG_KEY_LEN])
{
	return (size_t)(siphash24(&l->hkey, key, WG_KEY_LEN) % PEND_BUCKETS);
}

static struct pending *pend_find(struct lookup *l, const uint8_t key[static WG_KEY_LEN])
{
	struct pending *p;

	for (p = l->pend[pend_slot(l, key)]; p; p = p->next)
		if (!memcmp(p->key, key, WG_KEY_LEN))
			return p;
	return NULL;
}

static struct pending *pend_take(struct lookup *l, const uint8_t key[static WG_KEY_LEN])
{
	struct pending **pp, *p;

	for (pp = &l->pend[pend_slot(l, key)]; (p = *pp); pp = &p->next) {
		if (!memcmp(p->key, key, WG_KEY_LEN)) {
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

/* ---- policy ------------------------------------------------------------------ */

static bool record_expired(const struct peer_record *r, int64_t now)
{
	return r->expires_at != 0 && r->expires_at <= now / 1000;
}

static bool positive_fresh(struct lookup *l, const struct cache_entry *e, int64_t now)
{
	return e->state == CACHE_POSITIVE && now - e->fetched_at < (int64_t)l->cfg.positive_ttl * 1000;
}

static bool negative_fresh(struct lookup *l, const struct cache_entry *e, int64_t now)
{
	return e->state == CACHE_NEGATIVE && now - e->fetched_at < (int64_t)l->cfg.negative_ttl * 1000;
}

/* A record the registry gave us once, still usable when it cannot be asked. */
static bool stale_usable(struct lookup *l, const struct cache_entry *e, int64_t now)
{
	return e->state == CACHE_POSITIVE && !record_expired(&e->rec, now) &&
	       now - e->fetched_at <= (int64_t)l->cfg.stale_max * 1000;
}

static bool window_open(struct lookup *l, const struct cache_entry *e, int64_t now)
{
	return e->attempt_at == 0 || now - e->attempt_at >= (int64_t)l->cfg.fetch_window * 1000 ||
	       now < e->attempt_at; /* the clock stepped back: do not lock the key out */
}

/*
 * The registry budget (lookup_config.budget): a token bucket of budget
 * tokens refilled at budget per second. A known key (priority) always gets
 * its request and spends a token if one is left; a never-seen key only
 * gets one while a token is left. True when the request may start; *spent
 * says whether a token was taken.
 */
static bool budget_take(struct lookup *l, bool priority, int64_t ms, bool *spent)
{
	uint64_t now = (uint64_t)ms * 1000000;

	*spent = false;
	if (!l->cfg.budget)
		return true;
	if (l->budget.tat_ns > now + l->budget.tolerance_ns + l->budget.period_ns)
		l->budget.tat_ns = now; /* the clock stepped back: do not lock newcomers out */
	*spent = gcra_take(&l->budget, now);
	return *spent || priority;
}

/*
 * A token back, for a request the registry answered with a record. What the
 * budget limits is what unknown keys cost: a storm of registered first-time
 * clients (a reboot, a fleet moving over) only borrows tokens for a round
 * trip, so it is held to budget requests in flight, not budget per second.
 * A tat below now is a full bucket (gcra_take starts from now), so a refund
 * never raises the burst.
 */
static void budget_refund(struct lookup *l)
{
	if (l->budget.tat_ns >= l->budget.period_ns)
		l->budget.tat_ns -= l->budget.period_ns;
}

/*
 * Starts a registry request for key and remembers it as pending. Returns 0,
 * -EAGAIN when the client is backing off, or another -errno.
 */
static int fetch(struct lookup *l, const uint8_t key[static WG_KEY_LEN], const struct lookup_event *ev,
		 bool spent, int64_t now)
{
	struct pending *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	ret = regclient_fetch(l->rc, key);
	if (ret < 0) {
		free(p);
		return ret;
	}
	memcpy(p->key, key, WG_KEY_LEN);
	p->spent = spent;
	p->asked_at = now;
	if (ev) {
		p->want_install = true;
		p->ev = *ev;
	}
	p->next = l->pend[pend_slot(l, key)];
	l->pend[pend_slot(l, key)] = p;
	cache_peer_note_attempt(l->cache, key, now);
	return 0;
}

/*
 * Hands a record to the install stage. The replay mark is persisted here,
 * and only here: for a key the registry knows. An unknown key's mark stays
 * in the bounded in-memory table, so valid initiations minted for unknown
 * keys (anyone with the gateway's public key can make them) cannot grow the
 * cache file (bench/cacheflood).
 *
 * The hand-off comes first: outside a batch's transaction (a registry
 * answer) the write is a commit the install need not wait for. The mark is
 * already in the in-memory table; a crash between the two loses it, as a
 * power cut may lose the last commits anyway (cache.c: synchronous=NORMAL).
 */
static void install(struct lookup *l, const struct lookup_event *ev, const struct peer_record *rec, int64_t now)
{
	l->install(l->ctx, ev, rec);
	cache_replay_put(l->cache, ev->key, ev->tai64n, now);
}

/*
 * Address ownership, the lookup's half (NOTICE_CONFLICT from install/owner.c):
 * ev's key claims addresses the installed holder has. Ask the registry
 * about the holder, bypassing the cache, and only then about ev's key
 * (then_ev, in on_fetched): a holder that is gone is removed before the
 * claimant's install, which arrives owner-checked and takes the addresses.
 * One claim per holder at a time; a second one waits for the client's retry.
 * Nothing is installed from the cache or a stale record on this path.
 */
static void process_conflict(struct lookup *l, const struct qitem *it, int64_t now)
{
	struct pending *p = pend_find(l, it->holder);

	if (atomic_load(&l->stopping))
		return;
	if (!p) {
		if (fetch(l, it->holder, NULL, false, now) < 0)
			return;
		p = pend_find(l, it->holder);
	}
	if (!p || p->has_then)
		return;
	p->has_then = true;
	p->then_ev = it->ev;
	clock_gettime(CLOCK_MONOTONIC, &p->then_ev.first_seen);
}

/* The holder has answered (not failed): now the claimant, fresh and owner-checked. */
static void conflict_next(struct lookup *l, const struct lookup_event *ev, int64_t now)
{
	struct pending *p = pend_find(l, ev->key);

	if (!p) {
		if (fetch(l, ev->key, ev, false, now) < 0)
			return;
		p = pend_find(l, ev->key);
		if (!p)
			return;
	}
	p->want_install = true;
	p->owner_checked = true;
	p->ev = *ev;
}

static void install_stale(struct lookup *l, const struct lookup_event *ev, const struct cache_entry *e, int64_t now)
{
	metrics_inc(&l->m->cache[METRICS_CACHE_STALE]);
	install(l, ev, &e->rec, now);
}

/* ---- the replay guard's slow path -------------------------------------------- */

/* Compares with the persisted mark; false means a replay (already counted). */
static bool replay_store_check(struct lookup *l, const struct lookup_event *ev)
{
	uint8_t ts[TAI64N_LEN];
	int ret = cache_replay_get(l->cache, ev->key, ts);

	if (ret == -EIO) {
		/* Cannot prove it is new: fail closed, the client retries anyway. */
		metrics_inc(&l->m->replay_rejected);
		return false;
	}
	if (ret == 0) {
		replay_merge(l->replay, ev->key, ts);
		if (!tai64n_newer(ev->tai64n, ts)) {
			metrics_inc(&l->m->replay_rejected);
			log_ratelimited_debug("lookup: replayed initiation dropped after store check");
			/* The data plane got this packet too and may move the endpoint. */
			if (l->cfg.replayed)
				l->cfg.replayed(l->ctx, ev);
			return false;
		}
	}
	replay_merge(l->replay, ev->key, ev->tai64n);
	return true;
}

/* ---- processing ---------------------------------------------------------------- */

static void process_submit(struct lookup *l, const struct qitem *it, int64_t now)
{
	const struct lookup_event *ev = &it->ev;
	struct cache_entry e;
	struct pending *p;
	bool spent;
	int ret;

	if (it->unverified && !replay_store_check(l, ev))
		return;

	p = pend_find(l, ev->key);
	if (p) {
		/*
		 * A retry while the fetch runs: install with the newest source, but
		 * time the install from the first initiation that was waiting.
		 */
		struct timespec first = p->ev.first_seen;
		bool had = p->want_install;

		metrics_inc(&l->m->cache[METRICS_CACHE_MISS]);
		p->want_install = true;
		p->ev = *ev;
		if (had)
			p->ev.first_seen = first;
		return;
	}
	if (cache_peer_get(l->cache, ev->key, &e) < 0)
		memset(&e, 0, sizeof(e));

	if (positive_fresh(l, &e, now) && !record_expired(&e.rec, now)) {
		metrics_inc(&l->m->cache[METRICS_CACHE_HIT]);
		install(l, ev, &e.rec, now);
		goto out;
	}
	if (negative_fresh(l, &e, now)) {
		metrics_inc(&l->m->cache[METRICS_CACHE_NEGATIVE]);
		goto out;
	}
	metrics_inc(&l->m->cache[METRICS_CACHE_MISS]);
	if (!window_open(l, &e, now)) {
		/* Asked within the window and got no fresh answer: the registry failed. */
		if (stale_usable(l, &e, now))
			install_stale(l, ev, &e, now);
		goto out;
	}
	/* Draining: what the cache answers still lands, but no new registry request starts. */
	if (atomic_load(&l->stopping))
		goto out;
	if (!budget_take(l, e.state == CACHE_POSITIVE, now, &spent)) {
		/* No attempt noted and nothing cached: the retry 5 s later asks again. */
		metrics_inc(&l->m->lookup_budget_dropped);
		goto out;
	}
	ret = fetch(l, ev->key, ev, spent, now);
	if (ret < 0 && stale_usable(l, &e, now))
		install_stale(l, ev, &e, now);
out:
	cache_entry_clear(&e);
}

static void process_revalidate(struct lookup *l, const uint8_t key[static WG_KEY_LEN], int64_t now)
{
	struct cache_entry e;
	bool spent;

	if (atomic_load(&l->stopping) || pend_find(l, key))
		return;
	if (cache_peer_get(l->cache, key, &e) < 0)
		memset(&e, 0, sizeof(e));
	if (e.state == CACHE_POSITIVE && record_expired(&e.rec, now)) {
		l->gone(l->ctx, key);
		goto out;
	}
	if (positive_fresh(l, &e, now))
		goto out;
	if (negative_fresh(l, &e, now)) {
		l->gone(l->ctx, key);
		goto out;
	}
	if (window_open(l, &e, now) && budget_take(l, true, now, &spent))
		fetch(l, key, NULL, spent, now);
out:
	cache_entry_clear(&e);
}

/*
 * The feed follower deleted key (a negative row written at or after since)
 * while a request for it was in flight: its answer may predate the delete
 * and must not bring the record back into the cache or the data plane.
 */
static bool feed_deleted_since(struct lookup *l, const uint8_t key[WG_KEY_LEN], int64_t since)
{
	struct cache_entry e;
	bool deleted;

	if (cache_peer_get(l->cache, key, &e) < 0)
		return false;
	deleted = e.state == CACHE_NEGATIVE && e.fetched_at >= since;
	cache_entry_clear(&e);
	return deleted;
}

/* A registry answer, from regclient_poll() on this thread. */
static void on_fetched(void *ctx, const uint8_t key[WG_KEY_LEN], enum regclient_status st,
		       const struct peer_record *rec)
{
	struct lookup *l = ctx;
	struct pending *p = pend_take(l, key);
	int64_t now = now_ms(l);
	struct cache_entry e;

	if (st == REGCLIENT_OK && p && feed_deleted_since(l, key, p->asked_at)) {
		l->gone(l->ctx, key);
		st = REGCLIENT_NOT_FOUND; /* the feed's delete is newer: nothing to install */
		goto done;
	}
	switch (st) {
	case REGCLIENT_OK:
		if (p && p->spent)
			budget_refund(l);
		/* The install first: the cache write is a commit of its own here (install() says why). */
		if (record_expired(rec, now)) {
			l->gone(l->ctx, key); /* never installed */
		} else if (p && p->want_install) {
			p->ev.owner_checked = p->owner_checked;
			install(l, &p->ev, rec, now);
		}
		cache_peer_put(l->cache, rec, now);
		break;
	case REGCLIENT_NOT_FOUND:
		cache_peer_put_negative(l->cache, key, now);
		l->gone(l->ctx, key);
		break;
	case REGCLIENT_FAILED:
		/* An owner check never installs from the cache: the claim waits for the client's retry. */
		if (!p || !p->want_install || p->owner_checked)
			break;
		if (cache_peer_get(l->cache, key, &e) < 0)
			memset(&e, 0, sizeof(e));
		if (stale_usable(l, &e, now))
			install_stale(l, &p->ev, &e, now);
		cache_entry_clear(&e);
		break;
	}
done:
	if (p && p->has_then && st != REGCLIENT_FAILED)
		conflict_next(l, &p->then_ev, now);
	free(p);
}

static void prune(struct lookup *l, int64_t now)
{
	int64_t neg = (int64_t)(l->cfg.negative_ttl > l->cfg.fetch_window ? l->cfg.negative_ttl
									   : l->cfg.fetch_window);
	long n;

	if (now < l->next_prune)
		return;
	l->next_prune = now + PRUNE_EVERY_MS;
	n = cache_prune(l->cache, now - neg * 1000, now - (int64_t)l->cfg.stale_max * 1000,
			now - (int64_t)l->cfg.replay_retention * 1000);
	if (n > 0)
		log_debug("lookup: pruned %ld cache rows", n);
}

/* ---- the stage's hooks (lookup thread) ------------------------------------------- */

static void lookup_handle(void *ctx, void *tls, void *items, size_t n)
{
	struct lookup *l = ctx;
	struct qitem *batch = items;
	int64_t now = now_ms(l);
	size_t i;

	/* One SQLite transaction per batch: a row write per initiation, not a commit. */
	cache_begin(l->cache);
	for (i = 0; i < n; ++i) {
		if (batch[i].type == Q_SUBMIT)
			process_submit(l, &batch[i], now);
		else if (batch[i].type == Q_CONFLICT)
			process_conflict(l, &batch[i], now);
		else
			process_revalidate(l, batch[i].ev.key, now);
	}
	cache_commit(l->cache);
	/* busy before processed: lookup_flush() must not see the one without the other */
	atomic_store(&l->busy, regclient_pending(l->rc) > 0);
	atomic_fetch_add(&l->processed, n);
}

static int lookup_tick(void *ctx, void *tls, bool stopping, bool *busy)
{
	struct lookup *l = ctx;

	if (atomic_load(&l->stopping) && !l->cancelled) {
		/* Draining: what is queued is still answered, requests not yet started never will be. */
		regclient_cancel_waiting(l->rc);
		l->cancelled = true;
	}
	prune(l, now_ms(l));
	*busy = regclient_pending(l->rc) > 0;
	pthread_mutex_lock(&l->mu);
	atomic_store(&l->busy, *busy);
	pthread_cond_broadcast(&l->idle_cv);
	pthread_mutex_unlock(&l->mu);
	return 1000;
}

/* The thread sleeps in libcurl's poll, so registry answers and new items both wake it. */
static void lookup_wait(void *ctx, int timeout_ms)
{
	struct lookup *l = ctx;

	regclient_poll(l->rc, timeout_ms);
}

static void lookup_wake(void *ctx)
{
	struct lookup *l = ctx;

	regclient_wakeup(l->rc);
}

static const struct stage_ops lookup_ops = {
	.handle = lookup_handle,
	.tick = lookup_tick,
	.wait = lookup_wait,
	.wake = lookup_wake,
};

/* ---- public API ------------------------------------------------------------------ */

static int load_mark(void *ctx, const uint8_t key[WG_KEY_LEN], const uint8_t ts[12])
{
	replay_load(ctx, key, ts);
	return 0;
}

struct lookup *lookup_new(const struct lookup_config *cfg, lookup_install_fn install,
			  lookup_gone_fn gone, void *ctx, const char **errmsg)
{
	struct regclient_config rcfg = { 0 };
	const char *why = "out of memory";
	struct lookup *l;
	size_t limit;
	long loaded;
	int err = ENOMEM;

	l = calloc(1, sizeof(*l));
	if (!l)
		goto fail;
	l->cfg = *cfg;
	l->cfg.cache_path = l->cfg.registry_url = l->cfg.token = l->cfg.gateway = NULL;
#define DEFAULT(f, v) do { if (!l->cfg.f) l->cfg.f = (v); } while (0)
	DEFAULT(positive_ttl, 300);
	DEFAULT(negative_ttl, 60);
	DEFAULT(fetch_window, 5);
	DEFAULT(stale_max, 86400);
	DEFAULT(timeout_ms, 2000);
	DEFAULT(max_inflight, 16);
	DEFAULT(queue_len, 4096);
	DEFAULT(replay_capacity, 65536);
	DEFAULT(replay_retention, DEFAULT_RETENTION);
	DEFAULT(backoff_max_ms, 30000);
#undef DEFAULT
	if (l->cfg.budget)
		gcra_set_rate(&l->budget, l->cfg.budget, l->cfg.budget);
	siphash_key_random(&l->hkey);
	l->install = install;
	l->gone = gone;
	l->ctx = ctx;
	l->m = cfg->metrics ? cfg->metrics : &l->own_metrics;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->idle_cv, NULL);
	if (!install || !gone) {
		why = "lookup needs install and gone callbacks";
		err = EINVAL;
		goto fail;
	}
	l->replay = replay_new(l->cfg.replay_capacity);
	if (!l->replay)
		goto fail;

	l->cache = cache_open(cfg->cache_path, &why);
	if (!l->cache) {
		err = errno;
		goto fail;
	}
	/*
	 * Replay marks come back before the first submission, so a replay right
	 * after a restart is refused synchronously. Past a bound the rest stay on
	 * disk and misses are checked there instead.
	 */
	limit = l->cfg.replay_capacity;
	loaded = cache_replay_foreach(l->cache, limit + 1, load_mark, l->replay);
	if (loaded < 0) {
		why = "cache replay table unreadable";
		err = EIO;
		goto fail;
	}
	if ((size_t)loaded <= limit)
		replay_set_loaded(l->replay);
	else
		log_warn("lookup: more than %zu replay marks on disk; raise replay_capacity", limit);

	rcfg.url = cfg->registry_url;
	rcfg.token = cfg->token;
	rcfg.gateway = cfg->gateway;
	rcfg.timeout_ms = l->cfg.timeout_ms;
	rcfg.max_inflight = l->cfg.max_inflight;
	rcfg.backoff_max_ms = l->cfg.backoff_max_ms;
	rcfg.metrics = l->m;
	if (cfg->clock_ms) {
		rcfg.clock_ms = regclient_clock;
		rcfg.clock_ctx = l;
	}
	l->rc = regclient_new(&rcfg, on_fetched, l, &why);
	if (!l->rc) {
		err = errno;
		goto fail;
	}
	{
		struct stage_config sc = {
			.name = "lookup",
			.item_size = sizeof(struct qitem),
			.capacity = l->cfg.queue_len,
			.batch = BATCH,
			.threads = 1,
			.ops = &lookup_ops,
			.ctx = l,
		};
		l->st = stage_new(&sc);
		if (!l->st) {
			err = errno;
			why = "cannot start the lookup thread";
			goto fail;
		}
	}
	return l;
fail:
	lookup_free(l);
	if (errmsg)
		*errmsg = why;
	errno = err;
	return NULL;
}

void lookup_stop(struct lookup *l)
{
	if (!l || !l->st)
		return;
	atomic_store(&l->stopping, true);
	stage_stop(l->st);
}

void lookup_free(struct lookup *l)
{
	struct pending *p;
	size_t i;

	if (!l)
		return;
	lookup_stop(l);
	stage_free(l->st);
	regclient_free(l->rc);
	for (i = 0; i < PEND_BUCKETS; ++i) {
		while ((p = l->pend[i])) {
			l->pend[i] = p->next;
			free(p);
		}
	}
	cache_close(l->cache);
	replay_free(l->replay);
	pthread_cond_destroy(&l->idle_cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/*
 * The replay guard, at the lookup stage's door: runs under the queue's lock
 * after room was found, so a dropped initiation never advances the mark
 * (its retry would look like a replay of something never acted on).
 */
static int replay_door(void *arg, void *slot)
{
	struct lookup *l = arg;
	struct qitem *it = slot;
	enum replay_verdict v = replay_check(l->replay, it->ev.key, it->ev.tai64n);

	if (v == REPLAY_OLD)
		return -EALREADY;
	it->unverified = v == REPLAY_UNVERIFIED;
	return 0;
}

int lookup_submit(struct lookup *l, const struct lookup_event *ev)
{
	struct qitem it = { .type = Q_SUBMIT, .ev = *ev };
	int ret;

	atomic_fetch_add(&l->submitted, 1);
	ret = stage_push_if(l->st, &it, 0, false, replay_door, l);
	if (ret) {
		atomic_fetch_sub(&l->submitted, 1);
		if (ret == -ESHUTDOWN)
			ret = -EAGAIN;
	}
	return ret;
}

size_t lookup_notify(void *ctx, const struct notice *n, size_t count)
{
	struct lookup *l = ctx;
	struct qitem it = { .type = Q_REVALIDATE };
	size_t i;

	for (i = 0; i < count; ++i) {
		if (n[i].type != NOTICE_REVALIDATE && n[i].type != NOTICE_CONFLICT)
			break;
		memset(&it, 0, sizeof(it));
		it.type = n[i].type == NOTICE_CONFLICT ? Q_CONFLICT : Q_REVALIDATE;
		memcpy(it.ev.key, n[i].key, WG_KEY_LEN);
		if (it.type == Q_CONFLICT) {
			memcpy(it.holder, n[i].other, WG_KEY_LEN);
			memcpy(&it.ev.src, &n[i].src, sizeof(it.ev.src));
			it.ev.source = INGEST_CAPTURE;
		}
		atomic_fetch_add(&l->submitted, 1);
		/* Notices may only fill half the queue: initiations must always find room. */
		if (stage_push_if(l->st, &it, l->cfg.queue_len / 2, false, NULL, NULL)) {
			atomic_fetch_sub(&l->submitted, 1);
			break;
		}
	}
	return i;
}

int lookup_revalidate(struct lookup *l, const uint8_t key[WG_KEY_LEN])
{
	struct notice n = { .type = NOTICE_REVALIDATE };

	memcpy(n.key, key, WG_KEY_LEN);
	return lookup_notify(l, &n, 1) == 1 ? 0 : -EAGAIN;
}

int lookup_flush(struct lookup *l, int timeout_ms)
{
	struct timespec deadline = clock_deadline_ms(CLOCK_REALTIME, (uint64_t)timeout_ms);
	uint64_t target = atomic_load(&l->submitted);
	int ret = 0;

	stage_wake(l->st);
	pthread_mutex_lock(&l->mu);
	while (ret == 0 && (atomic_load(&l->processed) < target || atomic_load(&l->busy)))
		ret = pthread_cond_timedwait(&l->idle_cv, &l->mu, &deadline);
	pthread_mutex_unlock(&l->mu);
	return ret ? -ETIMEDOUT : 0;
}
