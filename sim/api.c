/* The HTTP side of hmsim: the console API of shared/console-api.md under /hypermotion/v1, the
 * faults a test can arm, and the control endpoint under /_hmsim/. */
#include "sim/sim.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/clock.h"

#define API_PREFIX "/hypermotion/v1"
#define CONTROL_PREFIX "/_hmsim/"
#define MAX_BODY (1 << 20)
#define TOKEN_TTL_MS (24LL * 3600 * 1000)
#define MAX_TOKENS 4096
#define MAX_PAGE_SIZE 10000

struct request {
    strbuf body;
    bool too_big;
};

/* A handler's answer: a status and either a JSON tree, serialised by send_reply once the fleet
 * lock is released, or a body already written out (the host pages). */
struct reply {
    unsigned status; /* 0 until a handler has answered */
    json_t *json;
    char *body;
    size_t len;
};

/* A body announced in full by Content-Length of which only `send` bytes go out. */
struct truncated {
    char *buf;
    size_t send;
};

/* Answers with o (the reply takes the reference). The tree is only kept here: send_reply writes
 * it out, after the fleet lock is released. */
static void reply_json(struct reply *r, unsigned status, json_t *o)
{
    r->status = status;
    r->json = o;
}

static void reply_msg(struct reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_msg(struct reply *r, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf sb = {0};
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    reply_json(r, status, json_pack("{s:i,s:s}", "code", (int)status, "message", sb_str(&sb)));
    sb_free(&sb);
}

/* A time field of the answers: null for ms <= 0 (never happened), else its text. */
static json_t *time_json(int64_t ms)
{
    if (ms <= 0) return json_null();
    char buf[32];
    hm_format_time(ms, buf, sizeof buf);
    return json_string_nocheck(buf);
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

static int parse_uint(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_page(struct MHD_Connection *c, struct reply *r, long *page, long *size)
{
    const char *p = arg(c, "page"), *s = arg(c, "page_size");
    *page = 1;
    *size = 10;
    if (p && parse_uint(p, 1, 1L << 30, page)) {
        reply_msg(r, 400, "invalid page '%s': expected a number from 1", p);
        return -1;
    }
    if (s && parse_uint(s, 1, MAX_PAGE_SIZE, size)) {
        reply_msg(r, 400, "invalid page_size '%s': expected 1 to %d", s, MAX_PAGE_SIZE);
        return -1;
    }
    return 0;
}

/* Hosts are written straight into the answer rather than built as jansson trees: a page of
 * 100 hosts with their snapshots is some 6,000 JSON values, and the tree costs most of the time. */
static void put_str(strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sb_addc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            sb_addc(sb, '\\');
            sb_addc(sb, (char)*p);
        } else if (*p < 0x20) {
            char esc[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
            sb_adds(sb, esc);
        } else {
            sb_addc(sb, (char)*p);
        }
    }
    sb_addc(sb, '"');
}

static void put_key(strbuf *sb, const char *key, bool first)
{
    if (!first) sb_addc(sb, ',');
    put_str(sb, key);
    sb_addc(sb, ':');
}

static void put_kstr(strbuf *sb, const char *key, const char *value)
{
    put_key(sb, key, false);
    if (value) put_str(sb, value);
    else sb_adds(sb, "null");
}

static void put_ktime(strbuf *sb, const char *key, int64_t ms)
{
    char buf[32];
    if (ms > 0) hm_format_time(ms, buf, sizeof buf);
    put_kstr(sb, key, ms > 0 ? buf : NULL);
}

static void put_snap(strbuf *sb, const struct sim_fleet *f, const struct sim_host *h,
                     uint32_t seq, int64_t at_ms, uint64_t size, bool doing)
{
    char id[37], when[32];
    fleet_snap_id(f, h, seq, id);
    hm_format_time(at_ms, when, sizeof when);
    sb_addf(sb,
            "{\"id\":\"%s\",\"snapshot_name\":\"snapshot-%u\",\"created_at\":\"%s\","
            "\"size\":%llu,\"status\":\"%s\"}",
            id, seq, when, (unsigned long long)size, doing ? "create_doing" : "create_done");
}

static void put_snaps(strbuf *sb, const struct sim_fleet *f, const struct sim_host *h)
{
    sb_addc(sb, '[');
    if (h->syncing) put_snap(sb, f, h, h->snap_seq + 1, h->sync_start_ms, 0, true);
    for (unsigned k = 0; k < h->nsnaps; k++) {
        if (k || h->syncing) sb_addc(sb, ',');
        put_snap(sb, f, h, h->snaps[k].seq, h->snaps[k].at_ms, (uint64_t)h->snaps[k].size_mb << 20,
                 false);
    }
    sb_addc(sb, ']');
}

static json_t *snaps_json(const struct sim_fleet *f, const struct sim_host *h)
{
    strbuf sb = {0};
    put_snaps(&sb, f, h);
    json_t *a = json_loads(sb_str(&sb), 0, NULL);
    sb_free(&sb);
    return a;
}

static void put_detail(strbuf *sb, const struct sim_host *h, int64_t now)
{
    if (!h->syncing) {
        sb_adds(sb, "{}");
        return;
    }
    int64_t total = h->sync_end_ms - h->sync_start_ms;
    int64_t done = now - h->sync_start_ms;
    if (done < 0) done = 0;
    if (done > total) done = total;
    double frac = total > 0 ? (double)done / (double)total : 1;
    uint64_t synced = (uint64_t)((double)h->sync_bytes * frac);
    /* the console reports the link speed the transfer runs at, in whole Mbps */
    double secs = (double)total / 1000.0;
    unsigned mbps = (unsigned)((double)h->sync_bytes * 8 / 1e6 / (secs > 0.001 ? secs : 0.001));
    sb_addf(sb,
            "{\"percent\":%d,\"speed\":\"%uMbps\",\"sync_total\":\"%lluMB\",\"synced\":\"%lluMB\","
            "\"remaining_time\":%lld}",
            (int)(frac * 100), mbps ? mbps : 1, (unsigned long long)(h->sync_bytes >> 20),
            (unsigned long long)(synced >> 20), (long long)((total - done + 999) / 1000));
}

static void put_host(strbuf *sb, const struct sim_fleet *f, const struct sim_host *h, int64_t now)
{
    const struct sim_gateway *gw = &f->gws[h->gateway];
    char ip[32], mac[32];
    sb_addc(sb, '{');
    put_key(sb, "id", true);
    put_str(sb, h->id);
    put_kstr(sb, "host_name", h->name);
    put_kstr(sb, "host_type", sim_host_type_name(h->type));
    put_kstr(sb, "system_type", h->windows ? "Windows" : "Linux");
    snprintf(ip, sizeof ip, "%u.%u.%u.%u", h->ip >> 24, (h->ip >> 16) & 255, (h->ip >> 8) & 255,
             h->ip & 255);
    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", h->mac[0], h->mac[1], h->mac[2],
             h->mac[3], h->mac[4], h->mac[5]);
    /* agents that never reported an address show up as null or as the text "None" */
    put_kstr(sb, "ip_address", h->ip_kind == 1 ? NULL : h->ip_kind == 2 ? "None" : ip);
    put_kstr(sb, "mac_address", h->ip_kind == 1 ? NULL : h->ip_kind == 2 ? "None" : mac);
    put_kstr(sb, "h_host_status", sim_host_state_name(h->host_state));
    put_kstr(sb, "h_boot_status", sim_boot_state_name(h->boot_state));
    put_kstr(sb, "h_health_status", h->active ? "active" : "disconnected");
    put_kstr(sb, "h_sync_status", sim_host_state_name(h->sync_state));
    put_key(sb, "detail_data", false);
    put_detail(sb, h, now);
    put_ktime(sb, "last_snapshots_at", h->nsnaps ? h->snaps[0].at_ms : 0);
    put_key(sb, "snapshots", false);
    put_snaps(sb, f, h);
    put_kstr(sb, "storage_id", gw->uuid);
    put_kstr(sb, "target_name", gw->name);
    put_kstr(sb, "target_platform", sim_cloud_name(gw->cloud));
    put_key(sb, "license_valid", false);
    sb_adds(sb, h->license_valid ? "true" : "false");
    put_key(sb, "is_doing", false);
    sb_adds(sb, h->syncing || h->op != OP_NONE ? "true" : "false");
    char inst[32];
    if (h->instance_seq) fleet_instance_id(f, h, inst, sizeof inst);
    put_kstr(sb, "cloud_instance_id", h->instance_seq ? inst : NULL);
    put_ktime(sb, "created_at", h->created_ms);
    sb_addc(sb, '}');
}

static json_t *host_json(const struct sim_fleet *f, const struct sim_host *h, int64_t now)
{
    strbuf sb = {0};
    put_host(&sb, f, h, now);
    json_t *o = json_loads(sb_str(&sb), 0, NULL);
    sb_free(&sb);
    return o;
}

static bool host_matches(const struct sim_fleet *f, const struct sim_host *h, int status,
                         const strvec *ids, const char *kw, const char *platform)
{
    if (status == 1 && h->host_state != HS_REGISTER_DONE) return false;
    if (status == 2 && (h->host_state < HS_SYNC_DOING || h->host_state > HS_SYNC_DONE))
        return false;
    if (status == 3 && h->boot_state == BS_NOT_BOOT) return false;
    if (ids->n && !sv_contains(ids, h->id)) return false;
    if (kw && !strcasestr(h->name, kw)) return false;
    if (platform && strcmp(platform, sim_cloud_name(f->gws[h->gateway].cloud)) != 0) return false;
    return true;
}

static void hosts_list(struct sim_server *s, struct MHD_Connection *c, struct reply *r,
                       int64_t now)
{
    long page, size;
    if (parse_page(c, r, &page, &size)) return;
    const char *st = arg(c, "status"), *kw = arg(c, "kw"), *platform = arg(c, "target_platform");
    int status = 0;
    if (st) {
        status = strcmp(st, "register") == 0 ? 1 : strcmp(st, "sync") == 0 ? 2
               : strcmp(st, "boot") == 0     ? 3 : -1;
        if (status < 0) {
            reply_msg(r, 400, "invalid status '%s': expected register, sync or boot", st);
            return;
        }
    }
    strvec ids = {0};
    if (arg(c, "ids")) sv_split_list(&ids, arg(c, "ids"));
    struct sim_fleet *f = &s->fleet;
    strbuf data = {0};
    size_t total = 0, first = (size_t)(page - 1) * (size_t)size;
    if (!status && !ids.n && !kw && !platform) {
        /* the common unfiltered page is a slice, whatever the fleet size */
        total = f->nhosts;
        for (size_t i = first; i < total && i < first + (size_t)size; i++) {
            if (i > first) sb_addc(&data, ',');
            put_host(&data, f, &f->hosts[i], now);
        }
    } else {
        for (size_t i = 0; i < f->nhosts; i++) {
            if (!host_matches(f, &f->hosts[i], status, &ids, kw, platform)) continue;
            if (total >= first && total < first + (size_t)size) {
                if (total > first) sb_addc(&data, ',');
                put_host(&data, f, &f->hosts[i], now);
            }
            total++;
        }
    }
    sv_free(&ids);
    strbuf out = {0};
    sb_addf(&out, "{\"page_size\":%ld,\"total\":%zu,\"data\":[%s]}", size, total, sb_str(&data));
    sb_free(&data);
    r->status = 200;
    r->len = out.len;
    r->body = sb_detach(&out);
}

static json_t *base_sheet(const struct sim_fleet *f, const struct sim_host *h, json_t *o)
{
    uint64_t st = sim_mix(f->opt.seed ^ 0xba5e, fleet_index(f, h));
    static const char *const linux_os[] = {"CentOS 7.9", "Ubuntu 20.04", "Ubuntu 22.04",
                                           "Red Hat Enterprise Linux 8.6", "Kylin V10",
                                           "Oracle Linux 7.9"};
    static const char *const win_os[] = {"Windows Server 2012 R2", "Windows Server 2016",
                                         "Windows Server 2019"};
    const char *os = h->windows ? win_os[sim_rand_below(&st, HM_ARRAY_LEN(win_os))]
                                : linux_os[sim_rand_below(&st, HM_ARRAY_LEN(linux_os))];
    static const int cpus[] = {2, 4, 8, 16};
    json_object_set_new(o, "os_version", json_string(os));
    json_object_set_new(o, "cpu", json_integer(cpus[sim_rand_below(&st, 4)]));
    json_object_set_new(o, "ram", json_integer((json_int_t)(2 << sim_rand_below(&st, 5)) * 1024));
    json_t *nics = json_array();
    json_t *nic = json_pack("{s:s,s:O,s:O}", "name", h->windows ? "Ethernet0" : "eth0",
                            "mac_address", json_object_get(o, "mac_address"), "ip_address",
                            json_object_get(o, "ip_address"));
    json_array_append_new(nics, nic);
    json_object_set_new(o, "nics", nics);
    return o;
}

static json_t *storage_sheet(const struct sim_fleet *f, const struct sim_host *h, json_t *o)
{
    uint32_t gib[4];
    int n = fleet_disks(f, h, gib);
    json_t *disks = json_array(), *vols = json_array();
    const struct sim_gateway *gw = &f->gws[h->gateway];
    for (int k = 0; k < n; k++) {
        json_array_append_new(disks, json_pack("{s:i,s:s,s:I,s:b}", "disk_index", k, "disk_type",
                                               k == 0 ? "system" : "data", "size",
                                               (json_int_t)gib[k], "is_boot_disk", k == 0));
        char name[128];
        snprintf(name, sizeof name, "vol-%s-disk%d", h->id, k);
        json_array_append_new(vols, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "name", name, "status",
                                              "in-use", "storages", "storage_id", gw->uuid,
                                              "target_name", gw->name));
    }
    json_object_set_new(o, "disks", disks);
    json_object_set_new(o, "volumes", vols);
    return o;
}

