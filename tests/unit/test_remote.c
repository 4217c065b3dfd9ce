/* The remote components' parsers on the seed's sample outputs and malformed variants, the
 * framing of a poll's commands into one exec (also run through a real sh), and the SSH
 * library's pure helpers (fingerprints, shell quoting). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "collectors/host.h"
#include "collectors/remote.h"
#include "ssh/ssh.h"

static char *fixture(const char *name)
{
    char *path = xasprintf("%s/remote/%s", FIXTURES, name);
    char *text = hm_read_file(path, NULL, NULL);
    free(path);
    assert_non_null(text);
    return text;
}

static void near(double a, double b)
{
    if (fabs(a - b) > 0.01) fail_msg("%g is not %g", a, b);
}

/* ---- egisplus-cli agent check ---- */

static void test_agent_seed(void **state)
{
    /* the seed's sample byte for byte, its "##" annotations included */
    char *t = fixture("agent-check-seed.txt");
    remote_agent_check c;
    assert_true(remote_parse_agent_check(t, &c) >= 8);
    assert_int_equal(c.service_started, 1);
    assert_int_equal(c.iscsi_started, 1);
    assert_int_equal(c.registered, 1);
    assert_int_equal(c.protected_, 0);
    assert_true(c.has_heartbeat);
    near(c.heartbeat, 305);
    assert_string_equal(c.heartbeat_text, "305");
    assert_int_equal(c.n_fs, 2);
    assert_string_equal(c.fs[0].block, "/dev/dm-0");
    assert_string_equal(c.fs[0].mount, "/");
    assert_string_equal(c.fs[0].fs, "xfs");
    assert_string_equal(c.fs[0].path, "/dev/mapper/centos-root");
    near(c.fs[0].used_percent, 4);
    assert_true(c.fs[0].free_bytes == 185ULL * 1024 * 1024 * 1024);
    assert_string_equal(c.fs[1].mount, "/boot");
    near(c.fs[1].used_percent, 16);
    assert_true(c.fs[1].free_bytes == 853ULL * 1024 * 1024);
    remote_agent_check_free(&c);
    free(t);
}

static void test_agent_variants(void **state)
{
    char *t = fixture("agent-check-unregistered.txt");
    remote_agent_check c;
    assert_true(remote_parse_agent_check(t, &c) > 0);
    assert_int_equal(c.registered, 0);
    assert_int_equal(c.iscsi_started, 0);
    near(c.heartbeat, 0);
    assert_int_equal(c.n_fs, 1);
    assert_string_equal(c.fs[0].block, "/dev/mapper/ubuntu--vg-root");
    near(c.fs[0].used_percent, 91);
    remote_agent_check_free(&c);
    free(t);

    /* CRLF, a banner and a warning before, odd case and spacing, an unknown key, a
     * non-numeric heartbeat, a table row without '%' */
    t = fixture("agent-check-extra.txt");
    assert_true(remote_parse_agent_check(t, &c) > 0);
    assert_int_equal(c.service_started, 1);
    assert_int_equal(c.iscsi_started, 1);
    assert_int_equal(c.registered, 1);
    assert_int_equal(c.protected_, 0);
    assert_true(c.has_heartbeat);
    assert_true(isnan(c.heartbeat));
    assert_string_equal(c.heartbeat_text, "n/a");
    assert_int_equal(c.n_fs, 1);
    assert_string_equal(c.fs[0].mount, "/data");
    near(c.fs[0].used_percent, 73);
    remote_agent_check_free(&c);
    free(t);

    /* not the agent's output at all */
    t = fixture("agent-check-error.txt");
    assert_int_equal(remote_parse_agent_check(t, &c), 0);
    assert_int_equal(c.registered, -1);
    assert_false(c.has_heartbeat);
    remote_agent_check_free(&c);
    free(t);
    assert_int_equal(remote_parse_agent_check("", &c), 0);
    remote_agent_check_free(&c);
    /* a key without its value */
    assert_int_equal(remote_parse_agent_check("This agent is registered:\n", &c), 1);
    assert_int_equal(c.registered, 0);
    remote_agent_check_free(&c);
}

/* ---- docker-compose ps ---- */

static void expect_services(remote_service *v, int n, const char *const *names,
                            const char *const *states, const enum hm_state *health)
{
    for (int i = 0; i < n; i++) {
        assert_string_equal(v[i].name, names[i]);
        assert_string_equal(v[i].state, states[i]);
        assert_int_equal(v[i].health, health[i]);
    }
}

