/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_INTERNAL_H
#define JITWG_GATEWAY_INSTALL_INTERNAL_H

/*
 * The install stage's insides, shared by install.c (queue, installs, the
 * thread), evict-run.c (sweeps, removals, revalidation notices), guard.c
 * (endpoint repair after replays) and status.c's builder. Nothing outside
 * these files includes it.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "gateway/install/evict.h"
#include "gateway/install/install.h"
#include "gateway/install/confirm.h"
#include "gateway/install/peertab.h"
#include "gateway/install/reinject.h"
#include "gateway/core/stage.h"
#include "crypto/keyedtab.h"
#include "noise/session.h"

enum {
	INSTALL_QUEUE = 8192,    /* queued installs + notices */
	BATCH_MAX = 64,          /* peers per data-plane message */
	REMOVE_BATCH = 64,       /* removals between two looks at the queue */
	REVALIDATE_PER_SWEEP = 256,
	/* A session older than this is as good as none: REJECT_AFTER_TIME in the protocol. */
	SESSION_LIVE_SEC = 180,
	GUARD_MAX = 256,         /* peers with endpoint re-checks pending */
	GUARD_ROUNDS = 4,
	/* Installs are still coming while one landed less than this ago (status.c, status_due()). */
	INSTALLS_QUIET_MS = 100,
	STATUS_EVERY_MS = 100,   /* the status copy is refreshed at most this often ... */
	STATUS_COST_SHARE = 20,  /* ... and at most 1/20 of the thread's time (status_interval_ms) */
	/*
	 * ... and at most every 5 s while installs keep coming: a copy holds
	 * up the installs queued behind it (0.5-1 ms at 1,000 peers, 5-27 ms at
	 * 11,000 in a 500/s burst on 2 loaded cores; status.h says why it is a
	 * copy). The document is that much older during a burst, and fresh
	 * 100 ms after it.
	 */
	STATUS_BUSY_EVERY_MS = 5000,
	/*
	 * Re-injection pacing (reinject.h): at most 16 copies at once, then
	 * --reinject-rate per second (REINJECT_RATE_DEFAULT says why 2,000).
	 * A copy older than REKEY_TIMEOUT is moot (the client retransmits).
	 */
	REINJECT_WAITING = 8192,
	REINJECT_BURST = 16,
	FOLLOWUP_MAX = 8192,     /* copies whose answer is checked (reinject-run.c) */
	FOLLOWUP_MS = 250,       /* after the copy went out: the first look */
	FOLLOWUP_LATE_MS = 1000, /* ... and with no sign that the data plane got past it */
	FOLLOWUP_ORDER_MARGIN = 64, /* copies the data plane may take out of order */
	FOLLOWUP_RECHECK_MS = 100,  /* between looks while some wait for that sign */
	FOLLOWUP_LIST_FACTOR = 10,
	FOLLOWUP_RESENDS = 1,       /* an unanswered copy is sent again this often before we initiate */
};
#define REINJECT_MAX_AGE_NS 5000000000ULL

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

/* A re-injected copy whose answer is checked (reinject-run.c). */
struct followup {
	uint8_t key[WG_KEY_LEN];
	union dp_endpoint from;      /* the copy's source: the client's (or its relay socket's) */
	union dp_endpoint to;        /* where it went: the data plane */
	uint8_t msg[WG_MSG_INITIATION_LEN]; /* the copy, to send again with a cookie (reinject-cookie.c) */
	uint64_t seq;                /* order sent: 1, 2, ... */
	uint64_t sent_ms;            /* CLOCK_MONOTONIC, taken before the send */
	uint64_t since_ms;           /* CLOCK_MONOTONIC, its peer's install (before the set): answers count from it */
	int64_t sent_real;           /* unix seconds, as the data plane reports handshakes */
	bool answered;               /* a session from `from` began after the copy went out */
	bool cookied;                /* sent again with a cookie's mac2: a new follow-up replaces it */
	uint8_t tries;               /* earlier sends of the copy that went unanswered */
};

