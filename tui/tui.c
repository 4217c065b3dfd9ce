/* The TUI main loop: screen table, global key table, header, tabs, footer, help overlay, the
 * filter prompt, the confirmation dialog, the mouse, and the poll() loop over the terminal and
 * the self-pipe that the poller and the signal handlers write to. The UI thread never does I/O
 * to a data source. */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "tui/tui-int.h"

/* The screens in tab order (DESIGN.md 7). A NULL entry is a slot kept for a screen whose data
 * layer is built elsewhere: Reports. Slots take no tab and no digit; the built screens are numbered
 * 1-9 in this order. */
static const struct tui_screen *const screen_table[] = {
    &tui_screen_overview,
    &tui_screen_services,
    &tui_screen_remote,
    &tui_screen_hosts,
    &tui_screen_alerts,
    &tui_screen_events,
    NULL, /* Reports */
    &tui_screen_drill,
};

#define MAX_SCREENS HM_ARRAY_LEN(screen_table)

/* The self-pipe: the poller threads write 'S', the signal handlers 'W' (resize) and 'Q'
 * (interrupt, terminate, hang-up). A static because a signal handler can reach nothing else. */
static int wake_pipe[2] = {-1, -1};

/* The built screens, in tab order (filled once; the table above is constant). */
static const struct tui_screen *screens[MAX_SCREENS];

static size_t built_screens(void)
{
    size_t n = 0;
    for (size_t i = 0; i < MAX_SCREENS; i++)
        if (screen_table[i]) screens[n++] = screen_table[i];
    return n;
}

static void on_signal(int sig)
{
    int saved = errno;
    char c = sig == SIGWINCH ? 'W' : 'Q';
    ssize_t rc = write(wake_pipe[1], &c, 1);
    (void)rc;
    errno = saved;
}

const hm_result *tui_result(const struct tui *t)
{
    return t->snap && t->snap->local ? &t->snap->local->result : NULL;
}

const struct tui_console *tui_console_data(const struct tui *t)
{
    return t->snap ? t->snap->console : NULL;
}

const struct tui_local *tui_local_data(const struct tui *t)
{
    return t->snap ? t->snap->local : NULL;
}

void tui_request_refresh(struct tui *t)
{
    if (t->poller) tui_poller_refresh(t->poller);
}

static const struct tui_screen *current_screen(const struct tui *t)
{
    return screens[t->current];
}

static void *current_state(const struct tui *t)
{
    return t->states[t->current];
}

void tui_message(struct tui *t, enum tui_role role, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    t->message_role = role;
    t->message_until = hm_mono_ms() + 5000;
}

void tui_show_screen(struct tui *t, const char *name)
{
    for (size_t i = 0; i < t->n_screens; i++)
        if (strcmp(screens[i]->name, name) == 0 && t->current != i) {
            t->current = i;
            t->prompt = false;
        }
}

bool tui_action_allowed(struct tui *t, const char *what)
{
    if (!t->opt->readonly) return true;
    tui_message(t, TUI_WARNING, "read-only (--readonly): %s is disabled", what);
    return false;
}

void tui_confirm(struct tui *t, const char *title, const char *question,
                 int (*confirm)(struct tui *t, void *ud), void *ud)
{
    free(t->dialog.ud);
    snprintf(t->dialog.title, sizeof t->dialog.title, "%s", title);
    snprintf(t->dialog.question, sizeof t->dialog.question, "%s", question);
    t->dialog.confirm = confirm;
    t->dialog.ud = ud;
    t->dialog.focus = 1; /* No: Enter alone never confirms */
    t->dialog.n_fields = 0;
    t->dialog.open = true;
}

void tui_form(struct tui *t, const char *title, const char *question, const char *const *labels,
              const char *const *values, size_t n, int (*confirm)(struct tui *t, void *ud),
              void *ud)
{
    tui_confirm(t, title, question, confirm, ud);
    if (n > TUI_DIALOG_FIELDS) n = TUI_DIALOG_FIELDS;
    for (size_t i = 0; i < n; i++) {
        snprintf(t->dialog.field[i].label, sizeof t->dialog.field[i].label, "%s", labels[i]);
        snprintf(t->dialog.field[i].text, sizeof t->dialog.field[i].text, "%s",
                 values && values[i] ? values[i] : "");
    }
    t->dialog.n_fields = (int)n;
    if (n) t->dialog.focus = 2;
}

const char *tui_dialog_field(const struct tui *t, size_t i)
{
    return (int)i < t->dialog.n_fields ? t->dialog.field[i].text : "";
}

/* ---- global actions ---- */

static int act_quit(struct tui *t, void *state)
{
    return TUI_QUIT;
}

static int act_help(struct tui *t, void *state)
{
    t->help = !t->help;
    return TUI_REDRAW;
}

