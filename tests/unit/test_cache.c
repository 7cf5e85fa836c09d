// SPDX-License-Identifier: MIT
/* The SQLite cache: storage round trips, persistence, schema checks, bad files. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/lookup/cache.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	strcpy(dir, "/tmp/jitwg-test-cache.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void mkkey(uint8_t key[WG_KEY_LEN], uint8_t n)
{
	memset(key, n, WG_KEY_LEN);
}

static void mkrecord(struct peer_record *r, uint8_t n)
{
	static struct cidr ips[2];

	memset(r, 0, sizeof(*r));
	mkkey(r->public_key, n);
	assert_int_equal(cidr_parse(&ips[0], "10.7.0.2/32"), 0);
	assert_int_equal(cidr_parse(&ips[1], "fd00:7::2/128"), 0);
	r->allowed_ips = ips;
	r->n_allowed_ips = 2;
	r->has_gateway = true;
	strcpy(r->gateway, "gw-1");
	r->has_preshared_key = true;
	memset(r->preshared_key, 0xab, WG_KEY_LEN);
	r->persistent_keepalive = 25;
	r->expires_at = 1900000000;
	r->created_at = 1700000000;
}

static void test_peer_roundtrip(void **state)
{
	struct cache *c = cache_open(":memory:", NULL);
	struct peer_record rec;
	struct cache_entry e;
	uint8_t key[WG_KEY_LEN];
	char s[CIDR_STR_MAX];
	long peers = -1;

	assert_non_null(c);
	mkrecord(&rec, 1);
	mkkey(key, 1);
	assert_int_equal(cache_peer_get(c, key, &e), -ENOENT);
	assert_int_equal(cache_peer_put(c, &rec, 5000), 0);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.state, CACHE_POSITIVE);
	assert_int_equal(e.fetched_at, 5000);
	assert_memory_equal(e.rec.public_key, key, WG_KEY_LEN);
	assert_int_equal(e.rec.n_allowed_ips, 2);
	cidr_format(s, &e.rec.allowed_ips[0]);
	assert_string_equal(s, "10.7.0.2/32");
	cidr_format(s, &e.rec.allowed_ips[1]);
	assert_string_equal(s, "fd00:7::2/128");
	assert_true(e.rec.has_gateway);
	assert_string_equal(e.rec.gateway, "gw-1");
	assert_true(e.rec.has_preshared_key);
	assert_memory_equal(e.rec.preshared_key, rec.preshared_key, WG_KEY_LEN);
	assert_int_equal(e.rec.persistent_keepalive, 25);
	assert_int_equal(e.rec.expires_at, 1900000000);
	assert_int_equal(e.rec.created_at, 1700000000);
	cache_entry_clear(&e);

	/* A record without optional fields. */
	rec.has_gateway = rec.has_preshared_key = false;
	rec.n_allowed_ips = 0;
	rec.expires_at = 0;
	assert_int_equal(cache_peer_put(c, &rec, 6000), 0);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_false(e.rec.has_gateway);
	assert_false(e.rec.has_preshared_key);
	assert_int_equal(e.rec.n_allowed_ips, 0);
	assert_int_equal(e.fetched_at, 6000);
	cache_entry_clear(&e);

	assert_int_equal(cache_count(c, &peers, NULL), 0);
	assert_int_equal(peers, 1);
	assert_int_equal(cache_peer_delete(c, key), 0);
	assert_int_equal(cache_peer_get(c, key, &e), -ENOENT);
	cache_entry_clear(NULL);
	cache_close(c);
	cache_close(NULL);
}

static void test_negative_and_attempts(void **state)
{
	struct cache *c = cache_open(":memory:", NULL);
	struct peer_record rec;
	struct cache_entry e;
	uint8_t key[WG_KEY_LEN];

	mkkey(key, 2);
	assert_int_equal(cache_peer_note_attempt(c, key, 1000), 0);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.state, CACHE_ABSENT);
	assert_int_equal(e.attempt_at, 1000);
	assert_int_equal(e.fetched_at, 0);
	assert_int_equal(cache_peer_put_negative(c, key, 1500), 0);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.state, CACHE_NEGATIVE);
	assert_int_equal(e.fetched_at, 1500);
	assert_int_equal(e.attempt_at, 1000); /* the request's start is the window's start */

	/* Positive replaces negative and keeps the attempt time. */
	mkrecord(&rec, 2);
	assert_int_equal(cache_peer_note_attempt(c, key, 2000), 0);
	assert_int_equal(cache_peer_put(c, &rec, 2100), 0);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.state, CACHE_POSITIVE);
	assert_int_equal(e.attempt_at, 2000);
	cache_entry_clear(&e);
	/* ...and negative drops the record. */
	assert_int_equal(cache_peer_put_negative(c, key, 3000), 0);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.state, CACHE_NEGATIVE);
	assert_int_equal(e.rec.n_allowed_ips, 0);
	assert_false(e.rec.has_preshared_key);
	cache_close(c);
}

