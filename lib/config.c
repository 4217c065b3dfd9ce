#include "lib/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct cfg_key *cfg_schema_key(const char *section, const char *key)
{
    for (const struct cfg_key *k = hm_cfg_keys; k->section; k++)
        if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0) return k;
    return NULL;
}

const struct cfg_section_def *cfg_schema_section(const char *type)
{
    for (const struct cfg_section_def *s = hm_cfg_sections; s->type; s++)
        if (strcmp(s->type, type) == 0) return s;
    return NULL;
}

hm_config *config_new(void)
{
    return xcalloc(1, sizeof(hm_config));
}

void config_free(hm_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_sections; i++) {
        cfg_section *s = &c->sections[i];
        for (size_t j = 0; j < s->n_entries; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
        }
        free(s->entries);
        free(s->type);
        free(s->name);
    }
    free(c->sections);
    sv_free(&c->files);
    sv_free(&c->errors);
    sv_free(&c->warnings);
    free(c);
}

/* Parse state of one file. */
struct parse {
    hm_config *c;
    const char *file; /* owned by c->files */
    unsigned mode;
    int line;
    char *last_header; /* the raw section text inih gave for the current section */
    cfg_section *cur;  /* NULL when the current section is invalid (keys are then ignored) */
    /* reader over a string */
    const char *text;
    size_t pos;
};

static void perr(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct parse *p, const char *fmt, ...)
{
    strbuf sb = {0};
    sb_addf(&sb, "%s:%d: ", p->file, p->line);
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    sv_push_owned(&p->c->errors, sb_detach(&sb));
}

static const char *suggest_key(const char *section, const char *key)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (const struct cfg_key *k = hm_cfg_keys; k->section; k++) {
        if (strcmp(k->section, section) != 0) continue;
        size_t d = hm_edit_distance(k->key, key);
        if (d < best_d) { best_d = d; best = k->key; }
    }
    return best;
}

static const char *suggest_section(const char *type)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (const struct cfg_section_def *s = hm_cfg_sections; s->type; s++) {
        size_t d = hm_edit_distance(s->type, type);
        if (d < best_d) { best_d = d; best = s->type; }
    }
    return best;
}

/* Splits `console "tenant-a"` into type and name. Returns -1 on a malformed header. */
static int split_header(const char *hdr, char **type, char **name)
{
    const char *p = hdr;
    while (*p && !isspace((unsigned char)*p) && *p != '"') p++;
    *type = xstrndup(hdr, (size_t)(p - hdr));
    *name = NULL;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) return **type ? 0 : -1;
    if (*p != '"') return -1;
    const char *q = strchr(p + 1, '"');
    if (!q || q[1] != '\0' || q == p + 1) return -1;
    *name = xstrndup(p + 1, (size_t)(q - p - 1));
    return 0;
}

static cfg_section *new_section(hm_config *c, char *type, char *name, const char *file, int line)
{
    if (c->n_sections == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->sections = xrealloc(c->sections, c->cap * sizeof(cfg_section));
    }
    cfg_section *s = &c->sections[c->n_sections++];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->name = name;
    s->file = file;
    s->line = line;
    return s;
}

static void section_set(cfg_section *s, const char *key, const char *value, const char *file,
                        int line)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        if (strcmp(s->entries[i].key, key) == 0) {
            free(s->entries[i].value);
            s->entries[i].value = xstrdup(value);
            s->entries[i].file = file;
            s->entries[i].line = line;
            return;
        }
    }
    if (s->n_entries == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->entries = xrealloc(s->entries, s->cap * sizeof(cfg_entry));
    }
    s->entries[s->n_entries++] = (cfg_entry){xstrdup(key), xstrdup(value), file, line};
}

