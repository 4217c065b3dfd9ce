/* Label sets, series-name parsing and PromQL-style matchers. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"

static const char *const severity_names[] = {"info", "warning", "critical", "emergency"};
static const char *const op_names[] = {">", ">=", "<", "<=", "==", "!="};

const char *alert_severity_name(enum alert_severity s)
{
    return (unsigned)s < HM_ARRAY_LEN(severity_names) ? severity_names[s] : "?";
}

int alert_severity_parse(const char *s, enum alert_severity *out)
{
    for (size_t i = 0; s && i < HM_ARRAY_LEN(severity_names); i++) {
        if (strcmp(s, severity_names[i]) == 0) {
            *out = (enum alert_severity)i;
            return 0;
        }
    }
    return -1;
}

const char *alert_op_name(enum alert_op op)
{
    return (unsigned)op < HM_ARRAY_LEN(op_names) ? op_names[op] : "?";
}

int alert_op_parse(const char *s, enum alert_op *out)
{
    for (size_t i = 0; s && i < HM_ARRAY_LEN(op_names); i++) {
        if (strcmp(s, op_names[i]) == 0) {
            *out = (enum alert_op)i;
            return 0;
        }
    }
    return -1;
}

bool alert_op_holds(enum alert_op op, double v, double t)
{
    if (v != v || t != t) return false; /* NaN */
    switch (op) {
    case ALERT_GT: return v > t;
    case ALERT_GE: return v >= t;
    case ALERT_LT: return v < t;
    case ALERT_LE: return v <= t;
    case ALERT_EQ: return v == t;
    case ALERT_NE: return v != t;
    }
    return false;
}

void alert_labels_set(alert_labels *l, const char *name, const char *value)
{
    size_t i = 0;
    for (; i < l->n; i++) {
        int c = strcmp(l->names[i], name);
        if (c == 0) {
            free(l->values[i]);
            l->values[i] = xstrdup(value);
            return;
        }
        if (c > 0) break;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->names = xrealloc(l->names, l->cap * sizeof(char *));
        l->values = xrealloc(l->values, l->cap * sizeof(char *));
    }
    memmove(l->names + i + 1, l->names + i, (l->n - i) * sizeof(char *));
    memmove(l->values + i + 1, l->values + i, (l->n - i) * sizeof(char *));
    l->names[i] = xstrdup(name);
    l->values[i] = xstrdup(value);
    l->n++;
}

const char *alert_labels_get(const alert_labels *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0) return l->values[i];
    return NULL;
}

void alert_labels_free(alert_labels *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->values[i]);
    }
    free(l->names);
    free(l->values);
    memset(l, 0, sizeof *l);
}

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || (!first && isdigit((unsigned char)c));
}

/* Reads a double-quoted string at *p (escapes \\ \" \n); returns a new string or NULL. */
static char *read_quoted(const char **p)
{
    const char *s = *p;
    if (*s != '"') return NULL;
    s++;
    strbuf sb = {0};
    while (*s && *s != '"') {
        if (*s == '\\' && s[1]) {
            s++;
            sb_addc(&sb, *s == 'n' ? '\n' : *s);
        } else {
            sb_addc(&sb, *s);
        }
        s++;
    }
    if (*s != '"') {
        sb_free(&sb);
        return NULL;
    }
    *p = s + 1;
    return sb_detach(&sb);
}

int alert_labels_parse_series(const char *series, char **metric, alert_labels *out)
{
    size_t mlen = strcspn(series, "{");
    if (metric) *metric = xstrndup(series, mlen);
    const char *p = series + mlen;
    if (!*p) return 0;
    p++;
    while (*p && *p != '}') {
        const char *n0 = p;
        while (name_char(*p, p == n0)) p++;
        if (p == n0 || *p != '=') goto bad;
        char *name = xstrndup(n0, (size_t)(p - n0));
        p++;
        char *value = read_quoted(&p);
        if (!value) {
            free(name);
            goto bad;
        }
        alert_labels_set(out, name, value);
        free(name);
        free(value);
        if (*p == ',') p++;
        else if (*p != '}') goto bad;
    }
    if (*p != '}' || p[1]) goto bad;
    return 0;
bad:
    if (metric) {
        free(*metric);
        *metric = NULL;
    }
    alert_labels_free(out);
    return -1;
}

static void add_escaped(strbuf *sb, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            sb_addc(sb, '\\');
            sb_addc(sb, *v);
        } else if (*v == '\n') {
            sb_adds(sb, "\\n");
        } else {
            sb_addc(sb, *v);
        }
    }
}

char *alert_labels_format(const alert_labels *l)
{
    strbuf sb = {0};
    if (l->n == 0) return xstrdup("");
    sb_addc(&sb, '{');
    for (size_t i = 0; i < l->n; i++) {
        if (i) sb_addc(&sb, ',');
        sb_addf(&sb, "%s=\"", l->names[i]);
        add_escaped(&sb, l->values[i]);
        sb_addc(&sb, '"');
    }
    sb_addc(&sb, '}');
    return sb_detach(&sb);
}

json_t *alert_labels_json(const alert_labels *l)
{
    json_t *o = json_object();
    for (size_t i = 0; i < l->n; i++) json_object_set_new(o, l->names[i], json_string(l->values[i]));
    return o;
}

int alert_labels_from_json(const json_t *j, alert_labels *out)
{
    if (!json_is_object(j)) return -1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        if (json_is_string(v)) alert_labels_set(out, k, json_string_value(v));
    }
    return 0;
}

uint64_t alert_labels_fingerprint(const alert_labels *l)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < l->n; i++) {
        for (int part = 0; part < 2; part++) {
            const unsigned char *s = (const unsigned char *)(part ? l->values[i] : l->names[i]);
            for (; *s; s++) {
                h ^= *s;
                h *= 1099511628211ULL;
            }
            h ^= 0xff;
            h *= 1099511628211ULL;
        }
    }
    return h;
}

