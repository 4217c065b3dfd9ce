/* `hmctl alerts test FILE`: rule unit tests in the spirit of `promtool test rules`. The file's
 * [rule], [alerts] and [channel] sections are configuration (hmctl.conf(5) keys); its [test]
 * sections hold input series, events and expected alerts at evaluation times. Every evaluation
 * is alerts_evaluate on an in-memory store, the same path `hmctl check` takes. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts-int.h"

/* Tests start at 2026-01-01T00:00:00Z; times in the file are offsets from it. */
static const int64_t BASE_MS = 1767225600000LL;

typedef struct tseries {
    char *name;
    int line;
    double *v;   /* NAN: no sample */
    size_t n, cap;
} tseries;

typedef struct tcheck {
    int line;
    int64_t at_ms;
    bool pending; /* pending alerts instead of firing ones */
    strvec expected; /* normalised "rule{labels}", sorted */
} tcheck;

typedef struct ttest {
    char *name;
    int line;
    int64_t interval_ms, eval_interval_ms;
    tseries *series;
    size_t n_series;
    alert_events events;
    tcheck *checks;
    size_t n_checks;
} ttest;

typedef struct tfile {
    ttest *tests;
    size_t n_tests;
    bool has_rules;
    strbuf conf; /* the configuration lines, others blanked, so errors keep their line */
} tfile;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void push_value(tseries *s, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = xrealloc(s->v, s->cap * sizeof(double));
    }
    s->v[s->n++] = v;
}

/* promtool's expanding notation: `a`, `_` (no sample), `stale`, `axn` (n+1 times a),
 * `a+bxn` / `a-bxn` (a, a+b, ..., a+n*b), `_xn` (n times no sample). */
static int parse_values(tseries *s, const char *text, hm_err *e)
{
    char *copy = xstrdup(text);
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        char *x = strrchr(tok, 'x');
        long count = -1;
        if (x) {
            char *end;
            errno = 0;
            count = strtol(x + 1, &end, 10);
            if (errno || *end || end == x + 1 || count < 0 || count > 1000000) {
                rc = hm_err_set(e, "invalid value '%s' (expected a, _, axn, a+bxn or a-bxn)", tok);
                break;
            }
            *x = '\0';
        }
        if (strcmp(tok, "_") == 0 || strcmp(tok, "stale") == 0) {
            long k = count < 0 ? 1 : count;
            for (long i = 0; i < k; i++) push_value(s, NAN);
            continue;
        }
        char *end;
        double a = strtod(tok, &end), b = 0;
        if (end == tok) {
            rc = hm_err_set(e, "invalid value '%s' (expected a, _, axn, a+bxn or a-bxn)", tok);
            break;
        }
        if (*end == '+' || *end == '-') {
            if (count < 0) {
                rc = hm_err_set(e, "invalid value '%s': a+b needs xN after it", tok);
                break;
            }
            char *end2;
            b = strtod(end, &end2);
            if (end2 == end || *end2) {
                rc = hm_err_set(e, "invalid value '%s'", tok);
                break;
            }
        } else if (*end) {
            rc = hm_err_set(e, "invalid value '%s'", tok);
            break;
        }
        if (count < 0) {
            push_value(s, a);
        } else {
            for (long i = 0; i <= count; i++) push_value(s, a + b * (double)i);
        }
    }
    free(copy);
    return rc;
}

/* Splits "a{x=\"1,2\"}, b" at commas outside braces and quotes. */
static void split_alerts(const char *text, strvec *out)
{
    strbuf cur = {0};
    int depth = 0;
    bool quoted = false;
    for (const char *p = text;; p++) {
        if (*p == '\0' || (*p == ',' && depth == 0 && !quoted)) {
            char *item = hm_strip(sb_detach(&cur));
            if (*item) sv_push_owned(out, item);
            else free(item);
            if (!*p) break;
            continue;
        }
        if (*p == '"' && (p == text || p[-1] != '\\')) quoted = !quoted;
        else if (!quoted && *p == '{') depth++;
        else if (!quoted && *p == '}') depth--;
        sb_addc(&cur, *p);
    }
    sb_free(&cur);
}

