/* Effective rules, channels and settings from the configuration, with the shipped defaults of
 * the seed's best-practice table (seeds/000, 告警配置最佳实践: resource alerts >= 80% or >= 1 or
 * >= 10 for 5 minutes, critical; event alerts on lost contact, failed sync, failed boot). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "collectors/collector.h"

struct default_rule {
    const char *name;
    const char *metric; /* NULL for an event rule */
    const char *op;
    double threshold;
    const char *for_;
    const char *event;
    const char *result;
    const char *summary;
};

static const struct default_rule default_rules[] = {
    {"host-cpu", "host.cpu.percent", ">=", 80, "5m", NULL, NULL, "CPU at {value}% on {host}"},
    {"host-memory", "host.memory.percent", ">=", 80, "5m", NULL, NULL,
     "memory {value}% used on {host}"},
    {"host-disk-root", "host.disk.root.percent", ">=", 80, "5m", NULL, NULL,
     "root file system {value}% used on {host}"},
    {"containers-unhealthy", "docker.containers.unhealthy", ">=", 1, "5m", NULL, NULL,
     "{value} unhealthy container(s) on {host}"},
    {"rabbitmq-queue", "rabbitmq.queue.messages", ">=", 10, "5m", NULL, NULL,
     "{value} messages waiting in RabbitMQ queue {queue} on {host}"},
    {"host-lost-contact", NULL, NULL, 0, NULL, "host_lost_contact", "success",
     "host {host} lost contact with the console"},
    {"sync-failed", NULL, NULL, 0, NULL, "sync_failed", "failed", "sync of host {host} failed: {detail}"},
    {"boot-failed", NULL, NULL, 0, NULL, "boot_failed", "failed", "boot of host {host} failed: {detail}"},
};

static const char *const event_types[] = {"host_lost_contact", "host_reconnected", "sync_failed",
                                          "boot_failed", "license_expired", "rpo_exceeded", NULL};

bool alerts_metric_known(const char *metric)
{
    return hm_metric_known(metric);
}

bool alerts_event_known(const char *type)
{
    for (const char *const *t = event_types; *t; t++)
        if (strcmp(*t, type) == 0) return true;
    return false;
}

static const char *const channel_types[] = {"smtp", "sms", "webhook", "dingtalk", "wecom", "feishu",
                                            "slack"};

const char *alert_channel_type_name(enum alert_channel_type t)
{
    return (unsigned)t < HM_ARRAY_LEN(channel_types) ? channel_types[t] : "?";
}

static const char *suggest(const char *word, const char *const *list)
{
    const char *best = NULL;
    size_t best_d = 4;
    for (; *list; list++) {
        size_t d = hm_edit_distance(word, *list);
        if (d < best_d) {
            best_d = d;
            best = *list;
        }
    }
    return best;
}

/* Where an error about KEY of a section is reported: the key's own line, else the section's. */
static void where(const hm_config *cfg, const char *type, const cfg_section *s, const char *key,
                  char *buf, size_t size)
{
    const char *o = key ? cfg_origin(cfg, type, s->name, key, buf, size) : NULL;
    if (!o || strcmp(o, "default") == 0) snprintf(buf, size, "%s:%d", s->file, s->line);
}

