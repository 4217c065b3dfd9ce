/* The Drill/Takeover screen: the plans of [drill] plan_dir, their pre-checks (a dry run), and a
 * drill or takeover run with its live progress. The drill engine runs in a thread of this
 * screen, never on the drawing thread; it talks to the operator only through its drill_ui, which
 * here appends lines to the screen's log and turns every question into a dialog: the engine's
 * own confirmation (yes/no for a drill, the plan name typed back for a takeover), confirm steps
 * and on_error = ask answers. The engine decides what an answer means, so the screen cannot
 * confirm more easily than the CLI does. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drill/engine.h"
#include "lib/clock.h"
#include "tui/tui-int.h"

#define MAX_LINES 2000

struct plan_row {
    char *name;
    char *description; /* or the plan's errors */
    size_t steps;
    int64_t rto_ms;
    bool valid;
};

struct drill_screen {
    struct tui_list list; /* first, for the shared list actions */
    struct plan_row *plans;
    size_t n_plans;
    const hm_config *cfg;

    pthread_t thread;
    bool thread_started; /* joined before the next run and on close */
    bool dialog_shown;   /* our question's dialog is (or was just) open */
    unsigned drawn_gen;

    /* shared with the run's thread, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wake_fd;           /* -1 once the screen closes */
    bool running, closing;
    strvec lines;
    unsigned gen;          /* changes with every line, question and the end */
    char *question;        /* an open question, NULL when none */
    bool answered;
    char *answer;
    char plan[128];
    enum drill_mode mode;
    bool dry_run;
    char step[128];        /* the step running now */
    int attempt;
    int64_t started_mono, step_mono; /* 0: not yet */
    int64_t rto_ms;
    int rc;
    bool finished;
};

/* ---- the plan list ---- */

static void free_plans(struct drill_screen *d)
{
    for (size_t i = 0; i < d->n_plans; i++) {
        free(d->plans[i].name);
        free(d->plans[i].description);
    }
    free(d->plans);
    d->plans = NULL;
    d->n_plans = 0;
}

/* Plan files are small local files, so reading them here does not stall the screen. */
static void load_plans(struct drill_screen *d)
{
    free_plans(d);
    const char *dir = cfg_get(d->cfg, "drill", NULL, "plan_dir");
    strvec names = {0};
    drill_plan_names(dir, &names);
    d->plans = xcalloc(names.n ? names.n : 1, sizeof *d->plans);
    for (size_t i = 0; i < names.n; i++) {
        struct plan_row *r = &d->plans[d->n_plans++];
        r->name = xstrdup(names.v[i]);
        char *path = xasprintf("%s/%s.plan", dir, names.v[i]);
        drill_plan *p = NULL;
        strvec errors = {0};
        if (drill_plan_load(path, &p, &errors) == 0) {
            r->valid = true;
            r->description = xstrdup(p->description ? p->description : "");
            r->steps = p->n_steps;
            r->rto_ms = p->rto_ms;
        } else {
            r->description = xasprintf("invalid: %s", errors.n ? errors.v[0] : "?");
        }
        drill_plan_free(p);
        sv_free(&errors);
        free(path);
    }
    sv_free(&names);
}

enum { C_PLAN, C_STEPS, C_RTO, C_DESC };

static const struct tui_column columns[] = {
    {"PLAN", 8, 24, false, NULL},
    {"STEPS", 5, 5, true, NULL},
    {"RTO", 6, 8, true, NULL},
    {"DESCRIPTION", 10, 0, false, NULL},
};

static enum tui_role cell(struct tui *t, void *state, size_t r, size_t col, char *buf, size_t size)
{
    const struct plan_row *p = &((struct drill_screen *)state)->plans[r];
    switch (col) {
    case C_PLAN:
        snprintf(buf, size, "%s", p->name);
        return TUI_NORMAL;
    case C_STEPS:
        if (p->valid) snprintf(buf, size, "%zu", p->steps);
        else snprintf(buf, size, "-");
        return TUI_NORMAL;
    case C_RTO:
        if (p->valid && p->rto_ms) hm_format_duration(p->rto_ms, buf, size);
        else snprintf(buf, size, "-");
        return TUI_NORMAL;
    default:
        snprintf(buf, size, "%s", p->description);
        return p->valid ? TUI_DIM : TUI_CRITICAL;
    }
}