/* "rule{b=\"2\", a=\"1\"}" -> "rule{a=\"1\",b=\"2\"}" */
static char *normalise_alert(const char *text, hm_err *e)
{
    char *name = NULL;
    alert_labels l = {0};
    char *compact = xstrdup(text);
    /* drop blanks outside quotes so "a = \"x\"" parses like a series name */
    char *w = compact;
    bool quoted = false;
    for (const char *p = text; *p; p++) {
        if (*p == '"' && (p == text || p[-1] != '\\')) quoted = !quoted;
        if (!quoted && isspace((unsigned char)*p)) continue;
        *w++ = *p;
    }
    *w = '\0';
    if (alert_labels_parse_series(compact, &name, &l) < 0 || !*name) {
        free(name);
        free(compact);
        hm_err_set(e, "invalid alert '%s' (expected RULE or RULE{label=\"value\", ...})", text);
        return NULL;
    }
    char *f = alert_labels_format(&l);
    char *out = xasprintf("%s%s", name, f);
    free(f);
    free(name);
    free(compact);
    alert_labels_free(&l);
    return out;
}

static void test_free(ttest *t)
{
    free(t->name);
    for (size_t i = 0; i < t->n_series; i++) {
        free(t->series[i].name);
        free(t->series[i].v);
    }
    free(t->series);
    alert_events_free(&t->events);
    for (size_t i = 0; i < t->n_checks; i++) sv_free(&t->checks[i].expected);
    free(t->checks);
}

static void file_free(tfile *f)
{
    for (size_t i = 0; i < f->n_tests; i++) test_free(&f->tests[i]);
    free(f->tests);
    sb_free(&f->conf);
}

static int parse_time(const char *s, int64_t *ms)
{
    return hm_parse_duration(s, ms);
}

/* One line of a [test] section. */
static int parse_line(ttest *t, const char *kw, char *rest, int lineno, const char *path,
                      hm_err *e);

static int parse_test_line(ttest *t, char *line, int lineno, const char *path, hm_err *e)
{
    size_t kwlen = strcspn(line, " \t=");
    char *kw = xstrndup(line, kwlen);
    int rc = parse_line(t, kw, line + kwlen, lineno, path, e);
    free(kw);
    return rc;
}