static const char *const hamal_states[] = {"Up (healthy)", "Up", "Up (unhealthy)", "Exit 1",
                                           "Restarting"};
static const enum hm_state hamal_health[] = {HM_OK, HM_OK, HM_CRITICAL, HM_CRITICAL, HM_CRITICAL};

static void test_compose_v1(void **state)
{
    static const char *const names[] = {"hamal_hamal-api_1", "hamal_hamal-period_1",
                                        "hamal_mysql_1", "hamal_worker_1", "hamal_redis_1"};
    char *t = fixture("compose-v1.txt");
    remote_service *v;
    hm_err e = {{0}};
    int n = remote_parse_compose(t, &v, &e);
    assert_int_equal(n, 5);
    expect_services(v, n, names, hamal_states, hamal_health);
    assert_null(v[0].service); /* the v1 table does not say */
    remote_services_free(v, n);
    free(t);

    /* the example of docker-compose's own documentation (two-space columns, truncated command) */
    t = fixture("compose-v1-docs.txt");
    n = remote_parse_compose(t, &v, &e);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "mywordpress_db_1");
    assert_string_equal(v[0].state, "Up (healthy)");
    assert_int_equal(v[0].health, HM_OK);
    assert_string_equal(v[1].state, "Restarting");
    assert_int_equal(v[1].health, HM_CRITICAL);
    remote_services_free(v, n);
    free(t);

    t = fixture("compose-v1-empty.txt");
    assert_int_equal(remote_parse_compose(t, &v, &e), 0);
    free(t);

    t = fixture("compose-error.txt");
    assert_int_equal(remote_parse_compose(t, &v, &e), -1);
    assert_non_null(strstr(e.msg, "no docker-compose ps header"));
    free(t);
}

static void test_compose_v2(void **state)
{
    static const char *const names[] = {"hamal-hamal-api-1", "hamal-hamal-period-1",
                                        "hamal-mysql-1", "hamal-worker-1", "hamal-redis-1"};
    static const char *const files[] = {"compose-v2-array.json", "compose-v2-lines.json"};
    for (size_t f = 0; f < 2; f++) {
        char *t = fixture(files[f]);
        remote_service *v;
        hm_err e = {{0}};
        int n = remote_parse_compose(t, &v, &e);
        assert_int_equal(n, 5);
        expect_services(v, n, names, hamal_states, hamal_health);
        assert_string_equal(v[0].service, "hamal-api");
        assert_string_equal(v[3].service, "worker");
        remote_services_free(v, n);
        free(t);
    }

    char *t = fixture("compose-v2-table.txt");
    remote_service *v;
    hm_err e = {{0}};
    int n = remote_parse_compose(t, &v, &e);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "hamal-hamal-api-1");
    assert_string_equal(v[0].service, "hamal-api");
    assert_string_equal(v[0].state, "Up (healthy)");
    assert_string_equal(v[1].state, "Exit 1");
    assert_int_equal(v[1].health, HM_CRITICAL);
    remote_services_free(v, n);
    free(t);

    t = fixture("compose-v2-truncated.json");
    assert_int_equal(remote_parse_compose(t, &v, &e), -1);
    assert_non_null(strstr(e.msg, "invalid JSON"));
    free(t);
    t = fixture("compose-v2-empty.json");
    assert_int_equal(remote_parse_compose(t, &v, &e), 0);
    free(t);
    /* compose 2.21+ prints nothing at all for an empty project */
    assert_int_equal(remote_parse_compose("\n", &v, &e), 0);
    /* valid JSON of the wrong shape */
    assert_int_equal(remote_parse_compose("{\"Name\": 3}\n", &v, &e), -1);
    assert_int_equal(remote_parse_compose("[1, 2]", &v, &e), -1);
    assert_int_equal(remote_parse_compose("[{\"Name\":\"x\",\"State\":\"paused\"}]", &v, &e), 1);
    assert_string_equal(v[0].state, "Paused");
    assert_int_equal(v[0].health, HM_CRITICAL);
    remote_services_free(v, 1);
    assert_int_equal(remote_parse_compose("[{\"Name\":\"x\",\"State\":\"running\","
                                          "\"Health\":\"starting\"}]",
                                          &v, &e),
                     1);
    assert_string_equal(v[0].state, "Up (health: starting)");
    assert_int_equal(v[0].health, HM_WARNING);
    remote_services_free(v, 1);
}

