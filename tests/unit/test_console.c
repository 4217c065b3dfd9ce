/* Console client: parsers on the contract's JSON examples (tests/fixtures/console), malformed
 * and truncated variants, settings, and event derivation over two polls in a real store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/console.h"
#include "lib/clock.h"
#include "tests/unit/testsrv.h"

static hm_config *conf_text(const char *text)
{
    hm_config *c = config_new();
    config_parse_text(c, "test.conf", text, 0600);
    return c;
}

static void test_token(void **state)
{
    char *body = testsrv_fixture("console/token.json");
    char *tok = NULL;
    assert_int_equal(console_parse_token(body, &tok, NULL), 0);
    assert_string_equal(tok, "gAAAAABk-example-token");
    free(tok);
    free(body);
    hm_err e = {{0}};
    assert_int_equal(console_parse_token("{\"code\":401}", &tok, &e), -1);
    assert_string_equal(e.msg, "the answer holds no token");
}

static void test_hosts(void **state)
{
    char *body = testsrv_fixture("console/hosts-page1.json");
    console_hosts hs = {0};
    long total = 0;
    assert_int_equal(console_parse_hosts(body, &hs, &total, NULL), 0);
    free(body);
    assert_int_equal(total, 3);
    assert_int_equal(hs.n, 2);
    const console_host *h = &hs.v[0];
    assert_string_equal(h->name, "文件服务器");
    assert_string_equal(h->host_type, "vmware");
    assert_null(h->ip_address); /* "None" */
    assert_null(h->mac_address);
    assert_string_equal(h->host_status, "sync_doing");
    assert_true(h->percent == 49);
    assert_string_equal(h->speed, "14Mbps");
    assert_string_equal(h->synced, "252MB");
    assert_true(h->remaining_time == 18);
    int64_t t;
    hm_parse_time("2026-11-21T04:41:55Z", &t);
    assert_int_equal(h->last_snapshot_ms, t);
    assert_int_equal(h->n_snapshots, 1);
    assert_string_equal(h->snapshots[0].status, "create_done");
    assert_int_equal(h->license_valid, 1);
    assert_true(h->is_doing);
    const console_host *d = &hs.v[1];
    assert_string_equal(d->health_status, "disconnected");
    assert_true(d->percent < 0);
    assert_int_equal(d->last_snapshot_ms, 0);
    assert_int_equal(d->license_valid, 0);
    assert_string_equal(d->cloud_instance_id, "i-0abc");
    console_hosts_free(&hs);
}

static void test_hosts_malformed(void **state)
{
    static const struct { const char *file, *msg; } cases[] = {
        {"console/hosts-truncated.json", "malformed JSON at line"},
        {"console/hosts-malformed.json", "malformed JSON at line"},
        {"console/hosts-wrongshape.json", "expected {\"data\": [host, ...]}"},
        {"console/hosts-noid.json", "host 1 of the page has no id"},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(cases); i++) {
        char *body = testsrv_fixture(cases[i].file);
        console_hosts hs = {0};
        hm_err e = {{0}};
        assert_int_equal(console_parse_hosts(body, &hs, NULL, &e), -1);
        assert_non_null(strstr(e.msg, cases[i].msg));
        console_hosts_free(&hs);
        free(body);
    }
    hm_err e = {{0}};
    console_hosts hs = {0};
    assert_int_equal(console_parse_hosts("", &hs, NULL, &e), -1);
    assert_string_equal(e.msg, "empty answer instead of JSON");
    assert_int_equal(console_parse_hosts("[1,2]", &hs, NULL, &e), -1);
    assert_string_equal(e.msg, "expected a JSON object");
}

static void test_jobs_kinds(void **state)
{
    console_conf cc;
    assert_int_equal(console_conf_load(NULL, NULL, &cc, NULL), 0);
    char *body = testsrv_fixture("console/jobs.json");
    console_jobs js = {0};
    long total;
    assert_int_equal(console_parse_jobs(body, &cc, &js, &total, NULL), 0);
    free(body);
    assert_int_equal(js.n, 4);
    assert_int_equal(js.v[0].kind, CONSOLE_KIND_SYNC);
    assert_string_equal(js.v[0].detail, "agent heartbeat lost");
    assert_int_equal(js.v[1].kind, CONSOLE_KIND_DRILL);
    assert_int_equal(js.v[2].kind, CONSOLE_KIND_TAKEOVER);
    assert_int_equal(js.v[2].end_ms, 0);
    assert_int_equal(js.v[3].kind, CONSOLE_KIND_OTHER);
    console_jobs_free(&js);
    console_conf_free(&cc);

    /* a site whose console calls drills "Rehearsal" */
    hm_config *c = conf_text("[console]\njobs_drill = Rehearsal\n");
    assert_int_equal(console_conf_load(c, NULL, &cc, NULL), 0);
    assert_int_equal(console_conf_kind(&cc, "Rehearsal"), CONSOLE_KIND_DRILL);
    assert_int_equal(console_conf_kind(&cc, "BootTest"), CONSOLE_KIND_OTHER);
    console_conf_free(&cc);
    config_free(c);
}

