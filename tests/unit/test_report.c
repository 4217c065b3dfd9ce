/* Reports: CSV quoting (RFC 4180), the --from/--to parser, day bucketing and local times in a
 * zone (summer-time gaps and repeats included), and the CSV writer's bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/clock.h"
#include "lib/tz.h"
#include "lib/util.h"
#include "reports/report.h"

static int64_t at(const char *iso)
{
    int64_t ms;
    assert_int_equal(hm_parse_time(iso, &ms), 0);
    return ms;
}

static void csv_is(const char *in, const char *want)
{
    strbuf sb = {0};
    report_csv_field(&sb, in);
    assert_string_equal(sb_str(&sb), want);
    sb_free(&sb);
}

static void test_csv_quoting(void **state)
{
    csv_is("web-01", "web-01");
    csv_is("", "");
    csv_is(NULL, "");
    csv_is("财务-db-01", "财务-db-01");
    csv_is("a,b", "\"a,b\"");
    csv_is("say \"hi\"", "\"say \"\"hi\"\"\"");
    csv_is("\"", "\"\"\"\"");
    csv_is("line1\nline2", "\"line1\nline2\"");
    csv_is("cr\rhere", "\"cr\rhere\"");
    csv_is(" padded", "\" padded\"");
    csv_is("padded ", "\"padded \"");
    csv_is("in between", "in between");
    csv_is("$(touch /tmp/x); rm -rf x", "$(touch /tmp/x); rm -rf x");
    csv_is("a,\"b\"\r\nc", "\"a,\"\"b\"\"\r\nc\"");
}

struct tzfix {
    hm_tz tz;
};

static int open_zone(void **state, const char *zone)
{
    struct tzfix *f = calloc(1, sizeof *f);
    if (tz_open(zone, &f->tz, NULL) < 0) return -1;
    *state = f;
    return 0;
}

static int shanghai(void **state) { return open_zone(state, "Asia/Shanghai"); }
static int berlin(void **state) { return open_zone(state, "Europe/Berlin"); }
static int santiago(void **state) { return open_zone(state, "America/Santiago"); }
static int utc(void **state) { return open_zone(state, "UTC"); }

static int close_zone(void **state)
{
    struct tzfix *f = *state;
    tz_close(&f->tz);
    free(f);
    return 0;
}

static void range_is(const char *s, bool end, int64_t now, const char *want_iso)
{
    int64_t ms;
    hm_err e = {{0}};
    if (report_parse_time(s, end, now, &ms, &e) < 0) fail_msg("'%s': %s", s, e.msg);
    char got[32];
    hm_format_time(ms, got, sizeof got);
    if (strcmp(got, want_iso) != 0) fail_msg("'%s' (end %d): got %s, want %s", s, end, got, want_iso);
}

static void range_bad(const char *s, const char *msg_part)
{
    int64_t ms;
    hm_err e = {{0}};
    assert_int_equal(report_parse_time(s, false, at("2026-11-21T08:00:00Z"), &ms, &e), -1);
    if (!strstr(e.msg, msg_part)) fail_msg("'%s': message '%s' lacks '%s'", s, e.msg, msg_part);
}

static void test_range_shanghai(void **state)
{
    int64_t now = at("2026-11-21T08:00:00Z"); /* 16:00 in Shanghai */
    /* dates are local days: --from their first instant, --to the first instant of the next */
    range_is("2026-11-01", false, now, "2026-10-31T16:00:00Z");
    range_is("2026-11-01", true, now, "2026-11-01T16:00:00Z");
    range_is("2026-11-01T08:00", false, now, "2026-11-01T00:00:00Z");
    range_is("2026-11-01 08:00:30", true, now, "2026-11-01T00:00:30Z");
    range_is("2026-11-01T08:00:00Z", false, now, "2026-11-01T08:00:00Z");
    range_is("2026-11-01T08:00:00+02:00", false, now, "2026-11-01T06:00:00Z");
    range_is("2026-11-01T08:00-0330", false, now, "2026-11-01T11:30:00Z");
    range_is("now", true, now, "2026-11-21T08:00:00Z");
    range_is("-30d", false, now, "2026-10-22T08:00:00Z");
    range_is("-1h30m", false, now, "2026-11-21T06:30:00Z");
    range_is("today", false, now, "2026-11-20T16:00:00Z");
    range_is("today", true, now, "2026-11-21T16:00:00Z");
    range_is("yesterday", false, now, "2026-11-19T16:00:00Z");
    range_is("yesterday", true, now, "2026-11-20T16:00:00Z");
    /* 23:30 UTC is already tomorrow in Shanghai */
    range_is("today", false, at("2026-11-20T23:30:00Z"), "2026-11-20T16:00:00Z");
}

