#include <sys/types.h>
#include <sys/uio.h>

#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "tls.h"

struct tls_context {
	SSL_CTX		*ctx;
	int		 verify;
	int		 has_cert;
	char		*server_name;
};

struct tls {
	SSL		*ssl;
	int		 server;
	int		 verify;
	int		 named;		/* client: a name to check was set */
	int		 done;
	char		 err[256];
};

/* The first queued OpenSSL error is the cause; the rest is context. */
static const char *
tls_reason(void)
{
	unsigned long	 e = ERR_peek_error();
	const char	*r = NULL;

	if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SYS)
		r = strerror(ERR_GET_REASON(e));
	else if (e != 0)
		r = ERR_reason_error_string(e);
	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

static struct tls_context *
tls_context_fail(struct tls_context *c, char *err, size_t errlen,
    const char *what, const char *file)
{
	if (file != NULL)
		snprintf(err, errlen, "%s %s: %s", what, file, tls_reason());
	else
		snprintf(err, errlen, "%s: %s", what, tls_reason());
	tls_context_free(c);
	return NULL;
}

struct tls_context *
tls_context_new(const struct tls_config *cfg, char *err, size_t errlen)
{
	struct tls_context	*c;
	const char		*key;
	uint64_t		 opts = 0;

	ERR_clear_error();
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	c->verify = !cfg->noverify;
	if (cfg->server_name != NULL &&
	    (c->server_name = strdup(cfg->server_name)) == NULL)
		return tls_context_fail(c, err, errlen, "context", NULL);
	if ((c->ctx = SSL_CTX_new(TLS_method())) == NULL)
		return tls_context_fail(c, err, errlen, "context", NULL);
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	/* Partial writes suit a loop; idle connections give their buffers back. */
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	opts |= SSL_OP_IGNORE_UNEXPECTED_EOF;
#endif
#ifdef SSL_OP_NO_RENEGOTIATION
	opts |= SSL_OP_NO_RENEGOTIATION;
#endif
	SSL_CTX_set_options(c->ctx, opts);
	if (c->verify) {
		if (cfg->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(c->ctx,
			    cfg->ca_file, NULL) != 1)
				return tls_context_fail(c, err, errlen,
				    "ca file", cfg->ca_file);
		} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
			return tls_context_fail(c, err, errlen,
			    "system ca store", NULL);
	}
	if (cfg->cert_file != NULL) {
		key = cfg->key_file != NULL ? cfg->key_file : cfg->cert_file;
		if (SSL_CTX_use_certificate_chain_file(c->ctx,
		    cfg->cert_file) != 1)
			return tls_context_fail(c, err, errlen, "cert file",
			    cfg->cert_file);
		if (SSL_CTX_use_PrivateKey_file(c->ctx, key,
		    SSL_FILETYPE_PEM) != 1)
			return tls_context_fail(c, err, errlen, "key file", key);
		if (SSL_CTX_check_private_key(c->ctx) != 1)
			return tls_context_fail(c, err, errlen, "key file", key);
		c->has_cert = 1;
	}
	return c;
}

void
tls_context_free(struct tls_context *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ctx);
	free(c->server_name);
	free(c);
}

struct tls *
tls_new(struct tls_context *c, int fd, int server)
{
	struct tls	*t;

	if (server && !c->has_cert)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(t->ssl, fd) != 1) {
		ERR_clear_error();
		tls_free(t);
		return NULL;
	}
	t->server = server;
	t->verify = c->verify && !server;
	if (server)
		SSL_set_accept_state(t->ssl);
	else {
		SSL_set_connect_state(t->ssl);
		SSL_set_verify(t->ssl, t->verify ? SSL_VERIFY_PEER :
		    SSL_VERIFY_NONE, NULL);
		if (c->server_name != NULL &&
		    tls_set_server_name(t, c->server_name) < 0) {
			tls_free(t);
			return NULL;
		}
	}
	return t;
}

