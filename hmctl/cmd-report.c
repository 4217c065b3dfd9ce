/* hmctl report TYPE | types: the seven report types as CSV, XLSX, JSON or HTML. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/console.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"
#include "lib/tz.h"
#include "reports/report.h"

enum { OPT_FORMAT = 256, OPT_FROM, OPT_TO, OPT_TZ, OPT_CONSOLE, OPT_TENANT, OPT_HOSTS, OPT_LANG,
       OPT_BOM };

static const struct hm_opt type_opts[] = {
    {"format", OPT_FORMAT, "csv|xlsx|json|html",
     "output format (default: from the -o file's extension, else csv)", NULL},
    {"output", 'o', "FILE",
     "write FILE, replaced only when the report is complete (default: standard output)", "file"},
    {"from", OPT_FROM, "TIME", "start of the range: 2026-11-01, 2026-11-01T08:00, -30d, today, "
                              "... (default -30d)", NULL},
    {"to", OPT_TO, "TIME", "end of the range, exclusive; a date includes that whole day "
                          "(default now)", NULL},
    {"tz", OPT_TZ, "ZONE", "time zone of the range, the days and every time shown, e.g. "
                          "Asia/Shanghai (default: the system zone)", NULL},
    {"console", OPT_CONSOLE, "NAME", "the [console \"NAME\"] (tenant) to report on "
                                    "(default: [console])", NULL},
    {"tenant", OPT_TENANT, "NAME", "the same as --console", NULL},
    {"hosts", OPT_HOSTS, "LIST", "only these hosts: names or ids, comma separated", NULL},
    {"lang", OPT_LANG, "en|zh", "language of the headers (default: Chinese under a zh_CN locale, "
                               "else English)", NULL},
    {"bom", OPT_BOM, NULL, "CSV: begin with a UTF-8 byte order mark, for Excel", NULL},
    {0},
};

static int run_type(hm_ctx *ctx, int argc, char **argv)
{
    int type = report_type_parse(ctx->cmd->name);
    const char *format = NULL, *output = NULL, *from = "-30d", *to = "now", *zone = NULL;
    const char *cname = NULL, *hosts = NULL, *lang = NULL;
    bool bom = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case OPT_FORMAT: format = op.arg; break;
        case 'o': output = op.arg; break;
        case OPT_FROM: from = op.arg; break;
        case OPT_TO: to = op.arg; break;
        case OPT_TZ: zone = op.arg; break;
        case OPT_CONSOLE:
        case OPT_TENANT: cname = op.arg; break;
        case OPT_HOSTS: hosts = op.arg; break;
        case OPT_LANG: lang = op.arg; break;
        case OPT_BOM: bom = true; break;
        default: return op.status;
        }
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    if (type < 0) return hm_usage_error(ctx, "unknown report type '%s'", ctx->cmd->name);
    int fmt = format ? report_format_parse(format) : report_format_of_path(output);
    if (format && fmt < 0)
        return hm_usage_error(ctx, "unknown format '%s': expected csv, xlsx, json or html", format);
    if (fmt < 0) fmt = REPORT_CSV;
    int lg = lang ? report_lang_parse(lang) : (int)report_lang_from_env();
    if (lg < 0) return hm_usage_error(ctx, "unknown language '%s': expected en or zh", lang);
    bool to_stdout = !output || strcmp(output, "-") == 0;
    if (fmt == REPORT_XLSX && to_stdout && isatty(STDOUT_FILENO))
        return hm_usage_error(ctx, "XLSX is binary: give -o FILE or redirect standard output");

    report_params p = {
        .type = type,
        .format = fmt,
        .lang = lg,
        .console_name = cname,
        .now_ms = hm_now_ms(),
        .hosts_arg = hosts,
        .bom = bom,
        .output = output,
    };
    if (hosts) sv_split_list(&p.hosts, hosts);
    hm_tz tz;
    hm_err e = {{0}};
    if (tz_open(zone, &tz, &e) < 0) {
        sv_free(&p.hosts);
        return hm_usage_error(ctx, "%s", e.msg);
    }
    p.zone = tz.name;
    int rc = 0;
    if (report_parse_time(from, false, p.now_ms, &p.from_ms, &e) < 0 ||
        report_parse_time(to, true, p.now_ms, &p.to_ms, &e) < 0) {
        rc = hm_usage_error(ctx, "%s", e.msg);
    } else if (p.from_ms >= p.to_ms) {
        char a[40], b[40];
        tz_format_time(p.from_ms, 'T', a, sizeof a);
        tz_format_time(p.to_ms, 'T', b, sizeof b);
        rc = hm_usage_error(ctx, "empty range: --from %s (%s) is not before --to %s (%s)", from, a,
                            to, b);
    }
    hm_config *cfg = rc ? NULL : hm_ctx_config(ctx);
    console *con = cfg ? console_open_cli(cfg, cname) : NULL;
    if (!rc && !con) rc = 1;
    if (!rc && report_run(con, &p, &e) < 0) rc = hm_error("report %s: %s", ctx->cmd->name, e.msg);
    console_close(con);
    tz_close(&tz);
    sv_free(&p.hosts);
    return rc;
}

static const struct hm_opt types_opts[] = {
    {"json", 'j', NULL, "print a JSON array of {type, name_zh, name_en, row}", NULL},
    {0},
};

static int run_types(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        if (c == 'j') json = true;
        else return op.status;
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    json_t *arr = json ? json_array() : NULL;
    static const char *const head[] = {"TYPE", "中文名称", "NAME", "ONE ROW PER"};
    hm_table *t = json ? NULL : table_new(4, head);
    for (int i = 0; i < REPORT_TYPE_N; i++) {
        const struct report_type_info *ti = report_type_get(i);
        if (json) {
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "type", ti->name, "name_zh",
                                                 ti->zh, "name_en", ti->en, "row", ti->row_en));
        } else {
            const char *row[] = {ti->name, ti->zh, ti->en, ti->row_en};
            table_add(t, row);
        }
    }
    if (json) hm_json_print(stdout, arr);
    else {
        table_print(t, stdout, false);
        table_free(t);
    }
    return 0;
}

static const struct hm_cmd report_types = {
    .name = "types",
    .summary = "list the report types with their Chinese and English names",
    .usage = "[--json]",
    .opts = types_opts,
    .run = run_types,
};

#define REPORT_TYPE_CMD(var, type_name, what)                                                    \
    static const struct hm_cmd var = {                                                           \
        .name = type_name,                                                                       \
        .summary = what,                                                                         \
        .usage = "[--format csv|xlsx|json|html] [-o FILE] [--from T] [--to T] [--tz ZONE] "      \
                 "[--console NAME] [--hosts LIST] [--lang en|zh] [--bom]",                       \
        .description = "Writes the report atomically: a temporary file next to FILE, renamed\n" \
                       "onto it only when every row was read from the console.",                \
        .opts = type_opts,                                                                       \
        .run = run_type,                                                                         \
    }

REPORT_TYPE_CMD(report_host_summary, "host-summary",
                "主机容灾汇总报告: one row per host, registered or not");
REPORT_TYPE_CMD(report_sync_detail, "sync-detail", "主机同步数据详细报告: one row per sync job");
REPORT_TYPE_CMD(report_drill_detail, "drill-detail",
                "主机容灾演练详细报告: one row per drill, with RTO and RPO");
REPORT_TYPE_CMD(report_takeover_detail, "takeover-detail",
                "主机容灾接管详细报告: one row per takeover, with RTO and RPO");
REPORT_TYPE_CMD(report_daily_summary, "daily-summary",
                "主机容灾周期汇总报告(天): one row per day of the range");
REPORT_TYPE_CMD(report_gateway_summary, "gateway-summary",
                "容灾云同步网关汇总报告: one row per cloud sync gateway");
REPORT_TYPE_CMD(report_gateway_detail, "gateway-detail",
                "容灾云同步网关详细报告: one row per gateway volume (disk)");

static const struct hm_cmd *const subs[] = {
    &report_types,         &report_host_summary,    &report_sync_detail,
    &report_drill_detail,  &report_takeover_detail, &report_daily_summary,
    &report_gateway_summary, &report_gateway_detail, NULL,
};

static const struct hm_opt no_opts[] = {{0}};

/* `report TYPE`: names the types in the error for an unknown one. */
static int run(hm_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && argv[1][0] != '-' && strcmp(argv[1], "types") != 0 &&
        report_type_parse(argv[1]) < 0) {
        bool unique = false;
        size_t n = strlen(argv[1]), hits = 0;
        for (const struct hm_cmd *const *s = subs; *s; s++) hits += !strncmp((*s)->name, argv[1], n);
        unique = hits == 1;
        if (!unique) {
            strbuf names = {0};
            for (int i = 0; i < REPORT_TYPE_N; i++)
                sb_addf(&names, "%s%s", i ? ", " : "", report_type_get(i)->name);
            int rc = hm_usage_error(ctx, "%s report type '%s': expected %s (see 'hmctl report "
                                         "types')", hits ? "ambiguous" : "unknown", argv[1],
                                    sb_str(&names));
            sb_free(&names);
            return rc;
        }
    }
    return hm_run_subcommand(ctx, ctx->cmd, argc - 1, argv + 1);
}

const struct hm_cmd cmd_report = {
    .name = "report",
    .summary = "write one of the seven reports as CSV, XLSX, JSON or HTML",
    .usage = "TYPE [--format F] [-o FILE] [--from T] [--to T] [--tz ZONE] [--console NAME] | types",
    .description = "TYPE is host-summary, sync-detail, drill-detail, takeover-detail,\n"
                   "daily-summary, gateway-summary or gateway-detail; 'hmctl report types'\n"
                   "lists them with their Chinese and English names.",
    .opts = no_opts,
    .run = run,
    .subs = subs,
};
