/* hmctl logs collect: gathering, masking and archiving. */
#include "ops/logs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collectors/docker.h"
#include "lib/clock.h"
#include "ops/container.h"
#include "ops/mask.h"

static const char *const components[] = {"console", "proxy", "agent", "gateway"};

bool logs_component_valid(const char *name)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(components); i++)
        if (strcmp(name, components[i]) == 0) return true;
    return false;
}

static void utc_stamp(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
}

char *logs_default_name(int64_t now_ms)
{
    char host[256] = "localhost", stamp[32];
    gethostname(host, sizeof host - 1);
    host[strcspn(host, "./ ")] = '\0';
    utc_stamp(now_ms, stamp, sizeof stamp);
    return xasprintf("hmctl-logs-%s-%s.tar.gz", host, stamp);
}

enum kind { KIND_CONFIG, KIND_LOG };

struct bundle {
    const logs_opts *o;
    const hm_config *cfg;
    struct archive *a;
    char *top;
    strbuf manifest;
    strbuf missing;
    uint64_t total;
    int64_t now_ms;
    logs_summary *sum;
    bool failed;
    hm_err err;
};

static void say(struct bundle *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct bundle *b, const char *fmt, ...)
{
    if (!b->o->say) return;
    va_list ap;
    va_start(ap, fmt);
    strbuf sb = {0};
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    b->o->say(b->o->ud, sb_str(&sb));
    sb_free(&sb);
}

/* A field of a MANIFEST line: tabs and line ends would break the columns. */
static void add_field(strbuf *sb, const char *s)
{
    for (; *s; s++) sb_addc(sb, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static void missing(struct bundle *b, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void missing(struct bundle *b, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf why = {0};
    sb_vaddf(&why, fmt, ap);
    va_end(ap);
    add_field(&b->missing, what);
    sb_addc(&b->missing, '\t');
    add_field(&b->missing, sb_str(&why));
    sb_addc(&b->missing, '\n');
    sb_free(&why);
    b->sum->missing++;
}

static int write_entry(struct bundle *b, const char *path, const char *data, size_t len)
{
    if (b->failed) return -1;
    struct archive_entry *en = archive_entry_new();
    char *full = xasprintf("%s/%s", b->top, path);
    archive_entry_set_pathname(en, full);
    archive_entry_set_size(en, (la_int64_t)len);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0600);
    archive_entry_set_mtime(en, (time_t)(b->now_ms / 1000), 0);
    int rc = 0;
    if (archive_write_header(b->a, en) != ARCHIVE_OK ||
        (len && archive_write_data(b->a, data, len) != (la_ssize_t)len)) {
        hm_err_set(&b->err, "cannot write '%s': %s", b->o->output, archive_error_string(b->a));
        b->failed = true;
        rc = -1;
    }
    archive_entry_free(en);
    free(full);
    return rc;
}

/* Whether data looks binary: a NUL byte in its first 8 KiB. */
static bool is_binary(const char *data, size_t len)
{
    return memchr(data, '\0', len < 8192 ? len : 8192) != NULL;
}

/* Adds one file: masks it, cuts it to max_file (logs keep their end, configuration files their
 * beginning), respects max_total, records it in the MANIFEST. orig is the size at the source;
 * cut_before says the data read is already the end (or beginning) of a longer file. */
static void add_file(struct bundle *b, const char *path, const char *data, size_t len,
                     enum kind kind, uint64_t orig, const char *source)
{
    if (b->failed) return;
    if (is_binary(data, len)) {
        missing(b, path, "binary file (%s), left out", source);
        return;
    }
    strbuf m = {0};
    int masked = mask_text(data, len, &m);
    const char *out = m.buf ? m.buf : "";
    size_t n = m.len;
    char trunc[96] = "no";
    if (n > b->o->max_file || orig > len) {
        uint64_t keep = n > b->o->max_file ? b->o->max_file : n;
        if (kind == KIND_LOG) {
            out += n - keep;
            /* Start at a line. */
            const char *nl = memchr(out, '\n', keep);
            if (nl && (n > keep || orig > len) && (size_t)(nl - out) + 1 < keep) {
                keep -= (size_t)(nl - out) + 1;
                out = nl + 1;
            }
        }
        n = keep;
        char k[16], o[16];
        hm_format_bytes(n, k, sizeof k);
        hm_format_bytes(orig > len ? orig : m.len, o, sizeof o);
        snprintf(trunc, sizeof trunc, "kept the %s %s of %s", kind == KIND_LOG ? "last" : "first", k, o);
    }
    if (b->total + n > b->o->max_total) {
        char t[16];
        hm_format_bytes(b->o->max_total, t, sizeof t);
        missing(b, path, "the bundle reached [logs] max_total_size (%s)", t);
        sb_free(&m);
        return;
    }
    if (write_entry(b, path, out, n) == 0) {
        b->total += n;
        b->sum->files++;
        b->sum->bytes += n;
        b->sum->masked += (size_t)masked;
        if (strcmp(trunc, "no") != 0) b->sum->truncated++;
        sb_addf(&b->manifest, "%s\t%zu\t%d\t", path, n, masked);
        add_field(&b->manifest, trunc);
        sb_addc(&b->manifest, '\t');
        add_field(&b->manifest, source);
        sb_addc(&b->manifest, '\n');
    }
    sb_free(&m);
}

/* An archive path below prefix for an absolute source path; NULL when the path climbs. */
static char *archive_path(const char *prefix, const char *abs)
{
    while (*abs == '/') abs++;
    if (!strcmp(abs, "..") || hm_starts_with(abs, "../") || strstr(abs, "/../") ||
        (strlen(abs) >= 3 && !strcmp(abs + strlen(abs) - 3, "/..")))
        return NULL;
    return xasprintf("%s/%s", prefix, abs);
}

static bool is_gz(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* Local files */

/* Reads a gzip file's content, at most max bytes (*more set when there was more). */
static int read_gz(const char *path, uint64_t max, strbuf *out, bool *more, hm_err *e)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    struct archive_entry *en;
    int rc = 0;
    *more = false;
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
        archive_read_next_header(a, &en) != ARCHIVE_OK) {
        rc = hm_err_set(e, "cannot decompress '%s': %s", path, archive_error_string(a));
    } else {
        char buf[65536];
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
            uint64_t room = max > out->len ? max - out->len : 0;
            if ((uint64_t)n > room) {
                sb_add(out, buf, (size_t)room);
                *more = true;
                break;
            }
            sb_add(out, buf, (size_t)n);
        }
        if (n < 0) rc = hm_err_set(e, "cannot decompress '%s': %s", path, archive_error_string(a));
    }
    archive_read_free(a);
    return rc;
}

