/* The RTO/RPO arithmetic, the replay of a journal and the report built from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drill/report.h"
#include "lib/clock.h"

static void test_rpo_rto(void **state)
{
    const int64_t start = 1795252000000; /* 2026-11-21T09:06:40Z */
    /* RPO: run start minus the recovery point */
    assert_int_equal(drill_rpo_ms(start, start - 600000), 600000);
    assert_int_equal(drill_rpo_ms(start, start), 0);
    assert_int_equal(drill_rpo_ms(start, start + 5000), 0); /* a point newer than the start */
    assert_int_equal(drill_rpo_ms(start, 0), -1);           /* no recovery point */
    assert_int_equal(drill_rpo_ms(0, start), -1);
    /* RTO: run start to the end of the validation step */
    assert_int_equal(drill_rto_ms(start, start + 14 * 60000 + 59000), 14 * 60000 + 59000);
    assert_int_equal(drill_rto_ms(start, 0), -1);           /* never validated */
    assert_int_equal(drill_rto_ms(start, start - 1), 0);
    /* targets: met, missed at one millisecond over, unknown without a target or a value */
    assert_int_equal(drill_target_met(15 * 60000, 15 * 60000), 1);
    assert_int_equal(drill_target_met(15 * 60000 + 1, 15 * 60000), 0);
    assert_int_equal(drill_target_met(0, 3600000), 1);
    assert_int_equal(drill_target_met(-1, 3600000), -1);
    assert_int_equal(drill_target_met(1000, 0), -1);
}

static const char *plan_text =
    "[plan]\nname = p\nrto = 15m\nrpo = 1h\n"
    "[host \"web\"]\n[host \"db\"]\n"
    "[stage \"recover\"]\n[step \"boot\"]\ntype = boot\n"
    "[step \"promote\"]\ntype = run\nmodes = takeover\ncommand = true\n"
    "[step \"check\"]\ntype = check\ntcp = 127.0.0.1:1\nretries = 2\n"
    "[step \"ok\"]\ntype = confirm\nmessage = fine?\n"
    "[step \"cleanup\"]\ntype = cleanup\n";

static drill_entry ent(int64_t ts, const char *ev, const char *step, int attempt, const char *host,
                       json_t *data)
{
    static int64_t seq;
    return (drill_entry){++seq, ts, (char *)ev, (char *)step, attempt, (char *)host, data};
}

