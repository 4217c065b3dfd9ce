/* The Overview screen: meters for CPU, memory and the root disk with the last hour as
 * sparklines, the RabbitMQ queue depths, one health tile per component group (console
 * services, the middleware, the port, the console API and its hosts, each remote role with
 * up/total), the running sync and boot tasks with the 24-hour success rate, and the event
 * trend of the last 7 and 30 days. Enter shows every component with its detail, as
 * `hmctl status` prints them. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/remote.h"
#include "core/core.h"
#include "lib/clock.h"
#include "tui/tui-int.h"

struct overview {
    struct tui_scroll scroll; /* first, for the shared scroll actions (the component list) */
    bool components;          /* the component list is shown instead of tiles and tasks */
};

/* ---- the component list (Enter) ---- */

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

/* Every component of the local and console parts, local first. */
static size_t all_components(const struct tui *t, const hm_component **out, size_t cap)
{
    size_t n = 0;
    const hm_result *parts[2] = {tui_result(t), NULL};
    const struct tui_console *c = tui_console_data(t);
    if (c) parts[1] = &c->result;
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; parts[p] && i < parts[p]->n_components && n < cap; i++)
            out[n++] = &parts[p]->components[i];
    return n;
}

static size_t count_components(const struct tui *t)
{
    const hm_result *l = tui_result(t);
    const struct tui_console *c = tui_console_data(t);
    return (l ? l->n_components : 0) + (c ? c->result.n_components : 0);
}

/* The rows in `hmctl status` order; returns how many (rows has room for 2n + 6). */
static size_t build_rows(const hm_component *const *cs, size_t nc, struct row *rows)
{
    size_t n = 0;
    bool any = false;
    for (size_t i = 0; i < nc; i++) {
        if (!is_kind(cs[i], "container")) continue;
        if (!any) rows[n++] = (struct row){ROW_HEADING, {"SERVICE", "STATE", "DETAIL"}, NULL, false};
        any = true;
        rows[n++] = (struct row){ROW_ITEM, {0}, cs[i], false};
    }
    bool first = true;
    for (size_t i = 0; i < nc; i++) {
        if (!is_seed_line(cs[i])) continue;
        if (first && n) rows[n++] = (struct row){ROW_BLANK, {0}, NULL, false};
        first = false;
        rows[n++] = (struct row){ROW_ITEM, {0}, cs[i], true};
    }
    first = true;
    for (size_t i = 0; i < nc; i++) {
        if (is_kind(cs[i], "container") || is_seed_line(cs[i]) || remote_is_role_kind(cs[i]->kind))
            continue;
        if (first) {
            if (n) rows[n++] = (struct row){ROW_BLANK, {0}, NULL, false};
            rows[n++] = (struct row){ROW_HEADING, {"COMPONENT", "STATE", "DETAIL"}, NULL, false};
        }
        first = false;
        rows[n++] = (struct row){ROW_ITEM, {0}, cs[i], false};
    }
    /* the SSH hosts, by role as `hmctl status` groups them */
    first = true;
    for (int role = REMOTE_SYNC_PROXY; role <= REMOTE_JUMP; role++) {
        for (size_t i = 0; i < nc; i++) {
            if (!is_kind(cs[i], remote_role_name((enum remote_role)role))) continue;
            if (first) {
                if (n) rows[n++] = (struct row){ROW_BLANK, {0}, NULL, false};
                rows[n++] = (struct row){ROW_HEADING, {"REMOTE", "STATE", "DETAIL"}, NULL, false};
            }
            first = false;
            rows[n++] = (struct row){ROW_ITEM, {0}, cs[i], false};
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

static void draw_components(struct tui *t, struct overview *ov, int y, int x, int w, int h)
{
    size_t nc = count_components(t);
    const hm_component **cs = xcalloc(nc + 1, sizeof *cs);
    nc = all_components(t, cs, nc);
    struct row *rows = xcalloc(2 * nc + 6, sizeof *rows);
    size_t n = build_rows(cs, nc, rows);
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
    free(cs);
}

/* ---- meters, sparklines, queues ---- */

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

static const struct {
    const char *label, *series, *wkey, *ckey;
} meters[TUI_METER_COUNT] = {
    {"CPU ", "host.cpu.percent", "cpu_warning", "cpu_critical"},
    {"Mem ", "host.memory.percent", "memory_warning", "memory_critical"},
    {"Disk ", "host.disk.root.percent", "disk_warning", "disk_critical"},
};

/* The meters and, below them when there is room, their last hour. Returns the lines used. */
static int draw_meters(struct tui *t, const hm_result *res, int y, int x, int w, bool spark)
{
    const struct tui_local *l = tui_local_data(t);
    int each = (w - 4) / 3;
    for (size_t i = 0; i < TUI_METER_COUNT; i++) {
        double v = -1;
        if (res) hm_result_value(res, meters[i].series, &v);
        /* Thresholds as `check` uses them ([thresholds], defaults 80/90 percent). */
        double warn = cfg_get_number(t->opt->cfg, "thresholds", NULL, meters[i].wkey, 80);
        double crit = cfg_get_number(t->opt->cfg, "thresholds", NULL, meters[i].ckey, 90);
        int mx = x + (int)i * (each + 2);
        tui_meter(t, y, mx, each, meters[i].label, v, warn, crit);
        if (!spark) continue;
        int lw = tui_text_width(t, meters[i].label);
        tui_put(t, y + 1, mx, lw, TUI_DIM, false, "1h");
        if (l) tui_sparkline(t, y + 1, mx + lw + 1, each - lw - 9, l->spark[i], TUI_SPARK_N, 100,
                             warn, crit);
    }
    return spark ? 2 : 1;
}

/* ---- tiles ---- */

struct tile {
    char name[40];
    char text[96];
    enum hm_state state;
    int up, total; /* groups: how many ok of how many; total 0 for single components */
};

static const char *const remote_kinds[] = {"sync_proxy", "linux_agent", "gateway", "linux", "jump"};

static bool is_remote(const hm_component *c)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(remote_kinds); i++)
        if (is_kind(c, remote_kinds[i])) return true;
    return false;
}

static struct tile *find_tile(struct tile *tiles, size_t *n, size_t cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(tiles[i].name, name) == 0) return &tiles[i];
    if (*n >= cap) return NULL;
    struct tile *tl = &tiles[(*n)++];
    memset(tl, 0, sizeof *tl);
    snprintf(tl->name, sizeof tl->name, "%s", name);
    return tl;
}

