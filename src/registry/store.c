// SPDX-License-Identifier: MIT
/*
 * Backend-independent store logic: a fixed pool of backend connections, and
 * the create path (identical-record check, overlap check, pool allocation),
 * written once so that SQLite and PostgreSQL cannot drift apart.
 *
 * Writers take s->write_lock and then the backend's begin(), which for
 * SQLite is BEGIN IMMEDIATE and for PostgreSQL an advisory transaction lock:
 * the in-process mutex keeps our own writers from spinning in SQLite's busy
 * handler, the database lock keeps several processes sharing one database
 * correct. Allocation reads and then writes under that lock, so two creates
 * can never pick the same address.
 */
#include "registry/store.h"
#include "registry/store_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

enum { SCAN_BATCH = 256 };

bool store_expired(int64_t expires_at, int64_t now)
{
	return expires_at && expires_at <= now;
}

/* A connection for this request: any idle one, else wait for ours. */
struct slot *store_slot_acquire(struct store *s)
{
	unsigned int start = atomic_fetch_add(&s->next, 1), i;
	struct slot *sl;

	for (i = 0; i < s->n; ++i) {
		sl = &s->slots[(start + i) % s->n];
		if (!pthread_mutex_trylock(&sl->mu))
			goto got;
	}
	atomic_fetch_add_explicit(&s->waits, 1, memory_order_relaxed);
	sl = &s->slots[start % s->n];
	pthread_mutex_lock(&sl->mu);
got:
	atomic_fetch_add_explicit(&s->in_use, 1, memory_order_relaxed);
	return sl;
}

/* Gives the connection back; ret is the operation's result (-EIO counts as a store error). */
void store_slot_release(struct store *s, struct slot *sl, long ret)
{
	if (ret == -EIO)
		atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->in_use, 1, memory_order_relaxed);
	pthread_mutex_unlock(&sl->mu);
}

void store_stats(const struct store *s, struct store_stats *out)
{
	struct store *m = (struct store *)s; /* atomics are read, never written, here */

	out->connections = s->n;
	out->in_use = atomic_load_explicit(&m->in_use, memory_order_relaxed);
	out->waits = atomic_load_explicit(&m->waits, memory_order_relaxed);
	out->errors = atomic_load_explicit(&m->errors, memory_order_relaxed);
}

struct store *store_open(const char *db, unsigned int conns)
{
	struct store *s = calloc(1, sizeof(*s));
	unsigned int i;
	int err = ENOMEM;

	if (!s)
		goto fail;
	if (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13))
		s->be = &store_pg_backend;
	else
		s->be = &store_sqlite_backend;
	pthread_mutex_init(&s->write_lock, NULL);
	s->db = strdup(db);
	if (!s->db)
		goto fail;
	s->slots = calloc(conns ? conns : 1, sizeof(*s->slots));
	if (!s->slots)
		goto fail;
	for (i = 0; i < (conns ? conns : 1); ++i) {
		pthread_mutex_init(&s->slots[i].mu, NULL);
		s->slots[i].c = s->be->connect(db);
		if (!s->slots[i].c) {
			err = errno ? errno : EIO;
			goto fail;
		}
		s->n++;
	}
	return s;
fail:
	store_free(s);
	errno = err;
	return NULL;
}

void store_free(struct store *s)
{
	unsigned int i;

	if (!s)
		return;
	if (s->watch)
		s->be->disconnect(s->watch);
	free((char *)s->db);
	for (i = 0; i < s->n; ++i) {
		s->be->disconnect(s->slots[i].c);
		pthread_mutex_destroy(&s->slots[i].mu);
	}
	free(s->slots);
	pthread_mutex_destroy(&s->write_lock);
	free(s);
}

void store_set_notify(struct store *s, void (*fn)(void *arg), void *arg)
{
	s->notify = fn;
	s->notify_arg = arg;
}

static void notify(struct store *s)
{
	if (s->notify)
		s->notify(s->notify_arg);
}

int store_watch(struct store *s, int timeout_ms)
{
	if (!s->watch) {
		s->watch = s->be->connect(s->db);
		if (!s->watch)
			return -EIO;
	}
	return s->be->watch(s->watch, &s->head, timeout_ms);
}

const char *store_backend_name(const struct store *s)
{
	return s->be->name;
}

/*
 * 0 when no live peer holds any address of ip; -EADDRINUSE (owner in
 * conflict) otherwise. Expired owners in the way are removed.
 */
