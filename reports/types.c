/* The report types and their columns (DESIGN.md section 5; names from the seed's 报告管理),
 * the option values, and the formatting the writers share. */
#include "reports/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/tz.h"

#define COLS(a) a, HM_ARRAY_LEN(a)

static const struct report_col host_summary_cols[] = {
    {"host", "Host", "主机名称", RC_TEXT, 24},
    {"host_id", "Host ID", "主机ID", RC_TEXT, 38},
    {"os", "OS", "操作系统", RC_TEXT, 10},
    {"source_type", "Source type", "源端类型", RC_TEXT, 14},
    {"ip_address", "IP address", "IP地址", RC_TEXT, 16},
    {"registration", "Registration", "注册状态", RC_TEXT, 14},
    {"host_status", "Host status", "主机状态", RC_TEXT, 22},
    {"health", "Health", "健康状态", RC_TEXT, 13},
    {"gateway", "Gateway", "云同步网关", RC_TEXT, 26},
    {"registered_at", "Registered at", "注册时间", RC_TIME, 28},
    {"syncs", "Syncs", "同步次数", RC_INT, 9},
    {"syncs_failed", "Syncs failed", "同步失败次数", RC_INT, 13},
    {"drills", "Drills", "演练次数", RC_INT, 9},
    {"drills_failed", "Drills failed", "演练失败次数", RC_INT, 13},
    {"takeovers", "Takeovers", "接管次数", RC_INT, 10},
    {"takeovers_failed", "Takeovers failed", "接管失败次数", RC_INT, 16},
    {"last_sync_at", "Last sync", "最近同步时间", RC_TIME, 28},
    {"last_sync_result", "Last sync result", "最近同步结果", RC_TEXT, 16},
    {"last_snapshot_at", "Last snapshot", "最近快照时间", RC_TIME, 28},
    {"snapshot_age", "Snapshot age (RPO)", "快照时长 (RPO)", RC_DURATION, 18},
};

static const struct report_col sync_detail_cols[] = {
    {"host", "Host", "主机名称", RC_TEXT, 24},
    {"host_id", "Host ID", "主机ID", RC_TEXT, 38},
    {"job_id", "Job ID", "任务ID", RC_TEXT, 38},
    {"start_at", "Start", "开始时间", RC_TIME, 28},
    {"end_at", "End", "结束时间", RC_TIME, 28},
    {"duration", "Duration", "耗时", RC_DURATION, 12},
    {"mode", "Mode", "同步模式", RC_TEXT, 12},
    {"result", "Result", "结果", RC_TEXT, 9},
    {"detail", "Detail", "详情", RC_TEXT, 44},
};

/* drill-detail and takeover-detail */
static const struct report_col boot_detail_cols[] = {
    {"host", "Host", "主机名称", RC_TEXT, 24},
    {"host_id", "Host ID", "主机ID", RC_TEXT, 38},
    {"job_id", "Job ID", "任务ID", RC_TEXT, 38},
    {"job_type", "Job type", "任务类型", RC_TEXT, 11},
    {"snapshot_at", "Snapshot time", "快照时间", RC_TIME, 28},
    {"start_at", "Start", "开始时间", RC_TIME, 28},
    {"end_at", "End", "结束时间", RC_TIME, 28},
    {"rto", "Duration (RTO)", "耗时 (RTO)", RC_DURATION, 15},
    {"rpo", "RPO", "RPO", RC_DURATION, 12},
    {"result", "Result", "结果", RC_TEXT, 9},
    {"detail", "Detail", "详情", RC_TEXT, 44},
};

static const struct report_col daily_summary_cols[] = {
    {"date", "Date", "日期", RC_DATE, 12},
    {"hosts_protected", "Hosts protected", "受保护主机数", RC_INT, 16},
    {"syncs_ok", "Syncs ok", "同步成功", RC_INT, 10},
    {"syncs_failed", "Syncs failed", "同步失败", RC_INT, 13},
    {"drills_ok", "Drills ok", "演练成功", RC_INT, 10},
    {"drills_failed", "Drills failed", "演练失败", RC_INT, 13},
    {"takeovers_ok", "Takeovers ok", "接管成功", RC_INT, 13},
    {"takeovers_failed", "Takeovers failed", "接管失败", RC_INT, 16},
    {"success_rate", "Success rate", "成功率", RC_PERCENT, 13},
};

static const struct report_col gateway_summary_cols[] = {
    {"gateway", "Gateway", "网关名称", RC_TEXT, 26},
    {"gateway_id", "Gateway ID", "网关ID", RC_TEXT, 38},
    {"cloud_type", "Cloud type", "云类型", RC_TEXT, 14},
    {"region", "Region", "区域", RC_TEXT, 12},
    {"status", "Status", "状态", RC_TEXT, 13},
    {"online", "Online", "在线", RC_TEXT, 8},
    {"capacity_total_gib", "Capacity total (GiB)", "总容量 (GiB)", RC_NUM, 20},
    {"capacity_used_gib", "Capacity used (GiB)", "已用容量 (GiB)", RC_NUM, 20},
    {"used_percent", "Used", "使用率", RC_PERCENT, 9},
    {"pools", "Pools", "存储池数", RC_INT, 9},
    {"volumes", "Volumes", "卷数", RC_INT, 9},
};

