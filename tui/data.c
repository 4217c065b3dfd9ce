/* What the poller's threads read besides the collectors: the Docker services with their State
 * fields, the meters' last hour from the store, every console's hosts and tasks, the derived
 * events and their trend, and one host's snapshots and jobs for the detail pane. Large reads
 * are packed into one arena per read so 10,000 hosts stay small. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collectors/console.h"
#include "lib/clock.h"
#include "store/store.h"
#include "tui/tui-int.h"

#define DAY_MS (86400LL * 1000)

void tui_data_services(const hm_config *cfg, struct tui_local *l)
{
    hm_err e = {{0}};
    int64_t timeout = cfg_get_ms(cfg, "hmctl", NULL, "timeout", 5000);
    if (docker_services_list(cfg, timeout, &l->services, &e) < 0) l->services_err = xstrdup(e.msg);
}

/* ---- the store ---- */

static char *store_file(const hm_config *cfg)
{
    char *dir = cfg_data_dir(cfg);
    char *path = xasprintf("%s/hmctl.db", dir);
    free(dir);
    return path;
}

/* Opens the store read-only; a store that does not exist yet is no error (*st stays NULL). */
static int open_store_ro(const hm_config *cfg, hm_store **st, hm_err *e)
{
    char *path = store_file(cfg);
    int rc = 0;
    *st = NULL;
    if (access(path, F_OK) == 0) rc = store_open(path, HM_STORE_READONLY, st, e);
    free(path);
    return rc;
}

struct hist {
    double *v;
    int64_t from;
};

static int hist_point(const char *series, const char *unit, int64_t ts, double value, void *ud)
{
    struct hist *h = ud;
    int64_t i = (ts - h->from) / 60000;
    if (i >= 0 && i < TUI_SPARK_N) h->v[i] = value;
    return 0;
}

void tui_data_history(const hm_config *cfg, int64_t now_ms, double spark[][TUI_SPARK_N],
                      char **err)
{
    static const char *const series[TUI_METER_COUNT] = {
        "host.cpu.percent", "host.memory.percent", "host.disk.root.percent"};
    for (int m = 0; m < TUI_METER_COUNT; m++)
        for (int i = 0; i < TUI_SPARK_N; i++) spark[m][i] = NAN;
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (open_store_ro(cfg, &st, &e) < 0) {
        *err = xstrdup(e.msg);
        return;
    }
    if (!st) return;
    int64_t from = (now_ms / 60000 - (TUI_SPARK_N - 1)) * 60000;
    for (int m = 0; m < TUI_METER_COUNT; m++) {
        struct hist h = {spark[m], from};
        if (store_range(st, series[m], from, now_ms + 1, 60000, hist_point, &h, &e) < 0) {
            *err = xstrdup(e.msg);
            break;
        }
    }
    store_close(st);
}

/* ---- an arena of strings: offsets while it grows, pointers once it is done ---- */

struct pool {
    strbuf sb;
};

/* Adds s and returns its offset, disguised as a pointer until pool_fix. */
static const char *pool_add(struct pool *p, const char *s)
{
    size_t off = p->sb.len;
    sb_adds(&p->sb, s ? s : "");
    sb_addc(&p->sb, '\0');
    return (const char *)(uintptr_t)off;
}

static void pool_fix(const char *base, const char **s)
{
    *s = base + (uintptr_t)*s;
}

/* ---- the consoles ---- */

static void add_host(struct pool *pool, const char *console, const console_conf *cc,
                     const console_host *h, struct tui_host *out)
{
    out->id = pool_add(pool, h->id);
    out->name = pool_add(pool, h->name ? h->name : h->id);
    out->console = pool_add(pool, console);
    out->os = pool_add(pool, h->system_type);
    out->source = pool_add(pool, h->host_type);
    out->ip = pool_add(pool, h->ip_address);
    out->status = pool_add(pool, h->host_status);
    out->boot = pool_add(pool, h->boot_status);
    out->health = pool_add(pool, h->health_status);
    out->speed = pool_add(pool, h->speed);
    out->target = pool_add(pool, h->target_name);
    out->percent = h->percent;
    out->last_snap_ms = h->last_snapshot_ms;
    out->rpo_ms = console_conf_rpo(cc, h->name);
    out->license = h->license_valid;
}

static bool is_boot(enum console_kind k)
{
    return k == CONSOLE_KIND_DRILL || k == CONSOLE_KIND_TAKEOVER;
}

