/* JSON: {"report": {parameters}, "columns": [...], "rows": [{key: value, ...}, ...],
 * "summary": {...}}, written as a stream (one row per line), so a million rows never sit in
 * memory. Keys are the columns' stable keys; times carry their offset, durations are seconds. */
#include "reports/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct json_writer {
    report_writer base;
    FILE *f;
    strbuf sb;
} json_writer;

static void json_str(strbuf *sb, const char *s)
{
    if (!s) {
        sb_adds(sb, "null");
        return;
    }
    sb_addc(sb, '"');
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_add(sb, run, (size_t)(p - run));
        switch (c) {
        case '"': sb_adds(sb, "\\\""); break;
        case '\\': sb_adds(sb, "\\\\"); break;
        case '\n': sb_adds(sb, "\\n"); break;
        case '\r': sb_adds(sb, "\\r"); break;
        case '\t': sb_adds(sb, "\\t"); break;
        default: sb_addf(sb, "\\u%04x", c); break;
        }
        run = p + 1;
    }
    sb_adds(sb, run);
    sb_addc(sb, '"');
}

static void json_val(strbuf *sb, enum report_ctype t, const report_val *v)
{
    char buf[64];
    const char *s = report_val_text(t, v, buf, sizeof buf);
    if (!s) sb_adds(sb, "null");
    else if (t == RC_TEXT || t == RC_TIME || t == RC_DATE) json_str(sb, s);
    else sb_adds(sb, s);
}

static int put(json_writer *w, hm_err *e)
{
    if (fwrite(w->sb.buf, 1, w->sb.len, w->f) != w->sb.len)
        return hm_err_set(e, "cannot write '%s': %s", w->base.path, strerror(errno));
    sb_reset(&w->sb);
    return 0;
}

static int json_row(report_writer *bw, const report_val *vals, hm_err *e)
{
    json_writer *w = (json_writer *)bw;
    const struct report_type_info *info = bw->meta->info;
    sb_adds(&w->sb, bw->rows > 1 ? ",\n    {" : "\n    {");
    for (size_t i = 0; i < info->ncols; i++) {
        if (i) sb_addc(&w->sb, ',');
        json_str(&w->sb, info->cols[i].key);
        sb_addc(&w->sb, ':');
        json_val(&w->sb, info->cols[i].type, &vals[i]);
    }
    sb_addc(&w->sb, '}');
    return w->sb.len > 65536 ? put(w, e) : 0;
}

static int json_finish(report_writer *bw, const report_fig *figs, size_t nfigs, hm_err *e)
{
    json_writer *w = (json_writer *)bw;
    sb_adds(&w->sb, bw->rows ? "\n  ],\n  \"summary\": {" : "],\n  \"summary\": {");
    for (size_t i = 0; i < nfigs; i++) {
        sb_adds(&w->sb, i ? ",\n    " : "\n    ");
        json_str(&w->sb, figs[i].key);
        sb_adds(&w->sb, ": ");
        json_val(&w->sb, figs[i].type, &figs[i].v);
    }
    sb_adds(&w->sb, "\n  }\n}\n");
    int rc = put(w, e);
    FILE *f = w->f;
    w->f = NULL;
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = hm_err_set(e, "cannot write '%s': %s", bw->path, strerror(errno));
    if (fclose(f) != 0 && rc == 0)
        rc = hm_err_set(e, "cannot write '%s': %s", bw->path, strerror(errno));
    return rc;
}

static void json_free(report_writer *bw)
{
    json_writer *w = (json_writer *)bw;
    if (w->f) fclose(w->f);
    sb_free(&w->sb);
    free(w);
}

static const struct report_writer_ops json_ops = {json_row, json_finish, json_free};

static const char *const type_names[] = {"text", "integer", "number", "time", "date",
                                         "duration_seconds", "percent"};

report_writer *report_json_open(const char *path, const report_meta *m, hm_err *e)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        hm_err_set(e, "cannot write '%s': %s", path, strerror(errno));
        return NULL;
    }
    json_writer *w = xcalloc(1, sizeof *w);
    w->base = (report_writer){&json_ops, m, path, 0};
    w->f = f;
    strbuf *sb = &w->sb;
    report_param ps[REPORT_NPARAMS];
    size_t np = report_meta_params(m, ps);
    sb_adds(sb, "{\n  \"report\": {");
    for (size_t i = 0; i < np; i++) {
        sb_adds(sb, i ? ",\n    " : "\n    ");
        json_str(sb, ps[i].key);
        sb_adds(sb, ": ");
        json_str(sb, ps[i].value);
    }
    sb_adds(sb, ",\n    \"name_zh\": ");
    json_str(sb, m->info->zh);
    sb_adds(sb, ",\n    \"name_en\": ");
    json_str(sb, m->info->en);
    sb_adds(sb, ",\n    \"lang\": ");
    json_str(sb, m->lang == REPORT_ZH ? "zh" : "en");
    sb_adds(sb, "\n  },\n  \"columns\": [");
    for (size_t i = 0; i < m->info->ncols; i++) {
        const struct report_col *c = &m->info->cols[i];
        sb_adds(sb, i ? ",\n    {\"key\": " : "\n    {\"key\": ");
        json_str(sb, c->key);
        sb_adds(sb, ", \"title\": ");
        json_str(sb, report_col_title(c, m->lang));
        sb_adds(sb, ", \"type\": ");
        json_str(sb, type_names[c->type]);
        sb_addc(sb, '}');
    }
    sb_adds(sb, "\n  ],\n  \"rows\": [");
    if (put(w, e) < 0) {
        json_free(&w->base);
        return NULL;
    }
    return &w->base;
}