static void test_replay_marks(void **state)
{
	struct cache *c = cache_open(":memory:", NULL);
	uint8_t key[WG_KEY_LEN], t1[12] = { 0x40, 0, 0, 0, 0, 0, 0, 1 }, t2[12] = { 0x40, 0, 0, 0, 0, 0, 0, 2 };
	uint8_t got[12];

	mkkey(key, 3);
	assert_int_equal(cache_replay_get(c, key, got), -ENOENT);
	assert_int_equal(cache_replay_put(c, key, t2, 1), 0);
	assert_int_equal(cache_replay_put(c, key, t1, 2), 0); /* never lowers */
	assert_int_equal(cache_replay_get(c, key, got), 0);
	assert_memory_equal(got, t2, 12);
	cache_close(c);
}

static int count_cb(void *ctx, const uint8_t key[WG_KEY_LEN], const uint8_t ts[12])
{
	++*(int *)ctx;
	return 0;
}

static void test_prune_and_walk(void **state)
{
	struct cache *c = cache_open(":memory:", NULL);
	struct peer_record rec;
	uint8_t key[WG_KEY_LEN], ts[12] = { 0x40 };
	long peers, marks;
	int n = 0;

	mkrecord(&rec, 10);
	assert_int_equal(cache_peer_put(c, &rec, 1000), 0);    /* old positive */
	mkrecord(&rec, 11);
	assert_int_equal(cache_peer_put(c, &rec, 9000), 0);    /* recent positive */
	mkkey(key, 12);
	assert_int_equal(cache_peer_put_negative(c, key, 1000), 0);
	mkkey(key, 13);
	assert_int_equal(cache_peer_note_attempt(c, key, 9000), 0);
	mkkey(key, 14);
	assert_int_equal(cache_replay_put(c, key, ts, 1000), 0);
	mkkey(key, 15);
	assert_int_equal(cache_replay_put(c, key, ts, 9000), 0);
	assert_int_equal(cache_replay_foreach(c, 0, count_cb, &n), 2);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(cache_replay_foreach(c, 1, count_cb, &n), 1);

	assert_int_equal(cache_prune(c, 5000, 5000, 5000), 3);
	assert_int_equal(cache_count(c, &peers, &marks), 0);
	assert_int_equal(peers, 2);
	assert_int_equal(marks, 1);
	/* Transactions nest with the statements above. */
	assert_int_equal(cache_begin(c), 0);
	assert_int_equal(cache_peer_put_negative(c, key, 1), 0);
	assert_int_equal(cache_commit(c), 0);
	cache_close(c);
}

