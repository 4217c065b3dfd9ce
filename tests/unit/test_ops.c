/* reload, upgrade and logs collect without a Docker Engine: the create body of a recreated
 * container, a failed reload's audit row, log stream demultiplexing, version order, secret masking on the seed's sample
 * configurations (tests/fixtures/logs), upgrades and rollbacks on a temporary installer tree
 * with a stand-in for the service restart, and a log bundle read back with libarchive. */
#include <archive.h>
#include <fcntl.h>
#include <archive_entry.h>
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

#include "ops/audit.h"
#include "ops/container.h"
#include "ops/fsutil.h"
#include "ops/logs.h"
#include "ops/mask.h"
#include "ops/reload.h"
#include "ops/remote.h"
#include "ops/upgrade.h"
#include "tests/unit/testsrv.h"

/* Helpers */

static char *tmpdir_new(void)
{
    char *t = xstrdup("/tmp/hmctl-test-ops.XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static void put(const char *path, const char *text)
{
    char *dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(fs_mkdir_p(dir, 0755, NULL), 0);
    free(dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    char *t = hm_read_file(path, NULL, NULL);
    assert_non_null(t);
    return t;
}

/* Container create body */

static const char *inspect_json =
    "{\"Id\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    " \"Name\": \"/hyperbdr-ant-api-1\","
    " \"State\": {\"Status\": \"running\", \"Running\": true},"
    " \"Config\": {\"Hostname\": \"0123456789ab\", \"Image\": \"hyperbdr/ant:6.4\","
    "   \"Cmd\": [\"ant-api\"], \"Env\": [\"A=1\"],"
    "   \"Labels\": {\"com.docker.compose.project\": \"hyperbdr\","
    "                \"com.docker.compose.service\": \"ant-api\"},"
    "   \"Volumes\": {\"/data\": {}, \"/cache\": {}},"
    "   \"Healthcheck\": {\"Test\": [\"CMD\", \"true\"]}},"
    " \"HostConfig\": {\"NetworkMode\": \"hyperbdr_default\","
    "   \"Binds\": [\"/opt/installer/production/venvs/ant:/venv:ro\"],"
    "   \"RestartPolicy\": {\"Name\": \"always\"}},"
    " \"Mounts\": ["
    "   {\"Type\": \"bind\", \"Source\": \"/opt/installer/production/venvs/ant\","
    "    \"Destination\": \"/venv\", \"RW\": false},"
    "   {\"Type\": \"volume\","
    "    \"Name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    "    \"Source\": \"/var/lib/docker/volumes/aaaa/_data\", \"Destination\": \"/data\", \"RW\": true},"
    "   {\"Type\": \"volume\", \"Name\": \"named\", \"Source\": \"/x\", \"Destination\": \"/cache\","
    "    \"RW\": true}],"
    " \"NetworkSettings\": {\"Networks\": {"
    "   \"hyperbdr_default\": {\"Aliases\": [\"ant-api\", \"0123456789ab\"], \"IPAMConfig\": null},"
    "   \"backend\": {\"Aliases\": [\"ant\"]}}}}";

static void test_create_body(void **state)
{
    json_t *in = json_loads(inspect_json, 0, NULL);
    assert_non_null(in);
    json_t *extra = NULL;
    hm_err e = {{0}};
    json_t *body = container_create_body(in, &extra, &e);
    assert_non_null(body);
    /* The derived hostname goes; image by name, command, labels and health check stay. */
    assert_null(json_object_get(body, "Hostname"));
    assert_string_equal(json_string_value(json_object_get(body, "Image")), "hyperbdr/ant:6.4");
    json_t *labels = json_object_get(body, "Labels");
    assert_string_equal(json_string_value(json_object_get(labels, "com.docker.compose.service")),
                        "ant-api");
    assert_non_null(json_object_get(body, "Healthcheck"));
    json_t *hc = json_object_get(body, "HostConfig");
    assert_string_equal(json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name")),
                        "always");
    /* The anonymous volume is re-attached by name, the named one is left to Docker. */
    json_t *binds = json_object_get(hc, "Binds");
    assert_int_equal(json_array_size(binds), 2);
    assert_string_equal(json_string_value(json_array_get(binds, 1)),
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:/data");
    /* The network of the mode at creation, without the old id as alias; the other after. */
    json_t *eps = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
    json_t *aliases = json_object_get(json_object_get(eps, "hyperbdr_default"), "Aliases");
    assert_int_equal(json_array_size(aliases), 1);
    assert_string_equal(json_string_value(json_array_get(aliases, 0)), "ant-api");
    assert_null(json_object_get(eps, "backend"));
    assert_int_equal(json_array_size(extra), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(extra, 0), "name")), "backend");
    strvec src = {0};
    container_mount_sources(in, &src);
    assert_int_equal(src.n, 3);
    assert_string_equal(src.v[0], "/opt/installer/production/venvs/ant");
    sv_free(&src);
    json_decref(body);
    json_decref(extra);
    json_decref(in);

    json_t *bad = json_loads("{\"Id\": \"x\"}", 0, NULL);
    assert_null(container_create_body(bad, NULL, &e));
    assert_non_null(strstr(e.msg, "lacks"));
    json_decref(bad);
}

static void test_demux(void **state)
{
    const char frames[] = "\x01\0\0\0\0\0\0\x06hello\n\x02\0\0\0\0\0\0\x04oops\x01\0\0\0\0\0\0\x09partial";
    size_t len = sizeof frames - 1;
    strbuf out = {0};
    size_t used = container_demux(frames, len, &out);
    assert_string_equal(sb_str(&out), "hello\noops");
    assert_int_equal(used, 8 + 6 + 8 + 4); /* the last frame is incomplete */
    sb_free(&out);
    /* A TTY stream has no headers: kept as it is. */
    used = container_demux("plain text\n", 11, &out);
    assert_int_equal(used, 11);
    assert_string_equal(sb_str(&out), "plain text\n");
    sb_free(&out);
    used = container_demux("", 0, &out);
    assert_int_equal(used, 0);
    sb_free(&out);
}

/* Versions */

static void test_versions(void **state)
{
    assert_true(upgrade_version_compare("v6.4.0", "6.4.1") < 0);
    assert_true(upgrade_version_compare("6.10.0", "6.9.9") > 0);
    assert_true(upgrade_version_compare("6.4.0", "v6.4.0") == 0);
    assert_true(upgrade_version_compare("6.4.0_20250430-1079", "6.4.0_20250501-1080") < 0);
    assert_true(upgrade_version_compare("HyperBDR_release_v6.4.0_20250430", "6.4.0") > 0);
    assert_true(upgrade_version_compare("6.4", "6.4.0") < 0);
    assert_true(upgrade_version_compare("6.04", "6.4") == 0);
    assert_true(upgrade_version_compare("", "1") < 0);
}

/* Masking */

/* The secrets of the seed's samples. */
static const char *const seed_secrets[] = {
    "fs82BgKdU2QTr4Oy", "antPass", "315d65ca-ef28-4e63-ad72-1260a91adf23",
    "wCi7qC8RlFydraCugWWa", "TH5g4gbJKsK2YEsBLj7GaFpbWTiGYarRQSu1B59t",
    "da8aae5b-facb-452f-8161-5c866f8fafaa",
};

static char *mask_fixture(const char *name, int *count)
{
    char path[512];
    snprintf(path, sizeof path, FIXTURES "/logs/%s", name);
    size_t len;
    char *text = hm_read_file(path, &len, NULL);
    assert_non_null(text);
    strbuf out = {0};
    *count = mask_text(text, len, &out);
    free(text);
    return sb_detach(&out);
}

static void test_mask_seed_samples(void **state)
{
    static const struct {
        const char *file;
        int count;
        const char *const kept[4];
    } cases[] = {
        {"ant.conf", 2,
         {"transport_url = rabbit://guest:********@rabbitmq:5672// # RabbitMQ连接URL",
          "connection = mysql://ant:********@mysql:3306/ant?charset=utf8 # MySQL",
          "OWL_BASE_URL = \"http://owl-api:16700\" # OWL", NULL}},
        {"hamal.conf", 1,
         {"auth_key = ******** # 鉴权使用的密钥", "public_key_path = /etc/hamal/public_key #",
          "hyper_exporter_id = aaeb0d1fbbb14093837fb5f900b9f8ce", NULL}},
        {"config.ini", 2,
         {"AccessKey = ******** # S3访问密钥", "SecretKey = ******** # S3密钥",
          "ClientKeyFile = /var/lib/egisplus-agent/client_key_file #", "ServerKeyFile = #"}},
        {"s3block_config.ini", 2,
         {"accessKey = ******** # 对象存储服务的访问密钥(Access Key)",
          "secretAccessKey = ******** # 对象存储服务的密钥(Secret Access Key)",
          "endpoint = https://192.168.14.65:13260 #", NULL}},
        {"Sysconfig.ini", 1, {"SYNC_NODE_KEY =********\n", "HM_URL =https://192.168.7.141", NULL}},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(cases); i++) {
        int count;
        char *out = mask_fixture(cases[i].file, &count);
        if (count != cases[i].count) fail_msg("%s: %d values masked, not %d", cases[i].file, count,
                                              cases[i].count);
        for (size_t k = 0; k < HM_ARRAY_LEN(seed_secrets); k++)
            if (strstr(out, seed_secrets[k])) fail_msg("%s: %s not masked", cases[i].file, seed_secrets[k]);
        for (size_t k = 0; k < 4 && cases[i].kept[k]; k++)
            if (!strstr(out, cases[i].kept[k]))
                fail_msg("%s: no '%s' in:\n%s", cases[i].file, cases[i].kept[k], out);
        free(out);
    }
}

static char *mask1(const char *line, int *count)
{
    strbuf out = {0};
    *count = mask_text(line, strlen(line), &out);
    return sb_detach(&out);
}

static void test_mask_forms(void **state)
{
    static const struct {
        const char *in, *out;
        int count;
    } cases[] = {
        {"password=abc", "password=********", 1},
        {"PASSWORD = abc ; note", "PASSWORD = ******** ; note", 1},
        {"Passwd: abc", "Passwd: ********", 1},
        {"  \"token\": \"abc def\",", "  \"token\": \"********\",", 1},
        {"requirepass s3cr3t", "requirepass ********", 1},
        {"# password = old", "# password = ********", 1},
        {"password =", "password =", 0},
        {"password_file = /etc/hmctl/x.password", "password_file = /etc/hmctl/x.password", 0},
        {"secret = a#b", "secret = ********", 1},
        {"url = https://user:pw@host/x?user=a&password=b&q=1",
         "url = https://user:********@host/x?user=a&password=********&q=1", 2},
        {"12:00:01 INFO login token=abc ok", "12:00:01 INFO login token=******** ok", 1},
        {"amqp://guest@host", "amqp://guest@host", 0},
        {"a\r\nsecret=x\r\n", "a\r\nsecret=********\r\n", 1},
        {"debug = False # 是否开启调试模式", "debug = False # 是否开启调试模式", 0},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(cases); i++) {
        int count;
        char *out = mask1(cases[i].in, &count);
        if (strcmp(out, cases[i].out) != 0 || count != cases[i].count)
            fail_msg("'%s' -> '%s' (%d), expected '%s' (%d)", cases[i].in, out, count, cases[i].out,
                     cases[i].count);
        free(out);
    }
    assert_true(mask_is_secret_key("secretAccessKey", 15));
    assert_true(mask_is_secret_key("auth_key", 8));
    assert_false(mask_is_secret_key("public_key_path", 15));
    assert_false(mask_is_secret_key("gateway_uuid", 12));
}

/* Upgrade on a temporary installer tree */

struct fake {
    int restarts;
    int fail_at;      /* restart number that fails, 0 never */
    strvec lines;
    int64_t next_id;
    strvec audit;     /* "action from to: result" */
};

static void fake_say(void *ud, const char *line)
{
    sv_push(&((struct fake *)ud)->lines, line);
}

static int fake_restart(void *ud, const upgrade_paths *p, hm_err *e)
{
    struct fake *f = ud;
    f->restarts++;
    if (f->fail_at && f->restarts == f->fail_at)
        return hm_err_set(e, "service 'ant-api': 'ant-api' is unhealthy: no module named ant");
    return 0;
}

static int64_t fake_begin(void *ud, const char *action, const char *from, const char *to,
                          const char *detail)
{
    struct fake *f = ud;
    sv_push_owned(&f->audit, xasprintf("%s %s %s", action, from ? from : "-", to ? to : "-"));
    return ++f->next_id;
}

static void fake_finish(void *ud, int64_t id, const char *result, const char *detail)
{
    struct fake *f = ud;
    char *s = xasprintf("%s: %s", f->audit.v[id - 1], result);
    free(f->audit.v[id - 1]);
    f->audit.v[id - 1] = s;
}

static void fake_free(struct fake *f)
{
    sv_free(&f->lines);
    sv_free(&f->audit);
}

/* An installer tree at T/production (version 6.4.0, venvs ant and porter) and a package at
 * T/pkg/installer/venvs (version 6.5.0 in the venvs). */
static hm_config *make_tree(const char *t)
{
    char p[512];
    snprintf(p, sizeof p, "%s/production/venvs/ant/pyvenv.cfg", t);
    put(p, "home = /usr/bin\n");
    snprintf(p, sizeof p, "%s/production/venvs/ant/lib/ant.py", t);
    put(p, "VERSION = 'old'\n");
    snprintf(p, sizeof p, "%s/production/venvs/porter/pyvenv.cfg", t);
    put(p, "home = /usr/bin\n");
    snprintf(p, sizeof p, "%s/production/venvs/ant/bin/python", t);
    char *dir = xstrdup(p);
    *strrchr(dir, '/') = '\0';
    fs_mkdir_p(dir, 0755, NULL);
    free(dir);
    assert_int_equal(symlink("/usr/bin/python3", p), 0);
    snprintf(p, sizeof p, "%s/production/version", t);
    put(p, "6.4.0\n");
    snprintf(p, sizeof p, "%s/production/config/ant/ant.conf", t);
    put(p, "[database]\nconnection = mysql://ant:antPass@mysql:3306/ant\n");
    snprintf(p, sizeof p, "%s/pkg/installer/venvs/ant/pyvenv.cfg", t);
    put(p, "home = /usr/bin\n");
    snprintf(p, sizeof p, "%s/pkg/installer/venvs/ant/lib/ant.py", t);
    put(p, "VERSION = 'new'\n");
    snprintf(p, sizeof p, "%s/pkg/installer/venvs/version", t);
    put(p, "6.5.0\n");
    hm_config *c = config_new();
    char *text = xasprintf("[installer]\ndir = %s/production\n", t);
    config_parse_text(c, "t.conf", text, 0600);
    free(text);
    assert_int_equal(c->errors.n, 0);
    return c;
}

static void test_package_read(void **state)
{
    char *t = tmpdir_new();
    hm_config *c = make_tree(t);
    upgrade_package pkg;
    hm_err e = {{0}};
    char *d = xasprintf("%s/pkg/installer/venvs", t);
    assert_int_equal(upgrade_package_read(d, &pkg, &e), 0);
    assert_string_equal(pkg.version, "6.5.0");
    assert_int_equal(pkg.services.n, 1);
    assert_string_equal(pkg.services.v[0], "ant");
    upgrade_package_free(&pkg);
    free(d);
    /* The installer directory holding venvs/ is accepted; the version beside venvs/ too. */
    d = xasprintf("%s/pkg/installer", t);
    char *vf = xasprintf("%s/pkg/installer/venvs/version", t), *vf2 = xasprintf("%s/pkg/installer/version", t);
    assert_int_equal(rename(vf, vf2), 0);
    assert_int_equal(upgrade_package_read(d, &pkg, &e), 0);
    assert_string_equal(pkg.version_file, vf2);
    upgrade_package_free(&pkg);
    assert_int_equal(rename(vf2, vf), 0);
    free(vf);
    free(vf2);
    free(d);
    d = xasprintf("%s/production/config", t);
    assert_int_equal(upgrade_package_read(d, &pkg, &e), -1);
    assert_non_null(strstr(e.msg, "no service virtual environment"));
    free(d);
    d = xasprintf("%s/nonexistent", t);
    assert_int_equal(upgrade_package_read(d, &pkg, &e), -1);
    assert_non_null(strstr(e.msg, "No such file"));
    free(d);
    fs_remove_tree(t, NULL);
    free(t);
    config_free(c);
}

static void test_upgrade_and_rollback(void **state)
{
    char *t = tmpdir_new();
    hm_config *c = make_tree(t);
    upgrade_paths p;
    upgrade_paths_init(&p, c);
    struct fake f = {0};
    upgrade_hooks h = {fake_say, fake_restart, fake_begin, fake_finish, &f};
    upgrade_package pkg;
    char *d = xasprintf("%s/pkg/installer/venvs", t);
    hm_err e = {{0}};
    assert_int_equal(upgrade_package_read(d, &pkg, &e), 0);
    upgrade_result r;

    /* A successful upgrade: new files and version, a backup, one restart. */
    assert_int_equal(upgrade_run(&p, &pkg, false, 5, &h, &r, &e), 0);
    char *ant = xasprintf("%s/ant/lib/ant.py", p.venvs);
    char *text = slurp(ant);
    assert_string_equal(text, "VERSION = 'new'\n");
    free(text);
    text = slurp(p.version);
    assert_string_equal(text, "6.5.0\n");
    free(text);
    assert_false(fs_exists(p.staging));
    assert_false(fs_exists(p.journal));
    assert_int_equal(f.restarts, 1);
    assert_string_equal(f.audit.v[0], "upgrade 6.4.0 6.5.0: ok");
    upgrade_backup *v;
    int n = upgrade_backups_list(&p, &v, &e);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].version, "6.4.0");
    char *bk = xasprintf("%s/config/ant/ant.conf", v[0].path);
    assert_true(fs_exists(bk));
    free(bk);
    bk = xasprintf("%s/venvs/ant/bin/python", v[0].path);
    char target[256] = "";
    assert_true(readlink(bk, target, sizeof target) > 0);
    assert_string_equal(target, "/usr/bin/python3");
    free(bk);
    upgrade_backups_free(v, n);
    upgrade_result_free(&r);

    /* The same version again is refused, and so is an older one. */
    assert_int_equal(upgrade_run(&p, &pkg, false, 5, &h, &r, &e), -1);
    assert_non_null(strstr(e.msg, "not newer than the installed 6.5.0"));
    upgrade_result_free(&r);

    /* A package whose services fail: rolled back, files byte-identical, restarted twice. */
    char *vf = xasprintf("%s/version", d);
    put(vf, "6.6.0\n");
    char *inst = xasprintf("%s/ant/lib/ant.py", pkg.venvs);
    put(inst, "VERSION = 'broken'\n");
    free(inst);
    upgrade_package_free(&pkg);
    assert_int_equal(upgrade_package_read(d, &pkg, &e), 0);
    f.fail_at = f.restarts + 1;
    assert_int_equal(upgrade_run(&p, &pkg, false, 5, &h, &r, &e), -1);
    assert_true(r.rolled_back);
    assert_non_null(strstr(e.msg, "rolled back to 6.5.0"));
    assert_non_null(strstr(r.reason, "unhealthy"));
    text = slurp(ant);
    assert_string_equal(text, "VERSION = 'new'\n");
    free(text);
    text = slurp(p.version);
    assert_string_equal(text, "6.5.0\n");
    free(text);
    assert_non_null(strstr(f.audit.v[1], "upgrade 6.5.0 6.6.0: rolled back"));
    upgrade_result_free(&r);

    /* --rollback restores the newest backup (6.5.0, made before the failed upgrade)... */
    f.fail_at = 0;
    assert_int_equal(upgrade_rollback(&p, NULL, &h, &r, &e), 0);
    assert_string_equal(r.to, "6.5.0");
    upgrade_result_free(&r);
    /* ... and a named one, the first: 6.4.0. */
    n = upgrade_backups_list(&p, &v, &e);
    assert_int_equal(n, 2);
    assert_int_equal(upgrade_rollback(&p, v[1].name, &h, &r, &e), 0);
    text = slurp(ant);
    assert_string_equal(text, "VERSION = 'old'\n");
    free(text);
    text = slurp(p.version);
    assert_string_equal(text, "6.4.0\n");
    free(text);
    upgrade_result_free(&r);
    assert_int_equal(upgrade_rollback(&p, "nope", &h, &r, &e), -1);
    assert_non_null(strstr(e.msg, "no backup named 'nope'"));
    upgrade_result_free(&r);
    upgrade_backups_free(v, n);

    /* A journal left by a run killed after the swap blocks the next upgrade. */
    put(p.journal, "action=upgrade\nfrom=6.4.0\nto=6.6.0\nbackup=X\nphase=swapped\naudit=0\n");
    assert_int_equal(upgrade_run(&p, &pkg, false, 5, &h, &r, &e), -1);
    assert_non_null(strstr(e.msg, "an interrupted upgrade from 6.4.0 to 6.6.0"));
    upgrade_result_free(&r);
    /* One killed before the swap is cleaned up. */
    put(p.journal, "action=upgrade\nfrom=6.4.0\nto=6.6.0\nbackup=X\nphase=installing\naudit=0\n");
    char *junk = xasprintf("%s/ant/half", p.staging);
    put(junk, "x");
    free(junk);
    f.fail_at = 0;
    assert_int_equal(upgrade_run(&p, &pkg, false, 2, &h, &r, &e), 0);
    assert_false(fs_exists(p.journal));
    upgrade_result_free(&r);
    /* keep_backups = 2 pruned the oldest. */
    n = upgrade_backups_list(&p, &v, &e);
    assert_int_equal(n, 2);
    upgrade_backups_free(v, n);

    free(vf);
    free(ant);
    free(d);
    upgrade_package_free(&pkg);
    upgrade_paths_free(&p);
    fake_free(&f);
    fs_remove_tree(t, NULL);
    free(t);
    config_free(c);
}

