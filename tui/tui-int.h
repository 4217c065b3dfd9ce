/* Internals of the TUI module shared by its files: the poller, the drawing helpers, and the
 * screen and key tables every screen plugs into. Nothing outside tui/ includes this. */
#ifndef HM_TUI_INT_H
#define HM_TUI_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "collectors/collector.h"
#include "tui/tui.h"

/* ---- snapshots and the poller (tui/poller.c) ---- */

/* One finished poll cycle. Immutable once handed over: the UI thread owns it alone. */
struct tui_snapshot {
    hm_result result;
    int64_t wall_ms;     /* hm_now_ms() when the cycle started: what "updated" shows */
    int64_t mono_ms;     /* hm_mono_ms() when it finished: the base of its age */
    int64_t duration_ms; /* how long the cycle took */
    unsigned long cycle; /* 1 for the first cycle */
};

void tui_snapshot_free(struct tui_snapshot *s);

struct tui_poller;

/* Starts the poller thread: a cycle at once, then one every interval_ms (counted from the
 * start of the previous cycle). After each cycle it writes 'S' to wake_fd (non-blocking).
 * Returns NULL with e set when the thread cannot be created. */
struct tui_poller *tui_poller_start(const hm_config *cfg, int64_t interval_ms, int wake_fd,
                                    hm_err *e);
/* The newest snapshot not taken yet (ownership passes to the caller), or NULL. */
struct tui_snapshot *tui_poller_take(struct tui_poller *p);
/* Asks for a cycle now instead of at the next interval; a cycle in flight is not restarted. */
void tui_poller_refresh(struct tui_poller *p);
/* Whether a cycle is running right now (for the "refreshing" hint). */
bool tui_poller_busy(struct tui_poller *p);
/* Stops and joins the thread. Waiting for the next cycle is interrupted at once; a cycle in
 * flight is bounded by [hmctl] timeout plus hm_poll_run's grace second. */
void tui_poller_stop(struct tui_poller *p);

/* ---- drawing (tui/draw.c) ---- */

/* UI roles: every colour or attribute on screen comes from one of these (htop's scheme), so a
 * monochrome terminal or NO_COLOR gets a consistent look from the same table. */
enum tui_role {
    TUI_NORMAL,
    TUI_OK,
    TUI_WARNING,
    TUI_CRITICAL,
    TUI_UNKNOWN,
    TUI_HEADER,     /* the top line */
    TUI_HEADING,    /* table column headings */
    TUI_FOOTER,     /* footer labels */
    TUI_FOOTER_KEY, /* footer key names */
    TUI_TAB,        /* inactive tab */
    TUI_TAB_ACTIVE,
    TUI_METER,      /* meter bar below the warning threshold */
    TUI_DIM,        /* hints, empty meter part */
    TUI_ROLE_COUNT
};

struct tui;

/* Prepares the role attributes: colour pairs when `color` and the terminal has colours,
 * otherwise the monochrome attributes. */
void tui_roles_init(struct tui *t, bool color);
attr_t tui_role_attr(const struct tui *t, enum tui_role role);
enum tui_role tui_state_role(enum hm_state s);

/* Width in columns of s as tui_put draws it (display width; in ASCII mode every non-ASCII
 * character is drawn as '?' per column it would take, so layouts do not change). */
int tui_text_width(const struct tui *t, const char *s);
/* Draws s at (y, x) in at most `width` columns, truncated with an ellipsis when longer;
 * control characters are drawn as spaces. When `pad`, fills the rest of the width with spaces
 * in the same role. Returns the number of columns drawn. */
int tui_put(struct tui *t, int y, int x, int width, enum tui_role role, bool pad, const char *s);
/* A meter: "LABEL[|||||     ] 42.1%" in `width` columns; value < 0 means not measured yet.
 * The bar is characters, so it reads the same without colour. */