static void test_compose_state(void **state)
{
    static const struct { const char *in, *out; } cases[] = {
        {"Up 2 hours (healthy)", "Up (healthy)"},
        {"Up 3 seconds (health: starting)", "Up (health: starting)"},
        {"Up About a minute (unhealthy)", "Up (unhealthy)"},
        {"Up 5 days", "Up"},
        {"Up", "Up"},
        {"Exited (137) 2 minutes ago", "Exit 137"},
        {"Exit 0", "Exit 0"},
        {"Restarting (1) 4 seconds ago", "Restarting"},
        {"Up 2 hours (Paused)", "Paused"},
        {"Created", "Created"},
        {"  something new  ", "something new"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = remote_compose_state(cases[i].in);
        assert_string_equal(s, cases[i].out);
        free(s);
    }
}

/* ---- systemctl show, df -P, du -sk ---- */

static void test_systemctl_show(void **state)
{
    char *t = fixture("systemctl-show-gateway.txt");
    remote_unit *v;
    int n = remote_parse_systemctl_show(t, NULL, &v);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, "s3block.service");
    assert_string_equal(v[0].active_state, "active");
    assert_string_equal(v[0].sub_state, "running");
    assert_string_equal(v[1].id, "watchman.service");
    assert_string_equal(v[1].active_state, "failed");
    assert_string_equal(v[2].load_state, "not-found");
    assert_string_equal(v[2].sub_state, "dead");
    remote_units_free(v, n);
    free(t);

    /* no Id=: the names asked for, by position; properties in any order */
    strvec asked = {0};
    sv_split_list(&asked, "egisplus-agent.service, other.service");
    t = fixture("systemctl-show-noid.txt");
    n = remote_parse_systemctl_show(t, &asked, &v);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "egisplus-agent.service");
    assert_string_equal(v[1].id, "other.service");
    assert_string_equal(v[1].active_state, "inactive");
    assert_null(v[1].load_state);
    remote_units_free(v, n);
    free(t);
    sv_free(&asked);

    assert_int_equal(remote_parse_systemctl_show("Failed to connect to bus: No such file\n", NULL,
                                                 &v),
                     -1);
    assert_int_equal(remote_parse_systemctl_show("", NULL, &v), -1);
}

static void test_df(void **state)
{
    char *t = fixture("df-P.txt");
    remote_df *v;
    int n = remote_parse_df(t, &v);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].filesystem, "/dev/vda1");
    assert_string_equal(v[0].mount, "/");
    assert_true(v[0].size_kb == 102687672ULL && v[0].used_kb == 17827152ULL &&
                v[0].avail_kb == 80601356ULL);
    /* used / (used + available), as df's Capacity before rounding up */
    near(v[0].used_percent, 100.0 * 17827152 / (17827152.0 + 80601356.0));
    assert_string_equal(v[2].mount, "/var/lib/my data");
    near(v[2].used_percent, 100.0 * 46282456 / (46282456.0 + 2554736.0));
    remote_df_free(v, n);
    free(t);

    t = fixture("df-P-busybox.txt");
    n = remote_parse_df(t, &v);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].filesystem, "overlay");
    remote_df_free(v, n);
    free(t);

    t = fixture("df-error.txt");
    assert_int_equal(remote_parse_df(t, &v), -1);
    free(t);
    /* a header and a malformed row */
    assert_int_equal(remote_parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                                     "/dev/x 10 five 5 50% /\n",
                                     &v),
                     0);
    remote_df_free(v, 0);
}

static void test_du(void **state)
{
    assert_true(remote_parse_du("188\t/var/log/hamal\n") == 188 * 1024);
    assert_true(remote_parse_du("0\t/x\n") == 0);
    assert_true(remote_parse_du("du: cannot access '/var/log/hamal': No such file\n") == -1);
    assert_true(remote_parse_du("") == -1);
    assert_true(remote_parse_du("12abc /x") == -1);
}

/* ---- the combined /proc section: stat, meminfo and loadavg in one cat ---- */

static void test_proc_combined(void **state)
{
    strbuf sb = {0};
    static const char *const files[] = {"stat", "meminfo", "loadavg"};
    for (size_t i = 0; i < 3; i++) {
        char *path = xasprintf("%s/proc/%s", FIXTURES, files[i]);
        char *t = hm_read_file(path, NULL, NULL);
        assert_non_null(t);
        sb_adds(&sb, t);
        free(t);
        free(path);
    }
    hm_cpu_times c;
    assert_int_equal(host_parse_stat(sb.buf, &c), 0);
    assert_int_equal(c.busy, 15205 + 0 + 12371 + 0 + 184 + 80);
    double pct;
    uint64_t total, avail;
    assert_int_equal(host_parse_meminfo(sb.buf, &pct, &total, &avail), 0);
    assert_int_equal(total, 24682416ULL * 1024);
    sb_free(&sb);
}

