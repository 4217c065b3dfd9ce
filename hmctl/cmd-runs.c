/* hmctl runs [list] | runs show RUN: the drills and takeovers recorded in the store. */
#include <stdlib.h>
#include <string.h>

#include "drill/engine.h"
#include "drill/journal.h"
#include "drill/report.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"

static const struct hm_opt list_opts[] = {
    {"json", 'j', NULL, "print JSON", NULL},
    {0},
};

static const struct hm_opt show_opts[] = {
    {"json", 'j', NULL, "print the run's report as JSON", NULL},
    {"journal", 'J', NULL, "print every journal entry of the run", NULL},
    {0},
};

static hm_store *open_store(hm_ctx *ctx)
{
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return NULL;
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (store_open_config(cfg, 0, &st, &e) < 0 || drill_store_init(st, &e) < 0) {
        hm_error("%s", e.msg);
        store_close(st);
        return NULL;
    }
    return st;
}

static void fmt_secs(const json_t *v, char *buf, size_t n)
{
    if (json_is_number(v)) hm_format_duration((int64_t)(json_number_value(v) * 1000.0), buf, n);
    else snprintf(buf, n, "-");
}

static int run_list(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        if (c == 'j') json = true;
        else return op.status;
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_store *st = open_store(ctx);
    if (!st) return 1;
    drill_run_info *runs = NULL;
    size_t n = 0;
    hm_err e = {{0}};
    if (drill_run_list(st, &runs, &n, &e) < 0) {
        store_close(st);
        return hm_error("%s", e.msg);
    }
    static const char *const hdr[] = {"RUN", "PLAN", "MODE", "STATE", "OPERATOR", "STARTED",
                                      ">DURATION", "RTO"};
    hm_table *t = table_new(8, hdr);
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        drill_run_info *r = &runs[i];
        char *state = drill_run_display_state(st, r->id, r->state);
        json_t *rep = drill_report_load(st, r->id, NULL, &e);
        const json_t *rto = json_object_get(rep, "rto");
        if (arr) {
            json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "run", (json_int_t)r->id, "plan",
                                  r->plan, "mode", r->mode, "state", state, "operator",
                                  r->operator_name);
            json_object_set(o, "started_at", json_object_get(rep, "started_at"));
            json_object_set(o, "ended_at", json_object_get(rep, "ended_at"));
            json_object_set(o, "duration_s", json_object_get(rep, "duration_s"));
            json_object_set(o, "rto", rto ? (json_t *)rto : json_null());
            json_array_append_new(arr, o);
        } else {
            char id[24], started[40], dur[32], a[32], tg[32], rtos[80];
            snprintf(id, sizeof id, "%lld", (long long)r->id);
            hm_format_time(r->started_ms, started, sizeof started);
            fmt_secs(json_object_get(rep, "duration_s"), dur, sizeof dur);
            fmt_secs(json_object_get(rto, "actual_s"), a, sizeof a);
            fmt_secs(json_object_get(rto, "target_s"), tg, sizeof tg);
            snprintf(rtos, sizeof rtos, "%s / %s%s", a, tg,
                     json_is_false(json_object_get(rto, "met")) ? " MISSED" : "");
            const char *row[] = {id, r->plan, r->mode, state, r->operator_name, started, dur, rtos};
            table_add(t, row);
        }
        json_decref(rep);
        free(state);
        drill_run_info_clear(r);
    }
    free(runs);
    if (arr) hm_json_print(stdout, arr);
    else if (n) table_print(t, stdout, ctx->color);
    else printf("no drills or takeovers recorded yet\n");
    table_free(t);
    store_close(st);
    return 0;
}