static void test_file_persists(void **state)
{
	struct cache *c = cache_open(path, NULL);
	struct peer_record rec;
	struct cache_entry e;
	uint8_t key[WG_KEY_LEN], ts[12] = { 0x40, 1 }, got[12];
	struct stat st;
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_non_null(c);
	/* A second daemon on the same file is refused with a clear reason. */
	{
		const char *why = NULL;

		assert_null(cache_open(path, &why));
		assert_int_equal(errno, EBUSY);
		assert_non_null(strstr(why, "in use"));
	}
	mkrecord(&rec, 4);
	assert_int_equal(cache_peer_put(c, &rec, 77), 0);
	assert_int_equal(cache_replay_put(c, rec.public_key, ts, 77), 0);
	cache_close(c);

	/* It holds preshared keys: only the owner may read it. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	c = cache_open(path, NULL);
	assert_non_null(c);
	mkkey(key, 4);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.fetched_at, 77);
	cache_entry_clear(&e);
	assert_int_equal(cache_replay_get(c, key, got), 0);
	assert_memory_equal(got, ts, 12);
	cache_close(c);

	/* WAL mode and the schema version are on disk. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), CACHE_SCHEMA_VERSION);
	sqlite3_finalize(s);
	/* Housekeeping must never scan the whole table: each prune has its index. */
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN DELETE FROM peer WHERE state != 1 AND"
					    " max(fetched_at, attempt_at) < 5", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_non_null(strstr((const char *)sqlite3_column_text(s, 3), "peer_transient"));
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN DELETE FROM peer WHERE state = 1 AND"
					    " fetched_at < 5", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_non_null(strstr((const char *)sqlite3_column_text(s, 3), "peer_fetched"));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void test_corrupt_file(void **state)
{
	const char *why = NULL;
	char junk[8192];
	int fd;

	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_null(cache_open(path, &why));
	assert_int_equal(errno, EIO);
	assert_non_null(why);
	assert_non_null(strstr(why, "corrupt"));
}

static void test_foreign_and_newer_schema(void **state)
{
	const char *why = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x); PRAGMA user_version = 0;", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_null(cache_open(path, &why));
	assert_non_null(strstr(why, "not a jitwgd cache"));

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(cache_open(path, &why));
	assert_non_null(strstr(why, "newer"));

	/* Right version, damaged schema. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(cache_open(path, &why));
	assert_non_null(strstr(why, "damaged"));
}

/*
 * The prefetch thread's companion connection, beside the lookup's: feed
 * cursor and refresh work, and a lookup batch that read before the companion
 * wrote still writes. With a deferred BEGIN that first write failed with
 * SQLITE_BUSY_SNAPSHOT (no busy retry), losing the batch's writes.
 */
static void test_companion(void **state)
{
	struct cache *c = cache_open(path, NULL), *p;
	struct peer_record rec;
	struct cache_entry e;
	uint8_t key[WG_KEY_LEN];
	int64_t since = 0;

	assert_non_null(c);
	assert_null(cache_open_companion(":memory:", NULL));
	p = cache_open_companion(path, NULL);
	assert_non_null(p);
	assert_int_equal(cache_feed_get(p, "http://r gw-1", &since), -ENOENT);
	assert_int_equal(cache_feed_put(p, "http://r gw-1", 42), 0);
	assert_int_equal(cache_feed_get(p, "http://r gw-1", &since), 0);
	assert_int_equal(since, 42);

	/* refresh: positive rows older than the bound get the new stamp, in batches of max */
	mkrecord(&rec, 1);
	assert_int_equal(cache_peer_put(p, &rec, 100), 0);
	mkrecord(&rec, 2);
	assert_int_equal(cache_peer_put(p, &rec, 100), 0);
	mkkey(key, 3);
	assert_int_equal(cache_peer_put_negative(p, key, 100), 0);
	assert_int_equal(cache_peer_refresh(p, 500, 200, 1), 1);
	assert_int_equal(cache_peer_refresh(p, 500, 200, 10), 1);
	assert_int_equal(cache_peer_refresh(p, 500, 200, 10), 0);
	mkkey(key, 2);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.fetched_at, 500);
	cache_entry_clear(&e);
	mkkey(key, 3);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	assert_int_equal(e.fetched_at, 100); /* negatives are not vouched for */
	cache_entry_clear(&e);

	/* a batch: begin, read, then write; the companion cannot slip a commit in between */
	assert_int_equal(cache_begin(c), 0);
	mkkey(key, 1);
	assert_int_equal(cache_peer_get(c, key, &e), 0);
	cache_entry_clear(&e);
	mkrecord(&rec, 4);
	assert_int_equal(cache_peer_put(p, &rec, 600), -EIO); /* waits out the busy timeout */
	assert_int_equal(cache_peer_note_attempt(c, key, 700), 0);
	assert_int_equal(cache_commit(c), 0);
	assert_int_equal(cache_peer_put(p, &rec, 600), 0);
	cache_close(p);
	cache_close(c);
}

static void test_bad_path(void **state)
{
	const char *why = NULL;

	assert_null(cache_open("/nonexistent-dir/x/cache.db", &why));
	assert_int_equal(errno, ENOENT);
	assert_non_null(why);
	assert_null(cache_open("", &why));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_roundtrip),
		cmocka_unit_test(test_negative_and_attempts),
		cmocka_unit_test(test_replay_marks),
		cmocka_unit_test(test_prune_and_walk),
		cmocka_unit_test_setup_teardown(test_file_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_companion, setup, teardown),
		cmocka_unit_test(test_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
