// SPDX-License-Identifier: MIT
/*
 * API tokens and the audit trail in the database. A token is stored as the
 * SHA-256 of its secret; the secret itself is shown once, at creation, and
 * never stored. Every request looks its token up here (no cache), so a
 * revocation or an expiry takes effect on the next request.
 */
#include "registry/store.h"
#include "registry/store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static struct store_val v_int(int64_t i)
{
	return (struct store_val){ .type = STORE_INT, .i = i };
}

static struct store_val v_text(const char *s)
{
	return s ? (struct store_val){ .type = STORE_TEXT, .p = s, .len = strlen(s) } : (struct store_val){ 0 };
}

/* A text/NULL column into out (max bytes with the NUL): -EIO when too long or not text. */
static int col_text(const struct store_val *v, char *out, size_t max, bool *has)
{
	out[0] = '\0';
	if (has)
		*has = false;
	if (v->type == STORE_NULL)
		return 0;
	if (v->type != STORE_TEXT || v->len >= max)
		return -EIO;
	memcpy(out, v->p, v->len);
	out[v->len] = '\0';
	if (has)
		*has = true;
	return 0;
}

static int64_t col_int(const struct store_val *v)
{
	return v->type == STORE_INT ? v->i : 0;
}

const char *store_scope_name(enum store_scope scope)
{
	static const char *const names[] = { "admin", "gateway", "enroll" };

	return (unsigned int)scope < 3 ? names[scope] : "?";
}