static int act_refresh(struct tui *t, void *state)
{
    tui_request_refresh(t);
    return TUI_REDRAW; /* shows the "refreshing" hint */
}

static int act_next_screen(struct tui *t, void *state)
{
    t->current = (t->current + 1) % t->n_screens;
    return TUI_REDRAW;
}

static int act_prev_screen(struct tui *t, void *state)
{
    t->current = (t->current + t->n_screens - 1) % t->n_screens;
    return TUI_REDRAW;
}

static bool several_screens(const struct tui *t, void *state)
{
    return t->n_screens > 1;
}

/* Keys that work on every screen, in footer order. Digits are handled in dispatch (one entry
 * here documents them). */
static const struct tui_key global_keys[] = {
    {.keys = {'?', KEY_F(1)}, .name = "help", .help = "show this help; any key closes it",
     .footer = "Help", .fn = act_help},
    {.keys = {'r', KEY_F(5)}, .name = "refresh", .help = "read every source now",
     .footer = "Refresh", .fn = act_refresh},
    {.keys = {'\t'}, .name = "next-screen", .help = "next screen", .footer = "Next",
     .fn = act_next_screen, .available = several_screens},
    {.keys = {KEY_BTAB}, .name = "prev-screen", .help = "previous screen",
     .fn = act_prev_screen, .available = several_screens},
    {.keys = {0}, .label = {"1-9"}, .name = "screen-N", .help = "go to screen N (the tab's number)",
     .available = several_screens},
    {.keys = {'q', KEY_F(10)}, .name = "quit", .help = "quit", .footer = "Quit", .fn = act_quit},
    {.keys = {0}},
};

static const struct tui_binding *global_bindings(const struct tui *t)
{
    return t->bindings[t->n_screens];
}

static const struct tui_binding *screen_bindings(const struct tui *t)
{
    return t->bindings[t->current];
}

static bool binding_available(const struct tui *t, const struct tui_binding *b, void *state)
{
    return !b->key->available || b->key->available(t, state);
}

int tui_keys_check(const char *value, hm_err *e)
{
    struct tui_remap *rm = NULL;
    size_t n = 0;
    if (tui_remap_parse(value, &rm, &n, e) < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool known = false;
        for (size_t s = 0; s <= MAX_SCREENS && !known; s++) {
            const struct tui_key *k = s < MAX_SCREENS ? (screen_table[s] ? screen_table[s]->keys : NULL)
                                                      : global_keys;
            for (; k && k->name; k++)
                if (k->fn && strcmp(k->name, rm[i].action) == 0) known = true;
        }
        if (known) continue;
        strbuf names = {0};
        strvec seen = {0};
        for (size_t s = 0; s <= MAX_SCREENS; s++) {
            const struct tui_key *k = s == 0 ? global_keys
                                             : screen_table[s - 1] ? screen_table[s - 1]->keys : NULL;
            for (; k && k->name; k++) {
                if (!k->fn || sv_contains(&seen, k->name)) continue;
                sv_push(&seen, k->name);
                sb_addf(&names, "%s%s", names.len ? ", " : "", k->name);
            }
        }
        rc = hm_err_set(e, "unknown action '%s' in [tui] keys (actions: %s)", rm[i].action,
                        sb_str(&names));
        sb_free(&names);
        sv_free(&seen);
    }
    free(rm);
    return rc;
}

/* ---- input ---- */

static int run_binding(struct tui *t, const struct tui_binding *b, void *state)
{
    if (b->key->action && t->opt->readonly) {
        tui_action_allowed(t, b->key->name);
        return TUI_REDRAW;
    }
    return b->key->fn(t, state);
}

/* Closes the dialog; on choice 0 (Yes) runs its confirm callback. */
static int dialog_choose(struct tui *t, int choice)
{
    t->dialog.open = false;
    int flags = TUI_REDRAW;
    if (choice == 0 && t->dialog.confirm) flags |= t->dialog.confirm(t, t->dialog.ud);
    free(t->dialog.ud);
    t->dialog.ud = NULL;
    return flags;
}

/* Focus order: the fields, then Yes, then No, round again. */
static void dialog_move(struct tui *t, int step)
{
    int n = t->dialog.n_fields + 2;
    int f = t->dialog.focus, seq = f >= 2 ? f - 2 : t->dialog.n_fields + f;
    seq = (seq + step + n) % n;
    t->dialog.focus = seq < t->dialog.n_fields ? seq + 2 : seq - t->dialog.n_fields;
}

static void drop_last_char(char *s);

