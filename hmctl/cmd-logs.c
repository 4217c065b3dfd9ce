/* hmctl logs collect: the seed's log export as one tar.gz, secrets masked. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cli.h"
#include "lib/clock.h"
#include "ops/logs.h"

static const struct hm_opt no_opts[] = {{0}};
static const struct hm_opt collect_opts[] = {
    {"since", 's', "DURATION", "files changed and container output within this period (default 24h)",
     NULL},
    {"components", 'C', "LIST", "console,proxy,agent,gateway (default all)", NULL},
    {"output", 'o', "FILE", "the archive (default ./hmctl-logs-HOST-TIME.tar.gz)", "file"},
    {0},
};

static void say(void *ud, const char *line)
{
    hm_ctx *ctx = ud;
    hm_debug(ctx, "%s", line);
}

/* Whether this hmctl has `alerts list`. */
static bool has_alerts(void)
{
    for (const struct hm_cmd *const *c = hm_commands; *c; c++) {
        if (strcmp((*c)->name, "alerts") != 0 || !(*c)->subs) continue;
        for (const struct hm_cmd *const *s = (*c)->subs; *s; s++)
            if (strcmp((*s)->name, "list") == 0) return true;
    }
    return false;
}

static int run_collect(hm_ctx *ctx, int argc, char **argv)
{
    const char *since = NULL, *comps = NULL, *output = NULL;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 's': since = op.arg; break;
        case 'C': comps = op.arg; break;
        case 'o': output = op.arg; break;
        default: return op.status;
        }
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    logs_opts o = {0};
    if (since) {
        if (hm_parse_duration(since, &o.since_ms) < 0 || o.since_ms <= 0)
            return hm_usage_error(ctx, "invalid duration '%s' for --since", since);
    } else {
        o.since_ms = cfg_get_ms(cfg, "logs", NULL, "since", 86400000);
    }
    if (comps) sv_split_list(&o.components, comps);
    else cfg_get_list(cfg, "logs", NULL, "components", &o.components);
    for (size_t i = 0; i < o.components.n; i++)
        if (!logs_component_valid(o.components.v[i])) {
            int rc = hm_usage_error(ctx, "unknown component '%s' (console, proxy, agent, gateway)",
                                    o.components.v[i]);
            sv_free(&o.components);
            return rc;
        }
    if (o.components.n == 0) {
        sv_free(&o.components);
        return hm_usage_error(ctx, "no component to collect");
    }
    char *def = output ? NULL : logs_default_name(hm_now_ms());
    o.output = output ? output : def;
    o.max_file = cfg_get_size(cfg, "logs", NULL, "max_file_size", 64u << 20);
    o.max_total = cfg_get_size(cfg, "logs", NULL, "max_total_size", 1u << 30);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        o.self_exe = self;
    }
    o.config_path = ctx->config_path;
    o.has_alerts = has_alerts();
    o.remote = remote_backend();
    o.say = say;
    o.ud = ctx;
    logs_summary s;
    hm_err e = {{0}};
    int rc = 0;
    if (logs_collect(cfg, &o, &s, &e) < 0) {
        rc = hm_error("%s", e.msg);
    } else {
        char size[16];
        hm_format_bytes(s.bytes, size, sizeof size);
        printf("%s: %zu files, %s before compression, %zu secret%s masked, %zu truncated, "
               "%zu not collected (see MANIFEST)\n",
               o.output, s.files, size, s.masked, s.masked == 1 ? "" : "s", s.truncated, s.missing);
    }
    free(def);
    sv_free(&o.components);
    return rc;
}

static const struct hm_cmd logs_collect_cmd = {
    .name = "collect",
    .summary = "write the console's and components' logs and configuration to one tar.gz",
    .usage = "[-s DURATION] [-C LIST] [-o FILE]",
    .description =
        "Collects the console's log directories, each console container's log, 'hmctl status\n"
        "--json', the alerts, the effective configuration, the services' configuration files\n"
        "and the Sync Proxy, Linux Agent and gateway configuration and logs (on this host and\n"
        "on the [host] sections of their roles) into one archive with a MANIFEST. Secrets in\n"
        "every file are masked.",
    .opts = collect_opts,
    .run = run_collect,
};

static const struct hm_cmd *const subs[] = {&logs_collect_cmd, NULL};

const struct hm_cmd cmd_logs = {
    .name = "logs",
    .summary = "collect logs for the vendor (secrets masked)",
    .usage = "collect",
    .opts = no_opts,
    .subs = subs,
};
