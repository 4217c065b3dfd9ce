/* The remote hosts over SSH: every [host "NAME"] polled at once, one thread per host, each
 * poll a single exec of all the host's commands on a session the pool keeps open. A host that
 * does not answer costs its own connect timeout and delays no other host's samples. */
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/host.h"
#include "collectors/remote.h"
#include "lib/clock.h"

/* ---- roles ---- */

static const struct {
    const char *name, *title;
} roles[] = {
    [REMOTE_SYNC_PROXY] = {"sync_proxy", "Sync Proxy"},
    [REMOTE_LINUX_AGENT] = {"linux_agent", "Linux Agent"},
    [REMOTE_GATEWAY] = {"gateway", "Cloud Sync Gateway"},
    [REMOTE_LINUX] = {"linux", "Linux"},
    [REMOTE_JUMP] = {"jump", "Jump host"},
};

const char *remote_role_name(enum remote_role r)
{
    return roles[r].name;
}

const char *remote_role_title(enum remote_role r)
{
    return roles[r].title;
}

int remote_role_parse(const char *s, enum remote_role *out)
{
    for (size_t i = 0; s && i < HM_ARRAY_LEN(roles); i++)
        if (strcmp(s, roles[i].name) == 0) {
            *out = (enum remote_role)i;
            return 0;
        }
    return -1;
}

bool remote_is_role_kind(const char *kind)
{
    enum remote_role r;
    return remote_role_parse(kind, &r) == 0;
}

/* ---- hosts ---- */

/* Each command is cut on the host at command_timeout (timeout(1)); the exec as a whole gets a
 * second more, so that the commands after a cut one still run and report. */
enum { EXEC_GRACE_MS = 1000 };

static char *current_user(void)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res) return xstrdup(pw.pw_name);
    return xstrdup("root");
}

/* A [host] key, else the [ssh] key of the same name, else NULL. */
static const char *host_or_ssh(const hm_config *cfg, const char *name, const char *key)
{
    const char *v = cfg_get(cfg, "host", name, key);
    return v ? v : cfg_get(cfg, "ssh", NULL, key);
}

static int64_t host_ms(const hm_config *cfg, const char *name, const char *key, int64_t fallback)
{
    if (cfg_get(cfg, "host", name, key)) return cfg_get_ms(cfg, "host", name, key, fallback);
    return cfg_get_ms(cfg, "ssh", NULL, key, fallback);
}

int remote_host_load(const hm_config *cfg, const char *name, remote_host *h, hm_err *e)
{
    memset(h, 0, sizeof *h);
    h->name = xstrdup(name);
    if (remote_role_parse(cfg_get(cfg, "host", name, "role"), &h->role) < 0)
        h->role = REMOTE_LINUX;
    h->enabled = cfg_get_bool(cfg, "host", name, "enabled", true);
    const char *v = cfg_get(cfg, "host", name, "address");
    h->address = xstrdup(v ? v : "");
    v = host_or_ssh(cfg, name, "username");
    h->username = v ? xstrdup(v) : current_user();
    h->key_file = xstrdup(host_or_ssh(cfg, name, "key"));
    v = host_or_ssh(cfg, name, "known_hosts");
    h->known_hosts = v ? xstrdup(v) : hm_ssh_default_known_hosts();
    h->command_timeout_ms = host_ms(cfg, name, "command_timeout", 10000);
    int rc = 0;
    hm_err se = {{0}};
    h->password = cfg_get_secret(cfg, "host", name, "password", &se);
    if (se.msg[0]) rc = hm_err_set(e, "%s", se.msg);
    se.msg[0] = '\0';
    h->passphrase = cfg_get_secret(cfg, "host", name, "key_passphrase", &se);
    if (se.msg[0] && rc == 0) rc = hm_err_set(e, "%s", se.msg);
    if (!*h->address && rc == 0) rc = hm_err_set(e, "[host \"%s\"] has no address", name);
    h->target = (hm_ssh_target){
        .name = h->name,
        .address = h->address,
        .port = (int)cfg_get_number(cfg, "host", name, "port", 22),
        .username = h->username,
        .key_file = h->key_file,
        .passphrase = h->passphrase,
        .password = h->password,
        .known_hosts = h->known_hosts,
        .connect_timeout_ms = host_ms(cfg, name, "connect_timeout", 5000),
        .keepalive_ms = cfg_get_ms(cfg, "ssh", NULL, "keepalive", 30000),
    };
    return rc;
}