static int parse_line(ttest *t, const char *kw, char *rest, int lineno, const char *path,
                      hm_err *e)
{
    /* the value is after the first '=' outside braces and quotes */
    char *eq = NULL;
    int depth = 0;
    bool quoted = false;
    for (char *p = rest; *p; p++) {
        if (*p == '"' && (p == rest || p[-1] != '\\')) quoted = !quoted;
        else if (!quoted && *p == '{') depth++;
        else if (!quoted && *p == '}') depth--;
        else if (!quoted && depth == 0 && *p == '=') {
            eq = p;
            break;
        }
    }
    if (!eq) return hm_err_set(e, "%s:%d: expected 'KEY = VALUE'", path, lineno);
    *eq = '\0';
    char *arg = hm_strip(rest);
    char *value = hm_strip(eq + 1);
    hm_err ve = {{0}};
    if (strcmp(kw, "interval") == 0 || strcmp(kw, "evaluation_interval") == 0) {
        int64_t ms;
        if (*arg || hm_parse_duration(value, &ms) < 0 || ms <= 0)
            return hm_err_set(e, "%s:%d: invalid duration '%s' for '%s'", path, lineno, value, kw);
        if (kw[0] == 'i') t->interval_ms = ms;
        else t->eval_interval_ms = ms;
        return 0;
    }
    if (strcmp(kw, "series") == 0) {
        if (!*arg) return hm_err_set(e, "%s:%d: 'series' needs a name: series NAME = VALUES", path,
                                     lineno);
        char *metric = NULL;
        alert_labels l = {0};
        if (alert_labels_parse_series(arg, &metric, &l) < 0) {
            free(metric);
            return hm_err_set(e, "%s:%d: invalid series name '%s' (metric{label=\"value\",...})",
                              path, lineno, arg);
        }
        /* canonical form, labels sorted, as collectors store it */
        char *f = alert_labels_format(&l);
        tseries s = {.name = xasprintf("%s%s", metric, f), .line = lineno};
        free(f);
        free(metric);
        alert_labels_free(&l);
        if (parse_values(&s, value, &ve) < 0) {
            free(s.name);
            free(s.v);
            return hm_err_set(e, "%s:%d: %s", path, lineno, ve.msg);
        }
        t->series = xrealloc(t->series, (t->n_series + 1) * sizeof(tseries));
        t->series[t->n_series++] = s;
        return 0;
    }
    if (strcmp(kw, "event") == 0) {
        int64_t at;
        if (parse_time(arg, &at) < 0)
            return hm_err_set(e, "%s:%d: invalid time '%s' (e.g. 0, 90s, 5m)", path, lineno, arg);
        char *copy = xstrdup(value);
        char *save = NULL;
        char *type = strtok_r(copy, " \t", &save);
        char *host = NULL, *detail = NULL;
        for (char *tok = strtok_r(NULL, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            if (hm_starts_with(tok, "host=")) {
                host = tok + 5;
            } else {
                /* the rest of the line is the detail */
                size_t off = (size_t)(tok - copy);
                detail = value + off;
                break;
            }
        }
        if (!type || !alerts_event_known(type)) {
            int rc = hm_err_set(e, "%s:%d: unknown event type '%s'", path, lineno,
                                type ? type : "");
            free(copy);
            return rc;
        }
        alert_events_add(&t->events, 0, BASE_MS + at, type, NULL, host, detail);
        free(copy);
        return 0;
    }
    if (strcmp(kw, "firing") == 0 || strcmp(kw, "pending") == 0) {
        tcheck c = {.line = lineno, .pending = kw[0] == 'p'};
        if (parse_time(arg, &c.at_ms) < 0)
            return hm_err_set(e, "%s:%d: invalid time '%s' (e.g. 0, 90s, 5m)", path, lineno, arg);
        strvec items = {0};
        split_alerts(value, &items);
        for (size_t i = 0; i < items.n; i++) {
            char *norm = normalise_alert(items.v[i], &ve);
            if (!norm) {
                sv_free(&items);
                sv_free(&c.expected);
                return hm_err_set(e, "%s:%d: %s", path, lineno, ve.msg);
            }
            sv_push_owned(&c.expected, norm);
        }
        sv_free(&items);
        if (c.expected.n) qsort(c.expected.v, c.expected.n, sizeof(char *), cmp_str);
        t->checks = xrealloc(t->checks, (t->n_checks + 1) * sizeof(tcheck));
        t->checks[t->n_checks++] = c;
        return 0;
    }
    return hm_err_set(e, "%s:%d: unknown key '%s' in a [test] section (interval, "
                      "evaluation_interval, series, event, firing, pending)", path, lineno, kw);
}

static int parse_file(const char *path, const char *text, tfile *f, hm_err *e)
{
    int lineno = 0;
    ttest *cur = NULL;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = xstrndup(p, len);
        p += len + (nl ? 1 : 0);
        lineno++;
        char *s = hm_strip(line);
        if (*s == '[') {
            cur = NULL;
            if (hm_starts_with(s, "[test")) {
                char *q1 = strchr(s, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
                if (!q1 || !q2 || q2[1] != ']') {
                    free(line);
                    return hm_err_set(e, "%s:%d: malformed section header (use [test \"NAME\"])",
                                      path, lineno);
                }
                f->tests = xrealloc(f->tests, (f->n_tests + 1) * sizeof(ttest));
                cur = &f->tests[f->n_tests++];
                memset(cur, 0, sizeof *cur);
                cur->name = xstrndup(q1 + 1, (size_t)(q2 - q1 - 1));
                cur->line = lineno;
                cur->interval_ms = 60000;
                cur->eval_interval_ms = 60000;
                sb_addc(&f->conf, '\n');
            } else {
                if (hm_starts_with(s, "[rule")) f->has_rules = true;
                sb_adds(&f->conf, s);
                sb_addc(&f->conf, '\n');
            }
        } else if (cur) {
            sb_addc(&f->conf, '\n');
            if (*s && *s != ';' && *s != '#') {
                int rc = parse_test_line(cur, s, lineno, path, e);
                if (rc < 0) {
                    free(line);
                    return -1;
                }
            }
        } else {
            sb_adds(&f->conf, s);
            sb_addc(&f->conf, '\n');
        }
        free(line);
    }
    if (f->n_tests == 0)
        return hm_err_set(e, "%s: no [test \"NAME\"] section: nothing to test", path);
    return 0;
}

/* Events visible at now: ts <= now, with id > after (ids follow time order). */
struct evsrc {
    const ttest *t;
    int64_t now;
};

static int visible_events(void *ud, int64_t after_id, alert_events *out, hm_err *e)
{
    (void)e;
    const struct evsrc *s = ud;
    for (size_t i = 0; i < s->t->events.n; i++) {
        const alert_event *x = &s->t->events.v[i];
        if (x->id > after_id && x->ts_ms <= s->now)
            alert_events_add(out, x->id, x->ts_ms, x->type, x->result, x->host, x->detail);
    }
    return 0;
}

static int cmp_event(const void *a, const void *b)
{
    const alert_event *x = a, *y = b;
    return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

/* The alerts in `state`, as "rule{labels}" sorted: series labels for resource alerts, the host
 * for event alerts. */
static int current_alerts(hm_store *st, const char *state, strvec *out, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), "SELECT rule, subject, kind, labels FROM alert_state"
                           " WHERE state = ?", -1, &q, NULL) != SQLITE_OK)
        return alerts_db_err(st, e, "cannot read alerts");
    sqlite3_bind_text(q, 1, state, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *rule = (const char *)sqlite3_column_text(q, 0);
        const char *subject = (const char *)sqlite3_column_text(q, 1);
        const char *kind = (const char *)sqlite3_column_text(q, 2);
        alert_labels l = {0};
        if (strcmp(kind, "resource") == 0) {
            alert_labels_parse_series(subject, NULL, &l);
        } else {
            json_t *j = json_loads((const char *)sqlite3_column_text(q, 3), 0, NULL);
            alert_labels all = {0};
            alert_labels_from_json(j, &all);
            json_decref(j);
            const char *h = alert_labels_get(&all, "host");
            if (h) alert_labels_set(&l, "host", h);
            alert_labels_free(&all);
        }
        char *f = alert_labels_format(&l);
        sv_push_owned(out, xasprintf("%s%s", rule, f));
        free(f);
        alert_labels_free(&l);
    }
    sqlite3_finalize(q);
    if (out->n) qsort(out->v, out->n, sizeof(char *), cmp_str);
    return 0;
}

