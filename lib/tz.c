#include "lib/tz.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bumped by tz_open and tz_close: what tz_local remembered of the zone before is stale. */
static _Atomic unsigned tz_generation = 1;

static const char *tz_dir(void)
{
    const char *d = getenv("TZDIR");
    return d && *d ? d : "/usr/share/zoneinfo";
}

int tz_check(const char *zone, hm_err *e)
{
    const char *dir = tz_dir();
    if (!zone || !*zone) return hm_err_set(e, "empty time zone name");
    if (strcmp(zone, "UTC") == 0) return 0;
    bool ok = zone[0] != '/' && zone[0] != '.' && !strstr(zone, "..");
    for (const char *p = zone; ok && *p; p++)
        ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
             strchr("/_+-.", *p);
    char magic[4] = {0};
    if (ok) {
        char *path = xasprintf("%s/%s", dir, zone);
        struct stat st;
        FILE *f = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
        ok = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
        if (f) fclose(f);
        free(path);
    }
    if (!ok)
        return hm_err_set(e, "unknown time zone '%s': no such zone in %s (names look like "
                             "Asia/Shanghai, Europe/Berlin or UTC)", zone, dir);
    return 0;
}

/* The tz name of the system zone, or NULL. */
static char *system_zone_name(void)
{
    const char *env = getenv("TZ");
    if (env && *env) {
        if (*env == ':') env++;
        const char *dir = tz_dir();
        size_t n = strlen(dir);
        if (strncmp(env, dir, n) == 0 && env[n] == '/') env += n + 1;
        return *env ? xstrdup(env) : xstrdup("UTC");
    }
    char *name = NULL;
    FILE *f = fopen("/etc/timezone", "r");
    if (f) {
        char line[256];
        if (fgets(line, sizeof line, f)) {
            hm_strip(line);
            if (*line && tz_check(line, NULL) == 0) name = xstrdup(line);
        }
        fclose(f);
    }
    if (name) return name;
    char link[512];
    ssize_t n = readlink("/etc/localtime", link, sizeof link - 1);
    if (n > 0) {
        link[n] = '\0';
        const char *p = strstr(link, "zoneinfo/");
        if (p && p[9]) return xstrdup(p + 9);
    }
    if (access("/etc/localtime", F_OK) != 0 && errno == ENOENT) return xstrdup("UTC");
    return NULL;
}

int tz_open(const char *zone, hm_tz *tz, hm_err *e)
{
    memset(tz, 0, sizeof *tz);
    if (zone) {
        if (tz_check(zone, e) < 0) return -1;
        const char *old = getenv("TZ");
        tz->saved = old ? xstrdup(old) : NULL;
        tz->changed = true;
        setenv("TZ", zone, 1);
        tz->name = xstrdup(zone);
    } else {
        tz->name = system_zone_name();
        if (!tz->name) tz->name = xstrdup("localtime");
    }
    tzset();
    atomic_fetch_add(&tz_generation, 1);
    return 0;
}

void tz_close(hm_tz *tz)
{
    if (tz->changed) {
        if (tz->saved) setenv("TZ", tz->saved, 1);
        else unsetenv("TZ");
        tzset();
        atomic_fetch_add(&tz_generation, 1);
    }
    free(tz->saved);
    free(tz->name);
    memset(tz, 0, sizeof *tz);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* The zone's state over quarters of an hour, remembered per thread. glibc reads the zone's
 * rule string again (with sscanf) on every conversion of a time after the last transition its
 * file lists, which is the present in most zones; a million-row report converts two million
 * times, mostly close together. A quarter hour whose two ends have the same offset, summer-time
 * flag and abbreviation holds no transition (no zone has had two within 15 minutes), so every
 * time in it is its UTC time moved by that offset. TZ_MEMO_SLOTS quarter hours are kept, each
 * in the slot of its number modulo the count, so a job's start and end do not push each other
 * out. tz_open and tz_close start a new generation, which forgets what every thread kept. */
enum { TZ_MEMO_SPAN = 900, TZ_MEMO_SLOTS = 64 };

static _Thread_local struct tz_memo {
    unsigned gen; /* 0: nothing kept */
    int64_t span; /* the quarter hour: epoch seconds / TZ_MEMO_SPAN */
    long off;
    int isdst;
    const char *abbr;
} memo[TZ_MEMO_SLOTS];

void tz_local(int64_t ms, struct tm *out, long *offset_s)
{
    time_t t = (time_t)floor_div(ms, 1000);
    int64_t span = floor_div(t, TZ_MEMO_SPAN);
    unsigned gen = atomic_load(&tz_generation);
    struct tz_memo *m = &memo[(uint64_t)span % TZ_MEMO_SLOTS];
    if (m->gen != gen || m->span != span) {
        time_t t0 = (time_t)(span * TZ_MEMO_SPAN), t1 = t0 + TZ_MEMO_SPAN - 1;
        struct tm a, b;
        m->gen = 0;
        if (!localtime_r(&t0, &a) || !localtime_r(&t1, &b) || a.tm_gmtoff != b.tm_gmtoff ||
            a.tm_isdst != b.tm_isdst || !a.tm_zone || !b.tm_zone ||
            strcmp(a.tm_zone, b.tm_zone) != 0) {
            /* a transition in this quarter hour: ask for this time alone */
            if (!localtime_r(&t, out)) memset(out, 0, sizeof *out);
            if (offset_s) *offset_s = out->tm_gmtoff;
            return;
        }
        *m = (struct tz_memo){gen, span, a.tm_gmtoff, a.tm_isdst, a.tm_zone};
    }
    time_t wall = t + m->off;
    if (!gmtime_r(&wall, out)) memset(out, 0, sizeof *out);
    out->tm_isdst = m->isdst;
    out->tm_gmtoff = m->off;
    out->tm_zone = m->abbr;
    if (offset_s) *offset_s = m->off;
}

/* Offset in seconds east of UTC at instant s (epoch seconds). */
static long offset_at(int64_t s)
{
    struct tm tm;
    long off;
    tz_local(s * 1000, &tm, &off);
    return off;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t tz_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = m;
    *day = d;
}

int64_t tz_from_local(int year, int month, int day, int hour, int min, int sec)
{
    int64_t wall = tz_days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
    /* the offsets in force a day either side bracket any transition near this time */
    long before = offset_at(wall - 86400), after = offset_at(wall + 86400);
    int64_t best = INT64_MAX;
    long cand[2] = {before, after};
    for (int i = 0; i < 2; i++) {
        int64_t t = wall - cand[i];
        if (t + offset_at(t) == wall && t < best) best = t;
    }
    if (best == INT64_MAX) best = wall - before; /* in a gap: forward by its length */
    return best * 1000;
}

int64_t tz_day_of(int64_t ms)
{
    struct tm tm;
    tz_local(ms, &tm, NULL);
    return tz_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int64_t tz_day_start(int64_t day)
{
    int y, m, d;
    tz_civil_from_days(day, &y, &m, &d);
    return tz_from_local(y, m, d, 0, 0, 0);
}

void tz_format_offset(long off, char *buf, size_t size)
{
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    snprintf(buf, size, "%c%02ld:%02ld", sign, off / 3600 % 100, off / 60 % 60);
}

void tz_format_time(int64_t ms, char sep, char *buf, size_t size)
{
    struct tm tm;
    long off;
    tz_local(ms, &tm, &off);
    char o[8];
    tz_format_offset(off, o, sizeof o);
    snprintf(buf, size, "%04d-%02d-%02d%c%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec, sep == ' ' ? " " : "", o);
}
