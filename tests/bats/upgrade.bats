#!/usr/bin/env bats
# hmctl upgrade on a test installer tree (never /opt): each test gets DIR/installer/production
# with venvs/ant and venvs/porter at version 6.4.0, a generated package at DIR/pkg/installer/venvs,
# and, when the lab's dockerd is up, a busybox "service" of a project of its own that bind-mounts
# venvs/ant and whose health check needs the file venvs/ant/ok, so a package without that file
# makes the service unhealthy after the upgrade.

load helpers

dk() {
	DOCKER_HOST="unix://$LAB_DOCKER_SOCK" DOCKER_CONFIG="$BATS_TEST_TMPDIR/dockercli" /usr/bin/docker "$@"
}

# tree_sum DIR: one checksum over every file's path, content and symbolic link target.
tree_sum() {
	(cd "$1" && find . \( -type f -o -type l \) -print0 | sort -z |
		xargs -0 -I{} sh -c 'if [ -L "{}" ]; then echo "{} -> $(readlink "{}")"; else sha256sum "{}"; fi') |
		sha256sum | cut -d' ' -f1
}

# make_pkg VERSION [broken]: a package at $PKG with new code for ant; broken leaves out the file
# the service's health check needs.
make_pkg() {
	rm -rf "$BATS_TEST_TMPDIR/pkg"
	mkdir -p "$PKG/ant/lib" "$PKG/ant/bin" "$PKG/porter/lib"
	echo 'home = /usr/bin' >"$PKG/ant/pyvenv.cfg"
	echo 'home = /usr/bin' >"$PKG/porter/pyvenv.cfg"
	ln -s /usr/bin/python3 "$PKG/ant/bin/python"
	echo "VERSION = '$1'" >"$PKG/ant/lib/ant.py"
	echo "VERSION = '$1'" >"$PKG/porter/lib/porter.py"
	head -c 300000 /dev/urandom >"$PKG/porter/lib/data.bin"
	[ "${2:-}" = broken ] || echo ok >"$PKG/ant/ok"
	echo "$1" >"$PKG/version"
}

setup() {
	PROD=$BATS_TEST_TMPDIR/installer/production
	PKG=$BATS_TEST_TMPDIR/pkg/installer/venvs
	PROJECT=opsupg$BATS_TEST_NUMBER
	mkdir -p "$PROD/venvs/ant/lib" "$PROD/venvs/ant/bin" "$PROD/venvs/porter/lib" "$PROD/config/ant"
	echo 'home = /usr/bin' >"$PROD/venvs/ant/pyvenv.cfg"
	echo 'home = /usr/bin' >"$PROD/venvs/porter/pyvenv.cfg"
	ln -s /usr/bin/python3 "$PROD/venvs/ant/bin/python"
	echo "VERSION = '6.4.0'" >"$PROD/venvs/ant/lib/ant.py"
	head -c 200000 /dev/urandom >"$PROD/venvs/porter/lib/data.bin"
	echo ok >"$PROD/venvs/ant/ok"
	echo 6.4.0 >"$PROD/version"
	printf '[database]\nconnection = mysql://ant:antPass@mysql:3306/ant\n' >"$PROD/config/ant/ant.conf"
	CONF=$BATS_TEST_TMPDIR/hmctl.conf
	cat >"$CONF" <<EOF
[hmctl]
data_dir = $BATS_TEST_TMPDIR/data

[installer]
dir = $PROD

[docker]
socket = $LAB_DOCKER_SOCK
project = $PROJECT

[reload]
stop_timeout = 1s

[upgrade]
health_timeout = 30s
EOF
	chmod 600 "$CONF"
	OLD_SUM=$(tree_sum "$PROD/venvs")
}

teardown() {
	if [ "${LAB_DOCKER:-}" = up ]; then
		dk rm -f "ant-$PROJECT" >/dev/null 2>&1 || true
	fi
}

