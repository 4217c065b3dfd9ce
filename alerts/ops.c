/* Operations on the alert tables: listing, history, acknowledgements and silences. */
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/alerts-int.h"
#include "lib/clock.h"
#include "lib/output.h"

int alerts_silence_matcher_parse(const char *text, alert_matchers *out, hm_err *e)
{
    if (alert_matcher_parse(text, out, e) < 0) return -1;
    alert_matcher *m = &out->v[out->n - 1];
    if (strcmp(m->name, "rule") == 0) {
        free(m->name);
        m->name = xstrdup("alertname");
    }
    return 0;
}

void alerts_silences_free(alert_silences *s)
{
    for (size_t i = 0; i < s->n; i++) alert_matchers_free(&s->v[i].m);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* matchers are stored as a JSON array of their texts, re-parsed on load */
int alerts_silences_load(hm_store *st, int64_t now_ms, alert_silences *out, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "SELECT id, matchers, starts_ms, ends_ms FROM"
                           " alert_silences WHERE starts_ms <= ?1 AND ends_ms > ?1 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read silences");
    sqlite3_bind_int64(q, 1, now_ms);
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        alert_silence s = {.id = sqlite3_column_int64(q, 0),
                           .starts_ms = sqlite3_column_int64(q, 2),
                           .ends_ms = sqlite3_column_int64(q, 3)};
        json_t *arr = json_loads((const char *)sqlite3_column_text(q, 1), 0, NULL);
        size_t i;
        json_t *m;
        bool ok = json_is_array(arr) && json_array_size(arr) > 0;
        json_array_foreach(arr, i, m)
        {
            hm_err ignore = {{0}};
            if (!json_is_string(m) ||
                alerts_silence_matcher_parse(json_string_value(m), &s.m, &ignore) < 0)
                ok = false;
        }
        json_decref(arr);
        if (!ok) { /* never let a damaged row silence everything */
            alert_matchers_free(&s.m);
            continue;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            out->v = xrealloc(out->v, cap * sizeof(alert_silence));
        }
        out->v[out->n++] = s;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : alerts_db_err(st, e, "cannot read silences");
}

int64_t alerts_silenced_by(const alert_silences *s, const alert_labels *l)
{
    for (size_t i = 0; i < s->n; i++)
        if (alert_matchers_match(&s->v[i].m, l)) return s->v[i].id;
    return 0;
}

