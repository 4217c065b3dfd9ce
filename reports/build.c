/* The report builders: each reads what its type needs from the console and streams rows into a
 * writer. Job reports walk GET /jobs page by page (newest first) and keep nothing per job, so
 * a million-job history is written in constant memory.
 *
 * The range rule: a job belongs to the range, and to a day of the daily summary, by its start
 * time alone: from <= start_at < to, with the day taken in the report's zone. A job that
 * started before the range is left out even when it ended inside it. */
#include "reports/report.h"

#include <stdlib.h>
#include <string.h>

#include "lib/tz.h"

/* --- small hash tables ------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Strings to dense indexes 0..n-1. */
typedef struct strmap {
    char **key;
    int *val;
    size_t cap, n;
} strmap;

static int strmap_get(const strmap *m, const char *k)
{
    if (!m->cap) return -1;
    for (size_t i = fnv1a(k) & (m->cap - 1); m->key[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->key[i], k) == 0) return m->val[i];
    return -1;
}

static void strmap_put(strmap *m, const char *k, int v)
{
    if ((m->n + 1) * 2 > m->cap) {
        strmap big = {xcalloc(m->cap ? m->cap * 2 : 256, sizeof(char *)),
                      xcalloc(m->cap ? m->cap * 2 : 256, sizeof(int)), m->cap ? m->cap * 2 : 256,
                      m->n};
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->key[i]) continue;
            size_t j = fnv1a(m->key[i]) & (big.cap - 1);
            while (big.key[j]) j = (j + 1) & (big.cap - 1);
            big.key[j] = m->key[i];
            big.val[j] = m->val[i];
        }
        free(m->key);
        free(m->val);
        *m = big;
    }
    size_t i = fnv1a(k) & (m->cap - 1);
    for (; m->key[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->key[i], k) == 0) {
            m->val[i] = v;
            return;
        }
    m->key[i] = xstrdup(k);
    m->val[i] = v;
    m->n++;
}

static void strmap_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->key[i]);
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* A set of non-zero 64-bit keys. */
typedef struct u64set {
    uint64_t *v;
    size_t cap, n;
} u64set;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Adds k (non-zero); returns true when it was new. */
static bool u64set_add(u64set *s, uint64_t k)
{
    if ((s->n + 1) * 2 > s->cap) {
        u64set big = {xcalloc(s->cap ? s->cap * 2 : 1024, sizeof(uint64_t)),
                      s->cap ? s->cap * 2 : 1024, s->n};
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->v[i]) continue;
            size_t j = mix64(s->v[i]) & (big.cap - 1);
            while (big.v[j]) j = (j + 1) & (big.cap - 1);
            big.v[j] = s->v[i];
        }
        free(s->v);
        *s = big;
    }
    size_t i = mix64(k) & (s->cap - 1);
    for (; s->v[i]; i = (i + 1) & (s->cap - 1))
        if (s->v[i] == k) return false;
    s->v[i] = k;
    s->n++;
    return true;
}

/* --- shared --------------------------------------------------------------------------------- */

enum { MAX_FIGS = 16 };

typedef struct build {
    console *c;
    const report_params *p;
    report_writer *w;
    hm_err *e;
    bool failed;   /* a write failed inside a walk callback; e holds why */
    report_fig figs[MAX_FIGS];
    size_t nfigs;
} build;

static void fig(build *b, const char *key, const char *en, const char *zh, enum report_ctype t,
                report_val v)
{
    if (b->nfigs < MAX_FIGS) b->figs[b->nfigs++] = (report_fig){key, en, zh, t, v};
}

static void fig_int(build *b, const char *key, const char *en, const char *zh, int64_t i)
{
    fig(b, key, en, zh, RC_INT, (report_val){.i = i});
}

static void fig_rate(build *b, int64_t ok, int64_t failed)
{
    report_val v = {.null = ok + failed == 0};
    if (!v.null) v.d = 100.0 * (double)ok / (double)(ok + failed);
    fig(b, "success_rate", "Success rate", "成功率", RC_PERCENT, v);
}

static report_val text(const char *s)
{
    return (report_val){.null = !s, .s = s};
}

static report_val time_val(int64_t ms)
{
    return (report_val){.null = ms == 0, .i = ms};
}

