/* Samples, component states and the collectors' key/value memory. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collector.h"

const char *hm_state_name(enum hm_state s)
{
    switch (s) {
    case HM_OK: return "ok";
    case HM_WARNING: return "warning";
    case HM_CRITICAL: return "critical";
    default: return "unknown";
    }
}

int hm_state_exit_code(enum hm_state s)
{
    switch (s) {
    case HM_OK: return 0;
    case HM_WARNING: return 1;
    case HM_CRITICAL: return 2;
    default: return 3;
    }
}

enum hm_state hm_state_worse(enum hm_state a, enum hm_state b)
{
    return a > b ? a : b;
}

struct label {
    const char *name, *value;
};

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

char *hm_series(const char *metric, ...)
{
    struct label labels[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, metric);
    const char *name;
    while ((name = va_arg(ap, const char *)) && n < HM_ARRAY_LEN(labels)) {
        const char *value = va_arg(ap, const char *);
        labels[n++] = (struct label){name, value ? value : ""};
    }
    va_end(ap);
    strbuf sb = {0};
    sb_adds(&sb, metric);
    if (n) {
        qsort(labels, n, sizeof labels[0], cmp_label);
        sb_addc(&sb, '{');
        for (size_t i = 0; i < n; i++) {
            if (i) sb_addc(&sb, ',');
            sb_addf(&sb, "%s=\"", labels[i].name);
            for (const char *p = labels[i].value; *p; p++) {
                if (*p == '\\' || *p == '"') { sb_addc(&sb, '\\'); sb_addc(&sb, *p); }
                else if (*p == '\n') sb_adds(&sb, "\\n");
                else sb_addc(&sb, *p);
            }
            sb_addc(&sb, '"');
        }
        sb_addc(&sb, '}');
    }
    return sb_detach(&sb);
}

void hm_result_add_sample(hm_result *r, const char *series, double value, const char *unit,
                          int64_t ts_ms)
{
    if (r->n_samples == r->cap_samples) {
        r->cap_samples = r->cap_samples ? r->cap_samples * 2 : 32;
        r->samples = xrealloc(r->samples, r->cap_samples * sizeof(hm_sample));
    }
    r->samples[r->n_samples++] = (hm_sample){xstrdup(series), value, unit ? unit : "", ts_ms};
}

hm_component *hm_result_add_component(hm_result *r, const char *name, const char *kind,
                                      enum hm_state state, const char *status,
                                      const char *detail_fmt, ...)
{
    if (r->n_components == r->cap_components) {
        r->cap_components = r->cap_components ? r->cap_components * 2 : 16;
        r->components = xrealloc(r->components, r->cap_components * sizeof(hm_component));
    }
    hm_component *c = &r->components[r->n_components++];
    c->name = xstrdup(name);
    c->kind = xstrdup(kind);
    c->state = state;
    c->status = xstrdup(status);
    strbuf sb = {0};
    if (detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        sb_vaddf(&sb, detail_fmt, ap);
        va_end(ap);
    }
    c->detail = sb_detach(&sb);
    return c;
}

void hm_result_move(hm_result *dst, hm_result *src)
{
    for (size_t i = 0; i < src->n_samples; i++) {
        if (dst->n_samples == dst->cap_samples) {
            dst->cap_samples = dst->cap_samples ? dst->cap_samples * 2 : 32;
            dst->samples = xrealloc(dst->samples, dst->cap_samples * sizeof(hm_sample));
        }
        dst->samples[dst->n_samples++] = src->samples[i];
    }
    for (size_t i = 0; i < src->n_components; i++) {
        if (dst->n_components == dst->cap_components) {
            dst->cap_components = dst->cap_components ? dst->cap_components * 2 : 16;
            dst->components = xrealloc(dst->components, dst->cap_components * sizeof(hm_component));
        }
        dst->components[dst->n_components++] = src->components[i];
    }
    free(src->samples);
    free(src->components);
    memset(src, 0, sizeof *src);
}

void hm_result_free(hm_result *r)
{
    for (size_t i = 0; i < r->n_samples; i++) free(r->samples[i].series);
    for (size_t i = 0; i < r->n_components; i++) {
        free(r->components[i].name);
        free(r->components[i].kind);
        free(r->components[i].status);
        free(r->components[i].detail);
    }
    free(r->samples);
    free(r->components);
    memset(r, 0, sizeof *r);
}

enum hm_state hm_result_worst(const hm_result *r)
{
    enum hm_state w = HM_OK;
    for (size_t i = 0; i < r->n_components; i++) w = hm_state_worse(w, r->components[i].state);
    return w;
}

struct kv_object {
    char *key;
    void *obj;
    void (*destroy)(void *obj);
};

struct hm_kv {
    pthread_mutex_t mu;
    strvec keys, values;
    struct kv_object *objects;
    size_t n_objects;
};

hm_kv *hm_kv_new(void)
{
    hm_kv *kv = xcalloc(1, sizeof *kv);
    pthread_mutex_init(&kv->mu, NULL);
    return kv;
}

void hm_kv_free(hm_kv *kv)
{
    if (!kv) return;
    for (size_t i = 0; i < kv->n_objects; i++) {
        if (kv->objects[i].destroy) kv->objects[i].destroy(kv->objects[i].obj);
        free(kv->objects[i].key);
    }
    free(kv->objects);
    sv_free(&kv->keys);
    sv_free(&kv->values);
    pthread_mutex_destroy(&kv->mu);
    free(kv);
}

char *hm_kv_get(hm_kv *kv, const char *key)
{
    if (!kv) return NULL;
    char *v = NULL;
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; i < kv->keys.n; i++)
        if (strcmp(kv->keys.v[i], key) == 0) v = xstrdup(kv->values.v[i]);
    pthread_mutex_unlock(&kv->mu);
    return v;
}

void hm_kv_put(hm_kv *kv, const char *key, const char *value)
{
    if (!kv) return;
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; i < kv->keys.n; i++) {
        if (strcmp(kv->keys.v[i], key) == 0) {
            free(kv->values.v[i]);
            kv->values.v[i] = xstrdup(value);
            pthread_mutex_unlock(&kv->mu);
            return;
        }
    }
    sv_push(&kv->keys, key);
    sv_push(&kv->values, value);
    pthread_mutex_unlock(&kv->mu);
}

void hm_kv_each(hm_kv *kv, void (*fn)(const char *key, const char *value, void *ud), void *ud)
{
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; i < kv->keys.n; i++) fn(kv->keys.v[i], kv->values.v[i], ud);
    pthread_mutex_unlock(&kv->mu);
}

void *hm_kv_object(hm_kv *kv, const char *key, void *(*create)(void *arg), void *arg,
                   void (*destroy)(void *obj))
{
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; i < kv->n_objects; i++) {
        if (strcmp(kv->objects[i].key, key) == 0) {
            void *obj = kv->objects[i].obj;
            pthread_mutex_unlock(&kv->mu);
            return obj;
        }
    }
    void *obj = create(arg);
    kv->objects = xrealloc(kv->objects, (kv->n_objects + 1) * sizeof *kv->objects);
    kv->objects[kv->n_objects++] = (struct kv_object){xstrdup(key), obj, destroy};
    pthread_mutex_unlock(&kv->mu);
    return obj;
}
