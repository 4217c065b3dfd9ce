/* hmctl status: the seed's status view of every component. */
#include "alerts/alerts.h"
#include "core/core.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"

static const struct hm_opt opts[] = {
    {"json", 'j', NULL, "print JSON: {components: [...], metrics: {...}}", NULL},
    {0},
};

/* Opens the store for the collectors' memory; a missing or unwritable store only costs the
 * CPU/network rate baseline, so it is reported with -v and not fatal. */
static hm_store *open_store_quietly(hm_ctx *ctx, const hm_config *cfg)
{
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (store_open_config(cfg, 0, &st, &e) < 0) hm_debug(ctx, "%s", e.msg);
    return st;
}

/* Notifications given up in the last day are a problem the operator must see: alerts that
 * reached nobody. */
static void add_dead_notifications(hm_ctx *ctx, hm_store *st, hm_result *r)
{
    hm_err e = {{0}};
    int64_t n = alerts_dead_count(st, hm_now_ms() - 86400000LL, &e);
    if (n < 0) hm_debug(ctx, "%s", e.msg);
    if (n > 0)
        hm_result_add_component(r, "alerts", "alerts", HM_WARNING, "undelivered",
                                "%lld notification%s could not be delivered in the last 24 h "
                                "(hmctl alerts history)", (long long)n, n == 1 ? "" : "s");
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'j': json = true; break;
        default: return op.status;
        }
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    hm_store *st = open_store_quietly(ctx, cfg);
    hm_result r = {0};
    hm_err e = {{0}};
    if (hm_cycle_run(cfg, st, false, &r, &e) < 0) hm_debug(ctx, "%s", e.msg);
    if (st) add_dead_notifications(ctx, st, &r);
    store_close(st);
    if (json) hm_json_print(stdout, hm_view_json(&r));
    else hm_view_status(stdout, &r, ctx->color);
    hm_result_free(&r);
    return 0;
}

const struct hm_cmd cmd_status = {
    .name = "status",
    .summary = "show the health of every console component",
    .usage = "[--json]",
    .description = "Prints each console service with its State (Up, Up (healthy), Up (unhealthy),\n"
                   "Exited (N), Restarting), the log space, program space, free disk and port\n"
                   "health lines, then every other component: Docker, MariaDB, Redis, RabbitMQ,\n"
                   "InfluxDB and the host's resources; last the remote hosts polled over SSH\n"
                   "([host] sections), under their roles. Nothing is stored; see 'hmctl check'.",
    .opts = opts,
    .run = run,
};
