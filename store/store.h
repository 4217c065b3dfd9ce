/* The store: hmctl's SQLite database (WAL mode, busy timeout) holding metric samples, the
 * collectors' key/value memory, and the tables of later modules (events, alerts, journal).
 * Callers see only this API, never the on-disk format of samples.
 *
 * Samples live in compressed chunks (store/chunk.h), one per series and time window: the
 * window is `chunk_span` long (default 2 h) and aligned to multiples of it since the epoch.
 * The newest window of a series is an open "head" chunk that appends cheaply; a window is
 * sealed (re-encoded column by column, its time column shared with every series sampled at the
 * same instants) when a later window begins or when it has been idle for a span.
 *
 * Two rollup tiers hold aggregates (count, min, max, sum) per hour and per minute. The hours of
 * a window are computed when it seals (and again if a late sample changes it), in chunks of a
 * week. The minutes of a window are written when its raw samples are deleted (retention,
 * store_prune), in one chunk per window: while the raw samples are kept, minutes are computed
 * from them on request, with the same result, so no minute is stored twice. Each tier has its
 * own retention (raw 14 d, 1-minute 90 d, 1-hour 2 years by default), applied to whole chunks.
 *
 * Every change is one SQLite transaction, so a process
 * killed at any point leaves a database that opens, passes PRAGMA integrity_check and holds
 * every sample whose store_append returned 0.
 *
 * Order and duplicates: samples may arrive in any order and are stored in time order; a sample
 * with the time stamp of a stored sample of the same series replaces its value (within one
 * store_append call, the later one in the array wins). Samples older than the raw tier's
 * retention cut-off are not stored (they would be deleted at once); store_stats counts them.
 *
 * An hm_store is used by one thread at a time; several processes may share the file. */
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
 * applies pending migrations; samples in the one-row-per-sample format of earlier versions are
 * moved into chunks, series by series (an interrupted move resumes), also when opening with
 * HM_STORE_READONLY (through a writable handle, once). Errors: cannot create the directory, not
 * a database, locked beyond the busy timeout, read-only file system, disk full, an old store
 * that cannot be converted; each message names the path. */
int store_open(const char *path, int flags, hm_store **out, hm_err *e);
/* Opens <data_dir>/hmctl.db for the configuration, with the options of its [store] section
 * (store_options_from_config). Errors: those of store_open and of the options. */
int store_open_config(const hm_config *cfg, int flags, hm_store **out, hm_err *e);
/* Closes the database (NULL is fine). */
void store_close(hm_store *st);
/* The path the store was opened with. */
const char *store_path(const hm_store *st);

/* The tiers: raw samples, and per-minute and per-hour rollups. */
enum store_tier { STORE_RAW = 0, STORE_1M = 1, STORE_1H = 2, STORE_TIERS = 3 };
/* "raw", "1m", "1h". */
const char *store_tier_name(int tier);
/* The period one point of a tier stands for, in ms: 0 (raw), 60000, 3600000. */
int64_t store_tier_resolution(int tier);

typedef struct store_options {
    int64_t chunk_span_ms;              /* raw window: whole hours dividing 24 h; default 2 h */
    int64_t retention_ms[STORE_TIERS];  /* per tier; 0 keeps forever */
} store_options;

/* The defaults: 2 h chunks; raw 14 days, 1-minute 90 days, 1-hour 730 days. */
void store_options_default(store_options *o);
/* Reads [store] chunk_span, retention_raw, retention_1m and retention_1h (retention_raw
 * defaults to [hmctl] retention when only that is set). Returns 0, or -1 with e naming the key
 * and where it was set when chunk_span is not a whole number of hours dividing 24 h or a
 * coarser tier is kept for less time than a finer one. */
int store_options_from_config(const hm_config *cfg, store_options *o, hm_err *e);
/* Sets the options of an open store (store_open uses the defaults). */
void store_set_options(hm_store *st, const store_options *o);

/* Time stamps the store accepts: within +-2^62 ms of the epoch (146 million years). */
#define STORE_TS_LIMIT (INT64_C(1) << 62)

