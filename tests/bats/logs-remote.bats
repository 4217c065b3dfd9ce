#!/usr/bin/env bats
# hmctl logs collect from remote hosts over SSH, against the sshd test hosts of
# tests/lab/netns.sh: h1 plays the Sync Proxy, h2 the Linux Agent and is cut off (its sshd's
# packets dropped), so it must be noted as unreachable while h1's files are collected. The test
# hosts share this machine's file system, so the component files are written under the test's
# directory and [logs] *_paths point there; secrets of this run are planted in them.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	R=$BATS_FILE_TMPDIR/hosts
	export ROOT R
	if [ ! -x /usr/sbin/sshd ]; then
		echo "sshd is not installed (package openssh-server)" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	if ! "$ROOT/tests/lab/netns.sh" up "$R" 2 2>"$BATS_FILE_TMPDIR/netns.log"; then
		echo "the test hosts did not start: $(tail -n 1 "$BATS_FILE_TMPDIR/netns.log")" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	# shellcheck source=/dev/null
	. "$R/env"
	local T=$BATS_FILE_TMPDIR F
	F=$(cd "$BATS_TEST_DIRNAME/../fixtures/logs" && pwd)
	S_AUTH=PLANT$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20)
	S_LOG=PLANT$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20)
	printf '%s\n%s\n' "$S_AUTH" "$S_LOG" >"$T/secrets"
	mkdir -p "$T/proxy/etc/hamal" "$T/proxy/log/hamal" "$T/agent"
	sed "s/315d65ca-ef28-4e63-ad72-1260a91adf23/$S_AUTH/" "$F/hamal.conf" >"$T/proxy/etc/hamal/hamal.conf"
	printf 'sync ok\nurl https://admin:%s@192.168.7.141:10443/\n' "$S_LOG" >"$T/proxy/log/hamal/hamal-period.log"
	cp "$F/config.ini" "$T/agent/config.ini"
	cat >"$T/hmctl.conf" <<EOF
[hmctl]
data_dir = $T/data
timeout = 2s

[installer]
dir = $T/none
log_dirs = $T/none/logs

[docker]
socket = $T/no-docker.sock

[logs]
proxy_paths = $T/proxy/etc/hamal/hamal.conf, $T/proxy/log/hamal
agent_paths = $T/agent/config.ini

[ssh]
username = $NETNS_USER
key = $NETNS_KEY
known_hosts = $NETNS_KNOWN_HOSTS
connect_timeout = 2s
command_timeout = 5s

[host "proxy-1"]
role = sync_proxy
address = $NETNS_H1_ADDR
port = $NETNS_H1_PORT

[host "agent-1"]
role = linux_agent
address = $NETNS_H2_ADDR
port = $NETNS_H2_PORT
EOF
	chmod 600 "$T/hmctl.conf"
	"$ROOT/tests/lab/netns.sh" cut "$R" 2
}

teardown_file() {
	[ -z "${R:-}" ] || "$ROOT/tests/lab/netns.sh" down "$R" || true
}

setup() {
	if [ -f "$BATS_FILE_TMPDIR/skip" ]; then
		skip "$(cat "$BATS_FILE_TMPDIR/skip")"
	fi
}

@test "logs collect fetches a host's files over SSH, notes the unreachable one, masks the secrets" {
	local out=$BATS_TEST_TMPDIR/r.tar.gz x=$BATS_TEST_TMPDIR/x
	run "$HMCTL" -c "$BATS_FILE_TMPDIR/hmctl.conf" logs collect --components proxy,agent -o "$out"
	assert_success
	mkdir -p "$x"
	tar -xzf "$out" -C "$x"
	# proxy-1's files, fetched over SSH, beside the local copies.
	run find "$x/r/proxy/proxy-1" -type f
	assert_line --partial '/proxy/etc/hamal/hamal.conf'
	assert_line --partial '/proxy/log/hamal/hamal-period.log'
	run grep -r -h '^auth_key' "$x/r/proxy/proxy-1"
	assert_output --partial 'auth_key = ******** # 鉴权使用的密钥'
	run grep -r -h 'url https' "$x/r/proxy/proxy-1"
	assert_output 'url https://admin:********@192.168.7.141:10443/'
	run grep -r -F -f "$BATS_FILE_TMPDIR/secrets" "$x"
	assert_failure 1
	# The cut host is noted, and did not stop the collection.
	run cat "$x/r/MANIFEST"
	assert_line --regexp $'^host agent-1 \\(linux_agent, [0-9.]+\\)\tnot collected: unreachable: '
	assert_line --regexp $'^proxy/proxy-1/.*/hamal-period\\.log\t[0-9]+\t1\tno\tproxy-1:'
	# The MANIFEST and the archive agree.
	tar -tzvf "$out" | awk '{ print $6, $3 }' | sed 's#^r/##' | grep -v '^MANIFEST ' | sort >"$BATS_TEST_TMPDIR/tar"
	awk -F '\t' '/^# not collected/ { exit } !/^#/ && NF >= 5 { print $1, $2 }' "$x/r/MANIFEST" | sort >"$BATS_TEST_TMPDIR/man"
	run diff "$BATS_TEST_TMPDIR/tar" "$BATS_TEST_TMPDIR/man"
	assert_success
}
