/* Reports: the seven report types of the seed's 报告管理 (DESIGN.md section 5), built from the
 * console API (hosts, jobs, targets) for one console/tenant, a time range and a time zone, and
 * written as CSV (RFC 4180), XLSX (ECMA-376 through libxlsxwriter), JSON or HTML.
 *
 * A report is a list of typed columns and rows of typed values. Builders stream rows into a
 * writer; writers write a temporary file next to the target and rename it into place only
 * when the whole report succeeded, so a failure never leaves a partial file. */
#ifndef HM_REPORT_H
#define HM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "console/console.h"
#include "lib/util.h"

enum report_type {
    REPORT_HOST_SUMMARY,
    REPORT_SYNC_DETAIL,
    REPORT_DRILL_DETAIL,
    REPORT_TAKEOVER_DETAIL,
    REPORT_DAILY_SUMMARY,
    REPORT_GATEWAY_SUMMARY,
    REPORT_GATEWAY_DETAIL,
    REPORT_TYPE_N
};

enum report_format { REPORT_CSV, REPORT_XLSX, REPORT_JSON, REPORT_HTML, REPORT_FORMAT_N };

enum report_lang { REPORT_EN, REPORT_ZH };

/* What a column holds, which decides how each format writes it. */
enum report_ctype {
    RC_TEXT,     /* s */
    RC_INT,      /* i */
    RC_NUM,      /* d */
    RC_TIME,     /* i: epoch milliseconds, shown in the report's zone with its offset */
    RC_DATE,     /* i: a local date as days since 1970-01-01 */
    RC_DURATION, /* i: seconds; seconds in CSV/JSON, human form in HTML/XLSX */
    RC_PERCENT,  /* d: 0-100 */
};

struct report_col {
    const char *key; /* JSON key, stable */
    const char *en, *zh; /* header in English and Chinese */
    enum report_ctype type;
    int width; /* XLSX column width in characters */
};

struct report_type_info {
    const char *name;       /* CLI name, "host-summary" */
    const char *zh, *en;    /* the report's name: the seed's Chinese name and an English one */
    const char *row_en;     /* what one row is, for `report types` */
    bool ranged;            /* rows depend on --from/--to (the gateway reports show the present) */
    const struct report_col *cols;
    size_t ncols;
};

/* The type table entry (t < REPORT_TYPE_N). */
const struct report_type_info *report_type_get(enum report_type t);
/* The type named s exactly; -1 when none. */
int report_type_parse(const char *s);
/* "csv", "xlsx", "json", "html"; report_format_parse returns -1 for anything else. */
const char *report_format_name(enum report_format f);
int report_format_parse(const char *s);
/* The format a file name's extension asks for (.csv, .xlsx, .json, .html, .htm, any case);
 * -1 when it names none. */
int report_format_of_path(const char *path);
/* "en"/"english" or "zh"/"zh_CN"/"chinese": the --lang value; -1 for anything else. */
int report_lang_parse(const char *s);
/* The header language of the environment: Chinese when the first set of LC_ALL, LC_MESSAGES
 * and LANG starts with "zh_CN" or "zh_SG" or is "zh", English otherwise. */
enum report_lang report_lang_from_env(void);

/* One cell. */
typedef struct report_val {
    bool null; /* no value: empty in CSV, null in JSON, "-" in HTML, a blank cell in XLSX */
    const char *s;
    int64_t i;
    double d;
} report_val;

/* A summary figure (HTML's summary, JSON's "summary", XLSX's parameters sheet). */
typedef struct report_fig {
    const char *key, *en, *zh;
    enum report_ctype type;
    report_val v;
} report_fig;

/* Everything a writer shows besides the rows. */
typedef struct report_meta {
    enum report_type type;
    const struct report_type_info *info;
    enum report_lang lang;
    const char *console;    /* console/tenant name, "default" for the unnamed [console] */
    const char *url;        /* the console's API URL */
    const char *zone;       /* tz name of the report's zone (open while writing) */
    int64_t from_ms, to_ms; /* the range, [from, to); ignored when !info->ranged */
    int64_t generated_ms;
    const char *hosts;      /* the --hosts filter as given, or NULL */
    bool bom;               /* CSV: start with a UTF-8 byte order mark */
} report_meta;

/* --- Time ranges (in the zone opened with tz_open) --- */

/* Parses a --from (end false) or --to (end true) value into epoch ms:
 *   "now"; "-30d", "-12h", "-90m", "-2w", "-1h30m": that long before now (exact durations);
 *   "YYYY-MM-DD", "today", "yesterday": a local day: its first instant for --from, the first
 *     instant of the next day for --to, so --to names the last day included;
 *   "YYYY-MM-DDTHH:MM[:SS]" (or a space for T): a local time in the zone;
 *   the same with "Z" or "+08:00"/"-0330": that absolute time.
 * Returns 0, or -1 with e set ("invalid time 'x': expected YYYY-MM-DD, ...", "invalid date
 * '2026-02-30'"). */
int report_parse_time(const char *s, bool end, int64_t now_ms, int64_t *out_ms, hm_err *e);

/* --- CSV (RFC 4180) --- */

/* Appends one field: as it is when it holds no comma, double quote, CR or LF and does not start
 * or end with a space; otherwise in double quotes with every double quote doubled (RFC 4180
 * section 2, rules 5-7). NULL appends nothing (an empty field). */
