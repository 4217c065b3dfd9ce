/* RabbitMQ collector: management API overview and queue depths. */
#include "collectors/rabbitmq.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/net.h"
#include "lib/http.h"

void rabbitmq_info_free(rabbitmq_info *info)
{
    for (size_t i = 0; i < info->n_queues; i++) {
        free(info->queues[i].name);
        free(info->queues[i].vhost);
    }
    free(info->queues);
    free(info->version);
    free(info->node);
    memset(info, 0, sizeof *info);
}

static json_t *load_json(const char *s, hm_err *e)
{
    if (!s || !s[strspn(s, " \t\r\n")]) {
        hm_err_set(e, "empty answer instead of JSON");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loads(s, 0, &je);
    if (!root) hm_err_set(e, "malformed JSON at line %d: %s", je.line, je.text);
    return root;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The broker omits the counters of a queue it has no stats for yet (a fresh, idle queue). */
static double jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0;
}

int rabbitmq_parse_overview(const char *json, rabbitmq_info *info, hm_err *e)
{
    json_t *root = load_json(json, e);
    if (!root) return -1;
    if (!json_is_object(root)) {
        json_decref(root);
        return hm_err_set(e, "expected a JSON object");
    }
    free(info->version);
    free(info->node);
    info->version = xstrdup(jstr(root, "rabbitmq_version"));
    info->node = xstrdup(jstr(root, "node"));
    json_decref(root);
    return 0;
}

int rabbitmq_parse_queues(const char *json, rabbitmq_info *info, hm_err *e)
{
    json_t *root = load_json(json, e);
    if (!root) return -1;
    if (!json_is_array(root)) {
        json_decref(root);
        return hm_err_set(e, "expected an array of queues");
    }
    size_t i;
    json_t *q;
    info->queues = xrealloc(info->queues, (info->n_queues + json_array_size(root) + 1) * sizeof *info->queues);
    json_array_foreach(root, i, q) {
        const char *name = jstr(q, "name");
        if (!name) continue;
        const char *vhost = jstr(q, "vhost");
        info->queues[info->n_queues++] = (rabbitmq_queue){
            xstrdup(name), xstrdup(vhost ? vhost : "/"), jnum(q, "messages"),
            jnum(q, "messages_ready"), jnum(q, "messages_unacknowledged"), jnum(q, "consumers")};
    }
    json_decref(root);
    return 0;
}

static void queue_sample(hm_result *out, const char *metric, const rabbitmq_queue *q, double v,
                         int64_t ts)
{
    char *series = strcmp(q->vhost, "/") == 0
                       ? hm_series(metric, "queue", q->name, NULL)
                       : hm_series(metric, "queue", q->name, "vhost", q->vhost, NULL);
    hm_result_add_sample(out, series, v, "count", ts);
    free(series);
}

void rabbitmq_report(const rabbitmq_info *info, double queue_warning, int64_t now_ms,
                     hm_result *out)
{
    double total = 0;
    const rabbitmq_queue *fullest = NULL;
    size_t over = 0;
    for (size_t i = 0; i < info->n_queues; i++) {
        const rabbitmq_queue *q = &info->queues[i];
        total += q->messages;
        if (q->messages >= queue_warning) {
            over++;
            if (!fullest || q->messages > fullest->messages) fullest = q;
        }
        queue_sample(out, "rabbitmq.queue.messages", q, q->messages, now_ms);
        queue_sample(out, "rabbitmq.queue.messages_ready", q, q->ready, now_ms);
        queue_sample(out, "rabbitmq.queue.messages_unacknowledged", q, q->unacked, now_ms);
        queue_sample(out, "rabbitmq.queue.consumers", q, q->consumers, now_ms);
    }
    hm_result_add_sample(out, "rabbitmq.up", 1, "bool", now_ms);
    hm_result_add_sample(out, "rabbitmq.queues", (double)info->n_queues, "count", now_ms);
    strbuf sb = {0};
    sb_addf(&sb, "RabbitMQ %s on %s: %zu queue%s, %.0f message%s",
            info->version ? info->version : "(version unknown)", info->node ? info->node : "(node unknown)",
            info->n_queues, info->n_queues == 1 ? "" : "s", total, total == 1 ? "" : "s");
    if (fullest) {
        strbuf w = {0};
        sb_addf(&w, "queue '%s'", fullest->name);
        if (strcmp(fullest->vhost, "/") != 0) sb_addf(&w, " in vhost '%s'", fullest->vhost);
        sb_addf(&w, " holds %.0f message%s (warning at %g)", fullest->messages,
                fullest->messages == 1 ? "" : "s", queue_warning);
        if (over > 1) sb_addf(&w, "; %zu more queue%s at or above it", over - 1, over == 2 ? "" : "s");
        sb_addf(&w, "; %s", sb_str(&sb));
        hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_WARNING, "up", "%s", sb_str(&w));
        sb_free(&w);
    } else {
        hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_OK, "up", "%s", sb_str(&sb));
    }
    sb_free(&sb);
}

/* One GET of the management API. Returns 0 on 200 with the body in resp; otherwise adds the
 * component saying why and returns -1. */
static int api_get(hm_http *h, const hm_collect_ctx *cc, const char *base, const char *path,
                   const char *user, const char *password, hm_http_resp *resp, hm_result *out)
{
    char *url = xasprintf("%s%s", base, path);
    hm_http_req req = {.url = url, .username = user, .password = password,
                       .timeout_ms = net_remaining_ms(cc->deadline_mono)};
    hm_err e = {{0}};
    int ret = -1;
    if (hm_http_do(h, &req, resp, &e) < 0) {
        hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_CRITICAL, "down",
                                "cannot reach RabbitMQ management: %s", e.msg);
    } else if (resp->status == 401 || resp->status == 403) {
        hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_UNKNOWN, "auth failed",
                                "RabbitMQ management at %s refused user '%s' (HTTP %ld)", base,
                                user, resp->status);
    } else if (resp->status != 200) {
        char *t = hm_http_error_text(resp);
        hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_CRITICAL, "error",
                                "RabbitMQ management at %s answered HTTP %ld to %s: %s", base,
                                resp->status, path, t);
        free(t);
    } else {
        ret = 0;
    }
    free(url);
    return ret;
}

void collect_rabbitmq(const hm_collect_ctx *cc, hm_result *out)
{
    const hm_config *cfg = cc->cfg;
    if (!cfg_get_bool(cfg, "rabbitmq", NULL, "enabled", true)) return;
    const char *url = cfg_get(cfg, "rabbitmq", NULL, "url");
    const char *user = cfg_get(cfg, "rabbitmq", NULL, "username");
    if (!url) url = "http://127.0.0.1:15672";
    if (!user) user = "guest";
    char *base = xstrndup(url, strlen(url) - (url[0] && url[strlen(url) - 1] == '/'));
    hm_err e = {{0}};
    char *password = cfg_get_secret(cfg, "rabbitmq", NULL, "password", &e);
    if (!password && e.msg[0]) {
        hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_UNKNOWN, "no password", "%s", e.msg);
        hm_result_add_sample(out, "rabbitmq.up", 0, "bool", cc->now_ms);
        free(base);
        return;
    }
    /* A fresh broker's only account is guest/guest, usable from localhost: the default user
     * then works without any configuration. */
    if (!password && strcmp(user, "guest") == 0) password = xstrdup("guest");
    hm_http *h = hm_http_new();
    hm_http_resp resp = {0};
    rabbitmq_info info = {0};
    bool ok = false;
    if (api_get(h, cc, base, "/api/overview", user, password, &resp, out) == 0) {
        if (rabbitmq_parse_overview(sb_str(&resp.body), &info, &e) < 0) {
            hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_UNKNOWN, "error",
                                    "RabbitMQ management at %s sent an unreadable /api/overview: %s",
                                    base, e.msg);
        } else {
            hm_http_resp_free(&resp);
            if (api_get(h, cc, base, "/api/queues", user, password, &resp, out) == 0) {
                if (rabbitmq_parse_queues(sb_str(&resp.body), &info, &e) < 0)
                    hm_result_add_component(out, "rabbitmq", "rabbitmq", HM_UNKNOWN, "error",
                                            "RabbitMQ management at %s sent an unreadable /api/queues: %s",
                                            base, e.msg);
                else ok = true;
            }
        }
    }
    if (ok) {
        double warn = cfg_get_number(cfg, "thresholds", NULL, "queue_warning", 10);
        rabbitmq_report(&info, warn, cc->now_ms, out);
    } else {
        hm_result_add_sample(out, "rabbitmq.up", 0, "bool", cc->now_ms);
    }
    rabbitmq_info_free(&info);
    hm_http_resp_free(&resp);
    hm_http_free(h);
    if (password) {
        /* The password should not linger in freed heap memory. */
        explicit_bzero(password, strlen(password));
        free(password);
    }
    free(base);
}
