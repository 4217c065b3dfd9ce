#!/usr/bin/env bats
# The remote components over SSH against real sshd hosts (tests/lab/netns.sh): each host a
# network namespace of its own with its sshd (or, without root, an sshd on a loopback port). The
# Sync Proxy's compose project, the Linux Agent's egisplus-cli and the gateway's systemd units
# are proprietary and cannot run here: every host has stand-ins for egisplus-cli, systemctl,
# docker-compose and docker early in its PATH (tests/lab/standins) that print the seed guide's
# formats, and each test selects their variant through the host's state directory.
#
#   h1 proxy-1  sync_proxy    docker-compose 1.x table, every service Up
#   h2 proxy-2  sync_proxy    docker compose v2 JSON (one object per line), a service Exit 1
#   h3 agent-1  linux_agent   the seed's `egisplus-cli agent check` sample, verbatim
#   h4 agent-2  linux_agent   agent not registered
#   h5 gw-1     gateway       s3block, watchman, hyper_exporter active (running)
#   h6 gw-2     gateway       watchman.service failed
#   h7 agent-3  linux_agent   heartbeat that never moves; also the stuck tool of the hang test
#   h8 linux-1  linux         the host cut off mid-run

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

setup_file() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export ROOT
	HMCTL=$(realpath "${HMCTL:-$ROOT/build/hmctl}")
	export HMCTL
	R=$BATS_FILE_TMPDIR/hosts
	export R
	if ! command -v /usr/sbin/sshd >/dev/null; then
		echo "sshd is not installed (package openssh-server)" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	if ! "$ROOT/tests/lab/netns.sh" up "$R" 8 2>"$BATS_FILE_TMPDIR/netns.log"; then
		echo "the test hosts did not start: $(tail -n 1 "$BATS_FILE_TMPDIR/netns.log")" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	# shellcheck source=/dev/null
	. "$R/env"
	H() { eval "echo \"\$NETNS_H$1_$2\""; }
	echo v2-lines >"$(H 2 DIR)/state/compose.flavour"
	cat >"$(H 2 DIR)/state/compose" <<-'EOF'
	hamal-hamal-api-1|hamal-api|/opt/hamal/hamal-venv/bin/ ...|Up (healthy)|0.0.0.0:8080->8080/tcp
	hamal-hamal-period-1|hamal-period|/opt/hamal/hamal-venv/bin/ ...|Up|
	hamal-worker-1|worker|python worker.py|Exit 1|
	EOF
	echo seed >"$(H 3 DIR)/state/agent"
	echo unregistered >"$(H 4 DIR)/state/agent"
	echo "failed failed" >"$(H 6 DIR)/state/units/watchman.service"
	echo stale >"$(H 7 DIR)/state/agent"

	# Only the remote hosts: the console's own services are switched off or absent.
	CONF=$BATS_FILE_TMPDIR/hmctl.conf
	export CONF
	{
		cat <<-EOF
		[hmctl]
		data_dir = $BATS_FILE_TMPDIR/data
		timeout = 2s
		[docker]
		socket = $BATS_FILE_TMPDIR/no-docker.sock
		[rabbitmq]
		enabled = no
		[mariadb]
		enabled = no
		[redis]
		enabled = no
		[influxdb]
		enabled = no
		[installer]
		log_dirs = $BATS_FILE_TMPDIR
		program_dir = $BATS_FILE_TMPDIR
		[thresholds]
		; the test machine's own load must not colour the hosts' states
		cpu_warning = 101
		cpu_critical = 101
		memory_warning = 101
		memory_critical = 101
		disk_warning = 101
		disk_critical = 101
		[ssh]
		username = $NETNS_USER
		key = $NETNS_KEY
		known_hosts = $NETNS_KNOWN_HOSTS
		connect_timeout = 2s
		command_timeout = 5s
		EOF
		host() {
			printf '[host "%s"]\nrole = %s\naddress = %s\nport = %s\nlog_dir = %s/log\n' \
				"$1" "$2" "$(H "$3" ADDR)" "$(H "$3" PORT)" "$(H "$3" DIR)"
		}
		host proxy-1 sync_proxy 1
		host proxy-2 sync_proxy 2
		host agent-1 linux_agent 3
		host agent-2 linux_agent 4
		host gw-1 gateway 5
		host gw-2 gateway 6
		host agent-3 linux_agent 7
		echo "heartbeat_stale = 1s"
		echo "command_timeout = 2s"
		host linux-1 linux 8
	} >"$CONF"
	chmod 600 "$CONF"
}