static void pretty_name(const char *in, char *buf, size_t size)
{
    static const struct {
        const char *from, *to;
    } names[] = {{"mariadb", "MariaDB"}, {"redis", "Redis"}, {"rabbitmq", "RabbitMQ"},
                 {"influxdb", "InfluxDB"}, {"host", "Host"}, {"docker", "Docker"}};
    for (size_t i = 0; i < HM_ARRAY_LEN(names); i++)
        if (strcmp(in, names[i].from) == 0) {
            snprintf(buf, size, "%s", names[i].to);
            return;
        }
    snprintf(buf, size, "%s", in);
    if (buf[0] >= 'a' && buf[0] <= 'z') buf[0] = (char)toupper((unsigned char)buf[0]);
}

/* The console's own components ("console hosts" ...) as tiles: a short name and, when not
 * ok, the count its detail starts with and what it counts. */
static const struct {
    const char *suffix, *name, *counts;
} console_tiles[] = {
    {"hosts", "Hosts", NULL},          {"disconnected", "Contact", "lost"},
    {"rpo", "RPO", "late"},            {"jobs", "Jobs", "failed"},
    {"gateways", "Gateways", "offline"}, {"events", "Events", "new"},
};

/* Fills a tile from one console component; false when it is not one of console_tiles. */
static bool console_tile(const hm_component *c, char *name, size_t nsize, char *text, size_t tsize)
{
    if (!is_kind(c, "console")) return false;
    if (strcmp(c->name, "console") == 0) {
        snprintf(name, nsize, "Console API");
        snprintf(text, tsize, "%s", c->status ? c->status : hm_state_name(c->state));
        return true;
    }
    if (!hm_starts_with(c->name, "console ")) return false;
    for (size_t i = 0; i < HM_ARRAY_LEN(console_tiles); i++) {
        if (strcmp(c->name + 8, console_tiles[i].suffix) != 0) continue;
        snprintf(name, nsize, "%s", console_tiles[i].name);
        long count = c->detail ? strtol(c->detail, NULL, 10) : 0;
        if (!console_tiles[i].counts) snprintf(text, tsize, "%ld", count);
        else if (c->state == HM_OK) snprintf(text, tsize, "ok");
        else snprintf(text, tsize, "%ld %s", count, console_tiles[i].counts);
        return true;
    }
    return false;
}

