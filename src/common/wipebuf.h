/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_WIPEBUF_H
#define JITWG_COMMON_WIPEBUF_H

#include <stddef.h>

/*
 * A growable byte buffer for text that may hold secrets (UAPI set requests
 * with preshared keys, registry replies). It never goes through realloc():
 * every block it lets go of is wiped first. Start from { 0 }.
 */
struct wipebuf {
	char *p;         /* NULL until the first append; then NUL-terminated */
	size_t len, cap; /* len excludes the terminating NUL */
};

/*
 * Appends len bytes of s and keeps a NUL after them. Returns 0 or -ENOMEM,
 * in which case b is unchanged. Not thread-safe on one buffer.
 */
int wipebuf_append(struct wipebuf *b, const void *s, size_t len);
/* Wipes and frees the block; b is empty ({ 0 }) afterwards. */
void wipebuf_free(struct wipebuf *b);

#endif