static const struct report_col gateway_detail_cols[] = {
    {"gateway", "Gateway", "网关名称", RC_TEXT, 26},
    {"gateway_id", "Gateway ID", "网关ID", RC_TEXT, 38},
    {"volume", "Volume", "卷名称", RC_TEXT, 50},
    {"volume_id", "Volume ID", "卷ID", RC_TEXT, 38},
    {"host", "Host", "主机名称", RC_TEXT, 24},
    {"capacity_gib", "Capacity (GiB)", "容量 (GiB)", RC_NUM, 15},
    {"status", "Status", "状态", RC_TEXT, 11},
    {"attach_status", "Attach status", "挂载状态", RC_TEXT, 14},
    {"pool", "Pool", "存储池", RC_TEXT, 12},
    {"pool_id", "Pool ID", "存储池ID", RC_TEXT, 38},
};

static const struct report_type_info types[REPORT_TYPE_N] = {
    [REPORT_HOST_SUMMARY] = {"host-summary", "主机容灾汇总报告", "Host DR summary report",
                             "host (registered and unregistered)", true,
                             COLS(host_summary_cols)},
    [REPORT_SYNC_DETAIL] = {"sync-detail", "主机同步数据详细报告", "Host sync detail report",
                            "sync job", true, COLS(sync_detail_cols)},
    [REPORT_DRILL_DETAIL] = {"drill-detail", "主机容灾演练详细报告", "Host DR drill detail report",
                             "drill job", true, COLS(boot_detail_cols)},
    [REPORT_TAKEOVER_DETAIL] = {"takeover-detail", "主机容灾接管详细报告",
                                "Host DR takeover detail report", "takeover job", true,
                                COLS(boot_detail_cols)},
    [REPORT_DAILY_SUMMARY] = {"daily-summary", "主机容灾周期汇总报告(天)",
                              "Host DR periodic summary report (daily)", "day in the range", true,
                              COLS(daily_summary_cols)},
    [REPORT_GATEWAY_SUMMARY] = {"gateway-summary", "容灾云同步网关汇总报告",
                                "Cloud sync gateway summary report", "gateway", false,
                                COLS(gateway_summary_cols)},
    [REPORT_GATEWAY_DETAIL] = {"gateway-detail", "容灾云同步网关详细报告",
                               "Cloud sync gateway detail report", "gateway volume (disk)", false,
                               COLS(gateway_detail_cols)},
};

const struct report_type_info *report_type_get(enum report_type t)
{
    return (unsigned)t < REPORT_TYPE_N ? &types[t] : NULL;
}

int report_type_parse(const char *s)
{
    for (int t = 0; s && t < REPORT_TYPE_N; t++)
        if (strcmp(s, types[t].name) == 0) return t;
    return -1;
}

static const char *const format_names[REPORT_FORMAT_N] = {"csv", "xlsx", "json", "html"};

const char *report_format_name(enum report_format f)
{
    return (unsigned)f < REPORT_FORMAT_N ? format_names[f] : "?";
}

int report_format_parse(const char *s)
{
    for (int f = 0; s && f < REPORT_FORMAT_N; f++)
        if (strcmp(s, format_names[f]) == 0) return f;
    return -1;
}

int report_format_of_path(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/')) return -1;
    dot++;
    if (strcasecmp(dot, "htm") == 0) return REPORT_HTML;
    for (int f = 0; f < REPORT_FORMAT_N; f++)
        if (strcasecmp(dot, format_names[f]) == 0) return f;
    return -1;
}

int report_lang_parse(const char *s)
{
    if (!s) return -1;
    if (strcasecmp(s, "en") == 0 || strcasecmp(s, "english") == 0 || hm_starts_with(s, "en_"))
        return REPORT_EN;
    if (strcasecmp(s, "zh") == 0 || strcasecmp(s, "chinese") == 0 || hm_starts_with(s, "zh_"))
        return REPORT_ZH;
    return -1;
}

enum report_lang report_lang_from_env(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < HM_ARRAY_LEN(vars); i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        return hm_starts_with(v, "zh_CN") || hm_starts_with(v, "zh_SG") || strcmp(v, "zh") == 0
                   ? REPORT_ZH : REPORT_EN;
    }
    return REPORT_EN;
}

