/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CLI_PEER_H
#define JITWG_CLI_PEER_H

/*
 * What jitwg peer's files share: peer.c (add, get, list, del, the option
 * parser and the dispatch), peer-edit.c (rotate, update) and peer-config.c
 * (config: a wg-quick file for a new client). Every helper below prints its own one-line error through
 * peer_fail(); callers only choose the exit status.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/regapi.h"
#include "wire/cidr.h"
#include "wire/keys.h"
#include "wire/record.h"

enum opt_bit {
	O_REGISTRY = 1 << 0,
	O_TOKEN = 1 << 1,
	O_PUBKEY = 1 << 2,
	O_ALLOWED = 1 << 3,
	O_GATEWAY = 1 << 4,
	O_EXPIRES = 1 << 5,
	O_JSON = 1 << 6,
	O_KEEPALIVE = 1 << 7,
	O_GWKEY = 1 << 8,
	O_ENDPOINT = 1 << 9,
	O_PRIVKEY = 1 << 10,
	O_ROUTE = 1 << 11,
	O_OUTPUT = 1 << 12,
	O_LIMIT = 1 << 13,
	O_WEBSOCKET = 1 << 14,
	O_NEWKEY = 1 << 15,
	O_NAME = 1 << 16,
	O_OWNER = 1 << 17,
	O_FORCE = 1 << 18,
	O_QR = 1 << 19,
	O_MTU = 1 << 20,
	O_DNS = 1 << 21,
};

struct opts {
	unsigned int seen;
	const char *registry, *token_file, *public_key, *allowed_ips, *gateway, *expires;
	const char *gw_key, *endpoint, *private_key, *route, *output, *limit;
	const char *websocket; /* config: reach the gateway through jitwg tunnel */
	const char *new_public_key, *name, *owner; /* rotate, update, add, list */
	const char *dns;       /* config: DNS = ... */
	long keepalive, mtu;
	bool json, force, qr;
};

/* "jitwg peer SUBCOMMAND: <message>" on stderr. */
void peer_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A registry client for o->registry and o->token_file; NULL after printing why. */
struct regapi *peer_connect_registry(const struct opts *o);

/*
 * One request; returns the HTTP status, or -1 after printing why the
 * registry could not be reached. *resp is the body (caller frees).
 */
long peer_call(struct regapi *r, const struct opts *o, const char *method, const char *path, const char *body,
	       char **resp);

/* Prints the registry's error for a non-2xx answer; returns exit status 1. */
int peer_registry_error(long status, const char *body);

/*
 * Parses a record the registry sent and prints it (human or raw JSON), or,
 * with keep, hands it over without printing (caller clears it). 0 or 1.
 */
int peer_show_record(const struct opts *o, const char *body, struct peer_record *keep);

/* A --name or --owner value (NULL: not given) into out; -EINVAL after printing opt's error. */
int peer_parse_label(const char *s, const char *opt, bool *has, char out[static PEER_LABEL_MAX]);

/* A public key in base64 or base64url; -EINVAL after printing opt's error. */
int peer_parse_pubkey(const char *s, uint8_t key[static WG_KEY_LEN], const char *opt);

/* "a,b,c" of CIDRs into a new array (caller frees); -EINVAL after printing. */
int peer_parse_cidrs(const char *list, struct cidr **out, size_t *n, const char *opt);

/* jitwg peer config (peer-config.c): exit status 0, 1 or 2. */
int peer_config(struct opts *o);

/* jitwg peer rotate and update (peer-edit.c): exit status 0, 1 or 2. */
int peer_rotate(struct opts *o);
int peer_update(struct opts *o);

/* "/v1/peers/<base64url key>" (caller frees), or NULL when out of memory. */
char *peer_key_path(const uint8_t key[static WG_KEY_LEN]);

#endif
