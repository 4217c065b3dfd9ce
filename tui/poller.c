/* The TUI's poller: a thread running local poll cycles on a schedule, a thread reading the
 * consoles and the store's events on a slower one, and a thread per service action. Each hands
 * its finished part to the UI thread as an immutable snapshot announced through the self-pipe,
 * so the UI never waits for any of them. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "lib/clock.h"
#include "tui/tui-int.h"

#define MINUTE_MS 60000LL

struct tui_poller {
    const hm_config *cfg;
    hm_kv *kv; /* lives as long as the program so CPU% and rates use the previous reading */
    int64_t interval_ms, console_ms;
    int wake_fd;
    const char **local_only; /* every collector but the console's */
    pthread_t local_thread, console_thread, action_thread;
    bool console_started, action_started;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, so a wall-clock jump does not stall the schedule */
    bool quit;
    bool refresh_local, refresh_console;
    bool busy_local, busy_console;
    bool abandoned; /* a collector outlived its deadline and may still use kv */
    struct tui_local *local;     /* newest of each part */
    struct tui_console *console;
    struct tui_snapshot *pending;
    unsigned long local_cycles, console_cycles;

    /* the meters' last hour: sums and counts per minute (epoch minute % TUI_SPARK_N) */
    double spark_sum[TUI_METER_COUNT][TUI_SPARK_N];
    int spark_cnt[TUI_METER_COUNT][TUI_SPARK_N];
    int64_t spark_minute[TUI_SPARK_N];

    /* the detail pane's request and answer */
    char *want_console, *want_id, *want_name;
    bool want_detail;
    struct tui_host_detail *detail;

    /* the service action */
    bool action_busy, action_done;
    char action_service[128], action_name[16];
    char *message;
    bool message_failed;
};

static const char *const meter_series[TUI_METER_COUNT] = {
    "host.cpu.percent", "host.memory.percent", "host.disk.root.percent"};

void tui_local_unref(struct tui_local *l)
{
    if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    hm_result_free(&l->result);
    docker_list_free(&l->services);
    free(l->services_err);
    free(l->history_err);
    free(l);
}

void tui_console_unref(struct tui_console *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    hm_result_free(&c->result);
    free(c->hosts);
    free(c->tasks);
    free(c->events);
    free(c->hosts_err);
    free(c->events_err);
    free(c->arena);
    free(c);
}

static void ref(int *refs)
{
    __atomic_add_fetch(refs, 1, __ATOMIC_ACQ_REL);
}

void tui_snapshot_free(struct tui_snapshot *s)
{
    if (!s) return;
    tui_local_unref(s->local);
    tui_console_unref(s->console);
    free(s);
}

void tui_host_detail_free(struct tui_host_detail *d)
{
    if (!d) return;
    free(d->console);
    free(d->id);
    free(d->name);
    free(d->error);
    for (size_t i = 0; i < d->n_snaps; i++) {
        free(d->snaps[i].name);
        free(d->snaps[i].status);
    }
    free(d->snaps);
    for (size_t i = 0; i < d->n_jobs; i++) {
        free(d->jobs[i].type);
        free(d->jobs[i].status);
        free(d->jobs[i].detail);
    }
    free(d->jobs);
    free(d);
}

static struct timespec mono_deadline(int64_t mono_ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(mono_ms / 1000);
    ts.tv_nsec = (long)(mono_ms % 1000) * 1000000L;
    return ts;
}

static void wake_ui(int fd)
{
    /* A full pipe already holds a wake-up, so EAGAIN loses nothing. */
    ssize_t rc;
    do rc = write(fd, "S", 1);
    while (rc < 0 && errno == EINTR);
}

/* Makes a snapshot of the newest parts the pending one (mu held). */
static void publish_locked(struct tui_poller *p)
{
    struct tui_snapshot *s = xcalloc(1, sizeof *s);
    s->local = p->local;
    s->console = p->console;
    if (s->local) ref(&s->local->refs);
    if (s->console) ref(&s->console->refs);
    /* The UI shows only the newest; one it never took is simply replaced. */
    tui_snapshot_free(p->pending);
    p->pending = s;
}