/*
 * ITEM_SESSION: a session's first message came from endpoint at first_seen (capture.h).
 * ITEM_COOKIE: the data plane sent endpoint the cookie reply in initiation[0..64).
 */
enum item_kind { ITEM_INSTALL = 1, ITEM_NOTICE, ITEM_UPDATE, ITEM_SESSION, ITEM_COOKIE };

/* Why an installed peer is removed outside eviction (installer_remove). */
enum removal_reason {
	REMOVE_GONE = 1,  /* deleted or expired in the registry (feed, revalidation) */
	REMOVE_EXPIRED,   /* its expires_at passed (the local timer) */
	REMOVE_LOST,      /* the registry gave its addresses to another key */
};

/*
 * One queue item; allowed_ips is owned by the item (freed by whoever drops
 * or handles it). ITEM_UPDATE carries a record from the change feed for a
 * key that may be installed: no endpoint, never creates a peer.
 */
struct install_item {
	enum item_kind kind;
	struct notice notice;        /* ITEM_NOTICE */
	/* ITEM_INSTALL, ITEM_UPDATE */
	uint8_t key[WG_KEY_LEN];
	union dp_endpoint endpoint;
	struct timespec first_seen;
	enum ingest_source source;
	struct dp_allowedip *allowed_ips;
	size_t n_allowed_ips;
	bool has_psk;
	uint8_t psk[WG_KEY_LEN];
	uint16_t keepalive;
	int64_t expires_at;          /* unix seconds, 0 = never */
	bool owner_checked;          /* the registry was asked about its addresses' holder */
	union dp_endpoint local;     /* ITEM_INSTALL: where the initiation was sent; family 0 = unknown */
	uint8_t initiation[WG_MSG_INITIATION_LEN]; /* ITEM_INSTALL: the client's newest, to re-inject */
};

struct installer {
	struct dataplane *dp;
	struct stage *st;
	size_t queue_cap;
	struct metrics *m;
	char ifname[IFNAMSIZ];
	pthread_mutex_t cfg_mu;      /* cfg, next_* after a reconfigure */
	struct installer_config cfg;
	/* Keys with a replay notice queued: one each, so a replay flood can't fill the queue. */
	pthread_mutex_t guard_mu;
	uint8_t guard_queued[GUARD_MAX][WG_KEY_LEN];
	size_t n_guard_queued;
	_Atomic(const struct notice_inbox *) revalidate_to;
	struct notice_inbox revalidate_box;
	/* stage thread only */
	struct peertab *tab;
	struct evict_plan plan;
	uint32_t gen;
	uint64_t next_sweep_ms;
	uint64_t next_reval_ms;
	uint64_t status_at_ms;       /* last status document */
	uint64_t status_every_ms;    /* pause before the next one (status_interval_ms) */
	uint64_t installed_at_ms;    /* the last batch of installs */
	bool status_dirty;
	struct guard guards[GUARD_MAX];
	size_t n_guards;
	struct install_confirm *confirm; /* NULL with --confirm-ms 0 */
	struct reinject *rj;         /* the raw sockets, opened at the first --reinject install */
	atomic_bool rj_tried;        /* opening them failed: not again until a reconfigure */
	struct reinject_io rio;      /* rio.send NULL: no re-injection, role inversion instead */
	struct reinject_pacer *pacer;
	atomic_uint rj_rate;         /* --reinject-rate as configured; the pacer takes it at each run */
	struct followup *followups;  /* in the order sent, FOLLOWUP_MAX */
	size_t n_followups;
	size_t n_answered;           /* followups[] with .answered, not yet run */
	/*
	 * Copies sent or about to be wait for an answer, for
	 * installer_sessions_seen() on other threads: raised before an install's
	 * set (do_installs()), lowered only by a follow-up run that leaves no
	 * follow-up and no copy in the pacer.
	 */
	atomic_bool followups_wait;
	uint64_t followup_not_before_ms;
	uint64_t followup_seq;       /* the last copy's seq */
	uint64_t followup_passed_seq; /* the newest copy the data plane was seen to consume */
	uint16_t listen_port;        /* the data plane's, for relay initiations (no local address) */
	struct noise_remote dp_self; /* the data plane's public key as a remote: its cookie key */
	bool has_dp_self;            /* cfg.public_key was given: cookies can be opened */
	struct keyedtab jar;         /* cookie replies kept for copies to come (reinject-cookie.c) */
	struct nftset *admit;        /* NULL without --admit-set */
	int64_t next_expiry;         /* unix s: no installed peer expires before it; 0 = none */
	atomic_bool admit_resync;    /* SIGHUP: rebuild the set (the ruleset may have been reloaded) */
};

