/* hmsim: a console API simulator for tests and demos. It serves the contract of
 * shared/console-api.md from a fleet that is deterministic for a seed and that keeps living
 * (syncs progress, boots and cleanups finish) while clients poll it. */
#ifndef HMSIM_SIM_H
#define HMSIM_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "lib/util.h"

enum sim_host_type { HT_VMWARE, HT_OPENSTACK, HT_AWS, HT_FUSIONCOMPUTE, HT_ORACLE, HT_AGENT, HT_COUNT };

/* Values of h_host_status and h_sync_status, in the console's spelling (sim_host_state_name). */
enum sim_host_state {
    HS_REGISTER_DONE,
    HS_SYNC_DOING,
    HS_SYNC_FAILED,
    HS_SYNC_DONE,
    HS_CLEAN_DOING,
    HS_CLEAN_DONE,
    HS_CLEAN_FAILED,
    HS_UNREG_DOING,
    HS_UNREG_DONE,
    HS_UNREG_FAILED,
};

enum sim_boot_state { BS_NOT_BOOT, BS_DOING, BS_FAILED, BS_DONE };

enum sim_job_type {
    JT_REGISTER,
    JT_SYNC,
    JT_DRILL,
    JT_BOOTTEST,
    JT_TAKEOVER,
    JT_BOOTFORMAL,
    JT_CLEAN,
    JT_UNREGISTER,
    JT_COUNT
};

enum sim_job_status { JS_DOING, JS_DONE, JS_FAILED };

/* A boot or cleanup in flight; a host runs at most one of them, next to its sync. */
enum sim_op { OP_NONE, OP_BOOT, OP_CLEAN };

/* Snapshots kept per host, newest first; the console's snapshot_quota. */
#define SIM_SNAPS 8

struct sim_snap {
    int64_t at_ms;
    uint32_t seq; /* per-host counter; the snapshot id is derived from it */
    uint32_t size_mb;
};

struct sim_host {
    char id[37];
    char *name;
    uint8_t type;
    bool windows;
    uint8_t host_state, sync_state, boot_state;
    bool active, license_valid;
    bool paused; /* periodic syncs are off (the host whose snapshot goes stale) */
    bool fail_next_sync, fail_next_boot;
    uint16_t gateway;
    uint8_t ip_kind; /* 0 address, 1 JSON null, 2 the string "None" */
    uint32_t ip;
    uint8_t mac[6];
    int64_t created_ms;
    uint32_t interval_min; /* sync strategy: minutes between snapshots */
    struct sim_snap snaps[SIM_SNAPS];
    uint8_t nsnaps;
    uint32_t snap_seq;
    /* the sync in flight, if any */
    bool syncing, sync_will_fail;
    int64_t sync_start_ms, sync_end_ms, next_sync_ms;
    uint64_t sync_bytes;
    uint32_t sync_job;
    /* the boot or cleanup in flight, if any */
    uint8_t op;
    bool op_will_fail;
    int64_t op_end_ms;
    uint32_t op_job;
    uint32_t instance_seq; /* 0: no cloud instance; else cloud_instance_id is derived from it */
};

/* One job of the history, packed so a million fit in 16 MB; its text is made on output.
 * Jobs are kept in start order, so the array index is stable and doubles as the task id. */
struct sim_job {
    uint32_t host;
    uint32_t start_s; /* epoch seconds */
    uint32_t dur_s;   /* end_at = start_s + dur_s once the job is no longer doing */
    uint8_t type;     /* enum sim_job_type */
    uint8_t status;   /* enum sim_job_status */
    uint16_t detail;  /* picks the failure text */
};

struct sim_gateway {
    char uuid[37];
    char name[48];
    char region[16];
    uint8_t cloud;
    bool online;
    uint64_t pool_bytes;
};

struct sim_opts {
    uint64_t seed;
    size_t hosts, gateways, jobs; /* jobs 0: derived from hosts */
    double speed;
    int history_days;
    int64_t boot_delay_ms, clean_delay_ms, sync_delay_ms; /* before scaling by speed */
    int live_fail_percent;
};

struct sim_fleet {
    pthread_mutex_t lock;
    struct sim_opts opt;
    struct sim_host *hosts;
    size_t nhosts;
    struct sim_gateway *gws;
    size_t ngws;
    struct sim_job *jobs;
    size_t njobs, capjobs;
    uint64_t rng; /* live randomness, seeded from the seed so runs replay */
    uint32_t instance_counter;
};

