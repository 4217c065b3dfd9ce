/* The store on SQLite: WAL mode so cron's `check` and an open `tui` share the file, a busy
 * timeout instead of "database is locked", per-module schema migrations, and samples kept as
 * compressed chunks per series (the layout is described in store.h and store/chunk.h). */
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "store/chunk.h"

#define MINUTE_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
/* The longest window of a chunk per tier: a 1-minute rollup chunk covers its raw window (at
 * most a day), a 1-hour one a week (aligned to the epoch, so raw windows nest in it). */
static const int64_t tier_chunk_span[STORE_TIERS] = {DAY_MS, DAY_MS, 7 * DAY_MS};
static const int64_t tier_res[STORE_TIERS] = {0, MINUTE_MS, HOUR_MS};
/* No raw window is longer than this (chunk_span divides a day), which bounds range scans. */
#define MAX_RAW_SPAN DAY_MS

enum stmt_id {
    Q_SERIES_GET,
    Q_SERIES_INS,
    Q_SERIES_UNIT,
    Q_CHUNK_AT,
    Q_CHUNK_NEXT,
    Q_CHUNK_GET,
    Q_CHUNK_INS,
    Q_CHUNK_UPD,
    Q_CHUNK_DEL,
    Q_HEADS_OF,
    Q_LATEST_START,
    Q_TS_FIND,
    Q_TS_INS,
    Q_TS_GET,
    Q_RANGE,
    Q_RANGE_OPEN,
    Q_META_GET,
    Q_META_SET,
    Q_COUNT
};

static const char *const stmt_sql[Q_COUNT] = {
    [Q_SERIES_GET] = "SELECT id, unit FROM series WHERE name = ?1",
    [Q_SERIES_INS] = "INSERT INTO series(name, metric, unit) VALUES (?1, ?2, ?3)",
    [Q_SERIES_UNIT] = "UPDATE series SET unit = ?2 WHERE id = ?1",
    [Q_CHUNK_AT] = "SELECT id, start_ts, end_ts, sealed, n, first_ts, last_ts, ts_id, data"
                   " FROM chunks WHERE series_id = ?1 AND tier = ?2 AND start_ts <= ?3"
                   " ORDER BY start_ts DESC LIMIT 1",
    [Q_CHUNK_NEXT] = "SELECT start_ts FROM chunks WHERE series_id = ?1 AND tier = ?2"
                     " AND start_ts > ?3 ORDER BY start_ts LIMIT 1",
    [Q_CHUNK_GET] = "SELECT id, start_ts, end_ts, sealed, n, first_ts, last_ts, ts_id, data"
                    " FROM chunks WHERE id = ?1",
    [Q_CHUNK_INS] = "INSERT INTO chunks(series_id, tier, start_ts, end_ts, sealed, n, first_ts,"
                    " last_ts, ts_id, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [Q_CHUNK_UPD] = "UPDATE chunks SET sealed = ?2, n = ?3, first_ts = ?4, last_ts = ?5,"
                    " ts_id = ?6, data = ?7 WHERE id = ?1",
    [Q_CHUNK_DEL] = "DELETE FROM chunks WHERE id = ?1",
    [Q_HEADS_OF] = "SELECT id, start_ts FROM chunks WHERE series_id = ?1 AND sealed = 0",
    [Q_LATEST_START] = "SELECT max(start_ts) FROM chunks WHERE series_id = ?1 AND tier = 0",
    [Q_TS_FIND] = "SELECT id, n, data FROM tsblocks WHERE hash = ?1",
    [Q_TS_INS] = "INSERT INTO tsblocks(hash, n, data) VALUES (?1, ?2, ?3)",
    [Q_TS_GET] = "SELECT n, data FROM tsblocks WHERE id = ?1",
    [Q_RANGE] = "SELECT start_ts, end_ts, sealed, ts_id, data FROM chunks WHERE series_id = ?1"
                " AND tier = ?2 AND start_ts > ?3 AND start_ts < ?4 ORDER BY start_ts",
    [Q_RANGE_OPEN] = "SELECT start_ts, end_ts, sealed, ts_id, data FROM chunks WHERE series_id = ?1"
                     " AND sealed = 0 AND end_ts > ?3 AND start_ts < ?4",
    [Q_META_GET] = "SELECT value FROM store_meta WHERE key = ?1",
    [Q_META_SET] = "INSERT INTO store_meta(key, value) VALUES (?1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

/* Decoded shared time columns, by id (ids are never reused: AUTOINCREMENT). */
enum { TS_CACHE = 16 };
struct ts_cache_entry {
    int64_t id;
    size_t n;
    int64_t *ts;
    uint64_t used;
};

struct hm_store {
    sqlite3 *db;
    char *path;
    bool readonly;
    store_options opt;
    sqlite3_stmt *stmt[Q_COUNT];
    struct ts_cache_entry tsc[TS_CACHE];
    uint64_t tsc_clock;
    int64_t horizon;  /* raw samples older than this are not stored (within a write) */
    int64_t dropped;  /* samples refused in the current write */
};

static const char *const core_migrations[] = {
    /* 0 -> 1: one row per sample */
    "CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, metric TEXT NOT NULL,"
    " unit TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX series_metric ON series(metric);"
    "CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL,"
    " PRIMARY KEY (series_id, ts)) WITHOUT ROWID;"
    "CREATE INDEX samples_ts ON samples(ts);"
    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 1 -> 2: compressed chunks; the old rows wait in samples_v1 until store_open has moved
     * them (series by series, each move one transaction) */
    "DROP INDEX samples_ts;"
    "ALTER TABLE samples RENAME TO samples_v1;"
    "CREATE TABLE chunks (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL,"
    " tier INTEGER NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL,"
    " sealed INTEGER NOT NULL, n INTEGER NOT NULL, first_ts INTEGER NOT NULL,"
    " last_ts INTEGER NOT NULL, ts_id INTEGER, data BLOB NOT NULL);"
    "CREATE UNIQUE INDEX chunks_key ON chunks(series_id, tier, start_ts);"
    "CREATE INDEX chunks_age ON chunks(tier, end_ts);"
    "CREATE INDEX chunks_open ON chunks(series_id, end_ts) WHERE sealed = 0;"
    "CREATE TABLE tsblocks (id INTEGER PRIMARY KEY AUTOINCREMENT, hash INTEGER NOT NULL,"
    " n INTEGER NOT NULL, refs INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);"
    "CREATE INDEX tsblocks_hash ON tsblocks(hash);"
    "CREATE TRIGGER chunks_ts_ins AFTER INSERT ON chunks WHEN new.ts_id IS NOT NULL BEGIN"
    " UPDATE tsblocks SET refs = refs + 1 WHERE id = new.ts_id; END;"
    "CREATE TRIGGER chunks_ts_upd AFTER UPDATE OF ts_id ON chunks"
    " WHEN old.ts_id IS NOT new.ts_id BEGIN"
    " UPDATE tsblocks SET refs = refs + 1 WHERE id = new.ts_id;"
    " UPDATE tsblocks SET refs = refs - 1 WHERE id = old.ts_id;"
    " DELETE FROM tsblocks WHERE id = old.ts_id AND refs <= 0; END;"
    "CREATE TRIGGER chunks_ts_del AFTER DELETE ON chunks WHEN old.ts_id IS NOT NULL BEGIN"
    " UPDATE tsblocks SET refs = refs - 1 WHERE id = old.ts_id;"
    " DELETE FROM tsblocks WHERE id = old.ts_id AND refs <= 0; END;"
    "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
};
enum { CORE_VERSION = (int)HM_ARRAY_LEN(core_migrations) };

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

static void rollback(hm_store *st)
{
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* A cached prepared statement, reset and unbound. NULL (e set) when it cannot be prepared. */
static sqlite3_stmt *stmt(hm_store *st, enum stmt_id id, hm_err *e)
{
    if (!st->stmt[id]) {
        if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
                               NULL) != SQLITE_OK) {
            db_fail(st, e, "cannot prepare a query");
            return NULL;
        }
    } else {
        sqlite3_reset(st->stmt[id]);
        sqlite3_clear_bindings(st->stmt[id]);
    }
    return st->stmt[id];
}

