// SPDX-License-Identifier: MIT
/*
 * The peer record and its JSON form (docs/API.md). One parser serves the
 * registry's request bodies, `jitwg peer` and jitwgd's registry client, so
 * the three can never disagree about what a record is.
 */
#include "wire/record.h"

#include "common/rfc3339.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <json-c/json.h>

enum {
	JSON_DEPTH = 8,           /* a record nests two levels; leave headroom */
	ALLOWED_IPS_MAX = 256,    /* more is a config mistake, not a peer */
};

void peer_record_clear(struct peer_record *r)
{
	if (!r)
		return;
	free(r->allowed_ips);
	explicit_bzero(r, sizeof(*r));
}

int peer_record_copy(struct peer_record *dst, const struct peer_record *src)
{
	struct cidr *ips = NULL;

	if (src->n_allowed_ips) {
		ips = calloc(src->n_allowed_ips, sizeof(*ips));
		if (!ips)
			return -ENOMEM;
		memcpy(ips, src->allowed_ips, src->n_allowed_ips * sizeof(*ips));
	}
	*dst = *src;
	dst->allowed_ips = ips;
	return 0;
}

/* 1 to max-1 characters, each alphanumeric or in extra. */
static bool charset_valid(const char *s, size_t max, const char *extra)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (i = 0; i < n; ++i)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

bool peer_gateway_valid(const char *name)
{
	return charset_valid(name, PEER_GATEWAY_MAX, "._-");
}

bool peer_label_valid(const char *label)
{
	return charset_valid(label, PEER_LABEL_MAX, "._-@");
}

static bool label_equal(bool ha, const char *a, bool hb, const char *b)
{
	return ha == hb && (!ha || !strcmp(a, b));
}

static bool ips_contain(const struct peer_record *r, const struct cidr *c)
{
	size_t i;

	for (i = 0; i < r->n_allowed_ips; ++i)
		if (cidr_equal(&r->allowed_ips[i], c))
			return true;
	return false;
}

bool peer_record_equal(const struct peer_record *a, const struct peer_record *b)
{
	size_t i;

	if (!key_equal(a->public_key, b->public_key))
		return false;
	if (a->n_allowed_ips != b->n_allowed_ips)
		return false;
	/* Entries within one record never overlap, so set equality is one-way containment. */
	for (i = 0; i < a->n_allowed_ips; ++i)
		if (!ips_contain(b, &a->allowed_ips[i]))
			return false;
	if (!label_equal(a->has_gateway, a->gateway, b->has_gateway, b->gateway) ||
	    !label_equal(a->has_name, a->name, b->has_name, b->name) ||
	    !label_equal(a->has_owner, a->owner, b->has_owner, b->owner))
		return false;
	if (a->has_preshared_key != b->has_preshared_key)
		return false;
	if (a->has_preshared_key && !key_equal(a->preshared_key, b->preshared_key))
		return false;
	return a->persistent_keepalive == b->persistent_keepalive && a->expires_at == b->expires_at;
}

/* ---- JSON ------------------------------------------------------------------ */

/* Names an unknown field for the caller; valid until this thread's next parse. */
static __thread char unknown_field[PEER_GATEWAY_MAX];

static const char *name_unknown(const char *k)
{
	snprintf(unknown_field, sizeof(unknown_field), "%s", k);
	return unknown_field;
}

/* A JSON string without embedded NUL bytes (json-c allows "\u0000"). */
static const char *plain_string(struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

static int parse_allowed_ips(struct peer_record *r, struct json_object *v)
{
	size_t i, j, n;

	if (!json_object_is_type(v, json_type_array))
		return -EINVAL;
	n = json_object_array_length(v);
	if (n > ALLOWED_IPS_MAX)
		return -EINVAL;
	if (n == 0)
		return 0;
	r->allowed_ips = calloc(n, sizeof(*r->allowed_ips));
	if (!r->allowed_ips)
		return -ENOMEM;
	for (i = 0; i < n; ++i) {
		const char *s = plain_string(json_object_array_get_idx(v, i));

		if (!s || cidr_parse(&r->allowed_ips[i], s))
			return -EINVAL;
		/* The registry guarantees disjoint prefixes; that starts within a record. */
		for (j = 0; j < i; ++j)
			if (cidr_overlap(&r->allowed_ips[i], &r->allowed_ips[j]))
				return -EINVAL;
		r->n_allowed_ips = i + 1;
	}
	return 0;
}

/* A name or owner: null leaves it unset. */
static int parse_label(bool *has, char out[static PEER_LABEL_MAX], struct json_object *v)
{
	const char *s;

	if (json_object_is_type(v, json_type_null))
		return 0;
	s = plain_string(v);
	if (!s || !peer_label_valid(s))
		return -EINVAL;
	memcpy(out, s, strlen(s) + 1);
	*has = true;
	return 0;
}

static const struct {
	const char *name;
	unsigned int bit;
} field_bits[] = {
	{ "public_key", PEER_F_PUBLIC_KEY }, { "allowed_ips", PEER_F_ALLOWED_IPS },
	{ "gateway", PEER_F_GATEWAY }, { "preshared_key", PEER_F_PRESHARED_KEY },
	{ "persistent_keepalive", PEER_F_KEEPALIVE }, { "expires_at", PEER_F_EXPIRES_AT },
	{ "created_at", PEER_F_CREATED_AT }, { "name", PEER_F_NAME }, { "owner", PEER_F_OWNER },
};

static unsigned int field_bit(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(field_bits) / sizeof(field_bits[0]); ++i)
		if (!strcmp(k, field_bits[i].name))
			return field_bits[i].bit;
	return 0;
}

