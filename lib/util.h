/* Shared plumbing: allocation that never returns NULL, growable strings, error messages,
 * and the parsers for durations and sizes used by configuration and command lines. */
#ifndef HM_UTIL_H
#define HM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define HM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation wrappers: on out-of-memory they print "hmctl: out of memory" and abort, so
 * callers never test for NULL. xstrdup(NULL) returns NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a newly allocated string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable, always NUL-terminated byte string. Zero-initialise ({0}) before use. */
typedef struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
} strbuf;

void sb_add(strbuf *sb, const void *data, size_t n);
void sb_adds(strbuf *sb, const char *s);
void sb_addc(strbuf *sb, char c);
void sb_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(strbuf *sb, const char *fmt, va_list ap);
/* Returns the string (never NULL, "" when empty); it stays owned by the strbuf. */
const char *sb_str(const strbuf *sb);
/* Hands the buffer to the caller (who frees it) and resets the strbuf. */
char *sb_detach(strbuf *sb);
void sb_reset(strbuf *sb);
void sb_free(strbuf *sb);

/* A vector of owned strings. */
typedef struct strvec {
    char **v;
    size_t n;
    size_t cap;
} strvec;

void sv_push(strvec *sv, const char *s);
void sv_push_owned(strvec *sv, char *s);
bool sv_contains(const strvec *sv, const char *s);
void sv_free(strvec *sv);
/* Splits a comma- or whitespace-separated list ("a, b c") into sv; empty items are skipped. */
void sv_split_list(strvec *sv, const char *list);

/* An error message carried back to the caller: "what failed: why". Functions that can fail
 * take an hm_err * (which may be NULL when the caller does not care) and fill it. */
typedef struct hm_err {
    char msg[1024];
} hm_err;

/* Sets the message (printf-style). Always returns -1 so callers can `return hm_err_set(...)`. */
int hm_err_set(hm_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the existing message with context: "context: old message". Returns -1. */
int hm_err_prefix(hm_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a duration such as "500ms", "10s", "5m", "2h", "14d", "1w" or a bare number of
 * seconds, also sums like "1h30m". Stores milliseconds in *out_ms. Returns 0, or -1 on a
 * malformed or negative value. */
int hm_parse_duration(const char *s, int64_t *out_ms);
/* Formats milliseconds as a short human duration ("850ms", "12s", "5m", "2h 5m", "3d 4h"). */
void hm_format_duration(int64_t ms, char *buf, size_t size);
/* Parses a size such as "512", "64k", "10MB", "2GiB" (powers of 1024). Returns 0 or -1. */
int hm_parse_size(const char *s, uint64_t *out_bytes);
/* Formats bytes with binary units ("0B", "12K", "1.5M", "3.2G"), as du -h and df -h do. */
void hm_format_bytes(uint64_t bytes, char *buf, size_t size);
/* Parses yes/no, true/false, on/off, 1/0. Returns 0 or -1. */
int hm_parse_bool(const char *s, bool *out);

/* Strips leading and trailing whitespace in place; returns s. */
char *hm_strip(char *s);
bool hm_starts_with(const char *s, const char *prefix);
/* Reads a whole file into a new NUL-terminated buffer; *len gets its length when non-NULL.
 * Returns NULL with e set ("cannot read 'PATH': reason") on failure. */
char *hm_read_file(const char *path, size_t *len, hm_err *e);

/* Levenshtein distance between two strings, in bytes; for "did you mean" hints on typos in
 * configuration keys, section names, plan keys and event types. */
size_t hm_edit_distance(const char *a, const char *b);

/* Display width of a UTF-8 string in terminal columns (CJK characters count 2). Invalid
 * bytes count 1 each. */
int hm_display_width(const char *s);
/* s cut to at most width display columns (counted as hm_display_width does), ending in
 * ellipsis (such as "…" or "~") when anything was cut; a CJK character that would straddle
 * the limit is left out whole. Returns a new string: a copy of s when it fits; only as much
 * of s as fits, without the ellipsis, when width is narrower than the ellipsis itself. */
char *hm_cut_width(const char *s, int width, const char *ellipsis);

#endif