/* Steps a statement expected to finish without rows; resets it. */
static int step_done(hm_store *st, sqlite3_stmt *q, hm_err *e, const char *what)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, what);
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
            rollback(st);
            return hm_err_prefix(e, "migrating '%s' to version %d", module, v + 1);
        }
        char *sql = sqlite3_mprintf("INSERT INTO schema_version(module, version) VALUES (%Q, %d)"
                                    " ON CONFLICT(module) DO UPDATE SET version = excluded.version",
                                    module, v + 1);
        int rc = exec(st, sql, e);
        sqlite3_free(sql);
        if (rc < 0 || exec(st, "COMMIT", e) < 0) {
            rollback(st);
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

/* ---------------------------------------------------------------------------------------- */
/* Options */

const char *store_tier_name(int tier)
{
    static const char *const names[] = {"raw", "1m", "1h"};
    return tier >= 0 && tier < STORE_TIERS ? names[tier] : "?";
}

int64_t store_tier_resolution(int tier)
{
    return tier >= 0 && tier < STORE_TIERS ? tier_res[tier] : 0;
}

void store_options_default(store_options *o)
{
    o->chunk_span_ms = 2 * HOUR_MS;
    o->retention_ms[STORE_RAW] = 14 * DAY_MS;
    o->retention_ms[STORE_1M] = 90 * DAY_MS;
    o->retention_ms[STORE_1H] = 730 * DAY_MS;
}

static bool explicitly_set(const hm_config *cfg, const char *sec, const char *key)
{
    char buf[512];
    const char *o = cfg_origin(cfg, sec, NULL, key, buf, sizeof buf);
    return o && strcmp(o, "default") != 0;
}

static const char *where_set(const hm_config *cfg, const char *sec, const char *key, char *buf,
                             size_t size)
{
    const char *o = cfg_origin(cfg, sec, NULL, key, buf, size);
    return o ? o : "default";
}

int store_options_from_config(const hm_config *cfg, store_options *o, hm_err *e)
{
    store_options_default(o);
    static const char *const keys[] = {"retention_raw", "retention_1m", "retention_1h"};
    o->chunk_span_ms = cfg_get_ms(cfg, "store", NULL, "chunk_span", o->chunk_span_ms);
    for (int t = 0; t < STORE_TIERS; t++)
        o->retention_ms[t] = cfg_get_ms(cfg, "store", NULL, keys[t], o->retention_ms[t]);
    if (!explicitly_set(cfg, "store", "retention_raw") && explicitly_set(cfg, "hmctl", "retention"))
        o->retention_ms[STORE_RAW] = cfg_get_ms(cfg, "hmctl", NULL, "retention", o->retention_ms[0]);
    char buf[512];
    int64_t span = o->chunk_span_ms;
    if (span <= 0 || span % HOUR_MS != 0 || DAY_MS % span != 0)
        return hm_err_set(e, "%s: [store] chunk_span: must be a whole number of hours that divides "
                             "24h (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)",
                          where_set(cfg, "store", "chunk_span", buf, sizeof buf));
    for (int t = 1; t < STORE_TIERS; t++) {
        int64_t fine = o->retention_ms[t - 1], coarse = o->retention_ms[t];
        if (coarse != 0 && (fine == 0 || coarse < fine))
            return hm_err_set(e, "%s: [store] %s: the %s tier must be kept at least as long as "
                                 "the %s tier (%s)",
                              where_set(cfg, "store", keys[t], buf, sizeof buf), keys[t],
                              store_tier_name(t), store_tier_name(t - 1), keys[t - 1]);
    }
    return 0;
}

void store_set_options(hm_store *st, const store_options *o)
{
    st->opt = *o;
}

/* ---------------------------------------------------------------------------------------- */
/* Meta values (integers) */

/* *out gets the value of key, or `def` when it was never set. */
static int meta_get(hm_store *st, const char *key, int64_t def, int64_t *out, hm_err *e)
{
    sqlite3_stmt *q = stmt(st, Q_META_GET, e);
    if (!q) return -1;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
    else *out = def;
    sqlite3_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot read the store's state");
}

static int meta_set(hm_store *st, const char *key, int64_t v, hm_err *e)
{
    sqlite3_stmt *q = stmt(st, Q_META_SET, e);
    if (!q) return -1;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, v);
    return step_done(st, q, e, "cannot write the store's state");
}

/* ---------------------------------------------------------------------------------------- */
/* Shared time columns */

static uint64_t fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* The id of a stored time column with these bytes, storing it when new. */
static int64_t ts_intern(hm_store *st, const strbuf *col, size_t n, hm_err *e)
{
    int64_t hash = (int64_t)fnv1a(col->buf, col->len);
    sqlite3_stmt *q = stmt(st, Q_TS_FIND, e);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, hash);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((size_t)sqlite3_column_int64(q, 1) == n &&
            (size_t)sqlite3_column_bytes(q, 2) == col->len &&
            memcmp(sqlite3_column_blob(q, 2), col->buf, col->len) == 0) {
            int64_t id = sqlite3_column_int64(q, 0);
            sqlite3_reset(q);
            return id;
        }
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) return db_fail(st, e, "cannot read time columns");
    q = stmt(st, Q_TS_INS, e);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, hash);
    sqlite3_bind_int64(q, 2, (int64_t)n);
    sqlite3_bind_blob(q, 3, col->buf, (int)col->len, SQLITE_STATIC);
    if (step_done(st, q, e, "cannot store a time column") < 0) return -1;
    return sqlite3_last_insert_rowid(st->db);
}

/* The decoded time column `id` (owned by the cache, valid until the next call). */
static const int64_t *ts_get(hm_store *st, int64_t id, size_t *n, hm_err *e)
{
    struct ts_cache_entry *victim = &st->tsc[0];
    for (int i = 0; i < TS_CACHE; i++) {
        struct ts_cache_entry *c = &st->tsc[i];
        if (c->ts && c->id == id) {
            c->used = ++st->tsc_clock;
            *n = c->n;
            return c->ts;
        }
        if (c->used < victim->used) victim = c;
    }
    sqlite3_stmt *q = stmt(st, Q_TS_GET, e);
    if (!q) return NULL;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        if (rc == SQLITE_DONE) hm_err_set(e, "%s: corrupt store: time column %lld is missing", st->path, (long long)id);
        else db_fail(st, e, "cannot read a time column");
        return NULL;
    }
    size_t cnt = (size_t)sqlite3_column_int64(q, 0);
    const void *data = sqlite3_column_blob(q, 1);
    size_t len = (size_t)sqlite3_column_bytes(q, 1);
    if (!chunk_count_plausible(cnt, len)) {
        sqlite3_reset(q);
        hm_err_set(e, "%s: corrupt store: time column %lld claims %zu points in %zu bytes", st->path,
                   (long long)id, cnt, len);
        return NULL;
    }
    int64_t *ts = xmalloc((cnt ? cnt : 1) * sizeof *ts);
    hm_err de = {{0}};
    if (chunk_decode_ints(data, len, ts, cnt, &de) < 0) {
        sqlite3_reset(q);
        free(ts);
        hm_err_set(e, "%s: time column %lld: %s", st->path, (long long)id, de.msg);
        return NULL;
    }
    sqlite3_reset(q);
    free(victim->ts);
    *victim = (struct ts_cache_entry){id, cnt, ts, ++st->tsc_clock};
    *n = cnt;
    return ts;
}

/* Decodes a stored raw chunk (head or sealed) into out (appended). */
static int decode_raw(hm_store *st, const void *data, size_t len, int64_t ts_id, chunk_points *out,
                      hm_err *e)
{
    const int64_t *ext = NULL;
    size_t ext_n = 0;
    if (ts_id > 0 && !(ext = ts_get(st, ts_id, &ext_n, e))) return -1;
    hm_err de = {{0}};
    if (chunk_decode(data, len, ext, ext_n, out, &de) < 0)
        return hm_err_set(e, "%s: %s", st->path, de.msg);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Open */

static int table_exists(hm_store *st, const char *name)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int core_version(hm_store *st)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT version FROM schema_version WHERE module = 'core'", -1,
                           &q, NULL) != SQLITE_OK)
        return 0;
    int v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    sqlite3_finalize(q);
    return v;
}

static int append_points(hm_store *st, int64_t id, const int64_t *ts, const double *v, size_t n,
                         hm_err *e);

