/* One collection cycle and the views of its result that status, check and tui share. */
#ifndef HM_CORE_H
#define HM_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "collectors/collector.h"
#include "store/store.h"

/* Runs every collector once. When st is non-NULL, the collectors' memory is loaded from and
 * saved to it, and, when `record` is true, the samples are appended and the store maintained
 * (store_maintain: idle chunks sealed, retention per tier applied), then queued for the
 * [sink "influxdb"] and sent as far as its timeout allows. With a sink configured, the
 * component "sink influxdb" is added to out (store/sink.h). A store failure does not lose the result: it is reported in *e,
 * the result is complete, and the return value is -1 (0 on success). */
int hm_cycle_run(const hm_config *cfg, hm_store *st, bool record, hm_result *out, hm_err *e);

/* The seed's status view: containers with their State, the disk-space lines and the port, then
 * every other component (see hmctl-status(1)). */
void hm_view_status(FILE *f, const hm_result *r, bool color);

/* {"components": [{name, kind, state, status, detail}], "metrics": {series: value}}. */
json_t *hm_view_json(const hm_result *r);

/* The one-line summary of `check`: "HMCTL CRITICAL - 1 unhealthy container (porter-api)";
 * with perfdata ("| cpu=12.5%;80;90 ...") when `perfdata` is true (Nagios plugin format). */
char *hm_view_summary(const hm_config *cfg, const hm_result *r, bool perfdata);

/* The latest value of an exact series in r; returns false when absent. */
bool hm_result_value(const hm_result *r, const char *series, double *out);

#endif
