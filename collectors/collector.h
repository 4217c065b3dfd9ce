/* Collectors: each source of health data (the host, Docker, RabbitMQ, ...) is a function that
 * fills an hm_result with samples and component states. hm_poll_run() runs them all at once,
 * each bounded by its timeout, so one slow source never delays the rest. */
#ifndef HM_COLLECTOR_H
#define HM_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"

/* Component states, ordered so that a larger value is worse for `check`'s exit code:
 * ok < warning < unknown < critical. The Nagios exit code is hm_state_exit_code(). */
enum hm_state { HM_OK = 0, HM_WARNING = 1, HM_UNKNOWN = 2, HM_CRITICAL = 3 };

const char *hm_state_name(enum hm_state s); /* "ok", "warning", "unknown", "critical" */
/* Nagios plugin exit code: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3. */
int hm_state_exit_code(enum hm_state s);
enum hm_state hm_state_worse(enum hm_state a, enum hm_state b);

/* One measurement. `series` is the metric name with Prometheus-style labels in a canonical
 * order (sorted by label name): `rabbitmq.queue.messages{queue="hm.tasks"}`. The console host's
 * own series carry no host label; a remote host's carry host="NAME". */
typedef struct hm_sample {
    char *series;
    double value;
    const char *unit; /* static string: "percent", "bytes", "bytes/s", "count", "seconds", "ms", "days", "bool", "" */
    int64_t ts_ms;
} hm_sample;

/* The health of one component: a container, a middleware server, a port, a remote host ...
 * `status` is the short State the seed's status view prints ("Up (healthy)", "Exited (3)");
 * `detail` is the one-line human explanation. */
typedef struct hm_component {
    char *name;  /* "ant-api", "rabbitmq", "port 10443" */
    char *kind;  /* "container", "docker", "rabbitmq", "mariadb", "redis", "influxdb", "port",
                    "disk", "host", ... */
    enum hm_state state;
    char *status; /* may be NULL */
    char *detail;
} hm_component;

typedef struct hm_result {
    hm_sample *samples;
    size_t n_samples, cap_samples;
    hm_component *components;
    size_t n_components, cap_components;
} hm_result;

/* Builds a series name from a metric and label pairs (NULL-terminated list of name, value);
 * labels are sorted by name and values escaped (\\ \" \n) as Prometheus does. */
char *hm_series(const char *metric, ...) __attribute__((sentinel));
void hm_result_add_sample(hm_result *r, const char *series, double value, const char *unit,
                          int64_t ts_ms);
/* Adds a sample with the series built from metric + labels (as hm_series). */
hm_component *hm_result_add_component(hm_result *r, const char *name, const char *kind,
                                      enum hm_state state, const char *status,
                                      const char *detail_fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Moves every sample and component of src to the end of dst; src is left empty. */
void hm_result_move(hm_result *dst, hm_result *src);
void hm_result_free(hm_result *r);
/* The worst state among the components (HM_OK when there are none). */
enum hm_state hm_result_worst(const hm_result *r);

/* Small key/value memory a collector keeps between cycles (previous /proc/stat counters, ...).
 * In `tui` it lives in memory; in one-shot commands the store persists it. Thread-safe. */
typedef struct hm_kv hm_kv;
hm_kv *hm_kv_new(void);
void hm_kv_free(hm_kv *kv);
/* Returns a new copy of the value, or NULL. */
char *hm_kv_get(hm_kv *kv, const char *key);
void hm_kv_put(hm_kv *kv, const char *key, const char *value);
/* Iterates every pair (for saving to the store). */
void hm_kv_each(hm_kv *kv, void (*fn)(const char *key, const char *value, void *ud), void *ud);
/* An object a collector keeps between cycles that is not text and is never saved: the SSH
 * session pool, so that `tui` keeps its sessions open while each one-shot command, whose kv lives
 * for one cycle, connects once. Returns the object under key, calling create(arg) to make it on
 * first use (under the kv's lock, so two threads never make two); hm_kv_free calls destroy. */
void *hm_kv_object(hm_kv *kv, const char *key, void *(*create)(void *arg), void *arg,
                   void (*destroy)(void *obj));

/* What a collector receives. */
typedef struct hm_collect_ctx {
    const hm_config *cfg;
    hm_kv *kv;
    int64_t now_ms;      /* hm_now_ms() at cycle start: the timestamp of every sample */
    int64_t timeout_ms;  /* budget for this collector ([hmctl] timeout) */
    int64_t deadline_mono; /* hm_mono_ms() value after which it must give up */
} hm_collect_ctx;

typedef void (*hm_collect_fn)(const hm_collect_ctx *cc, hm_result *out);

typedef struct hm_collector {
    const char *name;
    hm_collect_fn fn;
} hm_collector;

/* A collector whose time budget is not [hmctl] timeout (the remote hosts need their connect
 * plus command timeouts): fn returns it in milliseconds, 0 for [hmctl] timeout. */
typedef struct hm_collector_budget {
    const char *name;
    int64_t (*fn)(const hm_config *cfg);
} hm_collector_budget;

/* The built-in collectors in display order (collectors/registry.c). */
extern const hm_collector hm_collectors[];
/* The collectors with a budget of their own, by name; terminated by {NULL, NULL}. */
extern const hm_collector_budget hm_collector_budgets[];

/* Runs every collector concurrently (one thread each) and merges their results into out in
 * registry order. Each collector's deadline is [hmctl] timeout after the start, or its own
 * budget when that is longer. A collector still running at its deadline plus a grace second is
 * abandoned: its component is reported `unknown` with "no answer within N s" and its late
 * result is discarded. `only`, when non-NULL, is a NULL-terminated list of collector names to run.
 * Returns the number of collectors abandoned: while it is non-zero, cfg and kv may still be in
 * use by their threads and must not be freed. */
int hm_poll_run(const hm_config *cfg, hm_kv *kv, const char *const *only, hm_result *out);
/* How many collector threads abandoned by hm_poll_run are still running in this process;
 * while non-zero, the configuration they were given must stay allocated. */
int hm_poll_abandoned_running(void);

/* The same over another table of collectors (terminated by {NULL, NULL}); for tests. */
int hm_poll_run_table(const hm_collector *table, const hm_config *cfg, hm_kv *kv,
                      const char *const *only, hm_result *out);

/* Individual collectors (collectors/<name>.c). */
void collect_host(const hm_collect_ctx *cc, hm_result *out);
void collect_disk(const hm_collect_ctx *cc, hm_result *out);
void collect_port(const hm_collect_ctx *cc, hm_result *out);
void collect_docker(const hm_collect_ctx *cc, hm_result *out);
void collect_rabbitmq(const hm_collect_ctx *cc, hm_result *out);
void collect_mariadb(const hm_collect_ctx *cc, hm_result *out);
void collect_redis(const hm_collect_ctx *cc, hm_result *out);
void collect_influxdb(const hm_collect_ctx *cc, hm_result *out);
/* Every configured console's API, hosts, jobs and gateways; records the derived events. */
void collect_console(const hm_collect_ctx *cc, hm_result *out);
/* Every [host "NAME"] over SSH (collectors/remote.c); its budget is remote_budget_ms(). */
void collect_remote(const hm_collect_ctx *cc, hm_result *out);
int64_t collect_remote_budget(const hm_config *cfg);

#endif
