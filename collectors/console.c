/* Console collector: the REST API of every configured console (console-api.md) as components
 * for status, check and tui, and the derived events recorded in the store.
 *
 * Without any [console] section there is nothing to watch (a host that is not a console, or a
 * console whose API the operator has not set up for hmctl): the collector adds nothing, so
 * such hosts never turn critical for a console they do not have. A configured console that
 * cannot be reached is critical, with the error. A configured console without a password is
 * unknown: hmctl cannot tell its state. */
#include <stdlib.h>
#include <string.h>

#include "collectors/collector.h"
#include "collectors/console.h"
#include "collectors/net.h"
#include "console/console.h"
#include "lib/clock.h"

#define DAY_MS (86400LL * 1000)
#define MAX_NAMES 5

static char *series(const console_conf *cc, const char *metric, const char *lname,
                    const char *lvalue)
{
    if (cc->name)
        return lname ? hm_series(metric, "console", cc->name, lname, lvalue, NULL)
                     : hm_series(metric, "console", cc->name, NULL);
    return lname ? hm_series(metric, lname, lvalue, NULL) : hm_series(metric, NULL);
}

static void sample(hm_result *out, const console_conf *cc, const char *metric, const char *lname,
                   const char *lvalue, double v, const char *unit, int64_t ts)
{
    char *s = series(cc, metric, lname, lvalue);
    hm_result_add_sample(out, s, v, unit, ts);
    free(s);
}

static void component(hm_result *out, const console_conf *cc, const char *suffix,
                      enum hm_state st, const char *status, const char *detail)
{
    char *name = suffix ? xasprintf("%s %s", cc->label, suffix) : xstrdup(cc->label);
    hm_result_add_component(out, name, "console", st, status, "%s", detail);
    free(name);
}

/* Appends "a, b, c and N more" for a list of names. */
static void name_list(strbuf *sb, const strvec *names)
{
    for (size_t i = 0; i < names->n && i < MAX_NAMES; i++)
        sb_addf(sb, "%s%s", i ? ", " : "", names->v[i]);
    if (names->n > MAX_NAMES) sb_addf(sb, " and %zu more", names->n - MAX_NAMES);
}

static void count_states(const console_hosts *hs, hm_result *out, const console_conf *cc,
                         int64_t now, strbuf *detail)
{
    strvec states = {0};
    size_t *counts = xcalloc(hs->n + 1, sizeof *counts);
    for (size_t i = 0; i < hs->n; i++) {
        const char *s = hs->v[i].host_status ? hs->v[i].host_status : "unknown";
        size_t k = 0;
        while (k < states.n && strcmp(states.v[k], s) != 0) k++;
        if (k == states.n) sv_push(&states, s);
        counts[k]++;
    }
    sb_addf(detail, "%zu host%s", hs->n, hs->n == 1 ? "" : "s");
    for (size_t k = 0; k < states.n; k++) {
        sb_addf(detail, "%s%zu %s", k ? ", " : ": ", counts[k], states.v[k]);
        sample(out, cc, "console.hosts", "state", states.v[k], (double)counts[k], "count", now);
    }
    sample(out, cc, "console.hosts.total", NULL, NULL, (double)hs->n, "count", now);
    free(counts);
    sv_free(&states);
}

static void report_hosts(const console_hosts *hs, const console_conf *cc, int64_t now,
                         hm_result *out)
{
    strbuf sb = {0};
    count_states(hs, out, cc, now, &sb);
    strvec lic = {0}, disc = {0}, stale = {0};
    for (size_t i = 0; i < hs->n; i++) {
        const console_host *h = &hs->v[i];
        const char *name = h->name ? h->name : h->id;
        if (h->license_valid == 0) sv_push(&lic, name);
        if (h->health_status && strcmp(h->health_status, "disconnected") == 0) sv_push(&disc, name);
        if (h->last_snapshot_ms && now - h->last_snapshot_ms > console_conf_rpo(cc, h->name) &&
            !(h->host_status && strcmp(h->host_status, "host_unregister_done") == 0))
            sv_push(&stale, name);
    }
    enum hm_state st = HM_OK;
    if (lic.n) {
        st = HM_WARNING;
        sb_addf(&sb, "; licence expired: ");
        name_list(&sb, &lic);
    }
    component(out, cc, "hosts", st, NULL, sb_str(&sb));
    sb_reset(&sb);
    sample(out, cc, "console.hosts.license_expired", NULL, NULL, (double)lic.n, "count", now);

    if (disc.n) {
        sb_addf(&sb, "%zu host%s disconnected: ", disc.n, disc.n == 1 ? "" : "s");
        name_list(&sb, &disc);
    } else sb_adds(&sb, "every host in contact");
    component(out, cc, "disconnected", disc.n ? HM_CRITICAL : HM_OK, NULL, sb_str(&sb));
    sb_reset(&sb);
    sample(out, cc, "console.hosts.disconnected", NULL, NULL, (double)disc.n, "count", now);

    char target[32];
    hm_format_duration(cc->rpo_target_ms, target, sizeof target);
    if (stale.n) {
        sb_addf(&sb, "%zu host%s beyond the RPO target (%s%s): ", stale.n,
                stale.n == 1 ? "" : "s", target, cc->rpo_hosts ? " or per host" : "");
        name_list(&sb, &stale);
    } else sb_addf(&sb, "every snapshot within the RPO target (%s)", target);
    component(out, cc, "rpo", stale.n ? HM_WARNING : HM_OK, NULL, sb_str(&sb));
    sample(out, cc, "console.hosts.rpo_exceeded", NULL, NULL, (double)stale.n, "count", now);
    sb_free(&sb);
    sv_free(&lic);
    sv_free(&disc);
    sv_free(&stale);
}