/* Appends samples (in one transaction). Series are created on first use. Errors: a time
 * stamp out of range (naming the series; nothing is stored), the database's (locked beyond the
 * busy timeout, disk full, corrupt chunk), naming the path. */
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
 * asks for at most one (averaged) point per step (store_range_agg with STORE_AVG). cb returns
 * 0 to go on, non-zero to stop. Errors: the database's, or a corrupt chunk (naming the series). */
typedef int (*store_point_cb)(const char *series, const char *unit, int64_t ts_ms, double value,
                              void *ud);
int store_range(hm_store *st, const char *match, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                store_point_cb cb, void *ud, hm_err *e);

/* What one point per step stands for: the mean, minimum, maximum, sum or number of the
 * samples in the step. NaN samples are left out of all five. */
enum store_agg { STORE_AVG, STORE_MIN, STORE_MAX, STORE_SUM, STORE_COUNT };
/* Parses "avg", "min", "max", "sum", "count"; returns 0 or -1. */
int store_agg_parse(const char *s, enum store_agg *out);

/* As store_range with step_ms > 0: one point per step that holds samples, at the step's start
 * (a multiple of step_ms since the epoch), with the chosen aggregate. The tier read is the
 * coarsest whose resolution divides step_ms (1 h, then 1 min, else raw), so a 30-day query
 * at a 1 h step reads 720 points per series; what a tier does not hold yet (the open chunks for
 * hours, the raw samples still kept for minutes) is aggregated from raw samples on the fly. A
 * rollup point is counted in the step its period starts in, and is included when that start
 * lies in [from_ms, to_ms). step_ms <= 0 behaves as store_range. */
int store_range_agg(hm_store *st, const char *match, int64_t from_ms, int64_t to_ms,
                    int64_t step_ms, enum store_agg agg, store_point_cb cb, void *ud, hm_err *e);

/* Lists the series names matching `match` (as store_range) with their units. */
int store_series(hm_store *st, const char *match, strvec *names, strvec *units, hm_err *e);

/* Deletes raw samples older than before_ms (exactly: a chunk straddling it is rewritten),
 * keeping their minutes in the 1-minute tier; the rollups are left to their own retention.
 * Later appends older than before_ms are not stored. Returns the number of samples deleted or
 * -1. */
int64_t store_prune(hm_store *st, int64_t before_ms, hm_err *e);

/* Housekeeping after a collection cycle: seals the open chunks idle for a chunk span (so
 * series that stopped get their hours) and deletes every chunk whose window ended before its
 * tier's retention cut-off (now_ms - retention), raw chunks after writing their minutes.
 * Returns 0 or -1. */
int store_maintain(hm_store *st, int64_t now_ms, hm_err *e);

typedef struct store_tier_stats {
    int64_t series;      /* series with data in the tier */
    int64_t chunks;
    int64_t points;      /* samples (raw) or aggregates (rollups) */
    int64_t bytes;       /* chunk bytes; for raw, plus the shared time columns */
    int64_t oldest_ms, newest_ms; /* 0 when the tier is empty */
} store_tier_stats;

typedef struct store_stats {
    int64_t series;           /* series known */
    store_tier_stats tier[STORE_TIERS];
    int64_t open_chunks;      /* raw chunks still open */
    int64_t time_columns, time_column_bytes; /* shared time columns */
    int64_t file_bytes;       /* the database file */
    int64_t wal_bytes;        /* its write-ahead log */
    int64_t dropped_expired;  /* samples not stored: older than the raw retention cut-off */
} store_stats;

/* Counts what the store holds (reads the chunk index, not the chunks). Returns 0 or -1. */
int store_stats_get(hm_store *st, store_stats *out, hm_err *e);

/* Makes the file as small as it can be: seals every open chunk whose window ended before
 * now_ms, applies retention (store_maintain), checkpoints the write-ahead log and rebuilds
 * the file (VACUUM). Needs a moment without other writers (waits up to the busy timeout).
 * *before and *after, when non-NULL, get the file size in bytes (database plus log). Returns 0
 * or -1. */
int store_compact(hm_store *st, int64_t now_ms, int64_t *before, int64_t *after, hm_err *e);

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
