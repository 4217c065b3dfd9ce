#!/usr/bin/env bats
# The console client and its commands against hmsim over HTTPS with its generated certificate.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load hmsim

HMCTL=${HMCTL:-$BATS_TEST_DIRNAME/../../build/hmctl}

setup_file() {
    export SIM="$BATS_FILE_TMPDIR/sim"
    start_sim "$SIM" --seed 7 --hosts 1200 --gateways 3 --speed 20 --sync-delay 2s --boot-delay 2s
}

teardown_file() {
    stop_sim "$SIM"
}

# write_conf DIR [EXTRA KEY LINES...]: a configuration trusting hmsim's certificate.
write_conf() {
    local dir=$1
    shift
    mkdir -p "$dir"
    echo admin >"$dir/pw"
    {
        printf '[hmctl]\ndata_dir = %s/data\ntimeout = 10s\n' "$dir"
        printf '[console]\nurl = %s\nca_file = %s/ca.pem\npassword_file = %s/pw\n' \
            "$URL" "$SIM" "$dir"
        printf 'timeout = 3s\n'
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$dir/hmctl.conf"
    CONF=$dir/hmctl.conf
}

setup() {
    URL=$(cat "$SIM/ready")
    BASE=${URL%/hypermotion/v1}
    write_conf "$BATS_TEST_TMPDIR/c"
}

control() {
    curl -sf --cacert "$SIM/ca.pem" -d "$2" "$BASE/_hmsim/$1" >/dev/null
}

teardown() {
    control fault '{"mode":"none"}' || true
    stop_sim "$BATS_TEST_TMPDIR/own"
}

@test "paging over 1,200 hosts returns every host exactly once" {
    run "$HMCTL" -c "$CONF" hosts --json
    assert_success
    [ "$(jq length <<<"$output")" -eq 1200 ]
    [ "$(jq '[.[].id] | unique | length' <<<"$output")" -eq 1200 ]
}

@test "small pages still return every host once" {
    write_conf "$BATS_TEST_TMPDIR/p" "page_size = 7"
    run "$HMCTL" -c "$CONF" hosts --json
    assert_success
    [ "$(jq '[.[].id] | unique | length' <<<"$output")" -eq 1200 ]
}

@test "hosts filters and table" {
    run "$HMCTL" -c "$CONF" hosts --source aws --json
    assert_success
    [ "$(jq '[.[] | select(.host_type != "aws")] | length' <<<"$output")" -eq 0 ]
    [ "$(jq length <<<"$output")" -gt 0 ]
    run "$HMCTL" -c "$CONF" hosts --filter 01 --sort age
    assert_success
    assert_line --partial "NAME"
    run "$HMCTL" -c "$CONF" hosts --sort bogus
    assert_failure 2
}

@test "an expired token is refreshed transparently" {
    # tokens expire while the pages are being read, so a page answers 401 mid-run
    write_conf "$BATS_TEST_TMPDIR/t" "page_size = 20"
    before=$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq .auth_failures)
    control latency '{"ms":30}'
    (sleep 0.7; control expire-tokens '{}') &
    run "$HMCTL" -c "$CONF" hosts --json
    wait
    control latency '{"ms":0}'
    assert_success
    [ "$(jq '[.[].id] | unique | length' <<<"$output")" -eq 1200 ]
    after=$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq .auth_failures)
    [ "$after" -gt "$before" ]
}

@test "jobs read ahead: an expired token mid-run costs no job and repeats none" {
    # pages are read two ahead on their own connections; the tokens expire while several are
    # in flight, so more than one page answers 401. Every job the console listed before the run
    # (within the window, with a margin) must come out once. A simulator of its own: the syncs
    # started here would disturb the other tests' hosts.
    SIM=$BATS_TEST_TMPDIR/own
    start_sim "$SIM" --seed 11 --hosts 1200 --speed 20 --sync-delay 2s
    URL=$(cat "$SIM/ready")
    BASE=${URL%/hypermotion/v1}
    write_conf "$BATS_TEST_TMPDIR/t" "page_size = 25"
    token=$(curl -sf --cacert "$SIM/ca.pem" -d '{"username":"admin","password":"admin"}' \
        "$URL/users/token" | jq -r .token)
    since=$(date -u -d '-5 hours' +%Y-%m-%dT%H:%M:%SZ)
    curl -sf --cacert "$SIM/ca.pem" -H "X-AUTH-TOKEN: $token" \
        "$URL/jobs?status=all&page=1&page_size=5000" |
        jq -r --arg s "$since" '.data[] | select(.start_at != null and .start_at >= $s) | .task_id' |
        sort >"$BATS_TEST_TMPDIR/want"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -gt 500 ]
    ids=$("$HMCTL" -c "$CONF" hosts --json | jq -c '[.[].id]')
    before=$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq .auth_failures)
    control latency '{"ms":30}'
    (sleep 0.7; control expire-tokens '{}') &
    expire=$!
    # the list grows at the front all along: syncs started for 40 hosts at a time
    (for i in $(seq 0 29); do
        t=$(curl -sf --cacert "$SIM/ca.pem" -d '{"username":"admin","password":"admin"}' \
            "$URL/users/token" | jq -r .token)
        jq -c --argjson i "$i" '{ids: .[($i * 40):($i * 40 + 40)], sync: {}}' <<<"$ids" |
            curl -s --cacert "$SIM/ca.pem" -H "X-AUTH-TOKEN: $t" \
                -H 'Content-Type: application/json' -d @- "$URL/hosts" >/dev/null
    done) &
    grow=$!
    run "$HMCTL" -c "$CONF" jobs --since 6h --json
    wait "$expire" "$grow"
    control latency '{"ms":0}'
    assert_success
    jq -r '.[].task_id' <<<"$output" | sort >"$BATS_TEST_TMPDIR/got"
    [ -z "$(comm -23 "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got")" ]
    [ -z "$(uniq -d "$BATS_TEST_TMPDIR/got")" ]
    after=$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq .auth_failures)
    [ "$after" -gt "$before" ]
}

