#!/bin/bash
# make bench, remote part: 50 SSH test hosts (tests/lab/netns.sh: network namespaces as root,
# sshd on loopback ports otherwise) polled for the same commands by hmctl and by parallel-ssh
# (Debian package pssh), side by side in one run. Prints the wall time of one poll of every host
# and the CPU time per host-poll of each tool, and their ratio; never fails on a timing.
#
# hmctl's number is its steady state: `hmctl remote -n 11 -i 0` polls eleven times on sessions
# it keeps open, the first poll connecting; the median of polls 2..11 is the cycle, and the CPU
# of those ten polls is the difference between that run and a `-n 1` run. parallel-ssh connects
# to every host for every poll, as any tool built on the ssh client must; its four role groups
# run at once, each with the commands hmctl runs on that role (without hmctl's framing).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HMCTL=$(pwd)/$BUILD/hmctl
N=${BENCH_HOSTS:-50}
RUNS=${BENCH_REMOTE_RUNS:-3}

if ! command -v parallel-ssh >/dev/null; then
	echo "  skipped: parallel-ssh is not installed (package pssh)"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/hmctl-bench-remote.XXXXXX")
trap 'tests/lab/netns.sh down "$dir/hosts" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT INT TERM
if ! tests/lab/netns.sh up "$dir/hosts" "$N" 2>"$dir/netns.log"; then
	echo "  skipped: the test hosts did not start: $(tail -n 1 "$dir/netns.log")"
	exit 0
fi
# shellcheck source=/dev/null
. "$dir/hosts/env"

# One role in four, as a deployment mixes them; the host's log directory is $HOME/../log.
roles=(sync_proxy linux_agent gateway linux)
conf=$dir/hmctl.conf
{
	printf '[hmctl]\ndata_dir = %s/data\n' "$dir"
	printf '[ssh]\nusername = %s\nkey = %s\nknown_hosts = %s\n' "$NETNS_USER" "$NETNS_KEY" "$NETNS_KNOWN_HOSTS"
	for i in $(seq 1 "$N"); do
		eval "addr=\$NETNS_H${i}_ADDR port=\$NETNS_H${i}_PORT hdir=\$NETNS_H${i}_DIR"
		role=${roles[$((i % 4))]}
		printf '[host "h%d"]\nrole = %s\naddress = %s\nport = %s\nlog_dir = %s/log\n' \
			"$i" "$role" "$addr" "$port" "$hdir"
		echo "$NETNS_USER@$addr:$port" >>"$dir/pssh-$role"
	done
} >"$conf"
chmod 600 "$conf"

# The commands of hmctl's poll of each role (collectors/remote.c), as one command line.
common='cat /proc/stat /proc/meminfo /proc/loadavg; df -P /; du -sk "$HOME/../log"'
compose="if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then docker compose -f /opt/hamal/docker-compose-hamal.yaml ps -a --format json; elif docker-compose version --short 2>/dev/null | grep -q '^[2-9]'; then docker-compose -f /opt/hamal/docker-compose-hamal.yaml ps -a --format json; else docker-compose -f /opt/hamal/docker-compose-hamal.yaml ps; fi"
show='systemctl show -p Id -p LoadState -p ActiveState -p SubState'
declare -A cmd=(
	[sync_proxy]="$common; $compose"
	[linux_agent]="$common; egisplus-cli agent check; $show egisplus-agent"
	[gateway]="$common; $show s3block.service watchman.service hyper_exporter.service"
	[linux]="$common"
)
cat >"$dir/pssh.sh" <<EOF
#!/bin/bash
# one poll of every host with parallel-ssh: the four role groups at once
for role in ${roles[*]}; do
	parallel-ssh -h "$dir/pssh-\$role" -p $N -t 60 -o "$dir/out-\$role" \\
		-x "-i $NETNS_KEY -o UserKnownHostsFile=$NETNS_KNOWN_HOSTS -o StrictHostKeyChecking=yes -o BatchMode=yes" \\
		"\$(cat "$dir/cmd-\$role")" >/dev/null &
done
wait
EOF
for role in "${roles[@]}"; do printf '%s\n' "${cmd[$role]}" >"$dir/cmd-$role"; done

# seconds of user+system CPU and of wall time of a command, from GNU time: "CPU WALL"
measure() {
	/usr/bin/time -f '%U %S %e' -o "$dir/time" "$@" >/dev/null 2>"$dir/stderr" || true
	awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$dir/time"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

"$HMCTL" -c "$conf" remote >/dev/null # the CPU baselines, so that no poll waits for a second reading
read -r cpu1 _ < <(measure "$HMCTL" -c "$conf" remote -n 1)
read -r cpu11 _ < <(measure "$HMCTL" -c "$conf" -v remote -n 11 -i 0)
grep -o 'poll [0-9]*: [0-9]* hosts in [0-9]* ms' "$dir/stderr" >"$dir/polls" || true
first=$(awk 'NR == 1 { print $6 }' "$dir/polls")
steady=$(awk 'NR > 1 { print $6 }' "$dir/polls" | median)
bad=$("$HMCTL" -c "$conf" remote --json | jq '[.hosts[] | select(.status != "up")] | length')

: >"$dir/pssh-runs"
for _ in $(seq 1 "$RUNS"); do
	measure bash "$dir/pssh.sh" >>"$dir/pssh-runs"
done
pssh_ms=$(awk '{ print $2 * 1000 }' "$dir/pssh-runs" | median)
pssh_cpu=$(awk '{ print $1 }' "$dir/pssh-runs" | median)
# every host answered parallel-ssh too (its -o directory has one non-empty file per host)
answered=$(find "$dir"/out-* -type f -size +0 2>/dev/null | wc -l)

awk -v n="$N" -v first="$first" -v steady="$steady" -v c1="$cpu1" -v c11="$cpu11" \
	-v pms="$pssh_ms" -v pcpu="$pssh_cpu" -v mode="$NETNS_MODE" -v bad="$bad" -v answered="$answered" 'BEGIN {
	hcpu = (c11 - c1) / (10 * n) * 1000
	if (hcpu < 0) hcpu = 0
	printf "  %d hosts (%s), the same commands per role\n", n, mode
	printf "  hmctl remote    steady poll median %d ms (first poll, connecting: %d ms)  CPU %.2f ms per host-poll\n", steady, first, hcpu
	printf "  parallel-ssh    poll median %d ms  CPU %.2f ms per host-poll\n", pms, pcpu / n * 1000
	printf "  ratio parallel-ssh/hmctl wall time: %.1f  (target >= 5)\n", (steady > 0 ? pms / steady : 0)
	if (hcpu > 0) printf "  ratio parallel-ssh/hmctl CPU per host-poll: %.0f\n", pcpu / n * 1000 / hcpu
	if (bad > 0) printf "  note: %d host(s) were not polled by hmctl; see hmctl remote\n", bad
	if (answered < n) printf "  note: only %d of %d hosts answered parallel-ssh\n", answered, n
}'