static void test_replay_and_report(void **state)
{
    strvec errors = {0};
    drill_plan *p = NULL;
    assert_int_equal(drill_plan_parse("p.plan", plan_text, &p, &errors), 0);
    const int64_t t0 = 1795252000000, s = 1000;
    json_t *hosts = json_pack("[{s:s, s:s, s:s, s:s, s:I}, {s:s, s:s, s:s, s:s, s:I}]",
                              "alias", "web", "id", "id-web", "name", "web-01", "snapshot_id", "s1",
                              "snapshot_ms", (json_int_t)(t0 - 10 * 60 * s),
                              "alias", "db", "id", "id-db", "name", "db-01", "snapshot_id", "s2",
                              "snapshot_ms", (json_int_t)(t0 - 2 * 3600 * s));
    drill_entry en[] = {
        ent(t0, "run_started", NULL, 0, NULL, json_pack("{s:o}", "hosts", hosts)),
        ent(t0, "answer", NULL, 0, NULL, json_pack("{s:s, s:s}", "question", "start", "answer", "--yes")),
        ent(t0 + s, "step_started", "boot", 0, NULL, NULL),
        ent(t0 + s, "attempt_started", "boot", 1, NULL, NULL),
        ent(t0 + s, "boot_requested", "boot", 1, "web", NULL),
        ent(t0 + s, "boot_accepted", "boot", 1, "web", json_pack("{s:s}", "task_id", "t1")),
        ent(t0 + s, "boot_requested", "boot", 1, "db", NULL),
        ent(t0 + 60 * s, "host_booted", "boot", 1, "web", json_pack("{s:s}", "instance_id", "i-1")),
        ent(t0 + 61 * s, "attempt_finished", "boot", 1, NULL, json_pack("{s:b}", "ok", 0)),
        /* interrupted: db's boot is in flight */
    };
    size_t n = HM_ARRAY_LEN(en);
    drill_replay r;
    assert_int_equal(drill_replay_build(p, en, n - 1, &r), 0);
    assert_true(r.hosts[0].booted);
    assert_string_equal(r.hosts[0].instance_id, "i-1");
    assert_true(r.hosts[1].boot_open); /* requested, no answer journaled */
    assert_false(r.hosts[1].boot_accepted);
    assert_true(r.steps[0].last_open);
    assert_int_equal(r.steps[0].started, 1);
    assert_false(r.steps[0].finished);
    drill_replay_free(&r);

    /* the attempt failed: db's boot failed; then the step is retried and everything ends */
    drill_entry more[] = {
        ent(t0 + 30 * s, "boot_adopted", "boot", 1, "db", json_pack("{s:s}", "task_id", "t2")),
        ent(t0 + 50 * s, "host_boot_failed", "boot", 1, "db", json_pack("{s:s}", "error", "boot failed on the console")),
        ent(t0 + 61 * s, "attempt_finished", "boot", 1, NULL, json_pack("{s:b, s:s}", "ok", 0, "error", "db: boot failed")),
        ent(t0 + 62 * s, "answer", "boot", 1, NULL, json_pack("{s:s, s:s, s:b}", "question", "Step boot failed", "answer", "retry", "retry", 1)),
        ent(t0 + 62 * s, "attempt_started", "boot", 2, NULL, NULL),
        ent(t0 + 62 * s, "boot_requested", "boot", 2, "db", NULL),
        ent(t0 + 62 * s, "boot_accepted", "boot", 2, "db", json_pack("{s:s}", "task_id", "t3")),
        ent(t0 + 120 * s, "host_booted", "boot", 2, "db", json_pack("{s:s}", "instance_id", "i-2")),
        ent(t0 + 120 * s, "attempt_finished", "boot", 2, NULL, json_pack("{s:b}", "ok", 1)),
        ent(t0 + 120 * s, "step_finished", "boot", 0, NULL, json_pack("{s:s}", "result", "ok")),
        ent(t0 + 120 * s, "step_skipped", "promote", 0, NULL, json_pack("{s:s}", "reason", "takeover only")),
        ent(t0 + 121 * s, "step_started", "check", 0, NULL, NULL),
        ent(t0 + 121 * s, "attempt_started", "check", 1, NULL, NULL),
        ent(t0 + 126 * s, "attempt_finished", "check", 1, NULL, json_pack("{s:b, s:s}", "ok", 0, "error", "refused")),
        ent(t0 + 127 * s, "attempt_started", "check", 2, NULL, NULL),
        ent(t0 + 600 * s, "attempt_finished", "check", 2, NULL, json_pack("{s:b}", "ok", 1)),
        ent(t0 + 600 * s, "step_finished", "check", 0, NULL, json_pack("{s:s}", "result", "ok")),
        ent(t0 + 601 * s, "step_started", "ok", 0, NULL, NULL),
        ent(t0 + 601 * s, "attempt_started", "ok", 1, NULL, NULL),
        ent(t0 + 700 * s, "answer", "ok", 1, NULL, json_pack("{s:s, s:s, s:s, s:s}", "question", "fine?", "answer", "yes", "who", "ann", "comment", "all good")),
        ent(t0 + 700 * s, "attempt_finished", "ok", 1, NULL, json_pack("{s:b}", "ok", 1)),
        ent(t0 + 700 * s, "step_finished", "ok", 0, NULL, json_pack("{s:s}", "result", "ok")),
        ent(t0 + 701 * s, "step_started", "cleanup", 0, NULL, NULL),
        ent(t0 + 701 * s, "attempt_started", "cleanup", 1, NULL, NULL),
        ent(t0 + 701 * s, "clean_requested", "cleanup", 1, "web", NULL),
        ent(t0 + 701 * s, "clean_requested", "cleanup", 1, "db", NULL),
        ent(t0 + 701 * s, "clean_accepted", "cleanup", 1, "web", NULL),
        ent(t0 + 701 * s, "clean_accepted", "cleanup", 1, "db", NULL),
        ent(t0 + 720 * s, "host_cleaned", "cleanup", 1, "web", NULL),
        ent(t0 + 730 * s, "host_clean_failed", "cleanup", 1, "db", json_pack("{s:s}", "error", "clean_failed on the console")),
        ent(t0 + 730 * s, "attempt_finished", "cleanup", 1, NULL, json_pack("{s:b, s:s}", "ok", 0, "error", "db: clean_failed")),
        ent(t0 + 730 * s, "step_finished", "cleanup", 0, NULL, json_pack("{s:s, s:s}", "result", "ignored", "error", "db: clean_failed")),
        ent(t0 + 731 * s, "run_finished", NULL, 0, NULL, json_pack("{s:s}", "state", "succeeded")),
    };
    size_t m = HM_ARRAY_LEN(more);
    drill_entry *all = xcalloc(n + m, sizeof *all);
    memcpy(all, en, n * sizeof *en);
    memcpy(all + n, more, m * sizeof *more);
    /* just after the operator's answer: the choice is known, the step not finished */
    assert_int_equal(drill_replay_build(p, all, n + 4, &r), 0);
    assert_string_equal(r.steps[0].choice, "retry");
    assert_int_equal(r.hosts[1].boot_failed_attempt, 1);
    assert_false(r.steps[0].finished);
    drill_replay_free(&r);
    assert_int_equal(drill_replay_build(p, all, n + m, &r), 0);
    assert_null(r.steps[0].choice);
    assert_true(r.finished);
    assert_string_equal(r.final_state, "succeeded");
    assert_true(r.hosts[1].booted);
    assert_int_equal(r.hosts[1].boot_requests, 2);
    assert_int_equal(r.steps[0].attempts, 2);
    assert_int_equal(r.steps[0].session_failed, 0); /* the operator's retry gave a new budget */
    assert_string_equal(r.steps[1].result, "skipped");
    assert_int_equal(r.steps[2].attempts, 2);
    assert_int_equal(r.steps[2].failed_attempts, 1);

    drill_run_info run = {.id = 7, .plan = "p", .plan_file = "p.plan", .mode = "drill",
                          .operator_name = "ann", .state = "succeeded", .started_ms = t0,
                          .ended_ms = t0 + 731 * s, .rto_target_ms = 15 * 60000,
                          .rpo_target_ms = 3600000};
    json_t *rep = drill_report_json(&run, p, &r, t0 + 731 * s);
    /* RTO: the last check of the drill ended 600 s after the start */
    json_t *rto = json_object_get(rep, "rto");
    assert_string_equal(json_string_value(json_object_get(rto, "until_step")), "check");
    assert_true(json_real_value(json_object_get(rto, "actual_s")) == 600.0);
    assert_true(json_is_true(json_object_get(rto, "met")));
    assert_true(json_real_value(json_object_get(rto, "target_s")) == 900.0);
    /* RPO: web's point 10 min before the start meets 1 h, db's 2 h does not */
    json_t *h = json_object_get(json_object_get(rep, "rpo"), "hosts");
    assert_int_equal(json_array_size(h), 2);
    assert_true(json_real_value(json_object_get(json_array_get(h, 0), "achieved_s")) == 600.0);
    assert_true(json_is_true(json_object_get(json_array_get(h, 0), "met")));
    assert_true(json_real_value(json_object_get(json_array_get(h, 1), "achieved_s")) == 7200.0);
    assert_true(json_is_false(json_object_get(json_array_get(h, 1), "met")));
    /* steps: durations and attempts */
    json_t *steps = json_object_get(rep, "steps");
    assert_true(json_real_value(json_object_get(json_array_get(steps, 0), "duration_s")) == 119.0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(steps, 2), "attempts")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1), "reason")), "takeover only");
    /* answers and failures */
    json_t *answers = json_object_get(rep, "answers");
    assert_int_equal(json_array_size(answers), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(answers, 2), "comment")), "all good");
    json_t *failures = json_object_get(rep, "failures");
    /* db's boot, the check's first attempt, db's cleanup */
    assert_int_equal(json_array_size(failures), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(failures, 0), "host")), "db");
    /* cleanup: ignored failure = failed, db not cleaned */
    json_t *c = json_object_get(rep, "cleanup");
    assert_string_equal(json_string_value(json_object_get(c, "result")), "failed");
    assert_int_equal(json_array_size(json_object_get(c, "hosts")), 2);
    assert_true(json_is_false(json_object_get(json_array_get(json_object_get(c, "hosts"), 1), "cleaned")));

    /* a run that never validated has no RTO, and misses nothing it cannot know */
    drill_replay r2;
    assert_int_equal(drill_replay_build(p, en, 3, &r2), 0);
    json_t *rep2 = drill_report_json(&run, p, &r2, t0 + 5 * s);
    assert_true(json_is_null(json_object_get(json_object_get(rep2, "rto"), "actual_s")));
    assert_true(json_is_null(json_object_get(json_object_get(rep2, "rto"), "met")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(rep2, "steps"), 0), "result")), "in progress");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(rep2, "steps"), 2), "result")), "not run");
    json_decref(rep2);
    drill_replay_free(&r2);

    /* HTML: every text escaped */
    json_object_set_new(rep, "plan", json_string("<script>alert(1)</script>"));
    char *html = drill_report_html(rep);
    assert_null(strstr(html, "<script>"));
    assert_non_null(strstr(html, "&lt;script&gt;"));
    free(html);

    json_decref(rep);
    drill_replay_free(&r);
    for (size_t i = 0; i < n + m; i++) json_decref(all[i].data);
    free(all);
    drill_plan_free(p);
    sv_free(&errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpo_rto),
        cmocka_unit_test(test_replay_and_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
