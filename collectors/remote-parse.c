/* Parsers of the remote commands' output and the framing of a poll's commands into one exec. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/remote.h"

/* ---- small text helpers ---- */

/* Calls fn for every line of text (without its newline; a trailing \r is dropped too). */
typedef int (*line_fn)(char *line, void *ud);

static int each_line(const char *text, line_fn fn, void *ud)
{
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = xstrndup(p, len);
        if (len && line[len - 1] == '\r') line[len - 1] = '\0';
        int rc = fn(line, ud);
        free(line);
        if (rc) return rc;
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Splits s on runs of whitespace into at most max fields (the last one keeps the rest of the
 * line, spaces included). Returns the number of fields; fields point into s, which is cut. */
static int split_ws(char *s, char **f, int max)
{
    int n = 0;
    char *p = s;
    while (*p && n < max) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        f[n++] = p;
        if (n == max) {
            hm_strip(p);
            break;
        }
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

/* Splits s on runs of two or more spaces (the way docker-compose's table separates columns,
 * while values such as "Up (healthy)" contain single spaces). Fields point into s. */
static int split_columns(char *s, char **f, int max)
{
    int n = 0;
    char *p = s;
    while (*p == ' ' || *p == '\t') p++;
    while (*p && n < max) {
        f[n++] = p;
        char *q = p;
        while (*q) {
            if (*q == '\t' || (q[0] == ' ' && q[1] == ' ')) break;
            q++;
        }
        if (!*q) break;
        *q++ = '\0';
        while (*q == ' ' || *q == '\t') q++;
        p = q;
    }
    for (int i = 0; i < n; i++) hm_strip(f[i]);
    while (n > 0 && !*f[n - 1]) n--;
    return n;
}

static bool ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* ---- framing ---- */

void remote_script_add(remote_script *rs, const char *name, const char *command)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 8;
        rs->s = xrealloc(rs->s, rs->cap * sizeof *rs->s);
    }
    rs->s[rs->n++] = (remote_section){.name = xstrdup(name), .command = xstrdup(command), .rc = -1};
}

/* The markers: ASCII RS (\036), which no text tool prints, then a word. On stdout each command
 * is "\036hmctl-begin NAME\n" OUTPUT "\n\036hmctl-end NAME RC\n"; on stderr only the begin
 * marker precedes each command's messages. */
char *remote_script_text(const remote_script *rs)
{
    strbuf sb = {0};
    /* Every command is bounded on the host too, so a hung tool is killed there instead of
     * piling up one more stuck process per poll. timeout(1) is in coreutils and busybox; where
     * it is missing the commands run unbounded and the poll is cut by hmctl alone. */
    int64_t secs = (rs->command_timeout_ms + 999) / 1000;
    if (secs < 1) secs = 1;
    sb_addf(&sb, "t=; if command -v timeout >/dev/null 2>&1; then t='timeout %lld'; fi\n",
            (long long)secs);
    for (size_t i = 0; i < rs->n; i++) {
        const remote_section *s = &rs->s[i];
        sb_addf(&sb,
                "printf '\\036hmctl-begin %s\\n'; printf '\\036hmctl-begin %s\\n' >&2\n"
                "%s\n"
                "printf '\\n\\036hmctl-end %s %%d\\n' \"$?\"\n",
                s->name, s->name, s->command, s->name);
    }
    char *body = sb_detach(&sb);
    char *q = hm_sh_quote(body);
    char *text = xasprintf("sh -c %s", q);
    free(body);
    free(q);
    return text;
}

remote_section *remote_script_get(remote_script *rs, const char *name)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->s[i].name, name) == 0) return &rs->s[i];
    return NULL;
}

/* Finds the next "\036WORD" from p on (RS marks hmctl's markers only, wherever they fall:
 * a command's stderr need not end with a newline). */
static const char *find_marker(const char *p, const char *word)
{
    size_t wl = strlen(word);
    for (const char *q = strchr(p, '\036'); q; q = strchr(q + 1, '\036'))
        if (strncmp(q + 1, word, wl) == 0) return q;
    return NULL;
}

