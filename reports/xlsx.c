/* XLSX (ECMA-376 SpreadsheetML) through libxlsxwriter in constant-memory mode: rows go to the
 * library's temporary file as they come, so memory does not grow with the row count. The
 * report sheet has a bold, frozen header row with an autofilter and fixed column widths;
 * times are real date cells showing the zone's offset, durations are [h]:mm:ss cells; a second
 * sheet holds the parameters and the summary. A sheet holds at most 1,048,576 rows, so longer
 * reports continue on "Report (2)" and so on, each with its header. */
#include "reports/report.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <minizip/zip.h>
#include <xlsxwriter.h>

#include "lib/tz.h"

/* libxlsxwriter deflates every part of the package at zlib's default level (6) and has no
 * setting for it; for a million-row report that compression is a third of the run. hmctl
 * supplies minizip's zipOpenNewFileInZip4_64, which libxlsxwriter calls once per part, and
 * passes it on to minizip with level 1 (Z_BEST_SPEED): about twice as fast for a file about a
 * fifth larger. Any other caller's explicit level is kept. Should a libxlsxwriter carry its own
 * copy of minizip, this is never called and the default level stays. */
int zipOpenNewFileInZip4_64(zipFile file, const char *filename, const zip_fileinfo *zipfi,
                            const void *extrafield_local, uInt size_extrafield_local,
                            const void *extrafield_global, uInt size_extrafield_global,
                            const char *comment, int method, int level, int raw, int windowBits,
                            int memLevel, int strategy, const char *password,
                            uLong crcForCrypting, uLong versionMadeBy, uLong flagBase, int zip64)
{
    typedef int (*open_fn)(zipFile, const char *, const zip_fileinfo *, const void *, uInt,
                           const void *, uInt, const char *, int, int, int, int, int, int,
                           const char *, uLong, uLong, uLong, int);
    static open_fn real;
    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "zipOpenNewFileInZip4_64");
        if (!sym) return ZIP_INTERNALERROR;
        memcpy(&real, &sym, sizeof real);
    }
    if (method == Z_DEFLATED && level == Z_DEFAULT_COMPRESSION) level = Z_BEST_SPEED;
    return real(file, filename, zipfi, extrafield_local, size_extrafield_local, extrafield_global,
                size_extrafield_global, comment, method, level, raw, windowBits, memLevel,
                strategy, password, crcForCrypting, versionMadeBy, flagBase, zip64);
}

enum { XLSX_MAX_ROWS = 1048576, XLSX_MAX_STR = 32767, MAX_OFFSETS = 8 };

typedef struct xlsx_writer {
    report_writer base;
    lxw_workbook *wb;
    lxw_worksheet *ws;
    int sheets;
    lxw_row_t row; /* next row of the current sheet */
    lxw_format *bold, *date, *dur, *pct;
    long offsets[MAX_OFFSETS]; /* one date-time format per zone offset seen */
    lxw_format *time_fmt[MAX_OFFSETS];
    int noffsets;
    char *text; /* for cutting over-long text */
} xlsx_writer;

static int lxw_fail(xlsx_writer *w, lxw_error err, hm_err *e)
{
    return hm_err_set(e, "cannot write '%s': %s", w->base.path, lxw_strerror(err));
}

static lxw_format *time_format(xlsx_writer *w, long off)
{
    for (int i = 0; i < w->noffsets; i++)
        if (w->offsets[i] == off) return w->time_fmt[i];
    char o[8], num[48];
    tz_format_offset(off, o, sizeof o);
    snprintf(num, sizeof num, "yyyy-mm-dd hh:mm:ss \"%s\"", o);
    lxw_format *f = workbook_add_format(w->wb);
    format_set_num_format(f, num);
    if (w->noffsets < MAX_OFFSETS) {
        w->offsets[w->noffsets] = off;
        w->time_fmt[w->noffsets++] = f;
    }
    return f;
}

/* Text cut to what a cell holds, at a UTF-8 character boundary. */
static const char *cell_text(xlsx_writer *w, const char *s)
{
    size_t n = strlen(s);
    if (n <= XLSX_MAX_STR) return s;
    n = XLSX_MAX_STR;
    while (n && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    free(w->text);
    w->text = xstrndup(s, n);
    return w->text;
}

static int new_sheet(xlsx_writer *w, hm_err *e)
{
    const report_meta *m = w->base.meta;
    bool zh = m->lang == REPORT_ZH;
    char name[32];
    w->sheets++;
    if (w->sheets == 1) snprintf(name, sizeof name, "%s", zh ? "报告" : "Report");
    else snprintf(name, sizeof name, "%s (%d)", zh ? "报告" : "Report", w->sheets);
    w->ws = workbook_add_worksheet(w->wb, name);
    if (!w->ws) return hm_err_set(e, "cannot add the worksheet '%s'", name);
    w->row = 0;
    worksheet_freeze_panes(w->ws, 1, 0);
    for (size_t i = 0; i < m->info->ncols; i++) {
        const struct report_col *c = &m->info->cols[i];
        /* wide enough for the header and its filter button */
        double width = c->width, head = hm_display_width(report_col_title(c, m->lang)) + 3;
        if (head > width) width = head;
        worksheet_set_column(w->ws, (lxw_col_t)i, (lxw_col_t)i, width, NULL);
        lxw_error err = worksheet_write_string(w->ws, 0, (lxw_col_t)i,
                                               report_col_title(c, m->lang), w->bold);
        if (err) return lxw_fail(w, err, e);
    }
    w->row = 1;
    return 0;
}

static void end_sheet(xlsx_writer *w)
{
    const report_meta *m = w->base.meta;
    worksheet_autofilter(w->ws, 0, 0, w->row - 1, (lxw_col_t)(m->info->ncols - 1));
}

static lxw_error put_val(xlsx_writer *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c,
                         enum report_ctype t, const report_val *v)
{
    if (v->null) return LXW_NO_ERROR;
    switch (t) {
    case RC_TEXT:
        return v->s && *v->s ? worksheet_write_string(ws, r, c, cell_text(w, v->s), NULL)
                             : LXW_NO_ERROR;
    case RC_INT: return worksheet_write_number(ws, r, c, (double)v->i, NULL);
    case RC_NUM: return worksheet_write_number(ws, r, c, v->d, NULL);
    case RC_PERCENT: return worksheet_write_number(ws, r, c, v->d / 100.0, w->pct);
    case RC_DURATION: return worksheet_write_number(ws, r, c, (double)v->i / 86400.0, w->dur);
    case RC_DATE: {
        lxw_datetime dt = {0};
        tz_civil_from_days(v->i, &dt.year, &dt.month, &dt.day);
        return worksheet_write_datetime(ws, r, c, &dt, w->date);
    }
    case RC_TIME: {
        struct tm tm;
        long off;
        tz_local(v->i, &tm, &off);
        lxw_datetime dt = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                           tm.tm_sec > 59 ? 59 : tm.tm_sec};
        return worksheet_write_datetime(ws, r, c, &dt, time_format(w, off));
    }
    }
    return LXW_NO_ERROR;
}

