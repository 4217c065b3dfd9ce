/* Chunk codecs: Gorilla-style bit streams for the open chunk, column codecs chosen by size for
 * closed ones. Every integer difference is computed in unsigned (wrapping) arithmetic, so any
 * int64 time stamp, however far from its neighbour, round-trips exactly. */
#include "store/chunk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { HEAD_HDR = 36, BLOCK = 32 };

static inline uint64_t mask64(unsigned n)
{
    return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

static inline uint64_t zz(uint64_t x)
{
    return (x << 1) ^ (uint64_t)((int64_t)x >> 63);
}

static inline uint64_t unzz(uint64_t u)
{
    return (u >> 1) ^ (0 - (u & 1));
}

static inline unsigned bits_needed(uint64_t u)
{
    return u ? 64u - (unsigned)__builtin_clzll(u) : 0;
}

static inline uint64_t dbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static inline double bitsd(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

void chunk_points_push(chunk_points *p, int64_t ts, double v)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->ts = xrealloc(p->ts, p->cap * sizeof *p->ts);
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->ts[p->n] = ts;
    p->v[p->n] = v;
    p->n++;
}

void chunk_points_free(chunk_points *p)
{
    free(p->ts);
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------------------------------- */
/* Bytes and bits */

static void put_varint(strbuf *sb, uint64_t v)
{
    char b[10];
    size_t n = 0;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v) c |= 0x80;
        b[n++] = (char)c;
    } while (v);
    sb_add(sb, b, n);
}

static void put_le(strbuf *sb, uint64_t v, unsigned bytes)
{
    char b[8];
    for (unsigned i = 0; i < bytes; i++) b[i] = (char)(uint8_t)(v >> (8 * i));
    sb_add(sb, b, bytes);
}

typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
} rd;

static int rd_u8(rd *r, uint8_t *out)
{
    if (r->pos >= r->len) return -1;
    *out = r->p[r->pos++];
    return 0;
}

static int rd_le(rd *r, unsigned bytes, uint64_t *out)
{
    if (r->pos > r->len || r->len - r->pos < bytes) return -1;
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->pos + i] << (8 * i);
    r->pos += bytes;
    *out = v;
    return 0;
}