int store_scope_parse(const char *s, enum store_scope *out)
{
	enum store_scope i;

	for (i = STORE_SCOPE_ADMIN; i <= STORE_SCOPE_ENROLL; ++i) {
		if (!strcmp(s, store_scope_name(i))) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

struct token_rows {
	struct store_token *out;
	size_t max, got;
};

/* Columns id, scope, gateway, max_peers, used, expires_at, created_at, revoked_at, comment. */
static int token_row(void *arg, const struct store_val *c, int n)
{
	struct token_rows *tr = arg;
	struct store_token *t;
	char scope[16];

	if (tr->got >= tr->max)
		return 0;
	t = &tr->out[tr->got];
	memset(t, 0, sizeof(*t));
	if (n < 9 || col_text(&c[1], scope, sizeof(scope), NULL) || store_scope_parse(scope, &t->scope) ||
	    col_text(&c[2], t->gateway, sizeof(t->gateway), &t->has_gateway) ||
	    col_text(&c[8], t->comment, sizeof(t->comment), NULL))
		return -EIO;
	t->id = col_int(&c[0]);
	t->max_peers = col_int(&c[3]);
	t->used = col_int(&c[4]);
	t->expires_at = col_int(&c[5]);
	t->created_at = col_int(&c[6]);
	t->revoked_at = col_int(&c[7]);
	tr->got++;
	return 0;
}

static int id_row(void *arg, const struct store_val *c, int n)
{
	*(int64_t *)arg = n ? col_int(&c[0]) : 0;
	return 0;
}

int store_token_create(struct store *s, const uint8_t hash[static STORE_TOKEN_HASH_LEN], struct store_token *t,
		       int64_t now, const struct store_who *who)
{
	struct store_val p[] = {
		{ .type = STORE_BLOB, .p = hash, .len = STORE_TOKEN_HASH_LEN },
		v_text(store_scope_name(t->scope)),
		v_text(t->has_gateway ? t->gateway : NULL),
		v_int(t->max_peers),
		v_int(t->expires_at),
		v_int(now),
		v_text(t->comment[0] ? t->comment : NULL),
	};
	char target[32], detail[96];
	struct slot *sl;
	int ret;

	ret = store_write_begin(s, &sl);
	if (ret)
		return ret;
	t->id = 0;
	ret = s->be->exec(sl->c, SQ_TOK_INS, p, 7, id_row, &t->id, NULL);
	if (!ret && t->id <= 0)
		ret = -EIO;
	if (!ret) {
		t->created_at = now;
		t->used = t->revoked_at = 0;
		snprintf(target, sizeof(target), "token %" PRId64, t->id);
		snprintf(detail, sizeof(detail), "scope %s%s%s", store_scope_name(t->scope),
			 t->has_gateway ? " gateway " : "", t->has_gateway ? t->gateway : "");
		ret = store_audit_add(s->be, sl->c, now, who, "token-create", target, detail);
	}
	return store_write_end(s, sl, ret, false);
}

int store_token_find(struct store *s, const uint8_t hash[static STORE_TOKEN_HASH_LEN], struct store_token *out)
{
	struct store_val p[] = { { .type = STORE_BLOB, .p = hash, .len = STORE_TOKEN_HASH_LEN } };
	struct token_rows tr = { out, 1, 0 };
	struct slot *sl = store_slot_acquire(s);
	int ret = s->be->exec(sl->c, SQ_TOK_BY_HASH, p, 1, token_row, &tr, NULL);

	store_slot_release(s, sl, ret);
	return ret ? ret : tr.got ? 0 : -ENOENT;
}

int store_token_list(struct store *s, int64_t after, size_t limit, struct store_token **out, size_t *n)
{
	struct store_val p[] = { v_int(after), v_int((int64_t)limit) };
	struct token_rows tr = { calloc(limit ? limit : 1, sizeof(struct store_token)), limit, 0 };
	struct slot *sl;
	int ret;

	*out = NULL;
	*n = 0;
	if (!tr.out)
		return -ENOMEM;
	sl = store_slot_acquire(s);
	ret = s->be->exec(sl->c, SQ_TOK_LIST, p, 2, token_row, &tr, NULL);
	store_slot_release(s, sl, ret);
	if (ret) {
		free(tr.out);
		return ret;
	}
	*out = tr.out;
	*n = tr.got;
	return 0;
}

int store_token_revoke(struct store *s, int64_t id, int64_t now, const struct store_who *who)
{
	struct store_val p[] = { v_int(id), v_int(now) };
	char target[32];
	struct slot *sl;
	long n = 0;
	int ret;

	ret = store_write_begin(s, &sl);
	if (ret)
		return ret;
	ret = s->be->exec(sl->c, SQ_TOK_REVOKE, p, 2, NULL, NULL, &n);
	if (!ret && !n)
		ret = -ENOENT;
	if (!ret) {
		snprintf(target, sizeof(target), "token %" PRId64, id);
		ret = store_audit_add(s->be, sl->c, now, who, "token-revoke", target, NULL);
	}
	return store_write_end(s, sl, ret, false);
}

int store_token_any(struct store *s, bool *any)
{
	struct slot *sl = store_slot_acquire(s);
	int64_t n = 0;
	int ret = s->be->exec(sl->c, SQ_TOK_ANY, NULL, 0, id_row, &n, NULL);

	store_slot_release(s, sl, ret);
	*any = n > 0;
	return ret;
}

int store_audit_add(const struct store_backend *be, struct store_conn *c, int64_t now, const struct store_who *who,
		    const char *action, const char *target, const char *detail)
{
	int64_t token = who ? who->token_id : 0;
	struct store_val p[] = { v_int(now), v_int(token), v_text(action), v_text(target), v_text(detail) };
	int ret = be->exec(c, SQ_AUDIT_INS, p, 5, NULL, NULL, NULL);

	/* Logged before the commit: a line whose change then fails is followed by the store's error. */
	if (!ret)
		log_info("audit: token %" PRId64 " %s %s%s%s", token, action, target ? target : "-", detail ? " " : "",
			 detail ? detail : "");
	return ret;
}

struct audit_rows {
	struct store_audit *out;
	size_t max, got;
};

/* Columns id, at, token_id, action, target, detail. */
static int audit_row(void *arg, const struct store_val *c, int n)
{
	struct audit_rows *ar = arg;
	struct store_audit *a;

	if (ar->got >= ar->max)
		return 0;
	a = &ar->out[ar->got];
	memset(a, 0, sizeof(*a));
	if (n < 6 || col_text(&c[3], a->action, sizeof(a->action), NULL) ||
	    col_text(&c[4], a->target, sizeof(a->target), NULL) || col_text(&c[5], a->detail, sizeof(a->detail), NULL))
		return -EIO;
	a->id = col_int(&c[0]);
	a->at = col_int(&c[1]);
	a->token_id = col_int(&c[2]);
	ar->got++;
	return 0;
}

int store_audit_list(struct store *s, int64_t since, size_t limit, struct store_audit **out, size_t *n)
{
	struct store_val p[] = { v_int(since), v_int((int64_t)limit) };
	struct audit_rows ar = { calloc(limit ? limit : 1, sizeof(struct store_audit)), limit, 0 };
	struct slot *sl;
	int ret;

	*out = NULL;
	*n = 0;
	if (!ar.out)
		return -ENOMEM;
	sl = store_slot_acquire(s);
	ret = s->be->exec(sl->c, SQ_AUDIT_LIST, p, 2, audit_row, &ar, NULL);
	store_slot_release(s, sl, ret);
	if (ret) {
		free(ar.out);
		return ret;
	}
	*out = ar.out;
	*n = ar.got;
	return 0;
}
