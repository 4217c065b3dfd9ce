/* Internals of the TUI module shared by its files: the data parts the poller hands over, the
 * drawing helpers, and the screen and key tables every screen plugs into. Nothing outside tui/
 * includes this. */
#ifndef HM_TUI_INT_H
#define HM_TUI_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "collectors/collector.h"
#include "collectors/docker.h"
#include "tui/tui.h"

/* ---- data parts and the poller (tui/poller.c, tui/data.c) ---- */

/* Points of a sparkline: the last hour, one per minute, oldest first; NAN where nothing was
 * measured. */
#define TUI_SPARK_N 60
/* Days of the event trend, oldest first; the last is today. */
#define TUI_TREND_DAYS 30

enum tui_meter { TUI_METER_CPU, TUI_METER_MEM, TUI_METER_DISK, TUI_METER_COUNT };

/* One local poll cycle: every collector but the console's, the Docker services with their
 * State fields, and the meters' last hour. Immutable once handed over; reference counted
 * because a snapshot of a console read keeps pointing at the newest local part. */
struct tui_local {
    int refs;
    hm_result result;
    docker_list services;   /* for the Services screen */
    char *services_err;     /* NULL, or why the list could not be read */
    double spark[TUI_METER_COUNT][TUI_SPARK_N];
    char *history_err;      /* NULL, or why the store's history could not be read */
    int64_t wall_ms;        /* hm_now_ms() when the cycle started */
    int64_t mono_ms;        /* hm_mono_ms() when it finished: the base of its age */
    int64_t duration_ms;
    unsigned long cycle;    /* 1 for the first cycle */
};

/* One protected host, as the Hosts screen shows it; strings point into the read's arena and
 * are never NULL ("" for unknown). */
struct tui_host {
    const char *id, *name, *console, *os, *source, *ip;
    const char *status, *boot, *health, *speed, *target;
    double percent;        /* sync progress, -1 when not syncing */
    int64_t last_snap_ms;  /* 0: no snapshot */
    int64_t rpo_ms;        /* the host's RPO target */
    int license;           /* 1 valid, 0 expired, -1 unknown */
};

/* A task in flight (a sync or a boot) for the Overview. */
struct tui_task {
    const char *host, *kind; /* kind: "sync", "drill", "takeover", ... */
    double percent;          /* -1 unknown */
    int64_t start_ms;
};

/* One derived event, newest first in the list. */
struct tui_event {
    int64_t ts_ms;
    const char *console, *type, *host, *detail;
    enum hm_state severity;
};

/* One active alert (pending or firing) for the Alerts screen; strings point into the read's
 * arena and are never NULL ("" when absent). */
struct tui_alert {
    int64_t id;
    const char *rule, *state, *severity, *subject, *labels, *summary;
    const char *ack_by, *ack_comment;
    const char *matchers; /* "rule=NAME\nLABEL=VALUE..." : what a silence of this alert matches */
    double value;         /* NAN when the alert has none */
    int64_t since_ms;     /* 0 unknown */
    int sev;              /* enum alert_severity, -1 unknown */
    bool firing, acknowledged, silenced;
};

/* Firing alerts per severity, info to emergency (enum alert_severity order). */
#define TUI_SEVERITIES 4

/* One read of every configured console and of the store's events. Immutable and reference
 * counted like struct tui_local. */
struct tui_console {
    int refs;
    bool configured;       /* at least one console is configured */
    hm_result result;      /* the console collector's components and samples */
    struct tui_host *hosts;
    size_t n_hosts;
    char *hosts_err;       /* NULL, or the first console that could not be read and why */
    struct tui_task *tasks; /* running syncs and boots, at most TUI_TASKS_MAX */
    size_t n_tasks;
    size_t running_sync, running_boot; /* all of them, also those not in tasks */
    long jobs_done, jobs_failed; /* finished in the last 24 hours */
    struct tui_event *events; /* newest first, at most TUI_EVENTS_MAX */
    size_t n_events;
    char *events_err;
    long trend[TUI_TREND_DAYS]; /* events per day */
    int64_t trend_from_ms;      /* start of trend[0] (local midnight) */
    struct tui_alert *alerts;   /* active alerts, firing first, most severe first */
    size_t n_alerts;
    char *alerts_err;           /* NULL, or why the alert state could not be read */
    long firing[TUI_SEVERITIES]; /* firing alerts by severity */
    char *arena;                /* the strings of hosts, tasks and events */
    int64_t wall_ms, mono_ms, duration_ms;
    int64_t next_ms;            /* mono time of the next read */
    unsigned long cycle;
};