static void test_downgrade_and_disk(void **state)
{
    char *t = tmpdir_new();
    hm_config *c = make_tree(t);
    upgrade_paths p;
    upgrade_paths_init(&p, c);
    struct fake f = {0};
    upgrade_hooks h = {fake_say, fake_restart, NULL, NULL, &f};
    char *vf = xasprintf("%s/pkg/installer/venvs/version", t);
    put(vf, "6.3.0\n");
    char *d = xasprintf("%s/pkg/installer/venvs", t);
    upgrade_package pkg;
    hm_err e = {{0}};
    upgrade_result r;
    assert_int_equal(upgrade_package_read(d, &pkg, &e), 0);
    assert_int_equal(upgrade_run(&p, &pkg, false, 0, &h, &r, &e), -1);
    assert_non_null(strstr(e.msg, "package version 6.3.0 is not newer than the installed 6.4.0"));
    assert_int_equal(f.restarts, 0);
    upgrade_result_free(&r);
    assert_int_equal(upgrade_run(&p, &pkg, true, 0, &h, &r, &e), 0);
    upgrade_result_free(&r);
    /* A missing installed version needs --allow-downgrade too. */
    unlink(p.version);
    put(vf, "7.0.0\n");
    upgrade_package_free(&pkg);
    assert_int_equal(upgrade_package_read(d, &pkg, &e), 0);
    assert_int_equal(upgrade_run(&p, &pkg, false, 0, &h, &r, &e), -1);
    assert_non_null(strstr(e.msg, "cannot read the installed version"));
    upgrade_result_free(&r);
    upgrade_package_free(&pkg);
    upgrade_paths_free(&p);
    fake_free(&f);
    free(vf);
    free(d);
    fs_remove_tree(t, NULL);
    free(t);
    config_free(c);
}

