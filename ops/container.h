/* Container operations beyond start/stop, on the Docker Engine API (v1.41, Docker 20.10;
 * https://docs.docker.com/engine/api/v1.41/): recreating a container from its current image
 * with the same configuration (hmctl reload), waiting for a container to be running and
 * healthy, and reading a container's log (hmctl logs collect). The JSON transformations are
 * separate from the I/O so the unit tests can feed them captured inspections. */
#ifndef HM_OPS_CONTAINER_H
#define HM_OPS_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/http.h"
#include "lib/util.h"

/* Sends METHOD path (with its query string) to the Docker Engine on [docker] socket, with a
 * JSON body when body is non-NULL. timeout_ms bounds the request (0: 30 s). Returns 0 when an
 * HTTP answer arrived, whatever its status, with resp filled (zero-initialise it, free it with
 * hm_http_resp_free), or -1 with e set to "cannot reach the Docker Engine at SOCKET: reason". */
int container_api(const hm_config *cfg, const char *method, const char *path, const char *body,
                  int64_t timeout_ms, hm_http_resp *resp, hm_err *e);

/* GET /containers/{id}/json. Returns the parsed inspection (the caller json_decref's it), or
 * NULL with e set: unreachable engine, "no such container 'x'" (HTTP 404), "Docker Engine
 * answered HTTP N: message", or malformed JSON. */
json_t *container_inspect(const hm_config *cfg, const char *id, int64_t timeout_ms, hm_err *e);

/* The body of POST /containers/create that recreates the inspected container: its Config
 * (command, entrypoint, environment, labels, health check, user, working directory, exposed
 * ports, declared volumes, image by name so a newer local image of the same tag is used), its
 * HostConfig (binds, mounts, port bindings, restart policy, network mode, resources, log
 * driver, privileges), anonymous volumes added as binds so their data stays, and in
 * NetworkingConfig the endpoint (aliases, static addresses, links) of the network named by
 * HostConfig.NetworkMode. A Hostname that Docker derived from the old container's id, and
 * aliases equal to that id, are dropped. The endpoints of further networks, which API v1.41
 * can only attach after creation, are appended to *extra_networks as
 * {"name": N, "endpoint": {...}} objects when extra_networks is non-NULL (*extra_networks is
 * then a new array). Returns a new object, or NULL with e set when the inspection lacks Id,
 * Config or HostConfig. */
json_t *container_create_body(json_t *inspect, json_t **extra_networks, hm_err *e);

/* Waits until container id is running and, when it has a health check, healthy; polls every
 * 500 ms for at most timeout_ms. name is used in messages. Returns 0, or -1 with e set:
 * "'ant-api' exited with status 3", "'ant-api' is unhealthy: <health check output>",
 * "'ant-api' was not healthy within 2m (health: starting)", or an API error. */
int container_wait_ready(const hm_config *cfg, const char *id, const char *name, int64_t timeout_ms,
                         hm_err *e);

typedef struct container_recreate_opts {
    int stop_timeout_s;     /* grace period Docker gives the old container to stop */
    int64_t ready_timeout_ms; /* container_wait_ready's limit for the new one */
} container_recreate_opts;

/* Recreates container id (shown as name) from its current image: creates the new container
 * as NAME-hmctl-new from container_create_body, stops the old one and renames it
 * NAME-hmctl-old, renames the new one NAME and starts it, waits until it is ready, then removes
 * the old one (its named and anonymous volumes stay). When anything fails after the old
 * container was stopped, the new one is removed and the old one gets its name back and is
 * started again if it was running. *new_id (when non-NULL) gets the new container's id on
 * success. Returns 0, or -1 with e set to the reason, followed by "; the previous container
 * was put back" when it was, or by what could not be undone. */
int container_recreate(const hm_config *cfg, const char *id, const char *name,
                       const container_recreate_opts *o, char **new_id, hm_err *e);

/* The mount sources of an inspected container (Mounts[].Source), appended to out. */
void container_mount_sources(json_t *inspect, strvec *out);

/* Demultiplexes the stream format of GET /containers/{id}/logs for a container without a TTY:
 * frames of an 8-byte header (stream type 0-2, three zero bytes, the payload length as a
 * big-endian 32-bit number) followed by the payload; the payloads are appended to out in
 * order. Returns the number of bytes of buf consumed, which is less than len when buf ends
 * in the middle of a frame. Bytes that do not start with a valid header are appended as they
 * are (the container had a TTY after all). */
size_t container_demux(const char *buf, size_t len, strbuf *out);

/* The log of container id since since_s (epoch seconds; 0 for all) with Docker's timestamps,
 * stdout and stderr interleaved as Docker stored them (GET /containers/{id}/logs?stdout=1&
 * stderr=1&since=N&timestamps=1), demultiplexed unless tty is true. Returns 0 with the text
 * appended to out, or -1 with e set (unreachable engine, HTTP error with Docker's message). */
int container_logs(const hm_config *cfg, const char *id, bool tty, int64_t since_s,
                   int64_t timeout_ms, strbuf *out, hm_err *e);

#endif
