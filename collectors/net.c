#include "collectors/net.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/clock.h"

int64_t net_remaining_ms(int64_t deadline_mono)
{
    int64_t left = deadline_mono - hm_mono_ms();
    return left < 1 ? 1 : left;
}

const char *net_strerror(int err, char *buf, size_t size)
{
    snprintf(buf, size, "%s", strerror(err));
    if (buf[0]) buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

int net_split_address(const char *address, char *host, size_t host_size, char *port,
                      size_t port_size, hm_err *e)
{
    const char *colon;
    const char *h = address;
    size_t hl;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || close[1] != ':') goto bad;
        h = address + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(address, ':');
        if (!colon) goto bad;
        hl = (size_t)(colon - address);
    }
    if (hl == 0 || hl >= host_size || !colon[1] || strlen(colon + 1) >= port_size) goto bad;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
bad:
    return hm_err_set(e, "invalid address '%s': expected host:port", address);
}

static int timeout_err(hm_err *e, int64_t timeout_ms)
{
    return hm_err_set(e, "no answer within %g s", (double)timeout_ms / 1000);
}

/* Waits for events on fd until the deadline. Returns 1 when ready, 0 on timeout, -1 on error. */
static int wait_fd(int fd, short events, int64_t deadline_mono)
{
    for (;;) {
        int64_t left = deadline_mono - hm_mono_ms();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0) return 1;
        if (rc < 0 && errno != EINTR) return -1;
    }
}

int net_connect_tcp(const char *host, const char *port, int64_t deadline_mono, int64_t timeout_ms,
                    hm_err *e)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) return hm_err_set(e, "cannot resolve '%s': %s", host, gai_strerror(rc));
    int last_err = ECONNREFUSED;
    bool timed_out = false;
    int fd = -1;
    char buf[128];
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) { last_err = errno; continue; }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (errno != EINPROGRESS) { last_err = errno; close(fd); fd = -1; continue; }
        int w = wait_fd(fd, POLLOUT, deadline_mono);
        if (w == 1) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            if (soerr == 0) break;
            last_err = soerr;
        } else if (w == 0) {
            timed_out = true;
        } else {
            last_err = errno;
        }
        close(fd);
        fd = -1;
        if (timed_out) break; /* the budget is spent: no time for other addresses */
    }
    freeaddrinfo(res);
    if (fd >= 0) return fd;
    if (timed_out) return timeout_err(e, timeout_ms);
    return hm_err_set(e, "%s", net_strerror(last_err, buf, sizeof buf));
}

int net_write_all(int fd, const void *buf, size_t n, int64_t deadline_mono, int64_t timeout_ms,
                  hm_err *e)
{
    const char *p = buf;
    char ebuf[128];
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) { p += w; n -= (size_t)w; continue; }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return hm_err_set(e, "%s", net_strerror(errno, ebuf, sizeof ebuf));
        int rc = wait_fd(fd, POLLOUT, deadline_mono);
        if (rc == 0) return timeout_err(e, timeout_ms);
        if (rc < 0) return hm_err_set(e, "%s", net_strerror(errno, ebuf, sizeof ebuf));
    }
    return 0;
}

ssize_t net_read_some(int fd, strbuf *sb, int64_t deadline_mono, int64_t timeout_ms, hm_err *e)
{
    char buf[4096], ebuf[128];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) { sb_add(sb, buf, (size_t)r); return r; }
        if (r == 0) return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            hm_err_set(e, "%s", net_strerror(errno, ebuf, sizeof ebuf));
            return -1;
        }
        int rc = wait_fd(fd, POLLIN, deadline_mono);
        if (rc == 0) { timeout_err(e, timeout_ms); return -1; }
        if (rc < 0) { hm_err_set(e, "%s", net_strerror(errno, ebuf, sizeof ebuf)); return -1; }
    }
}