/* Moves the rows of the one-row-per-sample format into chunks, one series per transaction, so
 * an interrupted move resumes where it stopped. A NULL value (how that format stored NaN)
 * becomes NaN. */
static int convert_v1(hm_store *st, hm_err *e)
{
    int have = table_exists(st, "samples_v1");
    if (have < 0) return db_fail(st, e, "cannot read the schema");
    if (!have) return 0;
    for (;;) {
        if (exec(st, "BEGIN IMMEDIATE", e) < 0) return -1;
        if (table_exists(st, "samples_v1") == 0) /* another process finished the move */
            return exec(st, "COMMIT", e);
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(st->db, "SELECT series_id FROM samples_v1 LIMIT 1", -1, &q, NULL) !=
            SQLITE_OK) {
            db_fail(st, e, "cannot read old samples");
            rollback(st);
            return -1;
        }
        int rc = sqlite3_step(q);
        int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
        sqlite3_finalize(q);
        if (rc == SQLITE_DONE) {
            if (exec(st, "DROP TABLE samples_v1", e) < 0 || exec(st, "COMMIT", e) < 0) {
                rollback(st);
                return -1;
            }
            return 0;
        }
        if (rc != SQLITE_ROW ||
            sqlite3_prepare_v2(st->db, "SELECT ts, value FROM samples_v1 WHERE series_id = ?"
                                       " ORDER BY ts", -1, &q, NULL) != SQLITE_OK) {
            db_fail(st, e, "cannot read old samples");
            rollback(st);
            return -1;
        }
        sqlite3_bind_int64(q, 1, id);
        chunk_points p = {0};
        while ((rc = sqlite3_step(q)) == SQLITE_ROW)
            chunk_points_push(&p, sqlite3_column_int64(q, 0),
                              sqlite3_column_type(q, 1) == SQLITE_NULL ? NAN
                                                                       : sqlite3_column_double(q, 1));
        sqlite3_finalize(q);
        char *del = sqlite3_mprintf("DELETE FROM samples_v1 WHERE series_id = %lld", (long long)id);
        int ok = rc == SQLITE_DONE && append_points(st, id, p.ts, p.v, p.n, e) == 0 &&
                 exec(st, del, e) == 0 && exec(st, "COMMIT", e) == 0;
        if (rc != SQLITE_DONE) db_fail(st, e, "cannot read old samples");
        sqlite3_free(del);
        chunk_points_free(&p);
        if (!ok) {
            rollback(st);
            return hm_err_prefix(e, "moving samples to the chunk format");
        }
    }
}

static int open_db(const char *path, bool ro, hm_store **out, hm_err *e)
{
    hm_store *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    st->readonly = ro;
    st->horizon = INT64_MIN;
    store_options_default(&st->opt);
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
    /* reads map the file instead of copying pages (range queries read many chunks) */
    sqlite3_exec(st->db, "PRAGMA mmap_size = 268435456", NULL, NULL, NULL);
    *out = st;
    return 0;
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
    hm_store *st;
    if (open_db(path, ro, &st, e) < 0) return -1;
    if (!ro) {
        if (exec(st, "PRAGMA journal_mode = WAL", e) < 0 ||
            exec(st, "PRAGMA synchronous = NORMAL", e) < 0 ||
            store_migrate(st, "core", core_migrations, CORE_VERSION, e) < 0 || convert_v1(st, e) < 0) {
            hm_err_prefix(e, "cannot open the store");
            store_close(st);
            return -1;
        }
    } else if (exec(st, "SELECT 1 FROM series LIMIT 1", e) < 0) {
        hm_err_prefix(e, "cannot read the store");
        store_close(st);
        return -1;
    } else if (core_version(st) < CORE_VERSION || table_exists(st, "samples_v1") == 1) {
        /* written by an older hmctl: migrate once through a writable handle, then read */
        store_close(st);
        hm_store *rw;
        if (store_open(path, 0, &rw, e) < 0)
            return hm_err_prefix(e, "the store '%s' needs converting to this hmctl's format", path);
        store_close(rw);
        if (open_db(path, true, &st, e) < 0) return -1;
    }
    *out = st;
    return 0;
}

int store_open_config(const hm_config *cfg, int flags, hm_store **out, hm_err *e)
{
    store_options o;
    if (store_options_from_config(cfg, &o, e) < 0) return -1;
    char *dir = cfg_data_dir(cfg);
    char *path = xasprintf("%s/hmctl.db", dir);
    int rc = store_open(path, flags, out, e);
    if (rc == 0) store_set_options(*out, &o);
    free(dir);
    free(path);
    return rc;
}

void store_close(hm_store *st)
{
    if (!st) return;
    for (int i = 0; i < Q_COUNT; i++) sqlite3_finalize(st->stmt[i]);
    for (int i = 0; i < TS_CACHE; i++) free(st->tsc[i].ts);
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

/* ---------------------------------------------------------------------------------------- */
/* Writing chunks */

static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int64_t align_down(int64_t ts, int64_t span)
{
    return floor_div(ts, span) * span;
}

/* One raw chunk being changed: either appending to its head stream, or as decoded points. */
typedef struct wchunk {
    int64_t rowid; /* 0: not stored yet */
    int64_t series_id;
    int64_t start, end;
    bool sealed;
    bool dirty;
    bool decoded;
    int64_t first_ts;
    chunk_head head;
    chunk_points pts;
} wchunk;

static void wchunk_free(wchunk *w)
{
    chunk_head_free(&w->head);
    chunk_points_free(&w->pts);
    memset(w, 0, sizeof *w);
}

/* Fills a wchunk from a row of Q_CHUNK_AT / Q_CHUNK_GET. */
static int wchunk_from_row(hm_store *st, sqlite3_stmt *q, int64_t series_id, wchunk *w, hm_err *e)
{
    w->rowid = sqlite3_column_int64(q, 0);
    w->series_id = series_id;
    w->start = sqlite3_column_int64(q, 1);
    w->end = sqlite3_column_int64(q, 2);
    w->sealed = sqlite3_column_int(q, 3) != 0;
    w->first_ts = sqlite3_column_int64(q, 5);
    int64_t ts_id = sqlite3_column_type(q, 7) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 7);
    const void *data = sqlite3_column_blob(q, 8);
    size_t len = (size_t)sqlite3_column_bytes(q, 8);
    if (!w->sealed) {
        hm_err de = {{0}};
        if (chunk_head_load(&w->head, data, len, &de) < 0)
            return hm_err_set(e, "%s: chunk %lld: %s", st->path, (long long)w->rowid, de.msg);
        return 0;
    }
    w->decoded = true;
    return decode_raw(st, data, len, ts_id, &w->pts, e);
}

/* Loads the chunk whose window holds ts, or starts a new window for it (aligned to the chunk
 * span, clipped so windows never overlap). */
static int wchunk_load(hm_store *st, int64_t series_id, int64_t ts, wchunk *w, hm_err *e)
{
    memset(w, 0, sizeof *w);
    sqlite3_stmt *q = stmt(st, Q_CHUNK_AT, e);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, series_id);
    sqlite3_bind_int(q, 2, STORE_RAW);
    sqlite3_bind_int64(q, 3, ts);
    int rc = sqlite3_step(q);
    int64_t prev_end = INT64_MIN;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_int64(q, 2) > ts) {
            int r = wchunk_from_row(st, q, series_id, w, e);
            sqlite3_reset(q);
            return r;
        }
        prev_end = sqlite3_column_int64(q, 2);
    } else if (rc != SQLITE_DONE) {
        sqlite3_reset(q);
        return db_fail(st, e, "cannot read chunks");
    }
    sqlite3_reset(q);
    int64_t span = st->opt.chunk_span_ms;
    int64_t start = align_down(ts, span), end = start + span;
    if (start < prev_end) start = prev_end;
    if (!(q = stmt(st, Q_CHUNK_NEXT, e))) return -1;
    sqlite3_bind_int64(q, 1, series_id);
    sqlite3_bind_int(q, 2, STORE_RAW);
    sqlite3_bind_int64(q, 3, ts);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_int64(q, 0) < end) end = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(st, e, "cannot read chunks");
    w->series_id = series_id;
    w->start = start;
    w->end = end;
    return 0;
}