void remote_script_split(remote_script *rs, const char *out, const char *err)
{
    out = out ? out : "";
    err = err ? err : "";
    for (const char *b = find_marker(out, "hmctl-begin "); b;) {
        const char *name = b + 1 + strlen("hmctl-begin ");
        const char *nl = strchr(name, '\n');
        if (!nl) break;
        char *nm = xstrndup(name, (size_t)(nl - name));
        remote_section *s = remote_script_get(rs, nm);
        const char *body = nl + 1;
        /* the end marker for this name: "\n\036hmctl-end NAME RC" */
        char *endpat = xasprintf("\n\036hmctl-end %s ", nm);
        const char *e = strstr(body, endpat);
        const char *next = find_marker(body, "hmctl-begin ");
        if (e && next && e > next) e = NULL; /* its end never came; the next one began */
        if (s) {
            s->started = true;
            sb_reset(&s->out);
            if (e) {
                sb_add(&s->out, body, (size_t)(e - body));
                s->finished = true;
                s->rc = atoi(e + strlen(endpat));
            } else {
                sb_add(&s->out, body, next ? (size_t)(next - body) : strlen(body));
            }
        }
        free(endpat);
        free(nm);
        b = next;
    }
    for (const char *b = find_marker(err, "hmctl-begin "); b;) {
        const char *name = b + 1 + strlen("hmctl-begin ");
        const char *nl = strchr(name, '\n');
        if (!nl) break;
        char *nm = xstrndup(name, (size_t)(nl - name));
        remote_section *s = remote_script_get(rs, nm);
        const char *body = nl + 1;
        const char *next = find_marker(body, "hmctl-begin ");
        if (s) {
            sb_reset(&s->err);
            sb_add(&s->err, body, next ? (size_t)(next - body) : strlen(body));
        }
        free(nm);
        b = next;
    }
}

void remote_script_free(remote_script *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->s[i].name);
        free(rs->s[i].command);
        sb_free(&rs->s[i].out);
        sb_free(&rs->s[i].err);
    }
    free(rs->s);
    memset(rs, 0, sizeof *rs);
}

/* ---- df -P ---- */

struct df_state {
    remote_df *v;
    int n, cap;
    bool header;
};

static int df_line(char *line, void *ud)
{
    struct df_state *st = ud;
    if (!st->header) {
        /* "Filesystem     1024-blocks      Used Available Capacity Mounted on" (POSIX); GNU df
         * -P with -h or other block sizes names the column differently, hence the prefix. */
        char *f[3];
        char *copy = xstrdup(line);
        int n = split_ws(copy, f, 3);
        if (n >= 2 && ieq(f[0], "Filesystem") && strstr(f[1], "-blocks")) st->header = true;
        free(copy);
        return 0;
    }
    char *f[6];
    int n = split_ws(line, f, 6);
    if (n < 6) return 0;
    char *end;
    errno = 0;
    unsigned long long size = strtoull(f[1], &end, 10);
    if (*end || errno) return 0;
    unsigned long long used = strtoull(f[2], &end, 10);
    if (*end) return 0;
    unsigned long long avail = strtoull(f[3], &end, 10);
    if (*end) return 0;
    if (!strchr(f[4], '%') && strcmp(f[4], "-") != 0) return 0;
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 8;
        st->v = xrealloc(st->v, (size_t)st->cap * sizeof *st->v);
    }
    remote_df *d = &st->v[st->n++];
    d->filesystem = xstrdup(f[0]);
    d->size_kb = size;
    d->used_kb = used;
    d->avail_kb = avail;
    d->used_percent = used + avail ? 100.0 * (double)used / (double)(used + avail) : 0;
    d->mount = xstrdup(f[5]);
    return 0;
}

int remote_parse_df(const char *text, remote_df **out)
{
    struct df_state st = {0};
    each_line(text, df_line, &st);
    *out = st.v;
    if (!st.header) {
        remote_df_free(st.v, st.n);
        *out = NULL;
        return -1;
    }
    return st.n;
}

void remote_df_free(remote_df *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].filesystem);
        free(v[i].mount);
    }
    free(v);
}

/* ---- docker-compose ps ---- */

static enum hm_state state_health(const char *state)
{
    if (strcmp(state, "Up") == 0 || strcmp(state, "Up (healthy)") == 0) return HM_OK;
    if (strcmp(state, "Up (health: starting)") == 0) return HM_WARNING;
    return HM_CRITICAL;
}

static const char *const state_words[] = {"Up", "Exit", "Exited", "Restarting", "Paused",
                                          "Created", "Dead", "Removing"};

static bool is_state(const char *s)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(state_words); i++) {
        size_t n = strlen(state_words[i]);
        if (strncmp(s, state_words[i], n) == 0 && (s[n] == '\0' || s[n] == ' ')) return true;
    }
    return false;
}