#define TUI_TASKS_MAX 64
#define TUI_EVENTS_MAX 1000

/* The snapshots and recent jobs of one host, read on request for the detail pane. */
struct tui_host_detail {
    char *console, *id, *name;
    char *error;  /* NULL, or why it could not be read */
    struct tui_detail_snap {
        char *name, *status;
        int64_t created_ms;
        double size;
    } *snaps;
    size_t n_snaps;
    struct tui_detail_job {
        char *type, *status, *detail;
        int64_t start_ms, end_ms;
    } *jobs;
    size_t n_jobs;
};

void tui_host_detail_free(struct tui_host_detail *d);

/* What the UI draws from: the newest parts. Either may be NULL before its first read. */
struct tui_snapshot {
    struct tui_local *local;
    struct tui_console *console;
};

void tui_snapshot_free(struct tui_snapshot *s);
void tui_local_unref(struct tui_local *l);
void tui_console_unref(struct tui_console *c);

struct tui_poller;

/* Starts the poller: one thread for the local sources (a cycle at once, then one every
 * interval_ms counted from the start of the previous one) and one for the consoles and the
 * store's events (every console_ms, or when 0 at the refresh interval but never so often that
 * reading them takes more than a hundredth of a core). After each finished part it writes 'S'
 * to wake_fd (non-blocking). Returns NULL with e set when a thread cannot be created. */
struct tui_poller *tui_poller_start(const hm_config *cfg, int64_t interval_ms, int64_t console_ms,
                                    int wake_fd, hm_err *e);
/* The newest snapshot not taken yet (ownership passes to the caller), or NULL. */
struct tui_snapshot *tui_poller_take(struct tui_poller *p);
/* Asks both threads for a read now; a read in flight is not restarted. */
void tui_poller_refresh(struct tui_poller *p);
/* Whether a read is running right now (for the "refreshing" hint). */
bool tui_poller_busy(struct tui_poller *p);
/* Asks the console thread for the snapshots and recent jobs of a host (replacing an earlier
 * request); the answer comes through tui_poller_take_detail. */
void tui_poller_want_detail(struct tui_poller *p, const char *console, const char *id,
                            const char *name);
struct tui_host_detail *tui_poller_take_detail(struct tui_poller *p);
/* Runs a service action ("start", "stop", "restart") in a thread of its own; false when one
 * is already running. Its outcome comes through tui_poller_take_message, and a refresh
 * follows it. */
bool tui_poller_service(struct tui_poller *p, const char *service, const char *action);
/* Acknowledges alert `id` with a comment, or (for_ms > 0) silences what `matchers` (lines of
 * alert_matcher_parse syntax) match for for_ms, in the action thread like a service action;
 * false when an action is already running. The outcome comes through tui_poller_take_message
 * and a console read follows, so the list shows the change. */
bool tui_poller_alert(struct tui_poller *p, int64_t id, const char *matchers, int64_t for_ms,
                      const char *comment);
/* The outcome of the last action not taken yet ("restarted ant-api", "cannot stop ..."), with
 * *failed set; NULL when none. The caller frees it. */
char *tui_poller_take_message(struct tui_poller *p, bool *failed);
/* The action in flight ("restarting ant-api"), in buf; false when none. */
bool tui_poller_action_busy(struct tui_poller *p, char *buf, size_t size);
/* Stops and joins the threads. Waits are interrupted at once; a read in flight is bounded by
 * [hmctl] timeout plus hm_poll_run's grace second, an action by its own timeout. */
void tui_poller_stop(struct tui_poller *p);

/* The data readers the poller's threads run (tui/data.c). */
void tui_data_services(const hm_config *cfg, struct tui_local *l);
/* Reads the meters' last hour from the store into spark (NAN where none). */
void tui_data_history(const hm_config *cfg, int64_t now_ms, double spark[][TUI_SPARK_N],
                      char **err);
/* One read of every console, its events and the trend. */
struct tui_console *tui_data_console(const hm_config *cfg, hm_kv *kv, int64_t now_ms);
struct tui_host_detail *tui_data_detail(const hm_config *cfg, const char *console,
                                        const char *id, const char *name);

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
    TUI_SELECTED,   /* the selected row */
    TUI_DIALOG,     /* dialog body */
    TUI_BUTTON,     /* dialog button */
    TUI_BUTTON_FOCUS,
    TUI_TILE,       /* a tile's name */
    TUI_ROLE_COUNT
};

