/* Drawing helpers: role attributes (colour or monochrome), text cut to a display width, meters.
 * Every string goes through tui_put so CJK text is measured by display width and a non-UTF-8
 * terminal never receives bytes it cannot show. */
#include <stdio.h>
#include <string.h>

#include "tui/tui-int.h"

/* The one table of UI roles: the colour pair for colour terminals (fg256/bg256 replace fg/bg
 * on terminals with 256 colours, for finer shades; -2 keeps the 8-colour value) and the
 * attributes for monochrome ones (NO_COLOR, --no-color, [tui] color = no, or a terminal without
 * colours). -1 is the terminal's default colour. */
static const struct {
    short fg, bg;
    short fg256, bg256;
    attr_t color_attr;
    attr_t mono_attr;
} role_table[TUI_ROLE_COUNT] = {
    [TUI_NORMAL] = {-1, -1, -2, -2, A_NORMAL, A_NORMAL},
    [TUI_OK] = {COLOR_GREEN, -1, 34, -2, A_NORMAL, A_NORMAL},
    [TUI_WARNING] = {COLOR_YELLOW, -1, 214, -2, A_BOLD, A_BOLD},
    [TUI_CRITICAL] = {COLOR_RED, -1, 196, -2, A_BOLD, A_BOLD | A_REVERSE},
    [TUI_UNKNOWN] = {COLOR_MAGENTA, -1, 135, -2, A_NORMAL, A_UNDERLINE},
    [TUI_HEADER] = {COLOR_BLACK, COLOR_CYAN, 16, 38, A_NORMAL, A_REVERSE},
    [TUI_HEADING] = {COLOR_CYAN, -1, 38, -2, A_BOLD, A_BOLD},
    [TUI_FOOTER] = {-1, -1, -2, -2, A_NORMAL, A_NORMAL},
    [TUI_FOOTER_KEY] = {COLOR_BLACK, COLOR_CYAN, 16, 38, A_NORMAL, A_REVERSE},
    [TUI_TAB] = {-1, -1, -2, -2, A_NORMAL, A_NORMAL},
    [TUI_TAB_ACTIVE] = {COLOR_BLACK, COLOR_GREEN, 16, 34, A_BOLD, A_REVERSE | A_BOLD},
    [TUI_METER] = {COLOR_GREEN, -1, 34, -2, A_BOLD, A_BOLD},
    [TUI_DIM] = {-1, -1, 244, -2, A_DIM, A_NORMAL},
    [TUI_SELECTED] = {COLOR_BLACK, COLOR_CYAN, 16, 117, A_NORMAL, A_REVERSE},
    [TUI_DIALOG] = {COLOR_WHITE, COLOR_BLUE, 255, 24, A_NORMAL, A_NORMAL},
    [TUI_BUTTON] = {COLOR_WHITE, COLOR_BLUE, 255, 24, A_BOLD, A_BOLD},
    [TUI_BUTTON_FOCUS] = {COLOR_BLACK, COLOR_WHITE, 16, 255, A_BOLD, A_REVERSE | A_BOLD},
    [TUI_TILE] = {-1, -1, -2, -2, A_BOLD, A_BOLD},
};

void tui_roles_init(struct tui *t, bool color)
{
    t->has_color = color && has_colors() && start_color() == OK;
    if (t->has_color) use_default_colors();
    bool wide = t->has_color && COLORS >= 256 && COLOR_PAIRS > TUI_ROLE_COUNT;
    for (int r = 0; r < TUI_ROLE_COUNT; r++) {
        if (!t->has_color) {
            t->attrs[r] = role_table[r].mono_attr;
            continue;
        }
        short fg = role_table[r].fg, bg = role_table[r].bg;
        if (wide && role_table[r].fg256 != -2) fg = role_table[r].fg256;
        if (wide && role_table[r].bg256 != -2) bg = role_table[r].bg256;
        attr_t extra = role_table[r].color_attr;
        if (wide && r == TUI_DIM) extra = A_NORMAL; /* a grey reads better than dim */
        if (fg == -1 && bg == -1) {
            t->attrs[r] = extra;
            continue;
        }
        init_pair((short)r, fg, bg);
        t->attrs[r] = COLOR_PAIR(r) | extra;
    }
}

attr_t tui_role_attr(const struct tui *t, enum tui_role role)
{
    return t->attrs[role];
}

