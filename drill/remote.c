/* SSH for run steps and command checks, through the session pool of ssh/ssh.h: one session per
 * target for the whole run, host keys verified against known_hosts, every command bounded. */
#include "drill/remote.h"

#include <stdlib.h>
#include <string.h>

#include "ssh/ssh.h"

struct drill_executor {
    drill_remote *remote;
};

struct drill_remote {
    hm_ssh_pool *pool;
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
    return true;
}

drill_remote *drill_remote_new(void)
{
    drill_remote *r = xcalloc(1, sizeof *r);
    r->pool = hm_ssh_pool_new();
    return r;
}

void drill_remote_free(drill_remote *r)
{
    if (!r) return;
    hm_ssh_pool_free(r->pool);
    free(r);
}

static int signal_number(const char *name)
{
    static const struct { const char *n; int v; } sigs[] = {
        {"HUP", 1}, {"INT", 2}, {"QUIT", 3}, {"ILL", 4}, {"ABRT", 6}, {"FPE", 8}, {"KILL", 9},
        {"SEGV", 11}, {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15},
    };
    for (size_t i = 0; name && i < HM_ARRAY_LEN(sigs); i++)
        if (strcmp(sigs[i].n, name) == 0) return sigs[i].v;
    return 0;
}

/* Keeps the last DRILL_OUTPUT_MAX bytes of src in dst. */
static void take_tail(strbuf *dst, const strbuf *src, bool *truncated)
{
    size_t off = 0;
    if (src->len > (size_t)DRILL_OUTPUT_MAX) {
        off = src->len - DRILL_OUTPUT_MAX;
        *truncated = true;
    }
    sb_add(dst, sb_str(src) + off, src->len - off);
}

int drill_remote_exec(drill_remote *r, const drill_target *t, const char *command,
                      int64_t timeout_ms, drill_exec_res *res, hm_err *e)
{
    if (!r) return hm_err_set(e, "no SSH session pool for '%s'", t->name);
    char *kh = t->known_hosts ? NULL : hm_ssh_default_known_hosts();
    hm_ssh_target st = {
        .name = t->name,
        .address = t->address,
        .port = t->port ? t->port : 22,
        .username = t->user,
        .key_file = t->key_file,
        .passphrase = t->passphrase,
        .password = t->password,
        .known_hosts = t->known_hosts ? t->known_hosts : kh,
        .connect_timeout_ms = t->connect_timeout_ms ? t->connect_timeout_ms : 10000,
        .keepalive_ms = 15000,
    };
    hm_ssh_result sr = {0};
    hm_ssh_status ss = {0};
    int rc = hm_ssh_exec(r->pool, &st, command, timeout_ms > 0 ? timeout_ms : 24LL * 3600000, &sr, &ss);
    free(kh);
    if (rc < 0 && ss.code != HM_SSH_TIMEOUT) {
        hm_ssh_result_free(&sr);
        return hm_err_set(e, "%s (%s@%s:%d): %s", t->name, t->user ? t->user : "?", t->address,
                          st.port, ss.msg);
    }
    res->exit_status = sr.timed_out || rc < 0 ? -1 : sr.exit_status;
    res->term_signal = signal_number(sr.exit_signal);
    res->timed_out = sr.timed_out || ss.code == HM_SSH_TIMEOUT;
    res->truncated = sr.truncated;
    take_tail(&res->out, &sr.out, &res->truncated);
    take_tail(&res->err, &sr.err, &res->truncated);
    res->ms = sr.exec_ms;
    hm_ssh_result_free(&sr);
    return 0;
}