struct tui;

/* Prepares the role attributes: colour pairs when `color` and the terminal has colours (with
 * finer shades on 256-colour terminals), otherwise the monochrome attributes. */
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
/* As tui_put, right-aligned in `width` columns (padded on the left). */
int tui_put_right(struct tui *t, int y, int x, int width, enum tui_role role, const char *s);
/* A meter: "LABEL[|||||     ] 42.1%" in `width` columns; value < 0 means not measured yet.
 * The bar is characters, so it reads the same without colour. */
void tui_meter(struct tui *t, int y, int x, int width, const char *label, double percent,
               double warning, double critical);
/* A sparkline of n values (NAN: no point) scaled 0..max into `width` columns: block
 * characters in UTF-8, " .:-=+*#" in ASCII; the newest value at the right end. */
void tui_sparkline(struct tui *t, int y, int x, int width, const double *v, int n, double max,
                   double warning, double critical);
/* Fills a line with spaces in a role. */
void tui_fill(struct tui *t, int y, int x, int width, enum tui_role role);
/* A frame of lines (box characters, or +-| in ASCII) around a rectangle, its inside filled. */
void tui_box(struct tui *t, int y, int x, int h, int w, enum tui_role role, const char *title);
/* Formats an age ("45s", "3h 2m") from milliseconds, rounded down to whole seconds. */
void tui_format_age(int64_t ms, char *buf, size_t size);

/* ---- keys (tui/keys.c) ---- */

/* What an action returns: a set of flags for the main loop. */
enum {
    TUI_DONE = 0,   /* nothing to redraw */
    TUI_REDRAW = 1, /* redraw the screen */
    TUI_QUIT = 2,   /* leave tui_run */
};

/* An action: global ones ignore `state`; screen ones get the screen's state. */
typedef int (*tui_action_fn)(struct tui *t, void *state);

/* Text shown for a key: ASCII, and a UTF-8 form ("↑↓") used in a UTF-8 locale when set. */
struct tui_label {
    const char *ascii;
    const char *utf8;
};

#define TUI_MAX_KEYS 6

/* One entry of a key table. Several keys may trigger the same action (q and F10); the help
 * overlay and the footer name them from the codes, so a remapped key shows as remapped. */
struct tui_key {
    int keys[TUI_MAX_KEYS]; /* ncurses key codes or characters, 0-terminated */
    const char *name;       /* action name, stable: "quit"; what [tui] keys remaps */
    const char *help;       /* one line for the help overlay */
    const char *footer;     /* short footer text ("Quit"), NULL: only in the help overlay */
    struct tui_label footer_key; /* footer key text for the default keys ("↑↓"); else the
                                    first key's name */
    tui_action_fn fn;       /* NULL: documented here, handled by the dispatcher (digits) */
    bool (*available)(const struct tui *t, void *state); /* NULL: always; false hides it */
    bool action;            /* changes something: disabled by --readonly */
    struct tui_label label; /* help text for the keys when fn is NULL ("1-9") */
};

/* The keys bound to one table entry after [tui] keys is applied. */
struct tui_binding {
    const struct tui_key *key;
    int codes[TUI_MAX_KEYS];
    bool remapped;
};

/* One ACTION=KEY... item of [tui] keys. */
struct tui_remap {
    char action[32];
    int codes[TUI_MAX_KEYS];
    size_t n;
};

/* Parses a [tui] keys value ("quit=x, refresh=F5 r") into items; returns 0, or -1 with e set
 * for an item without '=' or an unknown key name. Action names are not checked here. */
int tui_remap_parse(const char *value, struct tui_remap **out, size_t *n, hm_err *e);
/* The name of a key code for the help and the footer ("F10", "Up" or "↑", "x", "Space"). */
const char *tui_key_name(int code, bool utf8, char *buf, size_t size);
/* The code of a key name as [tui] keys spells it; -1 when it names no key. */
int tui_key_parse(const char *name);
/* Builds the bindings of every table (the screens' and the global one) from the defaults and
 * [tui] keys. Returns an array parallel to the table entries of `tables` (n tables). */
struct tui_binding **tui_bindings_build(const struct tui_key *const *tables, size_t n,
                                        const char *remap);
