/* HTTP client on libcurl: one reusable handle (keep-alive) per thread of work, unix sockets for
 * the Docker API, CA-file trust or a pinned SHA-256 certificate fingerprint for self-signed
 * consoles, and error messages that name the URL, the HTTP status and the server's words. */
#ifndef HM_HTTP_H
#define HM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

typedef struct hm_http hm_http;

typedef struct hm_http_req {
    const char *method;      /* "GET" (default when NULL), "POST", "DELETE", ... */
    const char *url;
    const char *unix_socket; /* connect through this socket (Docker API) */
    const char *body;        /* request body, may be NULL */
    size_t body_len;         /* 0 = strlen(body) */
    const char *const *headers; /* NULL-terminated "Name: value" list */
    const char *username;    /* HTTP basic authentication when non-NULL */
    const char *password;
    int64_t timeout_ms;      /* whole transfer; 0 = 5000 */
    int64_t connect_timeout_ms; /* 0 = timeout_ms */
    const char *ca_file;     /* trust this CA bundle instead of the system's */
    const char *pin_sha256;  /* "SHA256:base64" or hex of the server certificate's SHA-256;
                                when set, the certificate must match it (chain not required) */
    bool insecure;           /* no verification at all (callers must warn) */
} hm_http_req;

typedef struct hm_http_resp {
    long status;       /* HTTP status, 0 when no answer */
    strbuf body;
    char *content_type;
    double seconds;    /* total transfer time */
    char *server_fp;   /* SHA-256 fingerprint of the server certificate ("SHA256:..."), when TLS */
    strbuf headers;    /* the final answer's header lines as received ("Name: value\r\n"...),
                          status line excluded; read them with hm_http_resp_header */
} hm_http_resp;

hm_http *hm_http_new(void);
void hm_http_free(hm_http *h);

/* Performs the request. Returns 0 when an HTTP answer arrived (any status: the caller decides),
 * or -1 with e set to "URL: reason" (connection refused, timeout after N s, TLS failure,
 * certificate fingerprint mismatch showing both fingerprints, ...). h may be NULL for a one-off
 * request. resp must be zero-initialised; free it with hm_http_resp_free. */
int hm_http_do(hm_http *h, const hm_http_req *req, hm_http_resp *resp, hm_err *e);
void hm_http_resp_free(hm_http_resp *resp);

/* The value of the response header `name` (case-insensitive, RFC 9110), surrounding
 * whitespace removed; the first one when repeated. Returns a new string, or NULL when the
 * answer had no such header. */
char *hm_http_resp_header(const hm_http_resp *resp, const char *name);

/* Percent-encodes s for a URL path segment or query value (RFC 3986 unreserved kept). */
char *hm_url_escape(const char *s);

/* A short text for an error answer: the "message" (or "error"/"reason") field when the body is
 * JSON, else the first line of the body, truncated to 200 bytes. Returns a new string. */
char *hm_http_error_text(const hm_http_resp *resp);

#endif
