/* hmctl tui: the full-screen dashboard (ncursesw). A background thread polls every collector
 * each interval and hands the UI immutable snapshots; the UI thread only draws and reacts to
 * keys, so a dead source never freezes the screen. Screens and keys live in tables
 * (tui/tui-int.h) so new screens plug in without touching the main loop. */
#ifndef HM_TUI_H
#define HM_TUI_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/util.h"

struct tui_options {
    const hm_config *cfg; /* read by the poller thread; must outlive tui_run */
    int64_t interval_ms;  /* time between the starts of two poll cycles, > 0 */
    int64_t console_ms;   /* time between two reads of the consoles; 0: automatic */
    long count;           /* quit after this many refreshes (snapshots shown); 0: until `q` */
    bool readonly;        /* disable every action (DESIGN.md 7); shown in the header */
    bool color;           /* false: monochrome scheme (bold/reverse/underline only) */
};

/* Runs the dashboard on the controlling terminal (stdin and stdout) until the user quits
 * (q, F10, Ctrl-C, SIGTERM, SIGHUP) or opt->count refreshes have been shown. The caller must
 * have called setlocale(LC_ALL, "") so UTF-8 is detected; outside a UTF-8 locale the screen is
 * drawn in ASCII. Returns 0 on a normal exit, or -1 with e set to:
 *   "tui needs a terminal; use 'hmctl status'"  when stdin or stdout is not a terminal,
 *   "cannot start the terminal interface for TERM 'x'"  when ncurses cannot use TERM,
 *   "cannot create the poller's wake-up pipe: ..." / "cannot start the poller thread: ...".
 * The terminal is restored before returning in every case. */
int tui_run(const struct tui_options *opt, hm_err *e);

/* Checks a [tui] keys value ("quit=x, refresh=F5 r"): every item ACTION=KEY..., every action a
 * name of the TUI's key tables, every key a name tui accepts. Returns 0, or -1 with e set to
 * the first problem ("unknown action 'qiut' in [tui] keys (actions: ...)"). */
int tui_keys_check(const char *value, hm_err *e);

#endif
