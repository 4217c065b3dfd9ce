/* Redis collector: PING over a bounded TCP connection. */
#include "collectors/redis.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/collector.h"
#include "collectors/net.h"
#include "lib/clock.h"

ssize_t resp_parse(const char *buf, size_t len, resp_reply *r)
{
    if (len == 0) return 0;
    const char *nl = memchr(buf, '\n', len);
    if (!nl) return len > 64 * 1024 ? -1 : 0;
    if (nl == buf || nl[-1] != '\r') return -1;
    size_t line = (size_t)(nl - buf) - 1; /* without \r */
    memset(r, 0, sizeof *r);
    switch (buf[0]) {
    case '+':
    case '-':
        r->type = buf[0] == '+' ? RESP_SIMPLE : RESP_ERROR;
        r->str = buf + 1;
        r->len = line - 1;
        return (ssize_t)(line + 2);
    case ':': {
        char tmp[32];
        if (line - 1 >= sizeof tmp || line < 2) return -1;
        memcpy(tmp, buf + 1, line - 1);
        tmp[line - 1] = '\0';
        char *end;
        r->type = RESP_INTEGER;
        r->num = strtoll(tmp, &end, 10);
        return *end ? -1 : (ssize_t)(line + 2);
    }
    case '$': {
        char tmp[32];
        if (line - 1 >= sizeof tmp || line < 2) return -1;
        memcpy(tmp, buf + 1, line - 1);
        tmp[line - 1] = '\0';
        char *end;
        long long n = strtoll(tmp, &end, 10);
        if (*end || n < -1 || n > 512LL * 1024 * 1024) return -1;
        if (n == -1) {
            r->type = RESP_NIL;
            return (ssize_t)(line + 2);
        }
        size_t need = line + 2 + (size_t)n + 2;
        if (len < need) return 0;
        if (buf[need - 2] != '\r' || buf[need - 1] != '\n') return -1;
        r->type = RESP_BULK;
        r->str = buf + line + 2;
        r->len = (size_t)n;
        return (ssize_t)need;
    }
    default:
        return -1;
    }
}

char *redis_info_field(const char *info, size_t len, const char *key)
{
    size_t kl = strlen(key);
    const char *p = info, *end = info + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > kl && memcmp(p, key, kl) == 0 && p[kl] == ':') {
            size_t vl = n - kl - 1;
            if (vl && p[kl + 1 + vl - 1] == '\r') vl--;
            return xstrndup(p + kl + 1, vl);
        }
        p += n + 1;
    }
    return NULL;
}

/* Sends a command and reads one reply into *r (pointing into sb). Returns 0 or -1 with e set. */
static int command(int fd, const char *cmd, size_t cmd_len, strbuf *sb, resp_reply *r,
                   int64_t deadline, int64_t timeout_ms, hm_err *e)
{
    sb_reset(sb);
    if (net_write_all(fd, cmd, cmd_len, deadline, timeout_ms, e) < 0) return -1;
    for (;;) {
        ssize_t n = resp_parse(sb->buf ? sb->buf : "", sb->len, r);
        if (n > 0) return 0;
        if (n < 0) return hm_err_set(e, "answer is not RESP: '%.40s'", sb_str(sb));
        ssize_t got = net_read_some(fd, sb, deadline, timeout_ms, e);
        if (got < 0) return -1;
        if (got == 0) return hm_err_set(e, "connection closed by the server");
    }
}

void collect_redis(const hm_collect_ctx *cc, hm_result *out)
{
    const hm_config *cfg = cc->cfg;
    if (!cfg_get_bool(cfg, "redis", NULL, "enabled", true)) return;
    const char *host = cfg_get(cfg, "redis", NULL, "host");
    const char *port = cfg_get(cfg, "redis", NULL, "port");
    if (!host) host = "127.0.0.1";
    if (!port) port = "6379";
    hm_err e = {{0}};
    char *password = cfg_get_secret(cfg, "redis", NULL, "password", &e);
    if (!password && e.msg[0]) {
        hm_result_add_component(out, "redis", "redis", HM_UNKNOWN, "no password", "%s", e.msg);
        hm_result_add_sample(out, "redis.up", 0, "bool", cc->now_ms);
        return;
    }
    strbuf sb = {0};
    resp_reply r;
    enum hm_state state = HM_CRITICAL;
    const char *status = "down";
    char *version = NULL;
    double ping_ms = -1;
    int fd = net_connect_tcp(host, port, cc->deadline_mono, cc->timeout_ms, &e);
    if (fd < 0) {
        hm_err_prefix(&e, "cannot connect to Redis at %s:%s", host, port);
        goto done;
    }
    if (password) {
        strbuf cmd = {0};
        sb_addf(&cmd, "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", strlen(password), password);
        int rc = command(fd, cmd.buf, cmd.len, &sb, &r, cc->deadline_mono, cc->timeout_ms, &e);
        explicit_bzero(cmd.buf, cmd.len);
        sb_free(&cmd);
        if (rc < 0) goto fail;
        if (r.type == RESP_ERROR) {
            state = HM_UNKNOWN;
            status = "auth failed";
            hm_err_set(&e, "Redis at %s:%s refused AUTH: %.*s", host, port, (int)r.len, r.str);
            goto done;
        }
    }
    int64_t t0 = hm_mono_ms();
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    if (command(fd, ping, sizeof ping - 1, &sb, &r, cc->deadline_mono, cc->timeout_ms, &e) < 0) goto fail;
    ping_ms = (double)(hm_mono_ms() - t0);
    if (r.type == RESP_ERROR) {
        /* -NOAUTH / -WRONGPASS: the server works, our credentials do not. */
        state = HM_UNKNOWN;
        status = "auth failed";
        hm_err_set(&e, "Redis at %s:%s: %.*s", host, port, (int)r.len, r.str);
        ping_ms = -1;
        goto done;
    }
    if (r.type != RESP_SIMPLE || r.len != 4 || memcmp(r.str, "PONG", 4) != 0) {
        hm_err_set(&e, "Redis at %s:%s answered PING with '%.*s' instead of PONG", host, port,
                   (int)(r.len > 60 ? 60 : r.len), r.str ? r.str : "");
        ping_ms = -1;
        goto done;
    }
    static const char info[] = "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n";
    /* The version is a nicety: a server that refuses INFO (renamed command) is still up. */
    if (command(fd, info, sizeof info - 1, &sb, &r, cc->deadline_mono, cc->timeout_ms, &e) == 0 &&
        r.type == RESP_BULK)
        version = redis_info_field(r.str, r.len, "redis_version");
    state = HM_OK;
    status = "up";
    hm_err_set(&e, "PONG in %.0f ms, Redis %s", ping_ms, version ? version : "(version unknown)");
    goto done;
fail:
    hm_err_prefix(&e, "Redis at %s:%s", host, port);
done:
    if (fd >= 0) close(fd);
    hm_result_add_component(out, "redis", "redis", state, status, "%s", e.msg);
    hm_result_add_sample(out, "redis.up", state == HM_OK ? 1 : 0, "bool", cc->now_ms);
    if (ping_ms >= 0) hm_result_add_sample(out, "redis.ping.ms", ping_ms, "ms", cc->now_ms);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    free(version);
    sb_free(&sb);
}
