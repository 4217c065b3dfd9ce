/* Replaying a journal, the RTO/RPO arithmetic and the run report in JSON and HTML. */
#include "drill/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"

int64_t drill_rpo_ms(int64_t run_start_ms, int64_t recovery_point_ms)
{
    if (recovery_point_ms <= 0 || run_start_ms <= 0) return -1;
    return run_start_ms > recovery_point_ms ? run_start_ms - recovery_point_ms : 0;
}

int64_t drill_rto_ms(int64_t run_start_ms, int64_t validation_end_ms)
{
    if (run_start_ms <= 0 || validation_end_ms <= 0) return -1;
    return validation_end_ms > run_start_ms ? validation_end_ms - run_start_ms : 0;
}

int drill_target_met(int64_t actual_ms, int64_t target_ms)
{
    if (target_ms <= 0 || actual_ms < 0) return -1;
    return actual_ms <= target_ms;
}

/* --- Replay -------------------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? xstrdup(v) : NULL;
}

static json_t *iso(int64_t ms)
{
    if (ms <= 0) return json_null();
    char buf[40];
    hm_format_time(ms, buf, sizeof buf);
    return json_string(buf);
}

static void add_failure(drill_replay *r, const drill_entry *en, const char *error)
{
    json_t *f = json_object();
    json_object_set_new(f, "step", en->step ? json_string(en->step) : json_null());
    json_object_set_new(f, "attempt", en->attempt ? json_integer(en->attempt) : json_null());
    json_object_set_new(f, "host", en->host ? json_string(en->host) : json_null());
    json_object_set_new(f, "error", json_string(error ? error : "failed"));
    json_object_set_new(f, "at", iso(en->ts_ms));
    json_array_append_new(r->failures, f);
}

static int host_index(const drill_plan *p, const char *alias)
{
    if (!alias) return -1;
    for (size_t i = 0; i < p->n_hosts; i++)
        if (strcmp(p->hosts[i].alias, alias) == 0) return (int)i;
    return -1;
}

int drill_replay_build(const drill_plan *p, const drill_entry *en, size_t n, drill_replay *r)
{
    memset(r, 0, sizeof *r);
    r->n_steps = p->n_steps;
    r->steps = xcalloc(p->n_steps + 1, sizeof *r->steps);
    r->n_hosts = p->n_hosts;
    r->hosts = xcalloc(p->n_hosts + 1, sizeof *r->hosts);
    r->answers = json_array();
    r->failures = json_array();
    r->prechecks = json_array();
    for (size_t i = 0; i < n; i++) {
        const drill_entry *e = &en[i];
        const char *ev = e->event;
        const json_t *d = e->data;
        int si = e->step ? drill_plan_step_index(p, e->step) : -1;
        int hi = host_index(p, e->host);
        drill_step_state *s = si >= 0 ? &r->steps[si] : NULL;
        drill_host_state *h = hi >= 0 ? &r->hosts[hi] : NULL;
        if (strcmp(ev, "run_started") == 0) {
            r->started_ms = e->ts_ms;
            size_t k;
            json_t *o;
            json_array_foreach(json_object_get(d, "hosts"), k, o) {
                int x = host_index(p, jstr(o, "alias"));
                if (x < 0) continue;
                drill_host_state *hs = &r->hosts[x];
                set_str(&hs->console_id, jstr(o, "id"));
                set_str(&hs->console_name, jstr(o, "name"));
                set_str(&hs->snapshot_id, jstr(o, "snapshot_id"));
                hs->snapshot_ms = json_integer_value(json_object_get(o, "snapshot_ms"));
            }
            json_t *pc = json_object_get(d, "prechecks");
            if (json_is_array(pc)) {
                json_decref(r->prechecks);
                r->prechecks = json_deep_copy(pc);
            }
        } else if (strcmp(ev, "run_resumed") == 0) {
            r->resumes++;
            r->finished = false;
        } else if (strcmp(ev, "run_finished") == 0) {
            r->finished = true;
            set_str(&r->final_state, jstr(d, "state"));
        } else if (strcmp(ev, "answer") == 0) {
            /* an operator who chose to retry gives the step a new budget of attempts */
            if (s && json_is_true(json_object_get(d, "retry"))) s->session_failed = 0;
            if (s && json_object_get(d, "retry")) set_str(&s->choice, jstr(d, "answer"));
            json_t *a = json_object();
            json_object_set_new(a, "step", e->step ? json_string(e->step) : json_null());
            const char *keys[] = {"question", "answer", "who", "comment"};
            for (size_t k = 0; k < HM_ARRAY_LEN(keys); k++) {
                const char *v = jstr(d, keys[k]);
                json_object_set_new(a, keys[k], v ? json_string(v) : json_null());
            }
            json_object_set_new(a, "at", iso(e->ts_ms));
            json_array_append_new(r->answers, a);
        } else if (s && strcmp(ev, "step_skipped") == 0) {
            s->skipped = true;
            s->finished = true;
            set_str(&s->result, "skipped");
            set_str(&s->skip_reason, jstr(d, "reason"));
        } else if (s && strcmp(ev, "step_started") == 0) {
            s->started++;
            if (!s->started_ms) s->started_ms = e->ts_ms;
            s->finished = false;
            s->session_failed = 0;
            set_str(&s->choice, NULL);
        } else if (s && strcmp(ev, "attempt_started") == 0) {
            s->attempts++;
            s->last_attempt = e->attempt;
            s->last_open = true;
            s->last_ok = false;
            s->command_open = false;
            set_str(&s->choice, NULL);
        } else if (s && strcmp(ev, "command") == 0) {
            set_str(&s->command, jstr(d, "command"));
            s->command_open = true;
        } else if (s && strcmp(ev, "attempt_finished") == 0) {
            s->last_open = false;
            s->command_open = false;
            s->last_ok = json_is_true(json_object_get(d, "ok"));
            if (!s->last_ok) {
                s->failed_attempts++;
                if (!json_is_true(json_object_get(d, "interrupted"))) s->session_failed++;
                set_str(&s->error, jstr(d, "error"));
                /* a boot or cleanup lists its failures per host */
                enum drill_step_type t = p->steps[si].type;
                if (t != DRILL_STEP_BOOT && t != DRILL_STEP_CLEANUP) add_failure(r, e, jstr(d, "error"));
            }
        } else if (s && strcmp(ev, "step_finished") == 0) {
            s->finished = true;
            set_str(&s->choice, NULL);
            s->ended_ms = e->ts_ms;
            set_str(&s->result, jstr(d, "result"));
            if (jstr(d, "reason")) set_str(&s->skip_reason, jstr(d, "reason"));
            if (jstr(d, "error")) set_str(&s->error, jstr(d, "error"));
        } else if (h && strcmp(ev, "boot_requested") == 0) {
            h->boot_requests++;
            h->boot_open = true;
            h->boot_requested_ms = e->ts_ms;
            h->boot_accepted = h->boot_failed = false;
            set_str(&h->task_id, NULL);
            set_str(&h->boot_error, NULL);
        } else if (h && (strcmp(ev, "boot_accepted") == 0 || strcmp(ev, "boot_adopted") == 0)) {
            h->boot_open = false;
            h->boot_accepted = true;
            if (jstr(d, "task_id")) set_str(&h->task_id, jstr(d, "task_id"));
        } else if (h && strcmp(ev, "boot_not_received") == 0) {
            h->boot_open = false;
        } else if (h && strcmp(ev, "boot_refused") == 0) {
            h->boot_open = false;
            h->boot_failed = true;
            h->boot_failed_attempt = e->attempt;
            set_str(&h->boot_error, jstr(d, "error"));
            add_failure(r, e, jstr(d, "error"));
        } else if (h && strcmp(ev, "host_booted") == 0) {
            h->booted = true;
            h->boot_failed = false;
            set_str(&h->instance_id, jstr(d, "instance_id"));
            set_str(&h->ip, jstr(d, "ip"));
        } else if (h && strcmp(ev, "host_boot_failed") == 0) {
            h->boot_failed = true;
            h->boot_accepted = false;
            h->boot_failed_attempt = e->attempt;
            set_str(&h->boot_error, jstr(d, "error"));
            add_failure(r, e, jstr(d, "error"));
        } else if (h && strcmp(ev, "clean_requested") == 0) {
            h->clean_open = true;
            h->clean_accepted = false;
            h->clean_requested_ms = e->ts_ms;
        } else if (h && (strcmp(ev, "clean_accepted") == 0 || strcmp(ev, "clean_adopted") == 0)) {
            h->clean_open = false;
            h->clean_accepted = true;
        } else if (h && strcmp(ev, "clean_not_received") == 0) {
            h->clean_open = false;
        } else if (h && strcmp(ev, "clean_refused") == 0) {
            h->clean_open = false;
            h->clean_failed = true;
            h->clean_failed_attempt = e->attempt;
            set_str(&h->clean_error, jstr(d, "error"));
            add_failure(r, e, jstr(d, "error"));
        } else if (h && strcmp(ev, "host_cleaned") == 0) {
            h->cleaned = true;
            h->clean_failed = false;
        } else if (h && strcmp(ev, "host_clean_failed") == 0) {
            h->clean_failed = true;
            h->clean_accepted = false;
            h->clean_failed_attempt = e->attempt;
            set_str(&h->clean_error, jstr(d, "error"));
            add_failure(r, e, jstr(d, "error"));
        }
    }
    return 0;
}

