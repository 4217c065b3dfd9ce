/* The InfluxDB sink: a queue of gzip batches in the store, flushed oldest first. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/http.h"
#include "store/sink.h"

#define SINK_NAME "influxdb"
#define MAX_BACKOFF_MS 300000LL
#define DAY_MS 86400000LL

static const char *const sink_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE sink_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, points INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE INDEX sink_queue_order ON sink_queue(sink, id);"
    "CREATE TABLE sink_state (sink TEXT PRIMARY KEY,"
    " sent_batches INTEGER NOT NULL DEFAULT 0, sent_points INTEGER NOT NULL DEFAULT 0,"
    " dropped_batches INTEGER NOT NULL DEFAULT 0, dropped_points INTEGER NOT NULL DEFAULT 0,"
    " last_drop_ms INTEGER NOT NULL DEFAULT 0,"
    " rejected_batches INTEGER NOT NULL DEFAULT 0, rejected_points INTEGER NOT NULL DEFAULT 0,"
    " skipped_points INTEGER NOT NULL DEFAULT 0,"
    " last_ok_ms INTEGER NOT NULL DEFAULT 0, last_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    " last_error_ms INTEGER NOT NULL DEFAULT 0, next_try_ms INTEGER NOT NULL DEFAULT 0,"
    " failures INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');",
};

struct hm_sink {
    hm_store *st;
    sqlite3 *db;
    char *url;       /* the write URL with its query */
    char *token;     /* Authorization: Token ... (never printed) */
    char *username;  /* 1.x basic authentication */
    char *password;
    char *ca_file;
    lp_precision prec;
    strvec tags;
    int64_t batch_size, flush_interval_ms, queue_max, timeout_ms;
    hm_http *http;
};

/* ---- Configuration ---------------------------------------------------------------------- */

static const char *origin(const hm_config *cfg, const char *key, char *buf, size_t size)
{
    const char *o = cfg_origin(cfg, "sink", SINK_NAME, key, buf, size);
    if (o && strcmp(o, "default") != 0) return o;
    const cfg_section *sec = cfg_section_find(cfg, "sink", SINK_NAME);
    if (sec && sec->file) {
        snprintf(buf, size, "%s:%d", sec->file, sec->line);
        return buf;
    }
    return "[sink \"influxdb\"]";
}

static const char *get(const hm_config *cfg, const char *key)
{
    const char *v = cfg_get(cfg, "sink", SINK_NAME, key);
    return v && *v ? v : NULL;
}

/* The parts of the configuration that need no store: fills s (without st/db). Returns 1, 0 when
 * no sink is configured or it is disabled, -1 with e set. */
