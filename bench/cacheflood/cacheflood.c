// SPDX-License-Identifier: MIT
/*
 * Cache file size under a flood of valid initiations for keys the registry
 * does not know (bench, not a test). Anyone with the gateway's public key
 * can mint such initiations offline; each one passes identification, so
 * what it may cost on disk is what the lookup stage writes for it.
 *
 *   cacheflood [ROUNDS [UNKNOWN_PER_ROUND [KNOWN]]]     defaults 6 20000 1000
 *
 * A stand-in registry (libmicrohttpd, loopback) answers the registry's JSON
 * 404 for unknown keys and a record for the KNOWN ones. Each round submits
 * UNKNOWN_PER_ROUND fresh unknown keys and re-submits the KNOWN ones, then
 * the lookup's clock (its test hook) moves on 61 s, so the minute's prune
 * runs as it would in a sustained flood. After each round: file size
 * (database + WAL), rows per table.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "common/clock.h"
#include "gateway/lookup/lookup.h"
#include "wire/record.h"

static atomic_llong fake_now_ms;
static unsigned int known_n;

static int64_t bench_clock(void *ctx)
{
	return atomic_load(&fake_now_ms);
}

static void mkkey(uint8_t k[WG_KEY_LEN], uint32_t i, bool known)
{
	memset(k, 0x11, WG_KEY_LEN);
	memcpy(k, &i, sizeof(i));
	k[31] = known ? 0xaa : 0x55;
}

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

static mhd_result on_req(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			 const char *ver, const char *up, size_t *uplen, void **con_cls)
{
	struct MHD_Response *r;
	uint8_t key[WG_KEY_LEN];
	char *body = NULL;
	unsigned int code = 404;
	mhd_result ret;

	if (!*con_cls) {
		*con_cls = conn;
		return MHD_YES;
	}
	if (!strncmp(url, "/v1/peers/", 10) && key_from_base64url(key, url + 10) == 0 && key[31] == 0xaa) {
		struct peer_record rec = { 0 };
		struct cidr c = { .family = AF_INET, .prefix = 32, .addr = { 10, 1, key[1], key[0] } };

		memcpy(rec.public_key, key, WG_KEY_LEN);
		rec.allowed_ips = &c;
		rec.n_allowed_ips = 1;
		body = peer_record_to_json(&rec);
		code = 200;
	}
	if (!body)
		body = strdup("{\"error\": \"no such peer\"}");
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_install(void *ctx, const struct lookup_event *ev, const struct peer_record *rec) { }
static void on_gone(void *ctx, const uint8_t key[WG_KEY_LEN]) { }

static long long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

static long rows(sqlite3 *db, const char *table)
{
	char sql[128];
	sqlite3_stmt *s;
	long n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void submit(struct lookup *l, uint32_t i, bool known, uint64_t sec)
{
	struct lookup_event ev = { 0 };
	uint64_t v = 0x400000000000000aULL + sec;
	int k, ret;

	mkkey(ev.key, i, known);
	for (k = 0; k < 8; ++k)
		ev.tai64n[k] = (uint8_t)(v >> (56 - 8 * k));
	ev.src.sin.sin_family = AF_INET;
	ev.src.sin.sin_port = htons(40000);
	ev.src.sin.sin_addr.s_addr = htonl(0xc0000201);
	while ((ret = lookup_submit(l, &ev)) == -EAGAIN)
		lookup_flush(l, 10000);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 6;
	unsigned int per = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
	char dir[] = "/tmp/cacheflood.XXXXXX", db[64], wal[80], url[64], tables[256];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct MHD_Daemon *d;
	struct lookup_config cfg = { 0 };
	const char *why = NULL;
	struct lookup *l;
	struct metrics m = { 0 };
	unsigned int r, i;

	known_n = argc > 3 ? (unsigned)atoi(argv[3]) : 1000;
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof(db), "%s/cache.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_req, NULL,
			     MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_END);
	if (!d)
		return 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	atomic_store(&fake_now_ms, clock_real_ms());
	cfg.cache_path = db;
	cfg.registry_url = url;
	cfg.metrics = &m;
	cfg.max_inflight = 64;
	cfg.clock_ms = bench_clock;
	l = lookup_new(&cfg, on_install, on_gone, NULL, &why);
	if (!l) {
		fprintf(stderr, "lookup: %s\n", why);
		return 1;
	}
	printf("round  unknown_total  db+wal_bytes  peer_rows  replay_rows  (known keys %u)\n", known_n);
	for (r = 0; r < rounds; ++r) {
		uint64_t t0 = clock_mono_ns();
		sqlite3 *q;

		for (i = 0; i < per; ++i)
			submit(l, r * per + i, false, 1000 + r);
		for (i = 0; i < known_n; ++i)
			submit(l, i, true, 1000 + r);
		lookup_flush(l, 60000);
		/* a minute passes: the lookup prunes expired negatives on its next tick */
		atomic_fetch_add(&fake_now_ms, 61000);
		submit(l, 0, true, 5000 + r);
		lookup_flush(l, 60000);
		if (sqlite3_open_v2(db, &q, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
			return 1;
		snprintf(tables, sizeof(tables), "%ld  %ld", rows(q, "peer"), rows(q, "replay"));
		sqlite3_close(q);
		printf("%5u  %13u  %12lld  %s   %.1f s\n", r + 1, (r + 1) * per, file_size(db) + file_size(wal),
		       tables, (double)(clock_mono_ns() - t0) / 1e9);
		fflush(stdout);
	}
	lookup_free(l);
	MHD_stop_daemon(d);
	unlink(db);
	unlink(wal);
	{
		char shm[80];
		snprintf(shm, sizeof(shm), "%s-shm", db);
		unlink(shm);
	}
	rmdir(dir);
	return 0;
}
