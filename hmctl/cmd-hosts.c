/* hmctl hosts: the console's protected hosts with their sync, boot, health and RPO. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "console/console.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"

enum { OPT_STATE = 256, OPT_HEALTH, OPT_SOURCE, OPT_FILTER, OPT_SORT, OPT_CONSOLE };

static const struct hm_opt opts[] = {
    {"state", OPT_STATE, "STATE", "only hosts whose h_host_status (or h_boot_status) is STATE, "
                                  "e.g. sync_doing, sync_failed, boot_done", NULL},
    {"health", OPT_HEALTH, "active|disconnected", "only hosts with this h_health_status", NULL},
    {"source", OPT_SOURCE, "vmware|openstack|aws|fusioncompute|oracle|agent",
     "only hosts of this source type", NULL},
    {"filter", OPT_FILTER, "TEXT", "only hosts whose name, id or address contains TEXT", NULL},
    {"sort", OPT_SORT, "name|status|health|source|age|sync", "sort order (default name)", NULL},
    {"json", 'j', NULL, "print a JSON array of hosts (fields of console-api.md plus "
                        "snapshot_age_s, rpo_target_s, rpo_exceeded)", NULL},
    {"console", OPT_CONSOLE, "NAME", "the [console \"NAME\"] to ask (default: [console])", NULL},
    {0},
};

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_host(const void *pa, const void *pb, void *ud)
{
    const char *sort_field = ud;
    const console_host *a = pa, *b = pb;
    int c = 0;
    if (strcmp(sort_field, "status") == 0) c = cmp_str(a->host_status, b->host_status);
    else if (strcmp(sort_field, "health") == 0) c = cmp_str(a->health_status, b->health_status);
    else if (strcmp(sort_field, "source") == 0) c = cmp_str(a->host_type, b->host_type);
    else if (strcmp(sort_field, "age") == 0) {
        /* oldest snapshot (largest RPO) first; no snapshot at all is the oldest */
        int64_t x = a->last_snapshot_ms, y = b->last_snapshot_ms;
        c = x < y ? -1 : x > y;
    } else if (strcmp(sort_field, "sync") == 0) c = (b->percent > a->percent) - (b->percent < a->percent);
    return c ? c : cmp_str(a->name, b->name);
}

static bool contains(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle);
}

static bool keep(const console_host *h, const char *state, const char *health, const char *source,
                 const char *filter)
{
    if (state && cmp_str(h->host_status, state) != 0 && cmp_str(h->boot_status, state) != 0)
        return false;
    if (health && cmp_str(h->health_status, health) != 0) return false;
    if (source && cmp_str(h->host_type, source) != 0) return false;
    if (filter && !contains(h->name, filter) && !contains(h->id, filter) &&
        !contains(h->ip_address, filter))
        return false;
    return true;
}

