// SPDX-License-Identifier: MIT
/* The relay's /metrics page (Prometheus text format), over libmicrohttpd. */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addrport.h"
#include "common/log.h"
#include "common/mhdreply.h"
#include "common/promtext.h"
#include "relay/relay.h"


#define LD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

char *relay_metrics_render(const struct relay *r)
{
	const struct relay_metrics *m = &r->m;
	struct promtext b;

	promtext_init(&b);
#define C(name, help, v) \
	do { \
		promtext_family(&b, "jitwg_relay_" name, "counter", help); \
		promtext_put(&b, "jitwg_relay_" name " %llu\n", LD(v)); \
	} while (0)
#define G(name, help, v) \
	do { \
		promtext_family(&b, "jitwg_relay_" name, "gauge", help); \
		promtext_put(&b, "jitwg_relay_" name " %lld\n", (long long)atomic_load(&(v))); \
	} while (0)
	G("connections", "TCP connections held, in any state.", m->connections);
	/* The limit itself, so that an alert can compare connections with it (ops, issue 12). */
	promtext_family(&b, "jitwg_relay_max_connections", "gauge", "The --max-connections limit.");
	promtext_put(&b, "jitwg_relay_max_connections %u\n", r->cfg.max_conns);
	G("websockets_open", "Upgraded WebSocket connections.", m->open);
	C("accepted_total", "TCP connections accepted.", m->accepted);
	C("rejected_full_total", "Connections refused (503 or closed) over --max-connections.", m->rejected_full);
	C("upgrades_total", "Successful WebSocket upgrades.", m->upgrades);
	C("upgrade_failed_total", "Upgrade requests answered with a 4xx.", m->upgrade_failed);
	C("handshake_timeouts_total", "Connections whose TLS handshake or upgrade did not finish in time.", m->handshake_timeouts);
	C("tls_failed_total", "TLS handshakes that failed.", m->tls_failed);
	C("closed_total", "Connections closed, for any reason.", m->closed);
	C("protocol_errors_total", "Connections closed with 1002 or 1003.", m->protocol_errors);
	C("too_big_total", "Connections closed with 1009.", m->too_big);
	C("framing_stream_total", "Connections that chose the stream framing.", m->framing_stream);
	C("framing_message_total", "Connections that chose one binary message per datagram.", m->framing_message);
	C("to_wg_datagrams_total", "Datagrams forwarded to WireGuard.", m->to_wg_datagrams);
	C("to_wg_bytes_total", "Bytes forwarded to WireGuard.", m->to_wg_bytes);
	C("to_wg_dropped_total", "Datagrams toward WireGuard the UDP socket refused.", m->to_wg_dropped);
	C("to_client_datagrams_total", "Datagrams sent to WebSocket clients.", m->to_client_datagrams);
	C("to_client_bytes_total", "Bytes sent to WebSocket clients.", m->to_client_bytes);
	C("to_client_dropped_total", "Datagrams toward a client dropped (output queue full, or before the client spoke).", m->to_client_dropped);
	C("keepalives_total", "Zero-length keepalive records absorbed (a run of them back to back in one read counts once).", m->keepalives);
	C("pings_total", "WebSocket pings received.", m->pings);
	C("udp_bind_failed_total", "Upgrades refused because no UDP socket could be bound.", m->udp_bind_failed);
	C("hook_sent_total", "Initiations handed to jitwgd through the hook.", m->hook_sent);
	C("hook_dropped_total", "Hand-offs dropped (jitwgd absent, slow or full).", m->hook_dropped);
	C("xff_used_total", "Upgrades whose client address came from a trusted X-Forwarded-For.", m->xff_used);
	C("idle_timeouts_total", "WebSockets closed after --idle-timeout without a frame from the client.", m->idle_timeouts);
	C("partial_timeouts_total", "WebSockets closed (1008) with a record or message unfinished past --handshake-timeout.", m->partial_timeouts);
	C("slow_readers_total", "WebSockets closed (1008) whose client left its output unread past --handshake-timeout.", m->slow_readers);
	C("rejected_source_total", "Connections refused over --max-per-source.", m->rejected_source);
	C("accept_paused_total", "Times accepting paused because descriptors (or memory) ran out.", m->accept_paused);
	C("pongs_coalesced_total", "Pings answered by a later ping's pong (one pong per wake-up).", m->pongs_coalesced);
#undef C
#undef G
	return promtext_finish(&b);
}

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			 const char *version, const char *upload, size_t *upload_len, void **state)
{
	struct relay *r = cls;

	if (strcmp(method, "GET") != 0)
		return mhd_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("method not allowed\n"));
	if (strcmp(url, "/metrics") == 0)
		return mhd_reply(conn, MHD_HTTP_OK, MHD_REPLY_PROMETHEUS, relay_metrics_render(r));
	if (strcmp(url, "/healthz") == 0)
		return mhd_reply(conn, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
	return mhd_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", strdup("not found\n"));
}

void *relay_metrics_serve(struct relay *r)
{
	struct sockaddr_storage ss;
	/* epoll, not select(): the process holds more than FD_SETSIZE descriptors under load */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;

	if (addrport_parse(r->cfg.metrics, &ss) < 0) {
		log_err("relay: --metrics: expected ADDR:PORT, got '%s'", r->cfg.metrics);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, handle, r, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	if (!d)
		log_err("relay: --metrics %s: cannot listen", r->cfg.metrics);
	return d;
}

void relay_metrics_stop(void *h)
{
	if (h)
		MHD_stop_daemon(h);
}
