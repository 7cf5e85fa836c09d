/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_BUF_H
#define JITWG_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The one bounded byte buffer for bytes that input makes grow (after
 * OpenSSH's sshbuf): its owner sets a hard maximum, the data sits at
 * p[off..len), consuming from the front is O(1) and the space is compacted
 * before the buffer grows. Memory follows the data: the block grows by
 * doubling as bytes arrive (never past max) and is released once the
 * buffer is empty, so an idle owner holds nothing. A buffer made with
 * wipe = true (it may hold secrets) never goes through realloc(): every
 * block it lets go of is wiped first. Not thread-safe on one buffer.
 *
 * Start from BUF_INIT(max, wipe) (or buf_init()); end with buf_free().
 */
struct buf {
	uint8_t *p;
	size_t off, len, cap; /* data p[off..len); block of cap bytes */
	size_t max;           /* the most data the buffer will hold */
	bool wipe;
};

#define BUF_INIT(max_, wipe_) { .p = NULL, .off = 0, .len = 0, .cap = 0, .max = (max_), .wipe = (wipe_) }

void buf_init(struct buf *b, size_t max, bool wipe);

/* Bytes held, and where they start (NULL when empty). */
static inline size_t buf_len(const struct buf *b) { return b->len - b->off; }
static inline const uint8_t *buf_data(const struct buf *b) { return b->p ? b->p + b->off : NULL; }
/* How many more bytes the maximum allows. */
static inline size_t buf_room(const struct buf *b) { return b->max - buf_len(b); }

/*
 * Appends n bytes of src. Returns 0; -ENOBUFS when they would take the
 * buffer past its maximum; -ENOMEM. On error b is unchanged.
 */
int buf_put(struct buf *b, const void *src, size_t n);

/*
 * Appends n bytes and a NUL after them (not counted in buf_len; the
 * maximum leaves room for it), so the data reads as a C string. Same
 * returns as buf_put().
 */
int buf_put_str(struct buf *b, const void *src, size_t n);

/*
 * For reading straight into the buffer: makes room for n more bytes at the
 * end and returns where they go in *tail; buf_added() then counts the ones
 * actually written. Same returns as buf_put().
 */
int buf_reserve(struct buf *b, size_t n, uint8_t **tail);
void buf_added(struct buf *b, size_t n);

/* Drops n bytes (at most buf_len) from the front; an emptied buffer frees its block. */
void buf_consume(struct buf *b, size_t n);

/* Wipes (when the buffer says so) and frees the block; max and wipe stay. */
void buf_free(struct buf *b);

#endif
