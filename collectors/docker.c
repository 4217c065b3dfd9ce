/* Docker collector and service control over the Engine API on the unix socket. */
#include "collectors/docker.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "collectors/net.h"
#include "lib/clock.h"
#include "lib/http.h"

#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"

static void container_free(docker_container *c)
{
    free(c->id);
    free(c->name);
    free(c->service);
    free(c->project);
    free(c->image);
    free(c->state);
    free(c->list_status);
    free(c->health);
    free(c->health_output);
    memset(c, 0, sizeof *c);
}

void docker_list_free(docker_list *l)
{
    for (size_t i = 0; i < l->n; i++) container_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Parses an answer, with an error that says what was wrong with it. */
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

/* The list's Status text carries the health in parentheses; used when inspection fails. */
static void guess_from_status(docker_container *c)
{
    const char *s = c->list_status ? c->list_status : "";
    if (strstr(s, "(unhealthy)")) c->health = xstrdup("unhealthy");
    else if (strstr(s, "(healthy)")) c->health = xstrdup("healthy");
    else if (strstr(s, "(health: starting)")) c->health = xstrdup("starting");
    int code;
    if (sscanf(s, "Exited (%d)", &code) == 1 || sscanf(s, "Restarting (%d)", &code) == 1)
        c->exit_code = code;
}

int docker_parse_list(const char *json, docker_list *out, hm_err *e)
{
    json_t *root = load_json(json, e);
    if (!root) return -1;
    if (!json_is_array(root)) {
        json_decref(root);
        return hm_err_set(e, "expected an array of containers");
    }
    size_t i;
    json_t *it;
    json_array_foreach(root, i, it) {
        const char *id = jstr(it, "Id");
        if (!json_is_object(it) || !id) continue;
        docker_container c = {0};
        c.id = xstrdup(id);
        json_t *names = json_object_get(it, "Names");
        const char *name = json_is_array(names) ? json_string_value(json_array_get(names, 0)) : NULL;
        if (!name) name = id;
        c.name = xstrdup(name[0] == '/' ? name + 1 : name);
        json_t *labels = json_object_get(it, "Labels");
        c.service = xstrdup(jstr(labels, LABEL_SERVICE));
        c.project = xstrdup(jstr(labels, LABEL_PROJECT));
        c.image = xstrdup(jstr(it, "Image") ? jstr(it, "Image") : "");
        c.state = xstrdup(jstr(it, "State") ? jstr(it, "State") : "unknown");
        c.list_status = xstrdup(jstr(it, "Status"));
        c.exit_code = -1;
        c.health_exit = -1;
        guess_from_status(&c);
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 16;
            out->v = xrealloc(out->v, out->cap * sizeof *out->v);
        }
        out->v[out->n++] = c;
    }
    json_decref(root);
    return 0;
}

/* Docker writes "0001-01-01T00:00:00Z" for a time that never happened. */
static int64_t parse_docker_time(const char *s)
{
    int64_t ms;
    if (!s || hm_parse_time(s, &ms) < 0 || ms <= 0) return 0;
    return ms;
}

/* The first non-empty line of a health check's output, trimmed and bounded. */
static char *first_line(const char *s)
{
    while (*s) {
        size_t n = strcspn(s, "\r\n");
        char *line = xstrndup(s, n > 200 ? 200 : n);
        hm_strip(line);
        if (*line) return line;
        free(line);
        s += n;
        s += strspn(s, "\r\n");
    }
    return NULL;
}

