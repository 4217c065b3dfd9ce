#!/usr/bin/env bats
# The Drill/Takeover screen of hmctl tui in a terminal (tmux), against hmsim: the plan listed,
# a small local-only plan (a test boot and a local command) run as a drill through the yes/no
# dialog to its end, a takeover refused when the typed plan name is wrong (hmsim's action
# counters unchanged), and --readonly refusing to start a run.

load helpers
load hmsim
bats_require_minimum_version 1.5.0


# stat KEY: one of hmsim's action counters (drill, takeover, sync, clean).
stat() {
	curl -sf --cacert "$SIM/ca.pem" "$BASE/_hmsim/stats" | jq -r ".actions.$1"
}

setup() {
	D=$BATS_TEST_TMPDIR
	SOCK="hmctl-drill-$$-$BATS_TEST_NUMBER"
	SIM=$D/sim
	start_sim "$SIM" --seed 3 --hosts 30 --boot-delay 300ms --clean-delay 300ms
	URL=$(cat "$SIM/ready")
	BASE=${URL%/hypermotion/v1}
	curl -sf --cacert "$SIM/ca.pem" -d '{"host":"web-01","host_name":"WordPress"}' \
		"$BASE/_hmsim/rename" >/dev/null
	echo admin >"$D/pw"
	cat >"$D/hmctl.conf" <<-EOF
		[hmctl]
		data_dir = $D/data
		[console]
		url = $URL
		ca_file = $SIM/ca.pem
		password_file = $D/pw
		timeout = 5s
		[drill]
		plan_dir = $D/plans
	EOF
	chmod 600 "$D/hmctl.conf"
	mkdir -p "$D/plans"
	cat >"$D/plans/small.plan" <<-EOF
		[plan]
		name = small
		description = one test boot and one local command
		rto = 10m
		poll_interval = 100ms

		[host "wp"]
		console_host = WordPress
		recovery_point = latest

		[step "boot"]
		type = boot
		hosts = wp
		timeout = 1m

		[step "mark"]
		type = run
		on = local
		modes = drill
		command = echo {run.mode} >$D/marker
	EOF
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	stop_sim "$SIM"
}

# tui_start ARGS: hmctl tui in a 100x30 tmux pane; its exit status lands in $D/rc.
tui_start() {
	tmux -L "$SOCK" -f /dev/null new-session -d -x 100 -y 30 \
		"env -u NO_COLOR LC_ALL=C.UTF-8 TERM=screen '$HMCTL' -c '$D/hmctl.conf' tui $* 2> '$D/err'; echo \$? > '$D/rc'; sleep 600"
}

screen() {
	tmux -L "$SOCK" capture-pane -p "$@"
}

keys() {
	tmux -L "$SOCK" send-keys "$@"
}

# wait_for REGEX [TENTHS]: until the screen shows it (default 30 s).
wait_for() {
	for _ in $(seq "${2:-300}"); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "timed out waiting for /$1/; the screen was:" >&2
	screen >&2
	return 1
}

# open_drill: the tui on its Drill/Takeover tab, the plan listed.
open_drill() {
	tui_start "$@"
	wait_for ' 7 Drill'
	keys BTab
	wait_for 'one test boot and one local command'
}

# quit_ok: q ends the tui with status 0 and nothing on stderr (a sanitizer's report fails it).
quit_ok() {
	keys q
	for _ in $(seq 300); do [ -s "$D/rc" ] && break; sleep 0.1; done
	[ "$(cat "$D/rc")" = 0 ]
	[ ! -s "$D/err" ]
}

runs_json() {
	"$HMCTL" -c "$D/hmctl.conf" runs --json
}

@test "tui drill: the plan is listed, its pre-checks run, a drill runs through yes/no to its end" {
	open_drill
	screen | grep -q 'small'
	keys c
	wait_for 'pre-checks of small: passed'
	screen | grep -q 'Pre-checks for the drill'
	[ "$(stat drill)" = 0 ]
	keys d
	wait_for 'Start the drill'
	wait_for '\[ Yes \]'
	keys y
	wait_for 'drill of small: finished' 600
	[ "$(cat "$D/marker")" = drill ]
	[ "$(stat drill)" = 1 ]
	run runs_json
	assert_success
	[ "$(jq -r '.[0].plan' <<<"$output")" = small ]
	[ "$(jq -r '.[0].mode' <<<"$output")" = drill ]
	[ "$(jq -r '.[0].state' <<<"$output")" = succeeded ]
	quit_ok
}

@test "tui drill: a drill answered No does nothing" {
	open_drill
	keys d
	wait_for 'Start the drill'
	keys n
	wait_for 'drill of small: FAILED or not started'
	[ "$(stat drill)" = 0 ]
	[ ! -e "$D/marker" ]
	quit_ok
}

@test "tui drill: a takeover with a wrong typed plan name does nothing" {
	open_drill
	keys T
	wait_for 'Type the plan name'
	keys -l 'Small'
	keys Tab
	keys y
	wait_for 'is not the plan name'
	wait_for 'takeover of small: FAILED or not started'
	[ "$(stat takeover)" = 0 ]
	[ "$(stat drill)" = 0 ]
	[ ! -e "$D/marker" ]
	run runs_json
	[ "$(jq 'length' <<<"$output")" = 0 ]
}

@test "tui drill: --readonly refuses to start a drill or a takeover" {
	open_drill --readonly
	keys d
	wait_for 'read-only \(--readonly\): drill is disabled'
	keys T
	wait_for 'read-only \(--readonly\): takeover is disabled'
	sleep 1
	run screen
	refute_output --partial 'Start the drill'
	[ "$(stat drill)" = 0 ]
	[ "$(stat takeover)" = 0 ]
	quit_ok
}