static void test_range_errors(void **state)
{
    range_bad("", "invalid time");
    range_bad("tomorrow", "invalid time");
    range_bad("2026-02-30", "no such day");
    range_bad("2026-13-01", "no such day");
    range_bad("2026-11-1", "invalid time");
    range_bad("2026-11-01T25:00", "time of day");
    range_bad("2026-11-01T08", "invalid time");
    range_bad("2026-11-01T08:00:00+8", "invalid time");
    range_bad("2026-11-01x", "invalid time");
    range_bad("-30x", "invalid time");
    range_bad("-", "invalid time");
    range_bad("--30d", "invalid time");
    range_bad("30d", "invalid time");
}

static void test_local_times_berlin(void **state)
{
    int64_t now = at("2026-11-21T08:00:00Z");
    /* 02:30 on 29 March 2026 does not exist: the clocks went from 02:00 to 03:00 */
    range_is("2026-03-29T02:30", false, now, "2026-03-29T01:30:00Z");
    /* 02:30 on 25 October 2026 happened twice: the earlier one (summer time) */
    range_is("2026-10-25T02:30", false, now, "2026-10-25T00:30:00Z");
    range_is("2026-10-25T03:30", false, now, "2026-10-25T02:30:00Z");
    /* the day of the change has 25 hours */
    int64_t day = tz_day_of(at("2026-10-25T12:00:00Z"));
    assert_int_equal(tz_day_start(day + 1) - tz_day_start(day), 25 * 3600000LL);
    day = tz_day_of(at("2026-03-29T12:00:00Z"));
    assert_int_equal(tz_day_start(day + 1) - tz_day_start(day), 23 * 3600000LL);
    char buf[40];
    tz_format_time(at("2026-07-01T10:00:00Z"), 'T', buf, sizeof buf);
    assert_string_equal(buf, "2026-07-01T12:00:00+02:00");
    tz_format_time(at("2026-12-01T10:00:00Z"), ' ', buf, sizeof buf);
    assert_string_equal(buf, "2026-12-01 11:00:00 +01:00");
}

static void test_day_start_in_gap(void **state)
{
    /* Chile started summer time at midnight: 3 September 2023 began at 01:00 */
    int64_t day = tz_days_from_civil(2023, 9, 3);
    char got[32];
    hm_format_time(tz_day_start(day), got, sizeof got);
    assert_string_equal(got, "2023-09-03T04:00:00Z");
    assert_int_equal(tz_day_of(tz_day_start(day)), day);
    assert_int_equal(tz_day_of(tz_day_start(day) - 1), day - 1);
    /* and a date as --from is that first instant */
    range_is("2023-09-03", false, at("2023-10-01T00:00:00Z"), "2023-09-03T04:00:00Z");
}

static void test_day_bucketing_shanghai(void **state)
{
    char buf[16];
    /* a job at 23:30 UTC falls on the next day in Shanghai */
    report_format_date(tz_day_of(at("2026-11-20T23:30:00Z")), buf, sizeof buf);
    assert_string_equal(buf, "2026-11-21");
    report_format_date(tz_day_of(at("2026-11-20T15:59:59Z")), buf, sizeof buf);
    assert_string_equal(buf, "2026-11-20");
    report_format_date(tz_day_of(at("2026-11-20T16:00:00Z")), buf, sizeof buf);
    assert_string_equal(buf, "2026-11-21");
    char t[40];
    tz_format_time(at("2026-11-20T23:30:00Z"), 'T', t, sizeof t);
    assert_string_equal(t, "2026-11-21T07:30:00+08:00");
}

