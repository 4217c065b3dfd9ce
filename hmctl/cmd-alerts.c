/* hmctl alerts list|history|ack|silence|unsilence|rules|test|test-channel */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"

enum { OPT_JSON = 'j', OPT_SINCE = 's', OPT_LIMIT = 'n', OPT_COMMENT = 'm', OPT_MATCH = 256,
       OPT_FOR };

static const struct hm_opt no_opts[] = {{0}};
static const struct hm_opt json_opts[] = {
    {"json", OPT_JSON, NULL, "print JSON", NULL},
    {0},
};
static const struct hm_opt history_opts[] = {
    {"since", OPT_SINCE, "DURATION", "how far back (default 7d)", NULL},
    {"limit", OPT_LIMIT, "N", "at most N entries, newest first (default 100; 0: all)", NULL},
    {"json", OPT_JSON, NULL, "print JSON", NULL},
    {0},
};
static const struct hm_opt ack_opts[] = {
    {"comment", OPT_COMMENT, "TEXT", "the handling note: cause, steps taken, result", NULL},
    {"json", OPT_JSON, NULL, "print the acknowledged alert as JSON", NULL},
    {0},
};
static const struct hm_opt silence_opts[] = {
    {"match", OPT_MATCH, "LABEL=VALUE", "silence alerts with this label (repeatable; also !=, =~, !~)",
     NULL},
    {"for", OPT_FOR, "DURATION", "how long (default 2h)", NULL},
    {"comment", OPT_COMMENT, "TEXT", "why", NULL},
    {"json", OPT_JSON, NULL, "print JSON", NULL},
    {0},
};

/* Parses options common to the subcommands; returns -1 to go on, else an exit status. */
typedef struct opts {
    bool json;
    const char *since, *limit, *comment, *duration;
    strvec match;
} opts;

/* Whether --NAME or -C of the command takes an argument in the next word. */
static bool takes_arg(const struct hm_cmd *cmd, const char *word)
{
    if (strchr(word, '=')) return false;
    for (const struct hm_opt *o = cmd->opts; o && o->name; o++) {
        if (!o->arg) continue;
        if (word[1] == '-' && strcmp(word + 2, o->name) == 0) return true;
        if (word[1] != '-' && o->id < 256 && word[1] == o->id && !word[2]) return true;
    }
    return false;
}

/* Moves the positional arguments after the options, in place and in order, so that
 * `ack ID --comment TEXT` parses like `ack --comment TEXT ID` (the option parser stops at the
 * first positional, which subcommand dispatch needs). "--" ends the options. */
static void options_first(const struct hm_cmd *cmd, int argc, char **argv)
{
    int w = 1;
    int end = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            end = i;
            break;
        }
    }
    char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
    int np = 0;
    for (int i = 1; i < end; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            argv[w++] = argv[i];
            if (takes_arg(cmd, argv[i]) && i + 1 < end) argv[w++] = argv[++i];
        } else {
            pos[np++] = argv[i];
        }
    }
    if (end < argc) {
        /* "--" then everything after it stays positional */
        argv[w++] = argv[end];
        for (int i = 0; i < np; i++) argv[w++] = pos[i];
        for (int i = end + 1; i < argc; i++) argv[w++] = argv[i];
    } else {
        for (int i = 0; i < np; i++) argv[w++] = pos[i];
    }
    free(pos);
}

static int parse(hm_ctx *ctx, int argc, char **argv, opts *o, hm_optparse *op)
{
    memset(o, 0, sizeof *o);
    options_first(ctx->cmd, argc, argv);
    hm_opt_init(op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(op)) != -1;) {
        switch (c) {
        case OPT_JSON: o->json = true; break;
        case OPT_SINCE: o->since = op->arg; break;
        case OPT_LIMIT: o->limit = op->arg; break;
        case OPT_COMMENT: o->comment = op->arg; break;
        case OPT_FOR: o->duration = op->arg; break;
        case OPT_MATCH: sv_push(&o->match, op->arg); break;
        default: sv_free(&o->match); return op->status;
        }
    }
    return -1;
}

