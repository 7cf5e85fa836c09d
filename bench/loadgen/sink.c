// SPDX-License-Identifier: MIT
/*
 * A WireGuard responder that answers every initiator, for measuring jitwg
 * loadgen itself (bench/loadgen/run.sh): one UDP socket, recvmmsg, and for
 * each valid initiation a response from the session code (ss computed per
 * message, no state kept). Transport data is counted and dropped. Not a
 * gateway: nothing is routed, no peer is remembered.
 *
 *   sink ADDR PORT PRIVATE_KEY_FILE [SECONDS [PROCESSES]]
 * PROCESSES (default 1) copies share the port with SO_REUSEPORT; each
 * prints "sink: N responses, M other datagrams, C cpu-s" at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "wire/keyfile.h"
#include "crypto/x25519.h"
#include "noise/session.h"

enum { BATCH = 64 };

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss, from[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	static uint8_t bufs[BATCH][2048];
	struct noise_local self;
	struct rusage ru;
	const char *why;
	unsigned long long responses = 0, other = 0;
	time_t end;
	int fd, i, n, one = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: sink ADDR PORT KEYFILE [SECONDS]\n");
		return 2;
	}
	memset(&self, 0, sizeof(self));
	if (keyfile_read(self.private_key, argv[3], &why) ||
	    x25519_public_from_private(self.public_key, self.private_key)) {
		fprintf(stderr, "sink: %s\n", argv[3]);
		return 1;
	}
	memset(&ss, 0, sizeof(ss));
	if (strchr(argv[1], ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(argv[2]));
		inet_pton(AF_INET6, argv[1], &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(argv[2]));
		inet_pton(AF_INET, argv[1], &s4->sin_addr);
	}
	for (i = 1; argc > 5 && i < atoi(argv[5]); ++i)
		if (fork() == 0)
			break;
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	n = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof(n));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sizeof(ss)) < 0) {
		perror("sink: bind");
		return 1;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	end = argc > 4 ? time(NULL) + atoi(argv[4]) : 0;
	{
		struct timeval tv = { 0, 200000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	while (!stop && (!end || time(NULL) < end)) {
		for (i = 0; i < BATCH; ++i) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		for (i = 0; i < n; ++i) {
			struct noise_handshake hs;
			struct noise_keypair kp;
			struct noise_remote who;
			uint8_t stat[32], resp[WG_MSG_RESPONSE_LEN];
			uint32_t idx;

			if (noise_handshake_consume_initiation_any(&hs, stat, bufs[i], msgs[i].msg_len, &self)) {
				other++;
				continue;
			}
			noise_remote_init(&who, stat, NULL);
			RAND_bytes((uint8_t *)&idx, sizeof(idx));
			if (!noise_handshake_create_response(&hs, &kp, resp, &self, &who, idx, NULL, NULL, 0) &&
			    sendto(fd, resp, sizeof(resp), 0, (struct sockaddr *)&from[i],
				   msgs[i].msg_hdr.msg_namelen) == sizeof(resp))
				responses++;
			noise_handshake_wipe(&hs);
			noise_keypair_wipe(&kp);
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("sink: %llu responses, %llu other datagrams, %.2f cpu-s\n", responses, other,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	noise_local_wipe(&self);
	return 0;
}