static size_t build_tiles(const struct tui *t, struct tile *tiles, size_t cap)
{
    size_t nc = count_components(t), n = 0;
    const hm_component **cs = xcalloc(nc + 1, sizeof *cs);
    nc = all_components(t, cs, nc);
    for (size_t i = 0; i < nc; i++) {
        const hm_component *c = cs[i];
        struct tile *tl;
        char name[64], text[96] = "";
        if (is_kind(c, "container") || is_kind(c, "docker")) {
            tl = find_tile(tiles, &n, cap, "Services");
            if (!tl) continue;
            if (is_kind(c, "container")) {
                tl->total++;
                tl->up += c->state == HM_OK;
            } else if (c->state == HM_CRITICAL || c->state == HM_UNKNOWN) {
                snprintf(tl->text, sizeof tl->text, "%s", c->status ? c->status : hm_state_name(c->state));
            }
        } else if (is_kind(c, "disk")) {
            tl = find_tile(tiles, &n, cap, "Disk");
            if (!tl) continue;
            tl->total++;
            tl->up += c->state == HM_OK;
        } else if (is_remote(c)) {
            tl = find_tile(tiles, &n, cap, c->kind);
            if (!tl) continue;
            tl->total++;
            tl->up += c->state == HM_OK;
        } else {
            if (!console_tile(c, name, sizeof name, text, sizeof text)) {
                pretty_name(c->name, name, sizeof name);
                snprintf(text, sizeof text, "%s", c->status ? c->status : hm_state_name(c->state));
            }
            tl = find_tile(tiles, &n, cap, name);
            if (!tl) continue;
            snprintf(tl->text, sizeof tl->text, "%s", text);
        }
        tl->state = hm_state_worse(tl->state, c->state);
    }
    for (size_t i = 0; i < n; i++)
        if (tiles[i].total && !tiles[i].text[0])
            snprintf(tiles[i].text, sizeof tiles[i].text, "%d/%d up", tiles[i].up, tiles[i].total);
    free(cs);
    return n;
}

static const char *state_mark(const struct tui *t, enum hm_state s)
{
    static const char *const utf8[] = {"\xe2\x97\x8f", "\xe2\x96\xb2", "?", "\xe2\x9c\x96"};
    static const char *const ascii[] = {"+", "!", "?", "X"};
    return t->utf8 ? utf8[s] : ascii[s];
}

/* Draws the tiles in rows; returns the lines used (at most max_h). */
static int draw_tiles(struct tui *t, int y, int x, int w, int max_h)
{
    struct tile tiles[48];
    size_t n = build_tiles(t, tiles, HM_ARRAY_LEN(tiles));
    if (!n || max_h <= 0) return 0;
    int per = w / 25 > 0 ? w / 25 : 1;
    if (per > 6) per = 6;
    int tw = (w - (per - 1)) / per;
    int lines = 0;
    for (size_t i = 0; i < n; i++) {
        int row = (int)i / per, colx = x + ((int)i % per) * (tw + 1);
        if (row >= max_h) break;
        lines = row + 1;
        enum tui_role role = tui_state_role(tiles[i].state);
        int cx = colx;
        cx += tui_put(t, y + row, cx, 2, role, false, state_mark(t, tiles[i].state));
        cx++;
        int nw = tui_put(t, y + row, cx, tw - 2, TUI_TILE, false, tiles[i].name);
        cx += nw + 1;
        tui_put(t, y + row, cx, colx + tw - cx, tiles[i].state == HM_OK ? TUI_DIM : role, false,
                tiles[i].text);
    }
    return lines;
}

/* ---- tasks, success rate and the trend ---- */

static void format_count(long n, char *buf, size_t size)
{
    if (n >= 10000) snprintf(buf, size, "%ld,%03ld", n / 1000, n % 1000);
    else snprintf(buf, size, "%ld", n);
}