void remote_host_free(remote_host *h)
{
    free(h->name);
    free(h->address);
    free(h->username);
    free(h->key_file);
    free(h->known_hosts);
    if (h->password) explicit_bzero(h->password, strlen(h->password));
    if (h->passphrase) explicit_bzero(h->passphrase, strlen(h->passphrase));
    free(h->password);
    free(h->passphrase);
    memset(h, 0, sizeof *h);
}

int64_t remote_budget_ms(const hm_config *cfg)
{
    const cfg_section **secs;
    size_t n = cfg_sections_of(cfg, "host", &secs);
    int64_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = secs[i]->name;
        if (!cfg_get_bool(cfg, "host", name, "enabled", true)) continue;
        /* connecting, then a channel on the new session (each up to connect_timeout), then
         * the commands */
        int64_t b = 2 * host_ms(cfg, name, "connect_timeout", 5000) +
                    host_ms(cfg, name, "command_timeout", 10000) + EXEC_GRACE_MS + 2000;
        if (b > longest) longest = b;
    }
    free(secs);
    return longest;
}

int64_t collect_remote_budget(const hm_config *cfg)
{
    return remote_budget_ms(cfg);
}

/* ---- one host's report ---- */

struct report {
    enum hm_state state;
    strbuf problems; /* "; "-separated, worst news first as found */
    strbuf summary;
    const char *host;
    hm_result *out;
    int64_t ts;
    const hm_config *cfg;
    bool cut; /* the exec was cut at its timeout (else it ended on its own) */
};

static void problem(struct report *r, enum hm_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct report *r, enum hm_state s, const char *fmt, ...)
{
    r->state = hm_state_worse(r->state, s);
    if (r->problems.len) sb_adds(&r->problems, "; ");
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&r->problems, fmt, ap);
    va_end(ap);
}

static void note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct report *r, const char *fmt, ...)
{
    if (r->summary.len) sb_adds(&r->summary, "; ");
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&r->summary, fmt, ap);
    va_end(ap);
}

/* A sample of this host: metric{host="NAME"[, label="value"]}. */
static void sample(struct report *r, const char *metric, double v, const char *unit)
{
    char *s = hm_series(metric, "host", r->host, NULL);
    hm_result_add_sample(r->out, s, v, unit, r->ts);
    free(s);
}

static void sample_l(struct report *r, const char *metric, const char *label, const char *value,
                     double v, const char *unit)
{
    char *s = hm_series(metric, "host", r->host, label, value, NULL);
    hm_result_add_sample(r->out, s, v, unit, r->ts);
    free(s);
}

/* The first non-blank line of a command's output, for messages. */
static char *first_line(const strbuf *sb)
{
    const char *s = sb_str(sb);
    while (*s == '\n' || *s == ' ') s++;
    const char *nl = strchr(s, '\n');
    char *l = xstrndup(s, nl ? (size_t)(nl - s) : strlen(s));
    return hm_strip(l);
}

/* What a section's command is called in messages. */
static const char *label_of(const remote_section *s)
{
    static const struct { const char *name, *label; } labels[] = {
        {"stat0", "cat /proc/stat"}, {"proc", "cat /proc/stat /proc/meminfo /proc/loadavg"},
        {"df", "df -P /"}, {"compose", "docker-compose ps"}, {"logs", "du -sk"},
        {"agent", "egisplus-cli agent check"}, {"unit", "systemctl show"},
        {"units", "systemctl show"},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(labels); i++)
        if (strcmp(labels[i].name, s->name) == 0) return labels[i].label;
    return s->name;
}

/* Whether a section produced usable output; reports why not. timeout(1) exits 124 (GNU) or
 * with the TERM signal's 143 (busybox) when it cuts a command. */