/* Logs */

struct entry {
    char *path;
    size_t size;
    char *data;
};

/* Reads every entry of a tar.gz. */
static size_t read_archive(const char *path, struct entry *out, size_t max)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
    struct archive_entry *en;
    size_t n = 0;
    while (n < max && archive_read_next_header(a, &en) == ARCHIVE_OK) {
        out[n].path = xstrdup(archive_entry_pathname(en));
        out[n].size = (size_t)archive_entry_size(en);
        out[n].data = xmalloc(out[n].size + 1);
        la_ssize_t got = archive_read_data(a, out[n].data, out[n].size);
        assert_int_equal((size_t)got, out[n].size);
        out[n].data[out[n].size] = '\0';
        n++;
    }
    archive_read_free(a);
    return n;
}

static const struct entry *find_entry(const struct entry *v, size_t n, const char *suffix)
{
    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(v[i].path), b = strlen(suffix);
        if (a >= b && strcmp(v[i].path + a - b, suffix) == 0) return &v[i];
    }
    return NULL;
}

static void test_logs_collect(void **state)
{
    char *t = tmpdir_new();
    char p[512];
    snprintf(p, sizeof p, "%s/production/config/ant/ant.conf", t);
    char *ant = slurp(FIXTURES "/logs/ant.conf");
    put(p, ant);
    free(ant);
    snprintf(p, sizeof p, "%s/production/logs/ant-api/ant-api.log", t);
    put(p, "first line\nconnecting to mysql://ant:antPass@mysql:3306/ant\nlast line\n");
    snprintf(p, sizeof p, "%s/production/logs/big.log", t);
    strbuf big = {0};
    for (int i = 0; i < 400; i++) sb_addf(&big, "line %03d of the big log\n", i);
    put(p, sb_str(&big));
    sb_free(&big);
    snprintf(p, sizeof p, "%s/production/logs/old.log", t);
    put(p, "old\n");
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    utimensat(AT_FDCWD, p, old, 0);
    snprintf(p, sizeof p, "%s/production/logs/core.bin", t);
    FILE *bin = fopen(p, "w");
    fwrite("\0\1\2", 1, 3, bin);
    fclose(bin);
    snprintf(p, sizeof p, "%s/production/logs/link.log", t);
    assert_int_equal(symlink("ant-api/ant-api.log", p), 0);
    snprintf(p, sizeof p, "%s/hamal/etc/hamal.conf", t);
    char *hamal = slurp(FIXTURES "/logs/hamal.conf");
    put(p, hamal);
    free(hamal);
    snprintf(p, sizeof p, "%s/hamal/log/hamal-period.log", t);
    put(p, "sync ok\nauth_key=315d65ca-ef28-4e63-ad72-1260a91adf23\n");

    hm_config *c = config_new();
    char *text = xasprintf(
        "[installer]\ndir = %s/production\nlog_dirs = %s/production/logs\n"
        "[docker]\nsocket = %s/no-docker.sock\n"
        "[logs]\nmax_file_size = 2K\nproxy_paths = %s/hamal/etc/hamal.conf, %s/hamal/log\n"
        "agent_paths = %s/agent/config.ini\n"
        "[host \"proxy-1\"]\nrole = sync_proxy\naddress = 192.0.2.5\n",
        t, t, t, t, t, t);
    config_parse_text(c, "t.conf", text, 0600);
    free(text);
    assert_int_equal(c->errors.n, 0);

    char *out = xasprintf("%s/bundle.tar.gz", t);
    logs_opts o = {.since_ms = 86400000, .output = out, .max_file = 2048, .max_total = 1 << 20,
                   .remote = &remote_local_ops};
    sv_split_list(&o.components, "console, proxy, agent");
    logs_summary s;
    hm_err e = {{0}};
    assert_int_equal(logs_collect(c, &o, &s, &e), 0);
    struct entry v[64];
    size_t n = read_archive(out, v, 64);
    assert_true(n > 5);
    const struct entry *man = find_entry(v, n, "/MANIFEST");
    assert_non_null(man);
    assert_true(hm_starts_with(man->path, "bundle/"));

    /* Every file is in the MANIFEST with its size, and every MANIFEST row is a file. */
    size_t rows = 0;
    bool files_part = true;
    for (char *line = man->data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (!strcmp(line, "# not collected")) files_part = false;
        char path[400];
        size_t size;
        if (files_part && *line != '#' && sscanf(line, "%399[^\t]\t%zu\t", path, &size) == 2) {
            char *full = xasprintf("bundle/%s", path);
            bool found = false;
            for (size_t i = 0; i < n; i++)
                if (!strcmp(v[i].path, full)) {
                    found = true;
                    if (v[i].size != size)
                        fail_msg("%s: %zu bytes, MANIFEST says %zu", path, v[i].size, size);
                }
            if (!found) fail_msg("%s in the MANIFEST, not in the archive", path);
            rows++;
            free(full);
        }
        if (nl) *nl = '\n';
        line = nl ? nl + 1 : NULL;
    }
    assert_int_equal(rows, n - 1);
    assert_int_equal(s.files, n - 1);

    /* No secret anywhere; the old log and the binary one left out, the big log cut. */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < HM_ARRAY_LEN(seed_secrets); k++)
            if (strstr(v[i].data, seed_secrets[k])) fail_msg("%s holds %s", v[i].path, seed_secrets[k]);
    assert_non_null(find_entry(v, n, "/production/config/ant/ant.conf"));
    assert_null(find_entry(v, n, "/old.log"));
    assert_null(find_entry(v, n, "/core.bin"));
    assert_null(find_entry(v, n, "/link.log"));
    const struct entry *bigl = find_entry(v, n, "/big.log");
    assert_non_null(bigl);
    assert_true(bigl->size <= 2048);
    assert_non_null(strstr(bigl->data, "line 399 of the big log\n"));
    assert_true(hm_starts_with(bigl->data, "line ")); /* starts at a line */
    assert_non_null(strstr(man->data, "kept the last"));
    assert_non_null(strstr(man->data, "core.bin\tbinary file"));
    assert_non_null(strstr(man->data, "symbolic link to 'ant-api/ant-api.log'"));
    assert_non_null(strstr(man->data, "console/alerts.json\tthis hmctl has no alerts module"));
    assert_non_null(strstr(man->data, "console/containers\tcannot reach the Docker Engine"));
    /* The local copies of the proxy's files, and the same paths from host proxy-1 through the
     * transport; the agent's absent path is noted. */
    bool local = false, remote = false, local_conf = false, remote_conf = false;
    for (size_t i = 0; i < n; i++) {
        if (strstr(v[i].path, "bundle/proxy/local/") && strstr(v[i].path, "/hamal/etc/hamal.conf"))
            local_conf = true;
        if (strstr(v[i].path, "bundle/proxy/proxy-1/") && strstr(v[i].path, "/hamal/etc/hamal.conf"))
            remote_conf = true;
        if (strstr(v[i].path, "bundle/proxy/local/") && strstr(v[i].path, "/hamal/log/hamal-period.log")) local = true;
        if (strstr(v[i].path, "bundle/proxy/proxy-1/") && strstr(v[i].path, "/hamal/log/hamal-period.log")) {
            remote = true;
            assert_non_null(strstr(v[i].data, "auth_key=********"));
        }
    }
    assert_true(local);
    assert_true(remote);
    assert_true(local_conf);
    assert_true(remote_conf);
    assert_non_null(strstr(man->data, "/agent/config.ini\tnot present on this host"));
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].data);
    }

    /* Without a transport the host is noted and the rest collected. */
    o.remote = NULL;
    assert_int_equal(logs_collect(c, &o, &s, &e), 0);
    n = read_archive(out, v, 64);
    man = find_entry(v, n, "/MANIFEST");
    assert_non_null(strstr(man->data, "host proxy-1 (sync_proxy, 192.0.2.5)\tnot collected: SSH support not available"));
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].data);
    }
    /* An unwritable output leaves nothing behind. */
    char *bad = xasprintf("%s/missing-dir/x.tar.gz", t);
    o.output = bad;
    assert_int_equal(logs_collect(c, &o, &s, &e), -1);
    assert_non_null(strstr(e.msg, "missing-dir"));
    free(bad);

    sv_free(&o.components);
    free(out);
    config_free(c);
    fs_remove_tree(t, NULL);
    free(t);
}