/* The sync progress of a host by name, -1 when unknown. */
static double host_percent(const console_hosts *hs, const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < hs->n; i++)
        if (hs->v[i].name && strcmp(hs->v[i].name, name) == 0) return hs->v[i].percent;
    return -1;
}

struct task_tmp {
    struct tui_task *v;
    size_t n, cap;
};

static void add_jobs(struct tui_console *c, struct pool *pool, const console_read *r,
                     int64_t now_ms, struct task_tmp *tasks)
{
    for (size_t i = 0; i < r->jobs.n; i++) {
        const console_job *j = &r->jobs.v[i];
        const char *st = j->job_status ? j->job_status : "";
        if (strcmp(st, "doing") == 0) {
            if (j->kind == CONSOLE_KIND_SYNC) c->running_sync++;
            else if (is_boot(j->kind)) c->running_boot++;
            else continue;
            if (tasks->n >= TUI_TASKS_MAX) continue;
            if (tasks->n == tasks->cap) {
                tasks->cap = tasks->cap ? tasks->cap * 2 : 16;
                tasks->v = xrealloc(tasks->v, tasks->cap * sizeof *tasks->v);
            }
            tasks->v[tasks->n++] = (struct tui_task){
                pool_add(pool, j->host), pool_add(pool, console_kind_name(j->kind)),
                j->kind == CONSOLE_KIND_SYNC ? host_percent(&r->hosts, j->host) : -1, j->start_ms};
            continue;
        }
        int64_t end = j->end_ms ? j->end_ms : j->updated_ms;
        if (end && end < now_ms - DAY_MS) continue;
        if (strcmp(st, "done") == 0 || strcmp(st, "success") == 0) c->jobs_done++;
        else if (strcmp(st, "failed") == 0 || strcmp(st, "error") == 0) c->jobs_failed++;
    }
}

/* Local midnight `days` days before today's. */
static int64_t midnight_before(int64_t now_ms, int days)
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday -= days;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

static void read_events(const hm_config *cfg, bool configured, struct tui_console *c,
                        struct pool *pool, int64_t now_ms)
{
    hm_store *st = NULL;
    hm_err e = {{0}};
    int rc = configured ? store_open_config(cfg, 0, &st, &e) : open_store_ro(cfg, &st, &e);
    c->trend_from_ms = midnight_before(now_ms, TUI_TREND_DAYS - 1);
    if (rc < 0) {
        c->events_err = xstrdup(e.msg);
        return;
    }
    if (!st) return;
    console_events ev = {0};
    if (console_events_count(st, NULL, c->trend_from_ms, DAY_MS, TUI_TREND_DAYS, c->trend, &e) < 0 ||
        console_events_latest(st, NULL, c->trend_from_ms, TUI_EVENTS_MAX, &ev, &e) < 0) {
        c->events_err = xstrdup(e.msg);
    }
    store_close(st);
    c->events = xcalloc(ev.n ? ev.n : 1, sizeof *c->events);
    for (size_t i = 0; i < ev.n; i++) {
        const console_event *x = &ev.v[i];
        c->events[i] = (struct tui_event){
            x->ts_ms, pool_add(pool, x->console && *x->console ? x->console : "default"),
            pool_add(pool, x->type), pool_add(pool, x->host_name ? x->host_name : x->host_id),
            pool_add(pool, x->detail), console_event_severity(x->type ? x->type : "")};
    }
    c->n_events = ev.n;
    console_events_free(&ev);
}

struct tui_console *tui_data_console(const hm_config *cfg, hm_kv *kv, int64_t now_ms)
{
    struct tui_console *c = xcalloc(1, sizeof *c);
    c->refs = 1;
    c->wall_ms = now_ms;
    struct pool pool = {{0}};
    struct task_tmp tasks = {0};
    strvec names = {0};
    size_t n_names = console_conf_names(cfg, &names);
    c->configured = n_names > 0;
    int64_t timeout = cfg_get_ms(cfg, "hmctl", NULL, "timeout", 5000);
    hm_collect_ctx cx = {cfg, kv, now_ms, timeout, hm_mono_ms() + timeout};
    size_t cap = 0;
    for (size_t i = 0; i < names.n; i++) {
        console_read r;
        collect_console_read(&cx, names.v[i], &c->result, &r);
        const char *label = *names.v[i] ? names.v[i] : "default";
        if (!r.ok && !c->hosts_err)
            c->hosts_err = xasprintf("%s: %s", r.loaded ? r.conf.label : label, r.err.msg);
        if (c->n_hosts + r.hosts.n > cap) {
            cap = c->n_hosts + r.hosts.n;
            c->hosts = xrealloc(c->hosts, (cap ? cap : 1) * sizeof *c->hosts);
        }
        for (size_t h = 0; h < r.hosts.n && r.loaded; h++)
            add_host(&pool, label, &r.conf, &r.hosts.v[h], &c->hosts[c->n_hosts++]);
        add_jobs(c, &pool, &r, now_ms, &tasks);
        console_read_free(&r);
    }
    sv_free(&names);
    read_events(cfg, c->configured, c, &pool, now_ms);
    c->tasks = tasks.v;
    c->n_tasks = tasks.n;