static bool section_ok(struct report *r, const remote_section *s, int64_t timeout_ms,
                       enum hm_state severity)
{
    if (!s) return false;
    char secs[32];
    snprintf(secs, sizeof secs, "%g s", (double)timeout_ms / 1000);
    if (!s->started) {
        if (r->cut)
            problem(r, severity, "%s not run: the poll was cut at the command timeout (%s)",
                    label_of(s), secs);
        else
            problem(r, severity, "%s not run: the commands ended before it", label_of(s));
        return false;
    }
    if (!s->finished || s->rc == 124 || s->rc == 143) {
        problem(r, severity, "%s timed out after %s (command_timeout)", label_of(s), secs);
        return false;
    }
    if (s->rc == 127) {
        char *why = first_line(&s->err);
        problem(r, severity, "%s: command not found on the host%s%s%s", label_of(s),
                *why ? " (" : "", why, *why ? ")" : "");
        free(why);
        return false;
    }
    return true;
}

static void failed(struct report *r, const remote_section *s, enum hm_state severity,
                   const char *what)
{
    char *why = first_line(&s->err);
    if (*why)
        problem(r, severity, "%s %s (exit %d): %s", label_of(s), what, s->rc, why);
    else
        problem(r, severity, "%s %s (exit %d)", label_of(s), what, s->rc);
    free(why);
}

/* ---- resources: /proc and df, as for the console host ---- */

static void limit(struct report *r, double value, const char *wkey, const char *ckey,
                  const char *label)
{
    double w = cfg_get_number(r->cfg, "thresholds", NULL, wkey, 80);
    double c = cfg_get_number(r->cfg, "thresholds", NULL, ckey, 90);
    if (value >= c) problem(r, HM_CRITICAL, "%s %.0f%% >= %.0f%%", label, value, c);
    else if (value >= w) problem(r, HM_WARNING, "%s %.0f%% >= %.0f%%", label, value, w);
}

/* The previous /proc/stat reading of a host: "WALLMS BUSY TOTAL" in the collectors' memory. */
static char *cpu_key(const char *host)
{
    return xasprintf("remote.%s.cpu", host);
}

static bool cpu_baseline(hm_kv *kv, const char *host, int64_t now, hm_cpu_times *out)
{
    char *key = cpu_key(host);
    char *v = hm_kv_get(kv, key);
    free(key);
    long long ms;
    unsigned long long busy, total;
    bool ok = v && sscanf(v, "%lld %llu %llu", &ms, &busy, &total) == 3 && now - ms >= 200 &&
              now - ms <= 3600 * 1000;
    free(v);
    if (ok) {
        out->busy = busy;
        out->total = total;
    }
    return ok;
}

/* The last non-empty line of text: /proc/loadavg after /proc/stat and /proc/meminfo. */
static const char *last_line(const char *text, char *buf, size_t size)
{
    size_t len = strlen(text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' ')) len--;
    size_t start = len;
    while (start && text[start - 1] != '\n') start--;
    snprintf(buf, size, "%.*s", (int)(len - start), text + start);
    return buf;
}

