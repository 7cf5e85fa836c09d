// SPDX-License-Identifier: MIT
/*
 * jitwg peer rotate and update: a new key for an existing peer (its
 * addresses, name, owner and gateway move with it; the old key is revoked in
 * the same transaction) and a change of some fields (PATCH). Both print the
 * registry's new record, parsed by the shared peer_record_from_json().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/peer.h"
#include "common/rfc3339.h"

/* Sends body to path with method; prints verb and the record on 200. Exit status. */
static int send_edit(struct opts *o, const char *method, const char *path, const char *body, const char *verb)
{
	struct regapi *reg = peer_connect_registry(o);
	char *resp = NULL;
	long st;
	int ret = 1;

	if (!reg)
		return 1;
	st = peer_call(reg, o, method, path, body, &resp);
	if (st == 200) {
		if (!o->json)
			printf("%s\n", verb);
		ret = peer_show_record(o, resp, NULL);
	} else if (st >= 0) {
		ret = peer_registry_error(st, resp);
	}
	regapi_free(reg);
	free(resp);
	return ret;
}

/* Adds a member; false when out of memory (the value is consumed). */
static bool add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v)) {
		json_object_put(v);
		return false;
	}
	return true;
}

int peer_rotate(struct opts *o)
{
	uint8_t old[WG_KEY_LEN], nk[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN + 1], *path = NULL, *body = NULL;
	int ret = 2;

	if (peer_parse_pubkey(o->public_key, old, "--public-key") ||
	    peer_parse_pubkey(o->new_public_key, nk, "--new-public-key"))
		return 2;
	if (key_equal(old, nk)) {
		peer_fail("--new-public-key: the same key as --public-key");
		return 2;
	}
	key_to_base64(b64, nk);
	path = peer_key_path(old);
	ret = 1;
	if (!path || asprintf(&body, "{\"public_key\":\"%s\"}", b64) < 0 ||
	    !(path = realloc(path, strlen(path) + sizeof("/rotate")))) {
		peer_fail("out of memory");
		body = NULL;
		goto out;
	}
	strcat(path, "/rotate");
	ret = send_edit(o, "POST", path, body, "rotated");
out:
	free(path);
	free(body);
	return ret;
}

/* The PATCH body from the options given; NULL after printing why (*status: 1 or 2). */
static char *patch_body(const struct opts *o, int *status)
{
	struct json_object *b = json_object_new_object(), *ips;
	struct cidr *c = NULL;
	char text[CIDR_STR_MAX], *out = NULL;
	bool has = false, ok = b != NULL;
	char label[PEER_LABEL_MAX];
	int64_t t;
	size_t i, n = 0;

	*status = 2;
	if (o->allowed_ips) {
		if (peer_parse_cidrs(o->allowed_ips, &c, &n, "--allowed-ips"))
			goto out;
		ips = json_object_new_array();
		for (i = 0; ips && i < n; ++i) {
			cidr_format(text, &c[i]);
			json_object_array_add(ips, json_object_new_string(text));
		}
		ok = ok && add(b, "allowed_ips", ips);
	}
	if (o->expires) {
		if (!strcmp(o->expires, "never")) {
			ok = ok && !json_object_object_add(b, "expires_at", NULL);
		} else if (rfc3339_parse(&t, o->expires) || t <= 0) {
			peer_fail("--expires: want an RFC 3339 time such as 2030-01-31T12:00:00Z, or never");
			goto out;
		} else {
			rfc3339_format(text, t);
			ok = ok && add(b, "expires_at", json_object_new_string(text));
		}
	}
	if (o->seen & O_KEEPALIVE)
		ok = ok && add(b, "persistent_keepalive", json_object_new_int(o->keepalive));
	if (peer_parse_label(o->name, "--name", &has, label))
		goto out;
	if (o->name)
		ok = ok && add(b, "name", json_object_new_string(label));
	if (peer_parse_label(o->owner, "--owner", &has, label))
		goto out;
	if (o->owner)
		ok = ok && add(b, "owner", json_object_new_string(label));
	if (ok && !json_object_object_length(b)) {
		peer_fail("nothing to change: give --allowed-ips, --expires, --persistent-keepalive, --name or --owner");
		goto out;
	}
	*status = 1;
	out = ok ? strdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN)) : NULL;
	if (!out)
		peer_fail("out of memory");
out:
	json_object_put(b);
	free(c);
	return out;
}

int peer_update(struct opts *o)
{
	uint8_t key[WG_KEY_LEN];
	char *path = NULL, *body;
	int ret;

	if (peer_parse_pubkey(o->public_key, key, "--public-key"))
		return 2;
	body = patch_body(o, &ret);
	if (!body)
		return ret;
	path = peer_key_path(key);
	if (!path) {
		peer_fail("out of memory");
		ret = 1;
	} else {
		ret = send_edit(o, "PATCH", path, body, "updated");
	}
	free(path);
	free(body);
	return ret;
}
