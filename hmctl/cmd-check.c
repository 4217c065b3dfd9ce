/* hmctl check: one collection cycle for cron, with Nagios exit codes. */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "core/core.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"

static const struct hm_opt opts[] = {
    {"format", 'f', "text|json|nagios", "output format (default text)", NULL},
    {0},
};

/* Evaluates the alert rules over what was just stored and delivers the due notifications;
 * the outcome becomes component "alerts": warning when a rule is broken or a notification
 * failed, unknown when the evaluation itself failed. Returns the summary (new reference). */
static json_t *run_alerts(hm_ctx *ctx, const hm_config *cfg, hm_store *st, hm_result *r)
{
    json_t *sum = NULL;
    strvec errors = {0};
    hm_err e = {{0}};
    int rc = alerts_run_cycle(cfg, st, hm_now_ms(), &sum, &errors, &e);
    for (size_t i = 0; i < errors.n; i++) hm_warn("%s (rule or channel left out)", errors.v[i]);
    if (!json_is_true(json_object_get(sum, "enabled"))) {
        sv_free(&errors);
        return sum;
    }
    json_int_t firing = json_integer_value(json_object_get(sum, "firing"));
    json_int_t pending = json_integer_value(json_object_get(sum, "pending"));
    json_int_t sent = json_integer_value(json_object_get(sum, "delivered"));
    json_int_t failed = json_integer_value(json_object_get(sum, "failed")) +
                        json_integer_value(json_object_get(sum, "deferred"));
    json_int_t dead = json_integer_value(json_object_get(sum, "dead"));
    strbuf d = {0};
    sb_addf(&d, "%lld firing, %lld pending", (long long)firing, (long long)pending);
    if (sent) sb_addf(&d, "; %lld notification%s sent", (long long)sent, sent == 1 ? "" : "s");
    if (failed) sb_addf(&d, "; %lld notification%s waiting for a retry", (long long)failed,
                        failed == 1 ? "" : "s");
    /* given up in this run or in the last day: notifications that reached nobody */
    hm_err de = {{0}};
    int64_t recent = alerts_dead_count(st, hm_now_ms() - 86400000LL, &de);
    if (recent > dead) dead = recent;
    if (dead) sb_addf(&d, "; %lld notification%s given up in the last 24 h (hmctl alerts history)",
                      (long long)dead, dead == 1 ? "" : "s");
    if (errors.n) sb_addf(&d, "; %zu configuration error%s (hmctl config check)", errors.n,
                          errors.n == 1 ? "" : "s");
    enum hm_state state = HM_OK;
    if (failed || dead || errors.n) state = HM_WARNING;
    if (rc < 0) {
        state = HM_UNKNOWN;
        sb_addf(&d, "; %s", e.msg);
        hm_debug(ctx, "alerts: %s", e.msg);
    }
    hm_result_add_component(r, "alerts", "alerts", state, firing ? "firing" : "ok", "%s",
                            sb_str(&d));
    sb_free(&d);
    sv_free(&errors);
    return sum;
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    const char *format = "text";
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'f': format = op.arg; break;
        default: return op.status == 2 ? 3 : op.status;
        }
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "nagios") != 0) {
        hm_usage_error(ctx, "unknown format '%s' (text, json or nagios)", format);
        return 3;
    }
    if (op.argc) {
        hm_usage_error(ctx, "unexpected argument '%s'", op.argv[0]);
        return 3;
    }
    /* Nagios convention: a check that cannot run at all is UNKNOWN (3). */
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) {
        if (strcmp(format, "nagios") == 0) printf("HMCTL UNKNOWN - invalid configuration\n");
        return 3;
    }
    hm_result r = {0};
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (store_open_config(cfg, 0, &st, &e) < 0) {
        hm_result_add_component(&r, "store", "store", HM_UNKNOWN, "unavailable",
                                "samples not recorded: %s", e.msg);
    }
    hm_result cycle = {0};
    hm_err ce = {{0}};
    if (hm_cycle_run(cfg, st, true, &cycle, &ce) < 0)
        hm_result_add_component(&r, "store", "store", HM_UNKNOWN, "failed",
                                "samples not recorded: %s", ce.msg);
    hm_result_move(&cycle, &r);
    json_t *alerts = NULL;
    if (st) alerts = run_alerts(ctx, cfg, st, &cycle);
    store_close(st);

    enum hm_state worst = hm_result_worst(&cycle);
    if (strcmp(format, "json") == 0) {
        json_t *j = hm_view_json(&cycle);
        char *summary = hm_view_summary(cfg, &cycle, false);
        json_object_set_new(j, "state", json_string(hm_state_name(worst)));
        json_object_set_new(j, "summary", json_string(summary));
        json_object_set_new(j, "exit_code", json_integer(hm_state_exit_code(worst)));
        if (alerts) json_object_set(j, "alerts", alerts);
        free(summary);
        hm_json_print(stdout, j);
    } else {
        char *summary = hm_view_summary(cfg, &cycle, strcmp(format, "nagios") == 0);
        puts(summary);
        free(summary);
    }
    json_decref(alerts);
    hm_result_free(&cycle);
    hm_result_free(&r);
    return hm_state_exit_code(worst);
}

const struct hm_cmd cmd_check = {
    .name = "check",
    .summary = "run one collection cycle, store the samples, exit with the worst state",
    .usage = "[--format text|json|nagios]",
    .description = "Meant for cron or a Nagios-compatible scheduler. Exit status: 0 OK, 1 WARNING,\n"
                   "2 CRITICAL, 3 UNKNOWN, from the worst component (critical beats unknown beats\n"
                   "warning). Samples older than [hmctl] retention are pruned. Then the alert rules\n"
                   "are evaluated and due notifications delivered (see hmctl-alerts(1)).",
    .opts = opts,
    .run = run,
};
