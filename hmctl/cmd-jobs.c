/* hmctl jobs: the console's task history, with job types mapped to hmctl's kinds. */
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"

enum { OPT_KIND = 256, OPT_HOST, OPT_SINCE, OPT_STATUS, OPT_CONSOLE };

static const struct hm_opt opts[] = {
    {"kind", OPT_KIND, "register|sync|drill|takeover|clean|unregister|other",
     "only jobs of this kind ([console] jobs_KIND maps the console's job_type names)", NULL},
    {"host", OPT_HOST, "HOST", "only jobs of this host (name or id)", NULL},
    {"since", OPT_SINCE, "DURATION", "only jobs started within DURATION (e.g. 24h, 7d; default 7d)",
     NULL},
    {"status", OPT_STATUS, "doing|done|failed", "only jobs in this job_status", NULL},
    {"json", 'j', NULL, "print a JSON array of jobs (console-api.md fields plus kind)", NULL},
    {"console", OPT_CONSOLE, "NAME", "the [console \"NAME\"] to ask (default: [console])", NULL},
    {0},
};

static bool is_uuid_like(const char *s)
{
    return strlen(s) == 36 && s[8] == '-' && s[13] == '-';
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    const char *kind = NULL, *host = NULL, *since = "7d", *status = NULL, *cname = NULL;
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case OPT_KIND: kind = op.arg; break;
        case OPT_HOST: host = op.arg; break;
        case OPT_SINCE: since = op.arg; break;
        case OPT_STATUS: status = op.arg; break;
        case OPT_CONSOLE: cname = op.arg; break;
        case 'j': json = true; break;
        default: return op.status;
        }
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    int want_kind = -1;
    if (kind && (want_kind = console_kind_parse(kind)) < 0)
        return hm_usage_error(ctx, "unknown kind '%s'", kind);
    int64_t since_ms;
    if (hm_parse_duration(since, &since_ms) < 0)
        return hm_usage_error(ctx, "invalid duration '%s' for --since (e.g. 24h, 7d)", since);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    console *con = console_open_cli(cfg, cname);
    if (!con) return 1;
    int64_t now = hm_now_ms();
    console_job_query q = {
        .status = status && strcmp(status, "doing") == 0 ? "working" : "all",
        .owner = host && !is_uuid_like(host) ? host : NULL,
        .host_id = host && is_uuid_like(host) ? host : NULL,
        .since_ms = now - since_ms,
    };
    console_jobs js = {0};
    hm_err e = {{0}};
    if (console_list_jobs(con, &q, &js, &e) < 0) {
        console_jobs_free(&js);
        console_close(con);
        return hm_error("cannot list jobs: %s", e.msg);
    }
    json_t *arr = json ? json_array() : NULL;
    static const char *const head[] = {"START", "KIND", "TYPE", "STATUS", "HOST", ">DURATION",
                                       "DETAIL"};
    hm_table *t = json ? NULL : table_new(7, head);
    for (size_t i = 0; i < js.n; i++) {
        const console_job *j = &js.v[i];
        if (want_kind >= 0 && (int)j->kind != want_kind) continue;
        if (status && (!j->job_status || strcmp(j->job_status, status) != 0)) continue;
        if (json) {
            json_array_append_new(arr, console_job_json(j));
            continue;
        }
        char start[32] = "", dur[32] = "";
        if (j->start_ms) {
            hm_format_time(j->start_ms, start, sizeof start);
            start[16] = '\0';
            start[10] = ' ';
        }
        int64_t end = j->end_ms ? j->end_ms : (j->job_status && !strcmp(j->job_status, "doing")) ? now : 0;
        if (j->start_ms && end >= j->start_ms) hm_format_duration(end - j->start_ms, dur, sizeof dur);
        const char *row[] = {start[0] ? start : NULL, console_kind_name(j->kind), j->job_type,
                             j->job_status, j->host, dur[0] ? dur : NULL, j->detail};
        table_add(t, row);
        if (j->job_status && strcmp(j->job_status, "failed") == 0) table_color_last(t, 3, HM_CRITICAL);
    }
    if (json) hm_json_print(stdout, arr);
    else {
        table_print(t, stdout, ctx->color);
        table_free(t);
    }
    console_jobs_free(&js);
    console_close(con);
    return 0;
}

const struct hm_cmd cmd_jobs = {
    .name = "jobs",
    .summary = "list the console's jobs (syncs, drills, takeovers, ...), newest first",
    .usage = "[--kind K] [--host H] [--since D] [--status S] [--json] [--console NAME]",
    .description = "Asks the console (GET /jobs, paged until the jobs are older than --since) and\n"
                   "prints one line per job: start, kind, the console's job_type, status, host,\n"
                   "duration and the console's detail (the error message of a failed job).",
    .opts = opts,
    .run = run,
};
