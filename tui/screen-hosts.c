/* The Hosts screen: every protected host of the configured consoles with its status, boot,
 * health, sync progress and speed, snapshot age against its RPO target and licence; a filter,
 * a sort column, and a detail pane with the host's snapshots and recent jobs (read by the
 * poller's console thread on request). The sorted order is kept until the data, the filter or
 * the sort change, so 10,000 hosts scroll without sorting them again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "tui/tui-int.h"

struct hosts {
    struct tui_list list; /* first, for the shared list actions */
    char sel_id[64];      /* the selected host, kept across reads */
    int drawn_sel;
    /* the cached order */
    unsigned long cycle;
    char filter[128];
    int sort;
    bool reverse, have_order;
    size_t *order, n;
    char requested[64];   /* the host whose detail was asked for */
};

enum { C_NAME, C_STATUS, C_BOOT, C_HEALTH, C_SYNC, C_AGE, C_LICENCE };

static const struct tui_column columns[] = {
    {"NAME", 12, 0, false, "name"},
    {"STATUS", 10, 22, false, "status"},
    {"BOOT", 8, 12, false, "boot"},
    {"HEALTH", 8, 12, false, "health"},
    {"SYNC", 4, 16, true, "sync"},
    {"SNAP AGE", 8, 12, true, "age"},
    {"LICENCE", 7, 7, false, NULL},
};

static const struct tui_host *host_at(const struct tui *t, size_t r)
{
    return &tui_console_data(t)->hosts[r];
}

static bool beyond_rpo(const struct tui_host *h, int64_t now)
{
    return h->last_snap_ms && now - h->last_snap_ms > h->rpo_ms;
}

static bool has(const char *s, const char *part)
{
    return s && strstr(s, part);
}

static enum tui_role cell(struct tui *t, void *state, size_t r, size_t col, char *buf, size_t size)
{
    const struct tui_host *h = host_at(t, r);
    int64_t now = hm_now_ms();
    switch (col) {
    case C_NAME:
        snprintf(buf, size, "%s", h->name);
        return TUI_NORMAL;
    case C_STATUS:
        snprintf(buf, size, "%s", h->status);
        return has(h->status, "failed") ? TUI_CRITICAL : has(h->status, "doing") ? TUI_WARNING : TUI_NORMAL;
    case C_BOOT:
        snprintf(buf, size, "%s", h->boot);
        return has(h->boot, "failed") ? TUI_CRITICAL : has(h->boot, "doing") ? TUI_WARNING : TUI_NORMAL;
    case C_HEALTH:
        snprintf(buf, size, "%s", h->health);
        return h->health[0] && strcmp(h->health, "active") != 0 ? TUI_CRITICAL : TUI_NORMAL;
    case C_SYNC:
        if (h->percent >= 0)
            snprintf(buf, size, "%.0f%%%s%s", h->percent, h->speed[0] ? " " : "", h->speed);
        else snprintf(buf, size, "-");
        return h->percent >= 0 ? TUI_OK : TUI_DIM;
    case C_AGE:
        if (!h->last_snap_ms) {
            snprintf(buf, size, "none");
            return TUI_WARNING;
        }
        tui_format_age(now - h->last_snap_ms, buf, size);
        if (beyond_rpo(h, now)) {
            size_t n = strlen(buf);
            snprintf(buf + n, size - n, " !");
            return TUI_WARNING;
        }
        return TUI_NORMAL;
    default:
        snprintf(buf, size, "%s", h->license < 0 ? "-" : h->license ? "valid" : "expired");
        return h->license == 0 ? TUI_WARNING : TUI_NORMAL;
    }
}

static const struct tui_list_ops ops = {columns, HM_ARRAY_LEN(columns), cell};

struct sort_ctx {
    const struct tui_host *v;
    const char *field;
    bool reverse;
};