int docker_parse_inspect(const char *json, docker_container *c, hm_err *e)
{
    json_t *root = load_json(json, e);
    if (!root) return -1;
    json_t *st = json_object_get(root, "State");
    const char *status = jstr(st, "Status");
    if (!status) {
        json_decref(root);
        return hm_err_set(e, "no State.Status in the inspection");
    }
    free(c->state);
    c->state = xstrdup(status);
    json_t *v = json_object_get(st, "ExitCode");
    if (json_is_integer(v)) c->exit_code = (int)json_integer_value(v);
    c->started_ms = parse_docker_time(jstr(st, "StartedAt"));
    c->finished_ms = parse_docker_time(jstr(st, "FinishedAt"));
    free(c->health);
    free(c->health_output);
    c->health = NULL;
    c->health_output = NULL;
    c->health_exit = -1;
    json_t *health = json_object_get(st, "Health");
    if (jstr(health, "Status")) {
        c->health = xstrdup(jstr(health, "Status"));
        json_t *log = json_object_get(health, "Log");
        json_t *last = json_is_array(log) ? json_array_get(log, json_array_size(log) - 1) : NULL;
        if (jstr(last, "Output")) c->health_output = first_line(jstr(last, "Output"));
        json_t *code = json_object_get(last, "ExitCode");
        if (json_is_integer(code)) c->health_exit = (int)json_integer_value(code);
    }
    v = json_object_get(root, "RestartCount");
    if (json_is_integer(v)) c->restarts = (long)json_integer_value(v);
    if (!c->image || !*c->image) {
        json_t *cfg = json_object_get(root, "Config");
        if (jstr(cfg, "Image")) { free(c->image); c->image = xstrdup(jstr(cfg, "Image")); }
    }
    c->inspected = true;
    json_decref(root);
    return 0;
}

char *docker_parse_version(const char *json, hm_err *e)
{
    json_t *root = load_json(json, e);
    if (!root) return NULL;
    const char *v = jstr(root, "Version");
    char *out = NULL;
    if (!v || !*v) hm_err_set(e, "no Version in the answer");
    else out = xstrndup(v, strcspn(v, "+")); /* Debian's "+dfsg1" is packaging, not version */
    json_decref(root);
    return out;
}

bool docker_selected(const docker_container *c, const strvec *projects, const strvec *services)
{
    if (services && services->n > 0)
        return sv_contains(services, c->name) || (c->service && sv_contains(services, c->service));
    return c->project && projects && sv_contains(projects, c->project);
}

const char *docker_display_name(const docker_list *l, const docker_container *c)
{
    if (!c->service || !*c->service) return c->name;
    for (size_t i = 0; l && i < l->n; i++)
        if (&l->v[i] != c && l->v[i].service && strcmp(l->v[i].service, c->service) == 0)
            return c->name;
    return c->service;
}

/* qsort has no context argument; sorting by service label then name gives the same order as
 * the display name except for scaled services, which then sit together. */
static int cmp_container(const void *a, const void *b)
{
    const docker_container *x = a, *y = b;
    int r = strcmp(x->service ? x->service : x->name, y->service ? y->service : y->name);
    return r ? r : strcmp(x->name, y->name);
}

void docker_filter(docker_list *l, const strvec *projects, const strvec *services)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (docker_selected(&l->v[i], projects, services)) l->v[k++] = l->v[i];
        else container_free(&l->v[i]);
    }
    l->n = k;
    if (k) qsort(l->v, k, sizeof *l->v, cmp_container);
}

static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

char *docker_status_text(const docker_container *c)
{
    const char *s = c->state ? c->state : "unknown";
    if (is(s, "running")) {
        if (is(c->health, "healthy")) return xstrdup("Up (healthy)");
        if (is(c->health, "unhealthy")) return xstrdup("Up (unhealthy)");
        if (is(c->health, "starting")) return xstrdup("Up (health: starting)");
        return xstrdup("Up");
    }
    if (is(s, "exited"))
        return c->exit_code >= 0 ? xasprintf("Exited (%d)", c->exit_code) : xstrdup("Exited");
    if (is(s, "restarting")) return xstrdup("Restarting");
    if (is(s, "created")) return xstrdup("Created");
    if (is(s, "paused")) return xstrdup("Paused");
    if (is(s, "dead")) return xstrdup("Dead");
    if (is(s, "removing")) return xstrdup("Removing");
    return xstrdup(s);
}