static void test_day_bucketing_utc(void **state)
{
    char buf[16];
    report_format_date(tz_day_of(at("2026-11-20T23:30:00Z")), buf, sizeof buf);
    assert_string_equal(buf, "2026-11-20");
    report_format_date(tz_day_of(at("1969-12-31T23:00:00Z")), buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31");
    char t[40];
    tz_format_time(at("2026-11-20T23:30:00Z"), 'T', t, sizeof t);
    assert_string_equal(t, "2026-11-20T23:30:00+00:00");
}

static void test_civil_days(void **state)
{
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
    int y, m, d;
    for (int64_t day = -800; day < 30000; day += 37) {
        tz_civil_from_days(day, &y, &m, &d);
        assert_int_equal(tz_days_from_civil(y, m, d), day);
    }
    tz_civil_from_days(tz_days_from_civil(2024, 2, 29), &y, &m, &d);
    assert_int_equal(m * 100 + d, 229);
}

static void test_zone_names(void **state)
{
    hm_err e = {{0}};
    assert_int_equal(tz_check("Asia/Shanghai", &e), 0);
    assert_int_equal(tz_check("UTC", &e), 0);
    assert_int_equal(tz_check("Mars/Olympus_Mons", &e), -1);
    assert_non_null(strstr(e.msg, "unknown time zone 'Mars/Olympus_Mons'"));
    assert_int_equal(tz_check("../../etc/passwd", &e), -1);
    assert_int_equal(tz_check("/etc/localtime", &e), -1);
    assert_int_equal(tz_check("", &e), -1);
    assert_int_equal(tz_check("Asia", &e), -1); /* a directory */
    /* TZ is restored on close */
    setenv("TZ", "Europe/Berlin", 1);
    hm_tz tz;
    assert_int_equal(tz_open("Asia/Shanghai", &tz, &e), 0);
    assert_string_equal(getenv("TZ"), "Asia/Shanghai");
    tz_close(&tz);
    assert_string_equal(getenv("TZ"), "Europe/Berlin");
    assert_int_equal(tz_open(NULL, &tz, &e), 0);
    assert_string_equal(tz.name, "Europe/Berlin");
    tz_close(&tz);
    unsetenv("TZ");
    assert_int_equal(tz_open("UTC", &tz, &e), 0);
    tz_close(&tz);
    assert_null(getenv("TZ"));
}

/* tz_local remembers a quarter hour's offset; every answer must still be localtime_r's, also
 * next to transitions: summer time in Berlin and Lord Howe (30 minutes), Kathmandu's 1986 move
 * to +05:45, Shanghai after its last listed transition, and local mean time. */
static void test_local_matches_libc(void **state)
{
    static const char *const zones[] = {"Europe/Berlin", "Australia/Lord_Howe",
                                        "Asia/Kathmandu", "Asia/Shanghai", "America/Sao_Paulo"};
    static const int64_t around[] = {1711846800, /* 2024-03-31 01:00Z, Berlin springs forward */
                                     1729990800, /* 2024-10-27 01:00Z, Berlin falls back */
                                     1712415600, /* 2024-04-06 15:00Z, Lord Howe, 30 minutes */
                                     504901800,  /* 1985-12-31 18:30Z, Kathmandu +05:30 -> +05:45 */
                                     1795255200, /* 2026-11-21 10:00Z */
                                     -2177481943 /* 1900-12-31, local mean time */};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        hm_tz tz;
        assert_int_equal(tz_open(zones[z], &tz, NULL), 0);
        for (size_t a = 0; a < sizeof around / sizeof around[0]; a++)
            for (int64_t t = around[a] - 7200; t <= around[a] + 7200; t += 37) {
                struct tm got, want;
                long off;
                time_t tt = (time_t)t;
                assert_non_null(localtime_r(&tt, &want));
                tz_local(t * 1000 + 999, &got, &off);
                assert_int_equal(off, want.tm_gmtoff);
                assert_int_equal(got.tm_year, want.tm_year);
                assert_int_equal(got.tm_mon, want.tm_mon);
                assert_int_equal(got.tm_mday, want.tm_mday);
                assert_int_equal(got.tm_hour, want.tm_hour);
                assert_int_equal(got.tm_min, want.tm_min);
                assert_int_equal(got.tm_sec, want.tm_sec);
                assert_int_equal(got.tm_wday, want.tm_wday);
                assert_int_equal(got.tm_yday, want.tm_yday);
                assert_int_equal(got.tm_isdst, want.tm_isdst);
                assert_string_equal(got.tm_zone, want.tm_zone);
            }
        tz_close(&tz);
    }
    /* a new zone is not answered from the old one's memory */
    hm_tz tz;
    struct tm tm;
    long off;
    assert_int_equal(tz_open("Asia/Shanghai", &tz, NULL), 0);
    tz_local(1795255200000LL, &tm, &off);
    assert_int_equal(off, 8 * 3600);
    tz_close(&tz);
    assert_int_equal(tz_open("UTC", &tz, NULL), 0);
    tz_local(1795255200000LL, &tm, &off);
    assert_int_equal(off, 0);
    tz_close(&tz);
}

