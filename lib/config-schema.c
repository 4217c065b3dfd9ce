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
    {"reload", false, NULL, "recreating the console's containers (hmctl reload)"},
    {"upgrade", false, NULL, "installing upgrade packages (hmctl upgrade)"},
    {"logs", false, NULL, "the log bundle of hmctl logs collect"},
    {"host", true, "address", "a remote component host reached over SSH"},
    {NULL, false, NULL, NULL},
};

const struct cfg_key hm_cfg_keys[] = {
    {"hmctl", "data_dir", CFG_PATH, NULL, NULL,
     "directory of the store (default /var/lib/hmctl, or $XDG_DATA_HOME/hmctl for non-root)"},
    {"hmctl", "interval", CFG_DURATION, "10s", NULL, "collection interval of tui"},
    {"hmctl", "timeout", CFG_DURATION, "5s", NULL, "time budget of each collector per cycle"},
    {"hmctl", "retention", CFG_DURATION, "14d", NULL, "how long samples are kept"},

    {"installer", "dir", CFG_PATH, "/opt/installer/production", NULL, "installer directory"},
    {"installer", "log_dirs", CFG_LIST, "/opt/installer/production/logs, /var/log/installer", NULL,
     "directories summed as log space"},
    {"installer", "program_dir", CFG_PATH, "/opt/installer", NULL, "directory summed as program space"},
    {"installer", "free_path", CFG_PATH, "/", NULL, "file system whose free space is shown"},
    {"installer", "config_dir", CFG_PATH, NULL, NULL,
     "the services' configuration directory (default DIR/config, DIR being [installer] dir)"},
    {"installer", "backup_dir", CFG_PATH, NULL, NULL,
     "where upgrade backups are kept (default DIR/databackup)"},

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

    {"reload", "timeout", CFG_DURATION, "120s", NULL,
     "how long a recreated container may take to be running and healthy"},
    {"reload", "stop_timeout", CFG_DURATION, "10s", NULL,
     "how long Docker waits for the old container to stop before killing it"},

    {"upgrade", "health_timeout", CFG_DURATION, "120s", NULL,
     "how long restarted services may take to be running and healthy after an upgrade"},
    {"upgrade", "keep_backups", CFG_INT, "5", NULL,
     "upgrade backups kept after a successful upgrade (0 keeps all)"},

    {"logs", "since", CFG_DURATION, "24h", NULL, "default period of logs collect"},
    {"logs", "components", CFG_LIST, "console, proxy, agent, gateway", NULL,
     "default components of logs collect"},
    {"logs", "max_file_size", CFG_SIZE, "64M", NULL,
     "largest part of one file put in the bundle (logs keep their end)"},
    {"logs", "max_total_size", CFG_SIZE, "1G", NULL,
     "largest total of the bundle's files before compression"},
    {"logs", "proxy_paths", CFG_LIST, "/etc/hamal/hamal.conf, /var/log/hamal", NULL,
     "Sync Proxy configuration files and log directories"},
    {"logs", "agent_paths", CFG_LIST,
     "/var/lib/egisplus-agent/config.ini, /var/log/egisplus-agent", NULL,
     "Linux Agent configuration files and log directories"},
    {"logs", "gateway_paths", CFG_LIST,
     "/var/lib/sgateway/config/s3block_config.ini, /var/log/sgateway", NULL,
     "Cloud Sync Gateway configuration files and log directories"},

    {"host", "role", CFG_ENUM, "linux", "sync_proxy|linux_agent|gateway|linux|jump",
     "what runs on the host"},
    {"host", "address", CFG_STRING, NULL, NULL, "host name or IP address"},
    {"host", "port", CFG_INT, "22", NULL, "SSH port"},
    {"host", "username", CFG_STRING, "root", NULL, "SSH user"},
    {"host", "key", CFG_PATH, NULL, NULL, "private key file"},
    {"host", "password", CFG_SECRET, NULL, NULL, "SSH password (prefer key or password_file)"},
    {"host", "password_file", CFG_PATH, NULL, NULL, "file holding the SSH password"},
    {"host", "known_hosts", CFG_PATH, NULL, NULL, "known_hosts file the host key is checked against"},
    {NULL, NULL, 0, NULL, NULL, NULL},
};