/* Inserts or replaces (same time stamp) one point in sorted points. */
static void points_put(chunk_points *p, int64_t ts, double v)
{
    if (p->n == 0 || ts > p->ts[p->n - 1]) {
        chunk_points_push(p, ts, v);
        return;
    }
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->ts[mid] < ts) lo = mid + 1;
        else hi = mid;
    }
    if (lo < p->n && p->ts[lo] == ts) {
        p->v[lo] = v;
        return;
    }
    chunk_points_push(p, 0, 0); /* grow */
    memmove(p->ts + lo + 1, p->ts + lo, (p->n - 1 - lo) * sizeof *p->ts);
    memmove(p->v + lo + 1, p->v + lo, (p->n - 1 - lo) * sizeof *p->v);
    p->ts[lo] = ts;
    p->v[lo] = v;
}

static int wchunk_decode_head(hm_store *st, wchunk *w, hm_err *e)
{
    if (w->decoded) return 0;
    strbuf blob = {0};
    chunk_head_blob(&w->head, &blob);
    hm_err de = {{0}};
    int rc = chunk_decode(blob.buf, blob.len, NULL, 0, &w->pts, &de);
    sb_free(&blob);
    if (rc < 0) return hm_err_set(e, "%s: chunk %lld: %s", st->path, (long long)w->rowid, de.msg);
    chunk_head_free(&w->head);
    w->decoded = true;
    return 0;
}

static int wchunk_add(hm_store *st, wchunk *w, int64_t ts, double v, hm_err *e)
{
    w->dirty = true;
    if (!w->decoded && (w->head.n == 0 || ts > w->head.last_ts)) {
        if (w->head.n == 0) w->first_ts = ts;
        chunk_head_append(&w->head, ts, v);
        return 0;
    }
    if (wchunk_decode_head(st, w, e) < 0) return -1;
    points_put(&w->pts, ts, v);
    return 0;
}

static int rollups_update(hm_store *st, int64_t series_id, int64_t start, int64_t end,
                          const chunk_points *p, hm_err *e);

/* Writes a raw chunk row; a sealed one gets its columns re-chosen and its rollups redone. */
static int wchunk_store(hm_store *st, wchunk *w, hm_err *e)
{
    if (!w->dirty) return 0;
    strbuf blob = {0}, col = {0};
    int64_t ts_id = 0, n, first, last;
    int rc = -1;
    if (w->sealed) {
        n = (int64_t)w->pts.n;
        first = w->pts.ts[0];
        last = w->pts.ts[w->pts.n - 1];
        chunk_encode_sealed(&blob, &col, w->pts.ts, w->pts.v, w->pts.n);
        if ((ts_id = ts_intern(st, &col, w->pts.n, e)) < 0) goto out;
    } else {
        if (w->decoded) {
            /* re-encode in time order as a fresh head */
            chunk_head h = {0};
            for (size_t i = 0; i < w->pts.n; i++) chunk_head_append(&h, w->pts.ts[i], w->pts.v[i]);
            chunk_head_blob(&h, &blob);
            n = (int64_t)w->pts.n;
            first = w->pts.ts[0];
            last = w->pts.ts[w->pts.n - 1];
            chunk_head_free(&h);
        } else {
            chunk_head_blob(&w->head, &blob);
            n = w->head.n;
            first = w->first_ts;
            last = w->head.last_ts;
        }
    }
    sqlite3_stmt *q;
    if (w->rowid) {
        if (!(q = stmt(st, Q_CHUNK_UPD, e))) goto out;
        sqlite3_bind_int64(q, 1, w->rowid);
        sqlite3_bind_int(q, 2, w->sealed);
        sqlite3_bind_int64(q, 3, n);
        sqlite3_bind_int64(q, 4, first);
        sqlite3_bind_int64(q, 5, last);
        if (ts_id) sqlite3_bind_int64(q, 6, ts_id);
        sqlite3_bind_blob(q, 7, blob.buf, (int)blob.len, SQLITE_STATIC);
    } else {
        if (!(q = stmt(st, Q_CHUNK_INS, e))) goto out;
        sqlite3_bind_int64(q, 1, w->series_id);
        sqlite3_bind_int(q, 2, STORE_RAW);
        sqlite3_bind_int64(q, 3, w->start);
        sqlite3_bind_int64(q, 4, w->end);
        sqlite3_bind_int(q, 5, w->sealed);
        sqlite3_bind_int64(q, 6, n);
        sqlite3_bind_int64(q, 7, first);
        sqlite3_bind_int64(q, 8, last);
        if (ts_id) sqlite3_bind_int64(q, 9, ts_id);
        sqlite3_bind_blob(q, 10, blob.buf, (int)blob.len, SQLITE_STATIC);
    }
    if (step_done(st, q, e, "cannot store samples") < 0) goto out;
    if (!w->rowid) w->rowid = sqlite3_last_insert_rowid(st->db);
    w->dirty = false;
    rc = w->sealed ? rollups_update(st, w->series_id, w->start, w->end, &w->pts, e) : 0;
out:
    sb_free(&blob);
    sb_free(&col);
    return rc;
}

/* Seals the open raw chunk `rowid`: its columns re-encoded, its rollups computed. */
static int seal_chunk(hm_store *st, int64_t series_id, int64_t rowid, hm_err *e)
{
    sqlite3_stmt *q = stmt(st, Q_CHUNK_GET, e);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, rowid);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot read chunks");
    }
    wchunk w;
    memset(&w, 0, sizeof w);
    rc = wchunk_from_row(st, q, series_id, &w, e);
    sqlite3_reset(q);
    if (rc == 0 && !w.sealed && (rc = wchunk_decode_head(st, &w, e)) == 0) {
        w.sealed = true;
        w.dirty = true;
        rc = w.pts.n ? wchunk_store(st, &w, e) : 0;
    }
    wchunk_free(&w);
    return rc;
}

/* Seals every open raw chunk of a series except its newest window. */
static int seal_behind(hm_store *st, int64_t series_id, hm_err *e)
{
    sqlite3_stmt *q = stmt(st, Q_LATEST_START, e);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, series_id);
    int rc = sqlite3_step(q);
    int64_t latest = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : INT64_MIN;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot read chunks");
    if (!(q = stmt(st, Q_HEADS_OF, e))) return -1;
    sqlite3_bind_int64(q, 1, series_id);
    int64_t ids[64];
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < HM_ARRAY_LEN(ids))
        if (sqlite3_column_int64(q, 1) < latest) ids[n++] = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_fail(st, e, "cannot read chunks");
    for (size_t i = 0; i < n; i++)
        if (seal_chunk(st, series_id, ids[i], e) < 0) return -1;
    return 0;
}

/* Appends sorted points (time order; equal times in arrival order, the last one wins) to one
 * series, inside the caller's transaction. */
static int append_points(hm_store *st, int64_t id, const int64_t *ts, const double *v, size_t n,
                         hm_err *e)
{
    wchunk w;
    memset(&w, 0, sizeof w);
    bool have = false, only_head = true;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (ts[i] < st->horizon) {
            st->dropped++;
            continue;
        }
        if (!have || ts[i] < w.start || ts[i] >= w.end) {
            if (have) {
                rc = wchunk_store(st, &w, e);
                wchunk_free(&w);
                if (rc < 0) break;
            }
            if ((rc = wchunk_load(st, id, ts[i], &w, e)) < 0) break;
            have = true;
            /* appending to the stored open chunk only (the common case: a cycle's samples)
             * opens no window, so there is nothing to seal */
            only_head &= w.rowid != 0 && !w.sealed;
        }
        rc = wchunk_add(st, &w, ts[i], v[i], e);
    }
    if (have && rc == 0) rc = wchunk_store(st, &w, e);
    wchunk_free(&w);
    if (rc == 0 && have && !only_head) rc = seal_behind(st, id, e);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Rollups */

static void agg_add(chunk_agg *a, double v)
{
    if (isnan(v)) return;
    if (a->count == 0) {
        a->min = a->max = v;
        a->sum = v;
    } else {
        if (v < a->min) a->min = v;
        if (v > a->max) a->max = v;
        a->sum += v;
    }
    a->count++;
}

static void agg_merge(chunk_agg *a, const chunk_agg *b)
{
    if (b->count == 0) return;
    if (a->count == 0) {
        int64_t ts = a->ts_ms;
        *a = *b;
        a->ts_ms = ts;
        return;
    }
    if (b->min < a->min) a->min = b->min;
    if (b->max > a->max) a->max = b->max;
    a->sum += b->sum;
    a->count += b->count;
}