static void check_value(struct parse *p, const cfg_section *s, const struct cfg_key *k,
                        const char *value)
{
    int64_t ms;
    bool b;
    uint64_t sz;
    char *end;
    const char *where = s->type;
    switch (k->type) {
    case CFG_DURATION:
        if (hm_parse_duration(value, &ms) < 0)
            perr(p, "invalid duration '%s' for '%s' in [%s] (use e.g. 500ms, 10s, 5m, 2h, 14d)",
                 value, k->key, where);
        break;
    case CFG_BOOL:
        if (hm_parse_bool(value, &b) < 0)
            perr(p, "invalid boolean '%s' for '%s' in [%s] (use yes or no)", value, k->key, where);
        break;
    case CFG_INT:
        errno = 0;
        (void)strtoll(value, &end, 10);
        if (errno || end == value || *end)
            perr(p, "invalid integer '%s' for '%s' in [%s]", value, k->key, where);
        break;
    case CFG_NUMBER:
        errno = 0;
        (void)strtod(value, &end);
        if (errno || end == value || *end)
            perr(p, "invalid number '%s' for '%s' in [%s]", value, k->key, where);
        break;
    case CFG_SIZE:
        if (hm_parse_size(value, &sz) < 0)
            perr(p, "invalid size '%s' for '%s' in [%s] (use e.g. 512K, 64M, 2G)", value, k->key,
                 where);
        break;
    case CFG_ENUM: {
        size_t n = strlen(value);
        const char *c = k->choices;
        bool ok = false;
        while (c && *c) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && strncmp(c, value, n) == 0) ok = true;
            c = bar ? bar + 1 : NULL;
        }
        if (!ok) perr(p, "invalid value '%s' for '%s' in [%s] (one of %s)", value, k->key, where,
                      k->choices);
        break;
    }
    case CFG_ADDRESS: {
        const char *colon = strrchr(value, ':');
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == value || *end || port < 1 || port > 65535)
            perr(p, "invalid address '%s' for '%s' in [%s] (use host:port)", value, k->key, where);
        break;
    }
    case CFG_URL:
        if (!strstr(value, "://"))
            perr(p, "invalid URL '%s' for '%s' in [%s]", value, k->key, where);
        break;
    case CFG_SECRET:
        if (p->mode & 077)
            perr(p,
                 "refusing the inline secret '%s' in [%s]: %s is accessible by group or others "
                 "(mode %04o); use %s_file = FILE, or chmod 600 %s",
                 k->key, where, p->file, p->mode & 07777, k->key, p->file);
        break;
    default:
        break;
    }
    for (const struct cfg_check *c = hm_cfg_checks; c->section; c++) {
        hm_err e = {{0}};
        if (strcmp(c->section, k->section) == 0 && strcmp(c->key, k->key) == 0 &&
            c->check(value, &e) < 0)
            perr(p, "%s", e.msg);
    }
}

/* Called by the reader for a "[...]" line, so errors carry the header's own line and a
 * section without keys is still checked. */
static void open_section(struct parse *p, const char *line)
{
    const char *close = strrchr(line, ']');
    free(p->last_header);
    p->last_header = NULL;
    p->cur = NULL;
    if (!close) return; /* inih reports the syntax error */
    char *section = xstrndup(line + 1, (size_t)(close - line - 1));
    hm_strip(section);
    p->last_header = section;
    char *type, *name;
    if (split_header(section, &type, &name) < 0) {
        perr(p, "malformed section header [%s] (use [type] or [type \"name\"])", section);
        free(type);
        return;
    }
    const struct cfg_section_def *def = cfg_schema_section(type);
    if (!def) {
        const char *hint = suggest_section(type);
        if (hint) perr(p, "unknown section [%s] (did you mean [%s]?)", section, hint);
        else perr(p, "unknown section [%s]", section);
        free(type);
        free(name);
        return;
    }
    if (def->named && !name && !def->name_optional) {
        perr(p, "section [%s] needs a name: [%s \"NAME\"]", type, type);
        free(type);
        return;
    }
    if (!def->named && name && !def->name_optional) {
        perr(p, "section [%s] takes no name", type);
        free(type);
        free(name);
        return;
    }
    p->cur = new_section(p->c, type, name, p->file, p->line);
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct parse *p = user;
    if (!*section && !p->last_header) {
        perr(p, "'%s' is outside any section", key);
        return 1;
    }
    if (!p->cur) return 1;
    const struct cfg_key *k = cfg_schema_key(p->cur->type, key);
    if (!k) {
        const char *hint = suggest_key(p->cur->type, key);
        if (hint) perr(p, "unknown key '%s' in [%s] (did you mean '%s'?)", key, p->cur->type, hint);
        else perr(p, "unknown key '%s' in [%s]", key, p->cur->type);
        return 1;
    }
    check_value(p, p->cur, k, value);
    section_set(p->cur, key, value, p->file, p->line);
    return 1;
}

/* inih reader: one line per call, so p->line is the number of the line being handled. */
static char *read_line(char *buf, int size, void *stream)
{
    struct parse *p = stream;
    if (!p->text[p->pos]) return NULL;
    const char *start = p->text + p->pos;
    const char *nl = strchr(start, '\n');
    size_t len = nl ? (size_t)(nl - start) + 1 : strlen(start);
    p->pos += len;
    p->line++;
    if (len >= (size_t)size) {
        perr(p, "line too long (more than %d characters)", size - 2);
        len = 0;
    }
    /* Leading blanks are dropped: inih would take an indented line as the continuation of
     * the previous value, which turns a pasted, indented file into nonsense values. */
    while (len && (*start == ' ' || *start == '\t')) {
        start++;
        len--;
    }
    memcpy(buf, start, len);
    buf[len] = '\0';
    if (buf[0] == '[') open_section(p, buf);
    return buf;
}

