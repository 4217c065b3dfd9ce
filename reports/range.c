/* --from/--to values: dates, local date-times, absolute times and durations before now, all
 * read in the report's zone. */
#include "reports/report.h"

#include <ctype.h>
#include <string.h>

#include "lib/tz.h"

/* Reads exactly n digits at *p; returns -1 when they are not there. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

static bool valid_date(int y, int m, int d)
{
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return false;
    int y2, m2, d2;
    tz_civil_from_days(tz_days_from_civil(y, m, d), &y2, &m2, &d2);
    return y2 == y && m2 == m && d2 == d;
}

static int bad(hm_err *e, const char *s)
{
    return hm_err_set(e, "invalid time '%s': expected a date (2026-11-01), a local time "
                         "(2026-11-01T08:00 or '2026-11-01 08:00:00'), an absolute time "
                         "(2026-11-01T00:00:00Z, ...+08:00), now, today, yesterday, or a duration "
                         "before now (-30d, -12h, -1h30m)", s);
}

int report_parse_time(const char *s, bool end, int64_t now_ms, int64_t *out_ms, hm_err *e)
{
    if (!s || !*s) return bad(e, s ? s : "");
    if (strcmp(s, "now") == 0) {
        *out_ms = now_ms;
        return 0;
    }
    if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
        int64_t day = tz_day_of(now_ms) - (s[0] == 'y') + (end ? 1 : 0);
        *out_ms = tz_day_start(day);
        return 0;
    }
    if (s[0] == '-') {
        int64_t d;
        if (hm_parse_duration(s + 1, &d) < 0 || !isdigit((unsigned char)s[1])) return bad(e, s);
        *out_ms = now_ms - d;
        return 0;
    }
    const char *p = s;
    int y = digits(&p, 4), mo = -1, d = -1;
    if (y >= 0 && *p == '-') {
        p++;
        mo = digits(&p, 2);
        if (mo >= 0 && *p == '-') {
            p++;
            d = digits(&p, 2);
        }
    }
    if (y < 0 || mo < 0 || d < 0) return bad(e, s);
    if (!valid_date(y, mo, d)) return hm_err_set(e, "invalid date in '%s': no such day", s);
    if (!*p) {
        *out_ms = tz_day_start(tz_days_from_civil(y, mo, d) + (end ? 1 : 0));
        return 0;
    }
    if (*p != 'T' && *p != 't' && *p != ' ') return bad(e, s);
    p++;
    int h = digits(&p, 2), mi = -1, sec = 0;
    if (h >= 0 && *p == ':') {
        p++;
        mi = digits(&p, 2);
    }
    if (h < 0 || mi < 0) return bad(e, s);
    if (*p == ':') {
        p++;
        if ((sec = digits(&p, 2)) < 0) return bad(e, s);
    }
    if (h > 23 || mi > 59 || sec > 59)
        return hm_err_set(e, "invalid time of day in '%s'", s);
    if (!*p) {
        *out_ms = tz_from_local(y, mo, d, h, mi, sec);
        return 0;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int oh = digits(&p, 2), om = 0;
        if (oh < 0) return bad(e, s);
        if (*p == ':') p++;
        if (*p && (om = digits(&p, 2)) < 0) return bad(e, s);
        if (oh > 23 || om > 59) return bad(e, s);
        off = sign * (oh * 3600L + om * 60L);
    } else {
        return bad(e, s);
    }
    if (*p) return bad(e, s);
    int64_t wall = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    *out_ms = (wall - off) * 1000;
    return 0;
}
