/* Parsers for the local host's /proc files, shared with the remote-host collector (the same
 * files read over SSH). Formats: proc(5). */
#ifndef HM_HOST_H
#define HM_HOST_H

#include <stdbool.h>
#include <stdint.h>

/* Aggregate CPU jiffies from the "cpu " line of /proc/stat. */
typedef struct hm_cpu_times {
    uint64_t busy;  /* user + nice + system + irq + softirq + steal */
    uint64_t total; /* busy + idle + iowait */
} hm_cpu_times;

/* Parses the first "cpu " line of /proc/stat text. Returns 0, or -1 when it is missing or
 * malformed. */
int host_parse_stat(const char *text, hm_cpu_times *out);
/* CPU busy percent (0-100) between two readings; -1 when the counters did not advance. */
double host_cpu_percent(const hm_cpu_times *before, const hm_cpu_times *after);

/* Memory used percent (0-100) from /proc/meminfo: 100 * (MemTotal - MemAvailable) / MemTotal.
 * Kernels before 3.14 have no MemAvailable: MemFree + Buffers + Cached is used instead.
 * Returns 0 and fills total/available bytes, or -1 when MemTotal is missing. */
int host_parse_meminfo(const char *text, double *used_percent, uint64_t *total_bytes,
                       uint64_t *available_bytes);

/* The 1, 5 and 15 minute load averages from /proc/loadavg. Returns 0 or -1. */
int host_parse_loadavg(const char *text, double load[3]);

/* Received and transmitted bytes summed over every interface but lo, from /proc/net/dev.
 * Returns 0 or -1 when the text has no interface line. */
int host_parse_netdev(const char *text, uint64_t *rx_bytes, uint64_t *tx_bytes);

#endif
