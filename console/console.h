/* The console REST client: one module for everything hmctl reads from a HyperBDR console's
 * HyperMotion API (/hypermotion/v1): token, hosts, jobs and targets (cloud sync gateways),
 * parsed into C structs, and the events hmctl derives from consecutive polls.
 *
 * Formats and field names follow the contract in console-api.md (the vendor's published API,
 * restated); every parser ignores fields it does not know and accepts a missing field as
 * "unknown", so a newer console does not break hmctl. */
#ifndef HM_CONSOLE_H
#define HM_CONSOLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"
#include "store/store.h"

/* hmctl's job kinds; the console's job_type names map to them through [console] jobs_KIND. */
enum console_kind {
    CONSOLE_KIND_OTHER = 0,
    CONSOLE_KIND_REGISTER,
    CONSOLE_KIND_SYNC,
    CONSOLE_KIND_DRILL,
    CONSOLE_KIND_TAKEOVER,
    CONSOLE_KIND_CLEAN,
    CONSOLE_KIND_UNREGISTER,
    CONSOLE_KIND_N
};

/* "other", "register", "sync", "drill", "takeover", "clean", "unregister". */
const char *console_kind_name(enum console_kind k);
/* The kind named s; returns -1 when s names none. */
int console_kind_parse(const char *s);

/* The settings of one configured console ([console] or [console "NAME"]). */
typedef struct console_conf {
    char *name;         /* NULL for the unnamed [console] */
    char *label;        /* "console" or "console NAME": component names and messages */
    char *url;          /* base URL without a trailing slash */
    char *username;
    char *ca_file;
    char *fingerprint;
    bool insecure;
    int64_t connect_timeout_ms;
    int64_t timeout_ms; /* per request */
    int64_t rpo_target_ms;
    char *rpo_hosts;    /* raw rpo_target_hosts value: "PATTERN=DURATION, ..." */
    int page_size;
    strvec job_types[CONSOLE_KIND_N]; /* job_type names per kind; [OTHER] unused */
} console_conf;

/* Reads the settings of console `name` (NULL: the unnamed [console], or its defaults when no
 * [console] section exists). Returns 0, or -1 with e set when `name` is not configured
 * ("no console 'x' in the configuration (configured: default, tenant-a)"), or when
 * rpo_target_hosts is malformed. The password is not read here (see console_open). */
int console_conf_load(const hm_config *cfg, const char *name, console_conf *out, hm_err *e);
void console_conf_free(console_conf *cc);
/* The names of the configured consoles in file order, "" standing for the unnamed one.
 * Returns the count (0 when the configuration has no console section). */
size_t console_conf_names(const hm_config *cfg, strvec *out);
/* The RPO target of a host in milliseconds: the first rpo_target_hosts pattern (fnmatch(3)
 * glob on the host name) that matches, else rpo_target. */
int64_t console_conf_rpo(const console_conf *cc, const char *host_name);
/* The kind of a console job_type name, through cc->job_types (exact, case-sensitive match as
 * the console spells it); CONSOLE_KIND_OTHER when unmapped. */
enum console_kind console_conf_kind(const console_conf *cc, const char *job_type);

/* A snapshot of a host (console-api.md, Hosts: snapshots). */
typedef struct console_snapshot {
    char *id, *name, *status; /* status: create_doing, create_failed, create_done */
    int64_t created_ms;       /* 0 when unknown */
    double size;              /* as the console reports it (hmsim: bytes) */
} console_snapshot;

/* One protected host; strings are NULL when the console sent null, "None" or nothing. */
typedef struct console_host {
    char *id, *name, *host_type, *system_type, *ip_address, *mac_address;
    char *host_status, *boot_status, *health_status, *sync_status;
    /* detail_data while syncing; percent -1 when absent */
    double percent;
    char *speed, *sync_total, *synced;
    double remaining_time; /* seconds, -1 when absent */
    int64_t last_snapshot_ms; /* 0 when the host has no snapshot */
    console_snapshot *snapshots;
    size_t n_snapshots;
    char *storage_id, *target_name, *cloud_instance_id;
    int license_valid; /* 1, 0, or -1 when absent */
    bool is_doing;
    int64_t created_ms;
} console_host;

/* One job of the task history. */
typedef struct console_job {
    char *task_id, *job_type, *job_status, *host, *source_id, *description, *detail;
    enum console_kind kind;
    int64_t start_ms, end_ms, updated_ms; /* 0 when null */
    char *mode; /* sync_mode ("incremental" or "full") when the console sends it, else NULL */
    char *mem;  /* when set, every text field above points into this one allocation, which
                   console_job_clear frees; when NULL each field is its own allocation */
} console_job;

typedef struct console_pool {
    char *uuid, *name, *protocol, *status;
    double total_size, used_size;
} console_pool;

typedef struct console_volume {
    char *uuid, *name, *status, *attach_status, *host, *pool_uuid;
    double capacity;
} console_volume;

