#!/usr/bin/env bats
# hmsim, the console API simulator, driven over HTTPS with curl and jq as any client would.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load hmsim


# start_sim DIR ARGS...: starts hmsim on a free port and waits for its ready file.
setup_file() {
    export SIM="$BATS_FILE_TMPDIR/main"
    start_sim "$SIM" --seed 42 --hosts 1200 --speed 4 --boot-delay 4s --clean-delay 2s \
        --sync-delay 4s
}

teardown_file() {
    stop_sim "$SIM"
}

setup() {
    URL=$(cat "$SIM/ready")
    BASE=${URL%/hypermotion/v1}
    TOKEN=$(login "$SIM" admin admin | jq -r .token)
}

teardown() {
    # faults are process-wide: leave none armed for the next test
    ctl fault '{"mode":"none"}' >/dev/null || true
}

login() {
    curl -sS --cacert "$1/ca.pem" -X POST -H 'Content-Type: application/json' \
        -d "{\"username\":\"$2\",\"password\":\"$3\"}" "$(cat "$1/ready")/users/token"
}

api() {
    local path=$1
    shift
    curl -sS --cacert "$SIM/ca.pem" -H "X-AUTH-TOKEN: $TOKEN" "$@" "$URL$path"
}

ctl() {
    curl -sS --cacert "$SIM/ca.pem" -X POST -d "$2" "$BASE/_hmsim/$1"
}

# A host a boot can start on: registered, healthy, licensed, idle, with snapshots.
bootable_host() {
    api "/hosts?page=1&page_size=2000" | jq -r --argjson skip "${1:-0}" '[.data[] |
        select(.h_boot_status == "not_boot" and .license_valid and .is_doing == false
               and .h_health_status == "active" and (.snapshots | length) > 0
               and (.h_host_status | startswith("host_unregister") | not))][$skip].id'
}

# wait_job HOST TYPE STATUS: waits until the newest TYPE job of HOST has STATUS.
wait_job() {
    local i st
    for i in $(seq 100); do
        st=$(api "/jobs?status=all&page=1&page_size=1&id=$1&job_type=$2" | jq -r '.data[0].job_status')
        [ "$st" = "$3" ] && return 0
        sleep 0.1
    done
    echo "job $2 of $1 is $st, expected $3" >&2
    return 1
}

@test "hmsim prints the URL it serves and writes the ready file" {
    run cat "$SIM/out"
    assert_output --regexp '^hmsim: serving https://127\.0\.0\.1:[0-9]+/hypermotion/v1$'
    assert_equal "$(cat "$SIM/ready")" "${output#hmsim: serving }"
}

@test "--help describes the options and a bad option is refused" {
    run "$HMSIM" --help
    assert_success
    assert_output --partial '--cert-out FILE'
    run "$HMSIM" --hosts many
    assert_failure 2
    assert_output --partial "invalid --hosts 'many'"
}

