/* The evaluator: one pass over every rule at a given time, moving each (rule, subject) through
 * pending -> firing -> resolved as Prometheus does for `for`, recording transitions and queueing
 * grouped notifications, all in one transaction so that a crash never loses or doubles one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts-int.h"
#include "lib/clock.h"
#include "lib/output.h"

static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE alert_state (id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL,"
    " subject TEXT NOT NULL, kind TEXT NOT NULL, labels TEXT NOT NULL, severity TEXT NOT NULL,"
    " summary TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, value REAL,"
    " active_ms INTEGER NOT NULL, fired_ms INTEGER NOT NULL DEFAULT 0, eval_ms INTEGER NOT NULL,"
    " notified_ms INTEGER NOT NULL DEFAULT 0, ack_ms INTEGER NOT NULL DEFAULT 0, ack_by TEXT,"
    " ack_comment TEXT, UNIQUE (rule, subject));"
    "CREATE TABLE alert_history (id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL,"
    " alert_id INTEGER NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL, labels TEXT NOT NULL,"
    " severity TEXT NOT NULL, event TEXT NOT NULL, value REAL, detail TEXT);"
    "CREATE INDEX alert_history_ts ON alert_history (ts_ms);"
    "CREATE INDEX alert_history_alert ON alert_history (alert_id);"
    "CREATE TABLE alert_silences (id INTEGER PRIMARY KEY AUTOINCREMENT, matchers TEXT NOT NULL,"
    " starts_ms INTEGER NOT NULL, ends_ms INTEGER NOT NULL, created_by TEXT, comment TEXT);"
    "CREATE TABLE alert_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL,"
    " lease_ms INTEGER NOT NULL DEFAULT 0, progress INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT, done_ms INTEGER NOT NULL DEFAULT 0, answer TEXT, payload TEXT NOT NULL);"
    "CREATE INDEX alert_outbox_due ON alert_outbox (status, next_ms);"
    "CREATE TABLE alert_outbox_items (outbox_id INTEGER NOT NULL, history_id INTEGER NOT NULL,"
    " PRIMARY KEY (outbox_id, history_id));"
    "CREATE INDEX alert_outbox_items_history ON alert_outbox_items (history_id);"
    "CREATE TABLE alert_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
};

int alerts_migrate(hm_store *st, hm_err *e)
{
    return store_migrate(st, "alerts", migrations, (int)HM_ARRAY_LEN(migrations), e);
}

int alerts_db_err(hm_store *st, hm_err *e, const char *what)
{
    return hm_err_set(e, "%s: %s: %s", store_path(st), what, sqlite3_errmsg(store_db(st)));
}

int alerts_exec(hm_store *st, const char *sql, hm_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(store_db(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
        hm_err_set(e, "%s: %s", store_path(st), msg ? msg : sqlite3_errmsg(store_db(st)));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

void alerts_iso_time(int64_t ms, char *buf, size_t size)
{
    if (ms <= 0) snprintf(buf, size, "0001-01-01T00:00:00Z");
    else hm_format_time(ms, buf, (unsigned)size);
}

const char *alerts_jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* One active alert (a row of alert_state) during an evaluation. */
typedef struct active {
    int64_t id;
    char *key; /* rule \x1f subject */
    char *rule, *subject, *kind;
    alert_labels labels;
    enum alert_severity severity;
    char *summary;
    int state; /* 1 pending, 2 firing, 0 gone (ended or resolved) */
    double value;
    int64_t active_ms, fired_ms, notified_ms, ack_ms;
    bool seen, dirty, is_new;
    int64_t hist_id;        /* this evaluation's transition, to link a notification to */
    const char *notify;     /* "firing", "repeat", "resolved" or NULL */
    int64_t ends_ms;
} active;

typedef struct evalctx {
    hm_store *st;
    const alert_conf *ac;
    int64_t now;
    active *v;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1, 0 empty */
    size_t nslots;
    sqlite3_stmt *hist;
    alert_silences silences;
    alert_eval_report *rep;
    /* resource rule being evaluated */
    const alert_rule *rule;
    char *cur_series;
    double cur_value;
    int failed;
    hm_err *e;
} evalctx;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void map_rebuild(evalctx *c)
{
    size_t want = 64;
    while (want < c->n * 2 + 16) want *= 2;
    free(c->slots);
    c->slots = xcalloc(want, sizeof(size_t));
    c->nslots = want;
    for (size_t i = 0; i < c->n; i++) {
        size_t h = (size_t)hash_str(c->v[i].key) & (want - 1);
        while (c->slots[h]) h = (h + 1) & (want - 1);
        c->slots[h] = i + 1;
    }
}

