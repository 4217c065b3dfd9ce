/* hmctl gateways: the console's cloud sync gateways (targets), and one gateway's pools and
 * volumes. */
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "lib/cli.h"
#include "lib/output.h"

enum { OPT_CONSOLE = 256 };

static const struct hm_opt opts[] = {
    {"json", 'j', NULL, "print JSON: an array of gateways, or one gateway with storage_pools "
                        "and volumes", NULL},
    {"console", OPT_CONSOLE, "NAME", "the [console \"NAME\"] to ask (default: [console])", NULL},
    {0},
};

static enum hm_state gateway_state(const console_target *t)
{
    if (t->online == 0) return HM_CRITICAL;
    if (t->status && strcmp(t->status, "active") != 0 && strcmp(t->status, "available") != 0)
        return strstr(t->status, "failed") || strcmp(t->status, "disconnected") == 0 ? HM_CRITICAL
                                                                                     : HM_WARNING;
    return HM_OK;
}

static void size_gib(double gib, char *buf, size_t n)
{
    /* the console reports gateway, pool and volume sizes in GiB */
    hm_format_bytes((uint64_t)(gib * 1024 * 1024 * 1024), buf, n);
}

static int list(hm_ctx *ctx, console *con, bool json)
{
    console_targets ts = {0};
    hm_err e = {{0}};
    if (console_list_targets(con, &ts, &e) < 0) {
        console_targets_free(&ts);
        return hm_error("cannot list gateways: %s", e.msg);
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < ts.n; i++) json_array_append_new(arr, console_target_json(&ts.v[i]));
        hm_json_print(stdout, arr);
    } else {
        static const char *const head[] = {"NAME", "ID", "CLOUD", "STATUS", "ONLINE"};
        hm_table *t = table_new(5, head);
        for (size_t i = 0; i < ts.n; i++) {
            const console_target *g = &ts.v[i];
            const char *row[] = {g->name, g->uuid, g->cloud_type, g->status,
                                 g->online < 0 ? NULL : g->online ? "yes" : "no"};
            table_add(t, row);
            table_color_last(t, 3, gateway_state(g));
            if (g->online == 0) table_color_last(t, 4, HM_CRITICAL);
        }
        table_print(t, stdout, ctx->color);
        table_free(t);
    }
    console_targets_free(&ts);
    return 0;
}

/* ID may be the uuid or the display name, as operators know gateways by name. */
static int show(hm_ctx *ctx, console *con, const char *id, bool json)
{
    console_targets ts = {0};
    hm_err e = {{0}};
    const char *uuid = id;
    char *found = NULL;
    if (console_list_targets(con, &ts, &e) == 0) {
        for (size_t i = 0; i < ts.n && !found; i++)
            if ((ts.v[i].uuid && strcmp(ts.v[i].uuid, id) == 0) ||
                (ts.v[i].name && strcmp(ts.v[i].name, id) == 0))
                found = xstrdup(ts.v[i].uuid);
        if (!found) {
            console_targets_free(&ts);
            return hm_error("no gateway '%s' on %s (see 'hmctl gateways')", id,
                            console_settings(con)->url);
        }
        uuid = found;
    } else {
        console_targets_free(&ts);
        return hm_error("cannot list gateways: %s", e.msg);
    }
    console_targets_free(&ts);
    console_target g = {0};
    int rc = console_get_target(con, uuid, &g, &e);
    free(found);
    if (rc < 0) return hm_error("cannot read gateway '%s': %s", id, e.msg);
    if (json) {
        hm_json_print(stdout, console_target_json(&g));
        console_target_free(&g);
        return 0;
    }
    char tot[16], used[16];
    size_gib(g.total_size, tot, sizeof tot);
    size_gib(g.used_size, used, sizeof used);
    printf("Gateway:  %s (%s)\nCloud:    %s%s%s\nStatus:   %s, %s\nCapacity: %s used of %s\n\n",
           g.name ? g.name : "-", g.uuid, g.cloud_type ? g.cloud_type : "-",
           g.region ? ", region " : "", g.region ? g.region : "", g.status ? g.status : "-",
           g.online == 1 ? "online" : g.online == 0 ? "offline" : "online unknown", used, tot);
    static const char *const ph[] = {"POOL", "PROTOCOL", "STATUS", ">USED", ">TOTAL"};
    hm_table *t = table_new(5, ph);
    for (size_t i = 0; i < g.n_pools; i++) {
        const console_pool *p = &g.pools[i];
        size_gib(p->used_size, used, sizeof used);
        size_gib(p->total_size, tot, sizeof tot);
        const char *row[] = {p->name, p->protocol, p->status, used, tot};
        table_add(t, row);
    }
    table_print(t, stdout, ctx->color);
    table_free(t);
    putchar('\n');
    static const char *const vh[] = {"VOLUME", "HOST", ">CAPACITY", "STATUS", "ATTACH", "POOL"};
    t = table_new(6, vh);
    for (size_t i = 0; i < g.n_volumes; i++) {
        const console_volume *v = &g.volumes[i];
        const char *pool = v->pool_uuid;
        for (size_t k = 0; k < g.n_pools; k++)
            if (v->pool_uuid && g.pools[k].uuid && strcmp(v->pool_uuid, g.pools[k].uuid) == 0)
                pool = g.pools[k].name;
        size_gib(v->capacity, tot, sizeof tot);
        const char *row[] = {v->name, v->host, tot, v->status, v->attach_status, pool};
        table_add(t, row);
    }
    table_print(t, stdout, ctx->color);
    table_free(t);
    console_target_free(&g);
    return 0;
}

