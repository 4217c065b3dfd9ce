/* Plan files: the packaged WordPress plan, FILE:LINE errors for each kind of mistake, and
 * variables quoted for the shell wherever they stand (proved by running the results with sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill/plan.h"

#define PLAN_FILE FIXTURES "/../../packaging/plans/wordpress.plan"

static void test_wordpress_plan(void **state)
{
    strvec errors = {0};
    drill_plan *p = NULL;
    int rc = drill_plan_load(PLAN_FILE, &p, &errors);
    for (size_t i = 0; i < errors.n; i++) fprintf(stderr, "%s\n", errors.v[i]);
    assert_int_equal(rc, 0);
    assert_string_equal(p->name, "wordpress");
    assert_int_equal(p->rto_ms, 15 * 60000);
    assert_int_equal(p->rpo_ms, 3600000);
    assert_true(p->has_jump);
    assert_string_equal(p->jump_address, "192.168.7.10");
    assert_int_equal(p->jump_port, 22);
    assert_int_equal(p->n_hosts, 2);
    assert_string_equal(p->hosts[0].console_host, "WordPress");
    assert_string_equal(p->hosts[1].fixed_ip, "192.168.7.146");
    assert_int_equal(p->n_secrets, 1);
    assert_string_equal(p->secrets[0].env, "HMCTL_SECRET_MYSQL");

    int boot = drill_plan_step_index(p, "boot");
    assert_int_equal(boot, 0);
    assert_int_equal(p->steps[boot].type, DRILL_STEP_BOOT);
    assert_int_equal(p->steps[boot].hosts.n, 2);
    assert_string_equal(p->steps[boot].stage, "recover");
    assert_int_equal(p->steps[boot].timeout_ms, 20 * 60000);

    const drill_step *promote = &p->steps[drill_plan_step_index(p, "promote-replica")];
    assert_int_equal(promote->modes, DRILL_MODE_TAKEOVER);
    assert_string_equal(promote->on, "jump");
    assert_non_null(strstr(promote->command, "masterha_master_switch"));
    const drill_step *ping = &p->steps[drill_plan_step_index(p, "replica-alive")];
    assert_int_equal(ping->check, DRILL_CHECK_PING);
    assert_int_equal(ping->retries, 5);
    assert_int_equal(ping->delay_ms, 10000);
    const drill_step *dns = &p->steps[drill_plan_step_index(p, "switch-dns")];
    assert_int_equal(dns->modes, DRILL_MODE_TAKEOVER);
    const drill_step *clean = &p->steps[drill_plan_step_index(p, "cleanup")];
    assert_int_equal(clean->type, DRILL_STEP_CLEANUP);
    assert_int_equal(clean->modes, DRILL_MODE_DRILL); /* the default of cleanup steps */
    const drill_step *biz = &p->steps[drill_plan_step_index(p, "business-check")];
    assert_int_equal(biz->on_error, DRILL_ON_ERROR_ASK);
    assert_int_equal(biz->timeout_ms, 0);

    /* the RTO ends at the marked validation step in a takeover, at the last check in a drill */
    assert_int_equal(drill_plan_validation_step(p, DRILL_MODE_TAKEOVER),
                     drill_plan_step_index(p, "site-answers"));
    assert_int_equal(drill_plan_validation_step(p, DRILL_MODE_DRILL),
                     drill_plan_step_index(p, "wordpress-answers"));
    drill_plan_free(p);
    sv_free(&errors);
}

/* Parses text as "t.plan" and expects exactly the errors given (NULL-terminated). */
static void expect_errors(const char *text, ...)
{
    strvec errors = {0};
    drill_plan *p = NULL;
    int rc = drill_plan_parse("t.plan", text, &p, &errors);
    va_list ap;
    va_start(ap, text);
    size_t n = 0;
    for (const char *want; (want = va_arg(ap, const char *)); n++) {
        if (n >= errors.n || strcmp(errors.v[n], want) != 0) {
            fprintf(stderr, "expected error %zu: %s\ngot:\n", n, want);
            for (size_t i = 0; i < errors.n; i++) fprintf(stderr, "  %s\n", errors.v[i]);
            fail();
        }
    }
    va_end(ap);
    if (n != errors.n) {
        for (size_t i = 0; i < errors.n; i++) fprintf(stderr, "  %s\n", errors.v[i]);
        fail_msg("expected %zu errors, got %zu", n, errors.n);
    }
    assert_int_equal(rc, n ? -1 : 0);
    drill_plan_free(p);
    sv_free(&errors);
}

