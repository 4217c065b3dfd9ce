/* The HTTP side of the console client: token, 401 retry, paging on one keep-alive handle. */
#include "console/console.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"

struct console {
    console_conf conf;
    char *password;
    char *token;
    hm_http *http;
};

int console_open(const hm_config *cfg, const char *name, console **out, hm_err *e)
{
    console *c = xcalloc(1, sizeof *c);
    if (console_conf_load(cfg, name, &c->conf, e) < 0) {
        free(c);
        return -1;
    }
    hm_err se = {{0}};
    c->password = cfg_get_secret(cfg, "console", c->conf.name, "password", &se);
    if (!c->password) {
        if (se.msg[0]) hm_err_set(e, "%s", se.msg);
        else {
            char env[128];
            cfg_secret_env_name("console", c->conf.name, "password", env, sizeof env);
            hm_err_set(e, "no password for %s at %s: set password_file (or password) in [%s%s%s%s] "
                          "or %s", c->conf.label, c->conf.url, "console", c->conf.name ? " \"" : "",
                       c->conf.name ? c->conf.name : "", c->conf.name ? "\"" : "", env);
        }
        console_close(c);
        return -1;
    }
    c->http = hm_http_new();
    *out = c;
    return 0;
}

void console_close(console *c)
{
    if (!c) return;
    if (c->password) memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->token);
    hm_http_free(c->http);
    console_conf_free(&c->conf);
    free(c);
}

const console_conf *console_settings(const console *c)
{
    return &c->conf;
}

void console_set_timeout(console *c, int64_t timeout_ms)
{
    if (timeout_ms < 1) timeout_ms = 1;
    if (timeout_ms < c->conf.timeout_ms) c->conf.timeout_ms = timeout_ms;
    if (c->conf.connect_timeout_ms > c->conf.timeout_ms) c->conf.connect_timeout_ms = c->conf.timeout_ms;
}

console *console_open_cli(const hm_config *cfg, const char *name)
{
    console *c = NULL;
    hm_err e = {{0}};
    if (console_open(cfg, name, &c, &e) < 0) {
        fprintf(stderr, "hmctl: %s\n", e.msg);
        return NULL;
    }
    if (c->conf.insecure)
        fprintf(stderr, "hmctl: warning: TLS verification is off for %s (insecure = yes): "
                        "anyone on the path can read the credentials\n", c->conf.url);
    return c;
}

/* One request with the client's TLS settings. Returns 0 with a 2xx answer in resp; -1 with e
 * naming the URL and the console's own words otherwise. *status gets the HTTP status. */
static int request(console *c, const char *method, const char *url, const char *body,
                   bool auth, hm_http_resp *resp, long *status, hm_err *e)
{
    char hdr[600];
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    if (body) headers[1] = "Content-Type: application/json";
    if (auth) {
        snprintf(hdr, sizeof hdr, "X-AUTH-TOKEN: %s", c->token ? c->token : "");
        headers[body ? 2 : 1] = hdr;
    }
    const char *all[4] = {headers[0], headers[1], headers[2], NULL};
    hm_http_req req = {
        .method = method,
        .url = url,
        .body = body,
        .headers = all,
        .timeout_ms = c->conf.timeout_ms,
        .connect_timeout_ms = c->conf.connect_timeout_ms,
        .ca_file = c->conf.ca_file,
        .pin_sha256 = c->conf.fingerprint,
        .insecure = c->conf.insecure,
    };
    *status = 0;
    if (hm_http_do(c->http, &req, resp, e) < 0) return -1;
    *status = resp->status;
    if (resp->status < 200 || resp->status > 299) {
        char *msg = hm_http_error_text(resp);
        hm_err_set(e, "%s: HTTP %ld: %s", url, resp->status, msg);
        free(msg);
        return -1;
    }
    return 0;
}

int console_login(console *c, hm_err *e)
{
    if (c->token) return 0;
    json_t *cred = json_pack("{s:s, s:s}", "username", c->conf.username ? c->conf.username : "",
                             "password", c->password);
    char *body = json_dumps(cred, JSON_COMPACT);
    json_decref(cred);
    char *url = xasprintf("%s/users/token", c->conf.url);
    hm_http_resp resp = {0};
    long status;
    int rc = request(c, "POST", url, body, false, &resp, &status, e);
    memset(body, 0, strlen(body));
    free(body);
    if (rc == 0 && console_parse_token(sb_str(&resp.body), &c->token, e) < 0) {
        hm_err_prefix(e, "malformed answer from %s", url);
        rc = -1;
    }
    hm_http_resp_free(&resp);
    free(url);
    return rc;
}

