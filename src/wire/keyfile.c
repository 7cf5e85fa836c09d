// SPDX-License-Identifier: MIT
#include "wire/keyfile.h"

#include "common/secretfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int keyfile_read(uint8_t key[static WG_KEY_LEN], const char *path, const char **errmsg)
{
	/* Room for the key, a newline and enough extra to notice a longer file. */
	char buf[WG_KEY_B64_LEN + 64];
	const char *why = "not a base64 WireGuard key";
	bool exposed = false;
	size_t len = 0, start = 0, end;
	ssize_t n;
	int fd, ret;

	memset(key, 0, WG_KEY_LEN);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		why = strerror(errno);
		goto out;
	}
	exposed = secret_fd_exposed(fd);
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			why = strerror(errno);
			close(fd);
			goto out;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	end = len;
	while (start < end && isspace((unsigned char)buf[start]))
		++start;
	while (end > start && isspace((unsigned char)buf[end - 1]))
		--end;
	buf[end] = '\0';
	if (end - start != WG_KEY_B64_LEN) {
		ret = -EINVAL;
		why = end == start ? "empty key file" : "not a base64 WireGuard key (wrong length)";
		goto out;
	}
	ret = key_from_base64(key, buf + start);
out:
	explicit_bzero(buf, sizeof(buf));
	if (!ret && exposed)
		why = "the key file " SECRET_EXPOSED_HINT;
	if (errmsg)
		*errmsg = ret || exposed ? why : NULL;
	return ret;
}
