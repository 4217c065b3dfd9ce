/* The Events screen: the events hmctl derived from the consoles (lost contact, failed syncs
 * and boots, expired licences, snapshots beyond the RPO target), newest first, with a filter,
 * a sort column and a detail pane with the whole text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/tui-int.h"

struct events {
    struct tui_list list; /* first, for the shared list actions */
};

enum { C_TIME, C_EVENT, C_HOST, C_CONSOLE, C_DETAIL };

static const struct tui_column columns[] = {
    {"TIME", 14, 19, false, "time"},
    {"EVENT", 12, 17, false, "event"},
    {"HOST", 10, 24, false, "host"},
    {"CONSOLE", 7, 10, false, NULL},
    {"DETAIL", 10, 0, false, NULL},
};

static const struct tui_event *event_at(const struct tui *t, size_t r)
{
    return &tui_console_data(t)->events[r];
}

static void event_time(int64_t ms, bool wide, char *buf, size_t size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&secs, &tm)) snprintf(buf, size, "?");
    else strftime(buf, size, wide ? "%Y-%m-%d %H:%M:%S" : "%m-%d %H:%M:%S", &tm);
}

static enum tui_role cell(struct tui *t, void *state, size_t r, size_t col, char *buf, size_t size)
{
    const struct tui_event *ev = event_at(t, r);
    switch (col) {
    case C_TIME:
        event_time(ev->ts_ms, false, buf, size);
        return TUI_NORMAL;
    case C_EVENT:
        snprintf(buf, size, "%s", ev->type);
        return tui_state_role(ev->severity);
    case C_HOST:
        snprintf(buf, size, "%s", ev->host);
        return TUI_NORMAL;
    case C_CONSOLE:
        snprintf(buf, size, "%s", ev->console);
        return TUI_DIM;
    default:
        snprintf(buf, size, "%s", ev->detail);
        return TUI_NORMAL;
    }
}

static const struct tui_list_ops ops = {columns, HM_ARRAY_LEN(columns), cell};

struct sort_ctx {
    const struct tui_event *v;
    const char *field;
    bool reverse;
};

static int cmp_event(const void *pa, const void *pb, void *ud)
{
    const struct sort_ctx *s = ud;
    size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
    const struct tui_event *a = &s->v[ia], *b = &s->v[ib];
    int c = 0;
    if (!strcmp(s->field, "event")) c = strcmp(a->type, b->type);
    else if (!strcmp(s->field, "host")) c = strcmp(a->host, b->host);
    if (!c) c = (ia > ib) - (ia < ib); /* the list is newest first */
    return s->reverse ? -c : c;
}

/* Wraps text into the pane's lines at spaces. */
static int draw_wrapped(struct tui *t, int y, int x, int w, int max_y, const char *s)
{
    while (*s && y < max_y) {
        int len = (int)strlen(s), cut = len;
        if (tui_text_width(t, s) > w) {
            cut = 0;
            for (int i = 0; i < len; i++) {
                char part[1024];
                snprintf(part, sizeof part, "%.*s", i, s);
                if (tui_text_width(t, part) > w) break;
                if (s[i] == ' ') cut = i;
            }
            if (cut == 0) cut = w < len ? w : len;
        }
        char line[1024];
        snprintf(line, sizeof line, "%.*s", cut, s);
        tui_put(t, y++, x, w, TUI_NORMAL, false, line);
        s += cut;
        while (*s == ' ') s++;
    }
    return y;
}

