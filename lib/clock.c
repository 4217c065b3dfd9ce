#include "lib/clock.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/tz.h"

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

/* Reads 1 to max decimal digits at *p into *out, moving *p past them; false when there is
 * none. */
static bool digits(const char **p, int max, int *out)
{
    int v = 0, n = 0;
    for (; n < max && isdigit((unsigned char)**p); n++, (*p)++) v = v * 10 + (**p - '0');
    *out = v;
    return n > 0;
}

int hm_parse_time(const char *s, int64_t *out_ms)
{
    if (!s || !*s) return -1;
    const char *p = s;
    bool all_digits = true;
    for (const char *q = s; *q && all_digits; q++)
        if (!isdigit((unsigned char)*q) && *q != '.') all_digits = false;
    if (all_digits) {
        *out_ms = (int64_t)(strtod(s, NULL) * 1000);
        return 0;
    }
    int year, mon, day, hour = 0, min = 0, sec = 0;
    if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &mon) || *p++ != '-' ||
        !digits(&p, 2, &day))
        return -1;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &hour) || *p++ != ':' || !digits(&p, 2, &min)) return -1;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &sec)) return -1;
        }
    }
    int64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; isdigit((unsigned char)*p); n++, p++)
            if (n < 3) frac_ms = frac_ms * 10 + (*p - '0');
        for (; n < 3; n++) frac_ms *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm = 0;
        p++;
        if (!digits(&p, 2, &hh)) return -1;
        if (*p == ':') p++;
        if (isdigit((unsigned char)*p)) digits(&p, 2, &mm);
        off_s = sign * (hh * 3600 + mm * 60);
    }
    if (*p) return -1;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return -1;
    int64_t t = tz_days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    *out_ms = (t - off_s) * 1000 + frac_ms;
    return 0;
}

void hm_format_time(int64_t ms, char *buf, unsigned size)
{
    /* written digit by digit: gmtime_r + strftime (with the C library's zone lock) cost more
     * than the rest of a job in hmsim's pages of 5,000 jobs with three times each */
    int64_t t = ms / 1000, days = t / 86400, sod = t % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int year, month, day;
    tz_civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999 || size < 21) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return;
    }
    const int field[] = {year / 100, year % 100, month, day, (int)(sod / 3600),
                         (int)(sod / 60 % 60), (int)(sod % 60)};
    static const unsigned char at[] = {0, 2, 5, 8, 11, 14, 17};
    memcpy(buf, "0000-00-00T00:00:00Z", 21);
    for (size_t i = 0; i < sizeof at; i++) {
        buf[at[i]] = (char)('0' + field[i] / 10);
        buf[at[i] + 1] = (char)('0' + field[i] % 10);
    }
}