/* Aggregates sorted points into periods of `res`, keeping the non-empty ones. */
static size_t aggregate(const chunk_points *p, int64_t res, int64_t lo, chunk_agg **out)
{
    chunk_agg *a = xmalloc((p->n ? p->n : 1) * sizeof *a);
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        int64_t b = align_down(p->ts[i], res);
        if (b < lo) continue;
        if (n == 0 || a[n - 1].ts_ms != b) {
            if (n && a[n - 1].count == 0) n--;
            a[n++] = (chunk_agg){b, 0, 0, 0, 0};
        }
        agg_add(&a[n - 1], p->v[i]);
    }
    if (n && a[n - 1].count == 0) n--;
    *out = a;
    return n;
}

/* Writes aggregates into the rollup chunk of tier t that starts at cstart (ending at cend when
 * it is new). With `merge`, each fresh aggregate is combined with a stored one of the same
 * period (they count disjoint samples); otherwise the stored ones in [lo, hi) are replaced by
 * the fresh ones. */
static int rollup_write(hm_store *st, int64_t series_id, int t, int64_t cstart, int64_t cend,
                        bool merge, int64_t lo, int64_t hi, const chunk_agg *fresh, size_t nf,
                        hm_err *e)
{
    sqlite3_stmt *q = stmt(st, Q_CHUNK_AT, e);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, series_id);
    sqlite3_bind_int(q, 2, t);
    sqlite3_bind_int64(q, 3, cstart);
    int rc = sqlite3_step(q);
    int64_t rowid = 0;
    chunk_agg *old = NULL;
    size_t no = 0;
    if (rc == SQLITE_ROW && sqlite3_column_int64(q, 1) == cstart) {
        rowid = sqlite3_column_int64(q, 0);
        cend = sqlite3_column_int64(q, 2);
        hm_err de = {{0}};
        if (chunk_decode_rollup(sqlite3_column_blob(q, 8), (size_t)sqlite3_column_bytes(q, 8), &old,
                                &no, &de) < 0) {
            sqlite3_reset(q);
            return hm_err_set(e, "%s: chunk %lld: %s", st->path, (long long)rowid, de.msg);
        }
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_reset(q);
        return db_fail(st, e, "cannot read rollups");
    }
    sqlite3_reset(q);
    /* both lists are in time order: merge them */
    chunk_agg *m = xmalloc((no + nf + 1) * sizeof *m);
    size_t nm = 0, i = 0, j = 0;
    while (i < no || j < nf) {
        if (j == nf || (i < no && old[i].ts_ms < fresh[j].ts_ms)) {
            if (merge || old[i].ts_ms < lo || old[i].ts_ms >= hi) m[nm++] = old[i];
            i++;
        } else if (i == no || fresh[j].ts_ms < old[i].ts_ms) {
            m[nm++] = fresh[j++];
        } else { /* the same period */
            m[nm] = fresh[j++];
            if (merge) agg_merge(&m[nm], &old[i]);
            nm++;
            i++;
        }
    }
    free(old);
    int r = 0;
    if (nm == 0) {
        if (rowid) {
            if (!(q = stmt(st, Q_CHUNK_DEL, e))) r = -1;
            else {
                sqlite3_bind_int64(q, 1, rowid);
                r = step_done(st, q, e, "cannot store rollups");
            }
        }
    } else {
        strbuf blob = {0};
        chunk_encode_rollup(&blob, m, nm);
        if (!(q = stmt(st, rowid ? Q_CHUNK_UPD : Q_CHUNK_INS, e))) {
            r = -1;
        } else if (rowid) {
            sqlite3_bind_int64(q, 1, rowid);
            sqlite3_bind_int(q, 2, 1);
            sqlite3_bind_int64(q, 3, (int64_t)nm);
            sqlite3_bind_int64(q, 4, m[0].ts_ms);
            sqlite3_bind_int64(q, 5, m[nm - 1].ts_ms);
            sqlite3_bind_blob(q, 7, blob.buf, (int)blob.len, SQLITE_STATIC);
            r = step_done(st, q, e, "cannot store rollups");
        } else {
            sqlite3_bind_int64(q, 1, series_id);
            sqlite3_bind_int(q, 2, t);
            sqlite3_bind_int64(q, 3, cstart);
            sqlite3_bind_int64(q, 4, cend);
            sqlite3_bind_int(q, 5, 1);
            sqlite3_bind_int64(q, 6, (int64_t)nm);
            sqlite3_bind_int64(q, 7, m[0].ts_ms);
            sqlite3_bind_int64(q, 8, m[nm - 1].ts_ms);
            sqlite3_bind_blob(q, 10, blob.buf, (int)blob.len, SQLITE_STATIC);
            r = step_done(st, q, e, "cannot store rollups");
        }
        sb_free(&blob);
    }
    free(m);
    return r;
}

/* Recomputes the 1-hour rollups of raw window [start, end) from its points (when it seals or
 * changes after sealing). Hours that began before the raw horizon keep what they had: their raw
 * samples may be partly gone. */
static int rollups_update(hm_store *st, int64_t series_id, int64_t start, int64_t end,
                          const chunk_points *p, hm_err *e)
{
    int64_t res = tier_res[STORE_1H];
    int64_t lo = start;
    if (st->horizon > lo) lo = align_down(st->horizon + res - 1, res);
    if (lo >= end) return 0;
    chunk_agg *fresh;
    size_t nf = aggregate(p, res, lo, &fresh);
    int64_t cstart = align_down(start, tier_chunk_span[STORE_1H]);
    int r = rollup_write(st, series_id, STORE_1H, cstart, cstart + tier_chunk_span[STORE_1H], false,
                         lo, end, fresh, nf, e);
    free(fresh);
    return r;
}

/* Keeps the minutes of raw samples that are about to be deleted, in the 1-minute tier: while a
 * window's raw samples are there, its minutes are computed from them when asked (storing both
 * would keep every minute twice); they are written when the samples leave. The chunk is the
 * window's; a window deleted in parts (store_prune) merges into it. */
static int rollups_keep_minutes(hm_store *st, int64_t series_id, int64_t start, int64_t end,
                                const chunk_points *p, int64_t now_ms, hm_err *e)
{
    if (st->opt.retention_ms[STORE_1M] > 0 && end <= now_ms - st->opt.retention_ms[STORE_1M])
        return 0; /* would be deleted at once */
    if (p->n == 0) return 0;
    chunk_agg *fresh;
    size_t nf = aggregate(p, tier_res[STORE_1M], INT64_MIN, &fresh);
    int r = nf ? rollup_write(st, series_id, STORE_1M, start, end, true, 0, 0, fresh, nf, e) : 0;
    free(fresh);
    return r;
}

/* ---------------------------------------------------------------------------------------- */
/* Append */

static char *metric_of(const char *series)
{
    size_t n = strcspn(series, "{");
    return xstrndup(series, n);
}

static int series_id(hm_store *st, const char *name, const char *unit, int64_t *id, hm_err *e)
{
    if (!unit) unit = "";
    sqlite3_stmt *q = stmt(st, Q_SERIES_GET, e);
    if (!q) return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(q, 0);
        bool same = strcmp((const char *)sqlite3_column_text(q, 1), unit) == 0;
        sqlite3_reset(q);
        if (same) return 0;
        if (!(q = stmt(st, Q_SERIES_UNIT, e))) return -1;
        sqlite3_bind_int64(q, 1, *id);
        sqlite3_bind_text(q, 2, unit, -1, SQLITE_STATIC);
        return step_done(st, q, e, "cannot store samples");
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) return db_fail(st, e, "cannot store samples");
    if (!(q = stmt(st, Q_SERIES_INS, e))) return -1;
    char *metric = metric_of(name);
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, metric, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, unit, -1, SQLITE_STATIC);
    free(metric);
    if (step_done(st, q, e, "cannot store samples") < 0) return -1;
    *id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

