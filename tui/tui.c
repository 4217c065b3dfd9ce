/* The TUI main loop: screen table, global key table, header, footer, help overlay, and the
 * poll() loop over the terminal and the self-pipe that the poller and the signal handlers
 * write to. The UI thread never does I/O to a data source. */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "tui/tui-int.h"

/* The implemented screens in tab order; digits 1-9 select them. Later screens go here in this
 * order as they are built: Services, Remote, Hosts, Alerts, Events, Reports, Drill/Takeover
 * (DESIGN.md 7). Only real screens are listed: a tab never leads to placeholder content. */
static const struct tui_screen *const screens[] = {
    &tui_screen_overview,
};

/* The self-pipe: the poller thread writes 'S', the signal handlers 'W' (resize) and 'Q'
 * (interrupt, terminate, hang-up). A static because a signal handler can reach nothing else. */
static int wake_pipe[2] = {-1, -1};

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
    return t->snap ? &t->snap->result : NULL;
}

static const struct tui_screen *current_screen(const struct tui *t)
{
    return screens[t->current];
}

static void *current_state(const struct tui *t)
{
    return t->states[t->current];
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
    tui_poller_refresh(t->poller);
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

static bool several_screens(const struct tui *t)
{
    return t->n_screens > 1;
}

/* Keys that work on every screen, in footer order. Digits are handled in dispatch (one entry
 * here documents them). */
static const struct tui_key global_keys[] = {
    {.keys = {'?', KEY_F(1)}, .label = {"?/F1"}, .name = "help",
     .help = "show this help; any key closes it", .footer = "Help", .fn = act_help},
    {.keys = {'r', KEY_F(5)}, .label = {"r/F5"}, .name = "refresh",
     .help = "poll every source now", .footer = "Refresh", .fn = act_refresh},
    {.keys = {'\t'}, .label = {"Tab"}, .name = "next-screen", .help = "next screen",
     .footer = "Next", .fn = act_next_screen, .available = several_screens},
    {.keys = {KEY_BTAB}, .label = {"S-Tab"}, .name = "prev-screen", .help = "previous screen",
     .fn = act_prev_screen, .available = several_screens},
    {.keys = {0}, .label = {"1-9"}, .name = "screen-N", .help = "go to screen N",
     .available = several_screens},
    {.keys = {'q', KEY_F(10)}, .label = {"q/F10"}, .name = "quit", .help = "quit",
     .footer = "Quit", .fn = act_quit},
    {.keys = {0}},
};

static bool key_available(const struct tui *t, const struct tui_key *k)
{
    return !k->available || k->available(t);
}

static const char *label_text(const struct tui *t, const struct tui_label *l)
{
    return t->utf8 && l->utf8 ? l->utf8 : l->ascii;
}

static const struct tui_key *find_key(const struct tui_key *table, int key)
{
    for (const struct tui_key *k = table; k && k->label.ascii; k++)
        for (int i = 0; i < 4 && k->keys[i]; i++)
            if (k->keys[i] == key) return k;
    return NULL;
}

/* Screen keys first, so a screen may give a key its own meaning; then the global ones. */
static int dispatch_key(struct tui *t, int key)
{
    if (t->help) {
        t->help = false; /* any key closes the overlay */
        return TUI_REDRAW;
    }
    if (key >= '1' && key <= '9' && several_screens(t)) {
        size_t n = (size_t)(key - '1');
        if (n >= t->n_screens || n == t->current) return TUI_DONE;
        t->current = n;
        return TUI_REDRAW;
    }
    const struct tui_key *k = find_key(current_screen(t)->keys, key);
    if (k && k->fn && key_available(t, k)) return k->fn(t, current_state(t));
    k = find_key(global_keys, key);
    if (k && k->fn && key_available(t, k)) return k->fn(t, NULL);
    return TUI_DONE;
}

/* ---- header, tabs, footer, help ---- */

/* Whole seconds, rounded up: stale data is at least this old, and the once-a-second tick
 * lands on whole seconds so the figure is exact when drawn. */
static void format_age(int64_t ms, char *buf, size_t size)
{
    hm_format_duration((ms + 999) / 1000 * 1000, buf, size);
}

/* Whether the snapshot is older than two intervals: the poller is stuck or sources hang. */
static bool snapshot_stale(const struct tui *t, int64_t now_mono)
{
    return t->snap && now_mono - t->snap->mono_ms > 2 * t->opt->interval_ms;
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
    int64_t now = hm_mono_ms();
    if (t->snap) {
        time_t secs = (time_t)(t->snap->wall_ms / 1000);
        struct tm tm;
        char hms[16] = "?";
        if (localtime_r(&secs, &tm)) strftime(hms, sizeof hms, "%H:%M:%S", &tm);
        if (snapshot_stale(t, now)) {
            char age[32];
            format_age(now - t->snap->mono_ms, age, sizeof age);
            snprintf(when, sizeof when, "STALE %s old (%s)", age, hms);
            when_role = TUI_WARNING;
        } else {
            snprintf(when, sizeof when, "updated %s", hms);
        }
    }
    char worst[32] = "";
    enum tui_role worst_role = TUI_HEADER;
    if (t->snap) {
        enum hm_state w = hm_result_worst(&t->snap->result);
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
    if (!several_screens(t)) return 0;
    int x = 0;
    tui_fill(t, y, 0, cols, TUI_TAB);
    for (size_t i = 0; i < t->n_screens && x < cols; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, " %zu %s ", i + 1, screens[i]->title);
        x += tui_put(t, y, x, cols - x, i == t->current ? TUI_TAB_ACTIVE : TUI_TAB, false, buf);
        x++;
    }
    return 1;
}

/* Footer entries: the current screen's keys, then the global ones, htop style. */
static void draw_footer(struct tui *t, int y, int cols)
{
    tui_fill(t, y, 0, cols, TUI_FOOTER);
    char pos[64] = "";
    const struct tui_screen *sc = current_screen(t);
    if (sc->position) sc->position(t, current_state(t), pos, sizeof pos);
    const char *busy = t->poller && tui_poller_busy(t->poller) ? "refreshing " : "";
    char right[96];
    snprintf(right, sizeof right, "%s%s", busy, pos);
    int rw = tui_text_width(t, right);
    int limit = cols - (rw ? rw + 1 : 0);
    int x = 0;
    const struct tui_key *tables[] = {sc->keys, global_keys};
    for (size_t ti = 0; ti < 2; ti++)
        for (const struct tui_key *k = tables[ti]; k && k->label.ascii; k++) {
            if (!k->footer || !key_available(t, k)) continue;
            const char *label = label_text(t, &k->label);
            /* Only the first key of "q/F10" fits the footer's rhythm. */
            char first[16];
            if (k->footer_key.ascii)
                snprintf(first, sizeof first, "%s", label_text(t, &k->footer_key));
            else if (strcmp(label, "/") == 0)
                snprintf(first, sizeof first, "/");
            else
                snprintf(first, sizeof first, "%.*s", (int)strcspn(label, "/"), label);
            char text[64];
            snprintf(text, sizeof text, " %s", k->footer);
            int need = tui_text_width(t, first) + tui_text_width(t, text);
            if (x + need > limit) break;
            x += tui_put(t, y, x, limit - x, TUI_FOOTER_KEY, false, first);
            x += tui_put(t, y, x, limit - x, TUI_FOOTER, false, text);
            x += 2;
        }
    if (rw) tui_put(t, y, cols - rw, rw, TUI_DIM, false, right);
}

static void help_line(struct tui *t, int y, int x, int w, const struct tui_key *k)
{
    tui_fill(t, y, x, w, TUI_NORMAL);
    tui_put(t, y, x + 2, 12, TUI_HEADING, false, label_text(t, &k->label));
    tui_put(t, y, x + 15, w - 17, TUI_NORMAL, false, k->help);
}

/* The help overlay: every key that works on the current screen. */
static void draw_help(struct tui *t, int lines, int cols)
{
    const struct tui_screen *sc = current_screen(t);
    int n = 0;
    const struct tui_key *tables[] = {sc->keys, global_keys};
    for (size_t ti = 0; ti < 2; ti++)
        for (const struct tui_key *k = tables[ti]; k && k->label.ascii; k++)
            if (key_available(t, k)) n++;
    int h = n + 5, w = cols < 64 ? cols : 64;
    if (h > lines) h = lines;
    int y0 = (lines - h) / 2, x0 = (cols - w) / 2;
    char title[96];
    snprintf(title, sizeof title, " Keys on %s ", sc->title);
    tui_fill(t, y0, x0, w, TUI_HEADER);
    tui_put(t, y0, x0 + 1, w - 2, TUI_HEADER, false, title);
    int y = y0 + 1;
    tui_fill(t, y++, x0, w, TUI_NORMAL);
    for (size_t ti = 0; ti < 2; ti++) {
        for (const struct tui_key *k = tables[ti]; k && k->label.ascii && y < y0 + h - 2; k++)
            if (key_available(t, k)) help_line(t, y++, x0, w, k);
    }
    while (y < y0 + h - 1) tui_fill(t, y++, x0, w, TUI_NORMAL);
    if (y < lines) {
        tui_fill(t, y, x0, w, TUI_HEADER);
        tui_put(t, y, x0 + 1, w - 2, TUI_HEADER, false, " press any key to close");
    }
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
    struct tui_rect area = {y, 0, lines - 1 - y, cols};
    current_screen(t)->draw(t, current_state(t), &area);
    draw_footer(t, lines - 1, cols);
    if (t->help) draw_help(t, lines, cols);
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

/* Milliseconds until the screen's text changes on its own: the moment the data turns stale,
 * then every second while the stale age counts up. -1 when nothing changes by itself. */
static int next_tick(const struct tui *t)
{
    if (!t->snap) return -1;
    int64_t now = hm_mono_ms();
    int64_t age = now - t->snap->mono_ms;
    int64_t stale_at = 2 * t->opt->interval_ms;
    int64_t wait = age <= stale_at ? stale_at - age + 1 : 1000 - (age - stale_at) % 1000;
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
        tui_snapshot_free(t->snap);
        t->snap = s;
        t->refreshes++;
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
        flags |= dispatch_key(t, key);
        if (flags & TUI_QUIT) break;
    }
    return flags;
}

static int loop(struct tui *t)
{
    bool dirty = true;
    for (;;) {
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
        /* A tick comes only when the data turns stale or its shown age changes. */
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
    t.n_screens = HM_ARRAY_LEN(screens);

    if (open_pipe(e) < 0) return -1;
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
    tui_roles_init(&t, opt->color);

    t.states = xcalloc(t.n_screens, sizeof *t.states);
    for (size_t i = 0; i < t.n_screens; i++)
        if (screens[i]->open) t.states[i] = screens[i]->open(&t);

    int rc = 0;
    t.poller = tui_poller_start(opt->cfg, opt->interval_ms, wake_pipe[1], e);
    if (!t.poller) rc = -1;
    else if (loop(&t) < 0) rc = hm_err_set(e, "waiting for input: %s", strerror(errno));

    /* The terminal comes back at once; joining may then wait for a cycle in flight. */
    endwin();
    tui_poller_stop(t.poller);
    delscreen(scr);
    restore_signals(old);
    close_pipe();
    for (size_t i = 0; i < t.n_screens; i++)
        if (screens[i]->close) screens[i]->close(t.states[i]);
    free(t.states);
    tui_snapshot_free(t.snap);
    return rc;
}
