/* hmctl tui: the full-screen dashboard; the work is in tui/. */
#include <stdlib.h>

#include "lib/cli.h"
#include "tui/tui.h"

enum { OPT_READONLY = 256 };

static const struct hm_opt opts[] = {
    {"count", 'n', "N", "exit after N refreshes (for tests and sanitizer runs)", NULL},
    {"interval", 'i', "DURATION", "time between refreshes (default: [hmctl] interval, 10s)", NULL},
    {"readonly", OPT_READONLY, NULL, "disable every action", NULL},
    {0},
};

static int run(hm_ctx *ctx, int argc, char **argv)
{
    struct tui_options to = {0};
    const char *interval = NULL, *count = NULL;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'n': count = op.arg; break;
        case 'i': interval = op.arg; break;
        case OPT_READONLY: to.readonly = true; break;
        default: return op.status;
        }
    }
    /* Values are checked once parsing is over: the parser owns state until its end. */
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    if (count) {
        char *end;
        to.count = strtol(count, &end, 10);
        if (*count == '\0' || *end || to.count < 1)
            return hm_usage_error(ctx, "invalid count '%s' (a number of refreshes, 1 or more)",
                                  count);
    }
    if (interval && (hm_parse_duration(interval, &to.interval_ms) < 0 || to.interval_ms < 100))
        return hm_usage_error(ctx, "invalid interval '%s' (a duration of 100ms or more: 1s, 5m)",
                              interval);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    if (!interval) to.interval_ms = cfg_get_ms(cfg, "hmctl", NULL, "interval", 10000);
    to.console_ms = cfg_get_ms(cfg, "tui", NULL, "console_interval", 0);
    to.cfg = cfg;
    to.color = !ctx->no_color && cfg_get_bool(cfg, "tui", NULL, "color", true);
    hm_err e = {{0}};
    if (tui_run(&to, &e) < 0) return hm_error("%s", e.msg);
    return 0;
}

const struct hm_cmd cmd_tui = {
    .name = "tui",
    .summary = "the full-screen dashboard",
    .usage = "[-n N] [-i DURATION] [--readonly]",
    .description = "The dashboard, full screen, refreshed by background threads: Overview (health\n"
                   "tiles, CPU, memory and disk meters with the last hour, running tasks, 24 h\n"
                   "success rate, event trend), Services (start, stop, restart), Remote, Hosts\n"
                   "(filter, sort, snapshots and jobs) and Events. Press ? for the keys of a\n"
                   "screen, q to quit. Needs a terminal.",
    .opts = opts,
    .run = run,
};
