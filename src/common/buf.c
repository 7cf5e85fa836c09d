// SPDX-License-Identifier: MIT
#include "common/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { BUF_MIN_CAP = 256 };

void buf_init(struct buf *b, size_t max, bool wipe)
{
	*b = (struct buf)BUF_INIT(max, wipe);
}

static void release(struct buf *b)
{
	if (b->p && b->wipe)
		explicit_bzero(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	release(b);
}

/* Makes room for n more bytes at the end: compacts, then grows. */
static int reserve(struct buf *b, size_t n)
{
	size_t have = buf_len(b), cap;
	uint8_t *p;

	if (n > b->max || have > b->max - n)
		return -ENOBUFS;
	if (b->cap - b->len >= n)
		return 0;
	if (b->cap - have >= n) { /* the consumed front makes enough room */
		memmove(b->p, b->p + b->off, have);
		if (b->wipe)
			explicit_bzero(b->p + have, b->len - have);
		b->len = have;
		b->off = 0;
		return 0;
	}
	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < have + n)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (cap > b->max && have + n <= b->max)
		cap = b->max; /* a last step never overshoots the maximum */
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	if (have)
		memcpy(p, b->p + b->off, have);
	release(b);
	b->p = p;
	b->cap = cap;
	b->len = have;
	return 0;
}

int buf_reserve(struct buf *b, size_t n, uint8_t **tail)
{
	int ret = reserve(b, n);

	*tail = ret == 0 && b->p ? b->p + b->len : NULL;
	return ret;
}

void buf_added(struct buf *b, size_t n)
{
	b->len += n; /* at most what buf_reserve() made room for */
}

int buf_put(struct buf *b, const void *src, size_t n)
{
	int ret;

	if (n == 0)
		return 0;
	if ((ret = reserve(b, n)) < 0)
		return ret;
	memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

int buf_put_str(struct buf *b, const void *src, size_t n)
{
	int ret;

	if (n == SIZE_MAX)
		return -ENOBUFS;
	if ((ret = reserve(b, n + 1)) < 0)
		return ret;
	memcpy(b->p + b->len, src, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	size_t have = buf_len(b);

	if (n >= have) {
		release(b);
		return;
	}
	if (b->wipe)
		explicit_bzero(b->p + b->off, n);
	b->off += n;
}
