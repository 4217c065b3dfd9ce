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
    {"wide", 'w', NULL, "show every column (address, OS, source, sync speed, snapshot time, "
                        "licence), lines never cut", NULL},
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

/* The table's columns. The default set fits 80 columns with the console's longest states
 * (host_unregister_failed, boot_failed, disconnected) beside an 18-column name; --wide adds
 * the rest. */
enum { H_NAME, H_ADDRESS, H_OS, H_SOURCE, H_STATUS, H_BOOT, H_HEALTH, H_SPEED, H_SNAPSHOT, H_AGE,
       H_LICENCE, H_NCOLS };

static const struct {
    const char *head;
    bool wide; /* only with --wide */
} columns[H_NCOLS] = {
    [H_NAME] = {"NAME", false},
    [H_ADDRESS] = {"ADDRESS", true},
    [H_OS] = {"OS", true},
    [H_SOURCE] = {"SOURCE", true},
    [H_STATUS] = {"STATUS", false},
    [H_BOOT] = {"BOOT", false},
    [H_HEALTH] = {"HEALTH", false},
    [H_SPEED] = {">SPEED", true},
    [H_SNAPSHOT] = {"LAST SNAPSHOT", true},
    [H_AGE] = {">SNAP AGE", false},
    [H_LICENCE] = {"LICENCE", true},
};

static void print_table(const console_hosts *hs, const console_conf *cc, int64_t now, bool color,
                        bool wide, int width)
{
    const char *head[H_NCOLS];
    int pos[H_NCOLS]; /* where a column is in the printed table, -1 when it is not shown */
    size_t n = 0;
    for (size_t c = 0; c < H_NCOLS; c++) {
        pos[c] = wide || !columns[c].wide ? (int)n : -1;
        if (pos[c] >= 0) head[n++] = columns[c].head;
    }
    hm_table *t = table_new(n, head);
    if (!wide) table_set_width(t, width);
    for (size_t i = 0; i < hs->n; i++) {
        const console_host *h = &hs->v[i];
        char status[96] = "", snap[32] = "", age[32] = "";
        /* the sync percent goes with the status it belongs to: "sync_doing 45%" */
        if (h->percent >= 0)
            snprintf(status, sizeof status, "%s %.0f%%", h->host_status ? h->host_status : "-",
                     h->percent);
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
        const char *all[H_NCOLS] = {
            [H_NAME] = h->name,          [H_ADDRESS] = h->ip_address,
            [H_OS] = h->system_type,     [H_SOURCE] = h->host_type,
            [H_STATUS] = status[0] ? status : h->host_status, [H_BOOT] = h->boot_status,
            [H_HEALTH] = h->health_status,
            [H_SPEED] = h->percent >= 0 ? h->speed : NULL,
            [H_SNAPSHOT] = snap[0] ? snap : NULL,
            [H_AGE] = age[0] ? age : NULL, [H_LICENCE] = lic,
        };
        signed char state[H_NCOLS];
        memset(state, -1, sizeof state);
        if (h->health_status && strcmp(h->health_status, "active") != 0)
            state[H_HEALTH] = HM_CRITICAL;
        if (h->host_status && strstr(h->host_status, "failed")) state[H_STATUS] = HM_CRITICAL;
        if (h->boot_status && strstr(h->boot_status, "failed")) state[H_BOOT] = HM_CRITICAL;
        if (stale && h->last_snapshot_ms) state[H_AGE] = HM_WARNING;
        if (h->license_valid == 0) state[H_LICENCE] = HM_WARNING;
        const char *row[H_NCOLS];
        for (size_t c = 0; c < H_NCOLS; c++)
            if (pos[c] >= 0) row[pos[c]] = all[c];
        table_add(t, row);
        for (size_t c = 0; c < H_NCOLS; c++)
            if (pos[c] >= 0 && state[c] >= 0)
                table_color_last(t, (size_t)pos[c], (enum hm_state)state[c]);
    }
    table_print(t, stdout, color);
    table_free(t);
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    const char *state = NULL, *health = NULL, *source = NULL, *filter = NULL, *cname = NULL;
    const char *sort_field = "name";
    bool json = false, wide = false;
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
        case 'w': wide = true; break;
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
        for (size_t i = 0; i < all.n; i++)
            hm_json_stream_item(stdout, console_host_json(&all.v[i], cc, now), i);
        hm_json_stream_end(stdout, all.n);
    } else {
        print_table(&all, cc, now, ctx->color, wide, hm_output_width());
    }
    console_hosts_free(&all);
    console_close(con);
    return 0;
}

const struct hm_cmd cmd_hosts = {
    .name = "hosts",
    .summary = "list the console's protected hosts: sync, boot, health, snapshot age",
    .usage = "[--state S] [--health H] [--source T] [--filter TEXT] [--sort FIELD] [--wide] "
             "[--json] [--console NAME]",
    .description =
        "Asks the console (GET /hosts, every page) and prints one line per host: name, host\n"
        "status (with the sync percent while a sync runs), boot status, health and the age of\n"
        "the newest snapshot (the current RPO; marked '!' beyond the host's RPO target).\n"
        "--wide adds the address, OS, source type, sync speed, the snapshot's time and the\n"
        "licence. On a terminal (or with COLUMNS set) lines are cut to its width, the column\n"
        "with the most to spare first, with an ellipsis; --wide and --json never cut.",
    .opts = opts,
    .run = run,
};