@test "a token is issued for the right credentials only" {
    run login "$SIM" admin wrong
    assert_output --partial '"code":401'
    assert_output --partial 'invalid username or password'
    run curl -sS --cacert "$SIM/ca.pem" -o /dev/null -w '%{http_code}' -X POST \
        -d '{"username":"admin","password":"wrong"}' "$URL/users/token"
    assert_output 401
    [ ${#TOKEN} -ge 16 ]
}

@test "API calls without a valid token get 401 with a JSON message" {
    run curl -sS --cacert "$SIM/ca.pem" -w ' %{http_code}' "$URL/hosts"
    assert_output '{"code":401,"message":"X-AUTH-TOKEN is required"} 401'
    run curl -sS --cacert "$SIM/ca.pem" -H 'X-AUTH-TOKEN: nope' -o /dev/null -w '%{http_code}' "$URL/hosts"
    assert_output 401
    run api "/hosts?page=1&page_size=1" -o /dev/null -w '%{http_code}'
    assert_output 200
}

@test "expire-tokens invalidates issued tokens and a new login works" {
    run ctl expire-tokens '{}'
    assert_output --partial '"code":200'
    run api "/hosts" -w ' %{http_code}'
    assert_output --partial ' 401'
    TOKEN=$(login "$SIM" admin admin | jq -r .token)
    run api "/hosts" -o /dev/null -w '%{http_code}'
    assert_output 200
}

@test "paging over 1,200 hosts returns every host id exactly once" {
    local page=1 ids="$BATS_TEST_TMPDIR/ids" total
    : >"$ids"
    while :; do
        api "/hosts?page=$page&page_size=100" >"$BATS_TEST_TMPDIR/page"
        total=$(jq .total "$BATS_TEST_TMPDIR/page")
        jq -r '.data[].id' "$BATS_TEST_TMPDIR/page" >>"$ids"
        [ $((page * 100)) -ge "$total" ] && break
        page=$((page + 1))
    done
    assert_equal "$total" 1200
    assert_equal "$page" 12
    assert_equal "$(wc -l <"$ids")" 1200
    assert_equal "$(sort -u "$ids" | wc -l)" 1200
}

@test "the fleet has every source, both systems, Chinese names and the odd cases" {
    api "/hosts?page=1&page_size=2000" >"$BATS_TEST_TMPDIR/all"
    run jq -r '[.data[].host_type] | unique | join(",")' "$BATS_TEST_TMPDIR/all"
    assert_output 'agent,aws,fusioncompute,openstack,oracle,vmware'
    run jq -r '[.data[].system_type] | unique | join(",")' "$BATS_TEST_TMPDIR/all"
    assert_output 'Linux,Windows'
    run jq '[.data[] | select(.host_name | test("[^\\x00-\\x7f]"))] | length' "$BATS_TEST_TMPDIR/all"
    [ "$output" -gt 0 ]
    run jq '[.data[] | select(.h_host_status == "host_unregister_done")] | length' "$BATS_TEST_TMPDIR/all"
    [ "$output" -gt 0 ]
    run jq '[.data[] | select(.h_health_status == "disconnected")] | length' "$BATS_TEST_TMPDIR/all"
    [ "$output" -gt 0 ]
    run jq '[.data[] | select(.license_valid == false)] | length' "$BATS_TEST_TMPDIR/all"
    [ "$output" -gt 0 ]
    # one host replicates no more: its newest snapshot is over a week old
    run jq '[.data[] | select(.last_snapshots_at != null and
             (now - (.last_snapshots_at | fromdateiso8601)) > 7 * 86400 and
             (.h_host_status | startswith("host_unregister") | not))] | length' "$BATS_TEST_TMPDIR/all"
    [ "$output" -gt 0 ]
}

@test "the same seed gives the same fleet and another seed a different one" {
    start_sim "$BATS_TEST_TMPDIR/a" --seed 7 --hosts 40
    start_sim "$BATS_TEST_TMPDIR/b" --seed 7 --hosts 40
    start_sim "$BATS_TEST_TMPDIR/c" --seed 8 --hosts 40
    local d
    for d in a b c; do
        local dir="$BATS_TEST_TMPDIR/$d"
        local tok
        tok=$(login "$dir" admin admin | jq -r .token)
        curl -sS --cacert "$dir/ca.pem" -H "X-AUTH-TOKEN: $tok" \
            "$(cat "$dir/ready")/hosts?page=1&page_size=100" |
            jq -c '[.data[] | {id, host_name, host_type, system_type, ip_address, storage_id}]' \
                >"$BATS_TEST_TMPDIR/$d.json"
    done
    stop_sim "$BATS_TEST_TMPDIR/a"
    stop_sim "$BATS_TEST_TMPDIR/b"
    stop_sim "$BATS_TEST_TMPDIR/c"
    assert_equal "$(jq length "$BATS_TEST_TMPDIR/a.json")" 40
    cmp "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/b.json"
    ! cmp -s "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/c.json"
}

