/* The run of a plan: pre-checks, confirmation, the steps with their journal, resume, report.
 *
 * The engine keeps no state of its own between steps: before each step it replays the journal
 * (drill_replay_build), so a fresh run and a resumed one take the same path, and what it does
 * next depends only on what was committed. */
#include "drill/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collectors/remote.h"
#include "console/console.h"
#include "drill/exec.h"
#include "drill/journal.h"
#include "drill/report.h"
#include "lib/clock.h"

/* --- The stdio operator interface ---------------------------------------------------------- */

static void stdio_print(void *ud, const char *line)
{
    drill_ui_stdio *io = ud;
    fprintf(io->out, "%s\n", line);
    fflush(io->out);
}

static char *stdio_ask(void *ud, const char *prompt)
{
    drill_ui_stdio *io = ud;
    fflush(io->out);
    fputs(prompt, io->prompt_to);
    fflush(io->prompt_to);
    strbuf sb = {0};
    int c;
    bool any = false;
    while ((c = fgetc(io->in)) != EOF) {
        any = true;
        if (c == '\n') break;
        sb_addc(&sb, (char)c);
    }
    if (!any) {
        fputc('\n', io->prompt_to);
        sb_free(&sb);
        return NULL;
    }
    char *s = sb_detach(&sb);
    if (!s) s = xstrdup("");
    hm_strip(s);
    return s;
}

drill_ui drill_ui_stdio_make(drill_ui_stdio *io)
{
    return (drill_ui){io, stdio_print, stdio_ask};
}

/* --- The engine ---------------------------------------------------------------------------- */

struct host_rt {
    const drill_host *ph;
    bool found;
    console_host ch;       /* as last read from the console */
    char *snapshot_id;     /* the recovery point */
    int64_t snapshot_ms;
};

typedef struct eng {
    const hm_config *cfg;
    hm_store *st;
    console *con;
    const drill_plan *plan;
    const drill_opts *o;
    enum drill_mode mode;
    drill_executor *x;
    int64_t run_id;
    char run_id_s[24];
    char *operator_name;
    int64_t started_ms;
    int64_t rpo_target_ms;
    struct host_rt *hosts;
    char **secret_vals;    /* per plan secret, loaded on first use */
    bool dry;              /* variables for display only */
    int boundary;
    bool fatal;            /* the journal cannot be written: stop at once */
    hm_err fatal_err;
    remote_host jump;      /* [jump] host = NAME: hmctl.conf's [host "NAME"] */
    int jump_loaded;       /* 0 not yet, 1 loaded, -1 failed */
    hm_err jump_err;
    char *ssh_user;        /* defaults for SSH from hmctl.conf's [ssh] */
} eng;

enum { RES_OK = 0, RES_FAIL = -1, RES_ABORT = -2, RES_FATAL = -3, RES_SKIP = -4, RES_STOP = -5 };