/* Deterministic randomness: splitmix64 steps a 64-bit state; sim_mix hashes values. */
uint64_t sim_rand(uint64_t *state);
/* A value in [0, n); n > 0. */
uint64_t sim_rand_below(uint64_t *state, uint64_t n);
uint64_t sim_mix(uint64_t a, uint64_t b);
/* Formats a version-4 style UUID from a hash of (seed, kind, index) into out[37]. */
void sim_uuid(uint64_t seed, uint32_t kind, uint64_t index, char out[37]);

enum { UUID_HOST = 1, UUID_JOB, UUID_SNAP, UUID_GATEWAY, UUID_POOL, UUID_VOLUME, UUID_VG };

const char *sim_host_type_name(unsigned t);
const char *sim_host_state_name(unsigned s);
const char *sim_boot_state_name(unsigned s);
const char *sim_job_type_name(unsigned t);
/* -1 when the name is not a job type. */
int sim_job_type_parse(const char *s);
const char *sim_job_status_name(unsigned s);
const char *sim_cloud_name(unsigned c);

/* Builds the fleet and its job history for opt at time now_ms. */
void fleet_init(struct sim_fleet *f, const struct sim_opts *opt, int64_t now_ms);
void fleet_free(struct sim_fleet *f);
/* Moves every live operation forward to now_ms: finishes syncs, boots and cleanups whose time
 * has come and starts the periodic syncs that are due. Caller holds f->lock. */
void fleet_advance(struct sim_fleet *f, int64_t now_ms);
/* Finds a host by id, else by host_name; NULL when none. Caller holds f->lock. */
struct sim_host *fleet_find(struct sim_fleet *f, const char *id_or_name);
/* Actions; each returns 0 or an HTTP status with msg filled. Caller holds f->lock. */
int fleet_boot(struct sim_fleet *f, struct sim_host *h, bool takeover, const char *snapshot_id,
               int64_t now_ms, hm_err *msg);
int fleet_sync(struct sim_fleet *f, struct sim_host *h, bool full, int64_t now_ms, hm_err *msg);
int fleet_clean(struct sim_fleet *f, struct sim_host *h, int64_t now_ms, hm_err *msg);
/* The snapshot id of h's snapshot seq into out[37]. */
void fleet_snap_id(const struct sim_fleet *f, const struct sim_host *h, uint32_t seq,
                   char out[37]);
/* The cloud instance id of a boot into out (at least 24 bytes). */
void fleet_instance_id(const struct sim_fleet *f, const struct sim_host *h, char *out, size_t n);
/* How many disks a host has and the size of each (GiB); derived from the seed. */
int fleet_disks(const struct sim_fleet *f, const struct sim_host *h, uint32_t gib[4]);
size_t fleet_index(const struct sim_fleet *f, const struct sim_host *h);

/* TLS material for the listener: a fresh EC P-256 key and a self-signed certificate for CN
 * localhost with SAN DNS:localhost, IP:127.0.0.1 and IP:bind_ip (when it is another
 * address), both as PEM strings the caller frees. Returns 0, or -1 with e set. */
int tls_make_cert(const char *bind_ip, char **key_pem, char **cert_pem, hm_err *e);

#endif

struct sim_token {
    char value[33];
    int64_t expires_ms;
};

/* Everything the HTTP handlers share; the fleet's lock guards all mutable fields here too, except
 * the atomics. */
struct sim_server {
    struct sim_fleet fleet;
    const char *user, *password;
    struct sim_token *tokens;
    size_t ntokens;
    /* faults armed through the control endpoint */
    int64_t latency_ms, stall_ms;
    unsigned n500, nmalformed, ntruncated, nstall;
    /* counters for GET /_hmsim/stats */
    uint64_t api_requests, control_requests, tokens_issued, auth_failures;
    uint64_t act_drill, act_takeover, act_sync, act_clean;
    uint64_t served_500, served_malformed, served_truncated, served_stall;
    int64_t started_ms;
    atomic_bool stopping;
    atomic_uint_fast64_t requests;
};

/* The libmicrohttpd access handler and completion callback; cls is the struct sim_server. */
enum MHD_Result api_handle(void *cls, struct MHD_Connection *c, const char *url,
                           const char *method, const char *version, const char *upload,
                           size_t *upload_size, void **con_cls);
void api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe);
