/* Lists with a selection, a filter, a sort column and a detail pane: the Services, Remote,
 * Hosts and Events screens are tables of this kind, and share their drawing and actions. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tui/tui-int.h"

/* Column widths from what the visible rows hold: each column gets the width of its widest
 * cell or heading within its bounds; when that is too wide for the screen the widest columns
 * give way first, down to their minimum; when there is room left, the first column without
 * a maximum takes it. Columns that still do not fit are left out. */
static void column_widths(const struct tui_list_ops *ops, const int *natural, int w, int *out)
{
    int used = 0;
    for (size_t c = 0; c < ops->n_cols; c++) {
        int v = natural[c];
        if (v < ops->cols[c].min) v = ops->cols[c].min;
        if (ops->cols[c].max && v > ops->cols[c].max) v = ops->cols[c].max;
        out[c] = v;
        used += v + (c ? 2 : 0);
    }
    while (used > w) {
        int best = -1;
        for (size_t c = 0; c < ops->n_cols; c++)
            if (out[c] > ops->cols[c].min && (best < 0 || out[c] - ops->cols[c].min > out[best] - ops->cols[best].min))
                best = (int)c;
        if (best < 0) break;
        out[best]--;
        used--;
    }
    if (used < w)
        for (size_t c = 0; c < ops->n_cols; c++)
            if (!ops->cols[c].max) {
                out[c] += w - used;
                used = w;
                break;
            }
    used = 0;
    for (size_t c = 0; c < ops->n_cols; c++) {
        int gap = c ? 2 : 0;
        if (used + gap + out[c] > w) out[c] = w - used - gap >= 3 ? w - used - gap : 0;
        used += out[c] ? out[c] + gap : 0;
    }
}

static void keep_visible(struct tui_list *l)
{
    if (l->sel >= l->shown) l->sel = l->shown - 1;
    if (l->sel < 0) l->sel = 0;
    if (l->scroll.visible > 0) {
        if (l->sel < l->scroll.top) l->scroll.top = l->sel;
        if (l->sel >= l->scroll.top + l->scroll.visible) l->scroll.top = l->sel - l->scroll.visible + 1;
    }
    tui_scroll_clamp(&l->scroll);
}

void tui_list_draw(struct tui *t, struct tui_list *l, const struct tui_list_ops *ops, void *state,
                   const size_t *order, size_t n, const struct tui_rect *a)
{
    int widths[32];
    size_t ncols = ops->n_cols < 32 ? ops->n_cols : 32;
    int x0 = a->x + 1, w = a->w - 2;
    l->shown = (int)n;
    l->rows_y = a->y + 1;
    l->scroll.total = (int)n;
    l->scroll.visible = a->h - 1 > 0 ? a->h - 1 : 0;
    keep_visible(l);
    if (a->h < 1 || w < 4) return;
    int natural[32];
    for (size_t c = 0; c < ncols; c++) {
        natural[c] = tui_text_width(t, ops->cols[c].title) + (ops->cols[c].sort ? 1 : 0);
        for (int i = 0; i < l->scroll.visible && l->scroll.top + i < (int)n; i++) {
            char cell[512];
            cell[0] = '\0';
            ops->cell(t, state, order[l->scroll.top + i], c, cell, sizeof cell);
            int cw = tui_text_width(t, cell);
            if (cw > natural[c]) natural[c] = cw;
        }
    }
    column_widths(ops, natural, w, widths);
    int x = x0;
    for (size_t c = 0; c < ncols; c++) {
        if (!widths[c]) continue;
        char head[64];
        const char *arrow = "";
        if (ops->cols[c].sort && (int)c == l->sort)
            arrow = l->reverse ? (t->utf8 ? "\xe2\x96\xbc" : "v") : (t->utf8 ? "\xe2\x96\xb2" : "^");
        snprintf(head, sizeof head, "%s%s", ops->cols[c].title, arrow);
        if (ops->cols[c].right) tui_put_right(t, a->y, x, widths[c], TUI_HEADING, head);
        else tui_put(t, a->y, x, widths[c], TUI_HEADING, false, head);
        x += widths[c] + 2;
    }
    for (int i = 0; i < l->scroll.visible && l->scroll.top + i < (int)n; i++) {
        int row = l->scroll.top + i, y = a->y + 1 + i;
        bool sel = row == l->sel;
        if (sel) tui_fill(t, y, a->x, a->w, TUI_SELECTED);
        x = x0;
        for (size_t c = 0; c < ncols; c++) {
            if (!widths[c]) continue;
            char cell[512];
            cell[0] = '\0';
            enum tui_role role = ops->cell(t, state, order[row], c, cell, sizeof cell);
            if (sel) role = TUI_SELECTED;
            if (ops->cols[c].right) tui_put_right(t, y, x, widths[c], role, cell);
            else tui_put(t, y, x, widths[c], role, false, cell);
            x += widths[c] + 2;
        }
    }
}

