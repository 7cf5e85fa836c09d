// SPDX-License-Identifier: MIT
/*
 * Changes to an existing peer: an update of some fields (PATCH) and a key
 * rotation. Each is one write transaction that removes the old row (a
 * tombstone in the feed) and inserts the new one, so the feed, the ranges
 * and the overlap check need nothing beyond what create and delete use:
 *
 *   update: the tombstone and the put share (key, gateway); the feed is
 *           compacted, so readers see one put of the whole new record;
 *   rotate: a delete of the old key, then a put of the new one, at
 *           consecutive sequence numbers.
 */
#include "registry/store.h"
#include "registry/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The live record with this key, or -ENOENT (unknown or expired). */
static int get_live(const struct store_backend *be, struct store_conn *c, const uint8_t key[static WG_KEY_LEN],
		    int64_t now, struct peer_record *out)
{
	int ret = store_db_get(be, c, key, out);

	if (!ret && store_expired(out->expires_at, now)) {
		peer_record_clear(out);
		ret = -ENOENT;
	}
	return ret;
}

/* Replaces the old record by r: remove, overlap check of r's addresses, insert. */
static int replace(const struct store_backend *be, struct store_conn *c, const uint8_t old_key[static WG_KEY_LEN],
		   const struct peer_record *r, int64_t now, uint8_t conflict[WG_KEY_LEN])
{
	size_t i;
	int ret = store_db_remove(be, c, old_key, now);

	for (i = 0; !ret && i < r->n_allowed_ips; ++i)
		ret = store_check_free(be, c, &r->allowed_ips[i], now, conflict);
	return ret ? ret : store_db_insert(be, c, r);
}

/* The fields of patch named by present, applied to r. 0 or -ENOMEM. */
static int apply(struct peer_record *r, const struct peer_record *patch, unsigned int present)
{
	struct cidr *ips;

	if (present & PEER_F_ALLOWED_IPS) {
		ips = calloc(patch->n_allowed_ips ? patch->n_allowed_ips : 1, sizeof(*ips));
		if (!ips)
			return -ENOMEM;
		memcpy(ips, patch->allowed_ips, patch->n_allowed_ips * sizeof(*ips));
		free(r->allowed_ips);
		r->allowed_ips = ips;
		r->n_allowed_ips = patch->n_allowed_ips;
	}
	if (present & PEER_F_EXPIRES_AT)
		r->expires_at = patch->expires_at;
	if (present & PEER_F_KEEPALIVE)
		r->persistent_keepalive = patch->persistent_keepalive;
	if (present & PEER_F_NAME) {
		r->has_name = patch->has_name;
		memcpy(r->name, patch->name, sizeof(r->name));
	}
	if (present & PEER_F_OWNER) {
		r->has_owner = patch->has_owner;
		memcpy(r->owner, patch->owner, sizeof(r->owner));
	}
	return 0;
}

int store_peer_update(struct store *s, const uint8_t key[static WG_KEY_LEN], const struct peer_record *patch,
		      unsigned int present, int64_t now, const struct store_who *who, struct peer_record *out,
		      uint8_t conflict[WG_KEY_LEN])
{
	struct peer_record old = { 0 };
	char kt[WG_KEY_B64_LEN + 1], detail[64];
	bool changed = false;
	struct slot *sl;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = store_write_begin(s, &sl);
	if (ret)
		return ret;
	ret = get_live(s->be, sl->c, key, now, &old);
	if (!ret)
		ret = peer_record_copy(out, &old);
	if (!ret)
		ret = apply(out, patch, present);
	if (!ret && !peer_record_equal(out, &old)) {
		changed = true;
		ret = replace(s->be, sl->c, key, out, now, conflict);
		if (!ret) {
			store_key_text(kt, key);
			snprintf(detail, sizeof(detail), "fields%s%s%s%s%s", present & PEER_F_ALLOWED_IPS ? " allowed_ips" : "",
				 present & PEER_F_EXPIRES_AT ? " expires_at" : "", present & PEER_F_NAME ? " name" : "",
				 present & PEER_F_OWNER ? " owner" : "",
				 present & PEER_F_KEEPALIVE ? " persistent_keepalive" : "");
			ret = store_audit_add(s->be, sl->c, now, who, "update", kt, detail);
		}
	}
	ret = store_write_end(s, sl, ret, changed);
	peer_record_clear(&old);
	if (ret)
		peer_record_clear(out);
	return ret;
}

int store_peer_rotate(struct store *s, const uint8_t old_key[static WG_KEY_LEN],
		      const uint8_t new_key[static WG_KEY_LEN], const uint8_t *psk, int64_t now,
		      const struct store_who *who, struct peer_record *out)
{
	struct peer_record other = { 0 };
	char kt[WG_KEY_B64_LEN + 1], detail[WG_KEY_B64_LEN + 8];
	struct slot *sl;
	int ret;

	memset(out, 0, sizeof(*out));
	if (key_equal(old_key, new_key))
		return -EEXIST;
	ret = store_write_begin(s, &sl);
	if (ret)
		return ret;
	ret = get_live(s->be, sl->c, old_key, now, out);
	if (ret)
		goto out;
	ret = store_db_get(s->be, sl->c, new_key, &other);
	if (!ret && !store_expired(other.expires_at, now)) {
		ret = -EEXIST;
		goto out;
	}
	if (!ret)
		ret = store_db_remove(s->be, sl->c, new_key, now);
	else if (ret == -ENOENT)
		ret = 0;
	if (ret)
		goto out;
	memcpy(out->public_key, new_key, WG_KEY_LEN);
	out->has_preshared_key = psk != NULL;
	if (psk)
		memcpy(out->preshared_key, psk, WG_KEY_LEN);
	else
		explicit_bzero(out->preshared_key, WG_KEY_LEN);
	out->created_at = now;
	ret = replace(s->be, sl->c, old_key, out, now, NULL);
	if (!ret) {
		store_key_text(kt, old_key);
		store_key_text(detail + 4, new_key);
		memcpy(detail, "new ", 4);
		ret = store_audit_add(s->be, sl->c, now, who, "rotate", kt, detail);
	}
out:
	ret = store_write_end(s, sl, ret, true);
	peer_record_clear(&other);
	if (ret)
		peer_record_clear(out);
	return ret;
}
