#!/usr/bin/env bats
# The lab itself: the servers tests/lab/lab.sh promises are real and in the stated state.
# Every other test builds on these facts, so they are checked directly, without hmctl.

load helpers

# container_status NAME: the Docker API's Status column for one container ("Up 3 seconds
# (healthy)", "Exited (3) 5 seconds ago").
container_status() {
	docker_api '/containers/json?all=1' |
		jq -er --arg n "/$1" '.[] | select(.Names | index($n)) | .Status'
}

# project_services PROJECT: the compose service labels of the project's containers, sorted.
project_services() {
	docker_api '/containers/json?all=1' | jq -r --arg p "$1" \
		'[.[] | select(.Labels["com.docker.compose.project"] == $p)
		 | .Labels["com.docker.compose.service"]] | sort | join(" ")'
}

# queue_field QUEUE FIELD: one field of a queue on vhost / from the management API.
queue_field() {
	rabbitmq_api "/queues/%2F/$1" | jq -er ".$2"
}

# file_bytes DIR: the total size of the regular files below DIR.
file_bytes() {
	find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

@test "lab: hmctl.conf is private and names the lab's ports" {
	run stat -c %a "$LAB_DIR/hmctl.conf"
	assert_output 600
	run grep -x "address = 127.0.0.1:$LAB_TLS_PORT" "$LAB_DIR/hmctl.conf"
	assert_success
	run grep -x "url = http://127.0.0.1:$LAB_RABBITMQ_MGMT_PORT" "$LAB_DIR/hmctl.conf"
	assert_success
}

@test "lab: the rabbitmq password file is private" {
	require_lab rabbitmq
	run stat -c %a "$LAB_RABBITMQ_PASSWORD_FILE"
	assert_output 600
}

@test "lab: the mariadb password file is private" {
	require_lab mariadb
	run stat -c %a "$LAB_MARIADB_PASSWORD_FILE"
	assert_output 600
}

@test "lab: docker reports ant-api Up (healthy)" {
	require_lab docker
	run container_status ant-api
	assert_success
	assert_output --regexp '^Up .*\(healthy\)$'
}

@test "lab: docker reports porter-api Up (unhealthy)" {
	require_lab docker
	run container_status porter-api
	assert_success
	assert_output --regexp '^Up .*\(unhealthy\)$'
}

@test "lab: docker reports owl-api Exited (3)" {
	require_lab docker
	run container_status owl-api
	assert_success
	assert_output --regexp '^Exited \(3\) '
}

@test "lab: docker reports proxy-api Up without a health check" {
	require_lab docker
	run container_status proxy-api
	assert_success
	assert_output --regexp '^Up '
	refute_output --partial 'health'
}

@test "lab: the project label selects exactly the four services, not unrelated" {
	require_lab docker
	run project_services hyperbdr
	assert_success
	assert_output 'ant-api owl-api porter-api proxy-api'
	run container_status unrelated
	assert_output --regexp '^Up '
}

@test "lab: rabbitmq queue hm.tasks holds 12 messages, hm.events none" {
	require_lab rabbitmq
	run queue_field hm.tasks messages
	assert_success
	assert_output 12
	run queue_field hm.tasks durable
	assert_output true
	run queue_field hm.events messages
	assert_success
	assert_output 0
}

@test "lab: rabbitmq user hmctl is an administrator" {
	require_lab rabbitmq
	run rabbitmq_api /whoami
	assert_success
	assert_output --partial '"name":"hmctl"'
	assert_output --partial 'administrator'
}

@test "lab: mariadb accepts hmctl over TCP with its password" {
	require_lab mariadb
	run mariadb --no-defaults -h 127.0.0.1 -P "$LAB_MARIADB_PORT" -u hmctl \
		-p"$(cat "$LAB_MARIADB_PASSWORD_FILE")" -N -e 'SELECT CURRENT_USER()'
	assert_success
	assert_output 'hmctl@127.0.0.1'
}

@test "lab: mariadb refuses a wrong password" {
	require_lab mariadb
	run mariadb --no-defaults -h 127.0.0.1 -P "$LAB_MARIADB_PORT" -u hmctl -pwrong -e 'SELECT 1'
	assert_failure
	assert_output --partial 'Access denied'
}

@test "lab: redis answers PONG" {
	require_lab redis
	run redis-cli -h 127.0.0.1 -p "$LAB_REDIS_PORT" ping
	assert_success
	assert_output PONG
}

@test "lab: influxdb /ping answers 204" {
	require_lab influxdb
	run curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LAB_INFLUXDB_PORT/ping"
	assert_output 204
}

@test "lab: the TLS port handshakes with the lab's certificate (CN localhost)" {
	require_lab tls
	run bash -c "openssl s_client -connect 127.0.0.1:$LAB_TLS_PORT -servername localhost \
		-CAfile '$LAB_TLS_CERT' -verify_return_error </dev/null 2>&1"
	assert_success
	assert_output --partial 'Verify return code: 0 (ok)'
	assert_output --partial 'CN = localhost'
	# Valid 90 days: about 89-90 days left.
	run openssl x509 -in "$LAB_TLS_CERT" -noout -checkend $((89 * 86400))
	assert_success
	run openssl x509 -in "$LAB_TLS_CERT" -noout -checkend $((91 * 86400))
	assert_failure
}

@test "lab: the closed port refuses connections" {
	# Refused (RST), not timed out: the port checks tell the two apart.
	run /usr/bin/python3 -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
    print("connected")
except OSError as e:
    print(type(e).__name__)
' "$LAB_CLOSED_PORT"
	assert_output ConnectionRefusedError
}

@test "lab: the installer tree has the sizes the env file states" {
	run file_bytes "$LAB_DIR/installer/production/logs"
	assert_output "$LAB_INSTALLER_LOGS_BYTES"
	run file_bytes "$LAB_DIR/var-log-installer"
	assert_output "$LAB_VAR_LOG_INSTALLER_BYTES"
	run file_bytes "$LAB_DIR/installer"
	assert_output "$LAB_PROGRAM_BYTES"
}

@test "lab: the SMTP sink accepts a message and stores it in its Maildir" {
	require_lab smtp
	local subject="lab check $BATS_RUN_TMPDIR"
	run /usr/bin/python3 - "$LAB_SMTP_PORT" "$subject" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"], m["To"], m["Subject"] = "lab@example.com", "sink@example.com", sys.argv[2]
m.set_content("hello")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5) as s:
    s.send_message(m)
PY
	assert_success
	run grep -l -F "Subject: $subject" "$LAB_SMTP_MAILDIR"/new/*
	assert_success
}

@test "lab: the webhook receiver records requests and checks HMAC-SHA256 signatures" {
	require_lab hook
	local body='{"lab": true}' path=/webhook/lab-$$ sig
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$(cat "$LAB_HOOK_SECRET_FILE")" -r | cut -d' ' -f1)
	curl -fsS --max-time 5 -H "X-Hmctl-Signature: sha256=$sig" -d "$body" "$LAB_HOOK_URL$path" >/dev/null
	curl -fsS --max-time 5 -H "X-Hmctl-Signature: sha256=00$sig" -d "$body" "$LAB_HOOK_URL$path" >/dev/null
	run sh -c "cat '$LAB_HOOK_DIR'/*.json | jq -r --arg p '$path' 'select(.path == \$p) | .verified'"
	assert_output "$(printf 'true\nfalse')"
}