/* A key while a text field has the focus: typing edits it, the rest moves. */
static int field_key(struct tui *t, int key)
{
    char *text = t->dialog.field[t->dialog.focus - 2].text;
    size_t size = sizeof t->dialog.field[0].text, n = strlen(text);
    switch (key) {
    case 27: return dialog_choose(t, 1);
    case '\t': case KEY_DOWN: case '\r': case '\n': case KEY_ENTER: dialog_move(t, 1); break;
    case KEY_BTAB: case KEY_UP: dialog_move(t, -1); break;
    case KEY_BACKSPACE: case 127: case 8: drop_last_char(text); break;
    case 21: text[0] = '\0'; break; /* C-u */
    default:
        if (key < ' ' || key > 255) return TUI_DONE;
        if (n + 1 < size) {
            text[n] = (char)key;
            text[n + 1] = '\0';
        }
    }
    return TUI_REDRAW;
}

static int dialog_key(struct tui *t, int key)
{
    if (t->dialog.focus >= 2) return field_key(t, key);
    int choice = -1;
    switch (key) {
    case KEY_LEFT: case KEY_BTAB: case 'h': case KEY_UP:
        dialog_move(t, -1);
        return TUI_REDRAW;
    case KEY_RIGHT: case '\t': case 'l': case KEY_DOWN:
        dialog_move(t, 1);
        return TUI_REDRAW;
    case 'y': case 'Y': choice = 0; break;
    case 'n': case 'N': case 27: case 'q': choice = 1; break;
    case '\r': case '\n': case KEY_ENTER: case ' ': choice = t->dialog.focus; break;
    default: return TUI_DONE;
    }
    return dialog_choose(t, choice);
}

/* Removes the last UTF-8 character of s. */
static void drop_last_char(char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        n--;
        if (((unsigned char)s[n] & 0xC0) != 0x80) break;
    }
    s[n] = '\0';
}

static int prompt_key(struct tui *t, int key)
{
    const struct tui_screen *sc = current_screen(t);
    void *st = current_state(t);
    size_t size;
    char *text = sc->filter_text ? sc->filter_text(st, &size) : NULL;
    if (!text) {
        t->prompt = false;
        return TUI_REDRAW;
    }
    if (key == '\r' || key == '\n' || key == KEY_ENTER) {
        t->prompt = false;
    } else if (key == 27) {
        t->prompt = false;
        text[0] = '\0';
    } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        drop_last_char(text);
    } else if (key == 21) { /* C-u */
        text[0] = '\0';
    } else if (key >= ' ' && key <= 255 && key != 127) {
        size_t n = strlen(text);
        if (n + 1 < size) {
            text[n] = (char)key;
            text[n + 1] = '\0';
        }
    } else {
        return TUI_DONE;
    }
    if (sc->filter_changed) sc->filter_changed(t, st);
    return TUI_REDRAW;
}

/* Screen keys first, so a screen may give a key its own meaning; then the global ones. */
static int dispatch_key(struct tui *t, int key)
{
    if (t->message[0]) t->message_until = 0; /* a key clears the message */
    if (t->dialog.open) return dialog_key(t, key);
    if (t->help) {
        t->help = false; /* any key closes the overlay */
        return TUI_REDRAW;
    }
    if (t->prompt) return prompt_key(t, key);
    const struct tui_binding *b = tui_binding_find(screen_bindings(t), key);
    if (b && b->key->fn && binding_available(t, b, current_state(t)))
        return run_binding(t, b, current_state(t));
    b = tui_binding_find(global_bindings(t), key);
    if (b && b->key->fn && binding_available(t, b, NULL)) return run_binding(t, b, NULL);
    if (key >= '1' && key <= '9' && t->n_screens > 1) {
        size_t n = (size_t)(key - '1');
        if (n >= t->n_screens || n == t->current) return TUI_DONE;
        t->current = n;
        return TUI_REDRAW;
    }
    return TUI_REDRAW; /* an unknown key clears a message */
}

static bool inside(int x, int x0, int x1)
{
    return x >= x0 && x < x1;
}

static int handle_mouse(struct tui *t)
{
    MEVENT ev;
    if (getmouse(&ev) != OK) return TUI_DONE;
    bool click = ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED |
                              BUTTON1_DOUBLE_CLICKED);
    bool twice = ev.bstate & BUTTON1_DOUBLE_CLICKED;
    if (ev.bstate & BUTTON4_PRESSED) return dispatch_key(t, KEY_UP);
#ifdef BUTTON5_PRESSED
    if (ev.bstate & BUTTON5_PRESSED) return dispatch_key(t, KEY_DOWN);
