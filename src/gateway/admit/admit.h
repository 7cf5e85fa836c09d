/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_ADMIT_ADMIT_H
#define JITWG_GATEWAY_ADMIT_ADMIT_H

/*
 * Admission: per-source-address token buckets in front of identification,
 * shaped like the kernel's ratelimiter (20 packets/s, burst 5; IPv4 by /32,
 * IPv6 by /64). They are enforced only while the gateway is under load:
 * when the overall initiation rate exceeds a generous threshold or the
 * identify queue is filling. So 100 clients behind one NAT address connect
 * at once on a quiet gateway, while a flood from one address is held to
 * its bucket and everyone else's full buckets still pass.
 *
 * Memory is bounded: a fixed set-associative table (8 ways), the set
 * chosen by keyed SipHash of the source, so nobody can aim addresses at
 * one set. A new source in a full set takes over the entry with the least
 * debt left and inherits that debt: an entry whose bucket has refilled is
 * indistinguishable from a fresh one, but churning through many addresses
 * (one /24, many /64s) never buys a full bucket. Such churn can only make
 * the newcomers of a full set share its 8 buckets.
 *
 * Not thread-safe: the admission gate owns it, under its mutex (gate.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct admit_config {
	unsigned int rate;        /* tokens per second per source (20) */
	unsigned int burst;       /* bucket depth (5) */
	unsigned int threshold;   /* initiations/s gateway-wide before buckets engage (500); 0 = always */
	size_t table_size;        /* source entries, rounded up to a power of two (16384) */
};

struct admit;

/* Returns a new admitter (zero fields take defaults) or NULL with errno set. */
struct admit *admit_new(const struct admit_config *cfg);
/* NULL is a no-op. */
void admit_free(struct admit *a);
/* Applies new rate/burst/threshold (table size is kept). */
void admit_reconfigure(struct admit *a, const struct admit_config *cfg);

/*
 * Decides one initiation from src (AF_INET or AF_INET6) at monotonic time
 * now_ns. loaded says the next stage is backing up. Returns true to pass it
 * on. Every call charges the source's bucket, engaged or not, so a flood
 * that started before engagement is already in debt when it engages.
 */
bool admit_check(struct admit *a, const struct sockaddr *src, uint64_t now_ns, bool loaded);

/* True while buckets were enforced on the last admit_check(). */
bool admit_engaged(const struct admit *a);

#endif
