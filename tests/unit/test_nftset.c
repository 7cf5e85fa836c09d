// SPDX-License-Identifier: MIT
/*
 * The admission set's pure parts: --admit-set parsing, the element key
 * nftables stores for a concatenation, and the mirror (holders per
 * endpoint, the re-count after a sweep, refresh, rebuild after a failure)
 * over a recording backend. The nftables backend itself is exercised by
 * tests/integration/gw_nftgate.sh against the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/netfilter.h>

#include "gateway/install/nftset.h"

static void test_spec(void **state)
{
	struct nftset_spec sp;
	char err[NFTSET_ERR_MAX];

	assert_int_equal(nftset_spec_parse("inet:jitwg:admit", &sp, err), 0);
	assert_int_equal(sp.family, NFPROTO_INET);
	assert_string_equal(sp.table, "jitwg");
	assert_string_equal(sp.prefix, "admit");
	assert_int_equal(nftset_spec_parse("ip:t_1:a-b", &sp, err), 0);
	assert_int_equal(sp.family, NFPROTO_IPV4);
	assert_int_equal(nftset_spec_parse("ip6:T:x", &sp, err), 0);
	assert_int_equal(sp.family, NFPROTO_IPV6);
	/* 30 characters is the most: the set names append 4 / 6 */
	assert_int_equal(nftset_spec_parse("inet:t:abcdefghijabcdefghijabcdefghij", &sp, err), 0);

	static const char *const bad[] = {
		"", "inet", "inet:jitwg", "inet:jitwg:admit:x", "bridge:jitwg:admit", "netdev:j:a", "INET:j:a",
		"inet::admit", "inet:jitwg:", "inet:1abc:admit", "inet:jitwg:ad;mit", "inet:jit wg:admit",
		"inet:jitwg:abcdefghijabcdefghijabcdefghijk", ":jitwg:admit", "inet:jitwg:admit\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
		err[0] = '\0';
		assert_int_equal(nftset_spec_parse(bad[i], &sp, err), -EINVAL);
		assert_non_null(strstr(err, "--admit-set"));
	}
}

static union dp_endpoint ep4(const char *a, uint16_t port)
{
	union dp_endpoint e;

	memset(&e, 0, sizeof(e));
	e.addr4.sin_family = AF_INET;
	inet_pton(AF_INET, a, &e.addr4.sin_addr);
	e.addr4.sin_port = htons(port);
	return e;
}

static union dp_endpoint ep6(const char *a, uint16_t port)
{
	union dp_endpoint e;

	memset(&e, 0, sizeof(e));
	e.addr6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &e.addr6.sin6_addr);
	e.addr6.sin6_port = htons(port);
	e.addr6.sin6_scope_id = 7; /* not part of the key */
	return e;
}

static void test_key(void **state)
{
	uint8_t k[NFTSET_KEY_MAX];
	union dp_endpoint e = ep4("192.168.77.2", 51820), none;
	static const uint8_t want4[8] = { 192, 168, 77, 2, 0xca, 0x6c, 0, 0 };
	static const uint8_t want6[20] = { 0xfd, 0xaa, [15] = 2, [16] = 0x01, [17] = 0xbb };

	assert_int_equal(nftset_key_encode(&e, k), 8);
	assert_memory_equal(k, want4, 8);
	e = ep6("fdaa::2", 443);
	assert_int_equal(nftset_key_encode(&e, k), 20);
	assert_memory_equal(k, want6, 20);
	memset(&none, 0, sizeof(none));
	assert_int_equal(nftset_key_encode(&none, k), 0);
}

/* ---- the mirror over a recording backend ---- */

struct rec {
	int calls, fail_next;
	bool flush;
	size_t n;
	struct nftset_op ops[64];
	uint64_t timeout_ms;
};

static int rec_apply(void *ctx, bool flush, const struct nftset_op *ops, size_t n, uint64_t timeout_ms)
{
	struct rec *r = ctx;

	r->calls++;
	if (r->fail_next) {
		r->fail_next--;
		return -ENOENT;
	}
	r->flush = flush;
	r->n = n < 64 ? n : 64;
	if (r->n)
		memcpy(r->ops, ops, r->n * sizeof(*ops));
	r->timeout_ms = timeout_ms;
	return 0;
}

/* How many ops of kind for ep the last apply carried. */
static int has(const struct rec *r, enum nftset_op_kind kind, const union dp_endpoint *ep)
{
	int c = 0;

	for (size_t i = 0; i < r->n; ++i)
		if (r->ops[i].kind == kind && dataplane_endpoint_equal(&r->ops[i].ep, ep))
			c++;
	return c;
}

