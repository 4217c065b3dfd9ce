/* Mail: the MIME message (RFC 5322 headers, RFC 2045 base64 body, RFC 2047 encoded subject)
 * and its submission with libcurl's SMTP (smtp:// with STARTTLS required by default, or
 * smtps://), authentication and several recipients in one transaction. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts/alerts-int.h"

static char *base64(const unsigned char *data, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    out[len] = '\0';
    return out;
}

static bool plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

char *alert_mime_encode_header(const char *utf8)
{
    if (plain_ascii(utf8)) return xstrdup(utf8);
    /* "=?UTF-8?B?" + 60 base64 characters + "?=" = 72 <= 75 (RFC 2047 2); 60 characters carry
     * 45 bytes, cut back to the start of a UTF-8 character */
    strbuf sb = {0};
    const unsigned char *p = (const unsigned char *)utf8;
    size_t left = strlen(utf8);
    while (left > 0) {
        size_t n = left < 45 ? left : 45;
        if (n < left)
            while (n > 0 && (p[n] & 0xc0) == 0x80) n--;
        if (n == 0) n = left < 45 ? left : 45; /* invalid UTF-8: cut anywhere */
        char *b = base64(p, n);
        if (sb.len) sb_adds(&sb, "\r\n ");
        sb_addf(&sb, "=?UTF-8?B?%s?=", b);
        free(b);
        p += n;
        left -= n;
    }
    return sb_detach(&sb);
}

char *alert_mime_message(const char *from, const strvec *to, const char *subject,
                         const char *body, int64_t date_ms, const char *message_id)
{
    strbuf sb = {0};
    char *enc = alert_mime_encode_header(subject);
    time_t t = (time_t)(date_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    sb_addf(&sb, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
            months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    sb_addf(&sb, "From: %s\r\n", from);
    sb_adds(&sb, "To: ");
    for (size_t i = 0; i < to->n; i++) sb_addf(&sb, "%s%s", i ? ",\r\n " : "", to->v[i]);
    sb_adds(&sb, "\r\n");
    sb_addf(&sb, "Subject: %s\r\n", enc);
    sb_addf(&sb, "Message-ID: %s\r\n", message_id);
    sb_adds(&sb, "MIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=UTF-8\r\n"
                 "Content-Transfer-Encoding: base64\r\n"
                 "\r\n");
    free(enc);
    /* the body with CRLF line ends, then base64 in lines of 76 (RFC 2045 6.8) */
    strbuf crlf = {0};
    for (const char *p = body; *p; p++) {
        if (*p == '\n' && (p == body || p[-1] != '\r')) sb_addc(&crlf, '\r');
        sb_addc(&crlf, *p);
    }
    char *b = base64((const unsigned char *)crlf.buf, crlf.len);
    sb_free(&crlf);
    size_t n = strlen(b);
    for (size_t i = 0; i < n; i += 76) {
        sb_add(&sb, b + i, n - i < 76 ? n - i : 76);
        sb_adds(&sb, "\r\n");
    }
    free(b);
    return sb_detach(&sb);
}

/* The bare address of "Name <addr>" or "addr". New string. */
static char *bare_address(const char *a)
{
    const char *lt = strchr(a, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) return xstrndup(lt + 1, (size_t)(gt - lt - 1));
    return hm_strip(xstrdup(a));
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct upload *u = ud;
    size_t n = size * nmemb;
    if (n > u->len - u->pos) n = u->len - u->pos;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

/* The server's last reply line ("250 2.0.0 Ok: queued as ..."): only what the server sent is
 * kept, never what hmctl sent (AUTH carries the password). */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)c;
    if (type != CURLINFO_HEADER_IN) return 0;
    strbuf *last = ud;
    while (size && (data[size - 1] == '\n' || data[size - 1] == '\r')) size--;
    sb_reset(last);
    sb_add(last, data, size > 200 ? 200 : size);
    return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The URL without user information or query, safe to print. New string. */
char *alerts_url_redact(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    size_t hostlen = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hostlen);
    strbuf sb = {0};
    sb_add(&sb, url, (size_t)(host - url));
    const char *rest = at ? at + 1 : host;
    sb_add(&sb, rest, strcspn(rest, "?#"));
    return sb_detach(&sb);
}

int alert_send_smtp(const alert_conf *ac, const alert_channel *ch, const alert_message *msg,
                    strbuf *answer, hm_err *e)
{
    pthread_once(&curl_once, curl_init);
    hm_err se = {{0}};
    char *password = cfg_get_secret(ac->cfg, "channel", ch->name, "password", &se);
    if (!password && se.msg[0]) return hm_err_set(e, "%s", se.msg);
    char *subject = alert_render_subject(ac, msg->payload);
    char *body = alert_render_text(ac, msg->payload);
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !*host) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    char *mid = xasprintf("<hmctl.%lld.%lld@%s>", (long long)msg->id, (long long)msg->created_ms,
                          host);
    char *text = alert_mime_message(ch->from, &ch->to, subject, body, msg->created_ms, mid);
    free(mid);
    free(subject);
    free(body);
    struct upload up = {text, strlen(text), 0};
    CURL *c = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    for (size_t i = 0; i < ch->to.n; i++) {
        char *a = bare_address(ch->to.v[i]);
        char *b = xasprintf("<%s>", a);
        rcpt = curl_slist_append(rcpt, b);
        free(a);
        free(b);
    }
    char *from = bare_address(ch->from);
    char *mail_from = xasprintf("<%s>", from);
    free(from);
    char errbuf[CURL_ERROR_SIZE] = "";
    strbuf last = {0};
    curl_easy_setopt(c, CURLOPT_URL, ch->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ch->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ch->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &last);
    if (hm_starts_with(ch->url, "smtp://") && ch->starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (ch->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, ch->ca_file);
    if (ch->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, ch->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, password ? password : "");
    }
    CURLcode rc = curl_easy_perform(c);
    int ret = 0;
    if (rc != CURLE_OK) {
        char *where = alerts_url_redact(ch->url);
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        if (last.len) hm_err_set(e, "%s: %s (server said: %s)", where, why, sb_str(&last));
        else hm_err_set(e, "%s: %s", where, why);
        free(where);
        ret = -1;
    } else {
        sb_adds(answer, last.len ? sb_str(&last) : "accepted");
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(rcpt);
    sb_free(&last);
    free(mail_from);
    free(text);
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    return ret;
}
