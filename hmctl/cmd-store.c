/* hmctl store stats|compact|export */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"
#include "store/sink.h"
#include "store/store.h"

enum { OPT_FROM = 256, OPT_TO, OPT_SEND, OPT_INFLUX, OPT_PRECISION };

static const struct hm_opt stats_opts[] = {
    {"json", 'j', NULL, "print JSON", NULL},
    {0},
};
static const struct hm_opt compact_opts[] = {{0}};
static const struct hm_opt export_opts[] = {
    {"influx", OPT_INFLUX, NULL, "InfluxDB line protocol (the default, and only, format)", NULL},
    {"since", 's', "DURATION", "only the last DURATION (e.g. 24h, 7d)", NULL},
    {"from", OPT_FROM, "TIME", "from TIME on (ISO-8601 UTC or epoch seconds)", NULL},
    {"to", OPT_TO, "TIME", "up to TIME, excluded", NULL},
    {"output", 'o', "FILE", "write to FILE instead of standard output", "file"},
    {"precision", OPT_PRECISION, "ns|us|ms|s", "time stamp precision of the lines (default ms)", NULL},
    {"send", OPT_SEND, NULL, "send to the [sink \"influxdb\"] instead of printing (backfill)", NULL},
    {0},
};

static int open_store(hm_ctx *ctx, int flags, hm_store **st)
{
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    hm_err e = {{0}};
    if (store_open_config(cfg, flags, st, &e) < 0)
        return hm_error("%s%s", e.msg, flags & HM_STORE_READONLY ? " (has 'hmctl check' run yet?)" : "");
    return 0;
}

static const char *time_or_dash(int64_t ms, char *buf, size_t size)
{
    if (!ms) return "-";
    hm_format_time(ms, buf, (unsigned)size);
    return buf;
}

static json_t *tier_json(const store_tier_stats *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "series", json_integer(t->series));
    json_object_set_new(o, "chunks", json_integer(t->chunks));
    json_object_set_new(o, "points", json_integer(t->points));
    json_object_set_new(o, "bytes", json_integer(t->bytes));
    json_object_set_new(o, "bytes_per_point", t->points ? json_real((double)t->bytes / (double)t->points) : json_null());
    json_object_set_new(o, "oldest", t->oldest_ms ? json_integer(t->oldest_ms) : json_null());
    json_object_set_new(o, "newest", t->newest_ms ? json_integer(t->newest_ms) : json_null());
    return o;
}

static int run_stats(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        if (c == 'j') json = true;
        else return op.status;
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_store *st;
    int rc = open_store(ctx, HM_STORE_READONLY, &st);
    if (rc) return rc;
    store_stats s;
    hm_err e = {{0}};
    if (store_stats_get(st, &s, &e) < 0) {
        store_close(st);
        return hm_error("%s", e.msg);
    }
    int64_t raw = s.tier[STORE_RAW].points;
    double per_sample = raw ? (double)(s.file_bytes + s.wal_bytes) / (double)raw : 0;
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(store_path(st)));
        json_object_set_new(o, "file_bytes", json_integer(s.file_bytes));
        json_object_set_new(o, "wal_bytes", json_integer(s.wal_bytes));
        json_object_set_new(o, "series", json_integer(s.series));
        json_object_set_new(o, "open_chunks", json_integer(s.open_chunks));
        json_object_set_new(o, "time_columns", json_integer(s.time_columns));
        json_object_set_new(o, "time_column_bytes", json_integer(s.time_column_bytes));
        json_object_set_new(o, "dropped_expired", json_integer(s.dropped_expired));
        json_object_set_new(o, "file_bytes_per_sample", raw ? json_real(per_sample) : json_null());
        json_t *tiers = json_object();
        for (int t = 0; t < STORE_TIERS; t++) json_object_set_new(tiers, store_tier_name(t), tier_json(&s.tier[t]));
        json_object_set_new(o, "tiers", tiers);
        hm_json_print(stdout, o);
        store_close(st);
        return 0;
    }
    char fb[16], wb[16];
    hm_format_bytes((uint64_t)s.file_bytes, fb, sizeof fb);
    hm_format_bytes((uint64_t)s.wal_bytes, wb, sizeof wb);
    printf("store   %s  %s (log %s)\nseries  %lld\n\n", store_path(st), fb, wb, (long long)s.series);
    static const char *const hdr[] = {"TIER", ">SERIES", ">CHUNKS", ">POINTS", ">BYTES", ">B/POINT",
                                      "OLDEST", "NEWEST"};
    hm_table *t = table_new(8, hdr);
    for (int i = 0; i < STORE_TIERS; i++) {
        const store_tier_stats *ts = &s.tier[i];
        char c1[24], c2[24], c3[24], c4[16], c5[16], o1[32], o2[32];
        snprintf(c1, sizeof c1, "%lld", (long long)ts->series);
        snprintf(c2, sizeof c2, "%lld", (long long)ts->chunks);
        snprintf(c3, sizeof c3, "%lld", (long long)ts->points);
        hm_format_bytes((uint64_t)ts->bytes, c4, sizeof c4);
        if (ts->points) snprintf(c5, sizeof c5, "%.2f", (double)ts->bytes / (double)ts->points);
        else snprintf(c5, sizeof c5, "-");
        const char *row[] = {store_tier_name(i), c1, c2, c3, c4, c5,
                             time_or_dash(ts->oldest_ms, o1, sizeof o1),
                             time_or_dash(ts->newest_ms, o2, sizeof o2)};
        table_add(t, row);
    }
    table_print(t, stdout, false);
    table_free(t);
    char tb[16];
    hm_format_bytes((uint64_t)s.time_column_bytes, tb, sizeof tb);
    printf("\nopen chunks %lld; shared time columns %lld (%s)", (long long)s.open_chunks,
           (long long)s.time_columns, tb);
    if (s.dropped_expired)
        printf("; %lld samples refused as older than the raw retention", (long long)s.dropped_expired);
    if (raw) printf("\nfile bytes per raw sample: %.2f", per_sample);
    putchar('\n');
    store_close(st);
    return 0;
}

