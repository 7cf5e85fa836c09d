/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_NFTSET_H
#define JITWG_GATEWAY_INSTALL_NFTSET_H

/*
 * The data plane's admission set (--admit-set FAMILY:TABLE:PREFIX): an
 * nftables set of the endpoints (address . port) of the installed peers.
 * The operator's ruleset (packaging/nftables/jitwg.nft) drops handshake
 * initiations to the WireGuard port whose source is not in it, in
 * prerouting before the data plane's socket; jitwgd's AF_PACKET capture
 * still sees them (docs/ARCHITECTURE.md, "Handshake floods").
 *
 * A mirror: the install stage holds one reference per installed peer on
 * its endpoint (hold/release as installs land and peers go, a full
 * re-count after every sweep), and the kernel set gets an element per
 * endpoint with at least one holder. Changes are queued and written by
 * nftset_commit() as one netlink batch (libnftnl over libmnl), never per
 * packet. Elements carry a timeout (set by the caller, 2 x idle timeout)
 * so a dead jitwgd's set empties itself; live ones are re-put before
 * half of it has run.
 *
 * Endpoints come from authenticated, registry-approved initiations or
 * from the data plane's own listing, one per installed peer: the table
 * is a plain chained hash.
 *
 * Not thread-safe: the install stage's thread owns it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dataplane/dataplane.h"
#include "gateway/core/metrics.h"

enum {
	NFTSET_NAME_MAX = 32,     /* table name and set prefix, NUL included */
	NFTSET_KEY_MAX = 20,      /* ipv6_addr . inet_service: 16 + 2, padded to 4 */
	NFTSET_ERR_MAX = 256,
};

/* What --admit-set names. family is NFPROTO_INET, NFPROTO_IPV4 or NFPROTO_IPV6. */
struct nftset_spec {
	uint8_t family;
	char table[NFTSET_NAME_MAX];
	char prefix[NFTSET_NAME_MAX]; /* sets PREFIX4 and PREFIX6 (only the family's for ip/ip6) */
};

/*
 * Parses "FAMILY:TABLE:PREFIX" (family inet, ip or ip6; names of letters,
 * digits, '_' and '-', starting with a letter, at most 30 characters).
 * Returns 0, or -EINVAL with a one-line reason in err. Pure.
 */
int nftset_spec_parse(const char *s, struct nftset_spec *out, char err[NFTSET_ERR_MAX]);

/*
 * The set key of an endpoint, as nftables stores a concatenation: each
 * field padded to 4 bytes, address then port, both in network order.
 * Returns the length (8 for IPv4, 20 for IPv6) or 0 for another family.
 * Pure.
 */
size_t nftset_key_encode(const union dp_endpoint *ep, uint8_t out[NFTSET_KEY_MAX]);

enum nftset_op_kind {
	NFTSET_PUT = 1, /* present afterwards, with a fresh timeout */
	NFTSET_DEL,     /* absent afterwards (also when it was absent) */
};

struct nftset_op {
	enum nftset_op_kind kind;
	union dp_endpoint ep;
};

/*
 * The writer behind the mirror (a seam, so tests can watch what is
 * written). apply() makes the kernel set match: when flush is set, first
 * empty the sets; then every op, in one transaction per chunk. Returns 0
 * or -errno; on error nothing of the failed chunk was applied.
 */
struct nftset_backend {
	int (*apply)(void *ctx, bool flush, const struct nftset_op *ops, size_t n, uint64_t timeout_ms);
	void (*free)(void *ctx);
	void *ctx;
};

struct nftset;

/*
 * Opens a netlink socket and checks that the spec's sets exist with the
 * right key types and the timeout flag. Nothing is written. Returns NULL
 * with errno set and a one-line reason in err on failure. m's admit-set
 * counters are used; m is not owned.
 */
struct nftset *nftset_open(const struct nftset_spec *spec, struct metrics *m, char err[NFTSET_ERR_MAX]);

/* A mirror over any backend (taken over, freed by nftset_free()); for tests. NULL + errno on failure. */
struct nftset *nftset_new(const struct nftset_backend *be, struct metrics *m);

/* NULL is a no-op. Leaves the kernel set as it is (its timeouts empty it). */
void nftset_free(struct nftset *s);

/* One more holder of ep (first one: queue a put). An endpoint without a family is ignored. */
void nftset_hold(struct nftset *s, const union dp_endpoint *ep);

/* One holder less (last one: queue a delete). Unknown endpoints are ignored. */
void nftset_release(struct nftset *s, const union dp_endpoint *ep);

/*
 * A full re-count, after a sweep: begin, then sync_hold() once per
 * installed peer's endpoint, then sync_end(), which queues a delete for
 * each endpoint nobody holds any more and a put for each new one and each
 * put more than timeout_ms / 2 ago. After a failed commit (or
 * nftset_resync()) the next sync_end() empties the sets and puts every
 * endpoint again.
 */
void nftset_sync_begin(struct nftset *s);
void nftset_sync_hold(struct nftset *s, const union dp_endpoint *ep);
void nftset_sync_end(struct nftset *s, uint64_t now_ms, uint64_t timeout_ms);

/* Asks the next sync_end() for a full rebuild (start-up, SIGHUP: the ruleset may have been reloaded). */
void nftset_resync(struct nftset *s);

/*
 * Writes what is queued. Returns 0 (also when nothing was queued) or the
 * backend's -errno; a failure is counted (jitwg_admit_set_errors_total),
 * logged at most once a minute, and arms a full rebuild at the next sync.
 * Never retries inline: the install path does not wait on the set.
 */
int nftset_commit(struct nftset *s, uint64_t now_ms, uint64_t timeout_ms);

/* Endpoints in the mirror (what the gauge jitwg_admit_set_elements shows). */
size_t nftset_count(const struct nftset *s);

#endif