static void eval_resources(struct report *r, remote_script *rs, hm_kv *kv, int64_t timeout_ms)
{
    strbuf res = {0};
    remote_section *proc = remote_script_get(rs, "proc");
    remote_section *st0 = remote_script_get(rs, "stat0");
    bool proc_ok = section_ok(r, proc, timeout_ms, HM_UNKNOWN);
    const char *text = proc_ok ? sb_str(&proc->out) : "";
    hm_cpu_times cur, prev;
    if (proc_ok && host_parse_stat(text, &cur) == 0) {
        bool have_prev = false;
        if (st0) have_prev = host_parse_stat(sb_str(&st0->out), &prev) == 0;
        else have_prev = cpu_baseline(kv, r->host, r->ts, &prev);
        double cpu = have_prev ? host_cpu_percent(&prev, &cur) : -1;
        if (cpu >= 0) {
            sample(r, "host.cpu.percent", cpu, "percent");
            sb_addf(&res, "cpu %.0f%%", cpu);
            limit(r, cpu, "cpu_warning", "cpu_critical", "cpu");
        }
        char *key = cpu_key(r->host);
        char *val = xasprintf("%lld %llu %llu", (long long)r->ts, (unsigned long long)cur.busy,
                              (unsigned long long)cur.total);
        if (kv) hm_kv_put(kv, key, val);
        free(key);
        free(val);
    } else if (proc_ok) {
        problem(r, HM_UNKNOWN, "cannot read /proc/stat");
    }

    double pct;
    uint64_t total, avail;
    if (proc_ok) {
        if (host_parse_meminfo(text, &pct, &total, &avail) == 0) {
            sample(r, "host.memory.percent", pct, "percent");
            sample(r, "host.memory.total", (double)total, "bytes");
            sample(r, "host.memory.available", (double)avail, "bytes");
            sb_addf(&res, "%smem %.0f%%", res.len ? ", " : "", pct);
            limit(r, pct, "memory_warning", "memory_critical", "memory");
        } else {
            problem(r, HM_UNKNOWN, "cannot read /proc/meminfo");
        }
    }

    remote_section *df = remote_script_get(rs, "df");
    if (section_ok(r, df, timeout_ms, HM_UNKNOWN)) {
        remote_df *v;
        int n = remote_parse_df(sb_str(&df->out), &v);
        int root = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(v[i].mount, "/") == 0) root = i;
        if (root >= 0) {
            sample(r, "host.disk.root.percent", v[root].used_percent, "percent");
            sample(r, "host.disk.root.free", (double)v[root].avail_kb * 1024, "bytes");
            sb_addf(&res, "%sroot %.0f%%", res.len ? ", " : "", v[root].used_percent);
            limit(r, v[root].used_percent, "disk_warning", "disk_critical", "root disk");
        } else if (df->rc != 0) {
            failed(r, df, HM_UNKNOWN, "failed");
        } else {
            problem(r, HM_UNKNOWN, "cannot parse the output of df -P /");
        }
        if (n > 0) remote_df_free(v, n);
    }

    double load[3];
    char la[256];
    if (proc_ok && host_parse_loadavg(last_line(text, la, sizeof la), load) == 0) {
        sample(r, "host.load1", load[0], "");
        sample(r, "host.load5", load[1], "");
        sample(r, "host.load15", load[2], "");
        sb_addf(&res, "%sload %.2f", res.len ? ", " : "", load[0]);
    }
    if (res.len) note(r, "%s", res.buf);
    sb_free(&res);
}

/* ---- roles ---- */

static void eval_compose(struct report *r, remote_script *rs, const char *file, int64_t timeout_ms)
{
    remote_section *s = remote_script_get(rs, "compose");
    if (!section_ok(r, s, timeout_ms, HM_CRITICAL)) return;
    remote_service *v;
    hm_err e = {{0}};
    int n = remote_parse_compose(sb_str(&s->out), &v, &e);
    if (n < 0) {
        if (s->rc != 0) failed(r, s, HM_CRITICAL, "failed");
        else problem(r, HM_UNKNOWN, "%s", e.msg);
        return;
    }
    if (n == 0) {
        if (s->rc != 0) failed(r, s, HM_CRITICAL, "failed");
        else problem(r, HM_CRITICAL, "no services in %s (is the project down?)", file);
        sample(r, "compose.services", 0, "count");
        sample(r, "compose.services.up", 0, "count");
        return;
    }
    int up = 0;
    for (int i = 0; i < n; i++) {
        bool ok = v[i].health == HM_OK;
        if (ok) up++;
        else problem(r, v[i].health, "%s %s", v[i].name, v[i].state);
        sample_l(r, "compose.service.up", "service", v[i].name, ok ? 1 : 0, "bool");
    }
    sample(r, "compose.services", n, "count");
    sample(r, "compose.services.up", up, "count");
    if (up == n) note(r, "%d service%s Up", n, n == 1 ? "" : "s");
    else note(r, "%d of %d services Up", up, n);
    remote_services_free(v, n);
}

static void unit_text(const remote_unit *u, char *buf, size_t size)
{
    if (u->load_state && strcmp(u->load_state, "not-found") == 0)
        snprintf(buf, size, "not found");
    else
        snprintf(buf, size, "%s (%s)", u->active_state ? u->active_state : "?",
                 u->sub_state ? u->sub_state : "?");
}

