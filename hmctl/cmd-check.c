/* hmctl check: one collection cycle for cron, with Nagios exit codes. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "lib/cli.h"
#include "lib/output.h"

static const struct hm_opt opts[] = {
    {"format", 'f', "text|json|nagios", "output format (default text)", NULL},
    {0},
};

static int run(hm_ctx *ctx, int argc, char **argv)
{
    const char *format = "text";
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'f': format = op.arg; break;
        default: return op.status == 2 ? 3 : op.status;
        }
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "nagios") != 0) {
        hm_usage_error(ctx, "unknown format '%s' (text, json or nagios)", format);
        return 3;
    }
    if (op.argc) {
        hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
        return 3;
    }
    /* Nagios convention: a check that cannot run at all is UNKNOWN (3). */
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) {
        if (strcmp(format, "nagios") == 0) printf("HMCTL UNKNOWN - invalid configuration\n");
        return 3;
    }
    hm_result r = {0};
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (store_open_config(cfg, 0, &st, &e) < 0) {
        hm_result_add_component(&r, "store", "store", HM_UNKNOWN, "unavailable",
                                "samples not recorded: %s", e.msg);
    }
    hm_result cycle = {0};
    hm_err ce = {{0}};
    if (hm_cycle_run(cfg, st, true, &cycle, &ce) < 0)
        hm_result_add_component(&r, "store", "store", HM_UNKNOWN, "failed",
                                "samples not recorded: %s", ce.msg);
    hm_result_move(&cycle, &r);
    store_close(st);

    enum hm_state worst = hm_result_worst(&cycle);
    if (strcmp(format, "json") == 0) {
        json_t *j = hm_view_json(&cycle);
        char *summary = hm_view_summary(cfg, &cycle, false);
        json_object_set_new(j, "state", json_string(hm_state_name(worst)));
        json_object_set_new(j, "summary", json_string(summary));
        json_object_set_new(j, "exit_code", json_integer(hm_state_exit_code(worst)));
        free(summary);
        hm_json_print(stdout, j);
    } else {
        char *summary = hm_view_summary(cfg, &cycle, strcmp(format, "nagios") == 0);
        puts(summary);
        free(summary);
    }
    hm_result_free(&cycle);
    hm_result_free(&r);
    return hm_state_exit_code(worst);
}

const struct hm_cmd cmd_check = {
    .name = "check",
    .summary = "run one collection cycle, store the samples, exit with the worst state",
    .usage = "[--format text|json|nagios]",
    .description = "Meant for cron or a Nagios-compatible scheduler. Exit status: 0 OK, 1 WARNING,\n"
                   "2 CRITICAL, 3 UNKNOWN, from the worst component (critical beats unknown beats\n"
                   "warning). Samples older than [hmctl] retention are pruned.",
    .opts = opts,
    .run = run,
};
