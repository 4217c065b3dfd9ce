/* Vertical scrolling shared by list-like screens: their state starts with a struct tui_scroll,
 * so one set of actions serves them all. */
#include <stdio.h>

#include "tui/tui-int.h"

void tui_scroll_clamp(struct tui_scroll *s)
{
    int max = s->total - s->visible;
    if (s->top > max) s->top = max;
    if (s->top < 0) s->top = 0;
}

/* Moves by delta rows; redraws only when the position changed. */
static int scroll_by(void *state, int delta)
{
    struct tui_scroll *s = state;
    int before = s->top;
    s->top += delta;
    tui_scroll_clamp(s);
    return s->top != before ? TUI_REDRAW : TUI_DONE;
}

static int page(const struct tui_scroll *s)
{
    return s->visible > 1 ? s->visible - 1 : 1;
}

int tui_scroll_up(struct tui *t, void *state) { return scroll_by(state, -1); }
int tui_scroll_down(struct tui *t, void *state) { return scroll_by(state, 1); }

int tui_scroll_page_up(struct tui *t, void *state)
{
    return scroll_by(state, -page(state));
}

int tui_scroll_page_down(struct tui *t, void *state)
{
    return scroll_by(state, page(state));
}

int tui_scroll_home(struct tui *t, void *state)
{
    return scroll_by(state, -((struct tui_scroll *)state)->total);
}

int tui_scroll_end(struct tui *t, void *state)
{
    return scroll_by(state, ((struct tui_scroll *)state)->total);
}

const char *tui_scroll_position(struct tui *t, void *state, char *buf, size_t size)
{
    const struct tui_scroll *s = state;
    buf[0] = '\0';
    /* Only a list longer than the screen needs a position. */
    if (s->total > s->visible && s->visible > 0) {
        int last = s->top + s->visible;
        snprintf(buf, size, "%d-%d/%d", s->top + 1, last > s->total ? s->total : last, s->total);
    }
    return buf;
}
