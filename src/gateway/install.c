// SPDX-License-Identifier: MIT
#include "gateway/install.h"
#include "gateway/install-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "gateway/evict.h"
#include "gateway/peertab.h"

uint64_t installer_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t revalidate_interval_ms(unsigned int every)
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

void installer_job_free(struct job *j)
{
	if (!j)
		return;
	free(j->allowed_ips);
	OPENSSL_cleanse(j->psk, sizeof(j->psk));
	free(j);
}

int installer_enqueue(struct installer *ins, struct job *j, bool priority)
{
	int ret = 0;

	pthread_mutex_lock(&ins->mu);
	if (ins->stopping) {
		ret = -ESHUTDOWN;
	} else if (ins->queued >= QUEUE_MAX && j->type != JOB_STATUS) {
		ret = -EAGAIN;
	} else if (j->type == JOB_GUARD && (ret = installer_guard_may_queue(ins, j->key))) {
		/* one queued per key is enough: it restores the trusted endpoint */
	} else {
		if (priority) {
			j->next = ins->head;
			ins->head = j;
			if (!ins->tail)
				ins->tail = j;
		} else {
			j->next = NULL;
			if (ins->tail)
				ins->tail->next = j;
			else
				ins->head = j;
			ins->tail = j;
		}
		ins->queued++;
		pthread_cond_signal(&ins->cv);
	}
	pthread_mutex_unlock(&ins->mu);
	return ret;
}

int installer_submit(struct installer *ins, const struct lookup_event *ev, const struct peer_record *rec)
{
	struct job *j = calloc(1, sizeof(*j));
	size_t i;
	int ret;

	if (!j)
		return -ENOMEM;
	j->type = JOB_INSTALL;
	memcpy(j->key, rec->public_key, WG_KEY_LEN);
	/* The endpoint is the initiation's source: the one fact an attacker can't
	 * choose for someone else's key, since ev passed noise + replay guard. */
	if (ev->src.sa.sa_family == AF_INET)
		j->endpoint.addr4 = ev->src.sin;
	else if (ev->src.sa.sa_family == AF_INET6)
		j->endpoint.addr6 = ev->src.sin6;
	j->first_seen = ev->first_seen;
	if (rec->n_allowed_ips) {
		j->allowed_ips = calloc(rec->n_allowed_ips, sizeof(*j->allowed_ips));
		if (!j->allowed_ips) {
			free(j);
			return -ENOMEM;
		}
	}
	for (i = 0; i < rec->n_allowed_ips; ++i) {
		const struct cidr *c = &rec->allowed_ips[i];
		struct dp_allowedip *a = &j->allowed_ips[j->n_allowed_ips];
		a->family = c->family;
		a->cidr = c->prefix;
		if (c->family == AF_INET)
			memcpy(&a->ip4, c->addr, 4);
		else if (c->family == AF_INET6)
			memcpy(&a->ip6, c->addr, 16);
		else
			continue;
		j->n_allowed_ips++;
	}
	j->has_psk = rec->has_preshared_key;
	if (j->has_psk)
		memcpy(j->psk, rec->preshared_key, WG_KEY_LEN);
	j->keepalive = rec->persistent_keepalive;
	ret = installer_enqueue(ins, j, false);
	if (ret)
		installer_job_free(j);
	return ret;
}

int installer_forget(struct installer *ins, const uint8_t key[WG_KEY_LEN])
{
	struct job *j = calloc(1, sizeof(*j));
	int ret;

	if (!j)
		return -ENOMEM;
	j->type = JOB_FORGET;
	memcpy(j->key, key, WG_KEY_LEN);
	ret = installer_enqueue(ins, j, false);
	if (ret)
		installer_job_free(j);
	return ret;
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
	struct installer *ins = ctx;

	installer_forget(ins, key);
}

void installer_set_lookup(struct installer *ins, struct lookup *l)
{
	pthread_mutex_lock(&ins->lk_mu);
	ins->lookup = l;
	pthread_mutex_unlock(&ins->lk_mu);
}

void installer_reconfigure(struct installer *ins, const struct installer_config *cfg)
{
	pthread_mutex_lock(&ins->mu);
	ins->cfg.idle_timeout = cfg->idle_timeout;
	ins->cfg.grace = cfg->grace;
	ins->cfg.revalidate = cfg->revalidate;
	ins->cfg.no_initiate = cfg->no_initiate;
	ins->cfg.initiate_delay_ms = cfg->initiate_delay_ms;
	/* Sweep soon under the new timeout rather than at the old interval's end. */
	ins->next_sweep_ms = installer_mono_ms() + evict_interval_ms(cfg->idle_timeout);
	ins->next_reval_ms = installer_mono_ms() + revalidate_interval_ms(cfg->revalidate);
	pthread_cond_signal(&ins->cv);
	pthread_mutex_unlock(&ins->mu);
}

static void update_gauges(struct installer *ins)
{
	metrics_gauge_set(&ins->m->peers_installed, (int64_t)peertab_count(ins->tab));
}

/* Applies peers one message at a time; used when a batch fails so one bad peer can't sink the rest. */
static int set_each(struct installer *ins, const struct dp_peer *peers, size_t n, bool *ok)
{
	size_t i;
	int ret, last = 0;

	for (i = 0; i < n; ++i) {
		ret = dataplane_set_peers(ins->dp, &peers[i], 1);
		ok[i] = ret == 0;
		if (ret)
			last = ret;
	}
	return last;
}

/*
 * Crossed handshakes: the data plane reads the client's initiation from its
 * own socket at the moment we capture it, and normally drops it at once (no
 * peer yet). If it is slow and consumes it after our install, it answers the
 * client while we make it initiate too; each side's second handshake then
 * overwrites the state the other side's answer refers to, and both wait for
 * the client's retry 5 s later (seen in bench/coldconnect as rare 5 s
 * outliers). Creating the peer no sooner than a couple of milliseconds after
 * the capture gives the data plane time to be done with that initiation.
 * Blocking the installer that long is fine: it is rarely reached on a cold
 * path (the registry fetch takes about that long) and bounded by 1 s.
 */
static void settle(const struct timespec *first_seen, unsigned int delay_ms)
{
	struct timespec until = *first_seen;

	if (!delay_ms)
		return;
	until.tv_sec += delay_ms / 1000;
	until.tv_nsec += (long)(delay_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

/*
 * Installs a batch. Role inversion: a peer whose persistent keepalive goes
 * from 0 to non-zero while the interface is up makes WireGuard (kernel and
 * wireguard-go alike) send a keepalive at once, and with no session that
 * means a handshake initiation to the endpoint we just set; the registry's
 * keepalive is put back in the same call (dataplane_peer_initiate()). Peers
 * that need no initiation go to the data plane as one batch.
 */
static void do_installs(struct installer *ins, struct job **jobs, size_t n)
{
	struct dp_peer set[BATCH_MAX], plain[BATCH_MAX];
	bool initiate[BATCH_MAX], ok[BATCH_MAX];
	size_t idx[BATCH_MAX], nplain = 0, i;
	struct timespec now_ts;
	uint64_t now_ms = installer_mono_ms();
	int64_t now = time(NULL);
	unsigned int delay_ms;
	bool no_initiate;
	int ret;

	pthread_mutex_lock(&ins->mu);
	no_initiate = ins->cfg.no_initiate;
	delay_ms = ins->cfg.initiate_delay_ms;
	pthread_mutex_unlock(&ins->mu);

	memset(set, 0, sizeof(set[0]) * n);
	for (i = 0; i < n; ++i) {
		struct job *j = jobs[i];
		struct peer_state *p = peertab_find(ins->tab, j->key);
		bool live = p && p->last_handshake && now - p->last_handshake < SESSION_LIVE_SEC;

		/*
		 * A live session answers the client itself; only a cold peer needs us
		 * to initiate. Client retries are 5 s apart, so initiating again for
		 * each one costs at most one extra handshake per retry.
		 */
		initiate[i] = !no_initiate && !live;
		memcpy(set[i].public_key, j->key, WG_KEY_LEN);
		set[i].flags = DP_PEER_REPLACE_ALLOWEDIPS | DP_PEER_HAS_ENDPOINT | DP_PEER_HAS_PRESHARED_KEY |
			       DP_PEER_HAS_KEEPALIVE;
		set[i].endpoint = j->endpoint;
		if (j->has_psk)
			memcpy(set[i].preshared_key, j->psk, WG_KEY_LEN);
		set[i].allowed_ips = j->allowed_ips;
		set[i].n_allowed_ips = j->n_allowed_ips;
		set[i].persistent_keepalive = j->keepalive;
		ok[i] = false;
		if (initiate[i]) {
			settle(&j->first_seen, delay_ms);
			ret = dataplane_peer_initiate(ins->dp, &set[i]);
			ok[i] = ret == 0;
			if (ret)
				log_warn("install with initiation failed: %s", strerror(-ret));
		} else {
			plain[nplain] = set[i];
			idx[nplain++] = i;
		}
	}
	if (nplain) {
		bool pok[BATCH_MAX];
		ret = dataplane_set_peers(ins->dp, plain, nplain);
		if (ret) {
			log_warn("batch install of %zu peers failed (%s); retrying one by one", nplain,
				 strerror(-ret));
			set_each(ins, plain, nplain, pok);
		} else {
			for (i = 0; i < nplain; ++i)
				pok[i] = true;
		}
		for (i = 0; i < nplain; ++i)
			ok[idx[i]] = pok[i];
	}
	explicit_bzero(set, sizeof(set[0]) * n);
	explicit_bzero(plain, sizeof(plain[0]) * nplain);

	clock_gettime(CLOCK_MONOTONIC, &now_ts);
	for (i = 0; i < n; ++i) {
		struct job *j = jobs[i];
		char k[WG_KEY_B64_LEN + 1], ep[INET6_ADDRSTRLEN + 10];
		double secs = (double)(now_ts.tv_sec - j->first_seen.tv_sec) +
			      (double)(now_ts.tv_nsec - j->first_seen.tv_nsec) / 1e9;
		struct peer_state *p;
		bool created;

		installer_key_str(k, j->key);
		if (!ok[i]) {
			metrics_inc(&ins->m->install_errors);
			log_err("install of %s failed", k);
			continue;
		}
		p = peertab_get(ins->tab, j->key, &created);
		if (p) {
			if (created)
				p->revalidated_mono_ms = now_ms;
			p->installed_at = now;
			p->installed_mono_ms = now_ms;
			p->adopted = false;
			p->endpoint = j->endpoint;
			p->trusted = j->endpoint;
			p->sweep_mark = ins->gen;
			if (initiate[i])
				p->initiated_mono_ms = now_ms;
		}
		metrics_inc(&ins->m->installs);
		if (initiate[i])
			metrics_inc(&ins->m->initiations_sent);
		metrics_observe_install(ins->m, secs);
		installer_endpoint_str(ep, sizeof(ep), &j->endpoint);
		log_info("%s peer %s endpoint %s in %.1f ms%s", created ? "installed" : "updated", k, ep,
			 secs * 1e3, initiate[i] ? ", initiating" : "");
	}
	update_gauges(ins);
}

static void do_forget(struct installer *ins, struct job *j)
{
	char k[WG_KEY_B64_LEN + 1];
	int ret;

	if (!peertab_find(ins->tab, j->key))
		return;
	installer_key_str(k, j->key);
	ret = dataplane_remove_peers(ins->dp, (const uint8_t (*)[WG_KEY_LEN])j->key, 1);
	if (ret) {
		log_warn("removing %s (gone from the registry) failed: %s", k, strerror(-ret));
		return;
	}
	peertab_del(ins->tab, j->key);
	metrics_inc(&ins->m->evictions);
	metrics_inc(&ins->m->registry_gone);
	update_gauges(ins);
	log_info("removed peer %s: deleted or expired in the registry", k);
}

/* Removes the next few victims of the current sweep plan. */
static void remove_batch(struct installer *ins)
{
	struct evict_plan *pl = &ins->plan;
	uint8_t keys[REMOVE_BATCH][WG_KEY_LEN];
	size_t n = 0, stale_gone = 0, i;
	int64_t now = time(NULL);
	struct evict_policy pol;
	int ret;

	pthread_mutex_lock(&ins->mu);
	pol.idle_timeout = ins->cfg.idle_timeout;
	pol.grace = ins->cfg.grace;
	pthread_mutex_unlock(&ins->mu);

	while (pl->next < pl->n_victims && n < REMOVE_BATCH) {
		const uint8_t *k = pl->victims[pl->next++];
		struct peer_state *p = peertab_find(ins->tab, k);
		/*
		 * Re-installed since the plan was made: spare it. Same millisecond
		 * counts (>=): installs run right after the sweep on this thread.
		 */
		if (!p || p->installed_mono_ms >= pl->planned_mono_ms)
			continue;
		memcpy(keys[n++], k, WG_KEY_LEN);
	}
	if (!n)
		goto out;
	ret = dataplane_remove_peers(ins->dp, (const uint8_t (*)[WG_KEY_LEN])keys, n);
	if (ret) {
		log_warn("evicting %zu peers failed: %s", n, strerror(-ret));
		goto out;
	}
	for (i = 0; i < n; ++i) {
		struct peer_state *p = peertab_find(ins->tab, keys[i]);
		char k[WG_KEY_B64_LEN + 1];
		int64_t idle = -1;

		if (p) {
			if (evict_is_stale(&pol, p, now))
				stale_gone++;
			if (p->last_handshake)
				idle = now - p->last_handshake;
		}
		installer_key_str(k, keys[i]);
		if (idle >= 0)
			log_info("evicted peer %s: idle %llds", k, (long long)idle);
		else
			log_info("evicted peer %s: no handshake since install", k);
		peertab_del(ins->tab, keys[i]);
	}
	metrics_add(&ins->m->evictions, n);
	if (stale_gone > pl->stale)
		stale_gone = pl->stale;
	pl->stale -= stale_gone;
	metrics_gauge_set(&ins->m->peers_stale, (int64_t)pl->stale);
	update_gauges(ins);
out:
	if (pl->next >= pl->n_victims) {
		size_t stale = pl->stale;
		evict_plan_clear(pl);
		pl->stale = stale;
	}
}

struct reval_ctx {
	struct installer *ins;
	uint64_t now_ms, every_ms;
	size_t budget;
	struct lookup *l;
};

static bool revalidate_one(struct peer_state *p, void *arg)
{
	struct reval_ctx *c = arg;

	if (!c->budget)
		return false;
	if (c->now_ms - p->revalidated_mono_ms < c->every_ms)
		return true;
	if (lookup_revalidate(c->l, p->key) == 0) {
		p->revalidated_mono_ms = c->now_ms;
		c->budget--;
	}
	return true;
}

/* Asks the registry again about installed peers not checked for --revalidate seconds. */
static void revalidate(struct installer *ins)
{
	unsigned int every;

	pthread_mutex_lock(&ins->mu);
	every = ins->cfg.revalidate;
	pthread_mutex_unlock(&ins->mu);
	pthread_mutex_lock(&ins->lk_mu);
	if (ins->lookup) {
		struct reval_ctx rc = {
			.ins = ins, .now_ms = installer_mono_ms(), .every_ms = (uint64_t)every * 1000,
			.budget = REVALIDATE_PER_SWEEP, .l = ins->lookup,
		};
		peertab_each(ins->tab, revalidate_one, &rc);
	}
	pthread_mutex_unlock(&ins->lk_mu);
}

static void sweep(struct installer *ins)
{
	struct dp_peer *peers = NULL;
	struct evict_policy pol;
	size_t n = 0;
	int ret;

	pthread_mutex_lock(&ins->mu);
	pol.idle_timeout = ins->cfg.idle_timeout;
	pol.grace = ins->cfg.grace;
	pthread_mutex_unlock(&ins->mu);

	ret = dataplane_list_peers(ins->dp, &peers, &n);
	if (ret) {
		log_warn("sweep: listing peers failed: %s", strerror(-ret));
		return;
	}
	ret = evict_sweep(ins->tab, &pol, peers, n, time(NULL), installer_mono_ms(), ++ins->gen, &ins->plan);
	dataplane_peers_free(peers, n);
	if (ret) {
		log_warn("sweep: %s", strerror(-ret));
		evict_plan_clear(&ins->plan);
		return;
	}
	metrics_gauge_set(&ins->m->peers_stale, (int64_t)ins->plan.stale);
	update_gauges(ins);
	if (ins->plan.adopted || ins->plan.vanished || ins->plan.n_victims)
		log_info("sweep: %zu peers, %zu to evict, %zu adopted, %zu removed by others",
			 n, ins->plan.n_victims, ins->plan.adopted, ins->plan.vanished);
}

static void *installer_main(void *arg)
{
	struct installer *ins = arg;
	struct job *batch[BATCH_MAX];

	pthread_mutex_lock(&ins->mu);
	for (;;) {
		struct job *j = ins->head;
		uint64_t now = installer_mono_ms();
		size_t n = 0, i;

		if (j && j->type == JOB_STATUS) {
			ins->head = j->next;
			if (!ins->head)
				ins->tail = NULL;
			ins->queued--;
			pthread_mutex_unlock(&ins->mu);
			installer_status_serve(ins, j->req);
			free(j);
			pthread_mutex_lock(&ins->mu);
			continue;
		}
		if (j) {
			/* Take consecutive installs as one batch; a forget is handled alone, in order. */
			while (ins->head && n < BATCH_MAX && ins->head->type == JOB_INSTALL) {
				batch[n++] = ins->head;
				ins->head = ins->head->next;
				ins->queued--;
			}
			if (!n) {
				batch[n++] = ins->head;
				ins->head = ins->head->next;
				ins->queued--;
				if (batch[0]->type == JOB_GUARD)
					installer_guard_dequeued(ins, batch[0]->key);
			}
			if (!ins->head)
				ins->tail = NULL;
			pthread_mutex_unlock(&ins->mu);
			if (batch[0]->type == JOB_INSTALL)
				do_installs(ins, batch, n);
			else if (batch[0]->type == JOB_GUARD)
				installer_guard_job(ins, batch[0]);
			else
				do_forget(ins, batch[0]);
			for (i = 0; i < n; ++i)
				installer_job_free(batch[i]);
			pthread_mutex_lock(&ins->mu);
			continue;
		}
		if (ins->stopping)
			break;
		if (ins->plan.next < ins->plan.n_victims) {
			pthread_mutex_unlock(&ins->mu);
			remove_batch(ins);
			pthread_mutex_lock(&ins->mu);
			continue;
		}
		if (ins->n_guards && installer_guards_next(ins) <= now) {
			pthread_mutex_unlock(&ins->mu);
			installer_guards_run(ins, now);
			pthread_mutex_lock(&ins->mu);
			continue;
		}
		if (now >= ins->next_reval_ms) {
			ins->next_reval_ms = now + revalidate_interval_ms(ins->cfg.revalidate);
			pthread_mutex_unlock(&ins->mu);
			revalidate(ins);
			pthread_mutex_lock(&ins->mu);
			continue;
		}
		if (now >= ins->next_sweep_ms) {
			ins->next_sweep_ms = now + evict_interval_ms(ins->cfg.idle_timeout);
			pthread_mutex_unlock(&ins->mu);
			sweep(ins);
			pthread_mutex_lock(&ins->mu);
			continue;
		}
		{
			struct timespec dl;
			uint64_t until = ins->next_sweep_ms, g = installer_guards_next(ins);
			if (g < until)
				until = g;
			if (ins->next_reval_ms < until)
				until = ins->next_reval_ms;
			uint64_t wait = until - now;
			clock_gettime(CLOCK_MONOTONIC, &dl);
			dl.tv_sec += (time_t)(wait / 1000);
			dl.tv_nsec += (long)(wait % 1000) * 1000000;
			if (dl.tv_nsec >= 1000000000) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&ins->cv, &ins->mu, &dl);
		}
	}
	pthread_mutex_unlock(&ins->mu);
	return NULL;
}

struct installer *installer_new(struct dataplane *dp, const struct installer_config *cfg)
{
	struct installer *ins = calloc(1, sizeof(*ins));
	pthread_condattr_t ca;
	int ret;

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
	snprintf(ins->ifname, sizeof(ins->ifname), "%s", cfg->ifname ? cfg->ifname : "");
	pthread_mutex_init(&ins->mu, NULL);
	pthread_mutex_init(&ins->lk_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ins->cv, &ca);
	pthread_condattr_destroy(&ca);

	/* Adopt what is installed now: the first sweep runs before the thread starts. */
	sweep(ins);
	ins->next_sweep_ms = installer_mono_ms() + evict_interval_ms(cfg->idle_timeout);
	ins->next_reval_ms = installer_mono_ms() + revalidate_interval_ms(cfg->revalidate);

	ret = pthread_create(&ins->thread, NULL, installer_main, ins);
	if (ret) {
		evict_plan_clear(&ins->plan);
		peertab_free(ins->tab);
		pthread_mutex_destroy(&ins->mu);
		pthread_mutex_destroy(&ins->lk_mu);
		pthread_cond_destroy(&ins->cv);
		free(ins);
		errno = ret;
		return NULL;
	}
	return ins;
}

void installer_free(struct installer *ins)
{
	struct job *j, *n;

	if (!ins)
		return;
	pthread_mutex_lock(&ins->mu);
	ins->stopping = true;
	pthread_cond_signal(&ins->cv);
	pthread_mutex_unlock(&ins->mu);
	pthread_join(ins->thread, NULL);
	for (j = ins->head; j; j = n) {
		n = j->next;
		if (j->type == JOB_STATUS)
			installer_status_finish(j->req, -ESHUTDOWN, NULL);
		installer_job_free(j);
	}
	evict_plan_clear(&ins->plan);
	peertab_free(ins->tab);
	dataplane_free(ins->dp);
	pthread_mutex_destroy(&ins->mu);
	pthread_mutex_destroy(&ins->lk_mu);
	pthread_cond_destroy(&ins->cv);
	free(ins);
}
