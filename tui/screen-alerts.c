/* The Alerts screen: the firing and pending alerts the alerts module keeps (read by the
 * poller's console thread), sortable and filterable, a detail pane, and acknowledge and
 * silence through dialogs that ask for the handling note, carried out by the poller's action
 * thread through the alerts module's API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/output.h"
#include "tui/tui-int.h"

struct alerts {
    struct tui_list list; /* first, for the shared list actions */
    int64_t sel_id;       /* the selected alert, kept across refreshes */
    int drawn_sel;        /* the selection as last drawn: unchanged means no key moved it */
};

enum { C_SEVERITY, C_STATE, C_RULE, C_SUBJECT, C_SINCE, C_VALUE, C_ACK };

static const struct tui_column columns[] = {
    {"SEVERITY", 8, 9, false, "severity"},
    {"STATE", 16, 18, false, "state"},
    {"RULE", 20, 28, false, "rule"},
    {"SUBJECT", 8, 20, false, "subject"},
    {"SINCE", 6, 8, true, "since"},
    {"VALUE", 5, 10, true, NULL},
    {"ACK", 8, 0, false, NULL},
};

static const struct tui_console *data_of(const struct tui *t)
{
    return tui_console_data(t);
}

static enum tui_role severity_role(const struct tui_alert *a)
{
    return a->sev >= 2 ? TUI_CRITICAL : a->sev == 1 ? TUI_WARNING : TUI_NORMAL;
}

static void value_text(const struct tui_alert *a, char *buf, size_t size)
{
    if (isnan(a->value)) snprintf(buf, size, "-");
    else hm_format_value(a->value, buf, size);
}

static void ack_text(const struct tui_alert *a, char *buf, size_t size)
{
    if (a->acknowledged) snprintf(buf, size, "%s: %s", a->ack_by, a->ack_comment);
    else snprintf(buf, size, "-");
}

static enum tui_role cell(struct tui *t, void *state, size_t r, size_t col, char *buf, size_t size)
{
    const struct tui_alert *a = &data_of(t)->alerts[r];
    switch (col) {
    case C_SEVERITY:
        snprintf(buf, size, "%s", a->severity);
        return severity_role(a);
    case C_STATE:
        snprintf(buf, size, "%s%s", a->state, a->silenced ? ", silenced" : "");
        return a->firing && !a->silenced ? severity_role(a) : TUI_DIM;
    case C_RULE:
        snprintf(buf, size, "%s", a->rule);
        return TUI_NORMAL;
    case C_SUBJECT:
        snprintf(buf, size, "%s", a->subject);
        return TUI_NORMAL;
    case C_SINCE:
        if (a->since_ms) tui_format_age(hm_now_ms() - a->since_ms, buf, size);
        else snprintf(buf, size, "-");
        return TUI_NORMAL;
    case C_VALUE:
        value_text(a, buf, size);
        return TUI_NORMAL;
    default:
        ack_text(a, buf, size);
        return a->acknowledged ? TUI_OK : TUI_DIM;
    }
}

static const struct tui_list_ops ops = {columns, HM_ARRAY_LEN(columns), cell};

struct sort_ctx {
    const struct tui_alert *v;
    const char *field;
    bool reverse;
};

/* Firing before pending, then the most severe first: what needs a person first. */
static int cmp_urgency(const struct tui_alert *a, const struct tui_alert *b)
{
    if (a->firing != b->firing) return a->firing ? -1 : 1;
    return (b->sev > a->sev) - (b->sev < a->sev);
}

static int cmp_alert(const void *pa, const void *pb, void *ud)
{
    const struct sort_ctx *s = ud;
    const struct tui_alert *a = &s->v[*(const size_t *)pa], *b = &s->v[*(const size_t *)pb];
    int c = 0;
    if (!strcmp(s->field, "state")) c = cmp_urgency(a, b);
    else if (!strcmp(s->field, "rule")) c = strcmp(a->rule, b->rule);
    else if (!strcmp(s->field, "subject")) c = strcmp(a->subject, b->subject);
    else if (!strcmp(s->field, "since")) c = (a->since_ms > b->since_ms) - (a->since_ms < b->since_ms);
    if (!c) c = cmp_urgency(a, b);
    if (!c) c = (a->id > b->id) - (a->id < b->id);
    return s->reverse ? -c : c;
}

/* The shown rows: filtered by rule, subject, labels, severity, state or summary, sorted. */
static size_t build_order(struct tui *t, struct alerts *al, size_t **order)
{
    const struct tui_console *c = data_of(t);
    size_t total = c ? c->n_alerts : 0, n = 0;
    *order = xcalloc(total ? total : 1, sizeof **order);
    for (size_t i = 0; i < total; i++) {
        const struct tui_alert *a = &c->alerts[i];
        if (tui_list_match(&al->list, a->rule) || tui_list_match(&al->list, a->subject) ||
            tui_list_match(&al->list, a->labels) || tui_list_match(&al->list, a->severity) ||
            tui_list_match(&al->list, a->state) || tui_list_match(&al->list, a->summary))
            (*order)[n++] = i;
    }
    struct sort_ctx s = {c ? c->alerts : NULL, tui_list_sort_field(&al->list), al->list.reverse};
    if (n) qsort_r(*order, n, sizeof **order, cmp_alert, &s);
    return n;
}

