/* The simulated estate: hosts, gateways and a job history built from a seed, and the live
 * state machine that moves syncs, boots and cleanups forward as time passes. */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

/* Without --jobs the history has a sync every DEFAULT_SYNC_HOURS per host, up to this many
 * jobs so a large fleet still starts in about a second. */
#define DEFAULT_SYNC_HOURS 4
#define DEFAULT_JOBS_CAP 1000000

uint64_t sim_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sim_rand_below(uint64_t *state, uint64_t n)
{
    return sim_rand(state) % n;
}

uint64_t sim_mix(uint64_t a, uint64_t b)
{
    uint64_t s = a ^ (b * 0xd6e8feb86659fd93ULL);
    sim_rand(&s);
    return sim_rand(&s);
}

/* A value in [lo, hi]. */
static int64_t rand_range(uint64_t *st, int64_t lo, int64_t hi)
{
    if (hi <= lo) return lo;
    return lo + (int64_t)sim_rand_below(st, (uint64_t)(hi - lo + 1));
}

static bool chance(uint64_t *st, unsigned per_mille)
{
    return sim_rand_below(st, 1000) < per_mille;
}

void sim_uuid(uint64_t seed, uint32_t kind, uint64_t index, char out[37])
{
    uint64_t a = sim_mix(sim_mix(seed, kind), index);
    uint64_t b = sim_mix(a, 0x5eed);
    /* version 4, variant 10 bits so strict parsers accept the ids */
    a = (a & ~0xf000ULL) | 0x4000ULL;
    b = (b & ~(3ULL << 62)) | (2ULL << 62);
    /* the 32 hex digits of a then b, in groups of 8-4-4-4-12; a page of jobs formats thousands
     * of ids, and snprintf costs several times this */
    static const char hex[] = "0123456789abcdef";
    const uint64_t v[2] = {a, b};
    size_t o = 0;
    for (int d = 0; d < 32; d++) {
        if (o == 8 || o == 13 || o == 18 || o == 23) out[o++] = '-';
        out[o++] = hex[(v[d / 16] >> (60 - 4 * (d % 16))) & 15];
    }
    out[o] = '\0';
}

static const char *const host_type_names[] = {"vmware", "openstack",     "aws",
                                              "fusioncompute", "oracle", "agent"};
static const char *const host_state_names[] = {
    "host_register_done", "sync_doing",   "sync_failed",          "sync_snapshot_done",
    "clean_doing",        "clean_done",   "clean_failed",         "host_unregister_doing",
    "host_unregister_done", "host_unregister_failed"};
static const char *const boot_state_names[] = {"not_boot", "boot_doing", "boot_failed",
                                               "boot_done"};
static const char *const job_type_names[] = {"Register", "Sync",  "Drill", "BootTest",
                                             "Takeover", "BootFormal", "Clean", "Unregister"};
static const char *const job_status_names[] = {"doing", "done", "failed"};
static const char *const cloud_names[] = {"openstack", "aws", "huawei", "aliyun", "fusioncompute"};

const char *sim_host_type_name(unsigned t)
{
    return t < HM_ARRAY_LEN(host_type_names) ? host_type_names[t] : "unknown";
}

const char *sim_host_state_name(unsigned s)
{
    return s < HM_ARRAY_LEN(host_state_names) ? host_state_names[s] : "unknown";
}

const char *sim_boot_state_name(unsigned s)
{
    return s < HM_ARRAY_LEN(boot_state_names) ? boot_state_names[s] : "unknown";
}

const char *sim_job_type_name(unsigned t)
{
    return t < HM_ARRAY_LEN(job_type_names) ? job_type_names[t] : "unknown";
}

int sim_job_type_parse(const char *s)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(job_type_names); i++)
        if (strcmp(s, job_type_names[i]) == 0) return (int)i;
    return -1;
}

const char *sim_job_status_name(unsigned s)
{
    return s < HM_ARRAY_LEN(job_status_names) ? job_status_names[s] : "unknown";
}

const char *sim_cloud_name(unsigned c)
{
    return c < HM_ARRAY_LEN(cloud_names) ? cloud_names[c] : "unknown";
}

size_t fleet_index(const struct sim_fleet *f, const struct sim_host *h)
{
    return (size_t)(h - f->hosts);
}