int
tls_set_server_name(struct tls *t, const char *name)
{
	X509_VERIFY_PARAM	*vp = SSL_get0_param(t->ssl);
	unsigned char		 addr[16];
	int			 ip;

	if (t->server)
		return RTMP_ESTATE;
	ip = inet_pton(AF_INET, name, addr) == 1 ||
	    inet_pton(AF_INET6, name, addr) == 1;
	/* SNI is for host names (RFC 6066). */
	if (!ip && SSL_set_tlsext_host_name(t->ssl, name) != 1)
		goto fail;
	if (t->verify) {
		if (ip) {
			if (X509_VERIFY_PARAM_set1_host(vp, NULL,
			    0) != 1 ||
			    X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1)
				goto fail;
		} else {
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (X509_VERIFY_PARAM_set1_ip(vp, NULL, 0) != 1 ||
			    X509_VERIFY_PARAM_set1_host(vp, name, 0) != 1)
				goto fail;
		}
	}
	t->named = 1;
	return 0;
fail:
	snprintf(t->err, sizeof(t->err), "server name %s: %s", name,
	    tls_reason());
	return RTMP_EINVAL;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

/* Map a failed SSL call to a want or an error with its message. */
static int
tls_result(struct tls *t, int ret, const char *what)
{
	long	 vr;
	int	 saved = errno;

	switch (SSL_get_error(t->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(t->err, sizeof(t->err), "%s: closed by peer", what);
		return RTMP_ECLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() != 0)
			break;
		if (saved == 0) {
			snprintf(t->err, sizeof(t->err),
			    "%s: unexpected eof", what);
			return RTMP_ECLOSED;
		}
		snprintf(t->err, sizeof(t->err), "%s: %s", what,
		    strerror(saved));
		errno = saved;
		return RTMP_ESYS;
	}
	vr = SSL_get_verify_result(t->ssl);
	if (vr != X509_V_OK)
		snprintf(t->err, sizeof(t->err), "%s: %s: %s", what,
		    tls_reason(), X509_verify_cert_error_string(vr));
	else
		snprintf(t->err, sizeof(t->err), "%s: %s", what, tls_reason());
	return RTMP_ETLS;
}

int
tls_handshake(struct tls *t)
{
	int	 rc;

	if (t->done)
		return 0;
	if (t->verify && !t->named) {
		snprintf(t->err, sizeof(t->err), "handshake: no server name "
		    "to verify the certificate against");
		return RTMP_ETLS;
	}
	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_do_handshake(t->ssl)) == 1) {
		t->done = 1;
		return 0;
	}
	return tls_result(t, rc, "handshake");
}

int
tls_handshake_done(const struct tls *t)
{
	return t->done;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len)
{
	size_t	 n = 0;
	int	 rc;

	if (len == 0)
		return RTMP_EINVAL;
	if (!t->done && (rc = tls_handshake(t)) != 0)
		return rc;
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	if (SSL_get_error(t->ssl, 0) == SSL_ERROR_ZERO_RETURN)
		return 0;
	return tls_result(t, 0, "read");
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t len)
{
	size_t	 n = 0;
	int	 rc;

	if (len == 0)
		return 0;
	if (!t->done && (rc = tls_handshake(t)) != 0)
		return rc;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	return tls_result(t, 0, "write");
}

ssize_t
tls_writev(struct tls *t, const struct iovec *iov, int iovcnt)
{
	unsigned char	 rec[TLS_RECORD_MAX];
	size_t		 used = 0, take;
	int		 i = 0;

	while (i < iovcnt && iov[i].iov_len == 0)
		i++;
	if (i == iovcnt)
		return 0;
	/* A large or lone buffer goes as it is: no copy. */
	if (iov[i].iov_len >= TLS_RECORD_MAX || i + 1 == iovcnt)
		return tls_write(t, iov[i].iov_base, iov[i].iov_len);
	for (; i < iovcnt && used < sizeof(rec); i++) {
		take = iov[i].iov_len;
		if (take > sizeof(rec) - used)
			take = sizeof(rec) - used;
		memcpy(rec + used, iov[i].iov_base, take);
		used += take;
	}
	return tls_write(t, rec, used);
}

int
tls_shutdown(struct tls *t)
{
	int	 rc;

	if (!t->done)
		return 0;
	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_shutdown(t->ssl)) >= 0)
		return 0;
	return tls_result(t, rc, "shutdown");
}

int
tls_pending(const struct tls *t)
{
	return SSL_pending(t->ssl);
}

const char *
tls_error(const struct tls *t)
{
	return t->err[0] != '\0' ? t->err : "no error";
}