static void print_journal(hm_store *st, int64_t id)
{
    drill_entry *en = NULL;
    size_t n = 0;
    hm_err e = {{0}};
    if (drill_journal_read(st, id, &en, &n, &e) < 0) {
        hm_error("%s", e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char t[40];
        hm_format_time(en[i].ts_ms, t, sizeof t);
        char *d = en[i].data ? json_dumps(en[i].data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        printf("%4lld %s %-18s %s", (long long)en[i].seq, t, en[i].event,
               en[i].step ? en[i].step : "-");
        if (en[i].attempt) printf(" #%d", en[i].attempt);
        if (en[i].host) printf(" %s", en[i].host);
        putchar('\n');
        if (d) printf("     %s\n", d);
        free(d);
    }
    drill_entries_free(en, n);
}

static int run_show(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false, journal = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        if (c == 'j') json = true;
        else if (c == 'J') journal = true;
        else return op.status;
    }
    if (op.argc != 1) return hm_usage_error(ctx, "which run? (hmctl runs)");
    char *end;
    long long id = strtoll(op.argv[0], &end, 10);
    if (end == op.argv[0] || *end || id <= 0)
        return hm_usage_error(ctx, "invalid run '%s' (a run number, see hmctl runs)", op.argv[0]);
    hm_store *st = open_store(ctx);
    if (!st) return 1;
    hm_err e = {{0}};
    drill_run_info run = {0};
    json_t *rep = drill_report_load(st, id, &run, &e);
    if (!rep) {
        store_close(st);
        return hm_error("%s", e.msg);
    }
    char *state = drill_run_display_state(st, id, run.state);
    json_object_set_new(rep, "state", json_string(state));
    if (journal) {
        print_journal(st, id);
    } else if (json) {
        hm_json_print(stdout, json_incref(rep));
    } else {
        char a[32], tg[32], dur[32];
        printf("run %lld: %s of plan %s (%s)\n", id, run.mode, run.plan, run.plan_file);
        printf("state:     %s\n", state);
        printf("operator:  %s\n", run.operator_name);
        printf("started:   %s\n", json_string_value(json_object_get(rep, "started_at")));
        const json_t *end_at = json_object_get(rep, "ended_at");
        fmt_secs(json_object_get(rep, "duration_s"), dur, sizeof dur);
        printf("ended:     %s (%s)\n", json_is_string(end_at) ? json_string_value(end_at) : "-", dur);
        const json_t *rto = json_object_get(rep, "rto");
        fmt_secs(json_object_get(rto, "actual_s"), a, sizeof a);
        fmt_secs(json_object_get(rto, "target_s"), tg, sizeof tg);
        printf("RTO:       %s of target %s%s (until step %s)\n", a, tg,
               json_is_true(json_object_get(rto, "met")) ? ", met"
               : json_is_false(json_object_get(rto, "met")) ? ", MISSED" : "",
               json_is_string(json_object_get(rto, "until_step"))
                   ? json_string_value(json_object_get(rto, "until_step")) : "-");
        printf("cleanup:   %s\n",
               json_string_value(json_object_get(json_object_get(rep, "cleanup"), "result")));
        if (json_integer_value(json_object_get(rep, "resumes")))
            printf("resumed:   %lld time(s)\n", (long long)json_integer_value(json_object_get(rep, "resumes")));
        putchar('\n');
        static const char *const hh[] = {"HOST", "CONSOLE HOST", "RECOVERY POINT", ">RPO", "MET", "BOOTED"};
        hm_table *t = table_new(6, hh);
        size_t i;
        json_t *h;
        json_t *rpo = json_object_get(rep, "rpo");
        json_array_foreach(json_object_get(rpo, "hosts"), i, h) {
            char r[32];
            fmt_secs(json_object_get(h, "achieved_s"), r, sizeof r);
            const json_t *m = json_object_get(h, "met");
            const char *row[] = {json_string_value(json_object_get(h, "host")),
                                 json_string_value(json_object_get(h, "console_host")),
                                 json_string_value(json_object_get(h, "recovery_point")), r,
                                 json_is_true(m) ? "yes" : json_is_false(m) ? "NO" : "-",
                                 json_is_true(json_object_get(h, "booted")) ? "yes" : "no"};
            table_add(t, row);
        }
        table_print(t, stdout, false);
        table_free(t);
        putchar('\n');
        static const char *const sh[] = {"STAGE", "STEP", "TYPE", "RESULT", ">ATTEMPTS", ">DURATION", "NOTE"};
        t = table_new(7, sh);
        json_t *s;
        json_array_foreach(json_object_get(rep, "steps"), i, s) {
            char n[16], d[32];
            snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(s, "attempts")));
            fmt_secs(json_object_get(s, "duration_s"), d, sizeof d);
            const char *note = json_string_value(json_object_get(s, "error"));
            if (!note) note = json_string_value(json_object_get(s, "reason"));
            const char *row[] = {json_string_value(json_object_get(s, "stage")),
                                 json_string_value(json_object_get(s, "name")),
                                 json_string_value(json_object_get(s, "type")),
                                 json_string_value(json_object_get(s, "result")), n, d, note};
            table_add(t, row);
        }
        table_print(t, stdout, false);
        table_free(t);
        json_t *answers = json_object_get(rep, "answers");
        if (json_array_size(answers)) {
            printf("\nanswers:\n");
            json_array_foreach(answers, i, s) {
                const char *who = json_string_value(json_object_get(s, "who"));
                const char *comment = json_string_value(json_object_get(s, "comment"));
                const char *step = json_string_value(json_object_get(s, "step"));
                printf("  %s %s: %s -> %s", json_string_value(json_object_get(s, "at")),
                       step ? step : "run", json_string_value(json_object_get(s, "question")),
                       json_string_value(json_object_get(s, "answer")));
                if (who) printf(" (%s%s%s)", who, comment && *comment ? ": " : "",
                                comment ? comment : "");
                putchar('\n');
            }
        }
        char *dir = drill_report_dir(store_path(st));
        printf("\nreport: %s/run-%lld.json and .html\n", dir, id);
        free(dir);
    }
    free(state);
    json_decref(rep);
    drill_run_info_clear(&run);
    store_close(st);
    return 0;
}

static int run_runs(hm_ctx *ctx, int argc, char **argv);

static const struct hm_cmd runs_list = {
    .name = "list",
    .summary = "list the runs, newest first (the default)",
    .usage = "[--json]",
    .opts = list_opts,
    .run = run_list,
};

static const struct hm_cmd runs_show = {
    .name = "show",
    .summary = "show one run: RTO, RPO per host, steps, answers",
    .usage = "[--json] [--journal] RUN",
    .opts = show_opts,
    .run = run_show,
    .complete_args = "runs",
};

static const struct hm_cmd *const subs[] = {&runs_list, &runs_show, NULL};

const struct hm_cmd cmd_runs = {
    .name = "runs",
    .summary = "list the drills and takeovers, or show one run",
    .usage = "[list] [--json] | show [--json] [--journal] RUN",
    .description = "Without a subcommand, lists the runs like 'runs list'. A run still marked running\n"
                   "whose process is gone is shown as interrupted: 'hmctl resume RUN' continues it.",
    .opts = list_opts,
    .run = run_runs,
    .subs = subs,
};

static int run_runs(hm_ctx *ctx, int argc, char **argv)
{
    if (argc > 1 && argv[1][0] != '-') return hm_run_subcommand(ctx, &cmd_runs, argc - 1, argv + 1);
    return run_list(ctx, argc, argv);
}
