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

/* One request with the client's TLS settings on connection http, with token when auth is set.
 * Returns 0 with a 2xx answer in resp; -1 with e naming the URL and the console's own words
 * otherwise. *status gets the HTTP status. Reads nothing of c but its settings, so helper
 * threads may call it with their own connection and a copy of the token. */
static int request_on(const console *c, hm_http *http, const char *token, const char *method,
                      const char *url, const char *body, bool auth, hm_http_resp *resp,
                      long *status, hm_err *e)
{
    char hdr[600];
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    if (body) headers[1] = "Content-Type: application/json";
    if (auth) {
        snprintf(hdr, sizeof hdr, "X-AUTH-TOKEN: %s", token ? token : "");
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
    if (hm_http_do(http, &req, resp, e) < 0) return -1;
    *status = resp->status;
    if (resp->status < 200 || resp->status > 299) {
        char *msg = hm_http_error_text(resp);
        hm_err_set(e, "%s: HTTP %ld: %s", url, resp->status, msg);
        free(msg);
        return -1;
    }
    return 0;
}

/* request_on with the client's own connection and token. */
static int request(console *c, const char *method, const char *url, const char *body,
                   bool auth, hm_http_resp *resp, long *status, hm_err *e)
{
    return request_on(c, c->http, c->token, method, url, body, auth, resp, status, e);
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
 * linear, and a host that moved between pages must still be listed once. The ids are copied
 * one after the other into one buffer; a slot holds its id's offset plus one (0: empty). */
typedef struct idset {
    size_t *slot;
    size_t cap, n;
    strbuf keys;
} idset;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static const char *idset_key(const idset *set, size_t slot)
{
    return set->keys.buf + set->slot[slot] - 1;
}

/* The slot of id, or of the empty place where it would go. */
static size_t idset_find(const idset *set, const char *id)
{
    size_t k = fnv(id) & (set->cap - 1);
    while (set->slot[k] && strcmp(idset_key(set, k), id) != 0) k = (k + 1) & (set->cap - 1);
    return k;
}

/* Adds id; returns false when it was already there. */
static bool idset_add(idset *set, const char *id)
{
    if ((set->n + 1) * 2 > set->cap) {
        idset big = {xcalloc(set->cap ? set->cap * 2 : 1024, sizeof(size_t)),
                     set->cap ? set->cap * 2 : 1024, set->n, set->keys};
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i]) big.slot[idset_find(&big, idset_key(set, i))] = set->slot[i];
        free(set->slot);
        *set = big;
    }
    size_t k = idset_find(set, id);
    if (set->slot[k]) return false;
    set->slot[k] = set->keys.len + 1;
    sb_add(&set->keys, id, strlen(id) + 1);
    set->n++;
    return true;
}

/* An empty set with room for about n ids without growing. */
static void idset_init(idset *set, size_t n)
{
    memset(set, 0, sizeof *set);
    set->cap = 1024;
    while (set->cap < (n + 1) * 2) set->cap *= 2;
    set->slot = xcalloc(set->cap, sizeof(size_t));
}

static bool idset_has(const idset *set, const char *id)
{
    return set->cap && set->slot[idset_find(set, id)];
}