/* GET with the token; on 401 a new token once and the request once more (console-api.md). */
static int get(console *c, const char *url, hm_http_resp *resp, hm_err *e)
{
    if (console_login(c, e) < 0) return -1;
    long status;
    if (request(c, "GET", url, NULL, true, resp, &status, e) == 0) return 0;
    if (status != 401) return -1;
    hm_http_resp_free(resp);
    memset(resp, 0, sizeof *resp);
    free(c->token);
    c->token = NULL;
    if (console_login(c, e) < 0) return -1;
    return request(c, "GET", url, NULL, true, resp, &status, e);
}

/* POST with the token and the same 401 retry. A POST is an action: it is sent again only after a
 * 401, which the console answers before doing anything. */
static int post(console *c, const char *url, const char *body, hm_http_resp *resp, hm_err *e)
{
    if (console_login(c, e) < 0) return -1;
    long status;
    if (request(c, "POST", url, body, true, resp, &status, e) == 0) return 0;
    if (status != 401) return -1;
    hm_http_resp_free(resp);
    memset(resp, 0, sizeof *resp);
    free(c->token);
    c->token = NULL;
    if (console_login(c, e) < 0) return -1;
    return request(c, "POST", url, body, true, resp, &status, e);
}

/* Sends one action and reads its {"code", "message"} answer. */
static int action(console *c, const char *url, json_t *body, char **task_id, hm_err *e)
{
    char *text = json_dumps(body, JSON_COMPACT);
    hm_http_resp resp = {0};
    int rc = post(c, url, text, &resp, e);
    if (rc == 0 && console_parse_action(sb_str(&resp.body), task_id, e) < 0) {
        hm_err_prefix(e, "%s", url);
        rc = -1;
    }
    hm_http_resp_free(&resp);
    free(text);
    return rc;
}

static void set_opt(json_t *o, const char *k, const char *v)
{
    if (v && *v) json_object_set_new(o, k, json_string(v));
}

int console_boot_host(console *c, const char *host_id, const console_boot_req *req,
                      char **task_id, hm_err *e)
{
    if (task_id) *task_id = NULL;
    if (!req->backup_type || !*req->backup_type)
        return hm_err_set(e, "boot of %s: no backup_type", host_id);
    json_t *boot = json_object();
    set_opt(boot, "backup_type", req->backup_type);
    set_opt(boot, "snapshot_id", req->snapshot_id);
    set_opt(boot, "network", req->network);
    set_opt(boot, "flavor", req->flavor);
    set_opt(boot, "security_group", req->security_group);
    set_opt(boot, "availability_zone", req->availability_zone);
    set_opt(boot, "fixed_ip", req->fixed_ip);
    json_t *body = json_object();
    json_object_set_new(body, "boot", boot);
    char *esc = hm_url_escape(host_id);
    char *url = xasprintf("%s/hosts/%s/action", c->conf.url, esc);
    free(esc);
    int rc = action(c, url, body, task_id, e);
    json_decref(body);
    free(url);
    return rc;
}

int console_clean_hosts(console *c, const char *const *host_ids, size_t n, bool force,
                        hm_err *e)
{
    if (n == 0) return hm_err_set(e, "cleanup: no host given");
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(ids, json_string(host_ids[i]));
    json_t *body = json_pack("{s:o, s:{s:b}}", "ids", ids, "clean", "force", force);
    char *url = xasprintf("%s/hosts", c->conf.url);
    int rc = action(c, url, body, NULL, e);
    json_decref(body);
    free(url);
    return rc;
}

static void add_param(strbuf *sb, const char *name, const char *value)
{
    if (!value || !*value) return;
    char *esc = hm_url_escape(value);
    sb_addf(sb, "&%s=%s", name, esc);
    free(esc);
}

/* A set of ids (open addressing, FNV-1a): paging 10,000 hosts or a million jobs must stay
 * linear, and a host that moved between pages must still be listed once. */
typedef struct idset {
    char **slot;
    size_t cap, n;
} idset;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Adds id; returns false when it was already there. */
static bool idset_add(idset *set, const char *id)
{
    if ((set->n + 1) * 2 > set->cap) {
        idset big = {xcalloc(set->cap ? set->cap * 2 : 1024, sizeof(char *)),
                     set->cap ? set->cap * 2 : 1024, 0};
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i]) {
                size_t k = fnv(set->slot[i]) & (big.cap - 1);
                while (big.slot[k]) k = (k + 1) & (big.cap - 1);
                big.slot[k] = set->slot[i];
                big.n++;
            }
        free(set->slot);
        *set = big;
    }
    size_t k = fnv(id) & (set->cap - 1);
    while (set->slot[k]) {
        if (strcmp(set->slot[k], id) == 0) return false;
        k = (k + 1) & (set->cap - 1);
    }
    set->slot[k] = xstrdup(id);
    set->n++;
    return true;
}

