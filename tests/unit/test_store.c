// SPDX-License-Identifier: MIT
/*
 * The store's shared logic on SQLite (a temp file): pool parsing and bounds,
 * overlap detection across prefix lengths, allocation order and wrap-around,
 * exhaustion, identical/different re-creates, expiry, keyset listing.
 * The same logic on PostgreSQL is covered by tests/integration/registry_pg.sh,
 * which also runs the change-feed test here on PostgreSQL (JITWG_TEST_PG).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "registry/pool.h"
#include "registry/store.h"

static char dir[64];
static char path[96];

static int setup(void **state)
{
	strcpy(dir, "/tmp/jitwg-test-store.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/r.db", dir);
	*state = store_open(path, 2);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[160];

	store_free(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void mkkey(uint8_t key[static WG_KEY_LEN], unsigned int i)
{
	memset(key, 0x11, WG_KEY_LEN);
	key[0] = (uint8_t)(i >> 8);
	key[1] = (uint8_t)i;
}

/* A record with the given comma-separated allowed IPs ("" = allocate). */
static void mkrec(struct peer_record *r, unsigned int i, const char *ips)
{
	memset(r, 0, sizeof(*r));
	mkkey(r->public_key, i);
	assert_int_equal(cidr_list_parse(ips, &r->allowed_ips, &r->n_allowed_ips), 0);
}

static int create(struct store *s, unsigned int i, const char *ips, const struct pool *p, int64_t now,
		  char *got, size_t gotlen)
{
	struct peer_record r;
	bool created;
	char *text;
	int ret;

	mkrec(&r, i, ips);
	ret = store_peer_create(s, &r, p, now, NULL, &created, NULL);
	if (!ret && got) {
		assert_int_equal(cidr_list_format(r.allowed_ips, r.n_allowed_ips, &text), 0);
		snprintf(got, gotlen, "%s%s", created ? "" : "=", text);
		free(text);
	}
	peer_record_clear(&r);
	return ret;
}

static void test_pool(void **state)
{
	struct pool p;
	const char *why;
	uint8_t a[16], b[16];

	assert_int_equal(pool_parse(&p, "10.8.0.0/16,fd00::/64", &why), 0);
	assert_true(p.has[POOL_V4] && p.has[POOL_V6]);
	pool_bounds(&p, POOL_V4, a, b);
	assert_memory_equal(a, "\x0a\x08\x00\x02", 4);
	assert_memory_equal(b, "\x0a\x08\xff\xfe", 4);
	assert_int_equal(pool_parse(&p, "10.8.0.0/31", &why), -EINVAL);
	assert_int_equal(pool_parse(&p, "10.8.0.0/16,10.9.0.0/16", &why), -EINVAL);
	assert_int_equal(pool_parse(&p, "10.8.0.1/16", &why), -EINVAL);
	assert_int_equal(pool_parse(&p, "", &why), -EINVAL);
	assert_int_equal(pool_parse(&p, "fd00::/64", &why), 0);
	assert_false(p.has[POOL_V4]);
}

static void test_overlap(void **state)
{
	struct store *s = *state;
	uint8_t conflict[WG_KEY_LEN], k1[WG_KEY_LEN];
	struct peer_record r;
	bool created;

	assert_int_equal(create(s, 1, "10.1.0.0/16,fd01::/48", NULL, 100, NULL, 0), 0);
	assert_int_equal(create(s, 2, "10.1.7.9/32", NULL, 100, NULL, 0), -EADDRINUSE);
	assert_int_equal(create(s, 2, "10.0.0.0/8", NULL, 100, NULL, 0), -EADDRINUSE);
	assert_int_equal(create(s, 2, "0.0.0.0/0", NULL, 100, NULL, 0), -EADDRINUSE);
	assert_int_equal(create(s, 2, "fd01:0:0:1::/64", NULL, 100, NULL, 0), -EADDRINUSE);
	assert_int_equal(create(s, 2, "10.0.255.255/32,10.2.0.0/32", NULL, 100, NULL, 0), 0);
	assert_int_equal(create(s, 3, "10.1.255.255/32", NULL, 100, NULL, 0), -EADDRINUSE);

	mkrec(&r, 4, "10.1.2.0/24");
	assert_int_equal(store_peer_create(s, &r, NULL, 100, NULL, &created, conflict), -EADDRINUSE);
	mkkey(k1, 1);
	assert_memory_equal(conflict, k1, WG_KEY_LEN);
	peer_record_clear(&r);

	/* same key: identical is fine, different is -EEXIST */
	assert_int_equal(create(s, 1, "fd01::/48,10.1.0.0/16", NULL, 100, NULL, 0), 0);
	assert_int_equal(create(s, 1, "10.1.0.0/16", NULL, 100, NULL, 0), -EEXIST);
	/* after delete the space is free */
	assert_int_equal(store_peer_delete(s, k1, 100, NULL), 0);
	assert_int_equal(store_peer_delete(s, k1, 100, NULL), -ENOENT);
	assert_int_equal(create(s, 3, "10.1.255.255/32", NULL, 100, NULL, 0), 0);
}