static struct nftset *mirror(struct rec *r, struct metrics *m)
{
	struct nftset_backend be = { .apply = rec_apply, .ctx = r };
	struct nftset *s = nftset_new(&be, m);

	assert_non_null(s);
	return s;
}

static void test_start_rebuilds(void **state)
{
	struct metrics m = { 0 };
	struct rec r = { 0 };
	struct nftset *s = mirror(&r, &m);
	union dp_endpoint a = ep4("10.0.0.1", 1000), b = ep6("fd00::1", 2000);

	/* The first sync (the adoption sweep) empties the set and puts what the data plane has. */
	nftset_sync_begin(s);
	nftset_sync_hold(s, &a);
	nftset_sync_hold(s, &b);
	nftset_sync_end(s, 1000, 60000);
	assert_int_equal(nftset_commit(s, 1000, 60000), 0);
	assert_int_equal(r.calls, 1);
	assert_true(r.flush);
	assert_int_equal(r.n, 2);
	assert_int_equal(has(&r, NFTSET_PUT, &a), 1);
	assert_int_equal(has(&r, NFTSET_PUT, &b), 1);
	assert_int_equal(r.timeout_ms, 60000);
	assert_int_equal(nftset_count(s), 2);
	assert_int_equal(m.admit_set_elements, 2);
	assert_int_equal(m.admit_set_writes, 2);
	/* Nothing queued: no write at all. */
	assert_int_equal(nftset_commit(s, 1001, 60000), 0);
	assert_int_equal(r.calls, 1);
	/* An empty data plane still flushes at start. */
	nftset_free(s);
	memset(&r, 0, sizeof(r));
	s = mirror(&r, &m);
	nftset_sync_begin(s);
	nftset_sync_end(s, 1000, 60000);
	assert_int_equal(nftset_commit(s, 1000, 60000), 0);
	assert_int_equal(r.calls, 1);
	assert_true(r.flush);
	assert_int_equal(r.n, 0);
	nftset_free(s);
}

