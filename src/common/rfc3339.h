/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_RFC3339_H
#define JITWG_COMMON_RFC3339_H

#include <stdint.h>

enum { RFC3339_MAX = 32 };
/*
 * RFC 3339 timestamps: "2026-11-21T20:00:00Z", optional fraction (dropped)
 * and a numeric offset. Returns 0 or -EINVAL. Formatting is always UTC "Z".
 */
int rfc3339_parse(int64_t *out, const char *s);
void rfc3339_format(char out[static RFC3339_MAX], int64_t t);

#endif
