/* hmctl upgrade DIR | --rollback [BACKUP] | --list-backups | --history: install an upgrade
 * package into the installer directory (the seed's `hmctl upgrade /<path>/installer/venvs`). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"
#include "ops/audit.h"
#include "ops/services.h"
#include "ops/upgrade.h"

enum { OPT_ROLLBACK = 256, OPT_LIST, OPT_DOWNGRADE, OPT_HISTORY };

static const struct hm_opt opts[] = {
    {"yes", 'y', NULL, "do not ask for confirmation", NULL},
    {"allow-downgrade", OPT_DOWNGRADE, NULL, "install a package that is not newer", NULL},
    {"rollback", OPT_ROLLBACK, NULL, "restore the newest backup (or the BACKUP named)", NULL},
    {"list-backups", OPT_LIST, NULL, "list the backups hmctl made", NULL},
    {"history", OPT_HISTORY, NULL, "list past upgrades, rollbacks and reloads from the audit log",
     NULL},
    {"timeout", 't', "DURATION", "how long restarted services may take to be healthy", NULL},
    {0},
};

struct run {
    hm_ctx *ctx;
    hm_config *cfg;
    hm_store *st;
    int64_t health_ms;
};

static void say(void *ud, const char *line)
{
    printf("%s\n", line);
    fflush(stdout);
}

static int restart(void *ud, const upgrade_paths *p, hm_err *e)
{
    struct run *r = ud;
    int grace = (int)((cfg_get_ms(r->cfg, "reload", NULL, "stop_timeout", 10000) + 999) / 1000);
    return services_restart_using(r->cfg, p->venvs, grace, r->health_ms, say, NULL, e) < 0 ? -1 : 0;
}

static int64_t a_begin(void *ud, const char *action, const char *from, const char *to,
                       const char *detail)
{
    struct run *r = ud;
    hm_err e = {{0}};
    if (!r->st) return 0;
    int64_t id = audit_begin(r->st, action, from, to, detail, &e);
    if (id < 0) hm_warn("%s", e.msg);
    return id;
}

static void a_finish(void *ud, int64_t id, const char *result, const char *detail)
{
    struct run *r = ud;
    hm_err e = {{0}};
    if (r->st && audit_finish(r->st, id, result, detail, &e) < 0) hm_warn("%s", e.msg);
}

static int list_backups(const upgrade_paths *p)
{
    upgrade_backup *v;
    hm_err e = {{0}};
    int n = upgrade_backups_list(p, &v, &e);
    if (n < 0) return hm_error("%s", e.msg);
    if (n == 0) {
        printf("no hmctl backups in %s\n", p->backups);
        return 0;
    }
    static const char *const hdr[] = {"BACKUP", "VERSION", ">SIZE", "BY", "REASON"};
    hm_table *t = table_new(5, hdr);
    for (int i = 0; i < n; i++) {
        char size[16];
        hm_format_bytes(v[i].bytes, size, sizeof size);
        const char *row[] = {v[i].name, v[i].version && *v[i].version ? v[i].version : "-", size,
                             v[i].user, v[i].reason};
        table_add(t, row);
    }
    table_print(t, stdout, false);
    table_free(t);
    upgrade_backups_free(v, n);
    return 0;
}

static int history(hm_store *st)
{
    audit_entry *v;
    hm_err e = {{0}};
    int n = audit_list(st, 0, &v, &e);
    if (n < 0) return hm_error("%s", e.msg);
    static const char *const hdr[] = {"WHEN", "WHO", "ACTION", "FROM", "TO", "RESULT", "DETAIL"};
    hm_table *t = table_new(7, hdr);
    for (int i = 0; i < n; i++) {
        char when[40];
        hm_format_time(v[i].ts_ms, when, sizeof when);
        const char *row[] = {when, v[i].user, v[i].action, v[i].from_version, v[i].to_version,
                             v[i].result, v[i].detail};
        table_add(t, row);
    }
    if (n) table_print(t, stdout, false);
    else printf("no upgrades, rollbacks or reloads recorded\n");
    table_free(t);
    audit_entries_free(v, n);
    return 0;
}

static bool confirmed(bool yes, const char *what, const char *question)
{
    if (yes) return true;
    if (!isatty(STDIN_FILENO)) {
        hm_error("refusing to %s without confirmation: no terminal; use --yes", what);
        return false;
    }
    if (!hm_confirm("%s", question)) {
        hm_error("nothing changed");
        return false;
    }
    return true;
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    bool yes = false, downgrade = false, rollback = false, list = false, hist = false;
    int64_t health_ms = -1;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'y': yes = true; break;
        case OPT_DOWNGRADE: downgrade = true; break;
        case OPT_ROLLBACK: rollback = true; break;
        case OPT_LIST: list = true; break;
        case OPT_HISTORY: hist = true; break;
        case 't':
            if (hm_parse_duration(op.arg, &health_ms) < 0 || health_ms <= 0)
                return hm_usage_error(ctx, "invalid duration '%s' for --timeout", op.arg);
            break;
        default: return op.status;
        }
    }
    if (rollback + list + hist > 1)
        return hm_usage_error(ctx, "--rollback, --list-backups and --history exclude each other");
    if ((list || hist) && op.argc) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
    if (!rollback && !list && !hist && op.argc != 1)
        return hm_usage_error(ctx, op.argc ? "one package directory at a time"
                                           : "which package? give its venvs directory");
    if (rollback && op.argc > 1) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[1]);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    upgrade_paths p;
    upgrade_paths_init(&p, cfg);
    hm_err e = {{0}};
    int rc = 0;
    struct run r = {ctx, cfg, NULL,
                    health_ms > 0 ? health_ms
                                  : cfg_get_ms(cfg, "upgrade", NULL, "health_timeout", 120000)};
    upgrade_hooks h = {say, restart, a_begin, a_finish, &r};
    upgrade_result res = {0};
    if (list) {
        rc = list_backups(&p);
        goto out;
    }
    r.st = audit_open(cfg, &e);
    if (hist) {
        rc = r.st ? history(r.st) : hm_error("%s", e.msg);
        goto out;
    }
    if (rollback) {
        if (!r.st) hm_warn("the rollback is not recorded: %s", e.msg);
        char *q = xasprintf("Restore %s from %s and restart the services that use it?",
                            op.argc ? op.argv[0] : "the newest backup", p.venvs);
        bool ok = confirmed(yes, "roll back", q);
        free(q);
        if (!ok) {
            rc = 1;
            goto out;
        }
        if (upgrade_rollback(&p, op.argc ? op.argv[0] : NULL, &h, &res, &e) < 0)
            rc = hm_error("%s", e.msg);
        goto out;
    }
    if (!r.st) {
        rc = hm_error("cannot record the upgrade in the audit log: %s", e.msg);
        goto out;
    }
    upgrade_package pkg;
    if (upgrade_package_read(op.argv[0], &pkg, &e) < 0) {
        rc = hm_error("%s", e.msg);
        goto out;
    }
    char *installed = upgrade_installed_version(&p, NULL);
    char *q = xasprintf("Upgrade the console in %s from %s to %s and restart the services that "
                        "use it?", p.dir, installed ? installed : "an unknown version", pkg.version);
    free(installed);
    bool ok = confirmed(yes, "upgrade", q);
    free(q);
    if (!ok) rc = 1;
    else if (upgrade_run(&p, &pkg, downgrade, (int)cfg_get_number(cfg, "upgrade", NULL,
                                                                  "keep_backups", 5),
                         &h, &res, &e) < 0)
        rc = hm_error("%s", e.msg);
    upgrade_package_free(&pkg);
out:
    upgrade_result_free(&res);
    store_close(r.st);
    upgrade_paths_free(&p);
    return rc;
}

const struct hm_cmd cmd_upgrade = {
    .name = "upgrade",
    .summary = "install an upgrade package with backup and rollback (asks first)",
    .usage = "[-y] [--allow-downgrade] [-t DURATION] DIR | --rollback [BACKUP] | --list-backups"
             " | --history",
    .description =
        "DIR is the extracted package's venvs directory (the seed's\n"
        "/<path>/installer/venvs): service virtual environments and a version file in it or\n"
        "beside it. The installed venvs and configuration are backed up under databackup/,\n"
        "the package is copied next to the installed venvs and swapped in with one rename,\n"
        "the services that use it are restarted and must become healthy; otherwise the\n"
        "backup is restored. Each run is recorded in the audit log.",
    .opts = opts,
    .run = run,
    .complete_args = "dir",
};
