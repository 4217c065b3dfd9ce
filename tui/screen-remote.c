/* The Remote screen: the hosts of the SSH inventory by role (sync proxies, Linux agents,
 * gateways, Linux hosts, jump hosts), each with its state and detail, from the components of
 * those kinds in the local poll; a line of up/total per role, a filter, a sort column and a
 * detail pane. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui-int.h"

static const char *const roles[] = {"sync_proxy", "linux_agent", "gateway", "linux", "jump"};

struct remote {
    struct tui_list list; /* first, for the shared list actions */
};

enum { C_ROLE, C_HOST, C_STATE, C_STATUS, C_DETAIL };

static const struct tui_column columns[] = {
    {"ROLE", 6, 12, false, "role"},
    {"HOST", 10, 28, false, "host"},
    {"STATE", 8, 8, false, "state"},
    {"STATUS", 6, 16, false, NULL},
    {"DETAIL", 10, 0, false, NULL},
};

static int role_index(const char *kind)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(roles); i++)
        if (strcmp(kind, roles[i]) == 0) return (int)i;
    return -1;
}

static enum tui_role cell(struct tui *t, void *state, size_t r, size_t col, char *buf, size_t size)
{
    const hm_component *c = &tui_result(t)->components[r];
    switch (col) {
    case C_ROLE: snprintf(buf, size, "%s", c->kind); return TUI_NORMAL;
    case C_HOST: snprintf(buf, size, "%s", c->name); return TUI_NORMAL;
    case C_STATE: snprintf(buf, size, "%s", hm_state_name(c->state)); return tui_state_role(c->state);
    case C_STATUS: snprintf(buf, size, "%s", c->status ? c->status : "-"); return tui_state_role(c->state);
    default: snprintf(buf, size, "%s", c->detail ? c->detail : ""); return TUI_NORMAL;
    }
}

static const struct tui_list_ops ops = {columns, HM_ARRAY_LEN(columns), cell};

struct sort_ctx {
    const hm_component *v;
    const char *field;
    bool reverse;
};

static int cmp_remote(const void *pa, const void *pb, void *ud)
{
    const struct sort_ctx *s = ud;
    const hm_component *a = &s->v[*(const size_t *)pa], *b = &s->v[*(const size_t *)pb];
    int c = 0;
    if (!strcmp(s->field, "state")) c = (int)b->state - (int)a->state;
    else if (!strcmp(s->field, "role")) c = role_index(a->kind) - role_index(b->kind);
    if (!c) c = strcmp(a->name, b->name);
    if (!c) c = role_index(a->kind) - role_index(b->kind);
    return s->reverse ? -c : c;
}

