/* Durations, sizes, booleans, display width, cutting to a width, tables and time parsing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/clock.h"
#include "lib/output.h"
#include "lib/util.h"

static void test_durations(void **state)
{
    int64_t ms;
    assert_int_equal(hm_parse_duration("500ms", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(hm_parse_duration("10s", &ms), 0);
    assert_int_equal(ms, 10000);
    assert_int_equal(hm_parse_duration("5m", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(hm_parse_duration("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(hm_parse_duration("14d", &ms), 0);
    assert_int_equal(ms, 14LL * 86400000);
    assert_int_equal(hm_parse_duration("1h30m", &ms), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(hm_parse_duration("30", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(hm_parse_duration("1.5s", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(hm_parse_duration("", &ms), -1);
    assert_int_equal(hm_parse_duration("5x", &ms), -1);
    assert_int_equal(hm_parse_duration("-5s", &ms), -1);
    assert_int_equal(hm_parse_duration("1h30", &ms), -1);
    assert_int_equal(hm_parse_duration("intervall", &ms), -1);
}

static void test_format_duration(void **state)
{
    char b[32];
    hm_format_duration(850, b, sizeof b);
    assert_string_equal(b, "850ms");
    hm_format_duration(12000, b, sizeof b);
    assert_string_equal(b, "12s");
    hm_format_duration(300000, b, sizeof b);
    assert_string_equal(b, "5m");
    hm_format_duration(7500000, b, sizeof b);
    assert_string_equal(b, "2h 5m");
    hm_format_duration(3 * 86400000LL + 4 * 3600000LL, b, sizeof b);
    assert_string_equal(b, "3d 4h");
}

static void test_sizes(void **state)
{
    uint64_t b;
    assert_int_equal(hm_parse_size("512", &b), 0);
    assert_int_equal(b, 512);
    assert_int_equal(hm_parse_size("64k", &b), 0);
    assert_int_equal(b, 65536);
    assert_int_equal(hm_parse_size("10MB", &b), 0);
    assert_int_equal(b, 10485760);
    assert_int_equal(hm_parse_size("2GiB", &b), 0);
    assert_int_equal(b, 2147483648ULL);
    assert_int_equal(hm_parse_size("2X", &b), -1);
    assert_int_equal(hm_parse_size("G", &b), -1);
    char s[32];
    hm_format_bytes(0, s, sizeof s);
    assert_string_equal(s, "0B");
    hm_format_bytes(1536, s, sizeof s);
    assert_string_equal(s, "1.5K");
    hm_format_bytes(84201127936ULL, s, sizeof s);
    assert_string_equal(s, "78G");
}

static void test_bool(void **state)
{
    bool v;
    assert_int_equal(hm_parse_bool("yes", &v), 0);
    assert_true(v);
    assert_int_equal(hm_parse_bool("Off", &v), 0);
    assert_false(v);
    assert_int_equal(hm_parse_bool("maybe", &v), -1);
}

static void test_display_width(void **state)
{
    assert_int_equal(hm_display_width("web-01"), 6);
    assert_int_equal(hm_display_width("财务-db-01"), 10); /* 2 CJK = 4 columns + 6 */
    assert_int_equal(hm_display_width("ｈ"), 2);       /* fullwidth latin */
    assert_int_equal(hm_display_width("\xff"), 1);      /* invalid byte */
}

static void cut_is(const char *s, int width, const char *want)
{
    char *got = hm_cut_width(s, width, "\xe2\x80\xa6");
    assert_string_equal(got, want);
    free(got);
}