static report_val int_val(int64_t i)
{
    return (report_val){.i = i};
}

/* Seconds from a to b, null when either is unknown or b is before a. */
static report_val span(int64_t a_ms, int64_t b_ms)
{
    if (!a_ms || !b_ms || b_ms < a_ms) return (report_val){.null = true};
    return (report_val){.i = (b_ms - a_ms) / 1000};
}

static bool in_range(const report_params *p, int64_t start_ms)
{
    return start_ms && start_ms >= p->from_ms && start_ms < p->to_ms;
}

static bool host_wanted(const report_params *p, const char *name, const char *id)
{
    if (!p->hosts.n) return true;
    return (name && sv_contains(&p->hosts, name)) || (id && sv_contains(&p->hosts, id));
}

static bool status_is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

static int write_row(build *b, const report_val *v)
{
    if (report_writer_row(b->w, v, b->e) < 0) {
        b->failed = true;
        return -1;
    }
    return 0;
}

static int walk_failed(build *b, const char *what)
{
    if (!b->failed) {
        const console_conf *cc = console_settings(b->c);
        hm_err_prefix(b->e, "cannot read %s from %s", what, cc->label);
    }
    return -1;
}

/* --- sync-detail ------------------------------------------------------------------------------ */

struct sync_acc {
    build *b;
    int64_t ok, failed, doing, dur_s, ndur;
};

static int sync_row(const console_job *j, void *ud)
{
    struct sync_acc *a = ud;
    const report_params *p = a->b->p;
    if (j->kind != CONSOLE_KIND_SYNC || !in_range(p, j->start_ms) ||
        !host_wanted(p, j->host, j->source_id))
        return 0;
    report_val d = span(j->start_ms, j->end_ms);
    report_val v[] = {text(j->host), text(j->source_id), text(j->task_id), time_val(j->start_ms),
                      time_val(j->end_ms), d, text(j->mode), text(j->job_status),
                      text(j->detail)};
    if (status_is(j->job_status, "done")) a->ok++;
    else if (status_is(j->job_status, "failed")) a->failed++;
    else a->doing++;
    if (!d.null) {
        a->dur_s += d.i;
        a->ndur++;
    }
    return write_row(a->b, v) < 0;
}

static int build_sync(build *b)
{
    struct sync_acc a = {.b = b};
    console_job_query q = {.since_ms = b->p->from_ms};
    if (console_walk_jobs(b->c, &q, sync_row, &a, b->e) < 0 || b->failed)
        return walk_failed(b, "jobs");
    fig_int(b, "jobs", "Sync jobs", "同步任务数", a.ok + a.failed + a.doing);
    fig_int(b, "ok", "Succeeded", "成功", a.ok);
    fig_int(b, "failed", "Failed", "失败", a.failed);
    fig_int(b, "running", "Running", "进行中", a.doing);
    fig_rate(b, a.ok, a.failed);
    fig(b, "average_duration", "Average duration", "平均耗时", RC_DURATION,
        (report_val){.null = !a.ndur, .i = a.ndur ? a.dur_s / a.ndur : 0});
    return 0;
}

/* --- drill-detail, takeover-detail ------------------------------------------------------------ */

struct boot_job {
    char *host, *host_id, *task_id, *job_type, *status, *detail;
    int64_t start_ms, end_ms, snap_ms;
    int next; /* the next pending job of the same host, -1 at the end */
};

struct boot_acc {
    build *b;
    enum console_kind kind;
    struct boot_job *v;
    size_t n, cap;
    strmap hosts;  /* host key -> first pending job of that host (newest first) */
    int *head;     /* per host index: first pending job, -1 when none */
    size_t nhosts;
    size_t pending;
};

static const char *job_host_key(const console_job *j)
{
    return j->source_id ? j->source_id : j->host ? j->host : "";
}