enum hm_state docker_container_state(const docker_container *c)
{
    const char *s = c->state;
    if (is(s, "running")) {
        if (is(c->health, "unhealthy")) return HM_CRITICAL;
        if (is(c->health, "starting")) return HM_WARNING;
        return HM_OK;
    }
    if (is(s, "paused") || is(s, "created")) return HM_WARNING;
    if (is(s, "exited") || is(s, "restarting") || is(s, "dead") || is(s, "removing"))
        return HM_CRITICAL;
    return HM_UNKNOWN;
}

static void add_restarts(strbuf *sb, long n)
{
    sb_addf(sb, "%ld restart%s", n, n == 1 ? "" : "s");
}

static void add_ago(strbuf *sb, int64_t then_ms, int64_t now_ms)
{
    char d[32];
    hm_format_duration(now_ms - then_ms < 0 ? 0 : now_ms - then_ms, d, sizeof d);
    sb_adds(sb, d);
}

char *docker_container_detail(const docker_container *c, int64_t now_ms)
{
    strbuf sb = {0};
    const char *s = c->state ? c->state : "unknown";
    const char *image = c->image && *c->image ? c->image : "unknown";
    if (is(s, "running") && is(c->health, "unhealthy")) {
        if (c->health_output) sb_addf(&sb, "unhealthy: %s", c->health_output);
        else if (c->health_exit >= 0)
            sb_addf(&sb, "unhealthy: health check exited with status %d", c->health_exit);
        else sb_adds(&sb, "unhealthy: the health check fails");
    } else if (is(s, "running")) {
        if (is(c->health, "starting")) sb_adds(&sb, "health check starting, ");
        if (c->started_ms) {
            sb_adds(&sb, "up ");
            add_ago(&sb, c->started_ms, now_ms);
        } else {
            sb_adds(&sb, "running");
        }
        sb_adds(&sb, ", ");
        add_restarts(&sb, c->restarts);
        sb_addf(&sb, ", image %s", image);
    } else if (is(s, "exited")) {
        if (c->exit_code >= 0) sb_addf(&sb, "exited with status %d", c->exit_code);
        else sb_adds(&sb, "exited");
        if (c->finished_ms) {
            sb_addc(&sb, ' ');
            add_ago(&sb, c->finished_ms, now_ms);
            sb_adds(&sb, " ago");
        }
        if (c->restarts) { sb_adds(&sb, ", "); add_restarts(&sb, c->restarts); }
    } else if (is(s, "restarting")) {
        sb_adds(&sb, "restarting");
        if (c->exit_code >= 0) sb_addf(&sb, " after exit status %d", c->exit_code);
        sb_adds(&sb, ", ");
        add_restarts(&sb, c->restarts);
    } else if (is(s, "created")) {
        sb_addf(&sb, "created, never started, image %s", image);
    } else if (is(s, "paused")) {
        sb_addf(&sb, "paused, image %s", image);
    } else if (is(s, "dead")) {
        sb_adds(&sb, "dead (Docker could not stop or remove it)");
        if (c->exit_code >= 0) sb_addf(&sb, ", last exit status %d", c->exit_code);
    } else if (is(s, "removing")) {
        sb_adds(&sb, "being removed");
    } else {
        sb_addf(&sb, "Docker reports state '%s'", s);
    }
    return sb_detach(&sb);
}

static char *join(const strvec *sv, const char *sep)
{
    strbuf sb = {0};
    for (size_t i = 0; i < sv->n; i++) {
        if (i) sb_adds(&sb, sep);
        sb_adds(&sb, sv->v[i]);
    }
    return sb_detach(&sb);
}

static void add_sample(hm_result *out, const char *metric, const char *container, double v,
                       const char *unit, int64_t ts)
{
    char *series = container ? hm_series(metric, "container", container, NULL) : hm_series(metric, NULL);
    hm_result_add_sample(out, series, v, unit, ts);
    free(series);
}

static void add_count(strbuf *sb, size_t n, const char *what)
{
    if (n) sb_addf(sb, ", %zu %s", n, what);
}

