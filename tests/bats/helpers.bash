# Shared by every .bats file: `load helpers` at the top.
#
# The lab (tests/lab/lab.sh) is started once per run by tests/run-bats.sh, which exports
# LAB_DIR, HMCTL and HMSIM; its env file says which servers are up and on which ports.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

: "${LAB_DIR:?LAB_DIR is not set: run the suite with tests/run-bats.sh (make bats)}"
# shellcheck source=/dev/null
. "$LAB_DIR/env"

# hm ARGS...: the built hmctl against the lab's configuration.
hm() {
	"$HMCTL" -c "$LAB_DIR/hmctl.conf" "$@"
}

# require_lab NAME: skip the test, with the lab's reason, when server NAME (docker, rabbitmq,
# mariadb, redis, influxdb, tls) did not come up. A missing server is a visible skip, never a
# silent pass.
require_lab() {
	local upper state reason
	upper=$(echo "$1" | tr '[:lower:]' '[:upper:]')
	state=$(eval "echo \"\${LAB_$upper:-}\"")
	if [ "$state" != up ]; then
		reason=$(eval "echo \"\${LAB_${upper}_SKIP:-not started by the lab}\"")
		skip "$1 not available: $reason"
	fi
}

# docker_api PATH: a GET on the lab's Docker Engine API.
docker_api() {
	curl -fsS --max-time 5 --unix-socket "$LAB_DOCKER_SOCK" "http://localhost$1"
}

# rabbitmq_api PATH: a GET on the lab's RabbitMQ management API as the hmctl user.
rabbitmq_api() {
	curl -fsS --max-time 5 -u "hmctl:$(cat "$LAB_RABBITMQ_PASSWORD_FILE")" \
		"http://127.0.0.1:$LAB_RABBITMQ_MGMT_PORT/api$1"
}