int store_check_free(const struct store_backend *be, struct store_conn *c, const struct cidr *ip, int64_t now,
		      uint8_t conflict[WG_KEY_LEN])
{
	size_t n = pool_addr_len(ip->family);
	uint8_t lo[16], hi[16], last[WG_KEY_LEN];
	struct store_range r;
	bool removed = false;
	int ret;

	pool_cidr_bounds(ip, lo, hi);
	/*
	 * Each pass removes one expired peer, so however many lie under a wide
	 * prefix the walk ends; only a range that survived its owner's removal
	 * (a row with no peer) could come back, and that is a broken database.
	 */
	for (;;) {
		ret = store_db_floor(be, c, ip->family, hi, &r);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		if (memcmp(r.hi, lo, n) < 0)
			return 0;
		if (!store_expired(r.expires_at, now)) {
			if (conflict)
				memcpy(conflict, r.key, WG_KEY_LEN);
			return -EADDRINUSE;
		}
		if (removed && !memcmp(last, r.key, WG_KEY_LEN)) {
			log_err("store: a range of a removed peer is still there");
			return -EIO;
		}
		ret = store_db_remove(be, c, r.key, now);
		if (ret && ret != -ENOENT)
			return ret;
		memcpy(last, r.key, WG_KEY_LEN);
		removed = true;
	}
}

/*
 * cur = hi + 1, or, past the pool's end, its first address (once). Returns 0,
 * 1 when it wrapped, or -ENOSPC when the scan is back where it started.
 */
static int step_past(uint8_t cur[static 16], const uint8_t hi[static 16], size_t n, const uint8_t first[static 16],
		     const uint8_t last[static 16], const uint8_t start[static 16], bool *wrapped)
{
	int ret = 0;

	memcpy(cur, hi, 16);
	if (memcmp(cur, last, n) >= 0 || !pool_addr_inc(cur, n)) {
		if (*wrapped)
			return -ENOSPC;
		*wrapped = true;
		memcpy(cur, first, 16);
		ret = 1;
	}
	if (*wrapped && memcmp(cur, start, n) >= 0)
		return -ENOSPC;
	return ret;
}

/*
 * The next free host address of one pool family, starting at the stored
 * cursor and wrapping once. While the pool has not wrapped the cursor is
 * free and this is one probe. When it is taken, the ranges that follow are
 * read SCAN_BATCH at a time and walked in memory to the first hole, so even
 * a densely allocated pool costs one query per SCAN_BATCH peers.
 */
static int allocate(const struct store_backend *be, struct store_conn *c, const struct pool *pool, int fam,
		    int64_t now, struct cidr *out)
{
	static const char *const cursor_name[POOL_FAMILIES] = { "next4", "next6" };
	uint16_t family = pool->net[fam].family;
	size_t n = pool_addr_len(family);
	uint8_t first[16], last[16], cur[16], start[16];
	struct store_range r, *batch = NULL;
	bool wrapped = false;
	long got, i;
	int ret;

	pool_bounds(pool, fam, first, last);
	ret = store_db_meta_get(be, c, cursor_name[fam], cur);
	if (ret == -ENOENT || (!ret && (memcmp(cur, first, n) < 0 || memcmp(cur, last, n) > 0)))
		memcpy(cur, first, 16);
	else if (ret)
		return ret;
	memcpy(start, cur, 16);
	for (;;) {
		ret = store_db_floor(be, c, family, cur, &r);
		if (ret == -ENOENT || (!ret && memcmp(r.hi, cur, n) < 0))
			break;
		if (ret)
			goto out;
		if (store_expired(r.expires_at, now)) {
			ret = store_db_remove(be, c, r.key, now);
			if (ret == -ENOENT) {
				/* a range without its peer would come back from floor() forever */
				log_err("store: an allocated range has no peer; the database is damaged");
				ret = -EIO;
			}
			if (ret)
				goto out;
			continue;
		}
		ret = step_past(cur, r.hi, n, first, last, start, &wrapped);
		if (ret < 0)
			goto out;
		if (ret)
			continue;
		if (!batch && !(batch = calloc(SCAN_BATCH, sizeof(*batch)))) {
			ret = -ENOMEM;
			goto out;
		}
		/* Ranges starting exactly at cur are taken; the first gap ends the walk. */
		for (ret = 0; !ret;) {
			got = store_db_ranges_from(be, c, family, cur, batch, SCAN_BATCH);
			if (got < 0) {
				ret = (int)got;
				goto out;
			}
			for (i = 0; i < got && !ret; ++i) {
				if (memcmp(batch[i].lo, cur, n) || store_expired(batch[i].expires_at, now))
					break;
				ret = step_past(cur, batch[i].hi, n, first, last, start, &wrapped);
				if (ret < 0)
					goto out;
			}
			if (i < got || got < SCAN_BATCH)
				break;
		}
		/* the outer probe confirms the hole (or reclaims an expired range there) */
	}
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->prefix = (uint8_t)(n * 8);
	memcpy(out->addr, cur, n);
	pool_addr_inc(cur, n);
	ret = store_db_meta_set(be, c, cursor_name[fam], cur);
out:
	free(batch);
	return ret;
}

