/* Events for event rules: a small list type and the store-backed source reading the events
 * the console collector derives (console-api.md, "Events hmctl derives"). */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts-int.h"

void alert_events_add(alert_events *ev, int64_t id, int64_t ts_ms, const char *type,
                      const char *result, const char *host, const char *detail)
{
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 16;
        ev->v = xrealloc(ev->v, ev->cap * sizeof(alert_event));
    }
    ev->v[ev->n++] = (alert_event){id, ts_ms, xstrdup(type),
                                   xstrdup(result ? result : alert_event_result(type)),
                                   xstrdup(host), xstrdup(detail)};
}

void alert_events_free(alert_events *ev)
{
    for (size_t i = 0; i < ev->n; i++) {
        free(ev->v[i].type);
        free(ev->v[i].result);
        free(ev->v[i].host);
        free(ev->v[i].detail);
    }
    free(ev->v);
    memset(ev, 0, sizeof *ev);
}

const char *alert_event_result(const char *type)
{
    size_t n = strlen(type);
    return n > 7 && strcmp(type + n - 7, "_failed") == 0 ? "failed" : "success";
}

int alert_events_from_store(void *ud, int64_t after_id, alert_events *out, hm_err *e)
{
    hm_store *st = ud;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND"
                               " name = 'console_events'", -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read events");
    bool exists = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (!exists) return 0;
    if (sqlite3_prepare_v2(db, "SELECT id, ts_ms, type, coalesce(nullif(host_name, ''), host_id),"
                               " detail FROM console_events WHERE id > ? ORDER BY id LIMIT 100000",
                           -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read events");
    sqlite3_bind_int64(q, 1, after_id);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        alert_events_add(out, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1),
                         (const char *)sqlite3_column_text(q, 2), NULL,
                         (const char *)sqlite3_column_text(q, 3),
                         (const char *)sqlite3_column_text(q, 4));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : alerts_db_err(st, e, "cannot read events");
}