static const struct tui_list_ops ops = {columns, HM_ARRAY_LEN(columns), cell};

/* ---- the drill_ui of the run's thread ---- */

static void wake(struct drill_screen *d)
{
    if (d->wake_fd >= 0) {
        ssize_t rc = write(d->wake_fd, "D", 1);
        (void)rc; /* a full pipe already holds a wake-up */
    }
}

/* The step and attempt shown in the status line, read from the engine's progress lines
 * ("[00:03/05:00] step boot-web (boot): ...", "  attempt 2 (2 of 3)"). */
static void track_progress(struct drill_screen *d, const char *line)
{
    if (line[0] == '[') {
        const char *end = strstr(line, "] ");
        if (end) line = end + 2;
    }
    if (strncmp(line, "step ", 5) == 0) {
        size_t n = strcspn(line + 5, " :");
        snprintf(d->step, sizeof d->step, "%.*s", (int)n, line + 5);
        d->attempt = 1;
        d->step_mono = hm_mono_ms();
    } else if (strncmp(line, "  attempt ", 10) == 0) {
        d->attempt = atoi(line + 10);
    }
}

static void ui_print(void *ud, const char *line)
{
    struct drill_screen *d = ud;
    pthread_mutex_lock(&d->mu);
    if (d->lines.n >= MAX_LINES) {
        free(d->lines.v[0]);
        memmove(d->lines.v, d->lines.v + 1, (d->lines.n - 1) * sizeof *d->lines.v);
        d->lines.n--;
    }
    sv_push(&d->lines, line);
    /* the RTO clock starts with the first step, as the engine's own clock does */
    if (line[0] == '[' && !d->started_mono) d->started_mono = hm_mono_ms();
    track_progress(d, line);
    d->gen++;
    wake(d);
    pthread_mutex_unlock(&d->mu);
}

/* Waits for the operator's answer from the dialog; NULL when the screen closes. */
static char *ui_ask(void *ud, const char *prompt)
{
    struct drill_screen *d = ud;
    pthread_mutex_lock(&d->mu);
    free(d->question);
    d->question = xstrdup(prompt);
    d->answered = false;
    d->gen++;
    wake(d);
    while (!d->answered && !d->closing) pthread_cond_wait(&d->cv, &d->mu);
    char *a = d->answered ? d->answer : NULL;
    d->answer = NULL;
    free(d->question);
    d->question = NULL;
    pthread_mutex_unlock(&d->mu);
    return a;
}