static int parse_field(struct peer_record *r, const char *k, struct json_object *v)
{
	bool null = json_object_is_type(v, json_type_null);
	const char *s;
	int64_t t;

	if (!strcmp(k, "public_key")) {
		s = plain_string(v);
		if (!s || key_from_base64(r->public_key, s) || key_is_zero(r->public_key))
			return -EINVAL;
	} else if (!strcmp(k, "name")) {
		return parse_label(&r->has_name, r->name, v);
	} else if (!strcmp(k, "owner")) {
		return parse_label(&r->has_owner, r->owner, v);
	} else if (!strcmp(k, "allowed_ips")) {
		return null ? 0 : parse_allowed_ips(r, v);
	} else if (!strcmp(k, "gateway")) {
		if (null)
			return 0;
		s = plain_string(v);
		if (!s || !peer_gateway_valid(s))
			return -EINVAL;
		memcpy(r->gateway, s, strlen(s) + 1);
		r->has_gateway = true;
	} else if (!strcmp(k, "preshared_key")) {
		if (null)
			return 0;
		s = plain_string(v);
		if (!s || key_from_base64(r->preshared_key, s))
			return -EINVAL;
		r->has_preshared_key = true;
	} else if (!strcmp(k, "persistent_keepalive")) {
		if (null)
			return 0;
		if (!json_object_is_type(v, json_type_int))
			return -EINVAL;
		t = json_object_get_int64(v);
		if (t < 0 || t > UINT16_MAX)
			return -EINVAL;
		r->persistent_keepalive = (uint16_t)t;
	} else if (!strcmp(k, "expires_at") || !strcmp(k, "created_at")) {
		if (null)
			return 0;
		s = plain_string(v);
		if (!s || rfc3339_parse(&t, s) || t <= 0)
			return -EINVAL;
		if (k[0] == 'e')
			r->expires_at = t;
		else
			r->created_at = t;
	} else {
		return -ENOENT;
	}
	return 0;
}

static bool only_space(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; ++i)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/*
 * json-c's strict mode still takes single-quoted strings; RFC 8259 does not.
 * A quote outside any double-quoted string is the only way to write one.
 */
static bool single_quoted(const char *s, size_t n)
{
	bool in_str = false;
	size_t i;

	for (i = 0; i < n; ++i) {
		if (in_str && s[i] == '\\')
			++i;
		else if (s[i] == '"')
			in_str = !in_str;
		else if (!in_str && s[i] == '\'')
			return true;
	}
	return false;
}

/*
 * Members of the top-level object as written, counted on text json-c has
 * already accepted: one ':' at depth 1 outside strings per member. json-c
 * keeps only the last of duplicate names, so fewer parsed members than
 * written means a name was repeated, and the record would be ambiguous.
 */
static size_t members_written(const char *s, size_t n)
{
	size_t i, count = 0;
	bool in_str = false;
	int depth = 0;

	for (i = 0; i < n; ++i) {
		if (in_str) {
			if (s[i] == '\\')
				++i;
			else if (s[i] == '"')
				in_str = false;
		} else if (s[i] == '"') {
			in_str = true;
		} else if (s[i] == '{' || s[i] == '[') {
			++depth;
		} else if (s[i] == '}' || s[i] == ']') {
			--depth;
		} else if (s[i] == ':' && depth == 1) {
			++count;
		}
	}
	return count;
}

