#!/bin/sh
# The information `hmctl status` shows, gathered the way an operator would by hand: docker ps,
# curl against each HTTP API and the TLS port, the Redis and MariaDB clients, du and df.
# Sourced values come from the lab's env file ($1).
. "$1"
docker -H "unix://$LAB_DOCKER_SOCK" ps -a --filter "label=com.docker.compose.project=$LAB_DOCKER_PROJECT" \
	--format '{{.Names}} {{.Status}}'
curl -s -u "$LAB_RABBITMQ_USER:$(cat "$LAB_RABBITMQ_PASSWORD_FILE")" "$LAB_RABBITMQ_URL/api/queues" >/dev/null
curl -s -u "$LAB_RABBITMQ_USER:$(cat "$LAB_RABBITMQ_PASSWORD_FILE")" "$LAB_RABBITMQ_URL/api/overview" >/dev/null
curl -s -o /dev/null -w '%{http_code}\n' "$LAB_INFLUXDB_URL/ping"
curl -s -o /dev/null --cacert "$LAB_TLS_CERT" "https://localhost:$LAB_TLS_PORT/" -w '%{http_code}\n'
redis-cli -h 127.0.0.1 -p "$LAB_REDIS_PORT" ping
mariadb-admin -h 127.0.0.1 -P "$LAB_MARIADB_PORT" -u "$LAB_MARIADB_USER" \
	-p"$(cat "$LAB_MARIADB_PASSWORD_FILE")" ping 2>/dev/null
du -sh "$LAB_INSTALLER_DIR/logs" "$LAB_DIR/var-log-installer" "$LAB_DIR/installer"
df -h /