static void test_allocate(void **state)
{
	struct store *s = *state;
	struct pool p;
	const char *why;
	char got[128];
	unsigned int i;

	assert_int_equal(pool_parse(&p, "192.168.7.0/29,fd07::/126", &why), 0);
	/* no pool, no allowed IPs */
	assert_int_equal(create(s, 100, "", NULL, 100, NULL, 0), -EINVAL);
	/* a manual peer in the middle of the pool is skipped */
	assert_int_equal(create(s, 101, "192.168.7.4/32", NULL, 100, NULL, 0), 0);
	assert_int_equal(create(s, 102, "", &p, 100, got, sizeof(got)), 0);
	assert_string_equal(got, "192.168.7.2/32,fd07::2/128");
	assert_int_equal(create(s, 103, "", &p, 100, got, sizeof(got)), 0);
	assert_string_equal(got, "192.168.7.3/32,fd07::3/128");
	/* a retried allocation returns what it got */
	assert_int_equal(create(s, 102, "", &p, 100, got, sizeof(got)), 0);
	assert_string_equal(got, "=192.168.7.2/32,fd07::2/128");
	/* the v6 /126 has only ::2 and ::3: exhausted before v4 */
	assert_int_equal(create(s, 104, "", &p, 100, NULL, 0), -ENOSPC);

	assert_int_equal(pool_parse(&p, "192.168.7.0/29", &why), 0);
	assert_int_equal(create(s, 104, "", &p, 100, got, sizeof(got)), 0);
	assert_string_equal(got, "192.168.7.5/32");
	/* .6 expires at 150; at 200 it is reclaimed after the wrap */
	{
		struct peer_record r;
		bool created;

		mkrec(&r, 105, "");
		r.expires_at = 150;
		assert_int_equal(store_peer_create(s, &r, &p, 100, NULL, &created, NULL), 0);
		assert_true(created);
		peer_record_clear(&r);
	}
	assert_int_equal(create(s, 106, "", &p, 100, NULL, 0), -ENOSPC);
	assert_int_equal(create(s, 106, "", &p, 200, got, sizeof(got)), 0);
	assert_string_equal(got, "192.168.7.6/32");
	for (i = 0; i < 3; ++i)
		assert_int_equal(create(s, 107 + i, "", &p, 200, NULL, 0), -ENOSPC);
	/* freeing one address makes it the next allocation, after a wrap */
	{
		uint8_t k[WG_KEY_LEN];

		mkkey(k, 103);
		assert_int_equal(store_peer_delete(s, k, 100, NULL), 0);
	}
	assert_int_equal(create(s, 110, "", &p, 200, got, sizeof(got)), 0);
	assert_string_equal(got, "192.168.7.3/32");
}

/* A pool densely filled by other peers: the walk crosses several scan batches. */
static void test_allocate_dense(void **state)
{
	struct store *s = *state;
	struct pool p;
	const char *why;
	char *ips = malloc(200 * 20), got[64];
	unsigned int i, j, a;
	size_t len;

	for (j = 0; j < 3; ++j) {
		len = 0;
		for (i = 0; i < 200; ++i) {
			a = 2 + j * 200 + i;
			len += (size_t)sprintf(ips + len, "%s10.50.%u.%u/32", i ? "," : "", a >> 8, a & 255);
		}
		assert_int_equal(create(s, 300 + j, ips, NULL, 100, NULL, 0), 0);
	}
	free(ips);
	assert_int_equal(pool_parse(&p, "10.50.0.0/22", &why), 0);
	assert_int_equal(create(s, 310, "", &p, 100, got, sizeof(got)), 0);
	assert_string_equal(got, "10.50.2.90/32");
	assert_int_equal(create(s, 311, "", &p, 100, got, sizeof(got)), 0);
	assert_string_equal(got, "10.50.2.91/32");
	/* fill the rest of the pool; the next allocation wraps and walks the whole dense run */
	assert_int_equal(create(s, 312, "10.50.2.92/30,10.50.2.96/27,10.50.2.128/25,10.50.3.0/24", NULL, 100, NULL, 0), 0);
	assert_int_equal(create(s, 313, "", &p, 100, NULL, 0), -ENOSPC);
	{
		uint8_t k[WG_KEY_LEN];

		mkkey(k, 301); /* frees 10.50.0.202 - 10.50.1.145 */
		assert_int_equal(store_peer_delete(s, k, 100, NULL), 0);
	}
	assert_int_equal(create(s, 313, "", &p, 100, got, sizeof(got)), 0);
	assert_string_equal(got, "10.50.0.202/32");
}

