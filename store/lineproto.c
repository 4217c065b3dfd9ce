/* InfluxDB line protocol: series names to measurement + tags, escaping, exact floats, gzip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "store/sink.h"

int lp_precision_parse(const char *s, lp_precision *out)
{
    static const struct { const char *name; lp_precision p; } t[] = {
        {"ns", LP_NS}, {"n", LP_NS}, {"us", LP_US}, {"u", LP_US}, {"ms", LP_MS}, {"s", LP_S},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(t); i++)
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].p;
            return 0;
        }
    return -1;
}

const char *lp_precision_v1(lp_precision p)
{
    static const char *const n[] = {"n", "u", "ms", "s"};
    return n[p];
}

const char *lp_precision_v2(lp_precision p)
{
    static const char *const n[] = {"ns", "us", "ms", "s"};
    return n[p];
}

int lp_parse_series(const char *series, char **metric, strvec *names, strvec *values)
{
    const char *brace = strchr(series, '{');
    *metric = xstrndup(series, brace ? (size_t)(brace - series) : strlen(series));
    if (!brace) return 0;
    const char *p = brace + 1;
    strbuf v = {0};
    while (*p && *p != '}') {
        const char *eq = strchr(p, '=');
        if (!eq || eq[1] != '"') goto bad;
        char *name = xstrndup(p, (size_t)(eq - p));
        p = eq + 2;
        sb_reset(&v);
        for (; *p && *p != '"'; p++) {
            if (*p == '\\' && (p[1] == '\\' || p[1] == '"')) p++;
            sb_addc(&v, *p);
        }
        if (*p != '"') {
            free(name);
            goto bad;
        }
        sv_push_owned(names, name);
        sv_push(values, sb_str(&v));
        p++;
        if (*p == ',') p++;
    }
    if (*p != '}' || p[1]) goto bad;
    sb_free(&v);
    return 0;
bad:
    sb_free(&v);
    return -1;
}

/* Escapes per the line protocol: `specials` get a backslash; a backslash that would read as an
 * escape (before a special or a double quote, or last) is doubled. */
static void escape(strbuf *out, const char *s, const char *specials)
{
    for (const char *p = s; *p; p++) {
        if (strchr(specials, *p)) sb_addc(out, '\\');
        else if (*p == '\\' && (p[1] == '\0' || p[1] == '"' || strchr(specials, p[1])))
            sb_addc(out, '\\');
        sb_addc(out, *p);
    }
}

/* The shortest decimal that reads back as the same double. */
static void format_exact(char *buf, size_t size, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v && signbit(strtod(buf, NULL)) == signbit(v)) return;
    }
}

struct tag {
    const char *key, *value;
};

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const struct tag *)a)->key, ((const struct tag *)b)->key);
}

int lp_append(strbuf *out, const char *series, double value, int64_t ts_ms, lp_precision prec,
              const strvec *extra_tags)
{
    if (!isfinite(value)) return 1;
    int64_t ts;
    switch (prec) {
    case LP_NS:
        if (ts_ms > INT64_MAX / 1000000 || ts_ms < INT64_MIN / 1000000) return 1;
        ts = ts_ms * 1000000;
        break;
    case LP_US:
        if (ts_ms > INT64_MAX / 1000 || ts_ms < INT64_MIN / 1000) return 1;
        ts = ts_ms * 1000;
        break;
    case LP_S: ts = ts_ms / 1000 - (ts_ms % 1000 < 0); break;
    default: ts = ts_ms; break;
    }
    char *metric;
    strvec names = {0}, values = {0};
    if (lp_parse_series(series, &metric, &names, &values) < 0 || !*metric) {
        free(metric);
        sv_free(&names);
        sv_free(&values);
        return -1;
    }
    size_t nextra = extra_tags ? extra_tags->n : 0;
    struct tag *tags = xmalloc((names.n + nextra + 1) * sizeof *tags);
    size_t nt = 0;
    for (size_t i = 0; i < names.n; i++)
        if (*values.v[i]) tags[nt++] = (struct tag){names.v[i], values.v[i]};
    char **split = xcalloc(nextra + 1, sizeof *split);
    for (size_t i = 0; i < nextra; i++) {
        split[i] = xstrdup(extra_tags->v[i]);
        char *eq = strchr(split[i], '=');
        if (!eq || eq == split[i] || !eq[1]) continue;
        *eq = '\0';
        bool clash = false;
        for (size_t j = 0; j < names.n; j++) clash |= strcmp(names.v[j], split[i]) == 0;
        if (!clash) tags[nt++] = (struct tag){split[i], eq + 1};
    }
    qsort(tags, nt, sizeof *tags, cmp_tag);
    escape(out, metric, ", ");
    for (size_t i = 0; i < nt; i++) {
        sb_addc(out, ',');
        escape(out, tags[i].key, ",= ");
        sb_addc(out, '=');
        escape(out, tags[i].value, ",= ");
    }
    char num[40];
    format_exact(num, sizeof num, value);
    sb_addf(out, " value=%s %lld\n", num, (long long)ts);
    for (size_t i = 0; i < nextra; i++) free(split[i]);
    free(split);
    free(tags);
    free(metric);
    sv_free(&names);
    sv_free(&values);
    return 0;
}

int lp_gzip(const void *data, size_t len, strbuf *out, hm_err *e)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 window bits + 16: a gzip header and trailer instead of zlib's */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return hm_err_set(e, "cannot compress a batch: %s", z.msg ? z.msg : "deflateInit2 failed");
    uLong bound = deflateBound(&z, (uLong)len);
    char *buf = xmalloc(bound);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t n = bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return hm_err_set(e, "cannot compress a batch: deflate returned %d", rc);
    }
    sb_add(out, buf, n);
    free(buf);
    return 0;
}
