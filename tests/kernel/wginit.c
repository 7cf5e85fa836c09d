// SPDX-License-Identifier: MIT
/*
 * wginit: makes and sends handshake initiations for the replay scenarios in
 * the guest, where there is no tcpdump to capture a client's packet.
 *
 *   wginit make PRIVATE_KEY_FILE RESPONDER_PUBKEY OUT [age SECONDS]
 *       writes a valid 148-byte initiation stamped now (minus SECONDS)
 *   wginit send FILE SRC_IP:PORT DST_IP:PORT   (IPv6 as [addr]:port)
 *       sends FILE as one UDP datagram from the given source
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "noise/noise.h"
#include "wire/keys.h"

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : 0;
	long port = colon ? strtol(colon + 1, NULL, 10) : -1;

	memset(ss, 0, sizeof(*ss));
	if (!colon || hl == 0 || hl >= sizeof(host) || port < 0 || port > 65535)
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[hl - 1] = 0;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
	}
}

static int cmd_make(int argc, char **argv)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], msg[148], ts[12];
	char line[128] = "";
	struct timespec now;
	uint64_t sec;
	uint32_t nsec, idx;
	FILE *f;
	int ret = 1;

	f = fopen(argv[2], "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		fprintf(stderr, "wginit: cannot read %s\n", argv[2]);
		goto out;
	}
	fclose(f);
	f = NULL;
	line[strcspn(line, "\r\n")] = 0;
	if (key_from_base64(priv, line) || key_from_base64(pub, argv[3])) {
		fprintf(stderr, "wginit: bad key\n");
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (argc >= 7 && !strcmp(argv[5], "age"))
		now.tv_sec -= strtol(argv[6], NULL, 10);
	/* TAI64N: big-endian 2^62 + 10 + seconds, then nanoseconds. */
	sec = 0x400000000000000aULL + (uint64_t)now.tv_sec;
	nsec = (uint32_t)now.tv_nsec;
	for (int i = 0; i < 8; i++)
		ts[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		ts[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
	idx = (uint32_t)getpid() ^ (uint32_t)now.tv_nsec;
	if (noise_initiation_create(msg, priv, pub, idx, ts, NULL)) {
		fprintf(stderr, "wginit: cannot build initiation\n");
		goto out;
	}
	f = fopen(argv[4], "w");
	if (!f || fwrite(msg, 1, sizeof(msg), f) != sizeof(msg)) {
		fprintf(stderr, "wginit: cannot write %s\n", argv[4]);
		goto out;
	}
	ret = 0;
out:
	if (f && fclose(f))
		ret = 1;
	explicit_bzero(priv, sizeof(priv));
	explicit_bzero(line, sizeof(line));
	return ret;
}

static int cmd_send(char **argv)
{
	struct sockaddr_storage src, dst;
	socklen_t sl, dl;
	uint8_t msg[148];
	FILE *f = fopen(argv[2], "r");
	int s, one = 1;

	if (!f || fread(msg, 1, sizeof(msg), f) != sizeof(msg)) {
		fprintf(stderr, "wginit: cannot read %s\n", argv[2]);
		return 1;
	}
	fclose(f);
	if (parse_addr(argv[3], &src, &sl) || parse_addr(argv[4], &dst, &dl) ||
	    src.ss_family != dst.ss_family) {
		fprintf(stderr, "wginit: bad address\n");
		return 1;
	}
	s = socket(src.ss_family, SOCK_DGRAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&src, sl) ||
	    sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&dst, dl) != (ssize_t)sizeof(msg)) {
		fprintf(stderr, "wginit: send: %s\n", strerror(errno));
		return 1;
	}
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "make"))
		return cmd_make(argc, argv);
	if (argc >= 5 && !strcmp(argv[1], "send"))
		return cmd_send(argv);
	fprintf(stderr, "usage: wginit make KEYFILE PUBKEY OUT [age S] | send FILE SRC DST\n");
	return 2;
}