    c->arena = sb_detach(&pool.sb);
    if (!c->arena) c->arena = xstrdup("");
    for (size_t i = 0; i < c->n_hosts; i++) {
        struct tui_host *h = &c->hosts[i];
        const char **f[] = {&h->id, &h->name, &h->console, &h->os, &h->source, &h->ip,
                            &h->status, &h->boot, &h->health, &h->speed, &h->target};
        for (size_t k = 0; k < HM_ARRAY_LEN(f); k++) pool_fix(c->arena, f[k]);
    }
    for (size_t i = 0; i < c->n_tasks; i++) {
        pool_fix(c->arena, &c->tasks[i].host);
        pool_fix(c->arena, &c->tasks[i].kind);
    }
    for (size_t i = 0; i < c->n_events; i++) {
        struct tui_event *ev = &c->events[i];
        pool_fix(c->arena, &ev->console);
        pool_fix(c->arena, &ev->type);
        pool_fix(c->arena, &ev->host);
        pool_fix(c->arena, &ev->detail);
    }
    return c;
}

/* ---- one host's detail ---- */

static int cmp_snap(const void *a, const void *b)
{
    const struct tui_detail_snap *x = a, *y = b;
    return (y->created_ms > x->created_ms) - (y->created_ms < x->created_ms);
}

#define DETAIL_JOBS 20

struct tui_host_detail *tui_data_detail(const hm_config *cfg, const char *console_name,
                                        const char *id, const char *name)
{
    struct tui_host_detail *d = xcalloc(1, sizeof *d);
    d->console = xstrdup(console_name);
    d->id = xstrdup(id);
    d->name = xstrdup(name);
    const char *cn = console_name && strcmp(console_name, "default") != 0 ? console_name : NULL;
    console *con = NULL;
    hm_err e = {{0}};
    console_hosts hs = {0};
    console_jobs js = {0};
    if (console_open(cfg, cn, &con, &e) < 0) {
        d->error = xstrdup(e.msg);
        return d;
    }
    console_host_query hq = {.kw = name};
    if (console_list_hosts(con, &hq, &hs, &e) < 0) {
        d->error = xasprintf("cannot read the host: %s", e.msg);
    } else {
        for (size_t i = 0; i < hs.n; i++) {
            const console_host *h = &hs.v[i];
            if (!h->id || strcmp(h->id, id) != 0) continue;
            d->snaps = xcalloc(h->n_snapshots ? h->n_snapshots : 1, sizeof *d->snaps);
            for (size_t s = 0; s < h->n_snapshots; s++)
                d->snaps[d->n_snaps++] = (struct tui_detail_snap){
                    xstrdup(h->snapshots[s].name), xstrdup(h->snapshots[s].status),
                    h->snapshots[s].created_ms, h->snapshots[s].size};
            qsort(d->snaps, d->n_snaps, sizeof *d->snaps, cmp_snap);
        }
    }
    console_job_query jq = {.status = "all", .host_id = id, .since_ms = hm_now_ms() - 30 * DAY_MS};
    if (!d->error && console_list_jobs(con, &jq, &js, &e) < 0) {
        d->error = xasprintf("cannot read the jobs: %s", e.msg);
    } else {
        /* the console lists the newest first */
        size_t n = js.n < DETAIL_JOBS ? js.n : DETAIL_JOBS;
        d->jobs = xcalloc(n ? n : 1, sizeof *d->jobs);
        for (size_t i = 0; i < n; i++) {
            const console_job *j = &js.v[i];
            d->jobs[d->n_jobs++] = (struct tui_detail_job){
                xstrdup(j->job_type ? j->job_type : console_kind_name(j->kind)),
                xstrdup(j->job_status ? j->job_status : ""), xstrdup(j->detail ? j->detail : j->description),
                j->start_ms, j->end_ms};
        }
    }
    console_hosts_free(&hs);
    console_jobs_free(&js);
    console_close(con);
    return d;
}
