/* tsdb-bench: a console's metrics, generated, for `make bench` (tests/bench/tsdb.sh).
 *
 * The dataset: SERIES series (default 500) sampled every 10 s for DAYS days (default 7), shaped
 * like what hmctl collects from a console and its remote hosts: per host, CPU and memory
 * percentages (ratios of counters, full-precision doubles), available memory and free disk in
 * bytes, disk percentage, load average (two decimals), network rates (bytes over a jittered
 * interval), an up flag, and a small count. All series of a cycle share its time stamp, which
 * has a few milliseconds of jitter, as in hmctl where a cycle stamps every sample with the time
 * it started. Deterministic: the same arguments give the same points.
 *
 *   tsdb-bench ingest DB DAYS SERIES [PROBE_HOURS]
 *       Appends the dataset to a new store in batches of one hour of every series, then runs
 *       `store compact`; prints "samples N", "seconds S", "rate R" (per wall-clock second),
 *       "cpu_rate R" (per second of this process's CPU time), "cycles_rate R2" (the same
 *       appends one cycle at a time, as `hmctl check` makes them, measured over the first
 *       PROBE_HOURS hours, default 6, in a scratch store), "file_bytes B",
 *       "raw_bytes B", "rollup_bytes B".
 *   tsdb-bench query DB SERIES END_MS
 *       Times range queries over the 24 hours before END_MS, every series: raw points, a
 *       5-minute step (1-minute rollups) and a 1-hour step; best of 5 runs each, wall clock and
 *       CPU time. Prints "raw_ms T points N cpu_ms C", "step5m_ms ...", "step1h_ms ...".
 *   tsdb-bench lines DAYS SERIES FILE
 *       Writes the dataset as InfluxDB line protocol (millisecond time stamps).
 *   tsdb-bench openmetrics DAYS SERIES FILE
 *       Writes it as OpenMetrics text, family by family, for promtool tsdb create-blocks-from.
 *   tsdb-bench influx URL DB DAYS SERIES
 *       POSTs it to an InfluxDB 1.x (gzip, 10000 lines a request); prints "seconds S".
 *   tsdb-bench end DAYS
 *       Prints the time stamp (ms) just after the dataset's last cycle. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/http.h"
#include "store/sink.h"
#include "store/store.h"

#define T0 INT64_C(1795000000000) /* 2026-11-18T11:06:40Z */
#define STEP INT64_C(10000)
#define PER_HOST 10

static const char *const metric_names[PER_HOST] = {
    "host.cpu.percent", "host.memory.percent", "host.memory.available", "host.disk.root.percent",
    "host.disk.root.free", "host.load1", "host.net.rx.bytes_per_second",
    "host.net.tx.bytes_per_second", "host.up", "rabbitmq.queue.messages"};

typedef struct gen {
    int nseries;
    uint64_t rng;
    char **names;
    /* per-host state */
    double *mem_used, *disk_used, *load, *cpu_busy;
    int64_t *queue;
    int64_t cycle;
    int64_t ts;
    double *v; /* the cycle's values, one per series */
} gen;

static uint64_t rnd(gen *g)
{
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 2685821657736338717ULL;
}

static double unit(gen *g)
{
    return (double)(rnd(g) >> 11) / 9007199254740992.0;
}

static void gen_init(gen *g, int nseries)
{
    memset(g, 0, sizeof *g);
    g->nseries = nseries;
    g->rng = 0x5eed5eed5eedULL;
    int hosts = (nseries + PER_HOST - 1) / PER_HOST;
    g->names = xcalloc((size_t)nseries, sizeof *g->names);
    for (int i = 0; i < nseries; i++) {
        int h = i / PER_HOST, m = i % PER_HOST;
        if (m == 9) g->names[i] = xasprintf("%s{host=\"host-%02d\",queue=\"hm.tasks\"}", metric_names[m], h);
        else g->names[i] = xasprintf("%s{host=\"host-%02d\"}", metric_names[m], h);
    }
    g->mem_used = xcalloc((size_t)hosts, sizeof(double));
    g->disk_used = xcalloc((size_t)hosts, sizeof(double));
    g->load = xcalloc((size_t)hosts, sizeof(double));
    g->cpu_busy = xcalloc((size_t)hosts, sizeof(double));
    g->queue = xcalloc((size_t)hosts, sizeof(int64_t));
    for (int h = 0; h < hosts; h++) {
        g->mem_used[h] = 4e9 + unit(g) * 8e9;
        g->disk_used[h] = 20e9 + unit(g) * 60e9;
        g->load[h] = unit(g) * 2;
        g->cpu_busy[h] = 0.05 + unit(g) * 0.3;
    }
    g->v = xcalloc((size_t)nseries, sizeof(double));
}

