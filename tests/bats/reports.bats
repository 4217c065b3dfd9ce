#!/usr/bin/env bats
# hmctl report against hmsim: every type in every format equals what report_check.py computes
# from the API's raw JSON; zones, day boundaries, locales, empty ranges, errors, and a console
# failing mid-way.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

HMCTL=${HMCTL:-$BATS_TEST_DIRNAME/../../build/hmctl}
HMSIM=${HMSIM:-$BATS_TEST_DIRNAME/../../build/hmsim}
PY=/usr/bin/python3
CHECK=$BATS_TEST_DIRNAME/report_check.py

setup_file() {
    export SIM="$BATS_FILE_TMPDIR/sim"
    mkdir -p "$SIM"
    [ -x "$HMSIM" ] || return 0
    # --speed 0.0001: live syncs and boots stand still, so the API answers the same to hmctl
    # and to the checker
    "$HMSIM" --port 0 --seed 11 --hosts 150 --gateways 3 --speed 0.0001 \
        --ready-file "$SIM/ready" --cert-out "$SIM/ca.pem" --pid-file "$SIM/pid" \
        >"$SIM/out" 2>"$SIM/err" 3>&- &
    echo $! >"$SIM/bgpid"
    local i
    for i in $(seq 600); do
        [ -s "$SIM/ready" ] && break
        kill -0 "$(cat "$SIM/bgpid")" 2>/dev/null || break
        sleep 0.1
    done
}