/* A creation counted against an enroll token: -EDQUOT when it has none left. */
static int use_token(const struct store_backend *be, struct store_conn *c, const struct store_who *who)
{
	struct store_val p[] = { { .type = STORE_INT, .i = who->token_id } };
	long n = 0;
	int ret;

	if (!who->enroll)
		return 0;
	ret = be->exec(c, SQ_TOK_USE, p, 1, NULL, NULL, &n);
	return ret ? ret : n ? 0 : -EDQUOT;
}

int store_peer_create(struct store *s, struct peer_record *r, const struct pool *pool, int64_t now,
		      const struct store_who *who, bool *created, uint8_t conflict[WG_KEY_LEN])
{
	static const struct store_who nobody = { 0 };
	char kt[WG_KEY_B64_LEN + 1];
	const struct store_backend *be = s->be;
	struct peer_record old = { 0 };
	bool alloc = r->n_allowed_ips == 0, in_txn = false;
	struct slot *sl = NULL;
	struct cidr *ips = NULL;
	size_t i, nips = 0;
	int fam, ret;

	*created = false;
	if (!who)
		who = &nobody;
	if (alloc && !pool)
		return -EINVAL;
	pthread_mutex_lock(&s->write_lock);
	sl = store_slot_acquire(s);
	ret = be->begin(sl->c);
	if (ret)
		goto out;
	in_txn = true;
	ret = store_db_get(be, sl->c, r->public_key, &old);
	if (!ret && store_expired(old.expires_at, now)) {
		ret = store_db_remove(be, sl->c, r->public_key, now);
		if (ret)
			goto out;
	} else if (!ret) {
		/* A retried allocation request matches the peer it created. */
		struct peer_record cmp = *r;

		/* an enroll token learns nothing of a peer it may not have created */
		if (who->enroll) {
			ret = -EEXIST;
			goto out;
		}
		if (alloc) {
			cmp.allowed_ips = old.allowed_ips;
			cmp.n_allowed_ips = old.n_allowed_ips;
		}
		if (!peer_record_equal(&cmp, &old)) {
			ret = -EEXIST;
			goto out;
		}
		peer_record_clear(r);
		*r = old;
		memset(&old, 0, sizeof(old));
		goto out;
	} else if (ret != -ENOENT) {
		goto out;
	}

	if (alloc) {
		ips = calloc(POOL_FAMILIES, sizeof(*ips));
		ret = -ENOMEM;
		if (!ips)
			goto out;
		for (fam = 0; fam < POOL_FAMILIES; ++fam) {
			if (!pool->has[fam])
				continue;
			ret = allocate(be, sl->c, pool, fam, now, &ips[nips]);
			if (ret)
				goto out;
			nips++;
		}
		r->allowed_ips = ips;
		r->n_allowed_ips = nips;
		ips = NULL;
	} else {
		for (i = 0; i < r->n_allowed_ips; ++i) {
			ret = store_check_free(be, sl->c, &r->allowed_ips[i], now, conflict);
			if (ret)
				goto out;
		}
	}
	r->created_at = now;
	ret = use_token(be, sl->c, who);
	if (!ret)
		ret = store_db_insert(be, sl->c, r);
	if (!ret) {
		store_key_text(kt, r->public_key);
		ret = store_audit_add(be, sl->c, now, who, "create", kt, NULL);
	}
	if (ret)
		goto out;
	ret = be->commit(sl->c);
	in_txn = false;
	if (!ret)
		*created = true;
out:
	if (in_txn) {
		if (ret)
			be->rollback(sl->c);
		else if (be->commit(sl->c))
			ret = -EIO;
	}
	if (ret && alloc && r->allowed_ips) {
		/* give the caller back the request it sent */
		free(r->allowed_ips);
		r->allowed_ips = NULL;
		r->n_allowed_ips = 0;
	}
	if (sl)
		store_slot_release(s, sl, ret);
	pthread_mutex_unlock(&s->write_lock);
	if (!ret && *created)
		notify(s);
	free(ips);
	peer_record_clear(&old);
	return ret;
}

int store_peer_get(struct store *s, const uint8_t key[static WG_KEY_LEN], int64_t now, struct peer_record *out)
{
	struct slot *sl = store_slot_acquire(s);
	int ret = store_db_get(s->be, sl->c, key, out);

	store_slot_release(s, sl, ret);
	if (!ret && store_expired(out->expires_at, now)) {
		peer_record_clear(out);
		ret = -ENOENT;
	}
	return ret;
}

