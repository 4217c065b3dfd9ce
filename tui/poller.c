/* The TUI's poller: one thread running poll cycles on a schedule and handing each finished
 * result to the UI thread as an immutable snapshot, announced through the self-pipe. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "tui/tui-int.h"

struct tui_poller {
    const hm_config *cfg;
    hm_kv *kv; /* lives as long as the program so CPU% and rates use the previous reading */
    int64_t interval_ms;
    int wake_fd;
    pthread_t thread;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, so a wall-clock jump does not stall the schedule */
    bool quit;
    bool refresh;
    bool busy;
    bool abandoned; /* a collector outlived its deadline and may still use kv */
    struct tui_snapshot *pending;
    unsigned long cycles;
};

void tui_snapshot_free(struct tui_snapshot *s)
{
    if (!s) return;
    hm_result_free(&s->result);
    free(s);
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

static void *poller_main(void *arg)
{
    struct tui_poller *p = arg;
    pthread_mutex_lock(&p->mu);
    int64_t next = hm_mono_ms();
    while (!p->quit) {
        if (!p->refresh && hm_mono_ms() < next) {
            struct timespec ts = mono_deadline(next);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            continue;
        }
        p->refresh = false;
        p->busy = true;
        unsigned long cycle = ++p->cycles;
        pthread_mutex_unlock(&p->mu);

        struct tui_snapshot *s = xcalloc(1, sizeof *s);
        int64_t start = hm_mono_ms();
        s->wall_ms = hm_now_ms();
        int abandoned = hm_poll_run(p->cfg, p->kv, NULL, &s->result);
        s->mono_ms = hm_mono_ms();
        s->duration_ms = s->mono_ms - start;
        s->cycle = cycle;
        next = start + p->interval_ms;

        pthread_mutex_lock(&p->mu);
        p->busy = false;
        if (abandoned) p->abandoned = true;
        /* The UI shows only the newest; one it never took is simply replaced. */
        tui_snapshot_free(p->pending);
        p->pending = s;
        pthread_mutex_unlock(&p->mu);
        wake_ui(p->wake_fd);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct tui_poller *tui_poller_start(const hm_config *cfg, int64_t interval_ms, int wake_fd,
                                    hm_err *e)
{
    struct tui_poller *p = xcalloc(1, sizeof *p);
    p->cfg = cfg;
    p->kv = hm_kv_new();
    p->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    p->wake_fd = wake_fd;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);

    /* Signals (SIGWINCH, SIGINT ...) belong to the UI thread; the poller and the collector
     * threads it starts inherit this mask, so their I/O is never cut short by EINTR. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, poller_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        hm_err_set(e, "cannot start the poller thread: %s", strerror(rc));
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        hm_kv_free(p->kv);
        free(p);
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
    p->refresh = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

bool tui_poller_busy(struct tui_poller *p)
{
    pthread_mutex_lock(&p->mu);
    bool busy = p->busy;
    pthread_mutex_unlock(&p->mu);
    return busy;
}

void tui_poller_stop(struct tui_poller *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    tui_snapshot_free(p->pending);
    /* An abandoned collector thread may still write to kv (hm_poll_run's contract): leave it
     * to process exit rather than free memory in use. */
    if (!p->abandoned) hm_kv_free(p->kv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
