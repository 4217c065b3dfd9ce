/* hmctl status: the seed's status view of every component. */
#include "core/core.h"
#include "lib/cli.h"
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
