/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_INTERNAL_H
#define JITWG_GATEWAY_INSTALL_INTERNAL_H

/*
 * The installer's insides, shared by install.c (queue, installs, removals,
 * sweeps, the thread), install-guard.c (endpoint repair after replays) and
 * install-status.c (the status document). Nothing outside these files
 * includes it.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "gateway/evict.h"
#include "gateway/install.h"
#include "gateway/peertab.h"

enum {
	QUEUE_MAX = 8192,        /* queued installs + removals */
	BATCH_MAX = 64,          /* peers per data-plane message */
	REMOVE_BATCH = 64,       /* removals between two looks at the install queue */
	REVALIDATE_PER_SWEEP = 256,
	/* A session older than this is as good as none: REJECT_AFTER_TIME in the protocol. */
	SESSION_LIVE_SEC = 180,
	GUARD_MAX = 256,         /* peers with endpoint re-checks pending */
	GUARD_ROUNDS = 4,
};

/*
 * The data plane handles a replayed initiation on its own schedule (its
 * handshake queue), possibly after we restored the endpoint: restore again
 * a few times over the next second.
 */

struct guard {
	uint8_t key[WG_KEY_LEN];
	uint64_t due_ms;
	unsigned int round;
};

enum job_type { JOB_INSTALL, JOB_FORGET, JOB_STATUS, JOB_GUARD };

struct status_req {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, abandoned;
	int ret;
	char *json;
};

struct job {
	enum job_type type;
	struct job *next;
	uint8_t key[WG_KEY_LEN];
	/* JOB_INSTALL */
	union dp_endpoint endpoint;
	struct timespec first_seen;
	struct dp_allowedip *allowed_ips;
	size_t n_allowed_ips;
	bool has_psk;
	uint8_t psk[WG_KEY_LEN];
	uint16_t keepalive;
	/* JOB_STATUS */
	struct status_req *req;
};

struct installer {
	struct dataplane *dp;
	struct peertab *tab;
	struct metrics *m;
	char ifname[IFNAMSIZ];
	pthread_t thread;
	pthread_mutex_t mu;          /* queue, config, stopping */
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t queued;
	bool stopping;
	struct installer_config cfg;
	/* Keys with a JOB_GUARD queued (under mu): one each, so a replay flood can't fill the queue. */
	uint8_t guard_queued[GUARD_MAX][WG_KEY_LEN];
	size_t n_guard_queued;
	pthread_mutex_t lk_mu;       /* guards lookup against lookup_free() */
	struct lookup *lookup;
	/* installer-thread only */
	struct evict_plan plan;
	uint32_t gen;
	uint64_t next_sweep_ms;
	uint64_t next_reval_ms;
	struct guard guards[GUARD_MAX];
	size_t n_guards;
};

uint64_t installer_mono_ms(void);
void installer_job_free(struct job *j);
void installer_key_str(char out[WG_KEY_B64_LEN + 1], const uint8_t key[WG_KEY_LEN]);
void installer_endpoint_str(char *out, size_t len, const union dp_endpoint *ep);
/* Queues j (at the front when priority); 0, -EAGAIN or -ESHUTDOWN. */
int installer_enqueue(struct installer *ins, struct job *j, bool priority);

/*
 * install-guard.c, called with ins->mu held: whether a guard job for key may
 * be queued now (0, -EALREADY when one is, -EAGAIN when GUARD_MAX are), and
 * its removal from that set when the installer takes it.
 */
int installer_guard_may_queue(struct installer *ins, const uint8_t key[WG_KEY_LEN]);
void installer_guard_dequeued(struct installer *ins, const uint8_t key[WG_KEY_LEN]);

/* install-guard.c, installer thread only */
void installer_guard_job(struct installer *ins, struct job *j);
void installer_guards_run(struct installer *ins, uint64_t now);
uint64_t installer_guards_next(const struct installer *ins);

/* install-status.c: answers r on the installer thread (takes json). */
void installer_status_serve(struct installer *ins, struct status_req *r);
void installer_status_finish(struct status_req *r, int ret, char *json);

#endif
