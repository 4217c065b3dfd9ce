/* hmctl remote: the SSH inventory (every [host "NAME"]) with each host's role, address, state
 * and detail, polled now. Not the console's DR host list, which is `hmctl hosts`. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/remote.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/output.h"
#include "store/store.h"

static const struct hm_opt opts[] = {
    {"json", 'j', NULL, "print JSON: {hosts: [{name, role, address, ...}]}", NULL},
    {"count", 'n', "N", "poll N times, keeping the sessions open (default 1)", NULL},
    {"interval", 'i', "DURATION", "time between polls with --count (default: [hmctl] interval)",
     NULL},
    {0},
};

/* The samples of one host: those labelled host="NAME". */
static json_t *host_metrics(const hm_result *r, const char *name)
{
    char *label = hm_series("", "host", name, NULL); /* {host="NAME"} */
    char *inner = xstrndup(label + 1, strlen(label) - 2); /* host="NAME" */
    json_t *m = json_object();
    for (size_t i = 0; i < r->n_samples; i++) {
        const char *s = r->samples[i].series;
        const char *brace = strchr(s, '{');
        if (!brace) continue;
        /* labels are sorted, so host= is found as a whole label between { , and , } */
        const char *p = strstr(brace, inner);
        if (!p || (p[-1] != '{' && p[-1] != ',')) continue;
        char after = p[strlen(inner)];
        if (after != '}' && after != ',') continue;
        json_object_set_new(m, s, json_real(r->samples[i].value));
    }
    free(label);
    free(inner);
    return m;
}

static const hm_component *find_component(const hm_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_components; i++)
        if (remote_is_role_kind(r->components[i].kind) && strcmp(r->components[i].name, name) == 0)
            return &r->components[i];
    return NULL;
}

static void print_cycle(hm_ctx *ctx, const hm_config *cfg, const strvec *names,
                        const hm_result *r, bool json)
{
    json_t *arr = json ? json_array() : NULL;
    static const char *const hdr[] = {"HOST", "ROLE", "ADDRESS", "STATE", "DETAIL"};
    hm_table *t = json ? NULL : table_new(5, hdr);
    for (size_t i = 0; i < names->n; i++) {
        remote_host h;
        hm_err e = {{0}};
        remote_host_load(cfg, names->v[i], &h, &e);
        const hm_component *c = find_component(r, h.name);
        char *addr = xasprintf("%s@%s:%d", h.username, h.address, h.target.port);
        const char *state = !h.enabled ? "disabled"
                            : !c      ? "unknown"
                            : c->status && strcmp(c->status, "up") != 0 ? c->status
                                                                       : hm_state_name(c->state);
        const char *detail = !h.enabled ? "not polled (enabled = no)"
                             : c        ? c->detail
                                        : "no result";
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(h.name));
            json_object_set_new(o, "role", json_string(remote_role_name(h.role)));
            json_object_set_new(o, "address", json_string(h.address));
            json_object_set_new(o, "port", json_integer(h.target.port));
            json_object_set_new(o, "username", json_string(h.username));
            json_object_set_new(o, "enabled", json_boolean(h.enabled));
            json_object_set_new(o, "state",
                                json_string(!h.enabled ? "disabled"
                                            : c        ? hm_state_name(c->state)
                                                       : "unknown"));
            json_object_set_new(o, "status", json_string(!h.enabled ? "disabled"
                                                         : c && c->status ? c->status
                                                                          : "unknown"));
            json_object_set_new(o, "detail", json_string(detail));
            json_object_set_new(o, "metrics", host_metrics(r, h.name));
            json_array_append_new(arr, o);
        } else {
            const char *row[] = {h.name, remote_role_name(h.role), addr, state, detail};
            table_add(t, row);
            table_color_last(t, 3, !h.enabled ? HM_OK : c ? c->state : HM_UNKNOWN);
        }
        free(addr);
        remote_host_free(&h);
    }
    if (json) {
        json_t *root = json_object();
        json_object_set_new(root, "hosts", arr);
        hm_json_print(stdout, root);
    } else {
        table_print(t, stdout, ctx->color);
        table_free(t);
    }
    fflush(stdout);
}