void docker_report(const docker_list *l, const char *version, const strvec *projects,
                   const strvec *services, int64_t now_ms, hm_result *out)
{
    size_t running = 0, unhealthy = 0, exited = 0, restarting = 0, paused = 0, created = 0,
           dead = 0, starting = 0;
    for (size_t i = 0; i < l->n; i++) {
        const docker_container *c = &l->v[i];
        if (is(c->state, "running")) {
            running++;
            if (is(c->health, "unhealthy")) unhealthy++;
            if (is(c->health, "starting")) starting++;
        }
        exited += is(c->state, "exited");
        restarting += is(c->state, "restarting");
        paused += is(c->state, "paused");
        created += is(c->state, "created");
        dead += is(c->state, "dead");
    }
    char vbuf[80];
    snprintf(vbuf, sizeof vbuf, "Docker%s%s", version ? " " : "", version ? version : "");
    if (l->n == 0) {
        bool by_name = services && services->n > 0;
        char *what = join(by_name ? services : projects, "|");
        hm_result_add_component(out, "docker", "docker", HM_WARNING, "no containers",
                                "%s: no containers %s%s; set [docker] project or services", vbuf,
                                by_name ? "named " : "labelled " LABEL_PROJECT "=", what);
        free(what);
    } else {
        strbuf sb = {0};
        sb_addf(&sb, "%s: %zu container%s", vbuf, l->n, l->n == 1 ? "" : "s");
        add_count(&sb, unhealthy, "unhealthy");
        add_count(&sb, starting, "starting");
        add_count(&sb, exited, "exited");
        add_count(&sb, restarting, "restarting");
        add_count(&sb, paused, "paused");
        add_count(&sb, created, "created");
        add_count(&sb, dead, "dead");
        hm_result_add_component(out, "docker", "docker", HM_OK, "up", "%s", sb_str(&sb));
        sb_free(&sb);
    }
    for (size_t i = 0; i < l->n; i++) {
        const docker_container *c = &l->v[i];
        const char *name = docker_display_name(l, c);
        char *status = docker_status_text(c);
        char *detail = docker_container_detail(c, now_ms);
        hm_result_add_component(out, name, "container", docker_container_state(c), status, "%s",
                                detail);
        add_sample(out, "docker.container.up", name, is(c->state, "running") ? 1 : 0, "bool", now_ms);
        add_sample(out, "docker.container.restarts", name, (double)c->restarts, "count", now_ms);
        free(status);
        free(detail);
    }
    add_sample(out, "docker.up", NULL, 1, "bool", now_ms);
    add_sample(out, "docker.containers.total", NULL, (double)l->n, "count", now_ms);
    add_sample(out, "docker.containers.running", NULL, (double)running, "count", now_ms);
    add_sample(out, "docker.containers.unhealthy", NULL, (double)unhealthy, "count", now_ms);
    add_sample(out, "docker.containers.exited", NULL, (double)exited, "count", now_ms);
}

/* I/O */

/* libcurl reports a missing or refusing socket as "Couldn't connect to server"; a plain
 * connect() first gives the operator the system's precise reason. */
static int probe_socket(const char *path, hm_err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char buf[128];
    if (strlen(path) >= sizeof sa.sun_path) return hm_err_set(e, "socket path too long");
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return hm_err_set(e, "%s", net_strerror(errno, buf, sizeof buf));
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (rc < 0) return hm_err_set(e, "%s", net_strerror(err, buf, sizeof buf));
    return 0;
}

/* hm_http_do's messages start with the URL, which for the socket is a meaningless
 * http://localhost/...; keep only the reason. */
static const char *reason_of(const hm_err *e, const char *url)
{
    size_t n = strlen(url);
    if (strncmp(e->msg, url, n) == 0 && e->msg[n] == ':') return e->msg + n + 2;
    return e->msg;
}

enum fetch_fail { FETCH_OK, FETCH_UNREACHABLE, FETCH_HTTP, FETCH_MALFORMED };

