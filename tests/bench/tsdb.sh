#!/bin/bash
# The time-series store next to InfluxDB 1.x and Prometheus on the same points: a generated
# console's metrics (BENCH_TSDB_SERIES series, default 500, every 10 s for BENCH_TSDB_DAYS days,
# default 7; tests/tools/tsdb-bench.c says how they are shaped).
#
#   tsdb.sh DIR     (make bench calls it; DIR is scratch space, emptied by the caller)
#
# Prints bytes per sample on disk for hmctl's store (after `store compact`), for InfluxDB after
# its full compaction and for Prometheus's TSDB as `promtool tsdb create-blocks-from openmetrics`
# writes it; the ingest rates; the time of a 24-hour range query over every series. Ratios, no
# verdicts on timings: the machine may be busy. Needs influxd and promtool (make deps installs
# them); without one, its column says why it is missing.
set -eu

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH=$(pwd)/$BUILD/tools/tsdb-bench
DIR=${1:?usage: tsdb.sh DIR}
DAYS=${BENCH_TSDB_DAYS:-7}
SERIES=${BENCH_TSDB_SERIES:-500}
PY=/usr/bin/python3
mkdir -p "$DIR/tsdb"
W=$DIR/tsdb
[ -x "$BENCH" ] || { echo "tsdb.sh: no $BENCH (make bench builds it)" >&2; exit 1; }