void fleet_snap_id(const struct sim_fleet *f, const struct sim_host *h, uint32_t seq,
                   char out[37])
{
    sim_uuid(f->opt.seed, UUID_SNAP, sim_mix(fleet_index(f, h), seq), out);
}

void fleet_instance_id(const struct sim_fleet *f, const struct sim_host *h, char *out, size_t n)
{
    uint64_t v = sim_mix(sim_mix(f->opt.seed, fleet_index(f, h)), h->instance_seq);
    snprintf(out, n, "i-%017llx", (unsigned long long)(v & 0xfffffffffffffffULL));
}

int fleet_disks(const struct sim_fleet *f, const struct sim_host *h, uint32_t gib[4])
{
    uint64_t st = sim_mix(f->opt.seed ^ 0xd15c, fleet_index(f, h));
    int n = 1 + (int)sim_rand_below(&st, 4);
    static const uint32_t sizes[] = {40, 50, 80, 100, 200, 500, 1024, 2048};
    gib[0] = h->windows ? 80 : sizes[sim_rand_below(&st, 4)];
    for (int i = 1; i < n; i++) gib[i] = sizes[sim_rand_below(&st, HM_ARRAY_LEN(sizes))];
    return n;
}

static uint32_t job_append(struct sim_fleet *f, uint32_t host, int64_t start_ms, int64_t dur_ms,
                           unsigned type, unsigned status, uint64_t *st)
{
    if (f->njobs == f->capjobs) {
        f->capjobs = f->capjobs ? f->capjobs * 2 : 4096;
        f->jobs = xrealloc(f->jobs, f->capjobs * sizeof *f->jobs);
    }
    struct sim_job *j = &f->jobs[f->njobs];
    j->host = host;
    j->start_s = (uint32_t)(start_ms / 1000);
    j->dur_s = (uint32_t)(dur_ms / 1000);
    j->type = (uint8_t)type;
    j->status = (uint8_t)status;
    j->detail = st ? (uint16_t)sim_rand_below(st, 1000) : 0;
    return (uint32_t)f->njobs++;
}

static void snap_push(struct sim_host *h, int64_t at_ms, uint32_t size_mb)
{
    if (h->nsnaps < SIM_SNAPS) h->nsnaps++;
    memmove(&h->snaps[1], &h->snaps[0], (h->nsnaps - 1) * sizeof h->snaps[0]);
    h->snaps[0].at_ms = at_ms;
    h->snaps[0].seq = ++h->snap_seq;
    h->snaps[0].size_mb = size_mb;
}

/* Host names as console users pick them: role-number, and now and then a department in
 * Chinese in front, which is what breaks naive column alignment and shell quoting. */
static const char *const roles[] = {"web", "db",   "app", "cache", "mq",     "file",
                                    "erp", "crm",  "ad",  "mail",  "k8s-node", "backup"};
static const char *const departments[] = {"财务", "人事", "销售", "生产", "仓储"};
static const char *const dept_roles[] = {"db", "app", "web"};

/* Per-host facts of the history pass that the sync pass and the final state need. */
struct gen_host {
    int64_t begin_ms, end_ms; /* when the host replicates within the window */
    int64_t last_clean_ms;
    bool last_clean_failed;
    bool unregistered, taken_over;
    int64_t last_boot_ms; /* the last drill or takeover left unclean, 0 if none */
    bool last_boot_failed;
};

