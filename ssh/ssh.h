/* The SSH client: a pool of libssh2 sessions, one per remote host, kept open between poll
 * cycles so that a cycle costs one exec per host instead of a handshake; host keys verified
 * against an OpenSSH known_hosts file; every step bounded by a deadline.
 *
 * Sessions are non-blocking: each step (TCP connect, handshake, authentication, channel open,
 * exec, read) waits in poll(2) on the session's socket until its own deadline, so a dead host
 * costs its connect timeout and never more, and several hosts are polled at once by calling
 * hm_ssh_exec from one thread per host. */
#ifndef HM_SSH_H
#define HM_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* How to reach and log in to one host. Strings are borrowed for the duration of a call. */
typedef struct hm_ssh_target {
    const char *name;        /* the configuration's name ("proxy-1"), for messages */
    const char *address;     /* host name or IP address */
    int port;                /* TCP port, 22 by default */
    const char *username;
    const char *key_file;    /* private key file (OpenSSH or PEM format), or NULL */
    const char *passphrase;  /* of the key, or NULL */
    const char *password;    /* password authentication when there is no key or it is refused */
    const char *known_hosts; /* OpenSSH known_hosts file holding the host's key */
    int64_t connect_timeout_ms; /* TCP connect + SSH handshake + authentication; also how long
                                   an open session may take to answer a channel request */
    int64_t keepalive_ms;    /* interval of keepalive messages on an idle session; 0: none */
} hm_ssh_target;

/* What went wrong, for the caller to choose a state and a status word. */
typedef enum hm_ssh_code {
    HM_SSH_OK = 0,
    HM_SSH_UNREACHABLE,     /* cannot resolve, connection refused, no route, or no answer within
                               the connect timeout (also on an open session) */
    HM_SSH_HOSTKEY_UNKNOWN, /* the host's key is not in known_hosts: refused */
    HM_SSH_HOSTKEY_CHANGED, /* known_hosts holds another key of this type for the host: refused */
    HM_SSH_AUTH,            /* authentication refused, or the key file cannot be used */
    HM_SSH_TIMEOUT,         /* the command did not finish within its timeout */
    HM_SSH_FAILED,          /* any other failure: protocol error, the server closed the channel */
} hm_ssh_code;

/* Short name of a code for status columns: "ok", "unreachable", "host key unknown",
 * "host key changed", "auth failed", "timeout", "failed". */
const char *hm_ssh_code_name(hm_ssh_code c);

/* The outcome of one call. msg is one line that says what failed and why, e.g.
 * "unreachable (timeout after 5 s) at 10.0.0.5:22" or "host key of 'proxy-1' (10.0.0.5:22) is
 * not known: ED25519 key SHA256:...; verify it, then run 'hmctl ssh trust proxy-1'". */
typedef struct hm_ssh_status {
    hm_ssh_code code;
    char msg[768];
    char key_type[24];     /* for host key failures: "ED25519", "ECDSA", "RSA" */
    char fingerprint[64];  /* for host key failures: "SHA256:" + unpadded base64, as OpenSSH */
    bool reused;           /* the command ran on a session opened by an earlier call */
    int64_t connect_ms;    /* time spent connecting in this call (0 when reused) */
} hm_ssh_status;

/* The output of one command. */
typedef struct hm_ssh_result {
    int exit_status;   /* -1 when it is not known (cut at the timeout, or killed by a signal) */
    char *exit_signal; /* "KILL", "TERM" ... when the command died of a signal, else NULL */
    strbuf out;        /* standard output */
    strbuf err;        /* standard error */
    bool truncated;    /* output beyond HM_SSH_OUTPUT_MAX per stream was dropped */
    bool timed_out;    /* the command was cut at its timeout; out/err hold what came before */
    int64_t exec_ms;   /* from the channel request to the exit status */
} hm_ssh_result;

enum { HM_SSH_OUTPUT_MAX = 4 * 1024 * 1024 };

void hm_ssh_result_free(hm_ssh_result *r);