/* Adds this cycle's meter values to their minute and copies the last hour into l->spark. */
static void spark_update(struct tui_poller *p, struct tui_local *l)
{
    int64_t minute = l->wall_ms / MINUTE_MS;
    int slot = (int)(minute % TUI_SPARK_N);
    if (p->spark_minute[slot] != minute) {
        p->spark_minute[slot] = minute;
        for (int m = 0; m < TUI_METER_COUNT; m++) p->spark_sum[m][slot] = p->spark_cnt[m][slot] = 0;
    }
    for (int m = 0; m < TUI_METER_COUNT; m++) {
        double v;
        if (!hm_result_value(&l->result, meter_series[m], &v)) continue;
        p->spark_sum[m][slot] += v;
        p->spark_cnt[m][slot]++;
    }
    for (int i = 0; i < TUI_SPARK_N; i++) {
        int64_t want = minute - (TUI_SPARK_N - 1) + i;
        int s = (int)(want % TUI_SPARK_N);
        for (int m = 0; m < TUI_METER_COUNT; m++)
            l->spark[m][i] = p->spark_minute[s] == want && p->spark_cnt[m][s]
                                 ? p->spark_sum[m][s] / p->spark_cnt[m][s] : NAN;
    }
}

/* Seeds the minutes with the store's history (what check or metrics recorded). */
static void spark_seed(struct tui_poller *p, struct tui_local *l)
{
    double hist[TUI_METER_COUNT][TUI_SPARK_N];
    tui_data_history(p->cfg, l->wall_ms, hist, &l->history_err);
    int64_t minute = l->wall_ms / MINUTE_MS;
    for (int i = 0; i < TUI_SPARK_N; i++) {
        int64_t want = minute - (TUI_SPARK_N - 1) + i;
        int s = (int)(want % TUI_SPARK_N);
        p->spark_minute[s] = want;
        for (int m = 0; m < TUI_METER_COUNT; m++) {
            bool have = hist[m][i] == hist[m][i];
            p->spark_sum[m][s] = have ? hist[m][i] : 0;
            p->spark_cnt[m][s] = have;
        }
    }
}