char *remote_compose_state(const char *status)
{
    const char *s = status;
    while (isspace((unsigned char)*s)) s++;
    if (strncmp(s, "Up", 2) == 0 && (s[2] == '\0' || s[2] == ' ')) {
        if (strstr(s, "(healthy)")) return xstrdup("Up (healthy)");
        if (strstr(s, "(unhealthy)")) return xstrdup("Up (unhealthy)");
        if (strstr(s, "health: starting")) return xstrdup("Up (health: starting)");
        if (strstr(s, "(Paused)")) return xstrdup("Paused");
        return xstrdup("Up");
    }
    int code;
    if (sscanf(s, "Exited (%d)", &code) == 1 || sscanf(s, "Exit %d", &code) == 1)
        return xasprintf("Exit %d", code);
    for (size_t i = 0; i < HM_ARRAY_LEN(state_words); i++) {
        size_t n = strlen(state_words[i]);
        if (strncmp(s, state_words[i], n) == 0 && (s[n] == '\0' || s[n] == ' '))
            return xstrdup(state_words[i]);
    }
    char *copy = xstrdup(s);
    return hm_strip(copy);
}

struct compose_state {
    remote_service *v;
    int n, cap;
    int header; /* 0 none yet, 1 classic (State), 2 v2 table (STATUS) */
    int status_col; /* v2: index of STATUS */
    int service_col;
};

static void add_service(struct compose_state *st, const char *name, const char *service,
                        char *state)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 8;
        st->v = xrealloc(st->v, (size_t)st->cap * sizeof *st->v);
    }
    remote_service *s = &st->v[st->n++];
    s->name = xstrdup(name);
    s->service = service && *service ? xstrdup(service) : NULL;
    s->state = state;
    s->health = state_health(state);
}

static int compose_line(char *line, void *ud)
{
    struct compose_state *st = ud;
    char *f[16];
    if (!st->header) {
        char *copy = xstrdup(line);
        int n = split_columns(copy, f, 16);
        bool name = false, state = false;
        for (int i = 0; i < n; i++) {
            if (strcmp(f[i], "Name") == 0) name = true;
            if (strcmp(f[i], "State") == 0) state = true;
        }
        if (name && state) st->header = 1;
        if (n >= 2 && strcmp(f[0], "NAME") == 0) {
            for (int i = 0; i < n; i++) {
                if (strcmp(f[i], "STATUS") == 0) st->status_col = i;
                if (strcmp(f[i], "SERVICE") == 0) st->service_col = i;
            }
            if (st->status_col > 0) st->header = 2;
        }
        free(copy);
        return 0;
    }
    if (line[0] == '-' || line[0] == ' ' || line[0] == '\t' || !line[0]) {
        /* the dashes under the classic header; a continuation line of a long Ports cell */
        return 0;
    }
    int n = split_columns(line, f, 16);
    if (n < 2) return 0;
    if (st->header == 1) {
        /* Name  Command  State  Ports: the State is the last column that reads like one
         * (Ports never does; a truncated Command could, but comes before it). */
        for (int i = n - 1; i >= 1; i--) {
            if (is_state(f[i])) {
                add_service(st, f[0], NULL, remote_compose_state(f[i]));
                return 0;
            }
        }
        return 0;
    }
    /* v2 table: columns by position; a missing PORTS cell only shortens the row */
    if (st->status_col < n && is_state(f[st->status_col])) {
        int sc = st->service_col;
        const char *service = sc > 0 && sc < n ? f[sc] : NULL;
        add_service(st, f[0], service, remote_compose_state(f[st->status_col]));
    }
    return 0;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One object of `docker compose ps --format json`. */
static int compose_json_object(struct compose_state *st, json_t *o, hm_err *e)
{
    if (!json_is_object(o)) return hm_err_set(e, "a JSON element is not an object");
    const char *name = jstr(o, "Name");
    if (!name) name = jstr(o, "Names");
    const char *service = jstr(o, "Service");
    const char *state = jstr(o, "State");
    const char *health = jstr(o, "Health");
    const char *status = jstr(o, "Status");
    if (!name || (!state && !status)) return hm_err_set(e, "an object has no Name or State");
    char *classic;
    if (state && strcmp(state, "running") == 0) {
        if (health && strcmp(health, "healthy") == 0) classic = xstrdup("Up (healthy)");
        else if (health && strcmp(health, "unhealthy") == 0) classic = xstrdup("Up (unhealthy)");
        else if (health && strcmp(health, "starting") == 0)
            classic = xstrdup("Up (health: starting)");
        else if (!health && status) classic = remote_compose_state(status);
        else classic = xstrdup("Up");
    } else if (state && strcmp(state, "exited") == 0) {
        json_t *ec = json_object_get(o, "ExitCode");
        int code = 0;
        if (json_is_integer(ec)) code = (int)json_integer_value(ec);
        else if (status) sscanf(status, "Exited (%d)", &code);
        classic = xasprintf("Exit %d", code);
    } else if (state && *state) {
        /* restarting, paused, created, dead, removing: capitalised as v1 printed them */
        classic = xstrdup(state);
        classic[0] = (char)toupper((unsigned char)classic[0]);
    } else {
        classic = remote_compose_state(status);
    }
    add_service(st, name, service, classic);
    return 0;
}

int remote_parse_compose(const char *text, remote_service **out, hm_err *e)
{
    struct compose_state st = {0};
    *out = NULL;
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) return 0; /* `ps --format json` of an empty project in NDJSON form prints nothing */
    if (*p == '[' || *p == '{') {
        int rc = 0;
        if (*p == '[') {
            json_error_t je;
            json_t *arr = json_loads(p, 0, &je);
            if (!arr || !json_is_array(arr)) {
                rc = arr ? hm_err_set(e, "docker compose ps printed JSON that is not an array")
                         : hm_err_set(e, "invalid JSON from docker compose ps at line %d: %s",
                                      je.line, je.text);
            } else {
                size_t i;
                json_t *o;
                json_array_foreach(arr, i, o) if (compose_json_object(&st, o, e) < 0) {
                    rc = -1;
                    break;
                }
            }
            json_decref(arr);
        } else {
            /* one object per line */
            int lineno = 0;
            for (const char *l = p; l && *l && rc == 0;) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t)(nl - l) : strlen(l);
                lineno++;
                char *line = xstrndup(l, len);
                if (*hm_strip(line)) {
                    json_error_t je;
                    json_t *o = json_loads(line, 0, &je);
                    if (!o) rc = hm_err_set(e, "invalid JSON from docker compose ps at line %d: %s",
                                            lineno, je.text);
                    else if (compose_json_object(&st, o, e) < 0) rc = -1;
                    json_decref(o);
                }
                free(line);
                l = nl ? nl + 1 : NULL;
            }
        }
        if (rc < 0) {
            remote_services_free(st.v, st.n);
            return -1;
        }
        *out = st.v;
        return st.n;
    }
    each_line(text, compose_line, &st);
    if (!st.header) {
        remote_services_free(st.v, st.n);
        return hm_err_set(e, "no docker-compose ps header (Name ... State) in the output");
    }
    *out = st.v;
    return st.n;
}

