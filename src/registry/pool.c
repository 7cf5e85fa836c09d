// SPDX-License-Identifier: MIT
#include "registry/pool.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

size_t pool_addr_len(uint16_t family)
{
	return family == AF_INET ? 4 : 16;
}

void pool_cidr_bounds(const struct cidr *c, uint8_t lo[static 16], uint8_t hi[static 16])
{
	size_t i, n = pool_addr_len(c->family);

	memset(lo, 0, 16);
	memset(hi, 0, 16);
	for (i = 0; i < n; ++i) {
		unsigned int bit = (unsigned int)i * 8;
		uint8_t mask = c->prefix >= bit + 8 ? 0xff :
			       c->prefix <= bit     ? 0 :
						      (uint8_t)(0xff << (8 - (c->prefix - bit)));

		lo[i] = c->addr[i] & mask;
		hi[i] = (uint8_t)(lo[i] | (uint8_t)~mask);
	}
}

bool pool_addr_inc(uint8_t *a, size_t len)
{
	size_t i = len;

	while (i-- > 0) {
		if (++a[i] != 0)
			return true;
	}
	return false;
}

static void addr_dec(uint8_t *a, size_t len)
{
	size_t i = len;

	while (i-- > 0) {
		if (a[i]-- != 0)
			return;
	}
}

void pool_bounds(const struct pool *p, int fam, uint8_t first[static 16], uint8_t last[static 16])
{
	const struct cidr *c = &p->net[fam];
	size_t n = pool_addr_len(c->family);

	pool_cidr_bounds(c, first, last);
	pool_addr_inc(first, n); /* network address */
	pool_addr_inc(first, n); /* gateway's own address */
	if (c->family == AF_INET)
		addr_dec(last, n); /* broadcast */
}

int pool_parse(struct pool *out, const char *spec, const char **why)
{
	char buf[2 * CIDR_STR_MAX + 2], *part, *save = NULL;
	struct cidr c;
	int fam;

	memset(out, 0, sizeof(*out));
	if (strlen(spec) >= sizeof(buf)) {
		*why = "too long";
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		if (cidr_parse(&c, part)) {
			*why = "not a CIDR prefix with zero host bits";
			goto err;
		}
		fam = c.family == AF_INET ? POOL_V4 : POOL_V6;
		if (out->has[fam]) {
			*why = "more than one prefix of a family";
			goto err;
		}
		if ((fam == POOL_V4 && c.prefix > 30) || (fam == POOL_V6 && c.prefix > 126)) {
			*why = "prefix too small to allocate from";
			goto err;
		}
		out->has[fam] = true;
		out->net[fam] = c;
	}
	if (!out->has[POOL_V4] && !out->has[POOL_V6]) {
		*why = "empty";
		goto err;
	}
	return 0;
err:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}