/* ---- framing ---- */

static void test_script_text(void **state)
{
    remote_script rs = {.command_timeout_ms = 2500};
    remote_script_add(&rs, "proc", "cat /proc/loadavg");
    remote_script_add(&rs, "agent", "$t egisplus-cli agent check");
    char *text = remote_script_text(&rs);
    /* run by the login shell as `sh -c '...'`, every quote of the body escaped */
    assert_true(hm_starts_with(text, "sh -c '"));
    assert_non_null(strstr(text, "t='\\''timeout 3'\\''")); /* 2.5 s rounds up */
    assert_non_null(strstr(text, "hmctl-begin agent"));
    assert_non_null(strstr(text, "$t egisplus-cli agent check"));
    free(text);
    remote_script_free(&rs);
}

static void test_script_split(void **state)
{
    remote_script rs = {.command_timeout_ms = 1000};
    remote_script_add(&rs, "a", "x");
    remote_script_add(&rs, "b", "x");
    remote_script_add(&rs, "c", "x");
    remote_script_add(&rs, "d", "x");
    const char *out = "Welcome to a noisy login banner\n"
                      "\036hmctl-begin a\nline 1\nline 2\n\n\036hmctl-end a 0\n"
                      "\036hmctl-begin b\n\n\036hmctl-end b 127\n"
                      "\036hmctl-begin c\nno newline\n\036hmctl-end c 3\n"
                      "\036hmctl-begin d\npartial output, then the cut";
    const char *err = "\036hmctl-begin a\n\036hmctl-begin b\nsh: 1: b: not found\n"
                      "\036hmctl-begin c\nwarning without newline\036hmctl-begin d\n";
    remote_script_split(&rs, out, err);
    remote_section *a = remote_script_get(&rs, "a"), *b = remote_script_get(&rs, "b"),
                   *c = remote_script_get(&rs, "c"), *d = remote_script_get(&rs, "d");
    assert_true(a->finished && a->rc == 0);
    assert_string_equal(sb_str(&a->out), "line 1\nline 2\n");
    assert_string_equal(sb_str(&a->err), "");
    assert_true(b->finished && b->rc == 127);
    assert_string_equal(sb_str(&b->out), "");
    assert_string_equal(sb_str(&b->err), "sh: 1: b: not found\n");
    assert_true(c->finished && c->rc == 3);
    assert_string_equal(sb_str(&c->out), "no newline");
    assert_string_equal(sb_str(&c->err), "warning without newline");
    assert_true(d->started);
    assert_false(d->finished);
    assert_int_equal(d->rc, -1);
    assert_string_equal(sb_str(&d->out), "partial output, then the cut");
    remote_script_free(&rs);

    /* nothing arrived at all */
    remote_script rs2 = {0};
    remote_script_add(&rs2, "a", "x");
    remote_script_split(&rs2, NULL, NULL);
    assert_false(remote_script_get(&rs2, "a")->started);
    remote_script_free(&rs2);
}

/* The script through a real sh, as the host's login shell would run it. */
static void test_script_in_sh(void **state)
{
    char dir[] = "/tmp/hmctl-test-remote.XXXXXX";
    assert_non_null(mkdtemp(dir));
    remote_script rs = {.command_timeout_ms = 1000};
    remote_script_add(&rs, "hello", "echo 'it''s here'; echo to-stderr >&2");
    remote_script_add(&rs, "fail", "sh -c 'exit 3'");
    remote_script_add(&rs, "missing", "hmctl-no-such-command-here");
    remote_script_add(&rs, "hang", "$t sleep 5");
    remote_script_add(&rs, "after", "printf 'still runs'");
    char *text = remote_script_text(&rs);
    char *cmd = xasprintf("%s >%s/out 2>%s/err", text, dir, dir);
    int64_t start = time(NULL);
    assert_int_equal(system(cmd), 0);
    bool have_timeout = system("command -v timeout >/dev/null 2>&1") == 0;
    if (have_timeout) assert_true(time(NULL) - start < 4);
    char *p = xasprintf("%s/out", dir), *q = xasprintf("%s/err", dir);
    char *out = hm_read_file(p, NULL, NULL), *err = hm_read_file(q, NULL, NULL);
    remote_script_split(&rs, out, err);
    remote_section *s = remote_script_get(&rs, "hello");
    assert_int_equal(s->rc, 0);
    assert_string_equal(sb_str(&s->out), "its here\n");
    assert_string_equal(sb_str(&s->err), "to-stderr\n");
    assert_int_equal(remote_script_get(&rs, "fail")->rc, 3);
    assert_int_equal(remote_script_get(&rs, "missing")->rc, 127);
    if (have_timeout) assert_int_equal(remote_script_get(&rs, "hang")->rc, 124);
    assert_string_equal(sb_str(&remote_script_get(&rs, "after")->out), "still runs");
    free(out);
    free(err);
    unlink(p);
    unlink(q);
    rmdir(dir);
    free(p);
    free(q);
    free(cmd);
    free(text);
    remote_script_free(&rs);
}

