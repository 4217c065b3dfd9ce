/* Port collector: TCP connect and TLS handshake with certificate expiry. */
#include "collectors/port.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collectors/net.h"
#include "lib/clock.h"

int port_cert_expiry(const void *x509, int64_t now_ms, int64_t *days, char date[16])
{
    const ASN1_TIME *na = X509_get0_notAfter((const X509 *)x509);
    if (!na) return -1;
    ASN1_TIME *now = ASN1_TIME_set(NULL, (time_t)(now_ms / 1000));
    int d = 0, s = 0;
    int ok = now && ASN1_TIME_diff(&d, &s, now, na);
    ASN1_TIME_free(now);
    if (!ok) return -1;
    /* ASN1_TIME_diff splits into days and seconds with the same sign; whole days remain. */
    *days = d;
    struct tm tm;
    if (!ASN1_TIME_to_tm(na, &tm)) return -1;
    strftime(date, 16, "%Y-%m-%d", &tm);
    return 0;
}

static void ssl_reason(char *buf, size_t size)
{
    unsigned long err = ERR_get_error();
    if (err) {
        const char *r = ERR_reason_error_string(err);
        snprintf(buf, size, "%s", r ? r : "unknown TLS error");
    } else {
        snprintf(buf, size, "the server closed the connection");
    }
    ERR_clear_error();
}

static void handshake(int fd, const char *host, const char *ca_file, int64_t deadline,
                      int64_t timeout_ms, int64_t now_ms, port_probe *p)
{
    p->tls = true;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    if (!ctx) {
        snprintf(p->error, sizeof p->error, "cannot create a TLS context");
        return;
    }
    if (ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        char r[128];
        ssl_reason(r, sizeof r);
        snprintf(p->verify_error, sizeof p->verify_error, "cannot load CA file '%s': %s", ca_file, r);
        ca_file = NULL;
    }
    /* Verification is judged after the handshake, so an untrusted certificate is still
     * reported with its expiry instead of a bare failure. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    struct in6_addr a6;
    struct in_addr a4;
    bool is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl, host); /* SNI must not carry an address (RFC 6066) */
    if (ca_file) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(vp, host);
        else X509_VERIFY_PARAM_set1_host(vp, host, 0);
    }
    int64_t t0 = hm_mono_ms();
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(ssl);
        if (rc == 1) break;
        int err = SSL_get_error(ssl, rc);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            char r[160];
            ssl_reason(r, sizeof r);
            snprintf(p->error, sizeof p->error, "TLS handshake failed: %s", r);
            goto out;
        }
        int64_t left = deadline - hm_mono_ms();
        struct pollfd pf = {.fd = fd, .events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        if (left <= 0 || poll(&pf, 1, (int)(left > 60000 ? 60000 : left)) == 0) {
            snprintf(p->error, sizeof p->error, "TLS handshake: no answer within %g s",
                     (double)timeout_ms / 1000);
            goto out;
        }
    }
    p->handshake_ok = true;
    p->handshake_ms = (double)(hm_mono_ms() - t0);
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert) {
        p->have_cert = port_cert_expiry(cert, now_ms, &p->cert_days, p->cert_date) == 0;
        X509_free(cert);
    }
    if (ca_file) {
        long v = SSL_get_verify_result(ssl);
        p->verified = v == X509_V_OK;
        if (!p->verified)
            snprintf(p->verify_error, sizeof p->verify_error, "certificate not trusted by %s: %s",
                     ca_file, X509_verify_cert_error_string(v));
    }
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

/* OpenSSL writes to the socket with write(), so a server that resets the connection would
 * raise SIGPIPE and kill the whole process. The signal is blocked in this thread for the probe
 * and any one raised meanwhile is consumed before the mask is restored. */