void drill_replay_free(drill_replay *r)
{
    for (size_t i = 0; i < r->n_steps; i++) {
        drill_step_state *s = &r->steps[i];
        free(s->skip_reason);
        free(s->result);
        free(s->error);
        free(s->command);
        free(s->choice);
    }
    for (size_t i = 0; i < r->n_hosts; i++) {
        drill_host_state *h = &r->hosts[i];
        free(h->console_id);
        free(h->console_name);
        free(h->snapshot_id);
        free(h->task_id);
        free(h->instance_id);
        free(h->ip);
        free(h->boot_error);
        free(h->clean_error);
    }
    free(r->steps);
    free(r->hosts);
    free(r->final_state);
    json_decref(r->answers);
    json_decref(r->failures);
    json_decref(r->prechecks);
    memset(r, 0, sizeof *r);
}

/* --- The report ---------------------------------------------------------------------------- */

static json_t *secs(int64_t ms)
{
    return ms < 0 ? json_null() : json_real((double)ms / 1000.0);
}

static json_t *met(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *drill_report_json(const drill_run_info *run, const drill_plan *p, const drill_replay *r,
                          int64_t now_ms)
{
    enum drill_mode mode = run->mode && strcmp(run->mode, "takeover") == 0 ? DRILL_MODE_TAKEOVER
                                                                          : DRILL_MODE_DRILL;
    int64_t start = r->started_ms ? r->started_ms : run->started_ms;
    json_t *o = json_object();
    json_object_set_new(o, "run", json_integer(run->id));
    json_object_set_new(o, "plan", json_string(p->name));
    json_object_set_new(o, "plan_file", str_or_null(run->plan_file));
    json_object_set_new(o, "description", str_or_null(p->description));
    json_object_set_new(o, "mode", json_string(drill_mode_name(mode)));
    json_object_set_new(o, "operator", str_or_null(run->operator_name));
    json_object_set_new(o, "console", str_or_null(run->console));
    json_object_set_new(o, "state", str_or_null(run->state));
    json_object_set_new(o, "started_at", iso(start));
    json_object_set_new(o, "ended_at", iso(run->ended_ms));
    int64_t end = run->ended_ms ? run->ended_ms : now_ms;
    json_object_set_new(o, "duration_s", secs(end >= start ? end - start : -1));
    json_object_set_new(o, "resumes", json_integer(r->resumes));

    /* RTO: start to the end of the validation step */
    int v = drill_plan_validation_step(p, mode);
    int64_t rto = -1;
    if (v >= 0 && r->steps[v].finished && r->steps[v].result &&
        strcmp(r->steps[v].result, "ok") == 0)
        rto = drill_rto_ms(start, r->steps[v].ended_ms);
    json_t *jrto = json_object();
    json_object_set_new(jrto, "target_s", run->rto_target_ms ? secs(run->rto_target_ms) : json_null());
    json_object_set_new(jrto, "actual_s", secs(rto));
    json_object_set_new(jrto, "met", met(drill_target_met(rto, run->rto_target_ms)));
    json_object_set_new(jrto, "until_step", v >= 0 ? json_string(p->steps[v].name) : json_null());
    json_object_set_new(o, "rto", jrto);

    /* RPO per host: start minus the recovery point */
    json_t *jrpo = json_object(), *hosts = json_array();
    json_object_set_new(jrpo, "target_s", run->rpo_target_ms ? secs(run->rpo_target_ms) : json_null());
    for (size_t i = 0; i < p->n_hosts; i++) {
        const drill_host_state *h = &r->hosts[i];
        int64_t rpo = drill_rpo_ms(start, h->snapshot_ms);
        json_t *jh = json_object();
        json_object_set_new(jh, "host", json_string(p->hosts[i].alias));
        json_object_set_new(jh, "console_host", str_or_null(h->console_name));
        json_object_set_new(jh, "console_id", str_or_null(h->console_id));
        json_object_set_new(jh, "snapshot_id", str_or_null(h->snapshot_id));
        json_object_set_new(jh, "recovery_point", iso(h->snapshot_ms));
        json_object_set_new(jh, "achieved_s", secs(rpo));
        json_object_set_new(jh, "met", met(drill_target_met(rpo, run->rpo_target_ms)));
        json_object_set_new(jh, "booted", json_boolean(h->booted));
        json_object_set_new(jh, "instance_id", str_or_null(h->instance_id));
        json_array_append_new(hosts, jh);
    }
    json_object_set_new(jrpo, "hosts", hosts);
    json_object_set_new(o, "rpo", jrpo);

    json_t *steps = json_array();
    for (size_t i = 0; i < p->n_steps; i++) {
        const drill_step *ps = &p->steps[i];
        const drill_step_state *s = &r->steps[i];
        json_t *js = json_object();
        json_object_set_new(js, "name", json_string(ps->name));
        json_object_set_new(js, "stage", json_string(ps->stage));
        json_object_set_new(js, "type", json_string(drill_step_type_name(ps->type)));
        const char *result = s->finished && s->result ? s->result
                           : s->started ? "in progress" : "not run";
        json_object_set_new(js, "result", json_string(result));
        json_object_set_new(js, "reason", str_or_null(s->skip_reason));
        json_object_set_new(js, "attempts", json_integer(s->attempts));
        json_object_set_new(js, "started_at", iso(s->started_ms));
        json_object_set_new(js, "ended_at", iso(s->finished ? s->ended_ms : 0));
        json_object_set_new(js, "duration_s",
                            s->started_ms && s->finished && s->ended_ms
                                ? secs(s->ended_ms - s->started_ms) : json_null());
        json_object_set_new(js, "error", str_or_null(s->error));
        json_array_append_new(steps, js);
    }
    json_object_set_new(o, "steps", steps);
    json_object_set_new(o, "answers", json_deep_copy(r->answers));
    json_object_set_new(o, "failures", json_deep_copy(r->failures));

    /* cleanup: the cleanup steps of this mode */
    json_t *jc = json_object(), *chosts = json_array();
    const char *cres = "none";
    bool any = false, all_done = true, failed = false;
    for (size_t i = 0; i < p->n_steps; i++) {
        const drill_step *ps = &p->steps[i];
        if (ps->type != DRILL_STEP_CLEANUP || !ps->enabled || !(ps->modes & mode)) continue;
        any = true;
        const drill_step_state *s = &r->steps[i];
        if (!s->finished) all_done = false;
        else if (!s->result || strcmp(s->result, "ok") != 0) failed = true;
    }
    if (any) cres = failed ? "failed" : all_done ? "done" : "not run";
    for (size_t i = 0; any && i < p->n_hosts; i++) {
        const drill_host_state *h = &r->hosts[i];
        if (!h->clean_accepted && !h->cleaned && !h->clean_failed && !h->clean_open) continue;
        json_t *jh = json_object();
        json_object_set_new(jh, "host", json_string(p->hosts[i].alias));
        json_object_set_new(jh, "cleaned", json_boolean(h->cleaned));
        json_object_set_new(jh, "error", str_or_null(h->cleaned ? NULL : h->clean_error));
        json_array_append_new(chosts, jh);
    }
    json_object_set_new(jc, "result", json_string(cres));
    json_object_set_new(jc, "hosts", chosts);
    json_object_set_new(o, "cleanup", jc);
    json_object_set_new(o, "prechecks", json_deep_copy(r->prechecks));
    return o;
}

/* --- HTML ---------------------------------------------------------------------------------- */

static void esc(strbuf *sb, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_adds(sb, "&amp;"); break;
        case '<': sb_adds(sb, "&lt;"); break;
        case '>': sb_adds(sb, "&gt;"); break;
        case '"': sb_adds(sb, "&quot;"); break;
        case '\'': sb_adds(sb, "&#39;"); break;
        default: sb_addc(sb, *s);
        }
    }
}