static int cmp_host(const void *pa, const void *pb, void *ud)
{
    const struct sort_ctx *s = ud;
    const struct tui_host *a = &s->v[*(const size_t *)pa], *b = &s->v[*(const size_t *)pb];
    int c = 0;
    if (!strcmp(s->field, "status")) c = strcmp(a->status, b->status);
    else if (!strcmp(s->field, "boot")) c = strcmp(a->boot, b->boot);
    else if (!strcmp(s->field, "health")) c = strcmp(a->health, b->health);
    else if (!strcmp(s->field, "sync")) c = (b->percent > a->percent) - (b->percent < a->percent);
    else if (!strcmp(s->field, "age")) {
        /* the oldest snapshot first; no snapshot at all is the oldest */
        c = (a->last_snap_ms > b->last_snap_ms) - (a->last_snap_ms < b->last_snap_ms);
    }
    if (!c) c = strcmp(a->name, b->name);
    if (!c) c = strcmp(a->console, b->console);
    return s->reverse ? -c : c;
}

static void build_order(const struct tui_console *c, struct hosts *hs)
{
    if (hs->have_order && hs->cycle == c->cycle && hs->sort == hs->list.sort &&
        hs->reverse == hs->list.reverse && strcmp(hs->filter, hs->list.filter) == 0)
        return;
    free(hs->order);
    hs->order = xcalloc(c->n_hosts ? c->n_hosts : 1, sizeof *hs->order);
    hs->n = 0;
    for (size_t i = 0; i < c->n_hosts; i++) {
        const struct tui_host *h = &c->hosts[i];
        if (tui_list_match(&hs->list, h->name) || tui_list_match(&hs->list, h->id) ||
            tui_list_match(&hs->list, h->ip) || tui_list_match(&hs->list, h->status))
            hs->order[hs->n++] = i;
    }
    struct sort_ctx s = {c->hosts, tui_list_sort_field(&hs->list), hs->list.reverse};
    if (hs->n) qsort_r(hs->order, hs->n, sizeof *hs->order, cmp_host, &s);
    hs->cycle = c->cycle;
    hs->sort = hs->list.sort;
    hs->reverse = hs->list.reverse;
    snprintf(hs->filter, sizeof hs->filter, "%s", hs->list.filter);
    hs->have_order = true;
}

static void pane_line(struct tui *t, const struct tui_rect *p, int *y, const char *label,
                      enum tui_role role, const char *value)
{
    if (*y >= p->y + p->h - 1) return;
    tui_put(t, *y, p->x + 2, 10, TUI_HEADING, false, label);
    tui_put(t, *y, p->x + 13, p->w - 15, role, false, value && *value ? value : "-");
    (*y)++;
}

static void short_time(int64_t ms, char *buf, size_t size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!ms || !localtime_r(&secs, &tm)) snprintf(buf, size, "-");
    else strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