static void report_jobs(const console_jobs *js, const console_conf *cc, int64_t now,
                        hm_result *out)
{
    strvec syncs = {0}, boots = {0};
    for (size_t i = 0; i < js->n; i++) {
        const console_job *j = &js->v[i];
        if (!j->job_status || strcmp(j->job_status, "failed") != 0) continue;
        int64_t t = j->end_ms ? j->end_ms : j->updated_ms ? j->updated_ms : j->start_ms;
        if (t && t < now - DAY_MS) continue;
        const char *who = j->host ? j->host : "?";
        if (j->kind == CONSOLE_KIND_SYNC) sv_push(&syncs, who);
        else if (j->kind == CONSOLE_KIND_DRILL || j->kind == CONSOLE_KIND_TAKEOVER) sv_push(&boots, who);
    }
    strbuf sb = {0};
    if (syncs.n) {
        sb_addf(&sb, "%zu failed sync%s (", syncs.n, syncs.n == 1 ? "" : "s");
        name_list(&sb, &syncs);
        sb_adds(&sb, ")");
    }
    if (boots.n) {
        sb_addf(&sb, "%s%zu failed boot%s (", syncs.n ? ", " : "", boots.n, boots.n == 1 ? "" : "s");
        name_list(&sb, &boots);
        sb_adds(&sb, ")");
    }
    if (syncs.n || boots.n) sb_adds(&sb, " in the last 24 h");
    else sb_adds(&sb, "no failed sync or boot in the last 24 h");
    component(out, cc, "jobs", syncs.n || boots.n ? HM_CRITICAL : HM_OK, NULL, sb_str(&sb));
    sample(out, cc, "console.jobs.failed_24h", "kind", "sync", (double)syncs.n, "count", now);
    sample(out, cc, "console.jobs.failed_24h", "kind", "boot", (double)boots.n, "count", now);
    sb_free(&sb);
    sv_free(&syncs);
    sv_free(&boots);
}

static void report_gateways(const console_targets *ts, const console_conf *cc, int64_t now,
                            hm_result *out)
{
    strvec off = {0};
    for (size_t i = 0; i < ts->n; i++) {
        const console_target *t = &ts->v[i];
        bool bad_status = t->status && strcmp(t->status, "active") != 0 &&
                          strcmp(t->status, "available") != 0 && strcmp(t->status, "creating") != 0;
        if (t->online == 0 || bad_status) {
            char *s = xasprintf("%s (%s)", t->name ? t->name : t->uuid, t->status ? t->status : "offline");
            sv_push_owned(&off, s);
        }
    }
    strbuf sb = {0};
    if (off.n) {
        sb_addf(&sb, "%zu of %zu gateway%s offline: ", off.n, ts->n, ts->n == 1 ? "" : "s");
        name_list(&sb, &off);
    } else sb_addf(&sb, "%zu gateway%s online", ts->n, ts->n == 1 ? "" : "s");
    component(out, cc, "gateways", off.n ? HM_CRITICAL : HM_OK, NULL, sb_str(&sb));
    sample(out, cc, "console.gateways.total", NULL, NULL, (double)ts->n, "count", now);
    sample(out, cc, "console.gateways.offline", NULL, NULL, (double)off.n, "count", now);
    sb_free(&sb);
    sv_free(&off);
}

enum hm_state console_event_severity(const char *type)
{
    if (!strcmp(type, "host_lost_contact") || !strcmp(type, "sync_failed") ||
        !strcmp(type, "boot_failed"))
        return HM_CRITICAL; /* the seed's alerting table: these three are critical */
    if (!strcmp(type, "host_reconnected")) return HM_OK;
    return HM_WARNING;
}

