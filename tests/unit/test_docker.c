/* Docker collector: parsers on answers captured from Docker 20.10.24 (tests/fixtures/docker),
 * malformed variants, and the collector end to end against a canned Engine on a unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collectors/docker.h"
#include "lib/clock.h"
#include "tests/unit/resultcheck.h"
#include "tests/unit/testsrv.h"

/* 14 minutes after the fixtures' containers were started. */
static int64_t fixture_now(void)
{
    int64_t ms;
    hm_parse_time("2026-11-21T08:37:04Z", &ms);
    return ms;
}

static const char *const inspected[] = {
    "hyperbdr-mysql-1", "hyperbdr-ant-api-1", "hyperbdr-redis-1", "hyperbdr-ant-worker-1",
    "hyperbdr-ant-beat-1", "hyperbdr-flapper-1", "hyperbdr-paused-1", "slowstart",
};

static void load_selected(docker_list *l, bool inspect)
{
    char *json = testsrv_fixture("docker/containers.json");
    assert_int_equal(docker_parse_list(json, l, NULL), 0);
    free(json);
    assert_int_equal(l->n, 9);
    strvec projects = {0};
    sv_split_list(&projects, "hyperbdr, hypermotion, production");
    docker_filter(l, &projects, NULL);
    sv_free(&projects);
    for (size_t i = 0; inspect && i < l->n; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "docker/inspect-%s.json", l->v[i].name);
        char *ij = testsrv_fixture(rel);
        hm_err e = {{0}};
        assert_int_equal(docker_parse_inspect(ij, &l->v[i], &e), 0);
        free(ij);
    }
}

static const docker_container *by_name(const docker_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(docker_display_name(l, &l->v[i]), name) == 0) return &l->v[i];
    fail_msg("no container %s", name);
    return NULL;
}

static void check(const docker_list *l, const char *name, const char *status, enum hm_state st,
                  const char *detail)
{
    const docker_container *c = by_name(l, name);
    char *s = docker_status_text(c);
    char *d = docker_container_detail(c, fixture_now());
    assert_string_equal(s, status);
    assert_string_equal(d, detail);
    assert_int_equal(docker_container_state(c), st);
    free(s);
    free(d);
}

static void test_list_and_inspect(void **state)
{
    docker_list l = {0};
    load_selected(&l, true);
    assert_int_equal(l.n, 8); /* other-thing belongs to project "other" */
    check(&l, "mysql", "Up (healthy)", HM_OK, "up 14m 1s, 0 restarts, image hmbusy");
    check(&l, "ant-api", "Up (unhealthy)", HM_CRITICAL,
          "unhealthy: connection to 127.0.0.1:10080 refused");
    check(&l, "redis", "Up", HM_OK, "up 14m 1s, 0 restarts, image hmbusy");
    check(&l, "ant-worker", "Exited (3)", HM_CRITICAL, "exited with status 3 14m ago");
    check(&l, "ant-beat", "Created", HM_WARNING, "created, never started, image hmbusy");
    check(&l, "flapper", "Restarting", HM_CRITICAL, "restarting after exit status 1, 8 restarts");
    check(&l, "paused", "Paused", HM_WARNING, "paused, image hmbusy");
    check(&l, "slowstart", "Up (health: starting)", HM_WARNING,
          "health check starting, up 14m, 0 restarts, image hmbusy");
    docker_list_free(&l);
}

static void test_list_only_fallback(void **state)
{
    /* Without inspection the list's Status still gives health and exit code. */
    docker_list l = {0};
    load_selected(&l, false);
    check(&l, "ant-api", "Up (unhealthy)", HM_CRITICAL, "unhealthy: the health check fails");
    check(&l, "mysql", "Up (healthy)", HM_OK, "running, 0 restarts, image hmbusy");
    check(&l, "ant-worker", "Exited (3)", HM_CRITICAL, "exited with status 3");
    docker_list_free(&l);
}

