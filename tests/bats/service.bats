#!/usr/bin/env bats
# hmctl start, stop and restart against the lab's dockerd: the busybox containers named like the
# console's services stand in for them.

load helpers

state_of() {
	docker_api "/containers/$1/json" | jq -r '.State.Status'
}

@test "stop without a terminal and without --yes refuses and stops nothing" {
	require_lab docker
	run hm stop proxy-api </dev/null
	assert_failure 1
	assert_output --partial "refusing to stop proxy-api without confirmation: no terminal; use --yes"
	[ "$(state_of proxy-api)" = running ]
}

@test "stop --yes then start brings a service down and back" {
	require_lab docker
	run hm stop --yes -t 1s proxy-api
	assert_success
	assert_output 'Stopping proxy-api ... stopped'
	[ "$(state_of proxy-api)" = exited ]
	run hm status
	assert_line --regexp '^proxy-api +Exited \([0-9]+\) '
	run hm start proxy-api
	assert_success
	assert_output 'Starting proxy-api ... started'
	[ "$(state_of proxy-api)" = running ]
}

@test "restart keeps a service running and counts it" {
	require_lab docker
	before=$(docker_api /containers/proxy-api/json | jq -r '.State.StartedAt')
	run hm restart -t 1s proxy-api
	assert_success
	assert_output 'Restarting proxy-api ... restarted'
	[ "$(state_of proxy-api)" = running ]
	after=$(docker_api /containers/proxy-api/json | jq -r '.State.StartedAt')
	[ "$before" != "$after" ]
}

@test "an unknown service is an error listing the known ones, and nothing is done" {
	require_lab docker
	run hm stop --yes proxy-api no-such-service
	assert_failure 1
	assert_output --regexp "unknown service 'no-such-service' \(known services: .*ant-api.*porter-api.*proxy-api"
	refute_output --partial 'unrelated'
	[ "$(state_of proxy-api)" = running ]
}

@test "starting an already running service succeeds" {
	require_lab docker
	run hm start ant-api
	assert_success
	assert_output 'Starting ant-api ... started'
}

@test "service names complete from the Docker API" {
	require_lab docker
	run "$HMCTL" __complete -c "$LAB_DIR/hmctl.conf" restart p
	assert_success
	assert_output $'porter-api\nproxy-api'
}

@test "no Docker socket: a clear error" {
	f="$BATS_TEST_TMPDIR/nodocker.conf"
	printf '[docker]\nsocket = %s/missing.sock\n' "$BATS_TEST_TMPDIR" > "$f"
	run "$HMCTL" -c "$f" restart ant-api
	assert_failure 1
	assert_output --partial "cannot reach the Docker Engine at $BATS_TEST_TMPDIR/missing.sock"
}
