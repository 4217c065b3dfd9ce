/* Secret masking, one line at a time. */
#include "ops/mask.h"

#include <ctype.h>
#include <string.h>

static bool has(const char *norm, const char *word)
{
    return strstr(norm, word) != NULL;
}

static bool ends(const char *norm, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n >= w && strcmp(norm + n - w, word) == 0;
}

bool mask_is_secret_key(const char *key, size_t len)
{
    char norm[128];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof norm - 1; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '_' || c == '-' || c == '.' || c == ' ' || c == '\t' || c == '"' || c == '\'')
            continue;
        norm[n++] = (char)tolower(c);
    }
    norm[n] = '\0';
    if (n == 0) return false;
    if (ends(norm, n, "file") || ends(norm, n, "path") || ends(norm, n, "dir")) return false;
    static const char *const words[] = {"password", "passwd",  "secret",     "token",
                                        "accesskey", "secretkey", "authkey", "apikey",
                                        "privatekey", "nodekey", "credential"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (has(norm, words[i])) return true;
    return !strcmp(norm, "pass") || !strcmp(norm, "pwd") || !strcmp(norm, "requirepass") ||
           !strcmp(norm, "masterauth");
}

/* Where an inline comment starts in v[0..n): whitespace followed by '#' or ';'; n if none. */
static size_t comment_start(const char *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if ((v[i] == '#' || v[i] == ';') && (v[i - 1] == ' ' || v[i - 1] == '\t')) return i - 1;
    return n;
}

static bool is_scheme_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* Appends s[0..n) with two kinds of secrets masked wherever they stand: the password of a URL
 * (scheme://user:password@host) and the value of a secret word=value pair (query strings and
 * log lines: "...?user=a&password=b", "login token=abc ok"). */
static int mask_urls(const char *s, size_t n, strbuf *out)
{
    int count = 0;
    size_t i = 0, copied = 0;
    while (i < n) {
        if (s[i] == '=' && i > 0 && is_word_char(s[i - 1])) {
            size_t w = i;
            while (w > copied && is_word_char(s[w - 1])) w--;
            size_t v = i + 1, ve = v;
            while (ve < n && !strchr(" \t&,;\"'()[]{}<>", s[ve])) ve++;
            if (ve > v && mask_is_secret_key(s + w, i - w)) {
                sb_add(out, s + copied, v - copied);
                sb_adds(out, MASK_TEXT);
                copied = ve;
                count++;
            }
            i = ve > i ? ve : i + 1;
            continue;
        }
        if (!(i + 3 <= n && s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/' && i > 0 &&
              is_scheme_char(s[i - 1]))) {
            i++;
            continue;
        }
        size_t u = i + 3, at = u, colon = 0;
        while (at < n && s[at] != '@' && s[at] != '/' && s[at] != ' ' && s[at] != '\t' &&
               s[at] != '"' && s[at] != '\'' && s[at] != '?' && s[at] != '#') {
            if (s[at] == ':' && !colon) colon = at;
            at++;
        }
        if (at < n && s[at] == '@' && colon && colon + 1 < at) {
            sb_add(out, s + copied, colon + 1 - copied);
            sb_adds(out, MASK_TEXT);
            copied = at;
            count++;
        }
        i = at > i ? at : i + 1;
    }
    sb_add(out, s + copied, n - copied);
    return count;
}

int mask_line(const char *line, size_t len, strbuf *out)
{
    size_t p = 0;
    while (p < len && (line[p] == ' ' || line[p] == '\t' || line[p] == '#' || line[p] == ';'))
        p++;
    /* The key runs to the first '=' or ':' (a ':' only when followed by a blank or the end,
     * so URLs and times are not keys). */
    size_t sep = p;
    while (sep < len && line[sep] != '=' &&
           !(line[sep] == ':' && (sep + 1 == len || line[sep + 1] == ' ' || line[sep + 1] == '\t')))
        sep++;
    size_t kend = sep, vstart;
    if (sep < len) {
        vstart = sep + 1;
    } else {
        /* "requirepass value": a directive and its argument. */
        kend = p;
        while (kend < len && line[kend] != ' ' && line[kend] != '\t') kend++;
        vstart = kend;
        if (vstart == len) return mask_urls(line, len, out);
    }
    size_t k = kend;
    while (k > p && (line[k - 1] == ' ' || line[k - 1] == '\t')) k--;
    /* A key is one word (a JSON key in quotes may hold anything but a quote). */
    bool one_word = k > p && (line[p] == '"' || (!memchr(line + p, ' ', k - p) &&
                                                  !memchr(line + p, '\t', k - p)));
    if (!one_word || !mask_is_secret_key(line + p, k - p)) return mask_urls(line, len, out);
    /* A directive must be one word. */
    if (sep == len && memchr(line + p, '"', k - p)) return mask_urls(line, len, out);

    while (vstart < len && (line[vstart] == ' ' || line[vstart] == '\t')) vstart++;
    size_t vend;
    if (vstart < len && (line[vstart] == '"' || line[vstart] == '\'')) {
        char q = line[vstart];
        const char *close = memchr(line + vstart + 1, q, len - vstart - 1);
        vstart++;
        vend = close ? (size_t)(close - line) : len;
    } else {
        vend = vstart + comment_start(line + vstart, len - vstart);
        while (vend > vstart && (line[vend - 1] == ' ' || line[vend - 1] == '\t' ||
                                 line[vend - 1] == ',' || line[vend - 1] == '\r'))
            vend--;
    }
    if (vend <= vstart) return mask_urls(line, len, out);
    int count = mask_urls(line, vstart, out);
    sb_adds(out, MASK_TEXT);
    return count + 1 + mask_urls(line + vend, len - vend, out);
}

int mask_text(const char *text, size_t len, strbuf *out)
{
    int count = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        size_t body = n;
        if (body && text[i + body - 1] == '\r') body--;
        count += mask_line(text + i, body, out);
        sb_add(out, text + i + body, n - body);
        if (nl) sb_addc(out, '\n');
        i += n + (nl ? 1 : 0);
    }
    return count;
}