/* Matchers ------------------------------------------------------------------------------ */

static void matcher_free(alert_matcher *m)
{
    free(m->name);
    free(m->value);
    if (m->op == ALERT_MATCH_RE || m->op == ALERT_MATCH_NRE) regfree(&m->re);
}

void alert_matchers_free(alert_matchers *m)
{
    for (size_t i = 0; i < m->n; i++) matcher_free(&m->v[i]);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* Parses one matcher at *p, advancing past it. */
static int parse_one(const char **pp, alert_matchers *out, hm_err *e, const char *whole)
{
    const char *p = *pp;
    while (isspace((unsigned char)*p)) p++;
    const char *n0 = p;
    while (name_char(*p, p == n0)) p++;
    if (p == n0) return hm_err_set(e, "invalid matcher '%s': expected a label name", whole);
    char *name = xstrndup(n0, (size_t)(p - n0));
    while (isspace((unsigned char)*p)) p++;
    enum alert_match_op op;
    if (strncmp(p, "!=", 2) == 0) op = ALERT_MATCH_NE, p += 2;
    else if (strncmp(p, "=~", 2) == 0) op = ALERT_MATCH_RE, p += 2;
    else if (strncmp(p, "!~", 2) == 0) op = ALERT_MATCH_NRE, p += 2;
    else if (*p == '=') op = ALERT_MATCH_EQ, p += 1;
    else {
        free(name);
        return hm_err_set(e, "invalid matcher '%s': expected =, !=, =~ or !~ after the label name",
                          whole);
    }
    while (isspace((unsigned char)*p)) p++;
    char *value;
    if (*p == '"') {
        value = read_quoted(&p);
        if (!value) {
            free(name);
            return hm_err_set(e, "invalid matcher '%s': unterminated quoted value", whole);
        }
    } else {
        const char *v0 = p;
        while (*p && *p != ',' && *p != '}') p++;
        value = xstrndup(v0, (size_t)(p - v0));
        hm_strip(value);
    }
    alert_matcher m = {.name = name, .op = op, .value = value};
    if (op == ALERT_MATCH_RE || op == ALERT_MATCH_NRE) {
        char *anchored = xasprintf("^(%s)$", value);
        int rc = regcomp(&m.re, anchored, REG_EXTENDED | REG_NOSUB);
        free(anchored);
        if (rc != 0) {
            char why[128];
            regerror(rc, &m.re, why, sizeof why);
            free(name);
            free(value);
            return hm_err_set(e, "invalid matcher '%s': bad regular expression: %s", whole, why);
        }
    }
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 4;
        out->v = xrealloc(out->v, out->cap * sizeof(alert_matcher));
    }
    out->v[out->n++] = m;
    *pp = p;
    return 0;
}

int alert_matcher_parse(const char *text, alert_matchers *out, hm_err *e)
{
    const char *p = text;
    if (parse_one(&p, out, e, text) < 0) return -1;
    while (isspace((unsigned char)*p)) p++;
    if (*p) {
        matcher_free(&out->v[--out->n]);
        return hm_err_set(e, "invalid matcher '%s': unexpected text after the value", text);
    }
    return 0;
}

int alert_selector_parse(const char *text, char **metric, alert_matchers *out, hm_err *e)
{
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    const char *m0 = p;
    while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ':' || *p == '-'))
        p++;
    if (p == m0) return hm_err_set(e, "invalid selector '%s': expected a metric name", text);
    char *name = xstrndup(m0, (size_t)(p - m0));
    while (isspace((unsigned char)*p)) p++;
    if (*p == '{') {
        p++;
        while (isspace((unsigned char)*p)) p++;
        while (*p && *p != '}') {
            if (parse_one(&p, out, e, text) < 0) {
                free(name);
                return -1;
            }
            while (isspace((unsigned char)*p)) p++;
            if (*p == ',') {
                p++;
                while (isspace((unsigned char)*p)) p++;
            } else if (*p && *p != '}') {
                free(name);
                return hm_err_set(e, "invalid selector '%s': expected ',' or '}'", text);
            }
        }
        if (*p != '}') {
            free(name);
            return hm_err_set(e, "invalid selector '%s': missing '}'", text);
        }
        p++;
    }
    while (isspace((unsigned char)*p)) p++;
    if (*p) {
        free(name);
        return hm_err_set(e, "invalid selector '%s': unexpected text '%s'", text, p);
    }
    *metric = name;
    return 0;
}

bool alert_matchers_match(const alert_matchers *m, const alert_labels *l)
{
    for (size_t i = 0; i < m->n; i++) {
        const alert_matcher *x = &m->v[i];
        const char *v = alert_labels_get(l, x->name);
        if (!v) v = "";
        bool ok;
        switch (x->op) {
        case ALERT_MATCH_EQ: ok = strcmp(v, x->value) == 0; break;
        case ALERT_MATCH_NE: ok = strcmp(v, x->value) != 0; break;
        case ALERT_MATCH_RE: ok = regexec(&x->re, v, 0, NULL, 0) == 0; break;
        default: ok = regexec(&x->re, v, 0, NULL, 0) != 0; break;
        }
        if (!ok) return false;
    }
    return true;
}

char *alert_matchers_format(const alert_matchers *m)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    strbuf sb = {0};
    for (size_t i = 0; i < m->n; i++) {
        if (i) sb_adds(&sb, ", ");
        sb_addf(&sb, "%s%s\"", m->v[i].name, ops[m->v[i].op]);
        add_escaped(&sb, m->v[i].value);
        sb_addc(&sb, '"');
    }
    return sb_detach(&sb);
}