/* The selected alert as the keys left it (they may have moved it since the last draw). */
static const struct tui_alert *selected(struct tui *t, struct alerts *al)
{
    const struct tui_console *c = data_of(t);
    if (!c || al->list.shown <= 0) return NULL;
    size_t *order;
    size_t n = build_order(t, al, &order);
    const struct tui_alert *a = NULL;
    if (n && al->list.sel >= 0 && (size_t)al->list.sel < n) a = &c->alerts[order[al->list.sel]];
    free(order);
    return a;
}

static void pane_line(struct tui *t, const struct tui_rect *p, int *y, const char *label,
                      enum tui_role role, const char *value)
{
    if (*y >= p->y + p->h - 1) return;
    tui_put(t, *y, p->x + 2, 12, TUI_HEADING, false, label);
    tui_put(t, *y, p->x + 15, p->w - 17, role, false, value && *value ? value : "-");
    (*y)++;
}

static void draw_pane(struct tui *t, struct alerts *al, const struct tui_rect *p)
{
    const struct tui_alert *a = selected(t, al);
    char title[64], buf[512];
    snprintf(title, sizeof title, "alert %lld", a ? (long long)a->id : 0LL);
    tui_box(t, p->y, p->x, p->h, p->w, TUI_NORMAL, title);
    if (!a) return;
    int y = p->y + 1;
    pane_line(t, p, &y, "Summary", severity_role(a), a->summary);
    pane_line(t, p, &y, "Rule", TUI_NORMAL, a->rule);
    snprintf(buf, sizeof buf, "%s, %s%s", a->severity, a->state, a->silenced ? ", silenced" : "");
    pane_line(t, p, &y, "State", severity_role(a), buf);
    pane_line(t, p, &y, "Labels", TUI_NORMAL, a->labels);
    value_text(a, buf, sizeof buf);
    pane_line(t, p, &y, "Value", TUI_NORMAL, buf);
    if (a->since_ms) {
        hm_format_time(a->since_ms, buf, sizeof buf);
        pane_line(t, p, &y, "Since", TUI_NORMAL, buf);
    }
    pane_line(t, p, &y, "Acked by", TUI_NORMAL, a->acknowledged ? a->ack_by : "");
    pane_line(t, p, &y, "Comment", TUI_NORMAL, a->acknowledged ? a->ack_comment : "");
}

static void alerts_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct alerts *al = state;
    const struct tui_console *c = data_of(t);
    int x = a->x + 1, w = a->w - 2;
    al->list.shown = 0;
    if (!c) {
        tui_put(t, a->y, x, w, TUI_DIM, false, "reading the alerts...");
        return;
    }
    if (c->alerts_err) {
        tui_put(t, a->y, x, w, TUI_CRITICAL, false, "cannot read the alerts:");
        tui_put(t, a->y + 1, x + 2, w - 2, TUI_CRITICAL, false, c->alerts_err);
        return;
    }
    size_t *order;
    size_t n = build_order(t, al, &order);
    /* keep the selected alert selected when the rows move under it */
    for (size_t i = 0; i < n && al->sel_id && al->list.sel == al->drawn_sel; i++)
        if (c->alerts[order[i]].id == al->sel_id) al->list.sel = (int)i;
    struct tui_rect list, pane;
    tui_list_split(&al->list, a, &list, &pane);
    if (!n) {
        tui_put(t, a->y, x, w, c->n_alerts ? TUI_DIM : TUI_OK, false,
                c->n_alerts ? "no alert matches the filter" : "no alerts firing or pending");
        al->list.detail = false;
        free(order);
        return;
    }
    tui_list_draw(t, &al->list, &ops, al, order, n, &list);
    al->sel_id = c->alerts[order[al->list.sel]].id;
    al->drawn_sel = al->list.sel;
    if (al->list.detail) draw_pane(t, al, &pane);
    free(order);
}

static void *alerts_open(struct tui *t)
{
    struct alerts *al = xcalloc(1, sizeof *al);
    al->list.ops = &ops;
    al->drawn_sel = -1;
    return al;
}

static void alerts_close(void *state)
{
    free(state);
}

/* ---- acknowledge and silence ---- */

struct pending {
    int64_t id;
    char matchers[1024];
};

static int run_ack(struct tui *t, void *ud)
{
    const struct pending *p = ud;
    const char *comment = tui_dialog_field(t, 0);
    if (!*comment) {
        tui_message(t, TUI_WARNING, "not acknowledged: a comment is required "
                                    "(the cause, the steps taken and the result)");
        return TUI_REDRAW;
    }
    if (!tui_poller_alert(t->poller, p->id, NULL, 0, comment))
        tui_message(t, TUI_WARNING, "another action is still running");
    return TUI_REDRAW;
}

