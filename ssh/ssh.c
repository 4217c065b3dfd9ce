/* The SSH session pool over libssh2, non-blocking, every wait bounded by a deadline. */
#include "ssh/ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"

/* Backoff after a failed connection: 2 s, doubling, at most 30 s. */
enum { BACKOFF_FIRST_MS = 2000, BACKOFF_MAX_MS = 30000 };

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void)
{
    init_rc = libssh2_init(0);
}

static int ssh_init(hm_ssh_status *st)
{
    pthread_once(&init_once, do_init);
    if (init_rc != 0) {
        st->code = HM_SSH_FAILED;
        snprintf(st->msg, sizeof st->msg, "cannot initialise libssh2 (error %d)", init_rc);
        return -1;
    }
    return 0;
}

const char *hm_ssh_code_name(hm_ssh_code c)
{
    switch (c) {
    case HM_SSH_OK: return "ok";
    case HM_SSH_UNREACHABLE: return "unreachable";
    case HM_SSH_HOSTKEY_UNKNOWN: return "host key unknown";
    case HM_SSH_HOSTKEY_CHANGED: return "host key changed";
    case HM_SSH_AUTH: return "auth failed";
    case HM_SSH_TIMEOUT: return "timeout";
    default: return "failed";
    }
}

static int set_status(hm_ssh_status *st, hm_ssh_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_status(hm_ssh_status *st, hm_ssh_code code, const char *fmt, ...)
{
    st->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* "5 s", "2.5 s", "0.5 s": how timeouts read in messages. */
static void fmt_secs(int64_t ms, char *buf, size_t size)
{
    snprintf(buf, size, "%g s", (double)ms / 1000.0);
}

void hm_ssh_result_free(hm_ssh_result *r)
{
    sb_free(&r->out);
    sb_free(&r->err);
    free(r->exit_signal);
    r->exit_signal = NULL;
}

char *hm_sh_quote(const char *s)
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

void hm_ssh_fingerprint(const unsigned char sha256[32], char *buf, size_t size)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[64];
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 3) {
        unsigned v = (unsigned)sha256[i] << 16;
        if (i + 1 < 32) v |= (unsigned)sha256[i + 1] << 8;
        if (i + 2 < 32) v |= sha256[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < 32) out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < 32) out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    snprintf(buf, size, "SHA256:%s", out);
}

char *hm_ssh_default_known_hosts(void)
{
    if (geteuid() == 0) return xstrdup("/etc/hmctl/known_hosts");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && *xdg) return xasprintf("%s/hmctl/known_hosts", xdg);
    const char *home = getenv("HOME");
    return xasprintf("%s/.config/hmctl/known_hosts", home && *home ? home : "/tmp");
}

/* ---------------------------------------------------------------------------------------- */
/* Sockets and waiting */

static int64_t remaining(int64_t deadline)
{
    int64_t left = deadline - hm_mono_ms();
    return left > 0 ? left : 0;
}

/* Waits until the socket is ready in the directions libssh2 is blocked on, or the deadline.
 * Returns 0 when ready, -1 at the deadline. */
static int wait_session(LIBSSH2_SESSION *s, int fd, int64_t deadline)
{
    for (;;) {
        int64_t left = remaining(deadline);
        if (left <= 0) return -1;
        int dir = libssh2_session_block_directions(s);
        struct pollfd pfd = {.fd = fd, .events = 0};
        if (dir & LIBSSH2_SESSION_BLOCK_INBOUND) pfd.events |= POLLIN;
        if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) pfd.events |= POLLOUT;
        if (!pfd.events) pfd.events = POLLIN;
        int rc = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
        if (rc > 0) return 0;
        if (rc < 0 && errno != EINTR) return 0; /* let libssh2 report the socket error */
    }
}

/* Connects a non-blocking TCP socket to the target before the deadline. Returns the socket or
 * -1 with st set (HM_SSH_UNREACHABLE). */
static int tcp_connect(const hm_ssh_target *t, int64_t deadline, int64_t timeout_ms,
                       hm_ssh_status *st)
{
    char port[16], secs[32];
    snprintf(port, sizeof port, "%d", t->port > 0 ? t->port : 22);
    fmt_secs(timeout_ms, secs, sizeof secs);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(t->address, port, &hints, &res);
    if (gai != 0) {
        return set_status(st, HM_SSH_UNREACHABLE, "unreachable (cannot resolve '%s': %s)",
                          t->address, gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
    }
    int last_err = 0;
    bool timed_out = false;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       ai->ai_protocol);
        if (s < 0) { last_err = errno; continue; }
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) { fd = s; break; }
        if (errno != EINPROGRESS) { last_err = errno; close(s); continue; }
        for (;;) {
            int64_t left = remaining(deadline);
            if (left <= 0) { timed_out = true; break; }
            struct pollfd pfd = {.fd = s, .events = POLLOUT};
            int rc = poll(&pfd, 1, (int)left);
            if (rc < 0 && errno == EINTR) continue;
            if (rc <= 0) { if (rc == 0) timed_out = true; else last_err = errno; break; }
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err == 0) fd = s;
            else last_err = err;
            break;
        }
        if (fd < 0) close(s);
        if (timed_out) break;
    }
    freeaddrinfo(res);
    if (fd >= 0) return fd;
    if (timed_out)
        return set_status(st, HM_SSH_UNREACHABLE, "unreachable (timeout after %s) at %s:%s", secs,
                          t->address, port);
    const char *why = last_err == ECONNREFUSED ? "connection refused"
                      : last_err == EHOSTUNREACH || last_err == ENETUNREACH ? "no route to host"
                      : strerror(last_err);
    return set_status(st, HM_SSH_UNREACHABLE, "unreachable (%s) at %s:%s", why, t->address, port);
}

