/* The Overview screen: what `hmctl status` shows (services with their State, the disk-space and
 * port lines, then every other component), under a meters line for the host and the RabbitMQ
 * queue depths. Issue 7 grows it into health tiles; the list below becomes the Services
 * screen then. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/remote.h"
#include "core/core.h"
#include "tui/tui-int.h"

struct overview {
    struct tui_scroll scroll; /* first, for the shared scroll actions */
};

enum row_kind { ROW_BLANK, ROW_HEADING, ROW_ITEM };

struct row {
    enum row_kind kind;
    const char *heading[3];
    const hm_component *c;
    bool seed_line; /* a disk/port line of the seed's status: name capitalised, State shown */
};

static bool is_kind(const hm_component *c, const char *kind)
{
    return strcmp(c->kind, kind) == 0;
}

/* The seed's middle block: log space, program space, free disk, the console port. */
static bool is_seed_line(const hm_component *c)
{
    return is_kind(c, "disk") || is_kind(c, "port");
}

static const char *row_state(const struct row *r)
{
    const hm_component *c = r->c;
    if (is_kind(c, "container") || r->seed_line)
        return c->status ? c->status : hm_state_name(c->state);
    /* a remote host that could not be polled says why: "unreachable", "host key unknown" */
    if (remote_is_role_kind(c->kind) && c->status && strcmp(c->status, "up") != 0)
        return c->status;
    return hm_state_name(c->state);
}

/* The rows in `hmctl status` order; returns how many (rows has room for 2n + 6). */
static size_t build_rows(const hm_result *res, struct row *rows)
{
    size_t n = 0;
    bool any = false;
    for (size_t i = 0; i < res->n_components; i++) {
        const hm_component *c = &res->components[i];
        if (!is_kind(c, "container")) continue;
        if (!any) rows[n++] = (struct row){ROW_HEADING, {"SERVICE", "STATE", "DETAIL"}, NULL, false};
        any = true;
        rows[n++] = (struct row){ROW_ITEM, {0}, c, false};
    }
    bool first = true;
    for (size_t i = 0; i < res->n_components; i++) {
        const hm_component *c = &res->components[i];
        if (!is_seed_line(c)) continue;
        if (first && n) rows[n++] = (struct row){ROW_BLANK, {0}, NULL, false};
        first = false;
        rows[n++] = (struct row){ROW_ITEM, {0}, c, true};
    }
    first = true;
    for (size_t i = 0; i < res->n_components; i++) {
        const hm_component *c = &res->components[i];
        if (is_kind(c, "container") || is_seed_line(c) || remote_is_role_kind(c->kind)) continue;
        if (first) {
            if (n) rows[n++] = (struct row){ROW_BLANK, {0}, NULL, false};
            rows[n++] = (struct row){ROW_HEADING, {"COMPONENT", "STATE", "DETAIL"}, NULL, false};
        }
        first = false;
        rows[n++] = (struct row){ROW_ITEM, {0}, c, false};
    }
    /* the SSH hosts, by role as `hmctl status` groups them */
    first = true;
    for (int role = REMOTE_SYNC_PROXY; role <= REMOTE_JUMP; role++) {
        for (size_t i = 0; i < res->n_components; i++) {
            const hm_component *c = &res->components[i];
            if (!is_kind(c, remote_role_name((enum remote_role)role))) continue;
            if (first) {
                if (n) rows[n++] = (struct row){ROW_BLANK, {0}, NULL, false};
                rows[n++] = (struct row){ROW_HEADING, {"REMOTE", "STATE", "DETAIL"}, NULL, false};
            }
            first = false;
            rows[n++] = (struct row){ROW_ITEM, {0}, c, false};
        }
    }
    return n;
}

/* "log space" -> "Log space", as the seed's status prints it. */
static void row_name(const struct row *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s", r->c->name);
    if (r->seed_line && buf[0] >= 'a' && buf[0] <= 'z') buf[0] = (char)toupper((unsigned char)buf[0]);
}

static void draw_row(struct tui *t, const struct row *r, int y, int x, int name_w, int state_w,
                     int w)
{
    if (r->kind == ROW_BLANK) return;
    int detail_x = x + name_w + 2 + state_w + 2;
    if (r->kind == ROW_HEADING) {
        tui_put(t, y, x, name_w, TUI_HEADING, false, r->heading[0]);
        tui_put(t, y, x + name_w + 2, state_w, TUI_HEADING, false, r->heading[1]);
        tui_put(t, y, detail_x, x + w - detail_x, TUI_HEADING, false, r->heading[2]);
        return;
    }
    char name[256];
    row_name(r, name, sizeof name);
    tui_put(t, y, x, name_w, TUI_NORMAL, false, name);
    tui_put(t, y, x + name_w + 2, state_w, tui_state_role(r->c->state), false, row_state(r));
    tui_put(t, y, detail_x, x + w - detail_x, TUI_NORMAL, false, r->c->detail);
}

