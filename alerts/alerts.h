/* Alerts: rules over the stored samples and the console's derived events, a per-(rule, subject)
 * state machine kept in the store across one-shot runs, silences, acknowledgements, history,
 * and a persistent outbox delivering grouped notifications by mail (SMTP), SMS (an HTTP
 * gateway) and webhooks (Alertmanager-compatible JSON, DingTalk, WeCom, Feishu, Slack).
 *
 * Timing follows Prometheus alerting rules (prometheus.io/docs/prometheus/latest/configuration/
 * alerting_rules/, `for`): a rule is pending from the first evaluation where its condition
 * holds, fires at the first evaluation where now - pending start >= `for`, and an evaluation
 * where the condition is false (or the sample is absent: older than [alerts] staleness) ends a
 * pending alert and resolves a firing one. Every time is epoch milliseconds taken from the
 * caller, who passes hm_now_ms() (lib/clock.h), so tests pin time instead of sleeping.
 *
 * Defaults are the seed's best-practice table (seeds/000, 告警配置最佳实践). */
#ifndef HM_ALERTS_H
#define HM_ALERTS_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/config.h"
#include "lib/util.h"
#include "store/store.h"

/* --- Severities, comparisons, labels and matchers ------------------------------------ */

/* The seed's levels (信息, 警告, 严重, 紧急), in increasing order. */
enum alert_severity { ALERT_INFO = 0, ALERT_WARNING, ALERT_CRITICAL, ALERT_EMERGENCY };

/* "info", "warning", "critical", "emergency". */
const char *alert_severity_name(enum alert_severity s);
/* Parses a severity name. Returns 0, or -1 when s is none of the four. */
int alert_severity_parse(const char *s, enum alert_severity *out);

enum alert_op { ALERT_GT = 0, ALERT_GE, ALERT_LT, ALERT_LE, ALERT_EQ, ALERT_NE };

/* ">", ">=", "<", "<=", "==", "!=". */
const char *alert_op_name(enum alert_op op);
/* Parses one of the six comparisons. Returns 0, or -1. */
int alert_op_parse(const char *s, enum alert_op *out);
/* value OP threshold; NaN compares false for every operator (as in PromQL). */
bool alert_op_holds(enum alert_op op, double value, double threshold);

/* A label set, kept sorted by name (Prometheus' canonical order). */
typedef struct alert_labels {
    char **names;
    char **values;
    size_t n, cap;
} alert_labels;

/* Sets name=value (replacing an existing value), keeping the set sorted. */
void alert_labels_set(alert_labels *l, const char *name, const char *value);
/* The value of name, or NULL. */
const char *alert_labels_get(const alert_labels *l, const char *name);
/* Frees the names and values and empties the set (it may be reused). */
void alert_labels_free(alert_labels *l);
/* Splits a series name as collectors write it (`metric{a="x",b="y"}`, values escaped \\ \" \n
 * as hm_series does) into the metric (new string, may be NULL when not wanted) and labels.
 * Returns 0, or -1 on a malformed label list. */
int alert_labels_parse_series(const char *series, char **metric, alert_labels *out);
/* `{a="x",b="y"}` ("" for an empty set), values escaped as in series names. New string. */
char *alert_labels_format(const alert_labels *l);
/* Labels as a JSON object (new reference), and back. from_json returns -1 on a non-object. */
json_t *alert_labels_json(const alert_labels *l);
int alert_labels_from_json(const json_t *j, alert_labels *out);
/* The Prometheus fingerprint of a label set: 64-bit FNV-1a over the sorted names and values,
 * each followed by the separator byte 0xff (prometheus/common model.LabelSet.Fingerprint). */
uint64_t alert_labels_fingerprint(const alert_labels *l);

enum alert_match_op { ALERT_MATCH_EQ = 0, ALERT_MATCH_NE, ALERT_MATCH_RE, ALERT_MATCH_NRE };

typedef struct alert_matcher {
    char *name;
    enum alert_match_op op;
    char *value;
    regex_t re; /* compiled, anchored (^(...)$), for =~ and !~ */
} alert_matcher;

typedef struct alert_matchers {
    alert_matcher *v;
    size_t n, cap;
} alert_matchers;

/* Parses one matcher, `name=value`, `name!=value`, `name=~regex` or `name!~regex`; the value
 * may be double-quoted (with \" and \\ escapes). Regexes are POSIX extended and match the whole
 * value, as in PromQL. Appends to out. Returns 0, or -1 with e set ("invalid matcher 'x': ..."). */
