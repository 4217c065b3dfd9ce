/* Installing an upgrade package into the console's installer directory, with a backup, an
 * interrupt-safe swap and rollback (hmctl upgrade).
 *
 * Layouts (seeds/000, 控制台运维 and 升级管理): the installed console is
 *     DIR/venvs/      one Python virtual environment per service (DIR = [installer] dir,
 *                     /opt/installer/production by default)
 *     DIR/version     the deployed version, first line
 *     DIR/config/     the services' configuration ([installer] config_dir)
 *     DIR/databackup/ backups ([installer] backup_dir)
 * and an extracted upgrade package is given, as in the seed's `hmctl upgrade
 * /<path>/installer/venvs`, as its venvs directory PKG: at least one service virtual
 * environment (a directory holding pyvenv.cfg) and the package's version in PKG/version or,
 * beside it, PKG/../version. The package's installer directory (holding venvs/) is accepted
 * too.
 *
 * An upgrade: pre-checks (layout, version newer unless allowed, free disk for the backup plus
 * the new files), a backup BACKUPS/<UTC timestamp>/ holding venvs/, config/, version and
 * hmctl-backup.info (written under a hidden name and renamed when complete), the package
 * copied into DIR/.venvs.hmctl-staging, swapped with DIR/venvs in one renameat2
 * RENAME_EXCHANGE, the new version written atomically, the services restarted and checked;
 * when that fails, the backup is restored the same way. A journal DIR/.hmctl-upgrade.journal
 * records each phase, so a run killed at any point leaves DIR/venvs either wholly old or
 * wholly new, and the next run knows which and what to do. */
#ifndef HM_OPS_UPGRADE_H
#define HM_OPS_UPGRADE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"

typedef struct upgrade_paths {
    char *dir;     /* [installer] dir */
    char *venvs;   /* DIR/venvs */
    char *version; /* DIR/version */
    char *config;  /* [installer] config_dir, default DIR/config */
    char *backups; /* [installer] backup_dir, default DIR/databackup */
    char *staging; /* DIR/.venvs.hmctl-staging */
    char *journal; /* DIR/.hmctl-upgrade.journal */
    char *lock;    /* DIR/.hmctl-upgrade.lock */
} upgrade_paths;

/* Fills p from the configuration. */
void upgrade_paths_init(upgrade_paths *p, const hm_config *cfg);
void upgrade_paths_free(upgrade_paths *p);

/* Compares two version strings by their runs of digits, left to right ("v6.4.0" < "6.4.1" <
 * "6.10.0"; "6.4.0_20250430-1079" < "6.4.0_20250501-1080"); a version that is a prefix of the
 * other is older. Returns <0, 0 or >0. */
int upgrade_version_compare(const char *a, const char *b);

typedef struct upgrade_package {
    char *venvs;        /* the package's venvs directory */
    char *version;      /* its version (the version file's first line, trimmed) */
    char *version_file; /* where it was read */
    strvec services;    /* names of the service virtual environments in it */
} upgrade_package;

/* Reads the package at dir (see the layout above). Returns 0, or -1 with e set: "cannot read
 * upgrade package 'x': No such file or directory", "'x' is not an upgrade package: no service
 * virtual environment in it (a directory holding pyvenv.cfg)", "... no version file (x/version
 * or y/version)", "... the version file 'x' is empty". */
int upgrade_package_read(const char *dir, upgrade_package *pkg, hm_err *e);
void upgrade_package_free(upgrade_package *pkg);

/* The installed version (first line of DIR/version), a new string, or NULL with e set ("cannot
 * read the installed version 'x': reason"). */
char *upgrade_installed_version(const upgrade_paths *p, hm_err *e);

typedef struct upgrade_backup {
    char *name;     /* "20261121T084000Z" */
    char *path;
    char *version;  /* the version it holds, or NULL */
    char *user;     /* who made it */
    char *reason;   /* "before the upgrade to 6.5.0" */
    uint64_t bytes; /* its size */
} upgrade_backup;