static void snapshot_sheet(const struct sim_fleet *f, const struct sim_host *h,
                           struct MHD_Connection *c, struct reply *r, int64_t now)
{
    long page, size;
    if (parse_page(c, r, &page, &size)) return;
    json_t *all = snaps_json(f, h), *data = json_array();
    size_t first = (size_t)(page - 1) * (size_t)size;
    for (size_t k = first; k < json_array_size(all) && k < first + (size_t)size; k++)
        json_array_append(data, json_array_get(all, k));
    unsigned m = h->interval_min;
    const char *unit = m % 1440 == 0 ? "3" : m >= 60 ? "2" : "1";
    unsigned value = m % 1440 == 0 ? m / 1440 : m >= 60 ? (m + 30) / 60 : m;
    reply_json(r, 200,
               json_pack("{s:s,s:i,s:I,s:o,s:i,s:s,s:i,s:i}", "host_id", h->id, "page_size",
                         (int)size, "total", (json_int_t)json_array_size(all), "data", data,
                         "snapshot_interval", (int)value, "snapshot_interval_unit", unit,
                         "snapshot_quota", SIM_SNAPS, "transfer_speed", 0));
    json_decref(all);
}

static void host_show(struct sim_server *s, struct MHD_Connection *c, const char *id,
                      struct reply *r, int64_t now)
{
    struct sim_fleet *f = &s->fleet;
    struct sim_host *h = fleet_find(f, id);
    if (!h || strcmp(h->id, id) != 0) {
        reply_msg(r, 404, "host %s not found", id);
        return;
    }
    const char *sheet = arg(c, "sheet");
    if (!sheet || strcmp(sheet, "base") == 0)
        reply_json(r, 200, base_sheet(f, h, host_json(f, h, now)));
    else if (strcmp(sheet, "storage") == 0)
        reply_json(r, 200, storage_sheet(f, h, host_json(f, h, now)));
    else if (strcmp(sheet, "snapshot") == 0)
        snapshot_sheet(f, h, c, r, now);
    else
        reply_msg(r, 400, "invalid sheet '%s': expected base, storage or snapshot", sheet);
}

