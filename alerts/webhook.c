/* Webhooks and the SMS gateway over lib/http: the Alertmanager-compatible JSON body signed
 * with HMAC-SHA256, DingTalk (markdown, timestamp + secret signature), WeCom (markdown),
 * Feishu (text, timestamp + secret signature), Slack (text), and an SMS gateway described by
 * URL, method, headers and a body template. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts-int.h"
#include "lib/clock.h"
#include "lib/http.h"

void alert_hmac_sha256_hex(const char *key, const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), data, len, md, &mdlen);
    for (unsigned i = 0; i < mdlen && i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

static char *hmac_base64(const char *key, const char *data)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, strlen(data), md,
         &mdlen);
    char *out = xmalloc(4 * ((mdlen + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    out[n] = '\0';
    return out;
}

char *alert_dingtalk_sign(const char *secret, int64_t timestamp_ms)
{
    char *data = xasprintf("%lld\n%s", (long long)timestamp_ms, secret);
    char *b64 = hmac_base64(secret, data);
    char *esc = hm_url_escape(b64);
    free(data);
    free(b64);
    return esc;
}

char *alert_feishu_sign(const char *secret, int64_t timestamp_s)
{
    char *key = xasprintf("%lld\n%s", (long long)timestamp_s, secret);
    char *b64 = hmac_base64(key, "");
    free(key);
    return b64;
}

char *alert_truncate_chars(const char *text, int max_chars)
{
    int chars = 0;
    const unsigned char *p = (const unsigned char *)text;
    const unsigned char *cut = NULL;
    for (; *p; p++) {
        if ((*p & 0xc0) == 0x80) continue; /* continuation byte */
        if (chars == max_chars - 1) cut = p;
        chars++;
    }
    if (chars <= max_chars || max_chars < 1) return xstrdup(text);
    strbuf sb = {0};
    sb_add(&sb, text, (size_t)(cut - (const unsigned char *)text));
    sb_adds(&sb, "\xe2\x80\xa6"); /* U+2026 */
    return sb_detach(&sb);
}

