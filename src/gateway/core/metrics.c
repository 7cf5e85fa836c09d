// SPDX-License-Identifier: MIT
/*
 * Prometheus text exposition (format 0.0.4) of struct metrics. Rendering
 * reads each atomic once with relaxed ordering: a scrape is a snapshot of
 * independent counters, not a consistent cut, which Prometheus tolerates.
 */
#include "gateway/core/metrics.h"

#include "common/promtext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_install_bounds[METRICS_INSTALL_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
};

void metrics_observe_install(struct metrics *m, double seconds)
{
	size_t i;

	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < METRICS_INSTALL_BUCKETS; ++i) {
		if (seconds <= metrics_install_bounds[i]) {
			metrics_inc(&m->install_bucket[i]);
			break;
		}
	}
	metrics_add(&m->install_sum_us, (uint64_t)(seconds * 1e6 + 0.5));
	metrics_inc(&m->install_count);
}

static void counter(struct promtext *b, const char *name, const char *help, const atomic_uint_fast64_t *c)
{
	promtext_put(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
	    (unsigned long long)metrics_get(c));
}

static void gauge(struct promtext *b, const char *name, const char *help, const atomic_int_fast64_t *g)
{
	promtext_put(b, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name,
	    (long long)atomic_load_explicit((atomic_int_fast64_t *)g, memory_order_relaxed));
}