static void say(eng *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(eng *e, const char *fmt, ...)
{
    strbuf sb = {0};
    if (e->started_ms) {
        int64_t el = hm_now_ms() - e->started_ms;
        if (el < 0) el = 0;
        sb_addf(&sb, "[%02lld:%02lld", (long long)(el / 60000), (long long)(el / 1000 % 60));
        if (e->plan->rto_ms)
            sb_addf(&sb, "/%02lld:%02lld", (long long)(e->plan->rto_ms / 60000),
                    (long long)(e->plan->rto_ms / 1000 % 60));
        sb_adds(&sb, "] ");
    }
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    e->o->ui.print(e->o->ui.ud, sb_str(&sb));
    sb_free(&sb);
}

static char *ask(eng *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ask(eng *e, const char *fmt, ...)
{
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    char *a = e->o->ui.ask(e->o->ui.ud, sb_str(&sb));
    sb_free(&sb);
    return a;
}

static void sleep_ms(int64_t ms)
{
    if (ms <= 0) return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static void fmt_dur(int64_t ms, char *buf, size_t n)
{
    hm_format_duration(ms < 0 ? 0 : ms, buf, n);
}

/* Journals one entry; on failure the run cannot go on safely and stops. */
static int jlog(eng *e, const char *event, const char *step, int attempt, const char *host,
                json_t *data)
{
    if (e->fatal) {
        json_decref(data);
        return -1;
    }
    hm_err err = {{0}};
    if (drill_journal_add(e->st, e->run_id, hm_now_ms(), event, step, attempt, host, data, &err) < 0) {
        e->fatal = true;
        e->fatal_err = err;
        e->o->ui.print(e->o->ui.ud, "");
        say(e, "cannot write the journal, stopping: %s", err.msg);
        return -1;
    }
    return 0;
}

/* The test-only hook (documented in hmctl-drill(1)): with HMCTL_TEST_PAUSE_AT=N the run stops
 * at its Nth boundary, writes "PID RUN WHAT" to HMCTL_TEST_PAUSE_FILE and waits to be killed,
 * so tests can kill it at every boundary in turn. */
static void boundary(eng *e, const char *what, const char *name)
{
    const char *at = getenv("HMCTL_TEST_PAUSE_AT");
    if (!at || !*at) return;
    e->boundary++;
    if (e->boundary != atoi(at)) return;
    const char *file = getenv("HMCTL_TEST_PAUSE_FILE");
    if (file && *file) {
        char *tmp = xasprintf("%s.tmp", file);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%d %lld %s %s\n", (int)getpid(), (long long)e->run_id, what, name ? name : "-");
            fclose(f);
            rename(tmp, file);
        }
        free(tmp);
    }
    for (;;) pause();
}

static const char *mode_word(enum drill_mode m)
{
    return m == DRILL_MODE_TAKEOVER ? "takeover" : "drill";
}

static char *default_operator(void)
{
    const char *s = getenv("SUDO_USER");
    if (s && *s) return xstrdup(s);
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name) return xstrdup(pw->pw_name);
    return xasprintf("uid %d", (int)getuid());
}

/* --- Variables ----------------------------------------------------------------------------- */

static struct host_rt *host_rt(eng *e, const char *alias)
{
    for (size_t i = 0; i < e->plan->n_hosts; i++)
        if (strcmp(e->plan->hosts[i].alias, alias) == 0) return &e->hosts[i];
    return NULL;
}

static const char *secret_value(eng *e, size_t i, hm_err *err)
{
    if (e->secret_vals[i]) return e->secret_vals[i];
    const drill_secret *s = &e->plan->secrets[i];
    const char *env = getenv(s->env);
    if (env && *env) {
        e->secret_vals[i] = xstrdup(env);
        return e->secret_vals[i];
    }
    if (!s->file) {
        hm_err_set(err, "secret '%s' is not set: set %s or give [secret \"%s\"] a file", s->name,
                   s->env, s->name);
        return NULL;
    }
    hm_err re = {{0}};
    char *text = hm_read_file(s->file, NULL, &re);
    if (!text) {
        hm_err_set(err, "secret '%s': %s (or set %s)", s->name, re.msg, s->env);
        return NULL;
    }
    text[strcspn(text, "\r\n")] = '\0';
    e->secret_vals[i] = text;
    return text;
}

static const char *host_ip(const struct host_rt *h)
{
    if (h->ph->fixed_ip) return h->ph->fixed_ip;
    return h->ch.ip_address;
}

static const char *lookup(void *ud, const char *name, bool *secret, hm_err *err)
{
    eng *e = ud;
    static __thread char buf[200];
    if (strcmp(name, "run.mode") == 0) return mode_word(e->mode);
    if (strcmp(name, "run.id") == 0) return e->dry ? "(run id)" : e->run_id_s;
    if (strcmp(name, "run.operator") == 0) return e->operator_name;
    if (strcmp(name, "plan.name") == 0) return e->plan->name;
    if (hm_starts_with(name, "var.")) {
        for (size_t i = 0; i < e->plan->n_vars; i++)
            if (strcmp(e->plan->vars[i].name, name + 4) == 0) return e->plan->vars[i].value;
        hm_err_set(err, "{%s}: no such variable", name);
        return NULL;
    }
    if (hm_starts_with(name, "secret.")) {
        *secret = true;
        for (size_t i = 0; i < e->plan->n_secrets; i++)
            if (strcmp(e->plan->secrets[i].name, name + 7) == 0) return secret_value(e, i, err);
        hm_err_set(err, "{%s}: no such secret", name);
        return NULL;
    }
    if (hm_starts_with(name, "host.")) {
        const char *a = name + 5, *dot = strchr(a, '.');
        if (!dot) {
            hm_err_set(err, "{%s}: unknown variable", name);
            return NULL;
        }
        char alias[128];
        snprintf(alias, sizeof alias, "%.*s", (int)(dot - a), a);
        struct host_rt *h = host_rt(e, alias);
        const char *f = dot + 1;
        if (!h) {
            hm_err_set(err, "{%s}: no host '%s' in the plan", name, alias);
            return NULL;
        }
        const char *v = NULL;
        if (strcmp(f, "ip") == 0) v = host_ip(h);
        else if (strcmp(f, "name") == 0) v = h->ch.name;
        else if (strcmp(f, "id") == 0) v = h->ch.id;
        else if (strcmp(f, "snapshot") == 0) v = h->snapshot_id;
        else if (strcmp(f, "instance_id") == 0) {
            v = h->ch.cloud_instance_id;
            if (!v && e->dry) {
                snprintf(buf, sizeof buf, "<instance of %.100s>", alias);
                return buf;
            }
        }
        if (!v)
            hm_err_set(err, "{%s}: host %s (%s) has no %s on the console%s", name, alias,
                       h->ph->console_host, strcmp(f, "ip") == 0 ? "ip address" : f,
                       strcmp(f, "ip") == 0 ? "; set fixed_ip in its [host] section" : "");
        return v;
    }
    hm_err_set(err, "{%s}: unknown variable", name);
    return NULL;
}

/* Replaces every secret value in s by ********. */
static char *scrub(eng *e, const char *s)
{
    char *out = xstrdup(s ? s : "");
    for (size_t i = 0; i < e->plan->n_secrets; i++) {
        const char *v = e->secret_vals[i];
        if (!v || strlen(v) < 3) continue;
        strbuf sb = {0};
        const char *p = out, *hit;
        while ((hit = strstr(p, v))) {
            sb_add(&sb, p, (size_t)(hit - p));
            sb_adds(&sb, "********");
            p = hit + strlen(v);
        }
        sb_adds(&sb, p);
        free(out);
        out = sb_detach(&sb);
        if (!out) out = xstrdup("");
    }
    return out;
}

/* The last `max` bytes of s, scrubbed, cut at a UTF-8 boundary. */
static char *tail(eng *e, const strbuf *sb, size_t max)
{
    const char *s = sb_str(sb);
    size_t len = sb->len;
    if (len > max) {
        s += len - max;
        while ((*s & 0xc0) == 0x80) s++;
    }
    return scrub(e, s);
}

/* --- Console -------------------------------------------------------------------------------- */

static bool looks_like_id(const char *s)
{
    size_t n = strlen(s);
    if (n != 36) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

static void host_take(struct host_rt *h, console_host *src)
{
    console_host_clear(&h->ch);
    h->ch = *src;
    memset(src, 0, sizeof *src);
    h->found = true;
}

/* Finds each plan host on the console (by id, or by exact name). Returns 0, or -1 with err set
 * for a console failure; a host not found or ambiguous is reported in `problems`. */
static int resolve_hosts(eng *e, strvec *problems, hm_err *err)
{
    for (size_t i = 0; i < e->plan->n_hosts; i++) {
        struct host_rt *h = &e->hosts[i];
        const char *key = h->ph->console_host;
        console_hosts got = {0};
        console_host_query q = {0};
        if (looks_like_id(key)) q.ids = key;
        else q.kw = key;
        if (console_list_hosts(e->con, &q, &got, err) < 0) {
            console_hosts_free(&got);
            return -1;
        }
        size_t hits = 0, hit = 0;
        for (size_t k = 0; k < got.n; k++)
            if ((got.v[k].name && strcmp(got.v[k].name, key) == 0) ||
                (got.v[k].id && strcmp(got.v[k].id, key) == 0)) {
                hits++;
                hit = k;
            }
        if (hits == 1) host_take(h, &got.v[hit]);
        else if (hits == 0)
            sv_push_owned(problems, xasprintf("host %s: no host named '%s' on the console",
                                              h->ph->alias, key));
        else
            sv_push_owned(problems, xasprintf("host %s: %zu hosts are named '%s' on the console; "
                                              "give its id as console_host", h->ph->alias, hits, key));
        console_hosts_free(&got);
    }
    return 0;
}

/* Re-reads the hosts given by index (all found hosts when idx is NULL). */
static int refresh_hosts(eng *e, const size_t *idx, size_t n, hm_err *err)
{
    strbuf ids = {0};
    size_t count = 0;
    for (size_t k = 0; k < (idx ? n : e->plan->n_hosts); k++) {
        struct host_rt *h = &e->hosts[idx ? idx[k] : k];
        if (!h->found || !h->ch.id) continue;
        sb_addf(&ids, "%s%s", count++ ? "," : "", h->ch.id);
    }
    if (!count) {
        sb_free(&ids);
        return 0;
    }
    console_hosts got = {0};
    console_host_query q = {.ids = sb_str(&ids)};
    int rc = console_list_hosts(e->con, &q, &got, err);
    if (rc == 0)
        for (size_t k = 0; k < got.n; k++)
            for (size_t i = 0; i < e->plan->n_hosts; i++)
                if (e->hosts[i].found && e->hosts[i].ch.id && got.v[k].id &&
                    strcmp(e->hosts[i].ch.id, got.v[k].id) == 0)
                    host_take(&e->hosts[i], &got.v[k]);
    console_hosts_free(&got);
    sb_free(&ids);
    return rc;
}

/* The job of a host with this task id, or the newest drill/takeover (or clean) job of the host
 * that started at or after since_ms and is not one of `known`. Returns 1 with *out filled, 0. */
static int find_job(eng *e, const struct host_rt *h, const char *task_id, int64_t since_ms,
                    bool clean, const strvec *known, console_job *out, hm_err *err)
{
    console_jobs jobs = {0};
    console_job_query q = {.status = "all", .host_id = h->ch.id, .since_ms = since_ms};
    if (console_list_jobs(e->con, &q, &jobs, err) < 0) {
        console_jobs_free(&jobs);
        return -1;
    }
    int found = 0;
    for (size_t i = 0; i < jobs.n && !found; i++) {
        console_job *j = &jobs.v[i];
        if (task_id) {
            if (j->task_id && strcmp(j->task_id, task_id) == 0) found = 1;
        } else {
            bool kind = clean ? j->kind == CONSOLE_KIND_CLEAN
                              : (j->kind == CONSOLE_KIND_DRILL || j->kind == CONSOLE_KIND_TAKEOVER);
            if (kind && j->start_ms >= since_ms && !(j->task_id && known && sv_contains(known, j->task_id)))
                found = 1;
        }
        if (found) {
            *out = *j;
            memset(j, 0, sizeof *j);
        }
    }
    console_jobs_free(&jobs);
    return found;
}

/* --- Pre-checks ------------------------------------------------------------------------------ */

static bool jump_target(eng *e, drill_target *t, hm_err *err);

enum pc_status { PC_OK, PC_WARN, PC_FAIL };

typedef struct precheck {
    json_t *items; /* [{status, item, detail}] */
    int fails, warns;
} precheck;

static void pc_add(precheck *pc, enum pc_status st, const char *item, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void pc_add(precheck *pc, enum pc_status st, const char *item, const char *fmt, ...)
{
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    static const char *const names[] = {"ok", "warning", "failed"};
    json_array_append_new(pc->items, json_pack("{s:s, s:s, s:s}", "status", names[st], "item",
                                               item, "detail", sb_str(&sb)));
    if (st == PC_FAIL) pc->fails++;
    if (st == PC_WARN) pc->warns++;
    sb_free(&sb);
}

static bool mode_needs(eng *e, bool (*pred)(const drill_step *s, void *ud), void *ud)
{
    for (size_t i = 0; i < e->plan->n_steps; i++) {
        const drill_step *s = &e->plan->steps[i];
        if (s->enabled && (s->modes & e->mode) && pred(s, ud)) return true;
    }
    return false;
}

static bool runs_commands(const drill_step *s)
{
    return s->type == DRILL_STEP_RUN ||
           (s->type == DRILL_STEP_CHECK && s->check == DRILL_CHECK_COMMAND);
}

static bool on_is(const drill_step *s, void *ud)
{
    const char *where = ud;
    if (!runs_commands(s)) return false;
    if (!where) return strcmp(s->on, "local") != 0;
    return strcmp(s->on, where) == 0;
}

static bool uses_secret(const drill_step *s, void *ud)
{
    char *ref = xasprintf("{secret.%s}", (const char *)ud);
    bool hit = (s->command && strstr(s->command, ref)) || (s->target && strstr(s->target, ref));
    free(ref);
    return hit;
}

/* The recovery point of a host: the newest complete snapshot, or the newest at or before the
 * plan's time, or the one the operator picks. Returns 0, or -1 with the reason in err. */
static int choose_point(eng *e, struct host_rt *h, bool interactive, hm_err *err)
{
    const console_host *c = &h->ch;
    const console_snapshot **snaps = xcalloc(c->n_snapshots + 1, sizeof *snaps);
    size_t n = 0;
    for (size_t i = 0; i < c->n_snapshots; i++) {
        const console_snapshot *s = &c->snapshots[i];
        if (!s->id || (s->status && strcmp(s->status, "create_done") != 0)) continue;
        size_t k = n++;
        while (k > 0 && snaps[k - 1]->created_ms < s->created_ms) {
            snaps[k] = snaps[k - 1];
            k--;
        }
        snaps[k] = s;
    }
    const console_snapshot *pick = NULL;
    int rc = 0;
    const char *rp = h->ph->recovery_point;
    if (n == 0) {
        rc = hm_err_set(err, "host %s (%s) has no complete snapshot to boot from", h->ph->alias,
                        c->name ? c->name : "?");
    } else if (strcmp(rp, "latest") == 0) {
        pick = snaps[0];
    } else if (strcmp(rp, "ask") == 0) {
        if (!interactive) {
            pick = NULL; /* chosen when the run starts */
        } else {
            say(e, "Recovery point for %s (%s):", h->ph->alias, c->name ? c->name : "?");
            for (size_t i = 0; i < n && i < 20; i++) {
                char t[40], age[32];
                hm_format_time(snaps[i]->created_ms, t, sizeof t);
                fmt_dur(hm_now_ms() - snaps[i]->created_ms, age, sizeof age);
                say(e, "  %zu) %s  %s (%s old)", i + 1, t, snaps[i]->name ? snaps[i]->name : snaps[i]->id, age);
            }
            for (;;) {
                char *a = ask(e, "Choose 1-%zu [1]: ", n < 20 ? n : 20);
                if (!a) {
                    rc = hm_err_set(err, "no recovery point chosen for %s (end of input)", h->ph->alias);
                    break;
                }
                long k = *a ? strtol(a, NULL, 10) : 1;
                free(a);
                if (k >= 1 && (size_t)k <= n && k <= 20) {
                    pick = snaps[k - 1];
                    break;
                }
            }
        }
    } else {
        for (size_t i = 0; i < n && !pick; i++)
            if (snaps[i]->created_ms <= h->ph->recovery_ms) pick = snaps[i];
        if (!pick) rc = hm_err_set(err, "host %s has no snapshot at or before %s", h->ph->alias, rp);
    }
    if (pick) {
        free(h->snapshot_id);
        h->snapshot_id = xstrdup(pick->id);
        h->snapshot_ms = pick->created_ms;
    }
    free(snaps);
    return rc;
}

/* Whether a boot step of this mode boots the host. */
static bool boots_in_mode(eng *e, const char *alias)
{
    for (size_t i = 0; i < e->plan->n_steps; i++) {
        const drill_step *s = &e->plan->steps[i];
        if (s->type == DRILL_STEP_BOOT && s->enabled && (s->modes & e->mode) &&
            (!s->hosts.n || sv_contains(&s->hosts, alias)))
            return true;
    }
    return false;
}

static int run_prechecks(eng *e, precheck *pc, bool lock_taken, const drill_lock_info *holder,
                         bool interactive)
{
    char d1[32], d2[32];
    /* the lock */
    if (lock_taken) pc_add(pc, PC_OK, "lock", "no other run in progress");
    else if (holder && holder->pid) {
        char t[40];
        hm_format_time(holder->since_ms, t, sizeof t);
        if (holder->run_id)
            pc_add(pc, PC_FAIL, "lock", "run %lld (%s of plan %s) is in progress: pid %d, since %s",
                   (long long)holder->run_id, holder->mode ? holder->mode : "?",
                   holder->plan ? holder->plan : "?", holder->pid, t);
        else
            pc_add(pc, PC_FAIL, "lock", "a %s of plan %s is being prepared: pid %d, since %s",
                   holder->mode ? holder->mode : "?", holder->plan ? holder->plan : "?",
                   holder->pid, t);
    } else pc_add(pc, PC_OK, "lock", "no other run in progress");

    /* the console */
    hm_err err = {{0}};
    const console_conf *cc = console_settings(e->con);
    if (console_login(e->con, &err) < 0) {
        pc_add(pc, PC_FAIL, "console", "%s", err.msg);
        return 0;
    }
    strvec problems = {0};
    if (resolve_hosts(e, &problems, &err) < 0) {
        pc_add(pc, PC_FAIL, "console", "%s", err.msg);
        sv_free(&problems);
        return 0;
    }
    pc_add(pc, PC_OK, "console", "%s reachable", cc->url);
    for (size_t i = 0; i < problems.n; i++) pc_add(pc, PC_FAIL, "host", "%s", problems.v[i]);
    sv_free(&problems);

    /* each host */
    bool takeover = e->mode == DRILL_MODE_TAKEOVER;
    int64_t now = hm_now_ms();
    strvec gateways = {0};
    for (size_t i = 0; i < e->plan->n_hosts; i++) {
        struct host_rt *h = &e->hosts[i];
        if (!h->found) continue;
        const console_host *c = &h->ch;
        char *item = xasprintf("host %s", h->ph->alias);
        const char *hs = c->host_status ? c->host_status : "unknown";
        if (hm_starts_with(hs, "host_unregister"))
            pc_add(pc, PC_FAIL, item, "%s is not registered (%s)", c->name, hs);
        else if (c->health_status && strcmp(c->health_status, "active") != 0)
            pc_add(pc, takeover ? PC_WARN : PC_FAIL, item, "%s is %s (its agent or proxy lost "
                   "contact)%s", c->name, c->health_status,
                   takeover ? "; the takeover boots from the snapshots the console has" : "");
        else pc_add(pc, PC_OK, item, "%s registered (%s), %s", c->name, hs,
                    c->health_status ? c->health_status : "health unknown");
        if (!boots_in_mode(e, h->ph->alias)) {
            /* only reached over SSH or named in commands: nothing to boot */
            free(item);
            continue;
        }
        if (c->license_valid == 0) pc_add(pc, PC_FAIL, item, "the licence of %s has expired", c->name);
        if (c->boot_status && strcmp(c->boot_status, "not_boot") != 0)
            pc_add(pc, PC_FAIL, item, "%s is %s on the target already: clean it up first "
                   "(or resume the run that booted it)", c->name, c->boot_status);
        /* the recovery point and the RPO */
        int64_t target = e->rpo_target_ms ? e->rpo_target_ms : console_conf_rpo(cc, c->name ? c->name : "");
        if (choose_point(e, h, interactive, &err) < 0) {
            pc_add(pc, PC_FAIL, item, "%s", err.msg);
        } else if (!h->snapshot_id) {
            pc_add(pc, PC_OK, item, "recovery point chosen when the run starts (recovery_point = ask)");
        } else {
            char t[40];
            hm_format_time(h->snapshot_ms, t, sizeof t);
            int64_t age = now - h->snapshot_ms;
            fmt_dur(age, d1, sizeof d1);
            fmt_dur(target, d2, sizeof d2);
            bool newest = c->last_snapshot_ms <= h->snapshot_ms;
            int64_t newest_age = now - (c->last_snapshot_ms ? c->last_snapshot_ms : h->snapshot_ms);
            if (target && newest_age > target)
                pc_add(pc, takeover ? PC_WARN : PC_FAIL, item,
                       "newest snapshot is %s old, beyond the RPO target %s", d1, d2);
            pc_add(pc, PC_OK, item, "recovery point %s (%s, %s old%s)", h->snapshot_id, t, d1,
                   newest ? ", the newest" : "");
        }
        if (c->storage_id && !sv_contains(&gateways, c->storage_id)) sv_push(&gateways, c->storage_id);
        free(item);
    }
    /* the gateways of the hosts */
    if (gateways.n) {
        console_targets tg = {0};
        if (console_list_targets(e->con, &tg, &err) < 0) {
            pc_add(pc, PC_FAIL, "gateway", "%s", err.msg);
        } else {
            for (size_t g = 0; g < gateways.n; g++) {
                const console_target *t = NULL;
                for (size_t k = 0; k < tg.n; k++)
                    if (tg.v[k].uuid && strcmp(tg.v[k].uuid, gateways.v[g]) == 0) t = &tg.v[k];
                if (!t) pc_add(pc, PC_FAIL, "gateway", "%s: not on the console", gateways.v[g]);
                else if (t->online == 0 || (t->status && strcmp(t->status, "active") != 0 &&
                                            strcmp(t->status, "available") != 0))
                    pc_add(pc, PC_FAIL, "gateway", "%s (%s) is %s", t->name ? t->name : "?", t->uuid,
                           t->online == 0 ? "offline" : t->status);
                else pc_add(pc, PC_OK, "gateway", "%s (%s) online", t->name ? t->name : "?", t->uuid);
            }
        }
        console_targets_free(&tg);
    }
    sv_free(&gateways);

    /* the jump host and SSH */
    if (mode_needs(e, on_is, "jump")) {
        drill_target t = {0};
        if (!jump_target(e, &t, &err)) {
            pc_add(pc, PC_FAIL, "jump host", "%s", err.msg);
        } else {
            char *addr = xasprintf(strchr(t.address, ':') ? "[%s]:%d" : "%s:%d", t.address,
                                   t.port ? t.port : 22);
            if (drill_check_tcp(addr, t.connect_timeout_ms, &err) < 0)
                pc_add(pc, PC_FAIL, "jump host", "%s", err.msg);
            else pc_add(pc, PC_OK, "jump host", "%s reachable", addr);
            free(addr);
        }
    }
    if (mode_needs(e, on_is, NULL) && !drill_ssh_available()) {
        strbuf names = {0};
        for (size_t i = 0; i < e->plan->n_steps; i++) {
            const drill_step *s = &e->plan->steps[i];
            if (s->enabled && (s->modes & e->mode) && on_is(s, NULL))
                sb_addf(&names, "%s%s", names.len ? ", " : "", s->name);
        }
        pc_add(pc, PC_WARN, "ssh", "SSH support not available in this hmctl: %s will fail",
               sb_str(&names));
        sb_free(&names);
    }
    /* secrets the mode's steps use */
    for (size_t i = 0; i < e->plan->n_secrets; i++) {
        if (!mode_needs(e, uses_secret, e->plan->secrets[i].name)) continue;
        char *item = xasprintf("secret %s", e->plan->secrets[i].name);
        if (!secret_value(e, i, &err)) pc_add(pc, PC_FAIL, item, "%s", err.msg);
        else pc_add(pc, PC_OK, item, "readable");
        free(item);
    }
    return 0;
}

static void print_checklist(eng *e, const precheck *pc)
{
    say(e, "Pre-checks for the %s of plan '%s':", mode_word(e->mode), e->plan->name);
    size_t i;
    json_t *it;
    json_array_foreach(pc->items, i, it) {
        const char *st = json_string_value(json_object_get(it, "status"));
        const char *mark = strcmp(st, "ok") == 0 ? "[ok]  " : strcmp(st, "warning") == 0 ? "[warn]" : "[FAIL]";
        say(e, "  %s %s: %s", mark, json_string_value(json_object_get(it, "item")),
            json_string_value(json_object_get(it, "detail")));
    }
}

/* --- Step display --------------------------------------------------------------------------- */

static const drill_host *step_host(const drill_plan *p, const drill_step *s, size_t k, size_t *idx)
{
    size_t seen = 0;
    for (size_t i = 0; i < p->n_hosts; i++) {
        if (s->hosts.n && !sv_contains(&s->hosts, p->hosts[i].alias)) continue;
        if (seen++ == k) {
            if (idx) *idx = i;
            return &p->hosts[i];
        }
    }
    return NULL;
}

/* The jump host's SSH settings: [host "NAME"] of hmctl.conf, or the plan's [jump] with
 * hmctl.conf's [ssh] defaults. Returns false with err set when they cannot be had. */
static bool jump_target(eng *e, drill_target *t, hm_err *err)
{
    const drill_plan *p = e->plan;
    t->name = "jump";
    t->remote = true;
    if (p->jump_host) {
        if (e->jump_loaded == 0) {
            if (!cfg_section_find(e->cfg, "host", p->jump_host)) {
                hm_err_set(&e->jump_err, "[jump] host = %s: no [host \"%s\"] in the configuration",
                           p->jump_host, p->jump_host);
                e->jump_loaded = -1;
            } else {
                e->jump_loaded = remote_host_load(e->cfg, p->jump_host, &e->jump, &e->jump_err) < 0 ? -1 : 1;
            }
        }
        if (e->jump_loaded < 0) {
            hm_err_set(err, "%s", e->jump_err.msg);
            return false;
        }
        const hm_ssh_target *h = &e->jump.target;
        t->address = h->address;
        t->port = h->port;
        t->user = h->username;
        t->key_file = h->key_file;
        t->passphrase = h->passphrase;
        t->password = h->password;
        t->known_hosts = h->known_hosts;
        t->connect_timeout_ms = h->connect_timeout_ms;
        return true;
    }
    t->address = p->jump_address;
    t->port = p->jump_port;
    t->user = p->jump_user ? p->jump_user : e->ssh_user;
    t->key_file = p->jump_key ? p->jump_key : cfg_get(e->cfg, "ssh", NULL, "key");
    t->known_hosts = p->known_hosts ? p->known_hosts : cfg_get(e->cfg, "ssh", NULL, "known_hosts");
    t->connect_timeout_ms = p->jump_connect_ms ? p->jump_connect_ms
                                               : cfg_get_ms(e->cfg, "ssh", NULL, "connect_timeout", 5000);
    return true;
}

static drill_target target_of(eng *e, const drill_step *s, strbuf *addr_buf, hm_err *err, bool *ok)
{
    drill_target t = {.name = s->on};
    *ok = true;
    if (strcmp(s->on, "local") == 0) return t;
    if (strcmp(s->on, "jump") == 0) {
        *ok = jump_target(e, &t, err);
        return t;
    }
    t.remote = true;
    t.known_hosts = e->plan->known_hosts ? e->plan->known_hosts : cfg_get(e->cfg, "ssh", NULL, "known_hosts");
    struct host_rt *h = host_rt(e, s->on);
    t.port = h->ph->ssh_port;
    t.user = h->ph->ssh_user ? h->ph->ssh_user : e->ssh_user;
    t.key_file = h->ph->ssh_key ? h->ph->ssh_key : cfg_get(e->cfg, "ssh", NULL, "key");
    t.connect_timeout_ms = cfg_get_ms(e->cfg, "ssh", NULL, "connect_timeout", 5000);
    if (h->ph->ssh_address) {
        char *a = NULL;
        if (drill_subst(h->ph->ssh_address, DRILL_SUBST_WORD, lookup, e, &a, NULL, err) < 0) {
            *ok = false;
            return t;
        }
        sb_adds(addr_buf, a);
        free(a);
        t.address = sb_str(addr_buf);
    } else {
        t.address = host_ip(h);
        if (!t.address) {
            hm_err_set(err, "host %s has no address to reach over SSH: set ssh_address or fixed_ip",
                       h->ph->alias);
            *ok = false;
        }
    }
    return t;
}

/* One line describing what a step does, with its variables resolved (secrets masked). */
static char *describe(eng *e, const drill_step *s)
{
    strbuf sb = {0};
    hm_err err = {{0}};
    char *shown = NULL, *out = NULL;
    switch (s->type) {
    case DRILL_STEP_BOOT:
    case DRILL_STEP_CLEANUP: {
        sb_adds(&sb, s->type == DRILL_STEP_BOOT ? "boot " : "clean up ");
        const drill_host *ph;
        size_t idx;
        for (size_t k = 0; (ph = step_host(e->plan, s, k, &idx)); k++) {
            const struct host_rt *h = &e->hosts[idx];
            sb_addf(&sb, "%s%s (%s", k ? ", " : "", ph->alias, h->ch.name ? h->ch.name : ph->console_host);
            if (s->type == DRILL_STEP_BOOT && h->snapshot_id) {
                char t[40];
                hm_format_time(h->snapshot_ms, t, sizeof t);
                sb_addf(&sb, ", snapshot %s of %s", h->snapshot_id, t);
            }
            sb_adds(&sb, ")");
        }
        if (s->type == DRILL_STEP_BOOT)
            sb_addf(&sb, " as a %s (%s)", e->mode == DRILL_MODE_TAKEOVER ? "formal boot" : "test boot",
                    e->mode == DRILL_MODE_TAKEOVER ? "volume_backup" : "volume_snapshot");
        else if (!s->hosts.n) sb_adds(&sb, " (the hosts this run booted)");
        break;
    }
    case DRILL_STEP_RUN:
    case DRILL_STEP_CHECK:
        if (s->type == DRILL_STEP_CHECK && s->check != DRILL_CHECK_COMMAND) {
            if (drill_subst(s->target, DRILL_SUBST_WORD, lookup, e, &out, &shown, &err) < 0)
                sb_addf(&sb, "%s %s: cannot resolve: %s", drill_check_kind_name(s->check), s->target, err.msg);
            else if (s->check == DRILL_CHECK_HTTP)
                sb_addf(&sb, "http GET %s, expect %d", shown, s->expect_status);
            else sb_addf(&sb, "%s %s", drill_check_kind_name(s->check), shown);
        } else {
            if (drill_subst(s->command, DRILL_SUBST_SHELL, lookup, e, &out, &shown, &err) < 0)
                sb_addf(&sb, "on %s: cannot resolve the command: %s", s->on, err.msg);
            else sb_addf(&sb, "on %s: %s", s->on, shown);
        }
        break;
    case DRILL_STEP_CONFIRM:
        if (drill_subst(s->message, DRILL_SUBST_TEXT, lookup, e, &out, &shown, &err) < 0)
            sb_addf(&sb, "ask: %s", s->message);
        else sb_addf(&sb, "ask: %s", shown);
        if (s->confirm_by) sb_addf(&sb, " (confirmed by %s)", s->confirm_by);
        break;
    }
    free(out);
    free(shown);
    return sb_detach(&sb);
}

static void print_plan_steps(eng *e)
{
    say(e, "Steps of the %s:", mode_word(e->mode));
    const char *stage = NULL;
    for (size_t i = 0; i < e->plan->n_steps; i++) {
        const drill_step *s = &e->plan->steps[i];
        if (!stage || strcmp(stage, s->stage) != 0) {
            stage = s->stage;
            say(e, "  stage %s", stage);
        }
        if (!s->enabled) {
            say(e, "    %zu. %s (%s): skipped (disabled)", i + 1, s->name, drill_step_type_name(s->type));
            continue;
        }
        if (!(s->modes & e->mode)) {
            say(e, "    %zu. %s (%s): skipped (%s only)", i + 1, s->name, drill_step_type_name(s->type),
                drill_mode_name(s->modes));
            continue;
        }
        char *d = describe(e, s);
        char t[32] = "none";
        if (s->timeout_ms) fmt_dur(s->timeout_ms, t, sizeof t);
        say(e, "    %zu. %s (%s): %s", i + 1, s->name, drill_step_type_name(s->type), d);
        if (s->retries || s->type != DRILL_STEP_CONFIRM) {
            char dl[32];
            fmt_dur(s->delay_ms, dl, sizeof dl);
            say(e, "       timeout %s, %d retr%s%s%s, on_error %s", t, s->retries,
                s->retries == 1 ? "y" : "ies", s->retries ? " every " : "", s->retries ? dl : "",
                drill_on_error_name(s->on_error));
        }
        free(d);
    }
}

/* --- Attempts -------------------------------------------------------------------------------- */

typedef struct attempt {
    json_t *detail; /* attempt_finished data, besides ok and error */
    hm_err err;
    bool no_retry;  /* retrying cannot help (a value that cannot be quoted) */
} attempt;


static void replay(eng *e, drill_replay *rp)
{
    drill_entry *en = NULL;
    size_t n = 0;
    hm_err err = {{0}};
    if (drill_journal_read(e->st, e->run_id, &en, &n, &err) < 0) {
        e->fatal = true;
        e->fatal_err = err;
    }
    drill_replay_build(e->plan, en, n, rp);
    drill_entries_free(en, n);
}

/* The outcome of a boot or cleanup step from the journal: each host booted (cleaned) or failed,
 * as the attempt's detail; RES_FAIL naming the hosts that did not make it. */
static int host_outcome(eng *e, attempt *at, const size_t *hidx, size_t n, bool cleanup)
{
    drill_replay after;
    replay(e, &after);
    strbuf failed = {0};
    json_t *hosts = json_object();
    for (size_t k = 0; k < n; k++) {
        const drill_host_state *hs = &after.hosts[hidx[k]];
        const char *a = e->hosts[hidx[k]].ph->alias;
        bool done = cleanup ? hs->cleaned : hs->booted;
        const char *why = cleanup ? hs->clean_error : hs->boot_error;
        json_object_set_new(hosts, a, json_string(done ? (cleanup ? "cleaned" : "booted") : "failed"));
        if (!done)
            sb_addf(&failed, "%s%s: %s", failed.len ? "; " : "", a,
                    why ? why : cleanup ? "not cleaned up" : "not booted");
    }
    at->detail = json_pack("{s:o}", "hosts", hosts);
    int rc = RES_OK;
    if (failed.len) {
        hm_err_set(&at->err, "%s", sb_str(&failed));
        rc = RES_FAIL;
    }
    sb_free(&failed);
    drill_replay_free(&after);
    return rc;
}


/* The task ids of every boot (or clean) of host `alias` the journal knows. */
static void known_tasks(eng *e, const char *alias, strvec *out)
{
    drill_entry *en = NULL;
    size_t n = 0;
    if (drill_journal_read(e->st, e->run_id, &en, &n, NULL) < 0) return;
    for (size_t i = 0; i < n; i++) {
        if (!en[i].host || strcmp(en[i].host, alias) != 0) continue;
        const char *t = json_string_value(json_object_get(en[i].data, "task_id"));
        if (t && !sv_contains(out, t)) sv_push(out, t);
    }
    drill_entries_free(en, n);
}

static bool console_booting(const console_host *c)
{
    return c->boot_status && strcmp(c->boot_status, "boot_doing") == 0;
}

static bool console_booted(const console_host *c)
{
    return c->boot_status && strcmp(c->boot_status, "boot_done") == 0;
}

static int do_boot(eng *e, size_t si, int attempt_no, attempt *at)
{
    const drill_step *s = &e->plan->steps[si];
    drill_replay rp;
    replay(e, &rp);
    if (e->fatal) {
        drill_replay_free(&rp);
        return RES_FATAL;
    }
    size_t hidx[64], n = 0;
    const drill_host *ph;
    for (size_t k = 0; n < HM_ARRAY_LEN(hidx) && (ph = step_host(e->plan, s, k, &hidx[n])); k++) n++;
    hm_err err = {{0}};
    refresh_hosts(e, hidx, n, &err);
    bool *waiting = xcalloc(n + 1, sizeof *waiting);
    char **tasks = xcalloc(n + 1, sizeof *tasks);
    int64_t *req_ms = xcalloc(n + 1, sizeof *req_ms);
    int rc = RES_OK;
    /* what the journal says of each host, checked against the console */
    for (size_t k = 0; k < n && rc == RES_OK; k++) {
        struct host_rt *h = &e->hosts[hidx[k]];
        const drill_host_state *hs = &rp.hosts[hidx[k]];
        const char *a = h->ph->alias;
        if (hs->booted) continue;
        if (!h->found) {
            hm_err_set(&at->err, "host %s is not on the console", a);
            rc = RES_FAIL;
            break;
        }
        if (hs->boot_open) {
            /* requested, then interrupted before the console's answer was journaled */
            strvec known = {0};
            known_tasks(e, a, &known);
            console_job job = {0};
            int f = find_job(e, h, NULL, hs->boot_requested_ms - 120000, false, &known, &job, &err);
            if (f > 0 || (f == 0 && (console_booting(&h->ch) || console_booted(&h->ch)) &&
                          !hs->boot_failed && hs->boot_requests == 1)) {
                say(e, "  %s: the console has the boot that was in flight (%s); waiting for it", a,
                    f > 0 ? job.task_id : h->ch.boot_status);
                if (jlog(e, "boot_adopted", s->name, attempt_no, a,
                         json_pack("{s:s?, s:s}", "task_id", f > 0 ? job.task_id : NULL, "how",
                                   f > 0 ? "job list" : "host boot status")) < 0)
                    rc = RES_FATAL;
                if (f > 0) tasks[k] = xstrdup(job.task_id);
                waiting[k] = true;
                req_ms[k] = hs->boot_requested_ms;
            } else if (f < 0) {
                hm_err_set(&at->err, "cannot tell whether the boot of %s reached the console: %s", a, err.msg);
                rc = RES_FAIL;
            } else {
                say(e, "  %s: the console has no trace of the boot that was in flight; requesting it", a);
                if (jlog(e, "boot_not_received", s->name, attempt_no, a, NULL) < 0) rc = RES_FATAL;
            }
            console_job_clear(&job);
            sv_free(&known);
            continue;
        }
        if (hs->boot_accepted && !hs->boot_failed) {
            waiting[k] = true;
            tasks[k] = xstrdup(hs->task_id ? hs->task_id : "");
            req_ms[k] = hs->boot_requested_ms;
        }
    }
    /* request the boots not yet requested in this attempt */
    for (size_t k = 0; k < n && rc == RES_OK; k++) {
        struct host_rt *h = &e->hosts[hidx[k]];
        const char *a = h->ph->alias;
        if (waiting[k] || rp.hosts[hidx[k]].booted) continue;
        if (rp.hosts[hidx[k]].boot_failed && rp.hosts[hidx[k]].boot_failed_attempt == attempt_no)
            continue; /* failed in this attempt, before an interruption: the next one retries */
        if (console_booting(&h->ch)) {
            /* still booting from an earlier attempt that timed out: wait for it */
            say(e, "  %s: still booting on the console; waiting for it", a);
            if (jlog(e, "boot_adopted", s->name, attempt_no, a, json_pack("{s:s}", "how", "still booting")) < 0)
                rc = RES_FATAL;
            waiting[k] = true;
            req_ms[k] = hm_now_ms();
            continue;
        }
        const char *bt = e->mode == DRILL_MODE_TAKEOVER ? "volume_backup" : "volume_snapshot";
        if (jlog(e, "boot_requested", s->name, attempt_no, a,
                 json_pack("{s:s, s:s?, s:s}", "backup_type", bt, "snapshot_id", h->snapshot_id,
                           "console_id", h->ch.id)) < 0) {
            rc = RES_FATAL;
            break;
        }
        boundary(e, "boot-requested", a);
        console_boot_req req = {.backup_type = bt, .snapshot_id = h->snapshot_id,
                                .network = h->ph->network, .flavor = h->ph->flavor,
                                .security_group = h->ph->security_group,
                                .availability_zone = h->ph->availability_zone,
                                .fixed_ip = h->ph->fixed_ip};
        char *task = NULL;
        int64_t t0 = hm_now_ms();
        int br = console_boot_host(e->con, h->ch.id, &req, &task, &err);
        boundary(e, "boot-sent", a);
        if (br == 0) {
            say(e, "  %s: %s requested (task %s)", a, e->mode == DRILL_MODE_TAKEOVER ? "formal boot" : "test boot",
                task ? task : "-");
            if (jlog(e, "boot_accepted", s->name, attempt_no, a, json_pack("{s:s?}", "task_id", task)) < 0)
                rc = RES_FATAL;
            waiting[k] = true;
            tasks[k] = task ? task : xstrdup("");
            req_ms[k] = t0;
        } else {
            say(e, "  %s: the console refused the boot: %s", a, err.msg);
            if (jlog(e, "boot_refused", s->name, attempt_no, a, json_pack("{s:s}", "error", err.msg)) < 0)
                rc = RES_FATAL;
            free(task);
        }
    }
    /* wait for every requested boot */
    int64_t start = hm_mono_ms(), last_note = start;
    for (;;) {
        if (rc != RES_OK) break;
        size_t open = 0;
        for (size_t k = 0; k < n; k++) open += waiting[k];
        if (!open) break;
        if (s->timeout_ms && hm_mono_ms() - start >= s->timeout_ms) {
            char t[32];
            fmt_dur(s->timeout_ms, t, sizeof t);
            for (size_t k = 0; k < n; k++) {
                if (!waiting[k]) continue;
                struct host_rt *h = &e->hosts[hidx[k]];
                char *msg = xasprintf("not booted within %s (%s)", t, h->ch.boot_status ? h->ch.boot_status : "?");
                say(e, "  %s: %s", h->ph->alias, msg);
                if (jlog(e, "host_boot_failed", s->name, attempt_no, h->ph->alias,
                         json_pack("{s:s, s:b}", "error", msg, "timeout", 1)) < 0)
                    rc = RES_FATAL;
                free(msg);
                waiting[k] = false;
            }
            break;
        }
        sleep_ms(e->plan->poll_ms);
        if (refresh_hosts(e, hidx, n, &err) < 0) {
            say(e, "  console: %s (trying again)", err.msg);
            continue;
        }
        for (size_t k = 0; k < n && rc == RES_OK; k++) {
            if (!waiting[k]) continue;
            struct host_rt *h = &e->hosts[hidx[k]];
            const char *a = h->ph->alias;
            console_job job = {0};
            int f = tasks[k] && *tasks[k] ? find_job(e, h, tasks[k], req_ms[k] - 120000, false, NULL, &job, &err) : 0;
            const char *js = f > 0 ? job.job_status : NULL;
            bool failed = js ? strcmp(js, "failed") == 0
                             : h->ch.boot_status && strcmp(h->ch.boot_status, "boot_failed") == 0;
            bool done = js ? strcmp(js, "done") == 0 && console_booted(&h->ch) : console_booted(&h->ch);
            if (done) {
                const char *ip = host_ip(h);
                say(e, "  %s: booted (instance %s%s%s)", a,
                    h->ch.cloud_instance_id ? h->ch.cloud_instance_id : "-", ip ? ", ip " : "", ip ? ip : "");
                if (jlog(e, "host_booted", s->name, attempt_no, a,
                         json_pack("{s:s?, s:s?}", "instance_id", h->ch.cloud_instance_id, "ip", ip)) < 0)
                    rc = RES_FATAL;
                waiting[k] = false;
            } else if (failed) {
                char *msg = xasprintf("boot failed on the console%s%s", job.detail ? ": " : "",
                                      job.detail ? job.detail : "");
                say(e, "  %s: %s", a, msg);
                if (jlog(e, "host_boot_failed", s->name, attempt_no, a,
                         json_pack("{s:s, s:s?}", "error", msg, "task_id", tasks[k])) < 0)
                    rc = RES_FATAL;
                free(msg);
                waiting[k] = false;
            }
            console_job_clear(&job);
        }
        if (hm_mono_ms() - last_note >= 30000) {
            last_note = hm_mono_ms();
            char el[32];
            fmt_dur(last_note - start, el, sizeof el);
            for (size_t k = 0; k < n; k++)
                if (waiting[k])
                    say(e, "  %s: %s for %s", e->hosts[hidx[k]].ph->alias,
                        e->hosts[hidx[k]].ch.boot_status ? e->hosts[hidx[k]].ch.boot_status : "booting", el);
        }
    }
    /* the outcome */
    if (rc == RES_OK) rc = host_outcome(e, at, hidx, n, false);
    for (size_t k = 0; k < n; k++) free(tasks[k]);
    free(tasks);
    free(waiting);
    free(req_ms);
    drill_replay_free(&rp);
    return e->fatal ? RES_FATAL : rc;
}

static bool console_cleaned(const console_host *c)
{
    return (!c->boot_status || strcmp(c->boot_status, "not_boot") == 0) && !c->cloud_instance_id;
}

static int do_cleanup(eng *e, size_t si, int attempt_no, attempt *at)
{
    const drill_step *s = &e->plan->steps[si];
    drill_replay rp;
    replay(e, &rp);
    if (e->fatal) {
        drill_replay_free(&rp);
        return RES_FATAL;
    }
    /* the hosts this run booted (or tried to), among the step's */
    size_t hidx[64], n = 0;
    for (size_t i = 0; i < e->plan->n_hosts && n < HM_ARRAY_LEN(hidx); i++) {
        if (s->hosts.n && !sv_contains(&s->hosts, e->plan->hosts[i].alias)) continue;
        const drill_host_state *hs = &rp.hosts[i];
        if (hs->boot_requests == 0 && !hs->booted) {
            if (s->hosts.n) say(e, "  %s: not booted by this run; nothing to clean up", e->plan->hosts[i].alias);
            continue;
        }
        hidx[n++] = i;
    }
    hm_err err = {{0}};
    refresh_hosts(e, hidx, n, &err);
    bool *waiting = xcalloc(n + 1, sizeof *waiting);
    int rc = RES_OK;
    const char *ids[64];
    size_t want[64], nreq = 0;
    for (size_t k = 0; k < n && rc == RES_OK; k++) {
        struct host_rt *h = &e->hosts[hidx[k]];
        const drill_host_state *hs = &rp.hosts[hidx[k]];
        const char *a = h->ph->alias;
        if (hs->cleaned) continue;
        if (hs->clean_open) {
            bool doing = h->ch.host_status && (strcmp(h->ch.host_status, "clean_doing") == 0 ||
                                               strcmp(h->ch.host_status, "clean_done") == 0);
            if (doing || console_cleaned(&h->ch)) {
                say(e, "  %s: the console has the cleanup that was in flight (%s)", a,
                    h->ch.host_status ? h->ch.host_status : "?");
                if (jlog(e, "clean_adopted", s->name, attempt_no, a, NULL) < 0) rc = RES_FATAL;
                waiting[k] = true;
            } else {
                say(e, "  %s: the console has no trace of the cleanup that was in flight; requesting it", a);
                if (jlog(e, "clean_not_received", s->name, attempt_no, a, NULL) < 0) rc = RES_FATAL;
                ids[nreq] = h->ch.id;
                want[nreq++] = k;
            }
            continue;
        }
        if (hs->clean_accepted && !hs->clean_failed) {
            waiting[k] = true;
            continue;
        }
        if (hs->clean_failed && hs->clean_failed_attempt == attempt_no) continue;
        if (console_cleaned(&h->ch) && !(h->ch.host_status && strcmp(h->ch.host_status, "clean_doing") == 0)) {
            say(e, "  %s: nothing left on the target", a);
            if (jlog(e, "host_cleaned", s->name, attempt_no, a, json_pack("{s:s}", "how", "already clean")) < 0)
                rc = RES_FATAL;
            continue;
        }
        ids[nreq] = h->ch.id;
        want[nreq++] = k;
    }
    if (rc == RES_OK && nreq) {
        for (size_t r = 0; r < nreq && rc == RES_OK; r++)
            if (jlog(e, "clean_requested", s->name, attempt_no, e->hosts[hidx[want[r]]].ph->alias,
                     json_pack("{s:s}", "console_id", ids[r])) < 0)
                rc = RES_FATAL;
        if (rc == RES_OK) {
            boundary(e, "clean-requested", s->name);
            int cr = console_clean_hosts(e->con, ids, nreq, false, &err);
            boundary(e, "clean-sent", s->name);
            if (cr < 0) {
                /* the console may have started some: ask it */
                say(e, "  the console refused the cleanup: %s", err.msg);
                hm_err re = {{0}};
                refresh_hosts(e, hidx, n, &re);
            }
            for (size_t r = 0; r < nreq && rc == RES_OK; r++) {
                struct host_rt *h = &e->hosts[hidx[want[r]]];
                bool started = cr == 0 || (h->ch.host_status && strcmp(h->ch.host_status, "clean_doing") == 0);
                if (started) {
                    if (cr == 0) say(e, "  %s: cleanup requested", h->ph->alias);
                    if (jlog(e, "clean_accepted", s->name, attempt_no, h->ph->alias, NULL) < 0) rc = RES_FATAL;
                    waiting[want[r]] = true;
                } else if (jlog(e, "clean_refused", s->name, attempt_no, h->ph->alias,
                                json_pack("{s:s}", "error", err.msg)) < 0) {
                    rc = RES_FATAL;
                }
            }
        }
    }
    int64_t start = hm_mono_ms();
    for (;;) {
        if (rc != RES_OK) break;
        size_t open = 0;
        for (size_t k = 0; k < n; k++) open += waiting[k];
        if (!open) break;
        if (s->timeout_ms && hm_mono_ms() - start >= s->timeout_ms) {
            char t[32];
            fmt_dur(s->timeout_ms, t, sizeof t);
            for (size_t k = 0; k < n; k++) {
                if (!waiting[k]) continue;
                char *msg = xasprintf("not cleaned up within %s", t);
                if (jlog(e, "host_clean_failed", s->name, attempt_no, e->hosts[hidx[k]].ph->alias,
                         json_pack("{s:s}", "error", msg)) < 0)
                    rc = RES_FATAL;
                free(msg);
                waiting[k] = false;
            }
            break;
        }
        sleep_ms(e->plan->poll_ms);
        if (refresh_hosts(e, hidx, n, &err) < 0) {
            say(e, "  console: %s (trying again)", err.msg);
            continue;
        }
        for (size_t k = 0; k < n && rc == RES_OK; k++) {
            if (!waiting[k]) continue;
            struct host_rt *h = &e->hosts[hidx[k]];
            const char *hs = h->ch.host_status ? h->ch.host_status : "";
            if (strcmp(hs, "clean_failed") == 0) {
                say(e, "  %s: cleanup failed on the console", h->ph->alias);
                if (jlog(e, "host_clean_failed", s->name, attempt_no, h->ph->alias,
                         json_pack("{s:s}", "error", "clean_failed on the console")) < 0)
                    rc = RES_FATAL;
                waiting[k] = false;
            } else if (strcmp(hs, "clean_doing") != 0 && console_cleaned(&h->ch)) {
                /* verified: no boot left and no instance on the target */
                say(e, "  %s: cleaned up (verified: %s, no instance)", h->ph->alias,
                    h->ch.boot_status ? h->ch.boot_status : "not_boot");
                if (jlog(e, "host_cleaned", s->name, attempt_no, h->ph->alias,
                         json_pack("{s:s, s:s?}", "how", "verified", "host_status", h->ch.host_status)) < 0)
                    rc = RES_FATAL;
                waiting[k] = false;
            }
        }
    }
    if (rc == RES_OK) rc = host_outcome(e, at, hidx, n, true);
    free(waiting);
    drill_replay_free(&rp);
    return e->fatal ? RES_FATAL : rc;
}

static int do_command(eng *e, size_t si, int attempt_no, bool journaled, attempt *at)
{
    const drill_step *s = &e->plan->steps[si];
    char *cmd = NULL, *shown = NULL;
    hm_err err = {{0}};
    if (drill_subst(s->command, DRILL_SUBST_SHELL, lookup, e, &cmd, &shown, &err) < 0) {
        hm_err_set(&at->err, "%s:%d: step %s: %s; the step is not run", e->plan->file,
                   s->command_line, s->name, err.msg);
        at->no_retry = true;
        return RES_FAIL;
    }
    strbuf addr = {0};
    bool ok;
    drill_target t = target_of(e, s, &addr, &err, &ok);
    if (!ok) {
        hm_err_set(&at->err, "%s", err.msg);
        at->no_retry = true;
        free(cmd);
        free(shown);
        sb_free(&addr);
        return RES_FAIL;
    }
    if (!journaled && jlog(e, "command", s->name, attempt_no, NULL,
                           json_pack("{s:s, s:s}", "command", shown, "on", s->on)) < 0) {
        free(cmd);
        free(shown);
        sb_free(&addr);
        return RES_FATAL;
    }
    say(e, "  %s$ %s", strcmp(s->on, "local") == 0 ? "" : s->on, shown);
    char step_env[300], att_env[40], run_env[40], mode_env[40], plan_env[300];
    snprintf(run_env, sizeof run_env, "HMCTL_RUN_ID=%s", e->run_id_s);
    snprintf(mode_env, sizeof mode_env, "HMCTL_RUN_MODE=%s", mode_word(e->mode));
    snprintf(plan_env, sizeof plan_env, "HMCTL_PLAN=%s", e->plan->name);
    snprintf(step_env, sizeof step_env, "HMCTL_STEP=%s", s->name);
    snprintf(att_env, sizeof att_env, "HMCTL_ATTEMPT=%d", attempt_no);
    const char *env[] = {run_env, mode_env, plan_env, step_env, att_env, NULL};
    drill_exec_res res;
    int xr = drill_exec(e->x, &t, cmd, env, s->timeout_ms, &res, &err);
    int rc;
    if (xr < 0) {
        hm_err_set(&at->err, "%s", err.msg);
        at->detail = json_pack("{s:s}", "on", s->on);
        rc = RES_FAIL;
    } else {
        char *out = tail(e, &res.out, 2048), *errs = tail(e, &res.err, 2048);
        at->detail = json_pack("{s:s, s:i, s:b, s:s, s:s, s:I}", "on", s->on, "exit_status",
                               res.exit_status, "timed_out", res.timed_out, "stdout_tail", out,
                               "stderr_tail", errs, "ms", (json_int_t)res.ms);
        /* the output's last lines on screen */
        const char *shown_out = *errs ? errs : out;
        size_t len = strlen(shown_out);
        const char *from = shown_out + (len > 300 ? len - 300 : 0);
        if (res.exit_status == 0 && !res.timed_out) {
            rc = RES_OK;
        } else {
            char t2[32];
            fmt_dur(s->timeout_ms, t2, sizeof t2);
            char *snippet = xstrdup(from);
            for (char *p = snippet; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
            hm_strip(snippet);
            if (res.timed_out) hm_err_set(&at->err, "cut at its timeout of %s%s%s", t2, *snippet ? ": " : "", snippet);
            else if (res.exit_status < 0) hm_err_set(&at->err, "killed by signal %d%s%s", res.term_signal, *snippet ? ": " : "", snippet);
            else hm_err_set(&at->err, "exit status %d%s%s", res.exit_status, *snippet ? ": " : "", snippet);
            free(snippet);
            rc = RES_FAIL;
        }
        free(out);
        free(errs);
    }
    drill_exec_res_free(&res);
    free(cmd);
    free(shown);
    sb_free(&addr);
    return rc;
}

static int do_check(eng *e, size_t si, int attempt_no, attempt *at)
{
    const drill_step *s = &e->plan->steps[si];
    if (s->check == DRILL_CHECK_COMMAND) return do_command(e, si, attempt_no, false, at);
    char *target = NULL, *shown = NULL;
    hm_err err = {{0}};
    if (drill_subst(s->target, DRILL_SUBST_WORD, lookup, e, &target, &shown, &err) < 0) {
        hm_err_set(&at->err, "%s:%d: step %s: %s; the check is not run", e->plan->file,
                   s->target_line, s->name, err.msg);
        at->no_retry = true;
        return RES_FAIL;
    }
    int64_t t0 = hm_mono_ms();
    int r;
    long status = 0;
    double rtt = 0;
    int64_t timeout = s->timeout_ms ? s->timeout_ms : 30000;
    switch (s->check) {
    case DRILL_CHECK_TCP: r = drill_check_tcp(target, timeout, &err); break;
    case DRILL_CHECK_HTTP: r = drill_check_http(target, s->expect_status, timeout, &status, &err); break;
    case DRILL_CHECK_PING: r = drill_check_ping(target, timeout, &rtt, &err); break;
    default: r = hm_err_set(&err, "unknown check");
    }
    at->detail = json_pack("{s:s, s:s, s:I}", "check", drill_check_kind_name(s->check), "target",
                           shown, "ms", (json_int_t)(hm_mono_ms() - t0));
    if (status) json_object_set_new(at->detail, "http_status", json_integer(status));
    if (r < 0) hm_err_set(&at->err, "%s", err.msg);
    free(target);
    free(shown);
    return r < 0 ? RES_FAIL : RES_OK;
}

static int do_confirm(eng *e, size_t si, int attempt_no, attempt *at)
{
    const drill_step *s = &e->plan->steps[si];
    char *msg = NULL, *shown = NULL;
    hm_err err = {{0}};
    if (drill_subst(s->message, DRILL_SUBST_TEXT, lookup, e, &msg, &shown, &err) < 0) {
        shown = xstrdup(s->message);
    }
    say(e, "  >>> %s", shown);
    if (s->confirm_by) say(e, "  >>> to be confirmed by: %s", s->confirm_by);
    char *who = ask(e, "  Your name: ");
    char *comment = who ? ask(e, "  Comment: ") : NULL;
    char *yes = comment ? ask(e, "  Confirm? [y/N] ") : NULL;
    int rc;
    if (!yes) {
        hm_err_set(&at->err, "no answer (end of input)");
        rc = RES_FAIL;
    } else {
        bool ok = strcasecmp(yes, "y") == 0 || strcasecmp(yes, "yes") == 0;
        if (jlog(e, "answer", s->name, attempt_no, NULL,
                 json_pack("{s:s, s:s, s:s, s:s}", "question", shown, "answer", ok ? "yes" : "no",
                           "who", who, "comment", comment)) < 0) {
            rc = RES_FATAL;
        } else if (ok) {
            rc = RES_OK;
        } else {
            hm_err_set(&at->err, "not confirmed by %s%s%s", *who ? who : "the operator",
                       *comment ? ": " : "", comment);
            rc = RES_FAIL;
        }
    }
    at->detail = json_pack("{s:s?}", "who", who);
    free(who);
    free(comment);
    free(yes);
    free(msg);
    free(shown);
    return rc;
}

/* Asks retry / skip / abort. Returns 'r', 's' or 'a' ('a' at the end of input). */
static char ask_choice(eng *e, const char *question, const char *step, int attempt_no)
{
    for (;;) {
        char *a = ask(e, "  %s [r]etry, [s]kip, [a]bort? ", question);
        if (!a) {
            say(e, "  no answer (end of input): aborting");
            jlog(e, "answer", step, attempt_no, NULL,
                 json_pack("{s:s, s:s}", "question", question, "answer", "abort (end of input)"));
            return 'a';
        }
        char c = (char)(a[0] | 0x20);
        bool valid = a[0] && (strcasecmp(a, "r") == 0 || strcasecmp(a, "retry") == 0 ||
                              strcasecmp(a, "s") == 0 || strcasecmp(a, "skip") == 0 ||
                              strcasecmp(a, "a") == 0 || strcasecmp(a, "abort") == 0);
        free(a);
        if (!valid) continue;
        const char *word = c == 'r' ? "retry" : c == 's' ? "skip" : "abort";
        jlog(e, "answer", step, attempt_no, NULL,
             json_pack("{s:s, s:s, s:b}", "question", question, "answer", word, "retry", c == 'r'));
        return c;
    }
}

static int do_attempt(eng *e, size_t si, int attempt_no, bool journaled_cmd, attempt *at)
{
    switch (e->plan->steps[si].type) {
    case DRILL_STEP_BOOT: return do_boot(e, si, attempt_no, at);
    case DRILL_STEP_CLEANUP: return do_cleanup(e, si, attempt_no, at);
    case DRILL_STEP_RUN: return do_command(e, si, attempt_no, journaled_cmd, at);
    case DRILL_STEP_CHECK: return do_check(e, si, attempt_no, at);
    case DRILL_STEP_CONFIRM: return do_confirm(e, si, attempt_no, at);
    }
    return RES_FAIL;
}

static int finish_step(eng *e, const drill_step *s, const char *result, const char *reason,
                       const char *error)
{
    return jlog(e, "step_finished", s->name, 0, NULL,
                json_pack("{s:s, s:s?, s:s?}", "result", result, "reason", reason, "error", error));
}

/* Runs step si from wherever the journal left it. Returns RES_OK (go on), RES_STOP (failed with
 * on_error stop), RES_ABORT (the operator aborted) or RES_FATAL. */
static int run_step(eng *e, size_t si)
{
    const drill_step *s = &e->plan->steps[si];
    drill_replay rp;
    replay(e, &rp);
    if (e->fatal) {
        drill_replay_free(&rp);
        return RES_FATAL;
    }
    drill_step_state st = rp.steps[si];
    int attempt_no = st.last_attempt;
    int used = st.session_failed;
    bool in_flight = st.started && st.last_open;
    bool cmd_journaled = false;
    int rc = RES_OK;
    if (in_flight) {
        /* the attempt that was running when the run stopped */
        switch (s->type) {
        case DRILL_STEP_BOOT:
        case DRILL_STEP_CLEANUP:
            say(e, "  attempt %d was in flight: checking the console", attempt_no);
            break;
        case DRILL_STEP_CHECK:
            if (s->check != DRILL_CHECK_COMMAND || !st.command_open) {
                say(e, "  attempt %d was in flight: checking again", attempt_no);
                if (jlog(e, "attempt_finished", s->name, attempt_no, NULL,
                         json_pack("{s:b, s:s, s:b}", "ok", 0, "error", "interrupted", "interrupted", 1)) < 0)
                    rc = RES_FATAL;
                in_flight = false;
                break;
            }
            /* a command check is a command */
            __attribute__((fallthrough));
        case DRILL_STEP_RUN:
            if (st.command_open) {
                say(e, "  attempt %d was running when the run stopped; it may or may not have finished:", attempt_no);
                say(e, "    %s$ %s", strcmp(s->on, "local") == 0 ? "" : s->on, st.command ? st.command : "?");
                char c = ask_choice(e, "Run it again?", s->name, attempt_no);
                if (c == 's') {
                    if (jlog(e, "attempt_finished", s->name, attempt_no, NULL,
                             json_pack("{s:b, s:s}", "ok", 1, "note", "skipped by the operator after an interruption")) < 0 ||
                        finish_step(e, s, "skipped", "operator", NULL) < 0)
                        rc = RES_FATAL;
                    say(e, "  skipped");
                    drill_replay_free(&rp);
                    return rc == RES_FATAL ? RES_FATAL : RES_OK;
                }
                if (c == 'a') {
                    drill_replay_free(&rp);
                    return RES_ABORT;
                }
                if (jlog(e, "attempt_finished", s->name, attempt_no, NULL,
                         json_pack("{s:b, s:s, s:b}", "ok", 0, "error", "interrupted; run again", "interrupted", 1)) < 0)
                    rc = RES_FATAL;
                in_flight = false;
            } else {
                cmd_journaled = false; /* it never started: run it within this attempt */
            }
            break;
        case DRILL_STEP_CONFIRM:
            say(e, "  the question was open when the run stopped: asking again");
            break;
        }
    } else if (st.started && !st.finished && st.choice && strcmp(st.choice, "skip") == 0) {
        /* the operator chose to skip it; only the step's end was not journaled */
        drill_replay_free(&rp);
        return finish_step(e, s, "skipped", "operator", st.error) < 0 ? RES_FATAL : RES_OK;
    } else if (st.started && st.last_attempt > 0 && st.last_ok && !st.finished) {
        /* the attempt succeeded; only the step's end was not journaled */
        drill_replay_free(&rp);
        return finish_step(e, s, "ok", NULL, NULL) < 0 ? RES_FATAL : RES_OK;
    }
    drill_replay_free(&rp);
    if (rc == RES_FATAL) return rc;

    for (;;) {
        if (!in_flight) {
            attempt_no++;
            if (jlog(e, "attempt_started", s->name, attempt_no, NULL, NULL) < 0) return RES_FATAL;
            if (attempt_no > 1 || used > 0)
                say(e, "  attempt %d (%d of %d)", attempt_no, used + 1, s->retries + 1);
        }
        in_flight = false;
        attempt at = {0};
        int64_t t0 = hm_mono_ms();
        int r = do_attempt(e, si, attempt_no, cmd_journaled, &at);
        cmd_journaled = false;
        if (r == RES_FATAL) {
            json_decref(at.detail);
            return RES_FATAL;
        }
        json_t *d = at.detail ? at.detail : json_object();
        json_object_set_new(d, "ok", json_boolean(r == RES_OK));
        if (r != RES_OK) json_object_set_new(d, "error", json_string(at.err.msg));
        json_object_set_new(d, "duration_ms", json_integer(hm_mono_ms() - t0));
        if (jlog(e, "attempt_finished", s->name, attempt_no, NULL, d) < 0) return RES_FATAL;
        if (r == RES_OK) {
            say(e, "  ok");
            return finish_step(e, s, "ok", NULL, NULL) < 0 ? RES_FATAL : RES_OK;
        }
        used++;
        say(e, "  failed: %s", at.err.msg);
        if (!at.no_retry && used < s->retries + 1) {
            char dl[32];
            fmt_dur(s->delay_ms, dl, sizeof dl);
            say(e, "  retrying in %s (%d of %d retries left)", dl, s->retries + 1 - used, s->retries);
            sleep_ms(s->delay_ms);
            continue;
        }
        switch (s->on_error) {
        case DRILL_ON_ERROR_STOP:
            say(e, "step %s failed; stopping (on_error = stop)", s->name);
            return finish_step(e, s, "failed", NULL, at.err.msg) < 0 ? RES_FATAL : RES_STOP;
        case DRILL_ON_ERROR_IGNORE:
            say(e, "step %s failed; going on (on_error = ignore)", s->name);
            return finish_step(e, s, "ignored", NULL, at.err.msg) < 0 ? RES_FATAL : RES_OK;
        case DRILL_ON_ERROR_ASK: {
            char *q = xasprintf("Step %s failed: %s.", s->name, at.err.msg);
            char c = ask_choice(e, q, s->name, attempt_no);
            free(q);
            if (e->fatal) return RES_FATAL;
            if (c == 'r') {
                used = 0;
                continue;
            }
            if (c == 's') {
                say(e, "step %s skipped by the operator", s->name);
                return finish_step(e, s, "skipped", "operator", at.err.msg) < 0 ? RES_FATAL : RES_OK;
            }
            say(e, "step %s failed; the operator aborted the run", s->name);
            return finish_step(e, s, "failed", "operator aborted", at.err.msg) < 0 ? RES_FATAL : RES_ABORT;
        }
        }
    }
}

/* Runs every step from the first unfinished one. Returns the run's final state. */
static const char *run_steps(eng *e)
{
    const char *stage = NULL;
    for (size_t i = 0; i < e->plan->n_steps; i++) {
        const drill_step *s = &e->plan->steps[i];
        drill_replay rp;
        replay(e, &rp);
        if (e->fatal) {
            drill_replay_free(&rp);
            return NULL;
        }
        const drill_step_state *st = &rp.steps[i];
        bool done = st->finished && st->result &&
                    (strcmp(st->result, "ok") == 0 || strcmp(st->result, "ignored") == 0 ||
                     strcmp(st->result, "skipped") == 0);
        bool resumed_mid = st->started && !st->finished;
        drill_replay_free(&rp);
        if (done) continue;
        if (!stage || strcmp(stage, s->stage) != 0) {
            stage = s->stage;
            say(e, "stage %s", stage);
        }
        if (!s->enabled || !(s->modes & e->mode)) {
            const char *reason = !s->enabled ? "disabled" : s->modes == DRILL_MODE_TAKEOVER ? "takeover only" : "drill only";
            say(e, "step %s: skipped (%s)", s->name, reason);
            if (jlog(e, "step_skipped", s->name, 0, NULL, json_pack("{s:s}", "reason", reason)) < 0) return NULL;
            continue;
        }
        boundary(e, "before-step", s->name);
        if (runs_commands(s)) {
            say(e, "step %s (%s on %s)", s->name, drill_step_type_name(s->type), s->on);
        } else {
            char *d = describe(e, s);
            say(e, "step %s (%s): %s", s->name, drill_step_type_name(s->type), d);
            free(d);
        }
        if (!resumed_mid) {
            if (jlog(e, "step_started", s->name, 0, NULL,
                     json_pack("{s:s, s:s}", "stage", s->stage, "type", drill_step_type_name(s->type))) < 0)
                return NULL;
            boundary(e, "step-started", s->name);
        }
        int r = run_step(e, i);
        if (r == RES_FATAL) return NULL;
        if (r == RES_STOP) return "failed";
        if (r == RES_ABORT) return "aborted";
    }
    boundary(e, "steps-done", NULL);
    return "succeeded";
}

/* --- Start, resume, finish ------------------------------------------------------------------- */

static void eng_free(eng *e)
{
    if (e->hosts)
        for (size_t i = 0; i < e->plan->n_hosts; i++) {
            console_host_clear(&e->hosts[i].ch);
            free(e->hosts[i].snapshot_id);
        }
    free(e->hosts);
    if (e->secret_vals)
        for (size_t i = 0; i < e->plan->n_secrets; i++) {
            if (e->secret_vals[i]) memset(e->secret_vals[i], 0, strlen(e->secret_vals[i]));
            free(e->secret_vals[i]);
        }
    free(e->secret_vals);
    free(e->operator_name);
    free(e->ssh_user);
    if (e->jump_loaded == 1) remote_host_free(&e->jump);
    drill_executor_free(e->x);
    console_close(e->con);
}

static int eng_init(eng *e, const hm_config *cfg, hm_store *st, const drill_plan *p,
                    const drill_opts *o, enum drill_mode mode, const char *console_name)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->st = st;
    e->plan = p;
    e->o = o;
    e->mode = mode;
    e->operator_name = o->operator_name ? xstrdup(o->operator_name) : default_operator();
    e->hosts = xcalloc(p->n_hosts + 1, sizeof *e->hosts);
    for (size_t i = 0; i < p->n_hosts; i++) e->hosts[i].ph = &p->hosts[i];
    e->secret_vals = xcalloc(p->n_secrets + 1, sizeof *e->secret_vals);
    e->x = drill_executor_new();
    const char *su = cfg_get(cfg, "ssh", NULL, "username");
    if (su) e->ssh_user = xstrdup(su);
    else {
        struct passwd *pw = getpwuid(geteuid());
        e->ssh_user = xstrdup(pw && pw->pw_name ? pw->pw_name : "root");
    }
    hm_err err = {{0}};
    if (console_open(cfg, console_name, &e->con, &err) < 0) {
        say(e, "hmctl: %s", err.msg);
        return -1;
    }
    if (console_settings(e->con)->insecure)
        say(e, "hmctl: warning: TLS verification is off for %s (insecure = yes)",
            console_settings(e->con)->url);
    e->rpo_target_ms = p->rpo_ms;
    return 0;
}

/* Ends the run: state, journal, report, lock. */
static int finish_run(eng *e, const char *state)
{
    hm_err err = {{0}};
    int64_t now = hm_now_ms();
    if (!state) {
        /* the journal failed: leave the run resumable */
        say(e, "run %lld stopped: %s; resume it with 'hmctl resume %lld' once the store is writable",
            (long long)e->run_id, e->fatal_err.msg, (long long)e->run_id);
        drill_lock_release(e->st, NULL);
        return DRILL_FAILED;
    }
    jlog(e, "run_finished", NULL, 0, NULL, json_pack("{s:s}", "state", state));
    if (drill_run_set_state(e->st, e->run_id, state, now, &err) < 0) say(e, "hmctl: %s", err.msg);
    drill_run_info run = {0};
    drill_entry *en = NULL;
    size_t n = 0;
    if (drill_run_get(e->st, e->run_id, &run, &err) == 1 &&
        drill_journal_read(e->st, e->run_id, &en, &n, &err) == 0) {
        drill_replay rp;
        drill_replay_build(e->plan, en, n, &rp);
        json_t *rep = drill_report_json(&run, e->plan, &rp, now);
        char *dir = drill_report_dir(store_path(e->st));
        char *jp = NULL, *hp = NULL;
        if (drill_report_write(dir, e->run_id, rep, &jp, &hp, &err) < 0) {
            say(e, "hmctl: cannot write the report: %s", err.msg);
        } else {
            const json_t *rto = json_object_get(rep, "rto");
            char a[32] = "-", t[32] = "-";
            if (json_is_number(json_object_get(rto, "actual_s")))
                fmt_dur((int64_t)(json_number_value(json_object_get(rto, "actual_s")) * 1000), a, sizeof a);
            if (e->plan->rto_ms) fmt_dur(e->plan->rto_ms, t, sizeof t);
            say(e, "run %lld %s: RTO %s (target %s)%s", (long long)e->run_id, state, a, t,
                json_is_true(json_object_get(rto, "met")) ? ", met"
                : json_is_false(json_object_get(rto, "met")) ? ", MISSED" : "");
            say(e, "report: %s", jp);
            say(e, "        %s", hp);
        }
        free(jp);
        free(hp);
        free(dir);
        json_decref(rep);
        drill_replay_free(&rp);
    } else {
        say(e, "hmctl: %s", err.msg);
    }
    drill_entries_free(en, n);
    drill_run_info_clear(&run);
    drill_lock_release(e->st, NULL);
    if (strcmp(state, "succeeded") != 0)
        say(e, "resume it with 'hmctl resume %lld' once the cause is fixed", (long long)e->run_id);
    return strcmp(state, "succeeded") == 0 ? DRILL_OK : DRILL_FAILED;
}

/* The confirmation before anything is done. Returns true when given; journals nothing. */
static bool confirm_start(eng *e, const char *what, char **how)
{
    if (e->mode == DRILL_MODE_DRILL) {
        if (e->o->yes) {
            *how = xstrdup("--yes");
            return true;
        }
        char *a = ask(e, "Start %s? [y/N] ", what);
        bool ok = a && (strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0);
        free(a);
        if (ok) *how = xstrdup("answered yes");
        return ok;
    }
    say(e, "This is a TAKEOVER: %s.", what);
    say(e, "The hosts are booted formally on the DR side and the plan's takeover steps run.");
    char *a = ask(e, "Type the plan name (%s) to go on: ", e->plan->name);
    bool ok = a && strcmp(a, e->plan->name) == 0;
    if (a && !ok) say(e, "'%s' is not the plan name", a);
    free(a);
    if (ok) *how = xstrdup("plan name typed");
    return ok;
}

int drill_start(const hm_config *cfg, hm_store *st, const drill_plan *p, const drill_opts *o,
                int64_t *run_id)
{
    *run_id = 0;
    eng e;
    hm_err err = {{0}};
    if (eng_init(&e, cfg, st, p, o, o->mode, o->console ? o->console : p->console) < 0) {
        eng_free(&e);
        return DRILL_FAILED;
    }
    if (drill_store_init(st, &err) < 0) {
        say(&e, "hmctl: %s", err.msg);
        eng_free(&e);
        return DRILL_FAILED;
    }
    bool taken = false;
    drill_lock_info holder = {0};
    if (o->dry_run) {
        int r = drill_lock_peek(st, &holder, &err);
        taken = r == 0;
    } else {
        int r = drill_lock_acquire(st, 0, p->name, mode_word(o->mode), hm_now_ms(), &holder, &err);
        if (r < 0) {
            say(&e, "hmctl: %s", err.msg);
            eng_free(&e);
            return DRILL_FAILED;
        }
        taken = r == 0;
    }
    e.dry = o->dry_run;
    precheck pc = {.items = json_array()};
    run_prechecks(&e, &pc, taken, &holder, !o->dry_run && taken);
    drill_lock_info_clear(&holder);
    print_checklist(&e, &pc);
    int rc = DRILL_OK;
    if (o->dry_run) {
        print_plan_steps(&e);
        say(&e, pc.fails ? "dry run: %d pre-check%s failed; nothing was done"
                         : "dry run: nothing was done", pc.fails, pc.fails == 1 ? "" : "s");
        rc = pc.fails ? DRILL_FAILED : DRILL_OK;
        goto out;
    }
    if (pc.fails) {
        say(&e, "%d pre-check%s failed; nothing was done", pc.fails, pc.fails == 1 ? "" : "s");
        rc = DRILL_FAILED;
        goto out_unlock;
    }
    /* recovery points asked for now */
    print_plan_steps(&e);
    char *what = xasprintf("the %s of plan '%s' (%zu host%s)", mode_word(o->mode), p->name, p->n_hosts,
                           p->n_hosts == 1 ? "" : "s");
    char *how = NULL;
    bool ok = confirm_start(&e, what, &how);
    free(what);
    if (!ok) {
        say(&e, "not confirmed; nothing was done");
        rc = DRILL_FAILED;
        goto out_unlock;
    }
    /* the run exists from here on */
    e.started_ms = 0;
    drill_run_info info = {.plan = p->name, .plan_file = p->file, .plan_text = p->text,
                           .mode = (char *)mode_word(o->mode), .operator_name = e.operator_name,
                           .console = (char *)(o->console ? o->console : p->console),
                           .started_ms = hm_now_ms(), .rto_target_ms = p->rto_ms,
                           .rpo_target_ms = e.rpo_target_ms};
    if (drill_run_create(st, &info, &e.run_id, &err) < 0 || drill_lock_set_run(st, e.run_id, &err) < 0) {
        say(&e, "hmctl: %s", err.msg);
        free(how);
        rc = DRILL_FAILED;
        goto out_unlock;
    }
    *run_id = e.run_id;
    snprintf(e.run_id_s, sizeof e.run_id_s, "%lld", (long long)e.run_id);
    e.started_ms = info.started_ms;
    json_t *hosts = json_array();
    for (size_t i = 0; i < p->n_hosts; i++) {
        const struct host_rt *h = &e.hosts[i];
        json_array_append_new(hosts, json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:s}", "alias", h->ph->alias,
                                               "id", h->ch.id, "name", h->ch.name, "snapshot_id",
                                               h->snapshot_id, "snapshot_ms", (json_int_t)h->snapshot_ms,
                                               "recovery_point", h->ph->recovery_point));
    }
    if (jlog(&e, "run_started", NULL, 0, NULL,
             json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "plan", p->name, "plan_file", p->file, "mode",
                       mode_word(o->mode), "operator", e.operator_name, "hosts", hosts, "prechecks",
                       json_incref(pc.items))) < 0 ||
        jlog(&e, "answer", NULL, 0, NULL,
             json_pack("{s:s, s:s, s:s}", "question", "start", "answer", how, "who", e.operator_name)) < 0) {
        free(how);
        rc = finish_run(&e, NULL);
        goto out;
    }
    free(how);
    say(&e, "run %lld: %s of plan '%s' started by %s", (long long)e.run_id, mode_word(o->mode), p->name,
        e.operator_name);
    rc = finish_run(&e, run_steps(&e));
    goto out;
out_unlock:
    drill_lock_release(st, NULL);
out:
    json_decref(pc.items);
    eng_free(&e);
    return rc;
}