static void test_expiry_and_list(void **state)
{
	struct store *s = *state;
	struct peer_record r, *recs;
	uint8_t k[WG_KEY_LEN], after[WG_KEY_LEN];
	bool created;
	size_t n, total = 0, i;
	unsigned int seen[64] = { 0 };

	for (i = 0; i < 40; ++i) {
		mkrec(&r, 200 + (unsigned int)i, "");
		r.allowed_ips = calloc(1, sizeof(*r.allowed_ips));
		assert_int_equal(cidr_parse(r.allowed_ips, i < 20 ? "172.16.0.0/32" : "172.17.0.0/32"), 0);
		r.allowed_ips->addr[3] = (uint8_t)i;
		r.n_allowed_ips = 1;
		if (i % 10 == 0)
			r.expires_at = 1000; /* four of them expire */
		if (i % 3 == 0) {
			r.has_gateway = true;
			strcpy(r.gateway, i % 2 ? "odd" : "even");
		}
		assert_int_equal(store_peer_create(s, &r, NULL, 500, NULL, &created, NULL), 0);
		peer_record_clear(&r);
	}
	mkkey(k, 200);
	assert_int_equal(store_peer_get(s, k, 999, &r), 0);
	peer_record_clear(&r);
	assert_int_equal(store_peer_get(s, k, 1000, &r), -ENOENT);

	/* pages of 7, keyset cursor: each live peer once */
	for (;;) {
		assert_int_equal(store_peer_list(s, total ? after : NULL, NULL, NULL, 2000, 7, &recs, &n), 0);
		for (i = 0; i < n; ++i) {
			unsigned int id = (unsigned int)recs[i].public_key[0] << 8 | recs[i].public_key[1];

			if (id >= 200 && id < 240)
				seen[id - 200]++;
			memcpy(after, recs[i].public_key, WG_KEY_LEN);
			peer_record_clear(&recs[i]);
		}
		free(recs);
		total += n;
		if (n < 7)
			break;
	}
	for (i = 0; i < 40; ++i)
		assert_int_equal(seen[i], i % 10 == 0 ? 0 : 1);

	/* gateway filter: bound to "odd" or to none */
	assert_int_equal(store_peer_list(s, NULL, "odd", NULL, 2000, 1000, &recs, &n), 0);
	for (i = 0; i < n; ++i) {
		assert_true(!recs[i].has_gateway || !strcmp(recs[i].gateway, "odd"));
		peer_record_clear(&recs[i]);
	}
	free(recs);

	assert_true(store_purge(s, 2000) >= 4);
	assert_int_equal(store_purge(s, 2000), 0);
}

/* A prefix over many expired peers takes their place, however many there are. */
static void test_expired_in_the_way(void **state)
{
	struct store *s = *state;
	struct peer_record r;
	bool created;
	unsigned int i;

	for (i = 0; i < 100; ++i) {
		mkrec(&r, 300 + i, "");
		r.allowed_ips = calloc(1, sizeof(*r.allowed_ips));
		assert_int_equal(cidr_parse(r.allowed_ips, "10.77.0.0/32"), 0);
		r.allowed_ips->addr[3] = (uint8_t)i;
		r.n_allowed_ips = 1;
		r.expires_at = 1000;
		assert_int_equal(store_peer_create(s, &r, NULL, 500, NULL, &created, NULL), 0);
		peer_record_clear(&r);
	}
	assert_int_equal(create(s, 1, "10.77.0.0/24", NULL, 2000, NULL, 0), 0);
}

/*
 * An expired range whose peer row is gone (a hand-edited or damaged
 * database) cannot be removed: allocation must fail, not spin forever
 * holding the write lock.
 */
