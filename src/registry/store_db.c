// SPDX-License-Identifier: MIT
/*
 * The data model's primitives (store.h, "store_db_"), written once over a
 * backend's exec() and the statement catalogue (store_sql.c), so SQLite and
 * PostgreSQL read and write rows the same way. Rows arrive as store_val
 * columns; every length is checked before a byte is copied.
 */
#include "registry/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static struct store_val v_int(int64_t i)
{
	return (struct store_val){ .type = STORE_INT, .i = i };
}

static struct store_val v_blob(const void *p, size_t len)
{
	return (struct store_val){ .type = STORE_BLOB, .p = p, .len = len };
}

/* Text, or SQL NULL for a NULL pointer. */
static struct store_val v_text(const char *s)
{
	return s ? (struct store_val){ .type = STORE_TEXT, .p = s, .len = strlen(s) } : (struct store_val){ 0 };
}

static int64_t col_int(const struct store_val *v)
{
	return v->type == STORE_INT ? v->i : 0;
}

/* A text or NULL column into a NUL-terminated buffer of max bytes: 0 (*has set), -EIO too long. */
static int col_label(const struct store_val *v, bool *has, char *out, size_t max)
{
	*has = false;
	if (v->type == STORE_NULL)
		return 0;
	if (v->type != STORE_TEXT || v->len >= max)
		return -EIO;
	memcpy(out, v->p, v->len);
	out[v->len] = '\0';
	*has = true;
	return 0;
}

/* Columns PEER_COLS into *r (zeroed first; the caller clears it on error). */
static int cols_to_record(const struct store_val *c, struct peer_record *r)
{
	char *ips;
	int ret;

	memset(r, 0, sizeof(*r));
	if (c[0].type != STORE_BLOB || c[0].len != WG_KEY_LEN)
		return -EIO;
	memcpy(r->public_key, c[0].p, WG_KEY_LEN);
	if (col_label(&c[1], &r->has_gateway, r->gateway, sizeof(r->gateway)) ||
	    col_label(&c[7], &r->has_name, r->name, sizeof(r->name)) ||
	    col_label(&c[8], &r->has_owner, r->owner, sizeof(r->owner)))
		return -EIO;
	if (c[2].type != STORE_NULL) {
		if (c[2].type != STORE_BLOB || c[2].len != WG_KEY_LEN)
			return -EIO;
		memcpy(r->preshared_key, c[2].p, WG_KEY_LEN);
		r->has_preshared_key = true;
	}
	r->persistent_keepalive = (uint16_t)col_int(&c[3]);
	r->expires_at = col_int(&c[4]);
	r->created_at = col_int(&c[5]);
	if (c[6].type != STORE_TEXT && c[6].type != STORE_NULL)
		return -EIO;
	ips = strndup(c[6].p ? c[6].p : "", c[6].len);
	if (!ips)
		return -ENOMEM;
	ret = cidr_list_parse(ips, &r->allowed_ips, &r->n_allowed_ips);
	free(ips);
	return ret;
}

static int one_record(void *arg, const struct store_val *cols, int n)
{
	return n < PEER_NCOLS ? -EIO : cols_to_record(cols, arg);
}

int store_db_get(const struct store_backend *be, struct store_conn *c, const uint8_t key[static WG_KEY_LEN],
		 struct peer_record *out)
{
	struct store_val p[] = { v_blob(key, WG_KEY_LEN) };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = be->exec(c, SQ_GET, p, COUNT(p), one_record, out, NULL);
	/* no row leaves the key zero: a stored key never is (the API refuses it) */
	if (!ret && key_is_zero(out->public_key))
		ret = -ENOENT;
	if (ret)
		peer_record_clear(out);
	return ret;
}

int store_db_insert(const struct store_backend *be, struct store_conn *c, const struct peer_record *r)
{
	uint8_t lo[16], hi[16];
	char *ips = NULL;
	size_t i;
	int ret;

	ret = cidr_list_format(r->allowed_ips, r->n_allowed_ips, &ips);
	if (ret)
		return ret;
	{
		struct store_val p[] = {
			v_blob(r->public_key, WG_KEY_LEN),
			v_text(r->has_gateway ? r->gateway : NULL),
			r->has_preshared_key ? v_blob(r->preshared_key, WG_KEY_LEN) : (struct store_val){ 0 },
			v_int(r->persistent_keepalive),
			v_int(r->expires_at),
			v_int(r->created_at),
			v_text(ips),
			v_text(r->has_name ? r->name : NULL),
			v_text(r->has_owner ? r->owner : NULL),
		};
		struct store_val chg[] = { p[0], p[1], v_int(r->created_at) };

		ret = be->exec(c, SQ_INS_PEER, p, COUNT(p), NULL, NULL, NULL);
		if (!ret)
			ret = be->exec(c, SQ_CHG_PUT, chg, COUNT(chg), NULL, NULL, NULL);
	}
	free(ips);
	for (i = 0; !ret && i < r->n_allowed_ips; ++i) {
		size_t n = pool_addr_len(r->allowed_ips[i].family);
		struct store_val p[] = {
			v_int(r->allowed_ips[i].family == AF_INET ? 4 : 6), v_blob(lo, n), v_blob(hi, n),
			v_blob(r->public_key, WG_KEY_LEN), v_int(r->expires_at),
		};

		pool_cidr_bounds(&r->allowed_ips[i], lo, hi);
		ret = be->exec(c, SQ_INS_RANGE, p, COUNT(p), NULL, NULL, NULL);
	}
	return ret;
}

