// SPDX-License-Identifier: MIT
/*
 * Install confirmation: which triggered peers are confirmed, repaired, given
 * up (the module alone), and the install stage's use of it against the fake
 * data plane (a plain user can run it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "gateway/install/confirm.h"
#include "gateway/install/install.h"
#include "unit/fake_dataplane.h"

static struct dp_peer peer(uint8_t id)
{
	static struct dp_allowedip aip = { .family = 2, .cidr = 32 };
	struct dp_peer p = { 0 };

	memset(p.public_key, id, WG_KEY_LEN);
	memset(p.preshared_key, 0x70 + id, WG_KEY_LEN);
	p.flags = DP_PEER_HAS_ENDPOINT | DP_PEER_HAS_PRESHARED_KEY | DP_PEER_UPDATE_ONLY;
	p.allowed_ips = &aip;
	p.n_allowed_ips = 1;
	return p;
}

static uint64_t rx; /* every listed peer's rx_bytes */

/* A listing: the given ids, with the given last handshakes. */
static size_t listing(struct dp_peer *out, const uint8_t *ids, const int64_t *hs, size_t n)
{
	size_t i;

	for (i = 0; i < n; ++i) {
		memset(&out[i], 0, sizeof(out[i]));
		memset(out[i].public_key, ids[i], WG_KEY_LEN);
		out[i].last_handshake_sec = hs[i];
		out[i].rx_bytes = rx;
	}
	return n;
}

static void test_confirm_repair_give_up(void **state)
{
	struct install_confirm *c = install_confirm_new(&(struct confirm_config){ .wait_ms = 40, .max_repairs = 2 });
	struct confirm_counts k = { 0 };
	struct dp_peer a = peer(1), b = peer(2), g = peer(3), list[3], *rep;
	uint8_t ids[3] = { 1, 2, 3 };
	int64_t hs[3] = { 0, 0, 0 };
	size_t nrep;

	assert_non_null(c);
	assert_int_equal(install_confirm_due(c), UINT64_MAX);
	assert_int_equal(install_confirm_watch(c, &a, 1000, 5000), 0);
	assert_int_equal(install_confirm_watch(c, &b, 1010, 5000), 0);
	assert_int_equal(install_confirm_watch(c, &g, 1010, 5000), 0);
	assert_int_equal(install_confirm_due(c), 1040);

	/* Before the deadline nothing is repaired; a completed handshake confirms early. */
	hs[1] = 5000;
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 3), 1020, 5000, 1, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 0);
	assert_int_equal(k.confirmed, 1);
	assert_int_equal(install_confirm_watched(c), 2);
	/* The next check waits ten listing durations. */
	assert_int_equal(install_confirm_due(c), 1040);

	/* At 1050: a is due without a handshake: first the window's baseline of
	 * what it receives; 3 is not listed -> gone. */
	rx = 240;
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), 1050, 5000, 2, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 0);
	assert_int_equal(k.gone, 1);
	assert_int_equal(install_confirm_due(c), 1090);
	/* A window later it received nothing more: stuck -> repaired. */
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), 1090, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 1);
	assert_memory_equal(rep[0].public_key, a.public_key, WG_KEY_LEN);
	assert_memory_equal(rep[0].preshared_key, a.preshared_key, WG_KEY_LEN);
	assert_int_equal(rep[0].n_allowed_ips, 1);
	assert_int_equal(rep[0].flags & DP_PEER_UPDATE_ONLY, 0); /* it is created again */
	assert_int_equal(rep[0].last_handshake_sec, 5000);       /* the trigger it was judged against */
	install_confirm_repairs_free(rep, nrep);
	assert_int_equal(k.repaired, 1);
	/* Re-armed with twice the wait; the new peer starts from rx 0. */
	assert_int_equal(install_confirm_due(c), 1090 + 80);

	/* Second repair at 1170, then given up at 1170 + 160. */
	rx = 0;
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), 1170, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 1);
	install_confirm_repairs_free(rep, nrep);
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), 1330, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 0);
	assert_int_equal(k.repaired, 2);
	assert_int_equal(k.given_up, 1);
	assert_int_equal(install_confirm_watched(c), 0);
	install_confirm_free(c);
}

/* A handshake older than the trigger (a re-triggered stale peer) does not confirm. */
static void test_stale_handshake(void **state)
{
	struct install_confirm *c = install_confirm_new(&(struct confirm_config){ .wait_ms = 40, .max_repairs = 2 });
	struct confirm_counts k = { 0 };
	struct dp_peer a = peer(9), list[1], *rep;
	uint8_t ids[1] = { 9 };
	int64_t hs[1] = { 4000 };
	size_t nrep;

	rx = 0;
	assert_int_equal(install_confirm_watch(c, &a, 1000, 5000), 0);
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), 1040, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 0);
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), 1080, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 1);
	install_confirm_repairs_free(rep, nrep);
	hs[0] = 5000;
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), 1090, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(k.confirmed, 1);
	assert_int_equal(install_confirm_watched(c), 0);
	install_confirm_free(c);
}

