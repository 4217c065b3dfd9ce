/* Console settings from [console] / [console "NAME"]. */
#include "console/console.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[CONSOLE_KIND_N] = {
    "other", "register", "sync", "drill", "takeover", "clean", "unregister",
};

const char *console_kind_name(enum console_kind k)
{
    return (k >= 0 && k < CONSOLE_KIND_N) ? kind_names[k] : "other";
}

int console_kind_parse(const char *s)
{
    for (int k = 0; k < CONSOLE_KIND_N; k++)
        if (strcmp(s, kind_names[k]) == 0) return k;
    return -1;
}

size_t console_conf_names(const hm_config *cfg, strvec *out)
{
    const cfg_section **secs = NULL;
    size_t n = cfg ? cfg_sections_of(cfg, "console", &secs) : 0;
    for (size_t i = 0; i < n; i++) sv_push(out, secs[i]->name ? secs[i]->name : "");
    free(secs);
    return n;
}

/* Splits "PATTERN=DURATION, ..." on commas only: host names may hold spaces. Returns 0, or -1
 * naming the bad item. With out_ms NULL it only validates. */
static int rpo_lookup(const char *spec, const char *host, int64_t *out_ms, hm_err *e)
{
    if (!spec) return 0;
    char *copy = xstrdup(spec);
    int rc = 0;
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        item = hm_strip(item);
        if (!*item) continue;
        char *eq = strrchr(item, '=');
        int64_t ms;
        if (!eq || eq == item || hm_parse_duration(hm_strip(eq + 1), &ms) < 0) {
            rc = hm_err_set(e, "malformed rpo_target_hosts item '%s' (use PATTERN=DURATION, e.g. "
                               "db-*=15m)", item);
            break;
        }
        *eq = '\0';
        if (host && out_ms && fnmatch(hm_strip(item), host, 0) == 0) {
            *out_ms = ms;
            rc = 1;
            break;
        }
    }
    free(copy);
    return rc;
}

int64_t console_conf_rpo(const console_conf *cc, const char *host_name)
{
    int64_t ms = cc->rpo_target_ms;
    if (host_name) rpo_lookup(cc->rpo_hosts, host_name, &ms, NULL);
    return ms;
}

enum console_kind console_conf_kind(const console_conf *cc, const char *job_type)
{
    if (!job_type) return CONSOLE_KIND_OTHER;
    for (int k = 1; k < CONSOLE_KIND_N; k++)
        if (sv_contains(&cc->job_types[k], job_type)) return k;
    return CONSOLE_KIND_OTHER;
}

int console_conf_load(const hm_config *cfg, const char *name, console_conf *out, hm_err *e)
{
    memset(out, 0, sizeof *out);
    if (name && !*name) name = NULL;
    if (name && (!cfg || !cfg_section_find(cfg, "console", name))) {
        strvec names = {0};
        console_conf_names(cfg, &names);
        strbuf sb = {0};
        for (size_t i = 0; i < names.n; i++)
            sb_addf(&sb, "%s%s", i ? ", " : "", *names.v[i] ? names.v[i] : "(default)");
        hm_err_set(e, "no console '%s' in the configuration (configured: %s)", name,
                   names.n ? sb_str(&sb) : "none");
        sb_free(&sb);
        sv_free(&names);
        return -1;
    }
    const char *url = cfg_get(cfg, "console", name, "url");
    out->name = xstrdup(name);
    out->label = name ? xasprintf("console %s", name) : xstrdup("console");
    out->url = xstrdup(url ? url : "https://127.0.0.1:10443/hypermotion/v1");
    size_t ul = strlen(out->url);
    while (ul > 0 && out->url[ul - 1] == '/') out->url[--ul] = '\0';
    out->username = xstrdup(cfg_get(cfg, "console", name, "username"));
    out->ca_file = xstrdup(cfg_get(cfg, "console", name, "ca_file"));
    out->fingerprint = xstrdup(cfg_get(cfg, "console", name, "fingerprint"));
    out->insecure = cfg_get_bool(cfg, "console", name, "insecure", false);
    out->connect_timeout_ms = cfg_get_ms(cfg, "console", name, "connect_timeout", 5000);
    out->timeout_ms = cfg_get_ms(cfg, "console", name, "timeout", 30000);
    out->rpo_target_ms = cfg_get_ms(cfg, "console", name, "rpo_target", 3600 * 1000);
    out->rpo_hosts = xstrdup(cfg_get(cfg, "console", name, "rpo_target_hosts"));
    out->page_size = (int)cfg_get_number(cfg, "console", name, "page_size", 100);
    if (out->page_size < 1) out->page_size = 100;
    for (int k = 1; k < CONSOLE_KIND_N; k++) {
        char key[32];
        snprintf(key, sizeof key, "jobs_%s", kind_names[k]);
        cfg_get_list(cfg, "console", name, key, &out->job_types[k]);
    }
    if (rpo_lookup(out->rpo_hosts, NULL, NULL, e) < 0) {
        hm_err_prefix(e, "[%s]", out->label);
        console_conf_free(out);
        return -1;
    }
    return 0;
}

void console_conf_free(console_conf *cc)
{
    free(cc->name);
    free(cc->label);
    free(cc->url);
    free(cc->username);
    free(cc->ca_file);
    free(cc->fingerprint);
    free(cc->rpo_hosts);
    for (int k = 0; k < CONSOLE_KIND_N; k++) sv_free(&cc->job_types[k]);
    memset(cc, 0, sizeof *cc);
}