/* A JSON value as text for a cell. */
static void cell(strbuf *sb, const json_t *v)
{
    sb_adds(sb, "<td>");
    if (json_is_string(v)) esc(sb, json_string_value(v));
    else if (json_is_integer(v)) sb_addf(sb, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        char d[32];
        hm_format_duration((int64_t)(json_real_value(v) * 1000.0), d, sizeof d);
        esc(sb, d);
    } else if (json_is_true(v)) sb_adds(sb, "yes");
    else if (json_is_false(v)) sb_adds(sb, "no");
    else sb_adds(sb, "-");
    sb_adds(sb, "</td>");
}

static void table(strbuf *sb, const char *title, const json_t *arr, const char *const *cols,
                  const char *const *heads, size_t n)
{
    sb_adds(sb, "<h2>");
    esc(sb, title);
    sb_adds(sb, "</h2>\n");
    if (!json_array_size(arr)) {
        sb_adds(sb, "<p>none</p>\n");
        return;
    }
    sb_adds(sb, "<table>\n<tr>");
    for (size_t c = 0; c < n; c++) {
        sb_adds(sb, "<th>");
        esc(sb, heads[c]);
        sb_adds(sb, "</th>");
    }
    sb_adds(sb, "</tr>\n");
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row) {
        sb_adds(sb, "<tr>");
        for (size_t c = 0; c < n; c++) cell(sb, json_object_get(row, cols[c]));
        sb_adds(sb, "</tr>\n");
    }
    sb_adds(sb, "</table>\n");
}