teardown_file() {
	[ -z "${R:-}" ] || "$ROOT/tests/lab/netns.sh" down "$R" || true
}

setup() {
	if [ -f "$BATS_FILE_TMPDIR/skip" ]; then
		skip "$(cat "$BATS_FILE_TMPDIR/skip")"
	fi
	# shellcheck source=/dev/null
	. "$R/env"
	D=$BATS_TEST_TMPDIR
}

H() { eval "echo \"\$NETNS_H$1_$2\""; }

# component NAME FIELD: one field of a component in a status --json document on stdin.
component() {
	jq -er --arg n "$1" ".components[] | select(.name == \$n) | .$2"
}

# accepted I: how many logins host I's sshd has accepted so far.
accepted() {
	grep -c 'Accepted publickey' "$(H "$1" DIR)/sshd.log" || true
}

@test "remote: each role's states appear in status --json" {
	run "$HMCTL" -c "$CONF" status --json
	assert_success
	echo "$output" >"$D/status.json"
	check() { # NAME KIND STATE DETAIL-PART
		assert_equal "$(component "$1" kind <"$D/status.json")" "$2"
		assert_equal "$(component "$1" state <"$D/status.json")" "$3"
		[[ "$(component "$1" detail <"$D/status.json")" == *"$4"* ]] ||
			fail "detail of $1: $(component "$1" detail <"$D/status.json") lacks '$4'"
	}
	check proxy-1 sync_proxy ok "4 services Up"
	check proxy-2 sync_proxy critical "hamal-worker-1 Exit 1; 2 of 3 services Up"
	check agent-1 linux_agent ok "agent started, iSCSI started, registered, not protected, heartbeat 305; fs / 4%, /boot 16%"
	check agent-2 linux_agent critical "agent not registered"
	check gw-1 gateway ok "3 units active (running)"
	check gw-2 gateway critical "watchman.service failed (failed); 2 of 3 units active"
	check linux-1 linux ok "cpu "
	# the samples carry host="NAME", so resource rules apply to them as to the console
	m() { jq -er --arg k "$1" '.metrics[$k]' <"$D/status.json"; }
	assert_equal "$(m 'remote.up{host="proxy-1"}')" 1
	m 'host.cpu.percent{host="proxy-1"}' >/dev/null
	m 'host.memory.percent{host="gw-1"}' >/dev/null
	m 'host.disk.root.percent{host="agent-1"}' >/dev/null
	m 'host.load1{host="linux-1"}' >/dev/null
	assert_equal "$(m 'compose.service.up{host="proxy-2",service="hamal-worker-1"}')" 0
	assert_equal "$(m 'compose.services.up{host="proxy-2"}')" 2
	assert_equal "$(m 'agent.registered{host="agent-2"}')" 0
	assert_equal "$(m 'agent.heartbeat{host="agent-1"}')" 305
	assert_equal "$(m 'agent.fs.percent{host="agent-1",mount="/boot"}')" 16
	assert_equal "$(m 'systemd.unit.active{host="gw-2",unit="watchman.service"}')" 0
	assert_equal "$(m 'systemd.unit.active{host="agent-1",unit="egisplus-agent.service"}')" 1
	# the log directory as du counts it: 184 + 12 KiB of files and the directory itself
	[ "$(m 'remote.logs.bytes{host="proxy-1"}')" -ge 200704 ]
}

@test "remote: status groups the hosts under their roles" {
	run "$HMCTL" -c "$CONF" status
	assert_success
	assert_line --regexp '^REMOTE +HOST +STATE +DETAIL$'
	assert_line --regexp '^Sync Proxy +proxy-1 +ok +4 services Up; logs [0-9.]+K '
	assert_line --regexp '^ +proxy-2 +critical +hamal-worker-1 Exit 1'
	assert_line --regexp '^Linux Agent +agent-1 +ok '
	assert_line --regexp '^Cloud Sync Gateway +gw-1 +ok +3 units active \(running\)'
	assert_line --regexp '^Linux +linux-1 +ok '
	# not also in the console's component list
	refute_line --regexp '^proxy-1 '
}

