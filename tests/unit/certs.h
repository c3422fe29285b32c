/*
 * certs.h: a throwaway CA and server certificate for the TLS tests, made
 * with openssl(1) in a mkdtemp(3) directory: ca.crt/ca.key (self-signed,
 * also usable as a server certificate that no client trusts) and
 * srv.crt/srv.key for DNS:localhost and IP:127.0.0.1, signed by the CA.
 */
#ifndef RTMPKIT_TEST_CERTS_H
#define RTMPKIT_TEST_CERTS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char	 certs_dir[] = "/tmp/rtmpkit-tls-XXXXXX";
static char	 ca_crt[128], ca_key[128], srv_crt[128], srv_key[128];

static int
certs_run(const char *cmd)
{
	char	 buf[2048];

	snprintf(buf, sizeof(buf), "cd %s && %s >/dev/null 2>&1", certs_dir,
	    cmd);
	return system(buf) == 0;
}

static int
certs_make(void)
{
	FILE	*f;
	char	 path[160];

	if (mkdtemp(certs_dir) == NULL)
		return 0;
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", certs_dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", certs_dir);
	snprintf(srv_crt, sizeof(srv_crt), "%s/srv.crt", certs_dir);
	snprintf(srv_key, sizeof(srv_key), "%s/srv.key", certs_dir);
	snprintf(path, sizeof(path), "%s/ext.cnf", certs_dir);
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fprintf(f, "basicConstraints=critical,CA:FALSE\n"
	    "keyUsage=critical,digitalSignature\n"
	    "extendedKeyUsage=serverAuth\n"
	    "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
	fclose(f);
	return certs_run("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt "
	    "-days 2 -subj /CN=rtmpkit-test-ca "
	    "-addext basicConstraints=critical,CA:TRUE "
	    "-addext keyUsage=critical,keyCertSign,cRLSign") &&
	    certs_run("openssl req -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr "
	    "-subj /CN=localhost") &&
	    certs_run("openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key "
	    "-CAcreateserial -out srv.crt -days 2 -extfile ext.cnf");
}

static void
certs_remove(void)
{
	certs_run("rm -f ca.crt ca.key ca.srl srv.crt srv.key srv.csr ext.cnf");
	rmdir(certs_dir);
}

#endif