static void test_cut_width(void **state)
{
    cut_is("web-01", 6, "web-01");   /* fits: unchanged */
    cut_is("web-01", 10, "web-01");
    cut_is("web-0123", 6, "web-0\xe2\x80\xa6");
    cut_is("财务-db-01", 10, "财务-db-01");
    cut_is("财务-db-01", 4, "财\xe2\x80\xa6");   /* 2 + 1: 务 would straddle the limit */
    cut_is("财务-db-01", 2, "\xe2\x80\xa6");     /* 财 + ellipsis would be 3 */
    cut_is("abc", 0, "");
    char *got = hm_cut_width("abcdef", 3, "~");
    assert_string_equal(got, "ab~");
    free(got);
    got = hm_cut_width("e\xcc\x81tat", 2, "~"); /* e + combining acute stay together */
    assert_string_equal(got, "e\xcc\x81~");
    free(got);
}

/* table_print of a table with a long name and a short state, limited to width; returns the
 * printed text (the caller frees it). */
static char *print_limited(int width)
{
    static const char *const head[] = {"NAME", "STATE", ">AGE"};
    hm_table *t = table_new(3, head);
    const char *r1[] = {"prod-erp-database-primary-01", "ok", "5m"};
    const char *r2[] = {"财务-web-01", "failed", "1h 2m"};
    table_add(t, r1);
    table_add(t, r2);
    table_set_width(t, width);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    table_print(t, f, false);
    fclose(f);
    table_free(t);
    return buf;
}

static void test_table_width(void **state)
{
    /* no limit, or a limit it fits in: whole cells */
    char *out = print_limited(0);
    assert_string_equal(out, "NAME                          STATE     AGE\n"
                             "prod-erp-database-primary-01  ok         5m\n"
                             "财务-web-01                   failed  1h 2m\n");
    free(out);
    out = print_limited(43);
    assert_non_null(strstr(out, "prod-erp-database-primary-01 "));
    free(out);
    /* the name gives way, the states and ages stay whole (no locale: "~") */
    out = print_limited(30);
    assert_string_equal(out, "NAME             STATE     AGE\n"
                             "prod-erp-datab~  ok         5m\n"
                             "财务-web-01      failed  1h 2m\n");
    free(out);
    /* narrower than the headings: every column at its heading's width, wider than asked */
    out = print_limited(5);
    assert_string_equal(out, "NAME  STATE  AGE\n"
                             "pro~  ok      5m\n"
                             "财~   fail~  1h~\n");
    free(out);
}

static void test_split_list(void **state)
{
    strvec sv = {0};
    sv_split_list(&sv, " a, b  c,,d ");
    assert_int_equal(sv.n, 4);
    assert_string_equal(sv.v[0], "a");
    assert_string_equal(sv.v[3], "d");
    assert_true(sv_contains(&sv, "c"));
    sv_free(&sv);
}