int store_db_remove(const struct store_backend *be, struct store_conn *c, const uint8_t key[static WG_KEY_LEN],
		    int64_t now)
{
	struct store_val p[] = { v_blob(key, WG_KEY_LEN), v_int(now) };
	long n = 0;
	int ret;

	/* The tombstone first: it copies the gateway from the row about to go. */
	ret = be->exec(c, SQ_CHG_DEL, p, 2, NULL, NULL, NULL);
	if (!ret)
		ret = be->exec(c, SQ_DEL_PEER, p, 1, NULL, NULL, &n);
	if (!ret && n == 0)
		return -ENOENT;
	if (!ret)
		ret = be->exec(c, SQ_DEL_RANGES, p, 1, NULL, NULL, NULL);
	return ret;
}

struct range_rows {
	uint16_t family;
	struct store_range *out;
	size_t max, got;
};

/* Columns lo, hi, key, expires_at. */
static int range_row(void *arg, const struct store_val *c, int n)
{
	struct range_rows *rr = arg;
	struct store_range *r;
	size_t len = pool_addr_len(rr->family);

	if (rr->got >= rr->max)
		return 0;
	r = &rr->out[rr->got];
	memset(r, 0, sizeof(*r));
	if (n < 4 || c[0].type != STORE_BLOB || c[0].len != len || c[1].type != STORE_BLOB || c[1].len != len ||
	    c[2].type != STORE_BLOB || c[2].len != WG_KEY_LEN)
		return -EIO;
	r->family = rr->family;
	memcpy(r->lo, c[0].p, len);
	memcpy(r->hi, c[1].p, len);
	memcpy(r->key, c[2].p, WG_KEY_LEN);
	r->expires_at = col_int(&c[3]);
	rr->got++;
	return 0;
}