static void draw_pane(struct tui *t, struct hosts *hs, const struct tui_host *h,
                      const struct tui_rect *p)
{
    tui_box(t, p->y, p->x, p->h, p->w, TUI_NORMAL, h->name);
    int y = p->y + 1;
    char buf[256], age[32];
    int64_t now = hm_now_ms();
    snprintf(buf, sizeof buf, "%s  %s  %s  console %s", h->os, h->source, h->ip, h->console);
    pane_line(t, p, &y, "Host", TUI_NORMAL, buf);
    if (h->last_snap_ms) {
        short_time(h->last_snap_ms, buf, sizeof buf);
        tui_format_age(now - h->last_snap_ms, age, sizeof age);
        size_t n = strlen(buf);
        char rpo[32];
        hm_format_duration(h->rpo_ms, rpo, sizeof rpo);
        snprintf(buf + n, sizeof buf - n, " (%s ago, RPO target %s)", age, rpo);
    } else {
        snprintf(buf, sizeof buf, "no snapshot yet");
    }
    pane_line(t, p, &y, "Snapshot", beyond_rpo(h, now) ? TUI_WARNING : TUI_NORMAL, buf);
    if (h->target[0]) pane_line(t, p, &y, "Target", TUI_NORMAL, h->target);

    /* ask the poller once per host; its answer arrives as t->detail */
    const struct tui_host_detail *d = t->detail;
    bool mine = d && d->id && strcmp(d->id, h->id) == 0;
    if (!mine && strcmp(hs->requested, h->id) != 0) {
        tui_poller_want_detail(t->poller, h->console, h->id, h->name);
        snprintf(hs->requested, sizeof hs->requested, "%s", h->id);
    }
    if (!mine) {
        pane_line(t, p, &y, "Snapshots", TUI_DIM, "reading...");
        return;
    }
    if (d->error) {
        pane_line(t, p, &y, "Error", TUI_CRITICAL, d->error);
        return;
    }
    if (y < p->y + p->h - 1) tui_put(t, y++, p->x + 2, p->w - 4, TUI_HEADING, false, "Snapshots");
    if (!d->n_snaps && y < p->y + p->h - 1) tui_put(t, y++, p->x + 4, p->w - 6, TUI_DIM, false, "none");
    /* the newest snapshots, leaving room for a few jobs */
    size_t snaps = p->h >= 18 ? 6 : p->h >= 14 ? 4 : 2;
    for (size_t i = 0; i < d->n_snaps && i < snaps && y < p->y + p->h - 1; i++) {
        char when[32], size[32];
        short_time(d->snaps[i].created_ms, when, sizeof when);
        hm_format_bytes((uint64_t)(d->snaps[i].size > 0 ? d->snaps[i].size : 0), size, sizeof size);
        snprintf(buf, sizeof buf, "%s  %-14s %-12s %s", when, d->snaps[i].name ? d->snaps[i].name : "",
                 d->snaps[i].status ? d->snaps[i].status : "", size);
        tui_put(t, y++, p->x + 4, p->w - 6,
                has(d->snaps[i].status, "failed") ? TUI_CRITICAL : TUI_NORMAL, false, buf);
    }
    if (y < p->y + p->h - 1) tui_put(t, y++, p->x + 2, p->w - 4, TUI_HEADING, false, "Recent jobs");
    if (!d->n_jobs && y < p->y + p->h - 1)
        tui_put(t, y++, p->x + 4, p->w - 6, TUI_DIM, false, "none in 30 days");
    for (size_t i = 0; i < d->n_jobs && y < p->y + p->h - 1; i++) {
        char when[32];
        short_time(d->jobs[i].start_ms, when, sizeof when);
        snprintf(buf, sizeof buf, "%s  %-10s %-7s %s", when, d->jobs[i].type ? d->jobs[i].type : "",
                 d->jobs[i].status ? d->jobs[i].status : "", d->jobs[i].detail ? d->jobs[i].detail : "");
        tui_put(t, y++, p->x + 4, p->w - 6,
                has(d->jobs[i].status, "failed") ? TUI_CRITICAL : TUI_NORMAL, false, buf);
    }
}

