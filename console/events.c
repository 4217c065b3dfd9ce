/* Derived events (console-api.md "Events hmctl derives"): the previous poll of each console is
 * kept in console_hosts_seen; each event is stored once in console_events, keyed by console,
 * host, type and what produced it, so repeated or concurrent runs never store it twice. */
#include "console/console.h"

#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    "CREATE TABLE console_hosts_seen ("
    " console TEXT NOT NULL, host_id TEXT NOT NULL, host_name TEXT, health TEXT,"
    " host_status TEXT, boot_status TEXT, license_valid INTEGER, last_snapshot_ms INTEGER,"
    " seen_ms INTEGER NOT NULL, PRIMARY KEY (console, host_id));"
    "CREATE TABLE console_events ("
    " id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, console TEXT NOT NULL,"
    " host_id TEXT NOT NULL, host_name TEXT, type TEXT NOT NULL, source TEXT NOT NULL,"
    " detail TEXT, UNIQUE (console, host_id, type, source));"
    "CREATE INDEX console_events_ts ON console_events (ts_ms);",
};

static int db_err(hm_store *st, hm_err *e, const char *what)
{
    return hm_err_set(e, "%s: %s: %s", store_path(st), what, sqlite3_errmsg(store_db(st)));
}

static const char *col(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static bool eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

typedef struct rec_ctx {
    hm_store *st;
    sqlite3_stmt *ins;
    const char *console;
    console_events *fresh;
} rec_ctx;

static int add_event(rec_ctx *rc, int64_t ts, const char *host_id, const char *host_name,
                     const char *type, const char *source, const char *detail)
{
    sqlite3_stmt *s = rc->ins;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, ts);
    sqlite3_bind_text(s, 2, rc->console, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, host_id ? host_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, host_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, detail, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) return -1;
    if (sqlite3_changes(store_db(rc->st)) == 1 && rc->fresh) {
        console_events *f = rc->fresh;
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 8;
            f->v = xrealloc(f->v, f->cap * sizeof *f->v);
        }
        f->v[f->n++] = (console_event){ts, xstrdup(rc->console), xstrdup(host_id ? host_id : ""),
                                        xstrdup(host_name), xstrdup(type), xstrdup(source),
                                        xstrdup(detail)};
    }
    return 0;
}

static bool job_failed_kind(const console_job *j, bool sync)
{
    if (!eq(j->job_status, "failed")) return false;
    return sync ? j->kind == CONSOLE_KIND_SYNC
                : (j->kind == CONSOLE_KIND_DRILL || j->kind == CONSOLE_KIND_TAKEOVER);
}

/* A failed job that ended after the previous poll covers the same failure as the host's
 * status change, and names the job, so the status event is left out. */
static bool job_covers(const console_jobs *jobs, const console_host *h, bool sync, int64_t since)
{
    for (size_t i = 0; jobs && i < jobs->n; i++) {
        const console_job *j = &jobs->v[i];
        if (!job_failed_kind(j, sync)) continue;
        if (!(eq(j->source_id, h->id) || (!j->source_id && eq(j->host, h->name)))) continue;
        int64_t t = j->end_ms ? j->end_ms : j->updated_ms;
        /* 5 minutes for clock skew between the console and this host */
        if (!t || t >= since - 300000) return true;
    }
    return false;
}