@test "remote: hmctl remote lists role, address, state and detail; --json too" {
	run "$HMCTL" -c "$CONF" remote gw-2 proxy-1
	assert_success
	assert_line --index 0 --regexp '^HOST +ROLE +ADDRESS +STATE +DETAIL$'
	assert_line --index 1 --regexp "^gw-2 +gateway +$NETNS_USER@$(H 6 ADDR):$(H 6 PORT) +critical +watchman.service failed"
	assert_line --index 2 --regexp "^proxy-1 +sync_proxy +$NETNS_USER@$(H 1 ADDR):$(H 1 PORT) +ok "
	run "$HMCTL" -c "$CONF" remote --json agent-2
	assert_success
	assert_equal "$(jq -r '.hosts[0] | "\(.name) \(.role) \(.address) \(.state) \(.status)"' <<<"$output")" \
		"agent-2 linux_agent $(H 4 ADDR) critical up"
	assert_equal "$(jq -r '.hosts[0].metrics["agent.registered{host=\"agent-2\"}"]' <<<"$output")" 0
	run "$HMCTL" -c "$CONF" remote nosuch
	assert_failure 1
	assert_output --partial "no [host \"nosuch\"] in the configuration; the hosts are: proxy-1, proxy-2"
}

@test "remote: a heartbeat that does not move is stale after heartbeat_stale" {
	# a store of its own: the heartbeat first seen now, not by an earlier test
	sed "s|^data_dir = .*|data_dir = $D/data|" "$CONF" >"$D/hmctl.conf"
	chmod 600 "$D/hmctl.conf"
	run "$HMCTL" -c "$D/hmctl.conf" remote --json -n 2 -i 1500ms agent-3
	assert_success
	jq -s . <<<"$output" >"$D/cycles.json"
	assert_equal "$(jq -r '.[0].hosts[0].state' "$D/cycles.json")" ok
	assert_equal "$(jq -r '.[1].hosts[0].state' "$D/cycles.json")" critical
	assert_regex "$(jq -r '.[1].hosts[0].detail' "$D/cycles.json")" '^heartbeat stale \(305 unchanged for [0-9]+s\)'
}

@test "remote: the sessions stay open across cycles; one-shot commands connect once" {
	local before
	before=$(accepted 1)
	run "$HMCTL" -c "$CONF" remote -n 3 -i 300ms proxy-1
	assert_success
	assert_equal "$(accepted 1)" $((before + 1))
	run "$HMCTL" -c "$CONF" status
	assert_success
	assert_equal "$(accepted 1)" $((before + 2))
}

@test "remote: tui keeps its sessions open between refreshes" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	local sock="hmctl-remote-$$" before
	before=$(accepted 5)
	tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 40 \
		"TERM=screen '$HMCTL' -c '$CONF' tui -n 4 -i 500ms; echo \$? > '$D/rc'"
	for _ in $(seq 200); do
		[ -s "$D/rc" ] && break
		sleep 0.1
	done
	tmux -L "$sock" kill-server 2>/dev/null || true
	assert_equal "$(cat "$D/rc")" 0
	# four polls of every host, one login each
	assert_equal "$(accepted 5)" $((before + 1))
}

