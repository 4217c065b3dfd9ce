/* Runs, journal and lock on SQLite. Every write is its own committed transaction; the lock row
 * is taken inside BEGIN IMMEDIATE, so two processes deciding at once are serialised by SQLite. */
#include "drill/journal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE IF NOT EXISTS drill_runs (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " plan TEXT NOT NULL, plan_file TEXT NOT NULL, plan_text TEXT NOT NULL, mode TEXT NOT NULL,"
    " operator TEXT NOT NULL, console TEXT, state TEXT NOT NULL, started_ms INTEGER NOT NULL,"
    " ended_ms INTEGER NOT NULL DEFAULT 0, rto_target_ms INTEGER NOT NULL DEFAULT 0,"
    " rpo_target_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS drill_journal (run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL, event TEXT NOT NULL, step TEXT, attempt INTEGER NOT NULL DEFAULT 0,"
    " host TEXT, data TEXT, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS drill_lock (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " run_id INTEGER NOT NULL DEFAULT 0, pid INTEGER NOT NULL, pid_start INTEGER NOT NULL,"
    " plan TEXT, mode TEXT, since_ms INTEGER NOT NULL);",
};

static int fail(hm_store *st, hm_err *e, const char *what)
{
    return hm_err_set(e, "%s: %s: %s", store_path(st), what, sqlite3_errmsg(store_db(st)));
}

int drill_store_init(hm_store *st, hm_err *e)
{
    if (store_migrate(st, "drill", migrations, (int)HM_ARRAY_LEN(migrations), e) < 0) return -1;
    char *msg = NULL;
    if (sqlite3_exec(store_db(st), "PRAGMA synchronous = FULL", NULL, NULL, &msg) != SQLITE_OK) {
        hm_err_set(e, "%s: %s", store_path(st), msg ? msg : "PRAGMA synchronous failed");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static char *col_str(sqlite3_stmt *q, int i)
{
    const unsigned char *s = sqlite3_column_text(q, i);
    return s ? xstrdup((const char *)s) : NULL;
}

void drill_run_info_clear(drill_run_info *r)
{
    free(r->plan);
    free(r->plan_file);
    free(r->plan_text);
    free(r->mode);
    free(r->operator_name);
    free(r->console);
    free(r->state);
    memset(r, 0, sizeof *r);
}

int drill_run_create(hm_store *st, const drill_run_info *info, int64_t *id, hm_err *e)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO drill_runs (plan, plan_file, plan_text, mode, operator,"
                           " console, state, started_ms, rto_target_ms, rpo_target_ms)"
                           " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, e, "recording the run");
    sqlite3_bind_text(q, 1, info->plan, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, info->plan_file ? info->plan_file : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, info->plan_text ? info->plan_text : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, info->mode, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, info->operator_name ? info->operator_name : "", -1, SQLITE_STATIC);
    if (info->console) sqlite3_bind_text(q, 6, info->console, -1, SQLITE_STATIC);
    else sqlite3_bind_null(q, 6);
    sqlite3_bind_int64(q, 7, info->started_ms);
    sqlite3_bind_int64(q, 8, info->rto_target_ms);
    sqlite3_bind_int64(q, 9, info->rpo_target_ms);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return fail(st, e, "recording the run");
    *id = sqlite3_last_insert_rowid(db);
    return 0;
}

int drill_run_set_state(hm_store *st, int64_t id, const char *state, int64_t ended_ms, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "UPDATE drill_runs SET state = ?, ended_ms = ? WHERE id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, e, "updating the run");
    sqlite3_bind_text(q, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, ended_ms);
    sqlite3_bind_int64(q, 3, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(st, e, "updating the run");
}

static void read_run(sqlite3_stmt *q, drill_run_info *r, bool with_text)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    r->plan = col_str(q, 1);
    r->plan_file = col_str(q, 2);
    r->mode = col_str(q, 3);
    r->operator_name = col_str(q, 4);
    r->console = col_str(q, 5);
    r->state = col_str(q, 6);
    r->started_ms = sqlite3_column_int64(q, 7);
    r->ended_ms = sqlite3_column_int64(q, 8);
    r->rto_target_ms = sqlite3_column_int64(q, 9);
    r->rpo_target_ms = sqlite3_column_int64(q, 10);
    if (with_text) r->plan_text = col_str(q, 11);
}

#define RUN_COLS "id, plan, plan_file, mode, operator, console, state, started_ms, ended_ms," \
                 " rto_target_ms, rpo_target_ms"

int drill_run_get(hm_store *st, int64_t id, drill_run_info *out, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "SELECT " RUN_COLS ", plan_text FROM drill_runs WHERE id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, e, "reading the run");
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        read_run(q, out, true);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = fail(st, e, "reading the run");
    }
    sqlite3_finalize(q);
    return ret;
}

int drill_run_list(hm_store *st, drill_run_info **out, size_t *n, hm_err *e)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "SELECT " RUN_COLS " FROM drill_runs ORDER BY id DESC",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, e, "listing the runs");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        read_run(q, &(*out)[(*n)++], false);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return fail(st, e, "listing the runs");
    return 0;
}

