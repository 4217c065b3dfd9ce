#!/usr/bin/env bats
# hmctl reload against the lab's dockerd: the busybox "services" are recreated through the Docker
# Engine API. ant-api and proxy-api are the lab's own (left running and healthy as they were);
# the failure cases use containers of a project of their own, so no other test sees them. Every
# run is recorded in the audit table of this file's own store, which `hmctl upgrade --history`
# lists.

load helpers

# dk ARGS...: the Docker CLI against the lab's daemon.
dk() {
	DOCKER_HOST="unix://$LAB_DOCKER_SOCK" DOCKER_CONFIG="$BATS_FILE_TMPDIR/dockercli" /usr/bin/docker "$@"
}

setup_file() {
	# shellcheck source=/dev/null
	. "$LAB_DIR/env"
	[ "${LAB_DOCKER:-}" = up ] || return 0
	# The lab's configuration, with a short stop grace period (busybox sleep ignores SIGTERM)
	# and a store of this file's own for the audit table.
	{
		sed "s#^data_dir = .*#data_dir = $BATS_FILE_TMPDIR/data#" "$LAB_DIR/hmctl.conf"
		printf '\n[reload]\nstop_timeout = 1s\ntimeout = 30s\n'
	} >"$BATS_FILE_TMPDIR/lab.conf"
	sed 's/^project = hyperbdr$/project = opsreload/' "$BATS_FILE_TMPDIR/lab.conf" >"$BATS_FILE_TMPDIR/own.conf"
	chmod 600 "$BATS_FILE_TMPDIR/lab.conf" "$BATS_FILE_TMPDIR/own.conf"
	local hc='--health-interval=1s --health-retries=1 --health-timeout=1s'
	# shellcheck disable=SC2086 # $hc is a list of options
	dk run -d --name ops-good --label com.docker.compose.project=opsreload \
		--label com.docker.compose.service=ops-good --health-cmd=true $hc \
		hmlab/busybox sleep 3600 >/dev/null
	# shellcheck disable=SC2086
	dk run -d --name ops-bad --label com.docker.compose.project=opsreload \
		--label com.docker.compose.service=ops-bad --health-cmd=false $hc \
		hmlab/busybox sleep 3600 >/dev/null
}

teardown_file() {
	[ "${LAB_DOCKER:-}" = up ] || return 0
	dk rm -f ops-good ops-bad ops-good-hmctl-new ops-bad-hmctl-new ops-good-hmctl-old \
		ops-bad-hmctl-old >/dev/null 2>&1 || true
}

inspect() {
	docker_api "/containers/$1/json"
}

# who: the user the audit records for this process (the one behind sudo, when there is one).
who() {
	if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
		echo "$SUDO_USER (sudo)"
	else
		id -un
	fi
}

# last_audit: the newest audit row as user|action|from|to|result|detail|ended.
last_audit() {
	sqlite3 "$BATS_FILE_TMPDIR/data/hmctl.db" "SELECT user, action, from_version, to_version, result,
		detail, end_ms >= ts_ms FROM audit ORDER BY id DESC LIMIT 1"
}

audit_rows() {
	sqlite3 "$BATS_FILE_TMPDIR/data/hmctl.db" "SELECT count(*) FROM audit"
}