/* A target (cloud sync gateway); pools, volumes and sizes only after console_get_target. */
typedef struct console_target {
    char *uuid, *name, *cloud_type, *status, *region;
    int online; /* 1, 0, or -1 when absent */
    double total_size, used_size;
    console_pool *pools;
    size_t n_pools;
    console_volume *volumes;
    size_t n_volumes;
    size_t n_volume_groups;
} console_target;

typedef struct console_hosts {
    console_host *v;
    size_t n, cap;
} console_hosts;

typedef struct console_jobs {
    console_job *v;
    size_t n, cap;
} console_jobs;

typedef struct console_targets {
    console_target *v;
    size_t n, cap;
} console_targets;

void console_hosts_free(console_hosts *h);
void console_jobs_free(console_jobs *j);
void console_targets_free(console_targets *t);
void console_target_free(console_target *t);
/* Frees the fields of one host or job (not the struct itself; a job's mem, or each field). */
void console_host_clear(console_host *h);
void console_job_clear(console_job *j);

/* Parsers of one answer body (used by the client; public for tests). Each appends to `out`
 * and returns 0, or -1 with e set: "empty answer instead of JSON", "malformed JSON at line L
 * column C: reason" (which is also what a truncated body gives), or "expected ..." when the
 * shape is wrong. *total gets the answer's "total" (-1 when absent). */
int console_parse_token(const char *body, char **token, hm_err *e);
int console_parse_hosts(const char *body, console_hosts *out, long *total, hm_err *e);
int console_parse_jobs(const char *body, const console_conf *cc, console_jobs *out, long *total,
                       hm_err *e);
int console_parse_targets(const char *body, console_targets *out, hm_err *e);
int console_parse_target(const char *body, console_target *out, hm_err *e);

/* A client: settings, the secret, one keep-alive HTTP handle and the current token. One thread
 * at a time. */
typedef struct console console;

/* Opens a client for console `name` (NULL: the default). Reads the password (password,
 * password_file or HMCTL_CONSOLE[_NAME]_PASSWORD). Connects lazily: no request is made here.
 * Errors: those of console_conf_load, an unreadable password_file, no password at all. */
int console_open(const hm_config *cfg, const char *name, console **out, hm_err *e);
void console_close(console *c);
const console_conf *console_settings(const console *c);
/* Lowers the per-request timeout (collectors give the console what is left of their budget). */
void console_set_timeout(console *c, int64_t timeout_ms);

/* Obtains a token (POST /users/token) unless one is held. Errors name the URL, the HTTP
 * status and the console's message ("https://.../users/token: HTTP 401: bad credentials"),
 * or the transport failure (refused, timeout, TLS, fingerprint mismatch with both values). */
int console_login(console *c, hm_err *e);

/* Query filters of GET /hosts (console-api.md); NULL fields are not sent. */
typedef struct console_host_query {
    const char *status;          /* register | sync | boot */
    const char *kw;              /* part of the name */
    const char *target_platform;
    const char *ids;             /* comma-separated host ids */
    bool no_snapshots;           /* drop each host's snapshot list as its page is read
                                    (last_snapshot_ms stays): for callers that keep many hosts */
} console_host_query;

/* Every host (GET /hosts paged by page_size until page*page_size >= total), each once: a host
 * seen twice (the fleet changed between pages) is kept once. q may be NULL. Returns 0 or -1
 * with e set as console_login plus "malformed answer from URL: ...". */
int console_list_hosts(console *c, const console_host_query *q, console_hosts *out, hm_err *e);

/* Query of GET /jobs. */
typedef struct console_job_query {
    const char *status;   /* all (default) | working | complete */
    const char *job_type; /* one console job_type */
    const char *owner;    /* host name */
    const char *host_id;
    int64_t since_ms;     /* > 0: stop paging once a whole page started before this (the console
                             lists the newest first) and drop older jobs */
} console_job_query;

int console_list_jobs(console *c, const console_job_query *q, console_jobs *out, hm_err *e);

/* Called once per job by console_walk_jobs; the job is freed after the call returns. Return 0
 * to go on, non-zero to stop paging (console_walk_jobs then returns 0). */
typedef int (*console_job_fn)(const console_job *j, void *ud);

/* Every job the query reads, page by page in the console's order (newest first), handed to fn
 * without being kept, so memory stays at one page however long the history (a million jobs
 * stream through in constant space). A job that reappears at the top of the next page (the
 * list grew at the front while paging) is passed once. Unlike console_list_jobs no job is
 * dropped for q->since_ms: it only stops the paging after a page whose jobs all started before
 * it, so fn also sees older jobs of the last page read. Returns 0 (also when fn stopped it), or
 * -1 with e set as console_list_jobs. */
int console_walk_jobs(console *c, const console_job_query *q, console_job_fn fn, void *ud,
                      hm_err *e);
/* GET /targets (every type). */
int console_list_targets(console *c, console_targets *out, hm_err *e);
/* GET /targets/{uuid}: pools, volumes, sizes. */
int console_get_target(console *c, const char *uuid, console_target *out, hm_err *e);