static int cmp_by_ts(const void *a, const void *b, void *ud)
{
    const hm_sample *s = ud;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (s[i].ts_ms != s[j].ts_ms) return s[i].ts_ms < s[j].ts_ms ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* Groups the samples by series (hashing the names: no sort by name), each group in time order
 * with equal times in arrival order. order[] gets the indexes group after group; returns the
 * number of groups, *starts (allocated) their offsets in order[], with starts[ngroups] = n. */
static size_t group_by_series(const hm_sample *s, size_t n, size_t *order, size_t **starts)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    size_t *slot = xmalloc(cap * sizeof *slot); /* group + 1, 0 = empty */
    memset(slot, 0, cap * sizeof *slot);
    size_t *group = xmalloc(n * sizeof *group), *first = xmalloc(n * sizeof *first);
    size_t *count = xcalloc(n + 1, sizeof *count), ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = s[i].series;
        size_t h = (size_t)fnv1a(name, strlen(name)) & (cap - 1);
        for (;; h = (h + 1) & (cap - 1)) {
            if (!slot[h]) {
                first[ngroups] = i;
                slot[h] = ++ngroups;
                break;
            }
            if (strcmp(s[first[slot[h] - 1]].series, name) == 0) break;
        }
        group[i] = slot[h] - 1;
        count[group[i]]++;
    }
    size_t *st = xmalloc((ngroups + 1) * sizeof *st), *fill = xmalloc((ngroups + 1) * sizeof *fill);
    st[0] = 0;
    for (size_t g = 0; g < ngroups; g++) st[g + 1] = st[g] + count[g];
    memcpy(fill, st, (ngroups + 1) * sizeof *fill);
    for (size_t i = 0; i < n; i++) order[fill[group[i]]++] = i;
    for (size_t g = 0; g < ngroups; g++) {
        bool sorted = true;
        for (size_t k = st[g] + 1; k < st[g + 1] && sorted; k++)
            sorted = s[order[k]].ts_ms >= s[order[k - 1]].ts_ms;
        if (!sorted) qsort_r(order + st[g], st[g + 1] - st[g], sizeof *order, cmp_by_ts, (void *)s);
    }
    free(slot);
    free(group);
    free(first);
    free(count);
    free(fill);
    *starts = st;
    return ngroups;
}

static int begin_write(hm_store *st, hm_err *e)
{
    if (st->readonly) return hm_err_set(e, "%s: the store is open read-only", st->path);
    if (exec(st, "BEGIN IMMEDIATE", e) < 0) return -1;
    st->dropped = 0;
    if (meta_get(st, "raw_horizon", INT64_MIN, &st->horizon, e) < 0) {
        rollback(st);
        return -1;
    }
    return 0;
}

/* Commits, adding the samples refused in this write to the running count. */
static int commit_write(hm_store *st, hm_err *e)
{
    if (st->dropped) {
        int64_t total;
        if (meta_get(st, "dropped_expired", 0, &total, e) < 0 ||
            meta_set(st, "dropped_expired", total + st->dropped, e) < 0) {
            rollback(st);
            return -1;
        }
    }
    if (exec(st, "COMMIT", e) < 0) {
        rollback(st);
        return -1;
    }
    return 0;
}

int store_append(hm_store *st, const hm_sample *samples, size_t n, hm_err *e)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (samples[i].ts_ms < -STORE_TS_LIMIT || samples[i].ts_ms > STORE_TS_LIMIT)
            return hm_err_set(e, "%s: cannot store samples: time stamp %lld of '%s' is out of range",
                              st->path, (long long)samples[i].ts_ms, samples[i].series);
    size_t *order = xmalloc(n * sizeof *order), *starts;
    size_t ngroups = group_by_series(samples, n, order, &starts);
    if (begin_write(st, e) < 0) {
        free(order);
        free(starts);
        return hm_err_prefix(e, "cannot store samples");
    }
    int64_t *ts = xmalloc(n * sizeof *ts);
    double *v = xmalloc(n * sizeof *v);
    int rc = 0;
    for (size_t g = 0; g < ngroups && rc == 0; g++) {
        size_t m = 0;
        for (size_t k = starts[g]; k < starts[g + 1]; k++) {
            ts[m] = samples[order[k]].ts_ms;
            v[m++] = samples[order[k]].value;
        }
        int64_t id = 0;
        rc = series_id(st, samples[order[starts[g]]].series, samples[order[starts[g + 1] - 1]].unit,
                       &id, e);
        if (rc == 0) rc = append_points(st, id, ts, v, m, e);
    }
    free(starts);
    free(ts);
    free(v);
    free(order);
    if (rc < 0) {
        rollback(st);
        return -1;
    }
    return commit_write(st, e);
}

/* ---------------------------------------------------------------------------------------- */
/* Reading */

int store_last(hm_store *st, const char *series, hm_point *out, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT c.sealed, c.ts_id, c.data FROM chunks c JOIN series r"
                           " ON r.id = c.series_id WHERE r.name = ? AND c.tier = 0"
                           " ORDER BY c.start_ts DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot read samples");
    sqlite3_bind_text(q, 1, series, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        const void *data = sqlite3_column_blob(q, 2);
        size_t len = (size_t)sqlite3_column_bytes(q, 2);
        chunk_head h = {0};
        hm_err de = {{0}};
        if (sqlite3_column_int(q, 0) == 0 && chunk_head_load(&h, data, len, &de) == 0 && h.n) {
            /* the head's header holds its newest point */
            out->ts_ms = h.last_ts;
            memcpy(&out->value, &h.last_bits, sizeof out->value);
            ret = 1;
        } else {
            chunk_points p = {0};
            int64_t ts_id = sqlite3_column_type(q, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 1);
            if (decode_raw(st, data, len, ts_id, &p, e) < 0) {
                ret = -1;
            } else if (p.n) {
                out->ts_ms = p.ts[p.n - 1];
                out->value = p.v[p.n - 1];
                ret = 1;
            }
            chunk_points_free(&p);
        }
        chunk_head_free(&h);
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

/* The matching series: ids, names, units, in name order. */
static int match_series(hm_store *st, const char *match, strvec *ids, strvec *names, strvec *units,
                        hm_err *e)
{
    char *arg;
    const char *where = match_clause(match, &arg);
    char *sql = xasprintf("SELECT r.id, r.name, r.unit FROM series r WHERE %s ORDER BY r.name", where);
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
        if (ids) sv_push(ids, (const char *)sqlite3_column_text(q, 0));
        sv_push(names, (const char *)sqlite3_column_text(q, 1));
        if (units) sv_push(units, (const char *)sqlite3_column_text(q, 2));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot list series");
}

int store_series(hm_store *st, const char *match, strvec *names, strvec *units, hm_err *e)
{
    return match_series(st, match, NULL, names, units, e);
}

int store_agg_parse(const char *s, enum store_agg *out)
{
    static const char *const names[] = {"avg", "min", "max", "sum", "count"};
    for (int i = 0; i < (int)HM_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum store_agg)i;
            return 0;
        }
    return -1;
}

static double agg_value(const chunk_agg *a, enum store_agg agg)
{
    switch (agg) {
    case STORE_MIN: return a->min;
    case STORE_MAX: return a->max;
    case STORE_SUM: return a->sum;
    case STORE_COUNT: return (double)a->count;
    default: return a->sum / (double)a->count;
    }
}

/* Reads the raw points of a series in [from, to), appended to out in time order. With
 * open_only, only the open chunks (those without rollups yet). */
static int read_raw(hm_store *st, int64_t id, int64_t from, int64_t to, bool open_only,
                    chunk_points *out, hm_err *e)
{
    sqlite3_stmt *q = stmt(st, open_only ? Q_RANGE_OPEN : Q_RANGE, e);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, STORE_RAW);
    sqlite3_bind_int64(q, 3, open_only ? from : from > INT64_MIN + MAX_RAW_SPAN ? from - MAX_RAW_SPAN : INT64_MIN);
    sqlite3_bind_int64(q, 4, to);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_int64(q, 1) <= from) continue;
        int64_t ts_id = sqlite3_column_type(q, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 3);
        size_t base = out->n;
        if (decode_raw(st, sqlite3_column_blob(q, 4), (size_t)sqlite3_column_bytes(q, 4), ts_id, out,
                       e) < 0) {
            sqlite3_reset(q);
            return -1;
        }
        /* keep [from, to) of what was decoded: the chunk is in time order */
        size_t lo = base, hi = out->n;
        while (lo < hi && out->ts[lo] < from) lo++;
        while (hi > lo && out->ts[hi - 1] >= to) hi--;
        if (lo > base) {
            memmove(out->ts + base, out->ts + lo, (hi - lo) * sizeof *out->ts);
            memmove(out->v + base, out->v + lo, (hi - lo) * sizeof *out->v);
        }
        out->n = base + (hi - lo);
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot read samples");
}

