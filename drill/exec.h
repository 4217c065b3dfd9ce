/* How the steps of a plan act outside hmctl: commands run locally or over SSH (on the jump host
 * or a recovered host), and the checks (TCP connect, HTTP status, ICMP echo). Every call is
 * bounded by its timeout. */
#ifndef HM_DRILL_EXEC_H
#define HM_DRILL_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/* Output kept per stream: the last DRILL_OUTPUT_MAX bytes. */
enum { DRILL_OUTPUT_MAX = 64 * 1024 };

typedef struct drill_exec_res {
    int exit_status;  /* -1 when not known (cut at the timeout, killed by a signal) */
    int term_signal;  /* the signal that ended it, 0 when none */
    bool timed_out;   /* cut at its timeout */
    bool truncated;   /* more output than DRILL_OUTPUT_MAX came; the end was kept */
    strbuf out, err;
    int64_t ms;       /* wall-clock time the command took */
} drill_exec_res;

/* Frees the output buffers and zeroes r. */
void drill_exec_res_free(drill_exec_res *r);

/* Where a command runs. */
typedef struct drill_target {
    const char *name;        /* "local", "jump" or the host alias, for messages */
    bool remote;
    const char *address;     /* remote: host name or address */
    int port;                /* remote: SSH port */
    const char *user;
    const char *key_file;
    const char *passphrase;  /* of the key, or NULL */
    const char *password;    /* password authentication, or NULL */
    const char *known_hosts; /* NULL: the default known_hosts file */
    int64_t connect_timeout_ms;
} drill_target;

typedef struct drill_executor drill_executor;

/* An executor holds what outlives one command: the SSH sessions of a run. */
drill_executor *drill_executor_new(void);
/* Closes its SSH sessions; x may be NULL. */
void drill_executor_free(drill_executor *x);

/* Whether this hmctl can run commands over SSH (ssh/ssh.h). */
bool drill_ssh_available(void);

/* Runs `command` on the target: locally with /bin/sh -c in a process group of its own (standard
 * input /dev/null, `env` entries "NAME=value" added to hmctl's environment), or over SSH with
 * the remote user's shell. On timeout the local process group gets SIGTERM, then SIGKILL two
 * seconds later. Returns 0 when the command ran to an end (whatever its exit status; res
 * filled, res->timed_out when it was cut), or -1 with e set when it could not be run: the shell
 * cannot be started, the SSH connection or authentication fails (the message says which host
 * and why), or this hmctl has no SSH support ("SSH support not available: ..."). res is zeroed
 * here and freed with drill_exec_res_free in both cases. */
int drill_exec(drill_executor *x, const drill_target *t, const char *command,
               const char *const *env, int64_t timeout_ms, drill_exec_res *res, hm_err *e);

/* TCP: connects to host:port (the last ':' splits; "[v6]:port" accepted) within timeout_ms.
 * Returns 0, or -1 with e set ("10.0.0.5:80: connection refused", "...: no answer within 5 s",
 * "cannot resolve ..."). */
int drill_check_tcp(const char *hostport, int64_t timeout_ms, hm_err *e);
/* HTTP(S): GET url within timeout_ms; success when the status is `expect`. Certificates are
 * verified against the system's CAs. Returns 0 (*status set), or -1 with e set ("HTTP 503
 * (expected 200)" or the transport failure). */
int drill_check_http(const char *url, int expect, int64_t timeout_ms, long *status, hm_err *e);
/* ICMP echo to an IPv4 host (name or address) within timeout_ms, through an unprivileged ICMP
 * socket or, failing that, a raw socket (root). Returns 0 (*rtt_ms set, may be NULL), or -1
 * with e set ("no echo reply from 10.0.0.5 within 5 s", "cannot resolve ...", "cannot open an
 * ICMP socket: ..."). */
int drill_check_ping(const char *host, int64_t timeout_ms, double *rtt_ms, hm_err *e);

#endif
