/* Recreating, waiting for and reading containers through the Docker Engine API. */
#include "ops/container.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"

static const char *socket_of(const hm_config *cfg)
{
    const char *s = cfg_get(cfg, "docker", NULL, "socket");
    return s && *s ? s : "/var/run/docker.sock";
}

int container_api(const hm_config *cfg, const char *method, const char *path, const char *body,
                  int64_t timeout_ms, hm_http_resp *resp, hm_err *e)
{
    const char *sock = socket_of(cfg);
    char *url = xasprintf("http://localhost%s", path);
    static const char *const json_hdr[] = {"Content-Type: application/json", NULL};
    hm_http_req req = {.method = method, .url = url, .unix_socket = sock, .body = body,
                       .headers = body ? json_hdr : NULL,
                       .timeout_ms = timeout_ms > 0 ? timeout_ms : 30000};
    hm_err he = {{0}};
    int rc = 0;
    if (hm_http_do(NULL, &req, resp, &he) < 0) {
        /* hm_http_do's message starts with the meaningless http://localhost URL. */
        size_t n = strlen(url);
        const char *why = strncmp(he.msg, url, n) == 0 && he.msg[n] == ':' ? he.msg + n + 2 : he.msg;
        rc = hm_err_set(e, "cannot reach the Docker Engine at %s: %s", sock, why);
    }
    free(url);
    return rc;
}

/* "Docker's message (HTTP N)" for a failed answer. */
static int api_fail(hm_err *e, const hm_http_resp *resp, const char *fmt, const char *arg)
{
    char *t = hm_http_error_text(resp);
    char what[512];
    snprintf(what, sizeof what, fmt, arg);
    hm_err_set(e, "%s: %s (HTTP %ld)", what, t, resp->status);
    free(t);
    return -1;
}

/* One POST without an interesting answer; ok1/ok2 are the statuses counted as success. */
static int api_post(const hm_config *cfg, const char *path, const char *body, long ok1, long ok2,
                    int64_t timeout_ms, const char *what, const char *arg, hm_err *e)
{
    hm_http_resp resp = {0};
    int rc = container_api(cfg, "POST", path, body, timeout_ms, &resp, e);
    if (rc == 0 && resp.status != ok1 && resp.status != ok2) rc = api_fail(e, &resp, what, arg);
    hm_http_resp_free(&resp);
    return rc;
}

json_t *container_inspect(const hm_config *cfg, const char *id, int64_t timeout_ms, hm_err *e)
{
    char *eid = hm_url_escape(id);
    char *path = xasprintf("/containers/%s/json", eid);
    free(eid);
    hm_http_resp resp = {0};
    json_t *root = NULL;
    if (container_api(cfg, "GET", path, NULL, timeout_ms, &resp, e) == 0) {
        if (resp.status == 404) {
            hm_err_set(e, "no such container '%s'", id);
        } else if (resp.status != 200) {
            api_fail(e, &resp, "cannot inspect '%s'", id);
        } else {
            json_error_t je;
            root = json_loads(sb_str(&resp.body), 0, &je);
            if (!root || !json_is_object(root)) {
                hm_err_set(e, "cannot inspect '%s': malformed JSON at line %d: %s", id, je.line,
                           je.text);
                json_decref(root);
                root = NULL;
            }
        }
    }
    hm_http_resp_free(&resp);
    free(path);
    return root;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool is_anonymous_volume(const char *name)
{
    if (!name || strlen(name) != 64) return false;
    for (const char *p = name; *p; p++)
        if (!isxdigit((unsigned char)*p)) return false;
    return true;
}

/* Whether dest is already a mount target in HostConfig.Binds or HostConfig.Mounts. */
static bool has_target(json_t *hc, const char *dest)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(hc, "Binds"), i, v) {
        const char *b = json_string_value(v);
        if (!b) continue;
        const char *c = strchr(b, ':');
        if (!c) continue;
        size_t n = strcspn(c + 1, ":");
        if (strlen(dest) == n && strncmp(c + 1, dest, n) == 0) return true;
    }
    json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
        const char *t = jstr(v, "Target");
        if (t && strcmp(t, dest) == 0) return true;
    }
    return false;
}

