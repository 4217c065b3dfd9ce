/* Key names and bindings: the names the help overlay and the footer show, the names [tui] keys
 * accepts, and the bindings built from the tables' defaults and that remapping. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tui/tui-int.h"

/* Named keys: the config name, the ASCII label and the UTF-8 label. */
static const struct {
    int code;
    const char *name;
    const char *utf8;
} named[] = {
    {KEY_UP, "Up", "\xe2\x86\x91"},
    {KEY_DOWN, "Down", "\xe2\x86\x93"},
    {KEY_LEFT, "Left", "\xe2\x86\x90"},
    {KEY_RIGHT, "Right", "\xe2\x86\x92"},
    {KEY_PPAGE, "PgUp", NULL},
    {KEY_NPAGE, "PgDn", NULL},
    {KEY_HOME, "Home", NULL},
    {KEY_END, "End", NULL},
    {KEY_IC, "Insert", NULL},
    {KEY_DC, "Delete", NULL},
    {KEY_BACKSPACE, "Backspace", NULL},
    {KEY_BTAB, "S-Tab", NULL},
    {KEY_ENTER, "Enter", NULL},
    {'\r', "Enter", NULL},
    {'\n', "Enter", NULL},
    {'\t', "Tab", NULL},
    {27, "Esc", NULL},
    {' ', "Space", NULL},
    {',', "Comma", NULL},
    {'=', "Equal", NULL},
};

const char *tui_key_name(int code, bool utf8, char *buf, size_t size)
{
    for (size_t i = 0; i < HM_ARRAY_LEN(named); i++)
        if (named[i].code == code) {
            snprintf(buf, size, "%s", utf8 && named[i].utf8 ? named[i].utf8 : named[i].name);
            return buf;
        }
    if (code >= KEY_F(1) && code <= KEY_F(12)) snprintf(buf, size, "F%d", code - KEY_F(0));
    else if (code >= 1 && code <= 26) snprintf(buf, size, "C-%c", 'a' + code - 1);
    else if (code > ' ' && code < 127) snprintf(buf, size, "%c", code);
    else snprintf(buf, size, "#%d", code);
    return buf;
}

int tui_key_parse(const char *name)
{
    size_t len = strlen(name);
    if (len == 1 && name[0] > ' ' && name[0] < 127 && name[0] != ',') return name[0];
    for (size_t i = 0; i < HM_ARRAY_LEN(named); i++)
        if (strcasecmp(named[i].name, name) == 0) return named[i].code;
    if (strcasecmp(name, "Escape") == 0) return 27;
    if (strcasecmp(name, "PageUp") == 0) return KEY_PPAGE;
    if (strcasecmp(name, "PageDown") == 0) return KEY_NPAGE;
    if (strcasecmp(name, "Del") == 0) return KEY_DC;
    if ((name[0] == 'F' || name[0] == 'f') && len >= 2 && len <= 3) {
        char *end;
        long n = strtol(name + 1, &end, 10);
        if (!*end && n >= 1 && n <= 12) return KEY_F(n);
    }
    /* C-x and ^X: control characters, except those that are already named (Tab, Enter) */
    if (len == 3 && (name[0] == 'C' || name[0] == 'c') && name[1] == '-' && isalpha((unsigned char)name[2]))
        return tolower((unsigned char)name[2]) - 'a' + 1;
    if (len == 2 && name[0] == '^' && isalpha((unsigned char)name[1]))
        return tolower((unsigned char)name[1]) - 'a' + 1;
    return -1;
}

static void trim(char *s)
{
    char *p = s;
    while (*p == ' ' || *p == '\t') p++;
    memmove(s, p, strlen(p) + 1);
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
}