/* Units must be ActiveState=active (SubState running, or exited for a oneshot); the seed's
 * gateway table asks for "active (running)". */
static void eval_units(struct report *r, remote_script *rs, const char *section,
                       const strvec *asked, int64_t timeout_ms)
{
    remote_section *s = remote_script_get(rs, section);
    if (!section_ok(r, s, timeout_ms, HM_CRITICAL)) return;
    remote_unit *v;
    int n = remote_parse_systemctl_show(sb_str(&s->out), asked, &v);
    if (n < 0) {
        if (s->rc != 0) failed(r, s, HM_CRITICAL, "failed");
        else problem(r, HM_UNKNOWN, "cannot parse the output of systemctl show");
        return;
    }
    int active = 0;
    for (int i = 0; i < n; i++) {
        const remote_unit *u = &v[i];
        const char *id = u->id ? u->id : "?";
        bool is_active = u->active_state && strcmp(u->active_state, "active") == 0;
        bool good = is_active && (!u->sub_state || strcmp(u->sub_state, "running") == 0 ||
                                  strcmp(u->sub_state, "exited") == 0);
        char txt[96];
        unit_text(u, txt, sizeof txt);
        if (good) active++;
        else if (u->active_state && (strcmp(u->active_state, "activating") == 0 ||
                                     strcmp(u->active_state, "reloading") == 0))
            problem(r, HM_WARNING, "%s %s", id, txt);
        else problem(r, HM_CRITICAL, "%s %s", id, txt);
        sample_l(r, "systemd.unit.active", "unit", id, is_active ? 1 : 0, "bool");
    }
    if (n == 1 && active == 1) {
        char txt[96];
        unit_text(&v[0], txt, sizeof txt);
        note(r, "%s %s", v[0].id ? v[0].id : "unit", txt);
    } else if (active == n) {
        note(r, "%d units active (running)", n);
    } else if (n > 1) {
        note(r, "%d of %d units active", active, n);
    }
    remote_units_free(v, n);
}

/* The heartbeat must move: kept as "VALUE FIRST_SEEN_MS" in the collectors' memory. */
static void eval_heartbeat(struct report *r, hm_kv *kv, const remote_agent_check *c,
                           int64_t stale_ms)
{
    if (!c->has_heartbeat) {
        problem(r, HM_UNKNOWN, "no 'Heartbeat of this agent' line in egisplus-cli agent check");
        return;
    }
    if (isnan(c->heartbeat) || c->heartbeat <= 0) {
        problem(r, HM_CRITICAL, "no heartbeat (%s)", c->heartbeat_text ? c->heartbeat_text : "");
        return;
    }
    sample(r, "agent.heartbeat", c->heartbeat, "");
    if (!kv || stale_ms <= 0) return;
    char *key = xasprintf("remote.%s.heartbeat", r->host);
    char *v = hm_kv_get(kv, key);
    double prev;
    long long since;
    if (v && sscanf(v, "%lf %lld", &prev, &since) == 2 && prev == c->heartbeat) {
        int64_t age = r->ts - since;
        if (age >= stale_ms) {
            char d[32];
            hm_format_duration(age, d, sizeof d);
            problem(r, HM_CRITICAL, "heartbeat stale (%s unchanged for %s)", c->heartbeat_text, d);
        }
    } else {
        char *nv = xasprintf("%.17g %lld", c->heartbeat, (long long)r->ts);
        hm_kv_put(kv, key, nv);
        free(nv);
    }
    free(v);
    free(key);
}

