/* The console collector's reads for callers that need more than its components: the TUI reads
 * a console once and shows both its health and its hosts. */
#ifndef HM_COLLECTORS_CONSOLE_H
#define HM_COLLECTORS_CONSOLE_H

#include <stdbool.h>

#include "collectors/collector.h"
#include "console/console.h"

/* What one read of a console gives besides its components. */
typedef struct console_read {
    console_conf conf;   /* its settings; zeroed when they could not be loaded */
    bool loaded;         /* conf is set */
    bool ok;             /* hosts and jobs were read */
    hm_err err;          /* why not, when !ok */
    console_hosts hosts; /* every host, without its snapshot list (last_snapshot_ms is kept) */
    console_jobs jobs;   /* the jobs of the last 24 hours */
} console_read;

/* Reads console `name` ("" or NULL: the unnamed [console]) exactly as collect_console does:
 * its components and samples go to out and the derived events to the store. When keep is not
 * NULL, the settings, hosts and jobs are moved there (free them with console_read_free). */
void collect_console_read(const hm_collect_ctx *cx, const char *name, hm_result *out,
                          console_read *keep);
void console_read_free(console_read *r);

/* The state an event of this type stands for: critical for host_lost_contact, sync_failed
 * and boot_failed (the seed's alerting table), ok for host_reconnected, else warning. */
enum hm_state console_event_severity(const char *type);

#endif