static json_t *iso(int64_t ms)
{
    if (ms <= 0) return json_null();
    char buf[40];
    hm_format_time(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *value_json(sqlite3_stmt *q, int col)
{
    if (sqlite3_column_type(q, col) == SQLITE_NULL) return json_null();
    double v = sqlite3_column_double(q, col);
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *text_or(sqlite3_stmt *q, int col, const char *fallback)
{
    const char *t = (const char *)sqlite3_column_text(q, col);
    return t ? t : fallback;
}

int alerts_list_json(hm_store *st, int64_t now_ms, json_t **out, hm_err *e)
{
    *out = NULL;
    if (alerts_migrate(st, e) < 0) return -1;
    alert_silences sil = {0};
    if (alerts_silences_load(st, now_ms, &sil, e) < 0) return -1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id, rule, state, severity, subject, labels, value, summary,"
                           " active_ms, fired_ms, ack_ms, ack_by, ack_comment, kind FROM alert_state"
                           " ORDER BY CASE state WHEN 'firing' THEN 0 ELSE 1 END, CASE severity"
                           " WHEN 'emergency' THEN 0 WHEN 'critical' THEN 1 WHEN 'warning' THEN 2"
                           " ELSE 3 END, id",
                           -1, &q, NULL) != SQLITE_OK) {
        alerts_silences_free(&sil);
        return alerts_db_err(st, e, "cannot read alerts");
    }
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqlite3_column_int64(q, 0)));
        json_object_set_new(o, "rule", json_string(text_or(q, 1, "")));
        const char *state = text_or(q, 2, "");
        json_object_set_new(o, "state", json_string(state));
        json_object_set_new(o, "severity", json_string(text_or(q, 3, "")));
        json_object_set_new(o, "kind", json_string(text_or(q, 13, "")));
        json_object_set_new(o, "series", json_string(text_or(q, 4, "")));
        json_t *labels = json_loads(text_or(q, 5, "{}"), 0, NULL);
        if (!labels) labels = json_object();
        alert_labels l = {0};
        alert_labels_from_json(labels, &l);
        json_object_set_new(o, "labels", labels);
        json_object_set_new(o, "value", value_json(q, 6));
        json_object_set_new(o, "summary", json_string(text_or(q, 7, "")));
        int64_t active = sqlite3_column_int64(q, 8), fired = sqlite3_column_int64(q, 9);
        json_object_set_new(o, "since", iso(strcmp(state, "firing") == 0 ? fired : active));
        json_object_set_new(o, "active_at", iso(active));
        json_object_set_new(o, "fired_at", iso(fired));
        int64_t sid = alerts_silenced_by(&sil, &l);
        json_object_set_new(o, "silenced", json_boolean(sid != 0));
        json_object_set_new(o, "silence", sid ? json_integer(sid) : json_null());
        int64_t ack = sqlite3_column_int64(q, 10);
        json_object_set_new(o, "acknowledged", json_boolean(ack > 0));
        if (ack > 0) {
            json_t *a = json_object();
            json_object_set_new(a, "by", json_string(text_or(q, 11, "")));
            json_object_set_new(a, "at", iso(ack));
            json_object_set_new(a, "comment", json_string(text_or(q, 12, "")));
            json_object_set_new(o, "ack", a);
        } else {
            json_object_set_new(o, "ack", json_null());
        }
        alert_labels_free(&l);
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(q);
    alerts_silences_free(&sil);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return alerts_db_err(st, e, "cannot read alerts");
    }
    *out = arr;
    return 0;
}

int alerts_history_json(hm_store *st, int64_t since_ms, int limit, json_t **out, hm_err *e)
{
    *out = NULL;
    if (alerts_migrate(st, e) < 0) return -1;
    sqlite3_stmt *q, *nq;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id, ts_ms, alert_id, rule, event, severity, subject, labels,"
                           " value, detail FROM alert_history WHERE ts_ms >= ? ORDER BY id DESC"
                           " LIMIT ?", -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read the alert history");
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT o.id, o.channel, o.status, o.attempts, o.last_error, o.done_ms"
                           " FROM alert_outbox_items i JOIN alert_outbox o ON o.id = i.outbox_id"
                           " WHERE i.history_id = ? ORDER BY o.id", -1, &nq, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return alerts_db_err(st, e, "cannot read the alert history");
    }
    sqlite3_bind_int64(q, 1, since_ms);
    sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *o = json_object();
        int64_t hid = sqlite3_column_int64(q, 0);
        json_object_set_new(o, "id", json_integer(hid));
        json_object_set_new(o, "time", iso(sqlite3_column_int64(q, 1)));
        json_object_set_new(o, "alert", json_integer(sqlite3_column_int64(q, 2)));
        json_object_set_new(o, "rule", json_string(text_or(q, 3, "")));
        json_object_set_new(o, "event", json_string(text_or(q, 4, "")));
        json_object_set_new(o, "severity", json_string(text_or(q, 5, "")));
        json_object_set_new(o, "series", json_string(text_or(q, 6, "")));
        json_t *labels = json_loads(text_or(q, 7, "{}"), 0, NULL);
        json_object_set_new(o, "labels", labels ? labels : json_object());
        json_object_set_new(o, "value", value_json(q, 8));
        const char *detail = (const char *)sqlite3_column_text(q, 9);
        json_object_set_new(o, "detail", detail ? json_string(detail) : json_null());
        json_t *notes = json_array();
        sqlite3_reset(nq);
        sqlite3_bind_int64(nq, 1, hid);
        while (sqlite3_step(nq) == SQLITE_ROW) {
            json_t *n = json_object();
            json_object_set_new(n, "id", json_integer(sqlite3_column_int64(nq, 0)));
            json_object_set_new(n, "channel", json_string(text_or(nq, 1, "")));
            json_object_set_new(n, "status", json_string(text_or(nq, 2, "")));
            json_object_set_new(n, "attempts", json_integer(sqlite3_column_int64(nq, 3)));
            const char *err = (const char *)sqlite3_column_text(nq, 4);
            json_object_set_new(n, "error", err ? json_string(err) : json_null());
            json_object_set_new(n, "done_at", iso(sqlite3_column_int64(nq, 5)));
            json_array_append_new(notes, n);
        }
        json_object_set_new(o, "notifications", notes);
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(q);
    sqlite3_finalize(nq);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return alerts_db_err(st, e, "cannot read the alert history");
    }
    *out = arr;
    return 0;
}