static json_t *parse_body(const struct request *q, struct reply *r)
{
    json_error_t err;
    json_t *o = json_loadb(q->body.buf ? q->body.buf : "", q->body.len, 0, &err);
    if (!o || !json_is_object(o)) {
        reply_msg(r, 400, "request body is not a JSON object: %s", o ? "wrong type" : err.text);
        json_decref(o);
        return NULL;
    }
    return o;
}

static void host_action(struct sim_server *s, const char *id, const struct request *q,
                        struct reply *r, int64_t now)
{
    struct sim_fleet *f = &s->fleet;
    struct sim_host *h = fleet_find(f, id);
    if (!h || strcmp(h->id, id) != 0) {
        reply_msg(r, 404, "host %s not found", id);
        return;
    }
    json_t *body = parse_body(q, r);
    if (!body) return;
    json_t *boot = json_object_get(body, "boot");
    if (!json_is_object(boot)) {
        reply_msg(r, 400, "unsupported action: expected {\"boot\": {...}}");
        json_decref(body);
        return;
    }
    const char *bt = json_string_value(json_object_get(boot, "backup_type"));
    const char *snap = json_string_value(json_object_get(boot, "snapshot_id"));
    bool takeover = bt && strcmp(bt, "volume_backup") == 0;
    if (!bt || (!takeover && strcmp(bt, "volume_snapshot") != 0)) {
        reply_msg(r, 400, "boot.backup_type must be volume_snapshot or volume_backup");
        json_decref(body);
        return;
    }
    hm_err msg;
    int rc = fleet_boot(f, h, takeover, snap, now, &msg);
    if (rc) {
        reply_msg(r, (unsigned)rc, "%s", msg.msg);
    } else {
        if (takeover) s->act_takeover++;
        else s->act_drill++;
        char task[37];
        sim_uuid(f->opt.seed, UUID_JOB, h->op_job, task);
        reply_json(r, 200, json_pack("{s:i,s:s,s:s}", "code", 200, "message",
                                     takeover ? "takeover started" : "drill started", "task_id",
                                     task));
    }
    json_decref(body);
}

static void hosts_post(struct sim_server *s, const struct request *q, struct reply *r,
                       int64_t now)
{
    struct sim_fleet *f = &s->fleet;
    json_t *body = parse_body(q, r);
    if (!body) return;
    json_t *ids = json_object_get(body, "ids");
    json_t *sync = json_object_get(body, "sync"), *clean = json_object_get(body, "clean");
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        reply_msg(r, 400, "ids must be a non-empty array of host ids");
        goto out;
    }
    if (!json_is_object(sync) == !json_is_object(clean)) {
        reply_msg(r, 400, "expected exactly one of sync or clean");
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        struct sim_host *h = fleet_find(f, json_string_value(v));
        if (!h || strcmp(h->id, json_string_value(v)) != 0) {
            reply_msg(r, 404, "host %s not found", json_is_string(v) ? json_string_value(v) : "?");
            goto out;
        }
    }
    const char *mode = json_string_value(json_object_get(sync, "sync_mode"));
    if (sync && mode && strcmp(mode, "incremental") != 0 && strcmp(mode, "full") != 0) {
        reply_msg(r, 400, "sync.sync_mode must be incremental or full");
        goto out;
    }
    size_t ok = 0;
    int first_rc = 0;
    hm_err first = {{0}};
    json_array_foreach(ids, i, v) {
        struct sim_host *h = fleet_find(f, json_string_value(v));
        hm_err msg;
        int rc = sync ? fleet_sync(f, h, mode && strcmp(mode, "full") == 0, now, &msg)
                      : fleet_clean(f, h, now, &msg);
        if (rc && !first_rc) {
            first_rc = rc;
            first = msg;
        }
        if (!rc) ok++;
    }
    if (sync) s->act_sync += ok;
    else s->act_clean += ok;
    const char *what = sync ? "sync" : "clean";
    if (first_rc)
        reply_msg(r, (unsigned)first_rc, "%s started for %zu of %zu hosts: %s", what, ok,
                  json_array_size(ids), first.msg);
    else
        reply_msg(r, 200, "%s started for %zu hosts", what, ok);
