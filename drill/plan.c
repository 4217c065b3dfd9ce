/* Plan files: parsing with inih through a line reader (so every message names FILE:LINE, as
 * lib/config.c does), then the checks that need the whole file. */
#include "drill/plan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/clock.h"

const char *drill_mode_name(unsigned modes)
{
    switch (modes & DRILL_MODE_BOTH) {
    case DRILL_MODE_DRILL: return "drill";
    case DRILL_MODE_TAKEOVER: return "takeover";
    case DRILL_MODE_BOTH: return "both";
    default: return "none";
    }
}

const char *drill_step_type_name(enum drill_step_type t)
{
    static const char *const n[] = {"boot", "run", "check", "confirm", "cleanup"};
    return (size_t)t < HM_ARRAY_LEN(n) ? n[t] : "?";
}

const char *drill_on_error_name(enum drill_on_error o)
{
    static const char *const n[] = {"stop", "ignore", "ask"};
    return (size_t)o < HM_ARRAY_LEN(n) ? n[o] : "?";
}

const char *drill_check_kind_name(enum drill_check_kind k)
{
    static const char *const n[] = {"", "tcp", "http", "ping", "command"};
    return (size_t)k < HM_ARRAY_LEN(n) ? n[k] : "?";
}

/* --- The schema: sections and keys --------------------------------------------------------- */

enum sect { S_NONE, S_PLAN, S_JUMP, S_VARS, S_SECRET, S_HOST, S_STAGE, S_STEP };

struct sect_def {
    const char *type;
    enum sect id;
    bool named;
};

static const struct sect_def sects[] = {
    {"plan", S_PLAN, false},   {"jump", S_JUMP, false},   {"vars", S_VARS, false},
    {"secret", S_SECRET, true}, {"host", S_HOST, true},   {"stage", S_STAGE, true},
    {"step", S_STEP, true},
};

/* Keys of each section; step keys list the step types they apply to. */
enum ktype { K_STR, K_DURATION, K_INT, K_BOOL, K_ONERR, K_MODES, K_TYPE, K_TIME, K_PORT, K_LIST };

struct key_def {
    enum sect sect;
    const char *key;
    enum ktype type;
    unsigned types; /* step keys: mask of 1 << drill_step_type; 0 = every type */
};

#define T(x) (1u << DRILL_STEP_##x)

static const struct key_def keys[] = {
    {S_PLAN, "name", K_STR, 0},
    {S_PLAN, "description", K_STR, 0},
    {S_PLAN, "rto", K_DURATION, 0},
    {S_PLAN, "rpo", K_DURATION, 0},
    {S_PLAN, "on_error", K_ONERR, 0},
    {S_PLAN, "console", K_STR, 0},
    {S_PLAN, "poll_interval", K_DURATION, 0},
    {S_PLAN, "known_hosts", K_STR, 0},
    {S_JUMP, "host", K_STR, 0},
    {S_JUMP, "address", K_STR, 0},
    {S_JUMP, "port", K_PORT, 0},
    {S_JUMP, "user", K_STR, 0},
    {S_JUMP, "key_file", K_STR, 0},
    {S_JUMP, "connect_timeout", K_DURATION, 0},
    {S_SECRET, "file", K_STR, 0},
    {S_SECRET, "env", K_STR, 0},
    {S_HOST, "console_host", K_STR, 0},
    {S_HOST, "recovery_point", K_TIME, 0},
    {S_HOST, "network", K_STR, 0},
    {S_HOST, "flavor", K_STR, 0},
    {S_HOST, "security_group", K_STR, 0},
    {S_HOST, "availability_zone", K_STR, 0},
    {S_HOST, "fixed_ip", K_STR, 0},
    {S_HOST, "ssh_address", K_STR, 0},
    {S_HOST, "ssh_port", K_PORT, 0},
    {S_HOST, "ssh_user", K_STR, 0},
    {S_HOST, "ssh_key", K_STR, 0},
    {S_STAGE, "description", K_STR, 0},
    {S_STEP, "type", K_TYPE, 0},
    {S_STEP, "description", K_STR, 0},
    {S_STEP, "modes", K_MODES, 0},
    {S_STEP, "enabled", K_BOOL, 0},
    {S_STEP, "timeout", K_DURATION, 0},
    {S_STEP, "retries", K_INT, 0},
    {S_STEP, "delay", K_DURATION, 0},
    {S_STEP, "on_error", K_ONERR, 0},
    {S_STEP, "validation", K_BOOL, 0},
    {S_STEP, "hosts", K_LIST, T(BOOT) | T(CLEANUP)},
    {S_STEP, "on", K_STR, T(RUN) | T(CHECK)},
    {S_STEP, "command", K_STR, T(RUN) | T(CHECK)},
    {S_STEP, "tcp", K_STR, T(CHECK)},
    {S_STEP, "http", K_STR, T(CHECK)},
    {S_STEP, "expect_status", K_INT, T(CHECK)},
    {S_STEP, "ping", K_STR, T(CHECK)},
    {S_STEP, "message", K_STR, T(CONFIRM)},
    {S_STEP, "confirm_by", K_STR, T(CONFIRM)},
};

