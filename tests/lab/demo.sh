#!/bin/sh
# `make demo`: start a lab, show what runs where, and open hmctl on it: the TUI on a terminal,
# `hmctl status` otherwise. The lab is stopped on exit, also on Ctrl-C.
#
# HMCTL_DEMO_DIR picks the lab directory (kept afterwards); by default a temporary one is used
# and removed.
set -eu

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
case "$BUILD" in
/*) ;;
*) BUILD=$(pwd)/$BUILD ;;
esac

if [ -n "${HMCTL_DEMO_DIR:-}" ]; then
	DIR=$HMCTL_DEMO_DIR
	keep=1
else
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/hmctl-demo.XXXXXX")
	keep=0
fi

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	echo "demo: stopping the lab in $DIR"
	tests/lab/lab.sh down "$DIR" || true
	if [ "$keep" = 0 ] && ! grep -q " $DIR/" /proc/self/mounts; then
		rm -rf "$DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "demo: starting the lab in $DIR (RabbitMQ takes ~15 s)"
tests/lab/lab.sh up "$DIR" >/dev/null
# shellcheck source=/dev/null
. "$DIR/env"

cat <<INFO

Lab servers (127.0.0.1 only):
$(tests/lab/lab.sh status "$DIR" | sed 's/^/  /')

  docker    unix socket $LAB_DOCKER_SOCK
            project hyperbdr: ant-api (healthy), porter-api (unhealthy),
            owl-api (exited 3), proxy-api (no health check); plus 'unrelated'
  rabbitmq  AMQP $LAB_RABBITMQ_PORT, management $LAB_RABBITMQ_URL
            queues hm.tasks (12 messages), hm.events (empty); user hmctl
  mariadb   port $LAB_MARIADB_PORT, user hmctl
  redis     port $LAB_REDIS_PORT
  influxdb  $LAB_INFLUXDB_URL
  console   TLS on port $LAB_TLS_PORT (self-signed, CN localhost)
  config    $DIR/hmctl.conf

INFO

if [ -t 0 ] && [ -t 1 ]; then
	"$BUILD/hmctl" -c "$DIR/hmctl.conf" tui || echo "demo: hmctl tui exited with status $?"
else
	echo "demo: no terminal; running: hmctl status"
	"$BUILD/hmctl" -c "$DIR/hmctl.conf" status || echo "demo: hmctl status exited with status $?"
fi
