/* Configuration: errors with file and line, defaults, named sections, secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/config.h"

static hm_config *parse(const char *text, unsigned mode)
{
    hm_config *c = config_new();
    config_parse_text(c, "hmctl.conf", text, mode);
    return c;
}

static void test_defaults(void **state)
{
    hm_config *c = config_new();
    assert_string_equal(cfg_get(c, "installer", NULL, "dir"), "/opt/installer/production");
    assert_string_equal(cfg_get(c, "docker", NULL, "socket"), "/var/run/docker.sock");
    assert_string_equal(cfg_get(c, "rabbitmq", NULL, "url"), "http://127.0.0.1:15672");
    assert_int_equal(cfg_get_ms(c, "hmctl", NULL, "interval", 0), 10000);
    assert_null(cfg_get(c, "hmctl", NULL, "nonexistent"));
    config_free(c);
}

static void test_typo_names_file_and_line(void **state)
{
    hm_config *c = parse("[hmctl]\n; a comment\ninterval = 5s\n\nintervall = 10s\n", 0600);
    assert_int_equal(c->errors.n, 1);
    assert_string_equal(c->errors.v[0],
                        "hmctl.conf:5: unknown key 'intervall' in [hmctl] (did you mean 'interval'?)");
    assert_int_equal(cfg_get_ms(c, "hmctl", NULL, "interval", 0), 5000);
    config_free(c);
}

static void test_bad_values(void **state)
{
    hm_config *c = parse("[hmctl]\ninterval = soon\n[port \"x\"]\naddress = nowhere\n"
                         "[rabbitmq]\nenabled = perhaps\n[bogus]\nk = v\n[port]\naddress=a:1\n"
                         "garbage line\n", 0600);
    assert_int_equal(c->errors.n, 6);
    assert_non_null(strstr(c->errors.v[0], "hmctl.conf:2: invalid duration 'soon'"));
    assert_non_null(strstr(c->errors.v[1], "hmctl.conf:4: invalid address 'nowhere'"));
    assert_non_null(strstr(c->errors.v[2], "hmctl.conf:6: invalid boolean 'perhaps'"));
    assert_non_null(strstr(c->errors.v[3], "hmctl.conf:7: unknown section [bogus]"));
    assert_non_null(strstr(c->errors.v[4], "hmctl.conf:9: section [port] needs a name"));
    assert_non_null(strstr(c->errors.v[5], "hmctl.conf:11: syntax error"));
    config_free(c);
}

static void test_named_sections(void **state)
{
    hm_config *c = parse("[port \"console\"]\naddress = 127.0.0.1:10443\ntls = yes\n"
                         "[port \"ui\"]\naddress = 127.0.0.1:30080 ; inline comment\n"
                         "[port \"empty\"]\ntls = no\n", 0600);
    assert_int_equal(c->errors.n, 1); /* [port "empty"] lacks its address */
    assert_non_null(strstr(c->errors.v[0], "hmctl.conf:6: [port \"empty\"] has no 'address'"));
    const cfg_section **v;
    size_t n = cfg_sections_of(c, "port", &v);
    assert_int_equal(n, 3);
    assert_string_equal(v[0]->name, "console");
    free(v);
    assert_string_equal(cfg_get(c, "port", "ui", "address"), "127.0.0.1:30080");
    assert_true(cfg_get_bool(c, "port", "console", "tls", false));
    config_free(c);
}

static void test_later_file_overrides(void **state)
{
    hm_config *c = config_new();
    config_parse_text(c, "hmctl.conf", "[hmctl]\ntimeout = 5s\ninterval = 3s\n", 0600);
    config_parse_text(c, "conf.d/10-local.conf", "[hmctl]\ntimeout = 9s\n", 0600);
    assert_int_equal(c->errors.n, 0);
    assert_int_equal(cfg_get_ms(c, "hmctl", NULL, "timeout", 0), 9000);
    assert_int_equal(cfg_get_ms(c, "hmctl", NULL, "interval", 0), 3000);
    char buf[128];
    assert_string_equal(cfg_origin(c, "hmctl", NULL, "timeout", buf, sizeof buf),
                        "conf.d/10-local.conf:2");
    assert_string_equal(cfg_origin(c, "hmctl", NULL, "retention", buf, sizeof buf), "default");
    config_free(c);
}