/* A key as read, kept until the section is complete (a step's type may come last). */
struct kv {
    char *key, *value;
    int line;
};

struct parse {
    const char *file;
    strvec *errors;
    int line;
    /* reader */
    const char *text;
    size_t pos;
    /* the section being read */
    enum sect cur;
    char *cur_name;
    int cur_line;
    struct kv *kvs;
    size_t n_kvs, cap_kvs;
    bool seen_plan, seen_jump, seen_vars;
    int plan_line;
    char *stage; /* the current [stage] */
    drill_plan *p;
    size_t cap_hosts, cap_steps, cap_vars, cap_secrets;
};

static void perr_at(struct parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perr_at(struct parse *ps, int line, const char *fmt, ...)
{
    strbuf sb = {0};
    sb_addf(&sb, "%s:%d: ", ps->file, line);
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    sv_push_owned(ps->errors, sb_detach(&sb));
}

static const struct key_def *find_key(enum sect s, const char *key)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(keys); i++)
        if (keys[i].sect == s && strcmp(keys[i].key, key) == 0) return &keys[i];
    return NULL;
}

static const char *suggest_key(enum sect s, const char *key)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < HM_ARRAY_LEN(keys); i++) {
        if (keys[i].sect != s) continue;
        size_t d = hm_edit_distance(keys[i].key, key);
        if (d < best_d) {
            best_d = d;
            best = keys[i].key;
        }
    }
    return best;
}

static const struct sect_def *find_sect(const char *type)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(sects); i++)
        if (strcmp(sects[i].type, type) == 0) return &sects[i];
    return NULL;
}

static const char *sect_type(enum sect s)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(sects); i++)
        if (sects[i].id == s) return sects[i].type;
    return "?";
}

/* Names of hosts, variables and secrets: they appear in {host.NAME.ip}, so no dots. */
static bool ident_ok(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

/* Step and stage names: printable, no quotes. */
static bool name_ok(const char *s)
{
    if (!*s) return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"') return false;
    return true;
}

/* --- Typed values -------------------------------------------------------------------------- */

static int parse_onerr(const char *v, enum drill_on_error *out)
{
    if (strcmp(v, "stop") == 0) *out = DRILL_ON_ERROR_STOP;
    else if (strcmp(v, "ignore") == 0) *out = DRILL_ON_ERROR_IGNORE;
    else if (strcmp(v, "ask") == 0) *out = DRILL_ON_ERROR_ASK;
    else return -1;
    return 0;
}

static int parse_modes(const char *v, unsigned *out)
{
    if (strcmp(v, "drill") == 0) *out = DRILL_MODE_DRILL;
    else if (strcmp(v, "takeover") == 0) *out = DRILL_MODE_TAKEOVER;
    else if (strcmp(v, "both") == 0) *out = DRILL_MODE_BOTH;
    else return -1;
    return 0;
}

static int parse_type(const char *v, enum drill_step_type *out)
{
    static const char *const n[] = {"boot", "run", "check", "confirm", "cleanup"};
    for (size_t i = 0; i < HM_ARRAY_LEN(n); i++)
        if (strcmp(v, n[i]) == 0) {
            *out = (enum drill_step_type)i;
            return 0;
        }
    return -1;
}

static int parse_int(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

/* Checks a value against its key's type; reports and returns -1 when it is invalid. */
static int check_type(struct parse *ps, const struct key_def *k, const struct kv *kv)
{
    int64_t ms;
    long n;
    bool b;
    enum drill_on_error oe;
    unsigned m;
    enum drill_step_type t;
    const char *v = kv->value;
    switch (k->type) {
    case K_DURATION:
        if (hm_parse_duration(v, &ms) == 0) return 0;
        perr_at(ps, kv->line, "invalid duration '%s' for '%s' (use e.g. 500ms, 10s, 5m, 2h)", v,
                k->key);
        return -1;
    case K_INT:
        if (parse_int(v, 0, 1000000, &n) == 0) return 0;
        perr_at(ps, kv->line, "invalid number '%s' for '%s' (a whole number from 0)", v, k->key);
        return -1;
    case K_PORT:
        if (parse_int(v, 1, 65535, &n) == 0) return 0;
        perr_at(ps, kv->line, "invalid port '%s' for '%s' (1 to 65535)", v, k->key);
        return -1;
    case K_BOOL:
        if (hm_parse_bool(v, &b) == 0) return 0;
        perr_at(ps, kv->line, "invalid boolean '%s' for '%s' (use yes or no)", v, k->key);
        return -1;
    case K_ONERR:
        if (parse_onerr(v, &oe) == 0) return 0;
        perr_at(ps, kv->line, "invalid on_error '%s' (one of stop, ignore, ask)", v);
        return -1;
    case K_MODES:
        if (parse_modes(v, &m) == 0) return 0;
        perr_at(ps, kv->line, "invalid modes '%s' (one of drill, takeover, both)", v);
        return -1;
    case K_TYPE:
        if (parse_type(v, &t) == 0) return 0;
        perr_at(ps, kv->line, "invalid step type '%s' (one of boot, run, check, confirm, cleanup)",
                v);
        return -1;
    case K_TIME:
        if (strcmp(v, "latest") == 0 || strcmp(v, "ask") == 0 || hm_parse_time(v, &ms) == 0)
            return 0;
        perr_at(ps, kv->line, "invalid recovery_point '%s' (latest, ask, or a time such as "
                              "2026-11-21T10:00:00Z)", v);
        return -1;
    case K_STR:
    case K_LIST:
        return 0;
    }
    return 0;
}

/* --- Building the plan from one complete section ------------------------------------------ */

static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap) return arr;
    *cap = *cap ? *cap * 2 : 8;
    return xrealloc(arr, *cap * size);
}

