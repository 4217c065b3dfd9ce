/* tsdb-tool: drives the store for the shell tests.
 *
 *   tsdb-tool write DB [MAX_BATCHES]
 *       Appends batches of 50 series x 10 time stamps (10 s apart) as fast as it can, resuming
 *       after what DB already holds, with 1-hour chunks so windows seal often, a late rewrite
 *       into a sealed window every 7 batches and store_maintain every 5. After every batch that
 *       store_append committed it writes "committed K" (K time stamps per series) to stdout
 *       with one write(2), so a kill -9 can only make it under-report.
 *   tsdb-tool check DB K
 *       PRAGMA integrity_check must say ok; every series must hold exactly the time stamps
 *       0..N-1 with N >= K, each with the value the writer gives it, and the open chunks must
 *       decode too (the store_range of everything). Prints "ok N".
 *
 *   tsdb-tool put DB < LINES
 *       Appends the samples of stdin, one "SERIES<TAB>VALUE<TAB>TS_MS" per line (VALUE as
 *       strtod reads it: "nan", "-inf", "-0" too), in one store_append.
 *   tsdb-tool sink CONF NOW_MS < LINES
 *       What a collection cycle does with its samples: opens the store and [sink "influxdb"] of
 *       CONF, queues the samples of stdin stamped NOW_MS and flushes what is due within the
 *       sink's timeout. Prints "sent N"; exits 3 (with the error on stderr) when the flush
 *       failed, the samples then waiting in the queue.
 *
 * Values are a function of (series, time stamp), so a check needs no record of what was
 * written. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "store/sink.h"
#include "store/store.h"

#define NSERIES 50
#define PER_BATCH 10
#define T0 1795000000000LL
#define STEP 10000LL

static double value_of(int s, int64_t i)
{
    switch (s % 5) {
    case 0: return (double)(i * 4096);                 /* counter */
    case 1: return (double)((i * 7919 + s) % 10000) / 100; /* two decimals */
    case 2: return 1;                                  /* constant */
    case 3: return sin((double)i / 10) * 1e6 + s;      /* any double */
    default: return (i % 97 == 0) ? NAN : (double)(i % 13); /* with NaN */
    }
}

static void series_name(int s, char *buf, size_t size)
{
    snprintf(buf, size, "crash.series{n=\"%02d\"}", s);
}

static int open_store(const char *path, hm_store **st)
{
    hm_err e = {{0}};
    if (store_open(path, 0, st, &e) < 0) {
        fprintf(stderr, "tsdb-tool: %s\n", e.msg);
        return -1;
    }
    store_options o;
    store_options_default(&o);
    o.chunk_span_ms = 3600000LL;
    for (int t = 0; t < STORE_TIERS; t++) o.retention_ms[t] = 0;
    store_set_options(*st, &o);
    return 0;
}

static int cmd_write(const char *path, long max_batches)
{
    hm_store *st;
    if (open_store(path, &st) < 0) return 1;
    char names[NSERIES][64];
    for (int s = 0; s < NSERIES; s++) series_name(s, names[s], sizeof names[s]);
    hm_point p;
    hm_err e = {{0}};
    int64_t next = 0;
    /* resume after the last time stamp every series holds */
    for (int s = 0; s < NSERIES; s++) {
        int r = store_last(st, names[s], &p, &e);
        if (r < 0) {
            fprintf(stderr, "tsdb-tool: %s\n", e.msg);
            return 1;
        }
        int64_t k = r ? (p.ts_ms - T0) / STEP + 1 : 0;
        if (s == 0 || k < next) next = k;
    }
    hm_sample batch[NSERIES * PER_BATCH + NSERIES];
    for (long b = 0; max_batches <= 0 || b < max_batches; b++) {
        size_t n = 0;
        for (int s = 0; s < NSERIES; s++)
            for (int j = 0; j < PER_BATCH; j++) {
                int64_t i = next + j;
                batch[n++] = (hm_sample){names[s], value_of(s, i), "count", T0 + i * STEP};
            }
        if (b % 7 == 6 && next > 400)
            for (int s = 0; s < NSERIES; s++) { /* the same value again, into a sealed window */
                int64_t i = next - 400 + s;
                batch[n++] = (hm_sample){names[s], value_of(s, i), "count", T0 + i * STEP};
            }
        if (store_append(st, batch, n, &e) < 0) {
            fprintf(stderr, "tsdb-tool: %s\n", e.msg);
            return 1;
        }
        next += PER_BATCH;
        char line[64];
        int len = snprintf(line, sizeof line, "committed %" PRId64 "\n", next);
        if (write(STDOUT_FILENO, line, (size_t)len) != len) return 1;
        if (b % 5 == 4 && store_maintain(st, T0 + next * STEP, &e) < 0) {
            fprintf(stderr, "tsdb-tool: %s\n", e.msg);
            return 1;
        }
    }
    store_close(st);
    return 0;
}

struct check {
    int series;
    int64_t expect;
    int64_t min_n;
    int bad;
    char last[64];
};