enum tui_role tui_state_role(enum hm_state s)
{
    switch (s) {
    case HM_OK: return TUI_OK;
    case HM_WARNING: return TUI_WARNING;
    case HM_CRITICAL: return TUI_CRITICAL;
    case HM_UNKNOWN: return TUI_UNKNOWN;
    }
    return TUI_UNKNOWN;
}

/* Length of the UTF-8 sequence at s (1 for an invalid byte, which is then shown as '?'). */
static int utf8_len(const unsigned char *s, bool *valid)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
          : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    *valid = n > 0;
    if (!n) return 1;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) {
            *valid = false;
            return 1;
        }
    return n;
}

/* Columns of the character at s and how it is drawn. */
static int char_width(const struct tui *t, const char *s, int len, bool valid)
{
    if (len == 1) return 1; /* ASCII, control (drawn as a space) or an invalid byte */
    if (!valid) return 1;
    char buf[5];
    memcpy(buf, s, (size_t)len);
    buf[len] = '\0';
    int w = hm_display_width(buf);
    (void)t;
    return w < 0 ? 1 : w; /* zero-width marks keep their width 0 */
}

int tui_text_width(const struct tui *t, const char *s)
{
    int w = 0;
    if (!s) return 0;
    for (const char *p = s; *p;) {
        bool valid;
        int n = utf8_len((const unsigned char *)p, &valid);
        w += char_width(t, p, n, valid);
        p += n;
    }
    return w;
}

/* Appends the drawable form of one character to out. */
static void emit_char(const struct tui *t, strbuf *out, const char *p, int n, bool valid, int w)
{
    unsigned char c = (unsigned char)p[0];
    if (n == 1 && valid) {
        sb_addc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    } else if (!valid || !t->utf8) {
        for (int i = 0; i < (w ? w : 0); i++) sb_addc(out, '?');
    } else {
        sb_add(out, p, (size_t)n);
    }
}

int tui_put(struct tui *t, int y, int x, int width, enum tui_role role, bool pad, const char *s)
{
    if (width <= 0) return 0;
    if (!s) s = "";
    int total = tui_text_width(t, s);
    const char *ellipsis = t->utf8 ? "\xe2\x80\xa6" : "~";
    int limit = total <= width ? width : width - 1; /* room for the ellipsis */
    strbuf out = {0};
    int used = 0;
    for (const char *p = s; *p;) {
        bool valid;
        int n = utf8_len((const unsigned char *)p, &valid);
        int w = char_width(t, p, n, valid);
        if (used + w > limit) break;
        emit_char(t, &out, p, n, valid, w);
        used += w;
        p += n;
    }
    if (total > width) {
        sb_adds(&out, ellipsis);
        used++;
    }
    if (pad)
        for (; used < width; used++) sb_addc(&out, ' ');
    attr_t a = tui_role_attr(t, role);
    wattrset(t->win, a);
    mvwaddstr(t->win, y, x, sb_str(&out));
    wattrset(t->win, A_NORMAL);
    sb_free(&out);
    return used;
}

void tui_fill(struct tui *t, int y, int x, int width, enum tui_role role)
{
    tui_put(t, y, x, width, role, true, "");
}

int tui_put_right(struct tui *t, int y, int x, int width, enum tui_role role, const char *s)
{
    int w = tui_text_width(t, s);
    if (w >= width) return tui_put(t, y, x, width, role, false, s);
    return tui_put(t, y, x + width - w, w, role, false, s) + width - w;
}

void tui_format_age(int64_t ms, char *buf, size_t size)
{
    hm_format_duration(ms < 0 ? 0 : ms / 1000 * 1000, buf, size);
}

void tui_sparkline(struct tui *t, int y, int x, int width, const double *v, int n, double max,
                   double warning, double critical)
{
    static const char *const blocks[] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
                                         "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
                                         "\xe2\x96\x87", "\xe2\x96\x88"};
    static const char ascii[] = ".:-=+*##";
    if (width <= 0 || n <= 0) return;
    if (max <= 0) max = 1;
    /* each column averages the points it covers; the newest point lands in the last one */
    for (int c = 0; c < width; c++) {
        int from = (int)((int64_t)c * n / width), to = (int)((int64_t)(c + 1) * n / width);
        if (to <= from) to = from + 1;
        double sum = 0;
        int cnt = 0;
        for (int i = from; i < to && i < n; i++)
            if (v[i] == v[i]) { /* not NAN */
                sum += v[i];
                cnt++;
            }
        if (!cnt) {
            tui_put(t, y, x + c, 1, TUI_DIM, false, " ");
            continue;
        }
        double avg = sum / cnt;
        int level = (int)(avg / max * 8.0);
        if (level > 7) level = 7;
        if (level < 0) level = 0;
        enum tui_role role = avg >= critical ? TUI_CRITICAL : avg >= warning ? TUI_WARNING
                                                                             : TUI_METER;
        char ch[2] = {ascii[level], '\0'};
        tui_put(t, y, x + c, 1, role, false, t->utf8 ? blocks[level] : ch);
    }
}

