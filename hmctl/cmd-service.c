/* hmctl start|stop|restart [SERVICE...]: control the console's containers through the Docker
 * Engine API, as the seed's hmctl does with docker compose. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/docker.h"
#include "drill/journal.h"
#include "drill/plan.h"
#include "lib/cli.h"

static const struct hm_opt start_opts[] = {{0}};
static const struct hm_opt stop_opts[] = {
    {"yes", 'y', NULL, "do not ask for confirmation", NULL},
    {"timeout", 't', "DURATION", "how long Docker waits before killing (default 10s)", NULL},
    {0},
};

struct verb {
    const char *action;  /* Docker's: start, stop, restart */
    const char *ing;     /* "Stopping" */
    const char *past;    /* "stopped" */
    bool confirm;
};

static const struct verb verbs[] = {
    {"start", "Starting", "started", false},
    {"stop", "Stopping", "stopped", true},
    {"restart", "Restarting", "restarted", false},
};

static int run_verb(hm_ctx *ctx, const struct verb *v, int argc, char **argv)
{
    bool yes = false;
    int64_t grace_ms = 10000;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'y': yes = true; break;
        case 't':
            if (hm_parse_duration(op.arg, &grace_ms) < 0)
                return hm_usage_error(ctx, "invalid duration '%s' for --timeout", op.arg);
            break;
        default: return op.status;
        }
    }
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    int64_t timeout = cfg_get_ms(cfg, "hmctl", NULL, "timeout", 5000);
    docker_list all = {0};
    hm_err e = {{0}};
    if (docker_services_list(cfg, timeout, &all, &e) < 0) return hm_error("%s", e.msg);

    /* Resolve every name before touching anything, so a typo stops nothing. */
    size_t n = op.argc ? (size_t)op.argc : all.n;
    const docker_container **targets = xcalloc(n + 1, sizeof *targets);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (op.argc) {
            targets[i] = docker_service_find(&all, op.argv[i], &e);
            if (!targets[i]) {
                rc = hm_error("%s", e.msg);
                goto out;
            }
        } else {
            targets[i] = &all.v[i];
        }
    }
    if (n == 0) {
        rc = hm_error("no console services found; check [docker] project or services");
        goto out;
    }
    if (v->confirm && !yes) {
        strbuf names = {0};
        for (size_t i = 0; i < n; i++)
            sb_addf(&names, "%s%s", i ? ", " : "", docker_display_name(&all, targets[i]));
        bool ok = isatty(STDIN_FILENO) && hm_confirm("%s %s?", v->action[0] == 's' ? "Stop" : "Restart",
                                                    names.buf);
        if (!isatty(STDIN_FILENO))
            rc = hm_error("refusing to %s %s without confirmation: no terminal; use --yes",
                          v->action, names.buf);
        else if (!ok) rc = hm_error("nothing %s", v->past);
        sb_free(&names);
        if (rc) goto out;
    }
    /* Docker's grace period plus the API's own budget. */
    int64_t budget = timeout + grace_ms + 5000;
    for (size_t i = 0; i < n; i++) {
        const char *name = docker_display_name(&all, targets[i]);
        printf("%s %s ... ", v->ing, name);
        fflush(stdout);
        if (docker_service_action(cfg, &all, targets[i], v->action, (int)((grace_ms + 999) / 1000),
                                  budget, &e) < 0) {
            printf("failed\n");
            hm_error("%s", e.msg);
            rc = 1;
        } else {
            printf("%s\n", v->past);
        }
    }
out:
    free(targets);
    docker_list_free(&all);
    return rc;
}

static int run_start(hm_ctx *ctx, int argc, char **argv)
{
    return run_verb(ctx, &verbs[0], argc, argv);
}

static int run_stop(hm_ctx *ctx, int argc, char **argv)
{
    return run_verb(ctx, &verbs[1], argc, argv);
}

static int run_restart(hm_ctx *ctx, int argc, char **argv)
{
    return run_verb(ctx, &verbs[2], argc, argv);
}

/* Completion of dynamic kinds (lib/cli.c's hook): "services" (the console's containers),
 * "ssh-hosts" (the [host] sections: remote, ssh trust), "plans" (the plan files of [drill]
 * plan_dir) and "runs" (the run numbers in the store). */
void hm_complete_dynamic(hm_ctx *ctx, const char *kind, const char *prefix)
{
    if (strcmp(kind, "ssh-hosts") == 0) {
        hm_config *cfg = config_load(ctx->config_path);
        const cfg_section **secs;
        size_t n = cfg_sections_of(cfg, "host", &secs);
        for (size_t i = 0; i < n; i++)
            if (hm_starts_with(secs[i]->name, prefix)) puts(secs[i]->name);
        free(secs);
        config_free(cfg);
        return;
    }
    bool services = strcmp(kind, "services") == 0, plans = strcmp(kind, "plans") == 0;
    bool runs = strcmp(kind, "runs") == 0;
    if (!services && !plans && !runs) return;
    hm_config *cfg = config_load(ctx->config_path);
    if (cfg->errors.n) {
        config_free(cfg);
        return;
    }
    if (services) {
        docker_list all = {0};
        if (docker_services_list(cfg, 1000, &all, NULL) == 0)
            for (size_t i = 0; i < all.n; i++) {
                const char *name = docker_display_name(&all, &all.v[i]);
                if (hm_starts_with(name, prefix)) puts(name);
            }
        docker_list_free(&all);
    } else if (plans) {
        strvec names = {0};
        drill_plan_names(cfg_get(cfg, "drill", NULL, "plan_dir"), &names);
        for (size_t i = 0; i < names.n; i++)
            if (hm_starts_with(names.v[i], prefix)) puts(names.v[i]);
        sv_free(&names);
    } else {
        hm_store *st = NULL;
        drill_run_info *v = NULL;
        size_t n = 0;
        if (store_open_config(cfg, HM_STORE_READONLY, &st, NULL) == 0 &&
            drill_run_list(st, &v, &n, NULL) == 0)
            for (size_t i = 0; i < n; i++) {
                char id[24];
                snprintf(id, sizeof id, "%lld", (long long)v[i].id);
                if (hm_starts_with(id, prefix)) puts(id);
                drill_run_info_clear(&v[i]);
            }
        free(v);
        store_close(st);
    }
    config_free(cfg);
}

#define SERVICE_DESC                                                                              \
    "Without SERVICE, acts on every console service (the containers selected by [docker]\n"      \
    "project or services). An unknown name is an error that lists the known ones, and\n"         \
    "nothing is done."

const struct hm_cmd cmd_start = {
    .name = "start",
    .summary = "start console services",
    .usage = "[SERVICE...]",
    .description = SERVICE_DESC,
    .opts = start_opts,
    .run = run_start,
    .complete_args = "services",
};

const struct hm_cmd cmd_stop = {
    .name = "stop",
    .summary = "stop console services (asks first)",
    .usage = "[-y] [-t DURATION] [SERVICE...]",
    .description = SERVICE_DESC "\nOn a terminal, asks for confirmation unless --yes; without a\n"
                   "terminal, --yes is required.",
    .opts = stop_opts,
    .run = run_stop,
    .complete_args = "services",
};

const struct hm_cmd cmd_restart = {
    .name = "restart",
    .summary = "restart console services",
    .usage = "[-t DURATION] [SERVICE...]",
    .description = SERVICE_DESC,
    .opts = stop_opts + 1,
    .run = run_restart,
    .complete_args = "services",
};