static void test_allocate_orphan_range(void **state)
{
	struct store *s = *state;
	struct pool p;
	const char *why;
	sqlite3 *db;

	assert_int_equal(pool_parse(&p, "192.168.9.0/24", &why), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO ranges (fam, lo, hi, key, expires_at) VALUES "
				      "(4, x'c0a80902', x'c0a80902', zeroblob(32), 50)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(create(s, 400, "", &p, 100, NULL, 0), -EIO);
}

static void feed_add(struct store *s, unsigned int i, const char *ip, const char *gw, int64_t expires)
{
	struct peer_record r;
	bool created;

	mkrec(&r, i, ip);
	if (gw) {
		r.has_gateway = true;
		strcpy(r.gateway, gw);
	}
	r.expires_at = expires;
	assert_int_equal(store_peer_create(s, &r, NULL, 500, NULL, &created, NULL), 0);
	assert_true(created);
	peer_record_clear(&r);
}

/*
 * Reads the feed from *since in pages of 2 into text like "+1 -3 +4" (put,
 * delete; key id), advancing *since; each page's seqs strictly increase.
 */
static void feed_read(struct store *s, const char *gw, int64_t *since, int64_t now, char *out, size_t len)
{
	struct store_change *ch;
	size_t n, i, used = 0;

	out[0] = 0;
	do {
		assert_int_equal(store_peer_changes(s, gw, *since, now, 2, &ch, &n), 0);
		for (i = 0; i < n; ++i) {
			assert_true(ch[i].seq > *since);
			*since = ch[i].seq;
			assert_true(ch[i].deleted || ch[i].rec.n_allowed_ips == 1);
			used += (size_t)snprintf(out + used, len - used, "%s%c%u", used ? " " : "",
						 ch[i].deleted ? '-' : '+',
						 (unsigned int)ch[i].rec.public_key[0] << 8 | ch[i].rec.public_key[1]);
			assert_true(used < len);
		}
		store_changes_free(ch, n);
	} while (n == 2);
}

/* The change feed: gateway scope, deletes and expiry as tombstones, re-binding, paging, pruning. */
static void test_change_feed(void **state)
{
	struct store *s = *state;
	struct store_change *ch;
	int64_t a = 0, b = 0, all = 0, t = 0, late = time(NULL) + STORE_TOMBSTONE_TTL + 10;
	uint8_t k[WG_KEY_LEN];
	char got[256];
	size_t n;

	feed_add(s, 1, "10.1.0.1", "gw-a", 0);
	feed_add(s, 2, "10.1.0.2", "gw-b", 0);
	feed_add(s, 3, "10.1.0.3", NULL, 0);
	feed_add(s, 4, "10.1.0.4", "gw-a", 1000);
	feed_read(s, "gw-a", &a, 500, got, sizeof(got));
	assert_string_equal(got, "+1 +3 +4");
	feed_read(s, "gw-b", &b, 500, got, sizeof(got));
	assert_string_equal(got, "+2 +3");
	feed_read(s, NULL, &all, 500, got, sizeof(got));
	assert_string_equal(got, "+1 +2 +3 +4");
	feed_read(s, "gw-a", &a, 500, got, sizeof(got));
	assert_string_equal(got, ""); /* caught up: nothing new */

	/* a delete is a tombstone; an unbound peer re-created on gw-a leaves gw-b a tombstone */
	mkkey(k, 1);
	assert_int_equal(store_peer_delete(s, k, 100, NULL), 0);
	mkkey(k, 3);
	assert_int_equal(store_peer_delete(s, k, 100, NULL), 0);
	feed_add(s, 3, "10.1.0.3", "gw-a", 0);
	feed_read(s, "gw-a", &a, 500, got, sizeof(got));
	assert_string_equal(got, "-1 -3 +3");
	feed_read(s, "gw-b", &b, 500, got, sizeof(got));
	assert_string_equal(got, "-3");

	/* from the start: the compacted state; an expired peer reads as deleted */
	t = 0;
	feed_read(s, "gw-a", &t, 2000, got, sizeof(got));
	assert_string_equal(got, "-4 -1 -3 +3");
	t = 0;
	feed_read(s, "gw-a", &t, 500, got, sizeof(got));
	assert_string_equal(got, "+4 -1 -3 +3");

	/* purge turns the expiry into a tombstone with a new seq */
	assert_int_equal(store_purge(s, 2000), 1);
	feed_read(s, "gw-a", &a, 2000, got, sizeof(got));
	assert_string_equal(got, "-4");

	/* old tombstones are pruned; a cursor from before them is stale, 0 and newer ones are not */
	assert_int_equal(store_purge(s, late), 0);
	assert_int_equal(store_peer_changes(s, "gw-a", 1, late, 10, &ch, &n), -ESTALE);
	assert_null(ch);
	t = 0;
	feed_read(s, "gw-a", &t, late, got, sizeof(got));
	assert_string_equal(got, "+3");
	feed_read(s, "gw-a", &a, late, got, sizeof(got));
	assert_string_equal(got, "");
}

/* JITWG_TEST_PG=URL (an empty database; registry_pg.sh sets it): the feed test on PostgreSQL. */
static int setup_pg(void **state)
{
	*state = store_open(getenv("JITWG_TEST_PG"), 2);
	return *state ? 0 : -1;
}

static int teardown_pg(void **state)
{
	store_free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(test_change_feed, setup_pg, teardown_pg),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocate_dense, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_in_the_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocate_orphan_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_feed, setup, teardown),
	};

	if (getenv("JITWG_TEST_PG"))
		return cmocka_run_group_tests(pg_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