static int parse_config(const hm_config *cfg, hm_sink *s, hm_err *e)
{
    const cfg_section **secs;
    size_t n = cfg_sections_of(cfg, "sink", &secs);
    for (size_t i = 0; i < n; i++)
        if (strcmp(secs[i]->name, SINK_NAME) != 0) {
            hm_err_set(e, "%s:%d: [sink \"%s\"]: unknown sink (the one sink is [sink \"influxdb\"])",
                       secs[i]->file, secs[i]->line, secs[i]->name);
            free(secs);
            return -1;
        }
    free(secs);
    if (!cfg_section_find(cfg, "sink", SINK_NAME)) return 0;
    if (!cfg_get_bool(cfg, "sink", SINK_NAME, "enabled", true)) return 0;
    char buf[512];
    const char *url = get(cfg, "url");
    if (!url) return hm_err_set(e, "%s: [sink \"influxdb\"]: no url", origin(cfg, "url", buf, sizeof buf));
    const char *prec = cfg_get(cfg, "sink", SINK_NAME, "precision");
    if (!prec || lp_precision_parse(prec, &s->prec) < 0)
        return hm_err_set(e, "%s: [sink \"influxdb\"] precision: '%s' is not ns, us, ms or s",
                          origin(cfg, "precision", buf, sizeof buf), prec ? prec : "");
    const char *db = get(cfg, "database"), *bucket = get(cfg, "bucket"), *org = get(cfg, "org");
    size_t ulen = strlen(url);
    while (ulen && url[ulen - 1] == '/') ulen--;
    if (bucket) {
        if (!org)
            return hm_err_set(e, "%s: [sink \"influxdb\"]: bucket needs org (the 2.x write API)",
                              origin(cfg, "bucket", buf, sizeof buf));
        char *o = hm_url_escape(org), *b = hm_url_escape(bucket);
        s->url = xasprintf("%.*s/api/v2/write?org=%s&bucket=%s&precision=%s", (int)ulen, url, o, b,
                           lp_precision_v2(s->prec));
        free(o);
        free(b);
    } else if (db) {
        char *d = hm_url_escape(db);
        const char *rp = get(cfg, "retention_policy");
        char *r = rp ? hm_url_escape(rp) : NULL;
        s->url = xasprintf("%.*s/write?db=%s&precision=%s%s%s", (int)ulen, url, d,
                           lp_precision_v1(s->prec), r ? "&rp=" : "", r ? r : "");
        free(d);
        free(r);
    } else {
        return hm_err_set(e, "%s: [sink \"influxdb\"]: set database (1.x) or org and bucket (2.x)",
                          origin(cfg, "database", buf, sizeof buf));
    }
    hm_err se = {{0}};
    s->token = cfg_get_secret(cfg, "sink", SINK_NAME, "token", &se);
    if (!s->token && se.msg[0]) return hm_err_set(e, "%s", se.msg);
    s->password = cfg_get_secret(cfg, "sink", SINK_NAME, "password", &se);
    if (!s->password && se.msg[0]) return hm_err_set(e, "%s", se.msg);
    s->username = xstrdup(get(cfg, "username"));
    s->ca_file = xstrdup(get(cfg, "ca_file"));
    s->batch_size = (int64_t)cfg_get_number(cfg, "sink", SINK_NAME, "batch_size", 5000);
    if (s->batch_size < 1)
        return hm_err_set(e, "%s: [sink \"influxdb\"] batch_size: must be at least 1",
                          origin(cfg, "batch_size", buf, sizeof buf));
    s->flush_interval_ms = cfg_get_ms(cfg, "sink", SINK_NAME, "flush_interval", 10000);
    s->timeout_ms = cfg_get_ms(cfg, "sink", SINK_NAME, "timeout", 5000);
    if (s->timeout_ms <= 0) s->timeout_ms = 5000;
    s->queue_max = (int64_t)cfg_get_size(cfg, "sink", SINK_NAME, "queue_max", 64ULL << 20);
    cfg_get_list(cfg, "sink", SINK_NAME, "tags", &s->tags);
    if (!cfg_get(cfg, "sink", SINK_NAME, "tags")) {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) == 0 && host[0])
            sv_push_owned(&s->tags, xasprintf("console=%s", host));
    }
    for (size_t i = 0; i < s->tags.n; i++) {
        const char *eq = strchr(s->tags.v[i], '=');
        if (!eq || eq == s->tags.v[i] || !eq[1])
            return hm_err_set(e, "%s: [sink \"influxdb\"] tags: '%s' is not NAME=VALUE",
                              origin(cfg, "tags", buf, sizeof buf), s->tags.v[i]);
    }
    return 1;
}

void sink_close(hm_sink *s)
{
    if (!s) return;
    free(s->url);
    if (s->token) memset(s->token, 0, strlen(s->token));
    if (s->password) memset(s->password, 0, strlen(s->password));
    free(s->token);
    free(s->password);
    free(s->username);
    free(s->ca_file);
    sv_free(&s->tags);
    hm_http_free(s->http);
    free(s);
}

int sink_open(const hm_config *cfg, hm_store *st, hm_sink **out, hm_err *e)
{
    *out = NULL;
    hm_sink *s = xcalloc(1, sizeof *s);
    int rc = parse_config(cfg, s, e);
    if (rc <= 0) {
        sink_close(s);
        return rc;
    }
    if (store_migrate(st, "sink", sink_migrations, (int)HM_ARRAY_LEN(sink_migrations), e) < 0) {
        sink_close(s);
        return -1;
    }
    s->st = st;
    s->db = store_db(st);
    *out = s;
    return 1;
}

