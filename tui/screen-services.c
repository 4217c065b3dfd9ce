/* The Services screen: the console's containers with their State, health, restart count and
 * uptime, sortable and filterable, a detail pane, and start, stop and restart behind a
 * confirmation dialog (run by the poller's action thread, so the screen never waits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "tui/tui-int.h"

struct services {
    struct tui_list list; /* first, for the shared list actions */
    char sel_name[128];   /* the selected service, kept across refreshes */
    int drawn_sel;        /* the selection as last drawn: unchanged means no key moved it */
};

enum { C_NAME, C_STATE, C_HEALTH, C_RESTARTS, C_UPTIME, C_IMAGE };

static const struct tui_column columns[] = {
    {"SERVICE", 10, 24, false, "name"},
    {"STATE", 12, 22, false, "state"},
    {"HEALTH", 9, 10, false, "health"},
    {"RESTARTS", 8, 8, true, "restarts"},
    {"UPTIME", 8, 10, true, "uptime"},
    {"IMAGE", 8, 0, false, NULL},
};

static const docker_list *services_of(const struct tui *t)
{
    const struct tui_local *l = tui_local_data(t);
    return l ? &l->services : NULL;
}

static void uptime_text(const docker_container *c, char *buf, size_t size)
{
    buf[0] = '\0';
    if (c->state && strcmp(c->state, "running") == 0 && c->started_ms)
        tui_format_age(hm_now_ms() - c->started_ms, buf, size);
}

static enum tui_role cell(struct tui *t, void *state, size_t r, size_t col, char *buf, size_t size)
{
    const docker_list *l = services_of(t);
    const docker_container *c = &l->v[r];
    enum hm_state st = docker_container_state(c);
    char *text;
    switch (col) {
    case C_NAME:
        snprintf(buf, size, "%s", docker_display_name(l, c));
        return TUI_NORMAL;
    case C_STATE:
        text = docker_status_text(c);
        snprintf(buf, size, "%s", text);
        free(text);
        return tui_state_role(st);
    case C_HEALTH:
        snprintf(buf, size, "%s", c->health ? c->health : "-");
        return c->health && strcmp(c->health, "unhealthy") == 0 ? TUI_CRITICAL
             : c->health && strcmp(c->health, "healthy") == 0   ? TUI_OK : TUI_DIM;
    case C_RESTARTS:
        snprintf(buf, size, "%ld", c->restarts);
        return c->restarts > 0 ? TUI_WARNING : TUI_NORMAL;
    case C_UPTIME:
        uptime_text(c, buf, size);
        if (!buf[0]) snprintf(buf, size, "-");
        return TUI_NORMAL;
    default:
        snprintf(buf, size, "%s", c->image ? c->image : "");
        return TUI_DIM;
    }
}

static const struct tui_list_ops ops = {columns, HM_ARRAY_LEN(columns), cell};

struct sort_ctx {
    const docker_list *l;
    const char *field;
    bool reverse;
};

static int cmp_service(const void *pa, const void *pb, void *ud)
{
    const struct sort_ctx *s = ud;
    const docker_container *a = &s->l->v[*(const size_t *)pa], *b = &s->l->v[*(const size_t *)pb];
    int c = 0;
    if (!strcmp(s->field, "state")) c = (int)docker_container_state(b) - (int)docker_container_state(a);
    else if (!strcmp(s->field, "health"))
        c = strcmp(a->health ? a->health : "", b->health ? b->health : "");
    else if (!strcmp(s->field, "restarts")) c = (b->restarts > a->restarts) - (b->restarts < a->restarts);
    else if (!strcmp(s->field, "uptime")) c = (a->started_ms < b->started_ms) - (a->started_ms > b->started_ms);
    if (!c) c = strcmp(docker_display_name(s->l, a), docker_display_name(s->l, b));
    return s->reverse ? -c : c;
}

/* The shown rows: filtered by name, State or image, sorted. Returns the count. */
static size_t build_order(struct tui *t, struct services *sv, size_t **order)
{
    const docker_list *l = services_of(t);
    *order = xcalloc(l && l->n ? l->n : 1, sizeof **order);
    size_t n = 0;
    for (size_t i = 0; l && i < l->n; i++) {
        char *st = docker_status_text(&l->v[i]);
        if (tui_list_match(&sv->list, docker_display_name(l, &l->v[i])) ||
            tui_list_match(&sv->list, st) || tui_list_match(&sv->list, l->v[i].image))
            (*order)[n++] = i;
        free(st);
    }
    struct sort_ctx s = {l, tui_list_sort_field(&sv->list), sv->list.reverse};
    if (n) qsort_r(*order, n, sizeof **order, cmp_service, &s);
    return n;
}