static int xlsx_row(report_writer *bw, const report_val *vals, hm_err *e)
{
    xlsx_writer *w = (xlsx_writer *)bw;
    const struct report_type_info *info = bw->meta->info;
    if (w->row >= XLSX_MAX_ROWS) {
        end_sheet(w);
        if (new_sheet(w, e) < 0) return -1;
    }
    for (size_t i = 0; i < info->ncols; i++) {
        lxw_error err = put_val(w, w->ws, w->row, (lxw_col_t)i, info->cols[i].type, &vals[i]);
        if (err) return lxw_fail(w, err, e);
    }
    w->row++;
    return 0;
}

static int xlsx_finish(report_writer *bw, const report_fig *figs, size_t nfigs, hm_err *e)
{
    xlsx_writer *w = (xlsx_writer *)bw;
    const report_meta *m = bw->meta;
    bool zh = m->lang == REPORT_ZH;
    end_sheet(w);
    lxw_worksheet *ps = workbook_add_worksheet(w->wb, zh ? "参数" : "Parameters");
    if (!ps) return hm_err_set(e, "cannot add the parameters worksheet");
    worksheet_set_column(ps, 0, 0, 24, NULL);
    worksheet_set_column(ps, 1, 1, 48, NULL);
    lxw_error err = worksheet_write_string(ps, 0, 0, zh ? "参数" : "Parameter", w->bold);
    if (!err) err = worksheet_write_string(ps, 0, 1, zh ? "值" : "Value", w->bold);
    report_param pv[REPORT_NPARAMS];
    size_t np = report_meta_params(m, pv);
    lxw_row_t r = 1;
    for (size_t i = 0; !err && i < np; i++, r++) {
        err = worksheet_write_string(ps, r, 0, zh ? pv[i].zh : pv[i].en, NULL);
        if (!err && pv[i].value) err = worksheet_write_string(ps, r, 1, pv[i].value, NULL);
    }
    r++;
    if (!err) err = worksheet_write_string(ps, r++, 0, zh ? "汇总" : "Summary", w->bold);
    for (size_t i = 0; !err && i < nfigs; i++, r++) {
        err = worksheet_write_string(ps, r, 0, zh ? figs[i].zh : figs[i].en, NULL);
        if (!err) err = put_val(w, ps, r, 1, figs[i].type, &figs[i].v);
    }
    if (err) return lxw_fail(w, err, e);
    lxw_workbook *wb = w->wb;
    w->wb = NULL;
    err = workbook_close(wb);
    if (err) return lxw_fail(w, err, e);
    return 0;
}

static void xlsx_free(report_writer *bw)
{
    xlsx_writer *w = (xlsx_writer *)bw;
    /* an abandoned workbook is still closed to free it; the caller removes the file */
    if (w->wb) workbook_close(w->wb);
    free(w->text);
    free(w);
}

static const struct report_writer_ops xlsx_ops = {xlsx_row, xlsx_finish, xlsx_free};

report_writer *report_xlsx_open(const char *path, const report_meta *m, hm_err *e)
{
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    if (!wb) {
        hm_err_set(e, "cannot write '%s': the XLSX library could not start a workbook", path);
        return NULL;
    }
    xlsx_writer *w = xcalloc(1, sizeof *w);
    w->base = (report_writer){&xlsx_ops, m, path, 0};
    w->wb = wb;
    w->bold = workbook_add_format(wb);
    format_set_bold(w->bold);
    w->date = workbook_add_format(wb);
    format_set_num_format(w->date, "yyyy-mm-dd");
    w->dur = workbook_add_format(wb);
    format_set_num_format(w->dur, "[h]:mm:ss");
    w->pct = workbook_add_format(wb);
    format_set_num_format(w->pct, "0.0%");
    bool zh = m->lang == REPORT_ZH;
    char *title = xstrdup(zh ? m->info->zh : m->info->en);
    char *comments = xstrdup("hmctl " HMCTL_VERSION);
    lxw_doc_properties props = {.title = title, .comments = comments};
    workbook_set_properties(wb, &props);
    free(title);
    free(comments);
    if (new_sheet(w, e) < 0) {
        xlsx_free(&w->base);
        return NULL;
    }
    return &w->base;
}