/* ---------------------------------------------------------------------------------------- */
/* Known hosts */

struct keytype {
    int hostkey_type;   /* LIBSSH2_HOSTKEY_TYPE_* */
    int knownhost_type; /* LIBSSH2_KNOWNHOST_KEY_* */
    const char *name;   /* as OpenSSH names it in messages */
    const char *algorithm;
    const char *methods; /* host key algorithms that use a key of this type */
};

static const struct keytype keytypes[] = {
    {LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ED25519", "ssh-ed25519",
     "ssh-ed25519"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ECDSA",
     "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ECDSA",
     "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ECDSA",
     "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"},
    {LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "RSA", "ssh-rsa",
     "rsa-sha2-512,rsa-sha2-256,ssh-rsa"},
};

static const struct keytype *keytype_of(int hostkey_type)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(keytypes); i++)
        if (keytypes[i].hostkey_type == hostkey_type) return &keytypes[i];
    return NULL;
}

/* A known_hosts file read line by line, so that one line libssh2 cannot parse (a marker, a
 * key type it does not know) loses that line only; line[i] is the file line of entry i. */
struct known {
    LIBSSH2_KNOWNHOSTS *kh;
    int *line;
    size_t n, cap;
};

static void known_free(struct known *k)
{
    if (k->kh) libssh2_knownhost_free(k->kh);
    free(k->line);
    memset(k, 0, sizeof *k);
}

static size_t count_entries(LIBSSH2_KNOWNHOSTS *kh)
{
    size_t n = 0;
    struct libssh2_knownhost *prev = NULL, *cur;
    while (libssh2_knownhost_get(kh, &cur, prev) == 0) {
        n++;
        prev = cur;
    }
    return n;
}

/* Loads path; a missing file is an empty list. Returns 0, or -1 with e set when the file
 * exists but cannot be read. */
static int known_load(LIBSSH2_SESSION *s, const char *path, struct known *k, hm_err *e)
{
    memset(k, 0, sizeof *k);
    k->kh = libssh2_knownhost_init(s);
    if (!k->kh) return hm_err_set(e, "cannot set up the known hosts list");
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        return hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    size_t have = 0;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        const char *p = buf;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        if (libssh2_knownhost_readline(k->kh, p, strlen(p), LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
            continue;
        size_t now = count_entries(k->kh);
        for (; have < now; have++) {
            if (k->n == k->cap) {
                k->cap = k->cap ? k->cap * 2 : 16;
                k->line = xrealloc(k->line, k->cap * sizeof(int));
            }
            k->line[k->n++] = lineno;
        }
    }
    free(buf);
    fclose(f);
    return 0;
}

static int entry_line(const struct known *k, const struct libssh2_knownhost *entry)
{
    size_t i = 0;
    struct libssh2_knownhost *prev = NULL, *cur;
    while (libssh2_knownhost_get(k->kh, &cur, prev) == 0) {
        if (cur == entry || (cur->node == entry->node)) return i < k->n ? k->line[i] : 0;
        prev = cur;
        i++;
    }
    return 0;
}

/* Compares a key with the list: HM_SSH_OK (match), HM_SSH_HOSTKEY_UNKNOWN or _CHANGED, with
 * the line of the differing entry in *line. */
static hm_ssh_code known_check(const struct known *k, const char *address, int port,
                               const unsigned char *key, size_t len, int knownhost_type, int *line)
{
    struct libssh2_knownhost *entry = NULL;
    int rc = libssh2_knownhost_checkp(k->kh, address, port, (const char *)key, len,
                                      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                          knownhost_type,
                                      &entry);
    if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH) return HM_SSH_OK;
    if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
        if (line) *line = entry ? entry_line(k, entry) : 0;
        return HM_SSH_HOSTKEY_CHANGED;
    }
    return HM_SSH_HOSTKEY_UNKNOWN;
}