static void test_formatting(void **state)
{
    char b[40];
    report_format_duration(0, b, sizeof b);
    assert_string_equal(b, "0s");
    report_format_duration(45, b, sizeof b);
    assert_string_equal(b, "45s");
    report_format_duration(750, b, sizeof b);
    assert_string_equal(b, "12m 30s");
    report_format_duration(3725, b, sizeof b);
    assert_string_equal(b, "1h 2m 5s");
    report_format_duration(3 * 86400 + 4 * 3600 + 5 * 60 + 6, b, sizeof b);
    assert_string_equal(b, "3d 4h 5m");
    report_format_number(200, b, sizeof b);
    assert_string_equal(b, "200");
    report_format_number(12.5, b, sizeof b);
    assert_string_equal(b, "12.5");
    report_format_number(1e6, b, sizeof b);
    assert_string_equal(b, "1000000");
    report_format_number(1.0 / 3, b, sizeof b);
    assert_string_equal(b, "0.333333");
    assert_int_equal(report_format_of_path("/x/r.XLSX"), REPORT_XLSX);
    assert_int_equal(report_format_of_path("r.htm"), REPORT_HTML);
    assert_int_equal(report_format_of_path("r.json"), REPORT_JSON);
    assert_int_equal(report_format_of_path("dir.csv/r"), -1);
    assert_int_equal(report_format_of_path(NULL), -1);
    assert_int_equal(report_type_parse("daily-summary"), REPORT_DAILY_SUMMARY);
    assert_int_equal(report_type_parse("daily"), -1);
    assert_int_equal(report_format_parse("pdf"), -1);
    assert_int_equal(report_lang_parse("zh_CN.UTF-8"), REPORT_ZH);
    assert_int_equal(report_lang_parse("en"), REPORT_EN);
    assert_int_equal(report_lang_parse("fr"), -1);
}

static char *slurp(const char *path, size_t *n)
{
    char *s = hm_read_file(path, n, NULL);
    assert_non_null(s);
    return s;
}