/* The selected service as the keys left it (they may have moved it since the last draw). */
static const docker_container *selected(struct tui *t, struct services *sv)
{
    const docker_list *l = services_of(t);
    if (!l || sv->list.shown <= 0) return NULL;
    size_t *order;
    size_t n = build_order(t, sv, &order);
    const docker_container *c = NULL;
    if (n && sv->list.sel >= 0 && (size_t)sv->list.sel < n) c = &l->v[order[sv->list.sel]];
    free(order);
    return c;
}

static void pane_line(struct tui *t, const struct tui_rect *p, int *y, const char *label,
                      enum tui_role role, const char *value)
{
    if (*y >= p->y + p->h - 1) return;
    tui_put(t, *y, p->x + 2, 12, TUI_HEADING, false, label);
    tui_put(t, *y, p->x + 15, p->w - 17, role, false, value ? value : "-");
    (*y)++;
}

static void draw_pane(struct tui *t, struct services *sv, const struct tui_rect *p)
{
    const docker_container *c = selected(t, sv);
    tui_box(t, p->y, p->x, p->h, p->w, TUI_NORMAL, sv->sel_name);
    if (!c) return;
    int y = p->y + 1;
    char buf[256], *st = docker_status_text(c), *detail = docker_container_detail(c, hm_now_ms());
    pane_line(t, p, &y, "State", tui_state_role(docker_container_state(c)), st);
    pane_line(t, p, &y, "Detail", TUI_NORMAL, detail);
    pane_line(t, p, &y, "Container", TUI_NORMAL, c->name);
    snprintf(buf, sizeof buf, "%.12s", c->id ? c->id : "");
    pane_line(t, p, &y, "Id", TUI_NORMAL, buf);
    pane_line(t, p, &y, "Image", TUI_NORMAL, c->image);
    pane_line(t, p, &y, "Project", TUI_NORMAL, c->project);
    if (c->health_output) pane_line(t, p, &y, "Last check", TUI_NORMAL, c->health_output);
    if (c->started_ms) {
        hm_format_time(c->started_ms, buf, sizeof buf);
        pane_line(t, p, &y, "Started", TUI_NORMAL, buf);
    }
    if (c->finished_ms && c->state && strcmp(c->state, "running") != 0) {
        hm_format_time(c->finished_ms, buf, sizeof buf);
        pane_line(t, p, &y, "Finished", TUI_NORMAL, buf);
    }
    free(st);
    free(detail);
}

static void services_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct services *sv = state;
    const struct tui_local *l = tui_local_data(t);
    int x = a->x + 1, w = a->w - 2;
    if (!l) {
        tui_put(t, a->y, x, w, TUI_DIM, false, "reading the Docker Engine...");
        sv->list.shown = 0;
        return;
    }
    if (l->services_err) {
        tui_put(t, a->y, x, w, TUI_CRITICAL, false, "cannot list the services:");
        tui_put(t, a->y + 1, x + 2, w - 2, TUI_CRITICAL, false, l->services_err);
        sv->list.shown = 0;
        return;
    }
    size_t *order;
    size_t n = build_order(t, sv, &order);
    /* keep the selected service selected when the rows move under it */
    for (size_t i = 0; i < n && sv->sel_name[0] && sv->list.sel == sv->drawn_sel; i++)
        if (strcmp(docker_display_name(&l->services, &l->services.v[order[i]]), sv->sel_name) == 0)
            sv->list.sel = (int)i;
    struct tui_rect list, pane;
    tui_list_split(&sv->list, a, &list, &pane);
    if (!n) {
        tui_put(t, a->y, x, w, TUI_DIM, false,
                l->services.n ? "no service matches the filter" : "no console service found");
        sv->list.shown = 0;
        sv->list.detail = false;
        free(order);
        return;
    }
    tui_list_draw(t, &sv->list, &ops, sv, order, n, &list);
    snprintf(sv->sel_name, sizeof sv->sel_name, "%s",
             docker_display_name(&l->services, &l->services.v[order[sv->list.sel]]));
    sv->drawn_sel = sv->list.sel;
    if (sv->list.detail) draw_pane(t, sv, &pane);
    free(order);
}