void tui_bindings_free(struct tui_binding **b, size_t n);
/* The binding of `code` in one table's bindings (terminated where key->name is NULL), or NULL. */
const struct tui_binding *tui_binding_find(const struct tui_binding *b, int code);
/* "q/F10": every key of a binding, for the help overlay. */
void tui_binding_label(const struct tui_binding *b, bool utf8, char *buf, size_t size);

/* ---- screens (tui/tui.c, tui/screen-*.c) ---- */

/* The rectangle a screen draws into. */
struct tui_rect {
    int y, x, h, w;
};

/* A screen: one tab of the dashboard. */
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
    /* A mouse click (button 1) at (y, x) inside the area last drawn; may be NULL. */
    int (*click)(struct tui *t, void *state, int y, int x, bool twice);
    /* Text typed into the filter prompt changed (NULL: the screen has no filter). */
    void (*filter_changed)(struct tui *t, void *state);
    /* The screen's filter text buffer when it has one (for the prompt to edit). */
    char *(*filter_text)(void *state, size_t *size);
    /* Takes what the screen's own background work handed over (it wakes the loop through
     * tui->wake_fd); called by the loop on every pass, for every screen, whether shown or not,
     * so a question from the background can open a dialog. Returns TUI_* flags; may be NULL. */
    int (*update)(struct tui *t, void *state);
    /* Milliseconds until the screen's text changes on its own (a clock), or -1; may be NULL. */
    int (*tick)(const struct tui *t, void *state);
};

extern const struct tui_screen tui_screen_overview;
extern const struct tui_screen tui_screen_services;
extern const struct tui_screen tui_screen_remote;
extern const struct tui_screen tui_screen_hosts;
extern const struct tui_screen tui_screen_events;
extern const struct tui_screen tui_screen_alerts;
extern const struct tui_screen tui_screen_drill;

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

/* ---- lists with a selection, a filter, a sort column and a detail pane (tui/list.c) ---- */

/* A column of a list: heading, width bounds, and whether it is right-aligned. */
struct tui_column {
    const char *title;
    int min, max;  /* display columns; max 0: takes what is left */
    bool right;
    const char *sort; /* the sort field name it stands for, NULL: not sortable */
};

struct tui_list_ops;

/* The state every list screen starts with; the shared actions below work on it. */
struct tui_list {
    struct tui_scroll scroll; /* first, so the scroll helpers work too */
    int sel;                  /* selected row among the shown (filtered) rows */
    char filter[128];
    int sort;                 /* index into the screen's sort fields */
    bool reverse;
    bool detail;              /* the detail pane is open */
    int rows_y;               /* screen line of the first row, as last drawn */
    int shown;                /* rows after filtering, as last drawn */
    const struct tui_list_ops *ops; /* the screen's columns (set by its open) */
};

/* Row callbacks of a list screen. */
struct tui_list_ops {
    const struct tui_column *cols;
    size_t n_cols;
    /* Fills the cell (col) of row r (an index into the screen's own rows) and returns its role. */
    enum tui_role (*cell)(struct tui *t, void *state, size_t r, size_t col, char *buf,
                          size_t size);
};

/* Draws heading and rows [0, n) given by `order` (already filtered and sorted) into area; keeps
 * the selection visible. The sorted column's heading carries an arrow. */
void tui_list_draw(struct tui *t, struct tui_list *l, const struct tui_list_ops *ops, void *state,
                   const size_t *order, size_t n, const struct tui_rect *area);
int tui_list_up(struct tui *t, void *state);
int tui_list_down(struct tui *t, void *state);
int tui_list_page_up(struct tui *t, void *state);
int tui_list_page_down(struct tui *t, void *state);
int tui_list_home(struct tui *t, void *state);
int tui_list_end(struct tui *t, void *state);
int tui_list_filter(struct tui *t, void *state);   /* opens the filter prompt */
int tui_list_details(struct tui *t, void *state);  /* opens the detail pane */
int tui_list_back(struct tui *t, void *state);     /* closes the pane, then clears the filter */
int tui_list_reverse(struct tui *t, void *state);
int tui_list_sort(struct tui *t, void *state);     /* the next sortable column */
/* The sort field of the current sort column ("name"), or "" when no column sorts. */
const char *tui_list_sort_field(const struct tui_list *l);
const char *tui_list_position(struct tui *t, void *state, char *buf, size_t size);
/* A click on a row selects it; a second click on the same row opens the detail pane. */
int tui_list_click(struct tui *t, void *state, int y, int x, bool twice);
char *tui_list_filter_text(void *state, size_t *size);
void tui_list_filter_changed(struct tui *t, void *state);
/* Whether s contains the filter text, ignoring case (an empty filter matches everything). */
bool tui_list_match(const struct tui_list *l, const char *s);
/* Splits an area into the list part and, when the pane is open, the detail pane (below, or at
 * the right on terminals wider than 150 columns). */
