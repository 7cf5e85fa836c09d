// SPDX-License-Identifier: MIT
#include "wire/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static size_t addr_len(uint16_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* True when every bit of addr past the first prefix bits is zero. */
static bool host_bits_zero(const uint8_t *addr, size_t len, unsigned int prefix)
{
	size_t i;

	for (i = 0; i < len; ++i) {
		unsigned int bit = (unsigned int)i * 8;
		uint8_t mask = prefix >= bit + 8 ? 0xff : prefix <= bit ? 0 : (uint8_t)(0xff << (8 - (prefix - bit)));

		if (addr[i] & ~mask)
			return false;
	}
	return true;
}

int cidr_parse_why(struct cidr *out, const char *s, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	unsigned long prefix;
	const char *reason = "not an IPv4 or IPv6 address";
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!s)
		goto err;
	n = strlen(s);
	if (n == 0 || n >= sizeof(buf)) {
		reason = n ? "too long for an address/prefix" : "empty";
		goto err;
	}
	memcpy(buf, s, n + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto err;
	prefix = addr_len(out->family) * 8;
	if (slash) {
		/* digits only: strtoul would accept "+8", " 8" and "0x8" */
		reason = "the prefix length after '/' must be a decimal number";
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			goto err;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end)
			goto err;
		if (prefix > addr_len(out->family) * 8) {
			reason = out->family == AF_INET ? "the prefix length is over 32 (IPv4)"
							: "the prefix length is over 128 (IPv6)";
			goto err;
		}
	}
	out->prefix = (uint8_t)prefix;
	if (!host_bits_zero(out->addr, addr_len(out->family), out->prefix)) {
		reason = "host bits must be zero (the address past the prefix length)";
		goto err;
	}
	if (why)
		*why = NULL;
	return 0;
err:
	memset(out, 0, sizeof(*out));
	if (why)
		*why = reason;
	return -EINVAL;
}

int cidr_parse(struct cidr *out, const char *s)
{
	return cidr_parse_why(out, s, NULL);
}

void cidr_format(char out[static CIDR_STR_MAX], const struct cidr *c)
{
	char addr[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, addr, sizeof(addr)))
		strcpy(addr, "?");
	snprintf(out, CIDR_STR_MAX, "%s/%u", addr, c->prefix);
}

bool cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	unsigned int p = a->prefix < b->prefix ? a->prefix : b->prefix;
	size_t i;

	if (a->family != b->family)
		return false;
	/* Two prefixes overlap iff they agree on the shorter one's bits. */
	for (i = 0; i < addr_len(a->family) && p > 0; ++i, p = p > 8 ? p - 8 : 0) {
		uint8_t mask = p >= 8 ? 0xff : (uint8_t)(0xff << (8 - p));

		if ((a->addr[i] ^ b->addr[i]) & mask)
			return false;
	}
	return true;
}

bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       !memcmp(a->addr, b->addr, addr_len(a->family));
}

bool cidr_contains(const struct cidr *c, const struct sockaddr *sa)
{
	struct cidr host = { .family = sa->sa_family };

	if (sa->sa_family == AF_INET)
		memcpy(host.addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(host.addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return false;
	host.prefix = (uint8_t)(addr_len(host.family) * 8);
	return cidr_overlap(c, &host);
}

int cidr_list_parse(const char *text, struct cidr **out, size_t *n)
{
	struct cidr *list = NULL;
	char one[CIDR_STR_MAX + 1];
	const char *p = text, *comma;
	size_t cap = 1, i = 0, len;
	int ret = -EINVAL;

	*out = NULL;
	*n = 0;
	if (!*text)
		return 0;
	for (comma = text; *comma; ++comma)
		cap += *comma == ',';
	list = calloc(cap, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= sizeof(one))
			goto out;
		memcpy(one, p, len);
		one[len] = '\0';
		if (cidr_parse(&list[i++], one) < 0)
			goto out;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = list;
	*n = i;
	list = NULL;
	ret = 0;
out:
	free(list);
	return ret;
}

int cidr_list_format(const struct cidr *c, size_t n, char **out)
{
	char *s = malloc(n * (CIDR_STR_MAX + 1) + 1), *p;
	size_t i;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	p = s;
	*p = '\0';
	for (i = 0; i < n; ++i) {
		if (i)
			*p++ = ',';
		cidr_format(p, &c[i]);
		p += strlen(p);
	}
	*out = s;
	return 0;
}