@test "host filters: status, ids, kw and target_platform" {
    run api "/hosts?page=1&page_size=2000&status=sync"
    run jq -r '[.data[].h_host_status] | unique | map(startswith("sync_")) | all' <<<"$output"
    assert_output true
    local two
    two=$(api "/hosts?page=1&page_size=2" | jq -r '[.data[].id] | join(",")')
    run api "/hosts?page=1&page_size=10&ids=$two"
    assert_equal "$(jq .total <<<"$output")" 2
    run api "/hosts?page=1&page_size=2000&kw=DB"
    run jq -r '[.data[].host_name | ascii_downcase | contains("db")] | all' <<<"$output"
    assert_output true
    local plat
    plat=$(api "/hosts?page=1&page_size=1" | jq -r '.data[0].target_platform')
    run api "/hosts?page=1&page_size=2000&target_platform=$plat"
    run jq -r --arg p "$plat" '[.data[].target_platform == $p] | all' <<<"$output"
    assert_output true
}

@test "host details: base, storage and snapshot sheets" {
    local id
    id=$(bootable_host)
    run api "/hosts/$id?sheet=base"
    assert_equal "$(jq -r .id <<<"$output")" "$id"
    jq -e '.os_version and .cpu and .ram and (.nics | length) > 0' <<<"$output"
    run api "/hosts/$id?sheet=storage"
    jq -e '(.disks | length) > 0 and .disks[0].is_boot_disk and (.volumes | length) > 0' <<<"$output"
    run api "/hosts/$id?sheet=snapshot&page=1&page_size=2"
    jq -e '.total > 0 and (.data | length) <= 2 and .snapshot_interval_unit and .snapshot_quota' <<<"$output"
    run api "/hosts/no-such-host" -w ' %{http_code}'
    assert_output --partial ' 404'
}

@test "a boot action creates a Drill job that reaches done and sets the instance" {
    local id snap
    id=$(bootable_host 0)
    snap=$(api "/hosts/$id?sheet=snapshot" | jq -r '.data[] | select(.status == "create_done") | .id' | head -1)
    run api "/hosts/$id/action" -X POST \
        -d "{\"boot\":{\"backup_type\":\"volume_snapshot\",\"snapshot_id\":\"$snap\",\"network\":\"n1\"}}"
    assert_output --partial '"code":200'
    run api "/hosts/$id"
    assert_equal "$(jq -r .h_boot_status <<<"$output")" boot_doing
    wait_job "$id" Drill done
    run api "/hosts/$id"
    assert_equal "$(jq -r .h_boot_status <<<"$output")" boot_done
    [ "$(jq -r .cloud_instance_id <<<"$output")" != null ]
    # a second boot must wait for the cleanup, which brings the host back to not_boot
    run api "/hosts/$id/action" -X POST -d '{"boot":{"backup_type":"volume_snapshot"}}' -w ' %{http_code}'
    assert_output --partial ' 409'
    run api "/hosts" -X POST -d "{\"ids\":[\"$id\"],\"clean\":{\"force\":false}}"
    assert_output --partial '"code":200'
    wait_job "$id" Clean done
    run api "/hosts/$id"
    assert_equal "$(jq -r .h_boot_status <<<"$output")" not_boot
    assert_equal "$(jq -r .h_host_status <<<"$output")" clean_done
}

@test "fail-next-boot makes the next drill fail" {
    local id
    id=$(bootable_host 1)
    run ctl fail-next-boot "{\"host\":\"$id\"}"
    assert_output --partial '"code":200'
    run api "/hosts/$id/action" -X POST -d '{"boot":{"backup_type":"volume_snapshot"}}'
    assert_output --partial '"code":200'
    wait_job "$id" Drill failed
    run api "/hosts/$id"
    assert_equal "$(jq -r .h_boot_status <<<"$output")" boot_failed
}