void tui_box(struct tui *t, int y, int x, int h, int w, enum tui_role role, const char *title)
{
    if (h < 2 || w < 2) return;
    attr_t a = tui_role_attr(t, role);
    for (int i = 0; i < h; i++) tui_fill(t, y + i, x, w, role);
    wattrset(t->win, a);
    if (t->utf8) {
        mvwhline_set(t->win, y, x + 1, WACS_HLINE, w - 2);
        mvwhline_set(t->win, y + h - 1, x + 1, WACS_HLINE, w - 2);
        mvwvline_set(t->win, y + 1, x, WACS_VLINE, h - 2);
        mvwvline_set(t->win, y + 1, x + w - 1, WACS_VLINE, h - 2);
        mvwadd_wch(t->win, y, x, WACS_ULCORNER);
        mvwadd_wch(t->win, y, x + w - 1, WACS_URCORNER);
        mvwadd_wch(t->win, y + h - 1, x, WACS_LLCORNER);
        mvwadd_wch(t->win, y + h - 1, x + w - 1, WACS_LRCORNER);
    } else {
        mvwhline(t->win, y, x + 1, '-', w - 2);
        mvwhline(t->win, y + h - 1, x + 1, '-', w - 2);
        mvwvline(t->win, y + 1, x, '|', h - 2);
        mvwvline(t->win, y + 1, x + w - 1, '|', h - 2);
        mvwaddch(t->win, y, x, '+');
        mvwaddch(t->win, y, x + w - 1, '+');
        mvwaddch(t->win, y + h - 1, x, '+');
        mvwaddch(t->win, y + h - 1, x + w - 1, '+');
    }
    wattrset(t->win, A_NORMAL);
    if (title && *title && w > 6) {
        char buf[160];
        snprintf(buf, sizeof buf, " %s ", title);
        tui_put(t, y, x + 2, w - 4, role, false, buf);
    }
}

void tui_meter(struct tui *t, int y, int x, int width, const char *label, double percent,
               double warning, double critical)
{
    char value[16];
    if (percent < 0) snprintf(value, sizeof value, "  n/a");
    else snprintf(value, sizeof value, "%5.1f%%", percent > 100 ? 100.0 : percent);
    /* LABEL[bar] value */
    int lw = tui_put(t, y, x, width, TUI_HEADING, false, label);
    int vw = (int)strlen(value) + 1;
    int bar = width - lw - 2 - vw;
    if (bar < 3) {
        tui_put(t, y, x + lw, width - lw, TUI_NORMAL, false, value);
        return;
    }
    enum tui_role role = percent >= critical ? TUI_CRITICAL
                       : percent >= warning  ? TUI_WARNING : TUI_METER;
    int filled = percent <= 0 ? 0 : (int)(percent / 100.0 * bar + 0.5);
    if (filled > bar) filled = bar;
    if (percent > 0 && filled == 0) filled = 1; /* any load shows */
    char buf[512];
    if (bar > (int)sizeof buf - 1) bar = (int)sizeof buf - 1;
    int cx = x + lw;
    tui_put(t, y, cx++, 1, TUI_NORMAL, false, "[");
    memset(buf, '|', (size_t)filled);
    buf[filled] = '\0';
    tui_put(t, y, cx, filled, role, false, buf);
    memset(buf, ' ', (size_t)(bar - filled));
    buf[bar - filled] = '\0';
    tui_put(t, y, cx + filled, bar - filled, TUI_DIM, false, buf);
    cx += bar;
    tui_put(t, y, cx++, 1, TUI_NORMAL, false, "]");
    tui_put(t, y, cx + 1, vw - 1, percent < 0 ? TUI_DIM : role == TUI_METER ? TUI_NORMAL : role,
            false, value);
}
