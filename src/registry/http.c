// SPDX-License-Identifier: MIT
/*
 * libmicrohttpd glue. A request arrives in several handler calls: the first
 * (headers only) allocates per-request state, the middle ones deliver body
 * chunks, the last (upload size 0) runs the API. Bodies are capped at
 * API_BODY_MAX; a declared Content-Length above it is refused before any of
 * the body is read.
 *
 * A long poll of the change feed (api_response.hold_s) suspends its
 * connection in the waiter set (feedwait.h); a commit in this process
 * (store_set_notify), a change another process committed (the watcher
 * thread on store_watch) or the deadline resumes it, and the handler then
 * runs the API again. A suspended connection holds no thread.
 */
#include "registry/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <microhttpd.h>

#include "common/addrport.h"
#include "common/log.h"
#include "common/buf.h"
#include "common/mhdreply.h"
#include "registry/feedwait.h"
#include "registry/metrics.h"

enum {
	WATCH_MS = 250, /* the watcher's tick: other processes' changes and waiter deadlines */
	PARK_TRIES = 4, /* wakes that race one request's query before it answers what it has */
};

struct http_server {
	struct MHD_Daemon *d;
	const struct api_ctx *ctx;
	atomic_int in_flight;
	struct reg_metrics metrics;
	struct feedwait fw;
	pthread_t watcher;
	bool has_watcher;
	atomic_bool stop;
};

struct req_state {
	struct feedwait_entry wait; /* first: a parked request's state */
	struct buf body;   /* may carry a preshared key: wiped; API_BODY_MAX + NUL */
	bool too_big;
	bool answered; /* a response went out before the body: discard the rest */
	enum reg_route route;
	uint64_t start_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000ULL;
}

static void conn_suspend(void *conn)
{
	MHD_suspend_connection(conn);
}

static void conn_resume(void *conn)
{
	MHD_resume_connection(conn);
}

static void on_commit(void *arg)
{
	feedwait_wake(arg);
}

/* Wakes waiters for changes other processes commit, and at their deadlines. */
static void *watch_main(void *arg)
{
	struct http_server *h = arg;
	int ret;

	while (!atomic_load(&h->stop)) {
		ret = store_watch(h->ctx->store, WATCH_MS);
		if (ret > 0)
			feedwait_wake(&h->fw);
		else if (ret < 0)
			log_ratelimited_debug("feed watcher: store error %d", ret);
		feedwait_expire(&h->fw, now_ms());
	}
	return NULL;
}

/* Bodies can carry a preshared key (requests and responses): wipe before freeing. */
static void wipe_free(void *p)
{
	if (!p)
		return;
	explicit_bzero(p, strlen(p));
	free(p);
}