/* Reads at most max bytes of a file: its end for logs, its beginning otherwise. */
static int read_part(const char *path, enum kind kind, uint64_t max, strbuf *out, uint64_t *size,
                     hm_err *e)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    uint64_t want = *size < max ? *size : max;
    if (kind == KIND_LOG && *size > max) lseek(fd, (off_t)(*size - max), SEEK_SET);
    char buf[65536];
    int rc = 0;
    while (out->len < want) {
        size_t chunk = want - out->len < sizeof buf ? (size_t)(want - out->len) : sizeof buf;
        ssize_t n = read(fd, buf, chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        sb_add(out, buf, (size_t)n);
    }
    close(fd);
    return rc;
}

static void add_local_file(struct bundle *b, const char *prefix, const char *path, enum kind kind)
{
    char *ap = archive_path(prefix, path);
    if (!ap) return;
    strbuf data = {0};
    hm_err e = {{0}};
    uint64_t size = 0;
    bool more = false;
    int rc;
    if (is_gz(path)) {
        rc = read_gz(path, b->o->max_file, &data, &more, &e);
        ap[strlen(ap) - 3] = '\0';
        size = data.len + (more ? 1 : 0);
    } else {
        rc = read_part(path, kind, b->o->max_file, &data, &size, &e);
    }
    if (rc < 0) {
        missing(b, ap, "%s", e.msg);
    } else {
        /* A decompressed log keeps its beginning: its end would need the whole stream. */
        char *src = is_gz(path) ? xasprintf("%s (decompressed)", path) : xstrdup(path);
        add_file(b, ap, data.buf ? data.buf : "", data.len, is_gz(path) ? KIND_CONFIG : kind, size,
                 src);
        free(src);
    }
    sb_free(&data);
    free(ap);
}