static void eval_agent(struct report *r, remote_script *rs, hm_kv *kv, int64_t stale_ms,
                       int64_t timeout_ms)
{
    remote_section *s = remote_script_get(rs, "agent");
    if (!section_ok(r, s, timeout_ms, HM_CRITICAL)) return;
    remote_agent_check c;
    if (remote_parse_agent_check(sb_str(&s->out), &c) == 0) {
        if (s->rc != 0) failed(r, s, HM_CRITICAL, "failed");
        else problem(r, HM_UNKNOWN, "cannot parse the output of egisplus-cli agent check");
        remote_agent_check_free(&c);
        return;
    }
    strbuf sum = {0};
    struct { int v; const char *metric, *yes, *no; enum hm_state bad; } flags[] = {
        {c.service_started, "agent.service.started", "agent started", "agent service not started",
         HM_CRITICAL},
        {c.iscsi_started, "agent.iscsi.started", "iSCSI started", "iSCSI service not started",
         HM_WARNING},
        {c.registered, "agent.registered", "registered", "agent not registered", HM_CRITICAL},
        /* "No" only means no sync has started yet (seed): worth saying, not an alarm */
        {c.protected_, "agent.protected", "protected", "not protected", HM_OK},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(flags); i++) {
        if (flags[i].v < 0) continue;
        sample(r, flags[i].metric, flags[i].v, "bool");
        if (flags[i].v) sb_addf(&sum, "%s%s", sum.len ? ", " : "", flags[i].yes);
        else if (flags[i].bad == HM_OK) sb_addf(&sum, "%s%s", sum.len ? ", " : "", flags[i].no);
        else problem(r, flags[i].bad, "%s", flags[i].no);
    }
    if (c.registered < 0) problem(r, HM_UNKNOWN, "no 'This agent is registered' line");
    if (c.has_heartbeat && c.heartbeat_text)
        sb_addf(&sum, "%sheartbeat %s", sum.len ? ", " : "", c.heartbeat_text);
    eval_heartbeat(r, kv, &c, stale_ms);
    if (c.n_fs) {
        sb_addf(&sum, "%sfs", sum.len ? "; " : "");
        for (int i = 0; i < c.n_fs; i++) {
            const remote_agent_fs *f = &c.fs[i];
            sb_addf(&sum, "%s %s %.0f%%", i ? "," : "", f->mount, f->used_percent);
            sample_l(r, "agent.fs.percent", "mount", f->mount, f->used_percent, "percent");
            sample_l(r, "agent.fs.free", "mount", f->mount, (double)f->free_bytes, "bytes");
            char label[300];
            snprintf(label, sizeof label, "fs %s", f->mount);
            limit(r, f->used_percent, "disk_warning", "disk_critical", label);
        }
    }
    if (sum.len) note(r, "%s", sum.buf);
    sb_free(&sum);
    remote_agent_check_free(&c);
}

static void eval_logs(struct report *r, remote_script *rs, const char *dir)
{
    remote_section *s = remote_script_get(rs, "logs");
    if (!s) return;
    /* The log size is information, not health: a failure is said, never alarmed. */
    if (!s->finished) return;
    int64_t bytes = remote_parse_du(sb_str(&s->out));
    if (bytes < 0) {
        char *why = first_line(&s->err);
        note(r, "logs %s: %s", dir, *why ? why : "du printed nothing");
        free(why);
        return;
    }
    char b[32];
    hm_format_bytes((uint64_t)bytes, b, sizeof b);
    note(r, "logs %s (%s)", b, dir);
    sample(r, "remote.logs.bytes", (double)bytes, "bytes");
}

/* ---- one host ---- */

static const char *default_log_dir(enum remote_role role)
{
    switch (role) {
    case REMOTE_SYNC_PROXY: return "/var/log/hamal";
    case REMOTE_LINUX_AGENT: return "/var/log/egisplus-agent";
    case REMOTE_GATEWAY: return "/var/log/sgateway";
    default: return NULL;
    }
}

/* `systemctl show` of the units, with the properties the parser reads. */
static char *units_command(const strvec *units)
{
    strbuf sb = {0};
    sb_adds(&sb, "$t systemctl show -p Id -p LoadState -p ActiveState -p SubState");
    for (size_t i = 0; i < units->n; i++) {
        char *q = hm_sh_quote(units->v[i]);
        sb_addf(&sb, " %s", q);
        free(q);
    }
    return sb_detach(&sb);
}