static void gen_free(gen *g)
{
    for (int i = 0; i < g->nseries; i++) free(g->names[i]);
    free(g->names);
    free(g->mem_used);
    free(g->disk_used);
    free(g->load);
    free(g->cpu_busy);
    free(g->queue);
    free(g->v);
}

/* Advances to the next cycle and fills g->ts, g->v. */
static void gen_next(gen *g)
{
    g->ts = T0 + g->cycle * STEP + (int64_t)(rnd(g) % 40);
    double secs = 10.0 + (double)((int64_t)(rnd(g) % 80) - 40) / 1000;
    const double mem_total = 16.0 * 1024 * 1024 * 1024, disk_total = 200e9;
    for (int i = 0; i < g->nseries; i++) {
        int h = i / PER_HOST;
        double v = 0;
        switch (i % PER_HOST) {
        case 0: { /* jiffies over 10 s on 4 CPUs */
            g->cpu_busy[h] += (unit(g) - 0.5) * 0.02;
            if (g->cpu_busy[h] < 0.01) g->cpu_busy[h] = 0.01;
            if (g->cpu_busy[h] > 0.95) g->cpu_busy[h] = 0.95;
            int64_t total = 4000 + (int64_t)(rnd(g) % 9) - 4;
            int64_t busy = (int64_t)((double)total * g->cpu_busy[h] + unit(g) * 40);
            v = 100.0 * (double)busy / (double)total;
            break;
        }
        case 1:
            g->mem_used[h] += (double)((int64_t)(rnd(g) % 2001) - 1000) * 4096;
            v = 100.0 * g->mem_used[h] / mem_total;
            break;
        case 2: v = mem_total - g->mem_used[h]; break;
        case 3:
            if (rnd(g) % 30 == 0) g->disk_used[h] += (double)(rnd(g) % 256) * 4096;
            v = 100.0 * g->disk_used[h] / disk_total;
            break;
        case 4: v = disk_total - g->disk_used[h]; break;
        case 5:
            g->load[h] += (unit(g) - 0.5) * 0.1;
            if (g->load[h] < 0) g->load[h] = 0;
            v = round(g->load[h] * 100) / 100;
            break;
        case 6:
        case 7: v = floor(20000 + unit(g) * 500000) / secs; break;
        case 8: v = (rnd(g) % 20000 == 0) ? 0 : 1; break;
        default:
            if (rnd(g) % 200 == 0) g->queue[h] = (int64_t)(rnd(g) % 15);
            else if (g->queue[h] && rnd(g) % 3 == 0) g->queue[h]--;
            v = (double)g->queue[h];
            break;
        }
        g->v[i] = v;
    }
    g->cycle++;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time of this process: what the work costs, whatever else the machine runs. */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int64_t cycles_of(double days)
{
    return (int64_t)(days * 86400000.0 / STEP);
}

static hm_store *open_fresh(const char *path)
{
    char *cmd = xasprintf("rm -f '%s' '%s-wal' '%s-shm'", path, path, path);
    if (system(cmd) != 0) fprintf(stderr, "tsdb-bench: cannot remove %s\n", path);
    free(cmd);
    hm_store *st;
    hm_err e = {{0}};
    if (store_open(path, 0, &st, &e) < 0) {
        fprintf(stderr, "tsdb-bench: %s\n", e.msg);
        exit(1);
    }
    store_options o;
    store_options_default(&o);
    for (int t = 0; t < STORE_TIERS; t++) o.retention_ms[t] = 0; /* a dataset in the past */
    store_set_options(st, &o);
    return st;
}

static int cmd_ingest(const char *path, double days, int nseries, double probe_hours)
{
    int64_t cycles = cycles_of(days);
    gen g;
    gen_init(&g, nseries);
    hm_err e = {{0}};
    /* one cycle at a time, as `hmctl check` appends, over the first 6 hours of a scratch store */
    char *scratch = xasprintf("%s.cycles", path);
    hm_store *st = open_fresh(scratch);
    hm_sample *b = xcalloc((size_t)nseries * 360, sizeof *b);
    int64_t probe = (int64_t)(probe_hours * 360);
    if (probe > cycles) probe = cycles;
    double t0 = now_s();
    for (int64_t c = 0; c < probe; c++) {
        gen_next(&g);
        for (int i = 0; i < nseries; i++) b[i] = (hm_sample){g.names[i], g.v[i], "", g.ts};
        if (store_append(st, b, (size_t)nseries, &e) < 0) {
            fprintf(stderr, "tsdb-bench: %s\n", e.msg);
            return 1;
        }
    }
    double cyc_s = now_s() - t0;
    store_close(st);
    char *rm = xasprintf("rm -f '%s' '%s-wal' '%s-shm'", scratch, scratch, scratch);
    if (system(rm) != 0) fprintf(stderr, "tsdb-bench: cannot remove %s\n", scratch);
    free(rm);
    free(scratch);

    gen_free(&g);
    gen_init(&g, nseries);
    st = open_fresh(path);
    double gen_s = 0, start = now_s(), cpu0 = cpu_s(), gen_cpu = 0;
    int64_t samples = 0;
    for (int64_t c = 0; c < cycles;) {
        double g0 = now_s(), gc0 = cpu_s();
        size_t n = 0;
        for (int k = 0; k < 360 && c < cycles; k++, c++) {
            gen_next(&g);
            for (int i = 0; i < nseries; i++) b[n++] = (hm_sample){g.names[i], g.v[i], "", g.ts};
        }
        gen_s += now_s() - g0;
        gen_cpu += cpu_s() - gc0;
        if (store_append(st, b, n, &e) < 0) {
            fprintf(stderr, "tsdb-bench: %s\n", e.msg);
            return 1;
        }
        samples += (int64_t)n;
    }
    double secs = now_s() - start - gen_s, cpu = cpu_s() - cpu0 - gen_cpu;
    if (store_compact(st, T0 + cycles * STEP + 86400000LL, NULL, NULL, &e) < 0) {
        fprintf(stderr, "tsdb-bench: %s\n", e.msg);
        return 1;
    }
    store_stats s;
    store_stats_get(st, &s, &e);
    printf("samples %" PRId64 "\nseconds %.3f\nrate %.0f\ncpu_rate %.0f\ncycles_rate %.0f\nfile_bytes %"
           PRId64 "\nraw_bytes %" PRId64 "\nrollup_bytes %" PRId64 "\n",
           samples, secs, (double)samples / secs, (double)samples / cpu, probe ? (double)probe * nseries / cyc_s : 0.0,
           s.file_bytes + s.wal_bytes, s.tier[STORE_RAW].bytes,
           s.tier[STORE_1M].bytes + s.tier[STORE_1H].bytes);
    store_close(st);
    free(b);
    gen_free(&g);
    return 0;
}

struct qcount {
    int64_t n;
    double sum;
};

static int count_cb(const char *series, const char *unit, int64_t ts, double v, void *ud)
{
    struct qcount *q = ud;
    q->n++;
    q->sum += v;
    return 0;
}

static int cmd_query(const char *path, int64_t end)
{
    hm_store *st;
    hm_err e = {{0}};
    if (store_open(path, HM_STORE_READONLY, &st, &e) < 0) {
        fprintf(stderr, "tsdb-bench: %s\n", e.msg);
        return 1;
    }
    static const struct { const char *name; int64_t step; } q[] = {
        {"raw", 0}, {"step5m", 300000}, {"step1h", 3600000}};
    for (size_t k = 0; k < HM_ARRAY_LEN(q); k++) {
        double best = 1e9, best_cpu = 1e9;
        struct qcount c = {0, 0};
        for (int run = 0; run < 5; run++) {
            c = (struct qcount){0, 0};
            double t0 = now_s(), c0 = cpu_s();
            if (store_range(st, NULL, end - 86400000LL, end, q[k].step, count_cb, &c, &e) < 0) {
                fprintf(stderr, "tsdb-bench: %s\n", e.msg);
                return 1;
            }
            double t = now_s() - t0, tc = cpu_s() - c0;
            if (t < best) best = t;
            if (tc < best_cpu) best_cpu = tc;
        }
        printf("%s_ms %.1f points %" PRId64 " cpu_ms %.1f\n", q[k].name, best * 1000, c.n, best_cpu * 1000);
    }
    store_close(st);
    return 0;
}

static int cmd_lines(double days, int nseries, const char *file, bool openmetrics)
{
    FILE *f = fopen(file, "w");
    if (!f) {
        perror(file);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    int64_t cycles = cycles_of(days);
    gen g;
    gen_init(&g, nseries);
    if (!openmetrics) {
        strbuf sb = {0};
        for (int64_t c = 0; c < cycles; c++) {
            gen_next(&g);
            for (int i = 0; i < nseries; i++) {
                sb_reset(&sb);
                lp_append(&sb, g.names[i], g.v[i], g.ts, LP_MS, NULL);
                fwrite(sb.buf, 1, sb.len, f);
            }
        }
        sb_free(&sb);
    } else {
        /* OpenMetrics needs each family's samples together: generate the whole set once, keep
         * the values per series (days x 8640 doubles each) */
        double *vals = xmalloc((size_t)cycles * (size_t)nseries * sizeof *vals);
        int64_t *ts = xmalloc((size_t)cycles * sizeof *ts);
        for (int64_t c = 0; c < cycles; c++) {
            gen_next(&g);
            ts[c] = g.ts;
            memcpy(vals + c * nseries, g.v, (size_t)nseries * sizeof *vals);
        }
        for (int m = 0; m < PER_HOST; m++) {
            char fam[64];
            snprintf(fam, sizeof fam, "%s", metric_names[m]);
            for (char *p = fam; *p; p++)
                if (*p == '.') *p = '_';
            fprintf(f, "# TYPE %s gauge\n", fam);
            for (int i = m; i < nseries; i += PER_HOST) {
                const char *labels = strchr(g.names[i], '{');
                for (int64_t c = 0; c < cycles; c++)
                    fprintf(f, "%s%s %.17g %" PRId64 ".%03" PRId64 "\n", fam, labels,
                            vals[c * nseries + i], ts[c] / 1000, ts[c] % 1000);
            }
        }
        fputs("# EOF\n", f);
        free(vals);
        free(ts);
    }
    gen_free(&g);
    return fclose(f) == 0 ? 0 : 1;
}

static int cmd_influx(const char *url, const char *db, double days, int nseries)
{
    int64_t cycles = cycles_of(days);
    gen g;
    gen_init(&g, nseries);
    char *write = xasprintf("%s/write?db=%s&precision=ms", url, db);
    hm_http *h = hm_http_new();
    strbuf lines = {0}, gz = {0};
    double t0 = now_s();
    int n = 0;
    hm_err e = {{0}};
    const char *headers[] = {"Content-Encoding: gzip", NULL};
    for (int64_t c = 0; c <= cycles; c++) {
        if (c < cycles) {
            gen_next(&g);
            for (int i = 0; i < nseries; i++) lp_append(&lines, g.names[i], g.v[i], g.ts, LP_MS, NULL);
            n += nseries;
        }
        if (n >= 10000 || (c == cycles && n)) {
            sb_reset(&gz);
            lp_gzip(lines.buf, lines.len, &gz, &e);
            for (int attempt = 0;; attempt++) {
                hm_http_req req = {.method = "POST", .url = write, .body = gz.buf, .body_len = gz.len,
                                   .headers = headers, .timeout_ms = 120000};
                hm_http_resp resp = {0};
                int rc = hm_http_do(h, &req, &resp, &e);
                long status = resp.status;
                hm_http_resp_free(&resp);
                if (rc == 0 && status == 204) break;
                if (attempt == 5) {
                    fprintf(stderr, "tsdb-bench: %s (HTTP %ld)\n", rc ? e.msg : "write failed", status);
                    return 1;
                }
            }
            sb_reset(&lines);
            n = 0;
        }
    }
    printf("seconds %.3f\n", now_s() - t0);
    gen_free(&g);
    hm_http_free(h);
    free(write);
    sb_free(&lines);
    sb_free(&gz);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "ingest") == 0)
        return cmd_ingest(argv[2], atof(argv[3]), atoi(argv[4]), argc == 6 ? atof(argv[5]) : 6);
    if (argc == 5 && strcmp(argv[1], "query") == 0) return cmd_query(argv[2], atoll(argv[4]));
    if (argc == 5 && strcmp(argv[1], "lines") == 0) return cmd_lines(atof(argv[2]), atoi(argv[3]), argv[4], false);
    if (argc == 5 && strcmp(argv[1], "openmetrics") == 0)
        return cmd_lines(atof(argv[2]), atoi(argv[3]), argv[4], true);
    if (argc == 6 && strcmp(argv[1], "influx") == 0)
        return cmd_influx(argv[2], argv[3], atof(argv[4]), atoi(argv[5]));
    if (argc == 3 && strcmp(argv[1], "end") == 0) {
        printf("%" PRId64 "\n", T0 + cycles_of(atof(argv[2])) * STEP);
        return 0;
    }
    fprintf(stderr, "usage: tsdb-bench ingest DB DAYS SERIES | query DB SERIES END_MS | lines DAYS SERIES"
                    " FILE | openmetrics DAYS SERIES FILE | influx URL DB DAYS SERIES | end DAYS\n");
    return 2;
}
