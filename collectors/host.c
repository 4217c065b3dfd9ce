/* The console host's own resources: CPU, memory, root file system, load, network. CPU and
 * network rates need two readings; the previous one is kept in the collectors' key/value memory
 * (persisted by the store between cron runs), so a one-shot run measures the time since the
 * last run, like sar, and only waits for a short second reading when there is none recent. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "collectors/collector.h"
#include "collectors/host.h"
#include "lib/clock.h"

int host_parse_stat(const char *text, hm_cpu_times *out)
{
    const char *p = strstr(text, "cpu ");
    if (!p || (p != text && p[-1] != '\n')) return -1;
    unsigned long long v[8] = {0};
    int n = sscanf(p + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    if (n < 4) return -1;
    /* user nice system idle iowait irq softirq steal */
    out->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    out->total = out->busy + v[3] + v[4];
    return 0;
}

double host_cpu_percent(const hm_cpu_times *before, const hm_cpu_times *after)
{
    if (after->total <= before->total || after->busy < before->busy) return -1;
    double d = (double)(after->busy - before->busy) / (double)(after->total - before->total);
    return d * 100.0;
}

static int meminfo_value(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            unsigned long long kb;
            if (sscanf(p + klen + 1, "%llu", &kb) != 1) return -1;
            *out = (uint64_t)kb * 1024;
            return 0;
        }
    }
    return -1;
}

int host_parse_meminfo(const char *text, double *used_percent, uint64_t *total_bytes,
                       uint64_t *available_bytes)
{
    uint64_t total, avail;
    if (meminfo_value(text, "MemTotal", &total) < 0 || total == 0) return -1;
    if (meminfo_value(text, "MemAvailable", &avail) < 0) {
        uint64_t fr = 0, buf = 0, cached = 0;
        if (meminfo_value(text, "MemFree", &fr) < 0) return -1;
        meminfo_value(text, "Buffers", &buf);
        meminfo_value(text, "Cached", &cached);
        avail = fr + buf + cached;
    }
    if (avail > total) avail = total;
    *used_percent = 100.0 * (double)(total - avail) / (double)total;
    if (total_bytes) *total_bytes = total;
    if (available_bytes) *available_bytes = avail;
    return 0;
}

int host_parse_loadavg(const char *text, double load[3])
{
    return sscanf(text, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3 ? 0 : -1;
}

int host_parse_netdev(const char *text, uint64_t *rx_bytes, uint64_t *tx_bytes)
{
    uint64_t rx = 0, tx = 0;
    int found = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *colon = strchr(p, ':');
        const char *nl = strchr(p, '\n');
        if (!colon || (nl && colon > nl)) continue;
        const char *name = p;
        while (*name == ' ') name++;
        if (colon - name == 2 && strncmp(name, "lo", 2) == 0) continue;
        unsigned long long r, skip, t;
        /* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes ... */
        if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &r, &skip, &skip,
                   &skip, &skip, &skip, &skip, &skip, &t) != 9)
            continue;
        rx += r;
        tx += t;
        found = 1;
    }
    if (!found) return -1;
    *rx_bytes = rx;
    *tx_bytes = tx;
    return 0;
}

struct reading {
    int64_t ms;
    hm_cpu_times cpu;
    uint64_t rx, tx;
    bool has_cpu, has_net;
};

static void read_now(struct reading *r)
{
    memset(r, 0, sizeof *r);
    r->ms = hm_mono_ms();
    char *stat = hm_read_file("/proc/stat", NULL, NULL);
    if (stat && host_parse_stat(stat, &r->cpu) == 0) r->has_cpu = true;
    free(stat);
    char *net = hm_read_file("/proc/net/dev", NULL, NULL);
    if (net && host_parse_netdev(net, &r->rx, &r->tx) == 0) r->has_net = true;
    free(net);
}

/* A reading as kept in the key/value memory: "WALLMS BUSY TOTAL RX TX". Wall-clock time,
 * since a monotonic clock does not survive a reboot between cron runs. Two are kept, "host.prev"
 * and the one before it, "host.prev2", at least a second apart, so runs in quick succession
 * (a benchmark loop, status right after check) still find a baseline old enough to measure. */
static bool parse_reading(const char *v, struct reading *r, int64_t now_wall, int64_t *age_ms)
{
    long long ms;
    unsigned long long busy, total, rx, tx;
    if (!v || sscanf(v, "%lld %llu %llu %llu %llu", &ms, &busy, &total, &rx, &tx) != 5) return false;
    *age_ms = now_wall - ms;
    r->cpu.busy = busy;
    r->cpu.total = total;
    r->rx = rx;
    r->tx = tx;
    r->has_cpu = r->has_net = true;
    return true;
}

static bool usable(int64_t age_ms)
{
    /* Shorter windows are noise; older ones say little about now. */
    return age_ms >= 200 && age_ms <= 3600 * 1000;
}

