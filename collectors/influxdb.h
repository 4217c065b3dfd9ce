/* The console's own InfluxDB 1.x, watched through GET /ping (InfluxDB 1.x HTTP API: 204 No
 * Content with the X-Influxdb-Version header when the server is up). */
#ifndef HM_COLLECTORS_INFLUXDB_H
#define HM_COLLECTORS_INFLUXDB_H

#include <stdint.h>

#include "collectors/collector.h"

/* The "influxdb" component and samples for a /ping that got an HTTP answer: ok with
 * "/ping 204 in 1 ms, InfluxDB 1.6.7" for status 204, critical "/ping answered HTTP 404:
 * <text> (expected 204)" otherwise. version (the X-Influxdb-Version header) and text (the
 * answer's error text) may be NULL; ms is the round trip in milliseconds. Samples influxdb.up
 * (1 for 204, else 0) and influxdb.ping.ms, at now_ms. */
void influxdb_report(long status, const char *version, const char *text, double ms,
                     int64_t now_ms, hm_result *out);

#endif