/* An endpoint of NetworkSettings.Networks as EndpointsConfig wants it. */
static json_t *endpoint_config(json_t *ep, const char *short_id)
{
    json_t *out = json_object();
    json_t *ipam = json_object_get(ep, "IPAMConfig");
    if (json_is_object(ipam)) json_object_set(out, "IPAMConfig", ipam);
    json_t *links = json_object_get(ep, "Links");
    if (json_is_array(links)) json_object_set(out, "Links", links);
    json_t *aliases = json_object_get(ep, "Aliases");
    if (json_is_array(aliases)) {
        json_t *keep = json_array();
        size_t i;
        json_t *a;
        json_array_foreach(aliases, i, a) {
            const char *s = json_string_value(a);
            if (s && strcmp(s, short_id) != 0) json_array_append(keep, a);
        }
        json_object_set_new(out, "Aliases", keep);
    }
    return out;
}

json_t *container_create_body(json_t *inspect, json_t **extra_networks, hm_err *e)
{
    const char *id = jstr(inspect, "Id");
    json_t *config = json_object_get(inspect, "Config");
    json_t *hc = json_object_get(inspect, "HostConfig");
    if (!id || !json_is_object(config) || !json_is_object(hc)) {
        hm_err_set(e, "the inspection lacks Id, Config or HostConfig");
        return NULL;
    }
    char short_id[13];
    snprintf(short_id, sizeof short_id, "%.12s", id);
    json_t *body = json_deep_copy(config);
    const char *hostname = jstr(body, "Hostname");
    if (hostname && strcmp(hostname, short_id) == 0) json_object_del(body, "Hostname");
    json_t *newhc = json_deep_copy(hc);

    /* Anonymous volumes would be new and empty in the new container: bind the old ones. */
    json_t *declared = json_object_get(config, "Volumes");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(inspect, "Mounts"), i, m) {
        const char *type = jstr(m, "Type"), *name = jstr(m, "Name"), *dest = jstr(m, "Destination");
        if (!type || strcmp(type, "volume") != 0 || !is_anonymous_volume(name) || !dest) continue;
        if (!json_object_get(declared, dest) || has_target(newhc, dest)) continue;
        json_t *binds = json_object_get(newhc, "Binds");
        if (!json_is_array(binds)) {
            binds = json_array();
            json_object_set_new(newhc, "Binds", binds);
        }
        bool rw = json_is_true(json_object_get(m, "RW"));
        char *b = xasprintf("%s:%s%s", name, dest, rw ? "" : ":ro");
        json_array_append_new(binds, json_string(b));
        free(b);
    }
    json_object_set_new(body, "HostConfig", newhc);

    const char *mode = jstr(hc, "NetworkMode");
    json_t *nets = json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks");
    json_t *endpoints = json_object();
    if (extra_networks) *extra_networks = json_array();
    const char *net;
    json_t *ep;
    json_object_foreach(nets, net, ep) {
        /* The built-in networks come with the network mode; nothing to configure. */
        if (!strcmp(net, "bridge") || !strcmp(net, "host") || !strcmp(net, "none")) continue;
        if (mode && strcmp(net, mode) == 0) {
            json_object_set_new(endpoints, net, endpoint_config(ep, short_id));
        } else if (extra_networks) {
            json_t *x = json_object();
            json_object_set_new(x, "name", json_string(net));
            json_object_set_new(x, "endpoint", endpoint_config(ep, short_id));
            json_array_append_new(*extra_networks, x);
        }
    }
    json_t *nc = json_object();
    json_object_set_new(nc, "EndpointsConfig", endpoints);
    json_object_set_new(body, "NetworkingConfig", nc);
    return body;
}