lp_precision sink_precision(const hm_sink *s)
{
    return s->prec;
}

const strvec *sink_tags(const hm_sink *s)
{
    return &s->tags;
}

int64_t sink_batch_size(const hm_sink *s)
{
    return s->batch_size;
}

/* ---- The queue -------------------------------------------------------------------------- */

static int db_fail(hm_sink *s, hm_err *e, const char *what)
{
    return hm_err_set(e, "%s: %s: %s", store_path(s->st), what, sqlite3_errmsg(s->db));
}

static int run_sql(hm_sink *s, const char *sql, hm_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        hm_err_set(e, "%s: sink queue: %s", store_path(s->st), msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Adds to (or sets) counters of the sink's state row: pairs of column and value, with `+` or
 * `=` before the column name ("+sent_points"). */
static int state_update(hm_sink *s, hm_err *e, const char *first, ...)
{
    strbuf sql = {0};
    sb_adds(&sql, "INSERT INTO sink_state(sink) VALUES ('" SINK_NAME "') ON CONFLICT(sink) DO NOTHING;"
                  "UPDATE sink_state SET ");
    va_list ap;
    va_start(ap, first);
    bool comma = false;
    for (const char *col = first; col; col = va_arg(ap, const char *)) {
        if (comma) sb_adds(&sql, ", ");
        comma = true;
        if (col[0] == '$') { /* text */
            const char *v = va_arg(ap, const char *);
            char *q = sqlite3_mprintf("%s = %Q", col + 1, v);
            sb_adds(&sql, q);
            sqlite3_free(q);
        } else {
            long long v = va_arg(ap, long long);
            if (col[0] == '+') sb_addf(&sql, "%s = %s + %lld", col + 1, col + 1, v);
            else sb_addf(&sql, "%s = %lld", col + 1, v);
        }
    }
    va_end(ap);
    sb_adds(&sql, " WHERE sink = '" SINK_NAME "'");
    int rc = run_sql(s, sb_str(&sql), e);
    sb_free(&sql);
    return rc;
}

static int insert_batch(hm_sink *s, sqlite3_stmt *ins, const strbuf *lines, int64_t points,
                        int64_t now_ms, hm_err *e)
{
    strbuf gz = {0};
    if (lp_gzip(lines->buf, lines->len, &gz, e) < 0) return -1;
    sqlite3_bind_int64(ins, 1, now_ms);
    sqlite3_bind_int64(ins, 2, points);
    sqlite3_bind_blob(ins, 3, gz.buf, (int)gz.len, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    sb_free(&gz);
    return rc == SQLITE_DONE ? 0 : db_fail(s, e, "cannot queue samples for the sink");
}

/* Drops the oldest batches while the queue is over its bound. */
static int enforce_bound(hm_sink *s, int64_t now_ms, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT id, points, length(body) FROM sink_queue WHERE sink = '"
                           SINK_NAME "' ORDER BY id", -1, &q, NULL) != SQLITE_OK)
        return db_fail(s, e, "cannot read the sink queue");
    int64_t total = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) total += sqlite3_column_int64(q, 2);
    sqlite3_reset(q);
    int64_t drop_to = 0, batches = 0, points = 0;
    while (total > s->queue_max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        drop_to = sqlite3_column_int64(q, 0);
        batches++;
        points += sqlite3_column_int64(q, 1);
        total -= sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    if (!batches) return 0;
    char *sql = sqlite3_mprintf("DELETE FROM sink_queue WHERE sink = '" SINK_NAME "' AND id <= %lld",
                                (long long)drop_to);
    rc = run_sql(s, sql, e);
    sqlite3_free(sql);
    if (rc < 0) return -1;
    return state_update(s, e, "+dropped_batches", (long long)batches, "+dropped_points",
                        (long long)points, "=last_drop_ms", (long long)now_ms, NULL);
}

int sink_enqueue(hm_sink *s, const hm_sample *samples, size_t n, int64_t now_ms, hm_err *e)
{
    if (n == 0) return 0;
    if (run_sql(s, "BEGIN IMMEDIATE", e) < 0) return -1;
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO sink_queue(sink, created_ms, points, body)"
                           " VALUES ('" SINK_NAME "', ?1, ?2, ?3)", -1, &ins, NULL) != SQLITE_OK) {
        db_fail(s, e, "cannot queue samples for the sink");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    strbuf lines = {0};
    int64_t points = 0, skipped = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int r = lp_append(&lines, samples[i].series, samples[i].value, samples[i].ts_ms, s->prec,
                          &s->tags);
        if (r != 0) {
            skipped++;
            continue;
        }
        if (++points == s->batch_size) {
            rc = insert_batch(s, ins, &lines, points, now_ms, e);
            sb_reset(&lines);
            points = 0;
        }
    }
    if (rc == 0 && points) rc = insert_batch(s, ins, &lines, points, now_ms, e);
    sqlite3_finalize(ins);
    sb_free(&lines);
    if (rc == 0 && skipped) rc = state_update(s, e, "+skipped_points", (long long)skipped, NULL);
    if (rc == 0) rc = enforce_bound(s, now_ms, e);
    if (rc == 0) rc = run_sql(s, "COMMIT", e);
    if (rc < 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- Sending ---------------------------------------------------------------------------- */

/* POSTs a gzip body. Returns the HTTP status (0 when no answer), text in err. */
static long post(hm_sink *s, const void *body, size_t len, int64_t timeout_ms, hm_err *err)
{
    if (!s->http) s->http = hm_http_new();
    char *auth = s->token ? xasprintf("Authorization: Token %s", s->token) : NULL;
    const char *headers[] = {"Content-Encoding: gzip", "Content-Type: text/plain; charset=utf-8",
                             auth, NULL};
    hm_http_req req = {
        .method = "POST",
        .url = s->url,
        .body = body,
        .body_len = len,
        .headers = headers,
        .username = s->username,
        .password = s->username ? (s->password ? s->password : "") : NULL,
        .timeout_ms = timeout_ms,
        .ca_file = s->ca_file,
    };
    hm_http_resp resp = {0};
    long status = 0;
    if (hm_http_do(s->http, &req, &resp, err) == 0) {
        status = resp.status;
        if (status < 200 || status > 299) {
            char *text = hm_http_error_text(&resp);
            hm_err_set(err, "%s: HTTP %ld: %s", s->url, status, text);
            free(text);
        }
    }
    hm_http_resp_free(&resp);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    return status;
}

int sink_post(hm_sink *s, const char *lines, size_t len, hm_err *e)
{
    strbuf gz = {0};
    if (lp_gzip(lines, len, &gz, e) < 0) return -1;
    long status = post(s, gz.buf, gz.len, s->timeout_ms, e);
    sb_free(&gz);
    return status >= 200 && status <= 299 ? 0 : -1;
}

int sink_status_get(hm_store *st, const char *name, sink_status *out, hm_err *e)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(points), 0),"
                           " coalesce(sum(length(body)), 0), coalesce(min(created_ms), 0)"
                           " FROM sink_queue WHERE sink = ?1", -1, &q, NULL) != SQLITE_OK) {
        /* the tables appear with the sink's first run */
        return 0;
    }
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        out->queued_batches = sqlite3_column_int64(q, 0);
        out->queued_points = sqlite3_column_int64(q, 1);
        out->queued_bytes = sqlite3_column_int64(q, 2);
        out->oldest_queued_ms = sqlite3_column_int64(q, 3);
    }
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(db, "SELECT sent_batches, sent_points, dropped_batches, dropped_points,"
                           " last_drop_ms, rejected_batches, rejected_points, skipped_points,"
                           " last_ok_ms, last_attempt_ms, last_error_ms, next_try_ms, failures,"
                           " last_error FROM sink_state WHERE sink = ?1", -1, &q, NULL) != SQLITE_OK)
        return hm_err_set(e, "%s: cannot read the sink's state: %s", store_path(st), sqlite3_errmsg(db));
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        int64_t *f[] = {&out->sent_batches, &out->sent_points, &out->dropped_batches,
                        &out->dropped_points, &out->last_drop_ms, &out->rejected_batches,
                        &out->rejected_points, &out->skipped_points, &out->last_ok_ms,
                        &out->last_attempt_ms, &out->last_error_ms, &out->next_try_ms,
                        &out->failures};
        for (int i = 0; i < (int)HM_ARRAY_LEN(f); i++) *f[i] = sqlite3_column_int64(q, i);
        snprintf(out->last_error, sizeof out->last_error, "%s",
                 (const char *)sqlite3_column_text(q, 13));
    }
    sqlite3_finalize(q);
    return 0;
}

