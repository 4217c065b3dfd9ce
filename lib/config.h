/* Configuration: INI files parsed with inih, checked against a schema of known sections and
 * keys (lib/config-schema.c), with built-in defaults for a standard console host.
 *
 * Files, in order: -c FILE or $HMCTL_CONFIG when given (alone); otherwise /etc/hmctl/hmctl.conf
 * plus /etc/hmctl/conf.d/ *.conf in name order; a non-root user without /etc/hmctl/hmctl.conf
 * falls back to $XDG_CONFIG_HOME/hmctl/hmctl.conf (~/.config/hmctl/hmctl.conf). No file at all
 * is not an error: the defaults describe a standard console host.
 *
 * Sections are either plain ("[docker]") or named ("[console \"tenant-a\"]"); the same plain
 * section may appear in several files, later keys overriding earlier ones. */
#ifndef HM_CONFIG_H
#define HM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

enum cfg_type {
    CFG_STRING,
    CFG_PATH,
    CFG_DURATION, /* "10s", "5m" ... (util.h hm_parse_duration) */
    CFG_BOOL,
    CFG_INT,
    CFG_NUMBER,   /* a real number, e.g. a threshold in percent 0-100 */
    CFG_SIZE,     /* "64M", "2G" */
    CFG_LIST,     /* comma-separated */
    CFG_ENUM,     /* one of cfg_key.choices ("a|b|c") */
    CFG_SECRET,   /* never printed; also settable through KEY_file and the environment */
    CFG_ADDRESS,  /* host:port */
    CFG_URL,
};

/* One known key. Named sections ("[host \"x\"]") list their keys under the section type. */
struct cfg_key {
    const char *section;
    const char *key;
    enum cfg_type type;
    const char *def;     /* default value as text, or NULL for none */
    const char *choices; /* CFG_ENUM: "a|b|c" */
    const char *doc;     /* one line for `hmctl config show --doc` and the man page */
};

/* A check of a key's value beyond its type: returns 0, or -1 with e set to what is wrong;
 * loading (and so `hmctl config check`) reports it at the key's file and line. */
struct cfg_check {
    const char *section;
    const char *key;
    int (*check)(const char *value, hm_err *e);
};

/* A section type: whether it takes a name, and which keys are required. */
struct cfg_section_def {
    const char *type;
    bool named;
    const char *required; /* comma-separated keys that must be present */
    const char *doc;
    bool name_optional;   /* both [type] and [type "name"] are accepted ([console]) */
};

extern const struct cfg_key hm_cfg_keys[];
extern const struct cfg_section_def hm_cfg_sections[];
extern const struct cfg_check hm_cfg_checks[]; /* terminated by {NULL} */

typedef struct cfg_entry {
    char *key;
    char *value;
    const char *file; /* owned by the config */
    int line;
} cfg_entry;

typedef struct cfg_section {
    char *type;
    char *name; /* NULL for a plain section */
    const char *file;
    int line;
    cfg_entry *entries;
    size_t n_entries;
    size_t cap;
} cfg_section;

typedef struct hm_config {
    cfg_section *sections;
    size_t n_sections;
    size_t cap;
    strvec files;  /* every file read, in order */
    strvec errors; /* "FILE:LINE: message", in order */
    strvec warnings;
} hm_config;

/* Loads the configuration. explicit_path is -c FILE (or NULL: then $HMCTL_CONFIG, then the
 * standard places). Returns a config even when it has errors; the caller checks ->errors.
 * A missing explicit file is an error ("cannot read 'x.conf': No such file or directory"). */
hm_config *config_load(const char *explicit_path);
/* Parses one INI text as if it were the file `name` (for tests and conf.d handling). Errors are
 * appended to c->errors. `mode` is the file's permission bits (for the inline-secret rule). */
void config_parse_text(hm_config *c, const char *name, const char *text, unsigned mode);
/* An empty configuration (all defaults). */
hm_config *config_new(void);
void config_free(hm_config *c);

/* The raw value of KEY in the section (type, name), name NULL for a plain section; falls back
 * to the schema default; NULL when neither exists. */
const char *cfg_get(const hm_config *c, const char *type, const char *name, const char *key);
/* Typed getters; the value was validated at load, so they return the default `fallback` only
 * when the key is absent and has no schema default. */
int64_t cfg_get_ms(const hm_config *c, const char *type, const char *name, const char *key,
                   int64_t fallback);
bool cfg_get_bool(const hm_config *c, const char *type, const char *name, const char *key,
                  bool fallback);
double cfg_get_number(const hm_config *c, const char *type, const char *name, const char *key,
                      double fallback);
uint64_t cfg_get_size(const hm_config *c, const char *type, const char *name, const char *key,
                      uint64_t fallback);
/* Appends the items of a CFG_LIST value to out. */
void cfg_get_list(const hm_config *c, const char *type, const char *name, const char *key,
                  strvec *out);
/* Where KEY was set: "FILE:LINE", or "default" / NULL. */
const char *cfg_origin(const hm_config *c, const char *type, const char *name, const char *key,
                       char *buf, size_t size);

/* Reads a secret: the inline KEY (allowed only in files no group or other user can access; that
 * was checked at load), KEY_file (first line, trailing newline removed), or the environment
 * variable HMCTL_<TYPE>[_<NAME>]_<KEY> (upper case, non-alphanumerics as '_'). Returns a new
 * string, or NULL when the secret is not set (e stays empty) or KEY_file cannot be read (e says
 * which file and why). */
char *cfg_get_secret(const hm_config *c, const char *type, const char *name, const char *key,
                     hm_err *e);
/* The environment variable name cfg_get_secret consults, in buf. */
void cfg_secret_env_name(const char *type, const char *name, const char *key, char *buf,
                         size_t size);

/* The named sections of a type, in file order: returns the count and sets *out to an array of
 * pointers into c (the caller frees the array, not the sections). */
size_t cfg_sections_of(const hm_config *c, const char *type, const cfg_section ***out);
const cfg_section *cfg_section_find(const hm_config *c, const char *type, const char *name);

/* The data directory: [hmctl] data_dir if set; else /var/lib/hmctl for root, or
 * $XDG_DATA_HOME/hmctl (~/.local/share/hmctl) for others. Returns a new string. */
char *cfg_data_dir(const hm_config *c);

/* Looks up the schema entry of a key; NULL when unknown. */
const struct cfg_key *cfg_schema_key(const char *section, const char *key);
const struct cfg_section_def *cfg_schema_section(const char *type);

#endif
