#!/bin/sh
# make bench: hmctl measured side by side with the tools an operator would otherwise use, on
# the same lab of real servers, in one run. Prints ratios; never fails on a timing.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HMCTL=$(pwd)/$BUILD/hmctl
RUNS=${BENCH_RUNS:-20}
dir=$(mktemp -d /tmp/hmctl-bench.XXXXXX)
trap 'sh tests/lab/lab.sh down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT INT TERM
echo "starting the lab in $dir ..."
sh tests/lab/lab.sh up "$dir" >/dev/null
. "$dir/env"

# peak resident set size in KB over the runs, from GNU time
peak_rss() {
	max=0
	i=0
	while [ "$i" -lt 5 ]; do
		kb=$(/usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1)
		[ "$kb" -gt "$max" ] && max=$kb
		i=$((i + 1))
	done
	echo "$max"
}

echo
echo "== hmctl status vs a shell pipeline (docker ps, curl, redis-cli, mariadb-admin, du, df)"
"$HMCTL" -c "$LAB_CONF" status >/dev/null # the first run records the CPU baseline
hyperfine --style basic --warmup 2 --runs "$RUNS" -N --export-json "$dir/status.json" \
	"$HMCTL -c $LAB_CONF status" \
	"sh tests/bench/status-pipeline.sh $dir/env" >/dev/null 2>&1 ||
	hyperfine --warmup 2 --runs "$RUNS" --export-json "$dir/status.json" \
		"$HMCTL -c $LAB_CONF status" "sh tests/bench/status-pipeline.sh $dir/env" >/dev/null
h_rss=$(peak_rss "$HMCTL" -c "$LAB_CONF" status)
p_rss=$(peak_rss sh tests/bench/status-pipeline.sh "$dir/env")
jq -r --arg hr "$h_rss" --arg pr "$p_rss" '
	.results as $r |
	($r[0].mean * 1000) as $h | ($r[1].mean * 1000) as $p |
	"  hmctl status     mean \($h | floor) ms (median \($r[0].median * 1000 | floor) ms)  peak RSS \($hr | tonumber / 1024 * 10 | floor / 10) MB",
	"  shell pipeline   mean \($p | floor) ms (median \($r[1].median * 1000 | floor) ms)  peak RSS \($pr | tonumber / 1024 * 10 | floor / 10) MB (largest single process)",
	"  ratio hmctl/pipeline wall time: \($h / $p * 100 | floor / 100)  (target <= 0.5)",
	"  hmctl peak RSS target < 20 MB: \(if ($hr | tonumber) < 20480 then "met" else "NOT met" end)"' "$dir/status.json"
sh tests/bench/console.sh

echo
echo "== hmctl tui vs htop, 1-second refresh, hmsim with 10,000 hosts"
sh tests/bench/tui.sh "$dir/env"

echo
BUILD=$BUILD sh tests/bench/alerts.sh
echo "== 50 SSH hosts: hmctl's steady-state poll vs parallel-ssh, the same commands"
BUILD=$BUILD bash tests/bench/remote.sh

# The time-series store next to InfluxDB and Prometheus (its own servers, not the lab's).
bash tests/bench/tsdb.sh "$dir" || echo "tsdb bench failed" >&2

# the reports bench needs no lab, only hmsim
sh tests/bench/reports.sh
