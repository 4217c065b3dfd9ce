/* Rendering a notification group for people: subject line, plain text, markdown. */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts-int.h"
#include "lib/clock.h"

static const char *ann(const json_t *alert, const char *key)
{
    return alerts_jstr(json_object_get(alert, "annotations"), key);
}

static const char *lab(const json_t *alert, const char *key)
{
    return alerts_jstr(json_object_get(alert, "labels"), key);
}

static bool is_resolved(const json_t *alert)
{
    return strcmp(alerts_jstr(alert, "status"), "resolved") == 0;
}

static int severity_rank(const char *s)
{
    enum alert_severity v = ALERT_INFO;
    alert_severity_parse(s, &v);
    return (int)v;
}

char *alert_render_subject(const alert_conf *ac, const json_t *payload)
{
    json_t *alerts = json_object_get(payload, "alerts");
    size_t shown = json_array_size(alerts);
    size_t total = shown + (size_t)json_integer_value(json_object_get(payload, "truncatedAlerts"));
    size_t firing = 0, resolved = 0;
    int worst = 0;
    const json_t *first = NULL, *first_firing = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        if (!first) first = a;
        if (is_resolved(a)) {
            resolved++;
        } else {
            firing++;
            if (!first_firing) first_firing = a;
        }
        int r = severity_rank(lab(a, "severity"));
        if (r > worst) worst = r;
    }
    const char *prefix = ac && ac->prefix ? ac->prefix : "[hmctl]";
    strbuf sb = {0};
    if (*prefix) sb_addf(&sb, "%s ", prefix);
    if (!first) {
        sb_adds(&sb, "no alerts");
        return sb_detach(&sb);
    }
    if (total == 1) {
        sb_addf(&sb, "%s %s: %s", resolved ? "RESOLVED" : "FIRING", lab(first, "severity"),
                ann(first, "summary"));
        return sb_detach(&sb);
    }
    const json_t *lead = first_firing ? first_firing : first;
    if (resolved == 0 || firing == 0)
        sb_addf(&sb, "%s %zu alerts (%s): ", firing ? "FIRING" : "RESOLVED", total,
                alert_severity_name((enum alert_severity)worst));
    else
        sb_addf(&sb, "%zu firing, %zu resolved: ", firing + (total - shown), resolved);
    sb_addf(&sb, "%s and %zu more", ann(lead, "summary"), total - 1);
    return sb_detach(&sb);
}

static void time_line(strbuf *sb, const json_t *a)
{
    if (is_resolved(a))
        sb_addf(sb, "  from %s to %s", alerts_jstr(a, "startsAt"), alerts_jstr(a, "endsAt"));
    else
        sb_addf(sb, "  since %s", alerts_jstr(a, "startsAt"));
    if (*ann(a, "value")) sb_addf(sb, ", value %s", ann(a, "value"));
    sb_addc(sb, '\n');
}

char *alert_render_text(const alert_conf *ac, const json_t *payload)
{
    strbuf sb = {0};
    json_t *alerts = json_object_get(payload, "alerts");
    size_t i;
    json_t *a;
    const char *any_id = NULL, *any_rule = NULL;
    json_array_foreach(alerts, i, a)
    {
        const char *id = ann(a, "alert_id");
        sb_addf(&sb, "%s  %s  %s", is_resolved(a) ? "RESOLVED" : "FIRING", lab(a, "severity"),
                lab(a, "alertname"));
        if (*id) sb_addf(&sb, "  (alert %s)", id);
        if (strcmp(ann(a, "notification"), "repeat") == 0) sb_adds(&sb, "  repeated");
        sb_addc(&sb, '\n');
        sb_addf(&sb, "  %s\n", ann(a, "summary"));
        time_line(&sb, a);
        if (*ann(a, "series")) sb_addf(&sb, "  series %s\n", ann(a, "series"));
        sb_addc(&sb, '\n');
        if (!is_resolved(a) && *id && !any_id) {
            any_id = id;
            any_rule = lab(a, "alertname");
        }
    }
    json_int_t more = json_integer_value(json_object_get(payload, "truncatedAlerts"));
    if (more > 0) sb_addf(&sb, "... and %lld more alerts ('hmctl alerts list' shows them all)\n\n",
                          (long long)more);
    if (any_id) {
        sb_addf(&sb, "Acknowledge: hmctl alerts ack %s --comment \"cause, steps, result\"\n", any_id);
        sb_addf(&sb, "Silence:     hmctl alerts silence --match rule=%s --for 2h --comment TEXT\n",
                any_rule);
    }
    (void)ac;
    return sb_detach(&sb);
}

