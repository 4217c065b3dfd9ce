#include "core/core.h"

#include "lib/clock.h"

int hm_cycle_run(const hm_config *cfg, hm_store *st, bool record, hm_result *out, hm_err *e)
{
    hm_kv *kv = hm_kv_new();
    int rc = 0;
    hm_err le = {{0}};
    if (st && store_kv_load(st, kv, &le) < 0) {
        rc = -1;
        hm_err_set(e, "%s", le.msg);
    }
    int abandoned = hm_poll_run(cfg, kv, NULL, out);
    if (st && rc == 0) {
        if (store_kv_save(st, kv, &le) < 0 ||
            (record && store_append(st, out->samples, out->n_samples, &le) < 0)) {
            rc = -1;
            hm_err_set(e, "%s", le.msg);
        } else if (record && store_maintain(st, hm_now_ms(), &le) < 0) {
            rc = -1;
            hm_err_set(e, "%s", le.msg);
        }
    }
    /* An abandoned collector thread may still write to kv: leave it to process exit. */
    if (!abandoned) hm_kv_free(kv);
    return rc;
}