@test "remote: an unknown host key is refused with its SHA256 fingerprint; ssh trust --yes records it" {
	local fp kh=$D/known_hosts
	fp=$(ssh-keygen -lf "$(H 1 DIR)/ssh_host_ed25519_key.pub" | cut -d' ' -f2)
	grep -v "$(cut -d' ' -f2 "$(H 1 DIR)/ssh_host_ed25519_key.pub")" "$NETNS_KNOWN_HOSTS" >"$kh"
	sed "s|^known_hosts = .*|known_hosts = $kh|" "$CONF" >"$D/hmctl.conf"
	chmod 600 "$D/hmctl.conf"

	run "$HMCTL" -c "$D/hmctl.conf" remote proxy-1
	assert_success
	assert_line --regexp "^proxy-1 +sync_proxy +.* host key unknown +host key of 'proxy-1' "
	assert_line --partial "host key of 'proxy-1' ($(H 1 ADDR):$(H 1 PORT)) is not known: ED25519 key $fp is not in $kh; verify it, then run 'hmctl ssh trust proxy-1'"
	run "$HMCTL" -c "$D/hmctl.conf" status --json
	assert_equal "$(component proxy-1 state <<<"$output")" critical
	assert_equal "$(component proxy-1 status <<<"$output")" "host key unknown"

	# without a terminal and without --yes nothing is recorded, but the key is shown
	run "$HMCTL" -c "$D/hmctl.conf" ssh trust proxy-1 </dev/null
	assert_failure 1
	assert_line "  $fp"
	assert_line --partial "no terminal to confirm on"
	run "$HMCTL" -c "$D/hmctl.conf" ssh trust proxy-1 --fingerprint SHA256:AAAAnotit
	assert_failure 1
	assert_line --partial "has fingerprint $fp, not SHA256:AAAAnotit; nothing recorded"
	run "$HMCTL" -c "$D/hmctl.conf" remote proxy-1
	assert_line --partial "host key unknown"

	run "$HMCTL" -c "$D/hmctl.conf" ssh trust proxy-1 --yes
	assert_success
	assert_line "  $fp"
	assert_line "Recorded in $kh."
	# recorded as OpenSSH does: ssh itself accepts the file
	run ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" \
		-i "$NETNS_KEY" -p "$(H 1 PORT)" "$NETNS_USER@$(H 1 ADDR)" true
	assert_success
	run "$HMCTL" -c "$D/hmctl.conf" remote proxy-1
	assert_line --regexp '^proxy-1 +sync_proxy +.* ok +4 services Up'
	run "$HMCTL" -c "$D/hmctl.conf" ssh trust proxy-1
	assert_success
	assert_line "It is already trusted in $kh."
}

@test "remote: a changed host key is refused; only --replace records the new one" {
	local kh=$D/known_hosts other
	other=$(cut -d' ' -f1,2 "$(H 2 DIR)/ssh_host_ed25519_key.pub")
	# proxy-1's address recorded with proxy-2's key: what a man in the middle would look like
	awk -v a="$(H 1 ADDR)" -v p="$(H 1 PORT)" -v k="$other" '
		{ name = (p == 22) ? a : "[" a "]:" p }
		$1 == name { print name " " k; next } { print }' "$NETNS_KNOWN_HOSTS" >"$kh"
	sed "s|^known_hosts = .*|known_hosts = $kh|" "$CONF" >"$D/hmctl.conf"
	chmod 600 "$D/hmctl.conf"
	run "$HMCTL" -c "$D/hmctl.conf" remote proxy-1
	assert_line --partial "host key changed  HOST KEY CHANGED for 'proxy-1'"
	assert_line --partial "refusing to connect"
	run "$HMCTL" -c "$D/hmctl.conf" ssh trust proxy-1 --yes
	assert_failure 1
	assert_line --partial "WARNING: it differs from the ED25519 key recorded at $kh:1"
	assert_line --partial "run 'hmctl ssh trust proxy-1 --replace'"
	run "$HMCTL" -c "$D/hmctl.conf" ssh trust proxy-1 --yes --replace
	assert_success
	# the old entry is gone, every other line is kept
	assert_equal "$(wc -l <"$kh")" "$(wc -l <"$NETNS_KNOWN_HOSTS")"
	run "$HMCTL" -c "$D/hmctl.conf" remote proxy-1
	assert_line --regexp '^proxy-1 +sync_proxy +.* ok '
}