#endif
    if (!click || (ev.bstate & BUTTON1_RELEASED && !(ev.bstate & BUTTON1_CLICKED))) return TUI_DONE;
    if (t->dialog.open) {
        if (ev.y == t->dialog.y && inside(ev.x, t->dialog.yes_x0, t->dialog.yes_x1))
            return dialog_choose(t, 0);
        if (ev.y == t->dialog.y && inside(ev.x, t->dialog.no_x0, t->dialog.no_x1))
            return dialog_choose(t, 1);
        return TUI_DONE;
    }
    if (t->help) {
        t->help = false;
        return TUI_REDRAW;
    }
    if (ev.y == t->tabs_y)
        for (size_t i = 0; i < t->n_tabs; i++)
            if (inside(ev.x, t->tabs[i].x0, t->tabs[i].x1)) {
                t->current = t->tabs[i].screen;
                t->prompt = false;
                return TUI_REDRAW;
            }
    if (ev.y == t->footer_y && !t->prompt)
        for (size_t i = 0; i < t->n_footer; i++)
            if (inside(ev.x, t->footer[i].x0, t->footer[i].x1))
                return run_binding(t, t->footer[i].b, t->footer[i].global ? NULL : current_state(t));
    const struct tui_screen *sc = current_screen(t);
    if (sc->click && ev.y >= t->area.y && ev.y < t->area.y + t->area.h)
        return sc->click(t, current_state(t), ev.y, ev.x, twice);
    return TUI_DONE;
}

/* ---- header, tabs, footer, help, dialog ---- */

bool tui_age_text(const struct tui *t, int64_t wall_ms, int64_t mono_ms, int64_t stale_ms,
                  char *buf, size_t size)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    char hms[16] = "?";
    if (localtime_r(&secs, &tm)) strftime(hms, sizeof hms, "%H:%M:%S", &tm);
    int64_t age = hm_mono_ms() - mono_ms;
    if (age > stale_ms) {
        char a[32];
        /* whole seconds, rounded up: stale data is at least this old */
        hm_format_duration((age + 999) / 1000 * 1000, a, sizeof a);
        snprintf(buf, size, "STALE %s old (%s)", a, hms);
        return true;
    }
    snprintf(buf, size, "updated %s", hms);
    return false;
}

static enum hm_state worst_state(const struct tui *t)
{
    enum hm_state w = HM_OK;
    if (t->snap && t->snap->local) w = hm_state_worse(w, hm_result_worst(&t->snap->local->result));
    if (t->snap && t->snap->console)
        w = hm_state_worse(w, hm_result_worst(&t->snap->console->result));
    return w;
}

static void draw_header(struct tui *t, int cols)
{
    static const char *const worst_names[] = {"OK", "WARNING", "UNKNOWN", "CRITICAL"};
    tui_fill(t, 0, 0, cols, TUI_HEADER);
    char left[512];
    snprintf(left, sizeof left, " hmctl %s  %s  %s%s", HMCTL_VERSION, t->host,
             current_screen(t)->title, t->opt->readonly ? "  [readonly]" : "");

    /* Right end: worst state, then when the data was collected (and its age when stale). */
    char when[96] = "collecting";
    enum tui_role when_role = TUI_HEADER;
    const struct tui_local *l = tui_local_data(t);
    if (l && tui_age_text(t, l->wall_ms, l->mono_ms, 2 * t->opt->interval_ms, when, sizeof when))
        when_role = TUI_WARNING;
    char worst[32] = "";
    enum tui_role worst_role = TUI_HEADER;
    if (l) {
        enum hm_state w = worst_state(t);
        snprintf(worst, sizeof worst, " %s ", worst_names[w]);
        worst_role = tui_state_role(w);
    }
    int ww = tui_text_width(t, worst), whw = tui_text_width(t, when) + 1;
    int right = ww + 1 + whw;
    int lw = cols - right - 1;
    if (lw < 20) { /* a very narrow terminal keeps the name and the worst state */
        right = ww;
        lw = cols - right;
        whw = 0;
    }
    tui_put(t, 0, 0, lw, TUI_HEADER, false, left);
    int x = cols - right;
    if (ww) tui_put(t, 0, x, ww, worst_role, false, worst);
    if (whw) tui_put(t, 0, cols - whw, whw - 1, when_role, false, when);
}

static int draw_tabs(struct tui *t, int y, int cols)
{
    t->n_tabs = 0;
    t->tabs_y = -1;
    if (t->n_screens < 2) return 0;
    int x = 0;
    tui_fill(t, y, 0, cols, TUI_TAB);
    t->tabs_y = y;
    for (size_t i = 0; i < t->n_screens && x < cols; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, " %zu %s ", i + 1, screens[i]->title);
        int w = tui_put(t, y, x, cols - x, i == t->current ? TUI_TAB_ACTIVE : TUI_TAB, false, buf);
        if (t->n_tabs < HM_ARRAY_LEN(t->tabs)) t->tabs[t->n_tabs++] = (struct tui_tab_hit){x, x + w, i};
        x += w + 1;
    }
    return 1;
}

