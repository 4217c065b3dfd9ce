#!/usr/bin/env bats
# hmctl status and check against the lab's real servers: what an operator sees.

load helpers

# A copy of the lab configuration with extra lines appended, in a private file.
conf_with() {
	local f="$BATS_TEST_TMPDIR/hmctl.conf"
	cat "$LAB_DIR/hmctl.conf" > "$f"
	printf '%s\n' "$@" >> "$f"
	chmod 600 "$f"
	echo "$f"
}

@test "status shows each console service with its State" {
	require_lab docker
	run hm status
	assert_success
	assert_line --regexp '^ant-api +Up \(healthy\) '
	assert_line --regexp '^porter-api +Up \(unhealthy\) '
	assert_line --regexp '^owl-api +Exited \(3\) '
	assert_line --regexp '^proxy-api +Up '
	refute_output --partial 'unrelated'
}

@test "status prints log space, program space, free disk and the port line" {
	require_lab tls
	run hm status
	assert_success
	assert_line --regexp '^Log space +[0-9.]+[KMG]? +.*installer/production/logs'
	assert_line --regexp '^Program space +[0-9.]+[KMG]? '
	assert_line --regexp '^Free disk +[0-9.]+[KMGT] +.* free of .* used\)'
	assert_line --regexp '^Port console +open +127\.0\.0\.1:[0-9]+ open, TLS handshake'
}

@test "status shows the RabbitMQ queue depth of 12" {
	require_lab rabbitmq
	run hm status
	assert_success
	assert_line --regexp "^rabbitmq +warning +.*queue 'hm\.tasks' holds 12 messages"
}

@test "status --json has components and metrics" {
	require_lab docker
	require_lab rabbitmq
	run hm status --json
	assert_success
	run jq -r '.components[] | select(.name == "porter-api") | "\(.kind) \(.state) \(.status)"' <<<"$output"
	assert_output 'container critical Up (unhealthy)'
	run bash -c "'$HMCTL' -c '$LAB_DIR/hmctl.conf' status --json | jq '.metrics[\"docker.containers.unhealthy\"], .metrics[\"rabbitmq.queue.messages{queue=\\\"hm.tasks\\\"}\"]'"
	assert_success
	assert_output $'1\n12'
}

@test "the middleware components are up" {
	require_lab mariadb
	require_lab redis
	require_lab influxdb
	run hm status --json
	assert_success
	run jq -r '.components[] | select(.kind == "mariadb" or .kind == "redis" or .kind == "influxdb") | "\(.name) \(.state)"' <<<"$output"
	assert_line 'mariadb ok'
	assert_line 'redis ok'
	assert_line 'influxdb ok'
}

@test "check exits 2 naming the unhealthy container and stores the samples" {
	require_lab docker
	run hm check
	assert_failure 2
	assert_output --partial 'HMCTL CRITICAL - 1 unhealthy container (porter-api)'
	assert_output --partial '1 exited container (owl-api)'
	run hm metrics docker.containers.unhealthy
	assert_success
	assert_line --regexp '^docker\.containers\.unhealthy +[0-9T:Z-]+ +1 +count$'
}

@test "check --format nagios prints perfdata" {
	require_lab docker
	run hm check --format nagios
	assert_failure 2
	assert_output --regexp '^HMCTL CRITICAL - .* \| cpu=[0-9.]+%;80;90 memory=[0-9.]+%;80;90 root_disk=[0-9.]+%;80;90 '
	assert_output --partial 'unhealthy_containers=1;;0'
}

@test "check --format json carries the exit code and summary" {
	require_lab docker
	run hm check --format json
	assert_failure 2
	run jq -r '"\(.state) \(.exit_code)"' <<<"$output"
	assert_output 'critical 2'
}

@test "a closed port is reported closed and critical" {
	conf=$(conf_with '[port "closed"]' "address = 127.0.0.1:$LAB_CLOSED_PORT")
	run "$HMCTL" -c "$conf" status
	assert_success
	assert_line --regexp "^Port closed +closed +127\.0\.0\.1:$LAB_CLOSED_PORT: connection refused"
	run "$HMCTL" -c "$conf" check
	assert_failure 2
	assert_output --partial "port closed: 127.0.0.1:$LAB_CLOSED_PORT: connection refused"
}