static void *services_open(struct tui *t)
{
    struct services *sv = xcalloc(1, sizeof *sv);
    sv->list.ops = &ops;
    sv->drawn_sel = -1;
    return sv;
}

static void services_close(void *state)
{
    free(state);
}

/* ---- actions ---- */

struct pending {
    char service[128];
    char action[16];
};

static int run_action(struct tui *t, void *ud)
{
    struct pending *p = ud;
    if (!tui_poller_service(t->poller, p->service, p->action))
        tui_message(t, TUI_WARNING, "another action is still running");
    return TUI_REDRAW;
}

static int ask(struct tui *t, struct services *sv, const char *action, const char *title,
               const char *what)
{
    if (!tui_action_allowed(t, action)) return TUI_REDRAW;
    const docker_container *c = selected(t, sv);
    if (!c) return TUI_DONE;
    struct pending *p = xcalloc(1, sizeof *p);
    snprintf(p->service, sizeof p->service, "%s", docker_display_name(services_of(t), c));
    snprintf(p->action, sizeof p->action, "%s", action);
    char q[256];
    snprintf(q, sizeof q, "%s %s?", what, p->service);
    tui_confirm(t, title, q, run_action, p);
    return TUI_REDRAW;
}

static int act_restart(struct tui *t, void *state)
{
    return ask(t, state, "restart", "Restart service", "Restart");
}

static int act_start(struct tui *t, void *state)
{
    return ask(t, state, "start", "Start service", "Start");
}

static int act_stop(struct tui *t, void *state)
{
    return ask(t, state, "stop", "Stop service", "Stop");
}

static bool has_rows(const struct tui *t, void *state)
{
    return state && ((struct tui_list *)state)->shown > 0;
}

static const struct tui_key services_keys[] = {
    {.keys = {KEY_UP, 'k'}, .name = "up", .help = "select the previous service", .footer = "Select",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_list_up},
    {.keys = {KEY_DOWN, 'j'}, .name = "down", .help = "select the next service", .fn = tui_list_down},
    {.keys = {KEY_PPAGE}, .name = "page-up", .help = "one page up", .fn = tui_list_page_up},
    {.keys = {KEY_NPAGE, ' '}, .name = "page-down", .help = "one page down", .fn = tui_list_page_down},
    {.keys = {KEY_HOME, 'g'}, .name = "home", .help = "the first service", .fn = tui_list_home},
    {.keys = {KEY_END, 'G'}, .name = "end", .help = "the last service", .fn = tui_list_end},
    {.keys = {'\r', '\n', KEY_ENTER}, .name = "details", .help = "show the service's details",
     .footer = "Details", .fn = tui_list_details, .available = has_rows},
    {.keys = {27}, .name = "back", .help = "close the details, then clear the filter",
     .fn = tui_list_back},
    {.keys = {'/'}, .name = "filter", .help = "filter by name, State or image", .footer = "Filter",
     .fn = tui_list_filter},
    {.keys = {'s', KEY_F(6)}, .name = "sort", .help = "sort by the next column", .footer = "Sort",
     .fn = tui_list_sort},
    {.keys = {'I'}, .name = "reverse", .help = "reverse the sort order", .fn = tui_list_reverse},
    {.keys = {'R'}, .name = "restart", .help = "restart the service (asks first)", .footer = "Restart",
     .fn = act_restart, .available = has_rows, .action = true},
    {.keys = {'S'}, .name = "start", .help = "start the service (asks first)", .footer = "Start",
     .fn = act_start, .available = has_rows, .action = true},
    {.keys = {'X'}, .name = "stop", .help = "stop the service (asks first)", .footer = "Stop",
     .fn = act_stop, .available = has_rows, .action = true},
    {.keys = {0}},
};

const struct tui_screen tui_screen_services = {
    .name = "services",
    .title = "Services",
    .open = services_open,
    .close = services_close,
    .draw = services_draw,
    .keys = services_keys,
    .position = tui_list_position,
    .click = tui_list_click,
    .filter_changed = tui_list_filter_changed,
    .filter_text = tui_list_filter_text,
};