int drill_resume(const hm_config *cfg, hm_store *st, int64_t run_id, const drill_opts *o)
{
    hm_err err = {{0}};
    drill_ui ui = o->ui;
    char *line = NULL;
    if (drill_store_init(st, &err) < 0) {
        line = xasprintf("hmctl: %s", err.msg);
        ui.print(ui.ud, line);
        free(line);
        return DRILL_FAILED;
    }
    drill_run_info run = {0};
    int g = drill_run_get(st, run_id, &run, &err);
    if (g <= 0) {
        line = g < 0 ? xasprintf("hmctl: %s", err.msg)
                     : xasprintf("hmctl: no run %lld (see 'hmctl runs')", (long long)run_id);
        ui.print(ui.ud, line);
        free(line);
        return DRILL_FAILED;
    }
    if (strcmp(run.state, "succeeded") == 0) {
        line = xasprintf("hmctl: run %lld has succeeded already; nothing to resume", (long long)run_id);
        ui.print(ui.ud, line);
        free(line);
        drill_run_info_clear(&run);
        return DRILL_FAILED;
    }
    drill_lock_info holder = {0};
    int lr = drill_lock_acquire(st, run_id, run.plan, run.mode, hm_now_ms(), &holder, &err);
    if (lr != 0) {
        if (lr < 0) line = xasprintf("hmctl: %s", err.msg);
        else if (holder.run_id == run_id)
            line = xasprintf("hmctl: run %lld is still running (pid %d); nothing was done",
                             (long long)run_id, holder.pid);
        else
            line = xasprintf("hmctl: another run is in progress (run %lld, %s of plan %s, pid %d); "
                             "nothing was done", (long long)holder.run_id, holder.mode ? holder.mode : "?",
                             holder.plan ? holder.plan : "?", holder.pid);
        ui.print(ui.ud, line);
        free(line);
        drill_lock_info_clear(&holder);
        drill_run_info_clear(&run);
        return DRILL_FAILED;
    }
    strvec errors = {0};
    drill_plan *p = NULL;
    if (drill_plan_parse(run.plan_file, run.plan_text ? run.plan_text : "", &p, &errors) < 0) {
        for (size_t i = 0; i < errors.n; i++) ui.print(ui.ud, errors.v[i]);
        sv_free(&errors);
        drill_lock_release(st, NULL);
        drill_run_info_clear(&run);
        return DRILL_FAILED;
    }
    sv_free(&errors);
    enum drill_mode mode = strcmp(run.mode, "takeover") == 0 ? DRILL_MODE_TAKEOVER : DRILL_MODE_DRILL;
    eng e;
    int rc = DRILL_FAILED;
    if (eng_init(&e, cfg, st, p, o, mode, o->console ? o->console : run.console) < 0) goto out;
    free(e.operator_name);
    e.operator_name = o->operator_name ? xstrdup(o->operator_name) : default_operator();
    e.run_id = run_id;
    snprintf(e.run_id_s, sizeof e.run_id_s, "%lld", (long long)run_id);
    e.rpo_target_ms = run.rpo_target_ms;
    drill_replay rp;
    replay(&e, &rp);
    e.started_ms = rp.started_ms ? rp.started_ms : run.started_ms;
    /* the hosts as the run knew them, read again from the console */
    for (size_t i = 0; i < p->n_hosts; i++) {
        const drill_host_state *hs = &rp.hosts[i];
        struct host_rt *h = &e.hosts[i];
        if (hs->console_id) {
            h->ch.id = xstrdup(hs->console_id);
            h->ch.name = hs->console_name ? xstrdup(hs->console_name) : NULL;
            h->found = true;
        }
        h->snapshot_id = hs->snapshot_id ? xstrdup(hs->snapshot_id) : NULL;
        h->snapshot_ms = hs->snapshot_ms;
    }
    if (refresh_hosts(&e, NULL, 0, &err) < 0) say(&e, "console: %s", err.msg);
    char t[40];
    hm_format_time(e.started_ms, t, sizeof t);
    say(&e, "run %lld: %s of plan '%s', started %s by %s, %s", (long long)run_id, run.mode, p->name, t,
        run.operator_name, run.state);
    strbuf done = {0};
    int next = -1;
    for (size_t i = 0; i < p->n_steps; i++) {
        const drill_step_state *s = &rp.steps[i];
        bool fin = s->finished && s->result && strcmp(s->result, "failed") != 0;
        if (fin) sb_addf(&done, "%s%s", done.len ? ", " : "", p->steps[i].name);
        else if (next < 0) next = (int)i;
    }
    say(&e, "  done: %s", done.len ? sb_str(&done) : "nothing");
    if (next >= 0) {
        const drill_step_state *s = &rp.steps[next];
        say(&e, "  next: %s%s", p->steps[next].name,
            s->started && !s->finished ? " (in flight when the run stopped)"
            : s->finished ? " (failed; it is tried again)" : "");
    }
    sb_free(&done);
    drill_replay_free(&rp);
    char *what = xasprintf("resuming run %lld, the %s of plan '%s'", (long long)run_id, run.mode, p->name);
    char *how = NULL;
    bool ok = confirm_start(&e, what, &how);
    free(what);
    if (!ok) {
        say(&e, "not confirmed; nothing was done");
        drill_lock_release(st, NULL);
        goto out_eng;
    }
    if (jlog(&e, "run_resumed", NULL, 0, NULL,
             json_pack("{s:s, s:i}", "operator", e.operator_name, "pid", (int)getpid())) < 0 ||
        jlog(&e, "answer", NULL, 0, NULL,
             json_pack("{s:s, s:s, s:s}", "question", "resume", "answer", how, "who", e.operator_name)) < 0 ||
        drill_run_set_state(st, run_id, "running", 0, &err) < 0) {
        free(how);
        rc = finish_run(&e, NULL);
        goto out_eng;
    }
    free(how);
    rc = finish_run(&e, run_steps(&e));
out_eng:
    eng_free(&e);
out:
    drill_plan_free(p);
    drill_run_info_clear(&run);
    return rc;
}

char *drill_run_display_state(hm_store *st, int64_t run_id, const char *stored)
{
    if (!stored || strcmp(stored, "running") != 0) return xstrdup(stored ? stored : "?");
    drill_lock_info h = {0};
    int r = drill_lock_peek(st, &h, NULL);
    bool live = r == 1 && h.run_id == run_id;
    drill_lock_info_clear(&h);
    return xstrdup(live ? "running" : "interrupted");
}