out:
    json_decref(body);
}

/* --- jobs ------------------------------------------------------------------------------- */

/* The fixed texts a page of jobs repeats (types, statuses, results), each made once per page and
 * shared by reference between its jobs: 5,000 jobs would otherwise allocate, check and free the
 * same few strings thousands of times. The set belongs to one answer, so no other thread touches
 * these reference counts. */
#define TEXT_SLOTS 64 /* well above the number of fixed texts */

struct page_texts {
    const char *key[TEXT_SLOTS]; /* string literals, found by their address */
    json_t *text[TEXT_SLOTS];
};

/* A new reference to the JSON string of lit, which must be a string literal (or another text
 * with static storage that never changes): t knows it by its address. */
static json_t *page_text(struct page_texts *t, const char *lit)
{
    size_t i = (size_t)(((uint64_t)(uintptr_t)lit * 0x9e3779b97f4a7c15u) >> 40) % TEXT_SLOTS;
    for (size_t n = 0; n < TEXT_SLOTS; n++, i = (i + 1) % TEXT_SLOTS) {
        if (!t->key[i]) {
            t->key[i] = lit;
            t->text[i] = json_string_nocheck(lit);
        }
        if (t->key[i] == lit) return json_incref(t->text[i]);
    }
    return json_string_nocheck(lit); /* t is full: not shared */
}

/* Drops t's own references; the answer keeps the strings it uses. */
static void page_texts_free(struct page_texts *t)
{
    for (size_t i = 0; i < TEXT_SLOTS; i++) json_decref(t->text[i]);
}

static const char *const fail_texts[JT_COUNT][4] = {
    [JT_REGISTER] = {"agent handshake failed: certificate mismatch",
                     "source host not reachable on port 10729"},
    [JT_SYNC] = {"agent heartbeat lost during transfer", "target volume write failed: I/O error",
                 "snapshot creation timed out after 3600s",
                 "source disk changed size during sync"},
    [JT_DRILL] = {"instance did not reach ACTIVE within 1800s",
                  "flavor not available in the availability zone",
                  "volume attach failed: volume is in error state",
                  "port creation failed: IP address already allocated"},
    [JT_CLEAN] = {"volume deletion failed: volume is busy", "instance deletion timed out"},
    [JT_UNREGISTER] = {"sync proxy did not confirm the removal"},
};

/* The result text of j: a string literal. */
static const char *job_detail(const struct sim_job *j)
{
    if (j->status == JS_DONE) return j->type == JT_SYNC ? "snapshot created" : "completed";
    if (j->status != JS_FAILED) return "in progress";
    unsigned t = j->type == JT_BOOTTEST || j->type == JT_TAKEOVER || j->type == JT_BOOTFORMAL
                     ? JT_DRILL : j->type;
    unsigned n = 0;
    while (n < 4 && fail_texts[t][n]) n++;
    return n ? fail_texts[t][j->detail % n] : "failed";
}

/* "<verb> <host name>" for a job of type (below JT_COUNT). */
static json_t *job_description(unsigned type, const char *host)
{
    static const char *const verbs[JT_COUNT] = {
        "Register host", "Sync host", "Drill (test boot) of host", "Test boot of host",
        "Takeover (formal boot) of host", "Formal boot of host", "Clean up boot resources of host",
        "Unregister host"};
    size_t vlen = strlen(verbs[type]), hlen = strlen(host);
    char buf[256], *desc = vlen + 1 + hlen <= sizeof buf ? buf : xmalloc(vlen + 1 + hlen);
    memcpy(desc, verbs[type], vlen);
    desc[vlen] = ' ';
    memcpy(desc + vlen + 1, host, hlen);
    /* host names are valid UTF-8: generated ASCII, or taken from a parsed JSON body by rename */
    json_t *o = json_stringn_nocheck(desc, vlen + 1 + hlen);
    if (desc != buf) free(desc);
    return o;
}

/* Job k of the history as the console shows it. The keys are literals and the values known to be
 * valid UTF-8, so neither is checked again. */
static json_t *job_json(const struct sim_fleet *f, struct page_texts *t, size_t k, int64_t now)
{
    const struct sim_job *j = &f->jobs[k];
    const struct sim_host *h = &f->hosts[j->host];
    char task[37];
    sim_uuid(f->opt.seed, UUID_JOB, k, task);
    bool doing = j->status == JS_DOING;
    int64_t start = (int64_t)j->start_s * 1000, end = start + (int64_t)j->dur_s * 1000;
    json_t *o = json_object(), *end_at = time_json(doing ? 0 : end);
    json_object_set_new_nocheck(o, "task_id", json_stringn_nocheck(task, 36));
    json_object_set_new_nocheck(o, "job_type", page_text(t, sim_job_type_name(j->type)));
    json_object_set_new_nocheck(o, "job_status", page_text(t, sim_job_status_name(j->status)));
    json_object_set_new_nocheck(o, "host", json_string_nocheck(h->name));
    json_object_set_new_nocheck(o, "source_id", json_stringn_nocheck(h->id, 36));
    json_object_set_new_nocheck(o, "start_at", time_json(start));
    json_object_set_new_nocheck(o, "end_at", end_at);
    /* a finished job was last updated when it ended: the same string */
    json_object_set_new_nocheck(o, "updated_at", doing ? time_json(now) : json_incref(end_at));
    json_object_set_new_nocheck(o, "description", job_description(j->type, h->name));
    json_object_set_new_nocheck(o, "detail", page_text(t, job_detail(j)));
    return o;
}

