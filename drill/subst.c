/* Variables in plan commands: finding {ns.name} placeholders, following the shell's quoting
 * state up to each of them, and quoting each value for the state it lands in. */
#include "drill/plan.h"

#include <stdlib.h>
#include <string.h>

char *drill_sh_quote(const char *s)
{
    strbuf sb = {0};
    sb_addc(&sb, '\'');
    for (; *s; s++) {
        if (*s == '\'') sb_adds(&sb, "'\\''");
        else sb_addc(&sb, *s);
    }
    sb_addc(&sb, '\'');
    return sb_detach(&sb);
}

/* Quoting state of the shell at a point of the command. */
enum q { Q_NONE, Q_SINGLE, Q_DOUBLE, Q_ANSI };
enum frame_kind { F_TOP, F_CMDSUB, F_BACKQUOTE };

struct frame {
    enum frame_kind kind;
    enum q q;
    int parens;
};

#define MAX_DEPTH 32

struct lexer {
    struct frame st[MAX_DEPTH];
    int depth; /* index of the top frame */
    bool in_backquote; /* some frame on the stack is a backquote */
    bool too_deep;
};

static void lx_init(struct lexer *lx)
{
    memset(lx, 0, sizeof *lx);
    lx->st[0].kind = F_TOP;
}

static void lx_recount(struct lexer *lx)
{
    lx->in_backquote = false;
    for (int i = 0; i <= lx->depth; i++)
        if (lx->st[i].kind == F_BACKQUOTE) lx->in_backquote = true;
}

static void lx_push(struct lexer *lx, enum frame_kind k)
{
    if (lx->depth + 1 >= MAX_DEPTH) {
        lx->too_deep = true;
        return;
    }
    lx->depth++;
    lx->st[lx->depth] = (struct frame){k, Q_NONE, 0};
    lx_recount(lx);
}

static void lx_pop(struct lexer *lx)
{
    if (lx->depth > 0) lx->depth--;
    lx_recount(lx);
}

static bool word_start(const char *t, size_t i)
{
    return i == 0 || strchr(" \t\n;&|()", t[i - 1]) != NULL;
}

/* Feeds the characters t[i..] that make one lexical unit; returns how many were consumed. */
static size_t lx_feed(struct lexer *lx, const char *t, size_t i)
{
    struct frame *f = &lx->st[lx->depth];
    char c = t[i], n = t[i + 1];
    switch (f->q) {
    case Q_SINGLE:
        if (c == '\'') f->q = Q_NONE;
        return 1;
    case Q_ANSI:
        if (c == '\\' && n) return 2;
        if (c == '\'') f->q = Q_NONE;
        return 1;
    case Q_DOUBLE:
        if (c == '\\' && n) return 2;
        if (c == '"') f->q = Q_NONE;
        else if (c == '$' && n == '(') {
            lx_push(lx, F_CMDSUB);
            return 2;
        } else if (c == '`') {
            lx_push(lx, F_BACKQUOTE);
        }
        return 1;
    case Q_NONE:
        break;
    }
    if (c == '\\' && n) return 2;
    if (c == '\'') f->q = Q_SINGLE;
    else if (c == '"') f->q = Q_DOUBLE;
    else if (c == '$' && n == '\'') {
        f->q = Q_ANSI;
        return 2;
    } else if (c == '$' && n == '(') {
        lx_push(lx, F_CMDSUB);
        return 2;
    } else if (c == '`') {
        if (f->kind == F_BACKQUOTE) lx_pop(lx);
        else lx_push(lx, F_BACKQUOTE);
    } else if (c == '(' && f->kind == F_CMDSUB) {
        f->parens++;
    } else if (c == ')' && f->kind == F_CMDSUB) {
        if (f->parens > 0) f->parens--;
        else lx_pop(lx);
    } else if (c == '#' && word_start(t, i)) {
        /* a comment: to the end of the line */
        size_t k = 1;
        while (t[i + k] && t[i + k] != '\n') k++;
        return k;
    }
    return 1;
}

