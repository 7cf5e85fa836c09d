/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_CORE_CONFIG_H
#define JITWG_GATEWAY_CORE_CONFIG_H

/*
 * jitwgd's configuration: the command line and an optional --config FILE
 * that takes the same options, one per line ("idle-timeout = 300" or
 * "idle-timeout 300", '#' comments). The file is read first and the command
 * line overrides it, on start and on every SIGHUP reload.
 */

#include <stdbool.h>
#include <stddef.h>
#include "common/log.h"
#include "dataplane/dataplane.h"

enum { CONFIG_ERR_MAX = 256 };

struct config {
	/* needs a restart to change */
	char *interface;
	char *registry_url;
	char *token_file;
	char *gateway;
	char *cache_path;
	char *metrics_addr;          /* ADDR:PORT or NULL */
	char *status_socket;         /* unix socket for `jitwg status`; "" = none */
	char *config_file;
	char *hook_path;             /* jitwg-relay's hand-offs (wire/hook.h); NULL = none */
	char *hook_peer_user;        /* also accepted as hook sender; NULL = none */
	char *hook_peer_group;       /* the hook senders' group; NULL = the socket's */
	char *hook_endpoints;        /* relay endpoints believed, CIDR list; NULL = loopback */
	char *admit_set;             /* nftables admission set FAMILY:TABLE:PREFIX (nftset.h); NULL = none */
	enum dp_backend backend;
	unsigned int workers;        /* identify threads (0 = one per CPU, at most 8) */
	unsigned int positive_ttl, negative_ttl, fetch_window, stale_max;
	unsigned int registry_timeout_ms, registry_concurrency;
	unsigned int registry_budget; /* registry requests/s for never-seen keys, burst the same (100; 0 = unlimited) */
	unsigned int prefetch;       /* keep every feed record; seconds between plain polls; 0 = off */
	unsigned int feed_wait;      /* long-poll wait on the change feed (25; 0 = poll every second) */
	bool no_follow;              /* no feed follower (and no prefetch) */
	/* reloadable on SIGHUP */
	enum log_level log_level;
	unsigned int idle_timeout;   /* seconds (600) */
	unsigned int grace;          /* seconds a fresh install is never evicted (min(30, idle)) */
	unsigned int revalidate;     /* seconds between registry re-checks of an installed peer (300) */
	bool no_initiate;
	bool reinject;                  /* answer with the client's own initiation, not role inversion */
	unsigned int initiate_delay_ms; /* trigger no earlier than this after the capture (0) */
	unsigned int reinject_rate;     /* re-injected copies per second at most (install/reinject.h) */
	unsigned int confirm_ms;        /* install confirmation wait (40); 0 = off */
	unsigned int admit_rate, admit_burst, admit_threshold;
};

/*
 * Fills *cfg from defaults, the file named by --config (if any) and argv.
 * Returns 0; 1 when --help or --version was handled (text in err, exit 0);
 * or -EINVAL / -errno with a one-line human reason in err. On error *cfg is
 * freed. argv is not modified and may be parsed again for reloads.
 */
int config_load(struct config *cfg, int argc, char **argv, char err[CONFIG_ERR_MAX]);

/* Frees the strings; the struct may be loaded again. NULL is a no-op. */
void config_free(struct config *cfg);

/*
 * Compares a reloaded config with the running one: copies the options the
 * option table marks reloadable into *run (a string is moved: *fresh loses
 * it) and returns how many restart-only options differ (naming the first in
 * err). Never fails; *fresh is still the caller's to config_free().
 */
int config_apply_reload(struct config *run, struct config *fresh, char err[CONFIG_ERR_MAX]);

struct installer_config;
struct admit_config;

/*
 * Copies the options that configure the install stage (timeouts, grace,
 * revalidation, initiation, confirmation) into *ic, or the admission
 * buckets (rate, burst, threshold) into *ac; the option table names each
 * one's field there. Other fields are left as they are. At start and after
 * each reload.
 */
void config_fill_installer(const struct config *cfg, struct installer_config *ic);
void config_fill_admit(const struct config *cfg, struct admit_config *ac);

/*
 * Reads a bearer token file: one line, surrounding whitespace trimmed, no
 * control characters. Returns a malloc'd string or NULL with errno set and
 * a reason in err.
 */
char *config_read_token(const char *path, char err[CONFIG_ERR_MAX]);

/* Usage text for --help. */
extern const char config_usage[];

#endif
