// SPDX-License-Identifier: MIT
/* Eviction policy, sweep bookkeeping (adopt, vanish, plan) and the peer table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/install/evict.h"
#include "gateway/install/peertab.h"

static void mkkey(uint8_t k[WG_KEY_LEN], uint32_t i)
{
	memset(k, 0, WG_KEY_LEN);
	memcpy(k, &i, sizeof(i));
	memcpy(k + 8, &i, sizeof(i));
	k[31] = 0x42;
}

static void test_interval(void **state)
{
	assert_int_equal(evict_interval_ms(600), 150000);
	assert_int_equal(evict_interval_ms(2), 1000);
	assert_int_equal(evict_interval_ms(1), 1000);
}

static void test_policy(void **state)
{
	struct evict_policy pol = { .idle_timeout = 600, .grace = 30 };
	struct peer_state p = { 0 };
	int64_t now = 1000000;

	p.installed_at = now - 10;  /* fresh install, no handshake yet: within grace */
	assert_false(evict_is_due(&pol, &p, now));
	assert_false(evict_is_stale(&pol, &p, now));
	p.installed_at = now - 31;  /* never completed a handshake, grace over */
	assert_true(evict_is_due(&pol, &p, now));
	p.last_handshake = now - 100; /* active */
	assert_false(evict_is_due(&pol, &p, now));
	p.installed_at = now - 5000;
	p.last_handshake = now - 601; /* idle */
	assert_true(evict_is_due(&pol, &p, now));
	assert_true(evict_is_stale(&pol, &p, now));
	p.installed_at = now - 1;     /* idle but just re-installed: grace */
	assert_false(evict_is_due(&pol, &p, now));
}

static void test_sweep(void **state)
{
	struct evict_policy pol = { .idle_timeout = 60, .grace = 10 };
	struct peertab *t = peertab_new();
	struct evict_plan plan = { 0 };
	struct dp_peer peers[3];
	struct peer_state *p;
	uint8_t gone[WG_KEY_LEN];
	int64_t now = 500000;
	bool created;

	memset(peers, 0, sizeof(peers));
	mkkey(peers[0].public_key, 1); /* ours, active */
	mkkey(peers[1].public_key, 2); /* ours, idle */
	mkkey(peers[2].public_key, 3); /* someone else's: adopted */
	mkkey(gone, 4);                /* ours, removed behind our back */
	peers[2].endpoint.addr4.sin_family = AF_INET;
	peers[2].endpoint.addr4.sin_port = htons(51820);
	peers[2].endpoint.addr4.sin_addr.s_addr = htonl(0xc0a80002);
	peers[0].last_handshake_sec = now - 5;
	peers[1].last_handshake_sec = now - 100;
	p = peertab_get(t, peers[0].public_key, &created);
	assert_true(created);
	p->installed_at = now - 1000;
	peertab_get(t, peers[1].public_key, NULL)->installed_at = now - 1000;
	peertab_get(t, gone, NULL)->installed_at = now - 1000;
	assert_int_equal(peertab_count(t), 3);

	assert_int_equal(evict_sweep(t, &pol, peers, 3, now, 42, 1, &plan), 0);
	assert_int_equal(plan.adopted, 1);
	assert_int_equal(plan.vanished, 1);
	assert_int_equal(plan.n_victims, 1);
	assert_memory_equal(plan.victims[0], peers[1].public_key, WG_KEY_LEN);
	assert_int_equal(plan.stale, 1);
	assert_null(peertab_find(t, gone));
	p = peertab_find(t, peers[2].public_key);
	assert_non_null(p);
	assert_true(p->adopted);
	assert_int_equal(p->installed_at, now);
	/* The replay guard of an adopted peer restores the endpoint it was adopted with. */
	assert_true(dataplane_endpoint_equal(&p->trusted, &peers[2].endpoint));
	/* The adopted peer ages out normally: after grace with no handshake it is due. */
	assert_int_equal(evict_sweep(t, &pol, peers, 3, now + 11, 43, 2, &plan), 0);
	assert_int_equal(plan.n_victims, 2);
	evict_plan_clear(&plan);
	peertab_free(t);
}

/* Traffic keeps a peer whose last handshake is older than a short idle timeout. */
static void test_activity(void **state)
{
	struct evict_policy pol = { .idle_timeout = 8, .grace = 2 };
	struct peertab *t = peertab_new();
	struct evict_plan plan = { 0 };
	struct dp_peer peer;
	int64_t now = 900000;

	memset(&peer, 0, sizeof(peer));
	mkkey(peer.public_key, 9);
	peer.last_handshake_sec = now - 5;
	peer.rx_bytes = 100;
	assert_int_equal(evict_sweep(t, &pol, &peer, 1, now, 1, 1, &plan), 0);
	peertab_find(t, peer.public_key)->installed_at = now - 100;
	peer.rx_bytes = 500;  /* busy */
	assert_int_equal(evict_sweep(t, &pol, &peer, 1, now + 10, 2, 2, &plan), 0);
	assert_int_equal(plan.n_victims, 0);
	assert_int_equal(plan.stale, 0);
	/* then silent for longer than the timeout */
	assert_int_equal(evict_sweep(t, &pol, &peer, 1, now + 19, 3, 3, &plan), 0);
	assert_int_equal(plan.n_victims, 1);
	evict_plan_clear(&plan);
	peertab_free(t);
}

static void test_peertab_many(void **state)
{
	struct peertab *t = peertab_new();
	uint8_t k[WG_KEY_LEN];
	uint32_t i;

	for (i = 0; i < 20000; ++i) {
		mkkey(k, i);
		assert_non_null(peertab_get(t, k, NULL));
	}
	assert_int_equal(peertab_count(t), 20000);
	for (i = 0; i < 20000; i += 2) {
		mkkey(k, i);
		peertab_del(t, k);
	}
	assert_int_equal(peertab_count(t), 10000);
	mkkey(k, 3);
	assert_non_null(peertab_find(t, k));
	mkkey(k, 4);
	assert_null(peertab_find(t, k));
	peertab_free(t);
	peertab_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_activity),
		cmocka_unit_test(test_peertab_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