/* Reads the rollup points of tier t of a series whose period starts in [from, to). */
static int read_rollups(hm_store *st, int64_t id, int t, int64_t from, int64_t to, chunk_agg **out,
                        size_t *n, size_t *cap, hm_err *e)
{
    sqlite3_stmt *q = stmt(st, Q_RANGE, e);
    if (!q) return -1;
    int64_t span = tier_chunk_span[t];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, t);
    sqlite3_bind_int64(q, 3, from > INT64_MIN + span ? from - span : INT64_MIN);
    sqlite3_bind_int64(q, 4, to);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_int64(q, 1) <= from) continue;
        chunk_agg *a;
        size_t m;
        hm_err de = {{0}};
        if (chunk_decode_rollup(sqlite3_column_blob(q, 4), (size_t)sqlite3_column_bytes(q, 4), &a,
                                &m, &de) < 0) {
            sqlite3_reset(q);
            return hm_err_set(e, "%s: %s", st->path, de.msg);
        }
        for (size_t i = 0; i < m; i++) {
            if (a[i].ts_ms < from || a[i].ts_ms >= to) continue;
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 256;
                *out = xrealloc(*out, *cap * sizeof **out);
            }
            (*out)[(*n)++] = a[i];
        }
        free(a);
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot read rollups");
}

static int cmp_agg_ts(const void *a, const void *b)
{
    const chunk_agg *x = a, *y = b;
    return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

static int pick_tier(int64_t step)
{
    if (step <= 0) return STORE_RAW;
    if (step % HOUR_MS == 0) return STORE_1H;
    if (step % MINUTE_MS == 0) return STORE_1M;
    return STORE_RAW;
}

int store_range_agg(hm_store *st, const char *match, int64_t from_ms, int64_t to_ms,
                    int64_t step_ms, enum store_agg agg, store_point_cb cb, void *ud, hm_err *e)
{
    strvec ids = {0}, names = {0}, units = {0};
    if (match_series(st, match, &ids, &names, &units, e) < 0) return -1;
    int tier = pick_tier(step_ms);
    int rc = 0;
    bool stop = false;
    chunk_points p = {0};
    chunk_agg *a = NULL;
    size_t na = 0, cap = 0;
    for (size_t s = 0; s < ids.n && rc == 0 && !stop; s++) {
        int64_t id = strtoll(ids.v[s], NULL, 10);
        p.n = 0;
        na = 0;
        if (step_ms <= 0) {
            if ((rc = read_raw(st, id, from_ms, to_ms, false, &p, e)) < 0) break;
            for (size_t i = 0; i < p.n && !stop; i++)
                stop = cb(names.v[s], units.v[s], p.ts[i], p.v[i], ud) != 0;
            continue;
        }
        if (tier != STORE_RAW &&
            (rc = read_rollups(st, id, tier, from_ms, to_ms, &a, &na, &cap, e)) < 0)
            break;
        /* raw samples: all of them for a raw step; those without rollups yet otherwise (the
         * open chunks for hours, every raw sample still kept for minutes) */
        if ((rc = read_raw(st, id, from_ms, to_ms, tier == STORE_1H, &p, e)) < 0) break;
        bool sorted = true;
        for (size_t i = 1; i < na && sorted; i++) sorted = a[i].ts_ms > a[i - 1].ts_ms;
        if (!sorted) qsort(a, na, sizeof *a, cmp_agg_ts);
        /* one point per step: aggregates and samples merged in time order */
        chunk_agg cur = {0};
        int64_t bend = INT64_MIN;
        bool open = false;
        size_t i = 0, j = 0;
        while ((i < na || j < p.n) && !stop) {
            bool take_agg = j == p.n || (i < na && a[i].ts_ms <= p.ts[j]);
            int64_t ts = take_agg ? a[i].ts_ms : p.ts[j];
            if (!open || ts >= bend) {
                if (open && cur.count)
                    stop = cb(names.v[s], units.v[s], cur.ts_ms, agg_value(&cur, agg), ud) != 0;
                int64_t b = align_down(ts, step_ms);
                cur = (chunk_agg){b, 0, 0, 0, 0};
                bend = b > INT64_MAX - step_ms ? INT64_MAX : b + step_ms;
                open = true;
                if (stop) break;
            }
            if (take_agg) agg_merge(&cur, &a[i++]);
            else agg_add(&cur, p.v[j++]);
        }
        if (open && cur.count && !stop)
            stop = cb(names.v[s], units.v[s], cur.ts_ms, agg_value(&cur, agg), ud) != 0;
    }
    chunk_points_free(&p);
    free(a);
    sv_free(&ids);
    sv_free(&names);
    sv_free(&units);
    return rc;
}

int store_range(hm_store *st, const char *match, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                store_point_cb cb, void *ud, hm_err *e)
{
    return store_range_agg(st, match, from_ms, to_ms, step_ms, STORE_AVG, cb, ud, e);
}

/* ---------------------------------------------------------------------------------------- */
/* Retention, maintenance, statistics */

static int raise_horizon(hm_store *st, int64_t before, hm_err *e)
{
    if (before <= st->horizon) return 0;
    st->horizon = before;
    return meta_set(st, "raw_horizon", before, e);
}

/* Loads raw chunk `rowid` as decoded points. */
static int load_points(hm_store *st, int64_t rowid, int64_t series_id, wchunk *w, hm_err *e)
{
    memset(w, 0, sizeof *w);
    sqlite3_stmt *g = stmt(st, Q_CHUNK_GET, e);
    if (!g) return -1;
    sqlite3_bind_int64(g, 1, rowid);
    int rc = sqlite3_step(g);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(g);
        return rc == SQLITE_DONE ? 1 : db_fail(st, e, "cannot read chunks");
    }
    rc = wchunk_from_row(st, g, series_id, w, e);
    sqlite3_reset(g);
    if (rc == 0) rc = wchunk_decode_head(st, w, e);
    return rc;
}

static int delete_chunk(hm_store *st, int64_t rowid, hm_err *e)
{
    sqlite3_stmt *d = stmt(st, Q_CHUNK_DEL, e);
    if (!d) return -1;
    sqlite3_bind_int64(d, 1, rowid);
    return step_done(st, d, e, "cannot delete samples");
}

/* Rewrites a raw chunk with fewer points, keeping its state; its 1-hour rollups stay as they
 * were (they cover the samples deleted too). */
static int rewrite_points(hm_store *st, wchunk *w, hm_err *e)
{
    if (!w->sealed) {
        w->dirty = true;
        return wchunk_store(st, w, e);
    }
    strbuf blob = {0}, col = {0};
    chunk_encode_sealed(&blob, &col, w->pts.ts, w->pts.v, w->pts.n);
    int64_t ts_id = ts_intern(st, &col, w->pts.n, e);
    sqlite3_stmt *u = ts_id < 0 ? NULL : stmt(st, Q_CHUNK_UPD, e);
    int r = -1;
    if (u) {
        sqlite3_bind_int64(u, 1, w->rowid);
        sqlite3_bind_int(u, 2, 1);
        sqlite3_bind_int64(u, 3, (int64_t)w->pts.n);
        sqlite3_bind_int64(u, 4, w->pts.ts[0]);
        sqlite3_bind_int64(u, 5, w->pts.ts[w->pts.n - 1]);
        sqlite3_bind_int64(u, 6, ts_id);
        sqlite3_bind_blob(u, 7, blob.buf, (int)blob.len, SQLITE_STATIC);
        r = step_done(st, u, e, "cannot delete samples");
    }
    sb_free(&blob);
    sb_free(&col);
    return r;
}

/* The raw chunks matching a query (id, series_id rows), as a list. */
static int64_t (*chunk_list(hm_store *st, const char *sql, int64_t a, int64_t b, size_t *n,
                             hm_err *e))[2]
{
    sqlite3_stmt *q;
    *n = 0;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        db_fail(st, e, "cannot read chunks");
        return NULL;
    }
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    int64_t (*rows)[2] = xmalloc(sizeof *rows);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        rows = xrealloc(rows, (*n + 1) * sizeof *rows);
        rows[*n][0] = sqlite3_column_int64(q, 0);
        rows[*n][1] = sqlite3_column_int64(q, 1);
        (*n)++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        free(rows);
        db_fail(st, e, "cannot read chunks");
        return NULL;
    }
    return rows;
}