static void jobs_list(struct sim_server *s, struct MHD_Connection *c, struct reply *r,
                      int64_t now)
{
    struct sim_fleet *f = &s->fleet;
    long page, size;
    if (parse_page(c, r, &page, &size)) return;
    const char *st = arg(c, "status"), *type = arg(c, "job_type");
    const char *owner = arg(c, "owner"), *hid = arg(c, "id");
    int want_status = 0; /* 0 all, 1 working, 2 complete */
    if (st) {
        want_status = strcmp(st, "all") == 0 ? 0 : strcmp(st, "working") == 0 ? 1
                    : strcmp(st, "complete") == 0 ? 2 : -1;
        if (want_status < 0) {
            reply_msg(r, 400, "invalid status '%s': expected all, working or complete", st);
            return;
        }
    }
    int want_type = -1;
    if (type && (want_type = sim_job_type_parse(type)) < 0) {
        reply_msg(r, 400, "invalid job_type '%s'", type);
        return;
    }
    /* owner and id name hosts; a name no host has matches no job */
    long want_host = -1;
    bool none = false;
    if (hid) {
        struct sim_host *h = fleet_find(f, hid);
        if (h && strcmp(h->id, hid) == 0) want_host = (long)fleet_index(f, h);
        else none = true;
    }
    if (owner) {
        struct sim_host *h = NULL;
        for (size_t i = 0; i < f->nhosts && !h; i++)
            if (strcmp(f->hosts[i].name, owner) == 0) h = &f->hosts[i];
        if (!h || (want_host >= 0 && want_host != (long)fleet_index(f, h))) none = true;
        else want_host = (long)fleet_index(f, h);
    }
    json_t *data = json_array();
    struct page_texts texts = {0};
    size_t total = 0, first = (size_t)(page - 1) * (size_t)size;
    bool filtered = want_status || want_type >= 0 || want_host >= 0;
    if (none) {
        total = 0;
    } else if (!filtered) {
        total = f->njobs;
        for (size_t n = first; n < total && n < first + (size_t)size; n++)
            json_array_append_new(data, job_json(f, &texts, f->njobs - 1 - n, now));
    } else {
        for (size_t k = f->njobs; k-- > 0;) {
            const struct sim_job *j = &f->jobs[k];
            if (want_host >= 0 && j->host != (uint32_t)want_host) continue;
            if (want_type >= 0 && j->type != want_type) continue;
            if (want_status == 1 && j->status != JS_DOING) continue;
            if (want_status == 2 && j->status == JS_DOING) continue;
            if (total >= first && total < first + (size_t)size)
                json_array_append_new(data, job_json(f, &texts, k, now));
            total++;
        }
    }
    page_texts_free(&texts);
    reply_json(r, 200, json_pack("{s:i,s:I,s:o}", "page_size", (int)size, "total",
                                 (json_int_t)total, "data", data));
}

static json_t *target_json(const struct sim_gateway *gw)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "uuid", gw->uuid, "target_display_name",
                     gw->name, "cloud_type", sim_cloud_name(gw->cloud), "target_status",
                     gw->online ? "active" : "disconnected", "online", gw->online ? 1 : 0,
                     "type", "HyperGate");
}

static void targets_list(struct sim_server *s, struct MHD_Connection *c, struct reply *r)
{
    const char *type = arg(c, "type");
    json_t *data = json_array();
    for (size_t k = 0; k < s->fleet.ngws; k++)
        if (!type || strcmp(type, "HyperGate") == 0)
            json_array_append_new(data, target_json(&s->fleet.gws[k]));
    reply_json(r, 200, json_pack("{s:{s:o}}", "targets", "data", data));
}

static void target_show(struct sim_server *s, const char *uuid, struct reply *r)
{
    struct sim_fleet *f = &s->fleet;
    size_t g;
    for (g = 0; g < f->ngws && strcmp(f->gws[g].uuid, uuid) != 0; g++) {}
    if (g == f->ngws) {
        reply_msg(r, 404, "target %s not found", uuid);
        return;
    }
    const struct sim_gateway *gw = &f->gws[g];
    char pool_ids[2][37], vg_id[37];
    sim_uuid(f->opt.seed, UUID_POOL, g * 2, pool_ids[0]);
    sim_uuid(f->opt.seed, UUID_POOL, g * 2 + 1, pool_ids[1]);
    sim_uuid(f->opt.seed, UUID_VG, g, vg_id);
    json_t *vols = json_array();
    uint64_t used[2] = {0, 0};
    for (size_t i = 0; i < f->nhosts; i++) {
        const struct sim_host *h = &f->hosts[i];
        if (h->gateway != g) continue;
        uint32_t gib[4];
        int n = fleet_disks(f, h, gib);
        bool attached = h->host_state != HS_UNREG_DONE;
        for (int k = 0; k < n; k++) {
            char id[37], name[128];
            sim_uuid(f->opt.seed, UUID_VOLUME, i * 4 + (size_t)k, id);
            snprintf(name, sizeof name, "vol-%s-disk%d", h->id, k);
            int pool = k == 0 ? 0 : 1;
            used[pool] += gib[k];
            json_array_append_new(
                vols, json_pack("{s:s,s:s,s:I,s:s,s:s,s:{s:s,s:s},s:{s:s}}", "uuid", id, "name",
                                name, "capacity", (json_int_t)gib[k], "status",
                                attached ? "in-use" : "available", "attach_status",
                                attached ? "attached" : "detached", "connector", "host", h->name,
                                "host_id", h->id, "source", "pool_uuid", pool_ids[pool]));
        }
    }
    json_int_t total_gib = (json_int_t)(gw->pool_bytes >> 30);
    json_t *pools = json_array();
    for (int p = 0; p < 2; p++)
        json_array_append_new(
            pools, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "uuid", pool_ids[p], "name",
                             p == 0 ? "pool-ssd" : "pool-hdd", "protocol", p == 0 ? "iscsi" : "rbd",
                             "status", gw->online ? "available" : "unavailable", "total_size",
                             total_gib / 2, "used_size", (json_int_t)used[p]));
    json_t *o = target_json(gw);
    json_object_set_new(o, "Storage",
                        json_pack("{s:{s:I,s:I,s:s}}", "data", "total_size", total_gib,
                                  "used_size", (json_int_t)(used[0] + used[1]), "region",
                                  gw->region));
    json_object_set_new(o, "storage_pools", json_pack("{s:o}", "data", pools));
    json_object_set_new(o, "volume_groups",
                        json_pack("{s:[{s:s,s:s,s:s}]}", "data", "uuid", vg_id, "name",
                                  "vg-default", "status", "available"));
    json_object_set_new(o, "volumes", json_pack("{s:o}", "data", vols));
    reply_json(r, 200, o);
}