static int move_sel(void *state, int delta)
{
    struct tui_list *l = state;
    int before = l->sel, top = l->scroll.top;
    l->sel += delta;
    if (l->sel >= l->shown) l->sel = l->shown - 1;
    if (l->sel < 0) l->sel = 0;
    keep_visible(l);
    return l->sel != before || l->scroll.top != top ? TUI_REDRAW : TUI_DONE;
}

static int page(const struct tui_list *l)
{
    return l->scroll.visible > 1 ? l->scroll.visible - 1 : 1;
}

int tui_list_up(struct tui *t, void *state) { return move_sel(state, -1); }
int tui_list_down(struct tui *t, void *state) { return move_sel(state, 1); }
int tui_list_page_up(struct tui *t, void *state) { return move_sel(state, -page(state)); }
int tui_list_page_down(struct tui *t, void *state) { return move_sel(state, page(state)); }
int tui_list_home(struct tui *t, void *state) { return move_sel(state, -((struct tui_list *)state)->shown); }
int tui_list_end(struct tui *t, void *state) { return move_sel(state, ((struct tui_list *)state)->shown); }

int tui_list_filter(struct tui *t, void *state)
{
    t->prompt = true;
    return TUI_REDRAW;
}

int tui_list_details(struct tui *t, void *state)
{
    struct tui_list *l = state;
    if (l->shown <= 0) return TUI_DONE;
    l->detail = true;
    return TUI_REDRAW;
}

int tui_list_back(struct tui *t, void *state)
{
    struct tui_list *l = state;
    if (l->detail) {
        l->detail = false;
        return TUI_REDRAW;
    }
    if (l->filter[0]) {
        l->filter[0] = '\0';
        tui_list_filter_changed(t, state);
        return TUI_REDRAW;
    }
    return TUI_DONE;
}

int tui_list_reverse(struct tui *t, void *state)
{
    struct tui_list *l = state;
    l->reverse = !l->reverse;
    return TUI_REDRAW;
}

int tui_list_sort(struct tui *t, void *state)
{
    struct tui_list *l = state;
    if (!l->ops) return TUI_DONE;
    for (size_t i = 1; i <= l->ops->n_cols; i++) {
        size_t c = ((size_t)l->sort + i) % l->ops->n_cols;
        if (l->ops->cols[c].sort) {
            l->sort = (int)c;
            l->reverse = false;
            tui_message(t, TUI_NORMAL, "sorted by %s", l->ops->cols[c].sort);
            return TUI_REDRAW;
        }
    }
    return TUI_DONE;
}

const char *tui_list_sort_field(const struct tui_list *l)
{
    if (!l->ops || l->sort < 0 || (size_t)l->sort >= l->ops->n_cols) return "";
    const char *f = l->ops->cols[l->sort].sort;
    return f ? f : "";
}

const char *tui_list_position(struct tui *t, void *state, char *buf, size_t size)
{
    struct tui_list *l = state;
    buf[0] = '\0';
    if (l->shown > 0) snprintf(buf, size, "%d/%d", l->sel + 1, l->shown);
    if (l->filter[0]) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%sfilter: %s", len ? "  " : "", l->filter);
    }
    return buf;
}

int tui_list_click(struct tui *t, void *state, int y, int x, bool twice)
{
    struct tui_list *l = state;
    int row = l->scroll.top + (y - l->rows_y);
    if (y < l->rows_y || y >= l->rows_y + l->scroll.visible || row >= l->shown) return TUI_DONE;
    if (row == l->sel && twice) l->detail = true;
    l->sel = row;
    return TUI_REDRAW;
}

char *tui_list_filter_text(void *state, size_t *size)
{
    struct tui_list *l = state;
    *size = sizeof l->filter;
    return l->filter;
}

void tui_list_filter_changed(struct tui *t, void *state)
{
    struct tui_list *l = state;
    l->sel = 0;
    l->scroll.top = 0;
}

bool tui_list_match(const struct tui_list *l, const char *s)
{
    return !l->filter[0] || (s && strcasestr(s, l->filter));
}

void tui_list_split(const struct tui_list *l, const struct tui_rect *area, struct tui_rect *list,
                    struct tui_rect *pane)
{
    *list = *area;
    memset(pane, 0, sizeof *pane);
    if (!l->detail) return;
    if (area->w >= 150) {
        int pw = area->w * 2 / 5;
        list->w = area->w - pw;
        *pane = (struct tui_rect){area->y, area->x + list->w, area->h, pw};
        return;
    }
    /* the pane gets two thirds: a heading and a few rows keep the list's place */
    int lh = area->h / 3 > 6 ? area->h / 3 : 6;
    if (lh > area->h - 4) lh = area->h / 2;
    list->h = lh;
    *pane = (struct tui_rect){area->y + lh, area->x, area->h - lh, area->w};
}
