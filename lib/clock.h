/* The one clock every module reads, so tests can pin time instead of sleeping. */
#ifndef HM_CLOCK_H
#define HM_CLOCK_H

#include <stdint.h>

/* Current wall-clock time in milliseconds since the Unix epoch (UTC). When pinned, returns the
 * pinned value. */
int64_t hm_now_ms(void);
/* Monotonic milliseconds for measuring elapsed time and deadlines; never pinned. */
int64_t hm_mono_ms(void);
/* Pins the clock at ms (0 unpins). Used by main for HMCTL_NOW and by unit tests. */
void hm_clock_pin(int64_t ms);
/* Parses an ISO-8601 UTC time ("2026-11-21T10:00:00Z", fractional seconds and "+08:00" style
 * offsets accepted) or a number of epoch seconds into milliseconds. Returns 0 or -1. */
int hm_parse_time(const char *s, int64_t *out_ms);
/* Formats ms as "2026-11-21T10:00:00Z" (UTC, second precision). */
void hm_format_time(int64_t ms, char *buf, unsigned size);

#endif