static const char *const namespaces[] = {"host.", "run.", "plan.", "var.", "secret."};

/* The length of a placeholder at t (pointing at '{'), 0 when there is none. */
static size_t placeholder_len(const char *t)
{
    if (t[0] != '{') return 0;
    const char *p = t + 1;
    bool ok = false;
    for (size_t k = 0; k < HM_ARRAY_LEN(namespaces); k++)
        if (hm_starts_with(p, namespaces[k])) ok = true;
    if (!ok) return 0;
    size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    if (p[n] != '}') return 0;
    return n + 2;
}

/* Calls fn for each placeholder with its quoting state, and for each run of plain text with
 * q = -1. Returns 0, or -1 (e set) when fn fails or the command's quoting is broken. */
typedef int (*scan_fn)(void *ud, const char *text, size_t len, int q, bool backquote, hm_err *e);

static int scan(const char *t, enum drill_subst_ctx ctx, scan_fn fn, void *ud, hm_err *e)
{
    struct lexer lx;
    lx_init(&lx);
    size_t i = 0, plain = 0;
    while (t[i]) {
        size_t ph = 0;
        bool escaped_brace = t[i] == '{' && t[i + 1] == '{';
        if (!escaped_brace && !(i > 0 && t[i - 1] == '$')) ph = placeholder_len(t + i);
        if (escaped_brace || ph) {
            if (i > plain && fn(ud, t + plain, i - plain, -1, false, e) < 0) return -1;
            if (escaped_brace) {
                if (fn(ud, "{", 1, -1, false, e) < 0) return -1;
                i += 2;
            } else {
                int q = ctx == DRILL_SUBST_SHELL ? (int)lx.st[lx.depth].q : (int)Q_NONE;
                if (fn(ud, t + i + 1, ph - 2, q, ctx == DRILL_SUBST_SHELL && lx.in_backquote, e) < 0)
                    return -1;
                i += ph;
            }
            plain = i;
            continue;
        }
        i += ctx == DRILL_SUBST_SHELL ? lx_feed(&lx, t, i) : 1;
    }
    if (i > plain && fn(ud, t + plain, i - plain, -1, false, e) < 0) return -1;
    if (ctx != DRILL_SUBST_SHELL) return 0;
    if (lx.too_deep) return hm_err_set(e, "the command nests $( ) or backquotes too deeply");
    const struct frame *f = &lx.st[lx.depth];
    if (f->q == Q_SINGLE || f->q == Q_ANSI) return hm_err_set(e, "unterminated ' quote in the command");
    if (f->q == Q_DOUBLE) return hm_err_set(e, "unterminated \" quote in the command");
    if (lx.depth > 0)
        return hm_err_set(e, "unterminated %s in the command",
                          f->kind == F_BACKQUOTE ? "` quote" : "$(");
    return 0;
}

/* Refuses a value that no quoting makes safe in ctx. */
static int value_ok(const char *name, const char *v, enum drill_subst_ctx ctx, bool secret,
                    hm_err *e)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (secret)
                return hm_err_set(e, "{%s} holds a control character; it cannot be quoted safely",
                                  name);
            return hm_err_set(e, "{%s} = \"%.*s...\" holds a control character (byte 0x%02x); "
                                 "it cannot be quoted safely", name,
                              (int)((const char *)p - v), v, *p);
        }
        if (ctx == DRILL_SUBST_WORD && strchr(" \"'<>{}|^`\\", (char)*p))
            return hm_err_set(e, "{%s} = \"%s\" holds '%c', which an address or URL must not "
                                 "contain", name, secret ? "********" : v, *p);
    }
    if (ctx == DRILL_SUBST_WORD && v[0] == '-')
        return hm_err_set(e, "{%s} = \"%s\" starts with '-'; refused as an address", name,
                          secret ? "********" : v);
    return 0;
}