static void gen_hosts(struct sim_fleet *f, struct gen_host *g, int64_t now)
{
    const struct sim_opts *o = &f->opt;
    int64_t window = now - (int64_t)o->history_days * DAY_MS;
    unsigned counters[HM_ARRAY_LEN(roles) + HM_ARRAY_LEN(departments) * HM_ARRAY_LEN(dept_roles)];
    memset(counters, 0, sizeof counters);

    for (size_t i = 0; i < f->nhosts; i++) {
        struct sim_host *h = &f->hosts[i];
        uint64_t st = sim_mix(o->seed, i + 1);
        sim_uuid(o->seed, UUID_HOST, i, h->id);
        if (chance(&st, 30)) {
            size_t d = sim_rand_below(&st, HM_ARRAY_LEN(departments));
            size_t r = sim_rand_below(&st, HM_ARRAY_LEN(dept_roles));
            unsigned n = ++counters[HM_ARRAY_LEN(roles) + d * HM_ARRAY_LEN(dept_roles) + r];
            h->name = xasprintf("%s-%s-%02u", departments[d], dept_roles[r], n);
        } else {
            size_t r = sim_rand_below(&st, HM_ARRAY_LEN(roles));
            h->name = xasprintf("%s-%02u", roles[r], ++counters[r]);
        }
        unsigned t = (unsigned)sim_rand_below(&st, 100);
        h->type = t < 35 ? HT_VMWARE : t < 50 ? HT_OPENSTACK : t < 60 ? HT_AWS
                : t < 70 ? HT_FUSIONCOMPUTE : t < 75 ? HT_ORACLE : HT_AGENT;
        h->windows = h->type != HT_ORACLE && chance(&st, 300);
        h->gateway = (uint16_t)sim_rand_below(&st, f->ngws);
        h->ip = (10u << 24) | ((uint32_t)sim_rand_below(&st, 1u << 16) << 8) |
                (uint32_t)rand_range(&st, 2, 254);
        h->ip_kind = h->type == HT_AGENT && chance(&st, 80) ? (uint8_t)(1 + sim_rand_below(&st, 2))
                                                            : 0;
        h->mac[0] = 0x52;
        h->mac[1] = 0x54;
        for (int k = 2; k < 6; k++) h->mac[k] = (uint8_t)sim_rand(&st);
        h->active = true;
        h->license_valid = !chance(&st, 30);
        h->boot_state = BS_NOT_BOOT;
        h->host_state = h->sync_state = HS_REGISTER_DONE;

        /* most hosts were protected before the window opened; some joined during it */
        if (chance(&st, 850))
            h->created_ms = window - rand_range(&st, DAY_MS, 300 * DAY_MS);
        else
            h->created_ms = now - rand_range(&st, HOUR_MS, o->history_days * DAY_MS);
        g[i].begin_ms = h->created_ms > window ? h->created_ms + 10 * MIN_MS : window;
        g[i].end_ms = now - 5 * MIN_MS;
        if (g[i].begin_ms + DAY_MS < g[i].end_ms && chance(&st, 30)) {
            g[i].unregistered = true;
            g[i].end_ms = rand_range(&st, g[i].begin_ms + DAY_MS, g[i].end_ms);
        } else if (chance(&st, 30)) {
            h->active = false;
            g[i].end_ms -= rand_range(&st, 10 * MIN_MS, 3 * DAY_MS);
        }
        if (g[i].end_ms < g[i].begin_ms) g[i].end_ms = g[i].begin_ms;
    }
}

/* Makes sure the states tests and demos look for exist even in a small fleet. */
static void gen_specials(struct sim_fleet *f, struct gen_host *g, int64_t now)
{
    if (f->nhosts < 10) return;
    uint64_t st = sim_mix(f->opt.seed, 0x5bec1a1);
    size_t disc = 0, expired = 0, unreg = 0;
    for (size_t i = 0; i < f->nhosts; i++) {
        disc += !f->hosts[i].active;
        expired += !f->hosts[i].license_valid;
        unreg += g[i].unregistered;
    }
    /* pick registered, healthy hosts for each special so they do not overlap */
    size_t picks[4];
    for (int k = 0; k < 4; k++) {
        size_t i;
        int tries = 0;
        do {
            i = sim_rand_below(&st, f->nhosts);
            bool taken = false;
            for (int m = 0; m < k; m++) taken |= picks[m] == i;
            if (!taken && !g[i].unregistered && f->hosts[i].active && f->hosts[i].license_valid &&
                g[i].begin_ms + 30 * DAY_MS < now)
                break;
        } while (++tries < 1000);
        picks[k] = i;
    }
    /* the one host whose newest snapshot is old: its sync stopped a fortnight ago */
    f->hosts[picks[0]].paused = true;
    g[picks[0]].end_ms = now - rand_range(&st, 10 * DAY_MS, 20 * DAY_MS);
    if (!disc) {
        f->hosts[picks[1]].active = false;
        g[picks[1]].end_ms = now - rand_range(&st, 30 * MIN_MS, 6 * HOUR_MS);
    }
    if (!expired) f->hosts[picks[2]].license_valid = false;
    if (!unreg) {
        g[picks[3]].unregistered = true;
        g[picks[3]].end_ms = now - rand_range(&st, 2 * DAY_MS, 20 * DAY_MS);
    }
}

