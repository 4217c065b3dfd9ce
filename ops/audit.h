/* The audit table in the store: one row per operation that changes the console (upgrade,
 * rollback, reload), written when the operation starts and completed when it ends, so an
 * operation killed half-way still shows who started it, when, and what it was doing. */
#ifndef HM_OPS_AUDIT_H
#define HM_OPS_AUDIT_H

#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"
#include "store/store.h"

typedef struct audit_entry {
    int64_t id;
    int64_t ts_ms;      /* start, epoch ms */
    int64_t end_ms;     /* end, 0 while running or when interrupted */
    char *user;         /* "alice", or "alice (sudo)" */
    char *action;       /* "upgrade", "rollback", "reload" */
    char *from_version; /* may be NULL */
    char *to_version;   /* may be NULL */
    char *result;       /* "running", "ok", "failed", "rolled back", "interrupted" */
    char *detail;       /* reason, backup name or the services reloaded; may be NULL */
} audit_entry;

/* Who runs this process, for the audit: the invoking user behind sudo (SUDO_USER, when the
 * process runs as root) marked "(sudo)", else the name of the real user id from the password
 * database, else "uid N". Returns a new string. */
char *audit_user(void);

/* Creates or updates the audit table (store_migrate module "audit"). Returns 0, or -1 with e
 * set (the store's message, naming its path). */
int audit_migrate(hm_store *st, hm_err *e);

/* Opens the configuration's store (<data_dir>/hmctl.db, store_open_config) with the audit
 * table created or updated. Returns the store (close it with store_close), or NULL with e set:
 * the store's errors, each naming its path. */
hm_store *audit_open(const hm_config *cfg, hm_err *e);

/* Starts a row: now, audit_user(), action, versions (NULL allowed), result "running". Returns
 * the row id (> 0), or -1 with e set. */
int64_t audit_begin(hm_store *st, const char *action, const char *from, const char *to,
                    const char *detail, hm_err *e);

/* Completes row id with its result ("ok", "failed", "rolled back", "interrupted") and detail
 * (NULL keeps the old one), stamping the end time now. Returns 0, or -1 with e set. */
int audit_finish(hm_store *st, int64_t id, const char *result, const char *detail, hm_err *e);

/* The newest rows first, at most limit (0: all). Returns the count with *out a new array
 * (free with audit_entries_free), or -1 with e set. */
int audit_list(hm_store *st, int limit, audit_entry **out, hm_err *e);
/* Frees the n entries of v (from audit_list) and v itself. */
void audit_entries_free(audit_entry *v, int n);

#endif