void container_mount_sources(json_t *inspect, strvec *out)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(inspect, "Mounts"), i, m) {
        const char *s = jstr(m, "Source");
        if (s && *s) sv_push(out, s);
    }
}

/* The first line of the last health check's output. */
static char *health_output(json_t *health)
{
    json_t *log = json_object_get(health, "Log");
    json_t *last = json_array_get(log, json_array_size(log) ? json_array_size(log) - 1 : 0);
    const char *out = jstr(last, "Output");
    if (!out || !*out) {
        json_t *code = json_object_get(last, "ExitCode");
        if (json_is_integer(code))
            return xasprintf("health check exited with status %d", (int)json_integer_value(code));
        return xstrdup("the health check fails");
    }
    size_t n = strcspn(out, "\r\n");
    return xstrndup(out, n > 200 ? 200 : n);
}

int container_wait_ready(const hm_config *cfg, const char *id, const char *name, int64_t timeout_ms,
                         hm_err *e)
{
    int64_t deadline = hm_mono_ms() + timeout_ms;
    char last[64] = "unknown";
    for (;;) {
        json_t *j = container_inspect(cfg, id, 10000, e);
        if (!j) return -1;
        json_t *st = json_object_get(j, "State");
        const char *status = jstr(st, "Status");
        json_t *health = json_object_get(st, "Health");
        const char *hs = jstr(health, "Status");
        int rc = 1;
        if (status && (!strcmp(status, "exited") || !strcmp(status, "dead"))) {
            json_t *code = json_object_get(st, "ExitCode");
            rc = hm_err_set(e, "'%s' %s with status %d", name, status,
                            json_is_integer(code) ? (int)json_integer_value(code) : -1);
        } else if (status && !strcmp(status, "running")) {
            if (!hs || !strcmp(hs, "healthy") || !strcmp(hs, "none")) {
                rc = 0;
            } else if (!strcmp(hs, "unhealthy")) {
                char *out = health_output(health);
                rc = hm_err_set(e, "'%s' is unhealthy: %s", name, out);
                free(out);
            }
        }
        if (rc <= 0) {
            json_decref(j);
            return rc;
        }
        if (hs) snprintf(last, sizeof last, "health: %s", hs);
        else snprintf(last, sizeof last, "state: %s", status ? status : "unknown");
        json_decref(j);
        if (hm_mono_ms() >= deadline) {
            char d[32];
            hm_format_duration(timeout_ms, d, sizeof d);
            return hm_err_set(e, "'%s' was not %s within %s (%s)", name,
                              strncmp(last, "health", 6) == 0 ? "healthy" : "running", d, last);
        }
        struct timespec ts = {0, 500 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static char *rename_path(const char *id, const char *name)
{
    char *eid = hm_url_escape(id), *ename = hm_url_escape(name);
    char *p = xasprintf("/containers/%s/rename?name=%s", eid, ename);
    free(eid);
    free(ename);
    return p;
}

static int api_rename(const hm_config *cfg, const char *id, const char *to, hm_err *e)
{
    char *p = rename_path(id, to);
    int rc = api_post(cfg, p, NULL, 204, 200, 30000, "cannot rename a container to '%s'", to, e);
    free(p);
    return rc;
}

static int api_action(const hm_config *cfg, const char *id, const char *action, int grace_s,
                      const char *name, hm_err *e)
{
    char *eid = hm_url_escape(id);
    char *p = grace_s >= 0 ? xasprintf("/containers/%s/%s?t=%d", eid, action, grace_s)
                           : xasprintf("/containers/%s/%s", eid, action);
    char what[64];
    snprintf(what, sizeof what, "cannot %s '%%s'", action);
    int rc = api_post(cfg, p, NULL, 204, 304,
                      30000 + (grace_s > 0 ? grace_s * 1000 : 0), what, name, e);
    free(p);
    free(eid);
    return rc;
}

static int api_remove(const hm_config *cfg, const char *id, bool force, hm_err *e)
{
    char *eid = hm_url_escape(id);
    char *p = xasprintf("/containers/%s%s", eid, force ? "?force=1" : "");
    hm_http_resp resp = {0};
    int rc = container_api(cfg, "DELETE", p, NULL, 30000, &resp, e);
    if (rc == 0 && resp.status != 204 && resp.status != 404)
        rc = api_fail(e, &resp, "cannot remove container %.12s", id);
    hm_http_resp_free(&resp);
    free(p);
    free(eid);
    return rc;
}

/* Creates the new container; returns its id or NULL with e set. */
static char *create_new(const hm_config *cfg, json_t *body, const char *tmpname, const char *name,
                        hm_err *e)
{
    char *ename = hm_url_escape(tmpname);
    char *path = xasprintf("/containers/create?name=%s", ename);
    free(ename);
    char *text = json_dumps(body, JSON_COMPACT);
    hm_http_resp resp = {0};
    char *id = NULL;
    if (container_api(cfg, "POST", path, text, 60000, &resp, e) == 0) {
        if (resp.status == 409) {
            hm_err_set(e, "cannot create the new container of '%s': a container named '%s' exists "
                          "(left by an interrupted reload?); remove it with 'docker rm %s'",
                       name, tmpname, tmpname);
        } else if (resp.status != 201 && resp.status != 200) {
            api_fail(e, &resp, "cannot create the new container of '%s'", name);
        } else {
            json_t *j = json_loads(sb_str(&resp.body), 0, NULL);
            if (jstr(j, "Id")) id = xstrdup(jstr(j, "Id"));
            else hm_err_set(e, "cannot create the new container of '%s': no Id in the answer", name);
            json_decref(j);
        }
    }
    hm_http_resp_free(&resp);
    free(text);
    free(path);
    return id;
}

/* Attaches the networks API v1.41 cannot give at creation. */
static int connect_networks(const hm_config *cfg, const char *id, json_t *extra, const char *name,
                            hm_err *e)
{
    size_t i;
    json_t *x;
    json_array_foreach(extra, i, x) {
        const char *net = jstr(x, "name");
        json_t *req = json_object();
        json_object_set_new(req, "Container", json_string(id));
        json_object_set(req, "EndpointConfig", json_object_get(x, "endpoint"));
        char *text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        char *enet = hm_url_escape(net);
        char *path = xasprintf("/networks/%s/connect", enet);
        free(enet);
        char what[256];
        snprintf(what, sizeof what, "cannot connect the new container of '%s' to network '%%s'", name);
        int rc = api_post(cfg, path, text, 200, 204, 30000, what, net, e);
        free(path);
        free(text);
        if (rc < 0) return -1;
    }
    return 0;
}

int container_recreate(const hm_config *cfg, const char *id, const char *name,
                       const container_recreate_opts *o, char **new_id, hm_err *e)
{
    json_t *old = container_inspect(cfg, id, 10000, e);
    if (!old) return -1;
    const char *cname = jstr(old, "Name");
    char *real = xstrdup(cname && *cname == '/' ? cname + 1 : cname ? cname : id);
    char *tmpname = xasprintf("%s-hmctl-new", real);
    char *oldname = xasprintf("%s-hmctl-old", real);
    const char *old_id = jstr(old, "Id");
    bool was_running = json_is_true(json_object_get(json_object_get(old, "State"), "Running"));
    json_t *extra = NULL;
    json_t *body = container_create_body(old, &extra, e);
    char *nid = NULL;
    int rc = -1;
    if (!body) {
        hm_err_prefix(e, "cannot recreate '%s'", name);
        goto out;
    }
    nid = create_new(cfg, body, tmpname, name, e);
    if (!nid) goto out;
    if (connect_networks(cfg, nid, extra, name, e) < 0) {
        api_remove(cfg, nid, true, NULL);
        goto out;
    }
    /* From here on the old container is touched: every failure puts it back. */
    enum { STOPPED = 1, OLD_RENAMED = 2, NEW_RENAMED = 4 } done = 0;
    if (api_action(cfg, old_id, "stop", o->stop_timeout_s, name, e) == 0) {
        done |= STOPPED;
        if (api_rename(cfg, old_id, oldname, e) == 0) {
            done |= OLD_RENAMED;
            if (api_rename(cfg, nid, real, e) == 0) {
                done |= NEW_RENAMED;
                if (api_action(cfg, nid, "start", -1, name, e) == 0 &&
                    container_wait_ready(cfg, nid, name, o->ready_timeout_ms, e) == 0)
                    rc = 0;
            }
        }
    }
    if (rc == 0) {
        hm_err re = {{0}};
        if (api_remove(cfg, old_id, false, &re) < 0)
            fprintf(stderr, "hmctl: warning: '%s' was recreated but the old container %s stays: %s\n",
                    name, oldname, re.msg);
        if (new_id) *new_id = xstrdup(nid);
        goto out;
    }
    /* Undo, keeping the first error as the reason. */
    strbuf undo = {0};
    hm_err ue = {{0}};
    if (api_remove(cfg, nid, true, &ue) < 0) sb_addf(&undo, "; %s", ue.msg);
    if ((done & OLD_RENAMED) && api_rename(cfg, old_id, real, &ue) < 0)
        sb_addf(&undo, "; the old container is still named %s: %s", oldname, ue.msg);
    if ((done & STOPPED) && was_running && api_action(cfg, old_id, "start", -1, name, &ue) < 0)
        sb_addf(&undo, "; the old container did not start again: %s", ue.msg);
    if ((done & STOPPED) && e) {
        char *msg = xasprintf("%s%s", e->msg, undo.len ? sb_str(&undo)
                                                      : "; the previous container was put back");
        hm_err_set(e, "%s", msg);
        free(msg);
    }
    sb_free(&undo);
out:
    json_decref(body);
    json_decref(extra);
    json_decref(old);
    free(nid);
    free(real);
    free(tmpname);
    free(oldname);
    return rc;
}

size_t container_demux(const char *buf, size_t len, strbuf *out)
{
    size_t off = 0;
    while (off < len) {
        const unsigned char *h = (const unsigned char *)buf + off;
        if (len - off < 8) {
            /* A partial header, or the tail of a TTY stream that happens to be short. */
            if (h[0] <= 2 && (len - off < 4 || (h[1] == 0 && h[2] == 0 && h[3] == 0))) return off;
            sb_add(out, buf + off, len - off);
            return len;
        }
        if (h[0] > 2 || h[1] || h[2] || h[3]) {
            sb_add(out, buf + off, len - off);
            return len;
        }
        size_t n = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
        if (len - off - 8 < n) return off;
        sb_add(out, buf + off + 8, n);
        off += 8 + n;
    }
    return off;
}

int container_logs(const hm_config *cfg, const char *id, bool tty, int64_t since_s,
                   int64_t timeout_ms, strbuf *out, hm_err *e)
{
    char *eid = hm_url_escape(id);
    char *path = xasprintf("/containers/%s/logs?stdout=1&stderr=1&since=%lld&timestamps=1", eid,
                           (long long)since_s);
    free(eid);
    hm_http_resp resp = {0};
    int rc = container_api(cfg, "GET", path, NULL, timeout_ms, &resp, e);
    if (rc == 0 && resp.status != 200) rc = api_fail(e, &resp, "cannot read the log of '%s'", id);
    if (rc == 0) {
        if (tty) {
            sb_add(out, resp.body.buf ? resp.body.buf : "", resp.body.len);
        } else {
            size_t used = container_demux(resp.body.buf ? resp.body.buf : "", resp.body.len, out);
            if (used < resp.body.len) sb_adds(out, "\n[hmctl: the log ended in the middle of a frame]\n");
        }
    }
    hm_http_resp_free(&resp);
    free(path);
    return rc;
}
