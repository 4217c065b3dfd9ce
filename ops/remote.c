/* Remote command backends. */
#include "ops/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collectors/remote.h"
#include "lib/clock.h"
#include "ssh/ssh.h"

char *remote_shell_quote(const char *s)
{
    strbuf sb = {0};
    sb_addc(&sb, '\'');
    for (; *s; s++) {
        if (*s == '\'') sb_adds(&sb, "'\\''");
        else sb_addc(&sb, *s);
    }
    sb_addc(&sb, '\'');
    return sb_detach(&sb);
}

struct remote_session {
    hm_ssh_pool *pool; /* NULL for the local shell */
    remote_host host;
};

static remote_session *ssh_open(const hm_config *cfg, const char *host, int64_t timeout_ms,
                                hm_err *e)
{
    remote_session *s = xcalloc(1, sizeof *s);
    if (remote_host_load(cfg, host, &s->host, e) < 0) {
        remote_host_free(&s->host);
        free(s);
        return NULL;
    }
    s->pool = hm_ssh_pool_new();
    hm_ssh_result r = {0};
    hm_ssh_status st = {0};
    int rc = hm_ssh_exec(s->pool, &s->host.target, "true",
                         s->host.target.connect_timeout_ms + 5000, &r, &st);
    hm_ssh_result_free(&r);
    if (rc < 0) {
        hm_err_set(e, "%s", st.msg);
        hm_ssh_pool_free(s->pool);
        remote_host_free(&s->host);
        free(s);
        return NULL;
    }
    return s;
}

static int ssh_exec(remote_session *s, const char *cmd, uint64_t max_out, int64_t timeout_ms,
                    strbuf *out, bool *truncated, int *status, hm_err *e)
{
    hm_ssh_result r = {0};
    hm_ssh_status st = {0};
    int rc = hm_ssh_exec(s->pool, &s->host.target, cmd, timeout_ms, &r, &st);
    if (rc < 0) {
        hm_err_set(e, "%s", st.msg);
    } else {
        size_t n = r.out.len;
        *truncated = r.truncated || n > max_out;
        if (n > max_out) n = (size_t)max_out;
        sb_add(out, r.out.buf ? r.out.buf : "", n);
        *status = r.exit_status;
    }
    hm_ssh_result_free(&r);
    return rc < 0 ? -1 : 0;
}

static void ssh_close(remote_session *s)
{
    hm_ssh_pool_free(s->pool);
    remote_host_free(&s->host);
    free(s);
}

static const remote_ops ssh_ops = {"ssh", HM_SSH_OUTPUT_MAX, ssh_open, ssh_exec, ssh_close};

const remote_ops *remote_backend(void)
{
    return &ssh_ops;
}

static remote_session *local_open(const hm_config *cfg, const char *host, int64_t timeout_ms,
                                  hm_err *e)
{
    return xcalloc(1, sizeof(remote_session));
}

static void local_close(remote_session *s)
{
    free(s);
}

static int local_exec(remote_session *s, const char *cmd, uint64_t max_out, int64_t timeout_ms,
                      strbuf *out, bool *truncated, int *status, hm_err *e)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return hm_err_set(e, "cannot run '%s': %s", cmd, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return hm_err_set(e, "cannot run '%s': %s", cmd, strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *truncated = false;
    int64_t deadline = hm_mono_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
    char buf[65536];
    int rc = 0;
    for (;;) {
        int64_t left = deadline - hm_mono_ms();
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int pr = left > 0 ? poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) : 0;
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0 && hm_mono_ms() >= deadline) {
            kill(pid, SIGKILL);
            rc = hm_err_set(e, "'%s' did not finish in time", cmd);
            break;
        }
        if (pr <= 0) continue;
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        uint64_t room = max_out > out->len ? max_out - out->len : 0;
        if ((uint64_t)n > room) *truncated = true;
        sb_add(out, buf, (size_t)n > room ? (size_t)room : (size_t)n);
    }
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    return rc;
}

const remote_ops remote_local_ops = {"local", 0, local_open, local_exec, local_close};
