/* CSV (RFC 4180): UTF-8, CRLF line ends, a header row in the report's language, optionally
 * preceded by a byte order mark so spreadsheet programs read the Chinese text as UTF-8. */
#include "reports/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_writer {
    report_writer base;
    FILE *f;
    strbuf line;
} csv_writer;

static int flush_line(csv_writer *w, hm_err *e)
{
    sb_add(&w->line, "\r\n", 2);
    if (fwrite(w->line.buf, 1, w->line.len, w->f) != w->line.len)
        return hm_err_set(e, "cannot write '%s': %s", w->base.path, strerror(errno));
    sb_reset(&w->line);
    return 0;
}

static int csv_row(report_writer *bw, const report_val *vals, hm_err *e)
{
    csv_writer *w = (csv_writer *)bw;
    const struct report_type_info *info = bw->meta->info;
    char buf[64];
    for (size_t i = 0; i < info->ncols; i++) {
        if (i) sb_addc(&w->line, ',');
        report_csv_field(&w->line, report_val_text(info->cols[i].type, &vals[i], buf, sizeof buf));
    }
    return flush_line(w, e);
}

static int csv_finish(report_writer *bw, const report_fig *figs, size_t nfigs, hm_err *e)
{
    csv_writer *w = (csv_writer *)bw;
    FILE *f = w->f;
    w->f = NULL;
    if (fflush(f) != 0 || ferror(f)) {
        int err = errno;
        fclose(f);
        return hm_err_set(e, "cannot write '%s': %s", bw->path, strerror(err));
    }
    if (fclose(f) != 0) return hm_err_set(e, "cannot write '%s': %s", bw->path, strerror(errno));
    return 0;
}

static void csv_free(report_writer *bw)
{
    csv_writer *w = (csv_writer *)bw;
    if (w->f) fclose(w->f);
    sb_free(&w->line);
    free(w);
}

static const struct report_writer_ops csv_ops = {csv_row, csv_finish, csv_free};

report_writer *report_csv_open(const char *path, const report_meta *m, hm_err *e)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        hm_err_set(e, "cannot write '%s': %s", path, strerror(errno));
        return NULL;
    }
    csv_writer *w = xcalloc(1, sizeof *w);
    w->base = (report_writer){&csv_ops, m, path, 0};
    w->f = f;
    if (m->bom) sb_add(&w->line, "\xef\xbb\xbf", 3);
    for (size_t i = 0; i < m->info->ncols; i++) {
        if (i) sb_addc(&w->line, ',');
        report_csv_field(&w->line, report_col_title(&m->info->cols[i], m->lang));
    }
    if (flush_line(w, e) < 0) {
        csv_free(&w->base);
        return NULL;
    }
    return &w->base;
}
