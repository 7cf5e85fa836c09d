/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_GCRA_H
#define JITWG_COMMON_GCRA_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One token bucket, kept as GCRA: the time at which it would be full again
 * (tat), so a check is a comparison and an add, no refill loop and no
 * floats. period_ns is the refill time of one token; a request passes while
 * tat stays within tolerance_ns of now (tolerance = period * (burst - 1)
 * passes exactly burst at once). Not thread-safe: the owner serialises.
 * Times are whatever ns clock the owner uses, as long as it is one clock.
 */
struct gcra {
	uint64_t period_ns, tolerance_ns, tat_ns;
};

/*
 * per_sec tokens a second (> 0), burst (>= 1) of them at once; tat is left
 * as it is, so a running bucket keeps what it owes.
 */
static inline void gcra_set_rate(struct gcra *g, uint64_t per_sec, uint64_t burst)
{
	g->period_ns = 1000000000ULL / per_sec;
	g->tolerance_ns = g->period_ns * (burst - 1);
}

/* True (and a token spent) when a request may pass at now_ns. */
static inline bool gcra_take(struct gcra *g, uint64_t now_ns)
{
	uint64_t tat = g->tat_ns > now_ns ? g->tat_ns : now_ns;

	if (tat - now_ns > g->tolerance_ns)
		return false;
	g->tat_ns = tat + g->period_ns;
	return true;
}

#endif