/* Whether the list has an entry for the host with a key of this type (OpenSSH then prefers
 * that algorithm, so a host recorded with its RSA key is not refused for offering ED25519). */
static bool known_has_type(const struct known *k, const char *address, int port, int type)
{
    int rc = libssh2_knownhost_checkp(k->kh, address, port, "AAAA-no-such-key",
                                      strlen("AAAA-no-such-key"),
                                      LIBSSH2_KNOWNHOST_TYPE_PLAIN |
                                          LIBSSH2_KNOWNHOST_KEYENC_BASE64 | type,
                                      NULL);
    return rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH || rc == LIBSSH2_KNOWNHOST_CHECK_MATCH;
}

/* The host key algorithms in order of preference: those the file knows for this host first.
 * Only algorithms this libssh2 supports are named: libssh2 1.10 drops an unsupported one from
 * the list with an overlapping memcpy. */
static char *hostkey_prefs(LIBSSH2_SESSION *s, const struct known *k, const char *address,
                           int port)
{
    const char **algs = NULL;
    int n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_HOSTKEY, &algs);
    strbuf sb = {0};
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < HM_ARRAY_LEN(keytypes); i++) {
            bool known = known_has_type(k, address, port, keytypes[i].knownhost_type);
            if (known != (pass == 0)) continue;
            strvec methods = {0};
            sv_split_list(&methods, keytypes[i].methods);
            for (size_t m = 0; m < methods.n; m++)
                for (int j = 0; j < n; j++)
                    if (strcmp(algs[j], methods.v[m]) == 0)
                        sb_addf(&sb, "%s%s", sb.len ? "," : "", methods.v[m]);
            sv_free(&methods);
        }
    if (n > 0) libssh2_free(s, algs);
    return sb_detach(&sb);
}

/* ---------------------------------------------------------------------------------------- */
/* Sessions */

struct conn {
    char *id; /* name, address, port, user, key, known_hosts: a changed target is a new conn */
    pthread_mutex_t mu;
    LIBSSH2_SESSION *s;
    int fd;
    int64_t last_used_mono;
    int64_t keepalive_ms;
    /* backoff after failures */
    int failures;
    int64_t retry_at_mono;
    hm_ssh_status last;
};

struct hm_ssh_pool {
    pthread_mutex_t mu;
    struct conn **conns;
    size_t n, cap;
    /* keepalive thread, started with the first session that wants keepalives */
    pthread_t ka_thread;
    bool ka_running;
    bool quit;
    pthread_cond_t ka_cv;
};

/* Drops a session without waiting for the peer: the socket is shut down first, so that
 * libssh2's goodbye messages fail at once instead of blocking on a dead host. */
static void session_drop(LIBSSH2_SESSION *s, int fd, bool polite)
{
    if (s) {
        if (polite) libssh2_session_disconnect(s, "hmctl done");
        if (fd >= 0) shutdown(fd, SHUT_RDWR);
        /* With the socket shut down every send fails, so the free does not wait; should it
         * still report EAGAIN, try a few times and then let the process exit reclaim it. */
        for (int i = 0; i < 8 && libssh2_session_free(s) == LIBSSH2_ERROR_EAGAIN; i++)
            ;
    }
    if (fd >= 0) close(fd);
}

static void conn_close(struct conn *c, bool polite)
{
    session_drop(c->s, c->fd, polite);
    c->s = NULL;
    c->fd = -1;
}

static const char *last_error(LIBSSH2_SESSION *s)
{
    char *msg = NULL;
    libssh2_session_last_error(s, &msg, NULL, 0);
    return msg && *msg ? msg : "unknown error";
}

/* The handshake and host key check on a connected socket. On success *out is a session in
 * non-blocking mode whose host key matched; hk, when non-NULL, receives the key whatever the
 * outcome of the check (for `ssh trust`), and then an unknown or changed key is not an error. */
