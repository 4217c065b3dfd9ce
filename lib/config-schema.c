/* The configuration schema: every section and key hmctl knows, with its type, default and a
 * one-line description. `hmctl config show` and hmctl.conf(5) follow this table; a test checks
 * that the man page documents every key listed here. Defaults describe a standard console host
 * (seeds/000: installer in /opt/installer, services in containers, port 10443). */
#include "lib/config.h"

#include <stddef.h>

const struct cfg_section_def hm_cfg_sections[] = {
    {"hmctl", false, NULL, "general settings"},
    {"installer", false, NULL, "the console's installation directories (disk space view)"},
    {"thresholds", false, NULL, "limits that turn a component warning or critical in status and check"},
    {"docker", false, NULL, "the Docker Engine running the console's services"},
    {"rabbitmq", false, NULL, "RabbitMQ management API"},
    {"mariadb", false, NULL, "MariaDB server of the console"},
    {"redis", false, NULL, "Redis server of the console"},
    {"influxdb", false, NULL, "the console's own InfluxDB (watched, not written to)"},
    {"port", true, "address", "a TCP port checked by connecting (and a TLS handshake)"},
    {"tui", false, NULL, "the full-screen dashboard"},
    {"store", false, NULL, "the local time-series store: chunk span and retention per tier"},
    {"sink", true, "url", "where samples are also shipped: [sink \"influxdb\"]"},
    {NULL, false, NULL, NULL},
};