/* A Docker Engine that knows no container. */
static char *no_containers(const char *req, void *ud)
{
    return testsrv_http(404, "Not Found", "application/json", NULL,
                        "{\"message\":\"No such container\"}\n");
}

static void test_reload_audit(void **state)
{
    char *t = tmpdir_new();
    testsrv s;
    testsrv_start_unix(&s, no_containers, NULL);
    hm_config *cfg = config_new();
    char *text = xasprintf("[docker]\nsocket = %s\n[hmctl]\ndata_dir = %s\n", s.path, t);
    config_parse_text(cfg, "test.conf", text, 0600);
    free(text);
    hm_err e = {{0}};
    hm_store *st = audit_open(cfg, &e);
    assert_non_null(st);
    const reload_service sv[] = {{"aaa", "ant-api"}, {"bbb", "proxy-api"}, {"ccc", "owl-api"}};
    container_recreate_opts o = {1, 1000};
    size_t done = 99;
    assert_int_equal(reload_run(cfg, st, sv, 3, &o, NULL, &done, &e), -1);
    assert_int_equal(done, 0);
    assert_non_null(strstr(e.msg, "reload stopped at 'ant-api': "));

    audit_entry *v;
    assert_int_equal(audit_list(st, 0, &v, &e), 1);
    char *user = audit_user();
    assert_string_equal(v[0].user, user);
    free(user);
    assert_string_equal(v[0].action, "reload");
    assert_null(v[0].from_version);
    assert_null(v[0].to_version);
    assert_string_equal(v[0].result, "failed");
    assert_true(v[0].end_ms >= v[0].ts_ms && v[0].ts_ms > 0);
    assert_true(hm_starts_with(v[0].detail, "stopped at 'ant-api': "));
    const char *tail = "; not recreated: proxy-api, owl-api";
    assert_string_equal(v[0].detail + strlen(v[0].detail) - strlen(tail), tail);
    audit_entries_free(v, 1);

    /* without a store the run is the same, and nothing is recorded */
    assert_int_equal(reload_run(cfg, NULL, sv, 1, &o, NULL, NULL, &e), -1);
    assert_int_equal(audit_list(st, 0, &v, &e), 1);
    audit_entries_free(v, 1);

    store_close(st);
    config_free(cfg);
    testsrv_stop(&s);
    fs_remove_tree(t, NULL);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_body),      cmocka_unit_test(test_demux),
        cmocka_unit_test(test_versions),         cmocka_unit_test(test_mask_seed_samples),
        cmocka_unit_test(test_mask_forms),       cmocka_unit_test(test_package_read),
        cmocka_unit_test(test_upgrade_and_rollback), cmocka_unit_test(test_downgrade_and_disk),
        cmocka_unit_test(test_logs_collect),     cmocka_unit_test(test_reload_audit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