static int open_store(hm_ctx *ctx, hm_config **cfg, hm_store **st)
{
    *cfg = hm_ctx_config(ctx);
    if (!*cfg) return 1;
    hm_err e = {{0}};
    if (store_open_config(*cfg, 0, st, &e) < 0) return hm_error("%s", e.msg);
    return 0;
}

static int parse_id(hm_ctx *ctx, const char *s, int64_t *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) return hm_usage_error(ctx, "invalid id '%s'", s);
    *id = v;
    return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static void ago(const char *iso, int64_t now, char *buf, size_t size)
{
    int64_t t;
    if (!iso || hm_parse_time(iso, &t) < 0) {
        snprintf(buf, size, "-");
        return;
    }
    char d[32];
    hm_format_duration(now - t > 0 ? now - t : 0, d, sizeof d);
    snprintf(buf, size, "%s ago", d);
}

static void value_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_number(v)) hm_format_value(json_number_value(v), buf, size);
    else snprintf(buf, size, "-");
}

static int run_list(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_config *cfg;
    hm_store *st;
    if ((rc = open_store(ctx, &cfg, &st))) return rc;
    json_t *arr;
    hm_err e = {{0}};
    int64_t now = hm_now_ms();
    if (alerts_list_json(st, now, &arr, &e) < 0) {
        store_close(st);
        return hm_error("%s", e.msg);
    }
    store_close(st);
    if (o.json) {
        hm_json_print(stdout, arr);
        return 0;
    }
    if (json_array_size(arr) == 0) {
        puts("no alerts firing or pending");
        json_decref(arr);
        return 0;
    }
    static const char *const hdr[] = {">ID", "STATE", "SEVERITY", "RULE", "HOST", "SINCE",
                                      ">VALUE", "SUMMARY"};
    hm_table *t = table_new(8, hdr);
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        char id[32], since[48], val[64], state[48];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(a, "id")));
        ago(json_string_value(json_object_get(a, "since")), now, since, sizeof since);
        value_text(json_object_get(a, "value"), val, sizeof val);
        snprintf(state, sizeof state, "%s%s%s", jstr(a, "state"),
                 json_is_true(json_object_get(a, "acknowledged")) ? ", acked" : "",
                 json_is_true(json_object_get(a, "silenced")) ? ", silenced" : "");
        const char *row[] = {id, state, jstr(a, "severity"), jstr(a, "rule"),
                             jstr(json_object_get(a, "labels"), "host"), since, val,
                             jstr(a, "summary")};
        table_add(t, row);
        enum hm_state s = strcmp(jstr(a, "state"), "firing") != 0 ? HM_WARNING
                          : strcmp(jstr(a, "severity"), "info") == 0 ? HM_OK
                          : strcmp(jstr(a, "severity"), "warning") == 0 ? HM_WARNING
                                                                        : HM_CRITICAL;
        table_color_last(t, 1, s);
    }
    table_print(t, stdout, ctx->color);
    table_free(t);
    json_decref(arr);
    return 0;
}

static int run_history(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    int64_t span = 7 * 86400000LL;
    if (o.since && hm_parse_duration(o.since, &span) < 0)
        return hm_usage_error(ctx, "invalid duration '%s' for --since (e.g. 30m, 24h, 7d)", o.since);
    long limit = 100;
    if (o.limit) {
        char *end;
        limit = strtol(o.limit, &end, 10);
        if (end == o.limit || *end || limit < 0)
            return hm_usage_error(ctx, "invalid number '%s' for --limit", o.limit);
    }
    hm_config *cfg;
    hm_store *st;
    if ((rc = open_store(ctx, &cfg, &st))) return rc;
    json_t *arr;
    hm_err e = {{0}};
    int64_t now = hm_now_ms();
    if (alerts_history_json(st, now - span, (int)limit, &arr, &e) < 0) {
        store_close(st);
        return hm_error("%s", e.msg);
    }
    store_close(st);
    if (o.json) {
        hm_json_print(stdout, arr);
        return 0;
    }
    if (json_array_size(arr) == 0) {
        puts("no alert history in that period");
        json_decref(arr);
        return 0;
    }
    static const char *const hdr[] = {"TIME", ">ALERT", "RULE", "EVENT", "HOST", ">VALUE",
                                      "NOTIFICATIONS"};
    hm_table *t = table_new(7, hdr);
    size_t i;
    json_t *h;
    json_array_foreach(arr, i, h)
    {
        char id[32], val[64];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(h, "alert")));
        value_text(json_object_get(h, "value"), val, sizeof val);
        strbuf n = {0};
        size_t k;
        json_t *x;
        json_array_foreach(json_object_get(h, "notifications"), k, x)
        {
            sb_addf(&n, "%s%s %s", k ? ", " : "", jstr(x, "channel"), jstr(x, "status"));
            const char *err = json_string_value(json_object_get(x, "error"));
            if (err && strcmp(jstr(x, "status"), "delivered") != 0) sb_addf(&n, " (%s)", err);
        }
        const char *detail = json_string_value(json_object_get(h, "detail"));
        if (detail && !n.len) sb_adds(&n, detail);
        const char *row[] = {jstr(h, "time"), id, jstr(h, "rule"), jstr(h, "event"),
                             jstr(json_object_get(h, "labels"), "host"), val,
                             n.len ? sb_str(&n) : "-"};
        table_add(t, row);
        sb_free(&n);
    }
    table_print(t, stdout, false);
    table_free(t);
    json_decref(arr);
    return 0;
}