@test "a formal boot creates a Takeover job; bad boot bodies are refused" {
    local id
    id=$(bootable_host 2)
    run api "/hosts/$id/action" -X POST -d '{"boot":{"backup_type":"bogus"}}' -w ' %{http_code}'
    assert_output --partial ' 400'
    run api "/hosts/$id/action" -X POST -d '{"boot":{"backup_type":"volume_snapshot","snapshot_id":"nope"}}' -w ' %{http_code}'
    assert_output --partial ' 404'
    run api "/hosts/$id/action" -X POST -d 'not json' -w ' %{http_code}'
    assert_output --partial ' 400'
    run api "/hosts/$id/action" -X POST -d '{"boot":{"backup_type":"volume_backup"}}'
    assert_output --partial '"code":200'
    wait_job "$id" Takeover done
}

@test "sync now completes into a new snapshot; fail-next-sync makes it fail" {
    local id before after
    id=$(bootable_host 3)
    # let a periodic sync in flight finish first
    for i in $(seq 50); do
        [ "$(api "/hosts/$id" | jq -r .is_doing)" = false ] && break
        sleep 0.1
    done
    before=$(api "/hosts/$id" | jq -r .last_snapshots_at)
    sleep 1
    run api "/hosts" -X POST -d "{\"ids\":[\"$id\"],\"sync\":{\"do_snapshot\":true,\"sync_mode\":\"incremental\"}}"
    assert_output --partial '"code":200'
    run api "/hosts/$id"
    assert_equal "$(jq -r .h_host_status <<<"$output")" sync_doing
    jq -e '.detail_data.percent >= 0 and .detail_data.speed and .detail_data.synced' <<<"$output"
    wait_job "$id" Sync done
    after=$(api "/hosts/$id" | jq -r .last_snapshots_at)
    [ "$after" \> "$before" ]
    run ctl fail-next-sync "{\"host\":\"$id\"}"
    api "/hosts" -X POST -d "{\"ids\":[\"$id\"],\"sync\":{\"sync_mode\":\"full\"}}"
    wait_job "$id" Sync failed
    run api "/hosts/$id"
    assert_equal "$(jq -r .h_host_status <<<"$output")" sync_failed
    run api "/hosts" -X POST -d '{"ids":["missing"],"sync":{}}' -w ' %{http_code}'
    assert_output --partial ' 404'
}

@test "disconnect and reconnect a host by name" {
    local name
    name=$(api "/hosts/$(bootable_host 4)" | jq -r .host_name)
    run ctl disconnect "{\"host\":\"$name\"}"
    assert_output --partial 'disconnected'
    run api "/hosts?page=1&page_size=10&kw=$name"
    assert_equal "$(jq -r --arg n "$name" '.data[] | select(.host_name == $n) | .h_health_status' <<<"$output")" disconnected
    run ctl reconnect "{\"host\":\"$name\"}"
    run api "/hosts?page=1&page_size=10&kw=$name"
    assert_equal "$(jq -r --arg n "$name" '.data[] | select(.host_name == $n) | .h_health_status' <<<"$output")" active
    run ctl disconnect '{"host":"no-such-host"}'
    assert_output --partial '"code":404'
}

@test "hosts can be given hostile names and an old snapshot" {
    local a b
    a=$(bootable_host 5)
    b=$(bootable_host 6)
    ctl rename "{\"host\":\"$a\",\"host_name\":\"\$(touch /tmp/x)\"}"
    ctl rename "{\"host\":\"$b\",\"host_name\":\"; rm -rf x\"}"
    run api "/hosts?page=1&page_size=10&ids=$a,$b"
    assert_equal "$(jq -r '[.data[].host_name] | sort | join("|")' <<<"$output")" '$(touch /tmp/x)|; rm -rf x'
    run ctl snapshot-time "{\"host\":\"$a\",\"age\":\"10d\"}"
    assert_output --partial '"code":200'
    run api "/hosts/$a"
    run jq '(now - (.last_snapshots_at | fromdateiso8601)) / 86400 | floor' <<<"$output"
    assert_output 10
    run ctl snapshot-time "{\"host\":\"$a\",\"last_snapshots_at\":\"2020-01-02T03:04:05Z\"}"
    assert_equal "$(api "/hosts/$a" | jq -r .last_snapshots_at)" 2020-01-02T03:04:05Z
}

