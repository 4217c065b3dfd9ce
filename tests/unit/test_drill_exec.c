/* Local commands (exit status, output, environment, timeout, output kept to its end) and the
 * TCP, HTTP and ping checks against local listeners. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drill/exec.h"
#include "tests/unit/testsrv.h"

static void test_local(void **state)
{
    drill_exec_res r;
    hm_err e = {{0}};
    const char *env[] = {"HMCTL_STEP=boot", NULL};
    assert_int_equal(drill_exec(NULL, NULL, "echo out; echo err >&2; echo $HMCTL_STEP; exit 3", env,
                                10000, &r, &e), 0);
    assert_int_equal(r.exit_status, 3);
    assert_false(r.timed_out);
    assert_string_equal(sb_str(&r.out), "out\nboot\n");
    assert_string_equal(sb_str(&r.err), "err\n");
    drill_exec_res_free(&r);

    /* standard input is /dev/null: a command reading it does not wait */
    assert_int_equal(drill_exec(NULL, NULL, "cat; echo done", NULL, 10000, &r, &e), 0);
    assert_string_equal(sb_str(&r.out), "done\n");
    drill_exec_res_free(&r);

    /* cut at the timeout, with what came before */
    assert_int_equal(drill_exec(NULL, NULL, "echo before; sleep 30", NULL, 300, &r, &e), 0);
    assert_true(r.timed_out);
    assert_int_equal(r.exit_status, -1);
    assert_string_equal(sb_str(&r.out), "before\n");
    drill_exec_res_free(&r);

    /* a background child holding the pipes does not keep the step waiting */
    assert_int_equal(drill_exec(NULL, NULL, "sleep 5 & echo main", NULL, 10000, &r, &e), 0);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(sb_str(&r.out), "main\n");
    drill_exec_res_free(&r);

    /* a flood of output keeps its end */
    assert_int_equal(drill_exec(NULL, NULL, "seq 1 100000; echo last", NULL, 10000, &r, &e), 0);
    assert_true(r.truncated);
    assert_true(r.out.len <= (size_t)DRILL_OUTPUT_MAX);
    assert_true(r.out.len > 1000);
    assert_string_equal(r.out.buf + r.out.len - 5, "last\n");
    drill_exec_res_free(&r);
}

static char *ok200(const char *req, void *ud)
{
    return testsrv_http(strstr(req, "GET /missing") ? 404 : 200, "OK", "text/plain", NULL, "ok\n");
}

static void test_checks(void **state)
{
    testsrv srv;
    testsrv_start_tcp(&srv, ok200, NULL);
    hm_err e = {{0}};
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", srv.port);
    assert_int_equal(drill_check_tcp(hp, 2000, &e), 0);
    snprintf(hp, sizeof hp, "[127.0.0.1]:%d", srv.port);
    assert_int_equal(drill_check_tcp(hp, 2000, &e), 0);
    int closed = testsrv_closed_port();
    snprintf(hp, sizeof hp, "127.0.0.1:%d", closed);
    assert_int_equal(drill_check_tcp(hp, 2000, &e), -1);
    assert_non_null(strstr(e.msg, "Connection refused"));
    assert_int_equal(drill_check_tcp("no-port", 2000, &e), -1);
    assert_string_equal(e.msg, "'no-port': expected HOST:PORT");

    char url[128];
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
    assert_int_equal(drill_check_http(url, 200, 5000, &status, &e), 0);
    assert_int_equal(status, 200);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/missing", srv.port);
    assert_int_equal(drill_check_http(url, 200, 5000, &status, &e), -1);
    assert_int_equal(status, 404);
    assert_non_null(strstr(e.msg, "HTTP 404 (expected 200)"));
    assert_int_equal(drill_check_http(url, 404, 5000, &status, &e), 0);
    testsrv_stop(&srv);

    double rtt = -1;
    int r = drill_check_ping("127.0.0.1", 2000, &rtt, &e);
    if (r < 0 && strstr(e.msg, "cannot open an ICMP socket")) {
        skip(); /* neither an unprivileged ICMP socket nor root here */
    }
    assert_int_equal(r, 0);
    assert_true(rtt >= 0);
    assert_int_equal(drill_check_ping("no-such-host.invalid", 2000, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "cannot resolve no-such-host.invalid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
