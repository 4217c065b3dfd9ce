/* Redis collector: the RESP parser on replies captured from Redis 7.0.15
 * (tests/fixtures/redis), malformed variants, and the collector against canned servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collectors/redis.h"
#include "lib/clock.h"
#include "tests/unit/resultcheck.h"
#include "tests/unit/testsrv.h"

static void test_resp_captured(void **state)
{
    resp_reply r;
    size_t len;
    char *s = hm_read_file("tests/fixtures/redis/ping-pong.resp", &len, NULL);
    assert_int_equal(resp_parse(s, len, &r), 7);
    assert_int_equal(r.type, RESP_SIMPLE);
    assert_int_equal(r.len, 4);
    assert_memory_equal(r.str, "PONG", 4);
    free(s);
    s = hm_read_file("tests/fixtures/redis/ping-noauth.resp", &len, NULL);
    assert_int_equal(resp_parse(s, len, &r), (ssize_t)len);
    assert_int_equal(r.type, RESP_ERROR);
    assert_int_equal(r.len, strlen("NOAUTH Authentication required."));
    free(s);
    s = hm_read_file("tests/fixtures/redis/auth-wrongpass.resp", &len, NULL);
    assert_int_equal(resp_parse(s, len, &r), (ssize_t)len);
    assert_int_equal(r.type, RESP_ERROR);
    assert_true(strncmp(r.str, "WRONGPASS ", 10) == 0);
    free(s);
    s = hm_read_file("tests/fixtures/redis/info-server.resp", &len, NULL);
    assert_int_equal(resp_parse(s, len, &r), (ssize_t)len);
    assert_int_equal(r.type, RESP_BULK);
    assert_int_equal(r.len, 582);
    char *v = redis_info_field(r.str, r.len, "redis_version");
    assert_string_equal(v, "7.0.15");
    free(v);
    assert_null(redis_info_field(r.str, r.len, "redis"));
    /* Every shorter prefix is incomplete, never an error. */
    for (size_t i = 0; i < len; i++) assert_int_equal(resp_parse(s, i, &r), 0);
    free(s);
}

static void test_resp_malformed(void **state)
{
    resp_reply r;
    assert_int_equal(resp_parse("+PONG\n", 6, &r), -1);
    assert_int_equal(resp_parse("*1\r\n$4\r\nPING\r\n", 14, &r), -1);
    assert_int_equal(resp_parse("HTTP/1.1 400 Bad Request\r\n", 26, &r), -1);
    assert_int_equal(resp_parse("$abc\r\n", 6, &r), -1);
    assert_int_equal(resp_parse("$3\r\nabcXY", 9, &r), -1);
    assert_int_equal(resp_parse("$-1\r\n", 5, &r), 5);
    assert_int_equal(r.type, RESP_NIL);
    assert_int_equal(resp_parse(":42\r\n", 5, &r), 5);
    assert_int_equal(r.num, 42);
    assert_int_equal(resp_parse(":4x\r\n", 5, &r), -1);
    assert_int_equal(resp_parse("", 0, &r), 0);
}

static char *replay(const char *req, void *ud)
{
    (void)req;
    return ud ? testsrv_fixture(ud) : xstrdup("HTTP/1.1 400 Bad Request\r\n\r\n");
}

static void run(testsrv_fn fn, const char *fixture, int port, const char *extra, int64_t timeout_ms,
                hm_result *r)
{
    testsrv s = {0};
    if (fn) {
        testsrv_start_tcp(&s, fn, (void *)fixture);
        port = s.port;
    }
    hm_config *cfg = config_new();
    char *text = xasprintf("[redis]\nport = %d\n%s", port, extra ? extra : "");
    config_parse_text(cfg, "test.conf", text, 0600);
    assert_int_equal(cfg->errors.n, 0);
    hm_collect_ctx cc = {cfg, NULL, 11, timeout_ms, hm_mono_ms() + timeout_ms};
    collect_redis(&cc, r);
    if (fn) testsrv_stop(&s);
    free(text);
    config_free(cfg);
}

static void test_collect(void **state)
{
    hm_result r = {0};
    /* The canned server answers one command and hangs up, so INFO finds no version. */
    run(replay, "redis/ping-pong.resp", 0, NULL, 2000, &r);
    assert_int_equal(r.components[0].state, HM_OK);
    assert_string_equal(r.components[0].name, "redis");
    assert_string_equal(r.components[0].kind, "redis");
    assert_string_equal(r.components[0].status, "up");
    assert_true(hm_starts_with(r.components[0].detail, "PONG in "));
    assert_true(strstr(r.components[0].detail, " ms, Redis (version unknown)"));
    assert_true(rc_sample(&r, "redis.up") == 1);
    assert_true(rc_has_sample(&r, "redis.ping.ms"));
    assert_true(rc_all_stamped(&r, 11));
    hm_result_free(&r);

    run(replay, "redis/ping-noauth.resp", 0, NULL, 2000, &r);
    assert_int_equal(r.components[0].state, HM_UNKNOWN);
    assert_true(strstr(r.components[0].detail, ": NOAUTH Authentication required."));
    assert_false(rc_has_sample(&r, "redis.ping.ms"));
    hm_result_free(&r);

    run(replay, "redis/auth-wrongpass.resp", 0, "password = nope\n", 2000, &r);
    assert_int_equal(r.components[0].state, HM_UNKNOWN);
    assert_true(strstr(r.components[0].detail, " refused AUTH: WRONGPASS invalid username-password pair"));
    assert_null(strstr(r.components[0].detail, "nope"));
    hm_result_free(&r);

    run(replay, NULL, 0, NULL, 2000, &r);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_true(strstr(r.components[0].detail, ": answer is not RESP: 'HTTP/1.1 400 Bad Request"));
    hm_result_free(&r);

    run(replay, "redis/ping-pong.resp", 0, "enabled = no\n", 2000, &r);
    assert_int_equal(r.n_components, 0);
    hm_result_free(&r);
}

static void test_down(void **state)
{
    hm_result r = {0};
    int port = testsrv_closed_port();
    run(NULL, NULL, port, NULL, 2000, &r);
    char want[128];
    snprintf(want, sizeof want, "cannot connect to Redis at 127.0.0.1:%d: connection refused", port);
    assert_string_equal(r.components[0].detail, want);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_string_equal(r.components[0].status, "down");
    hm_result_free(&r);

    int64_t t0 = hm_mono_ms();
    run(testsrv_silent, NULL, 0, NULL, 500, &r);
    int64_t took = hm_mono_ms() - t0;
    assert_true(took >= 450 && took < 1000);
    assert_true(strstr(r.components[0].detail, ": no answer within 0.5 s"));
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    hm_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_captured),
        cmocka_unit_test(test_resp_malformed),
        cmocka_unit_test(test_collect),
        cmocka_unit_test(test_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