static const struct kv *kv_get(const struct parse *ps, const char *key)
{
    for (size_t i = ps->n_kvs; i-- > 0;)
        if (strcmp(ps->kvs[i].key, key) == 0) return &ps->kvs[i];
    return NULL;
}

static char *kv_str(const struct parse *ps, const char *key)
{
    const struct kv *kv = kv_get(ps, key);
    return kv ? xstrdup(kv->value) : NULL;
}

static int64_t kv_ms(const struct parse *ps, const char *key, int64_t def)
{
    const struct kv *kv = kv_get(ps, key);
    int64_t ms;
    return kv && hm_parse_duration(kv->value, &ms) == 0 ? ms : def;
}

static long kv_long(const struct parse *ps, const char *key, long def)
{
    const struct kv *kv = kv_get(ps, key);
    long n;
    return kv && parse_int(kv->value, 0, 1000000, &n) == 0 ? n : def;
}

static void finish_plan(struct parse *ps)
{
    drill_plan *p = ps->p;
    p->name = kv_str(ps, "name");
    p->description = kv_str(ps, "description");
    p->rto_ms = kv_ms(ps, "rto", 0);
    p->rpo_ms = kv_ms(ps, "rpo", 0);
    const struct kv *kv = kv_get(ps, "on_error");
    if (kv) parse_onerr(kv->value, &p->on_error);
    p->console = kv_str(ps, "console");
    p->poll_ms = kv_ms(ps, "poll_interval", 10000);
    if (p->poll_ms < 100) p->poll_ms = 100;
    p->known_hosts = kv_str(ps, "known_hosts");
    if (!p->name) perr_at(ps, ps->cur_line, "[plan] has no 'name'");
    else if (!name_ok(p->name) || strchr(p->name, '/'))
        perr_at(ps, kv_get(ps, "name")->line, "invalid plan name '%s'", p->name);
}

static void finish_jump(struct parse *ps)
{
    drill_plan *p = ps->p;
    p->has_jump = true;
    p->jump_host = kv_str(ps, "host");
    p->jump_address = kv_str(ps, "address");
    p->jump_user = kv_str(ps, "user");
    p->jump_key = kv_str(ps, "key_file");
    p->jump_port = (int)kv_long(ps, "port", 22);
    p->jump_connect_ms = kv_ms(ps, "connect_timeout", 0);
    if (!p->jump_address && !p->jump_host)
        perr_at(ps, ps->cur_line, "[jump] needs 'address' (or 'host', a [host] of hmctl.conf)");
    else if (p->jump_address && p->jump_host)
        perr_at(ps, kv_get(ps, "host")->line, "[jump] takes either 'host' (hmctl.conf's settings) "
                "or 'address', not both");
    else if (p->jump_host && (kv_get(ps, "user") || kv_get(ps, "key_file") || kv_get(ps, "port")))
        perr_at(ps, kv_get(ps, "host")->line, "[jump] with 'host' takes its user, key and port "
                "from [host \"%s\"] of hmctl.conf", p->jump_host);
}

static void finish_vars(struct parse *ps)
{
    drill_plan *p = ps->p;
    for (size_t i = 0; i < ps->n_kvs; i++) {
        const struct kv *kv = &ps->kvs[i];
        if (!ident_ok(kv->key)) {
            perr_at(ps, kv->line, "invalid variable name '%s' (letters, digits, '_' and '-')",
                    kv->key);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < p->n_vars; j++)
            if (strcmp(p->vars[j].name, kv->key) == 0) {
                perr_at(ps, kv->line, "variable '%s' is set twice (first at line %d)", kv->key,
                        p->vars[j].line);
                dup = true;
            }
        if (dup) continue;
        p->vars = grow(p->vars, p->n_vars, &ps->cap_vars, sizeof *p->vars);
        p->vars[p->n_vars++] = (drill_var){xstrdup(kv->key), xstrdup(kv->value), kv->line};
    }
}