static active *map_find(evalctx *c, const char *key)
{
    if (!c->nslots) return NULL;
    size_t h = (size_t)hash_str(key) & (c->nslots - 1);
    while (c->slots[h]) {
        active *a = &c->v[c->slots[h] - 1];
        if (strcmp(a->key, key) == 0) return a;
        h = (h + 1) & (c->nslots - 1);
    }
    return NULL;
}

static active *add_active(evalctx *c, const char *rule, const char *subject, const char *kind)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xrealloc(c->v, c->cap * sizeof(active));
    }
    active *a = &c->v[c->n++];
    memset(a, 0, sizeof *a);
    a->rule = xstrdup(rule);
    a->subject = xstrdup(subject);
    a->kind = xstrdup(kind);
    a->key = xasprintf("%s\x1f%s", rule, subject);
    a->value = NAN;
    if (c->n * 2 + 16 > c->nslots) {
        map_rebuild(c);
    } else {
        size_t h = (size_t)hash_str(a->key) & (c->nslots - 1);
        while (c->slots[h]) h = (h + 1) & (c->nslots - 1);
        c->slots[h] = c->n;
    }
    return a;
}

static void free_actives(evalctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        active *a = &c->v[i];
        free(a->key);
        free(a->rule);
        free(a->subject);
        free(a->kind);
        free(a->summary);
        alert_labels_free(&a->labels);
    }
    free(c->v);
    free(c->slots);
}

static int load_actives(evalctx *c)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(c->st),
                           "SELECT id, rule, subject, kind, labels, severity, summary, state, value,"
                           " active_ms, fired_ms, notified_ms, ack_ms FROM alert_state ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(c->st, c->e, "cannot read the alert state");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        active *a = add_active(c, (const char *)sqlite3_column_text(q, 1),
                               (const char *)sqlite3_column_text(q, 2),
                               (const char *)sqlite3_column_text(q, 3));
        a->id = sqlite3_column_int64(q, 0);
        json_t *lj = json_loads((const char *)sqlite3_column_text(q, 4), 0, NULL);
        alert_labels_from_json(lj, &a->labels);
        json_decref(lj);
        enum alert_severity sev = ALERT_WARNING;
        alert_severity_parse((const char *)sqlite3_column_text(q, 5), &sev);
        a->severity = sev;
        a->summary = xstrdup((const char *)sqlite3_column_text(q, 6));
        a->state = strcmp((const char *)sqlite3_column_text(q, 7), "firing") == 0 ? 2 : 1;
        a->value = sqlite3_column_type(q, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 8);
        a->active_ms = sqlite3_column_int64(q, 9);
        a->fired_ms = sqlite3_column_int64(q, 10);
        a->notified_ms = sqlite3_column_int64(q, 11);
        a->ack_ms = sqlite3_column_int64(q, 12);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return alerts_db_err(c->st, c->e, "cannot read the alert state");
    return 0;
}

static int64_t history(evalctx *c, active *a, const char *event, const char *detail)
{
    sqlite3_stmt *s = c->hist;
    json_t *lj = alert_labels_json(&a->labels);
    char *labels = json_dumps(lj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(lj);
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, c->now);
    sqlite3_bind_int64(s, 2, a->id);
    sqlite3_bind_text(s, 3, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, a->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, labels, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, alert_severity_name(a->severity), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, event, -1, SQLITE_STATIC);
    if (isnan(a->value)) sqlite3_bind_null(s, 8);
    else sqlite3_bind_double(s, 8, a->value);
    if (detail) sqlite3_bind_text(s, 9, detail, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, 9);
    free(labels);
    if (sqlite3_step(s) != SQLITE_DONE) {
        c->failed = 1;
        alerts_db_err(c->st, c->e, "cannot record alert history");
        return 0;
    }
    return sqlite3_last_insert_rowid(store_db(c->st));
}

