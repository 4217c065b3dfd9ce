/* Restarting the services that use the venvs. */
#include "ops/services.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/docker.h"
#include "ops/container.h"

static bool below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Whether a mount source lies in venvs, comparing both as given and resolved. */
static bool uses(const strvec *sources, const char *venvs, const char *real)
{
    for (size_t i = 0; i < sources->n; i++) {
        if (below(sources->v[i], venvs)) return true;
        char rs[PATH_MAX];
        if (real && realpath(sources->v[i], rs) && below(rs, real)) return true;
    }
    return false;
}

static bool name_matches(const char *service, const char *venvs)
{
    DIR *d = opendir(venvs);
    if (!d) return false;
    bool hit = false;
    struct dirent *de;
    while (!hit && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        size_t n = strlen(de->d_name);
        hit = strcmp(service, de->d_name) == 0 ||
              (strncmp(service, de->d_name, n) == 0 && service[n] == '-');
    }
    closedir(d);
    return hit;
}

static void sayf(void (*say)(void *, const char *), void *ud, const char *fmt, const char *a,
                 const char *b)
{
    if (!say) return;
    char *line = xasprintf(fmt, a, b);
    say(ud, line);
    free(line);
}

int services_restart_using(const hm_config *cfg, const char *venvs, int grace_s, int64_t timeout_ms,
                           void (*say)(void *ud, const char *line), void *ud, hm_err *e)
{
    docker_list l = {0};
    int64_t api_timeout = cfg_get_ms(cfg, "hmctl", NULL, "timeout", 5000);
    if (docker_services_list(cfg, api_timeout, &l, e) < 0) return -1;
    char real[PATH_MAX];
    const char *rv = realpath(venvs, real) ? real : NULL;
    bool *pick = xcalloc(l.n + 1, sizeof *pick);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++) {
        json_t *j = container_inspect(cfg, l.v[i].id, api_timeout, NULL);
        strvec src = {0};
        if (j) container_mount_sources(j, &src);
        json_decref(j);
        if (uses(&src, venvs, rv)) pick[i] = true, n++;
        sv_free(&src);
    }
    if (n == 0)
        for (size_t i = 0; i < l.n; i++)
            if (name_matches(docker_display_name(&l, &l.v[i]), venvs)) pick[i] = true, n++;
    int rc = 0;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        if (!pick[i]) continue;
        const char *name = docker_display_name(&l, &l.v[i]);
        sayf(say, ud, "Restarting %s%s", name, "");
        rc = docker_service_action(cfg, &l, &l.v[i], "restart", grace_s,
                                   api_timeout + grace_s * 1000LL + 5000, e);
    }
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        if (!pick[i]) continue;
        const char *name = docker_display_name(&l, &l.v[i]);
        rc = container_wait_ready(cfg, l.v[i].id, name, timeout_ms, e);
        if (rc < 0) hm_err_prefix(e, "service '%s'", name);
        else sayf(say, ud, "%s is up%s", name, "");
    }
    if (rc == 0 && n == 0 && say) say(ud, "No console service uses the venvs; nothing restarted");
    free(pick);
    docker_list_free(&l);
    return rc < 0 ? -1 : (int)n;
}