static int run_ack(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc != 1) return hm_usage_error(ctx, "expected one alert ID");
    if (!o.comment || !*o.comment)
        return hm_usage_error(ctx, "--comment TEXT is required: record the cause, the steps "
                                   "taken and the result");
    int64_t id;
    if ((rc = parse_id(ctx, op.argv[0], &id))) return rc;
    hm_config *cfg;
    hm_store *st;
    if ((rc = open_store(ctx, &cfg, &st))) return rc;
    char *by = alerts_operator_name();
    hm_err e = {{0}};
    int64_t now = hm_now_ms();
    rc = alerts_ack(st, id, by, o.comment, now, &e);
    if (rc == 0) {
        if (o.json) {
            json_t *arr;
            if (alerts_list_json(st, now, &arr, &e) == 0) {
                size_t i;
                json_t *a;
                json_array_foreach(arr, i, a)
                {
                    if (json_integer_value(json_object_get(a, "id")) == id)
                        hm_json_print(stdout, json_incref(a));
                }
                json_decref(arr);
            }
        } else {
            printf("acknowledged alert %lld by %s\n", (long long)id, by);
        }
    }
    free(by);
    store_close(st);
    return rc == 0 ? 0 : hm_error("cannot acknowledge alert %lld: %s", (long long)id, e.msg);
}

static int list_silences(hm_store *st, bool json, int64_t now)
{
    json_t *arr;
    hm_err e = {{0}};
    if (alerts_silences_json(st, now, &arr, &e) < 0) return hm_error("%s", e.msg);
    if (json) {
        hm_json_print(stdout, arr);
        return 0;
    }
    if (json_array_size(arr) == 0) {
        puts("no active silences");
        json_decref(arr);
        return 0;
    }
    static const char *const hdr[] = {">ID", "MATCHERS", "ENDS", "BY", "COMMENT"};
    hm_table *t = table_new(5, hdr);
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
    {
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(s, "id")));
        strbuf m = {0};
        size_t k;
        json_t *x;
        json_array_foreach(json_object_get(s, "matchers"), k, x)
            sb_addf(&m, "%s%s", k ? ", " : "", json_string_value(x));
        const char *row[] = {id, sb_str(&m), jstr(s, "ends"), jstr(s, "by"), jstr(s, "comment")};
        table_add(t, row);
        sb_free(&m);
    }
    table_print(t, stdout, false);
    table_free(t);
    json_decref(arr);
    return 0;
}