static void idset_free(idset *set)
{
    free(set->slot);
    sb_free(&set->keys);
    memset(set, 0, sizeof *set);
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

/* Pages of GET /jobs read ahead of the one the caller works through, each on a helper thread
 * with its own connection, so the console's answer, its parsing and the caller's work on the
 * page before overlap. The console's list grows at the front while it is read, which moves every
 * job down; a page asked for after the one before it therefore sees the list moved as far or
 * further, so a job is at worst seen twice (the repeat check drops it), never skipped. That
 * needs every page asked for only once the page before it is answered: a pager's `answered`
 * counter orders the requests, while the parsing of the answers runs side by side. */
enum { JOBS_AHEAD = 2, JOBS_SLOTS = JOBS_AHEAD + 1 };

struct pager {
    console *c;
    const char *filt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long answered; /* the last page whose answer has arrived (or whose request failed) */
};

/* One page, on a helper thread with its own connection and a copy of the token (the caller may
 * renew c->token meanwhile). */
struct job_page {
    struct pager *pager;
    hm_http *http;
    char *token;
    char *url;
    long page;
    console_jobs pg;
    long total;
    long status; /* HTTP status of a failed read; on 401 the caller reads the page again */
    int rc;
    hm_err e;
    pthread_t th;
    bool threaded;
};

static void pager_answered(struct pager *p, long page)
{
    pthread_mutex_lock(&p->mu);
    if (page > p->answered) p->answered = page;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void job_page_parse(struct job_page *jp, hm_http_resp *resp)
{
    if (console_parse_jobs(sb_str(&resp->body), &jp->pager->c->conf, &jp->pg, &jp->total,
                           &jp->e) < 0) {
        hm_err_prefix(&jp->e, "malformed answer from %s", jp->url);
        jp->rc = -1;
    }
}

static void *job_page_fetch(void *arg)
{
    struct job_page *jp = arg;
    struct pager *p = jp->pager;
    pthread_mutex_lock(&p->mu);
    while (p->answered < jp->page - 1) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    hm_http_resp resp = {0};
    int rc = request_on(p->c, jp->http, jp->token, "GET", jp->url, NULL, true, &resp,
                        &jp->status, &jp->e);
    pager_answered(p, jp->page);
    if (rc < 0) jp->rc = -1;
    else job_page_parse(jp, &resp);
    hm_http_resp_free(&resp);
    return NULL;
}

static void job_page_reset(struct job_page *jp, long page)
{
    struct pager *p = jp->pager;
    console_jobs_free(&jp->pg);
    free(jp->url);
    free(jp->token);
    jp->url = xasprintf("%s/jobs?page=%ld&page_size=%d%s", p->c->conf.url, page,
                        p->c->conf.page_size, p->filt);
    jp->token = NULL;
    jp->page = page;
    jp->total = -1;
    jp->status = 0;
    jp->rc = 0;
    memset(&jp->e, 0, sizeof jp->e);
}

/* Reads page `page` into jp on the caller's thread and connection, with the 401 retry. */
static void job_page_read(struct job_page *jp, long page)
{
    job_page_reset(jp, page);
    hm_http_resp resp = {0};
    if (get(jp->pager->c, jp->url, &resp, &jp->e) < 0) jp->rc = -1;
    else job_page_parse(jp, &resp);
    hm_http_resp_free(&resp);
    pager_answered(jp->pager, page);
}

/* Starts reading page `page` into jp on a helper thread (on the caller's thread when no thread
 * can be made). */
static void job_page_start(struct job_page *jp, long page)
{
    console *c = jp->pager->c;
    job_page_reset(jp, page);
    if (!jp->http) jp->http = hm_http_new();
    jp->token = c->token ? xstrdup(c->token) : NULL;
    jp->threaded = pthread_create(&jp->th, NULL, job_page_fetch, jp) == 0;
    if (!jp->threaded) job_page_fetch(jp);
}

static void job_page_join(struct job_page *jp)
{
    if (jp->threaded) pthread_join(jp->th, NULL);
    jp->threaded = false;
}

static void job_page_done(struct job_page *jp)
{
    job_page_join(jp);
    console_jobs_free(&jp->pg);
    free(jp->url);
    free(jp->token);
    jp->url = jp->token = NULL;
}

/* The paging loop of GET /jobs under console_list_jobs and console_walk_jobs. Page 1 is read
 * first (it tells the total); then, while fn works through page p, pages up to p + JOBS_AHEAD
 * are read. Pages are handed to fn in order. A page answered 401 is read again on the caller's
 * thread after a new token, and the pages read ahead of it are dropped and read again after it,
 * keeping the order of the requests. fn may take a job's fields (zeroing the struct); what it
 * leaves is freed after it returns. Only the previous page's ids are kept for the repeat
 * check. */
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
    long size = c->conf.page_size;
    int rc = 0;
    idset prev = {0}, cur = {0};
    struct pager pager = {.c = c, .filt = sb_str(&filt)};
    pthread_mutex_init(&pager.mu, NULL);
    pthread_cond_init(&pager.cv, NULL);
    struct job_page slots[JOBS_SLOTS];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < JOBS_SLOTS; i++) slots[i].pager = &pager;
    job_page_read(&slots[1 % JOBS_SLOTS], 1);
    long launched = 1, total = -1;
    for (long page = 1;; page++) {
        struct job_page *now = &slots[page % JOBS_SLOTS];
        job_page_join(now);
        if (now->rc < 0 && now->status == 401) {
            /* drop what was read ahead with the old token and read this page again (get
             * renews the token); every helper is joined, so no lock is needed here */
            for (int i = 0; i < JOBS_SLOTS; i++)
                if (&slots[i] != now) job_page_done(&slots[i]);
            pager.answered = page - 1;
            job_page_read(now, page);
            launched = page;
        }
        if (now->rc < 0) {
            if (e) *e = now->e;
            rc = -1;
            break;
        }
        if (now->total >= 0) total = now->total;
        bool all_old = now->pg.n > 0;
        for (size_t i = 0; i < now->pg.n; i++) {
            int64_t t = now->pg.v[i].start_ms;
            if (!since || t >= since || !t) all_old = false;
        }
        bool more = !(now->total < 0 || now->pg.n == 0 || page * size >= now->total) &&
                    !(since && all_old);
        /* read ahead while this page is worked through */
        for (; more && launched < page + JOBS_AHEAD && launched * size < total; launched++)
            job_page_start(&slots[(launched + 1) % JOBS_SLOTS], launched + 1);
        bool stop = false;
        for (size_t i = 0; i < now->pg.n; i++) {
            console_job *j = &now->pg.v[i];
            bool again = j->task_id && idset_has(&prev, j->task_id);
            if (j->task_id) idset_add(&cur, j->task_id);
            if (!again && !stop && fn(j, ud)) stop = true;
            console_job_clear(j);
        }
        now->pg.n = 0;
        job_page_done(now);
        idset_free(&prev);
        prev = cur;
        idset_init(&cur, prev.n);
        if (!more || stop) break;
    }
    /* pages read ahead but not needed */
    for (int i = 0; i < JOBS_SLOTS; i++) {
        job_page_done(&slots[i]);
        hm_http_free(slots[i].http);
    }
    pthread_cond_destroy(&pager.cv);
    pthread_mutex_destroy(&pager.mu);
    idset_free(&prev);
    idset_free(&cur);
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
