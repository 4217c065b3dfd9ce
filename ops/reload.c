/* hmctl reload's run: recreate, stop at the first failure, audit. */
#include "ops/reload.h"

#include <stdlib.h>

#include "ops/audit.h"

/* Appends the names of sv[from..to) to sb, comma-separated. */
static void add_names(strbuf *sb, const reload_service *sv, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) sb_addf(sb, "%s%s", i > from ? ", " : "", sv[i].name);
}

/* The audit detail of a run that stopped at sv[at] for reason. */
static char *failure_detail(const reload_service *sv, size_t n, size_t at, const char *reason)
{
    strbuf sb = {0};
    if (at > 0) {
        sb_adds(&sb, "recreated: ");
        add_names(&sb, sv, 0, at);
        sb_adds(&sb, "; ");
    }
    sb_addf(&sb, "stopped at '%s': %s", sv[at].name, reason);
    if (at + 1 < n) {
        sb_adds(&sb, "; not recreated: ");
        add_names(&sb, sv, at + 1, n);
    }
    return sb_detach(&sb);
}

int reload_run(const hm_config *cfg, hm_store *st, const reload_service *sv, size_t n,
               const container_recreate_opts *o, const reload_hooks *h, size_t *done, hm_err *e)
{
    static const reload_hooks none = {0};
    if (!h) h = &none;
    hm_err ae = {{0}};
    int64_t aid = 0;
    if (st) {
        strbuf all = {0};
        add_names(&all, sv, 0, n);
        aid = audit_begin(st, "reload", NULL, NULL, sb_str(&all), &ae);
        sb_free(&all);
        if (aid < 0 && h->warn) h->warn(h->ud, ae.msg);
    }
    size_t i;
    char *detail = NULL;
    for (i = 0; i < n; i++) {
        if (h->start) h->start(h->ud, sv[i].name);
        char *nid = NULL;
        if (container_recreate(cfg, sv[i].id, sv[i].name, o, &nid, e) < 0) {
            if (h->done) h->done(h->ud, sv[i].name, NULL);
            detail = failure_detail(sv, n, i, e->msg);
            hm_err_prefix(e, "reload stopped at '%s'", sv[i].name);
            break;
        }
        if (h->done) h->done(h->ud, sv[i].name, nid);
        free(nid);
    }
    if (done) *done = i;
    if (aid > 0 && audit_finish(st, aid, detail ? "failed" : "ok", detail, &ae) < 0 && h->warn)
        h->warn(h->ud, ae.msg);
    int rc = detail ? -1 : 0;
    free(detail);
    return rc;
}
