#!/usr/bin/env bats
# The InfluxDB sink against a real influxd 1.x: what the sink sends comes back from SELECT point
# for point (tag values with spaces, commas and equals signs included); an influxd that is down
# for a while loses nothing and gets the batches in order once back; the queue's bound drops and
# counts; `hmctl check` ships its samples; `hmctl store export` backfills; the token is never
# printed.

load helpers

setup() {
	require_lab influxdb
	TOOL=$HMTOOLS/tsdb-tool
	POINTS="python3 $BATS_TEST_DIRNAME/../tools/influx-points.py"
	[ -x "$TOOL" ] || fail "no $TOOL (make bats builds it)"
	DB=hm_$(basename "$BATS_TEST_TMPDIR" | tr -c 'A-Za-z0-9\n' _)_$RANDOM
	T0=1795000000000
}

teardown() {
	[ -n "${PRIVATE_PID:-}" ] && stop_private_influxd
	return 0
}

influx_q() { # URL QUERY
	curl -fsS --max-time 10 -XPOST "$1/query" --data-urlencode "q=$2"
}

# conf URL [EXTRA INI LINES...]: a configuration with a store in the test's directory and a
# sink writing to database $DB at URL.
conf() {
	local url=$1
	shift
	{
		printf '[hmctl]\ndata_dir = %s/data\n\n' "$BATS_TEST_TMPDIR"
		printf '[sink "influxdb"]\nurl = %s\ndatabase = %s\ntags = console=bats\n' "$url" "$DB"
		printf '%s\n' "$@"
	} >"$BATS_TEST_TMPDIR/hmctl.conf"
	chmod 600 "$BATS_TEST_TMPDIR/hmctl.conf"
	CONF=$BATS_TEST_TMPDIR/hmctl.conf
}

