/* The metric names the collectors write, so that an alert rule on a misspelt metric is an
 * error `hmctl config check` reports instead of a rule that silently never fires. A collector
 * that starts writing a new metric adds it here. */
#include <stddef.h>
#include <string.h>

#include "collectors/collector.h"

const char *const hm_metric_names[] = {
    /* host.c: the console host, and remote hosts with a host label */
    "host.cpu.percent", "host.memory.percent", "host.memory.total", "host.memory.available",
    "host.disk.root.percent", "host.disk.root.free", "host.load1", "host.load5", "host.load15",
    "host.net.rx.bytes_per_second", "host.net.tx.bytes_per_second",
    /* disk.c */
    "disk.log.bytes", "disk.log.bytes.total", "disk.program.bytes", "disk.program.bytes.total",
    "disk.free.bytes", "disk.used.percent",
    /* docker.c */
    "docker.up", "docker.containers.total", "docker.containers.running",
    "docker.containers.unhealthy", "docker.containers.exited", "docker.container.up",
    "docker.container.restarts",
    /* rabbitmq.c */
    "rabbitmq.up", "rabbitmq.queues", "rabbitmq.queue.messages", "rabbitmq.queue.messages_ready",
    "rabbitmq.queue.messages_unacknowledged", "rabbitmq.queue.consumers",
    /* mariadb.c, redis.c, influxdb.c, port.c */
    "mariadb.up", "mariadb.ping.ms", "redis.up", "redis.ping.ms", "influxdb.up",
    "influxdb.ping.ms", "port.up", "port.connect.ms", "port.tls.cert_days",
    /* the console API (console-api.md) */
    "console.up", "console.hosts", "console.hosts.total", "console.hosts.disconnected",
    "console.hosts.license_expired", "console.hosts.rpo_exceeded", "console.gateways.total",
    "console.gateways.offline", "console.events.new",
    NULL,
};

bool hm_metric_known(const char *metric)
{
    for (const char *const *m = hm_metric_names; *m; m++)
        if (strcmp(*m, metric) == 0) return true;
    return false;
}
