/* The SSH side of drill_exec: commands on the jump host or a recovered host. */
#ifndef HM_DRILL_REMOTE_H
#define HM_DRILL_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "drill/exec.h"

typedef struct drill_remote drill_remote;

/* The SSH sessions of one run: a pool of ssh/ssh.h, one session per target. */
drill_remote *drill_remote_new(void);
/* Closes the sessions; r may be NULL. */
void drill_remote_free(drill_remote *r);
/* The executor's SSH sessions. */
drill_remote *drill_executor_remote(drill_executor *x);

/* Runs command on t over SSH: the host key is verified against t->known_hosts (or the default
 * file), the user authenticates with t->key_file, the command runs in the remote user's shell
 * within timeout_ms. Returns 0 when it ran (res filled; res->timed_out when cut), or -1 with e
 * naming the target and why (unreachable, host key unknown or changed, authentication refused),
 * or "SSH support not available in this hmctl" when it was built without it. */
int drill_remote_exec(drill_remote *r, const drill_target *t, const char *command,
                      int64_t timeout_ms, drill_exec_res *res, hm_err *e);

#endif
