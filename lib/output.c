#include "lib/output.h"

#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct hm_table {
    size_t ncols;
    char **headers;
    bool *right;
    char ***rows;
    signed char **colors; /* per cell: -1 none, else enum hm_state */
    size_t nrows, cap;
    int width; /* table_set_width's limit, 0 for none */
};

hm_table *table_new(size_t ncols, const char *const *headers)
{
    hm_table *t = xcalloc(1, sizeof *t);
    t->ncols = ncols;
    t->headers = xcalloc(ncols, sizeof(char *));
    t->right = xcalloc(ncols, sizeof(bool));
    for (size_t i = 0; i < ncols; i++) {
        const char *h = headers[i];
        if (h[0] == '>') { t->right[i] = true; h++; }
        t->headers[i] = xstrdup(h);
    }
    return t;
}

void table_add(hm_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->rows = xrealloc(t->rows, t->cap * sizeof(char **));
        t->colors = xrealloc(t->colors, t->cap * sizeof(signed char *));
    }
    char **row = xcalloc(t->ncols, sizeof(char *));
    signed char *col = xmalloc(t->ncols);
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = xstrdup(cells[i] ? cells[i] : "-");
        /* tabs and newlines would break the columns */
        for (char *p = row[i]; *p; p++)
            if (*p == '\n' || *p == '\t' || *p == '\r') *p = ' ';
        col[i] = -1;
    }
    t->rows[t->nrows] = row;
    t->colors[t->nrows] = col;
    t->nrows++;
}

void table_color_last(hm_table *t, size_t col, enum hm_state state)
{
    if (t->nrows && col < t->ncols) t->colors[t->nrows - 1][col] = (signed char)state;
}

void table_set_width(hm_table *t, int width)
{
    t->width = width > 0 ? width : 0;
}

size_t table_rows(const hm_table *t)
{
    return t->nrows;
}

const char *hm_state_color(enum hm_state s, bool color)
{
    if (!color) return "";
    switch (s) {
    case HM_OK: return "\033[32m";
    case HM_WARNING: return "\033[33m";
    case HM_CRITICAL: return "\033[1;31m";
    default: return "\033[35m";
    }
}

const char *hm_color_reset(bool color)
{
    return color ? "\033[0m" : "";
}

static void pad(FILE *f, int n)
{
    while (n-- > 0) fputc(' ', f);
}

/* Narrows the widths w to fit t->width: the column with the most room above its heading's
 * width gives one column at a time, so a long name gives way before short states do. */
static void fit_widths(const hm_table *t, int *w)
{
    int used = 0;
    for (size_t c = 0; c < t->ncols; c++) used += w[c] + (c ? 2 : 0);
    while (t->width && used > t->width) {
        int best = -1, best_room = 0;
        for (size_t c = 0; c < t->ncols; c++) {
            int room = w[c] - hm_display_width(t->headers[c]);
            if (room > best_room) {
                best = (int)c;
                best_room = room;
            }
        }
        if (best < 0) break; /* every column is down to its heading: wider it is */
        w[best]--;
        used--;
    }
}

void table_print(hm_table *t, FILE *f, bool color)
{
    int *w = xcalloc(t->ncols, sizeof(int));
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = hm_display_width(t->headers[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            int dw = hm_display_width(t->rows[r][c]);
            if (dw > w[c]) w[c] = dw;
        }
    }
    fit_widths(t, w);
    const char *cs = nl_langinfo(CODESET);
    const char *ellipsis = cs && strcmp(cs, "UTF-8") == 0 ? "\xe2\x80\xa6" : "~";
    for (size_t r = 0; r <= t->nrows; r++) {
        char **cells = r == 0 ? t->headers : t->rows[r - 1];
        for (size_t c = 0; c < t->ncols; c++) {
            char *cut = hm_cut_width(cells[c], w[c], ellipsis);
            int dw = hm_display_width(cut);
            bool last = c + 1 == t->ncols;
            if (t->right[c]) pad(f, w[c] - dw);
            int state = r ? t->colors[r - 1][c] : -1;
            if (state >= 0) fputs(hm_state_color((enum hm_state)state, color), f);
            fputs(cut, f);
            if (state >= 0) fputs(hm_color_reset(color), f);
            if (!last) {
                if (!t->right[c]) pad(f, w[c] - dw);
                fputs("  ", f);
            }
            free(cut);
        }
        fputc('\n', f);
    }
    free(w);
}

int hm_output_width(void)
{
    const char *env = getenv("COLUMNS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0 && v < 100000) return (int)v;
    }
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

void table_free(hm_table *t)
{
    if (!t) return;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) free(t->rows[r][c]);
        free(t->rows[r]);
        free(t->colors[r]);
    }
    for (size_t c = 0; c < t->ncols; c++) free(t->headers[c]);
    free(t->headers);
    free(t->right);
    free(t->rows);
    free(t->colors);
    free(t);
}

void hm_json_print(FILE *f, json_t *j)
{
    json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    fputc('\n', f);
    json_decref(j);
}

void hm_format_value(double v, char *buf, size_t size)
{
    if (isnan(v)) snprintf(buf, size, "NaN");
    else if (isinf(v)) snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, size, "%.0f", v);
    else if (fabs(v) >= 1e15 || fabs(v) < 1e-4) snprintf(buf, size, "%.4g", v);
    else {
        snprintf(buf, size, "%.4f", v);
        /* drop trailing zeros of the fraction */
        char *dot = strchr(buf, '.');
        if (dot) {
            char *end = buf + strlen(buf) - 1;
            while (end > dot && *end == '0') *end-- = '\0';
            if (end == dot) *end = '\0';
        }
    }
}

void hm_json_stream_item(FILE *f, json_t *item, size_t index)
{
    fputs(index == 0 ? "[\n" : ",\n", f);
    json_dumpf(item, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(item);
}

void hm_json_stream_end(FILE *f, size_t count)
{
    fputs(count == 0 ? "[]\n" : "\n]\n", f);
}
