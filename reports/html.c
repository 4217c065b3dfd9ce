/* HTML: one self-contained file (inline style, no scripts, no external references) that prints
 * well: the parameters, the summary figures and the table, whose header repeats on every
 * printed page. The table is written to a scratch file first because the summary above it is
 * known only after the last row. */
#include "reports/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tz.h"

typedef struct html_writer {
    report_writer base;
    FILE *body; /* the table rows, a scratch file */
    strbuf sb;
} html_writer;

static void esc(strbuf *sb, const char *s)
{
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *r = NULL;
        switch (*p) {
        case '&': r = "&amp;"; break;
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '"': r = "&quot;"; break;
        case '\'': r = "&#39;"; break;
        default: continue;
        }
        sb_add(sb, run, (size_t)(p - run));
        sb_adds(sb, r);
        run = p + 1;
    }
    sb_adds(sb, run);
}

/* The text of a value as people read it. */
static const char *human(enum report_ctype t, const report_val *v, char *buf, size_t size)
{
    if (v->null) return "-";
    switch (t) {
    case RC_TIME: tz_format_time(v->i, ' ', buf, size); return buf;
    case RC_DURATION: report_format_duration(v->i, buf, size); return buf;
    case RC_PERCENT: snprintf(buf, size, "%.1f%%", v->d); return buf;
    default: return report_val_text(t, v, buf, size);
    }
}

static bool numeric(enum report_ctype t)
{
    return t == RC_INT || t == RC_NUM || t == RC_DURATION || t == RC_PERCENT;
}

static void cell(strbuf *sb, enum report_ctype t, const report_val *v)
{
    char buf[64];
    const char *s = human(t, v, buf, sizeof buf);
    bool bad = t == RC_TEXT && !v->null && (!strcmp(s, "failed") || !strcmp(s, "disconnected"));
    sb_adds(sb, numeric(t) ? "<td class=\"n\">" : bad ? "<td class=\"bad\">" : "<td>");
    esc(sb, s);
    sb_adds(sb, "</td>");
}

static int html_row(report_writer *bw, const report_val *vals, hm_err *e)
{
    html_writer *w = (html_writer *)bw;
    const struct report_type_info *info = bw->meta->info;
    sb_adds(&w->sb, "<tr>");
    for (size_t i = 0; i < info->ncols; i++) cell(&w->sb, info->cols[i].type, &vals[i]);
    sb_adds(&w->sb, "</tr>\n");
    if (w->sb.len < 65536) return 0;
    if (fwrite(w->sb.buf, 1, w->sb.len, w->body) != w->sb.len)
        return hm_err_set(e, "cannot write a scratch file: %s", strerror(errno));
    sb_reset(&w->sb);
    return 0;
}

static const char style[] =
    "body{font-family:\"Noto Sans CJK SC\",\"Microsoft YaHei\",\"PingFang SC\",\"Segoe UI\","
    "Helvetica,Arial,sans-serif;margin:24px;color:#1d2327;font-size:13px}\n"
    "h1{font-size:20px;margin:0 0 12px}h2{font-size:15px;margin:20px 0 8px}\n"
    "table{border-collapse:collapse}\n"
    "table.params td,table.params th{padding:2px 12px 2px 0;text-align:left;border:0}\n"
    "table.params th{font-weight:600;color:#50575e}\n"
    ".figs{display:flex;flex-wrap:wrap;gap:8px}\n"
    ".fig{border:1px solid #c3c4c7;border-radius:4px;padding:6px 12px;min-width:90px}\n"
    ".fig b{display:block;font-size:17px}.fig span{color:#50575e;font-size:12px}\n"
    "table.data{width:100%;font-size:12px}\n"
    "table.data th,table.data td{border:1px solid #c3c4c7;padding:3px 6px;text-align:left;"
    "vertical-align:top}\n"
    "table.data th{background:#f0f0f1}\n"
    "table.data td.n{text-align:right;white-space:nowrap}\n"
    "table.data td.bad{color:#b32d2e;font-weight:600}\n"
    "table.data tbody tr:nth-child(even){background:#f6f7f7}\n"
    "thead{display:table-header-group}tr{page-break-inside:avoid;break-inside:avoid}\n"
    "p.empty{color:#50575e}p.foot{color:#787c82;font-size:11px;margin-top:16px}\n"
    "@page{size:A4 landscape;margin:12mm}\n"
    "@media print{body{margin:0;font-size:10px}table.data{font-size:9px}"
    "table.data th{background:#e0e0e0}.fig{break-inside:avoid}}\n";