/* Register, drill, clean, takeover and unregister jobs of one host. */
static void gen_events(struct sim_fleet *f, struct gen_host *g, size_t i, int64_t now)
{
    struct sim_host *h = &f->hosts[i];
    uint64_t st = sim_mix(f->opt.seed ^ 0xe7e7, i);
    int64_t window = now - (int64_t)f->opt.history_days * DAY_MS;
    uint32_t hi = (uint32_t)i;

    if (h->created_ms > window) {
        if (chance(&st, 40)) {
            job_append(f, hi, h->created_ms - 2 * HOUR_MS, rand_range(&st, MIN_MS, 5 * MIN_MS),
                       JT_REGISTER, JS_FAILED, &st);
        }
        job_append(f, hi, h->created_ms, rand_range(&st, 2 * MIN_MS, 10 * MIN_MS), JT_REGISTER,
                   JS_DONE, &st);
    }
    int64_t end = g[i].end_ms;
    if (!g[i].unregistered && !h->paused && chance(&st, 10)) {
        /* a rare takeover: the source stopped replicating when the target took over */
        int64_t at = rand_range(&st, g[i].begin_ms, end);
        g[i].taken_over = true;
        end = at;
        h->paused = true;
    }
    int64_t cadence = chance(&st, 700) ? 30 * DAY_MS : 91 * DAY_MS;
    for (int64_t t = g[i].begin_ms + rand_range(&st, DAY_MS, cadence); t < end;
         t += cadence + rand_range(&st, -3 * DAY_MS, 3 * DAY_MS)) {
        bool test = !chance(&st, 150);
        bool failed = chance(&st, 60);
        int64_t dur = rand_range(&st, 5 * MIN_MS, 20 * MIN_MS);
        job_append(f, hi, t, dur, test ? JT_DRILL : JT_BOOTTEST, failed ? JS_FAILED : JS_DONE,
                   &st);
        int64_t clean_at = t + dur + rand_range(&st, HOUR_MS, 6 * HOUR_MS);
        if (clean_at + 10 * MIN_MS < now && !(t > now - 3 * DAY_MS && chance(&st, 500))) {
            bool cfail = chance(&st, 30);
            job_append(f, hi, clean_at, rand_range(&st, 2 * MIN_MS, 8 * MIN_MS), JT_CLEAN,
                       cfail ? JS_FAILED : JS_DONE, &st);
            g[i].last_clean_ms = clean_at;
            g[i].last_clean_failed = cfail;
            g[i].last_boot_ms = 0;
        } else {
            g[i].last_boot_ms = t;
            g[i].last_boot_failed = failed;
        }
    }
    if (g[i].taken_over) {
        bool formal = !chance(&st, 150);
        job_append(f, hi, end, rand_range(&st, 8 * MIN_MS, 25 * MIN_MS),
                   formal ? JT_TAKEOVER : JT_BOOTFORMAL, JS_DONE, &st);
        g[i].last_boot_ms = end;
        g[i].last_boot_failed = false;
    }
    if (g[i].unregistered) {
        job_append(f, hi, g[i].end_ms + MIN_MS, rand_range(&st, MIN_MS, 4 * MIN_MS),
                   JT_UNREGISTER, JS_DONE, &st);
    }
    g[i].end_ms = end;
}