static int draw_tasks(struct tui *t, const struct tui_console *c, int y, int x, int w, int h)
{
    if (h <= 0) return 0;
    char line[256], done[32], failed[32];
    int cx = x + tui_put(t, y, x, w, TUI_HEADING, false, "Tasks ");
    snprintf(line, sizeof line, " %zu sync%s, %zu boot%s running", c->running_sync,
             c->running_sync == 1 ? "" : "s", c->running_boot, c->running_boot == 1 ? "" : "s");
    cx += tui_put(t, y, cx, x + w - cx, TUI_NORMAL, false, line);
    long fin = c->jobs_done + c->jobs_failed;
    format_count(c->jobs_done, done, sizeof done);
    format_count(c->jobs_failed, failed, sizeof failed);
    if (fin) {
        double rate = 100.0 * (double)c->jobs_done / (double)fin;
        cx += tui_put(t, y, cx, x + w - cx, TUI_HEADING, false, "   24 h success ");
        snprintf(line, sizeof line, "%.1f%%", rate);
        cx += tui_put(t, y, cx, x + w - cx, rate >= 99 ? TUI_OK : rate >= 90 ? TUI_WARNING : TUI_CRITICAL,
                      false, line);
        snprintf(line, sizeof line, " (%s done, %s failed)", done, failed);
        tui_put(t, y, cx, x + w - cx, TUI_DIM, false, line);
    } else {
        tui_put(t, y, cx, x + w - cx, TUI_DIM, false, "   no task finished in 24 h");
    }
    int used = 1;
    for (size_t i = 0; i < c->n_tasks && used < h; i++, used++) {
        const struct tui_task *tk = &c->tasks[i];
        char pct[16] = "", age[32] = "";
        if (tk->percent >= 0) snprintf(pct, sizeof pct, "%3.0f%%", tk->percent);
        if (tk->start_ms) tui_format_age(hm_now_ms() - tk->start_ms, age, sizeof age);
        int tx = x + 2;
        tui_put(t, y + used, tx, 9, TUI_NORMAL, false, tk->kind);
        tui_put(t, y + used, tx + 10, w / 3, TUI_NORMAL, false, tk->host);
        tui_put_right(t, y + used, tx + 11 + w / 3, 5, TUI_NORMAL, pct);
        if (age[0]) {
            snprintf(line, sizeof line, "running %s", age);
            tui_put(t, y + used, tx + 18 + w / 3, x + w - (tx + 18 + w / 3), TUI_DIM, false, line);
        }
    }
    size_t total = c->running_sync + c->running_boot;
    if (total > c->n_tasks && used < h && c->n_tasks) {
        snprintf(line, sizeof line, "and %zu more", total - c->n_tasks);
        tui_put(t, y + used++, x + 2, w - 2, TUI_DIM, false, line);
    }
    return used;
}

/* Vertical bars, one per value, `bw` columns wide, h lines high (eighths in UTF-8, '#' in
 * ASCII), scaled to the largest value. */
static void draw_bars(struct tui *t, int y, int x, int h, int bw, const long *v, int n)
{
    static const char *const eighths[] = {" ", "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
                                          "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
                                          "\xe2\x96\x87", "\xe2\x96\x88"};
    long max = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > max) max = v[i];
    for (int i = 0; i < n; i++) {
        long units = max ? (v[i] * h * 8 + max - 1) / max : 0; /* eighths of a line, rounded up */
        if (v[i] > 0 && units == 0) units = 1;
        for (int row = 0; row < h; row++) {
            long level = units - (long)(h - 1 - row) * 8;
            if (level < 0) level = 0;
            if (level > 8) level = 8;
            const char *s = t->utf8 ? eighths[level] : level >= 4 ? "#" : level > 0 ? "." : " ";
            for (int k = 0; k < bw; k++)
                tui_put(t, y + row, x + i * (bw + (bw > 1)) + k, 1, level ? TUI_METER : TUI_DIM, false, s);
        }
    }
}

static int draw_trend(struct tui *t, const struct tui_console *c, int y, int x, int w, int h)
{
    if (h <= 0) return 0;
    long week = 0, month = 0;
    for (int i = 0; i < TUI_TREND_DAYS; i++) {
        month += c->trend[i];
        if (i >= TUI_TREND_DAYS - 7) week += c->trend[i];
    }
    char line[160], a[32], b[32], today[32];
    format_count(week, a, sizeof a);
    format_count(month, b, sizeof b);
    format_count(c->trend[TUI_TREND_DAYS - 1], today, sizeof today);
    int cx = x + tui_put(t, y, x, w, TUI_HEADING, false, "Events ");
    snprintf(line, sizeof line, " 7 days %s, 30 days %s, today %s", a, b, today);
    tui_put(t, y, cx, x + w - cx, TUI_NORMAL, false, line);
    if (c->events_err) {
        if (h > 1) tui_put(t, y + 1, x + 2, w - 2, TUI_CRITICAL, false, c->events_err);
        return h > 1 ? 2 : 1;
    }
    int bh = h - 2;
    if (bh > 4) bh = 4;
    if (bh < 1) return 1;
    /* the last 7 days 2 columns wide, then the last 30 days 1 column wide */
    int wx = x + 2, mx = wx + 7 * 3 + 4;
    if (mx + TUI_TREND_DAYS > x + w) return 1;
    draw_bars(t, y + 1, wx, bh, 2, c->trend + TUI_TREND_DAYS - 7, 7);
    draw_bars(t, y + 1, mx, bh, 1, c->trend, TUI_TREND_DAYS);
    tui_put(t, y + 1 + bh, wx, 21, TUI_DIM, false, "7 days");
    tui_put(t, y + 1 + bh, mx, TUI_TREND_DAYS, TUI_DIM, false, "30 days");
    return bh + 2;
}

