/* hmctl plan check FILE... | plan list: the plan files of drills and takeovers. */
#include <stdlib.h>
#include <string.h>

#include "drill/plan.h"
#include "lib/cli.h"
#include "lib/output.h"

enum { OPT_PLAN_DIR = 256 };

static const struct hm_opt no_opts[] = {{0}};
static const struct hm_opt list_opts[] = {
    {"plan-dir", OPT_PLAN_DIR, "DIR", "list the plans in DIR (default: [drill] plan_dir)", "dir"},
    {"json", 'j', NULL, "print JSON", NULL},
    {0},
};

static int run_check(hm_ctx *ctx, int argc, char **argv)
{
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) return op.status;
    if (!op.argc) return hm_usage_error(ctx, "which plan file?");
    int bad = 0;
    for (int i = 0; i < op.argc; i++) {
        strvec errors = {0};
        drill_plan *p = NULL;
        if (drill_plan_load(op.argv[i], &p, &errors) < 0) {
            for (size_t k = 0; k < errors.n; k++) fprintf(stderr, "%s\n", errors.v[k]);
            bad++;
        } else {
            size_t drill = 0, takeover = 0;
            for (size_t k = 0; k < p->n_steps; k++) {
                if (!p->steps[k].enabled) continue;
                drill += (p->steps[k].modes & DRILL_MODE_DRILL) != 0;
                takeover += (p->steps[k].modes & DRILL_MODE_TAKEOVER) != 0;
            }
            printf("%s: ok: plan %s, %zu host%s, %zu step%s (%zu in a drill, %zu in a takeover)\n",
                   op.argv[i], p->name, p->n_hosts, p->n_hosts == 1 ? "" : "s", p->n_steps,
                   p->n_steps == 1 ? "" : "s", drill, takeover);
        }
        drill_plan_free(p);
        sv_free(&errors);
    }
    return bad ? 1 : 0;
}

static int run_list(hm_ctx *ctx, int argc, char **argv)
{
    const char *dir = NULL;
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        if (c == OPT_PLAN_DIR) dir = op.arg;
        else if (c == 'j') json = true;
        else return op.status;
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    if (!dir) dir = cfg_get(cfg, "drill", NULL, "plan_dir");
    strvec names = {0};
    drill_plan_names(dir, &names);
    static const char *const hdr[] = {"PLAN", "HOSTS", "STEPS", "RTO", "RPO", "DESCRIPTION"};
    hm_table *t = table_new(6, hdr);
    json_t *arr = json ? json_array() : NULL;
    int bad = 0;
    for (size_t i = 0; i < names.n; i++) {
        char *path = xasprintf("%s/%s.plan", dir, names.v[i]);
        strvec errors = {0};
        drill_plan *p = NULL;
        if (drill_plan_load(path, &p, &errors) < 0) {
            fprintf(stderr, "%s: %zu error%s (hmctl plan check %s)\n", path, errors.n,
                    errors.n == 1 ? "" : "s", path);
            bad++;
        } else if (arr) {
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:i, s:i, s:I, s:I}", "name",
                                                 p->name, "file", path, "description",
                                                 p->description, "hosts", (int)p->n_hosts,
                                                 "steps", (int)p->n_steps, "rto_s",
                                                 (json_int_t)(p->rto_ms / 1000), "rpo_s",
                                                 (json_int_t)(p->rpo_ms / 1000)));
        } else {
            char h[16], s[16], rto[32] = "-", rpo[32] = "-";
            snprintf(h, sizeof h, "%zu", p->n_hosts);
            snprintf(s, sizeof s, "%zu", p->n_steps);
            if (p->rto_ms) hm_format_duration(p->rto_ms, rto, sizeof rto);
            if (p->rpo_ms) hm_format_duration(p->rpo_ms, rpo, sizeof rpo);
            const char *row[] = {p->name, h, s, rto, rpo, p->description};
            table_add(t, row);
        }
        drill_plan_free(p);
        sv_free(&errors);
        free(path);
    }
    if (arr) hm_json_print(stdout, arr);
    else if (table_rows(t)) table_print(t, stdout, ctx->color);
    else if (!bad) printf("no plans in %s\n", dir);
    table_free(t);
    sv_free(&names);
    return bad ? 1 : 0;
}

static const struct hm_cmd plan_check = {
    .name = "check",
    .summary = "validate plan files; errors name file and line",
    .usage = "FILE...",
    .opts = no_opts,
    .run = run_check,
    .complete_args = "file",
};

static const struct hm_cmd plan_list = {
    .name = "list",
    .summary = "list the plans of the plan directory",
    .usage = "[--plan-dir DIR] [--json]",
    .opts = list_opts,
    .run = run_list,
};

static const struct hm_cmd *const subs[] = {&plan_check, &plan_list, NULL};

const struct hm_cmd cmd_plan = {
    .name = "plan",
    .summary = "check or list the plan files of drills and takeovers",
    .usage = "check|list",
    .opts = no_opts,
    .subs = subs,
};
