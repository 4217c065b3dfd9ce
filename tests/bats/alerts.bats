#!/usr/bin/env bats
# Alerts as an operator meets them: rules and their errors, rule unit tests, the `for` timing
# across separate `hmctl check` processes with the clock pinned per run (HMCTL_NOW), and
# delivery to the lab's real receivers (an SMTP sink, an HTTP receiver that checks signatures).
#
# `check` collects from a Docker API stand-in (tests/lab/fakedocker.py) whose containers each
# test sets between runs, so what the rules see is under the test's control; the other
# collectors are switched off and the host rules disabled (the machine's own load must not
# decide a test).

load helpers

FAKEDOCKER=$BATS_TEST_DIRNAME/../lab/fakedocker.py
HOOKRECV=$BATS_TEST_DIRNAME/../lab/hookrecv.py

setup() {
	T=$BATS_TEST_TMPDIR
	# the lab's receivers outlive one run of this file: paths and addresses are unique per run
	N=$(basename "$BATS_RUN_TMPDIR")-$BATS_TEST_NUMBER
	CONF=$T/hmctl.conf
	STATE=$T/containers
	: >"$STATE"
}

teardown() {
	local p
	for p in "$T"/*.pid; do
		[ -f "$p" ] || continue
		kill -- "-$(cat "$p")" 2>/dev/null || kill "$(cat "$p")" 2>/dev/null || true
	done
}

# spawn NAME COMMAND...: a helper server of this test in its own session, stopped by teardown.
spawn() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$T/$name.log" 2>&1 &
	echo $! >"$T/$name.pid"
}

stop_spawned() {
	kill -- "-$(cat "$T/$1.pid")" 2>/dev/null || true
	rm -f "$T/$1.pid"
}

wait_for() {
	local i
	for i in $(seq 1 50); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

start_fakedocker() {
	spawn fakedocker /usr/bin/python3 "$FAKEDOCKER" "$T/docker.sock" "$STATE"
	wait_for curl -fsS --unix-socket "$T/docker.sock" http://localhost/version ||
		fail "the Docker API stand-in did not start: $(cat "$T/fakedocker.log")"
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_conf LINES...: a private configuration: the store in this test's directory, the Docker
# stand-in, no middleware, the host rules off; then the given lines.
write_conf() {
	{
		cat <<EOF
[hmctl]
data_dir = $T/data
timeout = 3s
[installer]
dir = $T/installer
log_dirs = $T/installer
program_dir = $T/installer
[docker]
socket = $T/docker.sock
project = hyperbdr
[rabbitmq]
enabled = no
[mariadb]
enabled = no
[redis]
enabled = no
[influxdb]
enabled = no
[rule "host-cpu"]
enabled = no
[rule "host-memory"]
enabled = no
[rule "host-disk-root"]
enabled = no
EOF
		printf '%s\n' "$@"
	} >"$CONF"
	chmod 600 "$CONF"
}

# at MINUTE: the pinned time of the run, minutes after 2026-01-01T00:00:00Z.
at() {
	printf '2026-01-01T%02d:%02d:00Z' $(($1 / 60)) $(($1 % 60))
}

# check_at MINUTE: one cron run of `hmctl check` at that minute; prints its alerts summary.
check_at() {
	HMCTL_NOW=$(at "$1") "$HMCTL" -c "$CONF" check --format json | jq -c '.alerts'
}

# alerts_at MINUTE: `alerts list --json` at that minute as "STATE RULE" lines.
alerts_at() {
	HMCTL_NOW=$(at "$1") "$HMCTL" -c "$CONF" alerts list --json | jq -r '.[] | "\(.state) \(.rule)"'
}

# hooks PATH: the requests the lab receiver recorded for PATH, one JSON document per line.
hooks() {
	local f
	for f in "$LAB_HOOK_DIR"/*.json; do
		[ -f "$f" ] || continue
		jq -c --arg p "$1" 'select(.path == $p)' "$f"
	done
}

# mails MAILDIR TO: the messages in the Maildir addressed to TO, parsed with Python's email
# package (RFC 2047 subjects decoded), one JSON line each: {subject, to, from, body}.
mails() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import email, email.policy, glob, json, os, sys
maildir, to = sys.argv[1], sys.argv[2]
# In sending order: the Date header (hmctl's clock, pinned in these tests), then the time the
# sink stored the file; maildir names do not sort by arrival within one second.
found = []
for path in glob.glob(os.path.join(maildir, "new", "*")):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    if to not in str(msg["to"]):
        continue
    when = msg["date"].datetime.timestamp() if msg["date"] else 0
    found.append((when, os.stat(path).st_mtime_ns, msg))
for _, _, msg in sorted(found, key=lambda t: (t[0], t[1])):
    # the body's canonical form has CRLF line ends (RFC 2045 6.8); compare lines without them
    body = msg.get_content().replace("\r\n", "\n")
    print(json.dumps({"subject": str(msg["subject"]), "to": str(msg["to"]),
                      "from": str(msg["from"]), "message_id": str(msg["message-id"]),
                      "body": body}, ensure_ascii=False))
EOF
}

# --- rules and configuration ------------------------------------------------------------------

@test "alerts rules lists the seed's defaults and where each came from" {
	write_conf '[rule "host-cpu"]' 'threshold = 90'
	run "$HMCTL" -c "$CONF" alerts rules
	assert_success
	assert_line --regexp '^host-cpu \(disabled\) +host\.cpu\.percent >= 90 for 5m +critical +all +\(none\) +default, overridden at .*hmctl\.conf:'
	assert_line --regexp '^containers-unhealthy +docker\.containers\.unhealthy >= 1 for 5m +critical +all +\(none\) +default$'
	assert_line --regexp '^rabbitmq-queue +rabbitmq\.queue\.messages >= 10 for 5m +critical '
	assert_line --regexp '^host-lost-contact +event host_lost_contact result success +critical '
	assert_line --regexp '^sync-failed +event sync_failed result failed +critical '
	assert_line --regexp '^boot-failed +event boot_failed result failed +critical '
	run "$HMCTL" -c "$CONF" alerts rules --json
	assert_success
	[ "$(jq -r '.[] | select(.name == "host-memory") | "\(.expr) \(.severity) \(.enabled)"' <<<"$output")" = \
		"host.memory.percent >= 80 for 5m critical false" ]
}

@test "config check names file and line: unknown metric, bad comparison, channel without an address" {
	write_conf '[alerts]' 'channels = mail' \
		'[channel "mail"]' 'type = smtp' 'url = smtp://127.0.0.1:25' \
		'[channel "hook"]' 'type = webhook' \
		'[rule "cpu"]' 'metric = host.cpu.precent' 'op = >=' 'threshold = 80' \
		'[rule "queue"]' 'metric = rabbitmq.queue.messages' 'op = =>' 'threshold = 10'
	line_of() { grep -n -F -x -- "$1" "$CONF" | head -n 1 | cut -d: -f1; }
	run "$HMCTL" -c "$CONF" config check
	assert_failure 1
	assert_output --partial "$CONF:$(line_of '[channel "mail"]'): [channel \"mail\"] (smtp) has no recipient: set 'to'"
	assert_output --partial "$CONF:$(line_of '[channel "hook"]'): [channel \"hook\"] (webhook) has no address: set 'url'"
	assert_output --partial "$CONF:$(line_of 'metric = host.cpu.precent'): [rule \"cpu\"] unknown metric 'host.cpu.precent' (did you mean 'host.cpu.percent'?"
	assert_output --partial "$CONF:$(line_of 'op = =>'): invalid value '=>' for 'op' in [rule]"
}

@test "alerts test: the shipped rule tests pass; a wrong expectation fails with expected vs got" {
	run "$HMCTL" alerts test "$BATS_TEST_DIRNAME/../fixtures/alerts/cpu.rules"
	assert_success
	assert_output --partial "3 tests, 12 checks, 0 failed"
	cat >"$T/wrong.rules" <<'EOF'
[rule "queue"]
metric = rabbitmq.queue.messages
threshold = 10
for = 5m

[test "too early"]
series rabbitmq.queue.messages{queue="hm.tasks"} = 12x10
firing 4m = queue{queue="hm.tasks"}
EOF
	run "$HMCTL" alerts test "$T/wrong.rules"
	assert_failure 1
	assert_output --partial "wrong.rules:8: test \"too early\": firing alerts at 4m differ"
	assert_line '  expected: queue{queue="hm.tasks"}'
	assert_line '  got:      (none)'
}

@test "alerts test agrees with promtool test rules on the same series" {
	command -v promtool >/dev/null || skip "promtool not installed (package prometheus)"
	cat >"$T/r.yml" <<'EOF'
groups:
- name: g
  rules:
  - alert: cpu
    expr: host_cpu_percent >= 80
    for: 5m
EOF
	cat >"$T/t.yml" <<'EOF'
rule_files: [r.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'host_cpu_percent{host="a"}'
    values: '90 90 90 50 90x6 _x8'
  alert_rule_test:
  - {eval_time: 8m, alertname: cpu, exp_alerts: []}
  - {eval_time: 9m, alertname: cpu, exp_alerts: [{exp_labels: {host: a}}]}
  - {eval_time: 15m, alertname: cpu, exp_alerts: [{exp_labels: {host: a}}]}
  - {eval_time: 16m, alertname: cpu, exp_alerts: []}
EOF
	cat >"$T/t.rules" <<'EOF'
[rule "cpu"]
metric = host.cpu.percent
threshold = 80
for = 5m
[test "the same series"]
series host.cpu.percent{host="a"} = 90 90 90 50 90x6 _x8
firing 8m =
firing 9m = cpu{host="a"}
firing 15m = cpu{host="a"}
firing 16m =
EOF
	run promtool test rules "$T/t.yml"
	assert_success
	run "$HMCTL" alerts test "$T/t.rules"
	assert_success
}

# --- timing across separate check processes ----------------------------------------------------

@test "separate check runs: a 5-minute rule is pending from the first run and fires at 5m" {
	require_lab hook
	start_fakedocker
	local path=/webhook/timing-$N
	write_conf '[alerts]' 'channels = hook' \
		'[channel "hook"]' 'type = webhook' "url = $LAB_HOOK_URL$path" "secret_file = $LAB_HOOK_SECRET_FILE"
	echo "ant-api unhealthy" >"$STATE"
	local m
	for m in 0 1 2 3 4; do
		check_at "$m" >/dev/null
		[ "$(alerts_at "$m")" = "pending containers-unhealthy" ] || fail "minute $m: $(alerts_at "$m")"
		[ -z "$(hooks "$path")" ] || fail "notified at minute $m"
	done
	run check_at 5
	assert_output --partial '"fired":1'
	[ "$(alerts_at 5)" = "firing containers-unhealthy" ]
	run hooks "$path"
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r '.verified' <<<"${lines[0]}")" = true ]
	[ "$(jq -r '.body | fromjson | .alerts[0].startsAt' <<<"${lines[0]}")" = 2026-01-01T00:05:00Z ]
}

@test "separate check runs: a one-run dip restarts the clock" {
	start_fakedocker
	write_conf
	local m fired=""
	for m in $(seq 0 12); do
		if [ "$m" -eq 3 ]; then echo "ant-api healthy" >"$STATE"; else echo "ant-api unhealthy" >"$STATE"; fi
		if check_at "$m" | jq -e '.fired == 1' >/dev/null; then fired="$fired $m"; fi
	done
	[ "$fired" = " 9" ] || fail "fired at:$fired (expected 9)"
}

@test "separate check runs: a missed run does not reset the clock" {
	start_fakedocker
	write_conf
	echo "ant-api unhealthy" >"$STATE"
	check_at 0 >/dev/null
	run check_at 7
	assert_output --partial '"fired":1'
}

@test "separate check runs: resolution sends exactly one resolved notification, by webhook and mail" {
	require_lab hook
	require_lab smtp
	start_fakedocker
	local path=/webhook/resolve-$N to=resolve-$N@example.com
	write_conf '[alerts]' 'channels = hook, mail' 'prefix = [告警]' \
		'[channel "hook"]' 'type = webhook' "url = $LAB_HOOK_URL$path" "secret_file = $LAB_HOOK_SECRET_FILE" \
		'[channel "mail"]' 'type = smtp' "url = smtp://127.0.0.1:$LAB_SMTP_PORT" 'starttls = no' \
		'from = hmctl@example.com' "to = $to" \
		'[rule "containers-unhealthy"]' 'summary = 控制台有 {value} 个不健康的容器'
	local m
	for m in $(seq 0 14); do
		if [ "$m" -lt 8 ]; then echo "ant-api unhealthy" >"$STATE"; else echo "ant-api healthy" >"$STATE"; fi
		check_at "$m" >/dev/null
	done
	run hooks "$path"
	[ "${#lines[@]}" -eq 2 ] || fail "expected 2 webhook requests, got: $output"
	[ "$(jq -r '.body | fromjson | .status' <<<"${lines[0]}")" = firing ]
	[ "$(jq -r '.body | fromjson | .status' <<<"${lines[1]}")" = resolved ]
	[ "$(jq -r '.body | fromjson | .alerts[0].endsAt' <<<"${lines[1]}")" = 2026-01-01T00:08:00Z ]
	[ "$(jq -r '.verified' <<<"${lines[1]}")" = true ]
	run mails "$LAB_SMTP_MAILDIR" "$to"
	[ "${#lines[@]}" -eq 2 ] || fail "expected 2 mails, got: $output"
	[ "$(jq -r .subject <<<"${lines[0]}")" = "[告警] FIRING critical: 控制台有 1 个不健康的容器" ]
	[ "$(jq -r .subject <<<"${lines[1]}")" = "[告警] RESOLVED critical: 控制台有 1 个不健康的容器" ]
	jq -r .body <<<"${lines[0]}" | grep -q '^  控制台有 1 个不健康的容器$'
	jq -r .body <<<"${lines[0]}" | grep -q 'hmctl alerts ack 1 --comment'
	HMCTL_NOW=$(at 60) run "$HMCTL" -c "$CONF" alerts history --json
	[ "$(jq '[.[] | select(.event == "resolved") | .notifications[] | select(.status == "delivered")] | length' <<<"$output")" -eq 2 ]
}

# --- grouping and formats ------------------------------------------------------------------------

@test "200 containers failing in one cycle send one mail and one webhook" {
	require_lab hook
	require_lab smtp
	start_fakedocker
	local path=/webhook/group-$N to=group-$N@example.com i
	for i in $(seq -w 1 200); do echo "svc-$i exited"; done >"$STATE"
	write_conf '[alerts]' 'channels = hook, mail' \
		'[channel "hook"]' 'type = webhook' "url = $LAB_HOOK_URL$path" \
		'[channel "mail"]' 'type = smtp' "url = smtp://127.0.0.1:$LAB_SMTP_PORT" 'starttls = no' \
		'from = hmctl@example.com' "to = $to" \
		'[rule "container-down"]' 'metric = docker.container.up' 'op = ==' 'threshold = 0' \
		'severity = critical' 'summary = 容器 {container} 已停止'
	run check_at 0
	assert_output --partial '"fired":200'
	assert_output --partial '"enqueued":2'
	run hooks "$path"
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r '.body | fromjson | .alerts | length' <<<"${lines[0]}")" -eq 200 ]
	[ "$(jq -r '.verified' <<<"${lines[0]}")" = null ] # no secret configured: unsigned
	run mails "$LAB_SMTP_MAILDIR" "$to"
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .subject <<<"${lines[0]}")" = "[hmctl] FIRING 200 alerts (critical): 容器 svc-001 已停止 and 199 more" ]
	[ "$(jq -r .body <<<"${lines[0]}" | grep -c '已停止$')" -eq 200 ]
	run check_at 1
	assert_output --partial '"enqueued":0'
}

@test "webhook: the receiver checks the HMAC-SHA256 signature; a wrong secret fails it" {
	require_lab hook
	local path=/webhook/hmac-$N
	echo "not-the-receivers-secret" >"$T/wrong.secret"
	chmod 600 "$T/wrong.secret"
	write_conf '[channel "good"]' 'type = webhook' "url = $LAB_HOOK_URL$path" "secret_file = $LAB_HOOK_SECRET_FILE" \
		'[channel "bad"]' 'type = webhook' "url = $LAB_HOOK_URL$path" "secret_file = $T/wrong.secret"
	run "$HMCTL" -c "$CONF" alerts test-channel good
	assert_success
	assert_output --partial 'test message accepted by channel good (webhook): HTTP 200'
	run "$HMCTL" -c "$CONF" alerts test-channel bad
	assert_success
	run hooks "$path"
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r .verified <<<"${lines[0]}")" = true ]
	[ "$(jq -r .verified <<<"${lines[1]}")" = false ]
	[ "$(jq -r '.body | fromjson | .version' <<<"${lines[0]}")" = 4 ]
	[ "$(jq -r '.body | fromjson | .alerts[0].labels.alertname' <<<"${lines[0]}")" = hmctl-test ]
	# the secret is never printed
	run "$HMCTL" -c "$CONF" config show
	refute_output --partial "$(cat "$LAB_HOOK_SECRET_FILE")"
}

@test "DingTalk: markdown with a timestamp+secret signature the receiver verifies; a refusal is an error" {
	require_lab hook
	local path=/dingtalk/robot-$N
	echo "dingtalk-access-token-$N" >"$T/token"
	chmod 600 "$T/token"
	write_conf '[channel "ding"]' 'type = dingtalk' "url = $LAB_HOOK_URL$path" \
		"secret_file = $LAB_HOOK_SECRET_FILE" "token_file = $T/token"
	run "$HMCTL" -c "$CONF" alerts test-channel ding
	assert_success
	assert_output --partial 'HTTP 200 {"errcode": 0, "errmsg": "ok"}'
	run hooks "$path"
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .verified <<<"${lines[0]}")" = true ]
	[ "$(jq -r .query.access_token <<<"${lines[0]}")" = "dingtalk-access-token-$N" ]
	[ "$(jq -r '.body | fromjson | .msgtype' <<<"${lines[0]}")" = markdown ]
	jq -r '.body | fromjson | .markdown.text' <<<"${lines[0]}" | grep -q '^#### \[hmctl\] FIRING info: test notification'
	touch "$LAB_HOOK_DIR/errcode"
	run "$HMCTL" -c "$CONF" alerts test-channel ding
	rm -f "$LAB_HOOK_DIR/errcode"
	assert_failure 1
	assert_output --partial "refused the message: errcode 310000: sign not match"
	refute_output --partial "dingtalk-access-token"
}

@test "Feishu (signed), WeCom and Slack bodies in their formats" {
	require_lab hook
	local n=$N
	write_conf '[channel "fs"]' 'type = feishu' "url = $LAB_HOOK_URL/feishu/$n" "secret_file = $LAB_HOOK_SECRET_FILE" \
		'[channel "wc"]' 'type = wecom' "url = $LAB_HOOK_URL/wecom/$n" \
		'[channel "sl"]' 'type = slack' "url = $LAB_HOOK_URL/slack/$n"
	run "$HMCTL" -c "$CONF" alerts test-channel fs
	assert_success
	run "$HMCTL" -c "$CONF" alerts test-channel wc
	assert_success
	run "$HMCTL" -c "$CONF" alerts test-channel sl
	assert_success
	run hooks "/feishu/$n"
	[ "$(jq -r .verified <<<"$output")" = true ]
	[ "$(jq -r '.body | fromjson | .msg_type' <<<"$output")" = text ]
	run hooks "/wecom/$n"
	[ "$(jq -r '.body | fromjson | "\(.msgtype) \(.markdown.content | startswith("#### [hmctl]"))"' <<<"$output")" = "markdown true" ]
	run hooks "/slack/$n"
	[ "$(jq -r '.body | fromjson | .text | startswith("[hmctl] FIRING info")' <<<"$output")" = true ]
}

@test "SMS: one request per phone from the body template; a long message is cut and marked" {
	require_lab hook
	local path=/sms/gw-$N
	echo "sms-api-token" >"$T/token"
	chmod 600 "$T/token"
	write_conf '[channel "sms"]' 'type = sms' "url = $LAB_HOOK_URL$path?to={phone}" \
		'to = 13800000001, 13800000002' 'max_length = 20' "token_file = $T/token" \
		'headers = X-Api-Token: {token}; X-Gateway: test' \
		'body = {"mobile": "{phone}", "text": "{message}"}'
	run "$HMCTL" -c "$CONF" alerts test-channel sms
	assert_success
	run hooks "$path"
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r '.query.to' <<<"${lines[1]}")" = 13800000002 ]
	[ "$(jq -r '.headers["X-Api-Token"]' <<<"${lines[0]}")" = sms-api-token ]
	[ "$(jq -r '.body | fromjson | .mobile' <<<"${lines[0]}")" = 13800000001 ]
	local text
	text=$(jq -r '.body | fromjson | .text' <<<"${lines[0]}")
	[ "$text" = "[hmctl] FIRING info…" ] || fail "message: $text"
}

# --- the outbox: outage and recovery -------------------------------------------------------------

@test "outage: receivers down while alerts fire and resolve, then back: each notification arrives once" {
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
	start_fakedocker
	local smtp_port hook_port
	smtp_port=$(free_port)
	hook_port=$(free_port)
	echo "outage-secret" >"$T/secret"
	chmod 600 "$T/secret"
	write_conf '[alerts]' 'channels = hook, mail' 'retry_backoff = 30s' \
		'[channel "hook"]' 'type = webhook' "url = http://127.0.0.1:$hook_port/webhook/outage" "secret_file = $T/secret" \
		'[channel "mail"]' 'type = smtp' "url = smtp://127.0.0.1:$smtp_port" 'starttls = no' \
		'from = hmctl@example.com' 'to = outage@example.com' \
		'[rule "containers-unhealthy"]' 'for = 0'
	# both receivers down: firing at 0, resolved at 1
	echo "ant-api unhealthy" >"$STATE"
	run check_at 0
	assert_output --partial '"enqueued":2'
	assert_output --partial '"delivered":0'
	echo "ant-api healthy" >"$STATE"
	run check_at 1
	assert_output --partial '"resolved":1'
	assert_output --partial '"delivered":0'
	HMCTL_NOW=$(at 60) run "$HMCTL" -c "$CONF" alerts history --json
	[ "$(jq '[.[] | .notifications[] | select(.status == "pending")] | length' <<<"$output")" -eq 4 ]
	# back up
	spawn hookrecv /usr/bin/python3 "$HOOKRECV" "$hook_port" "$T/hooks" "$T/secret"
	spawn smtpsink /usr/bin/python3 -m aiosmtpd -n -u -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$T/maildir"
	wait_for curl -fsS "http://127.0.0.1:$hook_port/ready" || fail "receiver did not start"
	rm -f "$T/hooks/"*.json
	wait_for /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtp_port), 1)" ||
		fail "SMTP sink did not start"
	local m
	for m in 2 3 4 10 30; do check_at "$m" >/dev/null; done
	local n_hooks
	n_hooks=$(cat "$T/hooks/"*.json | jq -s '[.[] | select(.path == "/webhook/outage")] | length')
	[ "$n_hooks" -eq 2 ] || fail "webhook requests: $n_hooks"
	[ "$(cat "$T/hooks/"*.json | jq -rs '[.[] | .body | fromjson | .status] | join(" ")')" = "firing resolved" ]
	[ "$(cat "$T/hooks/"*.json | jq -s 'all(.[]; .verified)')" = true ]
	run mails "$T/maildir" outage@example.com
	[ "${#lines[@]}" -eq 2 ] || fail "mails: $output"
	[ "$(jq -r .subject <<<"${lines[0]}")" = "[hmctl] FIRING critical: 1 unhealthy container(s) on console" ]
	[ "$(jq -r .subject <<<"${lines[1]}")" = "[hmctl] RESOLVED critical: 1 unhealthy container(s) on console" ]
	HMCTL_NOW=$(at 60) run "$HMCTL" -c "$CONF" alerts history --json
	[ "$(jq '[.[] | .notifications[] | select(.status == "delivered")] | length' <<<"$output")" -eq 4 ]
}

@test "a notification still failing after retry_for is given up, shown in history and status" {
	start_fakedocker
	local port
	port=$(free_port)
	write_conf '[alerts]' 'channels = hook' 'retry_for = 2m' 'retry_backoff = 30s' \
		'[channel "hook"]' 'type = webhook' "url = http://127.0.0.1:$port/nobody" \
		'[rule "containers-unhealthy"]' 'for = 0'
	echo "ant-api unhealthy" >"$STATE"
	local m
	for m in 0 1 2 3; do check_at "$m" >/dev/null; done
	HMCTL_NOW=$(at 60) run "$HMCTL" -c "$CONF" alerts history
	assert_success
	assert_output --regexp 'firing +console +1 +hook dead \(http://127\.0\.0\.1:[0-9]+/nobody: .*[Rr]efused'
	HMCTL_NOW=$(at 4) run "$HMCTL" -c "$CONF" status --json
	[ "$(jq -r '.components[] | select(.name == "alerts") | .state' <<<"$output")" = warning ]
	HMCTL_NOW=$(at 4) run "$HMCTL" -c "$CONF" check
	assert_output --partial "alerts: 1 firing, 0 pending; 1 notification given up in the last 24 h"
}

# --- operations --------------------------------------------------------------------------------------

@test "ack, silence and unsilence with --json, recorded in the history" {
	start_fakedocker
	write_conf '[rule "containers-unhealthy"]' 'for = 0'
	echo "ant-api unhealthy" >"$STATE"
	check_at 0 >/dev/null
	HMCTL_NOW=$(at 1) run "$HMCTL" -c "$CONF" alerts list
	assert_success
	assert_line --regexp '^ +1 +firing +critical +containers-unhealthy +console +1m ago +1 +1 unhealthy container\(s\) on console$'
	run "$HMCTL" -c "$CONF" alerts ack 1
	assert_failure 2
	assert_output --partial "--comment TEXT is required"
	HMCTL_NOW=$(at 2) run "$HMCTL" -c "$CONF" alerts ack 1 --comment "cause: disk full; cleaned logs; healthy again" --json
	assert_success
	[ "$(jq -r '.ack.comment' <<<"$output")" = "cause: disk full; cleaned logs; healthy again" ]
	[ "$(jq -r '.ack.at' <<<"$output")" = 2026-01-01T00:02:00Z ]
	run "$HMCTL" -c "$CONF" alerts ack 99 --comment x
	assert_failure 1
	assert_output --partial "no active alert 99"
	HMCTL_NOW=$(at 2) run "$HMCTL" -c "$CONF" alerts silence --match rule=containers-unhealthy --match 'host=~cons.*' --for 1h --comment "maintenance" --json
	assert_success
	[ "$(jq -r .ends <<<"$output")" = 2026-01-01T01:02:00Z ]
	HMCTL_NOW=$(at 3) run "$HMCTL" -c "$CONF" alerts list --json
	[ "$(jq -r '.[0] | "\(.acknowledged) \(.silenced)"' <<<"$output")" = "true true" ]
	HMCTL_NOW=$(at 3) run "$HMCTL" -c "$CONF" alerts silence
	assert_line --regexp '^ +1 +rule=containers-unhealthy, host=~cons\.\* +2026-01-01T01:02:00Z +'"$(id -un)"' +maintenance$'
	HMCTL_NOW=$(at 3) run "$HMCTL" -c "$CONF" alerts unsilence 1
	assert_success
	assert_output "silence 1 ended"
	HMCTL_NOW=$(at 3) run "$HMCTL" -c "$CONF" alerts list --json
	[ "$(jq -r '.[0].silenced' <<<"$output")" = false ]
	run "$HMCTL" -c "$CONF" alerts silence --match 'host=~(' --comment x
	assert_failure 1
	assert_output --partial "bad regular expression"
	HMCTL_NOW=$(at 60) run "$HMCTL" -c "$CONF" alerts history --json
	[ "$(jq -r '.[] | select(.event == "acknowledged") | .detail' <<<"$output")" = "by $(id -un): cause: disk full; cleaned logs; healthy again" ]
}

@test "test-channel against a closed port fails naming the channel, without its secrets" {
	local port
	port=$(free_port)
	echo "s3cr3t-token-value" >"$T/token"
	chmod 600 "$T/token"
	write_conf '[channel "ding"]' 'type = dingtalk' "url = http://127.0.0.1:$port/robot/send" "token_file = $T/token" \
		'[channel "mail"]' 'type = smtp' "url = smtp://127.0.0.1:$port" 'from = a@example.com' 'to = b@example.com' \
		'username = hmctl' 'password = hunter2-password'
	run "$HMCTL" -c "$CONF" alerts test-channel ding
	assert_failure 1
	assert_output --partial "test message on channel 'ding' failed: http://127.0.0.1:$port/robot/send:"
	refute_output --partial "s3cr3t-token-value"
	run "$HMCTL" -c "$CONF" alerts test-channel mail
	assert_failure 1
	assert_output --partial "test message on channel 'mail' failed: smtp://127.0.0.1:$port:"
	refute_output --partial "hunter2"
	run "$HMCTL" -c "$CONF" alerts test-channel nope
	assert_failure 1
	assert_output --partial "no usable channel 'nope'"
	# a token pasted into a robot URL is not shown either
	write_conf '[channel "robot"]' 'type = dingtalk' \
		"url = http://127.0.0.1:$port/robot/send?access_token=s3cr3t-token-value"
	run "$HMCTL" -c "$CONF" config show
	assert_success
	assert_line --partial "url = http://127.0.0.1:$port/robot/send?********"
	refute_output --partial "s3cr3t-token-value"
	run "$HMCTL" -c "$CONF" alerts test-channel robot
	assert_failure 1
	refute_output --partial "s3cr3t-token-value"
}

@test "check: a sync failure in the store's derived events fires the sync-failed rule once" {
	require_lab hook
	command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
	start_fakedocker
	local path=/webhook/events-$N
	write_conf '[alerts]' 'channels = hook' \
		'[channel "hook"]' 'type = webhook' "url = $LAB_HOOK_URL$path" "secret_file = $LAB_HOOK_SECRET_FILE"
	check_at 0 >/dev/null
	# the console collector's table (console-api.md "Events hmctl derives"), as it writes it
	sqlite3 "$T/data/hmctl.db" <<'EOF_SQL'
CREATE TABLE IF NOT EXISTS console_events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,
  console TEXT NOT NULL, host_id TEXT NOT NULL, host_name TEXT, type TEXT NOT NULL,
  source TEXT NOT NULL, detail TEXT, UNIQUE (console, host_id, type, source));
INSERT INTO console_events (ts_ms, console, host_id, host_name, type, source, detail)
  VALUES (1767225660000, '', 'h-1', 'web-1', 'sync_failed', 'job:7', 'job 7 failed: disk full');
EOF_SQL
	run check_at 2
	assert_output --partial '"fired":1'
	run check_at 3
	assert_output --partial '"fired":0'
	run hooks "$path"
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r '.body | fromjson | .alerts[0] | "\(.labels.alertname) \(.labels.event) \(.labels.host)"' <<<"${lines[0]}")" = \
		"sync-failed sync_failed web-1" ]
	[ "$(jq -r '.body | fromjson | .alerts[0].annotations.summary' <<<"${lines[0]}")" = \
		"sync of host web-1 failed: job 7 failed: disk full" ]
}

# sim_start: hmsim, the console API simulator, with its CA certificate; sets SIM_URL.
sim_start() {
	[ -x "$HMSIM" ] || skip "no hmsim binary at $HMSIM"
	mkdir -p "$T/sim"
	"$HMSIM" --port 0 --ready-file "$T/sim/ready" --cert-out "$T/sim/ca.pem" --pid-file "$T/sim/pid" \
		--seed 11 --hosts 20 --gateways 1 >"$T/sim/out" 2>"$T/sim/err" 3>&- &
	echo $! >"$T/hmsim.pid"
	local i
	for i in $(seq 1 300); do
		[ -s "$T/sim/ready" ] && break
		sleep 0.1
	done
	[ -s "$T/sim/ready" ] || fail "hmsim did not start: $(cat "$T/sim/err")"
	SIM_URL=$(cat "$T/sim/ready")
	echo admin >"$T/sim/pw"
}

sim_control() {
	curl -sf --cacert "$T/sim/ca.pem" -d "$2" "${SIM_URL%/hypermotion/v1}/_hmsim/$1" >/dev/null
}

@test "end to end: a host losing contact in the console fires host-lost-contact; reconnecting resolves it" {
	require_lab hook
	start_fakedocker
	sim_start
	local path=/webhook/lost-$N host
	write_conf '[alerts]' 'channels = hook' \
		'[channel "hook"]' 'type = webhook' "url = $LAB_HOOK_URL$path" "secret_file = $LAB_HOOK_SECRET_FILE" \
		'[console]' "url = $SIM_URL" "ca_file = $T/sim/ca.pem" "password_file = $T/sim/pw"
	host=$("$HMCTL" -c "$CONF" hosts --health active --json | jq -r '.[2].host_name')
	[ -n "$host" ] && [ "$host" != null ] || fail "no active host in hmsim"
	"$HMCTL" -c "$CONF" check >/dev/null || true
	sim_control disconnect "{\"host\":\"$host\"}"
	run "$HMCTL" -c "$CONF" check --format json
	[ "$(jq -r '.alerts.fired' <<<"$output")" -eq 1 ] || fail "$(jq -c .alerts <<<"$output")"
	run "$HMCTL" -c "$CONF" alerts list --json
	[ "$(jq -r '.[] | select(.rule == "host-lost-contact") | .labels.host' <<<"$output")" = "$host" ]
	"$HMCTL" -c "$CONF" check >/dev/null || true
	sim_control reconnect "{\"host\":\"$host\"}"
	run "$HMCTL" -c "$CONF" check --format json
	[ "$(jq -r '.alerts.resolved' <<<"$output")" -eq 1 ]
	run hooks "$path"
	[ "${#lines[@]}" -eq 2 ] || fail "webhook requests: $output"
	[ "$(jq -r '.body | fromjson | "\(.status) \(.alerts[0].labels.alertname) \(.alerts[0].labels.host)"' <<<"${lines[0]}")" = \
		"firing host-lost-contact $host" ]
	[ "$(jq -r '.body | fromjson | .status' <<<"${lines[1]}")" = resolved ]
}

@test "mail over STARTTLS and over SMTPS, the server verified with ca_file; STARTTLS is required" {
	require_lab tls
	require_lab smtp
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
	local starttls_port smtps_port
	starttls_port=$(free_port)
	smtps_port=$(free_port)
	spawn starttls /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$starttls_port" \
		--tlscert "$LAB_TLS_CERT" --tlskey "$LAB_DIR/tls/key.pem" -c aiosmtpd.handlers.Mailbox "$T/tls-mail"
	spawn smtps /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtps_port" \
		--smtpscert "$LAB_TLS_CERT" --smtpskey "$LAB_DIR/tls/key.pem" -c aiosmtpd.handlers.Mailbox "$T/tls-mail"
	wait_for /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $starttls_port), 1)"
	wait_for /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtps_port), 1)"
	write_conf \
		'[channel "starttls"]' 'type = smtp' "url = smtp://127.0.0.1:$starttls_port" "ca_file = $LAB_TLS_CERT" \
		'from = hmctl@example.com' 'to = tls@example.com' \
		'[channel "smtps"]' 'type = smtp' "url = smtps://127.0.0.1:$smtps_port" "ca_file = $LAB_TLS_CERT" \
		'from = hmctl@example.com' 'to = tls@example.com' \
		'[channel "untrusted"]' 'type = smtp' "url = smtp://127.0.0.1:$starttls_port" \
		'from = hmctl@example.com' 'to = tls@example.com' \
		'[channel "plain"]' 'type = smtp' "url = smtp://127.0.0.1:$LAB_SMTP_PORT" \
		'from = hmctl@example.com' 'to = tls@example.com'
	run "$HMCTL" -c "$CONF" alerts test-channel starttls
	assert_success
	assert_output --partial "test message accepted by channel starttls (smtp): 250"
	run "$HMCTL" -c "$CONF" alerts test-channel smtps
	assert_success
	run mails "$T/tls-mail" tls@example.com
	[ "${#lines[@]}" -eq 2 ]
	# a certificate nobody vouches for, and a server without STARTTLS, are refused
	run "$HMCTL" -c "$CONF" alerts test-channel untrusted
	assert_failure 1
	assert_output --partial "test message on channel 'untrusted' failed: smtp://127.0.0.1:$starttls_port:"
	run "$HMCTL" -c "$CONF" alerts test-channel plain
	assert_failure 1
	assert_output --partial "test message on channel 'plain' failed"
}

@test "mail with STARTTLS and authentication; a wrong password is refused, and never printed" {
	require_lab tls
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
	local port
	port=$(free_port)
	echo "right-password-123" >"$T/smtp.pw"
	echo "wrong-password-456" >"$T/wrong.pw"
	chmod 600 "$T/smtp.pw" "$T/wrong.pw"
	spawn smtpauth /usr/bin/python3 "$BATS_TEST_DIRNAME/../lab/smtpauth.py" "$port" "$T/auth-mail" \
		hmctl "$T/smtp.pw" "$LAB_TLS_CERT" "$LAB_DIR/tls/key.pem"
	wait_for /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" ||
		fail "SMTP server did not start: $(cat "$T/smtpauth.log")"
	write_conf \
		'[channel "good"]' 'type = smtp' "url = smtp://127.0.0.1:$port" "ca_file = $LAB_TLS_CERT" \
		'from = hmctl@example.com' 'to = auth@example.com, duty@example.com' \
		'username = hmctl' "password_file = $T/smtp.pw" \
		'[channel "bad"]' 'type = smtp' "url = smtp://127.0.0.1:$port" "ca_file = $LAB_TLS_CERT" \
		'from = hmctl@example.com' 'to = auth@example.com' \
		'username = hmctl' "password_file = $T/wrong.pw"
	run "$HMCTL" -c "$CONF" alerts test-channel good
	assert_success
	run mails "$T/auth-mail" auth@example.com
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .to <<<"${lines[0]}")" = "auth@example.com, duty@example.com" ]
	run "$HMCTL" -c "$CONF" alerts test-channel bad
	assert_failure 1
	assert_output --partial "test message on channel 'bad' failed"
	refute_output --partial "wrong-password-456"
	refute_output --partial "right-password-123"
}