/* GET path on the socket; 200 expected. */
static enum fetch_fail docker_get(hm_http *h, const char *sock, const char *path, int64_t timeout_ms,
                                  hm_http_resp *resp, hm_err *e)
{
    char url[512];
    snprintf(url, sizeof url, "http://localhost%s", path);
    hm_http_req req = {.url = url, .unix_socket = sock, .timeout_ms = timeout_ms};
    hm_err he = {{0}};
    if (hm_http_do(h, &req, resp, &he) < 0) {
        hm_err_set(e, "cannot reach the Docker Engine at %s: %s", sock, reason_of(&he, url));
        return FETCH_UNREACHABLE;
    }
    if (resp->status != 200) {
        char *t = hm_http_error_text(resp);
        hm_err_set(e, "Docker Engine at %s answered HTTP %ld to %s: %s", sock, resp->status, path, t);
        free(t);
        return FETCH_HTTP;
    }
    return FETCH_OK;
}

struct fetch {
    char *version;
    docker_list list;
};

/* Version, container list (selected, sorted) and inspections, each request bounded by what is
 * left until deadline_mono. */
static enum fetch_fail fetch_all(const hm_config *cfg, int64_t deadline_mono, struct fetch *f,
                                 strvec *projects, strvec *services, hm_err *e)
{
    const char *sock = cfg_get(cfg, "docker", NULL, "socket");
    if (!sock) sock = "/var/run/docker.sock";
    cfg_get_list(cfg, "docker", NULL, "project", projects);
    cfg_get_list(cfg, "docker", NULL, "services", services);
    hm_err pe = {{0}};
    if (probe_socket(sock, &pe) < 0) {
        hm_err_set(e, "cannot reach the Docker Engine at %s: %s", sock, pe.msg);
        return FETCH_UNREACHABLE;
    }
    hm_http *h = hm_http_new();
    hm_http_resp resp = {0};
    enum fetch_fail rc = docker_get(h, sock, "/version", net_remaining_ms(deadline_mono), &resp, e);
    if (rc == FETCH_UNREACHABLE) goto out;
    if (rc == FETCH_OK) f->version = docker_parse_version(sb_str(&resp.body), NULL);
    hm_http_resp_free(&resp);
    rc = docker_get(h, sock, "/containers/json?all=1", net_remaining_ms(deadline_mono), &resp, e);
    if (rc != FETCH_OK) goto out;
    hm_err je = {{0}};
    if (docker_parse_list(sb_str(&resp.body), &f->list, &je) < 0) {
        hm_err_set(e, "Docker Engine at %s sent an unreadable container list: %s", sock, je.msg);
        rc = FETCH_MALFORMED;
        goto out;
    }
    docker_filter(&f->list, projects, services);
    for (size_t i = 0; i < f->list.n; i++) {
        /* Without time for an inspection, the list's own State and Status still tell the
         * operator the essentials. */
        if (deadline_mono - hm_mono_ms() < 50) break;
        docker_container *c = &f->list.v[i];
        char *id = hm_url_escape(c->id);
        char path[256];
        snprintf(path, sizeof path, "/containers/%s/json", id);
        free(id);
        hm_http_resp_free(&resp);
        hm_err ie = {{0}};
        if (docker_get(h, sock, path, net_remaining_ms(deadline_mono), &resp, &ie) == FETCH_OK)
            docker_parse_inspect(sb_str(&resp.body), c, NULL);
    }
out:
    hm_http_resp_free(&resp);
    hm_http_free(h);
    return rc;
}

