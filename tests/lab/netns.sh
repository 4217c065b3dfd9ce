#!/bin/bash
# Remote test hosts for hmctl's SSH tests and benchmark: N hosts h1..hN, each with its own sshd.
#
#   netns.sh up DIR N        start N hosts under DIR; write DIR/env (source it) and
#                            DIR/known_hosts (every host's key, as `hmctl ssh trust` records it)
#   netns.sh down DIR        stop them and remove what `up` created (safe twice)
#   netns.sh cut DIR I       make host I stop answering: packets to its sshd are dropped
#   netns.sh restore DIR I   undo `cut`
#
# As root, each host is a network namespace of its own ("hml<X>h<I>") joined to the machine by a
# veth pair, with addresses from 10.213.0.0/16, a private test range used only inside these
# namespaces: lab X takes 10.213.X.0/24 and host I the /30 at 10.213.X.(4I-4), the machine's end
# .(4I-3) and the host's .(4I-2). Before anything else a blackhole route for the whole range is
# added in the machine's own namespace, so no packet for it can ever leave the machine, whatever
# happens to a veth. Cutting a host off drops its port 22 packets with iptables inside its
# namespace: connections then time out, as with a host that vanished. Without root (or without
# `ip netns`), the hosts are sshd instances on free 127.0.0.1 ports instead, and a cut host is
# one whose sshd processes are stopped (SIGSTOP), which also leaves connections unanswered.
#
# Every host has the directory DIR/bin early in its PATH (sshd's SetEnv), holding stand-ins for
# egisplus-cli, systemctl, docker-compose and docker (tests/lab/standins): the proprietary tools
# of the Sync Proxy, Linux Agent and Cloud Sync Gateway cannot run here. The stand-ins print the
# seed guide's formats from the host's state directory DIR/hosts/hI/state, which `up` fills with
# a healthy default and the tests change to select failure variants (see each stand-in).
#
# NETNS_LOOPBACK=1 in the environment asks for the loopback hosts even as root.
#
# The login is the user running `up` (root on CI), with a key the lab generates (DIR/client_key).
# HOME is a directory of the host's own (DIR/hosts/hI/home), so the login shell does not run the
# test machine's dotfiles for every command: they belong to that machine, not to a test host
# (and a .bashrc that initialises pyenv costs a quarter of a second per command).
set -eu

RANGE=10.213.0.0/16
LOCK=/run/lock/hmctl-netns.lock
HERE=$(cd "$(dirname "$0")" && pwd)

usage() {
	echo "usage: netns.sh up DIR N | down DIR | cut DIR I | restore DIR I" >&2
	exit 2
}

log() { echo "netns: $*" >&2; }