static void test_targets(void **state)
{
    char *body = testsrv_fixture("console/targets.json");
    console_targets ts = {0};
    assert_int_equal(console_parse_targets(body, &ts, NULL), 0);
    free(body);
    assert_int_equal(ts.n, 2);
    assert_string_equal(ts.v[1].status, "disconnected");
    assert_int_equal(ts.v[1].online, 0);
    console_targets_free(&ts);

    body = testsrv_fixture("console/target.json");
    console_target t = {0};
    assert_int_equal(console_parse_target(body, &t, NULL), 0);
    free(body);
    assert_string_equal(t.region, "guangzhou");
    assert_true(t.total_size == 28672);
    assert_int_equal(t.n_pools, 1);
    assert_int_equal(t.n_volume_groups, 1);
    assert_int_equal(t.n_volumes, 2);
    assert_string_equal(t.volumes[0].host, "db-02"); /* flat "connector:host" */
    assert_string_equal(t.volumes[1].host, "app-02"); /* nested connector.host */
    assert_string_equal(t.volumes[1].pool_uuid, "p1");
    console_target_free(&t);
    hm_err e = {{0}};
    assert_int_equal(console_parse_targets("{\"targets\": []}", &ts, &e), -1);
    assert_int_equal(console_parse_target("{\"uuid\": \"x\", \"volumes\"", &t, &e), -1);
    assert_non_null(strstr(e.msg, "malformed JSON"));
}

static void test_conf(void **state)
{
    hm_config *c = conf_text("[console]\nrpo_target = 2h\nrpo_target_hosts = db-*=15m, 文件*=1d\n"
                             "[console \"tenant-a\"]\nurl = https://10.0.0.1:10443/hypermotion/v1/\n");
    assert_int_equal(c->errors.n, 0);
    console_conf cc;
    assert_int_equal(console_conf_load(c, NULL, &cc, NULL), 0);
    assert_string_equal(cc.url, "https://127.0.0.1:10443/hypermotion/v1");
    assert_string_equal(cc.username, "admin");
    assert_int_equal(cc.page_size, 100);
    assert_int_equal(console_conf_rpo(&cc, "db-02"), 15 * 60 * 1000);
    assert_int_equal(console_conf_rpo(&cc, "文件服务器"), 86400 * 1000);
    assert_int_equal(console_conf_rpo(&cc, "web-01"), 2 * 3600 * 1000);
    console_conf_free(&cc);
    assert_int_equal(console_conf_load(c, "tenant-a", &cc, NULL), 0);
    assert_string_equal(cc.url, "https://10.0.0.1:10443/hypermotion/v1");
    assert_string_equal(cc.label, "console tenant-a");
    console_conf_free(&cc);
    hm_err e = {{0}};
    assert_int_equal(console_conf_load(c, "nope", &cc, &e), -1);
    assert_string_equal(e.msg, "no console 'nope' in the configuration (configured: (default), tenant-a)");
    config_free(c);
    c = conf_text("[console]\nrpo_target_hosts = db-*\n");
    assert_int_equal(console_conf_load(c, NULL, &cc, &e), -1);
    assert_non_null(strstr(e.msg, "malformed rpo_target_hosts item 'db-*'"));
    config_free(c);
}

static console_host mkhost(const char *id, const char *name, const char *health,
                           const char *status, int64_t snap)
{
    console_host h = {0};
    h.id = xstrdup(id);
    h.name = xstrdup(name);
    h.health_status = xstrdup(health);
    h.host_status = xstrdup(status);
    h.boot_status = xstrdup("not_boot");
    h.license_valid = 1;
    h.last_snapshot_ms = snap;
    return h;
}

static size_t count_type(const console_events *ev, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->n; i++) n += strcmp(ev->v[i].type, type) == 0;
    return n;
}

