/* The outbox: notifications queued by the evaluator in the same transaction as the state
 * change, delivered here. A message is leased before it is sent, so two runs never send it
 * together; marked delivered as soon as the receiver accepted it, so a retry never repeats an
 * accepted message; retried with exponential backoff; dead once it is older than retry_for. */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts-int.h"

/* A lease outlives any attempt (the transfer timeout plus a margin), so a lease that expired
 * belongs to a run that crashed or was killed. */
static int64_t lease_for(const alert_conf *ac, const alert_channel *ch)
{
    int64_t t = ch ? ch->timeout_ms : ac->timeout_ms;
    return 3 * t + 60000;
}

enum { MAX_BACKOFF_MS = 3600000 };

typedef struct due {
    int64_t id, created_ms;
    int attempts, progress;
    char *channel;
    char *payload;
} due;

static int load_due(hm_store *st, int64_t now, due **out, size_t *n, hm_err *e)
{
    sqlite3_stmt *q;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id, channel, created_ms, attempts, progress, payload FROM"
                           " alert_outbox WHERE status = 'pending' AND next_ms <= ?1 AND"
                           " lease_ms <= ?1 ORDER BY id", -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read the outbox");
    sqlite3_bind_int64(q, 1, now);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof(due));
        }
        (*out)[(*n)++] = (due){sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 2),
                               sqlite3_column_int(q, 3), sqlite3_column_int(q, 4),
                               xstrdup((const char *)sqlite3_column_text(q, 1)),
                               xstrdup((const char *)sqlite3_column_text(q, 5))};
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : alerts_db_err(st, e, "cannot read the outbox");
}

/* Takes the message for this run; false when another run holds or finished it. */
static int claim(hm_store *st, int64_t id, int64_t now, int64_t lease, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "UPDATE alert_outbox SET lease_ms = ?3 WHERE id = ?1 AND"
                           " status = 'pending' AND lease_ms <= ?2", -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot update the outbox");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int64(q, 3, now + lease);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return alerts_db_err(st, e, "cannot update the outbox");
    return sqlite3_changes(store_db(st)) == 1 ? 1 : 0;
}

static int finish(hm_store *st, int64_t id, const char *status, int64_t now, int64_t next,
                  int progress, const char *error, const char *answer, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "UPDATE alert_outbox SET status = ?2, attempts = attempts + 1,"
                           " lease_ms = 0, next_ms = ?3, done_ms = ?4, progress = ?5,"
                           " last_error = ?6, answer = coalesce(?7, answer) WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot update the outbox");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, next);
    sqlite3_bind_int64(q, 4, strcmp(status, "pending") == 0 ? 0 : now);
    sqlite3_bind_int(q, 5, progress);
    if (error) sqlite3_bind_text(q, 6, error, -1, SQLITE_STATIC);
    else sqlite3_bind_null(q, 6);
    if (answer) sqlite3_bind_text(q, 7, answer, -1, SQLITE_STATIC);
    else sqlite3_bind_null(q, 7);
    /* Beyond the busy timeout a concurrent writer still holds the database. After an accepted
     * send this is the one place where a message could go out again (its lease would expire
     * unmarked), so it is tried a few more times. */
    int rc = SQLITE_BUSY;
    for (int attempt = 0; attempt < 4; attempt++) {
        rc = sqlite3_step(q);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED && (rc & 0xff) != SQLITE_BUSY) break;
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : alerts_db_err(st, e, "cannot update the outbox");
}

int alerts_deliver(hm_store *st, const alert_conf *ac, int64_t now_ms, alert_send_fn send,
                   void *ud, alert_deliver_report *rep, hm_err *e)
{
    alert_deliver_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if (!send) send = alert_send;
    if (alerts_migrate(st, e) < 0) return -1;
    due *v;
    size_t n;
    if (load_due(st, now_ms, &v, &n, e) < 0) return -1;
    strvec failed_channels = {0};
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        due *d = &v[i];
        if (sv_contains(&failed_channels, d->channel)) {
            rep->deferred++;
            continue;
        }
        const alert_channel *ch = alerts_channel_find(ac, d->channel);
        int c = claim(st, d->id, now_ms, lease_for(ac, ch), e);
        if (c < 0) {
            rc = -1;
            break;
        }
        if (c == 0) continue;
        hm_err se = {{0}};
        strbuf answer = {0};
        int progress = d->progress;
        int ok = -1;
        json_t *payload = json_loads(d->payload, 0, NULL);
        if (!ch) {
            hm_err_set(&se, "no usable channel '%s' in the configuration", d->channel);
        } else if (!payload) {
            hm_err_set(&se, "the queued message %lld is damaged", (long long)d->id);
        } else {
            alert_message msg = {.id = d->id, .created_ms = d->created_ms, .payload = payload,
                                 .progress = d->progress};
            ok = send(ac, ch, &msg, &progress, &answer, &se, ud);
        }
        json_decref(payload);
        int r;
        if (ok == 0) {
            r = finish(st, d->id, "delivered", now_ms, now_ms, progress, NULL, sb_str(&answer), e);
            rep->delivered++;
        } else {
            sv_push(&failed_channels, d->channel);
            if (now_ms - d->created_ms >= ac->retry_for_ms) {
                r = finish(st, d->id, "dead", now_ms, now_ms, progress, se.msg, NULL, e);
                rep->dead++;
            } else {
                int64_t delay = ac->backoff_ms;
                for (int k = 0; k < d->attempts && delay < MAX_BACKOFF_MS; k++) delay *= 2;
                if (delay > MAX_BACKOFF_MS) delay = MAX_BACKOFF_MS;
                r = finish(st, d->id, "pending", now_ms, now_ms + delay, progress, se.msg, NULL, e);
                rep->failed++;
            }
        }
        sb_free(&answer);
        if (r < 0) {
            rc = -1;
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].channel);
        free(v[i].payload);
    }
    free(v);
    sv_free(&failed_channels);
    return rc;
}
