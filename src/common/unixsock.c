// SPDX-License-Identifier: MIT
#include "common/unixsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int unixsock_bind(int fd, const char *path, mode_t mode)
{
	struct sockaddr_un tmp = { .sun_family = AF_UNIX };
	int n, e;

	n = snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d.tmp", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp.sun_path))
		return -ENAMETOOLONG;
	unlink(tmp.sun_path);
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0)
		return -errno;
	if (chmod(tmp.sun_path, mode) < 0 || rename(tmp.sun_path, path) < 0) {
		e = -errno;
		unlink(tmp.sun_path);
		return e;
	}
	return 0;
}