/* Collects the files below dir changed since since_ms (all of them when since_ms is 0). */
static void add_local_dir(struct bundle *b, const char *prefix, const char *dir, enum kind kind,
                          int64_t since_ms, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        missing(b, dir, "cannot read: %s", strerror(errno));
        return;
    }
    strvec names = {0};
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) sv_push(&names, de->d_name);
    closedir(d);
    for (size_t i = 1; i < names.n; i++)
        for (size_t k = i; k > 0 && strcmp(names.v[k - 1], names.v[k]) > 0; k--) {
            char *t = names.v[k];
            names.v[k] = names.v[k - 1];
            names.v[k - 1] = t;
        }
    for (size_t i = 0; i < names.n && !b->failed; i++) {
        char *p = xasprintf("%s/%s", dir, names.v[i]);
        struct stat st;
        if (lstat(p, &st) < 0) {
            missing(b, p, "cannot read: %s", strerror(errno));
        } else if (S_ISLNK(st.st_mode)) {
            char target[1024];
            ssize_t n = readlink(p, target, sizeof target - 1);
            target[n > 0 ? n : 0] = '\0';
            missing(b, p, "symbolic link to '%s', not followed", target);
        } else if (S_ISDIR(st.st_mode)) {
            if (depth < 16) add_local_dir(b, prefix, p, kind, since_ms, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
            if (!since_ms || mtime >= since_ms) add_local_file(b, prefix, p, kind);
        }
        free(p);
    }
    sv_free(&names);
}

/* A path of the configuration: a directory of logs or a single (configuration) file. */
static void add_local_path(struct bundle *b, const char *prefix, const char *path, int64_t since_ms,
                           bool note_absent)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (note_absent) missing(b, path, "not present on this host");
        return;
    }
    if (S_ISDIR(st.st_mode)) add_local_dir(b, prefix, path, KIND_LOG, since_ms, 0);
    else add_local_file(b, prefix, path, KIND_CONFIG);
}

/* Commands */

/* Runs argv with stdout captured (at most max bytes) and stderr to /dev/null, killed after
 * timeout_ms. Returns the exit status, or -1 with e set. */