teardown_file() {
    local pid i
    [ -f "$SIM/bgpid" ] || return 0
    pid=$(cat "$SIM/bgpid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
}

# write_conf DIR [EXTRA KEY LINES...]: a configuration trusting hmsim's certificate.
write_conf() {
    local dir=$1 l
    shift
    mkdir -p "$dir"
    echo admin >"$dir/pw"
    {
        printf '[hmctl]\ndata_dir = %s/data\n' "$dir"
        printf '[console]\nurl = %s\nca_file = %s/ca.pem\npassword_file = %s/pw\n' \
            "$URL" "$SIM" "$dir"
        printf 'timeout = 20s\n'
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$dir/hmctl.conf"
    CONF=$dir/hmctl.conf
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

setup() {
    [ -x "$HMSIM" ] || skip "no hmsim at $HMSIM (make)"
    [ -s "$SIM/ready" ] || skip "hmsim did not start: $(cat "$SIM/err" 2>/dev/null)"
    "$PY" -c 'import openpyxl' 2>/dev/null || skip "python3-openpyxl is missing (make deps)"
    URL=$(cat "$SIM/ready")
    BASE=${URL%/hypermotion/v1}
    write_conf "$BATS_TEST_TMPDIR/c" "page_size = 500"
    local now
    now=$(date -u +%s)
    NOW=$(iso "$now")
    FROM3=$(iso $((now - 3 * 86400)))
    FROM14=$(iso $((now - 14 * 86400)))
    FROM90=$(iso $((now - 89 * 86400)))
    export HMCTL_NOW=$NOW
    OUT=$BATS_TEST_TMPDIR/out
    mkdir -p "$OUT"
}

teardown() {
    [ -n "${BASE:-}" ] || return 0
    curl -sf --cacert "$SIM/ca.pem" -d '{"mode":"none"}' "$BASE/_hmsim/fault" >/dev/null || true
}

# report_all TYPE FROM ZONE [HMCTL OPTIONS...]: writes TYPE in the four formats into $OUT.
report_all() {
    local type=$1 from=$2 zone=$3 f
    shift 3
    for f in csv json xlsx html; do
        run "$HMCTL" -c "$CONF" report "$type" --format "$f" -o "$OUT/$type.$f" \
            --from "$from" --to "$NOW" --tz "$zone" "$@"
        assert_success
        [ -s "$OUT/$type.$f" ] || fail "no $OUT/$type.$f"
    done
}

# check TYPE FROM ZONE MIN_ROWS [CHECKER OPTIONS...]: the four files equal the API's rows.
check() {
    local type=$1 from=$2 zone=$3 min=$4
    shift 4
    run "$PY" "$CHECK" --url "$URL" --ca "$SIM/ca.pem" --type "$type" --from "$from" \
        --to "$NOW" --now "$NOW" --tz "$zone" --min-rows "$min" \
        --file "csv:$OUT/$type.csv" --file "json:$OUT/$type.json" \
        --file "xlsx:$OUT/$type.xlsx" --file "html:$OUT/$type.html" "$@"
    assert_success
}

@test "report types lists the seven types with Chinese and English names" {
    run "$HMCTL" report types
    assert_success
    assert_line --partial "host-summary     主机容灾汇总报告"
    assert_line --partial "daily-summary    主机容灾周期汇总报告(天)"
    assert_line --partial "Cloud sync gateway detail report"
    run "$HMCTL" report types --json
    assert_success
    [ "$(jq length <<<"$output")" -eq 7 ]
    [ "$(jq -r '.[1].name_zh' <<<"$output")" = "主机同步数据详细报告" ]
    [ "$(jq -r '[.[].type] | join(" ")' <<<"$output")" = \
        "host-summary sync-detail drill-detail takeover-detail daily-summary gateway-summary gateway-detail" ]
}

@test "host-summary: every format equals the API, unregistered hosts included" {
    report_all host-summary "$FROM14" Asia/Shanghai
    check host-summary "$FROM14" Asia/Shanghai 150
    [ "$(jq '[.rows[] | select(.registration == "unregistered")] | length' "$OUT/host-summary.json")" -gt 0 ]
    [ "$(jq '.rows | length' "$OUT/host-summary.json")" -eq 150 ]
}

@test "sync-detail: every format equals the API" {
    report_all sync-detail "$FROM14" Asia/Shanghai
    check sync-detail "$FROM14" Asia/Shanghai 1000
}

@test "drill-detail: every format equals the API, RPO from the last snapshot before the start" {
    report_all drill-detail "$FROM90" Europe/Berlin
    check drill-detail "$FROM90" Europe/Berlin 20
    [ "$(jq '[.rows[] | select(.rpo != null)] | length' "$OUT/drill-detail.json")" -gt 0 ]
}

@test "takeover-detail: every format equals the API" {
    report_all takeover-detail "$FROM90" UTC
    check takeover-detail "$FROM90" UTC 1
}

@test "daily-summary: every format equals the API, days in the zone" {
    report_all daily-summary "$FROM14" Asia/Shanghai
    check daily-summary "$FROM14" Asia/Shanghai 15
    report_all daily-summary "$FROM14" America/New_York
    check daily-summary "$FROM14" America/New_York 15
}

@test "gateway-summary and gateway-detail: every format equals the API" {
    report_all gateway-summary "$FROM14" UTC
    check gateway-summary "$FROM14" UTC 3
    report_all gateway-detail "$FROM14" UTC
    check gateway-detail "$FROM14" UTC 100
}

@test "--hosts keeps only the named hosts (names or ids)" {
    local jobs name id
    jobs=$("$PY" "$CHECK" --url "$URL" --ca "$SIM/ca.pem" --dump-jobs --from "$FROM3")
    name=$(jq -r '[.[] | select(.job_type == "Sync")][0].host' <<<"$jobs")
    id=$(jq -r '[.[] | select(.job_type == "Sync" and .host != "'"$name"'")][0].source_id' <<<"$jobs")
    report_all sync-detail "$FROM14" UTC --hosts "$name,$id"
    check sync-detail "$FROM14" UTC 2 --hosts "$name,$id"
    [ "$(jq '[.rows[].host_id] | unique | length' "$OUT/sync-detail.json")" -eq 2 ]
}

@test "a job at 23:xx UTC counts on the next day in Asia/Shanghai and on its own day in UTC" {
    local jobs job start host s to day next
    jobs=$("$PY" "$CHECK" --url "$URL" --ca "$SIM/ca.pem" --dump-jobs --from "$FROM3")
    job=$(jq -c '[.[] | select(.job_type == "Sync" and .job_status == "done" and
                 (.start_at | test("T23:[0-5][0-9]")))][0]' <<<"$jobs")
    [ "$job" != null ] || fail "no sync started at 23:xx UTC in the seeded history"
    start=$(jq -r .start_at <<<"$job")
    host=$(jq -r .source_id <<<"$job")
    s=$(date -u -d "$start" +%s)
    to=$(iso $((s + 1)))
    day=$(date -u -d "$start" +%Y-%m-%d)
    next=$(date -u -d "@$((s + 86400))" +%Y-%m-%d)
    run "$HMCTL" -c "$CONF" report daily-summary --format json --hosts "$host" \
        --from "$start" --to "$to" --tz Asia/Shanghai
    assert_success
    [ "$(jq -c '[.rows[] | [.date, .syncs_ok]]' <<<"$output")" = "[[\"$next\",1]]" ] ||
        fail "Asia/Shanghai: $(jq -c .rows <<<"$output")"
    run "$HMCTL" -c "$CONF" report daily-summary --format json --hosts "$host" \
        --from "$start" --to "$to" --tz UTC
    assert_success
    [ "$(jq -c '[.rows[] | [.date, .syncs_ok]]' <<<"$output")" = "[[\"$day\",1]]" ] ||
        fail "UTC: $(jq -c .rows <<<"$output")"
    # and the same job in sync-detail shows its time in the zone with the offset
    run "$HMCTL" -c "$CONF" report sync-detail --format json --hosts "$host" \
        --from "$start" --to "$to" --tz Asia/Shanghai
    assert_success
    [ "$(jq -r '.rows[0].start_at' <<<"$output")" = "$(TZ=Asia/Shanghai date -d "$start" +%Y-%m-%dT%H:%M:%S+08:00)" ]
}

@test "a date as --to includes that whole day; the range is recorded with offsets" {
    run "$HMCTL" -c "$CONF" report daily-summary --format json --from 2026-01-01 --to 2026-01-03 \
        --tz Asia/Shanghai
    assert_success
    [ "$(jq -c '[.rows[].date]' <<<"$output")" = '["2026-01-01","2026-01-02","2026-01-03"]' ]
    [ "$(jq -r .report.from <<<"$output")" = "2026-01-01T00:00:00+08:00" ]
    [ "$(jq -r .report.to <<<"$output")" = "2026-01-04T00:00:00+08:00" ]
    [ "$(jq -r .report.time_zone <<<"$output")" = "Asia/Shanghai" ]
}

@test "headers follow the locale; --lang overrides; --bom starts the CSV with a BOM" {
    local zh=(env -u LC_ALL -u LC_MESSAGES LANG=zh_CN.UTF-8)
    run "${zh[@]}" "$HMCTL" -c "$CONF" report sync-detail --from "$FROM14" --to "$NOW" \
        --tz Asia/Shanghai --bom -o "$OUT/sync-detail.csv"
    assert_success
    run "${zh[@]}" "$HMCTL" -c "$CONF" report sync-detail --from "$FROM14" --to "$NOW" \
        --tz Asia/Shanghai -o "$OUT/sync-detail.xlsx"
    assert_success
    run "$PY" "$CHECK" --url "$URL" --ca "$SIM/ca.pem" --type sync-detail --from "$FROM14" \
        --to "$NOW" --now "$NOW" --tz Asia/Shanghai --lang zh --bom --min-rows 1 \
        --file "csv:$OUT/sync-detail.csv" --file "xlsx:$OUT/sync-detail.xlsx"
    assert_success
    [ "$(head -c 3 "$OUT/sync-detail.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ]
    run "${zh[@]}" "$HMCTL" -c "$CONF" report gateway-summary --lang en
    assert_success
    assert_line --index 0 --partial "Gateway,Gateway ID,Cloud type"
    run env -u LC_ALL -u LC_MESSAGES LANG=en_US.UTF-8 "$HMCTL" -c "$CONF" report gateway-summary --lang zh
    assert_success
    assert_line --index 0 --partial "网关名称,网关ID,云类型"
    run env -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 "$HMCTL" -c "$CONF" report gateway-summary
    assert_line --index 0 --partial "Gateway,Gateway ID"
}

@test "an empty range gives valid files with headers and zero rows" {
    local f
    for f in csv json xlsx html; do
        run "$HMCTL" -c "$CONF" report sync-detail --format "$f" -o "$OUT/empty.$f" \
            --from 2030-01-01 --to 2030-01-02 --tz UTC
        assert_success
    done
    [ "$(wc -l <"$OUT/empty.csv")" -eq 1 ]
    [ "$(jq '.rows | length' "$OUT/empty.json")" -eq 0 ]
    [ "$(jq '.summary.rows' "$OUT/empty.json")" -eq 0 ]
    run "$PY" "$CHECK" --url "$URL" --ca "$SIM/ca.pem" --type sync-detail --from 2030-01-01T00:00:00Z \
        --to 2030-01-02T00:00:00Z --now "$NOW" --tz UTC \
        --file "csv:$OUT/empty.csv" --file "json:$OUT/empty.json" \
        --file "xlsx:$OUT/empty.xlsx" --file "html:$OUT/empty.html"
    assert_success
    assert_output --partial "sync-detail xlsx: 0 rows match"
}

@test "HTML is self-contained: no external references" {
    report_all host-summary "$FROM14" UTC
    run grep -Eio '(src|href)[[:space:]]*=|@import|url\(' "$OUT/host-summary.html"
    assert_failure
    run grep -c '<style>' "$OUT/host-summary.html"
    assert_output 1
}

@test "standard output: CSV by default, XLSX through a pipe, format from the file name" {
    run "$HMCTL" -c "$CONF" report gateway-summary
    assert_success
    assert_line --index 0 "$(printf "Gateway,Gateway ID,Cloud type,Region,Status,Online,Capacity total (GiB),Capacity used (GiB),Used,Pools,Volumes\r")"
    "$HMCTL" -c "$CONF" report gateway-summary --format xlsx | head -c 2 >"$OUT/magic"
    [ "$(cat "$OUT/magic")" = "PK" ]
    run "$HMCTL" -c "$CONF" report gateway-summary -o "$OUT/g.json"
    assert_success
    [ "$(jq -r .report.type "$OUT/g.json")" = gateway-summary ]
    # no temporary file stays behind
    [ "$(find "$OUT" -name '.*' -type f | wc -l)" -eq 0 ]
}

@test "unknown type, zone, format, language and bad ranges are clear usage errors" {
    run "$HMCTL" -c "$CONF" report bogus
    assert_failure 2
    assert_output --partial "unknown report type 'bogus'"
    assert_output --partial "host-summary, sync-detail"
    run "$HMCTL" -c "$CONF" report sync-detail --tz Mars/Olympus_Mons
    assert_failure 2
    assert_output --partial "unknown time zone 'Mars/Olympus_Mons'"
    run "$HMCTL" -c "$CONF" report sync-detail --format pdf
    assert_failure 2
    assert_output --partial "unknown format 'pdf': expected csv, xlsx, json or html"
    run "$HMCTL" -c "$CONF" report sync-detail --lang fr
    assert_failure 2
    assert_output --partial "unknown language 'fr'"
    run "$HMCTL" -c "$CONF" report sync-detail --from 2026-02-30
    assert_failure 2
    assert_output --partial "invalid date in '2026-02-30'"
    run "$HMCTL" -c "$CONF" report sync-detail --from 2026-11-02 --to 2026-11-01
    assert_failure 2
    assert_output --partial "empty range"
    run "$HMCTL" -c "$CONF" report daily-summary --from 2000-01-01
    assert_failure 1
    assert_output --partial "daily-summary covers at most"
    run "$HMCTL" -c "$CONF" report sync-detail -o "$BATS_TEST_TMPDIR/no/such/dir/r.csv"
    assert_failure 1
    assert_output --partial "cannot write '$BATS_TEST_TMPDIR/no/such/dir/r.csv'"
    run "$HMCTL" -c "$CONF" report sync-detail --console nosuch
    assert_failure 1
    assert_output --partial "no console 'nosuch'"
}

@test "a console answering 500 mid-way: an error, no partial file, the old file untouched" {
    write_conf "$BATS_TEST_TMPDIR/slow" "page_size = 5"
    local dir=$BATS_TEST_TMPDIR/mid before i n
    mkdir -p "$dir"
    echo old >"$dir/r.xlsx"
    before=$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq .api_requests)
    curl -sf --cacert "$SIM/ca.pem" -d '{"ms":20}' "$BASE/_hmsim/latency" >/dev/null
    "$HMCTL" -c "$CONF" report sync-detail -o "$dir/r.xlsx" --from "$FROM90" \
        >"$dir/stdout" 2>"$dir/stderr" &
    local pid=$!
    # arm the fault once the report is under way (token and a few pages read)
    for i in $(seq 300); do
        n=$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq .api_requests)
        [ "$n" -ge $((before + 4)) ] && break
        sleep 0.05
    done
    curl -sf --cacert "$SIM/ca.pem" -d '{"mode":"500","count":1000}' "$BASE/_hmsim/fault" >/dev/null
    local rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 1 ] || fail "exit status $rc: $(cat "$dir/stderr")"
    grep -q "HTTP 500" "$dir/stderr" || fail "stderr: $(cat "$dir/stderr")"
    grep -q "cannot read jobs from console" "$dir/stderr"
    [ "$(cat "$dir/r.xlsx")" = old ]
    [ "$(ls -A "$dir" | sort | tr '\n' ' ')" = "r.xlsx stderr stdout " ] || fail "left: $(ls -A "$dir")"
}
