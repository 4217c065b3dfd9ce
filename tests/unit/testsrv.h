/* Tiny servers for the collectors' unit tests: a listener on 127.0.0.1 or a unix socket that
 * answers each request with what a callback returns (a whole raw HTTP or protocol answer), or
 * accepts and never answers, to prove that timeouts hold. Header-only, one thread per server. */
#ifndef HM_TESTS_TESTSRV_H
#define HM_TESTS_TESTSRV_H

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/util.h"

/* Returns the raw answer to send (malloc'd), or NULL to hold the connection silently. req is
 * everything the client sent up to the end of the HTTP headers and the body its Content-Length
 * announces (or its first read for other protocols). */
typedef char *(*testsrv_fn)(const char *req, void *ud);

typedef struct testsrv {
    int fd;
    int port;
    char path[108];
    testsrv_fn fn;
    void *ud;
    pthread_t thread;
    int stop_pipe[2];
    int requests;
} testsrv;

/* Reads a fixture file (path relative to tests/fixtures) or aborts the test. */
static inline char *testsrv_fixture(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", rel);
    hm_err e = {{0}};
    char *s = hm_read_file(path, NULL, &e);
    if (!s) {
        fprintf(stderr, "%s\n", e.msg);
        abort();
    }
    return s;
}

/* An HTTP/1.1 answer with Connection: close. */
static inline char *testsrv_http(int status, const char *reason, const char *ctype, const char *extra_headers,
                                 const char *body)
{
    return xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
                     status, reason, ctype, strlen(body), extra_headers ? extra_headers : "", body);
}

static inline void *testsrv_loop(void *arg)
{
    testsrv *s = arg;
    int held[16];
    int n_held = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = s->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) continue;
        if (p[1].revents) break;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        strbuf req = {0};
        char buf[4096];
        /* Read until the end of the headers, or whatever arrives within 200 ms. */
        for (;;) {
            struct pollfd cp = {.fd = c, .events = POLLIN};
            if (poll(&cp, 1, 200) <= 0) break;
            ssize_t r = read(c, buf, sizeof buf);
            if (r <= 0) break;
            sb_add(&req, buf, (size_t)r);
            const char *end = strstr(sb_str(&req), "\r\n\r\n");
            if (!end) continue;
            /* with a body: until Content-Length bytes follow the headers */
            const char *cl = strcasestr(sb_str(&req), "\r\nContent-Length:");
            if (!cl || cl > end) break;
            size_t want = (size_t)strtoul(cl + 17, NULL, 10);
            if (req.len - (size_t)(end + 4 - sb_str(&req)) >= want) break;
        }
        s->requests++;
        char *ans = s->fn(sb_str(&req), s->ud);
        sb_free(&req);
        if (!ans) {
            if (n_held < 16) held[n_held++] = c;
            else close(c);
            continue;
        }
        size_t len = strlen(ans), off = 0;
        while (off < len) {
            ssize_t w = send(c, ans + off, len - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
        free(ans);
        shutdown(c, SHUT_WR);
        /* Let the client read everything before the close. */
        struct pollfd cp = {.fd = c, .events = POLLIN};
        poll(&cp, 1, 200);
        close(c);
    }
    for (int i = 0; i < n_held; i++) close(held[i]);
    return NULL;
}

static inline void testsrv_begin(testsrv *s, testsrv_fn fn, void *ud)
{
    s->fn = fn;
    s->ud = ud;
    s->requests = 0;
    if (pipe(s->stop_pipe) < 0) abort();
    if (listen(s->fd, 16) < 0) abort();
    pthread_create(&s->thread, NULL, testsrv_loop, s);
}

/* Starts a TCP server on 127.0.0.1 with a free port (s->port). */
static inline void testsrv_start_tcp(testsrv *s, testsrv_fn fn, void *ud)
{
    memset(s, 0, sizeof *s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0) abort();
    socklen_t len = sizeof sa;
    getsockname(s->fd, (struct sockaddr *)&sa, &len);
    s->port = ntohs(sa.sin_port);
    testsrv_begin(s, fn, ud);
}

/* Starts a server on a fresh unix socket under /tmp (s->path). */
static inline void testsrv_start_unix(testsrv *s, testsrv_fn fn, void *ud)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "/tmp/hmtest-%d-%p.sock", (int)getpid(), (void *)s);
    unlink(s->path);
    s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, s->path);
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0) abort();
    testsrv_begin(s, fn, ud);
}

static inline void testsrv_stop(testsrv *s)
{
    if (write(s->stop_pipe[1], "x", 1) < 0) abort();
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    if (s->path[0]) unlink(s->path);
}

/* A port on 127.0.0.1 where nothing listens: bound and closed again. */
static inline int testsrv_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Never answers. */
static inline char *testsrv_silent(const char *req, void *ud)
{
    (void)req;
    (void)ud;
    return NULL;
}

#endif
