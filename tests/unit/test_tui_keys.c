/* The TUI's key names, [tui] keys parsing and checking, and bindings after a remap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tui/tui-int.h"

static void test_key_names(void **state)
{
    assert_int_equal(tui_key_parse("x"), 'x');
    assert_int_equal(tui_key_parse("?"), '?');
    assert_int_equal(tui_key_parse("F5"), KEY_F(5));
    assert_int_equal(tui_key_parse("f12"), KEY_F(12));
    assert_int_equal(tui_key_parse("F13"), -1);
    assert_int_equal(tui_key_parse("pgdn"), KEY_NPAGE);
    assert_int_equal(tui_key_parse("Esc"), 27);
    assert_int_equal(tui_key_parse("C-r"), 18);
    assert_int_equal(tui_key_parse("^R"), 18);
    assert_int_equal(tui_key_parse("Comma"), ',');
    assert_int_equal(tui_key_parse("Space"), ' ');
    assert_int_equal(tui_key_parse("nonsense"), -1);
    char buf[32];
    assert_string_equal(tui_key_name(KEY_F(10), false, buf, sizeof buf), "F10");
    assert_string_equal(tui_key_name(KEY_UP, false, buf, sizeof buf), "Up");
    assert_string_equal(tui_key_name(KEY_UP, true, buf, sizeof buf), "\xe2\x86\x91");
    assert_string_equal(tui_key_name(18, false, buf, sizeof buf), "C-r");
    assert_string_equal(tui_key_name('\t', false, buf, sizeof buf), "Tab");
}

static void test_remap_parse(void **state)
{
    struct tui_remap *rm;
    size_t n;
    hm_err e = {{0}};
    assert_int_equal(tui_remap_parse("quit=x, refresh = F5 r ,", &rm, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rm[0].action, "quit");
    assert_int_equal(rm[0].n, 1);
    assert_int_equal(rm[0].codes[0], 'x');
    assert_string_equal(rm[1].action, "refresh");
    assert_int_equal(rm[1].n, 2);
    assert_int_equal(rm[1].codes[0], KEY_F(5));
    assert_int_equal(rm[1].codes[1], 'r');
    free(rm);
    assert_int_equal(tui_remap_parse("quit", &rm, &n, &e), -1);
    assert_string_equal(e.msg, "'quit' in [tui] keys is not ACTION=KEY (e.g. quit=x)");
    assert_int_equal(tui_remap_parse("quit=F99", &rm, &n, &e), -1);
    assert_non_null(strstr(e.msg, "unknown key 'F99' for 'quit'"));
}

static void test_keys_check(void **state)
{
    hm_err e = {{0}};
    assert_int_equal(tui_keys_check("quit=x, restart=C-r, sort=F6 o", &e), 0);
    assert_int_equal(tui_keys_check("qiut=x", &e), -1);
    assert_non_null(strstr(e.msg, "unknown action 'qiut' in [tui] keys (actions: help, refresh"));
    /* screen-N is documented but handled by the digits, not remappable */
    assert_int_equal(tui_keys_check("screen-N=x", &e), -1);
}

static int act(struct tui *t, void *state) { return 0; }

static void test_bindings(void **state)
{
    static const struct tui_key screen[] = {
        {.keys = {KEY_UP, 'k'}, .name = "up", .help = "up", .fn = act},
        {.keys = {0}},
    };
    static const struct tui_key global[] = {
        {.keys = {'q', KEY_F(10)}, .name = "quit", .help = "quit", .fn = act},
        {.keys = {'r', KEY_F(5)}, .name = "refresh", .help = "refresh", .fn = act},
        {.keys = {0}},
    };
    const struct tui_key *tables[] = {screen, global};
    /* k goes to refresh and leaves up; quit gets x and then F10 again */
    struct tui_binding **b = tui_bindings_build(tables, 2, "refresh=k, quit=x, quit=F10");
    assert_ptr_equal(tui_binding_find(b[0], KEY_UP)->key, &screen[0]);
    assert_null(tui_binding_find(b[0], 'k'));
    assert_ptr_equal(tui_binding_find(b[1], 'k')->key, &global[1]);
    assert_null(tui_binding_find(b[1], 'q'));
    assert_ptr_equal(tui_binding_find(b[1], 'x')->key, &global[0]);
    assert_ptr_equal(tui_binding_find(b[1], KEY_F(10))->key, &global[0]);
    char label[64];
    tui_binding_label(&b[1][0], false, label, sizeof label);
    assert_string_equal(label, "x/F10");
    tui_binding_label(&b[0][0], true, label, sizeof label);
    assert_string_equal(label, "\xe2\x86\x91");
    tui_bindings_free(b, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_remap_parse),
        cmocka_unit_test(test_keys_check),
        cmocka_unit_test(test_bindings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
