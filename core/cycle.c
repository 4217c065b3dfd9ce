#include "core/core.h"

#include "lib/clock.h"
#include "store/sink.h"

/* Queues the cycle's samples for the sink and sends what is due, within the sink's timeout, so a
 * sink that is down or slow never holds collection up for longer. Its health is what the
 * component "sink influxdb" reports; nothing here fails the cycle. */
static void ship(const hm_config *cfg, hm_store *st, const hm_result *r)
{
    hm_sink *sk;
    hm_err e = {{0}};
    if (sink_open(cfg, st, &sk, &e) <= 0) return; /* a configuration error shows as the component */
    int64_t now = hm_now_ms();
    if (sink_enqueue(sk, r->samples, r->n_samples, now, &e) == 0)
        sink_flush(sk, now, cfg_get_ms(cfg, "sink", "influxdb", "timeout", 5000), false, &e);
    sink_close(sk);
}

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
        if (record) ship(cfg, st, out);
    }
    sink_add_component(cfg, st, hm_now_ms(), out);
    /* An abandoned collector thread may still write to kv: leave it to process exit. */
    if (!abandoned) hm_kv_free(kv);
    return rc;
}
