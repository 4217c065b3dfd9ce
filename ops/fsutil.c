/* File-tree operations on directory file descriptors (openat and friends), so a tree is walked
 * without following symbolic links and without building ever longer paths for the system. */
#include "ops/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int sys_err(hm_err *e, const char *what, const char *path)
{
    return hm_err_set(e, "%s '%s': %s", what, path, strerror(errno));
}

bool fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

bool fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fs_mkdir_p(const char *dir, unsigned mode, hm_err *e)
{
    char *p = xstrdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            sys_err(e, "cannot create", p);
            free(p);
            return -1;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return 0;
}

static char *join(const char *a, const char *b)
{
    return *a ? xasprintf("%s/%s", a, b) : xstrdup(b);
}

/* Copies one regular file from (sdir, name) to (ddir, name). */
static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, const char *spath,
                     const char *dpath, hm_err *e)
{
    int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) return sys_err(e, "cannot read", spath);
    int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        sys_err(e, "cannot create", dpath);
        close(in);
        return -1;
    }
    int rc = 0;
    char *buf = xmalloc(1 << 16);
    for (;;) {
        ssize_t n = read(in, buf, 1 << 16);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = sys_err(e, "cannot read", spath);
            break;
        }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                rc = sys_err(e, "cannot write", dpath);
                break;
            }
            off += w;
        }
        if (rc) break;
    }
    free(buf);
    if (!rc && geteuid() == 0 && fchown(out, st->st_uid, st->st_gid) < 0)
        rc = sys_err(e, "cannot set the owner of", dpath);
    if (!rc && fchmod(out, st->st_mode & 07777) < 0) rc = sys_err(e, "cannot set the mode of", dpath);
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (!rc && futimens(out, ts) < 0) rc = sys_err(e, "cannot set the time of", dpath);
    if (close(out) < 0 && !rc) rc = sys_err(e, "cannot write", dpath);
    close(in);
    return rc;
}

struct copy {
    fs_copy_cb cb;
    void *ud;
    hm_err *e;
    const char *src_root, *dst_root;
};

/* Copies the contents of directory sdir (relative path rel) into ddir. */
static int copy_dir(struct copy *cp, int sdir, int ddir, const char *rel)
{
    int dupfd = dup(sdir);
    if (dupfd < 0) return sys_err(cp->e, "cannot read", cp->src_root);
    DIR *d = fdopendir(dupfd);
    if (!d) {
        close(dupfd);
        return sys_err(cp->e, "cannot read", cp->src_root);
    }
    int rc = 0;
    struct dirent *de;
    while (!rc && (errno = 0, de = readdir(d))) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        char *r = join(rel, name);
        char *spath = xasprintf("%s/%s", cp->src_root, r);
        char *dpath = xasprintf("%s/%s", cp->dst_root, r);
        struct stat st;
        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = sys_err(cp->e, "cannot read", spath);
        } else if (S_ISREG(st.st_mode)) {
            rc = copy_file(sdir, ddir, name, &st, spath, dpath, cp->e);
            if (!rc && cp->cb) cp->cb(r, cp->ud);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
            if (n < 0) {
                rc = sys_err(cp->e, "cannot read", spath);
            } else {
                target[n] = '\0';
                if (symlinkat(target, ddir, name) < 0) rc = sys_err(cp->e, "cannot create", dpath);
                else if (geteuid() == 0 &&
                         fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                    rc = sys_err(cp->e, "cannot set the owner of", dpath);
            }
        } else if (S_ISDIR(st.st_mode)) {
            int s2 = -1, d2 = -1;
            if ((s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                rc = sys_err(cp->e, "cannot read", spath);
            else if (mkdirat(ddir, name, 0700) < 0)
                rc = sys_err(cp->e, "cannot create", dpath);
            else if ((d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                rc = sys_err(cp->e, "cannot open", dpath);
            else
                rc = copy_dir(cp, s2, d2, r);
            if (!rc && geteuid() == 0 && fchown(d2, st.st_uid, st.st_gid) < 0)
                rc = sys_err(cp->e, "cannot set the owner of", dpath);
            if (!rc && fchmod(d2, st.st_mode & 07777) < 0)
                rc = sys_err(cp->e, "cannot set the mode of", dpath);
            struct timespec ts[2] = {st.st_atim, st.st_mtim};
            if (!rc && futimens(d2, ts) < 0) rc = sys_err(cp->e, "cannot set the time of", dpath);
            if (s2 >= 0) close(s2);
            if (d2 >= 0) close(d2);
        } else {
            rc = hm_err_set(cp->e, "cannot copy '%s': not a regular file, directory or symbolic link",
                            spath);
        }
        free(r);
        free(spath);
        free(dpath);
    }
    if (!rc && errno) rc = sys_err(cp->e, "cannot read", cp->src_root);
    closedir(d);
    return rc;
}

int fs_copy_tree(const char *src, const char *dst, fs_copy_cb on_file, void *ud, hm_err *e)
{
    struct stat st;
    int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0 || fstat(sfd, &st) < 0) {
        sys_err(e, "cannot read", src);
        if (sfd >= 0) close(sfd);
        return -1;
    }
    if (mkdir(dst, 0700) < 0) {
        sys_err(e, "cannot create", dst);
        close(sfd);
        return -1;
    }
    int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        sys_err(e, "cannot open", dst);
        close(sfd);
        return -1;
    }
    struct copy cp = {on_file, ud, e, src, dst};
    int rc = copy_dir(&cp, sfd, dfd, "");
    if (!rc && geteuid() == 0 && fchown(dfd, st.st_uid, st.st_gid) < 0)
        rc = sys_err(e, "cannot set the owner of", dst);
    if (!rc && fchmod(dfd, st.st_mode & 07777) < 0) rc = sys_err(e, "cannot set the mode of", dst);
    if (!rc && syncfs(dfd) < 0) rc = sys_err(e, "cannot flush", dst);
    close(dfd);
    close(sfd);
    return rc;
}

static int remove_in(int dfd, const char *path, hm_err *e)
{
    int dupfd = dup(dfd);
    DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
    if (!d) {
        if (dupfd >= 0) close(dupfd);
        return sys_err(e, "cannot remove", path);
    }
    int rc = 0;
    struct dirent *de;
    while (!rc && (errno = 0, de = readdir(d))) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        char *p = xasprintf("%s/%s", path, name);
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT) rc = sys_err(e, "cannot remove", p);
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) rc = sys_err(e, "cannot remove", p);
            else {
                /* A directory without write permission (a read-only package) can still be
                 * emptied by its owner once made writable. */
                if (faccessat(dfd, name, W_OK, AT_EACCESS) < 0) fchmod(sub, 0700);
                rc = remove_in(sub, p, e);
                close(sub);
            }
            if (!rc && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                rc = sys_err(e, "cannot remove", p);
        } else if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
            rc = sys_err(e, "cannot remove", p);
        }
        free(p);
    }
    if (!rc && errno) rc = sys_err(e, "cannot remove", path);
    closedir(d);
    return rc;
}

