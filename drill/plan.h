/* Plan files: the INI description of how a business service is recovered on the DR side, as a
 * drill or as a takeover (hmctl-plan(5)). A plan names the console's hosts it recovers, its RTO
 * and RPO targets, an optional jump host, variables and secrets, and ordered stages of steps
 * (boot, run, check, confirm, cleanup), following the runbooks of seeds/003 (WordPress with MySQL
 * HA; cross-region with RDS) and the staged groups of seeds/004 (ignore/stop error handling, a
 * confirmation before switching).
 *
 * This module parses and validates plans (every error names FILE:LINE) and substitutes variables
 * into commands, always shell-quoted for the place in the command where they stand. */
#ifndef HM_DRILL_PLAN_H
#define HM_DRILL_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/* The two ways a plan runs; a step's `modes` is a mask of them. */
enum drill_mode {
    DRILL_MODE_DRILL = 1,    /* test boot (backup_type volume_snapshot), source keeps replicating */
    DRILL_MODE_TAKEOVER = 2, /* formal boot (backup_type volume_backup) */
    DRILL_MODE_BOTH = 3,
};

enum drill_step_type { DRILL_STEP_BOOT, DRILL_STEP_RUN, DRILL_STEP_CHECK, DRILL_STEP_CONFIRM,
                       DRILL_STEP_CLEANUP };

enum drill_on_error { DRILL_ON_ERROR_STOP, DRILL_ON_ERROR_IGNORE, DRILL_ON_ERROR_ASK };

enum drill_check_kind { DRILL_CHECK_NONE, DRILL_CHECK_TCP, DRILL_CHECK_HTTP, DRILL_CHECK_PING,
                        DRILL_CHECK_COMMAND };

/* "drill", "takeover" or "both". */
const char *drill_mode_name(unsigned modes);
/* "boot", "run", "check", "confirm", "cleanup". */
const char *drill_step_type_name(enum drill_step_type t);
/* "stop", "ignore", "ask". */
const char *drill_on_error_name(enum drill_on_error o);
/* "tcp", "http", "ping", "command" ("" for none). */
const char *drill_check_kind_name(enum drill_check_kind k);

/* A host of the plan: an alias used in the plan's steps and variables, the console host it
 * stands for, how to choose its recovery point, the target settings of its boot, and how to
 * reach the recovered machine over SSH. */
typedef struct drill_host {
    char *alias;
    int line;
    char *console_host;   /* host name or id on the console (default: the alias) */
    char *recovery_point; /* "latest", "ask" or a time */
    int64_t recovery_ms;  /* the parsed time; 0 for latest and ask */
    char *network, *flavor, *security_group, *availability_zone, *fixed_ip;
    char *ssh_address;    /* default: the host's ip ({host.ALIAS.ip}) */
    int ssh_port;
    char *ssh_user;       /* NULL: [ssh] username of hmctl.conf, else the user running hmctl */
    char *ssh_key;        /* NULL: [ssh] key */
} drill_host;

typedef struct drill_step {
    char *name;
    int line;
    char *stage;       /* the [stage] above the step; "main" when none */
    enum drill_step_type type;
    char *description;
    unsigned modes;    /* enum drill_mode mask */
    bool enabled;
    int64_t timeout_ms; /* per attempt; 0: none (confirm steps by default) */
    int retries;       /* attempts after the first */
    int64_t delay_ms;  /* between attempts */
    enum drill_on_error on_error;
    bool validation;   /* the end of the RTO (see drill_plan_validation_step) */
    strvec hosts;      /* boot, cleanup: aliases; empty = every host (boot) / every host the
                          run booted (cleanup) */
    char *on;          /* run, check command: "local", "jump" or a host alias */
    char *command;     /* run, check command */
    int command_line;
    enum drill_check_kind check;
    char *target;      /* check tcp HOST:PORT, http URL, ping ADDRESS */
    int target_line;
    int expect_status; /* check http; default 200 */
    char *message;     /* confirm */
    char *confirm_by;  /* confirm: who is expected to confirm */
} drill_step;

typedef struct drill_var {
    char *name, *value;
    int line;
} drill_var;

/* A secret of the plan: read from `file` (first line) or the environment variable `env`
 * (default HMCTL_SECRET_<NAME>); never printed, journaled or written to a report. */
typedef struct drill_secret {
    char *name, *file, *env;
    int line;
} drill_secret;

typedef struct drill_plan {
    char *file;        /* as given */
    char *text;        /* the file's text as parsed (kept with each run, so a resume runs the
                          plan the run started with) */
    char *name, *description;
    int64_t rto_ms, rpo_ms; /* 0: no target given */
    enum drill_on_error on_error;
    char *console;     /* [console "NAME"] to use; NULL: the default console */
    int64_t poll_ms;   /* console polling while boots and cleanups run */
    char *known_hosts; /* for SSH; NULL: the default known_hosts */
    bool has_jump;
    char *jump_host;   /* [jump] host: a [host "NAME"] of hmctl.conf holds the settings */
    char *jump_address, *jump_user, *jump_key; /* user, key: NULL for [ssh]'s defaults */
    int jump_port;
    int64_t jump_connect_ms; /* 0: [ssh] connect_timeout */
    drill_host *hosts;
    size_t n_hosts;
    drill_step *steps;
    size_t n_steps;
    drill_var *vars;
    size_t n_vars;
    drill_secret *secrets;
    size_t n_secrets;
} drill_plan;