static int handshake(const hm_ssh_target *t, int fd, int64_t deadline, int64_t timeout_ms,
                     LIBSSH2_SESSION **out, hm_ssh_hostkey *hk, hm_ssh_status *st)
{
    char secs[32];
    fmt_secs(timeout_ms, secs, sizeof secs);
    int port = t->port > 0 ? t->port : 22;
    LIBSSH2_SESSION *s = libssh2_session_init();
    if (!s) return set_status(st, HM_SSH_FAILED, "cannot create an SSH session");
    libssh2_session_set_blocking(s, 0);

    struct known k;
    hm_err ke = {{0}};
    const char *kh_path = t->known_hosts;
    if (known_load(s, kh_path, &k, &ke) < 0) {
        known_free(&k);
        libssh2_session_free(s);
        return set_status(st, HM_SSH_HOSTKEY_UNKNOWN, "cannot check the host key of '%s': %s",
                          t->name, ke.msg);
    }
    char *prefs = hostkey_prefs(s, &k, t->address, port);
    if (*prefs) libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY, prefs);
    free(prefs);

    int rc;
    while ((rc = libssh2_session_handshake(s, fd)) == LIBSSH2_ERROR_EAGAIN)
        if (wait_session(s, fd, deadline) < 0) break;
    if (rc != 0) {
        if (rc == LIBSSH2_ERROR_EAGAIN)
            set_status(st, HM_SSH_UNREACHABLE,
                       "unreachable (timeout after %s) at %s:%d: no answer to the SSH handshake",
                       secs, t->address, port);
        else
            set_status(st, HM_SSH_FAILED, "SSH handshake with %s:%d failed: %s", t->address,
                       port, last_error(s));
        known_free(&k);
        session_drop(s, -1, false);
        return -1;
    }

    size_t len = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(s, &len, &type);
    const unsigned char *sha =
        (const unsigned char *)libssh2_hostkey_hash(s, LIBSSH2_HOSTKEY_HASH_SHA256);
    const struct keytype *kt = keytype_of(type);
    if (!key || !kt || !sha) {
        known_free(&k);
        session_drop(s, -1, false);
        return set_status(st, HM_SSH_FAILED,
                          "%s:%d offered a host key of a type hmctl cannot check", t->address,
                          port);
    }
    char fp[64];
    hm_ssh_fingerprint(sha, fp, sizeof fp);
    snprintf(st->key_type, sizeof st->key_type, "%s", kt->name);
    snprintf(st->fingerprint, sizeof st->fingerprint, "%s", fp);
    int line = 0;
    hm_ssh_code check = known_check(&k, t->address, port, (const unsigned char *)key, len,
                                    kt->knownhost_type, &line);
    known_free(&k);
    if (hk) {
        memset(hk, 0, sizeof *hk);
        hk->blob = xmalloc(len);
        memcpy(hk->blob, key, len);
        hk->len = len;
        hk->knownhost_type = kt->knownhost_type;
        snprintf(hk->type, sizeof hk->type, "%s", kt->name);
        snprintf(hk->algorithm, sizeof hk->algorithm, "%s", kt->algorithm);
        snprintf(hk->fingerprint, sizeof hk->fingerprint, "%s", fp);
        hk->check = check;
        if (check == HM_SSH_HOSTKEY_CHANGED)
            snprintf(hk->recorded_at, sizeof hk->recorded_at, "%s:%d", kh_path, line);
        *out = s;
        return 0;
    }
    if (check == HM_SSH_HOSTKEY_UNKNOWN) {
        session_drop(s, -1, false);
        return set_status(st, HM_SSH_HOSTKEY_UNKNOWN,
                          "host key of '%s' (%s:%d) is not known: %s key %s is not in %s; "
                          "verify it, then run 'hmctl ssh trust %s'",
                          t->name, t->address, port, kt->name, fp, kh_path, t->name);
    }
    if (check == HM_SSH_HOSTKEY_CHANGED) {
        session_drop(s, -1, false);
        return set_status(st, HM_SSH_HOSTKEY_CHANGED,
                          "HOST KEY CHANGED for '%s' (%s:%d): it now presents %s key %s, which "
                          "differs from the one in %s:%d; refusing to connect (someone may be "
                          "intercepting the connection, or the host was reinstalled: then run "
                          "'hmctl ssh trust %s --replace')",
                          t->name, t->address, port, kt->name, fp, kh_path, line, t->name);
    }
    *out = s;
    return 0;
}

static int authenticate(const hm_ssh_target *t, LIBSSH2_SESSION *s, int fd, int64_t deadline,
                        int64_t timeout_ms, hm_ssh_status *st)
{
    char secs[32];
    fmt_secs(timeout_ms, secs, sizeof secs);
    const char *user = t->username && *t->username ? t->username : "root";
    int rc = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
    strbuf why = {0};
    if (t->key_file && *t->key_file) {
        if (access(t->key_file, R_OK) != 0) {
            sb_addf(&why, "cannot read key file '%s': %s", t->key_file, strerror(errno));
        } else {
            while ((rc = libssh2_userauth_publickey_fromfile_ex(s, user, (unsigned)strlen(user),
                                                                NULL, t->key_file,
                                                                t->passphrase)) ==
                   LIBSSH2_ERROR_EAGAIN)
                if (wait_session(s, fd, deadline) < 0) break;
            if (rc == 0) return 0;
            if (rc == LIBSSH2_ERROR_EAGAIN) goto timeout;
            if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED)
                sb_addf(&why, "cannot use key file '%s': %s", t->key_file, last_error(s));
            else
                sb_addf(&why, "the server refused key '%s'", t->key_file);
        }
    }
    if (t->password) {
        while ((rc = libssh2_userauth_password_ex(s, user, (unsigned)strlen(user), t->password,
                                                  (unsigned)strlen(t->password), NULL)) ==
               LIBSSH2_ERROR_EAGAIN)
            if (wait_session(s, fd, deadline) < 0) break;
        if (rc == 0) {
            sb_free(&why);
            return 0;
        }
        if (rc == LIBSSH2_ERROR_EAGAIN) goto timeout;
        sb_addf(&why, "%sthe server refused the password", why.len ? "; " : "");
    }
    if (!why.len) sb_adds(&why, "no key or password is configured");
    set_status(st, HM_SSH_AUTH, "authentication as '%s' on %s:%d failed: %s", user, t->address,
               t->port > 0 ? t->port : 22, why.buf);
    sb_free(&why);
    return -1;
