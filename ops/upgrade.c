/* Upgrade, backup and rollback of the installer's venvs. */
#include "ops/upgrade.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "ops/audit.h"
#include "ops/fsutil.h"

#define BACKUP_INFO "hmctl-backup.info"

void upgrade_paths_init(upgrade_paths *p, const hm_config *cfg)
{
    const char *dir = cfg_get(cfg, "installer", NULL, "dir");
    if (!dir || !*dir) dir = "/opt/installer/production";
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    p->dir = xstrndup(dir, n);
    p->venvs = xasprintf("%s/venvs", p->dir);
    p->version = xasprintf("%s/version", p->dir);
    const char *c = cfg_get(cfg, "installer", NULL, "config_dir");
    p->config = c && *c ? xstrdup(c) : xasprintf("%s/config", p->dir);
    const char *b = cfg_get(cfg, "installer", NULL, "backup_dir");
    p->backups = b && *b ? xstrdup(b) : xasprintf("%s/databackup", p->dir);
    p->staging = xasprintf("%s/.venvs.hmctl-staging", p->dir);
    p->journal = xasprintf("%s/.hmctl-upgrade.journal", p->dir);
    p->lock = xasprintf("%s/.hmctl-upgrade.lock", p->dir);
}

void upgrade_paths_free(upgrade_paths *p)
{
    free(p->dir);
    free(p->venvs);
    free(p->version);
    free(p->config);
    free(p->backups);
    free(p->staging);
    free(p->journal);
    free(p->lock);
    memset(p, 0, sizeof *p);
}

int upgrade_version_compare(const char *a, const char *b)
{
    for (;;) {
        while (*a && !isdigit((unsigned char)*a)) a++;
        while (*b && !isdigit((unsigned char)*b)) b++;
        if (!*a || !*b) return (*a != 0) - (*b != 0);
        while (*a == '0' && isdigit((unsigned char)a[1])) a++;
        while (*b == '0' && isdigit((unsigned char)b[1])) b++;
        size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
        if (na != nb) return na < nb ? -1 : 1;
        int c = strncmp(a, b, na);
        if (c) return c < 0 ? -1 : 1;
        a += na;
        b += nb;
    }
}

/* The first line of a file, trimmed; NULL with e set when it cannot be read. */
static char *first_line(const char *path, hm_err *e)
{
    char *text = hm_read_file(path, NULL, e);
    if (!text) return NULL;
    text[strcspn(text, "\r\n")] = '\0';
    char *line = xstrdup(hm_strip(text));
    free(text);
    return line;
}

static bool is_venv(const char *dir, const char *name)
{
    char *cfg = xasprintf("%s/%s/pyvenv.cfg", dir, name);
    struct stat st;
    bool ok = stat(cfg, &st) == 0 && S_ISREG(st.st_mode);
    free(cfg);
    return ok;
}