@test "a wrong fingerprint is refused, showing both fingerprints" {
    write_conf "$BATS_TEST_TMPDIR/f" \
        "fingerprint = SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    run "$HMCTL" -c "$CONF" hosts
    assert_failure 1
    assert_output --partial "fingerprint mismatch"
    assert_output --partial "expected SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert_output --regexp "server presented SHA256:[A-Za-z0-9+/]{43}"
}

@test "the right fingerprint is accepted without a CA file" {
    fp=$(openssl x509 -in "$SIM/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
    mkdir -p "$BATS_TEST_TMPDIR/g"
    echo admin >"$BATS_TEST_TMPDIR/g/pw"
    printf '[console]\nurl = %s\npassword_file = %s/pw\nfingerprint = %s\n' "$URL" \
        "$BATS_TEST_TMPDIR/g" "$fp" >"$BATS_TEST_TMPDIR/g/c.conf"
    run "$HMCTL" -c "$BATS_TEST_TMPDIR/g/c.conf" gateways --json
    assert_success
    [ "$(jq length <<<"$output")" -eq 3 ]
}

@test "insecure = yes works and warns" {
    write_conf "$BATS_TEST_TMPDIR/i" "insecure = yes"
    run "$HMCTL" -c "$CONF" gateways
    assert_success
    assert_output --partial "warning: TLS verification is off"
}

@test "HTTP 500 is a clear error naming URL, status and message" {
    control fault '{"mode":"500","count":5}'
    run "$HMCTL" -c "$CONF" hosts
    assert_failure 1
    assert_output --partial "$URL/"
    assert_output --partial "HTTP 500: internal server error (injected by hmsim)"
}

@test "malformed JSON is a clear error" {
    run "$HMCTL" -c "$CONF" gateways
    control fault '{"mode":"malformed","count":5}'
    run "$HMCTL" -c "$CONF" hosts
    assert_failure 1
    assert_output --partial "malformed answer from $URL/"
    assert_output --partial "malformed JSON"
}

@test "a truncated body is a clear error" {
    control fault '{"mode":"truncated","count":5}'
    run "$HMCTL" -c "$CONF" hosts
    assert_failure 1
    assert_output --partial "$URL/"
    refute_output --partial "Sanitizer"
}

@test "a stalled server gives an error within the timeout" {
    control fault '{"mode":"stall","count":1,"seconds":20}'
    start=$(date +%s)
    run "$HMCTL" -c "$CONF" gateways
    end=$(date +%s)
    assert_failure 1
    assert_output --partial "no answer within 3.0 s"
    [ $((end - start)) -lt 8 ]
}

@test "an unknown --console lists the configured names" {
    run "$HMCTL" -c "$CONF" hosts --console nope
    assert_failure 1
    assert_output --partial "no console 'nope' in the configuration (configured: (default))"
}

@test "jobs map job types to kinds" {
    run "$HMCTL" -c "$CONF" jobs --since 90d --kind drill --json
    assert_success
    [ "$(jq '[.[] | select(.kind != "drill")] | length' <<<"$output")" -eq 0 ]
    [ "$(jq '[.[] | .job_type] | unique - ["Drill","BootTest"] | length' <<<"$output")" -eq 0 ]
    run "$HMCTL" -c "$CONF" jobs --since 1d
    assert_success
    assert_line --partial "KIND"
}

@test "gateways show lists pools and volumes" {
    id=$("$HMCTL" -c "$CONF" gateways --json | jq -r '.[0].uuid')
    run "$HMCTL" -c "$CONF" gateways show "$id" --json
    assert_success
    [ "$(jq '.storage_pools | length' <<<"$output")" -gt 0 ]
    [ "$(jq '.volumes | length' <<<"$output")" -gt 0 ]
    run "$HMCTL" -c "$CONF" gateways show "$id"
    assert_success
    assert_output --partial "POOL"
    assert_output --partial "VOLUME"
    run "$HMCTL" -c "$CONF" gateways show no-such-gateway
    assert_failure 1
}

@test "a disconnected host yields exactly one host_lost_contact over two checks" {
    host=$("$HMCTL" -c "$CONF" hosts --health active --json | jq -r '.[3].host_name')
    run "$HMCTL" -c "$CONF" check
    control disconnect "{\"host\":\"$host\"}"
    run "$HMCTL" -c "$CONF" check
    assert_failure 2
    assert_output --partial "disconnected"
    run "$HMCTL" -c "$CONF" check
    run "$HMCTL" -c "$CONF" events --json
    assert_success
    [ "$(jq --arg h "$host" '[.[] | select(.type == "host_lost_contact" and .host_name == $h)] | length' <<<"$output")" -eq 1 ]
    control reconnect "{\"host\":\"$host\"}"
    run "$HMCTL" -c "$CONF" check
    run "$HMCTL" -c "$CONF" events --json
    [ "$(jq --arg h "$host" '[.[] | select(.type == "host_reconnected" and .host_name == $h)] | length' <<<"$output")" -eq 1 ]
}

@test "a failed sync yields sync_failed" {
    json=$("$HMCTL" -c "$CONF" hosts --health active --state sync_snapshot_done --json)
    id=$(jq -r '.[5].id' <<<"$json")
    host=$(jq -r '.[5].host_name' <<<"$json")
    run "$HMCTL" -c "$CONF" check
    control fail-next-sync "{\"host\":\"$id\"}"
    token=$(curl -sf --cacert "$SIM/ca.pem" -d '{"username":"admin","password":"admin"}' \
        "$URL/users/token" | jq -r .token)
    curl -sf --cacert "$SIM/ca.pem" -H "X-AUTH-TOKEN: $token" \
        -d "{\"ids\":[\"$id\"],\"sync\":{\"do_snapshot\":true,\"sync_mode\":\"incremental\"}}" \
        "$URL/hosts" >/dev/null
    for i in $(seq 50); do
        st=$("$HMCTL" -c "$CONF" hosts --filter "$id" --json | jq -r '.[0].h_host_status')
        [ "$st" = sync_failed ] && break
        sleep 0.2
    done
    [ "$st" = sync_failed ]
    run "$HMCTL" -c "$CONF" check
    assert_failure 2
    run "$HMCTL" -c "$CONF" events --json
    assert_success
    [ "$(jq --arg h "$host" '[.[] | select(.type == "sync_failed" and .host_name == $h)] | length' <<<"$output")" -eq 1 ]
    run "$HMCTL" -c "$CONF" check
    run "$HMCTL" -c "$CONF" events --json
    [ "$(jq --arg h "$host" '[.[] | select(.type == "sync_failed" and .host_name == $h)] | length' <<<"$output")" -eq 1 ]
}

@test "no [console] section: the collector stays silent" {
    printf '[hmctl]\ndata_dir = %s/d\n' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/none.conf"
    run "$HMCTL" -c "$BATS_TEST_TMPDIR/none.conf" status --json
    [ "$(jq '[.components[] | select(.kind == "console")] | length' <<<"$output")" -eq 0 ]
}

@test "a configured console that is down is critical with the error" {
    printf '[hmctl]\ndata_dir = %s/d\n[console]\nurl = https://127.0.0.1:1/hypermotion/v1\npassword_file = %s/c/pw\n' \
        "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/down.conf"
    run "$HMCTL" -c "$BATS_TEST_TMPDIR/down.conf" status --json
    [ "$(jq -r '.components[] | select(.name == "console") | .state' <<<"$output")" = critical ]
    jq -r '.components[] | select(.name == "console") | .detail' <<<"$output" | grep -q "https://127.0.0.1:1/hypermotion/v1/users/token: connection refused"
}

@test "a [console] without a password is unknown" {
    printf '[hmctl]\ndata_dir = %s/d\n[console]\nurl = https://127.0.0.1:1/hypermotion/v1\n' \
        "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/nopw.conf"
    run env -u HMCTL_CONSOLE_PASSWORD "$HMCTL" -c "$BATS_TEST_TMPDIR/nopw.conf" status --json
    [ "$(jq -r '.components[] | select(.name == "console") | .state' <<<"$output")" = unknown ]
}