typedef struct hm_ssh_pool hm_ssh_pool;

/* A pool of sessions, keyed by target (name, address, port, user, key and known_hosts file), so
 * that the same host reached twice shares one session. Thread-safe: different hosts are used
 * from different threads at once; calls for one host are serialised. */
hm_ssh_pool *hm_ssh_pool_new(void);
/* Closes every session (a disconnect message is sent when the socket takes it at once). */
void hm_ssh_pool_free(hm_ssh_pool *p);

/* Runs `command` on the target through the pool: opens a session when there is none (or the
 * open one has died), verifying the host key and authenticating, then execs the command and
 * collects its output until it exits or timeout_ms passes.
 *
 * After a connection failure the next attempts wait a backoff (2 s, doubling to 30 s) counted
 * from the failure; a call during the backoff fails at once with the last failure's code and
 * message plus "(next attempt in N s)". A successful call resets the backoff.
 *
 * Returns 0 when the command ran to its exit (whatever its exit status; res is filled), or -1
 * with st->code and st->msg saying why not. HM_SSH_TIMEOUT also fills res with the output
 * received before the cut. On a timeout the session is dropped, so no half-read channel is
 * carried into the next call. res must be zeroed by the caller and freed with
 * hm_ssh_result_free in both cases. */
int hm_ssh_exec(hm_ssh_pool *p, const hm_ssh_target *t, const char *command, int64_t timeout_ms,
                hm_ssh_result *res, hm_ssh_status *st);

/* The key a host presents, for `hmctl ssh trust`. */
typedef struct hm_ssh_hostkey {
    unsigned char *blob; /* the raw public key as sent in the key exchange */
    size_t len;
    int knownhost_type;  /* LIBSSH2_KNOWNHOST_KEY_* of the key */
    char type[24];       /* "ED25519", "ECDSA", "RSA" */
    char algorithm[32];  /* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" */
    char fingerprint[64]; /* "SHA256:..." */
    int check;           /* HM_SSH_OK, HM_SSH_HOSTKEY_UNKNOWN or HM_SSH_HOSTKEY_CHANGED */
    char recorded_at[512]; /* for a changed key: "FILE:LINE" of the entry that differs */
} hm_ssh_hostkey;

/* Connects to the target as far as the key exchange (no authentication), and fills hk with the
 * host's key and how it compares with the target's known_hosts file. Returns 0, or -1 with st
 * set (unreachable, protocol failure). hk->blob is freed with hm_ssh_hostkey_free. */
int hm_ssh_fetch_hostkey(const hm_ssh_target *t, hm_ssh_hostkey *hk, hm_ssh_status *st);
void hm_ssh_hostkey_free(hm_ssh_hostkey *hk);

/* Records the key for the target in its known_hosts file, as OpenSSH would: "ADDRESS" for port
 * 22, "[ADDRESS]:PORT" otherwise, then the key type and base64 key, then a comment. The file
 * and its directory are created when missing (0644 / 0755); other lines are kept as they are,
 * except that with `replace` the entries of this host with a key of the same type are removed
 * first. Returns 0 or -1 with e set. */
int hm_ssh_known_hosts_add(const hm_ssh_target *t, const hm_ssh_hostkey *hk, bool replace,
                           hm_err *e);

/* The default known_hosts file: /etc/hmctl/known_hosts for root, else
 * $XDG_CONFIG_HOME/hmctl/known_hosts (~/.config/hmctl/known_hosts). A new string. */
char *hm_ssh_default_known_hosts(void);

/* Formats a SHA-256 digest as OpenSSH prints fingerprints: "SHA256:" and the base64 of the 32
 * bytes without '=' padding (RFC 4648 alphabet). buf holds at least 52 bytes. */
void hm_ssh_fingerprint(const unsigned char sha256[32], char *buf, size_t size);

/* Quotes s for a POSIX shell command line: 'it'\''s'. A new string. */
char *hm_sh_quote(const char *s);

#endif