int64_t drill_journal_add(hm_store *st, int64_t run_id, int64_t ts_ms, const char *event,
                          const char *step, int attempt, const char *host, json_t *data,
                          hm_err *e)
{
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(data);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT INTO drill_journal (run_id, seq, ts_ms, event, step, attempt,"
                           " host, data) SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6,"
                           " ?7 FROM drill_journal WHERE run_id = ?1 RETURNING seq",
                           -1, &q, NULL) != SQLITE_OK) {
        free(text);
        return fail(st, e, "writing the journal");
    }
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int64(q, 2, ts_ms);
    sqlite3_bind_text(q, 3, event, -1, SQLITE_STATIC);
    if (step) sqlite3_bind_text(q, 4, step, -1, SQLITE_STATIC);
    else sqlite3_bind_null(q, 4);
    sqlite3_bind_int(q, 5, attempt);
    if (host) sqlite3_bind_text(q, 6, host, -1, SQLITE_STATIC);
    else sqlite3_bind_null(q, 6);
    if (text) sqlite3_bind_text(q, 7, text, -1, SQLITE_STATIC);
    else sqlite3_bind_null(q, 7);
    int64_t seq = -1;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        seq = sqlite3_column_int64(q, 0);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    free(text);
    if (rc != SQLITE_DONE || seq < 0) return fail(st, e, "writing the journal");
    return seq;
}

int drill_journal_read(hm_store *st, int64_t run_id, drill_entry **out, size_t *n, hm_err *e)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT seq, ts_ms, event, step, attempt, host, data FROM drill_journal"
                           " WHERE run_id = ? ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, e, "reading the journal");
    sqlite3_bind_int64(q, 1, run_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        drill_entry *en = &(*out)[(*n)++];
        en->seq = sqlite3_column_int64(q, 0);
        en->ts_ms = sqlite3_column_int64(q, 1);
        en->event = col_str(q, 2);
        en->step = col_str(q, 3);
        en->attempt = sqlite3_column_int(q, 4);
        en->host = col_str(q, 5);
        const unsigned char *d = sqlite3_column_text(q, 6);
        en->data = d ? json_loads((const char *)d, 0, NULL) : NULL;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        drill_entries_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(st, e, "reading the journal");
    }
    return 0;
}

void drill_entries_free(drill_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].event);
        free(v[i].step);
        free(v[i].host);
        json_decref(v[i].data);
    }
    free(v);
}

/* --- The lock ------------------------------------------------------------------------------ */

int64_t drill_pid_start(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    char *text = hm_read_file(path, NULL, NULL);
    if (!text) return -1;
    /* the command name may hold spaces and parentheses: fields start after the last ')' */
    const char *p = strrchr(text, ')');
    int64_t start = -1;
    if (p) {
        /* field 3 (state) is the first after ") "; starttime is field 22 */
        int field = 2;
        for (p++; *p && field < 22; p++)
            if (*p == ' ') field++;
        if (field == 22) start = strtoll(p, NULL, 10);
    }
    free(text);
    return start;
}