static void add_error(strvec *errors, const hm_config *cfg, const char *type, const cfg_section *s,
                      const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add_error(strvec *errors, const hm_config *cfg, const char *type, const cfg_section *s,
                      const char *key, const char *fmt, ...)
{
    if (!errors) return;
    char loc[600];
    where(cfg, type, s, key, loc, sizeof loc);
    strbuf sb = {0};
    sb_addf(&sb, "%s: [%s \"%s\"] ", loc, type, s->name ? s->name : "");
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    sv_push_owned(errors, sb_detach(&sb));
}

static void rule_free(alert_rule *r)
{
    free(r->name);
    free(r->metric);
    alert_matchers_free(&r->match);
    free(r->event);
    free(r->result);
    free(r->summary);
    sv_free(&r->channels);
    free(r->scope);
    sv_free(&r->scope_hosts);
    free(r->origin);
}

static void channel_free(alert_channel *c)
{
    free(c->name);
    free(c->url);
    free(c->from);
    sv_free(&c->to);
    free(c->username);
    free(c->ca_file);
    free(c->method);
    free(c->headers);
    free(c->content_type);
    free(c->body);
    free(c->origin);
}

void alerts_conf_free(alert_conf *ac)
{
    if (!ac) return;
    for (size_t i = 0; i < ac->n_rules; i++) rule_free(&ac->rules[i]);
    free(ac->rules);
    for (size_t i = 0; i < ac->n_channels; i++) channel_free(&ac->channels[i]);
    free(ac->channels);
    sv_free(&ac->default_channels);
    free(ac->prefix);
    free(ac->console_host);
    free(ac);
}

static const char *url_scheme_ok(enum alert_channel_type t, const char *url)
{
    if (t == ALERT_CH_SMTP)
        return (hm_starts_with(url, "smtp://") || hm_starts_with(url, "smtps://"))
                   ? NULL
                   : "an smtp channel needs smtp://HOST:PORT or smtps://HOST:PORT";
    return (hm_starts_with(url, "http://") || hm_starts_with(url, "https://"))
               ? NULL
               : "needs an http:// or https:// URL";
}

static void load_channels(alert_conf *ac, const hm_config *cfg, strvec *errors)
{
    const cfg_section **secs;
    size_t n = cfg_sections_of(cfg, "channel", &secs);
    ac->channels = xcalloc(n + 1, sizeof(alert_channel));
    for (size_t i = 0; i < n; i++) {
        const cfg_section *s = secs[i];
        const char *name = s->name;
        const char *type = cfg_get(cfg, "channel", name, "type");
        int t = -1;
        for (size_t k = 0; type && k < HM_ARRAY_LEN(channel_types); k++)
            if (strcmp(type, channel_types[k]) == 0) t = (int)k;
        if (t < 0) continue; /* the schema reports a missing or unknown type */
        alert_channel c = {0};
        c.type = (enum alert_channel_type)t;
        bool ok = true;
        const char *url = cfg_get(cfg, "channel", name, "url");
        if (!url) {
            add_error(errors, cfg, "channel", s, NULL, "(%s) has no address: set 'url'%s", type,
                      t == ALERT_CH_SMTP ? " (smtp://HOST:PORT or smtps://HOST:PORT)" : "");
            ok = false;
        } else if (url_scheme_ok(c.type, url)) {
            add_error(errors, cfg, "channel", s, "url", "url '%s': %s", url,
                      url_scheme_ok(c.type, url));
            ok = false;
        }
        cfg_get_list(cfg, "channel", name, "to", &c.to);
        if ((c.type == ALERT_CH_SMTP || c.type == ALERT_CH_SMS) && c.to.n == 0) {
            add_error(errors, cfg, "channel", s, NULL, "(%s) has no recipient: set 'to'%s", type,
                      c.type == ALERT_CH_SMS ? " (phone numbers)" : " (mail addresses)");
            ok = false;
        }
        const char *from = cfg_get(cfg, "channel", name, "from");
        if (c.type == ALERT_CH_SMTP && !from) {
            add_error(errors, cfg, "channel", s, NULL, "(smtp) has no sender: set 'from'");
            ok = false;
        }
        if (c.type == ALERT_CH_SMTP) {
            for (size_t k = 0; k < c.to.n; k++) {
                if (!strchr(c.to.v[k], '@')) {
                    add_error(errors, cfg, "channel", s, "to", "'%s' is not a mail address",
                              c.to.v[k]);
                    ok = false;
                }
            }
            if (from && !strchr(from, '@')) {
                add_error(errors, cfg, "channel", s, "from", "'%s' is not a mail address", from);
                ok = false;
            }
        }
        if (!ok) {
            sv_free(&c.to);
            continue;
        }
        c.name = xstrdup(name);
        c.url = xstrdup(url);
        c.from = xstrdup(from);
        c.username = xstrdup(cfg_get(cfg, "channel", name, "username"));
        c.starttls = cfg_get_bool(cfg, "channel", name, "starttls", true);
        c.ca_file = xstrdup(cfg_get(cfg, "channel", name, "ca_file"));
        c.method = xstrdup(cfg_get(cfg, "channel", name, "method"));
        c.headers = xstrdup(cfg_get(cfg, "channel", name, "headers"));
        c.content_type = xstrdup(cfg_get(cfg, "channel", name, "content_type"));
        c.body = xstrdup(cfg_get(cfg, "channel", name, "body"));
        const char *ml = cfg_get(cfg, "channel", name, "max_length");
        c.max_length = ml ? atoi(ml) : 70;
        if (c.max_length < 1) c.max_length = 1;
        enum alert_severity sev = ALERT_INFO;
        alert_severity_parse(cfg_get(cfg, "channel", name, "severity"), &sev);
        c.min_severity = sev;
        c.send_resolved = cfg_get_bool(cfg, "channel", name, "send_resolved", ac->send_resolved);
        c.timeout_ms = cfg_get_ms(cfg, "channel", name, "timeout", ac->timeout_ms);
        c.origin = xasprintf("%s:%d", s->file, s->line);
        ac->channels[ac->n_channels++] = c;
    }
    free(secs);
}

/* A channel name is valid when a [channel] section of that name exists (even one with errors,
 * which are reported on their own). */
static bool channel_exists(const hm_config *cfg, const char *name)
{
    return cfg_section_find(cfg, "channel", name) != NULL;
}

static void check_channel_list(const hm_config *cfg, const char *type, const cfg_section *s,
                               const strvec *list, strvec *errors, bool *ok)
{
    for (size_t i = 0; i < list->n; i++) {
        if (channel_exists(cfg, list->v[i])) continue;
        if (s->name) {
            add_error(errors, cfg, type, s, "channels", "channels: no [channel \"%s\"] is configured",
                      list->v[i]);
        } else if (errors) {
            char loc[600];
            const char *o = cfg_origin(cfg, type, NULL, "channels", loc, sizeof loc);
            sv_push_owned(errors, xasprintf("%s: [%s] channels: no [channel \"%s\"] is configured",
                                            o ? o : "?", type, list->v[i]));
        }
        *ok = false;
    }
}

/* Fills a rule from a default and/or a [rule] section; returns false when it has an error. */
static bool build_rule(alert_conf *ac, const hm_config *cfg, const struct default_rule *d,
                       const cfg_section *s, alert_rule *r, strvec *errors)
{
    const char *name = d ? d->name : s->name;
#define GET(key) (s ? cfg_get(cfg, "rule", name, key) : NULL)
    const char *metric = GET("metric"), *event = GET("event");
    bool ok = true;
    r->name = xstrdup(name);
    r->enabled = true;
    if (s) {
        const char *en = GET("enabled");
        bool b;
        if (en && hm_parse_bool(en, &b) == 0) r->enabled = b;
    }
    if (s && metric && event) {
        add_error(errors, cfg, "rule", s, NULL,
                  "has both 'metric' and 'event': a rule watches a metric or an event type");
        return false;
    }
    if (!metric && !event && d) {
        metric = d->metric;
        event = d->event;
    }
    if (s && !d && !metric && !event) {
        add_error(errors, cfg, "rule", s, NULL,
                  "has neither 'metric' nor 'event' (a resource rule needs metric, op and "
                  "threshold; an event rule needs event)");
        return false;
    }
    /* an override switching a default's kind starts from scratch */
    bool from_default = d && ((metric && d->metric) || (event && d->event));
    r->is_event = event != NULL && metric == NULL;
    r->op = ALERT_GE;
    r->severity = d ? ALERT_CRITICAL : ALERT_WARNING;
    if (!r->is_event) {
        hm_err e = {{0}};
        if (alert_selector_parse(metric, &r->metric, &r->match, &e) < 0) {
            add_error(errors, cfg, "rule", s, "metric", "%s", e.msg);
            return false;
        }
        if (!alerts_metric_known(r->metric)) {
            const char *hint = suggest(r->metric, hm_metric_names);
            if (s) {
                if (hint)
                    add_error(errors, cfg, "rule", s, "metric",
                              "unknown metric '%s' (did you mean '%s'? 'hmctl metrics' lists "
                              "the stored series)", r->metric, hint);
                else
                    add_error(errors, cfg, "rule", s, "metric",
                              "unknown metric '%s' ('hmctl metrics' lists the stored series)",
                              r->metric);
            }
            ok = false;
        }
        const char *op = GET("op");
        if (!op && from_default) op = d->op;
        if (op && alert_op_parse(op, &r->op) < 0) ok = false; /* the schema reports it */
        const char *th = GET("threshold");
        if (th) {
            char *end;
            r->threshold = strtod(th, &end);
            if (end == th || *end) ok = false; /* the schema reports it */
        } else if (from_default) {
            r->threshold = d->threshold;
        } else {
            add_error(errors, cfg, "rule", s, NULL, "has no 'threshold' for metric '%s'", r->metric);
            ok = false;
        }
        const char *f = GET("for");
        if (!f && from_default) f = d->for_;
        if (f && hm_parse_duration(f, &r->for_ms) < 0) ok = false; /* the schema reports it */
        if (s && GET("result")) {
            add_error(errors, cfg, "rule", s, "result",
                      "'result' filters events; this rule watches metric '%s'", r->metric);
            ok = false;
        }
    } else {
        r->event = xstrdup(event);
        if (!alerts_event_known(event)) {
            const char *hint = suggest(event, event_types);
            strbuf list = {0};
            for (const char *const *t = event_types; *t; t++)
                sb_addf(&list, "%s%s", t == event_types ? "" : ", ", *t);
            if (hint)
                add_error(errors, cfg, "rule", s, "event", "unknown event type '%s' (did you mean "
                          "'%s'?)", event, hint);
            else
                add_error(errors, cfg, "rule", s, "event", "unknown event type '%s' (one of %s)",
                          event, sb_str(&list));
            sb_free(&list);
            ok = false;
        }
        const char *res = GET("result");
        if (!res && from_default) res = d->result;
        r->result = xstrdup(res);
        static const char *const not_for_events[] = {"op", "threshold", "for"};
        for (size_t i = 0; s && i < HM_ARRAY_LEN(not_for_events); i++) {
            if (GET(not_for_events[i])) {
                add_error(errors, cfg, "rule", s, not_for_events[i],
                          "'%s' does not apply to an event rule: it fires when the event is seen",
                          not_for_events[i]);
                ok = false;
            }
        }
    }
    const char *sev = GET("severity");
    if (sev && alert_severity_parse(sev, &r->severity) < 0) ok = false; /* schema reports it */
    const char *sum = GET("summary");
    if (!sum && from_default) sum = d->summary;
    if (!sum)
        sum = r->is_event ? "{event} on host {host}: {detail}"
                          : "{metric} {op} {threshold} on {host} (value {value})";
    r->summary = xstrdup(sum);
    if (s) cfg_get_list(cfg, "rule", name, "channels", &r->channels);
    if (s) check_channel_list(cfg, "rule", s, &r->channels, errors, &ok);
    const char *rep = GET("repeat");
    if (rep) hm_parse_duration(rep, &r->repeat_ms);
    const char *scope = GET("scope");
    if (scope) {
        r->scope = xstrdup(scope);
        strvec items = {0};
        sv_split_list(&items, scope);
        for (size_t i = 0; i < items.n; i++) {
            if (strcmp(items.v[i], "all") == 0) {
                sv_free(&r->scope_hosts);
                break;
            }
            sv_push(&r->scope_hosts, items.v[i]);
        }
        sv_free(&items);
    }
    if (d && s) {
        char loc[600];
        where(cfg, "rule", s, NULL, loc, sizeof loc);
        r->origin = xasprintf("default, overridden at %s", loc);
    } else if (d) {
        r->origin = xstrdup("default");
    } else {
        r->origin = xasprintf("%s:%d", s->file, s->line);
    }
#undef GET
    (void)ac;
    return ok;
}

static void add_rule(alert_conf *ac, alert_rule *r, size_t *cap)
{
    if (ac->n_rules == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        ac->rules = xrealloc(ac->rules, *cap * sizeof(alert_rule));
    }
    ac->rules[ac->n_rules++] = *r;
}

alert_conf *alerts_conf_load(const hm_config *cfg, strvec *errors)
{
    alert_conf *ac = xcalloc(1, sizeof *ac);
    ac->cfg = cfg;
    ac->enabled = cfg_get_bool(cfg, "alerts", NULL, "enabled", true);
    ac->repeat_ms = cfg_get_ms(cfg, "alerts", NULL, "repeat", 4 * 3600000LL);
    ac->staleness_ms = cfg_get_ms(cfg, "alerts", NULL, "staleness", 300000);
    ac->retry_for_ms = cfg_get_ms(cfg, "alerts", NULL, "retry_for", 86400000LL);
    ac->backoff_ms = cfg_get_ms(cfg, "alerts", NULL, "retry_backoff", 30000);
    ac->event_expiry_ms = cfg_get_ms(cfg, "alerts", NULL, "event_expiry", 86400000LL);
    ac->timeout_ms = cfg_get_ms(cfg, "alerts", NULL, "timeout", 10000);
    ac->send_resolved = cfg_get_bool(cfg, "alerts", NULL, "send_resolved", true);
    if (ac->repeat_ms <= 0) ac->repeat_ms = 4 * 3600000LL;
    if (ac->staleness_ms <= 0) ac->staleness_ms = 300000;
    if (ac->backoff_ms <= 0) ac->backoff_ms = 1000;
    const char *prefix = cfg_get(cfg, "alerts", NULL, "prefix");
    ac->prefix = xstrdup(prefix ? prefix : "[hmctl]");
    const char *ch = cfg_get(cfg, "alerts", NULL, "console_host");
    ac->console_host = xstrdup(ch && *ch ? ch : "console");
    cfg_get_list(cfg, "alerts", NULL, "channels", &ac->default_channels);
    const cfg_section *alerts_sec = cfg_section_find(cfg, "alerts", NULL);
    if (alerts_sec) {
        bool ok = true;
        check_channel_list(cfg, "alerts", alerts_sec, &ac->default_channels, errors, &ok);
        if (!ok) {
            /* keep only the channels that exist */
            strvec keep = {0};
            for (size_t i = 0; i < ac->default_channels.n; i++)
                if (channel_exists(cfg, ac->default_channels.v[i]))
                    sv_push(&keep, ac->default_channels.v[i]);
            sv_free(&ac->default_channels);
            ac->default_channels = keep;
        }
    }
    load_channels(ac, cfg, errors);

    size_t cap = 0;
    bool defaults = cfg_get_bool(cfg, "alerts", NULL, "defaults", true);
    for (size_t i = 0; defaults && i < HM_ARRAY_LEN(default_rules); i++) {
        const struct default_rule *d = &default_rules[i];
        const cfg_section *s = cfg_section_find(cfg, "rule", d->name);
        alert_rule r = {0};
        if (build_rule(ac, cfg, d, s, &r, errors)) add_rule(ac, &r, &cap);
        else rule_free(&r);
    }
    const cfg_section **secs;
    size_t n = cfg_sections_of(cfg, "rule", &secs);
    for (size_t i = 0; i < n; i++) {
        bool is_default = false;
        for (size_t k = 0; defaults && k < HM_ARRAY_LEN(default_rules); k++)
            if (strcmp(default_rules[k].name, secs[i]->name) == 0) is_default = true;
        if (is_default) continue;
        alert_rule r = {0};
        if (build_rule(ac, cfg, NULL, secs[i], &r, errors)) add_rule(ac, &r, &cap);
        else rule_free(&r);
    }
    free(secs);
    return ac;
}

void alerts_config_check(const hm_config *cfg, strvec *errors)
{
    alerts_conf_free(alerts_conf_load(cfg, errors));
}

const alert_rule *alerts_rule_find(const alert_conf *ac, const char *name)
{
    for (size_t i = 0; i < ac->n_rules; i++)
        if (strcmp(ac->rules[i].name, name) == 0) return &ac->rules[i];
    return NULL;
}

const alert_channel *alerts_channel_find(const alert_conf *ac, const char *name)
{
    for (size_t i = 0; i < ac->n_channels; i++)
        if (strcmp(ac->channels[i].name, name) == 0) return &ac->channels[i];
    return NULL;
}

static void format_number(double v, char *buf, size_t size)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15) snprintf(buf, size, "%.0f", v);
    else if (isfinite(v)) snprintf(buf, size, "%.1f", v);
    else snprintf(buf, size, "%s", v != v ? "NaN" : v > 0 ? "+Inf" : "-Inf");
}