char *alert_render_markdown(const alert_conf *ac, const json_t *payload, size_t max_bytes)
{
    char *subject = alert_render_subject(ac, payload);
    strbuf sb = {0};
    sb_addf(&sb, "#### %s\n\n", subject);
    free(subject);
    json_t *alerts = json_object_get(payload, "alerts");
    size_t n = json_array_size(alerts);
    size_t total = n + (size_t)json_integer_value(json_object_get(payload, "truncatedAlerts"));
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        strbuf line = {0};
        sb_addf(&line, "- **%s** %s **%s**: %s (", is_resolved(a) ? "RESOLVED" : "FIRING",
                lab(a, "severity"), lab(a, "alertname"), ann(a, "summary"));
        if (is_resolved(a)) sb_addf(&line, "resolved %s", alerts_jstr(a, "endsAt"));
        else sb_addf(&line, "since %s", alerts_jstr(a, "startsAt"));
        if (*ann(a, "alert_id")) sb_addf(&line, ", alert %s", ann(a, "alert_id"));
        sb_adds(&line, ")\n");
        /* keep room for the "and N more" line */
        if (max_bytes && sb.len + line.len + 64 > max_bytes) {
            sb_addf(&sb, "- ... and %zu more\n", total - i);
            sb_free(&line);
            return sb_detach(&sb);
        }
        sb_add(&sb, line.buf, line.len);
        sb_free(&line);
    }
    if (total > n) sb_addf(&sb, "- ... and %zu more\n", total - n);
    return sb_detach(&sb);
}

json_t *alerts_test_payload(const alert_conf *ac, const char *channel, int64_t now_ms)
{
    alert_labels l = {0};
    alert_labels_set(&l, "alertname", "hmctl-test");
    alert_labels_set(&l, "severity", "info");
    alert_labels_set(&l, "host", ac->console_host);
    json_t *alert = json_object();
    json_object_set_new(alert, "status", json_string("firing"));
    json_object_set_new(alert, "labels", alert_labels_json(&l));
    json_t *an = json_object();
    char *summary = xasprintf("test notification from hmctl on channel %s", channel);
    json_object_set_new(an, "summary", json_string(summary));
    free(summary);
    json_object_set_new(an, "notification", json_string("test"));
    json_object_set_new(alert, "annotations", an);
    char t[40], fp[32];
    alerts_iso_time(now_ms, t, sizeof t);
    json_object_set_new(alert, "startsAt", json_string(t));
    json_object_set_new(alert, "endsAt", json_string("0001-01-01T00:00:00Z"));
    json_object_set_new(alert, "generatorURL", json_string(""));
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)alert_labels_fingerprint(&l));
    json_object_set_new(alert, "fingerprint", json_string(fp));
    json_t *p = json_object();
    json_object_set_new(p, "version", json_string("4"));
    char *gk = xasprintf("{}:{channel=\"%s\"}", channel);
    json_object_set_new(p, "groupKey", json_string(gk));
    free(gk);
    json_object_set_new(p, "truncatedAlerts", json_integer(0));
    json_object_set_new(p, "status", json_string("firing"));
    json_object_set_new(p, "receiver", json_string(channel));
    json_object_set_new(p, "groupLabels", json_object());
    json_object_set_new(p, "commonLabels", alert_labels_json(&l));
    json_object_set_new(p, "commonAnnotations", json_deep_copy(an));
    json_object_set_new(p, "externalURL", json_string(""));
    json_t *arr = json_array();
    json_array_append_new(arr, alert);
    json_object_set_new(p, "alerts", arr);
    alert_labels_free(&l);
    return p;
}
