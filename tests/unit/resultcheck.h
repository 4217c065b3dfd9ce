/* Lookups into an hm_result for the collectors' unit tests. Header-only. */
#ifndef HM_TESTS_RESULTCHECK_H
#define HM_TESTS_RESULTCHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collector.h"

/* The component called name, or NULL. */
static inline const hm_component *rc_component(const hm_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_components; i++)
        if (strcmp(r->components[i].name, name) == 0) return &r->components[i];
    return NULL;
}

/* The value of the sample with exactly this series name; aborts the test when missing, so a
 * renamed series fails loudly. */
static inline double rc_sample(const hm_result *r, const char *series)
{
    for (size_t i = 0; i < r->n_samples; i++)
        if (strcmp(r->samples[i].series, series) == 0) return r->samples[i].value;
    fprintf(stderr, "no sample %s; have:", series);
    for (size_t i = 0; i < r->n_samples; i++) fprintf(stderr, " %s", r->samples[i].series);
    fputc('\n', stderr);
    abort();
}

static inline int rc_has_sample(const hm_result *r, const char *series)
{
    for (size_t i = 0; i < r->n_samples; i++)
        if (strcmp(r->samples[i].series, series) == 0) return 1;
    return 0;
}

/* Every sample carries ts. */
static inline int rc_all_stamped(const hm_result *r, int64_t ts)
{
    for (size_t i = 0; i < r->n_samples; i++)
        if (r->samples[i].ts_ms != ts) return 0;
    return 1;
}

#endif
