/* Running a plan as a drill or a takeover, and resuming an interrupted run (DESIGN.md section 6;
 * the drill and takeover procedures of seeds/000, the runbooks of seeds/003 and the staged,
 * confirmed switching of seeds/004):
 *
 *   1. pre-checks, printed as a checklist: console reachable, each host registered and active,
 *      newest snapshot within the RPO target, gateways online, jump host reachable, secrets
 *      readable, no other run in progress (the lock);
 *   2. a dry run stops there and prints every step with its resolved command;
 *   3. confirmation: a drill asks yes/no (or --yes); a takeover needs the plan name typed back;
 *   4. the steps, in order, each transition journaled and committed before the run goes on;
 *   5. the report, JSON and HTML, next to the journal.
 *
 * A resumed run never repeats a finished step. A step that was in flight is re-checked: a boot
 * or cleanup against the console's host states and job list (adopted when the console has it,
 * requested again only when it has no trace of it), a check by checking again; a command that
 * may have run, and a confirmation, are asked about. */
#ifndef HM_DRILL_ENGINE_H
#define HM_DRILL_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "drill/plan.h"
#include "lib/config.h"
#include "store/store.h"

/* How a run talks to its operator. */
typedef struct drill_ui {
    void *ud;
    /* Shows one line of progress (no trailing newline). */
    void (*print)(void *ud, const char *line);
    /* Shows prompt and returns the answer (a new string, blanks stripped), or NULL when no
     * answer can come (end of input). */
    char *(*ask)(void *ud, const char *prompt);
} drill_ui;

/* A drill_ui on stdio: progress on `out`, prompts on `prompt_to`, answers read as lines from
 * `in` (a terminal or a pipe: tests and scripts feed answers on standard input). */
typedef struct drill_ui_stdio {
    FILE *in, *out, *prompt_to;
} drill_ui_stdio;
/* The drill_ui that reads and writes through io (which must outlive it). */
drill_ui drill_ui_stdio_make(drill_ui_stdio *io);

typedef struct drill_opts {
    enum drill_mode mode;       /* start: DRILL_MODE_DRILL or DRILL_MODE_TAKEOVER */
    bool dry_run;               /* start: pre-checks and the resolved steps, nothing else */
    bool yes;                   /* drills only: no yes/no question */
    const char *operator_name;  /* NULL: $SUDO_USER, else the login name */
    const char *console;        /* overrides the plan's console (NULL: the plan's) */
    drill_ui ui;
} drill_opts;

/* Exit statuses of drill_start and drill_resume. */
enum {
    DRILL_OK = 0,        /* the run succeeded (or the dry run's pre-checks passed) */
    DRILL_FAILED = 1,    /* a step failed and stopped the run, the operator aborted it, a
                            pre-check failed, the confirmation was not given, or another run
                            holds the lock; in the last three cases nothing was done */
};

/* Runs plan p in o->mode against the configured console, with the store st for the lock, the
 * journal and the reports. Progress, the checklist, questions and errors go through o->ui.
 * *run_id gets the new run's id (0 when none was created: dry run, pre-checks failed, not
 * confirmed). Returns DRILL_OK or DRILL_FAILED. */
int drill_start(const hm_config *cfg, hm_store *st, const drill_plan *p, const drill_opts *o,
                int64_t *run_id);

/* Continues run `run_id` from its first unfinished step, with the plan text stored with the run.
 * Refused when the run does not exist, has succeeded, or another process holds the lock (also
 * when that process is the run itself, still alive). The confirmation of its mode is asked
 * again (a takeover: the plan name typed back). Returns DRILL_OK or DRILL_FAILED. */
int drill_resume(const hm_config *cfg, hm_store *st, int64_t run_id, const drill_opts *o);

/* The state shown for a run: its stored state, except "interrupted" for a run still marked
 * running whose process holds no lock any more. A new string. */
char *drill_run_display_state(hm_store *st, int64_t run_id, const char *stored_state);

#endif