/* A peer that keeps receiving is a handshake in progress: never removed, given up after four windows. */
static void test_receiving_not_repaired(void **state)
{
	struct install_confirm *c = install_confirm_new(&(struct confirm_config){ .wait_ms = 40, .max_repairs = 2 });
	struct confirm_counts k = { 0 };
	struct dp_peer a = peer(4), list[1], *rep;
	uint8_t ids[1] = { 4 };
	int64_t hs[1] = { 0 };
	uint64_t t = 1040;
	size_t nrep;
	int i;

	assert_int_equal(install_confirm_watch(c, &a, 1000, 5000), 0);
	for (i = 0; i < 5; ++i, t += 40) {
		rx = 148 * (uint64_t)(i + 1);
		assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 1), t, 5000, 0, &rep, &nrep, &k), 0);
		assert_int_equal(nrep, 0);
	}
	assert_int_equal(k.repaired, 0);
	assert_int_equal(k.given_up, 1);
	assert_int_equal(install_confirm_watched(c), 0);
	install_confirm_free(c);
}

/* A confirmation (40 ms, two repairs) watching ids' six peers, triggered at 1000 ms / 5000 s; rx = 0. */
static struct install_confirm *watch_six(const uint8_t ids[static 6])
{
	struct install_confirm *c = install_confirm_new(&(struct confirm_config){ .wait_ms = 40, .max_repairs = 2 });
	struct dp_peer p;
	int i;

	assert_non_null(c);
	rx = 0;
	for (i = 0; i < 6; ++i) {
		p = peer(ids[i]);
		assert_int_equal(install_confirm_watch(c, &p, 1000, 5000), 0);
	}
	return c;
}

/* More than four stuck at once is an overloaded data plane, not a race: nobody is removed. */
static void test_overloaded_waits(void **state)
{
	uint8_t ids[6] = { 11, 12, 13, 14, 15, 16 };
	struct install_confirm *c = watch_six(ids);
	struct confirm_counts k = { 0 };
	struct dp_peer list[6], *rep;
	int64_t hs[6] = { 0 };
	size_t nrep;
	int i;

	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 6), 1040, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 6), 1080, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 0);
	assert_int_equal(k.repaired, 0);
	/* With five of them confirmed, the last one alone is repaired. */
	for (i = 0; i < 5; ++i)
		hs[i] = 5000;
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 6), 1120, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(k.confirmed, 5);
	assert_int_equal(nrep, 1);
	install_confirm_repairs_free(rep, nrep);
	install_confirm_free(c);
}

/*
 * A burst where more than four stay stuck: nobody is ever removed, and after
 * the first look (rx unknown) and four waits each is given up, with no repair
 * made. So given_up counts installs whose handshake did not complete within
 * five looks, not only ones that two repairs did not fix.
 */
static void test_overloaded_gives_up_unrepaired(void **state)
{
	uint8_t ids[6] = { 21, 22, 23, 24, 25, 26 };
	struct install_confirm *c = watch_six(ids);
	struct confirm_counts k = { 0 };
	struct dp_peer list[6], *rep;
	int64_t hs[6] = { 0 };
	size_t nrep;
	int i;

	for (i = 1; i <= 4; ++i) {
		assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 6), 1000 + 40 * (uint64_t)i, 5000, 0,
						       &rep, &nrep, &k), 0);
		assert_int_equal(nrep, 0);
		assert_int_equal(k.given_up, 0);
	}
	assert_int_equal(install_confirm_check(c, list, listing(list, ids, hs, 6), 1200, 5000, 0, &rep, &nrep, &k), 0);
	assert_int_equal(nrep, 0);
	assert_int_equal(k.repaired, 0);
	assert_int_equal(k.given_up, 6);
	assert_int_equal(install_confirm_watched(c), 0);
	install_confirm_free(c);
}

/* Re-watching a key replaces its watch; forget drops it; the table is bounded. */
static void test_rewatch_forget_bounded(void **state)
{
	struct install_confirm *c = install_confirm_new(&(struct confirm_config){ .wait_ms = 40, .max_watched = 4 });
	struct dp_peer p;
	int i;

	for (i = 0; i < 3; ++i) {
		p = peer(7);
		assert_int_equal(install_confirm_watch(c, &p, 1000 + (uint64_t)i, 1), 0);
	}
	assert_int_equal(install_confirm_watched(c), 1);
	assert_int_equal(install_confirm_due(c), 1002 + 40);
	install_confirm_forget(c, p.public_key);
	assert_int_equal(install_confirm_watched(c), 0);
	for (i = 0; i < 10; ++i) {
		p = peer((uint8_t)(20 + i));
		assert_int_equal(install_confirm_watch(c, &p, 1000 + (uint64_t)i, 1), 0);
	}
	assert_int_equal(install_confirm_watched(c), 4);
	assert_int_equal(install_confirm_due(c), 1006 + 40); /* the oldest went first */
	install_confirm_free(c);
}

