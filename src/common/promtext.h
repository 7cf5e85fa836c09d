/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_PROMTEXT_H
#define JITWG_COMMON_PROMTEXT_H

/*
 * A growing text buffer for the Prometheus text exposition format (0.0.4),
 * shared by every binary that serves /metrics. Each metric family is written
 * as "# HELP", "# TYPE", then its samples; the conventions (base units,
 * _total on counters) are the caller's, checked by `promtool check metrics`
 * in tests/integration/promtool_metrics.sh.
 *
 * A failed allocation is remembered and reported once by promtext_finish(),
 * so callers write without checking each step.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct promtext {
	char *p;
	size_t len, cap;
	bool failed;
};

/* Starts an empty buffer (allocation failure is reported by promtext_finish). */
void promtext_init(struct promtext *b);

/* Appends printf-formatted text. */
void promtext_put(struct promtext *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP name help\n# TYPE name type\n". type: counter, gauge, histogram. */
void promtext_family(struct promtext *b, const char *name, const char *type, const char *help);

/*
 * The samples of one histogram series: name_bucket{labels,le=...} for each
 * bound (cumulative counts computed here from per-bucket counts), +Inf,
 * name_sum and name_count. labels is "" or 'a="x",b="y"' (no braces); count
 * is raised to the bucket total so +Inf is never below the last bucket.
 */
void promtext_histogram(struct promtext *b, const char *name, const char *labels, const double *bounds,
			const uint64_t *per_bucket, size_t nbuckets, uint64_t count, double sum);

/* The NUL-terminated text (caller frees), or NULL + errno ENOMEM. */
char *promtext_finish(struct promtext *b);

#endif
