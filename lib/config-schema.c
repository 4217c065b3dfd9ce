/* The configuration schema: every section and key hmctl knows, with its type, default and a
 * one-line description. `hmctl config show` and hmctl.conf(5) follow this table; a test checks
 * that the man page documents every key listed here. Defaults describe a standard console host
 * (seeds/000: installer in /opt/installer, services in containers, port 10443). */
#include "lib/config.h"
#include "tui/tui.h"

#include <stddef.h>

const struct cfg_section_def hm_cfg_sections[] = {
    {"hmctl", false, NULL, "general settings", false},
    {"installer", false, NULL, "the console's installation directories (disk space view)", false},
    {"thresholds", false, NULL, "limits that turn a component warning or critical in status and check", false},
    {"docker", false, NULL, "the Docker Engine running the console's services", false},
    {"rabbitmq", false, NULL, "RabbitMQ management API", false},
    {"mariadb", false, NULL, "MariaDB server of the console", false},
    {"redis", false, NULL, "Redis server of the console", false},
    {"influxdb", false, NULL, "the console's own InfluxDB (watched, not written to)", false},
    {"port", true, "address", "a TCP port checked by connecting (and a TLS handshake)", false},
    {"tui", false, NULL, "the full-screen dashboard", false},
    {"console", true, NULL, "the console's REST API ([console], or [console \"NAME\"] per console or tenant)",
     true},
    {"ssh", false, NULL, "the SSH client: defaults for every [host]", false},
    {"host", true, "role, address",
     "a remote component polled over SSH: Sync Proxy, Linux Agent, Cloud Sync Gateway, Linux "
     "or jump host",
     false},
    {"drill", false, NULL, "plan files of drills and takeovers", false},
    {NULL, false, NULL, NULL, false},
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
    {"tui", "console_interval", CFG_DURATION, NULL, NULL,
     "time between two reads of the consoles (default: the refresh interval, slower for large "
     "fleets)"},
    {"tui", "color", CFG_BOOL, "yes", NULL, "use colours (NO_COLOR and --no-color also turn them off)"},
    {"console", "url", CFG_URL, "https://127.0.0.1:10443/hypermotion/v1", NULL,
     "base URL of the HyperMotion API"},
    {"console", "username", CFG_STRING, "admin", NULL, "user that requests the API token"},
    {"console", "password", CFG_SECRET, NULL, NULL, "password of that user (prefer password_file)"},
    {"console", "password_file", CFG_PATH, NULL, NULL, "file holding the password"},
    {"console", "ca_file", CFG_PATH, NULL, NULL, "CA certificate (PEM) that signed the console's certificate"},
    {"console", "fingerprint", CFG_STRING, NULL, NULL,
     "pinned SHA-256 fingerprint of the console's certificate (SHA256:base64 or hex)"},
    {"console", "insecure", CFG_BOOL, "no", NULL,
     "turn TLS verification off (every command using it warns)"},
    {"console", "connect_timeout", CFG_DURATION, "5s", NULL, "time allowed to connect"},
    {"console", "timeout", CFG_DURATION, "30s", NULL, "time allowed for one request"},
    {"console", "rpo_target", CFG_DURATION, "1h", NULL,
     "largest snapshot age before a host exceeds its RPO"},
    {"console", "rpo_target_hosts", CFG_STRING, NULL, NULL,
     "per-host RPO targets: \"PATTERN=DURATION, ...\", glob on the host name, first match wins"},
    {"console", "page_size", CFG_INT, "100", NULL, "hosts or jobs per page when paging"},
    {"console", "jobs_register", CFG_LIST, "Register", NULL, "job_type names of registrations"},
    {"console", "jobs_sync", CFG_LIST, "Sync", NULL, "job_type names of syncs"},
    {"console", "jobs_drill", CFG_LIST, "Drill, BootTest", NULL, "job_type names of drills (test boots)"},
    {"console", "jobs_takeover", CFG_LIST, "Takeover, BootFormal", NULL,
     "job_type names of takeovers (formal boots)"},
    {"console", "jobs_clean", CFG_LIST, "Clean", NULL, "job_type names of cleanups"},
    {"console", "jobs_unregister", CFG_LIST, "Unregister", NULL, "job_type names of unregistrations"},

    {"ssh", "username", CFG_STRING, NULL, NULL,
     "user to log in as on every host (default: the user running hmctl)"},
    {"ssh", "key", CFG_PATH, NULL, NULL, "private key file used for every host"},
    {"ssh", "known_hosts", CFG_PATH, NULL, NULL,
     "known_hosts file of the hosts' keys (default /etc/hmctl/known_hosts, or "
     "$XDG_CONFIG_HOME/hmctl/known_hosts for non-root)"},
    {"ssh", "connect_timeout", CFG_DURATION, "5s", NULL,
     "time allowed to connect, verify the host key and log in"},
    {"ssh", "command_timeout", CFG_DURATION, "10s", NULL,
     "time allowed for the commands of one poll of a host"},
    {"ssh", "keepalive", CFG_DURATION, "30s", NULL,
     "interval of keepalive messages on an idle session (0 for none)"},

    {"host", "role", CFG_ENUM, NULL, "sync_proxy|linux_agent|gateway|linux|jump",
     "what runs there, which decides what is checked"},
    {"host", "address", CFG_STRING, NULL, NULL, "host name or IP address"},
    {"host", "port", CFG_INT, "22", NULL, "SSH port"},
    {"host", "username", CFG_STRING, NULL, NULL, "user to log in as (default: [ssh] username)"},
    {"host", "key", CFG_PATH, NULL, NULL, "private key file (default: [ssh] key)"},
    {"host", "key_passphrase", CFG_SECRET, NULL, NULL,
     "passphrase of the key (prefer key_passphrase_file)"},
    {"host", "key_passphrase_file", CFG_PATH, NULL, NULL, "file holding the key's passphrase"},
    {"host", "password", CFG_SECRET, NULL, NULL,
     "password, tried when there is no key or it is refused (prefer password_file)"},
    {"host", "password_file", CFG_PATH, NULL, NULL, "file holding the password"},
    {"host", "known_hosts", CFG_PATH, NULL, NULL, "known_hosts file (default: [ssh] known_hosts)"},
    {"host", "connect_timeout", CFG_DURATION, NULL, NULL,
     "time allowed to connect and log in (default: [ssh] connect_timeout)"},
    {"host", "command_timeout", CFG_DURATION, NULL, NULL,
     "time allowed for one poll's commands (default: [ssh] command_timeout)"},
    {"host", "enabled", CFG_BOOL, "yes", NULL, "poll this host"},
    {"host", "compose_file", CFG_PATH, "/opt/hamal/docker-compose-hamal.yaml", NULL,
     "sync_proxy: the compose file of the Sync Proxy's services"},
    {"host", "compose", CFG_ENUM, "auto", "auto|v1|v2",
     "sync_proxy: docker-compose (v1 table), docker compose (v2, JSON) or whichever the host has"},
    {"host", "log_dir", CFG_PATH, NULL, NULL,
     "directory whose size is reported (default by role: /var/log/hamal, /var/log/egisplus-agent, "
     "/var/log/sgateway)"},
    {"host", "units", CFG_LIST, NULL, NULL,
     "systemd units that must be active (gateway default: s3block.service, watchman.service, "
     "hyper_exporter.service)"},
    {"host", "agent_unit", CFG_STRING, "egisplus-agent", NULL,
     "linux_agent: the agent's systemd unit"},
    {"host", "heartbeat_stale", CFG_DURATION, "10m", NULL,
     "linux_agent: a heartbeat value unchanged for this long is stale (0 turns the check off)"},
    {"drill", "plan_dir", CFG_PATH, "/etc/hmctl/plans", NULL,
     "directory of the plan files (NAME.plan) of drill and takeover"},
    {NULL, NULL, 0, NULL, NULL, NULL},
};

const struct cfg_check hm_cfg_checks[] = {
    {"tui", "keys", tui_keys_check},
    {NULL, NULL, NULL},
};