int console_events_record(hm_store *st, const console_conf *cc, const console_hosts *hosts,
                          const console_jobs *jobs, int64_t now_ms, console_events *fresh,
                          hm_err *e)
{
    if (store_migrate(st, "console", migrations, (int)HM_ARRAY_LEN(migrations), e) < 0) return -1;
    sqlite3 *db = store_db(st);
    const char *cname = cc->name ? cc->name : "";
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(st, e, "cannot start a transaction");
    sqlite3_stmt *prev = NULL, *ins = NULL, *seen = NULL, *drop = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT health, host_status, boot_status, license_valid, seen_ms"
                           " FROM console_hosts_seen WHERE console = ?1 AND host_id = ?2",
                           -1, &prev, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO console_events"
                           " (ts_ms, console, host_id, host_name, type, source, detail)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO console_hosts_seen (console, host_id, host_name,"
                           " health, host_status, boot_status, license_valid, last_snapshot_ms,"
                           " seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &seen, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM console_hosts_seen WHERE console = ?1 AND seen_ms <> ?2",
                           -1, &drop, NULL) != SQLITE_OK) {
        db_err(st, e, "cannot prepare the event statements");
        goto out;
    }
    rec_ctx r = {st, ins, cname, fresh};
    char src[64], detail[512];
    for (size_t i = 0; i < hosts->n; i++) {
        const console_host *h = &hosts->v[i];
        const char *name = h->name ? h->name : h->id;
        sqlite3_reset(prev);
        sqlite3_bind_text(prev, 1, cname, -1, SQLITE_STATIC);
        sqlite3_bind_text(prev, 2, h->id, -1, SQLITE_STATIC);
        int step = sqlite3_step(prev);
        if (step == SQLITE_ROW) {
            int64_t pseen = sqlite3_column_int64(prev, 4);
            snprintf(src, sizeof src, "poll:%lld", (long long)pseen);
            const char *phealth = col(prev, 0), *pstatus = col(prev, 1), *pboot = col(prev, 2);
            int plic = sqlite3_column_type(prev, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(prev, 3);
            int bad = 0;
            if (eq(phealth, "active") && eq(h->health_status, "disconnected")) {
                snprintf(detail, sizeof detail, "%s lost contact with the console (h_health_status "
                                                "active -> disconnected)", name);
                bad |= add_event(&r, now_ms, h->id, h->name, "host_lost_contact", src, detail);
            }
            if (eq(phealth, "disconnected") && eq(h->health_status, "active")) {
                snprintf(detail, sizeof detail, "%s is in contact again", name);
                bad |= add_event(&r, now_ms, h->id, h->name, "host_reconnected", src, detail);
            }
            if (!eq(pstatus, "sync_failed") && eq(h->host_status, "sync_failed") &&
                !job_covers(jobs, h, true, pseen)) {
                snprintf(detail, sizeof detail, "sync of %s failed (h_host_status %s -> sync_failed)",
                         name, pstatus ? pstatus : "unknown");
                bad |= add_event(&r, now_ms, h->id, h->name, "sync_failed", src, detail);
            }
            if (!eq(pboot, "boot_failed") && eq(h->boot_status, "boot_failed") &&
                !job_covers(jobs, h, false, pseen)) {
                snprintf(detail, sizeof detail, "boot of %s failed (h_boot_status %s -> boot_failed)",
                         name, pboot ? pboot : "unknown");
                bad |= add_event(&r, now_ms, h->id, h->name, "boot_failed", src, detail);
            }
            if (plic == 1 && h->license_valid == 0) {
                snprintf(detail, sizeof detail, "the licence bound to %s has expired", name);
                bad |= add_event(&r, now_ms, h->id, h->name, "license_expired", src, detail);
            }
            if (bad) {
                db_err(st, e, "cannot record an event");
                goto out;
            }
        } else if (step != SQLITE_DONE) {
            db_err(st, e, "cannot read the previous poll");
            goto out;
        }
        /* rpo_exceeded is a condition, not a change: once per stale snapshot */
        int64_t rpo = console_conf_rpo(cc, h->name);
        if (h->last_snapshot_ms && now_ms - h->last_snapshot_ms > rpo &&
            !eq(h->host_status, "host_unregister_done")) {
            char age[32], target[32];
            hm_format_duration(now_ms - h->last_snapshot_ms, age, sizeof age);
            hm_format_duration(rpo, target, sizeof target);
            snprintf(src, sizeof src, "snapshot:%lld", (long long)h->last_snapshot_ms);
            snprintf(detail, sizeof detail, "newest snapshot of %s is %s old (RPO target %s)", name,
                     age, target);
            if (add_event(&r, now_ms, h->id, h->name, "rpo_exceeded", src, detail) < 0) {
                db_err(st, e, "cannot record an event");
                goto out;
            }
        }
        sqlite3_reset(seen);
        sqlite3_bind_text(seen, 1, cname, -1, SQLITE_STATIC);
        sqlite3_bind_text(seen, 2, h->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(seen, 3, h->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(seen, 4, h->health_status, -1, SQLITE_STATIC);
        sqlite3_bind_text(seen, 5, h->host_status, -1, SQLITE_STATIC);
        sqlite3_bind_text(seen, 6, h->boot_status, -1, SQLITE_STATIC);
        if (h->license_valid < 0) sqlite3_bind_null(seen, 7);
        else sqlite3_bind_int(seen, 7, h->license_valid);
        sqlite3_bind_int64(seen, 8, h->last_snapshot_ms);
        sqlite3_bind_int64(seen, 9, now_ms);
        if (sqlite3_step(seen) != SQLITE_DONE) {
            db_err(st, e, "cannot keep the poll");
            goto out;
        }
    }
    for (size_t i = 0; jobs && i < jobs->n; i++) {
        const console_job *j = &jobs->v[i];
        bool sync = job_failed_kind(j, true);
        if (!j->task_id || (!sync && !job_failed_kind(j, false))) continue;
        snprintf(src, sizeof src, "job:%.58s", j->task_id);
        snprintf(detail, sizeof detail, "%s job %s of %s failed: %s", j->job_type, j->task_id,
                 j->host ? j->host : "?", j->detail ? j->detail : "(no detail)");
        int64_t ts = j->end_ms ? j->end_ms : j->updated_ms ? j->updated_ms : now_ms;
        if (add_event(&r, ts, j->source_id ? j->source_id : j->host, j->host,
                      sync ? "sync_failed" : "boot_failed", src, detail) < 0) {
            db_err(st, e, "cannot record an event");
            goto out;
        }
    }
    sqlite3_bind_text(drop, 1, cname, -1, SQLITE_STATIC);
    sqlite3_bind_int64(drop, 2, now_ms);
    if (sqlite3_step(drop) != SQLITE_DONE) {
        db_err(st, e, "cannot drop hosts no longer listed");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(prev);
    sqlite3_finalize(ins);
    sqlite3_finalize(seen);
    sqlite3_finalize(drop);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(st, e, "cannot commit the events");
    if (rc < 0) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Reads the events of a query selecting ts_ms, console, host_id, host_name, type, source and
 * detail, binding ?1 since_ms, ?2 the console (NULL for all) and ?3 a row limit (-1: none). */
static int query_events(hm_store *st, const char *sql, const char *console, int64_t since_ms,
                        int64_t limit, console_events *out, hm_err *e)
{
    if (store_migrate(st, "console", migrations, (int)HM_ARRAY_LEN(migrations), e) < 0) return -1;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return db_err(st, e, "cannot read events");
    sqlite3_bind_int64(s, 1, since_ms);
    if (console) sqlite3_bind_text(s, 2, console, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, limit);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 32;
            out->v = xrealloc(out->v, out->cap * sizeof *out->v);
        }
        out->v[out->n++] = (console_event){sqlite3_column_int64(s, 0), xstrdup(col(s, 1)),
                                           xstrdup(col(s, 2)), xstrdup(col(s, 3)), xstrdup(col(s, 4)),
                                           xstrdup(col(s, 5)), xstrdup(col(s, 6))};
    }
    int rc = step == SQLITE_DONE ? 0 : db_err(st, e, "cannot read events");
    sqlite3_finalize(s);
    return rc;
}

int console_events_list(hm_store *st, const char *console, int64_t since_ms, console_events *out,
                        hm_err *e)
{
    return query_events(st,
                        "SELECT ts_ms, console, host_id, host_name, type, source, detail"
                        " FROM console_events WHERE ts_ms >= ?1 AND (?2 IS NULL OR console = ?2)"
                        " ORDER BY ts_ms, id LIMIT ?3",
                        console, since_ms, -1, out, e);
}

int console_events_latest(hm_store *st, const char *console, int64_t since_ms, size_t limit,
                          console_events *out, hm_err *e)
{
    return query_events(st,
                        "SELECT ts_ms, console, host_id, host_name, type, source, detail"
                        " FROM console_events WHERE ts_ms >= ?1 AND (?2 IS NULL OR console = ?2)"
                        " ORDER BY ts_ms DESC, id DESC LIMIT ?3",
                        console, since_ms, (int64_t)limit, out, e);
}

int console_events_count(hm_store *st, const char *console, int64_t from_ms, int64_t bucket_ms,
                         size_t n, long *counts, hm_err *e)
{
    memset(counts, 0, n * sizeof *counts);
    if (bucket_ms <= 0 || n == 0) return 0;
    if (store_migrate(st, "console", migrations, (int)HM_ARRAY_LEN(migrations), e) < 0) return -1;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT (ts_ms - ?1) / ?2 AS b, count(*) FROM console_events"
                           " WHERE ts_ms >= ?1 AND ts_ms < ?1 + ?2 * ?3"
                           " AND (?4 IS NULL OR console = ?4) GROUP BY b",
                           -1, &s, NULL) != SQLITE_OK)
        return db_err(st, e, "cannot count events");
    sqlite3_bind_int64(s, 1, from_ms);
    sqlite3_bind_int64(s, 2, bucket_ms);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
    if (console) sqlite3_bind_text(s, 4, console, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, 4);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        sqlite3_int64 b = sqlite3_column_int64(s, 0);
        if (b >= 0 && (size_t)b < n) counts[b] = (long)sqlite3_column_int64(s, 1);
    }
    int rc = step == SQLITE_DONE ? 0 : db_err(st, e, "cannot count events");
    if (rc < 0) memset(counts, 0, n * sizeof *counts);
    sqlite3_finalize(s);
    return rc;
}

void console_events_free(console_events *ev)
{
    for (size_t i = 0; i < ev->n; i++) {
        free(ev->v[i].console);
        free(ev->v[i].host_id);
        free(ev->v[i].host_name);
        free(ev->v[i].type);
        free(ev->v[i].source);
        free(ev->v[i].detail);
    }
    free(ev->v);
    memset(ev, 0, sizeof *ev);
}
