#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/remote.h"
#include "core/core.h"
#include "lib/output.h"

bool hm_result_value(const hm_result *r, const char *series, double *out)
{
    for (size_t i = r->n_samples; i-- > 0;)
        if (strcmp(r->samples[i].series, series) == 0) {
            *out = r->samples[i].value;
            return true;
        }
    return false;
}

static bool is_kind(const hm_component *c, const char *kind)
{
    return strcmp(c->kind, kind) == 0;
}

static bool in_middle(const hm_component *c)
{
    return is_kind(c, "disk") || is_kind(c, "port");
}

/* "log space" -> "Log space" for the seed-style lines. */
static char *capitalised(const char *s)
{
    char *p = xstrdup(s);
    if (p[0] >= 'a' && p[0] <= 'z') p[0] = (char)(p[0] - 'a' + 'A');
    return p;
}

void hm_view_status(FILE *f, const hm_result *r, bool color)
{
    static const char *const h1[] = {"SERVICE", "STATE", "DETAIL"};
    hm_table *t = table_new(3, h1);
    for (size_t i = 0; i < r->n_components; i++) {
        const hm_component *c = &r->components[i];
        if (!is_kind(c, "container")) continue;
        const char *row[] = {c->name, c->status ? c->status : hm_state_name(c->state), c->detail};
        table_add(t, row);
        table_color_last(t, 1, c->state);
    }
    if (table_rows(t)) {
        table_print(t, f, color);
        fputc('\n', f);
    }
    table_free(t);

    static const char *const h2[] = {"", "", ""};
    t = table_new(3, h2);
    for (size_t i = 0; i < r->n_components; i++) {
        const hm_component *c = &r->components[i];
        if (!in_middle(c)) continue;
        char *name = capitalised(c->name);
        const char *row[] = {name, c->status ? c->status : hm_state_name(c->state), c->detail};
        table_add(t, row);
        table_color_last(t, 1, c->state);
        free(name);
    }
    if (table_rows(t)) {
        /* no header line for these: print from the first row */
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        table_print(t, mem, color);
        fclose(mem);
        const char *nl = strchr(buf, '\n');
        fputs(nl ? nl + 1 : buf, f);
        free(buf);
        fputc('\n', f);
    }
    table_free(t);

    static const char *const h3[] = {"COMPONENT", "STATE", "DETAIL"};
    t = table_new(3, h3);
    for (size_t i = 0; i < r->n_components; i++) {
        const hm_component *c = &r->components[i];
        if (is_kind(c, "container") || in_middle(c) || remote_is_role_kind(c->kind)) continue;
        const char *row[] = {c->name, hm_state_name(c->state), c->detail};
        table_add(t, row);
        table_color_last(t, 1, c->state);
    }
    bool console_rows = table_rows(t) > 0;
    if (console_rows) table_print(t, f, color);
    table_free(t);

    /* The remote components over SSH, under their roles in the seed's order of the guide. */
    static const char *const h4[] = {"REMOTE", "HOST", "STATE", "DETAIL"};
    t = table_new(4, h4);
    for (int role = REMOTE_SYNC_PROXY; role <= REMOTE_JUMP; role++) {
        const char *kind = remote_role_name((enum remote_role)role);
        bool first = true;
        for (size_t i = 0; i < r->n_components; i++) {
            const hm_component *c = &r->components[i];
            if (!is_kind(c, kind)) continue;
            /* an unreachable host says so in STATE: "critical" alone would hide why */
            const char *state = c->status && strcmp(c->status, "up") != 0 ? c->status
                                                                           : hm_state_name(c->state);
            const char *row[] = {first ? remote_role_title((enum remote_role)role) : "", c->name,
                                 state, c->detail};
            table_add(t, row);
            table_color_last(t, 2, c->state);
            first = false;
        }
    }
    if (table_rows(t)) {
        if (console_rows) fputc('\n', f);
        table_print(t, f, color);
    }
    table_free(t);
}

json_t *hm_view_json(const hm_result *r)
{
    json_t *root = json_object();
    json_t *comps = json_array();
    for (size_t i = 0; i < r->n_components; i++) {
        const hm_component *c = &r->components[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(c->name));
        json_object_set_new(o, "kind", json_string(c->kind));
        json_object_set_new(o, "state", json_string(hm_state_name(c->state)));
        if (c->status) json_object_set_new(o, "status", json_string(c->status));
        json_object_set_new(o, "detail", json_string(c->detail ? c->detail : ""));
        json_array_append_new(comps, o);
    }
    json_object_set_new(root, "components", comps);
    json_t *metrics = json_object();
    for (size_t i = 0; i < r->n_samples; i++) {
        double v = r->samples[i].value;
        json_object_set_new(metrics, r->samples[i].series, isfinite(v) ? json_real(v) : json_null());
    }
    json_object_set_new(root, "metrics", metrics);
    return root;
}

