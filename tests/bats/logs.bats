#!/usr/bin/env bats
# hmctl logs collect on a test tree: the seed's sample configurations of the console (ant), the
# Sync Proxy, the Linux Agent and the gateway, with secrets of this run planted in them, in the
# logs and in a container's output; a [host] of the proxy's role whose port (the lab's closed
# one on 127.0.0.1) refuses connections. The
# archive must match its MANIFEST and hold none of the planted secrets.

load helpers

dk() {
	DOCKER_HOST="unix://$LAB_DOCKER_SOCK" DOCKER_CONFIG="$BATS_FILE_TMPDIR/dockercli" /usr/bin/docker "$@"
}

secret() {
	LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20
}

setup_file() {
	# shellcheck source=/dev/null
	. "$LAB_DIR/env"
	local T=$BATS_FILE_TMPDIR F
	F=$(cd "$BATS_TEST_DIRNAME/../fixtures/logs" && pwd)
	: >"$T/secrets"
	for n in RABBIT MYSQL AUTHKEY S3AK S3SK GWAK GWSK LOGPW LOGURL CTRPW CTRURL REDIS; do
		printf '%s\n' "PLANT$(secret)" >>"$T/secrets"
		eval "S_$n=\$(tail -n 1 \"\$T/secrets\")"
	done
	local P=$T/installer/production
	mkdir -p "$P/config/ant" "$P/logs/ant-api" "$T/var-log-installer" "$T/etc/hamal" "$T/var/log/hamal" \
		"$T/var/lib/egisplus-agent" "$T/var/log/egisplus-agent" "$T/var/lib/sgateway/config" \
		"$T/var/log/sgateway"
	sed -e "s/fs82BgKdU2QTr4Oy/$S_RABBIT/" -e "s/antPass/$S_MYSQL/" "$F/ant.conf" >"$P/config/ant/ant.conf"
	sed -e "s/315d65ca-ef28-4e63-ad72-1260a91adf23/$S_AUTHKEY/" "$F/hamal.conf" >"$T/etc/hamal/hamal.conf"
	sed -e "s/^AccessKey = ak/AccessKey = $S_S3AK/" -e "s/^SecretKey = sk/SecretKey = $S_S3SK/" \
		"$F/config.ini" >"$T/var/lib/egisplus-agent/config.ini"
	sed -e "s/wCi7qC8RlFydraCugWWa/$S_GWAK/" -e "s/TH5g4gbJKsK2YEsBLj7GaFpbWTiGYarRQSu1B59t/$S_GWSK/" \
		"$F/s3block_config.ini" >"$T/var/lib/sgateway/config/s3block_config.ini"
	printf 'start\nlogin password=%s\nconnect mysql://ant:%s@mysql:3306/ant\nend\n' "$S_LOGPW" "$S_LOGURL" \
		>"$P/logs/ant-api/ant-api.log"
	echo "an old log" >"$P/logs/old.log"
	touch -d '3 days ago' "$P/logs/old.log"
	printf 'install ok\n' >"$T/var-log-installer/install.log"
	printf 'period ok\nauth_key = %s\n' "$S_AUTHKEY" >"$T/var/log/hamal/hamal-period.log"
	printf 'agent ok\n' >"$T/var/log/egisplus-agent/linux_agent.log"
	printf 'AccessKey=%s\n' "$S_S3AK" | gzip >"$T/var/log/egisplus-agent/linux_agent.log-20250511.gz"
	printf 's3block ok\n' >"$T/var/log/sgateway/s3block_20250514.log"
	cat >"$T/hmctl.conf" <<EOF
[hmctl]
data_dir = $T/data
timeout = 5s

[installer]
dir = $P
log_dirs = $P/logs, $T/var-log-installer

[docker]
socket = $LAB_DOCKER_SOCK
project = opslogs

[redis]
password = $S_REDIS

[logs]
proxy_paths = $T/etc/hamal/hamal.conf, $T/var/log/hamal
agent_paths = $T/var/lib/egisplus-agent/config.ini, $T/var/log/egisplus-agent
gateway_paths = $T/var/lib/sgateway/config/s3block_config.ini, $T/var/log/sgateway

[host "proxy-1"]
role = sync_proxy
address = 127.0.0.1
port = $LAB_CLOSED_PORT
EOF
	chmod 600 "$T/hmctl.conf"
	if [ "${LAB_DOCKER:-}" = up ]; then
		dk run -d --name ops-logger --label com.docker.compose.project=opslogs \
			--label com.docker.compose.service=ops-logger hmlab/busybox \
			sh -c "echo started; echo 'db password=$S_CTRPW' >&2; echo 'amqp rabbit://guest:$S_CTRURL@rabbitmq:5672/'; sleep 3600" \
			>/dev/null
		local i
		for i in $(seq 1 50); do
			docker_api '/containers/ops-logger/logs?stdout=1' | grep -q amqp && break
			sleep 0.2
		done
	fi
}

