/* The sink without a server: line protocol encoding (escaping, exact floats, precision, tags),
 * gzip bodies, the queue's bound and what status says. The tests against a real influxd are in
 * tests/bats/sink.bats. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "store/sink.h"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/hmctl-sink-XXXXXX");
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

static char *line(const char *series, double v, int64_t ts, lp_precision p, const char *const *tags)
{
    strvec t = {0};
    for (; tags && *tags; tags++) sv_push(&t, *tags);
    strbuf sb = {0};
    int rc = lp_append(&sb, series, v, ts, p, &t);
    sv_free(&t);
    if (rc != 0) {
        sb_free(&sb);
        return rc > 0 ? xstrdup("(skipped)") : xstrdup("(malformed)");
    }
    return sb_detach(&sb);
}

#define LP_EQ(want, ...)                     \
    do {                                     \
        char *got_ = line(__VA_ARGS__);      \
        assert_string_equal(got_, want);     \
        free(got_);                          \
    } while (0)

static void test_escaping(void **state)
{
    LP_EQ("host.cpu.percent value=12.5 1795000000000\n", "host.cpu.percent", 12.5, 1795000000000LL, LP_MS, NULL);
    LP_EQ("rabbitmq.queue.messages,queue=a\\ b\\,c\\=d value=3 1000\n",
          "rabbitmq.queue.messages{queue=\"a b,c=d\"}", 3, 1000, LP_MS, NULL);
    /* Prometheus escapes in the series name are undone; quotes need no escape in a tag */
    LP_EQ("m,k=say\\ \"hi\"\\ \\x value=1 1\n", "m{k=\"say \\\"hi\\\" \\\\x\"}", 1, 1, LP_MS, NULL);
    /* a backslash before a special or at the end is doubled: InfluxDB 1.x could not read it */
    LP_EQ("m,k=a\\\\\\,b,z=c\\\\ value=1 1\n", "m{k=\"a\\\\,b\",z=\"c\\\\\"}", 1, 1, LP_MS, NULL);
    /* measurement: commas and spaces */
    LP_EQ("my\\ metric\\,x value=1 1\n", "my metric,x", 1, 1, LP_MS, NULL);
    /* tags sorted, extra tags added unless the series has the label, empty values left out */
    static const char *const extra[] = {"console=cn-1", "host=ignored", "zone=z", NULL};
    LP_EQ("m,console=cn-1,host=h1,zone=z value=1 1\n", "m{host=\"h1\",empty=\"\"}", 1, 1, LP_MS, extra);
    LP_EQ("(malformed)", "m{k=\"unterminated}", 1, 1, LP_MS, NULL);
    LP_EQ("(malformed)", "m{k=1}", 1, 1, LP_MS, NULL);
    LP_EQ("m,k=\xe4\xb8\xad\xe6\x96\x87\\ x value=1 1\n", "m{k=\"\xe4\xb8\xad\xe6\x96\x87 x\"}", 1, 1, LP_MS, NULL);
}

static void test_values_and_precision(void **state)
{
    LP_EQ("m value=0.1 5\n", "m", 0.1, 5, LP_MS, NULL);
    LP_EQ("m value=-0 5\n", "m", -0.0, 5, LP_MS, NULL);
    LP_EQ("m value=1.7976931348623157e+308 5\n", "m", 1.7976931348623157e308, 5, LP_MS, NULL);
    LP_EQ("m value=4.94065645841247e-324 5\n", "m", 4.9406564584124654e-324, 5, LP_MS, NULL);
    LP_EQ("(skipped)", "m", NAN, 5, LP_MS, NULL);
    LP_EQ("(skipped)", "m", -INFINITY, 5, LP_MS, NULL);
    LP_EQ("m value=1 1795000000123000000\n", "m", 1, 1795000000123LL, LP_NS, NULL);
    LP_EQ("m value=1 1795000000123000\n", "m", 1, 1795000000123LL, LP_US, NULL);
    LP_EQ("m value=1 1795000000\n", "m", 1, 1795000000999LL, LP_S, NULL);
    LP_EQ("m value=1 -2\n", "m", 1, -1001, LP_S, NULL); /* floored, not truncated */
    LP_EQ("(skipped)", "m", 1, INT64_C(1) << 60, LP_NS, NULL); /* beyond int64 nanoseconds */
    /* every double written parses back to the same bits */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v)) continue;
        char *l = line("m", v, 1, LP_MS, NULL);
        double back = strtod(l + strlen("m value="), NULL);
        assert_memory_equal(&back, &v, sizeof v);
        free(l);
    }
    lp_precision p;
    assert_int_equal(lp_precision_parse("u", &p), 0);
    assert_int_equal(p, LP_US);
    assert_string_equal(lp_precision_v1(p), "u");
    assert_string_equal(lp_precision_v2(p), "us");
    assert_int_equal(lp_precision_parse("h", &p), -1);
}