# wait_port HOST PORT SECONDS: until something accepts connections there.
wait_port() {
	local deadline=$(($(date +%s) + $3))
	while :; do
		if timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then
			return 0
		fi
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

free_ports() {
	/usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

netns_possible() {
	[ -z "${NETNS_LOOPBACK:-}" ] || return 1
	[ "$(id -u)" -eq 0 ] || return 1
	command -v ip >/dev/null || return 1
	local probe="hmlprobe$$"
	ip netns add "$probe" 2>/dev/null || return 1
	ip netns del "$probe" 2>/dev/null || true
	return 0
}

# The lab's octet X: the smallest one no other lab's namespace or address uses. Called with the
# lock held, so two labs starting together never pick the same.
pick_octet() {
	local x used
	used=$(ip netns list 2>/dev/null | sed -n 's/^hml\([0-9]*\)h[0-9]*.*/\1/p' | sort -u)
	for x in $(seq 1 254); do
		if ! grep -qx "$x" <<<"$used" && ! ip -4 addr show | grep -q "inet 10\.213\.$x\."; then
			echo "$x"
			return 0
		fi
	done
	return 1
}

host_state_defaults() {
	local s=$1/state
	mkdir -p "$s/units" "$1/log"
	echo ok >"$s/agent"
	echo v1 >"$s/compose.flavour"
	# The Sync Proxy's services as compose 1.x names and shows them (the seed: "Up", "Up (healthy)").
	cat >"$s/compose" <<'EOF'
hamal_hamal-api_1|hamal-api|/opt/hamal/hamal-venv/bin/ ...|Up (healthy)|0.0.0.0:8080->8080/tcp
hamal_hamal-period_1|hamal-period|/opt/hamal/hamal-venv/bin/ ...|Up|
hamal_mysql_1|mysql|docker-entrypoint.sh mysqld|Up|3306/tcp, 33060/tcp
hamal_redis_1|redis|docker-entrypoint.sh redis ...|Up|6379/tcp
EOF
	for u in s3block.service watchman.service hyper_exporter.service egisplus-agent.service; do
		echo "active running" >"$s/units/$u"
	done
	# a log directory of known size (4 KiB multiples, so du and the apparent size agree)
	head -c 188416 /dev/zero >"$1/log/hamal-period.log"
	head -c 12288 /dev/zero >"$1/log/hamal-period-subprocess.log"
}

cmd_up() {
	local n=$1 i mode addr port ns x=0 ports=() root_addr k
	[ "$n" -ge 1 ] && [ "$n" -le 63 ] || {
		log "N must be 1..63"
		exit 2
	}
	if [ -f "$LAB/env" ]; then
		log "hosts already set up in $LAB; run: netns.sh down $LAB"
		exit 1
	fi
	command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || {
		log "sshd is not installed (package openssh-server)"
		exit 1
	}
	mkdir -p "$LAB/hosts" "$LAB/pids" "$LAB/bin" /run/sshd 2>/dev/null || mkdir -p "$LAB/hosts" "$LAB/pids" "$LAB/bin"
	cp "$HERE"/standins/* "$LAB/bin/"
	chmod 755 "$LAB"/bin/*
	ssh-keygen -q -t ed25519 -N '' -C "hmctl-lab client" -f "$LAB/client_key"
	: >"$LAB/known_hosts"

	if netns_possible; then
		mode=netns
		exec 9>"$LOCK"
		flock 9
		# The blackhole first: from here on nothing for the test range can leave the machine.
		ip route replace blackhole "$RANGE"
		x=$(pick_octet) || {
			log "no free /24 left in $RANGE"
			exit 1
		}
		echo "$x" >"$LAB/octet"
		for i in $(seq 1 "$n"); do
			ns="hml${x}h$i"
			k=$((4 * (i - 1)))
			root_addr="10.213.$x.$((k + 1))"
			addr="10.213.$x.$((k + 2))"
			ip netns add "$ns"
			echo "$ns" >>"$LAB/namespaces"
			ip link add "hml${x}r$i" type veth peer name eth0 netns "$ns"
			ip addr add "$root_addr/30" dev "hml${x}r$i"
			ip link set "hml${x}r$i" up
			ip -n "$ns" link set lo up
			ip -n "$ns" addr add "$addr/30" dev eth0
			ip -n "$ns" link set eth0 up
			ports+=(22)
		done
		flock -u 9
		exec 9>&-
	else
		mode=loopback
		log "network namespaces need root and iproute2: using sshd on 127.0.0.1 ports instead"
		# shellcheck disable=SC2207 # one word per port
		ports=($(free_ports "$n"))
	fi

	for i in $(seq 1 "$n"); do
		local d=$LAB/hosts/h$i
		mkdir -p "$d/home"
		if [ "$mode" = netns ]; then
			addr="10.213.$x.$((4 * (i - 1) + 2))"
		else
			addr=127.0.0.1
		fi
		port=${ports[$((i - 1))]}
		ssh-keygen -q -t ed25519 -N '' -C "hmctl-lab h$i" -f "$d/ssh_host_ed25519_key"
		cp "$LAB/client_key.pub" "$d/authorized_keys"
		host_state_defaults "$d"
		cat >"$d/sshd_config" <<EOF
ListenAddress $addr:$port
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
PrintMotd no
SetEnv PATH=$LAB/bin:/usr/local/bin:/usr/bin:/bin HMLAB_HOST=$d HOME=$d/home
MaxStartups 100:30:200
LogLevel INFO
EOF
		if [ "$mode" = netns ]; then
			setsid ip netns exec "hml${x}h$i" /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" \
				</dev/null >/dev/null 2>&1 &
		else
			setsid /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" </dev/null >/dev/null 2>&1 &
		fi
		echo $! >"$LAB/pids/h$i.pid"
		if [ "$port" = 22 ]; then
			echo "$addr $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >>"$LAB/known_hosts"
		else
			echo "[$addr]:$port $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >>"$LAB/known_hosts"
		fi
		echo "$addr $port" >"$d/address"
	done
	for i in $(seq 1 "$n"); do
		read -r addr port <"$LAB/hosts/h$i/address"
		wait_port "$addr" "$port" 10 || {
			log "sshd of h$i did not start: $(tail -n 1 "$LAB/hosts/h$i/sshd.log" 2>/dev/null)"
			cmd_down
			exit 1
		}
	done

	{
		echo "# Written by tests/lab/netns.sh up; source it."
		echo "NETNS_DIR='$LAB'"
		echo "NETNS_MODE=$mode"
		echo "NETNS_N=$n"
		echo "NETNS_KEY='$LAB/client_key'"
		echo "NETNS_KNOWN_HOSTS='$LAB/known_hosts'"
		echo "NETNS_USER='$(id -un)'"
		for i in $(seq 1 "$n"); do
			read -r addr port <"$LAB/hosts/h$i/address"
			echo "NETNS_H${i}_ADDR=$addr"
			echo "NETNS_H${i}_PORT=$port"
			echo "NETNS_H${i}_DIR='$LAB/hosts/h$i'"
		done
	} >"$LAB/env"
	log "$n hosts up ($mode)"
}

# descendants PID: every process below PID (sshd's connection handlers run in sessions of their
# own, so a process group does not hold them).
descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null || true); do
		echo "$c"
		descendants "$c"
	done
}

# host_pids I: host I's sshd and every process it started. In a namespace that is exactly the
# processes in the namespace.
host_pids() {
	local pid
	if [ -f "$LAB/octet" ]; then
		ip netns pids "hml$(cat "$LAB/octet")h$1" 2>/dev/null || true
	else
		pid=$(cat "$LAB/pids/h$1.pid" 2>/dev/null) || return 0
		echo "$pid"
		descendants "$pid"
	fi
}

signal_host() {
	local sig=$1 pid
	for pid in $(host_pids "$2"); do
		kill "-$sig" "$pid" 2>/dev/null || true
	done
}

cmd_down() {
	local f i pid ns left
	for f in "$LAB"/pids/h*.pid; do
		[ -f "$f" ] || continue
		i=${f##*/h}
		i=${i%.pid}
		signal_host CONT "$i"
		signal_host TERM "$i"
	done
	for f in "$LAB"/pids/h*.pid; do
		[ -f "$f" ] || continue
		i=${f##*/h}
		i=${i%.pid}
		pid=$(cat "$f")
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		signal_host KILL "$i"
		rm -f "$f"
	done
	if [ -f "$LAB/namespaces" ]; then
		exec 9>"$LOCK"
		flock 9
		while read -r ns; do
			ip netns del "$ns" 2>/dev/null || true
		done <"$LAB/namespaces"
		rm -f "$LAB/namespaces" "$LAB/octet"
		# The last lab out removes the blackhole route; while any lab's hosts exist it stays.
		left=$(ip netns list 2>/dev/null | grep -c '^hml[0-9]*h[0-9]' || true)
		if [ "$left" = 0 ]; then
			ip route del blackhole "$RANGE" 2>/dev/null || true
		fi
		flock -u 9
		exec 9>&-
	fi
	rm -f "$LAB/env"
}

cmd_cut() {
	if [ -f "$LAB/octet" ]; then
		ip netns exec "hml$(cat "$LAB/octet")h$1" iptables -I INPUT -p tcp --dport 22 -j DROP
	else
		signal_host STOP "$1"
	fi
}

cmd_restore() {
	if [ -f "$LAB/octet" ]; then
		while ip netns exec "hml$(cat "$LAB/octet")h$1" iptables -D INPUT -p tcp --dport 22 -j DROP \
			2>/dev/null; do :; done
	else
		signal_host CONT "$1"
	fi
}

[ $# -ge 2 ] || usage
case $1 in
up)
	[ $# -eq 3 ] || usage
	mkdir -p "$2"
	LAB=$(cd "$2" && pwd)
	cmd_up "$3"
	;;
down)
	[ -d "$2" ] || exit 0
	LAB=$(cd "$2" && pwd)
	cmd_down
	;;
cut | restore)
	[ $# -eq 3 ] || usage
	LAB=$(cd "$2" && pwd)
	"cmd_$1" "$3"
	;;
*) usage ;;
esac