int fs_remove_tree(const char *path, hm_err *e)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : sys_err(e, "cannot remove", path);
    if (!S_ISDIR(st.st_mode)) return unlink(path) < 0 ? sys_err(e, "cannot remove", path) : 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_err(e, "cannot remove", path);
    int rc = remove_in(fd, path, e);
    close(fd);
    if (!rc && rmdir(path) < 0 && errno != ENOENT) rc = sys_err(e, "cannot remove", path);
    return rc;
}

static int size_in(int dfd, const char *path, uint64_t *sum, hm_err *e)
{
    int dupfd = dup(dfd);
    DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
    if (!d) {
        if (dupfd >= 0) close(dupfd);
        return sys_err(e, "cannot read", path);
    }
    int rc = 0;
    struct dirent *de;
    while (!rc && (errno = 0, de = readdir(d))) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        struct stat st;
        char *p = xasprintf("%s/%s", path, name);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = sys_err(e, "cannot read", p);
        } else if (S_ISDIR(st.st_mode)) {
            *sum += 4096;
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) rc = sys_err(e, "cannot read", p);
            else {
                rc = size_in(sub, p, sum, e);
                close(sub);
            }
        } else if (S_ISREG(st.st_mode)) {
            *sum += ((uint64_t)st.st_size + 4095) / 4096 * 4096;
        } else {
            *sum += 4096;
        }
        free(p);
    }
    if (!rc && errno) rc = sys_err(e, "cannot read", path);
    closedir(d);
    return rc;
}

int fs_tree_size(const char *path, uint64_t *out, hm_err *e)
{
    *out = 0;
    struct stat st;
    if (lstat(path, &st) < 0) return sys_err(e, "cannot read", path);
    if (!S_ISDIR(st.st_mode)) {
        *out = ((uint64_t)st.st_size + 4095) / 4096 * 4096;
        return 0;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_err(e, "cannot read", path);
    *out = 4096;
    int rc = size_in(fd, path, out, e);
    close(fd);
    return rc;
}

int fs_free_bytes(const char *path, uint64_t *out, hm_err *e)
{
    struct statvfs sv;
    if (statvfs(path, &sv) < 0) return sys_err(e, "cannot stat", path);
    *out = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return 0;
}

int fs_same_fs(const char *a, const char *b, bool *out, hm_err *e)
{
    struct stat sa, sb;
    if (stat(a, &sa) < 0) return sys_err(e, "cannot stat", a);
    if (stat(b, &sb) < 0) return sys_err(e, "cannot stat", b);
    *out = sa.st_dev == sb.st_dev;
    return 0;
}

static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

int fs_sync_dir(const char *dir, hm_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_err(e, "cannot open", dir);
    int rc = fsync(fd) < 0 ? sys_err(e, "cannot flush", dir) : 0;
    close(fd);
    return rc;
}

int fs_exchange(const char *a, const char *b, hm_err *e)
{
    if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0)
        return hm_err_set(e, "cannot exchange '%s' and '%s': %s", a, b, strerror(errno));
    char *pa = parent_of(a), *pb = parent_of(b);
    int rc = fs_sync_dir(pa, e);
    if (!rc && strcmp(pa, pb) != 0) rc = fs_sync_dir(pb, e);
    free(pa);
    free(pb);
    return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode, hm_err *e)
{
    char *tmp = xasprintf("%s.hmctl-tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    int rc = 0;
    if (fd < 0) {
        rc = sys_err(e, "cannot write", tmp);
        free(tmp);
        return rc;
    }
    const char *p = data;
    for (size_t off = 0; off < len && !rc;) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) rc = sys_err(e, "cannot write", tmp);
        else off += (size_t)w;
    }
    if (!rc && fchmod(fd, mode) < 0) rc = sys_err(e, "cannot set the mode of", tmp);
    if (!rc && fsync(fd) < 0) rc = sys_err(e, "cannot write", tmp);
    if (close(fd) < 0 && !rc) rc = sys_err(e, "cannot write", tmp);
    if (!rc && rename(tmp, path) < 0) rc = sys_err(e, "cannot write", path);
    if (rc) unlink(tmp);
    else {
        char *dir = parent_of(path);
        rc = fs_sync_dir(dir, e);
        free(dir);
    }
    free(tmp);
    return rc;
}
