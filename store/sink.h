/* The InfluxDB sink: every sample a collection cycle stores is also shipped to an InfluxDB
 * (1.x /write, or the 2.x /api/v2/write API), for operators who watch many consoles in one
 * place. Configured by [sink "influxdb"] (hmctl.conf(5)).
 *
 * Samples are encoded as InfluxDB line protocol (InfluxDB 1.x documentation, "Line protocol
 * reference"): the metric name is the measurement, the series' labels are tags, the value is
 * the float field `value`:
 *
 *     rabbitmq.queue.messages,console=cn-1,queue=hm.tasks value=12 1795249712962
 *
 * Batches are gzip-compressed (Content-Encoding: gzip) and wait in a queue table of the store,
 * so a sink that is down never blocks collection and loses nothing until the queue's bound:
 * then the oldest batches are dropped, and that loss is counted and shown by `hmctl status`
 * (component "sink influxdb"). Batches are sent oldest first; a batch the server rejects as
 * malformed (400) is dropped and counted as rejected, anything else (network errors, 5xx,
 * 401/403/404) is retried later with a growing delay. */
#ifndef HM_SINK_H
#define HM_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "collectors/collector.h"
#include "lib/config.h"
#include "lib/util.h"
#include "store/store.h"

/* ---- Line protocol --------------------------------------------------------------------- */

/* The time stamp precisions of the write APIs. */
typedef enum { LP_NS, LP_US, LP_MS, LP_S } lp_precision;

/* Parses "ns", "us", "ms", "s" (also 1.x's "n", "u"). Returns 0 or -1. */
int lp_precision_parse(const char *s, lp_precision *out);
/* The precision as the 1.x API's query parameter ("n", "u", "ms", "s") or 2.x's ("ns", ...). */
const char *lp_precision_v1(lp_precision p);
const char *lp_precision_v2(lp_precision p);

/* Splits a series name `metric{a="x",b="y"}` (collectors/collector.h) into its metric and its
 * labels, the values unescaped from `\\` and `\"` (a `\n` stays the two characters, since a
 * line of line protocol cannot hold a newline). Returns 0, or -1 when the name is malformed
 * (an unterminated value, a missing '}'); the vectors then hold what was parsed. */
int lp_parse_series(const char *series, char **metric, strvec *names, strvec *values);

/* Appends one line for a sample to out: measurement, tags (the series' labels, then each
 * "key=value" of extra_tags whose key is not a label, sorted by key; empty values omitted),
 * the field `value` written so that it parses back to the same double, and the time stamp in
 * the precision (with "s", milliseconds are floored to the second).
 * Escaping follows the line protocol: commas and spaces in the measurement; commas, equals
 * signs and spaces in tag keys and values. InfluxDB 1.x cannot express a backslash right
 * before one of those characters or at the end of a tag value: such a backslash is written
 * doubled. Returns 0; 1 when the sample cannot be written (the value is NaN or infinite, which
 * line protocol has no notation for, or the time stamp is outside the precision's int64
 * range), out then unchanged; -1 when the series name is malformed. */
int lp_append(strbuf *out, const char *series, double value, int64_t ts_ms, lp_precision prec,
              const strvec *extra_tags);

/* gzip-compresses (RFC 1952) len bytes of data, appending to out. Returns 0 or -1 (e set). */
int lp_gzip(const void *data, size_t len, strbuf *out, hm_err *e);

/* ---- The sink ------------------------------------------------------------------------- */

typedef struct hm_sink hm_sink;

/* Opens the sink of [sink "influxdb"] with its queue in st (creating the queue's tables). Returns
 * 1 with *out set, 0 when no sink is configured or it has `enabled = no` (*out NULL), or -1 when
 * its configuration is unusable (e says which key and where: no url, neither database nor
 * bucket, an unknown precision, an unreadable token_file, a [sink] section other than
 * "influxdb"). */
int sink_open(const hm_config *cfg, hm_store *st, hm_sink **out, hm_err *e);
/* Frees the sink (NULL is fine), wiping its token and password from memory first. */
void sink_close(hm_sink *s);

/* Encodes samples as line protocol and queues them as gzip batches of at most batch_size
 * points, stamped now_ms, in one transaction; then drops the oldest batches while the queue
 * holds more than queue_max bytes, counting them. Samples line protocol cannot carry
 * (lp_append returned 1) are counted as skipped. Returns 0 or -1 (database errors). */
int sink_enqueue(hm_sink *s, const hm_sample *samples, size_t n, int64_t now_ms, hm_err *e);

/* Sends queued batches, oldest first, several merged into one request up to batch_size points,
 * until the queue is empty, a send fails or budget_ms of wall time is used up. Runs only when
 * due: flush_interval has passed since the last attempt, batch_size points are waiting, or
 * `force` is set; after a failure the next attempt waits flush_interval doubled per further
 * failure, at most 5 minutes, however much is waiting (unless forced). Returns the number of points sent, or -1 with e
 * set to the failure (also recorded for sink_status_get). */
int64_t sink_flush(hm_sink *s, int64_t now_ms, int64_t budget_ms, bool force, hm_err *e);

/* Sends line protocol text directly (not through the queue): gzip, one POST, the sink's URL and
 * credentials. For `hmctl store export --influx --send`. Returns 0, or -1 with e set to the
 * server's answer or the network error. */
int sink_post(hm_sink *s, const char *lines, size_t len, hm_err *e);

/* Exports the raw samples of the matching series (store_range's `match`) with from_ms <= ts <
 * to_ms as line protocol: written to f when f is non-NULL (prec and tags as given), otherwise
 * sent through s directly, in requests of the sink's batch_size points, each tried three times
 * (1 s, then 2 s apart) before giving up; the sink's own precision and tags apply then.
 * *skipped (when non-NULL) counts the samples line protocol cannot carry. Returns the number of
 * points exported, or -1 with e set; a failed send says how many points went out and the time
 * stamp to resume from. */
int64_t sink_export(hm_store *st, hm_sink *s, const char *match, int64_t from_ms, int64_t to_ms,
                    FILE *f, lp_precision prec, const strvec *tags, int64_t *skipped, hm_err *e);

/* The sink's line protocol settings, for encoding outside the queue. */
lp_precision sink_precision(const hm_sink *s);
const strvec *sink_tags(const hm_sink *s);
/* The configured batch size in points. */
int64_t sink_batch_size(const hm_sink *s);

typedef struct sink_status {
    int64_t queued_batches, queued_points, queued_bytes, oldest_queued_ms;
    int64_t sent_batches, sent_points;
    int64_t dropped_batches, dropped_points, last_drop_ms;  /* the queue's bound */
    int64_t rejected_batches, rejected_points;              /* refused by the server */
    int64_t skipped_points;                                 /* NaN, infinities */
    int64_t last_ok_ms, last_attempt_ms, last_error_ms, next_try_ms;
    int64_t failures;                                       /* in a row */
    char last_error[512];
} sink_status;

/* Reads the counters of sink `name` ("influxdb") from the store. Returns 0 (all zero when the
 * sink never ran) or -1. */
int sink_status_get(hm_store *st, const char *name, sink_status *out, hm_err *e);

/* Adds the component "sink influxdb" (kind "sink") to out when a sink is configured: ok while
 * sends succeed and nothing was dropped or rejected in the last 24 hours, warning otherwise,
 * critical when its configuration is unusable; the detail says what is queued, what was
 * dropped and the last error. Never touches the network. */
void sink_add_component(const hm_config *cfg, hm_store *st, int64_t now_ms, hm_result *out);

#endif