int alerts_ack(hm_store *st, int64_t id, const char *by, const char *comment, int64_t now_ms,
               hm_err *e)
{
    if (alerts_migrate(st, e) < 0) return -1;
    if (alerts_exec(st, "BEGIN IMMEDIATE", e) < 0) return -1;
    sqlite3_stmt *q = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(store_db(st),
                           "UPDATE alert_state SET ack_ms = ?2, ack_by = ?3, ack_comment = ?4"
                           " WHERE id = ?1", -1, &q, NULL) != SQLITE_OK) {
        alerts_db_err(st, e, "cannot acknowledge");
        goto out;
    }
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_text(q, 3, by, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, comment, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) {
        alerts_db_err(st, e, "cannot acknowledge");
        goto out;
    }
    if (sqlite3_changes(store_db(st)) == 0) {
        hm_err_set(e, "no active alert %lld ('hmctl alerts list' shows the active ones)",
                   (long long)id);
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    char *note = xasprintf("by %s: %s", by, comment);
    char *sql = sqlite3_mprintf(
        "INSERT INTO alert_history (ts_ms, alert_id, rule, subject, labels, severity, event,"
        " value, detail) SELECT %lld, id, rule, subject, labels, severity, 'acknowledged', value,"
        " %Q FROM alert_state WHERE id = %lld",
        (long long)now_ms, note, (long long)id);
    free(note);
    int r = alerts_exec(st, sql, e);
    sqlite3_free(sql);
    if (r < 0) goto out;
    rc = alerts_exec(st, "COMMIT", e);
out:
    sqlite3_finalize(q);
    if (rc < 0) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int alerts_silence_add(hm_store *st, const strvec *matchers, int64_t for_ms, const char *by,
                       const char *comment, int64_t now_ms, int64_t *id, hm_err *e)
{
    if (matchers->n == 0)
        return hm_err_set(e, "a silence needs at least one matcher (--match rule=NAME, "
                             "--match host=NAME ...)");
    if (for_ms <= 0) return hm_err_set(e, "a silence needs a positive duration");
    json_t *arr = json_array();
    for (size_t i = 0; i < matchers->n; i++) {
        alert_matchers m = {0};
        if (alerts_silence_matcher_parse(matchers->v[i], &m, e) < 0) {
            json_decref(arr);
            return -1;
        }
        alert_matchers_free(&m);
        json_array_append_new(arr, json_string(matchers->v[i]));
    }
    if (alerts_migrate(st, e) < 0) {
        json_decref(arr);
        return -1;
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    sqlite3_stmt *q;
    int rc = -1;
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT INTO alert_silences (matchers, starts_ms, ends_ms, created_by,"
                           " comment) VALUES (?, ?, ?, ?, ?)", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, now_ms);
        sqlite3_bind_int64(q, 3, now_ms + for_ms);
        sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, comment, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_DONE) {
            rc = 0;
            *id = sqlite3_last_insert_rowid(store_db(st));
        }
        sqlite3_finalize(q);
    }
    free(text);
    return rc == 0 ? 0 : alerts_db_err(st, e, "cannot add the silence");
}

int alerts_silence_remove(hm_store *st, int64_t id, int64_t now_ms, hm_err *e)
{
    if (alerts_migrate(st, e) < 0) return -1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "UPDATE alert_silences SET ends_ms = ?2 WHERE id = ?1"
                           " AND ends_ms > ?2", -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot end the silence");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now_ms);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return alerts_db_err(st, e, "cannot end the silence");
    if (sqlite3_changes(store_db(st)) == 0)
        return hm_err_set(e, "no active silence %lld ('hmctl alerts silence' lists them)",
                          (long long)id);
    return 0;
}

