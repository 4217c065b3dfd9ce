/* The poll cycle: every collector in a thread of its own, each bounded by its deadline. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/collector.h"
#include "lib/clock.h"

/* One collector run. Shared between the runner and the thread: whoever finishes last frees it,
 * so an abandoned collector can still finish (or hang) without touching freed memory. */
/* Abandoned collector threads still running (process-wide, for hm_poll_abandoned_running). */
static atomic_int abandoned_running;

int hm_poll_abandoned_running(void)
{
    return atomic_load(&abandoned_running);
}

struct job {
    const hm_collector *col;
    hm_collect_ctx cc;
    hm_result result;
    bool done;
    bool abandoned;
    int refs;
};

struct shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
    int refs;
};

struct thread_arg {
    struct job *job;
    struct shared *sh;
};

static void shared_unref(struct shared *sh)
{
    pthread_mutex_lock(&sh->mu);
    int left = --sh->refs;
    pthread_mutex_unlock(&sh->mu);
    if (left == 0) {
        pthread_mutex_destroy(&sh->mu);
        pthread_cond_destroy(&sh->cv);
        free(sh);
    }
}

static void job_unref_locked(struct job *j)
{
    if (--j->refs == 0) {
        hm_result_free(&j->result);
        free(j);
    }
}

static void *run_job(void *arg)
{
    struct thread_arg *ta = arg;
    struct job *j = ta->job;
    struct shared *sh = ta->sh;
    free(ta);
    j->col->fn(&j->cc, &j->result);
    pthread_mutex_lock(&sh->mu);
    j->done = true;
    if (j->abandoned) atomic_fetch_sub(&abandoned_running, 1);
    sh->pending--;
    pthread_cond_broadcast(&sh->cv);
    job_unref_locked(j);
    pthread_mutex_unlock(&sh->mu);
    shared_unref(sh);
    return NULL;
}

/* [hmctl] timeout, or the collector's own budget when that is longer. */
static int64_t collector_budget(const char *name, const hm_config *cfg, int64_t timeout)
{
    for (const hm_collector_budget *b = hm_collector_budgets; b->name; b++) {
        if (strcmp(b->name, name) != 0) continue;
        int64_t own = b->fn(cfg);
        return own > timeout ? own : timeout;
    }
    return timeout;
}

static bool wanted(const char *name, const char *const *only)
{
    if (!only) return true;
    for (; *only; only++)
        if (strcmp(*only, name) == 0) return true;
    return false;
}

int hm_poll_run(const hm_config *cfg, hm_kv *kv, const char *const *only, hm_result *out)
{
    return hm_poll_run_table(hm_collectors, cfg, kv, only, out);
}

int hm_poll_run_table(const hm_collector *table, const hm_config *cfg, hm_kv *kv,
                      const char *const *only, hm_result *out)
{
    size_t n = 0;
    for (const hm_collector *c = table; c->name; c++) n++;
    struct job **jobs = xcalloc(n, sizeof *jobs);
    struct shared *sh = xcalloc(1, sizeof *sh);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    sh->refs = 1;

    int64_t timeout = cfg_get_ms(cfg, "hmctl", NULL, "timeout", 5000);
    int64_t now = hm_now_ms();
    int64_t start = hm_mono_ms();
    int64_t longest = timeout;
    for (size_t i = 0; i < n; i++) {
        const hm_collector *c = &table[i];
        if (!wanted(c->name, only)) continue;
        int64_t budget = collector_budget(c->name, cfg, timeout);
        if (budget > longest) longest = budget;
        struct job *j = xcalloc(1, sizeof *j);
        j->col = c;
        j->cc = (hm_collect_ctx){cfg, kv, now, budget, start + budget};
        j->refs = 2;
        jobs[i] = j;
        struct thread_arg *ta = xmalloc(sizeof *ta);
        *ta = (struct thread_arg){j, sh};
        pthread_mutex_lock(&sh->mu);
        sh->pending++;
        sh->refs++;
        pthread_mutex_unlock(&sh->mu);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, run_job, ta) != 0) {
            /* No thread: run it here rather than lose it. */
            run_job(ta);
        }
        pthread_attr_destroy(&attr);
    }

    /* Wait for all, at most until the latest deadline plus a grace second: the cycle lasts as
     * long as its slowest collector may. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t wait_ms = longest + 1000;
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    int abandoned = 0;
    pthread_mutex_lock(&sh->mu);
    while (sh->pending > 0)
        if (pthread_cond_timedwait(&sh->cv, &sh->mu, &until) != 0) break;
    for (size_t i = 0; i < n; i++) {
        struct job *j = jobs[i];
        if (!j) continue;
        if (j->done) hm_result_move(out, &j->result);
        else {
            abandoned++;
            j->abandoned = true;
            atomic_fetch_add(&abandoned_running, 1);
            hm_result_add_component(out, j->col->name, j->col->name, HM_UNKNOWN, "no answer",
                                    "no answer within %g s", (double)j->cc.timeout_ms / 1000);
        }
        job_unref_locked(j);
    }
    pthread_mutex_unlock(&sh->mu);
    free(jobs);
    shared_unref(sh);
    return abandoned;
}
