/* Remote components polled over SSH: the Sync Proxy (a docker-compose project in /opt/hamal),
 * the Linux Agent (egisplus-cli and the egisplus-agent unit), the Cloud Sync Gateway (systemd
 * units s3block, watchman, hyper_exporter) and plain Linux and jump hosts (resources only).
 * Formats and defaults come from the seed guide (seeds/000_*.txt: "源端同步代理",
 * "Linux Agent运维", "云同步网关运维").
 *
 * This header has the pure parts, unit-tested on captured outputs: the parsers of what the
 * remote commands print, the framing of one poll's commands into a single exec, and reading a
 * [host "NAME"] section into an SSH target. collect_remote() (collector.h) does the polling. */
#ifndef HM_REMOTE_H
#define HM_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "collectors/collector.h"
#include "ssh/ssh.h"

/* ---- roles and hosts ---- */

enum remote_role {
    REMOTE_SYNC_PROXY,
    REMOTE_LINUX_AGENT,
    REMOTE_GATEWAY,
    REMOTE_LINUX,
    REMOTE_JUMP,
};

/* "sync_proxy" ... as in the configuration; also the component kind. */
const char *remote_role_name(enum remote_role r);
/* "Sync Proxy", "Linux Agent", "Cloud Sync Gateway", "Linux", "Jump host". */
const char *remote_role_title(enum remote_role r);
/* Parses a role name; returns 0 or -1. */
int remote_role_parse(const char *s, enum remote_role *out);
/* Whether a component kind is one of the roles (the status view groups them under REMOTE). */
bool remote_is_role_kind(const char *kind);

/* One [host "NAME"] section, resolved: [ssh] defaults applied, secrets read. */
typedef struct remote_host {
    char *name;
    enum remote_role role;
    bool enabled;
    hm_ssh_target target;       /* its strings point into the fields below */
    int64_t command_timeout_ms; /* [host] command_timeout, else [ssh] command_timeout */
    char *address, *username, *key_file, *passphrase, *password, *known_hosts;
} remote_host;

/* Reads [host "name"]. A password_file or key_passphrase_file that cannot be read is an error
 * (e: "cannot read 'FILE': ... (password_file in [host "x"], FILE:LINE)"); the host is still
 * filled so that a listing can show it. Returns 0 or -1. */
int remote_host_load(const hm_config *cfg, const char *name, remote_host *h, hm_err *e);
void remote_host_free(remote_host *h);

/* The collector's time budget: the longest connect_timeout + command_timeout of the enabled
 * hosts, plus 3 s for the exec's grace and reporting; 0 when no host is configured. */
int64_t remote_budget_ms(const hm_config *cfg);

/* Polls the named hosts (NULL: every [host]) at once and adds a component per enabled host
 * (name = the host's name, kind = its role) and its samples (labelled host="NAME") to out.
 * Returns when every host has answered or reached its own timeouts. Sessions are taken from,
 * and left open in, a pool kept in cc->kv (one for this call when cc->kv is NULL). */
void remote_poll(const hm_collect_ctx *cc, const char *const *names, hm_result *out);

/* ---- framing: every command of one poll in one exec ---- */

/* One command of a poll and, after the exec, its output. The script prints a begin marker
 * before each command on stdout and stderr and an end marker with the exit status after it,
 * so one exec (one shell on the host) carries all of a poll's commands. */
typedef struct remote_section {
    char *name;      /* "stat", "df", "compose", ... */
    char *command;   /* the shell command, as run */
    strbuf out, err;
    int rc;          /* exit status; -1 when the command did not finish (cut or not run) */
    bool started;    /* its begin marker arrived */
    bool finished;   /* its end marker arrived */
} remote_section;

typedef struct remote_script {
    remote_section *s;
    size_t n, cap;
    int64_t command_timeout_ms; /* each command is wrapped in timeout(1) when the host has it */
} remote_script;

void remote_script_add(remote_script *rs, const char *name, const char *command);
/* The whole script, to be run by the remote user's shell: `sh -c '...'`. */
char *remote_script_text(const remote_script *rs);
/* Splits the exec's stdout and stderr back into the sections. Text outside the markers (a
 * login banner, shell noise) is ignored. */
