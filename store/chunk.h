/* Compressed chunks of time series, the unit the store keeps in SQLite blobs.
 *
 * Timestamps are integer milliseconds; values are IEEE-754 doubles and come back bit-exact
 * (NaN payloads, infinities and negative zero included). Three blob kinds exist:
 *
 *   head    the open chunk of a series, appended to cheaply: one bit stream interleaving
 *           delta-of-delta timestamps and XOR-compressed values, as in Gorilla (Pelkonen et
 *           al., "Gorilla: A Fast, Scalable, In-Memory Time Series Database", VLDB 2015,
 *           section 4.1), with the encoder's state kept in a fixed header so that appending
 *           never decodes what is there;
 *   sealed  a closed chunk, re-encoded column by column with the smallest of the codecs below;
 *           its timestamp column may live outside the blob (shared by every series collected
 *           at the same instants);
 *   rollup  aggregates (time, count, min, max, sum) of a tier of the store, column by column.
 *
 * Columns of integers (timestamps, scaled values) are stored as a first value then deltas or
 * deltas of deltas (zigzag), either with Gorilla-style variable-length buckets or bit-packed
 * in blocks of 32 with one width per block. Columns of doubles are a constant, Gorilla XOR, or
 * scaled integers (values that are exactly k / 10^d for an integer k, d <= 15: counts, bytes,
 * percentages with a few decimals). The encoder measures every choice and keeps the smallest.
 *
 * Byte layouts (little-endian fixed integers, LEB128 varints):
 *   head:    u8 1, u8 0, u32 n, u64 last_ts, u64 last_delta, u64 last_bits, u8 lead, u8 trail,
 *            u32 nbits, then ceil(nbits/8) bytes of stream.
 *   sealed:  u8 2, varint n, u8 where (0: varint len + int column follow; 1: the column is
 *            stored elsewhere), then the value column.
 *   rollup:  u8 3, varint n, then five length-prefixed columns: time (int), count, min, max,
 *            sum (double columns).
 *   int column:    u8 mode (bit 0: deltas of deltas, bit 1: block-packed), varint zigzag(first),
 *                  bit stream.
 *   double column: u8 codec: 0 constant (u64 bits); 1 XOR (bit stream); 2 scaled (u8 d, int
 *                  column).
 * Decoders check every length and never read outside the blob: corrupt input is an error,
 * not a crash. */
#ifndef HM_CHUNK_H
#define HM_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

enum chunk_kind { CHUNK_HEAD = 1, CHUNK_SEALED = 2, CHUNK_ROLLUP = 3 };

/* A growable array of raw points. Zero-initialise before use; free with chunk_points_free. */
typedef struct chunk_points {
    int64_t *ts;
    double *v;
    size_t n, cap;
} chunk_points;

/* Appends one point (growing the arrays). */
void chunk_points_push(chunk_points *p, int64_t ts, double v);
/* Frees the arrays and zeroes p. */
void chunk_points_free(chunk_points *p);

/* One aggregate of a rollup tier: the period starting at ts_ms; count, min, max and sum of
 * the samples in it that are not NaN. */
typedef struct chunk_agg {
    int64_t ts_ms;
    int64_t count;
    double min, max, sum;
} chunk_agg;

/* The open chunk of a series, in memory. Zero-initialise, then either chunk_head_load an
 * existing blob or start appending; chunk_head_blob gives the bytes to store. */
typedef struct chunk_head {
    strbuf stream;     /* whole bytes written so far */
    uint64_t acc;      /* bits not yet in a whole byte (the low `nacc` bits) */
    unsigned nacc;
    uint32_t n;
    int64_t last_ts;
    uint64_t last_delta;
    uint64_t last_bits;
    uint8_t lead, trail; /* the previous XOR's meaningful bit window; 255 when none yet */
    uint32_t nbits;
} chunk_head;

/* Loads a head blob for appending. Returns 0, or -1 (e: "corrupt head chunk: ...") when the
 * blob is not a well-formed head chunk. */
int chunk_head_load(chunk_head *h, const void *blob, size_t len, hm_err *e);
/* Appends one point. The caller appends in strictly increasing time (the store merges
 * anything else by re-encoding); equal or earlier times are still encoded faithfully. */
void chunk_head_append(chunk_head *h, int64_t ts_ms, double value);
/* The blob of the head as it stands, into out (replacing its content). */
void chunk_head_blob(const chunk_head *h, strbuf *out);
/* Frees the stream and zeroes h (ready for reuse). */
void chunk_head_free(chunk_head *h);

/* Encodes a closed chunk of n points (any order the caller chose; the store passes them
 * sorted by time, one per time stamp). When ts_col is non-NULL the time column is written
 * there instead of into the blob (the blob then says "stored elsewhere"), so that equal
 * columns can be shared; otherwise it is inline. out is replaced. */
void chunk_encode_sealed(strbuf *out, strbuf *ts_col, const int64_t *ts, const double *v,
                         size_t n);
/* Encodes n aggregates as a rollup chunk into out (replaced). */
void chunk_encode_rollup(strbuf *out, const chunk_agg *a, size_t n);

/* What a blob is: its kind, its number of points, whether its time column is stored
 * elsewhere. Returns 0, or -1 with e set when the header is malformed. */
int chunk_info(const void *blob, size_t len, enum chunk_kind *kind, size_t *n, int *ts_external,
               hm_err *e);

/* Decodes a head or sealed blob, appending its points to out. A sealed blob whose time
 * column is external needs it in ext_ts/ext_n (as decoded by chunk_decode_ints); ext_n must
 * equal the chunk's count. Returns 0, or -1 with e set ("corrupt chunk: ...") on malformed
 * input, out then holding what was decoded before the fault. */
int chunk_decode(const void *blob, size_t len, const int64_t *ext_ts, size_t ext_n,
                 chunk_points *out, hm_err *e);
/* Decodes a rollup blob into a newly allocated array (*out, *n). Returns 0 or -1 (e set). */
int chunk_decode_rollup(const void *blob, size_t len, chunk_agg **out, size_t *n, hm_err *e);

/* The integer column codec on its own (for shared time columns): encodes n integers into out
 * (appended), and decodes exactly n integers from p/len into x. Decoding returns 0 or -1. */
void chunk_encode_ints(strbuf *out, const int64_t *x, size_t n);
int chunk_decode_ints(const void *p, size_t len, int64_t *x, size_t n, hm_err *e);

/* Whether n integers can be in an integer column of len bytes (at least 7 bits per block of
 * 32): callers check a count read from storage before allocating for it. */
bool chunk_count_plausible(size_t n, size_t len);

/* The double column codec on its own, same conventions. */
void chunk_encode_doubles(strbuf *out, const double *v, size_t n);
int chunk_decode_doubles(const void *p, size_t len, double *v, size_t n, hm_err *e);

#endif