struct row {
    int64_t id, points;
};

/* The next rows to send together: oldest first, up to batch_size points (at least one row);
 * only one row when `single`. Their bodies are concatenated into body (gzip members). */
static int next_rows(hm_sink *s, bool single, struct row *rows, size_t *nrows, size_t max,
                     strbuf *body, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT id, points, body FROM sink_queue WHERE sink = '"
                           SINK_NAME "' ORDER BY id LIMIT ?1", -1, &q, NULL) != SQLITE_OK)
        return db_fail(s, e, "cannot read the sink queue");
    sqlite3_bind_int64(q, 1, single ? 1 : (int64_t)max);
    *nrows = 0;
    sb_reset(body);
    int64_t points = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t p = sqlite3_column_int64(q, 1);
        if (*nrows && points + p > s->batch_size) break;
        rows[*nrows] = (struct row){sqlite3_column_int64(q, 0), p};
        (*nrows)++;
        points += p;
        sb_add(body, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, e, "cannot read the sink queue");
}

static int delete_rows(hm_sink *s, const struct row *rows, size_t n, hm_err *e)
{
    strbuf sql = {0};
    sb_adds(&sql, "DELETE FROM sink_queue WHERE id IN (");
    for (size_t i = 0; i < n; i++) sb_addf(&sql, "%s%lld", i ? "," : "", (long long)rows[i].id);
    sb_adds(&sql, ")");
    int rc = run_sql(s, sb_str(&sql), e);
    sb_free(&sql);
    return rc;
}