static char *compose_command(const char *file, const char *mode)
{
    char *q = hm_sh_quote(file);
    char *cmd;
    if (strcmp(mode, "v1") == 0) {
        cmd = xasprintf("$t docker-compose -f %s ps", q);
    } else if (strcmp(mode, "v2") == 0) {
        cmd = xasprintf("$t docker compose -f %s ps -a --format json", q);
    } else {
        /* The compose plugin's JSON when the host has it (-a: v2 hides stopped containers);
         * a standalone v2 docker-compose the same way; else the v1 table the seed shows. */
        cmd = xasprintf(
            "if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; "
            "then $t docker compose -f %s ps -a --format json; "
            "elif docker-compose version --short 2>/dev/null | grep -q '^[2-9]'; "
            "then $t docker-compose -f %s ps -a --format json; "
            "else $t docker-compose -f %s ps; fi",
            q, q, q);
    }
    free(q);
    return cmd;
}

struct host_poll {
    const hm_collect_ctx *cc;
    hm_ssh_pool *pool;
    const char *name;
    hm_result result;
    pthread_t thread;
    bool threaded;
};

static void poll_host(struct host_poll *hp)
{
    const hm_config *cfg = hp->cc->cfg;
    hm_kv *kv = hp->cc->kv;
    remote_host h;
    hm_err e = {{0}};
    int lrc = remote_host_load(cfg, hp->name, &h, &e);
    if (!h.enabled) {
        remote_host_free(&h);
        return;
    }
    const char *kind = remote_role_name(h.role);
    struct report r = {.host = h.name, .out = &hp->result, .ts = hp->cc->now_ms, .cfg = cfg};
    if (lrc < 0) {
        hm_result_add_component(&hp->result, h.name, kind, HM_UNKNOWN, "config", "%s", e.msg);
        remote_host_free(&h);
        return;
    }

    remote_script rs = {.command_timeout_ms = h.command_timeout_ms};
    hm_cpu_times base;
    if (!cpu_baseline(kv, h.name, r.ts, &base))
        remote_script_add(&rs, "stat0", "cat /proc/stat; sleep 0.25");
    /* /proc never blocks, so no timeout(1) there; one cat for the three files: the stat and
     * meminfo parsers find their lines by key, and /proc/loadavg is the one last line. */
    remote_script_add(&rs, "proc", "cat /proc/stat /proc/meminfo /proc/loadavg");
    remote_script_add(&rs, "df", "$t df -P /");

    const char *compose_file = cfg_get(cfg, "host", h.name, "compose_file");
    strvec units = {0}, agent_unit = {0};
    cfg_get_list(cfg, "host", h.name, "units", &units);
    if (h.role == REMOTE_GATEWAY && !cfg_get(cfg, "host", h.name, "units"))
        sv_split_list(&units, "s3block.service, watchman.service, hyper_exporter.service");
    if (h.role == REMOTE_SYNC_PROXY) {
        char *c = compose_command(compose_file, cfg_get(cfg, "host", h.name, "compose"));
        remote_script_add(&rs, "compose", c);
        free(c);
    }
    if (h.role == REMOTE_LINUX_AGENT) {
        remote_script_add(&rs, "agent", "$t egisplus-cli agent check");
        sv_push(&agent_unit, cfg_get(cfg, "host", h.name, "agent_unit"));
        char *c = units_command(&agent_unit);
        remote_script_add(&rs, "unit", c);
        free(c);
    }
    if (units.n) {
        char *c = units_command(&units);
        remote_script_add(&rs, "units", c);
        free(c);
    }
    const char *log_dir = cfg_get(cfg, "host", h.name, "log_dir");
    if (!log_dir) log_dir = default_log_dir(h.role);
    if (log_dir) {
        char *q = hm_sh_quote(log_dir);
        char *c = xasprintf("$t du -sk %s", q);
        remote_script_add(&rs, "logs", c);
        free(c);
        free(q);
    }

    char *script = remote_script_text(&rs);
    hm_ssh_result res = {0};
    hm_ssh_status st;
    int64_t t0 = hm_mono_ms();
    int rc = hm_ssh_exec(hp->pool, &h.target, script, h.command_timeout_ms + EXEC_GRACE_MS, &res,
                         &st);
    free(script);
    if (rc < 0 && st.code != HM_SSH_TIMEOUT) {
        sample(&r, "remote.up", 0, "bool");
        hm_result_add_component(&hp->result, h.name, kind, HM_CRITICAL, hm_ssh_code_name(st.code),
                                "%s", st.msg);
    } else {
        sample(&r, "remote.up", 1, "bool");
        sample(&r, "remote.poll.ms", (double)(hm_mono_ms() - t0), "ms");
        remote_script_split(&rs, res.out.buf, res.err.buf);
        r.cut = res.timed_out;
        if (!rs.s[0].started && !res.timed_out) {
            /* Logged in, but no command ran: a shell such as nologin, a forced command. */
            char *why = first_line(&res.err);
            if (!*why) {
                free(why);
                why = first_line(&res.out);
            }
            problem(&r, HM_CRITICAL, "the host's shell did not run the commands (exit %d)%s%s",
                    res.exit_status, *why ? ": " : "", why);
            free(why);
        } else {
            switch (h.role) {
            case REMOTE_SYNC_PROXY:
                eval_compose(&r, &rs, compose_file, h.command_timeout_ms);
                break;
            case REMOTE_LINUX_AGENT:
                eval_agent(&r, &rs, kv, cfg_get_ms(cfg, "host", h.name, "heartbeat_stale", 600000),
                           h.command_timeout_ms);
                eval_units(&r, &rs, "unit", &agent_unit, h.command_timeout_ms);
                break;
            default: break;
            }
            if (units.n) eval_units(&r, &rs, "units", &units, h.command_timeout_ms);
            if (log_dir) eval_logs(&r, &rs, log_dir);
            eval_resources(&r, &rs, kv, h.command_timeout_ms);
        }
        strbuf detail = {0};
        sb_adds(&detail, sb_str(&r.problems));
        if (r.problems.len && r.summary.len) sb_adds(&detail, "; ");
        sb_adds(&detail, sb_str(&r.summary));
        hm_result_add_component(&hp->result, h.name, kind, r.state, "up", "%s", sb_str(&detail));
        sb_free(&detail);
    }
    sb_free(&r.problems);
    sb_free(&r.summary);
    hm_ssh_result_free(&res);
    remote_script_free(&rs);
    sv_free(&units);
    sv_free(&agent_unit);
    remote_host_free(&h);
}