int alert_matcher_parse(const char *text, alert_matchers *out, hm_err *e);
/* Parses a PromQL-style selector, `metric` or `metric{a="x", b!~"y.*"}`, into the metric name
 * (new string) and matchers. Returns 0, or -1 with e set. */
int alert_selector_parse(const char *text, char **metric, alert_matchers *out, hm_err *e);
/* True when every matcher holds; an absent label has the value "" (PromQL). */
bool alert_matchers_match(const alert_matchers *m, const alert_labels *l);
/* `a="x", b!~"y"` for display. New string. */
char *alert_matchers_format(const alert_matchers *m);
/* Frees the matchers (and their compiled regexes) and empties the list. */
void alert_matchers_free(alert_matchers *m);

/* --- Rules, channels and settings ------------------------------------------------------ */

typedef struct alert_rule {
    char *name;
    bool is_event;
    bool enabled;
    char *metric;           /* resource rule: the metric name (host.cpu.percent) */
    alert_matchers match;   /* label matchers from the selector and `scope` */
    enum alert_op op;
    double threshold;
    int64_t for_ms;         /* the `for` duration, milliseconds; 0 fires at once */
    char *event;            /* event rule: the event type (console-api.md) */
    char *result;           /* event rule: "success" or "failed", or NULL for any */
    enum alert_severity severity;
    char *summary;          /* template; see alert_render_summary */
    strvec channels;        /* empty: [alerts] channels */
    int64_t repeat_ms;      /* 0: [alerts] repeat */
    char *scope;            /* as configured, for display, or NULL */
    strvec scope_hosts;     /* host names; "console" is the console host; empty: every host */
    char *origin;           /* "default", "FILE:LINE", or "default, overridden at FILE:LINE" */
} alert_rule;

enum alert_channel_type {
    ALERT_CH_SMTP = 0,
    ALERT_CH_SMS,
    ALERT_CH_WEBHOOK,
    ALERT_CH_DINGTALK,
    ALERT_CH_WECOM,
    ALERT_CH_FEISHU,
    ALERT_CH_SLACK,
};

/* "smtp", "sms", "webhook", "dingtalk", "wecom", "feishu", "slack". */
const char *alert_channel_type_name(enum alert_channel_type t);

typedef struct alert_channel {
    char *name;
    enum alert_channel_type type;
    char *url;
    char *from;             /* smtp */
    strvec to;              /* smtp: addresses; sms: phone numbers */
    char *username;         /* smtp authentication */
    bool starttls;          /* smtp:// upgraded with STARTTLS, required (default yes) */
    char *ca_file;
    char *method;           /* sms: HTTP method (default POST) */
    char *headers;          /* sms: "Name: value; Name: value" with {token} */
    char *content_type;     /* sms: default application/json */
    char *body;             /* sms: body template with {phone}, {message}, {token} */
    int max_length;         /* sms: characters per message (default 70) */
    enum alert_severity min_severity;
    bool send_resolved;
    int64_t timeout_ms;
    char *origin;           /* "FILE:LINE" of the section */
} alert_channel;

typedef struct alert_conf {
    const hm_config *cfg;   /* for secrets, read only when a message is sent */
    bool enabled;
    alert_rule *rules;
    size_t n_rules;
    alert_channel *channels;
    size_t n_channels;
    strvec default_channels;
    int64_t repeat_ms;      /* [alerts] repeat, default 4h */
    int64_t staleness_ms;   /* [alerts] staleness, default 5m */
    int64_t retry_for_ms;   /* [alerts] retry_for, default 24h */
    int64_t backoff_ms;     /* [alerts] retry_backoff, default 30s */
    int64_t event_expiry_ms; /* [alerts] event_expiry, default 24h */
    int64_t timeout_ms;     /* [alerts] timeout, default 10s */
    bool send_resolved;
    char *prefix;           /* [alerts] prefix of subjects, default "[hmctl]" */
    char *console_host;     /* the host label of the console host's own series: "console" */
} alert_conf;

/* Builds the effective rules (the shipped defaults, overridden or disabled key by key by
 * [rule "NAME"] sections of the same name, plus the configuration's own rules), the channels
 * and the [alerts] settings. Never fails: a rule or channel with an error is left out and the
 * error appended to `errors` as "FILE:LINE: message" (when errors is non-NULL). Errors: a rule
 * on a metric hmctl does not collect (with a suggestion), on an unknown event type, with no
 * metric and no event, with both, without a threshold, with a malformed selector or scope;
 * a rule or [alerts] naming an unknown channel; a channel without its address (smtp: url, from
 * and to; sms: url and to; webhooks: url) or with a URL of the wrong scheme. */