static int run_silence(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc) {
        sv_free(&o.match);
        return hm_usage_error(ctx, "unexpected argument '%s' (matchers go after --match)",
                              op.argv[0]);
    }
    int64_t span = 2 * 3600000LL;
    if (o.duration && (hm_parse_duration(o.duration, &span) < 0 || span <= 0)) {
        sv_free(&o.match);
        return hm_usage_error(ctx, "invalid duration '%s' for --for (e.g. 30m, 2h, 1d)", o.duration);
    }
    if (o.match.n && (!o.comment || !*o.comment)) {
        sv_free(&o.match);
        return hm_usage_error(ctx, "--comment TEXT is required: say why");
    }
    hm_config *cfg;
    hm_store *st;
    if ((rc = open_store(ctx, &cfg, &st))) {
        sv_free(&o.match);
        return rc;
    }
    int64_t now = hm_now_ms();
    if (o.match.n == 0) {
        rc = list_silences(st, o.json, now);
        store_close(st);
        return rc;
    }
    char *by = alerts_operator_name();
    hm_err e = {{0}};
    int64_t id = 0;
    rc = alerts_silence_add(st, &o.match, span, by, o.comment, now, &id, &e);
    if (rc == 0) {
        char until[40];
        hm_format_time(now + span, until, sizeof until);
        if (o.json) {
            json_t *j = json_object();
            json_object_set_new(j, "id", json_integer(id));
            json_object_set_new(j, "ends", json_string(until));
            hm_json_print(stdout, j);
        } else {
            printf("silence %lld until %s\n", (long long)id, until);
        }
    }
    free(by);
    sv_free(&o.match);
    store_close(st);
    return rc == 0 ? 0 : hm_error("cannot add the silence: %s", e.msg);
}

static int run_unsilence(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc != 1) return hm_usage_error(ctx, "expected one silence ID");
    int64_t id;
    if ((rc = parse_id(ctx, op.argv[0], &id))) return rc;
    hm_config *cfg;
    hm_store *st;
    if ((rc = open_store(ctx, &cfg, &st))) return rc;
    hm_err e = {{0}};
    rc = alerts_silence_remove(st, id, hm_now_ms(), &e);
    store_close(st);
    if (rc < 0) return hm_error("cannot end silence %lld: %s", (long long)id, e.msg);
    if (o.json) {
        json_t *j = json_object();
        json_object_set_new(j, "id", json_integer(id));
        json_object_set_new(j, "ended", json_true());
        hm_json_print(stdout, j);
    } else {
        printf("silence %lld ended\n", (long long)id);
    }
    return 0;
}

/* Loads the rules and channels, printing their errors as warnings. */
static alert_conf *load_conf(hm_ctx *ctx, hm_config **cfg)
{
    *cfg = hm_ctx_config(ctx);
    if (!*cfg) return NULL;
    strvec errors = {0};
    alert_conf *ac = alerts_conf_load(*cfg, &errors);
    for (size_t i = 0; i < errors.n; i++) hm_warn("%s (left out)", errors.v[i]);
    sv_free(&errors);
    return ac;
}

static int run_rules(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_config *cfg;
    alert_conf *ac = load_conf(ctx, &cfg);
    if (!ac) return 1;
    json_t *arr = alerts_rules_json(ac);
    bool enabled = ac->enabled;
    alerts_conf_free(ac);
    if (o.json) {
        hm_json_print(stdout, arr);
        return 0;
    }
    static const char *const hdr[] = {"RULE", "CONDITION", "SEVERITY", "SCOPE", "CHANNELS",
                                      "ORIGIN"};
    hm_table *t = table_new(6, hdr);
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r)
    {
        strbuf ch = {0};
        size_t k;
        json_t *x;
        json_array_foreach(json_object_get(r, "channels"), k, x)
            sb_addf(&ch, "%s%s", k ? "," : "", json_string_value(x));
        char *name = xasprintf("%s%s", jstr(r, "name"),
                               json_is_true(json_object_get(r, "enabled")) ? "" : " (disabled)");
        const char *row[] = {name, jstr(r, "expr"), jstr(r, "severity"), jstr(r, "scope"),
                             ch.len ? sb_str(&ch) : "(none)", jstr(r, "origin")};
        table_add(t, row);
        free(name);
        sb_free(&ch);
    }
    table_print(t, stdout, false);
    table_free(t);
    if (!enabled) puts("\n[alerts] enabled = no: check evaluates none of them");
    json_decref(arr);
    return 0;
}