timeout:
    sb_free(&why);
    return set_status(st, HM_SSH_UNREACHABLE,
                      "unreachable (timeout after %s) at %s:%d: no answer to authentication", secs,
                      t->address, t->port > 0 ? t->port : 22);
}

static void *keepalive_main(void *arg);

static void pool_want_keepalive(hm_ssh_pool *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->ka_running && !p->quit) {
        /* The pool's owner (the TUI's poller) may block signals; the thread inherits that. */
        if (pthread_create(&p->ka_thread, NULL, keepalive_main, p) == 0) p->ka_running = true;
    }
    pthread_mutex_unlock(&p->mu);
}

static int conn_open(hm_ssh_pool *p, struct conn *c, const hm_ssh_target *t, hm_ssh_status *st)
{
    int64_t start = hm_mono_ms();
    int64_t timeout = t->connect_timeout_ms > 0 ? t->connect_timeout_ms : 5000;
    int64_t deadline = start + timeout;
    int fd = tcp_connect(t, deadline, timeout, st);
    if (fd < 0) return -1;
    LIBSSH2_SESSION *s = NULL;
    if (handshake(t, fd, deadline, timeout, &s, NULL, st) < 0) {
        close(fd);
        return -1;
    }
    if (authenticate(t, s, fd, deadline, timeout, st) < 0) {
        session_drop(s, fd, true);
        return -1;
    }
    c->s = s;
    c->fd = fd;
    c->keepalive_ms = t->keepalive_ms;
    if (t->keepalive_ms > 0) {
        int secs = (int)((t->keepalive_ms + 999) / 1000);
        libssh2_keepalive_config(s, 0, (unsigned)secs);
        pool_want_keepalive(p);
    }
    st->connect_ms = hm_mono_ms() - start;
    return 0;
}

/* Socket-level failures on an open session: the server went away (restarted, idle timeout) and
 * a new session may well work at once. */
static bool session_gone(int rc)
{
    return rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_RECV ||
           rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_CHANNEL_FAILURE ||
           rc == LIBSSH2_ERROR_CHANNEL_UNKNOWN || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
           rc == LIBSSH2_ERROR_CHANNEL_CLOSED || rc == LIBSSH2_ERROR_CHANNEL_EOF_SENT ||
           /* a keepalive left half-sent in a full socket buffer: the link is as good as dead */
           rc == LIBSSH2_ERROR_BAD_USE;
}

/* Reads what the channel has; returns the number of bytes read, 0 when nothing is there now. */
static ssize_t drain(LIBSSH2_CHANNEL *ch, int stream, strbuf *sb, hm_ssh_result *res, int *err)
{
    char buf[16384];
    ssize_t total = 0;
    for (;;) {
        ssize_t n = libssh2_channel_read_ex(ch, stream, buf, sizeof buf);
        if (n == LIBSSH2_ERROR_EAGAIN || n == 0) return total;
        if (n < 0) {
            *err = (int)n;
            return total;
        }
        if (sb->len + (size_t)n <= HM_SSH_OUTPUT_MAX) sb_add(sb, buf, (size_t)n);
        else res->truncated = true;
        total += n;
    }
}

/* Opens a channel on the conn's session. Returns 0; 1 when the session turned out to be dead
 * at once (a new one may work); -1 with st set otherwise. */
static int channel_open(struct conn *c, const hm_ssh_target *t, int64_t timeout,
                        LIBSSH2_CHANNEL **out, hm_ssh_status *st)
{
    int64_t deadline = hm_mono_ms() + timeout;
    LIBSSH2_CHANNEL *ch;
    for (;;) {
        ch = libssh2_channel_open_session(c->s);
        if (ch) break;
        int rc = libssh2_session_last_errno(c->s);
        if (rc != LIBSSH2_ERROR_EAGAIN) {
            if (session_gone(rc)) return 1;
            return set_status(st, HM_SSH_FAILED, "%s:%d refused a session channel: %s",
                              t->address, t->port, last_error(c->s));
        }
        if (wait_session(c->s, c->fd, deadline) < 0) {
            char secs[32];
            fmt_secs(timeout, secs, sizeof secs);
            return set_status(st, HM_SSH_UNREACHABLE,
                              "unreachable (timeout after %s) at %s:%d: the open session stopped "
                              "answering",
                              secs, t->address, t->port);
        }
    }
    *out = ch;
    return 0;
}