# An influxd of this test only, which it may stop and start again (the lab's is shared).
start_private_influxd() {
	local d=$BATS_TEST_TMPDIR/influxd ports
	if [ -z "${PRIVATE_PORT:-}" ]; then
		ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
		PRIVATE_PORT=${ports% *}
		PRIVATE_RPC=${ports#* }
		PRIVATE_URL=http://127.0.0.1:$PRIVATE_PORT
	fi
	mkdir -p "$d/meta" "$d/data" "$d/wal"
	cat >"$d/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$PRIVATE_RPC"
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
  bind-address = "127.0.0.1:$PRIVATE_PORT"
  log-enabled = false
EOF
	setsid influxd run -config "$d/influxdb.conf" </dev/null >>"$d/influxd.log" 2>&1 &
	PRIVATE_PID=$!
	local i
	for i in $(seq 100); do
		curl -fsS --max-time 1 "$PRIVATE_URL/ping" >/dev/null 2>&1 && return 0
		kill -0 "$PRIVATE_PID" 2>/dev/null || break
		sleep 0.2
	done
	fail "private influxd did not start: $(tail -n 3 "$d/influxd.log")"
}

stop_private_influxd() {
	kill -TERM "$PRIVATE_PID" 2>/dev/null || true
	local i
	for i in $(seq 100); do
		kill -0 "$PRIVATE_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PRIVATE_PID" 2>/dev/null || true
	wait "$PRIVATE_PID" 2>/dev/null || true
	PRIVATE_PID=
}

@test "sink: every point comes back from SELECT exactly, tag values with spaces, commas, equals signs" {
	conf "$LAB_INFLUXDB_URL"
	influx_q "$LAB_INFLUXDB_URL" "CREATE DATABASE $DB" >/dev/null
	local c all=$BATS_TEST_TMPDIR/all
	: >"$all"
	for c in 1 2 3 4 5; do
		$POINTS gen "$c" $((T0 + c * 60000)) >"$BATS_TEST_TMPDIR/cycle"
		cat "$BATS_TEST_TMPDIR/cycle" >>"$all"
		run "$TOOL" sink "$CONF" $((T0 + c * 60000 + 500)) <"$BATS_TEST_TMPDIR/cycle"
		assert_success
		assert_output "sent 9"     # 10 samples, the NaN one cannot be sent
	done
	run $POINTS verify "$LAB_INFLUXDB_URL" "$DB" console=bats <"$all"
	assert_success
	assert_output "ok 45"
	# the NaN samples are counted, not lost silently
	HMCTL_NOW=2026-11-18T10:00:00Z run "$HMCTL" -c "$CONF" status --json
	assert_success
	run jq -r '.components[] | select(.name == "sink influxdb") | .state + " " + .detail' <<<"$output"
	assert_output --partial "ok queue empty"
	assert_output --partial "5 NaN or infinite values not sent"
	influx_q "$LAB_INFLUXDB_URL" "DROP DATABASE $DB" >/dev/null
}

@test "sink: influxd stopped for a while, then restarted: nothing lost, batches sent in order" {
	start_private_influxd
	conf "$PRIVATE_URL" "batch_size = 7" "flush_interval = 1s"
	influx_q "$PRIVATE_URL" "CREATE DATABASE $DB" >/dev/null
	local c now all=$BATS_TEST_TMPDIR/all cyc=$BATS_TEST_TMPDIR/cycle
	: >"$all"
	# one cycle while it is up
	$POINTS gen 1 $((T0 + 60000)) >"$cyc"
	cat "$cyc" >>"$all"
	run "$TOOL" sink "$CONF" $((T0 + 60500)) <"$cyc"
	assert_success
	stop_private_influxd
	# five cycles while it is down: each also rewrites one point, so only in-order delivery leaves
	# the value of the last cycle there
	for c in 2 3 4 5 6; do
		now=$((T0 + c * 600000))
		{ $POINTS gen "$c" "$now"; printf 'sink.order\t%d\t%d\n' "$c" "$T0"; } >"$cyc"
		cat "$cyc" >>"$all"
		run "$TOOL" sink "$CONF" $((now + 500)) <"$cyc"
		[ "$status" -eq 3 ] || [ "$status" -eq 0 ] || fail "cycle $c: $output"
	done
	HMCTL_NOW=$(date -u -d @$(((T0 + 6 * 600000 + 1000) / 1000)) +%FT%TZ) run "$HMCTL" -c "$CONF" status
	assert_output --regexp "sink influxdb +warning +failing"
	assert_output --regexp "[0-9]+ batches \\([0-9]+ points\\) queued"
	start_private_influxd
	# the next cycle, after the retry delay, sends the backlog oldest first
	now=$((T0 + 7 * 600000))
	$POINTS gen 7 "$now" >"$cyc"
	cat "$cyc" >>"$all"
	run "$TOOL" sink "$CONF" $((now + 500)) <"$cyc"
	assert_success
	assert_output "sent 59"     # cycles 2-6 (9 + the rewritten point each) and 7
	# every point, and sink.order holds 6: the verifier expects the last line written for a
	# series and time stamp, which only in-order delivery leaves there
	run $POINTS verify "$PRIVATE_URL" "$DB" console=bats <"$all"
	assert_success
	assert_output "ok 64"
	run curl -fsS -G "$PRIVATE_URL/query" --data-urlencode "db=$DB" --data-urlencode 'q=SELECT value FROM "sink.order"'
	assert_output --partial ',6]]'
	HMCTL_NOW=$(date -u -d @$(((now + 1000) / 1000)) +%FT%TZ) run "$HMCTL" -c "$CONF" status
	assert_output --regexp "sink influxdb +ok +queue empty"
}

@test "sink: a full queue drops the oldest batches, and status counts the loss" {
	conf "http://127.0.0.1:$LAB_CLOSED_PORT" "queue_max = 2k" "flush_interval = 1h"
	local c
	for c in $(seq 1 30); do
		$POINTS gen "$c" $((T0 + c * 60000)) >"$BATS_TEST_TMPDIR/cycle"
		run "$TOOL" sink "$CONF" $((T0 + c * 60000)) <"$BATS_TEST_TMPDIR/cycle"
		[ "$status" -eq 3 ] || [ "$status" -eq 0 ] || fail "cycle $c: $output"
	done
	HMCTL_NOW=$(date -u -d @$(((T0 + 31 * 60000) / 1000)) +%FT%TZ) run "$HMCTL" -c "$CONF" status --json
	assert_success
	local detail queued dropped
	detail=$(jq -r '.components[] | select(.name == "sink influxdb") | .state + ": " + .detail' <<<"$output")
	[[ $detail == warning:* ]] || fail "sink component: $detail"
	queued=$(sed -n 's/.* \([0-9]*\) batch\(es\)\{0,1\} ([0-9]* points) queued.*/\1/p' <<<"$detail")
	dropped=$(sed -n 's/.* \([0-9]*\) batch\(es\)\{0,1\} ([0-9]* points) dropped.*/\1/p' <<<"$detail")
	[ -n "$queued" ] && [ -n "$dropped" ] || fail "no queued/dropped counts in: $detail"
	[ "$dropped" -gt 0 ] || fail "nothing dropped: $detail"
	[ $((queued + dropped)) -eq 30 ] || fail "queued $queued + dropped $dropped != 30 batches: $detail"
	# the bound holds on disk
	run sqlite3 "$BATS_TEST_TMPDIR/data/hmctl.db" "SELECT sum(length(body)) <= 2048 FROM sink_queue"
	assert_output 1
}

@test "sink: hmctl check ships the cycle's samples; a port name with spaces, a comma and '=' is a tag" {
	conf "$LAB_INFLUXDB_URL" "" "[port \"web, tier=1 a\"]" "address = 127.0.0.1:$LAB_CLOSED_PORT"
	influx_q "$LAB_INFLUXDB_URL" "CREATE DATABASE $DB" >/dev/null
	run "$HMCTL" -c "$CONF" check
	[ "$status" -le 3 ] || fail "$output"
	run curl -fsS -G "$LAB_INFLUXDB_URL/query" --data-urlencode "db=$DB" \
		--data-urlencode "q=SELECT value FROM \"port.up\" WHERE port = 'web, tier=1 a' AND console = 'bats'"
	assert_success
	assert_output --partial '"values":[['
	assert_output --partial ',0]]'
	run "$HMCTL" -c "$CONF" status
	assert_output --regexp "sink influxdb +ok +queue empty; last sent"
	influx_q "$LAB_INFLUXDB_URL" "DROP DATABASE $DB" >/dev/null
}

@test "store export: --influx prints line protocol, --send backfills a database" {
	conf "$LAB_INFLUXDB_URL"
	influx_q "$LAB_INFLUXDB_URL" "CREATE DATABASE $DB" >/dev/null
	local c all=$BATS_TEST_TMPDIR/all
	for c in $(seq 1 40); do $POINTS gen "$c" $((T0 + c * 3600000)); done >"$all"
	mkdir -p "$BATS_TEST_TMPDIR/data"
	run "$TOOL" put "$BATS_TEST_TMPDIR/data/hmctl.db" <"$all"
	assert_success
	run "$HMCTL" -c "$CONF" store export --influx 'sink.test.value{idx="2",queue="comma,inside"}'
	assert_success
	assert_line --index 0 'sink.test.value,idx=2,queue=comma\,inside value=0.1 1795003600000'
	[ "${#lines[@]}" -eq 40 ]
	run "$HMCTL" -c "$CONF" store export --send
	assert_success
	assert_output --partial "360 points sent"
	assert_output --partial "40 NaN or infinite values skipped"
	run $POINTS verify "$LAB_INFLUXDB_URL" "$DB" console=bats <"$all"
	assert_success
	assert_output "ok 360"
	run "$HMCTL" -c "$CONF" store export --precision s --from 2026-11-18T14:00:00Z --to 2026-11-18T15:00:00Z 'sink.test.counter'
	assert_output 'sink.test.counter value=3000 1795010800'
	influx_q "$LAB_INFLUXDB_URL" "DROP DATABASE $DB" >/dev/null
}

@test "sink: the token is sent but never printed; a misconfigured sink is a critical component" {
	conf "http://127.0.0.1:$LAB_CLOSED_PORT" "timeout = 2s"
	export HMCTL_SINK_INFLUXDB_TOKEN=s3cr3t-t0ken-value
	$POINTS gen 1 "$T0" >"$BATS_TEST_TMPDIR/cycle"
	run "$TOOL" sink "$CONF" "$T0" <"$BATS_TEST_TMPDIR/cycle"
	refute_output --partial s3cr3t
	run "$HMCTL" -c "$CONF" status
	refute_output --partial s3cr3t
	assert_output --partial "connection refused"
	run "$HMCTL" -c "$CONF" config show
	refute_output --partial s3cr3t
	unset HMCTL_SINK_INFLUXDB_TOKEN
	printf '[sink "influxdb"]\nurl = http://127.0.0.1:1\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$HMCTL" -c "$BATS_TEST_TMPDIR/bad.conf" status
	assert_output --regexp "sink influxdb +critical +.*bad.conf:1: \\[sink \"influxdb\"\\]: set database"
}
