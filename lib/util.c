#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static void oom(void)
{
    fputs("hmctl: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom();
    return q;
}

char *xstrdup(const char *s)
{
    if (!s) return NULL;
    char *p = strdup(s);
    if (!p) oom();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p) oom();
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    return sb_detach(&sb);
}

static void sb_grow(strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) cap *= 2;
    sb->buf = xrealloc(sb->buf, cap);
    sb->cap = cap;
}

void sb_add(strbuf *sb, const void *data, size_t n)
{
    sb_grow(sb, n);
    memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void sb_adds(strbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

void sb_addc(strbuf *sb, char c)
{
    sb_add(sb, &c, 1);
}

void sb_vaddf(strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return;
    sb_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sb_addf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(sb, fmt, ap);
    va_end(ap);
}

const char *sb_str(const strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

char *sb_detach(strbuf *sb)
{
    char *p = sb->buf ? sb->buf : xstrdup("");
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return p;
}

void sb_reset(strbuf *sb)
{
    sb->len = 0;
    if (sb->buf) sb->buf[0] = '\0';
}

void sb_free(strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

void sv_push_owned(strvec *sv, char *s)
{
    if (sv->n + 1 >= sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = xrealloc(sv->v, sv->cap * sizeof(char *));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void sv_push(strvec *sv, const char *s)
{
    sv_push_owned(sv, xstrdup(s));
}

bool sv_contains(const strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0) return true;
    return false;
}

void sv_free(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

void sv_split_list(strvec *sv, const char *list)
{
    const char *p = list;
    while (p && *p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p)) p++;
        if (p > start) sv_push_owned(sv, xstrndup(start, (size_t)(p - start)));
    }
}

int hm_err_set(hm_err *e, const char *fmt, ...)
{
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int hm_err_prefix(hm_err *e, const char *fmt, ...)
{
    if (!e) return -1;
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    sb_addf(&sb, ": %s", e->msg);
    snprintf(e->msg, sizeof e->msg, "%s", sb.buf);
    sb_free(&sb);
    return -1;
}

int hm_parse_duration(const char *s, int64_t *out_ms)
{
    if (!s) return -1;
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return -1;
    double total = 0;
    const char *p = s;
    bool any = false;
    while (*p) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        if (!isdigit((unsigned char)*p) && *p != '.') return -1;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || v < 0 || !isfinite(v)) return -1;
        p = end;
        double mult;
        if (strncmp(p, "ms", 2) == 0) { mult = 1; p += 2; }
        else if (*p == 's') { mult = 1000; p++; }
        else if (*p == 'm') { mult = 60e3; p++; }
        else if (*p == 'h') { mult = 3600e3; p++; }
        else if (*p == 'd') { mult = 86400e3; p++; }
        else if (*p == 'w') { mult = 7 * 86400e3; p++; }
        else if (*p == '\0' || isspace((unsigned char)*p)) {
            if (any) return -1; /* "1h30" is ambiguous */
            mult = 1000;
        } else return -1;
        total += v * mult;
        any = true;
    }
    if (!any || total > 9.2e18) return -1;
    *out_ms = (int64_t)llround(total);
    return 0;
}

void hm_format_duration(int64_t ms, char *buf, size_t size)
{
    const char *sign = "";
    if (ms < 0) { sign = "-"; ms = -ms; }
    int64_t s = ms / 1000;
    if (ms < 1000) snprintf(buf, size, "%s%lldms", sign, (long long)ms);
    else if (s < 60) snprintf(buf, size, "%s%llds", sign, (long long)s);
    else if (s < 3600) {
        if (s % 60) snprintf(buf, size, "%s%lldm %llds", sign, (long long)(s / 60), (long long)(s % 60));
        else snprintf(buf, size, "%s%lldm", sign, (long long)(s / 60));
    } else if (s < 86400) {
        if ((s % 3600) / 60) snprintf(buf, size, "%s%lldh %lldm", sign, (long long)(s / 3600), (long long)((s % 3600) / 60));
        else snprintf(buf, size, "%s%lldh", sign, (long long)(s / 3600));
    } else {
        if ((s % 86400) / 3600) snprintf(buf, size, "%s%lldd %lldh", sign, (long long)(s / 86400), (long long)((s % 86400) / 3600));
        else snprintf(buf, size, "%s%lldd", sign, (long long)(s / 86400));
    }
}

int hm_parse_size(const char *s, uint64_t *out_bytes)
{
    if (!s) return -1;
    while (isspace((unsigned char)*s)) s++;
    if (!isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || v < 0 || !isfinite(v)) return -1;
    while (isspace((unsigned char)*end)) end++;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'B': mult = 1; end++; break;
    case 'K': mult = 1024.0; end++; break;
    case 'M': mult = 1024.0 * 1024; end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: return -1;
    }
    if (mult > 1) {
        if (*end == 'i' || *end == 'I') end++;
        if (*end == 'b' || *end == 'B') end++;
    }
    if (*end) return -1;
    *out_bytes = (uint64_t)llround(v * mult);
    return 0;
}

void hm_format_bytes(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "BKMGTPE";
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 6) { v /= 1024; u++; }
    if (u == 0) snprintf(buf, size, "%lluB", (unsigned long long)bytes);
    else if (v < 10) snprintf(buf, size, "%.1f%c", v, units[u]);
    else snprintf(buf, size, "%.0f%c", v, units[u]);
}

int hm_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < HM_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) { *out = true; return 0; }
        if (strcasecmp(s, no[i]) == 0) { *out = false; return 0; }
    }
    return -1;
}