static void *local_main(void *arg)
{
    struct tui_poller *p = arg;
    pthread_mutex_lock(&p->mu);
    int64_t next = hm_mono_ms();
    while (!p->quit) {
        if (!p->refresh_local && hm_mono_ms() < next) {
            struct timespec ts = mono_deadline(next);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            continue;
        }
        p->refresh_local = false;
        p->busy_local = true;
        unsigned long cycle = ++p->local_cycles;
        pthread_mutex_unlock(&p->mu);

        struct tui_local *l = xcalloc(1, sizeof *l);
        l->refs = 1;
        int64_t start = hm_mono_ms();
        l->wall_ms = hm_now_ms();
        int abandoned = hm_poll_run(p->cfg, p->kv, p->local_only, &l->result);
        tui_data_services(p->cfg, l);
        if (cycle == 1) spark_seed(p, l);
        spark_update(p, l);
        l->mono_ms = hm_mono_ms();
        l->duration_ms = l->mono_ms - start;
        l->cycle = cycle;
        next = start + p->interval_ms;

        pthread_mutex_lock(&p->mu);
        p->busy_local = false;
        if (abandoned) p->abandoned = true;
        tui_local_unref(p->local);
        p->local = l;
        publish_locked(p);
        pthread_mutex_unlock(&p->mu);
        wake_ui(p->wake_fd);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int64_t thread_cpu_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0) return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time until the next console read: the configured one, or else the refresh interval but
 * at least a hundred times the CPU the last read took (10,000 hosts take most of a second to
 * parse; reading them every second would keep a core busy). */
static int64_t console_period(const struct tui_poller *p, int64_t cpu_ms)
{
    if (p->console_ms > 0) return p->console_ms > p->interval_ms ? p->console_ms : p->interval_ms;
    int64_t auto_ms = cpu_ms * 100;
    return auto_ms > p->interval_ms ? auto_ms : p->interval_ms;
}

static void detail_request(struct tui_poller *p)
{
    char *con = p->want_console, *id = p->want_id, *name = p->want_name;
    p->want_console = p->want_id = p->want_name = NULL;
    p->want_detail = false;
    pthread_mutex_unlock(&p->mu);
    struct tui_host_detail *d = tui_data_detail(p->cfg, con, id, name);
    free(con);
    free(id);
    free(name);
    pthread_mutex_lock(&p->mu);
    tui_host_detail_free(p->detail);
    p->detail = d;
    pthread_mutex_unlock(&p->mu);
    wake_ui(p->wake_fd);
    pthread_mutex_lock(&p->mu);
}

static void *console_main(void *arg)
{
    struct tui_poller *p = arg;
    pthread_mutex_lock(&p->mu);
    int64_t next = hm_mono_ms();
    while (!p->quit) {
        if (p->want_detail) {
            detail_request(p);
            continue;
        }
        if (!p->refresh_console && hm_mono_ms() < next) {
            struct timespec ts = mono_deadline(next);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            continue;
        }
        p->refresh_console = false;
        p->busy_console = true;
        unsigned long cycle = ++p->console_cycles;
        pthread_mutex_unlock(&p->mu);

        int64_t start = hm_mono_ms(), cpu = thread_cpu_ms();
        struct tui_console *c = tui_data_console(p->cfg, p->kv, hm_now_ms());
        c->mono_ms = hm_mono_ms();
        c->duration_ms = c->mono_ms - start;
        c->cycle = cycle;
        next = start + console_period(p, thread_cpu_ms() - cpu);
        c->next_ms = next;

        pthread_mutex_lock(&p->mu);
        p->busy_console = false;
        tui_console_unref(p->console);
        p->console = c;
        publish_locked(p);
        pthread_mutex_unlock(&p->mu);
        wake_ui(p->wake_fd);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static bool start_thread(pthread_t *t, void *(*fn)(void *), void *arg, hm_err *e)
{
    /* Signals (SIGWINCH, SIGINT ...) belong to the UI thread; the poller's threads and the
     * collector threads they start inherit this mask, so their I/O is never cut short by EINTR. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) hm_err_set(e, "cannot start the poller thread: %s", strerror(rc));
    return rc == 0;
}

struct tui_poller *tui_poller_start(const hm_config *cfg, int64_t interval_ms, int64_t console_ms,
                                    int wake_fd, hm_err *e)
{
    struct tui_poller *p = xcalloc(1, sizeof *p);
    p->cfg = cfg;
    p->kv = hm_kv_new();
    p->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    p->console_ms = console_ms;
    p->wake_fd = wake_fd;
    size_t n = 0;
    while (hm_collectors[n].name) n++;
    p->local_only = xcalloc(n + 1, sizeof *p->local_only);
    for (size_t i = 0, k = 0; i < n; i++)
        if (strcmp(hm_collectors[i].name, "console") != 0) p->local_only[k++] = hm_collectors[i].name;
    for (int i = 0; i < TUI_SPARK_N; i++) p->spark_minute[i] = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);

    if (!start_thread(&p->local_thread, local_main, p, e)) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        hm_kv_free(p->kv);
        free(p->local_only);
        free(p);
        return NULL;
    }
    p->console_started = start_thread(&p->console_thread, console_main, p, e);
    if (!p->console_started) {
        tui_poller_stop(p);
        return NULL;
    }
    return p;
}

struct tui_snapshot *tui_poller_take(struct tui_poller *p)
{
    pthread_mutex_lock(&p->mu);
    struct tui_snapshot *s = p->pending;
    p->pending = NULL;
    pthread_mutex_unlock(&p->mu);
    return s;
}

void tui_poller_refresh(struct tui_poller *p)
{
    pthread_mutex_lock(&p->mu);
    p->refresh_local = p->refresh_console = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

bool tui_poller_busy(struct tui_poller *p)
{
    pthread_mutex_lock(&p->mu);
    bool busy = p->busy_local || p->busy_console;
    pthread_mutex_unlock(&p->mu);
    return busy;
}

void tui_poller_want_detail(struct tui_poller *p, const char *console, const char *id,
                            const char *name)
{
    pthread_mutex_lock(&p->mu);
    free(p->want_console);
    free(p->want_id);
    free(p->want_name);
    p->want_console = xstrdup(console);
    p->want_id = xstrdup(id);
    p->want_name = xstrdup(name);
    p->want_detail = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

struct tui_host_detail *tui_poller_take_detail(struct tui_poller *p)
{
    pthread_mutex_lock(&p->mu);
    struct tui_host_detail *d = p->detail;
    p->detail = NULL;
    pthread_mutex_unlock(&p->mu);
    return d;
}

static const char *past_tense(const char *action)
{
    return !strcmp(action, "start") ? "started" : !strcmp(action, "stop") ? "stopped" : "restarted";
}

static void *action_main(void *arg)
{
    struct tui_poller *p = arg;
    /* Docker's default grace period for stop and restart plus the API's own budget. */
    int64_t timeout = cfg_get_ms(p->cfg, "hmctl", NULL, "timeout", 5000) + 15000;
    hm_err e = {{0}};
    int rc = docker_service_control(p->cfg, p->action_service, p->action_name, timeout, &e);
    char *msg = rc == 0 ? xasprintf("%s %s", past_tense(p->action_name), p->action_service)
                        : xstrdup(e.msg);
    pthread_mutex_lock(&p->mu);
    free(p->message);
    p->message = msg;
    p->message_failed = rc != 0;
    p->action_busy = false;
    p->action_done = true;
    p->refresh_local = true; /* show the new State at once */
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    wake_ui(p->wake_fd);
    return NULL;
}

bool tui_poller_service(struct tui_poller *p, const char *service, const char *action)
{
    pthread_mutex_lock(&p->mu);
    if (p->action_busy) {
        pthread_mutex_unlock(&p->mu);
        return false;
    }
    bool join = p->action_started;
    pthread_mutex_unlock(&p->mu);
    /* the previous action's thread has finished (busy is false): reap it */
    if (join) pthread_join(p->action_thread, NULL);
    pthread_mutex_lock(&p->mu);
    p->action_started = false;
    snprintf(p->action_service, sizeof p->action_service, "%s", service);
    snprintf(p->action_name, sizeof p->action_name, "%s", action);
    p->action_busy = true;
    p->action_done = false;
    pthread_mutex_unlock(&p->mu);
    bool started = start_thread(&p->action_thread, action_main, p, NULL);
    pthread_mutex_lock(&p->mu);
    p->action_started = started;
    if (!started) p->action_busy = false;
    pthread_mutex_unlock(&p->mu);
    return started;
}

char *tui_poller_take_message(struct tui_poller *p, bool *failed)
{
    pthread_mutex_lock(&p->mu);
    char *m = p->message;
    p->message = NULL;
    *failed = p->message_failed;
    pthread_mutex_unlock(&p->mu);
    return m;
}

bool tui_poller_action_busy(struct tui_poller *p, char *buf, size_t size)
{
    pthread_mutex_lock(&p->mu);
    bool busy = p->action_busy;
    if (busy) {
        const char *a = p->action_name;
        snprintf(buf, size, "%s %s", !strcmp(a, "start") ? "starting" : !strcmp(a, "stop") ? "stopping"
                                                                                            : "restarting",
                 p->action_service);
    }
    pthread_mutex_unlock(&p->mu);
    return busy;
}

void tui_poller_stop(struct tui_poller *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->local_thread, NULL);
    if (p->console_started) pthread_join(p->console_thread, NULL);
    if (p->action_started) pthread_join(p->action_thread, NULL);
    tui_snapshot_free(p->pending);
    tui_local_unref(p->local);
    tui_console_unref(p->console);
    tui_host_detail_free(p->detail);
    free(p->want_console);
    free(p->want_id);
    free(p->want_name);
    free(p->message);
    free(p->local_only);
    /* An abandoned collector thread may still write to kv (hm_poll_run's contract): leave it
     * to process exit rather than free memory in use. */
    if (!p->abandoned) hm_kv_free(p->kv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