/* Runs the command on an open channel. Returns 0 when it ran to its end, -1 with st set. */
static int channel_run(struct conn *c, LIBSSH2_CHANNEL *ch, const hm_ssh_target *t,
                       const char *command, int64_t timeout_ms, hm_ssh_result *res,
                       hm_ssh_status *st, bool *drop)
{
    int64_t start = hm_mono_ms();
    int64_t deadline = start + timeout_ms;
    char secs[32];
    fmt_secs(timeout_ms, secs, sizeof secs);
    int rc;
    while ((rc = libssh2_channel_process_startup(ch, "exec", 4, command,
                                                 (unsigned)strlen(command))) ==
           LIBSSH2_ERROR_EAGAIN)
        if (wait_session(c->s, c->fd, deadline) < 0) break;
    if (rc != 0) {
        *drop = true;
        if (rc == LIBSSH2_ERROR_EAGAIN) goto timeout;
        return set_status(st, HM_SSH_FAILED, "%s:%d did not run the command: %s", t->address,
                          t->port, last_error(c->s));
    }
    /* Nothing is sent on stdin: tell the command so, as `ssh host cmd </dev/null` does. */
    while ((rc = libssh2_channel_send_eof(ch)) == LIBSSH2_ERROR_EAGAIN)
        if (wait_session(c->s, c->fd, deadline) < 0) break;

    for (;;) {
        int err = 0;
        drain(ch, 0, &res->out, res, &err);
        drain(ch, SSH_EXTENDED_DATA_STDERR, &res->err, res, &err);
        if (err) {
            *drop = true;
            return set_status(st, HM_SSH_FAILED, "reading the output from %s:%d failed: %s",
                              t->address, t->port, last_error(c->s));
        }
        if (libssh2_channel_eof(ch)) break;
        if (wait_session(c->s, c->fd, deadline) < 0) {
            *drop = true;
            goto timeout;
        }
    }
    while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
        if (wait_session(c->s, c->fd, deadline) < 0) break;
    if (rc == 0)
        while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
            if (wait_session(c->s, c->fd, deadline) < 0) break;
    if (rc != 0) {
        /* The output is complete; only the goodbye failed. Keep the output, lose the session. */
        *drop = true;
        if (rc == LIBSSH2_ERROR_EAGAIN) goto timeout;
    }
    res->exit_status = libssh2_channel_get_exit_status(ch);
    char *sig = NULL;
    size_t siglen = 0;
    if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL) == 0 && sig) {
        res->exit_signal = xstrndup(sig, siglen);
        res->exit_status = -1;
        libssh2_free(c->s, sig);
    }
    res->exec_ms = hm_mono_ms() - start;
    return 0;
timeout:
    res->timed_out = true;
    res->exit_status = -1;
    res->exec_ms = hm_mono_ms() - start;
    return set_status(st, HM_SSH_TIMEOUT, "the command on '%s' did not finish within %s", t->name,
                      secs);
}

static char *target_id(const hm_ssh_target *t)
{
    return xasprintf("%s\n%s\n%d\n%s\n%s\n%s", t->name ? t->name : "", t->address, t->port,
                     t->username ? t->username : "", t->key_file ? t->key_file : "",
                     t->known_hosts ? t->known_hosts : "");
}

static struct conn *pool_conn(hm_ssh_pool *p, const hm_ssh_target *t)
{
    char *id = target_id(t);
    pthread_mutex_lock(&p->mu);
    struct conn *c = NULL;
    for (size_t i = 0; i < p->n && !c; i++)
        if (strcmp(p->conns[i]->id, id) == 0) c = p->conns[i];
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->id = id;
        id = NULL;
        c->fd = -1;
        pthread_mutex_init(&c->mu, NULL);
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 8;
            p->conns = xrealloc(p->conns, p->cap * sizeof *p->conns);
        }
        p->conns[p->n++] = c;
    }
    pthread_mutex_unlock(&p->mu);
    free(id);
    return c;
}

