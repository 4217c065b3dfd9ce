#!/bin/bash
# The test lab: real servers on 127.0.0.1 for one test run.
#
#   lab.sh up DIR       start every server under DIR, write DIR/env and DIR/hmctl.conf
#   lab.sh down DIR     stop everything `up` started (safe twice, safe after a partial up)
#   lab.sh status DIR   print which servers are up and why the others are not
#
# Every server is a plain background process (installing a Debian package never starts its
# service on CI machines) with its config, data, log and pid file under DIR, on a port chosen
# free at start. Nothing uses a fixed global path or port, so several labs (different DIRs) can
# run side by side on one machine. A server that cannot start does not fail `up`: DIR/env then
# says LAB_<NAME>_SKIP="reason" and tests skip with that reason instead of passing silently.
set -eu

PY=/usr/bin/python3          # Debian's Python; the python3 on PATH may be another one
LAB_SCRIPTS=$(cd "$(dirname "$0")" && pwd)
DOCKER=/usr/bin/docker       # Debian's client, matching the daemon from docker.io
SERVERS="docker rabbitmq mariadb redis influxdb tls smtp hook"

usage() {
	echo "usage: lab.sh up|down|status DIR" >&2
	exit 2
}

log() { echo "lab: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Small helpers

# Print N distinct free TCP ports on 127.0.0.1. All sockets are held open until every port is
# chosen, so one lab never gets the same port twice.
free_ports() {
	"$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# A random password of 24 letters and digits, safe in SQL, JSON and INI without quoting.
random_password() {
	LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24
}

# Quote a value for a shell `KEY=value` line that `.` or `source` reads back.
shquote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# wait_until SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds or time runs out.
# Every wait in the lab goes through here, so `up` can never hang.
wait_until() {
	local limit=$1 deadline
	shift
	deadline=$(($(date +%s) + limit))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.2
	done
}

# wait_up NAME SECONDS COMMAND...: like wait_until, for a server spawned as NAME, but gives up
# at once when the server has exited. Sets WHY to the reason on failure.
wait_up() {
	local name=$1 limit=$2 deadline
	shift 2
	deadline=$(($(date +%s) + limit))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if ! alive "$name"; then
			WHY="$name exited"
			return 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			WHY="$name did not answer within ${limit}s"
			return 1
		fi
		sleep 0.2
	done
}

# last_line FILE: the last non-empty line of a log, for a reason; else where to look.
last_line() {
	local l
	l=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-200)
	echo "${l:-see $1}"
}

# spawn NAME LOG COMMAND...: start COMMAND in the background in its own session (setsid), so
# `down` can stop it together with every child it forks by signalling the process group. The
# session id is recorded in DIR/pids/NAME.pid.
spawn() {
	local name=$1 logfile=$2
	shift 2
	setsid "$@" </dev/null >>"$logfile" 2>&1 &
	echo $! >"$LAB/pids/$name.pid"
}

# alive NAME: is the process recorded for NAME still running?
alive() {
	local pid
	pid=$(cat "$LAB/pids/$1.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Record the outcome of one server: "up", or the reason it is unavailable.
mark_up() { echo up >"$LAB/state/$1"; }
mark_skip() {
	log "$1 unavailable: $2"
	printf '%s\n' "$2" >"$LAB/state/$1"
}
# fail NAME REASON [PROCESS...]: stop what was started for NAME (a half-started server must not
# linger until `down`) and record the reason.
fail() {
	local name=$1 reason=$2
	shift 2
	stop "$name" "$@"
	mark_skip "$name" "$reason"
}

# ---------------------------------------------------------------------------------------------
# dockerd, a busybox image and the console's containers

docker_api() { curl -fsS --max-time 5 --unix-socket "$LAB/docker/docker.sock" "http://localhost$1"; }
dock() { DOCKER_HOST="unix://$LAB/docker/docker.sock" DOCKER_CONFIG="$LAB/docker/cli" "$DOCKER" "$@"; }
health_of() { docker_api "/containers/$1/json" | jq -er '.State.Health.Status'; }
health_is() { [ "$(health_of "$1")" = "$2" ]; }

start_docker() {
	local d=$LAB/docker
	command -v dockerd >/dev/null || { mark_skip docker "dockerd not installed"; return; }
	# Rootless dockerd needs a user namespace setup CI machines lack; do not even try.
	[ "$(id -u)" -eq 0 ] || { mark_skip docker "dockerd needs root"; return; }
	mkdir -p "$d/root" "$d/exec" "$d/cli" "$d/rootfs/bin"
	# Our own daemon.json keeps /etc/docker/daemon.json (machine-wide settings) out of the lab and
	# moves the daemon's identity key from /etc/docker/key.json into DIR. What dockerd still
	# touches outside DIR is shared by design and safe with several daemons: the plugin discovery
	# directory /run/docker/plugins (read only) and the shim sockets in /run/containerd/s (named
	# by a hash of our containerd socket path, so they never collide).
	printf '{ "deprecated-key-path": "%s" }\n' "$d/key.json" >"$d/daemon.json"
	# No iptables and no bridge: the lab must not change the machine's network. The daemon's own
	# socket, data, exec root (containerd, runc state, netns) and pid file all live under DIR,
	# which is what lets two labs' daemons run side by side.
	spawn docker "$d/dockerd.log" dockerd \
		--config-file "$d/daemon.json" \
		-H "unix://$d/docker.sock" \
		--data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
		--iptables=false --ip6tables=false --bridge=none \
		--shutdown-timeout 2 --log-level warn
	if ! wait_up docker 30 docker_api /_ping; then
		fail docker "$WHY: $(last_line "$d/dockerd.log")"
		return
	fi

	# No registry is reachable: the image is busybox-static with one symlink per applet.
	local applet
	cp /bin/busybox "$d/rootfs/bin/busybox" 2>/dev/null || {
		fail docker "no /bin/busybox (package busybox-static)"
		return
	}
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$d/rootfs/bin/$applet"
	done
	tar -C "$d/rootfs" -cf "$d/rootfs.tar" .
	if ! dock import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$d/rootfs.tar" hmlab/busybox:latest \
		>>"$d/setup.log" 2>&1; then
		fail docker "docker import of the busybox image failed: $(last_line "$d/setup.log")"
		return
	fi

	# The console's services as compose would label them, in the four states hmctl must tell
	# apart, plus one container of another project that hmctl must ignore. The long sleep is
	# bounded so a container left behind by a crashed run does not live forever.
	local hc='--health-interval=1s --health-retries=1 --health-timeout=1s'
	local ok=1
	run_ctr() {
		local name=$1 project=$2
		shift 2
		dock run -d --name "$name" \
			--label "com.docker.compose.project=$project" \
			--label "com.docker.compose.service=$name" \
			"$@" >>"$d/setup.log" 2>&1 || ok=0
	}
	# shellcheck disable=SC2086 # $hc is a list of options
	run_ctr ant-api hyperbdr --health-cmd=true $hc hmlab/busybox sleep 86400
	# shellcheck disable=SC2086
	run_ctr porter-api hyperbdr --health-cmd=false $hc hmlab/busybox sleep 86400
	run_ctr owl-api hyperbdr hmlab/busybox sh -c 'exit 3'
	run_ctr proxy-api hyperbdr hmlab/busybox sleep 86400
	run_ctr unrelated other hmlab/busybox sleep 86400
	if [ "$ok" = 0 ]; then
		fail docker "docker run failed: $(last_line "$d/setup.log")"
		return
	fi
	dock wait owl-api >>"$d/setup.log" 2>&1 || true
	# Health is only reported after the first check has run; wait for both verdicts.
	if ! wait_until 20 health_is ant-api healthy || ! wait_until 20 health_is porter-api unhealthy; then
		fail docker "container health did not settle within 20s"
		return
	fi
	mark_up docker
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ with the management plugin

rmq_api() {
	curl -fsS --max-time 5 -u "guest:guest" -H 'content-type: application/json' \
		"http://127.0.0.1:$RABBITMQ_MGMT_PORT/api$1" "${@:2}"
}
queue_has() { [ "$(rmq_api "/queues/%2F/$1" | jq -r '.messages // empty')" = "$2" ]; }

start_rabbitmq() {
	local d=$LAB/rabbitmq
	[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || {
		mark_skip rabbitmq "rabbitmq-server not installed"
		return
	}
	command -v epmd >/dev/null || { mark_skip rabbitmq "epmd not found"; return; }
	mkdir -p "$d/home" "$d/mnesia" "$d/log"
	cat >"$d/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$RABBITMQ_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBITMQ_MGMT_PORT
collect_statistics_interval = 1000
loopback_users.guest = true
EOF
	echo '[rabbitmq_management].' >"$d/enabled_plugins"
	: >"$d/rabbitmq-env.conf"

	# The lab's own epmd on its own port: the machine-wide one (4369) would be shared with other
	# labs and nobody could tell whose it is on `down`. Started first, RabbitMQ then finds it
	# running and does not start another.
	spawn epmd "$d/epmd.log" epmd -port "$RABBITMQ_EPMD_PORT" -address 127.0.0.1
	wait_until 5 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $RABBITMQ_EPMD_PORT), 1)" || true

	# The server binary directly, not the /usr/sbin wrapper (it switches user). The node name is
	# unique per lab; the distribution port is set explicitly because its default (AMQP port +
	# 20000) can overflow for a random port.
	spawn rabbitmq "$d/console.log" env \
		HOME="$d/home" \
		RABBITMQ_NODENAME="hmlab$RABBITMQ_PORT@localhost" \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_NODE_PORT="$RABBITMQ_PORT" \
		RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT" \
		ERL_EPMD_ADDRESS=127.0.0.1 \
		ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT" \
		RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" \
		RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
		RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
		RABBITMQ_MNESIA_BASE="$d/mnesia" \
		RABBITMQ_LOG_BASE="$d/log" \
		RABBITMQ_PID_FILE="$d/rabbitmq.pid" \
		ERL_CRASH_DUMP="$d/erl_crash.dump" \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
		/usr/lib/rabbitmq/bin/rabbitmq-server
	if ! wait_up rabbitmq 40 rmq_api /overview; then
		fail rabbitmq "$WHY (management API; logs in $d/log)" epmd
		return
	fi

	# The account hmctl uses, its password only in a 600 file, then the queues the tests look at.
	local pw i
	pw=$(random_password)
	(umask 077 && printf '%s\n' "$pw" >"$LAB/secrets/rabbitmq.password")
	if ! { rmq_api /users/hmctl -X PUT -d "{\"password\":\"$pw\",\"tags\":\"administrator\"}" &&
		rmq_api /permissions/%2F/hmctl -X PUT -d '{"configure":".*","write":".*","read":".*"}' &&
		rmq_api /queues/%2F/hm.tasks -X PUT -d '{"durable":true}' &&
		rmq_api /queues/%2F/hm.events -X PUT -d '{"durable":true}'; } >>"$d/setup.log" 2>&1; then
		fail rabbitmq "setting up user and queues failed: $(last_line "$d/setup.log")" epmd
		return
	fi
	for i in $(seq 1 12); do
		rmq_api /exchanges/%2F/amq.default/publish -X POST -d "{\"properties\":{\"delivery_mode\":2},\"routing_key\":\"hm.tasks\",\"payload\":\"task $i\",\"payload_encoding\":\"string\"}" \
			>>"$d/setup.log" 2>&1 || { fail rabbitmq "publishing to hm.tasks failed" epmd; return; }
	done
	# Queue statistics lag the publish by a collection interval or two.
	if ! wait_until 15 queue_has hm.tasks 12 || ! wait_until 5 queue_has hm.events 0; then
		fail rabbitmq "queue hm.tasks did not report 12 messages within 15s" epmd
		return
	fi
	mark_up rabbitmq
}

# ---------------------------------------------------------------------------------------------
# MariaDB

maria_root() { mariadb --no-defaults --socket="$LAB/mariadb/mysqld.sock" -uroot "$@"; }

start_mariadb() {
	local d=$LAB/mariadb
	command -v mariadbd >/dev/null || { mark_skip mariadb "mariadbd not installed"; return; }
	mkdir -p "$d/data" "$d/tmp"
	# --no-defaults keeps /etc/mysql out; root may log in over the lab's socket without a password.
	# The bootstrap server needs a private TMPDIR: two of them in a shared /tmp delete each
	# other's temporary tables ("Unknown table 'mysql.tmp_user_sys'") when labs start together.
	if ! TMPDIR="$d/tmp" mariadb-install-db --no-defaults --datadir="$d/data" --user="$(id -un)" \
		--auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1; then
		mark_skip mariadb "mariadb-install-db failed: $(grep -m1 'ERROR' "$d/install.log" || last_line "$d/install.log")"
		return
	fi
	spawn mariadb "$d/console.log" mariadbd --no-defaults --user="$(id -un)" \
		--datadir="$d/data" --tmpdir="$d/tmp" \
		--socket="$d/mysqld.sock" --pid-file="$d/mariadbd.pid" --log-error="$d/error.log" \
		--bind-address=127.0.0.1 --port="$MARIADB_PORT" --skip-networking=0 \
		--skip-log-bin --innodb-buffer-pool-size=16M --performance-schema=OFF
	if ! wait_up mariadb 30 maria_root -e 'SELECT 1'; then
		fail mariadb "$WHY: $(last_line "$d/error.log")"
		return
	fi
	local pw
	pw=$(random_password)
	(umask 077 && printf '%s\n' "$pw" >"$LAB/secrets/mariadb.password")
	if ! maria_root -e "CREATE USER 'hmctl'@'127.0.0.1' IDENTIFIED BY '$pw';
		GRANT SELECT, PROCESS, REPLICATION CLIENT ON *.* TO 'hmctl'@'127.0.0.1';" \
		>>"$d/setup.log" 2>&1; then
		fail mariadb "creating user hmctl failed: $(last_line "$d/setup.log")"
		return
	fi
	mark_up mariadb
}

# ---------------------------------------------------------------------------------------------
# Redis, InfluxDB, the TLS port

start_redis() {
	local d=$LAB/redis
	command -v redis-server >/dev/null || { mark_skip redis "redis-server not installed"; return; }
	mkdir -p "$d"
	# No persistence: nothing of a test run should outlive it.
	spawn redis "$d/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
		--dir "$d" --pidfile "$d/redis.pid" --daemonize no \
		--save '' --appendonly no --protected-mode yes
	if ! wait_up redis 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping; then
		fail redis "$WHY: $(last_line "$d/redis.log")"
		return
	fi
	mark_up redis
}

start_influxdb() {
	local d=$LAB/influxdb
	command -v influxd >/dev/null || { mark_skip influxdb "influxd not installed"; return; }
	mkdir -p "$d/meta" "$d/data" "$d/wal"
	# Debian's default listens on every interface and reports usage home: always our own config.
	cat >"$d/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$INFLUXDB_RPC_PORT"

[meta]
  dir = "$d/meta"

[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUXDB_PORT"
  log-enabled = false
EOF
	spawn influxdb "$d/influxd.log" influxd run -config "$d/influxdb.conf" -pidfile "$d/influxd.pid"
	if ! wait_up influxdb 15 curl -fsS --max-time 2 "http://127.0.0.1:$INFLUXDB_PORT/ping"; then
		fail influxdb "$WHY: $(last_line "$d/influxd.log")"
		return
	fi
	mark_up influxdb
}

start_tls() {
	local d=$LAB/tls
	mkdir -p "$d"
	if ! openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$d/key.pem" -out "$d/cert.pem" >"$d/openssl.log" 2>&1; then
		mark_skip tls "openssl could not make a certificate: $(last_line "$d/openssl.log")"
		return
	fi
	chmod 600 "$d/key.pem"
	# A threaded server, unlike `openssl s_server`, keeps accepting while one client stalls. It
	# answers any request with a short HTTP 200 so an HTTPS probe gets a complete response.
	cat >"$d/server.py" <<'EOF'
import socketserver, ssl, sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            conn = ctx.wrap_socket(self.request, server_side=True)
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 10\r\n\r\nhmlab tls\n")
            conn.close()
        except (OSError, ssl.SSLError):
            pass

class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

Server(("127.0.0.1", port), Handler).serve_forever()
EOF
	spawn tls "$d/server.log" "$PY" "$d/server.py" "$TLS_PORT" "$d/cert.pem" "$d/key.pem"
	if ! wait_up tls 10 curl -fsS --max-time 2 --cacert "$d/cert.pem" "https://localhost:$TLS_PORT/"; then
		fail tls "$WHY: $(last_line "$d/server.log")"
		return
	fi
	mark_up tls
}

# ---------------------------------------------------------------------------------------------
# Receivers of alert notifications: an SMTP sink and an HTTP receiver that checks signatures

# smtp_banner PORT: the SMTP server on PORT greets with 220.
smtp_banner() {
	"$PY" -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2)
sys.exit(0 if s.recv(512).startswith(b'220') else 1)" "$1"
}

start_smtp() {
	local d=$LAB/smtp
	"$PY" -c 'import aiosmtpd' 2>/dev/null || {
		mark_skip smtp "python3-aiosmtpd not installed for $PY"
		return
	}
	mkdir -p "$d"
	# Mailbox creates the Maildir (tmp, new, cur) only when the directory does not exist yet.
	spawn smtp "$d/smtp.log" "$PY" -m aiosmtpd -n -u -l "127.0.0.1:$SMTP_PORT" \
		-c aiosmtpd.handlers.Mailbox "$d/maildir"
	if ! wait_up smtp 15 smtp_banner "$SMTP_PORT"; then
		fail smtp "$WHY: $(last_line "$d/smtp.log")"
		return
	fi
	mark_up smtp
}

start_hook() {
	local d=$LAB/hook
	mkdir -p "$d/requests"
	(umask 077 && random_password >"$LAB/secrets/hook.secret" && echo >>"$LAB/secrets/hook.secret")
	spawn hook "$d/hook.log" "$PY" "$LAB_SCRIPTS/hookrecv.py" "$HOOK_PORT" "$d/requests" \
		"$LAB/secrets/hook.secret"
	if ! wait_up hook 10 curl -fsS --max-time 2 "http://127.0.0.1:$HOOK_PORT/ping"; then
		fail hook "$WHY: $(last_line "$d/hook.log")"
		return
	fi
	# the probe is not a notification
	rm -f "$d/requests/"*.json "$d/requests/.seq"
	mark_up hook
}

# An installer tree like /opt/installer, with files of known sizes (multiples of 4 KiB, so the
# apparent size and the blocks `du` counts agree) for the disk-space view.
make_installer() {
	local p=$LAB/installer/production v=$LAB/var-log-installer
	mkdir -p "$p/logs/ant-api" "$p/logs/porter-api" "$p/bin" "$v"
	mkfile() { head -c "$2" /dev/zero >"$1"; }
	mkfile "$p/logs/ant-api/ant-api.log" 1048576
	mkfile "$p/logs/porter-api/porter-api.log" 262144
	mkfile "$p/logs/owl-api.log" 65536
	mkfile "$v/install.log" 131072
	mkfile "$v/upgrade.log" 16384
	mkfile "$p/bin/hyperbdr-console" 524288
	mkfile "$p/docker-compose.yml" 4096
	INSTALLER_LOGS_BYTES=$((1048576 + 262144 + 65536))
	VAR_LOG_INSTALLER_BYTES=$((131072 + 16384))
	PROGRAM_BYTES=$((INSTALLER_LOGS_BYTES + 524288 + 4096))
}

# ---------------------------------------------------------------------------------------------
# up, down, status

write_env() {
	local f=$LAB/env.tmp name upper state
	{
		echo "# Written by tests/lab/lab.sh up; source it."
		for kv in \
			"LAB_DIR=$LAB" \
			"LAB_CONF=$LAB/hmctl.conf" \
			"LAB_DOCKER_SOCK=$LAB/docker/docker.sock" \
			"LAB_DOCKER_PROJECT=hyperbdr" \
			"LAB_RABBITMQ_PORT=$RABBITMQ_PORT" \
			"LAB_RABBITMQ_MGMT_PORT=$RABBITMQ_MGMT_PORT" \
			"LAB_RABBITMQ_EPMD_PORT=$RABBITMQ_EPMD_PORT" \
			"LAB_RABBITMQ_URL=http://127.0.0.1:$RABBITMQ_MGMT_PORT" \
			"LAB_RABBITMQ_USER=hmctl" \
			"LAB_RABBITMQ_PASSWORD_FILE=$LAB/secrets/rabbitmq.password" \
			"LAB_MARIADB_PORT=$MARIADB_PORT" \
			"LAB_MARIADB_SOCKET=$LAB/mariadb/mysqld.sock" \
			"LAB_MARIADB_USER=hmctl" \
			"LAB_MARIADB_PASSWORD_FILE=$LAB/secrets/mariadb.password" \
			"LAB_REDIS_PORT=$REDIS_PORT" \
			"LAB_INFLUXDB_PORT=$INFLUXDB_PORT" \
			"LAB_INFLUXDB_URL=http://127.0.0.1:$INFLUXDB_PORT" \
			"LAB_TLS_PORT=$TLS_PORT" \
			"LAB_TLS_CERT=$LAB/tls/cert.pem" \
			"LAB_CLOSED_PORT=$CLOSED_PORT" \
			"LAB_INSTALLER_DIR=$LAB/installer/production" \
			"LAB_INSTALLER_LOGS_BYTES=$INSTALLER_LOGS_BYTES" \
			"LAB_VAR_LOG_INSTALLER_BYTES=$VAR_LOG_INSTALLER_BYTES" \
			"LAB_PROGRAM_BYTES=$PROGRAM_BYTES" \
			"LAB_SMTP_PORT=$SMTP_PORT" \
			"LAB_SMTP_MAILDIR=$LAB/smtp/maildir" \
			"LAB_HOOK_PORT=$HOOK_PORT" \
			"LAB_HOOK_URL=http://127.0.0.1:$HOOK_PORT" \
			"LAB_HOOK_DIR=$LAB/hook/requests" \
			"LAB_HOOK_SECRET_FILE=$LAB/secrets/hook.secret"; do
			echo "${kv%%=*}=$(shquote "${kv#*=}")"
		done
		for name in $SERVERS; do
			upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
			state=$(cat "$LAB/state/$name" 2>/dev/null || echo "did not report (start aborted)")
			if [ "$state" = up ]; then
				echo "LAB_$upper=up"
			else
				echo "LAB_$upper=unavailable"
				echo "LAB_${upper}_SKIP=$(shquote "$state")"
			fi
		done
	} >"$f"
	mv "$f" "$LAB/env"
}

write_conf() {
	# The keys are hmctl's configuration contract (DESIGN.md section 3).
	(umask 077 && cat >"$LAB/hmctl.conf" <<EOF
[hmctl]
data_dir = $LAB/data
interval = 2s
timeout = 5s

[installer]
dir = $LAB/installer/production
log_dirs = $LAB/installer/production/logs, $LAB/var-log-installer
program_dir = $LAB/installer

[docker]
socket = $LAB/docker/docker.sock
project = hyperbdr

[rabbitmq]
url = http://127.0.0.1:$RABBITMQ_MGMT_PORT
username = hmctl
password_file = $LAB/secrets/rabbitmq.password

[mariadb]
host = 127.0.0.1
port = $MARIADB_PORT
username = hmctl
password_file = $LAB/secrets/mariadb.password

[redis]
host = 127.0.0.1
port = $REDIS_PORT

[influxdb]
url = http://127.0.0.1:$INFLUXDB_PORT

[port "console"]
address = 127.0.0.1:$TLS_PORT
tls = yes
ca_file = $LAB/tls/cert.pem
EOF
	)
	chmod 600 "$LAB/hmctl.conf"
}

cmd_up() {
	local name pid
	for name in $SERVERS epmd; do
		if alive "$name"; then
			log "a lab is already running in $LAB ($name); run: lab.sh down $LAB"
			exit 1
		fi
	done
	mkdir -p "$LAB/pids" "$LAB/state" "$LAB/data" "$LAB/secrets"
	chmod 700 "$LAB/secrets"
	rm -f "$LAB"/state/*

	# shellcheck disable=SC2046 # one word per port
	set -- $(free_ports 12)
	RABBITMQ_PORT=$1 RABBITMQ_MGMT_PORT=$2 RABBITMQ_DIST_PORT=$3 RABBITMQ_EPMD_PORT=$4
	MARIADB_PORT=$5 REDIS_PORT=$6 INFLUXDB_PORT=$7 INFLUXDB_RPC_PORT=$8 TLS_PORT=$9
	CLOSED_PORT=${10} # chosen free and left closed: a port that refuses connections
	SMTP_PORT=${11} HOOK_PORT=${12}

	make_installer
	# The config and env exist from the start, so tests and `down` work even if a start aborts.
	write_conf
	write_env

	# Every server starts at once (RabbitMQ alone takes ~10 s); each start bounds its own waits.
	local pids=""
	for name in $SERVERS; do
		"start_$name" >>"$LAB/lab.log" 2>&1 &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || true
	done
	write_env
	cmd_status
}

# stop NAME...: TERM each recorded process group, wait (RabbitMQ takes 6-8 s to shut down),
# then KILL whatever is left. Only processes the lab recorded are signalled.
stop() {
	local name pid left deadline
	for name in "$@"; do
		pid=$(cat "$LAB/pids/$name.pid" 2>/dev/null) || continue
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	deadline=$(($(date +%s) + 20))
	while :; do
		left=""
		for name in "$@"; do
			alive "$name" && left="$left $name"
		done
		[ -z "$left" ] && break
		if [ "$(date +%s)" -ge "$deadline" ]; then
			log "killing$left"
			for name in $left; do
				pid=$(cat "$LAB/pids/$name.pid")
				kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
			done
			sleep 0.5
			break
		fi
		sleep 0.2
	done
	for name in "$@"; do
		alive "$name" || rm -f "$LAB/pids/$name.pid"
	done
}

cmd_down() {
	[ -d "$LAB/pids" ] || return 0
	# Containers first, with SIGKILL: `sleep` as PID 1 ignores SIGTERM, and dockerd would
	# otherwise wait out each container's stop timeout.
	if alive docker && [ -S "$LAB/docker/docker.sock" ]; then
		local ids
		ids=$(docker_api '/containers/json?all=1' 2>/dev/null | jq -r '.[].Id' 2>/dev/null || true)
		for id in $ids; do
			curl -fsS --max-time 10 --unix-socket "$LAB/docker/docker.sock" \
				-X DELETE "http://localhost/containers/$id?force=1" >/dev/null 2>&1 || true
		done
	fi
	stop docker rabbitmq mariadb redis influxdb tls smtp hook
	# epmd after RabbitMQ, which deregisters from it on the way down. Should ours have died
	# early, Erlang started one of its own on the lab's epmd port: ask that one to exit too.
	stop epmd
	local epmd_port
	epmd_port=$(sed -n "s/^LAB_RABBITMQ_EPMD_PORT='\([0-9]*\)'$/\1/p" "$LAB/env" 2>/dev/null || true)
	if [ -n "$epmd_port" ] && command -v epmd >/dev/null; then
		epmd -port "$epmd_port" -kill >/dev/null 2>&1 || true
	fi
	# dockerd leaves its exec root's network namespace (and, after a crash, container mounts)
	# mounted; unmount everything below DIR, deepest first, and nothing else.
	local real m
	real=$(cd "$LAB" && pwd -P)
	awk -v p="$real/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "cannot unmount $m"
		done
	return 0
}

cmd_status() {
	local name upper state
	if [ ! -f "$LAB/env" ]; then
		echo "no lab in $LAB"
		return 1
	fi
	for name in $SERVERS; do
		upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
		state=$(cat "$LAB/state/$name" 2>/dev/null || echo "not started")
		if [ "$state" = up ] && ! alive "$name"; then
			state="stopped"
		fi
		if [ "$state" = up ]; then
			printf '%-9s up\n' "$name"
		elif [ "$state" = stopped ]; then
			printf '%-9s stopped\n' "$name"
		else
			printf '%-9s unavailable: %s\n' "$name" "$state"
		fi
	done
}

[ $# -eq 2 ] || usage
if [ "$1" = up ]; then
	mkdir -p "$2"
elif [ ! -d "$2" ]; then
	# Nothing was ever started there: `down` has nothing to do, `status` nothing to show.
	[ "$1" = down ] && exit 0
	echo "no lab in $2"
	exit 1
fi
LAB=$(cd "$2" && pwd)
case "$1" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac
