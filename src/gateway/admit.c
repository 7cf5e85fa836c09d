// SPDX-License-Identifier: MIT
#include "gateway/admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>

enum {
	PROBE_MAX = 8,
	/* Tokens are kept in nanoseconds of refill time: no floats on the hot path. */
	NSEC = 1000000000,
	/* Stay engaged this long after the trigger clears, so a pulsing flood can't toggle us. */
	ENGAGE_HOLD_NS = NSEC,
};

struct entry {
	uint8_t addr[16];        /* IPv4 as ::ffff:a.b.c.d, IPv6 truncated to /64 */
	bool used;
	uint64_t last_ns;        /* last refill time */
	uint64_t debt_ns;        /* how far the bucket is below full, in refill time */
};

struct admit {
	struct admit_config cfg;
	uint64_t cost_ns;        /* refill time of one token */
	uint64_t depth_ns;       /* refill time of a full bucket */
	struct entry *table;
	size_t mask;
	uint64_t seed;
	/* gateway-wide rate estimate over two 1 s windows */
	uint64_t win_start_ns, win_cur, win_prev;
	uint64_t engaged_until_ns;
	bool engaged;
};

static void apply(struct admit *a, const struct admit_config *cfg)
{
	a->cfg.rate = cfg && cfg->rate ? cfg->rate : 20;
	a->cfg.burst = cfg && cfg->burst ? cfg->burst : 5;
	a->cfg.threshold = cfg ? cfg->threshold : 500;
	a->cost_ns = NSEC / a->cfg.rate;
	a->depth_ns = a->cost_ns * a->cfg.burst;
}

struct admit *admit_new(const struct admit_config *cfg)
{
	struct admit *a = calloc(1, sizeof(*a));
	size_t n = 16384;

	if (!a)
		return NULL;
	apply(a, cfg);
	if (cfg && cfg->table_size) {
		n = 64;
		while (n < cfg->table_size && n < ((size_t)1 << 24))
			n <<= 1;
	}
	a->cfg.table_size = n;
	a->table = calloc(n, sizeof(*a->table));
	if (!a->table) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->mask = n - 1;
	/*
	 * Sources are attacker-chosen: a per-process seed keeps probe runs
	 * unpredictable. random() is never seeded here, so it alone would give
	 * every run the same value.
	 */
	if (getrandom(&a->seed, sizeof(a->seed), 0) != sizeof(a->seed))
		a->seed = (uint64_t)random() << 32 ^ (uint64_t)random() ^ (uint64_t)(uintptr_t)a;
	return a;
}

void admit_free(struct admit *a)
{
	if (!a)
		return;
	free(a->table);
	free(a);
}

void admit_reconfigure(struct admit *a, const struct admit_config *cfg)
{
	size_t n = a->cfg.table_size;

	apply(a, cfg);
	a->cfg.table_size = n;
}

bool admit_engaged(const struct admit *a)
{
	return a->engaged;
}

static uint64_t hash(const struct admit *a, const uint8_t addr[16])
{
	uint64_t h = a->seed, w;
	int i;

	for (i = 0; i < 16; i += 8) {
		memcpy(&w, addr + i, 8);
		h ^= w;
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h ^ (h >> 32);
}

static bool source_key(uint8_t out[16], const struct sockaddr *src)
{
	memset(out, 0, 16);
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
		return true;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)src;
		/* One /64 is one subscriber: per-address buckets would be free to dodge. */
		memcpy(out, &s6->sin6_addr, 8);
		return true;
	}
	return false;
}

static void update_engaged(struct admit *a, uint64_t now_ns, bool loaded)
{
	uint64_t elapsed, est;

	if (now_ns - a->win_start_ns >= NSEC) {
		/* A gap of more than one window means the previous one was empty. */
		a->win_prev = now_ns - a->win_start_ns >= 2 * (uint64_t)NSEC ? 0 : a->win_cur;
		a->win_cur = 0;
		a->win_start_ns = now_ns;
	}
	a->win_cur++;
	elapsed = now_ns - a->win_start_ns;
	/* Sliding-window estimate: the part of the previous window still inside the last second. */
	est = a->win_cur + a->win_prev * (NSEC - elapsed) / NSEC;
	if (loaded || a->cfg.threshold == 0 || est > a->cfg.threshold)
		a->engaged_until_ns = now_ns + ENGAGE_HOLD_NS;
	a->engaged = now_ns < a->engaged_until_ns;
}

bool admit_check(struct admit *a, const struct sockaddr *src, uint64_t now_ns, bool loaded)
{
	uint8_t key[16];
	struct entry *e = NULL, *oldest = NULL;
	uint64_t h, refill;
	size_t i;
	bool ok;

	update_engaged(a, now_ns, loaded);
	if (!source_key(key, src))
		return false;

	h = hash(a, key);
	for (i = 0; i < PROBE_MAX; ++i) {
		struct entry *c = &a->table[(h + i) & a->mask];
		if (!c->used) {
			e = c;
			break;
		}
		if (!memcmp(c->addr, key, 16)) {
			e = c;
			break;
		}
		if (!oldest || c->last_ns < oldest->last_ns)
			oldest = c;
	}
	if (!e) {
		/* Run full: recycle its oldest entry; its owner restarts with a full bucket. */
		e = oldest;
		e->used = false;
	}
	if (!e->used) {
		memcpy(e->addr, key, 16);
		e->used = true;
		e->last_ns = now_ns;
		e->debt_ns = 0;
	}

	refill = now_ns - e->last_ns;
	e->last_ns = now_ns;
	e->debt_ns = refill >= e->debt_ns ? 0 : e->debt_ns - refill;
	/* A token is there when paying for it keeps the debt within the bucket depth. */
	ok = e->debt_ns + a->cost_ns <= a->depth_ns;
	if (ok)
		e->debt_ns += a->cost_ns;
	return ok || !a->engaged;
}