/* ---- ssh helpers ---- */

static void test_fingerprint(void **state)
{
    /* SHA-256 of the empty string; OpenSSH prints it unpadded */
    static const unsigned char sha[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
    char fp[64];
    hm_ssh_fingerprint(sha, fp, sizeof fp);
    assert_string_equal(fp, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
}

static void test_quote(void **state)
{
    char *q = hm_sh_quote("it's /opt/my dir");
    assert_string_equal(q, "'it'\\''s /opt/my dir'");
    free(q);
    q = hm_sh_quote("");
    assert_string_equal(q, "''");
    free(q);
}

static void test_roles_and_hosts(void **state)
{
    enum remote_role r;
    assert_int_equal(remote_role_parse("linux_agent", &r), 0);
    assert_int_equal(r, REMOTE_LINUX_AGENT);
    assert_string_equal(remote_role_title(REMOTE_GATEWAY), "Cloud Sync Gateway");
    assert_int_equal(remote_role_parse("windows", &r), -1);
    assert_true(remote_is_role_kind("sync_proxy"));
    assert_false(remote_is_role_kind("container"));

    hm_config *cfg = config_new();
    config_parse_text(cfg, "t.conf",
                      "[ssh]\nusername = ops\nkey = /etc/hmctl/id_ed25519\nconnect_timeout = 3s\n"
                      "[host \"gw-1\"]\nrole = gateway\naddress = 10.0.0.9\nport = 2222\n"
                      "command_timeout = 4s\nknown_hosts = /tmp/kh\n"
                      "[host \"agent-1\"]\nrole = linux_agent\naddress = 10.0.0.8\n"
                      "username = root\npassword_file = /nonexistent/pw\n",
                      0600);
    assert_int_equal(cfg->errors.n, 0);
    remote_host h;
    hm_err e = {{0}};
    assert_int_equal(remote_host_load(cfg, "gw-1", &h, &e), 0);
    assert_int_equal(h.role, REMOTE_GATEWAY);
    assert_string_equal(h.target.username, "ops");
    assert_string_equal(h.target.key_file, "/etc/hmctl/id_ed25519");
    assert_string_equal(h.target.known_hosts, "/tmp/kh");
    assert_int_equal(h.target.port, 2222);
    assert_int_equal(h.target.connect_timeout_ms, 3000);
    assert_int_equal(h.command_timeout_ms, 4000);
    remote_host_free(&h);
    /* an unreadable password file is an error that names it; the host is still described */
    assert_int_equal(remote_host_load(cfg, "agent-1", &h, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/pw"));
    assert_string_equal(h.target.username, "root");
    assert_int_equal(h.command_timeout_ms, 10000);
    remote_host_free(&h);
    /* the budget: connecting and opening a channel, the commands, their grace and reporting */
    assert_true(remote_budget_ms(cfg) == 2 * 3000 + 10000 + 3000);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_seed),      cmocka_unit_test(test_agent_variants),
        cmocka_unit_test(test_compose_v1),      cmocka_unit_test(test_compose_v2),
        cmocka_unit_test(test_compose_state),   cmocka_unit_test(test_systemctl_show),
        cmocka_unit_test(test_df),              cmocka_unit_test(test_du),
        cmocka_unit_test(test_proc_combined),   cmocka_unit_test(test_script_text),
        cmocka_unit_test(test_script_split),    cmocka_unit_test(test_script_in_sh),
        cmocka_unit_test(test_fingerprint),     cmocka_unit_test(test_quote),
        cmocka_unit_test(test_roles_and_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