static int run_capture(char *const argv[], uint64_t max, int64_t timeout_ms, strbuf *out, hm_err *e)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return hm_err_set(e, "cannot run %s: %s", argv[0], strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return hm_err_set(e, "cannot run %s: %s", argv[0], strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(fds[1], STDOUT_FILENO);
        if (null >= 0) {
            dup2(null, STDERR_FILENO);
            dup2(null, STDIN_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    int64_t deadline = hm_mono_ms() + timeout_ms;
    bool killed = false;
    char buf[65536];
    for (;;) {
        int64_t left = deadline - hm_mono_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
        if (pr <= 0) continue;
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (out->len < max) sb_add(out, buf, out->len + (size_t)n > max ? (size_t)(max - out->len) : (size_t)n);
    }
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    if (killed) {
        char d[32];
        hm_format_duration(timeout_ms, d, sizeof d);
        return hm_err_set(e, "did not finish within %s", d);
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
}

/* hmctl's own output: `hmctl [-c FILE] ARGS...` into archive path `path`. */
static void add_self(struct bundle *b, const char *path, const char *a1, const char *a2,
                     const char *a3)
{
    char *argv[8];
    int n = 0;
    argv[n++] = (char *)b->o->self_exe;
    if (b->o->config_path) {
        argv[n++] = "-c";
        argv[n++] = (char *)b->o->config_path;
    }
    argv[n++] = "--no-color";
    argv[n++] = (char *)a1;
    argv[n++] = (char *)a2;
    argv[n++] = (char *)a3;
    argv[n] = NULL;
    strbuf out = {0};
    hm_err e = {{0}};
    char *what = a3 ? xasprintf("hmctl %s %s %s", a1, a2, a3) : xasprintf("hmctl %s %s", a1, a2);
    int st = run_capture(argv, b->o->max_file, 120000, &out, &e);
    if (st < 0) {
        missing(b, path, "%s: %s", what, e.msg);
    } else {
        char *src = st == 0 ? xstrdup(what) : xasprintf("%s (exit status %d)", what, st);
        add_file(b, path, out.buf ? out.buf : "", out.len, KIND_CONFIG, out.len, src);
        free(src);
    }
    free(what);
    sb_free(&out);
}

/* Containers */

static void add_containers(struct bundle *b, int64_t since_ms)
{
    docker_list l = {0};
    hm_err e = {{0}};
    int64_t timeout = cfg_get_ms(b->cfg, "hmctl", NULL, "timeout", 5000);
    if (docker_services_list(b->cfg, timeout, &l, &e) < 0) {
        missing(b, "console/containers", "%s", e.msg);
        return;
    }
    if (l.n == 0) missing(b, "console/containers", "no console containers found ([docker] project or services)");
    for (size_t i = 0; i < l.n && !b->failed; i++) {
        const char *name = docker_display_name(&l, &l.v[i]);
        json_t *j = container_inspect(b->cfg, l.v[i].id, timeout, NULL);
        bool tty = json_is_true(json_object_get(json_object_get(j, "Config"), "Tty"));
        json_decref(j);
        strbuf out = {0};
        char *path = xasprintf("console/containers/%s.log", name);
        say(b, "Reading the log of container %s", name);
        if (container_logs(b->cfg, l.v[i].id, tty, since_ms / 1000, 120000, &out, &e) < 0) {
            missing(b, path, "%s", e.msg);
        } else {
            char *src = xasprintf("Docker Engine API: log of container %s (%.12s)", l.v[i].name,
                                  l.v[i].id);
            add_file(b, path, out.buf ? out.buf : "", out.len, KIND_LOG, out.len, src);
            free(src);
        }
        free(path);
        sb_free(&out);
    }
    docker_list_free(&l);
}

/* Remote hosts */

struct host {
    const char *name;
    const char *role;
    const char *address;
    const char *component;
    remote_session *s; /* NULL: not collected (reason already listed) */
};

static const char *component_of_role(const char *role)
{
    if (!role) return NULL;
    if (!strcmp(role, "sync_proxy")) return "proxy";
    if (!strcmp(role, "linux_agent")) return "agent";
    if (!strcmp(role, "gateway")) return "gateway";
    return NULL;
}

static const char *paths_key(const char *component)
{
    if (!strcmp(component, "proxy")) return "proxy_paths";
    if (!strcmp(component, "agent")) return "agent_paths";
    return "gateway_paths";
}

/* One path on a host: lists it with find, reads each file with head or tail. */
static void add_remote_path(struct bundle *b, struct host *h, const char *path, bool config_pass,
                            int64_t since_ms)
{
    const remote_ops *ops = b->o->remote;
    char *q = remote_shell_quote(path);
    int64_t minutes = since_ms ? (b->now_ms - since_ms + 59999) / 60000 : 0;
    char *cmd = xasprintf("if [ -d %s ]; then find %s -type f %s%lld -printf 'L %%s %%p\\n';"
                          " elif [ -f %s ]; then find %s -maxdepth 0 -printf 'C %%s %%p\\n';"
                          " else echo M; fi",
                          q, q, minutes ? "-mmin -" : "-size +", (long long)(minutes ? minutes : -1),
                          q, q);
    free(q);
    strbuf out = {0};
    bool trunc = false;
    int status = 0;
    hm_err e = {{0}};
    char *where = xasprintf("%s:%s", h->name, path);
    if (ops->exec(h->s, cmd, 4 << 20, 60000, &out, &trunc, &status, &e) < 0) {
        missing(b, where, "%s", e.msg);
        goto out;
    }
    if (hm_starts_with(sb_str(&out), "M")) {
        if (config_pass) missing(b, where, "not present on host %s", h->name);
        goto out;
    }
    char *prefix = xasprintf("%s/%s", h->component, h->name);
    for (char *line = out.buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char kind = line[0];
        unsigned long long size = 0;
        int off = 0;
        if ((kind == 'L' || kind == 'C') && sscanf(line + 1, " %llu %n", &size, &off) == 1 && off > 0 &&
            ((kind == 'C') == config_pass)) {
            const char *file = line + 1 + off;
            char *ap = archive_path(prefix, file);
            char *fq = remote_shell_quote(file);
            bool gz = is_gz(file);
            /* What one exec can return bounds what is asked for, so a log's end stays its end. */
            uint64_t max = b->o->max_file;
            if (ops->max_output && max > ops->max_output - 4096) max = ops->max_output - 4096;
            char *rd = gz ? xasprintf("gzip -dc -- %s | head -c %llu", fq, (unsigned long long)max)
                          : xasprintf("%s -c %llu -- %s", kind == 'L' ? "tail" : "head",
                                      (unsigned long long)max, fq);
            strbuf data = {0};
            bool t2 = false;
            int st2 = 0;
            hm_err e2 = {{0}};
            char *src = xasprintf("%s:%s%s", h->name, file, gz ? " (decompressed)" : "");
            if (ap && gz) ap[strlen(ap) - 3] = '\0';
            if (!ap) {
                /* a path that climbs out of the archive's directory is left out */
            } else if (ops->exec(h->s, rd, max, 120000, &data, &t2, &st2, &e2) < 0) {
                missing(b, ap, "%s", e2.msg);
            } else if (st2 != 0 && data.len == 0) {
                missing(b, ap, "cannot read %s (exit status %d)", src, st2);
            } else {
                add_file(b, ap, data.buf ? data.buf : "", data.len,
                         kind == 'L' && !gz ? KIND_LOG : KIND_CONFIG,
                         gz ? data.len + (t2 ? 1 : 0) : size, src);
            }
            free(src);
            sb_free(&data);
            free(rd);
            free(fq);
            free(ap);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(prefix);
out:
    free(where);
    free(cmd);
    sb_free(&out);
}

static bool wanted(const logs_opts *o, const char *component)
{
    return sv_contains(&o->components, component);
}

/* The remote hosts of the wanted components, with sessions where a transport exists. */
static size_t open_hosts(struct bundle *b, struct host **out)
{
    const cfg_section **v;
    size_t n = cfg_sections_of(b->cfg, "host", &v);
    struct host *hs = xcalloc(n + 1, sizeof *hs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *role = cfg_get(b->cfg, "host", v[i]->name, "role");
        const char *comp = component_of_role(role);
        if (!comp || !wanted(b->o, comp)) continue;
        struct host *h = &hs[k++];
        h->name = v[i]->name;
        h->role = role;
        h->address = cfg_get(b->cfg, "host", v[i]->name, "address");
        h->component = comp;
        char *what = xasprintf("host %s (%s, %s)", h->name, role, h->address ? h->address : "?");
        if (!b->o->remote) {
            missing(b, what, "not collected: SSH support not available");
        } else {
            hm_err e = {{0}};
            say(b, "Connecting to %s", h->name);
            h->s = b->o->remote->open(b->cfg, h->name, cfg_get_ms(b->cfg, "hmctl", NULL, "timeout", 5000), &e);
            if (!h->s) missing(b, what, "not collected: unreachable: %s", e.msg);
        }
        free(what);
    }
    free(v);
    *out = hs;
    return k;
}

/* One pass over the remote components: configuration files, or logs. */
static void add_components(struct bundle *b, struct host *hs, size_t nh, bool config_pass,
                           int64_t since_ms)
{
    for (size_t c = 1; c < HM_ARRAY_LEN(components); c++) {
        const char *comp = components[c];
        if (!wanted(b->o, comp)) continue;
        strvec paths = {0};
        cfg_get_list(b->cfg, "logs", NULL, paths_key(comp), &paths);
        char *prefix = xasprintf("%s/local", comp);
        bool has_host = false;
        for (size_t h = 0; h < nh; h++) has_host |= strcmp(hs[h].component, comp) == 0;
        for (size_t i = 0; i < paths.n; i++) {
            struct stat st;
            bool present = stat(paths.v[i], &st) == 0;
            if (present && S_ISDIR(st.st_mode) == config_pass) continue;
            /* The paths are usually on the component's own host: one absent here is worth a
             * line only when no host of the role is configured either. */
            if (present || config_pass) add_local_path(b, prefix, paths.v[i], since_ms, !has_host);
        }
        free(prefix);
        for (size_t h = 0; h < nh; h++) {
            if (strcmp(hs[h].component, comp) != 0 || !hs[h].s) continue;
            say(b, "Collecting %s %s from %s", comp, config_pass ? "configuration" : "logs",
                hs[h].name);
            for (size_t i = 0; i < paths.n; i++)
                add_remote_path(b, &hs[h], paths.v[i], config_pass, since_ms);
        }
        sv_free(&paths);
    }
}

int logs_collect(const hm_config *cfg, const logs_opts *o, logs_summary *s, hm_err *e)
{
    memset(s, 0, sizeof *s);
    struct bundle b = {.o = o, .cfg = cfg, .now_ms = hm_now_ms(), .sum = s};
    int64_t since_ms = o->since_ms > 0 ? b.now_ms - o->since_ms : 0;
    const char *base = strrchr(o->output, '/');
    base = base ? base + 1 : o->output;
    size_t bl = strlen(base);
    if (bl > 7 && !strcmp(base + bl - 7, ".tar.gz")) bl -= 7;
    else if (bl > 4 && !strcmp(base + bl - 4, ".tgz")) bl -= 4;
    b.top = xstrndup(base, bl);

    char *tmp = xasprintf("%s.partial", o->output);
    b.a = archive_write_new();
    archive_write_add_filter_gzip(b.a);
    archive_write_set_format_pax_restricted(b.a);
    mode_t old = umask(077);
    int orc = archive_write_open_filename(b.a, tmp);
    umask(old);
    if (orc != ARCHIVE_OK) {
        hm_err_set(e, "cannot write '%s': %s", tmp, archive_error_string(b.a));
        archive_write_free(b.a);
        free(tmp);
        free(b.top);
        return -1;
    }

    char since_txt[40] = "everything", now_txt[40];
    if (since_ms) hm_format_time(since_ms, since_txt, sizeof since_txt);
    hm_format_time(b.now_ms, now_txt, sizeof now_txt);

    /* Configuration and state first, logs after: the size limit cuts logs, not evidence. */
    if (wanted(o, "console")) {
        say(&b, "Collecting the console's state and configuration");
        if (o->self_exe) {
            add_self(&b, "console/status.json", "status", "--json", NULL);
            if (o->has_alerts) add_self(&b, "console/alerts.json", "alerts", "list", "--json");
            add_self(&b, "console/hmctl-config.txt", "config", "show", NULL);
        } else {
            missing(&b, "console/status.json", "the path of the hmctl program is unknown");
        }
        if (!o->has_alerts) missing(&b, "console/alerts.json", "this hmctl has no alerts module");
        const char *dir = cfg_get(cfg, "installer", NULL, "dir");
        const char *cd = cfg_get(cfg, "installer", NULL, "config_dir");
        char *config_dir = cd && *cd ? xstrdup(cd) : xasprintf("%s/config", dir ? dir : "/opt/installer/production");
        add_local_path(&b, "console/local", config_dir, 0, true);
        free(config_dir);
    }
    struct host *hs;
    size_t nh = open_hosts(&b, &hs);
    add_components(&b, hs, nh, true, since_ms);
    if (wanted(o, "console")) {
        add_containers(&b, since_ms);
        strvec dirs = {0};
        cfg_get_list(cfg, "installer", NULL, "log_dirs", &dirs);
        for (size_t i = 0; i < dirs.n; i++) {
            say(&b, "Collecting %s", dirs.v[i]);
            add_local_path(&b, "console/local", dirs.v[i], since_ms, true);
        }
        sv_free(&dirs);
    }
    add_components(&b, hs, nh, false, since_ms);
    for (size_t i = 0; i < nh; i++)
        if (hs[i].s) o->remote->close(hs[i].s);
    free(hs);

    strbuf man = {0};
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    sb_addf(&man, "# hmctl logs collect on %s at %s\n# period: since %s\n# components:", host,
            now_txt, since_txt);
    for (size_t i = 0; i < o->components.n; i++) sb_addf(&man, " %s", o->components.v[i]);
    sb_addf(&man, "\n# secrets masked as %s; MASKED counts the values masked in a file\n#\n"
                  "# PATH\tBYTES\tMASKED\tTRUNCATED\tSOURCE\n%s#\n# not collected\n# WHAT\tWHY\n%s",
            MASK_TEXT, sb_str(&b.manifest), sb_str(&b.missing));
    write_entry(&b, "MANIFEST", man.buf, man.len);
    sb_free(&man);
    if (!b.failed && archive_write_close(b.a) != ARCHIVE_OK) {
        hm_err_set(&b.err, "cannot write '%s': %s", tmp, archive_error_string(b.a));
        b.failed = true;
    }
    archive_write_free(b.a);
    int rc = 0;
    if (!b.failed && rename(tmp, o->output) < 0)
        rc = hm_err_set(e, "cannot rename '%s' to '%s': %s", tmp, o->output, strerror(errno));
    if (b.failed) {
        rc = hm_err_set(e, "%s", b.err.msg);
    }
    if (rc) unlink(tmp);
    free(tmp);
    free(b.top);
    sb_free(&b.manifest);
    sb_free(&b.missing);
    return rc;
}