static void *run_main(void *arg)
{
    struct drill_screen *d = arg;
    pthread_mutex_lock(&d->mu);
    char plan[128];
    snprintf(plan, sizeof plan, "%s", d->plan);
    drill_opts o = {.mode = d->mode, .dry_run = d->dry_run,
                    .ui = {.ud = d, .print = ui_print, .ask = ui_ask}};
    pthread_mutex_unlock(&d->mu);

    int rc = DRILL_FAILED;
    hm_err e = {{0}};
    char *path = drill_plan_resolve(cfg_get(d->cfg, "drill", NULL, "plan_dir"), plan, &e);
    drill_plan *p = NULL;
    strvec errors = {0};
    hm_store *st = NULL;
    if (!path) {
        ui_print(d, e.msg);
    } else if (drill_plan_load(path, &p, &errors) < 0) {
        for (size_t i = 0; i < errors.n; i++) ui_print(d, errors.v[i]);
        ui_print(d, "the plan has errors; nothing was done");
    } else if (store_open_config(d->cfg, 0, &st, &e) < 0) {
        ui_print(d, e.msg);
    } else {
        pthread_mutex_lock(&d->mu);
        d->rto_ms = p->rto_ms;
        pthread_mutex_unlock(&d->mu);
        int64_t run_id = 0;
        rc = drill_start(d->cfg, st, p, &o, &run_id);
        store_close(st);
    }
    sv_free(&errors);
    drill_plan_free(p);
    free(path);

    pthread_mutex_lock(&d->mu);
    d->rc = rc;
    d->running = false;
    d->finished = true;
    d->gen++;
    wake(d);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static bool busy(const struct drill_screen *d)
{
    pthread_mutex_lock((pthread_mutex_t *)&d->mu);
    bool b = d->running;
    pthread_mutex_unlock((pthread_mutex_t *)&d->mu);
    return b;
}

static const struct plan_row *selected(const struct drill_screen *d)
{
    if (!d->n_plans || d->list.sel < 0 || (size_t)d->list.sel >= d->n_plans) return NULL;
    return &d->plans[d->list.sel];
}

/* Starts the engine on the selected plan in the background. */
static int start(struct tui *t, struct drill_screen *d, enum drill_mode mode, bool dry_run)
{
    const struct plan_row *r = selected(d);
    if (!r) return TUI_DONE;
    if (busy(d)) {
        tui_message(t, TUI_WARNING, "a run is in progress on this screen");
        return TUI_REDRAW;
    }
    if (d->thread_started) pthread_join(d->thread, NULL);
    d->thread_started = false;
    pthread_mutex_lock(&d->mu);
    sv_free(&d->lines);
    snprintf(d->plan, sizeof d->plan, "%s", r->name);
    d->mode = mode;
    d->dry_run = dry_run;
    d->step[0] = '\0';
    d->attempt = 0;
    d->started_mono = d->step_mono = 0;
    d->rto_ms = 0;
    d->finished = false;
    d->running = true;
    d->gen++;
    pthread_mutex_unlock(&d->mu);
    /* the run's thread takes no signal: they reach the UI through the self-pipe */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&d->thread, NULL, run_main, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_lock(&d->mu);
        d->running = false;
        pthread_mutex_unlock(&d->mu);
        tui_message(t, TUI_CRITICAL, "cannot start the run's thread: %s", strerror(rc));
        return TUI_REDRAW;
    }
    d->thread_started = true;
    return TUI_REDRAW;
}

/* ---- questions as dialogs ---- */

struct answer_ud {
    struct drill_screen *d;
    bool yes_no;
};