static void test_events(void **state)
{
    char dir[] = "/tmp/hmctl-console-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/hmctl.db", dir);
    hm_store *st = NULL;
    assert_int_equal(store_open(path, 0, &st, NULL), 0);
    console_conf cc;
    console_conf_load(NULL, NULL, &cc, NULL);
    int64_t now = 1800000000000LL;
    console_hosts hs = {0};
    hs.cap = 2;
    hs.v = xcalloc(2, sizeof *hs.v);
    hs.v[hs.n++] = mkhost("h1", "web-01", "active", "sync_snapshot_done", now - 60000);
    hs.v[hs.n++] = mkhost("h2", "db-01", "active", "sync_snapshot_done", now - 60000);
    console_events fresh = {0};
    /* first poll: the baseline, nothing changed */
    assert_int_equal(console_events_record(st, &cc, &hs, NULL, now, &fresh, NULL), 0);
    assert_int_equal(fresh.n, 0);
    /* second poll: web-01 lost contact, db-01's sync failed (and a job says so) */
    free(hs.v[0].health_status);
    hs.v[0].health_status = xstrdup("disconnected");
    free(hs.v[1].host_status);
    hs.v[1].host_status = xstrdup("sync_failed");
    console_jobs js = {0};
    js.v = xcalloc(1, sizeof *js.v);
    js.cap = js.n = 1;
    js.v[0] = (console_job){xstrdup("t-9"), xstrdup("Sync"), xstrdup("failed"), xstrdup("db-01"),
                            xstrdup("h2"), NULL, xstrdup("disk full"), CONSOLE_KIND_SYNC,
                            now + 5000, now + 30000, now + 30000, NULL, NULL};
    assert_int_equal(console_events_record(st, &cc, &hs, &js, now + 60000, &fresh, NULL), 0);
    assert_int_equal(count_type(&fresh, "host_lost_contact"), 1);
    assert_int_equal(count_type(&fresh, "sync_failed"), 1); /* the job's, not a second one */
    console_events_free(&fresh);
    /* third poll, same state: nothing new; the snapshots are now beyond the 1 h RPO */
    assert_int_equal(console_events_record(st, &cc, &hs, &js, now + 7200000, &fresh, NULL), 0);
    assert_int_equal(count_type(&fresh, "host_lost_contact"), 0);
    assert_int_equal(count_type(&fresh, "sync_failed"), 0);
    assert_int_equal(count_type(&fresh, "rpo_exceeded"), 2);
    console_events_free(&fresh);
    assert_int_equal(console_events_record(st, &cc, &hs, &js, now + 7300000, &fresh, NULL), 0);
    assert_int_equal(fresh.n, 0); /* same stale snapshot: once */
    console_events all = {0};
    assert_int_equal(console_events_list(st, NULL, 0, &all, NULL), 0);
    assert_int_equal(all.n, 4);
    assert_string_equal(all.v[0].source, "job:t-9");
    console_events_free(&all);
    console_jobs_free(&js);
    console_hosts_free(&hs);
    console_conf_free(&cc);
    store_close(st);
    unlink(path);
    char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
    unlink(wal);
    unlink(shm);
    rmdir(dir);
    free(wal);
    free(shm);
    free(path);
}

/* A console that records what it is sent: the token call, boots and cleanups. */
struct action_srv {
    strvec reqs;   /* "METHOD PATH TOKEN BODY" per request */
    int tokens;    /* tokens issued */
    bool expire;   /* answer the first action with 401 */
};

static char *action_answer(const char *req, void *ud)
{
    struct action_srv *s = ud;
    char method[8] = "", path[256] = "";
    sscanf(req, "%7s %255s", method, path);
    const char *tok = strcasestr(req, "X-AUTH-TOKEN: ");
    char token[32] = "-";
    if (tok) sscanf(tok + 14, "%31s", token);
    const char *body = strstr(req, "\r\n\r\n");
    body = body ? body + 4 : "";
    sv_push_owned(&s->reqs, xasprintf("%s %s %s %s", method, path, token, body));
    const char *json = "application/json";
    if (strstr(path, "/users/token")) {
        char *b = xasprintf("{\"token\":\"t%d\"}", ++s->tokens);
        char *a = testsrv_http(200, "OK", json, NULL, b);
        free(b);
        return a;
    }
    if (s->expire && strcmp(token, "t1") == 0) {
        s->expire = false;
        return testsrv_http(401, "Unauthorized", json, NULL, "{\"code\":401,\"message\":\"token expired\"}");
    }
    if (strstr(path, "/hosts/busy/action"))
        return testsrv_http(409, "Conflict", json, NULL,
                            "{\"code\":409,\"message\":\"host busy already has a boot or cleanup in progress\"}");
    if (strstr(path, "/hosts/odd/action"))
        return testsrv_http(200, "OK", json, NULL, "{\"code\":500,\"message\":\"no quota left\"}");
    if (strstr(path, "/action"))
        return testsrv_http(200, "OK", json, NULL,
                            "{\"code\":200,\"message\":\"drill started\",\"task_id\":\"job-42\"}");
    return testsrv_http(200, "OK", json, NULL, "{\"code\":200,\"message\":\"clean started for 2 hosts\"}");
}