static void kv_row(strbuf *sb, const char *k, const json_t *v)
{
    sb_adds(sb, "<tr><th>");
    esc(sb, k);
    sb_adds(sb, "</th>");
    cell(sb, v);
    sb_adds(sb, "</tr>\n");
}

char *drill_report_html(const json_t *rep)
{
    strbuf sb = {0};
    const char *plan = json_string_value(json_object_get(rep, "plan"));
    const char *mode = json_string_value(json_object_get(rep, "mode"));
    sb_adds(&sb, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    sb_addf(&sb, "Run %lld: ", (long long)json_integer_value(json_object_get(rep, "run")));
    esc(&sb, mode);
    sb_adds(&sb, " of ");
    esc(&sb, plan);
    sb_adds(&sb, "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
                 "collapse;margin-bottom:1em}th,td{border:1px solid #bbb;padding:.2em .6em;"
                 "text-align:left}th{background:#eee}</style></head><body>\n<h1>");
    sb_addf(&sb, "Run %lld: ", (long long)json_integer_value(json_object_get(rep, "run")));
    esc(&sb, mode);
    sb_adds(&sb, " of plan ");
    esc(&sb, plan);
    sb_adds(&sb, "</h1>\n<table>\n");
    static const char *const top[] = {"description", "state", "operator", "console", "started_at",
                                      "ended_at", "duration_s", "resumes"};
    for (size_t i = 0; i < HM_ARRAY_LEN(top); i++) kv_row(&sb, top[i], json_object_get(rep, top[i]));
    const json_t *rto = json_object_get(rep, "rto");
    kv_row(&sb, "RTO target", json_object_get(rto, "target_s"));
    kv_row(&sb, "RTO actual", json_object_get(rto, "actual_s"));
    kv_row(&sb, "RTO met", json_object_get(rto, "met"));
    kv_row(&sb, "RTO ends with step", json_object_get(rto, "until_step"));
    const json_t *rpo = json_object_get(rep, "rpo");
    kv_row(&sb, "RPO target", json_object_get(rpo, "target_s"));
    kv_row(&sb, "cleanup", json_object_get(json_object_get(rep, "cleanup"), "result"));
    sb_adds(&sb, "</table>\n");
    static const char *const hc[] = {"host", "console_host", "snapshot_id", "recovery_point",
                                     "achieved_s", "met", "booted", "instance_id"};
    static const char *const hh[] = {"host", "console host", "snapshot", "recovery point",
                                     "achieved RPO", "met", "booted", "instance"};
    table(&sb, "Recovery point per host", json_object_get(rpo, "hosts"), hc, hh, HM_ARRAY_LEN(hc));
    static const char *const sc[] = {"stage", "name", "type", "result", "reason", "attempts",
                                     "started_at", "duration_s", "error"};
    static const char *const sh[] = {"stage", "step", "type", "result", "reason", "attempts",
                                     "started", "duration", "error"};
    table(&sb, "Steps", json_object_get(rep, "steps"), sc, sh, HM_ARRAY_LEN(sc));
    static const char *const ac[] = {"step", "question", "answer", "who", "comment", "at"};
    table(&sb, "Answers", json_object_get(rep, "answers"), ac, ac, HM_ARRAY_LEN(ac));
    static const char *const fc[] = {"step", "attempt", "host", "error", "at"};
    table(&sb, "Failures", json_object_get(rep, "failures"), fc, fc, HM_ARRAY_LEN(fc));
    static const char *const cc[] = {"host", "cleaned", "error"};
    table(&sb, "Cleanup", json_object_get(json_object_get(rep, "cleanup"), "hosts"), cc, cc,
          HM_ARRAY_LEN(cc));
    static const char *const pc[] = {"status", "item", "detail"};
    table(&sb, "Pre-checks", json_object_get(rep, "prechecks"), pc, pc, HM_ARRAY_LEN(pc));
    sb_adds(&sb, "</body></html>\n");
    return sb_detach(&sb);
}

static int write_atomic(const char *path, const char *text, hm_err *e)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        hm_err_set(e, "cannot write '%s': %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            hm_err_set(e, "cannot write '%s': %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        hm_err_set(e, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

char *drill_report_dir(const char *store_path)
{
    const char *slash = strrchr(store_path, '/');
    if (!slash) return xstrdup("runs");
    return xasprintf("%.*s/runs", (int)(slash - store_path), store_path);
}

int drill_report_write(const char *dir, int64_t run_id, const json_t *report, char **json_path,
                       char **html_path, hm_err *e)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return hm_err_set(e, "cannot create '%s': %s", dir, strerror(errno));
    char *jp = xasprintf("%s/run-%lld.json", dir, (long long)run_id);
    char *hp = xasprintf("%s/run-%lld.html", dir, (long long)run_id);
    char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    strbuf sb = {0};
    sb_adds(&sb, text);
    sb_addc(&sb, '\n');
    free(text);
    char *html = drill_report_html(report);
    int rc = write_atomic(jp, sb_str(&sb), e);
    if (rc == 0) rc = write_atomic(hp, html, e);
    sb_free(&sb);
    free(html);
    if (rc == 0 && json_path) *json_path = jp;
    else free(jp);
    if (rc == 0 && html_path) *html_path = hp;
    else free(hp);
    return rc;
}

json_t *drill_report_load(hm_store *st, int64_t run_id, drill_run_info *run_out, hm_err *e)
{
    drill_run_info run = {0};
    int g = drill_run_get(st, run_id, &run, e);
    if (g <= 0) {
        if (g == 0) hm_err_set(e, "no run %lld (see 'hmctl runs')", (long long)run_id);
        return NULL;
    }
    strvec errors = {0};
    drill_plan *p = NULL;
    json_t *rep = NULL;
    if (drill_plan_parse(run.plan_file, run.plan_text ? run.plan_text : "", &p, &errors) < 0) {
        hm_err_set(e, "run %lld: its stored plan does not parse: %s", (long long)run_id,
                   errors.n ? errors.v[0] : "?");
    } else {
        drill_entry *en = NULL;
        size_t n = 0;
        if (drill_journal_read(st, run_id, &en, &n, e) == 0) {
            drill_replay rp;
            drill_replay_build(p, en, n, &rp);
            rep = drill_report_json(&run, p, &rp, hm_now_ms());
            drill_replay_free(&rp);
        }
        drill_entries_free(en, n);
    }
    sv_free(&errors);
    drill_plan_free(p);
    if (rep && run_out) *run_out = run;
    else drill_run_info_clear(&run);
    return rep;
}