const struct cfg_key hm_cfg_keys[] = {
    {"hmctl", "data_dir", CFG_PATH, NULL, NULL,
     "directory of the store (default /var/lib/hmctl, or $XDG_DATA_HOME/hmctl for non-root)"},
    {"hmctl", "interval", CFG_DURATION, "10s", NULL, "collection interval of tui"},
    {"hmctl", "timeout", CFG_DURATION, "5s", NULL, "time budget of each collector per cycle"},
    {"hmctl", "retention", CFG_DURATION, "14d", NULL,
     "how long raw samples are kept (the same as [store] retention_raw, which wins when set)"},

    {"installer", "dir", CFG_PATH, "/opt/installer/production", NULL, "installer directory"},
    {"installer", "log_dirs", CFG_LIST, "/opt/installer/production/logs, /var/log/installer", NULL,
     "directories summed as log space"},
    {"installer", "program_dir", CFG_PATH, "/opt/installer", NULL, "directory summed as program space"},
    {"installer", "free_path", CFG_PATH, "/", NULL, "file system whose free space is shown"},

    {"thresholds", "cpu_warning", CFG_NUMBER, "80", NULL, "CPU percent that makes the host warning"},
    {"thresholds", "cpu_critical", CFG_NUMBER, "90", NULL, "CPU percent that makes the host critical"},
    {"thresholds", "memory_warning", CFG_NUMBER, "80", NULL, "memory percent, warning"},
    {"thresholds", "memory_critical", CFG_NUMBER, "90", NULL, "memory percent, critical"},
    {"thresholds", "disk_warning", CFG_NUMBER, "80", NULL, "used percent of a file system, warning"},
    {"thresholds", "disk_critical", CFG_NUMBER, "90", NULL, "used percent of a file system, critical"},
    {"thresholds", "queue_warning", CFG_NUMBER, "10", NULL, "messages in one RabbitMQ queue, warning"},
    {"thresholds", "cert_warning", CFG_DURATION, "30d", NULL, "certificate expiry closer than this is warning"},

    {"docker", "socket", CFG_PATH, "/var/run/docker.sock", NULL, "Docker Engine API socket"},
    {"docker", "project", CFG_LIST, "hyperbdr, hypermotion, production", NULL,
     "compose project labels that select the console's containers"},
    {"docker", "services", CFG_LIST, NULL, NULL,
     "container names to watch instead of selecting by project"},

    {"rabbitmq", "url", CFG_URL, "http://127.0.0.1:15672", NULL, "management API"},
    {"rabbitmq", "username", CFG_STRING, "guest", NULL, "management user"},
    {"rabbitmq", "password", CFG_SECRET, NULL, NULL, "management password (prefer password_file)"},
    {"rabbitmq", "password_file", CFG_PATH, NULL, NULL, "file holding the password"},
    {"rabbitmq", "enabled", CFG_BOOL, "yes", NULL, "watch RabbitMQ"},

    {"mariadb", "host", CFG_STRING, "127.0.0.1", NULL, "server address"},
    {"mariadb", "port", CFG_INT, "3306", NULL, "server port"},
    {"mariadb", "username", CFG_STRING, "root", NULL, "account used to connect and ping"},
    {"mariadb", "password", CFG_SECRET, NULL, NULL, "password (prefer password_file)"},
    {"mariadb", "password_file", CFG_PATH, NULL, NULL, "file holding the password"},
    {"mariadb", "enabled", CFG_BOOL, "yes", NULL, "watch MariaDB"},

    {"redis", "host", CFG_STRING, "127.0.0.1", NULL, "server address"},
    {"redis", "port", CFG_INT, "6379", NULL, "server port"},
    {"redis", "password", CFG_SECRET, NULL, NULL, "AUTH password, when the server requires one"},
    {"redis", "password_file", CFG_PATH, NULL, NULL, "file holding the password"},
    {"redis", "enabled", CFG_BOOL, "yes", NULL, "watch Redis"},

    {"influxdb", "url", CFG_URL, "http://127.0.0.1:8086", NULL, "base URL; /ping is checked"},
    {"influxdb", "enabled", CFG_BOOL, "yes", NULL, "watch InfluxDB"},

    {"port", "address", CFG_ADDRESS, NULL, NULL, "host:port to connect to"},
    {"port", "tls", CFG_BOOL, "no", NULL, "do a TLS handshake and report certificate expiry"},
    {"port", "ca_file", CFG_PATH, NULL, NULL, "CA certificate to verify the TLS certificate with"},

    {"tui", "keys", CFG_LIST, NULL, NULL, "key remapping, e.g. \"quit=x, refresh=F5\""},
    {"tui", "color", CFG_BOOL, "yes", NULL, "use colours (NO_COLOR and --no-color also turn them off)"},
    {"store", "chunk_span", CFG_DURATION, "2h", NULL,
     "time window of one compressed chunk per series: whole hours dividing 24h"},
    {"store", "retention_raw", CFG_DURATION, "14d", NULL, "how long raw samples are kept (0: forever)"},
    {"store", "retention_1m", CFG_DURATION, "90d", NULL,
     "how long the 1-minute rollups (min, avg, max, count) are kept"},
    {"store", "retention_1h", CFG_DURATION, "730d", NULL, "how long the 1-hour rollups are kept"},

    {"sink", "url", CFG_URL, NULL, NULL, "InfluxDB base URL, e.g. http://influx.example.com:8086"},
    {"sink", "database", CFG_STRING, NULL, NULL, "1.x database written to (/write?db=)"},
    {"sink", "retention_policy", CFG_STRING, NULL, NULL, "1.x retention policy (default: the database's)"},
    {"sink", "org", CFG_STRING, NULL, NULL, "2.x organisation (with bucket: /api/v2/write)"},
    {"sink", "bucket", CFG_STRING, NULL, NULL, "2.x bucket written to"},
    {"sink", "token", CFG_SECRET, NULL, NULL, "API token, sent as 'Authorization: Token' (prefer token_file)"},
    {"sink", "token_file", CFG_PATH, NULL, NULL, "file holding the token"},
    {"sink", "username", CFG_STRING, NULL, NULL, "1.x user (HTTP basic authentication)"},
    {"sink", "password", CFG_SECRET, NULL, NULL, "1.x password (prefer password_file)"},
    {"sink", "password_file", CFG_PATH, NULL, NULL, "file holding the password"},
    {"sink", "ca_file", CFG_PATH, NULL, NULL, "CA certificate to verify an https url with"},
    {"sink", "precision", CFG_ENUM, "ms", "ns|us|ms|s", "time stamp precision of the lines"},
    {"sink", "tags", CFG_LIST, NULL, NULL,
     "NAME=VALUE tags added to every point (default: console=<host name>)"},
    {"sink", "batch_size", CFG_INT, "5000", NULL, "points per request at most"},
    {"sink", "flush_interval", CFG_DURATION, "10s", NULL,
     "how often queued points are sent (sooner when batch_size points wait)"},
    {"sink", "queue_max", CFG_SIZE, "64M", NULL,
     "bound of the on-disk queue; beyond it the oldest batches are dropped and counted"},
    {"sink", "timeout", CFG_DURATION, "5s", NULL, "time a cycle may spend sending"},
    {"sink", "enabled", CFG_BOOL, "yes", NULL, "ship samples to this sink"},
    {NULL, NULL, 0, NULL, NULL, NULL},
};
