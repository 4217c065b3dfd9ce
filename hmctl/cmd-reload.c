/* hmctl reload [SERVICE...]: recreate the console's containers from their current images, one at
 * a time, as the seed's hmctl does after a base-image update. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/docker.h"
#include "lib/cli.h"
#include "ops/audit.h"
#include "ops/reload.h"

static const struct hm_opt opts[] = {
    {"yes", 'y', NULL, "do not ask for confirmation", NULL},
    {"timeout", 't', "DURATION", "how long each new container may take to be ready (default 120s)",
     NULL},
    {0},
};

static void start(void *ud, const char *name)
{
    printf("Recreating %s ... ", name);
    fflush(stdout);
}

static void done(void *ud, const char *name, const char *new_id)
{
    if (new_id) printf("done (%.12s)\n", new_id);
    else printf("failed\n");
    fflush(stdout);
}

static void warn(void *ud, const char *msg)
{
    hm_warn("the reload is not recorded in the audit log: %s", msg);
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    bool yes = false;
    int64_t ready_ms = -1;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'y': yes = true; break;
        case 't':
            if (hm_parse_duration(op.arg, &ready_ms) < 0 || ready_ms <= 0)
                return hm_usage_error(ctx, "invalid duration '%s' for --timeout", op.arg);
            break;
        default: return op.status;
        }
    }
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    if (ready_ms < 0) ready_ms = cfg_get_ms(cfg, "reload", NULL, "timeout", 120000);
    container_recreate_opts ro = {
        .stop_timeout_s = (int)((cfg_get_ms(cfg, "reload", NULL, "stop_timeout", 10000) + 999) / 1000),
        .ready_timeout_ms = ready_ms,
    };
    int64_t timeout = cfg_get_ms(cfg, "hmctl", NULL, "timeout", 5000);
    docker_list all = {0};
    hm_err e = {{0}};
    if (docker_services_list(cfg, timeout, &all, &e) < 0) return hm_error("%s", e.msg);

    /* Every name is resolved before anything is touched, so a typo recreates nothing. */
    size_t n = op.argc ? (size_t)op.argc : all.n;
    reload_service *sv = xcalloc(n + 1, sizeof *sv);
    strbuf names = {0};
    hm_store *st = NULL;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const docker_container *c = op.argc ? docker_service_find(&all, op.argv[i], &e) : &all.v[i];
        if (!c) {
            rc = hm_error("%s", e.msg);
            goto out;
        }
        sv[i] = (reload_service){c->id, docker_display_name(&all, c)};
        sb_addf(&names, "%s%s", i ? ", " : "", sv[i].name);
    }
    if (n == 0) {
        rc = hm_error("no console services found; check [docker] project or services");
        goto out;
    }
    if (!yes) {
        if (!isatty(STDIN_FILENO)) {
            rc = hm_error("refusing to recreate %s without confirmation: no terminal; use --yes",
                          sb_str(&names));
            goto out;
        }
        if (!hm_confirm("Recreate %s from their current images?", sb_str(&names))) {
            rc = hm_error("nothing recreated");
            goto out;
        }
    }
    /* A store that cannot be opened does not stop a reload, which may be what repairs the
     * console; it is said, and the run goes unrecorded. */
    st = audit_open(cfg, &e);
    if (!st) warn(NULL, e.msg);
    reload_hooks hooks = {start, done, warn, NULL};
    size_t ok = 0;
    if (reload_run(cfg, st, sv, n, &ro, &hooks, &ok, &e) < 0) {
        rc = hm_error("%s", e.msg);
        if (ok + 1 < n) {
            strbuf rest = {0};
            for (size_t k = ok + 1; k < n; k++)
                sb_addf(&rest, "%s%s", k > ok + 1 ? ", " : "", sv[k].name);
            fprintf(stderr, "hmctl: not recreated: %s\n", sb_str(&rest));
            sb_free(&rest);
        }
    }
out:
    store_close(st);
    sb_free(&names);
    free(sv);
    docker_list_free(&all);
    return rc;
}

const struct hm_cmd cmd_reload = {
    .name = "reload",
    .summary = "recreate console services from their current images (asks first)",
    .usage = "[-y] [-t DURATION] [SERVICE...]",
    .description =
        "Recreates each service's container through the Docker Engine API with the same\n"
        "configuration, name and labels, from the image its configuration names (so a newer\n"
        "local image of that tag is used), one service at a time: each must be running and,\n"
        "with a health check, healthy before the next. Stops at the first failure, puts that\n"
        "service's previous container back and names the service and the reason. Without\n"
        "SERVICE, every console service. On a terminal, asks first unless --yes; without a\n"
        "terminal, --yes is required. Each run is recorded in the audit log with who ran it,\n"
        "the services and the result; 'hmctl upgrade --history' lists it.",
    .opts = opts,
    .run = run,
    .complete_args = "services",
};
