/* The built-in collectors in the order status prints them. */
#include <stddef.h>

#include "collectors/collector.h"

const hm_collector hm_collectors[] = {
    {"docker", collect_docker},
    {"disk", collect_disk},
    {"port", collect_port},
    {"mariadb", collect_mariadb},
    {"redis", collect_redis},
    {"rabbitmq", collect_rabbitmq},
    {"influxdb", collect_influxdb},
    {"console", collect_console},
    {"host", collect_host},
    {"remote", collect_remote},
    {NULL, NULL},
};

const hm_collector_budget hm_collector_budgets[] = {
    {"remote", collect_remote_budget},
    {NULL, NULL},
};