static void put_answer(strbuf *answer, const hm_http_resp *r)
{
    char *t = xstrndup(sb_str(&r->body), 200);
    for (char *p = t; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
    sb_addf(answer, "HTTP %ld %s", r->status, hm_strip(t));
    free(t);
}

/* Runs one request; the error never shows the URL's query (tokens). */
static int do_request(const alert_channel *ch, hm_http_req *req, hm_http_resp *resp, hm_err *e)
{
    req->timeout_ms = ch->timeout_ms;
    req->ca_file = ch->ca_file;
    hm_err he = {{0}};
    if (hm_http_do(NULL, req, resp, &he) < 0) {
        char *safe = alerts_url_redact(req->url);
        size_t n = strlen(req->url);
        const char *why = strncmp(he.msg, req->url, n) == 0 && he.msg[n] == ':' ? he.msg + n + 2
                                                                                  : he.msg;
        hm_err_set(e, "%s: %s", safe, why);
        free(safe);
        return -1;
    }
    if (resp->status < 200 || resp->status > 299) {
        char *safe = alerts_url_redact(req->url);
        char *t = hm_http_error_text(resp);
        hm_err_set(e, "%s answered HTTP %ld: %s", safe, resp->status, t);
        free(t);
        free(safe);
        return -1;
    }
    return 0;
}

/* DingTalk and WeCom answer 200 with {"errcode": N, "errmsg": "..."}; Feishu with
 * {"code": N, "msg": "..."} (or StatusCode in older bots). Non-zero is a refusal. */
static int check_json_code(const alert_channel *ch, const hm_http_resp *resp, hm_err *e)
{
    json_t *j = json_loads(sb_str(&resp->body), 0, NULL);
    if (!j) return 0; /* not JSON: the HTTP status decided */
    static const char *const codes[] = {"errcode", "code", "StatusCode"};
    static const char *const msgs[] = {"errmsg", "msg", "StatusMessage"};
    int rc = 0;
    for (size_t i = 0; i < HM_ARRAY_LEN(codes); i++) {
        json_t *c = json_object_get(j, codes[i]);
        if (json_is_integer(c) && json_integer_value(c) != 0) {
            char *safe = alerts_url_redact(ch->url);
            hm_err_set(e, "%s refused the message: %s %lld: %s", safe, codes[i],
                       (long long)json_integer_value(c), alerts_jstr(j, msgs[i]));
            free(safe);
            rc = -1;
            break;
        }
    }
    json_decref(j);
    return rc;
}

static char *with_query(const char *url, const char *params)
{
    return xasprintf("%s%s%s", url, strchr(url, '?') ? "&" : "?", params);
}

int alert_send_webhook(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
                       int64_t now_ms, strbuf *answer, hm_err *e)
{
    hm_err se = {{0}};
    char *secret = cfg_get_secret(ac->cfg, "channel", ch->name, "secret", &se);
    if (!secret && se.msg[0]) return hm_err_set(e, "%s", se.msg);
    char *token = cfg_get_secret(ac->cfg, "channel", ch->name, "token", &se);
    if (!token && se.msg[0]) {
        free(secret);
        return hm_err_set(e, "%s", se.msg);
    }
    char *body = NULL, *url = xstrdup(ch->url);
    char idh[64], sigh[128];
    const char *headers[4] = {"Content-Type: application/json", NULL, NULL, NULL};
    json_t *j = NULL;
    switch (ch->type) {
    case ALERT_CH_WEBHOOK: {
        body = json_dumps(msg->payload, JSON_COMPACT);
        snprintf(idh, sizeof idh, "X-Hmctl-Notification: %lld", (long long)msg->id);
        headers[1] = idh;
        if (secret) {
            char hex[65];
            alert_hmac_sha256_hex(secret, body, strlen(body), hex);
            snprintf(sigh, sizeof sigh, "X-Hmctl-Signature: sha256=%s", hex);
            headers[2] = sigh;
        }
        break;
    }
    case ALERT_CH_DINGTALK: {
        char *subject = alert_render_subject(ac, msg->payload);
        char *md = alert_render_markdown(ac, msg->payload, 18000);
        j = json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown", "title", subject,
                      "text", md);
        free(subject);
        free(md);
        if (token) {
            char *esc = hm_url_escape(token);
            char *p = xasprintf("access_token=%s", esc);
            char *u = with_query(url, p);
            free(esc);
            free(p);
            free(url);
            url = u;
        }
        if (secret) {
            char *sign = alert_dingtalk_sign(secret, now_ms);
            char *p = xasprintf("timestamp=%lld&sign=%s", (long long)now_ms, sign);
            char *u = with_query(url, p);
            free(sign);
            free(p);
            free(url);
            url = u;
        }
        break;
    }
    case ALERT_CH_WECOM: {
        /* WeCom markdown content is limited to 4096 bytes */
        char *md = alert_render_markdown(ac, msg->payload, 4000);
        j = json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown", "content", md);
        free(md);
        break;
    }
    case ALERT_CH_FEISHU:
    case ALERT_CH_SLACK: {
        char *subject = alert_render_subject(ac, msg->payload);
        char *text = alert_render_text(ac, msg->payload);
        char *all = xasprintf("%s\n\n%s", subject, text);
        char *cut = alert_truncate_chars(all, 6000);
        if (ch->type == ALERT_CH_SLACK) {
            j = json_pack("{s:s}", "text", cut);
        } else {
            j = json_pack("{s:s, s:{s:s}}", "msg_type", "text", "content", "text", cut);
            if (secret) {
                int64_t ts = now_ms / 1000;
                char *sign = alert_feishu_sign(secret, ts);
                char tss[32];
                snprintf(tss, sizeof tss, "%lld", (long long)ts);
                json_object_set_new(j, "timestamp", json_string(tss));
                json_object_set_new(j, "sign", json_string(sign));
                free(sign);
            }
        }
        free(subject);
        free(text);
        free(all);
        free(cut);
        break;
    }
    default:
        break;
    }
    if (j) {
        body = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    }
    hm_http_req req = {.method = "POST", .url = url, .body = body, .headers = headers};
    hm_http_resp resp = {0};
    int rc = do_request(ch, &req, &resp, e);
    if (rc == 0 && ch->type != ALERT_CH_WEBHOOK && ch->type != ALERT_CH_SLACK)
        rc = check_json_code(ch, &resp, e);
    if (rc == 0) put_answer(answer, &resp);
    hm_http_resp_free(&resp);
    free(body);
    free(url);
    free(secret);
    free(token);
    return rc;
}

/* --- SMS ------------------------------------------------------------------------------- */

enum escape { ESC_RAW, ESC_JSON, ESC_FORM, ESC_URL };