/* Inserts a new active alert so that it has an id before its history is written. */
static int insert_active(evalctx *c, active *a)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(store_db(c->st),
                           "INSERT INTO alert_state (rule, subject, kind, labels, severity, summary,"
                           " state, value, active_ms, fired_ms, eval_ms) VALUES"
                           " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                           -1, &s, NULL) != SQLITE_OK)
        return alerts_db_err(c->st, c->e, "cannot record an alert");
    json_t *lj = alert_labels_json(&a->labels);
    char *labels = json_dumps(lj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(lj);
    sqlite3_bind_text(s, 1, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, a->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, a->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, labels, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, alert_severity_name(a->severity), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, a->summary ? a->summary : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, a->state == 2 ? "firing" : "pending", -1, SQLITE_STATIC);
    if (isnan(a->value)) sqlite3_bind_null(s, 8);
    else sqlite3_bind_double(s, 8, a->value);
    sqlite3_bind_int64(s, 9, a->active_ms);
    sqlite3_bind_int64(s, 10, a->fired_ms);
    sqlite3_bind_int64(s, 11, c->now);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    free(labels);
    if (rc != SQLITE_DONE) return alerts_db_err(c->st, c->e, "cannot record an alert");
    a->id = sqlite3_last_insert_rowid(store_db(c->st));
    a->is_new = false;
    return 0;
}

static bool in_scope(const evalctx *c, const alert_rule *r, const alert_labels *series_labels)
{
    if (r->scope_hosts.n == 0) return true;
    const char *host = alert_labels_get(series_labels, "host");
    for (size_t i = 0; i < r->scope_hosts.n; i++) {
        const char *h = r->scope_hosts.v[i];
        if (!host && (strcmp(h, "console") == 0 || strcmp(h, c->ac->console_host) == 0))
            return true;
        if (host && strcmp(host, h) == 0) return true;
    }
    return false;
}

/* The condition of c->rule held or not for the latest sample of one series. */
static void process_series(evalctx *c, const char *series, double value)
{
    const alert_rule *r = c->rule;
    alert_labels sl = {0};
    if (alert_labels_parse_series(series, NULL, &sl) < 0) return;
    if (!in_scope(c, r, &sl) || !alert_matchers_match(&r->match, &sl) ||
        !alert_op_holds(r->op, value, r->threshold)) {
        alert_labels_free(&sl);
        return;
    }
    char *key = xasprintf("%s\x1f%s", r->name, series);
    active *a = map_find(c, key);
    free(key);
    if (!a) {
        a = add_active(c, r->name, series, "resource");
        a->labels = sl;
        sl = (alert_labels){0};
        if (!alert_labels_get(&a->labels, "host"))
            alert_labels_set(&a->labels, "host", c->ac->console_host);
        alert_labels_set(&a->labels, "alertname", r->name);
        alert_labels_set(&a->labels, "severity", alert_severity_name(r->severity));
        a->severity = r->severity;
        a->active_ms = c->now;
        a->state = 1;
        a->is_new = true;
    }
    alert_labels_free(&sl);
    a->seen = true;
    a->dirty = true;
    a->value = value;
    a->severity = r->severity;
    free(a->summary);
    a->summary = alert_render_summary(r->summary, r, &a->labels, value, series, NULL);
    bool fire = a->state == 1 && c->now - a->active_ms >= r->for_ms;
    if (fire) {
        a->state = 2;
        a->fired_ms = c->now;
    }
    if (a->is_new && insert_active(c, a) < 0) {
        c->failed = 1;
        return;
    }
    if (fire) {
        a->hist_id = history(c, a, "firing", NULL);
        c->rep->fired++;
    } else if (a->state == 1 && a->active_ms == c->now) {
        history(c, a, "pending", NULL);
    }
}

static int on_point(const char *series, const char *unit, int64_t ts, double value, void *ud)
{
    evalctx *c = ud;
    if (c->cur_series && strcmp(c->cur_series, series) != 0) {
        process_series(c, c->cur_series, c->cur_value);
        free(c->cur_series);
        c->cur_series = NULL;
    }
    if (!c->cur_series) c->cur_series = xstrdup(series);
    c->cur_value = value; /* points arrive in time order: the last one is the latest */
    return c->failed;
}

static int eval_resource_rule(evalctx *c, const alert_rule *r)
{
    c->rule = r;
    int64_t from = c->now - c->ac->staleness_ms; /* older than staleness: absent */
    if (store_range(c->st, r->metric, from, c->now + 1, 0, on_point, c, c->e) < 0) return -1;
    if (c->cur_series && !c->failed) process_series(c, c->cur_series, c->cur_value);
    free(c->cur_series);
    c->cur_series = NULL;
    return c->failed ? -1 : 0;
}

/* Ends an active alert: a pending one silently, a firing one as resolved. */
static void end_alert(evalctx *c, active *a, const char *detail)
{
    if (a->state == 2) {
        a->hist_id = history(c, a, "resolved", detail);
        a->ends_ms = c->now;
        if (a->notified_ms > 0) a->notify = "resolved";
        c->rep->resolved++;
    } else {
        history(c, a, "inactive", detail);
    }
    a->state = 0;
    a->dirty = true;
}

static int64_t meta_get(evalctx *c, const char *key, int64_t fallback)
{
    sqlite3_stmt *q;
    int64_t v = fallback;
    if (sqlite3_prepare_v2(store_db(c->st), "SELECT value FROM alert_meta WHERE key = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return fallback;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static int meta_set(evalctx *c, const char *key, int64_t v)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(c->st),
                           "INSERT OR REPLACE INTO alert_meta (key, value) VALUES (?, ?)", -1, &q,
                           NULL) != SQLITE_OK)
        return alerts_db_err(c->st, c->e, "cannot save the event cursor");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, v);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : alerts_db_err(c->st, c->e, "cannot save the event cursor");
}