static void overview_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct overview *ov = state;
    const hm_result *res = tui_result(t);
    int y = a->y, x = a->x + 1, w = a->w - 2, bottom = a->y + a->h;
    if (a->h < 2 || w < 10) return;
    y += draw_meters(t, res, y, x, w, a->h >= 12);
    if (res && y < bottom) y += draw_queues(t, res, y, x, w);
    y++; /* a blank line */
    if (!res) {
        if (y < bottom) tui_put(t, y, x, w, TUI_DIM, false, "collecting from every source...");
        ov->scroll.total = ov->scroll.visible = 0;
        return;
    }
    if (ov->components) {
        draw_components(t, ov, y, x, w, bottom - y);
        return;
    }
    ov->scroll.total = ov->scroll.visible = 0;
    y += draw_tiles(t, y, x, w, bottom - y);
    const struct tui_console *c = tui_console_data(t);
    if (!c || !c->configured) {
        if (y + 1 < bottom)
            tui_put(t, y + 1, x, w, TUI_DIM, false,
                    c ? "no console configured: tasks, hosts and events need a [console] section"
                      : "reading the consoles...");
        if (c && y + 3 < bottom) draw_trend(t, c, y + 3, x, w, bottom - y - 3);
        return;
    }
    y++;
    int left = bottom - y;
    if (left <= 0) return;
    /* the trend keeps its 6 lines when there is room; the tasks get the rest */
    int trend_h = left >= 9 ? 6 : left >= 4 ? 1 : 0;
    int used = draw_tasks(t, c, y, x, w, left - trend_h - (trend_h ? 1 : 0));
    y += used + 1;
    if (trend_h && y < bottom) draw_trend(t, c, y, x, w, bottom - y);
}

static void *overview_open(struct tui *t)
{
    return xcalloc(1, sizeof(struct overview));
}

static void overview_close(void *state)
{
    free(state);
}

static int act_components(struct tui *t, void *state)
{
    struct overview *ov = state;
    ov->components = !ov->components;
    ov->scroll.top = 0;
    return TUI_REDRAW;
}

static int act_back(struct tui *t, void *state)
{
    struct overview *ov = state;
    if (!ov->components) return TUI_DONE;
    ov->components = false;
    return TUI_REDRAW;
}

static bool in_components(const struct tui *t, void *state)
{
    return state && ((struct overview *)state)->components;
}

static const struct tui_key overview_keys[] = {
    {.keys = {'\r', '\n', KEY_ENTER}, .name = "details",
     .help = "show or hide every component with its detail", .footer = "Details",
     .fn = act_components},
    {.keys = {27}, .name = "back", .help = "back to the tiles", .fn = act_back,
     .available = in_components},
    {.keys = {KEY_UP, 'k'}, .name = "up", .help = "scroll up one line", .footer = "Scroll",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_scroll_up,
     .available = in_components},
    {.keys = {KEY_DOWN, 'j'}, .name = "down", .help = "scroll down one line",
     .fn = tui_scroll_down, .available = in_components},
    {.keys = {KEY_PPAGE}, .name = "page-up", .help = "scroll up one page",
     .fn = tui_scroll_page_up, .available = in_components},
    {.keys = {KEY_NPAGE, ' '}, .name = "page-down", .help = "scroll down one page",
     .fn = tui_scroll_page_down, .available = in_components},
    {.keys = {KEY_HOME, 'g'}, .name = "home", .help = "go to the first line",
     .fn = tui_scroll_home, .available = in_components},
    {.keys = {KEY_END, 'G'}, .name = "end", .help = "go to the last line", .fn = tui_scroll_end,
     .available = in_components},
    {.keys = {0}},
};

static const char *overview_position(struct tui *t, void *state, char *buf, size_t size)
{
    return tui_scroll_position(t, state, buf, size);
}

const struct tui_screen tui_screen_overview = {
    .name = "overview",
    .title = "Overview",
    .open = overview_open,
    .close = overview_close,
    .draw = overview_draw,
    .keys = overview_keys,
    .position = overview_position,
};
