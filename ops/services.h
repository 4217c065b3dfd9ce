/* The console services an upgrade affects, restarted and checked through the Docker Engine
 * API. */
#ifndef HM_OPS_SERVICES_H
#define HM_OPS_SERVICES_H

#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"

/* Restarts the console services ([docker] project / services) that use the directory venvs:
 * those with a mount whose source is venvs or lies below it; when no container mounts it,
 * those whose service name is the name of a virtual environment in venvs or starts with it
 * followed by '-' ("ant" -> "ant-api", "ant-worker"). Each is restarted (grace_s for the stop),
 * then each must be running and, with a health check, healthy within timeout_ms. say (may be
 * NULL) gets one line per service. Returns the number of services restarted (0 when none uses
 * venvs), or -1 with e set: "service 'ant-api': 'ant-api' is unhealthy: <output>", or the
 * Docker Engine's error. */
int services_restart_using(const hm_config *cfg, const char *venvs, int grace_s, int64_t timeout_ms,
                           void (*say)(void *ud, const char *line), void *ud, hm_err *e);

#endif