/* One counter family with a label: "# HELP", "# TYPE", then name{label="values[i]"} per element of c. */
static void labelled(struct promtext *b, const char *name, const char *help, const char *label,
		     const char *const *values, const atomic_uint_fast64_t *c, size_t n)
{
	size_t i;

	promtext_put(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (i = 0; i < n; ++i)
		promtext_put(b, "%s{%s=\"%s\"} %llu\n", name, label, values[i], (unsigned long long)metrics_get(&c[i]));
}

/* Capture, hook, admit and identify: the stages before decoding. */
static void render_ingest(struct promtext *b, const struct metrics *m)
{
	gauge(b, "jitwg_peers_installed", "Peers currently installed in the data plane.",
	      &m->peers_installed);
	gauge(b, "jitwg_peers_stale",
	      "Installed peers idle past the idle timeout (last sweep).", &m->peers_stale);
	gauge(b, "jitwg_admit_engaged", "1 while per-source admission buckets are enforced.",
	      &m->admit_engaged);
	gauge(b, "jitwg_capture_egress_open",
	      "1 while the egress tap is open (a burst): every packet the host sends is cloned for it.",
	      &m->capture_egress);
	counter(b, "jitwg_captured_total", "Handshake initiations that passed the capture filter.",
		&m->captured);
	counter(b, "jitwg_capture_malformed_total",
		"Captured datagrams that failed the user-space re-check.", &m->capture_malformed);
	counter(b, "jitwg_hook_received_total",
		"Initiations handed over by jitwg-relay through the hook socket.", &m->hook_received);
	counter(b, "jitwg_hook_malformed_total",
		"Hook datagrams refused (wrong length, magic, family or message type).", &m->hook_malformed);
	counter(b, "jitwg_hook_sender_refused_total",
		"Hook datagrams from a process that is not root, jitwgd, or the hook's peer user or group.",
		&m->hook_sender_refused);
	counter(b, "jitwg_hook_endpoint_refused_total",
		"Hook datagrams naming an endpoint outside --hook-endpoints.", &m->hook_endpoint_refused);
	counter(b, "jitwg_capture_cookies_total",
		"Cookie replies the data plane sent that the egress tap saw.", &m->capture_cookies);
	counter(b, "jitwg_capture_kernel_drops_total",
		"Packets the kernel dropped before the capture socket read them.",
		&m->capture_kernel_drops);
	counter(b, "jitwg_admit_dropped_total",
		"Initiations dropped by the per-source token buckets.", &m->admit_dropped);
	counter(b, "jitwg_admit_duplicate_total",
		"Initiations dropped before decoding: their ephemeral key was seen in the last 10-20 s (replays).",
		&m->admit_duplicate);
	counter(b, "jitwg_identify_queue_dropped_total",
		"Admitted initiations dropped because the identify queue was full.",
		&m->identify_queue_dropped);
}

/* Decoding verdicts, replay guard, lookup queue and budget, cache, registry and prefetch. */
static void render_lookup(struct promtext *b, const struct metrics *m)
{
	static const char *const cache_names[METRICS_CACHE_MAX] = { "hit", "miss", "negative", "stale" };
	static const char *const reg_names[METRICS_REG_MAX] = { "ok", "not_found", "http_error", "transport" };
	static const char *const pf_status[METRICS_PREFETCH_MAX] = { "ok", "failed" };
	static const char *const pf_ops[METRICS_PREFETCH_OPS] = { "put", "delete" };
	const char *verdicts[NOISE_BAD_TIMESTAMP + 1];
	size_t i;

	for (i = 0; i <= NOISE_BAD_TIMESTAMP; ++i)
		verdicts[i] = noise_verdict_name((enum noise_verdict)i);
	labelled(b, "jitwg_handshakes_total", "Initiations decoded, by verdict.", "verdict", verdicts,
		 m->handshakes, NOISE_BAD_TIMESTAMP + 1);
	counter(b, "jitwg_replay_rejected_total",
		"Authenticated initiations whose timestamp was not newer than the last seen.",
		&m->replay_rejected);
	counter(b, "jitwg_endpoint_restores_total",
		"Endpoints put back after a replayed initiation from another address reached the data plane.",
		&m->endpoint_restores);
	counter(b, "jitwg_lookup_queue_dropped_total",
		"Authenticated initiations the lookup stage had no room for.",
		&m->lookup_queue_dropped);
	counter(b, "jitwg_lookup_budget_dropped_total",
		"Initiations for never-seen keys dropped because the registry budget was spent.",
		&m->lookup_budget_dropped);
	labelled(b, "jitwg_cache_total", "Cache lookups, by result.", "result", cache_names, m->cache,
		 METRICS_CACHE_MAX);
	labelled(b, "jitwg_registry_requests_total", "Registry requests, by outcome.", "status", reg_names,
		 m->registry_requests, METRICS_REG_MAX);
	gauge(b, "jitwg_registry_check_ok",
	      "1 if the last check of the registry (reachable, token accepted, API v1) passed.",
	      &m->registry_check_ok);
	labelled(b, "jitwg_prefetch_requests_total",
		 "Change-feed pages asked of the registry (prefetch), by outcome.", "status", pf_status,
		 m->prefetch_requests, METRICS_PREFETCH_MAX);
	labelled(b, "jitwg_prefetch_changes_total", "Change-feed entries written to the cache, by op.", "op",
		 pf_ops, m->prefetch_changes, METRICS_PREFETCH_OPS);
	gauge(b, "jitwg_prefetch_synced_seconds",
	      "Unix time of the last change-feed answer that left the cache caught up (0: never).",
	      &m->prefetch_synced);
}

/* The install stage: installs, admission set, confirmation, evictions. */
static void render_install(struct promtext *b, const struct metrics *m)
{
	counter(b, "jitwg_installs_total", "Peers installed or updated in the data plane.",
		&m->installs);
	counter(b, "jitwg_install_errors_total", "Installs the data plane refused or that were lost.",
		&m->install_errors);
	counter(b, "jitwg_install_queue_dropped_total",
		"Installs, removals and endpoint checks the install stage had no room for.",
		&m->install_queue_dropped);
	gauge(b, "jitwg_admit_set_elements",
	      "Endpoints in the nftables admission set (--admit-set): installed peers' endpoints.",
	      &m->admit_set_elements);
	counter(b, "jitwg_admit_set_writes_total",
		"Endpoints put into or deleted from the nftables admission set.", &m->admit_set_writes);
	counter(b, "jitwg_admit_set_errors_total",
		"Writes to the nftables admission set that failed (netlink errors; the set is rebuilt).",
		&m->admit_set_errors);
	counter(b, "jitwg_status_limited_total",
		"Status requests refused by the rate limit.", &m->status_limited);
	counter(b, "jitwg_initiations_sent_total",
		"Installs after which the data plane was made to initiate (role inversion).",
		&m->initiations_sent);
	counter(b, "jitwg_install_reinjected_total",
		"Installs after which the client's own initiation was handed back to the data plane.",
		&m->reinjected);
	counter(b, "jitwg_install_reinject_failed_total",
		"Re-injections that could not be sent, or waited for pacing until the client's retransmit "
		"was due; a full pacing queue makes the data plane initiate instead.", &m->reinject_failed);
	counter(b, "jitwg_install_reinject_held_total",
		"Re-injections held back by pacing, so the data plane does not get them in one clump.",
		&m->reinject_held);
	counter(b, "jitwg_install_reinject_unanswered_total",
		"Re-injected initiations the data plane had not consumed 250 ms later (under load it demands a "
		"cookie the copy cannot carry); the data plane was made to initiate instead.",
		&m->reinject_unanswered);
	counter(b, "jitwg_install_reinject_late_total",
		"Of the unanswered re-injections: those initiated after 1 s without seeing a later copy consumed "
		"(the data plane too slow to tell refused from queued).",
		&m->reinject_followup_late);
	counter(b, "jitwg_install_reinject_answered_total",
		"Re-injections whose client the capture saw begin its session, so the data plane was not listed "
		"to learn it.", &m->reinject_answered);
	counter(b, "jitwg_install_reinject_cookied_total",
		"Re-injections sent with the mac2 of a cookie the data plane gave under load: again after it "
		"refused the copy, or at once with the cookie that refused the client's original.",
		&m->reinject_cookied);
	counter(b, "jitwg_install_reinject_resent_total",
		"Re-injections the data plane had not consumed when a later copy was, or 1 s on, sent again as "
		"they were (a replay if it had taken the first) before it is made to initiate.",
		&m->reinject_resent);
	counter(b, "jitwg_install_reinject_unfollowed_total",
		"Re-injections not followed up because the follow-up table was full.", &m->reinject_unfollowed);
	counter(b, "jitwg_install_confirm_confirmed_total",
		"Initiated installs whose handshake completed within the confirmation wait.",
		&m->confirm_confirmed);
	counter(b, "jitwg_install_confirm_repaired_total",
		"Initiated installs with no handshake after the wait (crossed handshakes), removed and "
		"initiated again.", &m->confirm_repaired);
	counter(b, "jitwg_install_confirm_given_up_total",
		"Initiated installs left to the client's retry: no handshake after the last repair, "
		"or after five looks while still receiving or while many were stuck at once.",
		&m->confirm_given_up);
	counter(b, "jitwg_evictions_total", "Peers removed from the data plane.", &m->evictions);
	counter(b, "jitwg_registry_gone_total",
		"Installed peers removed because the registry reports them deleted or expired.",
		&m->registry_gone);
	counter(b, "jitwg_expired_total", "Installed peers removed at their expiry time by jitwgd's own timer.",
		&m->expired);
	counter(b, "jitwg_address_lost_total",
		"Installed peers removed because the registry gave their allowed IPs to another key.",
		&m->address_lost);
	counter(b, "jitwg_feed_updates_total",
		"Change-feed records applied to installed peers (allowed IPs, keepalive or expiry changed).",
		&m->feed_updates);
}

static void render_install_histogram(struct promtext *b, const struct metrics *m)
{
	uint64_t cum = 0, count;
	size_t i;

	promtext_put(b, "# HELP jitwg_install_seconds Time from the first captured initiation to the peer installed.\n"
		"# TYPE jitwg_install_seconds histogram\n");
	for (i = 0; i < METRICS_INSTALL_BUCKETS; ++i) {
		cum += metrics_get(&m->install_bucket[i]);
		promtext_put(b, "jitwg_install_seconds_bucket{le=\"%g\"} %llu\n", metrics_install_bounds[i],
		    (unsigned long long)cum);
	}
	/* Read count after the buckets so +Inf is never below the last bucket. */
	count = metrics_get(&m->install_count);
	if (count < cum)
		count = cum;
	promtext_put(b, "jitwg_install_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)count);
	promtext_put(b, "jitwg_install_seconds_sum %.6f\n", (double)metrics_get(&m->install_sum_us) / 1e6);
	promtext_put(b, "jitwg_install_seconds_count %llu\n", (unsigned long long)count);
}

char *metrics_render(const struct metrics *m)
{
	struct promtext b;

	promtext_init(&b);
	render_ingest(&b, m);
	render_lookup(&b, m);
	render_install(&b, m);
	render_install_histogram(&b, m);
	return promtext_finish(&b);
}
