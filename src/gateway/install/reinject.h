/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_REINJECT_H
#define JITWG_GATEWAY_INSTALL_REINJECT_H

/*
 * Answering the client's own first initiation: once its peer is installed,
 * the install stage hands the initiation jitwgd captured (or got from the
 * relay) back to the data plane's UDP port, with the client's address and
 * port as its source, so the data plane consumes it as if it had just
 * arrived and answers the client by normal routing. The data plane dropped
 * the original (no such peer yet), so this copy is the first with its
 * timestamp it consumes; if it did consume the original late, after the
 * install, the copy is a replay it drops. Either way one handshake, never
 * two crossing.
 *
 * How: one raw socket per IP family (IPPROTO_RAW: we write the IP header,
 * so the source may be any address and no port is bound, which also works
 * for the relay's loopback sockets while the relay holds them). A packet
 * sent to a local address loops through lo and is delivered like a
 * received one. Each copy carries SO_MARK BPF_REINJECT_MARK, which the
 * capture program drops. Needs CAP_NET_RAW (as the capture does) and
 * CAP_NET_ADMIN for the mark (without it the copies are captured again
 * and dropped by the replay guard: work, not harm).
 *
 * Nothing is held: if jitwgd dies between install and re-injection, the
 * peer is installed and the client's retry 5 s later is answered.
 *
 * Not thread-safe: the install stage owns it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dataplane/dataplane.h"
#include "wire/messages.h"

struct reinject_pkt {
	uint8_t key[WG_KEY_LEN];              /* the peer's; not sent, reported back by the pacer */
	union dp_endpoint from;               /* the client (or the relay's socket for it) */
	union dp_endpoint to;                 /* the data plane's address and port it was sent to */
	const uint8_t *msg;                   /* WG_MSG_INITIATION_LEN bytes */
	uint8_t tries;                        /* sends of it before this one with no answer (reinject-run.c) */
};

struct reinject;

/* Opens the sockets. Returns NULL with errno set (EPERM without CAP_NET_RAW). */
struct reinject *reinject_new(void);
/* NULL is a no-op. */
void reinject_free(struct reinject *r);
/* Whether the copies carry the mark (SO_MARK was allowed). */
bool reinject_marked(const struct reinject *r);

/*
 * Sends n initiations (at most 64 per call; more are refused with -E2BIG)
 * in one sendmmsg() per family. ok[i] says whether pkts[i] went out.
 * Returns how many went out, or -errno when none could be tried.
 */
int reinject_send(struct reinject *r, const struct reinject_pkt *pkts, size_t n, bool *ok);

/* The seam the install stage sends through: reinject_send() on a struct reinject, or a test's fake. */
struct reinject_io {
	int (*send)(void *ctx, const struct reinject_pkt *pkts, size_t n, bool *ok);
	void *ctx;
};

/*
 * Pacing. A burst of installs lands in batches of up to 64, and their
 * copies sent at once would reach the data plane's handshake queue as one
 * clump on top of the clients' own initiations: past a queue length mark
 * (wireguard-go 128 of 1,024, the kernel 512 of 4,096) the data plane is
 * "under load" for a second and answers every initiation with a cookie
 * reply, which costs each client a 5 s round. So copies go out at most
 * burst at once and then one per period (a token bucket); the rest wait
 * here, in order, and go out from the install stage's timer. A copy that
 * waited max_age (the client's own retransmit is due) is dropped.
 */
struct reinject_counts {
	uint64_t sent;              /* went out */
	uint64_t failed;            /* could not be sent */
	uint64_t held;              /* waited for a token (sent later, or expired) */
	uint64_t expired;           /* waited max_age: dropped */
};

struct reinject_pacer;

/*
 * --reinject-rate's default, copies per second. The data plane's handshake
 * queue is drained at whatever rate its CPU share allows; past the mark it
 * answers with cookie replies. 2,000/s is what a 1,000-client reboot on
 * wireguard-go with two cores took without a cookie reply, and gets those
 * clients back within a second (docs/PERFORMANCE.md "Reboot"; with two more
 * gateways rebooting on the same two cores it went over in some reboots);
 * at 4,000/s wireguard-go went over its mark in every such reboot.
 */
#define REINJECT_RATE_DEFAULT 2000

/* cap copies waiting at most; per_sec copies a second (> 0) after a burst. NULL with errno set. */
struct reinject_pacer *reinject_pacer_new(size_t cap, unsigned int per_sec, unsigned int burst,
					  uint64_t max_age_ns);
/* A new rate (> 0) from now on (the burst stays); what waits keeps its order. Cheap: two stores. */
void reinject_pacer_set_rate(struct reinject_pacer *p, unsigned int per_sec);
/* NULL is a no-op. */
void reinject_pacer_free(struct reinject_pacer *p);
/* Queues a copy of pk (the message is copied). False when cap are waiting. */
bool reinject_pacer_push(struct reinject_pacer *p, const struct reinject_pkt *pk, uint64_t now_ns);
/*
 * Sends through io what the bucket allows at now_ns (CLOCK_MONOTONIC) and
 * adds to *c. prep(arg, pk, msg) may rewrite each copy just before it goes
 * (msg is its WG_MSG_INITIATION_LEN bytes, pk->msg points there), and
 * sent(arg, pk, now_ns) is called for each copy that went out; either may
 * be NULL, and neither may push. now_ns precedes the send: an answer seen
 * later on another thread is never older than it.
 */
void reinject_pacer_run(struct reinject_pacer *p, const struct reinject_io *io, uint64_t now_ns,
			struct reinject_counts *c, void (*prep)(void *arg, struct reinject_pkt *pk, uint8_t *msg),
			void (*sent)(void *arg, const struct reinject_pkt *pk, uint64_t sent_ns), void *arg);
/* When the next waiting copy may go (ns, the same clock); UINT64_MAX when none waits. */
uint64_t reinject_pacer_due(const struct reinject_pacer *p);
size_t reinject_pacer_waiting(const struct reinject_pacer *p);

#endif