static void print_table(const console_hosts *hs, const console_conf *cc, int64_t now, bool color)
{
    static const char *const head[] = {"NAME", "OS", "SOURCE", "STATUS", "BOOT", "HEALTH",
                                       ">SYNC", "LAST SNAPSHOT", ">AGE", "LICENCE"};
    hm_table *t = table_new(10, head);
    for (size_t i = 0; i < hs->n; i++) {
        const console_host *h = &hs->v[i];
        char sync[64] = "", snap[32] = "", age[32] = "";
        if (h->percent >= 0)
            snprintf(sync, sizeof sync, "%.0f%%%s%s", h->percent, h->speed ? " " : "",
                     h->speed ? h->speed : "");
        if (h->last_snapshot_ms) {
            hm_format_time(h->last_snapshot_ms, snap, sizeof snap);
            snap[16] = '\0'; /* minutes are enough next to an age */
            snap[10] = ' ';
            hm_format_duration(now - h->last_snapshot_ms, age, sizeof age);
        }
        int64_t rpo = console_conf_rpo(cc, h->name);
        bool stale = !h->last_snapshot_ms || now - h->last_snapshot_ms > rpo;
        if (stale && h->last_snapshot_ms) strncat(age, " !", sizeof age - strlen(age) - 1);
        const char *lic = h->license_valid < 0 ? NULL : h->license_valid ? "valid" : "expired";
        const char *row[] = {h->name, h->system_type, h->host_type, h->host_status, h->boot_status,
                             h->health_status, sync[0] ? sync : NULL, snap[0] ? snap : NULL,
                             age[0] ? age : NULL, lic};
        table_add(t, row);
        if (h->health_status && strcmp(h->health_status, "active") != 0)
            table_color_last(t, 5, HM_CRITICAL);
        if (h->host_status && strstr(h->host_status, "failed")) table_color_last(t, 3, HM_CRITICAL);
        if (h->boot_status && strstr(h->boot_status, "failed")) table_color_last(t, 4, HM_CRITICAL);
        if (stale && h->last_snapshot_ms) table_color_last(t, 8, HM_WARNING);
        if (h->license_valid == 0) table_color_last(t, 9, HM_WARNING);
    }
    table_print(t, stdout, color);
    table_free(t);
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    const char *state = NULL, *health = NULL, *source = NULL, *filter = NULL, *cname = NULL;
    const char *sort_field = "name";
    bool json = false;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case OPT_STATE: state = op.arg; break;
        case OPT_HEALTH: health = op.arg; break;
        case OPT_SOURCE: source = op.arg; break;
        case OPT_FILTER: filter = op.arg; break;
        case OPT_SORT: sort_field = op.arg; break;
        case OPT_CONSOLE: cname = op.arg; break;
        case 'j': json = true; break;
        default: return op.status;
        }
    }
    if (op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    static const char *const sorts[] = {"name", "status", "health", "source", "age", "sync"};
    bool sort_ok = false;
    for (size_t i = 0; i < HM_ARRAY_LEN(sorts); i++) sort_ok |= strcmp(sort_field, sorts[i]) == 0;
    if (!sort_ok)
        return hm_usage_error(ctx, "unknown sort field '%s' (name, status, health, source, age, sync)",
                              sort_field);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    console *con = console_open_cli(cfg, cname);
    if (!con) return 1;
    console_hosts all = {0};
    hm_err e = {{0}};
    if (console_list_hosts(con, NULL, &all, &e) < 0) {
        console_close(con);
        console_hosts_free(&all);
        return hm_error("cannot list hosts: %s", e.msg);
    }
    /* filter in place: the console's own filters differ by version, ours are exact */
    size_t n = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (keep(&all.v[i], state, health, source, filter)) all.v[n++] = all.v[i];
        else console_host_clear(&all.v[i]);
    }
    all.n = n;
    int64_t now = hm_now_ms();
    qsort_r(all.v, all.n, sizeof *all.v, cmp_host, (void *)sort_field);
    const console_conf *cc = console_settings(con);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < all.n; i++)
            json_array_append_new(arr, console_host_json(&all.v[i], cc, now));
        hm_json_print(stdout, arr);
    } else {
        print_table(&all, cc, now, ctx->color);
    }
    console_hosts_free(&all);
    console_close(con);
    return 0;
}

const struct hm_cmd cmd_hosts = {
    .name = "hosts",
    .summary = "list the console's protected hosts: sync, boot, health, snapshot age",
    .usage = "[--state S] [--health H] [--source T] [--filter TEXT] [--sort FIELD] [--json] "
             "[--console NAME]",
    .description = "Asks the console (GET /hosts, every page) and prints one line per host: name,\n"
                   "OS, source type, host status, boot status, health, sync percent and speed\n"
                   "while syncing, the newest snapshot and its age (the current RPO; marked '!'\n"
                   "beyond the host's RPO target) and the licence.",
    .opts = opts,
    .run = run,
};
