/* Chunk codecs: property tests over random and adversarial series. Whatever is encoded (any
 * time stamps, in any order, any double bit pattern) decodes to exactly the same bits, through
 * the head stream (also when its blob is stored and reloaded between appends), the sealed
 * column codecs (time column inline or shared) and the rollup codec; corrupt blobs are
 * rejected without reading out of bounds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/chunk.h"

/* xorshift64*: reproducible, seeded per test */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static double rnd_unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

enum shape {
    S_CONSTANT, S_COUNTER, S_GAUGE_NOISY, S_DECIMALS, S_BOOL, S_NAN_INF, S_NEG_ZERO, S_HUGE_JUMPS,
    S_RANDOM_BITS, S_OUT_OF_ORDER, S_DUPLICATES, S_EXTREME_TS, S_BYTES, S_NSHAPES
};

/* Fills ts/v with n points of a shape. */
static void make_series(enum shape sh, size_t n, int64_t *ts, double *v)
{
    int64_t t = 1795000000000LL + (int64_t)(rnd() % 100000);
    double x = 0;
    for (size_t i = 0; i < n; i++) {
        t += 10000 + (int64_t)(rnd() % 60) - 30; /* a 10 s cycle with jitter */
        ts[i] = t;
        switch (sh) {
        case S_CONSTANT: v[i] = 42.5; break;
        case S_COUNTER: x += (double)(rnd() % 5000); v[i] = x; break;
        case S_GAUGE_NOISY: v[i] = 100.0 * rnd_unit(); break;
        case S_DECIMALS: v[i] = (double)(int64_t)(rnd() % 10000) / 100.0; break;
        case S_BOOL: v[i] = (rnd() % 50 == 0) ? 0 : 1; break;
        case S_NAN_INF: {
            static const uint64_t specials[] = {
                0x7ff8000000000000ULL, 0x7ff0000000000001ULL, 0xfff8000000000123ULL,
                0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x0000000000000001ULL,
                0x8000000000000000ULL, 0x7fefffffffffffffULL, 0x3ff0000000000000ULL};
            v[i] = from_bits(specials[rnd() % HM_ARRAY_LEN(specials)]);
            break;
        }
        case S_NEG_ZERO: v[i] = (i % 3) ? -0.0 : 0.0; break;
        case S_HUGE_JUMPS: v[i] = (rnd() & 1) ? 1e308 : -1e-308; break;
        case S_RANDOM_BITS: v[i] = from_bits(rnd()); break;
        case S_OUT_OF_ORDER: ts[i] = 1795000000000LL + (int64_t)(rnd() % 86400000); v[i] = (double)i; break;
        case S_DUPLICATES: ts[i] = 1795000000000LL + (int64_t)(i / 3) * 10000; v[i] = (double)(rnd() % 7); break;
        case S_EXTREME_TS: {
            static const int64_t specials[] = {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN + 1,
                                               INT64_MAX - 1, 1795000000000LL};
            ts[i] = specials[rnd() % HM_ARRAY_LEN(specials)];
            v[i] = (double)(int64_t)rnd();
            break;
        }
        case S_BYTES: v[i] = 84201127936.0 + 4096.0 * (double)(rnd() % 1000); break;
        default: fail();
        }
    }
}

static void assert_same(const int64_t *ts, const double *v, const chunk_points *got, size_t n)
{
    assert_int_equal(got->n, n);
    for (size_t i = 0; i < n; i++) {
        if (got->ts[i] != ts[i] || bits_of(got->v[i]) != bits_of(v[i]))
            fail_msg("point %zu: wrote (%lld, %016llx), read (%lld, %016llx)", i, (long long)ts[i],
                     (unsigned long long)bits_of(v[i]), (long long)got->ts[i],
                     (unsigned long long)bits_of(got->v[i]));
    }
}