/* A wait below the flood/timestamp floor is raised to 25 ms. */
static void test_min_wait(void **state)
{
	struct install_confirm *c = install_confirm_new(&(struct confirm_config){ .wait_ms = 5 });
	struct dp_peer p = peer(1);

	assert_int_equal(install_confirm_watch(c, &p, 100, 1), 0);
	assert_int_equal(install_confirm_due(c), 125);
	install_confirm_free(c);
}

/* ---- wired into the install stage -------------------------------------------- */

static struct fake_dp fake;
static struct metrics m;

static struct installer *start_confirming(void)
{
	struct installer_config cfg = {
		.ifname = "wgtest", .idle_timeout = 600, .grace = 30, .revalidate = 300,
		.confirm_ms = 25, .metrics = &m,
	};
	struct dataplane *dp = fake_dp_open(&fake);
	struct installer *ins;

	memset(&m, 0, sizeof(m));
	assert_non_null(dp);
	ins = installer_new(dp, &cfg);
	assert_non_null(ins);
	return ins;
}

static void submit_one(struct installer *ins, uint8_t id)
{
	struct lookup_event ev = { 0 };
	struct peer_record rec = { 0 };
	struct cidr c = { .family = AF_INET, .prefix = 32, .addr = { 10, 0, 0, id } };

	memset(ev.key, id, WG_KEY_LEN);
	memcpy(rec.public_key, ev.key, WG_KEY_LEN);
	ev.src.sin.sin_family = AF_INET;
	ev.src.sin.sin_addr.s_addr = htonl(0xc0000200 + id);
	ev.src.sin.sin_port = htons(40000);
	ev.first_seen = clock_timespec(CLOCK_MONOTONIC);
	rec.allowed_ips = &c;
	rec.n_allowed_ips = 1;
	assert_int_equal(installer_submit(ins, &ev, &rec), 0);
}

#define WAIT_FOR(cond, ms) do {                                         \
		for (int w_ = 0; w_ < (ms) / 5 && !(cond); ++w_)        \
			usleep(5000);                                   \
	} while (0)

/* No handshake ever: removed and initiated again twice (25, then 50 ms), then given up. */
static void test_stage_repairs(void **state)
{
	struct installer *ins = start_confirming();

	submit_one(ins, 5);
	WAIT_FOR(metrics_get(&m.confirm_given_up) == 1, 3000);
	assert_int_equal(metrics_get(&m.confirm_repaired), 2);
	assert_int_equal(metrics_get(&m.confirm_given_up), 1);
	assert_int_equal(metrics_get(&m.installs), 1);
	pthread_mutex_lock(&fake.mu);
	assert_int_equal(fake.remove_calls, 2);
	assert_int_equal(fake.n, 1); /* installed again, not lost */
	assert_int_equal(fake.set_calls, 3); /* the install and two repairs, each one initiating call */
	pthread_mutex_unlock(&fake.mu);
	installer_free(ins);
}

/* A handshake completes: confirmed, nothing removed. */
static void test_stage_confirms(void **state)
{
	struct installer *ins = start_confirming();
	uint8_t k[WG_KEY_LEN];
	struct dp_peer *p = NULL;

	memset(k, 6, WG_KEY_LEN);
	submit_one(ins, 6);
	WAIT_FOR(fake_dp_count(&fake) == 1, 2000);
	pthread_mutex_lock(&fake.mu);
	p = fake_find(&fake, k);
	assert_non_null(p);
	p->last_handshake_sec = time(NULL);
	pthread_mutex_unlock(&fake.mu);
	WAIT_FOR(metrics_get(&m.confirm_confirmed) == 1, 3000);
	assert_int_equal(metrics_get(&m.confirm_confirmed), 1);
	assert_int_equal(metrics_get(&m.confirm_repaired), 0);
	pthread_mutex_lock(&fake.mu);
	assert_int_equal(fake.remove_calls, 0);
	pthread_mutex_unlock(&fake.mu);
	installer_free(ins);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confirm_repair_give_up),
		cmocka_unit_test(test_stale_handshake),
		cmocka_unit_test(test_receiving_not_repaired),
		cmocka_unit_test(test_overloaded_waits),
		cmocka_unit_test(test_overloaded_gives_up_unrepaired),
		cmocka_unit_test(test_rewatch_forget_bounded),
		cmocka_unit_test(test_min_wait),
		cmocka_unit_test(test_stage_repairs),
		cmocka_unit_test(test_stage_confirms),
	};

	(void)fake_dp_add; /* part of the shared fake; no adoption here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