int64_t sink_flush(hm_sink *s, int64_t now_ms, int64_t budget_ms, bool force, hm_err *e)
{
    sink_status ss;
    if (sink_status_get(s->st, SINK_NAME, &ss, e) < 0) return -1;
    if (ss.queued_batches == 0) return 0;
    bool due = force ||
               (ss.failures == 0 && (ss.queued_points >= s->batch_size ||
                                     now_ms - ss.last_attempt_ms >= s->flush_interval_ms)) ||
               (ss.failures > 0 && now_ms >= ss.next_try_ms);
    if (!due) return 0;
    int64_t deadline = hm_mono_ms() + budget_ms, sent = 0;
    enum { MAX_ROWS = 1024 };
    struct row *rows = xmalloc(MAX_ROWS * sizeof *rows);
    strbuf body = {0};
    bool single = false;
    int64_t rc = 0;
    for (;;) {
        int64_t left = deadline - hm_mono_ms();
        if (left <= 0) break;
        size_t n = 0;
        if (next_rows(s, single, rows, &n, MAX_ROWS, &body, e) < 0) {
            rc = -1;
            break;
        }
        if (n == 0) break;
        int64_t points = 0;
        for (size_t i = 0; i < n; i++) points += rows[i].points;
        hm_err pe = {{0}};
        long status = post(s, body.buf, body.len, left < s->timeout_ms ? left : s->timeout_ms, &pe);
        if (status >= 200 && status <= 299) {
            if (delete_rows(s, rows, n, e) < 0 ||
                state_update(s, e, "+sent_batches", (long long)n, "+sent_points", (long long)points,
                             "=last_ok_ms", (long long)now_ms, "=last_attempt_ms", (long long)now_ms,
                             "=failures", 0LL, NULL) < 0) {
                rc = -1;
                break;
            }
            sent += points;
            single = false;
            continue;
        }
        if ((status == 400 || status == 413 || status == 422) && n > 1) {
            single = true; /* find the batch the server refuses */
            continue;
        }
        if (status == 400 || status == 413 || status == 422) {
            if (delete_rows(s, rows, n, e) < 0 ||
                state_update(s, e, "+rejected_batches", 1LL, "+rejected_points", (long long)points,
                             "$last_error", pe.msg, "=last_error_ms", (long long)now_ms,
                             "=last_attempt_ms", (long long)now_ms, NULL) < 0) {
                rc = -1;
                break;
            }
            single = false;
            continue;
        }
        int64_t failures = ss.failures + 1, delay = s->flush_interval_ms > 0 ? s->flush_interval_ms : 1000;
        for (int64_t i = 1; i < failures && delay < MAX_BACKOFF_MS; i++) delay *= 2;
        if (delay > MAX_BACKOFF_MS) delay = MAX_BACKOFF_MS;
        state_update(s, NULL, "=failures", (long long)failures, "$last_error", pe.msg,
                     "=last_error_ms", (long long)now_ms, "=last_attempt_ms", (long long)now_ms,
                     "=next_try_ms", (long long)(now_ms + delay), NULL);
        hm_err_set(e, "%s", pe.msg);
        rc = -1;
        break;
    }
    free(rows);
    sb_free(&body);
    return rc < 0 ? -1 : sent;
}