static const char *query_arg(void *arg, const char *name)
{
	return MHD_lookup_connection_value(arg, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct api_response *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->body) {
		resp = MHD_create_response_from_buffer_with_free_callback(strlen(r->body), r->body, wipe_free);
		if (!resp) {
			wipe_free(r->body);
			r->body = NULL;
			return MHD_NO;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	} else {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
	}
	r->body = NULL;
	if (r->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* send_response, counted in /metrics under the request's route. */
static enum MHD_Result answer(struct http_server *h, const struct req_state *st, struct MHD_Connection *conn,
			      struct api_response *r)
{
	reg_metrics_observe(&h->metrics, st->route, r->status, now_ns() - st->start_ns);
	return send_response(conn, r);
}

static enum MHD_Result too_large(struct http_server *h, const struct req_state *st, struct MHD_Connection *conn)
{
	struct api_response r;

	api_error(&r, 413, "request body too large", "body");
	r.www_authenticate = false;
	return answer(h, st, conn, &r);
}

/* GET /metrics: Prometheus text (behind the bearer token like the API). */
static enum MHD_Result metrics_answer(struct http_server *h, const struct req_state *st, struct MHD_Connection *conn,
				      const char *method)
{
	struct api_response r = { 0 };
	char *text;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		api_error(&r, 405, "method not allowed", NULL);
		return answer(h, st, conn, &r);
	}
	/* Counted before rendering, so this scrape sees itself. */
	reg_metrics_observe(&h->metrics, st->route, 200, now_ns() - st->start_ns);
	text = reg_metrics_render(&h->metrics, h->ctx->store, atomic_load(&h->in_flight),
				  (long)feedwait_count(&h->fw));
	if (!text) {
		api_error(&r, 503, "out of memory", NULL);
		return send_response(conn, &r);
	}
	return mhd_reply(conn, MHD_HTTP_OK, MHD_REPLY_PROMETHEUS, text);
}

/*
 * Runs the API; parks a long poll that found nothing (until a wake or its
 * deadline) instead of answering. A parked request's latency is counted
 * from its last resume, not from its arrival.
 */
static enum MHD_Result run_api(struct http_server *h, struct req_state *st, struct MHD_Connection *conn,
			       const struct api_request *req)
{
	struct api_response resp;
	uint64_t gen;
	int i, ret;

	for (i = 0;; ++i) {
		gen = feedwait_generation(&h->fw);
		api_handle(h->ctx, req, &resp);
		if (!resp.hold_s || i == PARK_TRIES)
			break;
		if (!st->wait.wait_s) {
			st->wait.wait_s = resp.hold_s;
			st->wait.deadline_ms = now_ms() + 1000ULL * resp.hold_s;
		}
		if (now_ms() >= st->wait.deadline_ms)
			break;
		st->wait.conn = conn;
		ret = feedwait_park(&h->fw, &st->wait, gen);
		if (ret && ret != -EAGAIN)
			break;
		wipe_free(resp.body);
		if (!ret)
			return MHD_YES;
	}
	if (st->wait.wait_s)
		st->start_ns = now_ns();
	log_ratelimited_debug("%s %s -> %d", req->method, req->path, resp.status);
	return answer(h, st, conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_server *h = cls;
	struct req_state *st = *con_cls;
	struct api_request req;
	struct api_response resp;
	const char *cl;

	if (st && st->wait.parked) /* cannot happen: MHD calls back only after a resume */
		return MHD_NO;

	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		buf_init(&st->body, API_BODY_MAX + 1, true);
		*con_cls = st;
		st->start_ns = now_ns();
		st->route = reg_route_of(url);
		atomic_fetch_add(&h->in_flight, 1);
		/* Auth first: an unauthenticated client gets 401, never 413, and no body is buffered. */
		req = (struct api_request){
			.method = method,
			.path = url,
			.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								     MHD_HTTP_HEADER_AUTHORIZATION),
			.query = query_arg,
			.query_arg = conn,
		};
		if (api_refuse_unauthorized(h->ctx, &req, &resp)) {
			st->answered = true;
			return answer(h, st, conn, &resp);
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
			st->too_big = st->answered = true;
			return too_large(h, st, conn);
		}
		return MHD_YES;
	}
	if (st->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		int r = st->too_big ? -ENOBUFS : buf_put_str(&st->body, upload_data, n);

		if (r == -ENOBUFS) {
			st->too_big = true;
			buf_free(&st->body);
		}
		return r == -ENOMEM ? MHD_NO : MHD_YES;
	}
	if (st->too_big)
		return too_large(h, st, conn);
	if (st->route == REG_ROUTE_METRICS)
		return metrics_answer(h, st, conn, method);
	req.method = method;
	req.path = url;
	req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	req.body = (const char *)buf_data(&st->body);
	req.body_len = buf_len(&st->body);
	req.query = query_arg;
	req.query_arg = conn;
	return run_api(h, st, conn, &req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct req_state *st = *con_cls;

	if (!st)
		return;
	buf_free(&st->body);
	free(st);
	*con_cls = NULL;
	atomic_fetch_sub(&h->in_flight, 1);
}

struct http_server *http_server_start(const char *listen, unsigned int threads, const struct api_ctx *ctx,
				      uint16_t *port)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	socklen_t len;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	int err = ENOMEM;

	if (!h)
		goto fail;
	h->ctx = ctx;
	if (feedwait_init(&h->fw, conn_suspend, conn_resume)) {
		free(h);
		h = NULL;
		goto fail;
	}
	/* HOST:PORT, [V6]:PORT or :PORT; port 0 binds an ephemeral port (returned in *port). */
	if (addrport_resolve(listen, ADDRPORT_EMPTY_HOST | ADDRPORT_PORT0 | ADDRPORT_RESOLVE, &ss, &len)) {
		err = EINVAL;
		goto fail;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_THREAD_POOL_SIZE, threads,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
				MHD_OPTION_END);
	if (!h->d) {
		/* libmicrohttpd leaves bind(2)'s errno in place (EADDRINUSE, EACCES, ...) */
		err = errno ? errno : EADDRNOTAVAIL;
		goto fail;
	}
	store_set_notify(ctx->store, on_commit, &h->fw);
	err = pthread_create(&h->watcher, NULL, watch_main, h);
	if (err)
		goto fail;
	h->has_watcher = true;
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	*port = info ? info->port : 0;
	return h;
fail:
	http_server_drain_free(h, 0);
	errno = err;
	return NULL;
}

void http_server_drain_free(struct http_server *h, unsigned int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int waited = 0;

	if (!h)
		return;
	if (h->d)
		MHD_quiesce_daemon(h->d);
	/* Parked long polls answer now (an empty page), so that they drain too. */
	feedwait_close(&h->fw);
	while (atomic_load(&h->in_flight) > 0 && waited < timeout_ms) {
		nanosleep(&ts, NULL);
		waited += 10;
	}
	if (atomic_load(&h->in_flight) > 0)
		log_warn("stopping with %d requests still in flight", atomic_load(&h->in_flight));
	atomic_store(&h->stop, true);
	if (h->has_watcher)
		pthread_join(h->watcher, NULL);
	if (h->d)
		MHD_stop_daemon(h->d);
	/* after the workers, the last writers that could notify, are gone */
	store_set_notify(h->ctx->store, NULL, NULL);
	feedwait_uninit(&h->fw);
	free(h);
}