/* The footer text of a binding's key: the table's own ("↑↓") for default keys, else the
 * first key's name. */
static void footer_key_text(const struct tui *t, const struct tui_binding *b, char *buf,
                            size_t size)
{
    const struct tui_label *fk = &b->key->footer_key;
    if (fk->ascii && !b->remapped) snprintf(buf, size, "%s", t->utf8 && fk->utf8 ? fk->utf8 : fk->ascii);
    else tui_key_name(b->codes[0], t->utf8, buf, size);
}

static void draw_prompt(struct tui *t, int y, int cols)
{
    size_t size;
    const struct tui_screen *sc = current_screen(t);
    const char *text = sc->filter_text ? sc->filter_text(current_state(t), &size) : "";
    tui_fill(t, y, 0, cols, TUI_FOOTER);
    int x = tui_put(t, y, 0, cols, TUI_FOOTER_KEY, false, "Filter:");
    x += tui_put(t, y, x, cols - x, TUI_FOOTER, false, " ");
    x += tui_put(t, y, x, cols - x - 24, TUI_NORMAL, false, text);
    x += tui_put(t, y, x, cols - x, TUI_SELECTED, false, " ");
    const char *hint = "  Enter done  Esc clear";
    int hw = tui_text_width(t, hint);
    if (cols - hw > x) tui_put(t, y, cols - hw, hw, TUI_DIM, false, hint);
}

/* Footer entries: the current screen's keys, then the global ones, htop style. */
static void draw_footer(struct tui *t, int y, int cols)
{
    t->footer_y = y;
    t->n_footer = 0;
    if (t->prompt) {
        draw_prompt(t, y, cols);
        return;
    }
    tui_fill(t, y, 0, cols, TUI_FOOTER);
    char pos[160] = "";
    const struct tui_screen *sc = current_screen(t);
    if (sc->position) sc->position(t, current_state(t), pos, sizeof pos);
    char act[160];
    const char *busy = t->poller && tui_poller_busy(t->poller) ? "refreshing " : "";
    if (t->poller && tui_poller_action_busy(t->poller, act, sizeof act - 2)) {
        strcat(act, "  ");
        busy = act;
    }
    char right[400];
    snprintf(right, sizeof right, "%s%s", busy, pos);
    int rw = tui_text_width(t, right);
    if (rw > cols / 2) rw = cols / 2;
    int limit = cols - (rw ? rw + 1 : 0);
    /* Every working key with a footer text; when they do not fit, the least needed go first:
     * the arrows, then Next, then Refresh, then the screen's own from the last; Help and Quit
     * always stay. */
    struct entry {
        const struct tui_binding *b;
        bool global;
        int w, prio;
        char key[32];
    } e[48];
    size_t n = 0;
    int total = 0;
    const struct tui_binding *tables[] = {screen_bindings(t), global_bindings(t)};
    for (size_t ti = 0; ti < 2; ti++) {
        int order = 0;
        for (const struct tui_binding *b = tables[ti]; b && b->key && n < HM_ARRAY_LEN(e); b++) {
            void *st = ti == 0 ? current_state(t) : NULL;
            if (!b->key->footer || !b->codes[0] || !binding_available(t, b, st)) continue;
            if (b->key->action && t->opt->readonly) continue;
            struct entry *x = &e[n++];
            x->b = b;
            x->global = ti == 1;
            footer_key_text(t, b, x->key, sizeof x->key);
            x->w = tui_text_width(t, x->key) + 1 + tui_text_width(t, b->key->footer) + 2;
            const char *nm = b->key->name;
            x->prio = !strcmp(nm, "help") || !strcmp(nm, "quit") ? 100
                    : !strcmp(nm, "up") ? 1 : !strcmp(nm, "next-screen") ? 2
                    : !strcmp(nm, "refresh") ? 3 : 50 - order;
            order++;
            total += x->w;
        }
    }
    while (total - 2 > limit) {
        size_t worst = n;
        for (size_t i = 0; i < n; i++)
            if (e[i].w && e[i].prio < 100 && (worst == n || e[i].prio < e[worst].prio)) worst = i;
        if (worst == n) break;
        total -= e[worst].w;
        e[worst].w = 0;
    }
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!e[i].w || x >= limit) continue;
        char text[64];
        snprintf(text, sizeof text, " %s", e[i].b->key->footer);
        int x0 = x;
        x += tui_put(t, y, x, limit - x, TUI_FOOTER_KEY, false, e[i].key);
        x += tui_put(t, y, x, limit - x, TUI_FOOTER, false, text);
        if (t->n_footer < HM_ARRAY_LEN(t->footer))
            t->footer[t->n_footer++] = (struct tui_footer_hit){x0, x, e[i].b, e[i].global};
        x += 2;
    }
    if (rw) tui_put(t, y, cols - rw, rw, TUI_DIM, false, right);
}

