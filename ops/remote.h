/* Running commands on a remote component host ([host "NAME"] sections), as hmctl logs collect
 * needs it: open a session, run a shell command and read its standard output, close.
 * remote_backend() is the SSH transport (ssh/ssh.h: the [host] section's address, user, key or
 * password and known_hosts, as the remote collector reads them). remote_local_ops runs the
 * commands on this host through /bin/sh, the way a remote host's shell would, so the collection
 * over a transport can be exercised without a network. */
#ifndef HM_OPS_REMOTE_H
#define HM_OPS_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"

typedef struct remote_session remote_session;

typedef struct remote_ops {
    const char *name; /* "ssh", "local" */
    uint64_t max_output; /* most bytes of standard output one exec can return; 0: no limit */
    /* Connects to the host of section [host "host"]. Returns a session, or NULL with e set to
     * why ("connection refused", "timeout after 5s", "host key mismatch", ...). */
    remote_session *(*open)(const hm_config *cfg, const char *host, int64_t timeout_ms, hm_err *e);
    /* Runs cmd with /bin/sh on the host; appends at most max_out bytes of its standard output
     * to out (*truncated set when there was more) and sets *status to its exit status. Returns
     * 0 when the command ran (whatever its status), or -1 with e set (session lost, timeout
     * after timeout_ms). */
    int (*exec)(remote_session *s, const char *cmd, uint64_t max_out, int64_t timeout_ms,
                strbuf *out, bool *truncated, int *status, hm_err *e);
    void (*close)(remote_session *s);
} remote_ops;

/* The transport to remote hosts: SSH. open verifies the host key against the known_hosts
 * file, logs in and runs `true`, so an unreachable host, an unknown key or a refused login is
 * reported there ("unreachable (timeout after 5 s) at 10.0.0.5:22", "host key of 'proxy-1'
 * ... is not known: ..."). */
const remote_ops *remote_backend(void);

/* Commands run on this host; open ignores the host and never fails. */
extern const remote_ops remote_local_ops;

/* Quotes s for a POSIX shell ('...' with embedded quotes as '\''). New string. */
char *remote_shell_quote(const char *s);

#endif
