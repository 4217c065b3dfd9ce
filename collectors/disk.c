/* The disk-space lines of the seed's `hmctl status`: log space (the installer's log directories),
 * program space (the installer directory) and free space. Sizes are du's: allocated blocks of
 * every file below the directory, symbolic links not followed, each hard-linked file once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "collectors/collector.h"
#include "lib/clock.h"

struct walk {
    uint64_t bytes;
    unsigned errors;
    char first_error[256];
    bool timed_out;
    int64_t deadline;
    /* inodes with several links already counted */
    struct { dev_t dev; ino_t ino; } *seen;
    size_t n_seen, cap_seen;
};

static bool seen_before(struct walk *w, const struct stat *st)
{
    for (size_t i = 0; i < w->n_seen; i++)
        if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino) return true;
    if (w->n_seen == w->cap_seen) {
        w->cap_seen = w->cap_seen ? w->cap_seen * 2 : 64;
        w->seen = xrealloc(w->seen, w->cap_seen * sizeof(*w->seen));
    }
    w->seen[w->n_seen].dev = st->st_dev;
    w->seen[w->n_seen].ino = st->st_ino;
    w->n_seen++;
    return false;
}

static void note_error(struct walk *w, const char *path)
{
    if (!w->errors++) snprintf(w->first_error, sizeof w->first_error, "%s: %s", path, strerror(errno));
}

static void walk_dir(struct walk *w, int dirfd, const char *path, int depth)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        note_error(w, path);
        close(dirfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (hm_mono_ms() > w->deadline) {
            w->timed_out = true;
            break;
        }
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            char *p = xasprintf("%s/%s", path, de->d_name);
            note_error(w, p);
            free(p);
            continue;
        }
        if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && seen_before(w, &st)) continue;
        w->bytes += (uint64_t)st.st_blocks * 512;
        if (S_ISDIR(st.st_mode) && depth < 64) {
            int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            char *p = xasprintf("%s/%s", path, de->d_name);
            if (fd < 0) note_error(w, p);
            else walk_dir(w, fd, p, depth + 1);
            free(p);
        }
    }
    closedir(d);
}

/* Sums one directory. Returns 1 when it exists, 0 when absent. */
static int dir_usage(const char *path, struct walk *w)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT) return 0;
        note_error(w, path);
        return 1;
    }
    w->bytes += (uint64_t)st.st_blocks * 512;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        note_error(w, path);
        return 1;
    }
    walk_dir(w, fd, path, 0);
    return 1;
}

static void usage_component(const hm_collect_ctx *cc, hm_result *out, const char *name,
                            const char *metric, const strvec *dirs)
{
    struct walk w = {0};
    w.deadline = cc->deadline_mono;
    strbuf detail = {0};
    size_t present = 0;
    for (size_t i = 0; i < dirs->n; i++) {
        uint64_t before = w.bytes;
        char size[32];
        if (dir_usage(dirs->v[i], &w)) {
            present++;
            hm_format_bytes(w.bytes - before, size, sizeof size);
            sb_addf(&detail, "%s%s %s", detail.len ? ", " : "", dirs->v[i], size);
            char *series = hm_series(metric, "dir", dirs->v[i], NULL);
            hm_result_add_sample(out, series, (double)(w.bytes - before), "bytes", cc->now_ms);
            free(series);
        } else {
            sb_addf(&detail, "%s%s absent", detail.len ? ", " : "", dirs->v[i]);
        }
    }
    enum hm_state state = HM_OK;
    char total[32];
    hm_format_bytes(w.bytes, total, sizeof total);
    if (present == 0) {
        snprintf(total, sizeof total, "absent");
    } else {
        char *series = xasprintf("%s.total", metric);
        hm_result_add_sample(out, series, (double)w.bytes, "bytes", cc->now_ms);
        free(series);
    }
    if (w.timed_out) {
        state = HM_UNKNOWN;
        sb_adds(&detail, " (incomplete: stopped at the time limit)");
    }
    if (w.errors) {
        state = hm_state_worse(state, HM_WARNING);
        sb_addf(&detail, " (%u unreadable, first %s)", w.errors, w.first_error);
    }
    hm_result_add_component(out, name, "disk", state, total, "%s", sb_str(&detail));
    sb_free(&detail);
    free(w.seen);
}

void collect_disk(const hm_collect_ctx *cc, hm_result *out)
{
    strvec logs = {0}, prog = {0};
    cfg_get_list(cc->cfg, "installer", NULL, "log_dirs", &logs);
    const char *pd = cfg_get(cc->cfg, "installer", NULL, "program_dir");
    if (pd) sv_push(&prog, pd);
    usage_component(cc, out, "log space", "disk.log.bytes", &logs);
    usage_component(cc, out, "program space", "disk.program.bytes", &prog);
    sv_free(&logs);
    sv_free(&prog);

    const char *path = cfg_get(cc->cfg, "installer", NULL, "free_path");
    if (!path) path = "/";
    struct statvfs vfs;
    if (statvfs(path, &vfs) < 0) {
        hm_result_add_component(out, "free disk", "disk", HM_UNKNOWN, "unknown",
                                "cannot stat file system of '%s': %s", path, strerror(errno));
        return;
    }
    double frsize = (double)vfs.f_frsize;
    double total = (double)vfs.f_blocks * frsize;
    double avail = (double)vfs.f_bavail * frsize;
    double used = (double)(vfs.f_blocks - vfs.f_bfree) * frsize;
    double pct = used + avail > 0 ? 100.0 * used / (used + avail) : 0;
    double dw = cfg_get_number(cc->cfg, "thresholds", NULL, "disk_warning", 80);
    double dc = cfg_get_number(cc->cfg, "thresholds", NULL, "disk_critical", 90);
    enum hm_state state = pct >= dc ? HM_CRITICAL : pct >= dw ? HM_WARNING : HM_OK;
    char a[32], t[32];
    hm_format_bytes((uint64_t)avail, a, sizeof a);
    hm_format_bytes((uint64_t)total, t, sizeof t);
    char *series = hm_series("disk.free.bytes", "path", path, NULL);
    hm_result_add_sample(out, series, avail, "bytes", cc->now_ms);
    free(series);
    series = hm_series("disk.used.percent", "path", path, NULL);
    hm_result_add_sample(out, series, pct, "percent", cc->now_ms);
    free(series);
    hm_result_add_component(out, "free disk", "disk", state, a, "%s free of %s on %s (%.0f%% used)",
                            a, t, path, pct);
}