/* The periodic syncs of one host: n of them spread over its replication window. */
static void gen_syncs(struct sim_fleet *f, struct gen_host *g, size_t i, uint64_t n)
{
    struct sim_host *h = &f->hosts[i];
    uint64_t st = sim_mix(f->opt.seed ^ 0x5c5c, i);
    int64_t len = g[i].end_ms - g[i].begin_ms;
    int64_t interval = n ? len / (int64_t)n : DEFAULT_SYNC_HOURS * HOUR_MS;
    h->interval_min = (uint32_t)(interval / MIN_MS);
    if (h->interval_min < 15) h->interval_min = 15;
    if (h->interval_min > 7 * 24 * 60) h->interval_min = 7 * 24 * 60;
    int64_t last_end = 0;
    bool last_failed = false;
    for (uint64_t k = 0; k < n; k++) {
        int64_t slot = g[i].begin_ms + (int64_t)k * interval;
        int64_t dur = rand_range(&st, 2 * MIN_MS, 40 * MIN_MS);
        if (dur > interval / 2) dur = interval / 2 > 1000 ? interval / 2 : 1000;
        int64_t start = slot + rand_range(&st, 0, interval - dur);
        bool failed = chance(&st, 50);
        job_append(f, (uint32_t)i, start, dur, JT_SYNC, failed ? JS_FAILED : JS_DONE, &st);
        if (!failed) snap_push(h, start + dur, (uint32_t)rand_range(&st, 50, 20480));
        last_end = start + dur;
        last_failed = failed;
    }
    if (last_end) h->sync_state = last_failed ? HS_SYNC_FAILED : HS_SYNC_DONE;
    h->host_state = h->sync_state;
    if (g[i].last_clean_ms > last_end)
        h->host_state = g[i].last_clean_failed ? HS_CLEAN_FAILED : HS_CLEAN_DONE;
    if (g[i].unregistered) h->host_state = HS_UNREG_DONE;
    if (g[i].last_boot_ms) {
        h->boot_state = g[i].last_boot_failed ? BS_FAILED : BS_DONE;
        if (!g[i].last_boot_failed) h->instance_seq = ++f->instance_counter;
    }
}

static int job_cmp(const void *a, const void *b)
{
    const struct sim_job *x = a, *y = b;
    if (x->start_s != y->start_s) return x->start_s < y->start_s ? -1 : 1;
    if (x->host != y->host) return x->host < y->host ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

static int64_t scaled(const struct sim_fleet *f, int64_t ms)
{
    int64_t v = (int64_t)((double)ms / f->opt.speed);
    return v > 0 ? v : 1;
}

static bool registered(const struct sim_host *h)
{
    return h->host_state < HS_UNREG_DOING || h->host_state == HS_UNREG_FAILED;
}

static void sync_start(struct sim_fleet *f, struct sim_host *h, int64_t start, int64_t dur,
                       bool can_fail)
{
    h->syncing = true;
    h->sync_will_fail = h->fail_next_sync ||
                        (can_fail && (int)sim_rand_below(&f->rng, 100) < f->opt.live_fail_percent);
    h->fail_next_sync = false;
    h->sync_start_ms = start;
    h->sync_end_ms = start + dur;
    h->sync_bytes = (uint64_t)rand_range(&f->rng, 64, 20480) << 20;
    h->sync_job = job_append(f, (uint32_t)fleet_index(f, h), start, 0, JT_SYNC, JS_DOING,
                             &f->rng);
    h->host_state = h->sync_state = HS_SYNC_DOING;
}

void fleet_init(struct sim_fleet *f, const struct sim_opts *opt, int64_t now)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->opt = *opt;
    f->rng = sim_mix(opt->seed, 0x11fe);
    f->nhosts = opt->hosts;
    f->ngws = opt->gateways ? opt->gateways : 1;
    f->hosts = xcalloc(f->nhosts ? f->nhosts : 1, sizeof *f->hosts);
    f->gws = xcalloc(f->ngws, sizeof *f->gws);

    static const char *const regions[] = {"beijing", "shanghai", "guangzhou", "hongkong",
                                          "chengdu", "frankfurt"};
    for (size_t k = 0; k < f->ngws; k++) {
        struct sim_gateway *gw = &f->gws[k];
        uint64_t st = sim_mix(opt->seed ^ 0x6a7e, k);
        sim_uuid(opt->seed, UUID_GATEWAY, k, gw->uuid);
        gw->cloud = (uint8_t)sim_rand_below(&st, HM_ARRAY_LEN(cloud_names));
        snprintf(gw->region, sizeof gw->region, "%s",
                 regions[sim_rand_below(&st, HM_ARRAY_LEN(regions))]);
        snprintf(gw->name, sizeof gw->name, "HyperGate-%s-%02zu", gw->region, k + 1);
        gw->online = true;
        gw->pool_bytes = (uint64_t)rand_range(&st, 20, 200) << 40;
    }

    struct gen_host *g = xcalloc(f->nhosts ? f->nhosts : 1, sizeof *g);
    gen_hosts(f, g, now);
    gen_specials(f, g, now);
    for (size_t i = 0; i < f->nhosts; i++) gen_events(f, g, i, now);

    uint64_t target = opt->jobs;
    if (!target) {
        target = (uint64_t)f->nhosts * (uint64_t)opt->history_days * 24 / DEFAULT_SYNC_HOURS;
        if (target > DEFAULT_JOBS_CAP) target = DEFAULT_JOBS_CAP;
    }
    uint64_t budget = target > f->njobs ? target - f->njobs : 0;
    double total_len = 0;
    for (size_t i = 0; i < f->nhosts; i++) total_len += (double)(g[i].end_ms - g[i].begin_ms);
    /* hand out the budget by replication time, carrying the rounding so the sum is exact */
    double acc = 0;
    uint64_t given = 0;
    for (size_t i = 0; i < f->nhosts; i++) {
        acc += total_len > 0 ? (double)budget * (double)(g[i].end_ms - g[i].begin_ms) / total_len
                             : 0;
        uint64_t upto = (uint64_t)(acc + 0.5);
        if (upto > budget) upto = budget;
        gen_syncs(f, g, i, upto - given);
        given = upto;
    }
    free(g);

    /* a few hosts are mid-sync when the simulator starts, so progress is visible at once */
    size_t started = 0;
    for (size_t i = 0; i < f->nhosts; i++) {
        struct sim_host *h = &f->hosts[i];
        int64_t interval = scaled(f, (int64_t)h->interval_min * MIN_MS);
        if (registered(h) && h->active && !h->paused && h->nsnaps &&
            (chance(&f->rng, 40) || (!started && i + 1 >= f->nhosts / 2))) {
            started++;
            int64_t dur = scaled(f, opt->sync_delay_ms) * rand_range(&f->rng, 50, 200) / 100;
            sync_start(f, h, now - rand_range(&f->rng, 0, dur * 9 / 10), dur, false);
        }
        h->next_sync_ms = now + rand_range(&f->rng, 0, interval);
    }
    qsort(f->jobs, f->njobs, sizeof *f->jobs, job_cmp);
    for (size_t k = 0; k < f->njobs; k++)
        if (f->jobs[k].status == JS_DOING) f->hosts[f->jobs[k].host].sync_job = (uint32_t)k;
}