static int run_silence(struct tui *t, void *ud)
{
    const struct pending *p = ud;
    const char *span = tui_dialog_field(t, 0), *comment = tui_dialog_field(t, 1);
    int64_t for_ms = 0;
    if (hm_parse_duration(span, &for_ms) < 0 || for_ms <= 0) {
        tui_message(t, TUI_WARNING, "not silenced: invalid duration '%s' (e.g. 30m, 2h, 1d)", span);
        return TUI_REDRAW;
    }
    if (!*comment) {
        tui_message(t, TUI_WARNING, "not silenced: a comment is required (say why)");
        return TUI_REDRAW;
    }
    if (!tui_poller_alert(t->poller, p->id, p->matchers, for_ms, comment))
        tui_message(t, TUI_WARNING, "another action is still running");
    return TUI_REDRAW;
}

static struct pending *pending_of(const struct tui_alert *a)
{
    struct pending *p = xcalloc(1, sizeof *p);
    p->id = a->id;
    snprintf(p->matchers, sizeof p->matchers, "%s", a->matchers);
    return p;
}

static int act_ack(struct tui *t, void *state)
{
    if (!tui_action_allowed(t, "ack")) return TUI_REDRAW;
    const struct tui_alert *a = selected(t, state);
    if (!a) return TUI_DONE;
    char q[256];
    snprintf(q, sizeof q, "Acknowledge alert %lld, %s on %s?", (long long)a->id, a->rule,
             a->subject);
    static const char *const labels[] = {"Comment (cause, steps, result):"};
    const char *values[] = {a->acknowledged ? a->ack_comment : NULL};
    tui_form(t, "Acknowledge alert", q, labels, values, 1, run_ack, pending_of(a));
    return TUI_REDRAW;
}

static int act_silence(struct tui *t, void *state)
{
    if (!tui_action_allowed(t, "silence")) return TUI_REDRAW;
    const struct tui_alert *a = selected(t, state);
    if (!a) return TUI_DONE;
    char q[256];
    snprintf(q, sizeof q, "Silence %s on %s (no notifications)?", a->rule, a->subject);
    static const char *const labels[] = {"For:", "Comment:"};
    static const char *const values[] = {"2h", NULL};
    tui_form(t, "Silence alert", q, labels, values, 2, run_silence, pending_of(a));
    return TUI_REDRAW;
}

static bool has_rows(const struct tui *t, void *state)
{
    return state && ((struct tui_list *)state)->shown > 0;
}

static const struct tui_key alerts_keys[] = {
    {.keys = {KEY_UP, 'k'}, .name = "up", .help = "select the previous alert", .footer = "Select",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_list_up},
    {.keys = {KEY_DOWN, 'j'}, .name = "down", .help = "select the next alert", .fn = tui_list_down},
    {.keys = {KEY_PPAGE}, .name = "page-up", .help = "one page up", .fn = tui_list_page_up},
    {.keys = {KEY_NPAGE, ' '}, .name = "page-down", .help = "one page down", .fn = tui_list_page_down},
    {.keys = {KEY_HOME, 'g'}, .name = "home", .help = "the first alert", .fn = tui_list_home},
    {.keys = {KEY_END, 'G'}, .name = "end", .help = "the last alert", .fn = tui_list_end},
    {.keys = {'\r', '\n', KEY_ENTER}, .name = "details", .help = "show the alert's details",
     .footer = "Details", .fn = tui_list_details, .available = has_rows},
    {.keys = {27}, .name = "back", .help = "close the details, then clear the filter",
     .fn = tui_list_back},
    {.keys = {'/'}, .name = "filter", .help = "filter by rule, subject, labels, severity or state",
     .footer = "Filter", .fn = tui_list_filter},
    {.keys = {'s', KEY_F(6)}, .name = "sort", .help = "sort by the next column", .footer = "Sort",
     .fn = tui_list_sort},
    {.keys = {'I'}, .name = "reverse", .help = "reverse the sort order", .fn = tui_list_reverse},
    {.keys = {'a'}, .name = "ack", .help = "acknowledge the alert with a comment (asks first)",
     .footer = "Ack", .fn = act_ack, .available = has_rows, .action = true},
    {.keys = {'S'}, .name = "silence",
     .help = "silence the alert for a while with a comment (asks first)", .footer = "Silence",
     .fn = act_silence, .available = has_rows, .action = true},
    {.keys = {0}},
};

const struct tui_screen tui_screen_alerts = {
    .name = "alerts",
    .title = "Alerts",
    .open = alerts_open,
    .close = alerts_close,
    .draw = alerts_draw,
    .keys = alerts_keys,
    .position = tui_list_position,
    .click = tui_list_click,
    .filter_changed = tui_list_filter_changed,
    .filter_text = tui_list_filter_text,
};