static void record_events(const hm_collect_ctx *cx, const console_conf *cc,
                          const console_hosts *hs, const console_jobs *js, hm_result *out)
{
    hm_store *st = NULL;
    hm_err e = {{0}};
    console_events fresh = {0};
    if (store_open_config(cx->cfg, 0, &st, &e) < 0 ||
        console_events_record(st, cc, hs, js, cx->now_ms, &fresh, &e) < 0) {
        store_close(st);
        component(out, cc, "events", HM_UNKNOWN, NULL, e.msg);
        return;
    }
    store_close(st);
    enum hm_state worst = HM_OK;
    strbuf sb = {0};
    for (size_t i = 0; i < fresh.n; i++) {
        worst = hm_state_worse(worst, console_event_severity(fresh.v[i].type));
        if (i < MAX_NAMES)
            sb_addf(&sb, "%s%s %s", i ? ", " : "", fresh.v[i].type,
                    fresh.v[i].host_name ? fresh.v[i].host_name : fresh.v[i].host_id);
    }
    if (fresh.n > MAX_NAMES) sb_addf(&sb, " and %zu more", fresh.n - MAX_NAMES);
    char *detail = fresh.n ? xasprintf("%zu new event%s: %s", fresh.n, fresh.n == 1 ? "" : "s",
                                       sb_str(&sb))
                           : xstrdup("no new event");
    component(out, cc, "events", worst, NULL, detail);
    sample(out, cc, "console.events.new", NULL, NULL, (double)fresh.n, "count", cx->now_ms);
    free(detail);
    sb_free(&sb);
    console_events_free(&fresh);
}

void console_read_free(console_read *r)
{
    if (r->loaded) console_conf_free(&r->conf);
    console_hosts_free(&r->hosts);
    console_jobs_free(&r->jobs);
    memset(r, 0, sizeof *r);
}

void collect_console_read(const hm_collect_ctx *cx, const char *name, hm_result *out,
                          console_read *keep)
{
    console *con = NULL;
    hm_err e = {{0}};
    if (name && !*name) name = NULL;
    if (keep) memset(keep, 0, sizeof *keep);
    if (console_open(cx->cfg, name, &con, &e) < 0) {
        char *label = name ? xasprintf("console %s", name) : xstrdup("console");
        hm_result_add_component(out, label, "console", HM_UNKNOWN, "not configured", "%s", e.msg);
        free(label);
        if (keep) keep->err = e;
        return;
    }
    const console_conf *cc = console_settings(con);
    int64_t t0 = hm_mono_ms();
    console_hosts hs = {0};
    console_jobs js = {0};
    console_targets ts = {0};
    console_job_query jq = {.status = "all", .since_ms = cx->now_ms - DAY_MS};
    /* nothing here reads the snapshot lists: 10,000 hosts keep 80,000 of them */
    console_host_query hq = {.no_snapshots = true};
    int rc = 0;
    /* each request may use what is left of the collector's budget */
    console_set_timeout(con, net_remaining_ms(cx->deadline_mono));
    if (console_login(con, &e) < 0 || console_list_hosts(con, &hq, &hs, &e) < 0) rc = -1;
    if (rc == 0) console_set_timeout(con, net_remaining_ms(cx->deadline_mono));
    if (rc == 0 && console_list_targets(con, &ts, &e) < 0) rc = -1;
    if (rc == 0) console_set_timeout(con, net_remaining_ms(cx->deadline_mono));
    if (rc == 0 && console_list_jobs(con, &jq, &js, &e) < 0) rc = -1;
    sample(out, cc, "console.up", NULL, NULL, rc == 0, "bool", cx->now_ms);
    if (rc < 0) {
        component(out, cc, NULL, HM_CRITICAL, "unreachable", e.msg);
    } else {
        char *d = xasprintf("API at %s answered, token obtained (%lld ms for %zu hosts, %zu jobs "
                            "in 24 h, %zu gateways)", cc->url, (long long)(hm_mono_ms() - t0),
                            hs.n, js.n, ts.n);
        component(out, cc, NULL, HM_OK, "reachable", d);
        free(d);
        report_hosts(&hs, cc, cx->now_ms, out);
        report_jobs(&js, cc, cx->now_ms, out);
        report_gateways(&ts, cc, cx->now_ms, out);
        record_events(cx, cc, &hs, &js, out);
    }
    if (keep) {
        keep->ok = rc == 0;
        if (rc < 0) keep->err = e;
        /* the settings move over whole; the client keeps only its own copy */
        console_conf_load(cx->cfg, name, &keep->conf, NULL);
        keep->loaded = true;
        keep->hosts = hs;
        keep->jobs = js;
        memset(&hs, 0, sizeof hs);
        memset(&js, 0, sizeof js);
    }
    console_hosts_free(&hs);
    console_jobs_free(&js);
    console_targets_free(&ts);
    console_close(con);
}

void collect_console(const hm_collect_ctx *cx, hm_result *out)
{
    strvec names = {0};
    if (console_conf_names(cx->cfg, &names) == 0) return;
    for (size_t i = 0; i < names.n; i++) collect_console_read(cx, names.v[i], out, NULL);
    sv_free(&names);
}