static void help_line(struct tui *t, int y, int x, int w, const struct tui_binding *b)
{
    char label[96], help[200];
    tui_binding_label(b, t->utf8, label, sizeof label);
    snprintf(help, sizeof help, "%s%s", b->key->help,
             b->key->action && t->opt->readonly ? " (disabled: --readonly)" : "");
    tui_fill(t, y, x, w, TUI_NORMAL);
    tui_put(t, y, x + 2, 12, TUI_HEADING, false, label);
    tui_put(t, y, x + 15, w - 17, TUI_NORMAL, false, help);
}

/* The help overlay: every key that works on the current screen. */
static void draw_help(struct tui *t, int lines, int cols)
{
    const struct tui_screen *sc = current_screen(t);
    int n = 0;
    const struct tui_binding *tables[] = {screen_bindings(t), global_bindings(t)};
    for (size_t ti = 0; ti < 2; ti++)
        for (const struct tui_binding *b = tables[ti]; b && b->key; b++)
            if (binding_available(t, b, ti ? NULL : current_state(t)) && (b->codes[0] || !b->key->fn))
                n++;
    int h = n + 5, w = cols < 76 ? cols : 76;
    if (h > lines) h = lines;
    int y0 = (lines - h) / 2, x0 = (cols - w) / 2;
    char title[96];
    snprintf(title, sizeof title, " Keys on %s ", sc->title);
    tui_fill(t, y0, x0, w, TUI_HEADER);
    tui_put(t, y0, x0 + 1, w - 2, TUI_HEADER, false, title);
    int y = y0 + 1;
    tui_fill(t, y++, x0, w, TUI_NORMAL);
    for (size_t ti = 0; ti < 2; ti++) {
        for (const struct tui_binding *b = tables[ti]; b && b->key && y < y0 + h - 2; b++)
            if (binding_available(t, b, ti ? NULL : current_state(t)) && (b->codes[0] || !b->key->fn))
                help_line(t, y++, x0, w, b);
    }
    while (y < y0 + h - 1) tui_fill(t, y++, x0, w, TUI_NORMAL);
    if (y < lines) {
        tui_fill(t, y, x0, w, TUI_HEADER);
        tui_put(t, y, x0 + 1, w - 2, TUI_HEADER, false, " press any key to close");
    }
}

/* One text field: its label, then the end of its text (what is being typed) in a bar. */
static void draw_field(struct tui *t, int y, int x, int w, int i)
{
    const char *label = t->dialog.field[i].label, *text = t->dialog.field[i].text;
    bool focus = t->dialog.focus == 2 + i;
    int lw = tui_text_width(t, label) + 2;
    tui_put(t, y, x, lw, TUI_DIALOG, false, label);
    int fw = w - lw;
    if (fw < 4) return;
    char buf[300];
    snprintf(buf, sizeof buf, "%s%s", text, focus ? "_" : "");
    const char *shown = buf;
    while (*shown && tui_text_width(t, shown) > fw) {
        shown++;
        while (((unsigned char)*shown & 0xC0) == 0x80) shown++;
    }
    tui_put(t, y, x + lw, fw, focus ? TUI_BUTTON_FOCUS : TUI_BUTTON, true, shown);
}

static void draw_dialog(struct tui *t, int lines, int cols)
{
    int nf = t->dialog.n_fields;
    int w = tui_text_width(t, t->dialog.question) + 6;
    if (w < (nf ? 64 : 36)) w = nf ? 64 : 36;
    if (w > cols - 2) w = cols - 2;
    int h = 7 + (nf ? nf + 1 : 0);
    if (w < 12 || lines < h) return;
    int y0 = (lines - h) / 2, x0 = (cols - w) / 2;
    tui_box(t, y0, x0, h, w, TUI_DIALOG, t->dialog.title);
    tui_put(t, y0 + 2, x0 + 3, w - 6, TUI_DIALOG, false, t->dialog.question);
    for (int i = 0; i < nf; i++) draw_field(t, y0 + 4 + i, x0 + 3, w - 6, i);
    const char *yes = "[ Yes ]", *no = "[ No ]";
    int bw = 7 + 2 + 6;
    int bx = x0 + (w - bw) / 2, by = y0 + 4 + (nf ? nf + 1 : 0);
    t->dialog.y = by;
    t->dialog.yes_x0 = bx;
    t->dialog.yes_x1 = bx + 7;
    t->dialog.no_x0 = bx + 9;
    t->dialog.no_x1 = bx + 15;
    tui_put(t, by, bx, 7, t->dialog.focus == 0 ? TUI_BUTTON_FOCUS : TUI_BUTTON, false, yes);
    tui_put(t, by, bx + 9, 6, t->dialog.focus == 1 ? TUI_BUTTON_FOCUS : TUI_BUTTON, false, no);
    tui_put(t, by + 1, x0 + 2, w - 4, TUI_DIALOG, false,
            nf ? "Tab/Enter: next   Esc: cancel" : "y: yes   n/Esc: no");
}