int hm_ssh_exec(hm_ssh_pool *p, const hm_ssh_target *t, const char *command, int64_t timeout_ms,
                hm_ssh_result *res, hm_ssh_status *st)
{
    memset(st, 0, sizeof *st);
    res->exit_status = -1;
    if (ssh_init(st) < 0) return -1;
    hm_ssh_target tt = *t;
    if (tt.port <= 0) tt.port = 22;
    int64_t connect_timeout = tt.connect_timeout_ms > 0 ? tt.connect_timeout_ms : 5000;
    struct conn *c = pool_conn(p, &tt);
    pthread_mutex_lock(&c->mu);
    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = false;
        if (!c->s) {
            int64_t now = hm_mono_ms();
            if (c->failures && now < c->retry_at_mono) {
                *st = c->last;
                size_t l = strlen(st->msg);
                snprintf(st->msg + l, sizeof st->msg - l, " (next attempt in %lld s)",
                         (long long)((c->retry_at_mono - now + 999) / 1000));
                break;
            }
            if (conn_open(p, c, &tt, st) < 0) {
                c->failures++;
                int64_t backoff = BACKOFF_FIRST_MS;
                for (int i = 1; i < c->failures && backoff < BACKOFF_MAX_MS; i++) backoff *= 2;
                if (backoff > BACKOFF_MAX_MS) backoff = BACKOFF_MAX_MS;
                c->retry_at_mono = hm_mono_ms() + backoff;
                c->last = *st;
                break;
            }
            fresh = true;
        } else {
            st->reused = true;
            int next = 0;
            libssh2_keepalive_send(c->s, &next);
        }
        LIBSSH2_CHANNEL *ch = NULL;
        int orc = channel_open(c, &tt, connect_timeout, &ch, st);
        if (orc == 1 && !fresh) {
            /* The session died while idle: one fresh attempt, no backoff. */
            conn_close(c, false);
            st->reused = false;
            continue;
        }
        if (orc != 0) {
            if (orc == 1)
                set_status(st, HM_SSH_FAILED, "%s:%d closed the new session at once",
                           tt.address, tt.port);
            conn_close(c, false);
            c->failures++;
            c->retry_at_mono = hm_mono_ms() + BACKOFF_FIRST_MS;
            c->last = *st;
            break;
        }
        bool drop = false;
        rc = channel_run(c, ch, &tt, command, timeout_ms, res, st, &drop);
        if (drop) {
            /* A half-read channel must not reach the next call: free the whole session. */
            conn_close(c, false);
        } else {
            libssh2_channel_free(ch);
        }
        c->failures = 0;
        c->last_used_mono = hm_mono_ms();
        break;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* Idle sessions get a keepalive message every interval, so that firewalls and NAT keep their
 * state through a long tui interval. */
static void *keepalive_main(void *arg)
{
    hm_ssh_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&p->ka_cv, &p->mu, &until);
        if (p->quit) break;
        for (size_t i = 0; i < p->n; i++) {
            struct conn *c = p->conns[i];
            if (pthread_mutex_trylock(&c->mu) != 0) continue; /* in use: it is not idle */
            if (c->s && c->keepalive_ms > 0 &&
                hm_mono_ms() - c->last_used_mono >= c->keepalive_ms) {
                int next = 0;
                libssh2_keepalive_send(c->s, &next);
            }
            pthread_mutex_unlock(&c->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

hm_ssh_pool *hm_ssh_pool_new(void)
{
    hm_ssh_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->ka_cv, NULL);
    return p;
}

void hm_ssh_pool_free(hm_ssh_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->ka_cv);
    bool join = p->ka_running;
    pthread_mutex_unlock(&p->mu);
    if (join) pthread_join(p->ka_thread, NULL);
    for (size_t i = 0; i < p->n; i++) {
        struct conn *c = p->conns[i];
        pthread_mutex_lock(&c->mu);
        conn_close(c, true);
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_destroy(&c->mu);
        free(c->id);
        free(c);
    }
    free(p->conns);
    pthread_cond_destroy(&p->ka_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ---------------------------------------------------------------------------------------- */
/* ssh trust */

int hm_ssh_fetch_hostkey(const hm_ssh_target *t, hm_ssh_hostkey *hk, hm_ssh_status *st)
{
    memset(st, 0, sizeof *st);
    memset(hk, 0, sizeof *hk);
    if (ssh_init(st) < 0) return -1;
    hm_ssh_target tt = *t;
    if (tt.port <= 0) tt.port = 22;
    int64_t timeout = tt.connect_timeout_ms > 0 ? tt.connect_timeout_ms : 5000;
    int64_t deadline = hm_mono_ms() + timeout;
    int fd = tcp_connect(&tt, deadline, timeout, st);
    if (fd < 0) return -1;
    LIBSSH2_SESSION *s = NULL;
    if (handshake(&tt, fd, deadline, timeout, &s, hk, st) < 0) {
        close(fd);
        return -1;
    }
    session_drop(s, fd, true);
    return 0;
}

void hm_ssh_hostkey_free(hm_ssh_hostkey *hk)
{
    free(hk->blob);
    hk->blob = NULL;
}

static int mkdir_parents(const char *path, hm_err *e)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return 0;
    }
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            hm_err_set(e, "cannot create directory '%s': %s", dir, strerror(errno));
            free(dir);
            return -1;
        }
        *p = '/';
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        hm_err_set(e, "cannot create directory '%s': %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    free(dir);
    return 0;
}

/* Whether one known_hosts line names this host with a key of this type. */
static bool line_matches(LIBSSH2_SESSION *s, const char *line, const hm_ssh_target *t,
                         const hm_ssh_hostkey *hk)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p || *p == '#') return false;
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s);
    if (!kh) return false;
    bool match = false;
    if (libssh2_knownhost_readline(kh, p, strlen(p), LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
        int rc = libssh2_knownhost_checkp(kh, t->address, t->port > 0 ? t->port : 22,
                                          (const char *)hk->blob, hk->len,
                                          LIBSSH2_KNOWNHOST_TYPE_PLAIN |
                                              LIBSSH2_KNOWNHOST_KEYENC_RAW | hk->knownhost_type,
                                          NULL);
        match = rc == LIBSSH2_KNOWNHOST_CHECK_MATCH || rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
    }
    libssh2_knownhost_free(kh);
    return match;
}