# service: the busybox container that uses venvs/ant.
service() {
	dk run -d --name "ant-$PROJECT" --label "com.docker.compose.project=$PROJECT" \
		--label com.docker.compose.service=ant-api -v "$PROD/venvs/ant:/venv" \
		--health-cmd 'test -f /venv/ok' --health-interval=1s --health-retries=1 --health-timeout=1s \
		hmlab/busybox sleep 3600 >/dev/null
	local i
	for i in $(seq 1 100); do
		[ "$(health)" = healthy ] && return 0
		sleep 0.2
	done
	return 1
}

health() {
	docker_api "/containers/ant-$PROJECT/json" | jq -r .State.Health.Status
}

up() {
	"$HMCTL" -c "$CONF" upgrade "$@"
}

audit() {
	sqlite3 "$BATS_TEST_TMPDIR/data/hmctl.db" \
		"SELECT action, from_version, to_version, result FROM audit ORDER BY id" | tr '\n' ' '
}

@test "an upgrade swaps in the package, restarts the service that uses it, backs up and audits" {
	require_lab docker
	service
	make_pkg 6.5.0
	local new_sum started
	new_sum=$(tree_sum "$PKG")
	started=$(docker_api "/containers/ant-$PROJECT/json" | jq -r .State.StartedAt)
	run up --yes "$PKG"
	assert_success
	assert_output --partial "Restarting ant-api"
	assert_output --partial "Upgraded from 6.4.0 to 6.5.0"
	[ "$(cat "$PROD/version")" = 6.5.0 ]
	[ "$(tree_sum "$PROD/venvs")" = "$new_sum" ]
	[ "$(docker_api "/containers/ant-$PROJECT/json" | jq -r .State.StartedAt)" != "$started" ]
	[ "$(health)" = healthy ]
	# No staging directory or journal is left behind.
	run ls -A "$PROD"
	refute_output --partial staging
	refute_output --partial journal
	# The backup holds the old venvs, byte for byte, and the configuration.
	run up --list-backups
	assert_success
	assert_line --regexp '^[0-9]{8}T[0-9]{6}Z +6\.4\.0 .*before the upgrade to 6\.5\.0$'
	local b
	b=$(find "$PROD/databackup" -mindepth 1 -maxdepth 1 -type d -name '2*')
	[ "$(tree_sum "$b/venvs")" = "$OLD_SUM" ]
	[ -f "$b/config/ant/ant.conf" ]
	[ "$(audit)" = "upgrade|6.4.0|6.5.0|ok " ]
	run up --history
	assert_line --regexp ' upgrade +6\.4\.0 +6\.5\.0 +ok '
}

@test "a package whose service turns unhealthy is rolled back, the old files byte-identical" {
	require_lab docker
	service
	make_pkg 6.5.0 broken
	run up --yes "$PKG"
	assert_failure 1
	assert_output --partial "upgrade to 6.5.0 failed: service 'ant-api': 'ant-api' is unhealthy"
	assert_output --partial "rolled back to 6.4.0 from backup"
	[ "$(tree_sum "$PROD/venvs")" = "$OLD_SUM" ]
	[ "$(cat "$PROD/version")" = 6.4.0 ]
	[ "$(health)" = healthy ]
	[ "$(audit)" = "upgrade|6.4.0|6.5.0|rolled back " ]
}

# kill_at STEP: starts an upgrade that pauses at STEP, kills it with SIGKILL there.
kill_at() {
	HMCTL_TEST_PAUSE=$1 "$HMCTL" -c "$CONF" upgrade --yes "$PKG" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! i
	for i in $(seq 1 150); do
		grep -q "paused at $1" "$BATS_TEST_TMPDIR/err" && break
		sleep 0.2
	done
	grep -q "paused at $1" "$BATS_TEST_TMPDIR/err" || {
		kill -9 "$pid"
		cat "$BATS_TEST_TMPDIR/err" >&2
		return 1
	}
	kill -9 "$pid"
	wait "$pid" || true
}