/* ---- Status ----------------------------------------------------------------------------- */

void sink_add_component(const hm_config *cfg, hm_store *st, int64_t now_ms, hm_result *out)
{
    hm_sink probe = {0};
    hm_err e = {{0}};
    int rc = parse_config(cfg, &probe, &e);
    probe.http = NULL;
    free(probe.url);
    free(probe.token);
    free(probe.password);
    free(probe.username);
    free(probe.ca_file);
    sv_free(&probe.tags);
    const char *name = "sink influxdb";
    if (rc == 0) return;
    if (rc < 0) {
        hm_result_add_component(out, name, "sink", HM_CRITICAL, "misconfigured", "%s", e.msg);
        return;
    }
    if (!st) {
        hm_result_add_component(out, name, "sink", HM_UNKNOWN, NULL,
                                "the store is not available: queue unknown");
        return;
    }
    sink_status ss;
    if (sink_status_get(st, SINK_NAME, &ss, &e) < 0) {
        hm_result_add_component(out, name, "sink", HM_UNKNOWN, NULL, "%s", e.msg);
        return;
    }
    strbuf d = {0};
    enum hm_state state = HM_OK;
    char age[32];
    if (ss.failures > 0) {
        state = HM_WARNING;
        hm_format_duration(now_ms - ss.last_ok_ms, age, sizeof age);
        sb_addf(&d, "failing (%lld in a row): %s; ", (long long)ss.failures, ss.last_error);
    }
    if (ss.queued_batches) {
        hm_format_duration(now_ms - ss.oldest_queued_ms, age, sizeof age);
        sb_addf(&d, "%lld batch%s (%lld points) queued, oldest %s old", (long long)ss.queued_batches,
                ss.queued_batches == 1 ? "" : "es", (long long)ss.queued_points, age);
    } else {
        sb_adds(&d, "queue empty");
    }
    if (ss.last_ok_ms) {
        hm_format_duration(now_ms - ss.last_ok_ms, age, sizeof age);
        sb_addf(&d, "; last sent %s ago", age);
    } else {
        sb_adds(&d, "; nothing sent yet");
    }
    if (ss.dropped_batches) {
        sb_addf(&d, "; %lld batch%s (%lld points) dropped when the queue was full",
                (long long)ss.dropped_batches, ss.dropped_batches == 1 ? "" : "es",
                (long long)ss.dropped_points);
        if (now_ms - ss.last_drop_ms < DAY_MS) state = HM_WARNING;
    }
    if (ss.rejected_batches) {
        sb_addf(&d, "; %lld batch%s (%lld points) rejected by the server", (long long)ss.rejected_batches,
                ss.rejected_batches == 1 ? "" : "es", (long long)ss.rejected_points);
        if (now_ms - ss.last_error_ms < DAY_MS) state = HM_WARNING;
    }
    if (ss.skipped_points) sb_addf(&d, "; %lld NaN or infinite values not sent", (long long)ss.skipped_points);
    hm_result_add_component(out, name, "sink", state,
                            ss.failures ? "failing" : state == HM_OK ? "ok" : "losing data", "%s",
                            sb_str(&d));
    sb_free(&d);
}