/* Problems grouped so a fleet of failures reads as one line: containers by State, others one
 * by one. */
static void append_problems(strbuf *sb, const hm_result *r, enum hm_state worst)
{
    static const struct { const char *prefix, *label; } groups[] = {
        {"Up (unhealthy)", "unhealthy"}, {"Exited", "exited"}, {"Restarting", "restarting"},
        {"Dead", "dead"},
    };
    bool any = false;
    for (size_t g = 0; g < HM_ARRAY_LEN(groups); g++) {
        strbuf names = {0};
        int n = 0;
        for (size_t i = 0; i < r->n_components; i++) {
            const hm_component *c = &r->components[i];
            if (!is_kind(c, "container") || !c->status || !hm_starts_with(c->status, groups[g].prefix))
                continue;
            sb_addf(&names, "%s%s", n ? ", " : "", c->name);
            n++;
        }
        if (n) {
            sb_addf(sb, "%s%d %s container%s (%s)", any ? "; " : "", n, groups[g].label,
                    n == 1 ? "" : "s", names.buf);
            any = true;
        }
        sb_free(&names);
    }
    /* then every other non-ok component, worst first */
    for (int s = HM_CRITICAL; s > HM_OK; s--) {
        for (size_t i = 0; i < r->n_components; i++) {
            const hm_component *c = &r->components[i];
            if ((int)c->state != s) continue;
            if (is_kind(c, "container") && c->status) {
                bool grouped = false;
                for (size_t g = 0; g < HM_ARRAY_LEN(groups); g++)
                    if (hm_starts_with(c->status, groups[g].prefix)) grouped = true;
                if (grouped) continue;
            }
            sb_addf(sb, "%s%s: %s", any ? "; " : "", c->name, c->detail);
            any = true;
        }
    }
    if (!any) sb_adds(sb, worst == HM_OK ? "all components ok" : "no detail");
}

char *hm_view_summary(const hm_config *cfg, const hm_result *r, bool perfdata)
{
    static const char *const names[] = {"OK", "WARNING", "UNKNOWN", "CRITICAL"};
    enum hm_state worst = hm_result_worst(r);
    strbuf sb = {0};
    sb_addf(&sb, "HMCTL %s - ", names[worst]);
    if (worst == HM_OK) {
        sb_addf(&sb, "%zu components ok", r->n_components);
    } else {
        append_problems(&sb, r, worst);
    }
    if (!perfdata) return sb_detach(&sb);

    /* Nagios perfdata: label=value[UOM];warn;crit (Nagios plugin development guidelines). */
    sb_adds(&sb, " |");
    double v;
    struct { const char *series, *label, *wkey, *ckey; } pct[] = {
        {"host.cpu.percent", "cpu", "cpu_warning", "cpu_critical"},
        {"host.memory.percent", "memory", "memory_warning", "memory_critical"},
        {"host.disk.root.percent", "root_disk", "disk_warning", "disk_critical"},
    };
    for (size_t i = 0; i < HM_ARRAY_LEN(pct); i++)
        if (hm_result_value(r, pct[i].series, &v))
            sb_addf(&sb, " %s=%.1f%%;%g;%g", pct[i].label, v,
                    cfg_get_number(cfg, "thresholds", NULL, pct[i].wkey, 80),
                    cfg_get_number(cfg, "thresholds", NULL, pct[i].ckey, 90));
    if (hm_result_value(r, "host.load1", &v)) sb_addf(&sb, " load1=%.2f", v);
    if (hm_result_value(r, "docker.containers.unhealthy", &v))
        sb_addf(&sb, " unhealthy_containers=%.0f;;0", v); /* Nagios: critical above 0 */
    if (hm_result_value(r, "docker.containers.exited", &v)) sb_addf(&sb, " exited_containers=%.0f;;0", v);
    double maxq = -1;
    for (size_t i = 0; i < r->n_samples; i++)
        if (hm_starts_with(r->samples[i].series, "rabbitmq.queue.messages{") &&
            r->samples[i].value > maxq)
            maxq = r->samples[i].value;
    if (maxq >= 0)
        /* the component warns at >= queue_warning; a Nagios range alerts above its bound */
        sb_addf(&sb, " queue_messages_max=%.0f;%g", maxq,
                cfg_get_number(cfg, "thresholds", NULL, "queue_warning", 10) - 1);
    return sb_detach(&sb);
}