bool drill_pid_alive(int pid, int64_t pid_start)
{
    if (pid <= 0) return false;
    if (kill(pid, 0) < 0 && errno == ESRCH) return false;
    int64_t now = drill_pid_start(pid);
    /* without /proc, kill(2) is all there is */
    return now < 0 ? true : now == pid_start;
}

void drill_lock_info_clear(drill_lock_info *l)
{
    free(l->plan);
    free(l->mode);
    memset(l, 0, sizeof *l);
}

/* Reads the lock row: 1 with the row's fields, 0 when there is none, -1. */
static int read_lock(hm_store *st, drill_lock_info *li, int64_t *pid_start, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT run_id, pid, pid_start, plan, mode, since_ms FROM drill_lock"
                           " WHERE id = 1", -1, &q, NULL) != SQLITE_OK)
        return fail(st, e, "reading the lock");
    int rc = sqlite3_step(q), ret = 0;
    if (rc == SQLITE_ROW) {
        memset(li, 0, sizeof *li);
        li->run_id = sqlite3_column_int64(q, 0);
        li->pid = sqlite3_column_int(q, 1);
        *pid_start = sqlite3_column_int64(q, 2);
        li->plan = col_str(q, 3);
        li->mode = col_str(q, 4);
        li->since_ms = sqlite3_column_int64(q, 5);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = fail(st, e, "reading the lock");
    }
    sqlite3_finalize(q);
    return ret;
}

static int exec_sql(hm_store *st, const char *sql, hm_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(store_db(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
        hm_err_set(e, "%s: %s", store_path(st), msg ? msg : sqlite3_errmsg(store_db(st)));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int drill_lock_acquire(hm_store *st, int64_t run_id, const char *plan, const char *mode,
                       int64_t now_ms, drill_lock_info *holder, hm_err *e)
{
    if (exec_sql(st, "BEGIN IMMEDIATE", e) < 0) return hm_err_prefix(e, "taking the run lock");
    drill_lock_info cur = {0};
    int64_t cur_start = 0;
    int r = read_lock(st, &cur, &cur_start, e);
    if (r < 0) goto rollback;
    if (r == 1 && cur.pid != getpid() && drill_pid_alive(cur.pid, cur_start)) {
        exec_sql(st, "ROLLBACK", NULL);
        if (holder) *holder = cur;
        else drill_lock_info_clear(&cur);
        return 1;
    }
    drill_lock_info_clear(&cur);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT OR REPLACE INTO drill_lock (id, run_id, pid, pid_start, plan,"
                           " mode, since_ms) VALUES (1, ?, ?, ?, ?, ?, ?)",
                           -1, &q, NULL) != SQLITE_OK) {
        fail(st, e, "taking the run lock");
        goto rollback;
    }
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, (int)getpid());
    sqlite3_bind_int64(q, 3, drill_pid_start((int)getpid()));
    sqlite3_bind_text(q, 4, plan, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, mode, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, now_ms);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        fail(st, e, "taking the run lock");
        goto rollback;
    }
    if (exec_sql(st, "COMMIT", e) < 0) goto rollback;
    return 0;
rollback:
    exec_sql(st, "ROLLBACK", NULL);
    return -1;
}

int drill_lock_set_run(hm_store *st, int64_t run_id, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "UPDATE drill_lock SET run_id = ? WHERE id = 1 AND pid = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, e, "updating the run lock");
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_int(q, 2, (int)getpid());
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(st, e, "updating the run lock");
}

int drill_lock_release(hm_store *st, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "DELETE FROM drill_lock WHERE id = 1 AND pid = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return fail(st, e, "releasing the run lock");
    sqlite3_bind_int(q, 1, (int)getpid());
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(st, e, "releasing the run lock");
}

int drill_lock_peek(hm_store *st, drill_lock_info *holder, hm_err *e)
{
    drill_lock_info cur = {0};
    int64_t start = 0;
    int r = read_lock(st, &cur, &start, e);
    if (r <= 0) return r;
    if (!drill_pid_alive(cur.pid, start)) {
        drill_lock_info_clear(&cur);
        return 0;
    }
    if (holder) *holder = cur;
    else drill_lock_info_clear(&cur);
    return 1;
}