alert_conf *alerts_conf_load(const hm_config *cfg, strvec *errors);
/* Frees what alerts_conf_load returned (NULL is allowed); the configuration stays. */
void alerts_conf_free(alert_conf *ac);
/* The semantic checks of alerts_conf_load alone, for `hmctl config check`. */
void alerts_config_check(const hm_config *cfg, strvec *errors);
/* The effective rule or usable channel of that name, or NULL (a channel with an error is not
 * usable). */
const alert_rule *alerts_rule_find(const alert_conf *ac, const char *name);
const alert_channel *alerts_channel_find(const alert_conf *ac, const char *name);
/* The effective rules as a JSON array of {name, kind, expr, for, severity, channels, scope,
 * summary, enabled, origin}. New reference. */
json_t *alerts_rules_json(const alert_conf *ac);

/* Metric names the collectors write (collectors/metrics.c); a rule on another name is
 * reported by alerts_conf_load. */
bool alerts_metric_known(const char *metric);

/* Event types hmctl derives (console-api.md, "Events hmctl derives"). */
bool alerts_event_known(const char *type);

/* Expands a summary template: {rule}, {severity}, {value}, {threshold}, {op}, {for},
 * {metric}, {series}, {host}, {event}, {detail} and {LABEL} for any label of the alert;
 * an unknown placeholder is left as written. New string. */
char *alert_render_summary(const char *tmpl, const alert_rule *rule, const alert_labels *labels,
                           double value, const char *series, const char *detail);

/* --- Events ---------------------------------------------------------------------------- */

typedef struct alert_event {
    int64_t id;         /* increasing; the cursor */
    int64_t ts_ms;
    char *type;         /* host_lost_contact, host_reconnected, sync_failed, boot_failed,
                           license_expired, rpo_exceeded */
    char *result;       /* "success" or "failed" */
    char *host;         /* host name (or id), may be NULL */
    char *detail;       /* may be NULL */
} alert_event;

typedef struct alert_events {
    alert_event *v;
    size_t n, cap;
} alert_events;

/* Appends a copy of one event; result NULL derives it from the type (alert_event_result). */
void alert_events_add(alert_events *ev, int64_t id, int64_t ts_ms, const char *type,
                      const char *result, const char *host, const char *detail);
/* Frees the events and empties the list. */
void alert_events_free(alert_events *ev);
/* The result of an event type in the seed's terms (事件结果): "failed" for sync_failed and
 * boot_failed, "success" for the others (the lost contact "happened"). */
const char *alert_event_result(const char *type);

/* Where event rules get their events: appends to out the events with id > after_id, oldest
 * first. Returns 0, or -1 with e set. */
typedef int (*alert_events_fn)(void *ud, int64_t after_id, alert_events *out, hm_err *e);

typedef struct alert_event_source {
    alert_events_fn fn;
    void *ud;
} alert_event_source;

/* The store's derived events (table console_events written by the console collector:
 * id, ts_ms, host_id, host_name, type, detail); ud is the hm_store. No table yet: no events. */
int alert_events_from_store(void *st, int64_t after_id, alert_events *out, hm_err *e);

/* --- Evaluation, state and operations -------------------------------------------------- */

/* Creates or upgrades the alert tables (alert_state, alert_history, alert_silences,
 * alert_outbox, alert_outbox_items, alert_meta). Returns 0, or -1 with e set. */
int alerts_migrate(hm_store *st, hm_err *e);

typedef struct alert_eval_report {
    int pending, firing;        /* active alerts after the evaluation */
    int fired, resolved;        /* transitions in this evaluation */
    int notifications;          /* outbox messages enqueued (one per channel and cycle) */
    int64_t events_seen;
} alert_eval_report;

/* One evaluation at now_ms: reads the latest sample of every series of each enabled resource
 * rule within [now - staleness, now], the events after the stored cursor from `events` (may be
 * NULL), moves each (rule, subject) through pending -> firing -> resolved, records every
 * transition in alert_history, and enqueues one grouped notification per channel into the
 * outbox, all in one transaction with the state change. Firing alerts are notified when first
 * firing outside any silence, then every repeat interval while not acknowledged and not
 * silenced; a resolved alert is notified when its firing was. Returns 0, or -1 with e set
 * (nothing changed then). */