static int boot_seen(const console_job *j, void *ud)
{
    struct boot_acc *a = ud;
    const report_params *p = a->b->p;
    if (j->start_ms && j->start_ms < p->from_ms && !a->pending) return 1; /* nothing left */
    if (j->kind == a->kind && in_range(p, j->start_ms) && host_wanted(p, j->host, j->source_id)) {
        if (a->n == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 64;
            a->v = xrealloc(a->v, a->cap * sizeof *a->v);
        }
        struct boot_job *bj = &a->v[a->n];
        *bj = (struct boot_job){xstrdup(j->host), xstrdup(j->source_id), xstrdup(j->task_id),
                                xstrdup(j->job_type), xstrdup(j->job_status), xstrdup(j->detail),
                                j->start_ms, j->end_ms, 0, -1};
        const char *key = job_host_key(j);
        int h = strmap_get(&a->hosts, key);
        if (h < 0) {
            h = (int)a->nhosts++;
            strmap_put(&a->hosts, key, h);
            a->head = xrealloc(a->head, a->nhosts * sizeof *a->head);
            a->head[h] = -1;
        }
        /* append at the end of the host's list, which stays in stream (newest-first) order */
        int *link = &a->head[h];
        while (*link >= 0) link = &a->v[*link].next;
        *link = (int)a->n;
        a->n++;
        a->pending++;
        return 0;
    }
    /* a successful sync made a snapshot at its end: the recovery point of every pending job of
     * the host that started at or after it */
    if (j->kind == CONSOLE_KIND_SYNC && status_is(j->job_status, "done") && j->end_ms) {
        int h = strmap_get(&a->hosts, job_host_key(j));
        if (h < 0) return 0;
        int *link = &a->head[h];
        while (*link >= 0) {
            struct boot_job *bj = &a->v[*link];
            if (bj->start_ms >= j->end_ms) {
                bj->snap_ms = j->end_ms;
                a->pending--;
                *link = bj->next;
            } else {
                link = &bj->next;
            }
        }
    }
    return 0;
}

static int build_boot(build *b, enum console_kind kind)
{
    struct boot_acc a = {.b = b, .kind = kind};
    /* read on past the range until every job found its snapshot (or the history ends) */
    console_job_query q = {0};
    int rc = console_walk_jobs(b->c, &q, boot_seen, &a, b->e);
    if (rc < 0) rc = walk_failed(b, "jobs");
    int64_t ok = 0, failed = 0, doing = 0, rto_sum = 0, nrto = 0, rto_max = -1, rpo_max = -1;
    for (size_t i = 0; i < a.n && rc == 0; i++) {
        struct boot_job *bj = &a.v[i];
        report_val rto = span(bj->start_ms, bj->end_ms), rpo = span(bj->snap_ms, bj->start_ms);
        report_val v[] = {text(bj->host), text(bj->host_id), text(bj->task_id),
                          text(bj->job_type), time_val(bj->snap_ms), time_val(bj->start_ms),
                          time_val(bj->end_ms), rto, rpo, text(bj->status), text(bj->detail)};
        if (status_is(bj->status, "done")) ok++;
        else if (status_is(bj->status, "failed")) failed++;
        else doing++;
        if (!rto.null) {
            rto_sum += rto.i;
            nrto++;
            if (rto.i > rto_max) rto_max = rto.i;
        }
        if (!rpo.null && rpo.i > rpo_max) rpo_max = rpo.i;
        rc = write_row(b, v);
    }
    for (size_t i = 0; i < a.n; i++) {
        struct boot_job *bj = &a.v[i];
        free(bj->host);
        free(bj->host_id);
        free(bj->task_id);
        free(bj->job_type);
        free(bj->status);
        free(bj->detail);
    }
    free(a.v);
    free(a.head);
    strmap_free(&a.hosts);
    if (rc < 0) return -1;
    bool drill = kind == CONSOLE_KIND_DRILL;
    fig_int(b, "jobs", drill ? "Drills" : "Takeovers", drill ? "演练次数" : "接管次数",
            ok + failed + doing);
    fig_int(b, "ok", "Succeeded", "成功", ok);
    fig_int(b, "failed", "Failed", "失败", failed);
    fig_int(b, "running", "Running", "进行中", doing);
    fig_rate(b, ok, failed);
    fig(b, "average_rto", "Average RTO", "平均 RTO", RC_DURATION,
        (report_val){.null = !nrto, .i = nrto ? rto_sum / nrto : 0});
    fig(b, "max_rto", "Longest RTO", "最长 RTO", RC_DURATION,
        (report_val){.null = rto_max < 0, .i = rto_max});
    fig(b, "max_rpo", "Largest RPO", "最大 RPO", RC_DURATION,
        (report_val){.null = rpo_max < 0, .i = rpo_max});
    return 0;
}

