/* The /proc parsers on captured files, the poll cycle's deadline, series names and the
 * status/check views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "collectors/collector.h"
#include "collectors/host.h"
#include "core/core.h"
#include "lib/clock.h"

static char *fixture(const char *name)
{
    char *path = xasprintf("%s/proc/%s", FIXTURES, name);
    char *text = hm_read_file(path, NULL, NULL);
    free(path);
    assert_non_null(text);
    return text;
}

static void test_proc_stat(void **state)
{
    char *t = fixture("stat");
    hm_cpu_times c;
    assert_int_equal(host_parse_stat(t, &c), 0);
    /* cpu  15205 0 12371 97900 877 0 184 80 0 0 */
    assert_int_equal(c.busy, 15205 + 0 + 12371 + 0 + 184 + 80);
    assert_int_equal(c.total, c.busy + 97900 + 877);
    free(t);
    hm_cpu_times a = {100, 1000}, b = {150, 1100};
    assert_true(host_cpu_percent(&a, &b) > 49.99 && host_cpu_percent(&a, &b) < 50.01);
    assert_true(host_cpu_percent(&b, &a) < 0); /* counters went backwards: no value */
    assert_int_equal(host_parse_stat("intr 1 2 3\n", &c), -1);
    assert_int_equal(host_parse_stat("cpu  12\n", &c), -1);
}

static void test_meminfo(void **state)
{
    char *t = fixture("meminfo");
    double pct;
    uint64_t total, avail;
    assert_int_equal(host_parse_meminfo(t, &pct, &total, &avail), 0);
    assert_int_equal(total, 24682416ULL * 1024);
    assert_int_equal(avail, 23708360ULL * 1024);
    assert_true(pct > 3.94 && pct < 3.95);
    free(t);
    /* kernels before 3.14: no MemAvailable */
    assert_int_equal(host_parse_meminfo("MemTotal: 1000 kB\nMemFree: 200 kB\nBuffers: 100 kB\n"
                                        "Cached: 200 kB\n", &pct, NULL, NULL), 0);
    assert_true(pct > 49.99 && pct < 50.01);
    assert_int_equal(host_parse_meminfo("MemFree: 1 kB\n", &pct, NULL, NULL), -1);
}

static void test_loadavg_netdev(void **state)
{
    double l[3];
    assert_int_equal(host_parse_loadavg("0.52 0.58 0.59 1/456 789\n", l), 0);
    assert_true(l[0] == 0.52 && l[2] == 0.59);
    assert_int_equal(host_parse_loadavg("garbage", l), -1);
    char *t = fixture("net_dev");
    uint64_t rx, tx;
    assert_int_equal(host_parse_netdev(t, &rx, &tx), 0);
    assert_int_equal(rx, 175360719ULL); /* eth0 only: lo excluded, ifb* are zero */
    assert_int_equal(tx, 151557ULL);
    free(t);
    assert_int_equal(host_parse_netdev("Inter-|\n face |\n", &rx, &tx), -1);
}

static void test_series_names(void **state)
{
    char *s = hm_series("rabbitmq.queue.messages", "queue", "hm.tasks", NULL);
    assert_string_equal(s, "rabbitmq.queue.messages{queue=\"hm.tasks\"}");
    free(s);
    s = hm_series("m", "z", "1", "a", "q\"x\\y", NULL);
    assert_string_equal(s, "m{a=\"q\\\"x\\\\y\",z=\"1\"}"); /* sorted, escaped */
    free(s);
    s = hm_series("host.cpu.percent", NULL);
    assert_string_equal(s, "host.cpu.percent");
    free(s);
}

static void quick(const hm_collect_ctx *cc, hm_result *out)
{
    hm_result_add_sample(out, "quick.value", 1, "count", cc->now_ms);
    hm_result_add_component(out, "quick", "test", HM_OK, NULL, "fine");
}

static void slow(const hm_collect_ctx *cc, hm_result *out)
{
    /* ignores its deadline on purpose: the cycle must not wait for it */
    struct timespec ts = {4, 0};
    nanosleep(&ts, NULL);
    hm_result_add_component(out, "slow", "test", HM_OK, NULL, "late");
}