int hm_ssh_known_hosts_add(const hm_ssh_target *t, const hm_ssh_hostkey *hk, bool replace,
                           hm_err *e)
{
    hm_ssh_status st = {0};
    if (ssh_init(&st) < 0) return hm_err_set(e, "%s", st.msg);
    const char *path = t->known_hosts;
    int port = t->port > 0 ? t->port : 22;
    LIBSSH2_SESSION *s = libssh2_session_init();
    if (!s) return hm_err_set(e, "cannot create an SSH session");
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s);
    char *name = port == 22 ? xstrdup(t->address) : xasprintf("[%s]:%d", t->address, port);
    char *comment = xasprintf("hmctl %s", t->name ? t->name : t->address);
    struct libssh2_knownhost *entry = NULL;
    char line[16384];
    size_t outlen = 0;
    int rc = -1;
    if (!kh ||
        libssh2_knownhost_addc(kh, name, NULL, (const char *)hk->blob, hk->len, comment,
                               strlen(comment),
                               LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                   hk->knownhost_type,
                               &entry) != 0 ||
        libssh2_knownhost_writeline(kh, entry, line, sizeof line, &outlen,
                                    LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
        hm_err_set(e, "cannot format the known_hosts entry for '%s': %s", t->name,
                   last_error(s));
        goto out;
    }
    if (mkdir_parents(path, e) < 0) goto out;

    if (!replace) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            hm_err_set(e, "cannot write '%s': %s", path, strerror(errno));
            goto out;
        }
        /* A file whose last line lacks its newline must not glue our entry onto it. */
        struct stat sb;
        bool need_nl = false;
        if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
            int rfd = open(path, O_RDONLY | O_CLOEXEC);
            char last;
            if (rfd >= 0 && pread(rfd, &last, 1, sb.st_size - 1) == 1 && last != '\n')
                need_nl = true;
            if (rfd >= 0) close(rfd);
        }
        bool ok = (!need_nl || write(fd, "\n", 1) == 1) &&
                  write(fd, line, outlen) == (ssize_t)outlen;
        if (close(fd) < 0) ok = false;
        if (!ok) {
            hm_err_set(e, "cannot write '%s': %s", path, strerror(errno));
            goto out;
        }
        rc = 0;
        goto out;
    }

    /* Replace: keep every other line as it is, drop this host's entries of this key type, and
     * swap the file in with a rename so that a reader never sees half of it. */
    {
        strbuf keep = {0};
        struct stat sb;
        mode_t mode = 0644;
        FILE *f = fopen(path, "r");
        if (f) {
            if (fstat(fileno(f), &sb) == 0) mode = sb.st_mode & 07777;
            char *buf = NULL;
            size_t cap = 0;
            ssize_t len;
            while ((len = getline(&buf, &cap, f)) >= 0) {
                char *copy = xstrndup(buf, (size_t)len);
                size_t l = strlen(copy);
                while (l && (copy[l - 1] == '\n' || copy[l - 1] == '\r')) copy[--l] = '\0';
                if (!line_matches(s, copy, t, hk)) {
                    sb_add(&keep, buf, (size_t)len);
                    if (len && buf[len - 1] != '\n') sb_addc(&keep, '\n');
                }
                free(copy);
            }
            free(buf);
            fclose(f);
        } else if (errno != ENOENT) {
            hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
            sb_free(&keep);
            goto out;
        }
        sb_add(&keep, line, outlen);
        char *tmp = xasprintf("%s.hmctl-%d", path, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        bool ok = fd >= 0 && write(fd, keep.buf, keep.len) == (ssize_t)keep.len;
        if (fd >= 0 && close(fd) < 0) ok = false;
        if (ok && rename(tmp, path) < 0) ok = false;
        if (!ok) {
            hm_err_set(e, "cannot write '%s': %s", path, strerror(errno));
            unlink(tmp);
        } else {
            rc = 0;
        }
        free(tmp);
        sb_free(&keep);
    }
out:
    free(name);
    free(comment);
    if (kh) libssh2_knownhost_free(kh);
    libssh2_session_free(s);
    return rc;
}
