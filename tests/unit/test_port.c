/* Port collector: certificate expiry on a generated certificate (tests/fixtures/port, valid
 * 2026-11-21 to 2036-11-18), the report's wording, and probes against an in-test TLS server, a
 * plain server, a closed port and a silent one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "collectors/port.h"
#include "lib/clock.h"
#include "tests/unit/resultcheck.h"
#include "tests/unit/testsrv.h"

static int64_t at(const char *iso)
{
    int64_t ms;
    assert_int_equal(hm_parse_time(iso, &ms), 0);
    return ms;
}

static void test_cert_expiry(void **state)
{
    FILE *f = fopen("tests/fixtures/port/cert.pem", "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    int64_t days;
    char date[16];
    assert_int_equal(port_cert_expiry(x, at("2036-08-20T08:28:42Z"), &days, date), 0);
    assert_int_equal(days, 90);
    assert_string_equal(date, "2036-11-18");
    assert_int_equal(port_cert_expiry(x, at("2036-11-21T09:00:00Z"), &days, date), 0);
    assert_int_equal(days, -3);
    X509_free(x);
}

static void test_report(void **state)
{
    port_probe p = {.open = true, .connect_ms = 1, .tls = true, .handshake_ok = true,
                    .handshake_ms = 3, .have_cert = true, .cert_days = 89};
    strcpy(p.cert_date, "2027-02-19");
    hm_result r = {0};
    port_report("console", "127.0.0.1:10443", &p, 30LL * 86400000, 77, &r);
    const hm_component *c = rc_component(&r, "port console");
    assert_non_null(c);
    assert_string_equal(c->kind, "port");
    assert_string_equal(c->status, "open");
    assert_int_equal(c->state, HM_OK);
    assert_string_equal(c->detail, "127.0.0.1:10443 open, TLS handshake 3 ms, certificate expires in 89 days (2027-02-19)");
    assert_true(rc_sample(&r, "port.up{port=\"console\"}") == 1);
    assert_true(rc_sample(&r, "port.connect.ms{port=\"console\"}") == 1);
    assert_true(rc_sample(&r, "port.tls.cert_days{port=\"console\"}") == 89);
    assert_true(rc_all_stamped(&r, 77));
    hm_result_free(&r);

    p.cert_days = 12;
    port_report("console", "127.0.0.1:10443", &p, 30LL * 86400000, 77, &r);
    assert_int_equal(r.components[0].state, HM_WARNING);
    hm_result_free(&r);
    p.cert_days = -1;
    port_report("console", "127.0.0.1:10443", &p, 30LL * 86400000, 77, &r);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_string_equal(r.components[0].detail, "127.0.0.1:10443 open, TLS handshake 3 ms, certificate expired 1 day ago (2027-02-19)");
    hm_result_free(&r);

    port_probe closed = {.open = false};
    strcpy(closed.error, "connection refused");
    port_report("console", "127.0.0.1:10443", &closed, 0, 77, &r);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_string_equal(r.components[0].status, "closed");
    assert_string_equal(r.components[0].detail, "127.0.0.1:10443: connection refused");
    assert_int_equal(r.n_samples, 1);
    hm_result_free(&r);
}

/* A TLS server on a thread: accepts one connection, handshakes, closes. */
struct tls_srv {
    int fd, port;
    pthread_t t;
};

static void *tls_loop(void *arg)
{
    struct tls_srv *s = arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_file(ctx, "tests/fixtures/port/cert.pem", SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, "tests/fixtures/port/key.pem", SSL_FILETYPE_PEM);
    int c = accept(s->fd, NULL, NULL);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) == 1) SSL_shutdown(ssl);
    SSL_free(ssl);
    close(c);
    SSL_CTX_free(ctx);
    return NULL;
}

static void tls_start(struct tls_srv *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s->fd, (struct sockaddr *)&sa, sizeof sa);
    socklen_t len = sizeof sa;
    getsockname(s->fd, (struct sockaddr *)&sa, &len);
    s->port = ntohs(sa.sin_port);
    listen(s->fd, 4);
    pthread_create(&s->t, NULL, tls_loop, s);
}

static void run(const char *conf, int64_t timeout_ms, int64_t now, hm_result *r)
{
    hm_config *cfg = config_new();
    config_parse_text(cfg, "test.conf", conf, 0600);
    for (size_t i = 0; i < cfg->errors.n; i++) fprintf(stderr, "%s\n", cfg->errors.v[i]);
    assert_int_equal(cfg->errors.n, 0);
    hm_collect_ctx cc = {cfg, NULL, now, timeout_ms, hm_mono_ms() + timeout_ms};
    collect_port(&cc, r);
    config_free(cfg);
}