void collect_docker(const hm_collect_ctx *cc, hm_result *out)
{
    struct fetch f = {0};
    strvec projects = {0}, services = {0};
    hm_err e = {{0}};
    enum fetch_fail rc = fetch_all(cc->cfg, cc->deadline_mono, &f, &projects, &services, &e);
    if (rc == FETCH_OK) {
        docker_report(&f.list, f.version, &projects, &services, cc->now_ms, out);
    } else {
        hm_result_add_component(out, "docker", "docker",
                                rc == FETCH_MALFORMED ? HM_UNKNOWN : HM_CRITICAL,
                                rc == FETCH_UNREACHABLE ? "unreachable" : "error", "%s", e.msg);
        add_sample(out, "docker.up", NULL, 0, "bool", cc->now_ms);
    }
    free(f.version);
    docker_list_free(&f.list);
    sv_free(&projects);
    sv_free(&services);
}

int docker_services_list(const hm_config *cfg, int64_t timeout_ms, docker_list *out, hm_err *e)
{
    struct fetch f = {0};
    strvec projects = {0}, services = {0};
    /* Listing and inspecting a few dozen containers is quick; the deadline covers them all. */
    enum fetch_fail rc = fetch_all(cfg, hm_mono_ms() + (timeout_ms > 0 ? timeout_ms : 5000), &f,
                                   &projects, &services, e);
    free(f.version);
    sv_free(&projects);
    sv_free(&services);
    if (rc != FETCH_OK) {
        docker_list_free(&f.list);
        return -1;
    }
    *out = f.list;
    return 0;
}

const docker_container *docker_service_find(const docker_list *l, const char *name, hm_err *e)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(docker_display_name(l, &l->v[i]), name) == 0) return &l->v[i];
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) return &l->v[i];
    if (l->n == 0) {
        hm_err_set(e, "unknown service '%s' (no services found)", name);
        return NULL;
    }
    strbuf sb = {0};
    for (size_t i = 0; i < l->n; i++) {
        if (i) sb_adds(&sb, ", ");
        sb_adds(&sb, docker_display_name(l, &l->v[i]));
    }
    hm_err_set(e, "unknown service '%s' (known services: %s)", name, sb_str(&sb));
    sb_free(&sb);
    return NULL;
}

int docker_service_action(const hm_config *cfg, const docker_list *l, const docker_container *c,
                          const char *action, int grace_s, int64_t timeout_ms, hm_err *e)
{
    if (!is(action, "start") && !is(action, "stop") && !is(action, "restart"))
        return hm_err_set(e, "unknown action '%s'", action);
    const char *name = docker_display_name(l, c);
    const char *sock = cfg_get(cfg, "docker", NULL, "socket");
    if (!sock) sock = "/var/run/docker.sock";
    char *id = hm_url_escape(c->id);
    char url[512];
    if (grace_s >= 0 && strcmp(action, "start") != 0)
        snprintf(url, sizeof url, "http://localhost/containers/%s/%s?t=%d", id, action, grace_s);
    else snprintf(url, sizeof url, "http://localhost/containers/%s/%s", id, action);
    free(id);
    hm_http_req req = {.method = "POST", .url = url, .unix_socket = sock,
                       .timeout_ms = timeout_ms > 0 ? timeout_ms : 30000};
    hm_http_resp resp = {0};
    hm_err he = {{0}};
    int ret = 0;
    if (hm_http_do(NULL, &req, &resp, &he) < 0) {
        ret = hm_err_set(e, "cannot %s '%s': %s", action, name, reason_of(&he, url));
    } else if (resp.status != 204 && resp.status != 304 && resp.status != 200) {
        char *t = hm_http_error_text(&resp);
        ret = hm_err_set(e, "cannot %s '%s': %s (HTTP %ld)", action, name, t, resp.status);
        free(t);
    }
    hm_http_resp_free(&resp);
    return ret;
}

int docker_service_control(const hm_config *cfg, const char *name, const char *action,
                           int64_t timeout_ms, hm_err *e)
{
    docker_list l = {0};
    if (docker_services_list(cfg, timeout_ms, &l, e) < 0) return -1;
    const docker_container *c = docker_service_find(&l, name, e);
    int rc = c ? docker_service_action(cfg, &l, c, action, -1, timeout_ms, e) : -1;
    docker_list_free(&l);
    return rc;
}
