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
	if [ -f "$DIR/hmsim/pid" ]; then
		kill "$(cat "$DIR/hmsim/pid")" 2>/dev/null || true
	fi
	tests/lab/netns.sh down "$DIR/remote" || true
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

# The console API: hmsim with a fleet of 200 hosts whose jobs run 60 times faster than real
# time, trusted through the certificate it writes; the demo configuration points at it.
mkdir -p "$DIR/hmsim"
"$BUILD/hmsim" --port 0 --seed 7 --hosts 200 --gateways 3 --speed 60 \
	--cert-out "$DIR/hmsim/ca.pem" --ready-file "$DIR/hmsim/ready" --pid-file "$DIR/hmsim/pid" \
	>"$DIR/hmsim/log" 2>&1 &
i=0
while [ ! -s "$DIR/hmsim/ready" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -s "$DIR/hmsim/ready" ]; then
	umask 077
	echo admin >"$DIR/hmsim/password"
	cat >>"$DIR/hmctl.conf" <<CONF

[console]
url = $(cat "$DIR/hmsim/ready")
username = admin
password_file = $DIR/hmsim/password
ca_file = $DIR/hmsim/ca.pem
rpo_target = 6h
CONF
	console_line="hmsim $(cat "$DIR/hmsim/ready") (200 hosts, jobs 60x real time)"
else
	console_line="hmsim did not start: $(tail -n 1 "$DIR/hmsim/log" 2>/dev/null)"
fi

# Four SSH hosts for the REMOTE block, with stand-ins for the proprietary tools: a Sync Proxy
# with one service down, a Linux Agent printing the seed's sample, a gateway and a jump host.
CONF=$DIR/hmctl.conf
REMOTE_INFO="  remote    not available"
if tests/lab/netns.sh up "$DIR/remote" 4 2>"$DIR/netns.log"; then
	# shellcheck source=/dev/null
	. "$DIR/remote/env"
	printf 'hamal_worker_1|worker|python worker.py|Exit 1|\n' >>"$NETNS_H1_DIR/state/compose"
	echo seed >"$NETNS_H2_DIR/state/agent"
	CONF=$DIR/demo.conf
	(umask 077 && {
		cat "$DIR/hmctl.conf"
		printf '\n[ssh]\nusername = %s\nkey = %s\nknown_hosts = %s\n' \
			"$NETNS_USER" "$NETNS_KEY" "$NETNS_KNOWN_HOSTS"
		i=1
		for h in "proxy-1 sync_proxy" "agent-1 linux_agent" "gw-1 gateway" "bastion jump"; do
			set -- $h
			eval "addr=\$NETNS_H${i}_ADDR port=\$NETNS_H${i}_PORT dir=\$NETNS_H${i}_DIR"
			printf '\n[host "%s"]\nrole = %s\naddress = %s\nport = %s\n' "$1" "$2" "$addr" "$port"
			[ "$2" = jump ] || printf 'log_dir = %s/log\n' "$dir"
			i=$((i + 1))
		done
	} >"$CONF")
	REMOTE_INFO="  remote    4 SSH hosts ($NETNS_MODE): proxy-1 (worker Exit 1), agent-1, gw-1, bastion"
else
	REMOTE_INFO="  remote    not started: $(tail -n 1 "$DIR/netns.log")"
fi

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
  port      TLS on port $LAB_TLS_PORT (self-signed, CN localhost), as the console's 10443
  console   $console_line
$REMOTE_INFO
  config    $CONF

INFO

if [ -t 0 ] && [ -t 1 ]; then
	"$BUILD/hmctl" -c "$CONF" tui || echo "demo: hmctl tui exited with status $?"
else
	echo "demo: no terminal; running: hmctl status"
	"$BUILD/hmctl" -c "$CONF" status || echo "demo: hmctl status exited with status $?"
fi