static void add_escaped(strbuf *sb, const char *v, enum escape how)
{
    if (how == ESC_JSON) {
        json_t *s = json_string(v);
        char *d = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        if (d && strlen(d) >= 2) sb_add(sb, d + 1, strlen(d) - 2);
        free(d);
        json_decref(s);
    } else if (how == ESC_FORM || how == ESC_URL) {
        char *x = hm_url_escape(v);
        sb_adds(sb, x);
        free(x);
    } else {
        sb_adds(sb, v);
    }
}

/* Expands {phone}, {message} and {token}; other braces stay as written (JSON bodies). */
static char *expand(const char *tmpl, const char *phone, const char *message, const char *token,
                    enum escape how)
{
    strbuf sb = {0};
    for (const char *p = tmpl; *p;) {
        const char *v = NULL;
        size_t skip = 0;
        if (strncmp(p, "{phone}", 7) == 0) v = phone, skip = 7;
        else if (strncmp(p, "{message}", 9) == 0) v = message, skip = 9;
        else if (strncmp(p, "{token}", 7) == 0) v = token ? token : "", skip = 7;
        if (skip) {
            add_escaped(&sb, v, how);
            p += skip;
        } else {
            sb_addc(&sb, *p++);
        }
    }
    return sb_detach(&sb);
}

int alert_send_sms(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
                   int *progress, strbuf *answer, hm_err *e)
{
    hm_err se = {{0}};
    char *token = cfg_get_secret(ac->cfg, "channel", ch->name, "token", &se);
    if (!token && se.msg[0]) return hm_err_set(e, "%s", se.msg);
    char *subject = alert_render_subject(ac, msg->payload);
    char *message = alert_truncate_chars(subject, ch->max_length);
    free(subject);
    const char *ct = ch->content_type ? ch->content_type : "application/json";
    enum escape how = strstr(ct, "json") ? ESC_JSON
                      : strstr(ct, "x-www-form-urlencoded") ? ESC_FORM
                                                            : ESC_RAW;
    int rc = 0;
    for (size_t i = (size_t)*progress; i < ch->to.n; i++) {
        const char *phone = ch->to.v[i];
        char *url = expand(ch->url, phone, message, token, ESC_URL);
        bool has_body = !ch->method || strcmp(ch->method, "GET") != 0;
        char *body = has_body ? expand(ch->body ? ch->body : "", phone, message, token, how)
                              : NULL;
        strvec hv = {0};
        char *ctype = xasprintf("Content-Type: %s", ct);
        if (has_body) sv_push_owned(&hv, ctype);
        else free(ctype);
        if (ch->headers) {
            char *all = expand(ch->headers, phone, message, token, ESC_RAW);
            for (char *save = NULL, *h = strtok_r(all, ";", &save); h;
                 h = strtok_r(NULL, ";", &save)) {
                hm_strip(h);
                if (*h) sv_push(&hv, h);
            }
            free(all);
        }
        hm_http_req req = {.method = ch->method ? ch->method : "POST", .url = url, .body = body,
                           .headers = (const char *const *)hv.v};
        hm_http_resp resp = {0};
        rc = do_request(ch, &req, &resp, e);
        if (rc == 0) {
            if (answer->len) sb_adds(answer, "; ");
            sb_addf(answer, "%s: ", phone);
            put_answer(answer, &resp);
            *progress = (int)i + 1;
        } else {
            hm_err_prefix(e, "SMS to %s", phone);
        }
        hm_http_resp_free(&resp);
        sv_free(&hv);
        free(url);
        free(body);
        if (rc < 0) break;
    }
    free(message);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    return rc;
}

int alert_send(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
               int *progress, strbuf *answer, hm_err *e, void *ud)
{
    (void)ud;
    switch (ch->type) {
    case ALERT_CH_SMTP: return alert_send_smtp(ac, ch, msg, answer, e);
    case ALERT_CH_SMS: return alert_send_sms(ac, ch, msg, progress, answer, e);
    default: return alert_send_webhook(ac, ch, msg, hm_now_ms(), answer, e);
    }
}

int alerts_test_channel(const alert_conf *ac, const char *name, int64_t now_ms, strbuf *answer,
                        hm_err *e)
{
    const alert_channel *ch = alerts_channel_find(ac, name);
    if (!ch) return hm_err_set(e, "no usable channel '%s' ('hmctl config check' tells why)", name);
    json_t *p = alerts_test_payload(ac, name, now_ms);
    alert_message msg = {.id = 0, .created_ms = now_ms, .payload = p};
    int progress = 0;
    int rc = alert_send(ac, ch, &msg, &progress, answer, e, NULL);
    json_decref(p);
    return rc;
}
