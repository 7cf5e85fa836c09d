// SPDX-License-Identifier: MIT
/*
 * The replay guard's memory: a set-associative table of (key, highest
 * TAI64N). Fixed size so a flood of fresh keys cannot grow the daemon; when
 * a bucket is full the least recently touched entry goes and the bucket is
 * flagged, after which a miss there means "ask the store" rather than
 * "never seen". Correctness never depends on the table holding everything,
 * only the synchronous fast path does.
 *
 * Bucket index: keys are chosen by initiators, so the hash is keyed with a
 * per-process random seed. An attacker who still crowds one bucket only
 * pushes its keys onto the slower store-checked path.
 */
#include "gateway/lookup/replay.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum { WAYS = 8, DEFAULT_CAPACITY = 65536 };

/* Entries loaded at start get stamps below this, newest highest; live ones above. */
static const uint64_t LOAD_BASE = (uint64_t)1 << 40;

struct entry {
	uint8_t key[WG_KEY_LEN];
	uint8_t ts[TAI64N_LEN];
	bool used;
	bool verified;   /* mark is known to be >= the persisted one */
	uint64_t touched;
};

struct bucket {
	struct entry way[WAYS];
	bool overflowed; /* dropped an entry: a miss here is not authoritative */
};

struct replay {
	pthread_mutex_t lock;
	struct bucket *buckets;
	size_t mask;
	uint64_t clock;          /* LRU stamps; starts at LOAD_BASE */
	uint64_t loaded_rows;
	uint64_t seed[2];
	bool loaded;
};

bool tai64n_newer(const uint8_t ts[static TAI64N_LEN], const uint8_t prev[static TAI64N_LEN])
{
	/* TAI64N is big-endian seconds then nanoseconds: bytewise order is time order. */
	return memcmp(ts, prev, TAI64N_LEN) > 0;
}

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static size_t bucket_of(const struct replay *r, const uint8_t key[static WG_KEY_LEN])
{
	uint64_t h = r->seed[0], w;
	size_t i;

	for (i = 0; i < WG_KEY_LEN; i += 8) {
		memcpy(&w, key + i, 8);
		h = rotl((h ^ w ^ r->seed[1]) * 0x9e3779b97f4a7c15ULL, 29);
	}
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	return (size_t)h & r->mask;
}

struct replay *replay_new(size_t capacity)
{
	struct replay *r;
	size_t n = 1;

	if (capacity == 0)
		capacity = DEFAULT_CAPACITY;
	if (capacity > ((size_t)1 << 28)) {
		errno = EINVAL;
		return NULL;
	}
	while (n * WAYS < capacity)
		n <<= 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->buckets = calloc(n, sizeof(*r->buckets));
	if (!r->buckets) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->mask = n - 1;
	r->clock = LOAD_BASE;
	if (getrandom(r->seed, sizeof(r->seed), 0) != sizeof(r->seed)) {
		/* Only bucket placement depends on it; a fixed seed costs speed, not safety. */
		r->seed[0] = 0x243f6a8885a308d3ULL;
		r->seed[1] = 0x13198a2e03707344ULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->buckets);
	free(r);
}

static struct entry *find(struct bucket *b, const uint8_t key[static WG_KEY_LEN])
{
	size_t i;

	for (i = 0; i < WAYS; ++i)
		if (b->way[i].used && !memcmp(b->way[i].key, key, WG_KEY_LEN))
			return &b->way[i];
	return NULL;
}

/* A free way, or the least recently touched one, which is dropped. */
static struct entry *claim(struct bucket *b)
{
	struct entry *victim = &b->way[0];
	size_t i;

	for (i = 0; i < WAYS; ++i) {
		if (!b->way[i].used)
			return &b->way[i];
		if (b->way[i].touched < victim->touched)
			victim = &b->way[i];
	}
	b->overflowed = true;
	return victim;
}

enum replay_verdict replay_check(struct replay *r, const uint8_t key[static WG_KEY_LEN],
				 const uint8_t ts[static TAI64N_LEN])
{
	enum replay_verdict v;
	struct bucket *b;
	struct entry *e;

	pthread_mutex_lock(&r->lock);
	b = &r->buckets[bucket_of(r, key)];
	e = find(b, key);
	if (e) {
		if (!tai64n_newer(ts, e->ts)) {
			v = REPLAY_OLD;
			goto out;
		}
		v = e->verified ? REPLAY_FRESH : REPLAY_UNVERIFIED;
	} else {
		bool authoritative = r->loaded && !b->overflowed;

		v = authoritative ? REPLAY_FRESH : REPLAY_UNVERIFIED;
		e = claim(b);
		memcpy(e->key, key, WG_KEY_LEN);
		e->used = true;
		e->verified = authoritative;
	}
	memcpy(e->ts, ts, TAI64N_LEN);
	e->touched = ++r->clock;
out:
	pthread_mutex_unlock(&r->lock);
	return v;
}

void replay_merge(struct replay *r, const uint8_t key[static WG_KEY_LEN],
		  const uint8_t ts[static TAI64N_LEN])
{
	struct bucket *b;
	struct entry *e;

	pthread_mutex_lock(&r->lock);
	b = &r->buckets[bucket_of(r, key)];
	e = find(b, key);
	if (!e) {
		e = claim(b);
		memcpy(e->key, key, WG_KEY_LEN);
		memcpy(e->ts, ts, TAI64N_LEN);
		e->used = true;
		e->touched = ++r->clock;
	} else if (tai64n_newer(ts, e->ts)) {
		memcpy(e->ts, ts, TAI64N_LEN);
	}
	e->verified = true;
	pthread_mutex_unlock(&r->lock);
}

void replay_load(struct replay *r, const uint8_t key[static WG_KEY_LEN],
		 const uint8_t ts[static TAI64N_LEN])
{
	struct bucket *b;
	struct entry *e;
	size_t i;

	pthread_mutex_lock(&r->lock);
	b = &r->buckets[bucket_of(r, key)];
	e = find(b, key);
	if (e) {
		if (tai64n_newer(ts, e->ts))
			memcpy(e->ts, ts, TAI64N_LEN);
		e->verified = true;
		goto out;
	}
	for (i = 0; i < WAYS && b->way[i].used; ++i)
		;
	if (i == WAYS) {
		b->overflowed = true;
		goto out;
	}
	e = &b->way[i];
	memcpy(e->key, key, WG_KEY_LEN);
	memcpy(e->ts, ts, TAI64N_LEN);
	e->used = true;
	e->verified = true;
	/* Loaded most recent first: each row looks less recently used than the last. */
	e->touched = LOAD_BASE - ++r->loaded_rows;
out:
	pthread_mutex_unlock(&r->lock);
}

void replay_set_loaded(struct replay *r)
{
	pthread_mutex_lock(&r->lock);
	r->loaded = true;
	pthread_mutex_unlock(&r->lock);
}