static char *join(const strvec *v)
{
    if (v->n == 0) return xstrdup("(none)");
    strbuf sb = {0};
    for (size_t i = 0; i < v->n; i++) sb_addf(&sb, "%s%s", i ? ", " : "", v->v[i]);
    return sb_detach(&sb);
}

static bool same(const strvec *a, const strvec *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0) return false;
    return true;
}

/* Runs one test; returns the number of failed checks, or -1 with e set. */
static int run_test(const char *path, ttest *t, const alert_conf *ac, FILE *out, int *checks,
                    hm_err *e)
{
    hm_store *st;
    if (store_open(":memory:", 0, &st, e) < 0) return -1;
    int failed = 0;
    /* the samples, all at once: an evaluation only sees those at or before its time */
    size_t total = 0;
    for (size_t i = 0; i < t->n_series; i++) total += t->series[i].n;
    hm_sample *samples = xcalloc(total + 1, sizeof(hm_sample));
    size_t k = 0;
    for (size_t i = 0; i < t->n_series; i++)
        for (size_t j = 0; j < t->series[i].n; j++) {
            if (isnan(t->series[i].v[j])) continue;
            samples[k++] = (hm_sample){t->series[i].name, t->series[i].v[j], "",
                                       BASE_MS + (int64_t)j * t->interval_ms};
        }
    int rc = store_append(st, samples, k, e);
    free(samples);
    if (rc < 0) goto out;
    if (t->events.n) qsort(t->events.v, t->events.n, sizeof(alert_event), cmp_event);
    for (size_t i = 0; i < t->events.n; i++) t->events.v[i].id = (int64_t)i + 1;
    int64_t last = 0;
    for (size_t i = 0; i < t->n_checks; i++)
        if (t->checks[i].at_ms > last) last = t->checks[i].at_ms;
    struct evsrc src = {t, 0};
    alert_event_source es = {visible_events, &src};
    /* evaluate at 0, ei, 2ei ...; a check at T sees the state after the last evaluation <= T */
    int64_t step = t->eval_interval_ms;
    for (int64_t at = 0; at <= last; at += step) {
        src.now = BASE_MS + at;
        if (alerts_evaluate(st, ac, &es, BASE_MS + at, NULL, e) < 0) {
            rc = -1;
            goto out;
        }
        for (size_t i = 0; i < t->n_checks; i++) {
            tcheck *c = &t->checks[i];
            if (!(c->at_ms >= at && c->at_ms < at + step)) continue;
            strvec got = {0};
            if (current_alerts(st, c->pending ? "pending" : "firing", &got, e) < 0) {
                sv_free(&got);
                rc = -1;
                goto out;
            }
            (*checks)++;
            if (!same(&got, &c->expected)) {
                char when[32];
                hm_format_duration(c->at_ms, when, sizeof when);
                char *x = join(&c->expected), *g = join(&got);
                fprintf(out, "%s:%d: test \"%s\": %s alerts at %s differ\n  expected: %s\n"
                             "  got:      %s\n",
                        path, c->line, t->name, c->pending ? "pending" : "firing",
                        c->at_ms ? when : "0", x, g);
                free(x);
                free(g);
                failed++;
            }
            sv_free(&got);
        }
    }
    rc = 0;
out:
    store_close(st);
    return rc < 0 ? -1 : failed;
}

