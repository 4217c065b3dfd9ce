/* Shared inside the alerts module only. */
#ifndef HM_ALERTS_INT_H
#define HM_ALERTS_INT_H

#include "alerts/alerts.h"

/* "PATH: what: sqlite's message"; returns -1. */
int alerts_db_err(hm_store *st, hm_err *e, const char *what);
/* Runs SQL without results; returns 0 or -1 with e set. */
int alerts_exec(hm_store *st, const char *sql, hm_err *e);
/* ISO-8601 UTC with seconds, "0001-01-01T00:00:00Z" for 0 (Alertmanager's zero time). */
void alerts_iso_time(int64_t ms, char *buf, size_t size);

typedef struct alert_silence {
    int64_t id;
    alert_matchers m;
    int64_t starts_ms, ends_ms;
} alert_silence;

typedef struct alert_silences {
    alert_silence *v;
    size_t n;
} alert_silences;

/* Loads the silences active at now_ms. Returns 0 or -1. */
int alerts_silences_load(hm_store *st, int64_t now_ms, alert_silences *out, hm_err *e);
void alerts_silences_free(alert_silences *s);
/* The id of the first silence matching the labels, or 0. */
int64_t alerts_silenced_by(const alert_silences *s, const alert_labels *l);
/* Parses a silence matcher; "rule" is accepted for "alertname". */
int alerts_silence_matcher_parse(const char *text, alert_matchers *out, hm_err *e);

/* Payload of a test notification on channel name, at now_ms. New reference. */
json_t *alerts_test_payload(const alert_conf *ac, const char *channel, int64_t now_ms);

/* The text of a JSON string member, or "" when absent. */
const char *alerts_jstr(const json_t *o, const char *key);

/* The senders by channel kind (alert_send_fn without progress where it does not apply). */
int alert_send_smtp(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
                    strbuf *answer, hm_err *e);
int alert_send_webhook(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
                       int64_t now_ms, strbuf *answer, hm_err *e);
int alert_send_sms(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
                   int *progress, strbuf *answer, hm_err *e);

#endif