void report_csv_field(strbuf *sb, const char *s)
{
    if (!s) return;
    size_t n = strlen(s);
    bool quote = n && (s[0] == ' ' || s[n - 1] == ' ');
    for (const char *p = s; !quote && *p; p++)
        quote = *p == ',' || *p == '"' || *p == '\r' || *p == '\n';
    if (!quote) {
        sb_add(sb, s, n);
        return;
    }
    sb_addc(sb, '"');
    for (const char *p = s; *p; p++) {
        const char *q = strchr(p, '"');
        if (!q) {
            sb_adds(sb, p);
            break;
        }
        sb_add(sb, p, (size_t)(q - p) + 1);
        sb_addc(sb, '"');
        p = q;
    }
    sb_addc(sb, '"');
}

void report_format_duration(int64_t s, char *buf, size_t size)
{
    if (s < 0) s = 0;
    int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    if (d) snprintf(buf, size, "%lldd %lldh %lldm", (long long)d, (long long)h, (long long)m);
    else if (h) snprintf(buf, size, "%lldh %lldm %llds", (long long)h, (long long)m, (long long)sec);
    else if (m) snprintf(buf, size, "%lldm %llds", (long long)m, (long long)sec);
    else snprintf(buf, size, "%llds", (long long)sec);
}

void report_format_date(int64_t day, char *buf, size_t size)
{
    int y, m, d;
    tz_civil_from_days(day, &y, &m, &d);
    snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
}

void report_format_number(double d, char *buf, size_t size)
{
    if (d == (double)(long long)d && d > -1e15 && d < 1e15) {
        snprintf(buf, size, "%lld", (long long)d);
        return;
    }
    snprintf(buf, size, "%.6f", d);
    char *dot = strchr(buf, '.');
    if (!dot) return;
    char *end = buf + strlen(buf);
    while (end > dot + 1 && end[-1] == '0') *--end = '\0';
    if (end == dot + 1) *dot = '\0';
}

const char *report_val_text(enum report_ctype t, const report_val *v, char *buf, size_t size)
{
    if (v->null) return NULL;
    switch (t) {
    case RC_TEXT: return v->s;
    case RC_INT:
    case RC_DURATION: snprintf(buf, size, "%lld", (long long)v->i); break;
    case RC_NUM: report_format_number(v->d, buf, size); break;
    case RC_PERCENT: snprintf(buf, size, "%.1f", v->d); break;
    case RC_TIME: tz_format_time(v->i, 'T', buf, size); break;
    case RC_DATE: report_format_date(v->i, buf, size); break;
    }
    return buf;
}

const char *report_col_title(const struct report_col *c, enum report_lang lang)
{
    return lang == REPORT_ZH ? c->zh : c->en;
}

static void param(report_param *p, const char *key, const char *en, const char *zh,
                  const char *value)
{
    p->key = key;
    p->en = en;
    p->zh = zh;
    p->value = NULL;
    if (value) {
        snprintf(p->buf, sizeof p->buf, "%s", value);
        p->value = p->buf;
    }
}

static void param_time(report_param *p, const char *key, const char *en, const char *zh,
                       int64_t ms, bool show)
{
    param(p, key, en, zh, NULL);
    if (show) {
        tz_format_time(ms, 'T', p->buf, sizeof p->buf);
        p->value = p->buf;
    }
}

size_t report_meta_params(const report_meta *m, report_param *out)
{
    bool zh = m->lang == REPORT_ZH;
    size_t n = 0;
    param(&out[n++], "type", "Report type", "报告类型", m->info->name);
    param(&out[n++], "name", "Report", "报告名称", zh ? m->info->zh : m->info->en);
    param(&out[n++], "console", "Console (tenant)", "控制台(租户)", m->console);
    param(&out[n++], "url", "Console API", "控制台 API", m->url);
    param_time(&out[n++], "from", "From", "开始时间", m->from_ms, m->info->ranged);
    param_time(&out[n++], "to", "To (exclusive)", "结束时间(不含)", m->to_ms, m->info->ranged);
    param(&out[n++], "time_zone", "Time zone", "时区", m->zone);
    param_time(&out[n++], "generated_at", "Generated at", "生成时间", m->generated_ms, true);
    param(&out[n++], "hosts", "Hosts", "主机筛选", m->hosts);
    param(&out[n++], "hmctl_version", "hmctl version", "hmctl 版本", HMCTL_VERSION);
    return n;
}

report_writer *report_writer_open(enum report_format f, const char *path, const report_meta *m,
                                  hm_err *e)
{
    switch (f) {
    case REPORT_CSV: return report_csv_open(path, m, e);
    case REPORT_XLSX: return report_xlsx_open(path, m, e);
    case REPORT_JSON: return report_json_open(path, m, e);
    case REPORT_HTML: return report_html_open(path, m, e);
    default: hm_err_set(e, "unknown report format %d", (int)f); return NULL;
    }
}

int report_writer_row(report_writer *w, const report_val *vals, hm_err *e)
{
    w->rows++;
    return w->ops->row(w, vals, e);
}

int report_writer_finish(report_writer *w, const report_fig *figs, size_t nfigs, hm_err *e)
{
    return w->ops->finish(w, figs, nfigs, e);
}

void report_writer_free(report_writer *w)
{
    if (w) w->ops->free(w);
}