static char *rule_expr(const alert_rule *r)
{
    strbuf sb = {0};
    if (r->is_event) {
        sb_addf(&sb, "event %s", r->event);
        if (r->result) sb_addf(&sb, " result %s", r->result);
        return sb_detach(&sb);
    }
    char th[64];
    format_number(r->threshold, th, sizeof th);
    char *m = alert_matchers_format(&r->match);
    sb_addf(&sb, "%s%s%s%s %s %s", r->metric, *m ? "{" : "", m, *m ? "}" : "", alert_op_name(r->op),
            th);
    free(m);
    if (r->for_ms > 0) {
        char d[32];
        hm_format_duration(r->for_ms, d, sizeof d);
        sb_addf(&sb, " for %s", d);
    }
    return sb_detach(&sb);
}

json_t *alerts_rules_json(const alert_conf *ac)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ac->n_rules; i++) {
        const alert_rule *r = &ac->rules[i];
        json_t *o = json_object();
        char *expr = rule_expr(r);
        json_object_set_new(o, "name", json_string(r->name));
        json_object_set_new(o, "kind", json_string(r->is_event ? "event" : "resource"));
        json_object_set_new(o, "expr", json_string(expr));
        free(expr);
        json_object_set_new(o, "for_ms", json_integer(r->for_ms));
        json_object_set_new(o, "severity", json_string(alert_severity_name(r->severity)));
        json_t *ch = json_array();
        const strvec *list = r->channels.n ? &r->channels : &ac->default_channels;
        for (size_t k = 0; k < list->n; k++) json_array_append_new(ch, json_string(list->v[k]));
        json_object_set_new(o, "channels", ch);
        json_object_set_new(o, "scope", json_string(r->scope ? r->scope : "all"));
        json_object_set_new(o, "summary", json_string(r->summary));
        json_object_set_new(o, "enabled", json_boolean(r->enabled));
        json_object_set_new(o, "origin", json_string(r->origin));
        json_array_append_new(arr, o);
    }
    return arr;
}