static void check_required(hm_config *c, size_t first)
{
    for (size_t i = first; i < c->n_sections; i++) {
        cfg_section *s = &c->sections[i];
        const struct cfg_section_def *def = cfg_schema_section(s->type);
        if (!def || !def->required) continue;
        strvec req = {0};
        sv_split_list(&req, def->required);
        for (size_t j = 0; j < req.n; j++) {
            if (!cfg_get(c, s->type, s->name, req.v[j])) {
                strbuf sb = {0};
                sb_addf(&sb, "%s:%d: [%s \"%s\"] has no '%s'", s->file, s->line, s->type,
                        s->name ? s->name : "", req.v[j]);
                sv_push_owned(&c->errors, sb_detach(&sb));
            }
        }
        sv_free(&req);
    }
}

void config_parse_text(hm_config *c, const char *name, const char *text, unsigned mode)
{
    sv_push(&c->files, name);
    size_t first = c->n_sections;
    struct parse p = {.c = c, .file = c->files.v[c->files.n - 1], .mode = mode, .text = text};
    int rc = ini_parse_stream(read_line, &p, on_key, &p);
    if (rc > 0 && rc != p.line) {
        /* inih reports syntax errors (no '=' or ']') by line; our handler never fails. */
    }
    if (rc > 0) {
        p.line = rc;
        perr(&p, "syntax error (expected [section], key = value, or a ; comment)");
    }
    free(p.last_header);
    check_required(c, first);
}

static int load_file(hm_config *c, const char *path, bool must_exist)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (!must_exist && errno == ENOENT) return 0;
        strbuf sb = {0};
        sb_addf(&sb, "cannot read '%s': %s", path, strerror(errno));
        sv_push_owned(&c->errors, sb_detach(&sb));
        return -1;
    }
    hm_err e = {{0}};
    char *text = hm_read_file(path, NULL, &e);
    if (!text) {
        sv_push(&c->errors, e.msg);
        return -1;
    }
    config_parse_text(c, path, text, st.st_mode);
    free(text);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

hm_config *config_load(const char *explicit_path)
{
    hm_config *c = config_new();
    const char *path = explicit_path;
    if (!path || !*path) path = getenv("HMCTL_CONFIG");
    if (path && *path) {
        load_file(c, path, true);
        return c;
    }
    if (geteuid() != 0) {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        char *user = NULL;
        if (xdg && *xdg) user = xasprintf("%s/hmctl/hmctl.conf", xdg);
        else if (home && *home) user = xasprintf("%s/.config/hmctl/hmctl.conf", home);
        if (user && access(user, F_OK) == 0) {
            load_file(c, user, true);
            free(user);
            return c;
        }
        free(user);
        if (access("/etc/hmctl/hmctl.conf", F_OK) == 0 &&
            access("/etc/hmctl/hmctl.conf", R_OK) != 0) {
            sv_push(&c->warnings, "cannot read /etc/hmctl/hmctl.conf as this user; using defaults");
            return c;
        }
    }
    load_file(c, "/etc/hmctl/hmctl.conf", false);
    DIR *d = opendir("/etc/hmctl/conf.d");
    if (d) {
        strvec names = {0};
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t n = strlen(de->d_name);
            if (n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0 && de->d_name[0] != '.')
                sv_push_owned(&names, xasprintf("/etc/hmctl/conf.d/%s", de->d_name));
        }
        closedir(d);
        if (names.n) qsort(names.v, names.n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < names.n; i++) load_file(c, names.v[i], true);
        sv_free(&names);
    }
    return c;
}