void collect_host(const hm_collect_ctx *cc, hm_result *out)
{
    const hm_config *cfg = cc->cfg;
    int64_t ts = cc->now_ms;
    struct reading prev = {0}, prev2 = {0}, cur;
    int64_t age_ms = 0, age2_ms = 0;
    char *v1 = hm_kv_get(cc->kv, "host.prev"), *v2 = hm_kv_get(cc->kv, "host.prev2");
    bool have1 = parse_reading(v1, &prev, ts, &age_ms);
    bool have2 = parse_reading(v2, &prev2, ts, &age2_ms);
    bool have_prev = have1 && usable(age_ms);
    if (!have_prev && have2 && usable(age2_ms)) {
        prev = prev2;
        age_ms = age2_ms;
        have_prev = true;
    }
    if (!have_prev) {
        read_now(&prev);
        struct timespec pause = {0, 250 * 1000000L};
        nanosleep(&pause, NULL);
        read_now(&cur);
        age_ms = cur.ms - prev.ms;
    } else {
        read_now(&cur);
    }
    /* Rotate when the newest kept reading is at least a second old (or from the future: the
     * clock was set back). */
    int64_t age1 = 0;
    struct reading tmp;
    bool newest = parse_reading(v1, &tmp, ts, &age1);
    if (cur.has_cpu && (!newest || age1 >= 1000 || age1 < 0)) {
        char buf[160];
        snprintf(buf, sizeof buf, "%lld %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, (long long)ts,
                 cur.cpu.busy, cur.cpu.total, cur.rx, cur.tx);
        if (v1) hm_kv_put(cc->kv, "host.prev2", v1);
        hm_kv_put(cc->kv, "host.prev", buf);
    }
    free(v1);
    free(v2);

    enum hm_state state = HM_OK;
    strbuf detail = {0}, why = {0};
    double cw = cfg_get_number(cfg, "thresholds", NULL, "cpu_warning", 80);
    double cc_ = cfg_get_number(cfg, "thresholds", NULL, "cpu_critical", 90);
    double mw = cfg_get_number(cfg, "thresholds", NULL, "memory_warning", 80);
    double mc = cfg_get_number(cfg, "thresholds", NULL, "memory_critical", 90);
    double dw = cfg_get_number(cfg, "thresholds", NULL, "disk_warning", 80);
    double dc = cfg_get_number(cfg, "thresholds", NULL, "disk_critical", 90);

#define LIMIT(value, warn, crit, label)                                                          \
    do {                                                                                         \
        if ((value) >= (crit)) {                                                                 \
            state = hm_state_worse(state, HM_CRITICAL);                                          \
            sb_addf(&why, "%s%s %.0f%% >= %.0f%%", why.len ? ", " : "", label, value, crit);     \
        } else if ((value) >= (warn)) {                                                          \
            state = hm_state_worse(state, HM_WARNING);                                           \
            sb_addf(&why, "%s%s %.0f%% >= %.0f%%", why.len ? ", " : "", label, value, warn);     \
        }                                                                                        \
    } while (0)

    double cpu = -1;
    if (prev.has_cpu && cur.has_cpu) cpu = host_cpu_percent(&prev.cpu, &cur.cpu);
    if (cpu >= 0) {
        hm_result_add_sample(out, "host.cpu.percent", cpu, "percent", ts);
        sb_addf(&detail, "cpu %.0f%%", cpu);
        LIMIT(cpu, cw, cc_, "cpu");
    } else if (!cur.has_cpu) {
        state = hm_state_worse(state, HM_UNKNOWN);
        sb_adds(&why, "cannot read /proc/stat");
    }

    char *mem = hm_read_file("/proc/meminfo", NULL, NULL);
    double mem_pct;
    uint64_t mem_total, mem_avail;
    if (mem && host_parse_meminfo(mem, &mem_pct, &mem_total, &mem_avail) == 0) {
        hm_result_add_sample(out, "host.memory.percent", mem_pct, "percent", ts);
        hm_result_add_sample(out, "host.memory.total", (double)mem_total, "bytes", ts);
        hm_result_add_sample(out, "host.memory.available", (double)mem_avail, "bytes", ts);
        sb_addf(&detail, "%smem %.0f%%", detail.len ? ", " : "", mem_pct);
        LIMIT(mem_pct, mw, mc, "memory");
    } else {
        state = hm_state_worse(state, HM_UNKNOWN);
        sb_addf(&why, "%scannot read /proc/meminfo", why.len ? ", " : "");
    }
    free(mem);

    struct statvfs vfs;
    if (statvfs("/", &vfs) == 0 && vfs.f_blocks > 0) {
        /* As df: used / (used + available to unprivileged users). */
        double used = (double)(vfs.f_blocks - vfs.f_bfree);
        double avail = (double)vfs.f_bavail;
        double pct = used + avail > 0 ? 100.0 * used / (used + avail) : 0;
        hm_result_add_sample(out, "host.disk.root.percent", pct, "percent", ts);
        hm_result_add_sample(out, "host.disk.root.free", avail * (double)vfs.f_frsize, "bytes", ts);
        sb_addf(&detail, "%sroot %.0f%%", detail.len ? ", " : "", pct);
        LIMIT(pct, dw, dc, "root disk");
    }

    char *la = hm_read_file("/proc/loadavg", NULL, NULL);
    double load[3];
    if (la && host_parse_loadavg(la, load) == 0) {
        hm_result_add_sample(out, "host.load1", load[0], "", ts);
        hm_result_add_sample(out, "host.load5", load[1], "", ts);
        hm_result_add_sample(out, "host.load15", load[2], "", ts);
        sb_addf(&detail, "%sload %.2f", detail.len ? ", " : "", load[0]);
    }
    free(la);

    if (prev.has_net && cur.has_net && age_ms > 0 && cur.rx >= prev.rx && cur.tx >= prev.tx) {
        double secs = (double)age_ms / 1000.0;
        hm_result_add_sample(out, "host.net.rx.bytes_per_second", (double)(cur.rx - prev.rx) / secs,
                             "bytes/s", ts);
        hm_result_add_sample(out, "host.net.tx.bytes_per_second", (double)(cur.tx - prev.tx) / secs,
                             "bytes/s", ts);
    }
#undef LIMIT
    if (why.len) sb_addf(&detail, " (%s)", why.buf);
    hm_result_add_component(out, "host", "host", state, hm_state_name(state), "%s", sb_str(&detail));
    sb_free(&detail);
    sb_free(&why);
}