@test "jobs: newest first, filters by status, type, owner and host id" {
    run api "/jobs?status=all&page=1&page_size=200"
    jq -e '.total > 1000 and ([.data[].start_at] | . == (sort | reverse))' <<<"$output"
    run api "/jobs?status=working&page=1&page_size=1000"
    assert_equal "$(jq -r '[.data[].job_status == "doing"] | all' <<<"$output")" true
    run api "/jobs?status=complete&job_type=Sync&page=1&page_size=1000"
    assert_equal "$(jq -r '[.data[] | .job_type + ":" + (.job_status != "doing" | tostring)] | unique | join(",")' <<<"$output")" Sync:true
    local id name
    id=$(api "/hosts?page=1&page_size=1" | jq -r '.data[0].id')
    name=$(api "/hosts/$id" | jq -r .host_name)
    run api "/jobs?page=1&page_size=1000&owner=$(jq -rn --arg n "$name" '$n | @uri')"
    assert_equal "$(jq -r '[.data[].source_id] | unique | join(",")' <<<"$output")" "$id"
    run api "/jobs?page=1&page_size=1000&id=$id"
    assert_equal "$(jq -r '[.data[].host] | unique | join(",")' <<<"$output")" "$name"
    # about 3-8% of the finished history fails
    run api "/jobs?status=complete&page=1&page_size=10000"
    run jq '[.data[] | select(.job_status == "failed")] | length * 1000 / (.data | length) | floor' <<<"$output"
    [ "$output" -ge 30 ] && [ "$output" -le 80 ]
    run api "/jobs?status=bogus" -w ' %{http_code}'
    assert_output --partial ' 400'
}

@test "targets list the gateways and their volumes" {
    run api "/targets"
    assert_equal "$(jq '.targets.data | length' <<<"$output")" 3
    local uuid
    uuid=$(jq -r '.targets.data[0].uuid' <<<"$output")
    run api "/targets/$uuid"
    jq -e '.Storage.data.total_size > 0 and (.storage_pools.data | length) > 0 and
           (.volumes.data | length) > 0 and .volumes.data[0].connector.host and
           .volumes.data[0].source.pool_uuid' <<<"$output"
    run api "/targets/nope" -w ' %{http_code}'
    assert_output --partial ' 404'
}

@test "fault 500 answers the next requests with HTTP 500 and a JSON message" {
    ctl fault '{"mode":"500","count":2}'
    run api "/hosts" -w ' %{http_code}'
    assert_output '{"code":500,"message":"internal server error (injected by hmsim)"} 500'
    run api "/hosts" -o /dev/null -w '%{http_code}'
    assert_output 500
    run api "/hosts" -o /dev/null -w '%{http_code}'
    assert_output 200
}

@test "fault malformed answers 200 with a body no JSON parser accepts" {
    ctl fault '{"mode":"malformed"}'
    api "/hosts?page=1&page_size=5" >"$BATS_TEST_TMPDIR/bad"
    run jq . "$BATS_TEST_TMPDIR/bad"
    assert_failure
    run api "/hosts?page=1&page_size=5"
    jq -e '.total == 1200' <<<"$output"
}

@test "fault truncated closes the connection before Content-Length bytes" {
    ctl fault '{"mode":"truncated"}'
    run api "/hosts?page=1&page_size=50" -o /dev/null
    assert_failure 18
    run api "/hosts?page=1&page_size=5" -o /dev/null -w '%{http_code}'
    assert_output 200
}

@test "fault stall holds one answer while other connections are served" {
    ctl fault '{"mode":"stall","seconds":5}'
    local t0=$SECONDS
    api "/hosts" --max-time 2 -o /dev/null 2>/dev/null &
    local stalled=$!
    sleep 0.3
    run api "/hosts?page=1&page_size=1" --max-time 2 -o /dev/null -w '%{http_code}'
    assert_output 200
    local rc=0
    wait "$stalled" || rc=$?
    assert_equal "$rc" 28
    [ $((SECONDS - t0)) -lt 5 ]
}

