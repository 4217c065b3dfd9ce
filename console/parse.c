/* Parsers of the console's answers (console-api.md). Unknown fields are ignored; wrong types
 * read as absent, so one odd field never costs the whole answer. */
#include "console/console.h"

#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"

static json_t *load(const char *body, hm_err *e)
{
    if (!body || !body[strspn(body, " \t\r\n")]) {
        hm_err_set(e, "empty answer instead of JSON");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loads(body, 0, &je);
    if (!root) {
        hm_err_set(e, "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        hm_err_set(e, "expected a JSON object");
        return NULL;
    }
    return root;
}

/* The text of field k without copying it, NULL when absent or empty; an integer is written
 * into num. The console writes "None" (Python's) where it means no value. */
static const char *str_view(json_t *o, const char *k, char num[24])
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return (*s && strcmp(s, "None") != 0) ? s : NULL;
    }
    if (json_is_integer(v)) {
        snprintf(num, 24, "%lld", (long long)json_integer_value(v));
        return num;
    }
    return NULL;
}

static char *str(json_t *o, const char *k)
{
    char num[24];
    const char *s = str_view(o, k, num);
    return s ? xstrdup(s) : NULL;
}

static double num(json_t *o, const char *k, double absent)
{
    json_t *v = json_object_get(o, k);
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        if (end != json_string_value(v)) return d;
    }
    return absent;
}

static int64_t tm(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    int64_t ms;
    if (json_is_string(v) && hm_parse_time(json_string_value(v), &ms) == 0) return ms;
    return 0;
}

static int tristate(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_boolean(v)) return json_is_true(v);
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    return -1;
}

static long total_of(json_t *root)
{
    json_t *t = json_object_get(root, "total");
    return json_is_integer(t) ? (long)json_integer_value(t) : -1;
}

int console_parse_token(const char *body, char **token, hm_err *e)
{
    json_t *root = load(body, e);
    if (!root) return -1;
    *token = str(root, "token");
    json_decref(root);
    if (!*token) return hm_err_set(e, "the answer holds no token");
    return 0;
}

int console_parse_action(const char *body, char **task_id, hm_err *e)
{
    if (task_id) *task_id = NULL;
    json_t *root = load(body, e);
    if (!root) return -1;
    json_t *code = json_object_get(root, "code");
    if (json_is_integer(code) && json_integer_value(code) != 200) {
        char *msg = str(root, "message");
        hm_err_set(e, "code %lld: %s", (long long)json_integer_value(code),
                   msg ? msg : "(no message)");
        free(msg);
        json_decref(root);
        return -1;
    }
    if (task_id) *task_id = str(root, "task_id");
    json_decref(root);
    return 0;
}

#define GROW(arr)                                                                              \
    do {                                                                                       \
        if ((arr)->n == (arr)->cap) {                                                          \
            (arr)->cap = (arr)->cap ? (arr)->cap * 2 : 16;                                     \
            (arr)->v = xrealloc((arr)->v, (arr)->cap * sizeof *(arr)->v);                      \
        }                                                                                      \
    } while (0)

