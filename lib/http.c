#include "lib/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hm_http {
    CURL *curl;
    char *conn_fp; /* fingerprint seen when the kept-alive connection was set up */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

hm_http *hm_http_new(void)
{
    pthread_once(&init_once, global_init);
    hm_http *h = xcalloc(1, sizeof *h);
    h->curl = curl_easy_init();
    if (!h->curl) {
        fputs("hmctl: cannot initialise libcurl\n", stderr);
        abort();
    }
    return h;
}

void hm_http_free(hm_http *h)
{
    if (!h) return;
    curl_easy_cleanup(h->curl);
    free(h->conn_fp);
    free(h);
}

void hm_http_resp_free(hm_http_resp *resp)
{
    sb_free(&resp->body);
    sb_free(&resp->headers);
    free(resp->content_type);
    free(resp->server_fp);
    memset(resp, 0, sizeof *resp);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    sb_add(ud, data, size * nmemb);
    return size * nmemb;
}

/* libcurl passes every header line of every answer (a 100 Continue or a proxy's answer
 * first): a status line starts the block of a new answer, so only the final one is kept. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    strbuf *sb = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) sb_reset(sb);
    else sb_add(sb, data, n);
    return n;
}

char *hm_http_resp_header(const hm_http_resp *resp, const char *name)
{
    size_t nl = strlen(name);
    const char *p = sb_str(&resp->headers);
    while (*p) {
        size_t len = strcspn(p, "\n");
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            char *v = xstrndup(p + nl + 1, len - nl - 1);
            return hm_strip(v);
        }
        p += len;
        if (*p) p++;
    }
    return NULL;
}

/* Normalises a configured fingerprint (SHA256:base64, hex with or without colons) to raw bytes. */
static int decode_fp(const char *s, unsigned char out[32])
{
    if (strncasecmp(s, "SHA256:", 7) == 0) {
        const char *b = s + 7;
        size_t n = strlen(b);
        char buf[64];
        if (n > 44) return -1;
        memcpy(buf, b, n);
        while (n % 4) buf[n++] = '='; /* OpenSSH style drops the padding */
        buf[n] = '\0';
        unsigned char tmp[48];
        int len = EVP_DecodeBlock(tmp, (const unsigned char *)buf, (int)n);
        if (len < 32) return -1;
        memcpy(out, tmp, 32);
        return 0;
    }
    int i = 0;
    for (const char *p = s; *p && i < 64; p++) {
        if (*p == ':') continue;
        int v;
        if (*p >= '0' && *p <= '9') v = *p - '0';
        else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
        else return -1;
        if (i % 2 == 0) out[i / 2] = (unsigned char)(v << 4);
        else out[i / 2] |= (unsigned char)v;
        i++;
    }
    return i == 64 ? 0 : -1;
}

static char *encode_fp(const unsigned char md[32])
{
    unsigned char b64[64];
    int n = EVP_EncodeBlock(b64, md, 32);
    while (n > 0 && b64[n - 1] == '=') n--;
    b64[n] = '\0';
    return xasprintf("SHA256:%s", b64);
}

/* The leaf certificate's fingerprint from libcurl's certificate info (PEM "Cert:" field). */
static char *leaf_fingerprint(CURL *curl)
{
    struct curl_certinfo *ci = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        return NULL;
    for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
        if (strncmp(s->data, "Cert:", 5) != 0) continue;
        BIO *bio = BIO_new_mem_buf(s->data + 5, -1);
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        if (!x) return NULL;
        unsigned char md[32];
        unsigned int len = 0;
        X509_digest(x, EVP_sha256(), md, &len);
        X509_free(x);
        return encode_fp(md);
    }
    return NULL;
}

