/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_KEYFILE_H
#define JITWG_WIRE_KEYFILE_H

#include <stdint.h>
#include "wire/keys.h"

/*
 * Reads a key file as `wg genkey` writes it: 44 characters of base64 and an
 * optional trailing newline (surrounding whitespace is tolerated, nothing
 * else). Returns 0, -errno from open/read, or -EINVAL for a malformed key.
 * The read buffer is wiped; on error *key is zeroed. When errmsg is not NULL
 * it receives a short human reason ("no such file", "not a base64 key", ...)
 * on error; on success NULL, or a warning to show when other users may read
 * the file (common/secretfile.h).
 */
int keyfile_read(uint8_t key[static WG_KEY_LEN], const char *path, const char **errmsg);

#endif
