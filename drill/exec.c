/* Local commands with a deadline and captured output, and the network checks. */
#include "drill/exec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drill/remote.h"
#include "lib/clock.h"
#include "lib/http.h"

extern char **environ;

void drill_exec_res_free(drill_exec_res *r)
{
    sb_free(&r->out);
    sb_free(&r->err);
    memset(r, 0, sizeof *r);
}

/* Appends to a stream, keeping only the last DRILL_OUTPUT_MAX bytes. */
static void keep_tail(strbuf *sb, const char *data, size_t n, bool *truncated)
{
    sb_add(sb, data, n);
    if (sb->len > 2 * (size_t)DRILL_OUTPUT_MAX) {
        size_t drop = sb->len - DRILL_OUTPUT_MAX;
        memmove(sb->buf, sb->buf + drop, DRILL_OUTPUT_MAX);
        sb->len = DRILL_OUTPUT_MAX;
        sb->buf[sb->len] = '\0';
        *truncated = true;
    }
}

static void trim_tail(strbuf *sb, bool *truncated)
{
    if (sb->len <= (size_t)DRILL_OUTPUT_MAX) return;
    size_t drop = sb->len - DRILL_OUTPUT_MAX;
    memmove(sb->buf, sb->buf + drop, DRILL_OUTPUT_MAX);
    sb->len = DRILL_OUTPUT_MAX;
    sb->buf[sb->len] = '\0';
    *truncated = true;
}

static int exec_local(const char *command, const char *const *env, int64_t timeout_ms,
                      drill_exec_res *res, hm_err *e)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0) return hm_err_set(e, "cannot create a pipe: %s", strerror(errno));
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return hm_err_set(e, "cannot create a pipe: %s", strerror(errno));
    }
    /* the environment: hmctl's plus the run's */
    size_t n_env = 0, n_add = 0;
    while (environ[n_env]) n_env++;
    while (env && env[n_add]) n_add++;
    char **envp = xcalloc(n_env + n_add + 1, sizeof *envp);
    for (size_t i = 0; i < n_env; i++) envp[i] = environ[i];
    for (size_t i = 0; i < n_add; i++) envp[n_env + i] = (char *)env[i];
    int64_t start = hm_mono_ms();
    pid_t pid = fork();
    if (pid < 0) {
        free(envp);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        return hm_err_set(e, "cannot start /bin/sh: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        signal(SIGPIPE, SIG_DFL);
        execve("/bin/sh", (char *[]){"sh", "-c", (char *)command, NULL}, envp);
        _exit(127);
    }
    setpgid(pid, pid);
    free(envp);
    close(out[1]);
    close(err[1]);
    struct pollfd pf[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    int open_fds = 2;
    int64_t deadline = timeout_ms > 0 ? start + timeout_ms : 0;
    int64_t kill_at = 0, exited_at = 0;
    int status = 0;
    bool reaped = false;
    char buf[8192];
    while (open_fds > 0) {
        int64_t now = hm_mono_ms();
        if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
            reaped = true;
            exited_at = now;
        }
        /* the shell is gone but something it started in the background holds the pipes */
        if (reaped && now - exited_at > 500) break;
        int wait_ms = 200;
        if (deadline && !res->timed_out && !reaped) {
            if (now >= deadline) {
                res->timed_out = true;
                kill(-pid, SIGTERM);
                kill_at = now + 2000;
            }
        }
        if (kill_at && !reaped && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill_at = 0;
        }
        int r = poll(pf, 2, wait_ms);
        if (r < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = read(pf[i].fd, buf, sizeof buf);
            if (got > 0) {
                keep_tail(i ? &res->err : &res->out, buf, (size_t)got, &res->truncated);
            } else if (got == 0 || errno != EINTR) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0) close(pf[i].fd);
    if (!reaped) {
        /* the pipes closed first: the shell is about to end, unless it was cut at the deadline */
        for (;;) {
            pid_t w = waitpid(pid, &status, deadline && !res->timed_out ? WNOHANG : 0);
            if (w == pid || (w < 0 && errno != EINTR)) break;
            if (w == 0) {
                if (hm_mono_ms() >= deadline) {
                    res->timed_out = true;
                    kill(-pid, SIGKILL);
                    continue;
                }
                struct timespec ts = {0, 20 * 1000000};
                nanosleep(&ts, NULL);
            }
        }
    }
    /* a command cut at its deadline takes what it started in its group with it */
    if (res->timed_out) kill(-pid, SIGKILL);
    res->ms = hm_mono_ms() - start;
    trim_tail(&res->out, &res->truncated);
    trim_tail(&res->err, &res->truncated);
    if (WIFEXITED(status) && !res->timed_out) {
        res->exit_status = WEXITSTATUS(status);
    } else {
        res->exit_status = -1;
        if (WIFSIGNALED(status)) res->term_signal = WTERMSIG(status);
    }
    return 0;
}

int drill_exec(drill_executor *x, const drill_target *t, const char *command,
               const char *const *env, int64_t timeout_ms, drill_exec_res *res, hm_err *e)
{
    memset(res, 0, sizeof *res);
    if (!t || !t->remote) return exec_local(command, env, timeout_ms, res, e);
    return drill_remote_exec(x ? drill_executor_remote(x) : NULL, t, command, timeout_ms, res, e);
}

/* --- Checks -------------------------------------------------------------------------------- */

/* Splits "host:port" or "[v6]:port". */
static int split_hostport(const char *hp, char **host, char **port, hm_err *e)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || !colon[1]) return hm_err_set(e, "'%s': expected HOST:PORT", hp);
    const char *h = hp;
    size_t hl = (size_t)(colon - hp);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (!hl) return hm_err_set(e, "'%s': expected HOST:PORT", hp);
    *host = xstrndup(h, hl);
    *port = xstrdup(colon + 1);
    return 0;
}