int hm_http_do(hm_http *h, const hm_http_req *req, hm_http_resp *resp, hm_err *e)
{
    hm_http *own = NULL;
    if (!h) h = own = hm_http_new();
    CURL *c = h->curl;
    curl_easy_reset(c);
    int64_t timeout = req->timeout_ms > 0 ? req->timeout_ms : 5000;
    int64_t ctimeout = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : timeout;
    const char *method = req->method ? req->method : "GET";
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    for (const char *const *hp = req->headers; hp && *hp; hp++) hdrs = curl_slist_append(hdrs, *hp);

    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ctimeout);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hmctl/" HMCTL_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->unix_socket) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
    if (hdrs) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (req->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, req->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, req->password ? req->password : "");
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    if (strcmp(method, "GET") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->body_len ? req->body_len : strlen(req->body)));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (req->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
    if (req->pin_sha256 || req->insecure) {
        /* A pinned certificate replaces chain verification: the check below compares the
         * leaf's digest with the pin, as ssh does with a host key. */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strncmp(req->url, "https:", 6) == 0) curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);

    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (strncmp(req->url, "https:", 6) == 0) {
        resp->server_fp = leaf_fingerprint(c);
        /* libcurl reports certificates only for a new connection; a reused one is the TLS
         * session whose certificate was seen (and checked) when it was set up. */
        long new_conns = 1;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_conns);
        if (h && !resp->server_fp && new_conns == 0 && h->conn_fp)
            resp->server_fp = xstrdup(h->conn_fp);
        else if (h && resp->server_fp) {
            free(h->conn_fp);
            h->conn_fp = xstrdup(resp->server_fp);
        }
    }
    int ret = 0;
    if (rc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        long os_errno = 0;
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            hm_err_set(e, "%s: no answer within %.1f s", req->url, (double)timeout / 1000);
        else if (rc == CURLE_COULDNT_CONNECT && os_errno > 0) {
            /* curl's own text ("Failed to connect to ... Couldn't connect to server") hides
             * the system's reason, which is what the operator acts on. */
            char reason[128];
            snprintf(reason, sizeof reason, "%s", strerror((int)os_errno));
            reason[0] = (char)tolower((unsigned char)reason[0]);
            hm_err_set(e, "%s: %s", req->url, reason);
        } else hm_err_set(e, "%s: %s", req->url, why);
        ret = -1;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        resp->content_type = ct ? xstrdup(ct) : NULL;
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &resp->seconds);
        if (req->pin_sha256) {
            unsigned char want[32], got[32];
            if (decode_fp(req->pin_sha256, want) < 0) {
                hm_err_set(e, "invalid fingerprint '%s' (use SHA256:base64 or 64 hex digits)",
                           req->pin_sha256);
                ret = -1;
            } else if (!resp->server_fp || decode_fp(resp->server_fp, got) < 0 ||
                       memcmp(want, got, 32) != 0) {
                char *want_s = encode_fp(want);
                hm_err_set(e, "%s: certificate fingerprint mismatch: expected %s, server presented %s",
                           req->url, want_s, resp->server_fp ? resp->server_fp : "none");
                free(want_s);
                ret = -1;
            }
        }
    }
    hm_http_free(own);
    return ret;
}

char *hm_url_escape(const char *s)
{
    strbuf sb = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            sb_addc(&sb, (char)*p);
        else sb_addf(&sb, "%%%02X", *p);
    }
    return sb_detach(&sb);
}

char *hm_http_error_text(const hm_http_resp *resp)
{
    const char *body = sb_str(&resp->body);
    json_t *j = json_loads(body, 0, NULL);
    if (j) {
        static const char *keys[] = {"message", "error", "reason", "msg"};
        for (size_t i = 0; i < HM_ARRAY_LEN(keys); i++) {
            json_t *v = json_object_get(j, keys[i]);
            if (json_is_string(v)) {
                char *s = xstrndup(json_string_value(v), 200);
                json_decref(j);
                return s;
            }
        }
        json_decref(j);
    }
    size_t n = strcspn(body, "\r\n");
    if (n > 200) n = 200;
    if (n == 0) return xstrdup("(empty body)");
    return xstrndup(body, n);
}