static void idset_free(idset *set)
{
    for (size_t i = 0; i < set->cap; i++) free(set->slot[i]);
    free(set->slot);
}

static void drop_snapshots(console_host *h)
{
    for (size_t i = 0; i < h->n_snapshots; i++) {
        free(h->snapshots[i].id);
        free(h->snapshots[i].name);
        free(h->snapshots[i].status);
    }
    free(h->snapshots);
    h->snapshots = NULL;
    h->n_snapshots = 0;
}

int console_list_hosts(console *c, const console_host_query *q, console_hosts *out, hm_err *e)
{
    strbuf filt = {0};
    if (q) {
        add_param(&filt, "status", q->status);
        add_param(&filt, "kw", q->kw);
        add_param(&filt, "target_platform", q->target_platform);
        add_param(&filt, "ids", q->ids);
    }
    int rc = 0;
    idset ids = {0};
    for (size_t i = 0; i < out->n; i++) idset_add(&ids, out->v[i].id);
    for (long page = 1;; page++) {
        char *url = xasprintf("%s/hosts?page=%ld&page_size=%d%s", c->conf.url, page,
                              c->conf.page_size, sb_str(&filt));
        hm_http_resp resp = {0};
        long total = -1;
        console_hosts pg = {0};
        if (get(c, url, &resp, e) < 0) rc = -1;
        else if (console_parse_hosts(sb_str(&resp.body), &pg, &total, e) < 0) {
            hm_err_prefix(e, "malformed answer from %s", url);
            rc = -1;
        }
        hm_http_resp_free(&resp);
        free(url);
        if (rc < 0) {
            console_hosts_free(&pg);
            break;
        }
        for (size_t i = 0; i < pg.n; i++) {
            if (!idset_add(&ids, pg.v[i].id)) {
                console_host_clear(&pg.v[i]);
                continue;
            }
            if (q && q->no_snapshots) drop_snapshots(&pg.v[i]);
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 256;
                out->v = xrealloc(out->v, out->cap * sizeof *out->v);
            }
            out->v[out->n++] = pg.v[i];
        }
        size_t got = pg.n;
        free(pg.v);
        /* total missing or an empty page: the console has nothing more to give */
        if (total < 0 || got == 0 || page * (long)c->conf.page_size >= total) break;
    }
    idset_free(&ids);
    sb_free(&filt);
    return rc;
}

static bool idset_has(const idset *set, const char *id)
{
    if (!set->cap) return false;
    size_t k = fnv(id) & (set->cap - 1);
    for (; set->slot[k]; k = (k + 1) & (set->cap - 1))
        if (strcmp(set->slot[k], id) == 0) return true;
    return false;
}

/* One page of GET /jobs, read and parsed; run on a helper thread while the caller works
 * through the previous page. */
struct job_page {
    console *c;
    char *url;
    console_jobs pg;
    long total;
    int rc;
    hm_err e;
};

static void *job_page_fetch(void *arg)
{
    struct job_page *jp = arg;
    hm_http_resp resp = {0};
    jp->total = -1;
    jp->rc = 0;
    if (get(jp->c, jp->url, &resp, &jp->e) < 0) {
        jp->rc = -1;
    } else if (console_parse_jobs(sb_str(&resp.body), &jp->c->conf, &jp->pg, &jp->total,
                                  &jp->e) < 0) {
        hm_err_prefix(&jp->e, "malformed answer from %s", jp->url);
        jp->rc = -1;
    }
    hm_http_resp_free(&resp);
    return NULL;
}

static void job_page_start(struct job_page *jp, console *c, const char *filt, long page)
{
    memset(jp, 0, sizeof *jp);
    jp->c = c;
    jp->url = xasprintf("%s/jobs?page=%ld&page_size=%d%s", c->conf.url, page, c->conf.page_size,
                        filt);
}

static void job_page_free(struct job_page *jp)
{
    console_jobs_free(&jp->pg);
    free(jp->url);
    jp->url = NULL;
}

/* The paging loop of GET /jobs under console_list_jobs and console_walk_jobs. The next page is
 * read on a helper thread while fn works through the current one, so the console's time and
 * the caller's overlap; the client is used by one thread at a time all the same. fn may take a
 * job's fields (zeroing the struct); what it leaves is freed after it returns. Only the previous
 * page's ids are kept for the repeat check, so memory stays at about two pages. */
