#!/usr/bin/env bats
# hmctl store stats|compact|export and hmctl metrics --step on a store filled with known
# samples. Needs no lab.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	HMCTL=${HMCTL:-$ROOT/build/hmctl}
	TOOL=${HMTOOLS:-$ROOT/build/tools}/tsdb-tool
	[ -x "$TOOL" ] || fail "no $TOOL (make bats builds it)"
	CONF=$BATS_TEST_TMPDIR/hmctl.conf
	printf '[hmctl]\ndata_dir = %s/data\n' "$BATS_TEST_TMPDIR" >"$CONF"
	mkdir -p "$BATS_TEST_TMPDIR/data"
	DB=$BATS_TEST_TMPDIR/data/hmctl.db
	T0=1794999600000 # 2026-11-18T11:00:00Z
}

# fill HOURS: host.cpu.percent every 10 s for HOURS hours from T0 (11:00), the value the minute
# of the hour (0-59), so the maximum of every hour is 59 and its minimum 0; one sample of
# disk.used.percent. Windows of 2 h: 10-12 and 12-14 are sealed, 14-16 is open.
fill() {
	awk -v t0="$T0" -v h="$1" 'BEGIN {
		for (i = 0; i < h * 360; i++) printf "host.cpu.percent\t%d\t%d\n", int(i / 6) % 60, t0 + i * 10000
		printf "disk.used.percent{path=\"/\"}\t18.25\t%d\n", t0
	}' | "$TOOL" put "$DB"
}

@test "store stats: tiers, points, bytes per point; --json" {
	fill 4
	run "$HMCTL" -c "$CONF" store stats
	assert_success
	assert_line --regexp "^store +$DB"
	assert_line --regexp "^raw +2 +4 +1441 "   # cpu in 3 windows, disk in 1
	assert_line --regexp "^1h +1 +1 +3 "       # the hours of cpu's sealed windows: 11, 12, 13
	run "$HMCTL" -c "$CONF" store stats --json
	assert_success
	run jq -r '[.series, .tiers.raw.points, .tiers.raw.oldest, .tiers["1h"].points, .open_chunks] | @tsv' <<<"$output"
	assert_output "$(printf '2\t1441\t%s\t3\t2' "$T0")"
}

@test "store compact: seals the open chunks and shrinks the file" {
	fill 4
	run "$HMCTL" -c "$CONF" store compact
	assert_success
	assert_output --regexp "^$DB: [0-9.]+[KMG]? -> [0-9.]+[KMG]?\$"
	run "$HMCTL" -c "$CONF" store stats --json
	run jq -r '[.open_chunks, .wal_bytes, .tiers["1h"].points] | @tsv' <<<"$output"
	assert_output "$(printf '0\t0\t5')"       # cpu 11-14, disk 11
}

@test "metrics --step reads the rollups: the maximum and count of every hour" {
	fill 5
	HMCTL_NOW=2026-11-18T16:10:00Z run "$HMCTL" -c "$CONF" metrics --since 6h --step 1h --aggregate max --json host.cpu.percent
	assert_success
	run jq -c '.["host.cpu.percent"].points | map(.[1])' <<<"$output"
	assert_output '[59,59,59,59,59]'
	HMCTL_NOW=2026-11-18T16:10:00Z run "$HMCTL" -c "$CONF" metrics --since 6h --step 1h --aggregate min --json host.cpu.percent
	run jq -c '.["host.cpu.percent"].points | map(.[1])' <<<"$output"
	assert_output '[0,0,0,0,0]'
	HMCTL_NOW=2026-11-18T16:10:00Z run "$HMCTL" -c "$CONF" metrics --since 6h --step 1h --aggregate count --json host.cpu.percent
	run jq -c '.["host.cpu.percent"].points | map(.[1]) | add' <<<"$output"
	assert_output 1800
	HMCTL_NOW=2026-11-18T12:00:00Z run "$HMCTL" -c "$CONF" metrics --since 10m --step 5m host.cpu.percent
	assert_success
	assert_line --regexp "^host.cpu.percent +2026-11-18T11:50:00Z +52 +"
	assert_line --regexp "^host.cpu.percent +2026-11-18T11:55:00Z +57 +"
}

@test "metrics and store: usage errors" {
	run "$HMCTL" -c "$CONF" metrics --step 0s host.cpu.percent
	assert_failure 2
	assert_output --partial "invalid duration '0s' for --step"
	run "$HMCTL" -c "$CONF" metrics --step 1m --aggregate median host.cpu.percent
	assert_failure 2
	assert_output --partial "invalid aggregate 'median'"
	run "$HMCTL" -c "$CONF" store export --precision h
	assert_failure 2
	run "$HMCTL" -c "$CONF" store export --since 1h --from 2026-11-18T00:00:00Z
	assert_failure 2
	assert_output --partial "exclude each other"
	run "$HMCTL" -c "$CONF" store stats
	assert_failure 1
	assert_output --partial "has 'hmctl check' run yet?"
	run "$HMCTL" -c "$CONF" store export --send
	assert_failure 1
	assert_output --partial 'needs a [sink "influxdb"] section'
}

@test "store: a chunk span that does not divide a day is a configuration error with its line" {
	fill 1
	printf '[store]\nchunk_span = 5h\n' >>"$CONF"
	run "$HMCTL" -c "$CONF" store stats
	assert_failure 1
	assert_output --partial "hmctl.conf:4: [store] chunk_span: must be a whole number of hours that divides 24h"
}
