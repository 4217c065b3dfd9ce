/* What a run did, rebuilt from its journal: the state of every step and host (which the engine
 * reads to resume a run) and the run report (JSON and HTML, written next to the journal): plan,
 * mode, operator, start and end, target vs actual RTO, achieved RPO per host, per-step durations
 * and attempts, answers to confirm steps, failures, the cleanup result. The RTO and RPO follow
 * seeds/000 (compare the actual recovery time and point with the targets after every drill). */
#ifndef HM_DRILL_REPORT_H
#define HM_DRILL_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "drill/journal.h"
#include "drill/plan.h"

typedef struct drill_step_state {
    int started;          /* step_started entries (more than one after a resume) */
    bool skipped;         /* step_skipped: not in this mode, or disabled */
    char *skip_reason;
    bool finished;        /* step_finished seen (the last one counts) */
    char *result;         /* of the last step_finished: ok, failed, ignored, skipped */
    char *error;          /* the last failure */
    int attempts;         /* attempt_started entries */
    int failed_attempts;  /* attempt_finished with ok false */
    int session_failed;   /* of those, since the last step_started, not counting attempts cut
                             by an interruption (the retry budget of the current try) */
    int last_attempt;     /* number of the last attempt started, 0 when none */
    bool last_open;       /* the last attempt has no attempt_finished */
    bool last_ok;         /* the last attempt finished ok */
    bool command_open;    /* the last attempt journaled its command but no outcome */
    char *command;        /* the last command journaled (as shown: secrets masked) */
    char *choice;         /* the operator's retry/skip/abort answer since the last attempt,
                             when the step did not finish after it */
    int64_t started_ms, ended_ms; /* first step_started, last step_finished */
} drill_step_state;

typedef struct drill_host_state {
    char *console_id, *console_name;
    char *snapshot_id;
    int64_t snapshot_ms;  /* the recovery point's creation time, 0 when unknown */
    /* boot */
    int boot_requests;    /* boot_requested entries */
    bool boot_open;       /* the last request has no accepted/refused/adopted/not_received */
    int64_t boot_requested_ms;
    bool boot_accepted;   /* the console took the last request (or it was adopted) */
    char *task_id;
    bool booted, boot_failed;
    int boot_failed_attempt; /* the attempt in which it last failed */
    char *instance_id, *ip;
    char *boot_error;
    /* cleanup */
    bool clean_open, clean_accepted, cleaned, clean_failed;
    int clean_failed_attempt;
    int64_t clean_requested_ms;
    char *clean_error;
} drill_host_state;

typedef struct drill_replay {
    int64_t started_ms;   /* run_started's time, 0 when the journal has none */
    int resumes;
    bool finished;
    char *final_state;    /* of the last run_finished */
    drill_step_state *steps; /* one per plan step */
    size_t n_steps;
    drill_host_state *hosts; /* one per plan host */
    size_t n_hosts;
    json_t *answers;      /* array: {step, question, answer, who, comment, at} */
    json_t *failures;     /* array: {step, attempt, host, error, at} */
    json_t *prechecks;    /* array from run_started */
} drill_replay;

/* Replays a run's journal against its plan. Entries naming steps or hosts the plan does not
 * have are ignored. Returns 0 (out filled; free with drill_replay_free). */
int drill_replay_build(const drill_plan *p, const drill_entry *en, size_t n, drill_replay *out);
/* Frees what drill_replay_build filled and zeroes r. */
void drill_replay_free(drill_replay *r);

/* The achieved RPO of a host: run start minus the recovery point's creation time, in ms (0 when
 * the point is newer than the start); -1 when the recovery point is unknown (0). */
int64_t drill_rpo_ms(int64_t run_start_ms, int64_t recovery_point_ms);
/* The actual RTO: from the run start to the end of the validation step, in ms; -1 when the
 * validation step did not finish ok (or either time is unknown). */
int64_t drill_rto_ms(int64_t run_start_ms, int64_t validation_end_ms);
/* Whether an actual value meets a target: 1 met, 0 missed, -1 unknown (no target (0), or no
 * actual value (-1)). */
int drill_target_met(int64_t actual_ms, int64_t target_ms);

/* The report of a run as JSON (see hmctl-runs(1) for its fields). now_ms stands in for the end
 * of a run that has not ended. Returns a new object. */
json_t *drill_report_json(const drill_run_info *run, const drill_plan *p, const drill_replay *r,
                          int64_t now_ms);
/* The same report as a self-contained HTML page (every text escaped). A new string. */
char *drill_report_html(const json_t *report);
/* Writes DIR/run-ID.json and DIR/run-ID.html (through a temporary file and rename, mode 0600;
 * DIR is created when missing). *json_path and *html_path get the paths when not NULL. Returns
 * 0, or -1 with e naming the file and the reason. */
int drill_report_write(const char *dir, int64_t run_id, const json_t *report, char **json_path,
                       char **html_path, hm_err *e);
/* The report of run `run_id` as stored: the run, its journal and the plan text it started
 * with. Returns a new object, or NULL with e set (no such run, store error, the stored plan no
 * longer parses). *run gets the run when not NULL (free with drill_run_info_clear). */
json_t *drill_report_load(hm_store *st, int64_t run_id, drill_run_info *run, hm_err *e);

/* The directory of the reports: "runs" next to the store's database file. A new string. */
char *drill_report_dir(const char *store_path);

#endif