static void draw_all(struct tui *t)
{
    int lines = getmaxy(t->win), cols = getmaxx(t->win);
    werase(t->win);
    if (lines < 3 || cols < 10) {
        tui_put(t, 0, 0, cols, TUI_NORMAL, false, "terminal too small");
        wnoutrefresh(t->win);
        doupdate();
        return;
    }
    draw_header(t, cols);
    int y = 1;
    y += draw_tabs(t, y, cols);
    t->area = (struct tui_rect){y, 0, lines - 1 - y, cols};
    current_screen(t)->draw(t, current_state(t), &t->area);
    if (t->message[0] && hm_mono_ms() < t->message_until && lines - 2 >= y) {
        tui_fill(t, lines - 2, 0, cols, t->message_role == TUI_NORMAL ? TUI_DIM : t->message_role);
        tui_put(t, lines - 2, 1, cols - 2, t->message_role == TUI_NORMAL ? TUI_DIM : t->message_role,
                false, t->message);
    }
    draw_footer(t, lines - 1, cols);
    if (t->help) draw_help(t, lines, cols);
    if (t->dialog.open) draw_dialog(t, lines, cols);
    wnoutrefresh(t->win);
    doupdate();
}

/* ---- terminal set-up and the loop ---- */

static void apply_window_size(struct tui *t)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    clearok(t->win, TRUE);
}

/* Milliseconds until the screen's text changes on its own: the moment the local data turns
 * stale, then every second while the stale age counts up; when a message expires; when the
 * console data turns stale. -1 when nothing changes by itself. */
static int next_tick(const struct tui *t)
{
    int64_t now = hm_mono_ms(), wait = -1;
    const struct tui_local *l = tui_local_data(t);
    if (l) {
        int64_t age = now - l->mono_ms;
        int64_t stale_at = 2 * t->opt->interval_ms;
        wait = age <= stale_at ? stale_at - age + 1 : 1000 - (age - stale_at) % 1000;
    }
    if (t->message[0] && t->message_until > now) {
        int64_t m = t->message_until - now + 1;
        if (wait < 0 || m < wait) wait = m;
    }
    const struct tui_console *c = tui_console_data(t);
    if (c && c->next_ms > now) {
        int64_t m = c->next_ms - now + 2 * t->opt->interval_ms + 1;
        if (wait < 0 || m < wait) wait = m;
    }
    const struct tui_screen *sc = current_screen(t);
    int sw = sc->tick ? sc->tick(t, t->states[t->current]) : -1;
    if (sw >= 0 && (wait < 0 || sw < wait)) wait = sw;
    if (wait < 0) return -1;
    if (wait > 60000) wait = 60000;
    return (int)(wait < 1 ? 1 : wait);
}