static int check_cb(const char *series, const char *unit, int64_t ts, double v, void *ud)
{
    struct check *c = ud;
    if (strcmp(series, c->last) != 0) {
        if (c->series >= 0 && c->expect < c->min_n) c->min_n = c->expect;
        snprintf(c->last, sizeof c->last, "%s", series);
        c->series++;
        c->expect = 0;
    }
    int s = atoi(strchr(series, '"') + 1);
    int64_t want_ts = T0 + c->expect * STEP;
    double want = value_of(s, c->expect);
    if (ts != want_ts || (memcmp(&v, &want, sizeof v) != 0 && !(isnan(v) && isnan(want)))) {
        if (c->bad++ < 5)
            fprintf(stderr, "tsdb-tool: %s: point %" PRId64 ": want (%" PRId64 ", %.17g), got (%"
                    PRId64 ", %.17g)\n", series, c->expect, want_ts, want, ts, v);
    }
    c->expect++;
    return 0;
}

static int cmd_check(const char *path, int64_t committed)
{
    hm_store *st;
    if (open_store(path, &st) < 0) return 1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK) return 1;
    int ok = 1;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(q, 0);
        if (strcmp(r, "ok") != 0) {
            fprintf(stderr, "tsdb-tool: integrity_check: %s\n", r);
            ok = 0;
        }
    }
    sqlite3_finalize(q);
    struct check c = {-1, 0, INT64_MAX, 0, ""};
    hm_err e = {{0}};
    if (store_range(st, "crash.series", INT64_MIN, INT64_MAX, 0, check_cb, &c, &e) < 0) {
        fprintf(stderr, "tsdb-tool: %s\n", e.msg);
        ok = 0;
    }
    if (c.series >= 0 && c.expect < c.min_n) c.min_n = c.expect;
    int nseries = c.series + 1;
    if (committed > 0 && nseries != NSERIES) {
        fprintf(stderr, "tsdb-tool: %d series, want %d\n", nseries, NSERIES);
        ok = 0;
    }
    if (nseries == 0) c.min_n = 0;
    if (c.min_n < committed) {
        fprintf(stderr, "tsdb-tool: a series holds %" PRId64 " samples; %" PRId64
                        " were reported committed\n", c.min_n, committed);
        ok = 0;
    }
    if (c.bad) ok = 0;
    store_close(st);
    if (!ok) return 1;
    printf("ok %" PRId64 "\n", c.min_n);
    return 0;
}

/* Reads "SERIES<TAB>VALUE<TAB>TS_MS" lines; the series strings are owned by *names. */
static size_t read_samples(hm_sample **out, strvec *names)
{
    char line[4096];
    size_t n = 0, cap = 0;
    hm_sample *s = NULL;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2) continue;
        *t1 = *t2 = '\0';
        sv_push(names, line);
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            s = xrealloc(s, cap * sizeof *s);
        }
        s[n++] = (hm_sample){NULL, strtod(t1 + 1, NULL), "", strtoll(t2 + 1, NULL, 10)};
    }
    for (size_t i = 0; i < n; i++) s[i].series = names->v[i];
    *out = s;
    return n;
}

static int cmd_put(const char *path)
{
    hm_store *st;
    hm_err e = {{0}};
    if (store_open(path, 0, &st, &e) < 0) {
        fprintf(stderr, "tsdb-tool: %s\n", e.msg);
        return 1;
    }
    strvec names = {0};
    hm_sample *s;
    size_t n = read_samples(&s, &names);
    int rc = store_append(st, s, n, &e);
    if (rc < 0) fprintf(stderr, "tsdb-tool: %s\n", e.msg);
    free(s);
    sv_free(&names);
    store_close(st);
    return rc < 0 ? 1 : 0;
}

static int cmd_sink(const char *conf, int64_t now)
{
    hm_config *cfg = config_load(conf);
    for (size_t i = 0; i < cfg->errors.n; i++) fprintf(stderr, "tsdb-tool: %s\n", cfg->errors.v[i]);
    if (cfg->errors.n) return 1;
    hm_store *st;
    hm_err e = {{0}};
    if (store_open_config(cfg, 0, &st, &e) < 0) {
        fprintf(stderr, "tsdb-tool: %s\n", e.msg);
        return 1;
    }
    hm_sink *sk;
    int r = sink_open(cfg, st, &sk, &e);
    if (r <= 0) {
        fprintf(stderr, "tsdb-tool: %s\n", r < 0 ? e.msg : "no [sink \"influxdb\"]");
        return 1;
    }
    strvec names = {0};
    hm_sample *s;
    size_t n = read_samples(&s, &names);
    int rc = 0;
    if (sink_enqueue(sk, s, n, now, &e) < 0) {
        fprintf(stderr, "tsdb-tool: %s\n", e.msg);
        rc = 1;
    } else {
        int64_t sent = sink_flush(sk, now, cfg_get_ms(cfg, "sink", "influxdb", "timeout", 5000),
                                  false, &e);
        if (sent < 0) {
            fprintf(stderr, "tsdb-tool: %s\n", e.msg);
            rc = 3;
        } else {
            printf("sent %lld\n", (long long)sent);
        }
    }
    free(s);
    sv_free(&names);
    sink_close(sk);
    store_close(st);
    config_free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "put") == 0) return cmd_put(argv[2]);
    if (argc == 4 && strcmp(argv[1], "sink") == 0) return cmd_sink(argv[2], atoll(argv[3]));
    if (argc >= 3 && strcmp(argv[1], "write") == 0)
        return cmd_write(argv[2], argc > 3 ? atol(argv[3]) : 0);
    if (argc == 4 && strcmp(argv[1], "check") == 0) return cmd_check(argv[2], atoll(argv[3]));
    fprintf(stderr, "usage: tsdb-tool write DB [MAX_BATCHES] | check DB COMMITTED | put DB |"
                    " sink CONF NOW_MS\n");
    return 2;
}