static void test_gzip_roundtrip(void **state)
{
    strbuf text = {0}, gz = {0};
    for (int i = 0; i < 5000; i++) sb_addf(&text, "m,k=v%d value=%d %d\n", i % 7, i, i * 10);
    hm_err e = {{0}};
    assert_int_equal(lp_gzip(text.buf, text.len, &gz, &e), 0);
    assert_true(gz.len < text.len / 4);
    assert_true((unsigned char)gz.buf[0] == 0x1f && (unsigned char)gz.buf[1] == 0x8b);
    /* two members back to back read as one stream, as servers read concatenated batches */
    strbuf two = {0};
    sb_add(&two, gz.buf, gz.len);
    sb_add(&two, gz.buf, gz.len);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 32), Z_OK);
    char *out = xmalloc(text.len * 2 + 1);
    z.next_in = (Bytef *)two.buf;
    z.avail_in = (uInt)two.len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(text.len * 2);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    size_t first = text.len * 2 - z.avail_out;
    assert_int_equal(inflateReset(&z), Z_OK);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(text.len * 2 - z.avail_out, text.len * 2);
    assert_int_equal(first, text.len);
    assert_memory_equal(out, text.buf, text.len);
    assert_memory_equal(out + text.len, text.buf, text.len);
    inflateEnd(&z);
    free(out);
    sb_free(&text);
    sb_free(&gz);
    sb_free(&two);
}

static hm_config *sink_conf(const char *extra)
{
    hm_config *c = config_new();
    char *text = xasprintf("[hmctl]\ndata_dir = %s\n[sink \"influxdb\"]\nurl = http://127.0.0.1:1\n"
                           "database = d\ntags = console=t\n%s", dir, extra);
    config_parse_text(c, "s.conf", text, 0600);
    free(text);
    return c;
}

static const hm_component *find_sink(const hm_result *r)
{
    for (size_t i = 0; i < r->n_components; i++)
        if (strcmp(r->components[i].name, "sink influxdb") == 0) return &r->components[i];
    return NULL;
}

/* The queue keeps whole batches of at most batch_size points, drops the oldest beyond
 * queue_max and counts them; a sink that cannot connect leaves everything queued. */