/* An event of type `resolver` ends the alerts of the events it reverses, for the same host. */
static const char *reversed_by(const char *type)
{
    if (strcmp(type, "host_reconnected") == 0) return "host_lost_contact";
    return NULL;
}

static int eval_events(evalctx *c, const alert_event_source *src)
{
    int64_t cursor = meta_get(c, "events.cursor", -1);
    bool first = cursor < 0;
    alert_events ev = {0};
    if (src->fn(src->ud, first ? 0 : cursor, &ev, c->e) < 0) {
        alert_events_free(&ev);
        return -1;
    }
    int64_t max_id = first ? 0 : cursor;
    for (size_t i = 0; i < ev.n && !c->failed; i++) {
        const alert_event *x = &ev.v[i];
        if (x->id > max_id) max_id = x->id;
        c->rep->events_seen++;
        /* the first run starts from the recent past, not from the whole event log */
        int64_t oldest = first ? c->now - c->ac->staleness_ms : c->now - c->ac->event_expiry_ms;
        if (x->ts_ms < oldest) continue;
        const char *rev = reversed_by(x->type);
        for (size_t k = 0; rev && k < c->n; k++) {
            active *a = &c->v[k];
            if (a->state == 0 || strcmp(a->kind, "event") != 0) continue;
            const char *t = alert_labels_get(&a->labels, "event");
            const char *h = alert_labels_get(&a->labels, "host");
            if (t && strcmp(t, rev) == 0 && h && x->host && strcmp(h, x->host) == 0) {
                char *d = xasprintf("%s (event %lld)", x->type, (long long)x->id);
                end_alert(c, a, d);
                free(d);
            }
        }
        const char *result = x->result ? x->result : alert_event_result(x->type);
        for (size_t r = 0; r < c->ac->n_rules; r++) {
            const alert_rule *rule = &c->ac->rules[r];
            if (!rule->enabled || !rule->is_event || strcmp(rule->event, x->type) != 0) continue;
            if (rule->result && strcmp(rule->result, result) != 0) continue;
            alert_labels hl = {0};
            if (x->host) alert_labels_set(&hl, "host", x->host);
            bool ok = in_scope(c, rule, &hl);
            alert_labels_free(&hl);
            if (!ok) continue;
            char subject[64];
            snprintf(subject, sizeof subject, "event:%lld", (long long)x->id);
            char *key = xasprintf("%s\x1f%s", rule->name, subject);
            active *dup = map_find(c, key);
            free(key);
            if (dup) continue;
            active *a = add_active(c, rule->name, subject, "event");
            alert_labels_set(&a->labels, "alertname", rule->name);
            alert_labels_set(&a->labels, "severity", alert_severity_name(rule->severity));
            alert_labels_set(&a->labels, "event", x->type);
            alert_labels_set(&a->labels, "host", x->host ? x->host : c->ac->console_host);
            alert_labels_set(&a->labels, "result", result);
            a->severity = rule->severity;
            a->summary = alert_render_summary(rule->summary, rule, &a->labels, NAN, NULL,
                                              x->detail ? x->detail : "");
            a->state = 2;
            a->active_ms = x->ts_ms;
            a->fired_ms = c->now;
            a->dirty = true;
            a->is_new = true;
            if (insert_active(c, a) < 0) {
                c->failed = 1;
                break;
            }
            a->hist_id = history(c, a, "firing", x->detail);
            c->rep->fired++;
        }
    }
    alert_events_free(&ev);
    if (c->failed) return -1;
    if (max_id != cursor && meta_set(c, "events.cursor", max_id) < 0) return -1;
    return 0;
}

