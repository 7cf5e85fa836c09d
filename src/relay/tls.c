// SPDX-License-Identifier: MIT
/*
 * The relay's TLS context. Loaded at start and on SIGHUP; connections take a
 * reference when they are accepted, so a reload never disturbs a session in
 * progress. SSL_MODE_RELEASE_BUFFERS returns an idle session's 2 x 16 KiB
 * record buffers to the allocator: most connections are idle most of the time.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/secretfile.h"
#include "relay/relay.h"

static void log_ssl(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	log_err("relay: %s: %s", what, e ? buf : "unknown error");
	ERR_clear_error();
}

static SSL_CTX *load(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		log_ssl("TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* no session cache: resumption state per client would cost memory */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_ssl(cert);
		/* the usual cause: --tls-cert and --tls-key given the other way round */
		if (SSL_CTX_use_PrivateKey_file(ctx, cert, SSL_FILETYPE_PEM) == 1)
			log_err("relay: --tls-cert %s is a private key, not a certificate: are --tls-cert and "
				"--tls-key swapped?", cert);
		ERR_clear_error();
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		log_ssl(key);
		goto fail;
	}
	if (secret_path_exposed(key))
		log_warn("relay: --tls-key %s " SECRET_EXPOSED_HINT, key);
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl("certificate and key do not match");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int relay_tls_reload(struct relay *r)
{
	SSL_CTX *ctx, *old;

	if (!r->cfg.tls_cert)
		return 0;
	ctx = load(r->cfg.tls_cert, r->cfg.tls_key);
	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&r->tls_mu);
	old = r->tls;
	r->tls = ctx;
	pthread_mutex_unlock(&r->tls_mu);
	SSL_CTX_free(old);
	return 0;
}

struct ssl_ctx_st *relay_tls_get(struct relay *r)
{
	SSL_CTX *ctx;

	pthread_mutex_lock(&r->tls_mu);
	ctx = r->tls;
	if (ctx)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&r->tls_mu);
	return ctx;
}

void relay_tls_free(struct relay *r)
{
	SSL_CTX_free(r->tls);
	r->tls = NULL;
}
