/* SSH for run steps and command checks. This build has no SSH client: remote steps fail with a
 * clear message and local ones run as usual. */
#include "drill/remote.h"

#include <stdlib.h>

struct drill_executor {
    drill_remote *remote;
};

drill_executor *drill_executor_new(void)
{
    drill_executor *x = xcalloc(1, sizeof *x);
    x->remote = drill_remote_new();
    return x;
}

void drill_executor_free(drill_executor *x)
{
    if (!x) return;
    drill_remote_free(x->remote);
    free(x);
}

drill_remote *drill_executor_remote(drill_executor *x)
{
    return x ? x->remote : NULL;
}

bool drill_ssh_available(void)
{
    return false;
}

drill_remote *drill_remote_new(void)
{
    return NULL;
}

void drill_remote_free(drill_remote *r)
{
    (void)r;
}

int drill_remote_exec(drill_remote *r, const drill_target *t, const char *command,
                      int64_t timeout_ms, drill_exec_res *res, hm_err *e)
{
    (void)r;
    (void)command;
    (void)timeout_ms;
    (void)res;
    return hm_err_set(e, "SSH support not available in this hmctl: cannot run on '%s' (%s@%s:%d)",
                      t->name, t->user ? t->user : "root", t->address ? t->address : "?",
                      t->port ? t->port : 22);
}
