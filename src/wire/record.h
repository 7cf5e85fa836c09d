/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_RECORD_H
#define JITWG_WIRE_RECORD_H

/*
 * A peer record: what the registry stores and serves, what jitwgd caches
 * and installs. The JSON form is the contract in docs/API.md; these
 * functions are the one implementation of it, shared by jitwg-registry,
 * `jitwg peer` and jitwgd's registry client.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/cidr.h"
#include "wire/keys.h"

enum { PEER_GATEWAY_MAX = 64, PEER_LABEL_MAX = 64 };

/* The fields of a record, as bits: what a partial body may carry (PATCH, rotate). */
enum peer_field {
	PEER_F_PUBLIC_KEY = 1 << 0,
	PEER_F_ALLOWED_IPS = 1 << 1,
	PEER_F_GATEWAY = 1 << 2,
	PEER_F_PRESHARED_KEY = 1 << 3,
	PEER_F_KEEPALIVE = 1 << 4,
	PEER_F_EXPIRES_AT = 1 << 5,
	PEER_F_CREATED_AT = 1 << 6,
	PEER_F_NAME = 1 << 7,
	PEER_F_OWNER = 1 << 8,
	PEER_F_ALL = (1 << 9) - 1,
};

struct peer_record {
	uint8_t public_key[WG_KEY_LEN];
	struct cidr *allowed_ips;          /* owned; peer_record_clear() frees */
	size_t n_allowed_ips;
	bool has_gateway;
	char gateway[PEER_GATEWAY_MAX];
	bool has_preshared_key;
	uint8_t preshared_key[WG_KEY_LEN]; /* wiped by peer_record_clear() */
	uint16_t persistent_keepalive;     /* seconds, 0 = off */
	int64_t expires_at;                /* unix seconds, 0 = never */
	int64_t created_at;                /* unix seconds, set by the registry */
	bool has_name;
	char name[PEER_LABEL_MAX];         /* a label for people: peer_label_valid() */
	bool has_owner;
	char owner[PEER_LABEL_MAX];        /* who the peer belongs to: peer_label_valid() */
};

/* Frees allowed_ips, wipes keys, zeroes the struct. NULL is a no-op. */
void peer_record_clear(struct peer_record *r);
/* Deep copy; returns 0 or -ENOMEM. dst must be cleared or zeroed. */
int peer_record_copy(struct peer_record *dst, const struct peer_record *src);

/*
 * Parses a record as the registry serves it (GET /v1/peers/{key}). Strict:
 * unknown fields, wrong types and bad keys/CIDRs are -EINVAL, and *field
 * (when not NULL) names the offending field. Returns 0, -EINVAL or -ENOMEM;
 * on error *out is cleared.
 */
int peer_record_from_json(struct peer_record *out, const char *json, size_t len, const char **field);

/*
 * Parses a partial record: only the members whose bits are in allowed may
 * appear (others are -EINVAL naming them); *present gets the bits of the
 * members given, also as null (a PATCH's "expires_at": null clears).
 * public_key is not required. Same strictness and errors as
 * peer_record_from_json().
 */
int peer_record_fields_from_json(struct peer_record *out, const char *json, size_t len, unsigned int allowed,
				 unsigned int *present, const char **field);

/*
 * Serialises to the JSON object of docs/API.md. Returns a malloc'd
 * NUL-terminated string the caller frees, or NULL with errno set.
 */
char *peer_record_to_json(const struct peer_record *r);

/*
 * Same object as peer_record_to_json(), for callers that embed it in a larger
 * document (the list endpoint). Returns a new json_object reference the caller
 * puts (json_object_put), or NULL with errno set. Declared with a forward
 * struct so users of this header need not include json-c.
 */
struct json_object;
struct json_object *peer_record_to_json_object(const struct peer_record *r);

/*
 * True when two records describe the same peer configuration: key, allowed IPs
 * (as a set), gateway, preshared key, keepalive, expiry, name and owner. created_at is not
 * compared. Constant time in the preshared key.
 */
bool peer_record_equal(const struct peer_record *a, const struct peer_record *b);

/* True for a valid gateway name: 1-63 of [A-Za-z0-9._-]. */
bool peer_gateway_valid(const char *name);
/* True for a valid name or owner: 1-63 of [A-Za-z0-9._-@]. */
bool peer_label_valid(const char *label);

#endif