/* The head stream: append all, reloading the blob at random points as the store does. */
static void roundtrip_head(const int64_t *ts, const double *v, size_t n)
{
    chunk_head h = {0};
    strbuf blob = {0};
    hm_err e = {{0}};
    for (size_t i = 0; i < n; i++) {
        chunk_head_append(&h, ts[i], v[i]);
        if (rnd() % 7 == 0) {
            chunk_head_blob(&h, &blob);
            chunk_head h2 = {0};
            assert_int_equal(chunk_head_load(&h2, blob.buf, blob.len, &e), 0);
            chunk_head_free(&h);
            h = h2;
        }
    }
    chunk_head_blob(&h, &blob);
    chunk_points got = {0};
    if (chunk_decode(blob.buf, blob.len, NULL, 0, &got, &e) < 0) fail_msg("%s", e.msg);
    assert_same(ts, v, &got, n);
    chunk_points_free(&got);
    chunk_head_free(&h);
    sb_free(&blob);
}

static void roundtrip_sealed(const int64_t *ts, const double *v, size_t n, bool shared)
{
    strbuf blob = {0}, col = {0};
    hm_err e = {{0}};
    chunk_encode_sealed(&blob, shared ? &col : NULL, ts, v, n);
    int64_t *ext = NULL;
    if (shared) {
        ext = xmalloc((n ? n : 1) * sizeof *ext);
        if (chunk_decode_ints(col.buf, col.len, ext, n, &e) < 0) fail_msg("%s", e.msg);
    }
    chunk_points got = {0};
    if (chunk_decode(blob.buf, blob.len, ext, shared ? n : 0, &got, &e) < 0) fail_msg("%s", e.msg);
    assert_same(ts, v, &got, n);
    chunk_points_free(&got);
    free(ext);
    sb_free(&blob);
    sb_free(&col);
}

static void roundtrip_rollup(const int64_t *ts, const double *v, size_t n)
{
    chunk_agg *a = xcalloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (chunk_agg){ts[i], (int64_t)(rnd() % 7), v[i], v[(i + 1) % n], v[(i + 2) % n]};
    strbuf blob = {0};
    hm_err e = {{0}};
    chunk_encode_rollup(&blob, a, n);
    chunk_agg *got;
    size_t m;
    if (chunk_decode_rollup(blob.buf, blob.len, &got, &m, &e) < 0) fail_msg("%s", e.msg);
    assert_int_equal(m, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].ts_ms, a[i].ts_ms);
        assert_int_equal(got[i].count, a[i].count);
        assert_true(bits_of(got[i].min) == bits_of(a[i].min));
        assert_true(bits_of(got[i].max) == bits_of(a[i].max));
        assert_true(bits_of(got[i].sum) == bits_of(a[i].sum));
    }
    free(got);
    free(a);
    sb_free(&blob);
}

static void test_roundtrip_every_shape(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 64, 65, 719, 720, 721, 5000};
    for (int sh = 0; sh < S_NSHAPES; sh++) {
        for (size_t si = 0; si < HM_ARRAY_LEN(sizes); si++) {
            size_t n = sizes[si];
            rng_state = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)sh << 32) ^ n;
            int64_t *ts = xmalloc((n + 1) * sizeof *ts);
            double *v = xmalloc((n + 1) * sizeof *v);
            make_series((enum shape)sh, n, ts, v);
            roundtrip_head(ts, v, n);
            roundtrip_sealed(ts, v, n, false);
            roundtrip_sealed(ts, v, n, true);
            if (n) roundtrip_rollup(ts, v, n);
            free(ts);
            free(v);
        }
    }
}

/* Random mixtures: every point drawn from a random shape, many seeds. */
static void test_roundtrip_random_mixtures(void **state)
{
    for (uint64_t seed = 1; seed <= 300; seed++) {
        rng_state = seed * 0x2545F4914F6CDD1DULL;
        size_t n = (size_t)(rnd() % 1500);
        int64_t *ts = xmalloc((n + 1) * sizeof *ts);
        double *v = xmalloc((n + 1) * sizeof *v);
        int64_t tmp_ts[1];
        double tmp_v[1];
        for (size_t i = 0; i < n; i++) {
            make_series((enum shape)(rnd() % S_NSHAPES), 1, tmp_ts, tmp_v);
            ts[i] = (rnd() % 4) ? (int64_t)((uint64_t)(i ? ts[i - 1] : 0) + rnd() % 20000) : tmp_ts[0];
            v[i] = tmp_v[0];
        }
        roundtrip_head(ts, v, n);
        roundtrip_sealed(ts, v, n, rnd() & 1);
        free(ts);
        free(v);
    }
}

