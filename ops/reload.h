/* hmctl reload: the console's service containers recreated from their current images, one at
 * a time (container_recreate), stopping at the first failure, each run recorded in the audit
 * table as upgrades are. */
#ifndef HM_OPS_RELOAD_H
#define HM_OPS_RELOAD_H

#include <stddef.h>

#include "lib/config.h"
#include "lib/util.h"
#include "ops/container.h"
#include "store/store.h"

/* One service to recreate: its container id and the name hmctl shows for it. */
typedef struct reload_service {
    const char *id;
    const char *name;
} reload_service;

/* Progress of a run; every member may be NULL. start is called before a service is recreated,
 * done after it with the new container's id, or with NULL when it failed. warn gets a message
 * when the audit row cannot be written (the reload goes on). */
typedef struct reload_hooks {
    void (*start)(void *ud, const char *name);
    void (*done)(void *ud, const char *name, const char *new_id);
    void (*warn)(void *ud, const char *msg);
    void *ud;
} reload_hooks;

/* Recreates the n services of sv in order with container_recreate and the options o, stopping
 * at the first failure. When st is non-NULL, the run is an audit row (ops/audit.h): action
 * "reload", the user and start time, detail the services ("ant-api, proxy-api"), then result
 * "ok", or "failed" with detail "recreated: A; stopped at 'B': <reason>; not recreated: C"
 * (the parts that apply). *done (when non-NULL) gets the number of services recreated.
 * Returns 0 when every service was recreated, or -1 with e set to "reload stopped at 'B':
 * <reason>", the reason from container_recreate (ending with "; the previous container was put
 * back" when it was); the services after B were not touched. */
int reload_run(const hm_config *cfg, hm_store *st, const reload_service *sv, size_t n,
               const container_recreate_opts *o, const reload_hooks *h, size_t *done, hm_err *e);

#endif
