/* Alert rules, timing, state, silences, acknowledgements, the outbox and the message formats,
 * on a real store with a pinned clock: every time is passed in, nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <cmocka.h>

#include "alerts/alerts.h"
#include "lib/clock.h"

static char dir[64];
static const int64_t T0 = 1767225600000LL; /* 2026-01-01T00:00:00Z */
static const int64_t MIN = 60000;

static int setup(void **state)
{
    strcpy(dir, "/tmp/hmctl-alerts-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

static hm_store *open_store(const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    hm_store *st;
    hm_err e = {{0}};
    assert_int_equal(store_open(path, 0, &st, &e), 0);
    free(path);
    return st;
}

static hm_config *conf(const char *text)
{
    hm_config *c = config_new();
    config_parse_text(c, "test.conf", text, 0600);
    for (size_t i = 0; i < c->errors.n; i++) fprintf(stderr, "%s\n", c->errors.v[i]);
    assert_int_equal(c->errors.n, 0);
    return c;
}

static alert_conf *load(const hm_config *c)
{
    strvec errors = {0};
    alert_conf *ac = alerts_conf_load(c, &errors);
    for (size_t i = 0; i < errors.n; i++) fprintf(stderr, "%s\n", errors.v[i]);
    assert_int_equal(errors.n, 0);
    sv_free(&errors);
    return ac;
}

static void put(hm_store *st, const char *series, double v, int64_t ts)
{
    hm_sample s = {(char *)series, v, "percent", ts};
    hm_err e = {{0}};
    assert_int_equal(store_append(st, &s, 1, &e), 0);
}

static alert_eval_report eval(hm_store *st, const alert_conf *ac, int64_t now)
{
    alert_eval_report rep;
    hm_err e = {{0}};
    int rc = alerts_evaluate(st, ac, NULL, now, &rep, &e);
    if (rc < 0) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    return rep;
}

/* A sender standing in for the receivers: records what it accepted, or refuses. */
typedef struct fake {
    int fail;       /* refuse while non-zero */
    int sent;
    strvec channels;
    strvec statuses; /* payload status of each accepted message */
    int alerts;      /* alerts in the last accepted message */
    int64_t last_id;
} fake;

static int fake_send(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
                     int *progress, strbuf *answer, hm_err *e, void *ud)
{
    fake *f = ud;
    if (f->fail) return hm_err_set(e, "%s: connection refused", ch->url);
    f->sent++;
    sv_push(&f->channels, ch->name);
    sv_push(&f->statuses, json_string_value(json_object_get(msg->payload, "status")));
    f->alerts = (int)json_array_size(json_object_get(msg->payload, "alerts"));
    f->last_id = msg->id;
    sb_adds(answer, "ok");
    return 0;
}

static alert_deliver_report deliver(hm_store *st, const alert_conf *ac, int64_t now, fake *f)
{
    alert_deliver_report rep;
    hm_err e = {{0}};
    assert_int_equal(alerts_deliver(st, ac, now, fake_send, f, &rep, &e), 0);
    return rep;
}

static void fake_free(fake *f)
{
    sv_free(&f->channels);
    sv_free(&f->statuses);
}

static const char *HOOK = "[alerts]\nchannels = hook\n"
                          "[channel \"hook\"]\ntype = webhook\nurl = http://127.0.0.1:9/\n";

/* --- timing ---------------------------------------------------------------------------- */

/* The default CPU rule (>= 80 for 5m), evaluated every minute over a value of 90 from t0:
 * pending from the first evaluation, firing at the first evaluation with now - start >= 5m,
 * i.e. at t0 + 5m, not earlier and only once. */
static void test_for_fires_at_five_minutes(void **state)
{
    hm_store *st = open_store("for.db");
    hm_config *c = conf("");
    alert_conf *ac = load(c);
    int fired_at = -1, fired_count = 0;
    for (int m = 0; m <= 10; m++) {
        put(st, "host.cpu.percent", 90, T0 + m * MIN);
        alert_eval_report r = eval(st, ac, T0 + m * MIN);
        if (r.fired) {
            fired_at = m;
            fired_count += r.fired;
        }
        if (m < 5) {
            assert_int_equal(r.pending, 1);
            assert_int_equal(r.firing, 0);
        } else {
            assert_int_equal(r.firing, 1);
            assert_int_equal(r.pending, 0);
        }
    }
    assert_int_equal(fired_at, 5);
    assert_int_equal(fired_count, 1);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* One evaluation below the threshold ends the pending alert; the clock restarts at the next
 * evaluation above it: 90 at 0-2m, 50 at 3m, 90 from 4m: firing at 9m. */
static void test_dip_restarts_the_clock(void **state)
{
    hm_store *st = open_store("dip.db");
    hm_config *c = conf("");
    alert_conf *ac = load(c);
    int fired_at = -1;
    for (int m = 0; m <= 12; m++) {
        put(st, "host.cpu.percent", m == 3 ? 50 : 90, T0 + m * MIN);
        alert_eval_report r = eval(st, ac, T0 + m * MIN);
        if (m == 3) assert_int_equal(r.pending + r.firing, 0);
        if (r.fired) {
            assert_int_equal(fired_at, -1);
            fired_at = m;
        }
    }
    assert_int_equal(fired_at, 9);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* A cron run that did not happen does not reset the clock: pending at 0, the next evaluation
 * at 7m (samples kept arriving) fires. */
static void test_missed_run_keeps_pending(void **state)
{
    hm_store *st = open_store("missed.db");
    hm_config *c = conf("");
    alert_conf *ac = load(c);
    put(st, "host.cpu.percent", 95, T0);
    assert_int_equal(eval(st, ac, T0).pending, 1);
    put(st, "host.cpu.percent", 95, T0 + 7 * MIN);
    alert_eval_report r = eval(st, ac, T0 + 7 * MIN);
    assert_int_equal(r.fired, 1);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* A sample older than [alerts] staleness is absent, not true: a firing alert resolves. */
static void test_stale_sample_is_absent(void **state)
{
    hm_store *st = open_store("stale.db");
    hm_config *c = conf("[alerts]\nstaleness = 2m\n[rule \"host-cpu\"]\nfor = 0\n");
    alert_conf *ac = load(c);
    put(st, "host.cpu.percent", 95, T0);
    assert_int_equal(eval(st, ac, T0).fired, 1);
    assert_int_equal(eval(st, ac, T0 + 2 * MIN).firing, 1); /* exactly 2m old: present */
    alert_eval_report r = eval(st, ac, T0 + 2 * MIN + 1);
    assert_int_equal(r.resolved, 1);
    assert_int_equal(r.firing, 0);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* Firing sends one notification, resolution exactly one resolved notification, and nothing
 * more follows. */
static void test_resolution_sends_one_resolved(void **state)
{
    hm_store *st = open_store("resolve.db");
    hm_config *c = conf(HOOK);
    alert_conf *ac = load(c);
    fake f = {0};
    for (int m = 0; m <= 12; m++) {
        put(st, "host.cpu.percent", m < 8 ? 90 : 20, T0 + m * MIN);
        eval(st, ac, T0 + m * MIN);
        deliver(st, ac, T0 + m * MIN, &f);
        if (m == 5) {
            assert_int_equal(f.sent, 1);
            assert_string_equal(f.statuses.v[0], "firing");
        }
    }
    assert_int_equal(f.sent, 2);
    assert_string_equal(f.statuses.v[1], "resolved");
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* A pending alert that ends never notifies. */
static void test_pending_never_notifies(void **state)
{
    hm_store *st = open_store("pending.db");
    hm_config *c = conf(HOOK);
    alert_conf *ac = load(c);
    fake f = {0};
    for (int m = 0; m <= 8; m++) {
        put(st, "host.cpu.percent", m < 4 ? 90 : 20, T0 + m * MIN);
        eval(st, ac, T0 + m * MIN);
        deliver(st, ac, T0 + m * MIN, &f);
    }
    assert_int_equal(f.sent, 0);
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* --- grouping, repeats, acknowledgements, silences ------------------------------------- */

/* 200 hosts firing in one cycle: one message per channel, carrying all 200. */
static void test_grouping_one_message_per_channel(void **state)
{
    hm_store *st = open_store("group.db");
    hm_config *c = conf("[alerts]\nchannels = hook, mail\n"
                        "[channel \"hook\"]\ntype = webhook\nurl = http://127.0.0.1:9/\n"
                        "[channel \"mail\"]\ntype = smtp\nurl = smtp://127.0.0.1:9\n"
                        "from = hmctl@example.com\nto = ops@example.com\n"
                        "[rule \"host-cpu\"]\nfor = 0\n");
    alert_conf *ac = load(c);
    hm_sample *s = xcalloc(200, sizeof(hm_sample));
    for (int i = 0; i < 200; i++) {
        char host[32];
        snprintf(host, sizeof host, "proxy-%03d", i);
        s[i] = (hm_sample){hm_series("host.cpu.percent", "host", host, NULL), 99, "percent", T0};
    }
    hm_err e = {{0}};
    assert_int_equal(store_append(st, s, 200, &e), 0);
    for (int i = 0; i < 200; i++) free(s[i].series);
    free(s);
    alert_eval_report r = eval(st, ac, T0);
    assert_int_equal(r.fired, 200);
    assert_int_equal(r.notifications, 2);
    fake f = {0};
    alert_deliver_report d = deliver(st, ac, T0, &f);
    assert_int_equal(d.delivered, 2);
    assert_int_equal(f.sent, 2);
    assert_int_equal(f.alerts, 200);
    assert_true(sv_contains(&f.channels, "hook"));
    assert_true(sv_contains(&f.channels, "mail"));
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

static int64_t first_alert_id(hm_store *st, int64_t now)
{
    json_t *arr;
    hm_err e = {{0}};
    assert_int_equal(alerts_list_json(st, now, &arr, &e), 0);
    assert_true(json_array_size(arr) > 0);
    int64_t id = json_integer_value(json_object_get(json_array_get(arr, 0), "id"));
    json_decref(arr);
    return id;
}

/* Repeat every [alerts] repeat while firing and not acknowledged; an acknowledgement stops the
 * repeats, not the resolved notification. */
static void test_repeat_and_ack(void **state)
{
    hm_store *st = open_store("repeat.db");
    char *text = xasprintf("%s[alerts]\nrepeat = 1h\n[rule \"host-cpu\"]\nfor = 0\n", HOOK);
    hm_config *c = conf(text);
    free(text);
    alert_conf *ac = load(c);
    fake f = {0};
    int64_t t = T0;
    for (; t <= T0 + 90 * MIN; t += 10 * MIN) {
        put(st, "host.cpu.percent", 90, t);
        eval(st, ac, t);
        deliver(st, ac, t, &f);
    }
    assert_int_equal(f.sent, 2); /* at 0 and at 60m */
    hm_err e = {{0}};
    assert_int_equal(alerts_ack(st, first_alert_id(st, t), "ops", "disk cleaned, load back", t, &e),
                     0);
    for (; t <= T0 + 300 * MIN; t += 10 * MIN) {
        put(st, "host.cpu.percent", 90, t);
        eval(st, ac, t);
        deliver(st, ac, t, &f);
    }
    assert_int_equal(f.sent, 2);
    put(st, "host.cpu.percent", 10, t);
    eval(st, ac, t);
    deliver(st, ac, t, &f);
    assert_int_equal(f.sent, 3);
    assert_string_equal(f.statuses.v[2], "resolved");
    /* the acknowledgement is in the history with its note */
    json_t *h;
    assert_int_equal(alerts_history_json(st, 0, 0, &h, &e), 0);
    bool acked = false;
    size_t i;
    json_t *x;
    json_array_foreach(h, i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "event")), "acknowledged") == 0) {
            acked = true;
            assert_string_equal(json_string_value(json_object_get(x, "detail")),
                                "by ops: disk cleaned, load back");
        }
    }
    assert_true(acked);
    json_decref(h);
    /* nothing active is left to acknowledge */
    assert_int_equal(alerts_ack(st, 1, "ops", "x", t, &e), -1);
    assert_non_null(strstr(e.msg, "no active alert 1"));
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* A silenced alert is not notified; when the silence ends it is, once. */
static void test_silence(void **state)
{
    hm_store *st = open_store("silence.db");
    char *text = xasprintf("%s[rule \"host-cpu\"]\nfor = 0\n", HOOK);
    hm_config *c = conf(text);
    free(text);
    alert_conf *ac = load(c);
    strvec m = {0};
    sv_push(&m, "rule=host-cpu");
    sv_push(&m, "host=~\"cons.*\"");
    int64_t sid;
    hm_err e = {{0}};
    assert_int_equal(alerts_silence_add(st, &m, 30 * MIN, "ops", "maintenance", T0, &sid, &e), 0);
    sv_free(&m);
    fake f = {0};
    for (int k = 0; k < 3; k++) {
        put(st, "host.cpu.percent", 90, T0 + k * MIN);
        eval(st, ac, T0 + k * MIN);
        deliver(st, ac, T0 + k * MIN, &f);
    }
    assert_int_equal(f.sent, 0);
    json_t *arr;
    assert_int_equal(alerts_list_json(st, T0 + 2 * MIN, &arr, &e), 0);
    assert_true(json_is_true(json_object_get(json_array_get(arr, 0), "silenced")));
    json_decref(arr);
    assert_int_equal(alerts_silence_remove(st, sid, T0 + 3 * MIN, &e), 0);
    assert_int_equal(alerts_silence_remove(st, sid, T0 + 3 * MIN, &e), -1);
    for (int k = 3; k < 6; k++) {
        put(st, "host.cpu.percent", 90, T0 + k * MIN);
        eval(st, ac, T0 + k * MIN);
        deliver(st, ac, T0 + k * MIN, &f);
    }
    assert_int_equal(f.sent, 1);
    /* a bad matcher is refused */
    strvec bad = {0};
    sv_push(&bad, "host=~\"(\"");
    assert_int_equal(alerts_silence_add(st, &bad, MIN, "ops", "x", T0, &sid, &e), -1);
    assert_non_null(strstr(e.msg, "regular expression"));
    sv_free(&bad);
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* --- the outbox ------------------------------------------------------------------------ */

/* A refused message is retried with backoff doubling from retry_backoff; once accepted it is
 * marked delivered and never sent again. */
static void test_retry_backoff_then_once(void **state)
{
    hm_store *st = open_store("retry.db");
    char *text = xasprintf("%s[alerts]\nretry_backoff = 30s\n[rule \"host-cpu\"]\nfor = 0\n", HOOK);
    hm_config *c = conf(text);
    free(text);
    alert_conf *ac = load(c);
    put(st, "host.cpu.percent", 90, T0);
    eval(st, ac, T0);
    fake f = {.fail = 1};
    assert_int_equal(deliver(st, ac, T0, &f).failed, 1);
    assert_int_equal(deliver(st, ac, T0 + 29000, &f).failed, 0);   /* not due yet */
    assert_int_equal(deliver(st, ac, T0 + 30000, &f).failed, 1);   /* 2nd attempt */
    assert_int_equal(deliver(st, ac, T0 + 89000, &f).failed, 0);   /* next after 60 s */
    assert_int_equal(deliver(st, ac, T0 + 90000, &f).failed, 1);
    f.fail = 0;
    assert_int_equal(deliver(st, ac, T0 + 209999, &f).delivered, 0); /* after 120 s */
    assert_int_equal(deliver(st, ac, T0 + 210000, &f).delivered, 1);
    assert_int_equal(deliver(st, ac, T0 + 999999, &f).delivered, 0);
    assert_int_equal(f.sent, 1);
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* A message still refused when older than retry_for is dead, counted for status and shown in
 * the history. */
static void test_dead_after_retry_for(void **state)
{
    hm_store *st = open_store("dead.db");
    char *text = xasprintf("%s[alerts]\nretry_for = 10m\nretry_backoff = 1m\n"
                           "[rule \"host-cpu\"]\nfor = 0\n", HOOK);
    hm_config *c = conf(text);
    free(text);
    alert_conf *ac = load(c);
    put(st, "host.cpu.percent", 90, T0);
    eval(st, ac, T0);
    fake f = {.fail = 1};
    int dead = 0;
    for (int m = 0; m <= 20; m++) dead += deliver(st, ac, T0 + m * MIN, &f).dead;
    assert_int_equal(dead, 1);
    hm_err e = {{0}};
    assert_int_equal(alerts_dead_count(st, T0, &e), 1);
    json_t *h;
    assert_int_equal(alerts_history_json(st, 0, 0, &h, &e), 0);
    json_t *n = json_array_get(json_object_get(json_array_get(h, 0), "notifications"), 0);
    assert_string_equal(json_string_value(json_object_get(n, "status")), "dead");
    assert_non_null(strstr(json_string_value(json_object_get(n, "error")), "connection refused"));
    json_decref(h);
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* Enqueued then the process dies before delivering: the next process delivers it. A message
 * leased by a process that died waits for the lease to run out, then goes out once. */
static void test_crash_loses_nothing(void **state)
{
    hm_store *st = open_store("crash.db");
    char *text = xasprintf("%s[rule \"host-cpu\"]\nfor = 0\n", HOOK);
    hm_config *c = conf(text);
    free(text);
    alert_conf *ac = load(c);
    put(st, "host.cpu.percent", 90, T0);
    eval(st, ac, T0);
    store_close(st);
    st = open_store("crash.db");
    /* a run that claimed it and died */
    char *err = NULL;
    char *sql = xasprintf("UPDATE alert_outbox SET lease_ms = %lld", (long long)(T0 + 5 * MIN));
    assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, &err), SQLITE_OK);
    free(sql);
    fake f = {0};
    assert_int_equal(deliver(st, ac, T0 + MIN, &f).delivered, 0);
    assert_int_equal(deliver(st, ac, T0 + 5 * MIN, &f).delivered, 1);
    assert_int_equal(deliver(st, ac, T0 + 6 * MIN, &f).delivered, 0);
    assert_int_equal(f.sent, 1);
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* After a failure on a channel, its other messages wait for the next run (a dead server is
 * not tried again and again in one run); other channels go on. */
static void test_failed_channel_defers_the_rest(void **state)
{
    hm_store *st = open_store("defer.db");
    char *text = xasprintf("%s[rule \"host-cpu\"]\nfor = 0\n", HOOK);
    hm_config *c = conf(text);
    free(text);
    alert_conf *ac = load(c);
    put(st, "host.cpu.percent", 90, T0);
    eval(st, ac, T0);
    put(st, "host.cpu.percent", 10, T0 + MIN);
    eval(st, ac, T0 + MIN);
    fake f = {.fail = 1};
    alert_deliver_report d = deliver(st, ac, T0 + MIN, &f);
    assert_int_equal(d.failed, 1);
    assert_int_equal(d.deferred, 1);
    f.fail = 0;
    d = deliver(st, ac, T0 + 10 * MIN, &f);
    assert_int_equal(d.delivered, 2);
    assert_string_equal(f.statuses.v[0], "firing");
    assert_string_equal(f.statuses.v[1], "resolved");
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* --- events ------------------------------------------------------------------------------ */

static void insert_event(hm_store *st, int64_t ts, const char *host, const char *type,
                         const char *source)
{
    char *sql = sqlite3_mprintf("INSERT INTO console_events (ts_ms, console, host_id, host_name,"
                                " type, source, detail) VALUES (%lld, '', %Q, %Q, %Q, %Q,"
                                " 'job 7 failed')",
                                (long long)ts, host, host, type, source);
    assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
}

/* Event rules over the store's console_events (the console collector's table): each new event
 * fires once, the cursor keeps a later run from firing it again, host_reconnected resolves the
 * lost contact of the same host. */
static void test_event_rules_from_store(void **state)
{
    hm_store *st = open_store("events.db");
    char *text = xasprintf("%s", HOOK);
    hm_config *c = conf(text);
    free(text);
    alert_conf *ac = load(c);
    assert_int_equal(sqlite3_exec(store_db(st),
                                  "CREATE TABLE console_events (id INTEGER PRIMARY KEY,"
                                  " ts_ms INTEGER NOT NULL, console TEXT NOT NULL, host_id TEXT"
                                  " NOT NULL, host_name TEXT, type TEXT NOT NULL, source TEXT NOT"
                                  " NULL, detail TEXT, UNIQUE (console, host_id, type, source))",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    alert_event_source src = {alert_events_from_store, st};
    hm_err e = {{0}};
    alert_eval_report r;
    /* no events yet: the first run records the cursor */
    assert_int_equal(alerts_evaluate(st, ac, &src, T0, &r, &e), 0);
    insert_event(st, T0 + MIN, "web-1", "sync_failed", "job:7");
    insert_event(st, T0 + MIN, "web-2", "host_lost_contact", "poll:1");
    insert_event(st, T0 + MIN, "web-3", "host_reconnected", "poll:1"); /* no rule */
    assert_int_equal(alerts_evaluate(st, ac, &src, T0 + 2 * MIN, &r, &e), 0);
    assert_int_equal(r.fired, 2);
    assert_int_equal(r.firing, 2);
    assert_int_equal(alerts_evaluate(st, ac, &src, T0 + 3 * MIN, &r, &e), 0);
    assert_int_equal(r.fired, 0);
    assert_int_equal(r.firing, 2);
    insert_event(st, T0 + 4 * MIN, "web-2", "host_reconnected", "poll:2");
    assert_int_equal(alerts_evaluate(st, ac, &src, T0 + 4 * MIN, &r, &e), 0);
    assert_int_equal(r.resolved, 1);
    assert_int_equal(r.firing, 1);
    fake f = {0};
    deliver(st, ac, T0 + 4 * MIN, &f);
    /* firing of both (one grouped message), then the resolved lost contact */
    assert_int_equal(f.sent, 2);
    /* an event alert nobody resolves is closed after event_expiry, silently */
    assert_int_equal(alerts_evaluate(st, ac, &src, T0 + 25 * 60 * MIN, &r, &e), 0);
    assert_int_equal(r.firing, 0);
    assert_int_equal(r.notifications, 0);
    fake_free(&f);
    alerts_conf_free(ac);
    config_free(c);
    store_close(st);
}

/* --- configuration ------------------------------------------------------------------------ */

static bool has_error(const strvec *errors, const char *needle)
{
    for (size_t i = 0; i < errors->n; i++)
        if (strstr(errors->v[i], needle)) return true;
    return false;
}

static void test_config_errors_name_file_and_line(void **state)
{
    hm_config *c = config_new();
    config_parse_text(c, "bad.conf",
                      "[alerts]\n"                                   /* 1 */
                      "channels = mail, ghost\n"                     /* 2 */
                      "[channel \"mail\"]\n"                         /* 3 */
                      "type = smtp\n"                                /* 4 */
                      "url = http://mail.example.com\n"              /* 5 */
                      "[channel \"hook\"]\n"                         /* 6 */
                      "type = webhook\n"                             /* 7 */
                      "[rule \"cpu\"]\n"                             /* 8 */
                      "metric = host.cpu.precent\n"                  /* 9 */
                      "threshold = 80\n"                             /* 10 */
                      "[rule \"ev\"]\n"                              /* 11 */
                      "event = sync_faild\n"                         /* 12 */
                      "[rule \"none\"]\n"                            /* 13 */
                      "severity = critical\n"                        /* 14 */
                      "[rule \"q\"]\n"                               /* 15 */
                      "metric = rabbitmq.queue.messages{queue=~\"(\"}\n" /* 16 */
                      "threshold = 1\n"
                      "[rule \"noth\"]\n"                            /* 18 */
                      "metric = host.memory.percent\n",
                      0600);
    strvec errors = {0};
    alerts_config_check(c, &errors);
    for (size_t i = 0; i < errors.n; i++) fprintf(stderr, "  %s\n", errors.v[i]);
    assert_true(has_error(&errors, "bad.conf:2: [alerts] channels: no [channel \"ghost\"]"));
    assert_true(has_error(&errors, "bad.conf:5: [channel \"mail\"] url 'http://mail.example.com'"));
    assert_true(has_error(&errors, "bad.conf:3: [channel \"mail\"] (smtp) has no recipient"));
    assert_true(has_error(&errors, "bad.conf:6: [channel \"hook\"] (webhook) has no address"));
    assert_true(has_error(&errors, "bad.conf:9: [rule \"cpu\"] unknown metric 'host.cpu.precent' "
                                   "(did you mean 'host.cpu.percent'?"));
    assert_true(has_error(&errors, "bad.conf:12: [rule \"ev\"] unknown event type 'sync_faild' "
                                   "(did you mean 'sync_failed'?)"));
    assert_true(has_error(&errors, "bad.conf:13: [rule \"none\"] has neither 'metric' nor 'event'"));
    assert_true(has_error(&errors, "bad.conf:16: [rule \"q\"] invalid matcher"));
    assert_true(has_error(&errors, "bad.conf:18: [rule \"noth\"] has no 'threshold'"));
    sv_free(&errors);
    /* a bad comparison is the schema's: it too names file and line */
    config_parse_text(c, "op.conf", "[rule \"x\"]\nmetric = host.cpu.percent\nop = =>\n", 0600);
    assert_true(has_error(&c->errors, "op.conf:3: invalid value '=>' for 'op'"));
    config_free(c);
}

/* Overrides change a default key by key; `enabled = no` disables it; the origin says so. */
static void test_defaults_and_overrides(void **state)
{
    hm_config *c = conf("[rule \"host-cpu\"]\nthreshold = 95\n"
                        "[rule \"rabbitmq-queue\"]\nenabled = no\n"
                        "[rule \"disk-log\"]\nmetric = disk.used.percent{path=\"/var/log\"}\n"
                        "op = >\nthreshold = 90\nfor = 10m\nscope = console\n");
    alert_conf *ac = load(c);
    const alert_rule *cpu = alerts_rule_find(ac, "host-cpu");
    assert_non_null(cpu);
    assert_true(cpu->threshold == 95);
    assert_int_equal(cpu->for_ms, 5 * MIN);
    assert_int_equal(cpu->severity, ALERT_CRITICAL);
    assert_string_equal(cpu->origin, "default, overridden at test.conf:1");
    assert_false(alerts_rule_find(ac, "rabbitmq-queue")->enabled);
    const alert_rule *d = alerts_rule_find(ac, "disk-log");
    assert_non_null(d);
    assert_int_equal(d->op, ALERT_GT);
    assert_string_equal(d->origin, "test.conf:5");
    const alert_rule *ev = alerts_rule_find(ac, "sync-failed");
    assert_true(ev->is_event);
    assert_string_equal(ev->result, "failed");
    /* the seed's table: 5 resource and 3 event defaults */
    assert_int_equal(ac->n_rules, 9);
    alerts_conf_free(ac);
    config_free(c);
}

/* --- formats ------------------------------------------------------------------------------ */

static char *b64decode(const char *s)
{
    size_t n = strlen(s);
    unsigned char *out = xmalloc(n + 1);
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    while (len > 0 && n > 0 && s[n - 1] == '=') {
        len--;
        n--;
    }
    out[len] = '\0';
    return (char *)out;
}

/* RFC 2047: encoded words of at most 75 characters, whole UTF-8 characters in each. */
static void test_rfc2047_subject(void **state)
{
    const char *subject = "[hmctl] FIRING critical: 主机 proxy-1 的 CPU 使用率 92%，持续 5 分钟"
                          "，请尽快处理（灾备控制台告警）";
    char *enc = alert_mime_encode_header(subject);
    strbuf joined = {0};
    char *copy = xstrdup(enc);
    for (char *save = NULL, *w = strtok_r(copy, "\r\n ", &save); w;
         w = strtok_r(NULL, "\r\n ", &save)) {
        assert_true(strlen(w) <= 75);
        assert_true(hm_starts_with(w, "=?UTF-8?B?"));
        size_t n = strlen(w);
        assert_string_equal(w + n - 2, "?=");
        char *b = xstrndup(w + 10, n - 12);
        char *d = b64decode(b);
        /* each word decodes to whole characters: it does not end inside one */
        size_t dl = strlen(d);
        assert_true(dl > 0);
        unsigned char last = (unsigned char)d[dl - 1];
        assert_true(last < 0x80 || (last & 0xc0) == 0x80);
        sb_adds(&joined, d);
        free(b);
        free(d);
    }
    assert_string_equal(sb_str(&joined), subject);
    sb_free(&joined);
    free(copy);
    free(enc);
    char *ascii = alert_mime_encode_header("[hmctl] FIRING critical: CPU at 92%");
    assert_string_equal(ascii, "[hmctl] FIRING critical: CPU at 92%");
    free(ascii);
}

static void test_mime_message(void **state)
{
    strvec to = {0};
    sv_push(&to, "ops@example.com");
    sv_push(&to, "Duty <duty@example.com>");
    char *m = alert_mime_message("hmctl@example.com", &to, "告警", "第一行\n第二行\n", T0 + 5 * MIN,
                                 "<hmctl.1.2@host>");
    assert_non_null(strstr(m, "Date: Thu, 01 Jan 2026 00:05:00 +0000\r\n"));
    assert_non_null(strstr(m, "To: ops@example.com,\r\n Duty <duty@example.com>\r\n"));
    assert_non_null(strstr(m, "Subject: =?UTF-8?B?5ZGK6K2m?=\r\n"));
    assert_non_null(strstr(m, "Content-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strstr(m, "Content-Transfer-Encoding: base64\r\n"));
    char *body = strstr(m, "\r\n\r\n") + 4;
    char *b = xstrndup(body, strcspn(body, "\r"));
    char *d = b64decode(b);
    assert_string_equal(d, "第一行\r\n第二行\r\n");
    free(b);
    free(d);
    free(m);
    sv_free(&to);
}

static void test_signatures(void **state)
{
    char hex[65];
    /* RFC 4231 test case 2 */
    alert_hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* computed independently with Python's hmac, as DingTalk's and Feishu's docs describe */
    char *s = alert_dingtalk_sign("SECtest123", 1767225600000LL);
    assert_string_equal(s, "Vuos0YZC3RgZ98bfoFaXo3ubzavLov5RxX9%2BLuoVIXg%3D");
    free(s);
    s = alert_feishu_sign("SECtest123", 1767225600LL);
    assert_string_equal(s, "Ms4nF0ItywcIAnTbnUbqDwyx4JAwmHIlAYBA7Wt3IDY=");
    free(s);
}

static void test_truncate_marks_the_cut(void **state)
{
    char *t = alert_truncate_chars("主机失联告警", 4);
    assert_string_equal(t, "主机失\xe2\x80\xa6");
    free(t);
    t = alert_truncate_chars("主机失联", 4);
    assert_string_equal(t, "主机失联");
    free(t);
}

static void test_labels_and_matchers(void **state)
{
    alert_labels l = {0};
    char *metric = NULL;
    assert_int_equal(alert_labels_parse_series("rabbitmq.queue.messages{queue=\"hm.tasks\","
                                               "vhost=\"a\\\"b\"}", &metric, &l), 0);
    assert_string_equal(metric, "rabbitmq.queue.messages");
    assert_string_equal(alert_labels_get(&l, "vhost"), "a\"b");
    char *f = alert_labels_format(&l);
    assert_string_equal(f, "{queue=\"hm.tasks\",vhost=\"a\\\"b\"}");
    free(f);
    alert_matchers m = {0};
    char *name = NULL;
    hm_err e = {{0}};
    assert_int_equal(alert_selector_parse("rabbitmq.queue.messages{queue=~\"hm\\\\..*\", "
                                          "host!=\"x\"}", &name, &m, &e), 0);
    assert_string_equal(name, "rabbitmq.queue.messages");
    assert_true(alert_matchers_match(&m, &l));
    alert_labels_set(&l, "host", "x");
    assert_false(alert_matchers_match(&m, &l));
    assert_int_equal(alert_selector_parse("a{b=\"c\"", &metric, &m, &e), -1);
    assert_non_null(strstr(e.msg, "missing '}'"));
    alert_matchers_free(&m);
    alert_labels_free(&l);
    free(metric);
    free(name);
    /* the Prometheus fingerprint: FNV-1a 64 of name \xff value \xff ... */
    alert_labels p = {0};
    alert_labels_set(&p, "alertname", "x");
    uint64_t fp = alert_labels_fingerprint(&p);
    uint64_t h = 14695981039346656037ULL;
    const char bytes[] = "alertname\xffx\xff";
    for (size_t i = 0; i < sizeof bytes - 1; i++) {
        h ^= (unsigned char)bytes[i];
        h *= 1099511628211ULL;
    }
    assert_true(fp == h);
    alert_labels_free(&p);
}

static void test_summary_template(void **state)
{
    hm_config *c = conf("");
    alert_conf *ac = load(c);
    alert_labels l = {0};
    alert_labels_set(&l, "queue", "hm.tasks");
    alert_labels_set(&l, "host", "console");
    char *s = alert_render_summary(alerts_rule_find(ac, "rabbitmq-queue")->summary,
                                   alerts_rule_find(ac, "rabbitmq-queue"), &l, 12, NULL, NULL);
    assert_string_equal(s, "12 messages waiting in RabbitMQ queue hm.tasks on console");
    free(s);
    s = alert_render_summary("{nope} {value}", alerts_rule_find(ac, "host-cpu"), &l, 92.35, NULL,
                             NULL);
    assert_string_equal(s, "{nope} 92.3");
    free(s);
    alert_labels_free(&l);
    alerts_conf_free(ac);
    config_free(c);
}

/* --- rule test files ------------------------------------------------------------------- */

static void test_rule_file(void **state)
{
    hm_err e = {{0}};
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_int_equal(alerts_test_file(FIXTURES "/alerts/cpu.rules", NULL, f, &e), 0);
    fclose(f);
    assert_non_null(strstr(out, "3 tests, 12 checks, 0 failed"));
    free(out);
    /* a wrong expectation fails and shows expected vs got */
    char *path = xasprintf("%s/wrong.rules", dir);
    FILE *w = fopen(path, "w");
    fputs("[rule \"host-cpu\"]\nmetric = host.cpu.percent\nthreshold = 80\nfor = 5m\n"
          "[test \"early\"]\nseries host.cpu.percent = 90x10\nfiring 4m = host-cpu\n", w);
    fclose(w);
    f = open_memstream(&out, &len);
    assert_int_equal(alerts_test_file(path, NULL, f, &e), 1);
    fclose(f);
    assert_non_null(strstr(out, "wrong.rules:7: test \"early\": firing alerts at 4m differ\n"
                                "  expected: host-cpu\n  got:      (none)\n"));
    free(out);
    /* a malformed line names file and line */
    w = fopen(path, "w");
    fputs("[rule \"a\"]\nmetric = host.cpu.percent\nthreshold = 1\n[test \"t\"]\n"
          "series host.cpu.percent = 1 2 banana\n", w);
    fclose(w);
    f = open_memstream(&out, &len);
    assert_int_equal(alerts_test_file(path, NULL, f, &e), -1);
    fclose(f);
    free(out);
    assert_non_null(strstr(e.msg, "wrong.rules:5: invalid value 'banana'"));
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_fires_at_five_minutes),
        cmocka_unit_test(test_dip_restarts_the_clock),
        cmocka_unit_test(test_missed_run_keeps_pending),
        cmocka_unit_test(test_stale_sample_is_absent),
        cmocka_unit_test(test_resolution_sends_one_resolved),
        cmocka_unit_test(test_pending_never_notifies),
        cmocka_unit_test(test_grouping_one_message_per_channel),
        cmocka_unit_test(test_repeat_and_ack),
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_retry_backoff_then_once),
        cmocka_unit_test(test_dead_after_retry_for),
        cmocka_unit_test(test_crash_loses_nothing),
        cmocka_unit_test(test_failed_channel_defers_the_rest),
        cmocka_unit_test(test_event_rules_from_store),
        cmocka_unit_test(test_config_errors_name_file_and_line),
        cmocka_unit_test(test_defaults_and_overrides),
        cmocka_unit_test(test_rfc2047_subject),
        cmocka_unit_test(test_mime_message),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_truncate_marks_the_cut),
        cmocka_unit_test(test_labels_and_matchers),
        cmocka_unit_test(test_summary_template),
        cmocka_unit_test(test_rule_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
