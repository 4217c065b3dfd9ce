/* The store on SQLite: WAL mode so cron's `check` and an open `tui` share the file, a busy
 * timeout instead of "database is locked", and per-module schema migrations. */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hm_store {
    sqlite3 *db;
    char *path;
};

static const char *const core_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, metric TEXT NOT NULL,"
    " unit TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX series_metric ON series(metric);"
    "CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL,"
    " PRIMARY KEY (series_id, ts)) WITHOUT ROWID;"
    "CREATE INDEX samples_ts ON samples(ts);"
    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
};

static int db_fail(hm_store *st, hm_err *e, const char *what)
{
    return hm_err_set(e, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static int exec(hm_store *st, const char *sql, hm_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        hm_err_set(e, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_migrate(hm_store *st, const char *module, const char *const *migrations, int n,
                  hm_err *e)
{
    if (exec(st, "CREATE TABLE IF NOT EXISTS schema_version (module TEXT PRIMARY KEY,"
                 " version INTEGER NOT NULL)", e) < 0)
        return -1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT version FROM schema_version WHERE module = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(st, e, "reading schema version");
    sqlite3_bind_text(q, 1, module, -1, SQLITE_STATIC);
    int version = 0;
    if (sqlite3_step(q) == SQLITE_ROW) version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version > n)
        return hm_err_set(e, "%s: the '%s' tables are at version %d, newer than this hmctl knows "
                             "(%d); upgrade hmctl", st->path, module, version, n);
    for (int v = version; v < n; v++) {
        if (exec(st, "BEGIN IMMEDIATE", e) < 0) return -1;
        if (exec(st, migrations[v], e) < 0) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return hm_err_prefix(e, "migrating '%s' to version %d", module, v + 1);
        }
        char *sql = sqlite3_mprintf("INSERT INTO schema_version(module, version) VALUES (%Q, %d)"
                                    " ON CONFLICT(module) DO UPDATE SET version = excluded.version",
                                    module, v + 1);
        int rc = exec(st, sql, e);
        sqlite3_free(sql);
        if (rc < 0 || exec(st, "COMMIT", e) < 0) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

static int mkdir_p(const char *dir, hm_err *e)
{
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            hm_err_set(e, "cannot create directory '%s': %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        rc = hm_err_set(e, "cannot create directory '%s': %s", p, strerror(errno));
    free(p);
    return rc;
}

int store_open(const char *path, int flags, hm_store **out, hm_err *e)
{
    *out = NULL;
    bool ro = flags & HM_STORE_READONLY;
    if (!ro) {
        char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            if (mkdir_p(dir, e) < 0) {
                free(dir);
                return -1;
            }
        }
        free(dir);
    }
    hm_store *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    int oflags = ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    mode_t old = umask(077);
    int rc = sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_FULLMUTEX, NULL);
    umask(old);
    if (rc != SQLITE_OK) {
        hm_err_set(e, "cannot open the store '%s': %s", path,
                   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return -1;
    }
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_extended_result_codes(st->db, 1);
    if (!ro) {
        if (exec(st, "PRAGMA journal_mode = WAL", e) < 0 ||
            exec(st, "PRAGMA synchronous = NORMAL", e) < 0 ||
            store_migrate(st, "core", core_migrations, (int)HM_ARRAY_LEN(core_migrations), e) < 0) {
            hm_err_prefix(e, "cannot open the store");
            store_close(st);
            return -1;
        }
    } else if (exec(st, "SELECT 1 FROM series LIMIT 1", e) < 0) {
        hm_err_prefix(e, "cannot read the store");
        store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int store_open_config(const hm_config *cfg, int flags, hm_store **out, hm_err *e)
{
    char *dir = cfg_data_dir(cfg);
    char *path = xasprintf("%s/hmctl.db", dir);
    int rc = store_open(path, flags, out, e);
    free(dir);
    free(path);
    return rc;
}

void store_close(hm_store *st)
{
    if (!st) return;
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

const char *store_path(const hm_store *st)
{
    return st->path;
}

sqlite3 *store_db(hm_store *st)
{
    return st->db;
}

static char *metric_of(const char *series)
{
    size_t n = strcspn(series, "{");
    return xstrndup(series, n);
}

int store_append(hm_store *st, const hm_sample *samples, size_t n, hm_err *e)
{
    if (n == 0) return 0;
    if (exec(st, "BEGIN IMMEDIATE", e) < 0) return hm_err_prefix(e, "cannot store samples");
    sqlite3_stmt *ins_series = NULL, *get_series = NULL, *ins = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(st->db, "INSERT INTO series(name, metric, unit) VALUES (?, ?, ?)"
                           " ON CONFLICT(name) DO UPDATE SET unit = excluded.unit"
                           " WHERE unit <> excluded.unit", -1, &ins_series, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT id FROM series WHERE name = ?", -1, &get_series, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO samples(series_id, ts, value)"
                           " VALUES (?, ?, ?)", -1, &ins, NULL) != SQLITE_OK) {
        db_fail(st, e, "cannot store samples");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const hm_sample *s = &samples[i];
        sqlite3_bind_text(get_series, 1, s->series, -1, SQLITE_STATIC);
        sqlite3_int64 id = -1;
        if (sqlite3_step(get_series) == SQLITE_ROW) id = sqlite3_column_int64(get_series, 0);
        sqlite3_reset(get_series);
        if (id < 0) {
            char *metric = metric_of(s->series);
            sqlite3_bind_text(ins_series, 1, s->series, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_series, 2, metric, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins_series, 3, s->unit ? s->unit : "", -1, SQLITE_STATIC);
            int r = sqlite3_step(ins_series);
            sqlite3_reset(ins_series);
            free(metric);
            if (r != SQLITE_DONE) {
                db_fail(st, e, "cannot store samples");
                goto out;
            }
            id = sqlite3_last_insert_rowid(st->db);
        }
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, s->ts_ms);
        sqlite3_bind_double(ins, 3, s->value);
        int r = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (r != SQLITE_DONE) {
            db_fail(st, e, "cannot store samples");
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(ins_series);
    sqlite3_finalize(get_series);
    sqlite3_finalize(ins);
    if (rc == 0 && exec(st, "COMMIT", e) < 0) rc = -1;
    if (rc < 0) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_last(hm_store *st, const char *series, hm_point *out, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT s.ts, s.value FROM samples s JOIN series r ON"
                           " r.id = s.series_id WHERE r.name = ? ORDER BY s.ts DESC LIMIT 1", -1,
                           &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot read samples");
    sqlite3_bind_text(q, 1, series, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        out->ts_ms = sqlite3_column_int64(q, 0);
        out->value = sqlite3_column_double(q, 1);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = db_fail(st, e, "cannot read samples");
    }
    sqlite3_finalize(q);
    return ret;
}

/* WHERE clause on table alias r (series) for a match expression; binds ?1. */
static const char *match_clause(const char *match, char **arg)
{
    if (!match || !*match || strcmp(match, "*") == 0) {
        *arg = NULL;
        return "1";
    }
    size_t n = strlen(match);
    if (match[n - 1] == '*') {
        /* prefix: escape LIKE's wildcards in the literal part */
        strbuf sb = {0};
        for (size_t i = 0; i + 1 < n; i++) {
            if (match[i] == '%' || match[i] == '_' || match[i] == '\\') sb_addc(&sb, '\\');
            sb_addc(&sb, match[i]);
        }
        sb_addc(&sb, '%');
        *arg = sb_detach(&sb);
        return "r.name LIKE ?1 ESCAPE '\\'";
    }
    *arg = xstrdup(match);
    if (strchr(match, '{')) return "r.name = ?1";
    return "r.metric = ?1";
}

int store_series(hm_store *st, const char *match, strvec *names, strvec *units, hm_err *e)
{
    char *arg;
    const char *where = match_clause(match, &arg);
    char *sql = xasprintf("SELECT r.name, r.unit FROM series r WHERE %s ORDER BY r.name", where);
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        free(arg);
        return db_fail(st, e, "cannot list series");
    }
    if (arg) sqlite3_bind_text(q, 1, arg, -1, SQLITE_TRANSIENT);
    free(arg);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        sv_push(names, (const char *)sqlite3_column_text(q, 0));
        if (units) sv_push(units, (const char *)sqlite3_column_text(q, 1));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot list series");
}

int store_range(hm_store *st, const char *match, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                store_point_cb cb, void *ud, hm_err *e)
{
    char *arg;
    const char *where = match_clause(match, &arg);
    char *sql;
    if (step_ms > 0)
        sql = xasprintf("SELECT r.name, r.unit, (s.ts / %lld) * %lld AS b, avg(s.value) FROM samples s"
                        " JOIN series r ON r.id = s.series_id WHERE %s AND s.ts >= ?2 AND s.ts < ?3"
                        " GROUP BY r.name, b ORDER BY r.name, b",
                        (long long)step_ms, (long long)step_ms, where);
    else
        sql = xasprintf("SELECT r.name, r.unit, s.ts, s.value FROM samples s JOIN series r ON"
                        " r.id = s.series_id WHERE %s AND s.ts >= ?2 AND s.ts < ?3"
                        " ORDER BY r.name, s.ts", where);
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        free(arg);
        return db_fail(st, e, "cannot read samples");
    }
    if (arg) sqlite3_bind_text(q, 1, arg, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, 1);
    free(arg);
    sqlite3_bind_int64(q, 2, from_ms);
    sqlite3_bind_int64(q, 3, to_ms);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (cb((const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
               sqlite3_column_int64(q, 2), sqlite3_column_double(q, 3), ud) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot read samples");
}

int64_t store_prune(hm_store *st, int64_t before_ms, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "DELETE FROM samples WHERE ts < ?", -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot prune samples");
    sqlite3_bind_int64(q, 1, before_ms);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return db_fail(st, e, "cannot prune samples");
    return sqlite3_changes(st->db);
}

int store_kv_load(hm_store *st, hm_kv *kv, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT key, value FROM kv", -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot read state");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        hm_kv_put(kv, (const char *)sqlite3_column_text(q, 0),
                  (const char *)sqlite3_column_text(q, 1));
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot read state");
}

struct kv_save {
    sqlite3_stmt *q;
    int failed;
};

static void kv_save_one(const char *key, const char *value, void *ud)
{
    struct kv_save *s = ud;
    sqlite3_bind_text(s->q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->q, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(s->q) != SQLITE_DONE) s->failed = 1;
    sqlite3_reset(s->q);
}

int store_kv_save(hm_store *st, hm_kv *kv, hm_err *e)
{
    struct kv_save s = {0};
    if (exec(st, "BEGIN IMMEDIATE", e) < 0) return -1;
    if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)", -1, &s.q,
                           NULL) != SQLITE_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return db_fail(st, e, "cannot save state");
    }
    hm_kv_each(kv, kv_save_one, &s);
    sqlite3_finalize(s.q);
    if (s.failed) {
        db_fail(st, e, "cannot save state");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return exec(st, "COMMIT", e);
}