int store_peer_delete(struct store *s, const uint8_t key[static WG_KEY_LEN], int64_t now,
		      const struct store_who *who)
{
	char kt[WG_KEY_B64_LEN + 1];
	struct slot *sl;
	int ret;

	ret = store_write_begin(s, &sl);
	if (ret)
		return ret;
	ret = store_db_remove(s->be, sl->c, key, now);
	if (!ret) {
		store_key_text(kt, key);
		ret = store_audit_add(s->be, sl->c, now, who, "delete", kt, NULL);
	}
	return store_write_end(s, sl, ret, true);
}

int store_peer_list(struct store *s, const uint8_t *after, const char *gateway, const char *owner, int64_t now,
		    size_t limit,
		    struct peer_record **out, size_t *n)
{
	struct slot *sl = store_slot_acquire(s);
	int ret = store_db_list(s->be, sl->c, after, gateway, owner, now, limit, out, n);

	store_slot_release(s, sl, ret);
	return ret;
}

int store_peer_changes(struct store *s, const char *gateway, int64_t since, int64_t now, size_t limit,
		       struct store_change **out, size_t *n)
{
	struct slot *sl = store_slot_acquire(s);
	uint8_t val[16];
	int64_t floor = 0;
	int ret;

	*out = NULL;
	*n = 0;
	ret = store_db_changes(s->be, sl->c, gateway, since, now, limit, out, n);
	/*
	 * The floor is read after the page: pruning deletes tombstones and
	 * raises the floor in one transaction, so a page that may miss one
	 * always sees the raised floor here.
	 */
	if (!ret) {
		ret = store_db_meta_get(s->be, sl->c, STORE_FEED_FLOOR, val);
		if (!ret)
			floor = store_floor_decode(val);
		else if (ret == -ENOENT)
			ret = 0;
	}
	store_slot_release(s, sl, ret);
	if (!ret && since > 0 && since < floor)
		ret = -ESTALE;
	if (ret) {
		store_changes_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

void store_changes_free(struct store_change *ch, size_t n)
{
	size_t i;

	if (!ch)
		return;
	for (i = 0; i < n; ++i)
		peer_record_clear(&ch[i].rec);
	free(ch);
}

void store_floor_encode(int64_t seq, uint8_t val[static 16])
{
	uint64_t u = (uint64_t)seq;
	int i;

	memset(val, 0, 16);
	for (i = 0; i < 8; ++i)
		val[i] = (uint8_t)(u >> (56 - 8 * i));
}

int64_t store_floor_decode(const uint8_t val[static 16])
{
	uint64_t u = 0;
	int i;

	for (i = 0; i < 8; ++i)
		u = u << 8 | val[i];
	return (int64_t)u;
}

long store_purge(struct store *s, int64_t now)
{
	struct slot *sl;
	long n;
	int ret;

	ret = store_write_begin(s, &sl);
	if (ret)
		return ret;
	n = store_db_purge(s->be, sl->c, now);
	ret = store_write_end(s, sl, n < 0 ? (int)n : 0, n > 0);
	return ret ? ret : n;
}

int store_write_begin(struct store *s, struct slot **out)
{
	struct slot *sl;
	int ret;

	pthread_mutex_lock(&s->write_lock);
	sl = store_slot_acquire(s);
	ret = s->be->begin(sl->c);
	if (ret) {
		store_slot_release(s, sl, ret);
		pthread_mutex_unlock(&s->write_lock);
		return ret;
	}
	*out = sl;
	return 0;
}

int store_write_end(struct store *s, struct slot *sl, int ret, bool changed)
{
	if (ret)
		s->be->rollback(sl->c);
	else
		ret = s->be->commit(sl->c);
	store_slot_release(s, sl, ret);
	pthread_mutex_unlock(&s->write_lock);
	if (!ret && changed)
		notify(s);
	return ret;
}

/* Expired peers go (leaving tombstones) as soon as the first one is due: a read, then a purge when due. */
long store_expire(struct store *s, int64_t now)
{
	struct slot *sl = store_slot_acquire(s);
	int64_t next = 0;
	int ret = store_db_next_expiry(s->be, sl->c, &next);

	store_slot_release(s, sl, ret);
	if (ret)
		return ret;
	return next && next <= now ? store_purge(s, now) : 0;
}

void store_key_text(char out[static WG_KEY_B64_LEN + 1], const uint8_t key[static WG_KEY_LEN])
{
	key_to_base64(out, key);
}
