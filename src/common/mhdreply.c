// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "common/mhdreply.h"

mhd_result mhd_reply(struct MHD_Connection *conn, unsigned int code, const char *type, char *body)
{
	struct MHD_Response *resp;
	mhd_result ret;

	if (!body)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}