/* The backups hmctl made under BACKUPS (directories holding hmctl-backup.info; the other
 * backups of databackup/, such as database dumps, are not listed), newest first. Returns the
 * count with *out a new array (upgrade_backups_free), 0 when there are none or the directory
 * does not exist, or -1 with e set. */
int upgrade_backups_list(const upgrade_paths *p, upgrade_backup **out, hm_err *e);
void upgrade_backups_free(upgrade_backup *v, int n);

/* What the interrupted run left in the journal. */
typedef struct upgrade_journal {
    char *action;   /* "upgrade" or "rollback" */
    char *from, *to;
    char *backup;   /* backup name */
    char *phase;    /* "installing": DIR/venvs untouched; "swapping", "swapped", "restarting" */
    int64_t audit_id;
} upgrade_journal;

/* Reads DIR's journal: 1 with j filled when there is one, 0 when there is none, -1 with e set
 * when it cannot be read. */
int upgrade_journal_read(const upgrade_paths *p, upgrade_journal *j, hm_err *e);
void upgrade_journal_free(upgrade_journal *j);

/* Hooks of a run. say prints a progress line; restart restarts the services that use the
 * venvs and waits until they are running and healthy (returns 0, or -1 with e set to why
 * not); audit_begin/audit_finish record the run (may be NULL). */
typedef struct upgrade_hooks {
    void (*say)(void *ud, const char *line);
    int (*restart)(void *ud, const upgrade_paths *p, hm_err *e);
    int64_t (*audit_begin)(void *ud, const char *action, const char *from, const char *to,
                           const char *detail);
    void (*audit_finish)(void *ud, int64_t id, const char *result, const char *detail);
    void *ud;
} upgrade_hooks;

typedef struct upgrade_result {
    char *from, *to;  /* versions */
    char *backup;     /* backup name used or made */
    bool rolled_back; /* the upgrade failed after the swap and the backup was restored */
    char *reason;     /* why it failed, when it did */
} upgrade_result;

void upgrade_result_free(upgrade_result *r);

/* Upgrades to pkg. First takes DIR's lock (flock on DIR/.hmctl-upgrade.lock; "another hmctl
 * upgrade is running on 'DIR'") and cleans what an interrupted run left before its swap (the
 * staging directory; a journal in phase "installing", whose audit row becomes "interrupted").
 * Then: pre-checks, backup, install, version, restart; on a failed
 * restart, restores the backup and restarts again (r->rolled_back, r->reason). keep_backups
 * > 0 removes the oldest hmctl backups beyond that count after a success. Returns 0 on
 * success, or -1 with e set: a pre-check ("package version 6.4.0 is not newer than the
 * installed 6.4.0; --allow-downgrade installs it anyway", "not enough free disk on 'x': the
 * backup and the new files need 1.2G, 500M are free", "an interrupted upgrade from A to B was
 * found (backup N, phase P); 'hmctl upgrade --rollback' restores N"), a file error naming the
 * path, or the failed restart ("upgrade to B failed: REASON; rolled back to A from backup N"),
 * with the state as described. */
int upgrade_run(const upgrade_paths *p, const upgrade_package *pkg, bool allow_downgrade,
                int keep_backups, const upgrade_hooks *h, upgrade_result *r, hm_err *e);

/* Restores a backup, under the lock as upgrade_run: the one an interrupted run's journal names, else the
 * newest (name NULL), or the one named. The venvs and version are restored through the same
 * staging and swap; the configuration directory is left as it is (its copy stays in the
 * backup). Then the services are restarted. Returns 0, or -1 with e set ("no hmctl backup in
 * 'x'", "no backup named 'x'", a file error, or the failed restart after the restore). */
int upgrade_rollback(const upgrade_paths *p, const char *name, const upgrade_hooks *h,
                     upgrade_result *r, hm_err *e);

#endif
