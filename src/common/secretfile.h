/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_SECRETFILE_H
#define JITWG_COMMON_SECRETFILE_H

#include <stdbool.h>

/*
 * Whether a file holding a secret (private key, bearer token, TLS key) lets
 * every local account read or write it: the "other" permission bits. Group
 * bits pass, as the packaged layout shares a daemon's token with its group
 * (0640 root:jitwgd). False when fstat/stat fails: the caller's own open or
 * read reports that. Pure apart from the one stat call; never logs.
 */
bool secret_fd_exposed(int fd);
bool secret_path_exposed(const char *path);

/* What the warning about such a file says to do, after its name. */
#define SECRET_EXPOSED_HINT "is readable by other users; chmod o-rwx it (0600, or 0640 with the daemon's group)"

#endif