int store_db_floor(const struct store_backend *be, struct store_conn *c, uint16_t family,
		   const uint8_t addr[static 16], struct store_range *out)
{
	struct store_val p[] = { v_int(family == AF_INET ? 4 : 6), v_blob(addr, pool_addr_len(family)) };
	struct range_rows rr = { family, out, 1, 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = be->exec(c, SQ_FLOOR, p, COUNT(p), range_row, &rr, NULL);
	return ret ? ret : rr.got ? 0 : -ENOENT;
}

long store_db_ranges_from(const struct store_backend *be, struct store_conn *c, uint16_t family,
			  const uint8_t addr[static 16], struct store_range *out, size_t max)
{
	struct store_val p[] = { v_int(family == AF_INET ? 4 : 6), v_blob(addr, pool_addr_len(family)),
				 v_int((int64_t)max) };
	struct range_rows rr = { family, out, max, 0 };
	int ret = be->exec(c, SQ_FROM, p, COUNT(p), range_row, &rr, NULL);

	return ret ? ret : (long)rr.got;
}

struct record_rows {
	struct peer_record *out;
	size_t max, got;
};

static int list_row(void *arg, const struct store_val *c, int n)
{
	struct record_rows *rr = arg;
	int ret;

	if (rr->got >= rr->max)
		return 0;
	ret = one_record(&rr->out[rr->got], c, n);
	if (ret)
		peer_record_clear(&rr->out[rr->got]);
	else
		rr->got++;
	return ret;
}

int store_db_list(const struct store_backend *be, struct store_conn *c, const uint8_t *after, const char *gateway,
		  const char *owner, int64_t now, size_t limit, struct peer_record **out, size_t *n)
{
	/* The empty blob sorts before every key. */
	struct store_val p[] = { v_blob(after ? (const void *)after : "", after ? WG_KEY_LEN : 0), v_int(now),
				 v_text(gateway), v_int((int64_t)limit), v_text(owner) };
	struct record_rows rr = { calloc(limit ? limit : 1, sizeof(struct peer_record)), limit, 0 };
	size_t i;
	int ret;

	*out = NULL;
	*n = 0;
	if (!rr.out)
		return -ENOMEM;
	ret = be->exec(c, SQ_LIST, p, COUNT(p), list_row, &rr, NULL);
	if (ret) {
		for (i = 0; i < rr.got; ++i)
			peer_record_clear(&rr.out[i]);
		free(rr.out);
		return ret;
	}
	*out = rr.out;
	*n = rr.got;
	return 0;
}

static int meta_row(void *arg, const struct store_val *c, int n)
{
	if (n < 1 || c[0].type != STORE_BLOB || c[0].len != 16)
		return 0; /* a malformed value reads as unset */
	memcpy(arg, c[0].p, 16);
	return 1;
}

int store_db_meta_get(const struct store_backend *be, struct store_conn *c, const char *name, uint8_t val[static 16])
{
	struct store_val p[] = { v_text(name) };
	int ret = be->exec(c, SQ_META_GET, p, COUNT(p), meta_row, val, NULL);

	return ret == 1 ? 0 : ret ? ret : -ENOENT;
}

int store_db_meta_set(const struct store_backend *be, struct store_conn *c, const char *name,
		      const uint8_t val[static 16])
{
	struct store_val p[] = { v_text(name), v_blob(val, 16) };

	return be->exec(c, SQ_META_SET, p, COUNT(p), NULL, NULL, NULL);
}

static int int_row(void *arg, const struct store_val *c, int n)
{
	*(int64_t *)arg = n ? col_int(&c[0]) : 0;
	return 0;
}

/* A one-value query: 0 with *out, or -errno. */
static int scalar(const struct store_backend *be, struct store_conn *c, int id, const struct store_val *p, int n,
		  int64_t *out)
{
	*out = 0;
	return be->exec(c, id, p, n, int_row, out, NULL);
}

/* Tombstones older than STORE_TOMBSTONE_TTL go; the floor rises to the newest of them. */
static int prune_tombstones(const struct store_backend *be, struct store_conn *c, int64_t now)
{
	struct store_val p[] = { v_int(now - STORE_TOMBSTONE_TTL) };
	uint8_t val[16];
	int64_t top;
	int ret;

	ret = scalar(be, c, SQ_TOMB_MAX, p, 1, &top);
	if (ret || !top)
		return ret;
	ret = be->exec(c, SQ_TOMB_PRUNE, p, 1, NULL, NULL, NULL);
	if (ret)
		return ret;
	store_floor_encode(top, val);
	return store_db_meta_set(be, c, STORE_FEED_FLOOR, val);
}

long store_db_purge(const struct store_backend *be, struct store_conn *c, int64_t now)
{
	struct store_val p[] = { v_int(now) };
	long n = 0;
	int ret;

	ret = prune_tombstones(be, c, now);
	if (!ret)
		ret = be->exec(c, SQ_CHG_EXPIRE, p, 1, NULL, NULL, NULL);
	if (!ret)
		ret = be->exec(c, SQ_PURGE_RANGES, p, 1, NULL, NULL, NULL);
	if (!ret)
		ret = be->exec(c, SQ_PURGE_PEERS, p, 1, NULL, NULL, &n);
	return ret ? ret : n;
}

struct change_rows {
	struct store_change *out;
	size_t max, got;
	int64_t now;
};

/* Columns: PEER_COLS (NULL when the peer is gone), then seq and the change's key. */
static int change_row(void *arg, const struct store_val *c, int n)
{
	struct change_rows *cr = arg;
	struct store_change *ch;
	int ret;

	if (cr->got >= cr->max)
		return 0;
	if (n < PEER_NCOLS + 2)
		return -EIO;
	ch = &cr->out[cr->got];
	memset(ch, 0, sizeof(*ch));
	ch->seq = col_int(&c[PEER_NCOLS]);
	if (c[0].type != STORE_NULL) {
		ret = cols_to_record(c, &ch->rec);
		if (ret) {
			peer_record_clear(&ch->rec);
			return ret;
		}
		if (!ch->rec.expires_at || ch->rec.expires_at > cr->now) {
			cr->got++;
			return 0;
		}
		peer_record_clear(&ch->rec);
	}
	ch->deleted = true;
	if (c[PEER_NCOLS + 1].type != STORE_BLOB || c[PEER_NCOLS + 1].len != WG_KEY_LEN)
		return -EIO;
	memcpy(ch->rec.public_key, c[PEER_NCOLS + 1].p, WG_KEY_LEN);
	cr->got++;
	return 0;
}

int store_db_changes(const struct store_backend *be, struct store_conn *c, const char *gateway, int64_t since,
		     int64_t now, size_t limit, struct store_change **out, size_t *n)
{
	struct store_val p[] = { v_int(since), v_text(gateway), v_int((int64_t)limit) };
	struct change_rows cr = { calloc(limit ? limit : 1, sizeof(struct store_change)), limit, 0, now };
	int ret;

	*out = NULL;
	*n = 0;
	if (!cr.out)
		return -ENOMEM;
	ret = be->exec(c, SQ_CHANGES, p, COUNT(p), change_row, &cr, NULL);
	if (ret) {
		store_changes_free(cr.out, cr.got);
		return ret;
	}
	*out = cr.out;
	*n = cr.got;
	return 0;
}

int store_db_next_expiry(const struct store_backend *be, struct store_conn *c, int64_t *out)
{
	return scalar(be, c, SQ_NEXT_EXPIRY, NULL, 0, out);
}

int store_db_head(const struct store_backend *be, struct store_conn *c, int64_t *out)
{
	return scalar(be, c, SQ_HEAD, NULL, 0, out);
}
