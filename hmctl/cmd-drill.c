/* hmctl drill|takeover PLAN and hmctl resume RUN: a plan run through the drill engine. */
#include <stdlib.h>
#include <string.h>

#include "drill/engine.h"
#include "lib/cli.h"

enum { OPT_PLAN_DIR = 256, OPT_CONSOLE, OPT_OPERATOR };

static const struct hm_opt drill_opts_tab[] = {
    {"dry-run", 'n', NULL, "pre-checks and the resolved steps only; nothing is done", NULL},
    {"yes", 'y', NULL, "start without the yes/no question", NULL},
    {"plan-dir", OPT_PLAN_DIR, "DIR", "read plans from DIR (default: [drill] plan_dir)", "dir"},
    {"console", OPT_CONSOLE, "NAME", "use [console \"NAME\"] instead of the plan's console", NULL},
    {"operator", OPT_OPERATOR, "NAME", "who runs it, for the journal and the report", NULL},
    {0},
};

static const struct hm_opt takeover_opts_tab[] = {
    {"dry-run", 'n', NULL, "pre-checks and the resolved steps only; nothing is done", NULL},
    {"plan-dir", OPT_PLAN_DIR, "DIR", "read plans from DIR (default: [drill] plan_dir)", "dir"},
    {"console", OPT_CONSOLE, "NAME", "use [console \"NAME\"] instead of the plan's console", NULL},
    {"operator", OPT_OPERATOR, "NAME", "who runs it, for the journal and the report", NULL},
    {0},
};

static const struct hm_opt resume_opts_tab[] = {
    {"yes", 'y', NULL, "resume a drill without the yes/no question", NULL},
    {"console", OPT_CONSOLE, "NAME", "use [console \"NAME\"] instead of the run's console", NULL},
    {"operator", OPT_OPERATOR, "NAME", "who resumes it, for the journal and the report", NULL},
    {0},
};

static hm_store *open_store(hm_config *cfg)
{
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (store_open_config(cfg, 0, &st, &e) < 0) {
        hm_error("%s", e.msg);
        return NULL;
    }
    return st;
}

static int run_plan(hm_ctx *ctx, enum drill_mode mode, int argc, char **argv)
{
    if (mode == DRILL_MODE_TAKEOVER)
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
            if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0)
                return hm_usage_error(ctx, "a takeover has no --yes: it needs the plan name typed back");
    drill_opts o = {.mode = mode};
    const char *plan_dir = NULL;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'n': o.dry_run = true; break;
        case 'y': o.yes = true; break;
        case OPT_PLAN_DIR: plan_dir = op.arg; break;
        case OPT_CONSOLE: o.console = op.arg; break;
        case OPT_OPERATOR: o.operator_name = op.arg; break;
        default: return op.status;
        }
    }
    if (op.argc != 1)
        return hm_usage_error(ctx, op.argc ? "one PLAN only" : "which plan? (hmctl plan list)");
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    if (!plan_dir) plan_dir = cfg_get(cfg, "drill", NULL, "plan_dir");
    hm_err e = {{0}};
    char *path = drill_plan_resolve(plan_dir, op.argv[0], &e);
    if (!path) return hm_error("%s", e.msg);
    strvec errors = {0};
    drill_plan *p = NULL;
    int rc = drill_plan_load(path, &p, &errors);
    free(path);
    if (rc < 0) {
        for (size_t i = 0; i < errors.n; i++) fprintf(stderr, "%s\n", errors.v[i]);
        fprintf(stderr, "hmctl: the plan has %zu error%s; nothing was done\n", errors.n,
                errors.n == 1 ? "" : "s");
        sv_free(&errors);
        return 1;
    }
    hm_store *st = open_store(cfg);
    if (!st) {
        drill_plan_free(p);
        return 1;
    }
    drill_ui_stdio io = {stdin, stdout, stderr};
    o.ui = drill_ui_stdio_make(&io);
    int64_t run_id = 0;
    rc = drill_start(cfg, st, p, &o, &run_id);
    store_close(st);
    drill_plan_free(p);
    return rc;
}