static void events_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct events *es = state;
    const struct tui_console *c = tui_console_data(t);
    int x = a->x + 1, w = a->w - 2;
    if (!c) {
        tui_put(t, a->y, x, w, TUI_DIM, false, "reading the events...");
        es->list.shown = 0;
        return;
    }
    char line[256], when[96];
    tui_age_text(t, c->wall_ms, c->mono_ms, c->next_ms - c->mono_ms + 2 * t->opt->interval_ms, when,
                 sizeof when);
    snprintf(line, sizeof line, "%zu event%s in 30 days%s", c->n_events, c->n_events == 1 ? "" : "s",
             c->n_events >= TUI_EVENTS_MAX ? " (the newest)" : "");
    int cx = x + tui_put(t, a->y, x, w, TUI_HEADING, false, line) + 2;
    if (c->events_err) tui_put(t, a->y, cx, x + w - cx, TUI_CRITICAL, false, c->events_err);
    else tui_put(t, a->y, cx, x + w - cx, TUI_DIM, false, when);
    size_t *order = xcalloc(c->n_events ? c->n_events : 1, sizeof *order), n = 0;
    for (size_t i = 0; i < c->n_events; i++) {
        const struct tui_event *ev = &c->events[i];
        if (tui_list_match(&es->list, ev->type) || tui_list_match(&es->list, ev->host) ||
            tui_list_match(&es->list, ev->detail))
            order[n++] = i;
    }
    struct sort_ctx s = {c->events, tui_list_sort_field(&es->list), es->list.reverse};
    if (n) qsort_r(order, n, sizeof *order, cmp_event, &s);
    struct tui_rect area = {a->y + 1, a->x, a->h - 1, a->w}, list, pane;
    if (!n) {
        tui_put(t, area.y, x, w, TUI_DIM, false,
                c->n_events ? "no event matches the filter" : "no event recorded in 30 days");
        es->list.shown = 0;
        es->list.detail = false;
        free(order);
        return;
    }
    tui_list_split(&es->list, &area, &list, &pane);
    tui_list_draw(t, &es->list, &ops, es, order, n, &list);
    if (es->list.detail) {
        const struct tui_event *ev = &c->events[order[es->list.sel]];
        tui_box(t, pane.y, pane.x, pane.h, pane.w, TUI_NORMAL, ev->type);
        int y = pane.y + 1;
        event_time(ev->ts_ms, true, when, sizeof when);
        snprintf(line, sizeof line, "%s  host %s  console %s", when, ev->host, ev->console);
        if (y < pane.y + pane.h - 1) tui_put(t, y++, pane.x + 2, pane.w - 4, TUI_HEADING, false, line);
        draw_wrapped(t, y, pane.x + 2, pane.w - 4, pane.y + pane.h - 1, ev->detail);
    }
    free(order);
}

static void *events_open(struct tui *t)
{
    struct events *es = xcalloc(1, sizeof *es);
    es->list.ops = &ops;
    return es;
}

static void events_close(void *state)
{
    free(state);
}

static bool has_rows(const struct tui *t, void *state)
{
    return state && ((struct tui_list *)state)->shown > 0;
}

static const struct tui_key events_keys[] = {
    {.keys = {KEY_UP, 'k'}, .name = "up", .help = "select the previous event", .footer = "Select",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_list_up},
    {.keys = {KEY_DOWN, 'j'}, .name = "down", .help = "select the next event", .fn = tui_list_down},
    {.keys = {KEY_PPAGE}, .name = "page-up", .help = "one page up", .fn = tui_list_page_up},
    {.keys = {KEY_NPAGE, ' '}, .name = "page-down", .help = "one page down", .fn = tui_list_page_down},
    {.keys = {KEY_HOME, 'g'}, .name = "home", .help = "the newest event", .fn = tui_list_home},
    {.keys = {KEY_END, 'G'}, .name = "end", .help = "the oldest event", .fn = tui_list_end},
    {.keys = {'\r', '\n', KEY_ENTER}, .name = "details", .help = "show the whole event",
     .footer = "Details", .fn = tui_list_details, .available = has_rows},
    {.keys = {27}, .name = "back", .help = "close the details, then clear the filter",
     .fn = tui_list_back},
    {.keys = {'/'}, .name = "filter", .help = "filter by type, host or detail", .footer = "Filter",
     .fn = tui_list_filter},
    {.keys = {'s', KEY_F(6)}, .name = "sort", .help = "sort by the next column", .footer = "Sort",
     .fn = tui_list_sort},
    {.keys = {'I'}, .name = "reverse", .help = "reverse the sort order", .fn = tui_list_reverse},
    {.keys = {0}},
};

const struct tui_screen tui_screen_events = {
    .name = "events",
    .title = "Events",
    .open = events_open,
    .close = events_close,
    .draw = events_draw,
    .keys = events_keys,
    .position = tui_list_position,
    .click = tui_list_click,
    .filter_changed = tui_list_filter_changed,
    .filter_text = tui_list_filter_text,
};