static void parse_host(json_t *o, console_host *h)
{
    memset(h, 0, sizeof *h);
    h->id = str(o, "id");
    h->name = str(o, "host_name");
    h->host_type = str(o, "host_type");
    h->system_type = str(o, "system_type");
    h->ip_address = str(o, "ip_address");
    h->mac_address = str(o, "mac_address");
    h->host_status = str(o, "h_host_status");
    h->boot_status = str(o, "h_boot_status");
    h->health_status = str(o, "h_health_status");
    h->sync_status = str(o, "h_sync_status");
    json_t *d = json_object_get(o, "detail_data");
    h->percent = -1;
    h->remaining_time = -1;
    if (json_is_object(d)) {
        h->percent = num(d, "percent", -1);
        h->speed = str(d, "speed");
        h->sync_total = str(d, "sync_total");
        h->synced = str(d, "synced");
        h->remaining_time = num(d, "remaining_time", -1);
    }
    h->last_snapshot_ms = tm(o, "last_snapshots_at");
    json_t *snaps = json_object_get(o, "snapshots");
    if (json_is_array(snaps) && json_array_size(snaps)) {
        h->snapshots = xcalloc(json_array_size(snaps), sizeof *h->snapshots);
        size_t i;
        json_t *s;
        json_array_foreach(snaps, i, s) {
            if (!json_is_object(s)) continue;
            console_snapshot *sn = &h->snapshots[h->n_snapshots++];
            sn->id = str(s, "id");
            sn->name = str(s, "snapshot_name");
            sn->status = str(s, "status");
            sn->created_ms = tm(s, "created_at");
            sn->size = num(s, "size", 0);
        }
    }
    h->storage_id = str(o, "storage_id");
    h->target_name = str(o, "target_name");
    h->cloud_instance_id = str(o, "cloud_instance_id");
    h->license_valid = tristate(o, "license_valid");
    h->is_doing = tristate(o, "is_doing") == 1;
    h->created_ms = tm(o, "created_at");
}

int console_parse_hosts(const char *body, console_hosts *out, long *total, hm_err *e)
{
    json_t *root = load(body, e);
    if (!root) return -1;
    json_t *data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        json_decref(root);
        return hm_err_set(e, "expected {\"data\": [host, ...]}");
    }
    if (total) *total = total_of(root);
    size_t i;
    json_t *o;
    json_array_foreach(data, i, o) {
        if (!json_is_object(o)) continue;
        GROW(out);
        parse_host(o, &out->v[out->n]);
        if (!out->v[out->n].id) {
            /* without an id a host cannot be told apart across pages or polls */
            console_host_clear(&out->v[out->n]);
            json_decref(root);
            return hm_err_set(e, "host %zu of the page has no id", i + 1);
        }
        out->n++;
    }
    json_decref(root);
    return 0;
}

/* A job's text fields, copied into one allocation (j->mem): a million-job walk makes one
 * allocation per job instead of eight. */
static void job_strings(json_t *o, console_job *j)
{
    static const char *const keys[] = {"task_id", "job_type", "job_status", "host",
                                       "source_id", "description", "detail", "sync_mode"};
    char **dst[] = {&j->task_id, &j->job_type, &j->job_status, &j->host,
                    &j->source_id, &j->description, &j->detail, &j->mode};
    enum { N = sizeof keys / sizeof keys[0] };
    char num[N][24];
    const char *src[N];
    size_t len[N], size = 0;
    for (size_t i = 0; i < N; i++) {
        src[i] = str_view(o, keys[i], num[i]);
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        size += len[i];
    }
    if (!size) return;
    char *p = j->mem = xmalloc(size);
    for (size_t i = 0; i < N; i++) {
        if (!src[i]) continue;
        memcpy(p, src[i], len[i]);
        *dst[i] = p;
        p += len[i];
    }
}

int console_parse_jobs(const char *body, const console_conf *cc, console_jobs *out, long *total,
                       hm_err *e)
{
    json_t *root = load(body, e);
    if (!root) return -1;
    json_t *data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        json_decref(root);
        return hm_err_set(e, "expected {\"data\": [job, ...]}");
    }
    if (total) *total = total_of(root);
    size_t i;
    json_t *o;
    json_array_foreach(data, i, o) {
        if (!json_is_object(o)) continue;
        GROW(out);
        console_job *j = &out->v[out->n++];
        memset(j, 0, sizeof *j);
        job_strings(o, j);
        j->start_ms = tm(o, "start_at");
        j->end_ms = tm(o, "end_at");
        j->updated_ms = tm(o, "updated_at");
        j->kind = cc ? console_conf_kind(cc, j->job_type) : CONSOLE_KIND_OTHER;
    }
    json_decref(root);
    return 0;
}

static void parse_target_base(json_t *o, console_target *t)
{
    t->uuid = str(o, "uuid");
    t->name = str(o, "target_display_name");
    t->cloud_type = str(o, "cloud_type");
    t->status = str(o, "target_status");
    t->online = tristate(o, "online");
}

