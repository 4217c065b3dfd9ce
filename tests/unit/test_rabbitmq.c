/* RabbitMQ collector: parsers on answers captured from RabbitMQ 3.10.8's management API
 * (tests/fixtures/rabbitmq), malformed variants, and the collector against canned servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collectors/rabbitmq.h"
#include "lib/clock.h"
#include "tests/unit/resultcheck.h"
#include "tests/unit/testsrv.h"

static void load(rabbitmq_info *info, const char *queues)
{
    char *o = testsrv_fixture("rabbitmq/overview.json");
    char *q = testsrv_fixture(queues);
    assert_int_equal(rabbitmq_parse_overview(o, info, NULL), 0);
    assert_int_equal(rabbitmq_parse_queues(q, info, NULL), 0);
    free(o);
    free(q);
}

static void test_report_warning(void **state)
{
    rabbitmq_info info = {0};
    load(&info, "rabbitmq/queues.json");
    assert_string_equal(info.version, "3.10.8");
    assert_string_equal(info.node, "rabbit@localhost");
    assert_int_equal(info.n_queues, 3); /* hm.fresh has no stats yet */
    hm_result r = {0};
    rabbitmq_report(&info, 10, 42, &r);
    assert_int_equal(r.n_components, 1);
    assert_string_equal(r.components[0].name, "rabbitmq");
    assert_string_equal(r.components[0].kind, "rabbitmq");
    assert_int_equal(r.components[0].state, HM_WARNING);
    assert_string_equal(r.components[0].detail,
                        "queue 'hm.tasks' holds 12 messages (warning at 10); "
                        "RabbitMQ 3.10.8 on rabbit@localhost: 3 queues, 12 messages");
    assert_true(rc_sample(&r, "rabbitmq.up") == 1);
    assert_true(rc_sample(&r, "rabbitmq.queues") == 3);
    assert_true(rc_sample(&r, "rabbitmq.queue.messages{queue=\"hm.tasks\"}") == 12);
    assert_true(rc_sample(&r, "rabbitmq.queue.messages_ready{queue=\"hm.tasks\"}") == 12);
    assert_true(rc_sample(&r, "rabbitmq.queue.messages_unacknowledged{queue=\"hm.tasks\"}") == 0);
    assert_true(rc_sample(&r, "rabbitmq.queue.consumers{queue=\"hm.tasks\"}") == 0);
    assert_true(rc_sample(&r, "rabbitmq.queue.messages{queue=\"hm.fresh\"}") == 0);
    assert_true(rc_all_stamped(&r, 42));
    hm_result_free(&r);
    rabbitmq_report(&info, 13, 42, &r);
    assert_int_equal(r.components[0].state, HM_OK);
    assert_string_equal(r.components[0].detail, "RabbitMQ 3.10.8 on rabbit@localhost: 3 queues, 12 messages");
    hm_result_free(&r);
    rabbitmq_info_free(&info);
}

static void test_vhost_label(void **state)
{
    rabbitmq_info info = {0};
    load(&info, "rabbitmq/queues-vhosts.json");
    hm_result r = {0};
    rabbitmq_report(&info, 3, 1, &r);
    assert_true(rc_sample(&r, "rabbitmq.queue.messages{queue=\"sync.jobs\",vhost=\"tenant-a\"}") == 3);
    assert_true(rc_sample(&r, "rabbitmq.queue.messages{queue=\"hm.tasks\"}") == 12);
    assert_string_equal(r.components[0].detail,
                        "queue 'hm.tasks' holds 12 messages (warning at 3); 1 more queue at or above it; "
                        "RabbitMQ 3.10.8 on rabbit@localhost: 3 queues, 15 messages");
    hm_result_free(&r);
    rabbitmq_report(&info, 20, 1, &r);
    assert_int_equal(r.components[0].state, HM_OK);
    hm_result_free(&r);
    rabbitmq_info_free(&info);
}

static void test_malformed(void **state)
{
    rabbitmq_info info = {0};
    hm_err e = {{0}};
    char *s = testsrv_fixture("rabbitmq/queues-truncated.json");
    assert_int_equal(rabbitmq_parse_queues(s, &info, &e), -1);
    assert_true(hm_starts_with(e.msg, "malformed JSON at line 1: "));
    free(s);
    s = testsrv_fixture("rabbitmq/error-page.html");
    assert_int_equal(rabbitmq_parse_overview(s, &info, &e), -1);
    assert_string_equal(e.msg, "malformed JSON at line 1: '[' or '{' expected near '<'");
    free(s);
    assert_int_equal(rabbitmq_parse_queues("  \n", &info, &e), -1);
    assert_string_equal(e.msg, "empty answer instead of JSON");
    assert_int_equal(rabbitmq_parse_queues("{}", &info, &e), -1);
    assert_string_equal(e.msg, "expected an array of queues");
    assert_int_equal(rabbitmq_parse_overview("[]", &info, &e), -1);
    assert_string_equal(e.msg, "expected a JSON object");
    s = testsrv_fixture("rabbitmq/queues-wrongtypes.json");
    assert_int_equal(rabbitmq_parse_queues(s, &info, &e), 0);
    free(s);
    assert_int_equal(info.n_queues, 1);
    assert_true(info.queues[0].messages == 0);
    rabbitmq_info_free(&info);
}