/* Queue depths from rabbitmq.queue.messages{queue="NAME"} samples. */
static int draw_queues(struct tui *t, const hm_result *res, int y, int x, int w)
{
    static const char prefix[] = "rabbitmq.queue.messages{queue=\"";
    double warn = cfg_get_number(t->opt->cfg, "thresholds", NULL, "queue_warning", 10);
    bool any = false;
    int cx = x;
    for (size_t i = 0; i < res->n_samples && cx < x + w; i++) {
        const hm_sample *s = &res->samples[i];
        if (!hm_starts_with(s->series, prefix)) continue;
        if (!any) cx += tui_put(t, y, cx, x + w - cx, TUI_HEADING, false, "Queues ");
        any = true;
        const char *name = s->series + sizeof prefix - 1;
        size_t len = strcspn(name, "\"");
        char buf[160];
        snprintf(buf, sizeof buf, " %.*s", (int)(len < 120 ? len : 120), name);
        cx += tui_put(t, y, cx, x + w - cx, TUI_NORMAL, false, buf);
        snprintf(buf, sizeof buf, " %.0f ", s->value);
        cx += tui_put(t, y, cx, x + w - cx, s->value >= warn ? TUI_WARNING : TUI_OK, false, buf);
    }
    return any ? 1 : 0;
}

static void draw_meters(struct tui *t, const hm_result *res, int y, int x, int w)
{
    static const struct {
        const char *label, *series, *wkey, *ckey;
    } meters[] = {
        {"CPU ", "host.cpu.percent", "cpu_warning", "cpu_critical"},
        {"Mem ", "host.memory.percent", "memory_warning", "memory_critical"},
        {"Disk ", "host.disk.root.percent", "disk_warning", "disk_critical"},
    };
    int each = (w - 4) / 3;
    for (size_t i = 0; i < HM_ARRAY_LEN(meters); i++) {
        double v = -1;
        if (res) hm_result_value(res, meters[i].series, &v);
        /* Thresholds as `check` uses them ([thresholds], defaults 80/90 percent). */
        double warn = cfg_get_number(t->opt->cfg, "thresholds", NULL, meters[i].wkey, 80);
        double crit = cfg_get_number(t->opt->cfg, "thresholds", NULL, meters[i].ckey, 90);
        tui_meter(t, y, x + (int)i * (each + 2), each, meters[i].label, v, warn, crit);
    }
}

static void overview_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct overview *ov = state;
    const hm_result *res = tui_result(t);
    int y = a->y, x = a->x + 1, w = a->w - 2;
    if (a->h < 2 || w < 10) return;
    draw_meters(t, res, y++, x, w);
    if (res && y < a->y + a->h) y += draw_queues(t, res, y, x, w);
    y++; /* a blank line before the table */
    int h = a->y + a->h - y;
    if (!res) {
        if (h > 0) tui_put(t, y, x, w, TUI_DIM, false, "collecting from every source...");
        ov->scroll.total = ov->scroll.visible = 0;
        return;
    }
    struct row *rows = xcalloc(2 * res->n_components + 6, sizeof *rows);
    size_t n = build_rows(res, rows);
    int name_w = 8, state_w = 5;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].kind != ROW_ITEM) continue;
        char name[256];
        row_name(&rows[i], name, sizeof name);
        int nw = tui_text_width(t, name), sw = tui_text_width(t, row_state(&rows[i]));
        if (nw > name_w) name_w = nw;
        if (sw > state_w) state_w = sw;
    }
    /* Names and States keep to a third of the width; the detail gets the rest. */
    int cap = w / 3 > 12 ? w / 3 : 12;
    if (name_w > cap) name_w = cap;
    if (state_w > 20) state_w = 20;

    ov->scroll.total = (int)n;
    ov->scroll.visible = h > 0 ? h : 0;
    tui_scroll_clamp(&ov->scroll);
    for (int i = 0; i < ov->scroll.visible && ov->scroll.top + i < (int)n; i++)
        draw_row(t, &rows[ov->scroll.top + i], y + i, x, name_w, state_w, w);
    free(rows);
}

static void *overview_open(struct tui *t)
{
    return xcalloc(1, sizeof(struct overview));
}

static void overview_close(void *state)
{
    free(state);
}

static const struct tui_key overview_keys[] = {
    {.keys = {KEY_UP, 'k'}, .label = {"Up/k", "\xe2\x86\x91/k"}, .name = "up",
     .help = "scroll up one line", .footer = "Scroll",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_scroll_up},
    {.keys = {KEY_DOWN, 'j'}, .label = {"Down/j", "\xe2\x86\x93/j"}, .name = "down",
     .help = "scroll down one line", .fn = tui_scroll_down},
    {.keys = {KEY_PPAGE}, .label = {"PgUp"}, .name = "page-up", .help = "scroll up one page",
     .fn = tui_scroll_page_up},
    {.keys = {KEY_NPAGE, ' '}, .label = {"PgDn/Space"}, .name = "page-down",
     .help = "scroll down one page", .fn = tui_scroll_page_down},
    {.keys = {KEY_HOME, 'g'}, .label = {"Home/g"}, .name = "home", .help = "go to the first line",
     .fn = tui_scroll_home},
    {.keys = {KEY_END, 'G'}, .label = {"End/G"}, .name = "end", .help = "go to the last line",
     .fn = tui_scroll_end},
    {.keys = {0}},
};

const struct tui_screen tui_screen_overview = {
    .name = "overview",
    .title = "Overview",
    .open = overview_open,
    .close = overview_close,
    .draw = overview_draw,
    .keys = overview_keys,
    .position = tui_scroll_position,
};
