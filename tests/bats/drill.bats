#!/usr/bin/env bats
# Drills and takeovers against hmsim: the packaged WordPress plan end to end in both modes,
# injected boot failures with on_error stop, ignore and ask, retries of checks, kill -9 at every
# boundary followed by resume, hostile host names, the one-run lock, the typed confirmation of a
# takeover, and dry runs that leave the console untouched.
#
# The plan's run steps go to the jump host and the recovered hosts over SSH. The tests marked
# "over SSH" keep that, with the lab's SSH test hosts (tests/lab/netns.sh): h1 is the jump host,
# h2 the recovered Nginx, h3 the recovered WordPress. The others run the same steps locally
# ("on = local"). Either way, stand-ins for nginx, systemctl, docker-compose, MHA, mysqladmin and
# the DNS script record each call; everything else of the plan is kept.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load hmsim

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HMCTL=${HMCTL:-$ROOT/build/hmctl}
HMSIM=${HMSIM:-$ROOT/build/hmsim}

stop_pid_file() {
	local f=$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

setup_file() {
	# one web server for the plan's HTTP checks
	export WEB="$BATS_FILE_TMPDIR/web"
	mkdir -p "$WEB"
	/usr/bin/python3 -c '
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok\n")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()' "$WEB/port" >/dev/null 2>&1 3>&- &
	echo $! >"$WEB/pid"
	local i
	for i in $(seq 100); do
		[ -s "$WEB/port" ] && break
		sleep 0.1
	done

	[ -s "$WEB/port" ] || return 1
	start_ssh_hosts
}

# The SSH test hosts, with recording stand-ins in their PATH; a skip reason when they cannot
# start.
start_ssh_hosts() {
	export LAB="$BATS_FILE_TMPDIR/lab"
	if [ ! -x /usr/sbin/sshd ]; then
		echo "sshd is not installed (package openssh-server)" >"$BATS_FILE_TMPDIR/noss"
		return 0
	fi
	if ! "$ROOT/tests/lab/netns.sh" up "$LAB" 3 2>"$BATS_FILE_TMPDIR/netns.log"; then
		echo "the SSH test hosts did not start: $(tail -n 1 "$BATS_FILE_TMPDIR/netns.log")" \
			>"$BATS_FILE_TMPDIR/noss"
		return 0
	fi
	local c
	for c in masterha_master_switch mysqladmin nginx systemctl docker-compose dns-switch; do
		rm -f "$LAB/bin/$c"
		printf '#!/bin/sh\necho "%s $*" >>"$HMLAB_HOST/calls"\n' "$c" >"$LAB/bin/$c"
		chmod 755 "$LAB/bin/$c"
	done
}

teardown_file() {
	stop_pid_file "$WEB/pid"
	[ ! -f "$LAB/env" ] || "$ROOT/tests/lab/netns.sh" down "$LAB" || true
}

require_ssh() {
	[ ! -f "$BATS_FILE_TMPDIR/noss" ] || skip "$(cat "$BATS_FILE_TMPDIR/noss")"
	# shellcheck source=/dev/null
	. "$LAB/env"
	local i
	for i in 1 2 3; do
		rm -f "$NETNS_DIR/hosts/h$i/calls"
	done
}

# control PATH JSON: a call of hmsim's control endpoint.
control() {
	curl -sf --cacert "$SIM/ca.pem" -d "$2" "$BASE/_hmsim/$1" >/dev/null
}

# stat KEY: one of hmsim's action counters (drill, takeover, sync, clean).
stat() {
	curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq -r ".actions.$1"
}

# new_sim: a fresh hmsim for this test, WordPress and Nginx renamed from two healthy hosts.
new_sim() {
	SIM=$T/sim
	SIM_START=$(date -u -d '-1 sec' +%FT%TZ)
	start_sim "$SIM" --seed 3 --hosts 30 --boot-delay 300ms --clean-delay 300ms --sync-delay 200ms
	URL=$(cat "$SIM/ready")
	BASE=${URL%/hypermotion/v1}
	control rename '{"host":"web-01","host_name":"WordPress"}'
	control rename '{"host":"app-02","host_name":"Nginx"}'
	control snapshot-time '{"host":"WordPress","age":"10m"}'
	control snapshot-time '{"host":"Nginx","age":"5m"}'
	echo admin >"$T/pw"
	cat >"$T/hmctl.conf" <<-EOF
		[hmctl]
		data_dir = $T/data
		[console]
		url = $URL
		ca_file = $SIM/ca.pem
		password_file = $T/pw
		timeout = 5s
		[drill]
		plan_dir = $T/plans
	EOF
}

# stand_ins: the commands the plan runs, each recording its call in $T/calls.
stand_ins() {
	mkdir -p "$T/bin" "$T/files"
	local c
	for c in masterha_master_switch mysqladmin nginx systemctl docker-compose dns-switch; do
		printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$c" "$T" >"$T/bin/$c"
		chmod +x "$T/bin/$c"
	done
	printf 'upstream wp { server 192.168.7.143:18080; }\n' >"$T/files/nginx.conf"
	printf 'services:\n  wordpress:\n    environment:\n      - WORDPRESS_DB_HOST=192.168.7.141\n' \
		>"$T/files/wordpress-compose.yaml"
	printf "<?php\ndefine('WP_HOME', 'http://old');\n" >"$T/files/wp-config.php"
	echo 111111 >"$T/mysql.pw"
	: >"$T/calls"
}

# wordpress_plan: the packaged plan with this machine's addresses, files and timings; every
# step kept, the run steps local.
wordpress_plan() {
	mkdir -p "$T/plans"
	sed -e 's/^on = .*/on = local/' \
		-e "s#^\\(nginx_conf\\|compose_file\\|wp_config\\) = .*/\\([^/]*\\)\$#\\1 = $T/files/\\2#" \
		-e 's/^mysql_new_master = .*/mysql_new_master = 127.0.0.1/' \
		-e 's/^site = .*/site = 127.0.0.1/' \
		-e "s/^\\(web_port\\|wordpress_port\\) = .*/\\1 = $(cat "$WEB/port")/" \
		-e 's/^fixed_ip = .*/fixed_ip = 127.0.0.1/' \
		-e 's/^poll_interval = .*/poll_interval = 100ms/' \
		-e 's/^delay = .*/delay = 300ms/' \
		-e "s#^dns_switch = .*#dns_switch = $T/bin/dns-switch#" \
		-e "s#^file = /etc/.*#file = $T/mysql.pw#" \
		"$ROOT/packaging/plans/wordpress.plan" >"$T/plans/wordpress.plan"
}

# ssh_plan: the packaged plan with the SSH test hosts: h1 the jump host, h2 Nginx, h3
# WordPress; the files the steps edit are on the hosts.
ssh_plan() {
	mkdir -p "$T/plans"
	local h2=$NETNS_DIR/hosts/h2 h3=$NETNS_DIR/hosts/h3
	printf 'upstream wp { server 192.168.7.143:18080; }\n' >"$h2/nginx.conf"
	printf 'services:\n  wordpress:\n    environment:\n      - WORDPRESS_DB_HOST=192.168.7.141\n' \
		>"$h3/wordpress-compose.yaml"
	printf "<?php\ndefine('WP_HOME', 'http://old');\n" >"$h3/wp-config.php"
	awk -v jaddr="$NETNS_H1_ADDR" -v jport="$NETNS_H1_PORT" -v user="$NETNS_USER" \
		-v key="$NETNS_KEY" -v kh="$NETNS_KNOWN_HOSTS" \
		-v naddr="$NETNS_H2_ADDR" -v nport="$NETNS_H2_PORT" \
		-v waddr="$NETNS_H3_ADDR" -v wport="$NETNS_H3_PORT" '
		/^\[/ { sect = $0 }
		sect == "[jump]" && /^address = / { print "address = " jaddr; print "port = " jport; next }
		sect == "[jump]" && /^user = / { print "user = " user; next }
		sect == "[jump]" && /^key_file = / { print "key_file = " key; next }
		/^known_hosts = / { print "known_hosts = " kh; next }
		sect == "[host \"wordpress\"]" && /^ssh_user = / {
			print "ssh_user = " user; print "ssh_address = " waddr; print "ssh_port = " wport; next }
		sect == "[host \"nginx\"]" && /^ssh_user = / {
			print "ssh_user = " user; print "ssh_address = " naddr; print "ssh_port = " nport; next }
		sect ~ /^\[host / && /^ssh_key = / { print "ssh_key = " key; next }
		{ print }' "$ROOT/packaging/plans/wordpress.plan" |
		sed -e "s#^nginx_conf = .*#nginx_conf = $h2/nginx.conf#" \
			-e "s#^compose_file = .*#compose_file = $h3/wordpress-compose.yaml#" \
			-e "s#^wp_config = .*#wp_config = $h3/wp-config.php#" \
			-e 's/^mysql_new_master = .*/mysql_new_master = 127.0.0.1/' \
			-e 's/^site = .*/site = 127.0.0.1/' \
			-e "s/^\\(web_port\\|wordpress_port\\) = .*/\\1 = $(cat "$WEB/port")/" \
			-e 's/^fixed_ip = .*/fixed_ip = 127.0.0.1/' \
			-e 's/^poll_interval = .*/poll_interval = 100ms/' \
			-e 's/^delay = .*/delay = 300ms/' \
			-e 's#^dns_switch = .*#dns_switch = dns-switch#' \
			-e "s#^file = /etc/.*#file = $T/mysql.pw#" >"$T/plans/wordpress.plan"
}

# calls I: what test host I was asked to run.
calls() {
	cat "$NETNS_DIR/hosts/h$1/calls" 2>/dev/null || true
}

hm() {
	PATH="$T/bin:$PATH" "$HMCTL" -c "$T/hmctl.conf" "$@"
}

# journal RUN: the run's journal as "event step host" lines.
journal() {
	"$HMCTL" -c "$T/hmctl.conf" runs show --journal "$1" | awk '/^ *[0-9]+ / { print $3, $4, $6 }'
}

report() {
	cat "$T/data/runs/run-$1.json"
}

setup() {
	T=$BATS_TEST_TMPDIR
	new_sim
	stand_ins
	wordpress_plan
	printf 'tester\nall fine\ny\n' >"$T/answers"
}

teardown() {
	local f
	for f in "$T"/*.hmpid; do
		[ -e "$f" ] && stop_pid_file "$f"
	done
	stop_pid_file "$SIM/bgpid"
}

@test "plan check: the packaged WordPress plan is valid; errors name file and line" {
	run "$HMCTL" plan check "$ROOT/packaging/plans/wordpress.plan"
	assert_success
	assert_output --partial "ok: plan wordpress, 2 hosts, 16 steps (11 in a drill, 15 in a takeover)"
	printf '[plan]\nname = x\n[step "a"]\ntype = run\ncomand = true\n' >"$T/bad.plan"
	run "$HMCTL" plan check "$T/bad.plan"
	assert_failure 1
	assert_line "$T/bad.plan:5: unknown key 'comand' in [step] (did you mean 'command'?)"
	assert_line "$T/bad.plan:3: run step 'a' has no 'command'"
	run "$HMCTL" -c "$T/hmctl.conf" plan list
	assert_success
	assert_output --partial "wordpress"
}

@test "completion offers the plans of plan_dir and the recorded runs" {
	cp "$T/plans/wordpress.plan" "$T/plans/other.plan"
	sed -i 's/^name = wordpress/name = other/' "$T/plans/other.plan"
	run "$HMCTL" __complete -c "$T/hmctl.conf" drill ''
	assert_success
	assert_output "$(printf 'other\nwordpress')"
	run "$HMCTL" __complete -c "$T/hmctl.conf" takeover w
	assert_output wordpress
	run "$HMCTL" __complete -c "$T/hmctl.conf" plan check ''
	assert_output ":file"
	run hm drill --yes wordpress <"$T/answers"
	assert_success
	run "$HMCTL" __complete -c "$T/hmctl.conf" resume ''
	assert_output 1
	run "$HMCTL" __complete -c "$T/hmctl.conf" runs show ''
	assert_output 1
}

@test "the WordPress plan as a drill: test boots, no DB promotion or DNS switch, cleanup" {
	run hm drill --yes wordpress <"$T/answers"
	assert_success
	assert_output --partial "step promote-replica: skipped (takeover only)"
	assert_output --partial "step switch-dns: skipped (takeover only)"
	assert_output --partial "run 1 succeeded"
	[ "$(stat drill)" = 2 ]
	[ "$(stat takeover)" = 0 ]
	[ "$(stat clean)" = 2 ]
	# the takeover-only commands never ran; the others ran once each
	run cat "$T/calls"
	refute_output --partial masterha_master_switch
	refute_output --partial mysqladmin
	refute_output --partial dns-switch
	[ "$(grep -c '^docker-compose' "$T/calls")" = 2 ]
	grep -q "server 127.0.0.1:18080" "$T/files/nginx.conf"
	grep -q "WORDPRESS_DB_HOST=127.0.0.1" "$T/files/wordpress-compose.yaml"
	run report 1
	assert_success
	[ "$(jq -r .state <<<"$output")" = succeeded ]
	[ "$(jq -r .mode <<<"$output")" = drill ]
	[ "$(jq -r .cleanup.result <<<"$output")" = done ]
	[ "$(jq -r .rto.met <<<"$output")" = true ]
	[ "$(jq -r .rto.until_step <<<"$output")" = wordpress-answers ]
	[ "$(jq -r '.rpo.hosts | length' <<<"$output")" = 2 ]
	[ "$(jq -r '.rpo.hosts[] | select(.host == "wordpress") | .achieved_s >= 600' <<<"$output")" = true ]
	[ "$(jq -r '.steps[] | select(.name == "promote-replica") | .result' <<<"$output")" = skipped ]
	[ "$(jq -r '.steps[] | select(.name == "switch-dns") | .result' <<<"$output")" = skipped ]
	[ "$(jq -r '[.steps[] | select(.result == "ok")] | length' <<<"$output")" = 11 ]
	[ "$(jq -r '.answers[] | select(.step == "business-check") | .who' <<<"$output")" = tester ]
	[ -s "$T/data/runs/run-1.html" ]
	grep -q "<h1>Run 1: drill of plan wordpress</h1>" "$T/data/runs/run-1.html"
	run hm runs
	assert_output --partial "1    wordpress  drill  succeeded"
}

@test "the WordPress plan as a takeover: formal boots, every takeover step, no cleanup" {
	printf 'wordpress\nlead\nswitch it\ny\nowner\nworks\ny\n' >"$T/answers"
	run hm takeover wordpress <"$T/answers"
	assert_success
	[ "$(stat takeover)" = 2 ]
	[ "$(stat drill)" = 0 ]
	[ "$(stat clean)" = 0 ]
	grep -q "^masterha_master_switch .*--new_master_host=127.0.0.1" "$T/calls"
	grep -q "^mysqladmin -uroot -p111111 -h 127.0.0.1 ping" "$T/calls"
	grep -q "^dns-switch 127.0.0.1 127.0.0.1" "$T/calls"
	# the secret is used, never shown, journaled or reported
	refute_output --partial 111111
	run hm runs show --journal 1
	refute_output --partial 111111
	assert_output --partial "-p'********'"
	! grep -q 111111 "$T/data/runs/run-1.json" "$T/data/runs/run-1.html"
	run report 1
	[ "$(jq -r .mode <<<"$output")" = takeover ]
	[ "$(jq -r .rto.until_step <<<"$output")" = site-answers ]
	[ "$(jq -r '[.steps[] | select(.result == "ok")] | length' <<<"$output")" = 15 ]
	[ "$(jq -r '.steps[] | select(.name == "cleanup") | .result' <<<"$output")" = skipped ]
	[ "$(jq -r .cleanup.result <<<"$output")" = none ]
	[ "$(jq -r '.answers[] | select(.step == "approve-switch") | .comment' <<<"$output")" = "switch it" ]
}

@test "over SSH: the WordPress plan as a drill, with the recovered hosts on SSH test hosts" {
	require_ssh
	ssh_plan
	run hm drill --yes wordpress <"$T/answers"
	assert_success
	assert_output --partial "run 1 succeeded"
	[ "$(stat drill)" = 2 ]
	[ "$(stat clean)" = 2 ]
	# the jump host's steps (promotion, DNS) are takeover-only
	[ -z "$(calls 1)" ]
	run calls 2
	assert_output "$(printf 'nginx -t\nsystemctl reload nginx')"
	run calls 3
	assert_output "$(printf 'docker-compose -f %s down\ndocker-compose -f %s up -d' \
		"$NETNS_DIR/hosts/h3/wordpress-compose.yaml" "$NETNS_DIR/hosts/h3/wordpress-compose.yaml")"
	grep -q "server 127.0.0.1:18080" "$NETNS_DIR/hosts/h2/nginx.conf"
	grep -q "WORDPRESS_DB_HOST=127.0.0.1" "$NETNS_DIR/hosts/h3/wordpress-compose.yaml"
	grep -qF "define('WP_HOME', 'http://127.0.0.1');" "$NETNS_DIR/hosts/h3/wp-config.php"
	run hm runs show --journal 1
	assert_output --partial '"on":"nginx"'
	assert_output --partial '"on":"wordpress"'
	run report 1
	[ "$(jq -r .state <<<"$output")" = succeeded ]
	[ "$(jq -r '[.steps[] | select(.result == "ok")] | length' <<<"$output")" = 11 ]
}

@test "over SSH: the WordPress plan as a takeover: MHA, mysqladmin and DNS on the jump host" {
	require_ssh
	ssh_plan
	printf 'wordpress\nlead\nswitch it\ny\nowner\nworks\ny\n' >"$T/answers"
	run hm takeover wordpress <"$T/answers"
	assert_success
	[ "$(stat takeover)" = 2 ]
	[ "$(stat clean)" = 0 ]
	run calls 1
	assert_line --regexp '^masterha_master_switch --conf=/etc/mha.cnf --master_state=dead --dead_master_host=192.168.7.141 --new_master_host=127.0.0.1 '
	assert_line "mysqladmin -uroot -p111111 -h 127.0.0.1 ping --connect-timeout=10"
	assert_line "dns-switch 127.0.0.1 127.0.0.1"
	run calls 2
	assert_line "systemctl reload nginx"
	run calls 3
	assert_line --partial "up -d"
	run report 1
	[ "$(jq -r '[.steps[] | select(.result == "ok")] | length' <<<"$output")" = 15 ]
}

@test "over SSH: a host whose key is not in known_hosts is refused, and nothing runs there" {
	require_ssh
	: >"$T/known_hosts"
	cat >"$T/plans/keys.plan" <<-EOF
		[plan]
		name = keys
		known_hosts = $T/known_hosts
		[jump]
		address = $NETNS_H1_ADDR
		port = $NETNS_H1_PORT
		user = $NETNS_USER
		key_file = $NETNS_KEY
		[step "on-jump"]
		type = run
		on = jump
		command = echo ran >>"\$HMLAB_HOST/calls"
	EOF
	run hm drill --yes keys </dev/null
	assert_failure 1
	assert_output --partial "jump ($NETNS_USER@$NETNS_H1_ADDR:$NETNS_H1_PORT)"
	assert_output --partial "is not known"
	[ -z "$(calls 1)" ]
	run report 1
	[ "$(jq -r '.steps[0].result' <<<"$output")" = failed ]
}

@test "over SSH: host names from the console are never executed by the remote shell" {
	require_ssh
	mkdir -p "$T/victim"
	local id1
	id1=$(hm hosts --json | jq -r '.[] | select(.host_name == "WordPress") | .id')
	control rename "{\"host\":\"$id1\",\"host_name\":\"\$(touch $T/pwned); rm -rf $T/victim '\\\"\"}"
	cat >"$T/plans/rnames.plan" <<-EOF
		[plan]
		name = rnames
		known_hosts = $NETNS_KNOWN_HOSTS
		[jump]
		address = $NETNS_H1_ADDR
		port = $NETNS_H1_PORT
		user = $NETNS_USER
		key_file = $NETNS_KEY
		[host "a"]
		console_host = $id1
		[step "remote"]
		type = run
		on = jump
		command = echo {host.a.name} "{host.a.name}" '{host.a.name}' >'$T/rout'
	EOF
	run hm drill --yes rnames </dev/null
	assert_success
	[ ! -e "$T/pwned" ]
	[ -d "$T/victim" ]
	local n="\$(touch $T/pwned); rm -rf $T/victim '\""
	[ "$(cat "$T/rout")" = "$n $n $n" ]
}

@test "a takeover without the typed plan name does nothing" {
	run hm takeover wordpress </dev/null
	assert_failure 1
	assert_output --partial "not confirmed; nothing was done"
	printf 'WordPress\n' >"$T/wrong"
	run hm takeover wordpress <"$T/wrong"
	assert_failure 1
	assert_output --partial "'WordPress' is not the plan name"
	run hm takeover --yes wordpress </dev/null
	assert_failure 2
	assert_output --partial "a takeover has no --yes"
	[ "$(stat takeover)" = 0 ]
	[ "$(stat drill)" = 0 ]
	[ ! -s "$T/calls" ]
	run hm runs
	assert_output "no drills or takeovers recorded yet"
	# a drill without --yes and without an answer does nothing either
	run hm drill wordpress </dev/null
	assert_failure 1
	[ "$(stat drill)" = 0 ]
}

@test "resuming a takeover needs the plan name typed back again" {
	printf 'wordpress\nlead\nok\ny\nowner\nok\ny\n' >"$T/answers"
	HMCTL_TEST_PAUSE_AT=5 HMCTL_TEST_PAUSE_FILE=$T/pause PATH="$T/bin:$PATH" \
		"$HMCTL" -c "$T/hmctl.conf" takeover wordpress <"$T/answers" >"$T/run.out" 2>&1 3>&- &
	echo $! >"$T/run.hmpid"
	local i
	for i in $(seq 300); do
		[ -s "$T/pause" ] && break
		sleep 0.1
	done
	[ -s "$T/pause" ]
	kill -9 "$(cat "$T/run.hmpid")"
	wait "$(cat "$T/run.hmpid")" 2>/dev/null || true
	local calls takeovers
	calls=$(wc -l <"$T/calls")
	takeovers=$(stat takeover)
	run hm resume --yes 1 </dev/null
	assert_failure 1
	assert_output --partial "not confirmed; nothing was done"
	printf 'yes\n' >"$T/wrong"
	run hm resume 1 <"$T/wrong"
	assert_failure 1
	[ "$(wc -l <"$T/calls")" = "$calls" ]
	[ "$(stat takeover)" = "$takeovers" ]
	run hm resume 1 <"$T/answers"
	assert_success
	assert_output --partial "run 1 succeeded"
	[ "$(stat takeover)" = 2 ]
	run report 1
	[ "$(jq -r '[.answers[] | select(.question == "resume")] | .[0].answer' <<<"$output")" = "plan name typed" ]
}

@test "a dry run issues no API action and prints every resolved command" {
	local before
	before=$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq -c .actions)
	run hm takeover --dry-run wordpress </dev/null
	assert_success
	assert_output --partial "[ok]   host wordpress: WordPress registered"
	assert_output --partial "masterha_master_switch --conf='/etc/mha.cnf'"
	assert_output --partial "mysqladmin -uroot -p'********' -h '127.0.0.1' ping"
	assert_output --partial "as a formal boot (volume_backup)"
	assert_output --partial "dry run: nothing was done"
	refute_output --partial 111111
	run hm drill --dry-run wordpress </dev/null
	assert_success
	assert_output --partial "promote-replica (run): skipped (takeover only)"
	[ "$(curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq -c .actions)" = "$before" ]
	[ ! -s "$T/calls" ]
	[ ! -e "$T/data/runs" ]
}

# small_plan NAME ON_ERROR [RETRIES]: boots both hosts, then runs one command.
small_plan() {
	cat >"$T/plans/$1.plan" <<-EOF
		[plan]
		name = $1
		rto = 10m
		poll_interval = 100ms
		[host "wordpress"]
		console_host = WordPress
		[host "nginx"]
		console_host = Nginx
		[stage "recover"]
		[step "boot"]
		type = boot
		retries = ${3:-0}
		delay = 100ms
		timeout = 30s
		on_error = $2
		[step "after-boot"]
		type = run
		command = echo after >>'$T/calls'
		[step "cleanup"]
		type = cleanup
		retries = 5
		delay = 300ms
	EOF
}

@test "a boot failure with on_error = stop stops the run" {
	small_plan stopping stop
	control fail-next-boot '{"host":"Nginx"}'
	run hm drill --yes stopping </dev/null
	assert_failure 1
	assert_output --partial "nginx: boot failed on the console"
	assert_output --partial "step boot failed; stopping (on_error = stop)"
	[ ! -s "$T/calls" ]
	run report 1
	[ "$(jq -r .state <<<"$output")" = failed ]
	[ "$(jq -r '.steps[] | select(.name == "boot") | .result' <<<"$output")" = failed ]
	[ "$(jq -r '.steps[] | select(.name == "after-boot") | .result' <<<"$output")" = "not run" ]
	[ "$(jq -r '.failures[0].host' <<<"$output")" = nginx ]
	[ "$(stat drill)" = 2 ]
}

@test "a boot failure with on_error = ignore goes on" {
	small_plan ignoring ignore
	control fail-next-boot '{"host":"Nginx"}'
	run hm drill --yes ignoring </dev/null
	assert_success
	assert_output --partial "step boot failed; going on (on_error = ignore)"
	[ "$(cat "$T/calls")" = after ]
	run report 1
	[ "$(jq -r '.steps[] | select(.name == "boot") | .result' <<<"$output")" = ignored ]
	[ "$(jq -r '.failures | length' <<<"$output")" = 1 ]
	# the cleanup removes what the failed boot left, and the booted host
	[ "$(jq -r .cleanup.result <<<"$output")" = done ]
	[ "$(stat drill)" = 2 ]
}

@test "a boot failure with on_error = ask: retry boots only the failed host again, abort ends" {
	small_plan asking ask
	control fail-next-boot '{"host":"Nginx"}'
	printf 'x\nr\n' >"$T/retry"
	run hm drill --yes asking <"$T/retry"
	assert_success
	assert_output --partial "[r]etry, [s]kip, [a]bort?"
	[ "$(cat "$T/calls")" = after ]
	# WordPress booted once, Nginx twice (the failed boot and the retry)
	[ "$(stat drill)" = 3 ]
	run journal 1
	[ "$(grep -c '^boot_requested boot wordpress' <<<"$output")" = 1 ]
	[ "$(grep -c '^boot_requested boot nginx' <<<"$output")" = 2 ]
	run report 1
	[ "$(jq -r '.answers[] | select(.step == "boot") | .answer' <<<"$output")" = retry ]
	[ "$(jq -r '.steps[] | select(.name == "boot") | .attempts' <<<"$output")" = 2 ]

	# the same failure answered with abort
	control fail-next-boot '{"host":"Nginx"}'
	: >"$T/calls"
	printf 'a\n' >"$T/abort"
	run hm drill --yes asking <"$T/abort"
	assert_failure 1
	assert_output --partial "the operator aborted the run"
	[ ! -s "$T/calls" ]
	run report 2
	[ "$(jq -r .state <<<"$output")" = aborted ]
}

# count_plan RETRIES: a check that fails until its 4th attempt (the 3rd retry).
count_plan() {
	cat >"$T/plans/count.plan" <<-EOF
		[plan]
		name = count
		[step "flaky"]
		type = check
		command = n=\$(cat '$T/count' 2>/dev/null || echo 0); n=\$((n+1)); echo \$n >'$T/count'; [ \$n -ge 4 ]
		retries = $1
		delay = 100ms
	EOF
}

@test "a check that succeeds on its 3rd retry" {
	count_plan 3
	run hm drill --yes count </dev/null
	assert_success
	[ "$(cat "$T/count")" = 4 ]
	run report 1
	[ "$(jq -r '.steps[0].attempts' <<<"$output")" = 4 ]
	[ "$(jq -r '.steps[0].result' <<<"$output")" = ok ]
	[ "$(jq -r '.failures | length' <<<"$output")" = 3 ]
	# one retry fewer is not enough
	rm -f "$T/count"
	count_plan 2
	run hm drill --yes count </dev/null
	assert_failure 1
	[ "$(cat "$T/count")" = 3 ]
}

@test "host names from the console are never executed" {
	mkdir -p "$T/victim"
	local id1 id2
	id1=$(hm hosts --json | jq -r '.[] | select(.host_name == "WordPress") | .id')
	id2=$(hm hosts --json | jq -r '.[] | select(.host_name == "Nginx") | .id')
	control rename "{\"host\":\"$id1\",\"host_name\":\"\$(touch $T/pwned)\"}"
	control rename "{\"host\":\"$id2\",\"host_name\":\"; rm -rf $T/victim; touch $T/pwned2 '\\\"\"}"
	cat >"$T/plans/names.plan" <<-EOF
		[plan]
		name = names
		poll_interval = 100ms
		[host "a"]
		console_host = $id1
		[host "b"]
		console_host = $id2
		[step "boot"]
		type = boot
		[step "plain"]
		type = run
		command = echo {host.a.name} {host.b.name} >'$T/out1'
		[step "double"]
		type = run
		command = echo "a={host.a.name} b={host.b.name}" >'$T/out2'
		[step "single"]
		type = run
		command = echo 'a={host.a.name} b={host.b.name}' >'$T/out3'
		[step "nested"]
		type = run
		command = echo "\$(echo {host.a.name} "{host.b.name}")" >'$T/out4'
		[step "cleanup"]
		type = cleanup
		retries = 5
		delay = 300ms
	EOF
	run hm drill --yes names </dev/null
	assert_success
	[ ! -e "$T/pwned" ]
	[ ! -e "$T/pwned2" ]
	[ -d "$T/victim" ]
	local want="\$(touch $T/pwned) ; rm -rf $T/victim; touch $T/pwned2 '\""
	[ "$(cat "$T/out1")" = "$want" ]
	[ "$(cat "$T/out2")" = "a=\$(touch $T/pwned) b=; rm -rf $T/victim; touch $T/pwned2 '\"" ]
	[ "$(cat "$T/out3")" = "a=\$(touch $T/pwned) b=; rm -rf $T/victim; touch $T/pwned2 '\"" ]
	[ "$(cat "$T/out4")" = "$want" ]
}

@test "a second run is refused while one is in progress; the lock is taken over after kill -9" {
	small_plan first stop
	HMCTL_TEST_PAUSE_AT=2 HMCTL_TEST_PAUSE_FILE=$T/pause "$HMCTL" -c "$T/hmctl.conf" drill --yes first \
		</dev/null >"$T/first.out" 2>&1 3>&- &
	echo $! >"$T/first.hmpid"
	local i
	for i in $(seq 300); do
		[ -s "$T/pause" ] && break
		sleep 0.1
	done
	[ -s "$T/pause" ]
	local drills
	drills=$(stat drill)
	run hm drill --yes wordpress <"$T/answers"
	assert_failure 1
	assert_output --partial "[FAIL] lock: run 1 (drill of plan first) is in progress: pid $(cat "$T/first.hmpid")"
	assert_output --partial "nothing was done"
	run hm resume --yes 1 </dev/null
	assert_failure 1
	assert_output --partial "run 1 is still running"
	[ "$(stat drill)" = "$drills" ]
	run hm runs
	assert_output --partial "running"
	kill -9 "$(cat "$T/first.hmpid")"
	wait "$(cat "$T/first.hmpid")" 2>/dev/null || true
	run hm runs
	assert_output --partial "interrupted"
	run hm resume --yes 1 </dev/null
	assert_success
	assert_output --partial "run 1 succeeded"
	run hm resume --yes 1 </dev/null
	assert_failure 1
	assert_output --partial "has succeeded already"
}

@test "a command in flight when hmctl is killed is asked about, not run again blindly" {
	cat >"$T/plans/slow.plan" <<-EOF
		[plan]
		name = slow
		[step "slow"]
		type = run
		command = echo started >>'$T/slow'; echo \$\$ >'$T/slow.hmpid'; exec sleep 30
		[step "next"]
		type = run
		command = echo next >>'$T/calls'
	EOF
	"$HMCTL" -c "$T/hmctl.conf" drill --yes slow </dev/null >"$T/slow.out" 2>&1 3>&- &
	echo $! >"$T/hmctl.hmpid"
	local i
	for i in $(seq 300); do
		[ -s "$T/slow.hmpid" ] && break
		sleep 0.1
	done
	[ -s "$T/slow.hmpid" ]
	kill -9 "$(cat "$T/hmctl.hmpid")"
	wait "$(cat "$T/hmctl.hmpid")" 2>/dev/null || true
	# the command's process group outlives hmctl; it is stopped here
	kill -9 -- "-$(cat "$T/slow.hmpid")" 2>/dev/null || true
	rm -f "$T/slow.hmpid"
	printf 's\n' >"$T/skip"
	run hm resume --yes 1 <"$T/skip"
	assert_success
	assert_output --partial "it may or may not have finished"
	assert_output --partial "echo started"
	[ "$(cat "$T/slow")" = started ]
	[ "$(cat "$T/calls")" = next ]
	run report 1
	[ "$(jq -r '.steps[0].result' <<<"$output")" = skipped ]
	[ "$(jq -r '.answers[] | select(.step == "slow") | .answer' <<<"$output")" = skip ]
}

# The WordPress drill killed with SIGKILL at each of its boundaries in turn (the test-only
# HMCTL_TEST_PAUSE_AT hook stops it there), then resumed: every step runs exactly once, every
# host is booted and cleaned up exactly once.
# count_calls PATTERN: the recorded calls matching PATTERN, locally and on the SSH test hosts.
count_calls() {
	cat "$T/calls" "${NETNS_DIR:-/nonexistent}"/hosts/h*/calls 2>/dev/null | grep -c "$1" || true
}

# Over SSH when the test hosts are up, else locally.
@test "kill -9 at every boundary of the WordPress drill, then resume: nothing repeated, nothing skipped" {
	local n=1 done_all=0 pid run_id what seen="" ssh=0
	if [ ! -f "$BATS_FILE_TMPDIR/noss" ]; then
		ssh=1
		require_ssh
		ssh_plan
	fi
	while [ "$done_all" = 0 ]; do
		[ "$n" -le 60 ] || fail "more than 60 boundaries"
		[ "$n" = 1 ] || {
			stop_pid_file "$SIM/bgpid"
			rm -rf "$T/sim" "$T/data"
			new_sim
			stand_ins
			if [ "$ssh" = 1 ]; then
				require_ssh
				ssh_plan
			fi
		}
		rm -f "$T/pause"
		HMCTL_TEST_PAUSE_AT=$n HMCTL_TEST_PAUSE_FILE=$T/pause PATH="$T/bin:$PATH" \
			"$HMCTL" -c "$T/hmctl.conf" drill --yes wordpress <"$T/answers" >"$T/run.out" 2>&1 3>&- &
		pid=$!
		echo "$pid" >"$T/run.hmpid"
		local i
		for i in $(seq 600); do
			[ -s "$T/pause" ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if [ ! -s "$T/pause" ]; then
			# past the last boundary: the run went through
			wait "$pid" || { cat "$T/run.out"; fail "the run without a pause failed"; }
			done_all=1
			[ "$n" -gt 20 ] || fail "only $n boundaries"
			break
		fi
		read -r _ run_id what _ <"$T/pause"
		seen="$seen $what"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null || true
		if [ "$run_id" = 0 ]; then
			fail "paused before the run existed"
		fi
		run hm resume --yes "$run_id" <"$T/answers"
		[ "$status" = 0 ] || { echo "boundary $n ($what)"; echo "$output"; fail "resume failed"; }
		# no boot or cleanup was issued twice, and the console's jobs agree
		[ "$(stat drill)" = 2 ] || fail "boundary $n ($what): $(stat drill) boots"
		[ "$(stat clean)" = 2 ] || fail "boundary $n ($what): $(stat clean) cleanups"
		local h
		for h in WordPress Nginx; do
			[ "$(hm jobs --json --host "$h" --kind drill --since 1h |
				jq --arg t "$SIM_START" '[.[] | select(.start_at >= $t)] | length')" = 1 ] ||
				fail "boundary $n ($what): $h has not exactly one drill job"
		done
		# every step of the drill finished exactly once, none skipped
		run report "$run_id"
		[ "$(jq -r .state <<<"$output")" = succeeded ] || fail "boundary $n ($what): not succeeded"
		[ "$(jq -r '[.steps[] | select(.result == "ok")] | length' <<<"$output")" = 11 ] ||
			fail "boundary $n ($what): $(jq -c '[.steps[] | [.name, .result]]' <<<"$output")"
		[ "$(jq -r .resumes <<<"$output")" = 1 ]
		run journal "$run_id"
		[ "$(grep -c '^step_finished ' <<<"$output")" = 11 ] || fail "boundary $n ($what): step_finished twice"
		[ "$(grep -c '^host_booted ' <<<"$output")" = 2 ]
		[ "$(grep -c '^host_cleaned ' <<<"$output")" = 2 ]
		# every command ran exactly once
		[ "$(count_calls '^docker-compose')" = 2 ] || fail "boundary $n ($what): docker-compose ran $(count_calls '^docker-compose') times"
		[ "$(count_calls '^nginx -t')" = 1 ]
		[ "$(count_calls '^systemctl reload nginx')" = 1 ]
		n=$((n + 1))
	done
	# the boots and the cleanup were cut between their journal entry and the console's answer
	local b
	for b in before-step step-started boot-requested boot-sent clean-requested clean-sent steps-done; do
		[[ " $seen " == *" $b "* ]] || fail "no boundary $b among:$seen"
	done
}