static void test_report(void **state)
{
    docker_list l = {0};
    load_selected(&l, true);
    strvec projects = {0};
    sv_split_list(&projects, "hyperbdr");
    hm_result r = {0};
    docker_report(&l, "20.10.24", &projects, NULL, fixture_now(), &r);
    const hm_component *d = rc_component(&r, "docker");
    assert_non_null(d);
    assert_string_equal(d->kind, "docker");
    assert_int_equal(d->state, HM_OK);
    assert_string_equal(d->detail, "Docker 20.10.24: 8 containers, 1 unhealthy, 1 starting, "
                                   "1 exited, 1 restarting, 1 paused, 1 created");
    assert_int_equal(r.n_components, 9);
    const hm_component *api = rc_component(&r, "ant-api");
    assert_string_equal(api->kind, "container");
    assert_string_equal(api->status, "Up (unhealthy)");
    assert_int_equal(hm_result_worst(&r), HM_CRITICAL);
    assert_true(rc_sample(&r, "docker.up") == 1);
    assert_true(rc_sample(&r, "docker.containers.total") == 8);
    assert_true(rc_sample(&r, "docker.containers.running") == 4);
    assert_true(rc_sample(&r, "docker.containers.unhealthy") == 1);
    assert_true(rc_sample(&r, "docker.containers.exited") == 1);
    assert_true(rc_sample(&r, "docker.container.up{container=\"ant-api\"}") == 1);
    assert_true(rc_sample(&r, "docker.container.up{container=\"ant-worker\"}") == 0);
    assert_true(rc_sample(&r, "docker.container.restarts{container=\"flapper\"}") == 8);
    assert_true(rc_all_stamped(&r, fixture_now()));
    hm_result_free(&r);
    sv_free(&projects);
    docker_list_free(&l);
}

static void test_select_by_service(void **state)
{
    docker_list l = {0};
    char *json = testsrv_fixture("docker/containers.json");
    assert_int_equal(docker_parse_list(json, &l, NULL), 0);
    free(json);
    strvec projects = {0}, services = {0};
    sv_split_list(&projects, "hyperbdr");
    sv_split_list(&services, "hyperbdr-redis-1, ant-api, other-thing");
    docker_filter(&l, &projects, &services);
    assert_int_equal(l.n, 3);
    assert_string_equal(docker_display_name(&l, &l.v[0]), "ant-api");
    assert_string_equal(docker_display_name(&l, &l.v[1]), "other-thing");
    assert_string_equal(docker_display_name(&l, &l.v[2]), "redis");
    sv_free(&projects);
    sv_free(&services);
    docker_list_free(&l);
}

static void test_no_match(void **state)
{
    docker_list l = {0};
    char *json = testsrv_fixture("docker/containers.json");
    docker_parse_list(json, &l, NULL);
    free(json);
    strvec projects = {0};
    sv_split_list(&projects, "hypermotion, production");
    docker_filter(&l, &projects, NULL);
    assert_int_equal(l.n, 0);
    hm_result r = {0};
    docker_report(&l, "20.10.24", &projects, NULL, 1000, &r);
    assert_int_equal(r.n_components, 1);
    assert_int_equal(r.components[0].state, HM_WARNING);
    assert_string_equal(r.components[0].detail,
                        "Docker 20.10.24: no containers labelled com.docker.compose.project="
                        "hypermotion|production; set [docker] project or services");
    assert_true(rc_sample(&r, "docker.containers.total") == 0);
    hm_result_free(&r);
    strvec services = {0};
    sv_split_list(&services, "web, db");
    docker_report(&l, NULL, &projects, &services, 1000, &r);
    assert_string_equal(r.components[0].detail,
                        "Docker: no containers named web|db; set [docker] project or services");
    hm_result_free(&r);
    sv_free(&services);
    sv_free(&projects);
    docker_list_free(&l);
}

static void expect_list_error(const char *rel, const char *msg)
{
    char *json = testsrv_fixture(rel);
    docker_list l = {0};
    hm_err e = {{0}};
    assert_int_equal(docker_parse_list(json, &l, &e), -1);
    assert_string_equal(e.msg, msg);
    assert_int_equal(l.n, 0);
    free(json);
}

static void test_malformed_list(void **state)
{
    expect_list_error("docker/containers-truncated.json",
                      "malformed JSON at line 1: premature end of input near '\"h'");
    expect_list_error("docker/empty.json", "empty answer instead of JSON");
    expect_list_error("docker/error-page.html",
                      "malformed JSON at line 1: '[' or '{' expected near '<'");
    expect_list_error("docker/containers-object.json", "expected an array of containers");

    /* Wrong types: entries without a string Id are skipped, other bad fields are defaulted. */
    char *json = testsrv_fixture("docker/containers-wrongtypes.json");
    docker_list l = {0};
    assert_int_equal(docker_parse_list(json, &l, NULL), 0);
    free(json);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "abc123");
    assert_null(l.v[0].project);
    assert_string_equal(l.v[0].state, "unknown");
    assert_int_equal(docker_container_state(&l.v[0]), HM_UNKNOWN);
    char *s = docker_status_text(&l.v[1]);
    assert_string_equal(s, "Up (unhealthy)");
    free(s);
    docker_list_free(&l);
}