int peer_record_from_json(struct peer_record *out, const char *json, size_t len, const char **field)
{
	unsigned int present;
	int ret = peer_record_fields_from_json(out, json, len, PEER_F_ALL, &present, field);

	if (!ret && !(present & PEER_F_PUBLIC_KEY)) {
		peer_record_clear(out);
		if (field)
			*field = "public_key";
		ret = -EINVAL;
	}
	return ret;
}

int peer_record_fields_from_json(struct peer_record *out, const char *json, size_t len, unsigned int allowed,
				 unsigned int *present, const char **field)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL, *psk;
	const char *bad = "body";
	unsigned int bit;
	size_t end;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	*present = 0;
	if (len > INT_MAX || single_quoted(json, len))
		goto out;
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok) {
		ret = -ENOMEM;
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	end = json_tokener_get_parse_end(tok);
	if (end > len || !only_space(json + end, len - end) || !json_object_is_type(obj, json_type_object))
		goto out;
	if (members_written(json, end) != (size_t)json_object_object_length(obj))
		goto out; /* a repeated member name */
	{
		json_object_object_foreach(obj, k, v) {
			bit = field_bit(k);
			ret = (bit & allowed) ? parse_field(out, k, v) : -ENOENT;
			*present |= bit;
			if (ret) {
				/* k belongs to obj, which is freed below: name a copy */
				bad = name_unknown(k);
				ret = ret == -ENOMEM ? -ENOMEM : -EINVAL;
				goto out;
			}
		}
	}
	ret = 0;
out:
	/* The preshared key's base64 sits in json-c's string buffer: wipe it. */
	if (obj && json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, "preshared_key", &psk) && json_object_is_type(psk, json_type_string))
		explicit_bzero((char *)json_object_get_string(psk), (size_t)json_object_get_string_len(psk));
	json_object_put(obj);
	if (tok)
		json_tokener_free(tok);
	if (ret) {
		peer_record_clear(out);
		if (field)
			*field = bad;
	} else if (field) {
		*field = NULL;
	}
	return ret;
}

static int add_string(struct json_object *o, const char *k, const char *v)
{
	struct json_object *s = json_object_new_string(v);

	if (!s || json_object_object_add(o, k, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *peer_record_to_json_object(const struct peer_record *r)
{
	struct json_object *o = json_object_new_object(), *ips = NULL, *n;
	char key[WG_KEY_B64_LEN + 1], cidr[CIDR_STR_MAX], ts[RFC3339_MAX];
	size_t i;
	int ret = -ENOMEM;

	if (!o)
		goto out;
	key_to_base64(key, r->public_key);
	if (add_string(o, "public_key", key))
		goto out;
	ips = json_object_new_array();
	if (!ips)
		goto out;
	for (i = 0; i < r->n_allowed_ips; ++i) {
		cidr_format(cidr, &r->allowed_ips[i]);
		n = json_object_new_string(cidr);
		if (!n || json_object_array_add(ips, n)) {
			json_object_put(n);
			goto out;
		}
	}
	if (json_object_object_add(o, "allowed_ips", ips))
		goto out;
	ips = NULL;
	if (r->has_gateway && add_string(o, "gateway", r->gateway))
		goto out;
	if (r->has_name && add_string(o, "name", r->name))
		goto out;
	if (r->has_owner && add_string(o, "owner", r->owner))
		goto out;
	if (r->has_preshared_key) {
		key_to_base64(key, r->preshared_key);
		if (add_string(o, "preshared_key", key))
			goto out;
	}
	n = json_object_new_int(r->persistent_keepalive);
	if (!n || json_object_object_add(o, "persistent_keepalive", n)) {
		json_object_put(n);
		goto out;
	}
	if (r->expires_at) {
		rfc3339_format(ts, r->expires_at);
		if (add_string(o, "expires_at", ts))
			goto out;
	}
	if (r->created_at) {
		rfc3339_format(ts, r->created_at);
		if (add_string(o, "created_at", ts))
			goto out;
	}
	ret = 0;
out:
	explicit_bzero(key, sizeof(key));
	json_object_put(ips);
	if (ret) {
		json_object_put(o);
		errno = -ret;
		return NULL;
	}
	return o;
}

char *peer_record_to_json(const struct peer_record *r)
{
	struct json_object *o = peer_record_to_json_object(r);
	const char *s;
	char *dup = NULL;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s) {
		dup = strdup(s);
		explicit_bzero((char *)s, strlen(s));
	}
	json_object_put(o);
	if (!dup)
		errno = ENOMEM;
	return dup;
}