void report_csv_field(strbuf *sb, const char *s);

/* --- Formatting shared by the writers --- */

/* Human form of a duration in seconds: "45s", "12m 30s", "1h 2m 5s", "3d 4h 5m"; "0s". */
void report_format_duration(int64_t s, char *buf, size_t size);
/* A local date (days since 1970-01-01) as "2026-11-21". */
void report_format_date(int64_t day, char *buf, size_t size);
/* A number without needless digits: "200", "12.5", "0.333333" (at most 6 decimals, never an
 * exponent). */
void report_format_number(double d, char *buf, size_t size);
/* The text of a value as CSV and JSON write it: text as it is, integers and durations (whole
 * seconds) in decimal, numbers by report_format_number, percentages with one decimal ("97.5"),
 * times as "2026-11-21T18:00:00+08:00" in the open zone, dates as "2026-11-21". Returns v->s,
 * or buf (at least 40 bytes) holding the text, or NULL for a null value. */
const char *report_val_text(enum report_ctype t, const report_val *v, char *buf, size_t size);
/* The header of column c in language lang. */
const char *report_col_title(const struct report_col *c, enum report_lang lang);

/* One line of a report's parameters (HTML header, XLSX parameters sheet, JSON "report"). */
typedef struct report_param {
    const char *key, *en, *zh;
    const char *value; /* NULL: none (JSON null) */
    char buf[512];
} report_param;

enum { REPORT_NPARAMS = 10 };

/* Fills out[REPORT_NPARAMS] from m: type, name (in m->lang), console, url, from, to (times
 * with offset in the open zone; NULL for the gateway reports, which show the present),
 * time_zone, generated_at, hosts (NULL without a filter), hmctl_version. Returns the count. */
size_t report_meta_params(const report_meta *m, report_param *out);

/* --- Writers --- */

typedef struct report_writer report_writer;

struct report_writer_ops {
    int (*row)(report_writer *w, const report_val *vals, hm_err *e);
    int (*finish)(report_writer *w, const report_fig *figs, size_t nfigs, hm_err *e);
    void (*free)(report_writer *w);
};

/* The part every writer shares; each format's writer embeds it first. */
struct report_writer {
    const struct report_writer_ops *ops;
    const report_meta *meta;
    const char *path; /* the file being written (the temporary one) */
    uint64_t rows;
};

/* Opens a writer of format f that writes `path` (which it creates or truncates) and writes the
 * header. Returns NULL with e set ("cannot write 'PATH': reason", libxlsxwriter's error). */
report_writer *report_writer_open(enum report_format f, const char *path, const report_meta *m,
                                  hm_err *e);
/* Writes one row of m->info->ncols values. Returns 0 or -1 with e set (a write error). */
int report_writer_row(report_writer *w, const report_val *vals, hm_err *e);
/* Writes the summary and the end of the file and closes it. Returns 0 or -1 with e set. */
int report_writer_finish(report_writer *w, const report_fig *figs, size_t nfigs, hm_err *e);
/* Frees the writer (closing the file if finish was not reached). */
void report_writer_free(report_writer *w);

report_writer *report_csv_open(const char *path, const report_meta *m, hm_err *e);
report_writer *report_json_open(const char *path, const report_meta *m, hm_err *e);
report_writer *report_html_open(const char *path, const report_meta *m, hm_err *e);
report_writer *report_xlsx_open(const char *path, const report_meta *m, hm_err *e);

/* --- The output file --- */

/* A report's destination: a temporary file in the target's directory (or $TMPDIR for
 * standard output) that becomes the target on commit. */
typedef struct report_out {
    char *target; /* NULL for standard output */
    char *tmp;
} report_out;

/* Creates the temporary file (mode 0600 until commit) for `target` ("-" or NULL: standard
 * output). Returns 0, or -1 with e set ("cannot write 'DIR/x.csv': No such file or
 * directory"). */
int report_out_open(report_out *o, const char *target, hm_err *e);
/* Gives the file the mode a new file gets (0666 less the umask) and renames it onto the
 * target, or copies it to standard output; then removes the temporary file. Returns 0 or -1
 * with e set. */
int report_out_commit(report_out *o, hm_err *e);
/* Removes the temporary file; the target is left as it was. */
void report_out_abort(report_out *o);

/* --- Running a report --- */

typedef struct report_params {
    enum report_type type;
    enum report_format format;
    enum report_lang lang;
    const char *console_name; /* NULL: the unnamed [console] */
    int64_t from_ms, to_ms;   /* [from, to) */
    int64_t now_ms;           /* generation time (hm_now_ms) */
    const char *zone;         /* the open zone's name */
    strvec hosts;             /* host names or ids to keep; empty keeps every host */
    const char *hosts_arg;
    bool bom;
    const char *output;       /* NULL or "-": standard output */
} report_params;

/* Builds the report from console c and writes it to p->output: temporary file, rows, rename.
 * The time zone must be open (tz_open). Returns 0, or -1 with e set: a console error ("cannot
 * read jobs from console 'x': https://...: HTTP 500: ..."), a write error; in both cases no
 * file is left behind and an existing target is untouched. */
int report_run(console *c, const report_params *p, hm_err *e);

#endif