static void test_poll_deadline(void **state)
{
    hm_config *c = config_new();
    config_parse_text(c, "t.conf", "[hmctl]\ntimeout = 500ms\n", 0600);
    static const hm_collector table[] = {{"slow", slow}, {"quick", quick}, {NULL, NULL}};
    hm_result r = {0};
    hm_kv *kv = hm_kv_new();
    int64_t t0 = hm_mono_ms();
    int abandoned = hm_poll_run_table(table, c, kv, NULL, &r);
    int64_t took = hm_mono_ms() - t0;
    assert_int_equal(abandoned, 1);
    assert_true(took < 3000); /* 500 ms budget + 1 s grace, far below the 4 s sleep */
    assert_int_equal(r.n_components, 2);
    assert_string_equal(r.components[0].name, "slow"); /* registry order kept */
    assert_int_equal(r.components[0].state, HM_UNKNOWN);
    assert_string_equal(r.components[0].detail, "no answer within 0.5 s");
    assert_string_equal(r.components[1].name, "quick");
    assert_int_equal(r.n_samples, 1);
    hm_result_free(&r);
    /* let the abandoned thread finish before the process tears down */
    struct timespec ts = {4, 0};
    nanosleep(&ts, NULL);
    hm_kv_free(kv);
    config_free(c);
}

static void test_views(void **state)
{
    hm_config *c = config_new();
    hm_result r = {0};
    hm_result_add_component(&r, "ant-api", "container", HM_OK, "Up (healthy)", "up 5m");
    hm_result_add_component(&r, "porter-api", "container", HM_CRITICAL, "Up (unhealthy)", "exit 1");
    hm_result_add_component(&r, "owl-api", "container", HM_CRITICAL, "Exited (3)", "exited");
    hm_result_add_component(&r, "log space", "disk", HM_OK, "12K", "/x 12K");
    hm_result_add_component(&r, "rabbitmq", "rabbitmq", HM_WARNING, NULL,
                            "queue 'hm.tasks' holds 12 messages (warning at 10)");
    hm_result_add_sample(&r, "host.cpu.percent", 12.5, "percent", 0);
    hm_result_add_sample(&r, "docker.containers.unhealthy", 1, "count", 0);
    hm_result_add_sample(&r, "rabbitmq.queue.messages{queue=\"hm.tasks\"}", 12, "count", 0);
    assert_int_equal(hm_result_worst(&r), HM_CRITICAL);
    char *s = hm_view_summary(c, &r, true);
    assert_string_equal(s, "HMCTL CRITICAL - 1 unhealthy container (porter-api); 1 exited container "
                           "(owl-api); rabbitmq: queue 'hm.tasks' holds 12 messages (warning at 10)"
                           " | cpu=12.5%;80;90 unhealthy_containers=1;;0 queue_messages_max=12;9");
    free(s);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    hm_view_status(f, &r, false);
    fclose(f);
    assert_non_null(strstr(buf, "SERVICE     STATE           DETAIL\n"));
    assert_non_null(strstr(buf, "porter-api  Up (unhealthy)  exit 1\n"));
    assert_non_null(strstr(buf, "Log space  12K  /x 12K\n"));
    assert_non_null(strstr(buf, "rabbitmq   warning  queue 'hm.tasks' holds 12 messages"));
    assert_null(strstr(buf, "\033[")); /* no colour when not asked */
    free(buf);

    json_t *j = hm_view_json(&r);
    json_t *m = json_object_get(j, "metrics");
    assert_true(json_real_value(json_object_get(m, "rabbitmq.queue.messages{queue=\"hm.tasks\"}")) == 12);
    json_t *c0 = json_array_get(json_object_get(j, "components"), 1);
    assert_string_equal(json_string_value(json_object_get(c0, "status")), "Up (unhealthy)");
    assert_string_equal(json_string_value(json_object_get(c0, "state")), "critical");
    json_decref(j);
    hm_result_free(&r);
    config_free(c);
}

static void test_exit_codes(void **state)
{
    assert_int_equal(hm_state_exit_code(HM_OK), 0);
    assert_int_equal(hm_state_exit_code(HM_WARNING), 1);
    assert_int_equal(hm_state_exit_code(HM_CRITICAL), 2);
    assert_int_equal(hm_state_exit_code(HM_UNKNOWN), 3);
    assert_int_equal(hm_state_worse(HM_UNKNOWN, HM_CRITICAL), HM_CRITICAL);
    assert_int_equal(hm_state_worse(HM_UNKNOWN, HM_WARNING), HM_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_stat),   cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_loadavg_netdev), cmocka_unit_test(test_series_names),
        cmocka_unit_test(test_poll_deadline), cmocka_unit_test(test_views),
        cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