@test "kill -9 during the copy or before the swap leaves the old venvs, and the next run cleans up" {
	make_pkg 6.5.0
	local new_sum step
	new_sum=$(tree_sum "$PKG")
	for step in copy swap; do
		kill_at "$step"
		[ "$(tree_sum "$PROD/venvs")" = "$OLD_SUM" ]
		[ "$(cat "$PROD/version")" = 6.4.0 ]
	done
	[ -d "$PROD/.venvs.hmctl-staging" ]
	if [ "${LAB_DOCKER:-}" != up ]; then
		skip "docker not available for the restart after the recovery: $LAB_DOCKER_SKIP"
	fi
	run up --yes "$PKG"
	assert_success
	assert_output --partial "had not changed anything"
	[ "$(tree_sum "$PROD/venvs")" = "$new_sum" ]
	[ ! -e "$PROD/.venvs.hmctl-staging" ]
	[ "$(audit)" = "upgrade|6.4.0|6.5.0|interrupted upgrade|6.4.0|6.5.0|interrupted upgrade|6.4.0|6.5.0|ok " ]
}

@test "kill -9 right after the swap leaves the whole new venvs; the next upgrade refuses, --rollback restores" {
	require_lab docker
	service
	make_pkg 6.5.0
	local new_sum
	new_sum=$(tree_sum "$PKG")
	kill_at swapped
	[ "$(tree_sum "$PROD/venvs")" = "$new_sum" ]
	run up --yes "$PKG"
	assert_failure 1
	assert_output --partial "an interrupted upgrade from 6.4.0 to 6.5.0 was found"
	assert_output --partial "'hmctl upgrade --rollback' restores"
	run up --yes --rollback
	assert_success
	assert_output --partial "Rolled back to 6.4.0"
	[ "$(tree_sum "$PROD/venvs")" = "$OLD_SUM" ]
	[ "$(cat "$PROD/version")" = 6.4.0 ]
	[ ! -e "$PROD/.hmctl-upgrade.journal" ]
	[ "$(health)" = healthy ]
	[ "$(audit)" = "upgrade|6.4.0|6.5.0|interrupted rollback|6.4.0|6.4.0|ok " ]
}

@test "a downgrade is refused unless --allow-downgrade; a directory that is not a package is refused" {
	make_pkg 6.3.9
	run up --yes "$PKG"
	assert_failure 1
	assert_output --partial "package version 6.3.9 is not newer than the installed 6.4.0; --allow-downgrade installs it anyway"
	[ "$(tree_sum "$PROD/venvs")" = "$OLD_SUM" ]
	run up --yes "$PROD/config"
	assert_failure 1
	assert_output --partial "is not an upgrade package: no service virtual environment in it"
	rm "$PKG/version"
	run up --yes "$PKG"
	assert_failure 1
	assert_output --partial "is not an upgrade package: no version file"
	run up --yes "$BATS_TEST_TMPDIR/nope"
	assert_failure 1
	assert_output --partial "cannot read upgrade package '$BATS_TEST_TMPDIR/nope': No such file or directory"
	require_lab docker
	make_pkg 6.3.9
	run up --yes --allow-downgrade "$PKG"
	assert_success
	[ "$(cat "$PROD/version")" = 6.3.9 ]
}

@test "upgrade asks first: without a terminal and without --yes nothing changes" {
	make_pkg 6.5.0
	run up "$PKG" </dev/null
	assert_failure 1
	assert_output --partial "refusing to upgrade without confirmation: no terminal; use --yes"
	[ "$(tree_sum "$PROD/venvs")" = "$OLD_SUM" ]
	run up --rollback </dev/null
	assert_failure 1
	assert_output --partial "refusing to roll back without confirmation"
}

@test "--rollback without a backup, --list-backups without one, usage errors" {
	run up --yes --rollback
	assert_failure 1
	assert_output --partial "no hmctl backup in '$PROD/databackup'"
	run up --list-backups
	assert_success
	assert_output "no hmctl backups in $PROD/databackup"
	run up
	assert_failure 2
	run up --rollback --list-backups
	assert_failure 2
}
