/* InfluxDB collector: GET /ping. */
#include "collectors/influxdb.h"

#include <stdlib.h>
#include <string.h>

#include "collectors/net.h"
#include "lib/http.h"

void influxdb_report(long status, const char *version, const char *text, double ms,
                     int64_t now_ms, hm_result *out)
{
    if (status == 204) {
        hm_result_add_component(out, "influxdb", "influxdb", HM_OK, "up",
                                "/ping 204 in %.0f ms, InfluxDB %s", ms,
                                version && *version ? version : "(version unknown)");
    } else {
        hm_result_add_component(out, "influxdb", "influxdb", HM_CRITICAL, "error",
                                "/ping answered HTTP %ld%s%s (expected 204)%s", status,
                                text ? ": " : "", text ? text : "",
                                version ? "" : "; not an InfluxDB server?");
    }
    hm_result_add_sample(out, "influxdb.up", status == 204 ? 1 : 0, "bool", now_ms);
    hm_result_add_sample(out, "influxdb.ping.ms", ms, "ms", now_ms);
}

void collect_influxdb(const hm_collect_ctx *cc, hm_result *out)
{
    const hm_config *cfg = cc->cfg;
    if (!cfg_get_bool(cfg, "influxdb", NULL, "enabled", true)) return;
    const char *base = cfg_get(cfg, "influxdb", NULL, "url");
    if (!base) base = "http://127.0.0.1:8086";
    size_t n = strlen(base);
    char *url = xasprintf("%.*s/ping", (int)(n && base[n - 1] == '/' ? n - 1 : n), base);
    hm_http_req req = {.url = url, .timeout_ms = net_remaining_ms(cc->deadline_mono)};
    hm_http_resp resp = {0};
    hm_err e = {{0}};
    if (hm_http_do(NULL, &req, &resp, &e) < 0) {
        hm_result_add_component(out, "influxdb", "influxdb", HM_CRITICAL, "down",
                                "cannot reach InfluxDB: %s", e.msg);
        hm_result_add_sample(out, "influxdb.up", 0, "bool", cc->now_ms);
    } else {
        char *version = hm_http_resp_header(&resp, "X-Influxdb-Version");
        char *text = resp.status == 204 ? NULL : hm_http_error_text(&resp);
        influxdb_report(resp.status, version, text, resp.seconds * 1000, cc->now_ms, out);
        free(version);
        free(text);
    }
    hm_http_resp_free(&resp);
    free(url);
}