static void *poll_thread(void *arg)
{
    poll_host(arg);
    return NULL;
}

static void *pool_create(void *arg)
{
    (void)arg;
    return hm_ssh_pool_new();
}

static void pool_destroy(void *obj)
{
    hm_ssh_pool_free(obj);
}

void remote_poll(const hm_collect_ctx *cc, const char *const *names, hm_result *out)
{
    const cfg_section **secs;
    size_t n = cfg_sections_of(cc->cfg, "host", &secs);
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        bool wanted = !names;
        for (const char *const *w = names; w && *w; w++)
            if (strcmp(*w, secs[i]->name) == 0) wanted = true;
        if (wanted) secs[todo++] = secs[i];
    }
    if (todo == 0) {
        free(secs);
        return;
    }
    /* The pool lives in the collectors' memory: as long as the TUI runs, or one cycle of a
     * one-shot command (which then connects once per host). */
    hm_ssh_pool *own = NULL;
    hm_ssh_pool *pool = cc->kv ? hm_kv_object(cc->kv, "remote.ssh-pool", pool_create, NULL,
                                              pool_destroy)
                               : (own = hm_ssh_pool_new());
    struct host_poll *hp = xcalloc(todo, sizeof *hp);
    for (size_t i = 0; i < todo; i++) {
        hp[i] = (struct host_poll){.cc = cc, .pool = pool, .name = secs[i]->name};
        /* Every host at once: each poll is bounded by its own timeouts. */
        hp[i].threaded = pthread_create(&hp[i].thread, NULL, poll_thread, &hp[i]) == 0;
        if (!hp[i].threaded) poll_host(&hp[i]);
    }
    for (size_t i = 0; i < todo; i++) {
        if (hp[i].threaded) pthread_join(hp[i].thread, NULL);
        hm_result_move(out, &hp[i].result);
    }
    free(hp);
    free(secs);
    hm_ssh_pool_free(own);
}

void collect_remote(const hm_collect_ctx *cc, hm_result *out)
{
    remote_poll(cc, NULL, out);
}