static void finish_secret(struct parse *ps)
{
    drill_plan *p = ps->p;
    for (size_t j = 0; j < p->n_secrets; j++)
        if (strcmp(p->secrets[j].name, ps->cur_name) == 0) {
            perr_at(ps, ps->cur_line, "[secret \"%s\"] appears twice (first at line %d)",
                    ps->cur_name, p->secrets[j].line);
            return;
        }
    p->secrets = grow(p->secrets, p->n_secrets, &ps->cap_secrets, sizeof *p->secrets);
    drill_secret *s = &p->secrets[p->n_secrets++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(ps->cur_name);
    s->line = ps->cur_line;
    s->file = kv_str(ps, "file");
    s->env = kv_str(ps, "env");
    if (!s->env) {
        strbuf sb = {0};
        sb_adds(&sb, "HMCTL_SECRET_");
        for (const char *c = s->name; *c; c++)
            sb_addc(&sb, isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_');
        s->env = sb_detach(&sb);
    }
}

static void finish_host(struct parse *ps)
{
    drill_plan *p = ps->p;
    for (size_t j = 0; j < p->n_hosts; j++)
        if (strcmp(p->hosts[j].alias, ps->cur_name) == 0) {
            perr_at(ps, ps->cur_line, "[host \"%s\"] appears twice (first at line %d)",
                    ps->cur_name, p->hosts[j].line);
            return;
        }
    p->hosts = grow(p->hosts, p->n_hosts, &ps->cap_hosts, sizeof *p->hosts);
    drill_host *h = &p->hosts[p->n_hosts++];
    memset(h, 0, sizeof *h);
    h->alias = xstrdup(ps->cur_name);
    h->line = ps->cur_line;
    h->console_host = kv_str(ps, "console_host");
    if (!h->console_host) h->console_host = xstrdup(h->alias);
    h->recovery_point = kv_str(ps, "recovery_point");
    if (!h->recovery_point) h->recovery_point = xstrdup("latest");
    if (strcmp(h->recovery_point, "latest") != 0 && strcmp(h->recovery_point, "ask") != 0)
        hm_parse_time(h->recovery_point, &h->recovery_ms);
    h->network = kv_str(ps, "network");
    h->flavor = kv_str(ps, "flavor");
    h->security_group = kv_str(ps, "security_group");
    h->availability_zone = kv_str(ps, "availability_zone");
    h->fixed_ip = kv_str(ps, "fixed_ip");
    h->ssh_address = kv_str(ps, "ssh_address");
    h->ssh_port = (int)kv_long(ps, "ssh_port", 22);
    h->ssh_user = kv_str(ps, "ssh_user");
    h->ssh_key = kv_str(ps, "ssh_key");
}

static void finish_step(struct parse *ps)
{
    drill_plan *p = ps->p;
    for (size_t j = 0; j < p->n_steps; j++)
        if (strcmp(p->steps[j].name, ps->cur_name) == 0) {
            perr_at(ps, ps->cur_line, "[step \"%s\"] appears twice (first at line %d)",
                    ps->cur_name, p->steps[j].line);
            return;
        }
    const struct kv *type = kv_get(ps, "type");
    enum drill_step_type t;
    if (!type) {
        perr_at(ps, ps->cur_line, "step '%s' has no 'type' (boot, run, check, confirm, cleanup)",
                ps->cur_name);
        return;
    }
    if (parse_type(type->value, &t) < 0) return; /* reported with the key */
    /* keys that do not apply to this type */
    for (size_t i = 0; i < ps->n_kvs; i++) {
        const struct key_def *k = find_key(S_STEP, ps->kvs[i].key);
        if (k && k->types && !(k->types & (1u << t)))
            perr_at(ps, ps->kvs[i].line, "'%s' does not apply to a %s step", k->key,
                    drill_step_type_name(t));
    }
    p->steps = grow(p->steps, p->n_steps, &ps->cap_steps, sizeof *p->steps);
    drill_step *s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(ps->cur_name);
    s->line = ps->cur_line;
    s->stage = xstrdup(ps->stage ? ps->stage : "main");
    s->type = t;
    s->description = kv_str(ps, "description");
    s->modes = t == DRILL_STEP_CLEANUP ? DRILL_MODE_DRILL : DRILL_MODE_BOTH;
    const struct kv *kv = kv_get(ps, "modes");
    if (kv) parse_modes(kv->value, &s->modes);
    s->enabled = true;
    kv = kv_get(ps, "enabled");
    if (kv) hm_parse_bool(kv->value, &s->enabled);
    static const int64_t def_timeout[] = {30 * 60000, 10 * 60000, 30000, 0, 30 * 60000};
    s->timeout_ms = kv_ms(ps, "timeout", def_timeout[t]);
    s->retries = (int)kv_long(ps, "retries", 0);
    s->delay_ms = kv_ms(ps, "delay", 5000);
    s->on_error = p->on_error;
    kv = kv_get(ps, "on_error");
    if (kv) parse_onerr(kv->value, &s->on_error);
    kv = kv_get(ps, "validation");
    if (kv) hm_parse_bool(kv->value, &s->validation);
    kv = kv_get(ps, "hosts");
    if (kv) sv_split_list(&s->hosts, kv->value);
    s->on = kv_str(ps, "on");
    kv = kv_get(ps, "command");
    if (kv) {
        s->command = xstrdup(kv->value);
        s->command_line = kv->line;
    }
    s->expect_status = (int)kv_long(ps, "expect_status", 200);
    s->message = kv_str(ps, "message");
    s->confirm_by = kv_str(ps, "confirm_by");
    if (t == DRILL_STEP_CHECK) {
        static const char *const kinds[] = {"tcp", "http", "ping", "command"};
        int found = 0;
        for (size_t i = 0; i < HM_ARRAY_LEN(kinds); i++) {
            kv = kv_get(ps, kinds[i]);
            if (!kv) continue;
            found++;
            s->check = (enum drill_check_kind)(i + 1);
            if (s->check != DRILL_CHECK_COMMAND) {
                free(s->target);
                s->target = xstrdup(kv->value);
                s->target_line = kv->line;
            }
        }
        if (found != 1)
            perr_at(ps, ps->cur_line, "check step '%s' needs exactly one of tcp, http, ping or "
                                      "command (it has %d)", s->name, found);
    }
    if (t == DRILL_STEP_RUN && !s->command)
        perr_at(ps, ps->cur_line, "run step '%s' has no 'command'", s->name);
    if (t == DRILL_STEP_CONFIRM && !s->message)
        perr_at(ps, ps->cur_line, "confirm step '%s' has no 'message'", s->name);
    if (s->on && s->type == DRILL_STEP_CHECK && s->check != DRILL_CHECK_COMMAND) {
        kv = kv_get(ps, "on");
        perr_at(ps, kv->line, "'on' applies only to command checks and run steps");
    }
    if (!s->on) s->on = xstrdup("local");
}

static void finish_section(struct parse *ps)
{
    switch (ps->cur) {
    case S_PLAN: finish_plan(ps); break;
    case S_JUMP: finish_jump(ps); break;
    case S_VARS: finish_vars(ps); break;
    case S_SECRET: finish_secret(ps); break;
    case S_HOST: finish_host(ps); break;
    case S_STAGE:
        free(ps->stage);
        ps->stage = xstrdup(ps->cur_name);
        break;
    case S_STEP: finish_step(ps); break;
    case S_NONE: break;
    }
    for (size_t i = 0; i < ps->n_kvs; i++) {
        free(ps->kvs[i].key);
        free(ps->kvs[i].value);
    }
    ps->n_kvs = 0;
    free(ps->cur_name);
    ps->cur_name = NULL;
    ps->cur = S_NONE;
}

/* Called by the reader on a "[...]" line, so the section's own line is known. */
static void open_section(struct parse *ps, const char *line)
{
    finish_section(ps);
    const char *close = strrchr(line, ']');
    if (!close) return; /* inih reports it */
    char *hdr = xstrndup(line + 1, (size_t)(close - line - 1));
    hm_strip(hdr);
    const char *q = strchr(hdr, '"');
    char *type = q ? xstrndup(hdr, (size_t)(q - hdr)) : xstrdup(hdr);
    hm_strip(type);
    char *name = NULL;
    if (q) {
        const char *q2 = strchr(q + 1, '"');
        if (!q2 || q2[1] || q2 == q + 1) {
            perr_at(ps, ps->line, "malformed section header [%s] (use [type] or [type \"name\"])",
                    hdr);
            ps->cur = S_NONE;
            ps->cur_name = NULL;
            free(type);
            free(hdr);
            ps->cur_line = -1; /* keys below are ignored */
            return;
        }
        name = xstrndup(q + 1, (size_t)(q2 - q - 1));
    }
    const struct sect_def *d = find_sect(type);
    ps->cur_line = ps->line;
    if (!d) {
        const char *best = NULL;
        size_t best_d = 3;
        for (size_t i = 0; i < HM_ARRAY_LEN(sects); i++) {
            size_t dist = hm_edit_distance(sects[i].type, type);
            if (dist < best_d) {
                best_d = dist;
                best = sects[i].type;
            }
        }
        if (best) perr_at(ps, ps->line, "unknown section [%s] (did you mean [%s]?)", hdr, best);
        else perr_at(ps, ps->line, "unknown section [%s] (plan, jump, vars, secret, host, stage, "
                                  "step)", hdr);
        ps->cur_line = -1;
    } else if (d->named && !name) {
        perr_at(ps, ps->line, "section [%s] needs a name: [%s \"NAME\"]", type, type);
        ps->cur_line = -1;
    } else if (!d->named && name) {
        perr_at(ps, ps->line, "section [%s] takes no name", type);
        ps->cur_line = -1;
    } else if (name && (d->id == S_HOST || d->id == S_SECRET) && !ident_ok(name)) {
        perr_at(ps, ps->line, "invalid %s name '%s' (letters, digits, '_' and '-')", type, name);
        ps->cur_line = -1;
    } else if (name && !name_ok(name)) {
        perr_at(ps, ps->line, "invalid %s name '%s'", type, name);
        ps->cur_line = -1;
    } else {
        bool *seen = d->id == S_PLAN ? &ps->seen_plan : d->id == S_JUMP ? &ps->seen_jump
                   : d->id == S_VARS ? &ps->seen_vars : NULL;
        if (seen && *seen && d->id != S_VARS) {
            perr_at(ps, ps->line, "[%s] appears twice", type);
            ps->cur_line = -1;
        } else {
            if (seen) *seen = true;
            if (d->id == S_PLAN) ps->plan_line = ps->line;
            ps->cur = d->id;
            ps->cur_name = name;
            name = NULL;
        }
    }
    free(name);
    free(type);
    free(hdr);
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct parse *ps = user;
    (void)section;
    if (ps->cur_line == 0) {
        perr_at(ps, ps->line, "'%s' is outside any section", key);
        return 1;
    }
    if (ps->cur == S_NONE) return 1; /* an invalid section, reported at its header */
    if (ps->cur != S_VARS) {
        const struct key_def *k = find_key(ps->cur, key);
        if (!k) {
            const char *hint = suggest_key(ps->cur, key);
            if (hint) perr_at(ps, ps->line, "unknown key '%s' in [%s] (did you mean '%s'?)", key,
                              sect_type(ps->cur), hint);
            else perr_at(ps, ps->line, "unknown key '%s' in [%s]", key, sect_type(ps->cur));
            return 1;
        }
        struct kv tmp = {(char *)key, (char *)value, ps->line};
        if (check_type(ps, k, &tmp) < 0) return 1;
        if (kv_get(ps, key)) {
            perr_at(ps, ps->line, "'%s' is set twice in [%s]", key, sect_type(ps->cur));
            return 1;
        }
    }
    ps->kvs = grow(ps->kvs, ps->n_kvs, &ps->cap_kvs, sizeof *ps->kvs);
    ps->kvs[ps->n_kvs++] = (struct kv){xstrdup(key), xstrdup(value), ps->line};
    return 1;
}

enum { LINE_MAX_PLAN = 8192 };

static char *read_line(char *buf, int size, void *stream)
{
    struct parse *ps = stream;
    if (!ps->text[ps->pos]) return NULL;
    const char *start = ps->text + ps->pos;
    const char *nl = strchr(start, '\n');
    size_t len = nl ? (size_t)(nl - start) + 1 : strlen(start);
    ps->pos += len;
    ps->line++;
    if (len >= (size_t)size) {
        perr_at(ps, ps->line, "line too long (more than %d characters)", size - 2);
        len = 0;
    }
    while (len && (*start == ' ' || *start == '\t')) {
        start++;
        len--;
    }
    memcpy(buf, start, len);
    buf[len] = '\0';
    if (buf[0] == '[') open_section(ps, buf);
    return buf;
}

/* --- Checks over the whole plan ------------------------------------------------------------ */

struct ref_ctx {
    const drill_plan *p;
    size_t step; /* the step whose template is checked */
};

static int check_ref(void *ud, const char *name, hm_err *e)
{
    const struct ref_ctx *rc = ud;
    const drill_plan *p = rc->p;
    if (hm_starts_with(name, "host.")) {
        const char *a = name + 5, *dot = strchr(a, '.');
        if (!dot) return hm_err_set(e, "{%s}: use {host.ALIAS.ip}, .name, .id, .instance_id or "
                                       ".snapshot", name);
        char *alias = xstrndup(a, (size_t)(dot - a));
        const char *field = dot + 1;
        int r = 0;
        if (!drill_plan_host(p, alias))
            r = hm_err_set(e, "{%s}: no [host \"%s\"] in the plan", name, alias);
        else if (strcmp(field, "ip") && strcmp(field, "name") && strcmp(field, "id") &&
                 strcmp(field, "instance_id") && strcmp(field, "snapshot"))
            r = hm_err_set(e, "{%s}: unknown host field '%s' (ip, name, id, instance_id, "
                              "snapshot)", name, field);
        else if (strcmp(field, "instance_id") == 0) {
            /* only known once a boot step before this one booted the host */
            bool booted = false;
            for (size_t i = 0; i < rc->step && !booted; i++) {
                const drill_step *s = &p->steps[i];
                if (s->type != DRILL_STEP_BOOT) continue;
                if (s->hosts.n == 0 || sv_contains(&s->hosts, alias)) booted = true;
            }
            if (!booted)
                r = hm_err_set(e, "{%s}: no boot step before this one boots '%s', so it has no "
                                  "instance id yet", name, alias);
        }
        free(alias);
        return r;
    }
    if (hm_starts_with(name, "run.")) {
        if (strcmp(name, "run.mode") && strcmp(name, "run.id") && strcmp(name, "run.operator"))
            return hm_err_set(e, "{%s}: unknown (run.mode, run.id, run.operator)", name);
        return 0;
    }
    if (hm_starts_with(name, "plan.")) {
        if (strcmp(name, "plan.name")) return hm_err_set(e, "{%s}: unknown (plan.name)", name);
        return 0;
    }
    if (hm_starts_with(name, "var.")) {
        for (size_t i = 0; i < p->n_vars; i++)
            if (strcmp(p->vars[i].name, name + 4) == 0) return 0;
        return hm_err_set(e, "{%s}: no '%s' in [vars]", name, name + 4);
    }
    if (hm_starts_with(name, "secret.")) {
        for (size_t i = 0; i < p->n_secrets; i++)
            if (strcmp(p->secrets[i].name, name + 7) == 0) return 0;
        return hm_err_set(e, "{%s}: no [secret \"%s\"] in the plan", name, name + 7);
    }
    return hm_err_set(e, "{%s}: unknown variable", name);
}

static void check_template(struct parse *ps, size_t si, const char *tmpl, int line,
                           enum drill_subst_ctx ctx)
{
    if (!tmpl) return;
    struct ref_ctx rc = {ps->p, si};
    hm_err e = {{0}};
    if (drill_template_check(tmpl, ctx, check_ref, &rc, &e) < 0)
        perr_at(ps, line, "step '%s': %s", ps->p->steps[si].name, e.msg);
}

static void check_plan(struct parse *ps)
{
    drill_plan *p = ps->p;
    if (!ps->seen_plan) perr_at(ps, 1, "no [plan] section (it names the plan)");
    if (p->n_steps == 0 && ps->seen_plan) perr_at(ps, ps->plan_line, "the plan has no steps");
    for (size_t i = 0; i < p->n_secrets; i++)
        if (p->secrets[i].file && p->secrets[i].file[0] != '/')
            perr_at(ps, p->secrets[i].line, "secret '%s': file must be an absolute path",
                    p->secrets[i].name);
    /* a host booted by two steps would be booted twice */
    const char **booted_by = xcalloc(p->n_hosts + 1, sizeof *booted_by);
    for (size_t si = 0; si < p->n_steps; si++) {
        drill_step *s = &p->steps[si];
        for (size_t k = 0; k < s->hosts.n; k++)
            if (!drill_plan_host(p, s->hosts.v[k]))
                perr_at(ps, s->line, "step '%s': no [host \"%s\"] in the plan", s->name,
                        s->hosts.v[k]);
        if ((s->type == DRILL_STEP_BOOT || s->type == DRILL_STEP_CLEANUP) && p->n_hosts == 0)
            perr_at(ps, s->line, "step '%s': the plan has no [host] to %s", s->name,
                    drill_step_type_name(s->type));
        if (s->type == DRILL_STEP_BOOT) {
            for (size_t h = 0; h < p->n_hosts; h++) {
                if (s->hosts.n && !sv_contains(&s->hosts, p->hosts[h].alias)) continue;
                if (booted_by[h])
                    perr_at(ps, s->line, "step '%s': host '%s' is booted by step '%s' already",
                            s->name, p->hosts[h].alias, booted_by[h]);
                else booted_by[h] = s->name;
            }
        }
        if (s->type == DRILL_STEP_RUN ||
            (s->type == DRILL_STEP_CHECK && s->check == DRILL_CHECK_COMMAND)) {
            if (strcmp(s->on, "jump") == 0) {
                if (!p->has_jump)
                    perr_at(ps, s->line, "step '%s': 'on = jump' but the plan has no [jump]",
                            s->name);
            } else if (strcmp(s->on, "local") != 0 && !drill_plan_host(p, s->on)) {
                perr_at(ps, s->line, "step '%s': 'on = %s' names no [host] (local, jump or a "
                                     "host alias)", s->name, s->on);
            }
            check_template(ps, si, s->command, s->command_line, DRILL_SUBST_SHELL);
        }
        if (s->type == DRILL_STEP_CHECK && s->check != DRILL_CHECK_COMMAND && s->target) {
            check_template(ps, si, s->target, s->target_line, DRILL_SUBST_WORD);
            if (s->check == DRILL_CHECK_HTTP && !hm_starts_with(s->target, "http://") &&
                !hm_starts_with(s->target, "https://"))
                perr_at(ps, s->target_line, "step '%s': http check needs an http:// or https:// "
                                            "URL", s->name);
            if (s->check == DRILL_CHECK_TCP && !strrchr(s->target, ':'))
                perr_at(ps, s->target_line, "step '%s': tcp check needs HOST:PORT", s->name);
        }
        if (s->type == DRILL_STEP_CONFIRM)
            check_template(ps, si, s->message, s->line, DRILL_SUBST_TEXT);
        if (s->type == DRILL_STEP_CONFIRM && s->retries)
            perr_at(ps, s->line, "step '%s': a confirm step has no retries (on_error = ask lets "
                                 "the operator answer again)", s->name);
    }
    free(booted_by);
    for (size_t h = 0; h < p->n_hosts; h++)
        if (p->hosts[h].ssh_address) {
            struct ref_ctx rc = {p, p->n_steps};
            hm_err e = {{0}};
            if (drill_template_check(p->hosts[h].ssh_address, DRILL_SUBST_WORD, check_ref, &rc,
                                     &e) < 0)
                perr_at(ps, p->hosts[h].line, "host '%s': ssh_address: %s", p->hosts[h].alias,
                        e.msg);
        }
}

int drill_plan_parse(const char *file, const char *text, drill_plan **out, strvec *errors)
{
    *out = NULL;
    drill_plan *p = xcalloc(1, sizeof *p);
    p->file = xstrdup(file);
    p->text = xstrdup(text);
    p->on_error = DRILL_ON_ERROR_STOP;
    p->poll_ms = 10000;
    size_t first_error = errors->n;
    struct parse ps = {.file = file, .errors = errors, .text = text, .p = p};
    /* commands keep their ';' and may be long: no inline comments, a heap line buffer */
    bool saved_inline = ini_allow_inline_comments, saved_multi = ini_allow_multiline;
    bool saved_stack = ini_use_stack, saved_realloc = ini_allow_realloc;
    int saved_max = ini_max_line, saved_alloc = ini_initial_alloc;
    ini_allow_inline_comments = false;
    ini_allow_multiline = false;
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_max_line = LINE_MAX_PLAN;
    ini_initial_alloc = LINE_MAX_PLAN;
    int rc = ini_parse_stream(read_line, &ps, on_key, &ps);
    ini_allow_inline_comments = saved_inline;
    ini_allow_multiline = saved_multi;
    ini_use_stack = saved_stack;
    ini_allow_realloc = saved_realloc;
    ini_max_line = saved_max;
    ini_initial_alloc = saved_alloc;
    finish_section(&ps);
    if (rc > 0) perr_at(&ps, rc, "syntax error (expected [section], key = value, or a ; comment)");
    else if (rc < 0) perr_at(&ps, ps.line, "cannot parse (out of memory)");
    free(ps.kvs);
    free(ps.stage);
    check_plan(&ps);
    if (errors->n > first_error) {
        drill_plan_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int drill_plan_load(const char *path, drill_plan **out, strvec *errors)
{
    *out = NULL;
    hm_err e = {{0}};
    char *text = hm_read_file(path, NULL, &e);
    if (!text) {
        sv_push(errors, e.msg);
        return -1;
    }
    int rc = drill_plan_parse(path, text, out, errors);
    free(text);
    return rc;
}

void drill_plan_free(drill_plan *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_hosts; i++) {
        drill_host *h = &p->hosts[i];
        free(h->alias);
        free(h->console_host);
        free(h->recovery_point);
        free(h->network);
        free(h->flavor);
        free(h->security_group);
        free(h->availability_zone);
        free(h->fixed_ip);
        free(h->ssh_address);
        free(h->ssh_user);
        free(h->ssh_key);
    }
    for (size_t i = 0; i < p->n_steps; i++) {
        drill_step *s = &p->steps[i];
        free(s->name);
        free(s->stage);
        free(s->description);
        sv_free(&s->hosts);
        free(s->on);
        free(s->command);
        free(s->target);
        free(s->message);
        free(s->confirm_by);
    }
    for (size_t i = 0; i < p->n_vars; i++) {
        free(p->vars[i].name);
        free(p->vars[i].value);
    }
    for (size_t i = 0; i < p->n_secrets; i++) {
        free(p->secrets[i].name);
        free(p->secrets[i].file);
        free(p->secrets[i].env);
    }
    free(p->hosts);
    free(p->steps);
    free(p->vars);
    free(p->secrets);
    free(p->file);
    free(p->text);
    free(p->name);
    free(p->description);
    free(p->console);
    free(p->known_hosts);
    free(p->jump_host);
    free(p->jump_address);
    free(p->jump_user);
    free(p->jump_key);
    free(p);
}

const drill_host *drill_plan_host(const drill_plan *p, const char *alias)
{
    for (size_t i = 0; i < p->n_hosts; i++)
        if (strcmp(p->hosts[i].alias, alias) == 0) return &p->hosts[i];
    return NULL;
}

int drill_plan_step_index(const drill_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (strcmp(p->steps[i].name, name) == 0) return (int)i;
    return -1;
}

int drill_plan_validation_step(const drill_plan *p, enum drill_mode mode)
{
    int marked = -1, last_check = -1;
    for (size_t i = 0; i < p->n_steps; i++) {
        const drill_step *s = &p->steps[i];
        if (!s->enabled || !(s->modes & mode)) continue;
        if (s->validation) marked = (int)i;
        if (s->type == DRILL_STEP_CHECK) last_check = (int)i;
    }
    return marked >= 0 ? marked : last_check;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t drill_plan_names(const char *plan_dir, strvec *out)
{
    DIR *d = opendir(plan_dir);
    if (!d) return 0;
    size_t first = out->n;
    for (struct dirent *de; (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n <= 5 || strcmp(de->d_name + n - 5, ".plan") != 0) continue;
        sv_push_owned(out, xstrndup(de->d_name, n - 5));
    }
    closedir(d);
    qsort(out->v + first, out->n - first, sizeof *out->v, cmp_str);
    return out->n - first;
}

char *drill_plan_resolve(const char *plan_dir, const char *arg, hm_err *e)
{
    struct stat st;
    if (strchr(arg, '/') || (stat(arg, &st) == 0 && S_ISREG(st.st_mode))) {
        if (stat(arg, &st) < 0) {
            hm_err_set(e, "cannot read plan '%s': %s", arg, strerror(errno));
            return NULL;
        }
        return xstrdup(arg);
    }
    char *path = xasprintf("%s/%s.plan", plan_dir, arg);
    if (stat(path, &st) == 0) return path;
    free(path);
    strvec names = {0};
    drill_plan_names(plan_dir, &names);
    strbuf sb = {0};
    for (size_t i = 0; i < names.n; i++) sb_addf(&sb, "%s%s", i ? ", " : "", names.v[i]);
    if (names.n) hm_err_set(e, "no plan '%s' in %s (plans there: %s)", arg, plan_dir, sb_str(&sb));
    else hm_err_set(e, "no plan '%s' in %s (it holds no NAME.plan file)", arg, plan_dir);
    sb_free(&sb);
    sv_free(&names);
    return NULL;
}