static int rd_varint(rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t c;
        if (rd_u8(r, &c) < 0) return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* A length-prefixed byte range. */
static int rd_slice(rd *r, const uint8_t **p, size_t *len)
{
    uint64_t n;
    if (rd_varint(r, &n) < 0 || n > r->len - r->pos) return -1;
    *p = r->p + r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return 0;
}

typedef struct bitw {
    strbuf *sb;
    uint64_t acc;
    unsigned nacc;
    uint64_t nbits;
} bitw;

static void bw_put(bitw *w, uint64_t v, unsigned n)
{
    if (n > 32) {
        bw_put(w, v >> 32, n - 32);
        n = 32;
    }
    if (n == 0) return;
    w->acc = (w->acc << n) | (v & mask64(n));
    w->nacc += n;
    w->nbits += n;
    if (w->nacc >= 8) {
        char b[5];
        size_t k = 0;
        while (w->nacc >= 8) {
            w->nacc -= 8;
            b[k++] = (char)(uint8_t)(w->acc >> w->nacc);
        }
        sb_add(w->sb, b, k);
        w->acc &= mask64(w->nacc);
    }
}

static void bw_flush(bitw *w)
{
    if (w->nacc) sb_addc(w->sb, (char)(uint8_t)(w->acc << (8 - w->nacc)));
    w->acc = 0;
    w->nacc = 0;
}

typedef struct bitr {
    const uint8_t *p;
    uint64_t nbits, pos;
    int err;
} bitr;

/* The 64 bits starting at byte `byte` (big-endian), zeros past the end. */
static inline uint64_t load64(const bitr *r, uint64_t byte)
{
    uint64_t nbytes = (r->nbits + 7) / 8, v = 0;
    if (byte + 8 <= nbytes) {
        memcpy(&v, r->p + byte, 8);
        return __builtin_bswap64(v);
    }
    for (unsigned i = 0; i < 8; i++) v = (v << 8) | (byte + i < nbytes ? r->p[byte + i] : 0);
    return v;
}

static inline uint64_t br_get(bitr *r, unsigned n)
{
    if (n == 0) return 0;
    if (n > r->nbits - r->pos) {
        r->err = 1;
        r->pos = r->nbits;
        return 0;
    }
    unsigned off = (unsigned)(r->pos & 7);
    uint64_t v;
    if (n + off <= 64) {
        v = (load64(r, r->pos >> 3) << off) >> (64 - n);
    } else { /* more than 57 bits across 9 bytes: two reads */
        unsigned hi = n - 32;
        v = (load64(r, r->pos >> 3) << off) >> (64 - hi);
        uint64_t p2 = r->pos + hi;
        v = (v << 32) | ((load64(r, p2 >> 3) << (p2 & 7)) >> 32);
    }
    r->pos += n;
    return v;
}

static inline int br_bit(bitr *r)
{
    if (r->pos >= r->nbits) {
        r->err = 1;
        return 0;
    }
    int b = (r->p[r->pos >> 3] >> (7 - (r->pos & 7))) & 1;
    r->pos++;
    return b;
}

/* ---------------------------------------------------------------------------------------- */
/* Variable-length buckets for zigzag integers: '0' zero; '10' 4 bits; '110' 8; '1110' 16;
 * '11110' 32; '11111' 64. */

static const unsigned bucket_width[] = {4, 8, 16, 32, 64};

static inline unsigned bucket_cost(uint64_t u)
{
    unsigned b = bits_needed(u);
    if (b == 0) return 1;
    if (b <= 4) return 6;
    if (b <= 8) return 11;
    if (b <= 16) return 20;
    if (b <= 32) return 37;
    return 69;
}

static void bucket_put(bitw *w, uint64_t u)
{
    unsigned b = bits_needed(u);
    if (b == 0) {
        bw_put(w, 0, 1);
        return;
    }
    for (unsigned i = 0; i < 5; i++) {
        if (b <= bucket_width[i] || i == 4) {
            /* i+1 ones then a zero, except the last bucket which has five ones */
            if (i < 4) bw_put(w, (mask64(i + 1) << 1), i + 2);
            else bw_put(w, 0x1f, 5);
            bw_put(w, u, bucket_width[i]);
            return;
        }
    }
}

static uint64_t bucket_get(bitr *r)
{
    /* the prefix: up to five ones, ended by a zero unless all five */
    if (r->pos >= r->nbits) {
        r->err = 1;
        return 0;
    }
    uint64_t avail = r->nbits - r->pos;
    uint64_t peek = load64(r, r->pos >> 3) << (r->pos & 7);
    unsigned ones = (unsigned)__builtin_clzll(~peek | 1);
    if (ones > 5) ones = 5;
    unsigned used = ones < 5 ? ones + 1 : 5;
    if (used > avail) {
        r->err = 1;
        r->pos = r->nbits;
        return 0;
    }
    r->pos += used;
    if (ones == 0) return 0;
    return br_get(r, bucket_width[ones - 1]);
}

/* ---------------------------------------------------------------------------------------- */
/* Gorilla XOR of one value against the previous one (section 4.1.2 of the paper). The 5-bit
 * leading-zero count is capped at 31; the 6-bit length holds length - 1. */

typedef struct xor_state {
    uint64_t prev;
    uint8_t lead, trail; /* 255: no window yet */
} xor_state;

static void xor_put(bitw *w, xor_state *s, uint64_t b)
{
    uint64_t x = b ^ s->prev;
    s->prev = b;
    if (!x) {
        bw_put(w, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31) lead = 31;
    if (s->lead != 255 && lead >= s->lead && trail >= s->trail) {
        bw_put(w, 2, 2);
        bw_put(w, x >> s->trail, 64 - s->lead - s->trail);
        return;
    }
    unsigned len = 64 - lead - trail;
    bw_put(w, 3, 2);
    bw_put(w, lead, 5);
    bw_put(w, len - 1, 6);
    bw_put(w, x >> trail, len);
    s->lead = (uint8_t)lead;
    s->trail = (uint8_t)trail;
}

static int xor_get(bitr *r, xor_state *s, uint64_t *out)
{
    if (r->pos >= r->nbits) return -1;
    uint64_t peek = load64(r, r->pos >> 3) << (r->pos & 7);
    if (!(peek >> 63)) { /* '0': the same value */
        r->pos++;
        *out = s->prev;
        return 0;
    }
    uint64_t x;
    if (!((peek >> 62) & 1)) { /* '10': inside the previous window */
        if (s->lead == 255 || r->nbits - r->pos < 2) return -1;
        r->pos += 2;
        x = br_get(r, 64 - s->lead - s->trail) << s->trail;
    } else { /* '11': 5 bits of leading zeros, 6 of length - 1 */
        if (r->nbits - r->pos < 13) return -1;
        unsigned lead = (unsigned)((peek >> 57) & 31), len = (unsigned)((peek >> 51) & 63) + 1;
        r->pos += 13;
        if (lead + len > 64) return -1;
        unsigned trail = 64 - lead - len;
        x = br_get(r, len) << trail;
        s->lead = (uint8_t)lead;
        s->trail = (uint8_t)trail;
    }
    if (r->err) return -1;
    s->prev ^= x;
    *out = s->prev;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Head chunks */

static void head_writer(chunk_head *h, bitw *w)
{
    w->sb = &h->stream;
    w->acc = h->acc;
    w->nacc = h->nacc;
    w->nbits = h->nbits;
}

static void head_sync(chunk_head *h, const bitw *w)
{
    h->acc = w->acc;
    h->nacc = w->nacc;
    h->nbits = (uint32_t)w->nbits;
}

void chunk_head_append(chunk_head *h, int64_t ts, double value)
{
    bitw w;
    head_writer(h, &w);
    uint64_t b = dbits(value);
    if (h->n == 0) {
        bw_put(&w, (uint64_t)ts, 64);
        bw_put(&w, b, 64);
        h->last_delta = 0;
        h->lead = 255;
        h->trail = 0;
    } else {
        uint64_t delta = (uint64_t)ts - (uint64_t)h->last_ts;
        bucket_put(&w, zz(delta - h->last_delta));
        h->last_delta = delta;
        xor_state s = {h->last_bits, h->lead, h->trail};
        xor_put(&w, &s, b);
        h->lead = s.lead;
        h->trail = s.trail;
    }
    h->last_ts = ts;
    h->last_bits = b;
    h->n++;
    head_sync(h, &w);
}

void chunk_head_blob(const chunk_head *h, strbuf *out)
{
    sb_reset(out);
    sb_addc(out, CHUNK_HEAD);
    sb_addc(out, 0);
    put_le(out, h->n, 4);
    put_le(out, (uint64_t)h->last_ts, 8);
    put_le(out, h->last_delta, 8);
    put_le(out, h->last_bits, 8);
    sb_addc(out, (char)h->lead);
    sb_addc(out, (char)h->trail);
    put_le(out, h->nbits, 4);
    if (h->stream.len) sb_add(out, h->stream.buf, h->stream.len);
    if (h->nacc) sb_addc(out, (char)(uint8_t)(h->acc << (8 - h->nacc)));
}

int chunk_head_load(chunk_head *h, const void *blob, size_t len, hm_err *e)
{
    chunk_head_free(h);
    rd r = {blob, len, 0};
    uint8_t kind, ver, lead, trail;
    uint64_t n, last_ts, last_delta, last_bits, nbits;
    if (rd_u8(&r, &kind) < 0 || kind != CHUNK_HEAD || rd_u8(&r, &ver) < 0 || ver != 0 ||
        rd_le(&r, 4, &n) < 0 || rd_le(&r, 8, &last_ts) < 0 || rd_le(&r, 8, &last_delta) < 0 ||
        rd_le(&r, 8, &last_bits) < 0 || rd_u8(&r, &lead) < 0 || rd_u8(&r, &trail) < 0 ||
        rd_le(&r, 4, &nbits) < 0)
        return hm_err_set(e, "corrupt head chunk: bad header");
    if (len - HEAD_HDR != (nbits + 7) / 8 || (n == 0) != (nbits == 0))
        return hm_err_set(e, "corrupt head chunk: %llu bits in %zu bytes", (unsigned long long)nbits,
                          len - HEAD_HDR);
    const uint8_t *p = (const uint8_t *)blob + HEAD_HDR;
    size_t whole = (size_t)(nbits / 8);
    if (whole) sb_add(&h->stream, p, whole);
    h->nacc = (unsigned)(nbits % 8);
    h->acc = h->nacc ? (uint64_t)(p[whole] >> (8 - h->nacc)) : 0;
    h->n = (uint32_t)n;
    h->last_ts = (int64_t)last_ts;
    h->last_delta = last_delta;
    h->last_bits = last_bits;
    h->lead = lead;
    h->trail = trail;
    h->nbits = (uint32_t)nbits;
    return 0;
}

void chunk_head_free(chunk_head *h)
{
    sb_free(&h->stream);
    memset(h, 0, sizeof *h);
}

static int head_decode(const uint8_t *blob, size_t len, chunk_points *out, hm_err *e)
{
    rd r = {blob, len, 2};
    uint64_t n = 0, nbits;
    if (len < HEAD_HDR || rd_le(&r, 4, &n) < 0)
        return hm_err_set(e, "corrupt head chunk: bad header");
    r.pos = HEAD_HDR - 4;
    if (rd_le(&r, 4, &nbits) < 0 || len - HEAD_HDR != (nbits + 7) / 8)
        return hm_err_set(e, "corrupt head chunk: bad length");
    bitr br = {blob + HEAD_HDR, nbits, 0, 0};
    if (n == 0) return 0;
    int64_t ts = (int64_t)br_get(&br, 64);
    xor_state s = {br_get(&br, 64), 255, 0};
    if (br.err) return hm_err_set(e, "corrupt head chunk: truncated");
    chunk_points_push(out, ts, bitsd(s.prev));
    uint64_t delta = 0;
    for (uint64_t i = 1; i < n; i++) {
        delta += unzz(bucket_get(&br));
        ts = (int64_t)((uint64_t)ts + delta);
        uint64_t b;
        if (xor_get(&br, &s, &b) < 0 || br.err)
            return hm_err_set(e, "corrupt head chunk: truncated at point %llu of %llu",
                              (unsigned long long)i, (unsigned long long)n);
        chunk_points_push(out, ts, bitsd(b));
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Integer columns */

enum { INT_DOD = 1, INT_BLOCK = 2 };

static unsigned block_cost(const uint64_t *u, size_t n)
{
    unsigned long long bits = 0;
    for (size_t i = 0; i < n; i += BLOCK) {
        size_t m = n - i < BLOCK ? n - i : BLOCK;
        unsigned w = 0;
        for (size_t j = 0; j < m; j++) {
            unsigned b = bits_needed(u[i + j]);
            if (b > w) w = b;
        }
        bits += 7 + (unsigned long long)m * w;
    }
    return bits > 0xffffffffu ? 0xffffffffu : (unsigned)bits;
}

static unsigned buckets_cost(const uint64_t *u, size_t n)
{
    unsigned long long bits = 0;
    for (size_t i = 0; i < n; i++) bits += bucket_cost(u[i]);
    return bits > 0xffffffffu ? 0xffffffffu : (unsigned)bits;
}

/* Deltas of deltas keep the first delta in the header, so a regular clock costs nothing after
 * it even in block mode. */
void chunk_encode_ints(strbuf *out, const int64_t *x, size_t n)
{
    if (n == 0) {
        sb_addc(out, 0);
        return;
    }
    size_t m = n - 1;
    uint64_t *d = xmalloc((m ? m : 1) * sizeof *d), *dd = xmalloc((m ? m : 1) * sizeof *dd);
    uint64_t prev_delta = 0, first_delta = 0;
    for (size_t i = 0; i < m; i++) {
        uint64_t delta = (uint64_t)x[i + 1] - (uint64_t)x[i];
        d[i] = zz(delta);
        if (i == 0) first_delta = delta;
        else dd[i - 1] = zz(delta - prev_delta);
        prev_delta = delta;
    }
    size_t mdd = m ? m - 1 : 0;
    unsigned hdr = m ? 8 * (bits_needed(zz(first_delta)) / 7 + 1) : 0;
    unsigned cost[4] = {buckets_cost(d, m), buckets_cost(dd, mdd) + hdr, block_cost(d, m),
                        block_cost(dd, mdd) + hdr};
    unsigned mode = 0;
    for (unsigned i = 1; i < 4; i++)
        if (cost[i] < cost[mode]) mode = i;
    const uint64_t *u = (mode & INT_DOD) ? dd : d;
    size_t k_total = (mode & INT_DOD) ? mdd : m;
    sb_addc(out, (char)mode);
    put_varint(out, zz((uint64_t)x[0]));
    if ((mode & INT_DOD) && m) put_varint(out, zz(first_delta));
    bitw w = {out, 0, 0, 0};
    if (mode & INT_BLOCK) {
        for (size_t i = 0; i < k_total; i += BLOCK) {
            size_t k = k_total - i < BLOCK ? k_total - i : BLOCK;
            unsigned wd = 0;
            for (size_t j = 0; j < k; j++) {
                unsigned b = bits_needed(u[i + j]);
                if (b > wd) wd = b;
            }
            bw_put(&w, wd, 7);
            for (size_t j = 0; j < k; j++) bw_put(&w, u[i + j], wd);
        }
    } else {
        for (size_t i = 0; i < k_total; i++) bucket_put(&w, u[i]);
    }
    bw_flush(&w);
    free(d);
    free(dd);
}

int chunk_decode_ints(const void *p, size_t len, int64_t *x, size_t n, hm_err *e)
{
    rd r = {p, len, 0};
    uint8_t mode;
    if (rd_u8(&r, &mode) < 0 || (mode & ~3u)) return hm_err_set(e, "corrupt chunk: bad integer column");
    if (n == 0) return 0;
    uint64_t first, delta = 0;
    if (rd_varint(&r, &first) < 0) return hm_err_set(e, "corrupt chunk: bad integer column");
    uint64_t v = unzz(first);
    x[0] = (int64_t)v;
    size_t i = 1;
    if ((mode & INT_DOD) && n > 1) {
        uint64_t fd;
        if (rd_varint(&r, &fd) < 0) return hm_err_set(e, "corrupt chunk: bad integer column");
        delta = unzz(fd);
        v += delta;
        x[i++] = (int64_t)v;
    }
    bitr br = {r.p + r.pos, (uint64_t)(r.len - r.pos) * 8, 0, 0};
    while (i < n) {
        size_t k = 1;
        unsigned wd = 0;
        if (mode & INT_BLOCK) {
            wd = (unsigned)br_get(&br, 7);
            if (wd > 64) return hm_err_set(e, "corrupt chunk: block width %u", wd);
            k = n - i < BLOCK ? n - i : BLOCK;
        }
        for (size_t j = 0; j < k; j++, i++) {
            uint64_t u = (mode & INT_BLOCK) ? br_get(&br, wd) : bucket_get(&br);
            if (mode & INT_DOD) delta += unzz(u);
            else delta = unzz(u);
            v += delta;
            x[i] = (int64_t)v;
        }
        if (br.err) return hm_err_set(e, "corrupt chunk: integer column truncated");
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Double columns */

enum { DBL_CONST = 0, DBL_XOR = 1, DBL_SCALED = 2 };

static const double p10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
#define EXACT_INT_LIMIT 9007199254740992.0 /* 2^53 */

/* The smallest d with v == k / 10^d for an integer |k| < 2^53, or -1. Negative zero, NaN and
 * infinities have none (they keep their bits only through XOR). */
static int min_scale(double v)
{
    if (!isfinite(v)) return -1;
    if (v == 0) return signbit(v) ? -1 : 0;
    for (int d = 0; d < 16; d++) {
        double x = v * p10[d];
        if (!(fabs(x) < EXACT_INT_LIMIT)) return -1;
        double k = nearbyint(x);
        if (k / p10[d] == v) return d;
    }
    return -1;
}

/* Scales every value by 10^d into k; false when one of them is not exactly k / 10^d. */
static bool scale_all(const double *v, size_t n, int *d_out, int64_t *k)
{
    int d = 0;
    for (size_t i = 0; i < n; i++) {
        int di = min_scale(v[i]);
        if (di < 0) return false;
        if (di > d) d = di;
    }
    for (size_t i = 0; i < n; i++) {
        double x = nearbyint(v[i] * p10[d]);
        if (!(fabs(x) < EXACT_INT_LIMIT) || x / p10[d] != v[i]) return false;
        k[i] = (int64_t)x;
    }
    *d_out = d;
    return true;
}

static void xor_column(strbuf *out, const double *v, size_t n)
{
    bitw w = {out, 0, 0, 0};
    xor_state s = {0, 255, 0};
    if (n) {
        s.prev = dbits(v[0]);
        bw_put(&w, s.prev, 64);
    }
    for (size_t i = 1; i < n; i++) xor_put(&w, &s, dbits(v[i]));
    bw_flush(&w);
}

void chunk_encode_doubles(strbuf *out, const double *v, size_t n)
{
    bool same = n > 0;
    for (size_t i = 1; i < n && same; i++) same = dbits(v[i]) == dbits(v[0]);
    if (same) {
        sb_addc(out, DBL_CONST);
        put_le(out, dbits(v[0]), 8);
        return;
    }
    strbuf xr = {0};
    sb_addc(&xr, DBL_XOR);
    xor_column(&xr, v, n);
    int64_t *k = xmalloc((n ? n : 1) * sizeof *k);
    int d;
    if (scale_all(v, n, &d, k)) {
        strbuf sc = {0};
        sb_addc(&sc, DBL_SCALED);
        sb_addc(&sc, (char)d);
        chunk_encode_ints(&sc, k, n);
        if (sc.len < xr.len) {
            sb_free(&xr);
            xr = sc;
        } else {
            sb_free(&sc);
        }
    }
    free(k);
    sb_add(out, xr.buf, xr.len);
    sb_free(&xr);
}

int chunk_decode_doubles(const void *p, size_t len, double *v, size_t n, hm_err *e)
{
    rd r = {p, len, 0};
    uint8_t codec;
    if (rd_u8(&r, &codec) < 0) return hm_err_set(e, "corrupt chunk: empty value column");
    switch (codec) {
    case DBL_CONST: {
        uint64_t b;
        if (rd_le(&r, 8, &b) < 0) return hm_err_set(e, "corrupt chunk: constant column truncated");
        for (size_t i = 0; i < n; i++) v[i] = bitsd(b);
        return 0;
    }
    case DBL_XOR: {
        if (n == 0) return 0;
        bitr br = {r.p + r.pos, (uint64_t)(r.len - r.pos) * 8, 0, 0};
        xor_state s = {br_get(&br, 64), 255, 0};
        if (br.err) return hm_err_set(e, "corrupt chunk: value column truncated");
        v[0] = bitsd(s.prev);
        for (size_t i = 1; i < n; i++) {
            uint64_t b;
            if (xor_get(&br, &s, &b) < 0)
                return hm_err_set(e, "corrupt chunk: value column truncated at point %zu of %zu", i, n);
            v[i] = bitsd(b);
        }
        return 0;
    }
    case DBL_SCALED: {
        uint8_t d;
        if (rd_u8(&r, &d) < 0 || d > 15) return hm_err_set(e, "corrupt chunk: bad scale");
        int64_t *k = xmalloc((n ? n : 1) * sizeof *k);
        int rc = chunk_decode_ints(r.p + r.pos, r.len - r.pos, k, n, e);
        for (size_t i = 0; rc == 0 && i < n; i++) v[i] = (double)k[i] / p10[d];
        free(k);
        return rc;
    }
    default:
        return hm_err_set(e, "corrupt chunk: unknown value codec %u", codec);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Sealed and rollup chunks */

static void put_column(strbuf *out, const strbuf *col)
{
    put_varint(out, col->len);
    if (col->len) sb_add(out, col->buf, col->len);
}

void chunk_encode_sealed(strbuf *out, strbuf *ts_col, const int64_t *ts, const double *v,
                         size_t n)
{
    sb_reset(out);
    sb_addc(out, CHUNK_SEALED);
    put_varint(out, n);
    if (ts_col) {
        sb_reset(ts_col);
        chunk_encode_ints(ts_col, ts, n);
        sb_addc(out, 1);
    } else {
        strbuf col = {0};
        chunk_encode_ints(&col, ts, n);
        sb_addc(out, 0);
        put_column(out, &col);
        sb_free(&col);
    }
    chunk_encode_doubles(out, v, n);
}

void chunk_encode_rollup(strbuf *out, const chunk_agg *a, size_t n)
{
    sb_reset(out);
    sb_addc(out, CHUNK_ROLLUP);
    put_varint(out, n);
    size_t m = n ? n : 1;
    int64_t *ts = xmalloc(m * sizeof *ts), *cnt = xmalloc(m * sizeof *cnt);
    double *mn = xmalloc(m * sizeof *mn), *mx = xmalloc(m * sizeof *mx), *sum = xmalloc(m * sizeof *sum);
    for (size_t i = 0; i < n; i++) {
        ts[i] = a[i].ts_ms;
        cnt[i] = a[i].count;
        mn[i] = a[i].min;
        mx[i] = a[i].max;
        sum[i] = a[i].sum;
    }
    strbuf col = {0};
    chunk_encode_ints(&col, ts, n);
    put_column(out, &col);
    sb_reset(&col);
    chunk_encode_ints(&col, cnt, n);
    put_column(out, &col);
    const double *cols[] = {mn, mx, sum};
    for (int c = 0; c < 3; c++) {
        sb_reset(&col);
        chunk_encode_doubles(&col, cols[c], n);
        put_column(out, &col);
    }
    sb_free(&col);
    free(ts);
    free(cnt);
    free(mn);
    free(mx);
    free(sum);
}

/* An integer column spends at least 7 bits per block of 32 values: more values than this in
 * `len` bytes means a corrupt count (checked before allocating for them). */
bool chunk_count_plausible(size_t n, size_t len)
{
    return n <= len * 37 + 1;
}

int chunk_info(const void *blob, size_t len, enum chunk_kind *kind, size_t *n, int *ts_external,
               hm_err *e)
{
    rd r = {blob, len, 0};
    uint8_t k;
    if (rd_u8(&r, &k) < 0) return hm_err_set(e, "corrupt chunk: empty");
    *ts_external = 0;
    if (k == CHUNK_HEAD) {
        uint64_t cnt;
        if (len < HEAD_HDR) return hm_err_set(e, "corrupt chunk: short head");
        r.pos = 2;
        rd_le(&r, 4, &cnt);
        *kind = CHUNK_HEAD;
        *n = (size_t)cnt;
        return 0;
    }
    if (k != CHUNK_SEALED && k != CHUNK_ROLLUP) return hm_err_set(e, "corrupt chunk: unknown kind %u", k);
    uint64_t cnt;
    if (rd_varint(&r, &cnt) < 0 || cnt > SIZE_MAX / 16) return hm_err_set(e, "corrupt chunk: bad count");
    if (k == CHUNK_SEALED) {
        uint8_t where;
        if (rd_u8(&r, &where) < 0 || where > 1) return hm_err_set(e, "corrupt chunk: bad time column");
        *ts_external = where;
    }
    *kind = (enum chunk_kind)k;
    *n = (size_t)cnt;
    return 0;
}

int chunk_decode(const void *blob, size_t len, const int64_t *ext_ts, size_t ext_n,
                 chunk_points *out, hm_err *e)
{
    enum chunk_kind kind;
    size_t n;
    int ext;
    if (chunk_info(blob, len, &kind, &n, &ext, e) < 0) return -1;
    if (kind == CHUNK_HEAD) return head_decode(blob, len, out, e);
    if (kind != CHUNK_SEALED) return hm_err_set(e, "corrupt chunk: a rollup where points were expected");
    rd r = {blob, len, 1};
    uint64_t cnt;
    uint8_t where;
    rd_varint(&r, &cnt);
    rd_u8(&r, &where);
    if (n == 0) return 0;
    int64_t *ts = NULL;
    if (ext) {
        if (!ext_ts || ext_n != n)
            return hm_err_set(e, "corrupt chunk: %zu points but a shared time column of %zu", n, ext_n);
    } else {
        const uint8_t *c;
        size_t clen;
        if (rd_slice(&r, &c, &clen) < 0 || !chunk_count_plausible(n, clen))
            return hm_err_set(e, "corrupt chunk: time column truncated");
        ts = xmalloc(n * sizeof *ts);
        if (chunk_decode_ints(c, clen, ts, n, e) < 0) {
            free(ts);
            return -1;
        }
        ext_ts = ts;
    }
    size_t base = out->n;
    while (out->cap < base + n) {
        out->cap = out->cap ? out->cap * 2 : 256;
        out->ts = xrealloc(out->ts, out->cap * sizeof *out->ts);
        out->v = xrealloc(out->v, out->cap * sizeof *out->v);
    }
    int rc = chunk_decode_doubles(r.p + r.pos, r.len - r.pos, out->v + base, n, e);
    if (rc == 0) {
        memcpy(out->ts + base, ext_ts, n * sizeof *ext_ts);
        out->n = base + n;
    }
    free(ts);
    return rc;
}

int chunk_decode_rollup(const void *blob, size_t len, chunk_agg **out, size_t *n_out, hm_err *e)
{
    *out = NULL;
    *n_out = 0;
    enum chunk_kind kind;
    size_t n;
    int ext;
    if (chunk_info(blob, len, &kind, &n, &ext, e) < 0) return -1;
    if (kind != CHUNK_ROLLUP) return hm_err_set(e, "corrupt chunk: points where a rollup was expected");
    rd r = {blob, len, 1};
    uint64_t cnt;
    rd_varint(&r, &cnt);
    if (!chunk_count_plausible(n, len)) return hm_err_set(e, "corrupt chunk: bad rollup count");
    size_t m = n ? n : 1;
    int64_t *ts = xmalloc(m * sizeof *ts), *c = xmalloc(m * sizeof *c);
    double *col[3] = {xmalloc(m * sizeof(double)), xmalloc(m * sizeof(double)),
                      xmalloc(m * sizeof(double))};
    const uint8_t *p;
    size_t plen;
    int rc = -1;
    if (rd_slice(&r, &p, &plen) < 0) goto truncated;
    if (chunk_decode_ints(p, plen, ts, n, e) < 0) goto out;
    if (rd_slice(&r, &p, &plen) < 0) goto truncated;
    if (chunk_decode_ints(p, plen, c, n, e) < 0) goto out;
    for (int i = 0; i < 3; i++) {
        if (rd_slice(&r, &p, &plen) < 0) goto truncated;
        if (chunk_decode_doubles(p, plen, col[i], n, e) < 0) goto out;
    }
    chunk_agg *a = xmalloc(m * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (chunk_agg){ts[i], c[i], col[0][i], col[1][i], col[2][i]};
    *out = a;
    *n_out = n;
    rc = 0;
    goto out;
truncated:
    hm_err_set(e, "corrupt chunk: rollup column truncated");
out:
    free(ts);
    free(c);
    for (int i = 0; i < 3; i++) free(col[i]);
    return rc;
}