int console_parse_targets(const char *body, console_targets *out, hm_err *e)
{
    json_t *root = load(body, e);
    if (!root) return -1;
    json_t *data = json_object_get(json_object_get(root, "targets"), "data");
    if (!json_is_array(data)) {
        json_decref(root);
        return hm_err_set(e, "expected {\"targets\": {\"data\": [target, ...]}}");
    }
    size_t i;
    json_t *o;
    json_array_foreach(data, i, o) {
        if (!json_is_object(o)) continue;
        GROW(out);
        console_target *t = &out->v[out->n++];
        memset(t, 0, sizeof *t);
        parse_target_base(o, t);
    }
    json_decref(root);
    return 0;
}

/* "connector:host" in the published contract; hmsim and newer consoles nest it. */
static char *colon_field(json_t *o, const char *outer, const char *inner)
{
    char flat[64];
    snprintf(flat, sizeof flat, "%s:%s", outer, inner);
    char *v = str(o, flat);
    if (v) return v;
    json_t *n = json_object_get(o, outer);
    return json_is_object(n) ? str(n, inner) : NULL;
}

static json_t *section_data(json_t *root, const char *name)
{
    json_t *d = json_object_get(json_object_get(root, name), "data");
    return d;
}

int console_parse_target(const char *body, console_target *t, hm_err *e)
{
    json_t *root = load(body, e);
    if (!root) return -1;
    memset(t, 0, sizeof *t);
    parse_target_base(root, t);
    json_t *st = section_data(root, "Storage");
    if (json_is_object(st)) {
        t->total_size = num(st, "total_size", 0);
        t->used_size = num(st, "used_size", 0);
        t->region = str(st, "region");
    }
    json_t *pools = section_data(root, "storage_pools");
    size_t i;
    json_t *o;
    if (json_is_array(pools) && json_array_size(pools)) {
        t->pools = xcalloc(json_array_size(pools), sizeof *t->pools);
        json_array_foreach(pools, i, o) {
            if (!json_is_object(o)) continue;
            console_pool *p = &t->pools[t->n_pools++];
            p->uuid = str(o, "uuid");
            p->name = str(o, "name");
            p->protocol = str(o, "protocol");
            p->status = str(o, "status");
            p->total_size = num(o, "total_size", 0);
            p->used_size = num(o, "used_size", 0);
        }
    }
    json_t *vgs = section_data(root, "volume_groups");
    t->n_volume_groups = json_is_array(vgs) ? json_array_size(vgs) : 0;
    json_t *vols = section_data(root, "volumes");
    if (json_is_array(vols) && json_array_size(vols)) {
        t->volumes = xcalloc(json_array_size(vols), sizeof *t->volumes);
        json_array_foreach(vols, i, o) {
            if (!json_is_object(o)) continue;
            console_volume *v = &t->volumes[t->n_volumes++];
            v->uuid = str(o, "uuid");
            v->name = str(o, "name");
            v->status = str(o, "status");
            v->attach_status = str(o, "attach_status");
            v->capacity = num(o, "capacity", 0);
            v->host = colon_field(o, "connector", "host");
            v->pool_uuid = colon_field(o, "source", "pool_uuid");
        }
    }
    json_decref(root);
    if (!t->uuid) {
        console_target_free(t);
        return hm_err_set(e, "the answer holds no target uuid");
    }
    return 0;
}

void console_host_clear(console_host *h)
{
    free(h->id);
    free(h->name);
    free(h->host_type);
    free(h->system_type);
    free(h->ip_address);
    free(h->mac_address);
    free(h->host_status);
    free(h->boot_status);
    free(h->health_status);
    free(h->sync_status);
    free(h->speed);
    free(h->sync_total);
    free(h->synced);
    for (size_t i = 0; i < h->n_snapshots; i++) {
        free(h->snapshots[i].id);
        free(h->snapshots[i].name);
        free(h->snapshots[i].status);
    }
    free(h->snapshots);
    free(h->storage_id);
    free(h->target_name);
    free(h->cloud_instance_id);
}

