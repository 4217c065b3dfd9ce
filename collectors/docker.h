/* The console's containers through the Docker Engine API (v1.41, Docker 20.10; the JSON shapes
 * are those of GET /containers/json, GET /containers/{id}/json and GET /version, see
 * https://docs.docker.com/engine/api/v1.41/). The parsers are separate from the I/O so the unit
 * tests can feed them captured answers; the service-control functions back `hmctl start`,
 * `stop` and `restart`. */
#ifndef HM_COLLECTORS_DOCKER_H
#define HM_COLLECTORS_DOCKER_H

#include <stdbool.h>
#include <stdint.h>

#include "collectors/collector.h"
#include "lib/config.h"
#include "lib/util.h"

/* One container as the list and (when it succeeded) the inspection describe it. */
typedef struct docker_container {
    char *id;
    char *name;          /* container name without the leading '/' */
    char *service;       /* label com.docker.compose.service, or NULL */
    char *project;       /* label com.docker.compose.project, or NULL */
    char *image;
    char *state;         /* Docker's State: "running", "exited", "restarting", "paused",
                            "created", "dead", "removing" */
    char *list_status;   /* the list's Status text ("Up 2 hours (healthy)"), for the fallback */
    char *health;        /* State.Health.Status ("healthy", "unhealthy", "starting") or NULL */
    char *health_output; /* first line of the last health check's output, or NULL */
    int health_exit;     /* exit code of the last health check, -1 when unknown */
    int exit_code;       /* State.ExitCode, -1 when unknown */
    long restarts;       /* RestartCount, 0 when unknown */
    int64_t started_ms;  /* State.StartedAt in epoch ms, 0 when unknown or never */
    int64_t finished_ms; /* State.FinishedAt in epoch ms, 0 when unknown or never */
    bool inspected;      /* the inspection filled the State fields */
} docker_container;

typedef struct docker_list {
    docker_container *v;
    size_t n, cap;
} docker_list;

void docker_list_free(docker_list *l);

/* Parses the answer of GET /containers/json?all=1 and appends every container to out (State
 * fields from the list only: state, list_status, and health guessed from "(healthy)" etc. in
 * Status). Returns 0, or -1 with e set ("malformed JSON at line L: ..." or "expected an array
 * of containers") and out unchanged. Entries that are not objects or lack an Id are skipped. */
int docker_parse_list(const char *json, docker_list *out, hm_err *e);

/* Fills the State fields of c from the answer of GET /containers/{id}/json: State.Status,
 * ExitCode, StartedAt/FinishedAt, Health.Status and the last Health.Log entry, RestartCount.
 * Returns 0 and sets c->inspected, or -1 with e set and c unchanged (malformed JSON, no State
 * object). */
int docker_parse_inspect(const char *json, docker_container *c, hm_err *e);

/* The engine's version from GET /version ("20.10.24"; a packaging suffix such as "+dfsg1" is
 * dropped). Returns a new string, or NULL with e set on malformed JSON or a missing Version. */
char *docker_parse_version(const char *json, hm_err *e);

/* Whether c is one of the console's containers: with a non-empty services list, its name or
 * compose service label is in it; otherwise its compose project label is in projects. */
bool docker_selected(const docker_container *c, const strvec *projects, const strvec *services);

/* Keeps only the selected containers of l (as docker_selected) and sorts them by display name. */
void docker_filter(docker_list *l, const strvec *projects, const strvec *services);

/* The name hmctl shows and accepts for c: the compose service label, or the container name
 * when there is no label or another selected container in l has the same label (scaled
 * services). Points into c. */
const char *docker_display_name(const docker_list *l, const docker_container *c);

/* The State as the seed's status view prints it: "Up", "Up (healthy)", "Up (unhealthy)",
 * "Up (health: starting)", "Exited (N)", "Restarting", "Created", "Paused", "Dead",
 * "Removing"; an unknown Docker state is returned as Docker names it. New string. */
char *docker_status_text(const docker_container *c);

/* The component state for c: ok for Up and Up (healthy); warning for health starting, Paused,
 * Created; critical for Up (unhealthy), Exited, Restarting, Dead, Removing; unknown otherwise. */
enum hm_state docker_container_state(const docker_container *c);

/* A one-line explanation, now_ms being the wall clock in epoch ms: "up 2h 5m, 0 restarts,
 * image x", "exited with status 3 14m ago", "unhealthy: <health check output>", ... New string. */
char *docker_container_detail(const docker_container *c, int64_t now_ms);

/* Turns the selected containers into components (kind "container") and samples
 * (docker.container.up/restarts{container=NAME}, docker.containers.*, docker.up 1), plus the
 * "docker" component: ok with counts, or warning when l is empty (projects/services name what
 * was looked for). version may be NULL. Every sample is stamped now_ms. */
void docker_report(const docker_list *l, const char *version, const strvec *projects,
                   const strvec *services, int64_t now_ms, hm_result *out);

/* Service control for `hmctl start|stop|restart`. */

/* Lists the console's services: the selected containers ([docker] project / services), each
 * inspected, sorted by display name. timeout_ms bounds every request. Returns 0, or -1 with e
 * set: "cannot reach the Docker Engine at SOCKET: reason", "Docker Engine at SOCKET answered
 * HTTP N: message", or a malformed answer. */
int docker_services_list(const hm_config *cfg, int64_t timeout_ms, docker_list *out, hm_err *e);

/* Finds a service by display name (or container name) in l. Returns it, or NULL with e set:
 * "unknown service 'x' (known services: a, b, c)" or "unknown service 'x' (no services found)". */
const docker_container *docker_service_find(const docker_list *l, const char *name, hm_err *e);

/* Runs action ("start", "stop" or "restart") on container c of l through POST
 * /containers/{id}/{action}. HTTP 204 and 304 (already started or stopped) are success.
 * grace_s is how long Docker waits for stop and restart before killing the container (the
 * API's ?t=; -1 keeps Docker's default of 10 s); timeout_ms bounds the request and must exceed
 * the grace period. Returns 0, or -1 with e set:
 * "cannot stop 'ant-api': <Docker's message> (HTTP 500)", "cannot stop 'ant-api': <socket
 * error>", "unknown action 'x'". */
int docker_service_action(const hm_config *cfg, const docker_list *l, const docker_container *c,
                          const char *action, int grace_s, int64_t timeout_ms, hm_err *e);

/* Convenience: lists the services, finds name and runs action on it (the three calls above).
 * Returns 0 or -1 with e set as they do. */
int docker_service_control(const hm_config *cfg, const char *name, const char *action,
                           int64_t timeout_ms, hm_err *e);

#endif