static void token_issue(struct sim_server *s, const struct request *q, struct reply *r,
                        int64_t now)
{
    json_t *body = parse_body(q, r);
    if (!body) return;
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *pass = json_string_value(json_object_get(body, "password"));
    if (!user || !pass) {
        reply_msg(r, 400, "username and password are required");
    } else if (strcmp(user, s->user) != 0 || strcmp(pass, s->password) != 0) {
        s->auth_failures++;
        reply_msg(r, 401, "invalid username or password");
    } else {
        /* drop expired tokens, and the oldest when a client logs in on every call */
        size_t w = 0;
        for (size_t k = 0; k < s->ntokens; k++)
            if (s->tokens[k].expires_ms > now) s->tokens[w++] = s->tokens[k];
        s->ntokens = w;
        if (s->ntokens == MAX_TOKENS) {
            memmove(s->tokens, s->tokens + 1, (MAX_TOKENS - 1) * sizeof *s->tokens);
            s->ntokens--;
        }
        if (!s->tokens) s->tokens = xcalloc(MAX_TOKENS, sizeof *s->tokens);
        struct sim_token *t = &s->tokens[s->ntokens++];
        unsigned char raw[16];
        if (RAND_bytes(raw, sizeof raw) != 1)
            for (size_t k = 0; k < sizeof raw; k++) raw[k] = (unsigned char)sim_rand(&s->fleet.rng);
        for (size_t k = 0; k < sizeof raw; k++) snprintf(t->value + 2 * k, 3, "%02x", raw[k]);
        t->expires_ms = now + TOKEN_TTL_MS;
        s->tokens_issued++;
        char exp[32];
        hm_format_time(t->expires_ms, exp, sizeof exp);
        reply_json(r, 200, json_pack("{s:s,s:s}", "token", t->value, "expires_at", exp));
    }
    json_decref(body);
}

static bool token_valid(struct sim_server *s, const char *tok, int64_t now)
{
    if (!tok) return false;
    for (size_t k = 0; k < s->ntokens; k++)
        if (strcmp(s->tokens[k].value, tok) == 0) return s->tokens[k].expires_ms > now;
    return false;
}

/* Routes one API call; path is what follows /hypermotion/v1. Caller holds the lock. */
static void api_route(struct sim_server *s, struct MHD_Connection *c, const char *method,
                      const char *path, const struct request *q, struct reply *r)
{
    int64_t now = hm_now_ms();
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(path, "/users/token") == 0) {
        if (post) token_issue(s, q, r, now);
        else reply_msg(r, 405, "method %s not allowed on %s", method, path);
        return;
    }
    const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-AUTH-TOKEN");
    if (!token_valid(s, tok, now)) {
        s->auth_failures++;
        reply_msg(r, 401, tok ? "token is invalid or has expired" : "X-AUTH-TOKEN is required");
        return;
    }
    fleet_advance(&s->fleet, now);
    char id[128];
    int n = 0;
    if (strcmp(path, "/hosts") == 0) {
        if (get) hosts_list(s, c, r, now);
        else if (post) hosts_post(s, q, r, now);
        else reply_msg(r, 405, "method %s not allowed on %s", method, path);
    } else if (sscanf(path, "/hosts/%127[^/]%n", id, &n) == 1 && path[n] == '\0') {
        if (get) host_show(s, c, id, r, now);
        else reply_msg(r, 405, "method %s not allowed on %s", method, path);
    } else if (sscanf(path, "/hosts/%127[^/]/action%n", id, &n) == 1 && path[n] == '\0') {
        if (post) host_action(s, id, q, r, now);
        else reply_msg(r, 405, "method %s not allowed on %s", method, path);
    } else if (strcmp(path, "/jobs") == 0) {
        if (get) jobs_list(s, c, r, now);
        else reply_msg(r, 405, "method %s not allowed on %s", method, path);
    } else if (strcmp(path, "/targets") == 0) {
        if (get) targets_list(s, c, r);
        else reply_msg(r, 405, "method %s not allowed on %s", method, path);
    } else if (sscanf(path, "/targets/%127[^/]%n", id, &n) == 1 && path[n] == '\0') {
        if (get) target_show(s, id, r);
        else reply_msg(r, 405, "method %s not allowed on %s", method, path);
    } else {
        reply_msg(r, 404, "no such endpoint: %s %s%s", method, API_PREFIX, path);
    }
}

/* --- control endpoint ------------------------------------------------------------------- */

static struct sim_host *control_host(struct sim_server *s, json_t *body, struct reply *r)
{
    const char *key = json_string_value(json_object_get(body, "host"));
    struct sim_host *h = fleet_find(&s->fleet, key);
    if (!h) reply_msg(r, 404, "host %s not found", key ? key : "(missing \"host\")");
    return h;
}

static void control_ok(struct reply *r, const struct sim_host *h, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void control_ok(struct reply *r, const struct sim_host *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf sb = {0};
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:i,s:s}", "code", 200, "message", sb_str(&sb));
    if (h) json_object_set_new(o, "host", json_pack("{s:s,s:s}", "id", h->id, "host_name", h->name));
    sb_free(&sb);
    reply_json(r, 200, o);
}