INFLUX_PID=
cleanup() {
	if [ -n "$INFLUX_PID" ]; then
		kill -TERM "$INFLUX_PID" 2>/dev/null || true
		wait "$INFLUX_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# bytes DIR...: bytes the files take on disk (allocated blocks: preallocated, sparse files count
# for what they use)
bytes() { du -s --block-size=1 "$@" | awk '{ s += $1 } END { print s + 0 }'; }
field() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

end_ms=$("$BENCH" end "$DAYS")
samples=$(awk -v d="$DAYS" -v s="$SERIES" 'BEGIN { printf "%d", d * 8640 * s }')
echo
echo "== time-series store: $DAYS days x $SERIES series every 10 s ($samples samples)"

# --- hmctl -------------------------------------------------------------------------------
"$BENCH" ingest "$W/hmctl.db" "$DAYS" "$SERIES" >"$W/hmctl.out"
"$BENCH" query "$W/hmctl.db" "$SERIES" "$end_ms" >"$W/query.out"
h_bytes=$(bytes "$W/hmctl.db")
h_raw=$(field raw_bytes "$W/hmctl.out")
h_roll=$(field rollup_bytes "$W/hmctl.out")
h_rate=$(field rate "$W/hmctl.out")
h_cpurate=$(field cpu_rate "$W/hmctl.out")
h_crate=$(field cycles_rate "$W/hmctl.out")

# --- InfluxDB 1.x ------------------------------------------------------------------------
i_bytes= i_why= i_rate= i_query=
if ! command -v influxd >/dev/null; then
	i_why="influxd not installed"
else
	read -r ip irpc < <("$PY" -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
	mkdir -p "$W/influx/meta" "$W/influx/data" "$W/influx/wal"
	# compact-full-write-cold-duration: a shard not written for 10 s is fully compacted
	cat >"$W/influx/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$irpc"
[meta]
  dir = "$W/influx/meta"
[data]
  dir = "$W/influx/data"
  wal-dir = "$W/influx/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "5s"
  compact-full-write-cold-duration = "10s"
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$ip"
  log-enabled = false
EOF
	setsid influxd run -config "$W/influx/influxdb.conf" </dev/null >"$W/influx/log" 2>&1 &
	INFLUX_PID=$!
	url=http://127.0.0.1:$ip
	for _ in $(seq 150); do curl -fsS --max-time 1 "$url/ping" >/dev/null 2>&1 && break; sleep 0.2; done
	if ! curl -fsS --max-time 5 -XPOST "$url/query" --data-urlencode "q=CREATE DATABASE bench" >/dev/null; then
		i_why="influxd did not start: $(tail -n 1 "$W/influx/log")"
	elif ! "$BENCH" influx "$url" bench "$DAYS" "$SERIES" >"$W/influx.out"; then
		i_why="writing to influxd failed"
	else
		i_rate=$(awk -v n="$samples" '$1 == "seconds" { printf "%.0f", n / $2 }' "$W/influx.out")
		# wait for the full compaction: one generation of TSM files per shard, no .tmp, and a
		# size that stays put for 30 s (at most 15 minutes)
		last= same=0
		for _ in $(seq 180); do
			sleep 5
			now=$(bytes "$W/influx/data/bench" "$W/influx/wal/bench")
			tmp=$(find "$W/influx/data/bench" -name '*.tmp' | wc -l)
			if [ "$now" = "$last" ] && [ "$tmp" = 0 ]; then
				same=$((same + 1))
				[ "$same" -ge 6 ] && break
			else
				same=0
			fi
			last=$now
		done
		i_bytes=$(bytes "$W/influx/data/bench" "$W/influx/wal/bench")
		i_tsm=$(find "$W/influx/data/bench" -name '*.tsm' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
		# the same 24 hours at a 5-minute mean, every series, best of 3
		from=$((end_ms - 86400000))
		q="SELECT mean(value) FROM /.*/ WHERE time >= ${from}ms AND time < ${end_ms}ms GROUP BY time(5m), *"
		best=
		for _ in 1 2 3; do
			t=$(curl -fsS -o /dev/null -w '%{time_total}' --max-time 300 -G "$url/query" \
				--data-urlencode db=bench --data-urlencode "q=$q") || t=
			[ -n "$t" ] && best=$(awk -v a="$t" -v b="${best:-1e9}" 'BEGIN { print (a < b) ? a : b }')
		done
		[ -n "$best" ] && i_query=$(awk -v t="$best" 'BEGIN { printf "%.1f", t * 1000 }')
	fi
	cleanup
	INFLUX_PID=
fi

# --- Prometheus --------------------------------------------------------------------------
p_bytes= p_why= p_rate=
if ! command -v promtool >/dev/null; then
	p_why="promtool not installed (package prometheus)"
else
	"$BENCH" openmetrics "$DAYS" "$SERIES" "$W/metrics.om"
	t0=$(date +%s.%N)
	if promtool tsdb create-blocks-from openmetrics --max-block-duration=$((DAYS * 24 + 24))h \
		"$W/metrics.om" "$W/prom" >"$W/prom.log" 2>&1; then
		t1=$(date +%s.%N)
		p_bytes=$(bytes "$W/prom")
		p_rate=$(awk -v n="$samples" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	else
		p_why="promtool failed: $(tail -n 1 "$W/prom.log")"
	fi
	rm -f "$W/metrics.om"
fi

# --- report ------------------------------------------------------------------------------
printf '  %-34s %14s %14s\n' "" "bytes on disk" "bytes/sample"
printf '  %-34s %14s %14s\n' "hmctl store, whole file" "$h_bytes" "$(per "$h_bytes" "$samples")"
printf '  %-34s %14s %14s\n' "  of which raw chunks" "$h_raw" "$(per "$h_raw" "$samples")"
printf '  %-34s %14s %14s\n' "  1-minute and 1-hour rollups" "$h_roll" "$(per "$h_roll" "$samples")"
if [ -n "$i_bytes" ]; then
	printf '  %-34s %14s %14s\n' "InfluxDB 1.x, fully compacted" "$i_bytes" "$(per "$i_bytes" "$samples")"
	printf '  %-34s %14s %14s\n' "  of which TSM files" "$i_tsm" "$(per "$i_tsm" "$samples")"
else
	echo "  InfluxDB: not measured: $i_why"
fi
if [ -n "$p_bytes" ]; then
	printf '  %-34s %14s %14s\n' "Prometheus TSDB (promtool blocks)" "$p_bytes" "$(per "$p_bytes" "$samples")"
else
	echo "  Prometheus: not measured: $p_why"
fi
[ -n "$i_bytes" ] && echo "  ratio hmctl/InfluxDB bytes per sample: $(ratio "$h_bytes" "$i_bytes") (raw chunks alone: $(ratio "$h_raw" "$i_bytes"))"
[ -n "$p_bytes" ] && echo "  ratio hmctl/Prometheus bytes per sample: $(ratio "$h_bytes" "$p_bytes") (raw chunks alone: $(ratio "$h_raw" "$p_bytes"))"
echo "  target: fewer bytes per sample than both"
echo
echo "  ingest, samples per second:"
echo "    hmctl store_append, 1-hour batches of every series   $h_rate per wall-clock second, $h_cpurate per CPU second (target >= 1000000 on one core)"
echo "    hmctl store_append, one cycle (all series) per call   $h_crate   (as 'hmctl check' appends)"
[ -n "$i_rate" ] && echo "    InfluxDB HTTP /write, 10000 lines per gzip request    $i_rate"
[ -n "$p_rate" ] && echo "    promtool create-blocks-from openmetrics                $p_rate"
echo
echo "  24-hour range query over all $SERIES series (best of 5, wall clock and CPU time):"
awk '{ printf "    hmctl %-8s %8s ms, %s ms CPU  (%s points)\n", $1, $2, $6, $4 }' "$W/query.out" |
	sed 's/raw_ms/raw/; s/step5m_ms/5m step/; s/step1h_ms/1h step/'
echo "    target: under 100 ms"
[ -n "$i_query" ] && echo "    InfluxDB mean per 5 minutes, GROUP BY time(5m), *   $i_query ms (HTTP, JSON)"
rm -rf "$W"
exit 0
