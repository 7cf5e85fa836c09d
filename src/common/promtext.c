// SPDX-License-Identifier: MIT
#include "common/promtext.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void promtext_init(struct promtext *b)
{
	b->len = 0;
	b->cap = 4096;
	b->failed = false;
	b->p = malloc(b->cap);
	if (!b->p)
		b->failed = true;
	else
		b->p[0] = '\0';
}

void promtext_put(struct promtext *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

void promtext_family(struct promtext *b, const char *name, const char *type, const char *help)
{
	promtext_put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void promtext_histogram(struct promtext *b, const char *name, const char *labels, const double *bounds,
			const uint64_t *per_bucket, size_t nbuckets, uint64_t count, double sum)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < nbuckets; ++i) {
		cum += per_bucket[i];
		promtext_put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
			     (unsigned long long)cum);
	}
	if (count < cum)
		count = cum;
	promtext_put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)count);
	if (*labels) {
		promtext_put(b, "%s_sum{%s} %.6f\n", name, labels, sum);
		promtext_put(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)count);
	} else {
		promtext_put(b, "%s_sum %.6f\n", name, sum);
		promtext_put(b, "%s_count %llu\n", name, (unsigned long long)count);
	}
}

char *promtext_finish(struct promtext *b)
{
	if (b->failed) {
		free(b->p);
		b->p = NULL;
		errno = ENOMEM;
		return NULL;
	}
	return b->p;
}