/* ---- Export ----------------------------------------------------------------------------- */

struct export {
    hm_sink *s;
    FILE *f;
    lp_precision prec;
    const strvec *tags;
    strbuf lines;
    int64_t in_batch, sent, skipped;
    int64_t slice;         /* start of the time slice being read */
    int64_t resume;        /* start of the slice of the first unsent point */
    int failed;
    hm_err *e;
};

static int export_send(struct export *x)
{
    if (!x->in_batch) return 0;
    hm_err pe = {{0}};
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt) sleep((unsigned)attempt);
        if (sink_post(x->s, x->lines.buf, x->lines.len, &pe) == 0) {
            x->sent += x->in_batch;
            x->in_batch = 0;
            sb_reset(&x->lines);
            return 0;
        }
    }
    char when[32];
    hm_format_time(x->resume, when, sizeof when);
    hm_err_set(x->e, "%s; %lld points were sent; resume with --from %s", pe.msg, (long long)x->sent, when);
    x->failed = 1;
    return -1;
}

static int export_point(const char *series, const char *unit, int64_t ts, double v, void *ud)
{
    struct export *x = ud;
    if (x->f) {
        sb_reset(&x->lines);
        int r = lp_append(&x->lines, series, v, ts, x->prec, x->tags);
        if (r != 0) {
            x->skipped++;
            return 0;
        }
        if (fwrite(x->lines.buf, 1, x->lines.len, x->f) != x->lines.len) {
            hm_err_set(x->e, "cannot write the export: %s", strerror(errno));
            x->failed = 1;
            return 1;
        }
        x->sent++;
        return 0;
    }
    if (lp_append(&x->lines, series, v, ts, x->prec, x->tags) != 0) {
        x->skipped++;
        return 0;
    }
    if (x->in_batch++ == 0) x->resume = x->slice;
    if (x->in_batch >= x->s->batch_size && export_send(x) < 0) return 1;
    return 0;
}

/* The export reads a day at a time across all series, so that everything before the slice of
 * the first unsent point has been sent: that slice is where a failed send resumes. */
int64_t sink_export(hm_store *st, hm_sink *s, const char *match, int64_t from_ms, int64_t to_ms,
                    FILE *f, lp_precision prec, const strvec *tags, int64_t *skipped, hm_err *e)
{
    struct export x = {s, f, f ? prec : s->prec, f ? tags : &s->tags, {0}, 0, 0, 0, 0, 0, 0, e};
    store_stats stats;
    if (store_stats_get(st, &stats, e) < 0) return -1;
    int rc = 0;
    if (stats.tier[STORE_RAW].points) {
        int64_t lo = from_ms > stats.tier[STORE_RAW].oldest_ms ? from_ms : stats.tier[STORE_RAW].oldest_ms;
        int64_t hi = to_ms < stats.tier[STORE_RAW].newest_ms + 1 ? to_ms : stats.tier[STORE_RAW].newest_ms + 1;
        for (int64_t t = lo; t < hi && rc == 0 && !x.failed;) {
            int64_t end = t - (t % DAY_MS + DAY_MS) % DAY_MS + DAY_MS;
            if (end > hi) end = hi;
            x.slice = t;
            rc = store_range(st, match, t, end, 0, export_point, &x, e);
            t = end;
        }
    }
    if (rc == 0 && !x.failed && !f) rc = export_send(&x);
    sb_free(&x.lines);
    if (skipped) *skipped = x.skipped;
    return rc < 0 || x.failed ? -1 : x.sent;
}
