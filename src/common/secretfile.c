// SPDX-License-Identifier: MIT
#include "common/secretfile.h"

#include <sys/stat.h>

static bool exposed(const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_mode & (S_IROTH | S_IWOTH));
}

bool secret_fd_exposed(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && exposed(&st);
}

bool secret_path_exposed(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && exposed(&st);
}