void installer_key_str(char out[WG_KEY_B64_LEN + 1], const uint8_t key[WG_KEY_LEN]);
void installer_endpoint_str(char *out, size_t len, const union dp_endpoint *ep);
void installer_update_gauges(struct installer *ins);
uint64_t installer_revalidate_interval_ms(unsigned int every);

/*
 * The admission set (install.c), stage thread only; no-ops without
 * --admit-set. follow: p's hold moves to p->endpoint; drop: p lets go
 * (before peertab_del); sync: a full re-count from the peer table (after
 * a sweep); commit: write what is queued (after each batch of work).
 */
void installer_admit_follow(struct installer *ins, struct peer_state *p);
void installer_admit_drop(struct installer *ins, struct peer_state *p);
void installer_admit_sync(struct installer *ins);
void installer_admit_commit(struct installer *ins);

/* evict-run.c, stage thread only */
void installer_sweep(struct installer *ins);
void installer_remove_batch(struct installer *ins);
void installer_revalidate(struct installer *ins);
/* Removes key from the data plane and the table if installed (logged, counted by reason). */
void installer_remove(struct installer *ins, const uint8_t key[WG_KEY_LEN], enum removal_reason why);

/*
 * owner.c, stage thread only: address ownership. holder: an installed peer
 * other than key whose allowed IPs overlap ips, or NULL (peertab_holder:
 * a hash probe per host address). remove_holders: removes every such peer
 * (REMOVE_LOST), returns how many.
 */
struct peer_state *installer_holder(struct installer *ins, const uint8_t key[WG_KEY_LEN],
				    const struct dp_allowedip *ips, size_t n);
size_t installer_remove_holders(struct installer *ins, const uint8_t key[WG_KEY_LEN],
				const struct dp_allowedip *ips, size_t n);
/* Sends NOTICE_CONFLICT for it (held by holder) to the lookup; false when it was not taken. */
bool installer_ask_owner(struct installer *ins, const struct install_item *it, const struct peer_state *holder);

/*
 * expiry.c, stage thread only: expires_at at the second. note: a peer
 * with that expiry is (re)installed. run: removes every installed peer
 * whose expiry has passed at now (unix ms) and finds the next one; a scan
 * of the table, only when the earliest noted expiry is due. due_ms: ms
 * from now until then, or -1 when nothing expires.
 */
void installer_expiry_note(struct installer *ins, int64_t expires_at);
void installer_expiry_run(struct installer *ins, int64_t now_ms);
int64_t installer_expiry_due_ms(const struct installer *ins, int64_t now_ms);
/* ITEM_UPDATE (update.c): applies a feed record to an installed peer. */
void installer_apply_update(struct installer *ins, const struct install_item *it);

/*
 * guard.c: installer_guard_admit() runs under the stage's lock when a replay
 * notice is queued (0, -EALREADY when one is queued for the key, -EAGAIN
 * when GUARD_MAX are); the rest on the stage thread.
 */
int installer_guard_admit(struct installer *ins, const uint8_t key[WG_KEY_LEN]);
void installer_guard_notice(struct installer *ins, const struct notice *n);
void installer_guards_run(struct installer *ins, uint64_t now);
uint64_t installer_guards_next(const struct installer *ins);

enum answer {
	ANSWER_NONE,      /* the data plane answered (or will answer) the client itself */
	ANSWER_REINJECT,  /* hand the client's initiation back once the peer is in */
	ANSWER_INITIATE,  /* role inversion: the data plane initiates */
};

/* How this batch of installs answers its clients (install.c reads it under cfg_mu). */
struct install_mode {
	bool no_initiate, reinject;
	unsigned int delay_ms;
};