@test "remote: a host cut off mid-run is unreachable within its timeout; the others land in the same cycle" {
	# three polls on open sessions, the host cut off after the first
	"$HMCTL" -c "$CONF" -v remote --json -n 3 -i 2500ms linux-1 proxy-1 gw-1 >"$D/out" 2>"$D/err" &
	local pid=$!
	for _ in $(seq 100); do
		grep -q '^poll 1\|poll 1:' "$D/err" && break
		sleep 0.1
	done
	"$ROOT/tests/lab/netns.sh" cut "$R" 8
	wait "$pid"
	"$ROOT/tests/lab/netns.sh" restore "$R" 8
	jq -s . "$D/out" >"$D/cycles.json"
	st() { jq -r --arg n "$2" ".[$1].hosts[] | select(.name == \$n) | .$3" "$D/cycles.json"; }
	assert_equal "$(st 0 linux-1 status)" up
	assert_equal "$(st 1 linux-1 state)" critical
	assert_equal "$(st 1 linux-1 status)" unreachable
	assert_regex "$(st 1 linux-1 detail)" "^unreachable \(timeout after 2 s\) at $(H 8 ADDR):$(H 8 PORT)"
	# the other hosts' samples are in that same cycle
	assert_equal "$(st 1 proxy-1 status)" up
	assert_equal "$(jq -r '.[1].hosts[] | select(.name == "proxy-1") | .metrics["host.cpu.percent{host=\"proxy-1\"}"] | type' "$D/cycles.json")" number
	assert_equal "$(jq -r '.[1].hosts[] | select(.name == "gw-1") | .metrics["remote.up{host=\"gw-1\"}"]' "$D/cycles.json")" 1
	# and the cycle took the dead host's connect timeout, not more
	local ms
	ms=$(sed -n 's/.*poll 2: 3 hosts in \([0-9]*\) ms/\1/p' "$D/err")
	[ -n "$ms" ] && [ "$ms" -lt 3500 ] || fail "poll 2 took ${ms:-?} ms: $(cat "$D/err")"
}

@test "remote: one-shot status with a dead host waits its connect timeout and reports the rest" {
	"$ROOT/tests/lab/netns.sh" cut "$R" 8
	local start=$SECONDS
	run "$HMCTL" -c "$CONF" status --json
	local took=$((SECONDS - start))
	"$ROOT/tests/lab/netns.sh" restore "$R" 8
	assert_success
	assert_equal "$(component linux-1 status <<<"$output")" unreachable
	assert_regex "$(component linux-1 detail <<<"$output")" '^unreachable \(timeout after 2 s\)'
	assert_equal "$(component gw-1 state <<<"$output")" ok
	[ "$took" -le 5 ] || fail "status took ${took}s"
}

@test "remote: a command that hangs is cut at the command timeout and the rest still reports" {
	local dir
	dir=$(H 7 DIR)
	echo hang >"$dir/state/agent"
	local start=$SECONDS
	run "$HMCTL" -c "$CONF" remote --json agent-3
	local took=$((SECONDS - start))
	echo stale >"$dir/state/agent"
	assert_success
	assert_equal "$(jq -r '.hosts[0].state' <<<"$output")" critical
	assert_equal "$(jq -r '.hosts[0].status' <<<"$output")" up
	assert_regex "$(jq -r '.hosts[0].detail' <<<"$output")" '^egisplus-cli agent check timed out after 2 s \(command_timeout\); egisplus-agent.service active \(running\)'
	assert_equal "$(jq -r '.hosts[0].metrics["remote.up{host=\"agent-3\"}"]' <<<"$output")" 1
	[ "$took" -le 5 ] || fail "took ${took}s"
	# the stuck tool was killed on the host, not left behind
	if [ "$NETNS_MODE" = netns ]; then
		run bash -c "ip netns pids hml$(cat "$R/octet")h7 | xargs -r ps -o args= -p"
		refute_output --partial "sleep 600"
	fi
}

@test "remote: a refused key and a login that runs no command are said as such" {
	local ak
	ak=$(H 8 DIR)/authorized_keys
	cp "$ak" "$D/authorized_keys"
	# a forced command, as an administrator might set for a locked-down account
	sed 's/^/command="echo This account is currently not available.; exit 1" /' "$D/authorized_keys" >"$ak"
	run "$HMCTL" -c "$CONF" remote --json linux-1
	assert_equal "$(jq -r '.hosts[0] | "\(.state) \(.status)"' <<<"$output")" "critical up"
	assert_equal "$(jq -r '.hosts[0].detail' <<<"$output")" \
		"the host's shell did not run the commands (exit 1): This account is currently not available."
	# the key is not authorised at all
	: >"$ak"
	run "$HMCTL" -c "$CONF" remote --json linux-1
	cp "$D/authorized_keys" "$ak"
	assert_equal "$(jq -r '.hosts[0] | "\(.state) \(.status)"' <<<"$output")" "critical auth failed"
	assert_regex "$(jq -r '.hosts[0].detail' <<<"$output")" "^authentication as '$NETNS_USER' on $(H 8 ADDR):$(H 8 PORT) failed: the server refused key '.*client_key'$"
}