static int run(hm_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    const char *count_s = NULL, *interval_s = NULL;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    hm_opt_permute(&op);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'j': json = true; break;
        case 'n': count_s = op.arg; break;
        case 'i': interval_s = op.arg; break;
        default: return op.status;
        }
    }
    long count = 1;
    if (count_s) {
        char *end;
        count = strtol(count_s, &end, 10);
        if (!*count_s || *end || count < 1)
            return hm_usage_error(ctx, "invalid count '%s' (a number of polls, 1 or more)",
                                  count_s);
    }
    int64_t interval_ms = -1;
    if (interval_s && hm_parse_duration(interval_s, &interval_ms) < 0)
        return hm_usage_error(ctx, "invalid interval '%s' (a duration: 0, 500ms, 2s, 1m)",
                              interval_s);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    if (interval_ms < 0) interval_ms = cfg_get_ms(cfg, "hmctl", NULL, "interval", 10000);

    /* The hosts to show: the named ones, in the order given, or every [host]. */
    strvec names = {0};
    const cfg_section **secs;
    size_t n = cfg_sections_of(cfg, "host", &secs);
    if (op.argc) {
        for (int i = 0; i < op.argc; i++) {
            if (!cfg_section_find(cfg, "host", op.argv[i])) {
                strbuf known = {0};
                for (size_t j = 0; j < n; j++)
                    sb_addf(&known, "%s%s", j ? ", " : "", secs[j]->name);
                int rc = hm_error("no [host \"%s\"] in the configuration%s%s", op.argv[i],
                                  n ? "; the hosts are: " : " (it has no [host] sections)",
                                  sb_str(&known));
                sb_free(&known);
                free(secs);
                sv_free(&names);
                return rc;
            }
            if (!sv_contains(&names, op.argv[i])) sv_push(&names, op.argv[i]);
        }
    } else {
        for (size_t j = 0; j < n; j++) sv_push(&names, secs[j]->name);
    }
    free(secs);
    if (!names.n) {
        if (json) hm_json_print(stdout, json_pack("{s:[]}", "hosts"));
        else printf("no [host] sections in the configuration; see hmctl.conf(5)\n");
        sv_free(&names);
        return 0;
    }

    /* The collectors' memory holds the CPU baselines and heartbeats between runs (from the
     * store, as `status` does), and, for as long as this command runs, the SSH sessions. */
    hm_kv *kv = hm_kv_new();
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (store_open_config(cfg, 0, &st, &e) < 0 || store_kv_load(st, kv, &e) < 0)
        hm_debug(ctx, "%s", e.msg);
    const char **only = xcalloc(names.n + 1, sizeof *only);
    for (size_t i = 0; i < names.n; i++) only[i] = names.v[i];

    for (long cycle = 1; cycle <= count; cycle++) {
        int64_t start = hm_mono_ms();
        hm_result r = {0};
        hm_collect_ctx cc = {cfg, kv, hm_now_ms(), remote_budget_ms(cfg),
                             start + remote_budget_ms(cfg)};
        remote_poll(&cc, only, &r);
        hm_debug(ctx, "poll %ld: %zu host%s in %lld ms", cycle, names.n, names.n == 1 ? "" : "s",
                 (long long)(hm_mono_ms() - start));
        if (cycle > 1 && !json) putchar('\n');
        print_cycle(ctx, cfg, &names, &r, json);
        hm_result_free(&r);
        if (cycle < count) {
            int64_t left = start + interval_ms - hm_mono_ms();
            if (left > 0) {
                struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
                while (nanosleep(&ts, &ts) != 0) {
                }
            }
        }
    }
    if (st && store_kv_save(st, kv, &e) < 0) hm_debug(ctx, "%s", e.msg);
    store_close(st);
    hm_kv_free(kv);
    free(only);
    sv_free(&names);
    return 0;
}

const struct hm_cmd cmd_remote = {
    .name = "remote",
    .summary = "list the SSH hosts (Sync Proxy, Linux Agent, gateway ...) and their state",
    .usage = "[--json] [-n N] [-i DURATION] [HOST...]",
    .description = "Polls every [host \"NAME\"] of the configuration over SSH, all at once, and\n"
                   "prints each with its role, address, state and detail. With --count, polls\n"
                   "again every interval on the same sessions, as tui does. The console's DR\n"
                   "hosts are 'hmctl hosts'.",
    .opts = opts,
    .run = run,
    .complete_args = "ssh-hosts",
};