#define HEAD "[plan]\nname = t\n[host \"web\"]\n"

static void test_plan_errors(void **state)
{
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = true\n", NULL);
    expect_errors("[plan]\nnmae = t\n", "t.plan:2: unknown key 'nmae' in [plan] (did you mean 'name'?)",
                  "t.plan:1: [plan] has no 'name'", "t.plan:1: the plan has no steps", NULL);
    expect_errors("[step \"a\"]\ntype = run\ncommand = true\n",
                  "t.plan:1: no [plan] section (it names the plan)", NULL);
    expect_errors(HEAD "[stepp \"a\"]\ntype = run\n",
                  "t.plan:4: unknown section [stepp \"a\"] (did you mean [step]?)",
                  "t.plan:1: the plan has no steps", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = reboot\n",
                  "t.plan:5: invalid step type 'reboot' (one of boot, run, check, confirm, cleanup)",
                  "t.plan:4: step 'a' has no 'type' (boot, run, check, confirm, cleanup)",
                  "t.plan:1: the plan has no steps", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = true\ntimeout = soon\nretries = -1\n"
                       "on_error = retry\nmodes = always\nenabled = maybe\n",
                  "t.plan:7: invalid duration 'soon' for 'timeout' (use e.g. 500ms, 10s, 5m, 2h)",
                  "t.plan:8: invalid number '-1' for 'retries' (a whole number from 0)",
                  "t.plan:9: invalid on_error 'retry' (one of stop, ignore, ask)",
                  "t.plan:10: invalid modes 'always' (one of drill, takeover, both)",
                  "t.plan:11: invalid boolean 'maybe' for 'enabled' (use yes or no)", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = boot\nhosts = web, db\ncommand = true\n",
                  "t.plan:7: 'command' does not apply to a boot step",
                  "t.plan:4: step 'a': no [host \"db\"] in the plan", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = check\ntcp = x:1\nping = y\n",
                  "t.plan:4: check step 'a' needs exactly one of tcp, http, ping or command (it has 2)",
                  NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = true\n[step \"a\"]\ntype = run\ncommand = x\n",
                  "t.plan:7: [step \"a\"] appears twice (first at line 4)", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\non = jump\ncommand = true\n",
                  "t.plan:4: step 'a': 'on = jump' but the plan has no [jump]", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\non = db\ncommand = true\n",
                  "t.plan:4: step 'a': 'on = db' names no [host] (local, jump or a host alias)", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = echo {host.db.ip} {var.x}\n",
                  "t.plan:6: step 'a': {host.db.ip}: no [host \"db\"] in the plan", NULL);
    expect_errors(HEAD "[vars]\nx = 1\n[step \"a\"]\ntype = run\ncommand = echo {var.y}\n",
                  "t.plan:8: step 'a': {var.y}: no 'y' in [vars]", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = echo {host.web.instance_id}\n"
                       "[step \"b\"]\ntype = boot\n",
                  "t.plan:6: step 'a': {host.web.instance_id}: no boot step before this one boots "
                  "'web', so it has no instance id yet", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = echo `hostname {host.web.ip}`\n",
                  "t.plan:6: step 'a': {host.web.ip} stands inside `...`, where it cannot be quoted "
                  "safely; use $(...) or quotes", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = echo 'unterminated\n",
                  "t.plan:6: step 'a': unterminated ' quote in the command", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = echo $(date\n",
                  "t.plan:6: step 'a': unterminated $( in the command", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = boot\n[step \"b\"]\ntype = boot\nhosts = web\n",
                  "t.plan:6: step 'b': host 'web' is booted by step 'a' already", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = check\nhttp = ftp://x/\n",
                  "t.plan:6: step 'a': http check needs an http:// or https:// URL", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = confirm\n",
                  "t.plan:4: confirm step 'a' has no 'message'", NULL);
    expect_errors("name = x\n[plan]\nname = t\n[step \"a\"]\ntype = run\ncommand = true\n",
                  "t.plan:1: 'name' is outside any section", NULL);
    expect_errors(HEAD "[step \"a\"]\ntype = run\ncommand = true\nno equals sign\n",
                  "t.plan:7: syntax error (expected [section], key = value, or a ; comment)", NULL);
    expect_errors("[plan]\nname = t\n[host \"a.b\"]\n[step \"a\"]\ntype = run\ncommand = true\n",
                  "t.plan:3: invalid host name 'a.b' (letters, digits, '_' and '-')", NULL);
    expect_errors(HEAD "recovery_point = yesterday\n[step \"a\"]\ntype = run\ncommand = true\n",
                  "t.plan:4: invalid recovery_point 'yesterday' (latest, ask, or a time such as "
                  "2026-11-21T10:00:00Z)", NULL);
}

static void test_plan_long_lines_and_semicolons(void **state)
{
    strbuf text = {0};
    sb_adds(&text, "[plan]\nname = t\n; a comment\n# another\n[step \"a\"]\ntype = run\ncommand = echo a ; echo b # not a comment ");
    for (int i = 0; i < 400; i++) sb_adds(&text, "x");
    sb_adds(&text, "\n");
    strvec errors = {0};
    drill_plan *p = NULL;
    assert_int_equal(drill_plan_parse("t.plan", text.buf, &p, &errors), 0);
    assert_true(hm_starts_with(p->steps[0].command, "echo a ; echo b # not a comment xxx"));
    assert_int_equal(strlen(p->steps[0].command), strlen("echo a ; echo b # not a comment ") + 400);
    drill_plan_free(p);
    sb_free(&text);
    sv_free(&errors);
}

/* Variables for the substitution tests. */
static const char *lookup(void *ud, const char *name, bool *secret, hm_err *e)
{
    const char *const *vals = ud;
    if (strcmp(name, "secret.pw") == 0) {
        *secret = true;
        return "s3cr3t'x";
    }
    if (strcmp(name, "var.evil") == 0) return vals[0];
    if (strcmp(name, "host.web.ip") == 0) return "10.0.0.5";
    if (strcmp(name, "var.nl") == 0) return "a\nb";
    if (strcmp(name, "host.web.instance_id") == 0) {
        hm_err_set(e, "host web has no instance id yet");
        return NULL;
    }
    return NULL;
}

static char *subst(const char *tmpl, enum drill_subst_ctx ctx, const char *evil, char **shown,
                   hm_err *e)
{
    const char *vals[] = {evil};
    char *out = NULL;
    if (drill_subst(tmpl, ctx, lookup, vals, &out, shown, e) < 0) return NULL;
    return out;
}

/* Runs cmd with sh -c in dir and returns its standard output. */
static char *run_sh(const char *cmd, const char *dir)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        if (chdir(dir) < 0) _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    strbuf sb = {0};
    char buf[512];
    ssize_t r;
    while ((r = read(fds[0], buf, sizeof buf)) > 0) sb_add(&sb, buf, (size_t)r);
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return sb_detach(&sb);
}

static void test_quote(void **state)
{
    char *q = drill_sh_quote("it's");
    assert_string_equal(q, "'it'\\''s'");
    free(q);
    q = drill_sh_quote("");
    assert_string_equal(q, "''");
    free(q);

    hm_err e = {{0}};
    char *shown = NULL;
    char *out = subst("ping -c1 {host.web.ip} && echo \"{host.web.ip}\" '{host.web.ip}'",
                      DRILL_SUBST_SHELL, "", &shown, &e);
    assert_string_equal(out, "ping -c1 '10.0.0.5' && echo \"10.0.0.5\" '10.0.0.5'");
    free(out);
    free(shown);
    /* other braces are text; {{ is a literal brace */
    out = subst("awk '{print $1}' ${HOME} {{host.web.ip} {nothing.here}", DRILL_SUBST_SHELL, "",
                NULL, &e);
    assert_string_equal(out, "awk '{print $1}' ${HOME} {host.web.ip} {nothing.here}");
    free(out);
    /* secrets are masked in what is shown, never in what runs */
    out = subst("mysqladmin -p{secret.pw} ping", DRILL_SUBST_SHELL, "", &shown, &e);
    assert_string_equal(out, "mysqladmin -p's3cr3t'\\''x' ping");
    assert_string_equal(shown, "mysqladmin -p'********' ping");
    free(out);
    free(shown);
    /* refusals */
    assert_null(subst("echo `echo {host.web.ip}`", DRILL_SUBST_SHELL, "", NULL, &e));
    assert_non_null(strstr(e.msg, "inside `...`"));
    assert_null(subst("echo $'{host.web.ip}'", DRILL_SUBST_SHELL, "", NULL, &e));
    assert_non_null(strstr(e.msg, "inside $'...'"));
    assert_null(subst("echo {var.nl}", DRILL_SUBST_SHELL, "", NULL, &e));
    assert_string_equal(e.msg, "{var.nl} = \"a...\" holds a control character (byte 0x0a); it "
                               "cannot be quoted safely");
    assert_null(subst("echo {host.web.instance_id}", DRILL_SUBST_SHELL, "", NULL, &e));
    assert_string_equal(e.msg, "host web has no instance id yet");
    assert_null(subst("echo {var.unknown}", DRILL_SUBST_SHELL, "", NULL, &e));
    assert_string_equal(e.msg, "{var.unknown}: unknown variable");
    /* WORD: addresses and URLs that no shell sees */
    out = subst("http://{host.web.ip}:80/", DRILL_SUBST_WORD, "", NULL, &e);
    assert_string_equal(out, "http://10.0.0.5:80/");
    free(out);
    assert_null(subst("{var.evil}:22", DRILL_SUBST_WORD, "a b", NULL, &e));
    assert_null(subst("{var.evil}", DRILL_SUBST_WORD, "-oProxyCommand=x", NULL, &e));
    assert_non_null(strstr(e.msg, "starts with '-'"));
    /* the secret's value never appears in a message */
    assert_null(subst("{secret.pw}", DRILL_SUBST_WORD, "", NULL, &e));
    assert_null(strstr(e.msg, "s3cr3t"));
}

/* Every hostile value, in every quoting context, reaches the command as the same bytes and
 * never runs. */
static void test_quote_hostile_values(void **state)
{
    char dir[] = "/tmp/hmctl-quote-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char *const evil[] = {
        "$(touch pwned)", "; touch pwned", "`touch pwned`", "' ; touch pwned ; '",
        "\" ; touch pwned ; \"", "\\\" $(touch pwned) \\", "a'b\"c$d`e\\f", "$HOME", "",
        "*", "-n", "x\\", "'", "\"", "&& touch pwned", "| touch pwned", "> pwned",
    };
    static const char *const tmpls[] = {
        "printf '%s' {var.evil}",
        "printf '%s' '{var.evil}'",
        "printf '%s' \"{var.evil}\"",
        "printf '%s' \"$(printf '%s' {var.evil})\"",
        "printf '%s' \"$(printf '%s' \"{var.evil}\")\"",
        "printf '%s' 'pre{var.evil}post'",
        "printf '%s' x{var.evil}y",
    };
    for (size_t t = 0; t < HM_ARRAY_LEN(tmpls); t++) {
        for (size_t v = 0; v < HM_ARRAY_LEN(evil); v++) {
            char *tmpl = xstrdup(tmpls[t]);
            hm_err e = {{0}};
            char *cmd = subst(tmpl, DRILL_SUBST_SHELL, evil[v], NULL, &e);
            if (!cmd) fail_msg("%s with %s: %s", tmpl, evil[v], e.msg);
            char *got = run_sh(cmd, dir);
            const char *pre = strstr(tmpl, "pre") ? "pre" : strstr(tmpl, "x{") ? "x" : "";
            const char *post = strstr(tmpl, "post") ? "post" : strstr(tmpl, "}y") ? "y" : "";
            char *want = xasprintf("%s%s%s", pre, evil[v], post);
            if (strcmp(got, want) != 0)
                fail_msg("template %s value [%s]: ran [%s], printed [%s]", tmpl, evil[v], cmd, got);
            char *pwned = xasprintf("%s/pwned", dir);
            if (access(pwned, F_OK) == 0) fail_msg("template %s value [%s] ran something", tmpl, evil[v]);
            free(pwned);
            free(want);
            free(got);
            free(cmd);
            free(tmpl);
        }
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordpress_plan),
        cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_plan_long_lines_and_semicolons),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_quote_hostile_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