int tui_remap_parse(const char *value, struct tui_remap **out, size_t *n, hm_err *e)
{
    *out = NULL;
    *n = 0;
    if (!value) return 0;
    char *copy = xstrdup(value);
    int rc = 0;
    size_t cap = 0;
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        trim(item);
        if (!*item) continue;
        char *eq = strchr(item, '=');
        if (!eq) {
            rc = hm_err_set(e, "'%s' in [tui] keys is not ACTION=KEY (e.g. quit=x)", item);
            break;
        }
        *eq = '\0';
        char *action = item, *keys = eq + 1;
        trim(action);
        trim(keys);
        if (!*action || !*keys) {
            rc = hm_err_set(e, "'%s=%s' in [tui] keys is not ACTION=KEY (e.g. quit=x)", action, keys);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        struct tui_remap *r = &(*out)[(*n)++];
        memset(r, 0, sizeof *r);
        snprintf(r->action, sizeof r->action, "%s", action);
        for (char *s2 = NULL, *k = strtok_r(keys, " \t", &s2); k; k = strtok_r(NULL, " \t", &s2)) {
            int code = tui_key_parse(k);
            if (code < 0) {
                rc = hm_err_set(e, "unknown key '%s' for '%s' in [tui] keys (use a character, "
                                   "F1-F12, Up, Down, Left, Right, PgUp, PgDn, Home, End, Tab, "
                                   "S-Tab, Enter, Esc, Space, Comma, Equal, Insert, Delete, "
                                   "Backspace or C-a to C-z)", k, action);
                break;
            }
            if (r->n < TUI_MAX_KEYS - 1) r->codes[r->n++] = code;
        }
        if (rc < 0) break;
    }
    free(copy);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static size_t table_len(const struct tui_key *k)
{
    size_t n = 0;
    while (k && k[n].name) n++;
    return n;
}

struct tui_binding **tui_bindings_build(const struct tui_key *const *tables, size_t n,
                                        const char *remap)
{
    struct tui_binding **b = xcalloc(n, sizeof *b);
    for (size_t t = 0; t < n; t++) {
        size_t len = table_len(tables[t]);
        b[t] = xcalloc(len + 1, sizeof **b);
        for (size_t i = 0; i < len; i++) {
            b[t][i].key = &tables[t][i];
            memcpy(b[t][i].codes, tables[t][i].keys, sizeof b[t][i].codes);
        }
    }
    struct tui_remap *rm = NULL;
    size_t nrm = 0;
    if (tui_remap_parse(remap, &rm, &nrm, NULL) < 0) return b; /* config check reported it */
    for (size_t r = 0; r < nrm; r++) {
        /* a key given to an action leaves every other action that had it */
        for (size_t t = 0; t < n; t++)
            for (struct tui_binding *x = b[t]; x->key; x++) {
                if (strcmp(x->key->name, rm[r].action) == 0) continue;
                for (size_t c = 0; c < rm[r].n; c++)
                    for (int i = 0; i < TUI_MAX_KEYS && x->codes[i]; i++)
                        if (x->codes[i] == rm[r].codes[c]) {
                            memmove(&x->codes[i], &x->codes[i + 1],
                                    (size_t)(TUI_MAX_KEYS - i - 1) * sizeof x->codes[0]);
                            x->codes[TUI_MAX_KEYS - 1] = 0;
                            x->remapped = true;
                            i--;
                        }
            }
        /* the first mention of an action replaces its keys, later ones add */
        bool first = true;
        for (size_t q = 0; q < r; q++)
            if (strcmp(rm[q].action, rm[r].action) == 0) first = false;
        for (size_t t = 0; t < n; t++)
            for (struct tui_binding *x = b[t]; x->key; x++) {
                if (strcmp(x->key->name, rm[r].action) != 0 || !x->key->fn) continue;
                int have = 0;
                if (first) memset(x->codes, 0, sizeof x->codes);
                while (have < TUI_MAX_KEYS - 1 && x->codes[have]) have++;
                for (size_t c = 0; c < rm[r].n && have < TUI_MAX_KEYS - 1; c++)
                    x->codes[have++] = rm[r].codes[c];
                x->remapped = true;
            }
    }
    free(rm);
    return b;
}

void tui_bindings_free(struct tui_binding **b, size_t n)
{
    if (!b) return;
    for (size_t t = 0; t < n; t++) free(b[t]);
    free(b);
}

const struct tui_binding *tui_binding_find(const struct tui_binding *b, int code)
{
    for (; b && b->key; b++)
        for (int i = 0; i < TUI_MAX_KEYS && b->codes[i]; i++)
            if (b->codes[i] == code) return b;
    return NULL;
}

void tui_binding_label(const struct tui_binding *b, bool utf8, char *buf, size_t size)
{
    if (!b->key->fn && b->key->label.ascii) {
        snprintf(buf, size, "%s", utf8 && b->key->label.utf8 ? b->key->label.utf8 : b->key->label.ascii);
        return;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < TUI_MAX_KEYS && b->codes[i] && len + 1 < size; i++) {
        /* Enter arrives as \r, \n or KEY_ENTER: name it once */
        bool dup = false;
        char name[32], prev[32];
        tui_key_name(b->codes[i], utf8, name, sizeof name);
        for (int j = 0; j < i; j++)
            if (strcmp(tui_key_name(b->codes[j], utf8, prev, sizeof prev), name) == 0) dup = true;
        if (dup) continue;
        len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "/" : "", name);
    }
    if (len >= size) buf[size - 1] = '\0';
}
