/*
** Server credentials for the Flight port: insecure, or TLS from PEM files
** through the gRPC C core's SSL credentials (no crypto of our own). With a
** client CA the server requires and verifies a client certificate (mTLS).
*/
#include <grpc/grpc_security.h>
#include <string.h>

#include "flight_internal.h"

#define PEM_MAX (1 << 20)

int fl_server_credentials(const flight_options *o, grpc_server_credentials **out, qv_err *err) {
    *out = NULL;
    bool cert = o->tls_cert && *o->tls_cert, key = o->tls_key && *o->tls_key;
    if (!cert && !key) {
        if (o->tls_client_ca && *o->tls_client_ca)
            return qv_err_set(err, QV_EINVAL, "--tls-client-ca needs --tls-cert and --tls-key");
        *out = grpc_insecure_server_credentials_create();
        return QV_OK;
    }
    if (!cert || !key) return qv_err_set(err, QV_EINVAL, "TLS needs both --tls-cert and --tls-key");
    qv_str c, k, ca;
    qv_str_init(&c);
    qv_str_init(&k);
    qv_str_init(&ca);
    int rc = qv_file_read(o->tls_cert, PEM_MAX, &c, err);
    if (rc == QV_OK) rc = qv_file_read(o->tls_key, PEM_MAX, &k, err);
    if (rc == QV_OK && o->tls_client_ca && *o->tls_client_ca) rc = qv_file_read(o->tls_client_ca, PEM_MAX, &ca, err);
    if (rc == QV_OK && !strstr(c.data, "-----BEGIN CERTIFICATE-----"))
        rc = qv_err_set(err, QV_EINVAL, "%s is not a PEM certificate", o->tls_cert);
    if (rc == QV_OK && !strstr(k.data, "PRIVATE KEY-----"))
        rc = qv_err_set(err, QV_EINVAL, "%s is not a PEM private key", o->tls_key);
    if (rc == QV_OK && ca.len && !strstr(ca.data, "-----BEGIN CERTIFICATE-----"))
        rc = qv_err_set(err, QV_EINVAL, "%s is not a PEM certificate", o->tls_client_ca);
    if (rc == QV_OK) {
        grpc_ssl_pem_key_cert_pair pair = {k.data, c.data};
        *out = grpc_ssl_server_credentials_create_ex(
            ca.len ? ca.data : NULL, &pair, 1,
            ca.len ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            NULL);
        if (!*out) rc = qv_err_set(err, QV_EINVAL, "gRPC refused the TLS certificate or key");
    }
    if (k.data) memset(k.data, 0, k.len);
    qv_str_free(&c);
    qv_str_free(&k);
    qv_str_free(&ca);
    return rc;
}
