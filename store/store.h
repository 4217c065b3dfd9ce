/* The store: hmctl's SQLite database (WAL mode, busy timeout) holding metric samples, the
 * collectors' key/value memory, and the tables of later modules (events, alerts, journal).
 * Callers see only this API, never the on-disk format of samples. */
#ifndef HM_STORE_H
#define HM_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "collectors/collector.h"
#include "lib/util.h"

typedef struct hm_store hm_store;

enum { HM_STORE_READONLY = 1 };

/* Opens (creating it and its directory when missing, mode 0700/0600) the database at path and
 * applies pending migrations. Errors: cannot create the directory, not a database, locked
 * beyond the busy timeout, read-only file system, disk full; each message names the path. */
int store_open(const char *path, int flags, hm_store **out, hm_err *e);
/* Opens <data_dir>/hmctl.db for the configuration. */
int store_open_config(const hm_config *cfg, int flags, hm_store **out, hm_err *e);
void store_close(hm_store *st);
const char *store_path(const hm_store *st);

/* Appends samples (in one transaction). Series are created on first use. */
int store_append(hm_store *st, const hm_sample *samples, size_t n, hm_err *e);

typedef struct hm_point {
    int64_t ts_ms;
    double value;
} hm_point;

/* Latest point of a series: returns 1 and fills *out, 0 when the series has no samples, -1. */
int store_last(hm_store *st, const char *series, hm_point *out, hm_err *e);

/* Calls cb for every stored sample of the matching series with from_ms <= ts < to_ms, series by
 * series (in name order), points in time order. `match` is an exact series name, a metric name
 * (matches every label set of it: "rabbitmq.queue.messages" matches
 * `rabbitmq.queue.messages{queue="a"}`), a prefix ending in '*', or NULL for all. `step_ms` > 0
 * asks for at most one (averaged) point per step. cb returns 0 to go on, non-zero to stop. */
typedef int (*store_point_cb)(const char *series, const char *unit, int64_t ts_ms, double value,
                              void *ud);
int store_range(hm_store *st, const char *match, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                store_point_cb cb, void *ud, hm_err *e);

/* Lists the series names matching `match` (as store_range) with their units. */
int store_series(hm_store *st, const char *match, strvec *names, strvec *units, hm_err *e);

/* Deletes samples older than before_ms; returns the number deleted or -1. */
int64_t store_prune(hm_store *st, int64_t before_ms, hm_err *e);

/* The collectors' key/value memory, persisted between one-shot runs. */
int store_kv_load(hm_store *st, hm_kv *kv, hm_err *e);
int store_kv_save(hm_store *st, hm_kv *kv, hm_err *e);

/* For modules that own tables of their own (events, alerts, journal): the raw handle, and a
 * per-module migration runner. migrations[i] is the SQL that takes the module from version i to
 * i+1; applied ones are recorded in table schema_version(module, version). */
sqlite3 *store_db(hm_store *st);
int store_migrate(hm_store *st, const char *module, const char *const *migrations, int n,
                  hm_err *e);

#endif