static void remote_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct remote *rs = state;
    const hm_result *res = tui_result(t);
    int x = a->x + 1, w = a->w - 2;
    rs->list.shown = 0;
    if (!res) {
        tui_put(t, a->y, x, w, TUI_DIM, false, "collecting...");
        return;
    }
    size_t *order = xcalloc(res->n_components + 1, sizeof *order), n = 0, total = 0;
    int up[HM_ARRAY_LEN(roles)] = {0}, all[HM_ARRAY_LEN(roles)] = {0};
    for (size_t i = 0; i < res->n_components; i++) {
        const hm_component *c = &res->components[i];
        int r = role_index(c->kind);
        if (r < 0) continue;
        total++;
        all[r]++;
        up[r] += c->state == HM_OK;
        if (tui_list_match(&rs->list, c->name) || tui_list_match(&rs->list, c->kind) ||
            tui_list_match(&rs->list, c->detail))
            order[n++] = i;
    }
    if (!total) {
        tui_put(t, a->y, x, w, TUI_DIM, false, "no remote host is watched");
        tui_put(t, a->y + 1, x, w, TUI_DIM, false,
                "(sync proxies, Linux agents, gateways, Linux and jump hosts of the SSH inventory)");
        free(order);
        return;
    }
    /* up/total per role */
    int cx = x;
    for (size_t r = 0; r < HM_ARRAY_LEN(roles) && cx < x + w; r++) {
        if (!all[r]) continue;
        char buf[64];
        snprintf(buf, sizeof buf, "%s ", roles[r]);
        cx += tui_put(t, a->y, cx, x + w - cx, TUI_HEADING, false, buf);
        snprintf(buf, sizeof buf, "%d/%d up   ", up[r], all[r]);
        cx += tui_put(t, a->y, cx, x + w - cx, up[r] == all[r] ? TUI_OK : TUI_CRITICAL, false, buf);
    }
    struct sort_ctx s = {res->components, tui_list_sort_field(&rs->list), rs->list.reverse};
    if (n) qsort_r(order, n, sizeof *order, cmp_remote, &s);
    struct tui_rect area = {a->y + 1, a->x, a->h - 1, a->w}, list, pane;
    if (!n) {
        tui_put(t, area.y, x, w, TUI_DIM, false, "no remote host matches the filter");
        rs->list.detail = false;
        free(order);
        return;
    }
    tui_list_split(&rs->list, &area, &list, &pane);
    tui_list_draw(t, &rs->list, &ops, rs, order, n, &list);
    if (rs->list.detail) {
        const hm_component *c = &res->components[order[rs->list.sel]];
        tui_box(t, pane.y, pane.x, pane.h, pane.w, TUI_NORMAL, c->name);
        int y = pane.y + 1;
        char buf[512];
        snprintf(buf, sizeof buf, "%s, %s%s%s", c->kind, hm_state_name(c->state), c->status ? ": " : "",
                 c->status ? c->status : "");
        if (y < pane.y + pane.h - 1) tui_put(t, y++, pane.x + 2, pane.w - 4, tui_state_role(c->state), false, buf);
        if (y < pane.y + pane.h - 1) tui_put(t, y++, pane.x + 2, pane.w - 4, TUI_NORMAL, false, c->detail);
    }
    free(order);
}

static void *remote_open(struct tui *t)
{
    struct remote *rs = xcalloc(1, sizeof *rs);
    rs->list.ops = &ops;
    return rs;
}

static void remote_close(void *state)
{
    free(state);
}

static bool has_rows(const struct tui *t, void *state)
{
    return state && ((struct tui_list *)state)->shown > 0;
}

static const struct tui_key remote_keys[] = {
    {.keys = {KEY_UP, 'k'}, .name = "up", .help = "select the previous host", .footer = "Select",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_list_up, .available = has_rows},
    {.keys = {KEY_DOWN, 'j'}, .name = "down", .help = "select the next host", .fn = tui_list_down,
     .available = has_rows},
    {.keys = {KEY_PPAGE}, .name = "page-up", .help = "one page up", .fn = tui_list_page_up,
     .available = has_rows},
    {.keys = {KEY_NPAGE, ' '}, .name = "page-down", .help = "one page down",
     .fn = tui_list_page_down, .available = has_rows},
    {.keys = {KEY_HOME, 'g'}, .name = "home", .help = "the first host", .fn = tui_list_home,
     .available = has_rows},
    {.keys = {KEY_END, 'G'}, .name = "end", .help = "the last host", .fn = tui_list_end,
     .available = has_rows},
    {.keys = {'\r', '\n', KEY_ENTER}, .name = "details", .help = "show the host's detail",
     .footer = "Details", .fn = tui_list_details, .available = has_rows},
    {.keys = {27}, .name = "back", .help = "close the details, then clear the filter",
     .fn = tui_list_back},
    {.keys = {'/'}, .name = "filter", .help = "filter by host, role or detail", .footer = "Filter",
     .fn = tui_list_filter},
    {.keys = {'s', KEY_F(6)}, .name = "sort", .help = "sort by the next column", .footer = "Sort",
     .fn = tui_list_sort},
    {.keys = {'I'}, .name = "reverse", .help = "reverse the sort order", .fn = tui_list_reverse},
    {.keys = {0}},
};

const struct tui_screen tui_screen_remote = {
    .name = "remote",
    .title = "Remote",
    .open = remote_open,
    .close = remote_close,
    .draw = remote_draw,
    .keys = remote_keys,
    .position = tui_list_position,
    .click = tui_list_click,
    .filter_changed = tui_list_filter_changed,
    .filter_text = tui_list_filter_text,
};
