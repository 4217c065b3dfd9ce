/* hmctl config check|show */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "lib/cli.h"
#include "lib/output.h"

static const struct hm_opt no_opts[] = {{0}};
static const struct hm_opt show_opts[] = {
    {"json", 'j', NULL, "print JSON", NULL},
    {0},
};

static int parse_no_opts(hm_ctx *ctx, int argc, char **argv)
{
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) return op.status;
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    return -1;
}

static int run_check(hm_ctx *ctx, int argc, char **argv)
{
    int rc = parse_no_opts(ctx, argc, argv);
    if (rc >= 0) return rc;
    hm_config *c = config_load(ctx->config_path);
    /* beyond types: rules on known metrics and events, channels with an address */
    alerts_config_check(c, &c->errors);
    for (size_t i = 0; i < c->warnings.n; i++) hm_warn("%s", c->warnings.v[i]);
    for (size_t i = 0; i < c->errors.n; i++) fprintf(stderr, "%s\n", c->errors.v[i]);
    rc = c->errors.n ? 1 : 0;
    if (!rc) {
        if (c->files.n == 0) printf("no configuration file; the built-in defaults apply\n");
        for (size_t i = 0; i < c->files.n; i++) printf("%s: ok\n", c->files.v[i]);
    } else {
        fprintf(stderr, "%zu error%s\n", c->errors.n, c->errors.n == 1 ? "" : "s");
    }
    config_free(c);
    return rc;
}

static bool is_secret(const char *type, const char *key)
{
    const struct cfg_key *k = cfg_schema_key(type, key);
    return k && k->type == CFG_SECRET;
}

/* Prints one section: every schema key with its effective value and where it came from. */
static void show_section(const hm_config *c, const char *type, const char *name, json_t *root)
{
    json_t *obj = root ? json_object() : NULL;
    if (!root) {
        if (name) printf("[%s \"%s\"]\n", type, name);
        else printf("[%s]\n", type);
    }
    for (const struct cfg_key *k = hm_cfg_keys; k->section; k++) {
        if (strcmp(k->section, type) != 0) continue;
        char origin[512];
        const char *where = cfg_origin(c, type, name, k->key, origin, sizeof origin);
        const char *v = cfg_get(c, type, name, k->key);
        if (!v) continue;
        /* a webhook URL carries its token in the query (DingTalk, WeCom): not shown */
        char *redacted = strcmp(type, "channel") == 0 && strcmp(k->key, "url") == 0 &&
                                 strcspn(v, "?@") != strlen(v)
                             ? alerts_url_redact(v)
                             : NULL;
        char *shown_url = redacted ? xasprintf("%s%s", redacted, strchr(v, '?') ? "?********" : "")
                                   : NULL;
        const char *shown = is_secret(type, k->key) ? "********" : shown_url ? shown_url : v;
        if (obj) json_object_set_new(obj, k->key, json_string(shown));
        else printf("%s = %s%*s; %s\n", k->key, shown, 1, "", where ? where : "");
        free(redacted);
        free(shown_url);
    }
    if (obj) {
        char *label = name ? xasprintf("%s \"%s\"", type, name) : xstrdup(type);
        json_object_set_new(root, label, obj);
        free(label);
    } else {
        putchar('\n');
    }
}

static int run_show(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int ch; (ch = hm_opt_next(&op)) != -1;) {
        if (ch == 'j') json = true;
        else return op.status;
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    hm_config *c = hm_ctx_config(ctx);
    if (!c) return 1;
    json_t *root = json ? json_object() : NULL;
    if (!json) {
        if (c->files.n == 0) printf("; no configuration file: built-in defaults\n\n");
        for (size_t i = 0; i < c->files.n; i++) printf("; read %s\n", c->files.v[i]);
        if (c->files.n) putchar('\n');
    }
    for (const struct cfg_section_def *s = hm_cfg_sections; s->type; s++) {
        if (!s->named) {
            show_section(c, s->type, NULL, root);
            continue;
        }
        const cfg_section **v;
        size_t n = cfg_sections_of(c, s->type, &v);
        for (size_t i = 0; i < n; i++) show_section(c, s->type, v[i]->name, root);
        free(v);
    }
    if (root) hm_json_print(stdout, root);
    return 0;
}

static const struct hm_cmd config_check = {
    .name = "check",
    .summary = "validate the configuration; errors name file and line",
    .usage = "",
    .opts = no_opts,
    .run = run_check,
};

static const struct hm_cmd config_show = {
    .name = "show",
    .summary = "print the effective configuration, secrets masked",
    .usage = "[--json]",
    .opts = show_opts,
    .run = run_show,
};

static const char *type_name(enum cfg_type t)
{
    static const char *const names[] = {"string", "path", "duration", "bool", "integer", "number",
                                        "size", "list", "enum", "secret", "address", "url"};
    return (size_t)t < HM_ARRAY_LEN(names) ? names[t] : "?";
}

static int run_keys(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int ch; (ch = hm_opt_next(&op)) != -1;) {
        if (ch == 'j') json = true;
        else return op.status;
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    json_t *arr = json ? json_array() : NULL;
    static const char *const hdr[] = {"KEY", "TYPE", "DEFAULT", "DESCRIPTION"};
    hm_table *t = table_new(4, hdr);
    for (const struct cfg_key *k = hm_cfg_keys; k->section; k++) {
        const struct cfg_section_def *s = cfg_schema_section(k->section);
        char *key = xasprintf("%s%s.%s", k->section, s && s->named ? " \"NAME\"" : "", k->key);
        if (arr) {
            json_t *o = json_object();
            json_object_set_new(o, "section", json_string(k->section));
            json_object_set_new(o, "key", json_string(k->key));
            json_object_set_new(o, "type", json_string(type_name(k->type)));
            json_object_set_new(o, "default", k->def ? json_string(k->def) : json_null());
            json_object_set_new(o, "description", json_string(k->doc));
            json_array_append_new(arr, o);
        } else {
            const char *row[] = {key, type_name(k->type), k->def ? k->def : "-", k->doc};
            table_add(t, row);
        }
        free(key);
    }
    if (arr) hm_json_print(stdout, arr);
    else table_print(t, stdout, false);
    table_free(t);
    return 0;
}

static const struct hm_cmd config_keys = {
    .name = "keys",
    .summary = "list every configuration key with its type, default and meaning",
    .usage = "[--json]",
    .opts = show_opts,
    .run = run_keys,
};

static const struct hm_cmd *const subs[] = {&config_check, &config_show, &config_keys, NULL};

const struct hm_cmd cmd_config = {
    .name = "config",
    .summary = "validate or show the configuration",
    .usage = "check|show|keys",
    .opts = no_opts,
    .subs = subs,
};