static void test_malformed_inspect(void **state)
{
    docker_list l = {0};
    load_selected(&l, false);
    docker_container *c = (docker_container *)by_name(&l, "ant-worker");
    hm_err e = {{0}};
    char *bad = testsrv_fixture("docker/inspect-wrongtypes.json");
    assert_int_equal(docker_parse_inspect(bad, c, &e), -1);
    assert_string_equal(e.msg, "no State.Status in the inspection");
    free(bad);
    assert_int_equal(docker_parse_inspect("{\"State\":", c, &e), -1);
    assert_string_equal(e.msg, "malformed JSON at line 1: unexpected token near end of file");
    assert_false(c->inspected);
    assert_string_equal(c->state, "exited");

    /* A dead container (Docker could not remove it): the real inspection with its state edited. */
    char *ij = testsrv_fixture("docker/inspect-hyperbdr-ant-worker-1.json");
    char *p = strstr(ij, "\"Status\":\"exited\"");
    assert_non_null(p);
    memcpy(p, "\"Status\":\"dead\"  ", 17);
    assert_int_equal(docker_parse_inspect(ij, c, &e), 0);
    free(ij);
    char *s = docker_status_text(c);
    char *d = docker_container_detail(c, fixture_now());
    assert_string_equal(s, "Dead");
    assert_string_equal(d, "dead (Docker could not stop or remove it), last exit status 3");
    assert_int_equal(docker_container_state(c), HM_CRITICAL);
    free(s);
    free(d);
    docker_list_free(&l);
}

static void test_version(void **state)
{
    char *json = testsrv_fixture("docker/version.json");
    char *v = docker_parse_version(json, NULL);
    assert_string_equal(v, "20.10.24");
    free(v);
    free(json);
    hm_err e = {{0}};
    assert_null(docker_parse_version("{\"Version\": 3}", &e));
    assert_string_equal(e.msg, "no Version in the answer");
}

static void test_service_find(void **state)
{
    docker_list l = {0};
    load_selected(&l, false);
    hm_err e = {{0}};
    assert_non_null(docker_service_find(&l, "ant-api", &e));
    assert_non_null(docker_service_find(&l, "hyperbdr-ant-api-1", &e));
    assert_null(docker_service_find(&l, "ant-apx", &e));
    assert_string_equal(e.msg, "unknown service 'ant-apx' (known services: ant-api, ant-beat, "
                               "ant-worker, flapper, mysql, paused, redis, slowstart)");
    docker_list_free(&l);
    docker_list empty = {0};
    assert_null(docker_service_find(&empty, "x", &e));
    assert_string_equal(e.msg, "unknown service 'x' (no services found)");
}

/* A canned Engine: answers from the fixtures by path. */
static char *engine(const char *req, void *ud)
{
    (void)ud;
    char method[16], path[256];
    if (sscanf(req, "%15s %255s", method, path) != 2) return NULL;
    const char *j = "application/json";
    if (strcmp(path, "/version") == 0) {
        char *b = testsrv_fixture("docker/version.json");
        char *a = testsrv_http(200, "OK", j, NULL, b);
        free(b);
        return a;
    }
    if (strcmp(path, "/containers/json?all=1") == 0) {
        char *b = testsrv_fixture("docker/containers.json");
        char *a = testsrv_http(200, "OK", j, NULL, b);
        free(b);
        return a;
    }
    if (strcmp(method, "POST") == 0) {
        if (strstr(path, "/start")) return xstrdup("HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
        return testsrv_http(500, "Internal Server Error", j, NULL,
                            "{\"message\":\"cannot stop container: permission denied\"}\n");
    }
    /* Inspections: find the container whose Id is in the path. */
    char *list = testsrv_fixture("docker/containers.json");
    for (size_t i = 0; i < HM_ARRAY_LEN(inspected); i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "docker/inspect-%s.json", inspected[i]);
        char *b = testsrv_fixture(rel);
        char id[80];
        if (sscanf(strstr(b, "\"Id\":\"") + 6, "%64[0-9a-f]", id) == 1 && strstr(path, id)) {
            char *a = testsrv_http(200, "OK", j, NULL, b);
            free(b);
            free(list);
            return a;
        }
        free(b);
    }
    free(list);
    return testsrv_http(404, "Not Found", j, NULL, "{\"message\":\"No such container\"}");
}

static hm_config *docker_config(const char *sock)
{
    hm_config *c = config_new();
    char *text = xasprintf("[docker]\nsocket = %s\nproject = hyperbdr\n", sock);
    config_parse_text(c, "test.conf", text, 0600);
    free(text);
    assert_int_equal(c->errors.n, 0);
    return c;
}

static void run(hm_config *cfg, int64_t timeout_ms, hm_result *r)
{
    hm_collect_ctx cc = {cfg, NULL, fixture_now(), timeout_ms, hm_mono_ms() + timeout_ms};
    collect_docker(&cc, r);
}