/* The CSV writer: BOM, CRLF records, quoted fields, typed values, header only when empty. */
static void test_csv_writer(void **state)
{
    char path[] = "/tmp/hmctl-test-csv.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const struct report_type_info *info = report_type_get(REPORT_SYNC_DETAIL);
    report_meta m = {.type = REPORT_SYNC_DETAIL, .info = info, .lang = REPORT_EN, .bom = true,
                     .zone = "Asia/Shanghai"};
    hm_err e = {{0}};
    report_writer *w = report_writer_open(REPORT_CSV, path, &m, &e);
    assert_non_null(w);
    report_val v[] = {{.s = "财务-db-01"}, {.s = "id-1"}, {.s = "job,1"},
                      {.i = at("2026-11-20T23:30:00Z")}, {.null = true}, {.i = 754},
                      {.null = true}, {.s = "failed"}, {.s = "said \"no\"\nthen stopped"}};
    assert_int_equal(report_writer_row(w, v, &e), 0);
    assert_int_equal(report_writer_finish(w, NULL, 0, &e), 0);
    report_writer_free(w);
    size_t n;
    char *got = slurp(path, &n);
    const char *want = "\xef\xbb\xbfHost,Host ID,Job ID,Start,End,Duration,Mode,Result,Detail\r\n"
                       "财务-db-01,id-1,\"job,1\",2026-11-21T07:30:00+08:00,,754,,failed,"
                       "\"said \"\"no\"\"\nthen stopped\"\r\n";
    assert_string_equal(got, want);
    free(got);

    m.bom = false;
    m.lang = REPORT_ZH;
    w = report_writer_open(REPORT_CSV, path, &m, &e);
    assert_non_null(w);
    assert_int_equal(report_writer_finish(w, NULL, 0, &e), 0);
    report_writer_free(w);
    got = slurp(path, &n);
    assert_string_equal(got, "主机名称,主机ID,任务ID,开始时间,结束时间,耗时,同步模式,结果,详情\r\n");
    free(got);
    unlink(path);
}

/* The output file: nothing at the target until commit; abort leaves no file at all. */
static void test_out_atomic(void **state)
{
    char dir[] = "/tmp/hmctl-test-out.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *target = xasprintf("%s/r.csv", dir);
    report_out o;
    hm_err e = {{0}};
    assert_int_equal(report_out_open(&o, target, &e), 0);
    assert_int_equal(access(target, F_OK), -1);
    FILE *f = fopen(o.tmp, "w");
    fputs("x\r\n", f);
    fclose(f);
    report_out_abort(&o);
    assert_int_equal(access(target, F_OK), -1);
    assert_int_equal(rmdir(dir), 0); /* empty: the temporary file is gone */
    strcpy(dir, "/tmp/hmctl-test-out.XXXXXX");
    assert_non_null(mkdtemp(dir));
    free(target);
    target = xasprintf("%s/r.csv", dir);
    assert_int_equal(report_out_open(&o, target, &e), 0);
    f = fopen(o.tmp, "w");
    fputs("y\r\n", f);
    fclose(f);
    assert_int_equal(report_out_commit(&o, &e), 0);
    size_t n;
    char *got = slurp(target, &n);
    assert_string_equal(got, "y\r\n");
    free(got);
    unlink(target);
    assert_int_equal(rmdir(dir), 0);
    free(target);
    assert_int_equal(report_out_open(&o, "/nonexistent-dir/r.csv", &e), -1);
    assert_non_null(strstr(e.msg, "cannot write '/nonexistent-dir/r.csv'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test_setup_teardown(test_range_shanghai, shanghai, close_zone),
        cmocka_unit_test_setup_teardown(test_range_errors, shanghai, close_zone),
        cmocka_unit_test_setup_teardown(test_local_times_berlin, berlin, close_zone),
        cmocka_unit_test_setup_teardown(test_day_start_in_gap, santiago, close_zone),
        cmocka_unit_test_setup_teardown(test_day_bucketing_shanghai, shanghai, close_zone),
        cmocka_unit_test_setup_teardown(test_day_bucketing_utc, utc, close_zone),
        cmocka_unit_test(test_civil_days),
        cmocka_unit_test(test_zone_names),
        cmocka_unit_test(test_local_matches_libc),
        cmocka_unit_test_setup_teardown(test_formatting, utc, close_zone),
        cmocka_unit_test_setup_teardown(test_csv_writer, shanghai, close_zone),
        cmocka_unit_test(test_out_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