static void give_answer(struct drill_screen *d, const char *answer)
{
    pthread_mutex_lock(&d->mu);
    if (d->question && !d->answered) {
        free(d->answer);
        d->answer = answer ? xstrdup(answer) : NULL;
        d->answered = true;
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
}

static int dialog_yes(struct tui *t, void *ud)
{
    const struct answer_ud *a = ud;
    /* a text field's answer is what the operator typed, blanks stripped as the CLI reads it */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", a->yes_no ? "y" : tui_dialog_field(t, 0));
    char *s = buf;
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') s[--n] = '\0';
    give_answer(a->d, s);
    return TUI_REDRAW;
}

/* Opens the dialog for the engine's open question; a prompt ending in [y/N] is a yes/no
 * question, any other asks for text (the plan name, a name, a comment, a choice). */
static void open_question(struct tui *t, struct drill_screen *d, const char *prompt)
{
    char q[256];
    snprintf(q, sizeof q, "%s", prompt + strspn(prompt, " "));
    size_t n = strlen(q);
    while (n && q[n - 1] == ' ') q[--n] = '\0';
    struct answer_ud *a = xcalloc(1, sizeof *a);
    a->d = d;
    char title[160];
    snprintf(title, sizeof title, "%s: plan %s", d->mode == DRILL_MODE_TAKEOVER ? "Takeover" : "Drill",
             d->plan);
    const char *yn = "[y/N]";
    if (n >= strlen(yn) && strcmp(q + n - strlen(yn), yn) == 0) {
        q[n - strlen(yn)] = '\0';
        a->yes_no = true;
        tui_confirm(t, title, q, dialog_yes, a);
    } else {
        static const char *const labels[] = {"Answer:"};
        tui_form(t, title, q, labels, NULL, 1, dialog_yes, a);
    }
    tui_show_screen(t, "drill");
    d->dialog_shown = true;
}

static int drill_update(struct tui *t, void *state)
{
    struct drill_screen *d = state;
    int flags = TUI_DONE;
    /* our dialog closed without Yes: the question is answered "no" (end of input) */
    if (d->dialog_shown && !t->dialog.open) {
        d->dialog_shown = false;
        give_answer(d, NULL);
        flags |= TUI_REDRAW;
    }
    pthread_mutex_lock(&d->mu);
    char *q = d->question && !d->answered && !d->dialog_shown && !t->dialog.open
                  ? xstrdup(d->question) : NULL;
    bool changed = d->gen != d->drawn_gen, ended = d->finished;
    d->finished = false;
    pthread_mutex_unlock(&d->mu);
    if (q) {
        open_question(t, d, q);
        free(q);
        flags |= TUI_REDRAW;
    }
    if (ended) load_plans(d); /* a plan may have been edited while it ran */
    if (changed) flags |= TUI_REDRAW;
    return flags;
}

static int drill_tick(const struct tui *t, void *state)
{
    struct drill_screen *d = state;
    pthread_mutex_lock(&d->mu);
    int64_t start = d->running ? d->started_mono : 0;
    pthread_mutex_unlock(&d->mu);
    if (!start) return -1;
    return (int)(1000 - (hm_mono_ms() - start) % 1000);
}

/* ---- drawing ---- */

static void clock_text(int64_t ms, char *buf, size_t size)
{
    if (ms < 0) ms = 0;
    snprintf(buf, size, "%02lld:%02lld", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
}

static void draw_status(struct tui *t, struct drill_screen *d, int y, int x, int w)
{
    char buf[512], el[32], rto[32], step_el[32];
    enum tui_role role = TUI_HEADING;
    int64_t now = hm_mono_ms();
    const char *what = d->mode == DRILL_MODE_TAKEOVER ? "takeover" : "drill";
    if (!d->plan[0]) {
        tui_put(t, y, x, w, TUI_DIM, false, "no run yet: choose a plan (c pre-checks, d drill, T takeover)");
        return;
    }
    if (d->running && d->started_mono) {
        clock_text(now - d->started_mono, el, sizeof el);
        clock_text(d->rto_ms, rto, sizeof rto);
        clock_text(d->step_mono ? now - d->step_mono : 0, step_el, sizeof step_el);
        snprintf(buf, sizeof buf, "%s of %s: step %s, %s, attempt %d   RTO clock %s%s%s", what,
                 d->plan, d->step[0] ? d->step : "-", step_el, d->attempt, el,
                 d->rto_ms ? " / " : "", d->rto_ms ? rto : "");
        if (d->rto_ms && now - d->started_mono > d->rto_ms) role = TUI_CRITICAL;
    } else if (d->running) {
        snprintf(buf, sizeof buf, "%s of %s: %s", d->dry_run ? "pre-checks" : what, d->plan,
                 d->question ? "waiting for the operator" : "pre-checks running");
    } else if (d->dry_run) {
        snprintf(buf, sizeof buf, "pre-checks of %s: %s", d->plan,
                 d->rc == DRILL_OK ? "passed" : "FAILED");
        role = d->rc == DRILL_OK ? TUI_OK : TUI_CRITICAL;
    } else {
        snprintf(buf, sizeof buf, "%s of %s: %s", what, d->plan,
                 d->rc == DRILL_OK ? "finished" : "FAILED or not started (see below)");
        role = d->rc == DRILL_OK ? TUI_OK : TUI_CRITICAL;
    }
    tui_put(t, y, x, w, role, true, buf);
}

static void drill_draw(struct tui *t, void *state, const struct tui_rect *a)
{
    struct drill_screen *d = state;
    int x = a->x + 1, w = a->w - 2;
    if (!d->n_plans) {
        d->list.shown = 0;
        tui_put(t, a->y, x, w, TUI_DIM, false, "no plans in [drill] plan_dir");
        return;
    }
    int list_h = (int)d->n_plans + 1;
    if (list_h > a->h / 3) list_h = a->h / 3 > 2 ? a->h / 3 : 2;
    size_t *order = xcalloc(d->n_plans, sizeof *order);
    for (size_t i = 0; i < d->n_plans; i++) order[i] = i;
    struct tui_rect lr = {a->y, a->x, list_h, a->w};
    tui_list_draw(t, &d->list, &ops, d, order, d->n_plans, &lr);
    free(order);

    pthread_mutex_lock(&d->mu);
    d->drawn_gen = d->gen;
    int y = a->y + list_h;
    if (y < a->y + a->h) draw_status(t, d, y++, x, w);
    int rows = a->y + a->h - y;
    size_t first = d->lines.n > (size_t)(rows > 0 ? rows : 0) ? d->lines.n - (size_t)rows : 0;
    for (size_t i = first; i < d->lines.n && y < a->y + a->h; i++) {
        const char *l = d->lines.v[i];
        enum tui_role role = strstr(l, "failed") || strstr(l, "FAIL") ? TUI_CRITICAL : TUI_NORMAL;
        tui_put(t, y++, x, w, role, false, l);
    }
    pthread_mutex_unlock(&d->mu);
}

/* ---- keys ---- */

static int act_check(struct tui *t, void *state)
{
    return start(t, state, DRILL_MODE_DRILL, true);
}

static int act_drill(struct tui *t, void *state)
{
    return start(t, state, DRILL_MODE_DRILL, false);
}

static int act_takeover(struct tui *t, void *state)
{
    return start(t, state, DRILL_MODE_TAKEOVER, false);
}

static bool can_start(const struct tui *t, void *state)
{
    const struct drill_screen *d = state;
    return d && selected(d) && selected(d)->valid && !busy(d);
}

static const struct tui_key drill_keys[] = {
    {.keys = {KEY_UP, 'k'}, .name = "up", .help = "select the previous plan", .footer = "Select",
     .footer_key = {"Up/Dn", "\xe2\x86\x91\xe2\x86\x93"}, .fn = tui_list_up},
    {.keys = {KEY_DOWN, 'j'}, .name = "down", .help = "select the next plan", .fn = tui_list_down},
    {.keys = {KEY_HOME, 'g'}, .name = "home", .help = "the first plan", .fn = tui_list_home},
    {.keys = {KEY_END, 'G'}, .name = "end", .help = "the last plan", .fn = tui_list_end},
    {.keys = {'c', '\r', '\n', KEY_ENTER}, .name = "pre-checks",
     .help = "run the plan's pre-checks and list its steps (a dry run: nothing is done)",
     .footer = "Checks", .fn = act_check, .available = can_start},
    {.keys = {'d'}, .name = "drill",
     .help = "run the plan as a drill (pre-checks, then yes/no before anything is done)",
     .footer = "Drill", .fn = act_drill, .available = can_start, .action = true},
    {.keys = {'T'}, .name = "takeover",
     .help = "run the plan as a takeover (pre-checks, then the plan name typed back)",
     .footer = "Takeover", .fn = act_takeover, .available = can_start, .action = true},
    {.keys = {0}},
};

static void *drill_open(struct tui *t)
{
    struct drill_screen *d = xcalloc(1, sizeof *d);
    d->list.ops = &ops;
    d->cfg = t->opt->cfg;
    d->wake_fd = t->wake_fd;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    load_plans(d);
    return d;
}

/* A run in progress gets no more answers (a question left open means "no answer", as at the
 * end of the CLI's input); the current step ends before the screen does, and 'hmctl resume'
 * continues whatever the run left unfinished. */
static void drill_close(void *state)
{
    struct drill_screen *d = state;
    pthread_mutex_lock(&d->mu);
    d->closing = true;
    d->wake_fd = -1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (d->thread_started) pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    sv_free(&d->lines);
    free(d->question);
    free(d->answer);
    free_plans(d);
    free(d);
}

const struct tui_screen tui_screen_drill = {
    .name = "drill",
    .title = "Drill",
    .open = drill_open,
    .close = drill_close,
    .draw = drill_draw,
    .keys = drill_keys,
    .position = tui_list_position,
    .click = tui_list_click,
    .update = drill_update,
    .tick = drill_tick,
};