/* Deletes the raw samples older than `before` (inside a write): the chunks that end by then
 * and, with `trim`, the older part of the chunks straddling it. Their minutes go to the
 * 1-minute tier first. Returns the number of samples deleted, or -1. */
static int64_t drop_raw_before(hm_store *st, int64_t before, int64_t now_ms, bool trim, hm_err *e)
{
    int64_t deleted = 0;
    size_t n;
    int64_t (*rows)[2] = chunk_list(st, "SELECT id, series_id FROM chunks WHERE tier = 0 AND"
                                        " end_ts <= ?1 AND ?2 = ?2", before, 0, &n, e);
    if (!rows) return -1;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        wchunk w;
        r = load_points(st, rows[i][0], rows[i][1], &w, e);
        if (r == 0) {
            deleted += (int64_t)w.pts.n;
            r = rollups_keep_minutes(st, w.series_id, w.start, w.end, &w.pts, now_ms, e);
            if (r == 0) r = delete_chunk(st, w.rowid, e);
        }
        if (r > 0) r = 0;
        wchunk_free(&w);
    }
    free(rows);
    if (r < 0) return -1;
    if (trim) {
        rows = chunk_list(st, "SELECT id, series_id FROM chunks WHERE tier = 0 AND end_ts > ?1"
                              " AND end_ts <= ?2 AND start_ts < ?1", before,
                          before > INT64_MAX - MAX_RAW_SPAN ? INT64_MAX : before + MAX_RAW_SPAN, &n, e);
        if (!rows) return -1;
        for (size_t i = 0; i < n && r == 0; i++) {
            wchunk w;
            r = load_points(st, rows[i][0], rows[i][1], &w, e);
            if (r == 0) {
                size_t k = 0;
                while (k < w.pts.n && w.pts.ts[k] < before) k++;
                chunk_points gone = {w.pts.ts, w.pts.v, k, k};
                r = rollups_keep_minutes(st, w.series_id, w.start, w.end, &gone, now_ms, e);
                deleted += (int64_t)k;
                memmove(w.pts.ts, w.pts.ts + k, (w.pts.n - k) * sizeof *w.pts.ts);
                memmove(w.pts.v, w.pts.v + k, (w.pts.n - k) * sizeof *w.pts.v);
                w.pts.n -= k;
                if (r == 0 && k) r = w.pts.n ? rewrite_points(st, &w, e) : delete_chunk(st, w.rowid, e);
            }
            if (r > 0) r = 0;
            wchunk_free(&w);
        }
        free(rows);
        if (r < 0) return -1;
    }
    if (raise_horizon(st, before, e) < 0) return -1;
    return deleted;
}

int64_t store_prune(hm_store *st, int64_t before_ms, hm_err *e)
{
    if (begin_write(st, e) < 0) return hm_err_prefix(e, "cannot prune samples");
    int64_t deleted = drop_raw_before(st, before_ms, hm_now_ms(), true, e);
    if (deleted < 0) {
        rollback(st);
        return hm_err_prefix(e, "cannot prune samples");
    }
    if (commit_write(st, e) < 0) return -1;
    return deleted;
}

static int maintain_locked(hm_store *st, int64_t now_ms, int64_t idle_ms, hm_err *e)
{
    /* open chunks whose window ended at least idle_ms ago */
    size_t n;
    int64_t (*rows)[2] = chunk_list(st, "SELECT id, series_id FROM chunks WHERE sealed = 0 AND"
                                        " end_ts <= ?1 AND ?2 = ?2", now_ms - idle_ms, 0, &n, e);
    if (!rows) return -1;
    for (size_t i = 0; i < n; i++)
        if (seal_chunk(st, rows[i][1], rows[i][0], e) < 0) {
            free(rows);
            return -1;
        }
    free(rows);
    for (int t = 0; t < STORE_TIERS; t++) {
        if (st->opt.retention_ms[t] <= 0) continue;
        int64_t cut = now_ms - st->opt.retention_ms[t];
        if (t == STORE_RAW) {
            if (drop_raw_before(st, cut, now_ms, false, e) < 0) return -1;
            continue;
        }
        char *sql = sqlite3_mprintf("DELETE FROM chunks WHERE tier = %d AND end_ts <= %lld", t,
                                    (long long)cut);
        int r = exec(st, sql, e);
        sqlite3_free(sql);
        if (r < 0) return -1;
    }
    return 0;
}

int store_maintain(hm_store *st, int64_t now_ms, hm_err *e)
{
    if (begin_write(st, e) < 0) return hm_err_prefix(e, "cannot apply retention");
    if (maintain_locked(st, now_ms, st->opt.chunk_span_ms, e) < 0) {
        rollback(st);
        return hm_err_prefix(e, "cannot apply retention");
    }
    return commit_write(st, e);
}

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static void sizes(hm_store *st, int64_t *db, int64_t *wal)
{
    *db = file_size(st->path);
    char *w = xasprintf("%s-wal", st->path);
    *wal = file_size(w);
    free(w);
}

int store_stats_get(hm_store *st, store_stats *out, hm_err *e)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT tier, count(DISTINCT series_id), count(*), sum(n),"
                           " sum(length(data)), min(first_ts), max(last_ts),"
                           " sum(CASE WHEN sealed = 0 THEN 1 ELSE 0 END) FROM chunks GROUP BY tier",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot count chunks");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int t = sqlite3_column_int(q, 0);
        if (t < 0 || t >= STORE_TIERS) continue;
        store_tier_stats *ts = &out->tier[t];
        ts->series = sqlite3_column_int64(q, 1);
        ts->chunks = sqlite3_column_int64(q, 2);
        ts->points = sqlite3_column_int64(q, 3);
        ts->bytes = sqlite3_column_int64(q, 4);
        ts->oldest_ms = sqlite3_column_int64(q, 5);
        ts->newest_ms = sqlite3_column_int64(q, 6);
        if (t == STORE_RAW) out->open_chunks = sqlite3_column_int64(q, 7);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return db_fail(st, e, "cannot count chunks");
    if (sqlite3_prepare_v2(st->db, "SELECT (SELECT count(*) FROM series), count(*),"
                           " coalesce(sum(length(data)), 0) FROM tsblocks", -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot count time columns");
    if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        out->series = sqlite3_column_int64(q, 0);
        out->time_columns = sqlite3_column_int64(q, 1);
        out->time_column_bytes = sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) return db_fail(st, e, "cannot count time columns");
    out->tier[STORE_RAW].bytes += out->time_column_bytes;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM store_meta WHERE key = 'dropped_expired'",
                           -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW) out->dropped_expired = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    sizes(st, &out->file_bytes, &out->wal_bytes);
    return 0;
}

int store_compact(hm_store *st, int64_t now_ms, int64_t *before, int64_t *after, hm_err *e)
{
    int64_t db, wal;
    sizes(st, &db, &wal);
    if (before) *before = db + wal;
    if (begin_write(st, e) < 0) return hm_err_prefix(e, "cannot compact the store");
    if (maintain_locked(st, now_ms, 0, e) < 0) {
        rollback(st);
        return hm_err_prefix(e, "cannot compact the store");
    }
    if (commit_write(st, e) < 0) return hm_err_prefix(e, "cannot compact the store");
    /* VACUUM cannot run with statements pending */
    for (int i = 0; i < Q_COUNT; i++) {
        sqlite3_finalize(st->stmt[i]);
        st->stmt[i] = NULL;
    }
    if (exec(st, "VACUUM", e) < 0 || exec(st, "PRAGMA wal_checkpoint(TRUNCATE)", e) < 0)
        return hm_err_prefix(e, "cannot compact the store");
    sizes(st, &db, &wal);
    if (after) *after = db + wal;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The collectors' memory */

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
        rollback(st);
        return db_fail(st, e, "cannot save state");
    }
    hm_kv_each(kv, kv_save_one, &s);
    sqlite3_finalize(s.q);
    if (s.failed) {
        db_fail(st, e, "cannot save state");
        rollback(st);
        return -1;
    }
    return exec(st, "COMMIT", e);
}