/* --- Notifications ---------------------------------------------------------------------- */

static const strvec *channels_of(const evalctx *c, const char *rule)
{
    const alert_rule *r = alerts_rule_find(c->ac, rule);
    if (r && r->channels.n) return &r->channels;
    return &c->ac->default_channels;
}

static int64_t repeat_of(const evalctx *c, const char *rule)
{
    const alert_rule *r = alerts_rule_find(c->ac, rule);
    return r && r->repeat_ms > 0 ? r->repeat_ms : c->ac->repeat_ms;
}

static bool routed(const alert_channel *ch, const active *a)
{
    if (a->severity < ch->min_severity) return false;
    if (strcmp(a->notify, "resolved") == 0 && !ch->send_resolved) return false;
    return true;
}

/* Whether a notification of a would go to at least one channel. */
static bool has_route(const evalctx *c, const active *a)
{
    const strvec *chs = channels_of(c, a->rule);
    for (size_t i = 0; i < chs->n; i++) {
        const alert_channel *ch = alerts_channel_find(c->ac, chs->v[i]);
        if (ch && routed(ch, a)) return true;
    }
    return false;
}

static void decide_notifications(evalctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        active *a = &c->v[i];
        if (a->state != 2) continue;
        bool silenced = alerts_silenced_by(&c->silences, &a->labels) != 0;
        if (silenced) continue;
        if (a->notified_ms == 0) {
            a->notify = "firing";
        } else if (a->ack_ms == 0 && strcmp(a->kind, "event") != 0 &&
                   c->now - a->notified_ms >= repeat_of(c, a->rule)) {
            a->notify = "repeat";
        }
        if (!a->notify) continue;
        if (!has_route(c, a)) {
            a->notify = NULL; /* nowhere to send: stays unnotified until a channel exists */
            continue;
        }
        if (!a->hist_id) a->hist_id = history(c, a, a->notify[0] == 'f' ? "notify" : "repeat", NULL);
        a->notified_ms = c->now;
        a->dirty = true;
    }
}

/* Alertmanager caps a webhook payload with max_alerts; so does hmctl, at this many. */
enum { MAX_ALERTS_PER_MESSAGE = 1000 };

static json_t *alert_item_json(const evalctx *c, const active *a)
{
    json_t *o = json_object();
    bool resolved = strcmp(a->notify, "resolved") == 0;
    char t[40], v[64];
    json_object_set_new(o, "status", json_string(resolved ? "resolved" : "firing"));
    json_object_set_new(o, "labels", alert_labels_json(&a->labels));
    json_t *ann = json_object();
    json_object_set_new(ann, "summary", json_string(a->summary ? a->summary : ""));
    if (!isnan(a->value)) {
        hm_format_value(a->value, v, sizeof v);
        json_object_set_new(ann, "value", json_string(v));
    }
    if (strcmp(a->kind, "resource") == 0) json_object_set_new(ann, "series", json_string(a->subject));
    snprintf(v, sizeof v, "%lld", (long long)a->id);
    json_object_set_new(ann, "alert_id", json_string(v));
    json_object_set_new(ann, "notification", json_string(a->notify));
    json_object_set_new(o, "annotations", ann);
    alerts_iso_time(a->fired_ms ? a->fired_ms : a->active_ms, t, sizeof t);
    json_object_set_new(o, "startsAt", json_string(t));
    alerts_iso_time(resolved ? a->ends_ms : 0, t, sizeof t);
    json_object_set_new(o, "endsAt", json_string(t));
    json_object_set_new(o, "generatorURL", json_string(""));
    snprintf(v, sizeof v, "%016llx", (unsigned long long)alert_labels_fingerprint(&a->labels));
    json_object_set_new(o, "fingerprint", json_string(v));
    (void)c;
    return o;
}

