/* InfluxDB collector: the /ping answer captured from InfluxDB 1.6.7 (tests/fixtures/influxdb)
 * replayed by a canned server, a foreign server's 404, a closed port and a silent one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collectors/influxdb.h"
#include "lib/clock.h"
#include "lib/http.h"
#include "tests/unit/resultcheck.h"
#include "tests/unit/testsrv.h"

static char *replay(const char *req, void *ud)
{
    (void)req;
    return testsrv_fixture(ud); /* the captured answer, byte for byte */
}

static void run(testsrv_fn fn, const char *fixture, int port, int64_t timeout_ms, hm_result *r)
{
    testsrv s = {0};
    if (fn) {
        testsrv_start_tcp(&s, fn, (void *)fixture);
        port = s.port;
    }
    hm_config *cfg = config_new();
    char *text = xasprintf("[influxdb]\nurl = http://127.0.0.1:%d/\n", port);
    config_parse_text(cfg, "test.conf", text, 0600);
    hm_collect_ctx cc = {cfg, NULL, 5, timeout_ms, hm_mono_ms() + timeout_ms};
    collect_influxdb(&cc, r);
    if (fn) {
        assert_int_equal(s.requests, 1);
        testsrv_stop(&s);
    }
    free(text);
    config_free(cfg);
}

static void test_ping_ok(void **state)
{
    hm_result r = {0};
    run(replay, "influxdb/ping-204.http", 0, 2000, &r);
    assert_int_equal(r.n_components, 1);
    const hm_component *c = &r.components[0];
    assert_string_equal(c->name, "influxdb");
    assert_string_equal(c->kind, "influxdb");
    assert_int_equal(c->state, HM_OK);
    assert_true(hm_starts_with(c->detail, "/ping 204 in "));
    assert_true(strstr(c->detail, " ms, InfluxDB 1.6.7~rc0"));
    assert_true(rc_sample(&r, "influxdb.up") == 1);
    assert_true(rc_has_sample(&r, "influxdb.ping.ms"));
    assert_true(rc_all_stamped(&r, 5));
    hm_result_free(&r);
}

static void test_ping_foreign(void **state)
{
    hm_result r = {0};
    run(replay, "influxdb/ping-rabbitmq-404.http", 0, 2000, &r);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_string_equal(r.components[0].detail,
                        "/ping answered HTTP 404: Object Not Found (expected 204); not an InfluxDB server?");
    assert_true(rc_sample(&r, "influxdb.up") == 0);
    hm_result_free(&r);
}

static void test_report(void **state)
{
    hm_result r = {0};
    influxdb_report(500, "1.8.10", "timeout", 3.4, 9, &r);
    assert_string_equal(r.components[0].detail, "/ping answered HTTP 500: timeout (expected 204)");
    assert_true(rc_sample(&r, "influxdb.ping.ms") == 3.4);
    hm_result_free(&r);
    influxdb_report(204, NULL, NULL, 0.4, 9, &r);
    assert_string_equal(r.components[0].detail, "/ping 204 in 0 ms, InfluxDB (version unknown)");
    hm_result_free(&r);
}

static void test_header_lookup(void **state)
{
    hm_http_resp resp = {0};
    sb_adds(&resp.headers, "Content-Type: application/json\r\nx-influxdb-version:  1.6.7~rc0 \r\n\r\n");
    char *v = hm_http_resp_header(&resp, "X-Influxdb-Version");
    assert_string_equal(v, "1.6.7~rc0");
    free(v);
    assert_null(hm_http_resp_header(&resp, "X-Influxdb"));
    hm_http_resp_free(&resp);
}

static void test_down(void **state)
{
    hm_result r = {0};
    int port = testsrv_closed_port();
    run(NULL, NULL, port, 2000, &r);
    char want[128];
    snprintf(want, sizeof want, "cannot reach InfluxDB: http://127.0.0.1:%d/ping: connection refused", port);
    assert_string_equal(r.components[0].detail, want);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_true(rc_sample(&r, "influxdb.up") == 0);
    hm_result_free(&r);

    int64_t t0 = hm_mono_ms();
    run(testsrv_silent, NULL, 0, 600, &r);
    assert_true(hm_mono_ms() - t0 < 1200);
    assert_true(strstr(r.components[0].detail, "/ping: no answer within 0.6 s"));
    hm_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_ok),
        cmocka_unit_test(test_ping_foreign),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_header_lookup),
        cmocka_unit_test(test_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