static void test_inline_secret_needs_private_file(void **state)
{
    hm_config *c = parse("[rabbitmq]\nusername = hmctl\npassword = s3cret\n", 0644);
    assert_int_equal(c->errors.n, 1);
    assert_non_null(strstr(c->errors.v[0], "hmctl.conf:3: refusing the inline secret 'password'"));
    assert_non_null(strstr(c->errors.v[0], "mode 0644"));
    assert_null(strstr(c->errors.v[0], "s3cret"));
    config_free(c);

    c = parse("[rabbitmq]\npassword = s3cret\n", 0600);
    assert_int_equal(c->errors.n, 0);
    char *pw = cfg_get_secret(c, "rabbitmq", NULL, "password", NULL);
    assert_string_equal(pw, "s3cret");
    free(pw);
    config_free(c);
}

static void test_secret_file_and_env(void **state)
{
    char path[] = "/tmp/hmctl-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "from-file\n", 10), 10);
    close(fd);
    char *text = xasprintf("[mariadb]\npassword_file = %s\n", path);
    hm_config *c = parse(text, 0644);
    free(text);
    assert_int_equal(c->errors.n, 0);
    char *pw = cfg_get_secret(c, "mariadb", NULL, "password", NULL);
    assert_string_equal(pw, "from-file");
    free(pw);
    unlink(path);
    hm_err e = {{0}};
    assert_null(cfg_get_secret(c, "mariadb", NULL, "password", &e));
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "No such file"));
    config_free(c);

    c = config_new();
    char env[64];
    cfg_secret_env_name("redis", NULL, "password", env, sizeof env);
    assert_string_equal(env, "HMCTL_REDIS_PASSWORD");
    cfg_secret_env_name("console", "tenant-a", "password", env, sizeof env);
    assert_string_equal(env, "HMCTL_CONSOLE_TENANT_A_PASSWORD");
    setenv("HMCTL_REDIS_PASSWORD", "from-env", 1);
    pw = cfg_get_secret(c, "redis", NULL, "password", NULL);
    assert_string_equal(pw, "from-env");
    free(pw);
    unsetenv("HMCTL_REDIS_PASSWORD");
    assert_null(cfg_get_secret(c, "redis", NULL, "password", NULL));
    config_free(c);
}

static void test_load_missing_explicit_file(void **state)
{
    hm_config *c = config_load("/nonexistent/hmctl.conf");
    assert_int_equal(c->errors.n, 1);
    assert_string_equal(c->errors.v[0],
                        "cannot read '/nonexistent/hmctl.conf': No such file or directory");
    config_free(c);
}

static void test_indented_and_empty_sections(void **state)
{
    /* an indented, pasted file: every line is its own setting, not a continuation */
    hm_config *c = parse("  [hmctl]\n    interval = 3s\n    timeout = 4s\n[nonsense]\n\n[docker \"x\"]\n", 0600);
    assert_int_equal(cfg_get_ms(c, "hmctl", NULL, "interval", 0), 3000);
    assert_int_equal(cfg_get_ms(c, "hmctl", NULL, "timeout", 0), 4000);
    assert_int_equal(c->errors.n, 2); /* sections without keys are checked at their header */
    assert_string_equal(c->errors.v[0], "hmctl.conf:4: unknown section [nonsense]");
    assert_string_equal(c->errors.v[1], "hmctl.conf:6: section [docker] takes no name");
    config_free(c);
}

static void test_lists(void **state)
{
    hm_config *c = parse("[installer]\nlog_dirs = /a/logs, /b\n", 0600);
    strvec v = {0};
    cfg_get_list(c, "installer", NULL, "log_dirs", &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.v[1], "/b");
    sv_free(&v);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_typo_names_file_and_line),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_named_sections),
        cmocka_unit_test(test_later_file_overrides),
        cmocka_unit_test(test_inline_secret_needs_private_file),
        cmocka_unit_test(test_secret_file_and_env),
        cmocka_unit_test(test_load_missing_explicit_file),
        cmocka_unit_test(test_indented_and_empty_sections),
        cmocka_unit_test(test_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