void console_hosts_free(console_hosts *hs)
{
    for (size_t i = 0; i < hs->n; i++) console_host_clear(&hs->v[i]);
    free(hs->v);
    memset(hs, 0, sizeof *hs);
}

void console_job_clear(console_job *j)
{
    if (j->mem) {
        free(j->mem);
        return;
    }
    free(j->task_id);
    free(j->job_type);
    free(j->job_status);
    free(j->host);
    free(j->source_id);
    free(j->description);
    free(j->detail);
    free(j->mode);
}

void console_jobs_free(console_jobs *js)
{
    for (size_t i = 0; i < js->n; i++) console_job_clear(&js->v[i]);
    free(js->v);
    memset(js, 0, sizeof *js);
}

void console_target_free(console_target *t)
{
    free(t->uuid);
    free(t->name);
    free(t->cloud_type);
    free(t->status);
    free(t->region);
    for (size_t i = 0; i < t->n_pools; i++) {
        free(t->pools[i].uuid);
        free(t->pools[i].name);
        free(t->pools[i].protocol);
        free(t->pools[i].status);
    }
    free(t->pools);
    for (size_t i = 0; i < t->n_volumes; i++) {
        console_volume *v = &t->volumes[i];
        free(v->uuid);
        free(v->name);
        free(v->status);
        free(v->attach_status);
        free(v->host);
        free(v->pool_uuid);
    }
    free(t->volumes);
    memset(t, 0, sizeof *t);
}

void console_targets_free(console_targets *ts)
{
    for (size_t i = 0; i < ts->n; i++) console_target_free(&ts->v[i]);
    free(ts->v);
    memset(ts, 0, sizeof *ts);
}

/* --- JSON output --- */

static void set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static void set_time(json_t *o, const char *k, int64_t ms)
{
    char buf[32];
    if (ms) {
        hm_format_time(ms, buf, sizeof buf);
        json_object_set_new(o, k, json_string(buf));
    } else json_object_set_new(o, k, json_null());
}

static void set_tri(json_t *o, const char *k, int v)
{
    json_object_set_new(o, k, v < 0 ? json_null() : json_boolean(v));
}

json_t *console_host_json(const console_host *h, const console_conf *cc, int64_t now_ms)
{
    json_t *o = json_object();
    set_str(o, "id", h->id);
    set_str(o, "host_name", h->name);
    set_str(o, "host_type", h->host_type);
    set_str(o, "system_type", h->system_type);
    set_str(o, "ip_address", h->ip_address);
    set_str(o, "mac_address", h->mac_address);
    set_str(o, "h_host_status", h->host_status);
    set_str(o, "h_boot_status", h->boot_status);
    set_str(o, "h_health_status", h->health_status);
    set_str(o, "h_sync_status", h->sync_status);
    json_t *d = json_object();
    if (h->percent >= 0) json_object_set_new(d, "percent", json_real(h->percent));
    if (h->speed) json_object_set_new(d, "speed", json_string(h->speed));
    if (h->sync_total) json_object_set_new(d, "sync_total", json_string(h->sync_total));
    if (h->synced) json_object_set_new(d, "synced", json_string(h->synced));
    if (h->remaining_time >= 0) json_object_set_new(d, "remaining_time", json_real(h->remaining_time));
    json_object_set_new(o, "detail_data", d);
    set_time(o, "last_snapshots_at", h->last_snapshot_ms);
    json_object_set_new(o, "snapshot_age_s",
                        h->last_snapshot_ms ? json_integer((now_ms - h->last_snapshot_ms) / 1000)
                                            : json_null());
    if (cc) {
        int64_t rpo = console_conf_rpo(cc, h->name);
        json_object_set_new(o, "rpo_target_s", json_integer(rpo / 1000));
        json_object_set_new(o, "rpo_exceeded",
                            json_boolean(!h->last_snapshot_ms || now_ms - h->last_snapshot_ms > rpo));
    }
    json_t *snaps = json_array();
    for (size_t i = 0; i < h->n_snapshots; i++) {
        json_t *s = json_object();
        set_str(s, "id", h->snapshots[i].id);
        set_str(s, "snapshot_name", h->snapshots[i].name);
        set_time(s, "created_at", h->snapshots[i].created_ms);
        json_object_set_new(s, "size", json_real(h->snapshots[i].size));
        set_str(s, "status", h->snapshots[i].status);
        json_array_append_new(snaps, s);
    }
    json_object_set_new(o, "snapshots", snaps);
    set_str(o, "storage_id", h->storage_id);
    set_str(o, "target_name", h->target_name);
    set_tri(o, "license_valid", h->license_valid);
    json_object_set_new(o, "is_doing", json_boolean(h->is_doing));
    set_str(o, "cloud_instance_id", h->cloud_instance_id);
    set_time(o, "created_at", h->created_ms);
    return o;
}