/* Names of the service virtual environments directly under dir, sorted. */
static int list_venvs(const char *dir, strvec *out, hm_err *e)
{
    DIR *d = opendir(dir);
    if (!d) return hm_err_set(e, "cannot read upgrade package '%s': %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && is_venv(dir, de->d_name)) sv_push(out, de->d_name);
    closedir(d);
    for (size_t i = 1; i < out->n; i++)
        for (size_t k = i; k > 0 && strcmp(out->v[k - 1], out->v[k]) > 0; k--) {
            char *t = out->v[k];
            out->v[k] = out->v[k - 1];
            out->v[k - 1] = t;
        }
    return 0;
}

static char *parent_dir(const char *path)
{
    char *p = xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    char *slash = strrchr(p, '/');
    if (!slash) {
        free(p);
        return xstrdup("..");
    }
    if (slash == p) slash[1] = '\0';
    else *slash = '\0';
    return p;
}

int upgrade_package_read(const char *dir, upgrade_package *pkg, hm_err *e)
{
    memset(pkg, 0, sizeof *pkg);
    struct stat st;
    if (stat(dir, &st) < 0)
        return hm_err_set(e, "cannot read upgrade package '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return hm_err_set(e, "'%s' is not an upgrade package: not a directory", dir);
    char *venvs = xstrdup(dir);
    if (list_venvs(venvs, &pkg->services, e) < 0) goto fail;
    if (pkg->services.n == 0) {
        /* The package's installer directory, holding venvs/, is accepted as well. */
        char *sub = xasprintf("%s/venvs", dir);
        if (fs_is_dir(sub) && list_venvs(sub, &pkg->services, NULL) == 0 && pkg->services.n) {
            free(venvs);
            venvs = sub;
        } else {
            free(sub);
        }
    }
    if (pkg->services.n == 0) {
        hm_err_set(e, "'%s' is not an upgrade package: no service virtual environment in it "
                      "(a directory holding pyvenv.cfg, as in the installer's venvs/)", dir);
        goto fail;
    }
    char *parent = parent_dir(venvs);
    char *cands[2] = {xasprintf("%s/version", venvs), xasprintf("%s/version", parent)};
    free(parent);
    for (int i = 0; i < 2 && !pkg->version_file; i++)
        if (fs_exists(cands[i])) pkg->version_file = xstrdup(cands[i]);
    if (!pkg->version_file)
        hm_err_set(e, "'%s' is not an upgrade package: no version file (%s or %s)", dir, cands[0],
                   cands[1]);
    free(cands[0]);
    free(cands[1]);
    if (!pkg->version_file) goto fail;
    pkg->version = first_line(pkg->version_file, e);
    if (!pkg->version) goto fail;
    if (!*pkg->version) {
        hm_err_set(e, "'%s' is not an upgrade package: the version file '%s' is empty", dir,
                   pkg->version_file);
        goto fail;
    }
    pkg->venvs = venvs;
    return 0;
fail:
    free(venvs);
    upgrade_package_free(pkg);
    return -1;
}

void upgrade_package_free(upgrade_package *pkg)
{
    free(pkg->venvs);
    free(pkg->version);
    free(pkg->version_file);
    sv_free(&pkg->services);
    memset(pkg, 0, sizeof *pkg);
}

char *upgrade_installed_version(const upgrade_paths *p, hm_err *e)
{
    hm_err le = {{0}};
    char *v = first_line(p->version, &le);
    if (!v) {
        const char *why = strstr(le.msg, "': ");
        hm_err_set(e, "cannot read the installed version '%s': %s", p->version,
                   why ? why + 3 : le.msg);
    }
    return v;
}

/* Backups */

static void backup_free(upgrade_backup *b)
{
    free(b->name);
    free(b->path);
    free(b->version);
    free(b->user);
    free(b->reason);
}

void upgrade_backups_free(upgrade_backup *v, int n)
{
    for (int i = 0; i < n; i++) backup_free(&v[i]);
    free(v);
}

/* "key=value" lines into the fields asked for. */
static char *info_get(const char *text, const char *key)
{
    size_t kn = strlen(key);
    for (const char *l = text; l && *l;) {
        size_t n = strcspn(l, "\n");
        if (n > kn && strncmp(l, key, kn) == 0 && l[kn] == '=') return xstrndup(l + kn + 1, n - kn - 1);
        l += n;
        if (*l) l++;
    }
    return NULL;
}

static int cmp_backup(const void *a, const void *b)
{
    return -strcmp(((const upgrade_backup *)a)->name, ((const upgrade_backup *)b)->name);
}

int upgrade_backups_list(const upgrade_paths *p, upgrade_backup **out, hm_err *e)
{
    *out = NULL;
    DIR *d = opendir(p->backups);
    if (!d) {
        if (errno == ENOENT) return 0;
        return hm_err_set(e, "cannot read the backup directory '%s': %s", p->backups,
                          strerror(errno));
    }
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *path = xasprintf("%s/%s", p->backups, de->d_name);
        char *info_path = xasprintf("%s/" BACKUP_INFO, path);
        char *info = hm_read_file(info_path, NULL, NULL);
        free(info_path);
        if (!info) {
            free(path);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = xrealloc(*out, (size_t)cap * sizeof **out);
        }
        upgrade_backup *b = &(*out)[n++];
        memset(b, 0, sizeof *b);
        b->name = xstrdup(de->d_name);
        b->path = path;
        b->version = info_get(info, "version");
        b->user = info_get(info, "user");
        b->reason = info_get(info, "reason");
        fs_tree_size(path, &b->bytes, NULL);
        free(info);
    }
    closedir(d);
    if (n > 1) qsort(*out, (size_t)n, sizeof **out, cmp_backup);
    return n;
}

/* Makes BACKUPS/<timestamp>/ from the installed venvs, config and version. */
static int backup_make(const upgrade_paths *p, const char *version, const char *reason,
                       char **name_out, hm_err *e)
{
    if (fs_mkdir_p(p->backups, 0700, e) < 0) return -1;
    time_t t = (time_t)(hm_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char *name = xstrdup(stamp), *final = NULL;
    for (int i = 2;; i++) {
        final = xasprintf("%s/%s", p->backups, name);
        if (!fs_exists(final)) break;
        free(final);
        free(name);
        name = xasprintf("%s-%d", stamp, i);
    }
    char *tmp = xasprintf("%s/.%s.partial", p->backups, name);
    char *sub = NULL;
    int rc = fs_remove_tree(tmp, e);
    if (!rc && mkdir(tmp, 0700) < 0)
        rc = hm_err_set(e, "cannot create '%s': %s", tmp, strerror(errno));
    if (!rc) {
        sub = xasprintf("%s/venvs", tmp);
        rc = fs_copy_tree(p->venvs, sub, NULL, NULL, e);
        free(sub);
    }
    if (!rc && fs_is_dir(p->config)) {
        sub = xasprintf("%s/config", tmp);
        rc = fs_copy_tree(p->config, sub, NULL, NULL, e);
        free(sub);
    }
    if (!rc && version) {
        sub = xasprintf("%s/version", tmp);
        char *text = xasprintf("%s\n", version);
        rc = fs_write_atomic(sub, text, strlen(text), 0644, e);
        free(text);
        free(sub);
    }
    if (!rc) {
        char when[40];
        hm_format_time(hm_now_ms(), when, sizeof when);
        char *user = audit_user();
        char *info = xasprintf("version=%s\ncreated=%s\nuser=%s\nreason=%s\n",
                               version ? version : "", when, user, reason);
        sub = xasprintf("%s/" BACKUP_INFO, tmp);
        rc = fs_write_atomic(sub, info, strlen(info), 0600, e);
        free(sub);
        free(info);
        free(user);
    }
    if (!rc && rename(tmp, final) < 0)
        rc = hm_err_set(e, "cannot rename '%s' to '%s': %s", tmp, final, strerror(errno));
    if (!rc) rc = fs_sync_dir(p->backups, e);
    if (rc) {
        hm_err_prefix(e, "backup failed");
        fs_remove_tree(tmp, NULL);
        free(name);
    } else {
        *name_out = name;
    }
    free(tmp);
    free(final);
    return rc;
}

/* Journal */

void upgrade_journal_free(upgrade_journal *j)
{
    free(j->action);
    free(j->from);
    free(j->to);
    free(j->backup);
    free(j->phase);
    memset(j, 0, sizeof *j);
}

int upgrade_journal_read(const upgrade_paths *p, upgrade_journal *j, hm_err *e)
{
    memset(j, 0, sizeof *j);
    if (!fs_exists(p->journal)) return 0;
    char *text = hm_read_file(p->journal, NULL, e);
    if (!text) return -1;
    j->action = info_get(text, "action");
    j->from = info_get(text, "from");
    j->to = info_get(text, "to");
    j->backup = info_get(text, "backup");
    j->phase = info_get(text, "phase");
    char *id = info_get(text, "audit");
    j->audit_id = id ? strtoll(id, NULL, 10) : 0;
    free(id);
    free(text);
    if (!j->phase) j->phase = xstrdup("unknown");
    return 1;
}

static int journal_write(const upgrade_paths *p, const upgrade_journal *j, hm_err *e)
{
    char *text = xasprintf("action=%s\nfrom=%s\nto=%s\nbackup=%s\nphase=%s\naudit=%lld\n",
                           j->action, j->from ? j->from : "", j->to ? j->to : "",
                           j->backup ? j->backup : "", j->phase, (long long)j->audit_id);
    int rc = fs_write_atomic(p->journal, text, strlen(text), 0600, e);
    free(text);
    return rc;
}

static int journal_phase(const upgrade_paths *p, upgrade_journal *j, const char *phase, hm_err *e)
{
    free(j->phase);
    j->phase = xstrdup(phase);
    return journal_write(p, j, e);
}

static void journal_remove(const upgrade_paths *p)
{
    unlink(p->journal);
    fs_sync_dir(p->dir, NULL);
}

/* Hooks */

static void say(const upgrade_hooks *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const upgrade_hooks *h, const char *fmt, ...)
{
    if (!h || !h->say) return;
    va_list ap;
    va_start(ap, fmt);
    strbuf sb = {0};
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    h->say(h->ud, sb_str(&sb));
    sb_free(&sb);
}

static int64_t audit_begin_h(const upgrade_hooks *h, const char *action, const char *from,
                             const char *to, const char *detail)
{
    return h && h->audit_begin ? h->audit_begin(h->ud, action, from, to, detail) : 0;
}

static void audit_finish_h(const upgrade_hooks *h, int64_t id, const char *result,
                           const char *detail)
{
    if (h && h->audit_finish && id > 0) h->audit_finish(h->ud, id, result, detail);
}

/* HMCTL_TEST_PAUSE=STEP stops the run at STEP until it is killed, so tests can interrupt an
 * upgrade at a known point. */
static void test_pause(const char *step)
{
    const char *want = getenv("HMCTL_TEST_PAUSE");
    if (!want || strcmp(want, step) != 0) return;
    fprintf(stderr, "hmctl: paused at %s (HMCTL_TEST_PAUSE)\n", step);
    fflush(stderr);
    for (;;) pause();
}

static void pause_after_first_file(const char *rel, void *ud)
{
    bool *first = ud;
    if (*first) {
        *first = false;
        test_pause("copy");
    }
}

/* Lock */

static int take_lock(const upgrade_paths *p, const upgrade_hooks *h, hm_err *e)
{
    if (!fs_is_dir(p->dir))
        return hm_err_set(e, "the installer directory '%s' does not exist (set [installer] dir)",
                          p->dir);
    int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return hm_err_set(e, "cannot create '%s': %s", p->lock, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        close(fd);
        if (err == EWOULDBLOCK) return hm_err_set(e, "another hmctl upgrade is running on '%s'", p->dir);
        return hm_err_set(e, "cannot lock '%s': %s", p->lock, strerror(err));
    }
    upgrade_journal j;
    int jr = upgrade_journal_read(p, &j, e);
    if (jr < 0) {
        close(fd);
        return -1;
    }
    if (jr == 0 || strcmp(j.phase, "installing") == 0) {
        /* Before the swap nothing of DIR/venvs changed: the leftovers can go. */
        if (fs_exists(p->staging)) {
            say(h, "Removing '%s' left by an interrupted run", p->staging);
            if (fs_remove_tree(p->staging, e) < 0) {
                upgrade_journal_free(&j);
                close(fd);
                return -1;
            }
        }
        if (jr == 1) {
            say(h, "An interrupted %s from %s to %s had not changed anything", j.action,
                j.from, j.to);
            audit_finish_h(h, j.audit_id, "interrupted", "interrupted before the swap; nothing changed");
            journal_remove(p);
        }
    }
    upgrade_journal_free(&j);
    return fd;
}

/* Install */

/* Puts the tree at src in place of DIR/venvs: copy into the staging directory, swap. The old
 * venvs end up in the staging directory. A missing DIR/venvs (an interrupted fallback swap) is
 * simply filled. */
static int install_tree(const upgrade_paths *p, const char *src, upgrade_journal *j, hm_err *e)
{
    if (fs_remove_tree(p->staging, e) < 0) return -1;
    bool first = true;
    if (fs_copy_tree(src, p->staging, pause_after_first_file, &first, e) < 0) return -1;
    test_pause("swap");
    if (journal_phase(p, j, "swapping", e) < 0) return -1;
    if (!fs_exists(p->venvs)) {
        if (rename(p->staging, p->venvs) < 0)
            return hm_err_set(e, "cannot rename '%s' to '%s': %s", p->staging, p->venvs,
                              strerror(errno));
        return fs_sync_dir(p->dir, e);
    }
    hm_err xe = {{0}};
    if (fs_exchange(p->venvs, p->staging, &xe) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
        /* The exchange did not happen: DIR/venvs is untouched. */
        journal_phase(p, j, "installing", NULL);
        return hm_err_set(e, "%s", xe.msg);
    }
    /* A file system without RENAME_EXCHANGE: two renames. Between them DIR/venvs is missing,
     * never mixed; the journal says "swapping" and a rollback fills it. */
    char *old = xasprintf("%s/.venvs.hmctl-old", p->dir);
    int rc = 0;
    if (fs_remove_tree(old, e) < 0 || rename(p->venvs, old) < 0 ||
        rename(p->staging, p->venvs) < 0 || rename(old, p->staging) < 0)
        rc = hm_err_set(e, "cannot swap '%s' with the new files: %s", p->venvs, strerror(errno));
    free(old);
    return rc ? rc : fs_sync_dir(p->dir, e);
}

static int write_version(const upgrade_paths *p, const char *version, hm_err *e)
{
    if (!version) return 0;
    char *text = xasprintf("%s\n", version);
    int rc = fs_write_atomic(p->version, text, strlen(text), 0644, e);
    free(text);
    return rc;
}

/* Restores backup b's venvs and version. */
static int restore_backup(const upgrade_paths *p, const upgrade_backup *b, upgrade_journal *j,
                          hm_err *e)
{
    char *src = xasprintf("%s/venvs", b->path);
    int rc = fs_is_dir(src) ? 0 : hm_err_set(e, "the backup '%s' holds no venvs directory", b->path);
    if (!rc) rc = install_tree(p, src, j, e);
    free(src);
    if (!rc) rc = journal_phase(p, j, "swapped", e);
    if (!rc) rc = write_version(p, b->version && *b->version ? b->version : NULL, e);
    return rc;
}

static void prune_backups(const upgrade_paths *p, int keep, const upgrade_hooks *h)
{
    if (keep <= 0) return;
    upgrade_backup *v;
    int n = upgrade_backups_list(p, &v, NULL);
    for (int i = keep; i < n; i++) {
        hm_err e = {{0}};
        if (fs_remove_tree(v[i].path, &e) == 0) say(h, "Removed the old backup %s", v[i].name);
        else say(h, "warning: %s", e.msg);
    }
    if (n > 0) upgrade_backups_free(v, n);
}

static upgrade_backup *find_backup(upgrade_backup *v, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) return &v[i];
    return NULL;
}

void upgrade_result_free(upgrade_result *r)
{
    free(r->from);
    free(r->to);
    free(r->backup);
    free(r->reason);
    memset(r, 0, sizeof *r);
}

static int restart(const upgrade_hooks *h, const upgrade_paths *p, hm_err *e)
{
    return h && h->restart ? h->restart(h->ud, p, e) : 0;
}

/* The pre-checks that need no change on disk. */
static int precheck(const upgrade_paths *p, const upgrade_package *pkg, bool allow_downgrade,
                    char **from, hm_err *e)
{
    upgrade_journal j;
    int jr = upgrade_journal_read(p, &j, e);
    if (jr < 0) return -1;
    if (jr == 1) {
        hm_err_set(e, "an interrupted %s from %s to %s was found (backup %s, phase %s); "
                      "'hmctl upgrade --rollback' restores %s",
                   j.action, j.from, j.to, j.backup, j.phase, j.backup);
        upgrade_journal_free(&j);
        return -1;
    }
    if (!fs_is_dir(p->venvs))
        return hm_err_set(e, "the installed venvs directory '%s' does not exist", p->venvs);
    char rp[PATH_MAX], rv[PATH_MAX];
    if (realpath(pkg->venvs, rp) && realpath(p->venvs, rv) && strcmp(rp, rv) == 0)
        return hm_err_set(e, "'%s' is the installed venvs directory, not an upgrade package",
                          pkg->venvs);
    hm_err ve = {{0}};
    *from = upgrade_installed_version(p, &ve);
    if (!*from && !allow_downgrade)
        return hm_err_set(e, "%s; --allow-downgrade installs the package anyway", ve.msg);
    if (*from && upgrade_version_compare(pkg->version, *from) <= 0 && !allow_downgrade)
        return hm_err_set(e, "package version %s is not newer than the installed %s; "
                             "--allow-downgrade installs it anyway",
                          pkg->version, *from);

    uint64_t venvs_sz, config_sz = 0, pkg_sz, free_dir, free_bk;
    if (fs_tree_size(p->venvs, &venvs_sz, e) < 0 || fs_tree_size(pkg->venvs, &pkg_sz, e) < 0)
        return -1;
    if (fs_is_dir(p->config) && fs_tree_size(p->config, &config_sz, e) < 0) return -1;
    if (fs_mkdir_p(p->backups, 0700, e) < 0) return -1;
    bool same;
    if (fs_free_bytes(p->dir, &free_dir, e) < 0 || fs_free_bytes(p->backups, &free_bk, e) < 0 ||
        fs_same_fs(p->dir, p->backups, &same, e) < 0)
        return -1;
    uint64_t backup_need = venvs_sz + config_sz + 8192;
    char a[16], b[16], c[16];
    if (same && backup_need + pkg_sz > free_dir) {
        hm_format_bytes(backup_need + pkg_sz, a, sizeof a);
        hm_format_bytes(free_dir, b, sizeof b);
        return hm_err_set(e, "not enough free disk on '%s': the backup and the new files need %s, "
                             "%s are free", p->dir, a, b);
    }
    if (!same && (backup_need > free_bk || pkg_sz > free_dir)) {
        bool bk = backup_need > free_bk;
        hm_format_bytes(bk ? backup_need : pkg_sz, a, sizeof a);
        hm_format_bytes(bk ? free_bk : free_dir, b, sizeof b);
        snprintf(c, sizeof c, "%s", bk ? "backup" : "new files");
        return hm_err_set(e, "not enough free disk on '%s': the %s need %s, %s are free",
                          bk ? p->backups : p->dir, c, a, b);
    }
    return 0;
}

int upgrade_run(const upgrade_paths *p, const upgrade_package *pkg, bool allow_downgrade,
                int keep_backups, const upgrade_hooks *h, upgrade_result *r, hm_err *e)
{
    memset(r, 0, sizeof *r);
    int lock = take_lock(p, h, e);
    if (lock < 0) return -1;
    char *from = NULL, *backup = NULL;
    int rc = precheck(p, pkg, allow_downgrade, &from, e);
    r->to = xstrdup(pkg->version);
    r->from = xstrdup(from);
    if (rc < 0) goto out;

    int64_t aid = audit_begin_h(h, "upgrade", from, pkg->version, NULL);
    char *reason = xasprintf("before the upgrade to %s", pkg->version);
    say(h, "Backing up %s and %s to %s", p->venvs, p->config, p->backups);
    rc = backup_make(p, from, reason, &backup, e);
    free(reason);
    if (rc < 0) {
        audit_finish_h(h, aid, "failed", e->msg);
        goto out;
    }
    r->backup = xstrdup(backup);
    say(h, "Backup %s made", backup);
    upgrade_journal j = {.action = xstrdup("upgrade"), .from = xstrdup(from),
                         .to = xstrdup(pkg->version), .backup = xstrdup(backup),
                         .phase = xstrdup("installing"), .audit_id = aid};
    if (journal_write(p, &j, e) < 0) {
        audit_finish_h(h, aid, "failed", e->msg);
        upgrade_journal_free(&j);
        rc = -1;
        goto out;
    }
    say(h, "Installing %s %s into %s", pkg->venvs, pkg->version, p->venvs);
    rc = install_tree(p, pkg->venvs, &j, e);
    if (rc < 0 && strcmp(j.phase, "installing") == 0) {
        /* Nothing was swapped: DIR/venvs is as it was. */
        fs_remove_tree(p->staging, NULL);
        journal_remove(p);
        hm_err_prefix(e, "upgrade failed, nothing was changed");
        audit_finish_h(h, aid, "failed", e->msg);
        upgrade_journal_free(&j);
        goto out;
    }
    hm_err why = {{0}};
    if (rc == 0) {
        test_pause("swapped");
        rc = journal_phase(p, &j, "swapped", &why);
        if (!rc) rc = write_version(p, pkg->version, &why);
        if (!rc) rc = journal_phase(p, &j, "restarting", &why);
        if (!rc) {
            say(h, "Restarting the services that use %s", p->venvs);
            rc = restart(h, p, &why);
        }
    } else {
        why = *e;
    }
    if (rc == 0) {
        hm_err ce = {{0}};
        if (fs_remove_tree(p->staging, &ce) < 0) say(h, "warning: %s", ce.msg);
        journal_remove(p);
        audit_finish_h(h, aid, "ok", backup);
        say(h, "Upgraded from %s to %s", from ? from : "an unknown version", pkg->version);
        upgrade_journal_free(&j);
        prune_backups(p, keep_backups, h);
        goto out;
    }

    /* After the swap: restore the backup. */
    r->reason = xstrdup(why.msg);
    say(h, "The upgrade failed: %s", why.msg);
    say(h, "Rolling back to %s from backup %s", from ? from : "the previous version", backup);
    upgrade_backup *v = NULL;
    int n = upgrade_backups_list(p, &v, e);
    upgrade_backup *b = n > 0 ? find_backup(v, n, backup) : NULL;
    hm_err re = {{0}};
    int rrc = b ? 0 : hm_err_set(&re, "backup %s is gone", backup);
    if (!rrc) {
        journal_phase(p, &j, "rolling back", NULL);
        rrc = restore_backup(p, b, &j, &re);
    }
    if (!rrc) rrc = restart(h, p, &re);
    if (n > 0) upgrade_backups_free(v, n);
    if (rrc == 0) {
        fs_remove_tree(p->staging, NULL);
        journal_remove(p);
        r->rolled_back = true;
        hm_err_set(e, "upgrade to %s failed: %s; rolled back to %s from backup %s", pkg->version,
                   why.msg, from ? from : "the previous version", backup);
        audit_finish_h(h, aid, "rolled back", why.msg);
    } else {
        hm_err_set(e, "upgrade to %s failed: %s; the rollback failed too: %s; "
                      "'hmctl upgrade --rollback' retries it",
                   pkg->version, why.msg, re.msg);
        audit_finish_h(h, aid, "failed", e->msg);
    }
    upgrade_journal_free(&j);
    rc = -1;
out:
    free(from);
    free(backup);
    close(lock);
    return rc;
}

int upgrade_rollback(const upgrade_paths *p, const char *name, const upgrade_hooks *h,
                     upgrade_result *r, hm_err *e)
{
    memset(r, 0, sizeof *r);
    int lock = take_lock(p, h, e);
    if (lock < 0) return -1;
    upgrade_journal old;
    int jr = upgrade_journal_read(p, &old, e);
    upgrade_backup *v = NULL;
    int n = jr < 0 ? -1 : upgrade_backups_list(p, &v, e);
    int rc = -1;
    const char *want = name ? name : jr == 1 && old.backup && *old.backup ? old.backup : NULL;
    upgrade_backup *b = NULL;
    if (n < 0) goto out;
    if (n == 0) {
        hm_err_set(e, "no hmctl backup in '%s'", p->backups);
        goto out;
    }
    b = want ? find_backup(v, n, want) : &v[0];
    if (!b) {
        hm_err_set(e, "no backup named '%s' in '%s'", want, p->backups);
        goto out;
    }
    r->from = upgrade_installed_version(p, NULL);
    r->to = xstrdup(b->version);
    r->backup = xstrdup(b->name);
    int64_t aid = audit_begin_h(h, "rollback", r->from, b->version, b->name);
    upgrade_journal j = {.action = xstrdup("rollback"), .from = xstrdup(r->from),
                         .to = xstrdup(b->version), .backup = xstrdup(b->name),
                         .phase = xstrdup("installing"), .audit_id = aid};
    say(h, "Restoring %s from backup %s (version %s)", p->venvs, b->name,
        b->version && *b->version ? b->version : "unknown");
    rc = journal_write(p, &j, e);
    if (!rc) rc = restore_backup(p, b, &j, e);
    if (rc < 0 && strcmp(j.phase, "installing") == 0) {
        fs_remove_tree(p->staging, NULL);
        /* An older journal still describes the state; this attempt changed nothing. */
        if (jr == 1) journal_write(p, &old, NULL);
        else journal_remove(p);
    }
    if (!rc) {
        say(h, "Restarting the services that use %s", p->venvs);
        rc = restart(h, p, e);
        if (rc < 0) hm_err_prefix(e, "restored backup %s, but", b->name);
        fs_remove_tree(p->staging, NULL);
        journal_remove(p);
    }
    audit_finish_h(h, aid, rc == 0 ? "ok" : "failed", rc == 0 ? NULL : e->msg);
    if (rc == 0 && jr == 1) audit_finish_h(h, old.audit_id, "interrupted", "rolled back afterwards");
    if (rc == 0) say(h, "Rolled back to %s", b->version && *b->version ? b->version : b->name);
    upgrade_journal_free(&j);
out:
    if (jr == 1) upgrade_journal_free(&old);
    if (n > 0) upgrade_backups_free(v, n);
    close(lock);
    return rc;
}
