/* Time zones from the tz database through the C library: a zone is made the process's local
 * zone (TZ + tzset) for as long as it is open, and the previous TZ is restored on close.
 * Everything here reads that local zone, so one zone is open at a time, from one thread. */
#ifndef HM_TZ_H
#define HM_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/util.h"

/* An open zone. */
typedef struct hm_tz {
    char *name;     /* "Asia/Shanghai"; for the system zone its tz name when it can be found */
    char *saved;    /* TZ before tz_open, NULL when it was unset */
    bool changed;   /* tz_open set TZ */
} hm_tz;

/* Checks that `zone` names a zone of the tz database: a relative path of letters, digits and
 * "/_+-." (no "..") to a TZif file under $TZDIR or /usr/share/zoneinfo. "UTC" is accepted
 * even without the database. Returns 0, or -1 with e set ("unknown time zone 'Mars/Base': no
 * such zone in /usr/share/zoneinfo (names look like Asia/Shanghai, Europe/Berlin or UTC)"). */
int tz_check(const char *zone, hm_err *e);

/* Makes `zone` the local zone (after tz_check), or keeps the system zone when zone is NULL
 * ($TZ when set, else /etc/localtime) and finds its name: $TZ, /etc/timezone, the target of
 * the /etc/localtime link, else "UTC" when there is no /etc/localtime. Returns 0, or -1 with e
 * set as tz_check. Close with tz_close. */
int tz_open(const char *zone, hm_tz *tz, hm_err *e);
/* Restores TZ as it was before tz_open and frees the name. */
void tz_close(hm_tz *tz);

/* Local broken-down time of ms (Unix epoch milliseconds) in the open zone; *offset_s gets the
 * zone's offset from UTC in seconds east (may be NULL). */
void tz_local(int64_t ms, struct tm *out, long *offset_s);

/* The instant (epoch ms) of a local wall-clock time in the open zone. A time that exists
 * twice (the hour repeated when summer time ends) is the earlier instant; a time that does
 * not exist (skipped when summer time starts) is moved forward by the length of the gap, as
 * clocks do. Fields as people write them: month 1-12, day 1-31. */
int64_t tz_from_local(int year, int month, int day, int hour, int min, int sec);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian), and back. */
int64_t tz_days_from_civil(int year, int month, int day);
void tz_civil_from_days(int64_t days, int *year, int *month, int *day);

/* The local date of ms in the open zone, as days since 1970-01-01: the day bucket a time
 * falls into in that zone. */
int64_t tz_day_of(int64_t ms);
/* The first instant (epoch ms) of local day `day` in the open zone; midnight, or the first
 * time after it when the day starts with a summer-time gap. */
int64_t tz_day_start(int64_t day);

/* Formats an offset in seconds east of UTC as "+08:00", "-03:30", "+00:00" into buf (>= 7). */
void tz_format_offset(long offset_s, char *buf, size_t size);
/* Formats ms in the open zone as ISO 8601 with its offset, "2026-11-21T18:00:00+08:00"
 * (sep 'T'), or "2026-11-21 18:00:00 +08:00" (sep ' '): buf needs 32 bytes. */
void tz_format_time(int64_t ms, char sep, char *buf, size_t size);

#endif