static int run_test(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc < 1) return hm_usage_error(ctx, "expected a rule test FILE");
    hm_config *cfg = NULL;
    bool need_cfg = false;
    /* the configuration is needed only by files without rules of their own; loading it
     * lazily keeps a test file usable on a machine without /etc/hmctl */
    for (int i = 0; i < op.argc && !need_cfg; i++) {
        char *text = hm_read_file(op.argv[i], NULL, NULL);
        if (text && !strstr(text, "[rule")) need_cfg = true;
        free(text);
    }
    if (need_cfg && !(cfg = hm_ctx_config(ctx))) return 1;
    int worst = 0;
    for (int i = 0; i < op.argc; i++) {
        hm_err e = {{0}};
        rc = alerts_test_file(op.argv[i], cfg, stdout, &e);
        if (rc < 0) {
            fflush(stdout);
            hm_error("%s", e.msg);
            worst = 1;
        } else if (rc > 0) {
            worst = 1;
        }
    }
    return worst;
}

static int run_test_channel(hm_ctx *ctx, int argc, char **argv)
{
    opts o;
    hm_optparse op;
    int rc = parse(ctx, argc, argv, &o, &op);
    if (rc >= 0) return rc;
    if (op.argc != 1) return hm_usage_error(ctx, "expected one channel NAME");
    hm_config *cfg;
    alert_conf *ac = load_conf(ctx, &cfg);
    if (!ac) return 1;
    strbuf answer = {0};
    hm_err e = {{0}};
    rc = alerts_test_channel(ac, op.argv[0], hm_now_ms(), &answer, &e);
    const alert_channel *ch = alerts_channel_find(ac, op.argv[0]);
    if (rc == 0) {
        printf("test message accepted by channel %s (%s): %s\n", op.argv[0],
               alert_channel_type_name(ch->type), sb_str(&answer));
    } else {
        hm_error("test message on channel '%s' failed: %s", op.argv[0], e.msg);
    }
    sb_free(&answer);
    alerts_conf_free(ac);
    return rc == 0 ? 0 : 1;
}

static const struct hm_cmd alerts_list = {
    .name = "list",
    .summary = "active alerts: firing and pending, with since, value and severity",
    .usage = "[--json]",
    .opts = json_opts,
    .run = run_list,
};
static const struct hm_cmd alerts_history = {
    .name = "history",
    .summary = "every transition and the notifications sent for it",
    .usage = "[--since DURATION] [--limit N] [--json]",
    .opts = history_opts,
    .run = run_history,
};
static const struct hm_cmd alerts_ack_cmd = {
    .name = "ack",
    .summary = "acknowledge an alert with a handling note; stops its repeats",
    .usage = "ID --comment TEXT [--json]",
    .opts = ack_opts,
    .run = run_ack,
};
static const struct hm_cmd alerts_silence_cmd = {
    .name = "silence",
    .summary = "silence matching alerts for a while; without --match, list silences",
    .usage = "[--match LABEL=VALUE]... [--for DURATION] [--comment TEXT] [--json]",
    .opts = silence_opts,
    .run = run_silence,
};
static const struct hm_cmd alerts_unsilence = {
    .name = "unsilence",
    .summary = "end a silence now",
    .usage = "ID [--json]",
    .opts = json_opts,
    .run = run_unsilence,
};
static const struct hm_cmd alerts_rules = {
    .name = "rules",
    .summary = "the effective rules and where each came from",
    .usage = "[--json]",
    .opts = json_opts,
    .run = run_rules,
};
static const struct hm_cmd alerts_test = {
    .name = "test",
    .summary = "run rule unit tests (series, times, expected alerts)",
    .usage = "FILE...",
    .opts = no_opts,
    .run = run_test,
    .complete_args = "file",
};
static const struct hm_cmd alerts_test_channel_cmd = {
    .name = "test-channel",
    .summary = "send a test notification and show the receiver's answer",
    .usage = "NAME",
    .opts = no_opts,
    .run = run_test_channel,
};

static const struct hm_cmd *const subs[] = {&alerts_list, &alerts_history, &alerts_ack_cmd,
                                            &alerts_silence_cmd, &alerts_unsilence, &alerts_rules,
                                            &alerts_test, &alerts_test_channel_cmd, NULL};

const struct hm_cmd cmd_alerts = {
    .name = "alerts",
    .summary = "list, acknowledge and silence alerts; show rules; test rules and channels",
    .usage = "list|history|ack|silence|unsilence|rules|test|test-channel",
    .opts = no_opts,
    .subs = subs,
};