static int jobs_pages(console *c, const console_job_query *q,
                      int (*fn)(console_job *j, void *ud), void *ud, hm_err *e)
{
    strbuf filt = {0};
    add_param(&filt, "status", q && q->status ? q->status : "all");
    if (q) {
        add_param(&filt, "job_type", q->job_type);
        add_param(&filt, "owner", q->owner);
        add_param(&filt, "id", q->host_id);
    }
    int64_t since = q ? q->since_ms : 0;
    int rc = 0;
    idset prev = {0}, cur = {0};
    struct job_page pages[2], *now = &pages[0], *next = &pages[1];
    job_page_start(now, c, sb_str(&filt), 1);
    job_page_fetch(now);
    for (long page = 1;; page++) {
        if (now->rc < 0) {
            if (e) *e = now->e;
            rc = -1;
            job_page_free(now);
            break;
        }
        bool all_old = now->pg.n > 0;
        for (size_t i = 0; i < now->pg.n; i++) {
            int64_t t = now->pg.v[i].start_ms;
            if (!since || t >= since || !t) all_old = false;
        }
        size_t got = now->pg.n;
        bool more = !(now->total < 0 || got == 0 ||
                      page * (long)c->conf.page_size >= now->total) && !(since && all_old);
        pthread_t th;
        bool threaded = false;
        if (more) {
            job_page_start(next, c, sb_str(&filt), page + 1);
            threaded = pthread_create(&th, NULL, job_page_fetch, next) == 0;
        }
        bool stop = false;
        for (size_t i = 0; i < now->pg.n; i++) {
            console_job *j = &now->pg.v[i];
            bool again = j->task_id && idset_has(&prev, j->task_id);
            if (j->task_id) idset_add(&cur, j->task_id);
            if (!again && !stop && fn(j, ud)) stop = true;
            console_job_clear(j);
        }
        now->pg.n = 0;
        job_page_free(now);
        idset_free(&prev);
        prev = cur;
        memset(&cur, 0, sizeof cur);
        if (more) {
            if (threaded) pthread_join(th, NULL);
            else job_page_fetch(next);
        }
        struct job_page *t = now;
        now = next;
        next = t;
        if (!more) break;
        if (stop) {
            job_page_free(now);
            break;
        }
    }
    idset_free(&prev);
    sb_free(&filt);
    return rc;
}

struct list_ctx {
    console_jobs *out;
    int64_t since;
    idset ids;
};

static int list_one(console_job *j, void *ud)
{
    struct list_ctx *lc = ud;
    int64_t t = j->start_ms;
    bool keep = !lc->since || t >= lc->since || !t || (j->end_ms && j->end_ms >= lc->since);
    if (keep && j->task_id && !idset_add(&lc->ids, j->task_id)) keep = false;
    if (!keep) return 0;
    console_jobs *out = lc->out;
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 256;
        out->v = xrealloc(out->v, out->cap * sizeof *out->v);
    }
    out->v[out->n++] = *j;
    memset(j, 0, sizeof *j);
    return 0;
}

int console_list_jobs(console *c, const console_job_query *q, console_jobs *out, hm_err *e)
{
    struct list_ctx lc = {out, q ? q->since_ms : 0, {0}};
    int rc = jobs_pages(c, q, list_one, &lc, e);
    idset_free(&lc.ids);
    return rc;
}

struct walk_ctx {
    console_job_fn fn;
    void *ud;
};

static int walk_one(console_job *j, void *ud)
{
    struct walk_ctx *wc = ud;
    return wc->fn(j, wc->ud);
}

int console_walk_jobs(console *c, const console_job_query *q, console_job_fn fn, void *ud,
                      hm_err *e)
{
    struct walk_ctx wc = {fn, ud};
    return jobs_pages(c, q, walk_one, &wc, e);
}

int console_list_targets(console *c, console_targets *out, hm_err *e)
{
    char *url = xasprintf("%s/targets", c->conf.url);
    hm_http_resp resp = {0};
    int rc = get(c, url, &resp, e);
    if (rc == 0 && console_parse_targets(sb_str(&resp.body), out, e) < 0) {
        hm_err_prefix(e, "malformed answer from %s", url);
        rc = -1;
    }
    hm_http_resp_free(&resp);
    free(url);
    return rc;
}

int console_get_target(console *c, const char *uuid, console_target *out, hm_err *e)
{
    char *esc = hm_url_escape(uuid);
    char *url = xasprintf("%s/targets/%s", c->conf.url, esc);
    free(esc);
    hm_http_resp resp = {0};
    int rc = get(c, url, &resp, e);
    if (rc == 0 && console_parse_target(sb_str(&resp.body), out, e) < 0) {
        hm_err_prefix(e, "malformed answer from %s", url);
        rc = -1;
    }
    hm_http_resp_free(&resp);
    free(url);
    return rc;
}