static int html_finish(report_writer *bw, const report_fig *figs, size_t nfigs, hm_err *e)
{
    html_writer *w = (html_writer *)bw;
    const report_meta *m = bw->meta;
    bool zh = m->lang == REPORT_ZH;
    if (w->sb.len && fwrite(w->sb.buf, 1, w->sb.len, w->body) != w->sb.len)
        return hm_err_set(e, "cannot write a scratch file: %s", strerror(errno));
    sb_reset(&w->sb);
    FILE *f = fopen(bw->path, "wb");
    if (!f) return hm_err_set(e, "cannot write '%s': %s", bw->path, strerror(errno));
    strbuf *sb = &w->sb;
    const char *title = zh ? m->info->zh : m->info->en;
    sb_adds(sb, zh ? "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n" : "<!DOCTYPE html>\n<html lang=\"en\">\n");
    sb_adds(sb, "<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta name=\"generator\" content=\"hmctl " HMCTL_VERSION "\">\n<title>");
    esc(sb, title);
    sb_adds(sb, "</title>\n<style>\n");
    sb_adds(sb, style);
    sb_adds(sb, "</style>\n</head>\n<body>\n<h1>");
    esc(sb, title);
    sb_adds(sb, "</h1>\n<table class=\"params\">\n");
    report_param ps[REPORT_NPARAMS];
    size_t np = report_meta_params(m, ps);
    for (size_t i = 0; i < np; i++) {
        if (!ps[i].value) continue;
        char buf[64];
        const char *v = ps[i].value;
        /* times as people read them */
        if (!strcmp(ps[i].key, "from") || !strcmp(ps[i].key, "to") ||
            !strcmp(ps[i].key, "generated_at")) {
            int64_t ms = !strcmp(ps[i].key, "from") ? m->from_ms
                       : !strcmp(ps[i].key, "to") ? m->to_ms : m->generated_ms;
            tz_format_time(ms, ' ', buf, sizeof buf);
            v = buf;
        }
        sb_adds(sb, "<tr><th>");
        esc(sb, zh ? ps[i].zh : ps[i].en);
        sb_adds(sb, "</th><td>");
        esc(sb, v);
        sb_adds(sb, "</td></tr>\n");
    }
    sb_adds(sb, "</table>\n<h2>");
    sb_adds(sb, zh ? "汇总" : "Summary");
    sb_adds(sb, "</h2>\n<div class=\"figs\">\n");
    for (size_t i = 0; i < nfigs; i++) {
        char buf[64];
        sb_adds(sb, "<div class=\"fig\"><b>");
        esc(sb, human(figs[i].type, &figs[i].v, buf, sizeof buf));
        sb_adds(sb, "</b><span>");
        esc(sb, zh ? figs[i].zh : figs[i].en);
        sb_adds(sb, "</span></div>\n");
    }
    sb_adds(sb, "</div>\n<h2>");
    sb_adds(sb, zh ? "明细" : "Rows");
    sb_adds(sb, "</h2>\n<table class=\"data\">\n<thead><tr>");
    for (size_t i = 0; i < m->info->ncols; i++) {
        sb_adds(sb, "<th>");
        esc(sb, report_col_title(&m->info->cols[i], m->lang));
        sb_adds(sb, "</th>");
    }
    sb_adds(sb, "</tr></thead>\n<tbody>\n");
    int rc = 0;
    if (fwrite(sb->buf, 1, sb->len, f) != sb->len) rc = -1;
    sb_reset(sb);
    rewind(w->body);
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, w->body)) > 0)
        if (fwrite(buf, 1, n, f) != n) rc = -1;
    sb_adds(sb, "</tbody>\n</table>\n");
    if (!bw->rows) sb_adds(sb, zh ? "<p class=\"empty\">此范围内没有数据。</p>\n"
                                  : "<p class=\"empty\">No rows in this range.</p>\n");
    sb_adds(sb, "<p class=\"foot\">hmctl " HMCTL_VERSION "</p>\n</body>\n</html>\n");
    if (rc == 0 && fwrite(sb->buf, 1, sb->len, f) != sb->len) rc = -1;
    if (rc == 0 && (fflush(f) != 0 || ferror(f))) rc = -1;
    int err = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    if (rc < 0) return hm_err_set(e, "cannot write '%s': %s", bw->path, strerror(err));
    return 0;
}

static void html_free(report_writer *bw)
{
    html_writer *w = (html_writer *)bw;
    if (w->body) fclose(w->body);
    sb_free(&w->sb);
    free(w);
}

static const struct report_writer_ops html_ops = {html_row, html_finish, html_free};

report_writer *report_html_open(const char *path, const report_meta *m, hm_err *e)
{
    FILE *body = tmpfile();
    if (!body) {
        hm_err_set(e, "cannot create a scratch file: %s", strerror(errno));
        return NULL;
    }
    html_writer *w = xcalloc(1, sizeof *w);
    w->base = (report_writer){&html_ops, m, path, 0};
    w->body = body;
    return &w->base;
}