/* The body part of a recorded "METHOD PATH TOKEN BODY". */
static const char *req_body(const char *rec)
{
    for (int i = 0; i < 3 && rec; i++) {
        rec = strchr(rec, ' ');
        if (rec) rec++;
    }
    return rec ? rec : "";
}

static void test_actions(void **state)
{
    struct action_srv as = {0};
    testsrv srv;
    testsrv_start_tcp(&srv, action_answer, &as);
    char *text = xasprintf("[console]\nurl = http://127.0.0.1:%d/hypermotion/v1\npassword = pw\n"
                           "timeout = 5s\n", srv.port);
    hm_config *cfg = conf_text(text);
    free(text);
    assert_int_equal(cfg->errors.n, 0);
    console *c = NULL;
    hm_err e = {{0}};
    assert_int_equal(console_open(cfg, NULL, &c, &e), 0);

    /* a drill boot: the mode, the recovery point and only the target settings given */
    console_boot_req req = {.backup_type = "volume_snapshot", .snapshot_id = "snap-1",
                            .network = "net-a", .fixed_ip = "10.0.0.5"};
    char *task = NULL;
    assert_int_equal(console_boot_host(c, "h1", &req, &task, &e), 0);
    assert_string_equal(task, "job-42");
    free(task);
    assert_int_equal(as.reqs.n, 2);
    assert_true(hm_starts_with(as.reqs.v[1], "POST /hypermotion/v1/hosts/h1/action t1 "));
    json_t *sent = json_loads(req_body(as.reqs.v[1]), 0, NULL);
    assert_non_null(sent);
    json_t *boot = json_object_get(sent, "boot");
    assert_string_equal(json_string_value(json_object_get(boot, "backup_type")), "volume_snapshot");
    assert_string_equal(json_string_value(json_object_get(boot, "snapshot_id")), "snap-1");
    assert_string_equal(json_string_value(json_object_get(boot, "network")), "net-a");
    assert_string_equal(json_string_value(json_object_get(boot, "fixed_ip")), "10.0.0.5");
    assert_null(json_object_get(boot, "flavor"));
    json_decref(sent);

    /* a takeover after the token expired: one new token, the boot sent once more */
    as.expire = true;
    req = (console_boot_req){.backup_type = "volume_backup"};
    assert_int_equal(console_boot_host(c, "h2", &req, NULL, &e), 0);
    assert_int_equal(as.tokens, 2);
    assert_int_equal(as.reqs.n, 5);
    assert_true(hm_starts_with(as.reqs.v[4], "POST /hypermotion/v1/hosts/h2/action t2 "));
    assert_non_null(strstr(as.reqs.v[4], "\"volume_backup\""));

    /* refusals reach the caller verbatim and are not repeated */
    assert_int_equal(console_boot_host(c, "busy", &req, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "HTTP 409: host busy already has a boot or cleanup in progress"));
    assert_int_equal(as.reqs.n, 6);
    assert_int_equal(console_boot_host(c, "odd", &req, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "/hosts/odd/action: code 500: no quota left"));
    req.backup_type = NULL;
    assert_int_equal(console_boot_host(c, "h3", &req, NULL, &e), -1);
    assert_string_equal(e.msg, "boot of h3: no backup_type");
    assert_int_equal(as.reqs.n, 7);

    /* cleanup of two hosts */
    const char *ids[] = {"h1", "h2"};
    assert_int_equal(console_clean_hosts(c, ids, 2, false, &e), 0);
    assert_true(hm_starts_with(as.reqs.v[7], "POST /hypermotion/v1/hosts t2 "));
    sent = json_loads(req_body(as.reqs.v[7]), 0, NULL);
    assert_non_null(sent);
    assert_int_equal(json_array_size(json_object_get(sent, "ids")), 2);
    assert_true(json_is_false(json_object_get(json_object_get(sent, "clean"), "force")));
    json_decref(sent);
    assert_int_equal(console_clean_hosts(c, ids, 0, false, &e), -1);

    console_close(c);
    config_free(cfg);
    testsrv_stop(&srv);
    sv_free(&as.reqs);
}

static void test_parse_action(void **state)
{
    char *task = NULL;
    hm_err e = {{0}};
    assert_int_equal(console_parse_action("{\"code\":200,\"message\":\"ok\"}", &task, &e), 0);
    assert_null(task);
    assert_int_equal(console_parse_action("{\"code\":409,\"message\":\"already booted\"}", &task, &e), -1);
    assert_string_equal(e.msg, "code 409: already booted");
    assert_int_equal(console_parse_action("{\"code\":200,", &task, &e), -1);
    assert_true(hm_starts_with(e.msg, "malformed JSON"));
    assert_int_equal(console_parse_action("", &task, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_hosts_malformed),
        cmocka_unit_test(test_jobs_kinds),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_parse_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