static void control_stats(struct sim_server *s, struct reply *r)
{
    struct sim_fleet *f = &s->fleet;
    size_t working = 0, syncing = 0, disconnected = 0;
    for (size_t i = 0; i < f->nhosts; i++) {
        syncing += f->hosts[i].syncing;
        working += f->hosts[i].syncing + (f->hosts[i].op != OP_NONE);
        disconnected += !f->hosts[i].active;
    }
    json_t *o = json_object();
    json_object_set_new(o, "hosts", json_integer((json_int_t)f->nhosts));
    json_object_set_new(o, "hosts_syncing", json_integer((json_int_t)syncing));
    json_object_set_new(o, "hosts_disconnected", json_integer((json_int_t)disconnected));
    json_object_set_new(o, "gateways", json_integer((json_int_t)f->ngws));
    json_object_set_new(o, "jobs", json_integer((json_int_t)f->njobs));
    json_object_set_new(o, "jobs_working", json_integer((json_int_t)working));
    json_object_set_new(o, "requests", json_integer((json_int_t)atomic_load(&s->requests)));
    json_object_set_new(o, "api_requests", json_integer((json_int_t)s->api_requests));
    json_object_set_new(o, "control_requests", json_integer((json_int_t)s->control_requests));
    json_object_set_new(o, "tokens_issued", json_integer((json_int_t)s->tokens_issued));
    json_object_set_new(o, "auth_failures", json_integer((json_int_t)s->auth_failures));
    json_object_set_new(o, "actions",
                        json_pack("{s:I,s:I,s:I,s:I}", "drill", (json_int_t)s->act_drill,
                                  "takeover", (json_int_t)s->act_takeover, "sync",
                                  (json_int_t)s->act_sync, "clean", (json_int_t)s->act_clean));
    json_object_set_new(o, "faults_pending",
                        json_pack("{s:i,s:i,s:i,s:i,s:I,s:I}", "error500", (int)s->n500,
                                  "malformed", (int)s->nmalformed, "truncated",
                                  (int)s->ntruncated, "stall", (int)s->nstall, "stall_ms",
                                  (json_int_t)s->stall_ms, "latency_ms",
                                  (json_int_t)s->latency_ms));
    json_object_set_new(o, "faults_served",
                        json_pack("{s:I,s:I,s:I,s:I}", "error500", (json_int_t)s->served_500,
                                  "malformed", (json_int_t)s->served_malformed, "truncated",
                                  (json_int_t)s->served_truncated, "stall",
                                  (json_int_t)s->served_stall));
    json_object_set_new(o, "uptime_s", json_integer((hm_now_ms() - s->started_ms) / 1000));
    reply_json(r, 200, o);
}