json_t *console_job_json(const console_job *j)
{
    json_t *o = json_object();
    set_str(o, "task_id", j->task_id);
    set_str(o, "job_type", j->job_type);
    json_object_set_new(o, "kind", json_string(console_kind_name(j->kind)));
    set_str(o, "job_status", j->job_status);
    set_str(o, "host", j->host);
    set_str(o, "source_id", j->source_id);
    set_time(o, "start_at", j->start_ms);
    set_time(o, "end_at", j->end_ms);
    set_time(o, "updated_at", j->updated_ms);
    set_str(o, "description", j->description);
    set_str(o, "detail", j->detail);
    if (j->mode) set_str(o, "sync_mode", j->mode);
    return o;
}

json_t *console_target_json(const console_target *t)
{
    json_t *o = json_object();
    set_str(o, "uuid", t->uuid);
    set_str(o, "target_display_name", t->name);
    set_str(o, "cloud_type", t->cloud_type);
    set_str(o, "target_status", t->status);
    set_tri(o, "online", t->online);
    if (t->region || t->total_size || t->n_pools || t->n_volumes) {
        set_str(o, "region", t->region);
        json_object_set_new(o, "total_size", json_real(t->total_size));
        json_object_set_new(o, "used_size", json_real(t->used_size));
        json_t *pools = json_array();
        for (size_t i = 0; i < t->n_pools; i++) {
            json_t *p = json_object();
            set_str(p, "uuid", t->pools[i].uuid);
            set_str(p, "name", t->pools[i].name);
            set_str(p, "protocol", t->pools[i].protocol);
            set_str(p, "status", t->pools[i].status);
            json_object_set_new(p, "total_size", json_real(t->pools[i].total_size));
            json_object_set_new(p, "used_size", json_real(t->pools[i].used_size));
            json_array_append_new(pools, p);
        }
        json_object_set_new(o, "storage_pools", pools);
        json_t *vols = json_array();
        for (size_t i = 0; i < t->n_volumes; i++) {
            const console_volume *v = &t->volumes[i];
            json_t *p = json_object();
            set_str(p, "uuid", v->uuid);
            set_str(p, "name", v->name);
            json_object_set_new(p, "capacity", json_real(v->capacity));
            set_str(p, "status", v->status);
            set_str(p, "attach_status", v->attach_status);
            set_str(p, "host", v->host);
            set_str(p, "pool_uuid", v->pool_uuid);
            json_array_append_new(vols, p);
        }
        json_object_set_new(o, "volumes", vols);
    }
    return o;
}

json_t *console_event_json(const console_event *ev)
{
    json_t *o = json_object();
    set_time(o, "time", ev->ts_ms);
    json_object_set_new(o, "console", json_string(ev->console ? ev->console : ""));
    set_str(o, "type", ev->type);
    set_str(o, "host_id", ev->host_id);
    set_str(o, "host_name", ev->host_name);
    set_str(o, "source", ev->source);
    set_str(o, "detail", ev->detail);
    return o;
}