/* --- Actions (console-api.md "Actions on hosts") --- */

/* The settings of one boot request. backup_type selects the mode: "volume_snapshot" is a test
 * boot (a DR drill: the source keeps replicating), "volume_backup" a formal boot (a DR
 * takeover). The target settings come from the operator's plan and are sent only when set
 * (NULL fields are left out); the contract does not fix their names beyond these. */
typedef struct console_boot_req {
    const char *backup_type;       /* required: volume_snapshot | volume_backup */
    const char *snapshot_id;       /* the recovery point; NULL lets the console choose */
    const char *network;
    const char *flavor;
    const char *security_group;
    const char *availability_zone;
    const char *fixed_ip;
} console_boot_req;

/* Boots one host on the target: POST /hosts/{id}/action with {"boot": {...}} (console-api.md,
 * "Actions on hosts"), with the 401 retry of every call. A boot is not repeated on any other
 * failure: the caller decides, since the console may have started it. On success *task_id gets
 * the new job's task_id when the answer carries one (hmsim does; NULL otherwise), to be freed
 * by the caller. Returns 0, or -1 with e set: an answer whose "code" is not 200 or an HTTP error
 * status gives "URL: HTTP 409: <the console's message verbatim>", a transport failure names
 * the URL and the reason, a missing backup_type "boot of HOST: no backup_type". */
int console_boot_host(console *c, const char *host_id, const console_boot_req *req,
                      char **task_id, hm_err *e);

/* Removes the target resources of earlier boots (the cleanup after a drill): POST /hosts with
 * {"ids": [...], "clean": {"force": force}} (console-api.md). n must be at least 1. The console
 * answers for the whole list: when it refuses one host it may have started the others, so the
 * caller re-reads the hosts to know. Returns 0, or -1 with e set as console_boot_host. */
int console_clean_hosts(console *c, const char *const *host_ids, size_t n, bool force,
                        hm_err *e);

/* Parses the answer of an action ({"code": 200, "message": "...", "task_id": ...}). Returns 0
 * with *task_id set (or NULL when absent; may be NULL to ignore it), or -1 with e holding the
 * console's message when code is not 200, or "malformed JSON ..." / "expected an object". */
int console_parse_action(const char *body, char **task_id, hm_err *e);

/* Opens console `name` and prints the insecure warning on stderr when it is configured so;
 * the common start of every command. Prints the error and returns NULL on failure. */
console *console_open_cli(const hm_config *cfg, const char *name);

/* --- Derived events (console-api.md "Events hmctl derives") --- */

typedef struct console_event {
    int64_t ts_ms;
    char *console;   /* "" for the unnamed console */
    char *host_id, *host_name;
    char *type;      /* host_lost_contact, host_reconnected, sync_failed, boot_failed,
                        license_expired, rpo_exceeded */
    char *source;    /* what produced it: "job:TASK_ID", "poll:MS" (the previous poll it was
                        compared with) or "snapshot:MS" (rpo_exceeded, per stale snapshot) */
    char *detail;
} console_event;

typedef struct console_events {
    console_event *v;
    size_t n, cap;
} console_events;

void console_events_free(console_events *ev);

/* Compares the hosts of this poll with the previous poll of the same console kept in the store
 * (table console_hosts_seen), reads the failed jobs in `jobs`, records each new event once
 * (INSERT OR IGNORE on console, host, type, source) and replaces the kept poll with this one,
 * all in one transaction. The first poll of a console records the baseline and no transition
 * events. `fresh` gets the events this call inserted (may be NULL). Returns 0, or -1 with e
 * set on a store failure. */
int console_events_record(hm_store *st, const console_conf *cc, const console_hosts *hosts,
                          const console_jobs *jobs, int64_t now_ms, console_events *fresh,
                          hm_err *e);
/* Reads stored events with ts >= since_ms, oldest first; console NULL for every console. */
int console_events_list(hm_store *st, const char *console, int64_t since_ms,
                        console_events *out, hm_err *e);
/* Reads the newest `limit` stored events with ts >= since_ms, newest first. */
int console_events_latest(hm_store *st, const char *console, int64_t since_ms, size_t limit,
                          console_events *out, hm_err *e);
/* Counts stored events in n buckets of bucket_ms from from_ms: counts[i] gets those with
 * from_ms + i * bucket_ms <= ts < from_ms + (i + 1) * bucket_ms. console NULL: every console.
 * Returns 0, or -1 with e set (counts are then zero). */
int console_events_count(hm_store *st, const char *console, int64_t from_ms, int64_t bucket_ms,
                         size_t n, long *counts, hm_err *e);

/* JSON objects of one host, job, target (with pools and volumes when loaded), event; the field
 * names are console-api.md's, with times as ISO-8601 UTC and the job kind added. */
json_t *console_host_json(const console_host *h, const console_conf *cc, int64_t now_ms);
json_t *console_job_json(const console_job *j);
json_t *console_target_json(const console_target *t);
json_t *console_event_json(const console_event *ev);

#endif