static void test_holders(void **state)
{
	struct metrics m = { 0 };
	struct rec r = { 0 };
	struct nftset *s = mirror(&r, &m);
	union dp_endpoint nat = ep4("10.0.0.1", 1000), other = ep4("10.0.0.1", 1001), none;

	nftset_sync_begin(s);
	nftset_sync_end(s, 0, 60000);
	nftset_commit(s, 0, 60000);
	/* Two peers behind one NAT endpoint: one put; the element stays until both are gone. */
	nftset_hold(s, &nat);
	nftset_hold(s, &nat);
	nftset_hold(s, &other);
	assert_int_equal(nftset_commit(s, 10, 60000), 0);
	assert_false(r.flush);
	assert_int_equal(r.n, 2);
	assert_int_equal(has(&r, NFTSET_PUT, &nat), 1);
	assert_int_equal(has(&r, NFTSET_PUT, &other), 1);
	nftset_release(s, &nat);
	assert_int_equal(nftset_commit(s, 20, 60000), 0);
	assert_int_equal(r.calls, 2); /* one holder left: nothing to write */
	nftset_release(s, &nat);
	assert_int_equal(nftset_commit(s, 30, 60000), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(has(&r, NFTSET_DEL, &nat), 1);
	assert_int_equal(nftset_count(s), 1);
	/* Released then held again before a commit: one put, no delete. */
	nftset_release(s, &other);
	nftset_hold(s, &other);
	assert_int_equal(nftset_commit(s, 40, 60000), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(has(&r, NFTSET_PUT, &other), 1);
	/* Unknown endpoints and endpoints without a family are ignored. */
	memset(&none, 0, sizeof(none));
	nftset_release(s, &nat);
	nftset_hold(s, &none);
	nftset_release(s, &none);
	assert_int_equal(nftset_commit(s, 50, 60000), 0);
	assert_int_equal(r.calls, 4);
	assert_int_equal(nftset_count(s), 1);
	nftset_free(s);
}

static void test_sync_recount_and_refresh(void **state)
{
	struct metrics m = { 0 };
	struct rec r = { 0 };
	struct nftset *s = mirror(&r, &m);
	union dp_endpoint a = ep4("10.0.0.1", 1), b = ep4("10.0.0.2", 2), c = ep4("10.0.0.3", 3);

	nftset_sync_begin(s);
	nftset_sync_end(s, 0, 60000);
	nftset_commit(s, 0, 60000);
	nftset_hold(s, &a);
	nftset_hold(s, &b);
	nftset_commit(s, 1000, 60000);
	/*
	 * A sweep: b vanished from the data plane, a's peer roamed to c (the data
	 * plane moved it). Young elements are not rewritten.
	 */
	nftset_sync_begin(s);
	nftset_sync_hold(s, &c);
	nftset_sync_end(s, 2000, 60000);
	assert_int_equal(nftset_commit(s, 2000, 60000), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(has(&r, NFTSET_PUT, &c), 1);
	assert_int_equal(has(&r, NFTSET_DEL, &a), 1);
	assert_int_equal(has(&r, NFTSET_DEL, &b), 1);
	assert_int_equal(nftset_count(s), 1);
	/* The same sweep again before half the timeout: no write. */
	nftset_sync_begin(s);
	nftset_sync_hold(s, &c);
	nftset_sync_end(s, 31999, 60000);
	assert_int_equal(nftset_commit(s, 31999, 60000), 0);
	assert_int_equal(r.calls, 3);
	/* At half the timeout: put again (fresh timeout). */
	nftset_sync_begin(s);
	nftset_sync_hold(s, &c);
	nftset_sync_end(s, 32000, 60000);
	assert_int_equal(nftset_commit(s, 32000, 60000), 0);
	assert_int_equal(r.calls, 4);
	assert_false(r.flush);
	assert_int_equal(has(&r, NFTSET_PUT, &c), 1);
	/* A release after the re-count still works from the recounted holders. */
	nftset_release(s, &c);
	assert_int_equal(nftset_commit(s, 33000, 60000), 0);
	assert_int_equal(has(&r, NFTSET_DEL, &c), 1);
	assert_int_equal(nftset_count(s), 0);
	nftset_free(s);
}

static void test_failure_rebuilds(void **state)
{
	struct metrics m = { 0 };
	struct rec r = { 0 };
	struct nftset *s = mirror(&r, &m);
	union dp_endpoint a = ep4("10.0.0.1", 1), b = ep4("10.0.0.2", 2);

	nftset_sync_begin(s);
	nftset_sync_end(s, 0, 60000);
	nftset_commit(s, 0, 60000);
	nftset_hold(s, &a);
	nftset_commit(s, 10, 60000);
	/* The ruleset was removed: the write fails, is counted, and the next sync rebuilds. */
	r.fail_next = 1;
	nftset_hold(s, &b);
	nftset_release(s, &a);
	assert_int_equal(nftset_commit(s, 20, 60000), -ENOENT);
	assert_int_equal(m.admit_set_errors, 1);
	assert_int_equal(nftset_count(s), 1);
	nftset_sync_begin(s);
	nftset_sync_hold(s, &b);
	nftset_sync_end(s, 30, 60000);
	assert_int_equal(nftset_commit(s, 30, 60000), 0);
	assert_true(r.flush);
	assert_int_equal(r.n, 1);
	assert_int_equal(has(&r, NFTSET_PUT, &b), 1);
	/* SIGHUP asks for the same. */
	nftset_resync(s);
	nftset_sync_begin(s);
	nftset_sync_hold(s, &b);
	nftset_sync_end(s, 40, 60000);
	assert_int_equal(nftset_commit(s, 40, 60000), 0);
	assert_true(r.flush);
	assert_int_equal(has(&r, NFTSET_PUT, &b), 1);
	assert_int_equal(m.admit_set_errors, 1);
	nftset_free(s);
}

static void test_many(void **state)
{
	struct metrics m = { 0 };
	struct rec r = { 0 };
	struct nftset *s = mirror(&r, &m);
	union dp_endpoint e;
	uint32_t i;

	/* Past the initial bucket count (the table grows), every endpoint distinct. */
	nftset_sync_begin(s);
	for (i = 0; i < 5000; ++i) {
		e = ep4("10.0.0.0", (uint16_t)(i % 60000 + 1));
		e.addr4.sin_addr.s_addr = htonl(0x0a000000u + i / 7);
		nftset_sync_hold(s, &e);
	}
	nftset_sync_end(s, 0, 60000);
	assert_int_equal(nftset_commit(s, 0, 60000), 0);
	assert_int_equal(nftset_count(s), 5000);
	assert_int_equal(m.admit_set_writes, 5000);
	for (i = 0; i < 5000; ++i) {
		e = ep4("10.0.0.0", (uint16_t)(i % 60000 + 1));
		e.addr4.sin_addr.s_addr = htonl(0x0a000000u + i / 7);
		nftset_release(s, &e);
	}
	assert_int_equal(nftset_commit(s, 1, 60000), 0);
	assert_int_equal(nftset_count(s), 0);
	assert_int_equal(m.admit_set_elements, 0);
	nftset_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_start_rebuilds),
		cmocka_unit_test(test_holders),
		cmocka_unit_test(test_sync_recount_and_refresh),
		cmocka_unit_test(test_failure_rebuilds),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