# wait_health NAME STATUS: up to 20 s for a container's health to settle.
wait_health() {
	local i
	for i in $(seq 1 100); do
		[ "$(inspect "$1" | jq -r '.State.Health.Status')" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

@test "reload recreates services: new container, same name, labels and command, running and healthy" {
	require_lab docker
	local ant_before proxy_before ant_labels proxy_labels ant_cmd
	ant_before=$(inspect ant-api | jq -r .Id)
	proxy_before=$(inspect proxy-api | jq -r .Id)
	ant_labels=$(inspect ant-api | jq -S -c .Config.Labels)
	proxy_labels=$(inspect proxy-api | jq -S -c .Config.Labels)
	ant_cmd=$(inspect ant-api | jq -c '[.Config.Cmd, .Config.Healthcheck]')
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/lab.conf" reload --yes ant-api proxy-api
	assert_success
	assert_line --regexp '^Recreating ant-api \.\.\. done \([0-9a-f]{12}\)$'
	assert_line --regexp '^Recreating proxy-api \.\.\. done \([0-9a-f]{12}\)$'
	[ "$(inspect ant-api | jq -r .Id)" != "$ant_before" ]
	[ "$(inspect proxy-api | jq -r .Id)" != "$proxy_before" ]
	# The old containers are gone, not renamed and left behind.
	run docker_api "/containers/$ant_before/json"
	assert_failure
	[ "$(inspect ant-api | jq -r .Name)" = /ant-api ]
	[ "$(inspect ant-api | jq -r .State.Status)" = running ]
	[ "$(inspect ant-api | jq -r .State.Health.Status)" = healthy ]
	[ "$(inspect proxy-api | jq -r .State.Status)" = running ]
	[ "$(inspect ant-api | jq -S -c .Config.Labels)" = "$ant_labels" ]
	[ "$(inspect proxy-api | jq -S -c .Config.Labels)" = "$proxy_labels" ]
	[ "$(inspect ant-api | jq -c '[.Config.Cmd, .Config.Healthcheck]')" = "$ant_cmd" ]
	run hm status
	assert_line --regexp '^ant-api +Up \(healthy\) '
	# the audit: who, what, the outcome, and when it ended
	[ "$(last_audit)" = "$(who)|reload|||ok|ant-api, proxy-api|1" ]
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/lab.conf" upgrade --history
	assert_success
	assert_line --regexp "^$(date -u +%Y-%m-%d)T[0-9:]+Z +$(who) +reload +- +- +ok +ant-api, proxy-api\$"
}

@test "reload stops at the first failure, names the service and why, and puts it back" {
	require_lab docker
	wait_health ops-bad unhealthy
	local bad good
	bad=$(inspect ops-bad | jq -r .Id)
	good=$(inspect ops-good | jq -r .Id)
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/own.conf" reload --yes ops-bad ops-good
	assert_failure 1
	assert_output --partial "reload stopped at 'ops-bad': 'ops-bad' is unhealthy"
	assert_output --partial "the previous container was put back"
	assert_output --partial "not recreated: ops-good"
	[ "$(inspect ops-bad | jq -r .Id)" = "$bad" ]
	[ "$(inspect ops-bad | jq -r .Name)" = /ops-bad ]
	[ "$(inspect ops-bad | jq -r .State.Status)" = running ]
	[ "$(inspect ops-good | jq -r .Id)" = "$good" ]
	run docker_api '/containers/json?all=1'
	refute_output --partial 'hmctl-new'
	refute_output --partial 'hmctl-old'
	# the failed reload is in the audit with where it stopped, why, and what it did not touch
	run last_audit
	assert_output --regexp "^$(who)\|reload\|\|\|failed\|stopped at 'ops-bad': 'ops-bad' is unhealthy.*; the previous container was put back; not recreated: ops-good\|1\$"
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/own.conf" upgrade --history
	assert_success
	assert_line --index 0 --regexp '^WHEN +WHO +ACTION +FROM +TO +RESULT +DETAIL$'
	assert_line --index 1 --regexp " reload +- +- +failed +stopped at 'ops-bad': "
	assert_line --index 2 --regexp ' reload +- +- +ok +ant-api, proxy-api$'
}

@test "a reload that fails after recreating a service records which it recreated" {
	require_lab docker
	wait_health ops-bad unhealthy
	local good
	good=$(inspect ops-good | jq -r .Id)
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/own.conf" reload --yes ops-good ops-bad
	assert_failure 1
	assert_line --regexp '^Recreating ops-good \.\.\. done \([0-9a-f]{12}\)$'
	assert_output --partial "reload stopped at 'ops-bad': 'ops-bad' is unhealthy"
	refute_output --partial "not recreated"
	[ "$(inspect ops-good | jq -r .Id)" != "$good" ]
	run last_audit
	assert_output --regexp "^$(who)\|reload\|\|\|failed\|recreated: ops-good; stopped at 'ops-bad': 'ops-bad' is unhealthy.*; the previous container was put back\|1\$"
}

@test "reload without SERVICE recreates every service of the project" {
	require_lab docker
	dk rm -f ops-bad >/dev/null
	local good
	good=$(inspect ops-good | jq -r .Id)
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/own.conf" reload --yes
	assert_success
	assert_output --regexp '^Recreating ops-good \.\.\. done'
	[ "$(inspect ops-good | jq -r .Id)" != "$good" ]
	[ "$(inspect ops-good | jq -r .State.Health.Status)" = healthy ]
}

@test "reload without a terminal and without --yes recreates nothing" {
	require_lab docker
	local good
	good=$(inspect ops-good | jq -r .Id)
	local rows
	rows=$(audit_rows)
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/own.conf" reload ops-good </dev/null
	assert_failure 1
	assert_output --partial "refusing to recreate ops-good without confirmation: no terminal; use --yes"
	[ "$(inspect ops-good | jq -r .Id)" = "$good" ]
	# nothing was done, so nothing is recorded
	[ "$(audit_rows)" = "$rows" ]
}

@test "reload of an unknown service lists the known ones and recreates nothing" {
	require_lab docker
	local good
	good=$(inspect ops-good | jq -r .Id)
	local rows
	rows=$(audit_rows)
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/own.conf" reload --yes ops-good nope
	assert_failure 1
	assert_output --partial "unknown service 'nope' (known services: ops-good)"
	[ "$(inspect ops-good | jq -r .Id)" = "$good" ]
	[ "$(audit_rows)" = "$rows" ]
}

@test "reload with a store it cannot open still recreates, and says it is not recorded" {
	require_lab docker
	local good
	good=$(inspect ops-good | jq -r .Id)
	: >"$BATS_TEST_TMPDIR/file"
	sed "s#^data_dir = .*#data_dir = $BATS_TEST_TMPDIR/file/data#" "$BATS_FILE_TMPDIR/own.conf" \
		>"$BATS_TEST_TMPDIR/c.conf"
	chmod 600 "$BATS_TEST_TMPDIR/c.conf"
	run "$HMCTL" -c "$BATS_TEST_TMPDIR/c.conf" reload --yes ops-good
	assert_success
	assert_line --partial "hmctl: warning: the reload is not recorded in the audit log: "
	assert_output --partial "$BATS_TEST_TMPDIR/file/data"
	assert_output --regexp 'Recreating ops-good \.\.\. done'
	[ "$(inspect ops-good | jq -r .Id)" != "$good" ]
}

@test "reload with an unreachable Docker Engine says so" {
	sed "s#^socket = .*#socket = $BATS_TEST_TMPDIR/none.sock#" "$LAB_DIR/hmctl.conf" >"$BATS_TEST_TMPDIR/c.conf"
	chmod 600 "$BATS_TEST_TMPDIR/c.conf"
	run "$HMCTL" -c "$BATS_TEST_TMPDIR/c.conf" reload --yes
	assert_failure 1
	assert_output --partial "cannot reach the Docker Engine at $BATS_TEST_TMPDIR/none.sock"
}