int alerts_silences_json(hm_store *st, int64_t now_ms, json_t **out, hm_err *e)
{
    *out = NULL;
    if (alerts_migrate(st, e) < 0) return -1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "SELECT id, matchers, starts_ms, ends_ms, created_by,"
                           " comment FROM alert_silences WHERE ends_ms > ?1 ORDER BY id", -1, &q,
                           NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read silences");
    sqlite3_bind_int64(q, 1, now_ms);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqlite3_column_int64(q, 0)));
        json_t *m = json_loads(text_or(q, 1, "[]"), 0, NULL);
        json_object_set_new(o, "matchers", m ? m : json_array());
        json_object_set_new(o, "starts", iso(sqlite3_column_int64(q, 2)));
        json_object_set_new(o, "ends", iso(sqlite3_column_int64(q, 3)));
        json_object_set_new(o, "by", json_string(text_or(q, 4, "")));
        json_object_set_new(o, "comment", json_string(text_or(q, 5, "")));
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return alerts_db_err(st, e, "cannot read silences");
    }
    *out = arr;
    return 0;
}

int64_t alerts_dead_count(hm_store *st, int64_t since_ms, hm_err *e)
{
    if (alerts_migrate(st, e) < 0) return -1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM alert_outbox WHERE status = 'dead'"
                           " AND done_ms >= ?", -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read the outbox");
    sqlite3_bind_int64(q, 1, since_ms);
    int64_t n = -1;
    if (sqlite3_step(q) == SQLITE_ROW) n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (n < 0) alerts_db_err(st, e, "cannot read the outbox");
    return n;
}

char *alerts_operator_name(void)
{
    const char *sudo = getenv("SUDO_USER");
    if (sudo && *sudo) return xstrdup(sudo);
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name) return xstrdup(pw->pw_name);
    const char *user = getenv("USER");
    return xstrdup(user && *user ? user : "unknown");
}

int alerts_run_cycle(const hm_config *cfg, hm_store *st, int64_t now_ms, json_t **summary,
                     strvec *errors, hm_err *e)
{
    alert_conf *ac = alerts_conf_load(cfg, errors);
    alert_eval_report er = {0};
    alert_deliver_report dr = {0};
    int rc = 0;
    if (ac->enabled) {
        alert_event_source src = {alert_events_from_store, st};
        rc = alerts_evaluate(st, ac, &src, now_ms, &er, e);
        /* deliver what earlier runs queued even when this evaluation failed */
        hm_err de = {{0}};
        if (alerts_deliver(st, ac, now_ms, NULL, NULL, &dr, &de) < 0 && rc == 0) {
            hm_err_set(e, "%s", de.msg);
            rc = -1;
        }
    }
    if (summary) {
        json_t *s = json_object();
        json_object_set_new(s, "enabled", json_boolean(ac->enabled));
        json_object_set_new(s, "rules", json_integer((json_int_t)ac->n_rules));
        json_object_set_new(s, "pending", json_integer(er.pending));
        json_object_set_new(s, "firing", json_integer(er.firing));
        json_object_set_new(s, "fired", json_integer(er.fired));
        json_object_set_new(s, "resolved", json_integer(er.resolved));
        json_object_set_new(s, "enqueued", json_integer(er.notifications));
        json_object_set_new(s, "delivered", json_integer(dr.delivered));
        json_object_set_new(s, "failed", json_integer(dr.failed));
        json_object_set_new(s, "dead", json_integer(dr.dead));
        json_object_set_new(s, "deferred", json_integer(dr.deferred));
        json_t *errs = json_array();
        for (size_t i = 0; errors && i < errors->n; i++)
            json_array_append_new(errs, json_string(errors->v[i]));
        json_object_set_new(s, "errors", errs);
        *summary = s;
    }
    alerts_conf_free(ac);
    return rc;
}
