/* MariaDB collector: version text and error classification, and the collector against a
 * closed port and a server that accepts and never sends its greeting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collectors/mariadb.h"
#include "lib/clock.h"
#include "tests/unit/resultcheck.h"
#include "tests/unit/testsrv.h"

static void test_version(void **state)
{
    char buf[64];
    /* As mysql_get_server_info() reports Debian 12's server. */
    assert_string_equal(mariadb_version_text("10.11.6-MariaDB-0+deb12u1", buf, sizeof buf), "MariaDB 10.11.6");
    assert_string_equal(mariadb_version_text("5.5.5-10.3.39-MariaDB-log", buf, sizeof buf), "MariaDB 10.3.39");
    assert_string_equal(mariadb_version_text("8.0.36", buf, sizeof buf), "MySQL 8.0.36");
    assert_string_equal(mariadb_version_text(NULL, buf, sizeof buf), "MySQL ");
}

static void test_error_state(void **state)
{
    assert_int_equal(mariadb_error_state(1045), HM_UNKNOWN);
    assert_int_equal(mariadb_error_state(1698), HM_UNKNOWN);
    assert_int_equal(mariadb_error_state(2002), HM_CRITICAL);
    assert_int_equal(mariadb_error_state(2013), HM_CRITICAL);
}

static void run(int port, const char *extra, int64_t timeout_ms, hm_result *r)
{
    hm_config *cfg = config_new();
    char *text = xasprintf("[mariadb]\nport = %d\n%s", port, extra ? extra : "");
    config_parse_text(cfg, "test.conf", text, 0600);
    assert_int_equal(cfg->errors.n, 0);
    hm_collect_ctx cc = {cfg, NULL, 13, timeout_ms, hm_mono_ms() + timeout_ms};
    collect_mariadb(&cc, r);
    free(text);
    config_free(cfg);
}

static void test_closed(void **state)
{
    hm_result r = {0};
    int port = testsrv_closed_port();
    run(port, NULL, 2000, &r);
    assert_int_equal(r.n_components, 1);
    assert_string_equal(r.components[0].name, "mariadb");
    assert_string_equal(r.components[0].kind, "mariadb");
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    char want[64];
    snprintf(want, sizeof want, "cannot connect to MariaDB at 127.0.0.1:%d: ", port);
    assert_true(hm_starts_with(r.components[0].detail, want));
    assert_true(rc_sample(&r, "mariadb.up") == 0);
    assert_false(rc_has_sample(&r, "mariadb.ping.ms"));
    assert_true(rc_all_stamped(&r, 13));
    hm_result_free(&r);
    run(port, "enabled = no\n", 2000, &r);
    assert_int_equal(r.n_components, 0);
    hm_result_free(&r);
}

static void test_silent(void **state)
{
    testsrv s;
    testsrv_start_tcp(&s, testsrv_silent, NULL);
    hm_result r = {0};
    int64_t t0 = hm_mono_ms();
    run(s.port, NULL, 1500, &r);
    int64_t took = hm_mono_ms() - t0;
    testsrv_stop(&s);
    /* The client library counts whole seconds: 1.5 s of budget becomes a 1 s read timeout. */
    assert_true(took < 2500);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_true(strstr(r.components[0].detail, "cannot connect to MariaDB at 127.0.0.1:"));
    hm_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_error_state),
        cmocka_unit_test(test_closed),
        cmocka_unit_test(test_silent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