/* --- host-summary ---------------------------------------------------------------------------- */

struct host_row {
    const console_host *h; /* NULL for a host known only from its jobs */
    char *name, *id;       /* of a job-only host */
    int64_t n[3][2];       /* [sync, drill, takeover][all, failed] */
    int64_t last_sync_ms;
    char *last_sync_result;
};

struct host_acc {
    build *b;
    struct host_row *v;
    size_t n, cap;
    strmap by_key; /* host id, else "name:" + host name -> row */
};

static struct host_row *host_row_add(struct host_acc *a)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    struct host_row *r = &a->v[a->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static int host_job(const console_job *j, void *ud)
{
    struct host_acc *a = ud;
    int k = j->kind == CONSOLE_KIND_SYNC ? 0 : j->kind == CONSOLE_KIND_DRILL ? 1
          : j->kind == CONSOLE_KIND_TAKEOVER ? 2 : -1;
    if (k < 0 || !in_range(a->b->p, j->start_ms)) return 0;
    int idx = j->source_id ? strmap_get(&a->by_key, j->source_id) : -1;
    if (idx < 0 && j->host) {
        char *nk = xasprintf("name:%s", j->host);
        idx = strmap_get(&a->by_key, nk);
        free(nk);
    }
    if (idx < 0) {
        struct host_row *r = host_row_add(a);
        r->name = xstrdup(j->host);
        r->id = xstrdup(j->source_id);
        idx = (int)(a->n - 1);
        if (r->id) strmap_put(&a->by_key, r->id, idx);
        if (r->name) {
            char *nk = xasprintf("name:%s", r->name);
            strmap_put(&a->by_key, nk, idx);
            free(nk);
        }
    }
    struct host_row *r = &a->v[idx];
    r->n[k][0]++;
    if (status_is(j->job_status, "failed")) r->n[k][1]++;
    if (k == 0 && j->start_ms > r->last_sync_ms) {
        r->last_sync_ms = j->start_ms;
        free(r->last_sync_result);
        r->last_sync_result = xstrdup(j->job_status);
    }
    return 0;
}

static const char *row_name(const struct host_row *r)
{
    return r->h ? r->h->name : r->name;
}

static const char *row_id(const struct host_row *r)
{
    return r->h ? r->h->id : r->id;
}

static int cmp_opt(const char *a, const char *b)
{
    if (!a || !b) return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int host_row_cmp(const void *x, const void *y)
{
    const struct host_row *a = x, *b = y;
    int c = cmp_opt(row_name(a), row_name(b));
    return c ? c : cmp_opt(row_id(a), row_id(b));
}

static const char *registration(const struct host_row *r)
{
    if (!r->h) return "unregistered";
    const char *s = r->h->host_status;
    if (status_is(s, "host_unregister_done")) return "unregistered";
    if (status_is(s, "host_unregister_doing")) return "unregistering";
    return "registered";
}

static int build_hosts(build *b)
{
    console_hosts hs = {0};
    struct host_acc a = {.b = b};
    int rc = 0;
    if (console_list_hosts(b->c, NULL, &hs, b->e) < 0) rc = walk_failed(b, "hosts");
    for (size_t i = 0; rc == 0 && i < hs.n; i++) {
        struct host_row *r = host_row_add(&a);
        r->h = &hs.v[i];
        if (hs.v[i].id) strmap_put(&a.by_key, hs.v[i].id, (int)i);
        if (hs.v[i].name) {
            char *nk = xasprintf("name:%s", hs.v[i].name);
            if (strmap_get(&a.by_key, nk) < 0) strmap_put(&a.by_key, nk, (int)i);
            free(nk);
        }
    }
    console_job_query q = {.since_ms = b->p->from_ms};
    if (rc == 0 && console_walk_jobs(b->c, &q, host_job, &a, b->e) < 0)
        rc = walk_failed(b, "jobs");
    if (rc == 0) qsort(a.v, a.n, sizeof *a.v, host_row_cmp);
    int64_t nhosts = 0, unreg = 0, disc = 0, tot[3] = {0, 0, 0};
    for (size_t i = 0; rc == 0 && i < a.n; i++) {
        struct host_row *r = &a.v[i];
        if (!host_wanted(b->p, row_name(r), row_id(r))) continue;
        const console_host *h = r->h;
        static const console_host none = {0};
        if (!h) h = &none;
        const char *reg = registration(r);
        report_val age = h->last_snapshot_ms ? span(h->last_snapshot_ms, b->p->now_ms)
                                             : (report_val){.null = true};
        report_val v[] = {text(row_name(r)), text(row_id(r)), text(h->system_type),
                          text(h->host_type), text(h->ip_address), text(reg),
                          text(h->host_status), text(h->health_status), text(h->target_name),
                          time_val(h->created_ms), int_val(r->n[0][0]), int_val(r->n[0][1]),
                          int_val(r->n[1][0]), int_val(r->n[1][1]), int_val(r->n[2][0]),
                          int_val(r->n[2][1]), time_val(r->last_sync_ms),
                          text(r->last_sync_result), time_val(h->last_snapshot_ms), age};
        nhosts++;
        unreg += strcmp(reg, "registered") != 0;
        disc += status_is(h->health_status, "disconnected");
        for (int k = 0; k < 3; k++) tot[k] += r->n[k][0];
        rc = write_row(b, v);
    }
    for (size_t i = 0; i < a.n; i++) {
        free(a.v[i].name);
        free(a.v[i].id);
        free(a.v[i].last_sync_result);
    }
    free(a.v);
    strmap_free(&a.by_key);
    console_hosts_free(&hs);
    if (rc < 0) return -1;
    fig_int(b, "hosts", "Hosts", "主机数", nhosts);
    fig_int(b, "registered", "Registered", "已注册", nhosts - unreg);
    fig_int(b, "unregistered", "Unregistered", "已解除注册", unreg);
    fig_int(b, "disconnected", "Disconnected", "失联", disc);
    fig_int(b, "syncs", "Syncs", "同步次数", tot[0]);
    fig_int(b, "drills", "Drills", "演练次数", tot[1]);
    fig_int(b, "takeovers", "Takeovers", "接管次数", tot[2]);
    return 0;
}

/* --- daily-summary --------------------------------------------------------------------------- */

enum { MAX_DAYS = 3700 };

struct day_acc {
    build *b;
    int64_t first_day;
    size_t ndays;
    int64_t (*n)[7]; /* per day: protected, sync ok/failed, drill ok/failed, takeover ok/failed */
    strmap host_ids;
    u64set protected;
};

static int day_job(const console_job *j, void *ud)
{
    struct day_acc *a = ud;
    const report_params *p = a->b->p;
    int k = j->kind == CONSOLE_KIND_SYNC ? 0 : j->kind == CONSOLE_KIND_DRILL ? 1
          : j->kind == CONSOLE_KIND_TAKEOVER ? 2 : -1;
    if (k < 0 || !in_range(p, j->start_ms) || !host_wanted(p, j->host, j->source_id)) return 0;
    int64_t d = tz_day_of(j->start_ms) - a->first_day;
    if (d < 0 || (size_t)d >= a->ndays) return 0;
    bool ok = status_is(j->job_status, "done");
    if (!ok && !status_is(j->job_status, "failed")) return 0; /* still running */
    a->n[d][1 + 2 * k + !ok]++;
    if (k == 0 && ok) {
        const char *key = job_host_key(j);
        int h = strmap_get(&a->host_ids, key);
        if (h < 0) {
            h = (int)a->host_ids.n;
            strmap_put(&a->host_ids, key, h);
        }
        if (u64set_add(&a->protected, ((uint64_t)(h + 1) << 20) | (uint64_t)d)) a->n[d][0]++;
    }
    return 0;
}

static int build_daily(build *b)
{
    struct day_acc a = {.b = b};
    a.first_day = tz_day_of(b->p->from_ms);
    int64_t last = tz_day_of(b->p->to_ms - 1);
    if (last - a.first_day + 1 > MAX_DAYS)
        return hm_err_set(b->e, "the range spans %lld days; daily-summary covers at most %d",
                          (long long)(last - a.first_day + 1), MAX_DAYS);
    a.ndays = last >= a.first_day ? (size_t)(last - a.first_day + 1) : 0;
    a.n = xcalloc(a.ndays ? a.ndays : 1, sizeof *a.n);
    console_job_query q = {.since_ms = b->p->from_ms};
    int rc = 0;
    if (console_walk_jobs(b->c, &q, day_job, &a, b->e) < 0) rc = walk_failed(b, "jobs");
    int64_t tot[7] = {0};
    for (size_t d = 0; rc == 0 && d < a.ndays; d++) {
        int64_t *n = a.n[d];
        int64_t ok = n[1] + n[3] + n[5], bad = n[2] + n[4] + n[6];
        report_val rate = {.null = ok + bad == 0};
        if (!rate.null) rate.d = 100.0 * (double)ok / (double)(ok + bad);
        report_val v[] = {{.i = a.first_day + (int64_t)d}, int_val(n[0]), int_val(n[1]),
                          int_val(n[2]), int_val(n[3]), int_val(n[4]), int_val(n[5]),
                          int_val(n[6]), rate};
        for (int k = 1; k < 7; k++) tot[k] += n[k];
        rc = write_row(b, v);
    }
    free(a.n);
    strmap_free(&a.host_ids);
    free(a.protected.v);
    if (rc < 0) return -1;
    fig_int(b, "days", "Days", "天数", (int64_t)a.ndays);
    fig_int(b, "syncs_ok", "Syncs ok", "同步成功", tot[1]);
    fig_int(b, "syncs_failed", "Syncs failed", "同步失败", tot[2]);
    fig_int(b, "drills_ok", "Drills ok", "演练成功", tot[3]);
    fig_int(b, "drills_failed", "Drills failed", "演练失败", tot[4]);
    fig_int(b, "takeovers_ok", "Takeovers ok", "接管成功", tot[5]);
    fig_int(b, "takeovers_failed", "Takeovers failed", "接管失败", tot[6]);
    fig_rate(b, tot[1] + tot[3] + tot[5], tot[2] + tot[4] + tot[6]);
    return 0;
}

/* --- gateway-summary, gateway-detail --------------------------------------------------------- */

static int target_cmp(const void *x, const void *y)
{
    const console_target *a = x, *b = y;
    int c = cmp_opt(a->name, b->name);
    return c ? c : cmp_opt(a->uuid, b->uuid);
}

/* Every target with its detail, sorted by name. */
static int load_targets(build *b, console_targets *ts)
{
    if (console_list_targets(b->c, ts, b->e) < 0) return walk_failed(b, "gateways");
    for (size_t i = 0; i < ts->n; i++) {
        if (!ts->v[i].uuid) continue;
        console_target d;
        if (console_get_target(b->c, ts->v[i].uuid, &d, b->e) < 0)
            return walk_failed(b, "gateways");
        console_target_free(&ts->v[i]);
        ts->v[i] = d;
    }
    qsort(ts->v, ts->n, sizeof *ts->v, target_cmp);
    return 0;
}

static report_val online_val(int online)
{
    return text(online < 0 ? NULL : online ? "yes" : "no");
}

static int build_gateways(build *b)
{
    console_targets ts = {0};
    int rc = load_targets(b, &ts);
    int64_t online = 0, vols = 0;
    double total = 0, used = 0;
    for (size_t i = 0; rc == 0 && i < ts.n; i++) {
        const console_target *t = &ts.v[i];
        report_val pct = {.null = !(t->total_size > 0)};
        if (!pct.null) pct.d = 100.0 * t->used_size / t->total_size;
        report_val v[] = {text(t->name), text(t->uuid), text(t->cloud_type), text(t->region),
                          text(t->status), online_val(t->online),
                          (report_val){.d = t->total_size}, (report_val){.d = t->used_size}, pct,
                          int_val((int64_t)t->n_pools), int_val((int64_t)t->n_volumes)};
        online += t->online == 1;
        vols += (int64_t)t->n_volumes;
        total += t->total_size;
        used += t->used_size;
        rc = write_row(b, v);
    }
    size_t n = ts.n;
    console_targets_free(&ts);
    if (rc < 0) return -1;
    fig_int(b, "gateways", "Gateways", "网关数", (int64_t)n);
    fig_int(b, "online", "Online", "在线", online);
    fig_int(b, "volumes", "Volumes", "卷数", vols);
    fig(b, "capacity_total_gib", "Capacity total (GiB)", "总容量 (GiB)", RC_NUM,
        (report_val){.d = total});
    fig(b, "capacity_used_gib", "Capacity used (GiB)", "已用容量 (GiB)", RC_NUM,
        (report_val){.d = used});
    return 0;
}

static int build_volumes(build *b)
{
    console_targets ts = {0};
    int rc = load_targets(b, &ts);
    int64_t nvol = 0, attached = 0;
    double cap = 0;
    for (size_t i = 0; rc == 0 && i < ts.n; i++) {
        const console_target *t = &ts.v[i];
        for (size_t k = 0; rc == 0 && k < t->n_volumes; k++) {
            const console_volume *vol = &t->volumes[k];
            if (!host_wanted(b->p, vol->host, NULL)) continue;
            const console_pool *pool = NULL;
            for (size_t m = 0; vol->pool_uuid && m < t->n_pools && !pool; m++)
                if (cmp_opt(t->pools[m].uuid, vol->pool_uuid) == 0) pool = &t->pools[m];
            report_val v[] = {text(t->name), text(t->uuid), text(vol->name), text(vol->uuid),
                              text(vol->host), (report_val){.d = vol->capacity},
                              text(vol->status), text(vol->attach_status),
                              text(pool ? pool->name : NULL), text(vol->pool_uuid)};
            nvol++;
            attached += status_is(vol->attach_status, "attached");
            cap += vol->capacity;
            rc = write_row(b, v);
        }
    }
    size_t n = ts.n;
    console_targets_free(&ts);
    if (rc < 0) return -1;
    fig_int(b, "gateways", "Gateways", "网关数", (int64_t)n);
    fig_int(b, "volumes", "Volumes", "卷数", nvol);
    fig_int(b, "attached", "Attached", "已挂载", attached);
    fig(b, "capacity_gib", "Capacity (GiB)", "容量 (GiB)", RC_NUM, (report_val){.d = cap});
    return 0;
}

/* --- running ----------------------------------------------------------------------------------- */

int report_run(console *c, const report_params *p, hm_err *e)
{
    const struct report_type_info *info = report_type_get(p->type);
    if (!info) return hm_err_set(e, "unknown report type %d", (int)p->type);
    const console_conf *cc = console_settings(c);
    report_meta m = {
        .type = p->type,
        .info = info,
        .lang = p->lang,
        .console = cc->name ? cc->name : "default",
        .url = cc->url,
        .zone = p->zone,
        .from_ms = p->from_ms,
        .to_ms = p->to_ms,
        .generated_ms = p->now_ms,
        .hosts = p->hosts_arg,
        .bom = p->bom,
    };
    report_out out;
    if (report_out_open(&out, p->output, e) < 0) return -1;
    report_writer *w = report_writer_open(p->format, out.tmp, &m, e);
    if (!w) {
        report_out_abort(&out);
        return -1;
    }
    build b = {.c = c, .p = p, .w = w, .e = e};
    int rc;
    switch (p->type) {
    case REPORT_HOST_SUMMARY: rc = build_hosts(&b); break;
    case REPORT_SYNC_DETAIL: rc = build_sync(&b); break;
    case REPORT_DRILL_DETAIL: rc = build_boot(&b, CONSOLE_KIND_DRILL); break;
    case REPORT_TAKEOVER_DETAIL: rc = build_boot(&b, CONSOLE_KIND_TAKEOVER); break;
    case REPORT_DAILY_SUMMARY: rc = build_daily(&b); break;
    case REPORT_GATEWAY_SUMMARY: rc = build_gateways(&b); break;
    default: rc = build_volumes(&b); break;
    }
    if (rc == 0) {
        fig_int(&b, "rows", "Rows", "行数", (int64_t)w->rows);
        rc = report_writer_finish(w, b.figs, b.nfigs, e);
    }
    report_writer_free(w);
    if (rc == 0) return report_out_commit(&out, e);
    report_out_abort(&out);
    return -1;
}