@test "a config typo is reported with its file and line" {
	f="$BATS_TEST_TMPDIR/typo.conf"
	printf '[hmctl]\ninterval = 5s\n\nintervall = 10s\n' > "$f"
	run "$HMCTL" -c "$f" config check
	assert_failure 1
	assert_output --partial "$f:4: unknown key 'intervall' in [hmctl] (did you mean 'interval'?)"
	run "$HMCTL" -c "$f" status
	assert_failure 1
	assert_output "hmctl: $f:4: unknown key 'intervall' in [hmctl] (did you mean 'interval'?)"
}

@test "an inline secret in a world-readable file is refused, and never printed" {
	f="$BATS_TEST_TMPDIR/loose.conf"
	printf '[rabbitmq]\npassword = hunter2-secret\n' > "$f"
	chmod 644 "$f"
	run "$HMCTL" -c "$f" config check
	assert_failure 1
	assert_output --partial "$f:2: refusing the inline secret 'password' in [rabbitmq]"
	refute_output --partial 'hunter2-secret'
	chmod 600 "$f"
	run "$HMCTL" -c "$f" config show
	assert_success
	assert_line --regexp '^password = \*\*\*\*\*\*\*\* '
	refute_output --partial 'hunter2-secret'
}

@test "RabbitMQ refusing the password is unknown with a precise detail" {
	require_lab rabbitmq
	printf 'wrong-password\n' > "$BATS_TEST_TMPDIR/wrong.pw"
	conf=$(conf_with '[rabbitmq]' "password_file = $BATS_TEST_TMPDIR/wrong.pw")
	run "$HMCTL" -c "$conf" status --json
	assert_success
	run jq -r '.components[] | select(.name == "rabbitmq") | "\(.state): \(.detail)"' <<<"$output"
	assert_output --regexp "^unknown: .*refused user 'hmctl' \(HTTP 401\)"
	refute_output --partial 'wrong-password'
}

@test "MariaDB down, no Docker socket and an unreadable directory: precise states, check still stores" {
	mkdir -p "$BATS_TEST_TMPDIR/locked/inner"
	chmod 000 "$BATS_TEST_TMPDIR/locked/inner"
	conf=$(conf_with '[mariadb]' "port = $LAB_CLOSED_PORT" '[docker]' "socket = $BATS_TEST_TMPDIR/no-docker.sock" \
		'[installer]' "log_dirs = $BATS_TEST_TMPDIR/locked, $BATS_TEST_TMPDIR/absent")
	run "$HMCTL" -c "$conf" status --json
	assert_success
	json=$output
	run jq -r '.components[] | select(.name == "mariadb") | .state' <<<"$json"
	assert_output 'critical'
	run jq -r '.components[] | select(.name == "docker") | "\(.state): \(.detail)"' <<<"$json"
	assert_output --regexp "^critical: .*no-docker\.sock"
	run jq -r '.components[] | select(.name == "log space") | .detail' <<<"$json"
	assert_output --partial "$BATS_TEST_TMPDIR/absent absent"
	if [ "$(id -u)" != 0 ]; then
		assert_output --partial 'unreadable'
	fi
	run "$HMCTL" -c "$conf" check
	assert_failure 2
	run "$HMCTL" -c "$conf" metrics host.memory.percent
	assert_success
	assert_line --regexp '^host\.memory\.percent '
	chmod 755 "$BATS_TEST_TMPDIR/locked/inner"
}

@test "metrics without samples says so; a bad --since is a usage error" {
	f="$BATS_TEST_TMPDIR/empty.conf"
	printf '[hmctl]\ndata_dir = %s/empty-data\n' "$BATS_TEST_TMPDIR" > "$f"
	run "$HMCTL" -c "$f" metrics
	assert_failure 1
	assert_output --partial "has 'hmctl check' run yet?"
	run "$HMCTL" -c "$f" metrics --since soon host.cpu.percent
	assert_failure 2
	assert_output --partial "invalid duration 'soon'"
}

@test "unknown commands and options are usage errors" {
	run "$HMCTL" frobnicate
	assert_failure 2
	assert_output "hmctl: unknown command 'frobnicate'; see 'hmctl --help'"
	run "$HMCTL" status --frob
	assert_failure 2
	assert_output --partial "hmctl status: unknown option '--frob'"
	run "$HMCTL" check --format xml
	assert_failure 3
	assert_output --partial "unknown format 'xml'"
}