void fleet_free(struct sim_fleet *f)
{
    for (size_t i = 0; i < f->nhosts; i++) free(f->hosts[i].name);
    free(f->hosts);
    free(f->gws);
    free(f->jobs);
    pthread_mutex_destroy(&f->lock);
}

static void job_finish(struct sim_fleet *f, uint32_t k, int64_t end_ms, bool failed)
{
    struct sim_job *j = &f->jobs[k];
    int64_t d = end_ms / 1000 - (int64_t)j->start_s;
    j->dur_s = d > 0 ? (uint32_t)d : 0;
    j->status = failed ? JS_FAILED : JS_DONE;
}

void fleet_advance(struct sim_fleet *f, int64_t now)
{
    for (size_t i = 0; i < f->nhosts; i++) {
        struct sim_host *h = &f->hosts[i];
        if (h->syncing && now >= h->sync_end_ms) {
            /* an agent that lost contact cannot finish a transfer */
            bool failed = h->sync_will_fail || !h->active;
            h->syncing = false;
            job_finish(f, h->sync_job, h->sync_end_ms, failed);
            if (!failed) snap_push(h, h->sync_end_ms, (uint32_t)(h->sync_bytes >> 20));
            h->sync_state = failed ? HS_SYNC_FAILED : HS_SYNC_DONE;
            if (registered(h)) h->host_state = h->sync_state;
            h->next_sync_ms = h->sync_end_ms + scaled(f, (int64_t)h->interval_min * MIN_MS);
        }
        if (h->op != OP_NONE && now >= h->op_end_ms) {
            bool failed = h->op_will_fail;
            job_finish(f, h->op_job, h->op_end_ms, failed);
            if (h->op == OP_BOOT) {
                h->boot_state = failed ? BS_FAILED : BS_DONE;
                if (!failed) h->instance_seq = ++f->instance_counter;
            } else {
                h->host_state = failed ? HS_CLEAN_FAILED : HS_CLEAN_DONE;
                if (!failed) {
                    h->boot_state = BS_NOT_BOOT;
                    h->instance_seq = 0;
                }
            }
            h->op = OP_NONE;
        }
        if (!h->syncing && !h->paused && h->active && registered(h) && h->op != OP_CLEAN &&
            now >= h->next_sync_ms) {
            int64_t dur = scaled(f, f->opt.sync_delay_ms) * rand_range(&f->rng, 50, 150) / 100;
            sync_start(f, h, now, dur, true);
        }
    }
}