/* What the codecs choose matters for size: regular data must be small. */
static void test_sizes_of_typical_series(void **state)
{
    enum { N = 720 };
    int64_t ts[N];
    double v[N];
    strbuf blob = {0}, col = {0};
    for (size_t i = 0; i < N; i++) {
        ts[i] = 1795000000000LL + (int64_t)i * 10000;
        v[i] = 1;
    }
    chunk_encode_sealed(&blob, &col, ts, v, N);
    assert_true(blob.len <= 16);       /* a constant: a few bytes in all */
    assert_true(col.len <= 40);        /* a regular clock: well under a bit a point */
    for (size_t i = 0; i < N; i++) v[i] = (double)(i * 4096);
    chunk_encode_sealed(&blob, NULL, ts, v, N);
    assert_true(blob.len <= 70);       /* a steady counter and its clock: deltas of deltas are zero */
    rng_state = 7;
    for (size_t i = 0; i < N; i++) v[i] = (double)(rnd() % 10000) / 100;
    chunk_encode_sealed(&blob, &col, ts, v, N);
    assert_true(blob.len < N * 2);     /* two decimals: scaled integers, not 64-bit XOR */
    sb_free(&blob);
    sb_free(&col);
}

static void test_corrupt_blobs_are_rejected(void **state)
{
    rng_state = 99;
    enum { N = 300 };
    int64_t ts[N];
    double v[N];
    make_series(S_GAUGE_NOISY, N, ts, v);
    strbuf blobs[3] = {{0}, {0}, {0}};
    chunk_head h = {0};
    for (size_t i = 0; i < N; i++) chunk_head_append(&h, ts[i], v[i]);
    chunk_head_blob(&h, &blobs[0]);
    chunk_head_free(&h);
    chunk_encode_sealed(&blobs[1], NULL, ts, v, N);
    chunk_agg a[N];
    for (size_t i = 0; i < N; i++) a[i] = (chunk_agg){ts[i], 6, v[i], v[i], v[i]};
    chunk_encode_rollup(&blobs[2], a, N);
    for (int b = 0; b < 3; b++) {
        /* every truncation fails cleanly (ASan checks the reads) */
        for (size_t len = 0; len < blobs[b].len; len++) {
            uint8_t *copy = xmalloc(len ? len : 1);
            memcpy(copy, blobs[b].buf, len);
            chunk_points got = {0};
            hm_err e = {{0}};
            chunk_agg *ag = NULL;
            size_t m;
            int rc = b == 2 ? chunk_decode_rollup(copy, len, &ag, &m, &e)
                            : chunk_decode(copy, len, NULL, 0, &got, &e);
            assert_int_equal(rc, -1);
            assert_non_null(strstr(e.msg, "corrupt"));
            free(ag);
            chunk_points_free(&got);
            free(copy);
        }
        /* random bit flips: either an error or some points, never a crash */
        for (int k = 0; k < 500; k++) {
            uint8_t *copy = xmalloc(blobs[b].len);
            memcpy(copy, blobs[b].buf, blobs[b].len);
            copy[rnd() % blobs[b].len] ^= (uint8_t)(1u << (rnd() % 8));
            chunk_points got = {0};
            chunk_agg *ag = NULL;
            size_t m;
            hm_err e = {{0}};
            if (b == 2) chunk_decode_rollup(copy, blobs[b].len, &ag, &m, &e);
            else chunk_decode(copy, blobs[b].len, NULL, 0, &got, &e);
            free(ag);
            chunk_points_free(&got);
            free(copy);
        }
        sb_free(&blobs[b]);
    }
    hm_err e = {{0}};
    chunk_head h2 = {0};
    static const uint8_t junk[] = {9, 9, 9};
    assert_int_equal(chunk_head_load(&h2, junk, sizeof junk, &e), -1);
    assert_non_null(strstr(e.msg, "corrupt head chunk"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_shape),
        cmocka_unit_test(test_roundtrip_random_mixtures),
        cmocka_unit_test(test_sizes_of_typical_series),
        cmocka_unit_test(test_corrupt_blobs_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