static int run_compact(hm_ctx *ctx, int argc, char **argv)
{
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) return op.status;
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_store *st;
    int rc = open_store(ctx, 0, &st);
    if (rc) return rc;
    int64_t before, after;
    hm_err e = {{0}};
    if (store_compact(st, hm_now_ms(), &before, &after, &e) < 0) rc = hm_error("%s", e.msg);
    else {
        char b[16], a[16];
        hm_format_bytes((uint64_t)before, b, sizeof b);
        hm_format_bytes((uint64_t)after, a, sizeof a);
        printf("%s: %s -> %s\n", store_path(st), b, a);
    }
    store_close(st);
    return rc;
}

static int run_export(hm_ctx *ctx, int argc, char **argv)
{
    const char *since = NULL, *from = NULL, *to = NULL, *output = NULL, *precision = "ms";
    bool send = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case OPT_INFLUX: break;
        case 's': since = op.arg; break;
        case OPT_FROM: from = op.arg; break;
        case OPT_TO: to = op.arg; break;
        case 'o': output = op.arg; break;
        case OPT_PRECISION: precision = op.arg; break;
        case OPT_SEND: send = true; break;
        default: return op.status;
        }
    }
    if (op.argc > 1) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[1]);
    if (since && from) return hm_usage_error(ctx, "--since and --from exclude each other");
    if (send && output) return hm_usage_error(ctx, "--send and --output exclude each other");
    int64_t lo = INT64_MIN, hi = INT64_MAX, span;
    lp_precision prec;
    if (lp_precision_parse(precision, &prec) < 0)
        return hm_usage_error(ctx, "invalid precision '%s' (ns, us, ms or s)", precision);
    if (since) {
        if (hm_parse_duration(since, &span) < 0)
            return hm_usage_error(ctx, "invalid duration '%s' for --since (e.g. 24h, 7d)", since);
        lo = hm_now_ms() - span;
    }
    if (from && hm_parse_time(from, &lo) < 0)
        return hm_usage_error(ctx, "invalid time '%s' for --from (e.g. 2026-11-21T10:00:00Z)", from);
    if (to && hm_parse_time(to, &hi) < 0)
        return hm_usage_error(ctx, "invalid time '%s' for --to (e.g. 2026-11-21T10:00:00Z)", to);
    hm_store *st;
    int rc = open_store(ctx, send ? 0 : HM_STORE_READONLY, &st);
    if (rc) return rc;
    hm_err e = {{0}};
    hm_sink *sk = NULL;
    FILE *f = NULL;
    if (send) {
        int r = sink_open(hm_ctx_config(ctx), st, &sk, &e);
        if (r <= 0) {
            store_close(st);
            return r < 0 ? hm_error("%s", e.msg)
                         : hm_error("--send needs a [sink \"influxdb\"] section (see hmctl.conf(5))");
        }
    } else if (output && !(f = fopen(output, "w"))) {
        store_close(st);
        return hm_error("cannot write '%s': %s", output, strerror(errno));
    }
    int64_t skipped = 0;
    int64_t n = sink_export(st, sk, op.argc ? op.argv[0] : NULL, lo, hi, send ? NULL : f ? f : stdout,
                            prec, NULL, &skipped, &e);
    if (f && fclose(f) != 0 && n >= 0) {
        n = -1;
        snprintf(e.msg, sizeof e.msg, "cannot write '%s': %s", output, strerror(errno));
    }
    if (n < 0) rc = hm_error("%s", e.msg);
    else if (send || output)
        fprintf(stderr, "%lld points %s%s\n", (long long)n, send ? "sent" : "written to ",
                send ? "" : output);
    if (skipped)
        fprintf(stderr, "%lld NaN or infinite values skipped (line protocol cannot carry them)\n",
                (long long)skipped);
    sink_close(sk);
    store_close(st);
    return rc;
}

static const struct hm_cmd store_stats_cmd = {
    .name = "stats",
    .summary = "series, points, bytes per point, oldest and newest, per tier",
    .usage = "[--json]",
    .opts = stats_opts,
    .run = run_stats,
};

static const struct hm_cmd store_compact_cmd = {
    .name = "compact",
    .summary = "seal open chunks, apply retention and shrink the file",
    .usage = "",
    .opts = compact_opts,
    .run = run_compact,
};

static const struct hm_cmd store_export_cmd = {
    .name = "export",
    .summary = "write or send the raw samples as InfluxDB line protocol",
    .usage = "[--influx] [--since DURATION | --from TIME] [--to TIME] [-o FILE | --send] [NAME]",
    .description = "NAME is a series, a metric name or a prefix ending in '*', as for 'hmctl metrics';\n"
                   "without it, every series. --send backfills the configured [sink \"influxdb\"].",
    .opts = export_opts,
    .run = run_export,
};

static const struct hm_cmd *const store_subs[] = {&store_stats_cmd, &store_compact_cmd,
                                                  &store_export_cmd, NULL};

const struct hm_cmd cmd_store = {
    .name = "store",
    .summary = "the local time-series store: stats, compact, export",
    .usage = "stats|compact|export [OPTIONS]",
    .description = "Samples are kept in compressed chunks with 1-minute and 1-hour rollups;\n"
                   "see hmctl-store(1).",
    .opts = compact_opts,
    .subs = store_subs,
};
