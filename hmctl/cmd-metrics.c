/* hmctl metrics: read back the stored series. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"
#include "store/store.h"

enum { OPT_AGG = 256 };

static const struct hm_opt opts[] = {
    {"since", 's', "DURATION", "how far back (default 1h; e.g. 30m, 24h, 7d)", NULL},
    {"step", 'S', "DURATION", "one point per step (e.g. 5m, 1h), from the rollups where they fit", NULL},
    {"aggregate", OPT_AGG, "avg|min|max|sum|count", "what a step's point is (default avg)", NULL},
    {"json", 'j', NULL, "print JSON", NULL},
    {0},
};

struct collect {
    json_t *root;  /* --json: {series: {unit, points: [[ts_ms, value], ...]}} */
    hm_table *t;   /* text */
    char *last_series;
};

static int on_point(const char *series, const char *unit, int64_t ts, double value, void *ud)
{
    struct collect *c = ud;
    if (c->root) {
        json_t *s = json_object_get(c->root, series);
        if (!s) {
            s = json_object();
            json_object_set_new(s, "unit", json_string(unit));
            json_object_set_new(s, "points", json_array());
            json_object_set_new(c->root, series, s);
        }
        json_t *pt = json_array();
        json_array_append_new(pt, json_integer(ts));
        json_array_append_new(pt, isfinite(value) ? json_real(value) : json_null());
        json_array_append_new(json_object_get(s, "points"), pt);
        return 0;
    }
    char when[32], val[64];
    hm_format_time(ts, when, sizeof when);
    hm_format_value(value, val, sizeof val);
    const char *row[] = {series, when, val, unit};
    table_add(c->t, row);
    return 0;
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    const char *since = "1h", *step_arg = NULL, *agg_arg = "avg";
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 's': since = op.arg; break;
        case 'S': step_arg = op.arg; break;
        case OPT_AGG: agg_arg = op.arg; break;
        case 'j': json = true; break;
        default: return op.status;
        }
    }
    if (op.argc > 1) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[1]);
    int64_t span, step = 0;
    enum store_agg agg;
    if (hm_parse_duration(since, &span) < 0)
        return hm_usage_error(ctx, "invalid duration '%s' for --since (e.g. 30m, 24h, 7d)", since);
    if (step_arg && (hm_parse_duration(step_arg, &step) < 0 || step <= 0))
        return hm_usage_error(ctx, "invalid duration '%s' for --step (e.g. 1m, 5m, 1h)", step_arg);
    if (store_agg_parse(agg_arg, &agg) < 0)
        return hm_usage_error(ctx, "invalid aggregate '%s' (avg, min, max, sum or count)", agg_arg);
    if (op.argc == 0 && step_arg)
        return hm_usage_error(ctx, "--step needs a NAME");
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    hm_store *st;
    hm_err e = {{0}};
    if (store_open_config(cfg, HM_STORE_READONLY, &st, &e) < 0)
        return hm_error("%s (has 'hmctl check' run yet?)", e.msg);
    int64_t now = hm_now_ms();
    int rc = 0;
    if (op.argc == 0) {
        /* the list of series with their latest value */
        strvec names = {0}, units = {0};
        if (store_series(st, NULL, &names, &units, &e) < 0) {
            rc = hm_error("%s", e.msg);
        } else {
            json_t *root = json ? json_object() : NULL;
            static const char *const hdr[] = {"SERIES", ">LAST", "UNIT", ">AGE"};
            hm_table *t = table_new(4, hdr);
            for (size_t i = 0; i < names.n; i++) {
                hm_point p;
                if (store_last(st, names.v[i], &p, &e) != 1) continue;
                if (root) {
                    json_t *o = json_object();
                    json_object_set_new(o, "unit", json_string(units.v[i]));
                    json_object_set_new(o, "ts", json_integer(p.ts_ms));
                    json_object_set_new(o, "value", isfinite(p.value) ? json_real(p.value) : json_null());
                    json_object_set_new(root, names.v[i], o);
                    continue;
                }
                char val[64], age[32];
                hm_format_value(p.value, val, sizeof val);
                hm_format_duration(now - p.ts_ms, age, sizeof age);
                const char *row[] = {names.v[i], val, units.v[i], age};
                table_add(t, row);
            }
            if (root) hm_json_print(stdout, root);
            else if (table_rows(t)) table_print(t, stdout, false);
            else fputs("no samples stored yet; 'hmctl check' records them\n", stderr);
            table_free(t);
        }
        sv_free(&names);
        sv_free(&units);
    } else {
        static const char *const hdr[] = {"SERIES", "TIME", ">VALUE", "UNIT"};
        struct collect c = {json ? json_object() : NULL, json ? NULL : table_new(4, hdr), NULL};
        if (store_range_agg(st, op.argv[0], now - span, now + 1, step, agg, on_point, &c, &e) < 0) {
            rc = hm_error("%s", e.msg);
        } else if (c.root) {
            hm_json_print(stdout, c.root);
            c.root = NULL;
        } else if (table_rows(c.t)) {
            table_print(c.t, stdout, false);
        } else {
            rc = hm_error("no samples of '%s' in the last %s", op.argv[0], since);
        }
        json_decref(c.root);
        table_free(c.t);
    }
    store_close(st);
    return rc;
}

const struct hm_cmd cmd_metrics = {
    .name = "metrics",
    .summary = "read back stored series",
    .usage = "[--since DURATION] [--step DURATION [--aggregate AGG]] [--json] [NAME]",
    .description = "Without NAME, lists every stored series with its latest value. NAME is a series\n"
                   "(host.cpu.percent, rabbitmq.queue.messages{queue=\"hm.tasks\"}), a metric name\n"
                   "matching all its label sets, or a prefix ending in '*'. With --step, one point\n"
                   "per step: whole hours read the 1-hour rollups, whole minutes the 1-minute ones.",
    .opts = opts,
    .run = run,
};
