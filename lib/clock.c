#include "lib/clock.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t pinned_ms;

int64_t hm_now_ms(void)
{
    int64_t p = atomic_load(&pinned_ms);
    if (p) return p;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hm_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hm_clock_pin(int64_t ms)
{
    atomic_store(&pinned_ms, ms);
}

int hm_parse_time(const char *s, int64_t *out_ms)
{
    if (!s || !*s) return -1;
    const char *p = s;
    int all_digits = 1;
    for (const char *q = s; *q; q++)
        if (!isdigit((unsigned char)*q) && *q != '.') all_digits = 0;
    if (all_digits) {
        *out_ms = (int64_t)(strtod(s, NULL) * 1000);
        return 0;
    }
    struct tm tm = {0};
    int n = 0;
    if (sscanf(p, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3) return -1;
    p += n;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (sscanf(p, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2) return -1;
        p += n;
        if (*p == ':') {
            p++;
            if (sscanf(p, "%2d%n", &tm.tm_sec, &n) != 1) return -1;
            p += n;
        }
    }
    int64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3) frac_ms = frac_ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        while (digits < 3) { frac_ms *= 10; digits++; }
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0;
        p++;
        if (sscanf(p, "%2d%n", &hh, &n) != 1) return -1;
        p += n;
        if (*p == ':') p++;
        if (isdigit((unsigned char)*p)) {
            if (sscanf(p, "%2d%n", &mm, &n) != 1) return -1;
            p += n;
        }
        off_s = sign * (hh * 3600 + mm * 60);
    }
    if (*p) return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    *out_ms = ((int64_t)t - off_s) * 1000 + frac_ms;
    return 0;
}

void hm_format_time(int64_t ms, char *buf, unsigned size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
