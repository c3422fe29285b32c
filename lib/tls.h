/*
 * tls.h: TLS over a non-blocking socket (OpenSSL), driven by the event
 * loop through "want" results rather than blocking calls.
 *
 * One struct tls_context per program and role set: it holds the loaded
 * CA store and, for servers, the certificate chain and key.  Load it before
 * dropping privileges.  A context with a certificate serves both roles; one
 * without can only be a client.  Contexts and connections are independent:
 * a context may be freed while connections made from it live on.
 *
 * Clients verify by default: the chain against ca_file (or the system store
 * when NULL) and the peer's name against server_name (a DNS name, checked
 * against the certificate's names and sent as SNI; or an IP literal,
 * checked against its IP addresses).  A verifying client without a name
 * fails its handshake rather than accept any certificate from a trusted
 * CA.  noverify = 1 turns all of it off (tests, self-signed servers).
 * TLS 1.2 is the minimum.  A peer that closes without close_notify reads
 * as a clean close: RTMP frames its own messages, so truncation cannot go
 * unnoticed above.
 *
 * struct tls does not own its fd: close it after tls_free().  Results:
 * tls_handshake() gives 0 when done; tls_read() and tls_write() give a
 * byte count (tls_read() 0 on the peer's clean close).  All three give
 * TLS_WANT_READ or TLS_WANT_WRITE when they must wait: call again once the
 * fd is readable or writable (a read may need to write and the other way
 * round).  Both are negative and outside the RTMP_E* range, so they are
 * never mistaken for bytes or errors.  tls_read() of 0 bytes is
 * RTMP_EINVAL (0 means the close).  Errors: RTMP_ETLS (tls_error() says
 * why: "certificate verify failed: self-signed certificate"), RTMP_ESYS
 * (errno), RTMP_ECLOSED (the peer hung up mid-handshake).  After an error
 * only tls_error() and tls_free() are useful.
 *
 * After TLS_WANT_WRITE from tls_write()/tls_writev(), call again with the
 * same bytes at the front (more may follow); OpenSSL has already sealed them
 * into a record.  tls_read() returns what one record held: with plaintext
 * still buffered inside OpenSSL, tls_pending() is non-zero and the socket
 * may not become readable again, so read until TLS_WANT_READ or check it.
 *
 * Programs ignore SIGPIPE: OpenSSL writes with write(2).
 *
 * The programs link libssl and libcrypto as shared libraries, so ldd and
 * the package tools (dpkg-shlibdeps) see the dependency; nothing is loaded
 * at run time.  OpenSSL initialises itself on the first TLS context, so a
 * plain rtmp:// session never pays for it (the digest handshake's HMAC is
 * libmd's SHA-256, handshake.c).
 */
#ifndef RTMPKIT_TLS_H
#define RTMPKIT_TLS_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>

#define TLS_WANT_READ	(-1000)
#define TLS_WANT_WRITE	(-1001)

#define TLS_RECORD_MAX	16384	/* plaintext bytes in one record */

struct tls_config {
	/* client */
	int		 noverify;	/* 1: accept any certificate */
	const char	*ca_file;	/* NULL: the system's CA store */
	const char	*server_name;	/* default name for tls_new() */
	/* server */
	const char	*cert_file;	/* PEM chain, leaf first */
	const char	*key_file;	/* PEM key; NULL: in cert_file */
};

struct tls_context;
struct tls;

/* NULL with a message in err (e.g. "key file k.pem: ...") on failure. */
struct tls_context	*tls_context_new(const struct tls_config *cfg,
			    char *err, size_t errlen);
void			 tls_context_free(struct tls_context *);

/* NULL when out of memory or server without a certificate. */
struct tls	*tls_new(struct tls_context *ctx, int fd, int server);
/* Client: the name to verify and send as SNI, replacing the default. */
int		 tls_set_server_name(struct tls *, const char *name);
void		 tls_free(struct tls *);

int		 tls_handshake(struct tls *);
int		 tls_handshake_done(const struct tls *);
ssize_t		 tls_read(struct tls *, void *buf, size_t len);
ssize_t		 tls_write(struct tls *, const void *buf, size_t len);
/* Small iovecs are gathered into one record of up to TLS_RECORD_MAX. */
ssize_t		 tls_writev(struct tls *, const struct iovec *iov, int iovcnt);
/* Send close_notify once: 0, TLS_WANT_*, or an error; never waits. */
int		 tls_shutdown(struct tls *);
int		 tls_pending(const struct tls *);
const char	*tls_error(const struct tls *);

#endif
