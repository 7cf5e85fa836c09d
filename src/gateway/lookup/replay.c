// SPDX-License-Identifier: MIT
/*
 * The replay guard's memory: a set-associative table of (key, highest
 * TAI64N). Fixed size so a flood of fresh keys cannot grow the daemon; when
 * a bucket is full the least recently touched entry goes and the bucket is
 * flagged, after which a miss there means "ask the store" rather than
 * "never seen". Correctness never depends on the table holding everything,
 * only the synchronous fast path does.
 *
 * Keys are chosen by initiators, so the table is keyed (crypto/keyedtab.h).
 * An attacker who still crowds one bucket only pushes its keys onto the
 * slower store-checked path.
 */
#include "gateway/lookup/replay.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyedtab.h"

enum { WAYS = 8, DEFAULT_CAPACITY = 65536 };

/* Entries loaded at start get stamps below this, newest highest; live ones above. */
static const uint64_t LOAD_BASE = (uint64_t)1 << 40;

struct entry {
	uint8_t key[WG_KEY_LEN];     /* first: the table's key */
	uint8_t ts[TAI64N_LEN];
	bool verified;   /* mark is known to be >= the persisted one */
	uint64_t touched;
};

struct replay {
	pthread_mutex_t lock;
	struct keyedtab tab;     /* struct entry, WAYS per set */
	bool *overflowed;        /* per set: dropped an entry, so a miss there is not authoritative */
	uint64_t clock;          /* LRU stamps; starts at LOAD_BASE */
	uint64_t loaded_rows;
	bool loaded;
};

bool tai64n_newer(const uint8_t ts[static TAI64N_LEN], const uint8_t prev[static TAI64N_LEN])
{
	/* TAI64N is big-endian seconds then nanoseconds: bytewise order is time order. */
	return memcmp(ts, prev, TAI64N_LEN) > 0;
}

struct replay *replay_new(size_t capacity)
{
	struct replay *r;
	int ret;

	if (capacity == 0)
		capacity = DEFAULT_CAPACITY;
	if (capacity > ((size_t)1 << 28)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	ret = keyedtab_init(&r->tab, capacity, WAYS, sizeof(struct entry), WG_KEY_LEN);
	r->overflowed = ret ? NULL : calloc(r->tab.nsets, sizeof(*r->overflowed));
	if (!r->overflowed) {
		keyedtab_uninit(&r->tab);
		free(r);
		errno = ret ? -ret : ENOMEM;
		return NULL;
	}
	r->clock = LOAD_BASE;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	keyedtab_uninit(&r->tab);
	free(r->overflowed);
	free(r);
}

static uint64_t lru_rank(const void *entry, void *ctx)
{
	return ((const struct entry *)entry)->touched;
}

/* key's entry in set: a free way, or the least recently touched one, which is dropped. */
static struct entry *claim(struct replay *r, size_t set, const uint8_t key[static WG_KEY_LEN])
{
	bool evicted;
	struct entry *e = keyedtab_claim(&r->tab, set, key, lru_rank, NULL, &evicted);

	if (evicted)
		r->overflowed[set] = true;
	return e;
}

enum replay_verdict replay_check(struct replay *r, const uint8_t key[static WG_KEY_LEN],
				 const uint8_t ts[static TAI64N_LEN])
{
	enum replay_verdict v;
	struct entry *e;
	size_t set;

	pthread_mutex_lock(&r->lock);
	set = keyedtab_set(&r->tab, key);
	e = keyedtab_find(&r->tab, set, key);
	if (e) {
		if (!tai64n_newer(ts, e->ts)) {
			v = REPLAY_OLD;
			goto out;
		}
		v = e->verified ? REPLAY_FRESH : REPLAY_UNVERIFIED;
	} else {
		bool authoritative = r->loaded && !r->overflowed[set];

		v = authoritative ? REPLAY_FRESH : REPLAY_UNVERIFIED;
		e = claim(r, set, key);
		e->verified = authoritative;
	}
	memcpy(e->ts, ts, TAI64N_LEN);
	e->touched = ++r->clock;
out:
	pthread_mutex_unlock(&r->lock);
	return v;
}

/*
 * Folds a persisted mark into memory: the key's mark becomes max(memory,
 * ts), verified. A missing key takes a way: while loading (most recent
 * first) only a free one, stamped below every live entry and below the rows
 * loaded before it; otherwise like a live check, evicting the LRU.
 */
static void fold(struct replay *r, const uint8_t key[static WG_KEY_LEN], const uint8_t ts[static TAI64N_LEN],
		 bool loading)
{
	struct entry *e;
	size_t set;

	pthread_mutex_lock(&r->lock);
	set = keyedtab_set(&r->tab, key);
	e = keyedtab_find(&r->tab, set, key);
	if (e) {
		if (tai64n_newer(ts, e->ts))
			memcpy(e->ts, ts, TAI64N_LEN);
		e->verified = true;
		goto out;
	}
	if (loading) {
		/* No rank: a full set keeps its entries (loaded earlier, so more recent). */
		e = keyedtab_claim(&r->tab, set, key, NULL, NULL, NULL);
		if (!e) {
			r->overflowed[set] = true;
			goto out;
		}
		e->touched = LOAD_BASE - ++r->loaded_rows;
	} else {
		e = claim(r, set, key);
		e->touched = ++r->clock;
	}
	memcpy(e->ts, ts, TAI64N_LEN);
	e->verified = true;
out:
	pthread_mutex_unlock(&r->lock);
}

void replay_merge(struct replay *r, const uint8_t key[static WG_KEY_LEN],
		  const uint8_t ts[static TAI64N_LEN])
{
	fold(r, key, ts, false);
}

void replay_load(struct replay *r, const uint8_t key[static WG_KEY_LEN],
		 const uint8_t ts[static TAI64N_LEN])
{
	fold(r, key, ts, true);
}

void replay_set_loaded(struct replay *r)
{
	pthread_mutex_lock(&r->lock);
	r->loaded = true;
	pthread_mutex_unlock(&r->lock);
}