static void fmt_secs(int64_t ms, char *buf, size_t n)
{
    hm_format_duration(ms, buf, n);
}

int drill_check_tcp(const char *hostport, int64_t timeout_ms, hm_err *e)
{
    char *host = NULL, *port = NULL;
    if (split_hostport(hostport, &host, &port, e) < 0) return -1;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gr = getaddrinfo(host, port, &hints, &ai);
    if (gr != 0) {
        hm_err_set(e, "cannot resolve %s: %s", hostport, gai_strerror(gr));
        free(host);
        free(port);
        return -1;
    }
    int64_t deadline = hm_mono_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
    int rc = -1;
    int last_err = ETIMEDOUT;
    for (struct addrinfo *a = ai; a && rc < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last_err = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            rc = 0;
        } else if (errno == EINPROGRESS) {
            int64_t left = deadline - hm_mono_ms();
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int pr = left > 0 ? poll(&pf, 1, (int)left) : 0;
            if (pr > 0) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                if (soerr == 0) rc = 0;
                else last_err = soerr;
            } else {
                last_err = ETIMEDOUT;
            }
        } else {
            last_err = errno;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    if (rc < 0) {
        char d[32];
        fmt_secs(timeout_ms > 0 ? timeout_ms : 5000, d, sizeof d);
        if (last_err == ETIMEDOUT) hm_err_set(e, "%s: no answer within %s", hostport, d);
        else hm_err_set(e, "%s: %s", hostport, strerror(last_err));
    }
    free(host);
    free(port);
    return rc;
}

int drill_check_http(const char *url, int expect, int64_t timeout_ms, long *status, hm_err *e)
{
    *status = 0;
    hm_http_req req = {.method = "GET", .url = url, .timeout_ms = timeout_ms > 0 ? timeout_ms : 10000};
    hm_http_resp resp = {0};
    if (hm_http_do(NULL, &req, &resp, e) < 0) {
        hm_http_resp_free(&resp);
        return -1;
    }
    *status = resp.status;
    hm_http_resp_free(&resp);
    if (*status != expect) return hm_err_set(e, "%s: HTTP %ld (expected %d)", url, *status, expect);
    return 0;
}

static uint16_t icmp_sum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += (uint32_t)(p[len - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

int drill_check_ping(const char *host, int64_t timeout_ms, double *rtt_ms, hm_err *e)
{
    if (timeout_ms <= 0) timeout_ms = 5000;
    struct addrinfo hints = {.ai_family = AF_INET}, *ai = NULL;
    int gr = getaddrinfo(host, NULL, &hints, &ai);
    if (gr != 0) return hm_err_set(e, "cannot resolve %s: %s", host, gai_strerror(gr));
    struct sockaddr_in dst;
    memcpy(&dst, ai->ai_addr, sizeof dst);
    freeaddrinfo(ai);
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &dst.sin_addr, addr, sizeof addr);
    bool raw = false;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) {
        int err1 = errno;
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd < 0)
            return hm_err_set(e, "cannot open an ICMP socket: %s (and no raw socket: %s)",
                              strerror(err1), strerror(errno));
        raw = true;
    }
    uint16_t id = (uint16_t)(getpid() ^ (uintptr_t)&dst), seq = 1;
    struct icmphdr req = {.type = ICMP_ECHO};
    req.un.echo.id = htons(id);
    req.un.echo.sequence = htons(seq);
    uint8_t pkt[sizeof req + 16];
    memcpy(pkt, &req, sizeof req);
    memcpy(pkt + sizeof req, "hmctl-drill-ping", 16);
    ((struct icmphdr *)pkt)->checksum = icmp_sum(pkt, sizeof pkt);
    int64_t start = hm_mono_ms(), deadline = start + timeout_ms;
    if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&dst, sizeof dst) < 0) {
        int err = errno;
        close(fd);
        return hm_err_set(e, "ping %s: %s", addr, strerror(err));
    }
    for (;;) {
        int64_t left = deadline - hm_mono_ms();
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) break;
        uint8_t in[1500];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t got = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
        if (got <= 0) continue;
        const uint8_t *icmp = in;
        size_t len = (size_t)got;
        if (raw) {
            size_t ihl = (size_t)(in[0] & 0x0f) * 4;
            if (len < ihl + sizeof(struct icmphdr)) continue;
            icmp += ihl;
            len -= ihl;
        }
        if (len < sizeof(struct icmphdr)) continue;
        struct icmphdr rep;
        memcpy(&rep, icmp, sizeof rep);
        if (rep.type != ICMP_ECHOREPLY || from.sin_addr.s_addr != dst.sin_addr.s_addr) continue;
        /* the kernel rewrites the id of unprivileged sockets; only raw ones need it checked */
        if (raw && (ntohs(rep.un.echo.id) != id || ntohs(rep.un.echo.sequence) != seq)) continue;
        close(fd);
        if (rtt_ms) *rtt_ms = (double)(hm_mono_ms() - start);
        return 0;
    }
    close(fd);
    char d[32];
    fmt_secs(timeout_ms, d, sizeof d);
    return hm_err_set(e, "no echo reply from %s within %s", addr, d);
}