void tui_meter(struct tui *t, int y, int x, int width, const char *label, double percent,
               double warning, double critical);
/* Fills a line with spaces in a role. */
void tui_fill(struct tui *t, int y, int x, int width, enum tui_role role);

/* ---- screens and keys (tui/tui.c, tui/screen-*.c) ---- */

/* What an action returns: a set of flags for the main loop. */
enum {
    TUI_DONE = 0,        /* nothing to redraw */
    TUI_REDRAW = 1,      /* redraw the screen */
    TUI_QUIT = 2,        /* leave tui_run */
};

/* An action: global ones ignore `state`; screen ones get the screen's state. */
typedef int (*tui_action_fn)(struct tui *t, void *state);

/* Text shown for a key: ASCII, and a UTF-8 form ("↑↓") used in a UTF-8 locale when set. */
struct tui_label {
    const char *ascii;
    const char *utf8;
};

/* One entry of a key table. Several keys may trigger the same action (q and F10). */
struct tui_key {
    int keys[4];            /* ncurses key codes or characters, 0-terminated */
    struct tui_label label; /* how the help overlay names the keys: "q/F10" */
    const char *name;       /* action name, stable: "quit"; what [tui] keys will remap */
    const char *help;       /* one line for the help overlay */
    const char *footer;     /* short footer text ("Quit"), NULL: only in the help overlay */
    struct tui_label footer_key; /* key text in the footer; default: the label's first key */
    tui_action_fn fn;       /* NULL: documented here, handled by the dispatcher (digits) */
    bool (*available)(const struct tui *t); /* NULL: always; false hides and disables it */
};

/* The rectangle a screen draws into. */
struct tui_rect {
    int y, x, h, w;
};

/* A screen: one tab of the dashboard. The table in tui.c lists the implemented ones in tab
 * order; digits 1-9 select them. */
struct tui_screen {
    const char *name;  /* stable id: "overview" */
    const char *title; /* tab and header text: "Overview" */
    void *(*open)(struct tui *t);  /* per-screen state (scroll, filter ...), may be NULL */
    void (*close)(void *state);
    /* Draws into `area`; called only when something changed. */
    void (*draw)(struct tui *t, void *state, const struct tui_rect *area);
    const struct tui_key *keys; /* the screen's own keys, terminated by {0} */
    /* A position hint for the footer's right end ("12-30/45"), or NULL. */
    const char *(*position)(struct tui *t, void *state, char *buf, size_t size);
};

extern const struct tui_screen tui_screen_overview;

/* A vertical scroll position shared by list-like screens. */
struct tui_scroll {
    int top;     /* first row shown */
    int total;   /* rows in the content (set by draw) */
    int visible; /* rows that fit (set by draw) */
};

void tui_scroll_clamp(struct tui_scroll *s);
/* Scroll actions for screens whose state begins with a struct tui_scroll. */
int tui_scroll_up(struct tui *t, void *state);
int tui_scroll_down(struct tui *t, void *state);
int tui_scroll_page_up(struct tui *t, void *state);
int tui_scroll_page_down(struct tui *t, void *state);
int tui_scroll_home(struct tui *t, void *state);
int tui_scroll_end(struct tui *t, void *state);
const char *tui_scroll_position(struct tui *t, void *state, char *buf, size_t size);

/* The state of one tui_run; lives on its stack. Only the UI thread touches it. */
struct tui {
    const struct tui_options *opt;
    WINDOW *win;
    bool utf8;
    bool has_color;
    attr_t attrs[TUI_ROLE_COUNT];
    char host[256];

    struct tui_poller *poller;
    struct tui_snapshot *snap; /* newest snapshot, or NULL before the first */
    long refreshes;            /* snapshots shown */

    size_t n_screens;
    size_t current;
    void **states; /* per screen */
    bool help;     /* help overlay open */
};

/* The current snapshot's result, or NULL. */
const hm_result *tui_result(const struct tui *t);

#endif
