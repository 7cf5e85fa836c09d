// SPDX-License-Identifier: MIT
#include "gateway/admit/admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "crypto/keyedtab.h"

enum {
	WAYS = 8,                /* entries per set */
	/* Tokens are kept in nanoseconds of refill time: no floats on the hot path. */
	NSEC = 1000000000,
	/* Stay engaged this long after the trigger clears, so a pulsing flood can't toggle us. */
	ENGAGE_HOLD_NS = NSEC,
};

struct entry {
	uint8_t addr[16];        /* first: the table's key; IPv4 as ::ffff:a.b.c.d, IPv6 truncated to /64 */
	uint64_t last_ns;        /* last refill time */
	uint64_t debt_ns;        /* how far the bucket is below full, in refill time */
};

struct admit {
	struct admit_config cfg;
	uint64_t cost_ns;        /* refill time of one token */
	uint64_t depth_ns;       /* refill time of a full bucket */
	struct keyedtab tab;     /* struct entry, WAYS per set; sources are attacker-chosen */
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
	int ret;

	if (!a)
		return NULL;
	apply(a, cfg);
	if (cfg && cfg->table_size) {
		n = 64;
		while (n < cfg->table_size && n < ((size_t)1 << 24))
			n <<= 1;
	}
	a->cfg.table_size = n;
	ret = keyedtab_init(&a->tab, n, WAYS, sizeof(struct entry), sizeof(((struct entry *)0)->addr));
	if (ret) {
		free(a);
		errno = -ret;
		return NULL;
	}
	return a;
}

void admit_free(struct admit *a)
{
	if (!a)
		return;
	keyedtab_uninit(&a->tab);
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

/* The entry's debt left at now_ns after refilling since its last charge. */
static uint64_t debt_at(const struct entry *e, uint64_t now_ns)
{
	uint64_t refill = now_ns > e->last_ns ? now_ns - e->last_ns : 0;

	return refill >= e->debt_ns ? 0 : e->debt_ns - refill;
}

static uint64_t debt_rank(const void *entry, void *now_ns)
{
	return debt_at(entry, *(const uint64_t *)now_ns);
}

/*
 * The source's entry: its own, a free one in its set, or the one in its set
 * with the least debt left. A taken-over entry keeps that debt: a fully
 * refilled bucket is indistinguishable from a fresh one, and one still in
 * debt must not become a full bucket because another address asked. So
 * cycling through more addresses than a set holds earns no tokens: the set
 * then behaves as WAYS shared buckets, at most WAYS * rate per second.
 */
static struct entry *entry_for(struct admit *a, const uint8_t key[16], uint64_t now_ns)
{
	size_t set = keyedtab_set(&a->tab, key);
	struct entry *e = keyedtab_find(&a->tab, set, key);
	bool evicted;

	if (e)
		return e;
	e = keyedtab_claim(&a->tab, set, key, debt_rank, &now_ns, &evicted);
	e->debt_ns = evicted ? debt_at(e, now_ns) : 0;
	e->last_ns = now_ns;
	return e;
}

bool admit_check(struct admit *a, const struct sockaddr *src, uint64_t now_ns, bool loaded)
{
	uint8_t key[16];
	struct entry *e;
	bool ok;

	update_engaged(a, now_ns, loaded);
	if (!source_key(key, src))
		return false;
	e = entry_for(a, key, now_ns);
	e->debt_ns = debt_at(e, now_ns);
	e->last_ns = now_ns;
	/* A token is there when paying for it keeps the debt within the bucket depth. */
	ok = e->debt_ns + a->cost_ns <= a->depth_ns;
	if (ok)
		e->debt_ns += a->cost_ns;
	return ok || !a->engaged;
}
