#!/usr/bin/env bats
# hmctl hosts as a person reads it: the default columns in 80 columns, long names cut with an
# ellipsis, --wide with every column and nothing cut, --json with every field. Against hmsim with
# one host renamed to a long Chinese name, one disconnected and one syncing.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load hmsim

HMCTL=${HMCTL:-$BATS_TEST_DIRNAME/../../build/hmctl}

LONG_NAME=生产-erp-database-primary-01.corp.example.com

setup_file() {
	export SIM="$BATS_FILE_TMPDIR/sim"
	# syncs take 10 minutes, so the host made to sync below is still syncing in every test
	start_sim "$SIM" --seed 7 --hosts 200 --sync-delay 10m
	local url base token id
	url=$(cat "$SIM/ready")
	base=${url%/hypermotion/v1}
	ctl() { curl -sf --cacert "$SIM/ca.pem" -d "$2" "$base/_hmsim/$1" >/dev/null; }
	ctl rename "{\"host\":\"db-01\",\"host_name\":\"$LONG_NAME\"}"
	ctl disconnect '{"host":"web-01"}'
	echo admin >"$BATS_FILE_TMPDIR/pw"
	cat >"$BATS_FILE_TMPDIR/hmctl.conf" <<-EOF
		[hmctl]
		data_dir = $BATS_FILE_TMPDIR/data
		[console]
		url = $url
		ca_file = $SIM/ca.pem
		password_file = $BATS_FILE_TMPDIR/pw
		timeout = 10s
	EOF
	chmod 600 "$BATS_FILE_TMPDIR/hmctl.conf" "$BATS_FILE_TMPDIR/pw"
	# start a sync of app-01 (POST /hosts with "sync", as the console's "sync now")
	token=$(curl -sf --cacert "$SIM/ca.pem" -d '{"username":"admin","password":"admin"}' \
		"$url/users/token" | jq -r .token)
	id=$("$HMCTL" -c "$BATS_FILE_TMPDIR/hmctl.conf" hosts --filter app-01 --json | jq -r '.[0].id')
	curl -sf --cacert "$SIM/ca.pem" -H "X-AUTH-TOKEN: $token" \
		-d "{\"ids\":[\"$id\"],\"sync\":{\"do_snapshot\":true,\"sync_mode\":\"incremental\"}}" \
		"$url/hosts" >/dev/null
}

teardown_file() {
	stop_sim "$SIM"
}

# hosts ARGS...: hmctl hosts against the simulator, in a UTF-8 locale.
hosts() {
	LC_ALL=C.UTF-8 "$HMCTL" -c "$BATS_FILE_TMPDIR/hmctl.conf" hosts "$@"
}

# widest TEXT: the display width of TEXT's widest line (CJK characters count 2).
widest() {
	LC_ALL=C.UTF-8 wc -L <<<"$1"
}

@test "hosts fits 80 columns: name, status, boot, health and snapshot age" {
	COLUMNS=80 run hosts
	assert_success
	[ "$(widest "$output")" -le 80 ] || fail "a line is $(widest "$output") columns wide: $output"
	assert_line --index 0 --regexp '^NAME +STATUS +BOOT +HEALTH +SNAP AGE$'
	[ "${#lines[@]}" -eq 201 ]
	# the long name gives way, cut with an ellipsis; the states stay whole
	assert_line --regexp '^生产-erp-[a-z.-]*… +[a-z_]+ +[a-z_]+ +[a-z]+ +[0-9dhms ]+( !)?$'
	assert_line --regexp '^web-01 +[a-z_]+( [0-9]+%)? +[a-z_]+ +disconnected '
	# the sync percent follows the status of the syncing host
	assert_line --regexp '^app-01 +sync_doing [0-9]+% +not_boot +active '
	refute_output --partial "$LONG_NAME"
	refute_output --partial LICENCE
}

@test "hosts in a narrow terminal: the column with most to spare gives way, none below its heading" {
	COLUMNS=50 run hosts --filter erp
	assert_success
	[ "$(widest "$output")" -le 50 ] || fail "wider than 50 columns: $output"
	assert_line --index 0 --regexp '^NAME +STATUS +BOOT +HEALTH +SNAP AGE$'
	assert_line --regexp '^生产-[a-z.-]*… '
	# narrower than the headings: every column at its heading's width, none left out
	COLUMNS=20 run hosts --filter erp
	assert_success
	assert_line --index 0 'NAME  STATUS  BOOT  HEALTH  SNAP AGE'
	[ "$(widest "$output")" -eq 36 ]
}

@test "hosts to a pipe without COLUMNS keeps whole names" {
	run env -u COLUMNS LC_ALL=C.UTF-8 "$HMCTL" -c "$BATS_FILE_TMPDIR/hmctl.conf" hosts
	assert_success
	assert_line --regexp "^$LONG_NAME +sync_snapshot_done "
	refute_output --partial "…"
}

@test "hosts --wide shows every column and cuts nothing" {
	local name ip
	read -r name ip < <(hosts --json | jq -r '[.[] | select(.ip_address != null)][0] | "\(.host_name) \(.ip_address)"')
	COLUMNS=80 run hosts --wide
	assert_success
	assert_line --index 0 --regexp '^NAME +ADDRESS +OS +SOURCE +STATUS +BOOT +HEALTH +SPEED +LAST SNAPSHOT +SNAP AGE +LICENCE$'
	[ "$(widest "$output")" -gt 80 ]
	assert_line --regexp "^$LONG_NAME +[0-9.-]+ +(Linux|Windows) +[a-z]+ +[a-z_]+ "
	assert_line --regexp "^$name +${ip//./\\.} +(Linux|Windows) +(vmware|openstack|aws|fusioncompute|oracle|agent) .* (valid|expired|-)$"
	# the syncing host's speed, in the console's own unit, and its snapshot time
	assert_line --regexp '^app-01 .* sync_doing [0-9]+% .* [0-9]+Mbps +20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} '
	refute_output --partial "…"
	run hosts -w --filter app-01
	assert_line --index 0 --partial "ADDRESS"
}

@test "hosts --json keeps every field, with --wide too, and cuts nothing" {
	COLUMNS=40 run hosts --json
	assert_success
	[ "$(jq length <<<"$output")" -eq 200 ]
	local want='["cloud_instance_id","created_at","detail_data","h_boot_status","h_health_status","h_host_status","h_sync_status","host_name","host_type","id","ip_address","is_doing","last_snapshots_at","license_valid","mac_address","rpo_exceeded","rpo_target_s","snapshot_age_s","snapshots","storage_id","system_type","target_name"]'
	[ "$(jq -c '[.[] | keys] | unique' <<<"$output")" = "[$want]" ]
	[ "$(jq -r --arg n "$LONG_NAME" '[.[] | select(.host_name == $n)] | length' <<<"$output")" -eq 1 ]
	[ "$(jq -r '.[] | select(.host_name == "app-01") | .detail_data.percent >= 0' <<<"$output")" = true ]
	local ids
	ids=$(jq -c '[.[].id]' <<<"$output")
	COLUMNS=40 run hosts --json --wide
	assert_success
	[ "$(jq -c '[.[].id]' <<<"$output")" = "$ids" ]
}