static int run_drill(hm_ctx *ctx, int argc, char **argv)
{
    return run_plan(ctx, DRILL_MODE_DRILL, argc, argv);
}

static int run_takeover(hm_ctx *ctx, int argc, char **argv)
{
    return run_plan(ctx, DRILL_MODE_TAKEOVER, argc, argv);
}

static int run_resume(hm_ctx *ctx, int argc, char **argv)
{
    drill_opts o = {0};
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'y': o.yes = true; break;
        case OPT_CONSOLE: o.console = op.arg; break;
        case OPT_OPERATOR: o.operator_name = op.arg; break;
        default: return op.status;
        }
    }
    if (op.argc != 1) return hm_usage_error(ctx, "which run? (hmctl runs)");
    char *end;
    long long id = strtoll(op.argv[0], &end, 10);
    if (end == op.argv[0] || *end || id <= 0)
        return hm_usage_error(ctx, "invalid run '%s' (a run number, see hmctl runs)", op.argv[0]);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    hm_store *st = open_store(cfg);
    if (!st) return 1;
    drill_ui_stdio io = {stdin, stdout, stderr};
    o.ui = drill_ui_stdio_make(&io);
    int rc = drill_resume(cfg, st, (int64_t)id, &o);
    store_close(st);
    return rc;
}

#define PLAN_DESC                                                                                 \
    "PLAN is a plan name (a file PLAN.plan in [drill] plan_dir, /etc/hmctl/plans by\n"           \
    "default) or the path of a plan file; hmctl-plan(5) describes them. First the\n"            \
    "pre-checks, printed as a checklist; any failed check stops here and nothing is\n"          \
    "done. Every transition is journaled in the store before the run goes on, so\n"             \
    "'hmctl resume RUN' continues an interrupted run. The report (JSON and HTML) is\n"          \
    "written next to the journal when the run ends."

const struct hm_cmd cmd_drill = {
    .name = "drill",
    .summary = "run a plan as a DR drill (test boot), with pre-checks, journal and report",
    .usage = "[-n] [-y] [--plan-dir DIR] [--console NAME] [--operator NAME] PLAN",
    .description = PLAN_DESC "\nA drill boots from snapshots (volume_snapshot), skips the plan's\n"
                   "takeover-only steps, runs its drill-only steps (cleanup) and asks yes/no\n"
                   "before it starts, unless --yes.",
    .opts = drill_opts_tab,
    .run = run_drill,
    .complete_args = "plans",
};

const struct hm_cmd cmd_takeover = {
    .name = "takeover",
    .summary = "run a plan as a DR takeover (formal boot); the plan name must be typed back",
    .usage = "[-n] [--plan-dir DIR] [--console NAME] [--operator NAME] PLAN",
    .description = PLAN_DESC "\nA takeover boots formally (volume_backup) and runs the plan's\n"
                   "takeover steps (database promotion, DNS). Nothing is done until the plan's\n"
                   "name is typed back; there is no --yes.",
    .opts = takeover_opts_tab,
    .run = run_takeover,
    .complete_args = "plans",
};

const struct hm_cmd cmd_resume = {
    .name = "resume",
    .summary = "continue an interrupted drill or takeover without repeating finished steps",
    .usage = "[-y] [--console NAME] [--operator NAME] RUN",
    .description = "Continues run RUN (see hmctl runs) from its first unfinished step, with the plan\n"
                   "the run started with. A step that was in flight is checked again: a boot or\n"
                   "cleanup against the console's hosts and jobs, a check by checking; a command\n"
                   "that may have run and an open confirmation are asked about. A run whose step\n"
                   "failed tries that step again. The confirmation of the run's mode is asked\n"
                   "again: yes/no (or --yes) for a drill, the plan name for a takeover.",
    .opts = resume_opts_tab,
    .run = run_resume,
    .complete_args = "runs",
};