void remote_script_split(remote_script *rs, const char *out, const char *err);
remote_section *remote_script_get(remote_script *rs, const char *name);
void remote_script_free(remote_script *rs);

/* ---- parsers ---- */

/* `df -P` (POSIX format: one line per file system, sizes in 1024-byte blocks). */
typedef struct remote_df {
    char *filesystem;
    uint64_t size_kb, used_kb, avail_kb;
    double used_percent; /* used / (used + available), as df computes Capacity, unrounded */
    char *mount;         /* may contain spaces */
} remote_df;

/* Returns the number of file systems (0 or more), or -1 when there is no `df -P` header. */
int remote_parse_df(const char *text, remote_df **out);
void remote_df_free(remote_df *v, int n);

/* One container of a compose project, in the classic docker-compose vocabulary the seed reads:
 * "Up", "Up (healthy)", "Up (unhealthy)", "Up (health: starting)", "Exit 1", "Restarting",
 * "Paused", "Created", "Dead". */
typedef struct remote_service {
    char *name;    /* container name: "hamal_hamal-api_1" (v1), "hamal-api-1" (v2) */
    char *service; /* compose service when the output says it (JSON), else NULL */
    char *state;
    enum hm_state health; /* ok: Up, Up (healthy); warning: health: starting; else critical */
} remote_service;

/* Parses `docker-compose ps` (the classic v1 table with Name/Command/State/Ports, or the v2
 * table with NAME ... STATUS ...) or `docker compose ps --format json` (a JSON array, or one
 * object per line as compose 2.21 and later print). Returns the number of services (0 for an
 * empty project) or -1 with e set ("no docker-compose ps header", "invalid JSON at line 2"). */
int remote_parse_compose(const char *text, remote_service **out, hm_err *e);
void remote_services_free(remote_service *v, int n);
/* Docker's Status text ("Up 2 hours (healthy)", "Exited (1) 3 minutes ago") in the classic
 * vocabulary ("Up (healthy)", "Exit 1"). A new string. */
char *remote_compose_state(const char *status);

/* `egisplus-cli agent check` (the seed's layout: "Service status", "Agent status" and "File
 * system" blocks of "Key: Yes." lines and a table). Lines are matched by their key, so extra
 * lines, blank lines and the seed's trailing "##" comments are tolerated. */
typedef struct remote_agent_fs {
    char *block, *mount, *fs, *path;
    uint64_t free_bytes;
    double used_percent;
} remote_agent_fs;

typedef struct remote_agent_check {
    int service_started; /* 1 Yes, 0 No, -1 line absent */
    int iscsi_started;
    int registered;
    int protected_;
    bool has_heartbeat;
    double heartbeat;    /* NaN when the value is not a number */
    char *heartbeat_text;
    remote_agent_fs *fs;
    int n_fs;
} remote_agent_check;

/* Returns the number of recognised lines (0 when none: not the agent's output). */
int remote_parse_agent_check(const char *text, remote_agent_check *out);
void remote_agent_check_free(remote_agent_check *c);

/* `systemctl show -p Id -p LoadState -p ActiveState -p SubState UNIT...`: one block of
 * Key=Value lines per unit, blocks separated by a blank line, in the order asked. */
typedef struct remote_unit {
    char *id;
    char *load_state;   /* "loaded", "not-found", ... or NULL */
    char *active_state; /* "active", "failed", "inactive", "activating", ... */
    char *sub_state;    /* "running", "failed", "dead", "exited", ... */
} remote_unit;

/* Blocks without Id= take the name of the unit asked for at their position (`asked` may be
 * NULL). Returns the number of blocks, or -1 when there is no Key=Value line at all. */
int remote_parse_systemctl_show(const char *text, const strvec *asked, remote_unit **out);
void remote_units_free(remote_unit *v, int n);

/* The first number of `du -sk DIR` output, in bytes; -1 when there is none. */
int64_t remote_parse_du(const char *text);

#endif
