/* The store: append, last value, range queries by series, metric and prefix, pruning, the
 * collectors' memory, migrations, and errors that name the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/hmctl-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

static hm_store *open_new(const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    hm_store *st;
    hm_err e = {{0}};
    assert_int_equal(store_open(path, 0, &st, &e), 0);
    free(path);
    return st;
}

struct acc {
    int n;
    double sum;
    char last_series[128];
};

static int acc_cb(const char *series, const char *unit, int64_t ts, double v, void *ud)
{
    struct acc *a = ud;
    a->n++;
    a->sum += v;
    snprintf(a->last_series, sizeof a->last_series, "%s", series);
    return 0;
}

static void test_append_last_range(void **state)
{
    hm_store *st = open_new("a/b/hmctl.db"); /* parent directories are created */
    hm_sample s[] = {
        {"host.cpu.percent", 10, "percent", 1000},
        {"host.cpu.percent", 20, "percent", 2000},
        {"host.cpu.percent", 30, "percent", 3000},
        {"rabbitmq.queue.messages{queue=\"a\"}", 5, "count", 2000},
        {"rabbitmq.queue.messages{queue=\"b\"}", 7, "count", 2000},
        {"rabbitmq.queue.messages_ready{queue=\"a\"}", 1, "count", 2000},
    };
    hm_err e = {{0}};
    assert_int_equal(store_append(st, s, HM_ARRAY_LEN(s), &e), 0);
    hm_point p;
    assert_int_equal(store_last(st, "host.cpu.percent", &p, &e), 1);
    assert_int_equal(p.ts_ms, 3000);
    assert_true(p.value == 30);
    assert_int_equal(store_last(st, "nothing", &p, &e), 0);

    struct acc a = {0};
    assert_int_equal(store_range(st, "host.cpu.percent", 1500, 3000, 0, acc_cb, &a, &e), 0);
    assert_int_equal(a.n, 1); /* [from, to): 2000 only */
    assert_true(a.sum == 20);

    memset(&a, 0, sizeof a);
    assert_int_equal(store_range(st, "rabbitmq.queue.messages", 0, 10000, 0, acc_cb, &a, &e), 0);
    assert_int_equal(a.n, 2); /* the metric matches both label sets, not messages_ready */
    assert_true(a.sum == 12);

    memset(&a, 0, sizeof a);
    assert_int_equal(store_range(st, "rabbitmq.*", 0, 10000, 0, acc_cb, &a, &e), 0);
    assert_int_equal(a.n, 3);

    memset(&a, 0, sizeof a);
    assert_int_equal(store_range(st, "host.cpu.percent", 0, 10000, 10000, acc_cb, &a, &e), 0);
    assert_int_equal(a.n, 1); /* one step: the average */
    assert_true(a.sum == 20);

    strvec names = {0}, units = {0};
    assert_int_equal(store_series(st, "rabbitmq.queue.messages", &names, &units, &e), 0);
    assert_int_equal(names.n, 2);
    assert_string_equal(units.v[0], "count");
    sv_free(&names);
    sv_free(&units);

    assert_int_equal(store_prune(st, 2500, &e), 5);
    assert_int_equal(store_last(st, "host.cpu.percent", &p, &e), 1);
    assert_int_equal(p.ts_ms, 3000);
    store_close(st);
}

static void test_reopen_keeps_data_and_kv(void **state)
{
    hm_store *st = open_new("k.db");
    hm_sample s = {"x", 42, "", 5000};
    hm_err e = {{0}};
    assert_int_equal(store_append(st, &s, 1, &e), 0);
    hm_kv *kv = hm_kv_new();
    hm_kv_put(kv, "host.prev", "1 2 3 4 5");
    assert_int_equal(store_kv_save(st, kv, &e), 0);
    hm_kv_free(kv);
    store_close(st);

    char *path = xasprintf("%s/k.db", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0); /* private to its owner */
    assert_int_equal(store_open(path, HM_STORE_READONLY, &st, &e), 0);
    free(path);
    hm_point p;
    assert_int_equal(store_last(st, "x", &p, &e), 1);
    assert_true(p.value == 42);
    kv = hm_kv_new();
    assert_int_equal(store_kv_load(st, kv, &e), 0);
    char *v = hm_kv_get(kv, "host.prev");
    assert_string_equal(v, "1 2 3 4 5");
    free(v);
    hm_kv_free(kv);
    store_close(st);
}

static void test_module_migrations(void **state)
{
    hm_store *st = open_new("m.db");
    static const char *const v1[] = {"CREATE TABLE t1 (a INTEGER);"};
    static const char *const v2[] = {"CREATE TABLE t1 (a INTEGER);", "ALTER TABLE t1 ADD b TEXT;"};
    static const char *const bad[] = {"CREATE TABLE t1 (a INTEGER);", "ALTER TABLE t1 ADD b TEXT;",
                                      "THIS IS NOT SQL;"};
    hm_err e = {{0}};
    assert_int_equal(store_migrate(st, "demo", v1, 1, &e), 0);
    assert_int_equal(store_migrate(st, "demo", v1, 1, &e), 0); /* idempotent */
    assert_int_equal(store_migrate(st, "demo", v2, 2, &e), 0);
    assert_int_equal(store_migrate(st, "demo", bad, 3, &e), -1);
    assert_non_null(strstr(e.msg, "migrating 'demo' to version 3"));
    assert_int_equal(store_migrate(st, "demo", v1, 1, &e), -1); /* db newer than the code */
    assert_non_null(strstr(e.msg, "newer than this hmctl knows"));
    store_close(st);
}

static void test_open_errors_name_the_path(void **state)
{
    hm_store *st;
    hm_err e = {{0}};
    char *path = xasprintf("%s/garbage.db", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not a database, just text that is long enough to be read as a header......", f);
    fclose(f);
    assert_int_equal(store_open(path, 0, &st, &e), -1);
    assert_non_null(strstr(e.msg, path));
    assert_null(st);
    free(path);
    assert_int_equal(store_open("/proc/hmctl/x.db", 0, &st, &e), -1);
    assert_non_null(strstr(e.msg, "/proc/hmctl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_last_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_kv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors_name_the_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