char *hm_strip(char *s)
{
    char *p = s;
    while (isspace((unsigned char)*p)) p++;
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1])) p[--n] = '\0';
    if (p != s) memmove(s, p, n + 1);
    return s;
}

bool hm_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *hm_read_file(const char *path, size_t *len, hm_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    strbuf sb = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sb_add(&sb, chunk, n);
    if (ferror(f)) {
        hm_err_set(e, "cannot read '%s': %s", path, strerror(errno));
        fclose(f);
        sb_free(&sb);
        return NULL;
    }
    fclose(f);
    if (len) *len = sb.len;
    return sb_detach(&sb);
}

/* East Asian Wide and Fullwidth ranges (Unicode 15, UAX #11), enough for CJK host names;
 * wcwidth() depends on the locale, this does not. */
static int wide(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
           (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
           (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
           (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
           (c >= 0x20000 && c <= 0x3FFFD);
}

/* Decodes the character at p: returns its length in bytes (1 for an invalid byte) and sets
 * *width to its display width (0 for zero-width and combining marks). */
static int char_at(const unsigned char *p, int *width)
{
    uint32_t c;
    int n;
    if (*p < 0x80) { c = *p; n = 1; }
    else if ((*p & 0xE0) == 0xC0) { c = *p & 0x1F; n = 2; }
    else if ((*p & 0xF0) == 0xE0) { c = *p & 0x0F; n = 3; }
    else if ((*p & 0xF8) == 0xF0) { c = *p & 0x07; n = 4; }
    else { *width = 1; return 1; }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) { *width = 1; return 1; }
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c == 0x200B || (c >= 0x300 && c <= 0x36F)) *width = 0; /* zero width, combining */
    else *width = wide(c) ? 2 : 1;
    return n;
}

int hm_display_width(const char *s)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int cw;
        p += char_at(p, &cw);
        w += cw;
    }
    return w;
}

char *hm_cut_width(const char *s, int width, const char *ellipsis)
{
    if (hm_display_width(s) <= width) return xstrdup(s);
    int ew = hm_display_width(ellipsis);
    bool mark = width >= ew;
    int room = mark ? width - ew : width;
    const unsigned char *p = (const unsigned char *)s;
    int used = 0;
    while (*p) {
        int cw, n = char_at(p, &cw);
        if (used + cw > room) break;
        used += cw;
        p += n;
    }
    /* marks that combine with the last character kept stay with it */
    for (int cw, n; *p && (n = char_at(p, &cw), cw == 0);) p += n;
    strbuf sb = {0};
    sb_add(&sb, s, (size_t)((const char *)p - s));
    if (mark) sb_adds(&sb, ellipsis);
    return sb_detach(&sb);
}

size_t hm_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xcalloc(lb + 1, sizeof(size_t));
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t tmp = row[j];
            size_t best = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = tmp;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}
