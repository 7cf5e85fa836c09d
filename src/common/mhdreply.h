/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_MHDREPLY_H
#define JITWG_COMMON_MHDREPLY_H

/*
 * One libmicrohttpd answer with a heap body, shared by the three HTTP
 * servers (jitwgd's metrics port, the registry's /metrics, the relay's
 * metrics port) so that ownership on the failure path is written once.
 */

#include <microhttpd.h>

/* libmicrohttpd 0.9.71 turned the handlers' int into enum MHD_Result. */
#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

/* The Prometheus text exposition format's Content-Type. */
#define MHD_REPLY_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/*
 * Queues code with body (NUL-terminated, malloc'd) as Content-Type type.
 * Takes body in every case: it is freed by libmicrohttpd after sending, or
 * here when the response cannot be made (then MHD_NO, which drops the
 * connection). A NULL body (a failed allocation upstream) is MHD_NO too.
 */
mhd_result mhd_reply(struct MHD_Connection *conn, unsigned int code, const char *type, char *body);

#endif