/* Options may come before 'show', after it or after the ID; parsing stops at each
 * positional argument, so it resumes after each one. Returns -1 to go on, else an exit status. */
static int parse(hm_ctx *ctx, int argc, char **argv, bool *json, const char **cname, strvec *pos)
{
    while (argc > 0) {
        hm_optparse op;
        hm_opt_init(&op, ctx, argc, argv);
        for (int c; (c = hm_opt_next(&op)) != -1;) {
            switch (c) {
            case 'j': *json = true; break;
            case OPT_CONSOLE: *cname = op.arg; break;
            default: return op.status;
            }
        }
        if (!op.argc) break;
        sv_push(pos, op.argv[0]);
        /* getopt reads argv[0] as the program name: hand it the positional just taken */
        argc = op.argc;
        argv = op.argv;
    }
    return -1;
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    const char *cname = NULL;
    bool json = false;
    strvec pos = {0};
    int st = parse(ctx, argc, argv, &json, &cname, &pos);
    if (st >= 0) {
        sv_free(&pos);
        return st;
    }
    const char *id = NULL;
    char *idcopy = NULL;
    if (pos.n) {
        int rc = -1;
        if (strcmp(pos.v[0], "show") != 0)
            rc = hm_usage_error(ctx, "unknown subcommand '%s' (only 'show ID')", pos.v[0]);
        else if (pos.n != 2) rc = hm_usage_error(ctx, "'show' takes one gateway id or name");
        if (rc >= 0) {
            sv_free(&pos);
            return rc;
        }
        id = idcopy = xstrdup(pos.v[1]);
    }
    sv_free(&pos);
    hm_config *cfg = hm_ctx_config(ctx);
    console *con = cfg ? console_open_cli(cfg, cname) : NULL;
    if (!con) {
        free(idcopy);
        return 1;
    }
    int rc = id ? show(ctx, con, id, json) : list(ctx, con, json);
    console_close(con);
    free(idcopy);
    return rc;
}

const struct hm_cmd cmd_gateways = {
    .name = "gateways",
    .summary = "list the cloud sync gateways, or show one gateway's pools and volumes",
    .usage = "[--json] [--console NAME] [show ID]",
    .description = "Without arguments, one line per gateway (GET /targets): name, id, cloud type,\n"
                   "status and whether it is online. 'show ID' (a uuid or display name) prints\n"
                   "the gateway's capacity, its storage pools and one line per volume (disk).",
    .opts = opts,
    .run = run,
    .complete_args = "show",
};