struct sim_host *fleet_find(struct sim_fleet *f, const char *key)
{
    if (!key || !*key) return NULL;
    for (size_t i = 0; i < f->nhosts; i++)
        if (strcmp(f->hosts[i].id, key) == 0) return &f->hosts[i];
    for (size_t i = 0; i < f->nhosts; i++)
        if (strcmp(f->hosts[i].name, key) == 0) return &f->hosts[i];
    return NULL;
}

int fleet_boot(struct sim_fleet *f, struct sim_host *h, bool takeover, const char *snapshot_id,
               int64_t now, hm_err *msg)
{
    if (!registered(h)) {
        hm_err_set(msg, "host %s is not registered", h->name);
        return 409;
    }
    if (!h->license_valid) {
        hm_err_set(msg, "the licence bound to host %s has expired", h->name);
        return 403;
    }
    if (h->op != OP_NONE) {
        hm_err_set(msg, "host %s already has a boot or cleanup in progress", h->name);
        return 409;
    }
    if (h->boot_state == BS_DONE) {
        hm_err_set(msg, "host %s is already booted on the target; clean it up first", h->name);
        return 409;
    }
    if (!h->nsnaps) {
        hm_err_set(msg, "host %s has no snapshot to boot from", h->name);
        return 409;
    }
    if (snapshot_id && *snapshot_id) {
        bool found = false;
        char id[37];
        for (unsigned k = 0; k < h->nsnaps && !found; k++) {
            fleet_snap_id(f, h, h->snaps[k].seq, id);
            found = strcmp(id, snapshot_id) == 0;
        }
        if (!found) {
            hm_err_set(msg, "snapshot %s not found for host %s", snapshot_id, h->name);
            return 404;
        }
    }
    h->op = OP_BOOT;
    h->op_will_fail = h->fail_next_boot;
    h->fail_next_boot = false;
    h->op_end_ms = now + scaled(f, f->opt.boot_delay_ms);
    h->op_job = job_append(f, (uint32_t)fleet_index(f, h), now, 0,
                           takeover ? JT_TAKEOVER : JT_DRILL, JS_DOING, &f->rng);
    h->boot_state = BS_DOING;
    h->instance_seq = 0;
    return 0;
}

int fleet_sync(struct sim_fleet *f, struct sim_host *h, bool full, int64_t now, hm_err *msg)
{
    if (!registered(h)) {
        hm_err_set(msg, "host %s is not registered", h->name);
        return 409;
    }
    if (h->syncing) {
        hm_err_set(msg, "host %s is already syncing", h->name);
        return 409;
    }
    if (h->op == OP_CLEAN) {
        hm_err_set(msg, "host %s is being cleaned up", h->name);
        return 409;
    }
    int64_t dur = scaled(f, f->opt.sync_delay_ms) * (full ? 2 : 1);
    sync_start(f, h, now, dur, false);
    return 0;
}

int fleet_clean(struct sim_fleet *f, struct sim_host *h, int64_t now, hm_err *msg)
{
    if (h->op != OP_NONE) {
        hm_err_set(msg, "host %s already has a boot or cleanup in progress", h->name);
        return 409;
    }
    if (h->boot_state != BS_DONE && h->boot_state != BS_FAILED) {
        hm_err_set(msg, "host %s has no boot resources to clean up", h->name);
        return 409;
    }
    if (h->syncing) {
        hm_err_set(msg, "host %s is syncing; clean up after the sync", h->name);
        return 409;
    }
    h->op = OP_CLEAN;
    h->op_will_fail = false;
    h->op_end_ms = now + scaled(f, f->opt.clean_delay_ms);
    h->op_job = job_append(f, (uint32_t)fleet_index(f, h), now, 0, JT_CLEAN, JS_DOING, &f->rng);
    h->host_state = HS_CLEAN_DOING;
    return 0;
}