/* install.c: role inversion for one peer, watched by install confirmation; stage thread. */
void installer_initiate_one(struct installer *ins, const struct install_item *it, const struct install_mode *md,
			    int64_t now);

/*
 * reinject-run.c, stage thread only. reinject_batch queues the copies of the
 * installed peers its[want[i]] for the pacer and sends what it allows
 * (a full queue: that peer initiates instead); reinject_run sends what
 * pacing allows now. followup_add is the pacer's sent() callback (arg
 * the installer); run lists the data plane once for the follow-ups due at
 * now and makes the peers whose copy was never consumed initiate.
 */
enum answer installer_answer_for(struct installer *ins, const struct install_item *it, const struct install_mode *md,
				 int64_t now);
void installer_reinject_batch(struct installer *ins, struct install_item *its, const size_t *want, size_t n,
			      const struct install_mode *md, int64_t now);
void installer_reinject_run(struct installer *ins);
/* cfg's rate, REINJECT_RATE_DEFAULT when unset (0). Pure. */
unsigned int installer_reinject_rate(const struct installer_config *cfg);
void installer_followup_add(void *arg, const struct reinject_pkt *pk, uint64_t sent_ns);
/* its[0..n) are ITEM_SESSION: marks the follow-ups they answer. */
void installer_followups_answered(struct installer *ins, const struct install_item *its, size_t n);
/* its[0..n) are ITEM_COOKIE: sends the copies they refused again, with mac2 (reinject-cookie.c). */
void installer_followups_cookied(struct installer *ins, const struct install_item *its, size_t n);
/*
 * The cookie jar (reinject-cookie.c): replies that refused a client's
 * original before its copy was made. init with the data plane's public key
 * (0 or -errno); first is the pacer's prep() (arg the installer): a copy
 * about to go takes the mac2 of its cookie in the jar, in place.
 */
int installer_cookies_init(struct installer *ins, const uint8_t public_key[WG_KEY_LEN]);
void installer_cookies_free(struct installer *ins);
void installer_cookie_first(void *arg, struct reinject_pkt *pk, uint8_t *msg);
/* Queues n items of kind (ITEM_SESSION, ITEM_COOKIE), never into the lower half of the queue. */
size_t installer_push_seen(struct installer *ins, enum item_kind kind, const union dp_endpoint *ep,
			   const struct timespec *at, const uint8_t (*msg)[WG_MSG_COOKIE_LEN], size_t n);
/* An endpoint as comparable bytes (family, port, address), for sorting and searching. */
struct ep_key {
	uint8_t b[2 + 2 + 16];
};
void installer_ep_key(struct ep_key *k, const union dp_endpoint *ep);
uint64_t installer_followups_next(const struct installer *ins, uint64_t now);
void installer_followups_run(struct installer *ins, uint64_t now);
/*
 * The sweep's backstop for keepalives a follow-up never set (its copy was
 * not followed up, expired in the pacer or could not be sent): our peers
 * with a session, installed long enough ago, get the record's keepalive.
 */
void installer_keepalive_sweep(struct installer *ins, const struct dp_peer *peers, size_t n, uint64_t now_ms);

/* status.c: copies the peer table for the status document and publishes the copy. */
void installer_status_publish(struct installer *ins);
/*
 * status.c, the install stage's timer: refreshes the copy when it is dirty
 * and due (STATUS_*). Returns when it wants to run next, UINT64_MAX when
 * nothing is dirty.
 */
uint64_t installer_status_run(struct installer *ins, uint64_t now);

/*
 * The pause after a copy that took build_ns: STATUS_EVERY_MS, or
 * STATUS_COST_SHARE times the copy, whichever is longer. The copy is
 * O(peers) and made on the install thread, so at a fixed 100 ms a large
 * table would keep the thread copying while installs wait (bench/flood:
 * a storm on a jitwgd already holding 5,000 peers ran up to 13x slower
 * when the document itself was built there). Pure.
 */
uint64_t installer_status_interval_ms(uint64_t build_ns);

#endif
