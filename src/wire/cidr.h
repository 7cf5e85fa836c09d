/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_CIDR_H
#define JITWG_WIRE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 prefix. Pure value type; addr holds 4 or 16 bytes. */
struct cidr {
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix;  /* 0..32 or 0..128 */
	uint8_t addr[16];
};

enum { CIDR_STR_MAX = 44 }; /* "ffff:...:ffff/128" plus NUL */

/*
 * Parses "a.b.c.d/n" or "x::y/n"; a bare address means a host prefix.
 * Host bits beyond the prefix must be zero (one spelling per prefix), so
 * "10.0.0.1/24" is -EINVAL. Returns 0 or -EINVAL.
 */
int cidr_parse(struct cidr *out, const char *s);
/*
 * cidr_parse() that also says why a string is refused: *why is a static
 * English reason ("not an IPv4 or IPv6 address", "the prefix length is over
 * 32 (IPv4)", "host bits must be zero ...") on -EINVAL, NULL on success.
 */
int cidr_parse_why(struct cidr *out, const char *s, const char **why);
/* Formats in canonical inet_ntop form with "/n". */
void cidr_format(char out[static CIDR_STR_MAX], const struct cidr *c);
/* True when the two prefixes share any address. */
bool cidr_overlap(const struct cidr *a, const struct cidr *b);
/* True when a and b are the same prefix. */
bool cidr_equal(const struct cidr *a, const struct cidr *b);

struct sockaddr;
/* True when sa (AF_INET or AF_INET6; any other family: false) lies in c. */
bool cidr_contains(const struct cidr *c, const struct sockaddr *sa);

/*
 * The comma-separated list form ("10.0.0.1/32,fd00::1/128") that the
 * registry's store and jitwgd's cache keep in one text column. Parse takes
 * no spaces and no empty items; "" is the empty list (*out NULL, *n 0).
 * *out is the caller's to free(). Returns 0, -EINVAL or -ENOMEM; on error
 * *out is NULL and *n is 0.
 */
int cidr_list_parse(const char *text, struct cidr **out, size_t *n);
/* Formats n prefixes into a malloc'd string (caller frees). 0 or -ENOMEM. */
int cidr_list_format(const struct cidr *c, size_t n, char **out);

#endif