int alerts_evaluate(hm_store *st, const alert_conf *ac, const alert_event_source *events,
                    int64_t now_ms, alert_eval_report *rep, hm_err *e);

/* One notification as rendered for a channel. */
typedef struct alert_message {
    int64_t id;           /* outbox id: stable across retries (Message-ID, X-Hmctl-Notification) */
    int64_t created_ms;
    const json_t *payload; /* the Alertmanager-compatible group (alert_payload_json) */
    int progress;         /* recipients already served by earlier attempts (sms) */
} alert_message;

/* Sends one message on a channel. Returns 0 when the receiver accepted it (answer gets its
 * reply, shortened), or -1 with e set ("what failed: why"; never a secret). *progress is
 * advanced past each recipient served, so a retry skips them. */
typedef int (*alert_send_fn)(const alert_conf *ac, const alert_channel *ch,
                             const alert_message *msg, int *progress, strbuf *answer, hm_err *e,
                             void *ud);

/* The real senders (SMTP, SMS, webhooks) chosen by channel type. */
int alert_send(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
               int *progress, strbuf *answer, hm_err *e, void *ud);

typedef struct alert_deliver_report {
    int delivered, failed, dead, deferred;
} alert_deliver_report;

/* Delivers the due outbox messages (pending, next attempt <= now, not leased by another
 * process) in id order with `send` (alert_send when NULL). Each message is claimed with a
 * lease first, so concurrent runs never send one twice; an accepted message is marked
 * delivered at once; a failure is retried after retry_backoff doubling per attempt (at most
 * 1 h), and a message older than retry_for that fails again is marked dead. After a failure,
 * the channel's other messages wait for the next run. Returns 0, or -1 with e set on a store
 * failure. */
int alerts_deliver(hm_store *st, const alert_conf *ac, int64_t now_ms, alert_send_fn send,
                   void *ud, alert_deliver_report *rep, hm_err *e);

/* Active alerts (pending and firing) as a JSON array of {id, rule, state, severity, series,
 * labels, value, summary, since, active_at, fired_at, silenced, acknowledged, ack: {by, at,
 * comment}}; times ISO-8601 UTC. New reference in *out. Returns 0, or -1 with e set. */
int alerts_list_json(hm_store *st, int64_t now_ms, json_t **out, hm_err *e);
/* Every transition with ts >= since_ms, newest first, at most limit (0: no limit), as
 * {id, time, alert, rule, event, severity, series, labels, value, detail, notifications:
 * [{id, channel, status, attempts, error}]}. Returns 0, or -1. */
int alerts_history_json(hm_store *st, int64_t since_ms, int limit, json_t **out, hm_err *e);
/* Acknowledges active alert `id`: records who, when and the handling note (the seed's "cause,
 * steps and result") and stops its repeats. Errors: no active alert with that id. */
int alerts_ack(hm_store *st, int64_t id, const char *by, const char *comment, int64_t now_ms,
               hm_err *e);
/* Adds a silence of the given matchers (alert_matcher_parse syntax; `rule` stands for the
 * rule name) from now until now + for_ms. Sets *id. Errors: no matcher, a malformed one,
 * for_ms <= 0. */
int alerts_silence_add(hm_store *st, const strvec *matchers, int64_t for_ms, const char *by,
                       const char *comment, int64_t now_ms, int64_t *id, hm_err *e);
/* Ends silence `id` now. Errors: no active silence with that id. */
int alerts_silence_remove(hm_store *st, int64_t id, int64_t now_ms, hm_err *e);
/* Active silences: [{id, matchers, starts, ends, by, comment}]. */
int alerts_silences_json(hm_store *st, int64_t now_ms, json_t **out, hm_err *e);
/* Notifications that went dead since since_ms. Returns the count, or -1 with e set. */
int64_t alerts_dead_count(hm_store *st, int64_t since_ms, hm_err *e);

/* Who is operating, for acknowledgements and silences: $SUDO_USER, else the effective user's
 * login name, else $USER. New string. */
char *alerts_operator_name(void);

/* What `hmctl check` does after storing the samples: loads the rules (their errors appended
 * to errors), evaluates them with the store's events and delivers the due notifications.
 * Fills *summary (may be NULL) with {pending, firing, fired, resolved, enqueued, delivered,
 * failed, dead, errors}. Returns 0, or -1 with e set. */