@test "latency delays every API answer but not the control endpoint" {
    ctl latency '{"ms":400}'
    run api "/hosts?page=1&page_size=1" -o /dev/null -w '%{time_total}'
    ctl latency '{"ms":0}'
    [ "$(echo "$output >= 0.4" | bc)" = 1 ]
    run curl -sS --cacert "$SIM/ca.pem" -o /dev/null -w '%{http_code}' "$BASE/_hmsim/stats"
    assert_output 200
}

@test "stats count hosts, jobs, actions and requests; unknown paths are JSON 404s" {
    run curl -sS --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats"
    jq -e '.hosts == 1200 and .jobs > 1000 and .requests > 10 and .actions.drill >= 1 and
           .actions.sync >= 1 and .faults_served.error500 >= 2' <<<"$output"
    run api "/nothing" -w ' %{http_code}'
    assert_output --partial '"code":404'
    assert_output --partial ' 404'
    run ctl nothing '{}'
    assert_output --partial '"code":404'
    run api "/hosts?page_size=0" -w ' %{http_code}'
    assert_output --partial ' 400'
}

@test "10,000 hosts and 1,000,000 jobs start quickly and page in milliseconds" {
    local dir="$BATS_TEST_TMPDIR/big" t0 t1
    t0=$(date +%s%N)
    start_sim "$dir" --hosts 10000 --jobs 1000000
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000)) -lt 30000 ]
    local url tok
    url=$(cat "$dir/ready")
    tok=$(login "$dir" admin admin | jq -r .token)
    # the second and third transfers reuse the connection, so they time the answer alone
    run curl -sS --cacert "$dir/ca.pem" -H "X-AUTH-TOKEN: $tok" -o /dev/null -o /dev/null -o /dev/null \
        -w '%{time_total}\n' "$url/hosts?page=1&page_size=100" "$url/hosts?page=57&page_size=100" \
        "$url/jobs?page=9000&page_size=100"
    local jobs
    jobs=$(curl -sS --cacert "$dir/ca.pem" "${url%/hypermotion/v1}/_hmsim/stats" | jq .jobs)
    stop_sim "$dir"
    echo "$output"
    [ "$(echo "$(sed -n 2p <<<"$output") < 0.25" | bc)" = 1 ]
    [ "$(echo "$(sed -n 3p <<<"$output") < 0.25" | bc)" = 1 ]
    [ "$jobs" -ge 1000000 ]
}

@test "job pages served at the same time are the pages served one at a time" {
    local dir="$BATS_TEST_TMPDIR/par" url tok p round
    # --speed 0.0001: no job starts or ends while the pages are read
    start_sim "$dir" --hosts 500 --jobs 40000 --speed 0.0001
    url=$(cat "$dir/ready")
    tok=$(login "$dir" admin admin | jq -r .token)
    local -a seq=() par=()
    for p in 1 2 3 4; do
        seq+=(-o "$dir/seq$p" "$url/jobs?status=complete&page=$p&page_size=5000")
        par+=(-o "$dir/par$p" "$url/jobs?status=complete&page=$p&page_size=5000")
    done
    curl -sS --cacert "$dir/ca.pem" -H "X-AUTH-TOKEN: $tok" "${seq[@]}"
    local same=0
    for round in 1 2 3; do
        # four connections at once, so the answers are built and written out side by side
        curl -sS --cacert "$dir/ca.pem" -H "X-AUTH-TOKEN: $tok" -Z --parallel-immediate "${par[@]}"
        for p in 1 2 3 4; do
            cmp -s "$dir/seq$p" "$dir/par$p" && same=$((same + 1))
        done
    done
    local n
    n=$(jq -s '[.[].data | length] | add' "$dir/seq1" "$dir/seq2" "$dir/seq3" "$dir/seq4")
    stop_sim "$dir"
    assert_equal "$n" 20000
    assert_equal "$same" 12
}
