/* The runs of plans in the store: one row per run, the journal of every transition of a run
 * (written and committed before the run goes on, so an interrupted run can be resumed without
 * repeating what it did), and the lock that allows one run at a time on this machine.
 *
 * Tables of the module "drill" (store_migrate): drill_runs, drill_journal, drill_lock. */
#ifndef HM_DRILL_JOURNAL_H
#define HM_DRILL_JOURNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"
#include "store/store.h"

/* Creates or upgrades the module's tables and makes every commit of this connection durable
 * (PRAGMA synchronous = FULL): a journal entry that was written survives a crash or a power
 * cut. Returns 0, or -1 with e set (the store's message, naming its path). */
int drill_store_init(hm_store *st, hm_err *e);

/* One run. State: "running", "succeeded", "failed" (a step failed and stopped it), "aborted"
 * (the operator ended it). A "running" run whose process is gone is shown as interrupted. */
typedef struct drill_run_info {
    int64_t id;
    char *plan;        /* the plan's name */
    char *plan_file;
    char *plan_text;   /* the plan as it was when the run started */
    char *mode;        /* "drill" or "takeover" */
    char *operator_name;
    char *console;     /* [console "NAME"] used, NULL for the default */
    char *state;
    int64_t started_ms, ended_ms; /* ended_ms 0 while running */
    int64_t rto_target_ms, rpo_target_ms; /* 0: none */
} drill_run_info;

/* Frees the strings of r and zeroes it. */
void drill_run_info_clear(drill_run_info *r);

/* Inserts a run in state "running" from `info` (id, state and ended_ms ignored) and sets *id.
 * Returns 0 or -1 with e set. */
int drill_run_create(hm_store *st, const drill_run_info *info, int64_t *id, hm_err *e);
/* Sets a run's state, and its end time when ended_ms > 0 (0 clears it: a resumed run). */
int drill_run_set_state(hm_store *st, int64_t id, const char *state, int64_t ended_ms, hm_err *e);
/* Reads one run: returns 1 and fills out, 0 when there is no such run, -1 with e set. */
int drill_run_get(hm_store *st, int64_t id, drill_run_info *out, hm_err *e);
/* Every run, newest first (plan_text not loaded). *out is an array the caller frees with
 * drill_run_info_clear on each element and free. */
int drill_run_list(hm_store *st, drill_run_info **out, size_t *n, hm_err *e);

/* One journal entry. `data` is a JSON object with the event's details (NULL when none). */
typedef struct drill_entry {
    int64_t seq, ts_ms;
    char *event;  /* run_started, step_started, attempt_started, boot_requested, ... */
    char *step;   /* NULL for run-level events */
    int attempt;  /* 0 when not about an attempt */
    char *host;   /* plan host alias, NULL when not about a host */
    json_t *data;
} drill_entry;

/* Appends an entry to run `run_id` (seq = the run's last + 1) and commits it before returning.
 * Steals `data` (may be NULL). Secrets must not be in any field: callers pass what is shown.
 * Returns the new seq, or -1 with e set. */
int64_t drill_journal_add(hm_store *st, int64_t run_id, int64_t ts_ms, const char *event,
                          const char *step, int attempt, const char *host, json_t *data,
                          hm_err *e);
/* Reads a run's journal in order. Returns 0 (out/n set; free with drill_entries_free) or -1. */
int drill_journal_read(hm_store *st, int64_t run_id, drill_entry **out, size_t *n, hm_err *e);
/* Frees n entries read by drill_journal_read and the array. */
void drill_entries_free(drill_entry *v, size_t n);

/* The lock: one row, held by a process (pid and its start time, so a reused pid is not taken
 * for the holder) for a run. */
typedef struct drill_lock_info {
    int64_t run_id; /* 0 while the run is being prepared (pre-checks, confirmation) */
    int pid;
    char *plan, *mode;
    int64_t since_ms;
} drill_lock_info;

/* Frees the strings of l and zeroes it. */
void drill_lock_info_clear(drill_lock_info *l);

/* Takes the lock for this process, in one BEGIN IMMEDIATE transaction: when another live
 * process holds it, returns 1 and fills *holder (may be NULL) without taking it; a lock left by a
 * process that no longer exists (kill -9, crash, reboot) is taken over. Returns 0 when taken,
 * 1 when held by another process, -1 with e set on a store error. */
int drill_lock_acquire(hm_store *st, int64_t run_id, const char *plan, const char *mode,
                       int64_t now_ms, drill_lock_info *holder, hm_err *e);
/* Records the run the lock is held for, once it exists. */
int drill_lock_set_run(hm_store *st, int64_t run_id, hm_err *e);
/* Releases the lock when this process holds it (never another's). Returns 0 or -1. */
int drill_lock_release(hm_store *st, hm_err *e);
/* Whether a live process holds the lock: 1 (holder filled when not NULL), 0, or -1. */
int drill_lock_peek(hm_store *st, drill_lock_info *holder, hm_err *e);
/* Whether process pid, started at the time recorded with the lock, still runs. */
bool drill_pid_alive(int pid, int64_t pid_start);
/* The start time of process pid (clock ticks since boot, /proc/PID/stat field 22); -1 when the
 * process does not exist. */
int64_t drill_pid_start(int pid);

#endif