/* Labels (or annotations) every alert of the group shares. */
static json_t *common_of(json_t *alerts, const char *field)
{
    json_t *common = NULL;
    size_t i;
    json_t *al;
    json_array_foreach(alerts, i, al)
    {
        json_t *m = json_object_get(al, field);
        if (!common) {
            common = json_deep_copy(m);
            continue;
        }
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(common, tmp, k, v)
        {
            json_t *o = json_object_get(m, k);
            if (!o || !json_equal(o, v)) json_object_del(common, k);
        }
    }
    return common ? common : json_object();
}

static int enqueue(evalctx *c)
{
    sqlite3_stmt *ins = NULL, *item = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(store_db(c->st),
                           "INSERT INTO alert_outbox (channel, created_ms, next_ms, payload)"
                           " VALUES (?1, ?2, ?2, ?3)", -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(store_db(c->st),
                           "INSERT OR IGNORE INTO alert_outbox_items (outbox_id, history_id)"
                           " VALUES (?, ?)", -1, &item, NULL) != SQLITE_OK) {
        alerts_db_err(c->st, c->e, "cannot queue notifications");
        goto out;
    }
    for (size_t k = 0; k < c->ac->n_channels; k++) {
        const alert_channel *ch = &c->ac->channels[k];
        json_t *alerts = json_array();
        json_t *ids = json_array();
        size_t total = 0;
        bool any_firing = false;
        for (size_t i = 0; i < c->n; i++) {
            active *a = &c->v[i];
            if (!a->notify || !routed(ch, a) || !sv_contains(channels_of(c, a->rule), ch->name))
                continue;
            total++;
            if (strcmp(a->notify, "resolved") != 0) any_firing = true;
            json_array_append_new(ids, json_integer(a->hist_id));
            if (json_array_size(alerts) < MAX_ALERTS_PER_MESSAGE)
                json_array_append_new(alerts, alert_item_json(c, a));
        }
        if (total == 0) {
            json_decref(alerts);
            json_decref(ids);
            continue;
        }
        json_t *p = json_object();
        json_object_set_new(p, "version", json_string("4"));
        char *gk = xasprintf("{}:{channel=\"%s\"}", ch->name);
        json_object_set_new(p, "groupKey", json_string(gk));
        free(gk);
        json_object_set_new(p, "truncatedAlerts", json_integer((json_int_t)(total - json_array_size(alerts))));
        json_object_set_new(p, "status", json_string(any_firing ? "firing" : "resolved"));
        json_object_set_new(p, "receiver", json_string(ch->name));
        json_object_set_new(p, "groupLabels", json_object());
        json_object_set_new(p, "commonLabels", common_of(alerts, "labels"));
        json_object_set_new(p, "commonAnnotations", common_of(alerts, "annotations"));
        json_object_set_new(p, "externalURL", json_string(""));
        json_object_set_new(p, "alerts", alerts);
        char *text = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, ch->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, c->now);
        sqlite3_bind_text(ins, 3, text, -1, SQLITE_TRANSIENT);
        free(text);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            json_decref(ids);
            alerts_db_err(c->st, c->e, "cannot queue notifications");
            goto out;
        }
        int64_t oid = sqlite3_last_insert_rowid(store_db(c->st));
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id)
        {
            sqlite3_reset(item);
            sqlite3_bind_int64(item, 1, oid);
            sqlite3_bind_int64(item, 2, json_integer_value(id));
            if (sqlite3_step(item) != SQLITE_DONE) {
                json_decref(ids);
                alerts_db_err(c->st, c->e, "cannot queue notifications");
                goto out;
            }
        }
        json_decref(ids);
        c->rep->notifications++;
    }
    rc = 0;
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(item);
    return rc;
}