static void hosts_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct hosts *hs = state;
    const struct tui_console *c = tui_console_data(t);
    int x = a->x + 1, w = a->w - 2;
    if (!c) {
        tui_put(t, a->y, x, w, TUI_DIM, false, "reading the consoles...");
        hs->list.shown = 0;
        return;
    }
    if (!c->configured) {
        tui_put(t, a->y, x, w, TUI_DIM, false,
                "no console configured: add a [console] section to hmctl.conf (see hmctl.conf(5))");
        hs->list.shown = 0;
        return;
    }
    /* the first line: how many, when read, and a failed read's error in place */
    char when[96], line[256];
    bool stale = tui_age_text(t, c->wall_ms, c->mono_ms, c->next_ms - c->mono_ms + 2 * t->opt->interval_ms,
                              when, sizeof when);
    build_order(c, hs);
    snprintf(line, sizeof line, "%zu host%s", c->n_hosts, c->n_hosts == 1 ? "" : "s");
    if (hs->list.filter[0]) snprintf(line + strlen(line), sizeof line - strlen(line), ", %zu shown", hs->n);
    int cx = x + tui_put(t, a->y, x, w, TUI_HEADING, false, line);
    cx += 2;
    if (c->hosts_err) {
        tui_put(t, a->y, cx, x + w - cx, TUI_CRITICAL, false, c->hosts_err);
    } else {
        tui_put(t, a->y, cx, x + w - cx, stale ? TUI_WARNING : TUI_DIM, false, when);
    }
    struct tui_rect area = {a->y + 1, a->x, a->h - 1, a->w};
    if (!hs->n) {
        tui_put(t, area.y, x, w, TUI_DIM, false, c->n_hosts ? "no host matches the filter" : "no host");
        hs->list.shown = 0;
        hs->list.detail = false;
        return;
    }
    for (size_t i = 0; i < hs->n && hs->sel_id[0] && hs->list.sel == hs->drawn_sel; i++)
        if (strcmp(c->hosts[hs->order[i]].id, hs->sel_id) == 0) hs->list.sel = (int)i;
    struct tui_rect list, pane;
    tui_list_split(&hs->list, &area, &list, &pane);
    tui_list_draw(t, &hs->list, &ops, hs, hs->order, hs->n, &list);
    const struct tui_host *h = &c->hosts[hs->order[hs->list.sel]];
    snprintf(hs->sel_id, sizeof hs->sel_id, "%s", h->id);
    hs->drawn_sel = hs->list.sel;
    if (hs->list.detail) draw_pane(t, hs, h, &pane);
}

static void *hosts_open(struct tui *t)
{
    struct hosts *hs = xcalloc(1, sizeof *hs);
    hs->list.ops = &ops;
    hs->drawn_sel = -1;
    return hs;
}

static void hosts_close(void *state)
{
    struct hosts *hs = state;
    if (hs) free(hs->order);
    free(hs);
}

static int act_details(struct tui *t, void *state)
{
    struct hosts *hs = state;
    hs->requested[0] = '\0'; /* read it afresh */
    return tui_list_details(t, state);
}

static bool has_rows(const struct tui *t, void *state)
{
    return state && ((struct tui_list *)state)->shown > 0;
}

static const struct tui_key hosts_keys[] = {
    {.keys = {KEY_UP, 'k'}, .name = "up", .help = "select the previous host", .footer = "Select",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_list_up},
    {.keys = {KEY_DOWN, 'j'}, .name = "down", .help = "select the next host", .fn = tui_list_down},
    {.keys = {KEY_PPAGE}, .name = "page-up", .help = "one page up", .fn = tui_list_page_up},
    {.keys = {KEY_NPAGE, ' '}, .name = "page-down", .help = "one page down", .fn = tui_list_page_down},
    {.keys = {KEY_HOME, 'g'}, .name = "home", .help = "the first host", .fn = tui_list_home},
    {.keys = {KEY_END, 'G'}, .name = "end", .help = "the last host", .fn = tui_list_end},
    {.keys = {'\r', '\n', KEY_ENTER}, .name = "details",
     .help = "show the host's snapshots and recent jobs", .footer = "Details", .fn = act_details,
     .available = has_rows},
    {.keys = {27}, .name = "back", .help = "close the details, then clear the filter",
     .fn = tui_list_back},
    {.keys = {'/'}, .name = "filter", .help = "filter by name, id, address or status",
     .footer = "Filter", .fn = tui_list_filter},
    {.keys = {'s', KEY_F(6)}, .name = "sort", .help = "sort by the next column", .footer = "Sort",
     .fn = tui_list_sort},
    {.keys = {'I'}, .name = "reverse", .help = "reverse the sort order", .fn = tui_list_reverse},
    {.keys = {0}},
};

const struct tui_screen tui_screen_hosts = {
    .name = "hosts",
    .title = "Hosts",
    .open = hosts_open,
    .close = hosts_close,
    .draw = hosts_draw,
    .keys = hosts_keys,
    .position = tui_list_position,
    .click = tui_list_click,
    .filter_changed = tui_list_filter_changed,
    .filter_text = tui_list_filter_text,
};
