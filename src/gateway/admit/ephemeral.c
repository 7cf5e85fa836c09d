// SPDX-License-Identifier: MIT
#include "gateway/admit/ephemeral.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/siphash.h"

enum { PROBES = 16, EPH_OFF = 8, EPH_LEN = 32 };

struct ephemeral_filter {
	uint64_t *gen[2];      /* gen[cur] is recorded into; 0 = empty slot */
	unsigned cur;
	size_t mask;
	uint64_t window_ns, started_ns;
	bool started;
	uint64_t full;
	struct siphash_key key;
};

struct ephemeral_filter *ephemeral_filter_new(size_t slots, uint64_t window_ns)
{
	struct ephemeral_filter *f = calloc(1, sizeof(*f));
	size_t n = 1024;

	if (!f)
		return NULL;
	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	f->mask = n - 1;
	f->window_ns = window_ns;
	f->gen[0] = calloc(n, sizeof(uint64_t));
	f->gen[1] = calloc(n, sizeof(uint64_t));
	if (!f->gen[0] || !f->gen[1] || siphash_key_random(&f->key)) {
		int e = errno ? errno : EIO;

		ephemeral_filter_free(f);
		errno = e;
		return NULL;
	}
	return f;
}

void ephemeral_filter_free(struct ephemeral_filter *f)
{
	if (!f)
		return;
	free(f->gen[0]);
	free(f->gen[1]);
	explicit_bzero(&f->key, sizeof(f->key));
	free(f);
}

static bool find(const uint64_t *g, size_t mask, uint64_t fp)
{
	size_t i;

	for (i = 0; i < PROBES; ++i) {
		uint64_t v = g[(fp + i) & mask];

		if (v == fp)
			return true;
		if (!v)
			return false;
	}
	return false;
}

bool ephemeral_filter_seen(struct ephemeral_filter *f, const uint8_t *msg, unsigned source,
			   uint64_t now_ns)
{
	uint8_t in[EPH_LEN + 1];
	uint64_t fp, *g;
	size_t i;

	/* Age: the older generation goes, the current one becomes it. */
	if (!f->started || now_ns - f->started_ns >= f->window_ns) {
		if (f->started) {
			f->cur ^= 1;
			memset(f->gen[f->cur], 0, (f->mask + 1) * sizeof(uint64_t));
		}
		f->started = true;
		f->started_ns = now_ns;
	}
	memcpy(in, msg + EPH_OFF, EPH_LEN);
	in[EPH_LEN] = (uint8_t)source;
	fp = siphash24(&f->key, in, sizeof(in)) | 1; /* 0 marks an empty slot */
	if (find(f->gen[f->cur], f->mask, fp) || find(f->gen[f->cur ^ 1], f->mask, fp))
		return true;
	g = f->gen[f->cur];
	for (i = 0; i < PROBES; ++i) {
		uint64_t *slot = &g[(fp + i) & f->mask];

		if (!*slot) {
			*slot = fp;
			return false;
		}
	}
	f->full++;
	return false;
}

uint64_t ephemeral_filter_full(const struct ephemeral_filter *f)
{
	return f->full;
}