int alerts_run_cycle(const hm_config *cfg, hm_store *st, int64_t now_ms, json_t **summary,
                     strvec *errors, hm_err *e);

/* --- Rendering ------------------------------------------------------------------------- */

/* The group payload of a notification, compatible with Alertmanager's webhook payload
 * version 4 (prometheus.io/docs/alerting/latest/configuration/#webhook_config): {version,
 * groupKey, truncatedAlerts, status, receiver, groupLabels, commonLabels, commonAnnotations,
 * externalURL, alerts: [{status, labels, annotations, startsAt, endsAt, generatorURL,
 * fingerprint}]}; hmctl adds "hmctl": {alert ids} at the top level, which receivers ignore. */

/* Subject line: "[hmctl] FIRING critical: CPU 92% on proxy-1", for a group
 * "[hmctl] FIRING 200 alerts (critical): <first summary> and 199 more". New string. */
char *alert_render_subject(const alert_conf *ac, const json_t *payload);
/* Plain-text body: one block per alert with status, severity, rule, summary, value, since and
 * how to acknowledge. New string. */
char *alert_render_text(const alert_conf *ac, const json_t *payload);
/* Markdown for IM robots, at most max_bytes (whole alerts only; "... and N more" marks the
 * cut). New string. */
char *alert_render_markdown(const alert_conf *ac, const json_t *payload, size_t max_bytes);

/* --- Delivery formats (alerts/smtp.c, alerts/webhook.c, alerts/sms.c) ----------------- */

/* An RFC 2047 encoded-word header value: ASCII text without controls is returned as is,
 * otherwise "=?UTF-8?B?...?=" words of at most 75 characters, never splitting a UTF-8
 * character, separated by CRLF SP (folding, RFC 5322 2.2.3). New string. */
char *alert_mime_encode_header(const char *utf8);
/* The complete message: From, To, Subject (RFC 2047), Date (RFC 5322 3.3), Message-ID,
 * MIME-Version, Content-Type text/plain; charset=UTF-8, Content-Transfer-Encoding base64
 * (RFC 2045 6.8, lines of 76), CRLF line ends. New string. */
char *alert_mime_message(const char *from, const strvec *to, const char *subject,
                         const char *body, int64_t date_ms, const char *message_id);

/* HMAC-SHA256 of data with key, as lower-case hex (64 characters + NUL) in out. */
void alert_hmac_sha256_hex(const char *key, const void *data, size_t len, char out[65]);
/* DingTalk custom robot signature (open.dingtalk.com, 自定义机器人安全设置 加签):
 * base64(HMAC-SHA256(key = secret, data = timestamp_ms + "\n" + secret)), URL-escaped.
 * New string. */
char *alert_dingtalk_sign(const char *secret, int64_t timestamp_ms);
/* Feishu custom bot signature (open.feishu.cn, 自定义机器人 签名校验):
 * base64(HMAC-SHA256(key = timestamp_s + "\n" + secret, data = "")). New string. */
char *alert_feishu_sign(const char *secret, int64_t timestamp_s);
/* Truncates UTF-8 text to at most max_chars characters; a cut is marked with "…" (which
 * counts as one). New string. */
char *alert_truncate_chars(const char *text, int max_chars);

/* The URL without user information, query or fragment, where webhook tokens live
 * (DingTalk's access_token, WeCom's key): safe to print. New string. */
char *alerts_url_redact(const char *url);

/* Sends a test notification on channel `name` now (not through the outbox) and puts the
 * receiver's answer in answer. Returns 0 when accepted, -1 with e set. */
int alerts_test_channel(const alert_conf *ac, const char *name, int64_t now_ms, strbuf *answer,
                        hm_err *e);

/* --- Rule unit tests (`hmctl alerts test FILE`) --------------------------------------- */

/* Runs the rule tests of FILE (format in hmctl-alerts(1)): its [rule] sections, or the
 * configuration's effective rules when it has none; [test] sections with series values over
 * time, events, and expected firing/pending alerts at evaluation times. Every evaluation goes
 * through alerts_evaluate on an in-memory store. Prints progress and every mismatch
 * ("FILE:LINE: test \"x\": at 5m: expected ... got ...") to out. Returns 0 when all pass, 1 when
 * one fails, -1 with e set on a malformed file (e names file and line). */
int alerts_test_file(const char *path, const hm_config *cfg, FILE *out, hm_err *e);

#endif