static void test_collect_end_to_end(void **state)
{
    testsrv s;
    testsrv_start_unix(&s, engine, NULL);
    hm_config *cfg = docker_config(s.path);
    hm_result r = {0};
    run(cfg, 5000, &r);
    testsrv_stop(&s);
    assert_int_equal(r.n_components, 9);
    assert_string_equal(rc_component(&r, "docker")->detail,
                        "Docker 20.10.24: 8 containers, 1 unhealthy, 1 starting, 1 exited, "
                        "1 restarting, 1 paused, 1 created");
    assert_string_equal(rc_component(&r, "ant-api")->detail,
                        "unhealthy: connection to 127.0.0.1:10080 refused");
    assert_string_equal(rc_component(&r, "flapper")->status, "Restarting");
    assert_true(rc_sample(&r, "docker.containers.unhealthy") == 1);
    assert_int_equal(s.requests, 11); /* socket probe, version, list, 8 inspections */
    assert_true(rc_all_stamped(&r, fixture_now()));
    hm_result_free(&r);
    config_free(cfg);
}

static void test_collect_no_socket(void **state)
{
    hm_config *cfg = docker_config("/nonexistent/docker.sock");
    hm_result r = {0};
    run(cfg, 2000, &r);
    assert_int_equal(r.n_components, 1);
    assert_string_equal(r.components[0].name, "docker");
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    assert_string_equal(r.components[0].detail,
                        "cannot reach the Docker Engine at /nonexistent/docker.sock: "
                        "no such file or directory");
    assert_int_equal(r.n_samples, 1);
    assert_true(rc_sample(&r, "docker.up") == 0);
    hm_result_free(&r);
    config_free(cfg);
}

static void test_collect_silent_engine(void **state)
{
    testsrv s;
    testsrv_start_unix(&s, testsrv_silent, NULL);
    hm_config *cfg = docker_config(s.path);
    hm_result r = {0};
    int64_t t0 = hm_mono_ms();
    run(cfg, 800, &r);
    int64_t took = hm_mono_ms() - t0;
    testsrv_stop(&s);
    assert_true(took >= 700 && took < 1500);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    char want[256];
    snprintf(want, sizeof want, "cannot reach the Docker Engine at %s: no answer within 0.8 s", s.path);
    assert_string_equal(r.components[0].detail, want);
    hm_result_free(&r);
    config_free(cfg);
}

static char *engine_500(const char *req, void *ud)
{
    (void)req;
    (void)ud;
    return testsrv_http(500, "Internal Server Error", "text/html", NULL, "<html>oops</html>\n");
}

static void test_collect_http_500(void **state)
{
    testsrv s;
    testsrv_start_unix(&s, engine_500, NULL);
    hm_config *cfg = docker_config(s.path);
    hm_result r = {0};
    run(cfg, 2000, &r);
    testsrv_stop(&s);
    assert_int_equal(r.components[0].state, HM_CRITICAL);
    char want[256];
    snprintf(want, sizeof want,
             "Docker Engine at %s answered HTTP 500 to /containers/json?all=1: <html>oops</html>",
             s.path);
    assert_string_equal(r.components[0].detail, want);
    hm_result_free(&r);
    config_free(cfg);
}

static void test_service_action(void **state)
{
    testsrv s;
    testsrv_start_unix(&s, engine, NULL);
    hm_config *cfg = docker_config(s.path);
    hm_err e = {{0}};
    assert_int_equal(docker_service_control(cfg, "redis", "start", 5000, &e), 0);
    assert_int_equal(docker_service_control(cfg, "ant-api", "stop", 5000, &e), -1);
    assert_string_equal(e.msg, "cannot stop 'ant-api': cannot stop container: permission denied (HTTP 500)");
    assert_int_equal(docker_service_control(cfg, "nope", "restart", 5000, &e), -1);
    assert_true(hm_starts_with(e.msg, "unknown service 'nope' (known services: ant-api, "));
    assert_int_equal(docker_service_control(cfg, "redis", "kill", 5000, &e), -1);
    assert_string_equal(e.msg, "unknown action 'kill'");
    testsrv_stop(&s);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_inspect),
        cmocka_unit_test(test_list_only_fallback),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_select_by_service),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_malformed_list),
        cmocka_unit_test(test_malformed_inspect),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_service_find),
        cmocka_unit_test(test_collect_end_to_end),
        cmocka_unit_test(test_collect_no_socket),
        cmocka_unit_test(test_collect_silent_engine),
        cmocka_unit_test(test_collect_http_500),
        cmocka_unit_test(test_service_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