char *alert_render_summary(const char *tmpl, const alert_rule *rule, const alert_labels *labels,
                           double value, const char *series, const char *detail)
{
    strbuf sb = {0};
    for (const char *p = tmpl; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            sb_addc(&sb, *p++);
            continue;
        }
        char *key = xstrndup(p + 1, (size_t)(close - p - 1));
        char num[64];
        const char *v = NULL;
        if (strcmp(key, "rule") == 0) v = rule->name;
        else if (strcmp(key, "severity") == 0) v = alert_severity_name(rule->severity);
        else if (strcmp(key, "value") == 0) format_number(value, num, sizeof num), v = num;
        else if (strcmp(key, "threshold") == 0) format_number(rule->threshold, num, sizeof num), v = num;
        else if (strcmp(key, "op") == 0) v = alert_op_name(rule->op);
        else if (strcmp(key, "for") == 0) hm_format_duration(rule->for_ms, num, sizeof num), v = num;
        else if (strcmp(key, "metric") == 0) v = rule->metric ? rule->metric : "";
        else if (strcmp(key, "series") == 0) v = series ? series : "";
        else if (strcmp(key, "event") == 0) v = rule->event ? rule->event : "";
        else if (strcmp(key, "detail") == 0) v = detail ? detail : "";
        else v = alert_labels_get(labels, key);
        if (v) {
            sb_adds(&sb, v);
        } else {
            sb_add(&sb, p, (size_t)(close - p + 1));
        }
        free(key);
        p = close + 1;
    }
    return sb_detach(&sb);
}