static bool name_eq(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static const cfg_entry *find_entry(const hm_config *c, const char *type, const char *name,
                                   const char *key)
{
    for (size_t i = c->n_sections; i-- > 0;) {
        const cfg_section *s = &c->sections[i];
        if (strcmp(s->type, type) != 0 || !name_eq(s->name, name)) continue;
        for (size_t j = 0; j < s->n_entries; j++)
            if (strcmp(s->entries[j].key, key) == 0) return &s->entries[j];
    }
    return NULL;
}

const char *cfg_get(const hm_config *c, const char *type, const char *name, const char *key)
{
    const cfg_entry *e = c ? find_entry(c, type, name, key) : NULL;
    if (e) return e->value;
    const struct cfg_key *k = cfg_schema_key(type, key);
    return k ? k->def : NULL;
}

const char *cfg_origin(const hm_config *c, const char *type, const char *name, const char *key,
                       char *buf, size_t size)
{
    const cfg_entry *e = find_entry(c, type, name, key);
    if (e) {
        snprintf(buf, size, "%s:%d", e->file, e->line);
        return buf;
    }
    const struct cfg_key *k = cfg_schema_key(type, key);
    if (k && k->def) {
        snprintf(buf, size, "default");
        return buf;
    }
    return NULL;
}

int64_t cfg_get_ms(const hm_config *c, const char *type, const char *name, const char *key,
                   int64_t fallback)
{
    const char *v = cfg_get(c, type, name, key);
    int64_t ms;
    if (!v || hm_parse_duration(v, &ms) < 0) return fallback;
    return ms;
}

bool cfg_get_bool(const hm_config *c, const char *type, const char *name, const char *key,
                  bool fallback)
{
    const char *v = cfg_get(c, type, name, key);
    bool b;
    if (!v || hm_parse_bool(v, &b) < 0) return fallback;
    return b;
}

double cfg_get_number(const hm_config *c, const char *type, const char *name, const char *key,
                      double fallback)
{
    const char *v = cfg_get(c, type, name, key);
    if (!v) return fallback;
    char *end;
    double d = strtod(v, &end);
    return (end == v || *end) ? fallback : d;
}

uint64_t cfg_get_size(const hm_config *c, const char *type, const char *name, const char *key,
                      uint64_t fallback)
{
    const char *v = cfg_get(c, type, name, key);
    uint64_t b;
    if (!v || hm_parse_size(v, &b) < 0) return fallback;
    return b;
}

void cfg_get_list(const hm_config *c, const char *type, const char *name, const char *key,
                  strvec *out)
{
    const char *v = cfg_get(c, type, name, key);
    if (v) sv_split_list(out, v);
}

void cfg_secret_env_name(const char *type, const char *name, const char *key, char *buf,
                         size_t size)
{
    strbuf sb = {0};
    sb_addf(&sb, "HMCTL_%s_", type);
    if (name) sb_addf(&sb, "%s_", name);
    sb_adds(&sb, key);
    for (char *p = sb.buf; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    snprintf(buf, size, "%s", sb.buf);
    sb_free(&sb);
}

char *cfg_get_secret(const hm_config *c, const char *type, const char *name, const char *key,
                     hm_err *e)
{
    const cfg_entry *inl = c ? find_entry(c, type, name, key) : NULL;
    if (inl) return xstrdup(inl->value);
    char fkey[128];
    snprintf(fkey, sizeof fkey, "%s_file", key);
    const cfg_entry *f = c ? find_entry(c, type, name, fkey) : NULL;
    if (f) {
        hm_err re = {{0}};
        char *text = hm_read_file(f->value, NULL, &re);
        if (!text) {
            hm_err_set(e, "%s (%s in [%s%s%s%s], %s:%d)", re.msg, fkey, type, name ? " \"" : "",
                       name ? name : "", name ? "\"" : "", f->file, f->line);
            return NULL;
        }
        char *nl = strpbrk(text, "\r\n");
        if (nl) *nl = '\0';
        return text;
    }
    char env[256];
    cfg_secret_env_name(type, name, key, env, sizeof env);
    const char *v = getenv(env);
    if (v) return xstrdup(v);
    return NULL;
}

size_t cfg_sections_of(const hm_config *c, const char *type, const cfg_section ***out)
{
    size_t n = 0;
    const cfg_section **v = xcalloc(c->n_sections + 1, sizeof(cfg_section *));
    for (size_t i = 0; i < c->n_sections; i++) {
        const cfg_section *s = &c->sections[i];
        if (strcmp(s->type, type) != 0) continue;
        /* a named section repeated in several files counts once (its first place) */
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            if (name_eq(v[j]->name, s->name)) seen = true;
        if (!seen) v[n++] = s;
    }
    *out = v;
    return n;
}

const cfg_section *cfg_section_find(const hm_config *c, const char *type, const char *name)
{
    for (size_t i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].type, type) == 0 && name_eq(c->sections[i].name, name))
            return &c->sections[i];
    return NULL;
}

char *cfg_data_dir(const hm_config *c)
{
    const char *v = cfg_get(c, "hmctl", NULL, "data_dir");
    if (v && *v) return xstrdup(v);
    if (geteuid() == 0) return xstrdup("/var/lib/hmctl");
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg) return xasprintf("%s/hmctl", xdg);
    const char *home = getenv("HOME");
    return xasprintf("%s/.local/share/hmctl", home && *home ? home : "/tmp");
}