static void tls_case(const char *ca, int64_t now, hm_result *r)
{
    struct tls_srv s;
    tls_start(&s);
    char *conf = xasprintf("[port \"console\"]\naddress = 127.0.0.1:%d\ntls = yes\n%s%s\n", s.port,
                           ca ? "ca_file = " : "", ca ? ca : "");
    run(conf, 3000, now, r);
    pthread_join(s.t, NULL);
    close(s.fd);
    free(conf);
}

static void test_tls_end_to_end(void **state)
{
    hm_result r = {0};
    tls_case("tests/fixtures/port/cert.pem", at("2036-08-20T08:28:42Z"), &r);
    assert_int_equal(r.n_components, 1);
    assert_int_equal(r.components[0].state, HM_OK);
    assert_true(strstr(r.components[0].detail, ", certificate expires in 90 days (2036-11-18)"));
    assert_true(rc_sample(&r, "port.tls.cert_days{port=\"console\"}") == 90);
    hm_result_free(&r);

    tls_case("tests/fixtures/port/other-ca.pem", at("2036-08-20T08:28:42Z"), &r);
    assert_int_equal(r.components[0].state, HM_WARNING);
    assert_true(strstr(r.components[0].detail, "; certificate not trusted by tests/fixtures/port/other-ca.pem: self-signed certificate"));
    hm_result_free(&r);

    tls_case(NULL, at("2036-11-10T08:28:42Z"), &r);
    assert_int_equal(r.components[0].state, HM_WARNING);
    assert_true(strstr(r.components[0].detail, "certificate expires in 8 days (2036-11-18)"));
    hm_result_free(&r);

    tls_case(NULL, at("2037-01-01T00:00:00Z"), &r);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_true(strstr(r.components[0].detail, "certificate expired 43 days ago (2036-11-18)"));
    hm_result_free(&r);
}

static char *plain(const char *req, void *ud)
{
    return xstrdup("SSH-2.0-OpenSSH_9.2p1\r\n");
}

static void test_not_tls_closed_silent(void **state)
{
    hm_result r = {0};
    testsrv s;
    testsrv_start_tcp(&s, plain, NULL);
    char *conf = xasprintf("[port \"ssh\"]\naddress = 127.0.0.1:%d\ntls = yes\n", s.port);
    run(conf, 2000, 1, &r);
    testsrv_stop(&s);
    free(conf);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_string_equal(r.components[0].status, "open");
    assert_true(strstr(r.components[0].detail, " open, but TLS handshake failed: "));
    hm_result_free(&r);

    int port = testsrv_closed_port();
    conf = xasprintf("[port \"gone\"]\naddress = 127.0.0.1:%d\n", port);
    run(conf, 2000, 1, &r);
    free(conf);
    char want[80];
    snprintf(want, sizeof want, "127.0.0.1:%d: connection refused", port);
    assert_string_equal(r.components[0].name, "port gone");
    assert_string_equal(r.components[0].detail, want);
    assert_true(rc_sample(&r, "port.up{port=\"gone\"}") == 0);
    hm_result_free(&r);

    testsrv_start_tcp(&s, testsrv_silent, NULL);
    conf = xasprintf("[port \"console\"]\naddress = 127.0.0.1:%d\ntls = yes\n", s.port);
    int64_t t0 = hm_mono_ms();
    run(conf, 700, 1, &r);
    int64_t took = hm_mono_ms() - t0;
    testsrv_stop(&s);
    free(conf);
    assert_true(took >= 650 && took < 1200);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_true(strstr(r.components[0].detail, " open, but TLS handshake: no answer within 0.7 s"));
    hm_result_free(&r);
}

static void test_default_port(void **state)
{
    /* No [port] section: the console port 10443 is checked (nothing listens there in tests). */
    hm_result r = {0};
    run("", 1000, 1, &r);
    assert_int_equal(r.n_components, 1);
    assert_string_equal(r.components[0].name, "port console");
    assert_true(hm_starts_with(r.components[0].detail, "127.0.0.1:10443"));
    hm_result_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the in-test TLS server writes to clients that have gone */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_expiry),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_tls_end_to_end),
        cmocka_unit_test(test_not_tls_closed_silent),
        cmocka_unit_test(test_default_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
