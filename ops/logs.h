/* The log bundle of hmctl logs collect (the seed's 日志的导出: collect the components' logs
 * first thing after a problem, to hand to the vendor): one tar.gz written with libarchive,
 * holding under one top directory
 *   console/status.json, console/alerts.json    hmctl status --json, hmctl alerts list --json
 *   console/hmctl-config.txt                    hmctl config show (secrets masked)
 *   console/containers/NAME.log                 each console container's log for the period
 *   console/local/PATH                          [installer] config_dir files, [installer]
 *                                               log_dirs files changed within the period
 *   proxy|agent|gateway/local/PATH              [logs] *_paths present on this host
 *   proxy|agent|gateway/HOST/PATH               the same paths on each [host] of that role
 *   MANIFEST                                    every file: path, size, values masked,
 *                                               truncation, source; then what was not
 *                                               collected and why
 * Every text file passes through ops/mask.h; binary files are left out; gzip-compressed logs
 * are decompressed (and masked). Configuration files keep their beginning and logs their end
 * when longer than max_file; once the files reach max_total, the rest is listed as not
 * collected. The archive is written under a temporary name and renamed when complete. */
#ifndef HM_OPS_LOGS_H
#define HM_OPS_LOGS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"
#include "ops/remote.h"

typedef struct logs_opts {
    int64_t since_ms;         /* the period: files changed and container output within it */
    strvec components;        /* console, proxy, agent, gateway */
    const char *output;       /* the archive's path */
    uint64_t max_file;        /* bytes kept of one file */
    uint64_t max_total;       /* bytes of all files (before compression) */
    const char *self_exe;     /* hmctl run for status, alerts and config; NULL leaves them out */
    const char *config_path;  /* its -c FILE, or NULL */
    bool has_alerts;          /* whether that hmctl has `alerts list` */
    const remote_ops *remote; /* transport to [host] sections; NULL: hosts noted as not
                                 collected, "SSH support not available" */
    void (*say)(void *ud, const char *line); /* progress, may be NULL */
    void *ud;
} logs_opts;

typedef struct logs_summary {
    size_t files;     /* files in the archive, MANIFEST excluded */
    uint64_t bytes;   /* their total size */
    size_t masked;    /* values masked, over all files */
    size_t truncated; /* files cut to max_file */
    size_t missing;   /* "not collected" entries */
} logs_summary;

/* Whether name is one of the components: console, proxy, agent, gateway. */
bool logs_component_valid(const char *name);

/* Writes the bundle to o->output. A component, host, file or command that cannot be read is
 * listed in the MANIFEST as not collected, with the reason, and the collection goes on.
 * Returns 0 with s filled, or -1 with e set when the archive itself cannot be written
 * ("cannot write 'x': reason"); no partial archive is left then. */
int logs_collect(const hm_config *cfg, const logs_opts *o, logs_summary *s, hm_err *e);

/* The default archive name: hmctl-logs-HOSTNAME-YYYYmmddTHHMMSSZ.tar.gz. New string. */
char *logs_default_name(int64_t now_ms);

#endif
