// SPDX-License-Identifier: MIT
/* PostgreSQL backend of store.h (placeholder until it lands). */
#include "registry/store.h"

#include <errno.h>

#include "common/log.h"

static struct store_conn *pg_connect(const char *db)
{
	log_err("postgres: not implemented yet");
	errno = ENOTSUP;
	return NULL;
}

const struct store_backend store_pg_backend = {
	.name = "postgres",
	.connect = pg_connect,
};