/* A canned management API. ud selects the behaviour. */
static char *mgmt(const char *req, void *ud)
{
    const char *mode = ud;
    if (strcmp(mode, "401") == 0) {
        char *raw = testsrv_fixture("rabbitmq/overview-401.http");
        return raw; /* the captured answer, byte for byte */
    }
    if (strcmp(mode, "500") == 0)
        return testsrv_http(500, "Internal Server Error", "text/html", NULL, "<html><body>boom</body></html>");
    const char *file = strstr(req, "GET /api/overview ") ? "rabbitmq/overview.json" : "rabbitmq/queues.json";
    if (strcmp(mode, "truncated") == 0 && strstr(req, "/api/queues")) file = "rabbitmq/queues-truncated.json";
    char *b = testsrv_fixture(file);
    char *a = testsrv_http(200, "OK", "application/json", NULL, b);
    free(b);
    return a;
}

static void run(const char *mode, const char *extra, hm_result *r, int port_override)
{
    testsrv s = {0};
    int port = port_override;
    if (!port) {
        testsrv_start_tcp(&s, mode ? mgmt : testsrv_silent, (void *)mode);
        port = s.port;
    }
    hm_config *cfg = config_new();
    char *text = xasprintf("[rabbitmq]\nurl = http://127.0.0.1:%d\nusername = hmctl\npassword = x\n%s", port,
                           extra ? extra : "");
    config_parse_text(cfg, "test.conf", text, 0600);
    assert_int_equal(cfg->errors.n, 0);
    hm_collect_ctx cc = {cfg, NULL, 7, 800, hm_mono_ms() + 800};
    collect_rabbitmq(&cc, r);
    if (!port_override) testsrv_stop(&s);
    free(text);
    config_free(cfg);
}

static void test_collect(void **state)
{
    hm_result r = {0};
    run("ok", NULL, &r, 0);
    assert_int_equal(r.components[0].state, HM_WARNING);
    assert_true(rc_sample(&r, "rabbitmq.queue.messages{queue=\"hm.tasks\"}") == 12);
    hm_result_free(&r);

    run("401", NULL, &r, 0);
    assert_int_equal(r.n_components, 1);
    assert_int_equal(r.components[0].state, HM_UNKNOWN);
    assert_true(strstr(r.components[0].detail, " refused user 'hmctl' (HTTP 401)"));
    assert_true(rc_sample(&r, "rabbitmq.up") == 0);
    hm_result_free(&r);

    run("500", NULL, &r, 0);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_true(strstr(r.components[0].detail, " answered HTTP 500 to /api/overview: <html><body>boom</body></html>"));
    hm_result_free(&r);

    run("truncated", NULL, &r, 0);
    assert_int_equal(r.n_components, 1);
    assert_int_equal(r.components[0].state, HM_UNKNOWN);
    assert_true(strstr(r.components[0].detail, " sent an unreadable /api/queues: malformed JSON at line 1: "));
    hm_result_free(&r);

    run("ok", "enabled = no\n", &r, 0);
    assert_int_equal(r.n_components, 0);
    assert_int_equal(r.n_samples, 0);
    hm_result_free(&r);
}

static void test_collect_down(void **state)
{
    hm_result r = {0};
    int port = testsrv_closed_port();
    run(NULL, NULL, &r, port);
    char want[200];
    snprintf(want, sizeof want, "cannot reach RabbitMQ management: http://127.0.0.1:%d/api/overview: connection refused", port);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_string_equal(r.components[0].detail, want);
    hm_result_free(&r);

    int64_t t0 = hm_mono_ms();
    run(NULL, NULL, &r, 0); /* accepts, never answers */
    int64_t took = hm_mono_ms() - t0;
    assert_true(took < 1500);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_true(strstr(r.components[0].detail, "/api/overview: no answer within 0.8 s"));
    hm_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_warning),
        cmocka_unit_test(test_vhost_label),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_collect),
        cmocka_unit_test(test_collect_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