teardown_file() {
	[ "${LAB_DOCKER:-}" = up ] || return 0
	dk rm -f ops-logger >/dev/null 2>&1 || true
}

collect() {
	"$HMCTL" -c "$BATS_FILE_TMPDIR/hmctl.conf" logs collect "$@"
}

# manifest_rows FILE: "path size" of each file row of the MANIFEST of archive FILE.
manifest_rows() {
	tar -xzOf "$1" --wildcards '*/MANIFEST' | awk -F '\t' '/^# not collected/ { exit } !/^#/ && NF >= 5 { print $1, $2 }'
}

@test "logs collect writes one tar.gz whose files are exactly those of its MANIFEST, sizes included" {
	local out=$BATS_TEST_TMPDIR/bundle.tar.gz
	run collect -o "$out"
	assert_success
	assert_output --regexp "^$out: [0-9]+ files, .* secrets masked"
	[ -f "$out" ]
	[ ! -e "$out.partial" ]
	[ "$(stat -c %a "$out")" = 600 ]
	# Every archive file (but the MANIFEST) is listed, with its size; every row is a file.
	tar -tzvf "$out" | awk '{ print $6, $3 }' | sed 's#^bundle/##' | grep -v '^MANIFEST ' | sort >"$BATS_TEST_TMPDIR/tar"
	manifest_rows "$out" | sort >"$BATS_TEST_TMPDIR/manifest"
	[ -s "$BATS_TEST_TMPDIR/manifest" ]
	run diff "$BATS_TEST_TMPDIR/tar" "$BATS_TEST_TMPDIR/manifest"
	assert_success
	# Under one top directory named after the archive.
	run sh -c "tar -tzf '$out' | grep -v '^bundle/'"
	assert_output ""
}

@test "no planted secret anywhere in the extracted archive; masked values and comments kept" {
	local out=$BATS_TEST_TMPDIR/b.tar.gz x=$BATS_TEST_TMPDIR/x
	run collect -o "$out"
	assert_success
	mkdir -p "$x"
	tar -xzf "$out" -C "$x"
	run grep -r -F -f "$BATS_FILE_TMPDIR/secrets" "$x"
	assert_failure 1
	assert_output ""
	# The files are there, masked, with their comments.
	run grep -r -h 'transport_url' "$x"
	assert_output --partial 'transport_url = rabbit://guest:********@rabbitmq:5672// # RabbitMQ连接URL'
	run grep -r -h '^auth_key' "$x/b/proxy"
	assert_output --partial 'auth_key = ******** # 鉴权使用的密钥'
	run grep -r -h 'secretAccessKey' "$x/b/gateway"
	assert_output --partial 'secretAccessKey = ******** #'
	run grep -r -h '^SecretKey' "$x/b/agent"
	assert_output --partial 'SecretKey = ******** #'
	run grep -r -h 'login password' "$x/b/console"
	assert_output 'login password=********'
	# The rotated, compressed agent log was decompressed and masked too.
	run grep -r -h 'AccessKey=' "$x/b/agent"
	assert_output 'AccessKey=********'
	run grep -h 'password' "$x/b/console/hmctl-config.txt"
	assert_output --partial '********'
}