static void test_queue_bound_and_status(void **state)
{
    hm_config *c = sink_conf("batch_size = 4\nqueue_max = 1k\ntimeout = 1s\n");
    assert_int_equal(c->errors.n, 0);
    hm_store *st;
    hm_err e = {{0}};
    assert_int_equal(store_open_config(c, 0, &st, &e), 0);
    hm_sink *sk;
    assert_int_equal(sink_open(c, st, &sk, &e), 1);
    assert_int_equal(sink_batch_size(sk), 4);
    hm_sample s[10];
    char names[10][32];
    for (int i = 0; i < 10; i++) {
        snprintf(names[i], sizeof names[i], "m{i=\"%d\"}", i);
        s[i] = (hm_sample){names[i], i == 9 ? NAN : i * 1.25, "", 1795000000000LL};
    }
    assert_int_equal(sink_enqueue(sk, s, 10, 1795000000000LL, &e), 0);
    sink_status ss;
    assert_int_equal(sink_status_get(st, "influxdb", &ss, &e), 0);
    assert_int_equal(ss.queued_batches, 3);  /* 4 + 4 + 1 points; the NaN skipped */
    assert_int_equal(ss.queued_points, 9);
    assert_int_equal(ss.skipped_points, 1);
    /* a refused connection: nothing sent, nothing lost, a retry delay */
    assert_int_equal(sink_flush(sk, 1795000000000LL, 2000, false, &e), -1);
    assert_non_null(strstr(e.msg, "127.0.0.1:1"));
    assert_int_equal(sink_status_get(st, "influxdb", &ss, &e), 0);
    assert_int_equal(ss.queued_points, 9);
    assert_int_equal(ss.failures, 1);
    assert_true(ss.next_try_ms > 1795000000000LL);
    /* not due again before the delay */
    assert_int_equal(sink_flush(sk, 1795000000000LL + 1, 2000, false, &e), 0);
    /* fill past the bound */
    for (int k = 0; k < 40; k++) assert_int_equal(sink_enqueue(sk, s, 9, 1795000000000LL + k, &e), 0);
    assert_int_equal(sink_status_get(st, "influxdb", &ss, &e), 0);
    assert_true(ss.queued_bytes <= 1024);
    assert_true(ss.dropped_batches > 0);
    assert_int_equal(ss.queued_points + ss.dropped_points, 9 + 40 * 9);
    hm_result r = {0};
    sink_add_component(c, st, 1795000000000LL + 60000, &r);
    const hm_component *comp = find_sink(&r);
    assert_non_null(comp);
    assert_int_equal(comp->state, HM_WARNING);
    assert_non_null(strstr(comp->detail, "dropped when the queue was full"));
    assert_non_null(strstr(comp->detail, "failing (1 in a row)"));
    hm_result_free(&r);
    sink_close(sk);
    store_close(st);
    config_free(c);
}

static void test_config_errors(void **state)
{
    static const struct { const char *text, *want; } cases[] = {
        {"[sink \"influxdb\"]\nurl = http://x\n", "s.conf:1: [sink \"influxdb\"]: set database"},
        {"[sink \"influxdb\"]\nurl = http://x\nbucket = b\n", "bucket needs org"},
        {"[sink \"influxdb\"]\nurl = http://x\ndatabase = d\ntags = novalue\n", "'novalue' is not NAME=VALUE"},
        {"[sink \"graphite\"]\nurl = http://x\n", "s.conf:1: [sink \"graphite\"]: unknown sink"},
        {"[sink \"influxdb\"]\nurl = http://x\ndatabase = d\ntoken_file = /nonexistent/t\n", "/nonexistent/t"},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(cases); i++) {
        hm_config *c = config_new();
        config_parse_text(c, "s.conf", cases[i].text, 0600);
        char *path = xasprintf("%s/c%zu.db", dir, i);
        hm_store *st;
        hm_err e = {{0}};
        assert_int_equal(store_open(path, 0, &st, &e), 0);
        hm_sink *sk;
        assert_int_equal(sink_open(c, st, &sk, &e), -1);
        if (!strstr(e.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].want);
        hm_result r = {0};
        sink_add_component(c, st, 0, &r);
        assert_non_null(find_sink(&r));
        assert_int_equal(find_sink(&r)->state, HM_CRITICAL);
        hm_result_free(&r);
        store_close(st);
        free(path);
        config_free(c);
    }
    /* no sink, or a disabled one: nothing */
    hm_config *c = config_new();
    config_parse_text(c, "s.conf", "[sink \"influxdb\"]\nurl = http://x\nenabled = no\n", 0600);
    hm_result r = {0};
    sink_add_component(c, NULL, 0, &r);
    assert_int_equal(r.n_components, 0);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_values_and_precision),
        cmocka_unit_test(test_gzip_roundtrip),
        cmocka_unit_test_setup_teardown(test_queue_bound_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
