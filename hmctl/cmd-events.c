/* hmctl events: the events derived from console polls and failed jobs, as stored. */
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"

enum { OPT_SINCE = 256, OPT_CONSOLE };

static const struct hm_opt opts[] = {
    {"since", OPT_SINCE, "DURATION", "only events within DURATION (default 7d)", NULL},
    {"json", 'j', NULL, "print a JSON array of {time, console, type, host_id, host_name, source, "
                        "detail}", NULL},
    {"console", OPT_CONSOLE, "NAME", "only events of [console \"NAME\"]", NULL},
    {0},
};

static enum hm_state event_state(const char *type)
{
    if (!strcmp(type, "host_lost_contact") || !strcmp(type, "sync_failed") ||
        !strcmp(type, "boot_failed"))
        return HM_CRITICAL;
    if (!strcmp(type, "host_reconnected")) return HM_OK;
    return HM_WARNING;
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    const char *since = "7d", *cname = NULL;
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case OPT_SINCE: since = op.arg; break;
        case OPT_CONSOLE: cname = op.arg; break;
        case 'j': json = true; break;
        default: return op.status;
        }
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    int64_t since_ms;
    if (hm_parse_duration(since, &since_ms) < 0)
        return hm_usage_error(ctx, "invalid duration '%s' for --since (e.g. 24h, 7d)", since);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    hm_err e = {{0}};
    if (cname) {
        console_conf cc;
        if (console_conf_load(cfg, cname, &cc, &e) < 0) return hm_error("%s", e.msg);
        console_conf_free(&cc);
    }
    hm_store *st = NULL;
    if (store_open_config(cfg, 0, &st, &e) < 0) return hm_error("%s", e.msg);
    console_events ev = {0};
    int rc = console_events_list(st, cname, hm_now_ms() - since_ms, &ev, &e);
    store_close(st);
    if (rc < 0) {
        console_events_free(&ev);
        return hm_error("%s", e.msg);
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < ev.n; i++) json_array_append_new(arr, console_event_json(&ev.v[i]));
        hm_json_print(stdout, arr);
    } else {
        static const char *const head[] = {"TIME", "CONSOLE", "EVENT", "HOST", "DETAIL"};
        hm_table *t = table_new(5, head);
        for (size_t i = 0; i < ev.n; i++) {
            char ts[32];
            hm_format_time(ev.v[i].ts_ms, ts, sizeof ts);
            ts[19] = '\0';
            ts[10] = ' ';
            const char *row[] = {ts, *ev.v[i].console ? ev.v[i].console : "default", ev.v[i].type,
                                 ev.v[i].host_name, ev.v[i].detail};
            table_add(t, row);
            table_color_last(t, 2, event_state(ev.v[i].type));
        }
        table_print(t, stdout, ctx->color);
        table_free(t);
    }
    console_events_free(&ev);
    return 0;
}

const struct hm_cmd cmd_events = {
    .name = "events",
    .summary = "list the console events hmctl derived (lost contact, failed syncs and boots, ...)",
    .usage = "[--since D] [--json] [--console NAME]",
    .description = "Reads the events stored by collection cycles (check, status, tui): a host\n"
                   "losing or regaining contact, failed syncs and boots (from host states and\n"
                   "failed jobs), expired licences and snapshots older than the RPO target.\n"
                   "Each event is stored once; times are UTC.",
    .opts = opts,
    .run = run,
};