void tui_list_split(const struct tui_list *l, const struct tui_rect *area, struct tui_rect *list,
                    struct tui_rect *pane);

/* ---- dialogs and messages (tui/tui.c) ---- */

/* Asks "question" in a dialog with Yes and No buttons (No has the focus); on Yes runs
 * confirm(t, ud) and frees ud with free(). */
void tui_confirm(struct tui *t, const char *title, const char *question,
                 int (*confirm)(struct tui *t, void *ud), void *ud);
/* As tui_confirm with n (at most TUI_DIALOG_FIELDS) one-line text fields under the question,
 * labelled labels[i] and starting as values[i] (NULL: empty); the first field has the focus.
 * Tab, Enter and the arrows move between fields and buttons; confirm reads the text with
 * tui_dialog_field. */
#define TUI_DIALOG_FIELDS 2
void tui_form(struct tui *t, const char *title, const char *question, const char *const *labels,
              const char *const *values, size_t n, int (*confirm)(struct tui *t, void *ud),
              void *ud);
/* The text of field i of the dialog (valid inside its confirm callback). */
const char *tui_dialog_field(const struct tui *t, size_t i);
/* Makes the screen named `name` the current one (nothing when it is not built). */
void tui_show_screen(struct tui *t, const char *name);
/* Shows a one-line message above the footer until the next key or for five seconds. */
void tui_message(struct tui *t, enum tui_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether actions are allowed; when not, shows why and returns false. */
bool tui_action_allowed(struct tui *t, const char *what);

/* ---- the state of one tui_run; lives on its stack; only the UI thread touches it ---- */

struct tui_tab_hit {
    int x0, x1;
    size_t screen;
};

struct tui_footer_hit {
    int x0, x1;
    const struct tui_binding *b;
    bool global;
};

struct tui {
    const struct tui_options *opt;
    WINDOW *win;
    bool utf8;
    bool has_color;
    attr_t attrs[TUI_ROLE_COUNT];
    char host[256];

    struct tui_poller *poller;
    int wake_fd; /* the self-pipe's write end: background work of a screen writes 'D' */
    struct tui_snapshot *snap; /* newest snapshot, or NULL before the first */
    long refreshes;            /* snapshots shown */
    struct tui_host_detail *detail; /* the newest detail read, or NULL */

    size_t n_screens;
    size_t current;
    void **states; /* per screen */
    struct tui_binding **bindings; /* per screen, then the global table last */
    bool help;     /* help overlay open */

    /* the filter prompt */
    bool prompt;
    /* the confirmation dialog */
    struct {
        bool open;
        char title[128], question[256];
        int focus; /* 0 Yes, 1 No, 2 + i field i */
        struct {
            char label[32], text[256];
        } field[TUI_DIALOG_FIELDS];
        int n_fields;
        int (*confirm)(struct tui *t, void *ud);
        void *ud;
        int y, yes_x0, yes_x1, no_x0, no_x1; /* where the buttons were drawn */
    } dialog;
    /* the message line */
    char message[256];
    enum tui_role message_role;
    int64_t message_until; /* mono ms */

    /* where clickable things were drawn */
    int tabs_y;
    struct tui_tab_hit tabs[16];
    size_t n_tabs;
    int footer_y;
    struct tui_footer_hit footer[24];
    size_t n_footer;
    struct tui_rect area; /* the current screen's area as last drawn */
};

/* The current snapshot's local result, or NULL. */
const hm_result *tui_result(const struct tui *t);
/* The newest console read, or NULL. */
const struct tui_console *tui_console_data(const struct tui *t);
/* The newest local cycle, or NULL. */
const struct tui_local *tui_local_data(const struct tui *t);
/* Asks the poller for a read now. */
void tui_request_refresh(struct tui *t);
/* Age text of data read at mono_ms ("updated 12:00:03" or "STALE 45s old"), and whether it is
 * older than `stale_ms`. */
bool tui_age_text(const struct tui *t, int64_t wall_ms, int64_t mono_ms, int64_t stale_ms,
                  char *buf, size_t size);

#endif