void remote_services_free(remote_service *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].service);
        free(v[i].state);
    }
    free(v);
}

/* ---- egisplus-cli agent check ---- */

struct agent_state {
    remote_agent_check *c;
    int recognised;
    bool in_fs;
};

/* "Yes" / "No" (the seed's values), tolerant of case and of true/false. */
static int yes_no(const char *v)
{
    if (ieq(v, "yes") || ieq(v, "true") || ieq(v, "y")) return 1;
    if (ieq(v, "no") || ieq(v, "false") || ieq(v, "n")) return 0;
    return -1;
}

/* The key with runs of blanks made one space and lower case: "This agent is protected ". */
static void normalise_key(char *k)
{
    char *w = k;
    bool space = false;
    for (char *r = k; *r; r++) {
        if (isspace((unsigned char)*r)) {
            space = true;
            continue;
        }
        if (space && w != k) *w++ = ' ';
        space = false;
        *w++ = (char)tolower((unsigned char)*r);
    }
    *w = '\0';
}

static int agent_line(char *line, void *ud)
{
    struct agent_state *st = ud;
    remote_agent_check *c = st->c;
    /* the seed's annotations: "... Yes. ##Agent 服务正在运行" */
    char *hash = strstr(line, "##");
    if (hash) *hash = '\0';
    hm_strip(line);
    if (!*line) return 0;

    char *f[7];
    char *copy = xstrdup(line);
    int n = split_ws(copy, f, 7);
    if (n >= 6 && ieq(f[0], "block") && ieq(f[1], "mount") && ieq(f[2], "fs")) {
        st->in_fs = true;
        st->recognised++;
        free(copy);
        return 0;
    }
    if (st->in_fs && n == 6 && strchr(f[4], '%')) {
        char *end;
        double pct = strtod(f[4], &end);
        uint64_t freeb = 0;
        if (end != f[4] && *end == '%' && hm_parse_size(f[3], &freeb) == 0) {
            c->fs = xrealloc(c->fs, (size_t)(c->n_fs + 1) * sizeof *c->fs);
            c->fs[c->n_fs++] = (remote_agent_fs){xstrdup(f[0]), xstrdup(f[1]), xstrdup(f[2]),
                                                 xstrdup(f[5]), freeb, pct};
            st->recognised++;
        }
        free(copy);
        return 0;
    }
    free(copy);

    char *colon = strchr(line, ':');
    if (!colon) return 0;
    *colon = '\0';
    char *key = line, *val = colon + 1;
    normalise_key(key);
    hm_strip(val);
    size_t vl = strlen(val);
    while (vl && (val[vl - 1] == '.' || isspace((unsigned char)val[vl - 1]))) val[--vl] = '\0';
    int *flag = NULL;
    if (strcmp(key, "agent service is started") == 0) flag = &c->service_started;
    else if (strcmp(key, "iscsi service is started") == 0) flag = &c->iscsi_started;
    else if (strcmp(key, "this agent is registered") == 0) flag = &c->registered;
    else if (strcmp(key, "this agent is protected") == 0) flag = &c->protected_;
    if (flag) {
        *flag = yes_no(val);
        if (*flag < 0) *flag = 0; /* anything but Yes is not a Yes */
        st->recognised++;
        return 0;
    }
    if (strcmp(key, "heartbeat of this agent") == 0) {
        c->has_heartbeat = true;
        free(c->heartbeat_text);
        c->heartbeat_text = xstrdup(val);
        char *end;
        double v = strtod(val, &end);
        c->heartbeat = (end != val && !*end) ? v : NAN;
        st->recognised++;
    }
    return 0;
}