static int json_count(json_t *body, const char *key, long dflt, long max, long *out,
                      struct reply *r)
{
    json_t *v = json_object_get(body, key);
    *out = dflt;
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        reply_msg(r, 400, "\"%s\" must be an integer from 0 to %ld", key, max);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

/* Control calls; path is what follows /_hmsim/. Caller holds the lock. */
static void control_route(struct sim_server *s, const char *method, const char *path,
                          const struct request *q, struct reply *r)
{
    int64_t now = hm_now_ms();
    s->control_requests++;
    fleet_advance(&s->fleet, now);
    if (strcmp(path, "stats") == 0) {
        if (strcmp(method, "GET") == 0) control_stats(s, r);
        else reply_msg(r, 405, "use GET for %sstats", CONTROL_PREFIX);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        reply_msg(r, 405, "control calls other than stats take POST");
        return;
    }
    json_t *body;
    if (q->body.len == 0) {
        body = json_object();
    } else if (!(body = parse_body(q, r))) {
        return;
    }
    struct sim_host *h = NULL;
    long n;
    if (strcmp(path, "disconnect") == 0 || strcmp(path, "reconnect") == 0) {
        if ((h = control_host(s, body, r))) {
            h->active = path[0] == 'r';
            control_ok(r, h, "host %s is now %s", h->name, h->active ? "active" : "disconnected");
        }
    } else if (strcmp(path, "fail-next-sync") == 0) {
        if ((h = control_host(s, body, r))) {
            h->fail_next_sync = true;
            control_ok(r, h, "the next sync of %s will fail", h->name);
        }
    } else if (strcmp(path, "fail-next-boot") == 0) {
        if ((h = control_host(s, body, r))) {
            h->fail_next_boot = true;
            control_ok(r, h, "the next boot of %s will fail", h->name);
        }
    } else if (strcmp(path, "license") == 0) {
        json_t *v = json_object_get(body, "valid");
        if (!json_is_boolean(v)) reply_msg(r, 400, "\"valid\" must be true or false");
        else if ((h = control_host(s, body, r))) {
            h->license_valid = json_is_true(v);
            control_ok(r, h, "licence of %s is now %s", h->name,
                       h->license_valid ? "valid" : "expired");
        }
    } else if (strcmp(path, "snapshot-time") == 0) {
        const char *at = json_string_value(json_object_get(body, "last_snapshots_at"));
        const char *age = json_string_value(json_object_get(body, "age"));
        int64_t ms = 0, d;
        if (at && hm_parse_time(at, &ms) == 0) {
        } else if (age && hm_parse_duration(age, &d) == 0) {
            ms = now - d;
        } else {
            reply_msg(r, 400, "give \"last_snapshots_at\" (ISO-8601) or \"age\" (like \"3d\")");
            goto out;
        }
        if ((h = control_host(s, body, r))) {
            /* snapshots newer than the new time would contradict it: drop them */
            unsigned k = 0;
            while (k < h->nsnaps && h->snaps[k].at_ms > ms) k++;
            if (k == h->nsnaps) {
                h->snaps[0].seq = ++h->snap_seq;
                h->snaps[0].size_mb = 1024;
                h->nsnaps = 1;
            } else {
                memmove(&h->snaps[0], &h->snaps[k], (h->nsnaps - k) * sizeof h->snaps[0]);
                h->nsnaps = (uint8_t)(h->nsnaps - k);
            }
            h->snaps[0].at_ms = ms;
            char buf[32];
            hm_format_time(ms, buf, sizeof buf);
            control_ok(r, h, "last snapshot of %s is now %s", h->name, buf);
        }
    } else if (strcmp(path, "rename") == 0) {
        const char *name = json_string_value(json_object_get(body, "host_name"));
        if (!name || !*name) reply_msg(r, 400, "\"host_name\" must be a non-empty string");
        else if ((h = control_host(s, body, r))) {
            char *old = h->name;
            h->name = xstrdup(name);
            control_ok(r, h, "host %s renamed", old);
            free(old);
        }
    } else if (strcmp(path, "latency") == 0) {
        if (json_count(body, "ms", 0, 600000, &n, r) == 0) {
            s->latency_ms = n;
            control_ok(r, NULL, "every API answer now waits %ld ms", n);
        }
    } else if (strcmp(path, "fault") == 0) {
        const char *mode = json_string_value(json_object_get(body, "mode"));
        long secs;
        if (json_count(body, "count", 1, 1000000, &n, r) ||
            json_count(body, "seconds", 30, 3600, &secs, r))
            goto out;
        if (!mode) {
            reply_msg(r, 400, "\"mode\" must be 500, malformed, truncated, stall or none");
        } else if (strcmp(mode, "500") == 0) {
            s->n500 = (unsigned)n;
        } else if (strcmp(mode, "malformed") == 0) {
            s->nmalformed = (unsigned)n;
        } else if (strcmp(mode, "truncated") == 0) {
            s->ntruncated = (unsigned)n;
        } else if (strcmp(mode, "stall") == 0) {
            s->nstall = (unsigned)n;
            s->stall_ms = secs * 1000;
        } else if (strcmp(mode, "none") == 0) {
            s->n500 = s->nmalformed = s->ntruncated = s->nstall = 0;
            s->latency_ms = 0;
        } else {
            reply_msg(r, 400, "\"mode\" must be 500, malformed, truncated, stall or none");
        }
        if (!r->status) control_ok(r, NULL, "fault %s armed for %ld requests", mode, n);
    } else if (strcmp(path, "expire-tokens") == 0) {
        size_t k = s->ntokens;
        for (size_t i = 0; i < s->ntokens; i++) s->tokens[i].expires_ms = 0;
        control_ok(r, NULL, "%zu tokens expired", k);
    } else if (strcmp(path, "gateway") == 0) {
        const char *uuid = json_string_value(json_object_get(body, "uuid"));
        json_t *v = json_object_get(body, "online");
        size_t g;
        for (g = 0; uuid && g < s->fleet.ngws && strcmp(s->fleet.gws[g].uuid, uuid) != 0; g++) {}
        if (!uuid || g == s->fleet.ngws) reply_msg(r, 404, "target %s not found", uuid ? uuid : "?");
        else if (!json_is_boolean(v)) reply_msg(r, 400, "\"online\" must be true or false");
        else {
            s->fleet.gws[g].online = json_is_true(v);
            control_ok(r, NULL, "gateway %s is now %s", s->fleet.gws[g].name,
                       s->fleet.gws[g].online ? "online" : "offline");
        }
    } else {
        reply_msg(r, 404, "no such control call: %s%s", CONTROL_PREFIX, path);
    }
out:
    json_decref(body);
}

/* --- libmicrohttpd glue ----------------------------------------------------------------- */

static void sleep_ms(struct sim_server *s, int64_t ms)
{
    /* in slices, so a stop request is not held up by a stalled answer */
    int64_t until = hm_mono_ms() + ms;
    while (!atomic_load(&s->stopping)) {
        int64_t left = until - hm_mono_ms();
        if (left <= 0) break;
        if (left > 50) left = 50;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static ssize_t truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct truncated *t = cls;
    if (pos >= t->send) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->send - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, t->buf + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    struct truncated *t = cls;
    free(t->buf);
    free(t);
}

static int dump_to_strbuf(const char *buf, size_t n, void *sb)
{
    sb_add(sb, buf, n);
    return 0;
}

/* Writes r's tree into r->body and drops the tree. A page of jobs spends most of its time here
 * (and in freeing the tree), so this runs without the fleet lock, and requests in flight
 * overlap: the tree holds copies of everything it says, never the fleet's data. It is dumped
 * straight into the buffer that goes out, with no final copy and no strlen. */
static void reply_serialise(struct reply *r)
{
    if (!r->json) return;
    strbuf sb = {0};
    json_dump_callback(r->json, dump_to_strbuf, &sb, JSON_COMPACT);
    json_decref(r->json);
    r->json = NULL;
    r->len = sb.len;
    r->body = sb_detach(&sb);
}

enum fault { FAULT_NONE, FAULT_500, FAULT_MALFORMED, FAULT_TRUNCATED };

/* Queues r, with fault applied to it; call without the fleet lock. */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r, enum fault fault)
{
    struct MHD_Response *resp;
    reply_serialise(r);
    if (fault == FAULT_TRUNCATED && r->len > 1) {
        struct truncated *t = xmalloc(sizeof *t);
        t->buf = r->body;
        t->send = r->len / 2;
        resp = MHD_create_response_from_callback(r->len, 4096, truncated_read, t, truncated_free);
    } else {
        if (fault == FAULT_MALFORMED) {
            /* half the real answer and a stray tail: no JSON parser accepts it */
            r->len /= 2;
            r->body[r->len] = '\0';
            char *bad = xasprintf("%s,,}<html>", r->body);
            free(r->body);
            r->body = bad;
            r->len = strlen(bad);
        }
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    }
    r->body = NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result api_handle(void *cls, struct MHD_Connection *c, const char *url,
                           const char *method, const char *version, const char *upload,
                           size_t *upload_size, void **con_cls)
{
    struct sim_server *s = cls;
    struct request *q = *con_cls;
    if (!q) {
        *con_cls = xcalloc(1, sizeof *q);
        return MHD_YES;
    }
    if (*upload_size) {
        if (q->body.len + *upload_size > MAX_BODY) q->too_big = true;
        else sb_add(&q->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&s->requests, 1);
    struct reply r = {0};
    enum fault fault = FAULT_NONE;
    if (q->too_big) {
        reply_msg(&r, 413, "request body larger than %d bytes", MAX_BODY);
        return send_reply(c, &r, fault);
    }
    if (hm_starts_with(url, CONTROL_PREFIX)) {
        pthread_mutex_lock(&s->fleet.lock);
        control_route(s, method, url + strlen(CONTROL_PREFIX), q, &r);
        pthread_mutex_unlock(&s->fleet.lock);
        return send_reply(c, &r, fault);
    }
    if (!hm_starts_with(url, API_PREFIX "/")) {
        reply_msg(&r, 404, "no such endpoint: %s %s", method, url);
        return send_reply(c, &r, fault);
    }
    /* faults apply to API calls only, so a test can always reach the control endpoint */
    int64_t latency, stall = 0;
    pthread_mutex_lock(&s->fleet.lock);
    s->api_requests++;
    latency = s->latency_ms;
    if (s->nstall) {
        s->nstall--;
        s->served_stall++;
        stall = s->stall_ms;
    } else if (s->n500) {
        s->n500--;
        s->served_500++;
        fault = FAULT_500;
    } else if (s->nmalformed) {
        s->nmalformed--;
        s->served_malformed++;
        fault = FAULT_MALFORMED;
    } else if (s->ntruncated) {
        s->ntruncated--;
        s->served_truncated++;
        fault = FAULT_TRUNCATED;
    }
    pthread_mutex_unlock(&s->fleet.lock);
    if (latency + stall > 0) sleep_ms(s, latency + stall);
    if (fault == FAULT_500) {
        reply_msg(&r, 500, "internal server error (injected by hmsim)");
        return send_reply(c, &r, FAULT_NONE);
    }
    /* the answer's tree is built under the lock, and written out after it */
    pthread_mutex_lock(&s->fleet.lock);
    api_route(s, c, method, url + strlen(API_PREFIX), q, &r);
    pthread_mutex_unlock(&s->fleet.lock);
    return send_reply(c, &r, fault);
}

void api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
    struct request *q = *con_cls;
    if (!q) return;
    sb_free(&q->body);
    free(q);
    *con_cls = NULL;
}