int alerts_test_file(const char *path, const hm_config *cfg, FILE *out, hm_err *e)
{
    char *text = hm_read_file(path, NULL, e);
    if (!text) return -1;
    tfile f = {0};
    int rc = -1;
    hm_config *own = NULL;
    alert_conf *ac = NULL;
    if (parse_file(path, text, &f, e) < 0) goto out;
    const hm_config *use = cfg;
    if (f.has_rules) {
        /* the file's rules alone: the shipped defaults only when the file asks for them */
        own = config_new();
        config_parse_text(own, "<defaults>", "[alerts]\ndefaults = no\n", 0600);
        config_parse_text(own, path, sb_str(&f.conf), 0600);
        use = own;
    }
    strvec errors = {0};
    if (own) {
        for (size_t i = 0; i < own->errors.n; i++) sv_push(&errors, own->errors.v[i]);
    }
    ac = alerts_conf_load(use, &errors);
    if (errors.n) {
        strbuf sb = {0};
        for (size_t i = 0; i < errors.n; i++) sb_addf(&sb, "%s%s", i ? "\n" : "", errors.v[i]);
        hm_err_set(e, "%s", sb_str(&sb));
        sb_free(&sb);
        sv_free(&errors);
        goto out;
    }
    sv_free(&errors);
    int checks = 0, failed = 0;
    for (size_t i = 0; i < f.n_tests; i++) {
        int fails = run_test(path, &f.tests[i], ac, out, &checks, e);
        if (fails < 0) goto out;
        failed += fails;
    }
    fprintf(out, "%s: %zu test%s, %d check%s, %d failed\n", path, f.n_tests,
            f.n_tests == 1 ? "" : "s", checks, checks == 1 ? "" : "s", failed);
    rc = failed ? 1 : 0;
out:
    alerts_conf_free(ac);
    config_free(own);
    file_free(&f);
    free(text);
    return rc;
}
