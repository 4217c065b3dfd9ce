/* Human output: aligned tables (by display width, so CJK names line up), state colours that
 * honour NO_COLOR, and JSON printing. */
#ifndef HM_OUTPUT_H
#define HM_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "collectors/collector.h"

typedef struct hm_table hm_table;

/* A table with n columns; a header starting with '>' is right-aligned (the '>' not printed). */
hm_table *table_new(size_t ncols, const char *const *headers);
/* Adds a row of ncols strings (NULL prints as "-"). */
void table_add(hm_table *t, const char *const *cells);
/* Colours one cell of the last row by state (only used when printing with colour). */
void table_color_last(hm_table *t, size_t col, enum hm_state state);
/* Limits the printed lines to width display columns (0, the default: no limit). When the
 * table is wider, the column with the most room above its heading's width gives way one
 * column at a time, its cells cut with an ellipsis ("…" in a UTF-8 locale, "~"
 * otherwise); no column gets narrower than its heading, so a limit below the sum of the
 * headings is exceeded rather than a column dropped. */
void table_set_width(hm_table *t, int width);
/* Prints with two spaces between columns; the last column is not padded. Widths are display
 * widths (hm_display_width), so CJK cells line up. */
void table_print(hm_table *t, FILE *f, bool color);
/* Frees the table and every cell; NULL is allowed. */
void table_free(hm_table *t);
/* The number of rows added so far (the heading not counted). */
size_t table_rows(const hm_table *t);

/* The width, in columns, that human output should fit: COLUMNS when it is a positive number
 * (POSIX: the user's preference wins), else the width of the terminal on standard output, else
 * 0 when standard output is not a terminal (a pipe or a file gets whole lines). */
int hm_output_width(void);

/* The ANSI colour sequence for a state, "" when color is false. */
const char *hm_state_color(enum hm_state s, bool color);
const char *hm_color_reset(bool color);

/* Formats a sample value for people: integers without a fraction, others with up to 4
 * significant decimals ("12", "84201127936", "18.05", "0.0012"), NaN and infinities as
 * "NaN", "+Inf", "-Inf" as Prometheus writes them. */
void hm_format_value(double v, char *buf, size_t size);

/* Prints JSON (2-space indent, keys in insertion order) and a newline; steals the reference. */
void hm_json_print(FILE *f, json_t *j);

/* Streams a JSON array item by item, so a list of 10,000 hosts or a million jobs is printed
 * without building the whole document in memory: call hm_json_stream_item for index 0, 1, ...
 * (it steals the reference), then hm_json_stream_end with the count. */
void hm_json_stream_item(FILE *f, json_t *item, size_t index);
void hm_json_stream_end(FILE *f, size_t count);

#endif