/* Parses the text of a plan file named `file` (the name used in messages). Returns 0 and sets
 * *out, or -1 with every problem appended to errors as "FILE:LINE: message" (syntax, unknown
 * section or key with a did-you-mean hint, invalid value, missing [plan] or name, duplicate
 * host or step, a key that does not apply to the step's type, an unknown host alias, a check
 * without exactly one of tcp/http/ping/command, `on = jump` without [jump], an unknown or
 * misplaced variable, a variable in a place of a command where it cannot be quoted (inside
 * backquotes or $'...'), an unterminated quote). Lines may be up to 8191 characters; `;` and
 * `#` start a comment only at the beginning of a line, so commands keep their semicolons. */
int drill_plan_parse(const char *file, const char *text, drill_plan **out, strvec *errors);
/* Reads and parses the file at path. Errors as drill_plan_parse, plus "cannot read 'PATH':
 * reason". */
int drill_plan_load(const char *path, drill_plan **out, strvec *errors);
/* Frees a plan; p may be NULL. */
void drill_plan_free(drill_plan *p);

/* The host of the plan with this alias, or NULL. */
const drill_host *drill_plan_host(const drill_plan *p, const char *alias);
/* The index of the step named `name`, or -1. */
int drill_plan_step_index(const drill_plan *p, const char *name);
/* The index of the step that ends the RTO in `mode`: the last enabled step of the mode marked
 * `validation = yes`, else the last enabled check step of the mode; -1 when there is none. */
int drill_plan_validation_step(const drill_plan *p, enum drill_mode mode);

/* Resolves the PLAN argument of the commands: a path (it contains a '/' or names an existing
 * file) is taken as it is; otherwise plan_dir/PLAN.plan. Returns a new string, or NULL with e
 * set ("no plan 'x' in /etc/hmctl/plans (plans there: a, b)"). */
char *drill_plan_resolve(const char *plan_dir, const char *arg, hm_err *e);
/* The names of the plans in plan_dir (files NAME.plan), sorted. Returns the count; a missing
 * directory gives 0. */
size_t drill_plan_names(const char *plan_dir, strvec *out);

/* --- Variables and quoting --- */

/* Where a substituted value goes, which decides how it is protected:
 * SHELL: a command run by sh -c (locally or by the remote user's shell over SSH). The value is
 *   quoted for the quoting state at the placeholder: 'value' outside quotes, '\'' for quotes
 *   inside '...', backslashes before $ ` " \ inside "...". A placeholder inside `...` or $'...'
 *   cannot be quoted and is refused.
 * WORD: an address, port or URL that no shell sees (tcp, ping, http checks). The value must not
 *   contain blanks, quotes, <>{}|^`\ or start with '-'.
 * TEXT: a message shown to the operator; control characters are refused.
 * In every place, a value holding a control character (a newline, an escape ...) cannot be
 * quoted safely and is refused. */
enum drill_subst_ctx { DRILL_SUBST_SHELL, DRILL_SUBST_WORD, DRILL_SUBST_TEXT };

/* Quotes s as one word for a POSIX shell: 'it'\''s' ('' for the empty string). A new string. */
char *drill_sh_quote(const char *s);

/* Looks up a variable ("host.web.ip", "run.mode", "var.x", "secret.db"). Returns the value
 * (owned by the lookup) and sets *secret when it must never be shown, or returns NULL with e
 * set when the variable has no value ("host web has no ip address on the console"). */
typedef const char *(*drill_lookup_fn)(void *ud, const char *name, bool *secret, hm_err *e);

/* Substitutes the {ns.name} placeholders of tmpl for `ctx`. A placeholder is '{' + one of the
 * namespaces host., run., plan., var., secret. + [A-Za-z0-9_.-]+ + '}'; any other brace is text
 * ("${HOME}", awk '{print $1}'), and "{{" is a literal '{'. *out gets the command to run and,
 * when shown is not NULL, *shown the same with every secret replaced by ******** (for screens,
 * the journal and reports). Returns 0, or -1 with e naming the variable and why: its lookup
 * failed, its value cannot be quoted safely (control character, a WORD with a forbidden
 * character), or the placeholder stands where no quoting is safe; *out and *shown are then
 * NULL. */
int drill_subst(const char *tmpl, enum drill_subst_ctx ctx, drill_lookup_fn lookup, void *ud,
                char **out, char **shown, hm_err *e);

/* Checks a template without values: every placeholder's namespace and the shell context it
 * stands in (ctx SHELL: unterminated quotes, backquotes, $'...'). `check_name` is called for
 * each placeholder name and returns 0 or -1 with e set. Returns 0, or -1 with e set. */
int drill_template_check(const char *tmpl, enum drill_subst_ctx ctx,
                         int (*check_name)(void *ud, const char *name, hm_err *e), void *ud,
                         hm_err *e);

#endif
