/* The listener's certificate: generated at every start so no key ever lives in the tree;
 * clients trust it through the PEM that --cert-out writes. */
#include "sim/sim.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (!ext) return -1;
    int rc = X509_add_ext(x, ext, -1) ? 0 : -1;
    X509_EXTENSION_free(ext);
    return rc;
}

static char *bio_text(BIO *bio)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? xstrndup(data, (size_t)n) : NULL;
}

int tls_make_cert(const char *bind_ip, char **key_pem, char **cert_pem, hm_err *e)
{
    int rc = -1;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    BIGNUM *serial = BN_new();
    char *san = NULL;
    if (!pkey || !x || !kb || !cb || !serial) {
        hm_err_set(e, "cannot generate the TLS key");
        goto out;
    }
    /* a random serial, so a client that cached an earlier run's certificate notices */
    if (!BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) || !X509_set_version(x, 2)) {
        hm_err_set(e, "cannot set the certificate serial");
        goto out;
    }
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"hmsim", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    bool other_ip = bind_ip && *bind_ip && strcmp(bind_ip, "127.0.0.1") != 0 &&
                    strcmp(bind_ip, "0.0.0.0") != 0 && strcmp(bind_ip, "::") != 0;
    san = other_ip ? xasprintf("DNS:localhost,IP:127.0.0.1,IP:%s", bind_ip)
                   : xstrdup("DNS:localhost,IP:127.0.0.1");
    /* CA:TRUE lets the same self-signed certificate serve as the trust anchor of --cacert */
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
        add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
        add_ext(x, &ctx, NID_subject_alt_name, san)) {
        hm_err_set(e, "cannot add the certificate extensions");
        goto out;
    }
    if (!X509_sign(x, pkey, EVP_sha256())) {
        hm_err_set(e, "cannot sign the certificate");
        goto out;
    }
    if (!PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cb, x)) {
        hm_err_set(e, "cannot encode the certificate");
        goto out;
    }
    *key_pem = bio_text(kb);
    *cert_pem = bio_text(cb);
    rc = *key_pem && *cert_pem ? 0 : hm_err_set(e, "cannot encode the certificate");
out:
    free(san);
    BN_free(serial);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}