static void sigpipe_block(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void sigpipe_restore(const sigset_t *old)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

void port_probe_run(const char *host, const char *port, bool tls, const char *ca_file,
                    int64_t deadline_mono, int64_t timeout_ms, int64_t now_ms, port_probe *p)
{
    memset(p, 0, sizeof *p);
    hm_err e = {{0}};
    int64_t t0 = hm_mono_ms();
    int fd = net_connect_tcp(host, port, deadline_mono, timeout_ms, &e);
    if (fd < 0) {
        snprintf(p->error, sizeof p->error, "%.255s", e.msg);
        return;
    }
    p->open = true;
    p->connect_ms = (double)(hm_mono_ms() - t0);
    if (tls) {
        sigset_t old;
        sigpipe_block(&old);
        handshake(fd, host, ca_file, deadline_mono, timeout_ms, now_ms, p);
        sigpipe_restore(&old);
    }
    close(fd);
}

void port_report(const char *name, const char *address, const port_probe *p,
                 int64_t cert_warning_ms, int64_t now_ms, hm_result *out)
{
    char *cname = xasprintf("port %s", name);
    enum hm_state st = HM_OK;
    strbuf sb = {0};
    if (!p->open) {
        st = HM_CRITICAL;
        sb_addf(&sb, "%s: %s", address, p->error);
    } else {
        sb_addf(&sb, "%s open", address);
        if (!p->tls) sb_addf(&sb, ", connect %.0f ms", p->connect_ms);
        else if (!p->handshake_ok) {
            st = HM_CRITICAL;
            sb_addf(&sb, ", but %s", p->error);
        } else {
            sb_addf(&sb, ", TLS handshake %.0f ms", p->handshake_ms);
            if (p->have_cert) {
                if (p->cert_days < 0) {
                    st = HM_CRITICAL;
                    sb_addf(&sb, ", certificate expired %lld day%s ago (%s)",
                            (long long)-p->cert_days, p->cert_days == -1 ? "" : "s", p->cert_date);
                } else {
                    if (p->cert_days * 86400000LL < cert_warning_ms) st = HM_WARNING;
                    sb_addf(&sb, ", certificate expires in %lld day%s (%s)",
                            (long long)p->cert_days, p->cert_days == 1 ? "" : "s", p->cert_date);
                }
            } else {
                sb_adds(&sb, ", no certificate");
            }
        }
        if (p->verify_error[0]) {
            if (st == HM_OK) st = HM_WARNING;
            sb_addf(&sb, "; %s", p->verify_error);
        }
    }
    hm_result_add_component(out, cname, "port", st, p->open ? "open" : "closed", "%s", sb_str(&sb));
    char *s = hm_series("port.up", "port", name, NULL);
    hm_result_add_sample(out, s, p->open ? 1 : 0, "bool", now_ms);
    free(s);
    if (p->open) {
        s = hm_series("port.connect.ms", "port", name, NULL);
        hm_result_add_sample(out, s, p->connect_ms, "ms", now_ms);
        free(s);
    }
    if (p->have_cert) {
        s = hm_series("port.tls.cert_days", "port", name, NULL);
        hm_result_add_sample(out, s, (double)p->cert_days, "days", now_ms);
        free(s);
    }
    sb_free(&sb);
    free(cname);
}

static void check_one(const hm_collect_ctx *cc, const char *name, const char *address, bool tls,
                      const char *ca_file, hm_result *out)
{
    char host[256], port[16];
    hm_err e = {{0}};
    port_probe p = {0};
    if (net_split_address(address, host, sizeof host, port, sizeof port, &e) < 0) {
        snprintf(p.error, sizeof p.error, "%.255s", e.msg);
    } else {
        port_probe_run(host, port, tls, ca_file, cc->deadline_mono, cc->timeout_ms, cc->now_ms, &p);
    }
    int64_t warn = cfg_get_ms(cc->cfg, "thresholds", NULL, "cert_warning", 30LL * 86400000);
    port_report(name, address, &p, warn, cc->now_ms, out);
}

void collect_port(const hm_collect_ctx *cc, hm_result *out)
{
    const cfg_section **secs = NULL;
    size_t n = cfg_sections_of(cc->cfg, "port", &secs);
    if (n == 0) {
        /* The seed's status always shows the console port's health. */
        check_one(cc, "console", "127.0.0.1:10443", true, NULL, out);
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = secs[i]->name;
        const char *addr = cfg_get(cc->cfg, "port", name, "address");
        bool tls = cfg_get_bool(cc->cfg, "port", name, "tls", false);
        const char *ca = cfg_get(cc->cfg, "port", name, "ca_file");
        check_one(cc, name, addr ? addr : "", tls, ca, out);
    }
    free(secs);
}
