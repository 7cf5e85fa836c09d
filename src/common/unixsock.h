/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_UNIXSOCK_H
#define JITWG_COMMON_UNIXSOCK_H

#include <sys/types.h>

/*
 * Binds the AF_UNIX socket fd at path with file mode `mode`, without
 * umask() (process-wide, so racy while other threads create files): it
 * binds under a temporary name next to path, chmods that, and renames it
 * over path, so nobody can connect before the mode is right. Whatever was
 * at path is replaced: callers decide beforehand whether that is allowed.
 * Returns 0 or -errno (-ENAMETOOLONG when the temporary name does not fit
 * sun_path); nothing is left behind on failure.
 */
int unixsock_bind(int fd, const char *path, mode_t mode);

#endif
