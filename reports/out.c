/* The output file: written under a temporary name in the target's directory and renamed onto
 * the target only when the report is complete, so readers never see a partial report and a
 * failed run leaves the previous file as it was. */
#include "reports/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int report_out_open(report_out *o, const char *target, hm_err *e)
{
    memset(o, 0, sizeof *o);
    char *dir, *base;
    if (!target || strcmp(target, "-") == 0) {
        const char *t = getenv("TMPDIR");
        dir = xstrdup(t && *t ? t : "/tmp");
        base = xstrdup("hmctl-report");
    } else {
        struct stat st;
        if (stat(target, &st) == 0 && S_ISDIR(st.st_mode))
            return hm_err_set(e, "cannot write '%s': it is a directory", target);
        const char *slash = strrchr(target, '/');
        dir = slash ? xstrndup(target, slash == target ? 1 : (size_t)(slash - target))
                    : xstrdup(".");
        base = xstrdup(slash ? slash + 1 : target);
        o->target = xstrdup(target);
    }
    o->tmp = xasprintf("%s/.%s.XXXXXX", dir, base);
    int fd = mkstemp(o->tmp);
    int err = errno;
    free(dir);
    free(base);
    if (fd < 0) {
        hm_err_set(e, "cannot write '%s': %s", o->target ? o->target : o->tmp, strerror(err));
        free(o->tmp);
        free(o->target);
        memset(o, 0, sizeof *o);
        return -1;
    }
    close(fd);
    return 0;
}

static int copy_to_stdout(const char *path, hm_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (fwrite(buf, 1, n, stdout) != n) {
            rc = hm_err_set(e, "cannot write to standard output: %s", strerror(errno));
            break;
        }
    if (!rc && ferror(f)) rc = hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
    fclose(f);
    if (!rc && fflush(stdout) != 0)
        rc = hm_err_set(e, "cannot write to standard output: %s", strerror(errno));
    return rc;
}

int report_out_commit(report_out *o, hm_err *e)
{
    int rc = 0;
    if (!o->target) {
        rc = copy_to_stdout(o->tmp, e);
        unlink(o->tmp);
    } else {
        mode_t mask = umask(0);
        umask(mask);
        if (chmod(o->tmp, 0666 & ~mask) < 0 || rename(o->tmp, o->target) < 0) {
            rc = hm_err_set(e, "cannot write '%s': %s", o->target, strerror(errno));
            unlink(o->tmp);
        }
    }
    free(o->tmp);
    free(o->target);
    memset(o, 0, sizeof *o);
    return rc;
}

void report_out_abort(report_out *o)
{
    if (o->tmp) unlink(o->tmp);
    free(o->tmp);
    free(o->target);
    memset(o, 0, sizeof *o);
}