/* Appends v quoted for the state q. */
static void add_quoted(strbuf *sb, const char *v, int q)
{
    switch (q) {
    case Q_NONE: {
        char *s = drill_sh_quote(v);
        sb_adds(sb, s);
        free(s);
        break;
    }
    case Q_SINGLE:
        for (; *v; v++) {
            if (*v == '\'') sb_adds(sb, "'\\''");
            else sb_addc(sb, *v);
        }
        break;
    case Q_DOUBLE:
        for (; *v; v++) {
            if (strchr("$`\"\\", *v)) sb_addc(sb, '\\');
            sb_addc(sb, *v);
        }
        break;
    default:
        break;
    }
}

struct subst_state {
    enum drill_subst_ctx ctx;
    drill_lookup_fn lookup;
    void *ud;
    strbuf out, shown;
};

static int subst_piece(void *ud, const char *text, size_t len, int q, bool backquote, hm_err *e)
{
    struct subst_state *s = ud;
    if (q < 0) {
        sb_add(&s->out, text, len);
        sb_add(&s->shown, text, len);
        return 0;
    }
    char *name = xstrndup(text, len);
    int rc = -1;
    if (backquote || q == Q_ANSI) {
        hm_err_set(e, "{%s} stands inside %s, where it cannot be quoted safely; use $(...) or "
                      "quotes", name, backquote ? "`...`" : "$'...'");
        goto out;
    }
    bool secret = false;
    hm_err le = {{0}};
    const char *v = s->lookup(s->ud, name, &secret, &le);
    if (!v) {
        hm_err_set(e, "%s", le.msg[0] ? le.msg : "unknown variable");
        if (!le.msg[0]) hm_err_prefix(e, "{%s}", name);
        goto out;
    }
    if (value_ok(name, v, s->ctx, secret, e) < 0) goto out;
    if (s->ctx == DRILL_SUBST_SHELL) {
        add_quoted(&s->out, v, q);
        add_quoted(&s->shown, secret ? "********" : v, q);
    } else {
        sb_adds(&s->out, v);
        sb_adds(&s->shown, secret ? "********" : v);
    }
    rc = 0;
out:
    free(name);
    return rc;
}

int drill_subst(const char *tmpl, enum drill_subst_ctx ctx, drill_lookup_fn lookup, void *ud,
                char **out, char **shown, hm_err *e)
{
    struct subst_state s = {.ctx = ctx, .lookup = lookup, .ud = ud};
    *out = NULL;
    if (shown) *shown = NULL;
    if (scan(tmpl ? tmpl : "", ctx, subst_piece, &s, e) < 0) {
        sb_free(&s.out);
        sb_free(&s.shown);
        return -1;
    }
    *out = sb_detach(&s.out);
    if (shown) *shown = sb_detach(&s.shown);
    sb_free(&s.shown);
    return 0;
}

struct check_state {
    int (*check_name)(void *ud, const char *name, hm_err *e);
    void *ud;
};

static int check_piece(void *ud, const char *text, size_t len, int q, bool backquote, hm_err *e)
{
    struct check_state *s = ud;
    if (q < 0) return 0;
    char *name = xstrndup(text, len);
    int rc = 0;
    if (backquote || q == Q_ANSI)
        rc = hm_err_set(e, "{%s} stands inside %s, where it cannot be quoted safely; use $(...) "
                           "or quotes", name, backquote ? "`...`" : "$'...'");
    else if (s->check_name)
        rc = s->check_name(s->ud, name, e);
    free(name);
    return rc;
}

int drill_template_check(const char *tmpl, enum drill_subst_ctx ctx,
                         int (*check_name)(void *ud, const char *name, hm_err *e), void *ud,
                         hm_err *e)
{
    struct check_state s = {check_name, ud};
    return scan(tmpl ? tmpl : "", ctx, check_piece, &s, e);
}