static void install_signals(struct sigaction *old)
{
    static const int sigs[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < HM_ARRAY_LEN(sigs); i++) sigaction(sigs[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction *old)
{
    static const int sigs[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < HM_ARRAY_LEN(sigs); i++) sigaction(sigs[i], &old[i], NULL);
}

static int open_pipe(hm_err *e)
{
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return hm_err_set(e, "cannot create the poller's wake-up pipe: %s", strerror(errno));
    return 0;
}

static void close_pipe(void)
{
    for (int i = 0; i < 2; i++) {
        if (wake_pipe[i] >= 0) close(wake_pipe[i]);
        wake_pipe[i] = -1;
    }
}

/* Drains the self-pipe; returns the redraw/quit flags it asks for. */
static int handle_wakeups(struct tui *t)
{
    int flags = TUI_DONE;
    char buf[64];
    ssize_t n;
    while ((n = read(wake_pipe[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == 'Q') flags |= TUI_QUIT;
            if (buf[i] == 'W') {
                apply_window_size(t);
                flags |= TUI_REDRAW;
            }
        }
    }
    struct tui_snapshot *s = tui_poller_take(t->poller);
    if (s) {
        /* a local cycle counts as a refresh; a console read alone does not */
        if (s->local && (!t->snap || t->snap->local != s->local)) t->refreshes++;
        tui_snapshot_free(t->snap);
        t->snap = s;
        flags |= TUI_REDRAW;
    }
    struct tui_host_detail *d = tui_poller_take_detail(t->poller);
    if (d) {
        tui_host_detail_free(t->detail);
        t->detail = d;
        flags |= TUI_REDRAW;
    }
    bool failed;
    char *msg = tui_poller_take_message(t->poller, &failed);
    if (msg) {
        tui_message(t, failed ? TUI_CRITICAL : TUI_OK, "%s", msg);
        free(msg);
        flags |= TUI_REDRAW;
    }
    return flags;
}

static int handle_keys(struct tui *t)
{
    int flags = TUI_DONE;
    for (int key; (key = wgetch(t->win)) != ERR;) {
        if (key == KEY_RESIZE) {
            clearok(t->win, TRUE);
            flags |= TUI_REDRAW;
            continue;
        }
        if (key == KEY_MOUSE) flags |= handle_mouse(t);
        else flags |= dispatch_key(t, key);
        if (flags & TUI_QUIT) break;
    }
    return flags;
}

/* Lets every screen take what its background work handed over. */
static int update_screens(struct tui *t)
{
    int flags = TUI_DONE;
    for (size_t i = 0; i < t->n_screens; i++)
        if (screens[i]->update) flags |= screens[i]->update(t, t->states[i]);
    return flags;
}

static int loop(struct tui *t)
{
    bool dirty = true;
    for (;;) {
        if (update_screens(t) & TUI_REDRAW) dirty = true;
        if (dirty) {
            draw_all(t);
            dirty = false;
            if (t->opt->count > 0 && t->refreshes >= t->opt->count) return 0;
        }
        struct pollfd fds[2] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = wake_pipe[0], .events = POLLIN},
        };
        int rc = poll(fds, 2, next_tick(t));
        if (rc < 0 && errno != EINTR) return -1;
        int flags = TUI_DONE;
        if (rc > 0 && fds[1].revents) flags |= handle_wakeups(t);
        if (rc > 0 && fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) flags |= TUI_QUIT;
        else if (rc > 0 && fds[0].revents & POLLIN) flags |= handle_keys(t);
        if (flags & TUI_QUIT) return 0;
        if (flags & TUI_REDRAW) dirty = true;
        /* A tick comes only when something shown changes with time. */
        if (rc == 0) dirty = true;
    }
}

static bool locale_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

int tui_run(const struct tui_options *opt, hm_err *e)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return hm_err_set(e, "tui needs a terminal; use 'hmctl status'");

    struct tui t;
    memset(&t, 0, sizeof t);
    t.opt = opt;
    t.utf8 = locale_is_utf8();
    if (gethostname(t.host, sizeof t.host - 1) < 0) snprintf(t.host, sizeof t.host, "?");
    t.n_screens = built_screens();
    t.tabs_y = t.footer_y = -1;

    if (open_pipe(e) < 0) return -1;
    t.wake_fd = wake_pipe[1];
    /* Our SIGWINCH handler goes in before ncurses starts, so ncurses leaves resize to us and
     * every resize arrives through the self-pipe like any other event. */
    struct sigaction old[4];
    install_signals(old);

    const char *term = getenv("TERM");
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        restore_signals(old);
        close_pipe();
        return hm_err_set(e, "cannot start the terminal interface for TERM '%s'",
                          term ? term : "");
    }
    t.win = stdscr;
    cbreak();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(50);
    curs_set(0);
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              , NULL);
    mouseinterval(200);
    tui_roles_init(&t, opt->color);

    const struct tui_key *tables[MAX_SCREENS + 1];
    for (size_t i = 0; i < t.n_screens; i++) tables[i] = screens[i]->keys;
    tables[t.n_screens] = global_keys;
    t.bindings = tui_bindings_build(tables, t.n_screens + 1, cfg_get(opt->cfg, "tui", NULL, "keys"));

    t.states = xcalloc(t.n_screens, sizeof *t.states);
    for (size_t i = 0; i < t.n_screens; i++)
        if (screens[i]->open) t.states[i] = screens[i]->open(&t);

    int rc = 0;
    t.poller = tui_poller_start(opt->cfg, opt->interval_ms, opt->console_ms, wake_pipe[1], e);
    if (!t.poller) rc = -1;
    else if (loop(&t) < 0) rc = hm_err_set(e, "waiting for input: %s", strerror(errno));

    /* The terminal comes back at once; joining may then wait for a read in flight. */
    endwin();
    tui_poller_stop(t.poller);
    delscreen(scr);
    restore_signals(old);
    /* before the pipe closes: a screen's background work may still write to it */
    for (size_t i = 0; i < t.n_screens; i++)
        if (screens[i]->close) screens[i]->close(t.states[i]);
    close_pipe();
    free(t.states);
    tui_bindings_free(t.bindings, t.n_screens + 1);
    tui_snapshot_free(t.snap);
    tui_host_detail_free(t.detail);
    free(t.dialog.ud);
    return rc;
}