static void test_time(void **state)
{
    int64_t ms;
    assert_int_equal(hm_parse_time("2026-11-21T10:00:00Z", &ms), 0);
    assert_int_equal(ms, 1795255200000LL);
    assert_int_equal(hm_parse_time("2026-11-21T18:00:00+08:00", &ms), 0);
    assert_int_equal(ms, 1795255200000LL);
    assert_int_equal(hm_parse_time("2026-11-21T10:00:00.250Z", &ms), 0);
    assert_int_equal(ms, 1795255200250LL);
    assert_int_equal(hm_parse_time("1795255200", &ms), 0);
    assert_int_equal(ms, 1795255200000LL);
    assert_int_equal(hm_parse_time("2026-13-01", &ms), -1);
    assert_int_equal(hm_parse_time("yesterday", &ms), -1);
    /* the other shapes consoles write: no zone (UTC), a space, no seconds, a date alone,
     * offsets with and without a colon, west of Greenwich */
    assert_int_equal(hm_parse_time("2026-11-21 10:00:00", &ms), 0);
    assert_int_equal(ms, 1795255200000LL);
    assert_int_equal(hm_parse_time("2026-11-21T10:00Z", &ms), 0);
    assert_int_equal(ms, 1795255200000LL);
    assert_int_equal(hm_parse_time("2026-11-21", &ms), 0);
    assert_int_equal(ms, 1795219200000LL);
    assert_int_equal(hm_parse_time("2026-11-21T15:30:00+0530", &ms), 0);
    assert_int_equal(ms, 1795255200000LL);
    assert_int_equal(hm_parse_time("2026-11-21T05:00:00-05:00", &ms), 0);
    assert_int_equal(ms, 1795255200000LL);
    assert_int_equal(hm_parse_time("2024-02-29T23:59:60Z", &ms), 0); /* a leap second */
    assert_int_equal(ms, 1709251200000LL);
    /* trailing or missing parts are refused, not read as something else */
    assert_int_equal(hm_parse_time("2026-11-21T10:00:00Zx", &ms), -1);
    assert_int_equal(hm_parse_time("2026-11-21T10", &ms), -1);
    assert_int_equal(hm_parse_time("2026-11-", &ms), -1);
    assert_int_equal(hm_parse_time("2026-11-21T24:00:00Z", &ms), -1);
    assert_int_equal(hm_parse_time("2026-11-21T10:00:00+", &ms), -1);
    /* every second of a non-leap and a leap year agrees with timegm */
    for (int64_t t = 1672531200; t < 1735689600; t += 86400 * 3 + 3607) {
        struct tm tm;
        time_t tt = (time_t)t;
        gmtime_r(&tt, &tm);
        char iso[32];
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
        assert_int_equal(hm_parse_time(iso, &ms), 0);
        assert_int_equal(ms, t * 1000);
    }
    char b[32];
    hm_format_time(1795255200000LL, b, sizeof b);
    assert_string_equal(b, "2026-11-21T10:00:00Z");
    /* the same text as gmtime_r + strftime, before 1970 and after 2100 too */
    for (int64_t t = -2208988800LL; t < 4102444800LL * 2; t += 86400 * 29 + 3671) {
        time_t tt = (time_t)t;
        struct tm tm;
        char want[32];
        gmtime_r(&tt, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
        hm_format_time(t * 1000 + (t >= 0 ? 999 : 0), b, sizeof b);
        assert_string_equal(b, want);
    }
    hm_clock_pin(1234);
    assert_int_equal(hm_now_ms(), 1234);
    hm_clock_pin(0);
    assert_true(hm_now_ms() > 1700000000000LL);
}

static void test_format_value(void **state)
{
    char b[32];
    hm_format_value(12, b, sizeof b);
    assert_string_equal(b, "12");
    hm_format_value(84201127936.0, b, sizeof b);
    assert_string_equal(b, "84201127936");
    hm_format_value(18.0487, b, sizeof b);
    assert_string_equal(b, "18.0487");
    hm_format_value(2.5, b, sizeof b);
    assert_string_equal(b, "2.5");
    hm_format_value(NAN, b, sizeof b);
    assert_string_equal(b, "NaN");
    hm_format_value(-INFINITY, b, sizeof b);
    assert_string_equal(b, "-Inf");
}

static void test_edit_distance(void **state)
{
    assert_int_equal(hm_edit_distance("interval", "intervall"), 1);
    assert_int_equal(hm_edit_distance("sync_faild", "sync_failed"), 1);
    assert_int_equal(hm_edit_distance("", "abc"), 3);
    assert_int_equal(hm_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(hm_edit_distance("same", "same"), 0);
}

static void test_err_prefix(void **state)
{
    hm_err e = {{0}};
    assert_int_equal(hm_err_set(&e, "connection refused"), -1);
    hm_err_prefix(&e, "cannot reach '%s'", "x");
    assert_string_equal(e.msg, "cannot reach 'x': connection refused");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations), cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_sizes),     cmocka_unit_test(test_bool),
        cmocka_unit_test(test_display_width), cmocka_unit_test(test_cut_width),
        cmocka_unit_test(test_table_width),   cmocka_unit_test(test_split_list),
        cmocka_unit_test(test_time),      cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_edit_distance), cmocka_unit_test(test_err_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