@test "the bundle holds status, configuration and notes what it could not collect" {
	local out=$BATS_TEST_TMPDIR/c.tar.gz x=$BATS_TEST_TMPDIR/x
	run collect -o "$out"
	assert_success
	mkdir -p "$x"
	tar -xzf "$out" -C "$x"
	run jq -e '.components | length > 0' "$x/c/console/status.json"
	assert_success
	grep -q '^\[installer\]' "$x/c/console/hmctl-config.txt"
	run cat "$x/c/MANIFEST"
	assert_line --regexp $'^host proxy-1 \\(sync_proxy, 127\\.0\\.0\\.1\\)\tnot collected: unreachable: .*refused'
	assert_line --regexp $'^console/alerts\\.json\t'
	assert_line --regexp $'^console/status\\.json\t[0-9]+\t0\tno\thmctl status --json$'
	assert_line --regexp $'^console/local/.*/config/ant/ant\\.conf\t[0-9]+\t2\tno\t'
	# Files older than the period stay out.
	refute_output --partial 'old.log'
}

@test "each console container's log comes from the Docker API, stdout and stderr, masked" {
	require_lab docker
	local out=$BATS_TEST_TMPDIR/d.tar.gz
	run collect -o "$out" --components console
	assert_success
	run tar -xzOf "$out" d/console/containers/ops-logger.log
	assert_success
	assert_line --regexp '^[0-9T:.-]+Z started$'
	assert_line --regexp 'db password=\*\*\*\*\*\*\*\*$'
	assert_line --regexp 'amqp rabbit://guest:\*\*\*\*\*\*\*\*@rabbitmq:5672/$'
	run sh -c "tar -tzf '$out' | grep -c -e '^d/proxy' -e '^d/agent' -e '^d/gateway'"
	assert_output 0
}

@test "--since keeps older files out or in; size limits cut files and say so" {
	local out=$BATS_TEST_TMPDIR/e.tar.gz
	run collect -o "$out" --since 7d --components console
	assert_success
	run tar -tzf "$out"
	assert_output --partial '/logs/old.log'
	{
		cat "$BATS_FILE_TMPDIR/hmctl.conf"
		printf '\n[logs]\nmax_file_size = 1K\nmax_total_size = 6K\n'
	} >"$BATS_TEST_TMPDIR/small.conf"
	chmod 600 "$BATS_TEST_TMPDIR/small.conf"
	run "$HMCTL" -c "$BATS_TEST_TMPDIR/small.conf" logs collect -o "$out"
	assert_success
	run sh -c "tar -xzOf '$out' --wildcards '*/MANIFEST'"
	assert_output --partial 'kept the first 1.0K of'
	assert_output --partial 'the bundle reached [logs] max_total_size (6.0K)'
	# The limits hold: no file above 1 KiB.
	run sh -c "tar -tzvf '$out' | awk '\$6 !~ /MANIFEST\$/ && \$3 > 1024'"
	assert_output ""
}

@test "logs collect: bad options are usage errors; an unwritable output leaves nothing" {
	run collect --components console,nope
	assert_failure 2
	assert_output --partial "unknown component 'nope'"
	run collect --since never
	assert_failure 2
	run collect -o "$BATS_TEST_TMPDIR/no/such/dir/x.tar.gz"
	assert_failure 1
	assert_output --partial "cannot write '$BATS_TEST_TMPDIR/no/such/dir/x.tar.gz.partial'"
	run ls "$BATS_TEST_TMPDIR"
	refute_output --partial partial
}
