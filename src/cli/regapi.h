/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CLI_REGAPI_H
#define JITWG_CLI_REGAPI_H

/*
 * A small libcurl client for the registry API (docs/API.md), used by
 * `jitwg peer`. One handle per process; not thread-safe.
 */

#include <stddef.h>

struct regapi;

/*
 * base is the registry URL ("http://127.0.0.1:8080", a trailing slash is
 * fine); token_file may be NULL (no Authorization header). Returns NULL +
 * errno; *why (when not NULL) gets a short reason for the token file.
 */
struct regapi *regapi_new(const char *base, const char *token_file, const char **why);
void regapi_free(struct regapi *r);

/*
 * One request. path starts with '/'; body (JSON) may be NULL. Returns 0 with
 * the HTTP status in *status and the response body (NUL-terminated, possibly
 * empty) in *resp, which the caller frees; or -EIO when the registry could
 * not be reached, with a one-line reason in *why (valid until the next call).
 */
int regapi_request(struct regapi *r, const char *method, const char *path, const char *body, long *status,
		   char **resp, const char **why);

/*
 * Formats an error response as one line: "409: allowed_ips overlap ...
 * (field allowed_ips)". Falls back to the status alone for non-JSON bodies.
 */
void regapi_error_line(char *out, size_t n, long status, const char *body);

#endif