static int write_back(evalctx *c)
{
    sqlite3_stmt *up = NULL, *del = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(store_db(c->st),
                           "UPDATE alert_state SET state = ?2, value = ?3, summary = ?4,"
                           " fired_ms = ?5, eval_ms = ?6, notified_ms = ?7, severity = ?8"
                           " WHERE id = ?1", -1, &up, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(store_db(c->st), "DELETE FROM alert_state WHERE id = ?", -1, &del,
                           NULL) != SQLITE_OK) {
        alerts_db_err(c->st, c->e, "cannot save the alert state");
        goto out;
    }
    for (size_t i = 0; i < c->n; i++) {
        active *a = &c->v[i];
        if (!a->dirty) continue;
        sqlite3_stmt *s = a->state == 0 ? del : up;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, a->id);
        if (a->state != 0) {
            sqlite3_bind_text(s, 2, a->state == 2 ? "firing" : "pending", -1, SQLITE_STATIC);
            if (isnan(a->value)) sqlite3_bind_null(s, 3);
            else sqlite3_bind_double(s, 3, a->value);
            sqlite3_bind_text(s, 4, a->summary ? a->summary : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 5, a->fired_ms);
            sqlite3_bind_int64(s, 6, c->now);
            sqlite3_bind_int64(s, 7, a->notified_ms);
            sqlite3_bind_text(s, 8, alert_severity_name(a->severity), -1, SQLITE_STATIC);
        }
        if (sqlite3_step(s) != SQLITE_DONE) {
            alerts_db_err(c->st, c->e, "cannot save the alert state");
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(up);
    sqlite3_finalize(del);
    return rc;
}

int alerts_evaluate(hm_store *st, const alert_conf *ac, const alert_event_source *events,
                    int64_t now_ms, alert_eval_report *rep, hm_err *e)
{
    alert_eval_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if (alerts_migrate(st, e) < 0) return -1;
    evalctx c = {.st = st, .ac = ac, .now = now_ms, .rep = rep, .e = e};
    if (alerts_exec(st, "BEGIN IMMEDIATE", e) < 0)
        return hm_err_prefix(e, "cannot evaluate the alert rules");
    int rc = -1;
    map_rebuild(&c);
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT INTO alert_history (ts_ms, alert_id, rule, subject, labels,"
                           " severity, event, value, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                           " ?8, ?9)", -1, &c.hist, NULL) != SQLITE_OK) {
        alerts_db_err(st, e, "cannot record alert history");
        goto out;
    }
    if (load_actives(&c) < 0 || alerts_silences_load(st, now_ms, &c.silences, e) < 0) goto out;
    size_t loaded = c.n;
    for (size_t i = 0; i < ac->n_rules; i++) {
        const alert_rule *r = &ac->rules[i];
        if (!r->enabled || r->is_event) continue;
        if (eval_resource_rule(&c, r) < 0) goto out;
    }
    /* what held before and not now ends; so do alerts of rules no longer configured */
    for (size_t i = 0; i < loaded; i++) {
        active *a = &c.v[i];
        const alert_rule *r = alerts_rule_find(ac, a->rule);
        if (!r || !r->enabled) {
            end_alert(&c, a, "the rule is no longer configured");
        } else if (strcmp(a->kind, "resource") == 0 && !a->seen) {
            end_alert(&c, a, NULL);
        } else if (strcmp(a->kind, "event") == 0 && a->active_ms < now_ms - ac->event_expiry_ms) {
            history(&c, a, "expired", NULL);
            a->state = 0;
            a->dirty = true;
        }
    }
    if (c.failed) goto out;
    if (events && events->fn && eval_events(&c, events) < 0) goto out;
    decide_notifications(&c);
    if (c.failed || enqueue(&c) < 0 || write_back(&c) < 0) goto out;
    for (size_t i = 0; i < c.n; i++) {
        if (c.v[i].state == 1) rep->pending++;
        if (c.v[i].state == 2) rep->firing++;
    }
    if (alerts_exec(st, "COMMIT", e) < 0) goto out;
    rc = 0;
out:
    if (rc < 0) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(c.hist);
    alerts_silences_free(&c.silences);
    free(c.cur_series);
    free_actives(&c);
    return rc;
}