int remote_parse_agent_check(const char *text, remote_agent_check *out)
{
    memset(out, 0, sizeof *out);
    out->service_started = out->iscsi_started = out->registered = out->protected_ = -1;
    out->heartbeat = NAN;
    struct agent_state st = {out, 0, false};
    each_line(text, agent_line, &st);
    return st.recognised;
}

void remote_agent_check_free(remote_agent_check *c)
{
    for (int i = 0; i < c->n_fs; i++) {
        free(c->fs[i].block);
        free(c->fs[i].mount);
        free(c->fs[i].fs);
        free(c->fs[i].path);
    }
    free(c->fs);
    free(c->heartbeat_text);
    memset(c, 0, sizeof *c);
}

/* ---- systemctl show ---- */

struct units_state {
    remote_unit *v;
    int n, cap;
    bool open; /* a block is being filled */
    bool any;
};

static int units_line(char *line, void *ud)
{
    struct units_state *st = ud;
    hm_strip(line);
    if (!*line) {
        st->open = false;
        return 0;
    }
    char *eq = strchr(line, '=');
    if (!eq || eq == line) return 0;
    *eq = '\0';
    const char *key = line, *val = eq + 1;
    char **slot = NULL;
    if (!st->open) {
        if (st->n == st->cap) {
            st->cap = st->cap ? st->cap * 2 : 4;
            st->v = xrealloc(st->v, (size_t)st->cap * sizeof *st->v);
        }
        memset(&st->v[st->n++], 0, sizeof *st->v);
        st->open = true;
    }
    remote_unit *u = &st->v[st->n - 1];
    if (strcmp(key, "Id") == 0) slot = &u->id;
    else if (strcmp(key, "LoadState") == 0) slot = &u->load_state;
    else if (strcmp(key, "ActiveState") == 0) slot = &u->active_state;
    else if (strcmp(key, "SubState") == 0) slot = &u->sub_state;
    st->any = true;
    if (slot) {
        free(*slot);
        *slot = xstrdup(val);
    }
    return 0;
}

int remote_parse_systemctl_show(const char *text, const strvec *asked, remote_unit **out)
{
    struct units_state st = {0};
    each_line(text, units_line, &st);
    if (!st.any) {
        remote_units_free(st.v, st.n);
        *out = NULL;
        return -1;
    }
    for (int i = 0; i < st.n; i++)
        if (!st.v[i].id && asked && (size_t)i < asked->n) st.v[i].id = xstrdup(asked->v[i]);
    *out = st.v;
    return st.n;
}

void remote_units_free(remote_unit *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].load_state);
        free(v[i].active_state);
        free(v[i].sub_state);
    }
    free(v);
}

int64_t remote_parse_du(const char *text)
{
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    if (!isdigit((unsigned char)*p)) return -1;
    char *end;
    unsigned long long kb = strtoull(p, &end, 10);
    if (*end && !isspace((unsigned char)*end)) return -1;
    return (int64_t)kb * 1024;
}
